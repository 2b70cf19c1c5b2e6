/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/pem.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "shared/json-util.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define ECC_P256_SIZE 32U
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096


static const TPMA_OBJECT authorize_key_attributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;

bool tpm2_authorize_key_public_ok(const TPMT_PUBLIC *p) {
        assert(p);

        if (p->nameAlg != TPM2_ALG_SHA256 || p->objectAttributes != authorize_key_attributes ||
            p->authPolicy.size != 0)
                return false;

        switch (p->type) {
        case TPM2_ALG_RSA:
                return p->parameters.rsaDetail.symmetric.algorithm == TPM2_ALG_NULL &&
                        p->parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL &&
                        p->parameters.rsaDetail.keyBits >= RSA_BITS_MIN &&
                        p->parameters.rsaDetail.keyBits <= RSA_BITS_MAX &&
                        p->parameters.rsaDetail.keyBits % 8 == 0 && p->parameters.rsaDetail.exponent == 0 &&
                        p->unique.rsa.size == p->parameters.rsaDetail.keyBits / 8;
        case TPM2_ALG_ECC:
                return p->parameters.eccDetail.symmetric.algorithm == TPM2_ALG_NULL &&
                        p->parameters.eccDetail.scheme.scheme == TPM2_ALG_NULL &&
                        p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
                        p->parameters.eccDetail.kdf.scheme == TPM2_ALG_NULL &&
                        p->unique.ecc.x.size == ECC_P256_SIZE && p->unique.ecc.y.size == ECC_P256_SIZE;
        default:
                return false;
        }
}

static int bn_param(EVP_PKEY *pkey, const char *name, uint8_t *buf, size_t size) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;

        if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
                return -EINVAL;
        if (BN_num_bytes(bn) > (int) size || BN_bn2binpad(bn, buf, (int) size) != (int) size)
                return -EINVAL;
        return 0;
}

int tpm2_authorize_key_from_pkey(EVP_PKEY *pkey, TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name) {
        TPM2B_PUBLIC pub = {
                .publicArea = {
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = authorize_key_attributes,
                },
        };
        TPMT_PUBLIC *p = &pub.publicArea;
        TPM2B_NAME name;
        int r;

        assert(pkey);

        switch (EVP_PKEY_get_base_id(pkey)) {
        case EVP_PKEY_RSA: {
                _cleanup_(BN_freep) BIGNUM *e = NULL;
                int bits = EVP_PKEY_get_bits(pkey);

                if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX || bits % 8 != 0)
                        return log_debug_errno(-EOPNOTSUPP, "RSA key of %i bits, need %i..%i", bits,
                                               RSA_BITS_MIN, RSA_BITS_MAX);
                if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
                        return -EINVAL;
                if (!BN_is_word(e, 65537))
                        return log_debug_errno(-EOPNOTSUPP, "RSA key with an exponent other than 65537");

                p->type = TPM2_ALG_RSA;
                p->parameters.rsaDetail = (TPMS_RSA_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = bits,
                        .exponent = 0,
                };
                p->unique.rsa.size = bits / 8;
                r = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, p->unique.rsa.size);
                if (r < 0)
                        return r;
                break;
        }
        case EVP_PKEY_EC: {
                char group[64];

                if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                                    NULL) ||
                    OBJ_txt2nid(group) != NID_X9_62_prime256v1)
                        return log_debug_errno(-EOPNOTSUPP, "ECC key not on NIST P-256");

                p->type = TPM2_ALG_ECC;
                p->parameters.eccDetail = (TPMS_ECC_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                p->unique.ecc.x.size = p->unique.ecc.y.size = ECC_P256_SIZE;
                r = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, ECC_P256_SIZE);
                if (r >= 0)
                        r = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, ECC_P256_SIZE);
                if (r < 0)
                        return r;
                break;
        }
        default:
                return log_debug_errno(-EOPNOTSUPP, "authorizing key is neither RSA nor ECC");
        }

        r = tpm2_public_name(&pub, &name);
        if (r < 0)
                return r;

        if (ret_public)
                *ret_public = pub;
        if (ret_name)
                *ret_name = name;
        return 0;
}

