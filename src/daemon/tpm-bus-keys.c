/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for the key and lockout methods of org.trustedplatform.TrustedPlatform1.TPM: the endorsement
 * key and its certificate, attestation keys, and the dictionary-attack lockout. Reading is open to
 * everyone (public keys, certificates and counters are not secrets); persisting the EK and creating AKs
 * need org.trustedplatform.tpm.manage-keys, resetting the lockout org.trustedplatform.tpm.manage-lockout.
 * Arguments and results travel in a KeysCall in the TpmCall's payload slot. */

#include <ctype.h>
#include <inttypes.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-call.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define ACTION_MANAGE_KEYS "org.trustedplatform.tpm.manage-keys"
#define ACTION_MANAGE_LOCKOUT "org.trustedplatform.tpm.manage-lockout"

typedef struct KeysCall {
        /* Arguments */
        uint16_t alg;
        bool persist, replace;
        char *name;
        char *state_dir;
        char *ca_dir;

        /* Results */
        bool cert_supplied; /* cert is the caller's (option Certificate), not read from NV */
        int cert_status;    /* 0, or why there is no certificate: -ENOENT, -ENODATA, -EBADMSG */
        X509 *cert;
        TPM2B_PUBLIC public;
        TPM2B_NAME tpm_name;
        bool persistent;
        int match; /* tpm2_ek_matches_certificate() */
        int chain; /* tpm2_ek_verify_chain() */
        char **names;
        Tpm2Info *info;
} KeysCall;

static void keys_call_free(void *p) {
        KeysCall *k = p;

        if (!k)
                return;
        free(k->name);
        free(k->state_dir);
        free(k->ca_dir);
        X509_free(k->cert);
        strv_free(k->names);
        tpm2_info_free(k->info);
        free(k);
}

static KeysCall *keys(TpmCall *c) {
        return c->payload;
}

static int keys_call_new(Manager *m, sd_bus_message *message, const char *what, TpmCall **ret) {
        TpmCall *c;
        int r;

        r = tpm_call_new(m, message, what, &c);
        if (r < 0)
                return r;

        c->payload = calloc(1, sizeof(KeysCall));
        if (!c->payload) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        c->payload_free = keys_call_free;

        keys(c)->state_dir = strdup(m->state_dir);
        if (!keys(c)->state_dir) {
                tpm_call_free(c);
                return -ENOMEM;
        }

        *ret = c;
        return 0;
}

static const char *key_alg_to_string(uint16_t alg) {
        return alg == TPM2_ALG_RSA ? "rsa" : alg == TPM2_ALG_ECC ? "ecc" : "unknown";
}

static int key_alg_from_string(const char *s, uint16_t *ret) {
        if (streq(s, "rsa"))
                *ret = TPM2_ALG_RSA;
        else if (streq(s, "ecc"))
                *ret = TPM2_ALG_ECC;
        else
                return -EINVAL;
        return 0;
}

/* ---- Options ----------------------------------------------------------------------------------------- */

/* Reads an a{sv} of boolean options and at most one "Algorithm" string. Every key is checked against the
 * names the method knows; unknown keys, wrong types and repeated keys are InvalidArgs, so that a typo
 * never silently does the default. alg may be NULL when the method has no "Algorithm". */
