/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hex and base64 (RFC 4648, standard alphabet, with padding) encoding and strict decoding.
 * Decoders treat their input as hostile: any character outside the alphabet, whitespace included,
 * is rejected, and so is everything that would not re-encode to the same text. Decoded buffers are
 * always NUL-terminated one byte past *ret_size, so text payloads can be used as strings. */

#include <stddef.h>

/* Lower-case hex of n bytes at p. Returns 0 and a NUL-terminated string in *ret, or -ENOMEM. */
int hexmem(const void *p, size_t n, char **ret);

/* Decodes len characters of hex (upper or lower case) at s; len == SIZE_MAX means strlen(s).
 * Returns 0 with a new buffer in *ret and its size in *ret_size, -EINVAL on odd length or a
 * non-hex character, -ENOMEM. Empty input decodes to an empty (non-NULL) buffer. */
int unhexmem(const char *s, size_t len, void **ret, size_t *ret_size);

/* Base64 of n bytes at p, padded, no line breaks. Returns 0 and the string in *ret, or -ENOMEM. */
int base64mem(const void *p, size_t n, char **ret);

/* Decodes len characters of padded base64 at s; len == SIZE_MAX means strlen(s).
 * Returns 0 with *ret / *ret_size as unhexmem(), -EINVAL when the length is not a multiple of 4,
 * a character is outside the alphabet, padding is misplaced, or the unused bits before the padding
 * are not zero (non-canonical encodings are rejected so one value has one encoding), -ENOMEM. */
int unbase64mem(const char *s, size_t len, void **ret, size_t *ret_size);
