/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <limits.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define BLOB_MAGIC "TPSB"
#define BLOB_VERSION 1
#define BLOB_VERSION_AUTHORIZE 2
#define BLOB_FLAG_PIN 1U
#define BLOB_FLAG_ENVELOPE 2U
#define BLOB_FLAG_AUTHORIZE 4U
#define BLOB_FLAG_SRK_ONLY 8U
#define ENVELOPE_KEY_SIZE 32U
/* Binds the envelope ciphertext to this format. */
static const uint8_t envelope_aad[] = "trusted-platform sealed blob v1";

Tpm2SealedBlob *tpm2_sealed_blob_free(Tpm2SealedBlob *b) {
        if (!b)
                return NULL;
        free(b->ciphertext);
        free(b);
        return NULL;
}

static TPMA_OBJECT sealed_attributes(bool with_pin) {
        /* No userWithAuth: the policy is the only way in. No sensitiveDataOrigin: we supply the data.
         * noDA only without a PIN: with one, guessing must count against the lockout. */
        return TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | (with_pin ? 0 : TPMA_OBJECT_NODA);
}

/* Everything tpm2_seal() puts into a public area, checked on what the TPM returns and on every blob
 * parsed: a blob with userWithAuth set would open with the empty password. */
static int check_sealed_public(const TPMT_PUBLIC *p, bool with_pin, const TPM2B_DIGEST *policy) {
        if (p->type != TPM2_ALG_KEYEDHASH || p->nameAlg != TPM2_POLICY_HASH ||
            p->objectAttributes != sealed_attributes(with_pin) ||
            p->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL ||
            p->unique.keyedHash.size != TPM2_POLICY_DIGEST_SIZE ||
            p->authPolicy.size != TPM2_POLICY_DIGEST_SIZE)
                return -EBADMSG;
        if (policy && memcmp(p->authPolicy.buffer, policy->buffer, TPM2_POLICY_DIGEST_SIZE) != 0)
                return -EBADMSG;
        return 0;
}

static int envelope_crypt(bool encrypt, const uint8_t key[static ENVELOPE_KEY_SIZE],
                          const uint8_t iv[static TPM2_SEAL_ENVELOPE_IV_SIZE],
                          uint8_t tag[static TPM2_SEAL_ENVELOPE_TAG_SIZE], const uint8_t *in, size_t size,
                          uint8_t *out) {
        EVP_CIPHER_CTX *ctx;
        int len = 0, ok;

        if (size > INT_MAX)
                return -EINVAL;

        ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;

        ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) &&
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TPM2_SEAL_ENVELOPE_IV_SIZE, NULL) &&
                EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, encrypt) &&
                EVP_CipherUpdate(ctx, NULL, &len, envelope_aad, sizeof(envelope_aad)) &&
                EVP_CipherUpdate(ctx, out, &len, in, (int) size) && (size_t) len == size;
        if (ok && !encrypt)
                ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TPM2_SEAL_ENVELOPE_TAG_SIZE, tag);
        if (ok)
                ok = EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
        if (ok && encrypt)
                ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TPM2_SEAL_ENVELOPE_TAG_SIZE, tag);
        EVP_CIPHER_CTX_free(ctx);

        if (!ok) {
                erase_mem(out, size);
                return encrypt ? -EIO : -EBADMSG;
        }
        return 0;
}

static int collect_expected(Tpm2Context *c, const Tpm2SealOptions *opts, uint16_t bank, Tpm2SealedBlob *b,
                            Tpm2Error *error) {
        _cleanup_free_ Tpm2PcrValue *current = NULL;
        const Tpm2PcrValue *v = opts->expected;
        size_t n = opts->n_expected;
        int r;

        if (!v) {
                r = tpm2_pcr_read(c, bank, opts->pcr_mask, &current, &n);
                if (r < 0)
                        return tpm2_error_set(error, r, "cannot read the %s PCRs to seal against: %s",
                                              strna(tpm2_hash_alg_to_string(bank)), strerror(-r));
                v = current;
        }

        if (n > TPM2_PCRS_MAX)
                return tpm2_error_set(error, -EINVAL, "too many expected PCR values");
        memcpy(b->expected, v, n * sizeof(Tpm2PcrValue));
        b->n_expected = n;
        return 0;
}

