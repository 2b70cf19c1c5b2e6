/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tpm2_quote() against swtpm and attest_quote_verify() on its output: a real quote verifies, and every
 * attack from ATTACKS b-2 is refused with its own reason. $TRUSTED_PLATFORM_TCTI comes from tp-run,
 * which checks afterwards that no transient object or session is left in the TPM.
 *
 * With $TP_QUOTE_VECTOR_DIR set, the ECC and RSA quotes are also written there: that is how the
 * committed vectors in tests/unit/attest/vectors/ were captured. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "attest/attest-quote.h"
#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define HANDLES_TRANSIENT UINT32_C(0x80000000)

#define AK_ATTRS                                                                    \
        (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM | \
         TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)

static void esys_freep(void *p) {
        Esys_Free(*(void **) p);
}

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

typedef struct Key {
        ESYS_TR handle;
        TPM2B_PUBLIC pub;
} Key;

/* A signing primary in the endorsement hierarchy: restricted (an AK as far as a quote is concerned) or
 * not; salt changes the unique field, so the same template gives another key. */
static Key create_key(Tpm2Context *c, TPM2_ALG_ID type, bool restricted, uint8_t salt) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        _cleanup_(esys_freep) TPM2B_PUBLIC *out = NULL;
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = type,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = restricted ? AK_ATTRS : (AK_ATTRS & ~TPMA_OBJECT_RESTRICTED),
                },
        };
        Key k = { .handle = ESYS_TR_NONE };

        if (type == TPM2_ALG_ECC) {
                t.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                t.publicArea.unique.ecc.x.size = 1;
                t.publicArea.unique.ecc.x.buffer[0] = salt;
        } else {
                t.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme = { .scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256 },
                        .keyBits = 2048,
                };
                t.publicArea.unique.rsa.size = 1;
                t.publicArea.unique.rsa.buffer[0] = salt;
        }

        assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                            ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &t, &no_data, &no_pcrs,
                                            &k.handle, &out, NULL, NULL, NULL),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_track(c, k.handle), 0);
        k.pub = *out;
        return k;
}

static void extend(Tpm2Context *c, uint32_t pcr, uint16_t bank, uint8_t byte) {
        TPML_DIGEST_VALUES v = { .count = 1, .digests[0].hashAlg = bank };

        memset(&v.digests[0].digest, byte, tpm2_hash_alg_digest_size(bank));
        assert_int_equal(Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &v),
                         TSS2_RC_SUCCESS);
}

/* sha256 {0,1,7} + sha1 {0}: two banks, the selection the issue asks for. */
static TPML_PCR_SELECTION std_selection(void) {
        static const Tpm2PcrBankMask banks[] = {
                { TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7) },
                { TPM2_ALG_SHA1, 1U << 0 },
        };
        TPML_PCR_SELECTION s;

        assert_int_equal(tpm2_pcr_selection_from_masks(banks, ELEMENTSOF(banks), &s), 0);
        return s;
}

static TPML_PCR_SELECTION one_bank(uint16_t bank, uint32_t mask) {
        Tpm2PcrBankMask b = { bank, mask };
        TPML_PCR_SELECTION s;

        assert_int_equal(tpm2_pcr_selection_from_masks(&b, 1, &s), 0);
        return s;
}

static const uint8_t nonce1[32] = "nonce-one:0123456789abcdefghijk";
static const uint8_t nonce2[32] = "nonce-two:0123456789abcdefghijk";

static AttestQuoteInput input_for(const Tpm2Quote *q, const Key *k, const void *nonce, size_t nonce_size,
                                  const TPML_PCR_SELECTION *sel) {
        return (AttestQuoteInput){
                .attest = q->attest,
                .attest_size = q->attest_size,
                .signature = q->signature,
                .signature_size = q->signature_size,
                .ak_public = &k->pub,
                .nonce = nonce,
                .nonce_size = nonce_size,
                .selection = sel,
                .pcr_values = q->pcr_values,
                .n_pcr_values = q->n_pcr_values,
        };
}

