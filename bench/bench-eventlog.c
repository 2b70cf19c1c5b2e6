/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bench-eventlog FILE [ITERATIONS]: parse + replay of a firmware event log in memory (the file is read
 * once), ITERATIONS times. Prints tab-separated: events, bytes, extends (event digests replayed, over
 * every bank), the median of one parse+replay in µs, the median of the replay alone in µs, then per
 * bank "name:extends" (what the hashing floor is computed from). No TPM. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "bench-util.h"
#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ uint64_t *t = NULL, *t_replay = NULL;
        size_t bank_extends[EVENTLOG_BANKS_MAX] = {};
        uint16_t bank_algs[EVENTLOG_BANKS_MAX] = {};
        size_t n_banks = 0;
        _cleanup_free_ char *data = NULL;
        size_t size, n, n_events = 0, extends = 0;
        int r;

        log_parse_environment();
        if (argc < 2)
                return log_error("Usage: bench-eventlog FILE [ITERATIONS]"), EXIT_FAILURE;
        n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
        if (n == 0)
                return EXIT_FAILURE;
        t = calloc(n, sizeof(uint64_t));
        t_replay = calloc(n, sizeof(uint64_t));
        if (!t || !t_replay)
                return EXIT_FAILURE;

        r = read_full_file(argv[1], SIZE_MAX, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", argv[1]), EXIT_FAILURE;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(eventlog_freep) EventLog *l = NULL;
                _cleanup_(eventlog_replay_freep) EventlogReplay *rp = NULL;
                EventlogError e = {};
                uint64_t t0 = now_ns(), t1;

                r = eventlog_parse(data, size, &l, &e);
                t1 = now_ns();
                if (r >= 0)
                        r = eventlog_replay(l, &rp, &e);
                if (r < 0)
                        return log_error_errno(r, "%s: %s", argv[1], e.message), EXIT_FAILURE;
                t[i] = now_ns() - t0;
                t_replay[i] = now_ns() - t1;

                if (i == 0) {
                        n_events = l->n_events;
                        n_banks = rp->n_banks;
                        for (size_t b = 0; b < n_banks; b++)
                                bank_algs[b] = rp->banks[b].alg;
                        for (size_t k = 0; k < l->n_events; k++)
                                if (l->events[k].type != EV_NO_ACTION)
                                        for (size_t b = 0; b < n_banks; b++)
                                                if (eventlog_event_digest(&l->events[k], bank_algs[b])) {
                                                        bank_extends[b]++;
                                                        extends++;
                                                }
                }
        }

        printf("%zu\t%zu\t%zu\t%.0f\t%.0f", n_events, size, extends, median_us(t, n), median_us(t_replay, n));
        for (size_t b = 0; b < n_banks; b++)
                printf("\t%s:%zu", strna(eventlog_alg_to_string(bank_algs[b])), bank_extends[b]);
        printf("\n");
        return EXIT_SUCCESS;
}
