/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The daemon side of revocation, for the open CA (m->ca):
 *
 * - The HTTP endpoints of ca-http.h (OCSP, CRL, ca.crt) when [CA] HTTPListen= is set. libmicrohttpd
 *   runs without threads in epoll mode: its fd is an sd-event I/O source, and a one-shot time source is
 *   re-armed from ca_http_get_timeout() after every ca_http_process(), so the Ca is only ever used
 *   from the event loop's thread.
 * - The delegated OCSP signer, when there is a responder (HTTPListen=): an ocsp-signing certificate issued
 *   by the intermediate for a P-256 key that the CA's key store makes and keeps like the CA's own keys
 *   (store id "ocsp-signer": in the TPM, encrypted in the file store, or on the token), the certificate
 *   in <ca_dir>/ocsp-signer.pem. A signer that is missing, revoked, not matching its key, not issued by
 *   the current intermediate or within CA_OCSP_RENEW_SEC of its end is replaced by a new one (a new key
 *   too). If none can be made, the intermediate signs the responses (ca-ocsp.h).
 *   Older versions kept the signer's key in the clear in <state_dir>/ca-ocsp-key.pem: when that file is
 *   there, a new signer is made in the store, the old certificate is revoked (superseded: its key was on
 *   disk in the clear) and the file is overwritten and removed (ca_key_file_erase()).
 * - <ca_dir>/crl.pem, valid for [CA] CRLHours= and re-issued every half of that (atomically), so that a
 *   relying party reading the file never sees one past its nextUpdate, and after every Revoke(). The
 *   signer is re-checked at the same times, so a revoked signer is replaced at once. */

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/epoll.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-http.h"
#include "ca/ca-index.h"
#include "ca/ca-ocsp.h"
#include "ca/ca.h"
#include "ca/ca-cert.h"
#include "daemon/ca-service.h"
#include "daemon/tpm-worker.h"
#include "shared/config.h"
#include "shared/openssl-util.h"

#define CA_OCSP_RENEW_SEC (7 * 24 * 3600)
#define CA_OCSP_KEY_ID "ocsp-signer"
#define CA_OCSP_SUBJECT "/CN=Trusted Platform OCSP Responder"
#define CA_OCSP_CERT_FILE_MAX (64U * 1024U)
#define USEC_PER_SEC_U64 UINT64_C(1000000)

struct CaService {
        Manager *manager;
        CaHttp *http;
        sd_event_source *http_io;
        sd_event_source *http_timer;
        sd_event_source *crl_timer;
        X509 *ocsp_cert;
        EVP_PKEY *ocsp_key;
        /* The TPM worker's own tpm2 provider instance, for signing with TPM store keys there: made by the
         * worker on first use, used only by it, freed here after the worker was joined. */
        CaTpmLibctx *worker_libctx;
        /* The intermediate's key in worker_libctx, loaded by the worker on first use and kept (it signs
         * every certificate, CRL and OCSP response without a delegated signer): one TPM2_Load less per
         * signature. Worker only; freed here before worker_libctx. */
        EVP_PKEY *worker_intermediate;
};

CaService *ca_service_free(CaService *s) {
        if (!s)
                return NULL;

        /* The sources first: nothing may call into the server once it is gone. */
        s->http_io = sd_event_source_disable_unref(s->http_io);
        s->http_timer = sd_event_source_disable_unref(s->http_timer);
        s->crl_timer = sd_event_source_disable_unref(s->crl_timer);
        s->http = ca_http_free(s->http);
        if (s->manager && s->manager->ca && s->ocsp_cert)
                (void) ca_ocsp_set_signer(s->manager->ca, NULL, NULL);
        X509_free(s->ocsp_cert);
        EVP_PKEY_free(s->ocsp_key);
        EVP_PKEY_free(s->worker_intermediate);
        ca_tpm_libctx_free(s->worker_libctx);
        return mfree(s);
}

CaTpmLibctx **ca_service_worker_libctx(CaService *s) {
        return s ? &s->worker_libctx : NULL;
}

/* ---- Signing with the CA's TPM keys on the TPM worker ---- */

bool manager_ca_signs_on_worker(Manager *m) {
        return m->ca_service && m->tpm_worker && m->ca_store && streq(m->ca_store->ops->name, "tpm");
}

