/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eventlog_event_decode() on every event of every fixture: everything decodes (no "error"), specific values
 * match what tpm2_eventlog (tpm2-tools) shows for the same files, and malformed data of every decoded type
 * gives {"error", "raw"} instead of failing. */

#include "eventlog/eventlog-decode.h"
#include "uefi-test-util.h"

static const char *const fixtures[] = {
        "event.bin",
        "event-arch-linux.bin",
        "event-bootorder.bin",
        "event-postcode.bin",
        "event-uefiaction.bin",
        "event-uefi-sha1-log.bin",
        "event-uefiservices.bin",
        "event-uefivar.bin",
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
                                fprintf(stderr, "%s %zu pcr %u type 0x%08x: %s\n", fixtures[f], i,
                                        events[i].pcr, events[i].type, summary);
                        if (json_object_get(j, "error"))
                                fail_msg("%s event %zu: %s", fixtures[f], i,
                                         json_string_value(json_object_get(j, "error")));
                }
        }
}

/* The same with the real parser. */
static void test_every_parsed_event_decodes(void **state) {
        for (size_t f = 0; f < ELEMENTSOF(fixtures); f++) {
                const char *name = fixtures[f];
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_(eventlog_freep) EventLog *log = NULL;
                EventlogError err = {};
                size_t size;

                data = uefi_fixture(name, &size);
                if (eventlog_parse(data, size, &log, &err) < 0)
                        fail_msg("%s: %s", name, err.message);
                for (size_t i = 0; i < log->n_events; i++) {
                        _cleanup_(json_decrefp) json_t *j = NULL;
                        _cleanup_free_ char *summary = NULL;

                        assert_int_equal(eventlog_event_decode(log->events + i, &j, &summary), 0);
                        if (json_object_get(j, "error"))
                                fail_msg("%s event %zu: %s", name, i,
                                         json_string_value(json_object_get(j, "error")));
                }
        }
}

static void assert_summary(const char *fixture, size_t i, const char *expected) {
        _cleanup_free_ char *summary = NULL;
        _cleanup_(json_decrefp) json_t *j = decode_fixture_event(fixture, i, &summary);
        assert_string_equal(summary, expected);
}

static void test_bootorder_fixture(void **state) {
        _cleanup_(json_decrefp) json_t *order = NULL, *boot = NULL, *app = NULL;
        _cleanup_free_ char *text = NULL;

        order = decode_fixture_event("event-bootorder.bin", 12, NULL);
        text = json_dumps(json_object_get(order, "value"), JSON_COMPACT);
        assert_string_equal(text, "[1,0,2]");
        assert_string_equal(json_string_value(json_object_get(order, "variable")), "BootOrder");
        assert_summary("event-bootorder.bin", 12, "BootOrder = 0001,0000,0002");

        boot = decode_fixture_event("event-bootorder.bin", 13, NULL);
        assert_string_equal(json_string_value(json_object_get(json_object_get(boot, "value"), "description")),
                            "UEFI Misc Device");
        assert_string_equal(json_string_value(json_object_get(json_object_get(boot, "value"), "path")),
                            "PciRoot(0x0)/Pci(0x6,0x0)");
        assert_string_equal(json_string_value(json_object_get(json_object_get(boot, "value"), "optional_data")),
                            "4eac0881119f594d850ee21a522c59b2");
        assert_summary("event-bootorder.bin", 14,
                       "Boot0000: UiApp Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/"
                       "FvFile(462caa21-7614-4503-836e-8ab6f4662331)");

        app = decode_fixture_event("event-bootorder.bin", 25, NULL);
        assert_string_equal(json_string_value(json_object_get(app, "path")),
                            "PciRoot(0x0)/Pci(0x6,0x0)/HD(15,GPT,c359e798-596a-42b6-b6f6-eca290429d99,0x2800,"
                            "0x35000)/\\EFI\\BOOT\\BOOTX64.EFI");
}

