/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CA end to end with the openssl CLI as the judge: init is idempotent and never replaces a CA,
 * issued chains verify, extensions come from the profile (never from the request), SKI/AKI chain up,
 * the index records every certificate before it is returned, revocation shows in a CRL that
 * openssl checks, and a TLS 1.3 handshake with mutual authentication works with issued certificates. */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "basic/log.h"
#include "ca-test-util.h"

static void assert_mode(const char *dir, const char *name, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, mode);
}

static uint8_t *cert_der(X509 *c, int *ret_n) {
        uint8_t *der = NULL;
        *ret_n = i2d_X509(c, &der);
        assert_true(*ret_n > 0);
        return der;
}

static void test_init_idempotent(void **state) {
        _cleanup_free_ char *keys = NULL, *path = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *root_der = NULL, *int_der = NULL, *again_der = NULL;
        CaConfig c = test_config(0), other;
        TestCa t = {};
        Ca *second = NULL;
        int n1, n2, n3;

        test_ca_open(&t, 0);
        assert_true(asprintf(&keys, "%s/keys", t.ca_dir) > 0);

        assert_mode(t.dir, "ca", 0700);
        assert_mode(t.ca_dir, "keys", 0700);
        assert_mode(t.ca_dir, "keys/root.pem", 0600);
        assert_mode(t.ca_dir, "keys/intermediate.pem", 0600);
        assert_mode(t.ca_dir, "index", 0700);
        assert_mode(t.ca_dir, "certs", 0700);
        assert_mode(t.ca_dir, "root.pem", 0644);

        /* Open while another Ca holds it. */
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &second), -EBUSY);

        root_der = cert_der(ca_get_root(t.ca), &n1);
        int_der = cert_der(ca_get_intermediate(t.ca), &n2);
        ca_free(t.ca);

        /* Adopted, not recreated. */
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 0);
        again_der = cert_der(ca_get_root(t.ca), &n3);
        assert_int_equal(n1, n3);
        assert_memory_equal(root_der, again_der, (size_t) n1);
        OPENSSL_free(again_der);
        again_der = cert_der(ca_get_intermediate(t.ca), &n3);
        assert_int_equal(n2, n3);
        assert_memory_equal(int_der, again_der, (size_t) n2);
        ca_free(t.ca);
        t.ca = NULL;

        /* A different configuration is refused with EEXIST, for each compared property. */
        other = c;
        other.root.subject = "/CN=Another Root";
        assert_int_equal(ca_init(t.ca_dir, t.store, &other, &second), -EEXIST);
        other = c;
        other.root.key_type = CA_KEY_ECDSA_P384;
        assert_int_equal(ca_init(t.ca_dir, t.store, &other, &second), -EEXIST);
        other = c;
        other.intermediate.subject = "/CN=Another Issuing CA";
        assert_int_equal(ca_init(t.ca_dir, t.store, &other, &second), -EEXIST);
        other = c;
        other.intermediate.pathlen = 3;
        assert_int_equal(ca_init(t.ca_dir, t.store, &other, &second), -EEXIST);

        /* Crash after the intermediate key was written but before its certificate: the key is adopted. */
        assert_true(asprintf(&path, "%s/intermediate.pem", t.ca_dir) > 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 1);
        {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
                assert_int_equal(ca_keystore_load(t.store, "intermediate", &k), 0);
                assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(ca_get_intermediate(t.ca))), 1);
        }
        ca_free(t.ca);
        t.ca = NULL;

        /* A certificate without its key is an error, never a reason to make a new key. */
        free(path);
        assert_true(asprintf(&path, "%s/keys/intermediate.pem", t.ca_dir) > 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &second), -ENOKEY);
        assert_int_equal(access(path, F_OK), -1);

        test_ca_close(&t);
}

