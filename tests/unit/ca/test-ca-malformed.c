/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostile and broken requests: each one is refused with its own clean errno, nothing is issued,
 * and the index stays empty. */

#include <openssl/core_names.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca-test-util.h"

static TestCa ca;
static EVP_PKEY *p256;

typedef uint8_t *(*Builder)(size_t *ret_size);

static uint8_t *dup_bytes(const void *p, size_t n, size_t *ret_size) {
        uint8_t *b = malloc(n ?: 1);
        assert_non_null(b);
        memcpy(b, p, n);
        *ret_size = n;
        return b;
}

static uint8_t *good_der(size_t *n) {
        return test_csr(p256, "/CN=www.example.com", "DNS:www.example.com", n);
}

/* OpenSSL-allocated buffers go through a malloc() copy, so every builder's result is free()d. */
static uint8_t *from_openssl(uint8_t *p, size_t n, size_t *ret_size) {
        uint8_t *b = dup_bytes(p, n, ret_size);
        OPENSSL_free(p);
        return b;
}

static uint8_t *csr(const char *subject, const char *san, size_t *n) {
        size_t k;
        uint8_t *p = test_csr(p256, subject, san, &k);
        return from_openssl(p, k, n);
}

static uint8_t *b_empty(size_t *n) {
        return dup_bytes("", 0, n);
}
static uint8_t *b_garbage(size_t *n) {
        return dup_bytes("\x30\x82\xff\xff garbage that is not DER", 29, n);
}
static uint8_t *b_oversized(size_t *n) {
        uint8_t *b = calloc(1, CA_CSR_SIZE_MAX + 1);
        assert_non_null(b);
        memset(b, 'A', CA_CSR_SIZE_MAX + 1);
        *n = CA_CSR_SIZE_MAX + 1;
        return b;
}
static uint8_t *b_pem_garbage(size_t *n) {
        const char *s =
                "-----BEGIN CERTIFICATE REQUEST-----\n!!!!not base64!!!!\n-----END CERTIFICATE REQUEST-----\n";
        return dup_bytes(s, strlen(s), n);
}
static uint8_t *b_pem_certificate(size_t *n) {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long k;

        assert_int_equal(PEM_write_bio_X509(bio, ca_get_root(ca.ca)), 1);
        k = BIO_get_mem_data(bio, &data);
        return dup_bytes(data, (size_t) k, n);
}
static uint8_t *b_der_truncated(size_t *n) {
        uint8_t *p = good_der(n);
        *n /= 2;
        return from_openssl(p, *n, n);
}
static uint8_t *b_der_trailing(size_t *n) {
        size_t k;
        uint8_t *p = good_der(&k), *b = malloc(k + 1);
        memcpy(b, p, k);
        b[k] = 0;
        OPENSSL_free(p);
        *n = k + 1;
        return b;
}
static uint8_t *b_bad_signature(size_t *n) {
        size_t k;
        uint8_t *p = good_der(&k);
        p[k - 5] ^= 0x01;
        return from_openssl(p, k, n);
}
static uint8_t *b_subject_changed(size_t *n) {
        size_t k;
        uint8_t *p = good_der(&k);
        uint8_t *w = memmem(p, k, "www.example.com", 15);
        assert_non_null(w);
        w[0] = 'x'; /* the request says xww.example.com, but it signed www */
        return from_openssl(p, k, n);
}
static uint8_t *b_pem_bad_signature(size_t *n) {
        _cleanup_free_ uint8_t *der = b_bad_signature(n);
        const unsigned char *q = der;
        _cleanup_(X509_REQ_freep) X509_REQ *req = d2i_X509_REQ(NULL, &q, (long) *n);
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long k;

        assert_non_null(req);
        assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
        k = BIO_get_mem_data(bio, &data);
        return dup_bytes(data, (size_t) k, n);
}
static uint8_t *with_key(EVP_PKEY *key, size_t *n) {
        size_t k;
        uint8_t *p = test_csr(key, "/CN=www.example.com", "DNS:www.example.com", &k);
        EVP_PKEY_free(key);
        return from_openssl(p, k, n);
}
static uint8_t *b_rsa1024(size_t *n) {
        return with_key(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024), n);
}
static uint8_t *b_rsa_e3(size_t *n) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        _cleanup_(BN_freep) BIGNUM *e = BN_new();
        EVP_PKEY *key = NULL;

        assert_int_equal(BN_set_word(e, 3), 1);
        assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
        assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e), 1);
        assert_int_equal(EVP_PKEY_keygen(ctx, &key), 1);
        return with_key(key, n);
}
static uint8_t *b_secp256k1(size_t *n) {
        return with_key(test_key_ec("secp256k1"), n);
}
static uint8_t *b_p224(size_t *n) {
        return with_key(test_key_ec("P-224"), n);
}
static uint8_t *b_ed448(size_t *n) {
        return with_key(EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), n);
}
static uint8_t *b_version2(size_t *n) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        X509_NAME *name = test_name("/CN=www.example.com");
        uint8_t *der = NULL;
        int k;

        assert_int_equal(X509_REQ_set_version(req, 1), 1);
        assert_int_equal(X509_REQ_set_pubkey(req, p256), 1);
        assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
        X509_NAME_free(name);
        assert_true(X509_REQ_sign(req, p256, EVP_sha256()) > 0);
        k = i2d_X509_REQ(req, &der);
        assert_true(k > 0);
        return from_openssl(der, (size_t) k, n);
}
static uint8_t *b_bad_extension_request(size_t *n) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        X509_NAME *name = test_name("/CN=alice");
        uint8_t *der = NULL;
        int k;

        assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
        assert_int_equal(X509_REQ_set_pubkey(req, p256), 1);
        assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
        X509_NAME_free(name);
        /* extensionRequest whose value is an OCTET STRING, not a SEQUENCE OF Extension. */
        assert_int_equal(X509_REQ_add1_attr_by_NID(req, NID_ext_req, V_ASN1_OCTET_STRING,
                                                   (const unsigned char *) "junk", 4),
                         1);
        assert_true(X509_REQ_sign(req, p256, EVP_sha256()) > 0);
        k = i2d_X509_REQ(req, &der);
        assert_true(k > 0);
        return from_openssl(der, (size_t) k, n);
}
static uint8_t *b_empty_subject(size_t *n) {
        return csr(NULL, "DNS:www.example.com", n);
}
static uint8_t *b_subject_unknown_attr(size_t *n) {
        return csr("/CN=www.example.com/street=Main Street 1", "DNS:www.example.com", n);
}
static uint8_t *b_subject_long_cn(size_t *n) {
        char cn[100] = "/CN=";
        memset(cn + 4, 'a', 80);
        cn[84] = 0;
        return csr(cn, "DNS:www.example.com", n);
}
static uint8_t *b_subject_control_char(size_t *n) {
        return csr("/CN=www.example.com\n/O=Evil", "DNS:www.example.com", n);
}
static uint8_t *b_subject_too_many(size_t *n) {
        char s[1024] = "";
        for (int i = 0; i < 17; i++)
                strcat(s, "/OU=unit");
        return csr(s, "DNS:www.example.com", n);
}
static uint8_t *b_subject_multivalued(size_t *n) {
        X509_NAME *name = test_name("/CN=www.example.com");
        size_t k;
        uint8_t *p;

        STACK_OF(X509_EXTENSION) *exts = NULL;

        /* set = -1: into the previous RDN, making it {CN, O}. */
        assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) "Evil",
                                                    -1, -1, -1),
                         1);
        test_add_ext(&exts, NID_subject_alt_name, "DNS:www.example.com");
        p = test_csr_der(p256, name, exts, &k);
        return from_openssl(p, k, n);
}
static uint8_t *b_subject_bad_country(size_t *n) {
        return csr("/CN=www.example.com/C=Germany", "DNS:www.example.com", n);
}
static uint8_t *b_no_san(size_t *n) {
        return csr("/CN=www.example.com", NULL, n);
}
static uint8_t *b_cn_not_in_sans(size_t *n) {
        return csr("/CN=www.example.com", "DNS:other.example.com", n);
}
static uint8_t *b_too_many_sans(size_t *n) {
        char *s = NULL;
        for (int i = 0; i < 101; i++) {
                char one[64];
                snprintf(one, sizeof(one), "%sDNS:h%i.example.com", i ? "," : "", i);
                assert_non_null(strextend(&s, one));
        }
        uint8_t *p = csr("/CN=www.example.com", s, n);
        free(s);
        return p;
}
static uint8_t *b_san_email(size_t *n) {
        return csr("/CN=www.example.com", "DNS:www.example.com,email:a@example.com", n);
}
static uint8_t *b_san_uri(size_t *n) {
        return csr("/CN=www.example.com", "DNS:www.example.com,URI:https://example.com/", n);
}
/* A CSR whose only SAN is g (consumed), built without OpenSSL's config parser and its checks. */
static uint8_t *csr_with_general_name(GENERAL_NAME *g, size_t *n) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        GENERAL_NAMES *names = GENERAL_NAMES_new();
        size_t k;
        uint8_t *p;

        assert_non_null(exts);
        assert_non_null(names);
        assert_true(sk_GENERAL_NAME_push(names, g) > 0);
        assert_true(sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, 0, names)) > 0);
        GENERAL_NAMES_free(names);
        p = test_csr_der(p256, test_name("/CN=www.example.com"), exts, &k);
        return from_openssl(p, k, n);
}

