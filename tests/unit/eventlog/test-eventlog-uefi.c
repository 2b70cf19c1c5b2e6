/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The typed UEFI decoders on hand-built buffers: what they make of well-formed data, and a clean error
 * (never a crash or an over-read under ASan) for every kind of malformed data. */

#include "eventlog/eventlog-uefi.h"
#include "uefi-test-util.h"

/* A byte buffer built piece by piece. */
typedef struct B {
        uint8_t d[4096];
        size_t n;
} B;

static void put(B *b, const void *p, size_t n) {
        assert_true(b->n + n <= sizeof(b->d));
        if (n > 0)
                memcpy(b->d + b->n, p, n);
        b->n += n;
}
static void put8(B *b, uint8_t v) {
        put(b, &v, 1);
}
static void put16(B *b, uint16_t v) {
        uint8_t x[2] = { v, v >> 8 };
        put(b, x, 2);
}
static void put32(B *b, uint32_t v) {
        put16(b, v);
        put16(b, v >> 16);
}
static void put64(B *b, uint64_t v) {
        put32(b, v);
        put32(b, v >> 32);
}
/* ASCII as UTF-16LE, with a NUL if nul. */
static void put_u16s(B *b, const char *s, bool nul) {
        for (; *s; s++)
                put16(b, (uint8_t) *s);
        if (nul)
                put16(b, 0);
}

static const uint8_t global_guid[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                         0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
static const uint8_t secdb_guid[16] = { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
                                        0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
static const uint8_t sha256_guid[16] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                         0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };
static const uint8_t x509_guid[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                       0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
static const uint8_t some_guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* UEFI_VARIABLE_DATA of name (ASCII) under guid, with data. */
static void put_variable(B *b, const uint8_t *guid, const char *name, const void *data, size_t n) {
        put(b, guid, 16);
        put64(b, strlen(name));
        put64(b, n);
        put_u16s(b, name, false);
        put(b, data, n);
}

static void node(B *b, uint8_t type, uint8_t subtype, const void *body, size_t n) {
        put8(b, type);
        put8(b, subtype);
        put16(b, 4 + n);
        put(b, body, n);
}
static void end_node(B *b) {
        node(b, 0x7f, 0xff, NULL, 0);
}

/* The JSON text of j (compact, sorted), for comparisons. */
static char *dump(json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        assert_non_null(s);
        return s;
}

static void assert_error(int r, int expected, const UefiError *e, const char *substring) {
        assert_int_equal(r, expected);
        if (!strstr(e->message, substring))
                fail_msg("error '%s' does not mention '%s'", e->message, substring);
}

/* ---- UTF-16 ---- */

static void test_utf16_valid(void **state) {
        /* "Aé€😀" then NUL then garbage that is not read */
        const uint8_t in[] = { 'A', 0, 0xe9, 0, 0xac, 0x20, 0x3d, 0xd8, 0x00, 0xde, 0, 0, 0x00, 0xdc };
        _cleanup_free_ char *s = NULL;

        assert_int_equal(uefi_utf16_to_utf8(in, sizeof(in), &s, NULL), 0);
        assert_string_equal(s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_utf16_unpaired_high_surrogate_at_end(void **state) {
        const uint8_t in[] = { 'A', 0, 0x3d, 0xd8 };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_utf16_to_utf8(in, sizeof(in), &s, &e), -EBADMSG, &e, "high surrogate");
        assert_int_equal(e.offset, 2);
        assert_null(s);
}

static void test_utf16_high_surrogate_without_low(void **state) {
        const uint8_t in[] = { 0x3d, 0xd8, 'A', 0 };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_utf16_to_utf8(in, sizeof(in), &s, &e), -EBADMSG, &e, "unpaired high surrogate");
}

static void test_utf16_lone_low_surrogate(void **state) {
        const uint8_t in[] = { 'A', 0, 'B', 0, 0x00, 0xdc };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_utf16_to_utf8(in, sizeof(in), &s, &e), -EBADMSG, &e, "low surrogate");
        assert_int_equal(e.offset, 4);
}

static void test_utf16_odd_length(void **state) {
        const uint8_t in[] = { 'A', 0, 'B' };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_utf16_to_utf8(in, sizeof(in), &s, &e), -EBADMSG, &e, "odd length");
}

static void test_utf16_control_character(void **state) {
        const uint8_t in[] = { 'A', 0, '\n', 0 };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_utf16_to_utf8(in, sizeof(in), &s, &e), -EBADMSG, &e, "control character");
}

/* ---- GUIDs ---- */

