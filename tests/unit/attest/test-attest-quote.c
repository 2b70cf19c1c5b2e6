/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attest_quote_verify() without a TPM, on quotes captured from swtpm (vectors/README): the genuine
 * ones verify, and each check refuses its own mutation with its own reason and errno. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <tss2/tss2_mu.h>

#include "attest/attest-quote.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-quote.h"

typedef struct Vector {
        char *attest;
        size_t attest_size;
        char *signature;
        size_t signature_size;
        TPM2B_PUBLIC ak;
        char *nonce;
        size_t nonce_size;
        Tpm2PcrValue *pcrs;
        size_t n_pcrs;
        TPML_PCR_SELECTION sel;
} Vector;

static char *read_vector(const char *alg, const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_true(asprintf(&path, "%s/tests/unit/attest/vectors/%s-%s", getenv("PROJECT_SOURCE_ROOT"), alg,
                             name) > 0);
        assert_int_equal(read_full_file(path, 1 << 20, &data, ret_size), 0);
        return data;
}

static void vector_load(Vector *v, const char *alg) {
        static const Tpm2PcrBankMask banks[] = {
                { TPM2_ALG_SHA256, (1U << 0) | (1U << 1) | (1U << 7) },
                { TPM2_ALG_SHA1, 1U << 0 },
        };
        _cleanup_free_ char *pub = NULL, *pcrs = NULL;
        size_t n, off = 0;

        *v = (Vector){};
        v->attest = read_vector(alg, "attest.bin", &v->attest_size);
        v->signature = read_vector(alg, "signature.bin", &v->signature_size);
        v->nonce = read_vector(alg, "nonce.bin", &v->nonce_size);
        pub = read_vector(alg, "ak.pub", &n);
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal((uint8_t *) pub, n, &off, &v->ak), TSS2_RC_SUCCESS);
        assert_int_equal(off, n);
        pcrs = read_vector(alg, "pcrs.txt", &n);
        assert_int_equal(attest_pcr_values_parse(pcrs, &v->pcrs, &v->n_pcrs), 0);
        assert_int_equal(v->n_pcrs, 4);
        assert_int_equal(tpm2_pcr_selection_from_masks(banks, ELEMENTSOF(banks), &v->sel), 0);
}

static void vector_done(Vector *v) {
        free(v->attest);
        free(v->signature);
        free(v->nonce);
        free(v->pcrs);
}

static AttestQuoteInput input(const Vector *v) {
        return (AttestQuoteInput){
                .attest = v->attest,
                .attest_size = v->attest_size,
                .signature = v->signature,
                .signature_size = v->signature_size,
                .ak_public = &v->ak,
                .nonce = v->nonce,
                .nonce_size = v->nonce_size,
                .selection = &v->sel,
                .pcr_values = v->pcrs,
                .n_pcr_values = v->n_pcrs,
        };
}

/* Expects reason and errno, and that the errno is the one this reason always gives. */
static void expect(const AttestQuoteInput *in, AttestQuoteReason reason, int err, const char *message) {
        AttestQuoteResult res;
        int r = attest_quote_verify(in, &res);

        if (res.reason != reason || r != err)
                fail_msg("expected %s/%d, got %s/%d: %s", attest_quote_reason_to_string(reason), err,
                         attest_quote_reason_to_string(res.reason), r, res.message);
        if (message && !strstr(res.message, message))
                fail_msg("message '%s' lacks '%s'", res.message, message);
        if (reason != ATTEST_QUOTE_OK)
                assert_true(strlen(res.message) > 0);
}

#define FOR_EACH_VECTOR(v)                                                                   \
        for (const char *const *_a = (const char *const[]){ "ecc", "rsa", NULL }; *_a; _a++) \
                for (Vector v, *_once = (vector_load(&v, *_a), &v); _once; vector_done(&v), _once = NULL)

