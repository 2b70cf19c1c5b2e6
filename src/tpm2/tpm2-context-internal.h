/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For src/tpm2 itself and its tests, not for other modules. */

#include <tss2/tss2_tcti.h>

#include "tpm2/tpm2-context.h"

/* Builds a context over an already initialized TCTI. The TCTI stays the caller's: it must outlive the
 * context and is not finalized by tpm2_context_free(). Used by tests to plug in a fake TCTI. */
int tpm2_context_new_from_tcti(TSS2_TCTI_CONTEXT *tcti, Tpm2Context **ret);

/* Remembers a transient object or session handle so that tpm2_context_free() flushes it if nobody
 * else did; tpm2_flush() forgets it again. */
int tpm2_context_track(Tpm2Context *c, ESYS_TR handle);
void tpm2_context_untrack(Tpm2Context *c, ESYS_TR handle);
