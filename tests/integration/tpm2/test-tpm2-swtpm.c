/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libtpm2 against a real (software) TPM: $TRUSTED_PLATFORM_TCTI and $TRUSTED_PLATFORM_STATE_DIR come
 * from run-with-swtpm.sh (later tests/harness/tp-run). Tests run in order on one fresh swtpm. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <tss2/tss2_tctildr.h>

#include "basic/log.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

/* TPM2_HR_TRANSIENT from tss2_tpm2_types.h shifts a signed int into the sign bit (UBSan). */
#define HANDLES_TRANSIENT UINT32_C(0x80000000)

static char *pin_path(void) {
        char *p;
        assert_true(asprintf(&p, "%s/srk.pub", getenv("TRUSTED_PLATFORM_STATE_DIR")) > 0);
        return p;
}

/* Handles of first's type, through the library's own (validating) listing. */
static size_t count_handles(Tpm2Context *c, TPM2_HANDLE first) {
        _cleanup_free_ TPM2_HANDLE *l = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_get_handles(c, first, &l, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(l[i] >> TPM2_HR_SHIFT, first >> TPM2_HR_SHIFT);
        return n;
}

static bool srk_present(Tpm2Context *c) {
        _cleanup_free_ TPM2_HANDLE *l = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_get_handles(c, TPM2_SRK_HANDLE, &l, &n), 0);
        return n > 0 && l[0] == TPM2_SRK_HANDLE;
}

/* DESIGN §6: every TPM test ends with nothing left loaded, checked through our own context. */
static void assert_no_leaks(Tpm2Context *c) {
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 0);
        assert_int_equal(count_handles(c, TPM2_HR_POLICY_SESSION), 0);
}

static Tpm2Context *open_tpm(void) {
        Tpm2Context *c = NULL;
        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_non_null(c);
        return c;
}

static bool strv_contains(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static void test_context_bad_tcti(void **state) {
        Tpm2Context *c = NULL;

        assert_int_equal(tpm2_context_new("swtpm:path=/nonexistent/swtpm.sock", &c), -ENODEV);
        assert_null(c);
        assert_int_equal(tpm2_context_new("no-such-tcti-module", &c), -ENODEV);
        assert_null(c);
}

static void test_info(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;

        assert_string_equal(tpm2_context_tcti(c), getenv("TRUSTED_PLATFORM_TCTI"));
        assert_int_equal(tpm2_get_info(c, &info), 0);

        assert_string_equal(info->manufacturer, "IBM");
        assert_string_equal(info->vendor_string, "SW   TPM");
        assert_non_null(info->firmware_version);
        assert_true(strlen(info->firmware_version) >= 7);
        assert_true(info->spec_revision >= 116);
        assert_true(info->spec_year >= 2014);
        assert_int_equal(info->pcr_count, 24);
        assert_true(strv_contains(info->algorithms, "sha256"));
        assert_true(strv_contains(info->algorithms, "ecc"));
        assert_true(strv_contains(info->algorithms, "aes"));
        assert_true(strv_contains(info->algorithms, "cfb"));
        assert_true(strv_contains(info->pcr_banks, "sha256"));
        assert_true(strv_contains(info->pcr_banks, "sha1"));
        assert_false(strv_contains(info->pcr_banks, "sm3_256"));
        assert_false(info->in_lockout);
        assert_true(info->max_auth_fail > 0);

        assert_no_leaks(c);
}

static void test_random(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        static const size_t sizes[] = { 1, 64, 65, TPM2_RANDOM_MAX };
        uint8_t buf[TPM2_RANDOM_MAX + 1];

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                size_t zeros = 0;

                memset(buf, 0, sizeof(buf));
                assert_int_equal(tpm2_get_random(c, buf, sizes[i]), 0);
                for (size_t j = 0; j < sizes[i]; j++)
                        zeros += buf[j] == 0;
                /* Beyond 64 bytes the loop must have filled the tail too: no run of untouched zeros. */
                if (sizes[i] >= 64)
                        assert_true(zeros < sizes[i] / 16);
                assert_int_equal(buf[sizes[i]], 0);
        }

        assert_int_equal(tpm2_get_random(c, buf, 0), -EINVAL);
        assert_int_equal(tpm2_get_random(c, buf, TPM2_RANDOM_MAX + 1), -EINVAL);

        assert_no_leaks(c);
}

static void read_all(Tpm2Context *c, uint16_t bank, size_t digest_size, Tpm2PcrValue **ret) {
        Tpm2PcrValue *v = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_pcr_read(c, bank, 0xFFFFFF, &v, &n), 0);
        assert_int_equal(n, 24);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(v[i].index, i);
                assert_int_equal(v[i].bank, bank);
                assert_int_equal(v[i].size, digest_size);
        }
        *ret = v;
}

