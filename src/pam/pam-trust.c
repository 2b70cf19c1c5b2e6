/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_ext.h>

#include "basic/errno-util.h"
#include "basic/macro.h"
#include "basic/string-util.h"
#include "pam/pam-trust.h"

#define BUS_NAME "org.trustedplatform.TrustedPlatform1"
#define BUS_PATH "/org/trustedplatform/TrustedPlatform1"
#define BUS_MANAGER_INTERFACE "org.trustedplatform.TrustedPlatform1.Manager"

/* NSS answers for one user or group: grown on ERANGE up to this. */
#define NSS_BUFFER_MAX (UINT64_C(1) << 20)
#define GROUPLIST_MAX 65536

static const char *const mode_table[_PAM_TRUST_MODE_MAX] = {
        [PAM_TRUST_MODE_ENFORCE] = "enforce",
        [PAM_TRUST_MODE_WARN] = "warn",
};

static const char *const state_table[_PAM_TRUST_STATE_MAX] = {
        [PAM_TRUST_STATE_TRUSTED] = "trusted",
        [PAM_TRUST_STATE_UNTRUSTED] = "untrusted",
        [PAM_TRUST_STATE_UNKNOWN] = "unknown",
};

static const char *const verdict_table[_PAM_TRUST_VERDICT_MAX] = {
        [PAM_TRUST_ALLOW] = "allow",
        [PAM_TRUST_DENY_UNTRUSTED] = "untrusted",
        [PAM_TRUST_DENY_UNKNOWN] = "unknown",
        [PAM_TRUST_DENY_NEVER_ATTESTED] = "never-attested",
        [PAM_TRUST_DENY_STALE] = "stale",
        [PAM_TRUST_DENY_FUTURE] = "future",
        [PAM_TRUST_DENY_NO_ANSWER] = "no-answer",
        [PAM_TRUST_DENY_MALFORMED] = "malformed",
};

static int table_lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

const char *pam_trust_mode_to_string(PamTrustMode m) {
        return m >= 0 && m < _PAM_TRUST_MODE_MAX ? mode_table[m] : NULL;
}

PamTrustMode pam_trust_mode_from_string(const char *s) {
        return (PamTrustMode) table_lookup(mode_table, _PAM_TRUST_MODE_MAX, s);
}

const char *pam_trust_state_to_string(PamTrustState s) {
        return s >= 0 && s < _PAM_TRUST_STATE_MAX ? state_table[s] : NULL;
}

PamTrustState pam_trust_state_from_string(const char *s) {
        return (PamTrustState) table_lookup(state_table, _PAM_TRUST_STATE_MAX, s);
}

const char *pam_trust_verdict_to_string(PamTrustVerdict v) {
        return v >= 0 && v < _PAM_TRUST_VERDICT_MAX ? verdict_table[v] : NULL;
}

void pam_trust_options_done(PamTrustOptions *o) {
        if (!o)
                return;
        o->exempt_groups = strv_free(o->exempt_groups);
}

/* Group names as shadow-utils and systemd accept them, loosely: printable, no separators. */
static bool group_name_valid(const char *s, size_t n) {
        if (n == 0 || n > PAM_TRUST_GROUP_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= ' ' || c >= 0x7f || c == ':' || c == ',' || c == '/')
                        return false;
        }
        return true;
}

static int add_exempt_groups(pam_handle_t *pamh, PamTrustOptions *o, const char *arg, const char *list) {
        const char *p = list;

        for (;;) {
                size_t n = strcspn(p, ",");

                if (n > 0) {
                        _cleanup_free_ char *name = memdup_suffix0(p, n);
                        if (!name)
                                return -ENOMEM;
                        if (!group_name_valid(name, n))
                                pam_syslog(pamh, LOG_ERR, "Ignoring invalid group name in option '%s'.", arg);
                        else if (strv_length(o->exempt_groups) >= PAM_TRUST_EXEMPT_GROUPS_MAX)
                                pam_syslog(pamh, LOG_ERR, "Ignoring group '%s': more than %d exempt groups.",
                                           name, PAM_TRUST_EXEMPT_GROUPS_MAX);
                        else if (!strv_contains(o->exempt_groups, name) &&
                                 strv_extend(&o->exempt_groups, name) < 0)
                                return -ENOMEM;
                }
                if (p[n] == '\0')
                        return 0;
                p += n + 1;
        }
}