static int read_key_options(sd_bus_message *message, const char *const *bool_keys, bool *bool_values,
                            uint16_t *alg, X509 **cert, sd_bus_error *error) {
        unsigned seen = 0; /* bit i: bool_keys[i]; the top bits: Algorithm, Certificate */
        const unsigned alg_bit = 1U << 31, cert_bit = 1U << 30;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key, *contents;
                size_t i;
                char t;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(message, &t, &contents);
                if (r < 0)
                        return r;

                for (i = 0; bool_keys && bool_keys[i]; i++)
                        if (streq(key, bool_keys[i]))
                                break;

                if (bool_keys && bool_keys[i]) {
                        int b;

                        if (!streq_ptr(contents, "b"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' must be of type 'b', not '%s'.", key,
                                                         strna(contents));
                        if (seen & (1U << i))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' given twice.", key);
                        seen |= 1U << i;
                        r = sd_bus_message_read(message, "v", "b", &b);
                        if (r < 0)
                                return r;
                        bool_values[i] = b;
                } else if (alg && streq(key, "Algorithm")) {
                        const char *s;

                        if (!streq_ptr(contents, "s"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Algorithm' must be of type 's', not '%s'.",
                                                         strna(contents));
                        if (seen & alg_bit)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Algorithm' given twice.");
                        seen |= alg_bit;
                        r = sd_bus_message_read(message, "v", "s", &s);
                        if (r < 0)
                                return r;
                        if (key_alg_from_string(s, alg) < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Unknown key algorithm '%s'; expected ecc or rsa.",
                                                         s);
                } else if (cert && streq(key, "Certificate")) {
                        const void *p;
                        size_t n;

                        if (!streq_ptr(contents, "ay"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Certificate' must be of type 'ay', not '%s'.",
                                                         strna(contents));
                        if (seen & cert_bit)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Certificate' given twice.");
                        seen |= cert_bit;
                        r = sd_bus_message_enter_container(message, 'v', "ay");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(message, 'y', &p, &n);
                        if (r < 0)
                                return r;
                        if (tpm2_ek_certificate_from_data(p, n, cert) < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Certificate' holds no X.509 certificate "
                                                         "(PEM or DER, %zu bytes).",
                                                         n);
                        r = sd_bus_message_exit_container(message);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);

                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

/* ---- Results ----------------------------------------------------------------------------------------- */

static int append_bytes_entry(sd_bus_message *reply, const char *key, const void *p, size_t n) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'v', "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', p, n);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The key as SubjectPublicKeyInfo DER, what every X.509 tool understands. */
static int append_spki_entry(sd_bus_message *reply, const TPM2B_PUBLIC *pub) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        int r, n;

        r = tpm2_public_to_evp_pkey(pub, &key);
        if (r < 0)
                return r;
        n = i2d_PUBKEY(key, &der);
        if (n <= 0)
                return openssl_errno();
        return append_bytes_entry(reply, "PublicKey", der, (size_t) n);
}

/* The TPM2B_PUBLIC in the TPM's wire format, for verifiers that compute names or make credentials. */
static int append_tpm_public_entry(sd_bus_message *reply, const TPM2B_PUBLIC *pub) {
        uint8_t buf[sizeof(TPM2B_PUBLIC)];
        size_t offset = 0;

        if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &offset) != TSS2_RC_SUCCESS)
                return -EIO;
        return append_bytes_entry(reply, "Public", buf, offset);
}

/* PublicKey and Public: the key for X.509 tools and for TPM-aware verifiers. */
static int append_key_entries(sd_bus_message *reply, const TPM2B_PUBLIC *pub) {
        int r;

        r = append_spki_entry(reply, pub);
        if (r < 0)
                return r;
        return append_tpm_public_entry(reply, pub);
}

static int append_string_entry(sd_bus_message *reply, const char *key, const char *value) {
        return sd_bus_message_append(reply, "{sv}", key, "s", strempty(value));
}

/* ---- GetEndorsementKey ------------------------------------------------------------------------------ */

static TPM2_HANDLE ek_handle(uint16_t alg) {
        return alg == TPM2_ALG_RSA ? TPM2_EK_RSA_HANDLE : TPM2_EK_ECC_HANDLE;
}

static int get_ek_run(Tpm2Context *tpm, TpmCall *c) {
        _cleanup_free_ TPM2B_PUBLIC *pub = NULL;
        KeysCall *k = keys(c);
        ESYS_TR ek = ESYS_TR_NONE;
        TPM2_HANDLE h = 0;
        int r;

        r = tpm2_ek_create(tpm, k->alg, &ek, &pub);
        if (r < 0)
                return r;

        if (k->persist) {
                ESYS_TR persistent = ESYS_TR_NONE;

                r = tpm2_ek_persist(tpm, ek, &persistent);
                if (r < 0) {
                        tpm2_flush(tpm, &ek);
                        return r;
                }
                tpm2_flush(tpm, &persistent);
                k->persistent = true;
                log_info("Endorsement key (%s) is persistent at 0x%08" PRIx32 ".", key_alg_to_string(k->alg),
                         ek_handle(k->alg));
        } else if (Esys_TR_GetTpmHandle(tpm2_context_esys(tpm), ek, &h) == TSS2_RC_SUCCESS)
                /* tpm2_ek_create() hands out the persistent EK only when it is the template's key. */
                k->persistent = h == ek_handle(k->alg);
        tpm2_flush(tpm, &ek);

        k->public = *pub;

        /* A certificate the administrator supplies (a TPM without one in NV) is checked the same way. */
        k->cert_status = k->cert_supplied ? 0 : tpm2_ek_read_certificate(tpm, k->alg, &k->cert);
        /* What the certificate's index holds (or its absence) is reported; a TPM that went away or
         * failed is the call's failure, so that the worker reopens the connection. */
        if (k->cert_status < 0 && !IN_SET(k->cert_status, -ENOENT, -ENODATA, -EBADMSG, -EACCES, -EPERM))
                return k->cert_status;
        if (k->cert_status < 0) {
                log_debug_errno(k->cert_status, "No usable %s EK certificate in NV: %m",
                                key_alg_to_string(k->alg));
                return 0;
        }

        k->match = tpm2_ek_matches_certificate(&k->public, k->cert);
        /* Reads the manufacturer certificates from disk; no network, never the certificate's AIA URL. */
        k->chain = tpm2_ek_verify_chain(k->cert, k->ca_dir);
        return 0;
}

static int x509_name_to_string(const X509_NAME *name, char **ret) {
        _cleanup_(BIO_free_allp) BIO *b = NULL;
        char *p = NULL, *s;
        long n;

        b = BIO_new(BIO_s_mem());
        if (!b)
                return -ENOMEM;
        if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
                return openssl_errno();
        /* The BIO's memory is not NUL-terminated: copy exactly its length. */
        n = BIO_get_mem_data(b, &p);
        if (n < 0)
                n = 0;
        s = malloc((size_t) n + 1);
        if (!s)
                return -ENOMEM;
        if (n > 0)
                memcpy(s, p, (size_t) n);
        s[n] = 0;
        *ret = s;
        return 0;
}

static int asn1_time_to_string(const ASN1_TIME *t, char **ret) {
        struct tm tm = {};
        char buf[64];

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return -EBADMSG;
        if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

static int serial_to_string(const ASN1_INTEGER *serial, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        char *hex, *s;

        bn = ASN1_INTEGER_to_BN(serial, NULL);
        if (!bn)
                return openssl_errno();
        hex = BN_bn2hex(bn);
        if (!hex)
                return -ENOMEM;
        s = strdup(hex);
        OPENSSL_free(hex);
        if (!s)
                return -ENOMEM;
        for (char *q = s; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        *ret = s;
        return 0;
}

static const char *certificate_status_to_string(int r) {
        switch (r) {
        case 0:
                return "present";
        case -ENOENT:
                return "missing"; /* the NV index is not defined */
        case -ENODATA:
                return "empty"; /* defined, never written */
        case -EBADMSG:
                return "malformed";
        default:
                return "unreadable";
        }
}

static const char *chain_status_to_string(int r) {
        switch (r) {
        case 0:
                return "verified";
        case -ENOKEY:
        case -ENOENT:
                return "no-roots"; /* the directory is missing or holds no manufacturer certificate */
        case -EKEYREJECTED:
                return "failed";
        default:
                return "error";
        }
}

static int append_certificate_entries(sd_bus_message *reply, KeysCall *k) {
        _cleanup_free_ char *subject = NULL, *issuer = NULL, *serial = NULL, *not_before = NULL,
                            *not_after = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        int r, n;

        n = i2d_X509(k->cert, &der);
        if (n <= 0)
                return openssl_errno();
        r = append_bytes_entry(reply, "Certificate", der, (size_t) n);
        if (r < 0)
                return r;

        r = x509_name_to_string(X509_get_subject_name(k->cert), &subject);
        if (r < 0)
                return r;
        r = x509_name_to_string(X509_get_issuer_name(k->cert), &issuer);
        if (r < 0)
                return r;
        r = serial_to_string(X509_get0_serialNumber(k->cert), &serial);
        if (r < 0)
                return r;
        /* A malformed validity is shown as empty rather than failing the whole call. */
        (void) asn1_time_to_string(X509_get0_notBefore(k->cert), &not_before);
        (void) asn1_time_to_string(X509_get0_notAfter(k->cert), &not_after);

        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "Subject", "s", subject,
                                  "Issuer", "s", issuer, "Serial", "s", serial, "NotBefore", "s",
                                  strempty(not_before), "NotAfter", "s", strempty(not_after), "KeyMatches",
                                  "b", k->match == 0, "ChainVerified", "b", k->chain == 0, "ChainStatus",
                                  "s", chain_status_to_string(k->chain));
        return r;
}

static int get_ek_append(TpmCall *c, sd_bus_message *reply) {
        KeysCall *k = keys(c);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "Algorithm", "s", key_alg_to_string(k->alg),
                                  "Persistent", "b", k->persistent, "Handle", "u",
                                  k->persistent ? ek_handle(k->alg) : 0, "CertificateStatus", "s",
                                  certificate_status_to_string(k->cert_status));
        if (r < 0)
                return r;
        r = append_string_entry(reply, "CertificateSource", k->cert_supplied ? "supplied" : "nv");
        if (r < 0)
                return r;
        r = append_string_entry(reply, "CertificateDirectory", k->ca_dir);
        if (r < 0)
                return r;
        r = append_key_entries(reply, &k->public);
        if (r < 0)
                return r;

        if (k->cert) {
                r = append_certificate_entries(reply, k);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(reply);
}

static int get_ek_error(TpmCall *c, int r, sd_bus_error *error) {
        KeysCall *k = keys(c);

        switch (r) {
        case -EEXIST:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                  "Handle 0x%08" PRIx32 " holds another object; not overwriting it.",
                                  ek_handle(k->alg));
                return 1;
        case -EACCES:
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "The TPM refused the %s: the %s hierarchy has an authorization value set.",
                                  k->persist ? "persisting of the EK" : "creation of the EK",
                                  k->persist ? "owner or endorsement" : "endorsement");
                return 1;
        default:
                return 0;
        }
}

