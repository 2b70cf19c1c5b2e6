/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/string-util.h"
#include "shared/config.h"
#include "../basic/tmpdir-util.h"

static char *dir;

static int setup(void **state) {
        dir = test_mkdtemp();
        if (!dir)
                return -1;
        return setenv("TRUSTED_PLATFORM_CONFIG_DIR", dir, 1);
}

static int teardown(void **state) {
        test_rmdtemp(TAKE_PTR(dir));
        return unsetenv("TRUSTED_PLATFORM_CONFIG_DIR");
}

static void put(const char *rel, const char *text) {
        _cleanup_free_ char *p = NULL;

        assert_non_null(strextend(&p, dir, "/", rel));
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
}

static void mkd(const char *rel) {
        _cleanup_free_ char *p = NULL;

        assert_non_null(strextend(&p, dir, "/", rel));
        assert_true(mkdir_p_secure(p, 0755) >= 0);
}

static void assert_string_key(Config *c, const char *group, const char *key, const char *expected) {
        _cleanup_free_ char *v = NULL;

        assert_true(config_get_string(c, group, key, NULL, &v) >= 0);
        if (!expected)
                assert_null(v);
        else {
                assert_non_null(v);
                assert_string_equal(v, expected);
        }
}

static void test_no_files(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dev = NULL;
        bool b = false;
        uint32_t u = 0;

        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_non_null(c);
        assert_int_equal(config_get_string(c, "TPM", "Device", "device:/dev/tpmrm0", &dev), 0);
        assert_string_equal(dev, "device:/dev/tpmrm0");
        assert_int_equal(config_get_bool(c, "Log", "Journal", true, &b), 0);
        assert_true(b);
        assert_int_equal(config_get_uint32(c, "TPM", "Retries", 3, &u), 0);
        assert_int_equal(u, 3);
}

static void test_main_file(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *v = NULL;
        uint64_t u64 = 0;
        uint32_t u32 = 0;
        bool b = false;

        put("trusted-platform.conf",
            "# comment\n"
            "[TPM]\n"
            "Device = swtpm:path=/run/swtpm.sock  \n"
            "Retries=7\n"
            "Big=18446744073709551615\n"
            "Enabled=yes\n"
            "Off=OFF\n"
            "Empty=\n"
            "[Log]\n"
            "Level=debug\n"
            "[FutureGroup]\n"
            "FutureKey=whatever\n");

        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_int_equal(config_get_string(c, "TPM", "Device", "x", &v), 1);
        assert_string_equal(v, "swtpm:path=/run/swtpm.sock");
        assert_string_key(c, "Log", "Level", "debug");
        assert_string_key(c, "FutureGroup", "FutureKey", "whatever");
        assert_int_equal(config_get_uint32(c, "TPM", "Retries", 3, &u32), 1);
        assert_int_equal(u32, 7);
        assert_int_equal(config_get_uint64(c, "TPM", "Big", 0, &u64), 1);
        assert_true(u64 == UINT64_MAX);
        assert_int_equal(config_get_uint32(c, "TPM", "Big", 0, &u32), -ERANGE);
        assert_int_equal(config_get_bool(c, "TPM", "Enabled", false, &b), 1);
        assert_true(b);
        assert_int_equal(config_get_bool(c, "TPM", "Off", true, &b), 1);
        assert_false(b);
        /* Empty value: back to the default. */
        assert_int_equal(config_get_uint32(c, "TPM", "Empty", 5, &u32), 0);
        assert_int_equal(u32, 5);
        /* Not a boolean / not a number: -EINVAL and the output untouched. */
        b = true;
        assert_int_equal(config_get_bool(c, "TPM", "Device", false, &b), -EINVAL);
        assert_true(b);
        assert_int_equal(config_get_uint32(c, "Log", "Level", 0, &u32), -EINVAL);
        assert_int_equal(u32, 5);
}

