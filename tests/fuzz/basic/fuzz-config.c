/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Configuration text through our syntax check and libeconf. The input becomes a file (a memfd) because
 * libeconf 0.5 only parses files. */

#include <sys/mman.h>
#include <stdio.h>

#include "shared/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *s = NULL;
        char path[64];
        uint64_t u64;
        uint32_t u32;
        bool b;
        int r;

        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, data + done, size - done);
                if (k <= 0)
                        abort();
                done += (size_t) k;
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);

        if (config_new(&c) < 0)
                abort();
        r = config_add_file(c, path);
        if (r < 0 && r != -EBADMSG)
                abort();

        /* The keys of the seed corpus. Results do not matter, only that lookups are safe. */
        (void) config_get_string(c, "TPM", "Device", "default", &s);
        (void) config_get_bool(c, "Log", "Journal", false, &b);
        (void) config_get_uint32(c, "TPM", "Retries", 0, &u32);
        (void) config_get_uint64(c, "Log", "Level", 0, &u64);
        return 0;
}
