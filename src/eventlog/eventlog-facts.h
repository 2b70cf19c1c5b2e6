/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Machine-state facts from a firmware event log: what measured-boot policies are written against, as
 * one JSON object (documented in docs/eventlog.md and tpctl(1); the shape is stable: keys are only ever
 * added). Facts are taken only from events whose digests were verified against their data
 * (eventlog_check_digests()); a fact whose event is missing, has an unchecked type or a mismatching
 * digest is absent (null / not listed), never guessed.
 *
 * {
 *   "format": "crypto-agile",
 *   "banks": ["sha1", "sha256"],
 *   "secure_boot": true | false | null,         SecureBoot variable (EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7;
 *                                               measured empty, i.e. not set: false)
 *   "setup_mode": true | false | null,          SetupMode variable (absent in most logs: null)
 *   "audit_mode": ..., "deployed_mode": ...,    likewise
 *   "pk": [SIG], "kek": [SIG], "db": [SIG], "dbx": [SIG],   null when the variable was not measured
 *     SIG = { "type": "x509" | "sha256" | "<guid>", "owner": "<guid>",
 *             "subject": "CN=..., O=..." (x509 only), "issuer": "...", "sha256": "<hex of the cert
 *             or the hash entry itself>" }
 *   "authorities": [ { "variable": "db", "event": 37, SIG... } ]   EV_EFI_VARIABLE_AUTHORITY (PCR 7):
 *                                               which db entry (or shim's vendor certificate, "Shim",
 *                                               or MokList entry) verified a loaded image
 *   "boot_order": [1, 3] | null,  "boot_entries": [ { "number": 1, "description": "debian", "active": true,
 *                                               "path": "HD(1,GPT,...)/\\EFI\\debian\\shimx64.efi" } ]
 *                                               BootOrder and Boot#### (EV_EFI_VARIABLE_BOOT(2), PCR 1)
 *   "boot_applications": [ { "event": 34, "pcr": 4, "path": "..." | null, "sha256": "<digest as logged>",
 *                            "digests": { "sha1": "...", "sha256": "..." } } ]
 *                                               EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4, in order
 *                                               (shim, grub, kernel). Their digest is the PE image hash,
 *                                               not over the data: the digest is the fact, the path (from
 *                                               the unmeasured device path) only says which. Other
 *                                               PCR 4 events whose digest is not over their data are
 *                                               listed too, with "type": "EV_POST_CODE" etc. (the type
 *                                               is not measured: relabelling must not hide an image)
 *   "boot_loader": { ...first boot application... } | null,
 *   "kernel": { "event", "pcr", "path", "digests", "sha256" } | null   the file GRUB measured into PCR 9
 *                                               (EV_IPL) that its verified "kernel_cmdline: " starts with,
 *                                               else one named vmlinuz/bzImage there, else the last of two
 *                                               or more boot applications (systemd-boot, EFI stub)
 *   "kernel_cmdline": "root=... ro quiet" | null, from EV_IPL "kernel_cmdline: ..." (GRUB) or
 *                                               systemd-boot's UTF-16 EV_IPL in PCR 8, or systemd-stub's
 *                                               EV_IPL / tagged event in PCR 12; the last one counts
 *   "grub_commands": ["set root=...", ...],     EV_IPL "grub_cmd: " in PCR 8
 *   "separators": { "0": "ok", ..., "7": "ok" } per PCR, in order: "ok" (00000000), "error" (0xFFFFFFFF
 *                                               or other: firmware error), missing PCRs absent
 *   "pcrs_after_separator": [4, 5, 7],          PCRs with extended events after their separator
 *   "firmware_blobs": [ { "event": 5, "pcr": 0, "base": "0x...", "length": 123, "description": ... (BLOB2),
 *                         "digests": {...}, "sha256": ... } ]  EV_EFI_PLATFORM_FIRMWARE_BLOB(2): like boot
 *                                               applications, the digest is the fact
 *   "gpt": { "disk_guid": "...", "partitions": [ { "type": "<guid>", "guid": ..., "name": ... } ] } | null,
 *   "digest_mismatches": [24],                  event indexes (facts were not taken from them)
 *   "startup_locality": 0 | 3 | null
 * }
 */

#include <jansson.h>

#include "eventlog/eventlog-replay.h"
#include "eventlog/eventlog-tcg.h"

/* Builds the facts of log. statuses: eventlog_check_digests()'s result for log (one per event).
 * Returns 0 with *ret (a new reference), -ENOMEM. Never fails on odd event data: an event that does not
 * decode contributes no fact. */
int eventlog_facts(const EventLog *log, const EventlogDigestStatus *statuses, json_t **ret);
