/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "eventlog/eventlog-diff.h"
#include "shared/json-util.h"

static const char *const change_kind_table[_EVENTLOG_CHANGE_KIND_MAX] = {
        [EVENTLOG_CHANGE_FORMAT] = "format",
        [EVENTLOG_CHANGE_BANKS] = "banks",
        [EVENTLOG_CHANGE_STARTUP_LOCALITY] = "startup-locality",
        [EVENTLOG_CHANGE_SECURE_BOOT] = "secure-boot",
        [EVENTLOG_CHANGE_SIGNATURE_DATABASE] = "signature-database",
        [EVENTLOG_CHANGE_CERTIFICATE_ADDED] = "certificate-added",
        [EVENTLOG_CHANGE_CERTIFICATE_REMOVED] = "certificate-removed",
        [EVENTLOG_CHANGE_HASHES_ADDED] = "hashes-added",
        [EVENTLOG_CHANGE_HASHES_REMOVED] = "hashes-removed",
        [EVENTLOG_CHANGE_AUTHORITY_ADDED] = "authority-added",
        [EVENTLOG_CHANGE_AUTHORITY_REMOVED] = "authority-removed",
        [EVENTLOG_CHANGE_BOOT_ORDER] = "boot-order",
        [EVENTLOG_CHANGE_BOOT_ENTRY_ADDED] = "boot-entry-added",
        [EVENTLOG_CHANGE_BOOT_ENTRY_REMOVED] = "boot-entry-removed",
        [EVENTLOG_CHANGE_BOOT_ENTRY_CHANGED] = "boot-entry-changed",
        [EVENTLOG_CHANGE_BOOT_APPLICATION_ADDED] = "boot-application-added",
        [EVENTLOG_CHANGE_BOOT_APPLICATION_REMOVED] = "boot-application-removed",
        [EVENTLOG_CHANGE_BOOT_APPLICATION_CHANGED] = "boot-application-changed",
        [EVENTLOG_CHANGE_BOOT_LOADER] = "boot-loader",
        [EVENTLOG_CHANGE_KERNEL] = "kernel",
        [EVENTLOG_CHANGE_KERNEL_CMDLINE] = "kernel-cmdline",
        [EVENTLOG_CHANGE_GRUB_COMMAND_ADDED] = "grub-command-added",
        [EVENTLOG_CHANGE_GRUB_COMMAND_REMOVED] = "grub-command-removed",
        [EVENTLOG_CHANGE_SEPARATOR] = "separator",
        [EVENTLOG_CHANGE_PCRS_AFTER_SEPARATOR] = "pcrs-after-separator",
        [EVENTLOG_CHANGE_FIRMWARE_BLOB_ADDED] = "firmware-blob-added",
        [EVENTLOG_CHANGE_FIRMWARE_BLOB_REMOVED] = "firmware-blob-removed",
        [EVENTLOG_CHANGE_FIRMWARE_BLOB_CHANGED] = "firmware-blob-changed",
        [EVENTLOG_CHANGE_GPT] = "gpt",
        [EVENTLOG_CHANGE_DIGEST_MISMATCHES] = "digest-mismatches",
        [EVENTLOG_CHANGE_PCR_EVENTS] = "pcr-events",
};

const char *eventlog_change_kind_to_string(EventlogChangeKind k) {
        if (k < 0 || k >= _EVENTLOG_CHANGE_KIND_MAX)
                return NULL;
        return change_kind_table[k];
}

EventlogChangeKind eventlog_change_kind_from_string(const char *s) {
        if (!s)
                return _EVENTLOG_CHANGE_KIND_INVALID;
        for (EventlogChangeKind k = 0; k < _EVENTLOG_CHANGE_KIND_MAX; k++)
                if (streq(change_kind_table[k], s))
                        return k;
        return _EVENTLOG_CHANGE_KIND_INVALID;
}

/* More GRUB commands added (or removed) than this are counted, not listed. */
#define GRUB_COMMANDS_LISTED 5U

typedef struct Diff {
        json_t *changes;
        const json_t *old, *new;
        const EventLog *old_log, *new_log;
} Diff;

