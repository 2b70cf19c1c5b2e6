/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for org.trustedplatform.TrustedPlatform1.CA: the platform's certificate authority (src/ca) in
 * <state_dir>/ca. Init() creates the root and the issuing intermediate from [CA] in the configuration
 * (idempotent: an existing CA is adopted, a different one is refused); IssueCertificate() signs a CSR
 * under a profile, Revoke() marks a certificate revoked, and the read-only methods (GetCertificate,
 * GetCRL, ListCertificates) are open to everyone, since certificates and CRLs are public.
 *
 * CA work is a few milliseconds of OpenSSL and one fsync'd write and runs in the event loop, except the
 * private-key operations with the TPM store: those run on the TPM worker (manager_ca_sign_on_worker(),
 * IssueJob, CrlJob, VerifyJob, GenerateJob, SignJob) and the method replies when the job is done; state
 * changes stay in the event loop, and the worker runs jobs in order, so overlapping calls queue.
 * Where the keys live and how the CA is opened is ca-keys.c: opening a file-store CA unseals its
 * passphrase on the TPM worker, and the calls that wait for that are dispatched again afterwards. */

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "ca/ca-trust.h"
#include "basic/string-util.h"
#include "ca/ca-name.h"
#include "ca/ca-sign.h"
#include "ca/ca.h"
#include "daemon/ca-bus.h"
#include "daemon/ca-keys.h"
#include "daemon/ca-service.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "daemon/tpm-call.h"
#include "daemon/tpm-worker.h"
#include "shared/bus-error.h"
#include "daemon/security-attributes.h"
#include "shared/bus-polkit.h"
#include "shared/openssl-util.h"

#define ACTION_CA_ISSUE "org.trustedplatform.ca.issue"
#define ACTION_CA_REVOKE "org.trustedplatform.ca.revoke"
#define ACTION_CA_MANAGE "org.trustedplatform.ca.manage"

int manager_open_ca(Manager *m, bool create) {
        return manager_open_ca_for(m, create, NULL);
}

