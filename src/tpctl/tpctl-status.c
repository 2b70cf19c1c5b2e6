/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl status: Manager.GetStatus() merged with the Manager properties. */

#include "basic/log.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"


static int format_last_attestation(const json_t *v, char **ret) {
        if (!json_is_integer(v))
                return json_format_cell(v, ret);
        return format_timestamp_usec((uint64_t) json_integer_value(v), ret);
}

static int format_enabled(const json_t *v, char **ret) {
        if (!json_is_boolean(v))
                return json_format_cell(v, ret);
        *ret = strdup(json_is_true(v) ? "enabled" : "disabled");
        return *ret ? 0 : -ENOMEM;
}

static const FieldFormat status_fields[] = {
        { "Version", "Daemon version", NULL },
        { "TrustState", "Trust state", NULL },
        { "TrustReasons", "Trust reasons", json_format_lines },
        { "LastAttestation", "Last attestation", format_last_attestation },
        { "RemoteVerdictExpires", "Remote verdict expires", format_verdict_expires },
        { "SecureBoot", "Secure Boot", format_enabled },
        { "TPMPresent", "TPM present", NULL },
        { "SRKProvisioned", "SRK provisioned", NULL },
        { "TCTI", "TPM connection", NULL },
};

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *props = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *status = NULL, *properties = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER, "GetStatus", &error,
                               &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "get the status");
        r = bus_message_read_dict_json(reply, &status);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetStatus() reply: %m"), TPCTL_EXIT_FAILURE;

        /* TrustReasons, LastAttestation and SecureBoot are properties only. */
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &props, "s", TPCTL_IFACE_MANAGER);
        if (r < 0)
                /* The status is still worth showing without the extra properties. */
                log_warning("Failed to get the Manager properties, showing GetStatus() only: %s",
                            sd_bus_error_is_set(&error) ? error.message ?: error.name : strerror(-r));
        else {
                r = bus_message_read_dict_json(props, &properties);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the Manager properties: %m"),
                               TPCTL_EXIT_FAILURE;

                /* GetStatus() is one consistent snapshot: its values win over the properties read
                 * after it. */
                if (json_object_update_missing(status, properties) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }

        return tpctl_print_object(status, status_fields, ELEMENTSOF(status_fields), /* paged= */ false);
}

static const FieldFormat attest_fields[] = {
        { "TrustState", "Trust state", NULL },
        { "TrustReasons", "Trust reasons", json_format_lines },
};

int verb_attest(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *obj = NULL, *reasons = NULL;
        _cleanup_strv_free_ char **list = NULL;
        const char *state;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER, "Attest", &error,
                               &reply, "a{sv}", 0);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "attest the platform");

        r = sd_bus_message_read(reply, "s", &state);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &list);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Attest() reply: %m"), TPCTL_EXIT_FAILURE;

        reasons = json_array();
        obj = json_pack("{s:s}", "TrustState", state);
        if (!reasons || !obj)
                return log_oom(), TPCTL_EXIT_FAILURE;
        STRV_FOREACH(s, list)
        if (json_array_append_new(reasons, json_string(*s)) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (json_object_set(obj, "TrustReasons", reasons) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = tpctl_print_object(obj, attest_fields, ELEMENTSOF(attest_fields), /* paged= */ false);
        if (r != TPCTL_EXIT_SUCCESS)
                return r;
        return streq(state, "trusted") ? TPCTL_EXIT_SUCCESS : TPCTL_EXIT_FAILURE;
}
