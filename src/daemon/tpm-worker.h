/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* All TPM commands of the daemon run on one worker thread, so that a slow TPM (key creation on a real
 * chip takes seconds) never stalls the event loop and ESAPI, which is not thread-safe, is only ever used
 * by one thread. The event loop submits jobs; the worker runs them in order and hands each back to the
 * event loop, where its completion callback replies on the bus. */

#include <systemd/sd-event.h>

#include "basic/macro.h"

typedef struct Tpm2Context Tpm2Context;
typedef struct TpmWorker TpmWorker;

/* Runs on the worker thread with the open TPM. Must not touch the bus or the Manager. */
typedef int (*tpm_job_run_t)(Tpm2Context *tpm, void *userdata);
/* Runs on the event loop afterwards with run()'s result, or the error opening the TPM, or -ECANCELED
 * when the worker is freed first. Owns userdata. */
typedef void (*tpm_job_done_t)(int result, void *userdata);
/* Runs on the event loop when TPM presence changes (the device appeared or went away). */
typedef void (*tpm_presence_changed_t)(bool present, void *userdata);

/* Takes ownership of tpm (may be NULL: opened on demand from tcti for the next job). */
int tpm_worker_new(sd_event *event, const char *tcti, Tpm2Context *tpm, tpm_presence_changed_t on_presence,
                   void *presence_userdata, TpmWorker **ret);
/* Lets the running job finish, cancels the queued ones, joins the thread and closes the TPM. */
TpmWorker *tpm_worker_free(TpmWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TpmWorker *, tpm_worker_free);

int tpm_worker_submit(TpmWorker *w, tpm_job_run_t run, tpm_job_done_t done, void *userdata);

/* Whether the worker held an open TPM after its last job. */
bool tpm_worker_tpm_present(TpmWorker *w);
