/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-makecredential.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-util.h"

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = v >> 24;
        p[1] = v >> 16;
        p[2] = v >> 8;
        p[3] = v;
}

/* Both KDFs hash [i]32 || (z) || label || 0x00 || u || v (|| [bits]32 for KDFa), one block per i. The
 * label's terminating NUL is part of the input (Part 1 §11.4.10.1: a label not ending in 0 gets one). */
static int kdf(bool hmac, uint16_t hash_alg, const void *key, size_t key_size, const char *label,
               const void *u, size_t u_size, const void *v, size_t v_size, void *out, size_t out_size) {
        const EVP_MD *md = tpm2_hash_alg_to_md(hash_alg);
        size_t label_size = label ? strlen(label) + 1 : 1, n, off = 0, done = 0;
        _cleanup_erase_free_ uint8_t *in = NULL;
        uint8_t block[EVP_MAX_MD_SIZE];
        unsigned block_size;

        if (!md)
                return -EOPNOTSUPP;
        if (out_size == 0 || out_size > UINT32_MAX / 8 || (!key && key_size > 0) || (!u && u_size > 0) ||
            (!v && v_size > 0))
                return -EINVAL;

        n = 4 + (hmac ? 0 : key_size) + label_size + u_size + v_size + (hmac ? 4 : 0);
        in = malloc(n);
        if (!in)
                return -ENOMEM;

        off = 4;
        if (!hmac) {
                memcpy(in + off, key, key_size);
                off += key_size;
        }
        if (label)
                memcpy(in + off, label, label_size);
        else
                in[off] = 0;
        off += label_size;
        if (u_size > 0)
                memcpy(in + off, u, u_size);
        off += u_size;
        if (v_size > 0)
                memcpy(in + off, v, v_size);
        off += v_size;
        if (hmac)
                put_be32(in + off, (uint32_t) (out_size * 8));

        for (uint32_t i = 1; done < out_size; i++) {
                bool ok;

                put_be32(in, i);
                if (hmac)
                        ok = HMAC(md, key, (int) key_size, in, n, block, &block_size) != NULL;
                else
                        ok = EVP_Digest(in, n, block, &block_size, md, NULL) == 1;
                if (!ok) {
                        erase_mem(block, sizeof(block));
                        return -EIO;
                }
                memcpy((uint8_t *) out + done, block, MIN((size_t) block_size, out_size - done));
                done += MIN((size_t) block_size, out_size - done);
        }

        erase_mem(block, sizeof(block));
        return 0;
}

int tpm2_kdfa(uint16_t hash_alg, const void *key, size_t key_size, const char *label, const void *context_u,
              size_t context_u_size, const void *context_v, size_t context_v_size, void *out, size_t out_size) {
        if (key_size > INT32_MAX)
                return -EINVAL;
        return kdf(true, hash_alg, key, key_size, label, context_u, context_u_size, context_v,
                   context_v_size, out, out_size);
}

int tpm2_kdfe(uint16_t hash_alg, const void *z, size_t z_size, const char *label, const void *party_u,
              size_t party_u_size, const void *party_v, size_t party_v_size, void *out, size_t out_size) {
        return kdf(false, hash_alg, z, z_size, label, party_u, party_u_size, party_v, party_v_size, out,
                   out_size);
}

