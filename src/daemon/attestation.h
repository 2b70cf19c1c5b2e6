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
