/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl verdict submit|show and tpctl security: the remote verdict slot (Manager.SubmitVerdict(), the
 * RemoteVerdictExpires property) and the security attributes (Manager.GetSecurityAttributes()). */

#include <stdio.h>

#include "attest/attest-verdict.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

static const FieldFormat verdict_fields[] = {
        { "TrustState", "Trust state", NULL },
        { "TrustReasons", "Trust reasons", json_format_lines },
        { "RemoteVerdictExpires", "Verdict expires", format_verdict_expires },
};

/* TrustState, TrustReasons and RemoteVerdictExpires of the Manager, merged into obj (values already in obj
 * win: they come from the method's reply). */
static int read_trust_properties(sd_bus *bus, json_t *obj) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *props = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *all = NULL;
        int r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", &error, &props, "s", TPCTL_IFACE_MANAGER);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the trust state");
        r = bus_message_read_dict_json(props, &all);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Manager properties: %m"), TPCTL_EXIT_FAILURE;

        for (size_t i = 0; i < ELEMENTSOF(verdict_fields); i++) {
                const char *key = verdict_fields[i].key;
                json_t *v = json_object_get(all, key);

                if (v && !json_object_get(obj, key) && json_object_set(obj, key, v) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }
        return 0;
}

/* The token from path ("-": standard input), without the line end a file usually has. Logs failures and
 * returns an exit status. */
static int read_token(const char *path, char **ret) {
        const char *name = streq(path, "-") ? "standard input" : path;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        /* Room for a line end after the largest token the daemon accepts. */
        r = read_full_file(streq(path, "-") ? "/dev/stdin" : path, ATTEST_VERDICT_SIZE_MAX + 2, &text, &size);
        if (r == -E2BIG)
                return log_error("The verdict in %s is larger than %u bytes.", name, ATTEST_VERDICT_SIZE_MAX),
                       TPCTL_EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", name), TPCTL_EXIT_FAILURE;
        if (memchr(text, 0, size))
                return log_error("The verdict in %s holds a NUL byte: expected a compact JWS (text).", name),
                       TPCTL_EXIT_FAILURE;
        while (size > 0 && strchr(" \t\r\n", text[size - 1]))
                text[--size] = 0;
        if (size == 0)
                return log_error("The verdict in %s is empty: expected a compact JWS.", name),
                       TPCTL_EXIT_FAILURE;
        if (size > ATTEST_VERDICT_SIZE_MAX)
                return log_error("The verdict in %s is larger than %u bytes.", name, ATTEST_VERDICT_SIZE_MAX),
                       TPCTL_EXIT_FAILURE;
        *ret = TAKE_PTR(text);
        return 0;
}

int verb_verdict_submit(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *obj = NULL;
        _cleanup_free_ char *token = NULL;
        const char *state;
        uint64_t expires;
        int r;

        assert(argc == 1);

        r = read_token(argv[0], &token);
        if (r != 0)
                return r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER,
                                           "SubmitVerdict");
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return log_error_errno(r, "Failed to build the SubmitVerdict() call: %m"), TPCTL_EXIT_FAILURE;
        r = sd_bus_message_append(m, "s", token);
        if (r == -EINVAL) {
                /* sd-bus refuses strings that are not UTF-8. */
                log_error("The verdict in %s is not UTF-8 text: expected a compact JWS.",
                          streq(argv[0], "-") ? "standard input" : argv[0]);
                return TPCTL_EXIT_FAILURE;
        }
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the SubmitVerdict() call: %m"), TPCTL_EXIT_FAILURE;

        (void) polkit_agent_open();
        r = sd_bus_call(bus, m, 0, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "submit the verdict");

        r = sd_bus_message_read(reply, "st", &state, &expires);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the SubmitVerdict() reply: %m"), TPCTL_EXIT_FAILURE;

        obj = json_pack("{s:s, s:I}", "TrustState", state, "RemoteVerdictExpires", (json_int_t) expires);
        if (!obj)
                return log_oom(), TPCTL_EXIT_FAILURE;
        /* The reasons are a property only; the verdict is stored even if reading them fails. */
        r = read_trust_properties(bus, obj);
        if (r != 0)
                log_warning("The verdict was accepted, but the trust reasons could not be read.");

        if (!arg_quiet && arg_json == JSON_MODE_OFF)
                log_info("The verdict was accepted.");
        return tpctl_print_object(obj, verdict_fields, ELEMENTSOF(verdict_fields), /* paged= */ false);
}

int verb_verdict_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *obj = json_object();
        int r;

        if (!obj)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = read_trust_properties(bus, obj);
        if (r != 0)
                return r;
        return tpctl_print_object(obj, verdict_fields, ELEMENTSOF(verdict_fields), /* paged= */ false);
}

/* a(sssss) → [{"Id", "Result", "Severity", "Summary", "Resolution"}]. */
static int read_attributes(sd_bus_message *reply, json_t **ret) {
        _cleanup_(json_decrefp) json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(sssss)");
        if (r < 0)
                return r;
        for (;;) {
                const char *id, *result, *severity, *summary, *resolution;

                r = sd_bus_message_read(reply, "(sssss)", &id, &result, &severity, &summary, &resolution);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (json_array_append_new(list,
                                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "Id", id, "Result", result,
                                                    "Severity", severity, "Summary", summary, "Resolution",
                                                    resolution)) < 0)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

int verb_security(int argc, char *argv[]) {
        static const char *const keys[] = { "Id", "Result", "Severity", "Summary", "Resolution" };
        static const char *const headers[] = { "ID", "RESULT", "SEVERITY", "SUMMARY", "RESOLUTION" };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        size_t i;
        json_t *e;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER,
                               "GetSecurityAttributes", &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "get the security attributes");
        r = read_attributes(reply, &list);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetSecurityAttributes() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, list, arg_json);
        else {
                /* The ids without the common prefix: the table is for people. */
                json_array_foreach(list, i, e) {
                        const char *id = json_string_value(json_object_get(e, "Id")), *s;

                        s = startswith(id, "org.trustedplatform.");
                        if (s && !isempty(s) && json_object_set_new(e, "Id", json_string(s)) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                }
                r = json_table_new(list, keys, headers, arg_verbose ? 5 : 4, arg_legend, &t);
                if (r >= 0)
                        r = table_print(t, stdout);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}
