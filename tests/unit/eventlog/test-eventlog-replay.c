/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Firmware event log replay: the PCR values of every fixture equal those of the independent reader
 * tests/harness/tcglog.py (expected-replay.txt), the StartupLocality rule, the comparison with PCR
 * values from elsewhere, and the digest checks (event-arch-linux.bin: event 24 and only it). */

#include <inttypes.h>

#include <openssl/evp.h>

#include "basic/hexdecoct.h"
#include "eventlog-test-util.h"
#include "eventlog/eventlog-replay.h"

static uint16_t bank_from_name(const char *name) {
        static const struct {
                const char *name;
                uint16_t alg;
        } t[] = { { "sha1", 0x0004 }, { "sha256", 0x000B }, { "sha384", 0x000C }, { "sha512", 0x000D } };

        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (streq(t[i].name, name))
                        return t[i].alg;
        fail_msg("unknown bank %s", name);
        return 0;
}

static EventlogReplay *replay_ok(const EventLog *log) {
        EventlogReplay *r = NULL;
        EventlogError err = {};

        if (eventlog_replay(log, &r, &err) < 0)
                fail_msg("replay failed: %s", err.message);
        return r;
}

/* Every line "FILE BANK PCR HEX" of expected-replay.txt is our value, and we replay no other PCR. */
static void test_fixtures_match_tcglog(void **state) {
        _cleanup_free_ char *text = (char *) eventlog_fixture("expected-replay.txt", NULL),
                            *all = strdup(text);
        size_t n_lines = 0, n_files = 0;
        char last[128] = "";

        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n'), file[128], bank[16], hex[160];
                unsigned pcr;

                if (nl)
                        *nl = 0;
                if (sscanf(line, "%127s %15s %u %159s", file, bank, &pcr, hex) == 4) {
                        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse(file);
                        _cleanup_(eventlog_replay_freep) EventlogReplay *r = replay_ok(log);
                        _cleanup_free_ void *want = NULL;
                        const uint8_t *got;
                        size_t want_size, got_size, n_expected = 0;

                        assert_int_equal(unhexmem(hex, strlen(hex), &want, &want_size), 0);
                        assert_int_equal(eventlog_replay_pcr(r, bank_from_name(bank), pcr, &got, &got_size),
                                         0);
                        assert_int_equal(got_size, want_size);
                        if (memcmp(got, want, want_size) != 0)
                                fail_msg("%s %s PCR %u differs from tcglog.py", file, bank, pcr);
                        assert_true(r->pcr_mask & (1U << pcr));

                        /* The mask has as many PCRs as the file has lines for this bank. */
                        for (char *l = all; (l = strstr(l, file)); l += strlen(file)) {
                                char b2[16];
                                if ((l == all || l[-1] == '\n') && l[strlen(file)] == ' ' &&
                                    sscanf(l + strlen(file), " %15s", b2) == 1 && streq(b2, bank))
                                        n_expected++;
                        }
                        assert_int_equal(__builtin_popcount(r->pcr_mask), n_expected);
                        if (!streq(last, file)) {
                                n_files++;
                                snprintf(last, sizeof(last), "%s", file);
                        }
                        n_lines++;
                }
                line = nl ? nl + 1 : NULL;
        }
        assert_int_equal(n_files, 8);
        assert_true(n_lines > 60);
}

static void assert_statuses(const char *fixture, int n_mismatch, const uint32_t *mismatches) {
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse(fixture);
        _cleanup_free_ EventlogDigestStatus *s = NULL;
        uint32_t first = 0;
        EventlogError err = {};
        int k = 0;

        assert_int_equal(eventlog_check_digests(log, &s, &first, &err), n_mismatch);
        assert_int_equal(first, n_mismatch > 0 ? mismatches[0] : UINT32_MAX);
        for (size_t i = 0; i < log->n_events; i++) {
                if (s[i] != EVENTLOG_DIGEST_MISMATCH)
                        continue;
                if (k >= n_mismatch || mismatches[k] != i)
                        fail_msg("%s: event %zu reported as mismatching", fixture, i);
                k++;
        }
        assert_int_equal(k, n_mismatch);
}

/* event-arch-linux.bin: event 24 (systemd-boot's command line, EV_IPL in PCR 8) does not match its
 * digest; every other event either verifies or is of a type whose digest is not over its data. */
