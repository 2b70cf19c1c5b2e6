/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-pcr.h"

typedef struct Tpm2SignedPolicyEntry Tpm2SignedPolicyEntry;

/* A negative errno plus one line a user can act on ("PCR 7 (sha256) differs from ..."). Fixed size, so
 * callers keep it on the stack and nothing needs freeing. Functions taking a Tpm2Error * accept NULL
 * and fill it only when they fail. */
typedef struct Tpm2Error {
        int error;
        char message[640];
} Tpm2Error;

/* Sets e (if not NULL) and returns error (negative errno). printf-style. */
int tpm2_error_set(Tpm2Error *e, int error, const char *format, ...) _printf_(3, 4);

/* Policy digests are always SHA-256 (the sealed object's nameAlg). */
#define TPM2_POLICY_HASH TPM2_ALG_SHA256
#define TPM2_POLICY_DIGEST_SIZE 32U

/* PCRs that any process can reset (debug PCR 16, application PCR 23): sealing to them binds nothing. */
#define TPM2_PCRS_RESETTABLE ((UINT32_C(1) << 16) | (UINT32_C(1) << 23))

/* Checks that bank/mask describe a selection we can seal to: bank a known hash, mask not empty, no
 * bit >= 24, no resettable PCR. -EINVAL with the reason in e otherwise. */
int tpm2_policy_check_selection(uint16_t bank, uint32_t mask, Tpm2Error *e);

/* One bank, PCRs of mask, as TPML_PCR_SELECTION (3-byte sizeofSelect). */
void tpm2_pcr_selection_from_mask(uint16_t bank, uint32_t mask, TPML_PCR_SELECTION *ret);

/* pcrDigest of TPM2_PolicyPCR: SHA-256 over the values' digests in ascending PCR index order. values
 * must be n entries of bank, sorted by index and exactly the PCRs of mask. -EINVAL otherwise. */
int tpm2_policy_pcr_values_digest(uint16_t bank, uint32_t mask, const Tpm2PcrValue *values, size_t n,
                                  TPM2B_DIGEST *ret);

/* Offline policy extension, as the TPM does it (TPM 2.0 Part 3, 23.7 and 23.18):
 *   PolicyPCR:       policy = H(policy || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || pcrDigest)
 *   PolicyAuthValue: policy = H(policy || TPM_CC_PolicyAuthValue)
 * policy must hold TPM2_POLICY_DIGEST_SIZE bytes (all zero to start). */
int tpm2_policy_extend_pcr(TPM2B_DIGEST *policy, uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest);
int tpm2_policy_extend_auth_value(TPM2B_DIGEST *policy);

/* The whole sealing policy: PolicyPCR [+ PolicyAuthValue when with_pin]. */
int tpm2_policy_compute(uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest, bool with_pin,
                        TPM2B_DIGEST *ret);

/* Runs the same policy in a TPM trial session and returns the TPM's digest (flushed on every path). */
int tpm2_policy_trial(Tpm2Context *c, uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest,
                      bool with_pin, TPM2B_DIGEST *ret);

/* Starts a policy session salted to srk, with response parameter encryption (TPMA_SESSION_ENCRYPT) and
 * AES-128-CFB, SHA-256. Flush with tpm2_flush(). */
int tpm2_policy_session_start(Tpm2Context *c, ESYS_TR srk, ESYS_TR *ret_session);

/* Satisfies PolicyPCR [+ PolicyAuthValue] in session. Returns the mapped TPM error; -EPERM when the
 * current PCR values do not match pcr_digest. */
int tpm2_policy_apply(Tpm2Context *c, ESYS_TR session, uint16_t bank, uint32_t mask,
                      const TPM2B_DIGEST *pcr_digest, bool with_pin);

/* Sealed to the SRK alone (no PCR binding, for secrets that must outlive firmware updates, such as the
 * CA key store's passphrase): policy = H(0...0 || TPM_CC_PolicyCommandCode || TPM_CC_Unseal) [+
 * PolicyAuthValue]. userWithAuth stays clear, so the object opens only through a policy session, and
 * only for Unseal. */
int tpm2_policy_compute_srk_only(bool with_pin, TPM2B_DIGEST *ret);
int tpm2_policy_apply_srk_only(Tpm2Context *c, ESYS_TR session, bool with_pin);
int tpm2_policy_trial_srk_only(Tpm2Context *c, bool with_pin, TPM2B_DIGEST *ret);

/* Signed policies (see tpm2-signed-policy.h). PolicyAuthorize, offline (TPM 2.0 Part 3, 23.16):
 *   policy = H(0...0 || TPM_CC_PolicyAuthorize || keyName), then policy = H(policy || policyRef)
 * with policyRef = TPM2_SIGNED_POLICY_REF. The sealed object's authPolicy is that [+ PolicyAuthValue
 * when with_pin]: the PIN comes after the authorization, so no signed policy can leave it out. */
int tpm2_policy_compute_authorize(const TPM2B_NAME *key_name, bool with_pin, TPM2B_DIGEST *ret);

/* The same in a TPM trial session (ticket not checked there). */
int tpm2_policy_trial_authorize(Tpm2Context *c, const TPM2B_NAME *key_name, bool with_pin, TPM2B_DIGEST *ret);

/* Satisfies a signed policy in session: PolicyPCR(entry), LoadExternal(key, owner hierarchy: a null-hierarchy
 * key only gets null tickets, which PolicyAuthorize refuses),
 * VerifySignature(aHash, entry signature) -> ticket, PolicyAuthorize(entry policy, policyRef, key name,
 * ticket) [+ PolicyAuthValue]. The external key is flushed on every path.
 * -EPERM: the current PCRs are not the entry's; -EKEYREJECTED: the TPM refused the signature. */
int tpm2_policy_apply_authorize(Tpm2Context *c, ESYS_TR session, const Tpm2SignedPolicyEntry *e,
                                const TPM2B_PUBLIC *key, bool with_pin);
