/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealing against swtpm (tp-run --swtpm): round trips, the policy as the only way in, errors a user can
 * act on, and parameter encryption proven on the wire. Tests run in order on one fresh swtpm. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <tss2/tss2_tctildr.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"
#include "tpm2-test-tap.h"

#define HANDLES_TRANSIENT UINT32_C(0x80000000)
#define PCR7 (UINT32_C(1) << 7)

static size_t count_handles(Tpm2Context *c, TPM2_HANDLE first) {
        _cleanup_free_ TPM2_HANDLE *l = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_get_handles(c, first, &l, &n), 0);
        return n;
}

static void assert_no_leaks(Tpm2Context *c) {
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 0);
        assert_int_equal(count_handles(c, TPM2_HR_POLICY_SESSION), 0);
}

static Tpm2Context *open_tpm(void) {
        Tpm2Context *c = NULL;
        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        return c;
}

static void extend(Tpm2Context *c, ESYS_TR pcr) {
        TPML_DIGEST_VALUES v = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };
        memset(v.digests[0].digest.sha256, 0x42, 32);
        assert_int_equal(
                Esys_PCR_Extend(tpm2_context_esys(c), pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &v),
                TSS2_RC_SUCCESS);
}

static void round_trip(Tpm2Context *c, const Tpm2SealOptions *o, const void *secret, size_t size,
                       const char *pin) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL, *b2 = NULL;
        _cleanup_free_ uint8_t *wire = NULL;
        _cleanup_erase_free_ void *out = NULL;
        size_t wire_size = 0, out_size = 0;
        Tpm2Error e = {};

        assert_int_equal(tpm2_seal(c, o, secret, size, &b, &e), 0);
        assert_int_equal(b->envelope, size > TPM2_SEAL_DIRECT_MAX);
        assert_int_equal(tpm2_sealed_blob_serialize(b, &wire, &wire_size), 0);
        assert_int_equal(tpm2_sealed_blob_parse(wire, wire_size, &b2), 0);
        assert_int_equal(tpm2_unseal(c, b2, pin, &out, &out_size, &e), 0);
        assert_int_equal(out_size, size);
        assert_memory_equal(out, secret, size);
        assert_no_leaks(c);
}

static void test_provision_srk(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        ESYS_TR srk = ESYS_TR_NONE;
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        Tpm2Error e = {};

        /* Sealing never provisions: without an SRK it is refused. */
        assert_int_equal(tpm2_seal(c, &o, "x", 1, &b, &e), -ENOKEY);
        assert_non_null(strstr(e.message, "storage root key"));
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
}

static void test_round_trip_small(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2SealOptions o = { .pcr_mask = PCR7 | 1U };
        uint8_t secret[TPM2_SEAL_DIRECT_MAX];

        for (size_t i = 0; i < sizeof(secret); i++)
                secret[i] = i * 7 + 1;
        round_trip(c, &o, secret, 32, NULL);
        round_trip(c, &o, secret, sizeof(secret), NULL);
        o.bank = TPM2_ALG_SHA1;
        round_trip(c, &o, secret, 1, NULL);
}

static void test_round_trip_envelope(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        _cleanup_free_ uint8_t *secret = malloc(4096);

        for (size_t i = 0; i < 4096; i++)
                secret[i] = i ^ (i >> 8);
        round_trip(c, &o, secret, 4096, NULL);
        round_trip(c, &o, secret, TPM2_SEAL_DIRECT_MAX + 1, NULL);
}

/* Sealed to the SRK alone (the CA key store's passphrase): survives PCR changes, opens only through the
 * policy (PolicyCommandCode(Unseal)), the TPM's trial digest is ours, and a PCR selection or signing key
 * cannot be combined with it. */
