/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CA.Verify is open to every caller: ca_held_verify() on hostile signatures over fixed data must answer
 * valid, invalid (with a reason) or an error, never crash or leak. Inputs whose first byte is 'T' are
 * three NUL-separated TPM attributes for ca_tpm_info_check()/ca_tpm_info_to_general_name() instead. The
 * CA (a fresh one) is made once per process in a temporary directory. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../unit/basic/tmpdir-util.h"
#include "basic/string-util.h"
#include "ca/ca.h"
#include "shared/openssl-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char content[] = "fuzz data\n";
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

static void tpm_info(const uint8_t *data, size_t size) {
        _cleanup_free_ char *copy = memdup_suffix0(data, size);
        const char *fields[3] = {};
        GENERAL_NAME *gn = NULL;
        CaTpmInfo info;
        size_t k = 0;

        if (!copy)
                abort();
        /* Up to three NUL-terminated strings; missing ones stay NULL. */
        for (const char *p = copy; k < 3 && p <= copy + size; p += strlen(p) + 1)
                fields[k++] = p;
        info = (CaTpmInfo){ .manufacturer = fields[0], .model = fields[1], .version = fields[2] };
        if (ca_tpm_info_check(&info) >= 0) {
                if (ca_tpm_info_to_general_name(&info, &gn) < 0)
                        abort();
                GENERAL_NAME_free(gn);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *subject = NULL, *serial = NULL, *reason = NULL;
        int r;

        if (size > 0 && data[0] == 'T') {
                tpm_info(data + 1, size - 1);
                return 0;
        }

        if (!ca)
                setup();
        r = ca_held_verify(ca, data, size, content, sizeof(content) - 1, &subject, &serial, &reason);
        /* Invalid always says why; valid never has a reason. */
        if ((r == 0 && !reason) || (r > 0 && reason))
                abort();
        return 0;
}