static void test_pcr_read(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ Tpm2PcrValue *sha256 = NULL, *sha1 = NULL, *after = NULL, *after1 = NULL, *some = NULL;
        uint8_t data[32], expected[32], buf[64];
        unsigned int len = 0;
        TPML_DIGEST_VALUES extend = {
                .count = 1,
                .digests[0].hashAlg = TPM2_ALG_SHA256,
        };
        size_t n = 0;

        read_all(c, TPM2_ALG_SHA256, 32, &sha256);
        read_all(c, TPM2_ALG_SHA1, 20, &sha1);

        /* Freshly started: PCR 0..15 are zero, 17..22 are all-ones (locality PCRs), 16 and 23 zero. */
        for (size_t i = 0; i < 32; i++)
                assert_int_equal(sha256[16].digest[i], 0);

        /* Extend PCR 16 in the sha256 bank and predict the new value with OpenSSL. */
        assert_int_equal(tpm2_get_random(c, data, sizeof(data)), 0);
        memcpy(extend.digests[0].digest.sha256, data, sizeof(data));
        assert_int_equal(Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &extend), TSS2_RC_SUCCESS);

        memcpy(buf, sha256[16].digest, 32);
        memcpy(buf + 32, data, 32);
        assert_int_equal(EVP_Digest(buf, sizeof(buf), expected, &len, EVP_sha256(), NULL), 1);
        assert_int_equal(len, 32);

        read_all(c, TPM2_ALG_SHA256, 32, &after);
        assert_memory_equal(after[16].digest, expected, 32);
        assert_memory_not_equal(after[16].digest, sha256[16].digest, 32);
        for (size_t i = 0; i < 24; i++)
                if (i != 16)
                        assert_memory_equal(after[i].digest, sha256[i].digest, 32);

        /* Only the sha256 digest was given, so the sha1 bank did not move. */
        read_all(c, TPM2_ALG_SHA1, 20, &after1);
        assert_memory_equal(after1[16].digest, sha1[16].digest, 20);

        /* A sparse selection comes back sorted and complete. */
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, (1U << 23) | (1U << 16) | (1U << 7) | 1U, &some, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(some[0].index, 0);
        assert_int_equal(some[1].index, 7);
        assert_int_equal(some[2].index, 16);
        assert_int_equal(some[3].index, 23);
        assert_memory_equal(some[2].digest, expected, 32);

        assert_no_leaks(c);
}

static void test_pcr_bad_requests(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2PcrValue *v = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_hash_alg_from_string("sm3_256"), TPM2_ALG_SM3_256);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SM3_256, 0xFFFFFF, &v, &n), -EOPNOTSUPP);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, 1U << 24, &v, &n), -EINVAL);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, 0, &v, &n), -EINVAL);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_RSA, 1, &v, &n), -EINVAL);
        assert_null(v);
        assert_int_equal(n, 0);

        assert_no_leaks(c);
}

/* Helpers that play an administrator or an attacker changing what sits at 0x81000001. */
static void evict_persistent(Tpm2Context *c, TPM2_HANDLE h) {
        ESYS_TR tr = ESYS_TR_NONE, out = ESYS_TR_NONE;

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                               &tr), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, h, &out), TSS2_RC_SUCCESS);
        /* ESYS keeps the metadata of the evicted object (and would answer a later FromTPMPublic for the
         * same handle from it): drop it, as an administrator's separate process would not have it. */
        (void) Esys_TR_Close(tpm2_context_esys(c), &tr);
        if (out != ESYS_TR_NONE)
                (void) Esys_TR_Close(tpm2_context_esys(c), &out);
}

static void persist_primary(Tpm2Context *c, const TPM2B_PUBLIC *template) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        ESYS_TR primary = ESYS_TR_NONE, persistent = ESYS_TR_NONE;

        assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &sensitive, template, &no_data, &no_pcrs, &primary, NULL,
                                            NULL, NULL, NULL), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SRK_HANDLE, &persistent),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), primary), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &persistent), TSS2_RC_SUCCESS);
}

