/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Typed decoders for the UEFI structures that firmware event data carries (TCG PC Client PFP 2.0 §10.4,
 * UEFI 2.10): UTF-16 strings, GUIDs, UEFI_VARIABLE_DATA and the variables in it (SecureBoot, PK, KEK, db,
 * dbx as EFI_SIGNATURE_LISTs, BootOrder, Boot#### as EFI_LOAD_OPTIONs), device paths as text,
 * UEFI_IMAGE_LOAD_EVENT, UEFI_GPT_DATA, firmware blobs, handoff tables, GRUB/shim/systemd-stub EV_IPL
 * strings, tagged events and EV_NO_ACTION events.
 *
 * Every input byte is hostile: every length is checked against what is left, counts are bounded, and
 * malformed data gives -EBADMSG (or -E2BIG for a limit) with *ret_error saying what and at which byte of
 * the data. Decoders that build JSON return a new object in *ret (the shapes are documented in
 * docs/eventlog.md, one per function below) and optionally a one-line summary without newline. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

/* Device path nodes one path may have (a real one has < 10); more is an error, not a truncation. */
#define UEFI_DEVICE_PATH_NODES_MAX 64U
/* Signatures in one variable (a large dbx has ~450). */
#define UEFI_SIGNATURES_MAX 8192U
/* Entries of one UEFI_GPT_DATA and of one handoff table list. */
#define UEFI_GPT_PARTITIONS_MAX 1024U
#define UEFI_HANDOFF_TABLES_MAX 256U
/* Hex bytes shown for data we do not decode (the rest is counted, not shown). */
#define UEFI_RAW_MAX 64U

typedef struct UefiError {
        size_t offset; /* byte offset in the data given to the decoder */
        char message[192];
} UefiError;

/* Fills *e (if not NULL) with "<message> at byte <offset>" and returns r (negative errno). */
int uefi_error_set(UefiError *e, int r, size_t offset, const char *format, ...) _printf_(4, 5);

#define UEFI_GUID_STRING_MAX 37U

/* 16 bytes of an EFI_GUID (mixed endian) as "8be4df61-93ca-11d2-aa0d-00e098032b8c". */
void uefi_guid_to_string(const uint8_t guid[static 16], char ret[static UEFI_GUID_STRING_MAX]);
/* "EFI_GLOBAL_VARIABLE", "EFI_CERT_X509_GUID", ... for the GUIDs we know, else NULL. */
const char *uefi_guid_name(const uint8_t guid[static 16]);

/* UTF-16LE at p (size bytes, must be even) to UTF-8. Decoding ends at the first NUL code unit or at the
 * end. Unpaired surrogates and control characters (< 0x20, 0x7f) are -EBADMSG. Returns 0 with *ret. */
int uefi_utf16_to_utf8(const void *p, size_t size, char **ret, UefiError *ret_error);

/* Printable ASCII (0x20-0x7e, also tab, CR and LF: GRUB commands span lines) after removing trailing NULs; NULL-free copy in *ret.
 * -EBADMSG if any other byte. Empty text is fine. */
int uefi_ascii_to_string(const void *p, size_t size, char **ret, UefiError *ret_error);

/* An EFI device path (one or more instances, up to the first End Entire node or the end of the data)
 * as the UEFI spec's text form: "PciRoot(0x0)/Pci(0x1,0x1)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,<guid>,0x800,
 * 0x100000)/\EFI\debian\shimx64.efi". Nodes we have no text form for: "Path(type,subtype,hex)". A node
 * shorter than 4 bytes, longer than what is left, or shorter than its type needs is -EBADMSG; more than
 * UEFI_DEVICE_PATH_NODES_MAX nodes -E2BIG. Empty data gives "". */
int uefi_device_path_to_string(const void *p, size_t size, char **ret, UefiError *ret_error);

/* UEFI_VARIABLE_DATA: VariableName GUID, u64 UnicodeNameLength (characters), u64 VariableDataLength,
 * UnicodeName, VariableData. The parts point into the input. VariableDataLength may be less than what
 * is left (shim), not more. */
typedef struct UefiVariable {
        uint8_t guid[16];
        char *name; /* UTF-8 */
        const uint8_t *data;
        size_t data_size;
        size_t trailing; /* bytes after VariableData (not decoded, "trailing_bytes" in the JSON) */
} UefiVariable;

int uefi_variable_parse(const void *p, size_t size, UefiVariable *ret, UefiError *ret_error);
void uefi_variable_done(UefiVariable *v);

/* The JSON of a variable event: {"variable": "SecureBoot", "guid": "...", "vendor": "EFI_GLOBAL_VARIABLE",
 * "size": n, "value": ...}; value by name and GUID: true/false (SecureBoot, SetupMode, AuditMode,
 * DeployedMode, MokSBState, ...), [SIG...] (PK, KEK, db, dbx, dbt, dbr, MokList, MokListX, MokListTrusted),
 * [1, 3] (BootOrder, DriverOrder), {"attributes", "active", "description", "path", "optional_data"}
 * (Boot####, Driver####, SysPrep####), text (SbatLevel), a number (BootCurrent, BootNext, Timeout), else
 * "data": hex of the first UEFI_RAW_MAX bytes. authority: the data is one EFI_SIGNATURE_DATA (owner GUID
 * and certificate or hash, EV_EFI_VARIABLE_AUTHORITY) or a bare certificate (shim's "Shim", MokListRT):
 * "value" is then one SIG. */
int uefi_variable_to_json(const void *p, size_t size, bool authority, json_t **ret, char **ret_summary,
                          UefiError *ret_error);

/* EFI_SIGNATURE_LISTs (one after another, filling size exactly) as an array of SIG objects:
 * {"type": "x509" | "sha256" | "<guid>", "owner": "<guid>", "sha256": "<hex: of the certificate, or the
 * hash itself>", "subject": "CN=...", "issuer": "..." (x509), "data": hex (other types)}. */
int uefi_signature_lists_to_json(const void *p, size_t size, json_t **ret, UefiError *ret_error);

/* One certificate (DER, exactly size bytes) as a SIG object with the given type and owner (may be NULL). */
int uefi_x509_to_json(const void *p, size_t size, const uint8_t *owner, json_t **ret, UefiError *ret_error);

/* EFI_LOAD_OPTION: {"attributes": n, "active": bool, "description": "...", "path": "...",
 * "optional_data": hex (first UEFI_RAW_MAX bytes, absent if none)}. */
int uefi_load_option_to_json(const void *p, size_t size, json_t **ret, UefiError *ret_error);

/* UEFI_IMAGE_LOAD_EVENT: {"image_base": "0x...", "image_length": n, "link_time_address": "0x...",
 * "path": "..."}. */
int uefi_image_load_to_json(const void *p, size_t size, json_t **ret, char **ret_summary,
                            UefiError *ret_error);

/* UEFI_GPT_DATA: {"disk_guid": "...", "first_usable_lba": n, "last_usable_lba": n, "partitions":
 * [{"number": n, "type": "<guid>", "guid": "<guid>", "start_lba": n, "end_lba": n, "attributes": n,
 * "name": "..."}]}. */
int uefi_gpt_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error);

