/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The CA's HTTP endpoints (libmicrohttpd), for relying parties that follow the URLs in our
 * certificates:
 *
 *   POST /ocsp              application/ocsp-request -> application/ocsp-response (RFC 6960 A.1)
 *   GET  /ocsp/<base64>     the same, request in the URL (RFC 6960 A.1; '%'-escaped base64)
 *   GET  /crl               application/pkix-crl, DER, a fresh CRL valid for ca_http_set_crl_hours()
 *                           (default CA_HTTP_CRL_HOURS)
 *   GET  /ca.crt            application/pkix-cert, DER: the intermediate (the AIA caIssuers target)
 *
 * Plain HTTP on purpose: OCSP responses and CRLs are signed, and RFC 6960/5280 clients fetch them over
 * http (a TLS fetch would itself need revocation checking). No internal thread: the owner's event
 * loop watches ca_http_get_fd() and calls ca_http_process() when it is readable or
 * ca_http_get_timeout() passed (MHD's epoll mode), so the Ca is only ever used from one thread.
 * Limits: CA_HTTP_CONNECTIONS_MAX connections, CA_HTTP_TIMEOUT_SEC idle timeout, request bodies of at
 * most CA_OCSP_REQUEST_SIZE_MAX (413 above). */

#include <stdint.h>

#include "basic/macro.h"
#include "ca/ca.h"

#define CA_HTTP_CONNECTIONS_MAX 64U
#define CA_HTTP_TIMEOUT_SEC 10U
#define CA_HTTP_CRL_HOURS 24U

typedef struct CaHttp CaHttp;

/* Listens on address (an IPv4 or IPv6 literal; NULL: 127.0.0.1) and port (0: any free port, see
 * ca_http_get_port()). ca is borrowed and must outlive the server. Returns 0, -EINVAL (address),
 * -EADDRINUSE / -EIO (could not start). */
int ca_http_new(Ca *ca, const char *address, uint16_t port, CaHttp **ret);
CaHttp *ca_http_free(CaHttp *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaHttp *, ca_http_free);

/* How long the CRLs served on GET /crl are valid (nextUpdate), 1..24*31 hours: the owner's own CRL
 * lifetime, so a relying party gets the same nextUpdate over HTTP as in the CA's crl.pem. -ERANGE else. */
int ca_http_set_crl_hours(CaHttp *h, unsigned hours);

/* Has the signatures of OCSP responses and CRLs made by the owner (with a key held by the TPM, on another
 * thread) instead of in ca_http_process(): signer(job, key, userdata) is called in ca_http_process() with
 * the request's connection suspended and key the store id of the key to sign with (CA_HTTP_KEY_*); it
 * arranges for ca_http_sign_job_sign() to run with that key (on any thread) and then for
 * ca_http_sign_job_done() with its result on the owner's thread, which resumes the connection (and makes
 * ca_http_get_fd() readable). A signer that fails (negative return) has the job answered with an error;
 * -EOPNOTSUPP (cannot sign elsewhere now) has it signed here with the Ca's keys.
 * Every job must be done before ca_http_free(). NULL: sign here with the Ca's keys. */
#define CA_HTTP_KEY_INTERMEDIATE "intermediate"
#define CA_HTTP_KEY_OCSP_SIGNER "ocsp-signer"
typedef struct CaHttpSignJob CaHttpSignJob;
typedef int (*CaHttpSigner)(CaHttpSignJob *job, const char *key, void *userdata);
void ca_http_set_signer(CaHttp *h, CaHttpSigner signer, void *userdata);
int ca_http_sign_job_sign(CaHttpSignJob *job, OSSL_LIB_CTX *libctx, EVP_PKEY *key);
void ca_http_sign_job_done(CaHttpSignJob *job, int result);

uint16_t ca_http_get_port(CaHttp *h);
/* The fd to watch for EPOLLIN. */
int ca_http_get_fd(CaHttp *h);
/* When ca_http_process() must run at the latest, in µs from now; UINT64_MAX: only when the fd is
 * readable. */
uint64_t ca_http_get_timeout(CaHttp *h);
/* Does the pending work (accept, read, answer) without blocking. */
int ca_http_process(CaHttp *h);
