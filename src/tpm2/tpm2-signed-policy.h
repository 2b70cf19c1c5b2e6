/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Signed PCR policies (TPM2_PolicyAuthorize): a secret sealed to an authorizing public key opens under
 * any PCR policy that key signed, so a firmware or boot loader update ships a new signature instead of
 * requiring a re-seal. Everything here is software (OpenSSL, tss2-mu), usable by admin tools without a
 * TPM.
 *
 * What is signed: approvedPolicy = the PolicyPCR digest (SHA-256 session) over one bank and selection,
 * and the TPM verifies aHash = SHA-256(approvedPolicy || TPM2_SIGNED_POLICY_REF) with the key's scheme:
 * RSASSA-PKCS1-v1_5/SHA-256 for RSA (2048..4096 bits, exponent 65537), ECDSA/SHA-256 for NIST P-256.
 *
 * The sealed object's authPolicy is PolicyAuthorize(keyName, policyRef) followed by PolicyAuthValue when
 * a PIN is set. PolicyAuthorize replaces the session digest, so whatever the signer approved is consumed
 * before PolicyAuthValue: no signature can approve a policy without the PIN.
 *
 * Signed-policy file (JSON, strict: unknown or duplicate keys, wrong types and trailing data refused):
 *   { "format": "trusted-platform-signed-pcr-policy", "version": 1,
 *     "entries": [ { "bank": "sha256",
 *                    "pcrs": [ { "index": 7, "digest": "<hex>" }, ... ],   ascending, no 16/23
 *                    "policy": "<hex, 32 bytes: PolicyPCR digest of pcrs>",
 *                    "key": "<hex: TPM name of the signing key, 000b || SHA-256(TPMT_PUBLIC)>",
 *                    "scheme": "rsassa" | "ecdsa",
 *                    "signature": "<hex: RSA signature, or ECDSA r || s of 32 bytes each>" }, ... ] }
 * 1..TPM2_SIGNED_POLICY_ENTRIES_MAX entries: an update ships the old and the new entry side by side. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "tpm2/tpm2-pcr.h"

/* The policyRef every signature covers: scopes our signatures to sealing, so a signature the same key
 * made for another purpose does not open our secrets. */
#define TPM2_SIGNED_POLICY_REF "org.trustedplatform.seal.v1"
#define TPM2_SIGNED_POLICY_ENTRIES_MAX 16U
#define TPM2_SIGNED_POLICY_FILE_MAX (256U * 1024U)
#define TPM2_SIGNED_POLICY_FORMAT "trusted-platform-signed-pcr-policy"

typedef struct Tpm2SignedPolicyEntry {
        uint16_t bank;
        uint32_t pcr_mask;
        size_t n_values;
        Tpm2PcrValue values[TPM2_PCRS_MAX]; /* sorted by index, exactly the PCRs of pcr_mask */
        TPM2B_DIGEST policy;                /* approvedPolicy: PolicyPCR over values */
        TPM2B_NAME key_name;
        TPMT_SIGNATURE signature;
} Tpm2SignedPolicyEntry;

typedef struct Tpm2SignedPolicy {
        size_t n_entries;
        Tpm2SignedPolicyEntry entries[TPM2_SIGNED_POLICY_ENTRIES_MAX];
} Tpm2SignedPolicy;

/* The TPM public area (for LoadExternal) and TPM name of an authorizing public key.
 * Accepts an EVP_PKEY (public or private; only the public part is used), or SubjectPublicKeyInfo as DER
 * or PEM. -EOPNOTSUPP: not RSA 2048..4096 with exponent 65537 nor ECC P-256; -EINVAL: not a key. */
int tpm2_authorize_key_from_pkey(EVP_PKEY *pkey, TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name);
int tpm2_authorize_key_from_spki(const void *data, size_t size, TPM2B_PUBLIC *ret_public,
                                 TPM2B_NAME *ret_name);

/* Whether pub is exactly what tpm2_authorize_key_from_pkey() produces (checked on parsed blobs). */
bool tpm2_authorize_key_public_ok(const TPMT_PUBLIC *pub);

/* aHash = SHA-256(approved_policy || TPM2_SIGNED_POLICY_REF), the digest the key signs. */
int tpm2_signed_policy_ahash(const TPM2B_DIGEST *approved_policy, TPM2B_DIGEST *ret);

/* Signs the PolicyPCR over (bank, values) with private key pkey: values one per PCR, any order, no
 * resettable PCR (-EINVAL, reason in the debug log), digests of the bank's size. */
int tpm2_signed_policy_sign(EVP_PKEY *pkey, uint16_t bank, const Tpm2PcrValue *values, size_t n_values,
                            Tpm2SignedPolicyEntry *ret);

/* Verifies an entry's signature in software against an authorizing public area (no TPM): 0 when it
 * verifies, -EBADMSG when not. The TPM verifies again at unseal; this lets signers check their files. */
int tpm2_signed_policy_entry_verify(const Tpm2SignedPolicyEntry *e, const TPM2B_PUBLIC *key);

/* Strict parse of the file above (size bytes, need not be NUL-terminated): -EBADMSG for anything
 * malformed or inconsistent (a policy digest that is not the PolicyPCR of the listed digests, a
 * signature of the wrong size for its scheme, resettable PCRs, ...), -E2BIG above
 * TPM2_SIGNED_POLICY_FILE_MAX. *ret: free(). */
int tpm2_signed_policy_parse(const void *data, size_t size, Tpm2SignedPolicy **ret);

/* The JSON text of p (NUL-terminated, newline at the end). *ret: free(). */
int tpm2_signed_policy_format(const Tpm2SignedPolicy *p, char **ret);
