/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Unit tests of tpctl's parsing, error mapping and output rendering. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"

static uint32_t pcr_mask(const char *s, int *ret_r) {
        uint32_t mask = 0;

        *ret_r = tpctl_parse_pcr_spec(s, &mask);
        return mask;
}

static void test_pcr_spec_good(void **state) {
        int r;

        assert_int_equal(pcr_mask("0", &r), 1U << 0);
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("0,7", &r), (1U << 0) | (1U << 7));
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("0-7", &r), 0xffU);
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("23", &r), 1U << 23);
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("0-23", &r), 0xffffffU);
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("4-4,2,9-10", &r), (1U << 4) | (1U << 2) | (1U << 9) | (1U << 10));
        assert_int_equal(r, 0);
        assert_int_equal(pcr_mask("007", &r), 1U << 7);
        assert_int_equal(r, 0);
}

static void test_pcr_spec_accumulates(void **state) {
        uint32_t mask = 0;

        /* "tpctl tpm pcrs 0 7" selects both; a bad argument leaves the earlier selection alone. */
        assert_int_equal(tpctl_parse_pcr_spec("0", &mask), 0);
        assert_int_equal(tpctl_parse_pcr_spec("7", &mask), 0);
        assert_int_equal(mask, (1U << 0) | (1U << 7));
        assert_int_equal(tpctl_parse_pcr_spec("1,99", &mask), -ERANGE);
        assert_int_equal(mask, (1U << 0) | (1U << 7));
}

