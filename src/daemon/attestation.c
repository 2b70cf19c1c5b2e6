/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "attest/attest-policy.h"
#include "attest/attest-quote.h"
#include "attest/attest-verdict.h"
#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "daemon/attestation.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-call.h"
#include "daemon/tpm-worker.h"
#include "eventlog/eventlog-facts.h"
#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"
#include "eventlog/ima-log.h"
#include "eventlog/ima-replay.h"
#include "shared/config.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-util.h"
#include "tpm2/tpm2-quote.h"

#define ATTEST_AK_NAME "default" /* the AK of TPM.Quote (tpm-bus.c) */
#define ATTEST_NONCE_SIZE 32U
#define ATTEST_TRIGGER_IMA "ima-log"

static const uint16_t quote_banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };

typedef struct Verdict {
        TrustState state;
        char **reasons;
} Verdict;

static void verdict_done(Verdict *v) {
        v->reasons = strv_free(v->reasons);
}

/* One attestation's evidence, carried to the TPM worker and back. */
typedef struct AttestJob {
        Manager *manager;
        AttestPolicy *policy;
        bool policy_has_ima;
        char *state_dir;
        uint8_t nonce[ATTEST_NONCE_SIZE];
        TPML_PCR_SELECTION selection;

        /* Results of the worker */
        Tpm2Quote *quote;
        TPM2B_PUBLIC ak_public;
        bool ak_created;
        Verdict verdict;     /* of the evidence, made on the worker too */
        int evaluate_result; /* 0, or a negative errno (the verdict is incomplete) */
} AttestJob;

static AttestJob *attest_job_free(AttestJob *j) {
        if (!j)
                return NULL;
        attest_policy_free(j->policy);
        free(j->state_dir);
        tpm2_quote_free(j->quote);
        verdict_done(&j->verdict);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(AttestJob *, attest_job_free);

/* ---- the verdict -------------------------------------------------------------------------------- */

_printf_(3, 4) static int verdict_add(Verdict *v, TrustState state, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        /* untrusted wins over unknown wins over trusted */
        if (state == TRUST_STATE_UNTRUSTED ||
            (state == TRUST_STATE_UNKNOWN && v->state == TRUST_STATE_TRUSTED))
                v->state = state;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_extend(&v->reasons, s);
}

/* ---- the TPM half, on the worker ---------------------------------------------------------------- */

static int attest_job_quote(Tpm2Context *tpm, AttestJob *j) {
        ESYS_TR ak = ESYS_TR_NONE;
        int r;

        r = tpm2_ak_load(tpm, j->state_dir, ATTEST_AK_NAME, &ak, &j->ak_public, NULL);
        if (r == -ENOENT) {
                /* The daemon's own key for its own attestation: made on first use, as TPM.Quote does for
                 * an authorized caller. */
                r = tpm2_ak_create(tpm, j->state_dir, ATTEST_AK_NAME, TPM2_ALG_ECC, TPM2_ALG_ECC, NULL, NULL);
                if (r < 0 && r != -EEXIST)
                        return r;
                j->ak_created = true;
                r = tpm2_ak_load(tpm, j->state_dir, ATTEST_AK_NAME, &ak, &j->ak_public, NULL);
        }
        if (r < 0)
                return r;

        r = tpm2_quote(tpm, ak, j->nonce, sizeof(j->nonce), &j->selection, &j->quote);
        tpm2_flush(tpm, &ak);
        return r;
}

/* ---- the checks of the evidence (on the worker, after the quote) ------------------------------------ */

static const char *hex_short(const uint8_t *d, size_t n, char buf[static 17]) {
        /* The first 8 bytes are enough to tell values apart in a message. */
        for (size_t i = 0; i < MIN(n, (size_t) 8); i++)
                snprintf(buf + 2 * i, 3, "%02x", d[i]);
        return buf;
}

static int check_quote(AttestJob *j, Verdict *v) {
        AttestQuoteResult res = {};
        AttestQuoteInput in = {
                .attest = j->quote->attest,
                .attest_size = j->quote->attest_size,
                .signature = j->quote->signature,
                .signature_size = j->quote->signature_size,
                .ak_public = &j->ak_public,
                .nonce = j->nonce,
                .nonce_size = sizeof(j->nonce),
                .selection = &j->selection,
                .pcr_values = j->quote->pcr_values,
                .n_pcr_values = j->quote->n_pcr_values,
        };
        int r;

        r = attest_quote_verify(&in, &res);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNTRUSTED, "quote: the TPM's quote does not verify: %s",
                                   res.message[0] ? res.message : attest_quote_reason_to_string(res.reason));
        return 0;
}

/* Which quoted PCRs the firmware log accounts for: the pre-OS PCRs 0-9 always (a PCR the log never
 * extended must still be zero), others only when the log extended them (PCR 10 is IMA's, 11-15 the OS's). */
static bool firmware_pcr(const EventlogReplay *replay, uint32_t index) {
        return index < 10 || (index < EVENTLOG_PCRS_MAX && (replay->pcr_mask & (UINT32_C(1) << index)));
}

