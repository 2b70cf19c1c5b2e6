/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "shared/json-util.h"

static void test_parse_ok(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        const char *s = "{\"type\":\"trusted-platform-tpm2\",\"keyslots\":[\"1\"],\"version\":1}";

        assert_int_equal(json_parse_strict(s, strlen(s), &j), 0);
        assert_true(json_is_object(j));
        assert_string_equal(json_string_value(json_object_get(j, "type")), "trusted-platform-tpm2");
        assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
}

static void test_not_nul_terminated(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        const char buf[] = { '[', '1', ']', 'x' }; /* only the first three bytes are the input */

        assert_int_equal(json_parse_strict(buf, 3, &j), 0);
        assert_int_equal(json_array_size(j), 1);
}

static void test_rejects(void **state) {
        static const char *const bad[] = {
                "{\"a\":1,\"a\":2}",           /* duplicate key: json-c would keep the last */
                "{\"a\":{\"b\":1,\"b\":1}}",    /* duplicate key, nested */
                "{\"a\":1} trailing",          /* data after the value */
                "{\"a\":1}{}",                 /* two values */
                "{'a':1}",                     /* single quotes */
                "{\"a\":1,}",                  /* trailing comma */
                "\"just a string\"",           /* top level not object/array */
                "42",
                "{\"a\":\"x\\u0000y\"}",       /* NUL in a string */
                "",
                "{\"a\":NaN}",
                "[1] /* comment */",
        };
        json_t *j = (json_t *) 0x1;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (json_parse_strict(bad[i], strlen(bad[i]), &j) != -EBADMSG)
                        fail_msg("'%s' accepted", bad[i]);
        assert_ptr_equal(j, (json_t *) 0x1);

        /* An embedded NUL byte in the input itself. */
        assert_int_equal(json_parse_strict("[1]\0", 4, &j), -EBADMSG);
}

static void test_depth_limit(void **state) {
        _cleanup_free_ char *ok = NULL, *deep = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        size_t d = JSON_PARSE_DEPTH_MAX;

        ok = malloc(2 * d + 1);
        deep = malloc(2 * (d + 1) + 1);
        assert_non_null(ok);
        assert_non_null(deep);
        memset(ok, '[', d);
        memset(ok + d, ']', d);
        ok[2 * d] = 0;
        memset(deep, '[', d + 1);
        memset(deep + d + 1, ']', d + 1);
        deep[2 * (d + 1)] = 0;

        assert_int_equal(json_parse_strict(ok, strlen(ok), &j), 0);
        json_decref(TAKE_PTR(j));
        assert_int_equal(json_parse_strict(deep, strlen(deep), &j), -EBADMSG);
        assert_null(j);

        /* Brackets inside strings do not count. */
        const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}";
        assert_int_equal(json_parse_strict(s, strlen(s), &j), 0);
}

static void test_size_limit(void **state) {
        json_t *j = NULL;
        _cleanup_free_ char *big = malloc(JSON_PARSE_SIZE_MAX + 1);

        assert_non_null(big);
        memset(big, ' ', JSON_PARSE_SIZE_MAX + 1);
        big[0] = '[';
        big[JSON_PARSE_SIZE_MAX] = ']';
        assert_int_equal(json_parse_strict(big, JSON_PARSE_SIZE_MAX + 1, &j), -E2BIG);
        assert_null(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ok),
                cmocka_unit_test(test_not_nul_terminated),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_size_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
