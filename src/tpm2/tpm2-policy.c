/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

int tpm2_error_set(Tpm2Error *e, int error, const char *format, ...) {
        assert(error < 0);

        if (e) {
                va_list ap;

                e->error = error;
                va_start(ap, format);
                (void) vsnprintf(e->message, sizeof(e->message), format, ap);
                va_end(ap);
                log_debug("%s", e->message);
        }
        return error;
}

int tpm2_policy_check_selection(uint16_t bank, uint32_t mask, Tpm2Error *e) {
        if (tpm2_hash_alg_digest_size(bank) == 0)
                return tpm2_error_set(e, -EINVAL, "PCR bank 0x%04x is not a hash algorithm we know", bank);
        if (mask == 0)
                return tpm2_error_set(e, -EINVAL, "no PCR selected to seal to");
        if (mask >> TPM2_PCRS_MAX)
                return tpm2_error_set(e, -EINVAL, "PCR index out of range (only 0..%u exist)",
                                      TPM2_PCRS_MAX - 1);
        if (mask & TPM2_PCRS_RESETTABLE)
                return tpm2_error_set(
                        e, -EINVAL,
                        "refusing to seal to PCR %u: it can be reset without a reboot, so it binds nothing",
                        (mask & (UINT32_C(1) << 16)) ? 16U : 23U);
        return 0;
}

void tpm2_pcr_selection_from_mask(uint16_t bank, uint32_t mask, TPML_PCR_SELECTION *ret) {
        assert(ret);

        *ret = (TPML_PCR_SELECTION) {
                .count = 1,
                .pcrSelections[0] = {
                        .hash = bank,
                        .sizeofSelect = 3,
                        .pcrSelect = { mask & 0xff, (mask >> 8) & 0xff, (mask >> 16) & 0xff },
                },
        };
}

static int sha256_parts(const void *const *parts, const size_t *sizes, size_t n, TPM2B_DIGEST *ret) {
        EVP_MD_CTX *ctx;
        unsigned int len = 0;
        int ok;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (size_t i = 0; ok && i < n; i++)
                ok = EVP_DigestUpdate(ctx, parts[i], sizes[i]);
        if (ok)
                ok = EVP_DigestFinal_ex(ctx, ret->buffer, &len);
        EVP_MD_CTX_free(ctx);
        if (!ok || len != TPM2_POLICY_DIGEST_SIZE)
                return -EIO;
        ret->size = len;
        return 0;
}

int tpm2_policy_pcr_values_digest(uint16_t bank, uint32_t mask, const Tpm2PcrValue *values, size_t n,
                                  TPM2B_DIGEST *ret) {
        size_t dsize = tpm2_hash_alg_digest_size(bank);
        const void *parts[TPM2_PCRS_MAX];
        size_t sizes[TPM2_PCRS_MAX];
        uint32_t seen = 0;

        assert(ret);

        if (dsize == 0 || mask == 0 || (mask >> TPM2_PCRS_MAX) || n != (size_t) __builtin_popcount(mask) ||
            (n > 0 && !values))
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                if (values[i].bank != bank || values[i].size != dsize || values[i].index >= TPM2_PCRS_MAX ||
                    !(mask & (UINT32_C(1) << values[i].index)) ||
                    (i > 0 && values[i].index <= values[i - 1].index))
                        return -EINVAL;
                seen |= UINT32_C(1) << values[i].index;
                parts[i] = values[i].digest;
                sizes[i] = dsize;
        }
        if (seen != mask)
                return -EINVAL;

        return sha256_parts(parts, sizes, n, ret);
}

int tpm2_policy_extend_pcr(TPM2B_DIGEST *policy, uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest) {
        uint8_t cc[4], sel[sizeof(TPML_PCR_SELECTION)];
        TPML_PCR_SELECTION selection;
        size_t cc_off = 0, sel_off = 0;

        assert(policy);
        assert(pcr_digest);

        if (policy->size != TPM2_POLICY_DIGEST_SIZE || pcr_digest->size != TPM2_POLICY_DIGEST_SIZE)
                return -EINVAL;

        tpm2_pcr_selection_from_mask(bank, mask, &selection);
        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyPCR, cc, sizeof(cc), &cc_off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPML_PCR_SELECTION_Marshal(&selection, sel, sizeof(sel), &sel_off) != TSS2_RC_SUCCESS)
                return -EINVAL;

        TPM2B_DIGEST old = *policy;
        return sha256_parts((const void *[]){ old.buffer, cc, sel, pcr_digest->buffer },
                            (const size_t[]){ old.size, cc_off, sel_off, pcr_digest->size }, 4, policy);
}

