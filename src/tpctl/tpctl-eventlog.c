/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl eventlog show / replay / facts / diff: the firmware event log (binary_bios_measurements), parsed,
 * decoded, replayed and compared locally. Only "replay --compare-tpm" asks trusted-platformd, for the
 * TPM's PCR values. The JSON shapes are documented in tpctl(1) and docs/eventlog.md. */

#include <inttypes.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "eventlog/eventlog-decode.h"
#include "eventlog/eventlog-diff.h"
#include "eventlog/eventlog-facts.h"
#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"
#include "tpm2/tpm2-pcr.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

/* A facts file given to "diff" is at most this big (real facts are a few KB to a few hundred KB). */
#define FACTS_FILE_MAX (16U * 1024U * 1024U)

/* A log, its digest checks and what went wrong first. */
typedef struct LoadedLog {
        const char *path;
        EventLog *log;
        EventlogDigestStatus *statuses;
        int n_mismatches;
        uint32_t first_mismatch;
        EventlogError mismatch_error;
} LoadedLog;

static void loaded_log_done(LoadedLog *l) {
        l->log = eventlog_free(l->log);
        l->statuses = mfree(l->statuses);
}

static const char *bank_name(uint16_t alg, char buf[static 8]) {
        const char *n = tpm2_hash_alg_to_string(alg);

        if (n)
                return n;
        (void) snprintf(buf, 8, "0x%04x", alg);
        return buf;
}

static const char *type_name(uint32_t type, char buf[static 12]) {
        const char *n = eventlog_event_type_to_string(type);

        if (n)
                return n;
        (void) snprintf(buf, 12, "0x%08x", type);
        return buf;
}

