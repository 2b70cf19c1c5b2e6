/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* luks_token_unseal() against swtpm (tp-run --swtpm): tokens enrolled on LUKS2 image files, read back
 * from the header and unsealed; every refusal with its errno and reason (PIN missing or wrong, lockout,
 * no TPM, swapped SRK, edited tp-srk, PCR 7 changed, a blob of another SRK). The SRK is checked against
 * the token's tp-srk, not the state directory's pin (early boot has no /var). Tests run in order on one
 * fresh swtpm; PCR 7 is extended last. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "luks/luks-unseal.h"
#include "tpm2/tpm2-context-internal.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-util.h"
#include "../tpm2/tpm2-test-util.h"
#include "luks-test-util.h"

#define PCR7 (UINT32_C(1) << 7)

static char image[4096];

static LuksToken *token_from_image(const char *path, int token) {
        _cleanup_free_ char *json = luks_test_token_get(path, token);
        LuksToken *t = NULL;
        char reason[256] = "";

        assert_int_equal(luks_token_parse(json, strlen(json), &t, reason, sizeof(reason)), 0);
        return t;
}

static LuksToken *token_from_json(const char *json) {
        LuksToken *t = NULL;
        char reason[256] = "";

        if (luks_token_parse(json, strlen(json), &t, reason, sizeof(reason)) < 0)
                fail_msg("token does not parse: %s", reason);
        return t;
}

static void check_tpm_clean(void) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        assert_no_leaks(c);
}

static void test_unseal_opens_keyslot(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_format(image, false);
        luks_test_enroll(image, &o, NULL, &en);
        assert_int_equal(en.keyslot, 1);

        t = token_from_image(image, en.token);
        assert_int_equal(t->keyslot, en.keyslot);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_int_equal(size, strlen(en.passphrase));
        assert_memory_equal(secret, en.passphrase, size);
        assert_int_equal(luks_test_check_passphrase(image, secret, size), en.keyslot);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_state_dir_pin_not_consulted(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        _cleanup_free_ char *saved = strdup(getenv("TRUSTED_PLATFORM_STATE_DIR"));
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);

        /* Early boot: no state directory at all. The token's tp-srk is the pin. */
        assert_int_equal(setenv("TRUSTED_PLATFORM_STATE_DIR", "/nonexistent/trusted-platform", 1), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);
        assert_int_equal(setenv("TRUSTED_PLATFORM_STATE_DIR", saved, 1), 0);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_pin(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = "4711" };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_image(image, en.token);

        /* No PIN (NULL or empty): -ENOANO, so libcryptsetup asks for one. */
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -ENOANO);
        assert_non_null(strstr(reason, "PIN"));
        assert_int_equal(luks_token_unseal(t, NULL, "", NULL, &secret, &size, reason, sizeof(reason)),
                         -ENOANO);
        assert_null(secret);

        assert_int_equal(luks_token_unseal(t, NULL, "0000", NULL, &secret, &size, reason, sizeof(reason)),
                         -EACCES);
        assert_non_null(strstr(reason, "wrong PIN"));
        assert_non_null(strstr(reason, "left"));
        assert_null(secret);

        assert_int_equal(luks_token_unseal(t, NULL, "4711", NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);
        assert_int_equal(luks_test_check_passphrase(image, secret, size), en.keyslot);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_lockout(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = "1234" };
        char reason[256] = "";
        size_t size = 0;

        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_DictionaryAttackParameters(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                         ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 2, 77,
                                                         0),
                         TSS2_RC_SUCCESS);
        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);

        assert_int_equal(luks_token_unseal(t, NULL, "0000", NULL, &secret, &size, reason, sizeof(reason)),
                         -EACCES);
        assert_string_equal(reason, "wrong PIN, 1 try left");
        assert_int_equal(luks_token_unseal(t, NULL, "0001", NULL, &secret, &size, reason, sizeof(reason)),
                         -ENOLCK);
        assert_non_null(strstr(reason, "lockout"));
        assert_int_equal(luks_token_unseal(t, NULL, "1234", NULL, &secret, &size, reason, sizeof(reason)),
                         -ENOLCK);
        assert_null(secret);

        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
        assert_int_equal(luks_token_unseal(t, NULL, "1234", NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);

        luks_test_enrollment_done(&en);
        assert_no_leaks(c);
}

