/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bench-eventlog FILE [ITERATIONS]: parse + replay of a firmware event log in memory (the file is read
 * once), ITERATIONS times. Prints tab-separated: events, bytes, extends (event digests replayed, over
 * every bank), then the median of one parse+replay in µs. No TPM. */

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
        _cleanup_free_ uint64_t *t = NULL;
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
        if (!t)
                return EXIT_FAILURE;

        r = read_full_file(argv[1], SIZE_MAX, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", argv[1]), EXIT_FAILURE;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(eventlog_freep) EventLog *l = NULL;
                _cleanup_(eventlog_replay_freep) EventlogReplay *rp = NULL;
                EventlogError e = {};
                uint64_t t0 = now_ns();

                r = eventlog_parse(data, size, &l, &e);
                if (r >= 0)
                        r = eventlog_replay(l, &rp, &e);
                if (r < 0)
                        return log_error_errno(r, "%s: %s", argv[1], e.message), EXIT_FAILURE;
                t[i] = now_ns() - t0;

                if (i == 0) {
                        n_events = l->n_events;
                        for (size_t k = 0; k < l->n_events; k++)
                                if (l->events[k].type != EV_NO_ACTION)
                                        extends += l->events[k].n_digests;
                }
        }

        printf("%zu\t%zu\t%zu\t%.0f\n", n_events, size, extends, median_us(t, n));
        return EXIT_SUCCESS;
}