static int check_firmware_log(AttestJob *j, Verdict *v, json_t **ret_facts) {
        _cleanup_(eventlog_replay_freep) EventlogReplay *replay = NULL;
        _cleanup_free_ EventlogDigestStatus *statuses = NULL;
        _cleanup_free_ EventlogPcrComparison *cmp = NULL;
        _cleanup_free_ EventlogPcrValue *actual = NULL;
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        EventlogError error = {};
        uint32_t first_mismatch;
        size_t size, n = 0;
        int r;

        r = eventlog_read_file(NULL, &data, &size);
        if (r == -ENOENT) {
                /* No firmware log (a VM without one): the PCR values still come from the verified quote;
                 * rules about facts then fail on their own. */
                log_debug("No firmware event log at %s.", eventlog_default_path());
                *ret_facts = NULL;
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNKNOWN,
                                   "eventlog: cannot read the firmware event log %s: %s",
                                   eventlog_default_path(), strerror(-r));

        r = eventlog_parse(data, size, &log, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNTRUSTED,
                                   "eventlog: the firmware event log %s is invalid: %s",
                                   eventlog_default_path(), error.message);

        r = eventlog_replay(log, &replay, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNTRUSTED,
                                   "eventlog: cannot replay the firmware event log: %s",
                                   error.message[0] ? error.message : strerror(-r));

        actual = calloc(MAX(j->quote->n_pcr_values, (size_t) 1), sizeof(EventlogPcrValue));
        if (!actual)
                return -ENOMEM;
        for (size_t i = 0; i < j->quote->n_pcr_values; i++) {
                const Tpm2PcrValue *q = j->quote->pcr_values + i;

                if (!firmware_pcr(replay, q->index) || q->size > EVENTLOG_DIGEST_MAX)
                        continue;
                actual[n].index = q->index;
                actual[n].bank = q->bank;
                actual[n].size = q->size;
                memcpy(actual[n].digest, q->digest, q->size);
                n++;
        }

        if (n > 0) {
                r = eventlog_replay_compare(replay, log, actual, n, &cmp);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return verdict_add(v, TRUST_STATE_UNTRUSTED,
                                           "eventlog: cannot compare the firmware event log with the quote: %s",
                                           strerror(-r));
                for (size_t i = 0; i < n; i++) {
                        const EventlogPcrComparison *c = cmp + i;
                        const char *bank = strna(tpm2_hash_alg_to_string(c->bank));
                        char a[17] = {}, b[17] = {};

                        if (c->result == EVENTLOG_PCR_MATCH)
                                continue;
                        if (c->result == EVENTLOG_PCR_BANK_MISSING) {
                                log_debug("The firmware event log has no %s bank, PCR %" PRIu32
                                          " not compared.",
                                          bank, c->index);
                                continue;
                        }
                        if (c->last_event != UINT32_MAX && c->last_event < log->n_events) {
                                const EventlogEvent *e = log->events + c->last_event;
                                const char *type = eventlog_event_type_to_string(e->type);
                                char raw[sizeof("0x12345678")];

                                /* Unknown types are shown raw, as tpctl eventlog show does. */
                                snprintf(raw, sizeof(raw), "0x%08" PRIx32, e->type);
                                r = verdict_add(v, TRUST_STATE_UNTRUSTED,
                                                "eventlog.pcr%" PRIu32 ": PCR %" PRIu32
                                                " (%s) is %s…, the firmware event log replays to %s…; the "
                                                "log's last event for it is event %" PRIu32 " (%s)",
                                                c->index, c->index, bank, hex_short(c->actual, c->size, a),
                                                hex_short(c->replayed, c->size, b), c->last_event,
                                                type ?: raw);
                        } else
                                r = verdict_add(v, TRUST_STATE_UNTRUSTED,
                                                "eventlog.pcr%" PRIu32 ": PCR %" PRIu32
                                                " (%s) is %s…, but the firmware event log has no event for it",
                                                c->index, c->index, bank, hex_short(c->actual, c->size, a));
                        if (r < 0)
                                return r;
                }
        }

        r = eventlog_check_digests(log, &statuses, &first_mismatch, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNTRUSTED, "eventlog: cannot check the event digests: %s",
                                   strerror(-r));
        if (r > 0)
                /* Facts are then not taken from those events (eventlog-facts.h); rules on them fail. */
                log_notice("The firmware event log has %d event(s) whose digest does not match the data: %s",
                           r, error.message);

        return eventlog_facts(log, statuses, ret_facts);
}

static const Tpm2PcrValue *quoted_pcr(const Tpm2Quote *q, uint16_t bank, uint32_t index) {
        for (size_t i = 0; i < q->n_pcr_values; i++)
                if (q->pcr_values[i].bank == bank && q->pcr_values[i].index == index)
                        return q->pcr_values + i;
        return NULL;
}

