/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The OCSP responder (RFC 6960) for certificates the CA's intermediate issued: a DER OCSPRequest in,
 * a DER OCSPResponse out. No I/O besides the index lookups; the HTTP side is ca-http.h.
 *
 * Per requested certificate: "good" when the index has the serial as valid, "revoked" with the time
 * and reason when revoked, "unknown" when the serial is not in the index or the request names another
 * issuer (its issuer name and key hashes are compared with the intermediate's, for the hash algorithm
 * the request uses). A nonce extension in the request is copied into the response (RFC 8954: at most
 * 32 bytes, else the request is malformed). The response is signed by the delegated OCSP-signing
 * certificate when one is configured (ca_ocsp_set_signer()), else by the intermediate itself, with
 * SHA-256, and carries thisUpdate = now and nextUpdate = now + CA_OCSP_VALIDITY_SEC.
 *
 * Bad requests never fail the call: they get a response with the status malformedRequest (unparsable
 * DER, no request in the list, more than CA_OCSP_REQUESTS_MAX, an oversized nonce) or internalError
 * (our own failure, e.g. a damaged index record). */

#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"

#define CA_OCSP_REQUEST_SIZE_MAX (64U * 1024U)
#define CA_OCSP_REQUESTS_MAX 32U
#define CA_OCSP_NONCE_MAX 32U
#define CA_OCSP_VALIDITY_SEC (3600)

/* Builds the response to size bytes of DER at req. Returns 0 with *ret (OPENSSL_free()) and *ret_size
 * (the response, whatever its status), or -ENOMEM / -EIO when not even an error response could be
 * made. */
int ca_ocsp_respond(Ca *ca, const void *req, size_t size, uint8_t **ret, size_t *ret_size);

/* ca_ocsp_respond() in steps, for an owner that signs elsewhere (with a key held by the TPM, on
 * another thread). ca_ocsp_prepare() answers what needs no signature at once (*ret, *ret_pending NULL:
 * malformedRequest, internalError) or returns the response to sign in *ret_pending (*ret NULL), to be
 * signed with the key of the delegated signer (ca_ocsp_pending_delegated()) or else of the intermediate;
 * ca_ocsp_pending_sign() signs it with that key (in libctx, NULL: the default library context) and
 * touches no Ca, so it may run on any thread (-EKEYREJECTED for a key that is not the signer's);
 * ca_ocsp_pending_finish() encodes the response: internalError when it was not signed. */
typedef struct CaOcspPending CaOcspPending;
int ca_ocsp_prepare(Ca *ca, const void *req, size_t size, CaOcspPending **ret_pending, uint8_t **ret,
                    size_t *ret_size);
bool ca_ocsp_pending_delegated(const CaOcspPending *p) _pure_;
int ca_ocsp_pending_sign(CaOcspPending *p, OSSL_LIB_CTX *libctx, EVP_PKEY *key);
int ca_ocsp_pending_finish(CaOcspPending *p, uint8_t **ret, size_t *ret_size);
CaOcspPending *ca_ocsp_pending_free(CaOcspPending *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaOcspPending *, ca_ocsp_pending_free);

/* Signs responses with cert and key (an ocsp-signing certificate issued by the intermediate; both
 * are referenced, not copied) instead of the intermediate. NULL, NULL: back to the intermediate.
 * -EINVAL when cert was not issued by the intermediate, lacks the OCSPSigning extended key usage, or
 * does not match key. */
int ca_ocsp_set_signer(Ca *ca, X509 *cert, EVP_PKEY *key);
