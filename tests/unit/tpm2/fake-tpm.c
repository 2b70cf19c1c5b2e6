/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>
#include <tss2/tss2_mu.h>

#include "fake-tpm.h"

#define MU(call) (void) (call)

static const TPMS_TAGGED_PROPERTY fixed_properties[] = {
        { TPM2_PT_LEVEL, 0 },
        { TPM2_PT_REVISION, 164 },
        { TPM2_PT_DAY_OF_YEAR, 75 },
        { TPM2_PT_YEAR, 2021 },
        { TPM2_PT_MANUFACTURER, 0x41424320 },    /* "ABC " */
        { TPM2_PT_VENDOR_STRING_1, 0x46410a4b }, /* "FA\nK": the newline must not survive */
        { TPM2_PT_VENDOR_STRING_2, 0x45205450 }, /* "E TP" */
        { TPM2_PT_VENDOR_STRING_3, 0x4d000000 }, /* "M" */
        { TPM2_PT_FIRMWARE_VERSION_1, 0x00010002 },
        { TPM2_PT_FIRMWARE_VERSION_2, 0x00030004 },
        { TPM2_PT_PCR_COUNT, 24 },
};

static const TPMS_TAGGED_PROPERTY var_properties[] = {
        { TPM2_PT_PERMANENT, TPMA_PERMANENT_INLOCKOUT },
        { TPM2_PT_LOCKOUT_COUNTER, 3 },
        { TPM2_PT_MAX_AUTH_FAIL, 32 },
        { TPM2_PT_LOCKOUT_INTERVAL, 600 },
        { TPM2_PT_LOCKOUT_RECOVERY, 86400 },
};

static const uint16_t algorithms[] = { TPM2_ALG_RSA, TPM2_ALG_SHA1, TPM2_ALG_AES, TPM2_ALG_SHA256,
                                       TPM2_ALG_ECC, TPM2_ALG_CFB, 0x7777 };

void fake_tpm_pcr_value(uint16_t alg, uint32_t i, uint8_t *digest, size_t size) {
        memset(digest, (int) (i * 7 + alg), size);
}

static void respond_capability(FakeTcti *f, FakeTpm *t, const uint8_t *cmd, size_t cmd_size) {
        TPM2_CAP cap = fake_tcti_read_u32(cmd, cmd_size, 10);
        uint32_t property = fake_tcti_read_u32(cmd, cmd_size, 14);
        TPMS_CAPABILITY_DATA data = { .capability = cap };
        bool more = false;

        switch (cap) {
        case TPM2_CAP_TPM_PROPERTIES: {
                const TPMS_TAGGED_PROPERTY *table = property < TPM2_PT_VAR ? fixed_properties : var_properties;
                size_t n = property < TPM2_PT_VAR ? sizeof(fixed_properties) / sizeof(fixed_properties[0])
                                                  : sizeof(var_properties) / sizeof(var_properties[0]);
                TPML_TAGGED_TPM_PROPERTY *l = &data.data.tpmProperties;

                if (t->fault == FAKE_TPM_CAP_MORE_FOREVER) {
                        more = true;
                        break;
                }
                for (size_t i = 0; i < n; i++) {
                        if (table[i].property < property)
                                continue;
                        l->tpmProperty[l->count++] = table[i];
                        if (t->fault == FAKE_TPM_CAP_ONE_BY_ONE) {
                                more = i + 1 < n;
                                break;
                        }
                }
                if (t->fault == FAKE_TPM_CAP_NOT_ASCENDING && l->count >= 2) {
                        TPMS_TAGGED_PROPERTY x = l->tpmProperty[0];
                        l->tpmProperty[0] = l->tpmProperty[1];
                        l->tpmProperty[1] = x;
                }
                break;
        }
        case TPM2_CAP_ALGS:
                for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
                        data.data.algorithms.algProperties[data.data.algorithms.count++].alg = algorithms[i];
                break;
        case TPM2_CAP_PCRS: {
                TPML_PCR_SELECTION *s = &data.data.assignedPCR;
                s->count = 3;
                s->pcrSelections[0] = (TPMS_PCR_SELECTION) { TPM2_ALG_SHA1, 3, { 0xff, 0xff, 0xff } };
                s->pcrSelections[1] = (TPMS_PCR_SELECTION) { TPM2_ALG_SHA256, 3, { 0xff, 0xff, 0xff } };
                s->pcrSelections[2] = (TPMS_PCR_SELECTION) { TPM2_ALG_SHA384, 3, { 0, 0, 0 } };
                break;
        }
        default:
                break;
        }

        if (t->fault == FAKE_TPM_CAP_WRONG_TYPE)
                data.capability = cap == TPM2_CAP_ALGS ? TPM2_CAP_HANDLES : TPM2_CAP_ALGS;

        fake_tcti_begin(f);
        MU(Tss2_MU_UINT8_Marshal(more ? TPM2_YES : TPM2_NO, f->response, sizeof(f->response), &f->response_size));
        MU(Tss2_MU_TPMS_CAPABILITY_DATA_Marshal(&data, f->response, sizeof(f->response), &f->response_size));
        fake_tcti_end(f);
}

