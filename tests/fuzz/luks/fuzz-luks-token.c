/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LUKS2 token JSON from an unauthenticated header: luks_token_parse(), and for an accepted token
 * its description and a format round trip; an accepted tp-tcti is always a safe one. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "luks/luks-token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL, *u = NULL;
        _cleanup_free_ char *desc = NULL, *again = NULL;
        char reason[256];

        if (luks_token_parse((const char *) data, size, &t, reason, sizeof(reason)) < 0)
                return 0;
        if (t->tcti && !luks_token_tcti_is_safe(t->tcti))
                abort(); /* a TCTI the loader would dlopen() or the device TCTI write into */
        (void) luks_token_describe(t, &desc);
        if (luks_token_format(t->keyslot, t->blob, &t->srk_name, t->tcti, &again) < 0)
                abort();
        if (luks_token_parse(again, strlen(again), &u, reason, sizeof(reason)) < 0)
                abort(); /* what we write we must read */
        return 0;
}
