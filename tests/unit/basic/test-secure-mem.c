/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "basic/secure-mem.h"

static size_t wiped_size;
static bool wiped_all_zero;
static unsigned wiped_calls;

static void record_wipe(const void *p, size_t n) {
        const uint8_t *x = p;

        wiped_calls++;
        wiped_size = n;
        wiped_all_zero = true;
        for (size_t i = 0; i < n; i++)
                if (x[i] != 0)
                        wiped_all_zero = false;
}

static int setup(void **state) {
        secure_mem_wiped_hook = record_wipe;
        wiped_calls = 0;
        wiped_size = 0;
        wiped_all_zero = false;
        return 0;
}

static void test_erase_and_free_wipes(void **state) {
        char *s = strdup("correct horse battery staple");

        assert_non_null(s);
        assert_null(erase_and_free(s));
        assert_int_equal(wiped_calls, 1);
        /* The whole usable block, not only up to the NUL. */
        assert_true(wiped_size >= strlen("correct horse battery staple") + 1);
        assert_true(wiped_all_zero);

        assert_null(erase_and_free(NULL));
        assert_int_equal(wiped_calls, 1);
}

static void test_cleanup_erase_free(void **state) {
        {
                _cleanup_erase_free_ char *pin = strdup("123456");
                assert_non_null(pin);
        }
        assert_int_equal(wiped_calls, 1);
        assert_true(wiped_all_zero);
}

static void test_strv_free_erase(void **state) {
        char **l = calloc(3, sizeof(char *));

        assert_non_null(l);
        l[0] = strdup("secret-one");
        l[1] = strdup("secret-two");
        assert_null(strv_free_erase(l));
        assert_int_equal(wiped_calls, 2);
        assert_true(wiped_all_zero);
}

static void test_secure_malloc(void **state) {
        uint8_t *p = secure_malloc(100);

        assert_non_null(p);
        /* Starts zeroed, is writable, 16-byte aligned. */
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(p[i], 0);
        assert_int_equal((uintptr_t) p % 16, 0);
        memset(p, 0xa5, 100);

        assert_null(secure_free(p));
        assert_int_equal(wiped_calls, 1);
        assert_true(wiped_size >= 100);
        assert_int_equal(wiped_size % (size_t) sysconf(_SC_PAGESIZE), 0);
        assert_true(wiped_all_zero);

        errno = 0;
        assert_null(secure_malloc(0));
        assert_int_equal(errno, EINVAL);
        assert_null(secure_free(NULL));
}

static void test_secure_malloc_large(void **state) {
        size_t n = 3 * (size_t) sysconf(_SC_PAGESIZE) + 5;
        _cleanup_secure_free_ uint8_t *p = secure_malloc(n);

        assert_non_null(p);
        memset(p, 0x5a, n);
        assert_int_equal(p[n - 1], 0x5a);
}

static void test_memcmp_ct(void **state) {
        assert_int_equal(memcmp_ct("abcd", "abcd", 4), 0);
        assert_int_not_equal(memcmp_ct("abcd", "abce", 4), 0);
        assert_int_not_equal(memcmp_ct("xbcd", "abcd", 4), 0);
        assert_int_equal(memcmp_ct("abcd", "abce", 3), 0);
        assert_int_equal(memcmp_ct(NULL, NULL, 0), 0);

        assert_true(memeqsafe("tag", 3, "tag", 3));
        assert_false(memeqsafe("tag", 3, "tags", 4));
        assert_false(memeqsafe("tag", 3, "tab", 3));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_erase_and_free_wipes, setup),
                cmocka_unit_test_setup(test_cleanup_erase_free, setup),
                cmocka_unit_test_setup(test_strv_free_erase, setup),
                cmocka_unit_test_setup(test_secure_malloc, setup),
                cmocka_unit_test_setup(test_secure_malloc_large, setup),
                cmocka_unit_test(test_memcmp_ct),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