static int seal_in_tpm(Tpm2Context *c, ESYS_TR srk, ESYS_TR session, const TPM2B_DIGEST *policy,
                       const TPM2B_AUTH *auth, const void *data, size_t size, Tpm2SealedBlob *b) {
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_PUBLIC template = {
                .publicArea = {
                        .type = TPM2_ALG_KEYEDHASH,
                        .nameAlg = TPM2_POLICY_HASH,
                        .objectAttributes = sealed_attributes(b->has_pin),
                        .authPolicy = *policy,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                },
        };
        static const TPM2B_DATA no_data = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_PRIVATE *priv = NULL;
        TSS2_RC rc;
        int r;

        assert(size <= sizeof(sensitive.sensitive.data.buffer));

        sensitive.sensitive.data.size = size;
        memcpy(sensitive.sensitive.data.buffer, data, size);
        if (auth)
                sensitive.sensitive.userAuth = *auth;

        /* The salted session authorizes the SRK and encrypts inSensitive (first parameter) on the way in. */
        rc = Esys_Create(tpm2_context_esys(c), srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                         &template, &no_data, &no_pcrs, &priv, &pub, NULL, NULL, NULL);
        erase_mem(&sensitive, sizeof(sensitive));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Create of the sealed object failed: %m");

        /* CVE-2020-24455: what the TPM made must carry the policy we computed, nothing weaker. */
        r = check_sealed_public(&pub->publicArea, b->has_pin, policy);
        if (r < 0)
                log_debug("The TPM returned a sealed object with other attributes or policy than asked");
        else {
                b->public = *pub;
                b->private = *priv;
        }
        Esys_Free(pub);
        Esys_Free(priv);
        return r;
}

