/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "basic/log.h"
#include "ca/ca-cert.h"
#include "ca/ca-sign.h"
#include "shared/openssl-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CMS_ContentInfo *, CMS_ContentInfo_free);

#define BLOB_MAGIC "TPBLOB1\n"
#define BLOB_MAGIC_SIZE 8U

int ca_sign_detached(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const void *data, size_t size,
                     uint8_t **ret, size_t *ret_size) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(BIO_free_allp) BIO *in = NULL;
        uint8_t *der = NULL;
        int n;

        assert(key);
        assert(cert);
        assert(data || size == 0);
        assert(ret);
        assert(ret_size);

        if (size > CA_SIGN_DATA_MAX || (chain && sk_X509_num(chain) > (int) CA_SIGN_CHAIN_MAX))
                return -EINVAL;
        if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
                ERR_clear_error();
                return log_debug_errno(EINVAL, "The signing certificate is not the key's.");
        }

        in = BIO_new_mem_buf(data, (int) size);
        if (!in)
                return -ENOMEM;
        /* Partial first, so that the digest follows the key (SHA-384 for P-384) and a key held by a
         * provider (TPM) signs through it. */
        cms = CMS_sign(NULL, NULL, chain, NULL, CMS_DETACHED | CMS_BINARY | CMS_PARTIAL);
        if (!cms || !CMS_add1_signer(cms, cert, key, ca_signature_md(key), CMS_BINARY) ||
            CMS_final(cms, in, NULL, CMS_DETACHED | CMS_BINARY) != 1)
                return openssl_errno();
        n = i2d_CMS_ContentInfo(cms, &der);
        if (n <= 0)
                return openssl_errno();
        *ret = der;
        *ret_size = (size_t) n;
        return 0;
}

int ca_verify_detached(const void *signature, size_t signature_size, const void *data, size_t size,
                       STACK_OF(X509) * anchors, X509 **ret_signer) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(BIO_free_allp) BIO *content = NULL;
        STACK_OF(X509) * signers;
        const unsigned char *p = signature;
        X509 *signer;

        assert(signature || signature_size == 0);
        assert(data || size == 0);

        if (signature_size > CA_SIGNATURE_MAX || size > CA_SIGN_DATA_MAX)
                return -E2BIG;
        cms = d2i_CMS_ContentInfo(NULL, &p, (long) signature_size);
        if (!cms || p != (const unsigned char *) signature + signature_size ||
            OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed || !CMS_is_detached(cms)) {
                ERR_clear_error();
                return log_debug_errno(EBADMSG, "Not a detached CMS signature.");
        }

        /* The signature over the data first: a changed file is "does not verify", whoever signed. */
        content = BIO_new_mem_buf(data, (int) size);
        if (!content)
                return -ENOMEM;
        if (CMS_verify(cms, NULL, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
                ERR_clear_error();
                return log_debug_errno(EKEYREJECTED, "The signature does not verify over the data.");
        }

        /* Then the signer against the anchors given, and nothing else. */
        store = X509_STORE_new();
        if (!store)
                return -ENOMEM;
        for (int i = 0; anchors && i < sk_X509_num(anchors); i++)
                if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
                        return openssl_errno();
        /* The usage is checked below (digitalSignature): any EKU profile of ours may sign data. */
        if (X509_STORE_set_purpose(store, X509_PURPOSE_ANY) != 1)
                return openssl_errno();
        (void) BIO_reset(content);
        if (CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) != 1) {
                ERR_clear_error();
                return log_debug_errno(ENOKEY, "The signer does not chain to a trusted anchor.");
        }
        signers = CMS_get0_signers(cms);
        signer = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
        sk_X509_free(signers);
        if (!signer)
                return log_debug_errno(EBADMSG, "The signature has not exactly one signer.");
        if ((X509_get_extension_flags(signer) & EXFLAG_KUSAGE) &&
            !(X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE))
                return log_debug_errno(ENOKEY, "The signer's certificate is not for digital signatures.");

        if (ret_signer) {
                if (X509_up_ref(signer) != 1)
                        return -ENOMEM;
                *ret_signer = signer;
        }
        return 0;
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

int ca_signed_blob_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const void *data, size_t size,
                        uint8_t **ret, size_t *ret_size) {
        _cleanup_(OPENSSL_freep) uint8_t *sig = NULL;
        size_t sig_size, total;
        uint8_t *b;
        int r;

        r = ca_sign_detached(key, cert, chain, data, size, &sig, &sig_size);
        if (r < 0)
                return r;
        total = BLOB_MAGIC_SIZE + 4 + size + 4 + sig_size;
        b = malloc(total);
        if (!b)
                return -ENOMEM;
        memcpy(b, BLOB_MAGIC, BLOB_MAGIC_SIZE);
        put_be32(b + BLOB_MAGIC_SIZE, (uint32_t) size);
        if (size > 0)
                memcpy(b + BLOB_MAGIC_SIZE + 4, data, size);
        put_be32(b + BLOB_MAGIC_SIZE + 4 + size, (uint32_t) sig_size);
        memcpy(b + BLOB_MAGIC_SIZE + 4 + size + 4, sig, sig_size);
        *ret = b;
        *ret_size = total;
        return 0;
}

int ca_signed_blob_open(const void *blob, size_t size, STACK_OF(X509) * anchors, void **ret,
                        size_t *ret_size, X509 **ret_signer) {
        _cleanup_(X509_freep) X509 *signer = NULL;
        const uint8_t *b = blob;
        uint32_t data_size, sig_size;
        void *copy;
        int r;

        assert(blob || size == 0);
        assert(ret);
        assert(ret_size);

        if (size < BLOB_MAGIC_SIZE + 8 || memcmp(b, BLOB_MAGIC, BLOB_MAGIC_SIZE) != 0)
                return log_debug_errno(EBADMSG, "Not a signed blob.");
        data_size = get_be32(b + BLOB_MAGIC_SIZE);
        if (data_size > CA_SIGN_DATA_MAX || data_size > size - BLOB_MAGIC_SIZE - 8)
                return log_debug_errno(EBADMSG, "Signed blob: data size %" PRIu32 " runs past the blob.",
                                       data_size);
        sig_size = get_be32(b + BLOB_MAGIC_SIZE + 4 + data_size);
        if ((size_t) sig_size != size - BLOB_MAGIC_SIZE - 8 - data_size)
                return log_debug_errno(
                        EBADMSG, "Signed blob: signature size %" PRIu32 " does not end the blob.", sig_size);

        r = ca_verify_detached(b + BLOB_MAGIC_SIZE + 8 + data_size, sig_size, b + BLOB_MAGIC_SIZE + 4,
                               data_size, anchors, &signer);
        if (r < 0)
                return r;
        copy = malloc(MAX(data_size, 1U));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, b + BLOB_MAGIC_SIZE + 4, data_size);
        *ret = copy;
        *ret_size = data_size;
        if (ret_signer)
                *ret_signer = TAKE_PTR(signer);
        return 0;
}
