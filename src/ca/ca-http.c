/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <microhttpd.h>
#include <openssl/x509.h>
#include <stdarg.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-http.h"
#include "ca/ca-ocsp.h"
#include "shared/openssl-util.h"

#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE MHD_HTTP_PAYLOAD_TOO_LARGE
#endif

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct CaHttp {
        Ca *ca;
        struct MHD_Daemon *daemon;
        uint16_t port;
        unsigned crl_hours;
        CaHttpSigner signer; /* NULL: signatures are made in ca_http_process() */
        void *signer_userdata;
};

/* What a request waits for while its connection is suspended: an OCSP response or a CRL to be signed by
 * the owner's signer. */
struct CaHttpSignJob {
        struct MHD_Connection *connection;
        CaOcspPending *ocsp; /* one of the two */
        X509_CRL *crl;
        int result;
        bool done;
};

/* A request's state (con_cls): the POST body being received, and the signature it waits for. */
typedef struct Upload {
        uint8_t *data;
        size_t size;
        bool too_large;
        CaHttpSignJob *job;
} Upload;

static void mhd_log(void *userdata, const char *fmt, va_list ap) {
        log_internalv(LOG_DEBUG, 0, __FILE__, __LINE__, __func__, fmt, ap);
}

static MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                        size_t size) {
        struct MHD_Response *r;
        MHD_Result ret;

        r = MHD_create_response_from_buffer(size, (void *) data, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        if (type && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
                MHD_destroy_response(r);
                return MHD_NO;
        }
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text) {
        return reply(c, status, "text/plain", text, strlen(text));
}

static CaHttpSignJob *sign_job_free(CaHttpSignJob *j) {
        if (!j)
                return NULL;
        ca_ocsp_pending_free(j->ocsp);
        X509_CRL_free(j->crl);
        return mfree(j);
}

static MHD_Result reply_signed(struct MHD_Connection *c, CaHttpSignJob *job);

/* The request's state, made on its first call. */
static Upload *request_state(void **con_cls) {
        if (!*con_cls)
                *con_cls = calloc(1, sizeof(Upload));
        return *con_cls;
}

/* Suspends the connection until the owner's signer is done with the job (ca_http_sign_job_done(), which
 * comes from the owner's thread, so not before this returns). Returns false, with job freed, when the
 * signer cannot take it now (-EOPNOTSUPP): the caller signs here. */
static bool suspend_for_signature(CaHttp *h, struct MHD_Connection *c, void **con_cls, CaHttpSignJob *job,
                                  const char *key, MHD_Result *ret) {
        Upload *u = request_state(con_cls);
        int r;

        if (!u) {
                sign_job_free(job);
                *ret = MHD_NO;
                return true;
        }
        job->connection = c;
        r = h->signer(job, key, h->signer_userdata);
        if (r == -EOPNOTSUPP) {
                sign_job_free(job);
                return false;
        }
        u->job = job;
        if (r < 0) {
                log_debug_errno(r, "Failed to queue a signature: %m");
                job->result = r;
                job->done = true;
                *ret = reply_signed(c, job);
                return true;
        }
        MHD_suspend_connection(c);
        *ret = MHD_YES;
        return true;
}

static MHD_Result reply_ocsp_signed(struct MHD_Connection *c, CaOcspPending *p) {
        _cleanup_(OPENSSL_freep) uint8_t *resp = NULL;
        size_t n;

        if (ca_ocsp_pending_finish(p, &resp, &n) < 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "OCSP responder failure\n");
        return reply(c, MHD_HTTP_OK, "application/ocsp-response", resp, n);
}

static MHD_Result reply_ocsp(CaHttp *h, struct MHD_Connection *c, void **con_cls, const void *req,
                             size_t size) {
        _cleanup_(ca_ocsp_pending_freep) CaOcspPending *p = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *resp = NULL;
        CaHttpSignJob *job;
        MHD_Result ret;
        size_t n;
        int r;

        if (h->signer) {
                r = ca_ocsp_prepare(h->ca, req, size, &p, &resp, &n);
                if (r < 0)
                        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "OCSP responder failure\n");
                if (!p)
                        return reply(c, MHD_HTTP_OK, "application/ocsp-response", resp, n);

                job = calloc(1, sizeof(CaHttpSignJob));
                if (!job)
                        return MHD_NO;
                job->ocsp = TAKE_PTR(p);
                if (suspend_for_signature(h, c, con_cls, job,
                                          ca_ocsp_pending_delegated(job->ocsp) ? CA_HTTP_KEY_OCSP_SIGNER
                                                                               : CA_HTTP_KEY_INTERMEDIATE,
                                          &ret))
                        return ret;
        }

        if (ca_ocsp_respond(h->ca, req, size, &resp, &n) < 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "OCSP responder failure\n");
        return reply(c, MHD_HTTP_OK, "application/ocsp-response", resp, n);
}