static void test_guid_names(void **state) {
        char s[UEFI_GUID_STRING_MAX];
        const uint8_t shim[16] = { 0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43,
                                   0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23 };

        uefi_guid_to_string(global_guid, s);
        assert_string_equal(s, "8be4df61-93ca-11d2-aa0d-00e098032b8c");
        assert_string_equal(uefi_guid_name(global_guid), "EFI_GLOBAL_VARIABLE");
        uefi_guid_to_string(secdb_guid, s);
        assert_string_equal(s, "d719b2cb-3d3a-4596-a3bc-dad00e67656f");
        assert_string_equal(uefi_guid_name(secdb_guid), "EFI_IMAGE_SECURITY_DATABASE_GUID");
        uefi_guid_to_string(shim, s);
        assert_string_equal(s, "605dab50-e046-4300-abb6-3dd810dd8b23");
        assert_string_equal(uefi_guid_name(shim), "SHIM_LOCK_GUID");
        uefi_guid_to_string(x509_guid, s);
        assert_string_equal(s, "a5c059a1-94e4-4aa7-87b5-ab155c2bf072");
        assert_string_equal(uefi_guid_name(x509_guid), "EFI_CERT_X509_GUID");
        uefi_guid_to_string(sha256_guid, s);
        assert_string_equal(s, "c1c41626-504c-4092-aca9-41f936934328");
        assert_string_equal(uefi_guid_name(sha256_guid), "EFI_CERT_SHA256_GUID");
        assert_null(uefi_guid_name(some_guid));
}

/* ---- device paths ---- */

static void put_hd_gpt(B *b, uint32_t part, uint64_t start, uint64_t size) {
        B n = {};
        put32(&n, part);
        put64(&n, start);
        put64(&n, size);
        put(&n, some_guid, 16);
        put8(&n, 2); /* MBRType: GPT */
        put8(&n, 2); /* SignatureType: GUID */
        node(b, 4, 1, n.d, n.n);
}

static void put_file(B *b, const char *path) {
        B n = {};
        put_u16s(&n, path, true);
        node(b, 4, 4, n.d, n.n);
}

static char *path_ok(const B *b) {
        char *s = NULL;
        UefiError e = {};
        int r = uefi_device_path_to_string(b->d, b->n, &s, &e);
        if (r < 0)
                fail_msg("device path: %s", e.message);
        return s;
}

static void test_device_path_hd_file(void **state) {
        _cleanup_free_ char *s = NULL;
        B b = {};

        put_hd_gpt(&b, 1, 0x800, 0x100000);
        put_file(&b, "\\EFI\\debian\\");
        put_file(&b, "shimx64.efi");
        end_node(&b);
        s = path_ok(&b);
        assert_string_equal(
                s, "HD(1,GPT,04030201-0605-0807-090a-0b0c0d0e0f10,0x800,0x100000)/\\EFI\\debian\\shimx64.efi");
}

static void test_device_path_hardware_and_messaging(void **state) {
        _cleanup_free_ char *s = NULL;
        B b = {};
        const uint8_t acpi[8] = { 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0 };
        const uint8_t pci[2] = { 0x1, 0x2 }; /* function 1, device 2 */
        uint8_t mac[33] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        const uint8_t usb[2] = { 3, 0 };
        const uint8_t sata[6] = { 1, 0, 0xff, 0xff, 0, 0 };
        const uint8_t nvme[12] = { 1, 0, 0, 0, 0x00, 0x25, 0x38, 0xb5, 0x71, 0xb1, 0x2c, 0x7d };
        uint8_t ven[18];

        mac[32] = 1;
        memcpy(ven, some_guid, 16);
        ven[16] = 0xab;
        ven[17] = 0xcd;
        node(&b, 2, 1, acpi, sizeof(acpi));
        node(&b, 1, 1, pci, sizeof(pci));
        node(&b, 3, 11, mac, sizeof(mac));
        node(&b, 3, 5, usb, sizeof(usb));
        node(&b, 3, 18, sata, sizeof(sata));
        node(&b, 3, 23, nvme, sizeof(nvme));
        node(&b, 1, 4, ven, sizeof(ven));
        node(&b, 3, 10, some_guid, 16);
        node(&b, 4, 3, some_guid, 16);
        end_node(&b);
        s = path_ok(&b);
        assert_string_equal(s,
                            "PciRoot(0x0)/Pci(0x2,0x1)/MAC(525400123456,0x1)/USB(0x3,0x0)/Sata(0x1,0xffff,0x0)/"
                            "NVMe(0x1,00-25-38-B5-71-B1-2C-7D)/"
                            "VenHw(04030201-0605-0807-090a-0b0c0d0e0f10,abcd)/"
                            "VenMsg(04030201-0605-0807-090a-0b0c0d0e0f10)/"
                            "VenMedia(04030201-0605-0807-090a-0b0c0d0e0f10)");
}

static void test_device_path_firmware_volume(void **state) {
        _cleanup_free_ char *s = NULL;
        B b = {};
        B off = {};

        put32(&off, 0);
        put64(&off, 0x15c00);
        put64(&off, 0x47fff);
        node(&b, 4, 7, some_guid, 16);
        node(&b, 4, 6, some_guid, 16);
        node(&b, 4, 8, off.d, off.n);
        end_node(&b);
        s = path_ok(&b);
        assert_string_equal(s,
                            "Fv(04030201-0605-0807-090a-0b0c0d0e0f10)/FvFile(04030201-0605-0807-090a-0b0c0d0e0f10)/"
                            "Offset(0x15c00,0x47fff)");
}