static void test_no_tpm(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL, *t2 = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        _cleanup_free_ char *edited = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;
        const char *p;

        luks_test_enroll(image, &o, "swtpm:path=/nonexistent/swtpm.sock", &en);
        t = token_from_image(image, en.token);
        assert_string_equal(t->tcti, "swtpm:path=/nonexistent/swtpm.sock");

        /* The token's TCTI comes before the environment's. */
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EAGAIN);
        assert_non_null(strstr(reason, "no TPM"));
        assert_null(secret);
        assert_int_equal(luks_token_unseal(t, "device:/dev/tpmrm99", NULL, NULL, &secret, &size, reason,
                                           sizeof(reason)),
                         -EAGAIN);

        /* An explicit TCTI overrides the token's. */
        p = getenv("TRUSTED_PLATFORM_TCTI");
        assert_int_equal(luks_token_unseal(t, p, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

/* Whether any 8-byte window of needle occurs in haystack, so partial leaks are caught too. */
static bool leaked(const void *haystack, size_t size, const void *needle, size_t n) {
        for (size_t i = 0; i + 8 <= n; i++)
                if (memmem(haystack, size, (const uint8_t *) needle + i, 8))
                        return true;
        return false;
}

static void test_bus_sniffing(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        _cleanup_free_ char *pcap = NULL, *tcti = NULL, *capture = NULL;
        static const char pin[] = "PIN-0815-never-on-the-wire";
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = pin };
        uint8_t pin_hash[32];
        unsigned len = 0;
        char reason[256] = "";
        size_t size = 0, capture_size = 0;

        /* ATTACKS b-6: the unseal through tpm2-tss's pcap TCTI (what a bus sniffer sees). */
        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);
        assert_true(asprintf(&pcap, "%s.pcap", image) > 0);
        assert_true(asprintf(&tcti, "pcap:%s", getenv("TRUSTED_PLATFORM_TCTI")) > 0);
        assert_int_equal(setenv("TCTI_PCAP_FILE", pcap, 1), 0);
        assert_int_equal(luks_token_unseal(t, tcti, pin, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_int_equal(unsetenv("TCTI_PCAP_FILE"), 0);
        assert_memory_equal(secret, en.passphrase, size);

        assert_int_equal(read_full_file(pcap, 16 * 1024 * 1024, &capture, &capture_size), 0);
        /* Control: the capture has the traffic (the sealed object's policy digest went out in clear). */
        assert_true(capture_size > 1000);
        assert_true(leaked(capture, capture_size, t->blob->public.publicArea.authPolicy.buffer, 32));
        /* The keyslot passphrase, the PIN and the PIN's hash (the authValue) never. */
        assert_int_equal(EVP_Digest(pin, strlen(pin), pin_hash, &len, EVP_sha256(), NULL), 1);
        assert_false(leaked(capture, capture_size, en.passphrase, strlen(en.passphrase)));
        assert_false(leaked(capture, capture_size, pin, strlen(pin)));
        assert_false(leaked(capture, capture_size, pin_hash, sizeof(pin_hash)));

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_tcti_from_config(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        _cleanup_free_ char *saved = strdup(getenv("TRUSTED_PLATFORM_TCTI")), *conf = NULL, *text = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);
        assert_true(asprintf(&conf, "%s/trusted-platform.conf", getenv("TRUSTED_PLATFORM_CONFIG_DIR")) > 0);

        /* No TCTI in the token nor the environment: the configuration's [TPM] Device=. */
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_TCTI"), 0);
        assert_true(asprintf(&text, "[TPM]\nDevice=%s\n", saved) > 0);
        assert_int_equal(write_file_atomic(conf, text, strlen(text), 0644), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);
        secret = erase_and_free(secret);

        static const char nowhere[] = "[TPM]\nDevice=swtpm:path=/nonexistent/configured.sock\n";
        assert_int_equal(write_file_atomic(conf, nowhere, strlen(nowhere), 0644), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EAGAIN);
        assert_non_null(strstr(reason, "/nonexistent/configured.sock"));

        /* The environment overrides the configuration. */
        assert_int_equal(setenv("TRUSTED_PLATFORM_TCTI", saved, 1), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_int_equal(unlink(conf), 0);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_tcti_in_token_restricted(void **state) {
        static const char *const bad[] = {
                "libtss2-tcti-evil.so",
                "/tmp/evil.so",
                "device:/etc/shadow",
                "device:/dev/sda",
                "device:/dev/tpm0/../sda",
                "pcap:device:/dev/tpmrm0",
                "cmd:sh -c id",
                "swtpm:path=/x y",
                "device:",
                "device:/dev/tpmrm",
                "spi-helper",
        };
        static const char *const good[] = {
                "device:/dev/tpmrm0",
                "device:/dev/tpm0",
                "swtpm",
                "swtpm:path=/run/swtpm.sock",
                "mssim:host=localhost,port=2321",
                "tabrmd:bus_name=com.intel.tss2.Tabrmd",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(luks_token_tcti_is_safe(bad[i]));
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(luks_token_tcti_is_safe(good[i]));
}

static void test_swapped_srk(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);

        /* ATTACKS b-6: another storage key at 0x81000001 (an interposer's). Refused, no unsalted
         * fallback. */
        evict_persistent(c, TPM2_SRK_HANDLE);
        {
                TPM2B_PUBLIC rsa = {
                        .publicArea = {
                                .type = TPM2_ALG_RSA,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                                    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                    TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                                    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
                                .parameters.rsaDetail = {
                                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                                                       .mode.aes = TPM2_ALG_CFB },
                                        .scheme.scheme = TPM2_ALG_NULL,
                                        .keyBits = 2048,
                                },
                        },
                };
                static const TPM2B_SENSITIVE_CREATE sensitive = {};
                static const TPML_PCR_SELECTION no_pcrs = {};
                static const TPM2B_DATA no_data = {};
                ESYS_TR primary = ESYS_TR_NONE, persistent = ESYS_TR_NONE;

                assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                                    ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &rsa, &no_data,
                                                    &no_pcrs, &primary, NULL, NULL, NULL, NULL),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, primary,
                                                   ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                                   TPM2_SRK_HANDLE, &persistent),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), primary), TSS2_RC_SUCCESS);
                assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &persistent), TSS2_RC_SUCCESS);
        }
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EKEYREJECTED);
        assert_non_null(strstr(reason, "storage root key"));
        assert_null(secret);

        /* No SRK at all: refused the same way. */
        evict_persistent(c, TPM2_SRK_HANDLE);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EKEYREJECTED);
        assert_null(secret);
        assert_no_leaks(c);

        /* The real SRK back (same owner seed, same template): opens again. */
        {
                ESYS_TR srk = ESYS_TR_NONE;
                assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
                tpm2_flush(c, &srk);
        }
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);

        luks_test_enrollment_done(&en);
        assert_no_leaks(c);
}

