/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMA replay into PCR 10 (sha1 and sha256 banks, both kernel extend rules, violations), boot_aggregate
 * against the firmware log's PCRs, and incremental replay for continuous attestation. Expected values:
 * tests/fixtures/imalogs/expected.txt (make-fixtures.py, an independent implementation; firmware PCRs
 * from tpm2_eventlog). */

#include <openssl/evp.h>

#include "eventlog/ima-replay.h"
#include "ima-test-util.h"

#define SHA1 0x0004
#define SHA256 0x000B

static const uint16_t banks[] = { SHA1, SHA256 };

static void assert_pcr10(const ImaReplay *r, const char *log_name, const char *rule) {
        for (size_t b = 0; b < ELEMENTSOF(banks); b++) {
                _cleanup_free_ char *key = NULL;
                uint8_t want[32];
                const uint8_t *got;
                size_t size;

                assert_int_equal(ima_replay_pcr(r, banks[b], 10, &got, &size), 0);
                assert_int_equal(size, banks[b] == SHA1 ? 20 : 32);
                assert_true(asprintf(&key, "pcr10 %s %s %s", log_name, rule,
                                     banks[b] == SHA1 ? "sha1" : "sha256") > 0);
                ima_expected(key, want, size);
                assert_memory_equal(got, want, size);
        }
        assert_int_equal(r->pcr_mask, 1U << 10);
}

static void replay_fixture(const char *file, const char *log_name, ImaExtendRule rule) {
        _cleanup_free_ char *data = NULL;
        ImaReplay r;
        size_t size;
        ImaError err = {};
        int q;

        data = ima_fixture(file, &size);
        assert_int_equal(ima_replay_init(&r, banks, ELEMENTSOF(banks), rule), 0);
        q = ima_replay_feed(&r, data, size, 0, IMA_LOG_FORMAT_AUTO, &err);
        if (q < 0)
                fail_msg("%s: %s", file, err.message);
        assert_int_equal(r.next_offset, size);
        assert_pcr10(&r, log_name, ima_extend_rule_to_string(rule));
}

static void test_replay_fixtures(void **state) {
        for (ImaExtendRule rule = 0; rule < _IMA_EXTEND_RULE_MAX; rule++) {
                replay_fixture("ima-evm-utils-test_ascii_runtime_measurements", "ima-evm-utils", rule);
                replay_fixture("ima-evm-utils-test_binary_runtime_measurements", "ima-evm-utils", rule);
                replay_fixture("synthetic_ascii_runtime_measurements", "synthetic", rule);
                replay_fixture("synthetic_binary_runtime_measurements", "synthetic", rule);
        }
}

/* The two rules differ in the sha256 bank only; the sha1 bank is the same. */
static void test_rules_differ(void **state) {
        uint8_t a[32], b[32];

        ima_expected("pcr10 synthetic template-hash sha256", a, 32);
        ima_expected("pcr10 synthetic padded-sha1 sha256", b, 32);
        assert_memory_not_equal(a, b, 32);
}

/* A violation extends 0xff bytes, not the zero template hash it logs. */
static void test_violation_extends_ff(void **state) {
        _cleanup_free_ char *data = NULL;
        _cleanup_free_ char *line = NULL;
        const char *p;
        uint8_t buf[64] = {}, want[32];
        unsigned n;
        ImaReplay r;
        size_t size;
        ImaError err = {};

        data = ima_fixture("synthetic_ascii_runtime_measurements", &size);
        p = memmem(data, size, "10 0000000000000000000000000000000000000000 ", 44);
        assert_non_null(p);
        line = strndup(p, strchr(p, '\n') + 1 - p); /* the violation line only */
        assert_non_null(line);
        assert_int_equal(ima_replay_init(&r, banks, ELEMENTSOF(banks), IMA_EXTEND_TEMPLATE_HASH), 0);
        assert_int_equal(ima_replay_feed(&r, line, strlen(line), 0, IMA_LOG_FORMAT_ASCII, &err), 0);

        memset(buf + 32, 0xff, 32);
        assert_int_equal(EVP_Digest(buf, 64, want, &n, EVP_sha256(), NULL), 1);
        assert_memory_equal(r.pcrs[1][10], want, 32);
        memset(buf, 0, sizeof(buf));
        memset(buf + 20, 0xff, 20);
        assert_int_equal(EVP_Digest(buf, 40, want, &n, EVP_sha1(), NULL), 1);
        assert_memory_equal(r.pcrs[0][10], want, 20);

        /* Kernels before 5.10: 20 bytes of 0xff, zero-padded to the bank's size. */
        assert_int_equal(ima_replay_init(&r, banks, ELEMENTSOF(banks), IMA_EXTEND_PADDED_SHA1), 0);
        assert_int_equal(ima_replay_feed(&r, line, strlen(line), 0, IMA_LOG_FORMAT_ASCII, &err), 0);
        memset(buf, 0, sizeof(buf));
        memset(buf + 32, 0xff, 20);
        assert_int_equal(EVP_Digest(buf, 64, want, &n, EVP_sha256(), NULL), 1);
        assert_memory_equal(r.pcrs[1][10], want, 32);
}

