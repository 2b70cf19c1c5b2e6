/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The small vocabulary every file uses: cleanup attributes, ownership transfer, array sizes. */

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _public_ __attribute__((visibility("default")))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _fallthrough_ __attribute__((fallthrough))

#define ELEMENTSOF(x)                                                                                   \
        (__builtin_choose_expr(                                                                         \
                !__builtin_types_compatible_p(typeof(x), typeof(&*(x))), sizeof(x) / sizeof((x)[0]),    \
                (void) 0))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* IN_SET(x, a, b, c): x equals one of the listed constants. */
#define IN_SET(x, first, ...)                                                                   \
        ({                                                                                      \
                const typeof(first) _set_[] = { first, __VA_ARGS__ };                          \
                const typeof(first) _x_ = (x);                                                  \
                bool _found_ = false;                                                           \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++)                            \
                        if (_set_[_i_] == _x_) {                                                \
                                _found_ = true;                                                 \
                                break;                                                          \
                        }                                                                       \
                _found_;                                                                        \
        })

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Hand ownership out of a cleanup-attributed variable: returns the value and leaves NULL behind. */
#define TAKE_GENERIC(var, type, nullvalue)                       \
        ({                                                       \
                type *_pvar_ = &(var);                           \
                type _var_ = *_pvar_;                            \
                type _nullvalue_ = nullvalue;                    \
                *_pvar_ = _nullvalue_;                           \
                _var_;                                           \
        })
#define TAKE_PTR_TYPE(ptr, type) TAKE_GENERIC(ptr, type, NULL)
#define TAKE_PTR(ptr) TAKE_PTR_TYPE(ptr, typeof(ptr))
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* Defines "name##p(type *p)" that calls func(*p) when *p is not NULL, for use with _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                  \
        static inline void func##p(type *p) {                    \
                if (*p)                                          \
                        func(*p);                                \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Frees a NULL-terminated array of strings and the array itself. */
static inline char **strv_free(char **l) {
        if (l)
                for (char **i = l; *i; i++)
                        free(*i);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
/* Iterates over a NULL-terminated vector (which may be NULL). */
#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

#define mfree(p) ({ free(p); (typeof(p)) NULL; })

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}
static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline bool isempty(const char *s) {
        return !s || !s[0];
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)
