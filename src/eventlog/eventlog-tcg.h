/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The TCG PC Client Platform Firmware Profile event log (securityfs tpm0/binary_bios_measurements):
 * parsing. Both formats:
 *  - legacy (TPM 1.2 style, SHA1 only): every event is a TCG_PCClientPCREvent
 *    (u32 PCR, u32 type, 20-byte SHA1 digest, u32 event size, event data);
 *  - crypto-agile: a first TCG_PCClientPCREvent of type EV_NO_ACTION whose data is the Spec ID event
 *    ("Spec ID Event03\0", platform class, spec version, uintn size, the algorithm list with digest
 *    sizes, vendor info), then TCG_PCR_EVENT2 records (u32 PCR, u32 type, u32 digest count, per digest
 *    u16 TPM_ALG_ID + digest of the size the Spec ID declared, u32 event size, event data).
 * Little-endian throughout. Every byte is hostile: every length is checked against what is left and
 * against the limits below, and every error names the event index, the byte offset and what is wrong.
 * Parsing does not decode event data (eventlog-uefi.h) and does not hash (eventlog-replay.h). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

/* Limits on what one parse can make us allocate. A real log is 10-100 KB with a few hundred events. */
#define EVENTLOG_SIZE_MAX (64U * 1024U * 1024U)
#define EVENTLOG_EVENTS_MAX (1024U * 1024U)
#define EVENTLOG_EVENT_DATA_MAX (16U * 1024U * 1024U)
/* Algorithms a Spec ID event may declare (the TPM's hash algorithms: sha1, sha256, sha384, sha512,
 * sm3_256, sha3_256/384/512). */
#define EVENTLOG_BANKS_MAX 8U
/* Largest digest a Spec ID event may declare. */
#define EVENTLOG_DIGEST_MAX 64U
/* PCR indexes an event may name (a PC Client TPM has 24). */
#define EVENTLOG_PCRS_MAX 24U

/* Where the log is read from when no path is given: $TRUSTED_PLATFORM_EVENTLOG if set and not empty,
 * else this. */
#define EVENTLOG_PATH_DEFAULT "/sys/kernel/security/tpm0/binary_bios_measurements"

/* Event types (TCG PC Client PFP 2.0 §10.4.1). Unknown types are kept and shown raw, never rejected. */
#define EV_PREBOOT_CERT 0x00000000U
#define EV_POST_CODE 0x00000001U
#define EV_UNUSED 0x00000002U
#define EV_NO_ACTION 0x00000003U
#define EV_SEPARATOR 0x00000004U
#define EV_ACTION 0x00000005U
#define EV_EVENT_TAG 0x00000006U
#define EV_S_CRTM_CONTENTS 0x00000007U
#define EV_S_CRTM_VERSION 0x00000008U
#define EV_CPU_MICROCODE 0x00000009U
#define EV_PLATFORM_CONFIG_FLAGS 0x0000000AU
#define EV_TABLE_OF_DEVICES 0x0000000BU
#define EV_COMPACT_HASH 0x0000000CU
#define EV_IPL 0x0000000DU
#define EV_IPL_PARTITION_DATA 0x0000000EU
#define EV_NONHOST_CODE 0x0000000FU
#define EV_NONHOST_CONFIG 0x00000010U
#define EV_NONHOST_INFO 0x00000011U
#define EV_OMIT_BOOT_DEVICE_EVENTS 0x00000012U
#define EV_POST_CODE2 0x00000013U
#define EV_EFI_EVENT_BASE 0x80000000U
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001U
#define EV_EFI_VARIABLE_BOOT 0x80000002U
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003U
#define EV_EFI_BOOT_SERVICES_DRIVER 0x80000004U
#define EV_EFI_RUNTIME_SERVICES_DRIVER 0x80000005U
#define EV_EFI_GPT_EVENT 0x80000006U
#define EV_EFI_ACTION 0x80000007U
#define EV_EFI_PLATFORM_FIRMWARE_BLOB 0x80000008U
#define EV_EFI_HANDOFF_TABLES 0x80000009U
#define EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000AU
#define EV_EFI_HANDOFF_TABLES2 0x8000000BU
#define EV_EFI_VARIABLE_BOOT2 0x8000000CU
#define EV_EFI_GPT_EVENT2 0x8000000DU
#define EV_EFI_HCRTM_EVENT 0x80000010U
#define EV_EFI_VARIABLE_AUTHORITY 0x800000E0U
#define EV_EFI_SPDM_FIRMWARE_BLOB 0x800000E1U
#define EV_EFI_SPDM_FIRMWARE_CONFIG 0x800000E2U

/* "EV_SEPARATOR", ... for the types above; NULL for others (callers print "0x%08x"). */
const char *eventlog_event_type_to_string(uint32_t type);
/* "EV_SEPARATOR" (or "0x00000004") -> the type; -EINVAL if neither. Returns int64 so that every u32 fits. */
int64_t eventlog_event_type_from_string(const char *s);

typedef enum EventlogFormat {
        EVENTLOG_FORMAT_LEGACY,       /* SHA1 TCG_PCClientPCREvent records only */
        EVENTLOG_FORMAT_CRYPTO_AGILE, /* Spec ID Event03, then TCG_PCR_EVENT2 records */
        _EVENTLOG_FORMAT_MAX,
        _EVENTLOG_FORMAT_INVALID = -EINVAL,
} EventlogFormat;

