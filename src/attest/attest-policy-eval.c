/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "attest/attest-policy-internal.h"
#include "basic/hexdecoct.h"
#include "basic/string-util.h"

#define IMA_VIOLATIONS_REPORTED 16U

/* ---- evaluation ---- */

typedef struct Results {
        AttestPolicyResult *r;
        size_t n;
        int failed;
} Results;

void attest_policy_results_free(AttestPolicyResult *r, size_t n) {
        for (size_t i = 0; r && i < n; i++) {
                free(r[i].rule);
                free(r[i].message);
        }
        free(r);
}

static int add(Results *res, const char *rule, bool passed, const char *format, ...) _printf_(4, 5);
static int add(Results *res, const char *rule, bool passed, const char *format, ...) {
        AttestPolicyResult *n;
        va_list ap;
        int k;

        n = reallocarray(res->r, res->n + 1, sizeof(AttestPolicyResult));
        if (!n)
                return -ENOMEM;
        res->r = n;
        n = res->r + res->n;
        *n = (AttestPolicyResult){ .passed = passed };
        n->rule = strdup(rule);
        va_start(ap, format);
        k = vasprintf(&n->message, format, ap);
        va_end(ap);
        if (!n->rule || k < 0) {
                free(n->rule);
                if (k >= 0)
                        free(n->message);
                return -ENOMEM;
        }
        res->n++;
        res->failed += !passed;
        return 0;
}

/* The first 8 bytes of a digest in hex, for messages. */
static void short_hex(const uint8_t *d, size_t n, char buf[static 20]) {
        for (size_t i = 0; i < MIN(n, (size_t) 8); i++)
                snprintf(buf + 2 * i, 3, "%02x", d[i]);
        if (n > 8)
                strcpy(buf + 16, "…");
}

static const Tpm2PcrValue *find_pcr(const AttestPolicyInput *in, uint16_t bank, uint32_t index) {
        for (size_t i = 0; i < in->n_pcrs; i++)
                if (in->pcrs[i].bank == bank && in->pcrs[i].index == index)
                        return in->pcrs + i;
        return NULL;
}