/* RSA: a random seed, RSA-OAEP(nameAlg, label "IDENTITY\0") to the EK (Part 1 §B.10.3). */
static int seed_rsa(const TPMT_PUBLIC *ek, const EVP_MD *md, uint8_t *seed, size_t seed_size,
                    TPM2B_ENCRYPTED_SECRET *enc) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ectx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        uint32_t exponent = ek->parameters.rsaDetail.exponent ?: 65537;
        size_t out_size = sizeof(enc->secret);
        uint8_t *label;
        int r;

        /* The seed is the whole secret: no key that would let someone else read it (every EK template
         * is RSA 2048 or larger with the default exponent). */
        if (ek->parameters.rsaDetail.keyBits < 2048)
                return log_debug_errno(-EOPNOTSUPP, "EK RSA key of %u bits is too small.",
                                       (unsigned) ek->parameters.rsaDetail.keyBits);
        if (exponent < 3 || exponent % 2 == 0)
                return log_debug_errno(-EBADMSG, "EK RSA exponent %u is not usable.", (unsigned) exponent);

        r = tpm2_public_area_to_evp_pkey(ek, &pkey);
        if (r < 0)
                return log_debug_errno(r, "EK RSA public key not usable: %m");

        if (RAND_bytes(seed, (int) seed_size) != 1)
                return -EIO;

        ectx = EVP_PKEY_CTX_new(pkey, NULL);
        if (!ectx)
                return -ENOMEM;
        if (EVP_PKEY_encrypt_init(ectx) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ectx, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ectx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ectx, md) != 1)
                return -EIO;
        label = OPENSSL_memdup("IDENTITY", sizeof("IDENTITY"));
        if (!label)
                return -ENOMEM;
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ectx, label, sizeof("IDENTITY")) != 1) {
                OPENSSL_free(label);
                return -EIO;
        }
        if (EVP_PKEY_encrypt(ectx, enc->secret, &out_size, seed, seed_size) != 1)
                return log_debug_errno(-EIO, "RSA-OAEP encryption of the seed failed.");
        enc->size = (uint16_t) out_size;
        return 0;
}

static const char *curve_group(uint16_t curve, size_t *ret_bytes) {
        switch (curve) {
        case TPM2_ECC_NIST_P256:
                *ret_bytes = 32;
                return "prime256v1";
        case TPM2_ECC_NIST_P384:
                *ret_bytes = 48;
                return "secp384r1";
        case TPM2_ECC_NIST_P521:
                *ret_bytes = 66;
                return "secp521r1";
        default:
                return NULL;
        }
}

/* ECC: ephemeral ECDH with the EK; seed = KDFe(nameAlg, Z.x, "IDENTITY", ephemeral.x, EK.x) and the
 * ephemeral point is the encrypted secret (Part 1 §C.6.4). */
static int seed_ecc(const TPMT_PUBLIC *ek, uint16_t name_alg, uint8_t *seed, size_t seed_size,
                    TPM2B_ENCRYPTED_SECRET *enc) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *check = NULL, *dctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL, *eph = NULL;
        _cleanup_erase_free_ uint8_t *z = NULL;
        uint8_t eph_point[1 + 2 * 66];
        const TPMS_ECC_POINT *q = &ek->unique.ecc;
        TPMS_ECC_POINT ephemeral = {};
        size_t bytes, point_size, z_size = 0, off = 0;
        const char *group;
        int r;

        group = curve_group(ek->parameters.eccDetail.curveID, &bytes);
        if (!group)
                return log_debug_errno(-EOPNOTSUPP, "EK curve 0x%04x is not supported.",
                                       ek->parameters.eccDetail.curveID);
        r = tpm2_public_area_to_evp_pkey(ek, &peer);
        if (r < 0)
                return log_debug_errno(r, "EK ECC public key not usable: %m");
        /* A point off the curve would leak bits of the ephemeral key and never activate anyway. */
        check = EVP_PKEY_CTX_new(peer, NULL);
        if (!check)
                return -ENOMEM;
        if (EVP_PKEY_public_check(check) != 1)
                return log_debug_errno(-EBADMSG, "EK ECC public point is not on its curve.");

        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
        if (!eph)
                return -EIO;
        dctx = EVP_PKEY_CTX_new(eph, NULL);
        if (!dctx)
                return -ENOMEM;
        if (EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
            EVP_PKEY_derive(dctx, NULL, &z_size) != 1)
                return -EIO;
        z = malloc(z_size);
        if (!z)
                return -ENOMEM;
        if (EVP_PKEY_derive(dctx, z, &z_size) != 1 || z_size != bytes)
                return -EIO;

        if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, eph_point, sizeof(eph_point),
                                            &point_size) != 1 ||
            point_size != 1 + 2 * bytes || eph_point[0] != 0x04)
                return -EIO;
        ephemeral.x.size = ephemeral.y.size = (uint16_t) bytes;
        memcpy(ephemeral.x.buffer, eph_point + 1, bytes);
        memcpy(ephemeral.y.buffer, eph_point + 1 + bytes, bytes);

        r = tpm2_kdfe(name_alg, z, z_size, "IDENTITY", ephemeral.x.buffer, ephemeral.x.size, q->x.buffer,
                      q->x.size, seed, seed_size);
        if (r < 0)
                return r;

        if (Tss2_MU_TPMS_ECC_POINT_Marshal(&ephemeral, enc->secret, sizeof(enc->secret), &off) !=
            TSS2_RC_SUCCESS)
                return -EIO;
        enc->size = (uint16_t) off;
        return 0;
}