static int verify(const AttestQuoteInput *in, AttestQuoteReason expect, const char *message) {
        AttestQuoteResult res;
        int r;

        r = attest_quote_verify(in, &res);
        if (res.reason != expect)
                fail_msg("expected reason %s, got %s (%d): %s", attest_quote_reason_to_string(expect),
                         attest_quote_reason_to_string(res.reason), r, res.message);
        if (message)
                assert_non_null(strstr(res.message, message));
        return r;
}

static Tpm2Context *open_tpm(void) {
        Tpm2Context *c = NULL;

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        return c;
}

static int setup(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();

        /* Give the quoted PCRs non-zero values, different per bank. */
        extend(c, 0, TPM2_ALG_SHA256, 0x11);
        extend(c, 7, TPM2_ALG_SHA256, 0x77);
        extend(c, 0, TPM2_ALG_SHA1, 0x10);
        return 0;
}

static void write_vector(const char *dir, const char *prefix, const char *name, const void *p, size_t n) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s-%s", dir, prefix, name) > 0);
        assert_int_equal(write_file_atomic(path, p, n, 0644), 0);
}

static void maybe_capture(const char *prefix, const Tpm2Quote *q, const Key *k) {
        const char *dir = getenv("TP_QUOTE_VECTOR_DIR");
        uint8_t pub[sizeof(TPM2B_PUBLIC)];
        _cleanup_free_ char *text = NULL;
        size_t off = 0;

        if (!dir)
                return;
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, pub, sizeof(pub), &off), TSS2_RC_SUCCESS);
        write_vector(dir, prefix, "attest.bin", q->attest, q->attest_size);
        write_vector(dir, prefix, "signature.bin", q->signature, q->signature_size);
        write_vector(dir, prefix, "ak.pub", pub, off);
        write_vector(dir, prefix, "nonce.bin", nonce1, sizeof(nonce1));
        for (size_t i = 0; i < q->n_pcr_values; i++) {
                _cleanup_free_ char *hex = NULL, *line = NULL;

                assert_int_equal(hexmem(q->pcr_values[i].digest, q->pcr_values[i].size, &hex), 0);
                assert_true(asprintf(&line, "%s%s:%u=%s\n", strempty(text),
                                     tpm2_hash_alg_to_string(q->pcr_values[i].bank),
                                     (unsigned) q->pcr_values[i].index, hex) > 0);
                free(text);
                text = TAKE_PTR(line);
        }
        write_vector(dir, prefix, "pcrs.txt", text, strlen(text));
}

static void quote_verifies(TPM2_ALG_ID type, const char *prefix) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL, *q2 = NULL;
        _cleanup_free_ Tpm2PcrValue *v256 = NULL, *v1 = NULL;
        TPML_PCR_SELECTION sel = std_selection();
        AttestQuoteResult res, res2;
        AttestQuoteInput in;
        size_t n256, n1;
        Key k = create_key(c, type, true, 0);

        assert_int_equal(tpm2_quote(c, k.handle, nonce1, sizeof(nonce1), &sel, &q), 0);
        assert_int_equal(q->n_pcr_values, 4);

        /* The values are the TPM's, in selection order. */
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7), &v256, &n256),
                         0);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA1, 1U << 0, &v1, &n1), 0);
        assert_memory_equal(&q->pcr_values[0], &v256[0], sizeof(Tpm2PcrValue));
        assert_memory_equal(&q->pcr_values[1], &v256[1], sizeof(Tpm2PcrValue));
        assert_memory_equal(&q->pcr_values[2], &v256[2], sizeof(Tpm2PcrValue));
        assert_memory_equal(&q->pcr_values[3], &v1[0], sizeof(Tpm2PcrValue));

        in = input_for(q, &k, nonce1, sizeof(nonce1), &sel);
        assert_int_equal(attest_quote_verify(&in, &res), 0);
        assert_int_equal(res.reason, ATTEST_QUOTE_OK);
        assert_string_equal(res.message, "");
        assert_int_equal(res.hash_alg, TPM2_ALG_SHA256);
        assert_true(res.safe);
        assert_true(res.firmware_version != 0);
        maybe_capture(prefix, q, &k);

        /* A later quote: the clock moves forward, the reset and restart counts stay (the caller's
         * monotonicity check has what it needs). */
        assert_int_equal(tpm2_quote(c, k.handle, nonce2, sizeof(nonce2), &sel, &q2), 0);
        in = input_for(q2, &k, nonce2, sizeof(nonce2), &sel);
        assert_int_equal(attest_quote_verify(&in, &res2), 0);
        assert_true(res2.clock >= res.clock);
        assert_int_equal(res2.reset_count, res.reset_count);
        assert_int_equal(res2.restart_count, res.restart_count);

        tpm2_flush(c, &k.handle);
        assert_no_leaks(c);
}

