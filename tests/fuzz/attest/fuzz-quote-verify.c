/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attest_quote_verify() on hostile bytes: everything a verifier receives from a device is in the input.
 *
 * Framing (big endian lengths):
 *   u16 n, attest[n]        TPMS_ATTEST
 *   u16 n, signature[n]     TPMT_SIGNATURE
 *   u16 n, ak[n]            TPM2B_PUBLIC (tss2-mu); if it does not parse, the input is dropped
 *   u8 n, nonce[n]          the expected nonce
 *   u16 n, selection[n]     TPML_PCR_SELECTION (tss2-mu); if it does not parse, the input is dropped
 *   rest                    PCR values, the bank's digest size each, assigned in the requested
 *                           selection's order; as many as the rest holds
 * make-seeds.py builds seeds in this framing from tests/unit/attest/vectors. */

#include <tss2/tss2_mu.h>

#include "attest/attest-quote.h"
#include "basic/log.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool take(const uint8_t **p, size_t *left, size_t lensize, const uint8_t **ret, size_t *ret_n) {
        size_t n = 0;

        if (*left < lensize)
                return false;
        for (size_t i = 0; i < lensize; i++)
                n = (n << 8) | (*p)[i];
        *p += lensize;
        *left -= lensize;
        if (*left < n)
                return false;
        *ret = *p;
        *ret_n = n;
        *p += n;
        *left -= n;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *attest, *sig, *ak, *nonce, *sel;
        size_t left = size, na, ns, nk, nn, nsel, off = 0, nvalues = 0;
        Tpm2PcrValue values[TPM2_NUM_PCR_BANKS * TPM2_PCRS_MAX];
        TPML_PCR_SELECTION selection = {};
        TPM2B_PUBLIC pub = {};
        AttestQuoteResult res;
        AttestQuoteInput in;

        log_set_max_level(LOG_CRIT);

        if (!take(&p, &left, 2, &attest, &na) || !take(&p, &left, 2, &sig, &ns) ||
            !take(&p, &left, 2, &ak, &nk) || !take(&p, &left, 1, &nonce, &nn) ||
            !take(&p, &left, 2, &sel, &nsel))
                return 0;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(ak, nk, &off, &pub) != TSS2_RC_SUCCESS)
                return 0;
        off = 0;
        if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(sel, nsel, &off, &selection) != TSS2_RC_SUCCESS)
                return 0;

        for (uint32_t b = 0; b < selection.count; b++) {
                uint32_t mask;
                size_t dsize = tpm2_hash_alg_digest_size(selection.pcrSelections[b].hash);

                if (tpm2_pcr_selection_mask(&selection.pcrSelections[b], &mask) < 0 || dsize == 0)
                        continue;
                for (uint32_t i = 0; i < TPM2_PCRS_MAX; i++) {
                        if (!(mask & (UINT32_C(1) << i)) || left < dsize || nvalues >= ELEMENTSOF(values))
                                continue;
                        values[nvalues] = (Tpm2PcrValue){
                                .index = i,
                                .bank = selection.pcrSelections[b].hash,
                                .size = dsize,
                        };
                        memcpy(values[nvalues].digest, p, dsize);
                        p += dsize;
                        left -= dsize;
                        nvalues++;
                }
        }

        in = (AttestQuoteInput){
                .attest = attest,
                .attest_size = na,
                .signature = sig,
                .signature_size = ns,
                .ak_public = &pub,
                .nonce = nonce,
                .nonce_size = nn,
                .selection = &selection,
                .pcr_values = values,
                .n_pcr_values = nvalues,
        };
        (void) attest_quote_verify(&in, &res);
        /* The verdict is always a known reason with a terminated message. */
        if ((unsigned) res.reason >= _ATTEST_QUOTE_REASON_MAX ||
            strnlen(res.message, sizeof(res.message)) == sizeof(res.message))
                abort();
        return 0;
}
