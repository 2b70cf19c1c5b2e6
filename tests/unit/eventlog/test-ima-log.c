/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMA log parsing: the fixtures parse in both formats to the same entries, template hashes verify, a
 * tampered path is reported at its entry, and malformed logs give clean errors naming the entry and where
 * (run under ASan in the sanitizer build: no over-read). */

#include "eventlog/ima-log.h"
#include "ima-test-util.h"

static ImaLog *parse_ok(const void *data, size_t size, ImaLogFormat format) {
        ImaParseParams p = { .format = format };
        ImaError err = {};
        ImaLog *log = NULL;
        int r;

        r = ima_log_parse(data, size, &p, &log, &err);
        if (r < 0)
                fail_msg("parse failed: %s (%d)", err.message, r);
        return log;
}

static void test_fixture_ascii(void **state) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        size_t size;
        ImaError err = {};

        data = ima_fixture("ima-evm-utils-test_ascii_runtime_measurements", &size);
        log = parse_ok(data, size, IMA_LOG_FORMAT_AUTO);
        assert_int_equal(log->format, IMA_LOG_FORMAT_ASCII);
        assert_int_equal(log->template_hash_alg, 0x0004);
        assert_int_equal(log->n_entries, 3);
        assert_string_equal(log->entries[0].name, "boot_aggregate");
        assert_string_equal(log->entries[1].name, "/init");
        assert_string_equal(log->entries[2].name, "/bin/sh");
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(log->entries[i].pcr, 10);
                assert_int_equal(log->entries[i].line, i + 1);
                assert_string_equal(log->entries[i].template_name, "ima-ng");
                assert_string_equal(log->entries[i].digest_algo, "sha256");
                assert_int_equal(log->entries[i].digest_size, 32);
                assert_false(log->entries[i].violation);
        }
        assert_int_equal(log->entries[1].digest[0], 0xae);
        assert_int_equal(log->end_offset, size);
        assert_int_equal(ima_log_verify(log, &err), 0);
}

/* The same entries from both formats: same template data, hashes and offsets that point at entries. */
static void assert_logs_equal(const ImaLog *a, const ImaLog *b) {
        assert_int_equal(a->n_entries, b->n_entries);
        for (size_t i = 0; i < a->n_entries; i++) {
                const ImaEntry *x = a->entries + i, *y = b->entries + i;
                assert_int_equal(x->index, i);
                assert_int_equal(y->index, i);
                assert_string_equal(x->template_name, y->template_name);
                assert_memory_equal(x->template_hash, y->template_hash, 20);
                assert_int_equal(x->data_size, y->data_size);
                assert_memory_equal(x->data, y->data, x->data_size);
                assert_string_equal(x->name, y->name);
                assert_int_equal(x->violation, y->violation);
        }
}

static void test_fixture_binary_equals_ascii(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_(ima_log_freep) ImaLog *la = NULL, *lb = NULL;
        size_t na, nb;
        ImaError err = {};

        a = ima_fixture("ima-evm-utils-test_ascii_runtime_measurements", &na);
        b = ima_fixture("ima-evm-utils-test_binary_runtime_measurements", &nb);
        la = parse_ok(a, na, IMA_LOG_FORMAT_AUTO);
        lb = parse_ok(b, nb, IMA_LOG_FORMAT_AUTO);
        assert_int_equal(lb->format, IMA_LOG_FORMAT_BINARY);
        assert_logs_equal(la, lb);
        assert_int_equal(lb->entries[0].offset, 0);
        assert_int_equal(lb->entries[0].line, 0);
        assert_int_equal(ima_log_verify(lb, &err), 0);
}

