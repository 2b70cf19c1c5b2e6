/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The remote verdict (compact JWS, ES256): a valid one is accepted with its claims; an expired one,
 * one signed by another key, alg "none", HS256 keyed with the verifier's public key (the classic
 * algorithm-confusion forgery), a wrong audience and malformed tokens are refused with their reason. */

#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "attest/attest-verdict.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/openssl-util.h"

#define NOW UINT64_C(1800000000)
#define AUD "machine-1234"

static EVP_PKEY *key_a, *key_b;

static char *b64url(const void *p, size_t n) {
        char *s = NULL;

        assert_int_equal(base64mem(p, n, &s), 0);
        for (char *c = s; *c; c++)
                if (*c == '+')
                        *c = '-';
                else if (*c == '/')
                        *c = '_';
                else if (*c == '=') {
                        *c = 0;
                        break;
                }
        return s;
}

static char *b64url_str(const char *s) {
        return b64url(s, strlen(s));
}

/* header.payload signed with ECDSA over md by key (NULL: sig is used as the signature, raw). */
static char *jws_md(EVP_PKEY *key, const EVP_MD *md, const char *header, const char *payload,
                    const void *sig, size_t sig_size) {
        _cleanup_free_ char *h = b64url_str(header), *p = b64url_str(payload), *input = NULL, *s = NULL;
        uint8_t rs[64];
        char *out = NULL;

        assert_true(asprintf(&input, "%s.%s", h, p) > 0);
        if (key) {
                EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                uint8_t der[128];
                const uint8_t *d = der;
                size_t n = sizeof(der);
                ECDSA_SIG *es;

                assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
                assert_int_equal(EVP_DigestSign(ctx, der, &n, (const uint8_t *) input, strlen(input)), 1);
                EVP_MD_CTX_free(ctx);
                es = d2i_ECDSA_SIG(NULL, &d, (long) n);
                assert_non_null(es);
                assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32), 32);
                assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32), 32);
                ECDSA_SIG_free(es);
                sig = rs;
                sig_size = 64;
        }
        s = sig_size > 0 ? b64url(sig, sig_size) : strdup("");
        assert_true(asprintf(&out, "%s.%s", input, s) > 0);
        return out;
}

/* ES256 (or a raw signature). */
static char *jws(EVP_PKEY *key, const char *header, const char *payload, const void *sig, size_t sig_size) {
        return jws_md(key, EVP_sha256(), header, payload, sig, sig_size);
}

static char *claims(const char *verdict, uint64_t iat, uint64_t exp, const char *aud) {
        char *s = NULL;

        assert_true(asprintf(&s,
                             "{\"iss\": \"verifier.example.com\", \"sub\": \"" AUD
                             "\", \"aud\": %s, \"iat\": %" PRIu64 ", \"exp\": %" PRIu64
                             ", \"verdict\": \"%s\", \"reasons\": [\"PCR 7 changed: 'db' updated\"]}",
                             aud, iat, exp, verdict) > 0);
        return s;
}

static int check(const char *token, EVP_PKEY *trusted, char *reason) {
        AttestVerdict v = {};
        EVP_PKEY *keys[] = { trusted };
        int r = attest_verdict_verify(token, strlen(token), keys, 1, AUD, NOW, &v, reason, 256);

        attest_verdict_done(&v);
        return r;
}

static const char es256[] = "{\"alg\": \"ES256\", \"typ\": \"JWT\"}";

static void test_valid(void **state) {
        _cleanup_free_ char *c = claims("untrusted", NOW - 10, NOW + 600, "\"" AUD "\""),
                            *t = jws(key_a, es256, c, NULL, 0);
        EVP_PKEY *keys[] = { key_b, key_a };
        AttestVerdict v = {};
        char reason[256];

        assert_int_equal(attest_verdict_verify(t, strlen(t), keys, 2, AUD, NOW, &v, reason, sizeof(reason)),
                         0);
        assert_false(v.trusted);
        assert_string_equal(v.issuer, "verifier.example.com");
        assert_string_equal(v.subject, AUD);
        assert_int_equal(v.expires, NOW + 600);
        assert_string_equal(v.reasons[0], "PCR 7 changed: 'db' updated");
        assert_null(v.reasons[1]);
        attest_verdict_done(&v);

        /* kid and typ are accepted (and do not choose the key). */
        free(t);
        t = jws(key_a, "{\"alg\": \"ES256\", \"typ\": \"JWT\", \"kid\": \"other-key\"}", c, NULL, 0);
        assert_int_equal(attest_verdict_verify(t, strlen(t), keys, 2, AUD, NOW, &v, reason, sizeof(reason)),
                         0);
        attest_verdict_done(&v);

        /* aud as a list; trusted. */
        free(c);
        free(t);
        c = claims("trusted", NOW, NOW + 60, "[\"other\", \"" AUD "\"]");
        t = jws(key_a, es256, c, NULL, 0);
        assert_int_equal(attest_verdict_verify(t, strlen(t), keys, 2, AUD, NOW, &v, reason, sizeof(reason)),
                         0);
        assert_true(v.trusted);
        attest_verdict_done(&v);
}

