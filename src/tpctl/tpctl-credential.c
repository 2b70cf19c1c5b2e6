/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm make-credential|activate-credential: both sides of the credential challenge. make-credential
 * is the verifier's side and runs offline (software TPM2_MakeCredential, no daemon, no TPM); its output is
 * the credential file of tpm2-tools, so either side may be tpm2-tools. activate-credential asks the daemon's
 * TPM.ActivateCredential() to recover the secret with this TPM's EK and one of its attestation keys. */

#include <ctype.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"
#include "tpm2/tpm2-credential-file.h"
#include "tpm2/tpm2-makecredential.h"

/* The secret is a TPM2B_DIGEST; tpm2_make_credential() limits it to the EK's nameAlg digest. */
#define CREDENTIAL_SECRET_MAX sizeof(TPMU_HA)
#define EK_PUBLIC_MAX sizeof(TPM2B_PUBLIC)

static bool is_hex(const char *s, size_t n) {
        if (n == 0 || n % 2 != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* Binary, or hex as tpctl tpm ek --json prints it (a marshalled TPM2B_PUBLIC always holds zero bytes, so
 * it is never all hex digits). */
static int read_ek_public(const char *path, TPM2B_PUBLIC *ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ void *bin = NULL;
        TPM2B_PUBLIC pub = {};
        size_t size, hex_size, off = 0;
        const uint8_t *p;
        int r;

        r = tpctl_read_input(path, EK_PUBLIC_MAX * 2 + 2, &data, &size);
        if (r < 0)
                return r;
        hex_size = size;
        while (hex_size > 0 && isspace((unsigned char) data[hex_size - 1]))
                hex_size--;
        if (is_hex(data, hex_size)) {
                r = unhexmem(data, hex_size, &bin, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to decode %s: %m", path);
        }
        p = bin ?: (const void *) data;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, size, &off, &pub) != TSS2_RC_SUCCESS || off != size) {
                log_error("%s is not a TPM2B_PUBLIC (as written by tpm2_createek -u, or the Public field of "
                          "tpctl tpm ek --json).",
                          path);
                return -EBADMSG;
        }
        *ret = pub;
        return 0;
}

/* The AK's TPM name: hex on the command line (as tpctl tpm ak show prints it), else a file holding the
 * name in binary (tpm2_readpublic -n) or in hex. */
static int read_ak_name(const char *arg, TPM2B_NAME *ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ void *bin = NULL;
        size_t size, hex_size, n;
        const void *p;
        int r = 0;

        if (is_hex(arg, strlen(arg)))
                r = unhexmem(arg, strlen(arg), &bin, &n);
        else {
                r = read_full_file(arg, sizeof(TPMU_NAME) * 2 + 2, &data, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the attestation key name from %s: %m", arg);
                /* A hex file may end in a newline; a binary name is taken as it is. */
                hex_size = size;
                while (hex_size > 0 && isspace((unsigned char) data[hex_size - 1]))
                        hex_size--;
                if (is_hex(data, hex_size))
                        r = unhexmem(data, hex_size, &bin, &n);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to decode the attestation key name: %m");
        p = bin ?: data;
        n = bin ? n : size;
        if (n < 2 || n > sizeof(TPMU_NAME)) {
                log_error("'%s' is not a TPM name (hash algorithm and digest, hex or binary).", arg);
                return -EINVAL;
        }
        ret->size = n;
        memcpy(ret->name, p, n);
        return 0;
}

int verb_tpm_make_credential(int argc, char *argv[]) {
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_free_ void *file = NULL;
        size_t secret_size, file_size;
        TPM2B_PUBLIC ek = {};
        TPM2B_NAME name = {};
        int r;

        if (!arg_ek_public || !arg_ak_name) {
                log_error("tpm make-credential needs --ek-public=FILE and --ak-name=NAME.");
                return TPCTL_EXIT_USAGE;
        }
        if (read_ek_public(arg_ek_public, &ek) < 0)
                return TPCTL_EXIT_FAILURE;
        if (read_ak_name(arg_ak_name, &name) < 0)
                return TPCTL_EXIT_USAGE;
        if (tpctl_read_input(argc > 0 ? argv[0] : NULL, CREDENTIAL_SECRET_MAX, &secret, &secret_size) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpm2_make_credential(&ek, &name, secret, secret_size, &blob, &seed);
        if (r == -EINVAL) {
                log_error("Cannot make the credential: the secret must be 1 to %u bytes (the digest size of "
                          "the EK's name algorithm) and the attestation key name a TPM name.",
                          ek.publicArea.nameAlg == TPM2_ALG_SHA384           ? 48U
                                  : ek.publicArea.nameAlg == TPM2_ALG_SHA512 ? 64U
                                                                             : 32U);
                return TPCTL_EXIT_FAILURE;
        }
        if (r == -EOPNOTSUPP || r == -EBADMSG) {
                log_error_errno(r, "The endorsement key in %s is not a key we can make a credential for: %m",
                                arg_ek_public);
                return TPCTL_EXIT_FAILURE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to make the credential: %m"), TPCTL_EXIT_FAILURE;

        r = tpm2_credential_file_format(blob, seed, &file, &file_size);
        if (r < 0)
                return log_error_errno(r, "Failed to write the credential file: %m"), TPCTL_EXIT_FAILURE;

        return tpctl_write_output(argc > 1 ? argv[1] : NULL, file, file_size) < 0 ? TPCTL_EXIT_FAILURE
                                                                                  : TPCTL_EXIT_SUCCESS;
}

int verb_tpm_activate_credential(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *credential = NULL;
        size_t size, secret_size;
        const void *secret;
        int r;

        if (arg_ek && !streq(arg_ek, "rsa") && !streq(arg_ek, "ecc")) {
                log_error("Unknown endorsement key '%s'; expected rsa or ecc.", arg_ek);
                return TPCTL_EXIT_USAGE;
        }
        if (tpctl_read_input(argc > 1 ? argv[1] : NULL, TPM2_CREDENTIAL_FILE_MAX, &credential, &size) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "ActivateCredential");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', credential, size);
        if (r >= 0 && arg_ek)
                r = sd_bus_message_append(m, "a{sv}", 1, "EndorsementKey", "s", arg_ek);
        else if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ActivateCredential() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = tpctl_call_sensitive(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "activate the credential");
        r = sd_bus_message_read_array(reply, 'y', &secret, &secret_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ActivateCredential() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        return tpctl_write_output(argc > 2 ? argv[2] : NULL, secret, secret_size) < 0 ? TPCTL_EXIT_FAILURE
                                                                                      : TPCTL_EXIT_SUCCESS;
}
