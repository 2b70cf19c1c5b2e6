/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/core_names.h>
#include <inttypes.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>

#include "attest/attest-verdict.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/json-util.h"
#include "shared/openssl-util.h"

static int refuse(char *reason, size_t size, int r, const char *format, ...) _printf_(4, 5);
static int refuse(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
                log_debug("Remote verdict refused: %s", reason);
        }
        return r;
}

void attest_verdict_done(AttestVerdict *v) {
        if (!v)
                return;
        free(v->issuer);
        free(v->subject);
        strv_free(v->reasons);
        *v = (AttestVerdict){};
}

/* base64url without padding (RFC 7515 2), strictly: no padding, no other characters. */
static int unbase64url(const char *s, size_t n, void **ret, size_t *ret_size) {
        _cleanup_free_ char *b = NULL;
        size_t m;

        if (n % 4 == 1)
                return -EBADMSG;
        m = n + (4 - n % 4) % 4;
        b = malloc(m + 1);
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '-')
                        c = '+';
                else if (c == '_')
                        c = '/';
                else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                        return -EBADMSG;
                b[i] = c;
        }
        for (size_t i = n; i < m; i++)
                b[i] = '=';
        b[m] = 0;
        return unbase64mem(b, m, ret, ret_size) < 0 ? -EBADMSG : 0;
}

static int decode_json(const char *s, size_t n, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ void *raw = NULL;
        size_t size;
        int r;

        r = unbase64url(s, n, &raw, &size);
        if (r < 0)
                return r;
        r = json_parse_strict(raw, size, &o);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_is_object(o))
                return -EBADMSG;
        *ret = TAKE_PTR(o);
        return 0;
}

/* An ES256 signature (R||S, 32 bytes each) over data with key. 1: verifies, 0: does not. */
static int verify_es256(EVP_PKEY *key, const char *data, size_t size, const uint8_t sig[static 64]) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *s = ECDSA_SIG_new();
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
        int n, k;

        if (!s || !ctx || !r || !ss) {
                BN_free(r);
                BN_free(ss);
                return -ENOMEM;
        }
        if (ECDSA_SIG_set0(s, r, ss) != 1) {
                BN_free(r);
                BN_free(ss);
                return -ENOMEM;
        }
        n = i2d_ECDSA_SIG(s, &der);
        if (n <= 0)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
                return openssl_errno();
        k = EVP_DigestVerify(ctx, der, (size_t) n, (const unsigned char *) data, size);
        ERR_clear_error();
        return k == 1;
}

static bool key_is_p256(EVP_PKEY *key) {
        char group[32];

        return key && EVP_PKEY_is_a(key, "EC") &&
                EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ==
                1 &&
                (streq(group, "prime256v1") || streq(group, "P-256"));
}

