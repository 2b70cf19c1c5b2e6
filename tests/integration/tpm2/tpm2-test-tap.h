/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A TCTI in front of swtpm that keeps every byte sent and received, to prove what never crosses the
 * wire in clear (parameter encryption) and that nothing is sent at all (refusals before the TPM).
 * Header only, cmocka asserts; include after <cmocka.h>. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tcti.h>

typedef struct Tap {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_TCTI_CONTEXT *inner;
        uint8_t *bytes;
        size_t size;
        uint32_t codes[64]; /* the command code of every command sent, in order (the first 64) */
        size_t n_codes;
} Tap;

static inline void tap_record(Tap *t, const uint8_t *p, size_t n) {
        t->bytes = realloc(t->bytes, t->size + n);
        assert_non_null(t->bytes);
        memcpy(t->bytes + t->size, p, n);
        t->size += n;
}

static inline TSS2_RC tap_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        Tap *t = (Tap *) ctx;

        if (size >= 10 && t->n_codes < sizeof(t->codes) / sizeof(t->codes[0]))
                t->codes[t->n_codes++] = (uint32_t) command[6] << 24 | (uint32_t) command[7] << 16 |
                        (uint32_t) command[8] << 8 | command[9];
        tap_record(t, command, size);
        return Tss2_Tcti_Transmit(((Tap *) ctx)->inner, size, command);
}

static inline TSS2_RC tap_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        Tap *t = (Tap *) ctx;
        TSS2_RC rc = Tss2_Tcti_Receive(t->inner, size, response, timeout);

        if (rc == TSS2_RC_SUCCESS && response)
                tap_record(t, response, *size);
        return rc;
}

/* Whether any 8-byte window of needle occurs in the captured bytes, so partial leaks are caught too. */
static inline bool seen_in(const void *bytes, size_t size, const void *needle, size_t n) {
        for (size_t i = 0; i + 8 <= n; i++)
                if (memmem(bytes, size, (const uint8_t *) needle + i, 8))
                        return true;
        return false;
}

static inline bool seen(const Tap *t, const void *needle, size_t n) {
        return seen_in(t->bytes, t->size, needle, n);
}

#define TAP_INIT \
        { .common.v1 = { .magic = 1, .version = 1, .transmit = tap_transmit, .receive = tap_receive }, }
