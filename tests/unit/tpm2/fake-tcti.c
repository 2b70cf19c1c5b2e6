/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "fake-tcti.h"

#define FAKE_TCTI_MAGIC UINT64_C(0x7470666b74637469) /* "tpfktcti" */

static FakeTcti *fake_from_context(TSS2_TCTI_CONTEXT *ctx) {
        return (FakeTcti *) ctx;
}

static TSS2_RC fake_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        FakeTcti *f = fake_from_context(ctx);
        uint32_t cc;

        if (!command || size < 10)
                return TSS2_TCTI_RC_BAD_VALUE;

        cc = fake_tcti_read_u32(command, size, 6);
        f->n_commands++;
        f->last_command_code = cc;
        f->have_response = false;
        f->response_size = 0;

        f->handler(f, cc, command, size, f->userdata);
        return TSS2_RC_SUCCESS;
}

static TSS2_RC fake_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        FakeTcti *f = fake_from_context(ctx);

        if (!size)
                return TSS2_TCTI_RC_BAD_REFERENCE;
        if (!f->have_response)
                return TSS2_TCTI_RC_IO_ERROR;

        /* The TCTI spec lets the caller ask for the size first. */
        if (!response) {
                *size = f->response_size;
                return TSS2_RC_SUCCESS;
        }
        if (*size < f->response_size)
                return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;

        memcpy(response, f->response, f->response_size);
        *size = f->response_size;
        f->have_response = false;
        return TSS2_RC_SUCCESS;
}

static void fake_finalize(TSS2_TCTI_CONTEXT *ctx) {
}

static TSS2_RC fake_cancel(TSS2_TCTI_CONTEXT *ctx) {
        return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC fake_get_poll_handles(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles, size_t *n) {
        return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC fake_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality) {
        return TSS2_RC_SUCCESS;
}

static TSS2_RC fake_make_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky) {
        return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

FakeTcti *fake_tcti_new(FakeTctiHandler handler, void *userdata) {
        FakeTcti *f;

        f = calloc(1, sizeof(*f));
        if (!f)
                return NULL;

        f->common.v1.magic = FAKE_TCTI_MAGIC;
        f->common.v1.version = 2;
        f->common.v1.transmit = fake_transmit;
        f->common.v1.receive = fake_receive;
        f->common.v1.finalize = fake_finalize;
        f->common.v1.cancel = fake_cancel;
        f->common.v1.getPollHandles = fake_get_poll_handles;
        f->common.v1.setLocality = fake_set_locality;
        f->common.makeSticky = fake_make_sticky;
        f->handler = handler;
        f->userdata = userdata;
        return f;
}

void fake_tcti_free(FakeTcti *f) {
        free(f);
}

TSS2_TCTI_CONTEXT *fake_tcti_context(FakeTcti *f) {
        return (TSS2_TCTI_CONTEXT *) f;
}

void fake_tcti_respond(FakeTcti *f, const void *data, size_t size) {
        if (size > sizeof(f->response))
                size = sizeof(f->response);
        memcpy(f->response, data, size);
        f->response_size = size;
        f->have_response = true;
}

void fake_tcti_respond_rc(FakeTcti *f, uint32_t rc) {
        size_t off = 0;

        (void) Tss2_MU_UINT16_Marshal(TPM2_ST_NO_SESSIONS, f->response, sizeof(f->response), &off);
        (void) Tss2_MU_UINT32_Marshal(10, f->response, sizeof(f->response), &off);
        (void) Tss2_MU_UINT32_Marshal(rc, f->response, sizeof(f->response), &off);
        f->response_size = off;
        f->have_response = true;
}

void fake_tcti_begin(FakeTcti *f) {
        fake_tcti_respond_rc(f, TPM2_RC_SUCCESS);
}

void fake_tcti_end(FakeTcti *f) {
        size_t off = 2;

        (void) Tss2_MU_UINT32_Marshal((uint32_t) f->response_size, f->response, sizeof(f->response), &off);
        f->have_response = true;
}

uint32_t fake_tcti_read_u32(const uint8_t *cmd, size_t cmd_size, size_t offset) {
        if (offset + 4 > cmd_size)
                return 0;
        return (uint32_t) cmd[offset] << 24 | (uint32_t) cmd[offset + 1] << 16 | (uint32_t) cmd[offset + 2] << 8 |
               cmd[offset + 3];
}
