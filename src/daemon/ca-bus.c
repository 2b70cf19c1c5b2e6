/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for org.trustedplatform.TrustedPlatform1.CA: the platform's certificate authority (src/ca) in
 * <state_dir>/ca. Init() creates the root and the issuing intermediate from [CA] in the configuration
 * (idempotent: an existing CA is adopted, a different one is refused); IssueCertificate() signs a CSR
 * under a profile, Revoke() marks a certificate revoked, and the read-only methods (GetCertificate,
 * GetCRL, ListCertificates) are open to everyone, since certificates and CRLs are public.
 *
 * Every CA operation is a few milliseconds of OpenSSL and one fsync'd write, so the methods run
 * synchronously in the event loop; none of them touches the TPM.
 *
 * The keys live in the library's file key store (encrypted PKCS#8). Its passphrase is 32 random bytes
 * (hex) made at the first Init() and kept in <state_dir>/ca-passphrase, mode 0600: the state directory
 * is root's, so this protects the keys as well as the directory does, no more. Sealing the passphrase
 * to the TPM is not done yet. */

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "ca/ca-name.h"
#include "ca/ca-sign.h"
#include "ca/ca.h"
#include "daemon/ca-bus.h"
#include "daemon/ca-service.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "shared/openssl-util.h"

#define ACTION_CA_ISSUE "org.trustedplatform.ca.issue"
#define ACTION_CA_REVOKE "org.trustedplatform.ca.revoke"
#define ACTION_CA_MANAGE "org.trustedplatform.ca.manage"

#define CA_PASSPHRASE_BYTES 32U

static int ca_passphrase_path(Manager *m, char **ret) {
        if (asprintf(ret, "%s/ca-passphrase", m->state_dir) < 0)
                return -ENOMEM;
        return 0;
}

/* Reads the key store's passphrase, or makes one when create is set and there is none. */
static int ca_get_passphrase(Manager *m, bool create, char **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(erase_and_freep) char *hex = NULL;
        uint8_t buf[CA_PASSPHRASE_BYTES];
        size_t size;
        int r;

        r = ca_passphrase_path(m, &path);
        if (r < 0)
                return r;

        r = read_full_file(path, CA_PASSPHRASE_MAX, &hex, &size);
        if (r >= 0) {
                if (size < CA_PASSPHRASE_MIN)
                        return log_error_errno(-EBADMSG, "%s is too short.", path);
                *ret = TAKE_PTR(hex);
                *ret_size = size;
                return 0;
        }
        if (r != -ENOENT || !create)
                return r;

        if (RAND_priv_bytes(buf, sizeof(buf)) != 1)
                return -EIO;
        r = hexmem(buf, sizeof(buf), &hex);
        explicit_bzero(buf, sizeof(buf));
        if (r < 0)
                return r;

        r = write_file_atomic(path, hex, strlen(hex), 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);

        *ret_size = strlen(hex);
        *ret = TAKE_PTR(hex);
        return 0;
}

static int ca_build_config(Manager *m, CaConfig *ret) {
        CaKeyType t;

        t = ca_key_type_from_string(m->ca_key_type);
        if (t < 0)
                return log_error_errno(-EINVAL, "[CA] KeyType=%s is not a known key type.", m->ca_key_type);

        *ret = (CaConfig){
                .root = { .subject = m->ca_root_subject, .key_type = t, .validity_days = 3650, .pathlen = -1 },
                .intermediate = { .subject = m->ca_intermediate_subject,
                                  .key_type = t,
                                  .validity_days = 1825,
                                  .pathlen = 0 },
                .crl_url = m->ca_crl_url,
                .ca_issuers_url = m->ca_issuers_url,
                .ocsp_url = m->ca_ocsp_url,
        };
        return 0;
}

