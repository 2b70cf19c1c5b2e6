/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Strict JSON parsing of arbitrary bytes; what parses must serialize and parse again. */

#include "shared/json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_decrefp) json_t *j = NULL, *k = NULL;
        _cleanup_free_ char *s = NULL;

        if (json_parse_strict((const char *) data, size, &j) < 0)
                return 0;

        s = json_dumps(j, JSON_COMPACT);
        if (!s)
                abort();
        if (json_parse_strict(s, strlen(s), &k) < 0)
                abort();
        if (!json_equal(j, k))
                abort();
        return 0;
}
