/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM and device profiles (ak, ek, device) and keys the CA makes and keeps: the extensions checked
 * through the OpenSSL API and as `openssl x509 -text` shows them, TPM attributes validated strictly and
 * never taken from a CSR, and signatures with kept keys that `openssl cms` verifies, refused once the
 * signer is revoked. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/log.h"
#include "ca-test-util.h"
#include "ca/ca-sign.h"

static const CaTpmInfo swtpm = { .manufacturer = "id:00001014", .model = "swtpm", .version = "id:20191023" };

static X509 *issue_csr(TestCa *t, EVP_PKEY *key, const char *subject, const char *san, CaProfileId profile,
                       const CaTpmInfo *tpm, int expect) {
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = profile, .tpm = tpm };
        X509 *cert = NULL;
        size_t n;

        csr = test_csr(key, subject, san, &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, NULL), expect);
        return cert;
}

static bool has_eku_oid(X509 *cert, const char *oid) {
        EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
        bool found = false;
        char buf[64];

        for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
                OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, i), 1);
                found = found || streq(buf, oid);
        }
        EXTENDED_KEY_USAGE_free(eku);
        return found;
}

/* The SAN is one directoryName of three single-attribute RDNs: manufacturer, model, version. */
static void assert_tpm_san(X509 *cert, const char *manufacturer, const char *model, const char *version,
                           bool critical) {
        static const char *const oids[] = { "2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3" };
        const char *values[] = { manufacturer, model, version };
        GENERAL_NAMES *sans;
        X509_NAME *dn;
        int crit = -1;

        sans = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
        assert_non_null(sans);
        assert_int_equal(crit, critical ? 1 : 0);
        assert_int_equal(sk_GENERAL_NAME_num(sans), 1);
        assert_int_equal(sk_GENERAL_NAME_value(sans, 0)->type, GEN_DIRNAME);
        dn = sk_GENERAL_NAME_value(sans, 0)->d.directoryName;
        assert_int_equal(X509_NAME_entry_count(dn), 3);
        for (int i = 0; i < 3; i++) {
                X509_NAME_ENTRY *e = X509_NAME_get_entry(dn, i);
                const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
                char buf[64];

                OBJ_obj2txt(buf, sizeof(buf), X509_NAME_ENTRY_get_object(e), 1);
                assert_string_equal(buf, oids[i]);
                assert_int_equal(X509_NAME_ENTRY_set(e), i); /* an RDN of its own */
                assert_int_equal(ASN1_STRING_type(v), V_ASN1_UTF8STRING);
                assert_int_equal(ASN1_STRING_length(v), (int) strlen(values[i]));
                assert_memory_equal(ASN1_STRING_get0_data(v), values[i], strlen(values[i]));
        }
        GENERAL_NAMES_free(sans);
}

static char *cert_text(TestCa *t, X509 *cert, const char *name) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s.pem", t->dir, name) > 0);
        test_write_cert(path, cert);
        assert_int_equal(test_run("openssl verify -CAfile %s/ca/root.pem -untrusted %s/ca/intermediate.pem %s",
                                  t->dir, t->dir, path),
                         0);
        return test_output("openssl x509 -in %s -noout -text", path);
}

static void test_ak_profile(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(X509_freep) X509 *cert = NULL, *named = NULL;
        _cleanup_free_ char *text = NULL;
        CaTpmInfo lower = { .manufacturer = "id:49424d00", .model = "SLB 9670", .version = "id:0007003d" };
        TestCa t = {};

        test_ca_open(&t, 0);

        /* An empty subject: the SAN is critical. */
        cert = issue_csr(&t, key, NULL, NULL, CA_PROFILE_AK, &swtpm, 0);
        assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(cert)), 0);
        assert_true(has_eku_oid(cert, "2.23.133.8.3"));
        assert_false(has_eku_oid(cert, "2.23.133.8.1"));
        assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
        assert_int_equal(X509_check_ca(cert), 0);
        assert_tpm_san(cert, "id:00001014", "swtpm", "id:20191023", true);
        text = cert_text(&t, cert, "ak");
        assert_non_null(strstr(text, "X509v3 Extended Key Usage: \n                2.23.133.8.3"));
        assert_non_null(strstr(text,
                               "X509v3 Subject Alternative Name: critical\n"
                               "                DirName:/2.23.133.2.1=id:00001014/2.23.133.2.2=swtpm/"
                               "2.23.133.2.3=id:20191023"));
        assert_non_null(strstr(text, "X509v3 Key Usage: critical\n                Digital Signature\n"));

        /* With a subject the SAN is not critical; hex digits come out upper case. */
        named = issue_csr(&t, key, "/CN=ak of host1", NULL, CA_PROFILE_AK, &lower, 0);
        assert_tpm_san(named, "id:49424D00", "SLB 9670", "id:0007003D", false);

        test_ca_close(&t);
}

