/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PKCS#11 key store on softhsm2 (a private SOFTHSM2_CONF and token directory, tokens initialised
 * with softhsm2-util): a CA with both keys on the token issues certificates, a CRL and an OCSP
 * response that the openssl CLI accepts; the openssl CLI with the pkcs11 engine signs with the token
 * key; bad modules, tokens and PINs, taken ids, unsupported types and foreign objects give clean
 * errors. */

#include <dlfcn.h>
#include <openssl/err.h>
#include <p11-kit/pkcs11.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "ca-test-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-ocsp.h"
#include "ca/ca-sign.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "12345678"
#define SO_PIN "87654321"
#define TOKEN "ca-token"

static char *hsm_dir;

static char *path_join2(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s%s", a, b) < 0)
                abort();
        return p;
}

static int setup_softhsm(void **state) {
        _cleanup_free_ char *conf = NULL, *text = NULL;

        /* scripts/install-deps installs softhsm2: its absence is a failure, never a skip. */
        if (access(MODULE, R_OK) < 0 || test_run("command -v softhsm2-util >/dev/null") != 0) {
                printf("Bail out! softhsm2 is not installed (scripts/install-deps installs it)\n");
                exit(EXIT_FAILURE);
        }
        hsm_dir = test_mkdtemp();
        assert_non_null(hsm_dir);
        assert_true(asprintf(&conf, "%s/softhsm2.conf", hsm_dir) > 0);
        assert_true(asprintf(&text,
                             "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
                             hsm_dir) > 0);
        assert_int_equal(write_file_atomic(conf, text, strlen(text), 0600), 0);
        assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
        assert_int_equal(test_run("mkdir -p %s/tokens && softhsm2-util --init-token --free --label %s --pin %s "
                                  "--so-pin %s >/dev/null && softhsm2-util --init-token --free --label other "
                                  "--pin %s --so-pin %s >/dev/null",
                                  hsm_dir, TOKEN, PIN, SO_PIN, PIN, SO_PIN),
                         0);
        return 0;
}

static int teardown_softhsm(void **state) {
        test_rmdtemp(hsm_dir);
        return 0;
}

static void test_open_errors(void **state) {
        _cleanup_free_ char *not_module = NULL;
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        CaKeyStore *other = NULL;
        char long_pin[CA_PKCS11_PIN_MAX + 2];

        /* Only absolute module paths: no search of the library path. */
        assert_int_equal(ca_keystore_pkcs11_new("libsofthsm2.so", TOKEN, PIN, &other), -EINVAL);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "", PIN, &other), -EINVAL);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "a-token-label-longer-than-32-bytes", PIN, &other),
                         -EINVAL);
        memset(long_pin, 'x', sizeof(long_pin) - 1);
        long_pin[sizeof(long_pin) - 1] = 0;
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, long_pin, &other), -EINVAL);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, "", &other), -EINVAL);

        /* No module, or a file that is not one. */
        assert_int_equal(ca_keystore_pkcs11_new("/nonexistent/libpkcs11.so", TOKEN, PIN, &other), -ENOENT);
        assert_true(asprintf(&not_module, "%s/softhsm2.conf", hsm_dir) > 0);
        assert_int_equal(ca_keystore_pkcs11_new(not_module, TOKEN, PIN, &other), -ENOPKG);
        assert_int_equal(ca_keystore_pkcs11_new("/usr/lib/softhsm", TOKEN, PIN, &other), -ENOPKG);

        /* Unknown token, wrong or missing PIN: once each, the module unloaded again every time. */
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "no-such-token", PIN, &other), -ENXIO);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, "87654321", &other), -EACCES);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, NULL, &other), -EACCES);

        /* One store per module and process. */
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, PIN, &s), 0);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "other", PIN, &other), -EBUSY);
        assert_int_equal(ca_keystore_pkcs11_new(NULL, "other", PIN, &other), -EBUSY);
        s = ca_keystore_free(s);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "other", PIN, &other), 0);
        ca_keystore_free(other);
}

