/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict JSON parsing with jansson, for input from the network, LUKS headers and other hostile places. */

#include <jansson.h>

#include "basic/macro.h"

/* Limits applied by json_parse_strict(). */
#define JSON_PARSE_SIZE_MAX (4U * 1024U * 1024U)
#define JSON_PARSE_DEPTH_MAX 64U

/* Parses exactly n bytes at s (which need not be NUL-terminated) as one JSON object or array:
 * duplicate keys, trailing data after the value, NUL bytes (also as \u0000 in strings), nesting
 * deeper than JSON_PARSE_DEPTH_MAX and input larger than JSON_PARSE_SIZE_MAX are all rejected.
 * Returns 0 and a new reference in *ret, -EBADMSG for bad input (jansson's reason with line and column
 * in the debug log), -E2BIG for too large input, -ENOMEM. */
int json_parse_strict(const char *s, size_t n, json_t **ret);

/* jansson (>= 2.9) provides json_decrefp(json_t **) itself: use _cleanup_(json_decrefp). */