static void test_quote_ecc(void **state) {
        quote_verifies(TPM2_ALG_ECC, "ecc");
}

static void test_quote_rsa(void **state) {
        quote_verifies(TPM2_ALG_RSA, "rsa");
}

/* The attack tests run with both key types; each gets a fresh quote from an AK. */
typedef struct Fixture {
        Tpm2Context *c;
        Key ak;
        Tpm2Quote *q;
        TPML_PCR_SELECTION sel;
} Fixture;

static void fixture_init(Fixture *f, TPM2_ALG_ID type) {
        *f = (Fixture){ .c = open_tpm(), .sel = std_selection() };
        f->ak = create_key(f->c, type, true, 0);
        assert_int_equal(tpm2_quote(f->c, f->ak.handle, nonce1, sizeof(nonce1), &f->sel, &f->q), 0);
}

static void fixture_done(Fixture *f) {
        f->q = tpm2_quote_free(f->q);
        tpm2_flush(f->c, &f->ak.handle);
        assert_no_leaks(f->c);
        f->c = tpm2_context_free(f->c);
}

#define FOR_BOTH_KEYS(f)                                                                         \
        for (TPM2_ALG_ID _t = TPM2_ALG_RSA; _t != 0; _t = _t == TPM2_ALG_RSA ? TPM2_ALG_ECC : 0) \
                for (Fixture f, *_once = (fixture_init(&f, _t), &f); _once; fixture_done(&f), _once = NULL)

static void test_wrong_nonce(void **state) {
        FOR_BOTH_KEYS(f) {
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce2, sizeof(nonce2), &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_NONCE_MISMATCH, "nonce mismatch"), -ESTALE);

                /* A prefix of the right nonce is not the nonce either. */
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1) - 1, &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_NONCE_MISMATCH, NULL), -ESTALE);
        }
}

/* The verifier issued nonce2 for this round; the attacker answers with the old quote over nonce1. */
static void test_replayed_quote(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_(tpm2_quote_freep) Tpm2Quote *fresh = NULL;
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);

                assert_int_equal(verify(&in, ATTEST_QUOTE_OK, NULL), 0);
                in = input_for(f.q, &f.ak, nonce2, sizeof(nonce2), &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_NONCE_MISMATCH, NULL), -ESTALE);

                assert_int_equal(tpm2_quote(f.c, f.ak.handle, nonce2, sizeof(nonce2), &f.sel, &fresh), 0);
                in = input_for(fresh, &f.ak, nonce2, sizeof(nonce2), &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_OK, NULL), 0);
        }
}

/* A quote made by the TPM over an 8-byte nonce: genuine, signed, and still refused. */
static void test_short_nonce(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_(esys_freep) TPM2B_ATTEST *attest = NULL;
                _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
                _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
                TPM2B_DATA shortn = { .size = 8, .buffer = "12345678" };
                TPMT_SIG_SCHEME null_scheme = { .scheme = TPM2_ALG_NULL };
                uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
                size_t off = 0;
                AttestQuoteInput in;

                assert_int_equal(tpm2_quote(f.c, f.ak.handle, "12345678", 8, &f.sel, &q), -EINVAL);
                assert_null(q);

                assert_int_equal(Esys_Quote(tpm2_context_esys(f.c), f.ak.handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &shortn, &null_scheme, &f.sel, &attest, &sig),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &off),
                                 TSS2_RC_SUCCESS);
                in = input_for(f.q, &f.ak, "12345678", 8, &f.sel);
                in.attest = attest->attestationData;
                in.attest_size = attest->size;
                in.signature = sigbuf;
                in.signature_size = off;
                assert_int_equal(verify(&in, ATTEST_QUOTE_NONCE_TOO_SHORT, "too short"), -EMSGSIZE);
        }
}

