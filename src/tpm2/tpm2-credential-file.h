/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The credential file of tpm2-tools (tpm2_makecredential -o, tpm2_activatecredential -i): what a verifier
 * hands to the device. Layout, all big-endian: magic 0xBADCC0DE (32 bits), version 1 (32 bits), the
 * marshalled TPM2B_ID_OBJECT (credential blob), the marshalled TPM2B_ENCRYPTED_SECRET (seed). Parsing is
 * strict: nothing may follow the seed, and neither structure may be empty or larger than its TPM2B. */

#include <stddef.h>
#include <tss2/tss2_tpm2_types.h>

#define TPM2_CREDENTIAL_FILE_MAGIC 0xBADCC0DEU
#define TPM2_CREDENTIAL_FILE_VERSION 1U
/* No valid file is larger: the header and both TPM2Bs at their largest. */
#define TPM2_CREDENTIAL_FILE_MAX (8U + sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET))

/* -EBADMSG: wrong magic, truncated, a size beyond its structure or the data, an empty blob or seed,
 * trailing bytes. -EPROTONOSUPPORT: another version. ret_*: written only on success. */
int tpm2_credential_file_parse(const void *data, size_t size, TPM2B_ID_OBJECT *ret_blob,
                               TPM2B_ENCRYPTED_SECRET *ret_seed);

/* The file for blob and seed; *ret malloc'ed. -EINVAL for empty or oversized structures. */
int tpm2_credential_file_format(const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *seed, void **ret,
                                size_t *ret_size);