int tpm2_seal(Tpm2Context *c, const Tpm2SealOptions *opts, const void *secret, size_t size,
              Tpm2SealedBlob **ret, Tpm2Error *error) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        uint8_t key[ENVELOPE_KEY_SIZE];
        TPM2B_DIGEST pcr_digest, policy, trial;
        TPM2B_AUTH auth = {};
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        uint16_t bank;
        int r;

        assert(c);
        assert(opts);
        assert(ret);

        bank = opts->bank ?: TPM2_ALG_SHA256;
        if (opts->srk_only) {
                if (opts->pcr_mask != 0 || opts->expected || opts->authorize_key)
                        return tpm2_error_set(error, -EINVAL,
                                              "sealing to the SRK alone takes no PCR selection or signing key");
        } else if (opts->authorize_key) {
                if (opts->pcr_mask != 0 || opts->expected)
                        return tpm2_error_set(error, -EINVAL,
                                              "sealing to a signing key binds PCRs through the signed "
                                              "policies, not through a PCR selection");
                if (!tpm2_authorize_key_public_ok(&opts->authorize_key->publicArea))
                        return tpm2_error_set(error, -EINVAL,
                                              "the authorizing key must be RSA 2048..4096 (exponent 65537) "
                                              "or ECC P-256");
        } else {
                r = tpm2_policy_check_selection(bank, opts->pcr_mask, error);
                if (r < 0)
                        return r;
        }
        if (!secret || size == 0 || size > TPM2_SEAL_SECRET_MAX)
                return tpm2_error_set(error, -EINVAL, "the secret must be 1..%u bytes", TPM2_SEAL_SECRET_MAX);
        if (opts->pin && opts->pin[0] == 0)
                return tpm2_error_set(error, -EINVAL, "an empty PIN is no PIN");

        b = calloc(1, sizeof(Tpm2SealedBlob));
        if (!b)
                return -ENOMEM;
        b->has_pin = opts->pin;
        b->envelope = size > TPM2_SEAL_DIRECT_MAX;

        if (opts->srk_only) {
                b->srk_only = true;
                r = tpm2_policy_compute_srk_only(b->has_pin, &policy);
                if (r < 0)
                        return tpm2_error_set(error, r, "cannot compute the policy digest");
                r = tpm2_policy_trial_srk_only(c, b->has_pin, &trial);
        } else if (opts->authorize_key) {
                TPM2B_NAME name;

                b->authorize = true;
                b->authorize_key = *opts->authorize_key;
                r = tpm2_public_name(&b->authorize_key, &name);
                if (r >= 0)
                        r = tpm2_policy_compute_authorize(&name, b->has_pin, &policy);
                if (r < 0)
                        return tpm2_error_set(error, r, "cannot compute the policy digest");
                r = tpm2_policy_trial_authorize(c, &name, b->has_pin, &trial);
        } else {
                b->bank = bank;
                b->pcr_mask = opts->pcr_mask;
                r = collect_expected(c, opts, bank, b, error);
                if (r < 0)
                        return r;
                r = tpm2_policy_pcr_values_digest(bank, b->pcr_mask, b->expected, b->n_expected, &pcr_digest);
                if (r < 0)
                        return tpm2_error_set(error, r,
                                              "the expected PCR values must be one per selected PCR, "
                                              "sorted, of the bank's digest size");
                r = tpm2_policy_compute(bank, b->pcr_mask, &pcr_digest, b->has_pin, &policy);
                if (r < 0)
                        return tpm2_error_set(error, r, "cannot compute the policy digest");
                r = tpm2_policy_trial(c, bank, b->pcr_mask, &pcr_digest, b->has_pin, &trial);
        }

        /* Our own digest and the TPM's must agree before anything is sealed against it. */
        if (r < 0)
                return tpm2_error_set(error, r, "the TPM refused the policy: %s", strerror(-r));
        if (trial.size != policy.size || memcmp(trial.buffer, policy.buffer, policy.size) != 0)
                return tpm2_error_set(error, -EBADMSG, "the TPM computed another policy digest than ours");

        if (b->envelope) {
                b->ciphertext = malloc(size);
                if (!b->ciphertext)
                        return -ENOMEM;
                b->ciphertext_size = size;
                if (RAND_priv_bytes(key, sizeof(key)) != 1 || RAND_bytes(b->iv, sizeof(b->iv)) != 1)
                        return tpm2_error_set(error, -EIO, "no random bytes for the envelope key");
                r = envelope_crypt(true, key, b->iv, b->tag, secret, size, b->ciphertext);
                if (r < 0) {
                        erase_mem(key, sizeof(key));
                        return tpm2_error_set(error, r, "envelope encryption failed");
                }
        }

        if (opts->pin) {
                r = tpm2_pin_auth(opts->pin, &auth);
                if (r < 0)
                        goto finish;
        }

        r = tpm2_srk_provision(c, opts->state_dir, false, &srk, NULL);
        if (r < 0) {
                tpm2_error_set(error, r, "no usable storage root key: %s", strerror(-r));
                goto finish;
        }
        r = tpm2_session_start_salted(c, srk, &session);
        if (r >= 0)
                r = seal_in_tpm(c, srk, session, &policy, opts->pin ? &auth : NULL,
                                b->envelope ? key : secret, b->envelope ? sizeof(key) : size, b);
        if (r < 0)
                tpm2_error_set(error, r, "sealing failed: %s", strerror(-r));

finish:
        erase_mem(key, sizeof(key));
        erase_mem(&auth, sizeof(auth));
        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

/* After a policy failure: which PCR moved, with both values. */
static int explain_pcr_mismatch(Tpm2Context *c, const Tpm2SealedBlob *b, Tpm2Error *error) {
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        const char *bank = strna(tpm2_hash_alg_to_string(b->bank));
        char text[sizeof(error->message)] = "";
        size_t n = 0, len = 0, differ = 0;
        int r;

        r = tpm2_pcr_read(c, b->bank, b->pcr_mask, &now, &n);
        if (r < 0 || n != b->n_expected)
                return tpm2_error_set(error, -EPERM,
                                      "the PCR policy is not satisfied (current %s PCRs unreadable)", bank);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *want = NULL, *have = NULL;

                if (now[i].size == b->expected[i].size &&
                    memcmp(now[i].digest, b->expected[i].digest, now[i].size) == 0)
                        continue;

                if (hexmem(b->expected[i].digest, b->expected[i].size, &want) < 0 ||
                    hexmem(now[i].digest, now[i].size, &have) < 0)
                        return -ENOMEM;
                if (len < sizeof(text))
                        len += snprintf(
                                text + len, sizeof(text) - len,
                                "%sPCR %u (%s) differs from the value sealed against: expected %s, now %s",
                                differ > 0 ? "; " : "", now[i].index, bank, want, have);
                differ++;
        }

        if (differ == 0)
                return tpm2_error_set(error, -EPERM,
                                      "the PCR policy is not satisfied, though the %s PCRs read "
                                      "back as sealed against (changed in between?)",
                                      bank);
        return tpm2_error_set(error, -EPERM, "%s", text);
}

