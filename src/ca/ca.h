/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A certificate authority: a root and one intermediate that signs everything issued, kept in a
 * directory (0700) with their keys in a CaKeyStore:
 *
 *   <dir>/root.pem, <dir>/intermediate.pem        the CA certificates
 *   <dir>/index/<SERIAL>.json, <dir>/certs/...      issued certificates (ca-index.h)
 *   <dir>/lock                                      flock()ed while a Ca is open
 *   store ids "root" and "intermediate"             the CA keys */

#include <openssl/x509v3.h>
#include <time.h>

#include "basic/macro.h"
#include "ca/ca-index.h"
#include "ca/ca-keystore.h"
#include "ca/ca-profile.h"

#define CA_CSR_SIZE_MAX (64U * 1024U)
#define CA_VALIDITY_DAYS_MAX (365U * 30U)
#define CA_NAME_CONSTRAINTS_MAX 32U

typedef struct CaLevelConfig {
        const char *subject; /* "/CN=.../O=..." (ca_name_parse()) */
        CaKeyType key_type;
        unsigned validity_days; /* 1..CA_VALIDITY_DAYS_MAX */
        int pathlen;            /* < 0: none */
} CaLevelConfig;

typedef struct CaConfig {
        CaLevelConfig root;
        CaLevelConfig intermediate;
        char **permitted_dns; /* name constraints on the intermediate (DNS subtrees), may be NULL */
        char **excluded_dns;
        const char *crl_url; /* for issued certificates; NULL: none */
        const char *ca_issuers_url;
        const char *ocsp_url;
} CaConfig;

typedef struct Ca Ca;

/* Where serial numbers come from: fills n bytes. The default is OpenSSL's RAND_bytes(); the daemon
 * puts the TPM RNG here. */
typedef int (*CaRandomFunc)(void *buf, size_t n, void *userdata);

/* Opens the CA in dir, creating what is missing: root key and certificate, then intermediate key
 * and certificate. Never replaces anything: an existing CA is adopted when its certificates agree
 * with config (subjects, key types, the intermediate's path length), else -EEXIST (a different CA
 * lives there). A key without its certificate (a crash during an earlier init) is adopted and
 * certified. Each certificate must match its key. dir is created 0700; an existing dir must be
 * ours and not more open than 0700 (-EPERM). The directory lock is held until ca_free(): a second
 * opener gets -EBUSY. store is borrowed and must outlive the Ca.
 * Returns 1 if anything was created, 0 if an existing CA was adopted, or a negative errno:
 * -EINVAL for a bad config. */
int ca_init(const char *dir, CaKeyStore *store, const CaConfig *config, Ca **ret);

/* The checks ca_init() makes of config, without opening anything: 0 or -EINVAL / -E2BIG. */
int ca_config_check(const CaConfig *c);

Ca *ca_free(Ca *ca);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ca *, ca_free);

void ca_set_random(Ca *ca, CaRandomFunc func, void *userdata);
/* A time source for tests (NULL: time()). */
void ca_set_clock(Ca *ca, time_t (*now)(void));

X509 *ca_get_root(Ca *ca);
X509 *ca_get_intermediate(Ca *ca);
const char *ca_get_directory(Ca *ca);

typedef struct CaIssueRequest {
        CaProfileId profile;
        unsigned validity_days; /* 0: the profile's default; more than the profile's maximum: -EINVAL */
        const CaTpmInfo *tpm;   /* required by (and only allowed for) profiles with a TPM SAN (ak, ek) */
} CaIssueRequest;

/* Issues a certificate for the CSR in csr (PEM or DER, at most CA_CSR_SIZE_MAX bytes) under
 * request->profile, signed by the intermediate. The CSR's signature must verify (proof of
 * possession, -EBADMSG), its key must be RSA 2048..8192, ECDSA P-256/P-384/P-521 or Ed25519
 * (-EKEYREJECTED for weak keys, -EOPNOTSUPP for other algorithms), its subject and SANs must pass
 * ca_name_sanitize()/ca_san_sanitize() against the profile (-EINVAL, -E2BIG). Of the requested
 * extensions only subjectAltName is read, and only as input to the profile's check. The validity
 * ends no later than the intermediate's. The certificate is returned only after its index record
 * is durable. ret_serial may be NULL. */
int ca_issue(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request, X509 **ret,
             char **ret_serial);

/* Issues a certificate for a public key the caller vouches for (no proof of possession: for keys that
 * cannot sign a CSR, such as a TPM's EK, after the caller checked them otherwise), with the subject
 * "/CN=.../O=..." (ca_name_parse(); "" or NULL only where the profile allows an empty subject) and the
 * SANs "DNS:...", "IP:...", "email:...", "URI:..." checked as a CSR's are. Errors as ca_issue(). */