static void test_device_path_unknown_node_and_instances(void **state) {
        _cleanup_free_ char *s = NULL;
        const uint8_t body[3] = { 0xde, 0xad, 0x01 };
        B b = {};

        node(&b, 9, 42, body, sizeof(body));
        node(&b, 0x7f, 0x01, NULL, 0); /* end of instance */
        node(&b, 9, 43, NULL, 0);
        end_node(&b);
        node(&b, 9, 44, NULL, 0); /* after the end: not part of the path */
        s = path_ok(&b);
        assert_string_equal(s, "Path(9,42,dead01),Path(9,43,)");
}

static void test_device_path_node_length_zero(void **state) {
        const uint8_t in[] = { 1, 1, 0, 0, 0, 0 };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_device_path_to_string(in, sizeof(in), &s, &e), -EBADMSG, &e, "less than 4");
        assert_null(s);
}

static void test_device_path_node_length_two(void **state) {
        B b = {};
        UefiError e = {};
        char *s = NULL;

        put_file(&b, "x");
        put8(&b, 1);
        put8(&b, 1);
        put16(&b, 2);
        assert_error(uefi_device_path_to_string(b.d, b.n, &s, &e), -EBADMSG, &e, "less than 4");
        assert_int_equal(e.offset, 10);
}

static void test_device_path_node_past_end(void **state) {
        const uint8_t in[] = { 1, 1, 0x40, 0, 0, 0 };
        UefiError e = {};
        char *s = NULL;

        assert_error(uefi_device_path_to_string(in, sizeof(in), &s, &e), -EBADMSG, &e, "exceeds");
}

static void test_device_path_header_truncated(void **state) {
        B b = {};
        UefiError e = {};
        char *s = NULL;

        put_file(&b, "a");
        put8(&b, 4);
        put8(&b, 4);
        put8(&b, 6);
        assert_error(uefi_device_path_to_string(b.d, b.n, &s, &e), -EBADMSG, &e, "truncated");
}

static void test_device_path_node_limit(void **state) {
        const uint8_t pci[2] = {};
        _cleanup_free_ char *s = NULL;
        UefiError e = {};
        B b = {};
        char *t = NULL;

        for (size_t i = 0; i < UEFI_DEVICE_PATH_NODES_MAX - 1; i++)
                node(&b, 1, 1, pci, sizeof(pci));
        end_node(&b);
        s = path_ok(&b); /* exactly the limit, the end node included */
        b.n -= 4;
        node(&b, 1, 1, pci, sizeof(pci));
        end_node(&b);
        assert_error(uefi_device_path_to_string(b.d, b.n, &t, &e), -E2BIG, &e, "more than");
        assert_null(t);
}

static void test_device_path_node_too_short_for_type(void **state) {
        const uint8_t hd[6] = { 1, 0, 0, 0, 0, 0 };
        UefiError e = {};
        char *s = NULL;
        B b = {};

        node(&b, 4, 1, hd, sizeof(hd));
        assert_error(uefi_device_path_to_string(b.d, b.n, &s, &e), -EBADMSG, &e, "needs 42");
}

static void test_device_path_file_invalid_utf16(void **state) {
        const uint8_t bad_name[4] = { 0x00, 0xdc, 0, 0 };
        UefiError e = {};
        char *s = NULL;
        B b = {};

        node(&b, 1, 5, (uint8_t[4]){}, 4);
        node(&b, 4, 4, bad_name, sizeof(bad_name));
        assert_error(uefi_device_path_to_string(b.d, b.n, &s, &e), -EBADMSG, &e, "surrogate");
        assert_int_equal(e.offset, 12);
}

/* ---- variables ---- */

static json_t *variable_ok(const B *b, bool authority, char **ret_summary) {
        json_t *j = NULL;
        UefiError e = {};
        int r = uefi_variable_to_json(b->d, b->n, authority, &j, ret_summary, &e);
        if (r < 0)
                fail_msg("variable: %s", e.message);
        return j;
}

static void test_variable_secure_boot(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL, *text = NULL;
        B b = {};

        put_variable(&b, global_guid, "SecureBoot", "\x01", 1);
        j = variable_ok(&b, false, &summary);
        text = dump(j);
        assert_string_equal(text,
                            "{\"guid\":\"8be4df61-93ca-11d2-aa0d-00e098032b8c\",\"size\":1,\"value\":true,"
                            "\"variable\":\"SecureBoot\",\"vendor\":\"EFI_GLOBAL_VARIABLE\"}");
        assert_string_equal(summary, "SecureBoot = enabled");
}

static void test_variable_secure_boot_two_bytes(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_variable(&b, global_guid, "SecureBoot", "\x01\x00", 2);
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "not 1");
        assert_null(j);
}

static void test_variable_secure_boot_value_two(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_variable(&b, global_guid, "SetupMode", "\x02", 1);
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "not 0 or 1");
}

static void test_variable_absurd_name_length(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put(&b, global_guid, 16);
        put64(&b, UINT64_C(0x8000000000000001));
        put64(&b, 1);
        put_u16s(&b, "AB", false);
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "UnicodeNameLength");
        assert_int_equal(e.offset, 16);
}

static void test_variable_data_length_past_end(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put(&b, global_guid, 16);
        put64(&b, 2);
        put64(&b, UINT64_MAX);
        put_u16s(&b, "AB", false);
        put8(&b, 1);
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "VariableDataLength");
}

