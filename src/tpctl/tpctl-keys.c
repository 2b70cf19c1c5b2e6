/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm ek|ak|lockout: the endorsement key and its certificate, attestation keys, and the
 * dictionary-attack lockout, through trusted-platformd's TPM interface. */

#include <stdio.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

/* Key creation may wait for a person typing a password into a polkit agent, and an RSA EK is derived
 * again for every call: far longer than the 25 s default. */
#define KEYS_TIMEOUT_USEC (UINT64_C(300) * 1000000)

/* Byte arrays are for --json and the output files; in a table they would be pages of hex. */
static int hide_cell(const json_t *v, char **ret) {
        return -ENODATA;
}

/* Handle 0: the EK is not persistent, which the row above says already. */
static int ek_handle_cell(const json_t *v, char **ret) {
        if (json_is_integer(v) && json_integer_value(v) == 0)
                return -ENODATA;
        return format_handle_cell(v, ret);
}

/* EK certificates are a few kilobytes; PEM adds a third. */
#define EK_CERT_FILE_MAX (64U * 1024U)

static const FieldFormat ek_fields[] = {
        { "Algorithm", "Algorithm", NULL },
        { "Persistent", "Persistent", NULL },
        { "Handle", "Handle", ek_handle_cell },
        { "CertificateStatus", "Certificate", NULL },
        { "CertificateSource", "From", NULL },
        { "Subject", "Subject", NULL },
        { "Issuer", "Issuer", NULL },
        { "Serial", "Serial", NULL },
        { "NotBefore", "Valid from", NULL },
        { "NotAfter", "Valid until", NULL },
        { "KeyMatches", "Key matches", NULL },
        { "ChainStatus", "Chain", NULL },
        { "ChainVerified", "Chain verified", NULL },
        { "CertificateDirectory", "Roots directory", NULL },
        { "PublicKey", "Public key", hide_cell },
        { "Public", "TPM public", hide_cell },
        { "Certificate", "Certificate DER", hide_cell },
};

static const FieldFormat ak_fields[] = {
        { "Algorithm", "Algorithm", NULL },
        { "Name", "TPM name", NULL },
        { "PublicKey", "Public key", hide_cell },
        { "Public", "TPM public", hide_cell },
};

static const FieldFormat lockout_fields[] = {
        { "InLockout", "In lockout", NULL },
        { "Counter", "Failures counted", NULL },
        { "MaxTries", "Max tries", NULL },
        { "RecoveryTime", "Recovery time", format_seconds_cell },
        { "LockoutRecovery", "Lockout recovery", format_seconds_cell },
};

static int check_alg(void) {
        if (arg_alg && !streq(arg_alg, "rsa") && !streq(arg_alg, "ecc")) {
                log_error("Invalid --alg= '%s': expected rsa or ecc.", arg_alg);
                return -EINVAL;
        }
        return 0;
}

/* Writes the hex string obj[key] as bytes to path. */
static int write_hex_field(const json_t *obj, const char *key, const char *path, bool pem) {
        _cleanup_free_ void *data = NULL;
        _cleanup_free_ char *b64 = NULL, *text = NULL;
        const char *hex = json_string_value(json_object_get(obj, key));
        size_t size;
        int r;

        if (!hex)
                return -ENODATA;
        r = unhexmem(hex, SIZE_MAX, &data, &size);
        if (r < 0)
                return r;

        if (pem) {
                size_t n;

                r = base64mem(data, size, &b64);
                if (r < 0)
                        return r;
                /* PEM: 64 columns between the armor lines. */
                n = strlen(b64);
                text = malloc(n + n / 64 + 64);
                if (!text)
                        return -ENOMEM;
                char *p = stpcpy(text, "-----BEGIN PUBLIC KEY-----\n");
                for (size_t i = 0; i < n; i += 64) {
                        size_t l = MIN((size_t) 64, n - i);
                        memcpy(p, b64 + i, l);
                        p += l;
                        *p++ = '\n';
                }
                p = stpcpy(p, "-----END PUBLIC KEY-----\n");
                return write_file_atomic(path, text, (size_t) (p - text), 0644);
        }

        return write_file_atomic(path, data, size, 0644);
}

