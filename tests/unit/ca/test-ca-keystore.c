/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file key store: every key type, encrypted PKCS#8 that the openssl CLI can open with the
 * passphrase and nothing else, modes 0600/0700, no key ever replaced, open or clear keys refused. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/log.h"
#include "ca-test-util.h"

static void test_key_types(void **state) {
        _cleanup_free_ char *keys = NULL;
        char *dir = test_mkdtemp();
        CaKeyStore *s = NULL;

        assert_non_null(dir);
        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &s), 0);

        for (CaKeyType t = 0; t < _CA_KEY_TYPE_MAX; t++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *a = NULL, *b = NULL;
                const char *id = ca_key_type_to_string(t);

                assert_non_null(id);
                assert_int_equal(ca_key_type_from_string(id), t);
                assert_int_equal(ca_keystore_exists(s, id), 0);
                assert_int_equal(ca_keystore_generate(s, id, t, &a), 0);
                assert_int_equal(ca_key_type_of(a), t);
                assert_int_equal(ca_keystore_exists(s, id), 1);
                assert_int_equal(ca_keystore_load(s, id, &b), 0);
                assert_int_equal(EVP_PKEY_eq(a, b), 1);
        }
        assert_int_equal(ca_key_type_from_string("rsa-1024"), -EINVAL);
        assert_int_equal(ca_key_type_from_string(NULL), -EINVAL);

        ca_keystore_free(s);
        test_rmdtemp(dir);
}

static void test_file_store_security(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL, *again = NULL, *loaded = NULL;
        _cleanup_free_ char *keys = NULL, *path = NULL, *pem = NULL, *out = NULL;
        char *dir = test_mkdtemp();
        CaKeyStore *s = NULL, *wrong = NULL;
        struct stat st;

        assert_non_null(dir);
        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_true(asprintf(&path, "%s/keys/k1.pem", dir) > 0);

        /* Bad arguments. */
        assert_int_equal(ca_keystore_file_new(keys, "short", 5, &s), -EINVAL);
        assert_int_equal(ca_keystore_file_new(keys, "with\0nul-byte", 13, &s), -EINVAL);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &s), 0);
        assert_int_equal(ca_keystore_generate(s, "../evil", CA_KEY_ECDSA_P256, &k), -EINVAL);
        assert_int_equal(ca_keystore_generate(s, "", CA_KEY_ECDSA_P256, &k), -EINVAL);
        assert_int_equal(ca_keystore_generate(s, "UPPER", CA_KEY_ECDSA_P256, &k), -EINVAL);
        assert_int_equal(ca_keystore_generate(s, "k1", (CaKeyType) 42, &k), -EINVAL);
        assert_int_equal(ca_keystore_load(s, "missing", &k), -ENOENT);

        assert_int_equal(ca_keystore_generate(s, "k1", CA_KEY_ECDSA_P256, &k), 0);
        /* Never replaced. */
        assert_int_equal(ca_keystore_generate(s, "k1", CA_KEY_ECDSA_P384, &again), -EEXIST);
        assert_int_equal(ca_keystore_load(s, "k1", &loaded), 0);
        assert_int_equal(EVP_PKEY_eq(k, loaded), 1);

        assert_int_equal(stat(keys, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* Encrypted with scrypt + AES-256, and the openssl CLI agrees. */
        assert_int_equal(read_full_file(path, 65536, &pem, NULL), 0);
        assert_non_null(strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        out = test_output("openssl asn1parse -in %s 2>&1", path);
        assert_non_null(strstr(out, ":scrypt"));
        assert_non_null(strstr(out, "INTEGER           :4000")); /* N = 2^14 */
        assert_non_null(strstr(out, "aes-256-cbc"));
        assert_int_equal(test_run("openssl pkey -in %s -passin 'pass:" TEST_PASSPHRASE "' -noout", path), 0);
        assert_int_not_equal(test_run("openssl pkey -in %s -passin pass:wrongwrong -noout 2>/dev/null", path),
                             0);

        /* Wrong passphrase. */
        assert_int_equal(ca_keystore_file_new(keys, "not the passphrase", 18, &wrong), 0);
        EVP_PKEY_free(loaded);
        loaded = NULL;
        assert_int_equal(ca_keystore_load(wrong, "k1", &loaded), -EACCES);

        /* A key file others can read is refused. */
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(ca_keystore_load(s, "k1", &loaded), -EPERM);
        assert_int_equal(chmod(path, 0600), 0);

        /* A key in the clear is refused, not used. */
        assert_int_equal(
                test_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/keys/clear.pem "
                         "&& chmod 0600 %s/keys/clear.pem",
                         dir, dir),
                0);
        assert_int_equal(ca_keystore_load(s, "clear", &loaded), -EBADMSG);

        /* An existing directory that is too open is refused. */
        ca_keystore_free(wrong);
        wrong = NULL;
        assert_int_equal(chmod(keys, 0755), 0);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &wrong), -EPERM);

        ca_keystore_free(s);
        test_rmdtemp(dir);
}

