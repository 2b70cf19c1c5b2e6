/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Test tool for test-luks-unlock.py (not a test itself): prepares LUKS2 image files with the enrollment
 * helper of luks-test-util.h and unseals a token without measuring anything, on the TPM at
 * $TRUSTED_PLATFORM_TCTI.
 *
 *   format IMG                 LUKS2 (pbkdf2, 1000 iterations) with LUKS_TEST_PASSPHRASE in keyslot 0
 *   enroll IMG PCRS [PIN]      seal a new keyslot's passphrase to the current values of PCRS (comma
 *                              separated indexes, sha256), print that passphrase
 *   unseal IMG TOKEN           exit 0 when luks_token_unseal() gives a secret that opens the token's
 *                              keyslot, else print the reason and exit 1
 *
 * Failed assertions exit with 255. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "basic/string-util.h"
#include "luks/luks-unseal.h"
#include "luks-test-util.h"

static uint32_t parse_pcrs(const char *s) {
        uint32_t mask = 0;

        for (const char *p = s; *p;) {
                size_t len = strcspn(p, ",");
                _cleanup_free_ char *w = memdup_suffix0(p, len);
                uint32_t i;

                assert_non_null(w);
                assert_int_equal(safe_atou32(w, &i), 0);
                assert_true(i < 24);
                mask |= UINT32_C(1) << i;
                p += len;
                if (*p == ',')
                        p++;
        }
        return mask;
}

int main(int argc, char *argv[]) {
        if (argc == 3 && streq(argv[1], "format")) {
                luks_test_format(argv[2], false);
                return 0;
        }

        if ((argc == 4 || argc == 5) && streq(argv[1], "enroll")) {
                Tpm2SealOptions o = { .pcr_mask = parse_pcrs(argv[3]), .pin = argc == 5 ? argv[4] : NULL };
                LuksTestEnrollment en = {};

                luks_test_enroll(argv[2], &o, NULL, &en);
                fputs(en.passphrase, stdout);
                luks_test_enrollment_done(&en);
                return 0;
        }

        if (argc == 4 && streq(argv[1], "unseal")) {
                _cleanup_free_ char *json = NULL;
                LuksToken *t = NULL;
                void *secret = NULL;
                size_t size = 0;
                char reason[512] = "";
                uint32_t token;
                int r;

                assert_int_equal(safe_atou32(argv[3], &token), 0);
                json = luks_test_token_get(argv[2], (int) token);
                assert_int_equal(luks_token_parse(json, strlen(json), &t, reason, sizeof(reason)), 0);
                r = luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason));
                luks_token_free(t);
                if (r < 0) {
                        printf("%s\n", reason);
                        return 1;
                }
                r = luks_test_check_passphrase(argv[2], secret, size);
                erase_and_free(secret);
                return r >= 0 ? 0 : 1;
        }

        fprintf(stderr, "usage: %s format IMG | enroll IMG PCRS [PIN] | unseal IMG TOKEN\n",
                program_invocation_short_name);
        return 2;
}
