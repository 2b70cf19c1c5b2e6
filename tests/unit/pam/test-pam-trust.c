/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The core of pam_trusted_platform.so: options, the parsing of the bus answer, the decision, the
 * messages and the group check. pam_syslog() is replaced through -Wl,--wrap=pam_syslog so that what
 * the module would log can be checked. */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/macro.h"
#include "basic/string-util.h"
#include "pam/pam-trust.h"

#define SEC PAM_TRUST_USEC_PER_SEC
#define NOW (UINT64_C(1800000000) * SEC)

static char logged[8192];
static unsigned n_logged;

void __wrap_pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...);
void __wrap_pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...) {
        size_t l = strlen(logged);
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(logged + l, sizeof(logged) - l, fmt, ap);
        va_end(ap);
        l = strlen(logged);
        (void) snprintf(logged + l, sizeof(logged) - l, "\n");
        n_logged++;
}

static int reset_log(void **state) {
        logged[0] = '\0';
        n_logged = 0;
        return 0;
}

static void parse(PamTrustOptions *o, const char **argv) {
        int argc = 0;

        while (argv[argc])
                argc++;
        assert_int_equal(pam_trust_options_parse(NULL, argc, argv, o), 0);
}

static void test_options_defaults(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o, (const char *[]){ NULL });
        assert_int_equal(o.max_age_usec, 3600 * SEC);
        assert_int_equal(o.mode, PAM_TRUST_MODE_ENFORCE);
        assert_null(o.exempt_groups);
        assert_false(o.debug);
        assert_int_equal(o.timeout_usec, 2000 * 1000);
        assert_int_equal(n_logged, 0);
}

static void test_options_all(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o,
              (const char *[]){ "max_age=60", "mode=warn", "exempt_group=wheel", "debug", "timeout_ms=250",
                                NULL });
        assert_int_equal(o.max_age_usec, 60 * SEC);
        assert_int_equal(o.mode, PAM_TRUST_MODE_WARN);
        assert_int_equal(strv_length(o.exempt_groups), 1);
        assert_string_equal(o.exempt_groups[0], "wheel");
        assert_true(o.debug);
        assert_int_equal(o.timeout_usec, 250 * 1000);
        assert_int_equal(n_logged, 0);
}

static void test_options_max_age_zero(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o, (const char *[]){ "max_age=0", NULL });
        assert_int_equal(o.max_age_usec, 0);
}

static void test_options_max_age_malformed(void **state) {
        const char *bad[] = {
                "max_age=",         "max_age=-1", "max_age=1h", "max_age= 5", "max_age=99999999999999999999",
                "max_age=316224001"
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

                reset_log(NULL);
                parse(&o, (const char *[]){ bad[i], "debug", NULL });
                assert_int_equal(o.max_age_usec, 3600 * SEC);
                assert_true(o.debug); /* the rest still applies */
                assert_int_equal(n_logged, 1);
                assert_non_null(strstr(logged, bad[i]));
        }
}

static void test_options_mode_bogus_is_enforce(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        /* A typo after a valid warn must not leave the module in warn mode. */
        parse(&o, (const char *[]){ "mode=warn", "mode=bogus", NULL });
        assert_int_equal(o.mode, PAM_TRUST_MODE_ENFORCE);
        assert_int_equal(n_logged, 1);
        assert_non_null(strstr(logged, "mode=bogus"));
        assert_non_null(strstr(logged, "enforce"));

        reset_log(NULL);
        pam_trust_options_done(&o);
        parse(&o, (const char *[]){ "mode=WARN", NULL });
        assert_int_equal(o.mode, PAM_TRUST_MODE_ENFORCE);
        assert_int_equal(n_logged, 1);
}

static void test_options_exempt_groups(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o,
              (const char *[]){ "exempt_group=wheel,adm", "exempt_group=recovery", "exempt_group=,adm,,",
                                NULL });
        assert_int_equal(strv_length(o.exempt_groups), 3);
        assert_string_equal(o.exempt_groups[0], "wheel");
        assert_string_equal(o.exempt_groups[1], "adm");
        assert_string_equal(o.exempt_groups[2], "recovery");
        assert_int_equal(n_logged, 0);
}