static void test_variable_header_truncated(void **state) {
        UefiError e = {};
        json_t *j = NULL;

        assert_error(uefi_variable_to_json(global_guid, 16, false, &j, NULL, &e), -EBADMSG, &e, "truncated");
}

static void test_variable_name_invalid_utf16(void **state) {
        const uint8_t name[4] = { 'A', 0, 0x01, 0xd8 };
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put(&b, global_guid, 16);
        put64(&b, 2);
        put64(&b, 0);
        put(&b, name, sizeof(name));
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "surrogate");
        assert_int_equal(e.offset, 34);
}

static void test_variable_boot_order(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL, *text = NULL;
        const uint8_t order[4] = { 1, 0, 3, 0 };
        B b = {};

        put_variable(&b, global_guid, "BootOrder", order, sizeof(order));
        j = variable_ok(&b, false, &summary);
        text = dump(json_object_get(j, "value"));
        assert_string_equal(text, "[1,3]");
        assert_string_equal(summary, "BootOrder = 0001,0003");
}

static void test_variable_boot_order_odd(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_variable(&b, global_guid, "BootOrder", "\x01\x00\x03", 3);
        assert_error(uefi_variable_to_json(b.d, b.n, false, &j, NULL, &e), -EBADMSG, &e, "odd length");
}

static void put_load_option(B *b, const char *desc, bool with_path, const char *optional) {
        B path = {};

        if (with_path) {
                put_hd_gpt(&path, 1, 0x800, 0x100000);
                put_file(&path, "\\EFI\\debian\\shimx64.efi");
                end_node(&path);
        }
        put32(b, 1);
        put16(b, path.n);
        put_u16s(b, desc, true);
        put(b, path.d, path.n);
        if (optional)
                put(b, optional, strlen(optional));
}

static void test_variable_boot_entry(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL, *text = NULL;
        B opt = {}, b = {};

        put_load_option(&opt, "debian", true, "RC");
        put_variable(&b, global_guid, "Boot0001", opt.d, opt.n);
        j = variable_ok(&b, false, &summary);
        text = dump(json_object_get(j, "value"));
        assert_string_equal(text,
                            "{\"active\":true,\"attributes\":1,\"description\":\"debian\",\"optional_data\":"
                            "\"5243\",\"path\":\"HD(1,GPT,04030201-0605-0807-090a-0b0c0d0e0f10,0x800,"
                            "0x100000)/\\\\EFI\\\\debian\\\\shimx64.efi\"}");
        assert_string_equal(summary,
                            "Boot0001: debian HD(1,GPT,04030201-0605-0807-090a-0b0c0d0e0f10,0x800,0x100000)/"
                            "\\EFI\\debian\\shimx64.efi");
}

static void test_load_option_description_without_nul(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put32(&b, 1);
        put16(&b, 0);
        put_u16s(&b, "debian", false);
        assert_error(uefi_load_option_to_json(b.d, b.n, &j, &e), -EBADMSG, &e, "no NUL");
}

static void test_load_option_file_path_past_end(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_load_option(&b, "debian", true, NULL);
        b.d[4] = 0xff; /* FilePathListLength */
        assert_error(uefi_load_option_to_json(b.d, b.n, &j, &e), -EBADMSG, &e, "FilePathListLength");
}

/* ---- signature lists ---- */

static void put_sig_list_header(B *b, const uint8_t *type, uint32_t list_size, uint32_t header_size,
                                uint32_t sig_size) {
        put(b, type, 16);
        put32(b, list_size);
        put32(b, header_size);
        put32(b, sig_size);
}

static void test_signature_list_sha256(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *text = NULL, *summary = NULL;
        uint8_t hash[32];
        B l = {}, b = {};

        memset(hash, 0xaa, sizeof(hash));
        put_sig_list_header(&l, sha256_guid, 28 + 2 * 48, 0, 48);
        for (size_t i = 0; i < 2; i++) {
                put(&l, some_guid, 16);
                hash[0] = i;
                put(&l, hash, sizeof(hash));
        }
        put_variable(&b, secdb_guid, "dbx", l.d, l.n);
        j = variable_ok(&b, false, &summary);
        assert_string_equal(summary, "dbx: 2 entries");
        text = dump(json_array_get(json_object_get(j, "value"), 1));
        assert_string_equal(
                text,
                "{\"owner\":\"04030201-0605-0807-090a-0b0c0d0e0f10\",\"sha256\":"
                "\"01aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"type\":\"sha256\"}");
}

static void test_signature_list_empty_variable(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL;
        B b = {};

        put_variable(&b, global_guid, "PK", NULL, 0);
        j = variable_ok(&b, false, &summary);
        assert_true(json_is_array(json_object_get(j, "value")));
        assert_int_equal(json_array_size(json_object_get(j, "value")), 0);
        assert_string_equal(summary, "PK: 0 entries");
}

static void test_signature_list_size_below_header(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28 + 48, 100, 48);
        put(&l, some_guid, 16);
        put(&l, (uint8_t[32]){}, 32);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "too small for its header");
}

