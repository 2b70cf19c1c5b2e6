/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small process that loads the token plugin through libcryptsetup, for valgrind (the cmocka test
 * would trace its own machinery too):
 *   luks-plugin-tool enroll IMG [PIN]   format IMG (pbkdf2) and enroll a PCR 7 token (test-only helper)
 *   luks-plugin-tool open IMG [PIN]     crypt_activate_by_token_pin(NULL name, any token); exit 0 when it
 *                                       opened a keyslot, 1 when refused (prints the errno)
 *   luks-plugin-tool dump IMG           crypt_dump() (the plugin's dump and validate)
 * Needs TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR (tp-run --swtpm). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "basic/string-util.h"
#include "luks-test-util.h"

int main(int argc, char *argv[]) {
        struct crypt_device *cd = NULL;
        const char *pin;
        int r;

        if (argc < 3) {
                fprintf(stderr, "Usage: luks-plugin-tool enroll|open|dump IMG [PIN]\n");
                return 2;
        }
        pin = argc > 3 ? argv[3] : NULL;

        if (streq(argv[1], "enroll")) {
                Tpm2SealOptions o = { .pcr_mask = UINT32_C(1) << 7, .pin = pin };
                LuksTestEnrollment en = {};

                luks_test_format(argv[2], false);
                luks_test_enroll(argv[2], &o, NULL, &en);
                printf("keyslot %d token %d\n", en.keyslot, en.token);
                luks_test_enrollment_done(&en);
                return 0;
        }

        if (crypt_init(&cd, argv[2]) < 0 || crypt_load(cd, CRYPT_LUKS2, NULL) < 0) {
                fprintf(stderr, "%s: not a LUKS2 image\n", argv[2]);
                crypt_free(cd);
                return 2;
        }
        if (streq(argv[1], "open")) {
                r = crypt_activate_by_token_pin(cd, NULL, NULL, CRYPT_ANY_TOKEN, pin, pin ? strlen(pin) : 0,
                                                NULL, 0);
                printf("%s %d\n", r >= 0 ? "keyslot" : "refused", r);
        } else if (streq(argv[1], "dump"))
                r = crypt_dump(cd);
        else
                r = -EINVAL;
        crypt_free(cd);
        return r >= 0 ? 0 : 1;
}