/* Reads, parses and checks the digests of the log at path (NULL: the default). Logs its failures. */
static int load_log(const char *path, LoadedLog *ret) {
        _cleanup_free_ uint8_t *data = NULL;
        EventlogError err = {};
        LoadedLog l = { .path = path ?: eventlog_default_path() };
        size_t size;
        int r;

        r = eventlog_read_file(l.path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the event log '%s': %m", l.path);
        r = eventlog_parse(data, size, &l.log, &err);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid event log '%s': %s", l.path, err.message);
        r = eventlog_check_digests(l.log, &l.statuses, &l.first_mismatch, &l.mismatch_error);
        if (r < 0) {
                loaded_log_done(&l);
                return log_error_errno(r, "Failed to check the event digests of '%s': %m", l.path);
        }
        l.n_mismatches = r;
        *ret = l;
        return 0;
}

/* "event 24 (EV_EFI_ACTION, PCR 5): digest does not match the event data": the parser's sentence for the
 * first, ours for the others (it names one). */
static int mismatch_message(const LoadedLog *l, size_t i, char **ret) {
        const EventlogEvent *e = l->log->events + i;
        char t[12];

        if (i == l->first_mismatch && !isempty(l->mismatch_error.message))
                return (*ret = strdup(l->mismatch_error.message)) ? 0 : -ENOMEM;
        return asprintf(ret, "event %" PRIu32 " (%s, PCR %" PRIu32 "): digest does not match the event data",
                        e->index, type_name(e->type, t), e->pcr) < 0
                ? -ENOMEM
                : 0;
}

/* [{"event": 24, "pcr": 5, "type": "EV_EFI_ACTION", "message": "..."}] */
static int mismatches_json(const LoadedLog *l, json_t **ret) {
        _cleanup_(json_decrefp) json_t *a = json_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < l->log->n_events; i++) {
                _cleanup_free_ char *m = NULL;
                const EventlogEvent *e = l->log->events + i;
                char t[12];

                if (l->statuses[i] != EVENTLOG_DIGEST_MISMATCH)
                        continue;
                if (mismatch_message(l, i, &m) < 0 ||
                    json_array_append_new(a,
                                          json_pack("{s:I,s:I,s:s,s:s}", "event", (json_int_t) e->index,
                                                    "pcr", (json_int_t) e->pcr, "type",
                                                    type_name(e->type, t), "message", m)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* Warns about every event whose data does not match its digest: the facts skip them. */
static void log_mismatches(const LoadedLog *l) {
        for (size_t i = 0; i < l->log->n_events; i++) {
                _cleanup_free_ char *m = NULL;

                if (l->statuses[i] != EVENTLOG_DIGEST_MISMATCH)
                        continue;
                if (mismatch_message(l, i, &m) < 0) {
                        log_oom();
                        return;
                }
                log_warning("%s", m);
        }
}

static int set_hex(json_t *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = NULL;

        if (hexmem(p, n, &h) < 0 || json_object_set_new(o, key, json_string(h)) < 0)
                return -ENOMEM;
        return 0;
}

static int print_json(const json_t *v) {
        if (json_print(stdout, v, arg_json) < 0)
                return log_error_errno(errno, "Failed to write the output: %m");
        return 0;
}

static int print_rows(json_t *rows, const char *const *keys, const char *const *headers, size_t n) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        int r;

        r = json_table_new(rows, keys, headers, n, arg_legend, &t);
        if (r < 0)
                return log_error_errno(r, "Failed to build the table: %m");
        r = table_print(t, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m");
        return 0;
}

/* One event as JSON (tpctl(1)): index, offset, pcr, type, type_name, digests, decoded, summary,
 * digest_status. */
static int event_to_json(const LoadedLog *l, size_t i, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = json_object(), *digests = json_object(), *decoded = NULL;
        _cleanup_free_ char *summary = NULL;
        const EventlogEvent *e = l->log->events + i;
        const char *tn = eventlog_event_type_to_string(e->type);
        int r;

        if (!o || !digests)
                return -ENOMEM;
        for (size_t d = 0; d < e->n_digests; d++) {
                char b[8];
                r = set_hex(digests, bank_name(e->digests[d].alg, b), e->digests[d].data, e->digests[d].size);
                if (r < 0)
                        return r;
        }
        r = eventlog_event_decode(e, &decoded, &summary);
        if (r < 0)
                return r;
        if (json_object_set_new(o, "index", json_integer(e->index)) < 0 ||
            json_object_set_new(o, "offset", json_integer((json_int_t) e->offset)) < 0 ||
            json_object_set_new(o, "pcr", json_integer(e->pcr)) < 0 ||
            json_object_set_new(o, "type", json_integer(e->type)) < 0 ||
            json_object_set_new(o, "type_name", tn ? json_string(tn) : json_null()) < 0 ||
            json_object_set(o, "digests", digests) < 0 ||
            json_object_set(o, "decoded", decoded ?: json_null()) < 0 ||
            json_object_set_new(o, "summary", json_string(summary ?: "")) < 0 ||
            json_object_set_new(o, "digest_status",
                                json_string(eventlog_digest_status_to_string(l->statuses[i]))) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int verb_eventlog_show(int argc, char *argv[]) {
        static const char *const keys[] = { "index", "pcr", "type_cell", "summary_cell" };
        static const char *const headers[] = { "INDEX", "PCR", "TYPE", "SUMMARY" };
        _cleanup_(loaded_log_done) LoadedLog l = {};
        _cleanup_(json_decrefp) json_t *rows = json_array();
        int r;

        if (!rows)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (load_log(argc > 0 ? argv[0] : NULL, &l) < 0)
                return TPCTL_EXIT_FAILURE;

        for (size_t i = 0; i < l.log->n_events; i++) {
                json_t *o = NULL;

                r = event_to_json(&l, i, &o);
                if (r >= 0 && arg_json == JSON_MODE_OFF) {
                        /* The table: the type name (or hex), and the summary flagged when the data does not
                         * match the digest. */
                        _cleanup_free_ char *summary = NULL;
                        const char *s = json_string_value(json_object_get(o, "summary"));
                        char t[12];

                        if (l.statuses[i] == EVENTLOG_DIGEST_MISMATCH)
                                r = asprintf(&summary, "%s [DIGEST MISMATCH]", s) < 0 ? -ENOMEM : 0;
                        else
                                summary = strdup(s);
                        if (r < 0 || !summary ||
                            json_object_set_new(o, "type_cell",
                                                json_string(type_name(l.log->events[i].type, t))) < 0 ||
                            json_object_set_new(o, "summary_cell", json_string(summary)) < 0)
                                r = -ENOMEM;
                }
                if (r < 0 || json_array_append_new(rows, o) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }

        if (arg_pager)
                (void) pager_open();
        if (arg_json != JSON_MODE_OFF) {
                if (print_json(rows) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else {
                char b[8];

                if (print_rows(rows, keys, headers, ELEMENTSOF(keys)) < 0)
                        return TPCTL_EXIT_FAILURE;
                if (arg_legend) {
                        printf("\n%zu events, %s format, banks:", l.log->n_events,
                               eventlog_format_to_string(l.log->format));
                        for (size_t i = 0; i < l.log->n_banks; i++)
                                printf(" %s", bank_name(l.log->banks[i].alg, b));
                        printf(", %d digest mismatch%s.\n", l.n_mismatches, l.n_mismatches == 1 ? "" : "es");
                }
        }
        log_mismatches(&l);
        return TPCTL_EXIT_SUCCESS;
}

/* ---- replay ------------------------------------------------------------------------------------ */

/* The index of the last event extended into pcr, UINT32_MAX if none. */
static uint32_t last_event(const EventLog *log, uint32_t pcr) {
        for (size_t i = log->n_events; i > 0; i--)
                if (log->events[i - 1].pcr == pcr && log->events[i - 1].type != EV_NO_ACTION)
                        return log->events[i - 1].index;
        return UINT32_MAX;
}

static int set_last_event(json_t *o, const EventLog *log, uint32_t index) {
        char t[12];

        if (index == UINT32_MAX || index >= log->n_events)
                return json_object_set_new(o, "last_event", json_null()) < 0 ||
                                json_object_set_new(o, "last_event_type", json_null()) < 0
                        ? -ENOMEM
                        : 0;
        return json_object_set_new(o, "last_event", json_integer(index)) < 0 ||
                        json_object_set_new(o, "last_event_type",
                                            json_string(type_name(log->events[index].type, t))) < 0
                ? -ENOMEM
                : 0;
}

int tpctl_read_tpm_pcrs(sd_bus *bus, uint16_t bank, uint32_t mask, EventlogPcrValue *values, size_t max,
                        size_t *n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char b[8];
        const char *name = bank_name(bank, b);
        int r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "ReadPCRs");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (uint32_t i = 0; r >= 0 && i < EVENTLOG_PCRS_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        r = sd_bus_message_append(m, "u", i);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ReadPCRs() call: %m");

        r = sd_bus_call(bus, m, 0, &error, &reply);
        /* The call is well-formed, so InvalidArgs can only be about the bank: the daemon refuses a bank the
         * TPM has not active that way (docs/ARCHITECTURE.md). */
        if (r < 0 &&
            (sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS) ||
             sd_bus_error_has_name(&error, SD_BUS_ERROR_NOT_SUPPORTED))) {
                log_notice("The TPM has no active %s bank: not compared.", name);
                return -EOPNOTSUPP;
        }
        if (r < 0) {
                (void) tpctl_log_bus_error(&error, r, "read the PCRs");
                return r;
        }

        r = sd_bus_message_enter_container(reply, 'a', "(uay)");
        while (r >= 0) {
                const void *p;
                uint32_t index;
                size_t size;

                r = sd_bus_message_enter_container(reply, 'r', "uay");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "u", &index);
                if (r >= 0)
                        r = sd_bus_message_read_array(reply, 'y', &p, &size);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                if (index >= EVENTLOG_PCRS_MAX || size > EVENTLOG_DIGEST_MAX || *n >= max) {
                        r = -EBADMSG;
                        break;
                }
                values[*n] = (EventlogPcrValue){ .index = index, .bank = bank, .size = size };
                memcpy(values[*n].digest, p, size);
                (*n)++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ReadPCRs() reply: %m");
        return 0;
}

int verb_eventlog_replay(int argc, char *argv[]) {
        _cleanup_(loaded_log_done) LoadedLog l = {};
        _cleanup_(eventlog_replay_freep) EventlogReplay *rp = NULL;
        _cleanup_(json_decrefp) json_t *rows = json_array(), *out = NULL, *mismatches = NULL,
                                       *banks = json_array(), *skipped = json_array();
        _cleanup_free_ EventlogPcrComparison *cmp = NULL;
        EventlogError err = {};
        int bank = -1, r, n_bad = 0;
        bool compare = arg_compare_tpm || arg_quote;
        char b[8];

        if (!rows || !banks || !skipped)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (arg_compare_tpm && arg_quote) {
                log_error("Options --compare-tpm and --quote= exclude each other.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_nonce && !arg_quote) {
                log_error("Option --nonce= is only valid with --quote=.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_bank) {
                bank = tpm2_hash_alg_from_string(arg_bank);
                if (bank < 0) {
                        log_error("Invalid --bank= '%s': expected sha1, sha256, sha384, sha512 or sm3_256.",
                                  arg_bank);
                        return TPCTL_EXIT_USAGE;
                }
        }
        if (load_log(argc > 0 ? argv[0] : NULL, &l) < 0)
                return TPCTL_EXIT_FAILURE;

        r = eventlog_replay(l.log, &rp, &err);
        if (r == -ENOMEM)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Cannot replay the event log '%s': %s", l.path, err.message),
                       TPCTL_EXIT_FAILURE;

        if (bank >= 0) {
                bool found = false;
                for (size_t i = 0; i < rp->n_banks; i++)
                        found = found || rp->banks[i].alg == bank;
                if (!found) {
                        log_error("The event log '%s' has no %s digests to replay.", l.path, arg_bank);
                        return TPCTL_EXIT_FAILURE;
                }
        }

        /* Which PCRs: those with events, and 0-7 always (a firmware PCR without events is still zero). */
        uint32_t mask = rp->pcr_mask | 0xffU;

        if (compare) {
                _cleanup_free_ EventlogPcrValue *actual = calloc(EVENTLOG_PCRS_MAX * EVENTLOG_BANKS_MAX,
                                                                 sizeof(EventlogPcrValue));
                size_t n = 0;

                if (!actual)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (arg_quote) {
                        _cleanup_free_ Tpm2PcrValue *quoted = NULL;
                        size_t n_quoted = 0;

                        r = tpctl_verify_quote_dir(arg_quote, false, &quoted, &n_quoted);
                        if (r != TPCTL_EXIT_SUCCESS)
                                return r;
                        for (size_t i = 0; i < n_quoted && n < EVENTLOG_PCRS_MAX * EVENTLOG_BANKS_MAX; i++) {
                                if ((bank >= 0 && quoted[i].bank != bank) ||
                                    quoted[i].size > EVENTLOG_DIGEST_MAX)
                                        continue;
                                actual[n] = (EventlogPcrValue){ .index = quoted[i].index,
                                                                .bank = quoted[i].bank,
                                                                .size = quoted[i].size };
                                memcpy(actual[n].digest, quoted[i].digest, quoted[i].size);
                                n++;
                        }
                } else {
                        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

                        r = tpctl_bus_open(&bus);
                        if (r != 0)
                                return r;
                        for (size_t i = 0; i < rp->n_banks; i++) {
                                if (bank >= 0 && rp->banks[i].alg != bank)
                                        continue;
                                r = tpctl_read_tpm_pcrs(bus, rp->banks[i].alg, mask, actual,
                                                        EVENTLOG_PCRS_MAX * EVENTLOG_BANKS_MAX, &n);
                                if (r == -EOPNOTSUPP)
                                        continue;
                                if (r < 0)
                                        return TPCTL_EXIT_FAILURE;
                        }
                }
                if (n == 0) {
                        log_error("The %s has none of the banks of the event log '%s'.",
                                  arg_quote ? "quote" : "TPM", l.path);
                        return TPCTL_EXIT_FAILURE;
                }
                n_bad = eventlog_replay_compare(rp, l.log, actual, n, &cmp);
                if (n_bad < 0)
                        return log_error_errno(n_bad, "Failed to compare the PCRs: %m"), TPCTL_EXIT_FAILURE;

                for (size_t i = 0; i < n; i++) {
                        const EventlogPcrComparison *c = cmp + i;
                        _cleanup_(json_decrefp) json_t *o = json_pack(
                                "{s:I,s:s,s:s}", "pcr", (json_int_t) c->index, "bank", bank_name(c->bank, b),
                                "result", eventlog_pcr_result_to_string(c->result));

                        if (!o ||
                            (c->result != EVENTLOG_PCR_BANK_MISSING
                                     ? set_hex(o, "replayed", c->replayed, c->size)
                                     : json_object_set_new(o, "replayed", json_null())) < 0 ||
                            set_hex(o, "actual", c->actual, c->size) < 0 ||
                            set_last_event(o, l.log, c->last_event) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                        if (json_object_set_new(o, "result_cell",
                                                json_string(c->result == EVENTLOG_PCR_MATCH ? "match"
                                                                    : c->result == EVENTLOG_PCR_MISMATCH
                                                                    ? "MISMATCH"
                                                                    : "bank missing")) < 0 ||
                            json_array_append(rows, o) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                }
        } else
                for (size_t i = 0; i < rp->n_banks; i++) {
                        if (bank >= 0 && rp->banks[i].alg != bank)
                                continue;
                        for (uint32_t pcr = 0; pcr < EVENTLOG_PCRS_MAX; pcr++) {
                                _cleanup_(json_decrefp) json_t *o = NULL;
                                const uint8_t *v;
                                size_t size;

                                if (!(mask & (UINT32_C(1) << pcr)))
                                        continue;
                                if (eventlog_replay_pcr(rp, rp->banks[i].alg, pcr, &v, &size) < 0)
                                        continue;
                                o = json_pack("{s:I,s:s}", "pcr", (json_int_t) pcr, "bank",
                                              bank_name(rp->banks[i].alg, b));
                                if (!o || set_hex(o, "digest", v, size) < 0 ||
                                    set_last_event(o, l.log, last_event(l.log, pcr)) < 0 ||
                                    json_array_append(rows, o) < 0)
                                        return log_oom(), TPCTL_EXIT_FAILURE;
                        }
                }

        for (size_t i = 0; i < rp->n_banks; i++)
                if (json_array_append_new(banks, json_string(bank_name(rp->banks[i].alg, b))) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        for (size_t i = 0; i < rp->n_skipped; i++)
                if (json_array_append_new(skipped, json_string(bank_name(rp->skipped[i], b))) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        if (mismatches_json(&l, &mismatches) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();
        if (arg_json != JSON_MODE_OFF) {
                out = json_pack("{s:s,s:I,s:O,s:O,s:O,s:O}", "format",
                                eventlog_format_to_string(l.log->format), "events",
                                (json_int_t) l.log->n_events, "banks", banks, "skipped_banks", skipped,
                                compare ? "comparison" : "pcrs", rows, "digest_mismatches", mismatches);
                if (!out || (compare && json_object_set_new(out, "all_match", json_boolean(n_bad == 0)) < 0))
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (print_json(out) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else if (compare) {
                static const char *const keys[] = {
                        "pcr", "bank", "result_cell", "last_event", "last_event_type", "replayed", "actual"
                };
                static const char *const headers[] = { "PCR",  "BANK",     "RESULT", "LAST EVENT",
                                                       "TYPE", "REPLAYED", "ACTUAL" };
                if (print_rows(rows, keys, headers, ELEMENTSOF(keys)) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else {
                static const char *const keys[] = { "pcr", "bank", "digest", "last_event" };
                static const char *const headers[] = { "PCR", "BANK", "DIGEST", "LAST EVENT" };
                if (print_rows(rows, keys, headers, ELEMENTSOF(keys)) < 0)
                        return TPCTL_EXIT_FAILURE;
        }
        if (arg_json == JSON_MODE_OFF && arg_legend) {
                printf("\n%zu events, %zu bank%s replayed", l.log->n_events, rp->n_banks,
                       rp->n_banks == 1 ? "" : "s");
                for (size_t i = 0; i < rp->n_skipped; i++)
                        printf("%s%s", i == 0 ? " (no hash for " : ", ", bank_name(rp->skipped[i], b));
                printf("%s, %d digest mismatch%s", rp->n_skipped > 0 ? ")" : "", l.n_mismatches,
                       l.n_mismatches == 1 ? "" : "es");
                if (compare && n_bad == 0)
                        printf(", every PCR matches the %s", arg_quote ? "quote" : "TPM");
                else if (compare)
                        printf(", %d PCR value%s do%s NOT match the %s", n_bad, n_bad == 1 ? "" : "s",
                               n_bad == 1 ? "es" : "", arg_quote ? "quote" : "TPM");
                printf(".\n");
        }
        log_mismatches(&l);

        if (n_bad > 0) {
                for (size_t i = 0; cmp && i < json_array_size(rows); i++) {
                        const EventlogPcrComparison *c = cmp + i;
                        char t[12];

                        if (c->result != EVENTLOG_PCR_MISMATCH)
                                continue;
                        if (c->last_event != UINT32_MAX && c->last_event < l.log->n_events)
                                log_error("PCR %" PRIu32 " (%s) does not match the %s; its last logged event is "
                                          "event %" PRIu32 " (%s).",
                                          c->index, bank_name(c->bank, b), arg_quote ? "quote" : "TPM",
                                          c->last_event, type_name(l.log->events[c->last_event].type, t));
                        else
                                log_error("PCR %" PRIu32
                                          " (%s) does not match the %s; the log has no event for it.",
                                          c->index, bank_name(c->bank, b), arg_quote ? "quote" : "TPM");
                }
                return TPCTL_EXIT_FAILURE;
        }
        return TPCTL_EXIT_SUCCESS;
}

/* ---- facts ------------------------------------------------------------------------------------- */

static int facts_of(const LoadedLog *l, json_t **ret) {
        int r = eventlog_facts(l->log, l->statuses, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to build the facts of '%s': %m", l->path);
        return 0;
}

static const char *tristate(const json_t *v, const char *yes, const char *no) {
        return json_is_true(v) ? yes : json_is_false(v) ? no : "unknown (not measured)";
}

static void print_field(const char *name, const char *value) {
        printf("%22s: %s\n", name, value);
}

static void print_signatures(const char *name, const json_t *list) {
        size_t i, certs = 0, hashes = 0;
        json_t *s;

        if (!json_is_array(list)) {
                print_field(name, "not measured");
                return;
        }
        json_array_foreach(list, i, s) {
                const char *t = json_string_value(json_object_get(s, "type"));
                if (t && streq(t, "x509"))
                        certs++;
                else
                        hashes++;
        }
        printf("%22s: %zu certificate%s, %zu hash%s\n", name, certs, certs == 1 ? "" : "s", hashes,
               hashes == 1 ? "" : "es");
        json_array_foreach(list, i, s) {
                const char *t = json_string_value(json_object_get(s, "type"));
                if (t && streq(t, "x509"))
                        printf("%22s  %s\n", "",
                               json_string_value(json_object_get(s, "subject")) ?: "(no subject)");
        }
}

static void print_component(const char *name, const json_t *o) {
        const char *path = json_string_value(json_object_get(o, "path"));
        const char *d = json_string_value(json_object_get(o, "sha256"));

        if (!json_is_object(o)) {
                print_field(name, "unknown");
                return;
        }
        printf("%22s: %s%s%s\n", name, path ?: "(no path)", d ? " sha256:" : "", d ?: "");
}

static char *int_list(const json_t *a, bool boot_numbers) {
        char *s = NULL;
        size_t i;
        json_t *e;

        json_array_foreach(a, i, e) {
                char n[32];
                unsigned u = (unsigned) (json_integer_value(e) & 0xffffffff);

                if (boot_numbers)
                        (void) snprintf(n, sizeof n, "%04X", u);
                else
                        (void) snprintf(n, sizeof n, "%u", u);
                if (!strextend(&s, i == 0 ? "" : ",", n))
                        return mfree(s);
        }
        return s ?: strdup("none");
}

static int print_facts(const json_t *f) {
        _cleanup_free_ char *order = NULL, *after = NULL, *mism = NULL, *banks = NULL;
        const json_t *v;
        size_t i;
        json_t *e;

        json_array_foreach(json_object_get(f, "banks"), i, e) {
                if (!strextend(&banks, i == 0 ? "" : ", ", json_string_value(e) ?: "?"))
                        return -ENOMEM;
        }
        print_field("Format", json_string_value(json_object_get(f, "format")) ?: "?");
        print_field("Banks", banks ?: "none");
        print_field("Secure Boot", tristate(json_object_get(f, "secure_boot"), "enabled", "disabled"));
        print_field("Setup mode", tristate(json_object_get(f, "setup_mode"), "yes", "no"));
        print_signatures("PK", json_object_get(f, "pk"));
        print_signatures("KEK", json_object_get(f, "kek"));
        print_signatures("db", json_object_get(f, "db"));
        print_signatures("dbx", json_object_get(f, "dbx"));

        v = json_object_get(f, "boot_order");
        order = json_is_array(v) ? int_list(v, true) : strdup("not measured");
        if (!order)
                return -ENOMEM;
        print_field("Boot order", order);
        json_array_foreach(json_object_get(f, "boot_entries"), i, e) {
                printf("%22s  Boot%04X '%s' %s\n", "",
                       (unsigned) (json_integer_value(json_object_get(e, "number")) & 0xffff),
                       json_string_value(json_object_get(e, "description")) ?: "",
                       json_string_value(json_object_get(e, "path")) ?: "");
        }
        v = json_object_get(f, "boot_applications");
        printf("%22s: %zu\n", "Boot applications", json_array_size(v));
        json_array_foreach(v, i, e) {
                printf("%22s  event %" JSON_INTEGER_FORMAT ": %s\n", "",
                       json_integer_value(json_object_get(e, "event")),
                       json_string_value(json_object_get(e, "path")) ?: "(no path)");
        }
        print_component("Boot loader", json_object_get(f, "boot_loader"));
        print_component("Kernel", json_object_get(f, "kernel"));
        v = json_object_get(f, "kernel_cmdline");
        print_field("Kernel command line", json_is_string(v) ? json_string_value(v) : "unknown");
        v = json_object_get(f, "grub_commands");
        if (json_array_size(v) > 0) {
                printf("%22s: %zu\n", "GRUB commands", json_array_size(v));
                json_array_foreach(v, i, e) {
                        printf("%22s  %s\n", "", json_string_value(e) ?: "");
                }
        }
        v = json_object_get(f, "separators");
        printf("%22s:", "Separators");
        for (unsigned pcr = 0; pcr < EVENTLOG_PCRS_MAX; pcr++) {
                char k[16];

                (void) snprintf(k, sizeof k, "%u", pcr);
                e = json_object_get(v, k);
                if (e)
                        printf(" %s=%s", k, json_string_value(e) ?: "?");
        }
        printf("%s\n", json_object_size(v) == 0 ? " none" : "");
        after = int_list(json_object_get(f, "pcrs_after_separator"), false);
        if (!after)
                return -ENOMEM;
        print_field("PCRs after separator", after);
        v = json_object_get(f, "firmware_blobs");
        printf("%22s: %zu\n", "Firmware blobs", json_array_size(v));
        json_array_foreach(v, i, e) {
                printf("%22s  PCR %" JSON_INTEGER_FORMAT " base %s length %" JSON_INTEGER_FORMAT "\n", "",
                       json_integer_value(json_object_get(e, "pcr")),
                       json_string_value(json_object_get(e, "base")) ?: "?",
                       json_integer_value(json_object_get(e, "length")));
        }
        v = json_object_get(f, "startup_locality");
        if (json_is_integer(v))
                printf("%22s: %" JSON_INTEGER_FORMAT "\n", "Startup locality", json_integer_value(v));
        mism = int_list(json_object_get(f, "digest_mismatches"), false);
        if (!mism)
                return -ENOMEM;
        print_field("Digest mismatches", mism);
        return 0;
}

int verb_eventlog_facts(int argc, char *argv[]) {
        _cleanup_(loaded_log_done) LoadedLog l = {};
        _cleanup_(json_decrefp) json_t *f = NULL;

        if (load_log(argc > 0 ? argv[0] : NULL, &l) < 0)
                return TPCTL_EXIT_FAILURE;
        if (facts_of(&l, &f) < 0)
                return TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();
        if (arg_json != JSON_MODE_OFF) {
                if (print_json(f) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else if (print_facts(f) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;
        log_mismatches(&l);
        return TPCTL_EXIT_SUCCESS;
}

/* ---- diff -------------------------------------------------------------------------------------- */

/* A file for "diff": facts JSON (as "facts --json" wrote it: starts with '{') or an event log. */
static int load_facts_or_log(const char *path, LoadedLog *ret_log, json_t **ret_facts) {
        _cleanup_free_ char *data = NULL;
        size_t size, i = 0;
        int r;

        r = read_full_file(path, FACTS_FILE_MAX, &data, &size);
        if (r < 0 && r != -E2BIG)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        while (r >= 0 && i < size && strchr(" \t\r\n", data[i]))
                i++;
        if (r >= 0 && i < size && data[i] == '{') {
                json_error_t error;
                json_t *f = json_loadb(data, size, 0, &error);
                if (!f) {
                        log_error("Invalid facts JSON '%s': line %d: %s", path, error.line, error.text);
                        return -EINVAL;
                }
                *ret_facts = f;
                *ret_log = (LoadedLog){};
                return 0;
        }
        r = load_log(path, ret_log);
        if (r < 0)
                return r;
        r = facts_of(ret_log, ret_facts);
        if (r < 0)
                loaded_log_done(ret_log);
        return r;
}

int verb_eventlog_diff(int argc, char *argv[]) {
        _cleanup_(loaded_log_done) LoadedLog old_log = {}, new_log = {};
        _cleanup_(json_decrefp) json_t *old_facts = NULL, *new_facts = NULL, *changes = NULL;
        size_t i;
        json_t *c;
        int r;

        if (load_facts_or_log(argv[0], &old_log, &old_facts) < 0 ||
            load_facts_or_log(argv[1], &new_log, &new_facts) < 0)
                return TPCTL_EXIT_FAILURE;
        r = eventlog_diff(old_facts, new_facts, old_log.log, new_log.log, &changes);
        if (r < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();
        if (arg_json != JSON_MODE_OFF)
                return print_json(changes) < 0 ? TPCTL_EXIT_FAILURE : TPCTL_EXIT_SUCCESS;
        json_array_foreach(changes, i, c) {
                printf("%s\n", json_string_value(json_object_get(c, "message")));
        }
        if (json_array_size(changes) == 0 && !arg_quiet)
                printf("No changes.\n");
        return TPCTL_EXIT_SUCCESS;
}
