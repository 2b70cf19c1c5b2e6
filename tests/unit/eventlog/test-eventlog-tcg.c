/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Firmware event log parsing: every fixture parses (specid-vendordata.bin as tpm2-tools writes it, see below), and
 * malformed logs give clean errors naming the event, the byte offset and what is wrong: truncation at
 * every byte, oversize counts and sizes, undeclared algorithms, bad Spec ID and StartupLocality events,
 * trailing garbage, limits (run under ASan in the sanitizer build: no over-read). */

#include <inttypes.h>

#include "eventlog-test-util.h"

static void test_fixtures(void **state) {
        static const struct {
                const char *name;
                EventlogFormat format;
                size_t n_events, n_banks;
        } fixtures[] = {
                { "event-arch-linux.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 25, 2 },
                { "event-bootorder.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 104, 2 },
                { "event-postcode.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 59, 2 },
                { "event-uefi-sha1-log.bin", EVENTLOG_FORMAT_LEGACY, 17, 1 },
                { "event-uefiaction.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 2, 4 },
                { "event-uefiservices.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 2, 2 },
                { "event-uefivar.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 2, 4 },
                { "event.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 2, 4 },
                { "specid-vendordata.bin", EVENTLOG_FORMAT_CRYPTO_AGILE, 1, 2 },
        };

        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
                _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse(fixtures[i].name);

                assert_int_equal(log->format, fixtures[i].format);
                assert_int_equal(log->n_events, fixtures[i].n_events);
                assert_int_equal(log->n_banks, fixtures[i].n_banks);
                assert_false(log->has_startup_locality);
                for (size_t k = 0; k < log->n_events; k++) {
                        const EventlogEvent *e = log->events + k;

                        assert_int_equal(e->index, k);
                        assert_true(e->pcr < EVENTLOG_PCRS_MAX);
                        assert_true(e->offset < log->size);
                        assert_true(k == 0 || e->offset > log->events[k - 1].offset);
                        /* Everything points into the log's own copy. */
                        if (e->data) {
                                assert_true(e->data >= log->data &&
                                            e->data + e->data_size <= log->data + log->size);
                        } else
                                assert_int_equal(e->data_size, 0);
                        for (size_t d = 0; d < e->n_digests; d++) {
                                assert_true(e->digests[d].data >= log->data &&
                                            e->digests[d].data + e->digests[d].size <= log->data + log->size);
                                assert_ptr_equal(eventlog_event_digest(e, e->digests[d].alg), e->digests + d);
                        }
                }
        }
}

static void test_spec_id(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event.bin");
        static const EventlogBank banks[] = { { 0x0004, 20 }, { 0x000B, 32 }, { 0x000C, 48 }, { 0x000D, 64 } };

        assert_int_equal(log->spec_version_major, 2);
        assert_int_equal(log->spec_version_minor, 0);
        assert_int_equal(log->uintn_size, 2);
        assert_memory_equal(log->banks, banks, sizeof(banks));
        assert_null(log->vendor_info);
        /* The Spec ID event is event 0, without digests; the next carries all four banks. */
        assert_int_equal(log->events[0].type, EV_NO_ACTION);
        assert_int_equal(log->events[0].n_digests, 0);
        assert_int_equal(log->events[1].n_digests, 4);
        assert_int_equal(log->events[1].type, EV_EFI_PLATFORM_FIRMWARE_BLOB);
        assert_non_null(eventlog_event_digest(log->events + 1, 0x000D));
        assert_null(eventlog_event_digest(log->events + 1, 0x0012));
}

/* Some logs carry fewer digests per event than the Spec ID declares (tpm2-tools' fixtures): accepted. */
static void test_fewer_digests(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event-uefivar.bin");

        assert_int_equal(log->n_banks, 4);
        assert_int_equal(log->events[1].n_digests, 2);
        assert_non_null(eventlog_event_digest(log->events + 1, 0x0004));
        assert_null(eventlog_event_digest(log->events + 1, 0x000C));
}

static void test_legacy(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event-uefi-sha1-log.bin");

        assert_int_equal(log->n_banks, 1);
        assert_int_equal(log->banks[0].alg, 0x0004);
        assert_int_equal(log->banks[0].size, 20);
        assert_int_equal(log->events[0].type, EV_S_CRTM_VERSION);
        assert_int_equal(log->events[0].n_digests, 1);
        assert_int_equal(log->events[0].digests[0].size, 20);
        assert_int_equal(log->events[16].offset + 32 + log->events[16].data_size, log->size);
}

/* specid-vendordata.bin declares vendorInfoSize 4, but its Spec ID EventSize (37) ends right after the
 * vendorInfoSize byte and the 4 vendor bytes follow the event: how tpm2-tools writes it, and how its
 * tpm2_eventlog reads it. Read so only when the event ends exactly after vendorInfoSize and the bytes are
 * there, and flagged; an event size that ends inside the vendor info, or vendor bytes missing from the log,
 * stay errors. */
static void test_specid_vendordata(void **state) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        EventlogError err = {};
        size_t size;

        data = eventlog_fixture("specid-vendordata.bin", &size);
        assert_int_equal(eventlog_parse(data, size, &log, &err), 0);
        assert_int_equal(log->format, EVENTLOG_FORMAT_CRYPTO_AGILE);
        assert_int_equal(log->n_events, 1);
        assert_int_equal(log->n_banks, 2);
        assert_true(log->vendor_info_outside_event);
        assert_int_equal(log->vendor_info_size, 4);
        assert_memory_equal(log->vendor_info, "\xde\xad\xbe\xef", 4);
        log = eventlog_free(log);

        /* Vendor bytes missing: the log ends 2 bytes early. */
        assert_int_equal(eventlog_parse(data, size - 2, &log, &err), -EBADMSG);
        assert_null(log);
        assert_non_null(strstr(err.message, "vendorInfoSize 4 runs past the event's EventSize 37"));

        /* EventSize 38: it ends inside the vendor info, which is an error, not the tpm2-tools layout. */
        data[0x1c] = 38;
        assert_int_equal(eventlog_parse(data, size, &log, &err), -EBADMSG);
        assert_null(log);
        assert_int_equal(err.offset, 68);
        assert_non_null(strstr(err.message,
                               "vendorInfoSize 4 runs past the event's EventSize 38 (1 bytes left in it)"));
}

static void test_small_log(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(buf_done) Buf b = {};
        EventlogError err = {};
        size_t starts[6];

        buf_small_agile_log(&b, starts);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), 0);
        assert_int_equal(log->n_events, 5);
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(log->events[i].offset, starts[i]);
        assert_true(log->has_startup_locality);
        assert_int_equal(log->startup_locality, 3);
        assert_int_equal(log->vendor_info_size, 2);
        assert_int_equal(log->vendor_info[0], 0xAB);
        assert_int_equal(log->events[3].data_size, 23);
        assert_memory_equal(log->events[3].data, "Calling EFI Application", 23);
}

/* Zero padding after the last event ends the log, also padding as long as an event header. */
static void test_zero_padding(void **state) {
        _cleanup_(buf_done) Buf b = {};
        size_t starts[6];

        buf_small_agile_log(&b, starts);
        buf_fill(&b, 0, 4096);
        for (size_t pad = 0; pad <= 4096; pad += 1 + pad) {
                _cleanup_(eventlog_freep) EventLog *log = NULL;
                EventlogError err = {};

                assert_int_equal(eventlog_parse(b.p, starts[5] + pad, &log, &err), 0);
                assert_int_equal(log->n_events, 5);
        }
}

/* Every proper prefix of a valid log: a clean -EBADMSG whose offset lies in the cut event and inside
 * the prefix, or success when the cut falls between events (or leaves only zero bytes of the next). */
static void check_prefixes(const Buf *b, const size_t *starts, size_t n_starts) {
        for (size_t len = 0; len < b->n; len++) {
                _cleanup_(eventlog_freep) EventLog *log = NULL;
                _cleanup_free_ uint8_t *copy = malloc(MAX(len, (size_t) 1));
                EventlogError err = {};
                size_t ev = 0;
                bool boundary = false, zeros = true;
                int r;

                memcpy(copy, b->p, len);
                for (size_t i = 0; i < n_starts; i++) {
                        if (starts[i] <= len)
                                ev = i;
                        if (starts[i] == len)
                                boundary = true;
                }
                for (size_t i = starts[ev]; i < len; i++)
                        if (copy[i] != 0)
                                zeros = false;

                r = eventlog_parse(copy, len, &log, &err);
                if (len > 0 && (boundary || zeros) && ev > 0) {
                        if (r != 0)
                                fail_msg("prefix %zu: %s", len, err.message);
                        assert_int_equal(log->n_events, ev);
                        continue;
                }
                if (r != -EBADMSG || err.event != ev || err.offset > len || err.offset < starts[ev] ||
                    err.message[0] == 0)
                        fail_msg("prefix %zu (event %zu): got %d, event %" PRIu64 ", offset %" PRIu64
                                 " \"%s\"",
                                 len, ev, r, err.event, err.offset, err.message);
                assert_null(log);
        }
}

static void test_truncation_agile(void **state) {
        _cleanup_(buf_done) Buf b = {};
        size_t starts[6];

        buf_small_agile_log(&b, starts);
        check_prefixes(&b, starts, 6);
}

static void test_truncation_legacy(void **state) {
        _cleanup_(buf_done) Buf b = {};
        size_t starts[4];

        starts[0] = b.n;
        buf_legacy_event(&b, 0, EV_S_CRTM_VERSION, 0x01, "1.0", 3);
        starts[1] = b.n;
        buf_legacy_event(&b, 7, EV_SEPARATOR, 0x02, "\0\0\0\0", 4);
        starts[2] = b.n;
        buf_legacy_event(&b, 4, EV_EFI_ACTION, 0x03, "Calling EFI Application", 23);
        starts[3] = b.n;
        check_prefixes(&b, starts, 4);
}

typedef struct Case {
        const char *what;
        void (*build)(Buf *b);
        int error;
        uint64_t event;
        const char *message;
} Case;

static const uint8_t zeros4[4] = {};

/* The Spec ID event's data after the 16-byte signature, with its EventSize fixed up afterwards. */
static void spec_id_raw(Buf *b, uint32_t platform_class, uint8_t uintn, uint32_t n_algs, const TestAlg *algs,
                        size_t n_given, int vendor_size, size_t extra) {
        size_t size_at;

        buf_u32(b, 0);
        buf_u32(b, EV_NO_ACTION);
        buf_fill(b, 0, 20);
        size_at = b->n;
        buf_u32(b, 0);
        buf_put(b, "Spec ID Event03", 16);
        buf_u32(b, platform_class);
        buf_u8(b, 0);
        buf_u8(b, 2);
        buf_u8(b, 0);
        buf_u8(b, uintn);
        buf_u32(b, n_algs);
        for (size_t i = 0; i < n_given; i++) {
                buf_u16(b, algs[i].alg);
                buf_u16(b, algs[i].size);
        }
        if (vendor_size >= 0) {
                buf_u8(b, vendor_size);
                buf_fill(b, 0xAB, vendor_size);
        }
        buf_fill(b, 0xCD, extra);
        buf_set_u32(b, size_at, b->n - size_at - 4);
}

static void spec_id_ok(Buf *b) {
        buf_spec_id(b, test_banks, 2, 0);
}

#define CASE_FN(name) static void name(Buf *b)

CASE_FN(zero_algs) {
        spec_id_raw(b, 0, 2, 0, NULL, 0, 0, 0);
}
CASE_FN(nine_algs) {
        static const TestAlg a[9] = { { 1, 20 }, { 2, 20 }, { 3, 20 }, { 4, 20 }, { 5, 20 },
                                      { 6, 20 }, { 7, 20 }, { 8, 20 }, { 9, 20 } };
        spec_id_raw(b, 0, 2, 9, a, 9, 0, 0);
}
CASE_FN(huge_alg_count) {
        spec_id_raw(b, 0, 2, UINT32_MAX, test_banks, 2, 0, 0);
}
CASE_FN(alg_count_past_event) {
        spec_id_raw(b, 0, 2, 3, test_banks, 2, 0, 0);
}
CASE_FN(alg_twice) {
        static const TestAlg a[2] = { { 0x000B, 32 }, { 0x000B, 32 } };
        spec_id_raw(b, 0, 2, 2, a, 2, 0, 0);
}
CASE_FN(sha256_size_20) {
        static const TestAlg a[1] = { { 0x000B, 20 } };
        spec_id_raw(b, 0, 2, 1, a, 1, 0, 0);
}
CASE_FN(sha1_size_32) {
        static const TestAlg a[1] = { { 0x0004, 32 } };
        spec_id_raw(b, 0, 2, 1, a, 1, 0, 0);
}
CASE_FN(unknown_alg_size_0) {
        static const TestAlg a[2] = { { 0x000B, 32 }, { 0x1234, 0 } };
        spec_id_raw(b, 0, 2, 2, a, 2, 0, 0);
}
CASE_FN(unknown_alg_size_65) {
        static const TestAlg a[2] = { { 0x000B, 32 }, { 0x1234, 65 } };
        spec_id_raw(b, 0, 2, 2, a, 2, 0, 0);
}
CASE_FN(uintn_3) {
        spec_id_raw(b, 0, 3, 2, test_banks, 2, 0, 0);
}
CASE_FN(uintn_0) {
        spec_id_raw(b, 0, 0, 2, test_banks, 2, 0, 0);
}
CASE_FN(no_vendor_size) {
        spec_id_raw(b, 0, 2, 2, test_banks, 2, -1, 0);
}
CASE_FN(vendor_past_event) {
        spec_id_raw(b, 0, 2, 2, test_banks, 2, 0, 0);
        b->p[b->n - 1] = 7; /* vendorInfoSize 7, no bytes */
}
CASE_FN(bytes_after_vendor) {
        spec_id_raw(b, 0, 2, 2, test_banks, 2, 1, 3);
}
CASE_FN(spec_id_header_short) {
        buf_u32(b, 0);
        buf_u32(b, EV_NO_ACTION);
        buf_fill(b, 0, 20);
        buf_u32(b, 20);
        buf_put(b, "Spec ID Event03\0\0\0\0\0", 20);
}
CASE_FN(spec_id_missing) {
        /* An EV_NO_ACTION first that is no Spec ID, then TCG_PCR_EVENT2 records. */
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "StartupLocality\0\0", 17);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
}
CASE_FN(spec_id_unknown_version) {
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "Spec ID Event02\0", 16);
}
CASE_FN(spec_id_twice) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "Spec ID Event03\0", 16);
}
CASE_FN(spec_id00_twice) {
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "Spec ID Event00\0", 16);
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "Spec ID Event00\0", 16);
}
CASE_FN(spec_id03_in_legacy) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "Spec ID Event03\0", 16);
}
CASE_FN(digest_count_0) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 0, 1, zeros4, 4);
}
CASE_FN(digest_count_3) {
        spec_id_ok(b);
        buf_u32(b, 0);
        buf_u32(b, EV_SEPARATOR);
        buf_u32(b, 3);
}
CASE_FN(digest_count_huge) {
        spec_id_ok(b);
        buf_u32(b, 0);
        buf_u32(b, EV_SEPARATOR);
        buf_u32(b, UINT32_MAX);
        buf_fill(b, 1, 64);
}
CASE_FN(unknown_alg_in_event) {
        static const TestAlg a[2] = { { 0x0004, 20 }, { 0x000C, 48 } };
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, a, 2, 1, zeros4, 4);
}
CASE_FN(alg_twice_in_event) {
        static const TestAlg a[2] = { { 0x000B, 32 }, { 0x000B, 32 } };
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, a, 2, 1, zeros4, 4);
}
CASE_FN(digest_size_mismatch) {
        /* The event's sha1 digest has 32 bytes: what follows is read as the next field. */
        static const TestAlg a[2] = { { 0x0004, 32 }, { 0x000B, 32 } };
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, a, 2, 1, zeros4, 4);
}
CASE_FN(pcr_24) {
        spec_id_ok(b);
        buf_event2(b, 24, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
}
CASE_FN(pcr_max) {
        spec_id_ok(b);
        buf_event2(b, UINT32_MAX, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
}
CASE_FN(data_size_over_limit) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, NULL, 0);
        buf_set_u32(b, b->n - 4, EVENTLOG_EVENT_DATA_MAX + 1);
}
CASE_FN(data_size_max) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, NULL, 0);
        buf_set_u32(b, b->n - 4, UINT32_MAX);
}
CASE_FN(data_size_past_end) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
        buf_set_u32(b, b->n - 8, 5);
}
CASE_FN(locality_short) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0", 16);
}
CASE_FN(locality_long) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\3\0", 18);
}
CASE_FN(locality_pcr_1) {
        spec_id_ok(b);
        buf_event2(b, 1, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\3", 17);
}
CASE_FN(locality_twice) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\3", 17);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\0", 17);
}
CASE_FN(locality_late) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\3", 17);
}
CASE_FN(locality_5) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "StartupLocality\0\5", 17);
}
CASE_FN(trailing_garbage) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
        buf_put(b, "\1\2\3", 3);
}
CASE_FN(garbage_after_padding) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, test_banks, 2, 1, zeros4, 4);
        buf_fill(b, 0, 100);
        buf_u8(b, 1);
}
CASE_FN(truncated_second_digest) {
        spec_id_ok(b);
        buf_u32(b, 0);
        buf_u32(b, EV_SEPARATOR);
        buf_u32(b, 2);
        buf_u16(b, 0x0004);
        buf_fill(b, 1, 20);
        buf_u16(b, 0x000B);
        buf_fill(b, 1, 31);
}
CASE_FN(legacy_pcr_24) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_legacy_event(b, 24, EV_SEPARATOR, 1, zeros4, 4);
}
CASE_FN(legacy_data_size_over_limit) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_legacy_event(b, 1, EV_SEPARATOR, 1, NULL, 0);
        buf_set_u32(b, b->n - 4, EVENTLOG_EVENT_DATA_MAX + 1);
}
CASE_FN(legacy_data_past_end) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_legacy_event(b, 1, EV_SEPARATOR, 1, zeros4, 4);
        buf_set_u32(b, b->n - 8, 1000);
}
CASE_FN(legacy_truncated_digest) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_u32(b, 1);
        buf_u32(b, EV_SEPARATOR);
        buf_fill(b, 1, 19);
}
CASE_FN(first_event_pcr_24) {
        buf_legacy_event(b, 24, EV_S_CRTM_VERSION, 1, "1.0", 3);
}
CASE_FN(only_zeros) {
        buf_fill(b, 0, 100);
}
CASE_FN(empty) {
}
CASE_FN(spec_id_only_sig) {
        buf_legacy_event(b, 0, EV_NO_ACTION, 0, "Spec ID Event03\0", 16);
}

