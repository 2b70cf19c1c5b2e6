/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-policy.h"

typedef struct Tpm2Info {
        char *manufacturer;        /* e.g. "IBM": TPM_PT_MANUFACTURER as 4 chars, trailing NULs/spaces stripped */
        char *vendor_string;       /* TPM_PT_VENDOR_STRING_1..4 joined, printable characters only */
        char *firmware_version;    /* "major.minor.x.y" from TPM_PT_FIRMWARE_VERSION_1/2 */
        uint32_t spec_level, spec_revision, spec_year, spec_day_of_year; /* revision 164 = 1.64 */
        char **algorithms;         /* NULL-terminated: "rsa", "ecc", "sha256", "aes", "cfb", ...; unknown
                                    * ones as "0x%04x" */
        char **pcr_banks;          /* active banks with a non-empty selection, e.g. "sha1", "sha256" */
        uint32_t pcr_count;
        bool in_lockout;
        uint32_t lockout_counter, max_auth_fail, lockout_interval, lockout_recovery;
} Tpm2Info;

/* Reads the fixed and variable properties, the algorithm list and the PCR allocation. */
int tpm2_get_info(Tpm2Context *c, Tpm2Info **ret);
Tpm2Info *tpm2_info_free(Tpm2Info *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tpm2Info *, tpm2_info_free);

/* Lower-case name of any TPM2_ALG_ID we know ("rsa", "sha256", "cfb", ...), NULL otherwise. */
const char *tpm2_alg_to_string(uint16_t alg);

/* TPM2_DictionaryAttackLockReset with the lockout hierarchy's authorization value, which we assume empty
 * (the service never sets one). Clears the failure counter and lockout. -EACCES when the lockout
 * hierarchy has an authorization value (that failure counts against the lockout hierarchy itself),
 * -ENOLCK when the lockout hierarchy is itself locked after such a failure (until LockoutRecovery has
 * passed), -EPERM when it is disabled. */
int tpm2_da_lock_reset(Tpm2Context *c);
/* After an authorization failure r (-EACCES or -ENOLCK) with a PIN: fills error with what the user can
 * act on, from the TPM's dictionary-attack state ("wrong PIN, 2 tries left", "the TPM is in
 * dictionary-attack lockout for 600 s"). Returns -EACCES or -ENOLCK. */
int tpm2_explain_auth_failure(Tpm2Context *c, int r, Tpm2Error *error);
