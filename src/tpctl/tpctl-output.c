/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"

static const char *const json_mode_table[_JSON_MODE_MAX] = {
        [JSON_MODE_OFF] = "off",
        [JSON_MODE_SHORT] = "short",
        [JSON_MODE_PRETTY] = "pretty",
};

JsonMode json_mode_from_string(const char *s) {
        if (!s)
                return _JSON_MODE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(json_mode_table); i++)
                if (streq(s, json_mode_table[i]))
                        return (JsonMode) i;
        return _JSON_MODE_INVALID;
}

const char *json_mode_to_string(JsonMode m) {
        if (m < 0 || m >= _JSON_MODE_MAX)
                return NULL;
        return json_mode_table[m];
}

static int json_new_uint64(uint64_t v, json_t **ret) {
        json_t *j;

        /* jansson integers are signed 64-bit; keep the exact value of larger ones as a string rather
         * than wrapping it into a negative number. */
        if (v > INT64_MAX) {
                char buf[sizeof(uint64_t) * 3 + 1];

                (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
                j = json_string(buf);
        } else
                j = json_integer((json_int_t) v);
        if (!j)
                return -ENOMEM;

        *ret = j;
        return 0;
}

static int read_basic_json(sd_bus_message *m, char type, json_t **ret) {
        union {
                uint8_t u8;
                int b;
                int16_t i16;
                uint16_t u16;
                int32_t i32;
                uint32_t u32;
                int64_t i64;
                uint64_t u64;
                double d;
                const char *s;
                int fd;
        } v;
        json_t *j;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_BYTE:
                j = json_integer(v.u8);
                break;
        case SD_BUS_TYPE_BOOLEAN:
                j = json_boolean(v.b);
                break;
        case SD_BUS_TYPE_INT16:
                j = json_integer(v.i16);
                break;
        case SD_BUS_TYPE_UINT16:
                j = json_integer(v.u16);
                break;
        case SD_BUS_TYPE_INT32:
                j = json_integer(v.i32);
                break;
        case SD_BUS_TYPE_UINT32:
                j = json_integer(v.u32);
                break;
        case SD_BUS_TYPE_INT64:
                j = json_integer(v.i64);
                break;
        case SD_BUS_TYPE_UINT64:
                return json_new_uint64(v.u64, ret);
        case SD_BUS_TYPE_DOUBLE:
                j = json_real(v.d);
                break;
        case SD_BUS_TYPE_UNIX_FD:
                j = json_integer(v.fd);
                break;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                j = json_string(v.s); /* sd-bus validated the UTF-8 already */
                break;
        default:
                return -EBADMSG;
        }
        if (!j)
                return -ENOMEM;

        *ret = j;
        return 0;
}

static int json_key_from_value(const json_t *k, char **ret) {
        char *s;

        if (json_is_string(k))
                s = strdup(json_string_value(k));
        else
                s = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!s)
                return -ENOMEM;

        *ret = s;
        return 0;
}

static int read_dict_entries_json(sd_bus_message *m, json_t **ret) {
        _cleanup_(json_decrefp) json_t *obj = NULL;
        int r;

        obj = json_object();
        if (!obj)
                return -ENOMEM;

        for (;;) {
                _cleanup_(json_decrefp) json_t *k = NULL, *v = NULL;
                _cleanup_free_ char *key = NULL;
                const char *contents;
                char type;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (type != SD_BUS_TYPE_DICT_ENTRY)
                        return -EBADMSG;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, contents);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &k);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &v);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                r = json_key_from_value(k, &key);
                if (r < 0)
                        return r;
                if (json_object_set(obj, key, v) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(obj);
        return 0;
}

static int read_items_json(sd_bus_message *m, json_t **ret) {
        _cleanup_(json_decrefp) json_t *arr = NULL;
        int r;

        arr = json_array();
        if (!arr)
                return -ENOMEM;

        for (;;) {
                _cleanup_(json_decrefp) json_t *v = NULL;

                r = bus_message_read_json(m, &v);
                if (r == -ENXIO)
                        break;
                if (r < 0)
                        return r;
                if (json_array_append(arr, v) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(arr);
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_t **ret) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        const char *contents;
        char type;
        int r;

        assert(m);
        assert(ret);

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        switch (type) {
        case SD_BUS_TYPE_ARRAY:
                if (streq(contents, "y")) {
                        _cleanup_free_ char *hex = NULL;
                        const void *p;
                        size_t n;

                        r = sd_bus_message_read_array(m, SD_BUS_TYPE_BYTE, &p, &n);
                        if (r < 0)
                                return r;
                        r = hexmem(p, n, &hex);
                        if (r < 0)
                                return r;
                        j = json_string(hex);
                        if (!j)
                                return -ENOMEM;
                        break;
                }

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
                if (r < 0)
                        return r;
                r = contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN ? read_dict_entries_json(m, &j)
                                                                 : read_items_json(m, &j);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                break;

        case SD_BUS_TYPE_VARIANT:
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &j);
                if (r == -ENXIO) /* an empty variant is not a valid message */
                        return -EBADMSG;
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                break;

        case SD_BUS_TYPE_STRUCT:
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, contents);
                if (r < 0)
                        return r;
                r = read_items_json(m, &j);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                break;

        default:
                r = read_basic_json(m, type, &j);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(j);
        return 0;
}

