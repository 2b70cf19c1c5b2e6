/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attest_pcr_values_parse() on arbitrary text: PCR values arrive from devices and command lines. */

#include "attest/attest-quote.h"
#include "basic/log.h"
#include "tpm2/tpm2-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        log_set_max_level(LOG_CRIT);

        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = 0;

        if (attest_pcr_values_parse(s, &v, &n) < 0)
                return 0;
        /* What parses is well formed: a known bank, an index below 24, the bank's digest size. */
        for (size_t i = 0; i < n; i++)
                if (v[i].index >= TPM2_PCRS_MAX || v[i].size != tpm2_hash_alg_digest_size(v[i].bank) ||
                    v[i].size == 0)
                        abort();
        return 0;
}