int manager_open_ca(Manager *m, bool create) {
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        _cleanup_free_ char *keys = NULL, *root = NULL;
        _cleanup_(ca_freep) Ca *ca = NULL;
        size_t passphrase_size = 0;
        CaConfig config;
        int r;

        assert(m);

        if (m->ca)
                return 0;

        if (!create) {
                /* Never create anything from a read: only Init() (authorized) does. */
                if (asprintf(&root, "%s/root.pem", m->ca_dir) < 0)
                        return -ENOMEM;
                if (access(root, F_OK) < 0)
                        return errno == ENOENT ? -ENOMEDIUM : -errno;
        }

        r = ca_build_config(m, &config);
        if (r < 0)
                return r;

        if (mkdir(m->ca_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", m->ca_dir);

        r = ca_get_passphrase(m, create, &passphrase, &passphrase_size);
        if (r == -ENOENT)
                return -ENOMEDIUM;
        if (r < 0)
                return log_error_errno(r, "Failed to get the CA key store passphrase: %m");

        if (asprintf(&keys, "%s/keys", m->ca_dir) < 0)
                return -ENOMEM;
        r = ca_keystore_file_new(keys, passphrase, passphrase_size, &store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the CA key store %s: %m", keys);

        r = ca_init(m->ca_dir, store, &config, &ca);
        if (r < 0)
                return log_error_errno(r, "Failed to open the CA in %s: %m", m->ca_dir);
        if (r > 0)
                log_info("Created the certificate authority in %s.", m->ca_dir);

        m->ca_store = TAKE_PTR(store);
        m->ca = TAKE_PTR(ca);

        (void) manager_start_ca_service(m);
        return r;
}

/* Errors of the CA library as D-Bus errors. */
static int ca_bus_error(int r, sd_bus_error *error, const char *what) {
        switch (r) {
        case -ENOMEDIUM:
                return sd_bus_error_set(error, BUS_ERROR_CA_NOT_INITIALIZED,
                                        "The certificate authority is not initialized; call CA.Init() "
                                        "('tpctl ca init').");
        case -EEXIST:
                return sd_bus_error_setf(error, BUS_ERROR_CA_MISMATCH,
                                         "A different certificate authority exists already; it is never "
                                         "replaced.");
        case -EBUSY:
                return sd_bus_error_set(error, BUS_ERROR_BUSY,
                                        "The CA directory is in use by another process.");
        default:
                return bus_error_from_errno(error, r, "Failed to %s: %s", what, strerror(-r));
        }
}

static int ca_get(Manager *m, sd_bus_error *error) {
        int r;

        r = manager_open_ca(m, /* create= */ false);
        if (r < 0)
                return ca_bus_error(r, error, "open the certificate authority");
        return 0;
}

/* Reads a{sv} where only the keys in allowed (NULL-terminated) with their types are accepted; calls
 * handle() for each, positioned inside the variant. */
typedef int (*OptionHandler)(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error);

static int read_options(sd_bus_message *message, const char *const *keys, const char *const *types,
                        OptionHandler handle, void *userdata, sd_bus_error *error) {
        unsigned seen = 0;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key;
                size_t i;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; keys && keys[i]; i++)
                        if (streq(keys[i], key))
                                break;
                if (!keys || !keys[i])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                if (seen & (1U << i))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice.", key);
                seen |= 1U << i;

                r = tpm_bus_enter_option_variant(message, key, types[i], error);
                if (r < 0)
                        return r;
                r = handle(message, key, userdata, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message); /* the variant */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message); /* the dict entry */
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

static int read_no_options(sd_bus_message *message, sd_bus_error *error) {
        return read_options(message, NULL, NULL, NULL, NULL, error);
}

/* A serial as given by a caller: 32 hex digits in either case, normalized to the index's upper-case form. */
static int parse_serial(const char *s, char **ret, sd_bus_error *error) {
        uint8_t serial[CA_SERIAL_SIZE];
        int r;

        r = ca_serial_from_string(s, serial);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid serial number '%.64s': expected %u hexadecimal digits.", s,
                                         2 * CA_SERIAL_SIZE);
        return ca_serial_to_string(serial, ret);
}

static int append_cert(sd_bus_message *reply, X509 *cert) {
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        _cleanup_free_ char *pem = NULL;
        int n, r;

        n = i2d_X509(cert, &der);
        if (n <= 0)
                return -EIO;
        r = ca_cert_to_pem(cert, &pem);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', der, (size_t) n);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "s", pem);
}

static int method_init(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_open_ca(m, /* create= */ true);
        if (r < 0)
                return ca_bus_error(r, error, "initialize the certificate authority");

        return sd_bus_reply_method_return(message, "b", r > 0);
}

static int method_get_certificate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(X509_freep) X509 *owned = NULL;
        _cleanup_free_ char *serial = NULL;
        Manager *m = userdata;
        const char *which;
        X509 *cert;
        int r;

        r = sd_bus_message_read(message, "s", &which);
        if (r < 0)
                return r;
        if (!streq(which, "root") && !streq(which, "intermediate")) {
                r = parse_serial(which, &serial, error);
                if (r < 0)
                        return r;
        }
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        if (streq(which, "root"))
                cert = ca_get_root(m->ca);
        else if (streq(which, "intermediate"))
                cert = ca_get_intermediate(m->ca);
        else {
                r = ca_lookup(m->ca, serial, NULL, &owned);
                if (r == -ENOENT)
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CERTIFICATE,
                                                 "No certificate with serial %s was issued.", serial);
                if (r < 0)
                        return ca_bus_error(r, error, "look up the certificate");
                cert = owned;
        }

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_cert(reply, cert);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The options of IssueCertificate() and GenerateCertificate(). Strings point into the message. */
typedef struct IssueOptions {
        CaIssueRequest req;
        CaTpmInfo tpm;
        const char *key_type;  /* GenerateCertificate(): KeyType */
        const char *key_store; /* GenerateCertificate(): KeyStore */
} IssueOptions;

