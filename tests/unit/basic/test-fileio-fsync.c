/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Linked with -Wl,--wrap=fsync: every fsync() in libbasic goes through __wrap_fsync() below, which can
 * fail the n-th call with EIO like a dying disk ("fsyncgate"). */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/string-util.h"
#include "tmpdir-util.h"

int __real_fsync(int fd);
int __wrap_fsync(int fd);

static unsigned fsync_calls;
static unsigned fsync_fail_at; /* 1-based call number to fail, 0 = never */

int __wrap_fsync(int fd) {
        fsync_calls++;
        if (fsync_calls == fsync_fail_at) {
                errno = EIO;
                return -1;
        }
        return __real_fsync(fd);
}

static char *dir, *path;

static int setup(void **state) {
        dir = test_mkdtemp();
        if (!dir || !strextend(&path, dir, "/state"))
                return -1;
        fsync_calls = 0;
        fsync_fail_at = 0;
        return write_file_atomic(path, "old content", 11, 0600);
}

static int teardown(void **state) {
        test_rmdtemp(TAKE_PTR(dir));
        path = mfree(path);
        return 0;
}

static void test_fsync_file_eio(void **state) {
        _cleanup_free_ char *buf = NULL;

        fsync_calls = 0;
        fsync_fail_at = 1; /* the temporary file's fsync */
        assert_int_equal(write_file_atomic(path, "new content!", 12, 0600), -EIO);
        /* Not retried into success. */
        assert_int_equal(fsync_calls, 1);

        assert_int_equal(read_full_file(path, SIZE_MAX, &buf, NULL), 0);
        assert_string_equal(buf, "old content");
        /* And the temporary file is gone. */
        assert_int_equal(count_dir_entries(dir), 1);
}

static void test_fsync_dir_eio(void **state) {
        fsync_calls = 0;
        fsync_fail_at = 2; /* the directory's fsync after the rename */
        assert_int_equal(write_file_atomic(path, "new content!", 12, 0600), -EIO);
        assert_int_equal(fsync_calls, 2);
        assert_int_equal(count_dir_entries(dir), 1);
}

static void test_fsync_ok(void **state) {
        _cleanup_free_ char *buf = NULL;

        fsync_calls = 0;
        assert_int_equal(write_file_atomic(path, "new content!", 12, 0600), 0);
        /* File and directory are both synced. */
        assert_int_equal(fsync_calls, 2);
        assert_int_equal(read_full_file(path, SIZE_MAX, &buf, NULL), 0);
        assert_string_equal(buf, "new content!");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fsync_file_eio, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fsync_dir_eio, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fsync_ok, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
