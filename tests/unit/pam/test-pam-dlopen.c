/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pam_trusted_platform.so as libpam loads it: dlopen() with RTLD_NOW resolves every symbol, the
 * account hook is there, and nothing else of ours is reachable. The module path is argv[1]. */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>

static const char *module_path;

static void test_dlopen_resolves(void **state) {
        void *h = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);

        if (!h)
                fail_msg("dlopen: %s", dlerror());
        assert_non_null(dlsym(h, "pam_sm_acct_mgmt"));
        assert_int_equal(dlclose(h), 0);
}

static void test_only_account_hook(void **state) {
        const char *hidden[] = { "pam_sm_authenticate",
                                 "pam_sm_setcred",
                                 "pam_sm_open_session",
                                 "pam_sm_close_session",
                                 "pam_sm_chauthtok",
                                 "pam_trust_account",
                                 "pam_trust_options_parse",
                                 "pam_trust_query",
                                 "strv_extend",
                                 "safe_atou64" };
        void *h = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);

        assert_non_null(h);
        for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
                if (dlsym(h, hidden[i]))
                        fail_msg("'%s' is visible in the module", hidden[i]);
        assert_int_equal(dlclose(h), 0);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dlopen_resolves),
                cmocka_unit_test(test_only_account_hook),
        };

        if (argc < 2) {
                fprintf(stderr, "usage: test-pam-dlopen MODULE\n");
                return 2;
        }
        module_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