static void test_srk_only(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .srk_only = true };
        Tpm2SealOptions bad = { .srk_only = true, .pcr_mask = PCR7 };
        TPM2B_DIGEST policy;
        size_t out_size = 0;
        Tpm2Error e = {};

        round_trip(c, &o, "0123456789abcdef0123456789abcdef", 32, NULL);
        round_trip(c, &(Tpm2SealOptions){ .srk_only = true, .pin = "1234" }, "with a PIN", 10, "1234");

        assert_int_equal(tpm2_seal(c, &o, "survives PCR changes", 20, &b, &e), 0);
        assert_true(b->srk_only);
        assert_int_equal(b->pcr_mask, 0);
        assert_false(b->public.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH);
        assert_int_equal(tpm2_policy_compute_srk_only(false, &policy), 0);
        assert_memory_equal(b->public.publicArea.authPolicy.buffer, policy.buffer, 32);
        extend(c, ESYS_TR_PCR7);
        extend(c, ESYS_TR_PCR0);
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), 0);
        assert_int_equal(out_size, 20);
        assert_memory_equal(out, "survives PCR changes", 20);

        b = tpm2_sealed_blob_free(b);
        assert_int_equal(tpm2_seal(c, &bad, "x", 1, &b, &e), -EINVAL);
        assert_null(b);
        assert_no_leaks(c);
}

static void test_refuse_resettable(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2SealedBlob *b = NULL;
        Tpm2Error e = {};

        Tpm2SealOptions o16 = { .pcr_mask = PCR7 | (1U << 16) }, o23 = { .pcr_mask = 1U << 23 };
        assert_int_equal(tpm2_seal(c, &o16, "secret", 6, &b, &e), -EINVAL);
        assert_non_null(strstr(e.message, "PCR 16"));
        assert_non_null(strstr(e.message, "reset"));
        assert_int_equal(tpm2_seal(c, &o23, "secret", 6, &b, &e), -EINVAL);
        assert_non_null(strstr(e.message, "PCR 23"));
        assert_null(b);
        assert_no_leaks(c);
}

static void test_pcr_changed(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_free_ char *want = NULL, *have = NULL, *expected_msg = NULL;
        Tpm2SealOptions o = { .pcr_mask = (1U << 8) | (1U << 9) };
        void *out = NULL;
        size_t out_size = 0, n = 0;
        Tpm2Error e = {};

        assert_int_equal(tpm2_seal(c, &o, "bound to PCR 9", 14, &b, &e), 0);
        extend(c, ESYS_TR_PCR9);

        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), -EPERM);
        assert_null(out);
        assert_int_equal(e.error, -EPERM);

        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, 1U << 9, &now, &n), 0);
        assert_int_equal(hexmem(b->expected[1].digest, 32, &want), 0);
        assert_int_equal(hexmem(now[0].digest, 32, &have), 0);
        assert_true(asprintf(&expected_msg,
                             "PCR 9 (sha256) differs from the value sealed against: expected %s, now %s",
                             want, have) > 0);
        assert_string_equal(e.message, expected_msg);
        assert_no_leaks(c);
}

static void test_expected_values(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2PcrValue future;
        size_t n = 0, out_size = 0;
        Tpm2Error e = {};

        /* Sealed to the value PCR 10 will have after one extend: refused now, accepted after it. */
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, 1U << 10, &now, &n), 0);
        future = now[0];
        {
                uint8_t buf[64], data[32];
                unsigned len = 0;
                memset(data, 0x42, 32);
                memcpy(buf, now[0].digest, 32);
                memcpy(buf + 32, data, 32);
                assert_int_equal(EVP_Digest(buf, 64, future.digest, &len, EVP_sha256(), NULL), 1);
        }
        Tpm2SealOptions o = { .pcr_mask = 1U << 10, .expected = &future, .n_expected = 1 };
        assert_int_equal(tpm2_seal(c, &o, "later", 5, &b, &e), 0);
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), -EPERM);
        assert_non_null(strstr(e.message, "PCR 10 (sha256)"));
        extend(c, ESYS_TR_PCR10);
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), 0);
        assert_int_equal(out_size, 5);
        assert_memory_equal(out, "later", 5);

        /* Values that do not match the selection are refused with a reason. */
        Tpm2SealedBlob *b2 = NULL;
        Tpm2SealOptions bad = { .pcr_mask = (1U << 10) | 1U, .expected = &future, .n_expected = 1 };
        assert_int_equal(tpm2_seal(c, &bad, "x", 1, &b2, &e), -EINVAL);
        assert_non_null(strstr(e.message, "expected PCR values"));
        assert_no_leaks(c);
}

