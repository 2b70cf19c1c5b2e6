/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TLS 1.3 mutual authentication with certificates issued by the CA (tls-server, tls-client): first
 * `openssl s_server` against `openssl s_client` (both the independent peer), then our
 * ca_trust_new_ssl_ctx() on each side against the openssl CLI on the other. Refused: no client
 * certificate, a revoked one (with the CA's CRL), one from a foreign CA, TLS 1.2. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "basic/log.h"
#include "ca-test-util.h"
#include "ca/ca-trust.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL *, SSL_free);

typedef struct Fixture {
        TestCa ca, foreign;
        char *dir;
        EVP_PKEY *server_key, *client_key, *revoked_key, *foreign_key;
        X509 *server, *client, *revoked, *foreign_client;
} Fixture;

static X509 *issue(TestCa *t, EVP_PKEY *key, CaProfileId profile, const char *cn, const char *san,
                   char **ret_serial) {
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = profile };
        X509 *cert = NULL;
        size_t n;

        csr = test_csr(key, cn, san, &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, ret_serial), 0);
        return cert;
}

static void put_cert(Fixture *f, const char *name, X509 *x) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
        test_write_cert(p, x);
}

static void put_key(Fixture *f, const char *name, EVP_PKEY *k) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
        test_write_key(p, k);
}

static int setup(void **state) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_free_ char *serial = NULL, *crl_path = NULL;
        Fixture *f = calloc(1, sizeof(Fixture));
        FILE *fp;

        test_ca_open(&f->ca, 0);
        test_ca_open(&f->foreign, 0);
        f->dir = f->ca.dir;
        f->server_key = test_key_ec("P-256");
        f->client_key = test_key_ec("P-256");
        f->revoked_key = test_key_ec("P-256");
        f->foreign_key = test_key_ec("P-256");
        f->server = issue(&f->ca, f->server_key, CA_PROFILE_TLS_SERVER, "/CN=localhost", "DNS:localhost",
                          NULL);
        f->client = issue(&f->ca, f->client_key, CA_PROFILE_TLS_CLIENT, "/CN=client",
                          "DNS:client.example.test", NULL);
        f->revoked = issue(&f->ca, f->revoked_key, CA_PROFILE_TLS_CLIENT, "/CN=revoked",
                           "DNS:revoked.example.test", &serial);
        f->foreign_client = issue(&f->foreign, f->foreign_key, CA_PROFILE_TLS_CLIENT, "/CN=client",
                                  "DNS:client.example.test", NULL);
        assert_int_equal(ca_revoke(f->ca.ca, serial, CA_REASON_KEY_COMPROMISE), 0);
        assert_int_equal(ca_crl_generate(f->ca.ca, 1, &crl), 0);

        put_cert(f, "root.pem", ca_get_root(f->ca.ca));
        put_cert(f, "int.pem", ca_get_intermediate(f->ca.ca));
        put_cert(f, "server.pem", f->server);
        put_key(f, "server.key", f->server_key);
        put_cert(f, "client.pem", f->client);
        put_key(f, "client.key", f->client_key);
        put_cert(f, "revoked.pem", f->revoked);
        put_key(f, "revoked.key", f->revoked_key);
        put_cert(f, "foreign.pem", f->foreign_client);
        put_cert(f, "foreign-int.pem", ca_get_intermediate(f->foreign.ca));
        put_key(f, "foreign.key", f->foreign_key);
        assert_true(asprintf(&crl_path, "%s/crl.pem", f->dir) > 0);
        fp = fopen(crl_path, "we");
        assert_non_null(fp);
        assert_int_equal(PEM_write_X509_CRL(fp, crl), 1);
        fclose(fp);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        EVP_PKEY_free(f->server_key);
        EVP_PKEY_free(f->client_key);
        EVP_PKEY_free(f->revoked_key);
        EVP_PKEY_free(f->foreign_key);
        X509_free(f->server);
        X509_free(f->client);
        X509_free(f->revoked);
        X509_free(f->foreign_client);
        test_ca_close(&f->foreign);
        test_ca_close(&f->ca);
        free(f);
        return 0;
}

static unsigned pick_port(void) {
        uint16_t r;
        assert_int_equal(RAND_bytes((unsigned char *) &r, sizeof(r)), 1);
        return 20000 + r % 20000;
}