static void test_vectors_verify(void **state) {
        FOR_EACH_VECTOR(v) {
                AttestQuoteInput in = input(&v);
                AttestQuoteResult res;

                assert_int_equal(attest_quote_verify(&in, &res), 0);
                assert_int_equal(res.reason, ATTEST_QUOTE_OK);
                assert_int_equal(res.hash_alg, TPM2_ALG_SHA256);
                assert_true(res.safe);
                /* As captured (vectors/README): a fresh swtpm counts one reset, no restart. */
                assert_int_equal(res.reset_count, 1);
                assert_int_equal(res.restart_count, 0);
                assert_true(res.clock > 0);
                assert_true(res.firmware_version != 0);
                /* qualifiedSigner of a primary: nameAlg(2) + sha256 digest. */
                assert_int_equal(res.qualified_signer.size, 34);
        }
}

static void test_bad_input(void **state) {
        FOR_EACH_VECTOR(v) {
                TPML_PCR_SELECTION empty = {}, dup;
                AttestQuoteInput in = input(&v);
                AttestQuoteResult res;

                in.ak_public = NULL;
                expect(&in, ATTEST_QUOTE_INVALID_INPUT, -EINVAL, "incomplete input");
                in = input(&v);
                in.selection = &empty;
                expect(&in, ATTEST_QUOTE_INVALID_INPUT, -EINVAL, "selection is empty");
                dup = v.sel;
                dup.pcrSelections[1].hash = TPM2_ALG_SHA256;
                in.selection = &dup;
                expect(&in, ATTEST_QUOTE_INVALID_INPUT, -EINVAL, NULL);
                assert_int_equal(attest_quote_verify(NULL, &res), -EINVAL);
        }
}

static void test_nonce(void **state) {
        FOR_EACH_VECTOR(v) {
                AttestQuoteInput in = input(&v);
                char other[32];

                in.nonce_size = 15;
                expect(&in, ATTEST_QUOTE_NONCE_TOO_SHORT, -EMSGSIZE, "too short");
                in.nonce_size = 0;
                in.nonce = NULL;
                expect(&in, ATTEST_QUOTE_NONCE_TOO_SHORT, -EMSGSIZE, NULL);

                memcpy(other, v.nonce, sizeof(other));
                other[31] ^= 0x80;
                in = input(&v);
                in.nonce = other;
                expect(&in, ATTEST_QUOTE_NONCE_MISMATCH, -ESTALE, "nonce mismatch");
                in.nonce = v.nonce;
                in.nonce_size = 16;
                expect(&in, ATTEST_QUOTE_NONCE_MISMATCH, -ESTALE, NULL);
        }
}

static void test_ak_attributes(void **state) {
        static const TPMA_OBJECT required[] = {
                TPMA_OBJECT_RESTRICTED,  TPMA_OBJECT_SIGN_ENCRYPT,        TPMA_OBJECT_FIXEDTPM,
                TPMA_OBJECT_FIXEDPARENT, TPMA_OBJECT_SENSITIVEDATAORIGIN,
        };

        FOR_EACH_VECTOR(v) {
                TPM2B_PUBLIC ak = v.ak;
                AttestQuoteInput in = input(&v);

                in.ak_public = &ak;
                for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                        ak.publicArea.objectAttributes = v.ak.publicArea.objectAttributes & ~required[i];
                        expect(&in, ATTEST_QUOTE_AK_NOT_RESTRICTED, -EPERM,
                               "AK is not a restricted signing key");
                }
                ak.publicArea.objectAttributes = v.ak.publicArea.objectAttributes | TPMA_OBJECT_DECRYPT;
                expect(&in, ATTEST_QUOTE_AK_NOT_RESTRICTED, -EPERM, NULL);

                ak = v.ak;
                ak.publicArea.type = TPM2_ALG_KEYEDHASH;
                expect(&in, ATTEST_QUOTE_AK_UNSUPPORTED, -EOPNOTSUPP, NULL);

                /* A public key OpenSSL refuses: an ECC point off the curve, an RSA modulus of the wrong size. */
                ak = v.ak;
                if (ak.publicArea.type == TPM2_ALG_ECC)
                        ak.publicArea.unique.ecc.y.buffer[31] ^= 0x01;
                else
                        ak.publicArea.unique.rsa.size--;
                expect(&in, ATTEST_QUOTE_AK_UNSUPPORTED, -EOPNOTSUPP, "not usable");
        }
}

