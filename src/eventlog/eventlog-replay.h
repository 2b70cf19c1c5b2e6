/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Replay of a firmware event log into PCR values, comparison with PCR values read from a TPM or taken
 * from a verified quote, and the check of event digests against event data.
 *
 * Replay: for every bank of the log we have a hash for, every PCR starts at zero, except PCR 0 which
 * starts at the StartupLocality value (0...0 || locality) when the log has that event; every event
 * except EV_NO_ACTION extends its PCR with its digest of that bank: new = H(old || digest) (an event
 * that carries no digest for the bank, see eventlog_parse(), does not extend it: the replayed value
 * then differs from the TPM's, which is the truth about such a log).
 *
 * Digest checks: for event types whose digest the spec defines over the event data, the digest of
 * every bank must equal the bank's hash of that data. An event whose data does not match its digest
 * says something other than what was measured: it is reported (index, type, PCR, bank), and the facts
 * (eventlog-facts.h) are never taken from such an event, nor from an event of a type whose digest is
 * not over its data. So relabelling an event's type (the type is not measured) cannot make a changed
 * measurement look like an unchanged fact: the fact is then missing, not wrong. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventlog/eventlog-tcg.h"

typedef struct EventlogReplay {
        size_t n_banks; /* the banks of the log we could replay (an OpenSSL digest exists) */
        EventlogBank banks[EVENTLOG_BANKS_MAX];
        uint32_t pcr_mask; /* PCRs with at least one extended event (PCR 0 also with a StartupLocality) */
        uint8_t pcrs[EVENTLOG_BANKS_MAX][EVENTLOG_PCRS_MAX][EVENTLOG_DIGEST_MAX];
        /* Banks the log declares that we have no hash for: kept to report them, not replayed. */
        size_t n_skipped;
        uint16_t skipped[EVENTLOG_BANKS_MAX];
} EventlogReplay;

/* Replays log. Returns 0 with *ret (eventlog_replay_free()), -EOPNOTSUPP with *ret_error when no bank
 * of the log can be replayed, -ENOMEM, -EIO (OpenSSL). */
int eventlog_replay(const EventLog *log, EventlogReplay **ret, EventlogError *ret_error);

EventlogReplay *eventlog_replay_free(EventlogReplay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventlogReplay *, eventlog_replay_free);

/* The replayed value of pcr in bank: 0 with *ret and *ret_size, -ENOENT (bank not replayed),
 * -EINVAL (pcr >= EVENTLOG_PCRS_MAX). */
int eventlog_replay_pcr(const EventlogReplay *r, uint16_t bank, uint32_t pcr, const uint8_t **ret,
                        size_t *ret_size);

/* A PCR value from elsewhere: the TPM (tpm2_pcr_read()) or a verified quote. Same layout as
 * Tpm2PcrValue, which this layer cannot include. */
typedef struct EventlogPcrValue {
        uint32_t index;
        uint16_t bank;
        size_t size;
        uint8_t digest[EVENTLOG_DIGEST_MAX];
} EventlogPcrValue;

typedef enum EventlogPcrResult {
        EVENTLOG_PCR_MATCH,        /* replayed value == actual value */
        EVENTLOG_PCR_MISMATCH,     /* differs: something was extended that the log does not show, or the
                                    * log was changed */
        EVENTLOG_PCR_BANK_MISSING, /* the log has no (replayable) digests for this bank */
        _EVENTLOG_PCR_RESULT_MAX,
        _EVENTLOG_PCR_RESULT_INVALID = -EINVAL,
} EventlogPcrResult;

const char *eventlog_pcr_result_to_string(EventlogPcrResult r); /* "match", "mismatch", "bank-missing" */

typedef struct EventlogPcrComparison {
        uint32_t index;
        uint16_t bank;
        EventlogPcrResult result;
        size_t size;
        uint8_t replayed[EVENTLOG_DIGEST_MAX]; /* valid unless BANK_MISSING */
        uint8_t actual[EVENTLOG_DIGEST_MAX];
        uint32_t last_event; /* index of the last event extended into this PCR, UINT32_MAX if none */
} EventlogPcrComparison;

/* Compares the replayed values with n actual values (any order, any banks, each (bank, index) at
 * most once). *ret (free()) has one entry per actual value, in the order given. Returns the number of
 * entries that are not MATCH (0: all match), or -EINVAL (index >= EVENTLOG_PCRS_MAX, size not the
 * bank's, a pair twice), -ENOMEM. log gives last_event. */
int eventlog_replay_compare(const EventlogReplay *r, const EventLog *log, const EventlogPcrValue *actual,
                            size_t n, EventlogPcrComparison **ret);

typedef enum EventlogDigestStatus {
        EVENTLOG_DIGEST_NOT_CHECKED, /* the type's digest is not defined over its data (EV_POST_CODE,
                                      * boot applications: a PE image hash, EV_NO_ACTION, unknown types) */
        EVENTLOG_DIGEST_VERIFIED,    /* every bank's digest equals the hash of the data (or of the variant
                                      * the spec allows for the type, e.g. EV_IPL with/without NUL) */
        EVENTLOG_DIGEST_MISMATCH,    /* at least one bank's digest does not */
        _EVENTLOG_DIGEST_STATUS_MAX,
        _EVENTLOG_DIGEST_STATUS_INVALID = -EINVAL,
} EventlogDigestStatus;

const char *eventlog_digest_status_to_string(EventlogDigestStatus s); /* "not-checked", "verified", "mismatch" */

/* Whether type's digest is defined over its event data: EV_SEPARATOR, EV_ACTION, EV_EFI_ACTION,
 * EV_S_CRTM_VERSION, EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_BOOT(2) (over the whole
 * UEFI_VARIABLE_DATA or, as many firmwares do, over VariableData only), EV_EFI_VARIABLE_AUTHORITY,
 * EV_EFI_GPT_EVENT(2), EV_IPL (GRUB/shim strings, with or without the NUL), EV_EVENT_TAG,
 * EV_PLATFORM_CONFIG_FLAGS, EV_OMIT_BOOT_DEVICE_EVENTS, EV_COMPACT_HASH. The list, with the spec section
 * for each, is in eventlog-replay.c. Two of them are checked only where the data is what was measured:
 * EV_IPL only in PCR 8 (GRUB "grub_cmd: "/"kernel_cmdline: " strings, hashed without prefix and NUL;
 * systemd-boot's command line), since in other PCRs it names what was measured (GRUB files in PCR 9,
 * shim's MokList in PCR 14); EV_EVENT_TAG only in PCRs 0-7. eventlog_check_digests() gives those others
 * NOT_CHECKED. */
bool eventlog_event_type_digest_covers_data(uint32_t type);

/* Checks every event of log: ret (free()) gets one status per event (log->n_events entries) and
 * *ret_first_mismatch the index of the first MISMATCH event (UINT32_MAX if none). For a mismatch,
 * *ret_error (may be NULL) names the event, its type, PCR and the first bank that differs. Returns the
 * number of MISMATCH events (>= 0), -ENOMEM, -EIO. */
int eventlog_check_digests(const EventLog *log, EventlogDigestStatus **ret, uint32_t *ret_first_mismatch,
                           EventlogError *ret_error);