static void test_init_bad_config(void **state) {
        char *dir = test_mkdtemp();
        _cleanup_free_ char *keys = NULL, *cadir = NULL;
        CaKeyStore *s = NULL;
        Ca *ca = NULL;
        CaConfig c;

        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_true(asprintf(&cadir, "%s/ca", dir) > 0);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &s), 0);

        c = test_config(0);
        c.root.subject = "CN=no slash";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.root.subject = "/CN=";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.root.subject = "/XX=unknown";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.root.subject = "/C=Germany";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.root.validity_days = 0;
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.root.pathlen = 0;
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.intermediate.subject = c.root.subject;
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.crl_url = "http://a.example/x.crl,URI:http://evil";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.ocsp_url = "ldap://a.example/";
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.intermediate.key_type = (CaKeyType) 99;
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        c = test_config(0);
        c.permitted_dns = (char *[]){ (char *) "*.example.com", NULL };
        assert_int_equal(ca_init(cadir, s, &c, &ca), -EINVAL);
        /* Nothing was created by any of these. */
        assert_int_equal(access(cadir, F_OK), -1);

        ca_keystore_free(s);
        test_rmdtemp(dir);
}

/* Issues a tls-server certificate for key, writes root/intermediate/leaf/key files into t->dir. */
static X509 *issue_server(TestCa *t, EVP_PKEY *key, char **ret_serial) {
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        X509 *cert = NULL;
        size_t n;

        csr = test_csr(key, "/CN=www.example.com/O=Example",
                       "DNS:www.example.com,DNS:*.api.example.com,IP:192.0.2.1", &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, ret_serial), 0);
        return cert;
}

static void write_chain(TestCa *t) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        assert_true(asprintf(&a, "%s/root.crt", t->dir) > 0);
        assert_true(asprintf(&b, "%s/int.crt", t->dir) > 0);
        test_write_cert(a, ca_get_root(t->ca));
        test_write_cert(b, ca_get_intermediate(t->ca));
}

static void test_issue_tls_server(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(X509_freep) X509 *cert = NULL, *stored = NULL;
        _cleanup_free_ char *serial = NULL, *leaf = NULL, *text = NULL, *pem_path = NULL;
        uint8_t keyid[20];
        const ASN1_OCTET_STRING *ski, *aki;
        CaIndexEntry *e = NULL;
        TestCa t = {};
        struct stat st;

        test_ca_open(&t, 0);
        cert = issue_server(&t, key, &serial);
        write_chain(&t);
        assert_true(asprintf(&leaf, "%s/leaf.crt", t.dir) > 0);
        test_write_cert(leaf, cert);

        assert_int_equal(
                test_run("openssl verify -x509_strict -purpose sslserver -CAfile %s/root.crt -untrusted %s/int.crt %s",
                         t.dir, t.dir, leaf),
                0);
        /* The leaf is not a CA: nothing it signs can chain. */
        assert_int_not_equal(test_run("openssl verify -CAfile %s/root.crt %s 2>/dev/null", t.dir, leaf), 0);

        text = test_output("openssl x509 -in %s -noout -text", leaf);
        assert_non_null(strstr(text, "CA:FALSE"));
        assert_non_null(strstr(text, "TLS Web Server Authentication"));
        assert_null(strstr(text, "TLS Web Client Authentication"));
        assert_non_null(strstr(text, "Digital Signature"));
        assert_null(strstr(text, "Key Encipherment")); /* EC key: no key transport */
        assert_non_null(strstr(text, "DNS:www.example.com, DNS:*.api.example.com, IP Address:192.0.2.1"));
        assert_non_null(strstr(text, "URI:http://ca.example.test/issuing.crl"));
        assert_non_null(strstr(text, "OCSP - URI:http://ocsp.example.test/"));
        assert_non_null(strstr(text, "CA Issuers - URI:http://ca.example.test/issuing.crt"));
        assert_non_null(strstr(text, "ecdsa-with-SHA256"));

        /* SKI is the leaf's own key's identifier; AKI is the intermediate's SKI, not the leaf's. */
        assert_int_equal(ca_key_identifier(key, keyid), 0);
        ski = X509_get0_subject_key_id(cert);
        aki = X509_get0_authority_key_id(cert);
        assert_non_null(ski);
        assert_non_null(aki);
        assert_int_equal(ASN1_STRING_length(ski), 20);
        assert_memory_equal(ASN1_STRING_get0_data(ski), keyid, 20);
        assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca_get_intermediate(t.ca))), 0);
        assert_int_not_equal(ASN1_OCTET_STRING_cmp(aki, ski), 0);
        assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(ca_get_intermediate(t.ca)),
                                               X509_get0_subject_key_id(ca_get_root(t.ca))),
                         0);

        /* 128-bit serial, recorded in the index with its certificate. */
        assert_int_equal(strlen(serial), 32);
        assert_int_equal(ca_lookup(t.ca, serial, &e, &stored), 0);
        assert_int_equal(X509_cmp(cert, stored), 0);
        assert_string_equal(e->serial, serial);
        assert_string_equal(e->profile, "tls-server");
        assert_string_equal(e->subject, "O=Example,CN=www.example.com");
        assert_string_equal(e->sans[0], "DNS:www.example.com");
        assert_string_equal(e->sans[1], "DNS:*.api.example.com");
        assert_string_equal(e->sans[2], "IP:192.0.2.1");
        assert_null(e->sans[3]);
        assert_int_equal(e->status, CA_CERT_VALID);
        assert_true(e->not_after - e->not_before > 89 * 24 * 3600);
        ca_index_entry_free(e);

        assert_true(asprintf(&pem_path, "%s/certs/%s.pem", t.ca_dir, serial) > 0);
        assert_int_equal(stat(pem_path, &st), 0);
        assert_int_equal(
                test_run("openssl x509 -in %s -noout -serial | grep -qx 'serial=%s'", pem_path, serial), 0);

        test_ca_close(&t);
}

