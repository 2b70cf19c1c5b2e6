/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_common.h>

/* Maps a TSS2_RC from any tpm2-tss layer (TPM, ESAPI, SAPI, MU, TCTI, resource manager) to a
 * negative errno, logging the decoded text at debug level. TSS2_RC_SUCCESS -> 0.
 * TODO: point at the shared tss2_rc_to_errno() from src/shared once it lands. */
int tpm2_rc_to_errno(TSS2_RC rc);

/* The hash algorithm's digest size in bytes, 0 for anything that is not a hash we know. */
size_t tpm2_hash_alg_digest_size(uint16_t alg);

/* Lower-case hex of a buffer, allocated. NULL on OOM. */
char *tpm2_hexmem(const void *p, size_t n);
