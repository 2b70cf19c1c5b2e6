/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "tpm2/tpm2-context.h"

/* The largest request the daemon accepts (D-Bus TPM.GetRandom). */
#define TPM2_RANDOM_MAX 4096U

/* Fills buf with n bytes from the TPM RNG, looping over TPM2_GetRandom (a TPM returns at most one
 * digest's worth per call). n must be 1..TPM2_RANDOM_MAX, else -EINVAL. A TPM that returns nothing
 * or more than asked gives -EBADMSG. On failure buf is zeroed. */
int tpm2_get_random(Tpm2Context *c, void *buf, size_t n);