static void test_requested_extensions_not_copied(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *leaf = NULL, *text = NULL;
        STACK_OF(X509_EXTENSION) *exts = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        TestCa t = {};
        size_t n;

        test_ca_open(&t, 0);
        test_add_ext(&exts, NID_subject_alt_name, "DNS:host.example.com");
        test_add_ext(&exts, NID_basic_constraints, "critical,CA:TRUE,pathlen:5");
        test_add_ext(&exts, NID_key_usage, "critical,keyCertSign,cRLSign");
        test_add_ext(&exts, NID_ext_key_usage, "codeSigning,OCSPSigning");
        test_add_ext(&exts, NID_name_constraints, "permitted;DNS:evil.example");
        csr = test_csr_der(key, test_name("/CN=host.example.com"), exts, &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &cert, NULL), 0);

        assert_int_equal(X509_check_ca(cert), 0);
        assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
        assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_SERVER);

        write_chain(&t);
        assert_true(asprintf(&leaf, "%s/leaf.crt", t.dir) > 0);
        test_write_cert(leaf, cert);
        text = test_output("openssl x509 -in %s -noout -text", leaf);
        assert_non_null(strstr(text, "CA:FALSE"));
        assert_null(strstr(text, "Certificate Sign"));
        assert_null(strstr(text, "Code Signing"));
        assert_null(strstr(text, "OCSP Signing"));
        assert_null(strstr(text, "Name Constraints"));
        assert_null(strstr(text, "pathlen"));

        test_ca_close(&t);
}