static void test_signature_list_signature_size_zero(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28, 0, 0);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "SignatureSize 0");
}

static void test_signature_list_signature_size_owner_only(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28 + 16, 0, 16);
        put(&l, some_guid, 16);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "SignatureSize 16");
}

static void test_signature_list_size_past_end(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, UINT32_MAX, 0, 48);
        put(&l, some_guid, 16);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "exceeds");
}

static void test_signature_list_not_multiple(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28 + 50, 0, 48);
        put(&l, some_guid, 16);
        put(&l, (uint8_t[34]){}, 34);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "not header + n");
}

static void test_signature_list_header_truncated(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28, 0, 48);
        assert_error(uefi_signature_lists_to_json(l.d, 20, &j, &e), -EBADMSG, &e, "header truncated");
}

static void test_signature_sha256_wrong_size(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B l = {};

        put_sig_list_header(&l, sha256_guid, 28 + 36, 0, 36);
        put(&l, some_guid, 16);
        put(&l, (uint8_t[20]){}, 20);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "not 32");
}

/* The Supermicro PK certificate from event-postcode.bin, event 4. */
static uint8_t *fixture_pk(size_t *ret_size) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ EventlogEvent *events = NULL;
        size_t size;
        const uint8_t *v;
        uint8_t *cert;

        data = uefi_fixture("event-postcode.bin", &size);
        assert_true(uefi_fixture_events(data, size, &events) > 4);
        if (!events || !events[4].data)
                abort();
        /* UEFI_VARIABLE_DATA "PK" (2 characters), then one list without header of one certificate */
        v = events[4].data + 32 + 4;
        *ret_size = uefi_test_le32(v + 24) - 16;
        cert = malloc(*ret_size);
        assert_non_null(cert);
        memcpy(cert, v + 28 + 16, *ret_size);
        return cert;
}

static void put_x509_list(B *l, const uint8_t *cert, size_t n) {
        put_sig_list_header(l, x509_guid, 28 + 16 + n, 0, 16 + n);
        put(l, some_guid, 16);
        put(l, cert, n);
}

static void test_signature_list_x509(void **state) {
        _cleanup_free_ uint8_t *cert = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL;
        json_t *sig;
        size_t n;
        B l = {}, b = {};

        cert = fixture_pk(&n);
        put_x509_list(&l, cert, n);
        put_variable(&b, global_guid, "PK", l.d, l.n);
        j = variable_ok(&b, false, &summary);
        sig = json_array_get(json_object_get(j, "value"), 0);
        assert_string_equal(json_string_value(json_object_get(sig, "type")), "x509");
        assert_string_equal(json_string_value(json_object_get(sig, "owner")),
                            "04030201-0605-0807-090a-0b0c0d0e0f10");
        assert_string_equal(json_string_value(json_object_get(sig, "subject")),
                            "CN=SUPERMICRO PK CA 2018, O=Super Micro Computer Inc., L=San Jose, ST=CA, C=USA");
        assert_string_equal(json_string_value(json_object_get(sig, "issuer")),
                            "CN=SUPERMICRO PK CA 2018, O=Super Micro Computer Inc., L=San Jose, ST=CA, C=USA");
        assert_string_equal(json_string_value(json_object_get(sig, "sha256")),
                            "5fc05b208b7a0c0134bec048dad1a1edfa6d15187dfafb8e3ba8a97911ddcc20");
        assert_string_equal(
                summary,
                "PK: CN=SUPERMICRO PK CA 2018, O=Super Micro Computer Inc., L=San Jose, ST=CA, C=USA");
}

static void test_signature_list_x509_truncated(void **state) {
        _cleanup_free_ uint8_t *cert = NULL;
        UefiError e = {};
        json_t *j = NULL;
        size_t n;
        B l = {};

        cert = fixture_pk(&n);
        put_x509_list(&l, cert, n / 2);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "does not parse");
        assert_int_equal(e.offset, 28 + 16);
}

static void test_signature_list_x509_trailing(void **state) {
        _cleanup_free_ uint8_t *cert = NULL;
        uint8_t *longer;
        UefiError e = {};
        json_t *j = NULL;
        size_t n;
        B l = {};

        cert = fixture_pk(&n);
        longer = calloc(1, n + 3);
        assert_non_null(longer);
        memcpy(longer, cert, n);
        put_x509_list(&l, longer, n + 3);
        free(longer);
        assert_error(uefi_signature_lists_to_json(l.d, l.n, &j, &e), -EBADMSG, &e, "followed by 3 bytes");
}

static void test_authority_signature_data(void **state) {
        _cleanup_free_ uint8_t *cert = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL;
        size_t n;
        B sd = {}, b = {};

        cert = fixture_pk(&n);
        put(&sd, some_guid, 16);
        put(&sd, cert, n);
        put_variable(&b, secdb_guid, "db", sd.d, sd.n);
        j = variable_ok(&b, true, &summary);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "value"), "sha256")),
                            "5fc05b208b7a0c0134bec048dad1a1edfa6d15187dfafb8e3ba8a97911ddcc20");
        assert_string_equal(
                summary,
                "db: CN=SUPERMICRO PK CA 2018, O=Super Micro Computer Inc., L=San Jose, ST=CA, C=USA");
}