int bus_message_read_dict_json(sd_bus_message *m, json_t **ret) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        const char *contents;
        char type;
        int r;

        assert(m);
        assert(ret);

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != SD_BUS_TYPE_ARRAY || !contents || contents[0] != SD_BUS_TYPE_DICT_ENTRY_BEGIN ||
            contents[1] != SD_BUS_TYPE_STRING)
                return -EBADMSG;

        r = bus_message_read_json(m, &j);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(j);
        return 0;
}

int json_print(FILE *f, const json_t *v, JsonMode mode) {
        size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;

        assert(f);
        assert(v);
        assert(mode == JSON_MODE_SHORT || mode == JSON_MODE_PRETTY);

        flags |= mode == JSON_MODE_PRETTY ? JSON_INDENT(2) : JSON_COMPACT;
        if (json_dumpf(v, f, flags) < 0)
                return -EIO;
        if (fputc('\n', f) == EOF)
                return -EIO;
        return 0;
}

int json_format_cell(const json_t *v, char **ret) {
        char *s = NULL;

        assert(ret);

        switch (json_typeof(v)) {
        case JSON_STRING:
                s = strdup(json_string_value(v));
                break;
        case JSON_TRUE:
                s = strdup("yes");
                break;
        case JSON_FALSE:
                s = strdup("no");
                break;
        case JSON_INTEGER:
                if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
                        s = NULL;
                break;
        case JSON_REAL:
                if (asprintf(&s, "%g", json_real_value(v)) < 0)
                        s = NULL;
                break;
        case JSON_ARRAY: {
                size_t n = json_array_size(v), len = 0;

                if (n == 0) {
                        s = strdup("none");
                        break;
                }
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *item = NULL;
                        char *t;
                        int r;

                        r = json_format_cell(json_array_get(v, i), &item);
                        if (r < 0) {
                                free(s);
                                return r;
                        }
                        t = realloc(s, len + strlen(item) + 3);
                        if (!t) {
                                free(s);
                                return -ENOMEM;
                        }
                        s = t;
                        len += (size_t) sprintf(s + len, "%s%s", i > 0 ? ", " : "", item);
                }
                break;
        }
        case JSON_OBJECT:
                s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                break;
        case JSON_NULL:
        default:
                s = strdup("n/a");
        }
        if (!s)
                return -ENOMEM;

        *ret = s;
        return 0;
}

/* The value column lets "\n" through (json_format_lines()); a newline inside one value, which may come from
 * hostile input (a certificate subject, an event log), is written as \x0a, as libsmartcols would. */
static int escape_newlines(char **s) {
        size_t n = 0;
        char *t, *q;

        for (const char *p = *s; *p; p++)
                n += *p == '\n';
        if (n == 0)
                return 0;
        t = malloc(strlen(*s) + 3 * n + 1);
        if (!t)
                return -ENOMEM;
        q = t;
        for (const char *p = *s; *p; p++)
                if (*p == '\n')
                        q = stpcpy(q, "\\x0a");
                else
                        *q++ = *p;
        *q = '\0';
        free(*s);
        *s = t;
        return 0;
}

int json_format_lines(const json_t *v, char **ret) {
        char *s = NULL;
        size_t len = 0;

        assert(v);
        assert(ret);

        if (!json_is_array(v) || json_array_size(v) == 0) {
                int r = json_format_cell(v, &s);
                if (r >= 0)
                        r = escape_newlines(&s);
                if (r < 0)
                        return free(s), r;
                *ret = s;
                return 0;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
                _cleanup_free_ char *item = NULL;
                char *t;
                int r;

                r = json_format_cell(json_array_get(v, i), &item);
                if (r >= 0)
                        r = escape_newlines(&item);
                if (r < 0) {
                        free(s);
                        return r;
                }
                t = realloc(s, len + strlen(item) + 2);
                if (!t) {
                        free(s);
                        return -ENOMEM;
                }
                s = t;
                len += (size_t) sprintf(s + len, "%s%s", i > 0 ? "\n" : "", item);
        }
        *ret = s;
        return 0;
}

