/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-internal.h"
#include "ca/ca-name.h"
#include "shared/openssl-util.h"

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 8192 /* larger keys only cost us CPU time on every verification */
#define SERIAL_ATTEMPTS 8

static void extensions_freep(STACK_OF(X509_EXTENSION) * *s) {
        sk_X509_EXTENSION_pop_free(*s, X509_EXTENSION_free);
}

/* Refuses keys a relying party should not trust: short or oversized RSA, RSA with an even or tiny
 * public exponent, EC keys on curves other than the NIST ones or with explicit parameters. */
static int check_public_key(EVP_PKEY *pkey) {
        if (EVP_PKEY_is_a(pkey, "RSA")) {
                _cleanup_(BN_freep) BIGNUM *e = NULL;
                int bits = EVP_PKEY_get_bits(pkey);

                if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
                        return log_debug_errno(EKEYREJECTED, "RSA key of %i bits refused.", bits);
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
                        return openssl_errno();
                if (!BN_is_odd(e) || BN_num_bits(e) < 17)
                        return log_debug_errno(EKEYREJECTED, "RSA key with a weak public exponent refused.");
                return 0;
        }
        if (EVP_PKEY_is_a(pkey, "EC")) {
                _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
                char group[64];

                if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                                   NULL) != 1) {
                        (void) openssl_errno();
                        return log_debug_errno(EOPNOTSUPP, "EC key without a named curve refused.");
                }
                if (!streq(group, "prime256v1") && !streq(group, "secp384r1") && !streq(group, "secp521r1") &&
                    !streq(group, "P-256") && !streq(group, "P-384") && !streq(group, "P-521"))
                        return log_debug_errno(EOPNOTSUPP, "EC key on curve '%s' refused.", group);
                ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
                if (!ctx)
                        return -ENOMEM;
                if (EVP_PKEY_public_check(ctx) != 1) {
                        (void) openssl_errno();
                        return log_debug_errno(EKEYREJECTED, "EC public key is not a valid point.");
                }
                return 0;
        }
        if (EVP_PKEY_is_a(pkey, "ED25519"))
                return 0;
        return log_debug_errno(EOPNOTSUPP, "Key type %s refused.", strna(EVP_PKEY_get0_type_name(pkey)));
}

int ca_csr_load(const void *csr, size_t csr_size, X509_REQ **ret) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        EVP_PKEY *pkey;
        int r;

        assert(ret);

        if (!csr || csr_size == 0)
                return -EINVAL;
        if (csr_size > CA_CSR_SIZE_MAX)
                return log_debug_errno(E2BIG, "CSR of %zu bytes, more than %u.", csr_size, CA_CSR_SIZE_MAX);

        if (csr_size >= 11 && memcmp(csr, "-----BEGIN ", 11) == 0) {
                _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf(csr, (int) csr_size);
                if (!bio)
                        return -ENOMEM;
                req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
        } else {
                const unsigned char *p = csr;
                req = d2i_X509_REQ(NULL, &p, (long) csr_size);
                if (req && p != (const unsigned char *) csr + csr_size)
                        return log_debug_errno(EINVAL, "Trailing bytes after the CSR.");
        }
        if (!req) {
                (void) openssl_errno();
                return log_debug_errno(EINVAL, "Not a certificate signing request.");
        }
        if (X509_REQ_get_version(req) != X509_REQ_VERSION_1)
                return log_debug_errno(EINVAL, "CSR version %li is not 1.", X509_REQ_get_version(req) + 1);

        pkey = X509_REQ_get0_pubkey(req);
        if (!pkey) {
                (void) openssl_errno();
                return log_debug_errno(EOPNOTSUPP, "CSR key is not understood.");
        }
        r = check_public_key(pkey);
        if (r < 0)
                return r;

        /* Proof of possession. */
        if (X509_REQ_verify(req, pkey) != 1) {
                (void) openssl_errno();
                return log_debug_errno(EBADMSG, "CSR signature does not verify.");
        }

        *ret = TAKE_PTR(req);
        return 0;
}