CASE_FN(first_event_data_past_end) {
        buf_legacy_event(b, 0, EV_S_CRTM_VERSION, 1, "1.0", 3);
        buf_set_u32(b, b->n - 7, 4);
}
CASE_FN(alg_0_in_event) {
        static const TestAlg a[1] = { { 0x0000, 20 } };
        spec_id_ok(b);
        buf_event2(b, 0, EV_SEPARATOR, a, 1, 1, zeros4, 4);
}
CASE_FN(spec_id00_in_agile) {
        spec_id_ok(b);
        buf_event2(b, 0, EV_NO_ACTION, test_banks, 2, 0, "Spec ID Event00\0", 16);
}
CASE_FN(digest_count_9) {
        spec_id_ok(b);
        buf_u32(b, 0);
        buf_u32(b, EV_SEPARATOR);
        buf_u32(b, 9);
        for (size_t i = 0; i < 9; i++) {
                buf_u16(b, 0x0004);
                buf_fill(b, 1, 20);
        }
}

static const Case cases[] = {
        { "Spec ID with zero algorithms", zero_algs, -EBADMSG, 0, "declares no algorithms" },
        { "Spec ID with 9 algorithms", nine_algs, -E2BIG, 0, "9 algorithms, more than 8" },
        { "Spec ID algorithm count 2^32-1", huge_alg_count, -E2BIG, 0, "more than 8" },
        { "Spec ID algorithm count past the event", alg_count_past_event, -EBADMSG, 0, "algorithm 2 of 3" },
        { "Spec ID algorithm twice", alg_twice, -EBADMSG, 0, "algorithm 0x000b twice" },
        { "Spec ID sha256 of 20 bytes", sha256_size_20, -EBADMSG, 0,
          "digest size 20 of algorithm 0x000b, expected 32" },
        { "Spec ID sha1 of 32 bytes", sha1_size_32, -EBADMSG, 0, "expected 20" },
        { "Spec ID digest size 0", unknown_alg_size_0, -EBADMSG, 0,
          "digest size 0 of algorithm 0x1234 not in 1..64" },
        { "Spec ID digest size 65", unknown_alg_size_65, -EBADMSG, 0, "digest size 65" },
        { "Spec ID uintnSize 3", uintn_3, -EBADMSG, 0, "uintnSize 3" },
        { "Spec ID uintnSize 0", uintn_0, -EBADMSG, 0, "uintnSize 0" },
        { "Spec ID without vendorInfoSize", no_vendor_size, -EBADMSG, 0, "no vendorInfoSize" },
        { "Spec ID vendor info past the event", vendor_past_event, -EBADMSG, 0, "vendorInfoSize 7 runs past" },
        { "Spec ID bytes after the vendor info", bytes_after_vendor, -EBADMSG, 0,
          "3 bytes after the vendor info" },
        { "Spec ID shorter than its header", spec_id_header_short, -EBADMSG, 0, "header alone is 28" },
        { "Spec ID signature only", spec_id_only_sig, -EBADMSG, 0, "truncated Spec ID event: 16 bytes" },
        { "Spec ID missing", spec_id_missing, -EBADMSG, 0, "Spec ID missing" },
        { "Spec ID Event02", spec_id_unknown_version, -EBADMSG, 0, "Spec ID missing" },
        { "Spec ID twice", spec_id_twice, -EBADMSG, 1, "a second Spec ID event" },
        { "Spec ID Event00 twice", spec_id00_twice, -EBADMSG, 1, "a second Spec ID event" },
        { "Spec ID Event03 inside a legacy log", spec_id03_in_legacy, -EBADMSG, 1, "a second Spec ID event" },
        { "digest count 0", digest_count_0, -EBADMSG, 1, "digest count 0 not in 1..2" },
        { "digest count 3 of 2", digest_count_3, -EBADMSG, 1, "digest count 3 not in 1..2" },
        { "digest count 2^32-1", digest_count_huge, -EBADMSG, 1, "digest count 4294967295" },
        { "undeclared algorithm in an event", unknown_alg_in_event, -EBADMSG, 1,
          "digest algorithm 0x000c is not declared" },
        { "algorithm twice in an event", alg_twice_in_event, -EBADMSG, 1,
          "digest algorithm 0x000b given twice" },
        { "digest of another size than declared", digest_size_mismatch, -EBADMSG, 1,
          "digest algorithm 0x0101 is not declared" },
        { "PCR 24", pcr_24, -EBADMSG, 1, "PCR index 24 is not below 24" },
        { "PCR 2^32-1", pcr_max, -EBADMSG, 1, "PCR index 4294967295" },
        { "event data over the limit", data_size_over_limit, -E2BIG, 1, "exceeds the limit of 16777216" },
        { "event data size 2^32-1", data_size_max, -E2BIG, 1, "event data size 4294967295" },
        { "event data past the end", data_size_past_end, -EBADMSG, 1,
          "event data size 5 exceeds the 4 bytes left" },
        { "StartupLocality of 16 bytes", locality_short, -EBADMSG, 1, "StartupLocality event of 16 bytes" },
        { "StartupLocality of 18 bytes", locality_long, -EBADMSG, 1, "StartupLocality event of 18 bytes" },
        { "StartupLocality for PCR 1", locality_pcr_1, -EBADMSG, 1, "for PCR 1, expected 0" },
        { "StartupLocality twice", locality_twice, -EBADMSG, 2, "a second StartupLocality event" },
        { "StartupLocality after PCR 0 was extended", locality_late, -EBADMSG, 2,
          "after event 1 extended PCR 0" },
        { "StartupLocality locality 5", locality_5, -EBADMSG, 1, "locality 5 is not 0..4" },
        { "trailing garbage", trailing_garbage, -EBADMSG, 2, "truncated" },
        { "garbage after zero padding", garbage_after_padding, -EBADMSG, 2, "digest count 0" },
        { "second digest truncated", truncated_second_digest, -EBADMSG, 1, "digest needs 32 bytes, 31 left" },
        { "legacy PCR 24", legacy_pcr_24, -EBADMSG, 1, "PCR index 24" },
        { "legacy event data over the limit", legacy_data_size_over_limit, -E2BIG, 1, "exceeds the limit" },
        { "legacy event data past the end", legacy_data_past_end, -EBADMSG, 1, "event data size 1000 exceeds" },
        { "legacy digest truncated", legacy_truncated_digest, -EBADMSG, 1,
          "SHA1 digest needs 28 bytes, 27 left" },
        { "first event PCR 24", first_event_pcr_24, -EBADMSG, 0, "PCR index 24" },
        { "only zero bytes", only_zeros, -EBADMSG, 0, "log of 100 zero bytes" },
        { "empty", empty, -EBADMSG, 0, "empty log" },
        { "first event data past the end", first_event_data_past_end, -EBADMSG, 0,
          "event data size 4 exceeds the 3 bytes left" },
        { "algorithm 0 in an event", alg_0_in_event, -EBADMSG, 1, "digest algorithm 0x0000 is not declared" },
        { "Spec ID Event00 inside a crypto-agile log", spec_id00_in_agile, -EBADMSG, 1,
          "a second Spec ID event" },
        { "digest count 9", digest_count_9, -EBADMSG, 1, "digest count 9 not in 1..2" },
};

