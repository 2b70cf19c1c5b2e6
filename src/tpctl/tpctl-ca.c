/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl ca init|issue|sign-csr|revoke|list|show|crl|bundle: trusted-platformd's CA interface. Everything
 * written is PEM that the openssl CLI reads; "issue" makes the key here (it never leaves this machine)
 * and only the CSR goes to the daemon. Private keys are written with mode 0600. */

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/openssl-util.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

#define TPCTL_IFACE_CA TPCTL_BUS_NAME ".CA"
#define CSR_MAX (64U * 1024U)
#define CA_TIMEOUT_USEC (120U * 1000000U)
#define SERIAL_HEX 32U

static const char *const profiles[] = { "tls-server",   "tls-client", "sub-ca", "code-signing", "email",
                                        "ocsp-signing", "ak",         "ek",     "device" };

static int check_profile(const char *p) {
        for (size_t i = 0; i < ELEMENTSOF(profiles); i++)
                if (streq(p, profiles[i]))
                        return 0;
        log_error("Unknown profile '%s': expected tls-server, tls-client, sub-ca, code-signing, email, "
                  "ocsp-signing, ak, ek or device.",
                  p);
        return -EINVAL;
}

static int check_serial(const char *s) {
        if (strlen(s) != SERIAL_HEX || strspn(s, "0123456789abcdefABCDEF") != SERIAL_HEX) {
                log_error("Invalid serial number '%s': expected %u hexadecimal digits.", s, SERIAL_HEX);
                return -EINVAL;
        }
        return 0;
}

static int parse_days(uint32_t *ret) {
        uint32_t d = 0;

        if (arg_validity_days && (tpctl_parse_uint32(arg_validity_days, &d) < 0 || d == 0 || d > 365U * 30U)) {
                log_error("Invalid --validity-days=%s: expected 1 to %u.", arg_validity_days, 365U * 30U);
                return -EINVAL;
        }
        *ret = d;
        return 0;
}

/* "id:" and min..max hex digits, an even count (TCG: bytes as hex). */
static bool tcg_id_is_valid(const char *s, size_t min, size_t max) {
        const char *h = startswith(s, "id:");
        size_t n;

        if (!h)
                return false;
        n = strlen(h);
        return n >= min && n <= max && n % 2 == 0 && strspn(h, "0123456789abcdefABCDEF") == n;
}

/* --tpm-manufacturer=, --tpm-model=, --tpm-version=: all three for the ak and ek profiles (the TPM the
 * certificate is about, in its subjectAltName), none for the others. Checked here as the daemon does, to
 * name the bad option. */
static int check_tpm_info(const char *profile) {
        bool any = arg_tpm_manufacturer || arg_tpm_model || arg_tpm_version,
             needed = STR_IN_SET(profile, "ak", "ek");
        size_t n;

        if (!any && !needed)
                return 0;
        if (!needed) {
                log_error("--tpm-manufacturer=, --tpm-model= and --tpm-version= are only for the ak and ek "
                          "profiles, not %s.",
                          profile);
                return -EINVAL;
        }
        if (!arg_tpm_manufacturer || !arg_tpm_model || !arg_tpm_version) {
                log_error("Profile %s needs --tpm-manufacturer=, --tpm-model= and --tpm-version= (the TPM the "
                          "certificate is about; \"tpctl tpm info\" shows them).",
                          profile);
                return -EINVAL;
        }
        if (!tcg_id_is_valid(arg_tpm_manufacturer, 8, 8)) {
                log_error("Invalid --tpm-manufacturer=%s: expected \"id:\" and 8 hexadecimal digits (the TCG "
                          "vendor ID, e.g. id:49424D00).",
                          arg_tpm_manufacturer);
                return -EINVAL;
        }
        n = strlen(arg_tpm_model);
        for (const char *c = arg_tpm_model; n <= 64 && *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                        n = SIZE_MAX;
        if (n > 64) {
                log_error("Invalid --tpm-model=: expected 1 to 64 printable ASCII characters.");
                return -EINVAL;
        }
        if (!tcg_id_is_valid(arg_tpm_version, 2, 16)) {
                log_error("Invalid --tpm-version=%s: expected \"id:\" and 2 to 16 hexadecimal digits, an even "
                          "count (the firmware version, e.g. id:20191023).",
                          arg_tpm_version);
                return -EINVAL;
        }
        return 0;
}

/* The options of IssueCertificate() and GenerateCertificate() from --validity-days= and the TPM options;
 * appends the dictionary entries into an open a{sv}. */
int tpctl_ca_append_issue_options(sd_bus_message *m, uint32_t days) {
        int r = 0;

        if (days > 0)
                r = sd_bus_message_append(m, "{sv}", "ValidityDays", "u", days);
        if (r >= 0 && arg_tpm_manufacturer)
                r = sd_bus_message_append(m, "{sv}{sv}{sv}", "TPMManufacturer", "s", arg_tpm_manufacturer,
                                          "TPMModel", "s", arg_tpm_model, "TPMVersion", "s", arg_tpm_version);
        return r;
}

/* A call that may need polkit: interactive authorization and an agent on a terminal. */
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

int verb_ca_init(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int created, r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "Init");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Init() call: %m"), TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "initialize the certificate authority");
        r = sd_bus_message_read(reply, "b", &created);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Init() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp) json_t *o = json_pack("{s:b}", "Created", created);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
        } else if (!arg_quiet)
                r = printf("%s\n",
                           created ? "Created the certificate authority."
                                   : "The certificate authority exists already.") < 0
                        ? -EIO
                        : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

