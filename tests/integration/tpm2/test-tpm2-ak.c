/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attestation keys on swtpm, for both algorithms: created under the EK, stored in the state directory,
 * reloaded by a fresh context with a stable name, TPM2_Certify of another key, tampered blobs refused. */

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "shared/openssl-util.h"
#include "tpm2-test-util.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define AK_ATTRS                                                                            \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static char *blob_path(const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/ak-%s.blob", getenv("TRUSTED_PLATFORM_STATE_DIR"), name) > 0);
        return p;
}

/* Checks the certify signature with OpenSSL against the AK public key, as a verifier would. */
static bool signature_valid(const TPM2B_PUBLIC *ak, const TPM2B_ATTEST *attest, const TPMT_SIGNATURE *sig) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        unsigned char digest[32];
        const unsigned char *s;
        unsigned int dlen = 0;
        size_t slen;
        int r;

        assert_int_equal(tpm2_public_to_evp_pkey(ak, &key), 0);
        assert_int_equal(EVP_Digest(attest->attestationData, attest->size, digest, &dlen, EVP_sha256(), NULL),
                         1);

        ctx = EVP_PKEY_CTX_new(key, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);

        if (sig->sigAlg == TPM2_ALG_ECDSA) {
                ECDSA_SIG *e = ECDSA_SIG_new();
                BIGNUM *br = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
                                       sig->signature.ecdsa.signatureR.size, NULL);
                BIGNUM *bs = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
                                       sig->signature.ecdsa.signatureS.size, NULL);
                int n;

                assert_non_null(e);
                assert_int_equal(ECDSA_SIG_set0(e, br, bs), 1);
                n = i2d_ECDSA_SIG(e, &der);
                ECDSA_SIG_free(e);
                assert_true(n > 0);
                s = der;
                slen = (size_t) n;
        } else {
                assert_int_equal(sig->sigAlg, TPM2_ALG_RSASSA);
                assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
                s = sig->signature.rsassa.sig.buffer;
                slen = sig->signature.rsassa.sig.size;
        }

        r = EVP_PKEY_verify(ctx, s, slen, digest, dlen);
        return r == 1;
}

static void run_ak(uint16_t ek_alg, uint16_t ak_alg, const char *name) {
        _cleanup_free_ char *path = blob_path(name);
        TPM2B_PUBLIC pub, pub2, tpm_pub;
        TPM2B_NAME ak_name, ak_name2, computed;
        ESYS_TR ak = ESYS_TR_NONE, object = ESYS_TR_NONE;
        struct stat st;

        /* Create in one context, which then goes away. */
        {
                _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();

                assert_int_equal(tpm2_ak_create(c, NULL, name, ek_alg, ak_alg, &pub, &ak_name), 0);
                assert_int_equal(pub.publicArea.type, ak_alg);
                assert_int_equal(pub.publicArea.objectAttributes, AK_ATTRS);
                assert_false(pub.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT);
                if (ak_alg == TPM2_ALG_ECC) {
                        assert_int_equal(pub.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
                        assert_int_equal(pub.publicArea.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
                        assert_int_equal(pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
                                         TPM2_ALG_SHA256);
                } else {
                        assert_int_equal(pub.publicArea.parameters.rsaDetail.keyBits, 2048);
                        assert_int_equal(pub.publicArea.parameters.rsaDetail.scheme.scheme, TPM2_ALG_RSASSA);
                        assert_int_equal(pub.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg,
                                         TPM2_ALG_SHA256);
                }
                assert_int_equal(tpm2_public_name(&pub, &computed), 0);
                assert_true(tpm2_name_equal(&computed, &ak_name));
                assert_int_equal(ak_name.size, 34);

                assert_int_equal(stat(path, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0600);

                /* Never silently replaced. */
                assert_int_equal(tpm2_ak_create(c, NULL, name, ek_alg, ak_alg, NULL, NULL), -EEXIST);
                assert_no_leaks(c);
        }

        /* A fresh context loads it on demand: same key, same name, the TPM agrees. */
        {
                _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
                _cleanup_free_ TPM2B_ATTEST *attest = NULL;
                _cleanup_free_ TPMT_SIGNATURE *sig = NULL;
                _cleanup_(esys_freep) TPM2B_NAME *object_name = NULL;
                static const uint8_t nonce[16] = "certify-nonce-01";
                TPMS_ATTEST info = {};
                size_t off = 0;

                assert_int_equal(tpm2_ak_load(c, NULL, name, &ak, &pub2, &ak_name2), 0);
                assert_true(tpm2_public_equal(&pub, &pub2));
                assert_true(tpm2_name_equal(&ak_name, &ak_name2));
                assert_int_equal(tpm2_read_public_verified(c, ak, &tpm_pub, &computed), 0);
                assert_true(tpm2_public_equal(&pub, &tpm_pub));
                assert_true(tpm2_name_equal(&ak_name, &computed));
                assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 1); /* the EK is gone again */

                /* Certify another TPM key (a TLS key stand-in). */
                object = create_signing_primary(c, 42);
                assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), object, &object_name), TSS2_RC_SUCCESS);
                assert_int_equal(tpm2_ak_certify(c, ak, object, nonce, sizeof(nonce), &attest, &sig), 0);

                assert_int_equal(
                        Tss2_MU_TPMS_ATTEST_Unmarshal(attest->attestationData, attest->size, &off, &info),
                        TSS2_RC_SUCCESS);
                assert_int_equal(off, attest->size);
                assert_int_equal(info.magic, TPM2_GENERATED_VALUE);
                assert_int_equal(info.type, TPM2_ST_ATTEST_CERTIFY);
                assert_int_equal(info.attested.certify.name.size, object_name->size);
                assert_memory_equal(info.attested.certify.name.name, object_name->name, object_name->size);
                assert_int_equal(info.extraData.size, sizeof(nonce));
                assert_memory_equal(info.extraData.buffer, nonce, sizeof(nonce));
                assert_true(signature_valid(&pub, attest, sig));

                /* A flipped bit in the attestation does not verify. */
                attest->attestationData[attest->size - 1] ^= 1;
                assert_false(signature_valid(&pub, attest, sig));
                free(TAKE_PTR(attest));
                free(TAKE_PTR(sig));

                /* Only an AK signs certifications; oversized qualifying data is refused. */
                assert_int_equal(tpm2_ak_certify(c, object, ak, NULL, 0, &attest, &sig), -EINVAL);
                assert_int_equal(tpm2_ak_certify(c, ak, object, nonce, 65, &attest, &sig), -EINVAL);
                assert_null(attest);

                tpm2_flush(c, &object);
                tpm2_flush(c, &ak);
                assert_no_leaks(c);
        }
}

