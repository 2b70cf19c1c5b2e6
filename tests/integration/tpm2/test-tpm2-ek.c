/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The EK on swtpm: certificates of a test manufacturer written into the TCG NV indexes for swtpm's
 * real EKs (RSA and ECC), read back, matched against the recreated EK and validated; persistence. */

#include <openssl/pem.h>
#include <sys/stat.h>

#include "basic/log.h"
#include "ek-cert-maker.h"
#include "shared/openssl-util.h"
#include "tpm2-test-util.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-session.h"

static TestManufacturer maker, other_maker;
static char good_dir[4096], wrong_dir[4096];

static void nv_undefine(Tpm2Context *c, TPM2_HANDLE index) {
        ESYS_TR nv = ESYS_TR_NONE;

        if (!handle_present(c, index))
                return;
        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), index, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &nv),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_NV_UndefineSpace(tpm2_context_esys(c), ESYS_TR_RH_PLATFORM, nv,
                                               ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
}

/* Defines index as a platform manufacturer would (PPWRITE, owner/auth readable, platform-created) and
 * writes data into it in 512-byte pieces, unless size is 0 (defined, never written). */
static void nv_write(Tpm2Context *c, TPM2_HANDLE index, const void *data, size_t size, size_t index_size) {
        TPM2B_NV_PUBLIC pub = {
                .nvPublic = {
                        .nvIndex = index,
                        .nameAlg = TPM2_ALG_SHA256,
                        .attributes = TPMA_NV_PPWRITE | TPMA_NV_PPREAD | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD |
                                      TPMA_NV_NO_DA | TPMA_NV_PLATFORMCREATE,
                        .dataSize = (uint16_t) index_size,
                },
        };
        TPM2B_AUTH no_auth = {};
        ESYS_TR nv = ESYS_TR_NONE;

        nv_undefine(c, index);
        assert_int_equal(Esys_NV_DefineSpace(tpm2_context_esys(c), ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD,
                                             ESYS_TR_NONE, ESYS_TR_NONE, &no_auth, &pub, &nv),
                         TSS2_RC_SUCCESS);
        for (size_t off = 0; off < size; off += 512) {
                TPM2B_MAX_NV_BUFFER b = { .size = (uint16_t) MIN((size_t) 512, size - off) };

                memcpy(b.buffer, (const uint8_t *) data + off, b.size);
                assert_int_equal(Esys_NV_Write(tpm2_context_esys(c), ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD,
                                               ESYS_TR_NONE, ESYS_TR_NONE, &b, (uint16_t) off),
                                 TSS2_RC_SUCCESS);
        }
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &nv), TSS2_RC_SUCCESS);
}

/* Writes cert, followed by pad_len bytes of pad, into index. */
static void nv_write_cert(Tpm2Context *c, TPM2_HANDLE index, X509 *cert, size_t pad_len, uint8_t pad) {
        _cleanup_free_ unsigned char *der = NULL;
        uint8_t *buf;
        size_t n = 0;

        der = test_cert_der(cert, &n);
        buf = malloc(n + pad_len);
        assert_non_null(buf);
        memcpy(buf, der, n);
        memset(buf + n, pad, pad_len);
        nv_write(c, index, buf, n + pad_len, n + pad_len);
        free(buf);
}

static TPM2_HANDLE cert_index(uint16_t alg) {
        return alg == TPM2_ALG_RSA ? TPM2_EK_RSA_CERT_NV_INDEX : TPM2_EK_ECC_CERT_NV_INDEX;
}

/* swtpm's real EK public key of alg, as an OpenSSL key. */
static EVP_PKEY *ek_evp(Tpm2Context *c, uint16_t alg, TPM2B_PUBLIC *ret_pub) {
        _cleanup_free_ TPM2B_PUBLIC *pub = NULL;
        ESYS_TR ek = ESYS_TR_NONE;
        EVP_PKEY *k = NULL;

        assert_int_equal(tpm2_ek_create(c, alg, &ek, &pub), 0);
        tpm2_flush(c, &ek);
        assert_int_equal(tpm2_public_to_evp_pkey(pub, &k), 0);
        if (ret_pub)
                *ret_pub = *pub;
        return k;
}

static void test_ek_create(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();

        for (int i = 0; i < 2; i++) {
                uint16_t alg = i == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;
                _cleanup_free_ TPM2B_PUBLIC *a = NULL, *b = NULL;
                ESYS_TR ek = ESYS_TR_NONE;
                TPM2_HANDLE h = 0;

                assert_int_equal(tpm2_ek_create(c, alg, &ek, &a), 0);
                assert_int_equal(Esys_TR_GetTpmHandle(tpm2_context_esys(c), ek, &h), TSS2_RC_SUCCESS);
                assert_int_equal(h >> TPM2_HR_SHIFT, TPM2_HT_TRANSIENT);
                assert_int_equal(a->publicArea.type, alg);
                assert_true(tpm2_ek_public_is_template(a));
                assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 1);
                tpm2_flush(c, &ek);

                /* The endorsement seed makes it the same key every time. */
                assert_int_equal(tpm2_ek_create(c, alg, &ek, &b), 0);
                assert_true(tpm2_public_equal(a, b));
                tpm2_flush(c, &ek);
        }
        assert_int_equal(tpm2_ek_create(c, TPM2_ALG_KEYEDHASH, &(ESYS_TR){ ESYS_TR_NONE }, NULL), -EINVAL);

        assert_no_leaks(c);
}