int tpm2_authorize_key_from_spki(const void *data, size_t size, TPM2B_PUBLIC *ret_public,
                                 TPM2B_NAME *ret_name) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        const unsigned char *p = data;

        assert(data || size == 0);

        if (size == 0 || size > 64 * 1024)
                return -EINVAL;

        if (size > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
                bio = BIO_new_mem_buf(data, (int) size);
                if (!bio)
                        return -ENOMEM;
                pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        } else {
                pkey = d2i_PUBKEY(NULL, &p, (long) size);
                if (pkey && p != (const unsigned char *) data + size) /* trailing bytes */
                        return -EINVAL;
        }
        if (!pkey) {
                int r = openssl_errno();
                return r == -ENOMEM ? r : -EINVAL;
        }

        return tpm2_authorize_key_from_pkey(pkey, ret_public, ret_name);
}

int tpm2_signed_policy_ahash(const TPM2B_DIGEST *approved_policy, TPM2B_DIGEST *ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        unsigned int len = 0;

        assert(approved_policy);
        assert(ret);

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(ctx, approved_policy->buffer, approved_policy->size) ||
            !EVP_DigestUpdate(ctx, TPM2_SIGNED_POLICY_REF, strlen(TPM2_SIGNED_POLICY_REF)) ||
            !EVP_DigestFinal_ex(ctx, ret->buffer, &len))
                return -EIO;
        ret->size = len;
        return 0;
}

static int sign_ctx(EVP_PKEY *pkey, bool sign, EVP_PKEY_CTX **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;

        ctx = EVP_PKEY_CTX_new(pkey, NULL);
        if (!ctx)
                return -ENOMEM;
        if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0)
                return openssl_errno();
        if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
                return openssl_errno();
        *ret = TAKE_PTR(ctx);
        return 0;
}

static int sign_digest(EVP_PKEY *pkey, const TPM2B_DIGEST *digest, TPMT_SIGNATURE *ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *ecdsa = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        const uint8_t *q;
        size_t sig_size = 0;
        int r;

        r = sign_ctx(pkey, true, &ctx);
        if (r < 0)
                return r;
        if (EVP_PKEY_sign(ctx, NULL, &sig_size, digest->buffer, digest->size) <= 0)
                return openssl_errno();
        sig = malloc(sig_size);
        if (!sig)
                return -ENOMEM;
        if (EVP_PKEY_sign(ctx, sig, &sig_size, digest->buffer, digest->size) <= 0)
                return openssl_errno();

        if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
                if (sig_size > sizeof(ret->signature.rsassa.sig.buffer))
                        return -EINVAL;
                *ret = (TPMT_SIGNATURE){
                        .sigAlg = TPM2_ALG_RSASSA,
                        .signature.rsassa = { .hash = TPM2_ALG_SHA256, .sig.size = sig_size },
                };
                memcpy(ret->signature.rsassa.sig.buffer, sig, sig_size);
                return 0;
        }

        q = sig;
        ecdsa = d2i_ECDSA_SIG(NULL, &q, (long) sig_size);
        if (!ecdsa)
                return openssl_errno();
        *ret = (TPMT_SIGNATURE){
                .sigAlg = TPM2_ALG_ECDSA,
                .signature.ecdsa = {
                        .hash = TPM2_ALG_SHA256,
                        .signatureR.size = ECC_P256_SIZE,
                        .signatureS.size = ECC_P256_SIZE,
                },
        };
        if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), ret->signature.ecdsa.signatureR.buffer, ECC_P256_SIZE) !=
                    ECC_P256_SIZE ||
            BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), ret->signature.ecdsa.signatureS.buffer, ECC_P256_SIZE) !=
                    ECC_P256_SIZE)
                return -EINVAL;
        return 0;
}

static int cmp_pcr_value(const void *a, const void *b) {
        const Tpm2PcrValue *x = a, *y = b;
        return x->index < y->index ? -1 : x->index > y->index;
}

int tpm2_signed_policy_sign(EVP_PKEY *pkey, uint16_t bank, const Tpm2PcrValue *values, size_t n_values,
                            Tpm2SignedPolicyEntry *ret) {
        Tpm2SignedPolicyEntry e = { .bank = bank };
        TPM2B_DIGEST pcr_digest, ahash;
        int r;

        assert(pkey);
        assert(ret);

        if (n_values == 0 || n_values > TPM2_PCRS_MAX || !values)
                return -EINVAL;

        memcpy(e.values, values, n_values * sizeof(Tpm2PcrValue));
        e.n_values = n_values;
        qsort(e.values, n_values, sizeof(Tpm2PcrValue), cmp_pcr_value);
        for (size_t i = 0; i < n_values; i++) {
                if (e.values[i].index >= TPM2_PCRS_MAX || (e.pcr_mask & (UINT32_C(1) << e.values[i].index)))
                        return log_debug_errno(-EINVAL, "PCR %u listed twice or out of range",
                                               e.values[i].index);
                e.pcr_mask |= UINT32_C(1) << e.values[i].index;
        }

        r = tpm2_policy_check_selection(bank, e.pcr_mask, NULL);
        if (r < 0)
                return r;
        r = tpm2_policy_pcr_values_digest(bank, e.pcr_mask, e.values, n_values, &pcr_digest);
        if (r < 0)
                return r;
        r = tpm2_policy_compute(bank, e.pcr_mask, &pcr_digest, false, &e.policy);
        if (r < 0)
                return r;

        r = tpm2_authorize_key_from_pkey(pkey, NULL, &e.key_name);
        if (r < 0)
                return r;
        r = tpm2_signed_policy_ahash(&e.policy, &ahash);
        if (r < 0)
                return r;
        r = sign_digest(pkey, &ahash, &e.signature);
        if (r < 0)
                return r;

        *ret = e;
        return 0;
}