static MHD_Result reply_crl_der(struct MHD_Connection *c, X509_CRL *crl) {
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        int n;

        n = i2d_X509_CRL(crl, &der);
        if (n <= 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "CRL encoding failed\n");
        return reply(c, MHD_HTTP_OK, "application/pkix-crl", der, (size_t) n);
}

static MHD_Result reply_crl(CaHttp *h, struct MHD_Connection *c, void **con_cls) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        CaHttpSignJob *job;
        MHD_Result ret;

        if (h->signer) {
                if (ca_crl_build(h->ca, h->crl_hours, &crl) < 0)
                        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "CRL generation failed\n");
                job = calloc(1, sizeof(CaHttpSignJob));
                if (!job)
                        return MHD_NO;
                job->crl = TAKE_PTR(crl);
                if (suspend_for_signature(h, c, con_cls, job, CA_HTTP_KEY_INTERMEDIATE, &ret))
                        return ret;
        }

        if (ca_crl_generate(h->ca, h->crl_hours, &crl) < 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "CRL generation failed\n");
        return reply_crl_der(c, crl);
}

/* The request's signature is there (the connection was resumed): the reply. */
static MHD_Result reply_signed(struct MHD_Connection *c, CaHttpSignJob *job) {
        if (job->ocsp)
                return reply_ocsp_signed(c, job->ocsp); /* internalError when not signed */
        if (job->result < 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "CRL signing failed\n");
        return reply_crl_der(c, job->crl);
}

int ca_http_sign_job_sign(CaHttpSignJob *job, OSSL_LIB_CTX *libctx, EVP_PKEY *key) {
        assert(job);
        assert(key);

        if (job->ocsp)
                return ca_ocsp_pending_sign(job->ocsp, libctx, key);
        return ca_crl_sign(job->crl, libctx, key);
}

void ca_http_sign_job_done(CaHttpSignJob *job, int result) {
        assert(job);
        assert(!job->done);

        job->result = result;
        job->done = true;
        MHD_resume_connection(job->connection);
}

static MHD_Result reply_ca_cert(CaHttp *h, struct MHD_Connection *c) {
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        int n = i2d_X509(ca_get_intermediate(h->ca), &der);

        if (n <= 0)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "certificate encoding failed\n");
        return reply(c, MHD_HTTP_OK, "application/pkix-cert", der, (size_t) n);
}

