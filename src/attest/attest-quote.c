/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <tss2/tss2_mu.h>

#include "attest/attest-quote.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-util.h"

#define AK_ATTRIBUTES                                                               \
        (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM | \
         TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN)

/* At most this many PCR values: every PCR of every bank a TPML_PCR_SELECTION can hold. */
#define PCR_VALUES_MAX (TPM2_NUM_PCR_BANKS * TPM2_PCRS_MAX)

static const struct {
        int err;
        const char *name;
} reason_table[_ATTEST_QUOTE_REASON_MAX] = {
        [ATTEST_QUOTE_OK] = { 0, "ok" },
        [ATTEST_QUOTE_INVALID_INPUT] = { EINVAL, "invalid-input" },
        [ATTEST_QUOTE_NONCE_TOO_SHORT] = { EMSGSIZE, "nonce-too-short" },
        [ATTEST_QUOTE_AK_UNSUPPORTED] = { EOPNOTSUPP, "ak-unsupported" },
        [ATTEST_QUOTE_AK_NOT_RESTRICTED] = { EPERM, "ak-not-restricted" },
        [ATTEST_QUOTE_MALFORMED] = { EBADMSG, "malformed" },
        [ATTEST_QUOTE_TRAILING_BYTES] = { EOVERFLOW, "trailing-bytes" },
        [ATTEST_QUOTE_BAD_MAGIC] = { EPROTO, "bad-magic" },
        [ATTEST_QUOTE_WRONG_TYPE] = { EPROTOTYPE, "wrong-type" },
        [ATTEST_QUOTE_NONCE_MISMATCH] = { ESTALE, "nonce-mismatch" },
        [ATTEST_QUOTE_SELECTION_MISMATCH] = { ERANGE, "selection-mismatch" },
        [ATTEST_QUOTE_PCR_VALUES_INVALID] = { ENODATA, "pcr-values-invalid" },
        [ATTEST_QUOTE_PCR_DIGEST_MISMATCH] = { EILSEQ, "pcr-digest-mismatch" },
        [ATTEST_QUOTE_SIGNATURE_SCHEME] = { EPROTONOSUPPORT, "signature-scheme" },
        [ATTEST_QUOTE_SIGNATURE_INVALID] = { EKEYREJECTED, "signature-invalid" },
        [ATTEST_QUOTE_INTERNAL] = { EIO, "internal" },
};

const char *attest_quote_reason_to_string(AttestQuoteReason r) {
        if ((unsigned) r >= _ATTEST_QUOTE_REASON_MAX)
                return NULL;
        return reason_table[r].name;
}

/* Records the verdict and returns its errno; err overrides the reason's errno (ENOMEM for INTERNAL). */
_printf_(4, 5) static int fail(AttestQuoteResult *res, AttestQuoteReason reason, int err, const char *fmt,
                               ...) {
        va_list ap;

        res->reason = reason;
        va_start(ap, fmt);
        (void) vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);

        err = err != 0 ? abs(err) : reason_table[reason].err;
        return log_debug_errno(err, "Quote rejected: %s", res->message);
}

bool attest_ak_attributes_ok(const TPMT_PUBLIC *p) {
        assert(p);

        if ((p->objectAttributes & AK_ATTRIBUTES) != AK_ATTRIBUTES)
                return false;
        /* A restricted signing key that can also decrypt is a different kind of object. */
        return !(p->objectAttributes & TPMA_OBJECT_DECRYPT);
}

/* The AK's own signing scheme (TPM2_ALG_NULL when it names none). */
static void ak_scheme(const TPMT_PUBLIC *p, uint16_t *ret_scheme, uint16_t *ret_hash) {
        const TPMT_ECC_SCHEME *ecc = &p->parameters.eccDetail.scheme;
        const TPMT_RSA_SCHEME *rsa = &p->parameters.rsaDetail.scheme;

        if (p->type == TPM2_ALG_ECC) {
                *ret_scheme = ecc->scheme;
                *ret_hash = ecc->scheme == TPM2_ALG_NULL ? TPM2_ALG_NULL : ecc->details.anySig.hashAlg;
        } else {
                *ret_scheme = rsa->scheme;
                *ret_hash = rsa->scheme == TPM2_ALG_NULL ? TPM2_ALG_NULL : rsa->details.anySig.hashAlg;
        }
}