static void test_ek_profile(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ec = test_key_ec("P-256"), *rsa = NULL;
        _cleanup_(X509_freep) X509 *ec_cert = NULL, *rsa_cert = NULL;
        _cleanup_free_ char *text = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_EK, .tpm = &swtpm };
        TestCa t = {};

        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        assert_non_null(rsa);
        test_ca_open(&t, 0);

        /* An EK cannot sign a CSR: certified from its public key. */
        assert_int_equal(ca_issue_key(t.ca, ec, "", NULL, &req, &ec_cert, NULL), 0);
        assert_int_equal(X509_get_key_usage(ec_cert), KU_KEY_AGREEMENT);
        assert_true(has_eku_oid(ec_cert, "2.23.133.8.1"));
        assert_tpm_san(ec_cert, "id:00001014", "swtpm", "id:20191023", true);

        assert_int_equal(ca_issue_key(t.ca, rsa, NULL, NULL, &req, &rsa_cert, NULL), 0);
        assert_int_equal(X509_get_key_usage(rsa_cert), KU_KEY_ENCIPHERMENT);
        text = cert_text(&t, rsa_cert, "ek");
        assert_non_null(strstr(text, "2.23.133.8.1"));
        assert_non_null(strstr(text, "X509v3 Key Usage: critical\n                Key Encipherment\n"));
        assert_non_null(strstr(text, "X509v3 Subject Alternative Name: critical"));
        assert_null(strstr(text, "Digital Signature"));

        /* An Ed25519 key can neither encrypt nor agree on keys. */
        {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
                X509 *c = NULL;
                assert_int_equal(ca_issue_key(t.ca, ed, NULL, NULL, &req, &c, NULL), -EOPNOTSUPP);
        }
        test_ca_close(&t);
}

static void test_device_profile(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-384");
        _cleanup_(X509_freep) X509 *cert = NULL, *dns = NULL;
        _cleanup_free_ char *text = NULL;
        char *uri[] = { (char *) "URI:urn:uuid:2f1c3c4e-9d3a-4b1e-8a51-6b0b1c1e0f00", NULL };
        char *email[] = { (char *) "email:root@example.test", NULL };
        CaIssueRequest req = { .profile = CA_PROFILE_DEVICE };
        X509 *c = NULL;
        TestCa t = {};

        test_ca_open(&t, 0);
        assert_int_equal(ca_issue_key(t.ca, key, "/CN=device 1", uri, &req, &cert, NULL), 0);
        assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
        assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
        text = cert_text(&t, cert, "device");
        assert_non_null(strstr(text, "TLS Web Client Authentication"));
        assert_non_null(strstr(text, "URI:urn:uuid:2f1c3c4e-9d3a-4b1e-8a51-6b0b1c1e0f00"));

        dns = issue_csr(&t, key, "/CN=host1.example.test", "DNS:host1.example.test", CA_PROFILE_DEVICE, NULL,
                        0);
        assert_non_null(dns);

        /* A SAN is required; email is not a device name; a subject is required; no TPM attributes. */
        assert_int_equal(ca_issue_key(t.ca, key, "/CN=device 2", NULL, &req, &c, NULL), -EINVAL);
        assert_int_equal(ca_issue_key(t.ca, key, "/CN=device 2", email, &req, &c, NULL), -EINVAL);
        assert_int_equal(ca_issue_key(t.ca, key, "", uri, &req, &c, NULL), -EINVAL);
        req.tpm = &swtpm;
        assert_int_equal(ca_issue_key(t.ca, key, "/CN=device 2", uri, &req, &c, NULL), -EINVAL);
        assert_null(c);
        test_ca_close(&t);
}