static void test_issue_tls_client_rsa_and_ed25519(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = NULL, *ed = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *c1 = NULL, *c2 = NULL, *c3 = NULL;
        _cleanup_free_ char *leaf = NULL, *text = NULL;
        CaIssueRequest client = { .profile = CA_PROFILE_TLS_CLIENT, .validity_days = 30 };
        CaIssueRequest server = { .profile = CA_PROFILE_TLS_SERVER };
        TestCa t = {};
        size_t n;

        assert_non_null(rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048));
        assert_non_null(ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
        test_ca_open(&t, 0);
        write_chain(&t);
        assert_true(asprintf(&leaf, "%s/leaf.crt", t.dir) > 0);

        csr = test_csr(rsa, "/CN=alice/O=Example", "email:alice@example.com,URI:spiffe://example.com/alice",
                       &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &client, &c1, NULL), 0);
        test_write_cert(leaf, c1);
        assert_int_equal(
                test_run("openssl verify -x509_strict -purpose sslclient -CAfile %s/root.crt -untrusted %s/int.crt %s",
                         t.dir, t.dir, leaf),
                0);
        assert_int_not_equal(
                test_run("openssl verify -purpose sslserver -CAfile %s/root.crt -untrusted %s/int.crt %s 2>/dev/null",
                         t.dir, t.dir, leaf),
                0);
        text = test_output("openssl x509 -in %s -noout -text -dates", leaf);
        assert_non_null(strstr(text, "TLS Web Client Authentication"));
        assert_non_null(strstr(text, "email:alice@example.com, URI:spiffe://example.com/alice"));
        assert_true(X509_cmp_time(X509_get0_notAfter(c1), &(time_t){ time(NULL) + 31 * 24 * 3600 }) < 0);

        /* RSA leaves in tls-server get keyEncipherment (TLS 1.2 RSA key exchange). */
        OPENSSL_free(csr);
        csr = test_csr(rsa, "/CN=rsa.example.com", "DNS:rsa.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &server, &c2, NULL), 0);
        assert_int_equal(X509_get_key_usage(c2), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);

        OPENSSL_free(csr);
        csr = test_csr(ed, "/CN=ed.example.com", "DNS:ed.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &server, &c3, NULL), 0);
        test_write_cert(leaf, c3);
        assert_int_equal(
                test_run("openssl verify -CAfile %s/root.crt -untrusted %s/int.crt %s", t.dir, t.dir, leaf),
                0);

        test_ca_close(&t);
}

static void test_issue_sub_ca(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-384");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *sub = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_SUB_CA };
        TestCa t = {};
        size_t n;

        /* Path length 0 on the intermediate: no sub-CA below it. */
        test_ca_open(&t, 0);
        csr = test_csr(key, "/CN=Department CA/O=Example", NULL, &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &sub, NULL), -EINVAL);
        test_ca_close(&t);

        test_ca_open(&t, 1);
        /* A sub-CA request with SANs is refused, not trimmed. */
        OPENSSL_free(csr);
        csr = test_csr(key, "/CN=Department CA/O=Example", "DNS:ca.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &sub, NULL), -EINVAL);
        OPENSSL_free(csr);
        csr = test_csr(key, "/CN=Department CA/O=Example", NULL, &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &sub, NULL), 0);
        assert_int_equal(X509_check_ca(sub), 1);
        assert_int_equal(X509_get_pathlen(sub), 0);
        assert_int_equal(X509_get_key_usage(sub), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
        /* Never outlives its issuer. */
        assert_true(ASN1_TIME_compare(X509_get0_notAfter(sub),
                                      X509_get0_notAfter(ca_get_intermediate(t.ca))) <= 0);

        write_chain(&t);
        assert_true(asprintf(&path, "%s/sub.crt", t.dir) > 0);
        test_write_cert(path, sub);
        assert_int_equal(test_run("openssl verify -x509_strict -CAfile %s/root.crt -untrusted %s/int.crt %s",
                                  t.dir, t.dir, path),
                         0);
        text = test_output("openssl x509 -in %s -noout -text", path);
        assert_non_null(strstr(text, "CA:TRUE, pathlen:0"));
        assert_non_null(strstr(text, "Certificate Sign, CRL Sign"));
        assert_null(strstr(text, "Extended Key Usage"));

        /* The intermediate's name constraints are there when configured: a fresh CA with them. */
        test_ca_close(&t);
}

static void test_name_constraints(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *ok = NULL, *bad = NULL;
        _cleanup_free_ char *keys = NULL, *cadir = NULL, *text = NULL;
        CaConfig c = test_config(0);
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        TestCa t = {};
        size_t n;

        t.dir = test_mkdtemp();
        assert_true(asprintf(&keys, "%s/ca/keys", t.dir) > 0);
        assert_true(asprintf(&t.ca_dir, "%s/ca", t.dir) > 0);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &t.store), 0);
        c.permitted_dns = (char *[]){ (char *) "example.com", NULL };
        c.excluded_dns = (char *[]){ (char *) "secret.example.com", NULL };
        c.root.key_type = CA_KEY_RSA_2048;
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 1);
        write_chain(&t);

        text = test_output("openssl x509 -in %s/int.crt -noout -text", t.dir);
        assert_non_null(strstr(text, "X509v3 Name Constraints: critical"));
        assert_non_null(strstr(text, "sha256WithRSAEncryption")); /* signed by the RSA root */

        csr = test_csr(key, "/CN=www.example.com", "DNS:www.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &ok, NULL), 0);
        OPENSSL_free(csr);
        /* The CA issues it (constraints are the relying party's check), and openssl then refuses it. */
        csr = test_csr(key, "/CN=db.secret.example.com", "DNS:db.secret.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &bad, NULL), 0);
        {
                _cleanup_free_ char *a = NULL, *b = NULL;
                assert_true(asprintf(&a, "%s/ok.crt", t.dir) > 0);
                assert_true(asprintf(&b, "%s/bad.crt", t.dir) > 0);
                test_write_cert(a, ok);
                test_write_cert(b, bad);
                assert_int_equal(test_run("openssl verify -CAfile %s/root.crt -untrusted %s/int.crt %s",
                                          t.dir, t.dir, a),
                                 0);
                assert_int_not_equal(
                        test_run("openssl verify -CAfile %s/root.crt -untrusted %s/int.crt %s 2>/dev/null",
                                 t.dir, t.dir, b),
                        0);
        }
        test_ca_close(&t);
}

static void test_index_revoke_crl(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(X509_freep) X509 *good = NULL, *revoked = NULL;
        _cleanup_free_ char *s_good = NULL, *s_revoked = NULL, *text = NULL;
        X509_CRL *crl = NULL;
        CaIndexEntry **l = NULL, *e = NULL;
        size_t n = 0;
        TestCa t = {};
        FILE *f;

        test_ca_open(&t, 0);
        good = issue_server(&t, key, &s_good);
        revoked = issue_server(&t, key, &s_revoked);
        assert_string_not_equal(s_good, s_revoked);

        assert_int_equal(ca_list(t.ca, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_true(strcmp(l[0]->serial, l[1]->serial) < 0);
        assert_true(streq(l[0]->serial, s_good) || streq(l[1]->serial, s_good));
        ca_index_entry_array_free(l, n);

        assert_int_equal(ca_revoke(t.ca, s_revoked, CA_REASON_KEY_COMPROMISE), 0);
        assert_int_equal(ca_revoke(t.ca, s_revoked, CA_REASON_KEY_COMPROMISE), -EALREADY);
        assert_int_equal(ca_revoke(t.ca, "00112233445566778899AABBCCDDEEFF", CA_REASON_UNSPECIFIED), -ENOENT);
        assert_int_equal(ca_revoke(t.ca, "../../etc/passwd", CA_REASON_UNSPECIFIED), -EINVAL);
        assert_int_equal(ca_revoke(t.ca, "00112233445566778899aabbccddeeff", CA_REASON_UNSPECIFIED), -EINVAL);
        assert_int_equal(ca_revoke(t.ca, s_good, (CaRevocationReason) 7), -EINVAL);
        assert_int_equal(ca_revoke(t.ca, s_good, (CaRevocationReason) 11), -EINVAL);
        assert_int_equal(ca_lookup(t.ca, "nonsense", &e, NULL), -EINVAL);
        assert_int_equal(ca_lookup(t.ca, s_revoked, &e, NULL), 0);
        assert_int_equal(e->status, CA_CERT_REVOKED);
        assert_int_equal(e->reason, CA_REASON_KEY_COMPROMISE);
        ca_index_entry_free(e);

        assert_int_equal(ca_crl_generate(t.ca, 0, &crl), -EINVAL);
        assert_int_equal(ca_crl_generate(t.ca, 24, &crl), 0);
        write_chain(&t);
        {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/crl.pem", t.dir) > 0);
                assert_non_null(f = fopen(p, "we"));
                assert_int_equal(PEM_write_X509_CRL(f, crl), 1);
                fclose(f);
                free(p);
                assert_true(asprintf(&p, "%s/good.crt", t.dir) > 0);
                test_write_cert(p, good);
                free(p);
                assert_true(asprintf(&p, "%s/revoked.crt", t.dir) > 0);
                test_write_cert(p, revoked);
        }
        /* A CRL only for the leaf level (the root has none yet), so -crl_check, not -crl_check_all. */
        assert_int_equal(
                test_run("openssl verify -crl_check -CAfile %s/root.crt -untrusted %s/int.crt -CRLfile %s/crl.pem "
                         "%s/good.crt",
                         t.dir, t.dir, t.dir, t.dir),
                0);
        text = test_output(
                "openssl verify -crl_check -CAfile %s/root.crt -untrusted %s/int.crt -CRLfile %s/crl.pem "
                "%s/revoked.crt 2>&1",
                t.dir, t.dir, t.dir, t.dir);
        assert_non_null(strstr(text, "certificate revoked"));
        free(text);
        text = test_output("openssl crl -in %s/crl.pem -noout -text", t.dir);
        assert_non_null(strstr(text, s_revoked));
        assert_null(strstr(text, s_good));
        assert_non_null(strstr(text, "Key Compromise"));
        assert_non_null(strstr(text, "X509v3 CRL Number"));

        X509_CRL_free(crl);
        test_ca_close(&t);
}

/* Issuing and CRLs in steps, as the daemon does with the intermediate's key on its TPM worker: nothing is
 * recorded before the commit, a signature by another key is refused at the commit, and the results equal
 * what the one-step calls make (openssl verifies them). */
static void test_issue_and_crl_in_steps(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256"), *intermediate = NULL,
                                           *other = test_key_ec("P-256");
        _cleanup_(ca_issue_pending_freep) CaIssuePending *p = NULL, *q = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_free_ char *serial = NULL, *leaf = NULL, *crl_path = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        CaIndexEntry **l = NULL;
        size_t n, n_before = 0, n_after = 0;
        FILE *f;
        TestCa t = {};

        test_ca_open(&t, 0);
        assert_int_equal(ca_keystore_load(t.store, "intermediate", &intermediate), 0);
        csr = test_csr(key, "/CN=www.example.com/O=Example", "DNS:www.example.com", &n);
        assert_int_equal(ca_list(t.ca, &l, &n_before), 0);
        ca_index_entry_array_free(l, n_before);

        /* Two pending at once: distinct serials, nothing in the index yet. */
        assert_int_equal(ca_issue_begin(t.ca, csr, n, &req, &p), 0);
        assert_int_equal(ca_issue_begin(t.ca, csr, n, &req, &q), 0);
        assert_string_not_equal(ca_issue_pending_serial(p), ca_issue_pending_serial(q));
        assert_int_equal(ca_lookup(t.ca, ca_issue_pending_serial(p), NULL, NULL), -ENOENT);
        assert_int_equal(ca_issue_commit(t.ca, p, &cert, &serial), -EBADMSG); /* unsigned */

        /* Another key's signature is refused and records nothing. */
        assert_int_equal(ca_issue_pending_sign(q, NULL, other), 0);
        assert_int_equal(ca_issue_commit(t.ca, q, &cert, &serial), -EBADMSG);
        assert_int_equal(ca_lookup(t.ca, ca_issue_pending_serial(q), NULL, NULL), -ENOENT);

        assert_int_equal(ca_issue_pending_sign(p, NULL, intermediate), 0);
        assert_int_equal(ca_issue_pending_sign(p, NULL, intermediate), -EALREADY);
        assert_int_equal(ca_issue_commit(t.ca, p, &cert, &serial), 0);
        assert_int_equal(ca_lookup(t.ca, serial, NULL, NULL), 0);
        assert_int_equal(ca_list(t.ca, &l, &n_after), 0);
        ca_index_entry_array_free(l, n_after);
        assert_int_equal(n_after, n_before + 1);

        write_chain(&t);
        assert_true(asprintf(&leaf, "%s/steps.crt", t.dir) > 0);
        test_write_cert(leaf, cert);
        assert_int_equal(test_run("openssl verify -x509_strict -purpose sslserver -CAfile %s/root.crt -untrusted "
                                  "%s/int.crt %s",
                                  t.dir, t.dir, leaf),
                         0);

        /* The CRL: built unsigned, signed apart, verified by openssl against the intermediate. */
        assert_int_equal(ca_revoke(t.ca, serial, CA_REASON_SUPERSEDED), 0);
        assert_int_equal(ca_crl_build(t.ca, 0, &crl), -EINVAL);
        assert_int_equal(ca_crl_build(t.ca, 24, &crl), 0);
        assert_int_equal(ca_crl_sign(crl, NULL, intermediate), 0);
        assert_true(asprintf(&crl_path, "%s/steps-crl.pem", t.dir) > 0);
        assert_non_null(f = fopen(crl_path, "we"));
        assert_int_equal(PEM_write_X509_CRL(f, crl), 1);
        fclose(f);
        assert_int_equal(test_run("openssl crl -in %s -CAfile %s/int.crt -noout 2>&1 | grep -q 'verify OK'",
                                  crl_path, t.dir),
                         0);
        assert_int_equal(test_run("openssl crl -in %s -noout -text | grep -q %s", crl_path, serial), 0);

        test_ca_close(&t);
}

static unsigned fixed_calls;
static int fixed_random(void *buf, size_t n, void *userdata) {
        /* Twice the same value, then a different one. */
        memset(buf, fixed_calls++ < 2 ? 0x42 : 0x43, n);
        return 0;
}
static int zero_random(void *buf, size_t n, void *userdata) {
        memset(buf, 0, n);
        return 0;
}
static int failing_random(void *buf, size_t n, void *userdata) {
        return -EIO;
}

static void test_serial_source(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_free_ char *s1 = NULL, *s2 = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        X509 *c = NULL;
        TestCa t = {};
        size_t n;

        test_ca_open(&t, 0);
        csr = test_csr(key, "/CN=a.example.com", "DNS:a.example.com", &n);

        ca_set_random(t.ca, fixed_random, NULL);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &c, &s1), 0);
        X509_free(c);
        assert_string_equal(s1, "42424242424242424242424242424242");
        /* Same value drawn again: taken, so the next one is used. */
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &c, &s2), 0);
        X509_free(c);
        assert_string_equal(s2, "43434343434343434343434343434343");

        ca_set_random(t.ca, zero_random, NULL);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &c, NULL), -EIO);
        ca_set_random(t.ca, failing_random, NULL);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &c, NULL), -EIO);
        ca_set_random(t.ca, NULL, NULL);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &c, NULL), 0);
        X509_free(c);

        test_ca_close(&t);
}

