/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tpm2_ak_list(): what ListAttestationKeys shows. Only regular files named like our blobs count; the
 * directory is read, never trusted for names. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../basic/tmpdir-util.h"
#include "basic/string-util.h"
#include "tpm2/tpm2-ak.h"

static void touch(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;
        int fd;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
}

static void test_ak_list_names_sorted(void **state) {
        _cleanup_strv_free_ char **names = NULL;
        char *dir = test_mkdtemp();
        _cleanup_free_ char *sub = NULL, *link = NULL;

        assert_non_null(dir);
        touch(dir, "ak-zeta.blob");
        touch(dir, "ak-default.blob");
        touch(dir, "ak-A_1-b.blob");
        /* Not AKs: other files of the state directory, leftovers, invalid names, a directory, a link. */
        touch(dir, "srk.pub");
        touch(dir, "ak-old.blob.old");
        touch(dir, "ak-.blob");
        touch(dir, "ak-a b.blob");
        touch(dir, "ak-a.b.blob");
        touch(dir, "xak-x.blob");
        assert_true(asprintf(&sub, "%s/ak-dir.blob", dir) >= 0);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_true(asprintf(&link, "%s/ak-link.blob", dir) >= 0);
        assert_int_equal(symlink("ak-zeta.blob", link), 0);

        assert_int_equal(tpm2_ak_list(dir, &names), 0);
        assert_int_equal(strv_length(names), 3);
        assert_string_equal(names[0], "A_1-b");
        assert_string_equal(names[1], "default");
        assert_string_equal(names[2], "zeta");
        assert_null(names[3]);

        test_rmdtemp(dir);
}

static void test_ak_list_missing_or_empty_directory(void **state) {
        _cleanup_strv_free_ char **names = NULL, **none = NULL;
        char *dir = test_mkdtemp();
        _cleanup_free_ char *missing = NULL;

        assert_non_null(dir);
        assert_int_equal(tpm2_ak_list(dir, &names), 0);
        assert_non_null(names);
        assert_null(names[0]);

        assert_true(asprintf(&missing, "%s/nonexistent", dir) >= 0);
        assert_int_equal(tpm2_ak_list(missing, &none), 0);
        assert_non_null(none);
        assert_null(none[0]);

        test_rmdtemp(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ak_list_names_sorted),
                cmocka_unit_test(test_ak_list_missing_or_empty_directory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