static void test_structure(void **state) {
        FOR_EACH_VECTOR(v) {
                _cleanup_free_ char *a = malloc(v.attest_size + 4);
                AttestQuoteInput in = input(&v);

                assert_non_null(a);
                memcpy(a, v.attest, v.attest_size);
                memset(a + v.attest_size, 0, 4);
                in.attest = a;
                in.attest_size = v.attest_size + 4;
                expect(&in, ATTEST_QUOTE_TRAILING_BYTES, -EOVERFLOW, "4 trailing bytes after TPMS_ATTEST");
                for (size_t n = 0; n < v.attest_size; n++) {
                        in.attest_size = n;
                        expect(&in, ATTEST_QUOTE_MALFORMED, -EBADMSG, "does not parse");
                }

                in = input(&v);
                in.signature_size--;
                expect(&in, ATTEST_QUOTE_MALFORMED, -EBADMSG, "TPMT_SIGNATURE");
        }
}

static void test_magic_and_type(void **state) {
        FOR_EACH_VECTOR(v) {
                AttestQuoteInput in = input(&v);

                v.attest[0] = 0x00;
                expect(&in, ATTEST_QUOTE_BAD_MAGIC, -EPROTO, "bad magic 0x00544347");
                v.attest[0] = (char) 0xff;

                /* Other attest types whose bodies parse: re-marshalled with tss2-mu. */
                for (size_t i = 0; i < 3; i++) {
                        static const uint16_t types[] = { TPM2_ST_ATTEST_CERTIFY, TPM2_ST_ATTEST_NV,
                                                          TPM2_ST_ATTEST_TIME };
                        static const char *const names[] = { "type 0x8017 ATTEST_CERTIFY",
                                                             "type 0x8014 ATTEST_NV",
                                                             "type 0x8019 ATTEST_TIME" };
                        uint8_t buf[sizeof(TPMS_ATTEST)];
                        TPMS_ATTEST a = {};
                        size_t off = 0;

                        assert_int_equal(
                                Tss2_MU_TPMS_ATTEST_Unmarshal((uint8_t *) v.attest, v.attest_size, &off, &a),
                                TSS2_RC_SUCCESS);
                        a.type = types[i];
                        memset(&a.attested, 0, sizeof(a.attested));
                        off = 0;
                        assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, sizeof(buf), &off),
                                         TSS2_RC_SUCCESS);
                        in.attest = buf;
                        in.attest_size = off;
                        expect(&in, ATTEST_QUOTE_WRONG_TYPE, -EPROTOTYPE, names[i]);
                }
                in = input(&v);

                /* A quote type byte on another body does not parse as that body. */
                v.attest[4] = (char) 0x80;
                v.attest[5] = 0x17;
                expect(&in, ATTEST_QUOTE_TRAILING_BYTES, -EOVERFLOW, NULL);
                v.attest[5] = 0x18;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);
        }
}

/* Rewrites the quoted selection inside the attest (it sits right after the fixed header). */
static void test_selection(void **state) {
        FOR_EACH_VECTOR(v) {
                TPML_PCR_SELECTION sub = v.sel, reordered = {}, with_empty = v.sel;
                AttestQuoteInput in = input(&v);

                /* Requested subset of what was quoted. */
                sub.count = 1;
                in.selection = &sub;
                expect(&in, ATTEST_QUOTE_SELECTION_MISMATCH, -ERANGE,
                       "PCR selection differs from the one requested");

                /* One PCR more requested than quoted. */
                sub = v.sel;
                sub.pcrSelections[0].pcrSelect[2] |= 0x01;
                expect(&in, ATTEST_QUOTE_SELECTION_MISMATCH, -ERANGE, NULL);

                /* The same set in another order, and with an empty bank added: normalised, equal. */
                reordered.count = 2;
                reordered.pcrSelections[0] = v.sel.pcrSelections[1];
                reordered.pcrSelections[1] = v.sel.pcrSelections[0];
                in.selection = &reordered;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);
                with_empty.count = 3;
                with_empty.pcrSelections[2] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA384,
                                                                    .sizeofSelect = 3 };
                in.selection = &with_empty;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);
        }
}