static void test_ak_ecc(void **state) {
        run_ak(TPM2_ALG_ECC, TPM2_ALG_ECC, "default");
}

static void test_ak_rsa(void **state) {
        run_ak(TPM2_ALG_RSA, TPM2_ALG_RSA, "rsa");
}

static void test_ak_ecc_under_rsa_ek(void **state) {
        run_ak(TPM2_ALG_RSA, TPM2_ALG_ECC, "ecc-under-rsa");
}

static void write_blob(const char *name, const void *data, size_t size) {
        _cleanup_free_ char *path = blob_path(name);
        assert_int_equal(write_file_atomic(path, data, size, 0600), 0);
}

static void test_ak_tampered(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ char *path = blob_path("victim"), *orig = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        TPM2B_PUBLIC pub;
        ESYS_TR ak = ESYS_TR_NONE;
        size_t size = 0, pub_off = 8;

        assert_int_equal(tpm2_ak_create(c, NULL, "victim", 0, 0, &pub, NULL), 0);
        assert_int_equal(read_full_file(path, SIZE_MAX, &orig, &size), 0);
        buf = malloc(size + 1);
        assert_non_null(buf);

        /* A flipped byte at the end (inside the private part's integrity-protected data): the TPM
         * refuses it. */
        memcpy(buf, orig, size);
        buf[size - 1] ^= 0x55;
        write_blob("t1", buf, size);
        assert_int_equal(tpm2_ak_load(c, NULL, "t1", &ak, NULL, NULL), -EBADMSG);
        assert_int_equal(ak, ESYS_TR_NONE);
        assert_no_leaks(c);

        /* A public area with decrypt added (an AK turned into a decryption key): refused before the TPM. */
        {
                TPM2B_PUBLIC evil = pub;
                size_t off = pub_off;

                evil.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
                memcpy(buf, orig, pub_off);
                assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&evil, buf, size + 1, &off), TSS2_RC_SUCCESS);
                /* Same size (attributes are fixed width), so the private part follows unchanged. */
                memcpy(buf + off, orig + off, size - off);
                write_blob("t2", buf, size);
                assert_int_equal(tpm2_ak_load(c, NULL, "t2", &ak, NULL, NULL), -EBADMSG);
        }

        /* Trailing byte, truncation, wrong magic, wrong version. */
        memcpy(buf, orig, size);
        buf[size] = 0;
        write_blob("t3", buf, size + 1);
        assert_int_equal(tpm2_ak_load(c, NULL, "t3", &ak, NULL, NULL), -EBADMSG);
        write_blob("t4", buf, size - 1);
        assert_int_equal(tpm2_ak_load(c, NULL, "t4", &ak, NULL, NULL), -EBADMSG);
        buf[0] = 'X';
        write_blob("t5", buf, size);
        assert_int_equal(tpm2_ak_load(c, NULL, "t5", &ak, NULL, NULL), -EBADMSG);
        buf[0] = 'T';
        buf[5] = 2;
        write_blob("t6", buf, size);
        assert_int_equal(tpm2_ak_load(c, NULL, "t6", &ak, NULL, NULL), -EBADMSG);
        write_blob("t7", "", 0);
        assert_int_equal(tpm2_ak_load(c, NULL, "t7", &ak, NULL, NULL), -EBADMSG);

        assert_int_equal(tpm2_ak_load(c, NULL, "missing", &ak, NULL, NULL), -ENOENT);
        assert_int_equal(tpm2_ak_load(c, NULL, "../srk", &ak, NULL, NULL), -EINVAL);
        assert_int_equal(tpm2_ak_create(c, NULL, "a/b", 0, 0, NULL, NULL), -EINVAL);
        assert_int_equal(tpm2_ak_create(c, NULL, "x", 0, TPM2_ALG_KEYEDHASH, NULL, NULL), -EINVAL);
        assert_int_equal(ak, ESYS_TR_NONE);

        /* The original still loads. */
        assert_int_equal(tpm2_ak_load(c, NULL, "victim", &ak, NULL, NULL), 0);
        tpm2_flush(c, &ak);

        assert_no_leaks(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ak_ecc),
                cmocka_unit_test(test_ak_rsa),
                cmocka_unit_test(test_ak_ecc_under_rsa_ek),
                cmocka_unit_test(test_ak_tampered),
        };

        log_parse_environment();

        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set (run through "
                        "tests/harness/tp-run --swtpm).\n");
                return EXIT_FAILURE;
        }

        return cmocka_run_group_tests(tests, NULL, NULL);
}