static void test_authority_garbage(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_variable(&b, secdb_guid, "db", "hello", 5);
        assert_error(uefi_variable_to_json(b.d, b.n, true, &j, NULL, &e), -EBADMSG, &e, "neither");
}

/* ---- image load, GPT, blobs, tables ---- */

static void test_image_load(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL, *text = NULL;
        UefiError e = {};
        B path = {}, b = {};

        put_file(&path, "\\EFI\\debian\\grubx64.efi");
        end_node(&path);
        put64(&b, 0x7dcf6018);
        put64(&b, 171464);
        put64(&b, 0);
        put64(&b, path.n);
        put(&b, path.d, path.n);
        assert_int_equal(uefi_image_load_to_json(b.d, b.n, &j, &summary, &e), 0);
        text = dump(j);
        assert_string_equal(text,
                            "{\"image_base\":\"0x7dcf6018\",\"image_length\":171464,\"link_time_address\":"
                            "\"0x0\",\"path\":\"\\\\EFI\\\\debian\\\\grubx64.efi\"}");
        assert_string_equal(summary, "\\EFI\\debian\\grubx64.efi");
}

static void test_image_load_path_length_past_end(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put64(&b, 0);
        put64(&b, 0);
        put64(&b, 0);
        put64(&b, 5);
        put32(&b, 0x00047fff);
        assert_error(uefi_image_load_to_json(b.d, b.n, &j, NULL, &e), -EBADMSG, &e, "LengthOfDevicePath");
}

static void test_image_load_truncated(void **state) {
        UefiError e = {};
        json_t *j = NULL;

        assert_error(uefi_image_load_to_json((uint8_t[31]){}, 31, &j, NULL, &e), -EBADMSG, &e, "truncated");
}

static void put_gpt(B *b, uint64_t count, uint32_t entry_size, size_t n_entries) {
        put(b, "EFI PART", 8);
        put32(b, 0x10000);
        put32(b, 92);
        put32(b, 0);
        put32(b, 0);
        put64(b, 1);
        put64(b, 1000);
        put64(b, 34);
        put64(b, 966);
        put(b, some_guid, 16);
        put64(b, 2);
        put32(b, 128);
        put32(b, entry_size);
        put32(b, 0);
        put64(b, count);
        for (size_t i = 0; i < n_entries; i++) {
                B e = {};
                put(&e, x509_guid, 16);
                put(&e, some_guid, 16);
                put64(&e, 2048);
                put64(&e, 4095);
                put64(&e, 0);
                put_u16s(&e, "EFI system", true);
                while (e.n < entry_size)
                        put8(&e, 0);
                put(b, e.d, e.n);
        }
}

static void test_gpt(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL, *text = NULL;
        UefiError e = {};
        B b = {};

        put_gpt(&b, 1, 128, 1);
        assert_int_equal(uefi_gpt_to_json(b.d, b.n, &j, &summary, &e), 0);
        text = dump(json_array_get(json_object_get(j, "partitions"), 0));
        assert_string_equal(text,
                            "{\"attributes\":\"0x0\",\"end_lba\":4095,\"guid\":\"04030201-0605-0807-090a-"
                            "0b0c0d0e0f10\",\"name\":\"EFI system\",\"number\":1,\"start_lba\":2048,\"type\":"
                            "\"a5c059a1-94e4-4aa7-87b5-ab155c2bf072\"}");
        assert_string_equal(summary, "GPT disk 04030201-0605-0807-090a-0b0c0d0e0f10, 1 partition");
}

static void test_gpt_partitions_huge(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_gpt(&b, UINT64_C(0x0200000000000001), 128, 1); /* * 128 wraps to 128 in 64 bits */
        assert_error(uefi_gpt_to_json(b.d, b.n, &j, NULL, &e), -E2BIG, &e, "NumberOfPartitions");
}

static void test_gpt_partitions_do_not_fill(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {};

        put_gpt(&b, 2, 128, 1);
        assert_error(uefi_gpt_to_json(b.d, b.n, &j, NULL, &e), -EBADMSG, &e, "do not fill");
}

static void test_gpt_bad_signature_and_entry_size(void **state) {
        UefiError e = {};
        json_t *j = NULL;
        B b = {}, c = {};

        put_gpt(&b, 1, 128, 1);
        b.d[0] = 'X';
        assert_error(uefi_gpt_to_json(b.d, b.n, &j, NULL, &e), -EBADMSG, &e, "signature");
        put_gpt(&c, 0, 64, 0);
        assert_error(uefi_gpt_to_json(c.d, c.n, &j, NULL, &e), -EBADMSG, &e, "SizeOfPartitionEntry");
        assert_error(uefi_gpt_to_json(c.d, 50, &j, NULL, &e), -EBADMSG, &e, "truncated");
}

