/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The measured-boot policy: strict parsing (every malformed policy names its place), the refusal of a
 * policy that checks nothing, each rule's evaluation against evidence (PCR values, firmware-log facts,
 * an IMA log), and a learned policy accepting the machine it was learned from and nothing else. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include <cmocka.h>

#include "attest/attest-policy.h"
#include "basic/log.h"
#include "basic/macro.h"

#define R32(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define H32(c) R32(c) R32(c) /* 64 of c: a sha256 digest in hex for a one-character c */
#define SHA256_A H32("a")
#define SHA256_B H32("b")
#define SHA256_C H32("c")

static const char facts_text[] =
        "{\"secure_boot\": true, \"setup_mode\": false,"
        " \"db\": [{\"type\": \"x509\", \"subject\": \"CN=Microsoft UEFI CA 2011\", \"sha256\": \"" SHA256_A
        "\"}],"
        " \"dbx\": [{\"type\": \"sha256\", \"sha256\": \"" SHA256_B "\"}],"
        " \"boot_loader\": {\"path\": \"\\\\EFI\\\\debian\\\\shimx64.efi\", \"digests\": {\"sha256\": \"" SHA256_A
        "\"}},"
        " \"kernel\": {\"path\": \"/vmlinuz\", \"digests\": {\"sha256\": \"" SHA256_B "\"}},"
        " \"kernel_cmdline\": \"BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\"}";

static json_t *facts(void) {
        json_error_t e;
        json_t *f = json_loads(facts_text, 0, &e);
        assert_non_null(f);
        return f;
}

static Tpm2PcrValue pcr(uint16_t bank, uint32_t index, uint8_t fill) {
        Tpm2PcrValue v = { .index = index, .bank = bank, .size = bank == TPM2_ALG_SHA1 ? 20 : 32 };
        memset(v.digest, fill, v.size);
        return v;
}

static AttestPolicy *parse_ok(const char *text) {
        AttestPolicy *p = NULL;
        AttestPolicyError e;
        int r = attest_policy_parse(text, strlen(text), &p, &e);

        if (r < 0)
                fail_msg("policy refused (%d): %s", r, e.message);
        return p;
}

/* Evaluates and returns the number of failures; *ret_messages gets them joined by '\n'. */
static int evaluate(AttestPolicy *p, const AttestPolicyInput *in, char **ret_messages) {
        AttestPolicyResult *res = NULL;
        size_t n = 0, len = 0;
        char *all = NULL;
        FILE *f = open_memstream(&all, &len);
        int r;

        assert_non_null(f);
        r = attest_policy_evaluate(p, in, &res, &n);
        assert_true(r >= 0);
        for (size_t i = 0; i < n; i++)
                if (!res[i].passed)
                        fprintf(f, "%s: %s\n", res[i].rule, res[i].message);
        fclose(f);
        attest_policy_results_free(res, n);
        *ret_messages = all;
        return r;
}

static void test_pcrs_and_quote_mask(void **state) {
        _cleanup_(attest_policy_freep)
                AttestPolicy *p = parse_ok("{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": \"" R32(
                        "07") "\", \"0\": \"" R32("00") "\"}},"
                                                        " \"quote\": {\"sha256\": [4], \"sha1\": [10]}}");
        Tpm2PcrValue v[] = { pcr(TPM2_ALG_SHA256, 0, 0x00), pcr(TPM2_ALG_SHA256, 7, 0x07) };
        AttestPolicyInput in = { .pcrs = v, .n_pcrs = 2 };
        _cleanup_free_ char *m = NULL;

        assert_int_equal(attest_policy_quote_mask(p, TPM2_ALG_SHA256), (1U << 0) | (1U << 4) | (1U << 7));
        assert_int_equal(attest_policy_quote_mask(p, TPM2_ALG_SHA1), 1U << 10);
        assert_int_equal(attest_policy_quote_mask(p, TPM2_ALG_SHA384), 0);
        assert_false(attest_policy_checks_nothing(p));

        assert_int_equal(evaluate(p, &in, &m), 0);
        m = mfree(m);

        v[1].digest[31] ^= 1;
        assert_int_equal(evaluate(p, &in, &m), 1);
        assert_non_null(
                strstr(m, "pcrs.sha256.7: PCR 7 (sha256) is 0707070707070707…, expected 0707070707070707…"));
        m = mfree(m);

        in.n_pcrs = 1; /* PCR 7 not in the evidence */
        assert_int_equal(evaluate(p, &in, &m), 1);
        assert_non_null(strstr(m, "PCR 7 (sha256) was not in the evidence"));
}

