/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "basic/hexdecoct.h"
#include "basic/string-util.h"
#include "eventlog/eventlog-decode.h"
#include "eventlog/eventlog-facts.h"

/* systemd-stub's tag for the kernel command line it measures into PCR 12 (LOAD_OPTIONS_EVENT_TAG_ID). */
#define TAG_LOAD_OPTIONS 0x8F3B22ECU

static const char *bank_name(uint16_t alg) {
        switch (alg) {
        case 0x0004:
                return "sha1";
        case 0x000B:
                return "sha256";
        case 0x000C:
                return "sha384";
        case 0x000D:
                return "sha512";
        case 0x0012:
                return "sm3_256";
        case 0x0027:
                return "sha3_256";
        case 0x0028:
                return "sha3_384";
        case 0x0029:
                return "sha3_512";
        }
        return NULL;
}

static int jset(json_t *o, const char *key, json_t *v) {
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int jappend(json_t *a, json_t *v) {
        if (!v || json_array_append_new(a, v) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *jhex(const void *p, size_t n) {
        _cleanup_free_ char *h = NULL;

        if (hexmem(p, n, &h) < 0)
                return NULL;
        return json_string(h);
}

/* The event's digests by bank name, and "sha256" beside them for the common case. */
static int add_digests(json_t *o, const EventlogEvent *e) {
        json_t *digests = json_object();

        if (jset(o, "digests", digests) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_digests; i++) {
                const char *name = bank_name(e->digests[i].alg);
                char buf[16];

                if (!name) {
                        (void) snprintf(buf, sizeof(buf), "0x%04x", e->digests[i].alg);
                        name = buf;
                }
                if (jset(digests, name, jhex(e->digests[i].data, e->digests[i].size)) < 0)
                        return -ENOMEM;
                if (e->digests[i].alg == 0x000B && jset(o, "sha256", jhex(e->digests[i].data, 32)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* {"event": n, "pcr": n, "path": ..., "digests": ...} for an event whose digest is the fact. */
static int measured_object(const EventlogEvent *e, const char *path, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = json_object();

        if (!o || jset(o, "event", json_integer(e->index)) < 0 || jset(o, "pcr", json_integer(e->pcr)) < 0 ||
            jset(o, "path", !isempty(path) ? json_string(path) : json_null()) < 0 || add_digests(o, e) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static bool var_is(json_t *d, const char *name, const char *vendor) {
        return streq_ptr(json_string_value(json_object_get(d, "variable")), name) &&
                streq_ptr(json_string_value(json_object_get(d, "vendor")), vendor);
}

/* Sets key of facts to a copy of the value of d, once: the first measurement is the one that counted. */
static int set_once(json_t *facts, const char *key, json_t *d) {
        json_t *v = json_object_get(d, "value");

        if (!v || !json_is_null(json_object_get(facts, key)))
                return 0;
        return jset(facts, key, json_deep_copy(v));
}

typedef struct Facts {
        json_t *o;
        json_t *boot_entries, *boot_applications, *authorities, *grub_commands, *separators, *after, *blobs,
                *mismatches;
        const EventlogEvent *kernel_ipl;
        json_t *kernel_cmdline;
        bool kernel_cmdline_grub; /* from GRUB: its first word is the kernel's path */
        const char *separator[32];
} Facts;

static int variable_fact(Facts *f, const EventlogEvent *e, json_t *d) {
        static const struct {
                const char *name, *vendor, *key;
        } vars[] = {
                { "SecureBoot", "EFI_GLOBAL_VARIABLE", "secure_boot" },
                { "SetupMode", "EFI_GLOBAL_VARIABLE", "setup_mode" },
                { "AuditMode", "EFI_GLOBAL_VARIABLE", "audit_mode" },
                { "DeployedMode", "EFI_GLOBAL_VARIABLE", "deployed_mode" },
                { "PK", "EFI_GLOBAL_VARIABLE", "pk" },
                { "KEK", "EFI_GLOBAL_VARIABLE", "kek" },
                { "db", "EFI_IMAGE_SECURITY_DATABASE_GUID", "db" },
                { "dbx", "EFI_IMAGE_SECURITY_DATABASE_GUID", "dbx" },
        };

        if (json_object_get(d, "error"))
                return 0;

        if (e->type == EV_EFI_VARIABLE_DRIVER_CONFIG && e->pcr == 7) {
                for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                        if (var_is(d, vars[i].name, vars[i].vendor)) {
                                /* A SecureBoot variable that does not exist was measured empty: off. */
                                if (streq(vars[i].key, "secure_boot") &&
                                    json_is_null(json_object_get(d, "value")) &&
                                    json_is_null(json_object_get(f->o, "secure_boot")))
                                        return jset(f->o, "secure_boot", json_false());
                                return set_once(f->o, vars[i].key, d);
                        }
                return 0;
        }

        if (e->type == EV_EFI_VARIABLE_AUTHORITY && e->pcr == 7) {
                json_t *v = json_object_get(d, "value");
                _cleanup_(json_decrefp) json_t *a = json_deep_copy(v);
                if (!json_is_object(v))
                        return 0;
                if (!a || jset(a, "variable", json_deep_copy(json_object_get(d, "variable"))) < 0 ||
                    jset(a, "event", json_integer(e->index)) < 0)
                        return -ENOMEM;
                return jappend(f->authorities, TAKE_PTR(a));
        }

        if (IN_SET(e->type, EV_EFI_VARIABLE_BOOT, EV_EFI_VARIABLE_BOOT2) && e->pcr == 1) {
                const char *name = json_string_value(json_object_get(d, "variable"));
                json_t *v = json_object_get(d, "value");
                const char *num;
                unsigned long n;

                if (var_is(d, "BootOrder", "EFI_GLOBAL_VARIABLE"))
                        return set_once(f->o, "boot_order", d);
                if (!name ||
                    !streq_ptr(json_string_value(json_object_get(d, "vendor")), "EFI_GLOBAL_VARIABLE") ||
                    !(num = startswith(name, "Boot")) || strlen(num) != 4 || !json_is_object(v))
                        return 0;
                n = strtoul(num, NULL, 16);
                json_t *b = json_object();
                if (jappend(f->boot_entries, b) < 0 || jset(b, "number", json_integer((json_int_t) n)) < 0 ||
                    jset(b, "description", json_deep_copy(json_object_get(v, "description"))) < 0 ||
                    jset(b, "path", json_deep_copy(json_object_get(v, "path"))) < 0 ||
                    jset(b, "active", json_deep_copy(json_object_get(v, "active"))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int text_fact(Facts *f, const EventlogEvent *e, json_t *d) {
        const char *s;

        if (json_object_get(d, "error"))
                return 0;
        if (e->type == EV_IPL && e->pcr == 8) {
                if ((s = json_string_value(json_object_get(d, "grub_cmd"))))
                        return jappend(f->grub_commands, json_string(s));
                /* GRUB's prefix, or systemd-boot's command line as UTF-16 text. */
                if ((s = json_string_value(json_object_get(d, "kernel_cmdline"))) ||
                    (streq_ptr(json_string_value(json_object_get(d, "encoding")), "utf-16") &&
                     (s = json_string_value(json_object_get(d, "text"))))) {
                        f->kernel_cmdline_grub = json_object_get(d, "kernel_cmdline");
                        json_decref(f->kernel_cmdline);
                        f->kernel_cmdline = json_string(s);
                        return f->kernel_cmdline ? 0 : -ENOMEM;
                }
        }
        /* systemd-stub: the command line as text (EV_IPL) or as a tagged event. */
        if (e->pcr == 12 &&
            (e->type == EV_IPL ||
             (e->type == EV_EVENT_TAG && json_integer_value(json_object_get(d, "tag")) == TAG_LOAD_OPTIONS)) &&
            (s = json_string_value(json_object_get(d, "text")))) {
                f->kernel_cmdline_grub = false;
                json_decref(f->kernel_cmdline);
                f->kernel_cmdline = json_string(s);
                return f->kernel_cmdline ? 0 : -ENOMEM;
        }
        return 0;
}

/* The path GRUB measured a file under in PCR 9, without its device: "(hd0,gpt1)/boot/x" -> "/boot/x". */
static const char *grub_path(const char *text) {
        const char *p;

        if (text && text[0] == '(' && (p = strchr(text, ')')))
                return p + 1;
        return text;
}

/* GRUB measures the files it reads into PCR 9 (EV_IPL, the digest is the file's). The kernel is the one
 * its measured command line starts with, else one named like a kernel. */
static const EventlogEvent *grub_kernel(const EventLog *log, const Facts *f) {
        _cleanup_free_ char *first = NULL;
        const EventlogEvent *by_cmdline = NULL, *by_name = NULL;

        if (f->kernel_cmdline_grub) {
                const char *c = json_string_value(f->kernel_cmdline);
                first = strndup(c, strcspn(c, " "));
                if (!first)
                        return NULL;
        }
        for (size_t i = 0; i < log->n_events; i++) {
                const EventlogEvent *e = log->events + i;
                _cleanup_(json_decrefp) json_t *d = NULL;
                const char *path;

                if (e->type != EV_IPL || e->pcr != 9 || eventlog_event_decode(e, &d, NULL) < 0)
                        continue;
                path = grub_path(json_string_value(json_object_get(d, "text")));
                if (!path)
                        continue;
                if (first && streq(path, first))
                        by_cmdline = e;
                if (strstr(path, "vmlinuz") || strstr(path, "bzImage"))
                        by_name = e;
        }
        return by_cmdline ?: by_name;
}

int eventlog_facts(const EventLog *log, const EventlogDigestStatus *statuses, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        json_t *banks, *gpt = NULL;
        uint32_t separated = 0, after = 0;
        Facts f = { .o = o };
        int r;

        assert(log);
        assert(statuses || log->n_events == 0);

        if (!o)
                return -ENOMEM;
        if (jset(o, "format",
                 json_string(log->format == EVENTLOG_FORMAT_LEGACY ? "legacy" : "crypto-agile")) < 0)
                return -ENOMEM;
        banks = json_array();
        if (jset(o, "banks", banks) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < log->n_banks; i++) {
                const char *name = bank_name(log->banks[i].alg);
                char buf[16];
                if (!name) {
                        (void) snprintf(buf, sizeof(buf), "0x%04x", log->banks[i].alg);
                        name = buf;
                }
                if (jappend(banks, json_string(name)) < 0)
                        return -ENOMEM;
        }

        /* Every key exists from the start, null or empty until an event gives it a value. */
        static const char *const nullable[] = {
                "secure_boot", "setup_mode", "audit_mode", "deployed_mode", "pk",
                "kek",         "db",         "dbx",        "boot_order",
        };
        for (size_t i = 0; i < ELEMENTSOF(nullable); i++)
                if (jset(o, nullable[i], json_null()) < 0)
                        return -ENOMEM;
        if (jset(o, "authorities", f.authorities = json_array()) < 0 ||
            jset(o, "boot_entries", f.boot_entries = json_array()) < 0 ||
            jset(o, "boot_applications", f.boot_applications = json_array()) < 0 ||
            jset(o, "grub_commands", f.grub_commands = json_array()) < 0 ||
            jset(o, "separators", f.separators = json_object()) < 0 ||
            jset(o, "firmware_blobs", f.blobs = json_array()) < 0 ||
            jset(o, "digest_mismatches", f.mismatches = json_array()) < 0)
                return -ENOMEM;

        for (size_t i = 0; i < log->n_events; i++) {
                const EventlogEvent *e = log->events + i;
                _cleanup_(json_decrefp) json_t *d = NULL;

                if (e->type != EV_NO_ACTION && e->pcr < 32) {
                        if (separated & (UINT32_C(1) << e->pcr))
                                after |= UINT32_C(1) << e->pcr;
                        if (e->type == EV_SEPARATOR)
                                separated |= UINT32_C(1) << e->pcr;
                }

                if (statuses[i] == EVENTLOG_DIGEST_MISMATCH) {
                        if (jappend(f.mismatches, json_integer(e->index)) < 0)
                                goto oom;
                        continue;
                }

                /* Events whose digest is the hash of something else (a PE image, a firmware volume): the
                 * digest is the fact, the decoded data (path, address) only says which. */
                /* What else was extended into PCR 4 without a digest over its data may be a boot
                 * application whose type was changed (the type is not measured): it is listed as one,
                 * with its type, so that relabelling cannot hide a loaded image. */
                if (e->pcr == 4 && e->type != EV_EFI_BOOT_SERVICES_APPLICATION && e->type != EV_NO_ACTION &&
                    statuses[i] == EVENTLOG_DIGEST_NOT_CHECKED) {
                        const char *name = eventlog_event_type_to_string(e->type);
                        char buf[16];
                        json_t *m = NULL;

                        if (!name) {
                                (void) snprintf(buf, sizeof(buf), "0x%08" PRIx32, e->type);
                                name = buf;
                        }
                        if (measured_object(e, NULL, &m) < 0 || jappend(f.boot_applications, m) < 0 ||
                            jset(m, "type", json_string(name)) < 0)
                                goto oom;
                        continue;
                }

                if (IN_SET(e->type, EV_EFI_BOOT_SERVICES_APPLICATION, EV_EFI_PLATFORM_FIRMWARE_BLOB,
                           EV_EFI_PLATFORM_FIRMWARE_BLOB2) ||
                    (e->type == EV_IPL && e->pcr == 9)) {
                        json_t *m = NULL;
                        const char *path;

                        r = eventlog_event_decode(e, &d, NULL);
                        if (r < 0)
                                goto fail;
                        if (e->type == EV_IPL)
                                continue; /* grub_kernel() below */
                        if (e->type == EV_EFI_BOOT_SERVICES_APPLICATION) {
                                if (e->pcr != 4)
                                        continue;
                                path = json_string_value(json_object_get(d, "path"));
                                if (measured_object(e, path, &m) < 0 || jappend(f.boot_applications, m) < 0)
                                        goto oom;
                                continue;
                        }
                        if (measured_object(e, NULL, &m) < 0)
                                goto oom;
                        json_object_del(m, "path");
                        if (jappend(f.blobs, m) < 0)
                                goto oom;
                        if (!json_object_get(d, "error") &&
                            (jset(m, "base", json_deep_copy(json_object_get(d, "base"))) < 0 ||
                             jset(m, "length", json_deep_copy(json_object_get(d, "length"))) < 0 ||
                             (json_object_get(d, "description") &&
                              jset(m, "description", json_deep_copy(json_object_get(d, "description"))) < 0)))
                                goto oom;
                        continue;
                }

                if (statuses[i] != EVENTLOG_DIGEST_VERIFIED)
                        continue;

                r = eventlog_event_decode(e, &d, NULL);
                if (r < 0)
                        goto fail;
                switch (e->type) {
                case EV_EFI_VARIABLE_DRIVER_CONFIG:
                case EV_EFI_VARIABLE_BOOT:
                case EV_EFI_VARIABLE_BOOT2:
                case EV_EFI_VARIABLE_AUTHORITY:
                        r = variable_fact(&f, e, d);
                        break;
                case EV_IPL:
                case EV_EVENT_TAG:
                        r = text_fact(&f, e, d);
                        break;
                case EV_SEPARATOR: {
                        const char *v = json_string_value(json_object_get(d, "separator"));
                        /* the decoder's strings are static-lifetime literals ("ok", "error") */
                        if (v && e->pcr < 32 && !f.separator[e->pcr])
                                f.separator[e->pcr] = streq(v, "ok") ? "ok" : "error";
                        r = 0;
                        break;
                }
                case EV_EFI_GPT_EVENT:
                case EV_EFI_GPT_EVENT2:
                        if (!gpt && e->pcr == 5 && !json_object_get(d, "error"))
                                gpt = json_incref(d);
                        r = 0;
                        break;
                default:
                        r = 0;
                }
                if (r < 0)
                        goto fail;
        }

        for (uint32_t p = 0; p < 32; p++) {
                char key[12];
                (void) snprintf(key, sizeof(key), "%" PRIu32, p);
                if (f.separator[p] && jset(f.separators, key, json_string(f.separator[p])) < 0)
                        goto oom;
        }
        {
                json_t *a = json_array();
                if (jset(o, "pcrs_after_separator", a) < 0)
                        goto oom;
                for (uint32_t p = 0; p < 32; p++)
                        if ((after & (UINT32_C(1) << p)) && jappend(a, json_integer(p)) < 0)
                                goto oom;
        }

        size_t n_apps = json_array_size(f.boot_applications);
        if (jset(o, "boot_loader",
                 n_apps > 0 ? json_deep_copy(json_array_get(f.boot_applications, 0)) : json_null()) < 0)
                goto oom;
        f.kernel_ipl = grub_kernel(log, &f);
        if (f.kernel_ipl) {
                _cleanup_(json_decrefp) json_t *d = NULL;
                json_t *m = NULL;
                if (eventlog_event_decode(f.kernel_ipl, &d, NULL) < 0 ||
                    measured_object(f.kernel_ipl, grub_path(json_string_value(json_object_get(d, "text"))),
                                    &m) < 0 ||
                    jset(o, "kernel", m) < 0)
                        goto oom;
        } else if (jset(o, "kernel",
                        n_apps > 1 ? json_deep_copy(json_array_get(f.boot_applications, n_apps - 1))
                                   : json_null()) < 0)
                goto oom;
        if (jset(o, "kernel_cmdline", f.kernel_cmdline ? TAKE_PTR(f.kernel_cmdline) : json_null()) < 0 ||
            jset(o, "gpt", gpt ? TAKE_PTR(gpt) : json_null()) < 0 ||
            jset(o, "startup_locality",
                 log->has_startup_locality ? json_integer(log->startup_locality) : json_null()) < 0)
                goto oom;

        *ret = TAKE_PTR(o);
        return 0;
oom:
        r = -ENOMEM;
fail:
        json_decref(f.kernel_cmdline);
        json_decref(gpt);
        return r;
}
