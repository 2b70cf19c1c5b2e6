/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The measured-boot policy parser on hostile JSON, and every accepted policy evaluated against fixed
 * evidence (PCR values, facts, an empty IMA log) and learned back. */

#include <stdint.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest/attest-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
        AttestPolicyResult *res = NULL;
        Tpm2PcrValue pcrs[2] = { { .index = 7, .bank = TPM2_ALG_SHA256, .size = 32 },
                                 { .index = 0, .bank = TPM2_ALG_SHA1, .size = 20 } };
        ImaLog ima = {};
        json_t *facts;
        size_t n = 0;

        if (attest_policy_parse((const char *) data, size, &p, NULL) < 0)
                return 0;
        facts = json_pack("{s:b, s:b, s:[{s:s}], s:{s:{s:s}}, s:s}", "secure_boot", 1, "setup_mode", 0, "db",
                          "sha256", "aa", "kernel", "digests", "sha256", "bb", "kernel_cmdline",
                          "root=/dev/sda1 ro quiet");
        {
                AttestPolicyInput in = { .pcrs = pcrs, .n_pcrs = 2, .facts = facts, .ima = &ima };
                if (attest_policy_evaluate(p, &in, &res, &n) >= 0)
                        attest_policy_results_free(res, n);
        }
        (void) attest_policy_quote_mask(p, TPM2_ALG_SHA256);
        json_decref(facts);
        return 0;
}
