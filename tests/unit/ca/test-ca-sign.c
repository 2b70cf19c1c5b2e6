/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Detached CMS signatures with CA-issued keys and signed blobs, with `openssl cms` as the independent
 * peer in both directions: ours verify with openssl, openssl's verify with ours; changed data, other
 * anchors, a certificate not for signing, garbage and malformed blobs are refused with distinct errors. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "basic/log.h"
#include "ca-test-util.h"
#include "ca/ca-sign.h"

static const char data[] = "release 1.2.3 of something worth signing\n";

static X509 *issue(TestCa *t, EVP_PKEY *key, CaProfileId profile, const char *cn) {
        _cleanup_(OPENSSL_freep) uint8_t *csr = NULL;
        CaIssueRequest req = { .profile = profile };
        X509 *cert = NULL;
        size_t n;

        csr = test_csr(key, cn, NULL, &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, NULL), 0);
        return cert;
}

static STACK_OF(X509) * stack_of(X509 *x) {
        STACK_OF(X509) *s = sk_X509_new_null();
        assert_non_null(s);
        assert_int_equal(X509_up_ref(x), 1);
        assert_true(sk_X509_push(s, x) > 0);
        return s;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
}

static void test_sign_verify(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256"), *ca_key = test_key_ec("P-384");
        _cleanup_(X509_freep) X509 *cert = NULL, *sub_ca = NULL, *signer = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *sig = NULL, *sig2 = NULL;
        _cleanup_free_ uint8_t *osig = NULL;
        STACK_OF(X509) *anchors = NULL, *chain = NULL, *other_anchors = NULL;
        _cleanup_free_ char *subject = NULL;
        TestCa t = {}, other = {};
        size_t n, n2, on;

        test_ca_open(&t, 1); /* pathlen 1: the intermediate may issue the sub-CA below */
        test_ca_open(&other, 0);
        cert = issue(&t, key, CA_PROFILE_CODE_SIGNING, "/CN=Release Signer/O=Example");
        anchors = stack_of(ca_get_root(t.ca));
        chain = stack_of(ca_get_intermediate(t.ca));
        other_anchors = stack_of(ca_get_root(other.ca));

        assert_int_equal(ca_sign_detached(key, cert, chain, data, strlen(data), &sig, &n), 0);
        assert_int_equal(ca_verify_detached(sig, n, data, strlen(data), anchors, &signer), 0);
        subject = X509_NAME_oneline(X509_get_subject_name(signer), NULL, 0);
        assert_string_equal(subject, "/CN=Release Signer/O=Example");

        /* openssl agrees. */
        write_file(t.dir, "data", data, strlen(data));
        write_file(t.dir, "sig.der", sig, n);
        {
                _cleanup_free_ char *a = NULL, *b = NULL, *l = NULL, *k = NULL;

                assert_true(asprintf(&a, "%s/root.crt", t.dir) > 0 && asprintf(&b, "%s/int.crt", t.dir) > 0 &&
                            asprintf(&l, "%s/leaf.crt", t.dir) > 0 && asprintf(&k, "%s/leaf.key", t.dir) > 0);
                test_write_cert(a, ca_get_root(t.ca));
                test_write_cert(b, ca_get_intermediate(t.ca));
                test_write_cert(l, cert);
                test_write_key(k, key);
        }
        assert_int_equal(
                test_run("cd %s && openssl cms -verify -binary -inform DER -in sig.der -content data "
                         "-CAfile root.crt -purpose any -out /dev/null 2>&1 | grep -q 'Verification successful'",
                         t.dir),
                0);
        /* And ours verifies openssl's. */
        assert_int_equal(
                test_run("cd %s && openssl cms -sign -binary -outform DER -signer leaf.crt -inkey leaf.key "
                         "-certfile int.crt -in data -out osig.der",
                         t.dir),
                0);
        {
                _cleanup_free_ char *path = NULL;
                assert_true(asprintf(&path, "%s/osig.der", t.dir) > 0);
                assert_int_equal(read_full_file(path, SIZE_MAX, (char **) &osig, &on), 0);
        }
        assert_int_equal(ca_verify_detached(osig, on, data, strlen(data), anchors, NULL), 0);

        /* Refusals. */
        assert_int_equal(ca_verify_detached(sig, n, "release 1.2.4", 13, anchors, NULL), -EKEYREJECTED);
        assert_int_equal(ca_verify_detached(sig, n, data, strlen(data), other_anchors, NULL), -ENOKEY);
        assert_int_equal(ca_verify_detached(sig, n, data, strlen(data), NULL, NULL), -ENOKEY);
        assert_int_equal(ca_verify_detached("garbage", 7, data, strlen(data), anchors, NULL), -EBADMSG);
        assert_int_equal(ca_verify_detached(sig, n - 1, data, strlen(data), anchors, NULL), -EBADMSG);
        assert_int_equal(ca_verify_detached(sig, n / 2, data, strlen(data), anchors, NULL), -EBADMSG);
        assert_int_equal(ca_verify_detached(sig, CA_SIGNATURE_MAX + 1, data, strlen(data), anchors, NULL),
                         -E2BIG);
        /* An attached (not detached) signature is not what we verify. */
        assert_int_equal(test_run("cd %s && openssl cms -sign -binary -nodetach -outform DER -signer leaf.crt "
                                  "-inkey leaf.key -in data -out attached.der",
                                  t.dir),
                         0);
        {
                _cleanup_free_ char *path = NULL, *att = NULL;
                size_t an;

                assert_true(asprintf(&path, "%s/attached.der", t.dir) > 0);
                assert_int_equal(read_full_file(path, SIZE_MAX, &att, &an), 0);
                assert_int_equal(ca_verify_detached(att, an, data, strlen(data), anchors, NULL), -EBADMSG);
        }
        /* The key of another certificate. */
        assert_int_equal(ca_sign_detached(ca_key, cert, NULL, data, strlen(data), &sig2, &n2), -EINVAL);
        /* A CA certificate (keyCertSign, cRLSign only) is no signer of data. */
        sub_ca = issue(&t, ca_key, CA_PROFILE_SUB_CA, "/CN=Not A Signer");
        assert_int_equal(ca_sign_detached(ca_key, sub_ca, chain, data, strlen(data), &sig2, &n2), 0);
        assert_int_equal(ca_verify_detached(sig2, n2, data, strlen(data), anchors, NULL), -ENOKEY);

        sk_X509_pop_free(anchors, X509_free);
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(other_anchors, X509_free);
        test_ca_close(&other);
        test_ca_close(&t);
}