static void test_synthetic_templates(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_(ima_log_freep) ImaLog *la = NULL, *lb = NULL;
        size_t na, nb;
        ImaError err = {};
        const ImaEntry *e;

        a = ima_fixture("synthetic_ascii_runtime_measurements", &na);
        b = ima_fixture("synthetic_binary_runtime_measurements", &nb);
        la = parse_ok(a, na, IMA_LOG_FORMAT_ASCII);
        lb = parse_ok(b, nb, IMA_LOG_FORMAT_BINARY);
        assert_int_equal(la->n_entries, 12);
        assert_logs_equal(la, lb);
        assert_int_equal(ima_log_verify(la, &err), 0);
        assert_int_equal(ima_log_verify(lb, &err), 0);

        /* "ima": sha1 digest without algorithm, the kernel's special template hash. */
        e = lb->entries + 0;
        assert_true(e->template.legacy);
        assert_string_equal(e->digest_algo, "sha1");
        assert_string_equal(e->name, "boot_aggregate");
        /* ima-ng with a sha1 file digest */
        assert_string_equal(lb->entries[2].digest_algo, "sha1");
        /* ima-sig with a signature, and with none (an empty field in both formats) */
        assert_int_equal(lb->entries[3].fields[2].id, IMA_FIELD_SIG);
        assert_int_equal(lb->entries[3].fields[2].size, 25);
        assert_int_equal(lb->entries[3].fields[2].data[0], 0x03);
        assert_int_equal(lb->entries[4].fields[2].size, 0);
        /* ima-buf: the kexec command line */
        e = lb->entries + 5;
        assert_int_equal(e->fields[2].id, IMA_FIELD_BUF);
        assert_int_equal(e->fields[2].size, strlen("root=/dev/sda1 ro"));
        assert_memory_equal(e->fields[2].data, "root=/dev/sda1 ro", e->fields[2].size);
        /* ima-modsig with and without an appended signature */
        e = lb->entries + 6;
        assert_int_equal(e->template.n_fields, 5);
        assert_int_equal(e->fields[3].id, IMA_FIELD_D_MODSIG);
        assert_int_equal(e->fields[3].size, strlen("sha256:") + 1 + 32);
        assert_int_equal(e->fields[4].size, 5);
        for (size_t i = 2; i < 5; i++)
                assert_int_equal(lb->entries[7].fields[i].size, 0);
        /* A name with spaces (older kernels) survives the ASCII format. */
        assert_string_equal(la->entries[8].name, "/tmp/a file with spaces");
        /* The violation: template hash all zero, its digest too. */
        assert_false(lb->entries[8].violation);
        assert_true(lb->entries[9].violation);
        assert_true(la->entries[9].violation);
        /* d-ngv2: the digest type before the algorithm */
        assert_string_equal(lb->entries[10].digest_type, "ima");
        assert_string_equal(lb->entries[10].digest_algo, "sha256");
        assert_string_equal(lb->entries[11].template_name, "ima-sigv2");
        assert_string_equal(la->entries[11].digest_type, "verity");
        assert_int_equal(la->entries[11].digest_size, 32);
        assert_null(lb->entries[9].digest_type);
}

/* Changing a file path after the fact is caught at that entry, in both formats. */
static void test_tampered_path(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_(ima_log_freep) ImaLog *la = NULL, *lb = NULL;
        size_t na, nb;
        ImaError err = {};
        char *p;

        a = ima_fixture("ima-evm-utils-test_ascii_runtime_measurements", &na);
        p = memmem(a, na, "/init", 5);
        assert_non_null(p);
        p[4] = 'x'; /* "/inix" */
        la = parse_ok(a, na, IMA_LOG_FORMAT_ASCII);
        assert_int_equal(ima_log_verify(la, &err), -EILSEQ);
        assert_int_equal(err.entry, 1);
        assert_int_equal(err.line, 2);
        assert_non_null(strstr(err.message, "entry 1 (line 2)"));
        assert_non_null(strstr(err.message, "\"/inix\""));

        b = ima_fixture("synthetic_binary_runtime_measurements", &nb);
        p = memmem(b, nb, "/usr/bin/cat", 12);
        assert_non_null(p);
        p[9] = 'r'; /* "/usr/bin/rat" */
        lb = parse_ok(b, nb, IMA_LOG_FORMAT_BINARY);
        err = (ImaError){};
        assert_int_equal(ima_log_verify(lb, &err), -EILSEQ);
        assert_int_equal(err.entry, 4);
        assert_int_equal(err.offset, lb->entries[4].offset);
        assert_non_null(strstr(err.message, "/usr/bin/rat"));
}