static void test_refused(void **state) {
        _cleanup_free_ char *good = claims("trusted", NOW - 10, NOW + 600, "\"" AUD "\"");
        _cleanup_free_ char *pub_pem = NULL;
        char reason[256];

        {
                BIO *b = BIO_new(BIO_s_mem());
                char *d;
                long n;

                assert_int_equal(PEM_write_bio_PUBKEY(b, key_a), 1);
                n = BIO_get_mem_data(b, &d);
                pub_pem = memdup_suffix0(d, (size_t) n);
                BIO_free(b);
        }

#define REFUSED(token, err, text)                                           \
        do {                                                                \
                _cleanup_free_ char *_t = (token);                          \
                assert_int_equal(check(_t, key_a, reason), (err));          \
                if (!strstr(reason, (text)))                                \
                        fail_msg("reason '%s' lacks '%s'", reason, (text)); \
        } while (0)

        /* Expired, no exp, not yet valid, too long-lived. */
        {
                _cleanup_free_ char *c = claims("trusted", NOW - 700, NOW - 100, "\"" AUD "\"");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EKEYEXPIRED, "expired 100 s ago");
        }
        REFUSED(jws(key_a, es256, "{\"aud\": \"" AUD "\", \"verdict\": \"trusted\"}", NULL, 0), -EKEYEXPIRED,
                "no expiry");
        {
                _cleanup_free_ char *c = claims("trusted", NOW + 3600, NOW + 7200, "\"" AUD "\"");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EKEYEXPIRED, "not valid yet");
        }
        {
                _cleanup_free_ char *c = claims("trusted", NOW, NOW + 30 * 24 * 3600, "\"" AUD "\"");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EKEYEXPIRED, "valid for longer than");
        }

        /* Wrong key. */
        REFUSED(jws(key_b, es256, good, NULL, 0), -EKEYREJECTED, "verifies with no trusted verifier key");

        /* alg none, with and without a signature part. */
        REFUSED(jws(NULL, "{\"alg\": \"none\"}", good, "", 0), -EPROTONOSUPPORT,
                "alg \"none\" is not accepted");
        REFUSED(jws(NULL, "{\"alg\": \"none\"}", good, "xx", 2), -EPROTONOSUPPORT, "alg \"none\"");

        /* HS256 keyed with the verifier's public key: an attacker can compute it, so the alg is refused
         * before any key is used. */
        {
                _cleanup_free_ char *h = b64url_str("{\"alg\": \"HS256\", \"typ\": \"JWT\"}"),
                                    *p = b64url_str(good), *input = NULL, *s = NULL, *t = NULL;
                uint8_t mac[32];
                unsigned mac_len = sizeof(mac);

                assert_true(asprintf(&input, "%s.%s", h, p) > 0);
                assert_non_null(HMAC(EVP_sha256(), pub_pem, (int) strlen(pub_pem), (const uint8_t *) input,
                                     strlen(input), mac, &mac_len));
                s = b64url(mac, mac_len);
                assert_true(asprintf(&t, "%s.%s", input, s) > 0);
                REFUSED(TAKE_PTR(t), -EPROTONOSUPPORT, "alg \"HS256\" is not accepted");
        }
        REFUSED(jws(key_a, "{\"alg\": \"RS256\"}", good, NULL, 0), -EPROTONOSUPPORT, "RS256");
        /* ES384 made with the P-256 verifier key itself (a 64-byte signature over SHA-384): libjose 11 verifies
         * it even with a JWK that says "alg": "ES256" (it compares the algorithms with strcmp() < 0), so
         * only our own pin refuses it. */
        REFUSED(jws_md(key_a, EVP_sha384(), "{\"alg\": \"ES384\"}", good, NULL, 0), -EPROTONOSUPPORT,
                "alg \"ES384\" is not accepted");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"crit\": [\"exp\"]}", good, NULL, 0), -EPROTONOSUPPORT,
                "critical");

        /* Wrong audience, none. */
        {
                _cleanup_free_ char *c = claims("trusted", NOW, NOW + 60, "\"machine-9999\"");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EACCES, "not for audience \"" AUD "\"");
        }
        {
                _cleanup_free_ char *c = claims("trusted", NOW, NOW + 60, "[]");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EACCES, "audience");
        }

        /* Malformed. */
        REFUSED(strdup("abc"), -EBADMSG, "three base64url parts");
        REFUSED(strdup("a.b.c.d"), -EBADMSG, "three base64url parts");
        REFUSED(strdup("!!!.e30.AA"), -EBADMSG, "header is not base64url JSON");
        REFUSED(jws(key_a, "[1]", good, NULL, 0), -EBADMSG, "header is not base64url JSON");
        REFUSED(jws(key_a, "{\"typ\": \"JWT\"}", good, NULL, 0), -EBADMSG, "has no alg");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"alg\": \"none\"}", good, NULL, 0), -EBADMSG, "header");
        REFUSED(jws(NULL, es256, good, "short", 5), -EKEYREJECTED, "64 bytes, not 5");
        REFUSED(jws(key_a, es256, "not json", NULL, 0), -EBADMSG, "payload is not base64url JSON");
        {
                _cleanup_free_ char *c = claims("maybe", NOW, NOW + 60, "\"" AUD "\"");
                REFUSED(jws(key_a, es256, c, NULL, 0), -EBADMSG, "verdict must be");
        }
        REFUSED(jws(key_a, es256, "{\"aud\": \"" AUD "\", \"exp\": \"soon\", \"verdict\": \"trusted\"}",
                    NULL, 0),
                -EBADMSG, "NumericDates");
        REFUSED(jws(key_a, es256,
                    "{\"aud\": \"" AUD "\", \"exp\": 1800000060, \"verdict\": \"trusted\", \"reasons\": [1]}",
                    NULL, 0),
                -EBADMSG, "reason 0");
        {
                _cleanup_free_ char *big = malloc(ATTEST_VERDICT_SIZE_MAX + 2);
                assert_non_null(big);
                memset(big, 'A', ATTEST_VERDICT_SIZE_MAX + 1);
                big[ATTEST_VERDICT_SIZE_MAX + 1] = 0;
                REFUSED(TAKE_PTR(big), -E2BIG, "larger than");
        }
        /* Header parameters that would let the token pick its key or change how it is read, whether or not
         * libjose would act on them: refused before any key is used. */
        {
                _cleanup_free_ char *jwk_hdr = NULL;

                assert_true(asprintf(&jwk_hdr,
                                     "{\"alg\": \"ES256\", \"jwk\": {\"kty\": \"EC\", \"crv\": \"P-256\", "
                                     "\"x\": \"%s\", \"y\": \"%s\"}}",
                                     "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                     "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0") > 0);
                REFUSED(jws(key_b, jwk_hdr, good, NULL, 0), -EPROTONOSUPPORT, "parameter \"jwk\"");
        }
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"jku\": \"https://evil.example/keys\"}", good, NULL, 0),
                -EPROTONOSUPPORT, "parameter \"jku\"");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"x5u\": \"https://evil.example/cert\"}", good, NULL, 0),
                -EPROTONOSUPPORT, "parameter \"x5u\"");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"x5c\": [\"MIIB\"]}", good, NULL, 0), -EPROTONOSUPPORT,
                "parameter \"x5c\"");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"b64\": false}", good, NULL, 0), -EPROTONOSUPPORT,
                "parameter \"b64\"");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"zip\": \"DEF\"}", good, NULL, 0), -EPROTONOSUPPORT,
                "parameter \"zip\"");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"typ\": 1}", good, NULL, 0), -EBADMSG,
                "\"typ\" is not a string");
        /* Duplicate members: a lenient parser keeps the last one, so "alg" could be two things at once. */
        REFUSED(jws(key_a, "{\"alg\": \"none\", \"alg\": \"ES256\"}", good, NULL, 0), -EBADMSG, "header");
        REFUSED(jws(key_a, "{\"alg\": \"ES256\", \"kid\": \"a\", \"kid\": \"b\"}", good, NULL, 0), -EBADMSG,
                "header");
        /* The JSON serializations (flattened and general), where "alg" can sit in the unprotected header and
         * the protected one can be absent, even when the signature is good. */
        {
                _cleanup_free_ char *t = jws(key_a, es256, good, NULL, 0), *flat = NULL, *general = NULL,
                                    *unprot = NULL;
                char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');

                assert_true(asprintf(&flat,
                                     "{\"protected\": \"%.*s\", \"payload\": \"%.*s\", \"signature\": \"%s\"}",
                                     (int) (d1 - t), t, (int) (d2 - d1 - 1), d1 + 1, d2 + 1) > 0);
                REFUSED(TAKE_PTR(flat), -EBADMSG, "JSON serialization");
                assert_true(asprintf(&general,
                                     "  {\"payload\": \"%.*s\", \"signatures\": [{\"protected\": \"%.*s\", "
                                     "\"signature\": \"%s\"}]}",
                                     (int) (d2 - d1 - 1), d1 + 1, (int) (d1 - t), t, d2 + 1) > 0);
                REFUSED(TAKE_PTR(general), -EBADMSG, "JSON serialization");
                assert_true(
                        asprintf(&unprot,
                                 "{\"header\": {\"alg\": \"ES256\"}, \"payload\": \"%.*s\", \"signature\": \"%s\"}",
                                 (int) (d2 - d1 - 1), d1 + 1, d2 + 1) > 0);
                REFUSED(TAKE_PTR(unprot), -EBADMSG, "JSON serialization");
        }
        /* A payload that is not base64url (JSON in the clear, padding) is refused before the signature. */
        {
                _cleanup_free_ char *h = b64url_str(es256), *t = NULL;

                assert_true(asprintf(&t, "%s.{\"exp\":1}.%s", h, "AAAA") > 0);
                REFUSED(TAKE_PTR(t), -EBADMSG, "payload is not base64url");
        }
        {
                _cleanup_free_ char *t = jws(key_a, es256, good, NULL, 0), *padded = NULL;
                char *d2 = strrchr(t, '.');

                assert_true(asprintf(&padded, "%.*s=%s", (int) (d2 - t), t, d2) > 0);
                REFUSED(TAKE_PTR(padded), -EBADMSG, "base64url");
        }
        /* A signature over another payload spliced in. */
        {
                _cleanup_free_ char *a = jws(key_a, es256, good, NULL, 0);
                _cleanup_free_ char *c = claims("trusted", NOW, NOW + 61, "\"" AUD "\""),
                                    *b = jws(key_a, es256, c, NULL, 0);
                char *t = NULL;

                assert_true(asprintf(&t, "%.*s%s", (int) (strrchr(b, '.') - b), b, strrchr(a, '.')) > 0);
                REFUSED(t, -EKEYREJECTED, "verifies with no trusted verifier key");
        }
