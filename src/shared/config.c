/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libeconf.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/config.h"

#define CONFIG_FILE_MAX (1024U * 1024U)
#define CONFIG_DROPINS_MAX 1024U

typedef struct ConfigEntry {
        char *group;
        char *key;
        char *value;
} ConfigEntry;

struct Config {
        ConfigEntry *entries;
        size_t n_entries;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(econf_file *, econf_freeFile);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, econf_freeArray);

int config_new(Config **ret) {
        Config *c;

        assert(ret);

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static void config_entries_free(ConfigEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].group);
                free(e[i].key);
                free(e[i].value);
        }
        free(e);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        config_entries_free(c->entries, c->n_entries);
        return mfree(c);
}

static ConfigEntry *config_find(Config *c, const char *group, const char *key) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].group, group) && streq(c->entries[i].key, key))
                        return &c->entries[i];
        return NULL;
}

static int config_set(Config *c, const char *group, const char *key, const char *value) {
        _cleanup_free_ char *g = NULL, *k = NULL, *v = NULL;
        ConfigEntry *e, *n;

        v = strdup(value);
        if (!v)
                return -ENOMEM;

        e = config_find(c, group, key);
        if (e) {
                free(e->value);
                e->value = TAKE_PTR(v);
                return 0;
        }

        g = strdup(group);
        k = strdup(key);
        if (!g || !k)
                return -ENOMEM;
        n = reallocarray(c->entries, c->n_entries + 1, sizeof(ConfigEntry));
        if (!n)
                return -ENOMEM;
        c->entries = n;
        c->entries[c->n_entries++] = (ConfigEntry) {
                .group = TAKE_PTR(g),
                .key = TAKE_PTR(k),
                .value = TAKE_PTR(v),
        };
        return 0;
}

/* libeconf is lenient where we want to be strict (it accepts lines without '=' and keys outside
 * groups, and stops at NUL bytes), so we check the syntax ourselves first, with line numbers. */
static int config_check_syntax(const char *path, const char *text, size_t size) {
        bool in_group = false, after_key = false;
        unsigned line = 0;

        if (memchr(text, 0, size))
                return log_debug_errno(EBADMSG, "%s: contains a NUL byte.", path);

        for (const char *p = text; p < text + size; line++) {
                const char *eol = memchr(p, '\n', (size_t) (text + size - p));
                const char *s = p, *e = eol ?: text + size, *eq, *ke;
                bool indented = p < e && (*p == ' ' || *p == '\t');

                p = eol ? eol + 1 : text + size;

                while (s < e && strchr(" \t\r", *s))
                        s++;
                while (e > s && strchr(" \t\r", e[-1]))
                        e--;

                if (s == e || *s == '#') {
                        after_key = false;
                        continue;
                }

                if (*s == '[') {
                        if (e[-1] != ']' || e - s < 3 || memchr(s + 1, ']', (size_t) (e - s - 2)) ||
                            memchr(s + 1, '[', (size_t) (e - s - 2)))
                                return log_debug_errno(EBADMSG, "%s:%u: malformed group header.", path, line + 1);
                        in_group = true;
                        after_key = false;
                        continue;
                }

                eq = memchr(s, '=', (size_t) (e - s));
                if (!eq) {
                        if (indented && after_key)
                                continue; /* continuation of a multi-line value */
                        return log_debug_errno(EBADMSG, "%s:%u: expected Key=Value.", path, line + 1);
                }
                for (ke = eq; ke > s && strchr(" \t", ke[-1]); ke--)
                        ;
                if (ke == s)
                        return log_debug_errno(EBADMSG, "%s:%u: empty key.", path, line + 1);
                if (!in_group)
                        return log_debug_errno(EBADMSG, "%s:%u: assignment outside of a group.", path, line + 1);
                after_key = true;
        }
        return 0;
}