/* Cutting a log anywhere but at an entry boundary is an error naming the entry that was cut; at a
 * boundary the entries before it parse. Covers truncation inside every field of every template. */
static void truncate_everywhere(const char *fixture, ImaLogFormat format) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *full = NULL;
        size_t size, next = 0;

        data = ima_fixture(fixture, &size);
        full = parse_ok(data, size, format);

        for (size_t cut = 0; cut < size; cut++) {
                ImaParseParams p = { .format = format, .template_hash_alg = 0x0004 };
                _cleanup_(ima_log_freep) ImaLog *log = NULL;
                _cleanup_free_ uint8_t *copy = malloc(cut ?: 1);
                ImaError err = {};
                int r;

                /* An exact-size copy so that ASan sees any read past the end. */
                memcpy(copy, data, cut);
                while (next < full->n_entries && full->entries[next].offset < cut)
                        next++;
                r = ima_log_parse(copy, cut, &p, &log, &err);
                if (next < full->n_entries ? full->entries[next].offset == cut : cut == size) {
                        assert_int_equal(r, 0);
                        assert_int_equal(log->n_entries, next);
                } else {
                        if (r != -EBADMSG)
                                fail_msg("%s cut at %zu: %d %s", fixture, cut, r, err.message);
                        assert_int_equal(err.entry, next - 1);
                        assert_true(err.offset >= full->entries[next - 1].offset && err.offset <= cut);
                        assert_non_null(strstr(err.message, "entry "));
                }
        }
}

static void test_truncation_binary(void **state) {
        truncate_everywhere("synthetic_binary_runtime_measurements", IMA_LOG_FORMAT_BINARY);
        truncate_everywhere("ima-evm-utils-test_binary_runtime_measurements", IMA_LOG_FORMAT_BINARY);
}

static void test_truncation_ascii(void **state) {
        truncate_everywhere("synthetic_ascii_runtime_measurements", IMA_LOG_FORMAT_ASCII);
}

/* Binary log builder for the malformed cases. */
typedef struct Bytes {
        uint8_t p[4096];
        size_t n;
} Bytes;

static void put(Bytes *b, const void *d, size_t n) {
        assert_true(b->n + n <= sizeof(b->p));
        memcpy(b->p + b->n, d, n);
        b->n += n;
}

static void put32(Bytes *b, uint32_t v) {
        put(b, (uint8_t[]){ v, v >> 8, v >> 16, v >> 24 }, 4);
}

static void put_field(Bytes *b, const void *d, size_t n) {
        put32(b, n);
        put(b, d, n);
}

/* An entry header: PCR, a non-zero template hash, the template name. */
static void put_head(Bytes *b, uint32_t pcr, const char *template) {
        uint8_t h[20];
        memset(h, 0x11, sizeof(h));
        put32(b, pcr);
        put(b, h, sizeof(h));
        put32(b, strlen(template));
        put(b, template, strlen(template));
}

/* d-ng field bytes "sha256:\0" + n bytes */
static size_t dng(uint8_t *out, const char *algo, size_t n) {
        size_t l = strlen(algo);
        memcpy(out, algo, l);
        out[l] = ':';
        out[l + 1] = 0;
        memset(out + l + 2, 0xab, n);
        return l + 2 + n;
}

/* ima-ng template data with the given d-ng bytes and name bytes */
static void put_ng(Bytes *b, const void *d, size_t dn, const void *name, size_t nn) {
        put32(b, 4 + dn + 4 + nn);
        put_field(b, d, dn);
        put_field(b, name, nn);
}