static void test_selection_differs(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_(tpm2_quote_freep) Tpm2Quote *subset = NULL, *other = NULL;
                _cleanup_(esys_freep) TPM2B_ATTEST *attest = NULL;
                _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
                TPML_PCR_SELECTION s_subset = one_bank(TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7));
                TPML_PCR_SELECTION s_other = std_selection(), empty = {}, req;
                TPMT_SIG_SCHEME null_scheme = { .scheme = TPM2_ALG_NULL };
                TPM2B_DATA qd = { .size = sizeof(nonce1) };
                uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
                size_t off = 0;
                AttestQuoteInput in;

                /* Subset: the sha1 bank left out of the quote. */
                assert_int_equal(tpm2_quote(f.c, f.ak.handle, nonce1, sizeof(nonce1), &s_subset, &subset), 0);
                in = input_for(subset, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_SELECTION_MISMATCH,
                                        "PCR selection differs from the one requested"),
                                 -ERANGE);

                /* Other bank: the same PCRs in sha1 instead of sha256. */
                s_other.pcrSelections[0].hash = TPM2_ALG_SHA1;
                s_other.count = 1;
                assert_int_equal(tpm2_quote(f.c, f.ak.handle, nonce1, sizeof(nonce1), &s_other, &other), 0);
                req = one_bank(TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7));
                in = input_for(other, &f.ak, nonce1, sizeof(nonce1), &req);
                assert_int_equal(verify(&in, ATTEST_QUOTE_SELECTION_MISMATCH, NULL), -ERANGE);

                /* A superset of what was asked is not what was asked either. */
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &req);
                assert_int_equal(verify(&in, ATTEST_QUOTE_SELECTION_MISMATCH, NULL), -ERANGE);

                /* Empty: the TPM quotes no PCR at all (tpm2_quote refuses to ask for that). */
                assert_int_equal(tpm2_quote(f.c, f.ak.handle, nonce1, sizeof(nonce1), &empty, &other),
                                 -EINVAL);
                memcpy(qd.buffer, nonce1, sizeof(nonce1));
                assert_int_equal(Esys_Quote(tpm2_context_esys(f.c), f.ak.handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &qd, &null_scheme, &empty, &attest, &sig),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &off),
                                 TSS2_RC_SUCCESS);
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.attest = attest->attestationData;
                in.attest_size = attest->size;
                in.signature = sigbuf;
                in.signature_size = off;
                in.n_pcr_values = 0;
                assert_int_equal(verify(&in, ATTEST_QUOTE_SELECTION_MISMATCH, "(none)"), -ERANGE);
        }
}

static void test_wrong_pcr_value(void **state) {
        FOR_BOTH_KEYS(f) {
                Tpm2PcrValue v[4];
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);

                assert_int_equal(f.q->n_pcr_values, 4);
                memcpy(v, f.q->pcr_values, sizeof(v));
                v[2].digest[5] ^= 0x01;
                in.pcr_values = v;
                assert_int_equal(verify(&in, ATTEST_QUOTE_PCR_DIGEST_MISMATCH,
                                        "PCR digest does not match the supplied PCR values"),
                                 -EILSEQ);

                /* Values in another order are fine: they are matched by (bank, index). */
                memcpy(v, f.q->pcr_values, sizeof(v));
                v[0] = f.q->pcr_values[3];
                v[3] = f.q->pcr_values[0];
                assert_int_equal(verify(&in, ATTEST_QUOTE_OK, NULL), 0);

                /* A value missing, or one too many. */
                in.n_pcr_values = 3;
                assert_int_equal(verify(&in, ATTEST_QUOTE_PCR_VALUES_INVALID, "no value supplied"), -ENODATA);
        }
}