static void test_malformed(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = cases + i;
                _cleanup_(eventlog_freep) EventLog *log = NULL;
                _cleanup_(buf_done) Buf b = {};
                _cleanup_free_ uint8_t *copy = NULL;
                EventlogError err = {};
                int r;

                c->build(&b);
                /* An exact-size copy, so that ASan sees any read past the end. */
                copy = malloc(MAX(b.n, (size_t) 1));
                assert_non_null(copy);
                if (b.n > 0)
                        memcpy(copy, b.p, b.n);
                r = eventlog_parse(copy, b.n, &log, &err);
                if (r != c->error || err.event != c->event || err.offset > b.n ||
                    !strstr(err.message, c->message) || err.message[0] == 0)
                        fail_msg("case %zu (%s): got %d, event %" PRIu64 ", offset %" PRIu64 " \"%s\"", i,
                                 c->what, r, err.event, err.offset, err.message);
                assert_null(log);
        }
        assert_true(ELEMENTSOF(cases) >= 50);
}

/* The offset names the field: the PCR index of the event, the digest algorithm, the data size. */
static void test_error_offsets(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(buf_done) Buf a = {}, b = {};
        EventlogError err = {};
        size_t start;

        spec_id_ok(&a);
        start = a.n;
        unknown_alg_in_event(&b);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), -EBADMSG);
        /* PCR, type, count, sha1 alg + digest, then the sha384 alg id. */
        assert_int_equal(err.offset, start + 12 + 22);
        assert_non_null(strstr(err.message, "event 1 at byte offset"));
}

