/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "tpm2/tpm2-util.h"

size_t tpm2_hash_alg_digest_size(uint16_t alg) {
        switch (alg) {
        case TPM2_ALG_SHA1:
                return TPM2_SHA1_DIGEST_SIZE;
        case TPM2_ALG_SHA256:
        case TPM2_ALG_SM3_256:
                return TPM2_SHA256_DIGEST_SIZE;
        case TPM2_ALG_SHA384:
                return TPM2_SHA384_DIGEST_SIZE;
        case TPM2_ALG_SHA512:
                return TPM2_SHA512_DIGEST_SIZE;
        default:
                return 0;
        }
}

const EVP_MD *tpm2_hash_alg_to_md(uint16_t alg) {
        switch (alg) {
        case TPM2_ALG_SHA1:
                return EVP_sha1();
        case TPM2_ALG_SHA256:
                return EVP_sha256();
        case TPM2_ALG_SHA384:
                return EVP_sha384();
        case TPM2_ALG_SHA512:
                return EVP_sha512();
        default:
                return NULL;
        }
}

uint16_t tpm2_signature_hash(const TPMT_SIGNATURE *s) {
        switch (s->sigAlg) {
        case TPM2_ALG_ECDSA:
                return s->signature.ecdsa.hash;
        case TPM2_ALG_RSASSA:
                return s->signature.rsassa.hash;
        case TPM2_ALG_RSAPSS:
                return s->signature.rsapss.hash;
        default:
                return TPM2_ALG_NULL;
        }
}

int tpm2_pin_auth(const char *pin, TPM2B_AUTH *ret) {
        unsigned int len = 0;

        assert(pin);
        assert(ret);

        if (EVP_Digest(pin, strlen(pin), ret->buffer, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        ret->size = len;
        return 0;
}
