/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The signed-policy file parser on untrusted bytes (the file comes with updates, through D-Bus from
 * unprivileged callers): never crashes, and whatever it accepts formats to text that parses back to the
 * same entries. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpm2/tpm2-signed-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Tpm2SignedPolicy *p = NULL, *again = NULL;
        char *text = NULL;

        if (tpm2_signed_policy_parse(data, size, &p) < 0)
                return 0;
        if (tpm2_signed_policy_format(p, &text) < 0 ||
            tpm2_signed_policy_parse(text, strlen(text), &again) < 0 || again->n_entries != p->n_entries ||
            memcmp(again, p, sizeof(*p)) != 0)
                abort();
        free(text);
        free(again);
        free(p);
        return 0;
}