/* UEFI_PLATFORM_FIRMWARE_BLOB ({"base": "0x...", "length": n}) and BLOB2 (also "description"). */
int uefi_firmware_blob_to_json(const void *p, size_t size, bool blob2, json_t **ret, char **ret_summary,
                               UefiError *ret_error);

/* UEFI_HANDOFF_TABLE_POINTERS(2): {"description": "..." (2 only), "tables": [{"guid": "...", "name":
 * "...", "pointer": "0x..."}]}. */
int uefi_handoff_tables_to_json(const void *p, size_t size, bool tables2, json_t **ret, char **ret_summary,
                                UefiError *ret_error);

/* EV_IPL text (GRUB, shim, systemd-stub; ASCII or UTF-16LE, NUL-terminated or not):
 * {"text": "...", "encoding": "ascii" | "utf-16"} plus, for GRUB's prefixes, "grub_cmd",
 * "kernel_cmdline" or "module_cmdline" with the text after the prefix. */
int uefi_ipl_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error);

/* TCG_PCClientTaggedEvent: {"tag": n, "size": n, "text": "..." (if the data is text), "data": hex}. */
int uefi_event_tag_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error);

/* EV_NO_ACTION: {"signature": "Spec ID Event03", "platform_class": n, "spec_version": "2.0.0",
 * "uintn_size": n, "algorithms": [{"id": n, "name": "sha256", "size": 32}], "vendor_info": hex} or
 * {"signature": "StartupLocality", "startup_locality": n}, other signatures {"signature": ..., "data": hex}. */
int uefi_no_action_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error);

/* Hex of the first max bytes of p ("" for none). */
int uefi_hex_prefix(const void *p, size_t size, size_t max, char **ret);