static void test_srk_lifecycle(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ char *pin = pin_path(), *first_name = NULL;
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE;
        struct stat st;

        /* Fresh TPM, no provisioning asked: nothing is created. */
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), -ENOKEY);
        assert_int_equal(srk, ESYS_TR_NONE);
        assert_int_equal(stat(pin, &st), -1);

        /* Provision: ECC SRK created, persisted, pinned 0600 in a 0700 directory created for it. */
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), 0);
        assert_true(info.created);
        assert_int_equal(info.algorithm, TPM2_ALG_ECC);
        assert_int_equal(strlen(info.name_hex), 2 * (2 + 32));
        assert_true(strncmp(info.name_hex, "000b", 4) == 0);
        assert_int_not_equal(srk, ESYS_TR_NONE);
        assert_int_equal(stat(pin, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(getenv("TRUSTED_PLATFORM_STATE_DIR"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        first_name = TAKE_PTR(info.name_hex);
        tpm2_flush(c, &srk);
        assert_int_equal(srk, ESYS_TR_NONE);
        assert_true(srk_present(c));

        /* Again: adopted, not recreated, same key. Without provisioning too. */
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        assert_false(info.created);
        assert_string_equal(info.name_hex, first_name);
        tpm2_srk_info_done(&info);
        tpm2_flush(c, &srk);

        /* Pin removed: re-pinned on the next use. */
        assert_int_equal(unlink(pin), 0);
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        assert_false(info.created);
        assert_string_equal(info.name_hex, first_name);
        assert_int_equal(stat(pin, &st), 0);
        tpm2_srk_info_done(&info);
        tpm2_flush(c, &srk);

        /* Replaced SRK: a proper storage key, but RSA, not the pinned one -> rejected, not adopted. */
        {
                TPM2B_PUBLIC rsa = {
                        .publicArea = {
                                .type = TPM2_ALG_RSA,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                                    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                                    TPMA_OBJECT_NODA,
                                .parameters.rsaDetail = {
                                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                                                       .mode.aes = TPM2_ALG_CFB },
                                        .scheme.scheme = TPM2_ALG_NULL,
                                        .keyBits = 2048,
                                },
                        },
                };

                evict_persistent(c, TPM2_SRK_HANDLE);
                persist_primary(c, &rsa);
                assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), -EKEYREJECTED);
                assert_int_equal(srk, ESYS_TR_NONE);
                assert_null(info.name_hex);
                assert_true(srk_present(c));
                assert_no_leaks(c);
        }

        /* Evicted: provisioning recreates the same ECC key from the unchanged owner seed, and the pin
         * accepts it again. */
        evict_persistent(c, TPM2_SRK_HANDLE);
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), -ENOKEY);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), 0);
        assert_true(info.created);
        assert_string_equal(info.name_hex, first_name);
        tpm2_srk_info_done(&info);
        tpm2_flush(c, &srk);

        assert_no_leaks(c);
}

static void test_srk_foreign_object(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        TPM2B_PUBLIC signing = {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                            TPMA_OBJECT_USERWITHAUTH,
                        .parameters.eccDetail = {
                                .symmetric.algorithm = TPM2_ALG_NULL,
                                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                },
        };
        _cleanup_(esys_freep) TPM2B_NAME *before = NULL, *after = NULL;
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE, tr = ESYS_TR_NONE;

        /* Someone else's signing key at the SRK handle: never adopted, never overwritten. */
        evict_persistent(c, TPM2_SRK_HANDLE);
        persist_primary(c, &signing);

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), TPM2_SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &tr), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), tr, &before), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &tr), TSS2_RC_SUCCESS);

        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), -EEXIST);
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), -EEXIST);
        assert_int_equal(srk, ESYS_TR_NONE);

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), TPM2_SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &tr), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), tr, &after), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &tr), TSS2_RC_SUCCESS);
        assert_int_equal(before->size, after->size);
        assert_memory_equal(before->name, after->name, before->size);

        /* Give the handle back for the next test. */
        evict_persistent(c, TPM2_SRK_HANDLE);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), 0);
        tpm2_srk_info_done(&info);
        tpm2_flush(c, &srk);

        assert_no_leaks(c);
}

static void test_salted_session(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        TPMA_SESSION attrs = 0;

        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        tpm2_srk_info_done(&info);

        assert_int_equal(tpm2_session_start_salted(c, ESYS_TR_NONE, &session), -EINVAL);
        assert_int_equal(tpm2_session_start_salted(c, srk, &session), 0);
        assert_int_not_equal(session, ESYS_TR_NONE);
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 1);

        assert_int_equal(Esys_TRSess_GetAttributes(tpm2_context_esys(c), session, &attrs), TSS2_RC_SUCCESS);
        assert_true(attrs & TPMA_SESSION_ENCRYPT);
        assert_true(attrs & TPMA_SESSION_DECRYPT);
        assert_true(attrs & TPMA_SESSION_CONTINUESESSION);

        /* The response parameter (the random bytes) travels encrypted; the session survives for reuse. */
        for (int i = 0; i < 2; i++) {
                _cleanup_(esys_freep) TPM2B_DIGEST *d = NULL;
                assert_int_equal(Esys_GetRandom(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, 32, &d),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(d->size, 32);
        }

        tpm2_flush(c, &session);
        assert_int_equal(session, ESYS_TR_NONE);
        tpm2_flush(c, &srk);
        assert_int_equal(srk, ESYS_TR_NONE);
        tpm2_flush(c, &srk); /* no-op on ESYS_TR_NONE */

        /* The SRK itself stays: tpm2_flush() only closes persistent handles. */
        assert_true(srk_present(c));
        assert_no_leaks(c);
}