/* An interposer between ESYS and the TPM: answers the first ReadPublic of 0x81000001 with its own public
 * area but the real SRK's name (a lying pair) and later ones honestly: a check of a second answer, or of
 * the name alone, would salt the session to the interposer's key. */
typedef struct Interposer {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_TCTI_CONTEXT *inner;
        TPM2B_PUBLIC fake;
        bool armed, pending;
        unsigned swapped;
} Interposer;

static TSS2_RC interposer_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        Interposer *i = (Interposer *) ctx;

        i->pending = i->armed && size >= 14 && command[6] == 0x00 && command[7] == 0x00 &&
                command[8] == 0x01 && command[9] == 0x73 && command[10] == 0x81 && command[11] == 0x00 &&
                command[12] == 0x00 && command[13] == 0x01;
        return Tss2_Tcti_Transmit(i->inner, size, command);
}

static TSS2_RC interposer_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        Interposer *i = (Interposer *) ctx;
        uint8_t out[4096];
        TPM2B_PUBLIC pub = {};
        TPM2B_NAME name = {}, qname = {};
        size_t in_off = 10, out_off = 10;
        TSS2_RC rc;

        rc = Tss2_Tcti_Receive(i->inner, size, response, timeout);
        if (rc != TSS2_RC_SUCCESS || !response || !i->pending || *size < 10 ||
            (response[6] | response[7] | response[8] | response[9]) != 0)
                return rc;
        i->pending = false;
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(response, *size, &in_off, &pub), TSS2_RC_SUCCESS);
        assert_int_equal(Tss2_MU_TPM2B_NAME_Unmarshal(response, *size, &in_off, &name), TSS2_RC_SUCCESS);
        assert_int_equal(Tss2_MU_TPM2B_NAME_Unmarshal(response, *size, &in_off, &qname), TSS2_RC_SUCCESS);
        memcpy(out, response, 10);
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&i->fake, out, sizeof(out), &out_off), TSS2_RC_SUCCESS);
        assert_int_equal(Tss2_MU_TPM2B_NAME_Marshal(&name, out, sizeof(out), &out_off), TSS2_RC_SUCCESS);
        assert_int_equal(Tss2_MU_TPM2B_NAME_Marshal(&qname, out, sizeof(out), &out_off), TSS2_RC_SUCCESS);
        out[2] = out_off >> 24;
        out[3] = out_off >> 16;
        out[4] = out_off >> 8;
        out[5] = out_off;
        memcpy(response, out, out_off);
        *size = out_off;
        i->swapped++;
        i->armed = false; /* once: a second ReadPublic gets the honest answer */
        return TSS2_RC_SUCCESS;
}