static void respond_random(FakeTcti *f, FakeTpm *t, const uint8_t *cmd, size_t cmd_size) {
        uint16_t want = cmd_size >= 12 ? (uint16_t) (cmd[10] << 8 | cmd[11]) : 0;
        TPM2B_DIGEST d = {};

        t->n_get_random++;
        d.size = want > 32 ? 32 : want;
        if (t->fault == FAKE_TPM_RANDOM_SHORT && d.size > 1)
                d.size = 1;
        else if (t->fault == FAKE_TPM_RANDOM_EMPTY)
                d.size = 0;
        else if (t->fault == FAKE_TPM_RANDOM_LONG)
                d.size = want < 64 ? want + 1 : 64;
        memset(d.buffer, 0xA5, d.size);

        fake_tcti_begin(f);
        MU(Tss2_MU_TPM2B_DIGEST_Marshal(&d, f->response, sizeof(f->response), &f->response_size));
        fake_tcti_end(f);

        if (t->fault == FAKE_TPM_TPM2B_OVERSIZE) {
                /* TPM2B claims 64 bytes, 10 follow; the header size matches what is delivered. */
                size_t off = 10;
                f->response_size = 10 + 2 + 10;
                MU(Tss2_MU_UINT16_Marshal(64, f->response, sizeof(f->response), &off));
                fake_tcti_end(f);
        }
}

static void respond_pcr_read(FakeTcti *f, FakeTpm *t, const uint8_t *cmd, size_t cmd_size) {
        TPML_PCR_SELECTION in = {}, out = {};
        TPML_DIGEST digests = {};
        size_t off = 10;
        uint32_t mask = 0, got = 0;
        uint16_t bank;
        size_t dsize;

        t->n_pcr_reads++;
        if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(cmd, cmd_size, &off, &in) != TSS2_RC_SUCCESS || in.count < 1) {
                fake_tcti_respond_rc(f, TPM2_RC_SIZE | TPM2_RC_P | TPM2_RC_1);
                return;
        }
        bank = in.pcrSelections[0].hash;
        dsize = bank == TPM2_ALG_SHA1 ? 20 : 32;
        for (size_t i = 0; i < in.pcrSelections[0].sizeofSelect && i < 3; i++)
                mask |= (uint32_t) in.pcrSelections[0].pcrSelect[i] << (8 * i);

        /* A real TPM gives the first eight selected PCRs. */
        for (uint32_t i = 0; i < 24 && digests.count < 8; i++) {
                if (!(mask & (1U << i)))
                        continue;
                got |= 1U << i;
                digests.digests[digests.count].size = (uint16_t) dsize;
                fake_tpm_pcr_value(bank, i, digests.digests[digests.count].buffer, dsize);
                digests.count++;
        }

        out.count = 1;
        out.pcrSelections[0] = (TPMS_PCR_SELECTION) {
                .hash = bank,
                .sizeofSelect = 3,
                .pcrSelect = { got & 0xff, (got >> 8) & 0xff, (got >> 16) & 0xff },
        };

        switch (t->fault) {
        case FAKE_TPM_PCR_WRONG_BANK:
                out.pcrSelections[0].hash = bank == TPM2_ALG_SHA1 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA1;
                break;
        case FAKE_TPM_PCR_EXTRA_PCR: {
                /* Claim the next PCR that was not asked for instead of the last one given. */
                uint32_t extra = 0;
                for (uint32_t i = 0; i < 24; i++)
                        if (!(mask & (1U << i))) {
                                extra = 1U << i;
                                break;
                        }
                got = (got & ~(1U << (31 - __builtin_clz(got)))) | extra;
                out.pcrSelections[0].pcrSelect[0] = got & 0xff;
                out.pcrSelections[0].pcrSelect[1] = (got >> 8) & 0xff;
                out.pcrSelections[0].pcrSelect[2] = (got >> 16) & 0xff;
                break;
        }
        case FAKE_TPM_PCR_EMPTY_SELECTION:
                memset(out.pcrSelections[0].pcrSelect, 0, sizeof(out.pcrSelections[0].pcrSelect));
                digests.count = 0;
                break;
        case FAKE_TPM_PCR_TWO_BANKS:
                out.count = 2;
                out.pcrSelections[1] = out.pcrSelections[0];
                break;
        case FAKE_TPM_PCR_DIGEST_COUNT:
                digests.count--;
                break;
        case FAKE_TPM_PCR_DIGEST_SIZE:
                for (uint32_t i = 0; i < digests.count; i++)
                        digests.digests[i].size = 20;
                break;
        case FAKE_TPM_PCR_COUNTER_MOVES:
                t->pcr_update_counter++;
                break;
        default:
                break;
        }

        fake_tcti_begin(f);
        MU(Tss2_MU_UINT32_Marshal(t->pcr_update_counter, f->response, sizeof(f->response), &f->response_size));
        MU(Tss2_MU_TPML_PCR_SELECTION_Marshal(&out, f->response, sizeof(f->response), &f->response_size));
        MU(Tss2_MU_TPML_DIGEST_Marshal(&digests, f->response, sizeof(f->response), &f->response_size));
        fake_tcti_end(f);
}

void fake_tpm_handle(FakeTcti *f, uint32_t command_code, const uint8_t *cmd, size_t cmd_size, void *userdata) {
        FakeTpm *t = userdata;

        if (t->fault == FAKE_TPM_FAILURE_MODE) {
                fake_tcti_respond_rc(f, TPM2_RC_FAILURE);
                return;
        }

        switch (command_code) {
        case TPM2_CC_GetCapability:
                respond_capability(f, t, cmd, cmd_size);
                break;
        case TPM2_CC_GetRandom:
                respond_random(f, t, cmd, cmd_size);
                break;
        case TPM2_CC_PCR_Read:
                respond_pcr_read(f, t, cmd, cmd_size);
                break;
        default:
                fake_tcti_respond_rc(f, TPM2_RC_COMMAND_CODE);
                break;
        }

        /* The header keeps its size, but fewer bytes arrive. */
        if (t->fault == FAKE_TPM_TRUNCATED && f->response_size > 14)
                f->response_size = 14;
}