/* Signs "data" with key and verifies with pub. */
static void assert_signs(EVP_PKEY *key, EVP_PKEY *pub) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sign = EVP_MD_CTX_new(), *verify = EVP_MD_CTX_new();
        uint8_t sig[1024];
        size_t n = sizeof(sig);

        assert_int_equal(EVP_DigestSignInit(sign, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestSign(sign, sig, &n, (const uint8_t *) "data", 4), 1);
        assert_int_equal(EVP_DigestVerifyInit(verify, NULL, EVP_sha256(), NULL, pub), 1);
        assert_int_equal(EVP_DigestVerify(verify, sig, n, (const uint8_t *) "data", 4), 1);
}

/* A software copy of key's public half, through DER: proof that it is only the public key. */
static EVP_PKEY *public_copy(EVP_PKEY *key) {
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        const uint8_t *p;
        int n;

        n = i2d_PUBKEY(key, &der);
        assert_true(n > 0);
        p = der;
        return d2i_PUBKEY(NULL, &p, n);
}

static void test_key_types(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;

        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "other", PIN, &s), 0);
        for (CaKeyType t = 0; t < _CA_KEY_TYPE_MAX; t++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *a = NULL, *b = NULL, *pub = NULL;
                const char *id = ca_key_type_to_string(t);

                assert_int_equal(ca_keystore_exists(s, id), 0);
                assert_int_equal(ca_keystore_load(s, id, &a), -ENOENT);
                if (t == CA_KEY_ED25519) {
                        assert_int_equal(ca_keystore_generate(s, id, t, &a), -EOPNOTSUPP);
                        assert_int_equal(ca_keystore_exists(s, id), 0);
                        continue;
                }
                assert_int_equal(ca_keystore_generate(s, id, t, &a), 0);
                assert_int_equal(ca_key_type_of(a), t);
                assert_int_equal(ca_keystore_exists(s, id), 1);
                assert_int_equal(ca_keystore_load(s, id, &b), 0);
                assert_int_equal(EVP_PKEY_eq(a, b), 1);
                assert_non_null(pub = public_copy(b));
                assert_signs(b, pub);

                EVP_PKEY_free(b);
                b = NULL;
                assert_int_equal(ca_keystore_generate(s, id, t, &b), -EEXIST);
                assert_null(b);
        }
}

/* Reads CKA_SENSITIVE, CKA_EXTRACTABLE and CKA_ID of the private key labelled label on token, with the
 * module's own API (the store must be closed: one initialisation per process). */
static void assert_key_attributes(const char *label) {
        CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
        CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
        CK_FUNCTION_LIST_PTR f = NULL;
        CK_C_GetFunctionList get;
        CK_SLOT_ID slots[16];
        CK_ULONG n_slots = ELEMENTSOF(slots), n = 0;
        CK_SESSION_HANDLE session = 0;
        CK_OBJECT_HANDLE object;
        uint8_t id[64];
        bool found = false;
        void *module;

        assert_non_null(module = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL));
        assert_non_null(get = (CK_C_GetFunctionList) dlsym(module, "C_GetFunctionList"));
        assert_int_equal(get(&f), CKR_OK);
        assert_int_equal(f->C_Initialize(NULL), CKR_OK);
        assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n_slots), CKR_OK);
        for (CK_ULONG i = 0; i < n_slots && !found; i++) {
                CK_TOKEN_INFO info;

                assert_int_equal(f->C_GetTokenInfo(slots[i], &info), CKR_OK);
                if (memcmp(info.label, TOKEN, strlen(TOKEN)) != 0 || info.label[strlen(TOKEN)] != ' ')
                        continue;
                assert_int_equal(f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &session), CKR_OK);
                found = true;
        }
        assert_true(found);
        assert_int_equal(f->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR) PIN, strlen(PIN)), CKR_OK);
        {
                CK_ATTRIBUTE find[] = {
                        { CKA_CLASS, &class, sizeof(class) },
                        { CKA_LABEL, (void *) label, strlen(label) },
                };
                assert_int_equal(f->C_FindObjectsInit(session, find, ELEMENTSOF(find)), CKR_OK);
                assert_int_equal(f->C_FindObjects(session, &object, 1, &n), CKR_OK);
                assert_int_equal(f->C_FindObjectsFinal(session), CKR_OK);
                assert_int_equal(n, 1);
        }
        {
                CK_ATTRIBUTE get_attrs[] = {
                        { CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
                        { CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
                        { CKA_ID, id, sizeof(id) },
                };
                assert_int_equal(f->C_GetAttributeValue(session, object, get_attrs, ELEMENTSOF(get_attrs)),
                                 CKR_OK);
                assert_true(sensitive);
                assert_false(extractable);
                assert_int_equal(get_attrs[2].ulValueLen, strlen(label));
                assert_memory_equal(id, label, strlen(label));
        }
        (void) f->C_Logout(session);
        (void) f->C_CloseSession(session);
        assert_int_equal(f->C_Finalize(NULL), CKR_OK);
        dlclose(module);
}

static void issue(TestCa *t, CaProfileId profile, const char *name, const char *subject, const char *san,
                  char **ret_serial) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = test_key_ec("P-256");
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ uint8_t *csr = NULL;
        _cleanup_free_ char *path = NULL;
        CaIssueRequest req = { .profile = profile };
        size_t n;

        csr = test_csr(key, subject, san, &n);
        assert_int_equal(ca_issue(t->ca, csr, n, &req, &cert, ret_serial), 0);
        assert_true(asprintf(&path, "%s/%s.crt", t->dir, name) > 0);
        test_write_cert(path, cert);
}

