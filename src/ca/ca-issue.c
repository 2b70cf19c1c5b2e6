/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
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

        if (profile->subject_optional && X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0) {
                subject = X509_NAME_new();
                if (!subject)
                        return -ENOMEM;
        } else {
                r = ca_name_sanitize(X509_REQ_get_subject_name(req), &subject);
                if (r < 0)
                        return r;
        }

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

/* A certificate built and signed but not yet recorded. */
typedef struct Issued {
        X509 *cert;
        char *serial;
        char *subject;
        char **sans;
        const CaProfile *profile;
        time_t not_before, not_after;
} Issued;

static void issued_done(Issued *i) {
        X509_free(i->cert);
        free(i->serial);
        free(i->subject);
        strv_free(i->sans);
        *i = (Issued){};
}

static void issued_entry(const Issued *i, CaIndexEntry *ret) {
        *ret = (CaIndexEntry){
                .subject = i->subject,
                .sans = i->sans,
                .profile = (char *) i->profile->name,
                .not_before = i->not_before,
                .not_after = i->not_after,
                .status = CA_CERT_VALID,
        };
        memcpy(ret->serial, i->serial, sizeof(ret->serial));
}

/* The request's profile, validity and the TPM attributes it needs, and an intermediate that can still
 * issue: everything that does not depend on the key or the names. */
static int issue_check_request(Ca *ca, const CaIssueRequest *request, const CaProfile **ret_profile,
                               unsigned *ret_days) {
        const CaProfile *profile;
        unsigned days;
        time_t limit;
        int r;

        assert(ca);
        assert(request);

        profile = ca_profile_get(request->profile);
        if (!profile)
                return -EINVAL;
        days = request->validity_days ?: profile->default_days;
        if (days > profile->max_days)
                return log_debug_errno(EINVAL, "Validity of %u days is more than the %s profile allows (%u).",
                                       days, profile->name, profile->max_days);
        if (profile->tpm_san) {
                r = ca_tpm_info_check(request->tpm);
                if (r < 0)
                        return log_debug_errno(r, "The %s profile needs valid TPM attributes: %m",
                                               profile->name);
        } else if (request->tpm)
                return log_debug_errno(EINVAL, "The %s profile takes no TPM attributes.", profile->name);
        if (profile->ca && X509_get_pathlen(ca->intermediate) == 0)
                return log_debug_errno(EINVAL, "The intermediate's path length does not allow a sub-CA.");
        r = ca_asn1_time_to_time_t(X509_get0_notAfter(ca->intermediate), &limit);
        if (r < 0)
                return r;
        if (limit <= ca_now(ca))
                return log_debug_errno(EKEYEXPIRED, "The intermediate CA certificate has expired.");

        *ret_profile = profile;
        *ret_days = days;
        return 0;
}

/* Adds the TPM's directoryName to sans (creating the list) and its text to *strv. */
static int add_tpm_san(const CaTpmInfo *tpm, GENERAL_NAMES **sans, char ***strv) {
        _cleanup_free_ char *text = NULL;
        GENERAL_NAME *gn = NULL;
        char buf[512];
        int r;

        r = ca_tpm_info_to_general_name(tpm, &gn);
        if (r < 0)
                return r;
        if (!*sans && !(*sans = sk_GENERAL_NAME_new_null())) {
                GENERAL_NAME_free(gn);
                return -ENOMEM;
        }
        if (!X509_NAME_oneline(gn->d.directoryName, buf, sizeof(buf)) ||
            asprintf(&text, "DirName:%s", buf) < 0 || sk_GENERAL_NAME_push(*sans, gn) <= 0) {
                GENERAL_NAME_free(gn);
                return -ENOMEM;
        }
        return strv_extend(strv, text);
}

/* Builds and signs a certificate for subject_key under profile: takes subject, sans and san_strv, adds
 * the TPM SAN where the profile has one, and draws a serial unused in the index unless serial is
 * given. issue_check_request() has passed. */
