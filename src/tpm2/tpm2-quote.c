/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-util.h"

/* How often the quote is redone because PCRs changed between the quote and the read. */
#define QUOTE_ATTEMPTS_MAX 8U

static void *memdup_bytes(const void *p, size_t n) {
        void *d = malloc(n ?: 1);

        if (d && n > 0)
                memcpy(d, p, n);
        return d;
}

int tpm2_pcr_selection_mask(const TPMS_PCR_SELECTION *s, uint32_t *ret) {
        uint32_t m = 0;

        assert(s);
        assert(ret);

        if (s->sizeofSelect > TPM2_PCR_SELECT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < s->sizeofSelect; i++) {
                if (i >= TPM2_PCRS_MAX / 8) {
                        if (s->pcrSelect[i] != 0)
                                return -EINVAL;
                        continue;
                }
                m |= (uint32_t) s->pcrSelect[i] << (8 * i);
        }
        *ret = m;
        return 0;
}

int tpm2_pcr_selection_count(const TPML_PCR_SELECTION *sel, size_t *ret) {
        size_t n = 0;
        int r;

        assert(sel);
        assert(ret);

        if (sel->count > TPM2_NUM_PCR_BANKS)
                return -EINVAL;
        for (uint32_t i = 0; i < sel->count; i++) {
                uint32_t m;

                r = tpm2_pcr_selection_mask(&sel->pcrSelections[i], &m);
                if (r < 0)
                        return r;
                n += (size_t) __builtin_popcount(m);
        }
        *ret = n;
        return 0;
}

int tpm2_pcr_selection_from_masks(const Tpm2PcrBankMask *banks, size_t n, TPML_PCR_SELECTION *ret) {
        TPML_PCR_SELECTION sel = {};

        assert(banks || n == 0);
        assert(ret);

        if (n == 0 || n > TPM2_NUM_PCR_BANKS)
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                if (!tpm2_hash_alg_to_string(banks[i].bank) || tpm2_hash_alg_digest_size(banks[i].bank) == 0)
                        return -EINVAL;
                if (banks[i].mask == 0 || banks[i].mask >= (UINT32_C(1) << TPM2_PCRS_MAX))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (banks[j].bank == banks[i].bank)
                                return -EINVAL;

                sel.pcrSelections[i] = (TPMS_PCR_SELECTION){
                        .hash = banks[i].bank,
                        .sizeofSelect = TPM2_PCRS_MAX / 8,
                        .pcrSelect = { banks[i].mask & 0xFF, (banks[i].mask >> 8) & 0xFF,
                                       (banks[i].mask >> 16) & 0xFF },
                };
        }
        sel.count = (uint32_t) n;

        *ret = sel;
        return 0;
}

int tpm2_pcr_values_digest(uint16_t hash_alg, const Tpm2PcrValue *values, size_t n, uint8_t *ret,
                           size_t *ret_size) {
        EVP_MD_CTX *ctx;
        const EVP_MD *md;
        unsigned int len = 0;
        int ok;

        assert(values || n == 0);
        assert(ret);
        assert(ret_size);

        md = tpm2_hash_alg_to_md(hash_alg);
        if (!md)
                return -EOPNOTSUPP;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, md, NULL);
        for (size_t i = 0; ok && i < n; i++)
                ok = values[i].size <= sizeof(values[i].digest) &&
                        EVP_DigestUpdate(ctx, values[i].digest, values[i].size);
        ok = ok && EVP_DigestFinal_ex(ctx, ret, &len);
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;

        *ret_size = len;
        return 0;
}

Tpm2Quote *tpm2_quote_free(Tpm2Quote *q) {
        if (!q)
                return NULL;
        free(q->attest);
        free(q->signature);
        free(q->pcr_values);
        return mfree(q);
}

/* The signing scheme: the key's own, else a default for its type (a restricted key always has one). */
static int quote_scheme(Tpm2Context *c, ESYS_TR key, TPMT_SIG_SCHEME *ret) {
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        TSS2_RC rc;

        rc = Esys_ReadPublic(tpm2_context_esys(c), key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
                             NULL);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_ReadPublic of the signing key failed: %m");
        if (!pub)
                return -EBADMSG;
        if (!(pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
                return log_debug_errno(EINVAL, "The quote key is not a signing key.");

        switch (pub->publicArea.type) {
        case TPM2_ALG_ECC:
                if (pub->publicArea.parameters.eccDetail.scheme.scheme != TPM2_ALG_NULL) {
                        *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_NULL };
                        return 0;
                }
                *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
                return 0;
        case TPM2_ALG_RSA:
                if (pub->publicArea.parameters.rsaDetail.scheme.scheme != TPM2_ALG_NULL) {
                        *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_NULL };
                        return 0;
                }
                *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_RSASSA,
                                          .details.rsassa.hashAlg = TPM2_ALG_SHA256 };
                return 0;
        default:
                return log_debug_errno(EOPNOTSUPP, "The quote key has unsupported type 0x%04x.",
                                       (unsigned) pub->publicArea.type);
        }
}

