/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMA log parser on arbitrary bytes, in the format the first byte selects, then everything a
 * verifier does with what parsed: template hash verification, replay of two banks, boot_aggregate. */

#include "basic/log.h"
#include "eventlog/ima-replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint16_t banks[] = { 0x0004, 0x000B };
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaBankPcrs pcrs[2] = { { .alg = 0x0004 }, { .alg = 0x000B } };
        ImaParseParams p = {};
        ImaReplay r;
        ImaError err = {};
        int q;

        log_set_max_level(LOG_CRIT);

        if (size < 1)
                return 0;
        /* The selector byte is not part of the log, so seeds are the fixture files with one byte in
         * front: 'a' ASCII, 'b' binary, anything else auto-detect. */
        p.format = data[0] == 'a' ? IMA_LOG_FORMAT_ASCII
                : data[0] == 'b'  ? IMA_LOG_FORMAT_BINARY
                                  : IMA_LOG_FORMAT_AUTO;
        data++;
        size--;

        q = ima_log_parse(data, size, &p, &log, &err);
        if (q < 0) {
                /* Every error about the input names a place inside it. */
                if (q != -ENOMEM && (err.offset > size || err.message[0] == 0))
                        abort();
                return 0;
        }
        /* Read what every entry points to, so that ASan sees pointers that outlived a move. */
        for (size_t i = 0; i < log->n_entries; i++) {
                const ImaEntry *e = log->entries + i;
                size_t n = strlen(e->digest_algo) + (e->name ? strlen(e->name) : 0);

                if (e->pcr >= IMA_PCR_MAX || e->digest_size > IMA_DIGEST_MAX || n > size)
                        abort();
                for (size_t f = 0; f < e->template.n_fields; f++)
                        if (e->fields[f].size > 0 && e->fields[f].data[e->fields[f].size - 1] == 0)
                                n++;
        }
        (void) ima_log_verify(log, &err);

        if (ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH) < 0)
                abort();
        (void) ima_replay_log(&r, log, &err);
        if (log->n_entries > 0) {
                (void) ima_boot_aggregate_check(log->entries, pcrs, 2, NULL, &err);
                (void) ima_boot_aggregate_check(log->entries + log->n_entries - 1, pcrs, 2, NULL, &err);
        }
        /* Stop where PCR 10 is still all zero, i.e. before the first entry that touches it. */
        if (ima_replay_init(&r, banks, 2, IMA_EXTEND_PADDED_SHA1) < 0)
                abort();
        (void) ima_replay_log_until(&r, log, 0x000B, 10, pcrs[1].pcrs[0], 32, &err);
        return 0;
}
