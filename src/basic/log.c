/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <sys/stat.h>

#include "basic/log.h"

static int max_level = LOG_INFO;
static LogTarget target = LOG_TARGET_AUTO;

static const char *const level_table[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static const char *const target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_CONSOLE] = "console",
        [LOG_TARGET_JOURNAL] = "journal",
};

void log_set_max_level(int level) {
        assert(level >= LOG_EMERG && level <= LOG_DEBUG);
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_target(LogTarget t) {
        assert(t >= 0 && t < _LOG_TARGET_MAX);
        target = t;
}

LogTarget log_get_target(void) {
        return target;
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_table); i++)
                if (streq(s, level_table[i]))
                        return (int) i;
        /* Also accept the plain number, as systemd does. */
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_table))
                return NULL;
        return level_table[level];
}

LogTarget log_target_from_string(const char *s) {
        if (!s)
                return _LOG_TARGET_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(target_table); i++)
                if (streq(s, target_table[i]))
                        return (LogTarget) i;
        return _LOG_TARGET_INVALID;
}

const char *log_target_to_string(LogTarget t) {
        if (t < 0 || t >= _LOG_TARGET_MAX)
                return NULL;
        return target_table[t];
}

void log_parse_environment(void) {
        const char *e;

        e = secure_getenv("TRUSTED_PLATFORM_LOG_LEVEL");
        if (e) {
                int l = log_level_from_string(e);
                if (l >= 0)
                        log_set_max_level(l);
        }

        e = secure_getenv("TRUSTED_PLATFORM_LOG_TARGET");
        if (e) {
                LogTarget t = log_target_from_string(e);
                if (t >= 0)
                        log_set_target(t);
        }
}

/* stderr is the journal when $JOURNAL_STREAM names the device and inode of our stderr. The journal then
 * parses a "<N>" prefix as the priority, which keeps this layer free of libsystemd. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

int log_internalv(int level, int error, const char *file, int line, const char *func, const char *format,
                  va_list ap) {
        bool journal;
        int saved = errno;

        if (error != 0)
                errno = error; /* for %m */

        journal = target == LOG_TARGET_JOURNAL || (target == LOG_TARGET_AUTO && stderr_is_journal());

        flockfile(stderr);
        if (journal)
                fprintf(stderr, "<%d>", level);
        vfprintf(stderr, format, ap);
        if (max_level >= LOG_DEBUG && !journal)
                fprintf(stderr, " (%s:%d %s)", file, line, func);
        fputc('\n', stderr);
        funlockfile(stderr);

        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_internalv(level, error, file, line, func, format, ap);
        va_end(ap);
        return r;
}
