/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The firmware event log parser on arbitrary bytes, then everything a verifier does with what parsed:
 * replay, digest checks, comparison with PCR values (the replayed ones, and changed ones). Seeds: the
 * fixtures of tests/fixtures/eventlogs and a few small malformed logs. */

#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "eventlog/eventlog-replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *r = NULL;
        _cleanup_free_ EventlogDigestStatus *s = NULL;
        _cleanup_free_ EventlogPcrComparison *c = NULL;
        EventlogPcrValue v[EVENTLOG_PCRS_MAX + 1] = {};
        EventlogError err = {};
        uint32_t first;
        size_t n = 0;
        int q;

        log_set_max_level(LOG_CRIT);

        q = eventlog_parse(data, size, &log, &err);
        if (q < 0) {
                /* Every error about the input names a place inside it. */
                if (q != -ENOMEM && (err.offset > size || err.message[0] == 0))
                        abort();
                return 0;
        }
        /* Read everything the events point to, so that ASan sees a pointer past the copy. */
        for (size_t i = 0; i < log->n_events; i++) {
                const EventlogEvent *e = log->events + i;
                volatile uint8_t x = 0;

                if (e->pcr >= EVENTLOG_PCRS_MAX || e->n_digests > log->n_banks || e->index != i)
                        abort();
                for (size_t k = 0; k < e->data_size; k++)
                        x ^= e->data[k];
                for (size_t d = 0; d < e->n_digests; d++)
                        for (size_t k = 0; k < e->digests[d].size; k++)
                                x ^= e->digests[d].data[k];
                (void) x;
                (void) eventlog_event_type_to_string(e->type);
        }

        q = eventlog_check_digests(log, &s, &first, &err);
        if (q < 0 && q != -ENOMEM)
                abort();
        if (q > 0 && (first >= log->n_events || s[first] != EVENTLOG_DIGEST_MISMATCH))
                abort();

        q = eventlog_replay(log, &r, &err);
        if (q < 0)
                return 0;
        /* Compare with the replayed values of the first bank, PCR 1 changed, and a bank that is missing. */
        for (uint32_t p = 0; p < EVENTLOG_PCRS_MAX; p++) {
                const uint8_t *d;
                size_t ds;

                if (eventlog_replay_pcr(r, r->banks[0].alg, p, &d, &ds) < 0)
                        abort();
                v[n] = (EventlogPcrValue){ .index = p, .bank = r->banks[0].alg, .size = ds };
                memcpy(v[n].digest, d, ds);
                if (p == 1)
                        v[n].digest[0] ^= 1;
                n++;
        }
        v[n++] = (EventlogPcrValue){ .index = 0, .bank = 0x7fff, .size = 32 };
        q = eventlog_replay_compare(r, log, v, n, &c);
        if (q != 2)
                abort();
        return 0;
}
