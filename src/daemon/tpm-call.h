/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A TpmCall carries one D-Bus method call to the TPM worker thread and back: the handler fills in the
 * arguments and the three callbacks, tpm_call_submit() queues it, run() executes on the worker with the
 * TPM, and the reply (append() on success, error() or the generic mapping on failure) is sent from the
 * event loop. Method groups that need their own argument and result types keep them in a payload. */

#include <systemd/sd-bus.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "daemon/manager.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-srk.h"

typedef struct TpmCall TpmCall;

struct TpmCall {
        Manager *manager;
        sd_bus_message *message;
        const char *what; /* for error messages: "Failed to <what>" */

        int (*run)(Tpm2Context *tpm, TpmCall *c);         /* worker thread */
        int (*append)(TpmCall *c, sd_bus_message *reply); /* event loop, on success */
        int (*error)(TpmCall *c, int r, sd_bus_error *e); /* event loop, optional: special errors */

        /* Arguments */
        uint32_t size;
        uint16_t bank;
        uint32_t mask;
        uint32_t index;
        char *state_dir;
        uint8_t *data; /* Seal: the secret (wiped on free) */
        size_t data_size;
        char *pin; /* Seal, Unseal: NULL or the PIN (wiped on free) */
        Tpm2SealedBlob *blob;
        TPML_PCR_SELECTION selection;
        bool create_ak;

        /* Results */
        uint8_t *out; /* Seal: the serialized blob; Unseal: the secret (wiped on free) */
        size_t out_size;
        Tpm2Error tpm_error;
        Tpm2Quote *quote;
        Tpm2Info *info;
        uint8_t *random;
        Tpm2PcrValue *values;
        size_t n_values;
        Tpm2SrkInfo srk;

        /* Arguments and results of a method group with types of its own, freed with payload_free. */
        void *payload;
        void (*payload_free)(void *payload);
};

TpmCall *tpm_call_free(TpmCall *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TpmCall *, tpm_call_free);

int tpm_call_new(Manager *m, sd_bus_message *message, const char *what, TpmCall **ret);

/* Queues the call and takes it over (also on failure). Returns 1, the value a method handler returns once
 * it took care of the message, or a negative errno. */
int tpm_call_submit(TpmCall *c);

/* The reply to a call whose worker job was cancelled (-ECANCELED): the daemon is shutting down. */
int tpm_reply_shutting_down(sd_bus_message *message);