/* A log of one more event than the limit: -E2BIG at that event. */
static void test_event_limit(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t n = (size_t) EVENTLOG_EVENTS_MAX + 1, size = n * 32;
        EventlogError err = {};

        data = calloc(1, size);
        assert_non_null(data);
        for (size_t i = 0; i < n; i++) {
                data[i * 32] = 1;     /* PCR 1 */
                data[i * 32 + 4] = 1; /* EV_POST_CODE */
        }
        assert_int_equal(eventlog_parse(data, size, &log, &err), -E2BIG);
        assert_int_equal(err.event, EVENTLOG_EVENTS_MAX);
        assert_int_equal(err.offset, (uint64_t) EVENTLOG_EVENTS_MAX * 32);
        assert_non_null(strstr(err.message, "more than 1048576 events"));
        assert_int_equal(eventlog_parse(data, size - 32, &log, &err), 0);
        assert_int_equal(log->n_events, EVENTLOG_EVENTS_MAX);
}

/* The size limit is checked before a byte is read. */
static void test_size_limit(void **state) {
        static const uint8_t small[1] = { 1 };
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        EventlogError err = {};

        assert_int_equal(eventlog_parse(small, (size_t) EVENTLOG_SIZE_MAX + 1, &log, &err), -E2BIG);
        assert_non_null(strstr(err.message, "exceeds the limit"));
        assert_null(log);
}