static int parse_seconds(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v;
        int r;

        r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int pam_trust_options_parse(pam_handle_t *pamh, int argc, const char **argv, PamTrustOptions *ret) {
        PamTrustOptions o = {
                .max_age_usec = PAM_TRUST_MAX_AGE_DEFAULT_SEC * PAM_TRUST_USEC_PER_SEC,
                .mode = PAM_TRUST_MODE_ENFORCE,
                .timeout_usec = PAM_TRUST_TIMEOUT_DEFAULT_MSEC * PAM_TRUST_USEC_PER_MSEC,
        };
        int r;

        assert(ret);

        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i], *v;
                uint64_t u;

                if (!arg)
                        continue;

                if (streq(arg, "debug"))
                        o.debug = true;
                else if ((v = startswith(arg, "max_age="))) {
                        if (parse_seconds(v, PAM_TRUST_MAX_AGE_MAX_SEC, &u) < 0)
                                pam_syslog(pamh, LOG_ERR,
                                           "Ignoring option '%s': not a number of seconds up to %" PRIu64 ".",
                                           arg, PAM_TRUST_MAX_AGE_MAX_SEC);
                        else
                                o.max_age_usec = u * PAM_TRUST_USEC_PER_SEC;
                } else if ((v = startswith(arg, "timeout_ms="))) {
                        if (parse_seconds(v, PAM_TRUST_TIMEOUT_MAX_MSEC, &u) < 0 ||
                            u < PAM_TRUST_TIMEOUT_MIN_MSEC)
                                pam_syslog(pamh, LOG_ERR,
                                           "Ignoring option '%s': not a number of milliseconds from %" PRIu64
                                           " to %" PRIu64 ".",
                                           arg, PAM_TRUST_TIMEOUT_MIN_MSEC, PAM_TRUST_TIMEOUT_MAX_MSEC);
                        else
                                o.timeout_usec = u * PAM_TRUST_USEC_PER_MSEC;
                } else if ((v = startswith(arg, "mode="))) {
                        PamTrustMode m = pam_trust_mode_from_string(v);
                        if (m < 0) {
                                pam_syslog(pamh, LOG_ERR,
                                           "Unknown value in option '%s', using mode=enforce.", arg);
                                m = PAM_TRUST_MODE_ENFORCE;
                        }
                        o.mode = m;
                } else if ((v = startswith(arg, "exempt_group="))) {
                        r = add_exempt_groups(pamh, &o, arg, v);
                        if (r < 0) {
                                pam_trust_options_done(&o);
                                return r;
                        }
                } else
                        pam_syslog(pamh, LOG_ERR, "Ignoring unknown option '%s'.", arg);
        }

        *ret = o;
        return 0;
}

void pam_trust_status_done(PamTrustStatus *s) {
        if (!s)
                return;
        s->reason = mfree(s->reason);
}

/* The reason goes to a terminal and to syslog: control characters become '?', and it is cut. */
static char *reason_printable(const char *s) {
        size_t n = strnlen(s, PAM_TRUST_REASON_SHOWN_MAX);
        char *t = memdup_suffix0(s, n);

        if (!t)
                return NULL;
        for (char *p = t; *p; p++)
                if ((unsigned char) *p < ' ' || (unsigned char) *p == 0x7f)
                        *p = '?';
        return t;
}