static const char *type_name(uint16_t t) {
        switch (t) {
        case TPM2_ST_ATTEST_CERTIFY:
                return "ATTEST_CERTIFY";
        case TPM2_ST_ATTEST_QUOTE:
                return "ATTEST_QUOTE";
        case TPM2_ST_ATTEST_SESSION_AUDIT:
                return "ATTEST_SESSION_AUDIT";
        case TPM2_ST_ATTEST_COMMAND_AUDIT:
                return "ATTEST_COMMAND_AUDIT";
        case TPM2_ST_ATTEST_TIME:
                return "ATTEST_TIME";
        case TPM2_ST_ATTEST_CREATION:
                return "ATTEST_CREATION";
        case TPM2_ST_ATTEST_NV:
                return "ATTEST_NV";
        case 0x801F: /* TPM_ST_ATTEST_NV_DIGEST, newer than tss2's headers */
                return "ATTEST_NV_DIGEST";
        default:
                return "unknown";
        }
}

typedef struct BankMask {
        uint16_t bank;
        uint32_t mask;
} BankMask;

/* A selection as a list of (bank, mask) with empty banks dropped. -EINVAL: bits >= 24, a bank twice. */
static int selection_normalise(const TPML_PCR_SELECTION *sel, BankMask *ret, size_t *ret_n) {
        size_t n = 0;

        if (sel->count > TPM2_NUM_PCR_BANKS)
                return -EINVAL;
        for (uint32_t i = 0; i < sel->count; i++) {
                uint32_t m;

                if (tpm2_pcr_selection_mask(&sel->pcrSelections[i], &m) < 0)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (sel->pcrSelections[j].hash == sel->pcrSelections[i].hash)
                                return -EINVAL;
                if (m == 0)
                        continue;
                ret[n++] = (BankMask){ .bank = sel->pcrSelections[i].hash, .mask = m };
        }
        *ret_n = n;
        return 0;
}

static bool selection_equal(const BankMask *a, size_t na, const BankMask *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++) {
                bool found = false;

                for (size_t j = 0; j < nb; j++)
                        if (a[i].bank == b[j].bank) {
                                found = a[i].mask == b[j].mask;
                                break;
                        }
                if (!found)
                        return false;
        }
        return true;
}

static char *selection_to_string(const BankMask *s, size_t n, char *buf, size_t size) {
        size_t off = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && off < size; i++) {
                int k = snprintf(buf + off, size - off, "%s%s:0x%06x", i > 0 ? "+" : "",
                                 strna(tpm2_hash_alg_to_string(s[i].bank)), (unsigned) s[i].mask);
                if (k < 0)
                        break;
                off += (size_t) k;
        }
        if (n == 0)
                snprintf(buf, size, "(none)");
        return buf;
}

/* Orders the supplied values as the quoted selection lists them: every selected (bank, PCR) exactly
 * once, the bank's digest size, nothing else. */