static void test_interposer_lying_public(void **state) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        Interposer ip = {
                .common.v1 = { .magic = 1,
                               .version = 1,
                               .transmit = interposer_transmit,
                               .receive = interposer_receive },
        };
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        Tpm2UnsealOptions u = {};
        Tpm2Context *c = NULL;
        TPM2B_NAME srk;
        Tpm2Error e = {};
        size_t size = 0;

        {
                _cleanup_(tpm2_context_freep) Tpm2Context *real = open_tpm();
                static const TPM2B_SENSITIVE_CREATE sensitive = {};
                static const TPML_PCR_SELECTION no_pcrs = {};
                static const TPM2B_DATA no_data = {};
                TPM2B_PUBLIC t = {
                        .publicArea = {
                                .type = TPM2_ALG_RSA,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                                    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                    TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                                    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
                                .parameters.rsaDetail = {
                                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                                                       .mode.aes = TPM2_ALG_CFB },
                                        .scheme.scheme = TPM2_ALG_NULL,
                                        .keyBits = 2048,
                                },
                        },
                };
                TPM2B_PUBLIC *out = NULL;
                ESYS_TR h = ESYS_TR_NONE;

                luks_test_srk_name(real, &srk);
                assert_int_equal(tpm2_seal(real, &o, "interposed", 10, &b, &e), 0);
                /* The interposer's own storage key (it holds the private part). */
                assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(real), ESYS_TR_RH_OWNER,
                                                    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                                                    &t, &no_data, &no_pcrs, &h, &out, NULL, NULL, NULL),
                                 TSS2_RC_SUCCESS);
                ip.fake = *out;
                Esys_Free(out);
                assert_int_equal(Esys_FlushContext(tpm2_context_esys(real), h), TSS2_RC_SUCCESS);
        }

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &ip.inner), TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &ip, &c), 0);
        u.srk_name = &srk;

        /* Control: passed through unchanged, the blob opens. */
        assert_int_equal(tpm2_unseal_with(c, b, &u, &secret, &size, &e), 0);
        assert_memory_equal(secret, "interposed", 10);
        secret = erase_and_free(secret);

        /* The lying pair: refused before any session is salted to the interposer's key. */
        ip.armed = true;
        assert_int_equal(tpm2_unseal_with(c, b, &u, &secret, &size, &e), -EKEYREJECTED);
        assert_int_equal(ip.swapped, 1U);
        assert_null(secret);

        assert_no_leaks(c);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&ip.inner);
}