static void write_file(const char *dir, const char *name, const void *data, size_t size) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        assert_int_equal(write_file_atomic(path, data, size, 0644), 0);
}

static void test_ca_on_token(void **state) {
        _cleanup_free_ char *good = NULL, *revoked = NULL, *out = NULL, *root_pem = NULL, *again_pem = NULL,
                            *req_der = NULL, *crl_pem = NULL, *path = NULL;
        _cleanup_free_ uint8_t *resp = NULL;
        _cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
        CaConfig c = test_config(0);
        TestCa t = {};
        size_t req_size, resp_size;

        /* An RSA root over an ECDSA intermediate: both of libp11's signing paths. */
        c.root.key_type = CA_KEY_RSA_2048;
        c.intermediate.key_type = CA_KEY_ECDSA_P384;
        t.dir = test_mkdtemp();
        assert_non_null(t.dir);
        assert_true(asprintf(&t.ca_dir, "%s/ca", t.dir) > 0);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, PIN, &t.store), 0);
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 1);
        assert_int_equal(ca_keystore_exists(t.store, "root"), 1);
        assert_int_equal(ca_keystore_exists(t.store, "intermediate"), 1);
        assert_int_equal(ca_cert_to_pem(ca_get_root(t.ca), &root_pem), 0);
        write_file(t.dir, "root.crt", root_pem, strlen(root_pem));
        test_write_cert(path = path_join2(t.dir, "/int.crt"), ca_get_intermediate(t.ca));

        /* Certificates, a revocation, the CRL: openssl agrees. */
        issue(&t, CA_PROFILE_TLS_SERVER, "good", "/CN=good.example.test", "DNS:good.example.test", &good);
        issue(&t, CA_PROFILE_TLS_SERVER, "revoked", "/CN=bad.example.test", "DNS:bad.example.test", &revoked);
        assert_int_equal(ca_revoke(t.ca, revoked, CA_REASON_KEY_COMPROMISE), 0);
        assert_int_equal(ca_crl_generate(t.ca, 24, &crl), 0);
        {
                BIO *b = BIO_new(BIO_s_mem());
                char *data;
                long n;

                assert_int_equal(PEM_write_bio_X509_CRL(b, crl), 1);
                n = BIO_get_mem_data(b, &data);
                write_file(t.dir, "crl.pem", data, (size_t) n);
                BIO_free(b);
        }
        assert_int_equal(test_run("cd %s && openssl verify -x509_strict -crl_check -CAfile root.crt -untrusted "
                                  "int.crt -CRLfile crl.pem good.crt",
                                  t.dir),
                         0);
        out = test_output("cd %s && openssl verify -crl_check -CAfile root.crt -untrusted int.crt -CRLfile crl.pem "
                          "revoked.crt 2>&1",
                          t.dir);
        assert_non_null(strstr(out, "certificate revoked"));
        out = mfree(out);

        /* An OCSP response for a request made by openssl, signed on the token by the intermediate. */
        assert_int_equal(test_run("cd %s && openssl ocsp -issuer int.crt -cert good.crt -cert revoked.crt "
                                  "-reqout req.der >/dev/null",
                                  t.dir),
                         0);
        free(path);
        assert_non_null(path = path_join2(t.dir, "/req.der"));
        assert_int_equal(read_full_file(path, 64 * 1024, &req_der, &req_size), 0);
        assert_int_equal(ca_ocsp_respond(t.ca, req_der, req_size, &resp, &resp_size), 0);
        write_file(t.dir, "resp.der", resp, resp_size);
        out = test_output("cd %s && openssl ocsp -respin resp.der -issuer int.crt -cert good.crt -cert revoked.crt "
                          "-CAfile root.crt -verify_other int.crt -no_nonce 2>&1",
                          t.dir);
        assert_non_null(strstr(out, "Response verify OK"));
        assert_non_null(strstr(out, "good.crt: good"));
        assert_non_null(strstr(out, "revoked.crt: revoked"));
        out = mfree(out);

        /* CMS with a token key (ca_sign_detached()): openssl checks the signature over the data. */
        {
                _cleanup_(OPENSSL_freep) uint8_t *sig = NULL;
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
                size_t sig_size;

                assert_int_equal(ca_keystore_load(t.store, "intermediate", &k), 0);
                assert_int_equal(
                        ca_sign_detached(k, ca_get_intermediate(t.ca), NULL, "payload", 7, &sig, &sig_size),
                        0);
                write_file(t.dir, "payload", "payload", 7);
                write_file(t.dir, "payload.p7s", sig, sig_size);
                assert_int_equal(
                        test_run("cd %s && openssl cms -verify -binary -inform DER -in payload.p7s -content "
                                 "payload -noverify -out /dev/null",
                                 t.dir),
                        0);
        }

        /* Reopened after free: the same CA is adopted, nothing created. */
        t.ca = ca_free(t.ca);
        t.store = ca_keystore_free(t.store);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, PIN, &t.store), 0);
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), 0);
        assert_int_equal(ca_cert_to_pem(ca_get_root(t.ca), &again_pem), 0);
        assert_string_equal(root_pem, again_pem);
        issue(&t, CA_PROFILE_TLS_CLIENT, "client", "/CN=client", NULL, NULL);
        assert_int_equal(test_run("cd %s && openssl verify -purpose sslclient -CAfile root.crt -untrusted int.crt "
                                  "client.crt",
                                  t.dir),
                         0);

        /* A different configuration on the same token: the key types do not match, refused. */
        t.ca = ca_free(t.ca);
        c.root.key_type = CA_KEY_ECDSA_P256;
        assert_int_equal(ca_init(t.ca_dir, t.store, &c, &t.ca), -EEXIST);
        t.store = ca_keystore_free(t.store);

        /* The keys as generated: sensitive, not extractable, CKA_ID = the id. */
        assert_key_attributes("root");
        assert_key_attributes("intermediate");

        free(t.ca_dir);
        test_rmdtemp(t.dir);
}

