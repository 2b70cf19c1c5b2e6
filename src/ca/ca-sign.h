/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Signing data with a CA-issued key, and "signed blobs".
 *
 * Signatures are detached CMS SignedData (RFC 5652, DER; what `openssl cms -sign -binary -outform DER`
 * writes, and `openssl cms -verify -binary -inform DER -content FILE` checks): SHA-256 (SHA-384 for
 * P-384 keys), the signer's certificate and the chain given carried inside, signing time as a signed
 * attribute. Verification builds the chain to the trust anchors given (never to certificates fetched
 * from elsewhere), checks the signer's key usage allows digital signatures, and reports the signer.
 *
 * A signed blob is one file holding data, its SHA-256 and its signature:
 *   "TPBLOB1\n" | u32 data size (big endian) | data | u32 signature size | CMS signature over data
 * read back only when the signature verifies against the anchors and the sizes are exact. */

#include <openssl/x509.h>
#include <stdint.h>

#include "basic/macro.h"

#define CA_SIGN_DATA_MAX (64U * 1024U * 1024U)
#define CA_SIGNATURE_MAX (256U * 1024U)
#define CA_SIGN_CHAIN_MAX 8U

/* Signs size bytes of data with key, whose certificate is cert; chain (may be NULL) is put into the
 * signature too (intermediates). Returns 0 with *ret (OPENSSL_free()) / *ret_size, -EINVAL (cert does
 * not match key, too large), -EIO (OpenSSL). */
int ca_sign_detached(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const void *data, size_t size,
                     uint8_t **ret, size_t *ret_size);
/* The same for a key of the library context libctx (NULL: the default one), whose providers then sign. */
int ca_sign_detached_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain,
                        const void *data, size_t size, uint8_t **ret, size_t *ret_size);

/* Verifies a detached signature over data against the trust anchors. Returns 0 with *ret_signer (a new
 * reference, may be NULL) on success; -EBADMSG the signature does not parse; -EKEYREJECTED it does not
 * verify (data changed, wrong key), -ENOKEY the signer does not chain to an anchor or its certificate is
 * not valid now or not for signing; -E2BIG oversized. */
int ca_verify_detached(const void *signature, size_t signature_size, const void *data, size_t size,
                       STACK_OF(X509) * anchors, X509 **ret_signer);

/* A signed blob of data (see above). */
int ca_signed_blob_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const void *data, size_t size,
                        uint8_t **ret, size_t *ret_size);

/* The data of a signed blob, only if it verifies: *ret (free()) / *ret_size, and *ret_signer (may be NULL).
 * Errors as ca_verify_detached(), and -EBADMSG for a blob that is not one. */
int ca_signed_blob_open(const void *blob, size_t size, STACK_OF(X509) * anchors, void **ret,
                        size_t *ret_size, X509 **ret_signer);