static int read_reasons(sd_bus_message *m, PamTrustStatus *s) {
        const char *r_str;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &r_str)) > 0) {
                if (s->n_reasons >= PAM_TRUST_REASONS_MAX)
                        return -EBADMSG;
                if (s->n_reasons++ == 0) {
                        s->reason = reason_printable(r_str);
                        if (!s->reason)
                                return -ENOMEM;
                }
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int pam_trust_status_from_message(sd_bus_message *m, PamTrustStatus *ret) {
        PamTrustStatus s = { .state = _PAM_TRUST_STATE_INVALID };
        bool have_state = false, have_reasons = false, have_last = false;
        int r;

        assert(m);
        assert(ret);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                goto fail;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        goto fail;

                if (streq(name, "TrustState")) {
                        const char *v;

                        r = sd_bus_message_enter_container(m, 'v', "s");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_read_basic(m, 's', &v);
                        if (r < 0)
                                goto fail;
                        s.state = pam_trust_state_from_string(v);
                        if (s.state < 0) {
                                r = -EBADMSG;
                                goto fail;
                        }
                        have_state = true;
                } else if (streq(name, "TrustReasons")) {
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r < 0)
                                goto fail;
                        pam_trust_status_done(&s);
                        s.n_reasons = 0;
                        r = read_reasons(m, &s);
                        if (r < 0)
                                goto fail;
                        have_reasons = true;
                } else if (streq(name, "LastAttestation")) {
                        r = sd_bus_message_enter_container(m, 'v', "t");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_read_basic(m, 't', &s.last_attestation_usec);
                        if (r < 0)
                                goto fail;
                        have_last = true;
                } else {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                goto fail;
                        continue;
                }

                r = sd_bus_message_exit_container(m); /* v */
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(m); /* e */
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;

        if (!have_state || !have_reasons || !have_last) {
                r = -EBADMSG;
                goto fail;
        }

        *ret = s;
        return 0;

fail:
        pam_trust_status_done(&s);
        /* Wrong types surface as -ENXIO from sd-bus; all of it is one malformed answer to us. */
        return r == -ENOMEM ? -ENOMEM : -EBADMSG;
}

int pam_trust_query(uint64_t timeout_usec, PamTrustStatus *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL, *call = NULL;
        sd_bus *bus = NULL;
        int r;

        assert(ret);

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(bus, "pam-trusted-platform");

        r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties",
                                           "GetAll");
        if (r < 0)
                goto finish;
        r = sd_bus_message_append(call, "s", BUS_MANAGER_INTERFACE);
        if (r < 0)
                goto finish;

        r = sd_bus_call(bus, call, timeout_usec, &error, &reply);
        if (r < 0)
                goto finish;

        r = pam_trust_status_from_message(reply, ret);

finish:
        sd_bus_message_unref(reply);
        sd_bus_message_unref(call);
        /* Closes the socket now: nothing of the connection outlives the call. */
        sd_bus_flush_close_unref(bus);
        return r;
}

PamTrustVerdict pam_trust_decide(const PamTrustOptions *o, int query_r, const PamTrustStatus *status,
                                 uint64_t now_usec) {
        assert(o);

        if (query_r < 0)
                return query_r == -EBADMSG ? PAM_TRUST_DENY_MALFORMED : PAM_TRUST_DENY_NO_ANSWER;

        assert(status);
        switch (status->state) {
        case PAM_TRUST_STATE_TRUSTED:
                break;
        case PAM_TRUST_STATE_UNTRUSTED:
                return PAM_TRUST_DENY_UNTRUSTED;
        case PAM_TRUST_STATE_UNKNOWN:
                return PAM_TRUST_DENY_UNKNOWN;
        default:
                return PAM_TRUST_DENY_MALFORMED;
        }

        if (status->last_attestation_usec == 0)
                return PAM_TRUST_DENY_NEVER_ATTESTED;
        if (status->last_attestation_usec > now_usec &&
            status->last_attestation_usec - now_usec > PAM_TRUST_CLOCK_SKEW_USEC)
                return PAM_TRUST_DENY_FUTURE;
        if (o->max_age_usec > 0 && now_usec > status->last_attestation_usec &&
            now_usec - status->last_attestation_usec > o->max_age_usec)
                return PAM_TRUST_DENY_STALE;

        return PAM_TRUST_ALLOW;
}