/* Starts `openssl s_server -rev` for one connection in the background; returns its pid. */
static pid_t start_s_server(Fixture *f, unsigned port, const char *extra) {
        _cleanup_free_ char *cmd = NULL;
        pid_t pid;

        assert_true(
                asprintf(&cmd,
                         "cd %s && exec openssl s_server -quiet -tls1_3 -rev -naccept 1 -accept 127.0.0.1:%u "
                         "-cert server.pem -cert_chain int.pem -key server.key -CAfile root.pem -verify_return_error %s >&2",
                         f->dir, port, extra) > 0);
        fprintf(stderr, "# %s\n", cmd);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", cmd, NULL);
                _exit(127);
        }
        /* Wait for the port. */
        for (int i = 0; i < 100; i++) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
                _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0)
                        break;
                usleep(50 * 1000);
        }
        return pid;
}

/* The probe connection above used up -naccept 1 on some versions: start with -naccept 2. */
static void stop(pid_t pid) {
        (void) kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
}

/* s_client sends a line; the server answers it reversed only after a complete mutual handshake. */
static bool s_client_talks(Fixture *f, unsigned port, const char *extra) {
        _cleanup_free_ char *out = NULL;

        out = test_output("cd %s && (printf 'hello\\n'; sleep 1; printf 'CLOSE\\n') | timeout 10 openssl s_client "
                          "-quiet -tls1_3 -connect 127.0.0.1:%u -CAfile root.pem -verify_return_error "
                          "-verify_hostname localhost %s 2>&1",
                          f->dir, port, extra);
        fprintf(stderr, "# -> %s\n", out);
        return strstr(out, "olleh");
}

static void test_openssl_pair(void **state) {
        Fixture *f = *state;
        unsigned port;
        pid_t pid;

        /* Mutual TLS 1.3 with issued certificates. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_true(s_client_talks(f, port, "-cert client.pem -cert_chain int.pem -key client.key"));
        stop(pid);

        /* No client certificate. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_false(s_client_talks(f, port, ""));
        stop(pid);

        /* A revoked client certificate, with the CA's CRL. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2 -crl_check -CRL crl.pem");
        assert_false(s_client_talks(f, port, "-cert revoked.pem -cert_chain int.pem -key revoked.key"));
        stop(pid);
        /* ...while the good one still passes the CRL check. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2 -crl_check -CRL crl.pem");
        assert_true(s_client_talks(f, port, "-cert client.pem -cert_chain int.pem -key client.key"));
        stop(pid);

        /* A client certificate of another CA. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_false(s_client_talks(f, port, "-cert foreign.pem -cert_chain foreign-int.pem -key foreign.key"));
        stop(pid);
}

static X509_STORE *trust_root(Fixture *f) {
        _cleanup_free_ char *tdir = NULL, *pem = NULL;
        X509_STORE *s = NULL;

        assert_true(asprintf(&tdir, "%s/trust", f->dir) > 0);
        assert_int_equal(ca_cert_to_pem(ca_get_root(f->ca.ca), &pem), 0);
        assert_true(ca_trust_import(tdir, pem, strlen(pem), 0, NULL, NULL) >= 0);
        assert_int_equal(ca_trust_new_x509_store(tdir, NULL, &s), 0);
        return s;
}

static STACK_OF(X509) * intermediate_chain(Fixture *f) {
        STACK_OF(X509) *s = sk_X509_new_null();
        assert_int_equal(X509_add_cert(s, ca_get_intermediate(f->ca.ca), X509_ADD_FLAG_UP_REF), 1);
        return s;
}

/* Our server for one connection, in a child: exits 0 after a complete handshake (and a reply), 1
 * otherwise. */
static pid_t start_our_server(Fixture *f, unsigned *ret_port) {
        struct sockaddr_in a = { .sin_family = AF_INET };
        socklen_t alen = sizeof(a);
        int lfd;
        pid_t pid;

        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(lfd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(listen(lfd, 4), 0);
        assert_int_equal(getsockname(lfd, (struct sockaddr *) &a, &alen), 0);
        *ret_port = ntohs(a.sin_port);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                STACK_OF(X509) *chain = intermediate_chain(f);
                CaTlsParams p = {
                        .role = CA_TLS_SERVER,
                        .cert = f->server,
                        .key = f->server_key,
                        .chain = chain,
                        .trust = trust_root(f),
                        .require_peer_cert = true,
                };
                SSL_CTX *ctx = NULL;
                SSL *ssl;
                char buf[64];
                int fd, n;

                if (ca_trust_new_ssl_ctx(&p, &ctx) < 0)
                        _exit(2);
                fd = accept(lfd, NULL, NULL);
                ssl = SSL_new(ctx);
                SSL_set_fd(ssl, fd);
                if (SSL_accept(ssl) <= 0)
                        _exit(1);
                if (!SSL_get0_peer_certificate(ssl) || SSL_get_verify_result(ssl) != X509_V_OK)
                        _exit(3);
                n = SSL_read(ssl, buf, sizeof(buf));
                if (n <= 0)
                        _exit(4);
                (void) SSL_write(ssl, "olleh\n", 6);
                SSL_shutdown(ssl);
                _exit(0);
        }
        close(lfd);
        return pid;
}

static int wait_status(pid_t pid) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_our_server(void **state) {
        Fixture *f = *state;
        unsigned port;
        pid_t pid;

        pid = start_our_server(f, &port);
        assert_true(s_client_talks(f, port, "-cert client.pem -cert_chain int.pem -key client.key"));
        assert_int_equal(wait_status(pid), 0);

        pid = start_our_server(f, &port);
        (void) s_client_talks(f, port, "");
        assert_int_equal(wait_status(pid), 1);

        pid = start_our_server(f, &port);
        assert_false(s_client_talks(f, port, "-cert foreign.pem -cert_chain foreign-int.pem -key foreign.key"));
        assert_int_equal(wait_status(pid), 1);

        /* TLS 1.2 is not spoken. */
        pid = start_our_server(f, &port);
        assert_int_equal(test_run("cd %s && echo | timeout 10 openssl s_client -tls1_2 -connect 127.0.0.1:%u "
                                  "-CAfile root.pem -cert client.pem -cert_chain int.pem -key client.key",
                                  f->dir, port) == 0,
                         false);
        assert_int_equal(wait_status(pid), 1);
}

/* Our client against s_server; true if the server's answer came back. */
static bool our_client_talks(Fixture *f, unsigned port, X509 *cert, EVP_PKEY *key, const char *host) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(SSL_freep) SSL *ssl = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        STACK_OF(X509) *chain = intermediate_chain(f);
        CaTlsParams p = {
                .role = CA_TLS_CLIENT,
                .cert = cert,
                .key = key,
                .chain = chain,
                .trust = trust_root(f),
        };
        char buf[64] = {};
        bool ok = false;

        assert_int_equal(ca_trust_new_ssl_ctx(&p, &ctx), 0);
        sk_X509_pop_free(chain, X509_free);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        assert_int_equal(SSL_set1_host(ssl, host), 1);
        if (SSL_connect(ssl) > 0 && SSL_write(ssl, "hello\n", 6) == 6) {
                int n = SSL_read(ssl, buf, sizeof(buf) - 1);
                ok = n > 0 && strstr(buf, "olleh");
                (void) SSL_write(ssl, "CLOSE\n", 6);
        }
        ERR_clear_error();
        return ok;
}

