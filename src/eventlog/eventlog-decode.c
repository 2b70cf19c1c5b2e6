/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "basic/hexdecoct.h"
#include "eventlog/eventlog-decode.h"
#include "eventlog/eventlog-uefi.h"

static int raw_json(const EventlogEvent *e, const char *error, json_t **ret, char **ret_summary) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        _cleanup_free_ char *hex = NULL;
        json_t *v;

        if (!o || uefi_hex_prefix(e->data, e->data_size, UEFI_RAW_MAX, &hex) < 0)
                return -ENOMEM;
        if (error) {
                v = json_string(error);
                if (!v || json_object_set_new(o, "error", v) < 0)
                        return -ENOMEM;
        }
        v = json_string(hex);
        if (!v || json_object_set_new(o, "raw", v) < 0)
                return -ENOMEM;
        v = json_integer(e->data_size);
        if (!v || json_object_set_new(o, "size", v) < 0)
                return -ENOMEM;
        if (ret_summary) {
                int k = error ? asprintf(ret_summary, "(not decoded: %s)", error)
                              : asprintf(ret_summary, "%" PRIu32 " bytes%s%.32s%s", e->data_size,
                                         e->data_size > 0 ? ": " : "", hex, e->data_size > 16 ? "..." : "");
                if (k < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int separator(const uint8_t *d, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        const char *what;
        uint32_t v;

        if (!o)
                return -ENOMEM;
        if (size != 4)
                return uefi_error_set(ret_error, -EBADMSG, 0, "separator has %zu bytes, not 4", size);
        v = (uint32_t) d[0] | (uint32_t) d[1] << 8 | (uint32_t) d[2] << 16 | (uint32_t) d[3] << 24;
        what = v == 0 ? "ok" : "error";
        if (json_object_set_new(o, "separator", json_string(what)) < 0 ||
            json_object_set_new(o, "value", json_integer(v)) < 0)
                return -ENOMEM;
        if (ret_summary &&
            (v == 0 || v == UINT32_MAX ? asprintf(ret_summary, "separator (%s)", what)
                                       : asprintf(ret_summary, "separator (error 0x%08" PRIx32 ")", v)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Text events (EV_ACTION, EV_EFI_ACTION, EV_S_CRTM_VERSION, EV_POST_CODE, ...): {"text": ...}. */
static int text(const uint8_t *d, size_t size, bool utf16, json_t **ret, char **ret_summary,
                UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        _cleanup_free_ char *s = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = utf16 ? uefi_utf16_to_utf8(d, size, &s, ret_error) : uefi_ascii_to_string(d, size, &s, ret_error);
        if (r < 0)
                return r;
        if (json_object_set_new(o, "text", json_string(s)) < 0)
                return -ENOMEM;
        if (ret_summary && !(*ret_summary = strdup(s)))
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int guid(const uint8_t *d, json_t **ret, char **ret_summary) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        char g[UEFI_GUID_STRING_MAX];

        uefi_guid_to_string(d, g);
        if (!o || json_object_set_new(o, "guid", json_string(g)) < 0)
                return -ENOMEM;
        if (ret_summary && !(*ret_summary = strdup(g)))
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static bool is_text(const uint8_t *d, size_t size) {
        _cleanup_free_ char *s = NULL;
        return uefi_ascii_to_string(d, size, &s, NULL) >= 0;
}

static bool looks_utf16(const uint8_t *d, size_t size) {
        return size >= 2 && size % 2 == 0 && d[1] == 0 && d[0] != 0;
}

static int decode(const EventlogEvent *e, json_t **ret, char **ret_summary, UefiError *err) {
        const uint8_t *d = e->data ?: (const uint8_t *) "";
        size_t n = e->data_size;

        switch (e->type) {
        case EV_SEPARATOR:
                return separator(d, n, ret, ret_summary, err);
        case EV_ACTION:
        case EV_EFI_ACTION:
        case EV_OMIT_BOOT_DEVICE_EVENTS:
        case EV_EFI_HCRTM_EVENT:
                return text(d, n, false, ret, ret_summary, err);
        case EV_S_CRTM_VERSION:
                /* UTF-16 by the spec; firmware also logs ASCII, or a GUID (16 bytes). */
                if (looks_utf16(d, n) && text(d, n, true, ret, ret_summary, NULL) >= 0)
                        return 0;
                if (is_text(d, n))
                        return text(d, n, false, ret, ret_summary, err);
                if (n == 16)
                        return guid(d, ret, ret_summary);
                return 1;
        case EV_POST_CODE:
        case EV_S_CRTM_CONTENTS:
                /* UEFI_PLATFORM_FIRMWARE_BLOB, or a string such as "POST CODE", "ACPI DATA". */
                if (n == 16 && !is_text(d, n))
                        return uefi_firmware_blob_to_json(d, n, false, ret, ret_summary, err);
                return text(d, n, false, ret, ret_summary, err);
        case EV_POST_CODE2:
        case EV_EFI_PLATFORM_FIRMWARE_BLOB2:
                return uefi_firmware_blob_to_json(d, n, true, ret, ret_summary, err);
        case EV_EFI_PLATFORM_FIRMWARE_BLOB:
                return uefi_firmware_blob_to_json(d, n, false, ret, ret_summary, err);
        case EV_NO_ACTION:
                return uefi_no_action_to_json(d, n, ret, ret_summary, err);
        case EV_EFI_VARIABLE_DRIVER_CONFIG:
        case EV_EFI_VARIABLE_BOOT:
        case EV_EFI_VARIABLE_BOOT2:
                return uefi_variable_to_json(d, n, false, ret, ret_summary, err);
        case EV_EFI_VARIABLE_AUTHORITY:
                return uefi_variable_to_json(d, n, true, ret, ret_summary, err);
        case EV_EFI_BOOT_SERVICES_APPLICATION:
        case EV_EFI_BOOT_SERVICES_DRIVER:
        case EV_EFI_RUNTIME_SERVICES_DRIVER:
                return uefi_image_load_to_json(d, n, ret, ret_summary, err);
        case EV_EFI_GPT_EVENT:
        case EV_EFI_GPT_EVENT2:
                return uefi_gpt_to_json(d, n, ret, ret_summary, err);
        case EV_EFI_HANDOFF_TABLES:
                return uefi_handoff_tables_to_json(d, n, false, ret, ret_summary, err);
        case EV_EFI_HANDOFF_TABLES2:
                return uefi_handoff_tables_to_json(d, n, true, ret, ret_summary, err);
        case EV_IPL:
                return uefi_ipl_to_json(d, n, ret, ret_summary, err);
        case EV_EVENT_TAG:
                return uefi_event_tag_to_json(d, n, ret, ret_summary, err);
        }
        return 1; /* not a type we decode */
}

int eventlog_event_decode(const EventlogEvent *e, json_t **ret_json, char **ret_summary) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *summary = NULL;
        UefiError err = {};
        int r;

        assert(e);

        r = decode(e, &o, &summary, &err);
        if (r == -ENOMEM)
                return r;
        if (r != 0) {
                json_decref(TAKE_PTR(o));
                summary = mfree(summary);
                r = raw_json(e, r < 0 ? (err.message[0] ? err.message : "malformed") : NULL, &o, &summary);
                if (r < 0)
                        return r;
        }
        /* One line: GRUB commands span lines, and text may hold tabs. */
        for (char *c = summary; c && *c; c++)
                if ((unsigned char) *c < 0x20)
                        *c = ' ';
        if (ret_json)
                *ret_json = TAKE_PTR(o);
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}