static uint8_t *b_san_dirname(size_t *n) {
        GENERAL_NAME *g = GENERAL_NAME_new();

        GENERAL_NAME_set0_value(g, GEN_DIRNAME, test_name("/CN=dir"));
        return csr_with_general_name(g, n);
}
static uint8_t *b_san_underscore(size_t *n) {
        return csr("/CN=www.example.com", "DNS:foo_bar.example.com", n);
}
static uint8_t *b_san_wildcard_tld(size_t *n) {
        return csr("/CN=www.example.com", "DNS:*.com", n);
}
static uint8_t *b_san_wildcard_middle(size_t *n) {
        return csr("/CN=www.example.com", "DNS:foo.*.example.com", n);
}
static uint8_t *b_san_partial_wildcard(size_t *n) {
        return csr("/CN=www.example.com", "DNS:w*.example.com", n);
}
static uint8_t *b_san_long_label(size_t *n) {
        char s[128] = "DNS:";
        memset(s + 4, 'a', 64);
        strcpy(s + 68, ".example.com");
        return csr("/CN=www.example.com", s, n);
}
static uint8_t *b_san_trailing_dot(size_t *n) {
        return csr("/CN=www.example.com", "DNS:www.example.com.", n);
}
static uint8_t *b_san_duplicate(size_t *n) {
        return csr("/CN=www.example.com", "DNS:www.example.com,DNS:www.example.com", n);
}
static uint8_t *b_san_nul(size_t *n) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();

        assert_int_equal(ASN1_STRING_set(s, "good.example.com\0.evil.com", 26), 1);
        GENERAL_NAME_set0_value(g, GEN_DNS, s);
        return csr_with_general_name(g, n);
}
static uint8_t *b_san_ip_5_bytes(size_t *n) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();

        assert_int_equal(ASN1_OCTET_STRING_set(s, (const unsigned char *) "\x0a\x00\x00\x01\x05", 5), 1);
        GENERAL_NAME_set0_value(g, GEN_IPADD, s);
        return csr_with_general_name(g, n);
}
static uint8_t *b_two_san_extensions(size_t *n) {
        STACK_OF(X509_EXTENSION) *exts = NULL;
        size_t k;
        uint8_t *p;

        test_add_ext(&exts, NID_subject_alt_name, "DNS:a.example.com");
        test_add_ext(&exts, NID_subject_alt_name, "DNS:b.example.com");
        p = test_csr_der(p256, test_name("/CN=www.example.com"), exts, &k);
        return from_openssl(p, k, n);
}
static uint8_t *b_client_ftp_uri(size_t *n) {
        return csr("/CN=alice", "URI:ftp://example.com/alice", n);
}
static uint8_t *b_client_email_no_at(size_t *n) {
        return csr("/CN=alice", "email:alice.example.com", n);
}
static uint8_t *b_client_ip(size_t *n) {
        return csr("/CN=alice", "IP:192.0.2.7", n);
}
static uint8_t *b_sub_ca_with_san(size_t *n) {
        return csr("/CN=Sub CA", "DNS:ca.example.com", n);
}