/* The openssl CLI with the pkcs11 engine signs with the token's key; the public key our store reports
 * verifies it. */
static void test_openssl_engine(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL;
        FILE *f;

        if (test_run("test -e \"$(openssl version -e | sed -n 's/^ENGINESDIR: \"\\(.*\\)\"/\\1/p')/pkcs11.so\"") !=
            0)
                fail_msg("the openssl pkcs11 engine is not installed (package libengine-pkcs11-openssl)");
        assert_non_null(dir);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, PIN, &s), 0);
        assert_int_equal(ca_keystore_generate(s, "engine-peer", CA_KEY_ECDSA_P256, &key), 0);
        assert_non_null(path = path_join2(dir, "/pub.pem"));
        assert_non_null(f = fopen(path, "we"));
        assert_int_equal(PEM_write_PUBKEY(f, key), 1);
        fclose(f);

        assert_int_equal(
                test_run("cd %s && echo 'signed on the token' >data && PKCS11_MODULE_PATH=%s openssl dgst -sha256 "
                         "-engine pkcs11 -keyform engine -sign "
                         "'pkcs11:token=%s;object=engine-peer;type=private;pin-value=%s' -out sig data && "
                         "openssl dgst -sha256 -verify pub.pem -signature sig data",
                         dir, MODULE, TOKEN, PIN),
                0);
        /* And a self-signed certificate made by openssl with the key: its public key is the store's. */
        assert_int_equal(
                test_run("cd %s && PKCS11_MODULE_PATH=%s openssl req -new -x509 -subj /CN=peer -days 1 "
                         "-engine pkcs11 -keyform engine -key "
                         "'pkcs11:token=%s;object=engine-peer;type=private;pin-value=%s' -out peer.crt && "
                         "openssl x509 -in peer.crt -noout -pubkey | cmp - pub.pem",
                         dir, MODULE, TOKEN, PIN),
                0);
        test_rmdtemp(TAKE_PTR(dir));
}

