/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mismatch diagnostics between two boots, from hand-made facts objects (the shape of eventlog-facts.h)
 * and hand-made logs: each kind of change is named the way a person reads it, nothing is reported for
 * identical facts, and facts of the wrong shape (a user's file) are absent, not an error. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "eventlog/eventlog-diff.h"
#include "shared/json-util.h"

/* A boot as the facts describe it: the base both sides start from. */
static const char base_facts[] =
        "{\"format\": \"crypto-agile\", \"banks\": [\"sha1\", \"sha256\"],"
        " \"secure_boot\": true, \"setup_mode\": false, \"audit_mode\": null, \"deployed_mode\": null,"
        " \"pk\": [{\"type\": \"x509\", \"owner\": \"o\", \"subject\": \"CN=Lenovo Ltd. PK CA 2012, O=Lenovo\","
        "          \"sha256\": \"p1\"}],"
        " \"kek\": [{\"type\": \"x509\", \"owner\": \"o\", \"subject\": \"CN=Microsoft Corporation KEK CA 2011, O=Microsoft\","
        "          \"sha256\": \"k1\"}],"
        " \"db\": [{\"type\": \"x509\", \"owner\": \"o\", \"subject\": \"C=US, O=Microsoft Corporation, CN=Microsoft Windows Production PCA 2011\","
        "          \"sha256\": \"d1\"},"
        "         {\"type\": \"x509\", \"owner\": \"o\", \"subject\": \"C=US, CN=Microsoft Corporation UEFI CA 2011\","
        "          \"sha256\": \"d2\"}],"
        " \"dbx\": [{\"type\": \"sha256\", \"owner\": \"o\", \"sha256\": \"h1\"}, {\"type\": \"sha256\", \"owner\": \"o\", \"sha256\": \"h2\"}],"
        " \"authorities\": [{\"variable\": \"db\", \"subject\": \"CN=Microsoft Corporation UEFI CA 2011\", \"sha256\": \"d2\"}],"
        " \"boot_order\": [1, 3],"
        " \"boot_entries\": [{\"number\": 1, \"description\": \"debian\", \"path\": \"HD(1,GPT,x)/\\\\EFI\\\\debian\\\\shimx64.efi\"},"
        "                    {\"number\": 3, \"description\": \"UEFI PXE\", \"path\": \"MAC(525400123456)\"}],"
        " \"boot_applications\": ["
        "   {\"event\": 30, \"pcr\": 4, \"path\": \"HD(1,GPT,x)/\\\\EFI\\\\debian\\\\shimx64.efi\", \"sha256\": \"s1\", \"digests\": {\"sha256\": \"s1\"}},"
        "   {\"event\": 40, \"pcr\": 4, \"path\": \"\\\\EFI\\\\debian\\\\grubx64.efi\", \"sha256\": \"g1\", \"digests\": {\"sha256\": \"g1\"}},"
        "   {\"event\": 50, \"pcr\": 4, \"path\": \"\\\\vmlinuz-6.1.0\", \"sha256\": \"v1\", \"digests\": {\"sha256\": \"v1\"}}],"
        " \"boot_loader\": {\"event\": 30, \"pcr\": 4, \"path\": \"HD(1,GPT,x)/\\\\EFI\\\\debian\\\\shimx64.efi\", \"sha256\": \"s1\", \"digests\": {\"sha256\": \"s1\"}},"
        " \"kernel\": {\"path\": \"\\\\vmlinuz-6.1.0\", \"sha256\": \"v1\", \"digests\": {\"sha256\": \"v1\"}},"
        " \"kernel_cmdline\": \"root=/dev/sda1 ro\","
        " \"grub_commands\": [\"set root=hd0,gpt2\", \"linux /vmlinuz-6.1.0 root=/dev/sda1 ro\"],"
        " \"separators\": {\"0\": \"ok\", \"1\": \"ok\", \"2\": \"ok\", \"3\": \"ok\", \"4\": \"ok\", \"5\": \"ok\", \"6\": \"ok\", \"7\": \"ok\"},"
        " \"pcrs_after_separator\": [4, 5, 7],"
        " \"firmware_blobs\": [{\"event\": 1, \"pcr\": 0, \"base\": \"0xff000000\", \"length\": 65536}],"
        " \"gpt\": {\"disk_guid\": \"g-disk\", \"partitions\": [{\"type\": \"t\", \"guid\": \"p-1\", \"name\": \"EFI\"}]},"
        " \"digest_mismatches\": [],"
        " \"startup_locality\": 0}";

static json_t *facts(void) {
        json_error_t error;
        json_t *f = json_loads(base_facts, 0, &error);

        if (!f)
                fail_msg("base facts do not parse: %s at %d", error.text, error.position);
        return f;
}

/* Sets key of f to the JSON text v. */
static void set(json_t *f, const char *key, const char *v) {
        json_error_t error;
        json_t *j = json_loads(v, JSON_DECODE_ANY, &error);

        if (!j)
                fail_msg("'%s' does not parse: %s", v, error.text);
        assert_int_equal(json_object_set_new(f, key, j), 0);
}

static json_t *diff(const json_t *old, const json_t *new) {
        json_t *changes = NULL;

        assert_int_equal(eventlog_diff(old, new, NULL, NULL, &changes), 0);
        assert_true(json_is_array(changes));
        return changes;
}

/* The change of kind with this message: asserts there is exactly one, returns it (borrowed). */
static json_t *find(const json_t *changes, const char *kind, const char *message) {
        json_t *found = NULL, *c;
        size_t i;

        json_array_foreach(changes, i, c) {
                if (streq(json_string_value(json_object_get(c, "kind")), kind) &&
                    streq(json_string_value(json_object_get(c, "message")), message)) {
                        assert_null(found);
                        found = c;
                }
        }
        if (!found) {
                _cleanup_free_ char *dump = json_dumps(changes, JSON_INDENT(1));
                fail_msg("no %s change \"%s\" in %s", kind, message, dump);
        }
        assert_true(json_is_string(json_object_get(found, "what")));
        assert_non_null(json_object_get(found, "old"));
        assert_non_null(json_object_get(found, "new"));
        return found;
}

static void assert_only(const json_t *changes, const char *kind, const char *message) {
        if (json_array_size(changes) != 1) {
                _cleanup_free_ char *dump = json_dumps(changes, JSON_INDENT(1));
                fail_msg("expected only \"%s\", got %s", message, dump);
        }
        (void) find(changes, kind, message);
}

static void test_identical_facts_no_changes(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = diff(a, b);

        assert_int_equal(json_array_size(c), 0);
}

static void test_secure_boot_disabled(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "secure_boot", "false");
        c = diff(a, b);
        assert_only(c, "secure-boot", "Secure Boot disabled");
        assert_true(json_is_true(json_object_get(json_array_get(c, 0), "old")));
        assert_true(json_is_false(json_object_get(json_array_get(c, 0), "new")));
        assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "what")), "secure_boot");

        json_decref(c);
        set(b, "secure_boot", "null");
        c = diff(a, b);
        assert_only(c, "secure-boot", "Secure Boot: on → unknown");
}

