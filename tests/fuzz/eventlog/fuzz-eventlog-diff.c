/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eventlog_diff() on two facts documents a user gave us ("tpctl eventlog diff OLD NEW" with saved
 * facts): any JSON of any shape, the two separated by the first NUL byte. Also each with itself, which
 * must give no change. */

#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "eventlog/eventlog-diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t first = nul ? (size_t) (nul - data) : size;
        json_t *old_facts, *new_facts, *changes = NULL;

        log_set_max_level(LOG_CRIT);

        old_facts = json_loadb((const char *) data, first, JSON_DECODE_ANY, NULL);
        new_facts = nul ? json_loadb((const char *) nul + 1, size - first - 1, JSON_DECODE_ANY, NULL) : NULL;

        if (eventlog_diff(old_facts, new_facts, NULL, NULL, &changes) == 0) {
                /* Every change must be a complete object. */
                size_t i;
                json_t *c;

                json_array_foreach(changes, i, c) {
                        if (!json_is_string(json_object_get(c, "kind")) ||
                            !json_is_string(json_object_get(c, "message")) || !json_object_get(c, "old") ||
                            !json_object_get(c, "new"))
                                abort();
                }
                json_decref(changes);
        }
        if (old_facts && eventlog_diff(old_facts, old_facts, NULL, NULL, &changes) == 0) {
                if (json_array_size(changes) != 0)
                        abort();
                json_decref(changes);
        }
        json_decref(old_facts);
        json_decref(new_facts);
        return 0;
}