static int method_get_endorsement_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const bool_keys[] = { "Persist", NULL };
        _cleanup_(X509_freep) X509 *cert = NULL;
        Manager *m = userdata;
        bool values[1] = {};
        const char *alg_name;
        uint16_t alg;
        TpmCall *c;
        int r;

        r = sd_bus_message_read(message, "s", &alg_name);
        if (r < 0)
                return r;
        if (key_alg_from_string(alg_name, &alg) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown endorsement key algorithm '%s'; expected rsa or ecc.",
                                         alg_name);
        r = read_key_options(message, bool_keys, values, NULL, &cert, error);
        if (r < 0)
                return r;

        /* Reading the EK and its certificate is open; making it persistent changes the TPM. */
        if (values[0]) {
                r = bus_verify_polkit_async(message, ACTION_MANAGE_KEYS, NULL, &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        r = keys_call_new(m, message, "read the endorsement key", &c);
        if (r < 0)
                return r;

        keys(c)->alg = alg;
        keys(c)->persist = values[0];
        keys(c)->cert = TAKE_PTR(cert);
        keys(c)->cert_supplied = keys(c)->cert;
        keys(c)->ca_dir = strdup(m->ek_ca_dir);
        if (!keys(c)->ca_dir) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        c->run = get_ek_run;
        c->append = get_ek_append;
        c->error = get_ek_error;
        return tpm_call_submit(c);
}

/* ---- CreateAttestationKey, GetAttestationKey, ListAttestationKeys ---------------------------------- */

static int ak_blob_path(const KeysCall *k, const char *suffix, char **ret) {
        if (asprintf(ret, "%s/ak-%s.blob%s", k->state_dir, k->name, suffix) < 0)
                return -ENOMEM;
        return 0;
}

static int create_ak_run(Tpm2Context *tpm, TpmCall *c) {
        _cleanup_free_ char *path = NULL, *old = NULL;
        KeysCall *k = keys(c);
        bool moved = false;
        int r;

        if (k->replace) {
                /* The old key stays until the new one exists: a failure leaves the caller with a key. */
                r = ak_blob_path(k, "", &path);
                if (r < 0)
                        return r;
                r = ak_blob_path(k, ".old", &old);
                if (r < 0)
                        return r;
                if (rename(path, old) >= 0)
                        moved = true;
                else if (errno != ENOENT)
                        return log_debug_errno(errno, "Failed to move '%s' aside: %m", path);
        }

        r = tpm2_ak_create(tpm, k->state_dir, k->name, TPM2_ALG_ECC, k->alg, &k->public, &k->tpm_name);
        if (r < 0) {
                if (moved && rename(old, path) < 0)
                        log_warning_errno(errno, "Failed to restore '%s': %m", path);
                return r;
        }
        if (moved)
                (void) unlink(old);

        log_info("Attestation key '%s' (%s) %s in %s.", k->name, key_alg_to_string(k->alg),
                 moved ? "replaced" : "created", k->state_dir);
        return 0;
}

static int ak_append(TpmCall *c, sd_bus_message *reply) {
        KeysCall *k = keys(c);
        _cleanup_free_ char *name_hex = NULL;
        int r;

        r = hexmem(k->tpm_name.name, k->tpm_name.size, &name_hex);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}", "Algorithm", "s",
                                  key_alg_to_string(k->public.publicArea.type), "Name", "s", name_hex);
        if (r < 0)
                return r;
        r = append_key_entries(reply, &k->public);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int ak_error(TpmCall *c, int r, sd_bus_error *error) {
        KeysCall *k = keys(c);

        switch (r) {
        case -EEXIST:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                  "The attestation key '%s' exists already; pass the option Replace to make a "
                                  "new one.",
                                  k->name);
                return 1;
        case -ENOENT:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND,
                                  "The attestation key '%s' does not exist in '%s'.", k->name, k->state_dir);
                return 1;
        case -EBADMSG:
                sd_bus_error_setf(error, BUS_ERROR_TPM_FAILURE,
                                  "The attestation key '%s' is damaged or was made by another TPM.", k->name);
                return 1;
        default:
                return 0;
        }
}

