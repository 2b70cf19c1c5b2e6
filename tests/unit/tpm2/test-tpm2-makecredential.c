/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Software MakeCredential: KDFa/KDFe against fixed vectors and OpenSSL's own SP 800-108 / SP 800-56C
 * KDFs, and the argument checks. That the blobs activate on a TPM is tests/integration/tpm2. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "basic/macro.h"
#include "tpm2/tpm2-makecredential.h"

static void unhex(const char *h, uint8_t *out, size_t n) {
        assert_int_equal(strlen(h), 2 * n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(sscanf(h + 2 * i, "%2hhx", &out[i]), 1);
}

static void seq(uint8_t *p, size_t n, uint8_t start) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (start + i);
}

/* Vectors computed independently with Python's hmac/hashlib from the Part 1 §11.4.10 formulas. */
static void test_kdfa_vectors(void **state) {
        uint8_t key[32], name[34], out[64], want[64];

        seq(key, sizeof(key), 0);
        name[0] = 0x00;
        name[1] = 0x0b;
        seq(name + 2, 32, 100);

        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, 32, "STORAGE", name, 34, NULL, 0, out, 16), 0);
        unhex("d98939313878365f823837e2ce0286ca", want, 16);
        assert_memory_equal(out, want, 16);

        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, 32, "INTEGRITY", NULL, 0, NULL, 0, out, 32), 0);
        unhex("bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e", want, 32);
        assert_memory_equal(out, want, 32);

        /* More than one block, truncated, both contexts. */
        memset(key, 1, 20);
        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA1, key, 20, "TEST", "abc", 3, "defg", 4, out, 50), 0);
        unhex("c3baea851ac4135080a885f6d3792e2ad0a88928aac4c73135d75d9f32993e7a6efa376d609ea8cfd5c830761168d00a"
              "0c98",
              want, 50);
        assert_memory_equal(out, want, 50);
}

static void test_kdfe_vectors(void **state) {
        uint8_t z[48], u[48], v[48], out[70], want[70];

        seq(z, 32, 0);
        memset(u, 0x11, 32);
        memset(v, 0x22, 32);
        assert_int_equal(tpm2_kdfe(TPM2_ALG_SHA256, z, 32, "IDENTITY", u, 32, v, 32, out, 32), 0);
        unhex("cbce7a80e1b35da754dc24ec97f8c9ef9281bf9944c930765256ae6ea7d59f0e", want, 32);
        assert_memory_equal(out, want, 32);

        seq(z, 48, 0);
        memset(u, 0x33, 48);
        memset(v, 0x44, 48);
        assert_int_equal(tpm2_kdfe(TPM2_ALG_SHA384, z, 48, "IDENTITY", u, 48, v, 48, out, 70), 0);
        unhex("c3852a6e64993a74a8ad32aa5847a90d00ac52cdd91e358f77fda83ad95b7aa36c178d5e0b57a46ddb3a5994b76b755fbe"
              "fe56bf67726e7add40961d3480af6882761e178864",
              want, 70);
        assert_memory_equal(out, want, 70);
}

/* KDFa is SP 800-108 counter mode (32-bit counter, 0x00 separator, 32-bit L): OpenSSL's KBKDF must agree. */
static void test_kdfa_matches_openssl_kbkdf(void **state) {
        uint8_t key[32], ctx_u[40], ctx_v[7], label[] = "INTEGRITY", ours[80], theirs[80];
        uint8_t ctx_uv[47];
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
        EVP_KDF_CTX *kctx;

        assert_non_null(kdf);
        kctx = EVP_KDF_CTX_new(kdf);
        seq(key, sizeof(key), 7);
        seq(ctx_u, sizeof(ctx_u), 50);
        seq(ctx_v, sizeof(ctx_v), 200);
        memcpy(ctx_uv, ctx_u, sizeof(ctx_u));
        memcpy(ctx_uv + sizeof(ctx_u), ctx_v, sizeof(ctx_v));

        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *) "HMAC", 0),
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0),
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *) "COUNTER", 0),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, sizeof(key)),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, label, strlen((char *) label)),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx_uv, sizeof(ctx_uv)),
                OSSL_PARAM_construct_end(),
        };
        assert_int_equal(EVP_KDF_derive(kctx, theirs, sizeof(theirs), params), 1);
        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, sizeof(key), "INTEGRITY", ctx_u, sizeof(ctx_u),
                                   ctx_v, sizeof(ctx_v), ours, sizeof(ours)),
                         0);
        assert_memory_equal(ours, theirs, sizeof(ours));

        EVP_KDF_CTX_free(kctx);
        EVP_KDF_free(kdf);
}

