/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Security attributes for desktops (issue 7 item 3), in the style of fwupd's Host Security ID: a list of
 * checks, each (id, result, severity, summary, resolution), returned by Manager.GetSecurityAttributes().
 * The TPM half (capabilities, dictionary-attack state, EK certificate and its chain, the registered volumes'
 * tokens) runs as one job on the TPM worker; the rest comes from the Manager's state and the policy file.
 *
 * And the trust gate (issue 7 item 6): with [Attestation] GateOperations=yes, certificate issuance and
 * unsealing are refused for callers other than root while TrustState is "untrusted". */

#include <systemd/sd-bus.h>

#include "daemon/manager.h"
#include "shared/bus-error.h"
#include "shared/config.h"

/* At most this much of the trust reasons goes into a PlatformUntrusted error message. */
#define TRUST_GATE_MESSAGE_MAX 1024U

typedef enum SecurityResult {
        SECURITY_RESULT_PASS,
        SECURITY_RESULT_FAIL,
        SECURITY_RESULT_UNKNOWN,
        SECURITY_RESULT_NOT_APPLICABLE,
        _SECURITY_RESULT_MAX,
        _SECURITY_RESULT_INVALID = -EINVAL,
} SecurityResult;

typedef enum SecuritySeverity {
        SECURITY_SEVERITY_CRITICAL,
        SECURITY_SEVERITY_HIGH,
        SECURITY_SEVERITY_MEDIUM,
        SECURITY_SEVERITY_LOW,
        _SECURITY_SEVERITY_MAX,
        _SECURITY_SEVERITY_INVALID = -EINVAL,
} SecuritySeverity;

const char *security_result_to_string(SecurityResult r) _const_;
SecurityResult security_result_from_string(const char *s) _pure_;
const char *security_severity_to_string(SecuritySeverity s) _const_;
SecuritySeverity security_severity_from_string(const char *s) _pure_;

/* The UEFI SecureBoot variable in efivarfs: $TRUSTED_PLATFORM_EFIVARS (a test's directory, honoured through
 * secure_getenv() only) or /sys/firmware/efi/efivars. Returns 1 when Secure Boot is enforcing, 0 when the
 * variable says it is off, -ENOENT without the variable (no UEFI, or Secure Boot not supported: off),
 * -EBADMSG when it is not a 5-byte variable holding 0 or 1. */
#define EFIVARS_DIR_ENV "TRUSTED_PLATFORM_EFIVARS"
#define EFIVARS_DIR_DEFAULT "/sys/firmware/efi/efivars"
#define EFIVAR_SECURE_BOOT_NAME "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
int security_read_secure_boot(void);

/* Manager.GetSecurityAttributes(): replies a(sssss) once the TPM job is done. */
int manager_get_security_attributes(Manager *m, sd_bus_message *message, sd_bus_error *error);

/* [Attestation] GateOperations= */
int manager_load_trust_gate_config(Manager *m, Config *config);

/* 0 when message's sender may go on, else a negative errno with error set (PlatformUntrusted with the
 * trust reasons): the gate is on, the platform is untrusted and the sender is not root. what names the
 * operation ("issue certificates"). */
int manager_check_trust_gate(Manager *m, sd_bus_message *message, const char *what, sd_bus_error *error);
