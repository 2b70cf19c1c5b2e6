/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NV indexes of our own: define, write, read, undefine and list ordinary indexes in a range reserved
 * for trusted-platform, so that nothing here can touch EK certificates (0x01C0xxxx), platform or
 * manufacturer indexes.
 *
 * The TCG "Registry of Reserved TPM 2.0 Handles and Localities" (v1.1) splits the NV handle space
 * 0x01000000-0x01FFFFFF into TPM manufacturer (0x01000000-0x013FFFFF), platform manufacturer
 * (0x01400000-0x017FFFFF), owner (0x01800000-0x01BFFFFF) and TCG-defined (0x01C00000-0x01FFFFFF)
 * ranges. Ours is a block of 256 inside the owner range.
 *
 * Two kinds of index (see docs/ARCHITECTURE.md, "NV indexes"):
 *   with a PIN:    TPMA_NV_AUTHREAD|AUTHWRITE, authValue = SHA-256(PIN), not noDA (guesses count
 *                  towards the dictionary-attack lockout); the owner can neither read nor write it;
 *   without a PIN: TPMA_NV_OWNERREAD|OWNERWRITE, authorized by the (empty) owner authorization.
 * Both are ordinary indexes with nameAlg SHA-256 and no policy. Undefining needs the owner for both.
 * Every command carrying data or the authValue (DefineSpace, Write, Read) runs in a session salted to
 * the pinned SRK with parameter encryption in both directions. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-policy.h"

#define TPM2_NV_RANGE_FIRST 0x01A50000U
#define TPM2_NV_RANGE_LAST 0x01A500FFU

#define TPM2_NV_ATTRIBUTES_PIN (TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE)
#define TPM2_NV_ATTRIBUTES_OWNER (TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE)

typedef struct Tpm2NvInfo {
        uint32_t index;
        uint16_t size;
        uint32_t attributes; /* TPMA_NV as the TPM reports them */
        bool has_pin;        /* AUTHREAD|AUTHWRITE; else owner-authorized */
        bool written;        /* TPMA_NV_WRITTEN */
        bool foreign;        /* in our range, but not an index as tpm2_nv_define() makes them */
        TPM2B_NAME name;     /* checked: nameAlg || H(TPMS_NV_PUBLIC), as the TPM and ESYS report it */
} Tpm2NvInfo;

/* Whether index lies in TPM2_NV_RANGE_FIRST..TPM2_NV_RANGE_LAST. */
bool tpm2_nv_index_is_ours(uint32_t index);

/* Every function below refuses an index outside our range with -ERANGE before sending anything to the
 * TPM, and an index in our range that tpm2_nv_define() did not make (other attributes, nameAlg, a
 * policy) with -EADDRINUSE. The public area and name the TPM returns are checked before they are used
 * (-EBADMSG when they disagree).
 * state_dir: where the SRK pin lives (NULL: the default, see tpm2_srk_provision()); the SRK must be
 * provisioned (-ENOKEY else). Messages for users go into error:
 *   -ENOENT  the index is not defined          -EEXIST  it is defined already
 *   -EACCES  wrong or missing PIN ("wrong PIN, 2 tries left")
 *   -ENOLCK  dictionary-attack lockout         -ENODATA read before the first write
 *   -ERANGE  index out of our range, or offset/size beyond the index
 *   -EFBIG   larger than the TPM's TPM_PT_NV_INDEX_MAX
 *   -EPERM   the owner authorization was refused (the owner has a password)
 *   -EINVAL  a PIN for an index without one, an empty PIN, size 0 */

/* Defines index with size bytes; pin NULL for an owner-authorized index. */
int tpm2_nv_define(Tpm2Context *c, const char *state_dir, uint32_t index, size_t size, const char *pin,
                   Tpm2Error *error);

/* Writes size bytes at offset, in chunks of TPM_PT_NV_BUFFER_MAX. pin must be given exactly when the
 * index has one. */
int tpm2_nv_write(Tpm2Context *c, const char *state_dir, uint32_t index, size_t offset, const void *data,
                  size_t size, const char *pin, Tpm2Error *error);

/* Reads size bytes at offset (size 0: up to the end of the index), in chunks. *ret: erase_and_free(). */
int tpm2_nv_read(Tpm2Context *c, const char *state_dir, uint32_t index, size_t offset, size_t size,
                 const char *pin, void **ret, size_t *ret_size, Tpm2Error *error);

/* Undefines index with owner authorization (also an index with a PIN). */
int tpm2_nv_undefine(Tpm2Context *c, uint32_t index, Tpm2Error *error);

/* The public area of index, checked (foreign set rather than an error for one we did not make). */
int tpm2_nv_get_info(Tpm2Context *c, uint32_t index, Tpm2NvInfo *ret, Tpm2Error *error);

/* Every defined index of our range, ascending. *ret: free(). */
int tpm2_nv_list(Tpm2Context *c, Tpm2NvInfo **ret, size_t *ret_n);