static void test_srk_after_clear(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ char *pin = pin_path(), *old_name = NULL;
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE;
        struct stat st;

        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        old_name = TAKE_PTR(info.name_hex);
        tpm2_flush(c, &srk);

        /* TPM2_Clear: new owner seed, persistent owner objects gone. */
        assert_int_equal(Esys_Clear(tpm2_context_esys(c), ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE), TSS2_RC_SUCCESS);
        assert_false(srk_present(c));

        /* The new SRK cannot match the pin: refused, and not left persisted in the TPM either. */
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), -EKEYREJECTED);
        assert_int_equal(srk, ESYS_TR_NONE);
        assert_false(srk_present(c));
        assert_no_leaks(c);

        /* The administrator drops the pin: the new SRK is created and pinned. */
        assert_int_equal(unlink(pin), 0);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, &info), 0);
        assert_true(info.created);
        assert_string_not_equal(info.name_hex, old_name);
        assert_int_equal(stat(pin, &st), 0);
        tpm2_srk_info_done(&info);
        tpm2_flush(c, &srk);

        assert_no_leaks(c);
}

/* A TCTI in front of swtpm that keeps a copy of the last response as it travelled. */
typedef struct Tap {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_TCTI_CONTEXT *inner;
        uint8_t last[4096];
        size_t last_size;
} Tap;

static TSS2_RC tap_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        return Tss2_Tcti_Transmit(((Tap *) ctx)->inner, size, command);
}

static TSS2_RC tap_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        Tap *t = (Tap *) ctx;
        TSS2_RC rc = Tss2_Tcti_Receive(t->inner, size, response, timeout);

        if (rc == TSS2_RC_SUCCESS && response && *size <= sizeof(t->last)) {
                memcpy(t->last, response, *size);
                t->last_size = *size;
        }
        return rc;
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
        return memmem(hay, n, needle, m) != NULL;
}

static void test_parameter_encryption_on_the_wire(void **state) {
        Tap tap = {
                .common.v1 = { .magic = 1, .version = 1, .transmit = tap_transmit, .receive = tap_receive },
        };
        Tpm2Context *c = NULL;
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        TPM2B_DIGEST *d = NULL;

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &tap.inner), TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &tap, &c), 0);

        /* Control: without a session the random bytes are on the wire as they are. */
        assert_int_equal(Esys_GetRandom(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &d),
                         TSS2_RC_SUCCESS);
        assert_int_equal(d->size, 32);
        assert_true(contains(tap.last, tap.last_size, d->buffer, d->size));
        Esys_Free(d);

        /* With the salted session they are not: an observer of the bus does not learn them. */
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        tpm2_srk_info_done(&info);
        assert_int_equal(tpm2_session_start_salted(c, srk, &session), 0);
        assert_int_equal(Esys_GetRandom(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, 32, &d),
                         TSS2_RC_SUCCESS);
        assert_int_equal(d->size, 32);
        assert_false(contains(tap.last, tap.last_size, d->buffer, d->size));
        assert_false(contains(tap.last, tap.last_size, d->buffer, 8));
        Esys_Free(d);

        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&tap.inner);
}

static void test_context_free_flushes(void **state) {
        Tpm2Context *c = open_tpm();
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE, s1 = ESYS_TR_NONE, s2 = ESYS_TR_NONE;

        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, &info), 0);
        tpm2_srk_info_done(&info);
        assert_int_equal(tpm2_session_start_salted(c, srk, &s1), 0);
        assert_int_equal(tpm2_session_start_salted(c, srk, &s2), 0);
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 2);

        /* Sessions forgotten by the caller are flushed when the context goes. */
        c = tpm2_context_free(c);

        c = open_tpm();
        assert_no_leaks(c);
        tpm2_context_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_context_bad_tcti),
                cmocka_unit_test(test_info),
                cmocka_unit_test(test_random),
                cmocka_unit_test(test_pcr_read),
                cmocka_unit_test(test_pcr_bad_requests),
                cmocka_unit_test(test_srk_lifecycle),
                cmocka_unit_test(test_srk_foreign_object),
                cmocka_unit_test(test_salted_session),
                cmocka_unit_test(test_parameter_encryption_on_the_wire),
                cmocka_unit_test(test_context_free_flushes),
                cmocka_unit_test(test_srk_after_clear),
        };

        log_parse_environment();

        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr, "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set "
                                "(run through run-with-swtpm.sh).\n");
                return EXIT_FAILURE;
        }

        return cmocka_run_group_tests(tests, NULL, NULL);
}
