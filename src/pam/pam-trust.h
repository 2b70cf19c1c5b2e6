/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The logic of pam_trusted_platform.so: module options, the trust-state query over the system bus,
 * and the decision. pam_trusted_platform.c only forwards pam_sm_acct_mgmt() to pam_trust_account().
 *
 * Nothing here keeps global state or starts threads: each account check parses its options, opens
 * its own bus connection, asks once, closes it and decides. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <security/pam_modules.h>
#include <systemd/sd-bus.h>

#define PAM_TRUST_USEC_PER_SEC UINT64_C(1000000)
#define PAM_TRUST_USEC_PER_MSEC UINT64_C(1000)

#define PAM_TRUST_MAX_AGE_DEFAULT_SEC UINT64_C(3600)
/* Ten years: more is no limit at all, and max_age=0 says that plainly. */
#define PAM_TRUST_MAX_AGE_MAX_SEC (UINT64_C(10) * 366 * 24 * 3600)
#define PAM_TRUST_TIMEOUT_DEFAULT_MSEC UINT64_C(2000)
#define PAM_TRUST_TIMEOUT_MIN_MSEC UINT64_C(1)
#define PAM_TRUST_TIMEOUT_MAX_MSEC UINT64_C(30000)
/* A last attestation this far in the future is still accepted (clocks of the daemon and of the login
 * process are the same clock, but an NTP step can come between the two reads). */
#define PAM_TRUST_CLOCK_SKEW_USEC (UINT64_C(60) * PAM_TRUST_USEC_PER_SEC)
#define PAM_TRUST_EXEMPT_GROUPS_MAX 64
#define PAM_TRUST_GROUP_NAME_MAX 256
/* Bounds on what the bus answer can make us keep: only the first reason is shown. */
#define PAM_TRUST_REASONS_MAX 1024
#define PAM_TRUST_REASON_SHOWN_MAX 256

typedef enum PamTrustMode {
        PAM_TRUST_MODE_ENFORCE,
        PAM_TRUST_MODE_WARN,
        _PAM_TRUST_MODE_MAX,
        _PAM_TRUST_MODE_INVALID = -EINVAL,
} PamTrustMode;

const char *pam_trust_mode_to_string(PamTrustMode m);
PamTrustMode pam_trust_mode_from_string(const char *s);

typedef struct PamTrustOptions {
        uint64_t max_age_usec; /* 0: no age limit */
        PamTrustMode mode;
        char **exempt_groups; /* strv, NULL when none */
        bool debug;
        uint64_t timeout_usec;
} PamTrustOptions;

/* Frees what pam_trust_options_parse() allocated; safe on a zeroed struct. */
void pam_trust_options_done(PamTrustOptions *o);

/* Parses the module arguments into *ret (which it initialises with the defaults first). An unknown
 * or malformed argument is logged with pam_syslog(pamh, LOG_ERR, ...) and skipped; a malformed mode=
 * sets enforce, so that a typo never loosens the check. Returns 0, or -ENOMEM (then *ret is freed). */
int pam_trust_options_parse(pam_handle_t *pamh, int argc, const char **argv, PamTrustOptions *ret);

typedef enum PamTrustState {
        PAM_TRUST_STATE_TRUSTED,
        PAM_TRUST_STATE_UNTRUSTED,
        PAM_TRUST_STATE_UNKNOWN,
        _PAM_TRUST_STATE_MAX,
        _PAM_TRUST_STATE_INVALID = -EINVAL,
} PamTrustState;

const char *pam_trust_state_to_string(PamTrustState s);
PamTrustState pam_trust_state_from_string(const char *s);

typedef struct PamTrustStatus {
        PamTrustState state;
        char *reason; /* first TrustReasons entry, made printable and bounded; NULL when none */
        size_t n_reasons;
        uint64_t last_attestation_usec; /* CLOCK_REALTIME, 0 = never */
} PamTrustStatus;

void pam_trust_status_done(PamTrustStatus *s);

/* Reads the a{sv} of a Properties.GetAll reply for the Manager interface, positioned at its start.
 * TrustState, TrustReasons and LastAttestation must all be present with their types, and TrustState
 * must be one of the known states; other properties are skipped. Returns 0 and fills *ret, -EBADMSG
 * for a malformed answer, -ENOMEM. */
int pam_trust_status_from_message(sd_bus_message *m, PamTrustStatus *ret);

/* Opens a new system bus connection (sd_bus_open_system(): $DBUS_SYSTEM_BUS_ADDRESS only when the
 * process is not privileged by exec), calls GetAll on the Manager with the given timeout, closes
 * the connection. Returns 0, -ETIMEDOUT, -EBADMSG for a malformed answer, or another negative errno
 * when the daemon cannot be reached (the D-Bus error mapped by sd-bus). */
int pam_trust_query(uint64_t timeout_usec, PamTrustStatus *ret);

typedef enum PamTrustVerdict {
        PAM_TRUST_ALLOW,
        PAM_TRUST_DENY_UNTRUSTED,
        PAM_TRUST_DENY_UNKNOWN,
        PAM_TRUST_DENY_NEVER_ATTESTED,
        PAM_TRUST_DENY_STALE,
        PAM_TRUST_DENY_FUTURE,
        PAM_TRUST_DENY_NO_ANSWER,
        PAM_TRUST_DENY_MALFORMED,
        _PAM_TRUST_VERDICT_MAX,
        _PAM_TRUST_VERDICT_INVALID = -EINVAL,
} PamTrustVerdict;

/* A short name for logs ("untrusted", "stale", "no-answer", ...). */
const char *pam_trust_verdict_to_string(PamTrustVerdict v);

/* query_r is what pam_trust_query() returned; status is only read when query_r >= 0. */
PamTrustVerdict pam_trust_decide(const PamTrustOptions *o, int query_r, const PamTrustStatus *status,
                                 uint64_t now_usec);

/* The reason as the user reads it, without "Login refused:" or "Warning:" (the caller adds those),
 * e.g. "this computer failed its integrity check (PCR 7 changed)". Returns 0 and a new string in
 * *ret, or -ENOMEM. */
int pam_trust_verdict_describe(PamTrustVerdict v, const PamTrustOptions *o, const PamTrustStatus *status,
                               uint64_t now_usec, char **ret);

/* Whether user is a member (primary or supplementary, through NSS) of one of the groups. Returns 1
 * or 0; -ENOENT when the user does not exist, other negative errno on lookup failures. Groups that
 * do not exist are not matched. */
int pam_trust_user_in_groups(const char *user, char *const *groups);

/* The whole account check: returns a PAM_* code. */
int pam_trust_account(pam_handle_t *pamh, int flags, int argc, const char **argv);