/* Errors of the CA library as D-Bus errors. */
static int ca_bus_error(Manager *m, int r, sd_bus_error *error, const char *what) {
        int k;

        k = ca_keys_bus_error(m, r, error);
        if (k != 0)
                return k;

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

/* Opens the CA for a method; a call that has to wait for it to be opened on the TPM worker is
 * dispatched again when it is: 1 means it waits (return 1 from the handler). */
static int ca_get_or_wait(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        int r;

        r = manager_open_ca_for(m, /* create= */ false, message);
        if (r == -EINPROGRESS)
                return 1;
        if (r < 0)
                return ca_bus_error(m, r, error, "open the certificate authority");
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

        r = manager_open_ca_for(m, /* create= */ true, message);
        if (r == -EINPROGRESS)
                return 1; /* sealing the passphrase; dispatched again when done */
        if (r < 0)
                return ca_bus_error(m, r, error, "initialize the certificate authority");

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

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
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
                        return ca_bus_error(m, r, error, "look up the certificate");
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

static int chain_pem(Manager *m, X509 *cert, char **ret);

static int issue_error(Manager *m, const char *profile, int r, sd_bus_error *error) {
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
                return ca_bus_error(m, r, error, "issue the certificate");
        }
}

static int issue_reply(Manager *m, sd_bus_message *message, const char *profile, X509 *cert,
                       const char *serial) {
        _cleanup_free_ char *chain = NULL;
        int r;

        r = chain_pem(m, cert, &chain);
        if (r < 0)
                return r;
        log_info("Issued certificate %s under profile %s.", serial, profile);
        return sd_bus_reply_method_return(message, "ss", serial, chain);
}

/* IssueCertificate() with the TPM store: the checks, the serial and the certificate's content in the
 * event loop (ca_issue_begin()), the intermediate's signature on the TPM worker, the index record in the
 * event loop again (ca_issue_commit()), then the reply. Every change of the CA's state happens in the
 * event loop and the worker runs its jobs in order, so overlapping calls queue: each draws a serial that
 * is unused in the index, and the records are written in the order the calls came. Nothing is written
 * for a call that fails or is cancelled before its commit. */
typedef struct IssueJob {
        Manager *manager;
        sd_bus_message *message;
        CaIssuePending *pending;
        char *profile;
} IssueJob;

static IssueJob *issue_job_free(IssueJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->message);
        ca_issue_pending_free(j->pending);
        free(j->profile);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(IssueJob *, issue_job_free);

/* Worker thread: signs a pending certificate (IssueCertificate, GenerateCertificate) or a built CRL
 * (GetCRL, VerifyCertificate). */
static int sign_pending_certificate(void *object, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        return ca_issue_pending_sign(object, libctx, key);
}

static int sign_crl(void *object, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        return ca_crl_sign(object, libctx, key);
}

/* Event loop. */
static void issue_job_done(int result, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(issue_job_freep) IssueJob *j = userdata;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *serial = NULL;
        Manager *m = j->manager;
        int r;

        if (result == -ECANCELED) {
                r = tpm_reply_shutting_down(j->message);
                goto finish;
        }
        if (result >= 0 && !m->ca)
                result = -ENOMEDIUM;
        if (result >= 0)
                result = ca_issue_commit(m->ca, j->pending, &cert, &serial);
        if (result < 0) {
                log_debug_errno(result, "Issuing certificate %s on the TPM worker failed: %m",
                                ca_issue_pending_serial(j->pending));
                (void) issue_error(m, j->profile, result, &error);
                r = sd_bus_reply_method_error(j->message, &error);
                goto finish;
        }
        r = issue_reply(m, j->message, j->profile, cert, serial);
finish:
        if (r < 0)
                log_warning_errno(r, "Failed to reply to IssueCertificate(): %m");
}

/* Returns 1 (the call went to the worker and is answered from there) or a D-Bus error. */
static int issue_on_worker(Manager *m, sd_bus_message *message, const void *csr, size_t csr_size,
                           const CaIssueRequest *req, const char *profile, sd_bus_error *error) {
        _cleanup_(issue_job_freep) IssueJob *j = NULL;
        int r;

        j = calloc(1, sizeof(IssueJob));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->message = sd_bus_message_ref(message);
        j->profile = strdup(profile);
        if (!j->profile)
                return -ENOMEM;
        r = ca_issue_begin(m->ca, csr, csr_size, req, &j->pending);
        if (r < 0)
                return issue_error(m, profile, r, error);

        r = manager_ca_sign_on_worker(m, "intermediate", sign_pending_certificate, j->pending,
                                      issue_job_done, j);
        if (r < 0)
                return ca_bus_error(m, r, error, "queue the certificate for signing");
        log_debug("Signing certificate %s on the TPM worker.", ca_issue_pending_serial(j->pending));
        TAKE_PTR(j);
        return 1;
}

#define PROFILES_EXPECTED \
        "tls-server, tls-client, sub-ca, code-signing, email, ocsp-signing, ak, ek or device"

static int method_issue_certificate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const keys[] = { "ValidityDays", "TPMManufacturer", "TPMModel", "TPMVersion", NULL },
                                 *const types[] = { "u", "s", "s", "s", NULL };
        _cleanup_free_ char *serial = NULL;
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

        /* The trust gate after validation and before polkit: a refusal changes nothing (DESIGN §5 only
         * asks that nothing happens before polkit), and nobody is asked for a password for an operation
         * that would be refused anyway. Checked again when polkit calls us back. */
        r = manager_check_trust_gate(m, message, "issue certificates", error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_ISSUE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        /* Parsing first tells a malformed request apart from one whose content the profile refuses. */
        r = ca_csr_load(csr, csr_size, &parsed);
        if (r == -EINVAL || r == -E2BIG)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The CSR is not a PKCS#10 (version 1) request in PEM or DER.");
        if (r >= 0 && manager_ca_signs_on_worker(m))
                return issue_on_worker(m, message, csr, csr_size, &o.req, profile, error);
        if (r >= 0)
                r = ca_issue(m->ca, csr, csr_size, &o.req, &cert, &serial);
        if (r < 0)
                return issue_error(m, profile, r, error);

        return issue_reply(m, message, profile, cert, serial);
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

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        r = ca_revoke(m->ca, serial, reason);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CERTIFICATE,
                                         "No certificate with serial %s was issued.", serial);
        if (r == -EALREADY)
                return sd_bus_error_setf(error, BUS_ERROR_ALREADY_REVOKED,
                                         "Certificate %s is already revoked.", serial);
        if (r < 0)
                return ca_bus_error(m, r, error, "revoke the certificate");

        log_info("Revoked certificate %s (%s).", serial, reason_s);
        manager_ca_service_revoked(m);
        return sd_bus_reply_method_return(message, NULL);
}

static int crl_reply(sd_bus_message *message, X509_CRL *crl) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        int n, r;

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

/* GetCRL() with the TPM store: the CRL is built in the event loop and signed on the TPM worker. */
typedef struct CrlJob {
        Manager *manager;
        sd_bus_message *message;
        X509_CRL *crl;
} CrlJob;

