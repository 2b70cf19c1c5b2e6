/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "basic/log.h"
#include "ca/ca-cert.h"
#include "ca/ca-internal.h"
#include "ca/ca-ocsp.h"
#include "shared/openssl-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_REQUEST *, OCSP_REQUEST_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_BASICRESP *, OCSP_BASICRESP_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_RESPONSE *, OCSP_RESPONSE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_CERTID *, OCSP_CERTID_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_TIME *, ASN1_TIME_free);

static int encode(OCSP_RESPONSE *resp, uint8_t **ret, size_t *ret_size) {
        uint8_t *der = NULL;
        int n;

        n = i2d_OCSP_RESPONSE(resp, &der);
        if (n <= 0)
                return openssl_errno();
        *ret = der;
        *ret_size = (size_t) n;
        return 0;
}

/* A response without body: malformedRequest, internalError, ... */
static int respond_status(int status, uint8_t **ret, size_t *ret_size) {
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);

        if (!resp)
                return -ENOMEM;
        return encode(resp, ret, ret_size);
}

/* Whether cid names a certificate issued by the intermediate: its issuer name and key hashes, computed
 * with the request's hash algorithm. */
static bool issuer_matches(Ca *ca, OCSP_CERTID *cid) {
        _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *ours = NULL;
        ASN1_OBJECT *md_obj = NULL;
        const EVP_MD *md;

        if (OCSP_id_get0_info(NULL, &md_obj, NULL, NULL, cid) != 1 || !md_obj)
                return false;
        md = EVP_get_digestbyobj(md_obj);
        if (!md)
                return false;
        ours = OCSP_cert_id_new(md, X509_get_subject_name(ca->intermediate),
                                X509_get0_pubkey_bitstr(ca->intermediate), NULL);
        return ours && OCSP_id_issuer_cmp(ours, cid) == 0;
}

/* Our index's name for a serial, or NULL when it cannot be one of ours (negative, longer than ours). */
static int serial_name(const ASN1_INTEGER *serial, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        uint8_t bin[CA_SERIAL_SIZE];

        bn = ASN1_INTEGER_to_BN(serial, NULL);
        if (!bn)
                return -ENOMEM;
        if (BN_is_negative(bn) || BN_num_bytes(bn) > (int) sizeof(bin)) {
                *ret = NULL;
                return 0;
        }
        if (BN_bn2binpad(bn, bin, sizeof(bin)) != (int) sizeof(bin))
                return -EIO;
        return ca_serial_to_string(bin, ret);
}

static int add_status(Ca *ca, OCSP_BASICRESP *bs, OCSP_CERTID *cid, ASN1_TIME *this_update,
                      ASN1_TIME *next_update) {
        _cleanup_(ca_index_entry_freep) CaIndexEntry *e = NULL;
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *revoked_at = NULL;
        _cleanup_free_ char *serial = NULL;
        ASN1_INTEGER *serial_int = NULL;
        int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS, r;

        if (OCSP_id_get0_info(NULL, NULL, NULL, &serial_int, cid) != 1 || !serial_int)
                return -EBADMSG;

        if (issuer_matches(ca, cid)) {
                r = serial_name(serial_int, &serial);
                if (r < 0)
                        return r;
                r = serial ? ca_index_lookup(ca->dir, serial, &e, NULL) : -ENOENT;
                if (r < 0 && r != -ENOENT)
                        return log_debug_errno(r, "Failed to look up %s for OCSP: %m", serial);
                if (r >= 0 && e->status == CA_CERT_VALID)
                        status = V_OCSP_CERTSTATUS_GOOD;
                else if (r >= 0 && e->status == CA_CERT_REVOKED) {
                        status = V_OCSP_CERTSTATUS_REVOKED;
                        revoked_at = ASN1_TIME_set(NULL, e->revoked_at);
                        if (!revoked_at)
                                return -ENOMEM;
                        /* RFC 5280 5.3.1: "unspecified" is not given as a reason code. */
                        if (e->reason != CA_REASON_UNSPECIFIED)
                                reason = (int) e->reason;
                }
        }

        if (!OCSP_basic_add1_status(bs, cid, status, reason, revoked_at, this_update, next_update))
                return -ENOMEM;
        return 0;
}

