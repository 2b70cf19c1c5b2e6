/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* luks_measure_data() and luks_measure_volume() (the PCR 15 measurement of an opened volume) against
 * swtpm (tp-run --swtpm): the event data against a vector computed with Python's hmac module, every
 * allocated bank extended with its hash of that data, and bad arguments refused before the TPM is
 * touched. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "basic/hexdecoct.h"
#include "luks/luks-measure.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-util.h"
#include "../tpm2/tpm2-test-util.h"

#define UUID "0a1b2c3d-0000-4000-8000-00000000abcd"
/* hmac.new(bytes(range(64)), b"trusted-platform:luks2:" + UUID, "sha256").hexdigest() */
#define VECTOR "d9885903164391c0aefafe527bfbe7019de30a8d2029f4ab308e6324e856ac03"

static uint8_t key[64];

static void test_data_vector(void **state) {
        uint8_t data[LUKS_MEASURE_DATA_SIZE];
        _cleanup_free_ char *hex = NULL;

        assert_int_equal(luks_measure_data(UUID, key, sizeof(key), data), 0);
        assert_int_equal(hexmem(data, sizeof(data), &hex), 0);
        assert_string_equal(hex, VECTOR);
}

static void test_data_depends_on_key_and_uuid(void **state) {
        uint8_t a[LUKS_MEASURE_DATA_SIZE], b[LUKS_MEASURE_DATA_SIZE], other[64];

        memcpy(other, key, sizeof(other));
        other[63] ^= 1;
        assert_int_equal(luks_measure_data(UUID, key, sizeof(key), a), 0);
        assert_int_equal(luks_measure_data(UUID, other, sizeof(other), b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        assert_int_equal(luks_measure_data("0a1b2c3d-0000-4000-8000-00000000abce", key, sizeof(key), b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
}

static void test_data_bad_arguments(void **state) {
        uint8_t data[LUKS_MEASURE_DATA_SIZE], big[LUKS_MEASURE_VOLUME_KEY_MAX + 1] = {};
        char long_uuid[LUKS_MEASURE_UUID_MAX + 2];

        memset(long_uuid, 'a', sizeof(long_uuid) - 1);
        long_uuid[sizeof(long_uuid) - 1] = 0;

        assert_int_equal(luks_measure_data(NULL, key, sizeof(key), data), -EINVAL);
        assert_int_equal(luks_measure_data("", key, sizeof(key), data), -EINVAL);
        assert_int_equal(luks_measure_data("a b", key, sizeof(key), data), -EINVAL);
        assert_int_equal(luks_measure_data("a\nb", key, sizeof(key), data), -EINVAL);
        assert_int_equal(luks_measure_data(long_uuid, key, sizeof(key), data), -EINVAL);
        assert_int_equal(luks_measure_data(UUID, NULL, 32, data), -EINVAL);
        assert_int_equal(luks_measure_data(UUID, key, 0, data), -EINVAL);
        assert_int_equal(luks_measure_data(UUID, big, sizeof(big), data), -EINVAL);
        assert_int_equal(luks_measure_data(UUID, big, sizeof(big) - 1, data), 0);
}

static void test_volume_extends_every_bank(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        TPML_PCR_SELECTION alloc;
        uint8_t data[LUKS_MEASURE_DATA_SIZE];
        int n_banks = 0;

        assert_int_equal(luks_measure_data(UUID, key, sizeof(key), data), 0);
        assert_int_equal(tpm2_get_pcr_allocation(c, &alloc), 0);
        for (uint32_t i = 0; i < alloc.count; i++)
                if (alloc.pcrSelections[i].sizeofSelect > 1 && (alloc.pcrSelections[i].pcrSelect[1] & 0x80))
                        n_banks++;
        assert_true(n_banks >= 1);

        assert_int_equal(luks_measure_volume(c, 24, UUID, key, sizeof(key)), -EINVAL);
        assert_int_equal(luks_measure_volume(c, LUKS_MEASURE_PCR, "bad uuid", key, sizeof(key)), -EINVAL);
        assert_int_equal(luks_measure_volume(c, LUKS_MEASURE_PCR, UUID, key, sizeof(key)), n_banks);

        for (uint32_t i = 0; i < alloc.count; i++) {
                uint16_t bank = alloc.pcrSelections[i].hash;
                const EVP_MD *md = tpm2_hash_alg_to_md(bank);
                size_t size = tpm2_hash_alg_digest_size(bank);
                uint8_t expected[EVP_MAX_MD_SIZE * 2] = {}, event[EVP_MAX_MD_SIZE];
                _cleanup_free_ Tpm2PcrValue *v = NULL;
                size_t n = 0;

                if (!(alloc.pcrSelections[i].sizeofSelect > 1 && (alloc.pcrSelections[i].pcrSelect[1] & 0x80)))
                        continue;
                assert_non_null(md);
                /* PCR 15 was 0 (fresh swtpm): new = H(0...0 || H(data)). */
                assert_int_equal(EVP_Digest(data, sizeof(data), event, NULL, md, NULL), 1);
                memcpy(expected + size, event, size);
                assert_int_equal(EVP_Digest(expected, 2 * size, expected, NULL, md, NULL), 1);
                assert_int_equal(tpm2_pcr_read(c, bank, UINT32_C(1) << LUKS_MEASURE_PCR, &v, &n), 0);
                assert_int_equal(n, 1);
                assert_int_equal(v[0].size, size);
                assert_memory_equal(v[0].digest, expected, size);
        }
        assert_no_leaks(c);
}

static void test_extend_banks_bad_arguments(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        uint16_t banks[TPM2_NUM_PCR_BANKS + 1] = { TPM2_ALG_SHA256, TPM2_ALG_SHA256 };

        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, banks, 0, "x", 1), -EINVAL);
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, NULL, 1, "x", 1), -EINVAL);
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 24, banks, 1, "x", 1), -EINVAL);
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, banks, 2, "x", 1), -EINVAL); /* twice */
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, banks, TPM2_NUM_PCR_BANKS + 1, "x", 1), -EINVAL);
        banks[1] = 0x7777; /* no such hash */
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, banks, 2, "x", 1), -EINVAL);
        assert_int_equal(tpm2_pcr_extend_data_banks(c, 16, banks, 1, "x", 1), 0);
        assert_no_leaks(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_data_vector),
                cmocka_unit_test(test_data_depends_on_key_and_uuid),
                cmocka_unit_test(test_data_bad_arguments),
                cmocka_unit_test(test_volume_extends_every_bank),
                cmocka_unit_test(test_extend_banks_bad_arguments),
        };

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