int tpm2_policy_extend_auth_value(TPM2B_DIGEST *policy) {
        uint8_t cc[4];
        size_t cc_off = 0;

        assert(policy);

        if (policy->size != TPM2_POLICY_DIGEST_SIZE)
                return -EINVAL;
        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyAuthValue, cc, sizeof(cc), &cc_off) != TSS2_RC_SUCCESS)
                return -EINVAL;

        TPM2B_DIGEST old = *policy;
        return sha256_parts((const void *[]){ old.buffer, cc }, (const size_t[]){ old.size, cc_off }, 2,
                            policy);
}

int tpm2_policy_compute(uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest, bool with_pin,
                        TPM2B_DIGEST *ret) {
        TPM2B_DIGEST d = { .size = TPM2_POLICY_DIGEST_SIZE };
        int r;

        assert(ret);

        r = tpm2_policy_extend_pcr(&d, bank, mask, pcr_digest);
        if (r < 0)
                return r;
        if (with_pin) {
                r = tpm2_policy_extend_auth_value(&d);
                if (r < 0)
                        return r;
        }
        *ret = d;
        return 0;
}

int tpm2_policy_apply(Tpm2Context *c, ESYS_TR session, uint16_t bank, uint32_t mask,
                      const TPM2B_DIGEST *pcr_digest, bool with_pin) {
        TPML_PCR_SELECTION selection;
        TSS2_RC rc;

        assert(c);
        assert(pcr_digest);

        tpm2_pcr_selection_from_mask(bank, mask, &selection);
        rc = Esys_PolicyPCR(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            pcr_digest, &selection);
        if (rc != TSS2_RC_SUCCESS) {
                /* A pcrDigest that is not the current one: TPM_RC_VALUE on parameter 1. */
                if ((rc & (TPM2_RC_FMT1 | 0x3FU)) == TPM2_RC_VALUE)
                        return log_debug_errno(-EPERM, "PolicyPCR: PCR values differ");
                return log_debug_errno(tss2_rc_to_errno(rc), "PolicyPCR failed: %m");
        }

        if (with_pin) {
                rc = Esys_PolicyAuthValue(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE,
                                          ESYS_TR_NONE);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "PolicyAuthValue failed: %m");
        }
        return 0;
}

static int start_session(Tpm2Context *c, ESYS_TR salt_key, TPM2_SE type, ESYS_TR *ret) {
        static const TPMT_SYM_DEF aes = {
                .algorithm = TPM2_ALG_AES,
                .keyBits.aes = 128,
                .mode.aes = TPM2_ALG_CFB,
        };
        static const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        rc = Esys_StartAuthSession(tpm2_context_esys(c), salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, type, type == TPM2_SE_TRIAL ? &none : &aes,
                                   TPM2_POLICY_HASH, &session);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to start policy session: %m");

        r = tpm2_context_track(c, session);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), session);
                return r;
        }
        *ret = session;
        return 0;
}

static int session_digest(Tpm2Context *c, ESYS_TR session, TPM2B_DIGEST *ret) {
        TPM2B_DIGEST *d = NULL;
        TSS2_RC rc;
        int r = 0;

        rc = Esys_PolicyGetDigest(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "PolicyGetDigest failed: %m");
        if (d->size > sizeof(ret->buffer))
                r = -EBADMSG;
        else
                *ret = *d;
        Esys_Free(d);
        return r;
}

int tpm2_policy_trial(Tpm2Context *c, uint16_t bank, uint32_t mask, const TPM2B_DIGEST *pcr_digest,
                      bool with_pin, TPM2B_DIGEST *ret) {
        ESYS_TR session = ESYS_TR_NONE;
        int r;

        assert(c);
        assert(ret);

        r = start_session(c, ESYS_TR_NONE, TPM2_SE_TRIAL, &session);
        if (r < 0)
                return r;

        r = tpm2_policy_apply(c, session, bank, mask, pcr_digest, with_pin);
        if (r >= 0)
                r = session_digest(c, session, ret);
        tpm2_flush(c, &session);
        return r;
}