static void test_tpm_info_malformed(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_free_ char *long_model = NULL;
        const CaTpmInfo bad[] = {
                { .manufacturer = NULL, .model = "m", .version = "id:01" },
                { .manufacturer = "id:00001014", .model = NULL, .version = "id:01" },
                { .manufacturer = "id:00001014", .model = "m", .version = NULL },
                { .manufacturer = "00001014", .model = "m", .version = "id:01" },       /* no "id:" */
                { .manufacturer = "id:0000101", .model = "m", .version = "id:01" },     /* 7 digits */
                { .manufacturer = "id:000010140", .model = "m", .version = "id:01" },   /* 9 digits */
                { .manufacturer = "id:0000101G", .model = "m", .version = "id:01" },    /* not hex */
                { .manufacturer = "ID:00001014", .model = "m", .version = "id:01" },    /* prefix case */
                { .manufacturer = "IBM", .model = "m", .version = "id:01" },            /* a name */
                { .manufacturer = "id:00001014", .model = "", .version = "id:01" },     /* empty model */
                { .manufacturer = "id:00001014", .model = "a\nb", .version = "id:01" }, /* control char */
                { .manufacturer = "id:00001014", .model = "caf\xc3\xa9", .version = "id:01" }, /* non-ASCII */
                { .manufacturer = "id:00001014", .model = "m", .version = "id:" },    /* no digits */
                { .manufacturer = "id:00001014", .model = "m", .version = "id:123" }, /* odd count */
                { .manufacturer = "id:00001014",
                  .model = "m",
                  .version = "id:"
                             "0123456789ABCDEF01" },                                 /* 18 */
                { .manufacturer = "id:00001014", .model = "m", .version = "1.2.3" }, /* dotted */
                { .manufacturer = "id:00001014", .model = "m", .version = "id:0x12" },
                { .manufacturer = " id:00001014", .model = "m", .version = "id:01" },
        };
        CaTpmInfo too_long = swtpm;
        TestCa t = {};

        long_model = malloc(CA_TPM_MODEL_MAX + 2);
        assert_non_null(long_model);
        memset(long_model, 'M', CA_TPM_MODEL_MAX + 1);
        long_model[CA_TPM_MODEL_MAX + 1] = 0;
        too_long.model = long_model;

        test_ca_open(&t, 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                print_message("# bad TPM attributes %zu\n", i);
                assert_int_equal(ca_tpm_info_check(&bad[i]), -EINVAL);
                assert_null(issue_csr(&t, key, NULL, NULL, CA_PROFILE_AK, &bad[i], -EINVAL));
        }
        assert_int_equal(ca_tpm_info_check(&too_long), -EINVAL);
        long_model[CA_TPM_MODEL_MAX] = 0;
        assert_int_equal(ca_tpm_info_check(&too_long), 0);

        /* ak and ek need the attributes; other profiles take none. */
        assert_null(issue_csr(&t, key, NULL, NULL, CA_PROFILE_AK, NULL, -EINVAL));
        assert_null(issue_csr(&t, key, NULL, NULL, CA_PROFILE_EK, NULL, -EINVAL));
        assert_null(issue_csr(&t, key, "/CN=c", NULL, CA_PROFILE_TLS_CLIENT, &swtpm, -EINVAL));

        /* The CSR's own directoryName, or any other SAN, is refused: the TPM is named by the request. */
        {
                STACK_OF(X509_EXTENSION) *exts = NULL;
                GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
                GENERAL_NAME *gn = NULL;
                _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
                CaIssueRequest r2 = { .profile = CA_PROFILE_AK, .tpm = &swtpm };
                X509 *c = NULL;
                size_t csr_size;

                assert_int_equal(ca_tpm_info_to_general_name(&swtpm, &gn), 0);
                assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
                exts = sk_X509_EXTENSION_new_null();
                assert_true(sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, 1, gns)) > 0);
                GENERAL_NAMES_free(gns);
                csr = test_csr_der(key, X509_NAME_new(), exts, &csr_size);
                assert_int_equal(ca_issue(t.ca, csr, csr_size, &r2, &c, NULL), -EINVAL);
        }
        assert_null(issue_csr(&t, key, NULL, "DNS:host.example.test", CA_PROFILE_AK, &swtpm, -EINVAL));
        assert_null(issue_csr(&t, key, NULL, "URI:urn:x:y", CA_PROFILE_EK, &swtpm, -EINVAL));
        /* A subject may be empty for ak/ek only. */
        assert_null(issue_csr(&t, key, NULL, "DNS:host.example.test", CA_PROFILE_DEVICE, NULL, -EINVAL));
        test_ca_close(&t);
}

static time_t clock_offset;
static time_t shifted_clock(void) {
        return time(NULL) + clock_offset;
}

/* Makes the directory dir of the CA refuse new files: chattr +i as root (whom modes do not stop), mode 0500
 * otherwise; undone with locked = false. */
static void lock_dir(const char *dir, bool locked) {
        if (geteuid() == 0)
                assert_int_equal(test_run("chattr %si %s", locked ? "+" : "-", dir), 0);
        else
                assert_int_equal(chmod(dir, locked ? 0500 : 0700), 0);
}