static int read_ak_name(sd_bus_message *message, const char **ret, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!tpm2_ak_name_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid attestation key name '%s': 1 to 64 characters of A-Z, a-z, "
                                         "0-9, '_' and '-'.",
                                         name);
        *ret = name;
        return 0;
}

static int method_create_attestation_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const bool_keys[] = { "Replace", NULL };
        Manager *m = userdata;
        bool values[1] = {};
        uint16_t alg = TPM2_ALG_ECC;
        const char *name;
        TpmCall *c;
        int r;

        r = read_ak_name(message, &name, error);
        if (r < 0)
                return r;
        r = read_key_options(message, bool_keys, values, &alg, NULL, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_MANAGE_KEYS, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = keys_call_new(m, message, "create the attestation key", &c);
        if (r < 0)
                return r;

        keys(c)->alg = alg;
        keys(c)->replace = values[0];
        keys(c)->name = strdup(name);
        if (!keys(c)->name) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        c->run = create_ak_run;
        c->append = ak_append;
        c->error = ak_error;
        return tpm_call_submit(c);
}

static int get_ak_run(Tpm2Context *tpm, TpmCall *c) {
        KeysCall *k = keys(c);
        ESYS_TR ak = ESYS_TR_NONE;
        int r;

        /* Loading proves the blob belongs to this TPM and gives the name the TPM computes. */
        r = tpm2_ak_load(tpm, k->state_dir, k->name, &ak, &k->public, &k->tpm_name);
        if (r < 0)
                return r;
        tpm2_flush(tpm, &ak);
        return 0;
}