int ca_issue_key(Ca *ca, EVP_PKEY *key, const char *subject, char *const *sans,
                 const CaIssueRequest *request, X509 **ret, char **ret_serial);

/* The key store id of the key the CA keeps for the certificate with serial: "cert-<serial>" in lower
 * case (37 bytes). -EINVAL for a serial that is not canonical. */
int ca_issued_key_id(const char *serial, char **ret);

/* Makes a key of key_type in store under ca_issued_key_id() of a fresh serial and issues a certificate
 * for it as ca_issue_key() does. Only for profiles with daemon_key (-EINVAL otherwise); every check
 * runs before the key is made. The key is made before the certificate's record: if issuing fails after
 * that, the key is removed from store again (unless the record was written); only a crash in between
 * leaves a key whose serial was never issued. -EOPNOTSUPP: the store cannot hold key_type. */
int ca_issue_generate(Ca *ca, CaKeyStore *store, CaKeyType key_type, const char *subject, char *const *sans,
                      const CaIssueRequest *request, X509 **ret, char **ret_serial);

/* ca_issue_generate() in three steps, for a caller that makes the key elsewhere (on another thread):
 * _prepare() runs every check and picks the serial (the key's store id: ca_issue_prepared_key_id()); the
 * caller makes a key of ca_issue_prepared_key_type() under that id in the store; _finish() issues the
 * certificate for key (its public half is enough) and removes the key from store when that fails, as
 * ca_issue_generate() does. A CaIssuePrepared is finished once at most. */
typedef struct CaIssuePrepared CaIssuePrepared;
int ca_issue_generate_prepare(Ca *ca, CaKeyType key_type, const char *subject, char *const *sans,
                              const CaIssueRequest *request, CaIssuePrepared **ret);
const char *ca_issue_prepared_key_id(const CaIssuePrepared *p) _pure_;
CaKeyType ca_issue_prepared_key_type(const CaIssuePrepared *p) _pure_;
int ca_issue_generate_finish(Ca *ca, CaKeyStore *store, CaIssuePrepared *p, EVP_PKEY *key, X509 **ret,
                             char **ret_serial);
CaIssuePrepared *ca_issue_prepared_free(CaIssuePrepared *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaIssuePrepared *, ca_issue_prepared_free);

/* Issuing with the intermediate's key held elsewhere (on another thread, in a library context of its
 * own: the TPM store's key through the worker's tpm2 provider instance). _begin() makes every check of
 * ca_issue() and draws the serial (unused in the index), and builds the certificate unsigned;
 * ca_issue_pending_sign() signs it with the intermediate's key (in libctx) and touches no Ca, so it may run on any
 * thread; _commit() checks that the signature is the intermediate's (-EBADMSG otherwise) and writes the
 * index record as ca_issue() does (-EEXIST when the serial was recorded meanwhile). Nothing is written
 * before _commit(): a pending issuance that is freed uncommitted leaves no trace. */
typedef struct CaIssuePending CaIssuePending;
int ca_issue_begin(Ca *ca, const void *csr, size_t csr_size, const CaIssueRequest *request,
                   CaIssuePending **ret);
/* ca_issue_generate_finish() up to the signature: for the key made (or its public half). Removes the key
 * from store when the certificate cannot be built, as _finish() does; ca_issue_generate_abort() after a
 * failure later on. */
int ca_issue_generate_begin(Ca *ca, CaKeyStore *store, CaIssuePrepared *p, EVP_PKEY *key,
                            CaIssuePending **ret);
void ca_issue_generate_abort(Ca *ca, CaKeyStore *store, const CaIssuePrepared *p);
const char *ca_issue_pending_serial(const CaIssuePending *p) _pure_;
int ca_issue_pending_sign(CaIssuePending *p, OSSL_LIB_CTX *libctx, EVP_PKEY *key);
int ca_issue_commit(Ca *ca, CaIssuePending *p, X509 **ret, char **ret_serial);
CaIssuePending *ca_issue_pending_free(CaIssuePending *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaIssuePending *, ca_issue_pending_free);

/* The key the CA keeps for the issued certificate serial, for signing: the certificate must be
 * valid now (-EKEYREVOKED revoked, -EKEYEXPIRED expired or not yet valid), its profile must allow
 * digital signatures (-EPERM), and store must hold its key (-ENOKEY). -ENOENT: no such certificate. */
int ca_held_key_load(Ca *ca, CaKeyStore *store, const char *serial, EVP_PKEY **ret_key, X509 **ret_cert);

/* The checks of ca_held_key_load() without loading the key (which may be a TPM operation): the
 * certificate and the key's store id. Same errors. */
int ca_held_key_check(Ca *ca, CaKeyStore *store, const char *serial, X509 **ret_cert, char **ret_key_id);