static void test_pcr_values(void **state) {
        FOR_EACH_VECTOR(v) {
                Tpm2PcrValue vals[5];
                AttestQuoteInput in = input(&v);

                in.pcr_values = vals;
                memcpy(vals, v.pcrs, 4 * sizeof(Tpm2PcrValue));
                vals[1].digest[0] ^= 0x01;
                expect(&in, ATTEST_QUOTE_PCR_DIGEST_MISMATCH, -EILSEQ,
                       "PCR digest does not match the supplied PCR values");

                memcpy(vals, v.pcrs, 4 * sizeof(Tpm2PcrValue));
                vals[4] = vals[0];
                in.n_pcr_values = 5;
                expect(&in, ATTEST_QUOTE_PCR_VALUES_INVALID, -ENODATA, "supplied twice");
                vals[4].index = 9;
                expect(&in, ATTEST_QUOTE_PCR_VALUES_INVALID, -ENODATA, "5 PCR values supplied for 4");
                in.n_pcr_values = 4;
                vals[3].size = 32; /* a sha1 PCR with a sha256-sized value */
                expect(&in, ATTEST_QUOTE_PCR_VALUES_INVALID, -ENODATA, "bank's digests 20");
                vals[3].size = 20;
                vals[3].bank = TPM2_ALG_SHA256;
                vals[3].index = 0;
                expect(&in, ATTEST_QUOTE_PCR_VALUES_INVALID, -ENODATA, NULL);
        }
}

static void test_signature(void **state) {
        FOR_EACH_VECTOR(v) {
                TPM2B_PUBLIC ak = v.ak;
                AttestQuoteInput in = input(&v);

                /* Every single bit of the signature's value matters (the last 64 bytes hold s, or the
                 * end of the RSA signature). */
                for (size_t i = v.signature_size - 64; i < v.signature_size; i += 7) {
                        v.signature[i] ^= 0x10;
                        expect(&in, ATTEST_QUOTE_SIGNATURE_INVALID, -EKEYREJECTED,
                               "signature does not verify with the AK");
                        v.signature[i] ^= 0x10;
                }
                /* A bit of the signed attest outside every checked field (clock). */
                v.attest[v.attest_size - 60] ^= 0x01;
                expect(&in, ATTEST_QUOTE_SIGNATURE_INVALID, -EKEYREJECTED, NULL);
                v.attest[v.attest_size - 60] ^= 0x01;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);

                /* The signature's hash is not the AK's scheme hash (sigAlg, then hash, big endian). */
                v.signature[3] = 0x0C; /* sha384 */
                expect(&in, ATTEST_QUOTE_SIGNATURE_SCHEME, -EPROTONOSUPPORT, "is not the AK's");
                v.signature[3] = 0x0B;

                /* An AK without a scheme of its own accepts the TPM's signature... */
                in.ak_public = &ak;
                if (ak.publicArea.type == TPM2_ALG_ECC)
                        ak.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                else
                        ak.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);
                /* ...but not a scheme of the other key type. */
                {
                        TPMT_SIGNATURE other = { .sigAlg = ak.publicArea.type == TPM2_ALG_ECC
                                                         ? TPM2_ALG_RSASSA
                                                         : TPM2_ALG_ECDSA };
                        uint8_t buf[sizeof(TPMT_SIGNATURE)];
                        size_t off = 0;

                        /* The hash sits at the same place in every scheme's signature. */
                        other.signature.rsassa.hash = TPM2_ALG_SHA256;
                        other.signature.rsassa.sig.size = 1;
                        assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&other, buf, sizeof(buf), &off),
                                         TSS2_RC_SUCCESS);
                        in.signature = buf;
                        in.signature_size = off;
                        expect(&in, ATTEST_QUOTE_SIGNATURE_SCHEME, -EPROTONOSUPPORT,
                               "not supported for this AK");
                }
        }
}