static int check_ima_log(AttestJob *j, Verdict *v, ImaLog **ret) {
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        _cleanup_free_ char *data = NULL;
        const Tpm2PcrValue *pcr = NULL;
        ImaReplay replay;
        ImaError error = {};
        size_t size;
        int r;

        *ret = NULL;

        for (size_t i = 0; i < ELEMENTSOF(quote_banks) && !pcr; i++)
                pcr = quoted_pcr(j->quote, quote_banks[i], IMA_PCR_DEFAULT);
        if (!pcr)
                return verdict_add(v, TRUST_STATE_UNTRUSTED, "ima: PCR %u was not quoted", IMA_PCR_DEFAULT);

        r = ima_log_read_file(NULL, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNKNOWN, "ima: cannot read the IMA log %s: %s",
                                   ima_log_default_path(), strerror(-r));

        r = ima_log_parse(data, size, NULL, &log, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNTRUSTED, "ima: the IMA log %s is invalid: %s",
                                   ima_log_default_path(), error.message);

        /* Kernels extend the sha1 template hash zero-padded into other banks unless they hash per bank;
         * either rule that reaches the quoted value is the truth. */
        for (ImaExtendRule rule = 0; rule < _IMA_EXTEND_RULE_MAX; rule++) {
                r = ima_replay_init(&replay, &pcr->bank, 1, rule);
                if (r < 0)
                        return verdict_add(v, TRUST_STATE_UNTRUSTED, "ima: cannot replay the %s bank: %s",
                                           strna(tpm2_hash_alg_to_string(pcr->bank)), strerror(-r));
                r = ima_replay_log_until(&replay, log, pcr->bank, pcr->index, pcr->digest, pcr->size, &error);
                if (r >= 0) {
                        *ret = TAKE_PTR(log);
                        return 0;
                }
                if (r == -ENOMEM)
                        return r;
        }
        return verdict_add(v, TRUST_STATE_UNTRUSTED,
                           "ima: the IMA log does not replay to the quoted PCR %" PRIu32 " (%s): %s",
                           pcr->index, strna(tpm2_hash_alg_to_string(pcr->bank)), error.message);
}

static int evaluate(AttestJob *j, Verdict *v) {
        _cleanup_(json_decrefp) json_t *facts = NULL;
        _cleanup_(ima_log_freep) ImaLog *ima = NULL;
        AttestPolicyResult *results = NULL;
        size_t n_results = 0;
        int r;

        r = check_quote(j, v);
        if (r < 0)
                return r;
        if (v->state == TRUST_STATE_UNTRUSTED)
                return 0; /* nothing else can be believed */

        r = check_firmware_log(j, v, &facts);
        if (r < 0)
                return r;

        if (j->policy_has_ima) {
                r = check_ima_log(j, v, &ima);
                if (r < 0)
                        return r;
        }

        AttestPolicyInput in = {
                .pcrs = j->quote->pcr_values,
                .n_pcrs = j->quote->n_pcr_values,
                .facts = facts,
                .ima = ima,
        };
        r = attest_policy_evaluate(j->policy, &in, &results, &n_results);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_results; i++) {
                if (results[i].passed)
                        continue;
                r = verdict_add(v, TRUST_STATE_UNTRUSTED, "%s: %s", results[i].rule, results[i].message);
                if (r < 0)
                        break;
        }
        attest_policy_results_free(results, n_results);
        return r < 0 ? r : 0;
}

/* On the worker: the quote, then the checks of the evidence. These need no TPM, but they would hold the
 * event loop, and with it the bus: a long IMA log takes 10-16 µs per entry to parse (1.6 s for the
 * 100000 entries of a server that has run for a while). They use nothing but the job. */
static int attest_job_run(Tpm2Context *tpm, void *userdata) {
        AttestJob *j = userdata;
        int r;

        r = attest_job_quote(tpm, j);
        if (r < 0)
                return r;
        j->evaluate_result = evaluate(j, &j->verdict);
        return 0;
}

/* ---- state, signals, replies -------------------------------------------------------------------- */

static void log_transition(TrustState old, TrustState new, char **reasons, const char *trigger) {
        _cleanup_free_ char *joined = NULL;
        size_t len = 0;
        int r;

        STRV_FOREACH(s, reasons)
        len += strlen(*s) + 2;
        if (len > 0) {
                joined = malloc(len + 1);
                if (joined) {
                        joined[0] = 0;
                        STRV_FOREACH(s, reasons) {
                                if (joined[0])
                                        strcat(joined, "; ");
                                strcat(joined, *s);
                        }
                }
        }

        r = sd_journal_send("MESSAGE_ID=" TP_MESSAGE_TRUST_STATE_CHANGED_STR,
                            "MESSAGE=Trust state changed from %s to %s%s%s.", trust_state_to_string(old),
                            trust_state_to_string(new), joined ? ": " : "", strempty(joined), "PRIORITY=%i",
                            new == TRUST_STATE_TRUSTED ? LOG_INFO : LOG_WARNING, "TRUST_STATE=%s",
                            trust_state_to_string(new), "TRUST_STATE_PREVIOUS=%s", trust_state_to_string(old),
                            "TRUST_REASONS=%s", strempty(joined), "ATTESTATION_TRIGGER=%s", trigger, NULL);
        if (r < 0 || log_get_target() != LOG_TARGET_JOURNAL)
                log_full(new == TRUST_STATE_TRUSTED ? LOG_INFO : LOG_WARNING,
                         "Trust state changed from %s to %s%s%s.", trust_state_to_string(old),
                         trust_state_to_string(new), joined ? ": " : "", strempty(joined));
}

