/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private temporary directory per test, removed with its content afterwards. */

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>

#include "basic/macro.h"

static inline char *test_mkdtemp(void) {
        const char *t = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/tp-test-XXXXXX", t ?: "/tmp") < 0)
                return NULL;
        if (!mkdtemp(p))
                return mfree(p);
        return p;
}

static inline int rm_rf_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p) < 0 ? -1 : 0;
}

static inline void test_rmdtemp(char *p) {
        if (!p)
                return;
        (void) nftw(p, rm_rf_one, 16, FTW_DEPTH | FTW_PHYS);
        free(p);
}

static inline size_t count_dir_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return SIZE_MAX;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}
