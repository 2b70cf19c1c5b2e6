/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "basic/macro.h"
#include "tpm2/tpm2-tcti-guard.h"

#define GUARD_MAGIC UINT64_C(0x7470746374696764) /* "tptctigd" */
#define RESPONSE_HEADER_SIZE 10U

typedef struct Guard {
        TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: the TSS casts the context to this */
        TSS2_TCTI_CONTEXT *inner;
} Guard;

static TSS2_TCTI_CONTEXT *inner_of(TSS2_TCTI_CONTEXT *ctx) {
        return ((Guard *) ctx)->inner;
}

static TSS2_RC guard_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        return Tss2_Tcti_Transmit(inner_of(ctx), size, command);
}

static TSS2_RC guard_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        uint32_t claimed;
        TSS2_RC rc;

        rc = Tss2_Tcti_Receive(inner_of(ctx), size, response, timeout);
        if (rc != TSS2_RC_SUCCESS || !response || !size)
                return rc;

        if (*size < RESPONSE_HEADER_SIZE) {
                log_debug("TPM response of %zu bytes is shorter than a header, refusing.", *size);
                return TSS2_TCTI_RC_MALFORMED_RESPONSE;
        }

        claimed = (uint32_t) response[2] << 24 | (uint32_t) response[3] << 16 | (uint32_t) response[4] << 8 |
                  response[5];
        if (claimed != *size) {
                log_debug("TPM response header claims %u bytes, %zu received, refusing.", (unsigned) claimed,
                          *size);
                return TSS2_TCTI_RC_MALFORMED_RESPONSE;
        }
        return TSS2_RC_SUCCESS;
}

static void guard_finalize(TSS2_TCTI_CONTEXT *ctx) {
        /* The inner TCTI belongs to whoever created it. */
}

static TSS2_RC guard_cancel(TSS2_TCTI_CONTEXT *ctx) {
        return Tss2_Tcti_Cancel(inner_of(ctx));
}

static TSS2_RC guard_get_poll_handles(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles, size_t *n) {
        return Tss2_Tcti_GetPollHandles(inner_of(ctx), handles, n);
}

static TSS2_RC guard_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality) {
        return Tss2_Tcti_SetLocality(inner_of(ctx), locality);
}

static TSS2_RC guard_make_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky) {
        return Tss2_Tcti_MakeSticky(inner_of(ctx), handle, sticky);
}

int tpm2_tcti_guard_new(TSS2_TCTI_CONTEXT *inner, TSS2_TCTI_CONTEXT **ret) {
        Guard *g;

        assert(inner);
        assert(ret);

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;

        g->common.v1.magic = GUARD_MAGIC;
        g->common.v1.version = 2;
        g->common.v1.transmit = guard_transmit;
        g->common.v1.receive = guard_receive;
        g->common.v1.finalize = guard_finalize;
        g->common.v1.cancel = guard_cancel;
        g->common.v1.getPollHandles = guard_get_poll_handles;
        g->common.v1.setLocality = guard_set_locality;
        g->common.makeSticky = guard_make_sticky;
        g->inner = inner;

        *ret = (TSS2_TCTI_CONTEXT *) g;
        return 0;
}

void tpm2_tcti_guard_free(TSS2_TCTI_CONTEXT *guard) {
        free(guard);
}
