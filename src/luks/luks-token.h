/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The LUKS2 token of type "trusted-platform-tpm2" (DESIGN §9): JSON in the LUKS2 header, which is not
 * authenticated, so every field is hostile input. Parsing is strict about every field we define and
 * tolerant of keys we do not know (a newer version's optional fields); the sealed blob is parsed and
 * the token's descriptive fields must agree with it exactly, so an edited token can never make us
 * unlock with a weaker policy than the TPM object was sealed to (the TPM enforces the blob's policy
 * anyway; the check makes an edit an error instead of a confusing TPM refusal).
 *
 *   {
 *     "type": "trusted-platform-tpm2",
 *     "keyslots": ["1"],                    exactly one keyslot, decimal, 0..31
 *     "tp-version": 1,
 *     "tp-blob": "<base64>",                the sealed blob (tpm2_sealed_blob_serialize())
 *     "tp-pcr-bank": "sha256",              PCR policy only: the blob's bank
 *     "tp-pcrs": [7],                       PCR policy only: the blob's PCRs, ascending
 *     "tp-authorize-key": "<hex name>",     signed policy only: the TPM name of the authorizing key
 *     "tp-pin": false,                      whether a PIN is needed (the blob's flag)
 *     "tp-srk": "<hex name>",               the TPM name of the SRK the blob was sealed under
 *     "tp-tcti": "device:/dev/tpmrm0"       optional: where the TPM is (luks_token_tcti_is_safe())
 *   } */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "tpm2/tpm2-seal.h"

#define LUKS_TOKEN_TYPE "trusted-platform-tpm2"
#define LUKS_TOKEN_VERSION 1
#define LUKS_TOKEN_SIZE_MAX (64U * 1024U) /* far above a real token (~2 KiB), below LUKS2's JSON area */
#define LUKS_TOKEN_KEYSLOTS_MAX 32U
#define LUKS_TOKEN_TCTI_MAX 256U

typedef struct LuksToken {
        int keyslot;
        Tpm2SealedBlob *blob;
        TPM2B_NAME srk_name;
        char *tcti; /* NULL: the default */
} LuksToken;

LuksToken *luks_token_free(LuksToken *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(LuksToken *, luks_token_free);

/* Parses size bytes of token JSON (not necessarily NUL-terminated). Returns 0 with *ret, or a negative
 * errno with a reason in reason (may be NULL; reason_size bytes):
 *   -EBADMSG  not JSON / a field missing, of the wrong type or malformed (base64, hex), the blob does not
 *             parse, a descriptive field disagrees with the blob
 *   -EINVAL   wrong type name, a keyslot out of range or not exactly one
 *   -EPROTONOSUPPORT  another tp-version
 *   -E2BIG    above LUKS_TOKEN_SIZE_MAX */
int luks_token_parse(const char *json, size_t size, LuksToken **ret, char *reason, size_t reason_size);

/* Whether tcti may stand in a token's tp-tcti: "device:/dev/tpmrmN" or "device:/dev/tpmN", or the
 * swtpm, mssim or tabrmd TCTI with a plain configuration. Never a library name or path (the TCTI loader
 * dlopen()s it), another device node or file (the device TCTI writes commands into it), or the pcap
 * TCTI: the header is attacker input and the plugin runs inside cryptsetup as root. */
bool luks_token_tcti_is_safe(const char *tcti);

/* The token JSON for keyslot and blob (sealed under the SRK named srk_name), NUL-terminated. */
int luks_token_format(int keyslot, const Tpm2SealedBlob *blob, const TPM2B_NAME *srk_name, const char *tcti,
                      char **ret);

/* One line per field for `cryptsetup luksDump` and `tpctl volume status` ("\tPCRs: sha256 7"). */
int luks_token_describe(const LuksToken *t, char **ret);
