/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Verification of a TPM2_Quote without a TPM (DESIGN §8, ATTACKS b-2). We parse TPMS_ATTEST ourselves
 * with tss2-mu and check every field a quote's meaning depends on; nothing here trusts FAPI or
 * tpm2_checkquote. */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm2/tpm2-pcr.h"

#define ATTEST_NONCE_MIN 16U

/* Each check that can fail has its own reason and its own errno (returned negated). */
typedef enum AttestQuoteReason {
        ATTEST_QUOTE_OK = 0,
        ATTEST_QUOTE_INVALID_INPUT,       /* -EINVAL: missing input, empty requested selection */
        ATTEST_QUOTE_NONCE_TOO_SHORT,     /* -EMSGSIZE: expected nonce < ATTEST_NONCE_MIN bytes */
        ATTEST_QUOTE_AK_UNSUPPORTED,      /* -EOPNOTSUPP: AK public area not a key we can use */
        ATTEST_QUOTE_AK_NOT_RESTRICTED,   /* -EPERM: AK lacks restricted|sign|fixedTPM|fixedParent|sDO */
        ATTEST_QUOTE_MALFORMED,           /* -EBADMSG: TPMS_ATTEST or TPMT_SIGNATURE does not parse */
        ATTEST_QUOTE_TRAILING_BYTES,      /* -EOVERFLOW: bytes after TPMS_ATTEST or TPMT_SIGNATURE */
        ATTEST_QUOTE_BAD_MAGIC,           /* -EPROTO: magic != TPM_GENERATED_VALUE */
        ATTEST_QUOTE_WRONG_TYPE,          /* -EPROTOTYPE: type != TPM_ST_ATTEST_QUOTE */
        ATTEST_QUOTE_NONCE_MISMATCH,      /* -ESTALE: extraData != expected nonce (replay) */
        ATTEST_QUOTE_SELECTION_MISMATCH,  /* -ERANGE: quoted PCR selection != requested */
        ATTEST_QUOTE_PCR_VALUES_INVALID,  /* -ENODATA: supplied values do not cover the selection */
        ATTEST_QUOTE_PCR_DIGEST_MISMATCH, /* -EILSEQ: pcrDigest != H(supplied values) */
        ATTEST_QUOTE_SIGNATURE_SCHEME,    /* -EPROTONOSUPPORT: scheme unknown or not the AK's */
        ATTEST_QUOTE_SIGNATURE_INVALID,   /* -EKEYREJECTED: signature does not verify with the AK */
        ATTEST_QUOTE_INTERNAL,            /* -ENOMEM, -EIO: our own failure, not the evidence's */
        _ATTEST_QUOTE_REASON_MAX,
} AttestQuoteReason;

const char *attest_quote_reason_to_string(AttestQuoteReason r);

typedef struct AttestQuoteInput {
        const void *attest; /* TPMS_ATTEST wire bytes (TPM2B_ATTEST contents, no size) */
        size_t attest_size;
        const void *signature; /* TPMT_SIGNATURE wire bytes */
        size_t signature_size;
        const TPM2B_PUBLIC *ak_public; /* the AK as registered */
        EVP_PKEY *ak_key; /* optional: tpm2_public_to_evp_pkey(ak_public), made once by a caller that verifies
                           * many quotes of one AK (a verifier's registry); it must be that key */
        const void *nonce; /* the nonce the verifier sent */
        size_t nonce_size;
        const TPML_PCR_SELECTION *selection; /* the selection the verifier asked for */
        const Tpm2PcrValue *pcr_values;      /* claimed values, any order, exactly one per selected PCR */
        size_t n_pcr_values;
} AttestQuoteInput;

typedef struct AttestQuoteResult {
        AttestQuoteReason reason;
        char message[256]; /* human-readable reason, "" on success */
        /* Valid once the attest parsed (reason >= ATTEST_QUOTE_BAD_MAGIC, or OK); for callers'
         * monotonicity checks (reset/S3 attacks): compare with the last accepted quote of this AK. */
        uint64_t clock;
        uint32_t reset_count;
        uint32_t restart_count;
        bool safe;
        uint64_t firmware_version;
        TPM2B_NAME qualified_signer;
        uint16_t hash_alg; /* the signature's (and pcrDigest's) hash */
} AttestQuoteResult;

/* Verifies a quote. Always fills *ret (reason and message, also on failure: the verdict is the
 * output). Returns 0 when every check passed, else the negative errno of the first failed check
 * (see AttestQuoteReason). Order: input and AK attributes, parsing (no trailing bytes), magic, type,
 * nonce (constant time), selection (compared normalised: the same set of (bank, PCR) pairs, a bank
 * with no PCR counts as absent, a bank twice is malformed), the signature scheme (must fit the AK, and
 * be the AK's own when the AK names one), the supplied values against the quoted selection, pcrDigest
 * over the values in the quoted selection's order with the signature's hash (TPM2_Quote uses the
 * signing scheme's hash), and last the signature over the attest bytes with the AK (ECDSA,
 * RSASSA-PKCS1-v1_5, RSA-PSS with any salt length). The content checks come before the signature so
 * that every check is reachable by the fuzzer; a forged attest fails one of them either way.
 * Not checked: qualifiedSigner (needs the AK parent's qualified name; reported for the caller). */
int attest_quote_verify(const AttestQuoteInput *in, AttestQuoteResult *ret);

/* The restricted signing key attributes an AK must have (DESIGN §8). */
bool attest_ak_attributes_ok(const TPMT_PUBLIC *p);

/* Fills buf with n random bytes (OpenSSL's DRBG) for a quote challenge. -EINVAL for n < ATTEST_NONCE_MIN
 * or n > 64. */
int attest_nonce_generate(void *buf, size_t n);

/* Binds a nonce to a channel (ATTACKS b-2, attestation relay): SHA-256(server_nonce || channel ||
 * ak_name), where channel is the TLS exporter value or peer certificate hash. ret: 32 bytes. */
int attest_nonce_bind(const void *server_nonce, size_t server_nonce_size, const void *channel,
                      size_t channel_size, const TPM2B_NAME *ak_name, uint8_t ret[static 32]);

/* Parses PCR values from text: "bank:index=hex" items separated by commas or whitespace, e.g.
 * "sha256:0=ab..,sha256:7=cd..". *ret (free()) in input order. -EINVAL for anything malformed, a digest
 * whose size is not the bank's, or an index >= TPM2_PCRS_MAX; -E2BIG above 16*24 values. */
int attest_pcr_values_parse(const char *s, Tpm2PcrValue **ret, size_t *ret_n);