/* A TCG 1.2 log may start with the Spec ID Event00: a legacy log. */
static void test_spec_id00(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(buf_done) Buf b = {};
        EventlogError err = {};

        buf_legacy_event(&b, 0, EV_NO_ACTION, 0, "Spec ID Event00\0", 16);
        buf_legacy_event(&b, 0, EV_SEPARATOR, 1, zeros4, 4);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), 0);
        assert_int_equal(log->format, EVENTLOG_FORMAT_LEGACY);
        assert_int_equal(log->n_events, 2);
}

/* The parse keeps no pointer into the caller's buffer. */
static void test_copy(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        Buf b = {};
        EventlogError err = {};
        size_t starts[6];

        buf_small_agile_log(&b, starts);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), 0);
        memset(b.p, 0xEE, b.n);
        buf_done(&b);
        assert_memory_equal(log->events[3].data, "Calling EFI Application", 23);
        assert_int_equal(log->events[2].digests[1].data[0], 0x11);
}

static void test_event_type_strings(void **state) {
        assert_string_equal(eventlog_event_type_to_string(EV_SEPARATOR), "EV_SEPARATOR");
        assert_string_equal(eventlog_event_type_to_string(EV_EFI_VARIABLE_AUTHORITY),
                            "EV_EFI_VARIABLE_AUTHORITY");
        assert_null(eventlog_event_type_to_string(0x1234));
        assert_int_equal(eventlog_event_type_from_string("EV_IPL"), EV_IPL);
        assert_int_equal(eventlog_event_type_from_string("EV_EFI_HCRTM_EVENT"), EV_EFI_HCRTM_EVENT);
        assert_int_equal(eventlog_event_type_from_string("0x00000004"), EV_SEPARATOR);
        assert_int_equal(eventlog_event_type_from_string("0xFFFFFFFF"), (int64_t) UINT32_MAX);
        assert_int_equal(eventlog_event_type_from_string("0x1"), 1);
        assert_int_equal(eventlog_event_type_from_string("0x100000000"), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string("0x"), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string("0xg"), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string("4"), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string("ev_ipl"), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string(""), -EINVAL);
        assert_int_equal(eventlog_event_type_from_string(NULL), -EINVAL);
        /* Every name round-trips. */
        for (uint32_t t = 0; t < 0x20; t++) {
                const char *s = eventlog_event_type_to_string(t);
                if (s)
                        assert_int_equal(eventlog_event_type_from_string(s), t);
        }
        assert_string_equal(eventlog_format_to_string(EVENTLOG_FORMAT_LEGACY), "legacy");
        assert_string_equal(eventlog_format_to_string(EVENTLOG_FORMAT_CRYPTO_AGILE), "crypto-agile");
        assert_null(eventlog_format_to_string(_EVENTLOG_FORMAT_MAX));
        assert_null(eventlog_format_to_string(_EVENTLOG_FORMAT_INVALID));
}

