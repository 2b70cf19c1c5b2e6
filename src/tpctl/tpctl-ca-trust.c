/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl ca trust import|list|remove|install|uninstall and tpctl ca verify-cert: the CA's trust store and
 * the OS trust store through trusted-platformd's CA interface. */

#include <stdio.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

#define TPCTL_IFACE_CA TPCTL_BUS_NAME ".CA"
#define TRUST_INPUT_MAX (256U * 1024U)
#define CA_TIMEOUT_USEC (120U * 1000000U)

static const char *const purposes[] = { "any", "tls-server", "tls-client", "code-signing", "email" };

static int call_authorized(sd_bus *bus, sd_bus_message *m, sd_bus_message **reply, sd_bus_error *error) {
        int r;

        r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return r;
        r = polkit_agent_open();
        if (r < 0)
                log_debug_errno(r, "Failed to start a polkit agent, continuing without: %m");
        r = sd_bus_call(bus, m, CA_TIMEOUT_USEC, error, reply);
        polkit_agent_close();
        return r;
}

/* A fingerprint as the daemon takes it: 64 hex digits, ':' between bytes allowed. */
static bool fingerprint_is_valid(const char *s) {
        size_t n = 0;

        for (size_t i = 0; s[i]; i++) {
                if (s[i] == ':')
                        continue;
                if (!strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
                n++;
        }
        return n == 64 && strlen(s) <= 95;
}

static int read_certificates(const char *path, char **ret, size_t *ret_size) {
        int r;

        r = tpctl_read_input(path, TRUST_INPUT_MAX, ret, ret_size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;
        if (*ret_size == 0) {
                log_error("No certificates in %s.", path ?: "standard input");
                return TPCTL_EXIT_FAILURE;
        }
        return 0;
}

/* a(sssstt) → JSON array. */
static int read_entries(sd_bus_message *reply, json_t **ret) {
        _cleanup_(json_decrefp) json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return r;
        for (;;) {
                const char *fp, *kind, *subject, *issuer;
                uint64_t nb, na;

                r = sd_bus_message_read(reply, "(sssstt)", &fp, &kind, &subject, &issuer, &nb, &na);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (json_array_append_new(list,
                                          json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "Fingerprint", fp, "Kind",
                                                    kind, "Subject", subject, "Issuer", issuer, "NotBefore",
                                                    (json_int_t) nb, "NotAfter", (json_int_t) na)) < 0)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

static int print_entries(json_t *list, bool footer) {
        static const char *const keys[] = { "Fingerprint", "Kind", "Expires", "Subject" };
        static const char *const headers[] = { "FINGERPRINT", "KIND", "NOT AFTER", "SUBJECT" };
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        size_t i;
        json_t *e;
        int r;

        if (arg_json != JSON_MODE_OFF)
                return json_print(stdout, list, arg_json);

        json_array_foreach(list, i, e) {
                _cleanup_free_ char *text = NULL;
                json_t *na = json_object_get(e, "NotAfter");

                r = format_timestamp_usec((uint64_t) json_integer_value(na), &text);
                if (r < 0 || json_object_set_new(e, "Expires", json_string(text)) < 0)
                        return -ENOMEM;
        }
        r = json_table_new(list, keys, headers, ELEMENTSOF(keys), arg_legend, &t);
        if (r >= 0)
                r = table_print(t, stdout);
        if (r >= 0 && footer && arg_legend && !arg_quiet)
                r = printf("\n%zu certificate%s in the trust store.\n", json_array_size(list),
                           json_array_size(list) == 1 ? "" : "s") < 0
                        ? -EIO
                        : 0;
        return r;
}

int verb_ca_trust_import(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_free_ char *data = NULL;
        uint32_t n_new = 0;
        size_t size;
        int r;

        r = read_certificates(argc > 0 ? argv[0] : NULL, &data, &size);
        if (r != 0)
                return r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                           "ImportTrustAnchor");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ImportTrustAnchor() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "import into the trust store");
        r = read_entries(reply, &list);
        if (r >= 0)
                r = sd_bus_message_read(reply, "u", &n_new);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ImportTrustAnchor() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        if (arg_json == JSON_MODE_OFF && !arg_quiet)
                printf("Imported %zu certificate%s (%" PRIu32 " new).\n", json_array_size(list),
                       json_array_size(list) == 1 ? "" : "s", n_new);
        if (arg_json != JSON_MODE_OFF || !arg_quiet)
                r = print_entries(list, false);
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_trust_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "ListTrustAnchors",
                               &error, &reply, "a{sv}", 0);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the trust store");
        r = read_entries(reply, &list);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ListTrustAnchors() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();
        r = print_entries(list, true);
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_trust_remove(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!fingerprint_is_valid(argv[0])) {
                log_error("Invalid fingerprint '%s': expected the SHA-256 fingerprint (64 hexadecimal digits, "
                          "':' between bytes allowed).",
                          argv[0]);
                return TPCTL_EXIT_USAGE;
        }

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                           "RemoveTrustAnchor");
        if (r >= 0)
                r = sd_bus_message_append(m, "sa{sv}", argv[0], 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the RemoveTrustAnchor() call: %m"),
                       TPCTL_EXIT_FAILURE;
        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "remove the certificate from the trust store");
        if (!arg_quiet && arg_json == JSON_MODE_OFF)
                printf("Removed %s from the trust store.\n", argv[0]);
        return TPCTL_EXIT_SUCCESS;
}

