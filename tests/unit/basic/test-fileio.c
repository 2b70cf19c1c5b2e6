/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/string-util.h"
#include "tmpdir-util.h"

static char *dir;

static int setup(void **state) {
        dir = test_mkdtemp();
        return dir ? 0 : -1;
}

static int teardown(void **state) {
        test_rmdtemp(TAKE_PTR(dir));
        return 0;
}

static char *path_in(const char *name) {
        char *p = NULL;
        assert_non_null(strextend(&p, dir, "/", name));
        return p;
}

static void assert_file_is(const char *path, const void *data, size_t size) {
        _cleanup_free_ char *buf = NULL;
        size_t n;

        assert_int_equal(read_full_file(path, SIZE_MAX, &buf, &n), 0);
        assert_int_equal(n, size);
        assert_memory_equal(buf, data, size);
}

static void test_write_atomic_basic(void **state) {
        _cleanup_free_ char *p = path_in("state");
        struct stat st;
        mode_t old_umask;

        /* The mode is exact, whatever the umask. */
        old_umask = umask(0077);
        assert_int_equal(write_file_atomic(p, "first", 5, 0644), 0);
        umask(old_umask);
        assert_file_is(p, "first", 5);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);

        assert_int_equal(write_file_atomic(p, "second!", 7, 0600), 0);
        assert_file_is(p, "second!", 7);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        assert_int_equal(write_file_atomic(p, "", 0, 0600), 0);
        assert_file_is(p, "", 0);

        /* Nothing but the file itself in the directory. */
        assert_int_equal(count_dir_entries(dir), 1);
}

static void test_write_atomic_errors(void **state) {
        _cleanup_free_ char *p = path_in("missing/state");
        _cleanup_free_ char *d = path_in("sub/");

        assert_int_equal(write_file_atomic(p, "x", 1, 0600), -ENOENT);
        assert_int_equal(write_file_atomic(d, "x", 1, 0600), -EINVAL);
        assert_int_equal(count_dir_entries(dir), 0);
}

static void test_write_atomic_removes_stale_tmp(void **state) {
        _cleanup_free_ char *p = path_in("state");
        _cleanup_free_ char *stale = path_in(".#state.0123456789abcdef");
        _cleanup_free_ char *live = path_in(".#state.fedcba9876543210");
        _cleanup_free_ char *other = path_in(".#other.0123456789abcdef");
        _cleanup_close_ int fd_stale = -EBADF, fd_live = -EBADF, fd_other = -EBADF;

        fd_stale = open(stale, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        fd_live = open(live, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        fd_other = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd_stale >= 0 && fd_live >= 0 && fd_other >= 0);
        /* A writer that is still alive holds the lock on its temporary file. */
        assert_int_equal(flock(fd_live, LOCK_EX), 0);

        assert_int_equal(write_file_atomic(p, "x", 1, 0600), 0);
        assert_int_equal(access(stale, F_OK), -1);
        assert_int_equal(access(live, F_OK), 0);
        assert_int_equal(access(other, F_OK), 0);
}

/* The child rewrites the file with two contents of different sizes, forever, until it is killed. */
static _noreturn_ void rewrite_forever(const char *p, const char *a, size_t na, const char *b, size_t nb) {
        for (unsigned i = 0;; i++) {
                int r = i % 2 ? write_file_atomic(p, a, na, 0600) : write_file_atomic(p, b, nb, 0600);
                if (r < 0)
                        _exit(1);
        }
}

static void test_write_atomic_sigkill(void **state) {
        _cleanup_free_ char *p = path_in("state"), *a = NULL, *b = NULL;
        const size_t na = 64 * 1024, nb = 96 * 1024 + 7;
        struct timespec t0, t1;
        unsigned seen_a = 0, seen_b = 0, seed;
        long per_write_us;

        a = malloc(na);
        b = malloc(nb);
        assert_non_null(a);
        assert_non_null(b);
        memset(a, 'A', na);
        memset(b, 'B', nb);

        /* Measure one write to spread the kill points over a few writes' time. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < 4; i++)
                assert_int_equal(write_file_atomic(p, a, na, 0600), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        per_write_us = ((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000) / 4;
        per_write_us = MAX(per_write_us, 50L);

        seed = (unsigned) t1.tv_nsec;
        print_message("# seed %u, one write takes ~%ld us\n", seed, per_write_us);
        srand(seed);

        for (unsigned cycle = 0; cycle < 250; cycle++) {
                _cleanup_free_ char *buf = NULL;
                size_t n;
                pid_t pid;
                int status;

                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        rewrite_forever(p, a, na, b, nb);

                usleep((useconds_t) (rand() % (3 * per_write_us)));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                /* Killed, not exited: the child's writes never failed. */
                assert_true(WIFSIGNALED(status));

                assert_int_equal(read_full_file(p, SIZE_MAX, &buf, &n), 0);
                if (n == na && memcmp(buf, a, na) == 0)
                        seen_a++;
                else if (n == nb && memcmp(buf, b, nb) == 0)
                        seen_b++;
                else
                        fail_msg("cycle %u: file holds %zu bytes that are neither old nor new content", cycle, n);

                /* At most the one temporary file of the writer we just killed. */
                assert_true(count_dir_entries(dir) <= 2);
        }

        /* Both contents were written in the loop, so the kills did hit a working writer. */
        print_message("# content A seen %u times, B %u times\n", seen_a, seen_b);
        assert_true(seen_b > 0);

        /* The next write cleans up whatever a killed writer left. */
        assert_int_equal(write_file_atomic(p, "done", 4, 0600), 0);
        assert_int_equal(count_dir_entries(dir), 1);
}

