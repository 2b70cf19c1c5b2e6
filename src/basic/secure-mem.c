/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <malloc.h>
#include <sys/mman.h>

#include "basic/log.h"
#include "basic/secure-mem.h"

void (*secure_mem_wiped_hook)(const void *p, size_t n) = NULL;

void erase_mem(void *p, size_t n) {
        if (n > 0)
                explicit_bzero(p, n);
}

void *erase_and_free(void *p) {
        size_t n;

        if (!p)
                return NULL;

        n = malloc_usable_size(p);
        erase_mem(p, n);
        if (secure_mem_wiped_hook)
                secure_mem_wiped_hook(p, n);
        free(p);
        return NULL;
}

char **strv_free_erase(char **l) {
        if (l)
                for (char **i = l; *i; i++)
                        erase_and_free(*i);
        free(l);
        return NULL;
}

/* The mapping starts with a header holding its total length; the caller's pointer follows it, 16-byte
 * aligned like malloc's. */
#define SECURE_HEADER 16U

void *secure_malloc(size_t size) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE), total;
        uint8_t *m;

        if (size == 0) {
                errno = EINVAL;
                return NULL;
        }
        if (size > SIZE_MAX - SECURE_HEADER - page) {
                errno = ENOMEM;
                return NULL;
        }
        total = (size + SECURE_HEADER + page - 1) / page * page;

        m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
                return NULL;

        if (madvise(m, total, MADV_DONTDUMP) < 0)
                log_debug_errno(errno, "madvise(MADV_DONTDUMP) failed, ignoring: %m");
        if (madvise(m, total, MADV_WIPEONFORK) < 0)
                log_debug_errno(errno, "madvise(MADV_WIPEONFORK) failed, ignoring: %m");
        if (mlock(m, total) < 0)
                log_debug_errno(errno, "mlock() of %zu bytes failed, secret may be swapped: %m", total);

        memcpy(m, &total, sizeof(total));
        return m + SECURE_HEADER;
}

void *secure_free(void *p) {
        uint8_t *m;
        size_t total;

        if (!p)
                return NULL;

        m = (uint8_t *) p - SECURE_HEADER;
        memcpy(&total, m, sizeof(total));

        explicit_bzero(m, total);
        if (secure_mem_wiped_hook)
                secure_mem_wiped_hook(m, total);
        (void) munlock(m, total);
        (void) munmap(m, total);
        return NULL;
}

int memcmp_ct(const void *a, const void *b, size_t n) {
        const volatile uint8_t *x = a, *y = b;
        uint8_t d = 0;

        assert(a || n == 0);
        assert(b || n == 0);

        for (size_t i = 0; i < n; i++)
                d |= x[i] ^ y[i];
        return d;
}
