/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The CA's keys in the daemon.
 *
 * Key stores ([CA] KeyStore=):
 * - tpm (the default): keys made by the tpm2-openssl provider, TSS2 PRIVATE KEY files in
 *   <ca_dir>/tpm-keys. The provider opens a TPM connection of its own, beside the daemon's worker, so
 *   it needs a TPM that serves several clients: [CA] TCTI=, else the daemon's own TCTI when that is a
 *   resource manager (tabrmd, /dev/tpmrm<N>). A TCTI that serves one client (swtpm:, mssim:,
 *   /dev/tpm<N>) cannot be shared: the daemon then logs how to fix it at start and every CA method
 *   answers Error.CAKeyStoreUnavailable; everything else runs. Signing with the CA's TPM keys is a
 *   TPM2_Sign through the provider in the event loop (milliseconds through a resource manager); Sign()
 *   with a key kept for an issued certificate, and the key creation of GenerateCertificate(), run on the
 *   TPM worker with a provider instance of its own (ca-bus.c).
 * - file: encrypted PKCS#8 in <ca_dir>/keys. Its passphrase (32 random bytes, as hex) is sealed to the
 *   SRK (no PCR binding: the CA must survive firmware updates; the TPM and its SRK are the binding) in
 *   <state_dir>/ca-passphrase.sealed, so nothing on disk opens the keys without this TPM. Without a TPM
 *   the administrator gives the passphrase in [CA] PassphraseFile= (root's, 0600), which always wins.
 *   A passphrase left in the clear by an older version (<state_dir>/ca-passphrase, hex) is sealed at
 *   the next open and the clear file removed once the sealed one is durable; without a TPM it is used
 *   as it is, with a warning.
 *
 * Sealing and unsealing run on the TPM worker, so opening a file-store CA from a method is asynchronous:
 * the calls that wait for it are dispatched again when the open finished (sd_bus_enqueue_for_read(),
 * as bus-polkit.c does) and find its result. At start, before the worker exists, the daemon's own TPM
 * connection is used directly.
 *
 * Serials: the Ca draws them from a pool of TPM random bytes (refilled through the worker when it falls
 * below half), XORed with RAND_bytes() output, so a serial is never weaker than either source. When the
 * pool is empty (no TPM, or many issuances faster than the refill), the bytes the pool cannot cover are
 * OpenSSL's alone; that is counted and logged at debug level, never an error. */

#include <fcntl.h>
#include <openssl/rand.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "ca/ca.h"
#include "ca/ca-name.h"
#include "daemon/ca-keys.h"
#include "daemon/ca-service.h"
#include "daemon/tpm-worker.h"
#include "shared/bus-error.h"
#include "shared/config.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-srk.h"

#define CA_PASSPHRASE_BYTES 32U
#define CA_SEALED_PASSPHRASE_MAX (16U * 1024U)
#define CA_TCTI_MAX 256U
#define CA_PATHLEN_MAX 16
#define CA_ROOT_VALIDITY_DAYS_DEFAULT 3650U
#define CA_INTERMEDIATE_VALIDITY_DAYS_DEFAULT 1825U
#define CA_RANDOM_POOL_SIZE 512U
#define CA_RANDOM_RETRY_USEC (60U * 1000000U)

static const char *const ca_key_store_kind_table[_CA_KEY_STORE_KIND_MAX] = {
        [CA_KEY_STORE_TPM] = "tpm",
        [CA_KEY_STORE_FILE] = "file",
        [CA_KEY_STORE_PKCS11] = "pkcs11",
};

const char *ca_key_store_kind_to_string(CaKeyStoreKind k) {
        if (k < 0 || k >= _CA_KEY_STORE_KIND_MAX)
                return NULL;
        return ca_key_store_kind_table[k];
}

CaKeyStoreKind ca_key_store_kind_from_string(const char *s) {
        if (!s)
                return _CA_KEY_STORE_KIND_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(ca_key_store_kind_table); i++)
                if (streq(s, ca_key_store_kind_table[i]))
                        return (CaKeyStoreKind) i;
        return _CA_KEY_STORE_KIND_INVALID;
}

bool ca_key_store_supports(CaKeyStoreKind k, int key_type) {
        switch (k) {
        case CA_KEY_STORE_TPM:
                return IN_SET(key_type, CA_KEY_ECDSA_P256, CA_KEY_ECDSA_P384, CA_KEY_RSA_2048,
                              CA_KEY_RSA_3072);
        case CA_KEY_STORE_FILE:
                return key_type >= 0 && key_type < _CA_KEY_TYPE_MAX;
        case CA_KEY_STORE_PKCS11: /* what ca_keystore_pkcs11_new() generates, if the token can */
                return IN_SET(key_type, CA_KEY_ECDSA_P256, CA_KEY_ECDSA_P384, CA_KEY_RSA_2048,
                              CA_KEY_RSA_3072, CA_KEY_RSA_4096);
        default:
                return false;
        }
}