/* A verifier that keeps the AK's EVP_PKEY gets the same verdicts, and the kept key is the one that
 * counts: another key of the same type makes the signature fail. */
static void test_kept_key(void **state) {
        FOR_EACH_VECTOR(v) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *other = NULL;
                AttestQuoteInput in = input(&v);

                assert_int_equal(tpm2_public_to_evp_pkey(&v.ak, &key), 0);
                in.ak_key = key;
                expect(&in, ATTEST_QUOTE_OK, 0, NULL);
                v.signature[v.signature_size - 1] ^= 0x01;
                expect(&in, ATTEST_QUOTE_SIGNATURE_INVALID, -EKEYREJECTED, NULL);
                v.signature[v.signature_size - 1] ^= 0x01;

                other = v.ak.publicArea.type == TPM2_ALG_ECC
                        ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                        : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
                assert_non_null(other);
                in.ak_key = other;
                expect(&in, ATTEST_QUOTE_SIGNATURE_INVALID, -EKEYREJECTED, NULL);
        }
}

static void test_reason_names(void **state) {
        for (AttestQuoteReason a = 0; a < _ATTEST_QUOTE_REASON_MAX; a++) {
                assert_non_null(attest_quote_reason_to_string(a));
                for (AttestQuoteReason b = 0; b < a; b++)
                        assert_string_not_equal(attest_quote_reason_to_string(a),
                                                attest_quote_reason_to_string(b));
        }
        assert_null(attest_quote_reason_to_string(_ATTEST_QUOTE_REASON_MAX));
}

static void test_pcr_values_parse(void **state) {
        static const char *const bad[] = {
                "",
                "sha256",
                "sha256:0",
                "sha256:0=",
                "sha256:24=0000000000000000000000000000000000000000000000000000000000000000",
                "md5:0=00",
                "sha1:0=00",
                "sha1:x=0000000000000000000000000000000000000000",
                "sha1:-1=0000000000000000000000000000000000000000",
                "sha1:007=0000000000000000000000000000000000000000",
                "sha1:0=000000000000000000000000000000000000000g",
                "sha1:0=00000000000000000000000000000000000000000",
        };
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        size_t n;

        assert_int_equal(attest_pcr_values_parse(
                                 "sha1:23=00112233445566778899aabbccddeeff00112233,\n"
                                 "sha256:0=ffffffffffffffffffffffffffffffffFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                                 &v, &n),
                         0);
        assert_int_equal(n, 2);
        assert_int_equal(v[0].bank, TPM2_ALG_SHA1);
        assert_int_equal(v[0].index, 23);
        assert_int_equal(v[0].size, 20);
        assert_int_equal(v[0].digest[19], 0x33);
        assert_int_equal(v[1].bank, TPM2_ALG_SHA256);
        assert_int_equal(v[1].size, 32);
        assert_int_equal(v[1].digest[31], 0xff);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Tpm2PcrValue *w = NULL;
                if (attest_pcr_values_parse(bad[i], &w, &n) != -EINVAL)
                        fail_msg("'%s' was not refused", bad[i]);
                assert_null(w);
        }
}

static int cmp32(const void *a, const void *b) {
        return memcmp(a, b, 32);
}

/* ATTACKS b-2: 10^4 generated nonces are unique and of the length asked for. */
static void test_nonce_generate(void **state) {
        enum { N = 10000 };
        _cleanup_free_ uint8_t *all = calloc(N, 32);
        uint8_t buf[65];

        assert_non_null(all);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(attest_nonce_generate(all + 32 * i, 32), 0);
        qsort(all, N, 32, cmp32);
        for (size_t i = 1; i < N; i++)
                assert_memory_not_equal(all + 32 * (i - 1), all + 32 * i, 32);

        /* Exactly n bytes written. */
        memset(buf, 0xA5, sizeof(buf));
        assert_int_equal(attest_nonce_generate(buf, 16), 0);
        for (size_t i = 16; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0xA5);
        assert_int_equal(attest_nonce_generate(buf, 15), -EINVAL);
        assert_int_equal(attest_nonce_generate(buf, 65), -EINVAL);
}

