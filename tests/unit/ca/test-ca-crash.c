/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash consistency of the CA's durable state: a child issues (one by one and in group-committed
 * batches) and revokes in a loop and is killed with SIGKILL at a random point, 200 times. After each
 * kill the CA is recovered as opening it does (every 20th time by really closing and reopening it);
 * then no temporary file is left, every index record parses and has its PEM copy (and no copy is
 * without its record), the record's certificate carries the record's serial, and at the end a CRL
 * over the revoked certificates verifies and `openssl verify -crl_check` rejects a revoked one. */

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca-test-util.h"

#define CYCLES 200
#define FULL_CHECK_EVERY 25
#define REOPEN_EVERY 20

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

/* Runs until killed. Uses the parent's Ca (and its inherited directory lock). */
_noreturn_ static void child(Ca *ca, uint8_t *const *csrs, const size_t *sizes, size_t n_csrs) {
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        char *last = NULL;

        srand((unsigned) getpid());
        for (unsigned i = 0;; i++) {
                size_t k = (size_t) rand() % n_csrs;

                if (i % 3 == 2) {
                        CaIssueBatchItem items[4] = {};

                        for (size_t j = 0; j < ELEMENTSOF(items); j++)
                                items[j] = (CaIssueBatchItem){ csrs[(k + j) % n_csrs],
                                                               sizes[(k + j) % n_csrs], req };
                        if (ca_issue_batch(ca, items, ELEMENTSOF(items)) < 0)
                                _exit(EXIT_FAILURE);
                        for (size_t j = 0; j < ELEMENTSOF(items); j++) {
                                X509_free(items[j].cert);
                                free(last);
                                last = items[j].serial;
                        }
                } else {
                        X509 *cert = NULL;

                        free(last);
                        last = NULL;
                        if (ca_issue(ca, csrs[k], sizes[k], &req, &cert, &last) < 0)
                                _exit(EXIT_FAILURE);
                        X509_free(cert);
                }
                if (i % 2 == 1 && last && ca_revoke(ca, last, CA_REASON_KEY_COMPROMISE) < 0)
                        _exit(EXIT_FAILURE);
        }
}

static void assert_no_temporary(const char *dir) {
        struct dirent *de;
        DIR *d = opendir(dir);

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".#", 2) == 0)
                        fail_msg("Temporary file '%s/%s' left behind.", dir, de->d_name);
        closedir(d);
}

static size_t count_suffix(const char *dir, const char *suffix) {
        struct dirent *de;
        size_t n = 0;
        DIR *d = opendir(dir);

        assert_non_null(d);
        while ((de = readdir(d)))
                n += endswith(de->d_name, suffix) != NULL;
        closedir(d);
        return n;
}

/* Returns the number of revoked certificates. */
static size_t check_consistent(const char *ca_dir, bool full) {
        _cleanup_free_ char *index = NULL, *certs = NULL;
        CaIndexEntry **l = NULL;
        size_t n, revoked = 0;

        assert_true(asprintf(&index, "%s/index", ca_dir) > 0);
        assert_true(asprintf(&certs, "%s/certs", ca_dir) > 0);
        assert_no_temporary(ca_dir);
        assert_no_temporary(index);
        assert_no_temporary(certs);
        assert_int_equal(count_suffix(index, ".json"), count_suffix(certs, ".pem"));
        if (!full)
                return 0;

        assert_int_equal(ca_index_list(ca_dir, &l, &n), 0);
        assert_int_equal(n, count_suffix(index, ".json"));
        for (size_t i = 0; i < n; i++) {
                _cleanup_(X509_freep) X509 *cert = NULL, *copy = NULL;
                _cleanup_(BN_freep) BIGNUM *bn = NULL;
                _cleanup_(OPENSSL_freep) char *hex = NULL;
                _cleanup_free_ char *pem_path = NULL;
                FILE *f;

                assert_int_equal(ca_index_lookup(ca_dir, l[i]->serial, NULL, &cert), 0);
                bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
                assert_non_null(bn);
                hex = BN_bn2hex(bn);
                /* BN_bn2hex drops leading zeros. */
                assert_non_null(endswith(l[i]->serial, hex));
                if (i > 0)
                        assert_true(strcmp(l[i - 1]->serial, l[i]->serial) < 0); /* sorted: no duplicates */

                assert_true(asprintf(&pem_path, "%s/%s.pem", certs, l[i]->serial) > 0);
                f = fopen(pem_path, "re");
                assert_non_null(f);
                copy = PEM_read_X509(f, NULL, NULL, NULL);
                fclose(f);
                assert_non_null(copy);
                assert_int_equal(X509_cmp(cert, copy), 0);
                revoked += l[i]->status == CA_CERT_REVOKED;
        }
        ca_index_entry_array_free(l, n);
        return revoked;
}