static void test_grub_and_kernel_command_line(void **state) {
        _cleanup_(json_decrefp) json_t *cmd = NULL, *kernel = NULL, *sdboot = NULL;

        cmd = decode_fixture_event("event-bootorder.bin", 33, NULL);
        assert_string_equal(json_string_value(json_object_get(cmd, "grub_cmd")),
                            "set prefix=(hd0,gpt1)/boot/grub");
        kernel = decode_fixture_event("event-bootorder.bin", 94, NULL);
        assert_string_equal(json_string_value(json_object_get(kernel, "kernel_cmdline")),
                            "/boot/vmlinuz-5.4.0-45-generic root=PARTUUID=78a91070-7746-4396-82b8-ffc7ba90d889 ro "
                            "biosdevname=0 net.ifnames=0 console=tty1 console=ttyS0");
        /* systemd-boot: UTF-16 */
        sdboot = decode_fixture_event("event-arch-linux.bin", 24, NULL);
        assert_string_equal(json_string_value(json_object_get(sdboot, "encoding")), "utf-16");
        assert_non_null(
                strstr(json_string_value(json_object_get(sdboot, "text")), "root=/dev/mapper/cryptroot rw"));
        /* a multi-line GRUB command is one summary line */
        assert_summary("event-postcode.bin", 50, "grub_cmd: echo Loading VEHV kernel ...");
}

static void test_uefiservices_device_path(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;

        j = decode_fixture_event("event-uefiservices.bin", 1, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "path")),
                            "PciRoot(0x0)/Pci(0x2,0x0)/Pci(0x0,0x0)/Offset(0x12600,0x3c3ff)");
        assert_string_equal(json_string_value(json_object_get(j, "image_base")), "0x7dcf6018");
        assert_int_equal(json_integer_value(json_object_get(j, "image_length")), 171464);
}

static void test_uefivar_secure_boot_and_keys(void **state) {
        _cleanup_(json_decrefp) json_t *sb = NULL, *kek = NULL, *auth = NULL;
        json_t *sig;

        sb = decode_fixture_event("event-uefivar.bin", 1, NULL);
        assert_true(json_is_true(json_object_get(sb, "value")));
        assert_summary("event-uefivar.bin", 1, "SecureBoot = enabled");
        assert_summary("event-postcode.bin", 4,
                       "PK: CN=SUPERMICRO PK CA 2018, O=Super Micro Computer Inc., L=San Jose, ST=CA, C=USA");
        kek = decode_fixture_event("event-postcode.bin", 5, NULL);
        sig = json_array_get(json_object_get(kek, "value"), 0);
        assert_string_equal(
                json_string_value(json_object_get(sig, "subject")),
                "CN=Microsoft Corporation KEK CA 2011, O=Microsoft Corporation, L=Redmond, ST=Washington, C=US");
        assert_string_equal(json_string_value(json_object_get(sig, "owner")),
                            "77fa9abd-0359-4d32-bd60-28f4e78f784b");
        assert_summary("event-arch-linux.bin", 7, "dbx: 77 entries");
        /* shim's vendor certificate as the authority that verified grub */
        auth = decode_fixture_event("event-postcode.bin", 40, NULL);
        assert_string_equal(json_string_value(json_object_get(auth, "variable")), "Shim");
        assert_int_equal(json_integer_value(json_object_get(auth, "trailing_bytes")), 6);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(auth, "value"), "subject")),
                "CN=Canonical Ltd. Master Certificate Authority, O=Canonical Ltd., L=Douglas, ST=Isle of "
                "Man, C=GB");
}

static void test_other_fixture_events(void **state) {
        assert_summary("event.bin", 0, "Spec ID Event03 (TCG PFP 2.0.0): sha1 sha256 sha384 sha512");
        assert_summary("event.bin", 1, "blob at 0x900000, 11534336 bytes");
        assert_summary("event-uefiaction.bin", 1, "Calling EFI Application from Boot Option");
        assert_summary("event-arch-linux.bin", 8, "separator (ok)");
        assert_summary("event-arch-linux.bin", 1, "546bfb1e-1d0c-4055-a4ad-4ef4bf17b83a");
        assert_summary("event-arch-linux.bin", 17,
                       "GPT disk f9f4bb69-5418-46bb-9501-2d615a3edc79, 3 partitions");
        assert_summary("event-postcode.bin", 2, "blob at 0xff130000, 11005952 bytes");
        assert_summary("event-uefi-sha1-log.bin", 1, "SecureBoot (not set)");
}

