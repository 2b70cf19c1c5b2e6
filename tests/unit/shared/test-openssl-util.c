/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "shared/openssl-util.h"

static void test_decode_failure_is_einval(void **state) {
        _cleanup_(BIO_free_allp) BIO *b = NULL;
        _cleanup_(X509_freep) X509 *x = NULL;
        static const char garbage[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";

        b = BIO_new_mem_buf(garbage, (int) strlen(garbage));
        assert_non_null(b);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        assert_null(x);
        assert_int_not_equal(ERR_peek_error(), 0);
        assert_int_equal(openssl_errno(), -EINVAL);
        /* The queue is drained. */
        assert_int_equal(ERR_peek_error(), 0);
}

static void test_empty_queue_is_eio(void **state) {
        ERR_clear_error();
        assert_int_equal(openssl_errno(), -EIO);
}

static void test_malloc_failure_is_enomem(void **state) {
        ERR_raise(ERR_LIB_EVP, ERR_R_MALLOC_FAILURE);
        assert_int_equal(openssl_errno(), -ENOMEM);
}

static void test_other_failure_is_eio(void **state) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;

        /* Signing without a key fails inside EVP, not in a decoder. */
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_non_null(ctx);
        assert_true(EVP_PKEY_sign_init(ctx) <= 0);
        assert_int_equal(openssl_errno(), -EIO);
}

static void test_cleanup_types(void **state) {
        _cleanup_(BN_freep) BIGNUM *bn = BN_new();
        _cleanup_(BN_clear_freep) BIGNUM *secret = BN_new();
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        _cleanup_(X509_freep) X509 *x = NULL; /* NULL is fine */

        assert_null(x);

        assert_non_null(bn);
        assert_non_null(secret);
        assert_non_null(md);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_failure_is_einval),
                cmocka_unit_test(test_empty_queue_is_eio),
                cmocka_unit_test(test_malloc_failure_is_enomem),
                cmocka_unit_test(test_other_failure_is_eio),
                cmocka_unit_test(test_cleanup_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
