/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest/attest-policy-internal.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/json-util.h"

/* ---- errors ---- */

typedef struct Parser {
        AttestPolicyError *error;
} Parser;

static int fail(Parser *p, int r, const char *path, const char *format, ...) _printf_(4, 5);
static int fail(Parser *p, int r, const char *path, const char *format, ...) {
        char what[200];
        va_list ap;

        va_start(ap, format);
        vsnprintf(what, sizeof(what), format, ap);
        va_end(ap);
        log_debug("Policy: %s: %s", path, what);
        if (p->error) {
                snprintf(p->error->path, sizeof(p->error->path), "%s", path);
                snprintf(p->error->message, sizeof(p->error->message), "%s: %s", path, what);
        }
        return r;
}

/* ---- banks ---- */

static const struct {
        const char *name;
        uint16_t alg;
        size_t size;
} banks[] = {
        { "sha1", TPM2_ALG_SHA1, 20 },       { "sha256", TPM2_ALG_SHA256, 32 },
        { "sha384", TPM2_ALG_SHA384, 48 },   { "sha512", TPM2_ALG_SHA512, 64 },
        { "sm3_256", TPM2_ALG_SM3_256, 32 },
};

static int bank_lookup(const char *name, uint16_t *ret_alg, size_t *ret_size) {
        for (size_t i = 0; i < ELEMENTSOF(banks); i++)
                if (streq(banks[i].name, name)) {
                        *ret_alg = banks[i].alg;
                        *ret_size = banks[i].size;
                        return 0;
                }
        return -EINVAL;
}

const char *attest_policy_bank_name(uint16_t alg) {
        for (size_t i = 0; i < ELEMENTSOF(banks); i++)
                if (banks[i].alg == alg)
                        return banks[i].name;
        return "?";
}

/* ---- parsing helpers ---- */

static int check_keys(Parser *p, json_t *o, const char *path, const char *const *allowed) {
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v) {
                bool ok = false;

                for (const char *const *a = allowed; *a && !ok; a++)
                        ok = streq(*a, key);
                if (!ok)
                        return fail(p, -EINVAL, path, "unknown key \"%.64s\"", key);
        }
        return 0;
}

static int parse_bool(Parser *p, json_t *v, const char *path, int *ret) {
        if (!json_is_boolean(v))
                return fail(p, -EBADMSG, path, "must be true or false");
        *ret = json_is_true(v);
        return 0;
}

/* A string that is safe to keep and print: no control characters, bounded. */
static int parse_string(Parser *p, json_t *v, const char *path, size_t max, const char **ret) {
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return fail(p, -EBADMSG, path, "must be a string");
        s = json_string_value(v);
        n = json_string_length(v);
        if (n > max)
                return fail(p, -E2BIG, path, "longer than %zu bytes", max);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return fail(p, -EBADMSG, path, "contains a control character");
        *ret = s;
        return 0;
}

/* A hex digest of exactly size bytes (0: sha1..sha512 sizes), normalised to lower case. */
static int parse_hex(Parser *p, json_t *v, const char *path, size_t size, char **ret) {
        const char *s;
        char *c;
        size_t n;
        int r;

        r = parse_string(p, v, path, 2 * 64, &s);
        if (r < 0)
                return r;
        n = strlen(s);
        if (strspn(s, "0123456789abcdefABCDEF") != n || n % 2 != 0)
                return fail(p, -EBADMSG, path, "not a hex digest");
        if (size ? n != 2 * size : !IN_SET(n, 40U, 64U, 96U, 128U))
                return fail(p, -EINVAL, path, "a digest of %zu bytes, expected %zu", n / 2,
                            size ?: (size_t) 32);
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        for (char *x = c; *x; x++)
                *x = (char) tolower((unsigned char) *x);
        *ret = c;
        return 0;
}

