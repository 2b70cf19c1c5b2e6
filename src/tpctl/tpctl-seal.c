/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm seal|unseal|extend: secrets in and out of the daemon's TPM.Seal()/Unseal(). Data comes from a
 * file or standard input and goes to a file (0600, written atomically) or standard output. */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "attest/attest-quote.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

/* The daemon's limit for secrets (TPM2_SEAL_SECRET_MAX); blobs carry a little more. */
#define SEAL_SECRET_MAX (1024U * 1024U)
#define SEAL_BLOB_MAX (SEAL_SECRET_MAX + 64U * 1024U)
#define PIN_MAX 1024U
#define AUTHORIZE_KEY_MAX (64U * 1024U)
#define PCR_VALUES_FILE_MAX (64U * 1024U)
#define SIGNED_POLICY_MAX (256U * 1024U)
/* Sealing may wait for a person answering a polkit prompt. */
#define SEAL_TIMEOUT_USEC (UINT64_C(300) * 1000000)

int tpctl_read_input(const char *path, size_t max, char **ret, size_t *ret_size) {
        int r;

        r = read_full_file(path && !streq(path, "-") ? path : "/dev/stdin", max, ret, ret_size);
        if (r == -E2BIG)
                log_error("The input %s is larger than %zu bytes.", path ?: "on standard input", max);
        else if (r < 0)
                log_error_errno(r, "Failed to read %s: %m", path ?: "standard input");
        return r;
}

int tpctl_write_output(const char *path, const void *data, size_t size) {
        int r;

        if (path && !streq(path, "-")) {
                r = write_file_atomic(path, data, size, 0600);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", path);
                return 0;
        }

        if (fwrite(data, 1, size, stdout) != size || fflush(stdout) == EOF)
                return log_error_errno(errno ?: EIO, "Failed to write to standard output: %m");
        return 0;
}

int tpctl_get_pin(char **ret) {
        _cleanup_erase_free_ char *pin = NULL;
        struct termios old, quiet;
        const char *e;
        size_t n = 0;
        FILE *tty;
        ssize_t k;

        e = getenv("TPCTL_PIN");
        if (e) {
                if (isempty(e) || strlen(e) > PIN_MAX) {
                        log_error("$TPCTL_PIN must be 1 to %u characters.", PIN_MAX);
                        return -EINVAL;
                }
                *ret = strdup(e);
                return *ret ? 0 : log_oom();
        }

        tty = fopen("/dev/tty", "r+e");
        if (!tty) {
                log_error_errno(errno, "No terminal to ask for the PIN (%m); set $TPCTL_PIN instead.");
                return -ENOTTY;
        }

        fputs("PIN: ", tty);
        fflush(tty);
        if (tcgetattr(fileno(tty), &old) < 0) {
                fclose(tty);
                return log_error_errno(errno, "Failed to read the terminal settings: %m");
        }
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        (void) tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        k = getline(&pin, &n, tty);
        (void) tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fclose(tty);
        if (k <= 0) {
                log_error("No PIN entered.");
                return -EINVAL;
        }
        pin[strcspn(pin, "\n")] = 0;
        if (isempty(pin) || strlen(pin) > PIN_MAX) {
                log_error("The PIN must be 1 to %u characters.", PIN_MAX);
                return -EINVAL;
        }

        *ret = TAKE_PTR(pin);
        return 0;
}

int tpctl_call_sensitive(sd_bus *bus, sd_bus_message *m, sd_bus_message **reply, sd_bus_error *error) {
        int r;

        (void) sd_bus_message_sensitive(m);
        r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return r;

        if (polkit_agent_open() < 0)
                log_debug("Failed to start a polkit agent, continuing without.");
        r = sd_bus_call(bus, m, SEAL_TIMEOUT_USEC, error, reply);
        polkit_agent_close();
        if (r >= 0)
                (void) sd_bus_message_sensitive(*reply);
        return r;
}

/* --expected-pcrs=FILE: "bank:index=hex" items of one bank (the format of "tpm quote"'s values and of
 * "tpm sign-policy --pcr-values="). */
