/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tpm2/tpm2-context.h"

#define TPM2_PCRS_MAX 24U

/* "sha1", "sha256", "sha384", "sha512", "sm3_256" <-> TPM2_ALG_ID. Unknown names -> -EINVAL,
 * unknown ids -> NULL. */
int tpm2_hash_alg_from_string(const char *s);
const char *tpm2_hash_alg_to_string(uint16_t alg);

typedef struct Tpm2PcrValue {
        uint32_t index;
        uint16_t bank;
        size_t size;
        uint8_t digest[64];
} Tpm2PcrValue;

/* Reads the PCRs in mask (bit i = PCR i, i < TPM2_PCRS_MAX) of one bank.
 * -EINVAL: mask empty or with bits >= 24, or bank not a hash we know.
 * -EOPNOTSUPP: the bank is not active on this TPM or lacks one of the PCRs asked.
 * -EBADMSG: the TPM answered a selection or digest that was not asked for.
 * Reads in as many TPM2_PCR_Read calls as needed (at most 8 digests each) and restarts when the PCR
 * update counter changes in between, so the result is one consistent snapshot.
 * *ret (free()) is sorted by index, *ret_n = number of bits in mask. */
int tpm2_pcr_read(Tpm2Context *c, uint16_t bank, uint32_t mask, Tpm2PcrValue **ret, size_t *ret_n);

/* Extends PCR index of bank with the bank's hash of data (size may be 0), as a measurement of data.
 * -EINVAL: index >= TPM2_PCRS_MAX or an unknown bank; -EOPNOTSUPP: the bank is not active; other
 * errors from the TPM as tss2_rc_to_errno(). */
int tpm2_pcr_extend_data(Tpm2Context *c, uint32_t index, uint16_t bank, const void *data, size_t size);

/* The same for n_banks banks (1..TPM2_NUM_PCR_BANKS, no bank twice) in ONE TPM2_PCR_Extend: one round trip
 * instead of one per bank, and the TPM extends all of them or none. Errors as tpm2_pcr_extend_data(). */
int tpm2_pcr_extend_data_banks(Tpm2Context *c, uint32_t index, const uint16_t *banks, size_t n_banks,
                               const void *data, size_t size);