static int parse_hex_list(Parser *p, json_t *v, const char *path, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(v))
                return fail(p, -EBADMSG, path, "must be a list");
        if (json_array_size(v) > ATTEST_POLICY_LIST_MAX)
                return fail(p, -E2BIG, path, "more than %u entries", ATTEST_POLICY_LIST_MAX);
        if (json_array_size(v) == 0)
                return fail(p, -EINVAL, path, "an empty list allows nothing; remove the rule instead");
        json_array_foreach(v, i, e) {
                _cleanup_free_ char *h = NULL;
                char sub[128];

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                r = parse_hex(p, e, sub, 32, &h);
                if (r < 0)
                        return r;
                if (strv_contains(l, h))
                        return fail(p, -EINVAL, sub, "listed twice");
                if (strv_extend(&l, h) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_string_list(Parser *p, json_t *v, const char *path, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(v))
                return fail(p, -EBADMSG, path, "must be a list");
        if (json_array_size(v) > ATTEST_POLICY_LIST_MAX)
                return fail(p, -E2BIG, path, "more than %u entries", ATTEST_POLICY_LIST_MAX);
        json_array_foreach(v, i, e) {
                const char *s;
                char sub[128];

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                r = parse_string(p, e, sub, ATTEST_POLICY_STRING_MAX, &s);
                if (r < 0)
                        return r;
                if (isempty(s) || strchr(s, ' '))
                        return fail(p, -EINVAL, sub, "must be one non-empty word");
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_pcr_index(Parser *p, const char *s, const char *path, uint32_t *ret) {
        if (safe_atou32(s, ret) < 0 || *ret >= TPM2_PCRS_MAX || (s[0] == '0' && s[1]))
                return fail(p, -EINVAL, path, "\"%.16s\" is not a PCR index 0..%u", s, TPM2_PCRS_MAX - 1);
        return 0;
}

static int pcr_expect_compare(const void *a, const void *b) {
        const PcrExpect *x = a, *y = b;

        if (x->bank != y->bank)
                return x->bank < y->bank ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_pcrs(Parser *p, AttestPolicy *pol, json_t *v) {
        const char *bank;
        json_t *values;
        int r;

        if (!json_is_object(v))
                return fail(p, -EBADMSG, "pcrs", "must be an object of banks");
        json_object_foreach(v, bank, values) {
                const char *index;
                json_t *hex;
                uint16_t alg;
                size_t size;
                char path[128];

                snprintf(path, sizeof(path), "pcrs.%.16s", bank);
                if (bank_lookup(bank, &alg, &size) < 0)
                        return fail(p, -EINVAL, path, "unknown bank (sha1, sha256, sha384, sha512, sm3_256)");
                if (!json_is_object(values))
                        return fail(p, -EBADMSG, path, "must be an object of PCR index to hex value");
                json_object_foreach(values, index, hex) {
                        _cleanup_free_ char *h = NULL;
                        _cleanup_free_ void *bin = NULL;
                        size_t n;
                        PcrExpect *e;
                        char sub[128];

                        snprintf(sub, sizeof(sub), "pcrs.%.16s.\"%.16s\"", bank, index);
                        e = reallocarray(pol->pcrs, pol->n_pcrs + 1, sizeof(PcrExpect));
                        if (!e)
                                return -ENOMEM;
                        pol->pcrs = e;
                        e = pol->pcrs + pol->n_pcrs;
                        *e = (PcrExpect){ .bank = alg, .size = size };
                        r = parse_pcr_index(p, index, sub, &e->index);
                        if (r < 0)
                                return r;
                        r = parse_hex(p, hex, sub, size, &h);
                        if (r < 0)
                                return r;
                        if (unhexmem(h, SIZE_MAX, &bin, &n) < 0 || n != size)
                                return fail(p, -EBADMSG, sub, "not a hex digest");
                        memcpy(e->digest, bin, size);
                        pol->n_pcrs++;
                }
        }
        /* The rules are evaluated, and their results shown, in PCR order: the keys of a JSON object come
         * as written, and a policy with sorted keys ("tpctl policy learn") has "11" between "1" and "2". */
        if (pol->n_pcrs > 1)
                qsort(pol->pcrs, pol->n_pcrs, sizeof(PcrExpect), pcr_expect_compare);
        return 0;
}

static uint32_t *quote_slot(AttestPolicy *pol, uint16_t bank) {
        for (size_t i = 0; i < pol->n_quote; i++)
                if (pol->quote[i].bank == bank)
                        return &pol->quote[i].mask;
        if (pol->n_quote >= BANKS_MAX)
                return NULL;
        pol->quote[pol->n_quote].bank = bank;
        pol->quote[pol->n_quote].mask = 0;
        return &pol->quote[pol->n_quote++].mask;
}

static int parse_quote(Parser *p, AttestPolicy *pol, json_t *v) {
        const char *bank;
        json_t *list;

        if (!json_is_object(v))
                return fail(p, -EBADMSG, "quote", "must be an object of banks");
        json_object_foreach(v, bank, list) {
                uint32_t *mask;
                uint16_t alg;
                size_t size, i;
                json_t *e;
                char path[128];

                snprintf(path, sizeof(path), "quote.%.16s", bank);
                if (bank_lookup(bank, &alg, &size) < 0)
                        return fail(p, -EINVAL, path, "unknown bank");
                if (!json_is_array(list) || json_array_size(list) == 0)
                        return fail(p, -EBADMSG, path, "must be a non-empty list of PCR indexes");
                mask = quote_slot(pol, alg);
                if (!mask)
                        return -E2BIG;
                json_array_foreach(list, i, e) {
                        json_int_t x;

                        if (!json_is_integer(e))
                                return fail(p, -EBADMSG, path, "entry %zu is not a PCR index", i);
                        x = json_integer_value(e);
                        if (x < 0 || x >= (json_int_t) TPM2_PCRS_MAX)
                                return fail(p, -EINVAL, path, "PCR %lld is out of range 0..%u",
                                            (long long) x, TPM2_PCRS_MAX - 1);
                        *mask |= UINT32_C(1) << x;
                }
        }
        return 0;
}

static int parse_sig_rules(Parser *p, json_t *v, const char *name, char ***ret_required,
                           char ***ret_forbidden) {
        static const char *const keys[] = { "required", "forbidden", NULL };
        char path[64];
        json_t *x;
        int r;

        if (!json_is_object(v))
                return fail(p, -EBADMSG, name, "must be an object with \"required\" and/or \"forbidden\"");
        r = check_keys(p, v, name, keys);
        if (r < 0)
                return r;
        if ((x = json_object_get(v, "required"))) {
                snprintf(path, sizeof(path), "%s.required", name);
                r = parse_hex_list(p, x, path, ret_required);
                if (r < 0)
                        return r;
        }
        if ((x = json_object_get(v, "forbidden"))) {
                snprintf(path, sizeof(path), "%s.forbidden", name);
                r = parse_hex_list(p, x, path, ret_forbidden);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_cmdline(Parser *p, AttestPolicy *pol, json_t *v) {
        static const char *const keys[] = { "equals", "required", "forbidden", NULL };
        const char *s;
        json_t *x;
        int r;

        if (!json_is_object(v))
                return fail(p, -EBADMSG, "kernel_cmdline", "must be an object");
        r = check_keys(p, v, "kernel_cmdline", keys);
        if (r < 0)
                return r;
        if (json_object_size(v) == 0)
                return fail(p, -EINVAL, "kernel_cmdline", "has no rule");
        if ((x = json_object_get(v, "equals"))) {
                r = parse_string(p, x, "kernel_cmdline.equals", ATTEST_POLICY_STRING_MAX, &s);
                if (r < 0)
                        return r;
                pol->cmdline_equals = strdup(s);
                if (!pol->cmdline_equals)
                        return -ENOMEM;
        }
        if ((x = json_object_get(v, "required")) &&
            (r = parse_string_list(p, x, "kernel_cmdline.required", &pol->cmdline_required)) < 0)
                return r;
        if ((x = json_object_get(v, "forbidden")) &&
            (r = parse_string_list(p, x, "kernel_cmdline.forbidden", &pol->cmdline_forbidden)) < 0)
                return r;
        pol->has_cmdline = true;
        return 0;
}

static int ima_allow_cmp(const void *a, const void *b) {
        return strcmp(((const ImaAllow *) a)->path, ((const ImaAllow *) b)->path);
}

/* "sha256:<hex>" with a known algorithm and the right size. */
static int parse_ima_digest(Parser *p, json_t *v, const char *path, char **ret) {
        static const struct {
                const char *name;
                size_t size;
        } algos[] = { { "sha1", 20 }, { "sha256", 32 }, { "sha384", 48 }, { "sha512", 64 }, { "sm3", 32 } };
        _cleanup_free_ char *h = NULL;
        const char *s, *colon;
        int r;

        r = parse_string(p, v, path, 160, &s);
        if (r < 0)
                return r;
        colon = strchr(s, ':');
        if (!colon)
                return fail(p, -EBADMSG, path, "must be \"algorithm:hex\"");
        for (size_t i = 0; i < ELEMENTSOF(algos); i++)
                if (strlen(algos[i].name) == (size_t) (colon - s) &&
                    strncmp(s, algos[i].name, (size_t) (colon - s)) == 0) {
                        json_t *hex = json_string(colon + 1);

                        if (!hex)
                                return -ENOMEM;
                        r = parse_hex(p, hex, path, algos[i].size, &h);
                        json_decref(hex);
                        if (r < 0)
                                return r;
                        if (asprintf(ret, "%s:%s", algos[i].name, h) < 0)
                                return -ENOMEM;
                        return 0;
                }
        return fail(p, -EINVAL, path, "unknown digest algorithm");
}

static int parse_ima(Parser *p, AttestPolicy *pol, json_t *v) {
        static const char *const keys[] = { "allow", "exclude", "unknown", NULL };
        json_t *allow, *x;
        const char *path;
        int r;

        if (!json_is_object(v))
                return fail(p, -EBADMSG, "ima", "must be an object");
        r = check_keys(p, v, "ima", keys);
        if (r < 0)
                return r;
        allow = json_object_get(v, "allow");
        if (allow) {
                if (!json_is_object(allow))
                        return fail(p, -EBADMSG, "ima.allow", "must be an object of path to digests");
                if (json_object_size(allow) > ATTEST_POLICY_IMA_FILES_MAX)
                        return fail(p, -E2BIG, "ima.allow", "more than %u files", ATTEST_POLICY_IMA_FILES_MAX);
                pol->ima_allow = calloc(MAX(json_object_size(allow), (size_t) 1), sizeof(ImaAllow));
                if (!pol->ima_allow)
                        return -ENOMEM;
                json_object_foreach(allow, path, x) {
                        ImaAllow *a = pol->ima_allow + pol->n_ima_allow;
                        size_t i;
                        json_t *d;
                        char sub[128];

                        snprintf(sub, sizeof(sub), "ima.allow[\"%.64s\"]", path);
                        if (path[0] != '/' || strlen(path) > ATTEST_POLICY_STRING_MAX)
                                return fail(p, -EINVAL, sub, "not an absolute path");
                        for (const char *c = path; *c; c++)
                                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                        return fail(p, -EBADMSG, sub, "path with a control character");
                        if (!json_is_array(x) || json_array_size(x) == 0)
                                return fail(p, -EBADMSG, sub, "must be a non-empty list of digests");
                        if (json_array_size(x) > ATTEST_POLICY_LIST_MAX)
                                return fail(p, -E2BIG, sub, "more than %u digests", ATTEST_POLICY_LIST_MAX);
                        a->path = strdup(path);
                        if (!a->path)
                                return -ENOMEM;
                        pol->n_ima_allow++;
                        json_array_foreach(x, i, d) {
                                _cleanup_free_ char *digest = NULL;
                                char sub2[160];

                                snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, i);
                                r = parse_ima_digest(p, d, sub2, &digest);
                                if (r < 0)
                                        return r;
                                if (strv_extend(&a->digests, digest) < 0)
                                        return -ENOMEM;
                        }
                }
                qsort(pol->ima_allow, pol->n_ima_allow, sizeof(ImaAllow), ima_allow_cmp);
        }
        if ((x = json_object_get(v, "exclude"))) {
                size_t i;
                json_t *e;

                if (!json_is_array(x))
                        return fail(p, -EBADMSG, "ima.exclude", "must be a list of path prefixes");
                if (json_array_size(x) > ATTEST_POLICY_LIST_MAX)
                        return fail(p, -E2BIG, "ima.exclude", "more than %u entries", ATTEST_POLICY_LIST_MAX);
                json_array_foreach(x, i, e) {
                        const char *s;
                        char sub[64];

                        snprintf(sub, sizeof(sub), "ima.exclude[%zu]", i);
                        r = parse_string(p, e, sub, ATTEST_POLICY_STRING_MAX, &s);
                        if (r < 0)
                                return r;
                        if (s[0] != '/')
                                return fail(p, -EINVAL, sub, "not an absolute path prefix");
                        if (strv_extend(&pol->ima_exclude, s) < 0)
                                return -ENOMEM;
                }
        }
        if ((x = json_object_get(v, "unknown"))) {
                if (!json_is_string(x) ||
                    !(streq(json_string_value(x), "deny") || streq(json_string_value(x), "ignore")))
                        return fail(p, -EINVAL, "ima.unknown", "must be \"deny\" or \"ignore\"");
                pol->ima_unknown_ignore = streq(json_string_value(x), "ignore");
        }

        /* An IMA rule that excludes everything, or ignores every file it does not list and lists none,
         * checks nothing. */
        pol->has_ima = !strv_contains(pol->ima_exclude, "/") &&
                !(pol->ima_unknown_ignore && pol->n_ima_allow == 0);
        return 0;
}

static bool policy_checks_something(const AttestPolicy *pol) {
        return pol->n_pcrs > 0 || pol->secure_boot >= 0 || pol->setup_mode >= 0 || pol->db_required ||
                pol->db_forbidden || pol->dbx_required || pol->dbx_forbidden || pol->boot_loaders ||
                pol->kernels || pol->has_cmdline || pol->has_ima;
}

int attest_policy_parse(const char *text, size_t size, AttestPolicy **ret, AttestPolicyError *ret_error) {
        static const char *const keys[] = {
                "version",      "pcrs",    "quote",          "secure_boot", "setup_mode", "db", "dbx",
                "boot_loaders", "kernels", "kernel_cmdline", "ima",         "force",      NULL
        };
        _cleanup_(attest_policy_freep) AttestPolicy *pol = NULL;
        _cleanup_(json_decrefp) json_t *root = NULL;
        Parser p = { .error = ret_error };
        int force = false, r;
        json_t *v;

        assert(text || size == 0);
        assert(ret);

        if (ret_error)
                *ret_error = (AttestPolicyError){};
        if (size > ATTEST_POLICY_SIZE_MAX)
                return fail(&p, -E2BIG, "policy", "larger than %u bytes", ATTEST_POLICY_SIZE_MAX);
        r = json_parse_strict(text, size, &root);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_is_object(root))
                return fail(&p, r == -E2BIG ? -E2BIG : -EBADMSG, "policy",
                            "not a JSON object (or a duplicate key, or nested too deeply)");
        r = check_keys(&p, root, "policy", keys);
        if (r < 0)
                return r;

        v = json_object_get(root, "version");
        if (!v)
                return fail(&p, -EBADMSG, "version", "missing (1)");
        if (!json_is_integer(v) || json_integer_value(v) != 1)
                return fail(&p, -EINVAL, "version", "unsupported (this is version 1)");

        pol = calloc(1, sizeof(AttestPolicy));
        if (!pol)
                return -ENOMEM;
        pol->secure_boot = pol->setup_mode = -1;

        if ((v = json_object_get(root, "pcrs")) && (r = parse_pcrs(&p, pol, v)) < 0)
                return r;
        if ((v = json_object_get(root, "quote")) && (r = parse_quote(&p, pol, v)) < 0)
                return r;
        if ((v = json_object_get(root, "secure_boot")) &&
            (r = parse_bool(&p, v, "secure_boot", &pol->secure_boot)) < 0)
                return r;
        if ((v = json_object_get(root, "setup_mode")) &&
            (r = parse_bool(&p, v, "setup_mode", &pol->setup_mode)) < 0)
                return r;
        if ((v = json_object_get(root, "db")) &&
            (r = parse_sig_rules(&p, v, "db", &pol->db_required, &pol->db_forbidden)) < 0)
                return r;
        if ((v = json_object_get(root, "dbx")) &&
            (r = parse_sig_rules(&p, v, "dbx", &pol->dbx_required, &pol->dbx_forbidden)) < 0)
                return r;
        if ((v = json_object_get(root, "boot_loaders")) &&
            (r = parse_hex_list(&p, v, "boot_loaders", &pol->boot_loaders)) < 0)
                return r;
        if ((v = json_object_get(root, "kernels")) && (r = parse_hex_list(&p, v, "kernels", &pol->kernels)) < 0)
                return r;
        if ((v = json_object_get(root, "kernel_cmdline")) && (r = parse_cmdline(&p, pol, v)) < 0)
                return r;
        if ((v = json_object_get(root, "ima")) && (r = parse_ima(&p, pol, v)) < 0)
                return r;
        if ((v = json_object_get(root, "force")) && (r = parse_bool(&p, v, "force", &force)) < 0)
                return r;

        /* Every PCR with an expected value is quoted. */
        for (size_t i = 0; i < pol->n_pcrs; i++) {
                uint32_t *mask;

                for (size_t j = 0; j < i; j++)
                        if (pol->pcrs[j].bank == pol->pcrs[i].bank && pol->pcrs[j].index == pol->pcrs[i].index)
                                return fail(&p, -EINVAL, "pcrs", "PCR %u of %s listed twice",
                                            pol->pcrs[i].index, attest_policy_bank_name(pol->pcrs[i].bank));
                mask = quote_slot(pol, pol->pcrs[i].bank);
                if (!mask)
                        return -E2BIG;
                *mask |= UINT32_C(1) << pol->pcrs[i].index;
        }

        if (!policy_checks_something(pol)) {
                if (!force)
                        return fail(&p, -EDOM, "policy",
                                    "checks nothing and would accept every machine; set \"force\": true to accept "
                                    "that knowingly");
                pol->forced_empty = true;
        }

        *ret = TAKE_PTR(pol);
        return 0;
}

AttestPolicy *attest_policy_free(AttestPolicy *p) {
        if (!p)
                return NULL;
        free(p->pcrs);
        strv_free(p->db_required);
        strv_free(p->db_forbidden);
        strv_free(p->dbx_required);
        strv_free(p->dbx_forbidden);
        strv_free(p->boot_loaders);
        strv_free(p->kernels);
        free(p->cmdline_equals);
        strv_free(p->cmdline_required);
        strv_free(p->cmdline_forbidden);
        for (size_t i = 0; i < p->n_ima_allow; i++) {
                free(p->ima_allow[i].path);
                strv_free(p->ima_allow[i].digests);
        }
        free(p->ima_allow);
        strv_free(p->ima_exclude);
        free(p);
        return NULL;
}

bool attest_policy_has_ima(const AttestPolicy *p) {
        return p && p->has_ima;
}

bool attest_policy_checks_nothing(const AttestPolicy *p) {
        return p && p->forced_empty;
}

uint32_t attest_policy_quote_mask(const AttestPolicy *p, uint16_t bank) {
        for (size_t i = 0; p && i < p->n_quote; i++)
                if (p->quote[i].bank == bank)
                        return p->quote[i].mask;
        return 0;
}
