/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The remote verdict: a signed attestation result from a verifier, as a compact JWS (RFC 7515) with
 * JWT claims (RFC 7519), folded into the daemon's trust state. Only what a verifier of ours issues is
 * accepted, and nothing an attacker could choose:
 *
 *   header   {"alg": "ES256", "typ": "JWT", "kid": "..."}   alg must be ES256 (P-256, SHA-256, the
 *            64-byte R||S signature of RFC 7518 3.4); "none", HS256 (which would let anyone holding
 *            the public key sign), RS256 and every other alg are refused; "crit" is refused, and so is
 *            every member other than alg, typ and kid (strings): no jwk/jku/x5u/x5c, b64, zip. Duplicate
 *            members are refused. Only the compact serialization: no JSON form, no unprotected header
 *   payload  {"iss": "...", "aud": "<audience>" or [...], "sub": "<machine>", "iat": N, "nbf": N,
 *             "exp": N, "verdict": "trusted" | "untrusted", "reasons": ["..."]}
 *            exp is required and must be in the future (and at most ATTEST_VERDICT_LIFETIME_MAX
 *            after iat); aud must name our audience; nbf/iat must not be in the future beyond
 *            ATTEST_VERDICT_SKEW_SEC
 *
 * The signature must verify with one of the configured verifier keys (EC P-256 public keys). The header is
 * parsed and the algorithm pinned here; the signature is then verified by libjose (jose_jws_ver()) with a
 * JWK made from the key, restricted to "alg": "ES256" and "key_ops": ["verify"]. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"

#define ATTEST_VERDICT_SIZE_MAX (16U * 1024U)
#define ATTEST_VERDICT_SKEW_SEC 300U
#define ATTEST_VERDICT_LIFETIME_MAX (7U * 24U * 3600U)
#define ATTEST_VERDICT_REASONS_MAX 64U

typedef struct AttestVerdict {
        bool trusted;
        char *issuer;                            /* "iss", may be NULL */
        char *subject;                           /* "sub", may be NULL */
        uint64_t issued_at, not_before, expires; /* seconds since the epoch; 0 when absent (not exp) */
        char **reasons;
} AttestVerdict;

void attest_verdict_done(AttestVerdict *v);

/* Verifies jws (size bytes, not NUL-terminated) against the n_keys trusted verifier keys for
 * audience at time now (seconds since the epoch). Returns 0 with *ret filled (attest_verdict_done()),
 * or a negative errno with a reason in ret_reason (may be NULL, at least 128 bytes):
 *   -EBADMSG   not a compact JWS / not JSON / a claim of the wrong type
 *   -EPROTONOSUPPORT  alg is not ES256, or a "crit" header, or a header member that is not accepted
 *   -EKEYREJECTED     the signature verifies with none of the keys (or is not 64 bytes)
 *   -EKEYEXPIRED      exp passed, or no exp, or nbf/iat in the future, or a lifetime above the limit
 *   -EACCES    aud does not name audience
 *   -E2BIG     above ATTEST_VERDICT_SIZE_MAX or ATTEST_VERDICT_REASONS_MAX
 *   -EINVAL    a key that is not EC P-256, or no key */
int attest_verdict_verify(const char *jws, size_t size, EVP_PKEY *const *keys, size_t n_keys,
                          const char *audience, uint64_t now, AttestVerdict *ret, char *ret_reason,
                          size_t reason_size);