/* RFC 8954: a nonce of 1..32 bytes. Returns 1 if the request has one, 0 if not, -EBADMSG. */
static int check_nonce(OCSP_REQUEST *req) {
        const ASN1_OCTET_STRING *outer;
        ASN1_OCTET_STRING *inner = NULL;
        X509_EXTENSION *ext;
        const unsigned char *p;
        int i, len;

        i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
        if (i < 0)
                return 0;
        if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
                return log_debug_errno(EBADMSG, "OCSP request with two nonces.");
        ext = OCSP_REQUEST_get_ext(req, i);
        outer = ext ? X509_EXTENSION_get_data(ext) : NULL;
        if (!outer)
                return -EBADMSG;
        p = ASN1_STRING_get0_data(outer);
        len = ASN1_STRING_length(outer);
        if (!d2i_ASN1_OCTET_STRING(&inner, &p, len) || p != ASN1_STRING_get0_data(outer) + len) {
                ASN1_OCTET_STRING_free(inner);
                return log_debug_errno(EBADMSG, "OCSP nonce is not an OCTET STRING.");
        }
        len = ASN1_STRING_length(inner);
        ASN1_OCTET_STRING_free(inner);
        if (len < 1 || len > (int) CA_OCSP_NONCE_MAX)
                return log_debug_errno(EBADMSG, "OCSP nonce of %i bytes (1..%u allowed).", len,
                                       CA_OCSP_NONCE_MAX);
        return 1;
}

struct CaOcspPending {
        OCSP_BASICRESP *bs; /* unsigned until ca_ocsp_pending_sign() */
        X509 *signer;       /* a copy of the certificate whose key signs */
        bool delegated;
        bool signed_;
};

CaOcspPending *ca_ocsp_pending_free(CaOcspPending *p) {
        if (!p)
                return NULL;
        OCSP_BASICRESP_free(p->bs);
        X509_free(p->signer);
        return mfree(p);
}

bool ca_ocsp_pending_delegated(const CaOcspPending *p) {
        return p->delegated;
}

int ca_ocsp_prepare(Ca *ca, const void *data, size_t size, CaOcspPending **ret_pending, uint8_t **ret,
                    size_t *ret_size) {
        _cleanup_(OCSP_REQUEST_freep) OCSP_REQUEST *req = NULL;
        _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *bs = NULL;
        _cleanup_(ASN1_TIME_freep) ASN1_TIME *this_update = NULL, *next_update = NULL;
        _cleanup_(ca_ocsp_pending_freep) CaOcspPending *pending = NULL;
        const unsigned char *p = data;
        time_t now;
        int n, nonce, r;

        assert(ca);
        assert(data || size == 0);
        assert(ret_pending);
        assert(ret);
        assert(ret_size);

        *ret_pending = NULL;
        if (size == 0 || size > CA_OCSP_REQUEST_SIZE_MAX)
                return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ret, ret_size);
        req = d2i_OCSP_REQUEST(NULL, &p, (long) size);
        if (!req || p != (const unsigned char *) data + size) {
                ERR_clear_error();
                log_debug("Malformed OCSP request (%zu bytes).", size);
                return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ret, ret_size);
        }
        n = OCSP_request_onereq_count(req);
        if (n <= 0 || n > (int) CA_OCSP_REQUESTS_MAX) {
                log_debug("OCSP request for %i certificates (1..%u allowed).", n, CA_OCSP_REQUESTS_MAX);
                return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ret, ret_size);
        }
        nonce = check_nonce(req);
        if (nonce < 0)
                return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ret, ret_size);

        now = ca_now(ca);
        bs = OCSP_BASICRESP_new();
        this_update = ASN1_TIME_set(NULL, now);
        next_update = ASN1_TIME_set(NULL, now + CA_OCSP_VALIDITY_SEC);
        if (!bs || !this_update || !next_update)
                return -ENOMEM;

        for (int i = 0; i < n; i++) {
                OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));

                r = cid ? add_status(ca, bs, cid, this_update, next_update) : -EBADMSG;
                if (r == -EBADMSG)
                        return respond_status(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ret, ret_size);
                if (r < 0)
                        return respond_status(OCSP_RESPONSE_STATUS_INTERNALERROR, ret, ret_size);
        }
        if (nonce > 0 && OCSP_copy_nonce(bs, req) <= 0)
                return respond_status(OCSP_RESPONSE_STATUS_INTERNALERROR, ret, ret_size);

        pending = calloc(1, sizeof(CaOcspPending));
        if (!pending)
                return -ENOMEM;
        /* A copy: the signature may be made on another thread while this one replaces the signer. */
        pending->signer = X509_dup(ca->ocsp_signer ?: ca->intermediate);
        if (!pending->signer)
                return -ENOMEM;
        pending->delegated = !!ca->ocsp_signer;
        pending->bs = TAKE_PTR(bs);
        *ret_pending = TAKE_PTR(pending);
        *ret = NULL;
        *ret_size = 0;
        return 0;
}