static void test_edited_srk_name(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);

        /* tp-srk edited to some other key's name (the attacker's): the real SRK does not match it. */
        t->srk_name.name[t->srk_name.size - 1] ^= 1;
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EKEYREJECTED);
        assert_null(secret);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_blob_of_another_srk(void **state) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        char reason[256] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_json(en.json);

        /* The private part as another TPM (or SRK) would have wrapped it: the integrity check fails. */
        t->blob->private.buffer[t->blob->private.size / 2] ^= 0x40;
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EBADMSG);
        assert_non_null(strstr(reason, "sealed object"));
        assert_null(secret);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

/* Signs the current PCR 7 with key and writes the signed-policy file to path. */
static void write_signed_policy(EVP_PKEY *key, const char *path) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_free_ char *text = NULL;
        Tpm2SignedPolicy p = { .n_entries = 1 };
        size_t n = 0;

        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR7, &now, &n), 0);
        assert_int_equal(tpm2_signed_policy_sign(key, TPM2_ALG_SHA256, now, n, &p.entries[0]), 0);
        assert_int_equal(tpm2_signed_policy_format(&p, &text), 0);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void test_signed_policy(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        _cleanup_free_ char *path = NULL, *wrong = NULL, *garbage = NULL;
        LuksTestEnrollment en = {};
        TPM2B_PUBLIC pub;
        Tpm2SealOptions o = { .authorize_key = &pub };
        char reason[512] = "";
        size_t size = 0;

        assert_non_null(key);
        assert_non_null(other);
        assert_int_equal(tpm2_authorize_key_from_pkey(key, &pub, NULL), 0);
        assert_true(asprintf(&path, "%s.policy.json", image) > 0);
        assert_true(asprintf(&wrong, "%s.other-policy.json", image) > 0);
        assert_true(asprintf(&garbage, "%s.garbage.json", image) > 0);

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_image(image, en.token);
        assert_true(t->blob->authorize);

        /* No policy file: -ENOENT, naming where it looked. */
        assert_int_equal(luks_token_unseal(t, NULL, NULL, path, &secret, &size, reason, sizeof(reason)),
                         -ENOENT);
        assert_non_null(strstr(reason, path));
        assert_int_equal(setenv("TRUSTED_PLATFORM_SIGNED_POLICY", path, 1), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -ENOENT);

        /* A file that does not parse: -EINVAL. */
        assert_int_equal(write_file_atomic(garbage, "{}", 2, 0644), 0);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, garbage, &secret, &size, reason, sizeof(reason)),
                         -EINVAL);

        /* Signed by another key: -EPERM. */
        write_signed_policy(other, wrong);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, wrong, &secret, &size, reason, sizeof(reason)),
                         -EPERM);
        assert_null(secret);

        /* The right file, by path and through the environment (the default location's override). */
        write_signed_policy(key, path);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, path, &secret, &size, reason, sizeof(reason)), 0);
        assert_memory_equal(secret, en.passphrase, size);
        secret = erase_and_free(secret);
        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)), 0);
        assert_int_equal(luks_test_check_passphrase(image, secret, size), en.keyslot);
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_SIGNED_POLICY"), 0);

        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

/* luks_token_unseal_on(): the caller's context is used for the TCTI it talks to and kept after a success,
 * replaced for another TCTI (the token's), and dropped after a failure; luks_tpm_context_open() keeps a
 * context only for exactly the TCTI it was opened on. */
