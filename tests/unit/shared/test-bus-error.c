/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "shared/bus-error.h"

static void test_names(void **state) {
        static const struct {
                int e;
                const char *name;
        } table[] = {
                { ENODEV, BUS_ERROR_NO_TPM },
                { EIO, BUS_ERROR_TPM_FAILURE },
                { ENOLCK, BUS_ERROR_TPM_LOCKOUT },
                { ENOKEY, BUS_ERROR_NOT_PROVISIONED },
                { EKEYREJECTED, BUS_ERROR_SRK_MISMATCH },
                { EBUSY, BUS_ERROR_BUSY },
                { ENOSPC, BUS_ERROR_NO_SPACE },
        };

        assert_true(bus_error_register() >= 0);
        assert_true(bus_error_register() >= 0); /* idempotent */

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                assert_int_equal(bus_error_from_errno(&e, -table[i].e, "Failed on '%s'", "x"), -table[i].e);
                assert_string_equal(e.name, table[i].name);
                assert_string_equal(e.message, "Failed on 'x'");
                /* The other direction, as a client sees it. */
                assert_int_equal(sd_bus_error_get_errno(&e), table[i].e);
        }
        assert_true(strncmp(BUS_ERROR_NO_TPM, "org.trustedplatform.TrustedPlatform1.Error.", 43) == 0);
}

static void test_fallback(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL, f = SD_BUS_ERROR_NULL;

        assert_int_equal(bus_error_from_errno(&e, -EINVAL, "Bad PCR %u", 24U), -EINVAL);
        assert_string_equal(e.name, SD_BUS_ERROR_INVALID_ARGS);
        assert_string_equal(e.message, "Bad PCR 24");

        /* Positive errno, no format: strerror() text. */
        assert_int_equal(bus_error_from_errno(&f, ENOSPC, NULL), -ENOSPC);
        assert_string_equal(f.name, BUS_ERROR_NO_SPACE);
        assert_string_equal(f.message, strerror(ENOSPC));

        assert_int_equal(bus_error_from_errno(NULL, -EBUSY, "x"), -EBUSY);
}

/* PolicyMismatch and BadPIN are set by name only: a plain EPERM/EACCES (a file the daemon cannot read,
 * say) must not tell the user their PIN was wrong. A client still maps the names back to the errno. */
static void test_explicit_names(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error a = SD_BUS_ERROR_NULL, b = SD_BUS_ERROR_NULL,
                                                  c = SD_BUS_ERROR_NULL, d = SD_BUS_ERROR_NULL;

        assert_true(bus_error_register() >= 0);

        assert_int_equal(bus_error_from_errno(&a, -EPERM, "nope"), -EPERM);
        assert_string_not_equal(a.name, BUS_ERROR_POLICY_MISMATCH);
        assert_int_equal(bus_error_from_errno(&b, -EACCES, "nope"), -EACCES);
        assert_string_not_equal(b.name, BUS_ERROR_BAD_PIN);

        sd_bus_error_set(&c, BUS_ERROR_POLICY_MISMATCH, "PCR 7 (sha256) differs");
        assert_int_equal(sd_bus_error_get_errno(&c), EPERM);
        sd_bus_error_set(&d, BUS_ERROR_BAD_PIN, "wrong PIN, 2 tries left");
        assert_int_equal(sd_bus_error_get_errno(&d), EACCES);
        assert_string_equal(BUS_ERROR_BAD_PIN, "org.trustedplatform.TrustedPlatform1.Error.BadPIN");
        assert_string_equal(BUS_ERROR_POLICY_MISMATCH,
                            "org.trustedplatform.TrustedPlatform1.Error.PolicyMismatch");
}

/* A cancelled job's error gives a client ECANCELED back (tpctl exits 130 on it after Ctrl-C); a plain
 * ECANCELED from a library is not reported as a cancellation the user asked for. */
static void test_cancelled(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error a = SD_BUS_ERROR_NULL, b = SD_BUS_ERROR_NULL;

        assert_true(bus_error_register() >= 0);
        sd_bus_error_set(&a, BUS_ERROR_CANCELLED, "Cancelled by the caller.");
        assert_int_equal(sd_bus_error_get_errno(&a), ECANCELED);
        assert_string_equal(BUS_ERROR_CANCELLED, "org.trustedplatform.TrustedPlatform1.Error.Cancelled");
        assert_int_equal(bus_error_from_errno(&b, -ECANCELED, NULL), -ECANCELED);
        assert_string_not_equal(b.name, BUS_ERROR_CANCELLED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cancelled),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_fallback),
                cmocka_unit_test(test_explicit_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