static void test_empty_password_refused(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE;
        TPM2B_SENSITIVE_DATA *d = NULL;
        Tpm2Error e = {};
        TSS2_RC rc;

        assert_int_equal(tpm2_seal(c, &o, "no password path", 16, &b, &e), 0);
        assert_false(b->public.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH);

        /* The attacker's way: load it and Unseal with a plain (empty) password session. */
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, NULL), 0);
        assert_int_equal(Esys_Load(tpm2_context_esys(c), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &b->private, &b->public, &obj),
                         TSS2_RC_SUCCESS);
        rc = Esys_Unseal(tpm2_context_esys(c), obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d);
        assert_int_not_equal(rc, TSS2_RC_SUCCESS);
        assert_int_equal(rc & 0xFFF, TPM2_RC_AUTH_UNAVAILABLE);
        assert_null(d);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), obj), TSS2_RC_SUCCESS);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
}

static void test_policy_digests_agree(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        TPM2B_DIGEST pcr_digest, offline, trial;
        uint32_t mask = 1U | (1U << 7) | (1U << 14);
        size_t n = 0;

        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, mask, &v, &n), 0);
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, mask, v, n, &pcr_digest), 0);
        for (int pin = 0; pin < 2; pin++) {
                _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
                _cleanup_erase_free_ void *out = NULL;
                size_t out_size = 0;
                Tpm2SealOptions o = { .pcr_mask = mask, .pin = pin ? "1234" : NULL };

                assert_int_equal(tpm2_policy_compute(TPM2_ALG_SHA256, mask, &pcr_digest, pin, &offline), 0);
                assert_int_equal(tpm2_policy_trial(c, TPM2_ALG_SHA256, mask, &pcr_digest, pin, &trial), 0);
                assert_int_equal(trial.size, 32);
                assert_memory_equal(offline.buffer, trial.buffer, 32);

                /* CVE-2020-24455: the created object carries that very policy. */
                assert_int_equal(tpm2_seal(c, &o, "p", 1, &b, NULL), 0);
                assert_int_equal(b->public.publicArea.authPolicy.size, 32);
                assert_memory_equal(b->public.publicArea.authPolicy.buffer, offline.buffer, 32);
                assert_int_equal(!!(b->public.publicArea.objectAttributes & TPMA_OBJECT_NODA), !pin);
                assert_int_equal(tpm2_unseal(c, b, o.pin, &out, &out_size, NULL), 0);
        }
        assert_no_leaks(c);
}

static void flip_and_expect(Tpm2Context *c, const uint8_t *wire, size_t size, size_t at) {
        _cleanup_free_ uint8_t *copy = malloc(size);
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm2Error e = {};
        int r;

        memcpy(copy, wire, size);
        copy[at] ^= 0x01;
        r = tpm2_sealed_blob_parse(copy, size, &b);
        if (r == 0) {
                r = tpm2_unseal(c, b, NULL, &out, &out_size, &e);
                assert_int_equal(r, -EBADMSG);
                assert_true(strlen(e.message) > 0);
        } else
                assert_int_equal(r, -EBADMSG);
        assert_null(out);
        assert_no_leaks(c);
}

static void test_tampered_blob(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL, *t = NULL;
        _cleanup_free_ uint8_t *wire = NULL, *longer = NULL;
        _cleanup_free_ uint8_t *secret = calloc(1, 1000);
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        size_t size = 0, pub_off, priv_off;

        assert_int_equal(tpm2_seal(c, &o, secret, 1000, &b, NULL), 0);
        assert_int_equal(tpm2_sealed_blob_serialize(b, &wire, &size), 0);

        /* Layout: 12 header, 32 PCR 7 value, TPM2B_PUBLIC, TPM2B_PRIVATE, iv, tag, u32, ciphertext. */
        pub_off = 12 + 32;
        priv_off = pub_off + 2 + b->public.size;
        flip_and_expect(c, wire, size, priv_off + 2 + 40); /* private: integrity */
        flip_and_expect(c, wire, size, priv_off + 2 + b->private.size - 1);
        flip_and_expect(c, wire, size, pub_off + 2 + 8 + 2 + 5);          /* public: authPolicy byte */
        flip_and_expect(c, wire, size, pub_off + 2 + b->public.size - 3); /* public: unique */
        flip_and_expect(c, wire, size, pub_off + 2 + 4);                  /* public: attributes */
        flip_and_expect(c, wire, size, size - 1);                         /* envelope ciphertext */
        flip_and_expect(c, wire, size, size - 1000 - 4 - 5);              /* envelope tag */
        flip_and_expect(c, wire, size, 12 + 3);                           /* expected PCR value */

        longer = malloc(size + 1);
        memcpy(longer, wire, size);
        longer[size] = 0;
        assert_int_equal(tpm2_sealed_blob_parse(longer, size + 1, &t), -EBADMSG);
        assert_int_equal(tpm2_sealed_blob_parse(wire, size - 1, &t), -EBADMSG);
        assert_null(t);
        assert_no_leaks(c);
}