static unsigned count_files(const char *dir) {
        _cleanup_free_ char *out = test_output("ls -A %s | wc -l", dir);
        assert_non_null(out);
        return (unsigned) atoi(out);
}

/* A generated key whose certificate could not be recorded is removed again; one whose record was written
 * (the PEM copy failed after it) stays with its certificate. */
static void test_generate_failure_removes_key(void **state) {
        char *sans[] = { (char *) "DNS:svc.example.test", NULL };
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        _cleanup_free_ char *keys = NULL, *index = NULL, *certs = NULL, *serial = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        CaIndexEntry **list = NULL;
        X509 *c = NULL;
        size_t n = 0;
        TestCa t = {};

        test_ca_open(&t, 0);
        assert_true(asprintf(&keys, "%s/keys", t.ca_dir) > 0);
        assert_true(asprintf(&index, "%s/index", t.ca_dir) > 0);
        assert_true(asprintf(&certs, "%s/certs", t.ca_dir) > 0);
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=svc.example.test", sans,
                                           &req, &cert, &serial),
                         0);
        assert_int_equal(count_files(keys), 3); /* root, intermediate, the first certificate's */

        /* The record cannot be written: nothing is issued, and the key is gone again. */
        lock_dir(index, true);
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=svc.example.test", sans,
                                           &req, &c, NULL),
                         geteuid() == 0 ? -EPERM : -EACCES);
        lock_dir(index, false);
        assert_null(c);
        assert_int_equal(count_files(keys), 3);
        assert_int_equal(ca_list(t.ca, &list, &n), 0);
        assert_int_equal(n, 1);
        for (size_t i = 0; i < n; i++)
                ca_index_entry_free(list[i]);
        list = mfree(list);

        /* The record is written, its PEM copy is not: the certificate exists, so its key stays. */
        lock_dir(certs, true);
        assert_true(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=svc.example.test", sans, &req,
                                      &c, NULL) < 0);
        lock_dir(certs, false);
        assert_null(c);
        assert_int_equal(count_files(keys), 4);
        assert_int_equal(ca_list(t.ca, &list, &n), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
                _cleanup_free_ char *id = NULL;

                assert_int_equal(ca_issued_key_id(list[i]->serial, &id), 0);
                assert_int_equal(ca_keystore_load(t.store, id, &k), 0);
                ca_index_entry_free(list[i]);
        }
        free(list);

        test_ca_close(&t);
}

