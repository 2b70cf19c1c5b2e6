/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers around errno values. Every function in this project returns a negative errno on
 * failure; these make that convention cheap to follow at syscall boundaries. */

#include <errno.h>
#include <stdbool.h>

#include "basic/macro.h"

/* Returns -errno, and -EIO if errno is (wrongly) 0 or negative, so a caller can never mistake a
 * failure for success. */
static inline int negative_errno(void) {
        int e = errno;
        return e > 0 ? -e : -EIO;
}

/* Wraps a libc call that returns -1 + errno and turns it into our -errno convention:
 * "r = RET_NERRNO(open(...));" gives the fd or a negative errno. */
#define RET_NERRNO(expr)                                \
        ({                                              \
                typeof(expr) _r_ = (expr);              \
                _r_ < 0 ? (typeof(expr)) negative_errno() : _r_; \
        })

static inline int abs_errno(int r) {
        return r < 0 ? -r : r;
}

/* Errors that mean "try again later", not "this failed". Accept r or -r. */
static inline bool ERRNO_IS_TRANSIENT(int r) {
        r = abs_errno(r);
        return r == EAGAIN || r == EINTR;
}

/* Errors that mean the peer went away; a server treats them as a normal end of a connection. */
static inline bool ERRNO_IS_DISCONNECT(int r) {
        r = abs_errno(r);
        return IN_SET(r, ECONNABORTED, ECONNREFUSED, ECONNRESET, EHOSTDOWN, EHOSTUNREACH, ENETDOWN,
                      ENETRESET, ENETUNREACH, ENONET, ENOPROTOOPT, ENOTCONN, EPIPE, EPROTO, ESHUTDOWN,
                      ETIMEDOUT);
}

/* Resource exhaustion: memory, file descriptors, address space. */
static inline bool ERRNO_IS_RESOURCE(int r) {
        r = abs_errno(r);
        return IN_SET(r, ENOMEM, EMFILE, ENFILE);
}

/* The kernel, filesystem or a sandbox does not support the operation. */
static inline bool ERRNO_IS_NOT_SUPPORTED(int r) {
        r = abs_errno(r);
        return IN_SET(r, EOPNOTSUPP, ENOTTY, ENOSYS, EAFNOSUPPORT, EPFNOSUPPORT, EPROTONOSUPPORT,
                      ESOCKTNOSUPPORT);
}

/* We lack the privileges (or a seccomp filter / LSM said no). */
static inline bool ERRNO_IS_PRIVILEGE(int r) {
        r = abs_errno(r);
        return IN_SET(r, EACCES, EPERM);
}
