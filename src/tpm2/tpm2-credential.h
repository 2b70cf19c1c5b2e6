/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "tpm2/tpm2-context.h"

/* TPM2_ActivateCredential: recovers the secret a verifier wrapped with TPM2_MakeCredential (or
 * tpm2_make_credential()) for this TPM's EK, bound to the name of ak. Proves to the verifier that ak lives
 * in the TPM that holds ek.
 *
 * ak: a loaded key with an empty authValue (authorized through the salted HMAC session).
 * ek: the loaded or persistent EK with the TCG default policy (PolicySecret(TPM_RH_ENDORSEMENT), empty
 * endorsement auth, SHA-256 policy: the low-range EK templates).
 * salt_key: the pinned SRK from tpm2_srk_provision(); the command runs in a session salted to it with
 * parameter encryption both ways, so neither the blob nor the recovered secret crosses the bus in clear.
 *
 * Every session started here is flushed on every path; ak, ek and salt_key stay the caller's.
 * ret_secret (malloc'ed, free with erase_and_free()) / ret_size: written only on success.
 * A blob for another EK, another AK name, or a tampered blob -> -EKEYREJECTED (any TPM parameter error on the
 * blob or the seed: TPM_RC_INTEGRITY, TPM_RC_VALUE, TPM_RC_ECC_POINT, TPM_RC_SIZE...). Other TPM errors per
 * tss2_rc_to_errno(); note that libtpms before 0.10 (Debian 12's swtpm) answers an RSA seed that does not
 * decrypt with TPM_RC_FAILURE instead of TPM_RC_VALUE (libtpms PR #444), which maps to -EIO.
 * -EINVAL for missing handles or empty / oversized blob or seed. */
int tpm2_activate_credential(Tpm2Context *c, ESYS_TR ak, ESYS_TR ek, ESYS_TR salt_key,
                             const TPM2B_ID_OBJECT *credential_blob,
                             const TPM2B_ENCRYPTED_SECRET *encrypted_seed, void **ret_secret,
                             size_t *ret_size);