/* ca_held_sign() on a thread of its own, for a key of the TPM store: loads the key file key_path
 * (ca_keystore_tpm_key_path() of the id ca_held_key_check() gave) into libctx (ca_tpm_libctx_get() of ca_tpm_libctx_new(), that
 * thread's) and signs with it, carrying cert and intermediate. Touches no Ca. -ENOKEY: the key is gone or
 * is not cert's. */
int ca_held_sign_tpm_file(OSSL_LIB_CTX *libctx, const char *key_path, X509 *cert, X509 *intermediate,
                          const void *data, size_t size, uint8_t **ret, size_t *ret_size);

/* The key the CA keeps for serial as the tpm2 provider's "TSS2 PRIVATE KEY" PEM: the TPM-wrapped private
 * part, useless without this TPM, so it may be handed out. Returns 1 with *ret, or 0 with *ret = NULL for
 * a key that must stay where it is (a file store's software key, a token's). -ENOKEY: no such key. */
int ca_held_key_wrapped_pem(CaKeyStore *store, const char *serial, char **ret);

/* Signs data with the key the CA keeps for serial (ca_held_key_load()): a detached CMS signature
 * (ca_sign_detached()) carrying the certificate and the intermediate. */
int ca_held_sign(Ca *ca, CaKeyStore *store, const char *serial, const void *data, size_t size, uint8_t **ret,
                 size_t *ret_size);

/* Verifies a detached CMS signature over data against the CA's root (the intermediate may be used to
 * build the chain, never as an anchor of its own) and the CA's index. Returns 1 if valid, 0 if not
 * (then *ret_reason says why: the data do not match, the signer is not ours or is revoked...), or a
 * negative errno: -EBADMSG for something that is not a detached CMS signature, -E2BIG. *ret_subject
 * (RFC 2253) and *ret_serial are set when the signer is known, else NULL; *ret_reason is NULL when
 * valid. All three are the caller's to free(). */
int ca_held_verify(Ca *ca, const void *signature, size_t signature_size, const void *data, size_t size,
                   char **ret_subject, char **ret_serial, char **ret_reason);

/* ca_issue() for many CSRs with one durable flush for all of them (group commit, ca_index_add_batch()):
 * every certificate of a batch is returned only after all of the batch's records are durable. Per item
 * the result is ca_issue()'s (a bad CSR fails its item only); on success the item owns cert (X509_free())
 * and serial (free()). Returns the number of certificates issued, or a negative errno for the batch as a
 * whole (-E2BIG above CA_ISSUE_BATCH_MAX; an I/O error: then no item got a certificate). */
#define CA_ISSUE_BATCH_MAX CA_INDEX_BATCH_MAX

typedef struct CaIssueBatchItem {
        const void *csr;
        size_t csr_size;
        CaIssueRequest request;
        int result; /* out */
        X509 *cert; /* out */
        char *serial;
} CaIssueBatchItem;

int ca_issue_batch(Ca *ca, CaIssueBatchItem *items, size_t n);

/* Parses and checks a CSR as ca_issue() does, without issuing: returns the request with its
 * verified signature. */
int ca_csr_load(const void *csr, size_t csr_size, X509_REQ **ret);

/* The content checks of ca_issue() on a parsed request (the signature is ca_csr_load()'s job): the
 * subject rebuilt from its checked attributes, and the requested SANs checked against the profile
 * and rebuilt (ret_san_strv may be NULL). Separate so that the fuzzer reaches them without valid
 * signatures. */
int ca_csr_check_content(X509_REQ *req, CaProfileId profile, X509_NAME **ret_subject,
                         GENERAL_NAMES **ret_sans, char ***ret_san_strv);

/* Index access through the CA. */
int ca_lookup(Ca *ca, const char *serial, CaIndexEntry **ret_entry, X509 **ret_cert);
int ca_list(Ca *ca, CaIndexEntry ***ret, size_t *ret_n);
int ca_revoke(Ca *ca, const char *serial, CaRevocationReason reason);

/* A CRL over every revoked certificate, signed by the intermediate, valid for next_update_hours
 * (1..24*31), with CRL number = now and AKI = the intermediate's SKI. */
int ca_crl_generate(Ca *ca, unsigned next_update_hours, X509_CRL **ret);
/* ca_crl_generate() in two steps, for a caller that signs with the intermediate's key elsewhere:
 * ca_crl_build() makes the CRL unsigned (reads the index), ca_crl_sign() signs it with key (in libctx, NULL:
 * the default one) and touches no Ca (any thread). */
int ca_crl_build(Ca *ca, unsigned next_update_hours, X509_CRL **ret);
int ca_crl_sign(X509_CRL *crl, OSSL_LIB_CTX *libctx, EVP_PKEY *key);