static void test_our_client(void **state) {
        Fixture *f = *state;
        unsigned port;
        pid_t pid;

        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_true(our_client_talks(f, port, f->client, f->client_key, "localhost"));
        stop(pid);

        /* Without a client certificate the server refuses. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_false(our_client_talks(f, port, NULL, NULL, "localhost"));
        stop(pid);

        /* The wrong host name: our client refuses the server. */
        port = pick_port();
        pid = start_s_server(f, port, "-Verify 1 -naccept 2");
        assert_false(our_client_talks(f, port, f->client, f->client_key, "other.example.test"));
        stop(pid);

        /* Bad parameters. */
        {
                CaTlsParams p = { .role = CA_TLS_CLIENT };
                SSL_CTX *ctx = NULL;
                assert_int_equal(ca_trust_new_ssl_ctx(&p, &ctx), -EINVAL);
                p = (CaTlsParams){ .role = CA_TLS_SERVER, .trust = trust_root(f) };
                assert_int_equal(ca_trust_new_ssl_ctx(&p, &ctx), -EINVAL);
                p = (CaTlsParams){ .role = CA_TLS_SERVER, .cert = f->server, .key = f->client_key };
                assert_int_equal(ca_trust_new_ssl_ctx(&p, &ctx), -EINVAL);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_openssl_pair),
                cmocka_unit_test(test_our_server),
                cmocka_unit_test(test_our_client),
        };

        signal(SIGPIPE, SIG_IGN);
        log_parse_environment();
        return cmocka_run_group_tests(tests, setup, teardown);
}