/* Results in PCR order, not in the order of the policy's keys ("11" sorts between "1" and "2" as text). */
static void test_pcr_rules_in_pcr_order(void **state) {
        _cleanup_(attest_policy_freep) AttestPolicy *p = parse_ok(
                "{\"version\": 1, \"pcrs\": {\"sha256\": {\"1\": \"" R32("01") "\", \"11\": \"" R32(
                        "0b") "\", \"2\": \"" R32("02") "\"}, \"sha1\": {\"0\": \"" R32("0") "00000000\"}}}");
        Tpm2PcrValue v[] = { pcr(TPM2_ALG_SHA256, 1, 0xff), pcr(TPM2_ALG_SHA256, 2, 0xff),
                             pcr(TPM2_ALG_SHA256, 11, 0xff), pcr(TPM2_ALG_SHA1, 0, 0xff) };
        AttestPolicyInput in = { .pcrs = v, .n_pcrs = ELEMENTSOF(v) };
        _cleanup_free_ char *m = NULL;
        const char *a, *b, *c, *d;

        assert_int_equal(evaluate(p, &in, &m), 4);
        a = strstr(m, "pcrs.sha1.0:");
        b = strstr(m, "pcrs.sha256.1:");
        c = strstr(m, "pcrs.sha256.2:");
        d = strstr(m, "pcrs.sha256.11:");
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        assert_non_null(d);
        assert_true(a < b && b < c && c < d); /* by bank (TPM algorithm ID), then index */
}

static void test_facts(void **state) {
        _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
        _cleanup_(json_decrefp) json_t *f = facts();
        AttestPolicyInput in = { .facts = f };
        _cleanup_free_ char *m = NULL;

        p = parse_ok(
                "{\"version\": 1, \"secure_boot\": true, \"setup_mode\": false,"
                " \"db\": {\"required\": [\"" SHA256_A "\"], \"forbidden\": [\"" SHA256_C "\"]},"
                " \"dbx\": {\"required\": [\"" SHA256_B "\"]},"
                " \"boot_loaders\": [\"" SHA256_C "\", \"" SHA256_A "\"], \"kernels\": [\"" SHA256_B "\"],"
                " \"kernel_cmdline\": {\"required\": [\"ro\", \"root=\"], \"forbidden\": [\"init=\", \"single\"]}}");
        assert_int_equal(evaluate(p, &in, &m), 0);
        m = mfree(m);

        /* Each fact changed in turn. */
        json_object_set_new(f, "secure_boot", json_false());
        json_object_set_new(f, "kernel_cmdline", json_string("root=/dev/sda1 ro init=/bin/sh"));
        json_array_append_new(json_object_get(f, "db"),
                              json_pack("{s:s, s:s}", "subject", "CN=Evil CA", "sha256", SHA256_C));
        json_object_set_new(json_object_get(json_object_get(f, "kernel"), "digests"), "sha256",
                            json_string(SHA256_C));
        assert_int_equal(evaluate(p, &in, &m), 4);
        assert_non_null(strstr(m, "secure_boot: Secure Boot is off, the policy wants on"));
        assert_non_null(strstr(m, "kernel_cmdline.forbidden: forbidden 'init=' is on the kernel command line"));
        assert_non_null(strstr(m, "db.forbidden: db contains forbidden 'CN=Evil CA' cccc"));
        assert_non_null(strstr(m, "kernel: kernel /vmlinuz has digest cccc"));
        m = mfree(m);

        /* A fact the log did not show (absent, or null because its event was not verified) fails. */
        json_object_set_new(f, "secure_boot", json_null());
        json_object_del(f, "dbx");
        assert_int_equal(evaluate(p, &in, &m), 5);
        assert_non_null(strstr(m, "Secure Boot: not shown by a verified event"));
        assert_non_null(strstr(m, "dbx: not shown by a verified event"));
        m = mfree(m);

        /* No firmware log at all: every fact rule fails. */
        in.facts = NULL;
        assert_true(evaluate(p, &in, &m) >= 7);
}