static void test_bool_values(void **state) {
        static const char *const yes[] = { "1", "yes", "YES", "true", "True", "on" };
        static const char *const no[] = { "0", "no", "false", "off", "NO" };
        static const char *const bad[] = { "2", "yess", "enable", "-1", "tru" };

        for (size_t i = 0; i < ELEMENTSOF(yes) + ELEMENTSOF(no) + ELEMENTSOF(bad); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *text = NULL;
                const char *v = i < ELEMENTSOF(yes) ? yes[i]
                              : i < ELEMENTSOF(yes) + ELEMENTSOF(no) ? no[i - ELEMENTSOF(yes)]
                                                                      : bad[i - ELEMENTSOF(yes) - ELEMENTSOF(no)];
                bool b = false;
                int r;

                assert_non_null(strextend(&text, "[Log]\nJournal=", v, "\n"));
                put("trusted-platform.conf", text);
                assert_int_equal(config_load("trusted-platform", &c), 0);
                r = config_get_bool(c, "Log", "Journal", false, &b);
                if (i < ELEMENTSOF(yes))
                        assert_true(r == 1 && b);
                else if (i < ELEMENTSOF(yes) + ELEMENTSOF(no))
                        assert_true(r == 1 && !b);
                else if (r != -EINVAL)
                        fail_msg("'%s' accepted as a boolean", v);
        }
}

static void test_dropins(void **state) {
        _cleanup_(config_freep) Config *c = NULL;

        put("trusted-platform.conf", "[TPM]\nDevice=main\n[Log]\nLevel=info\nTarget=console\n");
        mkd("trusted-platform.conf.d");
        /* Applied in lexical order: 20 overrides 10; the main file is below both. */
        put("trusted-platform.conf.d/20-second.conf", "[TPM]\nDevice=second\n");
        put("trusted-platform.conf.d/10-first.conf", "[TPM]\nDevice=first\n[Log]\nLevel=notice\n");
        /* Not *.conf, hidden: ignored. */
        put("trusted-platform.conf.d/30-ignored.conf.bak", "[TPM]\nDevice=bak\n");
        put("trusted-platform.conf.d/.40-hidden.conf", "[TPM]\nDevice=hidden\n");

        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_string_key(c, "TPM", "Device", "second");
        assert_string_key(c, "Log", "Level", "notice");
        assert_string_key(c, "Log", "Target", "console");
        /* Other stems are not read. */
        config_free(TAKE_PTR(c));
        assert_int_equal(config_load("verifier", &c), 0);
        assert_string_key(c, "TPM", "Device", NULL);
}

static void test_dropin_masked_by_dev_null(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *p = NULL;

        put("trusted-platform.conf", "[TPM]\nDevice=main\n");
        mkd("trusted-platform.conf.d");
        assert_non_null(strextend(&p, dir, "/trusted-platform.conf.d/50-x.conf"));
        assert_int_equal(symlink("/dev/null", p), 0);
        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_string_key(c, "TPM", "Device", "main");
}

static void test_malformed(void **state) {
        static const char *const bad[] = {
                "[TPM\nDevice=x\n",          /* missing bracket */
                "[]\n",                      /* empty group */
                "[TPM] trailing\n",          /* text after a group */
                "Device=x\n",                /* outside of a group */
                "[TPM]\nDevice\n",           /* no '=' */
                "[TPM]\n=value\n",           /* empty key */
                "[TPM]\nDevice=x\n\n  stray\n", /* indented line after a blank line */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Config *c = (Config *) 0x1;

                put("trusted-platform.conf", bad[i]);
                if (config_load("trusted-platform", &c) != -EBADMSG)
                        fail_msg("malformed file %zu accepted", i);
                assert_ptr_equal(c, (Config *) 0x1);
        }

        /* A malformed drop-in fails the whole load too: half a configuration is worse than none. */
        put("trusted-platform.conf", "[TPM]\nDevice=main\n");
        mkd("trusted-platform.conf.d");
        put("trusted-platform.conf.d/10-bad.conf", "[TPM\n");
        Config *c = NULL;
        assert_int_equal(config_load("trusted-platform", &c), -EBADMSG);
        assert_null(c);
}

static void test_nul_byte(void **state) {
        _cleanup_free_ char *p = NULL;
        Config *c = NULL;

        assert_non_null(strextend(&p, dir, "/trusted-platform.conf"));
        assert_int_equal(write_file_atomic(p, "[TPM]\nDevice=a\0b\n", 17, 0644), 0);
        assert_int_equal(config_load("trusted-platform", &c), -EBADMSG);
}

static void test_multiline_and_duplicates(void **state) {
        _cleanup_(config_freep) Config *c = NULL;

        put("trusted-platform.conf", "[TPM]\nDevice=one\n[Log]\nLevel=info\n[TPM]\nExtra=two\n");
        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_string_key(c, "TPM", "Device", "one");
        assert_string_key(c, "TPM", "Extra", "two");
        assert_string_key(c, "Log", "Level", "info");
}