static int issue_build(Ca *ca, const CaProfile *profile, unsigned days, const CaIssueRequest *request,
                       X509_NAME *subject, GENERAL_NAMES *sans, char **san_strv, EVP_PKEY *subject_key,
                       const char *serial, bool sign, Issued *ret) {
        _cleanup_(X509_NAME_freep) X509_NAME *subject_owned = subject;
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *sans_owned = sans;
        _cleanup_strv_free_ char **strv = san_strv;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *serial_str = NULL, *subject_str = NULL;
        CaCertTemplate t = {};
        time_t now, limit;
        int r;

        if (profile->tpm_san) {
                r = add_tpm_san(request->tpm, &sans_owned, &strv);
                if (r < 0)
                        return r;
        }

        now = ca_now(ca);
        r = ca_asn1_time_to_time_t(X509_get0_notAfter(ca->intermediate), &limit);
        if (r < 0)
                return r;

        if (serial) {
                r = ca_serial_from_string(serial, t.serial);
                if (r < 0)
                        return r;
                serial_str = strdup(serial);
                if (!serial_str)
                        return -ENOMEM;
        } else {
                r = pick_serial(ca, t.serial, &serial_str);
                if (r < 0)
                        return r;
        }

        t.subject = subject_owned;
        t.subject_key = subject_key;
        t.issuer = ca->intermediate;
        t.issuer_key = sign ? ca->signing_key : NULL;
        t.not_before = now - CA_BACKDATE_SEC;
        t.not_after = MIN(now + (time_t) days * 24 * 3600, limit);
        t.ca = profile->ca;
        t.pathlen = profile->ca ? profile->pathlen : -1;
        t.key_usage = profile->key_usage;
        if (profile->key_encipherment_for_rsa && EVP_PKEY_is_a(t.subject_key, "RSA"))
                t.key_usage |= CA_KU_KEY_ENCIPHERMENT;
        if (profile->key_agreement_for_ec && EVP_PKEY_is_a(t.subject_key, "EC"))
                t.key_usage |= CA_KU_KEY_AGREEMENT;
        if (t.key_usage == 0)
                return log_debug_errno(EOPNOTSUPP, "The %s profile has no key usage for a %s key.",
                                       profile->name, strna(EVP_PKEY_get0_type_name(t.subject_key)));
        t.eku_nids = profile->eku_nids;
        t.n_eku = profile->n_eku;
        t.eku_oid = profile->eku_oid;
        t.sans = sans_owned;
        t.crl_url = ca->crl_url;
        t.ca_issuers_url = ca->ca_issuers_url;
        t.ocsp_url = ca->ocsp_url;
        t.ocsp_nocheck = profile->ocsp_nocheck;

        r = ca_cert_build(&t, &cert);
        if (r < 0)
                return log_debug_errno(r, "Failed to build the certificate: %m");

        r = ca_name_to_string(subject_owned, &subject_str);
        if (r < 0)
                return r;

        *ret = (Issued){
                .cert = TAKE_PTR(cert),
                .serial = TAKE_PTR(serial_str),
                .subject = TAKE_PTR(subject_str),
                .sans = TAKE_PTR(strv),
                .profile = profile,
                .not_before = t.not_before,
                .not_after = t.not_after,
        };
        return 0;
}

/* Everything of ca_issue() but the record: checks the request and the CSR, draws a serial unused in
 * the index, builds and signs the certificate. */
static int issue_prepare(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request, bool sign,
                         Issued *ret) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        X509_NAME *subject = NULL;
        GENERAL_NAMES *sans = NULL;
        char **san_strv = NULL;
        const CaProfile *profile;
        unsigned days;
        int r;

        assert(ret);

        r = issue_check_request(ca, request, &profile, &days);
        if (r < 0)
                return r;

        r = ca_csr_load(csr, csr_size, &req);
        if (r < 0)
                return r;

        r = ca_csr_check_content(req, request->profile, &subject, &sans, &san_strv);
        if (r < 0)
                return r;

        return issue_build(ca, profile, days, request, subject, sans, san_strv, X509_REQ_get0_pubkey(req),
                           NULL, sign, ret);
}