static void test_setup_mode_entered(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "setup_mode", "true");
        c = diff(a, b);
        assert_only(c, "secure-boot", "setup mode enabled");
}

static void test_db_certificate_added(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        json_t *change;

        assert_int_equal(
                json_array_append_new(json_object_get(b, "db"),
                                      json_pack("{s:s,s:s,s:s,s:s}", "type", "x509", "owner", "o", "subject",
                                                "C=US, O=Microsoft Corporation, CN=Microsoft UEFI CA 2023",
                                                "sha256", "d3")),
                0);
        c = diff(a, b);
        change = find(c, "certificate-added", "db: certificate 'Microsoft UEFI CA 2023' added");
        assert_int_equal(json_array_size(c), 1);
        assert_true(json_is_null(json_object_get(change, "old")));
        assert_string_equal(json_string_value(json_object_get(json_object_get(change, "new"), "sha256")),
                            "d3");
        assert_string_equal(json_string_value(json_object_get(change, "what")), "db");
}

static void test_kek_certificate_removed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "kek", "[]");
        c = diff(a, b);
        assert_only(c, "certificate-removed", "KEK: certificate 'Microsoft Corporation KEK CA 2011' removed");
}

static void test_pk_replaced(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        /* Same subject, another key: a removal and an addition, told apart by the fingerprint. */
        set(b, "pk", "[{\"type\": \"x509\", \"subject\": \"CN=Lenovo Ltd. PK CA 2012\", \"sha256\": \"p2\"}]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "certificate-added", "PK: certificate 'Lenovo Ltd. PK CA 2012' added");
        (void) find(c, "certificate-removed", "PK: certificate 'Lenovo Ltd. PK CA 2012' removed");
}

static void test_dbx_hashes_counted(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        json_t *change;

        set(b, "dbx",
            "[{\"type\": \"sha256\", \"sha256\": \"h1\"}, {\"type\": \"sha256\", \"sha256\": \"h2\"},"
            " {\"type\": \"sha256\", \"sha256\": \"h3\"}, {\"type\": \"sha256\", \"sha256\": \"h4\"},"
            " {\"type\": \"sha256\", \"sha256\": \"h5\"}]");
        c = diff(a, b);
        change = find(c, "hashes-added", "dbx: 3 hashes added");
        assert_int_equal(json_array_size(json_object_get(change, "new")), 3);
        assert_int_equal(json_array_size(c), 1);

        json_decref(c);
        set(b, "dbx", "[{\"type\": \"sha256\", \"sha256\": \"h2\"}]");
        c = diff(a, b);
        assert_only(c, "hashes-removed", "dbx: 1 hash removed");
}

static void test_db_no_longer_measured(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "db", "null");
        c = diff(a, b);
        assert_only(c, "signature-database", "db: no longer measured (had 2 entries)");

        json_decref(c);
        c = diff(b, a);
        assert_only(c, "signature-database", "db: now measured (2 entries)");
}

