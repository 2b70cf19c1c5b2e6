/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>

#include "basic/secure-mem.h"
#include "luks/luks-recovery.h"

static const char modhex[16] = "cbdefghijklnrtuv";

static int refuse(char *reason, size_t size, const char *format, ...) _printf_(3, 4);
static int refuse(char *reason, size_t size, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int luks_recovery_key_format(const void *key, size_t size, char **ret) {
        const uint8_t *k = key;
        char *s, *p;

        assert(key);
        assert(ret);

        if (size != LUKS_RECOVERY_KEY_BYTES)
                return -EINVAL;
        s = malloc(LUKS_RECOVERY_KEY_LENGTH + 1);
        if (!s)
                return -ENOMEM;
        p = s;
        for (size_t i = 0; i < size; i++) {
                if (i > 0 && i % (LUKS_RECOVERY_KEY_GROUP_CHARS / 2) == 0)
                        *p++ = '-';
                *p++ = modhex[k[i] >> 4];
                *p++ = modhex[k[i] & 0xf];
        }
        *p = 0;
        assert((size_t) (p - s) == LUKS_RECOVERY_KEY_LENGTH);
        *ret = s;
        return 0;
}

int luks_recovery_key_generate(char **ret) {
        uint8_t key[LUKS_RECOVERY_KEY_BYTES];
        size_t done = 0;
        int r;

        assert(ret);

        while (done < sizeof(key)) {
                ssize_t n = getrandom(key + done, sizeof(key) - done, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        erase_mem(key, sizeof(key));
                        return r;
                }
                done += (size_t) n;
        }
        r = luks_recovery_key_format(key, sizeof(key), ret);
        erase_mem(key, sizeof(key));
        return r;
}

static int modhex_value(char c) {
        char lower = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;

        for (int i = 0; i < 16; i++)
                if (modhex[i] == lower)
                        return i;
        return -1;
}

int luks_recovery_key_normalize(const char *input, size_t size, char **ret, char *reason, size_t reason_size) {
        uint8_t key[LUKS_RECOVERY_KEY_BYTES] = {};
        size_t letters = 0;
        int r;

        assert(input || size == 0);
        assert(ret);

        if (size > 0 && input[size - 1] == '\n')
                size--;
        if (size > LUKS_RECOVERY_KEY_INPUT_MAX)
                return refuse(reason, reason_size, "longer than %u characters, not a recovery key",
                              LUKS_RECOVERY_KEY_INPUT_MAX);
        for (size_t i = 0; i < size; i++) {
                int v;

                if (IN_SET(input[i], ' ', '\t', '-'))
                        continue;
                v = modhex_value(input[i]);
                if (v < 0) {
                        erase_mem(key, sizeof(key));
                        return refuse(reason, reason_size,
                                      "character %zu is not a recovery key letter (%.16s)", i + 1, modhex);
                }
                if (letters < 2 * LUKS_RECOVERY_KEY_BYTES)
                        key[letters / 2] |= (uint8_t) (letters % 2 == 0 ? v << 4 : v);
                letters++;
        }
        if (letters != 2 * LUKS_RECOVERY_KEY_BYTES) {
                erase_mem(key, sizeof(key));
                return refuse(reason, reason_size, "%zu letters, a recovery key has %u", letters,
                              2 * LUKS_RECOVERY_KEY_BYTES);
        }
        r = luks_recovery_key_format(key, sizeof(key), ret);
        erase_mem(key, sizeof(key));
        return r;
}

bool luks_recovery_key_is_valid(const char *input) {
        _cleanup_erase_free_ char *k = NULL;

        if (!input)
                return false;
        return luks_recovery_key_normalize(input, strnlen(input, LUKS_RECOVERY_KEY_INPUT_MAX + 2), &k, NULL,
                                           0) == 0;
}