#define ISSUE_OPTION_STRING_MAX 256U

static int issue_option(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error) {
        IssueOptions *o = userdata;
        const char *s;
        uint32_t days;
        int r;

        if (streq(key, "ValidityDays")) {
                r = sd_bus_message_read(message, "u", &days);
                if (r < 0)
                        return r;
                if (days == 0 || days > CA_VALIDITY_DAYS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "ValidityDays=%" PRIu32 " is out of range 1..%u.", days,
                                                 CA_VALIDITY_DAYS_MAX);
                o->req.validity_days = days;
                return 0;
        }

        /* Every other option is a string. */
        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (isempty(s) || strlen(s) > ISSUE_OPTION_STRING_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' is empty or too long.", key);
        if (streq(key, "TPMManufacturer"))
                o->tpm.manufacturer = s;
        else if (streq(key, "TPMModel"))
                o->tpm.model = s;
        else if (streq(key, "TPMVersion"))
                o->tpm.version = s;
        else if (streq(key, "KeyType")) {
                if (ca_key_type_from_string(s) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown KeyType '%.64s'; expected ecdsa-p256, ecdsa-p384, "
                                                 "rsa-2048, rsa-3072, rsa-4096 or ed25519.",
                                                 s);
                o->key_type = s;
        } else {
                assert(streq(key, "KeyStore"));
                if (!streq(s, "any") && !streq(s, "tpm"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown KeyStore '%.64s'; expected any or tpm.", s);
                o->key_store = s;
        }
        return 0;
}

/* The TPM attributes, when any was given: all three, well-formed (TCG EK Credential Profile). */
static int issue_options_check_tpm(IssueOptions *o, sd_bus_error *error) {
        if (!o->tpm.manufacturer && !o->tpm.model && !o->tpm.version)
                return 0;
        if (ca_tpm_info_check(&o->tpm) < 0)
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "TPMManufacturer, TPMModel and TPMVersion must all be given: \"id:\" and 8 "
                        "hex digits, 1 to 64 printable ASCII characters, \"id:\" and 2 to 16 hex "
                        "digits.");
        o->req.tpm = &o->tpm;
        return 0;
}

#define PROFILES_EXPECTED \
        "tls-server, tls-client, sub-ca, code-signing, email, ocsp-signing, ak, ek or device"

static int method_issue_certificate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const keys[] = { "ValidityDays", "TPMManufacturer", "TPMModel", "TPMVersion", NULL },
                                 *const types[] = { "u", "s", "s", "s", NULL };
        _cleanup_free_ char *serial = NULL, *leaf_pem = NULL, *chain_pem = NULL, *chain = NULL;
        _cleanup_(X509_REQ_freep) X509_REQ *parsed = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        IssueOptions o = {};
        Manager *m = userdata;
        const char *profile;
        const void *csr;
        size_t csr_size;
        int r;

        r = sd_bus_message_read_array(message, 'y', &csr, &csr_size);
        if (r < 0)
                return r;
        if (csr_size == 0 || csr_size > CA_CSR_SIZE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The CSR is %zu bytes; expected 1..%u bytes of PEM or DER.",
                                         csr_size, CA_CSR_SIZE_MAX);
        r = sd_bus_message_read(message, "s", &profile);
        if (r < 0)
                return r;
        o.req.profile = ca_profile_from_string(profile);
        if (o.req.profile < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown profile '%.64s'; expected " PROFILES_EXPECTED ".", profile);
        r = read_options(message, keys, types, issue_option, &o, error);
        if (r < 0)
                return r;
        r = issue_options_check_tpm(&o, error);
        if (r < 0)
                return r;
        if (!!o.req.tpm != ca_profile_get(o.req.profile)->tpm_san)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Profile %s %s the options TPMManufacturer, TPMModel and TPMVersion.",
                                         profile, o.req.tpm ? "takes none of" : "needs");

        r = bus_verify_polkit_async(message, ACTION_CA_ISSUE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        /* Parsing first tells a malformed request apart from one whose content the profile refuses. */
        r = ca_csr_load(csr, csr_size, &parsed);
        if (r == -EINVAL || r == -E2BIG)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The CSR is not a PKCS#10 (version 1) request in PEM or DER.");
        if (r >= 0)
                r = ca_issue(m->ca, csr, csr_size, &o.req, &cert, &serial);
        switch (r) {
        case -EBADMSG:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The CSR's signature does not verify (no proof of possession of its "
                                        "key).");
        case -EKEYREJECTED:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The CSR's key is too weak (RSA needs at least 2048 bits).");
        case -EOPNOTSUPP:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The CSR's key algorithm is not supported (RSA, ECDSA P-256/P-384/P-521, "
                                        "Ed25519).");
        case -EINVAL:
        case -E2BIG:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The CSR's subject or subject alternative names are not allowed by "
                                         "profile %s, or the validity is too long.",
                                         profile);
        default:
                if (r < 0)
                        return ca_bus_error(r, error, "issue the certificate");
        }

        r = ca_cert_to_pem(cert, &leaf_pem);
        if (r < 0)
                return r;
        r = ca_cert_to_pem(ca_get_intermediate(m->ca), &chain_pem);
        if (r < 0)
                return r;
        if (asprintf(&chain, "%s%s", leaf_pem, chain_pem) < 0)
                return -ENOMEM;

        log_info("Issued certificate %s under profile %s.", serial, profile);
        return sd_bus_reply_method_return(message, "ss", serial, chain);
}

