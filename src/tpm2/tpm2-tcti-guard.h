/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tss2/tss2_tcti.h>

/* A TCTI that sits between ESYS and the real TCTI and refuses responses whose header does not describe
 * exactly the bytes received (shorter than a header, or a responseSize field different from the
 * received length). tpm2-tss <= 4.2 takes lengths from the response header without clamping them to
 * what arrived (GHSA-7638-f8gq-c475): a truncated answer made SAPI parse stale buffer contents, e.g.
 * hand out old command bytes as "random". Such responses fail with TSS2_TCTI_RC_MALFORMED_RESPONSE.
 *
 * The guard does not own 'inner'. Free with tpm2_tcti_guard_free() after ESYS is finalized. */
int tpm2_tcti_guard_new(TSS2_TCTI_CONTEXT *inner, TSS2_TCTI_CONTEXT **ret);
void tpm2_tcti_guard_free(TSS2_TCTI_CONTEXT *guard);
