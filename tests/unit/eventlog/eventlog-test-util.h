/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Firmware event log tests: fixture loading (tests/fixtures/eventlogs) and a small builder of synthetic
 * logs, little-endian, for the malformed-log cases. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "eventlog/eventlog-tcg.h"

static inline uint8_t *eventlog_fixture(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_true(asprintf(&path, "%s/tests/fixtures/eventlogs/%s", getenv("PROJECT_SOURCE_ROOT"), name) > 0);
        assert_int_equal(read_full_file(path, 1 << 24, &data, ret_size), 0);
        return (uint8_t *) data;
}

static inline EventLog *eventlog_fixture_parse(const char *name) {
        _cleanup_free_ uint8_t *data = NULL;
        EventLog *log = NULL;
        EventlogError err = {};
        size_t size;
        int r;

        data = eventlog_fixture(name, &size);
        r = eventlog_parse(data, size, &log, &err);
        if (r < 0)
                fail_msg("%s: parse failed: %s (%d)", name, err.message, r);
        return log;
}

typedef struct Buf {
        uint8_t *p;
        size_t n, allocated;
} Buf;

static inline void buf_done(Buf *b) {
        free(b->p);
        *b = (Buf){};
}

static inline void buf_put(Buf *b, const void *p, size_t n) {
        if (b->n + n > b->allocated) {
                b->allocated = MAX(b->allocated * 2, b->n + n + 256);
                b->p = realloc(b->p, b->allocated);
                assert_non_null(b->p);
        }
        if (n > 0)
                memcpy(b->p + b->n, p, n);
        b->n += n;
}

static inline void buf_u8(Buf *b, uint8_t v) {
        buf_put(b, &v, 1);
}

static inline void buf_u16(Buf *b, uint16_t v) {
        uint8_t x[2] = { v, v >> 8 };
        buf_put(b, x, 2);
}

static inline void buf_u32(Buf *b, uint32_t v) {
        uint8_t x[4] = { v, v >> 8, v >> 16, v >> 24 };
        buf_put(b, x, 4);
}

static inline void buf_fill(Buf *b, uint8_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                buf_u8(b, v);
}

/* Overwrites 4 bytes at offset (for a size field written before its contents were known). */
static inline void buf_set_u32(Buf *b, size_t offset, uint32_t v) {
        assert_true(offset + 4 <= b->n);
        for (size_t i = 0; i < 4; i++)
                b->p[offset + i] = v >> (8 * i);
}

typedef struct TestAlg {
        uint16_t alg, size;
} TestAlg;

#define TEST_SHA1 ((TestAlg){ 0x0004, 20 })
#define TEST_SHA256 ((TestAlg){ 0x000B, 32 })

/* A legacy TCG_PCClientPCREvent: digest bytes all `fill`. */
static inline void buf_legacy_event(Buf *b, uint32_t pcr, uint32_t type, uint8_t fill, const void *data,
                                    uint32_t size) {
        buf_u32(b, pcr);
        buf_u32(b, type);
        buf_fill(b, fill, 20);
        buf_u32(b, size);
        buf_put(b, data, size);
}

/* The Spec ID Event03 record: algs, uintnSize 2, vendor info of vendor_size bytes 0xAB. */
static inline void buf_spec_id(Buf *b, const TestAlg *algs, size_t n, uint8_t vendor_size) {
        size_t size_at;

        buf_u32(b, 0);
        buf_u32(b, EV_NO_ACTION);
        buf_fill(b, 0, 20);
        size_at = b->n;
        buf_u32(b, 0);
        buf_put(b, "Spec ID Event03", 16);
        buf_u32(b, 0); /* platformClass */
        buf_u8(b, 0);  /* specVersionMinor */
        buf_u8(b, 2);  /* specVersionMajor */
        buf_u8(b, 0);  /* specErrata */
        buf_u8(b, 2);  /* uintnSize */
        buf_u32(b, n);
        for (size_t i = 0; i < n; i++) {
                buf_u16(b, algs[i].alg);
                buf_u16(b, algs[i].size);
        }
        buf_u8(b, vendor_size);
        buf_fill(b, 0xAB, vendor_size);
        buf_set_u32(b, size_at, b->n - size_at - 4);
}

/* A TCG_PCR_EVENT2 with one digest per alg, each all `fill`. */
static inline void buf_event2(Buf *b, uint32_t pcr, uint32_t type, const TestAlg *algs, size_t n,
                              uint8_t fill, const void *data, uint32_t size) {
        buf_u32(b, pcr);
        buf_u32(b, type);
        buf_u32(b, n);
        for (size_t i = 0; i < n; i++) {
                buf_u16(b, algs[i].alg);
                buf_fill(b, fill, algs[i].size);
        }
        buf_u32(b, size);
        buf_put(b, data, size);
}

static const TestAlg test_banks[] = { { 0x0004, 20 }, { 0x000B, 32 } };

/* A small valid crypto-agile log: Spec ID (sha1, sha256, 2 vendor bytes), StartupLocality 3, a
 * separator in PCR 0, an EV_EFI_ACTION in PCR 4, an EV_NO_ACTION. Event start offsets in ret_starts
 * (5 events, then the end). */
static inline void buf_small_agile_log(Buf *b, size_t ret_starts[6]) {
        static const uint8_t locality[17] = "StartupLocality\0\3";
        static const uint8_t sep[4] = {};

        ret_starts[0] = b->n;
        buf_spec_id(b, test_banks, 2, 2);
        ret_starts[1] = b->n;
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, locality, sizeof(locality));
        ret_starts[2] = b->n;
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 0x11, sep, sizeof(sep));
        ret_starts[3] = b->n;
        buf_event2(b, 4, EV_EFI_ACTION, test_banks, 2, 0x22, "Calling EFI Application", 23);
        ret_starts[4] = b->n;
        buf_event2(b, 1, EV_NO_ACTION, test_banks, 2, 0, "x", 1);
        ret_starts[5] = b->n;
}
