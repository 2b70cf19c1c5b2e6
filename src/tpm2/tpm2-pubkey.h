/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* TPM public areas as OpenSSL keys. Pure software: usable by verifiers without a TPM (quotes,
 * MakeCredential, EK certificate matching). */

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Converts the key of a TPM public area (RSA of any size the TPM allows, exponent 0 meaning 65537;
 * ECC on NIST P-256, P-384 or P-521) to an EVP_PKEY holding the public key only. This is the one
 * converter: quotes, MakeCredential and EK matching all use it.
 * -EOPNOTSUPP for other types, curves and RSA sizes, -EBADMSG for a malformed key (sizes out of range,
 * a point not on the curve). */
int tpm2_public_to_evp_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **ret);
int tpm2_public_area_to_evp_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret);