static void test_kernel_cmdline_changed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        json_t *change;

        set(b, "kernel_cmdline", "\"root=/dev/sda1 ro init=/bin/sh\"");
        c = diff(a, b);
        change = find(c, "kernel-cmdline",
                      "kernel command line changed: 'root=/dev/sda1 ro' → 'root=/dev/sda1 ro init=/bin/sh'");
        assert_int_equal(json_array_size(c), 1);
        assert_string_equal(json_string_value(json_object_get(change, "old")), "root=/dev/sda1 ro");

        json_decref(c);
        set(b, "kernel_cmdline", "null");
        c = diff(a, b);
        assert_only(c, "kernel-cmdline", "kernel command line changed: 'root=/dev/sda1 ro' → (none)");
}

static void test_boot_application_digest_changed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        json_t *grub = json_array_get(json_object_get(b, "boot_applications"), 1);

        set(grub, "sha256", "\"g2\"");
        set(grub, "digests", "{\"sha256\": \"g2\"}");
        c = diff(a, b);
        assert_only(c, "boot-application-changed",
                    "boot application digest changed: \\EFI\\debian\\grubx64.efi");
        assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "what")),
                            "\\EFI\\debian\\grubx64.efi");
}

/* The kernel is the last boot application: its changed digest is said once, as a boot application. */
static void test_kernel_digest_changed_once(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(json_array_get(json_object_get(b, "boot_applications"), 2), "sha256", "\"v2\"");
        set(json_object_get(b, "kernel"), "sha256", "\"v2\"");
        c = diff(a, b);
        assert_only(c, "boot-application-changed", "boot application digest changed: \\vmlinuz-6.1.0");

        /* A kernel measured elsewhere (PCR 9) is reported as the kernel. */
        json_decref(c);
        set(a, "boot_applications", "[]");
        set(b, "boot_applications", "[]");
        c = diff(a, b);
        assert_only(c, "kernel", "kernel digest changed: \\vmlinuz-6.1.0");
}