static int read_selection(Tpm2Context *c, const TPML_PCR_SELECTION *sel, size_t total, Tpm2PcrValue **ret) {
        _cleanup_free_ Tpm2PcrValue *all = NULL;
        size_t n = 0;
        int r;

        all = calloc(MAX(total, (size_t) 1), sizeof(Tpm2PcrValue));
        if (!all)
                return -ENOMEM;

        for (uint32_t i = 0; i < sel->count; i++) {
                _cleanup_free_ Tpm2PcrValue *v = NULL;
                size_t k = 0;
                uint32_t m;

                r = tpm2_pcr_selection_mask(&sel->pcrSelections[i], &m);
                if (r < 0)
                        return r;
                r = tpm2_pcr_read(c, sel->pcrSelections[i].hash, m, &v, &k);
                if (r < 0)
                        return r;
                assert(n + k <= total);
                memcpy(all + n, v, k * sizeof(Tpm2PcrValue));
                n += k;
        }
        assert(n == total);

        *ret = TAKE_PTR(all);
        return 0;
}

/* One quote and the PCR read after it. -ESTALE when the PCRs read do not give the quoted digest. */
static int quote_once(Tpm2Context *c, ESYS_TR key, const TPM2B_DATA *qualifying, const TPMT_SIG_SCHEME *scheme,
                      const TPML_PCR_SELECTION *sel, size_t total, Tpm2Quote **ret) {
        _cleanup_(esys_freep) TPM2B_ATTEST *attest = NULL;
        _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
        _cleanup_(tpm2_quote_freep) Tpm2Quote *q = NULL;
        uint8_t sigbuf[sizeof(TPMT_SIGNATURE)], digest[EVP_MAX_MD_SIZE];
        size_t off = 0, sigoff = 0, dsize = 0;
        TPMS_ATTEST parsed = {};
        TSS2_RC rc;
        int r;

        rc = Esys_Quote(tpm2_context_esys(c), key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qualifying,
                        scheme, sel, &attest, &sig);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_Quote failed: %m");
        if (!attest || !sig || attest->size > sizeof(attest->attestationData))
                return -EBADMSG;

        rc = Tss2_MU_TPMS_ATTEST_Unmarshal(attest->attestationData, attest->size, &off, &parsed);
        if (rc != TSS2_RC_SUCCESS || off != attest->size)
                return log_debug_errno(EBADMSG, "The TPM's quote does not parse.");
        if (parsed.type != TPM2_ST_ATTEST_QUOTE ||
            parsed.attested.quote.pcrDigest.size > sizeof(parsed.attested.quote.pcrDigest.buffer))
                return log_debug_errno(EBADMSG, "The TPM answered an attest that is not a quote.");

        rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &sigoff);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(EBADMSG, "The TPM's signature does not marshal.");

        q = calloc(1, sizeof(Tpm2Quote));
        if (!q)
                return -ENOMEM;
        q->selection = *sel;
        q->n_pcr_values = total;
        r = read_selection(c, sel, total, &q->pcr_values);
        if (r < 0)
                return r;

        r = tpm2_pcr_values_digest(tpm2_signature_hash(sig), q->pcr_values, total, digest, &dsize);
        if (r < 0)
                return log_debug_errno(r, "Cannot recompute the quote's PCR digest: %m");
        if (dsize != parsed.attested.quote.pcrDigest.size ||
            memcmp(digest, parsed.attested.quote.pcrDigest.buffer, dsize) != 0)
                return -ESTALE;

        q->attest = memdup_bytes(attest->attestationData, attest->size);
        q->signature = memdup_bytes(sigbuf, sigoff);
        if (!q->attest || !q->signature)
                return -ENOMEM;
        q->attest_size = attest->size;
        q->signature_size = sigoff;

        *ret = TAKE_PTR(q);
        return 0;
}

int tpm2_quote(Tpm2Context *c, ESYS_TR signing_key, const void *nonce, size_t nonce_size,
               const TPML_PCR_SELECTION *selection, Tpm2Quote **ret) {
        TPMT_SIG_SCHEME scheme;
        TPM2B_DATA qualifying = {};
        size_t total;
        int r;

        assert(c);
        assert(nonce || nonce_size == 0);
        assert(selection);
        assert(ret);

        if (nonce_size < TPM2_QUOTE_NONCE_MIN || nonce_size > TPM2_QUOTE_NONCE_MAX)
                return log_debug_errno(EINVAL, "Quote nonce of %zu bytes, need %u..%zu.", nonce_size,
                                       TPM2_QUOTE_NONCE_MIN, TPM2_QUOTE_NONCE_MAX);
        r = tpm2_pcr_selection_count(selection, &total);
        if (r < 0)
                return r;
        if (total == 0)
                return log_debug_errno(EINVAL, "Quote over no PCR refused.");

        qualifying.size = (uint16_t) nonce_size;
        memcpy(qualifying.buffer, nonce, nonce_size);

        r = quote_scheme(c, signing_key, &scheme);
        if (r < 0)
                return r;

        for (unsigned attempt = 0;; attempt++) {
                r = quote_once(c, signing_key, &qualifying, &scheme, selection, total, ret);
                if (r != -ESTALE)
                        return r;
                if (attempt + 1 >= QUOTE_ATTEMPTS_MAX)
                        return log_debug_errno(EAGAIN, "PCRs kept changing between quote and read.");
                log_debug("PCRs changed between the quote and the read, quoting again.");
        }
}
