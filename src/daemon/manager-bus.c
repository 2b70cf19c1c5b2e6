/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for the Manager interface and org.freedesktop.LogControl1, and the bus connection itself. */

#include "basic/log.h"
#include "attest/attest-verdict.h"
#include "daemon/attestation.h"
#include "daemon/manager-bus.h"
#include "daemon/security-attributes.h"
#include "daemon/volume-bus.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PROJECT_VERSION);
}

static int property_get_tpm_present(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", manager_tpm_present(m));
}

static int property_get_trust_state(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Manager *m = userdata;

        manager_remote_verdict_check(m); /* an expired remote verdict is never reported */
        return sd_bus_message_append(reply, "s", trust_state_to_string(m->trust_state));
}

static int property_get_remote_verdict_expires(sd_bus *bus, const char *path, const char *interface,
                                               const char *property, sd_bus_message *reply, void *userdata,
                                               sd_bus_error *error) {
        Manager *m = userdata;

        manager_remote_verdict_check(m);
        return sd_bus_message_append(reply, "t", manager_remote_verdict_expires(m));
}

static int property_get_trust_reasons(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        Manager *m = userdata;

        manager_remote_verdict_check(m);
        return sd_bus_message_append_strv(reply, m->trust_reasons);
}

static int property_get_secure_boot(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->secure_boot);
}

static int method_get_status(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        manager_remote_verdict_check(m);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_append(reply, "a{sv}", 5,
                                  "Version", "s", PROJECT_VERSION,
                                  "TPMPresent", "b", manager_tpm_present(m),
                                  "TrustState", "s", trust_state_to_string(m->trust_state),
                                  "SRKProvisioned", "b", m->srk_provisioned,
                                  "TCTI", "s", m->tcti);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* Attest(a{sv} options): open to everyone. It only reads the platform's state and publishes what every
 * client may read anyway (TrustState); callers arriving while an attestation runs share its result, so
 * calling it in a loop costs at most one attestation at a time. No options are defined yet. */
static int method_attest(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
        }
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        r = manager_attest(m, message);
        if (r == -EBUSY)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                        "Too many callers are waiting for the running attestation.");
        if (r < 0)
                return r;
        return 1;
}

/* SubmitVerdict(s jws, a{sv} options): a verifier's signed result (attestation.h). Needs
 * org.trustedplatform.attestation.submit (auth_admin: the verifier agent runs as root). The token is checked
 * before polkit is asked, so that garbage costs no authorization round trip; nothing is stored unless it
 * verifies. No options are defined yet. Refused tokens get VerdictRejected with the reason. */
static int method_submit_verdict(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char reason[256] = "";
        const char *jws;
        size_t size;
        int r;

        r = sd_bus_message_read(message, "s", &jws);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
        }
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        size = strlen(jws);
        if (size == 0 || size > ATTEST_VERDICT_SIZE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The verdict must be a compact JWS of 1 to %u bytes.",
                                         ATTEST_VERDICT_SIZE_MAX);

        r = bus_verify_polkit_async(message, "org.trustedplatform.attestation.submit", NULL,
                                    &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us again with its answer */

        r = manager_submit_verdict(m, jws, size, reason, sizeof(reason));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_VERDICT_REJECTED, "The verdict was refused: %s",
                                         reason[0] ? reason : strerror(-r));

        return sd_bus_reply_method_return(message, "st", trust_state_to_string(m->trust_state),
                                          manager_remote_verdict_expires(m));
}

/* GetSecurityAttributes(): open to everyone, like the properties it summarizes; no secrets in it. The TPM
 * reads run on the TPM worker. Takes no arguments (sd-bus answers InvalidArgs to any). */
