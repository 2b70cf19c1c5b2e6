/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A TCTI that is a function: every command goes to a handler that writes the "TPM's" response. Lets
 * tests and fuzzers produce answers a real TPM never would (failure mode, truncated or lying
 * responses). */

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_tcti.h>

#define FAKE_TCTI_BUFFER_MAX 4096U

typedef struct FakeTcti FakeTcti;

/* Called on transmit. Fills the response with fake_tcti_respond*() / fake_tcti_begin()+_end(); a
 * handler that writes nothing makes the next receive fail with an I/O error. */
typedef void (*FakeTctiHandler)(FakeTcti *f, uint32_t command_code, const uint8_t *cmd, size_t cmd_size,
                                void *userdata);

struct FakeTcti {
        TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: the TSS casts the context to this */
        FakeTctiHandler handler;
        void *userdata;

        uint8_t response[FAKE_TCTI_BUFFER_MAX];
        size_t response_size;     /* bytes handed to the TSS on receive */
        bool have_response;

        unsigned n_commands;
        uint32_t last_command_code;
};

FakeTcti *fake_tcti_new(FakeTctiHandler handler, void *userdata);
void fake_tcti_free(FakeTcti *f);
TSS2_TCTI_CONTEXT *fake_tcti_context(FakeTcti *f);

/* Raw response bytes, delivered as they are. */
void fake_tcti_respond(FakeTcti *f, const void *data, size_t size);
/* A header-only response with this response code. */
void fake_tcti_respond_rc(FakeTcti *f, uint32_t rc);

/* Starts a successful TPM2_ST_NO_SESSIONS response; marshal parameters into f->response at
 * f->response_size with Tss2_MU_*_Marshal(..., f->response, sizeof(f->response), &f->response_size),
 * then fake_tcti_end() writes the header's size field. */
void fake_tcti_begin(FakeTcti *f);
void fake_tcti_end(FakeTcti *f);

/* Big-endian readers for parsing commands in handlers. */
uint32_t fake_tcti_read_u32(const uint8_t *cmd, size_t cmd_size, size_t offset);
