/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCSP responder and the CA's HTTP endpoints, with `openssl ocsp` and curl-free `openssl` tools
 * as the independent client: good, revoked (with reason and time), unknown (a serial we never issued,
 * a certificate of another issuer), the nonce echoed, a delegated ocsp-signing responder, the CRL and
 * CA certificate over HTTP, and malformed requests answered with malformedRequest, never a crash. */

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ocsp.h>

#include "basic/log.h"
#include "ca-test-util.h"
#include "ca/ca-http.h"
#include "ca/ca-ocsp.h"

typedef struct Server {
        CaHttp *http;
        pthread_t thread;
        atomic_bool stop;
} Server;

static void *serve(void *userdata) {
        Server *s = userdata;
        struct pollfd p = { .fd = ca_http_get_fd(s->http), .events = POLLIN };

        while (!atomic_load(&s->stop)) {
                uint64_t t = ca_http_get_timeout(s->http);
                int ms = t == UINT64_MAX || t > 100000 ? 100 : (int) (t / 1000);

                (void) poll(&p, 1, ms);
                assert_int_equal(ca_http_process(s->http), 0);
        }
        return NULL;
}

static void server_start(Server *s, Ca *ca) {
        assert_int_equal(ca_http_new(ca, "127.0.0.1", 0, &s->http), 0);
        assert_true(ca_http_get_port(s->http) > 0);
        atomic_store(&s->stop, false);
        assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(Server *s) {
        atomic_store(&s->stop, true);
        assert_int_equal(pthread_join(s->thread, NULL), 0);
        s->http = ca_http_free(s->http);
}

/* A minimal HTTP/1.0 client: returns the status, writes the body to path (if not NULL). */
static int http_get(uint16_t port, const char *method, const char *path, const char *out) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        _cleanup_free_ char *req = NULL, *resp = NULL;
        size_t n = 0, allocated = 0;
        const char *body;
        int fd, status;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_true(asprintf(&req, "%s %s HTTP/1.0\r\nContent-Length: 0\r\n\r\n", method, path) > 0);
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
        for (;;) {
                ssize_t k;

                if (n + 4096 + 1 > allocated) {
                        allocated = (n + 4096 + 1) * 2;
                        resp = realloc(resp, allocated);
                        assert_non_null(resp);
                }
                k = read(fd, resp + n, 4096);
                assert_true(k >= 0);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        resp[n] = 0;
        assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
        body = memmem(resp, n, "\r\n\r\n", 4);
        assert_non_null(body);
        body += 4;
        if (out) {
                FILE *f = fopen(out, "we");
                assert_non_null(f);
                assert_int_equal(fwrite(body, 1, n - (size_t) (body - resp), f), n - (size_t) (body - resp));
                assert_int_equal(fclose(f), 0);
        }
        return status;
}

static char *issue_to_file(TestCa *t, CaProfileId profile, const char *name, const char *cn, const char *san,
                           char **ret_serial, EVP_PKEY **ret_key) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        CaIssueRequest req = { .profile = profile };
        char *path = NULL;
        size_t n;

        csr = test_csr(key, cn, san, &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, ret_serial), 0);
        assert_true(asprintf(&path, "%s/%s.crt", t->dir, name) > 0);
        test_write_cert(path, cert);
        if (ret_key)
                *ret_key = TAKE_PTR(key);
        return path;
}

static char *ocsp(TestCa *t, Server *s, const char *what, const char *extra) {
        return test_output(
                "cd %s && openssl ocsp -issuer int.crt %s -url http://127.0.0.1:%u/ocsp -CAfile root.crt "
                "%s 2>&1",
                t->dir, what, ca_http_get_port(s->http), extra ?: "");
}

