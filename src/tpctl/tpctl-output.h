/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Output layer of tpctl: D-Bus replies are first read into jansson values (keys are the D-Bus names,
 * byte arrays become lowercase hex strings), then printed either as JSON or as a libsmartcols table.
 * One read path, two renderers, so table and JSON never disagree. */

#include <jansson.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"

typedef enum JsonMode {
        JSON_MODE_OFF,
        JSON_MODE_SHORT,
        JSON_MODE_PRETTY,
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -EINVAL,
} JsonMode;

JsonMode json_mode_from_string(const char *s);
const char *json_mode_to_string(JsonMode m);

/* json_decrefp() comes with jansson. */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libscols_table *, scols_unref_table);

/* Reads the next complete value of m (any D-Bus type) into a new JSON value. Integers become JSON
 * integers (a 't' above INT64_MAX becomes a decimal string), "ay" becomes a lowercase hex string,
 * dictionaries become objects (keys converted to strings), other arrays and structs become arrays,
 * variants are unwrapped. Returns 0, or -ENXIO at the end of the current container, or another negative
 * errno. */
int bus_message_read_json(sd_bus_message *m, json_t **ret);

/* Reads an "a{sv}" (or any "a{s*}") at the current position into a new JSON object. Unknown keys are
 * kept: newer daemons add some. -EBADMSG if the next value is not a dictionary keyed by strings. */
int bus_message_read_dict_json(sd_bus_message *m, json_t **ret);

/* Prints v as JSON with a trailing newline. mode must not be JSON_MODE_OFF. */
int json_print(FILE *f, const json_t *v, JsonMode mode);

/* Formats any JSON value for a table cell: strings as they are, booleans as yes/no, numbers in
 * decimal, arrays joined with ", " ("none" when empty), objects as compact JSON, null as "n/a". */
int json_format_cell(const json_t *v, char **ret);

/* Describes one row of a key/value table. format may be NULL (json_format_cell() is used); it is
 * given the value of key and may return -ENODATA to hide the row. */
/* Like json_format_cell(), but the items of an array on lines of their own (for lists of sentences that
 * contain ", " themselves, like trust reasons). */
int json_format_lines(const json_t *v, char **ret);

typedef struct FieldFormat {
        const char *key;
        const char *label;
        int (*format)(const json_t *v, char **ret);
} FieldFormat;

/* Builds a two-column table with right-aligned "Label:" cells (like hostnamectl): first the fields
 * listed in fields[] that are present in obj, in that order, then every other key of obj with its
 * D-Bus name as the label, so that values a newer daemon adds are shown too. */
int kv_table_new(const json_t *obj, const FieldFormat *fields, size_t n_fields, struct libscols_table **ret);

/* Builds the INDEX BANK DIGEST table from an array of {"Index","Bank","Digest"} objects. */
int pcr_table_new(const json_t *pcrs, bool legend, struct libscols_table **ret);

/* Prints a table to f. */
int table_print(struct libscols_table *t, FILE *f);

/* Formats seconds like systemd does, e.g. "16min 40s", "0s". */
int format_seconds(uint64_t s, char **ret);

/* Formats a µs timestamp as local time, "never" for 0. */
int format_timestamp_usec(uint64_t usec, char **ret);

/* RemoteVerdictExpires as a cell: its time, or "no verdict" for 0 (none held, or it expired). */
int format_verdict_expires(const json_t *v, char **ret);

/* Starts a pager for stdout when stdout is a terminal and $TPCTL_PAGER/$PAGER do not say "cat" or
 * "": $TPCTL_PAGER, $PAGER, then less and more. less gets LESS=FRSXMK (like systemd), so short output
 * does not wait for a key press. Returns 1 if a pager was started, 0 if not. */
int pager_open(void);
/* Flushes stdout, closes the pipe and waits for the pager. Safe to call when none is open. */
void pager_close(void);

/* Builds a table with one column per key (headers[i] above the values of keys[i]) and one line per
 * object of the array rows; a key missing from an object gives an empty cell. */
int json_table_new(const json_t *rows, const char *const *keys, const char *const *headers, size_t n_columns,
                   bool legend, struct libscols_table **ret);