static void firmware_pcrs(ImaBankPcrs out[2]) {
        for (size_t b = 0; b < 2; b++) {
                out[b] = (ImaBankPcrs){ .alg = banks[b] };
                for (unsigned i = 0; i < 10; i++) {
                        _cleanup_free_ char *key = NULL;
                        assert_true(asprintf(&key, "firmware %s %u", b == 0 ? "sha1" : "sha256", i) > 0);
                        ima_expected(key, out[b].pcrs[i], b == 0 ? 20 : 32);
                }
        }
}

static void test_boot_aggregate(void **state) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaBankPcrs pcrs[2];
        ImaBootAggregateVariant v = _IMA_BOOT_AGGREGATE_VARIANT_INVALID;
        uint8_t agg[IMA_DIGEST_MAX], want[32];
        size_t size;
        ImaError err = {};

        data = ima_fixture("ima-evm-utils-test_ascii_runtime_measurements", &size);
        assert_int_equal(ima_log_parse(data, size, NULL, &log, &err), 0);
        firmware_pcrs(pcrs);

        /* The value the kernel logged is sha256 over the sha256 PCRs 0-7. */
        assert_int_equal(ima_boot_aggregate(pcrs + 1, 8, agg, &size), 0);
        assert_int_equal(size, 32);
        ima_expected("boot_aggregate ima-evm-utils sha256 pcr0-7", want, 32);
        assert_memory_equal(agg, want, 32);
        assert_memory_equal(agg, log->entries[0].digest, 32);
        /* PCRs 0-9 give another value (here PCR 8 and 9 are zero, still hashed). */
        assert_int_equal(ima_boot_aggregate(pcrs + 1, 10, agg, &size), 0);
        assert_memory_not_equal(agg, want, 32);
        assert_int_equal(ima_boot_aggregate(pcrs + 1, 9, agg, &size), -EINVAL);

        assert_int_equal(ima_boot_aggregate_check(log->entries, pcrs, 2, &v, &err), 0);
        assert_int_equal(v, IMA_BOOT_AGGREGATE_PCR0_7);
        assert_string_equal(ima_boot_aggregate_variant_to_string(v), "pcr0-7");

        /* Not the boot_aggregate entry */
        assert_int_equal(ima_boot_aggregate_check(log->entries + 1, pcrs, 2, &v, &err), -ENOENT);
        /* Only the sha1 bank given: nothing to compare a sha256 boot_aggregate with */
        assert_int_equal(ima_boot_aggregate_check(log->entries, pcrs, 1, &v, &err), -ENODATA);
        assert_non_null(strstr(err.message, "sha256"));
        /* A firmware log that does not match: one changed PCR */
        pcrs[1].pcrs[4][0] ^= 1;
        assert_int_equal(ima_boot_aggregate_check(log->entries, pcrs, 2, &v, &err), -EILSEQ);
        assert_int_equal(err.entry, 0);
        assert_non_null(strstr(err.message, "boot_aggregate does not match"));
}