static bool strv_same(char **a, char **b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static int reply_waiter(sd_bus_message *message, Manager *m, int result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (result == -ECANCELED)
                return tpm_reply_shutting_down(message);
        if (result < 0)
                return sd_bus_reply_method_errnof(message, result, "Failed to attest the platform: %s",
                                                  strerror(-result));

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", trust_state_to_string(m->trust_state));
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, m->trust_reasons);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- the remote verdict, and folding it with the local result --------------------------------------- */

struct RemoteVerdictSlot {
        RemoteVerdictMode mode; /* [Attestation] RemoteVerdict= */
        char *audience;         /* [Attestation] Audience= or the machine ID */
        EVP_PKEY **keys;        /* [Attestation] VerifierKeys= */
        size_t n_keys;

        bool have;    /* a verified, unexpired verdict is stored */
        bool expired; /* the last one expired (the reason says so) */
        AttestVerdict verdict;
        sd_event_source *expiry_timer;

        /* The last local attestation's result */
        TrustState local_state;
        char **local_reasons;
};

static const char *const remote_verdict_mode_table[_REMOTE_VERDICT_MODE_MAX] = {
        [REMOTE_VERDICT_LOCAL] = "local",
        [REMOTE_VERDICT_REMOTE] = "remote",
        [REMOTE_VERDICT_BOTH] = "both",
};

const char *remote_verdict_mode_to_string(RemoteVerdictMode mode) {
        if (mode < 0 || mode >= _REMOTE_VERDICT_MODE_MAX)
                return NULL;
        return remote_verdict_mode_table[mode];
}

RemoteVerdictMode remote_verdict_mode_from_string(const char *s) {
        if (!s)
                return _REMOTE_VERDICT_MODE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(remote_verdict_mode_table); i++)
                if (streq(s, remote_verdict_mode_table[i]))
                        return (RemoteVerdictMode) i;
        return _REMOTE_VERDICT_MODE_INVALID;
}

static uint64_t now_sec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return UINT64_MAX; /* fails closed: every verdict is expired */
        return (uint64_t) ts.tv_sec;
}

static void local_result_set(Manager *m, Verdict *v) {
        if (!m->remote)
                return;
        m->remote->local_state = v->state;
        strv_free(m->remote->local_reasons);
        m->remote->local_reasons = TAKE_PTR(v->reasons);
}