static int order_values(const BankMask *sel, size_t nsel, const Tpm2PcrValue *values, size_t n,
                        Tpm2PcrValue *ordered, char *why, size_t why_size) {
        size_t k = 0;

        if (n > PCR_VALUES_MAX) {
                snprintf(why, why_size, "%zu PCR values supplied, more than any selection holds", n);
                return -EINVAL;
        }
        for (size_t i = 0; i < nsel; i++)
                for (uint32_t pcr = 0; pcr < TPM2_PCRS_MAX; pcr++) {
                        size_t dsize = tpm2_hash_alg_digest_size(sel[i].bank);
                        const Tpm2PcrValue *found = NULL;

                        if (!(sel[i].mask & (UINT32_C(1) << pcr)))
                                continue;
                        for (size_t j = 0; j < n; j++) {
                                if (values[j].bank != sel[i].bank || values[j].index != pcr)
                                        continue;
                                if (found) {
                                        snprintf(why, why_size, "PCR %u (%s) supplied twice", (unsigned) pcr,
                                                 strna(tpm2_hash_alg_to_string(sel[i].bank)));
                                        return -EINVAL;
                                }
                                found = &values[j];
                        }
                        if (!found) {
                                snprintf(why, why_size, "no value supplied for PCR %u (%s)", (unsigned) pcr,
                                         strna(tpm2_hash_alg_to_string(sel[i].bank)));
                                return -EINVAL;
                        }
                        if (dsize == 0 || found->size != dsize) {
                                snprintf(why, why_size,
                                         "PCR %u (%s) value has %zu bytes, the bank's digests %zu",
                                         (unsigned) pcr, strna(tpm2_hash_alg_to_string(sel[i].bank)),
                                         found->size, dsize);
                                return -EINVAL;
                        }
                        ordered[k++] = *found;
                }
        if (k != n) {
                snprintf(why, why_size, "%zu PCR values supplied for %zu selected PCRs", n, k);
                return -EINVAL;
        }
        return (int) k;
}

/* DER of an ECDSA signature from the TPM's r and s. */
static int ecdsa_der(const TPMS_SIGNATURE_ECDSA *e, uint8_t **ret, size_t *ret_size) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = NULL;
        BIGNUM *r = NULL, *s = NULL;
        unsigned char *der = NULL;
        int len;

        if (e->signatureR.size > sizeof(e->signatureR.buffer) ||
            e->signatureS.size > sizeof(e->signatureS.buffer))
                return -EBADMSG;
        sig = ECDSA_SIG_new();
        r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
        s = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
        if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
                BN_free(r);
                BN_free(s);
                return -ENOMEM;
        }
        len = i2d_ECDSA_SIG(sig, &der);
        if (len <= 0)
                return -ENOMEM;
        *ret = der;
        *ret_size = (size_t) len;
        return 0;
}

/* 1: verifies, 0: does not, <0: our failure. */
static int signature_verify(EVP_PKEY *pkey, const TPMT_SIGNATURE *sig, const EVP_MD *md,
                            const uint8_t *digest, size_t dsize) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        const uint8_t *s;
        size_t ssize;
        int r;

        switch (sig->sigAlg) {
        case TPM2_ALG_ECDSA:
                r = ecdsa_der(&sig->signature.ecdsa, &der, &ssize);
                if (r < 0)
                        return r == -EBADMSG ? 0 : r;
                s = der;
                break;
        case TPM2_ALG_RSASSA:
                s = sig->signature.rsassa.sig.buffer;
                ssize = sig->signature.rsassa.sig.size;
                break;
        case TPM2_ALG_RSAPSS:
                s = sig->signature.rsapss.sig.buffer;
                ssize = sig->signature.rsapss.sig.size;
                break;
        default:
                return 0;
        }
        if (ssize > sizeof(TPMU_SIGNATURE) + 16)
                return 0;

        ctx = EVP_PKEY_CTX_new(pkey, NULL);
        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
                return openssl_errno();
        if (sig->sigAlg == TPM2_ALG_RSASSA && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
                return openssl_errno();
        if (sig->sigAlg == TPM2_ALG_RSAPSS &&
            (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) != 1))
                return openssl_errno();

        r = EVP_PKEY_verify(ctx, s, ssize, digest, dsize);
        ERR_clear_error();
        return r == 1;
}

