/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Unsealing the secret of a parsed LUKS2 token (the keyslot passphrase): the one core the token plugin,
 * the unlock helper and reseal share. Runs in early boot (no D-Bus, no /var): the SRK is checked against
 * the name pinned in the token, never against the state-directory pin. */

#include <stdbool.h>
#include <stddef.h>

#include "luks/luks-token.h"
#include "tpm2/tpm2-context.h"

/* Where the signed PCR policy for tokens sealed to an authorizing key is read from when the caller names
 * none: $TRUSTED_PLATFORM_SIGNED_POLICY if set, else this file (copied into the initramfs by our hook). */
#define LUKS_SIGNED_POLICY_DEFAULT PKGSYSCONFDIR "/signed-policy.json"

/* Unseals the secret of a parsed token (the keyslot passphrase). tcti: NULL = the token's tp-tcti, else
 * $TRUSTED_PLATFORM_TCTI, else [TPM] Device= of trusted-platform.conf, else DEFAULT_TCTI. pin NULL (or empty) = none. signed_policy_path: NULL = the
 * default above (read only for tokens sealed to an authorizing key). The SRK at 0x81000001 must have
 * the name pinned in the token (tp-srk), not the state-dir pin: a mismatch is -EKEYREJECTED, never an
 * unsalted fallback. *ret_secret: erase_and_free(). Errors (a line a user can act on in reason, e.g.
 * "PCR 7 (sha256) differs from the value sealed against: ..."):
 *   -ENOANO       a PIN is needed and none was given (the TPM is not contacted)
 *   -EAGAIN       no TPM reachable through the TCTI
 *   -EPERM        a bound PCR changed, or no signed policy matches the current PCRs
 *   -EACCES       wrong PIN (reason has the tries left)
 *   -ENOLCK       dictionary-attack lockout
 *   -EBADMSG      the blob is not for this TPM (or tampered with)
 *   -EKEYREJECTED no SRK at 0x81000001, or one with another name than tp-srk
 *   -ENOENT       sealed to an authorizing key and the signed-policy file is missing
 *   -EINVAL       the signed-policy file does not parse */
int luks_token_unseal(const LuksToken *t, const char *tcti, const char *pin, const char *signed_policy_path,
                      void **ret_secret, size_t *ret_size, char *reason, size_t reason_size);

/* Makes *context (NULL or a context) one that talks to tcti (NULL = $TRUSTED_PLATFORM_TCTI, else the
 * configuration's [TPM] Device=, else DEFAULT_TCTI, as the daemon resolves it): kept when it already talks to exactly that TCTI, else freed
 * and replaced. On failure *context is NULL. Lets one process use one TCTI and ESYS context for an unseal
 * and the measurement that follows instead of loading and initializing them twice. */
int luks_tpm_context_open(const char *tcti, Tpm2Context **context);

/* luks_token_unseal() on a context the caller keeps (*context: NULL or a context, freed by the caller): it
 * is used when it talks to the TCTI the unseal resolves to, else replaced (luks_tpm_context_open()). When
 * the TPM was asked and the unseal failed, *context is freed and NULL (ESYS may refuse further calls); a
 * failure before the TPM is asked (-ENOANO, the signed-policy file) leaves it as it was. */
int luks_token_unseal_on(const LuksToken *t, const char *tcti, const char *pin,
                         const char *signed_policy_path, Tpm2Context **context, void **ret_secret,
                         size_t *ret_size, char *reason, size_t reason_size);

/* PINs longer than this are refused (as a wrong PIN) before anything is hashed or sent. */
#define LUKS_TOKEN_PIN_MAX 1024U

/* What the message of a luks_token_open() failure is worth to a user (the plugin maps it onto
 * libcryptsetup's log levels). */
typedef enum LuksTokenLogLevel {
        LUKS_TOKEN_LOG_DEBUG,   /* expected on the way (a PIN is asked for next) */
        LUKS_TOKEN_LOG_VERBOSE, /* no TPM here: another token or the passphrase follows */
        LUKS_TOKEN_LOG_ERROR,   /* the token cannot open the volume, and why */
} LuksTokenLogLevel;

/* The token plugin's open and open_pin, with libcryptsetup's conventions (a test links this; the plugin
 * is a thin ABI file over it): json is the token's JSON (NUL-terminated, as crypt_token_json_get()
 * gives it), pin pin_size bytes (not necessarily NUL-terminated; NULL or 0 bytes = none).
 * keyslot_usable, if not NULL, says whether the token's keyslot exists in the header (a token naming a
 * keyslot that is not there is refused before the TPM is asked). tcti as luks_token_unseal().
 * Returns 0 with the keyslot passphrase (*ret_secret: erase_and_free()), or:
 *   -ENOANO  a PIN is needed: none given, or a wrong one (libcryptsetup asks again)
 *   -EAGAIN  no TPM reachable (libcryptsetup tries the next token)
 *   -ENOENT  anything else: the token is malformed or hostile, its keyslot missing, PCRs changed, the
 *            SRK swapped, the TPM in lockout, ... (never an attempt with a weaker policy)
 *   -ENOMEM
 * reason gets a line for the user on every failure, *ret_level how loud to say it. */
int luks_token_open(const char *json, const char *tcti, const char *pin, size_t pin_size,
                    bool (*keyslot_usable)(int keyslot, void *userdata), void *userdata, void **ret_secret,
                    size_t *ret_size, LuksTokenLogLevel *ret_level, char *reason, size_t reason_size);