static void test_pin(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = "correct horse" };
        size_t out_size = 0;
        Tpm2Error e = {};
        uint32_t left1, left2;

        assert_int_equal(tpm2_seal(c, &o, "pin secret", 10, &b, &e), 0);

        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), -EACCES);
        assert_non_null(strstr(e.message, "PIN"));

        assert_int_equal(tpm2_unseal(c, b, "wrong", &out, &out_size, &e), -EACCES);
        assert_int_equal(sscanf(e.message, "wrong PIN, %" SCNu32 " tries left", &left1), 1);
        assert_int_equal(tpm2_unseal(c, b, "wrong again", &out, &out_size, &e), -EACCES);
        assert_int_equal(sscanf(e.message, "wrong PIN, %" SCNu32 " tries left", &left2), 1);
        assert_int_equal(left2, left1 - 1);
        assert_null(out);

        assert_int_equal(tpm2_unseal(c, b, "correct horse", &out, &out_size, &e), 0);
        assert_int_equal(out_size, 10);
        assert_memory_equal(out, "pin secret", 10);

        /* Give the tries back for later tests. */
        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
        assert_no_leaks(c);
}

static void test_lockout(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = "4711" };
        size_t out_size = 0;
        Tpm2Error e = {};

        /* Two tries, 77 s to earn one back: the second wrong PIN locks the TPM. */
        assert_int_equal(Esys_DictionaryAttackParameters(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                         ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 2, 77,
                                                         0),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_seal(c, &o, "locked", 6, &b, &e), 0);

        assert_int_equal(tpm2_unseal(c, b, "0000", &out, &out_size, &e), -EACCES);
        assert_string_equal(e.message, "wrong PIN, 1 try left");
        assert_int_equal(tpm2_unseal(c, b, "0001", &out, &out_size, &e), -ENOLCK);
        assert_string_equal(e.message, "the TPM is in dictionary-attack lockout for 77 s");
        /* Even the right PIN does not help now. */
        assert_int_equal(tpm2_unseal(c, b, "4711", &out, &out_size, &e), -ENOLCK);
        assert_string_equal(e.message, "the TPM is in dictionary-attack lockout for 77 s");
        assert_null(out);

        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_unseal(c, b, "4711", &out, &out_size, &e), 0);
        assert_memory_equal(out, "locked", 6);
        assert_no_leaks(c);
}

static void swap_srk(Tpm2Context *c, bool foreign) {
        ESYS_TR tr = ESYS_TR_NONE, out = ESYS_TR_NONE;

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), TPM2_SRK_HANDLE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, ESYS_TR_NONE, &tr),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SRK_HANDLE, &out),
                         TSS2_RC_SUCCESS);
        (void) Esys_TR_Close(tpm2_context_esys(c), &tr);
        if (out != ESYS_TR_NONE)
                (void) Esys_TR_Close(tpm2_context_esys(c), &out);

        if (foreign) {
                /* The interposer's own storage key: a proper SRK template, RSA, so another key. */
                TPM2B_PUBLIC rsa = {
                        .publicArea = {
                                .type = TPM2_ALG_RSA,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                                    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
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
        } else {
                ESYS_TR srk = ESYS_TR_NONE;
                assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
                tpm2_flush(c, &srk);
        }
}

static void test_swapped_srk_refused(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL, *b2 = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        size_t out_size = 0;
        Tpm2Error e = {};

        assert_int_equal(tpm2_seal(c, &o, "pinned", 6, &b, &e), 0);

        /* Another key at 0x81000001: neither unseal nor seal salts a session to it. */
        swap_srk(c, true);
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), -EKEYREJECTED);
        assert_non_null(strstr(e.message, "storage root key"));
        assert_int_equal(tpm2_seal(c, &o, "pinned", 6, &b2, &e), -EKEYREJECTED);
        assert_null(out);
        assert_null(b2);
        assert_no_leaks(c);

        /* The real SRK back (same owner seed): the blob opens again. */
        swap_srk(c, false);
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, &e), 0);
        assert_memory_equal(out, "pinned", 6);
        assert_no_leaks(c);
}