static int fold_remote(RemoteVerdictSlot *slot, Verdict *e) {
        int r;

        if (!slot->have)
                return verdict_add(e, TRUST_STATE_UNKNOWN,
                                   slot->expired ? "remote: the verifier's verdict expired"
                                                 : "remote: no verdict from a verifier");
        if (!slot->verdict.trusted && strv_length(slot->verdict.reasons) == 0)
                return verdict_add(e, TRUST_STATE_UNTRUSTED, "remote: the verifier %s says untrusted",
                                   strna(slot->verdict.issuer));
        STRV_FOREACH(s, slot->verdict.reasons) {
                r = verdict_add(e, slot->verdict.trusted ? TRUST_STATE_TRUSTED : TRUST_STATE_UNTRUSTED,
                                "remote: %s", *s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The effective TrustState and TrustReasons from the local result and the remote verdict. */
static int trust_state_compute(Manager *m, Verdict *ret) {
        RemoteVerdictSlot *slot = m->remote;
        Verdict e = { .state = TRUST_STATE_TRUSTED };
        int r = 0;

        if (!slot)
                return -EINVAL;

        if (slot->mode != REMOTE_VERDICT_REMOTE) {
                e.state = slot->local_state;
                STRV_FOREACH(s, slot->local_reasons) {
                        r = strv_extend(&e.reasons, *s);
                        if (r < 0)
                                break;
                }
        }
        if (r >= 0 && slot->mode != REMOTE_VERDICT_LOCAL)
                r = fold_remote(slot, &e);
        if (r < 0) {
                verdict_done(&e);
                return r;
        }
        *ret = e;
        return 0;
}

static void trust_state_publish(Manager *m, bool last_attestation) {
        _cleanup_(verdict_done) Verdict v = {};
        bool state_changed, reasons_changed;
        int r;

        r = trust_state_compute(m, &v);
        if (r < 0) {
                log_warning_errno(r, "Failed to compute the trust state: %m");
                return;
        }

        state_changed = m->trust_state != v.state;
        reasons_changed = !strv_same(m->trust_reasons, v.reasons);
        if (state_changed)
                log_transition(m->trust_state, v.state, v.reasons,
                               last_attestation ? strna(m->attest_trigger) : "remote-verdict");

        m->trust_state = v.state;
        if (reasons_changed) {
                strv_free(m->trust_reasons);
                m->trust_reasons = TAKE_PTR(v.reasons);
        }

        if (!m->bus)
                return;
        /* sd-bus stops at the first NULL: list only what changed. */
        const char *names[4] = {};
        size_t n = 0;
        if (last_attestation)
                names[n++] = "LastAttestation";
        if (state_changed)
                names[n++] = "TrustState";
        if (reasons_changed)
                names[n++] = "TrustReasons";
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed(m->bus, TP_BUS_PATH, TP_BUS_INTERFACE_MANAGER, names[0], names[1],
                                           names[2], NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for the trust state: %m");
}

static void emit_remote_changed(Manager *m) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_properties_changed(m->bus, TP_BUS_PATH, TP_BUS_INTERFACE_MANAGER,
                                           "RemoteVerdictExpires", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for RemoteVerdictExpires: %m");
}

static char *verdict_path(Manager *m) {
        char *p = NULL;

        if (asprintf(&p, "%s/" REMOTE_VERDICT_FILE, m->state_dir) < 0)
                return NULL;
        return p;
}

static void remote_verdict_drop(Manager *m, bool expired) {
        RemoteVerdictSlot *slot = m->remote;
        _cleanup_free_ char *path = NULL;

        if (!slot->have)
                return;
        if (expired)
                log_notice("The remote verdict from %s expired.", strna(slot->verdict.issuer));
        attest_verdict_done(&slot->verdict);
        slot->have = false;
        slot->expired = expired;
        slot->expiry_timer = sd_event_source_disable_unref(slot->expiry_timer);
        path = verdict_path(m);
        if (path && unlink(path) < 0 && errno != ENOENT)
                log_debug_errno(errno, "Failed to remove %s: %m", path);
}

void manager_remote_verdict_check(Manager *m) {
        assert(m);

        if (!m->remote || !m->remote->have || m->remote->verdict.expires > now_sec())
                return;
        remote_verdict_drop(m, true);
        trust_state_publish(m, false);
        emit_remote_changed(m);
}

static int on_remote_verdict_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        manager_remote_verdict_check(m);
        if (m->remote->have) {
                /* Fired a bit early: try again at exp. */
                int r = sd_event_source_set_time(s, m->remote->verdict.expires * UINT64_C(1000000));
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r < 0)
                        log_warning_errno(r, "Failed to re-arm the remote verdict's expiry timer: %m");
        }
        return 0;
}

/* Takes v; arms the expiry timer. */
static int remote_verdict_store(Manager *m, AttestVerdict *v) {
        RemoteVerdictSlot *slot = m->remote;
        int r;

        attest_verdict_done(&slot->verdict);
        slot->verdict = *v;
        *v = (AttestVerdict){};
        slot->have = true;
        slot->expired = false;

        slot->expiry_timer = sd_event_source_disable_unref(slot->expiry_timer);
        if (!m->event)
                return 0;
        r = sd_event_add_time(m->event, &slot->expiry_timer, CLOCK_REALTIME,
                              slot->verdict.expires * UINT64_C(1000000), UINT64_C(1000),
                              on_remote_verdict_expired, m);
        if (r < 0)
                return log_warning_errno(r, "Failed to add the remote verdict's expiry timer: %m");
        return 0;
}

static int remote_verdict_verify(Manager *m, const char *jws, size_t size, AttestVerdict *ret, char *reason,
                                 size_t reason_size) {
        RemoteVerdictSlot *slot = m->remote;

        if (!slot->audience) {
                snprintf(reason, reason_size, "no audience: set [Attestation] Audience= or /etc/machine-id");
                return -EINVAL;
        }
        return attest_verdict_verify(jws, size, slot->keys, slot->n_keys, slot->audience, now_sec(), ret,
                                     reason, reason_size);
}

int manager_submit_verdict(Manager *m, const char *jws, size_t size, char *reason, size_t reason_size) {
        _cleanup_(attest_verdict_done) AttestVerdict v = {};
        _cleanup_free_ char *path = NULL;
        int r;

        assert(m);
        assert(reason && reason_size > 0);

        reason[0] = 0;
        if (!m->remote)
                return -EINVAL;

        r = remote_verdict_verify(m, jws, size, &v, reason, reason_size);
        if (r < 0)
                return r;

        path = verdict_path(m);
        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, jws, size, 0600);
        if (r < 0) {
                snprintf(reason, reason_size, "cannot store the verdict in %s: %s", path, strerror(-r));
                return r;
        }

        log_info("Accepted a remote verdict from %s: %s, valid until %" PRIu64 ".", strna(v.issuer),
                 v.trusted ? "trusted" : "untrusted", v.expires);
        (void) remote_verdict_store(m, &v);
        trust_state_publish(m, false);
        emit_remote_changed(m);
        return 0;
}

uint64_t manager_remote_verdict_expires(Manager *m) {
        assert(m);

        if (!m->remote || !m->remote->have)
                return 0;
        return m->remote->verdict.expires * UINT64_C(1000000);
}

/* The stored verdict from the last run, verified again: keys, audience or the clock may have changed. */
static void remote_verdict_load(Manager *m) {
        _cleanup_(attest_verdict_done) AttestVerdict v = {};
        _cleanup_free_ char *path = NULL, *text = NULL;
        char reason[256] = "";
        size_t size;
        int r;

        path = verdict_path(m);
        if (!path)
                return (void) log_oom();
        r = read_full_file(path, ATTEST_VERDICT_SIZE_MAX, &text, &size);
        if (r == -ENOENT)
                return;
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to read %s, ignoring: %m", path);

        r = remote_verdict_verify(m, text, size, &v, reason, sizeof(reason));
        if (r < 0) {
                log_notice("Ignoring the stored remote verdict %s: %s", path,
                           reason[0] ? reason : strerror(-r));
                if (r == -EKEYEXPIRED)
                        m->remote->expired = true;
                return;
        }
        log_info("Loaded the remote verdict from %s (%s, valid until %" PRIu64 ").", strna(v.issuer),
                 v.trusted ? "trusted" : "untrusted", v.expires);
        (void) remote_verdict_store(m, &v);
}

static int read_machine_id(char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file("/etc/machine-id", 64, &text, &size);
        if (r < 0)
                return r;
        if (size < 32)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++)
                if (!strchr("0123456789abcdef", text[i]) || text[i] == 0)
                        return -EINVAL;
        text[32] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

static bool pkey_is_p256(EVP_PKEY *key) {
        char group[32];

        return EVP_PKEY_is_a(key, "EC") &&
                EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ==
                1 &&
                (streq(group, "prime256v1") || streq(group, "P-256"));
}

static int load_verifier_key(RemoteVerdictSlot *slot, const char *path) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        EVP_PKEY **k;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open [Attestation] VerifierKeys= %s: %m", path);
        key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
        if (!key || !pkey_is_p256(key)) {
                ERR_clear_error();
                log_error("[Attestation] VerifierKeys= %s is not a PEM EC P-256 public key.", path);
                return -EINVAL;
        }
        k = reallocarray(slot->keys, slot->n_keys + 1, sizeof(EVP_PKEY *));
        if (!k)
                return log_oom();
        slot->keys = k;
        slot->keys[slot->n_keys++] = TAKE_PTR(key);
        return 0;
}