typedef struct Case {
        const char *name;
        Builder build;
        CaProfileId profile;
        unsigned days;
        int expected;
} Case;

static const Case cases[] = {
        { "empty input", b_empty, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "garbage bytes", b_garbage, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "oversized input", b_oversized, CA_PROFILE_TLS_SERVER, 0, -E2BIG },
        { "PEM with garbage base64", b_pem_garbage, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "PEM certificate, not a CSR", b_pem_certificate, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "truncated DER", b_der_truncated, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "DER with a trailing byte", b_der_trailing, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "bad signature (DER)", b_bad_signature, CA_PROFILE_TLS_SERVER, 0, -EBADMSG },
        { "bad signature (PEM)", b_pem_bad_signature, CA_PROFILE_TLS_SERVER, 0, -EBADMSG },
        { "subject changed after signing", b_subject_changed, CA_PROFILE_TLS_SERVER, 0, -EBADMSG },
        { "RSA 1024", b_rsa1024, CA_PROFILE_TLS_SERVER, 0, -EKEYREJECTED },
        { "RSA exponent 3", b_rsa_e3, CA_PROFILE_TLS_SERVER, 0, -EKEYREJECTED },
        { "secp256k1", b_secp256k1, CA_PROFILE_TLS_SERVER, 0, -EOPNOTSUPP },
        { "P-224", b_p224, CA_PROFILE_TLS_SERVER, 0, -EOPNOTSUPP },
        { "Ed448", b_ed448, CA_PROFILE_TLS_SERVER, 0, -EOPNOTSUPP },
        { "CSR version 2", b_version2, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "malformed extension request", b_bad_extension_request, CA_PROFILE_TLS_CLIENT, 0, -EINVAL },
        { "empty subject", b_empty_subject, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "unknown subject attribute", b_subject_unknown_attr, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "CN over 64 bytes", b_subject_long_cn, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "control character in subject", b_subject_control_char, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "17 subject entries", b_subject_too_many, CA_PROFILE_TLS_SERVER, 0, -E2BIG },
        { "multi-valued RDN", b_subject_multivalued, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "country not two letters", b_subject_bad_country, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "tls-server without SAN", b_no_san, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "CN not among the SANs", b_cn_not_in_sans, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "101 SANs", b_too_many_sans, CA_PROFILE_TLS_SERVER, 0, -E2BIG },
        { "email SAN on tls-server", b_san_email, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "URI SAN on tls-server", b_san_uri, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "directoryName SAN", b_san_dirname, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "underscore in DNS name", b_san_underscore, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "wildcard for a TLD", b_san_wildcard_tld, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "wildcard in the middle", b_san_wildcard_middle, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "partial wildcard label", b_san_partial_wildcard, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "DNS label over 63 bytes", b_san_long_label, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "DNS name with trailing dot", b_san_trailing_dot, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "duplicate SAN", b_san_duplicate, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "NUL inside a DNS name", b_san_nul, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "IP SAN of 5 bytes", b_san_ip_5_bytes, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "two SAN extensions", b_two_san_extensions, CA_PROFILE_TLS_SERVER, 0, -EINVAL },
        { "validity over the profile's maximum", good_der, CA_PROFILE_TLS_SERVER, 399, -EINVAL },
        { "unknown profile", good_der, (CaProfileId) 99, 0, -EINVAL },
        { "ftp URI on tls-client", b_client_ftp_uri, CA_PROFILE_TLS_CLIENT, 0, -EINVAL },
        { "email without @ on tls-client", b_client_email_no_at, CA_PROFILE_TLS_CLIENT, 0, -EINVAL },
        { "IP SAN on tls-client", b_client_ip, CA_PROFILE_TLS_CLIENT, 0, -EINVAL },
        { "SAN on sub-ca", b_sub_ca_with_san, CA_PROFILE_SUB_CA, 0, -EINVAL },
};