static int method_revoke(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *serial = NULL;
        CaRevocationReason reason;
        Manager *m = userdata;
        const char *s, *reason_s;
        int r;

        r = sd_bus_message_read(message, "ss", &s, &reason_s);
        if (r < 0)
                return r;
        r = parse_serial(s, &serial, error);
        if (r < 0)
                return r;
        reason = ca_revocation_reason_from_string(reason_s);
        if (reason < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown revocation reason '%.64s' (RFC 5280: unspecified, "
                                         "keyCompromise, superseded, cessationOfOperation, ...).",
                                         reason_s);
        if (IN_SET(reason, CA_REASON_REMOVE_FROM_CRL, CA_REASON_CA_COMPROMISE, CA_REASON_AA_COMPROMISE))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Revocation reason '%s' does not apply to an issued certificate.",
                                         reason_s);
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_REVOKE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        r = ca_revoke(m->ca, serial, reason);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CERTIFICATE,
                                         "No certificate with serial %s was issued.", serial);
        if (r == -EALREADY)
                return sd_bus_error_setf(error, BUS_ERROR_ALREADY_REVOKED,
                                         "Certificate %s is already revoked.", serial);
        if (r < 0)
                return ca_bus_error(r, error, "revoke the certificate");

        log_info("Revoked certificate %s (%s).", serial, reason_s);
        manager_ca_service_revoked(m);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_get_crl(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        Manager *m = userdata;
        int n, r;

        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        r = ca_crl_generate(m->ca, m->ca_crl_hours, &crl);
        if (r < 0)
                return ca_bus_error(r, error, "generate the CRL");

        n = i2d_X509_CRL(crl, &der);
        if (n <= 0)
                return -EIO;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', der, (size_t) n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct ListFilter {
        int status; /* CaCertStatus, or -1 for all */
        char *serial;
} ListFilter;

