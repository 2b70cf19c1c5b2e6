/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The trust store: certificates an administrator imported explicitly, kept in a directory
 *
 *   <dir>/anchors/<sha256>.pem         roots: trusted, self-signed
 *   <dir>/intermediates/<sha256>.pem   CA certificates that chain to a stored anchor: never trusted by
 *                                      themselves, only offered as untrusted chain elements
 *
 * (<sha256>: the lower-case hex SHA-256 of the DER, the certificate's fingerprint). Every write is
 * write_file_atomic(). Nothing is ever added to the store but by ca_trust_import(): a certificate fetched
 * from an AIA URL during verification only completes one chain and is forgotten.
 *
 * Also: the ready-made X509_STORE / SSL_CTX helpers for other components, and the OS trust store
 * (install/uninstall one root). */

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <time.h>

#include "basic/macro.h"

#define CA_TRUST_INPUT_SIZE_MAX (256U * 1024U) /* one import: PEM bundle or DER */
#define CA_TRUST_CERT_SIZE_MAX (16U * 1024U)   /* one certificate, DER */
#define CA_TRUST_IMPORT_CERTS_MAX 32U          /* certificates in one import */
#define CA_TRUST_STORE_CERTS_MAX 256U          /* certificates in the store */
#define CA_TRUST_CHAIN_MAX 8U                  /* untrusted certificates given with a leaf */
#define CA_TRUST_AIA_HOPS_MAX 4U               /* AIA fetches per verification */
#define CA_TRUST_AIA_SIZE_MAX (16U * 1024U)    /* one AIA response */
#define CA_TRUST_FINGERPRINT_LEN 64U

typedef enum CaTrustKind {
        CA_TRUST_ANCHOR,
        CA_TRUST_INTERMEDIATE,
        _CA_TRUST_KIND_MAX,
        _CA_TRUST_KIND_INVALID = -EINVAL,
} CaTrustKind;

const char *ca_trust_kind_to_string(CaTrustKind k) _const_;
CaTrustKind ca_trust_kind_from_string(const char *s) _pure_;

typedef struct CaTrustEntry {
        CaTrustKind kind;
        char fingerprint[CA_TRUST_FINGERPRINT_LEN + 1];
        char *subject; /* RFC 2253 */
        char *issuer;
        time_t not_before, not_after;
        X509 *cert;
} CaTrustEntry;

void ca_trust_entry_array_free(CaTrustEntry *l, size_t n);

/* Parses data (one DER certificate, or PEM with one or more CERTIFICATE blocks and nothing but
 * whitespace between them and around them) into certificates: at most CA_TRUST_INPUT_SIZE_MAX bytes
 * (-E2BIG), at most CA_TRUST_IMPORT_CERTS_MAX certificates (-E2BIG), each at most CA_TRUST_CERT_SIZE_MAX
 * bytes of exact DER (-EINVAL for garbage, trailing bytes, other PEM types). */
int ca_trust_parse(const void *data, size_t size, STACK_OF(X509) * *ret);

/* The lower-case hex SHA-256 of the certificate's DER. */
int ca_trust_fingerprint(X509 *cert, char ret[static CA_TRUST_FINGERPRINT_LEN + 1]);

/* Normalizes a fingerprint given by a user (64 hex digits, either case, optional ':' between bytes) to
 * the store's form. -EINVAL for anything else. */
int ca_trust_fingerprint_normalize(const char *s, char ret[static CA_TRUST_FINGERPRINT_LEN + 1]);

/* Imports every certificate of data (ca_trust_parse()) into the store in dir (created 0755), all or
 * nothing: each must be a CA (basicConstraints cA, keyUsage keyCertSign when keyUsage is present:
 * -EMEDIUMTYPE otherwise), valid at now (0: time(); -EKEYEXPIRED otherwise), with a key of at least
 * RSA 2048 / ECDSA P-256 / Ed25519 (-EKEYREJECTED), no certificate twice in data (-ENOTUNIQ). A
 * self-signed certificate whose signature verifies with its own key becomes an anchor; any other is an
 * intermediate and must verify (as a CA, at now) to an anchor stored or imported in the same call, or
 * -ENOKEY. A self-issued certificate whose signature does not verify is -EBADMSG. The store must not
 * exceed CA_TRUST_STORE_CERTS_MAX (-ENOSPC). A certificate stored already counts as imported (idempotent).
 * ret_entries (may be NULL) gets one entry per certificate of data. Returns the number of certificates
 * that were new. */
int ca_trust_import(const char *dir, const void *data, size_t size, time_t now, CaTrustEntry **ret_entries,
                    size_t *ret_n);

/* Every certificate in the store, anchors first. Files whose content does not match their name, or
 * that do not parse, are skipped (and logged at debug level). */
int ca_trust_list(const char *dir, CaTrustEntry **ret, size_t *ret_n);

/* Removes the certificate with this fingerprint (ca_trust_fingerprint_normalize()). -ENOENT if none.
 * Removing an anchor leaves its intermediates in place, but nothing chains through them any more. */
int ca_trust_remove(const char *dir, const char *fingerprint, CaTrustKind *ret_kind);

/* The anchors and the intermediates of the store (either may be NULL). */
int ca_trust_load(const char *dir, STACK_OF(X509) * *ret_anchors, STACK_OF(X509) * *ret_intermediates);

/* An X509_STORE trusting the store's anchors and nothing else (the intermediates are not in it: give
 * them as untrusted certificates). extra_anchor (may be NULL) is trusted too (the daemon's own root).
 * With X509_V_FLAG_X509_STRICT; partial chains are not accepted. */
int ca_trust_new_x509_store(const char *dir, X509 *extra_anchor, X509_STORE **ret);

typedef enum CaTrustPurpose {
        CA_TRUST_PURPOSE_ANY,
        CA_TRUST_PURPOSE_TLS_SERVER,
        CA_TRUST_PURPOSE_TLS_CLIENT,
        CA_TRUST_PURPOSE_CODE_SIGNING,
        CA_TRUST_PURPOSE_EMAIL,
        _CA_TRUST_PURPOSE_MAX,
        _CA_TRUST_PURPOSE_INVALID = -EINVAL,
} CaTrustPurpose;

const char *ca_trust_purpose_to_string(CaTrustPurpose p) _const_;
CaTrustPurpose ca_trust_purpose_from_string(const char *s) _pure_;

typedef struct CaTrustVerifyParams {
        CaTrustPurpose purpose;
        time_t now;                /* 0: time() */
        STACK_OF(X509_CRL) * crls; /* NULL: no revocation check; else the leaf's CRL must be among them */
        unsigned aia_hops;         /* 0: no AIA fetching; at most CA_TRUST_AIA_HOPS_MAX */
        unsigned aia_timeout_ms;   /* per fetch; 0: 5000 */
} CaTrustVerifyParams;

typedef struct CaTrustVerifyResult {
        bool valid;
        int error;        /* X509_V_ERR_* (X509_V_OK when valid) */
        int depth;        /* where it failed */
        char *reason;     /* human-readable; NULL when valid */
        char **chain;     /* subjects (RFC 2253), leaf first, the anchor last */
        unsigned fetched; /* certificates fetched over AIA and used */
} CaTrustVerifyResult;

void ca_trust_verify_result_done(CaTrustVerifyResult *r);

/* Verifies leaf with the untrusted certificates in chain (may be NULL, at most CA_TRUST_CHAIN_MAX) and
 * the store's intermediates against the store's anchors (and extra_anchor, may be NULL). When the issuer
 * of the top of the chain is missing and params->aia_hops > 0, its AIA caIssuers URL (http only, no
 * redirects, at most CA_TRUST_AIA_SIZE_MAX bytes, aia_timeout_ms) is fetched: a fetched certificate must
 * be one DER or PEM CA certificate that is not self-signed, and is only added to the untrusted
 * certificates of this verification; it is never trusted and never stored, so a chain still has to end
 * at an anchor imported by an administrator. Returns 0 with ret filled in (valid or not), or a negative
 * errno when the verification could not run. */
int ca_trust_verify(const char *dir, X509 *extra_anchor, X509 *leaf, STACK_OF(X509) * chain,
                    const CaTrustVerifyParams *params, CaTrustVerifyResult *ret);

/* Same for a PEM/DER blob: the first certificate is the leaf, the others its untrusted chain. */
int ca_trust_verify_blob(const char *dir, X509 *extra_anchor, const void *data, size_t size,
                         const CaTrustVerifyParams *params, CaTrustVerifyResult *ret);

/* Fetches the certificate at an http:// URL under the AIA rules above (exported for the tests). */
int ca_trust_fetch_aia(const char *url, unsigned timeout_ms, X509 **ret);

typedef enum CaTlsRole {
        CA_TLS_SERVER,
        CA_TLS_CLIENT,
} CaTlsRole;

typedef struct CaTlsParams {
        CaTlsRole role;
        X509 *cert; /* our certificate (may be NULL for a client without one) */
        EVP_PKEY *key;
        STACK_OF(X509) * chain; /* sent after cert, may be NULL */
        X509_STORE *trust;      /* taken over (also on failure); NULL: peers are not verified */
        bool require_peer_cert; /* server: fail the handshake when the client sends no certificate */
} CaTlsParams;

/* A TLS 1.3-only SSL_CTX: our certificate and key (checked to match), peers verified against trust
 * with SSL_VERIFY_PEER (and SSL_VERIFY_FAIL_IF_NO_PEER_CERT for a server with require_peer_cert; a
 * client always fails without a server certificate), purpose sslserver/sslclient for the peer. */
int ca_trust_new_ssl_ctx(const CaTlsParams *params, SSL_CTX **ret);

/* The OS trust store. */
typedef enum CaSystemTrust {
        CA_SYSTEM_TRUST_DEBIAN,  /* /usr/local/share/ca-certificates + update-ca-certificates */
        CA_SYSTEM_TRUST_FEDORA,  /* /etc/pki/ca-trust/source/anchors + update-ca-trust */
        CA_SYSTEM_TRUST_P11_KIT, /* trust anchor --store / --remove */
        _CA_SYSTEM_TRUST_MAX,
        _CA_SYSTEM_TRUST_INVALID = -EINVAL,
} CaSystemTrust;

const char *ca_system_trust_to_string(CaSystemTrust t) _const_;

#define CA_SYSTEM_TRUST_FILE_NAME "trusted-platform-root"

/* Which OS trust store is here: sysroot (NULL: "/"; tests pass a temporary directory) has
 * usr/local/share/ca-certificates and update-ca-certificates is on $PATH → Debian; etc/pki/ca-trust/
 * source/anchors and update-ca-trust → Fedora; `trust` on $PATH (only for sysroot "/") → p11-kit.
 * -EOPNOTSUPP otherwise. */
int ca_system_trust_detect(const char *sysroot, CaSystemTrust *ret);

/* Installs root into the OS trust store (its file is trusted-platform-root.crt or .pem, 0644, written
 * atomically) and runs the store's update command (fork + exec, no shell; with --sysroot or the
 * equivalent for a sysroot other than "/"). Idempotent: the same certificate installed already changes
 * nothing and runs nothing (returns 0); a different one is replaced (returns 1). -EPROTO when the update
 * command fails (the file stays: running the command again repairs it). root must be a self-signed CA. */
int ca_system_trust_install(const char *sysroot, X509 *root, CaSystemTrust *ret_kind);

/* Removes our file (and nothing else) and runs the update command. Returns 0 if nothing was installed,
 * 1 if it was removed.
 *
 * p11-kit keeps no file of ours: both ask the trust module first (`trust extract` of its ca-anchors,
 * searched for root) and run `trust anchor --store` / `--remove` only when that changes something (the
 * tool itself exits 0 either way). Its store is the first of the trust module's paths; without a
 * writable one (Debian's default) --store fails: -EPROTO, nothing stored. A root installed earlier that
 * differs from root is not replaced: uninstall it with that root. */
int ca_system_trust_uninstall(const char *sysroot, X509 *root, CaSystemTrust *ret_kind);