static void remote_verdict_slot_free(RemoteVerdictSlot *slot) {
        if (!slot)
                return;
        for (size_t i = 0; i < slot->n_keys; i++)
                EVP_PKEY_free(slot->keys[i]);
        free(slot->keys);
        free(slot->audience);
        attest_verdict_done(&slot->verdict);
        sd_event_source_disable_unref(slot->expiry_timer);
        strv_free(slot->local_reasons);
        free(slot);
}

int manager_remote_verdict_load_config(Manager *m, Config *config) {
        _cleanup_free_ char *mode = NULL, *keys = NULL;
        RemoteVerdictSlot *slot;
        int r;

        assert(m);

        slot = calloc(1, sizeof(RemoteVerdictSlot));
        if (!slot)
                return log_oom();
        remote_verdict_slot_free(m->remote);
        m->remote = slot;
        slot->local_state = TRUST_STATE_UNKNOWN;

        r = config_get_string(config, "Attestation", "RemoteVerdict", "local", &mode);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] RemoteVerdict=: %m");
        slot->mode = remote_verdict_mode_from_string(mode);
        if (slot->mode < 0) {
                log_error("[Attestation] RemoteVerdict=%s is not one of local, remote, both.", mode);
                return -EINVAL;
        }

        r = config_get_string(config, "Attestation", "Audience", NULL, &slot->audience);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] Audience=: %m");
        if (slot->audience && (isempty(slot->audience) || strlen(slot->audience) > 256)) {
                log_error("[Attestation] Audience= is empty or too long.");
                return -EINVAL;
        }
        if (!slot->audience) {
                r = read_machine_id(&slot->audience);
                if (r < 0)
                        log_notice_errno(r,
                                         "No machine ID (%m): remote verdicts need [Attestation] Audience=.");
        }

        r = config_get_string(config, "Attestation", "VerifierKeys", NULL, &keys);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] VerifierKeys=: %m");
        for (char *p = keys, *w; p && (w = strsep(&p, " \t"));) {
                if (isempty(w))
                        continue;
                r = load_verifier_key(slot, w);
                if (r < 0)
                        return r;
        }
        if (slot->mode != REMOTE_VERDICT_LOCAL && slot->n_keys == 0)
                log_warning("[Attestation] RemoteVerdict=%s without VerifierKeys=: no verdict can be accepted.",
                            mode);
        return 0;
}

static int attestation_begin(Manager *m, const char *trigger);
static void ima_watch_update(Manager *m);

static void reply_waiters(Manager *m, sd_bus_message **waiters, size_t n_waiters, int result) {
        int r;

        for (size_t i = 0; i < n_waiters; i++) {
                r = reply_waiter(waiters[i], m, result);
                if (r < 0)
                        log_debug_errno(r, "Failed to reply to Attest(): %m");
                sd_bus_message_unref(waiters[i]);
        }
        free(waiters);
}

static void attestation_finish(Manager *m, int result, Verdict *v) {
        sd_bus_message **waiters = TAKE_PTR(m->attest_waiters);
        size_t n_waiters = m->n_attest_waiters;
        int r;

        m->n_attest_waiters = 0;
        m->attest_running = false;

        if (result >= 0) {
                struct timespec ts;

                if (clock_gettime(CLOCK_REALTIME, &ts) >= 0)
                        m->last_attestation_usec = (uint64_t) ts.tv_sec * UINT64_C(1000000) +
                                (uint64_t) ts.tv_nsec / UINT64_C(1000);
                local_result_set(m, v);
                trust_state_publish(m, true);
        } else if (result != -ECANCELED)
                log_warning_errno(result, "Attestation failed: %m");

        reply_waiters(m, waiters, n_waiters, result);

        if (streq_ptr(m->attest_trigger, ATTEST_TRIGGER_IMA) &&
            sd_event_now(m->event, CLOCK_MONOTONIC, &m->ima_attest_usec) < 0)
                m->ima_attest_usec = 0;

        if (result == -ECANCELED) {
                /* Shutting down: nothing more starts. */
                reply_waiters(m, TAKE_PTR(m->attest_next_waiters), m->n_attest_next_waiters, result);
                m->n_attest_next_waiters = 0;
                return;
        }

        if (m->n_attest_next_waiters > 0) {
                /* The calls made while this one ran get one that starts after them. */
                m->attest_waiters = TAKE_PTR(m->attest_next_waiters);
                m->n_attest_waiters = m->n_attest_next_waiters;
                m->n_attest_next_waiters = 0;
                r = attestation_begin(m, "request");
                if (r < 0) {
                        log_warning_errno(r, "Failed to start the requested attestation: %m");
                        return attestation_finish(m, r, v);
                }
                if (m->attest_running)
                        return; /* its end updates the watch */
        }

        ima_watch_update(m);
}