static void put_valid(Bytes *b) {
        uint8_t d[64];
        size_t n = dng(d, "sha256", 32);
        put_head(b, 10, "ima-ng");
        put_ng(b, d, n, "/ok", 4);
}

typedef struct BinCase {
        const char *what;
        int error;
        const char *message;
} BinCase;

static void bin_case(int i, Bytes *b, BinCase *c) {
        uint8_t d[300];
        size_t n;

        put_valid(b); /* entry 0 is fine; the damage is in entry 1 */
        switch (i) {
        case 0:
                *c = (BinCase){ "PCR index 24", -EBADMSG, "PCR index 24 out of range" };
                put_head(b, 24, "ima-ng");
                break;
        case 1:
                *c = (BinCase){ "big-endian PCR", -EBADMSG, "big-endian" };
                put_head(b, 0x0a000000, "ima-ng");
                break;
        case 2:
                *c = (BinCase){ "template name length 0", -EBADMSG, "template name length 0" };
                put32(b, 10);
                put(b, (uint8_t[20]){ 1 }, 20);
                put32(b, 0);
                break;
        case 3:
                *c = (BinCase){ "template name length 256", -EBADMSG, "template name length 256" };
                put32(b, 10);
                put(b, (uint8_t[20]){ 1 }, 20);
                put32(b, 256);
                break;
        case 4:
                *c = (BinCase){ "template name length 2^32-1", -EBADMSG, "template name length 4294967295" };
                put32(b, 10);
                put(b, (uint8_t[20]){ 1 }, 20);
                put32(b, UINT32_MAX);
                break;
        case 5:
                *c = (BinCase){ "unknown template", -EPROTONOSUPPORT, "unknown template 'ima-foo'" };
                put_head(b, 10, "ima-foo");
                put32(b, 0);
                break;
        case 6:
                *c = (BinCase){ "unknown field in a custom template", -EPROTONOSUPPORT, "unknown template" };
                put_head(b, 10, "d-ng|xyz");
                put32(b, 0);
                break;
        case 7:
                *c = (BinCase){ "template data over the limit", -E2BIG, "exceeds the limit of 1048576" };
                put_head(b, 10, "ima-ng");
                put32(b, IMA_TEMPLATE_DATA_MAX + 1);
                break;
        case 8:
                *c = (BinCase){ "template data past the end", -EBADMSG, "truncated in the template data" };
                put_head(b, 10, "ima-ng");
                put32(b, 1000);
                put(b, "abc", 3);
                break;
        case 9:
                *c = (BinCase){ "field length past the template data", -EBADMSG,
                                "field 'd-ng' length 100 exceeds" };
                put_head(b, 10, "ima-ng");
                put32(b, 8);
                put32(b, 100);
                put(b, "abcd", 4);
                break;
        case 10:
                *c = (BinCase){ "field length 2^32-1", -EBADMSG, "field 'd-ng' length 4294967295" };
                put_head(b, 10, "ima-ng");
                put32(b, 8);
                put32(b, UINT32_MAX);
                put(b, "abcd", 4);
                break;
        case 11:
                *c = (BinCase){ "bytes after the last field", -EBADMSG, "2 bytes after the last field" };
                n = dng(d, "sha256", 32);
                put_head(b, 10, "ima-ng");
                put32(b, 4 + n + 4 + 4 + 2);
                put_field(b, d, n);
                put_field(b, "/ok", 4);
                put(b, "xx", 2);
                break;
        case 12:
                *c = (BinCase){ "template data ends before a field", -EBADMSG,
                                "ends in the length of field 'n-ng'" };
                n = dng(d, "sha256", 32);
                put_head(b, 10, "ima-ng");
                put32(b, 4 + n);
                put_field(b, d, n);
                break;
        case 13:
                *c = (BinCase){ "custom template of 16 fields", -EPROTONOSUPPORT, "unknown template" };
                put_head(b, 10, "sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig");
                put32(b, 0);
                break;
        case 14:
                *c = (BinCase){ "ima template name over 255 bytes", -EBADMSG,
                                "field 'n' length 256 exceeds 255" };
                put_head(b, 10, "ima");
                put(b, (uint8_t[20]){ 1 }, 20);
                memset(d, 'a', 256);
                put_field(b, d, 256);
                break;
        case 15:
                *c = (BinCase){ "ima template cut in d", -EBADMSG, "truncated in field 'd'" };
                put_head(b, 10, "ima");
                put(b, (uint8_t[10]){ 1 }, 10);
                break;
        case 16:
                *c = (BinCase){ "template name with a NUL", -EBADMSG, "template name contains a NUL byte" };
                put32(b, 10);
                put(b, (uint8_t[20]){ 1 }, 20);
                put32(b, 4);
                put(b, "ima\0", 4);
                break;
        case 17:
                *c = (BinCase){ "a second name field in a custom template", -EPROTONOSUPPORT,
                                "unknown template" };
                put_head(b, 10, "n-ng|d-ng|n");
                put32(b, 0);
                break;
        case 18:
                *c = (BinCase){ "d-modsig digest size mismatch", -EBADMSG,
                                "field 'd-modsig': sha256 digest is 20" };
                n = dng(d, "sha256", 32);
                put_head(b, 10, "ima-modsig");
                {
                        uint8_t m[64];
                        size_t mn = dng(m, "sha256", 20);
                        put32(b, 4 + n + 4 + 3 + 4 + 4 + mn + 4);
                        put_field(b, d, n);
                        put_field(b, "/x", 3);
                        put_field(b, "", 0);
                        put_field(b, m, mn);
                        put_field(b, "", 0);
                }
                break;
        case 19:
                *c = (BinCase){ "a violation with a short d-ng that is not zero", -EBADMSG,
                                "sha256 digest is 20 bytes" };
                put32(b, 10);
                put(b, (uint8_t[20]){}, 20);
                put32(b, 6);
                put(b, "ima-ng", 6);
                n = dng(d, "sha256", 20);
                put_ng(b, d, n, "/x", 3);
                break;
        default:
                fail();
        }
}