int tpm2_policy_compute_srk_only(bool with_pin, TPM2B_DIGEST *ret) {
        TPM2B_DIGEST d = { .size = TPM2_POLICY_DIGEST_SIZE };
        uint8_t cc[8];
        size_t cc_off = 0;
        int r;

        assert(ret);

        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyCommandCode, cc, sizeof(cc), &cc_off) != TSS2_RC_SUCCESS ||
            Tss2_MU_UINT32_Marshal(TPM2_CC_Unseal, cc, sizeof(cc), &cc_off) != TSS2_RC_SUCCESS)
                return -EINVAL;
        TPM2B_DIGEST old = d;
        r = sha256_parts((const void *[]){ old.buffer, cc }, (const size_t[]){ old.size, cc_off }, 2, &d);
        if (r < 0)
                return r;
        if (with_pin) {
                r = tpm2_policy_extend_auth_value(&d);
                if (r < 0)
                        return r;
        }
        *ret = d;
        return 0;
}

int tpm2_policy_apply_srk_only(Tpm2Context *c, ESYS_TR session, bool with_pin) {
        TSS2_RC rc;

        assert(c);

        rc = Esys_PolicyCommandCode(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CC_Unseal);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "PolicyCommandCode failed: %m");
        if (with_pin) {
                rc = Esys_PolicyAuthValue(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE,
                                          ESYS_TR_NONE);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "PolicyAuthValue failed: %m");
        }
        return 0;
}

int tpm2_policy_trial_srk_only(Tpm2Context *c, bool with_pin, TPM2B_DIGEST *ret) {
        ESYS_TR session = ESYS_TR_NONE;
        int r;

        assert(c);
        assert(ret);

        r = start_session(c, ESYS_TR_NONE, TPM2_SE_TRIAL, &session);
        if (r < 0)
                return r;
        r = tpm2_policy_apply_srk_only(c, session, with_pin);
        if (r >= 0)
                r = session_digest(c, session, ret);
        tpm2_flush(c, &session);
        return r;
}

static int policy_ref(TPM2B_NONCE *ret) {
        size_t n = strlen(TPM2_SIGNED_POLICY_REF);

        _Static_assert(sizeof(TPM2_SIGNED_POLICY_REF) - 1 <= sizeof(ret->buffer), "policyRef too long");
        ret->size = n;
        memcpy(ret->buffer, TPM2_SIGNED_POLICY_REF, n);
        return 0;
}

int tpm2_policy_compute_authorize(const TPM2B_NAME *key_name, bool with_pin, TPM2B_DIGEST *ret) {
        TPM2B_DIGEST d = { .size = TPM2_POLICY_DIGEST_SIZE }, zero = d;
        TPM2B_NONCE ref;
        uint8_t cc[4];
        size_t cc_off = 0;
        int r;

        assert(key_name);
        assert(ret);

        if (key_name->size == 0 || key_name->size > sizeof(key_name->name))
                return -EINVAL;
        if (Tss2_MU_UINT32_Marshal(TPM2_CC_PolicyAuthorize, cc, sizeof(cc), &cc_off) != TSS2_RC_SUCCESS)
                return -EINVAL;
        (void) policy_ref(&ref);

        /* PolicyAuthorize starts over from zero: whatever came before is what the signer approved. */
        r = sha256_parts((const void *[]){ zero.buffer, cc, key_name->name },
                         (const size_t[]){ zero.size, cc_off, key_name->size }, 3, &d);
        if (r < 0)
                return r;
        TPM2B_DIGEST old = d;
        r = sha256_parts((const void *[]){ old.buffer, ref.buffer }, (const size_t[]){ old.size, ref.size },
                         2, &d);
        if (r < 0)
                return r;
        if (with_pin) {
                r = tpm2_policy_extend_auth_value(&d);
                if (r < 0)
                        return r;
        }
        *ret = d;
        return 0;
}