static void test_options_exempt_group_invalid(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o, (const char *[]){ "exempt_group=good,bad name,x:y,tab\there", NULL });
        assert_int_equal(strv_length(o.exempt_groups), 1);
        assert_string_equal(o.exempt_groups[0], "good");
        assert_int_equal(n_logged, 3);
}

static void test_options_exempt_group_limit(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};
        _cleanup_free_ char *arg = strdup("exempt_group=g0");

        assert_non_null(arg);
        for (int i = 1; i < PAM_TRUST_EXEMPT_GROUPS_MAX + 5; i++) {
                char b[16];
                snprintf(b, sizeof(b), ",g%d", i);
                assert_non_null(strextend(&arg, b));
        }
        parse(&o, (const char *[]){ arg, NULL });
        assert_int_equal(strv_length(o.exempt_groups), PAM_TRUST_EXEMPT_GROUPS_MAX);
        assert_int_equal(n_logged, 5);
}

static void test_options_timeout_bounds(void **state) {
        const char *bad[] = { "timeout_ms=0", "timeout_ms=30001", "timeout_ms=abc", "timeout_ms=" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

                reset_log(NULL);
                parse(&o, (const char *[]){ bad[i], NULL });
                assert_int_equal(o.timeout_usec, 2000 * 1000);
                assert_int_equal(n_logged, 1);
        }

        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};
        parse(&o, (const char *[]){ "timeout_ms=30000", NULL });
        assert_int_equal(o.timeout_usec, 30000 * 1000);
}

static void test_options_unknown_ignored(void **state) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};

        parse(&o, (const char *[]){ "frobnicate", "max_age=10", "debug=1", "MAX_AGE=5", NULL });
        assert_int_equal(o.max_age_usec, 10 * SEC);
        assert_false(o.debug);
        assert_int_equal(n_logged, 3);
        assert_non_null(strstr(logged, "'frobnicate'"));
        assert_non_null(strstr(logged, "'debug=1'"));
}

static void test_string_tables(void **state) {
        for (int i = 0; i < _PAM_TRUST_MODE_MAX; i++)
                assert_int_equal(pam_trust_mode_from_string(pam_trust_mode_to_string(i)), i);
        for (int i = 0; i < _PAM_TRUST_STATE_MAX; i++)
                assert_int_equal(pam_trust_state_from_string(pam_trust_state_to_string(i)), i);
        for (int i = 0; i < _PAM_TRUST_VERDICT_MAX; i++)
                assert_non_null(pam_trust_verdict_to_string(i));
        assert_int_equal(pam_trust_state_from_string("Trusted"), _PAM_TRUST_STATE_INVALID);
        assert_int_equal(pam_trust_state_from_string(NULL), _PAM_TRUST_STATE_INVALID);
        assert_null(pam_trust_verdict_to_string(_PAM_TRUST_VERDICT_MAX));
}

/* A GetAll-style a{sv}, sealed and rewound so that it can be read like a reply. */
typedef struct Prop {
        const char *name;
        const char *type;
        const void *value; /* const char* for 's', uint64_t* for 't', uint32_t* for 'u', char** for 'as' */
} Prop;

static sd_bus *test_bus(void) {
        sd_bus *bus = NULL;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_start(bus), 0);
        close(fds[1]);
        return bus;
}

static sd_bus_message *make_reply(sd_bus *bus, const Prop *props, size_t n) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_signal(bus, &m, "/a", "a.b", "C"), 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        for (size_t i = 0; i < n; i++) {
                assert_true(sd_bus_message_open_container(m, 'e', "sv") >= 0);
                assert_true(sd_bus_message_append_basic(m, 's', props[i].name) >= 0);
                assert_true(sd_bus_message_open_container(m, 'v', props[i].type) >= 0);
                if (streq(props[i].type, "s"))
                        assert_true(sd_bus_message_append_basic(m, 's', props[i].value) >= 0);
                else if (streq(props[i].type, "t") || streq(props[i].type, "u"))
                        assert_true(sd_bus_message_append_basic(m, props[i].type[0], props[i].value) >= 0);
                else if (streq(props[i].type, "as"))
                        assert_true(sd_bus_message_append_strv(m, (char **) props[i].value) >= 0);
                else
                        fail();
                assert_true(sd_bus_message_close_container(m) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
        }
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_seal(m, 1, 0) >= 0);
        assert_true(sd_bus_message_rewind(m, true) >= 0);
        return m;
}

