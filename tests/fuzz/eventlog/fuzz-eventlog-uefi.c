/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The UEFI event data decoders on arbitrary bytes. The first byte selects what the rest is: below
 * ELEMENTSOF(types), the data of an event of types[byte] (eventlog_event_decode(), then the facts of a
 * one-event log whose digest "verified", so that the facts read every decoded shape); above, one typed
 * decoder directly. make-seeds.py writes the seeds from the fixtures with the same table. */

#include "basic/log.h"
#include "eventlog/eventlog-decode.h"
#include "eventlog/eventlog-facts.h"
#include "eventlog/eventlog-uefi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keep in step with TYPES in make-seeds.py. */
static const struct {
        uint32_t type, pcr;
} types[] = {
        { EV_NO_ACTION, 0 },
        { EV_SEPARATOR, 0 },
        { EV_ACTION, 0 },
        { EV_EFI_ACTION, 4 },
        { EV_S_CRTM_VERSION, 0 },
        { EV_S_CRTM_CONTENTS, 0 },
        { EV_POST_CODE, 0 },
        { EV_POST_CODE2, 0 },
        { EV_EFI_PLATFORM_FIRMWARE_BLOB, 0 },
        { EV_EFI_PLATFORM_FIRMWARE_BLOB2, 0 },
        { EV_EFI_VARIABLE_DRIVER_CONFIG, 7 },
        { EV_EFI_VARIABLE_BOOT, 1 },
        { EV_EFI_VARIABLE_BOOT2, 1 },
        { EV_EFI_VARIABLE_AUTHORITY, 7 },
        { EV_EFI_BOOT_SERVICES_APPLICATION, 4 },
        { EV_EFI_BOOT_SERVICES_DRIVER, 2 },
        { EV_EFI_RUNTIME_SERVICES_DRIVER, 2 },
        { EV_EFI_GPT_EVENT, 5 },
        { EV_EFI_GPT_EVENT2, 5 },
        { EV_EFI_HANDOFF_TABLES, 1 },
        { EV_EFI_HANDOFF_TABLES2, 1 },
        { EV_IPL, 8 },
        { EV_IPL, 9 },
        { EV_IPL, 12 },
        { EV_EVENT_TAG, 12 },
        { EV_OMIT_BOOT_DEVICE_EVENTS, 4 },
        { EV_EFI_HCRTM_EVENT, 0 },
        { 0x12345678, 3 },
};

enum {
        DIRECT_UTF16,
        DIRECT_ASCII,
        DIRECT_DEVICE_PATH,
        DIRECT_SIGNATURE_LISTS,
        DIRECT_LOAD_OPTION,
        DIRECT_X509,
        _DIRECT_MAX,
};

static void check_json(json_t *j) {
        char *s;

        if (!j)
                abort();
        /* Every string is valid UTF-8 (jansson would have refused it) and the whole dumps. */
        s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
                abort();
        free(s);
}

static void direct(unsigned which, const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        json_t *j = NULL;
        UefiError e = {};
        int r;

        switch (which) {
        case DIRECT_UTF16:
                r = uefi_utf16_to_utf8(data, size, &s, &e);
                break;
        case DIRECT_ASCII:
                r = uefi_ascii_to_string(data, size, &s, &e);
                break;
        case DIRECT_DEVICE_PATH:
                r = uefi_device_path_to_string(data, size, &s, &e);
                break;
        case DIRECT_SIGNATURE_LISTS:
                r = uefi_signature_lists_to_json(data, size, &j, &e);
                break;
        case DIRECT_LOAD_OPTION:
                r = uefi_load_option_to_json(data, size, &j, &e);
                break;
        case DIRECT_X509:
                r = uefi_x509_to_json(data, size, NULL, &j, &e);
                break;
        default:
                return;
        }
        if (r < 0) {
                /* Errors about the input name a place inside it and say what. */
                if (r != -ENOMEM && (e.message[0] == 0 || e.offset > size || s || j))
                        abort();
                return;
        }
        if (j) {
                check_json(j);
                json_decref(j);
        } else if (!s)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_decrefp) json_t *j = NULL, *facts = NULL;
        _cleanup_free_ char *summary = NULL;
        EventlogDigestStatus status = EVENTLOG_DIGEST_VERIFIED;
        EventlogEvent e = {};
        EventLog log = {};
        unsigned sel;

        log_set_max_level(LOG_CRIT);

        if (size < 1 || size > 1024 * 1024)
                return 0;
        sel = data[0];
        data++;
        size--;

        if (sel >= ELEMENTSOF(types)) {
                direct(sel - ELEMENTSOF(types), data, size);
                return 0;
        }

        e = (EventlogEvent){
                .index = 1,
                .pcr = types[sel].pcr,
                .type = types[sel].type,
                .n_digests = 1,
                .digests[0] = { .alg = 0x000B,
                                .size = 32,
                                .data = (const uint8_t *) "0123456789abcdef0123456789abcdef" },
                .data = size > 0 ? data : NULL,
                .data_size = size,
        };
        if (eventlog_event_decode(&e, &j, &summary) < 0)
                return 0;
        check_json(j);
        if (!summary || strchr(summary, '\n'))
                abort();

        log = (EventLog){
                .format = EVENTLOG_FORMAT_CRYPTO_AGILE,
                .n_banks = 1,
                .banks[0] = { .alg = 0x000B, .size = 32 },
                .events = &e,
                .n_events = 1,
        };
        if (eventlog_facts(&log, &status, &facts) < 0)
                return 0;
        check_json(facts);
        return 0;
}