/* Parses "DNS:x", "IP:x", "email:x", "URI:x" into a GENERAL_NAME (checked afterwards by
 * ca_san_sanitize()). */
static int san_from_string(const char *s, GENERAL_NAME **ret) {
        static const struct {
                const char *prefix;
                int type;
        } kinds[] = {
                { "DNS:", GEN_DNS },
                { "IP:", GEN_IPADD },
                { "email:", GEN_EMAIL },
                { "URI:", GEN_URI },
        };

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                const char *v = startswith(s, kinds[i].prefix);
                GENERAL_NAME *gn;

                if (!v)
                        continue;
                if (isempty(v) || strlen(v) > CA_SAN_VALUE_MAX)
                        return -EINVAL;
                gn = a2i_GENERAL_NAME(NULL, NULL, NULL, kinds[i].type, v, 0);
                if (!gn) {
                        (void) openssl_errno();
                        return log_debug_errno(EINVAL, "Invalid subject alternative name '%s'.", s);
                }
                *ret = gn;
                return 0;
        }
        return log_debug_errno(EINVAL, "Subject alternative name '%s' is not DNS:, IP:, email: or URI:.", s);
}

/* The subject and SANs of a request given as text, checked like a CSR's. */
static int names_from_strings(const CaProfile *profile, const char *subject, char *const *sans,
                              X509_NAME **ret_subject, GENERAL_NAMES **ret_sans, char ***ret_strv) {
        _cleanup_(X509_NAME_freep) X509_NAME *parsed = NULL, *name = NULL;
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *requested = NULL, *checked = NULL;
        _cleanup_strv_free_ char **strv = NULL;
        size_t n = strv_length(sans);
        int r;

        if (n > CA_SAN_MAX)
                return log_debug_errno(E2BIG, "%zu subject alternative names, more than %u.", n, CA_SAN_MAX);

        if (isempty(subject)) {
                if (!profile->subject_optional)
                        return log_debug_errno(EINVAL, "The %s profile needs a subject.", profile->name);
                name = X509_NAME_new();
                if (!name)
                        return -ENOMEM;
        } else {
                r = ca_name_parse(subject, &parsed);
                if (r < 0)
                        return r;
                /* The same checks (and rebuild) as a CSR's subject gets. */
                r = ca_name_sanitize(parsed, &name);
                if (r < 0)
                        return r;
        }

        requested = sk_GENERAL_NAME_new_null();
        if (!requested)
                return -ENOMEM;
        STRV_FOREACH(i, (char **) sans) {
                GENERAL_NAME *gn = NULL;

                r = san_from_string(*i, &gn);
                if (r < 0)
                        return r;
                if (sk_GENERAL_NAME_push(requested, gn) <= 0) {
                        GENERAL_NAME_free(gn);
                        return -ENOMEM;
                }
        }
        r = ca_san_sanitize(requested, profile->allowed_sans, &checked, &strv);
        if (r < 0)
                return r;
        if (profile->san_required && sk_GENERAL_NAME_num(checked) <= 0)
                return log_debug_errno(EINVAL, "The %s profile needs at least one subject alternative name.",
                                       profile->name);
        if (profile->cn_in_sans) {
                r = check_cn_in_sans(name, strv);
                if (r < 0)
                        return r;
        }

        *ret_subject = TAKE_PTR(name);
        *ret_sans = TAKE_PTR(checked);
        *ret_strv = TAKE_PTR(strv);
        return 0;
}

static int issue_record(Ca *ca, Issued *i, X509 **ret, char **ret_serial) {
        CaIndexEntry e;
        int r;

        issued_entry(i, &e);
        r = ca_index_add(ca->dir, &e, i->cert);
        if (r < 0)
                return r;

        log_debug("Issued %s certificate %s for %s.", i->profile->name, i->serial, i->subject);
        if (ret_serial)
                *ret_serial = TAKE_PTR(i->serial);
        *ret = TAKE_PTR(i->cert);
        return 0;
}