static void test_pcr_extended_after_quote(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_free_ Tpm2PcrValue *v256 = NULL, *v1 = NULL;
                Tpm2PcrValue later[4];
                size_t n256, n1;
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);

                extend(f.c, 7, TPM2_ALG_SHA256, 0xAA);
                assert_int_equal(
                        tpm2_pcr_read(f.c, TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7), &v256, &n256),
                        0);
                assert_int_equal(tpm2_pcr_read(f.c, TPM2_ALG_SHA1, 1U << 0, &v1, &n1), 0);
                memcpy(later, v256, 3 * sizeof(Tpm2PcrValue));
                later[3] = v1[0];
                assert_memory_not_equal(later[2].digest, f.q->pcr_values[2].digest, 32);

                in.pcr_values = later;
                assert_int_equal(verify(&in, ATTEST_QUOTE_PCR_DIGEST_MISMATCH, NULL), -EILSEQ);
        }
}

/* GHSA-x5j2-26fc-hhc3: a real TPM2_Certify by the same AK, over the same nonce, handed in as a quote. */
static void test_certify_is_not_a_quote(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_(esys_freep) TPM2B_ATTEST *attest = NULL;
                _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
                TPMT_SIG_SCHEME null_scheme = { .scheme = TPM2_ALG_NULL };
                TPM2B_DATA qd = { .size = sizeof(nonce1) };
                uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
                size_t off = 0;
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);

                memcpy(qd.buffer, nonce1, sizeof(nonce1));
                assert_int_equal(Esys_Certify(tpm2_context_esys(f.c), f.ak.handle, f.ak.handle,
                                              ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, &qd,
                                              &null_scheme, &attest, &sig),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &off),
                                 TSS2_RC_SUCCESS);
                in.attest = attest->attestationData;
                in.attest_size = attest->size;
                in.signature = sigbuf;
                in.signature_size = off;
                assert_int_equal(
                        verify(&in, ATTEST_QUOTE_WRONG_TYPE, "not a quote (type 0x8017 ATTEST_CERTIFY)"),
                        -EPROTOTYPE);
        }
}

/* A software P-256 key posing as an AK, and an ECDSA-SHA256 TPMT_SIGNATURE made with it. */
static EVP_PKEY *soft_key(TPM2B_PUBLIC *ret_pub, TPMA_OBJECT attrs) {
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

        assert_non_null(pkey);
        assert_int_equal(EVP_PKEY_get_bn_param(pkey, "qx", &x), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(pkey, "qy", &y), 1);
        *ret_pub = (TPM2B_PUBLIC) {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = attrs,
                        .parameters.eccDetail = {
                                .symmetric.algorithm = TPM2_ALG_NULL,
                                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                        .unique.ecc = { .x.size = 32, .y.size = 32 },
                },
        };
        assert_int_equal(BN_bn2binpad(x, ret_pub->publicArea.unique.ecc.x.buffer, 32), 32);
        assert_int_equal(BN_bn2binpad(y, ret_pub->publicArea.unique.ecc.y.buffer, 32), 32);
        return pkey;
}

static size_t soft_sign(EVP_PKEY *pkey, const uint8_t *data, size_t n, uint8_t *ret, size_t ret_size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t der[128];
        const uint8_t *p = der;
        size_t dlen = sizeof(der), off = 0;
        ECDSA_SIG *es;
        TPMT_SIGNATURE sig = { .sigAlg = TPM2_ALG_ECDSA, .signature.ecdsa.hash = TPM2_ALG_SHA256 };

        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
        assert_int_equal(EVP_DigestSign(ctx, der, &dlen, data, n), 1);
        es = d2i_ECDSA_SIG(NULL, &p, (long) dlen);
        assert_non_null(es);
        sig.signature.ecdsa.signatureR.size = 32;
        sig.signature.ecdsa.signatureS.size = 32;
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32), 32);
        ECDSA_SIG_free(es);
        assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, ret, ret_size, &off), TSS2_RC_SUCCESS);
        return off;
}

