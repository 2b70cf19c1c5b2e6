/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Keys the CA keeps for certificates it issued (ca_issue_generate()): signing with them, and verifying
 * signatures against the CA's root and its index, so that a revoked signer is refused even while its
 * certificate has not expired. */

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-internal.h"
#include "ca/ca-name.h"
#include "ca/ca-sign.h"
#include "shared/openssl-util.h"

#define TSS2_PEM_HEADER "-----BEGIN TSS2 PRIVATE KEY-----"

int ca_held_key_check(Ca *ca, CaKeyStore *store, const char *serial, X509 **ret_cert, char **ret_key_id) {
        _cleanup_(ca_index_entry_freep) CaIndexEntry *entry = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *id = NULL;
        const CaProfile *profile;
        time_t now;
        int r;

        assert(ca);
        assert(store);
        assert(ret_cert);
        assert(ret_key_id);

        r = ca_issued_key_id(serial, &id);
        if (r < 0)
                return r;
        r = ca_lookup(ca, serial, &entry, &cert);
        if (r < 0)
                return r;
        if (entry->status == CA_CERT_REVOKED)
                return log_debug_errno(EKEYREVOKED, "Certificate %s is revoked.", serial);
        now = ca_now(ca);
        if (now < entry->not_before || now >= entry->not_after)
                return log_debug_errno(EKEYEXPIRED, "Certificate %s is not valid now.", serial);
        profile = ca_profile_get(ca_profile_from_string(entry->profile));
        if (!profile || !(profile->key_usage & CA_KU_DIGITAL_SIGNATURE) ||
            !(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
                return log_debug_errno(EPERM, "Certificate %s is not for digital signatures.", serial);

        r = ca_keystore_exists(store, id);
        if (r < 0)
                return r;
        if (r == 0)
                return log_debug_errno(ENOKEY, "The CA keeps no key for certificate %s.", serial);

        *ret_cert = TAKE_PTR(cert);
        *ret_key_id = TAKE_PTR(id);
        return 0;
}

static int key_matches(X509 *cert, EVP_PKEY *key) {
        if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
                ERR_clear_error();
                return log_debug_errno(ENOKEY, "The key is not the key of the certificate.");
        }
        return 0;
}

int ca_held_key_load(Ca *ca, CaKeyStore *store, const char *serial, EVP_PKEY **ret_key, X509 **ret_cert) {
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        assert(ret_key);
        assert(ret_cert);

        r = ca_held_key_check(ca, store, serial, &cert, &id);
        if (r < 0)
                return r;
        r = ca_keystore_load(store, id, &key);
        if (r < 0)
                return r;
        r = key_matches(cert, key);
        if (r < 0)
                return r;

        *ret_key = TAKE_PTR(key);
        *ret_cert = TAKE_PTR(cert);
        return 0;
}

static int sign_with_chain(OSSL_LIB_CTX *libctx, EVP_PKEY *key, X509 *cert, X509 *intermediate,
                           const void *data, size_t size, uint8_t **ret, size_t *ret_size) {
        STACK_OF(X509) * chain;
        int r;

        chain = sk_X509_new_null();
        if (!chain || sk_X509_push(chain, intermediate) <= 0) {
                sk_X509_free(chain);
                return -ENOMEM;
        }
        r = ca_sign_detached_ex(libctx, key, cert, chain, data, size, ret, ret_size);
        sk_X509_free(chain); /* the intermediate is borrowed */
        return r;
}

int ca_held_sign_tpm_file(OSSL_LIB_CTX *libctx, const char *key_path, X509 *cert, X509 *intermediate,
                          const void *data, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        int r;

        assert(libctx);
        assert(key_path);
        assert(cert);
        assert(intermediate);

        r = ca_tpm_key_load_file(libctx, key_path, &key);
        if (r == -ENOENT)
                return -ENOKEY; /* removed since it was checked */
        if (r < 0)
                return r;
        r = key_matches(cert, key);
        if (r < 0)
                return r;
        return sign_with_chain(libctx, key, cert, intermediate, data, size, ret, ret_size);
}

int ca_held_key_wrapped_pem(CaKeyStore *store, const char *serial, char **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_free_ char *id = NULL;
        const OSSL_PROVIDER *prov;
        char *data, *pem;
        long n;
        int r;

        assert(store);
        assert(ret);

        r = ca_issued_key_id(serial, &id);
        if (r < 0)
                return r;
        r = ca_keystore_exists(store, id);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOKEY;
        r = ca_keystore_load(store, id, &key);
        if (r < 0)
                return r;

        prov = EVP_PKEY_get0_provider(key);
        if (!prov || !streq(OSSL_PROVIDER_get0_name(prov), "tpm2")) {
                *ret = NULL;
                return 0;
        }
        /* The tpm2 provider's encoder writes the wrapped blob, never the private key (it has none). */
        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
                return openssl_errno();
        n = BIO_get_mem_data(bio, &data);
        /* Only ever the wrapped form: anything else stays here. */
        if (n <= 0 || (size_t) n < sizeof(TSS2_PEM_HEADER) - 1 ||
            memcmp(data, TSS2_PEM_HEADER, sizeof(TSS2_PEM_HEADER) - 1) != 0) {
                *ret = NULL;
                return 0;
        }
        pem = memdup_suffix0(data, (size_t) n);
        if (!pem)
                return -ENOMEM;
        *ret = pem;
        return 1;
}

int ca_held_sign(Ca *ca, CaKeyStore *store, const char *serial, const void *data, size_t size, uint8_t **ret,
                 size_t *ret_size) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        int r;

        r = ca_held_key_load(ca, store, serial, &key, &cert);
        if (r < 0)
                return r;
        return sign_with_chain(NULL, key, cert, ca->intermediate, data, size, ret, ret_size);
}

