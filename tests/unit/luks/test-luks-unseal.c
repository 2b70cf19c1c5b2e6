/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* luks_token_open() without a TPM: what the plugin answers libcryptsetup before or without reaching one
 * (the TCTI points nowhere). A malformed token or a missing keyslot is -ENOENT, a PIN token without a
 * PIN -ENOANO before any TPM is contacted, an unusable PIN -ENOANO, no TPM -EAGAIN; each with a reason
 * and a log level. The TPM paths are in tests/integration/luks. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "basic/secure-mem.h"
#include "luks/luks-unseal.h"
#include "tpm2/tpm2-policy.h"

static const TPM2B_NAME srk = {
        .size = 34,
        .name = { 0x00, 0x0b, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                  16,   17,   18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 },
};

/* A blob as tpm2_seal() makes it, without a TPM: a consistent PCR 7 policy, made-up private bytes. */
static char *token_json(bool pin, const char *tcti) {
        Tpm2SealedBlob b = { .bank = TPM2_ALG_SHA256, .pcr_mask = 1U << 7, .has_pin = pin, .n_expected = 1 };
        TPM2B_DIGEST pcr_digest, policy;
        char *json = NULL;

        b.expected[0] = (Tpm2PcrValue){ .index = 7, .bank = TPM2_ALG_SHA256, .size = 32 };
        assert_int_equal(tpm2_policy_pcr_values_digest(b.bank, b.pcr_mask, b.expected, 1, &pcr_digest), 0);
        assert_int_equal(tpm2_policy_compute(b.bank, b.pcr_mask, &pcr_digest, pin, &policy), 0);
        b.public.publicArea = (TPMT_PUBLIC){
                .type = TPM2_ALG_KEYEDHASH,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        (pin ? 0 : TPMA_OBJECT_NODA),
                .authPolicy = policy,
                .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                .unique.keyedHash.size = 32,
        };
        b.private.size = 100;
        memset(b.private.buffer, 0xAB, 100);
        assert_int_equal(luks_token_format(1, &b, &srk, tcti, &json), 0);
        return json;
}

static bool no_keyslot(int keyslot, void *userdata) {
        return false;
}

static bool keyslot_one(int keyslot, void *userdata) {
        (*(int *) userdata)++;
        return keyslot == 1;
}

static int open_json(const char *json, const char *pin, size_t pin_size, LuksTokenLogLevel *level,
                     char *reason, size_t reason_size) {
        void *secret = NULL;
        size_t size = 0;
        int asked = 0, r;

        r = luks_token_open(json, NULL, pin, pin_size, keyslot_one, &asked, &secret, &size, level, reason,
                            reason_size);
        assert_true(r < 0);
        assert_null(secret);
        return r;
}

static void test_malformed(void **state) {
        static const char *const texts[] = {
                "",
                "{}",
                "[]",
                "{\"type\":\"trusted-platform-tpm2\"}",
                "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"]}",
        };
        LuksTokenLogLevel level;
        char reason[512];

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                reason[0] = 0;
                assert_int_equal(open_json(texts[i], NULL, 0, &level, reason, sizeof(reason)), -ENOENT);
                assert_int_equal(level, LUKS_TOKEN_LOG_ERROR);
                assert_non_null(strstr(reason, "the token is not valid"));
        }
}

static void test_missing_keyslot(void **state) {
        _cleanup_free_ char *json = token_json(false, NULL);
        LuksTokenLogLevel level;
        void *secret = NULL;
        size_t size = 0;
        char reason[512] = "";

        assert_int_equal(luks_token_open(json, NULL, NULL, 0, no_keyslot, NULL, &secret, &size, &level,
                                         reason, sizeof(reason)),
                         -ENOENT);
        assert_string_equal(reason, "the token's keyslot 1 does not exist");
        assert_int_equal(level, LUKS_TOKEN_LOG_ERROR);
}

static void test_pin_missing_before_tpm(void **state) {
        _cleanup_free_ char *json = token_json(true, NULL);
        LuksTokenLogLevel level;
        char reason[512] = "";

        /* -ENOANO, not -EAGAIN: the TPM (unreachable here) is not asked before there is a PIN. */
        assert_int_equal(open_json(json, NULL, 0, &level, reason, sizeof(reason)), -ENOANO);
        assert_int_equal(level, LUKS_TOKEN_LOG_DEBUG);
        assert_int_equal(open_json(json, "", 0, &level, reason, sizeof(reason)), -ENOANO);
        assert_int_equal(open_json(json, "1234", 0, &level, reason, sizeof(reason)), -ENOANO);
}

static void test_pin_unusable(void **state) {
        _cleanup_free_ char *json = token_json(true, NULL);
        _cleanup_free_ char *long_pin = malloc(LUKS_TOKEN_PIN_MAX + 1);
        LuksTokenLogLevel level;
        char reason[512] = "";

        assert_int_equal(open_json(json,
                                   "12\0"
                                   "34",
                                   5, &level, reason, sizeof(reason)),
                         -ENOANO);
        assert_non_null(strstr(reason, "wrong PIN"));
        assert_int_equal(level, LUKS_TOKEN_LOG_ERROR);
        assert_non_null(long_pin);
        memset(long_pin, '7', LUKS_TOKEN_PIN_MAX + 1);
        assert_int_equal(open_json(json, long_pin, LUKS_TOKEN_PIN_MAX + 1, &level, reason, sizeof(reason)),
                         -ENOANO);
        /* Binary PIN bytes without a terminating NUL are taken as they are: on to the (absent) TPM. */
        assert_int_equal(open_json(json, long_pin, LUKS_TOKEN_PIN_MAX, &level, reason, sizeof(reason)),
                         -EAGAIN);
}

static void test_no_tpm(void **state) {
        _cleanup_free_ char *json = token_json(false, NULL);
        _cleanup_free_ char *json_tcti = token_json(false, "swtpm:path=/nonexistent/other.sock");
        LuksTokenLogLevel level;
        char reason[512] = "";

        assert_int_equal(open_json(json, NULL, 0, &level, reason, sizeof(reason)), -EAGAIN);
        assert_int_equal(level, LUKS_TOKEN_LOG_VERBOSE);
        assert_non_null(strstr(reason, "no TPM reachable through"));
        /* The token's TCTI is the one tried. */
        assert_int_equal(open_json(json_tcti, NULL, 0, &level, reason, sizeof(reason)), -EAGAIN);
        assert_non_null(strstr(reason, "/nonexistent/other.sock"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_missing_keyslot),
                cmocka_unit_test(test_pin_missing_before_tpm),
                cmocka_unit_test(test_pin_unusable),
                cmocka_unit_test(test_no_tpm),
        };

        /* Nowhere: every path that reaches for a TPM fails with -EAGAIN. */
        setenv("TRUSTED_PLATFORM_TCTI", "swtpm:path=/nonexistent/swtpm.sock", 1);
        setenv("TSS2_LOG", "all+none", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