static void attest_job_done(int result, void *userdata) {
        _cleanup_(attest_job_freep) AttestJob *j = userdata;
        Verdict *v = &j->verdict;
        Manager *m = j->manager;
        int r;

        if (result == -ECANCELED)
                return attestation_finish(m, result, v);

        if (j->ak_created)
                log_info("Attestation key '%s' created in %s.", ATTEST_AK_NAME, j->state_dir);

        if (result == -ENODEV)
                r = verdict_add(v, TRUST_STATE_UNKNOWN, "tpm: no TPM is available at '%s'", m->tcti);
        else if (result < 0)
                r = verdict_add(v, TRUST_STATE_UNKNOWN, "tpm: cannot quote the PCRs: %s", strerror(-result));
        else
                r = j->evaluate_result;
        if (r >= 0 && attest_policy_checks_nothing(j->policy))
                r = verdict_add(v, v->state, "policy: the policy is forced and checks nothing");

        attestation_finish(m, r, v);
}

/* ---- starting one ------------------------------------------------------------------------------- */

/* Reads the policy. 0 with *ret, or 0 with *ret NULL and the reason in v (unknown). */
static int load_policy(Manager *m, Verdict *v, AttestPolicy **ret) {
        _cleanup_free_ char *text = NULL;
        AttestPolicyError error = {};
        size_t size;
        int r;

        *ret = NULL;

        r = read_full_file(m->policy_path, ATTEST_POLICY_SIZE_MAX, &text, &size);
        if (r == -ENOENT)
                return verdict_add(v, TRUST_STATE_UNKNOWN,
                                   "policy: no policy configured (%s does not exist)", m->policy_path);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNKNOWN, "policy: cannot read %s: %s", m->policy_path,
                                   strerror(-r));

        r = attest_policy_parse(text, size, ret, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict_add(v, TRUST_STATE_UNKNOWN, "policy: %s is not a valid policy: %s",
                                   m->policy_path, error.message[0] ? error.message : strerror(-r));
        return 0;
}

/* What the watch compares the IMA log with: its size now, before this attestation reads it (after the
 * quote), so that growth after this point is never missed. */
static void ima_watch_measure(Manager *m) {
        int r;

        r = ima_log_measure(NULL, &m->ima_measure, &m->ima_measure_entries);
        if (r < 0)
                log_debug_errno(r, "Failed to measure the IMA log %s: %m", ima_log_default_path());
        m->ima_measured = r >= 0;
}

static int attestation_begin(Manager *m, const char *trigger) {
        _cleanup_(attest_job_freep) AttestJob *j = NULL;
        _cleanup_(verdict_done) Verdict v = { .state = TRUST_STATE_TRUSTED };
        Tpm2PcrBankMask masks[ELEMENTSOF(quote_banks)];
        bool quotes_ima_pcr = false;
        size_t n_masks = 0;
        int r;

        j = calloc(1, sizeof(AttestJob));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->verdict.state = TRUST_STATE_TRUSTED;
        j->state_dir = strdup(m->state_dir);
        if (!j->state_dir)
                return -ENOMEM;

        m->attest_running = true;
        m->attest_trigger = trigger;
        log_debug("Attesting the platform (%s).", trigger);

        r = load_policy(m, &v, &j->policy);
        if (r < 0 || !j->policy) {
                m->ima_watch_wanted = false;
                attestation_finish(m, r, &v);
                return 0;
        }

        j->policy_has_ima = attest_policy_has_ima(j->policy);

        for (size_t i = 0; i < ELEMENTSOF(quote_banks); i++) {
                uint32_t mask = attest_policy_quote_mask(j->policy, quote_banks[i]);

                if (j->policy_has_ima && quote_banks[i] == TPM2_ALG_SHA256)
                        mask |= UINT32_C(1) << IMA_PCR_DEFAULT;
                if (mask != 0)
                        masks[n_masks++] = (Tpm2PcrBankMask){ .bank = quote_banks[i], .mask = mask };
                if (mask & (UINT32_C(1) << IMA_PCR_DEFAULT))
                        quotes_ima_pcr = true;
        }
        m->ima_watch_wanted = j->policy_has_ima || quotes_ima_pcr;
        if (m->ima_watch_wanted && m->ima_watch_usec > 0)
                ima_watch_measure(m);
        if (n_masks == 0) {
                /* Only a forced empty policy quotes nothing. */
                r = verdict_add(&v, TRUST_STATE_TRUSTED, "policy: the policy is forced and checks nothing");
                attestation_finish(m, r, &v);
                return 0;
        }

        r = tpm2_pcr_selection_from_masks(masks, n_masks, &j->selection);
        if (r >= 0)
                r = attest_nonce_generate(j->nonce, sizeof(j->nonce));
        if (r < 0) {
                attestation_finish(m, r, &v);
                return 0;
        }

        r = tpm_worker_submit(m->tpm_worker, attest_job_run, attest_job_done, j);
        if (r < 0) {
                attestation_finish(m, r, &v);
                return 0;
        }
        TAKE_PTR(j);
        return 0;
}

static int waiters_add(sd_bus_message ***waiters, size_t *n, sd_bus_message *message) {
        sd_bus_message **w;

        w = reallocarray(*waiters, *n + 1, sizeof(sd_bus_message *));
        if (!w)
                return -ENOMEM;
        *waiters = w;
        w[(*n)++] = sd_bus_message_ref(message);
        return 0;
}

/* Starts an attestation for trigger; or, while one runs, message waits for the next one and anything
 * else joins the running one. */