static void test_signed_blob(void **state) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(X509_freep) X509 *cert = NULL, *signer = NULL;
        _cleanup_free_ uint8_t *blob = NULL;
        _cleanup_free_ void *out = NULL;
        STACK_OF(X509) *anchors = NULL, *chain = NULL;
        TestCa t = {};
        size_t n, on;

        test_ca_open(&t, 0);
        cert = issue(&t, key, CA_PROFILE_CODE_SIGNING, "/CN=Blob Signer");
        anchors = stack_of(ca_get_root(t.ca));
        chain = stack_of(ca_get_intermediate(t.ca));

        assert_int_equal(ca_signed_blob_make(key, cert, chain, data, strlen(data), &blob, &n), 0);
        assert_int_equal(ca_signed_blob_open(blob, n, anchors, &out, &on, &signer), 0);
        assert_int_equal(on, strlen(data));
        assert_memory_equal(out, data, on);
        assert_non_null(signer);
        out = mfree(out);

        /* A changed data byte, a changed signature byte, sizes that lie, truncation, wrong magic. */
        blob[8 + 4 + 3] ^= 1;
        assert_int_equal(ca_signed_blob_open(blob, n, anchors, &out, &on, NULL), -EKEYREJECTED);
        blob[8 + 4 + 3] ^= 1;
        blob[n - 10] ^= 1;
        assert_true(ca_signed_blob_open(blob, n, anchors, &out, &on, NULL) < 0);
        blob[n - 10] ^= 1;
        for (size_t cut = 0; cut < n; cut += 7)
                assert_true(ca_signed_blob_open(blob, cut, anchors, &out, &on, NULL) < 0);
        blob[8] = 0xff;
        assert_int_equal(ca_signed_blob_open(blob, n, anchors, &out, &on, NULL), -EBADMSG);
        blob[8] = 0;
        blob[0] = 'X';
        assert_int_equal(ca_signed_blob_open(blob, n, anchors, &out, &on, NULL), -EBADMSG);
        blob[0] = 'T';
        assert_int_equal(ca_signed_blob_open(blob, n, anchors, &out, &on, NULL), 0);
        out = mfree(out);

        sk_X509_pop_free(anchors, X509_free);
        sk_X509_pop_free(chain, X509_free);
        test_ca_close(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sign_verify),
                cmocka_unit_test(test_signed_blob),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
