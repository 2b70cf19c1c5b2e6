/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The software half of EK handling, without a TPM: DER with NV padding, certificate files, chain
 * validation against a manufacturer directory, public key conversion and matching, the templates. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/core_names.h>

#include "../basic/tmpdir-util.h"
#include "basic/log.h"
#include "shared/openssl-util.h"
#include <openssl/pem.h>
#include "ek-cert-maker.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-pubkey.h"

static void rmdtempp(char **p) {
        test_rmdtemp(*p);
}

static TestManufacturer maker, other_maker;
static EVP_PKEY *ek_key;

static void write_bytes(const char *dir, const char *fn, const void *p, size_t n) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, fn);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
}

/* The TPM2B_PUBLIC a TPM would show for an EC P-256 key. */
static void ec_key_to_public(EVP_PKEY *k, TPM2B_PUBLIC *ret) {
        BIGNUM *x = NULL, *y = NULL;

        assert_int_equal(tpm2_ek_template(TPM2_ALG_ECC, ret), 0);
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
        assert_int_equal(BN_bn2binpad(x, ret->publicArea.unique.ecc.x.buffer, 32), 32);
        assert_int_equal(BN_bn2binpad(y, ret->publicArea.unique.ecc.y.buffer, 32), 32);
        BN_free(x);
        BN_free(y);
}

static void test_der_padding(void **state) {
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, ek_key, 0);
        _cleanup_free_ unsigned char *der = NULL, *buf = NULL;
        size_t n = 0;
        X509 *got = NULL;

        der = test_cert_der(cert, &n);
        buf = malloc(n + 64);
        assert_non_null(buf);
        memcpy(buf, der, n);

        assert_int_equal(tpm2_ek_certificate_from_der(buf, n, &got), 0);
        assert_int_equal(X509_cmp(got, cert), 0);
        X509_free(TAKE_PTR(got));

        /* NV indexes larger than the certificate: zero or 0xFF fill after it is accepted. */
        memset(buf + n, 0x00, 64);
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n + 64, &got), 0);
        assert_int_equal(X509_cmp(got, cert), 0);
        X509_free(TAKE_PTR(got));
        memset(buf + n, 0xff, 64);
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n + 64, &got), 0);
        X509_free(TAKE_PTR(got));

        /* Anything else after the certificate is not padding. */
        buf[n + 40] = 0x30;
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n + 64, &got), -EBADMSG);
        assert_null(got);

        /* Truncated, wrong tag, indefinite length, a length beyond the buffer. */
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n - 1, &got), -EBADMSG);
        assert_int_equal(tpm2_ek_certificate_from_der(buf, 1, &got), -EBADMSG);
        assert_int_equal(tpm2_ek_certificate_from_der(buf, 0, &got), -EBADMSG);
        buf[0] = 0x31;
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n, &got), -EBADMSG);
        buf[0] = 0x30;
        buf[1] = 0x80;
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n, &got), -EBADMSG);
        buf[1] = 0x84;
        buf[2] = buf[3] = buf[4] = buf[5] = 0xff;
        assert_int_equal(tpm2_ek_certificate_from_der(buf, n, &got), -EBADMSG);

        /* A well-formed SEQUENCE that is no certificate. */
        static const uint8_t seq[] = { 0x30, 0x03, 0x02, 0x01, 0x01, 0x00, 0x00 };
        assert_int_equal(tpm2_ek_certificate_from_der(seq, sizeof(seq), &got), -EBADMSG);
        assert_null(got);
}

static void test_certificate_file(void **state) {
        _cleanup_(rmdtempp) char *dir = test_mkdtemp();
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, ek_key, 0);
        _cleanup_free_ unsigned char *der = NULL;
        char path[4096];
        uint8_t padded[4096];
        size_t n = 0;
        X509 *got = NULL;

        assert_non_null(dir);
        test_write_cert(dir, "ek.pem", cert, false);
        test_write_cert(dir, "ek.der", cert, true);

        snprintf(path, sizeof(path), "%s/ek.pem", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), 0);
        assert_int_equal(X509_cmp(got, cert), 0);
        X509_free(TAKE_PTR(got));

        snprintf(path, sizeof(path), "%s/ek.der", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), 0);
        assert_int_equal(X509_cmp(got, cert), 0);
        X509_free(TAKE_PTR(got));

        /* A DER file dumped from NV with its padding. */
        der = test_cert_der(cert, &n);
        assert_true(n + 100 <= sizeof(padded));
        memset(padded, 0xff, sizeof(padded));
        memcpy(padded, der, n);
        write_bytes(dir, "ek-nv.bin", padded, n + 100);
        snprintf(path, sizeof(path), "%s/ek-nv.bin", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), 0);
        X509_free(TAKE_PTR(got));

        write_bytes(dir, "junk", "hello world\n", 12);
        snprintf(path, sizeof(path), "%s/junk", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), -EBADMSG);
        write_bytes(dir, "bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 59);
        snprintf(path, sizeof(path), "%s/bad.pem", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), -EBADMSG);
        snprintf(path, sizeof(path), "%s/missing", dir);
        assert_int_equal(tpm2_ek_certificate_from_file(path, &got), -ENOENT);
        assert_null(got);
}

