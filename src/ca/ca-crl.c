/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/x509v3.h>

#include "basic/log.h"
#include "ca/ca-internal.h"
#include "shared/openssl-util.h"

#define CRL_HOURS_MAX (24U * 31U)

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REVOKED *, X509_REVOKED_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_TIME *, ASN1_TIME_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_INTEGER *, ASN1_INTEGER_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_ENUMERATED *, ASN1_ENUMERATED_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(AUTHORITY_KEYID *, AUTHORITY_KEYID_free);

static int add_revoked(X509_CRL *crl, const CaIndexEntry *e) {
        _cleanup_(X509_REVOKED_freep) X509_REVOKED *rev = NULL;
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *when = NULL;
        _cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *serial = NULL;
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        uint8_t raw[CA_SERIAL_SIZE];
        int r;

        r = ca_serial_from_string(e->serial, raw);
        if (r < 0)
                return r;
        bn = BN_bin2bn(raw, sizeof(raw), NULL);
        serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        when = ASN1_TIME_set(NULL, e->revoked_at);
        rev = X509_REVOKED_new();
        if (!serial || !when || !rev)
                return -ENOMEM;
        if (X509_REVOKED_set_serialNumber(rev, serial) != 1 || X509_REVOKED_set_revocationDate(rev, when) != 1)
                return openssl_errno();

        /* RFC 5280 5.3.1: the reason code "unspecified" should be absent. */
        if (e->reason != CA_REASON_UNSPECIFIED) {
                _cleanup_(ASN1_ENUMERATED_freep) ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
                if (!reason || ASN1_ENUMERATED_set(reason, e->reason) != 1)
                        return -ENOMEM;
                if (X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1)
                        return openssl_errno();
        }

        if (X509_CRL_add0_revoked(crl, rev) != 1)
                return openssl_errno();
        TAKE_PTR(rev);
        return 0;
}

int ca_crl_build(Ca *ca, unsigned next_update_hours, X509_CRL **ret) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *last = NULL, *next = NULL;
        _cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *number = NULL;
        _cleanup_(AUTHORITY_KEYID_freep) AUTHORITY_KEYID *aki = NULL;
        CaIndexEntry **entries = NULL;
        size_t n = 0;
        time_t now;
        int r;

        assert(ca);
        assert(ret);

        if (next_update_hours == 0 || next_update_hours > CRL_HOURS_MAX)
                return -EINVAL;

        now = ca_now(ca);
        crl = X509_CRL_new();
        last = ASN1_TIME_set(NULL, now);
        next = ASN1_TIME_set(NULL, now + (time_t) next_update_hours * 3600);
        number = ASN1_INTEGER_new();
        aki = AUTHORITY_KEYID_new();
        if (!crl || !last || !next || !number || !aki)
                return -ENOMEM;
        if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
            X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->intermediate)) != 1 ||
            X509_CRL_set1_lastUpdate(crl, last) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1)
                return openssl_errno();

        /* CRL numbers must increase (RFC 5280 5.2.3): the issue time in seconds does, without a
         * counter that would need its own durable state. */
        if (ASN1_INTEGER_set_int64(number, (int64_t) now) != 1 ||
            X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1)
                return openssl_errno();
        aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ca->intermediate));
        if (!aki->keyid)
                return -ENOMEM;
        if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0) != 1)
                return openssl_errno();

        r = ca_list(ca, &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (entries[i]->status == CA_CERT_REVOKED) {
                        r = add_revoked(crl, entries[i]);
                        if (r < 0)
                                break;
                }
        ca_index_entry_array_free(entries, n);
        if (r < 0)
                return r;

        if (X509_CRL_sort(crl) != 1)
                return openssl_errno();

        *ret = TAKE_PTR(crl);
        return 0;
}

int ca_crl_sign(X509_CRL *crl, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sign_ctx = NULL;
        int r;

        assert(crl);
        assert(key);

        r = ca_sign_ctx_new_ex(libctx, key, &sign_ctx);
        if (r < 0)
                return r;
        if (X509_CRL_sign_ctx(crl, sign_ctx) <= 0)
                return openssl_errno();
        return 0;
}

int ca_crl_generate(Ca *ca, unsigned next_update_hours, X509_CRL **ret) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        int r;

        assert(ca);
        assert(ret);

        r = ca_crl_build(ca, next_update_hours, &crl);
        if (r < 0)
                return r;
        r = ca_crl_sign(crl, NULL, ca->signing_key);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(crl);
        return 0;
}