/* Copies what libeconf parsed into a fresh Config, to be merged into the caller's only on success. */
static int config_import_econf(Config *c, econf_file *f, const char *path) {
        _cleanup_(econf_freeArrayp) char **groups = NULL;
        size_t n_groups = 0;
        econf_err e;
        int r;

        e = econf_getGroups(f, &n_groups, &groups);
        if (e == ECONF_NOGROUP)
                return 0;
        if (e != ECONF_SUCCESS)
                return log_debug_errno(e == ECONF_NOMEM ? ENOMEM : EBADMSG, "%s: %s", path, econf_errString(e));

        for (size_t i = 0; i < n_groups; i++) {
                _cleanup_(econf_freeArrayp) char **keys = NULL;
                size_t n_keys = 0;

                /* libeconf lists a group once per header; one pass is enough. */
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        if (streq(groups[j], groups[i]))
                                seen = true;
                if (seen)
                        continue;

                e = econf_getKeys(f, groups[i], &n_keys, &keys);
                if (e == ECONF_NOKEY)
                        continue;
                if (e != ECONF_SUCCESS)
                        return log_debug_errno(e == ECONF_NOMEM ? ENOMEM : EBADMSG, "%s: %s", path,
                                               econf_errString(e));

                for (size_t j = 0; j < n_keys; j++) {
                        _cleanup_free_ char *value = NULL;

                        e = econf_getStringValue(f, groups[i], keys[j], &value);
                        if (e != ECONF_SUCCESS)
                                return log_debug_errno(e == ECONF_NOMEM ? ENOMEM : EBADMSG, "%s: [%s] %s: %s",
                                                       path, groups[i], keys[j], econf_errString(e));
                        r = config_set(c, groups[i], keys[j], strempty(value));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int config_merge(Config *into, Config *from) {
        for (size_t i = 0; i < from->n_entries; i++) {
                int r = config_set(into, from->entries[i].group, from->entries[i].key, from->entries[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_dev_null(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

int config_add_file(Config *c, const char *path) {
        _cleanup_(config_freep) Config *tmp = NULL;
        _cleanup_(econf_freeFilep) econf_file *f = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        char proc[64];
        size_t size = 0;
        struct stat st;
        econf_err e;
        int r;

        assert(c);
        assert(path);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_debug_errno(errno, "Failed to open '%s': %m", path);
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (is_dev_null(&st))
                return 1; /* masked */
        if (!S_ISREG(st.st_mode))
                return log_debug_errno(EBADMSG, "'%s' is not a regular file.", path);

        /* Read through the fd we checked, and hand libeconf the same file through /proc. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        r = read_full_file(proc, CONFIG_FILE_MAX, &text, &size);
        if (r == -E2BIG)
                return log_debug_errno(EBADMSG, "'%s' is larger than %u bytes.", path, CONFIG_FILE_MAX);
        if (r < 0)
                return log_debug_errno(r, "Failed to read '%s': %m", path);

        r = config_check_syntax(path, text, size);
        if (r < 0)
                return r;

        e = econf_readFile(&f, proc, "=", "#");
        if (e != ECONF_SUCCESS) {
                uint64_t line = 0;
                char *where = NULL;

                if (e == ECONF_NOMEM)
                        return -ENOMEM;
                econf_errLocation(&where, &line);
                free(where);
                return log_debug_errno(EBADMSG, "%s:%" PRIu64 ": %s", path, line, econf_errString(e));
        }

        r = config_new(&tmp);
        if (r < 0)
                return r;
        r = config_import_econf(tmp, f, path);
        if (r < 0)
                return r;
        r = config_merge(c, tmp);
        if (r < 0)
                return r;

        log_debug("Read configuration file '%s'.", path);
        return 1;
}

typedef struct DropIn {
        char *name;
        char *path;
} DropIn;

static int dropin_compare(const void *a, const void *b) {
        return strcmp(((const DropIn *) a)->name, ((const DropIn *) b)->name);
}

static void dropins_free(DropIn *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].name);
                free(d[i].path);
        }
        free(d);
}

/* Adds the "*.conf" files of dir that are not yet known by name (dirs come highest priority first). */
static int dropins_collect(const char *dir, DropIn **list, size_t *n) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return log_debug_errno(errno, "Failed to open '%s': %m", dir);
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *path = NULL;
                bool known = false;
                DropIn *nl;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf"))
                        continue;
                for (size_t i = 0; i < *n; i++)
                        if (streq((*list)[i].name, de->d_name))
                                known = true;
                if (known)
                        continue;
                if (*n >= CONFIG_DROPINS_MAX) {
                        r = log_debug_errno(E2BIG, "Too many drop-ins in '%s'.", dir);
                        break;
                }

                name = strdup(de->d_name);
                if (!name || !strextend(&path, dir, "/", de->d_name)) {
                        r = -ENOMEM;
                        break;
                }
                nl = reallocarray(*list, *n + 1, sizeof(DropIn));
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                *list = nl;
                (*list)[(*n)++] = (DropIn) { .name = TAKE_PTR(name), .path = TAKE_PTR(path) };
        }
        if (r == 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        return r;
}

int config_load_from_dirs(const char *stem, const char *const *dirs, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        DropIn *dropins = NULL;
        size_t n_dirs, n_dropins = 0;
        int r;

        assert(stem);
        assert(dirs);
        assert(ret);

        if (isempty(stem) || strchr(stem, '/'))
                return -EINVAL;
        n_dirs = strv_length((char *const *) dirs);

        r = config_new(&c);
        if (r < 0)
                return r;

        /* Main files, lowest priority first, each overriding key by key. */
        for (size_t i = n_dirs; i > 0; i--) {
                _cleanup_free_ char *p = NULL;

                if (!strextend(&p, dirs[i - 1], "/", stem, ".conf"))
                        return -ENOMEM;
                r = config_add_file(c, p);
                if (r < 0)
                        return r;
        }

        /* Drop-ins: highest priority directory first, so its file names mask the others'. */
        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *p = NULL;

                if (!strextend(&p, dirs[i], "/", stem, ".conf.d")) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = dropins_collect(p, &dropins, &n_dropins);
                if (r < 0)
                        goto finish;
        }

        if (n_dropins > 0)
                qsort(dropins, n_dropins, sizeof(DropIn), dropin_compare);
        for (size_t i = 0; i < n_dropins; i++) {
                r = config_add_file(c, dropins[i].path);
                if (r < 0)
                        goto finish;
        }

        r = 0;
        *ret = TAKE_PTR(c);
finish:
        dropins_free(dropins, n_dropins);
        return r;
}

int config_load(const char *stem, Config **ret) {
        const char *override = secure_getenv("TRUSTED_PLATFORM_CONFIG_DIR");

        if (!isempty(override))
                return config_load_from_dirs(stem, (const char *const[]) { override, NULL }, ret);

        return config_load_from_dirs(stem, (const char *const[]) { PKGSYSCONFDIR, RUNTIMEDIR, VENDORCONFDIR, NULL },
                                     ret);
}

static const char *config_lookup(Config *c, const char *group, const char *key) {
        ConfigEntry *e;

        assert(group);
        assert(key);

        if (!c)
                return NULL;
        e = config_find(c, group, key);
        if (!e || isempty(e->value))
                return NULL;
        return e->value;
}

int config_get_string(Config *c, const char *group, const char *key, const char *def, char **ret) {
        const char *v = config_lookup(c, group, key);
        char *s = NULL;

        assert(ret);

        if (v || def) {
                s = strdup(v ?: def);
                if (!s)
                        return -ENOMEM;
        }
        *ret = s;
        return !!v;
}

static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int config_get_bool(Config *c, const char *group, const char *key, bool def, bool *ret) {
        const char *v = config_lookup(c, group, key);
        int b;

        assert(ret);

        if (!v) {
                *ret = def;
                return 0;
        }
        b = parse_boolean(v);
        if (b < 0)
                return log_debug_errno(b, "[%s] %s=%s is not a boolean.", group, key, v);
        *ret = b;
        return 1;
}

int config_get_uint64(Config *c, const char *group, const char *key, uint64_t def, uint64_t *ret) {
        const char *v = config_lookup(c, group, key);
        uint64_t u;
        int r;

        assert(ret);

        if (!v) {
                *ret = def;
                return 0;
        }
        r = safe_atou64(v, &u);
        if (r < 0)
                return log_debug_errno(r, "[%s] %s=%s is not an unsigned 64-bit number.", group, key, v);
        *ret = u;
        return 1;
}

int config_get_uint32(Config *c, const char *group, const char *key, uint32_t def, uint32_t *ret) {
        const char *v = config_lookup(c, group, key);
        uint32_t u;
        int r;

        assert(ret);

        if (!v) {
                *ret = def;
                return 0;
        }
        r = safe_atou32(v, &u);
        if (r < 0)
                return log_debug_errno(r, "[%s] %s=%s is not an unsigned 32-bit number.", group, key, v);
        *ret = u;
        return 1;
}