static int apply_authorize(Tpm2Context *c, ESYS_TR session, const TPM2B_DIGEST *approved,
                           const TPM2B_NAME *key_name, const TPMT_TK_VERIFIED *ticket, bool with_pin) {
        TPM2B_NONCE ref;
        TSS2_RC rc;

        (void) policy_ref(&ref);
        rc = Esys_PolicyAuthorize(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  approved, &ref, key_name, ticket);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "PolicyAuthorize failed: %m");
        if (with_pin) {
                rc = Esys_PolicyAuthValue(tpm2_context_esys(c), session, ESYS_TR_NONE, ESYS_TR_NONE,
                                          ESYS_TR_NONE);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "PolicyAuthValue failed: %m");
        }
        return 0;
}

int tpm2_policy_trial_authorize(Tpm2Context *c, const TPM2B_NAME *key_name, bool with_pin, TPM2B_DIGEST *ret) {
        /* A trial session does not check the ticket: a null ticket and no approved policy suffice. */
        static const TPMT_TK_VERIFIED null_ticket = { .tag = TPM2_ST_VERIFIED, .hierarchy = TPM2_RH_NULL };
        static const TPM2B_DIGEST none = {};
        ESYS_TR session = ESYS_TR_NONE;
        int r;

        assert(c);
        assert(key_name);
        assert(ret);

        r = start_session(c, ESYS_TR_NONE, TPM2_SE_TRIAL, &session);
        if (r < 0)
                return r;
        r = apply_authorize(c, session, &none, key_name, &null_ticket, with_pin);
        if (r >= 0)
                r = session_digest(c, session, ret);
        tpm2_flush(c, &session);
        return r;
}

int tpm2_policy_apply_authorize(Tpm2Context *c, ESYS_TR session, const Tpm2SignedPolicyEntry *e,
                                const TPM2B_PUBLIC *key, bool with_pin) {
        ESYS_TR handle = ESYS_TR_NONE;
        TPMT_TK_VERIFIED *ticket = NULL;
        TPM2B_DIGEST pcr_digest, ahash;
        TPM2B_NAME name;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(e);
        assert(key);

        r = tpm2_public_name(key, &name);
        if (r < 0)
                return r;
        r = tpm2_policy_pcr_values_digest(e->bank, e->pcr_mask, e->values, e->n_values, &pcr_digest);
        if (r < 0)
                return r;
        r = tpm2_signed_policy_ahash(&e->policy, &ahash);
        if (r < 0)
                return r;

        r = tpm2_policy_apply(c, session, e->bank, e->pcr_mask, &pcr_digest, false);
        if (r < 0)
                return r;

        /* Owner hierarchy, not null: for a key in the null hierarchy VerifySignature returns a null ticket,
         * which PolicyAuthorize refuses. LoadExternal of a public key needs no authorization. */
        rc = Esys_LoadExternal(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, key,
                               ESYS_TR_RH_OWNER, &handle);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "LoadExternal of the authorizing key failed: %m");
        r = tpm2_context_track(c, handle);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), handle);
                return r;
        }

        rc = Esys_VerifySignature(tpm2_context_esys(c), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &ahash, &e->signature, &ticket);
        tpm2_flush(c, &handle);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                /* A signature that does not verify, or does not fit the key: the file's fault, not a sign of a
                 * broken TPM connection (the daemon reopens its connection on -EIO/-EBADMSG). */
                if (r != -ENOSPC && r != -EIO && r != -EBUSY)
                        r = -EKEYREJECTED;
                return log_debug_errno(r, "VerifySignature refused the policy signature (0x%x): %m", rc);
        }

        r = apply_authorize(c, session, &e->policy, &name, ticket, with_pin);
        Esys_Free(ticket);
        return r;
}

int tpm2_policy_session_start(Tpm2Context *c, ESYS_TR srk, ESYS_TR *ret_session) {
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_session);

        /* Unsalted, the session key would be derivable from the nonces on the bus. */
        if (srk == ESYS_TR_NONE)
                return -EINVAL;

        r = start_session(c, srk, TPM2_SE_POLICY, &session);
        if (r < 0)
                return r;

        /* Unseal has no command parameter to hide, only its response: ENCRYPT, not DECRYPT (the TPM
         * refuses DECRYPT on a command without an encryptable first parameter). */
        rc = Esys_TRSess_SetAttributes(tpm2_context_esys(c), session,
                                       TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "Failed to set session attributes: %m");
                tpm2_flush(c, &session);
                return r;
        }
        *ret_session = session;
        return 0;
}