static int list_option(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error) {
        ListFilter *f = userdata;
        const char *s;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;

        if (streq(key, "Status")) {
                f->status = ca_cert_status_from_string(s);
                if (f->status < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown status '%.64s'; expected valid or revoked.", s);
                return 0;
        }

        return parse_serial(s, &f->serial, error);
}

static uint64_t time_to_usec(time_t t) {
        return t <= 0 ? 0 : (uint64_t) t * UINT64_C(1000000);
}

static int method_list_certificates(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const keys[] = { "Status", "Serial", NULL }, *const types[] = { "s", "s", NULL };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ListFilter f = { .status = -1 };
        CaIndexEntry **l = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int r;

        r = read_options(message, keys, types, list_option, &f, error);
        if (r < 0)
                goto finish;

        r = ca_get(m, error);
        if (r < 0)
                goto finish;

        r = ca_list(m->ca, &l, &n);
        if (r < 0) {
                r = ca_bus_error(r, error, "list the certificates");
                goto finish;
        }

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                goto finish;
        r = sd_bus_message_open_container(reply, 'a', "(ssssstttas)");
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < n; i++) {
                CaIndexEntry *e = l[i];

                if (f.status >= 0 && e->status != (CaCertStatus) f.status)
                        continue;
                if (f.serial && !streq(f.serial, e->serial))
                        continue;

                r = sd_bus_message_open_container(reply, 'r', "ssssstttas");
                if (r < 0)
                        goto finish;
                r = sd_bus_message_append(reply, "ssssst", e->serial, e->subject, e->profile,
                                          ca_cert_status_to_string(e->status),
                                          e->status == CA_CERT_REVOKED
                                                  ? strempty(ca_revocation_reason_to_string(e->reason))
                                                  : "",
                                          time_to_usec(e->not_before));
                if (r < 0)
                        goto finish;
                r = sd_bus_message_append(reply, "tt", time_to_usec(e->not_after),
                                          e->status == CA_CERT_REVOKED ? time_to_usec(e->revoked_at) : 0);
                if (r < 0)
                        goto finish;
                r = sd_bus_message_append_strv(reply, e->sans);
                if (r < 0)
                        goto finish;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        goto finish;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                goto finish;

        r = sd_bus_send(NULL, reply, NULL);

finish:
        ca_index_entry_array_free(l, n);
        free(f.serial);
        return r;
}

/* Keys the daemon makes and keeps for certificates, and signing with them (GenerateCertificate, Sign,
 * Verify). The key lives in the CA's key store under "cert-<serial>" (ca_issued_key_id()): in the TPM when
 * that store is the TPM store. Data to sign or verify is bounded by CA_BUS_SIGN_DATA_MAX, well under the
 * system bus's 32 MiB message limit; larger data is signed with the key outside the daemon (a TPM key's
 * TSS2 file and `openssl cms -provider tpm2`) or as its digest. */

#define ACTION_CA_SIGN "org.trustedplatform.ca.sign"
#define CA_BUS_SIGN_DATA_MAX (16U * 1024U * 1024U)
#define CA_BUS_SUBJECT_MAX 1024U

static int chain_pem(Manager *m, X509 *cert, char **ret) {
        _cleanup_free_ char *leaf_pem = NULL, *intermediate_pem = NULL;
        int r;

        r = ca_cert_to_pem(cert, &leaf_pem);
        if (r < 0)
                return r;
        r = ca_cert_to_pem(ca_get_intermediate(m->ca), &intermediate_pem);
        if (r < 0)
                return r;
        return asprintf(ret, "%s%s", leaf_pem, intermediate_pem) < 0 ? -ENOMEM : 0;
}

static int method_generate_certificate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const keys[] = { "ValidityDays", "KeyType", "KeyStore", NULL },
                                 *const types[] = { "u", "s", "s", NULL };
        _cleanup_strv_free_ char **sans = NULL;
        _cleanup_free_ char *serial = NULL, *chain = NULL, *key_pem = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        IssueOptions o = {};
        Manager *m = userdata;
        const char *profile, *subject;
        const CaProfile *p;
        CaKeyType key_type;
        int r;

        r = sd_bus_message_read(message, "ss", &profile, &subject);
        if (r < 0)
                return r;
        o.req.profile = ca_profile_from_string(profile);
        p = ca_profile_get(o.req.profile);
        if (!p)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown profile '%.64s'; expected " PROFILES_EXPECTED ".", profile);
        if (!p->daemon_key)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Profile %s is not for keys the daemon makes and keeps: tls-server, "
                                         "tls-client, code-signing, email or device.",
                                         profile);
        if (strlen(subject) > CA_BUS_SUBJECT_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The subject is longer than %u bytes.", CA_BUS_SUBJECT_MAX);
        r = sd_bus_message_read_strv(message, &sans);
        if (r < 0)
                return r;
        if (strv_length(sans) > CA_SAN_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%zu subject alternative names; at most %u.", strv_length(sans),
                                         CA_SAN_MAX);
        r = read_options(message, keys, types, issue_option, &o, error);
        if (r < 0)
                return r;
        key_type = o.key_type ? ca_key_type_from_string(o.key_type) : CA_KEY_ECDSA_P256;

        /* The store is part of the validation (so that "tpctl ca issue" falls back to a local key without
         * asking for authorization twice). Opening an existing CA is what every reading method does for
         * any caller; it creates nothing. */
        r = ca_get(m, error);
        if (r < 0)
                return r;
        if (o.key_store && streq(o.key_store, "tpm") && !streq(m->ca_store->ops->name, "tpm"))
                return sd_bus_error_setf(error, BUS_ERROR_KEY_STORE_UNSUITABLE,
                                         "The CA's key store is '%s', not the TPM.", m->ca_store->ops->name);

        r = bus_verify_polkit_async(message, ACTION_CA_ISSUE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_issue_generate(m->ca, m->ca_store, key_type, subject, sans, &o.req, &cert, &serial);
        switch (r) {
        case -EINVAL:
        case -E2BIG:
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "The subject or subject alternative names are not allowed by profile %s "
                        "(subject \"/CN=.../O=...\"; names \"DNS:...\", \"IP:...\", \"email:...\", "
                        "\"URI:...\"), or the validity is too long.",
                        profile);
        case -EOPNOTSUPP:
                return sd_bus_error_setf(error, BUS_ERROR_KEY_STORE_UNSUITABLE,
                                         "The CA's key store (%s) cannot hold a %s key.",
                                         m->ca_store->ops->name, ca_key_type_to_string(key_type));
        default:
                if (r < 0)
                        return ca_bus_error(r, error, "generate the key and certificate");
        }

        r = chain_pem(m, cert, &chain);
        if (r < 0)
                return r;
        r = ca_held_key_wrapped_pem(m->ca_store, serial, &key_pem);
        if (r < 0)
                return ca_bus_error(r, error, "read back the new key");

        log_info("Issued certificate %s under profile %s with a key kept in the %s store.", serial, profile,
                 m->ca_store->ops->name);
        return sd_bus_reply_method_return(message, "sss", serial, chain, strempty(key_pem));
}

