/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Timing helpers shared by the benchmarks: a monotonic clock in nanoseconds and the median in µs. */

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void) {
        struct timespec ts;
        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                abort();
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static inline double median_us(uint64_t *v, size_t n) {
        qsort(v, n, sizeof(uint64_t), cmp_u64);
        return (n % 2 ? (double) v[n / 2] : (double) (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1000.0;
}