/* A batch: bad CSRs fail their own item only; every good one is issued, recorded and listed, with its
 * PEM copy, and no temporary file is left in the index. Serials drawn twice within one batch cannot
 * both be issued. */
static void test_issue_batch(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_free_ char *index_dir = NULL;
        CaIssueBatchItem items[6] = {};
        CaIndexEntry **l = NULL;
        TestCa t = {};
        struct dirent *de;
        size_t n, n_listed;
        DIR *d;

        test_ca_open(&t, 0);
        csr = test_csr(key, "/CN=b.example.com", "DNS:b.example.com", &n);
        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                items[i] = (CaIssueBatchItem){
                        .csr = csr,
                        .csr_size = n,
                        .request = { .profile = CA_PROFILE_TLS_SERVER },
                };
        items[1].csr_size = n - 1;                  /* truncated */
        items[3].request.profile = _CA_PROFILE_MAX; /* no such profile */
        items[4].request.validity_days = 100000;

        assert_int_equal(ca_issue_batch(t.ca, items, ELEMENTSOF(items)), 3);
        assert_int_equal(items[0].result, 0);
        assert_true(items[1].result < 0);
        assert_int_equal(items[2].result, 0);
        assert_int_equal(items[3].result, -EINVAL);
        assert_int_equal(items[4].result, -EINVAL);
        assert_int_equal(items[5].result, 0);
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                _cleanup_free_ char *pem = NULL;
                CaIndexEntry *e = NULL;
                X509 *stored = NULL;
                struct stat st;

                if (items[i].result < 0) {
                        assert_null(items[i].cert);
                        assert_null(items[i].serial);
                        continue;
                }
                assert_int_equal(ca_lookup(t.ca, items[i].serial, &e, &stored), 0);
                assert_int_equal(X509_cmp(items[i].cert, stored), 0);
                assert_string_equal(e->profile, "tls-server");
                assert_true(asprintf(&pem, "%s/certs/%s.pem", t.ca_dir, items[i].serial) > 0);
                assert_int_equal(stat(pem, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0644);
                ca_index_entry_free(e);
                X509_free(stored);
                X509_free(items[i].cert);
                free(items[i].serial);
        }
        assert_int_equal(ca_list(t.ca, &l, &n_listed), 0);
        assert_int_equal(n_listed, 3);
        ca_index_entry_array_free(l, n_listed);

        assert_true(asprintf(&index_dir, "%s/index", t.ca_dir) > 0);
        d = opendir(index_dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                assert_false(strncmp(de->d_name, ".#", 2) == 0);
        closedir(d);

        /* The same serial twice in one batch: the second is refused, not issued twice. */
        fixed_calls = 0;
        ca_set_random(t.ca, fixed_random, NULL);
        for (size_t i = 0; i < 2; i++)
                items[i] = (CaIssueBatchItem){
                        .csr = csr,
                        .csr_size = n,
                        .request = { .profile = CA_PROFILE_TLS_SERVER },
                };
        assert_int_equal(ca_issue_batch(t.ca, items, 2), 1);
        assert_int_equal(items[0].result, 0);
        assert_int_equal(items[1].result, -EIO);
        assert_string_equal(items[0].serial, "42424242424242424242424242424242");
        X509_free(items[0].cert);
        free(items[0].serial);

        assert_int_equal(ca_issue_batch(t.ca, items, CA_ISSUE_BATCH_MAX + 1), -E2BIG);
        test_ca_close(&t);
}

static time_t clock_offset;
static time_t shifted_clock(void) {
        return time(NULL) + clock_offset;
}

static void test_validity_bounded_by_issuer(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        X509 *cert = NULL;
        TestCa t = {};
        size_t n;

        test_ca_open(&t, 0);
        csr = test_csr(key, "/CN=a.example.com", "DNS:a.example.com", &n);
        ca_set_clock(t.ca, shifted_clock);

        /* 10 days before the intermediate (1825 days) expires: a 90-day leaf ends with it. */
        clock_offset = (time_t) (1825 - 10) * 24 * 3600;
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &cert, NULL), 0);
        assert_int_equal(
                ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca_get_intermediate(t.ca))), 0);
        X509_free(cert);
        cert = NULL;

        /* After it expired: nothing is issued. */
        clock_offset = (time_t) (1825 + 1) * 24 * 3600;
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &cert, NULL), -EKEYEXPIRED);
        assert_null(cert);

        test_ca_close(&t);
}

