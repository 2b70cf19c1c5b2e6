/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl policy learn|check: the measured-boot policy (trusted-platform-policy(5)) written from this
 * machine, and evaluated against it now. The evidence is gathered here: PCR values through
 * trusted-platformd's ReadPCRs() (open to everyone), facts from the firmware event log (only when its
 * replay matches those PCRs: facts from a log the TPM does not confirm are worthless), and the IMA log.
 * The daemon's own attestation uses a verified quote instead of ReadPCRs(); the rules are the same. */

#include <stdio.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest/attest-policy.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "eventlog/eventlog-facts.h"
#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"
#include "eventlog/ima-log.h"
#include "shared/json-util.h"
#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"
#include "tpm2/tpm2-pcr.h"

#define POLICY_PATH_DEFAULT "/etc/trusted-platform/policy.json"

static const uint16_t banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };

typedef struct Evidence {
        EventlogPcrValue pcrs[EVENTLOG_BANKS_MAX * EVENTLOG_PCRS_MAX];
        size_t n_pcrs;
        json_t *facts;     /* NULL: no log, or a log the TPM does not confirm */
        char *log_problem; /* why facts is NULL */
        ImaLog *ima;
} Evidence;

static void evidence_done(Evidence *e) {
        json_decref(e->facts);
        free(e->log_problem);
        ima_log_free(e->ima);
}

static Tpm2PcrValue *to_tpm2(const Evidence *e) {
        Tpm2PcrValue *v = calloc(MAX(e->n_pcrs, (size_t) 1), sizeof(Tpm2PcrValue));

        for (size_t i = 0; v && i < e->n_pcrs; i++) {
                v[i] = (Tpm2PcrValue){ .index = e->pcrs[i].index,
                                       .bank = e->pcrs[i].bank,
                                       .size = e->pcrs[i].size };
                memcpy(v[i].digest, e->pcrs[i].digest, e->pcrs[i].size);
        }
        return v;
}

/* Facts of the firmware log, if its replay matches every PCR value read (for the PCRs it has events
 * for). Failures are not errors: they leave facts NULL with the reason. */
static int load_facts(const char *path, Evidence *e) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *rp = NULL;
        _cleanup_free_ EventlogDigestStatus *statuses = NULL;
        _cleanup_free_ EventlogPcrComparison *cmp = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        EventlogError err = {};
        uint32_t first;
        size_t size;
        int r;

        path = path ?: eventlog_default_path();
        r = eventlog_read_file(path, &data, &size);
        if (r < 0)
                return asprintf(&e->log_problem, "the firmware event log '%s' cannot be read: %s", path,
                                strerror(-r)) < 0
                        ? log_oom()
                        : 0;
        r = eventlog_parse(data, size, &log, &err);
        if (r >= 0)
                r = eventlog_replay(log, &rp, &err);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return asprintf(&e->log_problem, "the firmware event log '%s' is invalid: %s", path,
                                err.message) < 0
                        ? log_oom()
                        : 0;
        r = eventlog_replay_compare(rp, log, e->pcrs, e->n_pcrs, &cmp);
        if (r < 0)
                return log_error_errno(r, "Failed to compare the event log with the PCRs: %m");
        for (size_t i = 0; i < e->n_pcrs; i++)
                /* A PCR the log has no event for (PCR 10-23 in a firmware log) says nothing about the log. */
                if (cmp[i].result == EVENTLOG_PCR_MISMATCH && (rp->pcr_mask & (UINT32_C(1) << cmp[i].index)))
                        return asprintf(&e->log_problem,
                                        "the firmware event log '%s' does not match PCR %u (%s) of the TPM",
                                        path, cmp[i].index, tpm2_hash_alg_to_string(cmp[i].bank) ?: "?") < 0
                                ? log_oom()
                                : 0;
        r = eventlog_check_digests(log, &statuses, &first, NULL);
        if (r >= 0)
                r = eventlog_facts(log, statuses, &e->facts);
        if (r < 0)
                return log_error_errno(r, "Failed to build the facts of '%s': %m", path);
        return 0;
}

static int read_pcrs(sd_bus *bus, uint16_t bank, uint32_t mask, Evidence *e) {
        int r;

        if (mask == 0)
                return 0;
        r = tpctl_read_tpm_pcrs(bus, bank, mask, e->pcrs, ELEMENTSOF(e->pcrs), &e->n_pcrs);
        return r == -EOPNOTSUPP ? 0 : r;
}

