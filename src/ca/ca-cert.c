/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <openssl/provider.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-cert.h"
#include "shared/openssl-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_BIT_STRING *, ASN1_BIT_STRING_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_INTEGER *, ASN1_INTEGER_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BASIC_CONSTRAINTS *, BASIC_CONSTRAINTS_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(AUTHORITY_KEYID *, AUTHORITY_KEYID_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EXTENDED_KEY_USAGE *, EXTENDED_KEY_USAGE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(NAME_CONSTRAINTS *, NAME_CONSTRAINTS_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_EXTENSION *, X509_EXTENSION_free);

const EVP_MD *ca_signature_md(EVP_PKEY *key) {
        if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
                return NULL;
        if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) > 256)
                return EVP_sha384();
        return EVP_sha256();
}

int ca_sign_ctx_new(EVP_PKEY *key, EVP_MD_CTX **ret) {
        return ca_sign_ctx_new_ex(NULL, key, ret);
}

int ca_sign_ctx_new_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *key, EVP_MD_CTX **ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
        const EVP_MD *md = ca_signature_md(key);
        char props[128];

        assert(ret);

        /* The key's own provider signs: the process prefers the default provider, which could take
         * a TPM key's public half and then fail for want of the private one. */
        if (prov)
                snprintf(props, sizeof(props), "provider=%s", OSSL_PROVIDER_get0_name(prov));
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestSignInit_ex(ctx, NULL, md ? EVP_MD_get0_name(md) : NULL, libctx, prov ? props : NULL,
                                  key, NULL) != 1)
                return openssl_errno();
        *ret = TAKE_PTR(ctx);
        return 0;
}

bool ca_url_is_valid(const char *url) {
        size_t n;

        if (!url || !(startswith(url, "http://") || startswith(url, "https://")))
                return false;
        n = strlen(url);
        if (n > 1024 || n <= strlen("https://"))
                return false;
        for (const char *p = url; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f || *p == ',' || *p == '"' || *p == '\\')
                        return false;
        return true;
}

int ca_serial_to_string(const uint8_t serial[static CA_SERIAL_SIZE], char **ret) {
        int r = hexmem(serial, CA_SERIAL_SIZE, ret);
        if (r < 0)
                return r;
        for (char *p = *ret; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        return 0;
}

int ca_serial_from_string(const char *s, uint8_t ret[static CA_SERIAL_SIZE]) {
        _cleanup_free_ void *buf = NULL;
        size_t n;
        int r;

        if (!s || strlen(s) != 2 * CA_SERIAL_SIZE)
                return -EINVAL;
        r = unhexmem(s, SIZE_MAX, &buf, &n);
        if (r < 0)
                return r;
        if (n != CA_SERIAL_SIZE)
                return -EINVAL;
        memcpy(ret, buf, CA_SERIAL_SIZE);
        return 0;
}

int ca_cert_to_pem(X509 *cert, char **ret) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        char *data, *s;
        long n;

        assert(cert);
        assert(ret);

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_X509(bio, cert) != 1)
                return openssl_errno();
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return -EIO;
        s = memdup_suffix0(data, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int key_identifier_of(const X509_PUBKEY *xpk, uint8_t ret[static 20]) {
        const unsigned char *bits;
        uint8_t md[SHA256_DIGEST_LENGTH];
        int len;

        if (X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) != 1 || len <= 0)
                return openssl_errno();
        SHA256(bits, (size_t) len, md);
        memcpy(ret, md, 20);
        return 0;
}

int ca_key_identifier(EVP_PKEY *pkey, uint8_t ret[static 20]) {
        X509_PUBKEY *xpk = NULL;
        int r;

        if (X509_PUBKEY_set(&xpk, pkey) != 1)
                return openssl_errno();
        r = key_identifier_of(xpk, ret);
        X509_PUBKEY_free(xpk);
        return r;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_NULL *, ASN1_NULL_free);

static int add_ext(X509 *cert, int nid, void *value, bool critical) {
        if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1)
                return openssl_errno();
        return 0;
}

/* For extensions whose value is built from configuration we validated (URLs). */
static int add_ext_conf(X509 *cert, int nid, const char *value) {
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;

        ext = X509V3_EXT_nconf_nid(NULL, NULL, nid, value);
        if (!ext)
                return openssl_errno();
        if (X509_add_ext(cert, ext, -1) != 1)
                return openssl_errno();
        return 0;
}

