/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Memory for secrets (PINs, unsealed data, volume keys, private keys): wiped before it is given
 * back, kept out of core dumps, and compared in constant time. */

#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

/* Frees heap memory from malloc() & co after wiping all of it (malloc_usable_size() bytes, so the
 * slack after the requested size is wiped too). Accepts NULL. Returns NULL. */
void *erase_and_free(void *p);

static inline void erase_and_freep(void *p) {
        erase_and_free(*(void **) p);
}
#define _cleanup_erase_free_ _cleanup_(erase_and_freep)

/* Like strv_free(), wiping every string first. */
char **strv_free_erase(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free_erase);

/* Wipes n bytes at p; the compiler may not elide it. */
void erase_mem(void *p, size_t n);

/* Page-backed memory for secrets held for a long time (a daemon's cached key): its own mapping,
 * locked into RAM where RLIMIT_MEMLOCK allows (best effort; failure to lock is logged at debug level
 * and not an error), excluded from core dumps (MADV_DONTDUMP) and not inherited by children
 * (MADV_WIPEONFORK). Contents start zeroed. Returns NULL with errno set on failure; size 0 is
 * EINVAL. Free only with secure_free(). */
void *secure_malloc(size_t size);

/* Wipes and unmaps memory from secure_malloc(). Accepts NULL. Returns NULL. */
void *secure_free(void *p);
static inline void secure_freep(void *p) {
        secure_free(*(void **) p);
}
#define _cleanup_secure_free_ _cleanup_(secure_freep)

/* Constant-time comparison of n bytes: the time taken depends only on n, not on where the buffers
 * differ. Returns 0 when equal, non-zero otherwise (no ordering). Use for MACs, tags, PINs. */
int memcmp_ct(const void *a, const void *b, size_t n);

/* Constant-time equality of two buffers of possibly different lengths. The lengths themselves are
 * not secret. */
static inline bool memeqsafe(const void *a, size_t na, const void *b, size_t nb) {
        return na == nb && memcmp_ct(a, b, na) == 0;
}

/* Test seam: when set, called with the region just wiped, before it is released. Unit tests use it
 * to check that erase_and_free() and secure_free() really zeroed the memory. Never set in programs. */
extern void (*secure_mem_wiped_hook)(const void *p, size_t n);