/* A removed key is gone from the disk and from the store, and its id can be used again. */
static void test_file_store_remove(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL, *again = NULL, *loaded = NULL;
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_free_ char *keys = NULL, *path = NULL, *link = NULL;
        char *dir = test_mkdtemp();

        assert_non_null(dir);
        assert_true(asprintf(&keys, "%s/keys", dir) > 0);
        assert_true(asprintf(&path, "%s/keys/gone.pem", dir) > 0);
        assert_int_equal(ca_keystore_file_new(keys, TEST_PASSPHRASE, strlen(TEST_PASSPHRASE), &s), 0);

        assert_int_equal(ca_keystore_remove(s, "gone"), -ENOENT);
        assert_int_equal(ca_keystore_remove(s, "../keys/gone"), -EINVAL);
        assert_int_equal(ca_keystore_remove(s, ""), -EINVAL);

        assert_int_equal(ca_keystore_generate(s, "gone", CA_KEY_ECDSA_P256, &k), 0);
        assert_int_equal(ca_keystore_generate(s, "stays", CA_KEY_ECDSA_P256, &again), 0);
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(ca_keystore_remove(s, "gone"), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(ca_keystore_exists(s, "gone"), 0);
        assert_int_equal(ca_keystore_load(s, "gone", &loaded), -ENOENT);
        assert_int_equal(ca_keystore_remove(s, "gone"), -ENOENT);
        /* The other key is untouched. */
        assert_int_equal(ca_keystore_load(s, "stays", &loaded), 0);
        assert_int_equal(EVP_PKEY_eq(again, loaded), 1);

        /* The id is free again, for a new key. */
        EVP_PKEY_free(again);
        again = NULL;
        assert_int_equal(ca_keystore_generate(s, "gone", CA_KEY_ECDSA_P256, &again), 0);
        assert_int_not_equal(EVP_PKEY_eq(k, again), 1);

        /* A symlink in the store is not followed (nor is what it points to wiped). */
        assert_true(asprintf(&link, "%s/keys/link.pem", dir) > 0);
        assert_int_equal(symlink(path, link), 0);
        assert_true(ca_keystore_remove(s, "link") < 0);
        assert_int_equal(access(path, F_OK), 0);

        test_rmdtemp(dir);
}

/* The file is overwritten before it is unlinked: a second link to it (as a backup tool or an attacker
 * with a hard link would keep) sees zeros, not the key. */
static void test_key_file_erase(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *data = NULL;
        char *dir = test_mkdtemp();
        size_t size = 0;

        assert_non_null(dir);
        assert_true(asprintf(&a, "%s/key.pem", dir) > 0);
        assert_true(asprintf(&b, "%s/second-link", dir) > 0);
        assert_int_equal(write_file_atomic(a, "SECRET KEY MATERIAL", 19, 0600), 0);
        assert_int_equal(link(a, b), 0);
        assert_int_equal(ca_key_file_erase(a), 0);
        assert_int_equal(access(a, F_OK), -1);
        assert_int_equal(read_full_file(b, 4096, &data, &size), 0);
        assert_int_equal(size, 19);
        for (size_t i = 0; i < size; i++)
                assert_int_equal(data[i], 0);
        assert_int_equal(ca_key_file_erase(a), -ENOENT);
        assert_int_equal(ca_key_file_erase("relative"), -EINVAL);
        assert_int_equal(ca_key_file_erase(dir), -EISDIR);

        test_rmdtemp(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_types),
                cmocka_unit_test(test_file_store_security),
                cmocka_unit_test(test_file_store_remove),
                cmocka_unit_test(test_key_file_erase),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
