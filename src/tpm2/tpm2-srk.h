/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "tpm2/tpm2-context.h"

#define TPM2_SRK_HANDLE 0x81000001U

typedef struct Tpm2SrkInfo {
        bool created;          /* created (and persisted) by this call */
        uint16_t algorithm;    /* TPM2_ALG_ECC or TPM2_ALG_RSA */
        char *name_hex;        /* the SRK's TPM name (nameAlg + digest of the public area), hex */
} Tpm2SrkInfo;

/* Finds, checks and pins the Storage Root Key at TPM2_SRK_HANDLE.
 *
 * Present and a storage key (restricted|decrypt|fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth,
 * noDA, not sign, ECC or RSA) -> adopted. Present but anything else -> -EEXIST (a foreign persistent
 * object is never overwritten). Absent: provision=true creates it with the TCG standard SRK template
 * (ECC P-256 when the TPM has that curve, else RSA 2048) in the owner hierarchy and persists it with
 * EvictControl; provision=false -> -ENOKEY.
 *
 * Pin: state_dir/srk.pub holds the TPM2B_PUBLIC (tss2-mu wire format). Written atomically (0600,
 * directory created 0700) on first use; afterwards a different key -> -EKEYREJECTED (and a freshly
 * created key is not persisted in that case). An unparseable pin file -> -EBADMSG.
 * state_dir NULL: $TRUSTED_PLATFORM_STATE_DIR, else PKGSTATEDIR.
 *
 * ret_handle: the SRK's ESYS_TR (persistent: release with tpm2_flush(), which only closes it). */
int tpm2_srk_provision(Tpm2Context *c, const char *state_dir, bool provision, ESYS_TR *ret_handle,
                       Tpm2SrkInfo *ret_info);
void tpm2_srk_info_done(Tpm2SrkInfo *i);

/* Opens the SRK at TPM2_SRK_HANDLE and checks it against a name pinned elsewhere (a LUKS2 token's
 * tp-srk: early boot has no state directory), not against the state-directory pin. Never creates or
 * changes anything. -ENOKEY: no object at the handle; -EKEYREJECTED: the object there is not a storage
 * key or has another name (swapped SRK, or an interposer answering for it). ret_handle as above. */
int tpm2_srk_open_expected(Tpm2Context *c, const TPM2B_NAME *expected, ESYS_TR *ret_handle);

/* The TPM name of a public area: nameAlg || H_nameAlg(TPMT_PUBLIC). -EOPNOTSUPP for unknown nameAlg. */
int tpm2_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *ret);

/* Whether a public area is a storage key we accept as SRK. */
bool tpm2_public_is_storage_key(const TPMT_PUBLIC *p);
