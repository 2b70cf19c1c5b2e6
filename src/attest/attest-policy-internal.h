/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parsed policy, shared by attest-policy.c (parsing) and attest-policy-eval.c (evaluation). */

#include "attest/attest-policy.h"

#define BANKS_MAX 8U

typedef struct PcrExpect {
        uint16_t bank;
        uint32_t index;
        size_t size;
        uint8_t digest[64];
} PcrExpect;

typedef struct ImaAllow {
        char *path;
        char **digests; /* "algo:hex", lower case */
} ImaAllow;

struct AttestPolicy {
        PcrExpect *pcrs;
        size_t n_pcrs;
        struct {
                uint16_t bank;
                uint32_t mask;
        } quote[BANKS_MAX];
        size_t n_quote;
        int secure_boot; /* -1: no rule */
        int setup_mode;
        char **db_required, **db_forbidden, **dbx_required, **dbx_forbidden; /* lower-case hex */
        char **boot_loaders, **kernels;
        bool has_cmdline;
        char *cmdline_equals;
        char **cmdline_required, **cmdline_forbidden;
        bool has_ima;
        ImaAllow *ima_allow; /* sorted by path */
        size_t n_ima_allow;
        char **ima_exclude;
        bool ima_unknown_ignore;
        bool forced_empty;
};

/* "sha256", ... for a TPM_ALG_ID of a PCR bank; "?" for others. */
const char *attest_policy_bank_name(uint16_t alg);