static int read_expected(const char *path, Tpm2PcrValue **ret, size_t *ret_n, const char **ret_bank) {
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        _cleanup_free_ char *text = NULL;
        const char *bank;
        size_t size, n;
        int r;

        if (tpctl_read_input(path, PCR_VALUES_FILE_MAX, &text, &size) < 0)
                return -EIO;
        r = attest_pcr_values_parse(text, &v, &n);
        if (r < 0 || n == 0) {
                log_error("%s: expected PCR values as \"bank:index=hex\" items, e.g. \"sha256:7=ab12...\".",
                          path);
                return -EINVAL;
        }
        bank = tpm2_hash_alg_to_string(v[0].bank);
        for (size_t i = 0; i < n; i++)
                if (v[i].bank != v[0].bank) {
                        log_error("%s: all expected PCR values must be of one bank.", path);
                        return -EINVAL;
                }
        if (arg_bank && !streq_ptr(arg_bank, bank)) {
                log_error("%s holds %s values, but --bank=%s was given.", path, strna(bank), arg_bank);
                return -EINVAL;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        *ret_bank = bank;
        return 0;
}

static int append_expected(sd_bus_message *m, const Tpm2PcrValue *v, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExpectedPCRs");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(uay)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(uay)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "uay");
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", v[i].index);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', v[i].digest, v[i].size);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

int tpctl_append_bytes_option(sd_bus_message *m, const char *key, const void *data, size_t size) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        for (int k = 0; r >= 0 && k < 2; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

int verb_tpm_seal(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_erase_free_ char *secret = NULL, *pin = NULL;
        _cleanup_free_ char *key = NULL;
        _cleanup_free_ Tpm2PcrValue *expected = NULL;
        const char *bank = arg_bank;
        size_t n_expected = 0, key_size = 0;
        uint32_t mask = 0;
        size_t size, blob_size;
        const void *blob;
        int r;

        if (arg_authorize_key && (arg_pcrs || arg_bank || arg_expected_pcrs)) {
                log_error("--authorize-key= binds PCRs through signed policies; it cannot be combined with "
                          "--pcrs=, --bank= or --expected-pcrs=.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_authorize_key && tpctl_read_input(arg_authorize_key, AUTHORIZE_KEY_MAX, &key, &key_size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (arg_expected_pcrs) {
                r = read_expected(arg_expected_pcrs, &expected, &n_expected, &bank);
                if (r == -EINVAL)
                        return TPCTL_EXIT_USAGE;
                if (r < 0)
                        return TPCTL_EXIT_FAILURE;
        }

        if (arg_pcrs) {
                r = tpctl_parse_pcr_spec(arg_pcrs, &mask);
                if (r < 0) {
                        log_error("Invalid --pcrs= '%s': expected indexes 0-%u, ranges like 0-7, or a "
                                  "comma-separated list like 0,2,7.",
                                  arg_pcrs, TPCTL_PCR_COUNT - 1);
                        return TPCTL_EXIT_USAGE;
                }
        }

        if (tpctl_read_input(argc > 0 ? argv[0] : NULL, SEAL_SECRET_MAX, &secret, &size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (size == 0) {
                log_error("The secret to seal is empty.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_pin && tpctl_get_pin(&pin) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "Seal");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', secret, size);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_pcrs) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "PCRs");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "au");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "u");
                for (uint32_t i = 0; r >= 0 && i < TPCTL_PCR_COUNT; i++)
                        if (mask & (UINT32_C(1) << i))
                                r = sd_bus_message_append(m, "u", i);
                for (int k = 0; r >= 0 && k < 3; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && bank)
                r = sd_bus_message_append(m, "{sv}", "Bank", "s", bank);
        if (r >= 0 && pin)
                r = sd_bus_message_append(m, "{sv}", "PIN", "s", pin);
        if (r >= 0 && key)
                r = tpctl_append_bytes_option(m, "AuthorizeKey", key, key_size);
        if (r >= 0 && expected)
                r = append_expected(m, expected, n_expected);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Seal() call: %m"), TPCTL_EXIT_FAILURE;

        r = tpctl_call_sensitive(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "seal");
        r = sd_bus_message_read_array(reply, 'y', &blob, &blob_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Seal() reply: %m"), TPCTL_EXIT_FAILURE;

        if (argc < 2 && isatty(STDOUT_FILENO)) {
                log_error("Not writing the binary sealed blob to a terminal; give an output file or redirect.");
                return TPCTL_EXIT_USAGE;
        }
        return tpctl_write_output(argc > 1 ? argv[1] : NULL, blob, blob_size) < 0 ? TPCTL_EXIT_FAILURE
                                                                                  : TPCTL_EXIT_SUCCESS;
}

int verb_tpm_unseal(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_erase_free_ char *pin = NULL;
        _cleanup_free_ char *blob = NULL, *policy = NULL;
        size_t size, secret_size, policy_size = 0;
        const void *secret;
        int r;

        if (arg_signed_policy &&
            tpctl_read_input(arg_signed_policy, SIGNED_POLICY_MAX, &policy, &policy_size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (tpctl_read_input(argc > 0 ? argv[0] : NULL, SEAL_BLOB_MAX, &blob, &size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (arg_pin && tpctl_get_pin(&pin) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "Unseal");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', blob, size);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && pin)
                r = sd_bus_message_append(m, "{sv}", "PIN", "s", pin);
        if (r >= 0 && policy)
                r = tpctl_append_bytes_option(m, "SignedPolicy", policy, policy_size);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Unseal() call: %m"), TPCTL_EXIT_FAILURE;

        r = tpctl_call_sensitive(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "unseal");
        r = sd_bus_message_read_array(reply, 'y', &secret, &secret_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Unseal() reply: %m"), TPCTL_EXIT_FAILURE;

        return tpctl_write_output(argc > 1 ? argv[1] : NULL, secret, secret_size) < 0 ? TPCTL_EXIT_FAILURE
                                                                                      : TPCTL_EXIT_SUCCESS;
}

int verb_tpm_extend(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *data = NULL;
        uint32_t index;
        size_t size;
        int r;

        r = tpctl_parse_uint32(argv[0], &index);
        if (r < 0 || index >= TPCTL_PCR_COUNT) {
                log_error("Invalid PCR '%s': expected an index from 0 to %u.", argv[0], TPCTL_PCR_COUNT - 1);
                return TPCTL_EXIT_USAGE;
        }
        if (tpctl_read_input(argc > 1 ? argv[1] : NULL, SEAL_SECRET_MAX, &data, &size) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "ExtendPCR");
        if (r >= 0)
                r = sd_bus_message_append(m, "us", index, arg_bank ?: "sha256");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', data, size);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ExtendPCR() call: %m"), TPCTL_EXIT_FAILURE;

        if (polkit_agent_open() < 0)
                log_debug("Failed to start a polkit agent, continuing without.");
        r = sd_bus_call(bus, m, SEAL_TIMEOUT_USEC, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "extend the PCR");
        return TPCTL_EXIT_SUCCESS;
}
