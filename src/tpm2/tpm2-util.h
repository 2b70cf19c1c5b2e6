/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_common.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "shared/tss2-util.h"

/* The hash algorithm's digest size in bytes, 0 for anything that is not a hash we know. */
size_t tpm2_hash_alg_digest_size(uint16_t alg);

/* For _cleanup_(esys_freep): what ESYS allocated for an output parameter goes back through Esys_Free(). */
static inline void esys_freep(void *p) {
        Esys_Free(*(void **) p);
}

/* The hash a TPM signature names (ECDSA, RSASSA, RSAPSS); TPM2_ALG_NULL for any other scheme. */
uint16_t tpm2_signature_hash(const TPMT_SIGNATURE *s);

/* The OpenSSL digest for a TPM hash algorithm (sha1, sha256, sha384, sha512); NULL for any other. */
const EVP_MD *tpm2_hash_alg_to_md(uint16_t alg);

/* The authValue for a PIN: its SHA-256, so any length works and the PIN itself never goes to the TPM.
 * Used for sealed objects and NV indexes alike; the caller wipes *ret. */
int tpm2_pin_auth(const char *pin, TPM2B_AUTH *ret);
