/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Decoding of firmware event data by event type, for `tpctl eventlog show` and the facts: one JSON
 * object and one human-readable line per event. The typed decoders (UEFI_VARIABLE_DATA,
 * EFI_SIGNATURE_LIST, device paths, GPT, image load events, firmware blobs, handoff tables, GRUB/shim
 * EV_IPL strings) are in eventlog-uefi.h. Event data is hostile: every decoder is bounded, and data
 * that does not decode is shown raw with the reason, never an error of the whole log. */

#include <jansson.h>

#include "eventlog/eventlog-tcg.h"

/* Decodes e->data by e->type. *ret_json: an object, by type (the shapes of the typed decoders are in
 * eventlog-uefi.h):
 *   EV_EFI_VARIABLE_DRIVER_CONFIG/_BOOT/_BOOT2/_AUTHORITY  uefi_variable_to_json(): {"variable":
 *       "SecureBoot", "guid": "8be4df61-...", "vendor": "EFI_GLOBAL_VARIABLE", "size": 1, "value": true}
 *   EV_EFI_BOOT_SERVICES_APPLICATION/_DRIVER, EV_EFI_RUNTIME_SERVICES_DRIVER  {"image_base", "image_length",
 *       "link_time_address", "path"}
 *   EV_EFI_GPT_EVENT(2) {"disk_guid", "partitions": [...]}; EV_EFI_PLATFORM_FIRMWARE_BLOB(2), EV_POST_CODE2,
 *       and EV_POST_CODE / EV_S_CRTM_CONTENTS when 16 non-text bytes {"base", "length"[, "description"]};
 *   EV_EFI_HANDOFF_TABLES(2) {"tables": [...]}; EV_IPL {"text", "encoding"[, "grub_cmd" |
 *       "kernel_cmdline" | "module_cmdline"]}; EV_EVENT_TAG {"tag", "size", "data"[, "text"]};
 *   EV_NO_ACTION {"signature", ...}; EV_SEPARATOR {"separator": "ok" | "error", "value": n};
 *   EV_ACTION, EV_EFI_ACTION, EV_OMIT_BOOT_DEVICE_EVENTS, EV_EFI_HCRTM_EVENT, EV_POST_CODE,
 *       EV_S_CRTM_CONTENTS, EV_S_CRTM_VERSION (UTF-16 or ASCII) {"text"}; EV_S_CRTM_VERSION as a GUID {"guid"};
 *   other types {"raw": "<hex, at most 64 bytes>", "size": n};
 *   data that does not decode {"error": "UTF-16 text not valid: unpaired low surrogate at byte 6",
 *       "raw": "<hex, at most 64 bytes>", "size": n}.
 * *ret_summary: one line without control characters, e.g. "SecureBoot = enabled",
 * "\EFI\debian\shimx64.efi", "separator (ok)", "(not decoded: <error>)".
 * Either output may be NULL. Returns 0, or -ENOMEM. */
int eventlog_event_decode(const EventlogEvent *e, json_t **ret_json, char **ret_summary);
