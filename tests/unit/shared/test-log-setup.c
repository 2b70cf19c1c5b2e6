/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/log-setup.h"
#include "../basic/tmpdir-util.h"

static char *dir;

static int setup(void **state) {
        dir = test_mkdtemp();
        log_set_max_level(LOG_INFO);
        log_set_target(LOG_TARGET_AUTO);
        unsetenv("TRUSTED_PLATFORM_LOG_LEVEL");
        unsetenv("TRUSTED_PLATFORM_LOG_TARGET");
        return dir ? 0 : -1;
}

static int teardown(void **state) {
        test_rmdtemp(TAKE_PTR(dir));
        return 0;
}

static Config *load(const char *text) {
        _cleanup_free_ char *p = NULL;
        Config *c = NULL;

        assert_non_null(strextend(&p, dir, "/trusted-platform.conf"));
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
        assert_int_equal(config_load_from_dirs("trusted-platform", (const char *const[]) { dir, NULL }, &c), 0);
        return c;
}

static void test_from_config(void **state) {
        _cleanup_(config_freep) Config *c = load("[Log]\nLevel=debug\nTarget=console\n");

        assert_int_equal(log_setup_from_config(c), 0);
        assert_int_equal(log_get_max_level(), LOG_DEBUG);
        assert_int_equal(log_get_target(), LOG_TARGET_CONSOLE);
}

static void test_env_wins(void **state) {
        _cleanup_(config_freep) Config *c = load("[Log]\nLevel=debug\nTarget=console\n");

        assert_int_equal(setenv("TRUSTED_PLATFORM_LOG_LEVEL", "warning", 1), 0);
        assert_int_equal(log_setup_from_config(c), 0);
        assert_int_equal(log_get_max_level(), LOG_WARNING);
        assert_int_equal(log_get_target(), LOG_TARGET_CONSOLE);
}

static void test_bad_values(void **state) {
        _cleanup_(config_freep) Config *c = load("[Log]\nLevel=loud\nTarget=journal\n");

        /* The bad level is reported, the good target still applied. */
        assert_int_equal(log_setup_from_config(c), -EINVAL);
        assert_int_equal(log_get_max_level(), LOG_INFO);
        assert_int_equal(log_get_target(), LOG_TARGET_JOURNAL);
}

static void test_no_config(void **state) {
        assert_int_equal(log_setup_from_config(NULL), 0);
        assert_int_equal(log_get_max_level(), LOG_INFO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_from_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_env_wins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_config, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