/* Calls method with the message built so far, with polkit interaction allowed, and reads the a{sv}. */
static int call_dict(sd_bus *bus, sd_bus_message *m, const char *what, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m"), TPCTL_EXIT_FAILURE;

        r = polkit_agent_open();
        if (r < 0)
                log_debug_errno(r, "Failed to start a polkit agent, continuing without: %m");
        r = sd_bus_call(bus, m, KEYS_TIMEOUT_USEC, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return tpctl_log_bus_error(&error, r, what);

        r = bus_message_read_dict_json(reply, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m"), TPCTL_EXIT_FAILURE;
        return 0;
}

int verb_tpm_ek(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(json_decrefp) json_t *ek = NULL;
        _cleanup_free_ char *cert = NULL;
        size_t cert_size = 0;
        int r;

        if (check_alg() < 0)
                return TPCTL_EXIT_USAGE;
        /* A certificate file for a TPM that has none in NV (PEM or DER): the daemon checks it instead. */
        if (arg_certificate && tpctl_read_input(arg_certificate, EK_CERT_FILE_MAX, &cert, &cert_size) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "GetEndorsementKey");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", arg_alg ?: "rsa");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_persist)
                r = sd_bus_message_append(m, "{sv}", "Persist", "b", 1);
        if (r >= 0 && cert) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Certificate");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', cert, cert_size);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the GetEndorsementKey() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_dict(bus, m, "read the endorsement key", &ek);
        if (r != 0)
                return r;

        if (arg_cert_out) {
                r = write_hex_field(ek, "Certificate", arg_cert_out, /* pem= */ false);
                if (r == -ENODATA) {
                        log_error("The TPM holds no %s EK certificate (%s).", arg_alg ?: "rsa",
                                  strna(json_string_value(json_object_get(ek, "CertificateStatus"))));
                        return TPCTL_EXIT_FAILURE;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", arg_cert_out), TPCTL_EXIT_FAILURE;
        }

        return tpctl_print_object(ek, ek_fields, ELEMENTSOF(ek_fields), /* paged= */ false);
}

static int ak_create(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(json_decrefp) json_t *ak = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "CreateAttestationKey");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 1, "Algorithm", "s", arg_alg ?: "ecc");
        if (r < 0)
                return log_error_errno(r, "Failed to build the CreateAttestationKey() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_dict(bus, m, "create the attestation key", &ak);
        if (r != 0)
                return r;

        if (arg_json == JSON_MODE_OFF && arg_quiet)
                return TPCTL_EXIT_SUCCESS;
        return tpctl_print_object(ak, ak_fields, ELEMENTSOF(ak_fields), /* paged= */ false);
}

static int ak_show(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(json_decrefp) json_t *ak = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "GetAttestationKey");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return log_error_errno(r, "Failed to build the GetAttestationKey() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_dict(bus, m, "read the attestation key", &ak);
        if (r != 0)
                return r;

        if (arg_public_out) {
                r = write_hex_field(ak, "PublicKey", arg_public_out, /* pem= */ true);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", arg_public_out),
                               TPCTL_EXIT_FAILURE;
        }

        return tpctl_print_object(ak, ak_fields, ELEMENTSOF(ak_fields), /* paged= */ false);
}

static int ak_list(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *names = NULL;
        int r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "ListAttestationKeys",
                               &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the attestation keys");
        r = bus_message_read_json(reply, &names);
        if (r < 0 || !json_is_array(names))
                return log_error_errno(r < 0 ? r : -EBADMSG,
                                       "Failed to parse the ListAttestationKeys() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, names, arg_json);
        else {
                size_t i;
                json_t *v;

                json_array_foreach(names, i, v) if (puts(json_string_value(v) ?: "") == EOF) r = -EIO;
                if (r >= 0 && arg_legend && !arg_quiet)
                        r = printf("\n%zu attestation key%s.\n", json_array_size(names),
                                   json_array_size(names) == 1 ? "" : "s") < 0
                                ? -EIO
                                : 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_tpm_ak(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *sub = argv[0];
        int r;

        if (!streq(sub, "create") && !streq(sub, "show") && !streq(sub, "list")) {
                log_error("Unknown ak command '%s': expected create, show or list.", sub);
                return TPCTL_EXIT_USAGE;
        }
        if (streq(sub, "list") ? argc != 1 : argc != 2) {
                log_error("Usage: tpctl tpm ak create NAME [--alg=ecc|rsa] | show NAME [--public-out=FILE] | list");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_alg && !streq(sub, "create")) {
                log_error("Option --alg= is only valid with \"tpm ek\" and \"tpm ak create\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_public_out && !streq(sub, "show")) {
                log_error("Option --public-out= is only valid with \"tpm ak show\".");
                return TPCTL_EXIT_USAGE;
        }
        if (check_alg() < 0)
                return TPCTL_EXIT_USAGE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        if (streq(sub, "create"))
                return ak_create(bus, argv[1]);
        if (streq(sub, "show"))
                return ak_show(bus, argv[1]);
        return ak_list(bus);
}

int verb_tpm_lockout(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *state = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        if (arg_reset) {
                r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                                   "ResetLockout");
                if (r >= 0)
                        r = sd_bus_message_append(m, "a{sv}", 0);
                if (r >= 0)
                        r = sd_bus_message_set_allow_interactive_authorization(m, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the ResetLockout() call: %m"),
                               TPCTL_EXIT_FAILURE;

                r = polkit_agent_open();
                if (r < 0)
                        log_debug_errno(r, "Failed to start a polkit agent, continuing without: %m");
                r = sd_bus_call(bus, m, KEYS_TIMEOUT_USEC, &error, NULL);
                polkit_agent_close();
                if (r < 0)
                        return tpctl_log_bus_error(&error, r, "reset the dictionary-attack lockout");
                if (!arg_quiet && arg_json == JSON_MODE_OFF)
                        log_info("Dictionary-attack lockout reset.");
        }

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "GetLockoutState",
                               &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the dictionary-attack lockout state");
        r = bus_message_read_dict_json(reply, &state);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetLockoutState() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        return tpctl_print_object(state, lockout_fields, ELEMENTSOF(lockout_fields), /* paged= */ false);
}
