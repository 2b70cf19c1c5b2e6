/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Trust store import and chain verification on hostile input: ca_trust_parse() (PEM bundle / DER
 * detection, limits), every check of ca_trust_import() (into a directory that cannot be created, so that
 * nothing is ever written), and ca_trust_verify_blob() against an empty store without AIA fetching. */

#include <stdint.h>

#include "ca/ca-trust.h"
#include "shared/openssl-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NO_DIR "/proc/nonexistent/trust"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        STACK_OF(X509) *certs = NULL;
        CaTrustVerifyResult res = {};
        CaTrustVerifyParams p = { .purpose = CA_TRUST_PURPOSE_TLS_SERVER, .now = 1800000000 };

        if (ca_trust_parse(data, size, &certs) >= 0) {
                char fp[CA_TRUST_FINGERPRINT_LEN + 1];

                for (int i = 0; i < sk_X509_num(certs); i++)
                        (void) ca_trust_fingerprint(sk_X509_value(certs, i), fp);
                sk_X509_pop_free(certs, X509_free);
        }

        (void) ca_trust_import(NO_DIR, data, size, 1800000000, NULL, NULL);

        if (ca_trust_verify_blob(NO_DIR, NULL, data, size, &p, &res) >= 0)
                ca_trust_verify_result_done(&res);
        return 0;
}