static int parse_props(const Prop *props, size_t n, PamTrustStatus *ret) {
        sd_bus *bus = test_bus();
        sd_bus_message *m = make_reply(bus, props, n);
        int r = pam_trust_status_from_message(m, ret);

        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return r;
}

static void test_status_good(void **state) {
        _cleanup_(pam_trust_status_done) PamTrustStatus s = {};
        uint64_t t = NOW;
        char *reasons[] = { (char *) "PCR 7 changed: db", (char *) "second", NULL };
        const char *version = "0.1.0";
        Prop p[] = {
                { "Version", "s", version },
                { "TrustState", "s", "untrusted" },
                { "TrustReasons", "as", reasons },
                { "LastAttestation", "t", &t },
        };

        assert_int_equal(parse_props(p, ELEMENTSOF(p), &s), 0);
        assert_int_equal(s.state, PAM_TRUST_STATE_UNTRUSTED);
        assert_string_equal(s.reason, "PCR 7 changed: db");
        assert_int_equal(s.n_reasons, 2);
        assert_int_equal(s.last_attestation_usec, NOW);
}

static void test_status_empty_reasons(void **state) {
        _cleanup_(pam_trust_status_done) PamTrustStatus s = {};
        uint64_t t = 0;
        char *reasons[] = { NULL };
        Prop p[] = {
                { "TrustState", "s", "trusted" },
                { "TrustReasons", "as", reasons },
                { "LastAttestation", "t", &t },
        };

        assert_int_equal(parse_props(p, ELEMENTSOF(p), &s), 0);
        assert_int_equal(s.state, PAM_TRUST_STATE_TRUSTED);
        assert_null(s.reason);
        assert_int_equal(s.n_reasons, 0);
}

static void test_status_reason_sanitized(void **state) {
        _cleanup_(pam_trust_status_done) PamTrustStatus s = {};
        _cleanup_free_ char *longr = malloc(4000);
        uint64_t t = NOW;

        assert_non_null(longr);
        memset(longr, 'x', 3999);
        longr[0] = '\x1b';
        longr[1] = '\n';
        longr[3999] = '\0';
        char *reasons[] = { longr, NULL };
        Prop p[] = {
                { "TrustState", "s", "untrusted" },
                { "TrustReasons", "as", reasons },
                { "LastAttestation", "t", &t },
        };

        assert_int_equal(parse_props(p, ELEMENTSOF(p), &s), 0);
        assert_int_equal(strlen(s.reason), PAM_TRUST_REASON_SHOWN_MAX);
        assert_int_equal(s.reason[0], '?');
        assert_int_equal(s.reason[1], '?');
        assert_int_equal(s.reason[2], 'x');
}

static void test_status_missing_property(void **state) {
        uint64_t t = NOW;
        char *reasons[] = { NULL };
        Prop full[] = {
                { "TrustState", "s", "trusted" },
                { "TrustReasons", "as", reasons },
                { "LastAttestation", "t", &t },
        };

        for (size_t skip = 0; skip < ELEMENTSOF(full); skip++) {
                PamTrustStatus s = {};
                Prop p[2];
                size_t n = 0;

                for (size_t i = 0; i < ELEMENTSOF(full); i++)
                        if (i != skip)
                                p[n++] = full[i];
                assert_int_equal(parse_props(p, n, &s), -EBADMSG);
                assert_null(s.reason);
        }
}