static void test_unseal_on_shared_context(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(luks_token_freep) LuksToken *t = NULL, *remote = NULL;
        LuksTestEnrollment en = {}, en_remote = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        const char *tcti = getenv("TRUSTED_PLATFORM_TCTI");
        char reason[256] = "";
        Tpm2Context *kept;

        luks_test_format(image, false);
        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_image(image, en.token);

        for (int i = 0; i < 2; i++) {
                _cleanup_erase_free_ void *secret = NULL;
                size_t size = 0;

                kept = c;
                assert_int_equal(luks_token_unseal_on(t, NULL, NULL, NULL, &c, &secret, &size, reason,
                                                      sizeof(reason)),
                                 0);
                assert_non_null(c);
                if (i > 0)
                        assert_ptr_equal(c, kept);
                assert_string_equal(tpm2_context_tcti(c), tcti);
                assert_int_equal(size, strlen(en.passphrase));
                assert_memory_equal(secret, en.passphrase, size);
        }

        /* Same TCTI, named or resolved from the environment: the same context. */
        kept = c;
        assert_int_equal(luks_tpm_context_open(tcti, &c), 0);
        assert_ptr_equal(c, kept);
        assert_int_equal(luks_tpm_context_open(NULL, &c), 0);
        assert_ptr_equal(c, kept);
        assert_int_equal(tpm2_pcr_extend_data(c, 16, TPM2_ALG_SHA256, "x", 1), 0);

        /* A token naming another TCTI does not get the context: it is dropped and the unseal fails there. */
        luks_test_enroll(image, &o, "swtpm:path=/nonexistent/swtpm.sock", &en_remote);
        remote = token_from_image(image, en_remote.token);
        {
                _cleanup_erase_free_ void *secret = NULL;
                size_t size = 0;

                assert_int_equal(luks_token_unseal_on(remote, NULL, NULL, NULL, &c, &secret, &size, reason,
                                                      sizeof(reason)),
                                 -EAGAIN);
                assert_null(c);
                assert_null(secret);
        }

        /* Another TCTI string than the context's is never served by it. */
        assert_int_equal(luks_tpm_context_open(tcti, &c), 0);
        assert_non_null(c);
        assert_int_equal(luks_tpm_context_open("swtpm:path=/nonexistent/swtpm.sock", &c), -ENODEV);
        assert_null(c);

        luks_test_enrollment_done(&en_remote);
        luks_test_enrollment_done(&en);
        check_tpm_clean();
}

static void test_pcr_changed(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        TPML_DIGEST_VALUES v = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };
        char reason[512] = "";
        size_t size = 0;

        luks_test_enroll(image, &o, NULL, &en);
        t = token_from_image(image, en.token);

        memset(v.digests[0].digest.sha256, 0x42, 32);
        assert_int_equal(Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR0 + 7, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &v),
                         TSS2_RC_SUCCESS);

        assert_int_equal(luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason)),
                         -EPERM);
        assert_non_null(strstr(reason, "PCR 7 (sha256)"));
        assert_null(secret);

        luks_test_enrollment_done(&en);
        assert_no_leaks(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unseal_opens_keyslot),
                cmocka_unit_test(test_state_dir_pin_not_consulted),
                cmocka_unit_test(test_pin),
                cmocka_unit_test(test_lockout),
                cmocka_unit_test(test_no_tpm),
                cmocka_unit_test(test_bus_sniffing),
                cmocka_unit_test(test_tcti_from_config),
                cmocka_unit_test(test_tcti_in_token_restricted),
                cmocka_unit_test(test_swapped_srk),
                cmocka_unit_test(test_interposer_lying_public),
                cmocka_unit_test(test_edited_srk_name),
                cmocka_unit_test(test_blob_of_another_srk),
                cmocka_unit_test(test_signed_policy),
                cmocka_unit_test(test_unseal_on_shared_context),
                cmocka_unit_test(test_pcr_changed),
        };
        const char *dir;

        log_parse_environment();
        dir = getenv("TP_TEST_DIR");
        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR") || !dir) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI, TRUSTED_PLATFORM_STATE_DIR and TP_TEST_DIR must be set "
                        "(run through tp-run).\n");
                return EXIT_FAILURE;
        }
        snprintf(image, sizeof(image), "%s/luks.img", dir);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
