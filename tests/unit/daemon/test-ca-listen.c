/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [CA] HTTPListen= parsing (ca_listen_parse()): IPv4 and bracketed IPv6 literals with a port 1..65535,
 * and a clean -EINVAL for everything else (names, missing or zero ports, unbracketed IPv6, junk). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/ca-service.h"

static void test_listen_valid(void **state) {
        static const struct {
                const char *in;
                const char *address;
                uint16_t port;
        } cases[] = {
                { "127.0.0.1:8080", "127.0.0.1", 8080 },
                { "0.0.0.0:80", "0.0.0.0", 80 },
                { "10.1.2.3:65535", "10.1.2.3", 65535 },
                { "[::1]:8080", "::1", 8080 },
                { "[::]:1", "::", 1 },
                { "[fe80::1:2]:443", "fe80::1:2", 443 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *address = NULL;
                uint16_t port = 0;

                assert_int_equal(ca_listen_parse(cases[i].in, &address, &port), 0);
                assert_string_equal(address, cases[i].address);
                assert_int_equal(port, cases[i].port);
        }
}

static void test_listen_invalid(void **state) {
        static const char *const cases[] = {
                "",
                ":",
                ":80",
                "127.0.0.1",
                "127.0.0.1:",
                "127.0.0.1:0",
                "127.0.0.1:65536",
                "127.0.0.1:-1",
                "127.0.0.1:+80",
                "127.0.0.1:80x",
                "127.0.0.1: 80",
                "300.0.0.1:80",
                "1.2.3:80",
                "localhost:80",
                "::1:80",
                "[::1:80",
                "::1]:80",
                "[]:80",
                "[127.0.0.1]:80",
                "[::1]",
                "[::1]:",
                " 127.0.0.1:80",
                "127.0.0.1:80 ",
                "http://127.0.0.1:80",
                "127.0.0.1:99999999999999999999",
                "[1111:2222:3333:4444:5555:6666:7777:8888:9999]:80",
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *address = NULL;
                uint16_t port = 0;

                assert_int_equal(ca_listen_parse(cases[i], &address, &port), -EINVAL);
                assert_null(address);
                assert_int_equal(port, 0);
        }

        /* Oversized input is refused before any parsing. */
        {
                char big[256];
                char *address = NULL;
                uint16_t port = 0;

                memset(big, '1', sizeof(big) - 1);
                big[sizeof(big) - 1] = 0;
                assert_int_equal(ca_listen_parse(big, &address, &port), -EINVAL);
                assert_int_equal(ca_listen_parse(NULL, &address, &port), -EINVAL);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_listen_valid),
                cmocka_unit_test(test_listen_invalid),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