static int add_name_constraints(X509 *cert, char *const *permitted, char *const *excluded) {
        _cleanup_(NAME_CONSTRAINTS_freep) NAME_CONSTRAINTS *nc = NULL;

        if (strv_length(permitted) == 0 && strv_length(excluded) == 0)
                return 0;

        nc = NAME_CONSTRAINTS_new();
        if (!nc)
                return -ENOMEM;
        for (int k = 0; k < 2; k++) {
                char *const *l = k == 0 ? permitted : excluded;
                STACK_OF(GENERAL_SUBTREE) **stack = k == 0 ? &nc->permittedSubtrees : &nc->excludedSubtrees;

                for (char *const *i = l; i && *i; i++) {
                        GENERAL_SUBTREE *st;
                        ASN1_IA5STRING *s;

                        if (!*stack && !(*stack = sk_GENERAL_SUBTREE_new_null()))
                                return -ENOMEM;
                        st = GENERAL_SUBTREE_new();
                        s = ASN1_IA5STRING_new();
                        if (!st || !s || ASN1_STRING_set(s, *i, -1) != 1) {
                                GENERAL_SUBTREE_free(st);
                                ASN1_IA5STRING_free(s);
                                return -ENOMEM;
                        }
                        GENERAL_NAME_set0_value(st->base, GEN_DNS, s);
                        if (sk_GENERAL_SUBTREE_push(*stack, st) <= 0) {
                                GENERAL_SUBTREE_free(st);
                                return -ENOMEM;
                        }
                }
        }
        /* Critical, as RFC 5280 4.2.1.10 requires. */
        return add_ext(cert, NID_name_constraints, nc, true);
}

