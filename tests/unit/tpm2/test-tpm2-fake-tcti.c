/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM error paths a real TPM does not produce, through a fake TCTI: failure mode, truncated and lying
 * responses, PCR selections that were not asked for, short random answers. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <tss2/tss2_rc.h>

#include "basic/log.h"
#include "fake-tpm.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-util.h"

typedef struct Fixture {
        FakeTpm tpm;
        FakeTcti *tcti;
        Tpm2Context *c;
} Fixture;

static int setup(void **state) {
        Fixture *x = calloc(1, sizeof(Fixture));

        assert_non_null(x);
        x->tcti = fake_tcti_new(fake_tpm_handle, &x->tpm);
        assert_non_null(x->tcti);
        assert_int_equal(tpm2_context_new_from_tcti(fake_tcti_context(x->tcti), &x->c), 0);
        *state = x;
        return 0;
}

static int teardown(void **state) {
        Fixture *x = *state;

        tpm2_context_free(x->c);
        fake_tcti_free(x->tcti);
        free(x);
        return 0;
}

static bool is_clean_error(int r) {
        return r == -EBADMSG || r == -EIO;
}

static void test_failure_mode(void **state) {
        Fixture *x = *state;
        Tpm2Info *info = NULL;
        Tpm2PcrValue *v = NULL;
        uint8_t buf[16];
        size_t n = 0;

        x->tpm.fault = FAKE_TPM_FAILURE_MODE;

        assert_int_equal(tpm2_get_info(x->c, &info), -EIO);
        assert_null(info);

        memset(buf, 0x55, sizeof(buf));
        assert_int_equal(tpm2_get_random(x->c, buf, sizeof(buf)), -EIO);
        for (size_t i = 0; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0); /* nothing half-written is left for the caller */

        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0xFF, &v, &n), -EIO);
        assert_null(v);
        assert_true(x->tcti->n_commands >= 3);
}

static void test_truncated_response(void **state) {
        Fixture *x = *state;
        uint8_t buf[32];

        x->tpm.fault = FAKE_TPM_TRUNCATED;
        assert_true(is_clean_error(tpm2_get_random(x->c, buf, sizeof(buf))));
}

static void test_tpm2b_oversize(void **state) {
        Fixture *x = *state;
        uint8_t buf[32];

        x->tpm.fault = FAKE_TPM_TPM2B_OVERSIZE;
        assert_true(is_clean_error(tpm2_get_random(x->c, buf, sizeof(buf))));
}

static void respond_tiny(FakeTcti *t, uint32_t cc, const uint8_t *cmd, size_t size, void *u) {
        static const uint8_t tiny[] = { 0x80, 0x01, 0x00, 0x00 };
        fake_tcti_respond(t, tiny, sizeof(tiny));
}

static void test_header_only_and_garbage(void **state) {
        Fixture *x = *state;
        uint8_t buf[8];
        Tpm2Context *c = NULL;

        /* Four bytes: less than any response header. */
        x->tcti->handler = respond_tiny;
        assert_true(is_clean_error(tpm2_get_random(x->c, buf, sizeof(buf))));

        /* A fresh context on the same TCTI works again once the TPM is sane. */
        x->tcti->handler = fake_tpm_handle;
        assert_int_equal(tpm2_context_new_from_tcti(fake_tcti_context(x->tcti), &c), 0);
        assert_int_equal(tpm2_get_random(c, buf, sizeof(buf)), 0);
        tpm2_context_free(c);
}