static ImaLog *ima_log(const char *text) {
        ImaParseParams params = { .format = IMA_LOG_FORMAT_ASCII };
        ImaLog *l = NULL;
        ImaError e;

        if (ima_log_parse(text, strlen(text), &params, &l, &e) < 0)
                fail_msg("IMA log refused: %s", e.message);
        return l;
}

static void test_ima(void **state) {
        _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
        _cleanup_(ima_log_freep) ImaLog *l = NULL;
        _cleanup_free_ char *m = NULL;
        AttestPolicyInput in = {};
        const char *hash = R32("11");

        p = parse_ok("{\"version\": 1, \"ima\": {\"allow\": {\"/usr/bin/bash\": [\"sha256:" SHA256_A "\"],"
                     " \"/usr/bin/ls\": [\"sha256:" SHA256_B "\", \"sha1:"
                     "0102030405060708090a0b0c0d0e0f1011121314"
                     "\"]},"
                     " \"exclude\": [\"/tmp/\"]}}");
        {
                char *text = NULL;
                assert_true(asprintf(&text,
                                     "10 %.40s ima-ng sha256:%s boot_aggregate\n"
                                     "10 %.40s ima-ng sha256:%s /usr/bin/bash\n"
                                     "10 %.40s ima-ng sha256:%s /usr/bin/ls\n"
                                     "10 %.40s ima-ng sha256:%s /tmp/anything\n",
                                     hash, SHA256_C, hash, SHA256_A, hash, SHA256_B, hash, SHA256_C) > 0);
                l = ima_log(text);
                free(text);
        }
        in.ima = l;
        assert_int_equal(evaluate(p, &in, &m), 0);
        m = mfree(m);
        l = ima_log_free(l);

        {
                char *text = NULL;
                assert_true(asprintf(&text,
                                     "10 %.40s ima-ng sha256:%s /usr/bin/bash\n"
                                     "10 %.40s ima-ng sha256:%s /usr/bin/evil\n",
                                     hash, SHA256_C, hash, SHA256_A) > 0);
                l = ima_log(text);
                free(text);
        }
        in.ima = l;
        assert_int_equal(evaluate(p, &in, &m), 2);
        assert_non_null(strstr(m, "/usr/bin/bash has a digest the allow-list does not list (IMA entry 0)"));
        assert_non_null(strstr(m, "/usr/bin/evil is not in the allow-list (IMA entry 1)"));
        m = mfree(m);

        in.ima = NULL;
        assert_int_equal(evaluate(p, &in, &m), 1);
        assert_non_null(strstr(m, "IMA log: not in the evidence"));
}

static void test_learn(void **state) {
        _cleanup_(json_decrefp) json_t *f = facts(), *learned = NULL;
        _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
        _cleanup_free_ char *text = NULL, *m = NULL;
        Tpm2PcrValue v[] = { pcr(TPM2_ALG_SHA256, 0, 0x10), pcr(TPM2_ALG_SHA256, 7, 0x17),
                             pcr(TPM2_ALG_SHA1, 7, 0x27) };
        AttestPolicyInput in = { .pcrs = v, .n_pcrs = ELEMENTSOF(v), .facts = f };

        assert_int_equal(attest_policy_learn(NULL, 0, NULL, &learned), -ENODATA);
        assert_int_equal(attest_policy_learn(v, ELEMENTSOF(v), f, &learned), 0);
        text = json_dumps(learned, JSON_INDENT(2) | JSON_SORT_KEYS);
        assert_non_null(text);
        p = parse_ok(text);
        assert_int_equal(evaluate(p, &in, &m), 0);
        m = mfree(m);
        assert_int_equal(attest_policy_quote_mask(p, TPM2_ALG_SHA1), 1U << 7);

        /* The machine changes: the learned policy notices. */
        v[1].digest[0] ^= 0xff;
        json_object_set_new(f, "kernel_cmdline",
                            json_string("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet single"));
        assert_int_equal(evaluate(p, &in, &m), 2);
        assert_non_null(strstr(m, "pcrs.sha256.7"));
        assert_non_null(strstr(
                m, "kernel command line is 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet single', not"));
}