static void test_boot_application_added_removed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        json_t *apps = json_object_get(b, "boot_applications");

        assert_int_equal(json_array_remove(apps, 1), 0);
        assert_int_equal(
                json_array_append_new(apps,
                                      json_pack("{s:i,s:i,s:s,s:s}", "event", 60, "pcr", 4, "path",
                                                "\\EFI\\systemd\\systemd-bootx64.efi", "sha256", "b1")),
                0);
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "boot-application-added",
                    "boot application added: \\EFI\\systemd\\systemd-bootx64.efi");
        (void) find(c, "boot-application-removed", "boot application removed: \\EFI\\debian\\grubx64.efi");
}

static void test_boot_loader_path_changed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "boot_loader",
            "{\"path\": \"HD(1,GPT,x)/\\\\EFI\\\\BOOT\\\\BOOTX64.EFI\", \"sha256\": \"s1\"}");
        c = diff(a, b);
        assert_only(c, "boot-loader",
                    "boot loader changed: \\EFI\\debian\\shimx64.efi → \\EFI\\BOOT\\BOOTX64.EFI");
}

static void test_boot_order_changed(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "boot_order", "[3]");
        c = diff(a, b);
        assert_only(c, "boot-order", "boot order changed: 0001,0003 → 0003");

        json_decref(c);
        set(b, "boot_order", "[10, 65535]");
        c = diff(a, b);
        assert_only(c, "boot-order", "boot order changed: 0001,0003 → 000A,FFFF");
}

static void test_boot_entries(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "boot_entries",
            "[{\"number\": 1, \"description\": \"debian\", \"path\": \"HD(2,GPT,y)/\\\\EFI\\\\debian\\\\shimx64.efi\"},"
            " {\"number\": 4, \"description\": \"USB\", \"path\": \"USB(0,0)\"}]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 3);
        (void) find(c, "boot-entry-changed",
                    "Boot0001: changed: 'debian' HD(1,GPT,x)/\\EFI\\debian\\shimx64.efi → 'debian' "
                    "HD(2,GPT,y)/\\EFI\\debian\\shimx64.efi");
        (void) find(c, "boot-entry-added", "Boot0004: 'USB' added");
        (void) find(c, "boot-entry-removed", "Boot0003: 'UEFI PXE' removed");
}

static void test_grub_commands(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "grub_commands", "[\"set root=hd0,gpt2\", \"insmod evil\"]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "grub-command-added", "GRUB command added: 'insmod evil'");
        (void) find(c, "grub-command-removed",
                    "GRUB command removed: 'linux /vmlinuz-6.1.0 root=/dev/sda1 ro'");

        /* Another configuration altogether: counted, the list in "new". */
        json_decref(c);
        set(b, "grub_commands", "[\"set root=hd0,gpt2\", \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        assert_int_equal(json_array_size(json_object_get(
                                 find(c, "grub-command-added", "GRUB commands added: 7"), "new")),
                         7);
}

static void test_authority_added(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        assert_int_equal(json_array_append_new(json_object_get(b, "authorities"),
                                               json_pack("{s:s,s:s,s:s}", "variable", "MokList", "subject",
                                                         "CN=Debian Secure Boot CA", "sha256", "m1")),
                         0);
        c = diff(a, b);
        assert_only(c, "authority-added", "MokList: 'Debian Secure Boot CA' now verifies a boot component");
}

static void test_separator_error(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(json_object_get(b, "separators"), "3", "\"error\"");
        assert_int_equal(json_object_del(json_object_get(b, "separators"), "6"), 0);
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "separator", "PCR 3: separator ok → error");
        (void) find(c, "separator", "PCR 6: separator ok → missing");
}