static void test_verify_chain(void **state) {
        _cleanup_(rmdtempp) char *good = test_mkdtemp(), *mixed = test_mkdtemp(), *wrong = test_mkdtemp(),
                                 *no_root = test_mkdtemp(), *empty = test_mkdtemp();
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, ek_key, 0),
                                   *sda = test_make_ek_cert(&maker, ek_key, EK_CERT_SDA_CRITICAL),
                                   *unknown = test_make_ek_cert(&maker, ek_key, EK_CERT_UNKNOWN_CRITICAL),
                                   *unknown_sda = test_make_ek_cert(
                                           &maker, ek_key, EK_CERT_UNKNOWN_CRITICAL | EK_CERT_SDA_CRITICAL),
                                   *non_tcg = test_make_ek_cert(&maker, ek_key, EK_CERT_SAN_NON_TCG);

        assert_non_null(good);
        test_write_cert(good, "root.pem", maker.root, false);
        test_write_cert(good, "intermediate.pem", maker.intermediate, false);
        write_bytes(good, "README", "not a certificate\n", 18);

        /* DER files and a PEM bundle work as well. */
        test_write_cert(mixed, "intermediate.der", maker.intermediate, true);
        {
                char path[4096];
                FILE *f;

                snprintf(path, sizeof(path), "%s/bundle.pem", mixed);
                assert_non_null(f = fopen(path, "we"));
                assert_int_equal(PEM_write_X509(f, other_maker.root), 1);
                assert_int_equal(PEM_write_X509(f, maker.root), 1);
                assert_int_equal(fclose(f), 0);
        }

        test_write_cert(wrong, "root.pem", other_maker.root, false);
        test_write_cert(wrong, "intermediate.pem", other_maker.intermediate, false);
        test_write_cert(no_root, "intermediate.pem", maker.intermediate, false);

        /* A vendor-style certificate: empty subject, critical TCG SAN -> accepted. */
        assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(cert)), 0);
        assert_int_equal(tpm2_ek_verify_chain(cert, good), 0);
        assert_int_equal(tpm2_ek_verify_chain(cert, mixed), 0);
        /* The TCG subjectDirectoryAttributes may be critical. */
        assert_int_equal(tpm2_ek_verify_chain(sda, good), 0);

        /* Another manufacturer's roots, or no root at all: the intermediate is no trust anchor. */
        assert_int_equal(tpm2_ek_verify_chain(cert, wrong), -EKEYREJECTED);
        assert_int_equal(tpm2_ek_verify_chain(cert, no_root), -EKEYREJECTED);
        assert_int_equal(tpm2_ek_verify_chain(cert, empty), -ENOKEY);
        assert_int_equal(tpm2_ek_verify_chain(cert, "/nonexistent/ca"), -ENOENT);

        /* An unknown critical extension is not waved through, with or without the TCG one beside it. */
        assert_int_equal(tpm2_ek_verify_chain(unknown, good), -EKEYREJECTED);
        assert_int_equal(tpm2_ek_verify_chain(unknown_sda, good), -EKEYREJECTED);

        /* A critical SAN whose directoryName is not the TCG one. */
        assert_int_equal(tpm2_ek_verify_chain(non_tcg, good), -EBADMSG);
}

