/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fixture loading for the IMA tests: files from tests/fixtures/imalogs, values from its expected.txt. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/macro.h"

static inline char *ima_fixture(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *data = NULL;

        assert_true(asprintf(&path, "%s/tests/fixtures/imalogs/%s", getenv("PROJECT_SOURCE_ROOT"), name) > 0);
        assert_int_equal(read_full_file(path, 1 << 24, &data, ret_size), 0);
        return TAKE_PTR(data);
}

/* The hex value of the line in expected.txt that starts with key (e.g. "pcr10 synthetic padded-sha1
 * sha256"), decoded into ret (size bytes). */
static inline void ima_expected(const char *key, uint8_t *ret, size_t size) {
        _cleanup_free_ char *text = ima_fixture("expected.txt", NULL);
        size_t klen = strlen(key);

        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
                        _cleanup_free_ void *bin = NULL;
                        size_t n;
                        assert_int_equal(unhexmem(line + klen + 1,
                                                  nl ? (size_t) (nl - line - klen - 1) : SIZE_MAX, &bin, &n),
                                         0);
                        assert_int_equal(n, size);
                        memcpy(ret, bin, size);
                        return;
                }
                line = nl ? nl + 1 : NULL;
        }
        fail_msg("no '%s' in expected.txt", key);
}