static int eval_pcrs(const AttestPolicy *p, const AttestPolicyInput *in, Results *res) {
        for (size_t i = 0; i < p->n_pcrs; i++) {
                const PcrExpect *e = p->pcrs + i;
                const Tpm2PcrValue *v = find_pcr(in, e->bank, e->index);
                char rule[64], want[20], got[20];
                int r;

                snprintf(rule, sizeof(rule), "pcrs.%s.%u", attest_policy_bank_name(e->bank), e->index);
                short_hex(e->digest, e->size, want);
                if (!v)
                        r = add(res, rule, false, "PCR %u (%s) was not in the evidence", e->index,
                                attest_policy_bank_name(e->bank));
                else if (v->size != e->size || memcmp(v->digest, e->digest, e->size) != 0) {
                        short_hex(v->digest, v->size, got);
                        r = add(res, rule, false, "PCR %u (%s) is %s, expected %s", e->index,
                                attest_policy_bank_name(e->bank), got, want);
                } else
                        r = add(res, rule, true, "PCR %u (%s) is %s as expected", e->index,
                                attest_policy_bank_name(e->bank), want);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int eval_bool_fact(json_t *facts, const char *key, int want, const char *what, Results *res) {
        json_t *v;

        if (want < 0)
                return 0;
        v = facts ? json_object_get(facts, key) : NULL;
        if (!json_is_boolean(v))
                return add(res, key, false, "%s: not shown by a verified event of the firmware log", what);
        if (json_is_true(v) != want)
                return add(res, key, false, "%s is %s, the policy wants %s", what,
                           json_is_true(v) ? "on" : "off", want ? "on" : "off");
        return add(res, key, true, "%s is %s", what, want ? "on" : "off");
}

/* The sha256 of a signature-list entry (facts: { "sha256": "<hex>", "subject": ... }). */
static const char *sig_hash(json_t *sig, const char **ret_name) {
        json_t *h = json_object_get(sig, "sha256"), *n = json_object_get(sig, "subject");

        *ret_name = json_is_string(n) ? json_string_value(n) : NULL;
        return json_is_string(h) ? json_string_value(h) : NULL;
}

static bool list_has_hash(json_t *list, const char *hex, const char **ret_name) {
        size_t i;
        json_t *sig;

        json_array_foreach(list, i, sig) {
                const char *h = sig_hash(sig, ret_name);
                if (h && strcasecmp(h, hex) == 0)
                        return true;
        }
        *ret_name = NULL;
        return false;
}

static int eval_sigs(json_t *facts, const char *var, char **required, char **forbidden, Results *res) {
        json_t *list = facts ? json_object_get(facts, var) : NULL;
        char rule[32];
        int r;

        if (!required && !forbidden)
                return 0;
        if (!json_is_array(list)) {
                snprintf(rule, sizeof(rule), "%s", var);
                return add(res, rule, false, "%s: not shown by a verified event of the firmware log", var);
        }
        snprintf(rule, sizeof(rule), "%s.required", var);
        STRV_FOREACH(h, required) {
                const char *name;

                if (!list_has_hash(list, *h, &name)) {
                        r = add(res, rule, false, "%s lacks %.16s…, which the policy requires", var, *h);
                        if (r < 0)
                                return r;
                }
        }
        if (required) {
                r = add(res, rule, true, "%s has the %zu required entries", var, strv_length(required));
                if (r < 0)
                        return r;
                /* The summary only counts when nothing above failed for this list. */
                if (res->n >= 2 && !res->r[res->n - 2].passed && streq(res->r[res->n - 2].rule, rule)) {
                        res->n--;
                        free(res->r[res->n].rule);
                        free(res->r[res->n].message);
                }
        }
        snprintf(rule, sizeof(rule), "%s.forbidden", var);
        {
                bool any = false;

                STRV_FOREACH(h, forbidden) {
                        const char *name;

                        if (list_has_hash(list, *h, &name)) {
                                any = true;
                                r = add(res, rule, false, "%s contains forbidden %s%s%s%.16s…", var,
                                        name ? "'" : "", name ?: "", name ? "' " : "", *h);
                                if (r < 0)
                                        return r;
                        }
                }
                if (forbidden && !any &&
                    (r = add(res, rule, true, "%s has none of the %zu forbidden entries", var,
                             strv_length(forbidden))) < 0)
                        return r;
        }
        return 0;
}

/* The sha256 digest of a boot application fact: { "digests": { "sha256": ... } } or { "sha256": ... }. */
static const char *app_digest(json_t *app, const char **ret_path) {
        json_t *d = json_object_get(app, "digests"), *h, *path = json_object_get(app, "path");

        *ret_path = json_is_string(path) ? json_string_value(path) : "(unknown path)";
        h = json_is_object(d) ? json_object_get(d, "sha256") : json_object_get(app, "sha256");
        return json_is_string(h) ? json_string_value(h) : NULL;
}

static int eval_digest_rule(json_t *facts, const char *key, const char *what, char **allowed, Results *res) {
        json_t *app = facts ? json_object_get(facts, key) : NULL;
        const char *digest, *path;

        if (!allowed)
                return 0;
        if (!json_is_object(app) || !(digest = app_digest(app, &path)))
                return add(res, key, false, "%s: not shown by the firmware log", what);
        STRV_FOREACH(a, allowed)
        if (strcasecmp(*a, digest) == 0)
                return add(res, key, true, "%s %s has an allowed digest", what, path);
        return add(res, key, false, "%s %s has digest %.16s…, which the policy does not allow", what, path,
                   digest);
}

/* Whether word (or, when it ends in '=', any word starting with it) is in the command line. */
static bool cmdline_has(const char *cmdline, const char *word) {
        size_t n = strlen(word);
        bool prefix = n > 0 && word[n - 1] == '=';

        for (const char *w = cmdline; *w;) {
                size_t len;

                w += strspn(w, " \t");
                len = strcspn(w, " \t");
                if (len > 0 &&
                    (prefix ? len >= n && strncmp(w, word, n) == 0 : len == n && strncmp(w, word, n) == 0))
                        return true;
                w += len;
        }
        return false;
}

static int eval_cmdline(const AttestPolicy *p, json_t *facts, Results *res) {
        json_t *v = facts ? json_object_get(facts, "kernel_cmdline") : NULL;
        const char *cmdline;
        int r;

        if (!p->has_cmdline)
                return 0;
        if (!json_is_string(v))
                return add(res, "kernel_cmdline", false, "kernel command line: not shown by the firmware log");
        cmdline = json_string_value(v);
        if (p->cmdline_equals &&
            (r = add(res, "kernel_cmdline.equals", streq(cmdline, p->cmdline_equals),
                     "kernel command line is '%.200s'%s", cmdline,
                     streq(cmdline, p->cmdline_equals) ? "" : ", not the expected one")) < 0)
                return r;
        STRV_FOREACH(w, p->cmdline_required)
        if ((r = add(res, "kernel_cmdline.required", cmdline_has(cmdline, *w), "'%s' %s the kernel command line",
                     *w, cmdline_has(cmdline, *w) ? "is on" : "is missing from")) < 0)
                return r;
        STRV_FOREACH(w, p->cmdline_forbidden)
        if ((r = add(res, "kernel_cmdline.forbidden", !cmdline_has(cmdline, *w),
                     "forbidden '%s' %s the kernel command line", *w,
                     cmdline_has(cmdline, *w) ? "is on" : "is not on")) < 0)
                return r;
        return 0;
}

static int ima_allow_find(const void *key, const void *e) {
        return strcmp(key, ((const ImaAllow *) e)->path);
}

static bool ima_excluded(const AttestPolicy *p, const char *path) {
        STRV_FOREACH(x, p->ima_exclude)
        if (startswith(path, *x))
                return true;
        return false;
}

static int eval_ima(const AttestPolicy *p, const ImaLog *ima, Results *res) {
        size_t violations = 0, checked = 0;
        int r;

        if (!p->has_ima)
                return 0;
        if (!ima)
                return add(res, "ima", false, "IMA log: not in the evidence");

        for (size_t i = 0; i < ima->n_entries; i++) {
                const ImaEntry *e = ima->entries + i;
                const ImaAllow *a;
                _cleanup_free_ char *hex = NULL, *digest = NULL;
                const char *why = NULL;

                if (!e->name || streq(e->name, "boot_aggregate") || ima_excluded(p, e->name))
                        continue;
                checked++;
                if (e->violation)
                        why = "was measured while open for writing (IMA violation)";
                else {
                        a = bsearch(e->name, p->ima_allow, p->n_ima_allow, sizeof(ImaAllow), ima_allow_find);
                        if (!a) {
                                if (!p->ima_unknown_ignore)
                                        why = "is not in the allow-list";
                        } else {
                                if (hexmem(e->digest, e->digest_size, &hex) < 0 ||
                                    asprintf(&digest, "%s:%s", e->digest_algo, hex) < 0)
                                        return -ENOMEM;
                                if (!strv_contains(a->digests, digest))
                                        why = "has a digest the allow-list does not list";
                        }
                }
                if (!why)
                        continue;
                if (violations++ < IMA_VIOLATIONS_REPORTED &&
                    (r = add(res, "ima.allow", false, "%.256s %s (IMA entry %" PRIu64 ")", e->name, why,
                             e->index)) < 0)
                        return r;
        }
        if (violations > IMA_VIOLATIONS_REPORTED)
                return add(res, "ima.allow", false, "%zu more IMA violations",
                           violations - IMA_VIOLATIONS_REPORTED);
        if (violations == 0)
                return add(res, "ima.allow", true, "%zu measured files match the allow-list", checked);
        return 0;
}

int attest_policy_evaluate(const AttestPolicy *p, const AttestPolicyInput *in, AttestPolicyResult **ret,
                           size_t *ret_n) {
        Results res = {};
        int r;

        assert(p);
        assert(in);
        assert(ret);
        assert(ret_n);

        r = eval_pcrs(p, in, &res);
        if (r >= 0)
                r = eval_bool_fact(in->facts, "secure_boot", p->secure_boot, "Secure Boot", &res);
        if (r >= 0)
                r = eval_bool_fact(in->facts, "setup_mode", p->setup_mode, "setup mode", &res);
        if (r >= 0)
                r = eval_sigs(in->facts, "db", p->db_required, p->db_forbidden, &res);
        if (r >= 0)
                r = eval_sigs(in->facts, "dbx", p->dbx_required, p->dbx_forbidden, &res);
        if (r >= 0)
                r = eval_digest_rule(in->facts, "boot_loader", "boot loader", p->boot_loaders, &res);
        if (r >= 0)
                r = eval_digest_rule(in->facts, "kernel", "kernel", p->kernels, &res);
        if (r >= 0)
                r = eval_cmdline(p, in->facts, &res);
        if (r >= 0)
                r = eval_ima(p, in->ima, &res);
        if (r >= 0 && p->forced_empty)
                r = add(&res, "policy", true, "the policy checks nothing (accepted because of \"force\")");
        if (r < 0) {
                attest_policy_results_free(res.r, res.n);
                return r;
        }
        *ret = res.r;
        *ret_n = res.n;
        return res.failed;
}

/* ---- learning ---- */

static int learn_digest(json_t *facts, const char *key, json_t *policy, const char *policy_key) {
        json_t *app = json_object_get(facts, key);
        const char *digest, *path;

        if (!json_is_object(app) || !(digest = app_digest(app, &path)))
                return 0;
        return json_object_set_new(policy, policy_key, json_pack("[s]", digest)) < 0 ? -ENOMEM : 1;
}

int attest_policy_learn(const Tpm2PcrValue *pcrs, size_t n_pcrs, json_t *facts, json_t **ret) {
        _cleanup_(json_decrefp) json_t *policy = NULL, *values = NULL;
        bool learned = false;
        json_t *v;
        int r;

        assert(pcrs || n_pcrs == 0);
        assert(ret);

        policy = json_pack("{s:i}", "version", 1);
        values = json_object();
        if (!policy || !values)
                return -ENOMEM;
        for (size_t i = 0; i < n_pcrs; i++) {
                _cleanup_free_ char *hex = NULL;
                json_t *bank;
                char index[16];

                if (pcrs[i].index >= TPM2_PCRS_MAX || pcrs[i].size > sizeof(pcrs[i].digest) ||
                    streq(attest_policy_bank_name(pcrs[i].bank), "?"))
                        return -EINVAL;
                if (hexmem(pcrs[i].digest, pcrs[i].size, &hex) < 0)
                        return -ENOMEM;
                bank = json_object_get(values, attest_policy_bank_name(pcrs[i].bank));
                if (!bank) {
                        bank = json_object();
                        if (!bank ||
                            json_object_set_new(values, attest_policy_bank_name(pcrs[i].bank), bank) < 0)
                                return -ENOMEM;
                }
                snprintf(index, sizeof(index), "%u", pcrs[i].index);
                if (json_object_set_new(bank, index, json_string(hex)) < 0)
                        return -ENOMEM;
                learned = true;
        }
        if (json_object_size(values) > 0 && json_object_set(policy, "pcrs", values) < 0)
                return -ENOMEM;

        if (facts) {
                if (json_is_boolean(v = json_object_get(facts, "secure_boot"))) {
                        if (json_object_set(policy, "secure_boot", v) < 0)
                                return -ENOMEM;
                        learned = true;
                }
                if (json_is_boolean(v = json_object_get(facts, "setup_mode"))) {
                        if (json_object_set(policy, "setup_mode", v) < 0)
                                return -ENOMEM;
                        learned = true;
                }
                r = learn_digest(facts, "boot_loader", policy, "boot_loaders");
                if (r < 0)
                        return r;
                learned = learned || r > 0;
                r = learn_digest(facts, "kernel", policy, "kernels");
                if (r < 0)
                        return r;
                learned = learned || r > 0;
                if (json_is_string(v = json_object_get(facts, "kernel_cmdline"))) {
                        if (json_object_set_new(policy, "kernel_cmdline", json_pack("{s:O}", "equals", v)) < 0)
                                return -ENOMEM;
                        learned = true;
                }
        }
        if (!learned)
                return -ENODATA;
        *ret = TAKE_PTR(policy);
        return 0;
}
