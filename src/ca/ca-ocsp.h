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

/* Signs responses with cert and key (an ocsp-signing certificate issued by the intermediate; both
 * are referenced, not copied) instead of the intermediate. NULL, NULL: back to the intermediate.
 * -EINVAL when cert was not issued by the intermediate, lacks the OCSPSigning extended key usage, or
 * does not match key. */
int ca_ocsp_set_signer(Ca *ca, X509 *cert, EVP_PKEY *key);