/* CVE-2024-29038/29040: a validly signed attest whose magic is not TPM_GENERATED_VALUE. */
static void test_bad_magic(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *soft = NULL;
                _cleanup_free_ uint8_t *forged = NULL;
                uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
                TPM2B_PUBLIC soft_pub;
                AttestQuoteInput in;
                size_t n;

                forged = malloc(f.q->attest_size);
                assert_non_null(forged);
                memcpy(forged, f.q->attest, f.q->attest_size);
                forged[3] ^= 0x01; /* 0xff544347 -> 0xff544346 */

                /* Signed by a key whose public area claims to be an AK: the magic check catches it. */
                soft = soft_key(&soft_pub, AK_ATTRS);
                n = soft_sign(soft, forged, f.q->attest_size, sigbuf, sizeof(sigbuf));
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.attest = forged;
                in.signature = sigbuf;
                in.signature_size = n;
                in.ak_public = &soft_pub;
                assert_int_equal(verify(&in, ATTEST_QUOTE_BAD_MAGIC, "bad magic 0xff544346"), -EPROTO);

                /* The same key declared honestly (not restricted): refused before anything is parsed. */
                soft_pub.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
                assert_int_equal(
                        verify(&in, ATTEST_QUOTE_AK_NOT_RESTRICTED, "AK is not a restricted signing key"),
                        -EPERM);

                /* Unmodified magic, same software signature: still not our AK's signature. */
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.signature = sigbuf;
                in.signature_size = soft_sign(soft, f.q->attest, f.q->attest_size, sigbuf, sizeof(sigbuf));
                assert_int_equal(verify(&in,
                                        f.ak.pub.publicArea.type == TPM2_ALG_ECC
                                                ? ATTEST_QUOTE_SIGNATURE_INVALID
                                                : ATTEST_QUOTE_SIGNATURE_SCHEME,
                                        NULL),
                                 f.ak.pub.publicArea.type == TPM2_ALG_ECC ? -EKEYREJECTED : -EPROTONOSUPPORT);
        }
}

static void test_signature_by_another_key(void **state) {
        FOR_BOTH_KEYS(f) {
                Key other = create_key(f.c, f.ak.pub.publicArea.type, true, 1);
                _cleanup_free_ uint8_t *sig = NULL;
                AttestQuoteInput in = input_for(f.q, &other, nonce1, sizeof(nonce1), &f.sel);

                assert_memory_not_equal(&other.pub, &f.ak.pub, sizeof(TPM2B_PUBLIC));
                assert_int_equal(
                        verify(&in, ATTEST_QUOTE_SIGNATURE_INVALID, "signature does not verify with the AK"),
                        -EKEYREJECTED);
                tpm2_flush(f.c, &other.handle);

                /* One flipped bit in the signature (its last byte: inside s or the RSA signature). */
                sig = malloc(f.q->signature_size);
                assert_non_null(sig);
                memcpy(sig, f.q->signature, f.q->signature_size);
                sig[f.q->signature_size - 1] ^= 0x01;
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.signature = sig;
                assert_int_equal(verify(&in, ATTEST_QUOTE_SIGNATURE_INVALID, NULL), -EKEYREJECTED);
        }
}

/* A genuine TPM quote by a non-restricted key, and a forged TPMS_ATTEST (right magic, right nonce, PCR
 * digest of our choice) that such a key signs with TPM2_Sign: both refused because of the key. */
