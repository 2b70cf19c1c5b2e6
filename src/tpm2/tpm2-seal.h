/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-signed-policy.h"

/* What fits into a sealed keyed-hash object directly (MAX_SYM_DATA); larger secrets are envelope
 * encrypted (AES-256-GCM under a sealed random 32-byte key). */
#define TPM2_SEAL_DIRECT_MAX 128U
#define TPM2_SEAL_SECRET_MAX (1024U * 1024U)
#define TPM2_SEAL_ENVELOPE_IV_SIZE 12U
#define TPM2_SEAL_ENVELOPE_TAG_SIZE 16U

typedef struct Tpm2SealOptions {
        uint16_t bank;                /* PCR bank, 0 = TPM2_ALG_SHA256 */
        uint32_t pcr_mask;            /* bit i = PCR i; 16 and 23 are refused */
        const Tpm2PcrValue *expected; /* NULL: the current values; else one per PCR of the mask, sorted */
        size_t n_expected;
        const char *pin;       /* NULL: no PIN (object noDA); else the PIN, its SHA-256 is the authValue */
        const char *state_dir; /* where the SRK pin lives, NULL: the default (see tpm2_srk_provision) */
        /* Non-NULL: seal to this authorizing key (tpm2_authorize_key_from_*()) instead of PCR values; the
         * PCR binding then comes from the signed policies given at unseal. pcr_mask and expected must be
         * 0/NULL, bank is ignored. */
        const TPM2B_PUBLIC *authorize_key;
        /* Seal to the SRK alone, bound to no PCR (tpm2_policy_compute_srk_only()): for secrets that must
         * survive firmware and boot changes. pcr_mask, expected and authorize_key must be 0/NULL. */
        bool srk_only;
} Tpm2SealOptions;

typedef struct Tpm2SealedBlob {
        TPM2B_PUBLIC public;
        TPM2B_PRIVATE private;
        uint16_t bank;
        uint32_t pcr_mask;
        size_t n_expected;
        Tpm2PcrValue expected[TPM2_PCRS_MAX]; /* sorted by index, what the policy was computed over */
        bool has_pin;
        bool envelope;
        bool authorize; /* sealed to authorize_key; bank, pcr_mask, expected unused */
        bool srk_only;  /* sealed to the SRK alone; bank, pcr_mask, expected unused (0) */
        TPM2B_PUBLIC authorize_key;
        uint8_t iv[TPM2_SEAL_ENVELOPE_IV_SIZE];
        uint8_t tag[TPM2_SEAL_ENVELOPE_TAG_SIZE];
        uint8_t *ciphertext; /* envelope only */
        size_t ciphertext_size;
} Tpm2SealedBlob;

Tpm2SealedBlob *tpm2_sealed_blob_free(Tpm2SealedBlob *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tpm2SealedBlob *, tpm2_sealed_blob_free);

/* Seals secret (1..TPM2_SEAL_SECRET_MAX bytes) under the pinned SRK (never provisions one: -ENOKEY).
 * The object: keyed hash, fixedTPM|fixedParent, userWithAuth clear, noDA unless a PIN is set,
 * authPolicy = PolicyPCR(bank, mask, expected) [+ PolicyAuthValue], or with authorize_key
 * PolicyAuthorize(keyName, TPM2_SIGNED_POLICY_REF) [+ PolicyAuthValue]. The policy digest is computed
 * offline and must equal a TPM trial session's and the created object's authPolicy (-EBADMSG else).
 * Create runs in a session salted to the SRK with parameter encryption.
 * -EINVAL (reason in error): bad selection (resettable PCR, empty, ...), bad expected values, size. */
int tpm2_seal(Tpm2Context *c, const Tpm2SealOptions *opts, const void *secret, size_t size,
              Tpm2SealedBlob **ret, Tpm2Error *error);

