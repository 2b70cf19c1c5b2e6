/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A verifier runs MakeCredential on an EK public area and an AK name that the device sent: whatever
 * they hold, tpm2_make_credential() fails cleanly or returns blobs of the documented shape.
 * Input: TPM2B_PUBLIC || TPM2B_NAME (tss2-mu wire format) || the secret (the rest). */

#include <stdlib.h>
#include <tss2/tss2_mu.h>

#include "basic/macro.h"
#include "tpm2/tpm2-makecredential.h"
#include "tpm2/tpm2-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        TPM2B_PUBLIC ek = {};
        TPM2B_NAME name = {};
        size_t off = 0, digest_size;

        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, size, &off, &ek) != TSS2_RC_SUCCESS)
                return 0;
        if (Tss2_MU_TPM2B_NAME_Unmarshal(data, size, &off, &name) != TSS2_RC_SUCCESS)
                return 0;

        if (tpm2_make_credential(&ek, &name, data + off, size - off, &blob, &seed) < 0) {
                if (blob || seed)
                        abort();
                return 0;
        }

        digest_size = tpm2_hash_alg_digest_size(ek.publicArea.nameAlg);
        if (size - off == 0 || size - off > digest_size)
                abort();
        if (blob->size != 2 + digest_size + 2 + (size - off))
                abort();
        if (seed->size == 0 || seed->size > sizeof(seed->secret))
                abort();
        return 0;
}
