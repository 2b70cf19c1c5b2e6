/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "basic/log.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-pubkey.h"

static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret) {
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        EVP_PKEY *pkey = NULL;

        params = OSSL_PARAM_BLD_to_param(bld);
        if (!params)
                return -ENOMEM;

        ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_fromdata_init(ctx) != 1)
                return -EIO;
        /* OpenSSL checks the point against the curve here, a bad point fails. */
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || !pkey)
                return log_debug_errno(EBADMSG, "OpenSSL refused the %s public key of the TPM public area.",
                                       type);

        *ret = pkey;
        return 0;
}

static int rsa_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret) {
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        _cleanup_(BN_freep) BIGNUM *n = NULL, *e = NULL;
        uint16_t bits = p->parameters.rsaDetail.keyBits;
        uint32_t exponent = p->parameters.rsaDetail.exponent;

        if (!IN_SET(bits, 1024, 2048, 3072, 4096))
                return log_debug_errno(EOPNOTSUPP, "Unsupported RSA key size %u.", bits);
        if (p->unique.rsa.size != bits / 8 || p->unique.rsa.size > sizeof(p->unique.rsa.buffer))
                return log_debug_errno(EBADMSG, "RSA modulus of %u bytes for a %u bit key.",
                                       p->unique.rsa.size, bits);
        if (exponent == 0)
                exponent = 65537;

        n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
        e = BN_new();
        bld = OSSL_PARAM_BLD_new();
        if (!n || !e || !bld || BN_set_word(e, exponent) != 1)
                return -ENOMEM;
        if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
                return -ENOMEM;

        return pkey_fromdata("RSA", bld, ret);
}

static int ecc_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret) {
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        const TPMS_ECC_POINT *q = &p->unique.ecc;
        uint8_t point[1 + 2 * 66] = { 0x04 };
        const char *group;
        size_t len;

        switch (p->parameters.eccDetail.curveID) {
        case TPM2_ECC_NIST_P256:
                group = "prime256v1";
                len = 32;
                break;
        case TPM2_ECC_NIST_P384:
                group = "secp384r1";
                len = 48;
                break;
        case TPM2_ECC_NIST_P521:
                group = "secp521r1";
                len = 66;
                break;
        default:
                return log_debug_errno(EOPNOTSUPP, "Unsupported ECC curve 0x%04x.",
                                       p->parameters.eccDetail.curveID);
        }

        /* Coordinates may come without leading zero bytes; never longer than the field. */
        if (q->x.size == 0 || q->x.size > len || q->y.size == 0 || q->y.size > len)
                return log_debug_errno(EBADMSG, "ECC point coordinates of bad size (%u, %u).", q->x.size,
                                       q->y.size);
        memcpy(point + 1 + len - q->x.size, q->x.buffer, q->x.size);
        memcpy(point + 1 + 2 * len - q->y.size, q->y.buffer, q->y.size);

        bld = OSSL_PARAM_BLD_new();
        if (!bld)
                return -ENOMEM;
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * len) != 1)
                return -ENOMEM;

        return pkey_fromdata("EC", bld, ret);
}

int tpm2_public_area_to_evp_pkey(const TPMT_PUBLIC *p, EVP_PKEY **ret) {
        assert(p);
        assert(ret);

        switch (p->type) {
        case TPM2_ALG_RSA:
                return rsa_to_pkey(p, ret);
        case TPM2_ALG_ECC:
                return ecc_to_pkey(p, ret);
        default:
                return log_debug_errno(EOPNOTSUPP, "Unsupported key type 0x%04x.", p->type);
        }
}

int tpm2_public_to_evp_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **ret) {
        assert(pub);
        return tpm2_public_area_to_evp_pkey(&pub->publicArea, ret);
}
