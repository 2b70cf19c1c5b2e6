/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The input format of fuzz-tpm2-response, shared with record-tpm2-responses which captures seeds from a
 * real TPM:
 *   bytes 0..2  PCR mask (little endian, 24 bits) for tpm2_pcr_read(sha256)
 *   byte  3     tpm2_get_random() size - 1
 *   byte  4     flags: bit 0 = patch each response's header size field to the record's length (lets
 *               the fuzzer reach ESYS/MU parsing instead of the header guard)
 *   then        records: big-endian u16 length + that many bytes, one per TPM response, in order.
 * Responses beyond the last record are TPM_RC_FAILURE. */

#include <stdint.h>
#include <stdlib.h>

#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-random.h"

#define FUZZ_TPM2_HEADER_SIZE 5U
#define FUZZ_TPM2_FLAG_FIX_SIZE 0x01U

static inline void fuzz_tpm2_run_sequence(Tpm2Context *c, uint32_t mask, size_t n_random) {
        Tpm2Info *info = NULL;
        Tpm2PcrValue *v = NULL;
        uint8_t buf[256];
        size_t n = 0;

        if (tpm2_get_info(c, &info) >= 0)
                tpm2_info_free(info);
        if (tpm2_pcr_read(c, TPM2_ALG_SHA256, mask & 0xFFFFFFU, &v, &n) >= 0)
                free(v);
        (void) tpm2_get_random(c, buf, n_random < sizeof(buf) ? n_random : sizeof(buf));
}