static int attest_request(Manager *m, sd_bus_message *message, const char *trigger) {
        int r;

        if (message) {
                if (m->n_attest_waiters + m->n_attest_next_waiters >= ATTESTATION_WAITERS_MAX)
                        return -EBUSY;
                if (m->attest_running)
                        return waiters_add(&m->attest_next_waiters, &m->n_attest_next_waiters, message);
                r = waiters_add(&m->attest_waiters, &m->n_attest_waiters, message);
                if (r < 0)
                        return r;
        }

        if (m->attest_running)
                return 0;

        return attestation_begin(m, trigger);
}

int manager_attest(Manager *m, sd_bus_message *message) {
        assert(m);

        return attest_request(m, message, message ? "request" : "start");
}

/* ---- the IMA log watch -------------------------------------------------------------------------- */

static void log_ima_change(Manager *m, uint64_t value, bool entries) {
        const char *unit = entries ? "entries" : "bytes";

        if (!m->ima_measured)
                log_info("The IMA log %s can be measured again (%" PRIu64 " %s), attesting.",
                         ima_log_default_path(), value, unit);
        else if (entries != m->ima_measure_entries || value < m->ima_measure)
                log_info("The IMA log %s changed from %" PRIu64 " %s to %" PRIu64 " %s, attesting.",
                         ima_log_default_path(), m->ima_measure,
                         m->ima_measure_entries ? "entries" : "bytes", value, unit);
        else
                log_info("The IMA log %s grew from %" PRIu64 " to %" PRIu64 " %s, attesting.",
                         ima_log_default_path(), m->ima_measure, value, unit);
}

static int on_ima_watch(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t value, now_usec;
        bool entries;
        int r;

        if (m->attest_running) {
                /* attestation_finish() looks again: growth while one runs gives exactly one more. */
                m->ima_watch_deferred = true;
                return 0;
        }

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec);
        if (r >= 0)
                r = sd_event_source_set_time(s, now_usec + m->ima_watch_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to re-arm the IMA log watch: %m");

        r = ima_log_measure(NULL, &value, &entries);
        if (r < 0) {
                log_debug_errno(r, "Failed to measure the IMA log %s: %m", ima_log_default_path());
                return 0;
        }
        if (m->ima_measured && value == m->ima_measure && entries == m->ima_measure_entries)
                return 0;

        log_ima_change(m, value, entries);
        r = attest_request(m, NULL, ATTEST_TRIGGER_IMA);
        if (r < 0)
                log_warning_errno(r, "Failed to start the attestation for the IMA log: %m");
        return 0;
}

/* After an attestation: the watch runs while the policy asks for IMA; a poll that came while the
 * attestation ran happens now, but not sooner than ImaWatchInterval= after the end of the last
 * attestation the growth started (the rate limit: even when one takes longer than the interval, a log
 * that grows all the time leaves the TPM idle for an interval between two of them). */
static void ima_watch_update(Manager *m) {
        uint64_t now_usec, next;
        int enabled = SD_EVENT_OFF, r;

        if (!m->ima_watch_timer)
                return;

        if (!m->ima_watch_wanted) {
                m->ima_watch_deferred = false;
                r = sd_event_source_set_enabled(m->ima_watch_timer, SD_EVENT_OFF);
                if (r < 0)
                        log_warning_errno(r, "Failed to stop the IMA log watch: %m");
                return;
        }

        r = sd_event_source_get_enabled(m->ima_watch_timer, &enabled);
        if (r >= 0 && enabled != SD_EVENT_OFF && !m->ima_watch_deferred)
                return; /* armed */

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec);
        if (r >= 0) {
                next = m->ima_watch_deferred ? MAX(now_usec, m->ima_attest_usec + m->ima_watch_usec)
                                             : now_usec + m->ima_watch_usec;
                m->ima_watch_deferred = false;
                r = sd_event_source_set_time(m->ima_watch_timer, next);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(m->ima_watch_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the IMA log watch: %m");
}

static int on_attest_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = attest_request(m, NULL, "timer");
        if (r < 0)
                log_warning_errno(r, "Failed to start the periodic attestation: %m");

        r = sd_event_source_set_time_relative(s, m->attest_interval_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to re-arm the attestation timer: %m");
        return 0;
}

int manager_attestation_start(Manager *m) {
        int r;

        assert(m);

        if (m->remote) {
                remote_verdict_load(m);
                trust_state_publish(m, false);
        }

        if (m->ima_watch_usec > 0) {
                /* Armed by the first attestation that reads a policy asking for IMA. */
                r = sd_event_add_time(m->event, &m->ima_watch_timer, CLOCK_MONOTONIC, UINT64_MAX,
                                      m->ima_watch_usec / 10, on_ima_watch, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->ima_watch_timer, SD_EVENT_OFF);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the IMA log watch: %m");
        }

        r = manager_attest(m, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to start the first attestation: %m");

        if (m->attest_interval_usec == 0)
                return 0;

        r = sd_event_add_time_relative(m->event, &m->attest_timer, CLOCK_MONOTONIC, m->attest_interval_usec,
                                       UINT64_C(1000000), on_attest_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the attestation timer: %m");
        return 0;
}

void manager_attestation_done(Manager *m) {
        Verdict v = {};

        m->attest_timer = sd_event_source_disable_unref(m->attest_timer);
        m->ima_watch_timer = sd_event_source_disable_unref(m->ima_watch_timer);
        if (m->n_attest_waiters + m->n_attest_next_waiters > 0)
                attestation_finish(m, -ECANCELED, &v);
        free(m->policy_path);
        m->policy_path = NULL;
        remote_verdict_slot_free(m->remote);
        m->remote = NULL;
}
