/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "basic/errno-util.h"
#include "basic/string-util.h"

static void test_strv(void **state) {
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(strv_length(NULL), 0);
        assert_false(strv_contains(NULL, "a"));

        assert_int_equal(strv_extend(&l, "one"), 0);
        assert_int_equal(strv_extend(&l, "two"), 0);
        assert_int_equal(strv_extend(&l, ""), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[1], "two");
        assert_null(l[3]);
        assert_true(strv_contains(l, "one"));
        assert_true(strv_contains(l, ""));
        assert_false(strv_contains(l, "on"));
}

static void test_startswith_endswith(void **state) {
        const char *s = "trusted-platform.conf";

        assert_ptr_equal(startswith(s, "trusted-"), s + 8);
        assert_ptr_equal(startswith(s, ""), s);
        assert_null(startswith(s, "platform"));
        assert_null(startswith("ab", "abc"));

        assert_ptr_equal(endswith(s, ".conf"), s + strlen(s) - 5);
        assert_ptr_equal(endswith(s, ""), s + strlen(s));
        assert_null(endswith(s, ".con"));
        assert_null(endswith("nf", "conf"));
}

static void test_strextend(void **state) {
        _cleanup_free_ char *s = NULL;

        assert_non_null(strextend(&s, "a"));
        assert_string_equal(s, "a");
        assert_non_null(strextend(&s, "bc", "", "def"));
        assert_string_equal(s, "abcdef");
}

static void test_string_is_safe(void **state) {
        assert_true(string_is_safe("sha256", 64));
        assert_true(string_is_safe("a b/c:d", 64));
        assert_false(string_is_safe(NULL, 64));
        assert_false(string_is_safe("", 64));
        assert_false(string_is_safe("line\nbreak", 64));
        assert_false(string_is_safe("esc\x1b[31m", 64));
        assert_false(string_is_safe("del\x7f", 64));
        assert_false(string_is_safe("quo\"te", 64));
        assert_false(string_is_safe("back\\slash", 64));
        assert_true(string_is_safe("abcd", 4));
        assert_false(string_is_safe("abcde", 4));
}

static void test_safe_atou64(void **state) {
        uint64_t v = 42;

        assert_int_equal(safe_atou64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(safe_atou64("007", &v), 0);
        assert_int_equal(v, 7);
        assert_int_equal(safe_atou64("18446744073709551615", &v), 0);
        assert_true(v == UINT64_MAX);

        v = 42;
        assert_int_equal(safe_atou64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(safe_atou64("99999999999999999999999", &v), -ERANGE);
        assert_int_equal(safe_atou64("", &v), -EINVAL);
        assert_int_equal(safe_atou64(NULL, &v), -EINVAL);
        assert_int_equal(safe_atou64("-1", &v), -EINVAL);
        assert_int_equal(safe_atou64("+1", &v), -EINVAL);
        assert_int_equal(safe_atou64(" 1", &v), -EINVAL);
        assert_int_equal(safe_atou64("1 ", &v), -EINVAL);
        assert_int_equal(safe_atou64("1\n", &v), -EINVAL);
        assert_int_equal(safe_atou64("0x10", &v), -EINVAL);
        assert_int_equal(safe_atou64("12a", &v), -EINVAL);
        assert_int_equal(safe_atou64("99999999999999999999x", &v), -EINVAL);
        assert_int_equal(safe_atou64("1.0", &v), -EINVAL);
        /* Output untouched on failure. */
        assert_int_equal(v, 42);
}

static void test_safe_atou32(void **state) {
        uint32_t v = 42;

        assert_int_equal(safe_atou32("4294967295", &v), 0);
        assert_true(v == UINT32_MAX);
        v = 42;
        assert_int_equal(safe_atou32("4294967296", &v), -ERANGE);
        assert_int_equal(safe_atou32("-0", &v), -EINVAL);
        assert_int_equal(safe_atou32("\t5", &v), -EINVAL);
        assert_int_equal(v, 42);
        assert_int_equal(safe_atou32("123", &v), 0);
        assert_int_equal(v, 123);
}

static void test_errno_helpers(void **state) {
        errno = EACCES;
        assert_int_equal(negative_errno(), -EACCES);
        errno = 0;
        assert_int_equal(negative_errno(), -EIO);

        assert_int_equal(RET_NERRNO(close(-1)), -EBADF);
        assert_int_equal(RET_NERRNO(dup(-5)), -EBADF);

        assert_true(ERRNO_IS_TRANSIENT(-EAGAIN));
        assert_true(ERRNO_IS_TRANSIENT(EINTR));
        assert_false(ERRNO_IS_TRANSIENT(-EIO));
        assert_true(ERRNO_IS_DISCONNECT(-ECONNRESET));
        assert_true(ERRNO_IS_DISCONNECT(EPIPE));
        assert_false(ERRNO_IS_DISCONNECT(-ENOENT));
        assert_true(ERRNO_IS_RESOURCE(-ENOMEM));
        assert_true(ERRNO_IS_NOT_SUPPORTED(-EOPNOTSUPP));
        assert_true(ERRNO_IS_PRIVILEGE(-EPERM));
        assert_false(ERRNO_IS_PRIVILEGE(-ENOENT));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_startswith_endswith),
                cmocka_unit_test(test_strextend),
                cmocka_unit_test(test_string_is_safe),
                cmocka_unit_test(test_safe_atou64),
                cmocka_unit_test(test_safe_atou32),
                cmocka_unit_test(test_errno_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
