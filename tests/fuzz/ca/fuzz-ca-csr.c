/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CSR import: ca_csr_load() (size limits, PEM/DER detection, parsing, key checks, signature), then
 * the subject and SAN checks of every profile on the parsed request whether or not its signature
 * verified, so that mutated requests reach them too. */

#include <stdint.h>

#include "ca/ca.h"
#include "shared/openssl-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_content(X509_REQ *req) {
        for (CaProfileId p = 0; p < _CA_PROFILE_MAX; p++) {
                X509_NAME *subject = NULL;
                GENERAL_NAMES *sans = NULL;
                char **strv = NULL;

                if (ca_csr_check_content(req, p, &subject, &sans, &strv) >= 0) {
                        X509_NAME_free(subject);
                        GENERAL_NAMES_free(sans);
                        strv_free(strv);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL, *raw = NULL;
        const unsigned char *p = data;

        if (ca_csr_load(data, size, &req) >= 0)
                check_content(req);

        if (size <= CA_CSR_SIZE_MAX) {
                raw = d2i_X509_REQ(NULL, &p, (long) size);
                if (raw)
                        check_content(raw);
        }
        return 0;
}
