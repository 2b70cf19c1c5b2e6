/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "shared/json-util.h"

/* jansson's own limit (2048) is compiled in; ours is tighter, checked in one pass before parsing.
 * Brackets inside strings do not count. */
static int json_check_depth(const char *s, size_t n) {
        unsigned depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '[' || c == '{') {
                        if (++depth > JSON_PARSE_DEPTH_MAX)
                                return log_debug_errno(EBADMSG, "JSON nested deeper than %u levels.",
                                                       JSON_PARSE_DEPTH_MAX);
                } else if ((c == ']' || c == '}') && depth > 0)
                        depth--;
        }
        return 0;
}

int json_parse_strict(const char *s, size_t n, json_t **ret) {
        json_error_t error;
        json_t *j;
        int r;

        assert(s || n == 0);
        assert(ret);

        if (n > JSON_PARSE_SIZE_MAX)
                return log_debug_errno(E2BIG, "JSON input of %zu bytes is larger than %u bytes.", n,
                                       JSON_PARSE_SIZE_MAX);

        r = json_check_depth(s ?: "", n);
        if (r < 0)
                return r;

        /* Without JSON_DISABLE_EOF_CHECK trailing data is an error; without JSON_DECODE_ANY the top level
         * must be an object or array; without JSON_ALLOW_NUL "\u0000" is refused. */
        j = json_loadb(s ?: "", n, JSON_REJECT_DUPLICATES, &error);
        if (!j) {
                if (json_error_code(&error) == json_error_out_of_memory)
                        return -ENOMEM;
                return log_debug_errno(EBADMSG, "Invalid JSON at line %d, column %d: %s", error.line,
                                       error.column, error.text);
        }

        *ret = j;
        return 0;
}