int ca_tcti_shared(const char *daemon_tcti, char **ret) {
        const char *p;
        char *s;

        assert(ret);

        if (isempty(daemon_tcti))
                return -EOPNOTSUPP;

        /* tpm2-abrmd multiplexes its clients; so does the kernel's resource manager. */
        p = startswith(daemon_tcti, "tabrmd");
        if (!(p && IN_SET(*p, '\0', ':'))) {
                p = startswith(daemon_tcti, "device:/dev/tpmrm");
                if (!p || isempty(p) || strspn(p, "0123456789") != strlen(p))
                        return -EOPNOTSUPP;
        }

        s = strdup(daemon_tcti);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool string_is_clean(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* "a.example b.example": DNS names for the intermediate's name constraints. */
static int parse_dns_list(const char *key, const char *value, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *state = NULL, *word;
        size_t n = 0;
        int r;

        copy = strdup(value);
        if (!copy)
                return log_oom();
        for (word = strtok_r(copy, " \t", &state); word; word = strtok_r(NULL, " \t", &state)) {
                if (++n > CA_NAME_CONSTRAINTS_MAX)
                        return log_error_errno(-E2BIG, "[CA] %s= has more than %u names; refusing to start.",
                                               key, CA_NAME_CONSTRAINTS_MAX);
                if (!ca_dns_name_is_valid(word, /* allow_wildcard= */ false))
                        return log_error_errno(-EINVAL,
                                               "[CA] %s=: '%.64s' is not a DNS name (LDH labels, no wildcard); "
                                               "refusing to start.",
                                               key, word);
                for (char **i = l; i && *i; i++)
                        if (strcasecmp(*i, word) == 0)
                                return log_error_errno(-EINVAL,
                                                       "[CA] %s=: '%s' is given twice; refusing to start.",
                                                       key, word);
                r = strv_extend(&l, word);
                if (r < 0)
                        return log_oom();
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static int get_number(Config *config, const char *key, uint32_t def, uint32_t min, uint32_t max,
                      uint32_t *ret) {
        uint32_t v;
        int r;

        r = config_get_uint32(config, "CA", key, def, &v);
        if (r >= 0 && (v < min || v > max))
                r = -ERANGE;
        if (r < 0)
                return log_error_errno(
                        r, "[CA] %s= must be a number from %" PRIu32 " to %" PRIu32 "; refusing to start: %m",
                        key, min, max);
        *ret = v;
        return r; /* 1: from the file */
}

static const char *store_dir_name(CaKeyStoreKind k) {
        return k == CA_KEY_STORE_TPM ? "tpm-keys" : "keys";
}

/* Whether the store of kind k holds the CA's root key (a CA was made with it). */
static bool store_has_root_key(Manager *m, CaKeyStoreKind k) {
        _cleanup_free_ char *p = NULL;

        if (k == CA_KEY_STORE_PKCS11)
                return false; /* on the token: not known without opening it (and logging in) */
        if (asprintf(&p, "%s/%s/root.pem", m->ca_dir, store_dir_name(k)) < 0)
                return false;
        return access(p, F_OK) >= 0;
}

int manager_load_ca_config(Manager *m, Config *config) {
        _cleanup_free_ char *store = NULL, *dns = NULL;
        uint32_t root_days, intermediate_days, pathlen;
        bool explicit_store;
        CaConfig c;
        CaKeyType type;
        int r;

        assert(m);

        r = config_get_string(config, "CA", "RootSubject", "/CN=Trusted Platform Root CA",
                              &m->ca_root_subject);
        if (r >= 0)
                r = config_get_string(config, "CA", "IntermediateSubject", "/CN=Trusted Platform Issuing CA",
                                      &m->ca_intermediate_subject);
        if (r >= 0)
                r = config_get_string(config, "CA", "KeyType", "ecdsa-p256", &m->ca_key_type);
        if (r >= 0)
                r = config_get_string(config, "CA", "TCTI", NULL, &m->ca_store_tcti);
        if (r >= 0)
                r = config_get_string(config, "CA", "PassphraseFile", NULL, &m->ca_passphrase_file);
        if (r >= 0)
                r = config_get_string(config, "CA", "PKCS11Module", NULL, &m->ca_pkcs11_module);
        if (r >= 0)
                r = config_get_string(config, "CA", "PKCS11Token", NULL, &m->ca_pkcs11_token);
        if (r >= 0)
                r = config_get_string(config, "CA", "PKCS11PINFile", NULL, &m->ca_pkcs11_pin_file);
        if (r >= 0) /* last: r > 0 tells whether it was set */
                r = config_get_string(config, "CA", "KeyStore", "tpm", &store);
        if (r < 0)
                return log_error_errno(r, "Failed to read [CA]: %m");

        explicit_store = r > 0;
        m->ca_key_store = ca_key_store_kind_from_string(store);
        if (m->ca_key_store < 0)
                return log_error_errno(-EINVAL,
                                       "[CA] KeyStore=%s is not one of tpm, file, pkcs11; refusing to start.",
                                       store);
        if (!explicit_store) {
                /* Unset: the TPM for a new CA, and an existing CA keeps the store its keys are in (a CA
                 * made by a version whose only store was the file store goes on working). */
                for (CaKeyStoreKind k = 0; k < _CA_KEY_STORE_KIND_MAX; k++)
                        if (store_has_root_key(m, k)) {
                                m->ca_key_store = k;
                                break;
                        }
        }

        type = ca_key_type_from_string(m->ca_key_type);
        if (type < 0)
                return log_error_errno(-EINVAL,
                                       "[CA] KeyType=%s is not a key type (ecdsa-p256, ecdsa-p384, rsa-2048, "
                                       "rsa-3072, rsa-4096, ed25519); refusing to start.",
                                       m->ca_key_type);
        if (!ca_key_store_supports(m->ca_key_store, type))
                return log_error_errno(-EINVAL,
                                       "[CA] KeyType=%s cannot be held by KeyStore=%s (a TPM holds ecdsa-p256, "
                                       "ecdsa-p384, rsa-2048 and rsa-3072 keys); refusing to start.",
                                       m->ca_key_type, store);

        if (m->ca_store_tcti && (strlen(m->ca_store_tcti) > CA_TCTI_MAX || !string_is_clean(m->ca_store_tcti)))
                return log_error_errno(-EINVAL,
                                       "[CA] TCTI= is longer than %u bytes or has control characters; "
                                       "refusing to start.",
                                       CA_TCTI_MAX);
        if (m->ca_key_store == CA_KEY_STORE_PKCS11) {
                if (isempty(m->ca_pkcs11_token) || strlen(m->ca_pkcs11_token) > 32 ||
                    !string_is_clean(m->ca_pkcs11_token))
                        return log_error_errno(-EINVAL,
                                               "[CA] KeyStore=pkcs11 needs PKCS11Token= (the token's label, at "
                                               "most 32 bytes); refusing to start.");
                if (m->ca_pkcs11_module &&
                    (m->ca_pkcs11_module[0] != '/' || !string_is_clean(m->ca_pkcs11_module)))
                        return log_error_errno(-EINVAL,
                                               "[CA] PKCS11Module=%s is not an absolute path; refusing to "
                                               "start.",
                                               m->ca_pkcs11_module);
                if (m->ca_pkcs11_pin_file &&
                    (m->ca_pkcs11_pin_file[0] != '/' || !string_is_clean(m->ca_pkcs11_pin_file)))
                        return log_error_errno(-EINVAL,
                                               "[CA] PKCS11PINFile=%s is not an absolute path; refusing to "
                                               "start.",
                                               m->ca_pkcs11_pin_file);
        }
        if (m->ca_passphrase_file &&
            (m->ca_passphrase_file[0] != '/' || !string_is_clean(m->ca_passphrase_file)))
                return log_error_errno(-EINVAL,
                                       "[CA] PassphraseFile=%s is not an absolute path; refusing to start.",
                                       m->ca_passphrase_file);

        r = get_number(config, "RootValidityDays", CA_ROOT_VALIDITY_DAYS_DEFAULT, 1, CA_VALIDITY_DAYS_MAX,
                       &root_days);
        if (r < 0)
                return r;
        r = get_number(config, "IntermediateValidityDays",
                       MIN(CA_INTERMEDIATE_VALIDITY_DAYS_DEFAULT, root_days), 1, CA_VALIDITY_DAYS_MAX,
                       &intermediate_days);
        if (r < 0)
                return r;
        if (intermediate_days > root_days)
                return log_error_errno(-EINVAL,
                                       "[CA] IntermediateValidityDays=%" PRIu32 " is longer than "
                                       "RootValidityDays=%" PRIu32 "; refusing to start.",
                                       intermediate_days, root_days);
        r = get_number(config, "PathLength", 0, 0, CA_PATHLEN_MAX, &pathlen);
        if (r < 0)
                return r;
        m->ca_root_validity_days = root_days;
        m->ca_intermediate_validity_days = intermediate_days;
        m->ca_pathlen = (int) pathlen;

        r = config_get_string(config, "CA", "PermittedDNS", NULL, &dns);
        if (r < 0)
                return log_error_errno(r, "Failed to read [CA] PermittedDNS=: %m");
        if (dns) {
                r = parse_dns_list("PermittedDNS", dns, &m->ca_permitted_dns);
                if (r < 0)
                        return r;
                dns = mfree(dns);
        }
        r = config_get_string(config, "CA", "ExcludedDNS", NULL, &dns);
        if (r < 0)
                return log_error_errno(r, "Failed to read [CA] ExcludedDNS=: %m");
        if (dns) {
                r = parse_dns_list("ExcludedDNS", dns, &m->ca_excluded_dns);
                if (r < 0)
                        return r;
        }

        /* Everything the library checks (subjects, the two apart, lists) before anything depends on it. */
        r = manager_ca_config(m, &c);
        if (r >= 0)
                r = ca_config_check(&c);
        if (r < 0)
                return log_error_errno(r,
                                       "[CA] RootSubject=%s / IntermediateSubject=%s are not two different "
                                       "subjects of the form /CN=.../O=...; refusing to start.",
                                       m->ca_root_subject, m->ca_intermediate_subject);

        /* A TPM store needs a connection of its own for the provider. Not fatal: the rest of the daemon
         * does not need the CA. */
        if (m->ca_key_store == CA_KEY_STORE_TPM && !m->ca_store_tcti) {
                r = ca_tcti_shared(m->tcti, &m->ca_store_tcti);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        _cleanup_free_ char *root = NULL;

                        /* An error when a CA exists (it is unusable now), a notice while there is none. */
                        if (asprintf(&root, "%s/root.pem", m->ca_dir) < 0)
                                return log_oom();
                        log_full(access(root, F_OK) >= 0 ? LOG_ERR : LOG_NOTICE,
                                 "[CA] KeyStore=tpm needs a TPM connection of its own for the tpm2 OpenSSL "
                                 "provider, but TPM '%s' serves one client at a time (the daemon's). Put a "
                                 "resource manager in front of it (tpm2-abrmd, or the kernel's /dev/tpmrm0) "
                                 "and set [TPM] Device= or [CA] TCTI= to it, or set [CA] KeyStore=file. The "
                                 "CA methods fail until then.",
                                 m->tcti);
                }
        }

        return 0;
}

int manager_ca_config(Manager *m, CaConfig *ret) {
        CaKeyType t;

        t = ca_key_type_from_string(m->ca_key_type);
        if (t < 0)
                return -EINVAL;

        *ret = (CaConfig){
                .root = { .subject = m->ca_root_subject,
                          .key_type = t,
                          .validity_days = m->ca_root_validity_days,
                          .pathlen = -1 },
                .intermediate = { .subject = m->ca_intermediate_subject,
                                  .key_type = t,
                                  .validity_days = m->ca_intermediate_validity_days,
                                  .pathlen = m->ca_pathlen },
                .permitted_dns = m->ca_permitted_dns,
                .excluded_dns = m->ca_excluded_dns,
                .crl_url = m->ca_crl_url,
                .ca_issuers_url = m->ca_issuers_url,
                .ocsp_url = m->ca_ocsp_url,
        };
        return 0;
}

/* ---- serials from the TPM RNG ---------------------------------------------------------------------- */

struct CaRandomPool {
        Manager *manager;
        uint8_t buf[CA_RANDOM_POOL_SIZE];
        size_t n;
        bool refilling;
        uint64_t retry_after; /* CLOCK_MONOTONIC µs: no refill before (the TPM failed) */
        uint64_t n_short;     /* draws the pool could not cover in full */
};

typedef struct RefillJob {
        CaRandomPool *pool;
        uint8_t buf[CA_RANDOM_POOL_SIZE];
        size_t n;
} RefillJob;

static uint64_t now_monotonic(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

static int refill_run(Tpm2Context *tpm, void *userdata) {
        RefillJob *j = userdata;

        return tpm2_get_random(tpm, j->buf, j->n);
}

static void refill_done(int result, void *userdata) {
        RefillJob *j = userdata;
        CaRandomPool *p = j->pool;

        p->refilling = false;
        if (result < 0) {
                if (result != -ECANCELED)
                        log_debug_errno(result,
                                        "No random bytes from the TPM for serials, retrying later: %m");
                p->retry_after = now_monotonic() + CA_RANDOM_RETRY_USEC;
        } else {
                size_t k = MIN(j->n, sizeof(p->buf) - p->n);

                memcpy(p->buf + p->n, j->buf, k);
                p->n += k;
                log_debug("Filled the serials' random pool with %zu bytes from the TPM.", k);
        }
        erase_mem(j, sizeof(*j));
        free(j);
}

static void random_pool_refill(CaRandomPool *p) {
        RefillJob *j;

        if (p->refilling || p->n >= sizeof(p->buf) / 2 || !p->manager->tpm_worker ||
            now_monotonic() < p->retry_after)
                return;

        j = calloc(1, sizeof(RefillJob));
        if (!j)
                return;
        j->pool = p;
        j->n = sizeof(p->buf) - p->n;
        if (tpm_worker_submit(p->manager->tpm_worker, refill_run, refill_done, j) < 0) {
                free(j);
                return;
        }
        p->refilling = true;
}

/* CaRandomFunc: RAND_bytes() XOR the pool's TPM bytes (each used once, then wiped). */
static int random_pool_draw(void *buf, size_t n, void *userdata) {
        CaRandomPool *p = userdata;
        uint8_t *b = buf;
        size_t k;

        if (RAND_bytes(buf, (int) n) != 1)
                return -EIO;

        k = MIN(n, p->n);
        for (size_t i = 0; i < k; i++)
                b[i] ^= p->buf[p->n - k + i];
        erase_mem(p->buf + p->n - k, k);
        p->n -= k;
        if (k < n) {
                p->n_short++;
                log_debug("The TPM random pool covered %zu of %zu serial bytes (%" PRIu64 " times short); "
                          "the rest is OpenSSL's alone.",
                          k, n, p->n_short);
        }

        random_pool_refill(p);
        return 0;
}

static void manager_ca_attach_random(Manager *m) {
        if (!m->ca_random) {
                m->ca_random = calloc(1, sizeof(CaRandomPool));
                if (!m->ca_random) {
                        log_debug("Out of memory for the serials' random pool; OpenSSL alone draws them.");
                        return; /* serials from OpenSSL alone */
                }
                m->ca_random->manager = m;
        }
        ca_set_random(m->ca, random_pool_draw, m->ca_random);
        random_pool_refill(m->ca_random);
}

/* ---- the file store's passphrase ----------------------------------------------------------------- */

typedef struct CaOpenJob {
        Manager *manager;
        bool create;
        char *state_dir;
        Tpm2SealedBlob *blob; /* in: unseal it */
        char *clear;          /* in: seal it (new, or one an older version kept in the clear) */
        size_t clear_size;
        bool migrate;     /* clear came from <state_dir>/ca-passphrase: remove that once sealed */
        char *passphrase; /* out */
        size_t passphrase_size;
        uint8_t *sealed; /* out: the blob to write */
        size_t sealed_size;
        Tpm2Error tpm_error;
} CaOpenJob;

static CaOpenJob *ca_open_job_free(CaOpenJob *j) {
        if (!j)
                return NULL;
        free(j->state_dir);
        tpm2_sealed_blob_free(j->blob);
        erase_and_free(j->clear);
        erase_and_free(j->passphrase);
        free(j->sealed);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CaOpenJob *, ca_open_job_free);

static int state_path(Manager *m, const char *name, char **ret) {
        if (asprintf(ret, "%s/%s", m->state_dir, name) < 0)
                return -ENOMEM;
        return 0;
}

static int read_passphrase_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_(erase_and_freep) char *data = NULL;
        size_t size;
        int r;

        /* Root's and closed to others, like a key file. */
        r = ca_key_file_read(path, CA_PASSPHRASE_MAX + 1, &data, &size);
        if (r < 0)
                return r;
        while (size > 0 && IN_SET(data[size - 1], '\n', '\r'))
                data[--size] = 0;
        if (size < CA_PASSPHRASE_MIN || size > CA_PASSPHRASE_MAX || memchr(data, 0, size))
                return -EBADMSG;
        *ret = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

/* Either the passphrase at once (PassphraseFile=, or a clear one without a TPM), or a job for the TPM.
 * -ENOMEDIUM: none exists and create is not set. */
static int passphrase_prepare(Manager *m, bool create, bool have_tpm, char **ret_passphrase,
                              size_t *ret_size, CaOpenJob **ret_job) {
        _cleanup_(ca_open_job_freep) CaOpenJob *j = NULL;
        _cleanup_free_ char *sealed = NULL, *clear = NULL, *data = NULL;
        _cleanup_(erase_and_freep) char *hex = NULL;
        size_t size;
        int r;

        if (m->ca_passphrase_file) {
                r = read_passphrase_file(m->ca_passphrase_file, ret_passphrase, ret_size);
                if (r < 0)
                        return log_error_errno(r,
                                               "Failed to read the CA key store passphrase from "
                                               "[CA] PassphraseFile=%s (root's, mode 0600, %u..%u bytes): %m",
                                               m->ca_passphrase_file, CA_PASSPHRASE_MIN, CA_PASSPHRASE_MAX);
                *ret_job = NULL;
                return 0;
        }

        j = calloc(1, sizeof(CaOpenJob));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->create = create;
        j->state_dir = strdup(m->state_dir);
        if (!j->state_dir)
                return -ENOMEM;

        r = state_path(m, "ca-passphrase.sealed", &sealed);
        if (r >= 0)
                r = state_path(m, "ca-passphrase", &clear);
        if (r < 0)
                return r;

        r = read_full_file(sealed, CA_SEALED_PASSPHRASE_MAX, &data, &size);
        if (r >= 0) {
                r = tpm2_sealed_blob_parse(data, size, &j->blob);
                if (r < 0)
                        return log_error_errno(r, "%s is not a sealed blob: %m", sealed);
        } else if (r != -ENOENT)
                return log_error_errno(r, "Failed to read %s: %m", sealed);
        else {
                r = read_full_file(clear, CA_PASSPHRASE_MAX, &hex, &size);
                if (r >= 0) {
                        if (size < CA_PASSPHRASE_MIN)
                                return log_error_errno(-EBADMSG, "%s is too short.", clear);
                        if (!have_tpm) {
                                log_warning(
                                        "The CA key store passphrase is kept in the clear in %s and there is "
                                        "no TPM to seal it; set [CA] PassphraseFile= to keep it elsewhere.",
                                        clear);
                                *ret_size = size;
                                *ret_passphrase = TAKE_PTR(hex);
                                *ret_job = NULL;
                                return 0;
                        }
                        j->clear_size = size;
                        j->clear = TAKE_PTR(hex);
                        j->migrate = true;
                } else if (r != -ENOENT)
                        return log_error_errno(r, "Failed to read %s: %m", clear);
                else if (store_has_root_key(m, CA_KEY_STORE_FILE))
                        /* Keys without their passphrase: a new one would only hide that they are lost. */
                        return log_error_errno(-ENOKEY,
                                               "The CA's key files exist, but their passphrase (%s) does not; "
                                               "give it in [CA] PassphraseFile=.",
                                               sealed);
                else if (!create)
                        return -ENOMEDIUM;
                else {
                        uint8_t buf[CA_PASSPHRASE_BYTES];

                        if (RAND_priv_bytes(buf, sizeof(buf)) != 1)
                                return -EIO;
                        r = hexmem(buf, sizeof(buf), &j->clear);
                        erase_mem(buf, sizeof(buf));
                        if (r < 0)
                                return r;
                        j->clear_size = strlen(j->clear);
                }
        }

        if (!have_tpm)
                return log_error_errno(-ENODEV,
                                       "The CA key store passphrase is sealed in the TPM, and there is no TPM. "
                                       "Without one, give the passphrase in [CA] PassphraseFile=.");

        *ret_job = TAKE_PTR(j);
        return 0;
}

/* Worker thread (or the start, before the worker exists). */
static int ca_open_job_run(Tpm2Context *tpm, void *userdata) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        CaOpenJob *j = userdata;
        Tpm2SealOptions opts = { .srk_only = true, .state_dir = j->state_dir };
        void *secret;
        size_t size;
        int r;

        if (j->blob) {
                r = tpm2_unseal(tpm, j->blob, NULL, &secret, &size, &j->tpm_error);
                if (r < 0)
                        return r;
                j->passphrase = secret;
                j->passphrase_size = size;
                /* The file store wants a C string too: it is hex, and tpm2_unseal() leaves no NUL. */
                if (size < CA_PASSPHRASE_MIN || size > CA_PASSPHRASE_MAX || memchr(secret, 0, size))
                        return -EBADMSG;
                return 0;
        }

        /* A new CA (Init(), authorized) creates the SRK it seals to when the TPM has none. */
        if (j->create) {
                r = tpm2_srk_provision(tpm, j->state_dir, /* provision= */ true, NULL, NULL);
                if (r < 0)
                        return r;
        }
        r = tpm2_seal(tpm, &opts, j->clear, j->clear_size, &blob, &j->tpm_error);
        if (r < 0)
                return r;
        r = tpm2_sealed_blob_serialize(blob, &j->sealed, &j->sealed_size);
        if (r < 0)
                return r;
        j->passphrase = TAKE_PTR(j->clear);
        j->passphrase_size = j->clear_size;
        return 0;
}

/* ---- opening ------------------------------------------------------------------------------------- */

static int keys_dir(Manager *m, CaKeyStoreKind k, char **ret) {
        if (asprintf(ret, "%s/%s", m->ca_dir, store_dir_name(k)) < 0)
                return -ENOMEM;
        return 0;
}

static int open_with_store(Manager *m, CaKeyStore *store_in) {
        _cleanup_(ca_keystore_freep) CaKeyStore *store = store_in;
        _cleanup_(ca_freep) Ca *ca = NULL;
        CaConfig config;
        int r;

        r = manager_ca_config(m, &config);
        if (r < 0)
                return r;

        r = ca_init(m->ca_dir, store, &config, &ca);
        if (r == -ENOKEY) {
                _cleanup_free_ char *other = NULL;

                /* A CA made with the other store (KeyStore= set to another one). */
                for (CaKeyStoreKind k = 0; k < _CA_KEY_STORE_KIND_MAX; k++) {
                        if (k == (CaKeyStoreKind) m->ca_key_store || !store_has_root_key(m, k))
                                continue;
                        other = mfree(other);
                        if (keys_dir(m, k, &other) < 0)
                                break;
                        return log_error_errno(r,
                                               "The CA in %s keeps its keys in the %s store (%s), not "
                                               "in the configured KeyStore=%s; set [CA] KeyStore=%s.",
                                               m->ca_dir, ca_key_store_kind_to_string(k), other,
                                               ca_key_store_kind_to_string(m->ca_key_store),
                                               ca_key_store_kind_to_string(k));
                }
        }
        if (r < 0)
                return log_error_errno(r, "Failed to open the CA in %s: %m", m->ca_dir);
        if (r > 0)
                log_info("Created the certificate authority in %s (keys: %s store).", m->ca_dir,
                         ca_key_store_kind_to_string(m->ca_key_store));

        m->ca_store = TAKE_PTR(store);
        m->ca = TAKE_PTR(ca);

        manager_ca_attach_random(m);
        (void) manager_start_ca_service(m);
        return r;
}

static int open_file_store(Manager *m, const char *passphrase, size_t size) {
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        r = keys_dir(m, CA_KEY_STORE_FILE, &dir);
        if (r < 0)
                return r;
        r = ca_keystore_file_new(dir, passphrase, size, &store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the CA key store %s: %m", dir);
        return open_with_store(m, TAKE_PTR(store));
}

/* On the event loop: the passphrase is there (and sealed, when that was the job). */
static int ca_open_job_finish(CaOpenJob *j, int result) {
        Manager *m = j->manager;
        _cleanup_free_ char *sealed = NULL, *clear = NULL;
        int r;

        if (result < 0) {
                if (j->tpm_error.message[0])
                        return log_error_errno(result, "Failed to %s the CA key store passphrase: %s",
                                               j->blob ? "unseal" : "seal", j->tpm_error.message);
                return log_error_errno(result, "Failed to %s the CA key store passphrase in the TPM: %m",
                                       j->blob ? "unseal" : "seal");
        }

        if (j->sealed) {
                r = state_path(m, "ca-passphrase.sealed", &sealed);
                if (r < 0)
                        return r;
                /* Durable before any key is encrypted with it, or before the clear copy goes. */
                r = write_file_atomic(sealed, j->sealed, j->sealed_size, 0600);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", sealed);
                if (j->migrate) {
                        r = state_path(m, "ca-passphrase", &clear);
                        if (r < 0)
                                return r;
                        if (unlink(clear) < 0 && errno != ENOENT)
                                return log_error_errno(errno,
                                                       "Sealed the CA key store passphrase into %s, but "
                                                       "failed to remove the clear copy %s: %m",
                                                       sealed, clear);
                        log_info("Sealed the CA key store passphrase into %s and removed the clear copy %s.",
                                 sealed, clear);
                }
        }

        return open_file_store(m, j->passphrase, j->passphrase_size);
}

static int ca_open_store(Manager *m, bool create, Tpm2Context *tpm, bool at_start, CaOpenJob **ret_job) {
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_(erase_and_freep) char *passphrase = NULL;
        _cleanup_free_ char *dir = NULL;
        CaOpenJob *j = NULL;
        size_t size = 0;
        int r;

        *ret_job = NULL;

        switch (m->ca_key_store) {
        case CA_KEY_STORE_TPM:
                if (!m->ca_store_tcti)
                        return -EUNATCH;
                r = keys_dir(m, CA_KEY_STORE_TPM, &dir);
                if (r < 0)
                        return r;
                r = ca_keystore_tpm_new(dir, m->ca_store_tcti, &store);
                if (r < 0)
                        return log_error_errno(r, "Failed to open the TPM key store %s through '%s': %m",
                                               dir, m->ca_store_tcti);
                return open_with_store(m, TAKE_PTR(store));

        case CA_KEY_STORE_PKCS11: {
                _cleanup_(erase_and_freep) char *pin = NULL;

                if (m->ca_pkcs11_pin_file) {
                        r = ca_pkcs11_pin_read(m->ca_pkcs11_pin_file, &pin);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read [CA] PKCS11PINFile=%s: %m",
                                                       m->ca_pkcs11_pin_file);
                }
                /* A wrong PIN is tried once (-EACCES), never again by itself: tokens lock after a few. */
                r = ca_keystore_pkcs11_new(m->ca_pkcs11_module, m->ca_pkcs11_token, pin, &store);
                if (r < 0)
                        return log_error_errno(r, "Failed to open the PKCS#11 token '%s' through %s: %m",
                                               m->ca_pkcs11_token, m->ca_pkcs11_module ?: "the p11-kit proxy");
                return open_with_store(m, TAKE_PTR(store));
        }

        case CA_KEY_STORE_FILE:
                r = passphrase_prepare(m, create, at_start ? tpm != NULL : manager_tpm_present(m),
                                       &passphrase, &size, &j);
                if (r < 0)
                        return r;
                if (!j)
                        return open_file_store(m, passphrase, size);
                *ret_job = j;
                return -EINPROGRESS;

        default:
                return -EOPNOTSUPP;
        }
}

/* Starts opening: 0/1 when done at once, -EINPROGRESS with *ret_job when the TPM has to seal or unseal
 * the passphrase first. */
static int ca_open_start(Manager *m, bool create, Tpm2Context *tpm, bool at_start, CaOpenJob **ret_job) {
        _cleanup_free_ char *root = NULL;

        if (m->ca_key_store == CA_KEY_STORE_TPM && !m->ca_store_tcti)
                return -EUNATCH; /* before anything is created */

        if (!create) {
                /* Never create anything from a read: only Init() (authorized) does. */
                if (asprintf(&root, "%s/root.pem", m->ca_dir) < 0)
                        return -ENOMEM;
                if (access(root, F_OK) < 0)
                        return errno == ENOENT ? -ENOMEDIUM : -errno;
        }

        if (mkdir(m->ca_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", m->ca_dir);

        return ca_open_store(m, create, tpm, at_start, ret_job);
}

int manager_open_ca_at_start(Manager *m, Tpm2Context *tpm) {
        _cleanup_(ca_open_job_freep) CaOpenJob *j = NULL;
        int r;

        r = ca_open_start(m, /* create= */ false, tpm, /* at_start= */ true, &j);
        if (r != -EINPROGRESS)
                return r;
        return ca_open_job_finish(j, ca_open_job_run(tpm, j));
}

/* A method call waiting for the open, or one that has its answer. */
typedef struct CaWaiter {
        sd_bus_message *message;
        int result;
        bool answered;
} CaWaiter;

static void ca_open_job_done(int result, void *userdata) {
        _cleanup_(ca_open_job_freep) CaOpenJob *j = userdata;
        Manager *m = j->manager;

        if (result != -ECANCELED)
                result = ca_open_job_finish(j, result);
        m->ca_opening = false;

        log_debug("The CA open on the TPM worker finished (%s); dispatching the waiting calls again.",
                  result < 0 ? strerror(-result) : "ok");
        /* Every waiting call runs again and collects the result (manager_open_ca_for()). */
        for (size_t i = 0; i < m->n_ca_waiters; i++) {
                CaWaiter *w = &m->ca_waiters[i];

                if (w->answered)
                        continue;
                w->answered = true;
                w->result = result;
                if (result == -ECANCELED || sd_bus_enqueue_for_read(m->bus, w->message) < 0)
                        w->result = -ECANCELED;
        }
}

static int ca_waiter_add(Manager *m, sd_bus_message *message) {
        CaWaiter *l;

        l = reallocarray(m->ca_waiters, m->n_ca_waiters + 1, sizeof(CaWaiter));
        if (!l)
                return -ENOMEM;
        m->ca_waiters = l;
        l[m->n_ca_waiters++] = (CaWaiter){ .message = sd_bus_message_ref(message) };
        return 0;
}

int manager_open_ca_for(Manager *m, bool create, sd_bus_message *message) {
        CaOpenJob *j = NULL;
        int r;

        assert(m);

        /* The second dispatch of a call that waited: its answer, whatever happened since. */
        for (size_t i = 0; message && i < m->n_ca_waiters; i++) {
                CaWaiter *w = &m->ca_waiters[i];

                if (w->message != message || !w->answered)
                        continue;
                r = w->result;
                sd_bus_message_unref(w->message);
                m->ca_waiters[i] = m->ca_waiters[--m->n_ca_waiters];
                return r;
        }

        if (m->ca)
                return 0;

        if (!m->ca_opening) {
                r = ca_open_start(m, create, NULL, /* at_start= */ false, &j);
                if (r != -EINPROGRESS)
                        return r;
                r = tpm_worker_submit(m->tpm_worker, ca_open_job_run, ca_open_job_done, j);
                if (r < 0) {
                        ca_open_job_free(j);
                        return r;
                }
                m->ca_opening = true;
        }

        if (!message)
                return -EBUSY;
        r = ca_waiter_add(m, message);
        if (r < 0)
                return r;
        log_debug("%s() waits for the CA to be opened on the TPM worker.",
                  strna(sd_bus_message_get_member(message)));
        return -EINPROGRESS;
}

int ca_keys_bus_error(Manager *m, int r, sd_bus_error *error) {
        switch (r) {
        case -EUNATCH:
                return sd_bus_error_setf(
                        error, BUS_ERROR_CA_KEY_STORE_UNAVAILABLE,
                        "The CA's keys are configured to be in the TPM ([CA] KeyStore=tpm), but "
                        "TPM '%s' serves one client at a time. Put a resource manager in front "
                        "of it (tpm2-abrmd, /dev/tpmrm0) and set [CA] TCTI=, or set [CA] "
                        "KeyStore=file.",
                        m->tcti);
        case -ENODEV:
                return sd_bus_error_set(
                        error, BUS_ERROR_CA_KEY_STORE_UNAVAILABLE,
                        m->ca_key_store == CA_KEY_STORE_TPM
                                ? "The tpm2 OpenSSL provider cannot reach the TPM for the CA's keys."
                                : "The CA key store passphrase is sealed in the TPM and no TPM is "
                                  "available; without a TPM, set [CA] PassphraseFile=.");
        case -EBUSY:
                return sd_bus_error_set(error, BUS_ERROR_BUSY,
                                        "The certificate authority is being opened (its passphrase is unsealed "
                                        "in the TPM); try again.");
        default:
                return 0;
        }
}

void manager_ca_random_refill(Manager *m) {
        if (m->ca_random)
                random_pool_refill(m->ca_random);
}

void manager_ca_keys_done(Manager *m) {
        for (size_t i = 0; i < m->n_ca_waiters; i++)
                sd_bus_message_unref(m->ca_waiters[i].message);
        m->ca_waiters = mfree(m->ca_waiters);
        m->n_ca_waiters = 0;
        if (m->ca_random)
                erase_mem(m->ca_random, sizeof(*m->ca_random));
        m->ca_random = mfree(m->ca_random);
}