static void crl_job_done(int result, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        CrlJob *j = userdata;
        int r;

        if (result == -ECANCELED)
                r = tpm_reply_shutting_down(j->message);
        else if (result < 0) {
                (void) ca_bus_error(j->manager, result, &error, "sign the CRL");
                r = sd_bus_reply_method_error(j->message, &error);
        } else
                r = crl_reply(j->message, j->crl);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to GetCRL(): %m");

        sd_bus_message_unref(j->message);
        X509_CRL_free(j->crl);
        free(j);
}

static int method_get_crl(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        Manager *m = userdata;
        CrlJob *j;
        int r;

        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        if (manager_ca_signs_on_worker(m)) {
                r = ca_crl_build(m->ca, m->ca_crl_hours, &crl);
                if (r < 0)
                        return ca_bus_error(m, r, error, "generate the CRL");
                j = malloc(sizeof(CrlJob));
                if (!j)
                        return -ENOMEM;
                *j = (CrlJob){ .manager = m, .message = sd_bus_message_ref(message), .crl = crl };
                r = manager_ca_sign_on_worker(m, "intermediate", sign_crl, crl, crl_job_done, j);
                if (r < 0) {
                        sd_bus_message_unref(j->message);
                        free(j);
                        return ca_bus_error(m, r, error, "queue the CRL for signing");
                }
                TAKE_PTR(crl); /* j's now */
                return 1;
        }

        r = ca_crl_generate(m->ca, m->ca_crl_hours, &crl);
        if (r < 0)
                return ca_bus_error(m, r, error, "generate the CRL");
        return crl_reply(message, crl);
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

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                goto finish;

        r = ca_list(m->ca, &l, &n);
        if (r < 0) {
                r = ca_bus_error(m, r, error, "list the certificates");
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

/* Trust store (src/ca/ca-trust.h) in <state_dir>/trust, and the OS trust store. Import, remove and the OS
 * trust store need org.trustedplatform.ca.manage; listing and verifying are open to everyone (certificates
 * are public), except that fetching AIA issuers (network access from the daemon) needs manage too. */

/* TEST ONLY: the root directory of the OS trust store (default "/"), so that the integration tests never
 * touch the real /etc. Not a configuration setting. */
#define CA_TEST_SYSROOT_ENV "TRUSTED_PLATFORM_TEST_SYSROOT"

#define CA_BUS_AIA_HOPS 2U
#define CA_BUS_AIA_TIMEOUT_MS 2000U

static int ca_trust_dir(Manager *m, char **ret) {
        if (asprintf(ret, "%s/trust", m->state_dir) < 0)
                return -ENOMEM;
        return 0;
}

static int trust_import_error(Manager *m, int r, sd_bus_error *error) {
        switch (r) {
        case -EINVAL:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Not one DER certificate or PEM CERTIFICATE blocks (nothing else).");
        case -E2BIG:
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "Too large: at most %u bytes, %u certificates of at most %u bytes each.",
                        CA_TRUST_INPUT_SIZE_MAX, CA_TRUST_IMPORT_CERTS_MAX, CA_TRUST_CERT_SIZE_MAX);
        case -EMEDIUMTYPE:
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "Not a CA certificate (basicConstraints cA and keyCertSign are required).");
        case -EKEYEXPIRED:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A certificate is not valid now.");
        case -EKEYREJECTED:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "A certificate's key is weak or of an unsupported algorithm.");
        case -ENOTUNIQ:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A certificate is given twice.");
        case -EBADMSG:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "A self-signed certificate's signature does not verify.");
        case -ENOKEY:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "An intermediate does not chain to a trusted anchor; import its root "
                                        "first (or in the same bundle).");
        case -ENOSPC:
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "The trust store would hold more than %u certificates.",
                                         CA_TRUST_STORE_CERTS_MAX);
        default:
                return ca_bus_error(m, r, error, "import into the trust store");
        }
}

static int read_blob(sd_bus_message *message, const void **ret, size_t *ret_size, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read_array(message, 'y', ret, ret_size);
        if (r < 0)
                return r;
        if (*ret_size == 0 || *ret_size > CA_TRUST_INPUT_SIZE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The certificates are %zu bytes; expected 1..%u bytes of PEM or DER.",
                                         *ret_size, CA_TRUST_INPUT_SIZE_MAX);
        return 0;
}