/* Objects we did not make: another label is ignored; our label with another CKA_ID is not used and
 * not replaced. */
static void test_foreign_objects(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        _cleanup_free_ char *dir = test_mkdtemp();

        assert_non_null(dir);
        assert_int_equal(
                test_run("cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                         "-out k.pem 2>/dev/null && openssl pkcs8 -topk8 -nocrypt -in k.pem -out k8.pem && "
                         "softhsm2-util --import k8.pem --token other --label someone-else --id 0102 "
                         "--pin %s >/dev/null && "
                         "softhsm2-util --import k8.pem --token other --label squatter --id 0304 "
                         "--pin %s >/dev/null",
                         dir, PIN, PIN),
                0);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "other", PIN, &s), 0);
        assert_int_equal(ca_keystore_exists(s, "someone-else"), 1);
        assert_int_equal(ca_keystore_load(s, "root", &k), -ENOENT);
        assert_int_equal(ca_keystore_load(s, "squatter", &k), -EBADMSG);
        assert_int_equal(ca_keystore_generate(s, "squatter", CA_KEY_ECDSA_P256, &k), -EEXIST);
        assert_int_equal(ca_keystore_generate(s, "fresh", CA_KEY_ECDSA_P256, &k), 0);
        assert_int_equal(ca_keystore_generate(s, "../x", CA_KEY_ECDSA_P256, &k), -EINVAL);
        /* Never removed: our label with another CKA_ID is someone else's. */
        assert_int_equal(ca_keystore_remove(s, "squatter"), -ENOENT);
        assert_int_equal(ca_keystore_remove(s, "someone-else"), -ENOENT);
        assert_int_equal(ca_keystore_exists(s, "squatter"), 1);
        assert_int_equal(ca_keystore_exists(s, "someone-else"), 1);
        test_rmdtemp(TAKE_PTR(dir));
}

/* A removed key pair is gone from the token (private and public objects), the id can be used again, and
 * other keys stay. */
static void test_remove(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *a = NULL, *b = NULL, *c = NULL, *pub = NULL;

        assert_int_equal(ca_keystore_pkcs11_new(MODULE, "other", PIN, &s), 0);
        assert_int_equal(ca_keystore_remove(s, "doomed"), -ENOENT);
        assert_int_equal(ca_keystore_remove(s, "../doomed"), -EINVAL);
        assert_int_equal(ca_keystore_generate(s, "doomed", CA_KEY_ECDSA_P256, &a), 0);
        assert_int_equal(ca_keystore_generate(s, "kept", CA_KEY_ECDSA_P256, &b), 0);
        EVP_PKEY_free(TAKE_PTR(a));

        assert_int_equal(ca_keystore_remove(s, "doomed"), 0);
        assert_int_equal(ca_keystore_exists(s, "doomed"), 0); /* neither the private nor the public object */
        assert_int_equal(ca_keystore_load(s, "doomed", &a), -ENOENT);
        assert_int_equal(ca_keystore_remove(s, "doomed"), -ENOENT);

        assert_int_equal(ca_keystore_load(s, "kept", &c), 0);
        assert_int_equal(EVP_PKEY_eq(b, c), 1);
        assert_non_null(pub = public_copy(c));
        assert_signs(c, pub);

        assert_int_equal(ca_keystore_generate(s, "doomed", CA_KEY_ECDSA_P384, &a), 0);
        assert_int_equal(ca_key_type_of(a), CA_KEY_ECDSA_P384);
}