static void test_read_full_file(void **state) {
        _cleanup_free_ char *p = path_in("f"), *buf = NULL;
        size_t n;

        assert_int_equal(write_file_atomic(p, "0123456789", 10, 0600), 0);

        assert_int_equal(read_full_file(p, 10, &buf, &n), 0);
        assert_int_equal(n, 10);
        assert_string_equal(buf, "0123456789");
        buf = mfree(buf);

        assert_int_equal(read_full_file(p, 9, &buf, &n), -E2BIG);
        assert_null(buf);
        assert_int_equal(read_full_file(dir, SIZE_MAX, &buf, NULL), -EISDIR);
        assert_int_equal(read_full_file("/nonexistent/x", SIZE_MAX, &buf, NULL), -ENOENT);

        /* procfs reports st_size 0: still read fully, and still bounded. */
        assert_int_equal(read_full_file("/proc/self/status", SIZE_MAX, &buf, &n), 0);
        assert_true(n > 100);
        assert_non_null(strstr(buf, "Pid:"));
        buf = mfree(buf);
        assert_int_equal(read_full_file("/proc/self/status", 16, &buf, &n), -E2BIG);
}

static void test_read_full_file_large(void **state) {
        _cleanup_free_ char *p = path_in("big"), *data = NULL, *buf = NULL;
        size_t size = 1024 * 1024 + 3, n;

        data = malloc(size);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (char) (i * 7);
        assert_int_equal(write_file_atomic(p, data, size, 0600), 0);
        assert_int_equal(read_full_file(p, size, &buf, &n), 0);
        assert_int_equal(n, size);
        assert_memory_equal(buf, data, size);
}

static void test_mkdir_p_secure(void **state) {
        _cleanup_free_ char *deep = path_in("a/b/c"), *deep_slash = path_in("a/b/c/"), *parent = path_in("a");
        _cleanup_free_ char *link = path_in("link"), *file = path_in("file"), *via = path_in("link/d");
        struct stat st;
        mode_t old_umask;

        old_umask = umask(0);
        assert_int_equal(mkdir_p_secure(deep, 0700), 0);
        umask(old_umask);
        assert_int_equal(stat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(parent, &st), 0);
        assert_true(S_ISDIR(st.st_mode));

        /* Exists and fine: 1. */
        assert_int_equal(mkdir_p_secure(deep, 0700), 1);
        assert_int_equal(mkdir_p_secure(deep_slash, 0700), 1);
        /* A more open request accepts a tighter directory. */
        assert_int_equal(mkdir_p_secure(deep, 0755), 1);

        /* More open than asked: refused, and left alone. */
        assert_int_equal(chmod(deep, 0750), 0);
        assert_int_equal(mkdir_p_secure(deep, 0700), -EPERM);
        assert_int_equal(stat(deep, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);

        /* Last component a symlink: refused, even to a good directory. */
        assert_int_equal(symlink(parent, link), 0);
        assert_int_equal(mkdir_p_secure(link, 0700), -ELOOP);
        /* Symlinked parents are fine. */
        assert_int_equal(mkdir_p_secure(via, 0700), 0);

        assert_int_equal(write_file_atomic(file, "x", 1, 0600), 0);
        assert_int_equal(mkdir_p_secure(file, 0700), -ENOTDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_atomic_basic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_atomic_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_atomic_removes_stale_tmp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_atomic_sigkill, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_full_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_full_file_large, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_p_secure, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
