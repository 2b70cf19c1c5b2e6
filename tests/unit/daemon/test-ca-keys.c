/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key store choices of the daemon's CA (ca-keys.c): the KeyStore= names, which key types each store
 * holds, and which TCTIs the tpm2 provider can share with the daemon (resource managers only). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "ca/ca-keystore.h"
#include "daemon/ca-keys.h"

static void test_store_names(void **state) {
        assert_int_equal(ca_key_store_kind_from_string("tpm"), CA_KEY_STORE_TPM);
        assert_int_equal(ca_key_store_kind_from_string("file"), CA_KEY_STORE_FILE);
        for (CaKeyStoreKind k = 0; k < _CA_KEY_STORE_KIND_MAX; k++)
                assert_int_equal(ca_key_store_kind_from_string(ca_key_store_kind_to_string(k)), k);
        assert_int_equal(ca_key_store_kind_from_string("TPM"), -EINVAL);
        assert_int_equal(ca_key_store_kind_from_string(""), -EINVAL);
        assert_int_equal(ca_key_store_kind_from_string("pkcs11 "), -EINVAL);
        assert_int_equal(ca_key_store_kind_from_string(NULL), -EINVAL);
        assert_null(ca_key_store_kind_to_string(_CA_KEY_STORE_KIND_MAX));
        assert_null(ca_key_store_kind_to_string(-1));
}

static void test_store_key_types(void **state) {
        for (CaKeyType t = 0; t < _CA_KEY_TYPE_MAX; t++)
                assert_true(ca_key_store_supports(CA_KEY_STORE_FILE, t));
        assert_true(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_ECDSA_P256));
        assert_true(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_ECDSA_P384));
        assert_true(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_RSA_2048));
        assert_true(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_RSA_3072));
        assert_false(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_RSA_4096));
        assert_false(ca_key_store_supports(CA_KEY_STORE_TPM, CA_KEY_ED25519));
        assert_false(ca_key_store_supports(CA_KEY_STORE_FILE, -1));
        assert_false(ca_key_store_supports(CA_KEY_STORE_FILE, _CA_KEY_TYPE_MAX));
        assert_false(ca_key_store_supports(_CA_KEY_STORE_KIND_MAX, CA_KEY_ECDSA_P256));
}

static void test_tcti_shared(void **state) {
        static const char *const shared[] = {
                "tabrmd",
                "tabrmd:",
                "tabrmd:bus_type=session",
                "tabrmd:bus_name=com.example.Tabrmd,bus_type=system",
                "device:/dev/tpmrm0",
                "device:/dev/tpmrm12",
        };
        static const char *const single[] = {
                "",
                "swtpm:path=/run/swtpm.sock",
                "swtpm",
                "mssim:host=localhost,port=2321",
                "device:/dev/tpm0",
                "device",
                "device:",
                "device:/dev/tpmrm",
                "device:/dev/tpmrm0x",
                "device:/dev/tpmrm0/../tpm0",
                "tabrmdx",
                "libtss2-tcti-tabrmd.so",
                "cmd:swtpm",
                "pcap:device:/dev/tpmrm0",
        };

        for (size_t i = 0; i < ELEMENTSOF(shared); i++) {
                _cleanup_free_ char *s = NULL;

                assert_int_equal(ca_tcti_shared(shared[i], &s), 0);
                assert_string_equal(s, shared[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(single); i++) {
                char *s = NULL;

                assert_int_equal(ca_tcti_shared(single[i], &s), -EOPNOTSUPP);
                assert_null(s);
        }
        assert_int_equal(ca_tcti_shared(NULL, &(char *){ NULL }), -EOPNOTSUPP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_store_names),
                cmocka_unit_test(test_store_key_types),
                cmocka_unit_test(test_tcti_shared),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
