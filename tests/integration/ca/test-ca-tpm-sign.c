/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keys the CA makes and keeps in the TPM for issued certificates (swtpm behind tpm2-abrmd, so the openssl
 * CLI uses the TPM too): ca_issue_generate() puts the key in the TPM, only its TPM-wrapped TSS2 PEM comes
 * out, our signatures verify with `openssl cms`, and `openssl cms -sign -provider tpm2` with that PEM
 * makes signatures ca_held_verify() accepts. What a TPM cannot hold is refused before anything is issued. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../unit/ca/ca-test-util.h"
#include "basic/log.h"
#include "basic/string-util.h"

static void test_tpm_held_keys(void **state) {
        static const char data[] = "measured payload\n";
        _cleanup_free_ char *dir = test_mkdtemp(), *ca_dir = NULL, *keys = NULL, *serial = NULL, *pem = NULL;
        _cleanup_free_ char *subject = NULL, *vserial = NULL, *reason = NULL, *path = NULL;
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *sig = NULL;
        _cleanup_free_ uint8_t *cli_sig = NULL;
        char *sans[] = { (char *) "URI:spiffe://example.test/host/7", NULL };
        CaIssueRequest req = { .profile = CA_PROFILE_DEVICE };
        CaConfig c = test_config(0);
        CaIndexEntry **l = NULL;
        size_t n, cli_n, before;
        X509 *cert = NULL, *none = NULL;
        const char *tcti = getenv("TRUSTED_PLATFORM_TCTI");
        Ca *ca = NULL;

        assert_non_null(tcti);
        assert_non_null(dir);
        assert_true(asprintf(&ca_dir, "%s/ca", dir) > 0);
        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_int_equal(ca_keystore_tpm_new(keys, tcti, &store), 0);
        assert_int_equal(ca_init(ca_dir, store, &c, &ca), 1);

        assert_int_equal(
                ca_issue_generate(ca, store, CA_KEY_ECDSA_P256, "/CN=host 7", sans, &req, &cert, &serial), 0);
        assert_int_equal(ca_held_key_wrapped_pem(store, serial, &pem), 1);
        assert_true(startswith(pem, "-----BEGIN TSS2 PRIVATE KEY-----"));
        assert_null(strstr(pem, "BEGIN PRIVATE KEY"));

        assert_int_equal(ca_held_sign(ca, store, serial, data, sizeof(data) - 1, &sig, &n), 0);
        assert_true(asprintf(&path, "%s/data", dir) > 0);
        assert_int_equal(write_file_atomic(path, data, sizeof(data) - 1, 0600), 0);
        free(path);
        assert_true(asprintf(&path, "%s/data.sig", dir) > 0);
        assert_int_equal(write_file_atomic(path, sig, n, 0600), 0);
        free(path);
        assert_true(asprintf(&path, "%s/key.pem", dir) > 0);
        assert_int_equal(write_file_atomic(path, pem, strlen(pem), 0600), 0);
        free(path);
        assert_true(asprintf(&path, "%s/cert.pem", dir) > 0);
        test_write_cert(path, cert);
        free(path);
        assert_int_equal(test_run("cd %s && openssl cms -verify -binary -inform DER -in data.sig -content data "
                                  "-CAfile ca/root.pem -purpose any -out /dev/null",
                                  dir),
                         0);

        /* The openssl CLI signs with the handed-out TPM key; ours accepts it. */
        assert_int_equal(
                test_run("cd %s && TPM2OPENSSL_TCTI='%s' openssl cms -sign -binary -outform DER "
                         "-provider tpm2 -provider default -md sha256 -in data -signer cert.pem -inkey key.pem "
                         "-out cli.sig",
                         dir, tcti),
                0);
        assert_true(asprintf(&path, "%s/cli.sig", dir) > 0);
        assert_int_equal(read_full_file(path, SIZE_MAX, (char **) &cli_sig, &cli_n), 0);
        assert_int_equal(
                ca_held_verify(ca, cli_sig, cli_n, data, sizeof(data) - 1, &subject, &vserial, &reason), 1);
        assert_string_equal(vserial, serial);
        assert_null(reason);

        /* A TPM holds no Ed25519 or RSA 4096 key: refused, and no certificate was issued for it. */
        assert_int_equal(ca_list(ca, &l, &before), 0);
        ca_index_entry_array_free(l, before);
        assert_int_equal(ca_issue_generate(ca, store, CA_KEY_ED25519, "/CN=e", sans, &req, &none, NULL),
                         -EOPNOTSUPP);
        assert_int_equal(ca_issue_generate(ca, store, CA_KEY_RSA_4096, "/CN=r", sans, &req, &none, NULL),
                         -EOPNOTSUPP);
        assert_null(none);
        assert_int_equal(ca_list(ca, &l, &n), 0);
        ca_index_entry_array_free(l, n);
        assert_int_equal(n, before);

        X509_free(cert);
        ca_free(ca);
        test_rmdtemp(TAKE_PTR(dir));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tpm_held_keys),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
