/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Attestation keys: restricted signing keys under the EK, kept as blobs in the state directory. */

#include <stdbool.h>

#include "tpm2/tpm2-context.h"

/* The blob file, "<state_dir>/ak-<name>.blob": magic "TPAK", uint16 version (1), uint16 EK algorithm,
 * TPM2B_PUBLIC, TPM2B_PRIVATE (tss2-mu wire format, big endian), nothing after. */
#define TPM2_AK_BLOB_MAGIC "TPAK"
#define TPM2_AK_BLOB_VERSION 1U

/* AK names: 1..64 characters of [A-Za-z0-9_-]. */
bool tpm2_ak_name_valid(const char *name);

/* The names of the AKs stored in state_dir (NULL: as for tpm2_ak_create()): every regular file
 * "ak-<name>.blob" with a valid name, sorted. A missing directory is an empty list. *ret is
 * NULL-terminated (never NULL itself on success); free with strv_free(). */
int tpm2_ak_list(const char *state_dir, char ***ret);

/* The AK template: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign, SHA-256 name;
 * TPM2_ALG_ECC: NIST P-256 with ECDSA-SHA256, TPM2_ALG_RSA: 2048 bit with RSASSA-SHA256. -EINVAL for
 * another alg. */
int tpm2_ak_template(uint16_t alg, TPM2B_PUBLIC *ret);

/* Whether pub is exactly an AK made from tpm2_ak_template() (unique ignored). */
bool tpm2_ak_public_is_valid(const TPM2B_PUBLIC *pub);

/* Creates an AK of ak_alg (0: ECC) under the EK of ek_alg (0: ECC; tpm2_ek_create(), authorized by
 * PolicySecret(TPM_RH_ENDORSEMENT) with empty endorsement auth) and stores its blob atomically (0600,
 * state directory created 0700) as "ak-<name>.blob". An existing blob of that name -> -EEXIST.
 * state_dir NULL: $TRUSTED_PLATFORM_STATE_DIR, else PKGSTATEDIR. Nothing stays loaded in the TPM.
 * ret_public, ret_name (the AK's TPM name) may be NULL. */
int tpm2_ak_create(Tpm2Context *c, const char *state_dir, const char *name, uint16_t ek_alg, uint16_t ak_alg,
                   TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name);

/* Reads and checks the blob (-ENOENT when missing, -EBADMSG for a malformed file, trailing bytes, a
 * public area that is not exactly an AK) and loads it under its EK. The name the TPM reports must be
 * the one computed from the blob's public area. Flush *ret_handle with tpm2_flush(). ret_public and
 * ret_name may be NULL. A blob made on another TPM or tampered with fails in TPM2_Load (-EBADMSG or
 * -EINVAL). */
int tpm2_ak_load(Tpm2Context *c, const char *state_dir, const char *name, ESYS_TR *ret_handle,
                 TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name);

/* TPM2_Certify of the loaded object by the loaded AK (both with empty auth), over qualifying_data (at
 * most 64 bytes, may be empty). The answer is checked: TPMS_ATTEST unmarshals exactly, magic
 * TPM_GENERATED_VALUE, type TPM_ST_ATTEST_CERTIFY, extraData == qualifying_data, certified name == the
 * object's name, signature in the AK's scheme. -EBADMSG otherwise. Free the results with free(). */
int tpm2_ak_certify(Tpm2Context *c, ESYS_TR ak, ESYS_TR object, const void *qualifying_data,
                    size_t qualifying_size, TPM2B_ATTEST **ret_attest, TPMT_SIGNATURE **ret_signature);
