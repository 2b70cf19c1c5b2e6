/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl ca issue --key-in=tpm|daemon, ca sign, ca verify: keys trusted-platformd makes and keeps for
 * certificates (CA.GenerateCertificate), signing data with them (CA.Sign) and checking signatures against
 * the CA's root and index (CA.Verify). Signatures are detached CMS (DER), as `openssl cms -sign -binary
 * -outform DER` writes them. */

#include <stdio.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

#define TPCTL_IFACE_CA TPCTL_BUS_NAME ".CA"
#define CA_TIMEOUT_USEC (120U * 1000000U)
#define SIGN_DATA_MAX (16U * 1024U * 1024U) /* the daemon's limit (CA_BUS_SIGN_DATA_MAX) */
#define SIGNATURE_MAX (256U * 1024U)
#define SERIAL_HEX 32U

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

int tpctl_ca_generate(const char *name, const char *profile, const char *alg, uint32_t days,
                      bool require_tpm, const char *cert_path, const char *key_path) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *subject = NULL, *san = NULL;
        const char *serial, *chain, *key_pem;
        bool with_san = STR_IN_SET(profile, "tls-server", "device");
        int r;

        if (asprintf(&subject, "/CN=%s", name) < 0 || asprintf(&san, "DNS:%s", name) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                           "GenerateCertificate");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", profile, subject);
        if (r >= 0)
                r = with_san ? sd_bus_message_append(m, "as", 1, san) : sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}", "KeyType", "s", alg, "KeyStore", "s",
                                          require_tpm ? "tpm" : "any");
        if (r >= 0)
                r = tpctl_ca_append_issue_options(m, days);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the GenerateCertificate() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0) {
                /* The caller falls back to a local key when the TPM was only the default. */
                if (sd_bus_error_has_name(&error, TPCTL_BUS_NAME ".Error.KeyStoreUnsuitable"))
                        return log_debug("%s", error.message), -EOPNOTSUPP;
                return tpctl_log_bus_error(&error, r, "generate the key and certificate");
        }
        r = sd_bus_message_read(reply, "sss", &serial, &chain, &key_pem);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GenerateCertificate() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        /* The key is the TPM-wrapped TSS2 PRIVATE KEY, or none when the daemon's store does not hand keys
         * out: then it is usable only through "tpctl ca sign". */
        if (!isempty(key_pem)) {
                r = write_file_atomic(key_path, key_pem, strlen(key_pem), 0600);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", key_path), TPCTL_EXIT_FAILURE;
        }
        r = write_file_atomic(cert_path, chain, strlen(chain), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", cert_path), TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp) json_t *o = json_pack(
                        "{s:s, s:s, s:s?, s:s}", "Serial", serial, "Certificate", cert_path, "Key",
                        isempty(key_pem) ? NULL : key_path, "KeyIn", isempty(key_pem) ? "daemon" : "tpm");
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
        } else if (!arg_quiet)
                r = printf("Issued certificate %s: %s, key %s\n", serial, cert_path,
                           isempty(key_pem) ? "kept by trusted-platformd (use \"tpctl ca sign\")"
                                            : key_path) < 0
                        ? -EIO
                        : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_sign(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *data = NULL;
        const char *serial = argv[0], *out = argc > 2 ? argv[2] : NULL;
        const void *sig;
        size_t size, sig_size;
        int r;

        if (strlen(serial) != SERIAL_HEX || strspn(serial, "0123456789abcdefABCDEF") != SERIAL_HEX) {
                log_error("Invalid serial number '%s': expected %u hexadecimal digits.", serial, SERIAL_HEX);
                return TPCTL_EXIT_USAGE;
        }
        if (!out && isatty(STDOUT_FILENO)) {
                log_error("Refusing to write a binary signature to a terminal: give SIG or redirect the output.");
                return TPCTL_EXIT_USAGE;
        }

        r = tpctl_read_input(argv[1], SIGN_DATA_MAX, &data, &size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "Sign");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", serial);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Sign() call: %m"), TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "sign");
        r = sd_bus_message_read_array(reply, 'y', &sig, &sig_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Sign() reply: %m"), TPCTL_EXIT_FAILURE;

        r = tpctl_write_output(out, sig, sig_size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;
        if (out && arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp) json_t *o = json_pack(
                        "{s:s, s:s, s:I}", "Serial", serial, "Signature", out, "Size", (json_int_t) sig_size);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (json_print(stdout, o, arg_json) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else if (out && !arg_quiet)
                printf("Signed %s with certificate %s: %s\n", argv[1], serial, out);
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_verify(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *data = NULL, *sig = NULL;
        const char *subject, *serial, *reason;
        size_t size, sig_size;
        int valid, r;

        if (streq(argv[0], "-") && streq(argv[1], "-")) {
                log_error("Only one of FILE and SIG can be standard input.");
                return TPCTL_EXIT_USAGE;
        }
        r = tpctl_read_input(argv[0], SIGN_DATA_MAX, &data, &size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;
        r = tpctl_read_input(argv[1], SIGNATURE_MAX, &sig, &sig_size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "Verify");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', sig, sig_size);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Verify() call: %m"), TPCTL_EXIT_FAILURE;

        r = sd_bus_call(bus, m, CA_TIMEOUT_USEC, &error, &reply);
        if (r < 0) {
                /* A SIG that is not a signature at all is a failed verification, not a usage error. */
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS)) {
                        log_error("Invalid: %s", error.message);
                        return TPCTL_EXIT_FAILURE;
                }
                return tpctl_log_bus_error(&error, r, "verify the signature");
        }
        r = sd_bus_message_read(reply, "bsss", &valid, &subject, &serial, &reason);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Verify() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp)
                        json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "Valid", valid, "SignerSubject",
                                              subject, "SignerSerial", serial, "Reason", reason);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (json_print(stdout, o, arg_json) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else if (valid) {
                if (!arg_quiet)
                        printf("Valid: signed by %s (certificate %s).\n", subject, serial);
        } else
                printf("Invalid: %s\n", reason);
        return valid ? TPCTL_EXIT_SUCCESS : TPCTL_EXIT_FAILURE;
}
