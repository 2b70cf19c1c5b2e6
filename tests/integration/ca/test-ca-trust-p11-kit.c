/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OS trust store through p11-kit's REAL `trust anchor --store / --remove`, in the private mount
 * namespace of tests/harness/tp-p11-kit-trust: the trust module there reads and writes only the empty
 * temporary store $TP_P11_KIT_STORE, never the machine's anchors. $PATH holds nothing but `trust`, so
 * detection picks p11-kit (neither update-ca-certificates nor update-ca-trust is found). What `trust list`
 * shows is the trust module's own view, independent of our code. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <openssl/rand.h>

#include "basic/string-util.h"
#include "../../unit/ca/ca-test-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-trust.h"

#define DAY (24 * 3600)

static const char *store, *compat_log;

static X509 *make_ca(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key) {
        X509_NAME *name = test_name(subject);
        time_t now = time(NULL);
        CaCertTemplate t = {
                .subject = name,
                .subject_key = key,
                .issuer = issuer,
                .issuer_key = issuer_key,
                .not_before = now - DAY,
                .not_after = now + 365 * DAY,
                .ca = true,
                .pathlen = -1,
                .key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN,
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

/* The anchors the trust module lists, as `trust list --filter=ca-anchors` prints them. */
static char *anchors(void) {
        return test_output("/usr/bin/trust list --filter=ca-anchors");
}

static size_t count(const char *haystack, const char *needle) {
        size_t n = 0;

        for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static size_t store_files(void) {
        DIR *d = opendir(store);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static size_t compat_runs(void) {
        _cleanup_free_ char *out = test_output("/bin/cat %s 2>/dev/null", compat_log);
        return count(out, "trust-extract-compat");
}

static int setup(void **state) {
        store = getenv("TP_P11_KIT_STORE");
        compat_log = getenv("TP_P11_KIT_COMPAT_LOG");
        /* Never on the machine's trust store: only inside the harness's namespace. */
        if (!store || !compat_log || !getenv("TP_P11_KIT_BIN"))
                fail_msg("run under tests/harness/tp-p11-kit-trust");
        setenv("PATH", getenv("TP_P11_KIT_BIN"), 1);
        return 0;
}

/* Install, list, reinstall, uninstall: each step as the trust module itself sees it. */
static void test_install_uninstall(void **state) {
        _cleanup_free_ char *before = NULL, *after = NULL, *again = NULL, *gone = NULL, *label = NULL,
                            *system_bundle = NULL, *pem = NULL;
        EVP_PKEY *key = test_key_ec("P-256"), *other_key = test_key_ec("P-256");
        X509 *root, *other;
        CaSystemTrust kind = _CA_SYSTEM_TRUST_INVALID;
        uint8_t rnd[4];

        assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
        assert_true(asprintf(&label, "TP p11-kit Root %02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]) > 0);
        {
                _cleanup_free_ char *subject = NULL;
                assert_true(asprintf(&subject, "/CN=%s", label) > 0);
                root = make_ca(subject, key, NULL, key);
        }
        other = make_ca("/CN=TP p11-kit Other Root", other_key, NULL, other_key);

        /* The namespace works: the machine's own anchors are out of sight, the store is empty. */
        before = anchors();
        assert_int_equal(count(before, "type=cert"), 0);
        assert_int_equal(store_files(), 0);

        assert_int_equal(ca_system_trust_detect(NULL, &kind), 0);
        assert_int_equal(kind, CA_SYSTEM_TRUST_P11_KIT);

        /* Nothing installed: uninstall says so and runs no `trust anchor --remove`. */
        assert_int_equal(ca_system_trust_uninstall(NULL, root, NULL), 0);
        assert_int_equal(compat_runs(), 0);

        kind = _CA_SYSTEM_TRUST_INVALID;
        assert_int_equal(ca_system_trust_install(NULL, root, &kind), 1);
        assert_int_equal(kind, CA_SYSTEM_TRUST_P11_KIT);
        after = anchors();
        fprintf(stderr, "%s", after);
        assert_int_equal(count(after, "type=cert"), 1);
        assert_non_null(strstr(after, label));
        assert_non_null(strstr(after, "trust: anchor"));
        assert_non_null(strstr(after, "category: authority"));
        assert_int_equal(store_files(), 1);
        assert_int_equal(compat_runs(), 1); /* the distribution's bundles were regenerated */

        /* Installed already: nothing changes, nothing runs. */
        assert_int_equal(ca_system_trust_install(NULL, root, NULL), 0);
        again = anchors();
        assert_int_equal(count(again, "type=cert"), 1);
        assert_int_equal(compat_runs(), 1);

        /* Another root is no reason to touch ours (and is not installed). */
        assert_int_equal(ca_system_trust_uninstall(NULL, other, NULL), 0);
        assert_int_equal(store_files(), 1);

        /* Only self-signed CAs go in; an intermediate is refused before any command runs. */
        {
                X509 *inter = make_ca("/CN=TP p11-kit Intermediate", other_key, root, key);
                assert_int_equal(ca_system_trust_install(NULL, inter, NULL), -EINVAL);
                assert_int_equal(ca_system_trust_uninstall(NULL, inter, NULL), -EINVAL);
                X509_free(inter);
        }

        assert_int_equal(ca_system_trust_uninstall(NULL, root, NULL), 1);
        gone = anchors();
        assert_null(strstr(gone, label));
        assert_int_equal(count(gone, "type=cert"), 0);
        assert_int_equal(store_files(), 0);
        assert_int_equal(compat_runs(), 2);
        assert_int_equal(ca_system_trust_uninstall(NULL, root, NULL), 0);

        /* The machine's bundle (not hidden in the namespace) never saw our root. */
        assert_int_equal(ca_cert_to_pem(root, &pem), 0);
        system_bundle = test_output("/bin/cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null");
        assert_null(strstr(system_bundle, pem));

        X509_free(root);
        X509_free(other);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other_key);
}

/* The store is read-only (tp-p11-kit-trust --read-only): `trust anchor --store` fails ("no configured
 * writable location"), which is -EPROTO, and nothing is half done: no anchor, no file, no bundle
 * regeneration. */
static void test_read_only_store(void **state) {
        EVP_PKEY *key = test_key_ec("P-256");
        X509 *root = make_ca("/CN=TP p11-kit Read-only Root", key, NULL, key);
        _cleanup_free_ char *after = NULL;

        assert_int_equal(ca_system_trust_install(NULL, root, NULL), -EPROTO);
        after = anchors();
        assert_int_equal(count(after, "type=cert"), 0);
        assert_int_equal(store_files(), 0);
        assert_int_equal(compat_runs(), 0);
        assert_int_equal(ca_system_trust_uninstall(NULL, root, NULL), 0);

        X509_free(root);
        EVP_PKEY_free(key);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_install_uninstall),
        };
        const struct CMUnitTest tests_read_only[] = {
                cmocka_unit_test(test_read_only_store),
        };

        if (getenv("TP_P11_KIT_READ_ONLY"))
                return cmocka_run_group_tests(tests_read_only, setup, NULL);
        return cmocka_run_group_tests(tests, setup, NULL);
}
