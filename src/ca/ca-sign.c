/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <openssl/x509v3.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-sign.h"
#include "shared/openssl-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CMS_ContentInfo *, CMS_ContentInfo_free);

#define BLOB_MAGIC "TPBLOB1\n"
#define BLOB_MAGIC_SIZE 8U

int ca_sign_detached(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const void *data, size_t size,
                     uint8_t **ret, size_t *ret_size) {
        return ca_sign_detached_ex(NULL, key, cert, chain, data, size, ret, ret_size);
}

int ca_sign_detached_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain,
                        const void *data, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
        const EVP_MD *md;
        X509_ALGOR *digest_alg = NULL;
        const ASN1_OBJECT *digest_oid = NULL;
        CMS_SignerInfo *si;
        uint8_t digest[EVP_MAX_MD_SIZE], *der = NULL;
        unsigned digest_size;
        char props[128], name[64];
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

        /* The signature is made by the key's own provider (a TPM key signs in the TPM): the process prefers
         * the default provider, which would take a TPM key's public half and fail for want of the private
         * one. The CMS object's property query applies to everything it fetches, the content digest
         * included, and the tpm2 provider would hash the data in the TPM, 1 KiB per command. So the CMS is
         * only used to sign the signed attributes (a few hundred bytes); the data's digest, the
         * messageDigest attribute, is computed here with the process's default provider, as CMS_final()
         * would. */
        if (prov && !streq(OSSL_PROVIDER_get0_name(prov), "default"))
                snprintf(props, sizeof(props), "provider=%s", OSSL_PROVIDER_get0_name(prov));
        cms = CMS_sign_ex(NULL, NULL, chain, NULL, CMS_DETACHED | CMS_BINARY | CMS_PARTIAL, libctx,
                          prov && !streq(OSSL_PROVIDER_get0_name(prov), "default") ? props : NULL);
        if (!cms)
                return openssl_errno();
        /* The digest follows the key (SHA-384 for P-384; Ed25519's default, SHA-512, for Ed25519). */
        si = CMS_add1_signer(cms, cert, key, ca_signature_md(key), CMS_BINARY | CMS_PARTIAL);
        if (!si)
                return openssl_errno();
        CMS_SignerInfo_get0_algs(si, NULL, NULL, &digest_alg, NULL);
        X509_ALGOR_get0(&digest_oid, NULL, NULL, digest_alg);
        if (!digest_oid || OBJ_obj2txt(name, sizeof(name), digest_oid, 0) <= 0)
                return -EIO;
        md = EVP_get_digestbyname(name);
        if (!md)
                return log_debug_errno(EOPNOTSUPP, "No digest %s.", name);
        if (EVP_Digest(data, size, digest, &digest_size, md, NULL) != 1)
                return openssl_errno();
        if (CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                        OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
            CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest,
                                        (int) digest_size) != 1)
                return openssl_errno();
        /* Adds signingTime and signs the DER of the signed attributes with the key, through its provider. */
        if (CMS_SignerInfo_sign(si) != 1)
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

        /* The signature over the data first: a changed file is "does not verify", whoever signed.
         * The data go through a buffering BIO: given a memory BIO, OpenSSL 3.0's CMS_verify() makes a
         * read-only copy of it that it leaks when the signature names a digest it cannot set up (found by
         * fuzz-ca-verify; Verify is open to every caller). */
        content = BIO_new(BIO_f_buffer());
        if (!content)
                return -ENOMEM;
        {
                BIO *mem = BIO_new_mem_buf(data, (int) size);
                if (!mem)
                        return -ENOMEM;
                (void) BIO_push(content, mem);
        }
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
