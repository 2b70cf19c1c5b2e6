/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "shared/tss2-util.h"

static void test_tpm_codes(void **state) {
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_SUCCESS), 0);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_LOCKOUT), -ENOLCK);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_NV_SPACE), -ENOSPC);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_OBJECT_MEMORY), -ENOSPC);   /* 0x902 */
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_SESSION_MEMORY), -ENOSPC);  /* 0x903 */
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_RETRY), -EBUSY);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_FAILURE), -EIO);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_NV_UNINITIALIZED), -ENODATA);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_COMMAND_CODE), -EOPNOTSUPP);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_AUTH_MISSING), -EACCES);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_REFERENCE_H0), -ENOENT);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_REFERENCE_S6), -ENOENT);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_NV_DEFINED), -EEXIST);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_CANCELED), -ECANCELED);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_PCR_CHANGED), -EPERM);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_TOO_MANY_CONTEXTS), -ENOSPC);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_HIERARCHY | TPM2_RC_P | TPM2_RC_1), -EPERM);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_SCHEME | TPM2_RC_P | TPM2_RC_3), -EOPNOTSUPP);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_NONCE | TPM2_RC_P | TPM2_RC_1), -EINVAL);

        /* Format one codes with a parameter/handle/session number still map by their error. */
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_HANDLE | TPM2_RC_1), -ENOENT);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1), -EPERM);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1), -EACCES);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_2), -EACCES);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_INTEGRITY | TPM2_RC_P | TPM2_RC_1), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_2), -EINVAL);

        /* The same TPM codes relayed by a resource manager. */
        assert_int_equal(tss2_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_LOCKOUT), -ENOLCK);
        assert_int_equal(tss2_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_OBJECT_MEMORY), -ENOSPC);
        assert_int_equal(tss2_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_FAILURE), -EIO);

        /* A missing object must not look like a lost transport (-ENODEV/-ENXIO/-ECONNRESET/-EPIPE/
         * -ECONNREFUSED make the daemon reopen the TPM). */
        assert_int_not_equal(tss2_rc_to_errno(TPM2_RC_HANDLE | TPM2_RC_1), -ENXIO);
}

static void test_software_layers(void **state) {
        assert_int_equal(tss2_rc_to_errno(TSS2_TCTI_RC_IO_ERROR), -ENODEV);
        assert_int_equal(tss2_rc_to_errno(TSS2_TCTI_RC_NO_CONNECTION), -ENODEV);
        assert_int_equal(tss2_rc_to_errno(TSS2_TCTI_RC_BAD_VALUE), -EINVAL);
        assert_int_equal(tss2_rc_to_errno(TSS2_TCTI_RC_TRY_AGAIN), -EAGAIN);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_BAD_VALUE), -EINVAL);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_MALFORMED_RESPONSE), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_RSP_AUTH_FAILED), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_MEMORY), -ENOMEM);
        assert_int_equal(tss2_rc_to_errno(TSS2_SYS_RC_INSUFFICIENT_RESPONSE), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_MU_RC_INSUFFICIENT_BUFFER), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_NOT_IMPLEMENTED), -EOPNOTSUPP);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_GENERAL_FAILURE), -EIO);
        assert_int_equal(tss2_rc_to_errno(TSS2_SYS_RC_MALFORMED_RESPONSE), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_TCTI_RC_MALFORMED_RESPONSE), -EBADMSG);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_IO_ERROR), -EIO);
        assert_int_equal(tss2_rc_to_errno(TSS2_ESYS_RC_ABI_MISMATCH), -EOPNOTSUPP);
}

/* CVE-2023-22745: Tss2_RC_Decode() indexed its layer table out of bounds for layer 255. Decode every
 * layer byte with a few codes each (under ASan in the sanitizer build); every result is a negative
 * errno and a non-empty string. */
static void test_every_layer(void **state) {
        static const uint16_t codes[] = { 0x0001, 0x000a, 0x0101, 0x0921, 0x08e, 0x0fff, 0xffff };

        for (unsigned layer = 0; layer <= 255; layer++)
                for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                        TSS2_RC rc = (TSS2_RC) layer << TSS2_RC_LAYER_SHIFT | codes[i];
                        const char *s = tss2_rc_to_string(rc);

                        assert_non_null(s);
                        assert_true(strlen(s) > 0);
                        assert_true(tss2_rc_to_errno(rc) < 0);
                }

        /* And a spread of codes over every layer: always a negative errno in range. */
        for (uint32_t layer = 0; layer <= 255; layer++)
                for (uint32_t code = 0; code < 0x1000; code += 0x81) {
                        int r = tss2_rc_to_errno(layer << TSS2_RC_LAYER_SHIFT | code | 1);
                        assert_true(r < 0 && r > -4096);
                }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tpm_codes),
                cmocka_unit_test(test_software_layers),
                cmocka_unit_test(test_every_layer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
