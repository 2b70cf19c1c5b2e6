/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <jose/b64.h>
#include <jose/jws.h>
#include <jose/openssl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>

#include "attest/attest-verdict.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/json-util.h"
#include "shared/openssl-util.h"

/* The protected header members we accept (each a string); all others are refused. */
static const char *const header_allowed[] = { "alg", "typ", "kid", NULL };

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

static bool is_base64url(const char *s, size_t n) {
        if (n % 4 == 1)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr(JOSE_B64_MAP, s[i]) || s[i] == 0)
                        return false;
        return true;
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

/* libjose reports its errors through the configuration's handler; the default one prints to stderr, and
 * library code of ours logs at debug level only. */
static void jose_log(void *misc, const char *file, int line, uint64_t err, const char *format, va_list ap) {
        if (log_get_max_level() >= LOG_DEBUG)
                (void) log_internalv(LOG_DEBUG, 0, file, line, "libjose", format, ap);
}

/* Not jose_cfg_auto_t: libjose 11's jose_cfg_auto() dereferences a NULL configuration, so every path that
 * returns before jose_cfg() would crash. */
static void jose_cfg_unrefp(jose_cfg_t **cfg) {
        if (*cfg)
                jose_cfg_decref(*cfg);
}

/* The verifier key as the JWK libjose verifies with: only the public part, and "alg" pinned to ES256 so that
 * libjose, too, refuses any other algorithm with it. */
static int jwk_from_key(jose_cfg_t *cfg, EVP_PKEY *key, json_t **ret) {
        _cleanup_(json_decrefp) json_t *jwk = NULL;

        jwk = jose_openssl_jwk_from_EVP_PKEY(cfg, key);
        if (!jwk || !json_is_object(jwk))
                return -ENOMEM; /* the key was checked to be P-256: nothing else can fail */
        (void) json_object_del(jwk, "d");
        if (json_object_set_new(jwk, "alg", json_string("ES256")) < 0 ||
            json_object_set_new(jwk, "key_ops", json_pack("[s]", "verify")) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(jwk);
        return 0;
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
        _cleanup_(json_decrefp) json_t *header = NULL, *claims = NULL, *obj = NULL;
        _cleanup_(jose_cfg_unrefp) jose_cfg_t *cfg = NULL;
        _cleanup_free_ void *sig = NULL;
        _cleanup_(attest_verdict_done) AttestVerdict v = {};
        const char *dot1, *dot2, *alg, *verdict, *k;
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

        /* The JSON serializations (RFC 7515 7.2) could carry an unprotected "header" whose members libjose
         * merges with the protected ones ("alg" among them): only the compact form is accepted. */
        if (size > 0 && memchr("{[ \t\r\n", jws[0], 5))
                return refuse(reason, reason_size, -EBADMSG,
                              "a JWS in the JSON serialization is not accepted, only the compact form");
        dot1 = memchr(jws, '.', size);
        dot2 = dot1 ? memchr(dot1 + 1, '.', size - (size_t) (dot1 + 1 - jws)) : NULL;
        if (!dot2 || memchr(dot2 + 1, '.', size - (size_t) (dot2 + 1 - jws)))
                return refuse(reason, reason_size, -EBADMSG, "not a compact JWS (three base64url parts)");
        if (!is_base64url(dot1 + 1, (size_t) (dot2 - dot1 - 1)))
                return refuse(reason, reason_size, -EBADMSG, "the JWS payload is not base64url");

        /* The header is parsed by us, strictly (duplicate members refused: jansson would keep the last
         * "alg"), and the algorithm is pinned here, before libjose sees the token: the token never
         * chooses how it is verified. */
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
        /* Nothing else in the header may change how the token is read: no embedded or fetched keys
         * (jwk, jku, x5u, x5c), no unencoded payload (b64), no compression (zip). */
        json_object_foreach(header, k, e) {
                if (!strv_contains((char **) header_allowed, k))
                        return refuse(reason, reason_size, -EPROTONOSUPPORT,
                                      "the JWS header parameter \"%.32s\" is not accepted", k);
                if (!json_is_string(e))
                        return refuse(reason, reason_size, -EBADMSG,
                                      "the JWS header parameter \"%s\" is not a string", k);
        }

        r = unbase64url(dot2 + 1, size - (size_t) (dot2 + 1 - jws), &sig, &sig_size);
        if (r < 0)
                return refuse(reason, reason_size, r, "the signature is not base64url");
        if (sig_size != 64)
                return refuse(reason, reason_size, -EKEYREJECTED, "an ES256 signature has 64 bytes, not %zu",
                              sig_size);

        /* The flattened form libjose verifies, made from the three parts as they are (the signing input is
         * the protected header and the payload as sent), without an unprotected header. */
        cfg = jose_cfg();
        if (!cfg)
                return -ENOMEM;
        jose_cfg_set_err_func(cfg, jose_log, NULL);
        obj = json_pack("{s:s%,s:s%,s:s%}", "protected", jws, (size_t) (dot1 - jws), "payload", dot1 + 1,
                        (size_t) (dot2 - dot1 - 1), "signature", dot2 + 1, size - (size_t) (dot2 + 1 - jws));
        if (!obj)
                return -ENOMEM;
        for (i = 0; i < n_keys && !ok; i++) {
                _cleanup_(json_decrefp) json_t *jwk = NULL;

                r = jwk_from_key(cfg, keys[i], &jwk);
                if (r < 0)
                        return r;
                ok = jose_jws_ver(cfg, obj, obj, jwk, false);
        }
        ERR_clear_error();
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