static int apply_policy(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicyEntry *entry,
                        ESYS_TR session, Tpm2Error *error) {
        TPM2B_DIGEST pcr_digest;
        int r;

        if (b->srk_only) {
                r = tpm2_policy_apply_srk_only(c, session, b->has_pin);
                if (r < 0)
                        return tpm2_error_set(error, r, "the TPM refused the policy: %s", strerror(-r));
                return 0;
        }
        if (b->authorize) {
                r = tpm2_policy_apply_authorize(c, session, entry, &b->authorize_key, b->has_pin);
                if (r == -EPERM)
                        return tpm2_error_set(error, r, "the %s PCRs changed while unsealing",
                                              strna(tpm2_hash_alg_to_string(entry->bank)));
                /* The policy is not satisfied: -EPERM like a PCR mismatch, so callers treat both alike. */
                if (r == -EKEYREJECTED)
                        return tpm2_error_set(error, -EPERM,
                                              "the TPM refused the signed policy's signature (tampered with, "
                                              "or not made by the key the secret is sealed to)");
                if (r < 0)
                        return tpm2_error_set(error, r, "the TPM refused the signed policy: %s", strerror(-r));
                return 0;
        }

        r = tpm2_policy_pcr_values_digest(b->bank, b->pcr_mask, b->expected, b->n_expected, &pcr_digest);
        if (r < 0)
                return tpm2_error_set(error, -EBADMSG, "the sealed blob's PCR values are inconsistent");
        r = tpm2_policy_apply(c, session, b->bank, b->pcr_mask, &pcr_digest, b->has_pin);
        if (r == -EPERM)
                return explain_pcr_mismatch(c, b, error);
        if (r < 0)
                return tpm2_error_set(error, r, "the TPM refused the policy: %s", strerror(-r));
        return 0;
}

static int unseal_in_tpm(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicyEntry *entry,
                         const char *pin, ESYS_TR srk, ESYS_TR *policy_session, ESYS_TR *object,
                         TPM2B_SENSITIVE_DATA **ret, Tpm2Error *error) {
        TPM2B_AUTH auth = {};
        TSS2_RC rc;
        int r;

        /* Load carries no secret (the private part is wrapped by the SRK) and the unseal session below is
         * salted to the pinned SRK, which a substituted key cannot answer: a password session suffices
         * here and saves a second salted session start. */
        rc = Esys_Load(tpm2_context_esys(c), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &b->private,
                       &b->public, object);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                /* Integrity or size failures: not ours, or tampered with. */
                if (r != -ENOSPC && r != -EIO && r != -EBUSY)
                        r = -EBADMSG;
                return tpm2_error_set(error, r,
                                      "the TPM refused to load the sealed object (tampered with, or "
                                      "sealed by another TPM or SRK)");
        }
        r = tpm2_context_track(c, *object);
        if (r < 0)
                return r;

        r = tpm2_policy_session_start(c, srk, policy_session);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot start a salted policy session: %s", strerror(-r));

        r = apply_policy(c, b, entry, *policy_session, error);
        if (r < 0)
                return r;

        if (b->has_pin) {
                r = tpm2_pin_auth(pin, &auth);
                if (r < 0)
                        return r;
                rc = Esys_TR_SetAuth(tpm2_context_esys(c), *object, &auth);
                erase_mem(&auth, sizeof(auth));
                if (rc != TSS2_RC_SUCCESS)
                        return tss2_rc_to_errno(rc);
        }

        /* The Unseal is the session's last use: with continueSession clear the TPM flushes the session
         * itself when the command succeeds (TPM 2.0 Part 1 §19.6), one FlushContext round trip less. The
         * attribute is part of the authorization HMAC, so nobody on the bus can set it back unnoticed (and
         * a session kept alive would only cost a TPM slot). After a failure the session stays loaded and
         * unseal_common() flushes it as before. */
        rc = Esys_TRSess_SetAttributes(tpm2_context_esys(c), *policy_session, 0, TPMA_SESSION_CONTINUESESSION);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        rc = Esys_Unseal(tpm2_context_esys(c), *object, *policy_session, ESYS_TR_NONE, ESYS_TR_NONE, ret);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                if (r == -EACCES || r == -ENOLCK)
                        return tpm2_explain_auth_failure(c, r, error);
                if (r == -EPERM && b->srk_only)
                        return tpm2_error_set(error, r, "the TPM refused the sealed object's policy");
                if (r == -EPERM)
                        return b->authorize ? tpm2_error_set(error, r, "the signed policy is not satisfied")
                                            : explain_pcr_mismatch(c, b, error);
                return tpm2_error_set(error, r, "unseal failed: %s", strerror(-r));
        }
        tpm2_session_forget(c, policy_session);
        return 0;
}