int verb_policy_learn(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(evidence_done) Evidence e = {};
        _cleanup_(json_decrefp) json_t *policy = NULL;
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        _cleanup_free_ char *text = NULL;
        uint32_t mask = 0xff; /* PCRs 0-7: the firmware's, before the OS loader takes over */
        int bank = TPM2_ALG_SHA256, r;

        if (arg_bank) {
                bank = tpm2_hash_alg_from_string(arg_bank);
                if (bank < 0)
                        return log_error("Unknown PCR bank '%s'.", arg_bank), TPCTL_EXIT_USAGE;
        }
        if (arg_pcrs && tpctl_parse_pcr_spec(arg_pcrs, &mask) < 0)
                return log_error("Invalid PCR list '%s'.", arg_pcrs), TPCTL_EXIT_USAGE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        if (tpctl_read_tpm_pcrs(bus, (uint16_t) bank, mask, e.pcrs, ELEMENTSOF(e.pcrs), &e.n_pcrs) < 0)
                return TPCTL_EXIT_FAILURE;
        if (load_facts(arg_eventlog, &e) < 0)
                return TPCTL_EXIT_FAILURE;
        if (e.log_problem)
                log_warning("Not learning facts: %s. The policy has PCR values only.", e.log_problem);

        values = to_tpm2(&e);
        if (!values)
                return log_oom(), TPCTL_EXIT_FAILURE;
        r = attest_policy_learn(values, e.n_pcrs, e.facts, &policy);
        if (r == -ENODATA)
                return log_error("Nothing to learn: no PCR value and no fact."), TPCTL_EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Failed to write the policy: %m"), TPCTL_EXIT_FAILURE;

        text = json_dumps(policy, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!text || !strextend(&text, "\n"))
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (argc >= 1) {
                if (tpctl_write_output(argv[0], text, strlen(text)) < 0)
                        return TPCTL_EXIT_FAILURE;
                log_info("Wrote the policy to '%s': review it, then check it with \"tpctl policy check %s\".",
                         argv[0], argv[0]);
        } else
                fputs(text, stdout);
        return TPCTL_EXIT_SUCCESS;
}

int verb_policy_check(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(evidence_done) Evidence e = {};
        _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        _cleanup_free_ char *text = NULL, *ima_data = NULL;
        _cleanup_(json_decrefp) json_t *rows = NULL;
        AttestPolicyResult *results = NULL;
        AttestPolicyError perr = {};
        const char *path = argc >= 1 ? argv[0] : POLICY_PATH_DEFAULT;
        size_t size, n = 0, failed = 0;
        int r;

        if (tpctl_read_input(path, ATTEST_POLICY_SIZE_MAX, &text, &size) < 0)
                return TPCTL_EXIT_FAILURE;
        r = attest_policy_parse(text, size, &p, &perr);
        if (r == -ENOMEM)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (r < 0)
                return log_error("Invalid policy '%s': %s", path, perr.message), TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(banks); i++)
                if (read_pcrs(bus, banks[i], attest_policy_quote_mask(p, banks[i]), &e) < 0)
                        return TPCTL_EXIT_FAILURE;
        /* The firmware log is confirmed against sha256 PCRs 0-7 when the policy names none of them. */
        if (e.n_pcrs == 0 && read_pcrs(bus, TPM2_ALG_SHA256, 0xff, &e) < 0)
                return TPCTL_EXIT_FAILURE;
        if (load_facts(arg_eventlog, &e) < 0)
                return TPCTL_EXIT_FAILURE;
        {
                ImaParseParams params = {};
                ImaError ierr;

                if (ima_log_read_file(NULL, &ima_data, &size) >= 0 &&
                    ima_log_parse(ima_data, size, &params, &e.ima, &ierr) < 0)
                        log_warning("The IMA log is invalid, IMA rules will fail: %s", ierr.message);
        }

        values = to_tpm2(&e);
        if (!values)
                return log_oom(), TPCTL_EXIT_FAILURE;
        {
                AttestPolicyInput in = { .pcrs = values, .n_pcrs = e.n_pcrs, .facts = e.facts, .ima = e.ima };
                r = attest_policy_evaluate(p, &in, &results, &n);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to evaluate the policy: %m"), TPCTL_EXIT_FAILURE;

        rows = json_array();
        if (!rows)
                return log_oom(), TPCTL_EXIT_FAILURE;
        if (e.log_problem &&
            json_array_append_new(rows,
                                  json_pack("{s:s, s:b, s:s}", "Rule", "eventlog", "Passed", 0, "Message",
                                            e.log_problem)) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(rows,
                                          json_pack("{s:s, s:b, s:s}", "Rule", results[i].rule, "Passed",
                                                    results[i].passed, "Message", results[i].message)) < 0) {
                        attest_policy_results_free(results, n);
                        return log_oom(), TPCTL_EXIT_FAILURE;
                }
        attest_policy_results_free(results, n);

        if (arg_json != JSON_MODE_OFF) {
                if (json_print(stdout, rows, arg_json) < 0)
                        return TPCTL_EXIT_FAILURE;
        } else {
                size_t i;
                json_t *row;

                json_array_foreach(rows, i, row)
                        printf("%-4s %-26s %s\n", json_is_true(json_object_get(row, "Passed")) ? "ok" : "FAIL",
                               json_string_value(json_object_get(row, "Rule")),
                               json_string_value(json_object_get(row, "Message")));
        }
        {
                size_t i;
                json_t *row;

                json_array_foreach(rows, i, row) failed += !json_is_true(json_object_get(row, "Passed"));
        }
        if (failed > 0) {
                log_error("%zu of %zu rules failed: this machine does not satisfy '%s'.", failed,
                          json_array_size(rows), path);
                return TPCTL_EXIT_FAILURE;
        }
        return TPCTL_EXIT_SUCCESS;
}