static int append_trust_entries(sd_bus_message *reply, const CaTrustEntry *l, size_t n) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(reply, "(sssstt)", l[i].fingerprint,
                                          ca_trust_kind_to_string(l[i].kind), l[i].subject, l[i].issuer,
                                          time_to_usec(l[i].not_before), time_to_usec(l[i].not_after));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int method_import_trust_anchor(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *dir = NULL;
        CaTrustEntry *l = NULL;
        Manager *m = userdata;
        const void *data;
        size_t size, n = 0;
        uint32_t n_new;
        int r;

        r = read_blob(message, &data, &size, error);
        if (r < 0)
                return r;
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_trust_dir(m, &dir);
        if (r < 0)
                return r;
        r = ca_trust_import(dir, data, size, 0, &l, &n);
        if (r < 0)
                return trust_import_error(m, r, error);
        n_new = (uint32_t) r;
        log_info("Imported %zu certificate(s) into the trust store, %" PRIu32 " new.", n, n_new);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = append_trust_entries(reply, l, n);
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", n_new);
        ca_trust_entry_array_free(l, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_trust_anchors(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *dir = NULL;
        CaTrustEntry *l = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int r;

        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = ca_trust_dir(m, &dir);
        if (r < 0)
                return r;
        r = ca_trust_list(dir, &l, &n);
        if (r < 0)
                return ca_bus_error(m, r, error, "list the trust store");

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = append_trust_entries(reply, l, n);
        ca_trust_entry_array_free(l, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_remove_trust_anchor(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        char fp[CA_TRUST_FINGERPRINT_LEN + 1];
        _cleanup_free_ char *dir = NULL;
        Manager *m = userdata;
        const char *s;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (ca_trust_fingerprint_normalize(s, fp) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid fingerprint '%.100s': expected the SHA-256 of the certificate "
                                         "as 64 hexadecimal digits (':' between bytes allowed).",
                                         s);
        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_trust_dir(m, &dir);
        if (r < 0)
                return r;
        r = ca_trust_remove(dir, fp, NULL);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CERTIFICATE,
                                         "No certificate with fingerprint %s is in the trust store.", fp);
        if (r < 0)
                return ca_bus_error(m, r, error, "remove the certificate from the trust store");
        log_info("Removed %s from the trust store.", fp);
        return sd_bus_reply_method_return(message, NULL);
}

typedef struct VerifyOptions {
        CaTrustPurpose purpose;
        int check_crl;
        int fetch_aia;
} VerifyOptions;

static int verify_option(sd_bus_message *message, const char *key, void *userdata, sd_bus_error *error) {
        VerifyOptions *o = userdata;
        const char *s;
        int r;

        if (streq(key, "Purpose")) {
                r = sd_bus_message_read(message, "s", &s);
                if (r < 0)
                        return r;
                o->purpose = ca_trust_purpose_from_string(s);
                if (o->purpose < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown purpose '%.64s'; expected any, tls-server, tls-client, "
                                                 "code-signing or email.",
                                                 s);
                return 0;
        }
        return sd_bus_message_read(message, "b", streq(key, "CheckCRL") ? &o->check_crl : &o->fetch_aia);
}

/* The rest of VerifyCertificate() once the CRL (if asked for) is there; replies. */
static int verify_certificate_finish(Manager *m, sd_bus_message *message, const void *data, size_t size,
                                     const VerifyOptions *o, X509_CRL *crl, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *dir = NULL;
        STACK_OF(X509_CRL) *crls = NULL;
        CaTrustVerifyResult res = {};
        CaTrustVerifyParams p;
        int r;

        if (crl) {
                crls = sk_X509_CRL_new_null();
                if (!crls || !sk_X509_CRL_push(crls, crl)) {
                        sk_X509_CRL_free(crls);
                        return -ENOMEM;
                }
        }

        r = ca_trust_dir(m, &dir);
        if (r < 0)
                goto finish;
        p = (CaTrustVerifyParams){
                .purpose = o->purpose,
                .crls = crls,
                .aia_hops = o->fetch_aia ? CA_BUS_AIA_HOPS : 0,
                .aia_timeout_ms = CA_BUS_AIA_TIMEOUT_MS,
        };
        r = ca_trust_verify_blob(dir, m->ca ? ca_get_root(m->ca) : NULL, data, size, &p, &res);
        if (r == -EINVAL || r == -E2BIG) {
                r = sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "Expected a certificate and at most %u more (its chain) in PEM, or one in DER.",
                        CA_TRUST_CHAIN_MAX);
                goto finish;
        }
        if (r < 0) {
                r = ca_bus_error(m, r, error, "verify the certificate");
                goto finish;
        }

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "bs", res.valid, strempty(res.reason));
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, res.chain);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
finish:
        ca_trust_verify_result_done(&res);
        sk_X509_CRL_free(crls); /* crl is the caller's */
        return r;
}

/* VerifyCertificate(CheckCRL=true) with the TPM store: our CRL is signed on the TPM worker first. */
typedef struct VerifyJob {
        Manager *manager;
        sd_bus_message *message; /* holds data */
        const void *data;
        size_t size;
        VerifyOptions options;
        X509_CRL *crl;
} VerifyJob;

