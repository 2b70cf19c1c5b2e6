/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Local attestation (issue 7): the daemon checks its own platform against the measured-boot policy.
 * One attestation: a fresh nonce, a quote of the policy's PCRs with the default AK on the TPM worker,
 * then on the event loop (cheap, no TPM): the quote is verified, the firmware event log is replayed and
 * compared with the quoted PCRs, its facts are built, the IMA log is read when the policy has IMA rules,
 * and the policy is evaluated. The result sets Manager.TrustState, TrustReasons and LastAttestation.
 *
 * Runs at start-up, every [Attestation] Interval= seconds, and on Manager.Attest(). Only one runs at a
 * time: callers that ask while one runs get its result (this is also the rate limit). */

#include <systemd/sd-bus.h>

#include "daemon/manager.h"

/* The journal's MESSAGE_ID of a TrustState transition. */
#define TP_MESSAGE_TRUST_STATE_CHANGED_STR "c09fcad0d95a4657a08c9507047ec430"

/* Where the policy is read from unless [Attestation] Policy= says otherwise. */
#define ATTESTATION_POLICY_DEFAULT PKGSYSCONFDIR "/policy.json"
#define ATTESTATION_INTERVAL_DEFAULT_SEC 300U
/* At most this many Attest() callers wait for one attestation; more get LimitsExceeded. */
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
