/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tpm2-tools credential file parser (what ActivateCredential takes from any caller) against malformed
 * input: every truncation, wrong magic and version, trailing bytes, empty and oversized structures. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpm2/tpm2-credential-file.h"

/* A well-formed file: an ID object of 50 bytes and a seed of 256 (the sizes of an RSA 2048 EK's). */
static void make_file(uint8_t **ret, size_t *ret_size) {
        TPM2B_ENCRYPTED_SECRET seed = { .size = 256 };
        TPM2B_ID_OBJECT blob = { .size = 50 };
        void *file;

        for (size_t i = 0; i < blob.size; i++)
                blob.credential[i] = i + 1;
        for (size_t i = 0; i < seed.size; i++)
                seed.secret[i] = 255 - i;
        assert_int_equal(tpm2_credential_file_format(&blob, &seed, &file, ret_size), 0);
        *ret = file;
}

static void test_round_trip_and_layout(void **state) {
        TPM2B_ENCRYPTED_SECRET seed;
        TPM2B_ID_OBJECT blob;
        uint8_t *file;
        size_t size;

        make_file(&file, &size);
        assert_int_equal(size, 8 + 2 + 50 + 2 + 256);
        /* Big-endian magic and version, then the TPM2B sizes, as tpm2_makecredential -o writes them. */
        assert_memory_equal(file, "\xba\xdc\xc0\xde\x00\x00\x00\x01\x00\x32", 10);
        assert_memory_equal(file + 60, "\x01\x00", 2);

        assert_int_equal(tpm2_credential_file_parse(file, size, &blob, &seed), 0);
        assert_int_equal(blob.size, 50);
        assert_int_equal(seed.size, 256);
        assert_int_equal(blob.credential[0], 1);
        assert_int_equal(blob.credential[49], 50);
        assert_int_equal(seed.secret[0], 255);
        free(file);
}

static void test_every_truncation_is_refused(void **state) {
        TPM2B_ID_OBJECT blob = { .size = 7 };
        uint8_t *file;
        size_t size;

        make_file(&file, &size);
        for (size_t n = 0; n < size; n++) {
                blob.size = 7;
                assert_int_equal(tpm2_credential_file_parse(file, n, &blob, NULL), -EBADMSG);
                assert_int_equal(blob.size, 7); /* untouched on failure */
        }
        free(file);
}

static void test_trailing_bytes_are_refused(void **state) {
        uint8_t *file;
        size_t size;

        make_file(&file, &size);
        file = realloc(file, size + 1);
        assert_non_null(file);
        file[size] = 0;
        assert_int_equal(tpm2_credential_file_parse(file, size + 1, NULL, NULL), -EBADMSG);
        free(file);
}

static void test_magic_and_version(void **state) {
        uint8_t *file;
        size_t size;

        make_file(&file, &size);
        file[0] = 0xde; /* 0xDEDCC0DE */
        assert_int_equal(tpm2_credential_file_parse(file, size, NULL, NULL), -EBADMSG);
        file[0] = 0xba;
        file[7] = 2;
        assert_int_equal(tpm2_credential_file_parse(file, size, NULL, NULL), -EPROTONOSUPPORT);
        file[7] = 0;
        assert_int_equal(tpm2_credential_file_parse(file, size, NULL, NULL), -EPROTONOSUPPORT);
        file[7] = 1;
        file[4] = 1; /* version 0x01000001 */
        assert_int_equal(tpm2_credential_file_parse(file, size, NULL, NULL), -EPROTONOSUPPORT);
        file[4] = 0;
        assert_int_equal(tpm2_credential_file_parse(file, size, NULL, NULL), 0);
        free(file);
}

/* Sizes beyond what the TPM2B can hold are refused even when the data is there. */
static void test_oversized_and_empty_structures(void **state) {
        const size_t blob_max = sizeof(((TPM2B_ID_OBJECT *) NULL)->credential),
                     seed_max = sizeof(((TPM2B_ENCRYPTED_SECRET *) NULL)->secret);
        uint8_t buf[8 + 2 + sizeof(TPM2B_ID_OBJECT) + 2 + sizeof(TPM2B_ENCRYPTED_SECRET) + 16] = {
                0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1,
        };
        size_t n;

        /* Blob one byte too large, followed by a valid seed of 1 byte. */
        n = blob_max + 1;
        buf[8] = n >> 8;
        buf[9] = n & 0xff;
        buf[10 + n] = 0;
        buf[11 + n] = 1;
        assert_int_equal(tpm2_credential_file_parse(buf, 10 + n + 3, NULL, NULL), -EBADMSG);

        /* The largest blob is fine; then the seed one byte too large. */
        n = blob_max;
        buf[8] = n >> 8;
        buf[9] = n & 0xff;
        buf[10 + n] = 0;
        buf[11 + n] = 1;
        assert_int_equal(tpm2_credential_file_parse(buf, 10 + n + 3, NULL, NULL), 0);
        buf[10 + n] = (seed_max + 1) >> 8;
        buf[11 + n] = (seed_max + 1) & 0xff;
        assert_true(10 + n + 2 + seed_max + 1 <= sizeof(buf));
        assert_int_equal(tpm2_credential_file_parse(buf, 10 + n + 2 + seed_max + 1, NULL, NULL), -EBADMSG);

        /* Empty blob, then empty seed. */
        memcpy(buf + 8, "\x00\x00\x00\x01\x41", 5);
        assert_int_equal(tpm2_credential_file_parse(buf, 13, NULL, NULL), -EBADMSG);
        memcpy(buf + 8, "\x00\x01\x41\x00\x00", 5);
        assert_int_equal(tpm2_credential_file_parse(buf, 13, NULL, NULL), -EBADMSG);
        memcpy(buf + 8, "\x00\x01\x41\x00\x01\x42", 6);
        assert_int_equal(tpm2_credential_file_parse(buf, 14, NULL, NULL), 0);
}

static void test_format_refuses_bad_sizes(void **state) {
        TPM2B_ENCRYPTED_SECRET seed = { .size = 1 };
        TPM2B_ID_OBJECT blob = { .size = 0 };
        void *file = NULL;
        size_t size = 0;

        assert_int_equal(tpm2_credential_file_format(&blob, &seed, &file, &size), -EINVAL);
        blob.size = sizeof(blob.credential) + 1;
        assert_int_equal(tpm2_credential_file_format(&blob, &seed, &file, &size), -EINVAL);
        blob.size = 1;
        seed.size = 0;
        assert_int_equal(tpm2_credential_file_format(&blob, &seed, &file, &size), -EINVAL);
        assert_null(file);
        assert_int_equal(size, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_and_layout),
                cmocka_unit_test(test_every_truncation_is_refused),
                cmocka_unit_test(test_trailing_bytes_are_refused),
                cmocka_unit_test(test_magic_and_version),
                cmocka_unit_test(test_oversized_and_empty_structures),
                cmocka_unit_test(test_format_refuses_bad_sizes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
