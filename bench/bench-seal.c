/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* In-process sealing on the TPM of $TRUSTED_PLATFORM_TCTI (run by bench/run-seal under tp-run --swtpm):
 * tpm2_seal() and tpm2_unseal() with a sha256 PCR 7 policy, salted sessions and parameter encryption, as
 * the library always does them. Prints one row per figure: name, median µs. */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "bench-util.h"

int main(int argc, char *argv[]) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        static const char secret[] = "0123456789abcdef0123456789abcdef";
        Tpm2SealOptions o = { .pcr_mask = UINT32_C(1) << 7 };
        _cleanup_free_ uint64_t *seal = NULL, *unseal = NULL, *trip = NULL;
        ESYS_TR srk = ESYS_TR_NONE;
        size_t n;
        int r;

        log_parse_environment();
        n = argc > 1 ? strtoul(argv[1], NULL, 10) : 50;
        if (n == 0)
                return EXIT_FAILURE;
        seal = calloc(n, sizeof(uint64_t));
        unseal = calloc(n, sizeof(uint64_t));
        trip = calloc(n, sizeof(uint64_t));
        if (!seal || !unseal || !trip)
                return EXIT_FAILURE;

        r = tpm2_context_new(NULL, &c);
        if (r < 0)
                return log_error_errno(r, "No TPM: %m"), EXIT_FAILURE;
        r = tpm2_srk_provision(c, NULL, true, &srk, NULL);
        if (r < 0)
                return log_error_errno(r, "No SRK: %m"), EXIT_FAILURE;
        tpm2_flush(c, &srk);

        for (size_t i = 0; i < n; i++) {
                _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
                _cleanup_erase_free_ void *out = NULL;
                size_t out_size = 0;
                Tpm2Error e = {};
                uint64_t t0, t1, t2;

                t0 = now_ns();
                r = tpm2_seal(c, &o, secret, sizeof(secret) - 1, &b, &e);
                t1 = now_ns();
                if (r < 0)
                        return log_error_errno(r, "Seal failed: %s", e.message), EXIT_FAILURE;
                r = tpm2_unseal(c, b, NULL, &out, &out_size, &e);
                t2 = now_ns();
                if (r < 0 || out_size != sizeof(secret) - 1 || memcmp(out, secret, out_size) != 0)
                        return log_error_errno(r ?: -EBADMSG, "Unseal failed: %s", e.message), EXIT_FAILURE;
                seal[i] = t1 - t0;
                unseal[i] = t2 - t1;
                trip[i] = t2 - t0;
        }

        printf("seal+unseal\t%.0f\n", median_us(trip, n));
        printf("seal\t%.0f\n", median_us(seal, n));
        printf("unseal\t%.0f\n", median_us(unseal, n));
        return EXIT_SUCCESS;
}