static int system_trust(const char *method, bool install) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *store;
        int changed, r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the %s() call: %m", method), TPCTL_EXIT_FAILURE;
        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r,
                                           install ? "install the CA root into the system trust store"
                                                   : "remove the CA root from the system trust store");
        r = sd_bus_message_read(reply, "sb", &store, &changed);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the %s() reply: %m", method), TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp)
                        json_t *o = json_pack("{s:s, s:b}", "Store", store, "Changed", changed);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
        } else if (!arg_quiet)
                r = printf("%s (%s).\n",
                           install ? (changed ? "Installed the CA root into the system trust store"
                                              : "The CA root is in the system trust store already")
                                   : (changed ? "Removed the CA root from the system trust store"
                                              : "The CA root was not in the system trust store"),
                           store) < 0
                        ? -EIO
                        : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_trust_install(int argc, char *argv[]) {
        return system_trust("InstallToSystemTrust", true);
}

int verb_ca_trust_uninstall(int argc, char *argv[]) {
        return system_trust("UninstallFromSystemTrust", false);
}

int verb_ca_verify_cert(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *chain = NULL;
        _cleanup_free_ char *data = NULL;
        const char *purpose = arg_purpose ?: "any", *reason;
        bool known = false;
        size_t size;
        int valid, r;

        for (size_t i = 0; i < ELEMENTSOF(purposes); i++)
                known = known || streq(purpose, purposes[i]);
        if (!known) {
                log_error("Unknown purpose '%s': expected any, tls-server, tls-client, code-signing or email.",
                          purpose);
                return TPCTL_EXIT_USAGE;
        }

        r = read_certificates(argc > 0 ? argv[0] : NULL, &data, &size);
        if (r != 0)
                return r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                           "VerifyCertificate");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 1, "Purpose", "s", purpose);
        if (r < 0)
                return log_error_errno(r, "Failed to build the VerifyCertificate() call: %m"),
                       TPCTL_EXIT_FAILURE;
        r = sd_bus_call(bus, m, CA_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "verify the certificate");

        chain = json_array();
        if (!chain)
                return log_oom(), TPCTL_EXIT_FAILURE;
        r = sd_bus_message_read(reply, "bs", &valid, &reason);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "s");
        while (r > 0) {
                const char *s;

                r = sd_bus_message_read(reply, "s", &s);
                if (r > 0 && json_array_append_new(chain, json_string(s)) < 0)
                        r = -ENOMEM;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the VerifyCertificate() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp) json_t *o = json_pack("{s:b, s:s, s:O}", "Valid", valid, "Reason",
                                                              reason, "Chain", chain);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
        } else if (!arg_quiet) {
                size_t i;
                json_t *e;

                r = printf("%s%s%s\n", valid ? "valid" : "invalid: ", valid ? "" : reason,
                           valid ? ", chain:" : "") < 0
                        ? -EIO
                        : 0;
                json_array_foreach(chain, i, e) if (r >= 0 &&
                                                    printf("  %s%s\n", i == 0 ? "" : "← ",
                                                           json_string_value(e)) < 0) r = -EIO;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return valid ? TPCTL_EXIT_SUCCESS : TPCTL_EXIT_FAILURE;
}