static int kv_table_add(struct libscols_table *t, const char *label, char *value) {
        _cleanup_free_ char *l = NULL;
        struct libscols_line *line;

        /* Takes ownership of value. */
        if (asprintf(&l, "%s:", label) < 0) {
                free(value);
                return -ENOMEM;
        }
        line = scols_table_new_line(t, NULL);
        if (!line) {
                free(value);
                return -ENOMEM;
        }
        if (scols_line_refer_data(line, 0, TAKE_PTR(l)) < 0 || scols_line_refer_data(line, 1, value) < 0)
                return -ENOMEM;
        return 0;
}

static bool field_known(const FieldFormat *fields, size_t n_fields, const char *key) {
        for (size_t i = 0; i < n_fields; i++)
                if (streq(fields[i].key, key))
                        return true;
        return false;
}

int kv_table_new(const json_t *obj, const FieldFormat *fields, size_t n_fields, struct libscols_table **ret) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        struct libscols_column *value_column;
        const char *key;
        json_t *v;
        int r;

        assert(json_is_object(obj));
        assert(fields || n_fields == 0);
        assert(ret);

        t = scols_new_table();
        if (!t)
                return -ENOMEM;
        scols_table_enable_noheadings(t, 1);
        if (!scols_table_new_column(t, "FIELD", 0, SCOLS_FL_RIGHT))
                return -ENOMEM;
        value_column = scols_table_new_column(t, "VALUE", 0, SCOLS_FL_WRAP);
        if (!value_column)
                return -ENOMEM;
        /* A value of several lines (json_format_lines()) continues under the first, aligned. */
        r = scols_column_set_wrapfunc(value_column, scols_wrapnl_chunksize, scols_wrapnl_nextchunk, NULL);
        if (r >= 0)
                r = scols_column_set_safechars(value_column, "\n");
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_fields; i++) {
                char *value = NULL;

                v = json_object_get(obj, fields[i].key);
                if (!v)
                        continue;
                r = fields[i].format ? fields[i].format(v, &value) : json_format_cell(v, &value);
                if (r == -ENODATA)
                        continue;
                if (r >= 0 && fields[i].format != json_format_lines)
                        r = escape_newlines(&value);
                if (r < 0) {
                        free(value);
                        return r;
                }
                r = kv_table_add(t, fields[i].label, value);
                if (r < 0)
                        return r;
        }

        json_object_foreach((json_t *) obj, key, v) {
                char *value = NULL;

                if (field_known(fields, n_fields, key))
                        continue;
                r = json_format_cell(v, &value);
                if (r >= 0)
                        r = escape_newlines(&value);
                if (r < 0) {
                        free(value);
                        return r;
                }
                r = kv_table_add(t, key, value);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

/* Adds a line with the values of keys[] in row, one per column. A missing key is -EBADMSG when
 * required, an empty cell otherwise. */
static int table_add_json_line(struct libscols_table *t, const json_t *row, const char *const *keys,
                               size_t n, bool required) {
        struct libscols_line *line;
        int r;

        line = scols_table_new_line(t, NULL);
        if (!line)
                return -ENOMEM;
        for (size_t c = 0; c < n; c++) {
                json_t *v = json_object_get(row, keys[c]);
                char *cell = NULL;

                if (!v) {
                        if (required)
                                return -EBADMSG;
                        continue;
                }
                r = json_format_cell(v, &cell);
                if (r < 0)
                        return r;
                if (scols_line_refer_data(line, c, cell) < 0) {
                        free(cell);
                        return -ENOMEM;
                }
        }
        return 0;
}

int pcr_table_new(const json_t *pcrs, bool legend, struct libscols_table **ret) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        size_t i;
        json_t *e;
        int r;

        assert(json_is_array(pcrs));
        assert(ret);

        t = scols_new_table();
        if (!t)
                return -ENOMEM;
        scols_table_enable_noheadings(t, !legend);
        if (!scols_table_new_column(t, "INDEX", 0, SCOLS_FL_RIGHT) || !scols_table_new_column(t, "BANK", 0, 0) ||
            !scols_table_new_column(t, "DIGEST", 0, 0))
                return -ENOMEM;

        json_array_foreach(pcrs, i, e) {
                static const char *const keys[] = { "Index", "Bank", "Digest" };

                r = table_add_json_line(t, e, keys, ELEMENTSOF(keys), true);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int table_print(struct libscols_table *t, FILE *f) {
        assert(t);
        assert(f);

        if (scols_table_set_stream(t, f) < 0)
                return -EINVAL;
        if (scols_print_table(t) < 0)
                return -EIO;
        if (fflush(f) == EOF)
                return -errno;
        return 0;
}

int format_seconds(uint64_t s, char **ret) {
        static const struct {
                const char *suffix;
                uint64_t seconds;
        } units[] = {
                { "d", 86400 },
                { "h", 3600 },
                { "min", 60 },
                { "s", 1 },
        };
        char buf[64];
        size_t len = 0;
        char *t;

        assert(ret);

        if (s == 0) {
                t = strdup("0s");
                if (!t)
                        return -ENOMEM;
                *ret = t;
                return 0;
        }

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                uint64_t n = s / units[i].seconds;

                if (n == 0)
                        continue;
                s %= units[i].seconds;
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%" PRIu64 "%s", len > 0 ? " " : "", n,
                                         units[i].suffix);
        }

        t = strdup(buf);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

int format_timestamp_usec(uint64_t usec, char **ret) {
        char buf[64], *t;
        struct tm tm;
        time_t sec;

        assert(ret);

        if (usec == 0)
                t = strdup("never");
        else {
                sec = (time_t) (usec / 1000000);
                if (!localtime_r(&sec, &tm) || strftime(buf, sizeof(buf), "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                        return -EINVAL;
                t = strdup(buf);
        }
        if (!t)
                return -ENOMEM;

        *ret = t;
        return 0;
}

int format_verdict_expires(const json_t *v, char **ret) {
        if (!json_is_integer(v))
                return json_format_cell(v, ret);
        if (json_integer_value(v) == 0) {
                *ret = strdup("no verdict");
                return *ret ? 0 : -ENOMEM;
        }
        return format_timestamp_usec((uint64_t) json_integer_value(v), ret);
}

static pid_t pager_pid = 0;

int pager_open(void) {
        const char *pager;
        int fds[2];
        pid_t parent, pid;

        if (pager_pid > 0)
                return 1;
        if (!isatty(STDOUT_FILENO))
                return 0;

        pager = getenv("TPCTL_PAGER");
        if (!pager)
                pager = getenv("PAGER");
        if (pager && (pager[strspn(pager, " \t")] == 0 || streq(pager, "cat")))
                return 0;

        if (fflush(stdout) == EOF)
                return -errno;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                safe_close(fds[0]);
                safe_close(fds[1]);
                return r;
        }
        if (pid == 0) {
                /* Child: read the pipe, write to the terminal. */
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                safe_close(fds[0]);
                safe_close(fds[1]);

                /* Quit when tpctl dies, so that no orphaned pager keeps the terminal. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_SUCCESS);

                /* F: quit if one screen, R: colours, S: chop long lines (digests), X: keep the output on
                 * screen, M: verbose prompt, K: quit on ^C. The same choice as systemd. */
                (void) setenv("LESS", "FRSXMK", 1);

                if (pager) {
                        execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                        _exit(127);
                }
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
                /* No pager at all: pass the output through unchanged. */
                execlp("cat", "cat", (char *) NULL);
                _exit(127);
        }

        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                int r = -errno;
                safe_close(fds[0]);
                safe_close(fds[1]);
                (void) kill(pid, SIGTERM);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        safe_close(fds[0]);
        safe_close(fds[1]);

        pager_pid = pid;
        return 1;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;

        /* EOF on the pipe tells the pager that the output is complete. /dev/null takes the place of the pipe
         * so that fd 1 stays valid and is not reused by a later open(). */
        (void) fflush(stdout);
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) dup2(fd, STDOUT_FILENO);
                safe_close(fd);
        } else
                (void) close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}

int json_table_new(const json_t *rows, const char *const *keys, const char *const *headers, size_t n_columns,
                   bool legend, struct libscols_table **ret) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        size_t i;
        json_t *row;
        int r;

        assert(json_is_array(rows));
        assert(keys && headers && ret);

        t = scols_new_table();
        if (!t)
                return -ENOMEM;
        scols_table_enable_noheadings(t, !legend);
        for (size_t c = 0; c < n_columns; c++)
                if (!scols_table_new_column(t, headers[c], 0, 0))
                        return -ENOMEM;

        json_array_foreach(rows, i, row) {
                r = table_add_json_line(t, row, keys, n_columns, false);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}