static int unseal_common(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicyEntry *entry,
                         const char *pin, const TPM2B_NAME *srk_name, void **ret_secret, size_t *ret_size,
                         Tpm2Error *error) {
        ESYS_TR srk = ESYS_TR_NONE, policy_session = ESYS_TR_NONE, object = ESYS_TR_NONE;
        TPM2B_SENSITIVE_DATA *data = NULL;
        _cleanup_erase_free_ uint8_t *secret = NULL;
        size_t size = 0;
        int r;

        assert(c);
        assert(b);
        assert(ret_secret);
        assert(ret_size);

        if (b->has_pin && (!pin || pin[0] == 0))
                return tpm2_error_set(error, -EACCES, "this secret is sealed with a PIN, and none was given");

        if (srk_name) {
                r = tpm2_srk_open_expected(c, srk_name, &srk);
                if (r == -EKEYREJECTED)
                        return tpm2_error_set(error, r,
                                              "the storage root key at 0x%x is not the one the secret was "
                                              "sealed under (replaced, or someone answers in its place)",
                                              TPM2_SRK_HANDLE);
        } else
                r = tpm2_srk_provision(c, NULL, false, &srk, NULL);
        if (r < 0)
                return tpm2_error_set(error, r, "no usable storage root key: %s", strerror(-r));

        r = unseal_in_tpm(c, b, entry, pin, srk, &policy_session, &object, &data, error);

        tpm2_flush(c, &object);
        tpm2_flush(c, &policy_session);
        tpm2_flush(c, &srk);
        if (r < 0)
                goto finish;

        if (b->envelope) {
                if (data->size != ENVELOPE_KEY_SIZE) {
                        r = tpm2_error_set(error, -EBADMSG, "the sealed envelope key has the wrong size");
                        goto finish;
                }
                secret = malloc(MAX(b->ciphertext_size, 1U));
                if (!secret) {
                        r = -ENOMEM;
                        goto finish;
                }
                uint8_t tag[TPM2_SEAL_ENVELOPE_TAG_SIZE];
                memcpy(tag, b->tag, sizeof(tag));
                r = envelope_crypt(false, data->buffer, b->iv, tag, b->ciphertext, b->ciphertext_size, secret);
                if (r < 0) {
                        r = tpm2_error_set(error, r, "the sealed secret's ciphertext was tampered with");
                        goto finish;
                }
                size = b->ciphertext_size;
        } else {
                secret = malloc(MAX(data->size, 1U));
                if (!secret) {
                        r = -ENOMEM;
                        goto finish;
                }
                memcpy(secret, data->buffer, data->size);
                size = data->size;
        }

        *ret_secret = TAKE_PTR(secret);
        *ret_size = size;
        r = 0;
finish:
        if (data) {
                erase_mem(data, sizeof(*data));
                Esys_Free(data);
        }
        return r;
}

int tpm2_unseal(Tpm2Context *c, const Tpm2SealedBlob *b, const char *pin, void **ret_secret,
                size_t *ret_size, Tpm2Error *error) {
        assert(b);

        if (b->authorize)
                return tpm2_error_set(
                        error, -EINVAL,
                        "this secret is sealed to a signing key: unsealing needs a signed policy");
        return unseal_common(c, b, NULL, pin, NULL, ret_secret, ret_size, error);
}

