/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* /etc/crypttab lines as systemd-cryptsetup-generator reads them: "NAME DEVICE [KEYFILE [OPTIONS]]",
 * fields separated by whitespace, each optionally quoted ('...' or "...") with '\' escaping the next
 * character; "#" starts a comment line. OPTIONS is a comma-separated list of "key" or "key=value". */

#include <stdbool.h>

#include "basic/macro.h"

/* Lines longer than this are malformed (LINE_MAX of systemd's read_line() is far above any real one). */
#define CRYPTTAB_LINE_MAX 4096U

typedef struct CrypttabEntry {
        char *name;
        char *device;
        char *keyfile; /* NULL when absent */
        char *options; /* NULL when absent */
} CrypttabEntry;

void crypttab_entry_done(CrypttabEntry *e);

/* Parses one line (without its newline). Returns 1 and fills *ret for an entry, 0 for an empty or
 * comment line (*ret untouched), -EBADMSG for a malformed line (fewer than 2 or more than 4 fields, an
 * unterminated quote, a trailing backslash, a control character), -E2BIG above CRYPTTAB_LINE_MAX. */
int crypttab_parse_line(const char *line, CrypttabEntry *ret);

/* Looks for option key in a comma-separated list (NULL: none). Returns 1 when present, with its value
 * (a new string, NULL when given as plain "key") in *ret_value if ret_value is not NULL; 0 when absent.
 * When a key appears more than once the last one wins (as systemd reads crypttab). */
int crypttab_option_find(const char *options, const char *key, char **ret_value);
