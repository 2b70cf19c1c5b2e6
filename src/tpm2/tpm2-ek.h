/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The endorsement key: its certificate in NV, the TCG EK templates, persistence, chain validation. */

#include <openssl/x509.h>

#include "tpm2/tpm2-context.h"

#define TPM2_EK_RSA_HANDLE 0x81010001U
#define TPM2_EK_ECC_HANDLE 0x81010002U
#define TPM2_EK_RSA_CERT_NV_INDEX 0x01C00002U
#define TPM2_EK_ECC_CERT_NV_INDEX 0x01C0000AU

/* Largest EK certificate we read from NV or a file. Real ones are below 2 KiB. */
#define TPM2_EK_CERT_MAX (16U * 1024U)

/* Parses a DER certificate that may be followed by padding, as found in EK certificate NV indexes: the
 * certificate's length is taken from its outer SEQUENCE header, and every byte after it must be 0x00 or
 * 0xFF. One DER OCTET STRING wrapping (seen in the field) is removed; it must hold exactly the
 * certificate. -EBADMSG for anything else (truncated, indefinite length, trailing data, not a
 * certificate). */
int tpm2_ek_certificate_from_der(const void *data, size_t size, X509 **ret);

/* Reads the EK certificate of alg (TPM2_ALG_RSA: NV 0x01C00002, TPM2_ALG_ECC: NV 0x01C0000A): size from
 * TPM2_NV_ReadPublic, then TPM2_NV_Read in chunks of TPM_PT_NV_BUFFER_MAX, then
 * tpm2_ek_certificate_from_der(). -ENOENT when the index is not defined, -ENODATA when it was never
 * written, -EBADMSG for bad contents, -EINVAL for another alg. */
int tpm2_ek_read_certificate(Tpm2Context *c, uint16_t alg, X509 **ret);

/* A certificate from PEM ("-----BEGIN CERTIFICATE-----") or DER data (padding allowed as above), e.g. one an
 * administrator supplies for a TPM without a certificate in NV. -EBADMSG when it holds none. */
int tpm2_ek_certificate_from_data(const void *data, size_t size, X509 **ret);
/* The same from a file. */
int tpm2_ek_certificate_from_file(const char *path, X509 **ret);

/* The TCG EK Credential Profile 2.0 low-range templates: L-1 (RSA 2048) and L-2 (ECC NIST P-256):
 * policy A (PolicySecret(TPM_RH_ENDORSEMENT)), fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|
 * restricted|decrypt, AES-128-CFB, zeroed unique of the key size. -EINVAL for another alg. */
int tpm2_ek_template(uint16_t alg, TPM2B_PUBLIC *ret);

/* Whether the public area was made from the EK template of its type (unique ignored). */
bool tpm2_ek_public_is_template(const TPM2B_PUBLIC *pub);

/* The EK of alg: the persistent one at 0x81010001 (RSA) / 0x81010002 (ECC) when present and made from
 * the template, else a transient primary created in the endorsement hierarchy (empty endorsement
 * auth). Release the handle with tpm2_flush() (only closes a persistent one). ret_public may be NULL,
 * else *ret_public is allocated (free()). */
int tpm2_ek_create(Tpm2Context *c, uint16_t alg, ESYS_TR *ret_handle, TPM2B_PUBLIC **ret_public);

/* Makes the EK ek (from tpm2_ek_create()) persistent at its TCG handle with owner authorization. When
 * that handle already holds the same key, nothing changes; when it holds anything else, -EEXIST (a
 * foreign object is never overwritten). ret_handle (may be NULL) is the persistent handle; ek stays the
 * caller's to flush. */
int tpm2_ek_persist(Tpm2Context *c, ESYS_TR ek, ESYS_TR *ret_handle);

/* 0 when the certificate's public key is the key of pub, -EKEYREJECTED when not. */
int tpm2_ek_matches_certificate(const TPM2B_PUBLIC *pub, X509 *cert);

/* Verifies cert against the manufacturer roots and intermediates in ca_dir (every regular file, PEM with
 * any number of certificates or DER; no network, never the certificate's AIA URL). A self-signed root
 * must end the chain. The only critical extension tolerated beyond what OpenSSL handles is the TCG
 * EK profile's subjectDirectoryAttributes (2.5.29.9) on the EK certificate itself; the critical TCG
 * subjectAltName (directoryName of 2.23.133.2.1/2/3) is understood by OpenSSL and must parse.
 * -EKEYREJECTED when the chain does not verify, -ENOKEY when ca_dir holds no certificate. */
int tpm2_ek_verify_chain(X509 *cert, const char *ca_dir);