static void verify_job_done(int result, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        VerifyJob *j = userdata;
        int r;

        if (result == -ECANCELED)
                r = tpm_reply_shutting_down(j->message);
        else {
                if (result < 0)
                        r = ca_bus_error(j->manager, result, &error, "sign the CRL");
                else
                        r = verify_certificate_finish(j->manager, j->message, j->data, j->size, &j->options,
                                                      j->crl, &error);
                if (r < 0 || sd_bus_error_is_set(&error))
                        r = sd_bus_reply_method_errno(j->message, r, &error);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to reply to VerifyCertificate(): %m");

        sd_bus_message_unref(j->message);
        X509_CRL_free(j->crl);
        free(j);
}

static int method_verify_certificate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const keys[] = { "Purpose", "CheckCRL", "FetchAIA", NULL },
                                 *const types[] = { "s", "b", "b", NULL };
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        VerifyOptions o = { .purpose = CA_TRUST_PURPOSE_ANY };
        Manager *m = userdata;
        const void *data;
        VerifyJob *j;
        size_t size;
        int r;

        r = read_blob(message, &data, &size, error);
        if (r < 0)
                return r;
        r = read_options(message, keys, types, verify_option, &o, error);
        if (r < 0)
                return r;

        if (o.fetch_aia) {
                r = bus_verify_polkit_async(message, ACTION_CA_MANAGE, NULL, &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        /* Our own root is an anchor when the CA exists; the CRL is our CA's. */
        r = manager_open_ca(m, /* create= */ false);
        if (r < 0 && (r != -ENOMEDIUM || o.check_crl))
                return ca_bus_error(m, r, error, "open the certificate authority");
        if (o.check_crl && manager_ca_signs_on_worker(m)) {
                r = ca_crl_build(m->ca, m->ca_crl_hours, &crl);
                if (r < 0)
                        return ca_bus_error(m, r, error, "generate the CRL");
                j = malloc(sizeof(VerifyJob));
                if (!j)
                        return -ENOMEM;
                *j = (VerifyJob){
                        .manager = m,
                        .message = sd_bus_message_ref(message),
                        .data = data,
                        .size = size,
                        .options = o,
                        .crl = crl,
                };
                r = manager_ca_sign_on_worker(m, "intermediate", sign_crl, crl, verify_job_done, j);
                if (r < 0) {
                        sd_bus_message_unref(j->message);
                        free(j);
                        return ca_bus_error(m, r, error, "queue the CRL for signing");
                }
                TAKE_PTR(crl); /* j's now */
                return 1;
        }
        if (o.check_crl) {
                r = ca_crl_generate(m->ca, m->ca_crl_hours, &crl);
                if (r < 0)
                        return ca_bus_error(m, r, error, "generate the CRL");
        }

        return verify_certificate_finish(m, message, data, size, &o, crl, error);
}

static int system_trust_call(sd_bus_message *message, Manager *m, bool install, sd_bus_error *error) {
        CaSystemTrust kind = _CA_SYSTEM_TRUST_INVALID;
        const char *sysroot;
        int r;

        r = read_no_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        sysroot = secure_getenv(CA_TEST_SYSROOT_ENV);
        if (isempty(sysroot))
                sysroot = NULL;
        r = install ? ca_system_trust_install(sysroot, ca_get_root(m->ca), &kind)
                    : ca_system_trust_uninstall(sysroot, ca_get_root(m->ca), &kind);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "No supported system trust store (update-ca-certificates, update-ca-trust "
                                        "or p11-kit's trust) was found.");
        if (r == -EPROTO || r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "The system trust store's update command (%s) failed.",
                                         strna(ca_system_trust_to_string(kind)));
        if (r < 0)
                return ca_bus_error(m, r, error,
                                    install ? "install the root into the system trust store"
                                            : "remove the root from the system trust store");
        log_info("%s the CA root %s the system trust store (%s).",
                 r > 0 ? (install ? "Installed" : "Removed") : (install ? "Kept" : "Nothing to remove of"),
                 install ? "in" : "from", ca_system_trust_to_string(kind));
        return sd_bus_reply_method_return(message, "sb", ca_system_trust_to_string(kind), r > 0);
}

static int method_install_to_system_trust(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return system_trust_call(message, userdata, /* install= */ true, error);
}

static int method_uninstall_from_system_trust(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return system_trust_call(message, userdata, /* install= */ false, error);
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

static int generate_error(Manager *m, const char *profile, CaKeyType key_type, int r, sd_bus_error *error) {
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
                return ca_bus_error(m, r, error, "generate the key and certificate");
        }
}

/* GenerateCertificate() with the TPM store makes its key on the TPM worker (TPM2_Create: from milliseconds
 * on swtpm to seconds on a chip), through the worker's own tpm2 provider instance (see SignJob): the
 * checks and the serial before, on the event loop (ca_issue_generate_prepare()), the certificate after,
 * on the event loop again (ca_issue_generate_finish(), which signs with the CA's key). */
typedef struct GenerateJob {
        Manager *manager;
        sd_bus_message *message;
        CaTpmLibctx **libctx; /* the worker's, in the CaService */
        CaIssuePrepared *prepared;
        CaIssuePending *pending; /* the certificate, to be signed on the worker in a second job */
        char *profile;
        char *key_path;
        CaKeyType key_type;
        uint8_t *public_der; /* results */
        int public_size;
        char *key_pem;
        bool written; /* the key file was made */
} GenerateJob;

static GenerateJob *generate_job_free(GenerateJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->message);
        ca_issue_prepared_free(j->prepared);
        ca_issue_pending_free(j->pending);
        free(j->profile);
        free(j->key_path);
        OPENSSL_free(j->public_der);
        free(j->key_pem);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GenerateJob *, generate_job_free);

