/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the CA tests: CSRs built with plain OpenSSL (so a test can make any request, broken
 * ones included), a CA in a temporary directory, and the openssl CLI as the independent peer. */

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "../basic/tmpdir-util.h"
#include "basic/fileio.h"
#include "ca/ca.h"
#include "shared/openssl-util.h"

#define TEST_PASSPHRASE "correct horse battery staple"

/* "/CN=a/O=b" with any attribute OpenSSL knows, as UTF8String without OpenSSL's length checks:
 * tests need invalid names too. */
static inline X509_NAME *test_name(const char *s) {
        X509_NAME *name = X509_NAME_new();
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        assert(name && copy);
        for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                char *eq = strchr(tok, '=');
                assert(eq);
                *eq = 0;
                if (X509_NAME_add_entry_by_txt(name, tok, V_ASN1_UTF8STRING, (unsigned char *) eq + 1, -1,
                                               -1, 0) != 1)
                        abort();
        }
        return name;
}

static inline void test_add_ext(STACK_OF(X509_EXTENSION) * *exts, int nid, const char *value) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

        if (!e)
                abort();
        if (!*exts)
                *exts = sk_X509_EXTENSION_new_null();
        sk_X509_EXTENSION_push(*exts, e);
}

/* A signed CSR in DER. The extensions are consumed. */
static inline uint8_t *test_csr_der(EVP_PKEY *key, X509_NAME *name, STACK_OF(X509_EXTENSION) * exts,
                                    size_t *ret_size) {
        X509_REQ *req = X509_REQ_new();
        uint8_t *der = NULL;
        int n;

        if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || X509_REQ_set_pubkey(req, key) != 1)
                abort();
        if (name && X509_REQ_set_subject_name(req, name) != 1)
                abort();
        if (exts && X509_REQ_add_extensions(req, exts) != 1)
                abort();
        if (X509_REQ_sign(req, key,
                          EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? NULL
                                                                                       : EVP_sha256()) <= 0)
                abort();
        n = i2d_X509_REQ(req, &der);
        if (n <= 0)
                abort();
        X509_REQ_free(req);
        X509_NAME_free(name);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        *ret_size = (size_t) n;
        return der;
}

/* A CSR for subject with one subjectAltName extension (san in openssl's config syntax, NULL: none). */
static inline uint8_t *test_csr(EVP_PKEY *key, const char *subject, const char *san, size_t *ret_size) {
        STACK_OF(X509_EXTENSION) *exts = NULL;

        if (san)
                test_add_ext(&exts, NID_subject_alt_name, san);
        return test_csr_der(key, subject ? test_name(subject) : X509_NAME_new(), exts, ret_size);
}

static inline EVP_PKEY *test_key_ec(const char *curve) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
        if (!k)
                abort();
        return k;
}

static inline int test_run(const char *fmt, ...) _printf_(1, 2);
static inline int test_run(const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (r < 0)
                abort();
        fprintf(stderr, "# %s\n", cmd);
        /* The commands' output goes to stderr, away from the TAP stream. */
        {
                _cleanup_free_ char *wrapped = NULL;
                if (asprintf(&wrapped, "( %s ) >&2", cmd) < 0)
                        abort();
                r = system(wrapped);
        }
        return WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

/* stdout of a shell command, NUL-terminated. */
static inline char *test_output(const char *fmt, ...) _printf_(1, 2);
static inline char *test_output(const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *out;
        va_list ap;
        int c;

        va_start(ap, fmt);
        if (vasprintf(&cmd, fmt, ap) < 0)
                abort();
        va_end(ap);
        fprintf(stderr, "# %s\n", cmd);
        f = popen(cmd, "r");
        out = open_memstream(&buf, &size);
        if (!f || !out)
                abort();
        while ((c = fgetc(f)) != EOF)
                fputc(c, out);
        pclose(f);
        fclose(out);
        return buf;
}

static inline void test_write_cert(const char *path, X509 *cert) {
        FILE *f = fopen(path, "we");
        if (!f || PEM_write_X509(f, cert) != 1)
                abort();
        fclose(f);
}

static inline void test_write_key(const char *path, EVP_PKEY *key) {
        FILE *f = fopen(path, "we");
        if (!f || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
                abort();
        fclose(f);
}

/* The standard test hierarchy: ECDSA P-256 root and intermediate, URLs set. */
static inline CaConfig test_config(int intermediate_pathlen) {
        return (CaConfig){
                .root = { .subject = "/CN=Test Root CA/O=Trusted Platform Test",
                          .key_type = CA_KEY_ECDSA_P256,
                          .validity_days = 3650,
                          .pathlen = -1 },
                .intermediate = { .subject = "/CN=Test Issuing CA/O=Trusted Platform Test",
                                  .key_type = CA_KEY_ECDSA_P256,
                                  .validity_days = 1825,
                                  .pathlen = intermediate_pathlen },
                .crl_url = "http://ca.example.test/issuing.crl",
                .ca_issuers_url = "http://ca.example.test/issuing.crt",
                .ocsp_url = "http://ocsp.example.test/",
        };
}

typedef struct TestCa {
        char *dir;
        char *ca_dir;
        CaKeyStore *store;
        Ca *ca;
} TestCa;

static inline void test_ca_open(TestCa *t, int intermediate_pathlen) {
        _cleanup_free_ char *keys = NULL;
        CaConfig c = test_config(intermediate_pathlen);

        t->dir = test_mkdtemp();
        assert(t->dir);
        if (asprintf(&t->ca_dir, "%s/ca", t->dir) < 0 || asprintf(&keys, "%s/ca/keys", t->dir) < 0)
                abort();
        if (ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &t->store) < 0)
                abort();
        if (ca_init(t->ca_dir, t->store, &c, &t->ca) != 1)
                abort();
}

static inline void test_ca_close(TestCa *t) {
        ca_free(t->ca);
        ca_keystore_free(t->store);
        free(t->ca_dir);
        test_rmdtemp(t->dir);
        *t = (TestCa){};
}
