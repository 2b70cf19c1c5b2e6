/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "tpm2/tpm2-credential-file.h"

#define HEADER_SIZE 8U

int tpm2_credential_file_parse(const void *data, size_t size, TPM2B_ID_OBJECT *ret_blob,
                               TPM2B_ENCRYPTED_SECRET *ret_seed) {
        TPM2B_ENCRYPTED_SECRET seed = {};
        TPM2B_ID_OBJECT blob = {};
        uint32_t magic, version;
        size_t off = 0;
        TSS2_RC rc;

        if (!data && size > 0)
                return -EINVAL;

        rc = Tss2_MU_UINT32_Unmarshal(data, size, &off, &magic);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(-EBADMSG, "Credential file too short for its header.");
        if (magic != TPM2_CREDENTIAL_FILE_MAGIC)
                return log_debug_errno(-EBADMSG, "Not a credential file: magic 0x%08x.", magic);
        rc = Tss2_MU_UINT32_Unmarshal(data, size, &off, &version);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(-EBADMSG, "Credential file too short for its header.");
        if (version != TPM2_CREDENTIAL_FILE_VERSION)
                return log_debug_errno(-EPROTONOSUPPORT, "Credential file version %u is not supported.",
                                       version);

        /* tss2-mu refuses a size above the structure's buffer and one beyond the data. */
        rc = Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(data, size, &off, &blob);
        if (rc != TSS2_RC_SUCCESS || blob.size == 0)
                return log_debug_errno(-EBADMSG, "Credential file: invalid credential blob.");
        rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(data, size, &off, &seed);
        if (rc != TSS2_RC_SUCCESS || seed.size == 0)
                return log_debug_errno(-EBADMSG, "Credential file: invalid encrypted seed.");
        if (off != size)
                return log_debug_errno(-EBADMSG, "Credential file: %zu trailing bytes.", size - off);

        if (ret_blob)
                *ret_blob = blob;
        if (ret_seed)
                *ret_seed = seed;
        return 0;
}

int tpm2_credential_file_format(const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *seed, void **ret,
                                size_t *ret_size) {
        size_t size, off = 0;
        uint8_t *buf;
        TSS2_RC rc;

        if (!blob || !seed || !ret || !ret_size)
                return -EINVAL;
        if (blob->size == 0 || blob->size > sizeof(blob->credential) || seed->size == 0 ||
            seed->size > sizeof(seed->secret))
                return -EINVAL;

        size = HEADER_SIZE + sizeof(uint16_t) + blob->size + sizeof(uint16_t) + seed->size;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;

        rc = Tss2_MU_UINT32_Marshal(TPM2_CREDENTIAL_FILE_MAGIC, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_UINT32_Marshal(TPM2_CREDENTIAL_FILE_VERSION, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_TPM2B_ID_OBJECT_Marshal(blob, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(seed, buf, size, &off);
        if (rc != TSS2_RC_SUCCESS || off != size) {
                free(buf);
                return -EINVAL;
        }

        *ret = buf;
        *ret_size = size;
        return 0;
}