/* Appends "PCR 7 (sha256) is ab12…, the policy signed cd34…" for every PCR of e that differs from now. */
static void describe_entry_mismatch(const Tpm2SignedPolicyEntry *e, const Tpm2PcrValue *now, size_t n,
                                    char *text, size_t text_size, size_t *len, size_t *differ) {
        const char *bank = strna(tpm2_hash_alg_to_string(e->bank));

        for (size_t i = 0; i < n && i < e->n_values; i++) {
                _cleanup_free_ char *want = NULL, *have = NULL;

                if (now[i].size == e->values[i].size &&
                    memcmp(now[i].digest, e->values[i].digest, now[i].size) == 0)
                        continue;
                if (hexmem(e->values[i].digest, e->values[i].size, &want) < 0 ||
                    hexmem(now[i].digest, now[i].size, &have) < 0)
                        return;
                if (*len < text_size)
                        *len += snprintf(text + *len, text_size - *len,
                                         "%sPCR %u (%s) is %s, the policy signed %s",
                                         *differ > 0 ? "; " : "", e->values[i].index, bank, have, want);
                (*differ)++;
        }
}

static int unseal_signed(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicy *policy,
                         const char *pin, const TPM2B_NAME *srk_name, void **ret_secret, size_t *ret_size,
                         Tpm2Error *error) {
        char text[sizeof(error->message)] = "";
        size_t len = 0, differ = 0, signed_by_key = 0;
        TPM2B_NAME name;
        int r;

        assert(c);
        assert(b);
        assert(policy);

        if (!b->authorize)
                return tpm2_error_set(error, -EINVAL,
                                      "this secret is sealed to PCR values, not to a signing key: no signed "
                                      "policy applies");
        r = tpm2_public_name(&b->authorize_key, &name);
        if (r < 0)
                return tpm2_error_set(error, -EBADMSG, "the sealed blob's authorizing key is unusable");

        for (size_t i = 0; i < policy->n_entries; i++) {
                const Tpm2SignedPolicyEntry *e = policy->entries + i;
                _cleanup_free_ Tpm2PcrValue *now = NULL;
                size_t n = 0;
                bool match = true;

                if (!tpm2_name_equal(&e->key_name, &name))
                        continue;
                signed_by_key++;

                r = tpm2_pcr_read(c, e->bank, e->pcr_mask, &now, &n);
                if (r < 0)
                        return tpm2_error_set(error, r, "cannot read the %s PCRs of the signed policy: %s",
                                              strna(tpm2_hash_alg_to_string(e->bank)), strerror(-r));
                for (size_t j = 0; j < n; j++)
                        if (j >= e->n_values || now[j].size != e->values[j].size ||
                            memcmp(now[j].digest, e->values[j].digest, now[j].size) != 0)
                                match = false;
                if (match && n == e->n_values)
                        return unseal_common(c, b, e, pin, srk_name, ret_secret, ret_size, error);

                describe_entry_mismatch(e, now, n, text, sizeof(text), &len, &differ);
        }

        if (signed_by_key == 0) {
                _cleanup_free_ char *want = NULL;

                (void) hexmem(name.name, name.size, &want);
                return tpm2_error_set(error, -EPERM,
                                      "no entry of the signed policy is signed by the key the secret is sealed "
                                      "to (key %s)",
                                      strna(want));
        }
        return tpm2_error_set(error, -EPERM, "no signed policy matches the current PCRs: %s", text);
}

int tpm2_unseal_signed(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicy *policy,
                       const char *pin, void **ret_secret, size_t *ret_size, Tpm2Error *error) {
        return unseal_signed(c, b, policy, pin, NULL, ret_secret, ret_size, error);
}

int tpm2_unseal_with(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2UnsealOptions *opts,
                     void **ret_secret, size_t *ret_size, Tpm2Error *error) {
        assert(c);
        assert(b);
        assert(opts);

        if (b->authorize) {
                if (!opts->signed_policy)
                        return tpm2_error_set(error, -ENOENT,
                                              "this secret is sealed to a signing key: unsealing needs a "
                                              "signed policy");
                return unseal_signed(c, b, opts->signed_policy, opts->pin, opts->srk_name, ret_secret,
                                     ret_size, error);
        }
        return unseal_common(c, b, NULL, opts->pin, opts->srk_name, ret_secret, ret_size, error);
}

/* Serialization. */

static void put_u16(uint8_t *p, size_t *o, uint16_t v) {
        p[(*o)++] = v >> 8;
        p[(*o)++] = v;
}

static void put_u32(uint8_t *p, size_t *o, uint32_t v) {
        put_u16(p, o, v >> 16);
        put_u16(p, o, v);
}

