/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Decoding of firmware event data by event type, for `tpctl eventlog show` and the facts: one JSON
 * object and one human-readable line per event. The typed decoders (UEFI_VARIABLE_DATA,
 * EFI_SIGNATURE_LIST, device paths, GPT, image load events, firmware blobs, handoff tables, GRUB/shim
 * EV_IPL strings) are in eventlog-uefi.h. Event data is hostile: every decoder is bounded, and data
 * that does not decode is shown raw with the reason, never an error of the whole log. */

#include <jansson.h>

#include "eventlog/eventlog-tcg.h"

/* Decodes e->data by e->type. *ret_json: an object (documented in docs/eventlog.md), e.g.
 * {"variable": "SecureBoot", "guid": "8be4df61-...", "value": true} or {"error": "UTF-16 name not valid
 * at byte 6", "raw": "<hex, at most 64 bytes>"}; unknown types {"raw": "..."}. *ret_summary: one line
 * without newline, e.g. "SecureBoot = enabled", "\EFI\debian\shimx64.efi", "separator (ok)".
 * Either output may be NULL. Returns 0, or -ENOMEM. */
int eventlog_event_decode(const EventlogEvent *e, json_t **ret_json, char **ret_summary);
