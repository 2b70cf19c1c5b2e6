/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovery keys: the text a user writes down, and what we accept when it is typed back (any case, spaces
 * or dashes anywhere), refusing anything else with a reason that never repeats the input. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "basic/secure-mem.h"
#include "luks/luks-recovery.h"

static const char alphabet[] = "cbdefghijklnrtuv";

static void assert_canonical(const char *k) {
        assert_int_equal(strlen(k), LUKS_RECOVERY_KEY_LENGTH);
        for (size_t i = 0; i < LUKS_RECOVERY_KEY_LENGTH; i++)
                if (i % 9 == 8)
                        assert_int_equal(k[i], '-');
                else
                        assert_non_null(strchr(alphabet, k[i]));
}

static void test_format_known_bytes(void **state) {
        uint8_t key[LUKS_RECOVERY_KEY_BYTES];
        char *k = NULL;

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) ((i % 16) * 0x11);
        assert_int_equal(luks_recovery_key_format(key, sizeof(key), &k), 0);
        /* 0x00 0x11 0x22 0x33 | 0x44 ... : nibble n is alphabet[n] */
        assert_string_equal(k, "ccbbddee-ffgghhii-jjkkllnn-rrttuuvv-ccbbddee-ffgghhii-jjkkllnn-rrttuuvv");
        erase_and_free(k);
        assert_int_equal(luks_recovery_key_format(key, 31, &k), -EINVAL);
}

static void test_generate_is_canonical_and_random(void **state) {
        char *a = NULL, *b = NULL;

        assert_int_equal(luks_recovery_key_generate(&a), 0);
        assert_int_equal(luks_recovery_key_generate(&b), 0);
        assert_canonical(a);
        assert_canonical(b);
        assert_string_not_equal(a, b);
        assert_true(luks_recovery_key_is_valid(a));
        erase_and_free(a);
        erase_and_free(b);
}

static void test_normalize_typed_forms(void **state) {
        char *key = NULL, *n = NULL, typed[400];

        assert_int_equal(luks_recovery_key_generate(&key), 0);

        /* As shown, with a newline (read from a terminal). */
        snprintf(typed, sizeof(typed), "%s\n", key);
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, NULL, 0), 0);
        assert_string_equal(n, key);
        n = erase_and_free(n);

        /* Upper case, spaces instead of dashes, and no separators at all. */
        for (size_t i = 0, j = 0; i <= strlen(key); i++)
                typed[j++] = key[i] == '-' ? ' ' : (char) (key[i] >= 'a' ? key[i] - 32 : key[i]);
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, NULL, 0), 0);
        assert_string_equal(n, key);
        n = erase_and_free(n);

        size_t j = 0;
        for (size_t i = 0; key[i]; i++)
                if (key[i] != '-')
                        typed[j++] = key[i];
        typed[j] = 0;
        assert_int_equal(strlen(typed), 64);
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, NULL, 0), 0);
        assert_string_equal(n, key);
        n = erase_and_free(n);

        /* Separators in odd places, tabs, mixed case. */
        j = 0;
        for (size_t i = 0; key[i]; i++) {
                if (key[i] == '-')
                        continue;
                typed[j++] = (i % 3 == 0) ? (char) (key[i] - 32) : key[i];
                if (i % 5 == 0)
                        typed[j++] = i % 2 ? '\t' : '-';
        }
        typed[j] = 0;
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, NULL, 0), 0);
        assert_string_equal(n, key);
        erase_and_free(n);
        erase_and_free(key);
}

static void test_normalize_refuses(void **state) {
        char reason[128], *n = NULL, *key = NULL, typed[400];

        assert_int_equal(luks_recovery_key_generate(&key), 0);

        /* One letter short, one too many. */
        snprintf(typed, sizeof(typed), "%s", key);
        typed[strlen(typed) - 1] = 0;
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, reason, sizeof(reason)),
                         -EINVAL);
        assert_string_equal(reason, "63 letters, a recovery key has 64");
        snprintf(typed, sizeof(typed), "%sc", key);
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, reason, sizeof(reason)),
                         -EINVAL);
        assert_string_equal(reason, "65 letters, a recovery key has 64");

        /* A letter outside the alphabet (a, o, digits), named by position only. */
        snprintf(typed, sizeof(typed), "%s", key);
        typed[11] = 'a';
        assert_int_equal(luks_recovery_key_normalize(typed, strlen(typed), &n, reason, sizeof(reason)),
                         -EINVAL);
        assert_non_null(strstr(reason, "character 12 "));
        assert_null(strstr(reason, key + 12));
        typed[11] = '0';
        assert_false(luks_recovery_key_is_valid(typed));

        /* Empty, a passphrase, NUL inside, too long. */
        assert_int_equal(luks_recovery_key_normalize("", 0, &n, reason, sizeof(reason)), -EINVAL);
        assert_false(luks_recovery_key_is_valid("correct horse battery staple"));
        assert_false(luks_recovery_key_is_valid(NULL));
        snprintf(typed, sizeof(typed), "%s", key);
        typed[20] = 0;
        assert_int_equal(luks_recovery_key_normalize(typed, LUKS_RECOVERY_KEY_LENGTH, &n, NULL, 0), -EINVAL);
        memset(typed, ' ', sizeof(typed));
        memcpy(typed, key, strlen(key));
        assert_int_equal(luks_recovery_key_normalize(typed, sizeof(typed), &n, reason, sizeof(reason)),
                         -EINVAL);
        assert_non_null(strstr(reason, "longer than"));
        assert_null(n);
        erase_and_free(key);
}

/* Random input (mostly separators and alphabet letters, so some of it is a key): either refused, or the
 * canonical form, which normalizes to itself. Never reads past size (ASan). */
static void test_normalize_random_input(void **state) {
        static const char pool[] = "cbdefghijklnrtuvCBDEFGHIJKLNRTUV- \tao0\n";
        unsigned seed = 1;
        size_t accepted = 0;

        for (unsigned round = 0; round < 20000; round++) {
                char in[LUKS_RECOVERY_KEY_INPUT_MAX + 8], *n = NULL, *again = NULL;
                size_t len;

                seed = seed * 1103515245U + 12345U;
                len = round % 2 ? 64 + (seed >> 16) % 16 : (seed >> 16) % sizeof(in);
                for (size_t i = 0; i < len; i++) {
                        seed = seed * 1103515245U + 12345U;
                        /* Odd rounds: letters only, so exactly 64 of them is a key. */
                        in[i] = pool[(seed >> 16) % (round % 2 ? 32 : sizeof(pool) - 1)];
                }
                if (luks_recovery_key_normalize(in, len, &n, NULL, 0) < 0) {
                        assert_null(n);
                        continue;
                }
                accepted++;
                assert_canonical(n);
                assert_int_equal(luks_recovery_key_normalize(n, strlen(n), &again, NULL, 0), 0);
                assert_string_equal(n, again);
                erase_and_free(n);
                erase_and_free(again);
        }
        assert_true(accepted > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_known_bytes),
                cmocka_unit_test(test_generate_is_canonical_and_random),
                cmocka_unit_test(test_normalize_typed_forms),
                cmocka_unit_test(test_normalize_refuses),
                cmocka_unit_test(test_normalize_random_input),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