int tpm2_sealed_blob_serialize(const Tpm2SealedBlob *b, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t max, o = 0;

        assert(b);
        assert(ret);
        assert(ret_size);

        if (b->n_expected > TPM2_PCRS_MAX || b->ciphertext_size > TPM2_SEAL_SECRET_MAX ||
            b->envelope != (b->ciphertext_size > 0))
                return -EINVAL;

        max = 12 + TPM2_PCRS_MAX * 64 + 2 * sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) +
                TPM2_SEAL_ENVELOPE_IV_SIZE + TPM2_SEAL_ENVELOPE_TAG_SIZE + 4 + b->ciphertext_size;
        buf = malloc(max);
        if (!buf)
                return -ENOMEM;

        memcpy(buf, BLOB_MAGIC, 4);
        o = 4;
        buf[o++] = b->authorize ? BLOB_VERSION_AUTHORIZE : BLOB_VERSION;
        buf[o++] = (b->has_pin ? BLOB_FLAG_PIN : 0) | (b->envelope ? BLOB_FLAG_ENVELOPE : 0) |
                (b->authorize ? BLOB_FLAG_AUTHORIZE : 0) | (b->srk_only ? BLOB_FLAG_SRK_ONLY : 0);
        put_u16(buf, &o, b->authorize || b->srk_only ? 0 : b->bank);
        put_u32(buf, &o, b->authorize || b->srk_only ? 0 : b->pcr_mask);
        if (b->authorize && Tss2_MU_TPM2B_PUBLIC_Marshal(&b->authorize_key, buf, max, &o) != TSS2_RC_SUCCESS)
                return -EINVAL;
        for (size_t i = 0; !b->authorize && !b->srk_only && i < b->n_expected; i++) {
                if (b->expected[i].size > sizeof(b->expected[i].digest))
                        return -EINVAL;
                memcpy(buf + o, b->expected[i].digest, b->expected[i].size);
                o += b->expected[i].size;
        }
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&b->public, buf, max, &o) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PRIVATE_Marshal(&b->private, buf, max, &o) != TSS2_RC_SUCCESS)
                return -EINVAL;
        if (b->envelope) {
                memcpy(buf + o, b->iv, sizeof(b->iv));
                o += sizeof(b->iv);
                memcpy(buf + o, b->tag, sizeof(b->tag));
                o += sizeof(b->tag);
                put_u32(buf, &o, b->ciphertext_size);
                memcpy(buf + o, b->ciphertext, b->ciphertext_size);
                o += b->ciphertext_size;
        }

        *ret = TAKE_PTR(buf);
        *ret_size = o;
        return 0;
}

static bool take(const uint8_t *p, size_t size, size_t *o, void *out, size_t n) {
        if (n > size - *o)
                return false;
        memcpy(out, p + *o, n);
        *o += n;
        return true;
}

/* tss2-mu does not hold the TPMT_PUBLIC to the TPM2B's size field: check it ourselves, or a blob with a
 * lying size would parse. */
static int parse_public(const uint8_t *p, size_t size, size_t *o, TPM2B_PUBLIC *ret) {
        size_t start = *o, pub_size;

        if (size - *o < 2)
                return -EBADMSG;
        pub_size = (size_t) p[*o] << 8 | p[*o + 1];
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, size, o, ret) != TSS2_RC_SUCCESS || *o - start != 2 + pub_size)
                return -EBADMSG;
        return 0;
}

