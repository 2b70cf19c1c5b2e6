/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/hexdecoct.h"
#include "basic/macro.h"

static const char hex_digits[] = "0123456789abcdef";
static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

static int unbase64char(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -EINVAL;
}

int hexmem(const void *p, size_t n, char **ret) {
        const uint8_t *x = p;
        char *s, *t;

        assert(p || n == 0);
        assert(ret);

        if (n > (SIZE_MAX - 1) / 2)
                return -ENOMEM;

        s = t = malloc(n * 2 + 1);
        if (!s)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                *t++ = hex_digits[x[i] >> 4];
                *t++ = hex_digits[x[i] & 15];
        }
        *t = 0;

        *ret = s;
        return 0;
}

int unhexmem(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;

        assert(s || len == 0);
        assert(ret);
        assert(ret_size);

        if (len == SIZE_MAX)
                len = strlen(s);
        if (len % 2 != 0)
                return -EINVAL;

        buf = malloc(len / 2 + 1);
        if (!buf)
                return -ENOMEM;

        for (size_t i = 0; i < len; i += 2) {
                int a = unhexchar(s[i]), b = unhexchar(s[i + 1]);

                if (a < 0 || b < 0)
                        return -EINVAL;
                buf[i / 2] = (uint8_t) (a << 4 | b);
        }
        buf[len / 2] = 0;

        *ret_size = len / 2;
        *ret = TAKE_PTR(buf);
        return 0;
}

int base64mem(const void *p, size_t n, char **ret) {
        const uint8_t *x = p;
        size_t m;
        char *s, *t;

        assert(p || n == 0);
        assert(ret);

        if (n / 3 >= (SIZE_MAX - 1) / 4 - 1)
                return -ENOMEM;
        m = (n + 2) / 3 * 4;

        s = t = malloc(m + 1);
        if (!s)
                return -ENOMEM;

        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) x[i] << 16;
                size_t left = n - i;

                if (left > 1)
                        v |= (uint32_t) x[i + 1] << 8;
                if (left > 2)
                        v |= x[i + 2];

                *t++ = b64_alphabet[(v >> 18) & 63];
                *t++ = b64_alphabet[(v >> 12) & 63];
                *t++ = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
                *t++ = left > 2 ? b64_alphabet[v & 63] : '=';
        }
        *t = 0;

        *ret = s;
        return 0;
}

int unbase64mem(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t pad = 0, out = 0;

        assert(s || len == 0);
        assert(ret);
        assert(ret_size);

        if (len == SIZE_MAX)
                len = strlen(s);
        if (len % 4 != 0)
                return -EINVAL;

        /* Padding only at the very end, one or two characters. */
        if (len > 0 && s[len - 1] == '=') {
                pad++;
                if (s[len - 2] == '=')
                        pad++;
        }

        buf = malloc(len / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;

        for (size_t i = 0; i < len; i += 4) {
                bool last = i + 4 == len;
                size_t data = last ? 4 - pad : 4;
                uint32_t v = 0;

                for (size_t j = 0; j < 4; j++) {
                        int c;

                        if (j >= data) {
                                /* Already known to be '=' by the padding count above. */
                                v <<= 6;
                                continue;
                        }
                        c = unbase64char(s[i + j]);
                        if (c < 0)
                                return -EINVAL; /* includes a '=' anywhere but the end */
                        v = v << 6 | (uint32_t) c;
                }

                /* The bits that fall off the end of the data must be zero: "QR==" and "QQ==" must not
                 * both decode to "A". */
                if (data == 2 && (v & 0xffff) != 0)
                        return -EINVAL;
                if (data == 3 && (v & 0xff) != 0)
                        return -EINVAL;

                buf[out++] = (uint8_t) (v >> 16);
                if (data >= 3)
                        buf[out++] = (uint8_t) (v >> 8);
                if (data >= 4)
                        buf[out++] = (uint8_t) v;
        }
        buf[out] = 0;

        *ret_size = out;
        *ret = TAKE_PTR(buf);
        return 0;
}
