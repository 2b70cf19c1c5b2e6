/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trust store: explicit imports (and every way an import is refused), list/remove, chain
 * verification with CRLs, AIA fetching from a local HTTP server (libmicrohttpd) that may only complete a
 * chain to an anchor already trusted, and the OS trust store under a temporary sysroot with fake and
 * real update commands. */

#include <setjmp.h>
#include <stdarg.h>
#include <ctype.h>
#include <stddef.h>

#include <cmocka.h>
#include <microhttpd.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca-test-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-trust.h"

#define DAY (24 * 3600)

typedef struct Certs {
        EVP_PKEY *root_key, *int_key, *leaf_key;
        X509 *root, *intermediate, *leaf;
} Certs;

static X509 *make_cert(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                       unsigned ku, time_t nb, time_t na, const char *aia) {
        X509_NAME *name = test_name(subject);
        CaCertTemplate t = {
                .subject = name,
                .subject_key = key,
                .issuer = issuer,
                .issuer_key = issuer_key,
                .not_before = nb,
                .not_after = na,
                .ca = ca,
                .pathlen = -1,
                .key_usage = ku,
                .ca_issuers_url = aia,
        };
        X509 *x = NULL;

        if (RAND_bytes(t.serial, sizeof(t.serial)) != 1)
                abort();
        t.serial[0] &= 0x7f;
        t.serial[0] |= 0x01;
        assert_int_equal(ca_cert_build(&t, &x), 0);
        X509_NAME_free(name);
        return x;
}

static X509 *make_ca(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *aia) {
        time_t now = time(NULL);
        return make_cert(subject, key, issuer, issuer_key, true, CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN,
                         now - DAY, now + 365 * DAY, aia);
}

static X509 *make_leaf(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *aia) {
        time_t now = time(NULL);
        return make_cert(subject, key, issuer, issuer_key, false, CA_KU_DIGITAL_SIGNATURE, now - DAY,
                         now + 30 * DAY, aia);
}

static void certs_make(Certs *c, const char *aia) {
        c->root_key = test_key_ec("P-256");
        c->int_key = test_key_ec("P-256");
        c->leaf_key = test_key_ec("P-256");
        c->root = make_ca("/CN=Trust Root", c->root_key, NULL, c->root_key, NULL);
        c->intermediate = make_ca("/CN=Trust Intermediate", c->int_key, c->root, c->root_key, NULL);
        c->leaf = make_leaf("/CN=leaf.example.test", c->leaf_key, c->intermediate, c->int_key, aia);
}

static void certs_free(Certs *c) {
        EVP_PKEY_free(c->root_key);
        EVP_PKEY_free(c->int_key);
        EVP_PKEY_free(c->leaf_key);
        X509_free(c->root);
        X509_free(c->intermediate);
        X509_free(c->leaf);
}

static char *pem_of(X509 *x) {
        char *pem = NULL;
        assert_int_equal(ca_cert_to_pem(x, &pem), 0);
        return pem;
}

static uint8_t *der_of(X509 *x, size_t *ret_size) {
        uint8_t *der = NULL;
        int n = i2d_X509(x, &der);
        assert_true(n > 0);
        *ret_size = (size_t) n;
        return der;
}

static int import_x(const char *dir, X509 *x) {
        _cleanup_free_ char *pem = pem_of(x);
        return ca_trust_import(dir, pem, strlen(pem), 0, NULL, NULL);
}

static size_t store_size(const char *dir) {
        CaTrustEntry *l = NULL;
        size_t n = 0;

        assert_int_equal(ca_trust_list(dir, &l, &n), 0);
        ca_trust_entry_array_free(l, n);
        return n;
}