static void test_firmware_blobs(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL, *k = NULL;
        _cleanup_free_ char *summary = NULL, *summary2 = NULL;
        UefiError e = {};
        json_t *x = NULL;
        B b = {}, c = {};

        put64(&b, 0x820000);
        put64(&b, 917504);
        assert_int_equal(uefi_firmware_blob_to_json(b.d, b.n, false, &j, &summary, &e), 0);
        assert_string_equal(summary, "blob at 0x820000, 917504 bytes");
        assert_error(uefi_firmware_blob_to_json(b.d, 15, false, &x, NULL, &e), -EBADMSG, &e, "not 16");

        put8(&c, 4);
        put(&c, "BIOS", 4);
        put64(&c, 0xff000000);
        put64(&c, 4096);
        assert_int_equal(uefi_firmware_blob_to_json(c.d, c.n, true, &k, &summary2, &e), 0);
        assert_string_equal(summary2, "BIOS: blob at 0xff000000, 4096 bytes");
        c.d[0] = 200;
        assert_error(uefi_firmware_blob_to_json(c.d, c.n, true, &x, NULL, &e), -EBADMSG, &e,
                     "BlobDescriptionSize");
        assert_null(x);
}

static void test_handoff_tables(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL;
        const uint8_t smbios[16] = { 0x31, 0x2d, 0x9d, 0xeb, 0x88, 0x2d, 0xd3, 0x11,
                                     0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d };
        UefiError e = {};
        json_t *x = NULL;
        B b = {};

        put8(&b, 6);
        put(&b, "SMBIOS", 6);
        put64(&b, 1);
        put(&b, smbios, 16);
        put64(&b, 0xf0000);
        assert_int_equal(uefi_handoff_tables_to_json(b.d, b.n, true, &j, &summary, &e), 0);
        assert_string_equal(summary, "SMBIOS: 1 table");
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(j, "tables"), 0), "name")),
                "SMBIOS_TABLE_GUID");
        b.d[8] = 0x01; /* NumberOfTables 257 */
        assert_error(uefi_handoff_tables_to_json(b.d, b.n, true, &x, NULL, &e), -E2BIG, &e, "NumberOfTables");
        assert_error(uefi_handoff_tables_to_json(b.d + 7, b.n - 7, false, &x, NULL, &e), -E2BIG, &e,
                     "NumberOfTables");
        b.d[8] = 0;
        b.d[7] = 2;
        assert_error(uefi_handoff_tables_to_json(b.d, b.n, true, &x, NULL, &e), -EBADMSG, &e, "do not fill");
}

/* ---- EV_IPL, tags, EV_NO_ACTION ---- */

static void test_ipl_grub_and_utf16(void **state) {
        _cleanup_(json_decrefp) json_t *a = NULL, *k = NULL, *u = NULL;
        _cleanup_free_ char *summary = NULL;
        const char cmd[] = "grub_cmd: set root=hd0,gpt1";
        const char kernel[] = "kernel_cmdline: /vmlinuz root=/dev/sda1 ro";
        UefiError e = {};
        B b = {};

        assert_int_equal(uefi_ipl_to_json(cmd, sizeof(cmd), &a, &summary, &e), 0);
        assert_string_equal(json_string_value(json_object_get(a, "grub_cmd")), "set root=hd0,gpt1");
        assert_string_equal(summary, cmd);
        assert_int_equal(uefi_ipl_to_json(kernel, sizeof(kernel) - 1, &k, NULL, &e), 0);
        assert_string_equal(json_string_value(json_object_get(k, "kernel_cmdline")),
                            "/vmlinuz root=/dev/sda1 ro");
        put_u16s(&b, "root=/dev/sda1 quiet", true);
        assert_int_equal(uefi_ipl_to_json(b.d, b.n, &u, NULL, &e), 0);
        assert_string_equal(json_string_value(json_object_get(u, "text")), "root=/dev/sda1 quiet");
        assert_string_equal(json_string_value(json_object_get(u, "encoding")), "utf-16");
}

static void test_ipl_binary(void **state) {
        const uint8_t bin[] = { 'a', 0, 0, 0, 0xff, 0x01, 0x02 };
        UefiError e = {};
        json_t *j = NULL;

        assert_error(uefi_ipl_to_json(bin, sizeof(bin), &j, NULL, &e), -EBADMSG, &e, "neither");
        /* UTF-16 followed by data after its NUL: not text */
        assert_error(uefi_ipl_to_json(bin, 6, &j, NULL, &e), -EBADMSG, &e, "neither");
}

static void test_event_tag(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *summary = NULL;
        UefiError e = {};
        json_t *x = NULL;
        B b = {};

        put32(&b, 0x8F3B22EC);
        put32(&b, 10);
        put_u16s(&b, "ro q", true);
        assert_int_equal(uefi_event_tag_to_json(b.d, b.n, &j, &summary, &e), 0);
        assert_string_equal(summary, "tag 0x8f3b22ec: ro q");
        b.d[4] = 11;
        assert_error(uefi_event_tag_to_json(b.d, b.n, &x, NULL, &e), -EBADMSG, &e, "taggedEventDataSize");
        assert_error(uefi_event_tag_to_json(b.d, 7, &x, NULL, &e), -EBADMSG, &e, "truncated");
}