static void test_pcrs_after_separator(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "pcrs_after_separator", "[1, 4, 5, 7]");
        c = diff(a, b);
        assert_only(c, "pcrs-after-separator",
                    "PCRs with events after the separator changed: 4,5,7 → 1,4,5,7");
}

static void test_firmware_blob(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "firmware_blobs",
            "[{\"event\": 1, \"pcr\": 0, \"base\": \"0xff000000\", \"length\": 131072},"
            " {\"event\": 2, \"pcr\": 2, \"base\": \"0x7e000000\", \"length\": 4096}]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "firmware-blob-changed", "PCR 0: firmware blob at 0xff000000 changed");
        (void) find(c, "firmware-blob-added", "PCR 2: firmware blob at 0x7e000000 added");
}

static void test_gpt_and_mismatches(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "gpt",
            "{\"disk_guid\": \"g-other\", \"partitions\": [{\"type\": \"t\", \"guid\": \"p-1\", \"name\": \"EFI\"}]}");
        set(b, "digest_mismatches", "[24]");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "gpt", "GPT: disk GUID changed: g-disk → g-other");
        (void) find(c, "digest-mismatches", "events whose digest does not match their data: none → 24");
}

static void test_header_changes(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;

        set(b, "format", "\"legacy\"");
        set(b, "banks", "[\"sha1\"]");
        set(b, "startup_locality", "3");
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 3);
        (void) find(c, "format", "log format changed: crypto-agile → legacy");
        (void) find(c, "banks", "PCR banks changed: [\"sha1\",\"sha256\"] → [\"sha1\"]");
        (void) find(c, "startup-locality", "startup locality changed: 0 → 3");
}

/* A user's facts file of the wrong shape: no crash, no error, the odd values count as absent. */
static void test_malformed_facts(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *junk = NULL, *c = NULL, *arr = json_array();
        static const char *const bad[] = {
                "{\"db\": 5, \"boot_applications\": [1, \"x\", null, {\"path\": 7}], \"separators\": [1],"
                " \"boot_order\": [\"a\", {}], \"boot_entries\": [{\"number\": \"1\"}], \"kernel\": 3,"
                " \"firmware_blobs\": [{\"pcr\": \"x\"}], \"gpt\": {\"partitions\": 1}, \"secure_boot\": \"yes\","
                " \"grub_commands\": [1, 2], \"authorities\": [{}], \"digest_mismatches\": [\"x\"]}",
                "{}",
                "[]",
                "null",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *x = json_loads(bad[i], JSON_DECODE_ANY, NULL);

                assert_non_null(x);
                c = diff(a, x);
                json_decref(c);
                c = diff(x, a);
                json_decref(c);
                c = diff(x, x);
                json_decref(c);
                json_decref(x);
        }
        /* Not an object at all: every fact absent on both sides. */
        c = diff(arr, arr);
        assert_int_equal(json_array_size(c), 0);
}

static const uint8_t digest_a[32] = { 0xaa }, digest_b[32] = { 0xbb }, digest_s[32] = { 0x55 };

static void make_event(EventlogEvent *e, uint32_t index, uint32_t pcr, uint32_t type, const uint8_t *digest) {
        *e = (EventlogEvent){ .index = index, .pcr = pcr, .type = type, .n_digests = 1 };
        e->digests[0] = (EventlogDigest){ .alg = 0x000B, .size = 32, .data = digest };
}

/* With both logs: a firmware blob at the same address and length whose digest changed, and the PCR whose
 * events differ. */
