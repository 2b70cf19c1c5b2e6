/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* String and string-vector (NULL-terminated char*[]) helpers. strv_free() and _cleanup_strv_free_
 * live in macro.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

/* Number of entries of a NULL-terminated vector; 0 for NULL. */
size_t strv_length(char *const *l);

/* Appends a copy of value to *l (which may point to NULL: a new vector is allocated).
 * Returns 0, or -ENOMEM (then *l is unchanged). */
int strv_extend(char ***l, const char *value);

/* Whether the vector contains a string equal to s. NULL vector contains nothing. */
bool strv_contains(char *const *l, const char *s);

/* If s starts with prefix, returns the pointer into s just after it, else NULL. */
/* A NUL-terminated copy of n bytes that need not be a string (a field of a parsed buffer, OpenSSL data):
 * unlike strndup() it never reads past p + n (ASan's strndup() checks one byte more). */
char *memdup_suffix0(const void *p, size_t n);

char *startswith(const char *s, const char *prefix) _pure_;

/* If s ends with suffix, returns the pointer into s where suffix starts, else NULL. */
char *endswith(const char *s, const char *suffix) _pure_;

/* Appends every string argument (NULL-terminated list) to *x, reallocating. *x may be NULL.
 * Returns the new string, or NULL on allocation failure (then *x is unchanged). */
char *strextend_internal(char **x, ...) _sentinel_;
#define strextend(x, ...) strextend_internal(x, __VA_ARGS__, NULL)

/* A string that is safe to put into a log line, a file name component or a D-Bus error message:
 * non-empty, valid UTF-8 is not required but no control characters (< 0x20, 0x7f), no quotes or
 * backslashes, at most max_len bytes. */
bool string_is_safe(const char *s, size_t max_len) _pure_;

/* Strict unsigned decimal parsing: only [0-9]+, no sign, no whitespace, no leading "0x", no
 * trailing characters, no overflow. Leading zeros are allowed ("007" == 7).
 * Returns 0 and writes *ret, or -EINVAL (syntax) / -ERANGE (does not fit). */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou32(const char *s, uint32_t *ret);