/* Loads the blob under the pinned SRK, satisfies the policy in a salted policy session that also
 * encrypts the response, unseals (and decrypts the envelope). Everything is flushed on every path.
 * *ret_secret: erase_and_free(). Errors (message in error):
 *   -EPERM   a bound PCR changed ("PCR 7 (sha256) differs from the value sealed against: ...")
 *   -EACCES  wrong or missing PIN ("wrong PIN, 2 tries left")
 *   -ENOLCK  dictionary-attack lockout ("the TPM is in dictionary-attack lockout for 600 s")
 *   -EBADMSG the blob does not belong to this TPM/SRK, or was tampered with
 *   -EKEYREJECTED / -ENOKEY from the SRK pin check.
 *   -EINVAL  the blob is sealed to an authorizing key (use tpm2_unseal_signed()). */
int tpm2_unseal(Tpm2Context *c, const Tpm2SealedBlob *blob, const char *pin, void **ret_secret,
                size_t *ret_size, Tpm2Error *error);

/* Unseals a blob sealed to an authorizing key under a signed policy: the first entry signed by the blob's
 * key whose PCR values are the current ones is satisfied in the TPM (PolicyPCR, VerifySignature ticket,
 * PolicyAuthorize [, PolicyAuthValue]). Errors as tpm2_unseal(), and:
 *   -EPERM   no entry matches ("no signed policy matches the current PCRs: PCR 7 (sha256) is ab12…, the
 *            policy signed cd34…"), none is signed by the blob's key,
 *            or the TPM refused the entry's signature (tampered with, or made by another key)
 *   -EINVAL  the blob is not sealed to an authorizing key. */
int tpm2_unseal_signed(Tpm2Context *c, const Tpm2SealedBlob *blob, const Tpm2SignedPolicy *policy,
                       const char *pin, void **ret_secret, size_t *ret_size, Tpm2Error *error);

typedef struct Tpm2UnsealOptions {
        const char *pin; /* NULL: none */
        /* Blobs sealed to an authorizing key: the signed policies to choose from (NULL: -ENOENT). Ignored
         * for other blobs. */
        const Tpm2SignedPolicy *signed_policy;
        /* Non-NULL: the SRK at TPM2_SRK_HANDLE must have this name (tpm2_srk_open_expected(): a name
         * pinned next to the blob, as LUKS2 tokens do), and the state-directory pin is not consulted.
         * NULL: the state-directory pin, as tpm2_unseal(). A mismatch is -EKEYREJECTED; there is no
         * unsalted fallback. */
        const TPM2B_NAME *srk_name;
} Tpm2UnsealOptions;

/* tpm2_unseal() or tpm2_unseal_signed(), as the blob needs, with the options above. Errors as those,
 * plus -ENOENT (a blob sealed to an authorizing key and no signed policy given), -ENOKEY (no SRK). */
int tpm2_unseal_with(Tpm2Context *c, const Tpm2SealedBlob *blob, const Tpm2UnsealOptions *opts,
                     void **ret_secret, size_t *ret_size, Tpm2Error *error);

/* Versioned wire format (big endian):
 *   "TPSB" | u8 version (1) | u8 flags (1 = PIN, 2 = envelope) | u16 bank | u32 pcr_mask |
 *   popcount(mask) digests of the bank's size | TPM2B_PUBLIC | TPM2B_PRIVATE |
 *   [envelope: iv[12] | tag[16] | u32 size | ciphertext]
 * Version 2 (blobs sealed to an authorizing key, flag 4; PCR blobs are still written as version 1, so
 * older readers keep reading them):
 *   "TPSB" | u8 2 | u8 flags (4 | PIN | envelope) | u16 0 | u32 0 | TPM2B_PUBLIC of the authorizing key |
 *   TPM2B_PUBLIC | TPM2B_PRIVATE | [envelope as above]
 * Blobs sealed to the SRK alone are version 1 with flag 8, bank 0, pcr_mask 0 and no digests.
 * parse is strict: every field checked against what tpm2_seal() produces, no trailing bytes;
 * -EBADMSG otherwise. */
int tpm2_sealed_blob_serialize(const Tpm2SealedBlob *b, uint8_t **ret, size_t *ret_size);
int tpm2_sealed_blob_parse(const void *data, size_t size, Tpm2SealedBlob **ret);