int attest_quote_verify(const AttestQuoteInput *in, AttestQuoteResult *ret) {
        _cleanup_free_ Tpm2PcrValue *ordered = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        EVP_PKEY *key;
        BankMask want[TPM2_NUM_PCR_BANKS], got[TPM2_NUM_PCR_BANKS];
        size_t nwant = 0, ngot = 0, off = 0, dsize = 0;
        uint8_t digest[EVP_MAX_MD_SIZE];
        uint16_t ak_sch, ak_hash, hash;
        const TPMS_QUOTE_INFO *qi;
        TPMT_SIGNATURE sig = {};
        TPMS_ATTEST a = {};
        AttestQuoteResult res = {};
        char why[160], b1[128], b2[128];
        const EVP_MD *md;
        TSS2_RC rc;
        int r;

        assert(ret);
        *ret = res;

        if (!in || !in->attest || !in->signature || !in->ak_public || !in->selection ||
            (!in->nonce && in->nonce_size > 0) || (!in->pcr_values && in->n_pcr_values > 0))
                return fail(ret, ATTEST_QUOTE_INVALID_INPUT, 0, "incomplete input");
        if (in->nonce_size < ATTEST_NONCE_MIN)
                return fail(ret, ATTEST_QUOTE_NONCE_TOO_SHORT, 0,
                            "nonce of %zu bytes is too short (at least %u)", in->nonce_size, ATTEST_NONCE_MIN);
        if (selection_normalise(in->selection, want, &nwant) < 0 || nwant == 0)
                return fail(ret, ATTEST_QUOTE_INVALID_INPUT, 0,
                            "the requested PCR selection is empty or invalid");
        for (size_t i = 0; i < nwant; i++)
                if (tpm2_hash_alg_digest_size(want[i].bank) == 0)
                        return fail(ret, ATTEST_QUOTE_INVALID_INPUT, 0,
                                    "requested PCR bank 0x%04x is unknown", (unsigned) want[i].bank);

        /* The AK first: the magic check only means something for a restricted key, which cannot sign
         * data starting with TPM_GENERATED_VALUE that the TPM did not make. */
        if (!IN_SET(in->ak_public->publicArea.type, TPM2_ALG_ECC, TPM2_ALG_RSA))
                return fail(ret, ATTEST_QUOTE_AK_UNSUPPORTED, 0, "AK type 0x%04x is not supported",
                            (unsigned) in->ak_public->publicArea.type);
        if (!attest_ak_attributes_ok(&in->ak_public->publicArea))
                return fail(ret, ATTEST_QUOTE_AK_NOT_RESTRICTED, 0,
                            "AK is not a restricted signing key (attributes 0x%08x)",
                            (unsigned) in->ak_public->publicArea.objectAttributes);
        if (in->ak_key)
                key = in->ak_key;
        else {
                r = tpm2_public_to_evp_pkey(in->ak_public, &pkey);
                if (r == -ENOMEM)
                        return fail(ret, ATTEST_QUOTE_INTERNAL, r, "out of memory");
                if (r < 0)
                        return fail(ret, ATTEST_QUOTE_AK_UNSUPPORTED, 0, "AK public key is not usable: %s",
                                    r == -EOPNOTSUPP ? "unsupported curve" : "not a valid key");
                key = pkey;
        }

        rc = Tss2_MU_TPMS_ATTEST_Unmarshal(in->attest, in->attest_size, &off, &a);
        if (rc != TSS2_RC_SUCCESS)
                return fail(ret, ATTEST_QUOTE_MALFORMED, 0, "attest does not parse as TPMS_ATTEST");
        if (off != in->attest_size)
                return fail(ret, ATTEST_QUOTE_TRAILING_BYTES, 0, "%zu trailing bytes after TPMS_ATTEST",
                            in->attest_size - off);
        off = 0;
        rc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(in->signature, in->signature_size, &off, &sig);
        if (rc != TSS2_RC_SUCCESS)
                return fail(ret, ATTEST_QUOTE_MALFORMED, 0, "signature does not parse as TPMT_SIGNATURE");
        if (off != in->signature_size)
                return fail(ret, ATTEST_QUOTE_TRAILING_BYTES, 0, "%zu trailing bytes after TPMT_SIGNATURE",
                            in->signature_size - off);

        ret->clock = a.clockInfo.clock;
        ret->reset_count = a.clockInfo.resetCount;
        ret->restart_count = a.clockInfo.restartCount;
        ret->safe = a.clockInfo.safe == TPM2_YES;
        ret->firmware_version = a.firmwareVersion;
        if (a.qualifiedSigner.size <= sizeof(a.qualifiedSigner.name))
                ret->qualified_signer = a.qualifiedSigner;

        if (a.magic != TPM2_GENERATED_VALUE)
                return fail(ret, ATTEST_QUOTE_BAD_MAGIC, 0, "bad magic 0x%08x (not TPM-generated)",
                            (unsigned) a.magic);
        if (a.type != TPM2_ST_ATTEST_QUOTE)
                return fail(ret, ATTEST_QUOTE_WRONG_TYPE, 0, "not a quote (type 0x%04x %s)",
                            (unsigned) a.type, type_name(a.type));
        if (a.extraData.size > sizeof(a.extraData.buffer) ||
            !memeqsafe(a.extraData.buffer, a.extraData.size, in->nonce, in->nonce_size))
                return fail(ret, ATTEST_QUOTE_NONCE_MISMATCH, 0, "nonce mismatch");

        qi = &a.attested.quote;
        if (selection_normalise(&qi->pcrSelect, got, &ngot) < 0 || !selection_equal(want, nwant, got, ngot))
                return fail(ret, ATTEST_QUOTE_SELECTION_MISMATCH, 0,
                            "PCR selection differs from the one requested (quoted %s, requested %s)",
                            selection_to_string(got, ngot, b1, sizeof(b1)),
                            selection_to_string(want, nwant, b2, sizeof(b2)));

        /* The scheme before the digest: pcrDigest uses the signing scheme's hash. */
        ak_scheme(&in->ak_public->publicArea, &ak_sch, &ak_hash);
        hash = tpm2_signature_hash(&sig);
        md = tpm2_hash_alg_to_md(hash);
        if (!md ||
            !(in->ak_public->publicArea.type == TPM2_ALG_ECC
                      ? sig.sigAlg == TPM2_ALG_ECDSA
                      : IN_SET(sig.sigAlg, TPM2_ALG_RSASSA, TPM2_ALG_RSAPSS)))
                return fail(ret, ATTEST_QUOTE_SIGNATURE_SCHEME, 0,
                            "signature scheme 0x%04x with hash 0x%04x is not supported for this AK",
                            (unsigned) sig.sigAlg, (unsigned) hash);
        if (ak_sch != TPM2_ALG_NULL && (sig.sigAlg != ak_sch || hash != ak_hash))
                return fail(ret, ATTEST_QUOTE_SIGNATURE_SCHEME, 0,
                            "signature scheme 0x%04x/0x%04x is not the AK's 0x%04x/0x%04x",
                            (unsigned) sig.sigAlg, (unsigned) hash, (unsigned) ak_sch, (unsigned) ak_hash);
        ret->hash_alg = hash;

        ordered = calloc(MAX(in->n_pcr_values, (size_t) 1), sizeof(Tpm2PcrValue));
        if (!ordered)
                return fail(ret, ATTEST_QUOTE_INTERNAL, ENOMEM, "out of memory");
        r = order_values(got, ngot, in->pcr_values, in->n_pcr_values, ordered, why, sizeof(why));
        if (r < 0)
                return fail(ret, ATTEST_QUOTE_PCR_VALUES_INVALID, 0,
                            "PCR values do not match the selection: %s", why);

        r = tpm2_pcr_values_digest(hash, ordered, (size_t) r, digest, &dsize);
        if (r < 0)
                return fail(ret, ATTEST_QUOTE_INTERNAL, r, "cannot compute the PCR digest");
        if (qi->pcrDigest.size != dsize || memcmp(qi->pcrDigest.buffer, digest, dsize) != 0)
                return fail(ret, ATTEST_QUOTE_PCR_DIGEST_MISMATCH, 0,
                            "PCR digest does not match the supplied PCR values");

        if (EVP_Digest(in->attest, in->attest_size, digest, NULL, md, NULL) != 1)
                return fail(ret, ATTEST_QUOTE_INTERNAL, openssl_errno(), "cannot hash the attest");
        r = signature_verify(key, &sig, md, digest, (size_t) EVP_MD_get_size(md));
        if (r < 0)
                return fail(ret, ATTEST_QUOTE_INTERNAL, r, "signature verification failed to run");
        if (r == 0)
                return fail(ret, ATTEST_QUOTE_SIGNATURE_INVALID, 0, "signature does not verify with the AK");

        ret->reason = ATTEST_QUOTE_OK;
        ret->message[0] = 0;
        return 0;
}

