/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eventlog_facts() on the fixtures (parsed and digest-checked by the real parser): the machine state a
 * policy is written against, and that facts come only from events whose digest verifies, so that
 * relabelling or changing an event removes the fact instead of faking it. */

#include "eventlog/eventlog-facts.h"
#include "uefi-test-util.h"

/* Facts of size bytes at data. */
static json_t *facts_of(const uint8_t *data, size_t size) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_free_ EventlogDigestStatus *statuses = NULL;
        EventlogError err = {};
        uint32_t first;
        json_t *facts = NULL;

        if (eventlog_parse(data, size, &log, &err) < 0)
                fail_msg("parse: %s", err.message);
        assert_true(eventlog_check_digests(log, &statuses, &first, NULL) >= 0);
        assert_int_equal(eventlog_facts(log, statuses, &facts), 0);
        if (getenv("EVENTLOG_TEST_VERBOSE")) {
                char *s = json_dumps(facts, JSON_INDENT(2));
                fprintf(stderr, "%s\n", s);
                free(s);
        }
        return facts;
}

static json_t *fixture_facts(const char *name) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        data = uefi_fixture(name, &size);
        return facts_of(data, size);
}

static char *dump(json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(s);
        return s;
}

static void assert_json(json_t *j, const char *expected) {
        _cleanup_free_ char *s = dump(j);
        assert_string_equal(s, expected);
}

static const char *str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        if (!s)
                fail_msg("no string '%s'", key);
        return s;
}

static void test_arch_linux(void **state) {
        _cleanup_(json_decrefp) json_t *f = fixture_facts("event-arch-linux.bin");

        assert_json(json_object_get(f, "digest_mismatches"), "[24]");
        assert_string_equal(str(f, "format"), "crypto-agile");
        assert_json(json_object_get(f, "banks"), "[\"sha1\",\"sha256\"]");
        /* the SecureBoot variable was measured empty: it does not exist, Secure Boot is off */
        assert_true(json_is_false(json_object_get(f, "secure_boot")));
        assert_true(json_is_null(json_object_get(f, "setup_mode")));
        assert_string_equal(str(json_array_get(json_object_get(f, "pk"), 0), "subject"), "CN=Joe Richey (PK)");
        assert_string_equal(str(json_array_get(json_object_get(f, "pk"), 0), "sha256"),
                            "31f9649e1a1c72f76ac51c0b56f71b87460166847de60c618b8b0f1131ac4467");
        assert_int_equal(json_array_size(json_object_get(f, "kek")), 2);
        assert_int_equal(json_array_size(json_object_get(f, "db")), 12);
        assert_int_equal(json_array_size(json_object_get(f, "dbx")), 77);
        assert_json(json_object_get(f, "boot_order"), "[0,3,2]");
        assert_string_equal(str(json_array_get(json_object_get(f, "boot_entries"), 0), "description"),
                            "Linux Boot Manager");
        assert_int_equal(json_array_size(json_object_get(f, "boot_applications")), 2);
        assert_string_equal(str(json_object_get(f, "boot_loader"), "path"),
                            "PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x1,0xffff,0x0)/HD(1,GPT,1a504613-19b5-4b44-a83d-"
                            "d926d40daa1c,0x800,0x80000)/\\EFI\\SYSTEMD\\SYSTEMD-BOOTX64.EFI");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "kernel"), "event")), 23);
        assert_non_null(strstr(str(json_object_get(f, "kernel"), "path"), "vmlinuz-linux-lts"));
        assert_string_equal(str(json_object_get(json_object_get(f, "kernel"), "digests"), "sha256"),
                            str(json_object_get(f, "kernel"), "sha256"));
        /* the command line is event 24, whose digest does not match: no fact */
        assert_true(json_is_null(json_object_get(f, "kernel_cmdline")));
        assert_json(json_object_get(f, "separators"),
                    "{\"0\":\"ok\",\"1\":\"ok\",\"2\":\"ok\",\"3\":\"ok\",\"4\":\"ok\",\"5\":\"ok\","
                    "\"6\":\"ok\",\"7\":\"ok\"}");
        assert_json(json_object_get(f, "pcrs_after_separator"), "[1,4,5]");
        assert_string_equal(str(json_object_get(f, "gpt"), "disk_guid"),
                            "f9f4bb69-5418-46bb-9501-2d615a3edc79");
        assert_int_equal(json_array_size(json_object_get(json_object_get(f, "gpt"), "partitions")), 3);
        assert_true(json_is_null(json_object_get(f, "startup_locality")));
        assert_int_equal(json_array_size(json_object_get(f, "authorities")), 0);
}