#define N_BIN_CASES 20

/* An ima-ng entry whose d-ng field is "ALGO:\\0" + SIZE bytes (or D as is, when set) and whose n-ng field is
 * the NAME_LEN bytes at NAME. */
typedef struct NgCase {
        BinCase c;
        const char *algo;
        size_t size;
        const char *d;
        size_t d_len;
        const char *name;
        size_t name_len;
} NgCase;

static const NgCase ng_cases[] = {
        { { "sha256 digest of 31 bytes", -EBADMSG, "sha256 digest is 31 bytes, expected 32" }, "sha256", 31 },
        { { "sha1 digest of 32 bytes", -EBADMSG, "sha1 digest is 32 bytes, expected 20" }, "sha1", 32 },
        { { "digest of 65 bytes, unknown algorithm", -EBADMSG, "digest size 65 not in 1..64" }, "foo", 65 },
        { { "algorithm name with invalid characters", -EBADMSG, "invalid hash algorithm name" }, "SHA$", 32 },
        { { "algorithm name not followed by NUL", -EBADMSG, "not followed by" }, .d = "sha256:x", .d_len = 8 },
        { { "d-ng without algorithm", -EBADMSG, "has no hash algorithm name" }, .d = "abcdefgh", .d_len = 8 },
        { { "empty d-ng", -EBADMSG, "field 'd-ng' is empty" }, .d = "", .d_len = 0 },
        { { "name without NUL", -EBADMSG, "field 'n-ng' is not NUL-terminated" },
          "sha256",
          32,
          .name = "/x",
          .name_len = 2 },
        { { "NUL inside the name", -EBADMSG, "field 'n-ng' contains a NUL byte" },
          "sha256",
          32,
          .name = "/bin/evil\0/bin/ok",
          .name_len = 18 },
        { { "empty name", -EBADMSG, "field 'n-ng' is not NUL-terminated" },
          "sha256",
          32,
          .name = "",
          .name_len = 0 },
};

