/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tpm2/tpm2-context.h"

/* Starts an HMAC session salted to srk (the pinned SRK from tpm2_srk_provision()) with AES-128-CFB
 * parameter encryption in both directions (TPMA_SESSION_DECRYPT|ENCRYPT|CONTINUESESSION), for every
 * command that carries a secret. The caller flushes it with tpm2_flush(); the context flushes it
 * when freed otherwise. */
int tpm2_session_start_salted(Tpm2Context *c, ESYS_TR srk, ESYS_TR *ret_session);

/* For a session the TPM flushed itself (continueSession clear on a command that succeeded, TPM 2.0 Part 1
 * §19.6): releases the ESYS metadata and the context's tracking without a FlushContext round trip, and
 * sets *session to ESYS_TR_NONE. Never fails. */
void tpm2_session_forget(Tpm2Context *c, ESYS_TR *session);

/* Releases *handle and sets it to ESYS_TR_NONE; does nothing for ESYS_TR_NONE. Transient objects and
 * sessions are flushed from the TPM; persistent objects (like the SRK) only have their ESYS metadata
 * closed, they stay in the TPM. Never fails: on error the ESYS metadata is still released. */
void tpm2_flush(Tpm2Context *c, ESYS_TR *handle);
