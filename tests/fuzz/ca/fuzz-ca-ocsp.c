/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCSP responder on hostile requests: ca_ocsp_respond() must answer every input with a response
 * that parses (malformedRequest for garbage), never crash or leak. The CA (a fresh one, with one issued
 * certificate so that "good" is reachable) is made once per process in a temporary directory. */

#include <openssl/ocsp.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../unit/basic/tmpdir-util.h"
#include "ca/ca-ocsp.h"
#include "shared/openssl-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;
static CaKeyStore *store;
static Ca *ca;

static void cleanup(void) {
        ca = ca_free(ca);
        store = ca_keystore_free(store);
        test_rmdtemp(dir);
}

static void setup(void) {
        _cleanup_free_ char *ca_dir = NULL, *keys = NULL;
        CaConfig c = {
                .root = { "/CN=Fuzz Root", CA_KEY_ECDSA_P256, 3650, -1 },
                .intermediate = { "/CN=Fuzz Issuing CA", CA_KEY_ECDSA_P256, 1825, 0 },
        };

        dir = test_mkdtemp();
        if (!dir || asprintf(&ca_dir, "%s/ca", dir) < 0 || asprintf(&keys, "%s/keys", dir) < 0 ||
            ca_keystore_file_new(keys, "fuzzing passphrase", 18, &store) < 0 ||
            ca_init(ca_dir, store, &c, &ca) < 0)
                abort();
        atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(OPENSSL_freep) uint8_t *resp = NULL;
        const unsigned char *p;
        OCSP_RESPONSE *r;
        size_t n;

        if (!ca)
                setup();
        if (ca_ocsp_respond(ca, data, size, &resp, &n) < 0)
                return 0;
        p = resp;
        r = d2i_OCSP_RESPONSE(NULL, &p, (long) n);
        if (!r)
                abort();
        OCSP_RESPONSE_free(r);
        return 0;
}
