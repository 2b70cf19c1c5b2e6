/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* In-process quotes on the TPM of $TRUSTED_PLATFORM_TCTI (run by bench/run-quote under tp-run --swtpm):
 * an ECC P-256 AK under the ECC EK (created and loaded once), then per iteration tpm2_quote() over sha256
 * PCRs 0-7 with a fresh 32-byte nonce plus attest_quote_verify(); then attest_quote_verify() alone on one
 * captured quote. Prints rows: name, median µs (or verifies/s for "verify-rate"). */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "attest/attest-quote.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-session.h"
#include "bench-util.h"

static int verify(const Tpm2Quote *q, const TPM2B_PUBLIC *pub, EVP_PKEY *key, const uint8_t *nonce,
                  const TPML_PCR_SELECTION *sel) {
        AttestQuoteInput in = {
                .attest = q->attest,
                .attest_size = q->attest_size,
                .signature = q->signature,
                .signature_size = q->signature_size,
                .ak_public = pub,
                .ak_key = key,
                .nonce = nonce,
                .nonce_size = 32,
                .selection = sel,
                .pcr_values = q->pcr_values,
                .n_pcr_values = q->n_pcr_values,
        };
        AttestQuoteResult res;
        int r = attest_quote_verify(&in, &res);
        if (r < 0)
                log_error_errno(r, "Quote verification failed: %s", res.message);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_free_ uint64_t *trip = NULL;
        _cleanup_(tpm2_quote_freep) Tpm2Quote *kept = NULL;
        Tpm2PcrBankMask m = { .bank = TPM2_ALG_SHA256, .mask = 0xff };
        TPML_PCR_SELECTION sel;
        TPM2B_PUBLIC pub;
        uint8_t kept_nonce[32];
        ESYS_TR ak = ESYS_TR_NONE;
        size_t n, nv;
        char dir[] = "/tmp/bench-quote-XXXXXX";
        int r;

        log_parse_environment();
        n = argc > 1 ? strtoul(argv[1], NULL, 10) : 50;
        nv = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
        if (n == 0 || nv == 0)
                return EXIT_FAILURE;
        trip = calloc(n, sizeof(uint64_t));
        if (!trip || !mkdtemp(dir))
                return EXIT_FAILURE;
        if (tpm2_pcr_selection_from_masks(&m, 1, &sel) < 0)
                return EXIT_FAILURE;

        r = tpm2_context_new(NULL, &c);
        if (r < 0)
                return log_error_errno(r, "No TPM: %m"), EXIT_FAILURE;
        r = tpm2_ak_create(c, dir, "bench", TPM2_ALG_ECC, TPM2_ALG_ECC, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "AK creation failed: %m"), EXIT_FAILURE;
        r = tpm2_ak_load(c, dir, "bench", &ak, &pub, NULL);
        if (r < 0)
                return log_error_errno(r, "AK load failed: %m"), EXIT_FAILURE;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
                uint8_t nonce[32];
                uint64_t t0;

                t0 = now_ns();
                r = attest_nonce_generate(nonce, sizeof(nonce));
                if (r >= 0)
                        r = tpm2_quote(c, ak, nonce, sizeof(nonce), &sel, &q);
                if (r < 0)
                        return log_error_errno(r, "Quote failed: %m"), EXIT_FAILURE;
                if (verify(q, &pub, NULL, nonce, &sel) < 0)
                        return EXIT_FAILURE;
                trip[i] = now_ns() - t0;
                if (!kept) {
                        kept = TAKE_PTR(q);
                        memcpy(kept_nonce, nonce, sizeof(nonce));
                }
        }
        tpm2_flush(c, &ak);
        c = tpm2_context_free(c);
        printf("quote+verify\t%.0f\n", median_us(trip, n));

        /* Verify-only: median of 5 batches of nv/5 verifies, as verifies per second; "cold" converts the AK
         * public area on every call, "cached" is a verifier that keeps the AK's EVP_PKEY (as openssl speed
         * keeps its key). */
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        if (tpm2_public_to_evp_pkey(&pub, &key) < 0)
                return EXIT_FAILURE;
        for (int cached = 0; cached <= 1; cached++) {
                uint64_t batch[5];
                size_t per = nv / 5 ?: 1;

                for (size_t b = 0; b < 5; b++) {
                        uint64_t t0 = now_ns();
                        for (size_t i = 0; i < per; i++)
                                if (verify(kept, &pub, cached ? key : NULL, kept_nonce, &sel) < 0)
                                        return EXIT_FAILURE;
                        batch[b] = now_ns() - t0;
                }
                printf("%s\t%.0f\n", cached ? "verify-rate" : "verify-rate-cold",
                       (double) per / (median_us(batch, 5) / 1e6));
        }

        char cmd[64];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void) system(cmd);
        return EXIT_SUCCESS;
}
