/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon runs for its certificate authority once the CA is open (ca-service.c): the HTTP
 * endpoints of ca-http.h in the event loop when [CA] HTTPListen= is set, the delegated OCSP-signing
 * certificate, and the timer that re-issues <ca_dir>/crl.pem before its nextUpdate. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/manager.h"

#define CA_CRL_HOURS_DEFAULT 24U
#define CA_CRL_HOURS_MIN 2U
#define CA_CRL_HOURS_MAX (24U * 31U)

typedef struct CaService CaService;
typedef struct Config Config;

/* Reads [CA] HTTPListen=, OCSPURL=, CRLURL=, CAIssuersURL= and CRLHours= into m. A malformed value is an
 * error (logged): the daemon refuses to start rather than run without the endpoints it was told to serve
 * or put broken URLs into certificates. */
int manager_load_ca_service_config(Manager *m, Config *config);

/* Parses [CA] HTTPListen=: "ADDRESS:PORT" with an IPv4 literal or a bracketed IPv6 literal
 * ("[::1]:8080") and a port 1..65535. Returns -EINVAL for anything else. */
int ca_listen_parse(const char *s, char **ret_address, uint16_t *ret_port);

/* Starts the services for the open m->ca (idempotent). Failures are logged and leave the CA usable over
 * D-Bus: a port that cannot be bound does not take the daemon down. */
int manager_start_ca_service(Manager *m);

/* After a revocation: rewrites crl.pem at once, and replaces the OCSP signer if it was the one revoked.
 * Failures are logged; the next timer run tries again. */
void manager_ca_service_revoked(Manager *m);

/* Where the TPM worker keeps its own OpenSSL library context for TPM store keys (ca_tpm_libctx_new()):
 * to be read and written only by jobs on the worker; freed with s, which manager_free() does after the
 * worker was joined. NULL without a service. */
typedef struct CaTpmLibctx CaTpmLibctx;
CaTpmLibctx **ca_service_worker_libctx(CaService *s);

/* Whether the CA's intermediate key signs on the TPM worker rather than in the event loop: with the TPM
 * store, once the service runs (it keeps the worker's tpm2 provider instance). A TPM2_Load and
 * TPM2_Sign take milliseconds on swtpm and up to seconds on a chip, and a TPM that hangs must not hang
 * the bus. The file store signs in software, in microseconds, in the event loop; the PKCS#11 store too
 * (its libp11 session belongs to the event loop, see docs/ARCHITECTURE.md). */
bool manager_ca_signs_on_worker(Manager *m);

/* Signs object with the key key_id of the TPM store on the TPM worker: sign() runs there with the key
 * loaded into the worker's library context libctx (its own tpm2 provider instance: sign in libctx, not
 * in the default one) and must touch nothing but object and key
 * (ca_issue_pending_sign(), ca_crl_sign()); done() runs in the event loop afterwards with its result
 * (-ECANCELED when the daemon shuts down first: then it must only free userdata). The worker runs jobs
 * one at a time in the order submitted, so CA operations that sign there finish in the order they
 * started. On failure nothing was queued and userdata stays the caller's. */
typedef int (*ca_worker_sign_t)(void *object, OSSL_LIB_CTX *libctx, EVP_PKEY *key);
typedef void (*ca_worker_signed_t)(int result, void *userdata);
int manager_ca_sign_on_worker(Manager *m, const char *key_id, ca_worker_sign_t sign, void *object,
                              ca_worker_signed_t done, void *userdata);

CaService *ca_service_free(CaService *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaService *, ca_service_free);