static void test_status_wrong_types(void **state) {
        uint64_t t = NOW;
        uint32_t u = 1;
        char *reasons[] = { (char *) "r", NULL };
        PamTrustStatus s = {};

        Prop state_u[] = { { "TrustState", "u", &u },
                           { "TrustReasons", "as", reasons },
                           { "LastAttestation", "t", &t } };
        assert_int_equal(parse_props(state_u, 3, &s), -EBADMSG);
        Prop reasons_s[] = { { "TrustState", "s", "trusted" },
                             { "TrustReasons", "s", "r" },
                             { "LastAttestation", "t", &t } };
        assert_int_equal(parse_props(reasons_s, 3, &s), -EBADMSG);
        Prop last_u[] = { { "TrustState", "s", "trusted" },
                          { "TrustReasons", "as", reasons },
                          { "LastAttestation", "u", &u } };
        assert_int_equal(parse_props(last_u, 3, &s), -EBADMSG);
        Prop last_s[] = { { "TrustState", "s", "trusted" },
                          { "TrustReasons", "as", reasons },
                          { "LastAttestation", "s", "now" } };
        assert_int_equal(parse_props(last_s, 3, &s), -EBADMSG);
}

static void test_status_unknown_state(void **state) {
        uint64_t t = NOW;
        char *reasons[] = { NULL };
        PamTrustStatus s = {};
        const char *bad[] = { "", "Trusted", "trusted ", "ok" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Prop p[] = { { "TrustState", "s", bad[i] },
                             { "TrustReasons", "as", reasons },
                             { "LastAttestation", "t", &t } };
                assert_int_equal(parse_props(p, 3, &s), -EBADMSG);
        }
}

static void test_status_too_many_reasons(void **state) {
        uint64_t t = NOW;
        char **reasons = calloc(PAM_TRUST_REASONS_MAX + 2, sizeof(char *));
        PamTrustStatus s = {};

        assert_non_null(reasons);
        for (size_t i = 0; i <= PAM_TRUST_REASONS_MAX; i++)
                reasons[i] = (char *) "r";
        Prop p[] = { { "TrustState", "s", "untrusted" },
                     { "TrustReasons", "as", reasons },
                     { "LastAttestation", "t", &t } };
        assert_int_equal(parse_props(p, 3, &s), -EBADMSG);
        assert_null(s.reason);
        free(reasons);
}

static PamTrustVerdict decide(uint64_t max_age_sec, int q, PamTrustState st, uint64_t last) {
        PamTrustOptions o = { .max_age_usec = max_age_sec * SEC };
        PamTrustStatus s = { .state = st, .last_attestation_usec = last };

        return pam_trust_decide(&o, q, &s, NOW);
}

static void test_decide(void **state) {
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, NOW - 10 * SEC), PAM_TRUST_ALLOW);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, NOW - 3600 * SEC), PAM_TRUST_ALLOW);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, NOW - 3600 * SEC - 1), PAM_TRUST_DENY_STALE);
        assert_int_equal(decide(0, 0, PAM_TRUST_STATE_TRUSTED, 1), PAM_TRUST_ALLOW);
        assert_int_equal(decide(0, 0, PAM_TRUST_STATE_TRUSTED, 0), PAM_TRUST_DENY_NEVER_ATTESTED);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, 0), PAM_TRUST_DENY_NEVER_ATTESTED);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, NOW + 30 * SEC), PAM_TRUST_ALLOW);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_TRUSTED, NOW + 61 * SEC), PAM_TRUST_DENY_FUTURE);
        assert_int_equal(decide(0, 0, PAM_TRUST_STATE_TRUSTED, UINT64_MAX), PAM_TRUST_DENY_FUTURE);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_UNTRUSTED, NOW), PAM_TRUST_DENY_UNTRUSTED);
        assert_int_equal(decide(3600, 0, PAM_TRUST_STATE_UNKNOWN, NOW), PAM_TRUST_DENY_UNKNOWN);
        assert_int_equal(decide(3600, 0, _PAM_TRUST_STATE_INVALID, NOW), PAM_TRUST_DENY_MALFORMED);
        assert_int_equal(decide(3600, -ETIMEDOUT, PAM_TRUST_STATE_TRUSTED, NOW), PAM_TRUST_DENY_NO_ANSWER);
        assert_int_equal(decide(3600, -ECONNREFUSED, PAM_TRUST_STATE_TRUSTED, NOW), PAM_TRUST_DENY_NO_ANSWER);
        assert_int_equal(decide(3600, -EBADMSG, PAM_TRUST_STATE_TRUSTED, NOW), PAM_TRUST_DENY_MALFORMED);
}