/* The sha1 ("ima" template) rule and the Linux >= 5.8 sha256 rule over PCRs 0-9. */
static void test_boot_aggregate_variants(void **state) {
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *h1 = NULL, *h256 = NULL;
        ImaBankPcrs pcrs[2];
        uint8_t a1[IMA_DIGEST_MAX], a256[IMA_DIGEST_MAX];
        ImaBootAggregateVariant v;
        size_t n1, n256;
        ImaError err = {};

        firmware_pcrs(pcrs);
        pcrs[1].pcrs[8][0] = 0x42; /* make PCRs 8-9 matter */
        assert_int_equal(ima_boot_aggregate(pcrs + 0, 8, a1, &n1), 0);
        assert_int_equal(ima_boot_aggregate(pcrs + 1, 10, a256, &n256), 0);
        assert_int_equal(hexmem(a1, n1, &h1), 0);
        assert_int_equal(hexmem(a256, n256, &h256), 0);
        /* Template hashes are not checked by the parser, so any value works in this column. */
        assert_true(asprintf(&text,
                             "10 1111111111111111111111111111111111111111 ima %s boot_aggregate\n"
                             "10 1111111111111111111111111111111111111111 ima-ng sha256:%s boot_aggregate\n",
                             h1, h256) > 0);
        assert_int_equal(ima_log_parse(text, strlen(text), NULL, &log, &err), 0);
        assert_int_equal(ima_boot_aggregate_check(log->entries + 0, pcrs, 2, &v, &err), 0);
        assert_int_equal(v, IMA_BOOT_AGGREGATE_PCR0_7);
        assert_int_equal(ima_boot_aggregate_check(log->entries + 1, pcrs, 2, &v, &err), 0);
        assert_int_equal(v, IMA_BOOT_AGGREGATE_PCR0_9);
}

/* Continuous attestation: replaying in pieces (tails, or the whole log again) gives the same PCRs as
 * one replay, and a failure leaves the state as it was. */
