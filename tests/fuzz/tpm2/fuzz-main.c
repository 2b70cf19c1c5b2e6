/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal corpus replayer for fuzz targets in the normal build: every file named on the command line,
 * or in a directory named there, goes through LLVMFuzzerTestOneInput(). Stand-in until the shared
 * tests/fuzz/fuzz-main.c is in this branch (the lead dedupes). */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (1024U * 1024U)

static int replay_file(const char *path) {
        uint8_t *buf;
        size_t n = 0;
        FILE *f;

        f = fopen(path, "rbe");
        if (!f) {
                fprintf(stderr, "Cannot open %s: %m\n", path);
                return -errno;
        }
        buf = malloc(INPUT_MAX);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(buf, 1, INPUT_MAX, f);
        fclose(f);

        printf("%s (%zu bytes)\n", path, n);
        fflush(stdout);
        /* Exactly n bytes, so ASan notices reads past the input. */
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy) {
                free(buf);
                return -ENOMEM;
        }
        memcpy(copy, buf, n);
        free(buf);
        (void) LLVMFuzzerTestOneInput(copy, n);
        free(copy);
        return 0;
}


static int replay_dir(const char *dir) {
        struct dirent **list = NULL;
        int n, r = 0, count = 0;

        n = scandir(dir, &list, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "Cannot read %s: %m\n", dir);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                char *p = NULL;

                if (list[i]->d_name[0] != '.' && r >= 0) {
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                r = replay_file(p);
                                count++;
                        }
                        free(p);
                }
                free(list[i]);
        }
        free(list);
        if (r >= 0 && count == 0) {
                fprintf(stderr, "No inputs in %s\n", dir);
                return -ENOENT;
        }
        return r;
}

int main(int argc, char *argv[]) {
        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE|DIR...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "Cannot stat %s: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                r = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]);
                if (r < 0)
                        return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