/* The requested SANs (only read, never copied): NULL if none were requested. */
static int csr_get_sans(X509_REQ *req, GENERAL_NAMES **ret) {
        _cleanup_(extensions_freep) STACK_OF(X509_EXTENSION) *exts = NULL;
        GENERAL_NAMES *names;
        int crit = -1;

        exts = X509_REQ_get_extensions(req);
        if (!exts) {
                (void) openssl_errno();
                /* NULL for "none" and for "could not decode": only the first is fine. A request whose
                 * extensions we cannot read might hold SANs the profile must see. */
                if (X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0 ||
                    X509_REQ_get_attr_by_NID(req, NID_ms_ext_req, -1) >= 0)
                        return log_debug_errno(EINVAL, "CSR has a malformed extension request.");
                *ret = NULL;
                return 0;
        }
        names = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
        if (!names && crit == -2)
                return log_debug_errno(EINVAL, "CSR requests subjectAltName more than once.");
        if (!names && crit >= 0) {
                (void) openssl_errno();
                return log_debug_errno(EINVAL, "CSR requests a malformed subjectAltName.");
        }
        *ret = names;
        return 0;
}

/* Every CN of subject must be one of the names, as "DNS:<cn>" or "IP:<cn>". */
static int check_cn_in_sans(const X509_NAME *subject, char *const *sans) {
        for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
                const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
                _cleanup_free_ char *dns = NULL, *ip = NULL;
                int len = ASN1_STRING_length(v);

                /* The sanitized subject holds printable values without NUL bytes. */
                if (asprintf(&dns, "DNS:%.*s", len, ASN1_STRING_get0_data(v)) < 0 ||
                    asprintf(&ip, "IP:%.*s", len, ASN1_STRING_get0_data(v)) < 0)
                        return -ENOMEM;
                if (!strv_contains(sans, dns) && !strv_contains(sans, ip))
                        return log_debug_errno(EINVAL,
                                               "Subject CN '%s' is not one of the subject alternative names.",
                                               dns + 4);
        }
        return 0;
}

int ca_csr_check_content(X509_REQ *req, CaProfileId profile_id, X509_NAME **ret_subject,
                         GENERAL_NAMES **ret_sans, char ***ret_san_strv) {
        _cleanup_(X509_NAME_freep) X509_NAME *subject = NULL;
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *requested = NULL, *sans = NULL;
        _cleanup_strv_free_ char **strv = NULL;
        const CaProfile *profile;
        int r;

        assert(req);
        assert(ret_subject);
        assert(ret_sans);

        profile = ca_profile_get(profile_id);
        if (!profile)
                return -EINVAL;

        r = ca_name_sanitize(X509_REQ_get_subject_name(req), &subject);
        if (r < 0)
                return r;

        r = csr_get_sans(req, &requested);
        if (r < 0)
                return r;
        r = ca_san_sanitize(requested, profile->allowed_sans, &sans, &strv);
        if (r < 0)
                return r;
        if (profile->san_required && sk_GENERAL_NAME_num(sans) <= 0)
                return log_debug_errno(EINVAL, "The %s profile needs at least one subject alternative name.",
                                       profile->name);
        if (profile->cn_in_sans) {
                r = check_cn_in_sans(subject, strv);
                if (r < 0)
                        return r;
        }

        *ret_subject = TAKE_PTR(subject);
        *ret_sans = TAKE_PTR(sans);
        if (ret_san_strv)
                *ret_san_strv = TAKE_PTR(strv);
        return 0;
}