typedef struct WorkerSign {
        CaTpmLibctx **libctx; /* the worker's, in the CaService */
        EVP_PKEY **cached;    /* for the intermediate: the worker's copy of its key, else NULL */
        char *key_path;
        ca_worker_sign_t sign;
        void *object;
        ca_worker_signed_t done;
        void *userdata;
} WorkerSign;

/* Worker thread. Other keys than the intermediate's are loaded for each job (TPM2_Load, flushed with the
 * EVP_PKEY): the delegated OCSP signer's is replaced now and then. */
static int worker_sign_run(Tpm2Context *tpm, void *userdata) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *loaded = NULL;
        WorkerSign *w = userdata;
        OSSL_LIB_CTX *libctx;
        int r;

        if (!*w->libctx) {
                r = ca_tpm_libctx_new(w->libctx);
                if (r < 0)
                        return r;
        }
        libctx = ca_tpm_libctx_get(*w->libctx);

        if (w->cached && *w->cached) {
                r = w->sign(w->object, libctx, *w->cached);
                if (r >= 0)
                        return r;
                /* The TPM may have lost the object (a reset, a new connection): load it again once. */
                log_debug_errno(r, "Signing with the kept intermediate key failed, loading it again: %m");
                EVP_PKEY_free(*w->cached);
                *w->cached = NULL;
        }

        r = ca_tpm_key_load_file(libctx, w->key_path, &loaded);
        if (r < 0)
                return r;
        r = w->sign(w->object, libctx, loaded);
        if (r >= 0 && w->cached)
                *w->cached = TAKE_PTR(loaded);
        return r;
}

/* Event loop. */
static void worker_sign_done(int result, void *userdata) {
        WorkerSign *w = userdata;

        w->done(result, w->userdata);
        free(w->key_path);
        free(w);
}

int manager_ca_sign_on_worker(Manager *m, const char *key_id, ca_worker_sign_t sign, void *object,
                              ca_worker_signed_t done, void *userdata) {
        _cleanup_free_ char *key_path = NULL;
        WorkerSign *w;
        int r;

        assert(m);
        assert(key_id);
        assert(sign);
        assert(done);

        if (!manager_ca_signs_on_worker(m))
                return -EOPNOTSUPP;
        r = ca_keystore_tpm_key_path(m->ca_store, key_id, &key_path);
        if (r < 0)
                return r;
        w = malloc(sizeof(WorkerSign));
        if (!w)
                return -ENOMEM;
        *w = (WorkerSign){
                .libctx = ca_service_worker_libctx(m->ca_service),
                .cached = streq(key_id, "intermediate") ? &m->ca_service->worker_intermediate : NULL,
                .key_path = TAKE_PTR(key_path),
                .sign = sign,
                .object = object,
                .done = done,
                .userdata = userdata,
        };
        r = tpm_worker_submit(m->tpm_worker, worker_sign_run, worker_sign_done, w);
        if (r < 0) {
                free(w->key_path);
                free(w);
                return r;
        }
        return 0;
}

int ca_listen_parse(const char *s, char **ret_address, uint16_t *ret_port) {
        _cleanup_free_ char *address = NULL;
        const char *colon, *a, *port_str;
        union {
                struct in_addr in;
                struct in6_addr in6;
        } buf;
        size_t n;
        uint32_t port;

        if (isempty(s) || strlen(s) > 64)
                return -EINVAL;

        colon = strrchr(s, ':');
        if (!colon || colon == s)
                return -EINVAL;
        port_str = colon + 1;
        if (safe_atou32(port_str, &port) < 0 || port == 0 || port > UINT16_MAX)
                return -EINVAL;

        a = s;
        n = colon - s;
        if (a[0] == '[') {
                if (n < 3 || a[n - 1] != ']')
                        return -EINVAL;
                address = strndup(a + 1, n - 2);
                if (!address)
                        return -ENOMEM;
                if (inet_pton(AF_INET6, address, &buf.in6) != 1)
                        return -EINVAL;
        } else {
                address = strndup(a, n);
                if (!address)
                        return -ENOMEM;
                if (inet_pton(AF_INET, address, &buf.in) != 1)
                        return -EINVAL;
        }

        *ret_address = TAKE_PTR(address);
        *ret_port = (uint16_t) port;
        return 0;
}