static int method_get_security_attributes(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return manager_get_security_attributes(userdata, message, error);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TPMPresent", "b", property_get_tpm_present, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TrustState", "s", property_get_trust_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TrustReasons", "as", property_get_trust_reasons, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastAttestation", "t", NULL, offsetof(Manager, last_attestation_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SecureBoot", "b", property_get_secure_boot, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RemoteVerdictExpires", "t", property_get_remote_verdict_expires, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetStatus", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", status),
                                method_get_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attest", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", state, "as", reasons), method_attest,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SubmitVerdict", SD_BUS_ARGS("s", jws, "a{sv}", options),
                                SD_BUS_RESULT("s", state, "t", expires), method_submit_verdict,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSecurityAttributes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssss)", attributes),
                                method_get_security_attributes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* org.freedesktop.LogControl1, so that "systemctl service-log-level trusted-platformd debug" works. */

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_level_to_string(log_get_max_level()));
}

static int property_get_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_target_to_string(log_get_target()));
}

static int property_get_syslog_identifier(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", program_invocation_short_name);
}

/* Only root may change how we log. The uid comes from the bus driver (never from /proc: an augmented
 * credential could be raced). */
static int verify_sender_is_root(sd_bus *bus, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        sd_bus_message *m = sd_bus_get_current_message(bus);
        uid_t uid;
        int r;

        if (!m)
                return -EINVAL;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Cannot determine the caller.");

        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (uid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may change logging.");
        return 0;
}

static int property_set_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *value, void *userdata, sd_bus_error *error) {
        const char *t;
        int r, level;

        r = sd_bus_message_read(value, "s", &t);
        if (r < 0)
                return r;

        level = log_level_from_string(t);
        if (level < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid log level '%s'.", t);

        r = verify_sender_is_root(bus, error);
        if (r < 0)
                return r;

        log_info("Setting log level to %s.", log_level_to_string(level));
        log_set_max_level(level);
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_set_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *value, void *userdata,
                                   sd_bus_error *error) {
        LogTarget target;
        const char *t;
        int r;

        r = sd_bus_message_read(value, "s", &t);
        if (r < 0)
                return r;

        target = log_target_from_string(t);
        if (target < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid log target '%s'.", t);

        r = verify_sender_is_root(bus, error);
        if (r < 0)
                return r;

        log_info("Setting log target to %s.", log_target_to_string(target));
        log_set_target(target);
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

const sd_bus_vtable log_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("LogLevel", "s", property_get_log_level, property_set_log_level, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("LogTarget", "s", property_get_log_target, property_set_log_target, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SyslogIdentifier", "s", property_get_syslog_identifier, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

void manager_emit_tpm_present_changed(Manager *m) {
        int r;

        if (!m->bus)
                return;

        r = sd_bus_emit_properties_changed(m->bus, TP_BUS_PATH, TP_BUS_INTERFACE_MANAGER, "TPMPresent", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for TPMPresent, ignoring: %m");
}

static const sd_bus_vtable *const tpm_vtables[] = {
        tpm_vtable,
        tpm_keys_vtable,
        tpm_nv_vtable,
        tpm_credential_vtable,
};

int manager_connect_bus(Manager *m) {
        int r;

        assert(m);
        assert(!m->bus);

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_add_object_vtable(m->bus, NULL, TP_BUS_PATH, TP_BUS_INTERFACE_MANAGER, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the Manager interface: %m");

        /* The TPM interface is one interface made of one vtable per method group (tpm-bus*.c); sd-bus merges
         * them, also in introspection. */
        for (size_t i = 0; i < ELEMENTSOF(tpm_vtables); i++) {
                r = sd_bus_add_object_vtable(m->bus, NULL, TP_BUS_PATH, TP_BUS_INTERFACE_TPM, tpm_vtables[i],
                                             m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the TPM interface (method group %zu): %m", i);
        }

        r = sd_bus_add_object_vtable(m->bus, NULL, TP_BUS_PATH, TP_BUS_INTERFACE_CA, ca_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the CA interface: %m");

        r = manager_add_volume_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the Volume objects: %m");

        r = sd_bus_add_object_vtable(m->bus, NULL, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1",
                                     log_control_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the LogControl1 interface: %m");

        r = sd_bus_add_object_manager(m->bus, NULL, TP_BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Synchronous, so that READY=1 is only sent once the name is ours and callers can reach us. */
        r = sd_bus_request_name(m->bus, TP_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name %s: %m", TP_BUS_NAME);

        return 0;
}