static void test_ocsp_with_openssl(void **state) {
        _cleanup_free_ char *good = NULL, *revoked = NULL, *good_serial = NULL, *revoked_serial = NULL,
                            *a = NULL, *b = NULL, *out = NULL, *signer = NULL, *what = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *signer_key = NULL;
        _cleanup_(X509_freep) X509 *signer_cert = NULL;
        TestCa t = {}, other = {};
        Server s = {};

        test_ca_open(&t, 0);
        assert_true(asprintf(&a, "%s/root.crt", t.dir) > 0);
        assert_true(asprintf(&b, "%s/int.crt", t.dir) > 0);
        test_write_cert(a, ca_get_root(t.ca));
        test_write_cert(b, ca_get_intermediate(t.ca));
        good = issue_to_file(&t, CA_PROFILE_TLS_SERVER, "good", "/CN=good.example.com",
                             "DNS:good.example.com", &good_serial, NULL);
        revoked = issue_to_file(&t, CA_PROFILE_TLS_SERVER, "revoked", "/CN=bad.example.com",
                                "DNS:bad.example.com", &revoked_serial, NULL);
        assert_int_equal(ca_revoke(t.ca, revoked_serial, CA_REASON_KEY_COMPROMISE), 0);
        server_start(&s, t.ca);

        /* openssl sends a nonce and checks that it comes back. */
        out = ocsp(&t, &s, "-cert good.crt", "-resp_text");
        assert_non_null(strstr(out, "Response verify OK"));
        assert_non_null(strstr(out, "good.crt: good"));
        assert_null(strstr(out, "WARNING: no nonce"));
        assert_non_null(strstr(out, "OCSP Nonce"));
        out = mfree(out);

        out = ocsp(&t, &s, "-cert revoked.crt", NULL);
        assert_non_null(strstr(out, "Response verify OK"));
        assert_non_null(strstr(out, "revoked.crt: revoked"));
        assert_non_null(strstr(out, "Reason: keyCompromise"));
        assert_non_null(strstr(out, "Revocation Time:"));
        out = mfree(out);

        /* Never issued. */
        out = ocsp(&t, &s, "-serial 0x1234567890", NULL);
        assert_non_null(strstr(out, "Response verify OK"));
        assert_non_null(strstr(out, "0x1234567890: unknown"));
        out = mfree(out);

        /* Both in one request, and without a nonce. */
        out = ocsp(&t, &s, "-cert good.crt -cert revoked.crt", "-no_nonce");
        assert_non_null(strstr(out, "good.crt: good"));
        assert_non_null(strstr(out, "revoked.crt: revoked"));
        out = mfree(out);

        /* Another CA's certificate, asked with its own issuer: not ours, so unknown. */
        test_ca_open(&other, 0);
        {
                _cleanup_free_ char *other_int = NULL, *foreign = NULL;

                assert_true(asprintf(&other_int, "%s/other-int.crt", t.dir) > 0);
                test_write_cert(other_int, ca_get_intermediate(other.ca));
                foreign = issue_to_file(&other, CA_PROFILE_TLS_SERVER, "foreign", "/CN=x.example.com",
                                        "DNS:x.example.com", NULL, NULL);
                out = test_output(
                        "cd %s && openssl ocsp -issuer other-int.crt -cert %s -url http://127.0.0.1:%u/ocsp "
                        "-CAfile root.crt -VAfile int.crt 2>&1",
                        t.dir, foreign, ca_http_get_port(s.http));
                assert_non_null(strstr(out, ": unknown"));
                out = mfree(out);
        }
        test_ca_close(&other);

        /* A delegated responder: signs instead of the intermediate, and openssl accepts it because it
         * carries OCSPSigning and was issued by the certificate's issuer. */
        signer = issue_to_file(&t, CA_PROFILE_OCSP_SIGNING, "ocsp", "/CN=OCSP Responder", NULL, NULL,
                               &signer_key);
        {
                FILE *f = fopen(signer, "re");
                assert_non_null(f);
                signer_cert = PEM_read_X509(f, NULL, NULL, NULL);
                fclose(f);
        }
        assert_int_equal(ca_ocsp_set_signer(t.ca, ca_get_root(t.ca), signer_key), -EINVAL);
        assert_int_equal(ca_ocsp_set_signer(t.ca, signer_cert, signer_key), 0);
        out = ocsp(&t, &s, "-cert good.crt", "-resp_text");
        assert_non_null(strstr(out, "Response verify OK"));
        assert_non_null(strstr(out, "Responder Id: CN = OCSP Responder"));
        assert_non_null(strstr(out, "OCSP No Check"));
        assert_non_null(strstr(out, "good.crt: good"));
        out = mfree(out);
        assert_int_equal(ca_ocsp_set_signer(t.ca, NULL, NULL), 0);

        /* The CRL and the CA certificate over HTTP. */
#define CRL_LIFETIME_IS                                                          \
        "l=$(openssl crl -inform DER -in %s -noout -lastupdate | cut -d= -f2); " \
        "n=$(openssl crl -inform DER -in %s -noout -nextupdate | cut -d= -f2); " \
        "test $(( $(date -d \"$n\" +%%s) - $(date -d \"$l\" +%%s) )) -eq %d"
        {
                _cleanup_free_ char *crl = NULL, *cacrt = NULL;

                assert_true(asprintf(&crl, "%s/served.crl", t.dir) > 0);
                assert_true(asprintf(&cacrt, "%s/served.crt", t.dir) > 0);
                assert_int_equal(http_get(ca_http_get_port(s.http), "GET", "/crl", crl), 200);
                assert_int_equal(
                        test_run("openssl crl -inform DER -in %s -noout -text | grep -q 'Serial Number: %s'",
                                 crl, revoked_serial),
                        0);
                assert_int_equal(test_run("openssl crl -inform DER -in %s -CAfile %s/int.crt -noout 2>&1 | grep -q "
                                          "'verify OK'",
                                          crl, t.dir),
                                 0);
                /* Valid for 24 hours by default, for what the owner sets (its CRLHours=) otherwise. */
                assert_int_equal(ca_http_set_crl_hours(s.http, 0), -ERANGE);
                assert_int_equal(ca_http_set_crl_hours(s.http, 24 * 31 + 1), -ERANGE);
                assert_int_equal(test_run(CRL_LIFETIME_IS, crl, crl, 24 * 3600), 0);
                assert_int_equal(ca_http_set_crl_hours(s.http, 5), 0);
                assert_int_equal(http_get(ca_http_get_port(s.http), "GET", "/crl", crl), 200);
                assert_int_equal(test_run(CRL_LIFETIME_IS, crl, crl, 5 * 3600), 0);
                assert_int_equal(http_get(ca_http_get_port(s.http), "GET", "/ca.crt", cacrt), 200);
                assert_int_equal(
                        test_run("openssl x509 -inform DER -in %s -noout -subject | grep -q 'Test Issuing CA'",
                                 cacrt),
                        0);
                assert_int_equal(http_get(ca_http_get_port(s.http), "GET", "/nothing", NULL), 404);
                assert_int_equal(http_get(ca_http_get_port(s.http), "DELETE", "/crl", NULL), 405);
                assert_int_equal(http_get(ca_http_get_port(s.http), "POST", "/crl", NULL), 404);
        }

        server_stop(&s);
        test_ca_close(&t);
}