static int pick_serial(Ca *ca, uint8_t serial[static CA_SERIAL_SIZE], char **ret) {
        int r;

        for (unsigned i = 0; i < SERIAL_ATTEMPTS; i++) {
                _cleanup_free_ char *s = NULL;

                r = ca_random_serial(ca, serial);
                if (r == -EAGAIN)
                        continue;
                if (r < 0)
                        return r;
                r = ca_serial_to_string(serial, &s);
                if (r < 0)
                        return r;
                r = ca_index_exists(ca->dir, s);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret = TAKE_PTR(s);
                        return 0;
                }
                log_debug("Serial %s is taken, drawing another one.", s);
        }
        /* 128 random bits never collide 8 times in a row: the random source is broken. */
        return log_debug_errno(EIO, "No unused serial number after %u attempts.", SERIAL_ATTEMPTS);
}

int ca_issue(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request, X509 **ret,
             char **ret_serial) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(X509_NAME_freep) X509_NAME *subject = NULL;
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *sans = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_strv_free_ char **san_strv = NULL;
        _cleanup_free_ char *serial_str = NULL, *subject_str = NULL;
        const CaProfile *profile;
        CaCertTemplate t = {};
        unsigned days;
        time_t now, limit;
        int r;

        assert(ca);
        assert(request);
        assert(ret);

        profile = ca_profile_get(request->profile);
        if (!profile)
                return -EINVAL;
        days = request->validity_days ?: profile->default_days;
        if (days > profile->max_days)
                return log_debug_errno(EINVAL, "Validity of %u days is more than the %s profile allows (%u).",
                                       days, profile->name, profile->max_days);

        r = ca_csr_load(csr, csr_size, &req);
        if (r < 0)
                return r;

        r = ca_csr_check_content(req, request->profile, &subject, &sans, &san_strv);
        if (r < 0)
                return r;

        if (profile->ca && X509_get_pathlen(ca->intermediate) == 0)
                return log_debug_errno(EINVAL, "The intermediate's path length does not allow a sub-CA.");

        now = ca_now(ca);
        r = ca_asn1_time_to_time_t(X509_get0_notAfter(ca->intermediate), &limit);
        if (r < 0)
                return r;
        if (limit <= now)
                return log_debug_errno(EKEYEXPIRED, "The intermediate CA certificate has expired.");

        r = pick_serial(ca, t.serial, &serial_str);
        if (r < 0)
                return r;

        t.subject = subject;
        t.subject_key = X509_REQ_get0_pubkey(req);
        t.issuer = ca->intermediate;
        t.issuer_key = ca->signing_key;
        t.not_before = now - CA_BACKDATE_SEC;
        t.not_after = MIN(now + (time_t) days * 24 * 3600, limit);
        t.ca = profile->ca;
        t.pathlen = profile->ca ? profile->pathlen : -1;
        t.key_usage = profile->key_usage;
        if (profile->key_encipherment_for_rsa && EVP_PKEY_is_a(t.subject_key, "RSA"))
                t.key_usage |= CA_KU_KEY_ENCIPHERMENT;
        t.eku_nids = profile->eku_nids;
        t.n_eku = profile->n_eku;
        t.sans = sans;
        t.crl_url = ca->crl_url;
        t.ca_issuers_url = ca->ca_issuers_url;
        t.ocsp_url = ca->ocsp_url;

        r = ca_cert_build(&t, &cert);
        if (r < 0)
                return log_debug_errno(r, "Failed to build the certificate: %m");

        r = ca_name_to_string(subject, &subject_str);
        if (r < 0)
                return r;

        {
                CaIndexEntry e = {
                        .subject = subject_str,
                        .sans = san_strv,
                        .profile = (char *) profile->name,
                        .not_before = t.not_before,
                        .not_after = t.not_after,
                        .status = CA_CERT_VALID,
                };
                memcpy(e.serial, serial_str, sizeof(e.serial));
                r = ca_index_add(ca->dir, &e, cert);
                if (r < 0)
                        return r;
        }

        log_debug("Issued %s certificate %s for %s.", profile->name, serial_str, subject_str);
        if (ret_serial)
                *ret_serial = TAKE_PTR(serial_str);
        *ret = TAKE_PTR(cert);
        return 0;
}