/* KDFe is the SP 800-56C one-step hash KDF with FixedInfo = label || 0 || partyU || partyV. */
static void test_kdfe_matches_openssl_sskdf(void **state) {
        uint8_t z[32], info[9 + 32 + 32], ours[64], theirs[64];
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
        EVP_KDF_CTX *kctx;

        assert_non_null(kdf);
        kctx = EVP_KDF_CTX_new(kdf);
        seq(z, sizeof(z), 3);
        memcpy(info, "IDENTITY", 9);
        seq(info + 9, 32, 90);
        seq(info + 41, 32, 140);

        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof(z)),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
                OSSL_PARAM_construct_end(),
        };
        assert_int_equal(EVP_KDF_derive(kctx, theirs, sizeof(theirs), params), 1);
        assert_int_equal(tpm2_kdfe(TPM2_ALG_SHA256, z, sizeof(z), "IDENTITY", info + 9, 32, info + 41, 32,
                                   ours, sizeof(ours)),
                         0);
        assert_memory_equal(ours, theirs, sizeof(ours));

        EVP_KDF_CTX_free(kctx);
        EVP_KDF_free(kdf);
}

static void test_kdf_bad_arguments(void **state) {
        uint8_t out[16], key[16] = {};

        assert_int_equal(tpm2_kdfa(TPM2_ALG_NULL, key, 16, "X", NULL, 0, NULL, 0, out, 16), -EOPNOTSUPP);
        assert_int_equal(tpm2_kdfe(TPM2_ALG_SM3_256, key, 16, "X", NULL, 0, NULL, 0, out, 16), -EOPNOTSUPP);
        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, 16, "X", NULL, 0, NULL, 0, out, 0), -EINVAL);
        assert_int_equal(tpm2_kdfa(TPM2_ALG_SHA256, key, 16, "X", NULL, 5, NULL, 0, out, 16), -EINVAL);
}

/* A real ECC P-256 key in the shape of the TCG low-range EK template. */
static void ecc_ek(TPM2B_PUBLIC *ret) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
        uint8_t pt[65];
        size_t n = 0;

        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
        assert_int_equal(n, 65);
        *ret = (TPM2B_PUBLIC) {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                            TPMA_OBJECT_ADMINWITHPOLICY,
                        .parameters.eccDetail = {
                                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                                .scheme.scheme = TPM2_ALG_NULL,
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                        .unique.ecc = { .x.size = 32, .y.size = 32 },
                },
        };
        memcpy(ret->publicArea.unique.ecc.x.buffer, pt + 1, 32);
        memcpy(ret->publicArea.unique.ecc.y.buffer, pt + 33, 32);
        EVP_PKEY_free(k);
}

static const TPM2B_NAME ak_name = { .size = 34, .name = { 0x00, 0x0b, 1, 2, 3, 4, 5 } };

static void test_make_credential_ecc_shape(void **state) {
        TPM2B_PUBLIC ek;
        TPM2B_ID_OBJECT *blob = NULL, *blob2 = NULL;
        TPM2B_ENCRYPTED_SECRET *seed = NULL, *seed2 = NULL;
        const uint8_t secret[32] = "thirty-two bytes of secret here";

        ecc_ek(&ek);
        assert_int_equal(tpm2_make_credential(&ek, &ak_name, secret, 32, &blob, &seed), 0);
        /* TPM2B_DIGEST(HMAC-SHA256) || AES-CFB(TPM2B_DIGEST(secret)) */
        assert_int_equal(blob->size, 2 + 32 + 2 + 32);
        assert_int_equal(blob->credential[0], 0);
        assert_int_equal(blob->credential[1], 32);
        assert_null(memmem(blob->credential, blob->size, secret, 8));
        /* TPMS_ECC_POINT: two 32-byte coordinates */
        assert_int_equal(seed->size, 2 + 32 + 2 + 32);
        assert_int_equal(seed->secret[0], 0);
        assert_int_equal(seed->secret[1], 32);

        /* A fresh ephemeral key each time: nothing repeats. */
        assert_int_equal(tpm2_make_credential(&ek, &ak_name, secret, 32, &blob2, &seed2), 0);
        assert_memory_not_equal(seed->secret, seed2->secret, seed->size);
        assert_memory_not_equal(blob->credential, blob2->credential, blob->size);
        free(blob);
        free(seed);
        free(blob2);
        free(seed2);
}