static void test_random_chunks(void **state) {
        Fixture *x = *state;
        uint8_t buf[TPM2_RANDOM_MAX];

        /* 100 bytes from a TPM that gives 32 per call: 4 calls. */
        assert_int_equal(tpm2_get_random(x->c, buf, 100), 0);
        assert_int_equal(x->tpm.n_get_random, 4);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(buf[i], 0xA5);

        /* One byte per call: still terminates, with every byte filled. */
        x->tpm.fault = FAKE_TPM_RANDOM_SHORT;
        x->tpm.n_get_random = 0;
        memset(buf, 0, sizeof(buf));
        assert_int_equal(tpm2_get_random(x->c, buf, 100), 0);
        assert_int_equal(x->tpm.n_get_random, 100);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(buf[i], 0xA5);

        /* Nothing at all: an error after one call, not an endless loop. */
        x->tpm.fault = FAKE_TPM_RANDOM_EMPTY;
        x->tpm.n_get_random = 0;
        assert_int_equal(tpm2_get_random(x->c, buf, 100), -EBADMSG);
        assert_int_equal(x->tpm.n_get_random, 1);

        /* More than asked would overrun the caller's buffer. */
        x->tpm.fault = FAKE_TPM_RANDOM_LONG;
        assert_int_equal(tpm2_get_random(x->c, buf, 10), -EBADMSG);

        assert_int_equal(tpm2_get_random(x->c, buf, 0), -EINVAL);
        assert_int_equal(tpm2_get_random(x->c, buf, TPM2_RANDOM_MAX + 1), -EINVAL);
}

static void test_pcr_read_ok(void **state) {
        Fixture *x = *state;
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        uint8_t expected[32];
        size_t n = 0;

        /* 24 PCRs at 8 per call: three reads, sorted, with the right values. */
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0xFFFFFF, &v, &n), 0);
        assert_int_equal(n, 24);
        assert_int_equal(x->tpm.n_pcr_reads, 3);
        for (uint32_t i = 0; i < 24; i++) {
                assert_int_equal(v[i].index, i);
                assert_int_equal(v[i].bank, TPM2_ALG_SHA256);
                assert_int_equal(v[i].size, 32);
                fake_tpm_pcr_value(TPM2_ALG_SHA256, i, expected, 32);
                assert_memory_equal(v[i].digest, expected, 32);
        }
}

static void test_pcr_read_bank_checks(void **state) {
        Fixture *x = *state;
        Tpm2PcrValue *v = NULL;
        size_t n = 0;

        /* Allocated but with an empty selection, and not allocated at all: no PCR_Read is sent. */
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA384, 1, &v, &n), -EOPNOTSUPP);
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA512, 1, &v, &n), -EOPNOTSUPP);
        assert_int_equal(x->tpm.n_pcr_reads, 0);
        assert_int_equal(tpm2_pcr_read(x->c, 0x7777, 1, &v, &n), -EINVAL);
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0x1000000, &v, &n), -EINVAL);
        assert_null(v);
}

static void test_pcr_read_lying_selection(void **state) {
        static const FakeTpmFault faults[] = {
                FAKE_TPM_PCR_WRONG_BANK,  FAKE_TPM_PCR_EXTRA_PCR,    FAKE_TPM_PCR_EMPTY_SELECTION,
                FAKE_TPM_PCR_TWO_BANKS,   FAKE_TPM_PCR_DIGEST_COUNT, FAKE_TPM_PCR_DIGEST_SIZE,
        };
        Fixture *x = *state;

        for (size_t i = 0; i < ELEMENTSOF(faults); i++) {
                Tpm2PcrValue *v = NULL;
                size_t n = 0;

                x->tpm.fault = faults[i];
                /* PCRs 0, 2 and 7: gaps so that "a PCR not asked for" exists. */
                assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0x85, &v, &n), -EBADMSG);
                assert_null(v);
                assert_int_equal(n, 0);
        }
}

static void test_pcr_read_counter_moves(void **state) {
        Fixture *x = *state;
        Tpm2PcrValue *v = NULL;
        size_t n = 0;

        /* PCRs change between the chunks of every attempt: give up after a bounded number of tries. */
        x->tpm.fault = FAKE_TPM_PCR_COUNTER_MOVES;
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0xFFFFFF, &v, &n), -EAGAIN);
        assert_true(x->tpm.n_pcr_reads <= 8 * 3);

        /* One chunk needs no consistency across calls. */
        assert_int_equal(tpm2_pcr_read(x->c, TPM2_ALG_SHA256, 0xFF, &v, &n), 0);
        assert_int_equal(n, 8);
        free(v);
}