int ca_issue_key(Ca *ca, EVP_PKEY *key, const char *subject, char *const *sans,
                 const CaIssueRequest *request, X509 **ret, char **ret_serial) {
        _cleanup_(issued_done) Issued i = {};
        X509_NAME *name = NULL;
        GENERAL_NAMES *gns = NULL;
        char **strv = NULL;
        const CaProfile *profile;
        unsigned days;
        int r;

        assert(key);
        assert(ret);

        r = issue_check_request(ca, request, &profile, &days);
        if (r < 0)
                return r;
        r = check_public_key(key);
        if (r < 0)
                return r;
        r = names_from_strings(profile, subject, sans, &name, &gns, &strv);
        if (r < 0)
                return r;
        r = issue_build(ca, profile, days, request, name, gns, strv, key, NULL, /* sign= */ true, &i);
        if (r < 0)
                return r;
        return issue_record(ca, &i, ret, ret_serial);
}

int ca_issued_key_id(const char *serial, char **ret) {
        uint8_t bin[CA_SERIAL_SIZE];
        char *id;
        int r;

        assert(ret);

        r = ca_serial_from_string(serial, bin);
        if (r < 0)
                return r;
        if (asprintf(&id, "cert-%s", serial) < 0)
                return -ENOMEM;
        /* Store ids are lower case. */
        for (char *p = id; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        assert(ca_key_id_is_valid(id));
        *ret = id;
        return 0;
}

struct CaIssuePrepared {
        const CaProfile *profile;
        unsigned days;
        CaIssueRequest request;
        CaKeyType key_type;
        X509_NAME *name;
        GENERAL_NAMES *gns;
        char **strv;
        char *serial;
        char *key_id;
};

CaIssuePrepared *ca_issue_prepared_free(CaIssuePrepared *p) {
        if (!p)
                return NULL;
        X509_NAME_free(p->name);
        GENERAL_NAMES_free(p->gns);
        strv_free(p->strv);
        free(p->serial);
        free(p->key_id);
        return mfree(p);
}

const char *ca_issue_prepared_key_id(const CaIssuePrepared *p) {
        return p->key_id;
}

CaKeyType ca_issue_prepared_key_type(const CaIssuePrepared *p) {
        return p->key_type;
}

int ca_issue_generate_prepare(Ca *ca, CaKeyType key_type, const char *subject, char *const *sans,
                              const CaIssueRequest *request, CaIssuePrepared **ret) {
        _cleanup_(ca_issue_prepared_freep) CaIssuePrepared *p = NULL;
        uint8_t bin[CA_SERIAL_SIZE];
        int r;

        assert(ca);
        assert(request);
        assert(ret);

        p = calloc(1, sizeof(CaIssuePrepared));
        if (!p)
                return -ENOMEM;

        /* Every check first: a refused request leaves no key behind. */
        r = issue_check_request(ca, request, &p->profile, &p->days);
        if (r < 0)
                return r;
        if (!p->profile->daemon_key)
                return log_debug_errno(EINVAL, "The %s profile is not for keys the CA makes and keeps.",
                                       p->profile->name);
        if (!ca_key_type_to_string(key_type))
                return -EINVAL;
        r = names_from_strings(p->profile, subject, sans, &p->name, &p->gns, &p->strv);
        if (r < 0)
                return r;

        r = pick_serial(ca, bin, &p->serial);
        if (r < 0)
                return r;
        r = ca_issued_key_id(p->serial, &p->key_id);
        if (r < 0)
                return r;
        p->request = *request;
        p->key_type = key_type;
        *ret = TAKE_PTR(p);
        return 0;
}

/* After a failed issuance the process lives through: the key goes, unless the certificate's record
 * reached the disk (then the certificate exists, if its PEM copy did not follow, and needs its key; so
 * does an index that cannot be read now). */
void ca_issue_generate_abort(Ca *ca, CaKeyStore *store, const CaIssuePrepared *p) {
        int k;

        assert(ca);
        assert(store);
        assert(p);

        k = ca_index_exists(ca->dir, p->serial);
        if (k == 0)
                k = ca_keystore_remove(store, p->key_id);
        else
                k = k > 0 ? -EEXIST : k;
        if (k < 0)
                log_debug_errno(k, "Kept key '%s' after the failed issuance: %m", p->key_id);
}

int ca_issue_generate_finish(Ca *ca, CaKeyStore *store, CaIssuePrepared *p, EVP_PKEY *key, X509 **ret,
                             char **ret_serial) {
        _cleanup_(issued_done) Issued i = {};
        int r;

        assert(ca);
        assert(store);
        assert(p);
        assert(key);
        assert(ret);

        r = issue_build(ca, p->profile, p->days, &p->request, TAKE_PTR(p->name), TAKE_PTR(p->gns),
                        TAKE_PTR(p->strv), key, p->serial, /* sign= */ true, &i);
        if (r >= 0)
                r = issue_record(ca, &i, ret, ret_serial);
        if (r < 0) {
                ca_issue_generate_abort(ca, store, p);
                return r;
        }
        return 0;
}

int ca_issue_generate(Ca *ca, CaKeyStore *store, CaKeyType key_type, const char *subject, char *const *sans,
                      const CaIssueRequest *request, X509 **ret, char **ret_serial) {
        _cleanup_(ca_issue_prepared_freep) CaIssuePrepared *p = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        int r;

        assert(store);

        r = ca_issue_generate_prepare(ca, key_type, subject, sans, request, &p);
        if (r < 0)
                return r;
        /* The key before the record: a crash in between leaves a key nobody refers to (its serial was never
         * issued), never a certificate without its key. The store never replaces a key (-EEXIST). */
        r = ca_keystore_generate(store, p->key_id, key_type, &key);
        if (r < 0)
                return log_debug_errno(r, "Failed to generate key '%s': %m", p->key_id);
        return ca_issue_generate_finish(ca, store, p, key, ret, ret_serial);
}

int ca_issue(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request, X509 **ret,
             char **ret_serial) {
        _cleanup_(issued_done) Issued i = {};
        int r;

        assert(ret);

        r = issue_prepare(ca, csr, csr_size, request, /* sign= */ true, &i);
        if (r < 0)
                return r;
        return issue_record(ca, &i, ret, ret_serial);
}

struct CaIssuePending {
        Issued issued; /* the certificate unsigned until ca_issue_pending_sign() */
        bool signed_;
};

CaIssuePending *ca_issue_pending_free(CaIssuePending *p) {
        if (!p)
                return NULL;
        issued_done(&p->issued);
        return mfree(p);
}

const char *ca_issue_pending_serial(const CaIssuePending *p) {
        return p->issued.serial;
}

int ca_issue_begin(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request,
                   CaIssuePending **ret) {
        _cleanup_(ca_issue_pending_freep) CaIssuePending *p = NULL;
        int r;

        assert(ca);
        assert(ret);

        p = calloc(1, sizeof(CaIssuePending));
        if (!p)
                return -ENOMEM;
        r = issue_prepare(ca, csr, csr_size, request, /* sign= */ false, &p->issued);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int ca_issue_generate_begin(Ca *ca, CaKeyStore *store, CaIssuePrepared *prepared, EVP_PKEY *key,
                            CaIssuePending **ret) {
        _cleanup_(ca_issue_pending_freep) CaIssuePending *p = NULL;
        int r;

        assert(ca);
        assert(store);
        assert(prepared);
        assert(key);
        assert(ret);

        p = calloc(1, sizeof(CaIssuePending));
        if (!p)
                r = -ENOMEM;
        else
                r = issue_build(ca, prepared->profile, prepared->days, &prepared->request,
                                TAKE_PTR(prepared->name), TAKE_PTR(prepared->gns), TAKE_PTR(prepared->strv),
                                key, prepared->serial, /* sign= */ false, &p->issued);
        if (r < 0) {
                ca_issue_generate_abort(ca, store, prepared);
                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int ca_issue_pending_sign(CaIssuePending *p, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        int r;

        assert(p);
        assert(key);

        if (p->signed_)
                return -EALREADY;
        r = ca_cert_sign(p->issued.cert, libctx, key);
        if (r < 0)
                return r;
        p->signed_ = true;
        return 0;
}

int ca_issue_commit(Ca *ca, CaIssuePending *p, X509 **ret, char **ret_serial) {
        assert(ca);
        assert(p);
        assert(ret);

        /* A key that is not the intermediate's (a replaced key file) must not put a certificate that
         * nobody can verify into the index. */
        if (!p->signed_ || X509_verify(p->issued.cert, X509_get0_pubkey(ca->intermediate)) != 1)
                return log_debug_errno(EBADMSG, "Certificate %s is not signed by the intermediate.",
                                       p->issued.serial);
        return issue_record(ca, &p->issued, ret, ret_serial);
}

int ca_issue_batch(Ca *ca, CaIssueBatchItem *items, size_t n) {
        _cleanup_free_ Issued *issued = NULL;
        _cleanup_free_ CaIndexEntry *entries = NULL;
        _cleanup_free_ const CaIndexEntry **entry_ptrs = NULL;
        _cleanup_free_ X509 **certs = NULL;
        _cleanup_free_ size_t *slot = NULL;
        _cleanup_free_ int *results = NULL;
        size_t m = 0;
        int r;

        assert(ca);
        assert(items || n == 0);

        if (n > CA_ISSUE_BATCH_MAX)
                return -E2BIG;
        if (n == 0)
                return 0;

        issued = calloc(n, sizeof(Issued));
        entries = calloc(n, sizeof(CaIndexEntry));
        entry_ptrs = calloc(n, sizeof(CaIndexEntry *));
        certs = calloc(n, sizeof(X509 *));
        slot = calloc(n, sizeof(size_t));
        results = calloc(n, sizeof(int));
        if (!issued || !entries || !entry_ptrs || !certs || !slot || !results)
                return -ENOMEM;

        for (size_t k = 0; k < n; k++) {
                CaIssueBatchItem *it = items + k;
                bool duplicate = false;

                it->cert = NULL;
                it->serial = NULL;
                it->result = issue_prepare(ca, it->csr, it->csr_size, &it->request, /* sign= */ true,
                                           &issued[m]);
                if (it->result < 0)
                        continue;
                /* pick_serial() checked the index; the batch is not in it yet. */
                for (size_t j = 0; j < m && !duplicate; j++)
                        duplicate = streq(issued[j].serial, issued[m].serial);
                if (duplicate) {
                        issued_done(&issued[m]);
                        it->result = log_debug_errno(EIO, "Serial drawn twice in one batch.");
                        continue;
                }
                issued_entry(&issued[m], &entries[m]);
                entry_ptrs[m] = &entries[m];
                certs[m] = issued[m].cert;
                slot[m] = k;
                m++;
        }

        r = ca_index_add_batch(ca->dir, entry_ptrs, certs, m, results);
        if (r == -EOPNOTSUPP)
                for (size_t j = 0; j < m; j++)
                        results[j] = ca_index_add(ca->dir, entry_ptrs[j], certs[j]);
        else if (r < 0) {
                for (size_t j = 0; j < m; j++)
                        items[slot[j]].result = r;
                goto finish;
        }

        r = 0;
        for (size_t j = 0; j < m; j++) {
                CaIssueBatchItem *it = items + slot[j];

                it->result = results[j];
                if (results[j] < 0)
                        continue;
                log_debug("Issued %s certificate %s for %s.", issued[j].profile->name, issued[j].serial,
                          issued[j].subject);
                it->cert = TAKE_PTR(issued[j].cert);
                it->serial = TAKE_PTR(issued[j].serial);
                r++;
        }

finish:
        for (size_t j = 0; j < m; j++)
                issued_done(&issued[j]);
        return r;
}
