/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CA with its keys in the TPM (swtpm behind tpm2-abrmd, so that the openssl CLI can use the TPM
 * while we hold it): root and intermediate created in the TPM, issued chains verify with openssl, the
 * CA reopens with the same keys, the openssl CLI signs with our TPM-held intermediate through the tpm2
 * provider, and what the store refuses (Ed25519, a software key dropped into it, replacing a key). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "../../unit/ca/ca-test-util.h"
#include "basic/log.h"

static uint64_t now_usec_for_test(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

static const char *tcti(void) {
        const char *t = getenv("TRUSTED_PLATFORM_TCTI");
        assert_non_null(t);
        return t;
}

static void test_tpm_ca(void **state) {
        _cleanup_free_ char *dir = test_mkdtemp(), *ca_dir = NULL, *keys = NULL, *path = NULL,
                            *key_text = NULL;
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *leaf_key = test_key_ec("P-256"), *k = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        CaConfig c = test_config(0);
        Ca *ca = NULL;
        X509 *cert = NULL;
        struct stat st;
        size_t n;
        uint64_t t0;

        assert_non_null(dir);
        assert_true(asprintf(&ca_dir, "%s/ca", dir) > 0);
        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_int_equal(ca_keystore_tpm_new(keys, tcti(), &store), 0);
        assert_int_equal(ca_init(ca_dir, store, &c, &ca), 1);

        /* Key files hold TPM-wrapped keys only. */
        assert_true(asprintf(&path, "%s/intermediate.pem", keys) > 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(read_full_file(path, SIZE_MAX, &key_text, NULL), 0);
        assert_non_null(strstr(key_text, "-----BEGIN TSS2 PRIVATE KEY-----"));

        csr = test_csr(leaf_key, "/CN=tpm.example.com", "DNS:tpm.example.com", &n);
        t0 = now_usec_for_test();
        for (unsigned i = 0; i < 10; i++) {
                assert_int_equal(ca_issue(ca, csr, n, &req, &cert, NULL), 0);
                if (i < 9)
                        X509_free(cert);
        }
        fprintf(stderr, "# TPM key: %.1f certificates/s (one by one, durable)\n",
                10.0 / ((double) (now_usec_for_test() - t0) / 1e6));
        {
                _cleanup_free_ char *a = NULL, *b = NULL, *l = NULL;

                assert_true(asprintf(&a, "%s/root.crt", dir) > 0);
                assert_true(asprintf(&b, "%s/int.crt", dir) > 0);
                assert_true(asprintf(&l, "%s/leaf.crt", dir) > 0);
                test_write_cert(a, ca_get_root(ca));
                test_write_cert(b, ca_get_intermediate(ca));
                test_write_cert(l, cert);
                X509_free(cert);
        }
        assert_int_equal(
                test_run("openssl verify -x509_strict -CAfile %s/root.crt -untrusted %s/int.crt %s/leaf.crt",
                         dir, dir, dir),
                0);

        /* Reopened: the same CA, keys loaded from the TPM. */
        ca = ca_free(ca);
        assert_int_equal(ca_init(ca_dir, store, &c, &ca), 0);
        assert_int_equal(ca_issue(ca, csr, n, &req, &cert, NULL), 0);
        X509_free(cert);

        /* The openssl CLI signs with our TPM-held intermediate through the tpm2 provider. */
        {
                _cleanup_free_ char *csr_path = NULL;
                FILE *f;
                const unsigned char *p = csr;
                X509_REQ *x = d2i_X509_REQ(NULL, &p, (long) n);

                assert_non_null(x);
                assert_true(asprintf(&csr_path, "%s/req.pem", dir) > 0);
                f = fopen(csr_path, "we");
                assert_non_null(f);
                assert_int_equal(PEM_write_X509_REQ(f, x), 1);
                assert_int_equal(fclose(f), 0);
                X509_REQ_free(x);
        }
        assert_int_equal(
                test_run("cd %s && TPM2OPENSSL_TCTI='%s' openssl x509 -req -provider tpm2 -provider default "
                         "-in req.pem -CA int.crt -CAkey keys/intermediate.pem -days 1 -set_serial 7 -out cli.crt "
                         "&& openssl verify -CAfile root.crt -untrusted int.crt cli.crt",
                         dir, tcti()),
                0);

        /* Refusals. */
        assert_int_equal(ca_keystore_generate(store, "edward", CA_KEY_ED25519, &k), -EOPNOTSUPP);
        assert_int_equal(ca_keystore_generate(store, "intermediate", CA_KEY_ECDSA_P256, &k), -EEXIST);
        {
                _cleanup_free_ char *soft = NULL;

                assert_true(asprintf(&soft, "%s/software.pem", keys) > 0);
                test_write_key(soft, leaf_key);
                assert_int_equal(chmod(soft, 0600), 0);
                assert_int_equal(ca_keystore_load(store, "software", &k), -EBADMSG);
                assert_int_equal(chmod(soft, 0644), 0);
                assert_int_equal(ca_keystore_load(store, "software", &k), -EPERM);
        }
        assert_int_equal(ca_keystore_load(store, "missing", &k), -ENOENT);

        /* Removing a key removes its wrapped file: the TPM has nothing left to load it from. */
        {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *doomed = NULL, *again = NULL;
                _cleanup_free_ char *doomed_path = NULL;

                assert_true(asprintf(&doomed_path, "%s/doomed.pem", keys) > 0);
                assert_int_equal(ca_keystore_remove(store, "doomed"), -ENOENT);
                assert_int_equal(ca_keystore_generate(store, "doomed", CA_KEY_ECDSA_P256, &doomed), 0);
                assert_int_equal(access(doomed_path, F_OK), 0);
                assert_int_equal(ca_keystore_remove(store, "doomed"), 0);
                assert_int_equal(access(doomed_path, F_OK), -1);
                assert_int_equal(ca_keystore_exists(store, "doomed"), 0);
                assert_int_equal(ca_keystore_load(store, "doomed", &again), -ENOENT);
                assert_int_equal(ca_keystore_remove(store, "doomed"), -ENOENT);
                /* The CA's own keys are untouched. */
                assert_int_equal(ca_keystore_exists(store, "intermediate"), 1);
                assert_int_equal(ca_keystore_generate(store, "doomed", CA_KEY_ECDSA_P256, &again), 0);
                assert_int_not_equal(EVP_PKEY_eq(doomed, again), 1);
        }

        ca_free(ca);
        test_rmdtemp(TAKE_PTR(dir));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tpm_ca),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
