/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl ima show / replay: the IMA runtime measurement log, parsed and replayed locally (no daemon, no
 * TPM). */

#include <inttypes.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"
#include "eventlog/ima-replay.h"
#include "tpm2/tpm2-pcr.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

/* JSON strings must be UTF-8, file names need not be: a name that is not valid UTF-8 is shown with its
 * bytes >= 0x80 and backslashes as \xNN, so that it reads back unambiguously. Control characters need
 * nothing here: jansson escapes them in JSON, and libsmartcols in tables. */
static int json_set_text(json_t *o, const char *key, const void *p, size_t n) {
        const uint8_t *b = p;
        _cleanup_free_ char *s = NULL;
        json_t *v;
        char *t;

        v = json_stringn((const char *) p, n); /* NULL when not valid UTF-8 (or on OOM) */
        if (!v) {
                if (n > (SIZE_MAX - 1) / 4)
                        return -ENOMEM;
                s = t = malloc(n * 4 + 1);
                if (!s)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (b[i] >= 0x80 || b[i] == '\\')
                                t += sprintf(t, "\\x%02x", b[i]);
                        else
                                *t++ = (char) b[i];
                *t = 0;
                v = json_string(s);
        }
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int json_set_hex(json_t *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = NULL;

        if (hexmem(p, n, &h) < 0 || json_object_set_new(o, key, json_string(h)) < 0)
                return -ENOMEM;
        return 0;
}

/* One entry as JSON (documented in tpctl(1)). */
static int entry_to_json(const ImaLog *log, const ImaEntry *e, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        if (json_object_set_new(o, "Index", json_integer((json_int_t) e->index)) < 0 ||
            json_object_set_new(o, "PCR", json_integer(e->pcr)) < 0 ||
            json_object_set_new(o, "Template", json_string(e->template_name)) < 0 ||
            json_object_set_new(o, "Violation", json_boolean(e->violation)) < 0)
                return -ENOMEM;
        if (e->line > 0 ? json_object_set_new(o, "Line", json_integer((json_int_t) e->line)) < 0
                        : json_object_set_new(o, "Offset", json_integer((json_int_t) e->offset)) < 0)
                return -ENOMEM;
        r = json_set_hex(o, "TemplateHash", e->template_hash, log->template_hash_size);
        if (r >= 0 && e->digest_type && json_object_set_new(o, "DigestType", json_string(e->digest_type)) < 0)
                r = -ENOMEM;
        if (r >= 0 && e->digest) {
                r = json_set_text(o, "DigestAlgorithm", e->digest_algo, strlen(e->digest_algo));
                if (r >= 0)
                        r = json_set_hex(o, "Digest", e->digest, e->digest_size);
        }
        if (r >= 0 && e->name)
                r = json_set_text(o, "Name", e->name, strlen(e->name));
        for (size_t i = 0; r >= 0 && i < e->template.n_fields; i++) {
                const ImaFieldData *f = e->fields + i;
                switch (f->id) {
                case IMA_FIELD_SIG:
                        r = json_set_hex(o, "Signature", f->data, f->size);
                        break;
                case IMA_FIELD_MODSIG:
                        r = json_set_hex(o, "AppendedSignature", f->data, f->size);
                        break;
                case IMA_FIELD_BUF:
                        r = json_set_hex(o, "Buffer", f->data, f->size);
                        break;
                case IMA_FIELD_D_MODSIG:
                        if (f->size > 0) {
                                /* "algo:\0digest", checked by the parser */
                                size_t l = strlen((const char *) f->data);
                                r = json_set_text(o, "AppendedSignatureDigestAlgorithm", f->data, l - 1);
                                if (r >= 0)
                                        r = json_set_hex(o, "AppendedSignatureDigest", f->data + l + 1,
                                                         f->size - l - 1);
                        }
                        break;
                default:
                        break;
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int load(const char *path, ImaLog **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        ImaError err = {};
        int r;

        path = path ?: ima_log_default_path();
        r = ima_log_read_file(path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the IMA log '%s': %m", path);
        r = ima_log_parse(data, size, NULL, ret, &err);
        if (r < 0) {
                if (r == -ENOMEM)
                        return log_oom();
                return log_error_errno(r, "Invalid IMA log '%s': %s", path, err.message);
        }
        return 0;
}

static int verify(const char *path, const ImaLog *log) {
        ImaError err = {};
        int r;

        r = ima_log_verify(log, &err);
        if (r == -EILSEQ)
                return log_error_errno(r, "IMA log '%s' does not verify: %s", path ?: ima_log_default_path(),
                                       err.message);
        if (r < 0)
                return log_error_errno(r, "Failed to verify the IMA log: %m");
        return 0;
}

static int print_rows(json_t *rows, const char *const *keys, const char *const *headers, size_t n) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        int r;

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, rows, arg_json);
        else {
                r = json_table_new(rows, keys, headers, n, arg_legend, &t);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the table: %m");
                r = table_print(t, stdout);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m");
        return 0;
}

int verb_ima_show(int argc, char *argv[]) {
        static const char *const keys[] = { "Index", "PCR", "Template", "DigestColumn", "Name" };
        static const char *const headers[] = { "INDEX", "PCR", "TEMPLATE", "DIGEST", "NAME" };
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        _cleanup_(json_decrefp) json_t *rows = json_array();
        const char *path = argc > 0 ? argv[0] : NULL;
        int r;

        if (!rows)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (load(path, &log) < 0)
                return TPCTL_EXIT_FAILURE;

        for (size_t i = 0; i < log->n_entries; i++) {
                const ImaEntry *e = log->entries + i;
                json_t *o = NULL;

                r = entry_to_json(log, e, &o);
                if (r >= 0 && arg_json == JSON_MODE_OFF) {
                        /* The table shows "algo:hex" in one column; JSON keeps them apart. */
                        _cleanup_free_ char *cell = NULL, *h = NULL;
                        if (e->violation)
                                cell = strdup("(violation)");
                        else if (e->digest && hexmem(e->digest, e->digest_size, &h) >= 0)
                                (void) asprintf(&cell, "%s:%s",
                                                json_string_value(json_object_get(o, "DigestAlgorithm")), h);
                        if (!cell || json_object_set_new(o, "DigestColumn", json_string(cell)) < 0)
                                r = -ENOMEM;
                }
                if (r < 0 || json_array_append_new(rows, o) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }

        if (arg_pager)
                (void) pager_open();
        if (print_rows(rows, keys, headers, ELEMENTSOF(keys)) < 0)
                return TPCTL_EXIT_FAILURE;
        /* After the listing, so that what is shown can be compared with what failed. */
        if (verify(path, log) < 0)
                return TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

/* The banks boot_aggregate may use: sha1 (the "ima" template, old kernels) and sha256. */
static const uint16_t aggregate_banks[] = { 0x0004, 0x000B };

/* PCRs 0-9 of the aggregate banks, replayed from the firmware event log at path. Logs failures. */
static int firmware_pcrs_from_log(const char *path, ImaBankPcrs *banks, size_t *ret_n) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *rp = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        EventlogError err = {};
        size_t size, n = 0;
        int r;

        r = eventlog_read_file(path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the event log '%s': %m", path);
        r = eventlog_parse(data, size, &log, &err);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid event log '%s': %s", path, err.message);
        r = eventlog_replay(log, &rp, &err);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Cannot replay the event log '%s': %s", path, err.message);

        for (size_t b = 0; b < ELEMENTSOF(aggregate_banks); b++) {
                ImaBankPcrs *bank = banks + n;

                *bank = (ImaBankPcrs){ .alg = aggregate_banks[b] };
                for (uint32_t pcr = 0; pcr < IMA_BOOT_AGGREGATE_PCRS; pcr++) {
                        const uint8_t *v;
                        size_t vs;

                        r = eventlog_replay_pcr(rp, aggregate_banks[b], pcr, &v, &vs);
                        if (r < 0 || vs > IMA_DIGEST_MAX)
                                break;
                        memcpy(bank->pcrs[pcr], v, vs);
                }
                if (r >= 0)
                        n++;
        }
        *ret_n = n;
        return 0;
}

/* PCRs 0-9 of the aggregate banks the TPM has, read through trusted-platformd. Logs failures. */
static int firmware_pcrs_from_tpm(ImaBankPcrs *banks, size_t *ret_n) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        size_t n = 0;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return -EIO;
        for (size_t b = 0; b < ELEMENTSOF(aggregate_banks); b++) {
                EventlogPcrValue values[IMA_BOOT_AGGREGATE_PCRS];
                size_t k = 0;

                r = tpctl_read_tpm_pcrs(bus, aggregate_banks[b], (1U << IMA_BOOT_AGGREGATE_PCRS) - 1, values,
                                        ELEMENTSOF(values), &k);
                if (r == -EOPNOTSUPP)
                        continue;
                if (r < 0)
                        return r;
                banks[n] = (ImaBankPcrs){ .alg = aggregate_banks[b] };
                for (size_t i = 0; i < k; i++)
                        if (values[i].index < IMA_BOOT_AGGREGATE_PCRS && values[i].size <= IMA_DIGEST_MAX)
                                memcpy(banks[n].pcrs[values[i].index], values[i].digest, values[i].size);
                n++;
        }
        *ret_n = n;
        return 0;
}

/* Checks the log's boot_aggregate against the firmware PCRs, when a source for them was given
 * (--eventlog=, $TRUSTED_PLATFORM_EVENTLOG, --compare-tpm): 1 checked and matching (*ret_result filled),
 * 0 not asked for, negative (logged) when it does not match or cannot be checked. */
static int check_boot_aggregate(const ImaLog *log, json_t **ret_result) {
        ImaBankPcrs banks[ELEMENTSOF(aggregate_banks)];
        ImaBootAggregateVariant variant;
        const char *source, *env = secure_getenv("TRUSTED_PLATFORM_EVENTLOG");
        ImaError err = {};
        size_t n = 0;
        int r;

        if (arg_compare_tpm) {
                source = "tpm";
                r = firmware_pcrs_from_tpm(banks, &n);
        } else if (arg_eventlog || !isempty(env)) {
                source = arg_eventlog ?: env;
                r = firmware_pcrs_from_log(source, banks, &n);
        } else
                return 0;
        if (r < 0)
                return r;
        if (log->n_entries == 0) {
                log_error("The IMA log has no entries: no boot_aggregate to check.");
                return -ENOENT;
        }

        r = ima_boot_aggregate_check(log->entries, banks, n, &variant, &err);
        if (r == -EILSEQ)
                return log_error_errno(r, "boot_aggregate does NOT match the firmware PCRs of %s%s%s: %s",
                                       streq(source, "tpm") ? "the TPM" : "'",
                                       streq(source, "tpm") ? "" : source, streq(source, "tpm") ? "" : "'",
                                       err.message);
        if (r < 0)
                return log_error_errno(r, "Cannot check boot_aggregate: %s", err.message);

        *ret_result = json_pack("{s:s,s:s,s:s}", "Result", "match", "Variant",
                                ima_boot_aggregate_variant_to_string(variant), "Source", source);
        if (!*ret_result)
                return log_oom();
        return 1;
}

int verb_ima_replay(int argc, char *argv[]) {
        static const uint16_t banks[] = { 0x0004 /* sha1 */, 0x000B /* sha256 */ };
        static const char *const keys[] = { "PCR", "Bank", "Rule", "Digest" };
        static const char *const headers[] = { "PCR", "BANK", "RULE", "DIGEST" };
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        _cleanup_(json_decrefp) json_t *rows = json_array(), *out = NULL, *aggregate = NULL;
        const char *path = argc > 0 ? argv[0] : NULL;
        size_t violations = 0;
        int r, aggregate_checked;

        if (arg_eventlog && arg_compare_tpm) {
                log_error("Options --eventlog= and --compare-tpm exclude each other.");
                return TPCTL_EXIT_USAGE;
        }
        if (!rows)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (load(path, &log) < 0)
                return TPCTL_EXIT_FAILURE;

        for (ImaExtendRule rule = 0; rule < _IMA_EXTEND_RULE_MAX; rule++) {
                ImaReplay rp;
                ImaError err = {};

                r = ima_replay_init(&rp, banks, ELEMENTSOF(banks), rule);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the replay: %m"), TPCTL_EXIT_FAILURE;
                r = ima_replay_log(&rp, log, &err);
                if (r == -EILSEQ)
                        return log_error_errno(r, "IMA log '%s' does not verify: %s",
                                               path ?: ima_log_default_path(), err.message),
                               TPCTL_EXIT_FAILURE;
                if (r < 0)
                        return log_error_errno(r, "Failed to replay the IMA log: %m"), TPCTL_EXIT_FAILURE;

                for (uint32_t pcr = 0; pcr < IMA_PCR_MAX; pcr++) {
                        if (!(rp.pcr_mask & (1U << pcr)))
                                continue;
                        for (size_t b = 0; b < ELEMENTSOF(banks); b++) {
                                _cleanup_(json_decrefp) json_t *o = json_object();
                                const uint8_t *v;
                                size_t n;

                                /* Both rules extend the sha1 bank alike: one row for it. */
                                if (banks[b] == 0x0004 && rule != IMA_EXTEND_TEMPLATE_HASH)
                                        continue;
                                if (!o || ima_replay_pcr(&rp, banks[b], pcr, &v, &n) < 0 ||
                                    json_object_set_new(o, "PCR", json_integer(pcr)) < 0 ||
                                    json_object_set_new(o, "Bank",
                                                        json_string(ima_hash_algo_from_tpm(banks[b])->name)) <
                                            0 ||
                                    json_object_set_new(o, "Rule",
                                                        json_string(ima_extend_rule_to_string(rule))) < 0 ||
                                    json_set_hex(o, "Digest", v, n) < 0 || json_array_append(rows, o) < 0)
                                        return log_oom(), TPCTL_EXIT_FAILURE;
                        }
                }
        }
        for (size_t i = 0; i < log->n_entries; i++)
                violations += log->entries[i].violation;

        aggregate_checked = check_boot_aggregate(log, &aggregate);
        if (aggregate_checked < 0)
                return TPCTL_EXIT_FAILURE;

        if (arg_json != JSON_MODE_OFF) {
                out = json_pack("{s:I,s:I,s:O}", "Entries", (json_int_t) log->n_entries, "Violations",
                                (json_int_t) violations, "PCRs", rows);
                if (!out || (aggregate && json_object_set(out, "BootAggregate", aggregate) < 0))
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (json_print(stdout, out, arg_json) < 0)
                        return log_error_errno(errno, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
                return TPCTL_EXIT_SUCCESS;
        }
        if (print_rows(rows, keys, headers, ELEMENTSOF(keys)) < 0)
                return TPCTL_EXIT_FAILURE;
        if (arg_legend)
                printf("\n%zu entries, %zu violations, all template hashes verified. Rule template-hash: "
                       "Linux >= 5.10; padded-sha1: older kernels.\n",
                       log->n_entries, violations);
        if (aggregate && arg_legend)
                printf("boot_aggregate matches the firmware PCRs of %s (%s).\n",
                       streq(json_string_value(json_object_get(aggregate, "Source")), "tpm")
                               ? "the TPM"
                               : json_string_value(json_object_get(aggregate, "Source")),
                       json_string_value(json_object_get(aggregate, "Variant")));
        return TPCTL_EXIT_SUCCESS;
}
