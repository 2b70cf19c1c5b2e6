/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Decoding never reads out of bounds, and whatever decodes re-encodes to the input (up to case). */

#include <strings.h>

#include "basic/hexdecoct.h"
#include "basic/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ void *dec = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n;

        if (unhexmem((const char *) data, size, &dec, &n) < 0)
                return 0;

        if (n != size / 2 || ((const uint8_t *) dec)[n] != 0)
                abort();
        if (hexmem(dec, n, &enc) < 0)
                abort();
        if (strlen(enc) != size || strncasecmp(enc, (const char *) data, size) != 0)
                abort();
        return 0;
}
