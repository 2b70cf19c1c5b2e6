/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

#define TP_BUS_NAME "org.trustedplatform.TrustedPlatform1"
#define TP_BUS_PATH "/org/trustedplatform/TrustedPlatform1"
#define TP_BUS_INTERFACE_MANAGER TP_BUS_NAME ".Manager"
#define TP_BUS_INTERFACE_TPM TP_BUS_NAME ".TPM"
#define TP_BUS_INTERFACE_CA TP_BUS_NAME ".CA"

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS is honoured), registers every object and takes the
 * bus name. */
int manager_connect_bus(Manager *m);

void manager_emit_tpm_present_changed(Manager *m);

extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable log_control_vtable[];
extern const sd_bus_vtable tpm_vtable[];
extern const sd_bus_vtable tpm_keys_vtable[];
extern const sd_bus_vtable tpm_nv_vtable[];
extern const sd_bus_vtable tpm_credential_vtable[];
extern const sd_bus_vtable ca_vtable[];