static void test_info_ok(void **state) {
        Fixture *x = *state;
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;

        assert_int_equal(tpm2_get_info(x->c, &info), 0);
        assert_string_equal(info->manufacturer, "ABC");
        assert_string_equal(info->vendor_string, "FAKE TPM");
        assert_string_equal(info->firmware_version, "1.2.3.4");
        assert_int_equal(info->spec_revision, 164);
        assert_int_equal(info->spec_year, 2021);
        assert_int_equal(info->spec_day_of_year, 75);
        assert_int_equal(info->pcr_count, 24);
        assert_true(info->in_lockout);
        assert_int_equal(info->lockout_counter, 3);
        assert_int_equal(info->max_auth_fail, 32);
        assert_int_equal(info->lockout_interval, 600);
        assert_int_equal(info->lockout_recovery, 86400);

        assert_string_equal(info->algorithms[0], "rsa");
        assert_string_equal(info->algorithms[4], "ecc");
        assert_string_equal(info->algorithms[5], "cfb");
        assert_string_equal(info->algorithms[6], "0x7777");
        assert_null(info->algorithms[7]);

        /* sha384 is allocated with no PCRs: not an active bank. */
        assert_string_equal(info->pcr_banks[0], "sha1");
        assert_string_equal(info->pcr_banks[1], "sha256");
        assert_null(info->pcr_banks[2]);
}

static void test_info_one_by_one(void **state) {
        Fixture *x = *state;
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;

        x->tpm.fault = FAKE_TPM_CAP_ONE_BY_ONE;
        assert_int_equal(tpm2_get_info(x->c, &info), 0);
        assert_string_equal(info->manufacturer, "ABC");
        assert_int_equal(info->lockout_recovery, 86400);
}

static void test_info_lying_capability(void **state) {
        static const FakeTpmFault faults[] = {
                FAKE_TPM_CAP_WRONG_TYPE, FAKE_TPM_CAP_NOT_ASCENDING, FAKE_TPM_CAP_MORE_FOREVER,
                FAKE_TPM_TRUNCATED,
        };
        Fixture *x = *state;

        for (size_t i = 0; i < ELEMENTSOF(faults); i++) {
                Tpm2Info *info = NULL;

                x->tpm.fault = faults[i];
                x->tcti->n_commands = 0;
                assert_int_equal(tpm2_get_info(x->c, &info), -EBADMSG);
                assert_null(info);
                assert_true(x->tcti->n_commands <= 64);
        }
}

static void test_hash_alg_strings(void **state) {
        static const char *const names[] = { "sha1", "sha256", "sha384", "sha512", "sm3_256" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                int alg = tpm2_hash_alg_from_string(names[i]);
                assert_true(alg > 0);
                assert_string_equal(tpm2_hash_alg_to_string((uint16_t) alg), names[i]);
        }
        assert_int_equal(tpm2_hash_alg_from_string("SHA256"), -EINVAL);
        assert_int_equal(tpm2_hash_alg_from_string("md5"), -EINVAL);
        assert_int_equal(tpm2_hash_alg_from_string(""), -EINVAL);
        assert_int_equal(tpm2_hash_alg_from_string(NULL), -EINVAL);
        assert_null(tpm2_hash_alg_to_string(TPM2_ALG_RSA));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_failure_mode, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated_response, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tpm2b_oversize, setup, teardown),
                cmocka_unit_test_setup_teardown(test_header_only_and_garbage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_random_chunks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pcr_read_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pcr_read_bank_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pcr_read_lying_selection, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pcr_read_counter_moves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_info_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_info_one_by_one, setup, teardown),
                cmocka_unit_test_setup_teardown(test_info_lying_capability, setup, teardown),
                cmocka_unit_test(test_hash_alg_strings),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