/* IssueCertificate(csr, profile, options) → serial, chain; prints the serial (or JSON) and writes the
 * chain to out (standard output if NULL or "-"). */
static int issue_csr(const void *csr, size_t csr_size, const char *profile, uint32_t days, const char *out,
                     const char *key_path) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *serial, *chain;
        bool to_stdout = !out || streq(out, "-");
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                           "IssueCertificate");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', csr, csr_size);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", profile);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = tpctl_ca_append_issue_options(m, days);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the IssueCertificate() call: %m"),
                       TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "issue the certificate");
        r = sd_bus_message_read(reply, "ss", &serial, &chain);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the IssueCertificate() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        r = tpctl_write_output(out, chain, strlen(chain));
        if (r < 0)
                return TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF && !to_stdout) {
                _cleanup_(json_decrefp) json_t *o = json_pack("{s:s, s:s, s:s?}", "Serial", serial,
                                                              "Certificate", out, "Key", key_path);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
        } else if (!arg_quiet && !to_stdout)
                r = printf("Issued certificate %s: %s%s%s\n", serial, out, key_path ? ", key " : "",
                           strempty(key_path)) < 0
                        ? -EIO
                        : 0;
        else if (!arg_quiet)
                log_info("Issued certificate %s.", serial);
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int verb_ca_sign_csr(int argc, char *argv[]) {
        _cleanup_free_ char *csr = NULL;
        const char *profile = arg_profile ?: "tls-server";
        size_t size;
        uint32_t days;
        int r;

        if (check_profile(profile) < 0 || parse_days(&days) < 0 || check_tpm_info(profile) < 0)
                return TPCTL_EXIT_USAGE;

        r = tpctl_read_input(argc > 0 ? argv[0] : NULL, CSR_MAX, &csr, &size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;
        if (size == 0) {
                log_error("The CSR is empty.");
                return TPCTL_EXIT_FAILURE;
        }

        return issue_csr(csr, size, profile, days, argc > 1 ? argv[1] : NULL, NULL);
}

static int key_type_generate(const char *alg, EVP_PKEY **ret) {
        EVP_PKEY *k = NULL;

        if (streq(alg, "ecdsa-p256"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        else if (streq(alg, "ecdsa-p384"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        else if (streq(alg, "rsa-2048"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        else if (streq(alg, "rsa-3072"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 3072);
        else if (streq(alg, "rsa-4096"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 4096);
        else if (streq(alg, "ed25519"))
                k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        else
                return -EINVAL;
        if (!k)
                return -EIO;
        *ret = k;
        return 0;
}

/* A CSR for key with subject CN=name and, for tls-server and device, the SAN DNS:name; DER. */
static int make_csr(EVP_PKEY *key, const char *name, const char *profile, unsigned char **ret,
                    size_t *ret_size) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        X509_NAME *subject;
        int n;

        req = X509_REQ_new();
        if (!req)
                return -ENOMEM;
        subject = X509_REQ_get_subject_name(req);
        if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *) name, -1, -1,
                                       0) != 1)
                return -EIO;

        if (STR_IN_SET(profile, "tls-server", "device")) {
                _cleanup_free_ char *value = NULL;
                STACK_OF(X509_EXTENSION) * exts;
                X509_EXTENSION *ext;
                int ok;

                if (asprintf(&value, "DNS:%s", name) < 0)
                        return -ENOMEM;
                ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
                if (!ext)
                        return -EINVAL;
                exts = sk_X509_EXTENSION_new_null();
                ok = exts && sk_X509_EXTENSION_push(exts, ext) > 0;
                if (!ok)
                        X509_EXTENSION_free(ext);
                ok = ok && X509_REQ_add_extensions(req, exts) == 1;
                sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
                if (!ok)
                        return -EIO;
        }

        if (X509_REQ_sign(req, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0)
                return -EIO;

        *ret = NULL;
        n = i2d_X509_REQ(req, ret);
        if (n <= 0)
                return -EIO;
        *ret_size = (size_t) n;
        return 0;
}

static int write_key(const char *path, EVP_PKEY *key) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        char *data;
        long n;

        bio = BIO_new(BIO_s_secmem());
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
                return -EIO;
        n = BIO_get_mem_data(bio, &data);
        if (n <= 0)
                return -EIO;
        /* write_file_atomic() creates the file with mode 0600 before anything is written. */
        return write_file_atomic(path, data, (size_t) n, 0600);
}

int verb_ca_issue(int argc, char *argv[]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *csr = NULL;
        _cleanup_free_ char *key_path = NULL, *cert_path = NULL;
        const char *name = argv[0], *profile = arg_profile ?: "tls-server", *alg = arg_alg ?: "ecdsa-p256";
        const char *dir = arg_out_dir ?: ".";
        size_t csr_size;
        uint32_t days;
        int r;

        if (check_profile(profile) < 0 || parse_days(&days) < 0 || check_tpm_info(profile) < 0)
                return TPCTL_EXIT_USAGE;
        if (isempty(name) || strlen(name) > 64 || strchr(name, '/') || name[0] == '.') {
                log_error("Invalid name '%s': 1 to 64 characters, no '/', not starting with '.'.", name);
                return TPCTL_EXIT_USAGE;
        }

        if (!arg_key_in ? false : !STR_IN_SET(arg_key_in, "tpm", "daemon", "local")) {
                log_error("Invalid --key-in=%s: expected tpm, daemon or local.", arg_key_in);
                return TPCTL_EXIT_USAGE;
        }
        if (!STR_IN_SET(alg, "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519")) {
                log_error("Unknown --alg=%s: expected ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or "
                          "ed25519.",
                          alg);
                return TPCTL_EXIT_USAGE;
        }
        if (asprintf(&key_path, "%s/%s.key", dir, name) < 0 || asprintf(&cert_path, "%s/%s.pem", dir, name) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        /* By default the key goes into the TPM where the daemon can put it there: a profile whose keys it
         * keeps and a key type a TPM holds; when its store is not the TPM, the key is made here. */
        if (arg_key_in ? !streq(arg_key_in, "local")
                       : STR_IN_SET(profile, "tls-server", "tls-client", "code-signing", "email", "device") &&
                            STR_IN_SET(alg, "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072")) {
                bool require_tpm = !arg_key_in || streq(arg_key_in, "tpm");

                r = tpctl_ca_generate(name, profile, alg, days, require_tpm, cert_path, key_path);
                if (r != -EOPNOTSUPP)
                        return r;
                if (arg_key_in) {
                        log_error("The daemon's key store is not the TPM, or cannot hold a %s key.", alg);
                        return TPCTL_EXIT_FAILURE;
                }
                log_debug("The daemon's key store is not the TPM; making the key here.");
        }

        r = key_type_generate(alg, &key);
        if (r == -EINVAL) {
                log_error("Unknown --alg=%s: expected ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or "
                          "ed25519.",
                          alg);
                return TPCTL_EXIT_USAGE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to generate a %s key: %m", alg), TPCTL_EXIT_FAILURE;

        r = make_csr(key, name, profile, &csr, &csr_size);
        if (r < 0)
                return log_error_errno(r, "Failed to make the certificate request: %m"), TPCTL_EXIT_FAILURE;

        /* The key first: a certificate without its key would be useless. */
        r = write_key(key_path, key);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", key_path), TPCTL_EXIT_FAILURE;

        r = issue_csr(csr, csr_size, profile, days, cert_path, key_path);
        if (r != TPCTL_EXIT_SUCCESS)
                (void) unlink(key_path);
        return r;
}

int verb_ca_revoke(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (check_serial(argv[0]) < 0)
                return TPCTL_EXIT_USAGE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "Revoke");
        if (r >= 0)
                r = sd_bus_message_append(m, "ssa{sv}", argv[0], arg_reason ?: "unspecified", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Revoke() call: %m"), TPCTL_EXIT_FAILURE;

        r = call_authorized(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "revoke the certificate");
        if (!arg_quiet && arg_json == JSON_MODE_OFF)
                printf("Revoked certificate %s.\n", argv[0]);
        return TPCTL_EXIT_SUCCESS;
}

/* ListCertificates() as a JSON array of objects. */
static int list_certificates(sd_bus *bus, const char *serial, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        int r;

        r = serial ? sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                        "ListCertificates", &error, &reply, "a{sv}", 1, "Serial", "s", serial)
                   : sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA,
                                        "ListCertificates", &error, &reply, "a{sv}", 0);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the certificates");

        list = json_array();
        if (!list)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssstttas)");
        while (r >= 0) {
                _cleanup_(json_decrefp) json_t *o = NULL, *sans = NULL;
                const char *s, *subject, *profile, *status, *reason;
                uint64_t nb, na, rv;

                r = sd_bus_message_enter_container(reply, 'r', "ssssstttas");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "ssssst", &s, &subject, &profile, &status, &reason, &nb);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "tt", &na, &rv);
                if (r < 0)
                        break;
                sans = json_array();
                r = sd_bus_message_enter_container(reply, 'a', "s");
                while (r >= 0 && sans) {
                        const char *san;
                        r = sd_bus_message_read(reply, "s", &san);
                        if (r <= 0)
                                break;
                        if (json_array_append_new(sans, json_string(san)) < 0)
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:O}", "Serial", s, "Subject",
                              subject, "Profile", profile, "Status", status, "Reason", reason, "NotBefore",
                              (json_int_t) nb, "NotAfter", (json_int_t) na, "RevokedAt", (json_int_t) rv,
                              "SANs", sans);
                if (!o || json_array_append(list, o) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ListCertificates() reply: %m"),
                       TPCTL_EXIT_FAILURE;

        *ret = TAKE_PTR(list);
        return 0;
}

static int timestamp_cell(const json_t *v, char **ret) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return (*ret = strdup("-")) ? 0 : -ENOMEM;
        return format_timestamp_usec((uint64_t) json_integer_value(v), ret);
}

int verb_ca_list(int argc, char *argv[]) {
        static const char *const keys[] = { "Serial", "Profile", "Status", "Expires", "Subject" };
        static const char *const headers[] = { "SERIAL", "PROFILE", "STATUS", "NOT AFTER", "SUBJECT" };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = list_certificates(bus, NULL, &list);
        if (r != 0)
                return r;

        if (arg_pager)
                (void) pager_open();

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, list, arg_json);
        else {
                size_t i;
                json_t *e;

                /* The table shows times as text; the JSON keeps the D-Bus µs. */
                json_array_foreach(list, i, e) {
                        _cleanup_free_ char *text = NULL;

                        r = timestamp_cell(json_object_get(e, "NotAfter"), &text);
                        if (r < 0 || json_object_set_new(e, "Expires", json_string(text)) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                }
                r = json_table_new(list, keys, headers, ELEMENTSOF(keys), arg_legend, &t);
                if (r >= 0)
                        r = table_print(t, stdout);
                if (r >= 0 && arg_legend && !arg_quiet)
                        r = printf("\n%zu certificate%s listed.\n", json_array_size(list),
                                   json_array_size(list) == 1 ? "" : "s") < 0
                                ? -EIO
                                : 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

static const FieldFormat cert_fields[] = {
        { "Serial", "Serial", NULL },
        { "Subject", "Subject", NULL },
        { "SANs", "Alternative names", NULL },
        { "Profile", "Profile", NULL },
        { "Status", "Status", NULL },
        { "Reason", "Revocation reason", NULL },
        { "NotBefore", "Not before", timestamp_cell },
        { "NotAfter", "Not after", timestamp_cell },
        { "RevokedAt", "Revoked at", timestamp_cell },
};

/* GetCertificate(which) as PEM. */
int tpctl_ca_get_certificate(sd_bus *bus, const char *which, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const void *der;
        const char *pem;
        size_t size;
        int r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "GetCertificate", &error,
                               &reply, "sa{sv}", which, 0);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "get the certificate");
        r = sd_bus_message_read_array(reply, 'y', &der, &size);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &pem);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetCertificate() reply: %m"),
                       TPCTL_EXIT_FAILURE;
        *ret = strdup(pem);
        return *ret ? 0 : (log_oom(), TPCTL_EXIT_FAILURE);
}

int verb_ca_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_free_ char *pem = NULL;
        const char *which = argv[0];
        json_t *o;
        int r;

        if (!streq(which, "root") && !streq(which, "intermediate") && check_serial(which) < 0)
                return TPCTL_EXIT_USAGE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = tpctl_ca_get_certificate(bus, which, &pem);
        if (r != 0)
                return r;

        if (streq(which, "root") || streq(which, "intermediate")) {
                if (arg_json == JSON_MODE_OFF)
                        return tpctl_write_output(argc > 1 ? argv[1] : NULL, pem, strlen(pem)) < 0
                                ? TPCTL_EXIT_FAILURE
                                : TPCTL_EXIT_SUCCESS;
                o = json_pack("{s:s, s:s}", "Name", which, "Certificate", pem);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                r = json_print(stdout, o, arg_json);
                json_decref(o);
                return r < 0 ? TPCTL_EXIT_FAILURE : TPCTL_EXIT_SUCCESS;
        }

        r = list_certificates(bus, which, &list);
        if (r != 0)
                return r;
        o = json_array_get(list, 0);
        if (!o) {
                log_error("Certificate %s is not in the index.", which);
                return TPCTL_EXIT_FAILURE;
        }
        if (argc > 1)
                return tpctl_write_output(argv[1], pem, strlen(pem)) < 0 ? TPCTL_EXIT_FAILURE
                                                                         : TPCTL_EXIT_SUCCESS;
        if (json_object_set_new(o, "Certificate", json_string(pem)) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (arg_json != JSON_MODE_OFF)
                return json_print(stdout, o, arg_json) < 0 ? TPCTL_EXIT_FAILURE : TPCTL_EXIT_SUCCESS;
        r = tpctl_print_object(o, cert_fields, ELEMENTSOF(cert_fields), /* paged= */ false);
        if (r != TPCTL_EXIT_SUCCESS)
                return r;
        return fputs(pem, stdout) < 0 ? TPCTL_EXIT_FAILURE : TPCTL_EXIT_SUCCESS;
}

int verb_ca_crl(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        const unsigned char *p;
        X509_CRL *crl;
        const void *der;
        char *data;
        size_t size;
        long n;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_CA, "GetCRL", &error, &reply,
                               "a{sv}", 0);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "get the CRL");
        r = sd_bus_message_read_array(reply, 'y', &der, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetCRL() reply: %m"), TPCTL_EXIT_FAILURE;

        if (size > LONG_MAX)
                return log_error_errno(EBADMSG, "The CRL is too large."), TPCTL_EXIT_FAILURE;

        p = der;
        crl = d2i_X509_CRL(NULL, &p, (long) size);
        if (!crl)
                return log_error_errno(EBADMSG, "The daemon sent a CRL that does not parse."),
                       TPCTL_EXIT_FAILURE;
        bio = BIO_new(BIO_s_mem());
        r = bio && PEM_write_bio_X509_CRL(bio, crl) == 1 ? 0 : -EIO;
        X509_CRL_free(crl);
        if (r < 0)
                return log_error_errno(r, "Failed to encode the CRL as PEM: %m"), TPCTL_EXIT_FAILURE;
        n = BIO_get_mem_data(bio, &data);
        return tpctl_write_output(argc > 0 ? argv[0] : NULL, data, (size_t) n) < 0 ? TPCTL_EXIT_FAILURE
                                                                                   : TPCTL_EXIT_SUCCESS;
}

int verb_ca_bundle(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *root = NULL, *intermediate = NULL, *bundle = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = tpctl_ca_get_certificate(bus, "intermediate", &intermediate);
        if (r != 0)
                return r;
        r = tpctl_ca_get_certificate(bus, "root", &root);
        if (r != 0)
                return r;
        /* The issuing CA first, then the anchor, as TLS servers send chains. */
        if (asprintf(&bundle, "%s%s", intermediate, root) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;
        return tpctl_write_output(argc > 0 ? argv[0] : NULL, bundle, strlen(bundle)) < 0 ? TPCTL_EXIT_FAILURE
                                                                                         : TPCTL_EXIT_SUCCESS;
}