static void test_logs_firmware_blob_digest(void **state) {
        _cleanup_(json_decrefp) json_t *a = facts(), *b = facts(), *c = NULL;
        EventlogEvent old_events[3], new_events[3];
        EventLog old_log = { .format = EVENTLOG_FORMAT_CRYPTO_AGILE, .events = old_events, .n_events = 3 },
                 new_log = { .format = EVENTLOG_FORMAT_CRYPTO_AGILE, .events = new_events, .n_events = 3 };

        make_event(old_events + 0, 0, 0, EV_NO_ACTION, digest_s);
        make_event(old_events + 1, 1, 0, EV_EFI_PLATFORM_FIRMWARE_BLOB, digest_a);
        make_event(old_events + 2, 2, 0, EV_SEPARATOR, digest_s);
        make_event(new_events + 0, 0, 0, EV_NO_ACTION, digest_s);
        make_event(new_events + 1, 1, 0, EV_EFI_PLATFORM_FIRMWARE_BLOB, digest_b);
        make_event(new_events + 2, 2, 0, EV_SEPARATOR, digest_s);

        /* Without the logs the facts alone see no change. */
        c = diff(a, b);
        assert_int_equal(json_array_size(c), 0);
        json_decref(c);

        assert_int_equal(eventlog_diff(a, b, &old_log, &new_log, &c), 0);
        assert_int_equal(json_array_size(c), 2);
        (void) find(c, "firmware-blob-changed", "PCR 0: firmware blob at 0xff000000 changed");
        (void) find(c, "pcr-events",
                    "PCR 0: 2 → 2 events, event 0 of the PCR differs (EV_EFI_PLATFORM_FIRMWARE_BLOB, old event 1, "
                    "new event 1)");
        json_decref(c);

        /* An event added at the end of a PCR. */
        make_event(new_events + 1, 1, 0, EV_EFI_PLATFORM_FIRMWARE_BLOB, digest_a);
        make_event(new_events + 2, 2, 7, EV_EFI_VARIABLE_AUTHORITY, digest_b);
        old_events[2].pcr = 7;
        old_log.n_events = 2;
        assert_int_equal(eventlog_diff(a, b, &old_log, &new_log, &c), 0);
        assert_only(c, "pcr-events", "PCR 7: 0 → 1 events, added event 2 (EV_EFI_VARIABLE_AUTHORITY)");
}

static void test_kind_strings(void **state) {
        for (EventlogChangeKind k = 0; k < _EVENTLOG_CHANGE_KIND_MAX; k++) {
                assert_non_null(eventlog_change_kind_to_string(k));
                assert_int_equal(eventlog_change_kind_from_string(eventlog_change_kind_to_string(k)), k);
        }
        assert_null(eventlog_change_kind_to_string(_EVENTLOG_CHANGE_KIND_MAX));
        assert_int_equal(eventlog_change_kind_from_string("frob"), -EINVAL);
        assert_int_equal(eventlog_change_kind_from_string(NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identical_facts_no_changes),
                cmocka_unit_test(test_secure_boot_disabled),
                cmocka_unit_test(test_setup_mode_entered),
                cmocka_unit_test(test_db_certificate_added),
                cmocka_unit_test(test_kek_certificate_removed),
                cmocka_unit_test(test_pk_replaced),
                cmocka_unit_test(test_dbx_hashes_counted),
                cmocka_unit_test(test_db_no_longer_measured),
                cmocka_unit_test(test_kernel_cmdline_changed),
                cmocka_unit_test(test_boot_application_digest_changed),
                cmocka_unit_test(test_kernel_digest_changed_once),
                cmocka_unit_test(test_boot_application_added_removed),
                cmocka_unit_test(test_boot_loader_path_changed),
                cmocka_unit_test(test_boot_order_changed),
                cmocka_unit_test(test_boot_entries),
                cmocka_unit_test(test_grub_commands),
                cmocka_unit_test(test_authority_added),
                cmocka_unit_test(test_separator_error),
                cmocka_unit_test(test_pcrs_after_separator),
                cmocka_unit_test(test_firmware_blob),
                cmocka_unit_test(test_gpt_and_mismatches),
                cmocka_unit_test(test_header_changes),
                cmocka_unit_test(test_malformed_facts),
                cmocka_unit_test(test_logs_firmware_blob_digest),
                cmocka_unit_test(test_kind_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
