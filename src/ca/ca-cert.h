/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builds and signs one certificate from a template. Every extension is made here from checked
 * values; nothing is copied from a request. */

#include <openssl/x509v3.h>
#include <time.h>

#include "basic/macro.h"

#define CA_SERIAL_SIZE 16U /* 128 random bits */

/* keyUsage bits, as 1 << (bit number in RFC 5280 4.2.1.3). */
#define CA_KU_DIGITAL_SIGNATURE (1U << 0)
#define CA_KU_KEY_ENCIPHERMENT (1U << 2)
#define CA_KU_KEY_AGREEMENT (1U << 4)
#define CA_KU_KEY_CERT_SIGN (1U << 5)
#define CA_KU_CRL_SIGN (1U << 6)

typedef struct CaCertTemplate {
        const X509_NAME *subject;
        EVP_PKEY *subject_key; /* public part used */
        X509 *issuer;          /* NULL: self-signed (issuer = subject, AKI = own SKI) */
        EVP_PKEY *issuer_key;  /* signs; NULL (only with issuer): built unsigned, for ca_cert_sign() */
        uint8_t serial[CA_SERIAL_SIZE];
        time_t not_before, not_after;
        bool ca;
        int pathlen;         /* < 0: no pathLenConstraint */
        unsigned key_usage;  /* CA_KU_* */
        const int *eku_nids; /* NID_server_auth, ... */
        size_t n_eku;
        const char *eku_oid;        /* one more EKU, dotted OID (TCG's); NULL: none */
        const GENERAL_NAMES *sans;  /* NULL or empty: no SAN extension */
        bool san_critical;          /* for an empty subject (RFC 5280 4.2.1.6) */
        char *const *permitted_dns; /* name constraints (CA only), NULL-terminated */
        char *const *excluded_dns;
        const char *crl_url;        /* NULL: no CRL distribution point */
        const char *ca_issuers_url; /* NULL: no caIssuers in AIA */
        const char *ocsp_url;       /* NULL: no OCSP in AIA */
        bool ocsp_nocheck;          /* id-pkix-ocsp-nocheck */
} CaCertTemplate;

int ca_cert_build(const CaCertTemplate *t, X509 **ret);

/* Signs a certificate ca_cert_build() left unsigned with key, which lives in libctx (NULL: the default
 * library context; ca_sign_ctx_new_ex()). Touches nothing but cert and key: for a thread that holds the
 * issuer's key in a library context of its own. */
int ca_cert_sign(X509 *cert, OSSL_LIB_CTX *libctx, EVP_PKEY *key);

/* The RFC 7093 section 2 method 1 key identifier: the leftmost 160 bits of the SHA-256 of the
 * subjectPublicKey bits. ret must hold 20 bytes. */
int ca_key_identifier(EVP_PKEY *pkey, uint8_t ret[static 20]);

/* The message digest to sign with for key (NULL for Ed25519). */
const EVP_MD *ca_signature_md(EVP_PKEY *key);

/* A signing context for key with ca_signature_md(), bound to the key's own provider (TPM keys sign in
 * the tpm2 provider). For X509_sign_ctx(), X509_CRL_sign_ctx(), OCSP_basic_sign_ctx(). */
int ca_sign_ctx_new(EVP_PKEY *key, EVP_MD_CTX **ret);
/* The same in libctx (NULL: the default one): for a key loaded into a library context of its own. */
int ca_sign_ctx_new_ex(OSSL_LIB_CTX *libctx, EVP_PKEY *key, EVP_MD_CTX **ret);

/* An http(s) URL that is safe to put into an extension: printable, no spaces or commas. */
bool ca_url_is_valid(const char *url) _pure_;

/* The certificate as a NUL-terminated PEM string. */
int ca_cert_to_pem(X509 *cert, char **ret);

/* Serial as upper-case hex (2 * CA_SERIAL_SIZE characters). */
int ca_serial_to_string(const uint8_t serial[static CA_SERIAL_SIZE], char **ret);
int ca_serial_from_string(const char *s, uint8_t ret[static CA_SERIAL_SIZE]);