static void test_bootorder(void **state) {
        _cleanup_(json_decrefp) json_t *f = fixture_facts("event-bootorder.bin");
        json_t *blob, *entry;

        assert_json(json_object_get(f, "digest_mismatches"), "[]");
        assert_true(json_is_false(json_object_get(f, "secure_boot")));
        assert_json(json_object_get(f, "pk"), "[]");
        assert_json(json_object_get(f, "db"), "[]");
        assert_json(json_object_get(f, "boot_order"), "[1,0,2]");
        entry = json_array_get(json_object_get(f, "boot_entries"), 2);
        assert_int_equal(json_integer_value(json_object_get(entry, "number")), 2);
        assert_string_equal(str(entry, "description"), "EFI Internal Shell");
        assert_string_equal(
                str(entry, "path"),
                "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)");
        assert_string_equal(str(json_object_get(f, "boot_loader"), "sha256"),
                            "007f4c95125713b112093e21663e2d23e3c1ae9ce4b5de0d58a297332336a2d8");
        /* shim's second application has no device path: its digest is the fact, the path null */
        assert_true(json_is_null(
                json_object_get(json_array_get(json_object_get(f, "boot_applications"), 1), "path")));
        assert_string_equal(str(json_object_get(f, "kernel"), "path"), "/boot/vmlinuz-5.4.0-45-generic");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "kernel"), "pcr")), 9);
        assert_string_equal(str(f, "kernel_cmdline"),
                            "/boot/vmlinuz-5.4.0-45-generic root=PARTUUID=78a91070-7746-4396-82b8-ffc7ba90d889 ro "
                            "biosdevname=0 net.ifnames=0 console=tty1 console=ttyS0");
        assert_true(json_array_size(json_object_get(f, "grub_commands")) > 50);
        assert_string_equal(json_string_value(json_array_get(json_object_get(f, "grub_commands"), 3)),
                            "source (hd0,gpt15)/boot/grub/grub.cfg");
        assert_int_equal(json_array_size(json_object_get(f, "firmware_blobs")), 2);
        blob = json_array_get(json_object_get(f, "firmware_blobs"), 1);
        assert_string_equal(str(blob, "base"), "0x900000");
        assert_int_equal(json_integer_value(json_object_get(blob, "length")), 11534336);
        assert_json(json_object_get(f, "pcrs_after_separator"), "[4,5]");
}

static void test_postcode_authorities(void **state) {
        _cleanup_(json_decrefp) json_t *f = fixture_facts("event-postcode.bin");
        json_t *a;

        assert_true(json_is_true(json_object_get(f, "secure_boot")));
        a = json_array_get(json_object_get(f, "authorities"), 0);
        assert_string_equal(str(a, "variable"), "db");
        assert_string_equal(
                str(a, "subject"),
                "CN=Microsoft Corporation UEFI CA 2011, O=Microsoft Corporation, L=Redmond, ST=Washington, C=US");
        assert_string_equal(str(json_object_get(f, "kernel"), "path"),
                            "/xcat/osimage/ubuntu18.04-x86_64-netboot-vgen/kernel");
}

static void test_legacy_log(void **state) {
        _cleanup_(json_decrefp) json_t *f = fixture_facts("event-uefi-sha1-log.bin");

        assert_string_equal(str(f, "format"), "legacy");
        assert_json(json_object_get(f, "banks"), "[\"sha1\"]");
        assert_int_equal(json_array_size(json_object_get(f, "dbx")), 78);
        assert_string_equal(str(json_object_get(json_object_get(f, "boot_loader"), "digests"), "sha1"),
                            str(json_object_get(json_object_get(f, "boot_loader"), "digests"), "sha1"));
        assert_null(json_object_get(json_object_get(f, "boot_loader"), "sha256"));
}

/* fixture with event index's type or a data byte changed. */
static json_t *fixture_changed(const char *fixture, size_t index, int64_t new_type, size_t data_byte,
                               uint8_t xor) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        size_t size, data_off;
        const EventlogEvent *e;

        data = uefi_fixture(fixture, &size);
        assert_int_equal(eventlog_parse(data, size, &log, NULL), 0);
        e = log->events + index;
        data_off = e->data - log->data;
        if (new_type >= 0) {
                uint32_t t = (uint32_t) new_type;
                data[e->offset + 4] = t;
                data[e->offset + 5] = t >> 8;
                data[e->offset + 6] = t >> 16;
                data[e->offset + 7] = t >> 24;
        }
        data[data_off + data_byte] ^= xor;
        return facts_of(data, size);
}

static json_t *facts_changed(size_t index, int64_t new_type, size_t data_byte, uint8_t xor) {
        return fixture_changed("event-postcode.bin", index, new_type, data_byte, xor);
}

static void test_relabelled_boot_application_still_listed(void **state) {
        _cleanup_(json_decrefp) json_t *f = NULL;
        json_t *app;

        /* event 22 of event-arch-linux.bin is systemd-boot: as EV_POST_CODE it is still a PCR 4 image */
        f = fixture_changed("event-arch-linux.bin", 22, EV_POST_CODE, 0, 0);
        assert_int_equal(json_array_size(json_object_get(f, "boot_applications")), 2);
        app = json_array_get(json_object_get(f, "boot_applications"), 0);
        assert_int_equal(json_integer_value(json_object_get(app, "event")), 22);
        assert_string_equal(str(app, "type"), "EV_POST_CODE");
        assert_string_equal(str(app, "sha256"), str(json_object_get(f, "boot_loader"), "sha256"));
        /* as EV_EFI_ACTION (checked) it does not match: listed as a mismatch */
        json_decref(f);
        f = fixture_changed("event-arch-linux.bin", 22, EV_EFI_ACTION, 0, 0);
        assert_json(json_object_get(f, "digest_mismatches"), "[22,24]");
        assert_int_equal(json_array_size(json_object_get(f, "boot_applications")), 1);
}

