/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* systemd's naming rules as the generator applies them. The expected strings were checked against
 * systemd-escape 252 (and udev's by-label link names); test-generator.sh cross-checks more names with
 * systemd-escape at run time. */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "basic/string-util.h"
#include "generator/crypttab.h"
#include "generator/unit-name.h"

static void check_escape(const char *in, const char *expected) {
        _cleanup_free_ char *s = NULL;

        assert_int_equal(unit_name_escape(in, &s), 0);
        assert_string_equal(s, expected);
}

static void check_path_escape(const char *in, const char *expected) {
        _cleanup_free_ char *s = NULL;
        int r = unit_name_path_escape(in, &s);

        if (!expected) {
                assert_int_equal(r, -EINVAL);
                assert_null(s);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(s, expected);
}

static void test_unit_name_escape(void **state) {
        _cleanup_free_ char *s = NULL;

        check_escape("root", "root");
        check_escape("a b", "a\\x20b");
        check_escape("-x", "\\x2dx");
        check_escape("my-disk", "my\\x2ddisk");
        check_escape(".hidden", "\\x2ehidden");
        check_escape("a.b", "a.b");
        check_escape("é", "\\xc3\\xa9");
        check_escape("foo\\bar", "foo\\x5cbar");
        check_escape("a:b_c.d", "a:b_c.d");
        check_escape("a%b$c", "a\\x25b\\x24c");
        check_escape("a/b", "a-b");
        check_escape("\x01", "\\x01");
        assert_int_equal(unit_name_escape("", &s), -EINVAL);
        assert_int_equal(unit_name_escape(NULL, &s), -EINVAL);
        assert_null(s);
}

static void test_unit_name_path_escape(void **state) {
        check_path_escape("/", "-");
        check_path_escape("//", "-");
        check_path_escape("/dev/sda2", "dev-sda2");
        check_path_escape("/dev/disk/by-uuid/1234-ab//./x/", "dev-disk-by\\x2duuid-1234\\x2dab-x");
        check_path_escape("/srv/trusted data", "srv-trusted\\x20data");
        check_path_escape("/.snapshots", "\\x2esnapshots");
        check_path_escape("/dev/disk/by-label/\\x20a", "dev-disk-by\\x2dlabel-\\x5cx20a");
        check_path_escape("/a/../b", NULL);
        check_path_escape("/a/..", NULL);
        check_path_escape("relative", NULL);
        check_path_escape("", NULL);
        check_path_escape(NULL, NULL);
}

static void test_unit_name_from_path(void **state) {
        _cleanup_free_ char *s = NULL, *long_path = NULL;

        assert_int_equal(unit_name_from_path("/dev/sda2", ".device", &s), 0);
        assert_string_equal(s, "dev-sda2.device");
        s = mfree(s);

        /* 300 bytes of path: too long for a unit name. */
        long_path = malloc(302);
        assert_non_null(long_path);
        long_path[0] = '/';
        memset(long_path + 1, 'a', 300);
        long_path[301] = 0;
        assert_int_equal(unit_name_from_path(long_path, ".device", &s), -ENAMETOOLONG);
        assert_null(s);

        /* Exactly the limit: 255 = 248 + strlen(".device"). */
        long_path[249] = 0;
        assert_int_equal(unit_name_from_path(long_path, ".device", &s), 0);
        assert_int_equal(strlen(s), 255);
}

static void test_unit_name_build_instance(void **state) {
        _cleanup_free_ char *s = NULL, *n = NULL;

        assert_int_equal(unit_name_build_instance("trusted-platform-unlock", "my disk", ".service", &s), 0);
        assert_string_equal(s, "trusted-platform-unlock@my\\x20disk.service");

        /* 127 bytes that escape to 4 each: far above 255. */
        n = malloc(128);
        assert_non_null(n);
        memset(n, ' ', 127);
        n[127] = 0;
        s = mfree(s);
        assert_int_equal(unit_name_build_instance("trusted-platform-unlock", n, ".service", &s),
                         -ENAMETOOLONG);
        assert_null(s);
}

static void check_node(const char *spec, const char *expected) {
        _cleanup_free_ char *s = NULL;
        int r = device_node_from_spec(spec, &s);

        if (!expected) {
                assert_int_equal(r, -EINVAL);
                assert_null(s);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(s, expected);
}

static void test_device_node_from_spec(void **state) {
        check_node("/dev/sda2", "/dev/sda2");
        check_node("UUID=0a1b2c3d-0000-4000-8000-00000000abcd",
                   "/dev/disk/by-uuid/0a1b2c3d-0000-4000-8000-00000000abcd");
        check_node("PARTUUID=6f2e-01", "/dev/disk/by-partuuid/6f2e-01");
        check_node("LABEL=my data", "/dev/disk/by-label/my\\x20data");
        check_node("LABEL=\"quoted\"", "/dev/disk/by-label/quoted");
        check_node("PARTLABEL='a/b'", "/dev/disk/by-partlabel/a\\x2fb");
        check_node("LABEL=données", "/dev/disk/by-label/données");
        check_node("LABEL=back\\slash", "/dev/disk/by-label/back\\x5cslash");
        /* Invalid UTF-8 is escaped byte by byte: an overlong '/' and a lone continuation byte. */
        check_node("LABEL=\xc0\xaf", "/dev/disk/by-label/\\xc0\\xaf");
        check_node("LABEL=\x80", "/dev/disk/by-label/\\x80");
        check_node("LABEL=\xed\xa0\x80", "/dev/disk/by-label/\\xed\\xa0\\x80"); /* a surrogate */
        check_node("LABEL=\xef\xbf\xbe", "/dev/disk/by-label/\\xef\\xbf\\xbe"); /* U+FFFE */
        check_node("UUID=", NULL);
        check_node("UUID=\"\"", NULL);
        check_node("sda2", NULL);
        check_node("ID=foo", NULL);
        check_node("uuid=1234", NULL);
        check_node(NULL, NULL);
}

static void check_quote(const char *in, const char *expected) {
        _cleanup_free_ char *s = NULL;

        assert_int_equal(exec_argument_quote(in, &s), 0);
        assert_string_equal(s, expected);
}

static void test_exec_argument_quote(void **state) {
        _cleanup_free_ char *s = NULL;

        check_quote("root", "\"root\"");
        check_quote("", "\"\"");
        check_quote("a b", "\"a b\"");
        check_quote("it's", "\"it's\"");
        check_quote("say \"hi\"", "\"say \\\"hi\\\"\"");
        check_quote("a\\b", "\"a\\\\b\"");
        check_quote("100%", "\"100%%\"");
        check_quote("$HOME", "\"$$HOME\"");
        check_quote("tab\there", "\"tab\\x09here\"");
        check_quote("é", "\"é\"");

        assert_int_equal(specifier_escape("50%%x", &s), 0);
        assert_string_equal(s, "50%%%%x");
}

static void test_dm_name_is_valid(void **state) {
        char long_name[129];

        assert_true(dm_name_is_valid("root"));
        assert_true(dm_name_is_valid("my disk-é"));
        assert_false(dm_name_is_valid(""));
        assert_false(dm_name_is_valid(NULL));
        assert_false(dm_name_is_valid("."));
        assert_false(dm_name_is_valid(".."));
        assert_false(dm_name_is_valid("a/b"));
        assert_false(dm_name_is_valid("a\tb"));
        assert_false(dm_name_is_valid("a\x7f"));
        memset(long_name, 'x', 128);
        long_name[128] = 0;
        assert_false(dm_name_is_valid(long_name));
        long_name[127] = 0;
        assert_true(dm_name_is_valid(long_name));
}

static void check_line(const char *line, int expected, const char *name, const char *device,
                       const char *keyfile, const char *options) {
        CrypttabEntry e = {};
        int r = crypttab_parse_line(line, &e);

        assert_int_equal(r, expected);
        if (r <= 0) {
                assert_null(e.name);
                return;
        }
        assert_string_equal(e.name, name);
        assert_string_equal(e.device, device);
        assert_true(streq_ptr(e.keyfile, keyfile));
        assert_true(streq_ptr(e.options, options));
        crypttab_entry_done(&e);
        assert_null(e.name);
}

static void test_crypttab_parse_line(void **state) {
        _cleanup_free_ char *huge = NULL;
        CrypttabEntry e = {};

        check_line("", 0, NULL, NULL, NULL, NULL);
        check_line("   \t ", 0, NULL, NULL, NULL, NULL);
        check_line("# comment", 0, NULL, NULL, NULL, NULL);
        check_line("  # indented comment", 0, NULL, NULL, NULL, NULL);
        check_line("root /dev/sda2", 1, "root", "/dev/sda2", NULL, NULL);
        check_line("root\tUUID=1234\tnone\tluks,x-trusted-platform", 1, "root", "UUID=1234", "none",
                   "luks,x-trusted-platform");
        check_line("  data  /dev/sdb1  -  x-trusted-platform  ", 1, "data", "/dev/sdb1", "-",
                   "x-trusted-platform");
        check_line("\"my disk\" /dev/sdb1 none x-trusted-platform", 1, "my disk", "/dev/sdb1", "none",
                   "x-trusted-platform");
        check_line("my\\ disk 'LABEL=a b'", 1, "my disk", "LABEL=a b", NULL, NULL);
        check_line("a\"b c\"d /dev/x", 1, "ab cd", "/dev/x", NULL, NULL);

        check_line("onlyname", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("a b c d e", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("\"unterminated /dev/x", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("name /dev/x\\", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("name /dev/x none opt\r", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("na\x1bme /dev/x", -EBADMSG, NULL, NULL, NULL, NULL);
        check_line("name /dev/x\x7f", -EBADMSG, NULL, NULL, NULL, NULL);

        huge = malloc(CRYPTTAB_LINE_MAX + 2);
        assert_non_null(huge);
        memset(huge, 'a', CRYPTTAB_LINE_MAX + 1);
        huge[CRYPTTAB_LINE_MAX + 1] = 0;
        huge[3] = ' ';
        assert_int_equal(crypttab_parse_line(huge, &e), -E2BIG);
        assert_null(e.name);
}

static void test_crypttab_option_find(void **state) {
        _cleanup_free_ char *v = NULL;
        char *none = (char *) "untouched";

        assert_int_equal(crypttab_option_find(NULL, "x-trusted-platform", NULL), 0);
        assert_int_equal(crypttab_option_find("", "x-trusted-platform", NULL), 0);
        assert_int_equal(crypttab_option_find("luks,x-trusted-platform", "x-trusted-platform", NULL), 1);
        assert_int_equal(crypttab_option_find("x-trusted-platform-tcti=a", "x-trusted-platform", NULL), 0);
        assert_int_equal(crypttab_option_find("nofailx,xnofail", "nofail", NULL), 0);
        assert_int_equal(crypttab_option_find("tries=3,luks", "tries", &v), 1);
        assert_string_equal(v, "3");
        v = mfree(v);
        assert_int_equal(crypttab_option_find("tries=3,tries=5", "tries", &v), 1);
        assert_string_equal(v, "5");
        v = mfree(v);
        assert_int_equal(crypttab_option_find("tries=3,tries", "tries", &v), 1);
        assert_null(v);
        assert_int_equal(crypttab_option_find("tries=", "tries", &v), 1);
        assert_string_equal(v, "");
        assert_int_equal(crypttab_option_find("a,b", "tries", &none), 0);
        assert_string_equal(none, "untouched");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_name_escape),
                cmocka_unit_test(test_unit_name_path_escape),
                cmocka_unit_test(test_unit_name_from_path),
                cmocka_unit_test(test_unit_name_build_instance),
                cmocka_unit_test(test_device_node_from_spec),
                cmocka_unit_test(test_exec_argument_quote),
                cmocka_unit_test(test_dm_name_is_valid),
                cmocka_unit_test(test_crypttab_parse_line),
                cmocka_unit_test(test_crypttab_option_find),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
