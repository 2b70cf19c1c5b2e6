/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tpm2/tpm2-context.h"

/* One TPM2_GetCapability round trip. The answer's capability must be the one asked for (-EBADMSG
 * otherwise). *ret is freed with Esys_Free(). */
int tpm2_get_capability(Tpm2Context *c, TPM2_CAP cap, uint32_t property, uint32_t count,
                        TPMS_CAPABILITY_DATA **ret, bool *ret_more);

/* Every handle of the type of 'first' (a TPM2_HT_* value shifted into the top byte, or a specific
 * handle to start at), following moreData. The answer must be strictly ascending, of that type and
 * not before 'first'. */
int tpm2_get_handles(Tpm2Context *c, TPM2_HANDLE first, TPM2_HANDLE **ret, size_t *ret_n);

/* All TPM properties in the group starting at 'group' (TPM2_PT_FIXED or TPM2_PT_VAR), ascending. */
int tpm2_get_properties(Tpm2Context *c, TPM2_PT group, TPMS_TAGGED_PROPERTY **ret, size_t *ret_n);

/* The PCR allocation (banks and which PCRs each holds), checked for sane sizes. */
int tpm2_get_pcr_allocation(Tpm2Context *c, TPML_PCR_SELECTION *ret);

/* One TPM property (TPM2_PT_NV_BUFFER_MAX, TPM2_PT_NV_INDEX_MAX, ...). -EBADMSG when the TPM answers
 * with another property or a value of 0. */
int tpm2_get_property(Tpm2Context *c, TPM2_PT property, uint32_t *ret);

/* TPM_PT_NV_BUFFER_MAX, capped at what a TPM2B_MAX_NV_BUFFER holds: the most one TPM2_NV_Read or
 * TPM2_NV_Write moves. */
int tpm2_get_nv_buffer_max(Tpm2Context *c, size_t *ret);
