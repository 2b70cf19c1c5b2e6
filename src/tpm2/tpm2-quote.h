/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-pcr.h"

/* Nonces shorter than this are refused by tpm2_quote() and by the verifier (ATTACKS b-2). */
#define TPM2_QUOTE_NONCE_MIN 16U
/* qualifyingData is a TPM2B_DATA: at most sizeof(TPMT_HA) bytes. */
#define TPM2_QUOTE_NONCE_MAX (sizeof(((TPM2B_DATA *) NULL)->buffer))

typedef struct Tpm2PcrBankMask {
        uint16_t bank; /* TPM2_ALG_SHA1, TPM2_ALG_SHA256, ... */
        uint32_t mask; /* bit i = PCR i, i < TPM2_PCRS_MAX */
} Tpm2PcrBankMask;

/* Builds a TPML_PCR_SELECTION over n banks, in the given order, each with sizeofSelect 3.
 * -EINVAL: n == 0 or > TPM2_NUM_PCR_BANKS, an unknown hash, a duplicate bank, an empty mask or bits
 * >= TPM2_PCRS_MAX. */
int tpm2_pcr_selection_from_masks(const Tpm2PcrBankMask *banks, size_t n, TPML_PCR_SELECTION *ret);

/* The mask of one TPMS_PCR_SELECTION; -EINVAL when it selects PCRs >= TPM2_PCRS_MAX or has a
 * sizeofSelect above TPM2_PCR_SELECT_MAX. */
int tpm2_pcr_selection_mask(const TPMS_PCR_SELECTION *s, uint32_t *ret);

/* The number of PCRs a selection selects, -EINVAL as above. */
int tpm2_pcr_selection_count(const TPML_PCR_SELECTION *sel, size_t *ret);

typedef struct Tpm2Quote {
        /* The TPMS_ATTEST exactly as the TPM signed it: the contents of TPM2B_ATTEST.attestationData
         * (tss2-mu wire form, without the TPM2B size prefix). */
        uint8_t *attest;
        size_t attest_size;
        /* The TPMT_SIGNATURE, tss2-mu wire form. */
        uint8_t *signature;
        size_t signature_size;
        /* The selection asked for, and the PCR values in selection order (bank by bank in the order of
         * the selection, ascending index within a bank): the values the quote's pcrDigest covers. */
        TPML_PCR_SELECTION selection;
        Tpm2PcrValue *pcr_values;
        size_t n_pcr_values;
} Tpm2Quote;

Tpm2Quote *tpm2_quote_free(Tpm2Quote *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tpm2Quote *, tpm2_quote_free);

/* TPM2_Quote with signing_key (any loaded signing key; a restricted one for attestation) over the
 * PCRs in selection, with nonce as qualifyingData (TPM2_QUOTE_NONCE_MIN..TPM2_QUOTE_NONCE_MAX bytes,
 * else -EINVAL). The key's own scheme is used; for a key without one (TPM2_ALG_NULL), ECDSA-SHA256 for
 * ECC and RSASSA-SHA256 for RSA.
 *
 * PCR values: read right after the quote, and then the digest the quote carries is recomputed from
 * them. If a PCR was extended between the quote and the read, the digests differ and the whole quote
 * is redone (up to 8 times, then -EAGAIN). So the returned values are always exactly the values the
 * signed pcrDigest covers: a verifier never sees a mismatch caused by a race on our side.
 *
 * -EOPNOTSUPP: a bank in selection is not active or lacks a PCR; -EBADMSG: the TPM's answer does not
 * parse or quotes something other than what was asked. Other errors from the TPM as tpm2_rc_to_errno(). */
int tpm2_quote(Tpm2Context *c, ESYS_TR signing_key, const void *nonce, size_t nonce_size,
               const TPML_PCR_SELECTION *selection, Tpm2Quote **ret);

/* pcrDigest as TPM2_Quote computes it: H_hash_alg of the digests of values[0..n) concatenated.
 * ret must have room for the hash's digest size; -EOPNOTSUPP for an unknown hash. */
int tpm2_pcr_values_digest(uint16_t hash_alg, const Tpm2PcrValue *values, size_t n, uint8_t *ret,
                           size_t *ret_size);
