/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A test "TPM manufacturer": a root and an intermediate CA made with OpenSSL, issuing EK certificates
 * shaped like vendors' (no subject, critical TCG subjectAltName, EK EKU). Test code only: aborts on
 * OpenSSL failures. */

#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

typedef enum EkCertFlags {
        EK_CERT_UNKNOWN_CRITICAL = 1 << 0, /* plus a critical extension nobody knows */
        EK_CERT_SDA_CRITICAL = 1 << 1,     /* TCG subjectDirectoryAttributes, critical */
        EK_CERT_SAN_NON_TCG = 1 << 2,      /* the SAN directoryName carries a CN instead of TCG attributes */
} EkCertFlags;

typedef struct TestManufacturer {
        EVP_PKEY *root_key, *intermediate_key;
        X509 *root, *intermediate;
} TestManufacturer;

EVP_PKEY *test_make_ec_key(void);
void test_manufacturer_init(TestManufacturer *m, const char *name);
void test_manufacturer_done(TestManufacturer *m);

/* An EK certificate for key (public part used), issued by m's intermediate. */
X509 *test_make_ek_cert(const TestManufacturer *m, EVP_PKEY *key, EkCertFlags flags);

/* Writes cert as PEM (or DER when der) to dir/fn. */
void test_write_cert(const char *dir, const char *fn, X509 *cert, bool der);

/* The DER of cert, malloc()ed. */
unsigned char *test_cert_der(X509 *cert, size_t *ret_size);