static int method_get_attestation_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        TpmCall *c;
        int r;

        r = read_ak_name(message, &name, error);
        if (r < 0)
                return r;

        r = keys_call_new(m, message, "read the attestation key", &c);
        if (r < 0)
                return r;

        keys(c)->name = strdup(name);
        if (!keys(c)->name) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        c->run = get_ak_run;
        c->append = ak_append;
        c->error = ak_error;
        return tpm_call_submit(c);
}

static int method_list_attestation_keys(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        Manager *m = userdata;
        int r;

        /* Only the state directory is read: no TPM round trip, no worker. */
        r = tpm2_ak_list(m->state_dir, &names);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to list the attestation keys in '%s': %s",
                                            m->state_dir, strerror(-r));

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, names);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- GetLockoutState, ResetLockout ------------------------------------------------------------------ */

static int get_lockout_run(Tpm2Context *tpm, TpmCall *c) {
        return tpm2_get_info(tpm, &keys(c)->info);
}

static int get_lockout_append(TpmCall *c, sd_bus_message *reply) {
        const Tpm2Info *i = keys(c)->info;

        return sd_bus_message_append(reply, "a{sv}", 5, "Counter", "u", i->lockout_counter, "MaxTries", "u",
                                     i->max_auth_fail, "RecoveryTime", "u", i->lockout_interval,
                                     "LockoutRecovery", "u", i->lockout_recovery, "InLockout", "b",
                                     i->in_lockout);
}