static void test_malformed(void **state) {
        const Case *c = *state;
        _cleanup_free_ uint8_t *data = NULL;
        CaIssueRequest req = { .profile = c->profile, .validity_days = c->days };
        CaIndexEntry **l = NULL;
        X509 *cert = NULL;
        size_t n = 0;

        data = c->build(&n);
        assert_int_equal(ca_issue(ca.ca, data, n, &req, &cert, NULL), c->expected);
        assert_null(cert);

        assert_int_equal(ca_list(ca.ca, &l, &n), 0);
        assert_int_equal(n, 0);
        ca_index_entry_array_free(l, n);
}

/* Good requests next to the broken ones (a tls-server one, and a tls-client one without SANs like
 * the malformed extension request): what the cases break is what makes them fail. */
static void issue_and_forget(uint8_t *der, size_t n, CaProfileId profile, unsigned days) {
        _cleanup_free_ uint8_t *data = from_openssl(der, n, &n);
        CaIssueRequest req = { .profile = profile, .validity_days = days };
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *serial = NULL, *a = NULL, *b = NULL;

        assert_int_equal(ca_issue(ca.ca, data, n, &req, &cert, &serial), 0);
        /* Removed again so that the malformed cases can check for an empty index. */
        assert_true(asprintf(&a, "%s/index/%s.json", ca.ca_dir, serial) > 0);
        assert_true(asprintf(&b, "%s/certs/%s.pem", ca.ca_dir, serial) > 0);
        assert_int_equal(unlink(a), 0);
        assert_int_equal(unlink(b), 0);
}