static void test_arch_linux_event_24(void **state) {
        static const uint32_t bad[] = { 24 };
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event-arch-linux.bin");
        _cleanup_free_ EventlogDigestStatus *s = NULL;
        EventlogError err = {};
        uint32_t first;

        assert_statuses("event-arch-linux.bin", 1, bad);
        assert_int_equal(eventlog_check_digests(log, &s, &first, &err), 1);
        assert_int_equal(first, 24);
        assert_int_equal(err.event, 24);
        assert_int_equal(err.offset, log->events[24].offset);
        assert_non_null(strstr(err.message, "event 24 at byte offset 15142: EV_IPL event for PCR 8"));
        /* Separators, variables, the GPT verify; boot applications and EV_POST_CODE are not checked. */
        assert_int_equal(s[0], EVENTLOG_DIGEST_NOT_CHECKED);
        assert_int_equal(s[2], EVENTLOG_DIGEST_NOT_CHECKED);
        assert_int_equal(s[3], EVENTLOG_DIGEST_VERIFIED);
        assert_int_equal(s[8], EVENTLOG_DIGEST_VERIFIED);
        assert_int_equal(s[17], EVENTLOG_DIGEST_VERIFIED);
        assert_int_equal(s[18], EVENTLOG_DIGEST_VERIFIED);
        assert_int_equal(s[22], EVENTLOG_DIGEST_NOT_CHECKED);
}

/* The other fixtures: GRUB's strings in PCR 8 verify (hashed without prefix and NUL), its files in
 * PCR 9 are not checked, Boot#### hashed over VariableData only verify. event-postcode.bin's shim
 * logged two EV_EFI_VARIABLE_AUTHORITY events ("Shim", PCR 7) of 1126 bytes whose digests are of their
 * first 1125 bytes: reported, they are not the data the spec says. */
static void test_fixture_digest_checks(void **state) {
        static const uint32_t postcode[] = { 40, 54 };
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event-bootorder.bin");
        _cleanup_free_ EventlogDigestStatus *s = NULL;
        size_t verified = 0;

        assert_statuses("event-bootorder.bin", 0, NULL);
        assert_statuses("event-postcode.bin", 2, postcode);
        assert_statuses("event-uefi-sha1-log.bin", 0, NULL);
        assert_statuses("event-uefiaction.bin", 0, NULL);
        assert_statuses("event-uefiservices.bin", 0, NULL);
        assert_statuses("event-uefivar.bin", 0, NULL);
        assert_statuses("event.bin", 0, NULL);

        assert_int_equal(eventlog_check_digests(log, &s, NULL, NULL), 0);
        assert_int_equal(s[12], EVENTLOG_DIGEST_VERIFIED);    /* BootOrder over VariableData */
        assert_int_equal(s[27], EVENTLOG_DIGEST_VERIFIED);    /* grub_cmd */
        assert_int_equal(s[94], EVENTLOG_DIGEST_VERIFIED);    /* kernel_cmdline */
        assert_int_equal(s[31], EVENTLOG_DIGEST_NOT_CHECKED); /* grub.cfg, PCR 9 */
        assert_int_equal(s[25], EVENTLOG_DIGEST_NOT_CHECKED); /* boot application */
        for (size_t i = 0; i < log->n_events; i++)
                verified += s[i] == EVENTLOG_DIGEST_VERIFIED;
        assert_true(verified > 80);
}

/* The type is not measured: relabelling a mismatching event to a type whose digest is not over its
 * data makes it NOT_CHECKED (so no fact is taken from it), never VERIFIED; and changing the data of a
 * checked event is caught, while the replay stays what the digests say. */
static void test_relabel_and_tamper(void **state) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_(eventlog_freep) EventLog *orig = NULL, *relabelled = NULL, *tampered = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *r0 = NULL, *r1 = NULL;
        _cleanup_free_ EventlogDigestStatus *s1 = NULL, *s2 = NULL;
        EventlogError err = {};
        uint32_t first;
        size_t size, off;

        data = eventlog_fixture("event-arch-linux.bin", &size);
        assert_int_equal(eventlog_parse(data, size, &orig, &err), 0);

        off = orig->events[24].offset + 4;
        data[off] = EV_POST_CODE; /* EV_IPL (0x0d) -> EV_POST_CODE */
        assert_int_equal(eventlog_parse(data, size, &relabelled, &err), 0);
        assert_int_equal(eventlog_check_digests(relabelled, &s1, &first, &err), 0);
        assert_int_equal(s1[24], EVENTLOG_DIGEST_NOT_CHECKED);
        r0 = replay_ok(orig);
        r1 = replay_ok(relabelled);
        assert_memory_equal(r0->pcrs, r1->pcrs, sizeof(r0->pcrs));
        data[off] = EV_IPL;

        /* A byte of the first EV_EFI_VARIABLE_DRIVER_CONFIG's data (event 3). */
        data[orig->events[3].data - orig->data + 40] ^= 1;
        assert_int_equal(eventlog_parse(data, size, &tampered, &err), 0);
        assert_int_equal(eventlog_check_digests(tampered, &s2, &first, &err), 2);
        assert_int_equal(first, 3);
        assert_int_equal(s2[3], EVENTLOG_DIGEST_MISMATCH);
        assert_non_null(strstr(err.message, "EV_EFI_VARIABLE_DRIVER_CONFIG event for PCR 7"));
}