static const EVP_CIPHER *aes_cfb(uint16_t bits) {
        switch (bits) {
        case 128:
                return EVP_aes_128_cfb128();
        case 192:
                return EVP_aes_192_cfb128();
        case 256:
                return EVP_aes_256_cfb128();
        default:
                return NULL;
        }
}

int tpm2_make_credential(const TPM2B_PUBLIC *ek_public, const TPM2B_NAME *ak_name, const void *secret,
                         size_t secret_size, TPM2B_ID_OBJECT **ret_credential_blob,
                         TPM2B_ENCRYPTED_SECRET **ret_encrypted_seed) {
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *enc = NULL;
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *cctx = NULL;
        uint8_t seed[EVP_MAX_MD_SIZE] = {}, sym_key[32] = {}, hmac_key[EVP_MAX_MD_SIZE] = {},
                plain[2 + sizeof(TPMU_HA)] = {}, iv[16] = {}, mac_in[2 + sizeof(TPMU_HA) + sizeof(TPMU_NAME)];
        const TPMT_PUBLIC *ek;
        const TPMT_SYM_DEF_OBJECT *sym;
        const EVP_CIPHER *cipher;
        const EVP_MD *md;
        size_t digest_size, plain_size, hmac_off, enc_off;
        uint16_t hmac_alg;
        unsigned hmac_size;
        int outl, finl, r;

        if (!ek_public || !ak_name || !secret || !ret_credential_blob || !ret_encrypted_seed)
                return -EINVAL;
        ek = &ek_public->publicArea;

        md = tpm2_hash_alg_to_md(ek->nameAlg);
        if (!md)
                return log_debug_errno(-EOPNOTSUPP, "EK nameAlg 0x%04x is not supported.", ek->nameAlg);
        digest_size = tpm2_hash_alg_digest_size(ek->nameAlg);

        /* The TPM takes at most a nameAlg digest as credential (TPM2_MakeCredential: TPM_RC_SIZE). */
        if (secret_size == 0 || secret_size > digest_size)
                return log_debug_errno(-EINVAL, "Credential secret of %zu bytes, must be 1..%zu.",
                                       secret_size, digest_size);

        /* The name binds the credential to one key: algorithm id + digest of that algorithm's size. */
        if (ak_name->size < 2 || ak_name->size > sizeof(ak_name->name))
                return -EINVAL;
        hmac_alg = (uint16_t) (ak_name->name[0] << 8 | ak_name->name[1]);
        if (tpm2_hash_alg_digest_size(hmac_alg) == 0 ||
            (size_t) ak_name->size != 2 + tpm2_hash_alg_digest_size(hmac_alg))
                return log_debug_errno(-EINVAL, "AK name is not a name of an object.");

        /* Only a key that decrypts for its own TPM (restricted decryption: the EK, storage keys) can
         * carry a credential. */
        if (!IN_SET(ek->type, TPM2_ALG_RSA, TPM2_ALG_ECC))
                return log_debug_errno(-EOPNOTSUPP, "EK type 0x%04x is neither RSA nor ECC.", ek->type);
        if ((ek->objectAttributes & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)) !=
                    (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT) ||
            (ek->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
                return log_debug_errno(-EINVAL, "EK is not a restricted decryption key.");

        sym = ek->type == TPM2_ALG_RSA ? &ek->parameters.rsaDetail.symmetric
                                       : &ek->parameters.eccDetail.symmetric;
        if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
                return log_debug_errno(-EOPNOTSUPP, "EK symmetric algorithm is not AES-CFB.");
        cipher = aes_cfb(sym->keyBits.aes);
        if (!cipher)
                return -EOPNOTSUPP;

        blob = calloc(1, sizeof(*blob));
        enc = calloc(1, sizeof(*enc));
        if (!blob || !enc)
                return -ENOMEM;

        if (ek->type == TPM2_ALG_RSA)
                r = seed_rsa(ek, md, seed, digest_size, enc);
        else
                r = seed_ecc(ek, ek->nameAlg, seed, digest_size, enc);
        if (r < 0)
                goto finish;

        /* symKey = KDFa(nameAlg, seed, "STORAGE", name, NULL, symmetric key bits) */
        r = tpm2_kdfa(ek->nameAlg, seed, digest_size, "STORAGE", ak_name->name, ak_name->size, NULL, 0,
                      sym_key, sym->keyBits.aes / 8);
        if (r < 0)
                goto finish;
        /* HMACkey = KDFa(nameAlg, seed, "INTEGRITY", NULL, NULL, digest bits) */
        r = tpm2_kdfa(ek->nameAlg, seed, digest_size, "INTEGRITY", NULL, 0, NULL, 0, hmac_key, digest_size);
        if (r < 0)
                goto finish;

        /* encIdentity = AES-CFB(symKey, IV 0, TPM2B_DIGEST(secret)), after room for the outer HMAC. */
        plain[0] = secret_size >> 8;
        plain[1] = secret_size & 0xff;
        memcpy(plain + 2, secret, secret_size);
        plain_size = 2 + secret_size;
        hmac_off = 2;
        enc_off = 2 + digest_size;
        assert(enc_off + plain_size <= sizeof(blob->credential));

        cctx = EVP_CIPHER_CTX_new();
        if (!cctx) {
                r = -ENOMEM;
                goto finish;
        }
        if (EVP_EncryptInit_ex(cctx, cipher, NULL, sym_key, iv) != 1 ||
            EVP_EncryptUpdate(cctx, blob->credential + enc_off, &outl, plain, (int) plain_size) != 1 ||
            EVP_EncryptFinal_ex(cctx, blob->credential + enc_off + outl, &finl) != 1 ||
            (size_t) (outl + finl) != plain_size) {
                r = -EIO;
                goto finish;
        }

        /* outerHMAC = HMAC(HMACkey, encIdentity || name) */
        memcpy(mac_in, blob->credential + enc_off, plain_size);
        memcpy(mac_in + plain_size, ak_name->name, ak_name->size);
        if (!HMAC(md, hmac_key, (int) digest_size, mac_in, plain_size + ak_name->size,
                  blob->credential + hmac_off, &hmac_size) ||
            hmac_size != digest_size) {
                r = -EIO;
                goto finish;
        }
        blob->credential[0] = digest_size >> 8;
        blob->credential[1] = digest_size & 0xff;
        blob->size = (uint16_t) (enc_off + plain_size);

        *ret_credential_blob = TAKE_PTR(blob);
        *ret_encrypted_seed = TAKE_PTR(enc);
        r = 0;

finish:
        erase_mem(seed, sizeof(seed));
        erase_mem(sym_key, sizeof(sym_key));
        erase_mem(hmac_key, sizeof(hmac_key));
        erase_mem(plain, sizeof(plain));
        return r;
}