int ca_cert_build(const CaCertTemplate *t, X509 **ret) {
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        _cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *serial = NULL;
        _cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *ski = NULL;
        _cleanup_(AUTHORITY_KEYID_freep) AUTHORITY_KEYID *aki = NULL;
        _cleanup_(BASIC_CONSTRAINTS_freep) BASIC_CONSTRAINTS *bc = NULL;
        _cleanup_(ASN1_BIT_STRING_freep) ASN1_BIT_STRING *ku = NULL;
        uint8_t keyid[20];
        int r;

        assert(t);
        assert(t->subject && t->subject_key && (t->issuer_key || t->issuer));
        assert(ret);

        if (t->not_after <= t->not_before)
                return -EINVAL;

        cert = X509_new();
        if (!cert)
                return -ENOMEM;
        if (X509_set_version(cert, X509_VERSION_3) != 1)
                return openssl_errno();

        bn = BN_bin2bn(t->serial, CA_SERIAL_SIZE, NULL);
        if (!bn)
                return -ENOMEM;
        if (BN_is_zero(bn))
                return -EINVAL;
        serial = BN_to_ASN1_INTEGER(bn, NULL);
        if (!serial || X509_set_serialNumber(cert, serial) != 1)
                return openssl_errno();

        if (X509_set_subject_name(cert, t->subject) != 1 ||
            X509_set_issuer_name(cert, t->issuer ? X509_get_subject_name(t->issuer) : t->subject) != 1)
                return openssl_errno();
        if (!ASN1_TIME_set(X509_getm_notBefore(cert), t->not_before) ||
            !ASN1_TIME_set(X509_getm_notAfter(cert), t->not_after))
                return openssl_errno();
        if (X509_set_pubkey(cert, t->subject_key) != 1)
                return openssl_errno();

        /* basicConstraints: critical, always present (RFC 5280 4.2.1.9 for CAs; for leaves it makes
         * "not a CA" explicit for relying parties that assume otherwise). */
        bc = BASIC_CONSTRAINTS_new();
        if (!bc)
                return -ENOMEM;
        bc->ca = t->ca ? 0xFF : 0;
        if (t->ca && t->pathlen >= 0) {
                bc->pathlen = ASN1_INTEGER_new();
                if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, t->pathlen) != 1)
                        return -ENOMEM;
        }
        r = add_ext(cert, NID_basic_constraints, bc, true);
        if (r < 0)
                return r;

        ku = ASN1_BIT_STRING_new();
        if (!ku)
                return -ENOMEM;
        for (int bit = 0; bit < 9; bit++)
                if ((t->key_usage & (1U << bit)) && ASN1_BIT_STRING_set_bit(ku, bit, 1) != 1)
                        return -ENOMEM;
        r = add_ext(cert, NID_key_usage, ku, true);
        if (r < 0)
                return r;

        if (t->n_eku > 0 || t->eku_oid) {
                _cleanup_(EXTENDED_KEY_USAGE_freep) EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
                if (!eku)
                        return -ENOMEM;
                for (size_t i = 0; i <= t->n_eku; i++) {
                        ASN1_OBJECT *o;

                        if (i == t->n_eku && !t->eku_oid)
                                break;
                        o = i < t->n_eku ? OBJ_dup(OBJ_nid2obj(t->eku_nids[i])) : OBJ_txt2obj(t->eku_oid, 1);
                        if (!o || sk_ASN1_OBJECT_push(eku, o) <= 0) {
                                ASN1_OBJECT_free(o);
                                return -ENOMEM;
                        }
                }
                r = add_ext(cert, NID_ext_key_usage, eku, false);
                if (r < 0)
                        return r;
        }

        /* SKI from the subject's own key (as encoded into the certificate above: encoding it a second
         * time costs as much as signing); AKI = the issuer's SKI (our own for a self-signed root). */
        r = key_identifier_of(X509_get_X509_PUBKEY(cert), keyid);
        if (r < 0)
                return r;
        ski = ASN1_OCTET_STRING_new();
        if (!ski || ASN1_OCTET_STRING_set(ski, keyid, sizeof(keyid)) != 1)
                return -ENOMEM;
        r = add_ext(cert, NID_subject_key_identifier, ski, false);
        if (r < 0)
                return r;

        aki = AUTHORITY_KEYID_new();
        if (!aki)
                return -ENOMEM;
        if (t->issuer) {
                const ASN1_OCTET_STRING *issuer_ski = X509_get0_subject_key_id(t->issuer);
                if (!issuer_ski)
                        return log_debug_errno(EINVAL, "Issuer certificate has no subject key identifier.");
                aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski);
        } else
                aki->keyid = ASN1_OCTET_STRING_dup(ski);
        if (!aki->keyid)
                return -ENOMEM;
        r = add_ext(cert, NID_authority_key_identifier, aki, false);
        if (r < 0)
                return r;

        if (t->ocsp_nocheck) {
                _cleanup_(ASN1_NULL_freep) ASN1_NULL *null = ASN1_NULL_new();

                if (!null)
                        return -ENOMEM;
                r = add_ext(cert, NID_id_pkix_OCSP_noCheck, null, false);
                if (r < 0)
                        return r;
        }

        if (t->sans && sk_GENERAL_NAME_num(t->sans) > 0) {
                /* Critical when the subject is empty (RFC 5280 4.2.1.6): TPM certificates may have one. */
                r = add_ext(cert, NID_subject_alt_name, (void *) t->sans,
                            t->san_critical || X509_NAME_entry_count(t->subject) == 0);
                if (r < 0)
                        return r;
        }

        if (t->ca) {
                r = add_name_constraints(cert, t->permitted_dns, t->excluded_dns);
                if (r < 0)
                        return r;
        }

        if (t->crl_url) {
                _cleanup_free_ char *v = NULL;
                if (!ca_url_is_valid(t->crl_url) || asprintf(&v, "URI:%s", t->crl_url) < 0)
                        return -EINVAL;
                r = add_ext_conf(cert, NID_crl_distribution_points, v);
                if (r < 0)
                        return r;
        }
        if (t->ca_issuers_url || t->ocsp_url) {
                _cleanup_free_ char *v = NULL;
                if ((t->ca_issuers_url && !ca_url_is_valid(t->ca_issuers_url)) ||
                    (t->ocsp_url && !ca_url_is_valid(t->ocsp_url)))
                        return -EINVAL;
                if (!strextend(&v, t->ocsp_url ? "OCSP;URI:" : "", strempty(t->ocsp_url),
                               t->ocsp_url && t->ca_issuers_url ? "," : "",
                               t->ca_issuers_url ? "caIssuers;URI:" : "", strempty(t->ca_issuers_url)))
                        return -ENOMEM;
                r = add_ext_conf(cert, NID_info_access, v);
                if (r < 0)
                        return r;
        }

        if (t->issuer_key) {
                r = ca_cert_sign(cert, NULL, t->issuer_key);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(cert);
        return 0;
}

int ca_cert_sign(X509 *cert, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sign_ctx = NULL;
        int r;

        assert(cert);
        assert(key);

        r = ca_sign_ctx_new_ex(libctx, key, &sign_ctx);
        if (r < 0)
                return r;
        if (X509_sign_ctx(cert, sign_ctx) <= 0)
                return openssl_errno();
        return 0;
}