static void sha256(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned n;

        assert_non_null(ctx);
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, a, na), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, b, nb), 1);
        assert_int_equal(EVP_DigestFinal_ex(ctx, out, &n), 1);
        EVP_MD_CTX_free(ctx);
}

/* PCR 0 starts at 0...0||3 with a StartupLocality 3 event; PCR 4 at zero. */
static void test_startup_locality(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *r = NULL;
        _cleanup_(buf_done) Buf b = {};
        EventlogError err = {};
        uint8_t start[32] = {}, digest[32], want[32];
        const uint8_t *got;
        size_t starts[6], n;

        buf_small_agile_log(&b, starts);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), 0);
        r = replay_ok(log);
        assert_int_equal(r->pcr_mask, (1U << 0) | (1U << 4));

        start[31] = 3;
        memset(digest, 0x11, 32);
        sha256(start, 32, digest, 32, want);
        assert_int_equal(eventlog_replay_pcr(r, 0x000B, 0, &got, &n), 0);
        assert_int_equal(n, 32);
        assert_memory_equal(got, want, 32);

        memset(start, 0, 32);
        memset(digest, 0x22, 32);
        sha256(start, 32, digest, 32, want);
        assert_int_equal(eventlog_replay_pcr(r, 0x000B, 4, &got, &n), 0);
        assert_memory_equal(got, want, 32);

        /* A PCR without events: zero. */
        assert_int_equal(eventlog_replay_pcr(r, 0x0004, 5, &got, &n), 0);
        assert_int_equal(n, 20);
        assert_memory_equal(got, start, 20);
        assert_int_equal(eventlog_replay_pcr(r, 0x0004, 24, &got, &n), -EINVAL);
        assert_int_equal(eventlog_replay_pcr(r, 0x000C, 0, &got, &n), -ENOENT);
}

/* A bank OpenSSL has no hash for is kept (reported as skipped), not replayed; a log of only such banks
 * cannot be replayed. */
static void test_unknown_bank(void **state) {
        static const TestAlg two[] = { { 0x000B, 32 }, { 0x7777, 16 } }, one[] = { { 0x7777, 16 } };
        _cleanup_(eventlog_freep) EventLog *log = NULL, *log2 = NULL;
        _cleanup_(eventlog_replay_freep) EventlogReplay *r = NULL, *r2 = NULL;
        _cleanup_(buf_done) Buf b = {}, c = {};
        EventlogError err = {};

        buf_spec_id(&b, two, 2, 0);
        buf_event2(&b, 3, EV_SEPARATOR, two, 2, 5, "\0\0\0\0", 4);
        assert_int_equal(eventlog_parse(b.p, b.n, &log, &err), 0);
        assert_int_equal(log->banks[1].alg, 0x7777);
        assert_int_equal(log->banks[1].size, 16);
        r = replay_ok(log);
        assert_int_equal(r->n_banks, 1);
        assert_int_equal(r->banks[0].alg, 0x000B);
        assert_int_equal(r->n_skipped, 1);
        assert_int_equal(r->skipped[0], 0x7777);
        assert_int_equal(r->pcr_mask, 1U << 3);

        buf_spec_id(&c, one, 1, 0);
        buf_event2(&c, 3, EV_SEPARATOR, one, 1, 5, "\0\0\0\0", 4);
        assert_int_equal(eventlog_parse(c.p, c.n, &log2, &err), 0);
        assert_int_equal(eventlog_replay(log2, &r2, &err), -EOPNOTSUPP);
        assert_null(r2);
        assert_non_null(strstr(err.message, "no bank of the log can be replayed"));
}