#undef REFUSED

        /* Keys that are not EC P-256 are a configuration error. */
        {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
                _cleanup_free_ char *t = jws(key_a, es256, good, NULL, 0);
                AttestVerdict v = {};
                EVP_PKEY *keys[] = { rsa };

                assert_int_equal(
                        attest_verdict_verify(t, strlen(t), keys, 1, AUD, NOW, &v, reason, sizeof(reason)),
                        -EINVAL);
                assert_int_equal(
                        attest_verdict_verify(t, strlen(t), keys, 0, AUD, NOW, &v, reason, sizeof(reason)),
                        -EINVAL);
        }
}

/* The cost of one verification of a valid token with two keys configured (the right one second), printed
 * for the record (TAP comment), not asserted. */
static void test_verify_time(void **state) {
        _cleanup_free_ char *c = claims("trusted", NOW - 10, NOW + 600, "\"" AUD "\""),
                            *t = jws(key_a, es256, c, NULL, 0);
        EVP_PKEY *keys[] = { key_b, key_a };
        struct timespec a, b;
        unsigned n = 500;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
        for (unsigned i = 0; i < n; i++) {
                AttestVerdict v = {};

                assert_int_equal(attest_verdict_verify(t, strlen(t), keys, 2, AUD, NOW, &v, NULL, 0), 0);
                attest_verdict_done(&v);
        }
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &b), 0);
        printf("# attest_verdict_verify(): %.1f us per valid token (2 keys, %u runs)\n",
               ((double) (b.tv_sec - a.tv_sec) * 1e6 + (double) (b.tv_nsec - a.tv_nsec) / 1e3) / n, n);
}

static int setup(void **state) {
        key_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        key_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        return key_a && key_b ? 0 : -1;
}

static int teardown(void **state) {
        EVP_PKEY_free(key_a);
        EVP_PKEY_free(key_b);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_verify_time),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, setup, teardown);
}