static void test_control_good_requests(void **state) {
        size_t n;
        uint8_t *der;

        der = good_der(&n);
        issue_and_forget(der, n, CA_PROFILE_TLS_SERVER, 398);
        der = test_csr(p256, "/CN=alice", NULL, &n);
        issue_and_forget(der, n, CA_PROFILE_TLS_CLIENT, 0);
}

static void test_csr_load_directly(void **state) {
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_free_ uint8_t *bad = NULL;
        size_t n;

        assert_int_equal(ca_csr_load(NULL, 0, &req), -EINVAL);
        bad = b_bad_signature(&n);
        assert_int_equal(ca_csr_load(bad, n, &req), -EBADMSG);
        assert_null(req);
}

static int setup(void **state) {
        p256 = test_key_ec("P-256");
        test_ca_open(&ca, 0);
        return 0;
}

static int teardown(void **state) {
        test_ca_close(&ca);
        EVP_PKEY_free(p256);
        return 0;
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(cases) + 2];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                tests[i] = (struct CMUnitTest){
                        .name = cases[i].name,
                        .test_func = test_malformed,
                        .initial_state = (void *) &cases[i],
                };
        tests[ELEMENTSOF(cases)] = (struct CMUnitTest) cmocka_unit_test(test_control_good_requests);
        tests[ELEMENTSOF(cases) + 1] = (struct CMUnitTest) cmocka_unit_test(test_csr_load_directly);

        log_parse_environment();
        return _cmocka_run_group_tests("ca-malformed", tests, ELEMENTSOF(tests), setup, teardown);
}
