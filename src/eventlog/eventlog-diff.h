/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mismatch diagnostics: what changed between two boots, in terms a person understands, from the facts
 * (eventlog-facts.h) of an old and a new firmware event log, e.g. "db: certificate 'Microsoft UEFI CA
 * 2023' added", "Secure Boot disabled", "kernel command line changed: 'root=/dev/sda1 ro' → 'root=/dev/sda1
 * ro init=/bin/sh'", "boot application digest changed: \EFI\debian\grubx64.efi".
 *
 * The facts may come from a file a user gave us (facts saved earlier): every key is optional and a value
 * of the wrong type counts as absent, never as an error. With both logs too, changes the facts cannot
 * express are found from the events themselves (firmware blobs whose digest changed, PCRs whose events
 * differ). */

#include <errno.h>

#include <jansson.h>

#include "eventlog/eventlog-tcg.h"

typedef enum EventlogChangeKind {
        EVENTLOG_CHANGE_FORMAT,           /* "format": legacy / crypto-agile */
        EVENTLOG_CHANGE_BANKS,            /* "banks": the banks the log declares */
        EVENTLOG_CHANGE_STARTUP_LOCALITY, /* "startup-locality" */
        EVENTLOG_CHANGE_SECURE_BOOT, /* "secure-boot": SecureBoot / SetupMode / AuditMode / DeployedMode */
        EVENTLOG_CHANGE_SIGNATURE_DATABASE,  /* "signature-database": PK/KEK/db/dbx measured or no longer */
        EVENTLOG_CHANGE_CERTIFICATE_ADDED,   /* "certificate-added": an X.509 entry of PK/KEK/db/dbx */
        EVENTLOG_CHANGE_CERTIFICATE_REMOVED, /* "certificate-removed" */
        EVENTLOG_CHANGE_HASHES_ADDED,        /* "hashes-added": hash entries (counted) */
        EVENTLOG_CHANGE_HASHES_REMOVED,      /* "hashes-removed" */
        EVENTLOG_CHANGE_AUTHORITY_ADDED,     /* "authority-added": EV_EFI_VARIABLE_AUTHORITY */
        EVENTLOG_CHANGE_AUTHORITY_REMOVED,   /* "authority-removed" */
        EVENTLOG_CHANGE_BOOT_ORDER,          /* "boot-order" */
        EVENTLOG_CHANGE_BOOT_ENTRY_ADDED,    /* "boot-entry-added": Boot#### */
        EVENTLOG_CHANGE_BOOT_ENTRY_REMOVED,  /* "boot-entry-removed" */
        EVENTLOG_CHANGE_BOOT_ENTRY_CHANGED,  /* "boot-entry-changed" */
        EVENTLOG_CHANGE_BOOT_APPLICATION_ADDED,   /* "boot-application-added" */
        EVENTLOG_CHANGE_BOOT_APPLICATION_REMOVED, /* "boot-application-removed" */
        EVENTLOG_CHANGE_BOOT_APPLICATION_CHANGED, /* "boot-application-changed": same path, other digest */
        EVENTLOG_CHANGE_BOOT_LOADER,              /* "boot-loader": the first boot application */
        EVENTLOG_CHANGE_KERNEL,                   /* "kernel" */
        EVENTLOG_CHANGE_KERNEL_CMDLINE,           /* "kernel-cmdline" */
        EVENTLOG_CHANGE_GRUB_COMMAND_ADDED,       /* "grub-command-added" */
        EVENTLOG_CHANGE_GRUB_COMMAND_REMOVED,     /* "grub-command-removed" */
        EVENTLOG_CHANGE_SEPARATOR,                /* "separator": ok / error / missing, per PCR */
        EVENTLOG_CHANGE_PCRS_AFTER_SEPARATOR,     /* "pcrs-after-separator" */
        EVENTLOG_CHANGE_FIRMWARE_BLOB_ADDED,      /* "firmware-blob-added" */
        EVENTLOG_CHANGE_FIRMWARE_BLOB_REMOVED,    /* "firmware-blob-removed" */
        EVENTLOG_CHANGE_FIRMWARE_BLOB_CHANGED, /* "firmware-blob-changed": length, or digest (logs given) */
        EVENTLOG_CHANGE_GPT,                   /* "gpt": disk GUID or partitions */
        EVENTLOG_CHANGE_DIGEST_MISMATCHES,     /* "digest-mismatches": events whose data does not match */
        EVENTLOG_CHANGE_PCR_EVENTS,            /* "pcr-events": a PCR's events differ (logs given) */
        _EVENTLOG_CHANGE_KIND_MAX,
        _EVENTLOG_CHANGE_KIND_INVALID = -EINVAL,
} EventlogChangeKind;

const char *eventlog_change_kind_to_string(EventlogChangeKind k);
EventlogChangeKind eventlog_change_kind_from_string(const char *s);

/* Compares the facts old_facts and new_facts (objects; anything else counts as empty facts). old_log
 * and new_log are the logs the facts were built from, or both NULL. *ret (a new reference): an array of
 * changes in a fixed order (the order of the kinds above), each
 *   { "kind": "<kind>", "what": "<the thing, e.g. \"db\", a path, \"PCR 0\">", "old": <value or null>,
 *     "new": <value or null>, "message": "<one line for a person>" }
 * The empty array: nothing changed that the facts (and logs) show. Returns 0, or -ENOMEM. */
int eventlog_diff(const json_t *old_facts, const json_t *new_facts, const EventLog *old_log,
                  const EventLog *new_log, json_t **ret);