const char *eventlog_format_to_string(EventlogFormat f); /* "legacy", "crypto-agile" */

/* "sha1", "sha256", ... for the TPM_ALG_ID of a hash a PC Client TPM may have; NULL for others. */
const char *eventlog_alg_to_string(uint16_t alg);

/* Where and what: message holds the whole sentence, location included, e.g.
 * "event 12 at byte offset 3456: digest count 9 exceeds the 2 algorithms of the Spec ID event". */
typedef struct EventlogError {
        uint64_t event; /* index of the event (0 = the first record, the Spec ID event in crypto-agile logs) */
        uint64_t offset; /* byte offset of the problem (the field, not the event start) */
        char message[256];
} EventlogError;

/* Fills *e (if not NULL) and returns r (a negative errno). */
int eventlog_error_set(EventlogError *e, int r, uint64_t event, uint64_t offset, const char *format, ...)
        __attribute__((format(printf, 5, 6)));

typedef struct EventlogBank {
        uint16_t alg;  /* TPM_ALG_ID as declared; may be one we have no hash for (kept, not replayed) */
        uint16_t size; /* digest size as declared; for algorithms we know it must be theirs */
} EventlogBank;

typedef struct EventlogDigest {
        uint16_t alg;
        uint16_t size;
        const uint8_t *data; /* into EventLog.data */
} EventlogDigest;

typedef struct EventlogEvent {
        uint32_t index;  /* position in the log, 0-based; the Spec ID event (crypto-agile) is event 0 */
        uint64_t offset; /* byte offset of the event's first byte */
        uint32_t pcr;
        uint32_t type;
        size_t n_digests;
        EventlogDigest digests[EVENTLOG_BANKS_MAX]; /* in the event's order (normally the Spec ID's); each
                                                     * alg at most once; a bank may be missing (see
                                                     * eventlog_parse()); none for the Spec ID event */
        const uint8_t *data;                        /* event data, into EventLog.data (NULL if size 0) */
        uint32_t data_size;
} EventlogEvent;

typedef struct EventLog {
        EventlogFormat format;
        uint8_t *data; /* our copy of the whole log; events point into it */
        size_t size;

        /* From the Spec ID event (crypto-agile); legacy logs: one bank, sha1/20, version 1.2. */
        uint32_t platform_class;
        uint8_t spec_version_major, spec_version_minor, spec_errata;
        uint8_t uintn_size; /* 1: UINT32, 2: UINT64 */
        size_t n_banks;
        EventlogBank banks[EVENTLOG_BANKS_MAX];
        const uint8_t *vendor_info; /* into data, NULL if none */
        uint8_t vendor_info_size;
        /* The Spec ID event's EventSize ended right after vendorInfoSize and the vendor info followed the
         * event (as tpm2-tools writes it): read from there, and reported here. */
        bool vendor_info_outside_event;

        /* The StartupLocality EV_NO_ACTION event (PCR 0 starts at this locality instead of 0). */
        bool has_startup_locality;
        uint8_t startup_locality;

        EventlogEvent *events; /* every record, the Spec ID event and other EV_NO_ACTION events included */
        size_t n_events;
} EventLog;

/* Parses size bytes at data (copied). Returns 0 with *ret (eventlog_free()), or a negative errno with
 * *ret_error filled (may be NULL):
 *   -EBADMSG  malformed: truncated anywhere, Spec ID missing (an EV_NO_ACTION first record that is not
 *             a Spec ID while the rest is crypto-agile), duplicated (a second Spec ID event), or
 *             inconsistent (zero algorithms, an algorithm twice, a known algorithm with a wrong size,
 *             a size > EVENTLOG_DIGEST_MAX or 0, uintnSize not 1 or 2, vendorInfoSize past the Spec ID
 *             event's EventSize, bytes after the vendor info), an event digest count of 0 or above the
 *             Spec ID's algorithm count (fewer is accepted, as tpm2-tools' fixtures have it: the event
 *             is then not extended in the banks it lacks), a digest algorithm the Spec ID did not declare
 *             or given twice, a PCR index >= EVENTLOG_PCRS_MAX, a malformed StartupLocality event
 *             (not PCR 0, not 17 bytes, locality > 4, twice, or after PCR 0 was extended), a first
 *             event that is EV_NO_ACTION but neither Spec ID Event03 nor the TCG 1.2 Spec ID Event00
 *             (which starts a legacy log), an empty or all-zero log
 *   -E2BIG    a limit above exceeded (log size, event count, event data size, algorithm count)
 *   -ENOMEM
 * Trailing zero bytes after the last event (some firmware pads the log) end the log; other trailing
 * bytes that do not form an event are an error. */
int eventlog_parse(const void *data, size_t size, EventLog **ret, EventlogError *ret_error);

EventLog *eventlog_free(EventLog *log);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventLog *, eventlog_free);

/* The digest of event e for alg, or NULL. */
const EventlogDigest *eventlog_event_digest(const EventlogEvent *e, uint16_t alg);

/* $TRUSTED_PLATFORM_EVENTLOG if set and not empty, else EVENTLOG_PATH_DEFAULT. */
const char *eventlog_default_path(void);

/* Reads the log at path (NULL: eventlog_default_path()), at most EVENTLOG_SIZE_MAX bytes (securityfs
 * files report size 0: read until EOF). */
int eventlog_read_file(const char *path, uint8_t **ret_data, size_t *ret_size);