static int read_bounded_array(sd_bus_message *message, const char *what, size_t max, const void **ret,
                              size_t *ret_size, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read_array(message, 'y', ret, ret_size);
        if (r < 0)
                return r;
        if (*ret_size > max)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The %s is %zu bytes; at most %zu.", what, *ret_size, max);
        return 0;
}

static int method_sign(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *sig = NULL;
        _cleanup_free_ char *serial = NULL;
        Manager *m = userdata;
        const void *data;
        const char *s;
        size_t size, sig_size;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        r = parse_serial(s, &serial, error);
        if (r < 0)
                return r;
        r = read_bounded_array(message, "data", CA_BUS_SIGN_DATA_MAX, &data, &size, error);
        if (r < 0)
                return r;
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_SIGN, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        r = ca_held_sign(m->ca, m->ca_store, serial, data, size, &sig, &sig_size);
        switch (r) {
        case -ENOENT:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CERTIFICATE,
                                         "No certificate with serial %s was issued.", serial);
        case -EKEYREVOKED:
                return sd_bus_error_setf(error, BUS_ERROR_CERTIFICATE_REVOKED, "Certificate %s is revoked.",
                                         serial);
        case -EKEYEXPIRED:
                return sd_bus_error_setf(error, BUS_ERROR_CERTIFICATE_EXPIRED,
                                         "Certificate %s is expired or not valid yet.", serial);
        case -EPERM:
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOR_SIGNING,
                                         "Certificate %s is not for digital signatures.", serial);
        case -ENOKEY:
                return sd_bus_error_setf(error, BUS_ERROR_NO_KEY,
                                         "The daemon keeps no key for certificate %s (issued from a CSR?).",
                                         serial);
        default:
                if (r < 0)
                        return ca_bus_error(r, error, "sign");
        }

        log_info("Signed %zu bytes with the key of certificate %s.", size, serial);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', sig, sig_size);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_verify(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *subject = NULL, *serial = NULL, *reason = NULL;
        Manager *m = userdata;
        const void *data, *sig;
        size_t size, sig_size;
        int r;

        r = read_bounded_array(message, "data", CA_BUS_SIGN_DATA_MAX, &data, &size, error);
        if (r < 0)
                return r;
        r = read_bounded_array(message, "signature", CA_SIGNATURE_MAX, &sig, &sig_size, error);
        if (r < 0)
                return r;
        if (sig_size == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The signature is empty.");
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = ca_get(m, error);
        if (r < 0)
                return r;

        r = ca_held_verify(m->ca, sig, sig_size, data, size, &subject, &serial, &reason);
        if (IN_SET(r, -EBADMSG, -E2BIG))
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "The signature is not a detached CMS SignedData (DER) with one signer.");
        if (r < 0)
                return ca_bus_error(r, error, "verify the signature");

        return sd_bus_reply_method_return(message, "bsss", r > 0, strempty(subject), strempty(serial),
                                          strempty(reason));
}