static void test_make_credential_bad_arguments(void **state) {
        TPM2B_PUBLIC ek, bad;
        TPM2B_ID_OBJECT *blob = NULL;
        TPM2B_ENCRYPTED_SECRET *seed = NULL;
        TPM2B_NAME name = ak_name;
        uint8_t secret[65] = {};

        ecc_ek(&ek);

        /* Secret: 1 .. nameAlg digest size */
        assert_int_equal(tpm2_make_credential(&ek, &ak_name, secret, 0, &blob, &seed), -EINVAL);
        assert_int_equal(tpm2_make_credential(&ek, &ak_name, secret, 33, &blob, &seed), -EINVAL);
        assert_int_equal(tpm2_make_credential(&ek, &ak_name, NULL, 16, &blob, &seed), -EINVAL);
        assert_int_equal(tpm2_make_credential(NULL, &ak_name, secret, 16, &blob, &seed), -EINVAL);

        /* Name: hash alg + digest of that size */
        name.size = 33;
        assert_int_equal(tpm2_make_credential(&ek, &name, secret, 16, &blob, &seed), -EINVAL);
        name = ak_name;
        name.name[1] = 0x10; /* TPM_ALG_NULL */
        assert_int_equal(tpm2_make_credential(&ek, &name, secret, 16, &blob, &seed), -EINVAL);
        name.size = 0;
        assert_int_equal(tpm2_make_credential(&ek, &name, secret, 16, &blob, &seed), -EINVAL);

        /* Not an EK type */
        bad = ek;
        bad.publicArea.type = TPM2_ALG_KEYEDHASH;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        /* A signing key, an unrestricted decryption key */
        bad = ek;
        bad.publicArea.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EINVAL);
        bad = ek;
        bad.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EINVAL);
        /* Unsupported curve, nameAlg, symmetric */
        bad = ek;
        bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        bad = ek;
        bad.publicArea.nameAlg = TPM2_ALG_SM3_256;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        bad = ek;
        bad.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CBC;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        bad = ek;
        bad.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        /* A point off the curve, an empty or oversized coordinate */
        bad = ek;
        bad.publicArea.unique.ecc.y.buffer[31] ^= 1;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        bad = ek;
        bad.publicArea.unique.ecc.x.size = 0;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        bad = ek;
        bad.publicArea.unique.ecc.y.size = 33;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        /* RSA: modulus size disagreeing with keyBits, empty modulus */
        bad = ek;
        bad.publicArea.type = TPM2_ALG_RSA;
        bad.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                .scheme.scheme = TPM2_ALG_NULL,
                .keyBits = 2048,
        };
        bad.publicArea.unique.rsa.size = 100;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        bad.publicArea.unique.rsa.size = 0;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        /* RSA: too small, an exponent that does not encrypt */
        bad.publicArea.parameters.rsaDetail.keyBits = 1024;
        bad.publicArea.unique.rsa.size = 128;
        memset(bad.publicArea.unique.rsa.buffer, 0xc5, 128);
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EOPNOTSUPP);
        bad.publicArea.parameters.rsaDetail.keyBits = 2048;
        bad.publicArea.unique.rsa.size = 256;
        memset(bad.publicArea.unique.rsa.buffer, 0xc5, 256);
        bad.publicArea.parameters.rsaDetail.exponent = 1;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);
        bad.publicArea.parameters.rsaDetail.exponent = 65536;
        assert_int_equal(tpm2_make_credential(&bad, &ak_name, secret, 16, &blob, &seed), -EBADMSG);

        /* Output parameters untouched on failure */
        assert_null(blob);
        assert_null(seed);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kdfa_vectors),
                cmocka_unit_test(test_kdfe_vectors),
                cmocka_unit_test(test_kdfa_matches_openssl_kbkdf),
                cmocka_unit_test(test_kdfe_matches_openssl_sskdf),
                cmocka_unit_test(test_kdf_bad_arguments),
                cmocka_unit_test(test_make_credential_ecc_shape),
                cmocka_unit_test(test_make_credential_bad_arguments),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