int ca_ocsp_pending_sign(CaOcspPending *p, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sign_ctx = NULL;
        int r;

        assert(p);
        assert(key);

        /* A key replaced meanwhile (a new delegated signer) would make a response nobody can verify. */
        if (X509_check_private_key(p->signer, key) != 1) {
                ERR_clear_error();
                return log_debug_errno(EKEYREJECTED, "The OCSP signing key does not match its certificate.");
        }
        r = ca_sign_ctx_new_ex(libctx, key, &sign_ctx);
        if (r < 0)
                return r;
        if (OCSP_basic_sign_ctx(p->bs, p->signer, sign_ctx, NULL, 0) != 1) {
                ERR_clear_error();
                return log_debug_errno(EIO, "Failed to sign the OCSP response.");
        }
        p->signed_ = true;
        return 0;
}

int ca_ocsp_pending_finish(CaOcspPending *p, uint8_t **ret, size_t *ret_size) {
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp = NULL;

        assert(p);
        assert(ret);
        assert(ret_size);

        if (!p->signed_)
                return respond_status(OCSP_RESPONSE_STATUS_INTERNALERROR, ret, ret_size);
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, p->bs);
        if (!resp)
                return -ENOMEM;
        return encode(resp, ret, ret_size);
}

int ca_ocsp_respond(Ca *ca, const void *data, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(ca_ocsp_pending_freep) CaOcspPending *p = NULL;
        int r;

        r = ca_ocsp_prepare(ca, data, size, &p, ret, ret_size);
        if (r < 0 || !p)
                return r;
        r = ca_ocsp_pending_sign(p, NULL, ca->ocsp_signer_key ?: ca->signing_key);
        if (r < 0)
                log_debug_errno(r, "Answering internalError: %m");
        return ca_ocsp_pending_finish(p, ret, ret_size);
}

int ca_ocsp_set_signer(Ca *ca, X509 *cert, EVP_PKEY *key) {
        assert(ca);

        if (!cert != !key)
                return -EINVAL;
        if (cert) {
                if (X509_check_issued(ca->intermediate, cert) != X509_V_OK ||
                    X509_verify(cert, ca->signing_key) != 1) {
                        ERR_clear_error();
                        return log_debug_errno(EINVAL, "OCSP signer was not issued by the intermediate.");
                }
                if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
                    !(X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN))
                        return log_debug_errno(EINVAL,
                                               "OCSP signer lacks the OCSPSigning extended key usage.");
                if (X509_check_private_key(cert, key) != 1) {
                        ERR_clear_error();
                        return log_debug_errno(EINVAL, "OCSP signer certificate does not match its key.");
                }
                if (X509_up_ref(cert) != 1 || EVP_PKEY_up_ref(key) != 1)
                        return -ENOMEM;
        }
        X509_free(ca->ocsp_signer);
        EVP_PKEY_free(ca->ocsp_signer_key);
        ca->ocsp_signer = cert;
        ca->ocsp_signer_key = key;
        return 0;
}