static void test_generate_sign_verify(void **state) {
        static const char data[] = "firmware image 7\n";
        char *sans[] = { (char *) "DNS:svc.example.test", NULL };
        char *uri[] = { (char *) "URI:spiffe://example.test/device/1", NULL };
        _cleanup_(X509_freep) X509 *cert = NULL, *device = NULL, *from_csr = NULL, *ek = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *sig = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *other = test_key_ec("P-256");
        _cleanup_free_ char *serial = NULL, *dserial = NULL, *id = NULL, *csr_serial = NULL, *ek_serial = NULL;
        _cleanup_free_ char *subject = NULL, *vserial = NULL, *reason = NULL;
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        X509 *c = NULL;
        uint8_t *none = NULL;
        size_t n, none_size;
        TestCa t = {};

        test_ca_open(&t, 0);
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=svc.example.test", sans,
                                           &req, &cert, &serial),
                         0);
        assert_int_equal(ca_issued_key_id(serial, &id), 0);
        assert_int_equal(strlen(id), 5 + 32);
        assert_true(strlen(id) <= CA_KEY_ID_MAX);
        assert_int_equal(ca_keystore_exists(t.store, id), 1);
        assert_int_equal(ca_keystore_load(t.store, id, &key), 0);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
        {
                /* A file store's software key is never handed out. */
                char *pem = (char *) "unset";
                assert_int_equal(ca_held_key_wrapped_pem(t.store, serial, &pem), 0);
                assert_null(pem);
                assert_int_equal(ca_held_key_wrapped_pem(t.store, "0123456789ABCDEF0123456789ABCDEF", &pem),
                                 -ENOKEY);
        }

        req.profile = CA_PROFILE_DEVICE;
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_RSA_2048, "/CN=device 1", uri, &req,
                                           &device, &dserial),
                         0);

        /* Refused before any key is made: profiles whose keys the CA does not keep, bad names. */
        for (CaProfileId p = 0; p < _CA_PROFILE_MAX; p++) {
                CaIssueRequest r2 = { .profile = p, .tpm = ca_profile_get(p)->tpm_san ? &swtpm : NULL };
                if (ca_profile_get(p)->daemon_key)
                        continue;
                assert_int_equal(
                        ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=x", NULL, &r2, &c, NULL),
                        -EINVAL);
        }
        req.profile = CA_PROFILE_TLS_SERVER;
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "/CN=other.example.test", sans,
                                           &req, &c, NULL),
                         -EINVAL); /* CN not among the SANs */
        assert_int_equal(ca_issue_generate(t.ca, t.store, CA_KEY_ECDSA_P256, "CN=x", sans, &req, &c, NULL),
                         -EINVAL);
        assert_null(c);

        /* Sign with the kept key; openssl cms verifies it against the root. */
        assert_int_equal(ca_held_sign(t.ca, t.store, serial, data, sizeof(data) - 1, &sig, &n), 0);
        {
                _cleanup_free_ char *d = NULL, *s = NULL;
                assert_true(asprintf(&d, "%s/data", t.dir) > 0 && asprintf(&s, "%s/data.sig", t.dir) > 0);
                assert_int_equal(write_file_atomic(d, data, sizeof(data) - 1, 0600), 0);
                assert_int_equal(write_file_atomic(s, sig, n, 0600), 0);
                assert_int_equal(test_run("openssl cms -verify -binary -inform DER -in %s -content %s "
                                          "-CAfile %s/ca/root.pem -purpose any -out /dev/null",
                                          s, d, t.dir),
                                 0);
        }
        assert_int_equal(ca_held_verify(t.ca, sig, n, data, sizeof(data) - 1, &subject, &vserial, &reason), 1);
        assert_string_equal(vserial, serial);
        assert_string_equal(subject, "CN=svc.example.test");
        assert_null(reason);
        subject = mfree(subject);
        vserial = mfree(vserial);
        assert_int_equal(ca_held_verify(t.ca, sig, n, "firmware image 8\n", sizeof(data) - 1, &subject,
                                        &vserial, &reason),
                         0);
        assert_non_null(strstr(reason, "does not match"));
        reason = mfree(reason);
        assert_int_equal(ca_held_verify(t.ca, "garbage", 7, data, 3, &subject, &vserial, &reason), -EBADMSG);

        /* No key kept for a CSR-issued certificate; an EK certificate cannot sign; unknown serials. */
        {
                _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
                CaIssueRequest cr = { .profile = CA_PROFILE_TLS_CLIENT };
                CaIssueRequest er = { .profile = CA_PROFILE_EK, .tpm = &swtpm };
                size_t csr_size;

                csr = test_csr(other, "/CN=c1", NULL, &csr_size);
                assert_int_equal(ca_issue(t.ca, csr, csr_size, &cr, &from_csr, &csr_serial), 0);
                assert_int_equal(ca_issue_key(t.ca, other, NULL, NULL, &er, &ek, &ek_serial), 0);
        }
        assert_int_equal(ca_held_sign(t.ca, t.store, csr_serial, data, 3, &none, &none_size), -ENOKEY);
        assert_int_equal(ca_held_sign(t.ca, t.store, ek_serial, data, 3, &none, &none_size), -EPERM);
        assert_int_equal(
                ca_held_sign(t.ca, t.store, "0123456789ABCDEF0123456789ABCDEF", data, 3, &none, &none_size),
                -ENOENT);
        assert_int_equal(ca_held_sign(t.ca, t.store, "../etc", data, 3, &none, &none_size), -EINVAL);

        /* Not valid any more, then revoked: no signing, and old signatures are invalid. */
        clock_offset = 400 * 24 * 3600;
        ca_set_clock(t.ca, shifted_clock);
        assert_int_equal(ca_held_sign(t.ca, t.store, serial, data, 3, &none, &none_size), -EKEYEXPIRED);
        ca_set_clock(t.ca, NULL);

        assert_int_equal(ca_revoke(t.ca, serial, CA_REASON_KEY_COMPROMISE), 0);
        assert_int_equal(ca_held_sign(t.ca, t.store, serial, data, 3, &none, &none_size), -EKEYREVOKED);
        assert_int_equal(ca_held_verify(t.ca, sig, n, data, sizeof(data) - 1, &subject, &vserial, &reason), 0);
        assert_string_equal(vserial, serial);
        assert_non_null(strstr(reason, "revoked (keyCompromise)"));
        test_ca_close(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ak_profile),
                cmocka_unit_test(test_ek_profile),
                cmocka_unit_test(test_device_profile),
                cmocka_unit_test(test_tpm_info_malformed),
                cmocka_unit_test(test_generate_sign_verify),
                cmocka_unit_test(test_generate_failure_removes_key),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