static void test_nonce_bind(void **state) {
        static const uint8_t server[16] = "0123456789abcdef";
        TPM2B_NAME name = { .size = 34 }, name2;
        uint8_t a[32], b[32], c[32], d[32];

        memset(name.name, 0x42, name.size);
        name2 = name;
        name2.name[33] ^= 1;
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "chanA", 5, &name, a), 0);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "chanA", 5, &name, b), 0);
        assert_memory_equal(a, b, 32);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "chanB", 5, &name, c), 0);
        assert_memory_not_equal(a, c, 32);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "chanA", 5, &name2, d), 0);
        assert_memory_not_equal(a, d, 32);
        /* Moving a byte from the channel into the nonce gives another value (length-prefixed). */
        assert_int_equal(attest_nonce_bind("0123456789abcdefc", 17, "hanA", 4, &name, d), 0);
        assert_memory_not_equal(a, d, 32);

        assert_int_equal(attest_nonce_bind(server, 15, "chanA", 5, &name, d), -EINVAL);
        assert_int_equal(attest_nonce_bind(server, sizeof(server), "", 0, &name, d), -EINVAL);
}

static void test_selection_helpers(void **state) {
        TPML_PCR_SELECTION s;
        size_t n;
        uint32_t m;

        assert_int_equal(
                tpm2_pcr_selection_from_masks((Tpm2PcrBankMask[]){ { TPM2_ALG_SHA256, 0x800081 } }, 1, &s), 0);
        assert_int_equal(s.count, 1);
        assert_int_equal(s.pcrSelections[0].sizeofSelect, 3);
        assert_int_equal(tpm2_pcr_selection_mask(&s.pcrSelections[0], &m), 0);
        assert_int_equal(m, 0x800081);
        assert_int_equal(tpm2_pcr_selection_count(&s, &n), 0);
        assert_int_equal(n, 3);

        assert_int_equal(tpm2_pcr_selection_from_masks(NULL, 0, &s), -EINVAL);
        assert_int_equal(tpm2_pcr_selection_from_masks((Tpm2PcrBankMask[]){ { TPM2_ALG_SHA256, 0 } }, 1, &s),
                         -EINVAL);
        assert_int_equal(
                tpm2_pcr_selection_from_masks((Tpm2PcrBankMask[]){ { TPM2_ALG_SHA256, 1U << 24 } }, 1, &s),
                -EINVAL);
        assert_int_equal(tpm2_pcr_selection_from_masks((Tpm2PcrBankMask[]){ { 0x0999, 1 } }, 1, &s), -EINVAL);
        assert_int_equal(tpm2_pcr_selection_from_masks(
                                 (Tpm2PcrBankMask[]){ { TPM2_ALG_SHA1, 1 }, { TPM2_ALG_SHA1, 2 } }, 2, &s),
                         -EINVAL);

        s.pcrSelections[0].sizeofSelect = 4;
        s.pcrSelections[0].pcrSelect[3] = 1;
        assert_int_equal(tpm2_pcr_selection_mask(&s.pcrSelections[0], &m), -EINVAL);
        s.pcrSelections[0].sizeofSelect = 5;
        assert_int_equal(tpm2_pcr_selection_mask(&s.pcrSelections[0], &m), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors_verify),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_nonce),
                cmocka_unit_test(test_ak_attributes),
                cmocka_unit_test(test_structure),
                cmocka_unit_test(test_magic_and_type),
                cmocka_unit_test(test_selection),
                cmocka_unit_test(test_pcr_values),
                cmocka_unit_test(test_signature),
                cmocka_unit_test(test_kept_key),
                cmocka_unit_test(test_reason_names),
                cmocka_unit_test(test_pcr_values_parse),
                cmocka_unit_test(test_nonce_generate),
                cmocka_unit_test(test_nonce_bind),
                cmocka_unit_test(test_selection_helpers),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