static void ng_case(const NgCase *nc, Bytes *b) {
        uint8_t d[300];
        size_t n = nc->algo ? dng(d, nc->algo, nc->size) : nc->d_len;

        if (!nc->algo)
                memcpy(d, nc->d, nc->d_len);
        put_valid(b);
        put_head(b, 10, "ima-ng");
        put_ng(b, d, n, nc->name ?: "/x", nc->name ? nc->name_len : 3);
}

static void test_malformed_binary(void **state) {
        for (size_t i = 0; i < N_BIN_CASES + ELEMENTSOF(ng_cases); i++) {
                ImaParseParams p = { .format = IMA_LOG_FORMAT_BINARY };
                _cleanup_(ima_log_freep) ImaLog *log = NULL;
                _cleanup_free_ uint8_t *copy = NULL;
                Bytes b = {};
                BinCase c;
                ImaError err = {};
                int r;

                if (i < N_BIN_CASES)
                        bin_case(i, &b, &c);
                else {
                        c = ng_cases[i - N_BIN_CASES].c;
                        ng_case(ng_cases + i - N_BIN_CASES, &b);
                }
                copy = malloc(b.n);
                memcpy(copy, b.p, b.n);
                r = ima_log_parse(copy, b.n, &p, &log, &err);
                if (r != c.error || err.entry != 1 || !strstr(err.message, c.message))
                        fail_msg("case %zu (%s): got %d \"%s\"", i, c.what, r, err.message);
                assert_null(log);
                /* The offset is inside the damaged entry (entry 0 is 4+20+4+6+4+4+40+4+4 bytes). */
                assert_true(err.offset >= 90 && err.offset <= b.n);
        }
}

/* A violation from a kernel before 5.13: 20 zero bytes whatever the algorithm. Accepted. */
static void test_old_violation(void **state) {
        ImaParseParams p = { .format = IMA_LOG_FORMAT_BINARY };
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        uint8_t d[64] = {};
        Bytes b = {};
        ImaError err = {};

        put32(&b, 10);
        put(&b, (uint8_t[20]){}, 20);
        put32(&b, 6);
        put(&b, "ima-ng", 6);
        memcpy(d, "sha256:", 7);
        put_ng(&b, d, 8 + 20, "/x", 3);
        assert_int_equal(ima_log_parse(b.p, b.n, &p, &log, &err), 0);
        assert_true(log->entries[0].violation);
        assert_int_equal(ima_log_verify(log, &err), 0);
}

typedef struct AsciiCase {
        const char *what;
        const char *text;
        int error;
        const char *message;
} AsciiCase;

#define OK_LINE \
        "10 cf41b43c4031672fcc2bd358b309ad33b977424f ima-ng sha256:f1b4c7c9b27e94569f4c2b64051c452bc609c3cb891dd7fae06b758f8bc83d14 boot_aggregate\n"
#define H40 "983dcd8e6f7c84a1a5f10e762d1850623966ceab"
#define D64 "ae06e032a65fed8102aff5f8f31c678dcf2eb25b826f77ecb699faa0411f89e0"

