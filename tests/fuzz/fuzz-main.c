/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* main() for fuzz targets in the normal build: replays every file named on the command line, or found
 * in a directory named there, through LLVMFuzzerTestOneInput(). A crash or sanitizer report fails the
 * test; with -Dfuzzers=true the same targets link against libFuzzer instead. */

#include <dirent.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (16U * 1024U * 1024U)

static int replay_file(const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = read_full_file(path, FUZZ_INPUT_MAX, &buf, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read %s: %s\n", path, strerror(-r));
                return r;
        }
        printf("%s (%zu bytes)\n", path, size);
        fflush(stdout);
        /* A copy of exactly size bytes, so ASan sees reads past the end of the input. */
        _cleanup_free_ uint8_t *copy = malloc(size ?: 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, size);
        (void) LLVMFuzzerTestOneInput(copy, size);
        return 0;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int replay_dir(const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        unsigned n = 0;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        closedir(d);

        if (names)
                qsort(names, strv_length(names), sizeof(char *), name_cmp);
        for (char **i = names; i && *i; i++) {
                _cleanup_free_ char *p = NULL;

                if (!strextend(&p, dir, "/", *i))
                        return -ENOMEM;
                r = replay_file(p);
                if (r < 0)
                        return r;
                n++;
        }
        if (n == 0) {
                fprintf(stderr, "No inputs in %s\n", dir);
                return -ENOENT;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                int r;

                if (d) {
                        closedir(d);
                        r = replay_dir(argv[i]);
                } else
                        r = replay_file(argv[i]);
                if (r < 0)
                        return 1;
        }
        return 0;
}