static void test_ak_not_restricted(void **state) {
        FOR_BOTH_KEYS(f) {
                Key loose = create_key(f.c, f.ak.pub.publicArea.type, false, 2);
                _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
                _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
                TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
                TPMT_SIG_SCHEME null_scheme = { .scheme = TPM2_ALG_NULL };
                TPM2B_DIGEST digest = { .size = 32 };
                uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
                size_t off = 0;
                AttestQuoteInput in;

                assert_int_equal(tpm2_quote(f.c, loose.handle, nonce1, sizeof(nonce1), &f.sel, &q), 0);
                in = input_for(q, &loose, nonce1, sizeof(nonce1), &f.sel);
                assert_int_equal(verify(&in, ATTEST_QUOTE_AK_NOT_RESTRICTED, NULL), -EPERM);

                /* The forged attest: the AK's real quote bytes, signed by the loose key. */
                assert_int_equal(
                        EVP_Digest(f.q->attest, f.q->attest_size, digest.buffer, NULL, EVP_sha256(), NULL), 1);
                assert_int_equal(Esys_Sign(tpm2_context_esys(f.c), loose.handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                           ESYS_TR_NONE, &digest, &null_scheme, &no_ticket, &sig),
                                 TSS2_RC_SUCCESS);
                assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &off),
                                 TSS2_RC_SUCCESS);
                in = input_for(f.q, &loose, nonce1, sizeof(nonce1), &f.sel);
                in.signature = sigbuf;
                in.signature_size = off;
                assert_int_equal(verify(&in, ATTEST_QUOTE_AK_NOT_RESTRICTED, NULL), -EPERM);

                /* The control: with the restricted bit set in the public area it would verify. This is
                 * why the attribute check, not the signature, is what refuses it. */
                loose.pub.publicArea.objectAttributes |= TPMA_OBJECT_RESTRICTED;
                assert_int_equal(verify(&in, ATTEST_QUOTE_OK, NULL), 0);

                tpm2_flush(f.c, &loose.handle);
        }
}

static void test_trailing_bytes(void **state) {
        FOR_BOTH_KEYS(f) {
                _cleanup_free_ uint8_t *a = malloc(f.q->attest_size + 1), *s = malloc(f.q->signature_size + 1);
                AttestQuoteInput in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);

                assert_non_null(a);
                assert_non_null(s);
                memcpy(a, f.q->attest, f.q->attest_size);
                a[f.q->attest_size] = 0;
                memcpy(s, f.q->signature, f.q->signature_size);
                s[f.q->signature_size] = 0;

                in.attest = a;
                in.attest_size = f.q->attest_size + 1;
                assert_int_equal(verify(&in, ATTEST_QUOTE_TRAILING_BYTES, "1 trailing bytes after TPMS_ATTEST"),
                                 -EOVERFLOW);
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.signature = s;
                in.signature_size = f.q->signature_size + 1;
                assert_int_equal(verify(&in, ATTEST_QUOTE_TRAILING_BYTES, "after TPMT_SIGNATURE"), -EOVERFLOW);

                /* One byte short does not parse at all. */
                in = input_for(f.q, &f.ak, nonce1, sizeof(nonce1), &f.sel);
                in.attest_size--;
                assert_int_equal(verify(&in, ATTEST_QUOTE_MALFORMED, NULL), -EBADMSG);
        }
}

/* Attestation relay: the nonce bound to connection A does not verify a quote on connection B. */
static void test_relay_to_other_channel(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
        Key k = create_key(c, TPM2_ALG_ECC, true, 0);
        TPML_PCR_SELECTION sel = std_selection();
        uint8_t server[32], na[32], nb[32];
        TPM2B_NAME name;
        AttestQuoteInput in;

        assert_int_equal(attest_nonce_generate(server, sizeof(server)), 0);
        assert_int_equal(tpm2_public_name(&k.pub, &name), 0);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "tls-exporter-A", 14, &name, na), 0);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "tls-exporter-B", 14, &name, nb), 0);

        assert_int_equal(tpm2_quote(c, k.handle, na, sizeof(na), &sel, &q), 0);
        in = input_for(q, &k, na, sizeof(na), &sel);
        assert_int_equal(verify(&in, ATTEST_QUOTE_OK, NULL), 0);
        in = input_for(q, &k, nb, sizeof(nb), &sel);
        assert_int_equal(verify(&in, ATTEST_QUOTE_NONCE_MISMATCH, NULL), -ESTALE);

        tpm2_flush(c, &k.handle);
        assert_no_leaks(c);
}

static void test_quote_bad_requests(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
        Key k = create_key(c, TPM2_ALG_ECC, true, 0);
        TPML_PCR_SELECTION sel = std_selection();
        uint8_t big[TPM2_QUOTE_NONCE_MAX + 1] = {};

        assert_int_equal(tpm2_quote(c, k.handle, big, sizeof(big), &sel, &q), -EINVAL);
        assert_int_equal(tpm2_quote(c, k.handle, big, sizeof(big) - 1, &sel, &q), 0);
        q = tpm2_quote_free(q);

        /* sm3_256 is not an active bank on swtpm. */
        sel.pcrSelections[1].hash = TPM2_ALG_SM3_256;
        assert_int_equal(tpm2_quote(c, k.handle, nonce1, sizeof(nonce1), &sel, &q), -EOPNOTSUPP);
        assert_null(q);

        tpm2_flush(c, &k.handle);
        assert_no_leaks(c);
}

