/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ATTACKS b-1 (GHSA-7638 and friends): a malicious TCTI. Fuzzer bytes become the TPM's responses to our
 * get_info, pcr_read and get_random call sequences; nothing may crash, read out of bounds, hang, or
 * leak. */

#include <string.h>

#include "basic/log.h"
#include "fake-tcti.h"
#include "fuzz-tpm2-sequence.h"
#include "tpm2/tpm2-context-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Script {
        const uint8_t *data;
        size_t size, offset;
        bool fix_size;
} Script;

static void respond_from_script(FakeTcti *f, uint32_t cc, const uint8_t *cmd, size_t cmd_size, void *userdata) {
        Script *s = userdata;
        size_t len;

        if (s->size - s->offset < 2) {
                fake_tcti_respond_rc(f, TPM2_RC_FAILURE);
                return;
        }
        len = (size_t) s->data[s->offset] << 8 | s->data[s->offset + 1];
        s->offset += 2;
        len = MIN(len, s->size - s->offset);

        fake_tcti_respond(f, s->data + s->offset, len);
        s->offset += len;

        if (s->fix_size && f->response_size >= 6) {
                f->response[2] = (uint8_t) (f->response_size >> 24);
                f->response[3] = (uint8_t) (f->response_size >> 16);
                f->response[4] = (uint8_t) (f->response_size >> 8);
                f->response[5] = (uint8_t) f->response_size;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Script s = {};
        FakeTcti *f;
        Tpm2Context *c = NULL;
        uint32_t mask;

        if (size < FUZZ_TPM2_HEADER_SIZE)
                return 0;

        /* Debug logging of every rejected answer would drown the fuzzer. */
        log_set_max_level(getenv("FUZZ_TPM2_DEBUG") ? LOG_DEBUG : LOG_CRIT);

        mask = (uint32_t) data[0] | (uint32_t) data[1] << 8 | (uint32_t) data[2] << 16;
        s = (Script) {
                .data = data,
                .size = size,
                .offset = FUZZ_TPM2_HEADER_SIZE,
                .fix_size = data[4] & FUZZ_TPM2_FLAG_FIX_SIZE,
        };

        f = fake_tcti_new(respond_from_script, &s);
        if (!f)
                return 0;
        if (tpm2_context_new_from_tcti(fake_tcti_context(f), &c) >= 0) {
                fuzz_tpm2_run_sequence(c, mask, (size_t) data[3] + 1);
                tpm2_context_free(c);
        }
        fake_tcti_free(f);
        return 0;
}
