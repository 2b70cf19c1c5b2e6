/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "generator/unit-name.h"

/* DM_NAME_LEN (128) minus the NUL. */
#define DM_NAME_LEN_MAX 127U

static const char hex[] = "0123456789abcdef";

static char *escape_byte(char *t, unsigned char c) {
        *t++ = '\\';
        *t++ = 'x';
        *t++ = hex[c >> 4];
        *t++ = hex[c & 15];
        return t;
}

static bool unit_char_is_valid(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                IN_SET(c, ':', '_', '.');
}

/* s (which may contain '/') escaped into t, which has room for 4 bytes per input byte + 1. */
static void do_escape(const char *s, char *t) {
        if (*s == '.')
                t = escape_byte(t, (unsigned char) *s++);
        for (; *s; s++) {
                if (*s == '/')
                        *t++ = '-';
                else if (unit_char_is_valid(*s))
                        *t++ = *s;
                else
                        t = escape_byte(t, (unsigned char) *s);
        }
        *t = 0;
}

int unit_name_escape(const char *s, char **ret) {
        char *t;

        if (isempty(s))
                return -EINVAL;
        if (strlen(s) > SIZE_MAX / 4 - 1)
                return -ENOMEM;
        t = malloc(strlen(s) * 4 + 1);
        if (!t)
                return -ENOMEM;
        do_escape(s, t);
        *ret = t;
        return 0;
}

int unit_name_path_escape(const char *path, char **ret) {
        _cleanup_free_ char *simple = NULL;
        char *t;
        size_t n = 0;

        if (!path || path[0] != '/')
                return -EINVAL;

        simple = malloc(strlen(path) + 1);
        if (!simple)
                return -ENOMEM;

        /* Components joined with '/', without the leading one; "." and empty components dropped. */
        for (const char *p = path; *p;) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (!(len == 1 && p[0] == '.')) {
                        if (n > 0)
                                simple[n++] = '/';
                        memcpy(simple + n, p, len);
                        n += len;
                }
                p += len;
        }
        simple[n] = 0;

        if (n == 0) {
                t = strdup("-");
                if (!t)
                        return -ENOMEM;
                *ret = t;
                return 0;
        }
        return unit_name_escape(simple, ret);
}

int unit_name_from_path(const char *path, const char *suffix, char **ret) {
        _cleanup_free_ char *e = NULL;
        char *u;
        int r;

        r = unit_name_path_escape(path, &e);
        if (r < 0)
                return r;
        if (strlen(e) + strlen(suffix) > UNIT_NAME_LEN_MAX)
                return -ENAMETOOLONG;
        u = NULL;
        if (!strextend(&u, e, suffix))
                return -ENOMEM;
        *ret = u;
        return 0;
}

int unit_name_build_instance(const char *prefix, const char *instance, const char *suffix, char **ret) {
        _cleanup_free_ char *e = NULL;
        char *u = NULL;
        int r;

        r = unit_name_escape(instance, &e);
        if (r < 0)
                return r;
        if (strlen(prefix) + 1 + strlen(e) + strlen(suffix) > UNIT_NAME_LEN_MAX)
                return -ENAMETOOLONG;
        if (!strextend(&u, prefix, "@", e, suffix))
                return -ENOMEM;
        *ret = u;
        return 0;
}

/* Length of the valid UTF-8 sequence (2..4 bytes, no overlongs, no surrogates or non-characters,
 * <= U+10FFFF) at s, or 0. */
static size_t utf8_sequence_length(const unsigned char *s) {
        size_t len;
        uint32_t cp;

        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;

        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
                return 0; /* udev (unichar_is_valid()) also refuses the non-characters */
        return len;
}

static bool devnode_char_is_plain(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                strchr("#+-.:=@_", c);
}

int device_node_from_spec(const char *spec, char **ret) {
        static const struct {
                const char *tag;
                const char *dir;
        } tags[] = {
                { "UUID=", "/dev/disk/by-uuid/" },
                { "PARTUUID=", "/dev/disk/by-partuuid/" },
                { "LABEL=", "/dev/disk/by-label/" },
                { "PARTLABEL=", "/dev/disk/by-partlabel/" },
        };
        _cleanup_free_ char *value = NULL;
        const char *v = NULL, *dir = NULL;
        char *node, *t;
        size_t len;

        if (!spec)
                return -EINVAL;
        if (spec[0] == '/') {
                node = strdup(spec);
                if (!node)
                        return -ENOMEM;
                *ret = node;
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(tags); i++) {
                v = startswith(spec, tags[i].tag);
                if (v) {
                        dir = tags[i].dir;
                        break;
                }
        }
        if (!v)
                return -EINVAL;

        len = strlen(v);
        if (len >= 2 && IN_SET(v[0], '"', '\'') && v[len - 1] == v[0]) {
                v++;
                len -= 2;
        }
        if (len == 0)
                return -EINVAL;
        value = memdup_suffix0(v, len);
        if (!value)
                return -ENOMEM;
        if (strlen(value) != len) /* a NUL cannot come from a text line, but be strict */
                return -EINVAL;

        node = malloc(strlen(dir) + len * 4 + 1);
        if (!node)
                return -ENOMEM;
        t = stpcpy(node, dir);
        for (size_t i = 0; i < len;) {
                size_t seq = utf8_sequence_length((const unsigned char *) value + i);

                if (seq > 0) {
                        memcpy(t, value + i, seq);
                        t += seq;
                        i += seq;
                } else if (value[i] == '\\' || !devnode_char_is_plain(value[i])) {
                        t = escape_byte(t, (unsigned char) value[i++]);
                } else
                        *t++ = value[i++];
        }
        *t = 0;
        *ret = node;
        return 0;
}

int exec_argument_quote(const char *s, char **ret) {
        char *q, *t;

        if (!s)
                return -EINVAL;
        if (strlen(s) > SIZE_MAX / 4 - 3)
                return -ENOMEM;
        q = malloc(strlen(s) * 4 + 3);
        if (!q)
                return -ENOMEM;
        t = q;
        *t++ = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (IN_SET(c, '\\', '"')) {
                        *t++ = '\\';
                        *t++ = (char) c;
                } else if (IN_SET(c, '%', '$')) {
                        *t++ = (char) c;
                        *t++ = (char) c;
                } else if (c < 0x20 || c == 0x7f)
                        t = escape_byte(t, c);
                else
                        *t++ = (char) c;
        }
        *t++ = '"';
        *t = 0;
        *ret = q;
        return 0;
}

int specifier_escape(const char *s, char **ret) {
        char *q, *t;

        if (!s)
                return -EINVAL;
        if (strlen(s) > SIZE_MAX / 2 - 1)
                return -ENOMEM;
        q = malloc(strlen(s) * 2 + 1);
        if (!q)
                return -ENOMEM;
        t = q;
        for (; *s; s++) {
                if (*s == '%')
                        *t++ = '%';
                *t++ = *s;
        }
        *t = 0;
        *ret = q;
        return 0;
}

bool dm_name_is_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return false;
        n = strlen(s);
        if (n > DM_NAME_LEN_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || (unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}