/* Appends one change. old_value/new_value are stolen (NULL: JSON null). */
_printf_(6, 7) static int add(Diff *d, EventlogChangeKind kind, const char *what, json_t *old_value,
                              json_t *new_value, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        json_t *o = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r >= 0)
                o = json_object();
        if (!o || json_object_set_new(o, "kind", json_string(eventlog_change_kind_to_string(kind))) < 0 ||
            json_object_set_new(o, "what", json_string(what)) < 0 ||
            json_object_set_new(o, "old", old_value ?: json_null()) < 0 ||
            json_object_set_new(o, "new", new_value ?: json_null()) < 0 ||
            json_object_set_new(o, "message", json_string(message)) < 0 ||
            json_array_append_new(d->changes, o) < 0) {
                if (!o) {
                        json_decref(old_value);
                        json_decref(new_value);
                }
                json_decref(o);
                return -ENOMEM;
        }
        return 0;
}

/* ---- typed access to facts that may be anything ------------------------------------------------ */

static const json_t *get(const json_t *o, const char *key) {
        return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const json_t *get_array(const json_t *o, const char *key) {
        const json_t *v = get(o, key);
        return json_is_array(v) ? v : NULL;
}

static const json_t *get_object(const json_t *o, const char *key) {
        const json_t *v = get(o, key);
        return json_is_object(v) ? v : NULL;
}

static const char *get_string(const json_t *o, const char *key) {
        return json_string_value(get(o, key)); /* NULL unless a string */
}

/* A copy of v for "old"/"new", null when absent. */
static json_t *value(const json_t *v) {
        return v ? json_deep_copy(v) : json_null();
}

static bool equal(const json_t *a, const json_t *b) {
        if (!a || json_is_null(a))
                return !b || json_is_null(b);
        return b && json_equal((json_t *) a, (json_t *) b);
}

static bool array_contains(const json_t *array, const json_t *v) {
        size_t i;
        json_t *e;

        json_array_foreach(array, i, e) {
                if (json_equal(e, (json_t *) v))
                        return true;
        }
        return false;
}

/* ---- the kinds ---------------------------------------------------------------------------------- */

static const char *bool_state(const json_t *v) {
        return json_is_true(v) ? "on" : json_is_false(v) ? "off" : "unknown";
}

static int diff_header(Diff *d) {
        const json_t *o, *n;
        int r;

        o = get(d->old, "format");
        n = get(d->new, "format");
        if (json_is_string(o) && json_is_string(n) && !equal(o, n)) {
                r = add(d, EVENTLOG_CHANGE_FORMAT, "format", value(o), value(n),
                        "log format changed: %s → %s", json_string_value(o), json_string_value(n));
                if (r < 0)
                        return r;
        }

        o = get_array(d->old, "banks");
        n = get_array(d->new, "banks");
        if (o && n && !equal(o, n)) {
                _cleanup_free_ char *a = json_dumps(o, JSON_COMPACT), *b = json_dumps(n, JSON_COMPACT);
                if (!a || !b)
                        return -ENOMEM;
                r = add(d, EVENTLOG_CHANGE_BANKS, "banks", value(o), value(n), "PCR banks changed: %s → %s",
                        a, b);
                if (r < 0)
                        return r;
        }

        o = get(d->old, "startup_locality");
        n = get(d->new, "startup_locality");
        if ((json_is_integer(o) || json_is_integer(n)) && !equal(o, n)) {
                char a[32] = "none", b[32] = "none";
                if (json_is_integer(o))
                        (void) snprintf(a, sizeof a, "%" JSON_INTEGER_FORMAT, json_integer_value(o));
                if (json_is_integer(n))
                        (void) snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
                r = add(d, EVENTLOG_CHANGE_STARTUP_LOCALITY, "startup_locality", value(o), value(n),
                        "startup locality changed: %s → %s", a, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int diff_secure_boot(Diff *d) {
        static const struct {
                const char *key, *name;
        } modes[] = {
                { "secure_boot", "Secure Boot" },
                { "setup_mode", "setup mode" },
                { "audit_mode", "audit mode" },
                { "deployed_mode", "deployed mode" },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                const json_t *o = get(d->old, modes[i].key), *n = get(d->new, modes[i].key);

                if (!json_is_boolean(o))
                        o = NULL;
                if (!json_is_boolean(n))
                        n = NULL;
                if (equal(o, n))
                        continue;
                if (o && n)
                        r = add(d, EVENTLOG_CHANGE_SECURE_BOOT, modes[i].key, value(o), value(n), "%s %s",
                                modes[i].name, json_is_true(n) ? "enabled" : "disabled");
                else
                        r = add(d, EVENTLOG_CHANGE_SECURE_BOOT, modes[i].key, value(o), value(n),
                                "%s: %s → %s", modes[i].name, bool_state(o), bool_state(n));
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool sig_is_x509(const json_t *s) {
        const char *t = get_string(s, "type");
        return t && streq(t, "x509");
}

/* The name a person knows a certificate by: the CN of its subject, else the subject, else its SHA-256. */
static char *certificate_name(const json_t *s) {
        const char *subject = get_string(s, "subject"), *cn = NULL;

        if (subject) {
                if (startswith(subject, "CN="))
                        cn = subject + 3;
                else {
                        const char *p = strstr(subject, ", CN=");
                        if (!p)
                                p = strstr(subject, ",CN=");
                        if (p)
                                cn = strstr(p, "CN=") + 3;
                }
                if (cn)
                        return strndup(cn, strcspn(cn, ","));
                return strdup(subject);
        }
        return strdup(get_string(s, "sha256") ?: "(unknown)");
}

/* Entries of one signature database identified by (type, sha256): certificates one by one, hashes
 * counted. */
static int diff_signature_list(Diff *d, const char *name, const json_t *o, const json_t *n) {
        _cleanup_(json_decrefp) json_t *hashes_added = json_array(), *hashes_removed = json_array();
        int r;

        if (!hashes_added || !hashes_removed)
                return -ENOMEM;

        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? n : o, *other = pass == 0 ? o : n;
                size_t i;
                json_t *s;

                json_array_foreach(from, i, s) {
                        bool found = false;
                        size_t j;
                        json_t *t;

                        json_array_foreach(other, j, t) {
                                if (equal(get(s, "type"), get(t, "type")) &&
                                    equal(get(s, "sha256"), get(t, "sha256"))) {
                                        found = true;
                                        break;
                                }
                        }
                        if (found)
                                continue;
                        if (sig_is_x509(s)) {
                                _cleanup_free_ char *cert = certificate_name(s);
                                if (!cert)
                                        return -ENOMEM;
                                r = add(d,
                                        pass == 0 ? EVENTLOG_CHANGE_CERTIFICATE_ADDED
                                                  : EVENTLOG_CHANGE_CERTIFICATE_REMOVED,
                                        name, pass == 0 ? NULL : value(s), pass == 0 ? value(s) : NULL,
                                        "%s: certificate '%s' %s", name, cert,
                                        pass == 0 ? "added" : "removed");
                                if (r < 0)
                                        return r;
                        } else if (json_array_append(pass == 0 ? hashes_added : hashes_removed, s) < 0)
                                return -ENOMEM;
                }
        }

        for (int pass = 0; pass < 2; pass++) {
                json_t *h = pass == 0 ? hashes_added : hashes_removed;
                size_t k = json_array_size(h);

                if (k == 0)
                        continue;
                r = add(d, pass == 0 ? EVENTLOG_CHANGE_HASHES_ADDED : EVENTLOG_CHANGE_HASHES_REMOVED, name,
                        pass == 0 ? NULL : json_incref(h), pass == 0 ? json_incref(h) : NULL,
                        "%s: %zu hash%s %s", name, k, k == 1 ? "" : "es", pass == 0 ? "added" : "removed");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int diff_signature_databases(Diff *d) {
        static const struct {
                const char *key, *name;
        } dbs[] = { { "pk", "PK" }, { "kek", "KEK" }, { "db", "db" }, { "dbx", "dbx" } };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
                const json_t *o = get_array(d->old, dbs[i].key), *n = get_array(d->new, dbs[i].key);

                if (equal(o, n))
                        continue;
                if (!o || !n) {
                        /* Measured in one boot only: the entries are not comparable, say that much. */
                        r = add(d, EVENTLOG_CHANGE_SIGNATURE_DATABASE, dbs[i].key, value(o), value(n),
                                !o ? "%s: now measured (%zu entries)"
                                   : "%s: no longer measured (had %zu entries)",
                                dbs[i].name, json_array_size(o ?: n));
                        if (r < 0)
                                return r;
                        continue;
                }
                r = diff_signature_list(d, dbs[i].name, o, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int diff_authorities(Diff *d) {
        const json_t *o = get_array(d->old, "authorities"), *n = get_array(d->new, "authorities");
        int r;

        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? n : o, *other = pass == 0 ? o : n;
                size_t i;
                json_t *a;

                json_array_foreach(from, i, a) {
                        _cleanup_free_ char *cert = NULL;
                        bool found = false;
                        size_t j;
                        json_t *b;

                        json_array_foreach(other, j, b) {
                                if (equal(get(a, "variable"), get(b, "variable")) &&
                                    equal(get(a, "sha256"), get(b, "sha256"))) {
                                        found = true;
                                        break;
                                }
                        }
                        if (found)
                                continue;
                        cert = certificate_name(a);
                        if (!cert)
                                return -ENOMEM;
                        r = add(d,
                                pass == 0 ? EVENTLOG_CHANGE_AUTHORITY_ADDED : EVENTLOG_CHANGE_AUTHORITY_REMOVED,
                                get_string(a, "variable") ?: "authority", pass == 0 ? NULL : value(a),
                                pass == 0 ? value(a) : NULL, "%s: '%s' %s verifies a boot component",
                                get_string(a, "variable") ?: "authority", cert,
                                pass == 0 ? "now" : "no longer");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* "0001,0003" for [1, 3]; "(none)" for null. */
static char *boot_order_string(const json_t *a) {
        char *s = NULL;
        size_t i;
        json_t *e;

        if (!a)
                return strdup("(none)");
        if (json_array_size(a) == 0)
                return strdup("(empty)");
        json_array_foreach(a, i, e) {
                char n[16];
                (void) snprintf(n, sizeof n, "%04llX",
                                json_is_integer(e) ? (unsigned long long) (json_integer_value(e) & 0xffff)
                                                   : 0ULL);
                if (!strextend(&s, i == 0 ? "" : ",", n))
                        return mfree(s);
        }
        return s;
}

static int diff_boot_entries(Diff *d) {
        const json_t *o = get_array(d->old, "boot_order"), *n = get_array(d->new, "boot_order");
        int r;

        if (!equal(o, n)) {
                _cleanup_free_ char *a = boot_order_string(o), *b = boot_order_string(n);
                if (!a || !b)
                        return -ENOMEM;
                r = add(d, EVENTLOG_CHANGE_BOOT_ORDER, "boot_order", value(o), value(n),
                        "boot order changed: %s → %s", a, b);
                if (r < 0)
                        return r;
        }

        o = get_array(d->old, "boot_entries");
        n = get_array(d->new, "boot_entries");
        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? n : o, *other = pass == 0 ? o : n;
                size_t i;
                json_t *e;

                json_array_foreach(from, i, e) {
                        const json_t *num = get(e, "number"), *match = NULL;
                        char what[16];
                        size_t j;
                        json_t *f;

                        /* An identical entry is no change, even where numbers repeat. */
                        if (!json_is_integer(num) || (other && array_contains(other, e)))
                                continue;
                        json_array_foreach(other, j, f) {
                                if (equal(num, get(f, "number"))) {
                                        match = f;
                                        break;
                                }
                        }
                        (void) snprintf(what, sizeof what, "Boot%04llX",
                                        (unsigned long long) (json_integer_value(num) & 0xffff));
                        if (!match)
                                r = add(d,
                                        pass == 0 ? EVENTLOG_CHANGE_BOOT_ENTRY_ADDED
                                                  : EVENTLOG_CHANGE_BOOT_ENTRY_REMOVED,
                                        what, pass == 0 ? NULL : value(e), pass == 0 ? value(e) : NULL,
                                        "%s: '%s' %s", what, get_string(e, "description") ?: "",
                                        pass == 0 ? "added" : "removed");
                        else if (pass == 0 && !equal(e, match))
                                r = add(d, EVENTLOG_CHANGE_BOOT_ENTRY_CHANGED, what, value(match), value(e),
                                        "%s: changed: '%s' %s → '%s' %s", what,
                                        get_string(match, "description") ?: "",
                                        get_string(match, "path") ?: "", get_string(e, "description") ?: "",
                                        get_string(e, "path") ?: "");
                        else
                                r = 0;
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The file part of a device path: "\EFI\debian\grubx64.efi" of "HD(1,GPT,...)/\EFI\debian\grubx64.efi". */
static const char *file_path(const char *p) {
        const char *f;

        if (!p)
                return "(unknown)";
        f = strstr(p, "/\\");
        return f ? f + 1 : p;
}

/* Whether two boot applications (or kernels) carry the same measurement: the sha256 digest when both
 * have one, else all digests. */
static bool same_digest(const json_t *a, const json_t *b) {
        const json_t *x = get(a, "sha256"), *y = get(b, "sha256");

        if (json_is_string(x) && json_is_string(y))
                return json_equal((json_t *) x, (json_t *) y);
        return equal(get(a, "digests"), get(b, "digests"));
}

static bool same_path(const json_t *a, const json_t *b) {
        const char *x = get_string(a, "path"), *y = get_string(b, "path");

        /* Applications whose device path did not decode pair up in order, like those of one path. */
        if (!x || !y)
                return !x && !y;
        return streq(file_path(x), file_path(y));
}

static int diff_boot_applications(Diff *d) {
        const json_t *o = get_array(d->old, "boot_applications"), *n = get_array(d->new, "boot_applications");
        size_t no = json_array_size(o), nn = json_array_size(n);
        _cleanup_free_ bool *used_old = calloc(no + 1, sizeof(bool)), *used_new = calloc(nn + 1, sizeof(bool));
        int r;

        if (!used_old || !used_new)
                return -ENOMEM;

        /* The i-th application with a path in one boot pairs with the i-th with that path in the other. */
        for (size_t i = 0; i < nn; i++) {
                const json_t *e = json_array_get(n, i);
                for (size_t j = 0; j < no; j++) {
                        const json_t *f = json_array_get(o, j);
                        if (used_old[j] || !same_path(e, f))
                                continue;
                        used_old[j] = used_new[i] = true;
                        if (!same_digest(e, f)) {
                                r = add(d, EVENTLOG_CHANGE_BOOT_APPLICATION_CHANGED,
                                        file_path(get_string(e, "path")), value(f), value(e),
                                        "boot application digest changed: %s",
                                        file_path(get_string(e, "path")));
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
        }
        for (size_t i = 0; i < nn; i++)
                if (!used_new[i]) {
                        const json_t *e = json_array_get(n, i);
                        r = add(d, EVENTLOG_CHANGE_BOOT_APPLICATION_ADDED, file_path(get_string(e, "path")),
                                NULL, value(e), "boot application added: %s",
                                file_path(get_string(e, "path")));
                        if (r < 0)
                                return r;
                }
        for (size_t j = 0; j < no; j++)
                if (!used_old[j]) {
                        const json_t *f = json_array_get(o, j);
                        r = add(d, EVENTLOG_CHANGE_BOOT_APPLICATION_REMOVED,
                                file_path(get_string(f, "path")), value(f), NULL,
                                "boot application removed: %s", file_path(get_string(f, "path")));
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Boot loader and kernel: a changed path is news; a changed digest of the same path is news only when
 * the boot applications above did not already say it. */
static int diff_component(Diff *d, const char *key, const char *name, EventlogChangeKind kind) {
        const json_t *o = get_object(d->old, key), *n = get_object(d->new, key);
        const json_t *apps = get_array(d->new, "boot_applications");
        size_t i;
        json_t *a;

        if (equal(o, n))
                return 0;
        if (!o || !n)
                return add(d, kind, key, value(o), value(n), "%s: %s → %s", name,
                           o ? file_path(get_string(o, "path")) : "(none)",
                           n ? file_path(get_string(n, "path")) : "(none)");
        if (!same_path(o, n))
                return add(d, kind, key, value(o), value(n), "%s changed: %s → %s", name,
                           file_path(get_string(o, "path")), file_path(get_string(n, "path")));
        if (same_digest(o, n))
                return 0;
        json_array_foreach(apps, i, a) {
                if (same_path(a, n) && same_digest(a, n))
                        return 0; /* reported as a boot application */
        }
        return add(d, kind, key, value(o), value(n), "%s digest changed: %s", name,
                   file_path(get_string(n, "path")));
}

static int diff_kernel(Diff *d) {
        const json_t *o, *n;
        int r;

        r = diff_component(d, "boot_loader", "boot loader", EVENTLOG_CHANGE_BOOT_LOADER);
        if (r < 0)
                return r;
        r = diff_component(d, "kernel", "kernel", EVENTLOG_CHANGE_KERNEL);
        if (r < 0)
                return r;

        o = get(d->old, "kernel_cmdline");
        n = get(d->new, "kernel_cmdline");
        if (!json_is_string(o))
                o = NULL;
        if (!json_is_string(n))
                n = NULL;
        if (!equal(o, n)) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                if (asprintf(&a, o ? "'%s'" : "(none)", json_string_value(o)) < 0 ||
                    asprintf(&b, n ? "'%s'" : "(none)", json_string_value(n)) < 0)
                        return -ENOMEM;
                r = add(d, EVENTLOG_CHANGE_KERNEL_CMDLINE, "kernel_cmdline", value(o), value(n),
                        "kernel command line changed: %s → %s", a, b);
                if (r < 0)
                        return r;
        }

        /* Each command added or removed, or, when a different GRUB configuration ran (more than a few),
         * how many: a person wants the gist, and "old"/"new" carry the lists. */
        o = get_array(d->old, "grub_commands");
        n = get_array(d->new, "grub_commands");
        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? n : o, *other = pass == 0 ? o : n;
                EventlogChangeKind kind = pass == 0 ? EVENTLOG_CHANGE_GRUB_COMMAND_ADDED
                                                    : EVENTLOG_CHANGE_GRUB_COMMAND_REMOVED;
                _cleanup_(json_decrefp) json_t *list = json_array();
                size_t i;
                json_t *c;

                if (!list)
                        return -ENOMEM;
                json_array_foreach(from, i, c) {
                        if (json_is_string(c) && !(other && array_contains(other, c)) &&
                            json_array_append(list, c) < 0)
                                return -ENOMEM;
                }
                if (json_array_size(list) > GRUB_COMMANDS_LISTED) {
                        r = add(d, kind, "grub_commands", pass == 0 ? NULL : json_incref(list),
                                pass == 0 ? json_incref(list) : NULL, "GRUB commands %s: %zu",
                                pass == 0 ? "added" : "removed", json_array_size(list));
                        if (r < 0)
                                return r;
                        continue;
                }
                json_array_foreach(list, i, c) {
                        r = add(d, kind, "grub_commands", pass == 0 ? NULL : value(c),
                                pass == 0 ? value(c) : NULL, "GRUB command %s: '%s'",
                                pass == 0 ? "added" : "removed", json_string_value(c));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static char *int_list_string(const json_t *a) {
        char *s = NULL;
        size_t i;
        json_t *e;

        if (json_array_size(a) == 0)
                return strdup("none");
        json_array_foreach(a, i, e) {
                char n[32];
                (void) snprintf(n, sizeof n, "%" JSON_INTEGER_FORMAT, json_integer_value(e));
                if (!strextend(&s, i == 0 ? "" : ",", n))
                        return mfree(s);
        }
        return s;
}

static int diff_separators(Diff *d) {
        const json_t *o = get_object(d->old, "separators"), *n = get_object(d->new, "separators");
        int r;

        for (unsigned pcr = 0; pcr < EVENTLOG_PCRS_MAX; pcr++) {
                char key[16], what[16];
                const json_t *a, *b;

                (void) snprintf(key, sizeof key, "%u", pcr);
                (void) snprintf(what, sizeof what, "PCR %u", pcr);
                a = get(o, key);
                b = get(n, key);
                if (!json_is_string(a))
                        a = NULL;
                if (!json_is_string(b))
                        b = NULL;
                if (equal(a, b))
                        continue;
                r = add(d, EVENTLOG_CHANGE_SEPARATOR, what, value(a), value(b), "PCR %u: separator %s → %s",
                        pcr, a ? json_string_value(a) : "missing", b ? json_string_value(b) : "missing");
                if (r < 0)
                        return r;
        }

        o = get_array(d->old, "pcrs_after_separator");
        n = get_array(d->new, "pcrs_after_separator");
        if (o && n && !equal(o, n)) {
                _cleanup_free_ char *a = int_list_string(o), *b = int_list_string(n);
                if (!a || !b)
                        return -ENOMEM;
                r = add(d, EVENTLOG_CHANGE_PCRS_AFTER_SEPARATOR, "pcrs_after_separator", value(o), value(n),
                        "PCRs with events after the separator changed: %s → %s", a, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The event with index in log, or NULL. Events are stored in index order. */
static const EventlogEvent *log_event(const EventLog *log, const json_t *index) {
        json_int_t i;

        if (!log || !json_is_integer(index))
                return NULL;
        i = json_integer_value(index);
        if (i < 0 || (uint64_t) i >= log->n_events)
                return NULL;
        return log->events + i;
}

static const EventlogDigest *event_digest(const EventlogEvent *e, uint16_t alg) {
        for (size_t i = 0; i < e->n_digests && i < EVENTLOG_BANKS_MAX; i++)
                if (e->digests[i].alg == alg)
                        return e->digests + i;
        return NULL;
}

/* Whether two events carry the same measurement: compared in every bank both have (at least one). */
static bool events_same_digest(const EventlogEvent *a, const EventlogEvent *b) {
        bool compared = false;

        for (size_t i = 0; i < a->n_digests && i < EVENTLOG_BANKS_MAX; i++) {
                const EventlogDigest *x = a->digests + i, *y = event_digest(b, x->alg);
                if (!y)
                        continue;
                if (x->size != y->size || memcmp(x->data, y->data, x->size) != 0)
                        return false;
                compared = true;
        }
        return compared;
}

static int diff_firmware_blobs(Diff *d) {
        const json_t *o = get_array(d->old, "firmware_blobs"), *n = get_array(d->new, "firmware_blobs");
        int r;

        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? n : o, *other = pass == 0 ? o : n;
                size_t i;
                json_t *b;

                json_array_foreach(from, i, b) {
                        const json_t *match = NULL;
                        const char *base = get_string(b, "base") ?: "?";
                        json_int_t pcr = json_integer_value(get(b, "pcr"));
                        size_t j;
                        json_t *c;

                        /* The partner: an identical blob if there is one (addresses may repeat), else the
                         * one at the same address. With both logs, their events' digests decide. */
                        json_array_foreach(other, j, c) {
                                if (json_equal(b, c)) {
                                        match = c;
                                        break;
                                }
                        }
                        json_array_foreach(other, j, c) {
                                if (match)
                                        break;
                                if (equal(get(b, "pcr"), get(c, "pcr")) &&
                                    equal(get(b, "base"), get(c, "base")))
                                        match = c;
                        }
                        if (!match)
                                r = add(d,
                                        pass == 0 ? EVENTLOG_CHANGE_FIRMWARE_BLOB_ADDED
                                                  : EVENTLOG_CHANGE_FIRMWARE_BLOB_REMOVED,
                                        base, pass == 0 ? NULL : value(b), pass == 0 ? value(b) : NULL,
                                        "PCR %" JSON_INTEGER_FORMAT ": firmware blob at %s %s", pcr, base,
                                        pass == 0 ? "added" : "removed");
                        else if (pass == 0) {
                                const EventlogEvent *eo = log_event(d->old_log, get(match, "event")),
                                                    *en = log_event(d->new_log, get(b, "event"));

                                if (!equal(get(b, "length"), get(match, "length")) ||
                                    (eo && en && !events_same_digest(eo, en)))
                                        r = add(d, EVENTLOG_CHANGE_FIRMWARE_BLOB_CHANGED, base, value(match),
                                                value(b),
                                                "PCR %" JSON_INTEGER_FORMAT ": firmware blob at %s changed",
                                                pcr, base);
                                else
                                        r = 0;
                        } else
                                r = 0;
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int diff_gpt(Diff *d) {
        const json_t *o = get_object(d->old, "gpt"), *n = get_object(d->new, "gpt");
        const json_t *po, *pn;
        int r;

        if (equal(o, n))
                return 0;
        if (!o || !n)
                return add(d, EVENTLOG_CHANGE_GPT, "gpt", value(o), value(n), "GPT: %s",
                           o ? "no longer measured" : "now measured");
        if (!equal(get(o, "disk_guid"), get(n, "disk_guid"))) {
                r = add(d, EVENTLOG_CHANGE_GPT, "gpt", value(get(o, "disk_guid")),
                        value(get(n, "disk_guid")), "GPT: disk GUID changed: %s → %s",
                        get_string(o, "disk_guid") ?: "?", get_string(n, "disk_guid") ?: "?");
                if (r < 0)
                        return r;
        }
        po = get_array(o, "partitions");
        pn = get_array(n, "partitions");
        for (int pass = 0; pass < 2; pass++) {
                const json_t *from = pass == 0 ? pn : po, *other = pass == 0 ? po : pn;
                size_t i;
                json_t *p;

                json_array_foreach(from, i, p) {
                        if (other && array_contains(other, p))
                                continue;
                        r = add(d, EVENTLOG_CHANGE_GPT, "gpt", pass == 0 ? NULL : value(p),
                                pass == 0 ? value(p) : NULL, "GPT: partition '%s' (%s) %s",
                                get_string(p, "name") ?: "", get_string(p, "guid") ?: "?",
                                pass == 0 ? "added or changed" : "removed or changed");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int diff_digest_mismatches(Diff *d) {
        const json_t *o = get_array(d->old, "digest_mismatches"), *n = get_array(d->new, "digest_mismatches");
        _cleanup_free_ char *a = NULL, *b = NULL;

        if (json_array_size(o) == json_array_size(n) && (json_array_size(n) == 0 || equal(o, n)))
                return 0;
        a = int_list_string(o);
        b = int_list_string(n);
        if (!a || !b)
                return -ENOMEM;
        return add(d, EVENTLOG_CHANGE_DIGEST_MISMATCHES, "digest_mismatches", value(o), value(n),
                   "events whose digest does not match their data: %s → %s", a, b);
}

/* With both logs: every PCR whose extended events differ (by digest, in the banks both logs have), so
 * that a change no fact describes is still named by its PCR and first differing event. */
static int diff_pcr_events(Diff *d) {
        if (!d->old_log || !d->new_log)
                return 0;

        for (uint32_t pcr = 0; pcr < EVENTLOG_PCRS_MAX; pcr++) {
                size_t io = 0, in = 0, no = 0, nn = 0, k = 0;
                const EventlogEvent *first_o = NULL, *first_n = NULL;
                bool differ = false;
                int r;

                for (size_t i = 0; i < d->old_log->n_events; i++)
                        no += d->old_log->events[i].pcr == pcr && d->old_log->events[i].type != EV_NO_ACTION;
                for (size_t i = 0; i < d->new_log->n_events; i++)
                        nn += d->new_log->events[i].pcr == pcr && d->new_log->events[i].type != EV_NO_ACTION;

                for (;;) {
                        const EventlogEvent *a = NULL, *b = NULL;

                        while (io < d->old_log->n_events && !a) {
                                const EventlogEvent *e = d->old_log->events + io++;
                                if (e->pcr == pcr && e->type != EV_NO_ACTION)
                                        a = e;
                        }
                        while (in < d->new_log->n_events && !b) {
                                const EventlogEvent *e = d->new_log->events + in++;
                                if (e->pcr == pcr && e->type != EV_NO_ACTION)
                                        b = e;
                        }
                        if (!a && !b)
                                break;
                        if (!a || !b || a->type != b->type || !events_same_digest(a, b)) {
                                differ = true;
                                first_o = a;
                                first_n = b;
                                break;
                        }
                        k++;
                }
                if (!differ)
                        continue;

                {
                        _cleanup_free_ char *detail = NULL;
                        const EventlogEvent *e = first_n ?: first_o;
                        const char *type = eventlog_event_type_to_string(e->type);
                        char hex[16], what[16];

                        if (!type) {
                                (void) snprintf(hex, sizeof hex, "0x%08x", e->type);
                                type = hex;
                        }
                        if (first_o && first_n)
                                r = asprintf(&detail,
                                             "event %zu of the PCR differs (%s, old event %u, new event %u)",
                                             k, type, first_o->index, first_n->index);
                        else
                                r = asprintf(&detail, "%s event %u (%s)", first_n ? "added" : "removed",
                                             e->index, type);
                        if (r < 0)
                                return -ENOMEM;
                        (void) snprintf(what, sizeof what, "PCR %u", pcr);
                        r = add(d, EVENTLOG_CHANGE_PCR_EVENTS, what, json_integer((json_int_t) no),
                                json_integer((json_int_t) nn), "PCR %u: %zu → %zu events, %s", pcr, no, nn,
                                detail);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int eventlog_diff(const json_t *old_facts, const json_t *new_facts, const EventLog *old_log,
                  const EventLog *new_log, json_t **ret) {
        static int (*const steps[])(Diff * d) = {
                diff_header,      diff_secure_boot,       diff_signature_databases,
                diff_authorities, diff_boot_entries,      diff_boot_applications,
                diff_kernel,      diff_separators,        diff_firmware_blobs,
                diff_gpt,         diff_digest_mismatches, diff_pcr_events,
        };
        _cleanup_(json_decrefp) json_t *changes = json_array();
        Diff d = {
                .old = json_is_object(old_facts) ? old_facts : NULL,
                .new = json_is_object(new_facts) ? new_facts : NULL,
                .old_log = old_log &&new_log ? old_log : NULL,
                .new_log = old_log &&new_log ? new_log : NULL,
        };
        int r;

        if (!changes)
                return -ENOMEM;
        d.changes = changes;
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                r = steps[i](&d);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(changes);
        return 0;
}