int attest_nonce_generate(void *buf, size_t n) {
        assert(buf || n == 0);

        if (n < ATTEST_NONCE_MIN || n > 64)
                return -EINVAL;
        if (RAND_bytes(buf, (int) n) != 1)
                return openssl_errno();
        return 0;
}

int attest_nonce_bind(const void *server_nonce, size_t server_nonce_size, const void *channel,
                      size_t channel_size, const TPM2B_NAME *ak_name, uint8_t ret[static 32]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        uint8_t len[8];

        assert(server_nonce);
        assert(channel || channel_size == 0);
        assert(ak_name);

        if (server_nonce_size < ATTEST_NONCE_MIN || channel_size == 0 || ak_name->size == 0 ||
            ak_name->size > sizeof(ak_name->name))
                return -EINVAL;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return openssl_errno();
        /* Length-prefixed, so no split of the inputs gives the same hash as another. */
        for (unsigned i = 0; i < 3; i++) {
                const void *p = i == 0 ? server_nonce : i == 1 ? channel : ak_name->name;
                uint64_t n = i == 0 ? server_nonce_size : i == 1 ? channel_size : ak_name->size;

                for (unsigned b = 0; b < 8; b++)
                        len[b] = (uint8_t) (n >> (56 - 8 * b));
                if (EVP_DigestUpdate(ctx, len, sizeof(len)) != 1 || EVP_DigestUpdate(ctx, p, n) != 1)
                        return openssl_errno();
        }
        if (EVP_DigestFinal_ex(ctx, ret, NULL) != 1)
                return openssl_errno();
        return 0;
}