static void test_tls13_mutual(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *skey = test_key_ec("P-256"), *ckey = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *server = NULL, *client = NULL;
        _cleanup_free_ char *out = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_CLIENT };
        TestCa t = {};
        size_t n;

        test_ca_open(&t, 0);
        write_chain(&t);
        server = issue_server(&t, skey, NULL);
        csr = test_csr(ckey, "/CN=client.example.com", "DNS:client.example.com", &n);
        assert_int_equal(ca_issue(t.ca, csr, n, &req, &client, NULL), 0);

        assert_int_equal(chdir(t.dir), 0);
        test_write_cert("server.crt", server);
        test_write_key("server.key", skey);
        test_write_cert("client.crt", client);
        test_write_key("client.key", ckey);

        /* The server needs a client certificate from our CA; one connection, then it exits. */
        assert_int_equal(
                test_run("cd %s && (timeout 30 openssl s_server -unix s.sock -naccept 1 -www -tls1_3 -cert server.crt "
                         "-key server.key -cert_chain int.crt -CAfile root.crt -Verify 1 -verify_return_error "
                         "</dev/null >server.log 2>&1 &) && for i in $(seq 100); do [ -S s.sock ] && break; "
                         "sleep 0.1; done; [ -S s.sock ]",
                         t.dir),
                0);
        out = test_output(
                "cd %s && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 30 openssl s_client -unix s.sock -tls1_3 -CAfile root.crt "
                "-verify_return_error -verify_hostname www.example.com -cert client.crt -key client.key "
                "-cert_chain int.crt -brief 2>&1",
                t.dir);
        fprintf(stderr, "%s", out);
        assert_non_null(strstr(out, "Protocol version: TLSv1.3"));
        assert_non_null(strstr(out, "Verification: OK"));
        assert_non_null(strstr(out, "Peer certificate: CN = www.example.com, O = Example"));
        assert_non_null(strstr(out, "Verified peername: www.example.com"));
        /* And the server accepted our client certificate (it exits after its one connection). */
        free(out);
        out = test_output(
                "for i in $(seq 100); do grep -A1 'depth=0' server.log | grep -q 'verify return' && break; "
                "sleep 0.1; done; cat server.log");
        assert_non_null(strstr(out, "depth=0 CN = client.example.com\nverify return:1"));

        assert_int_equal(chdir("/"), 0);
        test_ca_close(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init_idempotent),
                cmocka_unit_test(test_init_bad_config),
                cmocka_unit_test(test_issue_tls_server),
                cmocka_unit_test(test_requested_extensions_not_copied),
                cmocka_unit_test(test_issue_tls_client_rsa_and_ed25519),
                cmocka_unit_test(test_issue_sub_ca),
                cmocka_unit_test(test_name_constraints),
                cmocka_unit_test(test_index_revoke_crl),
                cmocka_unit_test(test_issue_and_crl_in_steps),
                cmocka_unit_test(test_serial_source),
                cmocka_unit_test(test_issue_batch),
                cmocka_unit_test(test_validity_bounded_by_issuer),
                cmocka_unit_test(test_tls13_mutual),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
