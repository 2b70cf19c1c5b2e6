/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny TPM model behind the fake TCTI: answers GetCapability, GetRandom and PCR_Read well, or
 * breaks in one chosen way. Shared by the unit tests and the fuzz target's seed generator. */

#include "fake-tcti.h"

typedef enum FakeTpmFault {
        FAKE_TPM_OK,
        FAKE_TPM_FAILURE_MODE,          /* TPM_RC_FAILURE to everything */
        FAKE_TPM_TRUNCATED,             /* header claims more bytes than are delivered */
        FAKE_TPM_TPM2B_OVERSIZE,        /* a TPM2B size beyond the bytes received (size field honest) */
        FAKE_TPM_RANDOM_SHORT,          /* GetRandom gives 1 byte per call */
        FAKE_TPM_RANDOM_EMPTY,          /* GetRandom gives 0 bytes */
        FAKE_TPM_RANDOM_LONG,           /* GetRandom gives more than asked */
        FAKE_TPM_PCR_WRONG_BANK,
        FAKE_TPM_PCR_EXTRA_PCR,         /* answers a PCR that was not asked for */
        FAKE_TPM_PCR_EMPTY_SELECTION,
        FAKE_TPM_PCR_TWO_BANKS,
        FAKE_TPM_PCR_DIGEST_COUNT,      /* one digest fewer than selected PCRs */
        FAKE_TPM_PCR_DIGEST_SIZE,       /* sha1-sized digests in the sha256 bank */
        FAKE_TPM_PCR_COUNTER_MOVES,     /* update counter changes on every call */
        FAKE_TPM_CAP_WRONG_TYPE,        /* GetCapability answers another capability */
        FAKE_TPM_CAP_NOT_ASCENDING,     /* properties out of order */
        FAKE_TPM_CAP_MORE_FOREVER,      /* moreData=YES with nothing in it */
        FAKE_TPM_CAP_ONE_BY_ONE,        /* valid, but one property per response with moreData */
        _FAKE_TPM_FAULT_MAX,
} FakeTpmFault;

typedef struct FakeTpm {
        FakeTpmFault fault;
        uint32_t pcr_update_counter;
        unsigned n_pcr_reads, n_get_random;
} FakeTpm;

/* The FakeTctiHandler; userdata is a FakeTpm. */
void fake_tpm_handle(FakeTcti *f, uint32_t command_code, const uint8_t *cmd, size_t cmd_size, void *userdata);

/* The value the model gives PCR i in bank alg. */
void fake_tpm_pcr_value(uint16_t alg, uint32_t i, uint8_t *digest, size_t size);
