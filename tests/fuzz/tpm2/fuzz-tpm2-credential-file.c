/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The credential file parser on untrusted bytes (ActivateCredential takes them from any caller): never
 * crashes, and whatever it accepts formats back to exactly the same bytes (so the corpus files written by
 * tpm2_makecredential also check our writer against tpm2-tools). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm2/tpm2-credential-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TPM2B_ENCRYPTED_SECRET seed;
        TPM2B_ID_OBJECT blob;
        void *out = NULL;
        size_t out_size = 0;

        if (tpm2_credential_file_parse(data, size, &blob, &seed) < 0)
                return 0;
        if (tpm2_credential_file_format(&blob, &seed, &out, &out_size) < 0 || out_size != size ||
            memcmp(out, data, size) != 0)
                abort();
        free(out);
        return 0;
}
