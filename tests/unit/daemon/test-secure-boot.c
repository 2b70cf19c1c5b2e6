/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SecureBoot variable behind the Manager's SecureBoot property and the SecureBoot security attribute
 * (security_read_secure_boot()), read from a test efivarfs given in $TRUSTED_PLATFORM_EFIVARS: enforcing,
 * off, missing, and variables of the wrong size or value. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/security-attributes.h"

static char dir[] = "/tmp/test-secure-boot-XXXXXX";
static char path[256];

/* Writes the variable (attributes 0x06 0x00 0x00 0x00, as efivarfs shows them, then data); size 0 removes
 * it. */
static void put(const uint8_t *data, size_t size) {
        static const uint8_t attributes[4] = { 0x06, 0x00, 0x00, 0x00 };
        int fd;

        (void) unlink(path);
        if (size == 0)
                return;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, attributes, sizeof(attributes)), (ssize_t) sizeof(attributes));
        assert_int_equal(write(fd, data, size - 4), (ssize_t) (size - 4));
        assert_int_equal(close(fd), 0);
}

static void test_enforcing(void **state) {
        put((const uint8_t[]){ 1 }, 5);
        assert_int_equal(security_read_secure_boot(), 1);
}

static void test_off(void **state) {
        put((const uint8_t[]){ 0 }, 5);
        assert_int_equal(security_read_secure_boot(), 0);
}

static void test_missing(void **state) {
        put(NULL, 0);
        assert_int_equal(security_read_secure_boot(), -ENOENT);
}

static void test_malformed(void **state) {
        static const uint8_t big[32] = { 1 };

        /* Attributes only; two data bytes; a value that is neither 0 nor 1; far too large. */
        put(NULL, 4);
        assert_int_equal(security_read_secure_boot(), -EBADMSG);
        put((const uint8_t[]){ 1, 0 }, 6);
        assert_int_equal(security_read_secure_boot(), -EBADMSG);
        put((const uint8_t[]){ 2 }, 5);
        assert_int_equal(security_read_secure_boot(), -EBADMSG);
        put(big, 4 + sizeof(big));
        assert_int_equal(security_read_secure_boot(), -EBADMSG);
        {
                /* 100 bytes: above the read limit. */
                uint8_t huge[96] = { 1 };
                put(huge, 4 + sizeof(huge));
                assert_int_equal(security_read_secure_boot(), -EBADMSG);
        }
}

/* Without the override the real path is read: whatever this machine has, the answer is one of those. */
static void test_default_path(void **state) {
        int r;

        assert_int_equal(unsetenv(EFIVARS_DIR_ENV), 0);
        r = security_read_secure_boot();
        assert_true(r == 0 || r == 1 || r == -ENOENT || r == -EBADMSG || r == -EACCES);
        assert_int_equal(setenv(EFIVARS_DIR_ENV, dir, 1), 0);
        put((const uint8_t[]){ 1 }, 5);
        assert_int_equal(security_read_secure_boot(), 1);
}

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/%s", dir, EFIVAR_SECURE_BOOT_NAME);
        return setenv(EFIVARS_DIR_ENV, dir, 1);
}

static int teardown(void **state) {
        (void) unlink(path);
        return rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_enforcing),    cmocka_unit_test(test_off),
                cmocka_unit_test(test_missing),      cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_default_path),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, setup, teardown);
}
