/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "basic/string-util.h"
#include "generator/crypttab.h"

void crypttab_entry_done(CrypttabEntry *e) {
        if (!e)
                return;
        e->name = mfree(e->name);
        e->device = mfree(e->device);
        e->keyfile = mfree(e->keyfile);
        e->options = mfree(e->options);
}

static bool is_blank(char c) {
        return IN_SET(c, ' ', '\t');
}

/* The next word at *p into a new string in *ret; 0 at the end of the line, 1 for a word. */
static int next_word(const char **p, char **ret) {
        _cleanup_free_ char *w = NULL;
        const char *s = *p;
        char quote = 0;
        size_t n = 0;

        while (is_blank(*s))
                s++;
        if (!*s) {
                *p = s;
                return 0;
        }

        w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;

        for (; *s; s++) {
                if (*s == '\\') {
                        s++;
                        if (!*s)
                                return -EBADMSG;
                        w[n++] = *s;
                } else if (quote) {
                        if (*s == quote)
                                quote = 0;
                        else
                                w[n++] = *s;
                } else if (IN_SET(*s, '\'', '"'))
                        quote = *s;
                else if (is_blank(*s))
                        break;
                else
                        w[n++] = *s;
        }
        if (quote)
                return -EBADMSG;
        w[n] = 0;

        *p = s;
        *ret = TAKE_PTR(w);
        return 1;
}

#define WORDS_MAX 4U

static void words_free(char *(*words)[WORDS_MAX]) {
        for (size_t i = 0; i < WORDS_MAX; i++)
                free((*words)[i]);
}

int crypttab_parse_line(const char *line, CrypttabEntry *ret) {
        _cleanup_(words_free) char *words[WORDS_MAX] = {};
        const char *p;
        size_t n = 0, len;
        int r;

        assert(line);
        assert(ret);

        len = strlen(line);
        if (len > CRYPTTAB_LINE_MAX)
                return -E2BIG;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) line[i] < 0x20 && line[i] != '\t')
                        return -EBADMSG;
                else if (line[i] == 0x7f)
                        return -EBADMSG;

        p = line;
        while (is_blank(*p))
                p++;
        if (IN_SET(*p, 0, '#'))
                return 0;

        for (;;) {
                _cleanup_free_ char *w = NULL;

                r = next_word(&p, &w);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (n >= WORDS_MAX)
                        return -EBADMSG;
                words[n++] = TAKE_PTR(w);
        }
        if (n < 2)
                return -EBADMSG;

        *ret = (CrypttabEntry){
                .name = TAKE_PTR(words[0]),
                .device = TAKE_PTR(words[1]),
                .keyfile = TAKE_PTR(words[2]),
                .options = TAKE_PTR(words[3]),
        };
        return 1;
}

int crypttab_option_find(const char *options, const char *key, char **ret_value) {
        const char *found = NULL;
        size_t found_len = 0, key_len = strlen(key);
        bool have = false;

        for (const char *p = options; p && *p;) {
                size_t len = strcspn(p, ",");

                if (len >= key_len && strncmp(p, key, key_len) == 0) {
                        if (len == key_len) {
                                have = true;
                                found = NULL;
                        } else if (p[key_len] == '=') {
                                have = true;
                                found = p + key_len + 1;
                                found_len = len - key_len - 1;
                        }
                }
                p += len;
                if (*p == ',')
                        p++;
        }
        if (!have)
                return 0;
        if (ret_value) {
                char *v = NULL;

                if (found) {
                        v = memdup_suffix0(found, found_len);
                        if (!v)
                                return -ENOMEM;
                }
                *ret_value = v;
        }
        return 1;
}