/* A TPM reset without TPM2_Shutdown (the "TPM reset" and S3 attacks of ATTACKS b-2) through swtpm's
 * control channel, then TPM2_Startup(CLEAR) as firmware would send it. */
static void swtpm_reset(void) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_free_ char *ctrl = NULL;
        const char *tcti = getenv("TRUSTED_PLATFORM_TCTI");
        int status;
        pid_t pid;
        TSS2_RC rc;

        assert_non_null(tcti);
        assert_true(strncmp(tcti, "swtpm:path=", 11) == 0);
        assert_true(asprintf(&ctrl, "%s.ctrl", tcti + 11) > 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execlp("swtpm_ioctl", "swtpm_ioctl", "--unix", ctrl, "-i", (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        c = open_tpm();
        rc = Esys_Startup(tpm2_context_esys(c), TPM2_SU_CLEAR);
        assert_true(rc == TSS2_RC_SUCCESS || rc == TPM2_RC_INITIALIZE);
}

/* After a reset an attacker replays the good measurements into the fresh PCRs: the quote verifies
 * and carries the same PCR values, and only resetCount tells (the verifier's policy must flag it). */
static void test_reset_and_replay_is_visible(void **state) {
        _cleanup_(tpm2_quote_freep) Tpm2Quote *before = NULL, *after = NULL;
        TPML_PCR_SELECTION sel = std_selection();
        AttestQuoteResult r1, r2;
        AttestQuoteInput in;

        for (unsigned round = 0; round < 2; round++) {
                _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
                Key k;

                swtpm_reset();
                c = open_tpm();
                assert_int_equal(setup(NULL), 0);
                k = create_key(c, TPM2_ALG_ECC, true, 0);
                assert_int_equal(tpm2_quote(c, k.handle, round == 0 ? nonce1 : nonce2, 32, &sel,
                                            round == 0 ? &before : &after),
                                 0);
                in = input_for(round == 0 ? before : after, &k, round == 0 ? nonce1 : nonce2, 32, &sel);
                assert_int_equal(attest_quote_verify(&in, round == 0 ? &r1 : &r2), 0);
                tpm2_flush(c, &k.handle);
                assert_no_leaks(c);
        }

        assert_int_equal(before->n_pcr_values, after->n_pcr_values);
        assert_memory_equal(before->pcr_values, after->pcr_values,
                            before->n_pcr_values * sizeof(Tpm2PcrValue));
        assert_int_equal(r2.reset_count, r1.reset_count + 1);
        /* Without an orderly TPM2_Shutdown the clock restarts from its last value saved in NV (it may
         * go back) and "safe" is NO: both visible to the caller. */
        assert_false(r2.safe);
        assert_int_equal(r2.restart_count, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quote_ecc),
                cmocka_unit_test(test_quote_rsa),
                cmocka_unit_test(test_wrong_nonce),
                cmocka_unit_test(test_replayed_quote),
                cmocka_unit_test(test_short_nonce),
                cmocka_unit_test(test_selection_differs),
                cmocka_unit_test(test_wrong_pcr_value),
                cmocka_unit_test(test_pcr_extended_after_quote),
                cmocka_unit_test(test_certify_is_not_a_quote),
                cmocka_unit_test(test_bad_magic),
                cmocka_unit_test(test_signature_by_another_key),
                cmocka_unit_test(test_ak_not_restricted),
                cmocka_unit_test(test_trailing_bytes),
                cmocka_unit_test(test_relay_to_other_channel),
                cmocka_unit_test(test_quote_bad_requests),
                /* Last: it resets the TPM. */
                cmocka_unit_test(test_reset_and_replay_is_visible),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, setup, NULL);
}