static void incremental(const char *file, ImaLogFormat format) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *full = NULL;
        ImaReplay one, r, saved;
        size_t size;
        ImaError err = {};

        data = ima_fixture(file, &size);
        assert_int_equal(ima_log_parse(data, size, &(ImaParseParams){ .format = format }, &full, &err), 0);
        assert_int_equal(ima_replay_init(&one, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
        assert_int_equal(ima_replay_log(&one, full, &err), 0);

        for (size_t split = 0; split <= full->n_entries; split++) {
                uint64_t off = split < full->n_entries ? full->entries[split].offset : size;

                /* first the head only, then the tail only */
                assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
                assert_int_equal(ima_replay_feed(&r, data, off, 0, format, &err), 0);
                assert_int_equal(r.n_entries, split);
                assert_int_equal(r.next_offset, off);
                assert_int_equal(ima_replay_feed(&r, data + off, size - off, off, format, &err), 0);
                assert_int_equal(r.n_entries, full->n_entries);
                assert_memory_equal(r.pcrs, one.pcrs, sizeof(r.pcrs));

                /* the head, then the whole log again: the head is skipped */
                assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
                assert_int_equal(ima_replay_feed(&r, data, off, 0, format, &err), 0);
                assert_int_equal(ima_replay_feed(&r, data, size, 0, format, &err), 0);
                assert_memory_equal(r.pcrs, one.pcrs, sizeof(r.pcrs));
        }

        /* A gap (data starting after the next entry) is refused. */
        assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
        assert_int_equal(ima_replay_feed(&r, data, full->entries[1].offset, 0, format, &err), 0);
        saved = r;
        assert_int_equal(ima_replay_feed(&r, data + full->entries[2].offset, size - full->entries[2].offset,
                                         full->entries[2].offset, format, &err),
                         -EXDEV);
        assert_memory_equal(&r, &saved, sizeof(r));

        /* A tampered later entry: error at that entry, state unchanged. */
        {
                _cleanup_free_ char *bad = malloc(size);
                size_t at = full->entries[full->n_entries - 2].offset;
                memcpy(bad, data, size);
                /* Change the last character of entry n-2's name (before its NUL in the binary log,
                 * before the newline in the ASCII log): its template hash no longer matches. */
                bad[full->entries[full->n_entries - 1].offset - 2] ^= 0x01;
                assert_int_equal(ima_replay_feed(&r, bad + at, size - at, at, format, &err), -EXDEV);
                assert_int_equal(ima_replay_feed(&r, bad, size, 0, format, &err), -EILSEQ);
                assert_int_equal(err.entry, full->n_entries - 2);
                assert_memory_equal(&r, &saved, sizeof(r));
        }
}

static void test_incremental(void **state) {
        incremental("synthetic_binary_runtime_measurements", IMA_LOG_FORMAT_BINARY);
        incremental("synthetic_ascii_runtime_measurements", IMA_LOG_FORMAT_ASCII);
}

/* A quote covers a prefix of a log read after it: the replay stops where the PCR matches, and the rest
 * is replayed by the next call. */
static void test_replay_until(void **state) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaReplay head, r, saved;
        uint8_t want[32], bogus[32];
        size_t size;
        ImaError err = {};

        data = ima_fixture("synthetic_binary_runtime_measurements", &size);
        assert_int_equal(ima_log_parse(data, size, NULL, &log, &err), 0);

        for (size_t k = 0; k <= log->n_entries; k++) {
                uint64_t off = k < log->n_entries ? log->entries[k].offset : size;

                /* The "quoted" value: PCR 10 after the first k entries. */
                assert_int_equal(ima_replay_init(&head, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
                assert_int_equal(ima_replay_feed(&head, data, off, 0, IMA_LOG_FORMAT_BINARY, &err), 0);
                memcpy(want, head.pcrs[1][10], 32);

                assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
                assert_int_equal(ima_replay_log_until(&r, log, SHA256, 10, want, 32, &err), 0);
                /* Every point of a hash chain has its own value, so exactly k entries are consumed;
                 * the all-zero start is the point k == 0. */
                assert_int_equal(r.n_entries, k);
                assert_int_equal(r.next_offset, off);
                assert_memory_equal(r.pcrs, head.pcrs, sizeof(r.pcrs));
        }

        memset(bogus, 0x5a, sizeof(bogus));
        assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_TEMPLATE_HASH), 0);
        saved = r;
        assert_int_equal(ima_replay_log_until(&r, log, SHA256, 10, bogus, 32, &err), -ESRCH);
        assert_memory_equal(&r, &saved, sizeof(r));
        assert_non_null(strstr(err.message, "expected PCR value"));
        assert_int_equal(ima_replay_log_until(&r, log, SHA256, 10, bogus, 20, &err), -EINVAL);
        assert_int_equal(ima_replay_log_until(&r, log, 0x000C, 10, bogus, 32, &err), -EINVAL);
}

static void test_init_errors(void **state) {
        ImaReplay r;
        uint16_t twice[] = { SHA256, SHA256 }, unknown[] = { 0x0010 };

        assert_int_equal(ima_replay_init(&r, banks, 0, IMA_EXTEND_TEMPLATE_HASH), -EINVAL);
        assert_int_equal(ima_replay_init(&r, twice, 2, IMA_EXTEND_TEMPLATE_HASH), -EINVAL);
        assert_int_equal(ima_replay_init(&r, unknown, 1, IMA_EXTEND_TEMPLATE_HASH), -EINVAL);
        assert_int_equal(ima_replay_init(&r, banks, 2, _IMA_EXTEND_RULE_MAX), -EINVAL);
        assert_int_equal(ima_replay_init(&r, banks, 2, IMA_EXTEND_PADDED_SHA1), 0);
        assert_int_equal(ima_replay_pcr(&r, 0x000C, 10, NULL, NULL), -ENOENT);
        assert_int_equal(ima_replay_pcr(&r, SHA1, 24, NULL, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replay_fixtures),
                cmocka_unit_test(test_rules_differ),
                cmocka_unit_test(test_violation_extends_ff),
                cmocka_unit_test(test_boot_aggregate),
                cmocka_unit_test(test_boot_aggregate_variants),
                cmocka_unit_test(test_incremental),
                cmocka_unit_test(test_replay_until),
                cmocka_unit_test(test_init_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