static void test_public_key_match(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *other = test_make_ec_key(), *converted = NULL;
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, ek_key, 0),
                                   *other_cert = test_make_ek_cert(&maker, other, 0);
        TPM2B_PUBLIC pub, bad;

        ec_key_to_public(ek_key, &pub);
        assert_int_equal(tpm2_public_to_evp_pkey(&pub, &converted), 0);
        assert_int_equal(EVP_PKEY_eq(converted, ek_key), 1);

        assert_int_equal(tpm2_ek_matches_certificate(&pub, cert), 0);
        assert_int_equal(tpm2_ek_matches_certificate(&pub, other_cert), -EKEYREJECTED);

        /* Coordinates without their leading zero bytes are the same point. */
        bad = pub;
        bad.publicArea.unique.ecc.x.size = 33;
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), -EBADMSG);
        bad = pub;
        bad.publicArea.unique.ecc.y.buffer[31] ^= 1; /* off the curve */
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), -EBADMSG);
        assert_int_equal(tpm2_ek_matches_certificate(&bad, cert), -EBADMSG);
        bad = pub;
        bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), -EOPNOTSUPP);
        bad.publicArea.type = TPM2_ALG_KEYEDHASH;
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), -EOPNOTSUPP);

        /* RSA: the modulus must have the size the key claims. */
        assert_int_equal(tpm2_ek_template(TPM2_ALG_RSA, &bad), 0);
        bad.publicArea.unique.rsa.size = 255;
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), -EBADMSG);
        bad.publicArea.unique.rsa.size = 256;
        memset(bad.publicArea.unique.rsa.buffer, 0xc5, 256);
        EVP_PKEY_free(TAKE_PTR(converted));
        assert_int_equal(tpm2_public_to_evp_pkey(&bad, &converted), 0);
        assert_int_equal(EVP_PKEY_get_bits(converted), 2048);
        assert_int_equal(tpm2_ek_matches_certificate(&bad, cert), -EKEYREJECTED);
}

static void test_templates(void **state) {
        static const uint8_t policy_a[32] = {
                0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
                0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
                0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
        };
        TPM2B_PUBLIC t;

        for (int i = 0; i < 2; i++) {
                uint16_t alg = i == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;

                assert_int_equal(tpm2_ek_template(alg, &t), 0);
                assert_int_equal(t.publicArea.nameAlg, TPM2_ALG_SHA256);
                /* userWithAuth clear: only the policy (endorsement auth) gets in; adminWithPolicy set. */
                assert_int_equal(t.publicArea.objectAttributes,
                                 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                         TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                         TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT);
                assert_int_equal(t.publicArea.authPolicy.size, 32);
                assert_memory_equal(t.publicArea.authPolicy.buffer, policy_a, 32);
                assert_true(tpm2_ek_public_is_template(&t));
                t.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
                assert_false(tpm2_ek_public_is_template(&t));
        }
        assert_int_equal(t.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
        assert_int_equal(t.publicArea.parameters.eccDetail.symmetric.mode.aes, TPM2_ALG_CFB);
        assert_int_equal(tpm2_ek_template(TPM2_ALG_KEYEDHASH, &t), -EINVAL);

        for (int i = 0; i < 2; i++) {
                uint16_t alg = i == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;

                assert_int_equal(tpm2_ak_template(alg, &t), 0);
                assert_int_equal(t.publicArea.objectAttributes,
                                 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                         TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                         TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT);
                assert_true(tpm2_ak_public_is_valid(&t));

                t.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
                assert_false(tpm2_ak_public_is_valid(&t));
                t.publicArea.objectAttributes &= ~(TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED);
                assert_false(tpm2_ak_public_is_valid(&t));
        }
        assert_int_equal(tpm2_ak_template(TPM2_ALG_ECC, &t), 0);
        assert_int_equal(t.publicArea.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
        t.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA1;
        assert_false(tpm2_ak_public_is_valid(&t));

        assert_true(tpm2_ak_name_valid("default"));
        assert_true(tpm2_ak_name_valid("tls-key_2"));
        assert_false(tpm2_ak_name_valid(""));
        assert_false(tpm2_ak_name_valid("../x"));
        assert_false(tpm2_ak_name_valid("a/b"));
        assert_false(tpm2_ak_name_valid(NULL));
        assert_false(tpm2_ak_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static int setup(void **state) {
        test_manufacturer_init(&maker, "Test");
        test_manufacturer_init(&other_maker, "Other");
        ek_key = test_make_ec_key();
        return 0;
}

static int teardown(void **state) {
        test_manufacturer_done(&maker);
        test_manufacturer_done(&other_maker);
        EVP_PKEY_free(ek_key);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_der_padding),  cmocka_unit_test(test_certificate_file),
                cmocka_unit_test(test_verify_chain), cmocka_unit_test(test_public_key_match),
                cmocka_unit_test(test_templates),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, setup, teardown);
}
