/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "eventlog/eventlog-tcg.h"

static const struct {
        uint32_t type;
        const char *name;
} event_type_table[] = {
        { EV_PREBOOT_CERT, "EV_PREBOOT_CERT" },
        { EV_POST_CODE, "EV_POST_CODE" },
        { EV_UNUSED, "EV_UNUSED" },
        { EV_NO_ACTION, "EV_NO_ACTION" },
        { EV_SEPARATOR, "EV_SEPARATOR" },
        { EV_ACTION, "EV_ACTION" },
        { EV_EVENT_TAG, "EV_EVENT_TAG" },
        { EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS" },
        { EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION" },
        { EV_CPU_MICROCODE, "EV_CPU_MICROCODE" },
        { EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS" },
        { EV_TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES" },
        { EV_COMPACT_HASH, "EV_COMPACT_HASH" },
        { EV_IPL, "EV_IPL" },
        { EV_IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA" },
        { EV_NONHOST_CODE, "EV_NONHOST_CODE" },
        { EV_NONHOST_CONFIG, "EV_NONHOST_CONFIG" },
        { EV_NONHOST_INFO, "EV_NONHOST_INFO" },
        { EV_OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS" },
        { EV_POST_CODE2, "EV_POST_CODE2" },
        { EV_EFI_EVENT_BASE, "EV_EFI_EVENT_BASE" },
        { EV_EFI_VARIABLE_DRIVER_CONFIG, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
        { EV_EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT" },
        { EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION" },
        { EV_EFI_BOOT_SERVICES_DRIVER, "EV_EFI_BOOT_SERVICES_DRIVER" },
        { EV_EFI_RUNTIME_SERVICES_DRIVER, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
        { EV_EFI_GPT_EVENT, "EV_EFI_GPT_EVENT" },
        { EV_EFI_ACTION, "EV_EFI_ACTION" },
        { EV_EFI_PLATFORM_FIRMWARE_BLOB, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
        { EV_EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES" },
        { EV_EFI_PLATFORM_FIRMWARE_BLOB2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
        { EV_EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2" },
        { EV_EFI_VARIABLE_BOOT2, "EV_EFI_VARIABLE_BOOT2" },
        { EV_EFI_GPT_EVENT2, "EV_EFI_GPT_EVENT2" },
        { EV_EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT" },
        { EV_EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY" },
        { EV_EFI_SPDM_FIRMWARE_BLOB, "EV_EFI_SPDM_FIRMWARE_BLOB" },
        { EV_EFI_SPDM_FIRMWARE_CONFIG, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

const char *eventlog_event_type_to_string(uint32_t type) {
        for (size_t i = 0; i < ELEMENTSOF(event_type_table); i++)
                if (event_type_table[i].type == type)
                        return event_type_table[i].name;
        return NULL;
}

int64_t eventlog_event_type_from_string(const char *s) {
        const char *hex;
        uint32_t v = 0;
        size_t n;

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(event_type_table); i++)
                if (streq(event_type_table[i].name, s))
                        return event_type_table[i].type;

        /* "0x" and 1..8 hex digits, nothing else (no sign, no spaces, no overflow). */
        if (s[0] != '0' || !IN_SET(s[1], 'x', 'X'))
                return -EINVAL;
        hex = s + 2;
        n = strlen(hex);
        if (n == 0 || n > 8)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = hex[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -EINVAL;
        }
        return v;
}

static const char *const format_table[_EVENTLOG_FORMAT_MAX] = {
        [EVENTLOG_FORMAT_LEGACY] = "legacy",
        [EVENTLOG_FORMAT_CRYPTO_AGILE] = "crypto-agile",
};

const char *eventlog_format_to_string(EventlogFormat f) {
        if (f < 0 || f >= _EVENTLOG_FORMAT_MAX)
                return NULL;
        return format_table[f];
}

int eventlog_error_set(EventlogError *e, int r, uint64_t event, uint64_t offset, const char *format, ...) {
        va_list ap;
        int n;

        assert(r < 0);

        if (!e)
                return r;

        *e = (EventlogError){ .event = event, .offset = offset };
        n = snprintf(e->message, sizeof(e->message), "event %" PRIu64 " at byte offset %" PRIu64 ": ", event,
                     offset);
        if (n < 0 || (size_t) n >= sizeof(e->message))
                return r;
        va_start(ap, format);
        (void) vsnprintf(e->message + n, sizeof(e->message) - n, format, ap);
        va_end(ap);
        log_debug("Firmware event log: %s", e->message);
        return r;
}

/* TPM_ALG_ID and digest size of the hash algorithms a PC Client TPM may have (TCG Algorithm Registry). */
static const struct {
        uint16_t alg;
        uint16_t size;
        const char *name;
} known_algs[] = {
        { 0x0004, 20, "sha1" },     { 0x000B, 32, "sha256" },   { 0x000C, 48, "sha384" },
        { 0x000D, 64, "sha512" },   { 0x0012, 32, "sm3_256" },  { 0x0027, 32, "sha3_256" },
        { 0x0028, 48, "sha3_384" }, { 0x0029, 64, "sha3_512" },
};

const char *eventlog_alg_to_string(uint16_t alg) {
        for (size_t i = 0; i < ELEMENTSOF(known_algs); i++)
                if (known_algs[i].alg == alg)
                        return known_algs[i].name;
        return NULL;
}

static int known_alg_size(uint16_t alg) {
        for (size_t i = 0; i < ELEMENTSOF(known_algs); i++)
                if (known_algs[i].alg == alg)
                        return known_algs[i].size;
        return -ENOENT;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

#define SPEC_ID_EVENT03 "Spec ID Event03"  /* with its NUL: 16 bytes */
#define SPEC_ID_EVENT00 "Spec ID Event00"  /* TCG 1.2 (legacy) logs */
#define SPEC_ID_PREFIX "Spec ID Event"     /* any version: a second one is a duplicate */
#define STARTUP_LOCALITY "StartupLocality" /* with its NUL: 16 bytes, then the u8 locality */

static bool data_has_prefix(const uint8_t *data, size_t size, const char *s, size_t n) {
        return size >= n && memcmp(data, s, n) == 0;
}

/* Parsing state: the input, where we are, and what the errors name. */
typedef struct Parser {
        EventLog *log;
        const uint8_t *p; /* log->data */
        size_t size;
        size_t pos;
        size_t end;       /* == size */
        size_t allocated; /* of log->events */
        EventlogError *error;
} Parser;

#define fail(ps, r, index, at, ...) eventlog_error_set((ps)->error, (r), (index), (at), __VA_ARGS__)

/* Whether n more bytes are there; if not, names what is missing ("truncated: ..."). */
static int need(Parser *ps, uint64_t index, size_t n, const char *what) {
        if (ps->end - ps->pos >= n)
                return 0;
        return fail(ps, -EBADMSG, index, ps->pos, "truncated: %s needs %zu bytes, %zu left", what, n,
                    ps->end - ps->pos);
}

#define HUGE_PAGE_SIZE (2U * 1024U * 1024U)

/* malloc(), but a buffer of several MB (a synthetic or very long log) is 2 MiB aligned and asks for
 * transparent huge pages: filling it then takes a few page faults instead of one per 4 KiB, which is
 * most of the cost of copying a 30 MB log. free() as usual. */
static void *alloc_large(size_t n) {
        void *p;

        if (n < 2 * HUGE_PAGE_SIZE)
                return malloc(MAX(n, (size_t) 1));
        if (posix_memalign(&p, HUGE_PAGE_SIZE, n) != 0)
                return NULL;
        (void) madvise(p, n & ~(size_t) (HUGE_PAGE_SIZE - 1), MADV_HUGEPAGE);
        return p;
}

static int event_append(Parser *ps, EventlogEvent **ret) {
        EventLog *log = ps->log;

        if (log->n_events >= EVENTLOG_EVENTS_MAX)
                return fail(ps, -E2BIG, log->n_events, ps->pos, "more than %u events", EVENTLOG_EVENTS_MAX);
        if (log->n_events >= ps->allocated) {
                EventlogEvent *e;
                size_t n;

                if (!log->events) {
                        /* First guess from the size (real events are 50-200 bytes, a log of 100 KB has a
                         * few hundred): usually the only allocation. Pages never written cost nothing. */
                        n = MIN(MAX(ps->size / 96, (size_t) 16), (size_t) EVENTLOG_EVENTS_MAX);
                        e = alloc_large(n * sizeof(EventlogEvent));
                } else {
                        /* Then geometric growth. */
                        n = MIN(ps->allocated * 2, (size_t) EVENTLOG_EVENTS_MAX);
                        e = reallocarray(log->events, n, sizeof(EventlogEvent));
                }
                if (!e)
                        return -ENOMEM;
                log->events = e;
                ps->allocated = n;
        }
        *ret = log->events + log->n_events++;
        **ret = (EventlogEvent){ .index = log->n_events - 1, .offset = ps->pos };
        return 0;
}

/* Event data: u32 size, then the bytes. */
static int parse_event_data(Parser *ps, EventlogEvent *e) {
        uint32_t n;
        int r;

        r = need(ps, e->index, 4, "event data size");
        if (r < 0)
                return r;
        n = le32(ps->p + ps->pos);
        if (n > EVENTLOG_EVENT_DATA_MAX)
                return fail(ps, -E2BIG, e->index, ps->pos,
                            "event data size %" PRIu32 " exceeds the limit of %u", n, EVENTLOG_EVENT_DATA_MAX);
        ps->pos += 4;
        if (ps->end - ps->pos < n)
                return fail(ps, -EBADMSG, e->index, ps->pos - 4,
                            "truncated: event data size %" PRIu32 " exceeds the %zu bytes left", n,
                            ps->end - ps->pos);
        e->data = n > 0 ? ps->p + ps->pos : NULL;
        e->data_size = n;
        ps->pos += n;
        return 0;
}

static int check_pcr(Parser *ps, const EventlogEvent *e) {
        if (e->pcr >= EVENTLOG_PCRS_MAX)
                return fail(ps, -EBADMSG, e->index, e->offset, "PCR index %" PRIu32 " is not below %u",
                            e->pcr, EVENTLOG_PCRS_MAX);
        return 0;
}

/* TCG_PCClientPCREvent: u32 PCR, u32 type, SHA1 digest, event data. */
static int parse_legacy_event(Parser *ps, EventlogEvent **ret) {
        EventlogEvent *e;
        int r;

        r = event_append(ps, &e);
        if (r < 0)
                return r;
        r = need(ps, e->index, 8 + 20, "PCR index, event type and SHA1 digest");
        if (r < 0)
                return r;
        e->pcr = le32(ps->p + ps->pos);
        e->type = le32(ps->p + ps->pos + 4);
        r = check_pcr(ps, e);
        if (r < 0)
                return r;
        e->n_digests = 1;
        e->digests[0] = (EventlogDigest){ .alg = 0x0004, .size = 20, .data = ps->p + ps->pos + 8 };
        ps->pos += 28;
        r = parse_event_data(ps, e);
        if (r < 0)
                return r;
        if (ret)
                *ret = e;
        return 0;
}

/* The Spec ID Event03 data (TCG_EfiSpecIdEvent, PFP §10.4.5.1). at: offset of the data in the log. */
static int parse_spec_id(Parser *ps, const EventlogEvent *e) {
        EventLog *log = ps->log;
        const uint8_t *d = e->data;
        size_t size = e->data_size, at = e->data - ps->p, pos;
        uint32_t n_algs;

        if (size < 16 + 4 + 4 + 4)
                return fail(ps, -EBADMSG, e->index, at + size,
                            "truncated Spec ID event: %zu bytes, the header alone is 28", size);
        log->platform_class = le32(d + 16);
        log->spec_version_minor = d[20];
        log->spec_version_major = d[21];
        log->spec_errata = d[22];
        log->uintn_size = d[23];
        if (!IN_SET(log->uintn_size, 1, 2))
                return fail(ps, -EBADMSG, e->index, at + 23,
                            "Spec ID event: uintnSize %u is neither 1 nor 2", log->uintn_size);
        n_algs = le32(d + 24);
        if (n_algs == 0)
                return fail(ps, -EBADMSG, e->index, at + 24, "Spec ID event declares no algorithms");
        if (n_algs > EVENTLOG_BANKS_MAX)
                return fail(ps, -E2BIG, e->index, at + 24,
                            "Spec ID event declares %" PRIu32 " algorithms, more than %u", n_algs,
                            EVENTLOG_BANKS_MAX);
        pos = 28;
        for (uint32_t i = 0; i < n_algs; i++, pos += 4) {
                uint16_t alg, dsize;
                int known;

                if (size - pos < 4)
                        return fail(ps, -EBADMSG, e->index, at + pos,
                                    "truncated Spec ID event: algorithm %" PRIu32 " of %" PRIu32
                                    " needs 4 bytes, %zu left",
                                    i, n_algs, size - pos);
                alg = le16(d + pos);
                dsize = le16(d + pos + 2);
                for (size_t j = 0; j < log->n_banks; j++)
                        if (log->banks[j].alg == alg)
                                return fail(ps, -EBADMSG, e->index, at + pos,
                                            "Spec ID event declares algorithm 0x%04x twice", alg);
                if (dsize == 0 || dsize > EVENTLOG_DIGEST_MAX)
                        return fail(ps, -EBADMSG, e->index, at + pos + 2,
                                    "Spec ID event: digest size %u of algorithm 0x%04x not in 1..%u", dsize,
                                    alg, EVENTLOG_DIGEST_MAX);
                known = known_alg_size(alg);
                if (known >= 0 && known != dsize)
                        return fail(ps, -EBADMSG, e->index, at + pos + 2,
                                    "Spec ID event: digest size %u of algorithm 0x%04x, expected %d", dsize,
                                    alg, known);
                log->banks[log->n_banks++] = (EventlogBank){ .alg = alg, .size = dsize };
        }
        if (size - pos < 1)
                return fail(ps, -EBADMSG, e->index, at + pos,
                            "truncated Spec ID event: no vendorInfoSize after the algorithms");
        log->vendor_info_size = d[pos++];
        if (pos == size && log->vendor_info_size > 0 && e->data + size == ps->p + ps->pos &&
            ps->size - ps->pos >= log->vendor_info_size) {
                /* tpm2-tools writes Spec ID events whose EventSize ends with vendorInfoSize and puts the
                 * vendor info after the event (tests/fixtures/eventlogs/specid-vendordata.bin), and its
                 * tpm2_eventlog reads them so. Read that way only when the event ends exactly there, and
                 * say so in the log; the Spec ID event is never extended into a PCR, so nothing measured
                 * depends on which reading is right, and any other overrun is an error below. */
                log->vendor_info = ps->p + ps->pos;
                log->vendor_info_outside_event = true;
                ps->pos += log->vendor_info_size;
                return 0;
        }
        if (size - pos < log->vendor_info_size)
                return fail(
                        ps, -EBADMSG, e->index, at + pos - 1,
                        "Spec ID event: vendorInfoSize %u runs past the event's EventSize %zu (%zu bytes left in it)",
                        log->vendor_info_size, size, size - pos);
        if (log->vendor_info_size > 0)
                log->vendor_info = d + pos;
        pos += log->vendor_info_size;
        if (pos != size)
                return fail(ps, -EBADMSG, e->index, at + pos,
                            "Spec ID event: %zu bytes after the vendor info, inside the event size %zu",
                            size - pos, size);
        return 0;
}

/* TCG_PCR_EVENT2: u32 PCR, u32 type, u32 digest count, per digest u16 alg + digest, event data. */
static int parse_agile_event(Parser *ps) {
        EventLog *log = ps->log;
        EventlogEvent *e;
        uint32_t count;
        int r;

        r = event_append(ps, &e);
        if (r < 0)
                return r;
        r = need(ps, e->index, 12, "PCR index, event type and digest count");
        if (r < 0)
                return r;
        e->pcr = le32(ps->p + ps->pos);
        e->type = le32(ps->p + ps->pos + 4);
        count = le32(ps->p + ps->pos + 8);
        r = check_pcr(ps, e);
        if (r < 0)
                return r;
        /* PFP: one digest per algorithm of the Spec ID event. Some logs (tpm2-tools' event-uefivar.bin)
         * carry fewer: accepted, the event is then not extended in the missing banks (the replay of that
         * bank will not match the TPM, which is the truth). None at all, or more, is malformed. */
        if (count == 0 || count > log->n_banks)
                return fail(ps, -EBADMSG, e->index, ps->pos + 8,
                            "digest count %" PRIu32 " not in 1..%zu (the algorithms of the Spec ID event)",
                            count, log->n_banks);
        ps->pos += 12;
        for (uint32_t i = 0; i < count; i++) {
                size_t b;
                uint16_t alg;

                r = need(ps, e->index, 2, "digest algorithm");
                if (r < 0)
                        return r;
                alg = le16(ps->p + ps->pos);
                for (b = 0; b < log->n_banks; b++)
                        if (log->banks[b].alg == alg)
                                break;
                if (b >= log->n_banks)
                        return fail(ps, -EBADMSG, e->index, ps->pos,
                                    "digest algorithm 0x%04x is not declared by the Spec ID event", alg);
                for (size_t j = 0; j < i; j++)
                        if (e->digests[j].alg == alg)
                                return fail(ps, -EBADMSG, e->index, ps->pos,
                                            "digest algorithm 0x%04x given twice", alg);
                ps->pos += 2;
                r = need(ps, e->index, log->banks[b].size, "digest");
                if (r < 0)
                        return r;
                e->digests[i] = (EventlogDigest){ .alg = alg,
                                                  .size = log->banks[b].size,
                                                  .data = ps->p + ps->pos };
                e->n_digests = i + 1;
                ps->pos += log->banks[b].size;
        }
        r = parse_event_data(ps, e);
        if (r < 0)
                return r;

        if (e->type == EV_NO_ACTION) {
                if (data_has_prefix(e->data, e->data_size, SPEC_ID_PREFIX, strlen(SPEC_ID_PREFIX)))
                        return fail(ps, -EBADMSG, e->index, e->offset, "a second Spec ID event");
                if (data_has_prefix(e->data, e->data_size, STARTUP_LOCALITY, sizeof(STARTUP_LOCALITY))) {
                        /* PFP §10.4.5.3: PCR 0, 16-byte signature + u8 locality, before anything is
                         * extended into PCR 0 (it sets PCR 0's start value). */
                        if (e->data_size != sizeof(STARTUP_LOCALITY) + 1)
                                return fail(ps, -EBADMSG, e->index, e->offset,
                                            "StartupLocality event of %" PRIu32 " bytes, expected 17",
                                            e->data_size);
                        if (e->pcr != 0)
                                return fail(ps, -EBADMSG, e->index, e->offset,
                                            "StartupLocality event for PCR %" PRIu32 ", expected 0", e->pcr);
                        if (log->has_startup_locality)
                                return fail(ps, -EBADMSG, e->index, e->offset,
                                            "a second StartupLocality event");
                        for (size_t i = 0; i + 1 < log->n_events; i++)
                                if (log->events[i].pcr == 0 && log->events[i].type != EV_NO_ACTION)
                                        return fail(ps, -EBADMSG, e->index, e->offset,
                                                    "StartupLocality event after event %zu extended PCR 0", i);
                        if (e->data[16] > 4)
                                return fail(ps, -EBADMSG, e->index, (size_t) (e->data - ps->p) + 16,
                                            "StartupLocality locality %u is not 0..4", e->data[16]);
                        log->has_startup_locality = true;
                        log->startup_locality = e->data[16];
                }
        }
        return 0;
}

EventLog *eventlog_free(EventLog *log) {
        if (!log)
                return NULL;
        free(log->events);
        free(log->data);
        return mfree(log);
}

int eventlog_parse(const void *data, size_t size, EventLog **ret, EventlogError *ret_error) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        Parser ps = { .error = ret_error };
        EventlogEvent *first;
        size_t tail;
        int r;

        assert(data || size == 0);
        assert(ret);

        if (size > EVENTLOG_SIZE_MAX)
                return eventlog_error_set(ret_error, -E2BIG, 0, 0, "log of %zu bytes exceeds the limit of %u",
                                          size, EVENTLOG_SIZE_MAX);

        log = calloc(1, sizeof(EventLog));
        if (!log)
                return -ENOMEM;
        log->data = alloc_large(size);
        if (!log->data)
                return -ENOMEM;
        if (size > 0)
                memcpy(log->data, data, size);
        log->size = size;

        ps.log = log;
        ps.p = log->data;
        ps.size = ps.end = size;
        /* Trailing zeros (firmware that pads the log) end it: no event starts at or after the last
         * non-zero byte. (A last event may itself end in zero bytes; it is parsed whole.) */
        tail = size;
        while (tail > 0 && ps.p[tail - 1] == 0)
                tail--;
        if (tail == 0)
                return eventlog_error_set(ret_error, -EBADMSG, 0, 0,
                                          size == 0 ? "empty log" : "log of %zu zero bytes", size);

        /* The first record is always a TCG_PCClientPCREvent (SHA1 layout). */
        r = parse_legacy_event(&ps, &first);
        if (r < 0)
                return r;

        if (first->type == EV_NO_ACTION &&
            data_has_prefix(first->data, first->data_size, SPEC_ID_EVENT03, sizeof(SPEC_ID_EVENT03))) {
                log->format = EVENTLOG_FORMAT_CRYPTO_AGILE;
                first->n_digests = 0; /* the Spec ID event's 20 zero bytes are no SHA1 digest */
                first->digests[0] = (EventlogDigest){};
                r = parse_spec_id(&ps, first);
                if (r < 0)
                        return r;
        } else if (first->type == EV_NO_ACTION &&
                   !data_has_prefix(first->data, first->data_size, SPEC_ID_EVENT00, sizeof(SPEC_ID_EVENT00)))
                /* A legacy log starts with a measurement or the TCG 1.2 Spec ID Event00; an EV_NO_ACTION
                 * that is neither Spec ID makes the rest unreadable in either format. */
                return fail(&ps, -EBADMSG, 0, first->offset,
                            "Spec ID missing: first event is EV_NO_ACTION but not \"" SPEC_ID_EVENT03 "\"");
        else {
                log->format = EVENTLOG_FORMAT_LEGACY;
                log->n_banks = 1;
                log->banks[0] = (EventlogBank){ .alg = 0x0004, .size = 20 };
                log->spec_version_major = 1;
                log->spec_version_minor = 2;
        }

        while (ps.pos < tail) {
                if (log->format == EVENTLOG_FORMAT_CRYPTO_AGILE)
                        r = parse_agile_event(&ps);
                else {
                        EventlogEvent *e;
                        r = parse_legacy_event(&ps, &e);
                        if (r >= 0 && e->type == EV_NO_ACTION &&
                            data_has_prefix(e->data, e->data_size, SPEC_ID_PREFIX, strlen(SPEC_ID_PREFIX)))
                                r = fail(&ps, -EBADMSG, e->index, e->offset, "a second Spec ID event");
                }
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(log);
        return 0;
}

const EventlogDigest *eventlog_event_digest(const EventlogEvent *e, uint16_t alg) {
        assert(e);

        for (size_t i = 0; i < e->n_digests; i++)
                if (e->digests[i].alg == alg)
                        return e->digests + i;
        return NULL;
}

const char *eventlog_default_path(void) {
        const char *e = secure_getenv("TRUSTED_PLATFORM_EVENTLOG");
        return isempty(e) ? EVENTLOG_PATH_DEFAULT : e;
}

int eventlog_read_file(const char *path, uint8_t **ret_data, size_t *ret_size) {
        /* read_full_file() reads to EOF whatever st_size says (securityfs reports 0). */
        return read_full_file(path ?: eventlog_default_path(), EVENTLOG_SIZE_MAX, (char **) ret_data,
                              ret_size);
}