/* Worker thread. */
static int generate_job_run(Tpm2Context *tpm, void *userdata) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        GenerateJob *j = userdata;
        int r;

        if (!*j->libctx) {
                r = ca_tpm_libctx_new(j->libctx);
                if (r < 0)
                        return r;
        }
        r = ca_tpm_key_generate_file(ca_tpm_libctx_get(*j->libctx), j->key_path, j->key_type, &key,
                                     &j->key_pem);
        if (r < 0)
                return r;
        j->written = true;
        /* The public half for the certificate, as DER: the key itself belongs to this thread's provider. */
        j->public_size = i2d_PUBKEY(key, &j->public_der);
        if (j->public_size <= 0)
                return openssl_errno();
        return 0;
}

static int generate_job_fail(GenerateJob *j, int result) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (result == -ECANCELED)
                return tpm_reply_shutting_down(j->message);
        (void) generate_error(j->manager, j->profile, j->key_type, result, &error);
        return sd_bus_reply_method_error(j->message, &error);
}

/* Event loop, after the second job: the certificate signed by the intermediate, recorded here. */
static void sign_pending_certificateed(int result, void *userdata) {
        _cleanup_(generate_job_freep) GenerateJob *j = userdata;
        _cleanup_free_ char *serial = NULL, *chain = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        Manager *m = j->manager;
        int r;

        if (result != -ECANCELED && !m->ca)
                result = -ECANCELED;
        if (result >= 0)
                result = ca_issue_commit(m->ca, j->pending, &cert, &serial);
        if (result >= 0)
                result = chain_pem(m, cert, &chain);
        if (result < 0) {
                /* At shutdown too: a key without its certificate is removed, as after any failure. */
                if (m->ca && m->ca_store)
                        ca_issue_generate_abort(m->ca, m->ca_store, j->prepared);
                r = generate_job_fail(j, result);
        } else {
                log_info("Issued certificate %s under profile %s with a key kept in the TPM (made on the TPM "
                         "worker).",
                         serial, j->profile);
                log_debug("Certificate %s was signed on the TPM worker too.", serial);
                r = sd_bus_reply_method_return(j->message, "sss", serial, chain, j->key_pem);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to reply to GenerateCertificate(): %m");
}

static int generate_job_reply(GenerateJob *j, int result, bool *ret_queued) {
        _cleanup_free_ char *serial = NULL, *chain = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        Manager *m = j->manager;
        int r;

        if (result == -ECANCELED)
                return generate_job_fail(j, result);
        if (result >= 0) {
                const unsigned char *p = j->public_der;

                pub = d2i_PUBKEY(NULL, &p, j->public_size);
                result = pub ? 0 : openssl_errno();
        }
        if (result >= 0 && !m->ca)
                result = -ECANCELED; /* the CA went away meanwhile */
        if (result >= 0 && manager_ca_signs_on_worker(m)) {
                /* The certificate is signed on the worker too: built here (removes the key when it cannot
                 * be), signed there, recorded back here in sign_pending_certificateed(). */
                result = ca_issue_generate_begin(m->ca, m->ca_store, j->prepared, pub, &j->pending);
                if (result < 0)
                        return generate_job_fail(j, result);
                result = manager_ca_sign_on_worker(m, "intermediate", sign_pending_certificate, j->pending,
                                                   sign_pending_certificateed, j);
                if (result < 0) {
                        ca_issue_generate_abort(m->ca, m->ca_store, j->prepared);
                        return generate_job_fail(j, result);
                }
                *ret_queued = true; /* j is the second job's now */
                return 0;
        }
        if (result >= 0)
                /* Removes the key itself when the certificate cannot be issued. */
                result = ca_issue_generate_finish(m->ca, m->ca_store, j->prepared, pub, &cert, &serial);
        else if (j->written && m->ca_store)
                /* A key made whose public half could not be read. */
                (void) ca_keystore_remove(m->ca_store, ca_issue_prepared_key_id(j->prepared));
        if (result >= 0)
                result = chain_pem(m, cert, &chain);
        if (result < 0)
                return generate_job_fail(j, result);

        log_info("Issued certificate %s under profile %s with a key kept in the TPM (made on the TPM "
                 "worker).",
                 serial, j->profile);
        r = sd_bus_reply_method_return(j->message, "sss", serial, chain, j->key_pem);
        return r;
}

/* Event loop. */
static void generate_job_done(int result, void *userdata) {
        _cleanup_(generate_job_freep) GenerateJob *j = userdata;
        bool queued = false;
        int r;

        r = generate_job_reply(j, result, &queued);
        if (queued)
                TAKE_PTR(j); /* signed on the worker next */
        else if (r < 0)
                log_warning_errno(r, "Failed to reply to GenerateCertificate(): %m");
}

/* 1 when the call went to the worker, 0 when the store is not the TPM store (made here), or an error. */
static int generate_on_worker(Manager *m, sd_bus_message *message, const char *profile, CaKeyType key_type,
                              const char *subject, char *const *sans, const CaIssueRequest *req,
                              sd_bus_error *error) {
        _cleanup_(generate_job_freep) GenerateJob *j = NULL;
        CaTpmLibctx **libctx = ca_service_worker_libctx(m->ca_service);
        int r;

        if (!libctx || !m->tpm_worker || !streq(m->ca_store->ops->name, "tpm"))
                return 0;
        if (!ca_key_store_supports(CA_KEY_STORE_TPM, key_type))
                return generate_error(m, profile, key_type, -EOPNOTSUPP, error);

        j = calloc(1, sizeof(GenerateJob));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->message = sd_bus_message_ref(message);
        j->libctx = libctx;
        j->key_type = key_type;
        j->profile = strdup(profile);
        if (!j->profile)
                return -ENOMEM;
        r = ca_issue_generate_prepare(m->ca, key_type, subject, sans, req, &j->prepared);
        if (r < 0)
                return generate_error(m, profile, key_type, r, error);
        r = ca_keystore_tpm_key_path(m->ca_store, ca_issue_prepared_key_id(j->prepared), &j->key_path);
        if (r < 0)
                return generate_error(m, profile, key_type, r, error);

        r = tpm_worker_submit(m->tpm_worker, generate_job_run, generate_job_done, j);
        if (r < 0)
                return generate_error(m, profile, key_type, r, error);
        TAKE_PTR(j);
        return 1;
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
        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;
        if (o.key_store && streq(o.key_store, "tpm") && !streq(m->ca_store->ops->name, "tpm"))
                return sd_bus_error_setf(error, BUS_ERROR_KEY_STORE_UNSUITABLE,
                                         "The CA's key store is '%s', not the TPM.", m->ca_store->ops->name);

        r = manager_check_trust_gate(m, message, "issue certificates", error); /* as in IssueCertificate() */
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_CA_ISSUE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = generate_on_worker(m, message, profile, key_type, subject, sans, &o.req, error);
        if (r != 0)
                return r;

        r = ca_issue_generate(m->ca, m->ca_store, key_type, subject, sans, &o.req, &cert, &serial);
        if (r < 0)
                return generate_error(m, profile, key_type, r, error);

        r = chain_pem(m, cert, &chain);
        if (r < 0)
                return r;
        r = ca_held_key_wrapped_pem(m->ca_store, serial, &key_pem);
        if (r < 0)
                return ca_bus_error(m, r, error, "read back the new key");

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

static int sign_error(const char *serial, int r, sd_bus_error *error) {
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
                return 0;
        }
}

/* Sign() with a key of the TPM store runs on the TPM worker (a TPM2_Sign, and a key load before it, take
 * milliseconds to seconds), through the worker's own tpm2 provider instance: the provider's ESAPI context
 * is not thread-safe, and the event loop keeps using its own for the CA's keys. */
typedef struct SignJob {
        CaTpmLibctx **libctx; /* the worker's, in the CaService */
        char *serial;
        char *key_path;
        X509 *cert;
        X509 *intermediate; /* a copy: the Ca's stays the event loop's */
        const void *data;   /* in the call's message, which the TpmCall holds */
        size_t size;
        uint8_t *sig;
        size_t sig_size;
} SignJob;

static void sign_job_free(void *p) {
        SignJob *j = p;

        if (!j)
                return;
        free(j->serial);
        free(j->key_path);
        X509_free(j->cert);
        X509_free(j->intermediate);
        OPENSSL_free(j->sig);
        free(j);
}

static int sign_job_run(Tpm2Context *tpm, TpmCall *c) {
        SignJob *j = c->payload;
        int r;

        if (!*j->libctx) {
                r = ca_tpm_libctx_new(j->libctx);
                if (r < 0)
                        return r;
        }
        return ca_held_sign_tpm_file(ca_tpm_libctx_get(*j->libctx), j->key_path, j->cert, j->intermediate,
                                     j->data, j->size, &j->sig, &j->sig_size);
}

static int sign_job_append(TpmCall *c, sd_bus_message *reply) {
        SignJob *j = c->payload;

        log_info("Signed %zu bytes with the key of certificate %s (in the TPM).", j->size, j->serial);
        return sd_bus_message_append_array(reply, 'y', j->sig, j->sig_size);
}

static int sign_job_error(TpmCall *c, int r, sd_bus_error *error) {
        SignJob *j = c->payload;

        return sign_error(j->serial, r, error);
}

/* 1 when the call went to the worker, 0 when the key is not in the TPM store (sign here). */
static int sign_on_worker(Manager *m, sd_bus_message *message, const char *serial, const void *data,
                          size_t size, sd_bus_error *error) {
        _cleanup_(tpm_call_freep) TpmCall *c = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        CaTpmLibctx **libctx = ca_service_worker_libctx(m->ca_service);
        SignJob *j;
        int r;

        if (!libctx || !m->tpm_worker || !streq(m->ca_store->ops->name, "tpm"))
                return 0;

        r = ca_held_key_check(m->ca, m->ca_store, serial, &cert, &id);
        if (r < 0)
                return sign_error(serial, r, error) ?: ca_bus_error(m, r, error, "sign");
        r = ca_keystore_tpm_key_path(m->ca_store, id, &path);
        if (r < 0)
                return ca_bus_error(m, r, error, "sign");

        r = tpm_call_new(m, message, "sign with the key in the TPM", &c);
        if (r < 0)
                return r;
        j = calloc(1, sizeof(SignJob));
        if (!j)
                return -ENOMEM;
        c->payload = j;
        c->payload_free = sign_job_free;
        *j = (SignJob){
                .libctx = libctx,
                .serial = strdup(serial),
                .key_path = TAKE_PTR(path),
                .cert = TAKE_PTR(cert),
                .intermediate = X509_dup(ca_get_intermediate(m->ca)),
                .data = data,
                .size = size,
        };
        if (!j->serial || !j->intermediate)
                return -ENOMEM;
        c->run = sign_job_run;
        c->append = sign_job_append;
        c->error = sign_job_error;
        log_debug("Signing with the key of certificate %s on the TPM worker.", serial);
        return tpm_call_submit(TAKE_PTR(c));
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

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        r = sign_on_worker(m, message, serial, data, size, error);
        if (r != 0)
                return r;

        r = ca_held_sign(m->ca, m->ca_store, serial, data, size, &sig, &sig_size);
        if (r < 0)
                return sign_error(serial, r, error) ?: ca_bus_error(m, r, error, "sign");

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

        r = ca_get_or_wait(m, message, error);
        if (r != 0)
                return r;

        r = ca_held_verify(m->ca, sig, sig_size, data, size, &subject, &serial, &reason);
        if (IN_SET(r, -EBADMSG, -E2BIG))
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "The signature is not a detached CMS SignedData (DER) with one signer.");
        if (r < 0)
                return ca_bus_error(m, r, error, "verify the signature");

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

        /* Trust store and system trust. */
        SD_BUS_METHOD_WITH_ARGS("ImportTrustAnchor", SD_BUS_ARGS("ay", certificates, "a{sv}", options),
                                SD_BUS_RESULT("a(sssstt)", imported, "u", new), method_import_trust_anchor,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTrustAnchors", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(sssstt)", certificates), method_list_trust_anchors,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveTrustAnchor", SD_BUS_ARGS("s", fingerprint, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_remove_trust_anchor, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VerifyCertificate", SD_BUS_ARGS("ay", chain, "a{sv}", options),
                                SD_BUS_RESULT("b", valid, "s", reason, "as", subjects),
                                method_verify_certificate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallToSystemTrust", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", store, "b", changed), method_install_to_system_trust,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UninstallFromSystemTrust", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", store, "b", changed), method_uninstall_from_system_trust,
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
