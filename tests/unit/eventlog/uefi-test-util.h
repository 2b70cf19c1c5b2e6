/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixture loading for the UEFI decoder tests: the logs in tests/fixtures/eventlogs, walked by a small
 * reader of their own that trusts its input (fixtures only; like tests/harness/tcglog.py), so that the
 * decoders can be tested on real event data independently of the parser. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/macro.h"
#include "eventlog/eventlog-tcg.h"

static inline uint8_t *uefi_fixture(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *data = NULL;

        assert_true(asprintf(&path, "%s/tests/fixtures/eventlogs/%s", getenv("PROJECT_SOURCE_ROOT"), name) > 0);
        assert_int_equal(read_full_file(path, 1 << 24, &data, ret_size), 0);
        return (uint8_t *) TAKE_PTR(data);
}

static inline uint32_t uefi_test_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The events of a fixture (pointing into data): *ret (free()) and their number. */
static inline size_t uefi_fixture_events(const uint8_t *data, size_t size, EventlogEvent **ret) {
        EventlogEvent *events = NULL;
        size_t n = 0, off = 0, n_algs = 0;
        uint16_t algs[EVENTLOG_BANKS_MAX], sizes[EVENTLOG_BANKS_MAX];
        bool agile;

        assert_true(size >= 32);
        /* The first event is a TCG_PCClientPCREvent. */
        for (;;) {
                EventlogEvent e = { .index = n, .offset = off };
                agile = n > 0 && n_algs > 0;
                if (off + 8 > size)
                        break;
                e.pcr = uefi_test_le32(data + off);
                e.type = uefi_test_le32(data + off + 4);
                off += 8;
                if (!agile) {
                        e.n_digests = 1;
                        e.digests[0] = (EventlogDigest){ .alg = 0x0004, .size = 20, .data = data + off };
                        off += 20;
                } else {
                        uint32_t count = uefi_test_le32(data + off);
                        off += 4;
                        assert_true(count <= n_algs);
                        for (uint32_t i = 0; i < count; i++) {
                                uint16_t alg = data[off] | data[off + 1] << 8;
                                size_t k;
                                for (k = 0; k < n_algs && algs[k] != alg; k++)
                                        ;
                                assert_true(k < n_algs);
                                e.digests[i] = (EventlogDigest){ .alg = alg,
                                                                 .size = sizes[k],
                                                                 .data = data + off + 2 };
                                off += 2 + sizes[k];
                        }
                        e.n_digests = count;
                }
                assert_true(off + 4 <= size);
                e.data_size = uefi_test_le32(data + off);
                off += 4;
                assert_true(e.data_size <= size - off);
                e.data = e.data_size > 0 ? data + off : NULL;
                off += e.data_size;
                if (n == 0 && e.type == EV_NO_ACTION && e.data_size >= 28 &&
                    memcmp(e.data, "Spec ID Event03", 16) == 0) {
                        n_algs = uefi_test_le32(e.data + 24);
                        assert_true(n_algs <= EVENTLOG_BANKS_MAX);
                        for (size_t i = 0; i < n_algs; i++) {
                                algs[i] = e.data[28 + 4 * i] | e.data[29 + 4 * i] << 8;
                                sizes[i] = e.data[30 + 4 * i] | e.data[31 + 4 * i] << 8;
                        }
                }
                events = realloc(events, (n + 1) * sizeof(EventlogEvent));
                assert_non_null(events);
                events[n++] = e;
                if (off >= size)
                        break;
        }
        *ret = events;
        return n;
}