static const AsciiCase ascii_cases[] = {
        { "bad hex in the template hash",
          OK_LINE "10 983dcd8e6f7c84a1a5f10e762d1850623966ceaX ima-ng sha256:" D64 " /init\n", -EBADMSG,
          "template hash is not valid hex" },
        { "odd-length template hash",
          OK_LINE "10 983dcd8e6f7c84a1a5f10e762d1850623966cea ima-ng sha256:" D64 " /init\n", -EBADMSG,
          "template hash is not valid hex" },
        { "template hash of another length than line 1", OK_LINE "10 " D64 " ima-ng sha256:" D64 " /init\n",
          -EBADMSG, "template hash is 32 bytes, expected 20" },
        { "bad hex in the digest",
          OK_LINE "10 " H40
                  " ima-ng sha256:zz06e032a65fed8102aff5f8f31c678dcf2eb25b826f77ecb699faa0411f89e0 /init\n",
          -EBADMSG, "field 'd-ng' is not valid hex" },
        { "digest one byte short",
          OK_LINE "10 " H40
                  " ima-ng sha256:06e032a65fed8102aff5f8f31c678dcf2eb25b826f77ecb699faa0411f89e0 /init\n",
          -EBADMSG, "sha256 digest is 31 bytes, expected 32" },
        { "digest without algorithm", OK_LINE "10 " H40 " ima-ng " D64 " /init\n", -EBADMSG,
          "has no hash algorithm prefix" },
        { "PCR not a number", OK_LINE "1x " H40 " ima-ng sha256:" D64 " /init\n", -EBADMSG,
          "PCR index is not" },
        { "PCR of three digits", OK_LINE "100 " H40 " ima-ng sha256:" D64 " /init\n", -EBADMSG,
          "PCR index is not" },
        { "PCR 24", OK_LINE "24 " H40 " ima-ng sha256:" D64 " /init\n", -EBADMSG, "PCR index 24 out of range" },
        { "unknown template", OK_LINE "10 " H40 " ima-xx sha256:" D64 " /init\n", -EPROTONOSUPPORT,
          "unknown template 'ima-xx'" },
        { "ima-sig without its signature field", OK_LINE "10 " H40 " ima-sig sha256:" D64 "\n", -EBADMSG,
          "too few fields for template 'ima-sig'" },
        { "bad hex in the signature", OK_LINE "10 " H40 " ima-sig sha256:" D64 " /init 03020g\n", -EBADMSG,
          "field 'sig' is not valid hex" },
        { "bad hex in the buffer", OK_LINE "10 " H40 " ima-buf sha256:" D64 " kexec-cmdline abc\n", -EBADMSG,
          "field 'buf' is not valid hex" },
        { "ima template digest of 19 bytes",
          OK_LINE "10 " H40 " ima 983dcd8e6f7c84a1a5f10e762d1850623966ce /init\n", -EBADMSG,
          "field 'd': digest is 19 bytes" },
        { "truncated after the template name", OK_LINE "10 " H40 " ima-ng\n", -EBADMSG,
          "truncated after the template name" },
        { "truncated after the PCR", OK_LINE "10\n", -EBADMSG, "truncated after the PCR index" },
        { "empty line", OK_LINE "\n", -EBADMSG, "truncated after the PCR index" },
        { "no final newline", OK_LINE "10 " H40 " ima-ng sha256:" D64 " /init", -EBADMSG, "not terminated" },
        { "d-ngv2 without a digest type", OK_LINE "10 " H40 " ima-ngv2 sha256:" D64 " /init\n", -EBADMSG,
          "no digest type" },
        { "d-ngv2 with an unknown digest type", OK_LINE "10 " H40 " ima-ngv2 foo:sha256:" D64 " /init\n",
          -EBADMSG, "no digest type" },
        { "custom template without a name field, one field too many",
          OK_LINE "10 " H40 " d-ng sha256:" D64 " x\n", -EBADMSG, "too many fields" },
};

static void test_malformed_ascii(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(ascii_cases); i++) {
                const AsciiCase *c = ascii_cases + i;
                ImaParseParams p = { .format = IMA_LOG_FORMAT_ASCII };
                _cleanup_(ima_log_freep) ImaLog *log = NULL;
                size_t n = strlen(c->text);
                _cleanup_free_ char *copy = malloc(n);
                ImaError err = {};
                int r;

                memcpy(copy, c->text, n);
                r = ima_log_parse(copy, n, &p, &log, &err);
                if (r != c->error || err.entry != 1 || err.line != 2 || !strstr(err.message, c->message))
                        fail_msg("case %zu (%s): got %d \"%s\"", i, c->what, r, err.message);
                assert_non_null(strstr(err.message, "entry 1 (line 2)"));
        }
}