static void test_import_list_remove(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *dir = NULL, *pem = NULL, *bundle = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        char fp[CA_TRUST_FINGERPRINT_LEN + 1], colons[3 * 32];
        CaTrustEntry *l = NULL;
        CaTrustKind kind;
        size_t n = 0, der_size;
        Certs c = {};

        certs_make(&c, NULL);
        assert_non_null(tmp);
        assert_true(asprintf(&dir, "%s/trust", tmp) > 0);

        /* An intermediate before its anchor: refused. */
        der = der_of(c.intermediate, &der_size);
        assert_int_equal(ca_trust_import(dir, der, der_size, 0, NULL, NULL), -ENOKEY);

        pem = pem_of(c.root);
        assert_int_equal(ca_trust_import(dir, pem, strlen(pem), 0, &l, &n), 1);
        assert_int_equal(n, 1);
        assert_int_equal(l[0].kind, CA_TRUST_ANCHOR);
        assert_string_equal(l[0].subject, "CN=Trust Root");
        ca_trust_entry_array_free(l, n);
        /* Idempotent. */
        assert_int_equal(ca_trust_import(dir, pem, strlen(pem), 0, NULL, NULL), 0);

        /* Now the intermediate, as DER. */
        assert_int_equal(ca_trust_import(dir, der, der_size, 0, NULL, NULL), 1);
        assert_int_equal(ca_trust_list(dir, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(l[0].kind, CA_TRUST_ANCHOR);
        assert_int_equal(l[1].kind, CA_TRUST_INTERMEDIATE);
        assert_string_equal(l[1].issuer, "CN=Trust Root");
        memcpy(fp, l[1].fingerprint, sizeof(fp));
        ca_trust_entry_array_free(l, n);

        /* A file that does not match its name is skipped. */
        {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/anchors/%064d.pem", dir, 0) > 0);
                assert_int_equal(write_file_atomic(p, pem, strlen(pem), 0644), 0);
                assert_int_equal(store_size(dir), 2);
                assert_int_equal(unlink(p), 0);
        }

        /* Remove by fingerprint in upper case with colons. */
        for (size_t i = 0; i < 32; i++)
                sprintf(colons + 3 * i, "%c%c%s", toupper(fp[2 * i]), toupper(fp[2 * i + 1]),
                        i < 31 ? ":" : "");
        assert_int_equal(ca_trust_remove(dir, colons, &kind), 0);
        assert_int_equal(kind, CA_TRUST_INTERMEDIATE);
        assert_int_equal(ca_trust_remove(dir, fp, NULL), -ENOENT);
        assert_int_equal(store_size(dir), 1);
        assert_int_equal(ca_trust_remove(dir, "xyz", NULL), -EINVAL);
        assert_int_equal(ca_trust_remove(dir, "../../etc/passwd", NULL), -EINVAL);
        assert_int_equal(ca_trust_remove(dir, ":00", NULL), -EINVAL);

        /* A bundle: root + intermediate at once, intermediate first. */
        {
                _cleanup_free_ char *ipem = pem_of(c.intermediate);
                assert_true(asprintf(&bundle, "%s\n%s", ipem, pem) > 0);
        }
        assert_int_equal(ca_trust_import(dir, bundle, strlen(bundle), 0, NULL, NULL), 1);
        assert_int_equal(store_size(dir), 2);

        certs_free(&c);
        test_rmdtemp(TAKE_PTR(tmp));
}

static void test_import_malformed(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *dir = NULL, *pem = NULL, *s = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        time_t now = time(NULL);
        EVP_PKEY *other = test_key_ec("P-256"), *rsa1024;
        size_t der_size;
        Certs c = {};
        X509 *x;

        certs_make(&c, NULL);
        assert_true(asprintf(&dir, "%s/trust", tmp) > 0);
        pem = pem_of(c.root);
        der = der_of(c.root, &der_size);

        /* 1. empty, 2. garbage, 3. truncated DER, 4. DER with a trailing byte */
        assert_int_equal(ca_trust_import(dir, "", 0, 0, NULL, NULL), -EINVAL);
        assert_int_equal(ca_trust_import(dir, "hello world", 11, 0, NULL, NULL), -EINVAL);
        for (size_t cut = 1; cut < der_size; cut += 37)
                assert_int_equal(ca_trust_import(dir, der, cut, 0, NULL, NULL), -EINVAL);
        {
                _cleanup_free_ uint8_t *longer = malloc(der_size + 1);
                memcpy(longer, der, der_size);
                longer[der_size] = 0;
                assert_int_equal(ca_trust_import(dir, longer, der_size + 1, 0, NULL, NULL), -EINVAL);
        }
        /* 5. a PEM block of another type, 6. bad base64, 7. garbage after the block, 8. a NUL byte */
        {
                static const char key[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
                assert_int_equal(ca_trust_import(dir, key, strlen(key), 0, NULL, NULL), -EINVAL);
                static const char bad[] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
                assert_int_equal(ca_trust_import(dir, bad, strlen(bad), 0, NULL, NULL), -EINVAL);
                assert_true(asprintf(&s, "%sgarbage\n", pem) > 0);
                assert_int_equal(ca_trust_import(dir, s, strlen(s), 0, NULL, NULL), -EINVAL);
                s = mfree(s);
                assert_true(asprintf(&s, "junk\n%s", pem) > 0);
                assert_int_equal(ca_trust_import(dir, s, strlen(s), 0, NULL, NULL), -EINVAL);
                assert_int_equal(ca_trust_import(dir, pem, strlen(pem) + 1, 0, NULL, NULL), -EINVAL);
                s = mfree(s);
                static const char unterminated[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
                assert_int_equal(ca_trust_import(dir, unterminated, strlen(unterminated), 0, NULL, NULL),
                                 -EINVAL);
        }
        /* 9. a leaf as anchor */
        x = make_leaf("/CN=self leaf", other, NULL, other, NULL);
        assert_int_equal(import_x(dir, x), -EMEDIUMTYPE);
        X509_free(x);
        /* 10. a CA without keyCertSign */
        x = make_cert("/CN=no kcs", other, NULL, other, true, CA_KU_CRL_SIGN, now - DAY, now + DAY, NULL);
        assert_int_equal(import_x(dir, x), -EMEDIUMTYPE);
        X509_free(x);
        /* 11. a "root" that is not self-signed (its issuer is not in the store) */
        assert_int_equal(import_x(dir, c.intermediate), -ENOKEY);
        /* 12. self-issued but signed by another key */
        x = make_cert("/CN=forged root", c.root_key, NULL, other, true, CA_KU_KEY_CERT_SIGN, now - DAY,
                      now + DAY, NULL);
        assert_int_equal(import_x(dir, x), -EBADMSG);
        X509_free(x);
        /* 13. expired, 14. not yet valid */
        x = make_cert("/CN=old root", other, NULL, other, true, CA_KU_KEY_CERT_SIGN, now - 10 * DAY,
                      now - DAY, NULL);
        assert_int_equal(import_x(dir, x), -EKEYEXPIRED);
        X509_free(x);
        x = make_cert("/CN=future root", other, NULL, other, true, CA_KU_KEY_CERT_SIGN, now + DAY,
                      now + 10 * DAY, NULL);
        assert_int_equal(import_x(dir, x), -EKEYEXPIRED);
        X509_free(x);
        /* 15. a weak key */
        rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        assert_non_null(rsa1024);
        x = make_ca("/CN=weak root", rsa1024, NULL, rsa1024, NULL);
        assert_int_equal(import_x(dir, x), -EKEYREJECTED);
        X509_free(x);
        EVP_PKEY_free(rsa1024);
        /* 16. the same certificate twice in a bundle */
        assert_true(asprintf(&s, "%s%s", pem, pem) > 0);
        assert_int_equal(ca_trust_import(dir, s, strlen(s), 0, NULL, NULL), -ENOTUNIQ);
        s = mfree(s);
        /* 17. too many certificates in a bundle, 18. too large an input */
        {
                _cleanup_free_ char *many = NULL;
                for (unsigned i = 0; i <= CA_TRUST_IMPORT_CERTS_MAX; i++)
                        assert_non_null(strextend(&many, pem));
                assert_int_equal(ca_trust_import(dir, many, strlen(many), 0, NULL, NULL), -E2BIG);
                _cleanup_free_ char *huge = malloc(CA_TRUST_INPUT_SIZE_MAX + 1);
                memset(huge, ' ', CA_TRUST_INPUT_SIZE_MAX + 1);
                assert_int_equal(ca_trust_import(dir, huge, CA_TRUST_INPUT_SIZE_MAX + 1, 0, NULL, NULL),
                                 -E2BIG);
        }
        /* 19. all or nothing: a good root with a leaf in one bundle stores nothing */
        {
                _cleanup_free_ char *lpem = pem_of(c.leaf);
                assert_true(asprintf(&s, "%s%s", pem, lpem) > 0);
                assert_int_equal(ca_trust_import(dir, s, strlen(s), 0, NULL, NULL), -EMEDIUMTYPE);
                s = mfree(s);
                assert_int_equal(access(dir, F_OK), -1);
        }
        /* 20. an empty PEM (whitespace only) */
        assert_int_equal(ca_trust_import(dir, "\n\n", 2, 0, NULL, NULL), -EINVAL);

        EVP_PKEY_free(other);
        certs_free(&c);
        test_rmdtemp(TAKE_PTR(tmp));
}

static void test_store_limit(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *dir = NULL, *last = NULL;
        EVP_PKEY *key = test_key_ec("P-256");
        unsigned stored = 0;

        assert_true(asprintf(&dir, "%s/trust", tmp) > 0);
        /* Bundles of 32 self-signed roots (one key, distinct subjects: distinct certificates). */
        while (stored < CA_TRUST_STORE_CERTS_MAX) {
                _cleanup_free_ char *bundle = NULL;

                for (unsigned i = 0; i < CA_TRUST_IMPORT_CERTS_MAX; i++) {
                        _cleanup_free_ char *name = NULL, *pem = NULL;
                        X509 *x;

                        assert_true(asprintf(&name, "/CN=root %u", stored + i) > 0);
                        x = make_ca(name, key, NULL, key, NULL);
                        pem = pem_of(x);
                        X509_free(x);
                        assert_non_null(strextend(&bundle, pem));
                }
                assert_int_equal(ca_trust_import(dir, bundle, strlen(bundle), 0, NULL, NULL),
                                 (int) CA_TRUST_IMPORT_CERTS_MAX);
                stored += CA_TRUST_IMPORT_CERTS_MAX;
        }
        assert_int_equal(store_size(dir), CA_TRUST_STORE_CERTS_MAX);
        {
                X509 *x = make_ca("/CN=one too many", key, NULL, key, NULL);
                last = pem_of(x);
                X509_free(x);
        }
        assert_int_equal(ca_trust_import(dir, last, strlen(last), 0, NULL, NULL), -ENOSPC);
        assert_int_equal(store_size(dir), CA_TRUST_STORE_CERTS_MAX);

        EVP_PKEY_free(key);
        test_rmdtemp(TAKE_PTR(tmp));
}

static void test_verify_and_crl(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *dir = NULL;
        STACK_OF(X509) *chain = sk_X509_new_null();
        CaTrustVerifyResult res = {};
        CaTrustVerifyParams p = { .purpose = CA_TRUST_PURPOSE_ANY };
        Certs c = {}, foreign = {};

        certs_make(&c, NULL);
        certs_make(&foreign, NULL);
        assert_true(asprintf(&dir, "%s/trust", tmp) > 0);

        /* Empty store: nothing verifies. */
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        assert_non_null(res.reason);
        ca_trust_verify_result_done(&res);

        assert_int_equal(import_x(dir, c.root), 1);
        /* Leaf alone: the intermediate is missing. */
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        assert_int_equal(res.error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        ca_trust_verify_result_done(&res);
        /* With the chain given. */
        sk_X509_push(chain, c.intermediate);
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, chain, &p, &res), 0);
        assert_true(res.valid);
        assert_int_equal(strv_length(res.chain), 3);
        assert_string_equal(res.chain[0], "CN=leaf.example.test");
        assert_string_equal(res.chain[2], "CN=Trust Root");
        ca_trust_verify_result_done(&res);
        /* The intermediate stored instead. */
        assert_int_equal(import_x(dir, c.intermediate), 1);
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_true(res.valid);
        ca_trust_verify_result_done(&res);
        /* Wrong purpose: the leaf has no EKU for code signing. */
        p.purpose = CA_TRUST_PURPOSE_CODE_SIGNING;
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        ca_trust_verify_result_done(&res);
        p.purpose = CA_TRUST_PURPOSE_ANY;

        /* A foreign chain does not verify; giving its root as "chain" does not make it an anchor. */
        sk_X509_zero(chain);
        sk_X509_push(chain, foreign.intermediate);
        sk_X509_push(chain, foreign.root);
        assert_int_equal(ca_trust_verify(dir, NULL, foreign.leaf, chain, &p, &res), 0);
        assert_false(res.valid);
        ca_trust_verify_result_done(&res);
        /* ...unless given as the extra anchor. */
        assert_int_equal(ca_trust_verify(dir, foreign.root, foreign.leaf, chain, &p, &res), 0);
        assert_true(res.valid);
        ca_trust_verify_result_done(&res);

        /* Too long a chain. */
        for (unsigned i = 0; i < CA_TRUST_CHAIN_MAX; i++)
                sk_X509_push(chain, foreign.intermediate);
        assert_int_equal(ca_trust_verify(dir, NULL, foreign.leaf, chain, &p, &res), -E2BIG);

        /* Revocation with the CA library's own CRL. */
        {
                TestCa t = {};
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = test_key_ec("P-256");
                _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
                _cleanup_(X509_freep) X509 *issued = NULL;
                _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
                _cleanup_free_ char *serial = NULL;
                STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
                CaIssueRequest req = { .profile = CA_PROFILE_TLS_CLIENT };
                size_t csr_size;

                test_ca_open(&t, 0);
                csr = test_csr(k, "/CN=client", "DNS:client.example.test", &csr_size);
                assert_int_equal(ca_issue(t.ca, csr, csr_size, &req, &issued, &serial), 0);
                assert_int_equal(import_x(dir, ca_get_root(t.ca)), 1);
                assert_int_equal(import_x(dir, ca_get_intermediate(t.ca)), 1);

                assert_int_equal(ca_crl_generate(t.ca, 1, &crl), 0);
                sk_X509_CRL_push(crls, crl);
                p.crls = crls;
                p.purpose = CA_TRUST_PURPOSE_TLS_CLIENT;
                assert_int_equal(ca_trust_verify(dir, NULL, issued, NULL, &p, &res), 0);
                assert_true(res.valid);
                ca_trust_verify_result_done(&res);

                assert_int_equal(ca_revoke(t.ca, serial, CA_REASON_KEY_COMPROMISE), 0);
                X509_CRL_free(sk_X509_CRL_pop(crls));
                crl = NULL;
                assert_int_equal(ca_crl_generate(t.ca, 1, &crl), 0);
                sk_X509_CRL_push(crls, crl);
                assert_int_equal(ca_trust_verify(dir, NULL, issued, NULL, &p, &res), 0);
                assert_false(res.valid);
                assert_int_equal(res.error, X509_V_ERR_CERT_REVOKED);
                ca_trust_verify_result_done(&res);
                /* TLS client purpose vs server: */
                p.crls = NULL;
                p.purpose = CA_TRUST_PURPOSE_TLS_SERVER;
                assert_int_equal(ca_trust_verify(dir, NULL, issued, NULL, &p, &res), 0);
                assert_false(res.valid);
                ca_trust_verify_result_done(&res);

                sk_X509_CRL_free(crls); /* crl freed by its cleanup */
                test_ca_close(&t);
        }

        sk_X509_free(chain);
        certs_free(&c);
        certs_free(&foreign);
        test_rmdtemp(TAKE_PTR(tmp));
}

/* The AIA server. */
static X509 *served_intermediate, *served_root;

static enum MHD_Result aia_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls) {
        struct MHD_Response *resp;
        unsigned status = MHD_HTTP_OK;
        _cleanup_free_ uint8_t *body = NULL;
        size_t size = 0;
        enum MHD_Result ret;

        if (streq(url, "/int.der") || streq(url, "/root.der")) {
                uint8_t *der = NULL;
                int n = i2d_X509(streq(url, "/int.der") ? served_intermediate : served_root, &der);
                body = malloc((size_t) n);
                memcpy(body, der, (size_t) n);
                OPENSSL_free(der);
                size = (size_t) n;
        } else if (streq(url, "/int.pem")) {
                body = (uint8_t *) pem_of(served_intermediate);
                size = strlen((char *) body);
        } else if (streq(url, "/big")) {
                size = CA_TRUST_AIA_SIZE_MAX + 100;
                body = calloc(1, size);
        } else if (streq(url, "/slow")) {
                sleep(2);
        } else if (streq(url, "/redirect"))
                status = MHD_HTTP_FOUND;
        else
                status = MHD_HTTP_NOT_FOUND;

        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_COPY);
        if (status == MHD_HTTP_FOUND)
                MHD_add_response_header(resp, "Location", "/int.der");
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void test_aia(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *dir = NULL, *url = NULL, *base = NULL;
        CaTrustVerifyParams p = { .purpose = CA_TRUST_PURPOSE_ANY, .aia_hops = 2, .aia_timeout_ms = 1000 };
        CaTrustVerifyResult res = {};
        struct MHD_Daemon *d;
        const union MHD_DaemonInfo *info;
        Certs c = {}, foreign = {};
        X509 *leaf, *fetched = NULL;

        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                             aia_handler, NULL, MHD_OPTION_END);
        assert_non_null(d);
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        assert_true(asprintf(&base, "http://127.0.0.1:%u", info->port) > 0);

        assert_true(asprintf(&url, "%s/int.der", base) > 0);
        certs_make(&c, url);
        certs_make(&foreign, NULL);
        served_intermediate = c.intermediate;
        served_root = foreign.root;
        assert_true(asprintf(&dir, "%s/trust", tmp) > 0);
        assert_int_equal(import_x(dir, c.root), 1);

        /* No fetching allowed: the intermediate is missing. */
        p.aia_hops = 0;
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        ca_trust_verify_result_done(&res);
        /* Fetching completes the chain to the trusted root, and stores nothing. */
        p.aia_hops = 2;
        assert_int_equal(ca_trust_verify(dir, NULL, c.leaf, NULL, &p, &res), 0);
        assert_true(res.valid);
        assert_int_equal(res.fetched, 1);
        assert_int_equal(strv_length(res.chain), 3);
        ca_trust_verify_result_done(&res);
        assert_int_equal(store_size(dir), 1);

        /* A leaf of a foreign root whose AIA serves that self-signed root: never trusted. */
        url = mfree(url);
        assert_true(asprintf(&url, "%s/root.der", base) > 0);
        leaf = make_leaf("/CN=evil.example.test", foreign.leaf_key, foreign.root, foreign.root_key, url);
        assert_int_equal(ca_trust_verify(dir, NULL, leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        assert_int_equal(res.fetched, 0);
        ca_trust_verify_result_done(&res);
        X509_free(leaf);
        /* A leaf of a foreign intermediate pointing at our intermediate: the fetched certificate did not
         * issue it. */
        url = mfree(url);
        assert_true(asprintf(&url, "%s/int.der", base) > 0);
        leaf = make_leaf("/CN=evil2.example.test", foreign.leaf_key, foreign.intermediate, foreign.int_key,
                         url);
        assert_int_equal(ca_trust_verify(dir, NULL, leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        ca_trust_verify_result_done(&res);
        X509_free(leaf);

        /* The fetcher: PEM accepted; redirects, oversized, slow, 404 and https refused. */
        url = mfree(url);
        assert_true(asprintf(&url, "%s/int.pem", base) > 0);
        assert_int_equal(ca_trust_fetch_aia(url, 1000, &fetched), 0);
        assert_int_equal(X509_cmp(fetched, c.intermediate), 0);
        X509_free(fetched);
        url = mfree(url);
        assert_true(asprintf(&url, "%s/redirect", base) > 0);
        assert_int_equal(ca_trust_fetch_aia(url, 1000, &fetched), -EPROTO);
        url = mfree(url);
        assert_true(asprintf(&url, "%s/big", base) > 0);
        assert_int_equal(ca_trust_fetch_aia(url, 1000, &fetched), -EFBIG);
        url = mfree(url);
        assert_true(asprintf(&url, "%s/slow", base) > 0);
        assert_int_equal(ca_trust_fetch_aia(url, 300, &fetched), -ETIMEDOUT);
        url = mfree(url);
        assert_true(asprintf(&url, "%s/nothing", base) > 0);
        assert_int_equal(ca_trust_fetch_aia(url, 1000, &fetched), -EPROTO);
        assert_int_equal(ca_trust_fetch_aia("https://127.0.0.1/x", 1000, &fetched), -EINVAL);
        assert_int_equal(ca_trust_fetch_aia("file:///etc/passwd", 1000, &fetched), -EINVAL);
        assert_int_equal(ca_trust_fetch_aia("ftp://127.0.0.1/x", 1000, &fetched), -EINVAL);

        /* A leaf whose AIA redirects: the chain is not completed. */
        url = mfree(url);
        assert_true(asprintf(&url, "%s/redirect", base) > 0);
        leaf = make_leaf("/CN=redir.example.test", c.leaf_key, c.intermediate, c.int_key, url);
        assert_int_equal(ca_trust_verify(dir, NULL, leaf, NULL, &p, &res), 0);
        assert_false(res.valid);
        assert_int_equal(res.fetched, 0);
        ca_trust_verify_result_done(&res);
        X509_free(leaf);

        MHD_stop_daemon(d);
        certs_free(&c);
        certs_free(&foreign);
        test_rmdtemp(TAKE_PTR(tmp));
}

/* A fake update command that records its arguments (and fails when $FAKE_FAIL is set). */
static void write_fake(const char *bin, const char *name, const char *log) {
        _cleanup_free_ char *path = NULL, *script = NULL;

        assert_true(asprintf(&path, "%s/%s", bin, name) > 0);
        assert_true(asprintf(&script, "#!/bin/sh\necho \"%s $*\" >> %s\n[ -z \"$FAKE_FAIL\" ]\n", name, log) >
                    0);
        assert_int_equal(write_file_atomic(path, script, strlen(script), 0755), 0);
}

static void test_system_trust_fake(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *root = NULL, *bin = NULL, *log = NULL, *file = NULL,
                            *old_path = NULL, *content = NULL;
        CaSystemTrust kind;
        Certs c = {}, other = {};
        size_t size;

        certs_make(&c, NULL);
        certs_make(&other, NULL);
        old_path = strdup(getenv("PATH") ?: "/usr/bin:/bin");
        assert_true(asprintf(&root, "%s/root", tmp) > 0);
        assert_true(asprintf(&bin, "%s/bin", tmp) > 0);
        assert_true(asprintf(&log, "%s/calls", tmp) > 0);
        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(bin, 0755), 0);
        {
                _cleanup_free_ char *path = NULL;
                assert_true(asprintf(&path, "%s:/usr/bin:/bin", bin) > 0);
                setenv("PATH", path, 1);
        }

        /* Nothing recognizable. */
        assert_int_equal(ca_system_trust_detect(root, &kind), -EOPNOTSUPP);
        assert_int_equal(ca_system_trust_install(root, c.root, NULL), -EOPNOTSUPP);

        /* Debian. */
        assert_int_equal(test_run("mkdir -p %s/usr/local/share/ca-certificates", root), 0);
        assert_int_equal(ca_system_trust_detect(root, &kind), -EOPNOTSUPP); /* no command yet */
        write_fake(bin, "update-ca-certificates", log);
        assert_int_equal(ca_system_trust_detect(root, &kind), 0);
        assert_int_equal(kind, CA_SYSTEM_TRUST_DEBIAN);
        /* Not a root: refused. */
        assert_int_equal(ca_system_trust_install(root, c.intermediate, NULL), -EINVAL);
        assert_int_equal(ca_system_trust_install(root, c.root, &kind), 1);
        assert_true(asprintf(&file, "%s/usr/local/share/ca-certificates/trusted-platform-root.crt", root) > 0);
        assert_int_equal(read_full_file(file, 65536, &content, &size), 0);
        assert_non_null(strstr(content, "BEGIN CERTIFICATE"));
        content = mfree(content);
        assert_int_equal(read_full_file(log, 65536, &content, &size), 0);
        {
                _cleanup_free_ char *expect = NULL;
                assert_true(asprintf(&expect, "update-ca-certificates --sysroot %s\n", root) > 0);
                assert_string_equal(content, expect);
        }
        content = mfree(content);
        /* Idempotent: nothing written, nothing run. */
        assert_int_equal(ca_system_trust_install(root, c.root, NULL), 0);
        assert_int_equal(read_full_file(log, 65536, &content, &size), 0);
        assert_int_equal(strv_length(NULL), 0);
        assert_null(strstr(strchr(content, '\n') + 1, "update"));
        content = mfree(content);
        /* A different root replaces ours; a failing command is reported. */
        setenv("FAKE_FAIL", "1", 1);
        assert_int_equal(ca_system_trust_install(root, other.root, NULL), -EPROTO);
        unsetenv("FAKE_FAIL");
        /* Uninstall removes our file only. */
        assert_int_equal(test_run("echo keep > %s/usr/local/share/ca-certificates/other.crt", root), 0);
        assert_int_equal(ca_system_trust_uninstall(root, c.root, NULL), 1);
        assert_int_equal(access(file, F_OK), -1);
        assert_int_equal(test_run("test -f %s/usr/local/share/ca-certificates/other.crt", root), 0);
        assert_int_equal(ca_system_trust_uninstall(root, c.root, NULL), 0);

        /* Fedora style. */
        assert_int_equal(test_run("rm -rf %s/usr && mkdir -p %s/etc/pki/ca-trust/source/anchors", root, root),
                         0);
        write_fake(bin, "update-ca-trust", log);
        assert_int_equal(ca_system_trust_detect(root, &kind), 0);
        assert_int_equal(kind, CA_SYSTEM_TRUST_FEDORA);
        assert_int_equal(ca_system_trust_install(root, c.root, NULL), 1);
        assert_int_equal(
                test_run("test -f %s/etc/pki/ca-trust/source/anchors/trusted-platform-root.pem", root), 0);
        assert_int_equal(test_run("grep -q 'update-ca-trust extract --output %s/etc/pki/ca-trust/extracted' %s",
                                  root, log),
                         0);
        assert_int_equal(ca_system_trust_uninstall(root, c.root, NULL), 1);

        setenv("PATH", old_path, 1);
        certs_free(&c);
        certs_free(&other);
        test_rmdtemp(TAKE_PTR(tmp));
}

/* p11-kit's trust tool, for the real root only: with nothing but a fake `trust` on $PATH, neither Debian's
 * nor Fedora's tool is found, and the fake records what it was given (the file's content included). */
static void test_system_trust_p11_kit(void **state) {
        _cleanup_free_ char *tmp = test_mkdtemp(), *bin = NULL, *log = NULL, *script = NULL, *fake = NULL,
                            *old_path = NULL, *content = NULL, *stored = NULL;
        CaSystemTrust kind;
        Certs c = {};
        size_t size;

        certs_make(&c, NULL);
        old_path = strdup(getenv("PATH") ?: "/usr/bin:/bin");
        assert_true(asprintf(&bin, "%s/bin", tmp) > 0);
        assert_true(asprintf(&log, "%s/calls", tmp) > 0);
        assert_true(asprintf(&fake, "%s/trust", bin) > 0);
        assert_int_equal(mkdir(bin, 0755), 0);
        /* Shell builtins only ($PATH has nothing else): `extract` copies the stored anchor (none when
         * the state file is empty) to its last argument; `anchor` logs the file it was given and stores
         * it (--store) or empties the state (--remove). */
        assert_true(asprintf(&stored, "%s/anchor", tmp) > 0);
        assert_true(asprintf(&script,
                             "#!/bin/sh\necho \"trust $1 $2\" >> %s\n"
                             "if [ \"$1\" = extract ]; then for a; do out=\"$a\"; done; : > \"$out\"\n"
                             "  [ -s %s ] && while IFS= read -r l; do echo \"$l\"; done < %s > \"$out\"\n"
                             "  exit 0; fi\n"
                             "while IFS= read -r l; do echo \"$l\"; done < \"$3\" >> %s\n"
                             "if [ \"$2\" = --store ]; then\n"
                             "  while IFS= read -r l; do echo \"$l\"; done < \"$3\" > %s\n"
                             "else : > %s; fi\n",
                             log, stored, stored, log, stored, stored) > 0);
        assert_int_equal(write_file_atomic(fake, script, strlen(script), 0755), 0);
        setenv("PATH", bin, 1);

        assert_int_equal(ca_system_trust_detect(NULL, &kind), 0);
        assert_int_equal(kind, CA_SYSTEM_TRUST_P11_KIT);
        /* Not for another root directory: `trust` has no such option. */
        assert_int_equal(ca_system_trust_detect(tmp, &kind), -EOPNOTSUPP);

        /* Each step asks first (`trust extract`): installed already or nothing to remove is 0. */
        assert_int_equal(ca_system_trust_uninstall(NULL, c.root, NULL), 0);
        assert_int_equal(ca_system_trust_install(NULL, c.root, &kind), 1);
        assert_int_equal(ca_system_trust_install(NULL, c.root, &kind), 0);
        assert_int_equal(ca_system_trust_uninstall(NULL, c.root, NULL), 1);
        assert_int_equal(ca_system_trust_uninstall(NULL, c.root, NULL), 0);
        assert_int_equal(ca_system_trust_uninstall(NULL, c.intermediate, NULL), -EINVAL);
        setenv("PATH", old_path, 1);

        assert_int_equal(read_full_file(log, 65536, &content, &size), 0);
        assert_true(startswith(content,
                               "trust extract --format=pem-bundle\ntrust extract --format=pem-bundle\n"
                               "trust anchor --store\n-----BEGIN CERTIFICATE-----"));
        assert_non_null(strstr(content, "trust anchor --remove\n-----BEGIN CERTIFICATE-----"));
        /* Exactly one store and one remove. */
        assert_null(strstr(strstr(content, "trust anchor --store") + 1, "trust anchor --store"));
        assert_null(strstr(strstr(content, "trust anchor --remove") + 1, "trust anchor --remove"));

        certs_free(&c);
        test_rmdtemp(TAKE_PTR(tmp));
}

/* Debian's real update-ca-certificates with --sysroot into a temporary tree. */
static void test_system_trust_debian_real(void **state) {
        _cleanup_free_ char *tmp = NULL, *root = NULL, *bundle = NULL;
        Certs c = {}, other = {};

        /* scripts/install-deps installs ca-certificates: its absence is a failure, never a skip. */
        if (access("/usr/sbin/update-ca-certificates", X_OK) < 0)
                fail_msg("update-ca-certificates is not installed (package ca-certificates)");
        tmp = test_mkdtemp();
        certs_make(&c, NULL);
        certs_make(&other, NULL);
        setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
        assert_true(asprintf(&root, "%s/root", tmp) > 0);
        assert_int_equal(
                test_run("mkdir -p %s/usr/local/share/ca-certificates %s/usr/share/ca-certificates "
                         "%s/etc/ssl/certs %s/etc/ca-certificates/update.d && touch %s/etc/ca-certificates.conf",
                         root, root, root, root, root),
                0);
        /* Another administrator's root beside ours: it must stay. */
        {
                _cleanup_free_ char *keep = NULL;
                assert_true(asprintf(&keep, "%s/usr/local/share/ca-certificates/keep.crt", root) > 0);
                test_write_cert(keep, other.root);
        }
        assert_int_equal(ca_system_trust_install(root, c.root, NULL), 1);
        assert_true(asprintf(&bundle, "%s/etc/ssl/certs/ca-certificates.crt", root) > 0);
        /* The bundle now holds our root, and openssl verifies a chain with it. */
        {
                _cleanup_free_ char *leaf = NULL, *inter = NULL;
                assert_true(asprintf(&leaf, "%s/leaf.pem", tmp) > 0);
                assert_true(asprintf(&inter, "%s/int.pem", tmp) > 0);
                test_write_cert(leaf, c.leaf);
                test_write_cert(inter, c.intermediate);
                assert_int_equal(test_run("openssl verify -CAfile %s -untrusted %s %s", bundle, inter, leaf),
                                 0);
        }
        assert_int_equal(ca_system_trust_uninstall(root, c.root, NULL), 1);
        {
                _cleanup_free_ char *leaf = NULL, *inter = NULL;
                assert_true(asprintf(&leaf, "%s/leaf.pem", tmp) > 0);
                assert_true(asprintf(&inter, "%s/int.pem", tmp) > 0);
                /* The other local root keeps the bundle alive; ours is gone from it. */
                assert_int_equal(test_run("grep -q BEGIN %s", bundle), 0);
                assert_int_equal(test_run("openssl verify -CAfile %s -untrusted %s %s", bundle, inter, leaf),
                                 2);
        }

        certs_free(&c);
        certs_free(&other);
        test_rmdtemp(TAKE_PTR(tmp));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_import_list_remove),
                cmocka_unit_test(test_import_malformed),
                cmocka_unit_test(test_store_limit),
                cmocka_unit_test(test_verify_and_crl),
                cmocka_unit_test(test_aia),
                cmocka_unit_test(test_system_trust_fake),
                cmocka_unit_test(test_system_trust_p11_kit),
                cmocka_unit_test(test_system_trust_debian_real),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