static char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
static char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int pam_trust_verdict_describe(PamTrustVerdict v, const PamTrustOptions *o, const PamTrustStatus *status,
                               uint64_t now_usec, char **ret) {
        char *s;

        assert(o);
        assert(ret);

        switch (v) {
        case PAM_TRUST_ALLOW:
                s = strdup("this computer passed its integrity check");
                break;
        case PAM_TRUST_DENY_UNTRUSTED:
                if (status && status->reason)
                        s = strdup_printf("this computer failed its integrity check (%s)", status->reason);
                else
                        s = strdup("this computer failed its integrity check (no reason given)");
                break;
        case PAM_TRUST_DENY_UNKNOWN:
                /* The daemon says why it cannot tell (no policy, a policy it cannot read): the administrator
                 * reading syslog needs that as much as for "untrusted". */
                if (status && status->reason)
                        s = strdup_printf("the integrity of this computer has not been verified (%s)",
                                          status->reason);
                else
                        s = strdup("the integrity of this computer has not been verified");
                break;
        case PAM_TRUST_DENY_NEVER_ATTESTED:
                s = strdup("the integrity of this computer has never been checked");
                break;
        case PAM_TRUST_DENY_STALE:
                assert(status);
                s = strdup_printf("the last integrity check of this computer was %" PRIu64
                                  " s ago, more than the allowed %" PRIu64 " s",
                                  (now_usec - status->last_attestation_usec) / PAM_TRUST_USEC_PER_SEC,
                                  o->max_age_usec / PAM_TRUST_USEC_PER_SEC);
                break;
        case PAM_TRUST_DENY_FUTURE:
                s = strdup(
                        "the last integrity check of this computer is dated in the future (check the clock)");
                break;
        case PAM_TRUST_DENY_NO_ANSWER:
                s = strdup("the trust service did not answer");
                break;
        case PAM_TRUST_DENY_MALFORMED:
                s = strdup("the trust service gave an invalid answer");
                break;
        default:
                return -EINVAL;
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int nss_buffer_grow(char **buf, size_t *size) {
        size_t n = *size == 0 ? 1024 : *size * 2;
        char *b;

        if (n > NSS_BUFFER_MAX)
                return -ERANGE;
        b = realloc(*buf, n);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *size = n;
        return 0;
}

static int lookup_user_gid(const char *user, gid_t *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        struct passwd pw, *result;
        int r;

        for (;;) {
                r = nss_buffer_grow(&buf, &size);
                if (r < 0)
                        return r;
                r = getpwnam_r(user, &pw, buf, size, &result);
                if (r != ERANGE)
                        break;
        }
        if (r != 0)
                return -r;
        if (!result)
                return -ENOENT;
        *ret = pw.pw_gid;
        return 0;
}

static int lookup_group_gid(const char *group, gid_t *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        struct group gr, *result;
        int r;

        for (;;) {
                r = nss_buffer_grow(&buf, &size);
                if (r < 0)
                        return r;
                r = getgrnam_r(group, &gr, buf, size, &result);
                if (r != ERANGE)
                        break;
        }
        if (r != 0)
                return -r;
        if (!result)
                return -ENOENT;
        *ret = gr.gr_gid;
        return 0;
}

int pam_trust_user_in_groups(const char *user, char *const *groups) {
        _cleanup_free_ gid_t *gids = NULL;
        gid_t primary = 0;
        int n = 64, r;

        assert(user);

        if (strv_length(groups) == 0)
                return 0;

        r = lookup_user_gid(user, &primary);
        if (r < 0)
                return r;

        for (;;) {
                int k = n;
                gid_t *g = reallocarray(gids, (size_t) n, sizeof(gid_t));

                if (!g)
                        return -ENOMEM;
                gids = g;
                if (getgrouplist(user, primary, gids, &k) >= 0) {
                        n = k;
                        break;
                }
                if (k <= n || k > GROUPLIST_MAX)
                        return -E2BIG;
                n = k;
        }

        for (size_t j = 0; groups[j]; j++) {
                gid_t gid = 0;

                if (lookup_group_gid(groups[j], &gid) < 0)
                        continue;
                for (int i = 0; i < n; i++)
                        if (gids[i] == gid)
                                return 1;
        }
        return 0;
}

/* strerror() shares a buffer between threads, and PAM applications may have several. */
static const char *errno_text(int error) {
        const char *s = strerrordesc_np(error);
        return s ? s : "unknown error";
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * PAM_TRUST_USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

int pam_trust_account(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(pam_trust_options_done) PamTrustOptions o = {};
        _cleanup_(pam_trust_status_done) PamTrustStatus status = {};
        _cleanup_free_ char *text = NULL;
        const char *user = NULL;
        PamTrustVerdict v;
        uint64_t now;
        int r, q;

        r = pam_trust_options_parse(pamh, argc, argv, &o);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Out of memory.");
                return PAM_BUF_ERR;
        }

        r = pam_get_user(pamh, &user, NULL);
        if (r != PAM_SUCCESS || !user || !*user) {
                pam_syslog(pamh, LOG_ERR, "Cannot determine the user name.");
                return PAM_USER_UNKNOWN;
        }
        if (!string_is_safe(user, LOGIN_NAME_MAX)) {
                pam_syslog(pamh, LOG_ERR, "Refusing a user name with control characters or quotes.");
                return PAM_USER_UNKNOWN;
        }

        if (o.exempt_groups) {
                r = pam_trust_user_in_groups(user, o.exempt_groups);
                if (r > 0) {
                        if (o.debug)
                                pam_syslog(pamh, LOG_DEBUG,
                                           "User '%s' is in an exempt group, not asking for the trust state.",
                                           user);
                        return PAM_SUCCESS;
                }
                if (r < 0)
                        /* Not exempt: the trust state still decides. */
                        pam_syslog(pamh, LOG_NOTICE, "Cannot look up the groups of user '%s': %s", user,
                                   errno_text(-r));
        }

        q = pam_trust_query(o.timeout_usec, &status);
        now = now_realtime_usec();
        v = pam_trust_decide(&o, q, &status, now);

        if (o.debug) {
                if (q < 0)
                        pam_syslog(pamh, LOG_DEBUG, "Trust state query failed: %s", errno_text(-q));
                else
                        pam_syslog(pamh, LOG_DEBUG,
                                   "Trust state %s, %zu reason(s), last attestation %" PRIu64
                                   " us, now %" PRIu64 " us, max age %" PRIu64 " s, verdict %s.",
                                   pam_trust_state_to_string(status.state), status.n_reasons,
                                   status.last_attestation_usec, now,
                                   o.max_age_usec / PAM_TRUST_USEC_PER_SEC, pam_trust_verdict_to_string(v));
        }

        if (v == PAM_TRUST_ALLOW)
                return PAM_SUCCESS;

        r = pam_trust_verdict_describe(v, &o, &status, now, &text);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Out of memory.");
                return o.mode == PAM_TRUST_MODE_WARN ? PAM_SUCCESS : PAM_BUF_ERR;
        }

        if (o.mode == PAM_TRUST_MODE_WARN) {
                pam_syslog(pamh, LOG_WARNING, "Allowing user '%s' in warn mode although %s%s%s.", user, text,
                           q < 0 ? ": " : "", q < 0 ? errno_text(-q) : "");
                if (!(flags & PAM_SILENT))
                        (void) pam_info(pamh, "Warning: %s.", text);
                return PAM_SUCCESS;
        }

        pam_syslog(pamh, LOG_WARNING, "Refusing user '%s': %s%s%s.", user, text, q < 0 ? ": " : "",
                   q < 0 ? errno_text(-q) : "");
        if (!(flags & PAM_SILENT))
                (void) pam_error(pamh, "Login refused: %s.", text);
        return PAM_PERM_DENIED;
}