int tpm2_signed_policy_entry_verify(const Tpm2SignedPolicyEntry *e, const TPM2B_PUBLIC *key) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *ecdsa = NULL;
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        const uint8_t *sig;
        TPM2B_DIGEST ahash;
        size_t sig_size;
        int r, der_size;

        assert(e);
        assert(key);

        r = tpm2_public_to_evp_pkey(key, &pkey);
        if (r < 0)
                return r;
        r = tpm2_signed_policy_ahash(&e->policy, &ahash);
        if (r < 0)
                return r;
        r = sign_ctx(pkey, false, &ctx);
        if (r < 0)
                return r;

        if (key->publicArea.type == TPM2_ALG_RSA) {
                if (e->signature.sigAlg != TPM2_ALG_RSASSA)
                        return -EBADMSG;
                sig = e->signature.signature.rsassa.sig.buffer;
                sig_size = e->signature.signature.rsassa.sig.size;
        } else {
                _cleanup_(BN_freep) BIGNUM *br = NULL, *bs = NULL;

                if (e->signature.sigAlg != TPM2_ALG_ECDSA)
                        return -EBADMSG;
                ecdsa = ECDSA_SIG_new();
                br = BN_bin2bn(e->signature.signature.ecdsa.signatureR.buffer,
                               e->signature.signature.ecdsa.signatureR.size, NULL);
                bs = BN_bin2bn(e->signature.signature.ecdsa.signatureS.buffer,
                               e->signature.signature.ecdsa.signatureS.size, NULL);
                if (!ecdsa || !br || !bs || !ECDSA_SIG_set0(ecdsa, br, bs))
                        return -ENOMEM;
                br = bs = NULL; /* owned by ecdsa now */
                der_size = i2d_ECDSA_SIG(ecdsa, &der);
                if (der_size <= 0)
                        return -ENOMEM;
                sig = der;
                sig_size = der_size;
        }

        if (EVP_PKEY_verify(ctx, sig, sig_size, ahash.buffer, ahash.size) != 1) {
                (void) openssl_errno();
                return -EBADMSG;
        }
        return 0;
}

/* File format. */

static int json_hex(json_t *v, void *buf, size_t min, size_t max, size_t *ret_size) {
        _cleanup_free_ void *d = NULL;
        const char *s = json_string_value(v);
        size_t n;

        if (!s || unhexmem(s, json_string_length(v), &d, &n) < 0 || n < min || n > max)
                return -EBADMSG;
        memcpy(buf, d, n);
        *ret_size = n;
        return 0;
}

/* The object must have exactly the keys listed (NULL-terminated). */
static bool json_keys_exactly(json_t *o, const char *const *keys) {
        size_t n = 0;

        if (!json_is_object(o))
                return false;
        for (; keys[n]; n++)
                if (!json_object_get(o, keys[n]))
                        return false;
        return json_object_size(o) == n;
}

