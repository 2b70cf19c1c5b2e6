/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek-cert-maker.h"

#define CHECK(x)                                                                       \
        do {                                                                           \
                if (!(x)) {                                                            \
                        fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #x); \
                        abort();                                                       \
                }                                                                      \
        } while (0)

EVP_PKEY *test_make_ec_key(void) {
        EVP_PKEY *k = EVP_EC_gen("prime256v1");
        CHECK(k);
        return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        CHECK(ext);
        CHECK(X509_add_ext(cert, ext, -1) == 1);
        X509_EXTENSION_free(ext);
}

static void add_raw_ext(X509 *cert, const char *oid, bool critical, const unsigned char *der, size_t n) {
        ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext;

        CHECK(obj && os);
        CHECK(ASN1_OCTET_STRING_set(os, der, (int) n) == 1);
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
        CHECK(ext);
        CHECK(X509_add_ext(cert, ext, -1) == 1);
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
}

static X509 *new_cert(EVP_PKEY *key, long serial) {
        X509 *cert = X509_new();

        CHECK(cert);
        CHECK(X509_set_version(cert, 2) == 1);
        CHECK(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) == 1);
        CHECK(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
        CHECK(X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365 * 10));
        CHECK(X509_set_pubkey(cert, key) == 1);
        return cert;
}

static X509_NAME *cn_name(const char *cn) {
        X509_NAME *n = X509_NAME_new();

        CHECK(n);
        CHECK(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *) "Test TPM Maker", -1,
                                         -1, 0) == 1);
        CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) == 1);
        return n;
}

void test_manufacturer_init(TestManufacturer *m, const char *name) {
        char cn[256];
        X509_NAME *n;

        m->root_key = test_make_ec_key();
        m->intermediate_key = test_make_ec_key();

        snprintf(cn, sizeof(cn), "%s Root CA", name);
        m->root = new_cert(m->root_key, 1);
        n = cn_name(cn);
        CHECK(X509_set_subject_name(m->root, n) == 1);
        CHECK(X509_set_issuer_name(m->root, n) == 1);
        X509_NAME_free(n);
        add_ext(m->root, NULL, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(m->root, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(m->root, NULL, NID_subject_key_identifier, "hash");
        CHECK(X509_sign(m->root, m->root_key, EVP_sha256()) > 0);

        snprintf(cn, sizeof(cn), "%s EK Intermediate CA", name);
        m->intermediate = new_cert(m->intermediate_key, 2);
        n = cn_name(cn);
        CHECK(X509_set_subject_name(m->intermediate, n) == 1);
        X509_NAME_free(n);
        CHECK(X509_set_issuer_name(m->intermediate, X509_get_subject_name(m->root)) == 1);
        add_ext(m->intermediate, m->root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        add_ext(m->intermediate, m->root, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(m->intermediate, m->root, NID_subject_key_identifier, "hash");
        add_ext(m->intermediate, m->root, NID_authority_key_identifier, "keyid:always");
        CHECK(X509_sign(m->intermediate, m->root_key, EVP_sha256()) > 0);
}

void test_manufacturer_done(TestManufacturer *m) {
        X509_free(m->root);
        X509_free(m->intermediate);
        EVP_PKEY_free(m->root_key);
        EVP_PKEY_free(m->intermediate_key);
        *m = (TestManufacturer){};
}

static void add_tcg_san(X509 *cert, bool non_tcg) {
        GENERAL_NAMES *names = GENERAL_NAMES_new();
        GENERAL_NAME *g = GENERAL_NAME_new();
        X509_NAME *dn = X509_NAME_new();
        static const struct {
                const char *oid, *value;
        } attrs[] = {
                { "2.23.133.2.1", "id:54455354" }, /* tcg-at-tpmManufacturer "TEST" */
                { "2.23.133.2.2", "swtpm" },       /* tcg-at-tpmModel */
                { "2.23.133.2.3", "id:00010002" }, /* tcg-at-tpmVersion */
        };

        CHECK(names && g && dn);
        if (non_tcg)
                CHECK(X509_NAME_add_entry_by_txt(dn, "CN", MBSTRING_UTF8, (const unsigned char *) "not tcg",
                                                 -1, -1, 0) == 1);
        else
                for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
                        ASN1_OBJECT *o = OBJ_txt2obj(attrs[i].oid, 1);
                        CHECK(o);
                        /* Each attribute its own RDN (set), as vendors do. */
                        CHECK(X509_NAME_add_entry_by_OBJ(dn, o, MBSTRING_UTF8,
                                                         (const unsigned char *) attrs[i].value, -1, -1,
                                                         0) == 1);
                        ASN1_OBJECT_free(o);
                }

        GENERAL_NAME_set0_value(g, GEN_DIRNAME, dn);
        CHECK(sk_GENERAL_NAME_push(names, g) > 0);
        CHECK(X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 1, X509V3_ADD_DEFAULT) == 1);
        GENERAL_NAMES_free(names);
}

X509 *test_make_ek_cert(const TestManufacturer *m, EVP_PKEY *key, EkCertFlags flags) {
        /* SEQUENCE { Attribute { tcg-at-tpmSpecification, SET { SEQUENCE { "2.0", 0, 138 } } } } */
        static const unsigned char sda[] = {
                0x30, 0x19, 0x30, 0x17, 0x06, 0x05, 0x67, 0x81, 0x05, 0x02, 0x10, 0x31, 0x0e, 0x30,
                0x0c, 0x0c, 0x03, '2',  '.',  '0',  0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0x8a,
        };
        static const unsigned char null_der[] = { 0x05, 0x00 };
        static long serial = 1000;
        X509 *cert = new_cert(key, serial++);

        /* Empty subject, as the TCG EK profile has it: the identity is in the critical SAN. */
        CHECK(X509_set_issuer_name(cert, X509_get_subject_name(m->intermediate)) == 1);
        add_ext(cert, m->intermediate, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, m->intermediate, NID_key_usage, "critical,keyEncipherment");
        add_ext(cert, m->intermediate, NID_authority_key_identifier, "keyid:always");
        add_ext(cert, m->intermediate, NID_ext_key_usage, "2.23.133.8.1");
        add_tcg_san(cert, flags & EK_CERT_SAN_NON_TCG);
        add_raw_ext(cert, "2.5.29.9", flags & EK_CERT_SDA_CRITICAL, sda, sizeof(sda));
        if (flags & EK_CERT_UNKNOWN_CRITICAL)
                add_raw_ext(cert, "1.3.6.1.4.1.55555.1", true, null_der, sizeof(null_der));
        CHECK(X509_sign(cert, m->intermediate_key, EVP_sha256()) > 0);
        return cert;
}

void test_write_cert(const char *dir, const char *fn, X509 *cert, bool der) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, fn);
        f = fopen(path, "we");
        CHECK(f);
        if (der)
                CHECK(i2d_X509_fp(f, cert) == 1);
        else
                CHECK(PEM_write_X509(f, cert) == 1);
        CHECK(fclose(f) == 0);
}

unsigned char *test_cert_der(X509 *cert, size_t *ret_size) {
        unsigned char *der = NULL;
        int n = i2d_X509(cert, &der);
        unsigned char *copy;

        CHECK(n > 0);
        copy = malloc((size_t) n);
        CHECK(copy);
        memcpy(copy, der, (size_t) n);
        OPENSSL_free(der);
        *ret_size = (size_t) n;
        return copy;
}