static void test_describe(void **state) {
        PamTrustOptions o = { .max_age_usec = 60 * SEC };
        PamTrustStatus s = { .state = PAM_TRUST_STATE_UNTRUSTED, .reason = (char *) "PCR 7 changed: db" };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;

        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_UNTRUSTED, &o, &s, NOW, &a), 0);
        assert_string_equal(a, "this computer failed its integrity check (PCR 7 changed: db)");
        s.reason = NULL;
        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_UNTRUSTED, &o, &s, NOW, &b), 0);
        assert_non_null(strstr(b, "no reason given"));
        s.last_attestation_usec = NOW - 120 * SEC;
        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_STALE, &o, &s, NOW, &c), 0);
        assert_non_null(strstr(c, "120 s ago"));
        assert_non_null(strstr(c, "allowed 60 s"));
        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_NO_ANSWER, &o, NULL, NOW, &d), 0);
        assert_string_equal(d, "the trust service did not answer");
        s.state = PAM_TRUST_STATE_UNKNOWN;
        s.reason = (char *) "policy: no policy configured";
        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_UNKNOWN, &o, &s, NOW, &e), 0);
        assert_string_equal(
                e, "the integrity of this computer has not been verified (policy: no policy configured)");
        s.reason = NULL;
        assert_int_equal(pam_trust_verdict_describe(PAM_TRUST_DENY_UNKNOWN, &o, &s, NOW, &f), 0);
        assert_string_equal(f, "the integrity of this computer has not been verified");

        for (int v = 0; v < _PAM_TRUST_VERDICT_MAX; v++) {
                _cleanup_free_ char *t = NULL;
                assert_int_equal(pam_trust_verdict_describe(v, &o, &s, NOW, &t), 0);
                assert_true(strlen(t) > 10);
        }
        assert_int_equal(pam_trust_verdict_describe(_PAM_TRUST_VERDICT_MAX, &o, &s, NOW, &a), -EINVAL);
}

static void test_user_in_groups(void **state) {
        char *root[] = { (char *) "root", NULL };
        char *none[] = { (char *) "no-such-group-tp", (char *) "nogroup", NULL };
        char *mixed[] = { (char *) "no-such-group-tp", (char *) "root", NULL };
        char *empty[] = { NULL };

        assert_int_equal(pam_trust_user_in_groups("root", root), 1);
        assert_int_equal(pam_trust_user_in_groups("root", mixed), 1);
        assert_int_equal(pam_trust_user_in_groups("root", none), 0);
        assert_int_equal(pam_trust_user_in_groups("root", empty), 0);
        assert_int_equal(pam_trust_user_in_groups("root", NULL), 0);
        assert_int_equal(pam_trust_user_in_groups("no-such-user-tp", root), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_options_defaults, reset_log),
                cmocka_unit_test_setup(test_options_all, reset_log),
                cmocka_unit_test_setup(test_options_max_age_zero, reset_log),
                cmocka_unit_test_setup(test_options_max_age_malformed, reset_log),
                cmocka_unit_test_setup(test_options_mode_bogus_is_enforce, reset_log),
                cmocka_unit_test_setup(test_options_exempt_groups, reset_log),
                cmocka_unit_test_setup(test_options_exempt_group_invalid, reset_log),
                cmocka_unit_test_setup(test_options_exempt_group_limit, reset_log),
                cmocka_unit_test_setup(test_options_timeout_bounds, reset_log),
                cmocka_unit_test_setup(test_options_unknown_ignored, reset_log),
                cmocka_unit_test(test_string_tables),
                cmocka_unit_test(test_status_good),
                cmocka_unit_test(test_status_empty_reasons),
                cmocka_unit_test(test_status_reason_sanitized),
                cmocka_unit_test(test_status_missing_property),
                cmocka_unit_test(test_status_wrong_types),
                cmocka_unit_test(test_status_unknown_state),
                cmocka_unit_test(test_status_too_many_reasons),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_describe),
                cmocka_unit_test(test_user_in_groups),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