static int signer_serial(X509 *cert, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        uint8_t bin[CA_SERIAL_SIZE];

        bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        if (!bn)
                return -ENOMEM;
        /* Not one of our 128-bit serials: not ours. */
        if (BN_is_negative(bn) || BN_bn2binpad(bn, bin, sizeof(bin)) != (int) sizeof(bin))
                return -ENOENT;
        return ca_serial_to_string(bin, ret);
}

int ca_held_verify(Ca *ca, const void *signature, size_t signature_size, const void *data, size_t size,
                   char **ret_subject, char **ret_serial, char **ret_reason) {
        _cleanup_(X509_freep) X509 *signer = NULL;
        _cleanup_(ca_index_entry_freep) CaIndexEntry *entry = NULL;
        _cleanup_free_ char *subject = NULL, *serial = NULL, *reason = NULL;
        STACK_OF(X509) * anchors;
        int r;

        assert(ca);
        assert(ret_subject);
        assert(ret_serial);
        assert(ret_reason);

        /* The root is the anchor. The intermediate is there to complete chains of signatures that do not
         * carry it (openssl cms -sign without -certfile): without X509_V_FLAG_PARTIAL_CHAIN, OpenSSL still
         * builds every chain up to the self-signed root. */
        anchors = sk_X509_new_null();
        if (!anchors || sk_X509_push(anchors, ca->root) <= 0 || sk_X509_push(anchors, ca->intermediate) <= 0) {
                sk_X509_free(anchors);
                return -ENOMEM;
        }
        r = ca_verify_detached(signature, signature_size, data, size, anchors, &signer);
        sk_X509_free(anchors);
        if (r == -EKEYREJECTED)
                reason = strdup("The signature does not match the data.");
        else if (r == -ENOKEY)
                reason = strdup("The signer is not certified by this CA for signing, or its certificate is not "
                                "valid now.");
        else if (r < 0)
                return r;
        else {
                r = ca_name_to_string(X509_get_subject_name(signer), &subject);
                if (r < 0)
                        return r;
                r = signer_serial(signer, &serial);
                if (r >= 0)
                        r = ca_lookup(ca, serial, &entry, NULL);
                if (r == -ENOENT)
                        reason = strdup("The signer's certificate is not in this CA's index.");
                else if (r < 0)
                        return r;
                else if (entry->status == CA_CERT_REVOKED) {
                        if (asprintf(&reason, "The signer's certificate is revoked (%s).",
                                     strna(ca_revocation_reason_to_string(entry->reason))) < 0)
                                return -ENOMEM;
                }
        }
        if (r < 0 && !reason)
                return -ENOMEM;

        *ret_subject = TAKE_PTR(subject);
        *ret_serial = TAKE_PTR(serial);
        *ret_reason = TAKE_PTR(reason);
        return !*ret_reason;
}
