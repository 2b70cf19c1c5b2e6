/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 2), for verifiers: OpenSSL only, no TPM.
 * The device proves that the key named ak_name lives in the same TPM as ek_public by recovering the
 * secret with TPM2_ActivateCredential (tpm2_activate_credential()). */

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

/* KDFa (Part 1 §11.4.10.2, SP 800-108 counter mode with HMAC-hash): out_size bytes of
 * HMAC(key, [i]32 || label || 0x00 || context_u || context_v || [out_size * 8]32), i = 1, 2, ...
 * label NULL is the empty label. -EOPNOTSUPP for an unknown hash, -EINVAL for out_size 0. */
int tpm2_kdfa(uint16_t hash_alg, const void *key, size_t key_size, const char *label, const void *context_u,
              size_t context_u_size, const void *context_v, size_t context_v_size, void *out, size_t out_size);

/* KDFe (Part 1 §11.4.10.3, SP 800-56A concatenation KDF): out_size bytes of
 * H([i]32 || z || label || 0x00 || party_u || party_v), i = 1, 2, ... */
int tpm2_kdfe(uint16_t hash_alg, const void *z, size_t z_size, const char *label, const void *party_u,
              size_t party_u_size, const void *party_v, size_t party_v_size, void *out, size_t out_size);

/* Wraps secret (1 .. digest size of the EK's nameAlg bytes) for the TPM holding ek_public, bound to the
 * object named ak_name. ek_public: a restricted decryption key (an EK, or any storage key) with
 * RSA (seed: RSA-OAEP with the nameAlg, label "IDENTITY") or ECC on NIST P-256/384/521 (seed: ephemeral
 * ECDH + KDFe, the encrypted secret is the marshalled ephemeral TPMS_ECC_POINT), AES-CFB symmetric.
 *
 * ret_credential_blob / ret_encrypted_seed: malloc'ed, the TPM2B structures TPM2_ActivateCredential
 * takes (marshal them with tss2-mu to send them over the wire). The seed and derived keys are wiped.
 *
 * -EINVAL: bad sizes, ak_name not a name; -EOPNOTSUPP: an EK type, curve, symmetric algorithm or
 * nameAlg we do not handle; -EBADMSG: a malformed public key; -ENOMEM; -EIO: an OpenSSL failure. */
int tpm2_make_credential(const TPM2B_PUBLIC *ek_public, const TPM2B_NAME *ak_name, const void *secret,
                         size_t secret_size, TPM2B_ID_OBJECT **ret_credential_blob,
                         TPM2B_ENCRYPTED_SECRET **ret_encrypted_seed);