static void test_pcr_spec_bad(void **state) {
        static const struct {
                const char *s;
                int r;
        } cases[] = {
                { "24", -ERANGE },
                { "0-24", -ERANGE },
                { "4294967295", -ERANGE },
                { "99999999999999999999", -ERANGE },
                { "-1", -EINVAL },
                { "7-3", -EINVAL },
                { "a", -EINVAL },
                { "", -EINVAL },
                { "1,,2", -EINVAL },
                { ",1", -EINVAL },
                { "1,", -EINVAL },
                { "1-", -EINVAL },
                { "-", -EINVAL },
                { "1-2-3", -EINVAL },
                { " 1", -EINVAL },
                { "+1", -EINVAL },
                { "0x1", -EINVAL },
                { "99999999999999999999x", -EINVAL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t mask = 0x5a;
                int r = tpctl_parse_pcr_spec(cases[i].s, &mask);

                if (r != cases[i].r)
                        fail_msg("\"%s\": got %d, expected %d", cases[i].s, r, cases[i].r);
                assert_int_equal(mask, 0x5a); /* untouched on failure */
        }
}

static void test_random_size(void **state) {
        uint32_t n = 0;

        assert_int_equal(tpctl_parse_random_size("1", &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(tpctl_parse_random_size("4096", &n), 0);
        assert_int_equal(n, 4096);
        assert_int_equal(tpctl_parse_random_size("32", &n), 0);
        assert_int_equal(n, 32);

        n = 77;
        assert_int_equal(tpctl_parse_random_size("0", &n), -ERANGE);
        assert_int_equal(tpctl_parse_random_size("4097", &n), -ERANGE);
        assert_int_equal(tpctl_parse_random_size("4294967296", &n), -ERANGE);
        assert_int_equal(tpctl_parse_random_size("-1", &n), -EINVAL);
        assert_int_equal(tpctl_parse_random_size("", &n), -EINVAL);
        assert_int_equal(tpctl_parse_random_size("16k", &n), -EINVAL);
        assert_int_equal(tpctl_parse_random_size("1e3", &n), -EINVAL);
        assert_int_equal(n, 77);
}

static void test_parse_handle(void **state) {
        static const char *const bad[] = { "",     "0x", "0X",   "x1", "0x1g", "0x 1",     " 0x1", "0x1 ",
                                           "-0x1", "+1", "0x-1", "1a", "0b1",  "0x01a5\n", "0o17" };
        uint32_t h = 0;

        assert_int_equal(tpctl_parse_handle("0x01a50000", &h), 0);
        assert_int_equal(h, 0x01A50000);
        assert_int_equal(tpctl_parse_handle("0X01A500FF", &h), 0);
        assert_int_equal(h, 0x01A500FF);
        assert_int_equal(tpctl_parse_handle("0x0", &h), 0);
        assert_int_equal(h, 0);
        assert_int_equal(tpctl_parse_handle("0xffffffff", &h), 0);
        assert_int_equal(h, UINT32_MAX);
        /* Leading zeros do not count towards the 32 bits. */
        assert_int_equal(tpctl_parse_handle("0x00000000001a50001", &h), 0);
        assert_int_equal(h, 0x01A50001);
        /* Decimal, as "busctl" prints handles. */
        assert_int_equal(tpctl_parse_handle("27590656", &h), 0);
        assert_int_equal(h, 0x01A50000);
        assert_int_equal(tpctl_parse_handle("0", &h), 0);
        assert_int_equal(h, 0);

        h = 77;
        assert_int_equal(tpctl_parse_handle("0x100000000", &h), -ERANGE);
        assert_int_equal(tpctl_parse_handle("4294967296", &h), -ERANGE);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(tpctl_parse_handle(bad[i], &h), -EINVAL);
        assert_int_equal(h, 77);
}

static int exit_status_for(const char *name, int r) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int status;

        if (name)
                assert_true(sd_bus_error_set(&e, name, "message") < 0);
        status = tpctl_exit_status_from_bus_error(&e, r);
        sd_bus_error_free(&e);
        return status;
}

static void test_exit_status_mapping(void **state) {
        assert_int_equal(exit_status_for(SD_BUS_ERROR_ACCESS_DENIED, -EACCES), TPCTL_EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_for(SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, -EACCES),
                         TPCTL_EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_for(SD_BUS_ERROR_SERVICE_UNKNOWN, -EHOSTUNREACH), TPCTL_EXIT_NOT_RUNNING);
        assert_int_equal(exit_status_for(SD_BUS_ERROR_NAME_HAS_NO_OWNER, -ENXIO), TPCTL_EXIT_NOT_RUNNING);
        assert_int_equal(exit_status_for(SD_BUS_ERROR_INVALID_ARGS, -EINVAL), TPCTL_EXIT_USAGE);
        assert_int_equal(exit_status_for("org.trustedplatform.TrustedPlatform1.Error.NoTPM", -EIO),
                         TPCTL_EXIT_FAILURE);
        assert_int_equal(exit_status_for("org.trustedplatform.TrustedPlatform1.Error.TPMLockout", -EIO),
                         TPCTL_EXIT_FAILURE);
        assert_int_equal(exit_status_for(SD_BUS_ERROR_UNKNOWN_METHOD, -EBADR), TPCTL_EXIT_FAILURE);
        /* Without an error name: failures to connect. */
        assert_int_equal(exit_status_for(NULL, -ENOENT), TPCTL_EXIT_NOT_RUNNING);
        assert_int_equal(exit_status_for(NULL, -ECONNREFUSED), TPCTL_EXIT_NOT_RUNNING);
        assert_int_equal(exit_status_for(NULL, -EACCES), TPCTL_EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_for(NULL, -ETIMEDOUT), TPCTL_EXIT_FAILURE);
}

static void test_json_mode(void **state) {
        assert_int_equal(json_mode_from_string("pretty"), JSON_MODE_PRETTY);
        assert_int_equal(json_mode_from_string("short"), JSON_MODE_SHORT);
        assert_int_equal(json_mode_from_string("off"), JSON_MODE_OFF);
        assert_int_equal(json_mode_from_string("bogus"), _JSON_MODE_INVALID);
        assert_int_equal(json_mode_from_string(""), _JSON_MODE_INVALID);
        assert_string_equal(json_mode_to_string(JSON_MODE_SHORT), "short");
}

/* A GetInfo()-like reply, built and sealed on a bus that is never connected anywhere. */
static sd_bus_message *info_message(sd_bus **ret_bus) {
        static const uint8_t digest[] = { 0x00, 0xab, 0xff, 0x10 };
        sd_bus_message *m = NULL;
        sd_bus *bus = NULL;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_true(sd_bus_start(bus) >= 0);
        close(fds[1]);

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.example", "/", "org.example", "X"), 0);
        assert_true(sd_bus_message_append(m, "a{sv}", 8,
                                          "Manufacturer", "s", "IBM",
                                          "SpecRevision", "u", 164,
                                          "InLockout", "b", false,
                                          "Algorithms", "as", 2, "rsa", "sha256",
                                          "LockoutRecovery", "u", 1000,
                                          "Huge", "t", UINT64_MAX,
                                          "Nested", "v", "(sx)", "x", INT64_C(-5),
                                          "UnknownDigest", "v", "v", "u", 1) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', digest, sizeof(digest)) >= 0);
        assert_int_equal(sd_bus_message_seal(m, 1, 0), 0);
        assert_true(sd_bus_message_rewind(m, true) >= 0);

        *ret_bus = bus;
        return m;
}

static void test_json_from_dict(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL, *d = NULL;
        _cleanup_free_ char *s = NULL;
        sd_bus *bus;
        sd_bus_message *m = info_message(&bus);

        assert_int_equal(bus_message_read_dict_json(m, &j), 0);
        s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(s);
        /* D-Bus key names, values of the natural JSON type, order kept, nested variants unwrapped, a
         * uint64 beyond the JSON integer range kept exact as a string. */
        assert_string_equal(s, "{\"Manufacturer\":\"IBM\",\"SpecRevision\":164,\"InLockout\":false,"
                               "\"Algorithms\":[\"rsa\",\"sha256\"],\"LockoutRecovery\":1000,"
                               "\"Huge\":\"18446744073709551615\",\"Nested\":[\"x\",-5],\"UnknownDigest\":1}");

        /* The next value is not a dictionary: rejected, not misread. */
        assert_int_equal(bus_message_read_dict_json(m, &d), -EBADMSG);
        /* Byte arrays become lowercase hex. */
        assert_int_equal(bus_message_read_json(m, &d), 0);
        assert_string_equal(json_string_value(d), "00abff10");
        json_decref(TAKE_PTR(d));
        assert_int_equal(bus_message_read_json(m, &d), -ENXIO);

        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
}

static void test_json_print(void **state) {
        _cleanup_(json_decrefp) json_t *j = json_pack("{s:s,s:b}", "Random", "00ff", "B", 1);
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        assert_int_equal(json_print(f, j, JSON_MODE_SHORT), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, "{\"Random\":\"00ff\",\"B\":true}\n");
        free(buf);

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        assert_int_equal(json_print(f, j, JSON_MODE_PRETTY), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, "{\n  \"Random\": \"00ff\",\n  \"B\": true\n}\n");
        free(buf);
}

static int format_upper(const json_t *v, char **ret) {
        if (json_is_false(v))
                return -ENODATA;
        *ret = strdup("SPECIAL");
        return *ret ? 0 : -ENOMEM;
}

static void test_kv_table(void **state) {
        static const FieldFormat fields[] = {
                { "SpecRevision", "Spec revision", NULL },
                { "Manufacturer", "Manufacturer", NULL },
                { "Missing", "Not there", NULL },
                { "InLockout", "Hidden", format_upper },
                { "LockoutRecovery", "Recovery", format_upper },
        };
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *out = NULL;
        sd_bus *bus;
        sd_bus_message *m = info_message(&bus);

        assert_int_equal(bus_message_read_dict_json(m, &j), 0);
        assert_int_equal(kv_table_new(j, fields, sizeof(fields) / sizeof(fields[0]), &t), 0);
        assert_int_equal(scols_print_table_to_string(t, &out), 0);
        /* Known fields in the given order with their labels, absent ones and -ENODATA rows left out,
         * then the keys this tpctl does not know under their D-Bus names: none is lost. */
        assert_string_equal(out, "Spec revision: 164\n"
                                 " Manufacturer: IBM\n"
                                 "     Recovery: SPECIAL\n"
                                 "   Algorithms: rsa, sha256\n"
                                 "         Huge: 18446744073709551615\n"
                                 "       Nested: x, -5\n"
                                 "UnknownDigest: 1");

        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
}

static void test_pcr_table(void **state) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL, *t2 = NULL;
        _cleanup_(json_decrefp) json_t *pcrs = json_pack("[{s:i,s:s,s:s},{s:i,s:s,s:s}]",
                                                          "Index", 0, "Bank", "sha256", "Digest", "00ff",
                                                          "Index", 17, "Bank", "sha256", "Digest", "abcd");
        _cleanup_free_ char *out = NULL, *out2 = NULL;

        assert_int_equal(pcr_table_new(pcrs, true, &t), 0);
        assert_int_equal(scols_print_table_to_string(t, &out), 0);
        assert_string_equal(out, "INDEX BANK   DIGEST\n"
                                 "    0 sha256 00ff\n"
                                 "   17 sha256 abcd");

        assert_int_equal(pcr_table_new(pcrs, false, &t2), 0);
        assert_int_equal(scols_print_table_to_string(t2, &out2), 0);
        /* Without headings libsmartcols keeps the columns as wide as with them. */
        assert_string_equal(out2, "    0 sha256 00ff\n   17 sha256 abcd");
}

static void test_format_helpers(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        _cleanup_(json_decrefp) json_t *empty = json_array();

        assert_int_equal(format_seconds(0, &a), 0);
        assert_string_equal(a, "0s");
        assert_int_equal(format_seconds(1000, &b), 0);
        assert_string_equal(b, "16min 40s");
        assert_int_equal(format_seconds(90061, &c), 0);
        assert_string_equal(c, "1d 1h 1min 1s");
        assert_int_equal(format_timestamp_usec(0, &d), 0);
        assert_string_equal(d, "never");
        assert_int_equal(json_format_cell(empty, &e), 0);
        assert_string_equal(e, "none");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pcr_spec_good), cmocka_unit_test(test_pcr_spec_accumulates),
                cmocka_unit_test(test_pcr_spec_bad),  cmocka_unit_test(test_random_size),
                cmocka_unit_test(test_parse_handle),  cmocka_unit_test(test_exit_status_mapping),
                cmocka_unit_test(test_json_mode),     cmocka_unit_test(test_json_from_dict),
                cmocka_unit_test(test_json_print),    cmocka_unit_test(test_kv_table),
                cmocka_unit_test(test_pcr_table),     cmocka_unit_test(test_format_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