/* The response's status, and for a successful one the cert status of its single response (-1 if none). */
static int response_status(const uint8_t *der, size_t n, int *ret_cert_status, bool *ret_has_nonce) {
        const unsigned char *p = der;
        OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long) n);
        OCSP_BASICRESP *bs;
        int status, reason;

        assert_non_null(resp);
        assert_ptr_equal(p, der + n);
        status = OCSP_response_status(resp);
        *ret_cert_status = -1;
        if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
                bs = OCSP_response_get1_basic(resp);
                assert_non_null(bs);
                if (OCSP_resp_count(bs) == 1)
                        *ret_cert_status = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, NULL,
                                                                   NULL, NULL);
                if (ret_has_nonce)
                        *ret_has_nonce = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) >= 0;
                OCSP_BASICRESP_free(bs);
        }
        OCSP_RESPONSE_free(resp);
        return status;
}

/* A request for serial (hex) under the intermediate with md, plus n_extra more copies, and a nonce of
 * nonce_size bytes (0: none; < 0: a nonce that is not an OCTET STRING). */
static uint8_t *make_request(Ca *ca, const EVP_MD *md, const char *serial_hex, size_t n_extra,
                             int nonce_size, size_t *ret_size) {
        OCSP_REQUEST *req = OCSP_REQUEST_new();
        BIGNUM *bn = NULL;
        ASN1_INTEGER *serial;
        uint8_t *der = NULL;
        int n;

        assert_true(BN_hex2bn(&bn, serial_hex) > 0);
        serial = BN_to_ASN1_INTEGER(bn, NULL);
        assert_non_null(serial);
        for (size_t i = 0; i <= n_extra; i++) {
                OCSP_CERTID *id = OCSP_cert_id_new(md, X509_get_subject_name(ca_get_intermediate(ca)),
                                                   X509_get0_pubkey_bitstr(ca_get_intermediate(ca)), serial);
                assert_non_null(id);
                assert_non_null(OCSP_request_add0_id(req, id));
        }
        if (nonce_size > 0) {
                uint8_t buf[64];
                memset(buf, 0x5a, sizeof(buf));
                assert_int_equal(OCSP_request_add1_nonce(req, buf, nonce_size), 1);
        } else if (nonce_size < 0) {
                ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
                /* Raw bytes where the DER OCTET STRING should be. */
                assert_int_equal(ASN1_OCTET_STRING_set(os, (const unsigned char *) "\x02\x01\x05", 3), 1);
                assert_int_equal(OCSP_REQUEST_add1_ext_i2d(req, NID_id_pkix_OCSP_Nonce, os, 0, 0), 1);
                ASN1_OCTET_STRING_free(os);
        }
        n = i2d_OCSP_REQUEST(req, &der);
        assert_true(n > 0);
        *ret_size = (size_t) n;
        ASN1_INTEGER_free(serial);
        BN_free(bn);
        OCSP_REQUEST_free(req);
        return der;
}