static void test_default_path(void **state) {
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_EVENTLOG"), 0);
        assert_string_equal(eventlog_default_path(), "/sys/kernel/security/tpm0/binary_bios_measurements");
        assert_int_equal(setenv("TRUSTED_PLATFORM_EVENTLOG", "", 1), 0);
        assert_string_equal(eventlog_default_path(), EVENTLOG_PATH_DEFAULT);
        assert_int_equal(setenv("TRUSTED_PLATFORM_EVENTLOG", "/tmp/x", 1), 0);
        assert_string_equal(eventlog_default_path(), "/tmp/x");
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_EVENTLOG"), 0);
}

static void test_read_file(void **state) {
        _cleanup_free_ uint8_t *fixture = NULL, *data = NULL;
        _cleanup_free_ char *path = NULL;
        size_t size, n;

        fixture = eventlog_fixture("event.bin", &size);
        assert_true(asprintf(&path, "%s/tests/fixtures/eventlogs/event.bin", getenv("PROJECT_SOURCE_ROOT")) >
                    0);
        assert_int_equal(setenv("TRUSTED_PLATFORM_EVENTLOG", path, 1), 0);
        assert_int_equal(eventlog_read_file(NULL, &data, &n), 0);
        assert_int_equal(n, size);
        assert_memory_equal(data, fixture, size);
        data = mfree(data);
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_EVENTLOG"), 0);
        assert_int_equal(eventlog_read_file("/nonexistent/binary_bios_measurements", &data, &n), -ENOENT);
        assert_null(data);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixtures),
                cmocka_unit_test(test_spec_id),
                cmocka_unit_test(test_fewer_digests),
                cmocka_unit_test(test_legacy),
                cmocka_unit_test(test_specid_vendordata),
                cmocka_unit_test(test_small_log),
                cmocka_unit_test(test_zero_padding),
                cmocka_unit_test(test_truncation_agile),
                cmocka_unit_test(test_truncation_legacy),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_error_offsets),
                cmocka_unit_test(test_event_limit),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_spec_id00),
                cmocka_unit_test(test_copy),
                cmocka_unit_test(test_event_type_strings),
                cmocka_unit_test(test_default_path),
                cmocka_unit_test(test_read_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
