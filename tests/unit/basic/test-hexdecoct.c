/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "basic/hexdecoct.h"
#include "basic/macro.h"

static void test_hex_roundtrip(void **state) {
        uint8_t data[256];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) i;

        for (size_t n = 0; n <= sizeof(data); n++) {
                _cleanup_free_ char *hex = NULL;
                _cleanup_free_ void *back = NULL;
                size_t back_size = 0;

                assert_int_equal(hexmem(data, n, &hex), 0);
                assert_int_equal(strlen(hex), 2 * n);
                assert_int_equal(unhexmem(hex, SIZE_MAX, &back, &back_size), 0);
                assert_int_equal(back_size, n);
                assert_memory_equal(back, data, n);
                assert_int_equal(((uint8_t *) back)[n], 0);
        }
}

static void test_hex_known(void **state) {
        _cleanup_free_ char *hex = NULL;
        _cleanup_free_ void *back = NULL;
        size_t n;

        assert_int_equal(hexmem("\x00\x7f\xff\xab", 4, &hex), 0);
        assert_string_equal(hex, "007fffab");
        /* Upper case is accepted on input. */
        assert_int_equal(unhexmem("DEADbeef", SIZE_MAX, &back, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(back, "\xde\xad\xbe\xef", 4);
        free(back);
        /* Explicit length: only the first 4 characters. */
        assert_int_equal(unhexmem("0102zz", 4, &back, &n), 0);
        assert_int_equal(n, 2);
}

static void test_hex_rejects(void **state) {
        static const char *const bad[] = { "0", "abc", "0g", "g0", "00 ", " 00", "0x00", "-1", "\xff\xff", "+a" };
        void *back = (void *) 0x1;
        size_t n = 77;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(unhexmem(bad[i], SIZE_MAX, &back, &n), -EINVAL);
                assert_ptr_equal(back, (void *) 0x1);
                assert_int_equal(n, 77);
        }
        /* An embedded NUL with an explicit length is a bad character, not a terminator. */
        assert_int_equal(unhexmem("00\0000", 4, &back, &n), -EINVAL);
}

static void test_base64_known(void **state) {
        /* RFC 4648 section 10 test vectors. */
        static const char *const vec[][2] = {
                { "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },        { "foo", "Zm9v" },
                { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
        };

        for (size_t i = 0; i < ELEMENTSOF(vec); i++) {
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ void *dec = NULL;
                size_t n;

                assert_int_equal(base64mem(vec[i][0], strlen(vec[i][0]), &enc), 0);
                assert_string_equal(enc, vec[i][1]);
                assert_int_equal(unbase64mem(vec[i][1], SIZE_MAX, &dec, &n), 0);
                assert_int_equal(n, strlen(vec[i][0]));
                assert_memory_equal(dec, vec[i][0], n);
        }
}

static void test_base64_roundtrip(void **state) {
        uint8_t data[300];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 37 + 11);

        for (size_t n = 0; n <= sizeof(data); n++) {
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ void *dec = NULL;
                size_t m;

                assert_int_equal(base64mem(data, n, &enc), 0);
                assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
                assert_int_equal(unbase64mem(enc, SIZE_MAX, &dec, &m), 0);
                assert_int_equal(m, n);
                assert_memory_equal(dec, data, n);
        }

        /* Every single-byte value goes through the alphabet's edges (+ and /). */
        for (unsigned b = 0; b < 256; b++) {
                uint8_t x[3] = { (uint8_t) b, (uint8_t) ~b, (uint8_t) (b ^ 0x5a) };
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ void *dec = NULL;
                size_t m;

                assert_int_equal(base64mem(x, 3, &enc), 0);
                assert_int_equal(unbase64mem(enc, SIZE_MAX, &dec, &m), 0);
                assert_int_equal(m, 3);
                assert_memory_equal(dec, x, 3);
        }
}

static void test_base64_rejects(void **state) {
        static const char *const bad[] = {
                "Zg",        /* missing padding */
                "Zg=",       /* short padding */
                "Zm9",       /* length not a multiple of 4 */
                "Z===",      /* three padding characters */
                "====",      /* padding only */
                "=Zg=",      /* padding at the start */
                "Zg==Zg==",  /* padding in the middle */
                "Zm=v",      /* padding inside a quantum */
                "Zh==",      /* non-zero bits after the data: non-canonical "f" */
                "Zm9=",      /* non-canonical "fo" (should be Zm8=) */
                "Zm9v\n",    /* whitespace */
                " Zm9v",     /* whitespace */
                "Zm9v YmFy", /* whitespace */
                "Zm9-",      /* URL-safe alphabet is not accepted */
                "Zm9_",      /* URL-safe alphabet is not accepted */
                "Zm\x80v",   /* high byte */
                "Zm9v====",  /* stray padding quantum */
        };
        void *dec = (void *) 0x1;
        size_t n = 77;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = unbase64mem(bad[i], SIZE_MAX, &dec, &n);
                if (r != -EINVAL)
                        fail_msg("'%s' gave %d instead of -EINVAL", bad[i], r);
                assert_ptr_equal(dec, (void *) 0x1);
                assert_int_equal(n, 77);
        }

        assert_int_equal(unbase64mem("Zm9v\0mFy", 8, &dec, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hex_roundtrip),
                cmocka_unit_test(test_hex_known),
                cmocka_unit_test(test_hex_rejects),
                cmocka_unit_test(test_base64_known),
                cmocka_unit_test(test_base64_roundtrip),
                cmocka_unit_test(test_base64_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