int manager_load_ca_service_config(Manager *m, Config *config) {
        const struct {
                const char *key;
                char **value;
        } urls[] = {
                { "OCSPURL", &m->ca_ocsp_url },
                { "CRLURL", &m->ca_crl_url },
                { "CAIssuersURL", &m->ca_issuers_url },
        };
        _cleanup_free_ char *listen = NULL;
        uint32_t hours;
        int r;

        r = config_get_string(config, "CA", "HTTPListen", NULL, &listen);
        if (r < 0)
                return log_error_errno(r, "Failed to read [CA] HTTPListen=: %m");
        if (!isempty(listen)) {
                r = ca_listen_parse(listen, &m->ca_http_address, &m->ca_http_port);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r,
                                               "[CA] HTTPListen=%s is not ADDRESS:PORT (e.g. 127.0.0.1:8080 or "
                                               "[::1]:8080); refusing to start.",
                                               listen);
        }

        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                char **p = urls[i].value;

                r = config_get_string(config, "CA", urls[i].key, NULL, p);
                if (r < 0)
                        return log_error_errno(r, "Failed to read [CA] %s=: %m", urls[i].key);
                if (isempty(*p))
                        *p = mfree(*p);
                else if (!ca_url_is_valid(*p))
                        return log_error_errno(-EINVAL,
                                               "[CA] %s=%s is not an http:// or https:// URL; refusing "
                                               "to start.",
                                               urls[i].key, *p);
        }

        r = config_get_uint32(config, "CA", "CRLHours", CA_CRL_HOURS_DEFAULT, &hours);
        if (r >= 0 && (hours < CA_CRL_HOURS_MIN || hours > CA_CRL_HOURS_MAX))
                r = -ERANGE;
        if (r < 0)
                return log_error_errno(r,
                                       "[CA] CRLHours= must be a number of hours from %u to %u; refusing to "
                                       "start: %m",
                                       CA_CRL_HOURS_MIN, CA_CRL_HOURS_MAX);
        m->ca_crl_hours = hours;
        return 0;
}

/* ---- HTTP ---- */

static int http_rearm(CaService *s) {
        uint64_t timeout, now_usec;
        int r;

        timeout = ca_http_get_timeout(s->http);
        if (timeout == UINT64_MAX)
                return sd_event_source_set_enabled(s->http_timer, SD_EVENT_OFF);

        r = sd_event_now(sd_event_source_get_event(s->http_timer), CLOCK_MONOTONIC, &now_usec);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(s->http_timer,
                                     timeout > UINT64_MAX - now_usec ? UINT64_MAX : now_usec + timeout);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->http_timer, SD_EVENT_ONESHOT);
}

static int http_dispatch(CaService *s) {
        int r;

        r = ca_http_process(s->http);
        if (r < 0)
                log_warning_errno(r, "The CA's HTTP server failed to process requests, continuing: %m");

        r = http_rearm(s);
        if (r < 0)
                log_warning_errno(r, "Failed to re-arm the CA's HTTP timer: %m");
        return 0;
}

static int on_http_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        return http_dispatch(userdata);
}

static int on_http_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        return http_dispatch(userdata);
}

/* With the TPM store, OCSP responses and the CRLs of GET /crl are signed on the TPM worker, the HTTP
 * connection suspended meanwhile. */
static int http_sign_run(void *object, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        return ca_http_sign_job_sign(object, libctx, key);
}

typedef struct HttpSign {
        CaService *service;
        CaHttpSignJob *job;
} HttpSign;

static void http_sign_done(int result, void *userdata) {
        HttpSign *h = userdata;

        /* At shutdown (-ECANCELED) too: the connection is resumed and answered with an error, before the
         * server is stopped (the worker goes first in manager_free()). */
        ca_http_sign_job_done(h->job, result);
        /* MHD without threads sends the resumed connection's reply only from its next run: now. */
        if (result != -ECANCELED)
                (void) http_dispatch(h->service);
        free(h);
}

