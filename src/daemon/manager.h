/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's model: all state of trusted-platformd lives in one Manager owned by run(). The D-Bus glue
 * (manager-bus.c, tpm-bus.c) reads arguments, validates, asks polkit and calls into this file. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

typedef struct Tpm2Context Tpm2Context;
typedef struct PolkitRegistry PolkitRegistry;

typedef enum TrustState {
        TRUST_STATE_UNKNOWN,
        TRUST_STATE_TRUSTED,
        TRUST_STATE_UNTRUSTED,
        _TRUST_STATE_MAX,
        _TRUST_STATE_INVALID = -EINVAL,
} TrustState;

const char *trust_state_to_string(TrustState s) _const_;
TrustState trust_state_from_string(const char *s) _pure_;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        PolkitRegistry *polkit_registry;

        char *tcti;          /* from $TRUSTED_PLATFORM_TCTI, [TPM] Device=, or the default */
        char *state_dir;     /* from $TRUSTED_PLATFORM_STATE_DIR or PKGSTATEDIR */

        Tpm2Context *tpm;    /* NULL while no TPM could be opened; reopened on demand */
        bool srk_provisioned;

        TrustState trust_state;
        char **trust_reasons;
        uint64_t last_attestation_usec;
        bool secure_boot;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads the configuration and environment, probes the TPM (absence is not an error) and the Secure Boot
 * state. */
int manager_startup(Manager *m);

/* Returns the open TPM, opening it if needed. -ENODEV when there is none. */
int manager_get_tpm(Manager *m, Tpm2Context **ret);

/* Drops the TPM connection after an error that suggests it is gone, so the next call reopens it. Emits
 * PropertiesChanged for TPMPresent when that changes. */
void manager_tpm_failed(Manager *m, int error);

bool manager_tpm_present(Manager *m);

/* Creates or adopts the SRK and pins it. */
int manager_provision(Manager *m, bool *ret_created, uint16_t *ret_alg, char **ret_name_hex);