/* No module given: p11-kit's proxy, which offers the modules p11-kit is configured with (softhsm2
 * installs its .module file). */
static void test_proxy_module(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        int r;

        r = ca_keystore_pkcs11_new(NULL, "other", PIN, &s);
        if (IN_SET(r, -ENOENT, -ENXIO))
                fail_msg("the p11-kit proxy is missing or does not reach softhsm2 (%d): packages p11-kit, "
                         "p11-kit-modules, softhsm2",
                         r);
        assert_int_equal(r, 0);
        assert_int_equal(ca_keystore_load(s, "ecdsa-p384", &k), 0);
        assert_int_equal(ca_key_type_of(k), CA_KEY_ECDSA_P384);
        assert_signs(k, k);
        /* Keys first: they hold references into the store's module. */
        k = (EVP_PKEY_free(k), NULL);
        s = ca_keystore_free(s);
        assert_int_equal(ca_keystore_pkcs11_new(NULL, "other", "wrong-pin", &s), -EACCES);
}

static void write_pin_file(const char *path, const void *data, size_t size, mode_t mode) {
        assert_int_equal(write_file_atomic(path, data, size, mode), 0);
}

/* A PIN from a file, as the daemon would read it, opens the store. */
static void test_pin_file(void **state) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL;
        char *pin = NULL, big[CA_PKCS11_PIN_MAX + 8];

        assert_non_null(dir);
        assert_non_null(path = path_join2(dir, "/pin"));
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -ENOENT);

        write_pin_file(path, PIN "\n", strlen(PIN) + 1, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), 0);
        assert_string_equal(pin, PIN);
        assert_int_equal(ca_keystore_pkcs11_new(MODULE, TOKEN, pin, &s), 0);
        pin = erase_and_free(pin);

        write_pin_file(path, PIN "\r\n", strlen(PIN) + 2, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), 0);
        assert_string_equal(pin, PIN);
        pin = erase_and_free(pin);
        write_pin_file(path, PIN, strlen(PIN), 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), 0);
        assert_string_equal(pin, PIN);
        pin = erase_and_free(pin);

        /* Open to others, empty, two lines, a NUL byte, too long: refused. */
        write_pin_file(path, PIN, strlen(PIN), 0640);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EPERM);
        write_pin_file(path, "", 0, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EINVAL);
        write_pin_file(path, "\n", 1, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EINVAL);
        write_pin_file(path, "1234\n5678\n", 10, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EINVAL);
        write_pin_file(path,
                       "1234\0"
                       "5678",
                       9, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EINVAL);
        memset(big, '7', sizeof(big));
        write_pin_file(path, big, CA_PKCS11_PIN_MAX + 1, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -EINVAL);
        write_pin_file(path, big, sizeof(big), 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), -E2BIG);
        write_pin_file(path, big, CA_PKCS11_PIN_MAX, 0600);
        assert_int_equal(ca_pkcs11_pin_read(path, &pin), 0);
        assert_int_equal(strlen(pin), CA_PKCS11_PIN_MAX);
        pin = erase_and_free(pin);
        assert_null(pin);

        test_rmdtemp(TAKE_PTR(dir));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_errors),     cmocka_unit_test(test_key_types),
                cmocka_unit_test(test_foreign_objects), cmocka_unit_test(test_ca_on_token),
                cmocka_unit_test(test_openssl_engine),  cmocka_unit_test(test_proxy_module),
                cmocka_unit_test(test_pin_file),        cmocka_unit_test(test_remove),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, setup_softhsm, teardown_softhsm);
}