const sd_bus_vtable ca_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Init", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("b", created),
                                method_init, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetCertificate", SD_BUS_ARGS("s", which, "a{sv}", options),
                                SD_BUS_RESULT("ay", der, "s", pem), method_get_certificate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("IssueCertificate", SD_BUS_ARGS("ay", csr, "s", profile, "a{sv}", options),
                                SD_BUS_RESULT("s", serial, "s", chain_pem), method_issue_certificate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Revoke", SD_BUS_ARGS("s", serial, "s", reason, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_revoke, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetCRL", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("ay", der),
                                method_get_crl, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListCertificates", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(ssssstttas)", certificates), method_list_certificates,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        /* Keys kept by the daemon, signing and verifying. */
        SD_BUS_METHOD_WITH_ARGS("GenerateCertificate",
                                SD_BUS_ARGS("s", profile, "s", subject, "as", sans, "a{sv}", options),
                                SD_BUS_RESULT("s", serial, "s", chain_pem, "s", key_pem),
                                method_generate_certificate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Sign", SD_BUS_ARGS("s", serial, "ay", data, "a{sv}", options),
                                SD_BUS_RESULT("ay", signature), method_sign, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Verify", SD_BUS_ARGS("ay", data, "ay", signature, "a{sv}", options),
                                SD_BUS_RESULT("b", valid, "s", signer_subject, "s", signer_serial, "s", reason),
                                method_verify, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
