/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "uefi-test-util.h"
static void test_nothing(void **state) {}
int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_nothing) };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