static MHD_Result handle(void *userdata, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_data_size,
                         void **con_cls) {
        CaHttp *h = userdata;
        Upload *u = *con_cls;
        const char *rest;

        if (u && u->job) {
                /* Called again after the connection was resumed: the signature is there. */
                if (!u->job->done)
                        return MHD_YES;
                return reply_signed(c, u->job);
        }

        if (streq(method, MHD_HTTP_METHOD_POST)) {
                if (!streq(url, "/ocsp"))
                        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
                if (!u) {
                        /* First call: headers only. */
                        u = calloc(1, sizeof(Upload));
                        if (!u)
                                return MHD_NO;
                        *con_cls = u;
                        return MHD_YES;
                }
                if (*upload_data_size > 0) {
                        size_t n = *upload_data_size;

                        *upload_data_size = 0;
                        if (u->too_large || n > CA_OCSP_REQUEST_SIZE_MAX - u->size) {
                                u->too_large = true;
                                return MHD_YES;
                        }
                        uint8_t *p = realloc(u->data, u->size + n);
                        if (!p)
                                return MHD_NO;
                        memcpy(p + u->size, upload_data, n);
                        u->data = p;
                        u->size += n;
                        return MHD_YES;
                }
                if (u->too_large)
                        return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n");
                return reply_ocsp(h, c, con_cls, u->data, u->size);
        }

        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        if (streq(url, "/crl"))
                return reply_crl(h, c, con_cls);
        if (streq(url, "/ca.crt"))
                return reply_ca_cert(h, c);
        rest = startswith(url, "/ocsp/");
        if (rest) {
                _cleanup_free_ void *req = NULL;
                size_t n;

                /* MHD has unescaped the path already. */
                if (strlen(rest) > 2 * CA_OCSP_REQUEST_SIZE_MAX ||
                    unbase64mem(rest, strlen(rest), &req, &n) < 0)
                        return reply_ocsp(h, c, con_cls, "", 0); /* malformedRequest */
                return reply_ocsp(h, c, con_cls, req, n);
        }
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void completed(void *userdata, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code) {
        Upload *u = *con_cls;

        if (u) {
                free(u->data);
                sign_job_free(u->job);
                free(u);
                *con_cls = NULL;
        }
}

int ca_http_new(Ca *ca, const char *address, uint16_t port, CaHttp **ret) {
        _cleanup_(ca_http_freep) CaHttp *h = NULL;
        struct sockaddr_storage sa = {};
        const union MHD_DaemonInfo *info;
        /* Suspending and resuming connections (for signatures made by the owner's signer) adds an eventfd to
         * MHD's epoll set: a resumed connection makes ca_http_get_fd() readable. */
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

        assert(ca);
        assert(ret);

        address = address ?: "127.0.0.1";
        if (inet_pton(AF_INET, address, &((struct sockaddr_in *) &sa)->sin_addr) == 1) {
                ((struct sockaddr_in *) &sa)->sin_family = AF_INET;
                ((struct sockaddr_in *) &sa)->sin_port = htons(port);
        } else if (inet_pton(AF_INET6, address, &((struct sockaddr_in6 *) &sa)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *) &sa)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *) &sa)->sin6_port = htons(port);
                flags |= MHD_USE_IPv6;
        } else
                return log_debug_errno(EINVAL, "Not an IP address: '%s'.", address);

        h = calloc(1, sizeof(CaHttp));
        if (!h)
                return -ENOMEM;
        h->ca = ca;
        h->crl_hours = CA_HTTP_CRL_HOURS;
        h->daemon = MHD_start_daemon(flags, port, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                                     h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) CA_HTTP_CONNECTIONS_MAX,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CA_HTTP_TIMEOUT_SEC,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) (32U * 1024U),
                                     MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
        if (!h->daemon)
                return log_debug_errno(EADDRINUSE, "Failed to start the CA's HTTP server on %s port %u.",
                                       address, port);
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        h->port = info ? info->port : port;

        *ret = TAKE_PTR(h);
        return 0;
}

CaHttp *ca_http_free(CaHttp *h) {
        if (!h)
                return NULL;
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        free(h);
        return NULL;
}

void ca_http_set_signer(CaHttp *h, CaHttpSigner signer, void *userdata) {
        assert(h);
        h->signer = signer;
        h->signer_userdata = userdata;
}

int ca_http_set_crl_hours(CaHttp *h, unsigned hours) {
        assert(h);

        if (hours == 0 || hours > 24U * 31U)
                return -ERANGE;
        h->crl_hours = hours;
        return 0;
}

uint16_t ca_http_get_port(CaHttp *h) {
        assert(h);
        return h->port;
}

int ca_http_get_fd(CaHttp *h) {
        const union MHD_DaemonInfo *info;

        assert(h);
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        return info ? info->epoll_fd : -EIO;
}

uint64_t ca_http_get_timeout(CaHttp *h) {
        MHD_UNSIGNED_LONG_LONG ms;

        assert(h);
        if (MHD_get_timeout(h->daemon, &ms) != MHD_YES)
                return UINT64_MAX;
        return ms > UINT64_MAX / 1000 ? UINT64_MAX : (uint64_t) ms * 1000;
}

int ca_http_process(CaHttp *h) {
        assert(h);
        return MHD_run(h->daemon) == MHD_YES ? 0 : -EIO;
}
