/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>

#include "basic/string-util.h"

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

int strv_extend(char ***l, const char *value) {
        _cleanup_free_ char *v = NULL;
        size_t n;
        char **c;

        assert(l);
        assert(value);

        v = strdup(value);
        if (!v)
                return -ENOMEM;

        n = strv_length(*l);
        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c)
                return -ENOMEM;

        c[n] = TAKE_PTR(v);
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

bool strv_contains(char *const *l, const char *s) {
        if (!l || !s)
                return false;
        for (; *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

char *startswith(const char *s, const char *prefix) {
        size_t l;

        assert(s);
        assert(prefix);

        l = strlen(prefix);
        if (strncmp(s, prefix, l) != 0)
                return NULL;
        return (char *) s + l;
}

char *endswith(const char *s, const char *suffix) {
        size_t sl, pl;

        assert(s);
        assert(suffix);

        sl = strlen(s);
        pl = strlen(suffix);
        if (pl > sl)
                return NULL;
        if (memcmp(s + sl - pl, suffix, pl) != 0)
                return NULL;
        return (char *) s + sl - pl;
}

char *strextend_internal(char **x, ...) {
        size_t old, add = 0;
        const char *t;
        va_list ap;
        char *r, *p;

        assert(x);

        old = *x ? strlen(*x) : 0;

        va_start(ap, x);
        while ((t = va_arg(ap, const char *))) {
                size_t l = strlen(t);
                if (add > SIZE_MAX - old - 1 - l) {
                        va_end(ap);
                        return NULL;
                }
                add += l;
        }
        va_end(ap);

        r = realloc(*x, old + add + 1);
        if (!r)
                return NULL;

        p = r + old;
        va_start(ap, x);
        while ((t = va_arg(ap, const char *)))
                p = stpcpy(p, t);
        va_end(ap);
        *p = 0;

        *x = r;
        return r;
}

bool string_is_safe(const char *s, size_t max_len) {
        size_t n = 0;

        if (isempty(s))
                return false;

        for (const char *p = s; *p; p++, n++) {
                unsigned char c = (unsigned char) *p;

                if (n >= max_len)
                        return false;
                if (c < 0x20 || c == 0x7f)
                        return false;
                if (c == '"' || c == '\'' || c == '\\')
                        return false;
        }
        return true;
}

int safe_atou64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;

        /* strtoull() accepts whitespace, a sign and wraps "-1" around; parse by hand instead.
         * Syntax is checked first so that "99999999999999999999x" is -EINVAL, not -ERANGE. */
        if (strspn(s, "0123456789") != strlen(s))
                return -EINVAL;

        for (const char *p = s; *p; p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }

        if (ret)
                *ret = v;
        return 0;
}

int safe_atou32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r;

        r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        if (ret)
                *ret = (uint32_t) v;
        return 0;
}

char *memdup_suffix0(const void *p, size_t n) {
        char *s;

        assert(p || n == 0);

        s = malloc(n + 1);
        if (!s)
                return NULL;
        if (n > 0)
                memcpy(s, p, n);
        s[n] = '\0';
        return s;
}