static void test_pin_hash_with_trailing_zero(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = "pin-162" };
        uint8_t h[32];
        unsigned len = 0;

        /* SHA-256("pin-162") ends in 0x00: the TPM drops trailing zeros of an authValue, so the session
         * HMAC key must drop them too, or this PIN (1 in 256) would never unseal. */
        assert_int_equal(EVP_Digest(o.pin, strlen(o.pin), h, &len, EVP_sha256(), NULL), 1);
        assert_int_equal(h[31], 0);
        round_trip(c, &o, "zero-tailed", 11, o.pin);
}

static void test_parameter_encryption_on_the_wire(void **state) {
        static const char secret[] = "TOP-SECRET-volume-key-0123456789";
        static const char pin[] = "PIN-4711-never-on-the-wire";
        Tap tap = TAP_INIT;
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7, .pin = pin };
        Tpm2Context *c = NULL;
        size_t out_size = 0;
        uint8_t pin_hash[32];
        unsigned len = 0;

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &tap.inner),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &tap, &c), 0);

        assert_int_equal(tpm2_seal(c, &o, secret, sizeof(secret) - 1, &b, NULL), 0);
        assert_true(tap.size > 1000);
        assert_int_equal(tpm2_unseal(c, b, pin, &out, &out_size, NULL), 0);
        assert_int_equal(out_size, sizeof(secret) - 1);
        assert_memory_equal(out, secret, out_size);

        /* Neither the secret, nor the PIN, nor the authValue made from it crossed the bus in clear. */
        assert_int_equal(EVP_Digest(pin, strlen(pin), pin_hash, &len, EVP_sha256(), NULL), 1);
        assert_false(seen(&tap, secret, sizeof(secret) - 1));
        assert_false(seen(&tap, pin, strlen(pin)));
        assert_false(seen(&tap, pin_hash, sizeof(pin_hash)));

        /* Control: the tap does see what is not encrypted (the public area we sent and got back). */
        assert_true(seen(&tap, b->public.publicArea.authPolicy.buffer, 32));

        assert_no_leaks(c);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&tap.inner);
        free(tap.bytes);
}

/* What one unseal costs on the wire: the SRK's ReadPublic (no GetCapability first), Load, one salted policy
 * session, the policy, Unseal, and one FlushContext for the object: the session goes with the Unseal
 * (continueSession clear), and nothing is left loaded. (No PIN here: swtpm answers the first use of a
 * DA-protected object after startup with TPM_RC_RETRY, which ESYS resubmits.) */
static void test_unseal_commands(void **state) {
        static const uint32_t want[] = { TPM2_CC_ReadPublic, TPM2_CC_Load,   TPM2_CC_StartAuthSession,
                                         TPM2_CC_PolicyPCR,  TPM2_CC_Unseal, TPM2_CC_FlushContext };
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_erase_free_ void *out = NULL;
        Tpm2SealOptions o = { .pcr_mask = PCR7 };
        Tap tap = TAP_INIT;
        Tpm2Context *c = NULL;
        size_t out_size = 0;

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &tap.inner),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &tap, &c), 0);
        assert_int_equal(tpm2_seal(c, &o, "x", 1, &b, NULL), 0);

        tap.n_codes = 0;
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &out_size, NULL), 0);
        assert_int_equal(tap.n_codes, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_int_equal(tap.codes[i], want[i]);
        assert_no_leaks(c);

        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&tap.inner);
        free(tap.bytes);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provision_srk),
                cmocka_unit_test(test_unseal_commands),
                cmocka_unit_test(test_round_trip_small),
                cmocka_unit_test(test_round_trip_envelope),
                cmocka_unit_test(test_srk_only),
                cmocka_unit_test(test_refuse_resettable),
                cmocka_unit_test(test_pcr_changed),
                cmocka_unit_test(test_expected_values),
                cmocka_unit_test(test_empty_password_refused),
                cmocka_unit_test(test_policy_digests_agree),
                cmocka_unit_test(test_tampered_blob),
                cmocka_unit_test(test_pin),
                cmocka_unit_test(test_pin_hash_with_trailing_zero),
                cmocka_unit_test(test_lockout),
                cmocka_unit_test(test_swapped_srk_refused),
                cmocka_unit_test(test_parameter_encryption_on_the_wire),
        };

        log_parse_environment();
        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set (run through tp-run).\n");
                return EXIT_FAILURE;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
