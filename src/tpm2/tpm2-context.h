/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tss2/tss2_esys.h>

#include "basic/macro.h"

/* One connection to a TPM: the TCTI (through the TCTI loader) and an ESAPI context on it. */
typedef struct Tpm2Context Tpm2Context;

/* tcti: a TCTI loader string ("device:/dev/tpmrm0", "swtpm:path=...", "tabrmd:..."). NULL means
 * $TRUSTED_PLATFORM_TCTI (secure_getenv), else DEFAULT_TCTI. Returns -ENODEV when the TCTI cannot
 * be opened (no TPM, no socket, no such TCTI module). */
int tpm2_context_new(const char *tcti, Tpm2Context **ret);

/* Flushes every transient object and session the context still tracks, finalizes ESYS and the TCTI.
 * Accepts NULL. Returns NULL. */
Tpm2Context *tpm2_context_free(Tpm2Context *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tpm2Context *, tpm2_context_free);

ESYS_CONTEXT *tpm2_context_esys(Tpm2Context *c);

/* The TCTI string in use ("(external)" for a context built on a caller's TCTI). */
const char *tpm2_context_tcti(Tpm2Context *c);