static void test_compare(void **state) {
        _cleanup_(eventlog_freep) EventLog *log = eventlog_fixture_parse("event-arch-linux.bin");
        _cleanup_(eventlog_replay_freep) EventlogReplay *r = replay_ok(log);
        _cleanup_free_ EventlogPcrComparison *c = NULL;
        EventlogPcrValue v[12] = {};
        const uint8_t *p;
        size_t n;

        /* sha256 PCRs 0-9 as the TPM would have them, PCR 4 changed; sha1 PCR 8; sha384 PCR 0. */
        for (uint32_t i = 0; i < 10; i++) {
                v[i] = (EventlogPcrValue){ .index = i, .bank = 0x000B, .size = 32 };
                assert_int_equal(eventlog_replay_pcr(r, 0x000B, i, &p, &n), 0);
                memcpy(v[i].digest, p, 32);
        }
        v[4].digest[0] ^= 0xff;
        v[10] = (EventlogPcrValue){ .index = 8, .bank = 0x0004, .size = 20 };
        assert_int_equal(eventlog_replay_pcr(r, 0x0004, 8, &p, &n), 0);
        memcpy(v[10].digest, p, 20);
        v[11] = (EventlogPcrValue){ .index = 0, .bank = 0x000C, .size = 48 };

        assert_int_equal(eventlog_replay_compare(r, log, v, 12, &c), 2);
        for (size_t i = 0; i < 12; i++) {
                assert_int_equal(c[i].index, v[i].index);
                assert_int_equal(c[i].bank, v[i].bank);
                assert_memory_equal(c[i].actual, v[i].digest, v[i].size);
        }
        assert_int_equal(c[0].result, EVENTLOG_PCR_MATCH);
        assert_int_equal(c[4].result, EVENTLOG_PCR_MISMATCH);
        assert_int_equal(c[4].last_event, 23); /* the last boot application */
        assert_int_equal(c[7].last_event, 8);  /* the separator */
        assert_int_equal(c[8].last_event, 24);
        assert_int_equal(c[9].result, EVENTLOG_PCR_MATCH);
        assert_int_equal(c[9].last_event, UINT32_MAX); /* nothing in PCR 9 */
        assert_int_equal(c[10].result, EVENTLOG_PCR_MATCH);
        assert_int_equal(c[11].result, EVENTLOG_PCR_BANK_MISSING);
        c = mfree(c);

        assert_int_equal(eventlog_replay_compare(r, log, v, 0, &c), 0);
        c = mfree(c);

        /* Invalid: PCR 24, a size not the bank's, a pair twice, size 0 or over 64. */
        v[0].index = 24;
        assert_int_equal(eventlog_replay_compare(r, log, v, 1, &c), -EINVAL);
        v[0].index = 0;
        v[0].size = 20;
        assert_int_equal(eventlog_replay_compare(r, log, v, 1, &c), -EINVAL);
        v[0].size = 32;
        v[1].index = 0;
        assert_int_equal(eventlog_replay_compare(r, log, v, 2, &c), -EINVAL);
        v[11].size = 0;
        assert_int_equal(eventlog_replay_compare(r, log, v + 11, 1, &c), -EINVAL);
        v[11].size = 65;
        assert_int_equal(eventlog_replay_compare(r, log, v + 11, 1, &c), -EINVAL);
        assert_null(c);
}

static void test_strings(void **state) {
        assert_string_equal(eventlog_pcr_result_to_string(EVENTLOG_PCR_MATCH), "match");
        assert_string_equal(eventlog_pcr_result_to_string(EVENTLOG_PCR_MISMATCH), "mismatch");
        assert_string_equal(eventlog_pcr_result_to_string(EVENTLOG_PCR_BANK_MISSING), "bank-missing");
        assert_null(eventlog_pcr_result_to_string(_EVENTLOG_PCR_RESULT_MAX));
        assert_string_equal(eventlog_digest_status_to_string(EVENTLOG_DIGEST_NOT_CHECKED), "not-checked");
        assert_string_equal(eventlog_digest_status_to_string(EVENTLOG_DIGEST_VERIFIED), "verified");
        assert_string_equal(eventlog_digest_status_to_string(EVENTLOG_DIGEST_MISMATCH), "mismatch");
        assert_null(eventlog_digest_status_to_string(_EVENTLOG_DIGEST_STATUS_INVALID));

        assert_true(eventlog_event_type_digest_covers_data(EV_SEPARATOR));
        assert_true(eventlog_event_type_digest_covers_data(EV_EFI_VARIABLE_AUTHORITY));
        assert_true(eventlog_event_type_digest_covers_data(EV_IPL));
        assert_false(eventlog_event_type_digest_covers_data(EV_POST_CODE));
        assert_false(eventlog_event_type_digest_covers_data(EV_NO_ACTION));
        assert_false(eventlog_event_type_digest_covers_data(EV_EFI_BOOT_SERVICES_APPLICATION));
        assert_false(eventlog_event_type_digest_covers_data(0x12345678));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixtures_match_tcglog),
                cmocka_unit_test(test_arch_linux_event_24),
                cmocka_unit_test(test_fixture_digest_checks),
                cmocka_unit_test(test_relabel_and_tamper),
                cmocka_unit_test(test_startup_locality),
                cmocka_unit_test(test_unknown_bank),
                cmocka_unit_test(test_compare),
                cmocka_unit_test(test_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