static void test_checks_nothing(void **state) {
        static const char *const empty[] = {
                "{\"version\": 1}",
                "{\"version\": 1, \"force\": false}",
                "{\"version\": 1, \"quote\": {\"sha256\": [0, 7]}}",
                "{\"version\": 1, \"ima\": {\"exclude\": [\"/\"]}}",
                "{\"version\": 1, \"ima\": {\"unknown\": \"ignore\"}}",
                "{\"version\": 1, \"pcrs\": {}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(empty); i++) {
                _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
                AttestPolicyError e;

                assert_int_equal(attest_policy_parse(empty[i], strlen(empty[i]), &p, &e), -EDOM);
                assert_non_null(strstr(e.message, "would accept every machine"));
        }
        {
                _cleanup_(attest_policy_freep) AttestPolicy *p = parse_ok("{\"version\": 1, \"force\": true}");
                AttestPolicyInput in = {};
                _cleanup_free_ char *m = NULL;

                assert_true(attest_policy_checks_nothing(p));
                assert_int_equal(evaluate(p, &in, &m), 0);
        }
}

typedef struct Bad {
        const char *text;
        int error;
        const char *where; /* expected in the message */
} Bad;

static void test_malformed(void **state) {
        static const Bad bad[] = {
                { "", -EBADMSG, "policy" },
                { "[]", -EBADMSG, "not a JSON object" },
                { "{\"version\": 1,}", -EBADMSG, "policy" },
                { "{\"version\": 1, \"version\": 1}", -EBADMSG, "duplicate" },
                { "{\"secure_boot\": true}", -EBADMSG, "version: missing" },
                { "{\"version\": 2, \"secure_boot\": true}", -EINVAL, "version: unsupported" },
                { "{\"version\": \"1\", \"secure_boot\": true}", -EINVAL, "version" },
                { "{\"version\": 1, \"secure_boot\": 1}", -EBADMSG, "secure_boot: must be true or false" },
                { "{\"version\": 1, \"setup_mode\": \"no\"}", -EBADMSG, "setup_mode" },
                { "{\"version\": 1, \"secureboot\": true}", -EINVAL, "unknown key \"secureboot\"" },
                { "{\"version\": 1, \"pcrs\": []}", -EBADMSG, "pcrs: must be an object" },
                { "{\"version\": 1, \"pcrs\": {\"md5\": {}}}", -EINVAL, "pcrs.md5: unknown bank" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": []}}", -EBADMSG, "pcrs.sha256" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"24\": \"" R32("00") "\"}}}", -EINVAL,
                  "not a PCR index" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"-1\": \"" R32("00") "\"}}}", -EINVAL,
                  "not a PCR index" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"07\": \"" R32("00") "\"}}}", -EINVAL,
                  "not a PCR index" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"x\": \"" R32("00") "\"}}}", -EINVAL,
                  "not a PCR index" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": \"00\"}}}", -EINVAL,
                  "a digest of 1 bytes, expected 32" },
                { "{\"version\": 1, \"pcrs\": {\"sha1\": {\"7\": \"" R32("00") "\"}}}", -EINVAL,
                  "expected 20" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": \"" R32("0g") "\"}}}", -EBADMSG,
                  "not a hex digest" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": 7}}}", -EBADMSG, "must be a string" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": \"" H32("0") "0\"}}}", -EBADMSG,
                  "not a hex digest" },
                { "{\"version\": 1, \"quote\": {\"sha256\": [24]}, \"secure_boot\": true}", -EINVAL,
                  "out of range" },
                { "{\"version\": 1, \"quote\": {\"sha256\": []}, \"secure_boot\": true}", -EBADMSG,
                  "non-empty list" },
                { "{\"version\": 1, \"quote\": {\"sha256\": [\"7\"]}, \"secure_boot\": true}", -EBADMSG,
                  "not a PCR index" },
                { "{\"version\": 1, \"db\": [\"" SHA256_A "\"]}", -EBADMSG, "db: must be an object" },
                { "{\"version\": 1, \"db\": {\"allowed\": []}}", -EINVAL, "db: unknown key \"allowed\"" },
                { "{\"version\": 1, \"db\": {\"required\": []}}", -EINVAL, "an empty list allows nothing" },
                { "{\"version\": 1, \"dbx\": {\"forbidden\": [\"" SHA256_A "\", \"" SHA256_A "\"]}}",
                  -EINVAL, "listed twice" },
                { "{\"version\": 1, \"boot_loaders\": \"" SHA256_A "\"}", -EBADMSG,
                  "boot_loaders: must be a list" },
                { "{\"version\": 1, \"kernels\": [\"abc\"]}", -EBADMSG, "kernels[0]: not a hex digest" },
                { "{\"version\": 1, \"kernel_cmdline\": \"quiet\"}", -EBADMSG,
                  "kernel_cmdline: must be an object" },
                { "{\"version\": 1, \"kernel_cmdline\": {}}", -EINVAL, "kernel_cmdline: has no rule" },
                { "{\"version\": 1, \"kernel_cmdline\": {\"required\": [\"a b\"]}}", -EINVAL,
                  "one non-empty word" },
                { "{\"version\": 1, \"kernel_cmdline\": {\"equals\": \"a\\u0001b\"}}", -EBADMSG,
                  "control character" },
                { "{\"version\": 1, \"kernel_cmdline\": {\"contains\": \"a\"}}", -EINVAL, "unknown key" },
                { "{\"version\": 1, \"ima\": []}", -EBADMSG, "ima: must be an object" },
                { "{\"version\": 1, \"ima\": {\"allow\": {\"usr/bin/ls\": [\"sha256:" SHA256_A "\"]}}}",
                  -EINVAL, "not an absolute path" },
                { "{\"version\": 1, \"ima\": {\"allow\": {\"/bin/ls\": []}}}", -EBADMSG,
                  "non-empty list of digests" },
                { "{\"version\": 1, \"ima\": {\"allow\": {\"/bin/ls\": [\"" SHA256_A "\"]}}}", -EBADMSG,
                  "algorithm:hex" },
                { "{\"version\": 1, \"ima\": {\"allow\": {\"/bin/ls\": [\"md5:" SHA256_A "\"]}}}", -EINVAL,
                  "unknown digest algorithm" },
                { "{\"version\": 1, \"ima\": {\"allow\": {\"/bin/ls\": [\"sha1:" SHA256_A "\"]}}}", -EINVAL,
                  "expected 20" },
                { "{\"version\": 1, \"ima\": {\"exclude\": [\"tmp\"]}}", -EINVAL,
                  "not an absolute path prefix" },
                { "{\"version\": 1, \"ima\": {\"unknown\": \"allow\"}}", -EINVAL, "\"deny\" or \"ignore\"" },
                { "{\"version\": 1, \"ima\": {\"allow\": {}, \"deny\": {}}}", -EINVAL, "unknown key \"deny\"" },
                { "{\"version\": 1, \"force\": \"yes\"}", -EBADMSG, "force: must be true or false" },
                { "{\"version\": 1, \"pcrs\": {\"sha256\": {\"7\": \"" R32(
                          "00") "\"}}, \"nested\": "
                                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                  -EBADMSG, "nested too deeply" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
                AttestPolicyError e;
                int r;

                r = attest_policy_parse(bad[i].text, strlen(bad[i].text), &p, &e);
                if (r != bad[i].error || !strstr(e.message, bad[i].where))
                        fail_msg("case %zu (%s): got %d '%s', wanted %d with '%s'", i, bad[i].text, r,
                                 e.message, bad[i].error, bad[i].where);
                assert_null(p);
        }
        fprintf(stderr, "# %zu malformed policies refused\n", ELEMENTSOF(bad));

        {
                _cleanup_(attest_policy_freep) AttestPolicy *p = NULL;
                _cleanup_free_ char *big = malloc(ATTEST_POLICY_SIZE_MAX + 2);

                assert_non_null(big);
                memset(big, ' ', ATTEST_POLICY_SIZE_MAX + 1);
                big[0] = '{';
                big[ATTEST_POLICY_SIZE_MAX] = '}';
                assert_int_equal(attest_policy_parse(big, ATTEST_POLICY_SIZE_MAX + 1, &p, NULL), -E2BIG);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pcrs_and_quote_mask),
                cmocka_unit_test(test_pcr_rules_in_pcr_order),
                cmocka_unit_test(test_facts),
                cmocka_unit_test(test_ima),
                cmocka_unit_test(test_learn),
                cmocka_unit_test(test_checks_nothing),
                cmocka_unit_test(test_malformed),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