static void test_ocsp_malformed(void **state) {
        _cleanup_(OPENSSL_freep) uint8_t *valid = NULL;
        _cleanup_free_ char *serial = NULL;
        _cleanup_free_ uint8_t *big = NULL;
        TestCa t = {};
        size_t valid_size;
        int cs;
        bool nonce;

        test_ca_open(&t, 0);
        {
                _cleanup_free_ char *path = issue_to_file(&t, CA_PROFILE_TLS_SERVER, "x", "/CN=x.example.com",
                                                          "DNS:x.example.com", &serial, NULL);
        }

#define RESPOND(data, size, want_status, want_cert_status)                             \
        do {                                                                           \
                _cleanup_(OPENSSL_freep) uint8_t *_r = NULL;                           \
                size_t _n;                                                             \
                assert_int_equal(ca_ocsp_respond(t.ca, (data), (size), &_r, &_n), 0);  \
                assert_int_equal(response_status(_r, _n, &cs, &nonce), (want_status)); \
                assert_int_equal(cs, (want_cert_status));                              \
        } while (0)

        /* Valid: sha1 and sha256 CertIDs, with and without nonce. */
        valid = make_request(t.ca, EVP_sha1(), serial, 0, 16, &valid_size);
        RESPOND(valid, valid_size, OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD);
        assert_true(nonce);
        {
                _cleanup_(OPENSSL_freep)
                        uint8_t *r = make_request(t.ca, EVP_sha256(), serial, 0, 0, &valid_size);
                RESPOND(r, valid_size, OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD);
                assert_false(nonce);
        }
        valid_size = 0;
        OPENSSL_free(valid);
        valid = make_request(t.ca, EVP_sha1(), serial, 0, 16, &valid_size);

        /* Not DER, empty, truncated at every length, trailing bytes, too large. */
        RESPOND("", 0, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
        RESPOND("garbage", 7, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
        for (size_t i = 1; i < valid_size; i++)
                RESPOND(valid, i, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
        big = malloc(CA_OCSP_REQUEST_SIZE_MAX + 1);
        assert_non_null(big);
        memcpy(big, valid, valid_size);
        big[valid_size] = 0;
        RESPOND(big, valid_size + 1, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
        memset(big, 0x30, CA_OCSP_REQUEST_SIZE_MAX + 1);
        RESPOND(big, CA_OCSP_REQUEST_SIZE_MAX + 1, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);

        /* Too many certificates in one request; exactly the limit is fine. */
        {
                _cleanup_(OPENSSL_freep) uint8_t *r = NULL;
                size_t n;

                r = make_request(t.ca, EVP_sha1(), serial, CA_OCSP_REQUESTS_MAX, 0, &n);
                RESPOND(r, n, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
                OPENSSL_free(r);
                r = make_request(t.ca, EVP_sha1(), serial, CA_OCSP_REQUESTS_MAX - 1, 0, &n);
                RESPOND(r, n, OCSP_RESPONSE_STATUS_SUCCESSFUL, -1); /* 32 single responses */
        }

        /* Nonces: 32 bytes fine, 33 too long, not an OCTET STRING. */
        {
                _cleanup_(OPENSSL_freep) uint8_t *a = NULL, *b = NULL, *c = NULL;
                size_t n;

                a = make_request(t.ca, EVP_sha1(), serial, 0, 32, &n);
                RESPOND(a, n, OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD);
                b = make_request(t.ca, EVP_sha1(), serial, 0, 33, &n);
                RESPOND(b, n, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
                c = make_request(t.ca, EVP_sha1(), serial, 0, -1, &n);
                RESPOND(c, n, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -1);
        }

        /* Serials that cannot be ours: unknown, not an error. */
        static const char *const not_ours[] = { "0", "-1", "01", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "1234" };
        for (size_t i = 0; i < ELEMENTSOF(not_ours); i++) {
                _cleanup_(OPENSSL_freep) uint8_t *r = NULL;
                size_t n;

                r = make_request(t.ca, EVP_sha1(), not_ours[i], 0, 0, &n);
                RESPOND(r, n, OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_UNKNOWN);
        }
#undef RESPOND
        test_ca_close(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ocsp_with_openssl),
                cmocka_unit_test(test_ocsp_malformed),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