int attest_pcr_values_parse(const char *s, Tpm2PcrValue **ret, size_t *ret_n) {
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        _cleanup_free_ char *copy = NULL;
        char *save = NULL, *tok;
        size_t n = 0;

        assert(s);
        assert(ret);
        assert(ret_n);

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;

        for (tok = strtok_r(copy, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
                _cleanup_free_ void *d = NULL;
                char *colon, *eq, *end;
                unsigned long idx;
                size_t dsize;
                int bank, r;

                if (n >= PCR_VALUES_MAX)
                        return -E2BIG;
                colon = strchr(tok, ':');
                eq = colon ? strchr(colon, '=') : NULL;
                if (!colon || !eq)
                        return -EINVAL;
                *colon = *eq = 0;

                bank = tpm2_hash_alg_from_string(tok);
                if (bank < 0)
                        return -EINVAL;
                if (!(colon[1] >= '0' && colon[1] <= '9') || strlen(colon + 1) > 2)
                        return -EINVAL;
                errno = 0;
                idx = strtoul(colon + 1, &end, 10);
                if (errno != 0 || *end != 0 || idx >= TPM2_PCRS_MAX)
                        return -EINVAL;

                r = unhexmem(eq + 1, SIZE_MAX, &d, &dsize);
                if (r < 0)
                        return r;
                if (dsize == 0 || dsize != tpm2_hash_alg_digest_size((uint16_t) bank))
                        return -EINVAL;

                if (!values) {
                        values = calloc(PCR_VALUES_MAX, sizeof(Tpm2PcrValue));
                        if (!values)
                                return -ENOMEM;
                }
                values[n] = (Tpm2PcrValue){ .index = (uint32_t) idx, .bank = (uint16_t) bank, .size = dsize };
                memcpy(values[n].digest, d, dsize);
                n++;
        }
        if (n == 0)
                return -EINVAL;

        *ret = TAKE_PTR(values);
        *ret_n = n;
        return 0;
}