/* Text we may log and show: no control characters, at most max bytes. */
static bool printable(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

/* A NumericDate claim: 0 when absent, -EBADMSG when not a non-negative integer. */
static int get_time(json_t *claims, const char *name, uint64_t *ret) {
        json_t *v = json_object_get(claims, name);

        *ret = 0;
        if (!v)
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EBADMSG;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int get_string(json_t *claims, const char *name, char **ret) {
        json_t *v = json_object_get(claims, name);

        *ret = NULL;
        if (!v)
                return 0;
        if (!json_is_string(v) || !printable(json_string_value(v), 256))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static bool audience_matches(json_t *aud, const char *audience) {
        size_t i;
        json_t *a;

        if (json_is_string(aud))
                return streq(json_string_value(aud), audience);
        json_array_foreach(aud, i,
                           a) if (json_is_string(a) && streq(json_string_value(a), audience)) return true;
        return false;
}

int attest_verdict_verify(const char *jws, size_t size, EVP_PKEY *const *keys, size_t n_keys,
                          const char *audience, uint64_t now, AttestVerdict *ret, char *reason,
                          size_t reason_size) {
        _cleanup_(json_decrefp) json_t *header = NULL, *claims = NULL;
        _cleanup_free_ void *sig = NULL;
        _cleanup_(attest_verdict_done) AttestVerdict v = {};
        const char *dot1, *dot2, *alg, *verdict;
        size_t sig_size, i;
        json_t *x, *e;
        bool ok = false;
        int r;

        assert(jws || size == 0);
        assert(keys || n_keys == 0);
        assert(audience);
        assert(ret);

        if (n_keys == 0)
                return refuse(reason, reason_size, -EINVAL, "no verifier key is configured as trusted");
        for (i = 0; i < n_keys; i++)
                if (!key_is_p256(keys[i]))
                        return refuse(reason, reason_size, -EINVAL,
                                      "verifier key %zu is not an EC P-256 key", i);
        if (size > ATTEST_VERDICT_SIZE_MAX)
                return refuse(reason, reason_size, -E2BIG, "larger than %u bytes", ATTEST_VERDICT_SIZE_MAX);

        dot1 = memchr(jws, '.', size);
        dot2 = dot1 ? memchr(dot1 + 1, '.', size - (size_t) (dot1 + 1 - jws)) : NULL;
        if (!dot2 || memchr(dot2 + 1, '.', size - (size_t) (dot2 + 1 - jws)))
                return refuse(reason, reason_size, -EBADMSG, "not a compact JWS (three base64url parts)");

        r = decode_json(jws, (size_t) (dot1 - jws), &header);
        if (r < 0)
                return refuse(reason, reason_size, r, "the JWS header is not base64url JSON");
        x = json_object_get(header, "alg");
        if (!json_is_string(x))
                return refuse(reason, reason_size, -EBADMSG, "the JWS header has no alg");
        alg = json_string_value(x);
        if (!streq(alg, "ES256"))
                return refuse(reason, reason_size, -EPROTONOSUPPORT,
                              "alg \"%.16s\" is not accepted (only ES256)", alg);
        if (json_object_get(header, "crit"))
                return refuse(reason, reason_size, -EPROTONOSUPPORT,
                              "critical header extensions are not supported");

        r = unbase64url(dot2 + 1, size - (size_t) (dot2 + 1 - jws), &sig, &sig_size);
        if (r < 0)
                return refuse(reason, reason_size, r, "the signature is not base64url");
        if (sig_size != 64)
                return refuse(reason, reason_size, -EKEYREJECTED, "an ES256 signature has 64 bytes, not %zu",
                              sig_size);
        for (i = 0; i < n_keys && !ok; i++) {
                r = verify_es256(keys[i], jws, (size_t) (dot2 - jws), sig);
                if (r < 0)
                        return r;
                ok = r > 0;
        }
        if (!ok)
                return refuse(reason, reason_size, -EKEYREJECTED,
                              "the signature verifies with no trusted verifier key");

        /* Only a signed payload is looked at. */
        r = decode_json(dot1 + 1, (size_t) (dot2 - dot1 - 1), &claims);
        if (r < 0)
                return refuse(reason, reason_size, r, "the JWS payload is not base64url JSON");

        if (get_time(claims, "exp", &v.expires) < 0 || get_time(claims, "nbf", &v.not_before) < 0 ||
            get_time(claims, "iat", &v.issued_at) < 0)
                return refuse(reason, reason_size, -EBADMSG, "exp, nbf and iat must be NumericDates");
        if (v.expires == 0)
                return refuse(reason, reason_size, -EKEYEXPIRED, "the verdict has no expiry (exp)");
        if (v.expires <= now)
                return refuse(reason, reason_size, -EKEYEXPIRED, "the verdict expired %" PRIu64 " s ago",
                              now - v.expires);
        if (v.not_before > now + ATTEST_VERDICT_SKEW_SEC || v.issued_at > now + ATTEST_VERDICT_SKEW_SEC)
                return refuse(reason, reason_size, -EKEYEXPIRED,
                              "the verdict is not valid yet (nbf/iat in the future)");
        if (v.expires - MAX(v.issued_at ?: now, v.not_before) > ATTEST_VERDICT_LIFETIME_MAX)
                return refuse(reason, reason_size, -EKEYEXPIRED, "the verdict is valid for longer than %u s",
                              ATTEST_VERDICT_LIFETIME_MAX);

        x = json_object_get(claims, "aud");
        if (!x || !audience_matches(x, audience))
                return refuse(reason, reason_size, -EACCES, "the verdict is not for audience \"%.64s\"",
                              audience);

        x = json_object_get(claims, "verdict");
        verdict = json_is_string(x) ? json_string_value(x) : NULL;
        if (!verdict || !(streq(verdict, "trusted") || streq(verdict, "untrusted")))
                return refuse(reason, reason_size, -EBADMSG, "verdict must be \"trusted\" or \"untrusted\"");
        v.trusted = streq(verdict, "trusted");

        if (get_string(claims, "iss", &v.issuer) < 0 || get_string(claims, "sub", &v.subject) < 0)
                return refuse(reason, reason_size, -EBADMSG, "iss and sub must be short printable strings");
        x = json_object_get(claims, "reasons");
        if (x) {
                if (!json_is_array(x))
                        return refuse(reason, reason_size, -EBADMSG, "reasons must be a list of strings");
                if (json_array_size(x) > ATTEST_VERDICT_REASONS_MAX)
                        return refuse(reason, reason_size, -E2BIG, "more than %u reasons",
                                      ATTEST_VERDICT_REASONS_MAX);
                json_array_foreach(x, i, e) {
                        if (!json_is_string(e) || !printable(json_string_value(e), 512))
                                return refuse(reason, reason_size, -EBADMSG,
                                              "reason %zu is not a short printable string", i);
                        if (strv_extend(&v.reasons, json_string_value(e)) < 0)
                                return -ENOMEM;
                }
        }

        *ret = v;
        v = (AttestVerdict){};
        return 0;
}