int tpm2_sealed_blob_parse(const void *data, size_t size, Tpm2SealedBlob **ret) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        const uint8_t *p = data;
        uint8_t hdr[12], u32[4];
        TPM2B_DIGEST pcr_digest, policy;
        size_t o = 0, dsize, n;
        uint8_t flags;

        assert(data || size == 0);
        assert(ret);

        if (!take(p, size, &o, hdr, sizeof(hdr)) || memcmp(hdr, BLOB_MAGIC, 4) != 0 ||
            (hdr[4] != BLOB_VERSION && hdr[4] != BLOB_VERSION_AUTHORIZE))
                return -EBADMSG;
        flags = hdr[5];
        if (flags & ~(BLOB_FLAG_PIN | BLOB_FLAG_ENVELOPE | BLOB_FLAG_AUTHORIZE | BLOB_FLAG_SRK_ONLY))
                return -EBADMSG;
        if ((flags & BLOB_FLAG_SRK_ONLY) && (flags & BLOB_FLAG_AUTHORIZE))
                return -EBADMSG;
        /* One encoding per blob: version 2 exactly for blobs sealed to an authorizing key. */
        if (!!(flags & BLOB_FLAG_AUTHORIZE) != (hdr[4] == BLOB_VERSION_AUTHORIZE))
                return -EBADMSG;

        b = calloc(1, sizeof(Tpm2SealedBlob));
        if (!b)
                return -ENOMEM;
        b->has_pin = flags & BLOB_FLAG_PIN;
        b->envelope = flags & BLOB_FLAG_ENVELOPE;
        b->authorize = flags & BLOB_FLAG_AUTHORIZE;
        b->srk_only = flags & BLOB_FLAG_SRK_ONLY;
        b->bank = (uint16_t) hdr[6] << 8 | hdr[7];
        b->pcr_mask = (uint32_t) hdr[8] << 24 | (uint32_t) hdr[9] << 16 | (uint32_t) hdr[10] << 8 | hdr[11];
        if (b->authorize) {
                if (b->bank != 0 || b->pcr_mask != 0 || parse_public(p, size, &o, &b->authorize_key) < 0 ||
                    !tpm2_authorize_key_public_ok(&b->authorize_key.publicArea))
                        return -EBADMSG;
        } else if (b->srk_only) {
                if (b->bank != 0 || b->pcr_mask != 0)
                        return -EBADMSG;
        } else if (tpm2_policy_check_selection(b->bank, b->pcr_mask, NULL) < 0)
                return -EBADMSG;

        dsize = tpm2_hash_alg_digest_size(b->bank);
        n = 0;
        for (uint32_t i = 0; !b->authorize && !b->srk_only && i < TPM2_PCRS_MAX; i++) {
                if (!(b->pcr_mask & (UINT32_C(1) << i)))
                        continue;
                b->expected[n] = (Tpm2PcrValue){ .index = i, .bank = b->bank, .size = dsize };
                if (!take(p, size, &o, b->expected[n].digest, dsize))
                        return -EBADMSG;
                n++;
        }
        b->n_expected = n;

        if (parse_public(p, size, &o, &b->public) < 0 ||
            Tss2_MU_TPM2B_PRIVATE_Unmarshal(p, size, &o, &b->private) != TSS2_RC_SUCCESS ||
            b->private.size == 0)
                return -EBADMSG;

        /* The policy in the public area must be the one the stored PCR values or key give
         * (CVE-2020-24455): a blob cannot claim one binding and carry a weaker one. */
        if (b->srk_only) {
                if (tpm2_policy_compute_srk_only(b->has_pin, &policy) < 0)
                        return -EBADMSG;
        } else if (b->authorize) {
                TPM2B_NAME name;

                if (tpm2_public_name(&b->authorize_key, &name) < 0 ||
                    tpm2_policy_compute_authorize(&name, b->has_pin, &policy) < 0)
                        return -EBADMSG;
        } else if (tpm2_policy_pcr_values_digest(b->bank, b->pcr_mask, b->expected, n, &pcr_digest) < 0 ||
                   tpm2_policy_compute(b->bank, b->pcr_mask, &pcr_digest, b->has_pin, &policy) < 0)
                return -EBADMSG;
        if (check_sealed_public(&b->public.publicArea, b->has_pin, &policy) < 0)
                return -EBADMSG;

        if (b->envelope) {
                uint32_t ct;

                if (!take(p, size, &o, b->iv, sizeof(b->iv)) || !take(p, size, &o, b->tag, sizeof(b->tag)) ||
                    !take(p, size, &o, u32, sizeof(u32)))
                        return -EBADMSG;
                ct = (uint32_t) u32[0] << 24 | (uint32_t) u32[1] << 16 | (uint32_t) u32[2] << 8 | u32[3];
                /* Envelopes exist only for secrets too large to seal directly. */
                if (ct <= TPM2_SEAL_DIRECT_MAX || ct > TPM2_SEAL_SECRET_MAX || ct > size - o)
                        return -EBADMSG;
                b->ciphertext = malloc(ct);
                if (!b->ciphertext)
                        return -ENOMEM;
                b->ciphertext_size = ct;
                (void) take(p, size, &o, b->ciphertext, ct);
        }

        if (o != size)
                return -EBADMSG;

        *ret = TAKE_PTR(b);
        return 0;
}
