/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The remote verdict parser on hostile tokens: attest_verdict_verify() with one fixed verifier key.
 * Signatures will not verify for mutated tokens; the header, base64url and size checks in front of the
 * signature, the libjose verification of a token that passes them (seeds with a zero signature), and the
 * claims of the seeds, are what this reaches. */

#include <stdint.h>
#include <stdlib.h>

#include "attest/attest-verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static EVP_PKEY *key;
        AttestVerdict v = {};
        char reason[256];

        if (!key) {
                key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
                if (!key)
                        abort();
        }
        if (attest_verdict_verify((const char *) data, size, &key, 1, "machine", 1800000000, &v, reason,
                                  sizeof(reason)) >= 0)
                attest_verdict_done(&v);
        return 0;
}
