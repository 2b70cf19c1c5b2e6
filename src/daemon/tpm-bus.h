/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pieces of the TPM interface's D-Bus glue (tpm-bus.c) that its method groups in tpm-bus-<group>.c share. */

#include <systemd/sd-bus.h>

#include "daemon/tpm-call.h"

/* A PIN is hashed into the authValue; anything longer than a passphrase is a mistake. */
#define TPM_BUS_PIN_MAX 1024U

/* Enters the variant of an option and checks its type: a caller passing "PCRs" as a string learns so
 * instead of getting a generic type error. Leaves the message inside the variant. */
int tpm_bus_enter_option_variant(sd_bus_message *message, const char *key, const char *type,
                                 sd_bus_error *error);

/* Reads the variant of a "PIN" option (the message positioned at it) into *pin (a copy, erase it), and
 * leaves the variant. Refuses a second PIN, another type, an empty PIN and one above TPM_BUS_PIN_MAX. */
int tpm_bus_read_pin_option(sd_bus_message *message, char **pin, sd_bus_error *error);

/* TpmCall.error for calls whose library function filled c->tpm_error: the message written for users goes
 * back under an error name a program can act on (BadPIN, TPMLockout, PolicyMismatch, InvalidArgs). */
int tpm_bus_tpm2_error(TpmCall *c, int r, sd_bus_error *error);

/* TpmCall.append for methods without results. */
int tpm_bus_empty_append(TpmCall *c, sd_bus_message *reply);