static void test_bad_stem(void **state) {
        Config *c = NULL;

        assert_int_equal(config_load("../etc/passwd", &c), -EINVAL);
        assert_int_equal(config_load("", &c), -EINVAL);
        assert_null(c);
}

static void test_add_file_layers(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *missing = NULL;

        put("a.conf", "[TPM]\nDevice=a\n[Log]\nLevel=info\n");
        put("b.conf", "[TPM]\nDevice=b\n");
        assert_non_null(strextend(&a, dir, "/a.conf"));
        assert_non_null(strextend(&b, dir, "/b.conf"));
        assert_non_null(strextend(&missing, dir, "/missing.conf"));

        assert_int_equal(config_new(&c), 0);
        assert_int_equal(config_add_file(c, a), 1);
        assert_int_equal(config_add_file(c, b), 1);
        assert_int_equal(config_add_file(c, missing), 0);
        assert_string_key(c, "TPM", "Device", "b");
        assert_string_key(c, "Log", "Level", "info");
        assert_int_equal(config_add_file(c, dir), -EBADMSG);
}

/* vendor < run < etc for main files (key by key); drop-ins over all main files, by name across the
 * three directories, the same name in a higher directory masking a lower one. */
static void test_layering_vendor_run_etc(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *etc = NULL, *run = NULL, *vendor = NULL;

        mkd("etc/trusted-platform.conf.d");
        mkd("run/trusted-platform.conf.d");
        mkd("vendor/trusted-platform.conf.d");
        assert_non_null(strextend(&etc, dir, "/etc"));
        assert_non_null(strextend(&run, dir, "/run"));
        assert_non_null(strextend(&vendor, dir, "/vendor"));

        put("vendor/trusted-platform.conf", "[TPM]\nDevice=vendor\nA=vendor\nB=vendor\nC=vendor\n");
        put("run/trusted-platform.conf", "[TPM]\nB=run\nC=run\n");
        put("etc/trusted-platform.conf", "[TPM]\nC=etc\n");

        put("vendor/trusted-platform.conf.d/10-vendor.conf", "[Log]\nLevel=vendor-10\nTarget=vendor-10\n");
        put("etc/trusted-platform.conf.d/10-vendor.conf", "[Log]\nLevel=etc-10\n"); /* masks vendor's 10 */
        put("vendor/trusted-platform.conf.d/20-x.conf", "[Log]\nX=vendor-20\n");
        put("run/trusted-platform.conf.d/20-x.conf", "[Log]\nX=run-20\n");         /* masks vendor's 20 */
        put("vendor/trusted-platform.conf.d/30-late.conf", "[TPM]\nDevice=vendor-30\n");
        put("run/trusted-platform.conf.d/05-early.conf", "[TPM]\nDevice=run-05\nD=run-05\n");

        assert_int_equal(config_load_from_dirs("trusted-platform", (const char *const[]) { etc, run, vendor, NULL }, &c),
                         0);
        assert_string_key(c, "TPM", "A", "vendor");
        assert_string_key(c, "TPM", "B", "run");
        assert_string_key(c, "TPM", "C", "etc");
        /* A vendor drop-in still beats the admin's main file, and the later name wins among drop-ins. */
        assert_string_key(c, "TPM", "Device", "vendor-30");
        assert_string_key(c, "TPM", "D", "run-05");
        assert_string_key(c, "Log", "Level", "etc-10");
        /* The masked vendor file was not read at all, so its other keys are absent. */
        assert_string_key(c, "Log", "Target", NULL);
        assert_string_key(c, "Log", "X", "run-20");
}

/* $TRUSTED_PLATFORM_CONFIG_DIR replaces all three directories. */
static void test_override_env(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sub = NULL;

        put("trusted-platform.conf", "[TPM]\nDevice=from-override\n");
        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_string_key(c, "TPM", "Device", "from-override");
        config_free(TAKE_PTR(c));

        mkd("other");
        assert_non_null(strextend(&sub, dir, "/other"));
        assert_int_equal(setenv("TRUSTED_PLATFORM_CONFIG_DIR", sub, 1), 0);
        assert_int_equal(config_load("trusted-platform", &c), 0);
        assert_string_key(c, "TPM", "Device", NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_main_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bool_values, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dropins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dropin_masked_by_dev_null, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multiline_and_duplicates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_stem, setup, teardown),
                cmocka_unit_test_setup_teardown(test_add_file_layers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_layering_vendor_run_etc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_override_env, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