static int http_sign(CaHttpSignJob *job, const char *key, void *userdata) {
        HttpSign *h;
        int r;

        h = malloc(sizeof(HttpSign));
        if (!h)
                return -ENOMEM;
        *h = (HttpSign){ .service = userdata, .job = job };
        r = manager_ca_sign_on_worker(h->service->manager, key, http_sign_run, job, http_sign_done, h);
        if (r < 0)
                free(h);
        return r;
}

static int http_start(CaService *s) {
        Manager *m = s->manager;
        int r;

        r = ca_http_new(m->ca, m->ca_http_address, m->ca_http_port, &s->http);
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to listen on %s port %u for the CA's HTTP endpoints, "
                                       "running without them: %m",
                                       m->ca_http_address, m->ca_http_port);
        /* Not manager_ca_signs_on_worker(): at start the service starts before the TPM worker exists, and
         * m->ca_service is set only once it has started. Both are checked per request
         * (manager_ca_sign_on_worker() answers -EOPNOTSUPP without them: signed here then). */
        if (streq(m->ca_store->ops->name, "tpm"))
                ca_http_set_signer(s->http, http_sign, s);
        /* GET /crl answers with the same lifetime as crl.pem and GetCRL: [CA] CRLHours=. */
        r = ca_http_set_crl_hours(s->http, m->ca_crl_hours);
        if (r < 0) {
                s->http = ca_http_free(s->http);
                return log_error_errno(r, "CRLHours=%u is out of range for the HTTP CRL: %m", m->ca_crl_hours);
        }

        r = sd_event_add_io(m->event, &s->http_io, ca_http_get_fd(s->http), EPOLLIN, on_http_io, s);
        if (r >= 0)
                r = sd_event_add_time(m->event, &s->http_timer, CLOCK_MONOTONIC, 0, 0, on_http_timer, s);
        if (r >= 0)
                r = http_rearm(s);
        if (r < 0) {
                s->http_io = sd_event_source_disable_unref(s->http_io);
                s->http_timer = sd_event_source_disable_unref(s->http_timer);
                s->http = ca_http_free(s->http);
                return log_error_errno(r, "Failed to watch the CA's HTTP server: %m");
        }
        (void) sd_event_source_set_description(s->http_io, "ca-http");
        (void) sd_event_source_set_description(s->http_timer, "ca-http-timer");

        log_info("Serving the CA's OCSP responder and CRL on http://%s%s%s:%u/.",
                 strchr(m->ca_http_address, ':') ? "[" : "", m->ca_http_address,
                 strchr(m->ca_http_address, ':') ? "]" : "", ca_http_get_port(s->http));
        return 0;
}

/* ---- The delegated OCSP signer ---- */

static int cert_serial(X509 *cert, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        uint8_t serial[CA_SERIAL_SIZE];

        bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        if (!bn || BN_num_bytes(bn) > (int) sizeof(serial) || BN_bn2binpad(bn, serial, sizeof(serial)) < 0)
                return -EBADMSG;
        return ca_serial_to_string(serial, ret);
}

static int ocsp_cert_path(Manager *m, char **ret) {
        return asprintf(ret, "%s/ocsp-signer.pem", m->ca_dir) < 0 ? -ENOMEM : 0;
}

/* Where versions before the signer's key went into the key store kept it, in the clear. */
static int ocsp_clear_key_path(Manager *m, char **ret) {
        return asprintf(ret, "%s/ca-ocsp-key.pem", m->state_dir) < 0 ? -ENOMEM : 0;
}

static int ocsp_cert_read(Manager *m, X509 **ret) {
        _cleanup_free_ char *path = NULL, *pem = NULL;
        _cleanup_(BIO_free_allp) BIO *b = NULL;
        size_t size;
        X509 *cert;
        int r;

        r = ocsp_cert_path(m, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, CA_OCSP_CERT_FILE_MAX, &pem, &size);
        if (r < 0)
                return r;
        b = BIO_new_mem_buf(pem, (int) size);
        if (!b)
                return -ENOMEM;
        cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!cert)
                return -EBADMSG;
        *ret = cert;
        return 0;
}