static void test_sigkill_loop(void **state) {
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        _cleanup_free_ char *crl_path = NULL, *leaf = NULL;
        CaIndexEntry **l = NULL;
        uint8_t *csrs[8];
        size_t sizes[8], n, revoked = 0;
        uint64_t t0, issue_us;
        TestCa t = {};
        int r;

        test_ca_open(&t, 0);
        for (size_t i = 0; i < ELEMENTSOF(csrs); i++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
                csrs[i] = test_csr(key, "/CN=crash.example.com", "DNS:crash.example.com", &sizes[i]);
        }

        /* Kill points spread over about five operations. */
        {
                CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
                X509 *c = NULL;

                t0 = now_us();
                assert_int_equal(ca_issue(t.ca, csrs[0], sizes[0], &req, &c, NULL), 0);
                X509_free(c);
                issue_us = MAX(now_us() - t0, (uint64_t) 200);
        }

        srand(4711);
        for (unsigned cycle = 0; cycle < CYCLES; cycle++) {
                pid_t pid;
                int status;

                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        child(t.ca, csrs, sizes, ELEMENTSOF(csrs));

                /* Mostly within the first few operations, sometimes after many. */
                usleep((useconds_t) ((uint64_t) rand() % ((cycle % 4 == 3 ? 15 : 5) * issue_us)));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                /* Killed, not failed on its own. */
                assert_true(WIFSIGNALED(status));

                if (cycle % REOPEN_EVERY == REOPEN_EVERY - 1) {
                        CaConfig c = test_config(0);

                        t.ca = ca_free(t.ca);
                        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 0);
                } else {
                        r = ca_index_recover(t.ca_dir);
                        assert_int_equal(r, 0);
                }
                revoked = check_consistent(t.ca_dir, cycle % FULL_CHECK_EVERY == 0 || cycle == CYCLES - 1);
        }
        {
                _cleanup_free_ char *index = NULL;

                assert_true(asprintf(&index, "%s/index", t.ca_dir) > 0);
                fprintf(stderr, "# %d cycles: %zu certificates, %zu revoked\n", CYCLES,
                        count_suffix(index, ".json"), revoked);
        }
        assert_true(revoked > 0);

        /* The CRL over what survived verifies, and openssl rejects a revoked certificate with it. */
        assert_int_equal(ca_crl_generate(t.ca, 24, &crl), 0);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca_get_intermediate(t.ca))), 1);
        assert_int_equal(ca_list(t.ca, &l, &n), 0);
        for (size_t i = 0; i < n && !leaf; i++)
                if (l[i]->status == CA_CERT_REVOKED) {
                        _cleanup_(X509_freep) X509 *cert = NULL;

                        assert_int_equal(ca_lookup(t.ca, l[i]->serial, NULL, &cert), 0);
                        assert_true(asprintf(&leaf, "%s/revoked.crt", t.dir) > 0);
                        test_write_cert(leaf, cert);
                }
        ca_index_entry_array_free(l, n);
        {
                _cleanup_free_ char *a = NULL, *b = NULL;
                FILE *f;

                assert_true(asprintf(&a, "%s/root.crt", t.dir) > 0);
                assert_true(asprintf(&b, "%s/int.crt", t.dir) > 0);
                test_write_cert(a, ca_get_root(t.ca));
                test_write_cert(b, ca_get_intermediate(t.ca));
                assert_true(asprintf(&crl_path, "%s/crl.pem", t.dir) > 0);
                f = fopen(crl_path, "we");
                assert_non_null(f);
                assert_int_equal(PEM_write_X509_CRL(f, crl), 1);
                assert_int_equal(fclose(f), 0);
        }
        assert_int_equal(test_run("openssl verify -crl_check -CAfile %s/root.crt -untrusted %s/int.crt -CRLfile %s "
                                  "%s 2>&1 | grep -q 'certificate revoked'",
                                  t.dir, t.dir, crl_path, leaf),
                         0);

        for (size_t i = 0; i < ELEMENTSOF(csrs); i++)
                OPENSSL_free(csrs[i]);
        test_ca_close(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sigkill_loop),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