static void test_ek_certificate_in_nv(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();

        for (int i = 0; i < 2; i++) {
                uint16_t alg = i == 0 ? TPM2_ALG_RSA : TPM2_ALG_ECC;
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
                _cleanup_(X509_freep) X509 *cert = NULL, *got = NULL;
                TPM2B_PUBLIC pub;

                key = ek_evp(c, alg, &pub);
                cert = test_make_ek_cert(&maker, key, 0);

                /* RSA: padded with zeros beyond TPM_PT_NV_BUFFER_MAX (several NV_Read chunks). ECC: exact. */
                if (alg == TPM2_ALG_RSA)
                        nv_write_cert(c, cert_index(alg), cert, 1800 - (size_t) i2d_X509(cert, NULL), 0x00);
                else
                        nv_write_cert(c, cert_index(alg), cert, 0, 0);

                assert_int_equal(tpm2_ek_read_certificate(c, alg, &got), 0);
                assert_int_equal(X509_cmp(got, cert), 0);
                assert_int_equal(tpm2_ek_matches_certificate(&pub, got), 0);
                assert_int_equal(tpm2_ek_verify_chain(got, good_dir), 0);
                assert_int_equal(tpm2_ek_verify_chain(got, wrong_dir), -EKEYREJECTED);
        }

        assert_no_leaks(c);
}

static void test_ek_certificate_unknown_critical(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = ek_evp(c, TPM2_ALG_ECC, NULL);
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, key, EK_CERT_UNKNOWN_CRITICAL),
                                   *got = NULL;

        nv_write_cert(c, TPM2_EK_ECC_CERT_NV_INDEX, cert, 16, 0xff);
        /* Parsing tolerates it, verification does not. */
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_ECC, &got), 0);
        assert_int_equal(tpm2_ek_verify_chain(got, good_dir), -EKEYREJECTED);

        assert_no_leaks(c);
}

static void test_ek_certificate_other_key(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *other = test_make_ec_key();
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, other, 0), *got = NULL, *rsa_cert = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = NULL;
        TPM2B_PUBLIC pub, rsa_pub;

        EVP_PKEY_free(ek_evp(c, TPM2_ALG_ECC, &pub));
        rsa = ek_evp(c, TPM2_ALG_RSA, &rsa_pub);

        /* A valid certificate from the right manufacturer, but for a key that is not this TPM's EK. */
        nv_write_cert(c, TPM2_EK_ECC_CERT_NV_INDEX, cert, 0, 0);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_ECC, &got), 0);
        assert_int_equal(tpm2_ek_verify_chain(got, good_dir), 0);
        assert_int_equal(tpm2_ek_matches_certificate(&pub, got), -EKEYREJECTED);

        /* The RSA EK's certificate does not vouch for the ECC EK either. */
        rsa_cert = test_make_ek_cert(&maker, rsa, 0);
        assert_int_equal(tpm2_ek_matches_certificate(&pub, rsa_cert), -EKEYREJECTED);
        assert_int_equal(tpm2_ek_matches_certificate(&rsa_pub, rsa_cert), 0);

        assert_no_leaks(c);
}

static void test_ek_certificate_bad_nv(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = ek_evp(c, TPM2_ALG_RSA, NULL);
        _cleanup_(X509_freep) X509 *cert = test_make_ek_cert(&maker, key, 0);
        _cleanup_free_ unsigned char *der = NULL;
        uint8_t buf[4096];
        X509 *got = NULL;
        size_t n = 0;

        /* Trailing bytes that are not padding. */
        der = test_cert_der(cert, &n);
        assert_true(n + 32 <= sizeof(buf));
        memcpy(buf, der, n);
        memset(buf + n, 0, 32);
        memcpy(buf + n + 8, "GARBAGE", 7);
        nv_write(c, TPM2_EK_RSA_CERT_NV_INDEX, buf, n + 32, n + 32);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_RSA, &got), -EBADMSG);

        /* Truncated certificate. */
        nv_write(c, TPM2_EK_RSA_CERT_NV_INDEX, der, n - 10, n - 10);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_RSA, &got), -EBADMSG);

        /* Defined, never written. */
        nv_write(c, TPM2_EK_RSA_CERT_NV_INDEX, NULL, 0, 64);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_RSA, &got), -ENODATA);

        /* Not there at all. */
        nv_undefine(c, TPM2_EK_RSA_CERT_NV_INDEX);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_RSA, &got), -ENOENT);
        assert_int_equal(tpm2_ek_read_certificate(c, TPM2_ALG_KEYEDHASH, &got), -EINVAL);
        assert_null(got);

        assert_no_leaks(c);
}