static int parse_entry(json_t *o, Tpm2SignedPolicyEntry *e) {
        static const char *const keys[] = { "bank", "pcrs", "policy", "key", "scheme", "signature", NULL };
        TPM2B_DIGEST pcr_digest, policy;
        const char *bank, *scheme;
        json_t *pcrs, *item;
        size_t i, n, dsize;
        int alg;

        if (!json_keys_exactly(o, keys))
                return -EBADMSG;

        bank = json_string_value(json_object_get(o, "bank"));
        alg = bank ? tpm2_hash_alg_from_string(bank) : -EINVAL;
        if (alg < 0 || tpm2_hash_alg_digest_size(alg) == 0)
                return -EBADMSG;
        e->bank = alg;
        dsize = tpm2_hash_alg_digest_size(alg);

        pcrs = json_object_get(o, "pcrs");
        if (!json_is_array(pcrs) || json_array_size(pcrs) == 0 || json_array_size(pcrs) > TPM2_PCRS_MAX)
                return -EBADMSG;
        json_array_foreach(pcrs, i, item) {
                static const char *const pkeys[] = { "index", "digest", NULL };
                json_t *idx = json_object_get(item, "index");
                Tpm2PcrValue *v = e->values + i;

                if (!json_keys_exactly(item, pkeys) || !json_is_integer(idx) ||
                    json_integer_value(idx) < 0 || json_integer_value(idx) >= TPM2_PCRS_MAX)
                        return -EBADMSG;
                v->index = json_integer_value(idx);
                v->bank = e->bank;
                /* Ascending and unique, as PolicyPCR hashes them. */
                if (i > 0 && v->index <= e->values[i - 1].index)
                        return -EBADMSG;
                if (json_hex(json_object_get(item, "digest"), v->digest, dsize, dsize, &v->size) < 0)
                        return -EBADMSG;
                e->pcr_mask |= UINT32_C(1) << v->index;
        }
        e->n_values = json_array_size(pcrs);
        if (tpm2_policy_check_selection(e->bank, e->pcr_mask, NULL) < 0)
                return -EBADMSG;

        e->policy.size = TPM2_POLICY_DIGEST_SIZE;
        if (json_hex(json_object_get(o, "policy"), e->policy.buffer, TPM2_POLICY_DIGEST_SIZE,
                     TPM2_POLICY_DIGEST_SIZE, &n) < 0)
                return -EBADMSG;
        /* The digest is what the TPM checks; the listed values must be what it was computed from, or the
         * mismatch message would name the wrong PCRs. */
        if (tpm2_policy_pcr_values_digest(e->bank, e->pcr_mask, e->values, e->n_values, &pcr_digest) < 0 ||
            tpm2_policy_compute(e->bank, e->pcr_mask, &pcr_digest, false, &policy) < 0 ||
            memcmp(policy.buffer, e->policy.buffer, TPM2_POLICY_DIGEST_SIZE) != 0)
                return -EBADMSG;

        /* Names of our authorizing keys: SHA-256 nameAlg. */
        if (json_hex(json_object_get(o, "key"), e->key_name.name, 2 + 32, 2 + 32, &n) < 0 ||
            e->key_name.name[0] != 0x00 || e->key_name.name[1] != 0x0b)
                return -EBADMSG;
        e->key_name.size = n;

        scheme = json_string_value(json_object_get(o, "scheme"));
        if (streq_ptr(scheme, "rsassa")) {
                TPM2B_PUBLIC_KEY_RSA *s = &e->signature.signature.rsassa.sig;

                e->signature.sigAlg = TPM2_ALG_RSASSA;
                e->signature.signature.rsassa.hash = TPM2_ALG_SHA256;
                if (json_hex(json_object_get(o, "signature"), s->buffer, RSA_BITS_MIN / 8, RSA_BITS_MAX / 8,
                             &n) < 0)
                        return -EBADMSG;
                s->size = n;
        } else if (streq_ptr(scheme, "ecdsa")) {
                uint8_t rs[2 * ECC_P256_SIZE];

                e->signature.sigAlg = TPM2_ALG_ECDSA;
                e->signature.signature.ecdsa.hash = TPM2_ALG_SHA256;
                if (json_hex(json_object_get(o, "signature"), rs, sizeof(rs), sizeof(rs), &n) < 0)
                        return -EBADMSG;
                e->signature.signature.ecdsa.signatureR.size = ECC_P256_SIZE;
                e->signature.signature.ecdsa.signatureS.size = ECC_P256_SIZE;
                memcpy(e->signature.signature.ecdsa.signatureR.buffer, rs, ECC_P256_SIZE);
                memcpy(e->signature.signature.ecdsa.signatureS.buffer, rs + ECC_P256_SIZE, ECC_P256_SIZE);
        } else
                return -EBADMSG;

        return 0;
}