static void test_no_action(void **state) {
        _cleanup_(json_decrefp) json_t *j = NULL, *s = NULL;
        _cleanup_free_ char *summary = NULL;
        UefiError e = {};
        json_t *x = NULL;
        B b = {}, c = {};

        put(&b, "StartupLocality\0", 16);
        put8(&b, 3);
        assert_int_equal(uefi_no_action_to_json(b.d, b.n, &j, &summary, &e), 0);
        assert_int_equal(json_integer_value(json_object_get(j, "startup_locality")), 3);
        assert_string_equal(summary, "StartupLocality 3");
        put8(&b, 0);
        assert_error(uefi_no_action_to_json(b.d, b.n, &x, NULL, &e), -EBADMSG, &e, "not 17");

        put(&c, "Spec ID Event03\0", 16);
        put32(&c, 0);
        put8(&c, 0);
        put8(&c, 2);
        put8(&c, 0);
        put8(&c, 2);
        put32(&c, 1000);
        put16(&c, 0x000B);
        put16(&c, 32);
        assert_error(uefi_no_action_to_json(c.d, c.n, &x, NULL, &e), -EBADMSG, &e, "numberOfAlgorithms");
        c.d[24] = 1;
        c.d[25] = c.d[26] = c.d[27] = 0;
        put8(&c, 5); /* vendorInfoSize past the end */
        assert_error(uefi_no_action_to_json(c.d, c.n, &x, NULL, &e), -EBADMSG, &e, "vendorInfoSize");
        c.d[c.n - 1] = 0;
        assert_int_equal(uefi_no_action_to_json(c.d, c.n, &s, NULL, &e), 0);
        assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(s, "algorithms"), 0), "name")),
                            "sha256");
        assert_error(uefi_no_action_to_json(c.d, 10, &x, NULL, &e), -EBADMSG, &e, "signature");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf16_valid),
                cmocka_unit_test(test_utf16_unpaired_high_surrogate_at_end),
                cmocka_unit_test(test_utf16_high_surrogate_without_low),
                cmocka_unit_test(test_utf16_lone_low_surrogate),
                cmocka_unit_test(test_utf16_odd_length),
                cmocka_unit_test(test_utf16_control_character),
                cmocka_unit_test(test_guid_names),
                cmocka_unit_test(test_device_path_hd_file),
                cmocka_unit_test(test_device_path_hardware_and_messaging),
                cmocka_unit_test(test_device_path_firmware_volume),
                cmocka_unit_test(test_device_path_unknown_node_and_instances),
                cmocka_unit_test(test_device_path_node_length_zero),
                cmocka_unit_test(test_device_path_node_length_two),
                cmocka_unit_test(test_device_path_node_past_end),
                cmocka_unit_test(test_device_path_header_truncated),
                cmocka_unit_test(test_device_path_node_limit),
                cmocka_unit_test(test_device_path_node_too_short_for_type),
                cmocka_unit_test(test_device_path_file_invalid_utf16),
                cmocka_unit_test(test_variable_secure_boot),
                cmocka_unit_test(test_variable_secure_boot_two_bytes),
                cmocka_unit_test(test_variable_secure_boot_value_two),
                cmocka_unit_test(test_variable_absurd_name_length),
                cmocka_unit_test(test_variable_data_length_past_end),
                cmocka_unit_test(test_variable_header_truncated),
                cmocka_unit_test(test_variable_name_invalid_utf16),
                cmocka_unit_test(test_variable_boot_order),
                cmocka_unit_test(test_variable_boot_order_odd),
                cmocka_unit_test(test_variable_boot_entry),
                cmocka_unit_test(test_load_option_description_without_nul),
                cmocka_unit_test(test_load_option_file_path_past_end),
                cmocka_unit_test(test_signature_list_sha256),
                cmocka_unit_test(test_signature_list_empty_variable),
                cmocka_unit_test(test_signature_list_size_below_header),
                cmocka_unit_test(test_signature_list_signature_size_zero),
                cmocka_unit_test(test_signature_list_signature_size_owner_only),
                cmocka_unit_test(test_signature_list_size_past_end),
                cmocka_unit_test(test_signature_list_not_multiple),
                cmocka_unit_test(test_signature_list_header_truncated),
                cmocka_unit_test(test_signature_sha256_wrong_size),
                cmocka_unit_test(test_signature_list_x509),
                cmocka_unit_test(test_signature_list_x509_truncated),
                cmocka_unit_test(test_signature_list_x509_trailing),
                cmocka_unit_test(test_authority_signature_data),
                cmocka_unit_test(test_authority_garbage),
                cmocka_unit_test(test_image_load),
                cmocka_unit_test(test_image_load_path_length_past_end),
                cmocka_unit_test(test_image_load_truncated),
                cmocka_unit_test(test_gpt),
                cmocka_unit_test(test_gpt_partitions_huge),
                cmocka_unit_test(test_gpt_partitions_do_not_fill),
                cmocka_unit_test(test_gpt_bad_signature_and_entry_size),
                cmocka_unit_test(test_firmware_blobs),
                cmocka_unit_test(test_handoff_tables),
                cmocka_unit_test(test_ipl_grub_and_utf16),
                cmocka_unit_test(test_ipl_binary),
                cmocka_unit_test(test_event_tag),
                cmocka_unit_test(test_no_action),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