static void decode_built(uint32_t type, const void *data, size_t size, json_t **ret, char **ret_summary) {
        EventlogEvent e = { .type = type, .pcr = 7, .data = data, .data_size = size };
        assert_int_equal(eventlog_event_decode(&e, ret, ret_summary), 0);
        assert_non_null(*ret);
}

static void test_separators(void **state) {
        _cleanup_(json_decrefp) json_t *ok = NULL, *err = NULL, *other = NULL, *bad = NULL;
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;

        decode_built(EV_SEPARATOR, "\0\0\0\0", 4, &ok, &s1);
        assert_string_equal(json_string_value(json_object_get(ok, "separator")), "ok");
        assert_string_equal(s1, "separator (ok)");
        decode_built(EV_SEPARATOR, "\xff\xff\xff\xff", 4, &err, &s2);
        assert_string_equal(json_string_value(json_object_get(err, "separator")), "error");
        assert_string_equal(s2, "separator (error)");
        decode_built(EV_SEPARATOR, "\x01\0\0\0", 4, &other, &s3);
        assert_string_equal(s3, "separator (error 0x00000001)");
        decode_built(EV_SEPARATOR, "\0\0\0", 3, &bad, &s4);
        assert_non_null(json_object_get(bad, "error"));
        assert_string_equal(json_string_value(json_object_get(bad, "raw")), "000000");
}

static void test_malformed_is_error_and_raw(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL, *k = NULL;
        _cleanup_free_ char *summary = NULL, *s2 = NULL;
        uint8_t data[200];

        /* a variable event whose name length runs past the end: error, first 64 bytes as hex */
        memset(data, 0x41, sizeof(data));
        decode_built(EV_EFI_VARIABLE_DRIVER_CONFIG, data, sizeof(data), &j, &summary);
        assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "UnicodeNameLength"));
        assert_int_equal(strlen(json_string_value(json_object_get(j, "raw"))), 128);
        assert_int_equal(json_integer_value(json_object_get(j, "size")), 200);
        assert_non_null(strstr(summary, "not decoded"));
        /* unknown types: raw without error */
        decode_built(0x12345678, data, 4, &k, &s2);
        assert_null(json_object_get(k, "error"));
        assert_string_equal(json_string_value(json_object_get(k, "raw")), "41414141");
        assert_string_equal(s2, "4 bytes: 41414141");
}

static void test_empty_data(void **state) {
        static const uint32_t types[] = { EV_SEPARATOR,
                                          EV_EFI_VARIABLE_DRIVER_CONFIG,
                                          EV_EFI_BOOT_SERVICES_APPLICATION,
                                          EV_EFI_GPT_EVENT,
                                          EV_NO_ACTION,
                                          EV_IPL,
                                          EV_EVENT_TAG,
                                          EV_POST_CODE,
                                          EV_EFI_ACTION,
                                          EV_EFI_HANDOFF_TABLES2,
                                          EV_EFI_PLATFORM_FIRMWARE_BLOB2 };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                _cleanup_(json_decrefp) json_t *j = NULL;
                _cleanup_free_ char *s = NULL;
                EventlogEvent e = { .type = types[i] };

                assert_int_equal(eventlog_event_decode(&e, &j, &s), 0);
                assert_non_null(j);
                assert_non_null(s);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_fixture_event_decodes),
                cmocka_unit_test(test_every_parsed_event_decodes),
                cmocka_unit_test(test_bootorder_fixture),
                cmocka_unit_test(test_grub_and_kernel_command_line),
                cmocka_unit_test(test_uefiservices_device_path),
                cmocka_unit_test(test_uefivar_secure_boot_and_keys),
                cmocka_unit_test(test_other_fixture_events),
                cmocka_unit_test(test_separators),
                cmocka_unit_test(test_malformed_is_error_and_raw),
                cmocka_unit_test(test_empty_data),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