int tpm2_signed_policy_parse(const void *data, size_t size, Tpm2SignedPolicy **ret) {
        static const char *const keys[] = { "format", "version", "entries", NULL };
        _cleanup_(json_decrefp) json_t *root = NULL;
        _cleanup_free_ Tpm2SignedPolicy *p = NULL;
        json_t *entries, *item, *version;
        size_t i;
        int r;

        assert(data || size == 0);
        assert(ret);

        if (size > TPM2_SIGNED_POLICY_FILE_MAX)
                return -E2BIG;
        r = json_parse_strict(data, size, &root);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        version = json_object_get(root, "version");
        entries = json_object_get(root, "entries");
        if (!json_keys_exactly(root, keys) ||
            !streq_ptr(json_string_value(json_object_get(root, "format")), TPM2_SIGNED_POLICY_FORMAT) ||
            !json_is_integer(version) || json_integer_value(version) != 1 || !json_is_array(entries) ||
            json_array_size(entries) == 0 || json_array_size(entries) > TPM2_SIGNED_POLICY_ENTRIES_MAX)
                return -EBADMSG;

        p = calloc(1, sizeof(Tpm2SignedPolicy));
        if (!p)
                return -ENOMEM;
        json_array_foreach(entries, i, item) {
                r = parse_entry(item, p->entries + i);
                if (r < 0)
                        return r;
        }
        p->n_entries = json_array_size(entries);

        *ret = TAKE_PTR(p);
        return 0;
}

static int json_set_hex(json_t *o, const char *key, const void *p, size_t n) {
        _cleanup_free_ char *h = NULL;

        if (hexmem(p, n, &h) < 0 || json_object_set_new(o, key, json_string(h)) < 0)
                return -ENOMEM;
        return 0;
}

static int format_entry(const Tpm2SignedPolicyEntry *e, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL, *pcrs = NULL;
        const char *bank = tpm2_hash_alg_to_string(e->bank);
        uint8_t rs[2 * ECC_P256_SIZE];
        int r;

        if (!bank)
                return -EINVAL;
        o = json_object();
        pcrs = json_array();
        if (!o || !pcrs || json_object_set_new(o, "bank", json_string(bank)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_values; i++) {
                _cleanup_(json_decrefp) json_t *v = json_object();

                if (!v || json_object_set_new(v, "index", json_integer(e->values[i].index)) < 0)
                        return -ENOMEM;
                r = json_set_hex(v, "digest", e->values[i].digest, e->values[i].size);
                if (r < 0)
                        return r;
                if (json_array_append(pcrs, v) < 0)
                        return -ENOMEM;
        }
        if (json_object_set(o, "pcrs", pcrs) < 0)
                return -ENOMEM;

        r = json_set_hex(o, "policy", e->policy.buffer, e->policy.size);
        if (r >= 0)
                r = json_set_hex(o, "key", e->key_name.name, e->key_name.size);
        if (r < 0)
                return r;

        switch (e->signature.sigAlg) {
        case TPM2_ALG_RSASSA:
                if (json_object_set_new(o, "scheme", json_string("rsassa")) < 0)
                        return -ENOMEM;
                r = json_set_hex(o, "signature", e->signature.signature.rsassa.sig.buffer,
                                 e->signature.signature.rsassa.sig.size);
                break;
        case TPM2_ALG_ECDSA:
                if (e->signature.signature.ecdsa.signatureR.size != ECC_P256_SIZE ||
                    e->signature.signature.ecdsa.signatureS.size != ECC_P256_SIZE)
                        return -EINVAL;
                if (json_object_set_new(o, "scheme", json_string("ecdsa")) < 0)
                        return -ENOMEM;
                memcpy(rs, e->signature.signature.ecdsa.signatureR.buffer, ECC_P256_SIZE);
                memcpy(rs + ECC_P256_SIZE, e->signature.signature.ecdsa.signatureS.buffer, ECC_P256_SIZE);
                r = json_set_hex(o, "signature", rs, sizeof(rs));
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

int tpm2_signed_policy_format(const Tpm2SignedPolicy *p, char **ret) {
        _cleanup_(json_decrefp) json_t *root = NULL, *entries = NULL;
        _cleanup_free_ char *s = NULL;
        char *t;
        int r;

        assert(p);
        assert(ret);

        if (p->n_entries == 0 || p->n_entries > TPM2_SIGNED_POLICY_ENTRIES_MAX)
                return -EINVAL;

        root = json_object();
        entries = json_array();
        if (!root || !entries ||
            json_object_set_new(root, "format", json_string(TPM2_SIGNED_POLICY_FORMAT)) < 0 ||
            json_object_set_new(root, "version", json_integer(1)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_entries; i++) {
                json_t *e = NULL;

                r = format_entry(p->entries + i, &e);
                if (r < 0)
                        return r;
                if (json_array_append_new(entries, e) < 0)
                        return -ENOMEM;
        }
        if (json_object_set(root, "entries", entries) < 0)
                return -ENOMEM;

        s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        if (asprintf(&t, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}
