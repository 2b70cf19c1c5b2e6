/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Decoding never reads out of bounds, and whatever decodes re-encodes to exactly the input: the decoder
 * accepts one canonical encoding per value. */

#include "basic/hexdecoct.h"
#include "basic/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ void *dec = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n;

        if (unbase64mem((const char *) data, size, &dec, &n) < 0)
                return 0;

        if (base64mem(dec, n, &enc) < 0)
                abort();
        if (strlen(enc) != size || memcmp(enc, data, size) != 0)
                abort();
        return 0;
}