static void test_relabelled_secure_boot_is_no_fact(void **state) {
        _cleanup_(json_decrefp) json_t *f = NULL;

        /* event 3 is SecureBoot = 1; as EV_POST_CODE its digest is not checked, so it says nothing */
        f = facts_changed(3, EV_POST_CODE, 0, 0);
        assert_true(json_is_null(json_object_get(f, "secure_boot")));
        assert_json(json_object_get(f, "digest_mismatches"), "[40,54]");
        /* the other variables still are facts */
        assert_int_equal(json_array_size(json_object_get(f, "dbx")), 77);
}

static void test_changed_secure_boot_is_mismatch(void **state) {
        _cleanup_(json_decrefp) json_t *f = NULL;

        /* SecureBoot's data byte (after the 32-byte header and the 20-byte name) 1 -> 0: the digest no
         * longer matches, the fact is gone, not "false" */
        f = facts_changed(3, -1, 32 + 20, 0x01);
        assert_true(json_is_null(json_object_get(f, "secure_boot")));
        assert_json(json_object_get(f, "digest_mismatches"), "[3,40,54]");
}

static void test_relabelled_as_variable_is_mismatch(void **state) {
        _cleanup_(json_decrefp) json_t *f = NULL;

        /* the other way: the EV_POST_CODE blob (event 2) relabelled as a variable event is checked and does
         * not match; it is no fact and is listed */
        f = facts_changed(2, EV_EFI_VARIABLE_DRIVER_CONFIG, 0, 0);
        assert_json(json_object_get(f, "digest_mismatches"), "[2,40,54]");
        assert_true(json_is_true(json_object_get(f, "secure_boot")));
}

static void test_hand_built_statuses(void **state) {
        /* the same events with statuses given by hand: only VERIFIED events give facts */
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_free_ EventlogDigestStatus *st = NULL;
        _cleanup_(json_decrefp) json_t *verified = NULL, *unchecked = NULL;
        size_t size;

        data = uefi_fixture("event-uefivar.bin", &size);
        assert_int_equal(eventlog_parse(data, size, &log, NULL), 0);
        st = calloc(log->n_events, sizeof(EventlogDigestStatus));
        assert_non_null(st);
        st[1] = EVENTLOG_DIGEST_VERIFIED;
        assert_int_equal(eventlog_facts(log, st, &verified), 0);
        assert_true(json_is_true(json_object_get(verified, "secure_boot")));
        st[1] = EVENTLOG_DIGEST_NOT_CHECKED;
        assert_int_equal(eventlog_facts(log, st, &unchecked), 0);
        assert_true(json_is_null(json_object_get(unchecked, "secure_boot")));
}

static void test_every_fixture(void **state) {
        static const char *const names[] = { "event.bin",
                                             "event-uefiaction.bin",
                                             "event-uefiservices.bin",
                                             "event-uefivar.bin",
                                             "event-postcode.bin",
                                             "event-bootorder.bin",
                                             "event-arch-linux.bin",
                                             "event-uefi-sha1-log.bin" };
        static const char *const keys[] = { "format",
                                            "banks",
                                            "secure_boot",
                                            "setup_mode",
                                            "audit_mode",
                                            "deployed_mode",
                                            "pk",
                                            "kek",
                                            "db",
                                            "dbx",
                                            "authorities",
                                            "boot_order",
                                            "boot_entries",
                                            "boot_applications",
                                            "boot_loader",
                                            "kernel",
                                            "kernel_cmdline",
                                            "grub_commands",
                                            "separators",
                                            "pcrs_after_separator",
                                            "firmware_blobs",
                                            "gpt",
                                            "digest_mismatches",
                                            "startup_locality" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(json_decrefp) json_t *f = fixture_facts(names[i]);
                /* every documented key is there, null when unknown */
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        if (!json_object_get(f, keys[k]))
                                fail_msg("%s: no key '%s'", names[i], keys[k]);
                assert_int_equal(json_object_size(f), ELEMENTSOF(keys));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_arch_linux),
                cmocka_unit_test(test_bootorder),
                cmocka_unit_test(test_postcode_authorities),
                cmocka_unit_test(test_legacy_log),
                cmocka_unit_test(test_relabelled_boot_application_still_listed),
                cmocka_unit_test(test_relabelled_secure_boot_is_no_fact),
                cmocka_unit_test(test_changed_secure_boot_is_mismatch),
                cmocka_unit_test(test_relabelled_as_variable_is_mismatch),
                cmocka_unit_test(test_hand_built_statuses),
                cmocka_unit_test(test_every_fixture),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