static int method_get_lockout_state(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        TpmCall *c;
        int r;

        r = keys_call_new(m, message, "read the dictionary-attack lockout state", &c);
        if (r < 0)
                return r;

        c->run = get_lockout_run;
        c->append = get_lockout_append;
        return tpm_call_submit(c);
}

static int reset_lockout_run(Tpm2Context *tpm, TpmCall *c) {
        int r;

        r = tpm2_da_lock_reset(tpm);
        if (r < 0)
                return r;
        log_info("Dictionary-attack lockout of the TPM reset.");
        return 0;
}

static int reset_lockout_append(TpmCall *c, sd_bus_message *reply) {
        return 0;
}

static int reset_lockout_error(TpmCall *c, int r, sd_bus_error *error) {
        switch (r) {
        case -EACCES:
                sd_bus_error_set(
                        error, SD_BUS_ERROR_ACCESS_DENIED,
                        "The TPM's lockout hierarchy has an authorization value set, which this service "
                        "does not hold; reset the lockout with that value (e.g. tpm2_dictionarylockout "
                        "--clear-lockout -p ...).");
                return 1;
        case -ENOLCK:
                sd_bus_error_set(error, BUS_ERROR_TPM_LOCKOUT,
                                 "The TPM's lockout hierarchy is itself locked after a failed authorization; "
                                 "try again after the lockout recovery time.");
                return 1;
        case -EPERM:
                sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "The TPM refused to reset the lockout: the lockout hierarchy is disabled.");
                return 1;
        default:
                return 0;
        }
}

static int method_reset_lockout(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        TpmCall *c;
        int r;

        r = read_key_options(message, NULL, NULL, NULL, NULL, error); /* no options defined: any key is refused */
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_MANAGE_LOCKOUT, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = keys_call_new(m, message, "reset the dictionary-attack lockout", &c);
        if (r < 0)
                return r;

        c->run = reset_lockout_run;
        c->append = reset_lockout_append;
        c->error = reset_lockout_error;
        return tpm_call_submit(c);
}

const sd_bus_vtable tpm_keys_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetEndorsementKey", SD_BUS_ARGS("s", algorithm, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", endorsement_key), method_get_endorsement_key,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateAttestationKey", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", attestation_key), method_create_attestation_key,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetAttestationKey", SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("a{sv}", attestation_key), method_get_attestation_key,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListAttestationKeys", SD_BUS_NO_ARGS, SD_BUS_RESULT("as", names),
                                method_list_attestation_keys, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetLockoutState", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", state),
                                method_get_lockout_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetLockout", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT,
                                method_reset_lockout, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