/* A NUL inside an ASCII line is refused, not read as the end of the line. */
static void test_ascii_nul(void **state) {
        static const char text[] = OK_LINE "10 " H40 " ima-ng sha256:" D64 " /in\0it\n";
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaError err = {};

        assert_int_equal(ima_log_parse(text, sizeof(text) - 1, NULL, &log, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "NUL byte"));
}

/* A log that starts mid-way (continuous attestation): indexes, lines and offsets are the whole log's. */
static void test_parse_tail(void **state) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *full = NULL, *tail = NULL;
        size_t size;
        ImaParseParams p = { .format = IMA_LOG_FORMAT_ASCII, .first_index = 1 };
        ImaError err = {};

        data = ima_fixture("ima-evm-utils-test_ascii_runtime_measurements", &size);
        full = parse_ok(data, size, IMA_LOG_FORMAT_ASCII);
        p.first_offset = full->entries[1].offset;
        assert_int_equal(ima_log_parse(data + p.first_offset, size - p.first_offset, &p, &tail, &err), 0);
        assert_int_equal(tail->n_entries, 2);
        assert_int_equal(tail->entries[0].index, 1);
        assert_int_equal(tail->entries[0].line, 2);
        assert_int_equal(tail->entries[1].offset, full->entries[2].offset);
        assert_string_equal(tail->entries[1].name, "/bin/sh");
}

/* A log long enough that the entry array grows (and moves) while parsing: what earlier entries point
 * to stays valid (ASan would see a use after free). */
static void test_long_log(void **state) {
        _cleanup_free_ char *one = NULL, *many = NULL;
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        size_t size, n = 500;
        ImaError err = {};

        one = ima_fixture("synthetic_binary_runtime_measurements", &size);
        many = malloc(size * n);
        assert_non_null(many);
        for (size_t i = 0; i < n; i++)
                memcpy(many + i * size, one, size);
        log = parse_ok(many, size * n, IMA_LOG_FORMAT_BINARY);
        assert_int_equal(log->n_entries, 12 * n);
        assert_int_equal(ima_log_verify(log, &err), 0);
        for (size_t i = 0; i < log->n_entries; i += 12) {
                assert_string_equal(log->entries[i].digest_algo, "sha1");
                assert_string_equal(log->entries[i].name, "boot_aggregate");
                assert_string_equal(log->entries[i + 3].digest_algo, "sha256");
                assert_string_equal(log->entries[i + 11].digest_type, "verity");
                assert_int_equal(log->entries[i + 11].index, i + 11);
        }
}

/* The size limit is checked before a byte is read. */
static void test_size_limit(void **state) {
        static const char small[1] = "1";
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaError err = {};

        assert_int_equal(ima_log_parse(small, (size_t) IMA_LOG_SIZE_MAX + 1, NULL, &log, &err), -E2BIG);
        assert_non_null(strstr(err.message, "exceeds the limit"));
        assert_null(log);
}

static void test_default_path(void **state) {
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_IMA_LOG"), 0);
        assert_string_equal(ima_log_default_path(), "/sys/kernel/security/ima/binary_runtime_measurements");
        assert_int_equal(setenv("TRUSTED_PLATFORM_IMA_LOG", "/tmp/x", 1), 0);
        assert_string_equal(ima_log_default_path(), "/tmp/x");
        assert_int_equal(unsetenv("TRUSTED_PLATFORM_IMA_LOG"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture_ascii),
                cmocka_unit_test(test_fixture_binary_equals_ascii),
                cmocka_unit_test(test_synthetic_templates),
                cmocka_unit_test(test_tampered_path),
                cmocka_unit_test(test_truncation_binary),
                cmocka_unit_test(test_truncation_ascii),
                cmocka_unit_test(test_malformed_binary),
                cmocka_unit_test(test_old_violation),
                cmocka_unit_test(test_malformed_ascii),
                cmocka_unit_test(test_ascii_nul),
                cmocka_unit_test(test_parse_tail),
                cmocka_unit_test(test_long_log),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_default_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
