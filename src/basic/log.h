/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging for programs. Goes to the journal when stderr is connected to it (JOURNAL_STREAM) or
 * when asked, to stderr otherwise. Library code only uses log_debug*(); programs decide the rest.
 *
 * The *_errno() variants take a negative or positive errno, set errno for "%m" in the format, and
 * return the negative errno so that "return log_error_errno(r, "...: %m");" works. */

#include <stdarg.h>
#include <syslog.h>

#include "basic/macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal if stderr is the journal, stderr otherwise */
        LOG_TARGET_CONSOLE, /* stderr */
        LOG_TARGET_JOURNAL,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_target(LogTarget target);
LogTarget log_get_target(void);
/* Reads $TRUSTED_PLATFORM_LOG_LEVEL (name or number) and $TRUSTED_PLATFORM_LOG_TARGET. */
void log_parse_environment(void);

int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
LogTarget log_target_from_string(const char *s);
const char *log_target_to_string(LogTarget t);

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
        _printf_(6, 7);
int log_internalv(int level, int error, const char *file, int line, const char *func, const char *format,
                  va_list ap) _printf_(6, 0);

#define log_full_errno(level, error, ...)                                                       \
        ({                                                                                      \
                int _level = (level), _e = (error);                                             \
                _e = _e < 0 ? -_e : _e;                                                         \
                (log_get_max_level() >= _level)                                                 \
                        ? log_internal(_level, _e, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -_e;                                                                  \
        })
#define log_full(level, ...) ((void) log_full_errno((level), 0, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* For "out of memory" paths in programs. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
