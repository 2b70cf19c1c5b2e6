/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Local attestation (issue 7): the daemon checks its own platform against the measured-boot policy.
 * One attestation: a fresh nonce, a quote of the policy's PCRs with the default AK on the TPM worker,
 * then, still on the worker but without the TPM (a long IMA log takes a second to parse, and the event
 * loop must keep answering the bus): the quote is verified, the firmware event log is replayed and
 * compared with the quoted PCRs, its facts are built, the IMA log is read when the policy has IMA rules,
 * and the policy is evaluated. Back on the event loop, the result sets Manager.TrustState, TrustReasons
 * and LastAttestation.
 *
 * Runs at start-up, every [Attestation] Interval= seconds, on Manager.Attest(), and when the IMA log
 * grows. Only one runs at a time. An Attest() call made while one runs waits for the next one, which
 * starts when the running one ends and is shared by every call made meanwhile: a caller always gets a
 * result whose policy and evidence were read after its call, and callers cannot make more than one
 * attestation wait. The timer does not queue: it joins a running attestation.
 *
 * The IMA log (securityfs sends no inotify events) is polled every [Attestation] ImaWatchInterval=
 * seconds with ima_log_measure(), a read of the kernel's small entry count file (or a stat() of a plain
 * file), never a parse. Only while the policy read by the last attestation has IMA rules or quotes PCR
 * 10. A value that differs from the one measured when the last attestation started starts one; growth
 * seen while one runs is looked at again when it ends, so it gives exactly one more. An attestation the
 * growth starts begins at least ImaWatchInterval= after the previous one it started ended, so a log that
 * grows all the time cannot keep the TPM busy. */

#include <systemd/sd-bus.h>

#include "daemon/manager.h"

/* The journal's MESSAGE_ID of a TrustState transition. */
#define TP_MESSAGE_TRUST_STATE_CHANGED_STR "c09fcad0d95a4657a08c9507047ec430"

/* Where the policy is read from unless [Attestation] Policy= says otherwise. */
#define ATTESTATION_POLICY_DEFAULT PKGSYSCONFDIR "/policy.json"
#define ATTESTATION_INTERVAL_DEFAULT_SEC 300U
#define ATTESTATION_IMA_WATCH_DEFAULT_SEC 5U
/* At most this many Attest() callers wait (for the running one and the next together); more get
 * LimitsExceeded. */
#define ATTESTATION_WAITERS_MAX 64U

/* Starts an attestation, or joins the one running. message: an Attest() call to reply to with
 * (s state, as reasons) once done, or NULL. Returns 0, or a negative errno (nothing started). */
int manager_attest(Manager *m, sd_bus_message *message);

/* The first attestation and the timer; called once the bus is connected. */
int manager_attestation_start(Manager *m);

/* Frees the attestation state (replies NoReply to waiting callers). */
void manager_attestation_done(Manager *m);

/* ---- the remote verdict (issue 7, item 4) ------------------------------------------------------------
 * A verifier's signed result (a compact JWS, attest-verdict.h), submitted with Manager.SubmitVerdict(),
 * kept in memory and in <state>/remote-verdict.jws (verified again when loaded), and folded with the
 * local result into TrustState as [Attestation] RemoteVerdict= says:
 *   local   the remote verdict is ignored (the default)
 *   remote  only the remote verdict counts; none or an expired one gives unknown
 *   both    trusted only when both are trusted; the reasons of each, the remote ones as "remote: ..."
 * The verdict is dropped when it expires (a timer at exp, and a check on each read of TrustState). */

#define REMOTE_VERDICT_FILE "remote-verdict.jws"

typedef struct Config Config;

typedef enum RemoteVerdictMode {
        REMOTE_VERDICT_LOCAL,
        REMOTE_VERDICT_REMOTE,
        REMOTE_VERDICT_BOTH,
        _REMOTE_VERDICT_MODE_MAX,
        _REMOTE_VERDICT_MODE_INVALID = -EINVAL,
} RemoteVerdictMode;

const char *remote_verdict_mode_to_string(RemoteVerdictMode m) _const_;
RemoteVerdictMode remote_verdict_mode_from_string(const char *s) _pure_;

/* [Attestation] RemoteVerdict=, VerifierKeys= (PEM public keys, EC P-256, separated by spaces), Audience=
 * (default: the machine ID from /etc/machine-id). */
int manager_remote_verdict_load_config(Manager *m, Config *config);

/* Verifies jws and, when it is accepted, stores it (memory and disk) and recomputes TrustState.
 * Returns 0, or a negative errno (attest_verdict_verify()) with the reason in reason. */
int manager_submit_verdict(Manager *m, const char *jws, size_t size, char *reason, size_t reason_size);

/* The stored verdict's exp in µs since the epoch, 0: none. */
uint64_t manager_remote_verdict_expires(Manager *m);

/* Drops an expired remote verdict and recomputes TrustState (signals on a change). */
void manager_remote_verdict_check(Manager *m);