/* Loads the stored signer; -ENOENT, -EBADMSG or -ESTALE when it must be replaced. */
static int ocsp_signer_load(CaService *s, X509 **ret_cert, EVP_PKEY **ret_key) {
        _cleanup_(ca_index_entry_freep) CaIndexEntry *entry = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *serial = NULL;
        time_t t;
        int r;

        r = ocsp_cert_read(s->manager, &cert);
        if (r < 0)
                return r;

        t = time(NULL) + CA_OCSP_RENEW_SEC;
        if (X509_cmp_time(X509_get0_notAfter(cert), &t) <= 0)
                return -ESTALE;

        r = cert_serial(cert, &serial);
        if (r < 0)
                return r;
        r = ca_lookup(s->manager->ca, serial, &entry, NULL);
        if (r == -ENOENT)
                return -ESTALE;
        if (r < 0)
                return r;
        if (entry->status != CA_CERT_VALID)
                return -ESTALE;
        /* The signer in use still is: no key to load (with the TPM store a load is a TPM operation, and
         * this runs in the event loop after every revocation and CRL). */
        if (s->ocsp_cert && X509_cmp(s->ocsp_cert, cert) == 0)
                return -EALREADY;

        /* Last: with the TPM store, a load is a TPM operation. */
        r = ca_keystore_load(s->manager->ca_store, CA_OCSP_KEY_ID, &key);
        if (r < 0)
                return r;

        *ret_cert = TAKE_PTR(cert);
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* A software copy of key's public half: the issuing code checks public keys, which a key held by the TPM
 * provider or a token cannot all answer for. */
static int public_copy(EVP_PKEY *key, EVP_PKEY **ret) {
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        const unsigned char *p;
        EVP_PKEY *pub;
        int n;

        n = i2d_PUBKEY(key, &der);
        if (n <= 0)
                return openssl_errno();
        p = der;
        pub = d2i_PUBKEY(NULL, &p, n);
        if (!pub)
                return openssl_errno();
        *ret = pub;
        return 0;
}

static int ocsp_signer_issue(CaService *s, X509 **ret_cert, EVP_PKEY **ret_key) {
        const CaIssueRequest request = { .profile = CA_PROFILE_OCSP_SIGNING };
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *pub = NULL;
        _cleanup_free_ char *cert_path = NULL, *serial = NULL;
        _cleanup_(BIO_free_allp) BIO *cb = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        Manager *m = s->manager;
        char *data;
        long n;
        int r;

        r = ocsp_cert_path(m, &cert_path);
        if (r < 0)
                return r;

        /* A new signer gets a new key: the old one stops signing first, then goes (a store never replaces
         * a key). Until the new one is there, the intermediate signs. */
        (void) ca_ocsp_set_signer(m->ca, NULL, NULL);
        X509_free(TAKE_PTR(s->ocsp_cert));
        EVP_PKEY_free(TAKE_PTR(s->ocsp_key));
        r = ca_keystore_remove(m->ca_store, CA_OCSP_KEY_ID);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r,
                                       "Failed to remove the old OCSP signing key from the %s key store: %m",
                                       m->ca_store->ops->name);

        r = ca_keystore_generate(m->ca_store, CA_OCSP_KEY_ID, CA_KEY_ECDSA_P256, &key);
        if (r < 0)
                return log_error_errno(r, "Failed to make the OCSP signing key in the %s key store: %m",
                                       m->ca_store->ops->name);

        /* The key is ours, just made: no CSR is needed to prove we hold it. */
        r = public_copy(key, &pub);
        if (r >= 0)
                r = ca_issue_key(m->ca, pub, CA_OCSP_SUBJECT, NULL, &request, &cert, &serial);
        if (r < 0) {
                (void) ca_keystore_remove(m->ca_store, CA_OCSP_KEY_ID);
                return log_error_errno(r, "Failed to issue the OCSP signing certificate: %m");
        }

        cb = BIO_new(BIO_s_mem());
        if (!cb || PEM_write_bio_X509(cb, cert) != 1)
                return -EIO;
        n = BIO_get_mem_data(cb, &data);
        if (n <= 0)
                return -EIO;
        r = write_file_atomic(cert_path, data, (size_t) n, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", cert_path);

        log_info("Issued the OCSP signing certificate %s (key in the %s key store).", serial,
                 m->ca_store->ops->name);
        *ret_cert = TAKE_PTR(cert);
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* Moves a signer made by an older version, whose key is in the clear at <state_dir>/ca-ocsp-key.pem, into
 * the key store: a new key and certificate (ocsp_signer_refresh() makes them, since the store has no
 * signer key yet or one that does not match the old certificate), the old certificate revoked, the clear
 * key wiped. Returns 1 if there was something to migrate. */
static int ocsp_signer_migrate(CaService *s) {
        _cleanup_free_ char *clear = NULL, *old_serial = NULL;
        _cleanup_(X509_freep) X509 *old = NULL;
        Manager *m = s->manager;
        int r;

        r = ocsp_clear_key_path(m, &clear);
        if (r < 0)
                return r;
        if (access(clear, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;

        /* The certificate that goes with the clear key, to revoke once it is replaced. */
        if (ocsp_cert_read(m, &old) >= 0)
                (void) cert_serial(old, &old_serial);

        (void) ca_ocsp_set_signer(m->ca, NULL, NULL);
        X509_free(TAKE_PTR(s->ocsp_cert));
        EVP_PKEY_free(TAKE_PTR(s->ocsp_key));
        r = ocsp_signer_issue(s, &s->ocsp_cert, &s->ocsp_key);
        if (r >= 0) {
                r = ca_ocsp_set_signer(m->ca, s->ocsp_cert, s->ocsp_key);
                if (r < 0)
                        log_warning_errno(r, "Failed to use the new OCSP signing certificate: %m");
        }
        /* Wiped whatever happened: the clear key is never used again (a failed issuance is retried from
         * the store's side at the next refresh, and the intermediate signs until then). */
        r = ca_key_file_erase(clear);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r,
                                       "Failed to remove the OCSP signing key %s left in the clear by an "
                                       "older version: %m",
                                       clear);
        log_info("Moved the OCSP signing key into the %s key store and removed the clear copy %s.",
                 m->ca_store->ops->name, clear);

        if (old_serial && (!s->ocsp_cert || X509_cmp(old, s->ocsp_cert) != 0)) {
                r = ca_revoke(m->ca, old_serial, CA_REASON_SUPERSEDED);
                if (r < 0 && r != -EALREADY)
                        log_warning_errno(r,
                                          "Failed to revoke the OCSP signing certificate %s whose key was in "
                                          "the clear: %m",
                                          old_serial);
                else if (r >= 0)
                        log_info("Revoked the OCSP signing certificate %s (superseded).", old_serial);
        }
        return 1;
}

static int ocsp_signer_refresh(CaService *s) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        Ca *ca = s->manager->ca;
        int r;

        r = ocsp_signer_migrate(s);
        if (r < 0)
                log_warning_errno(r, "Failed to migrate the OCSP signing key into the key store: %m");

        r = ocsp_signer_load(s, &cert, &key);
        if (r == -EALREADY)
                return 0;
        if (r >= 0) {
                if (s->ocsp_cert && X509_cmp(s->ocsp_cert, cert) == 0)
                        return 0;
                r = ca_ocsp_set_signer(ca, cert, key);
                if (r >= 0) {
                        log_debug("Using the stored OCSP signing certificate.");
                        goto adopt;
                }
        }
        if (!IN_SET(r, -ENOENT, -EBADMSG, -ESTALE, -EINVAL))
                return log_warning_errno(r, "Failed to load the OCSP signing certificate: %m");

        X509_free(TAKE_PTR(cert));
        EVP_PKEY_free(TAKE_PTR(key));
        r = ocsp_signer_issue(s, &cert, &key);
        if (r < 0)
                return r;
        r = ca_ocsp_set_signer(ca, cert, key);
        if (r < 0)
                return log_error_errno(r, "Failed to use the new OCSP signing certificate: %m");

adopt:
        X509_free(s->ocsp_cert);
        EVP_PKEY_free(s->ocsp_key);
        s->ocsp_cert = TAKE_PTR(cert);
        s->ocsp_key = TAKE_PTR(key);
        return 0;
}

/* ---- The CRL file ---- */

static int crl_write_file(Manager *m, X509_CRL *crl) {
        _cleanup_(BIO_free_allp) BIO *b = NULL;
        _cleanup_free_ char *path = NULL;
        char *data;
        long n;
        int r;

        b = BIO_new(BIO_s_mem());
        if (!b || PEM_write_bio_X509_CRL(b, crl) != 1)
                return log_oom();
        n = BIO_get_mem_data(b, &data);
        if (n <= 0)
                return -EIO;

        if (asprintf(&path, "%s/crl.pem", m->ca_dir) < 0)
                return log_oom();
        r = write_file_atomic(path, data, (size_t) n, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);

        log_debug("Wrote %s, valid for %u hours.", path, m->ca_crl_hours);
        return 0;
}

typedef struct CrlWrite {
        Manager *manager;
        X509_CRL *crl;
} CrlWrite;

static int crl_sign(void *object, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        return ca_crl_sign(object, libctx, key);
}

/* Event loop: the CRL signed on the worker. Jobs finish in the order they were queued, so a newer CRL is
 * never overwritten by an older one. */
static void crl_write_done(int result, void *userdata) {
        CrlWrite *c = userdata;

        if (result == -ECANCELED)
                log_debug("Shutting down before the CRL was signed.");
        else if (result < 0)
                log_error_errno(result, "Failed to sign the CRL with the intermediate's key in the TPM: %m");
        else
                (void) crl_write_file(c->manager, c->crl);
        X509_CRL_free(c->crl);
        free(c);
}

static int crl_write(CaService *s) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        Manager *m = s->manager;
        CrlWrite *c;
        int r;

        if (manager_ca_signs_on_worker(m)) {
                r = ca_crl_build(m->ca, m->ca_crl_hours, &crl);
                if (r < 0)
                        return log_error_errno(r, "Failed to generate the CRL: %m");
                c = malloc(sizeof(CrlWrite));
                if (!c)
                        return log_oom();
                *c = (CrlWrite){ .manager = m, .crl = crl };
                r = manager_ca_sign_on_worker(m, "intermediate", crl_sign, crl, crl_write_done, c);
                if (r < 0) {
                        free(c);
                        return log_error_errno(r, "Failed to queue the CRL for signing on the TPM worker: %m");
                }
                TAKE_PTR(crl); /* c's now */
                return 0;
        }

        r = ca_crl_generate(m->ca, m->ca_crl_hours, &crl);
        if (r < 0)
                return log_error_errno(r, "Failed to generate the CRL: %m");
        return crl_write_file(m, crl);
}

static int on_crl_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        CaService *s = userdata;
        uint64_t period = (uint64_t) s->manager->ca_crl_hours * 3600U * USEC_PER_SEC_U64 / 2U;
        int r;

        (void) crl_write(s);
        if (s->manager->ca_http_address)
                (void) ocsp_signer_refresh(s);

        r = sd_event_source_set_time(source, usec + period);
        if (r >= 0)
                r = sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to re-arm the CRL timer: %m");
        return 0;
}

