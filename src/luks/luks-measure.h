/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The measurement of an opened LUKS2 volume into PCR 15 (DESIGN §9, ATTACKS b-6): after any unlock, by
 * the TPM or by a passphrase, the unlock path extends PCR 15 with a value only the real volume key gives.
 * A secret sealed to "PCR 15 = 0" (the state before any volume was opened) can then no longer be
 * unsealed once a volume was opened, and one sealed to the value after volume A is out of reach after an
 * attacker's volume B of the same UUID: B's key gives another value.
 *
 * Event data: HMAC-SHA256(key = volume key, message = "trusted-platform:luks2:" + UUID), 32 bytes.
 * Each allocated bank that holds the PCR is extended with that bank's hash of the event data (as
 * `tpctl tpm extend` measures data), so every bank moves and none can be used to replay "PCR 15 = 0".
 * The HMAC keeps the volume key out of the PCR (a PCR value is public). */

#include <stddef.h>
#include <stdint.h>

#include "tpm2/tpm2-context.h"

#define LUKS_MEASURE_PCR 15U
#define LUKS_MEASURE_PREFIX "trusted-platform:luks2:"
#define LUKS_MEASURE_DATA_SIZE 32U
#define LUKS_MEASURE_UUID_MAX 64U        /* LUKS2 UUIDs are 36 characters */
#define LUKS_MEASURE_VOLUME_KEY_MAX 512U /* LUKS2 allows at most 512 bytes */

/* The event data for a volume. uuid: printable, 1..LUKS_MEASURE_UUID_MAX bytes; volume_key 1..512 bytes.
 * Writes LUKS_MEASURE_DATA_SIZE bytes to ret. -EINVAL for bad arguments, -EIO for an OpenSSL failure. */
int luks_measure_data(const char *uuid, const void *volume_key, size_t volume_key_size,
                      uint8_t ret[static LUKS_MEASURE_DATA_SIZE]);

/* Extends PCR pcr (LUKS_MEASURE_PCR for the boot path) of every allocated bank that holds it with the
 * measurement of the volume. Fails as a whole when any such bank cannot be extended (a bank our hashes do
 * not cover, a TPM error): the caller must then not open the volume. Returns the number of banks extended
 * (>= 1), -EOPNOTSUPP when no bank holds the PCR, or a negative errno from the TPM. */
int luks_measure_volume(Tpm2Context *c, uint32_t pcr, const char *uuid, const void *volume_key,
                        size_t volume_key_size);
