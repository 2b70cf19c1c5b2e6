/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small checked helpers around TPM objects, shared by the EK and AK code. */

#include <stdbool.h>

#include "tpm2/tpm2-context.h"

/* Whether the TPM has the persistent object or NV index h (TPM2_GetCapability(HANDLES)). 1, 0 or a
 * negative errno. */
int tpm2_handle_present(Tpm2Context *c, TPM2_HANDLE h);

/* TPM2_ReadPublic of handle, checked: the returned name must be the name computed from the returned
 * public area, and the name ESYS holds for the handle (from loading or TR_FromTPMPublic). -EBADMSG when
 * they disagree, -EOPNOTSUPP for a nameAlg we cannot compute. ret_name may be NULL. */
int tpm2_read_public_verified(Tpm2Context *c, ESYS_TR handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name);

/* Byte-wise equality of the marshalled public areas (padding and unused union bytes ignored). */
bool tpm2_public_equal(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b);

bool tpm2_name_equal(const TPM2B_NAME *a, const TPM2B_NAME *b);

/* Opens persistent handle h and returns its ESYS_TR after tpm2_read_public_verified(). Release with
 * tpm2_flush() (only closes it). */
int tpm2_persistent_open(Tpm2Context *c, TPM2_HANDLE h, ESYS_TR *ret_handle, TPM2B_PUBLIC *ret_pub,
                         TPM2B_NAME *ret_name);
