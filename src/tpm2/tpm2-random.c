/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-util.h"

static void digest_erase_and_freep(TPM2B_DIGEST **p) {
        if (*p) {
                explicit_bzero((*p)->buffer, sizeof((*p)->buffer));
                Esys_Free(*p);
        }
}

static int get_random(Tpm2Context *c, uint8_t *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                _cleanup_(digest_erase_and_freep) TPM2B_DIGEST *d = NULL;
                /* Ask for what fits one digest; a TPM may return less still. */
                uint16_t want = (uint16_t) MIN(n - done, sizeof(d->buffer));
                TSS2_RC rc;

                rc = Esys_GetRandom(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, &d);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_GetRandom failed: %m");
                if (!d)
                        return -EBADMSG;
                /* Zero bytes would loop forever, more than asked would overrun the caller. */
                if (d->size == 0 || d->size > want)
                        return log_debug_errno(EBADMSG, "TPM2_GetRandom returned %u bytes for %u asked.",
                                               (unsigned) d->size, (unsigned) want);

                memcpy(buf + done, d->buffer, d->size);
                done += d->size;
        }
        return 0;
}

int tpm2_get_random(Tpm2Context *c, void *buf, size_t n) {
        int r;

        assert(c);

        if (n == 0 || n > TPM2_RANDOM_MAX || !buf)
                return -EINVAL;

        r = get_random(c, buf, n);
        if (r < 0)
                explicit_bzero(buf, n);
        return r;
}