void manager_ca_service_revoked(Manager *m) {
        CaService *s = m->ca_service;

        if (!s)
                return;
        (void) crl_write(s);
        if (m->ca_http_address)
                (void) ocsp_signer_refresh(s);
}

int manager_start_ca_service(Manager *m) {
        _cleanup_(ca_service_freep) CaService *s = NULL;
        uint64_t now_usec;
        int r;

        assert(m);
        assert(m->ca);

        if (m->ca_service)
                return 0;

        s = calloc(1, sizeof(CaService));
        if (!s)
                return log_oom();
        s->manager = m;

        /* The delegated signer is issued only when there is a responder to use it. */
        if (m->ca_http_address)
                (void) ocsp_signer_refresh(s);

        /* Writes the first CRL now, the next ones every half of its validity. */
        r = sd_event_now(m->event, CLOCK_BOOTTIME, &now_usec);
        if (r >= 0)
                r = sd_event_add_time(m->event, &s->crl_timer, CLOCK_BOOTTIME, now_usec, USEC_PER_SEC_U64,
                                      on_crl_timer, s);
        if (r < 0)
                return log_error_errno(r, "Failed to add the CRL timer: %m");
        (void) sd_event_source_set_description(s->crl_timer, "ca-crl");

        if (m->ca_http_address)
                (void) http_start(s);

        m->ca_service = TAKE_PTR(s);
        return 0;
}