static void test_ek_persist(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ TPM2B_PUBLIC *pub = NULL, *again = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *before = NULL, *after = NULL;
        ESYS_TR ek = ESYS_TR_NONE, persistent = ESYS_TR_NONE, foreign = ESYS_TR_NONE, tr = ESYS_TR_NONE;
        TPM2_HANDLE h = 0;

        assert_false(handle_present(c, TPM2_EK_ECC_HANDLE));

        /* Persisting puts the ECC EK at 0x81010002 ... */
        assert_int_equal(tpm2_ek_create(c, TPM2_ALG_ECC, &ek, &pub), 0);
        assert_int_equal(tpm2_ek_persist(c, ek, &persistent), 0);
        assert_int_equal(Esys_TR_GetTpmHandle(tpm2_context_esys(c), persistent, &h), TSS2_RC_SUCCESS);
        assert_int_equal(h, TPM2_EK_ECC_HANDLE);
        tpm2_flush(c, &persistent);
        /* ... and a second time changes nothing. */
        assert_int_equal(tpm2_ek_persist(c, ek, NULL), 0);
        tpm2_flush(c, &ek);
        assert_true(handle_present(c, TPM2_EK_ECC_HANDLE));
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);

        /* tpm2_ek_create() now hands out the persistent key itself. */
        assert_int_equal(tpm2_ek_create(c, TPM2_ALG_ECC, &ek, &again), 0);
        assert_int_equal(Esys_TR_GetTpmHandle(tpm2_context_esys(c), ek, &h), TSS2_RC_SUCCESS);
        assert_int_equal(h, TPM2_EK_ECC_HANDLE);
        assert_true(tpm2_public_equal(pub, again));
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);
        tpm2_flush(c, &ek);
        assert_true(handle_present(c, TPM2_EK_ECC_HANDLE));

        /* Someone else's key at the RSA EK handle: never overwritten, and not used as EK. */
        foreign = create_signing_primary(c, 7);
        assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, foreign, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, TPM2_EK_RSA_HANDLE, &tr),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), tr, &before), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &tr), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), foreign), TSS2_RC_SUCCESS);

        free(pub);
        pub = NULL;
        assert_int_equal(tpm2_ek_create(c, TPM2_ALG_RSA, &ek, &pub), 0);
        assert_int_equal(Esys_TR_GetTpmHandle(tpm2_context_esys(c), ek, &h), TSS2_RC_SUCCESS);
        assert_int_equal(h >> TPM2_HR_SHIFT, TPM2_HT_TRANSIENT);
        assert_true(tpm2_ek_public_is_template(pub));
        assert_int_equal(tpm2_ek_persist(c, ek, &persistent), -EEXIST);
        assert_int_equal(persistent, ESYS_TR_NONE);
        tpm2_flush(c, &ek);

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), TPM2_EK_RSA_HANDLE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, ESYS_TR_NONE, &tr),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), tr, &after), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_TR_Close(tpm2_context_esys(c), &tr), TSS2_RC_SUCCESS);
        assert_int_equal(before->size, after->size);
        assert_memory_equal(before->name, after->name, before->size);

        /* Only a key from the EK template is persisted. */
        foreign = create_signing_primary(c, 8);
        assert_int_equal(tpm2_ek_persist(c, foreign, NULL), -EINVAL);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), foreign), TSS2_RC_SUCCESS);

        evict_persistent(c, TPM2_EK_RSA_HANDLE);
        evict_persistent(c, TPM2_EK_ECC_HANDLE);
        assert_no_leaks(c);
}

static int setup(void **state) {
        const char *t = getenv("TP_TEST_DIR") ?: getenv("TRUSTED_PLATFORM_STATE_DIR");

        test_manufacturer_init(&maker, "Test");
        test_manufacturer_init(&other_maker, "Other");

        snprintf(good_dir, sizeof(good_dir), "%s/ek-ca-good", t);
        snprintf(wrong_dir, sizeof(wrong_dir), "%s/ek-ca-wrong", t);
        if (mkdir(good_dir, 0700) < 0 || mkdir(wrong_dir, 0700) < 0)
                return -1;
        test_write_cert(good_dir, "root.pem", maker.root, false);
        test_write_cert(good_dir, "intermediate.der", maker.intermediate, true);
        test_write_cert(wrong_dir, "root.pem", other_maker.root, false);
        test_write_cert(wrong_dir, "intermediate.pem", other_maker.intermediate, false);
        return 0;
}

static int teardown(void **state) {
        test_manufacturer_done(&maker);
        test_manufacturer_done(&other_maker);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ek_create),
                cmocka_unit_test(test_ek_certificate_in_nv),
                cmocka_unit_test(test_ek_certificate_unknown_critical),
                cmocka_unit_test(test_ek_certificate_other_key),
                cmocka_unit_test(test_ek_certificate_bad_nv),
                cmocka_unit_test(test_ek_persist),
        };

        log_parse_environment();

        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set (run through "
                        "tests/harness/tp-run --swtpm).\n");
                return EXIT_FAILURE;
        }

        return cmocka_run_group_tests(tests, setup, teardown);
}
