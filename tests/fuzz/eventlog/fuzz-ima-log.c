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
        for (size_t i = 0; i < log->n_entries; i++)
                if (log->entries[i].pcr >= IMA_PCR_MAX || log->entries[i].digest_size > IMA_DIGEST_MAX)
                        abort();
        (void) ima_log_verify(log, &err);

        if (ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH) < 0)
                abort();
        (void) ima_replay_log(&r, log, &err);
        if (log->n_entries > 0)
                (void) ima_boot_aggregate_check(log->entries, pcrs, 2, NULL, &err);
        return 0;
}
