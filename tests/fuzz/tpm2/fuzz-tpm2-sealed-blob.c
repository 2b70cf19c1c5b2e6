/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sealed-blob parser on untrusted bytes (blobs live on disk and in LUKS headers, ATTACKS b-1):
 * never crashes, and whatever it accepts serializes back to exactly the same bytes. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm2/tpm2-seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Tpm2SealedBlob *b = NULL;
        uint8_t *out = NULL;
        size_t out_size = 0;

        if (tpm2_sealed_blob_parse(data, size, &b) < 0)
                return 0;
        if (tpm2_sealed_blob_serialize(b, &out, &out_size) < 0 || out_size != size ||
            memcmp(out, data, size) != 0)
                abort();
        free(out);
        tpm2_sealed_blob_free(b);
        return 0;
}
