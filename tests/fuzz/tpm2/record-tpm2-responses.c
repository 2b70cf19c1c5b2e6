/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a fuzz-tpm2-response seed from a real TPM: runs the fuzz target's call sequence against the TCTI
 * in $TRUSTED_PLATFORM_TCTI and records every response.
 *   record-tpm2-responses MASK RANDOM_SIZE FLAGS > seed
 * e.g. through tests/integration/tpm2/run-with-swtpm.sh. Not part of any test. */

#include <stdio.h>
#include <tss2/tss2_tctildr.h>

#include "fuzz-tpm2-sequence.h"
#include "tpm2/tpm2-context-internal.h"

typedef struct Recorder {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_TCTI_CONTEXT *inner;
} Recorder;

static TSS2_RC rec_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        return Tss2_Tcti_Transmit(((Recorder *) ctx)->inner, size, command);
}

static TSS2_RC rec_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        TSS2_RC rc = Tss2_Tcti_Receive(((Recorder *) ctx)->inner, size, response, timeout);

        if (rc == TSS2_RC_SUCCESS && response) {
                putchar((int) ((*size >> 8) & 0xFF));
                putchar((int) (*size & 0xFF));
                fwrite(response, 1, *size, stdout);
        }
        return rc;
}

int main(int argc, char *argv[]) {
        TSS2_TCTI_CONTEXT *inner = NULL;
        Recorder rec = {};
        Tpm2Context *c = NULL;
        unsigned long mask, n;
        unsigned flags;

        if (argc != 4)
                return 2;
        mask = strtoul(argv[1], NULL, 0);
        n = strtoul(argv[2], NULL, 0);
        flags = (unsigned) strtoul(argv[3], NULL, 0);
        if (n < 1 || n > 256)
                return 2;

        if (Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &inner) != TSS2_RC_SUCCESS)
                return 1;

        rec.common.v1.magic = 1;
        rec.common.v1.version = 1;
        rec.common.v1.transmit = rec_transmit;
        rec.common.v1.receive = rec_receive;
        rec.inner = inner;

        putchar((int) (mask & 0xFF));
        putchar((int) ((mask >> 8) & 0xFF));
        putchar((int) ((mask >> 16) & 0xFF));
        putchar((int) (n - 1));
        putchar((int) flags);

        if (tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &rec, &c) < 0)
                return 1;
        fuzz_tpm2_run_sequence(c, (uint32_t) mask, n);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&inner);
        return 0;
}
