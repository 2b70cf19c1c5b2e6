/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/log.h"
#include "tpm2/tpm2-util.h"

/* TPM-format codes (layer 0, and the resource manager forwarding them). The parameter/handle/session
 * number of format-1 codes is dropped so that callers see the kind of error only. */
static int tpm_rc_to_errno(TSS2_RC rc) {
        TSS2_RC base;

        if (rc & TPM2_RC_FMT1)
                base = rc & (TPM2_RC_FMT1 | 0x3FU);
        else
                base = rc & 0xFFFU;

        switch (base) {
        case TPM2_RC_FAILURE:           /* failure mode */
        case TPM2_RC_INITIALIZE:
        case TPM2_RC_REBOOT:
        case TPM2_RC_UPGRADE:
        case TPM2_RC_NEEDS_TEST:
                return -EIO;
        case TPM2_RC_RETRY:
        case TPM2_RC_YIELDED:
        case TPM2_RC_TESTING:
        case TPM2_RC_NV_RATE:
        case TPM2_RC_NV_UNAVAILABLE:
                return -EBUSY;
        case TPM2_RC_CANCELED:
                return -ECANCELED;
        case TPM2_RC_LOCKOUT:           /* dictionary-attack lockout */
                return -ENOLCK;
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
        case TPM2_RC_AUTH_MISSING:
        case TPM2_RC_AUTH_UNAVAILABLE:
        case TPM2_RC_NV_AUTHORIZATION:
                return -EACCES;
        case TPM2_RC_POLICY_FAIL:
        case TPM2_RC_PCR_CHANGED:
        case TPM2_RC_PCR:
        case TPM2_RC_EXPIRED:
        case TPM2_RC_POLICY_CC:
        case TPM2_RC_DISABLED:
        case TPM2_RC_HIERARCHY:
        case TPM2_RC_NV_LOCKED:
                return -EPERM;
        case TPM2_RC_OBJECT_MEMORY:
        case TPM2_RC_SESSION_MEMORY:
        case TPM2_RC_MEMORY:
        case TPM2_RC_SESSION_HANDLES:
        case TPM2_RC_OBJECT_HANDLES:
        case TPM2_RC_NV_SPACE:
        case TPM2_RC_TOO_MANY_CONTEXTS:
                return -ENOSPC;
        case TPM2_RC_NV_DEFINED:
                return -EEXIST;
        case TPM2_RC_HANDLE:
        case TPM2_RC_REFERENCE_H0:
        case TPM2_RC_REFERENCE_H1:
        case TPM2_RC_REFERENCE_H2:
        case TPM2_RC_REFERENCE_S0:
        case TPM2_RC_REFERENCE_S1:
        case TPM2_RC_REFERENCE_S2:
                return -ENXIO;
        case TPM2_RC_COMMAND_CODE:
        case TPM2_RC_ASYMMETRIC:
        case TPM2_RC_HASH:
        case TPM2_RC_CURVE:
        case TPM2_RC_KEY_SIZE:
        case TPM2_RC_SYMMETRIC:
        case TPM2_RC_MODE:
        case TPM2_RC_SCHEME:
        case TPM2_RC_KDF:
        case TPM2_RC_MGF:
                return -EOPNOTSUPP;
        case TPM2_RC_INTEGRITY:
        case TPM2_RC_BINDING:
        case TPM2_RC_SENSITIVE:
                return -EBADMSG;
        case TPM2_RC_VALUE:
        case TPM2_RC_SIZE:
        case TPM2_RC_RANGE:
        case TPM2_RC_TYPE:
        case TPM2_RC_ATTRIBUTES:
        case TPM2_RC_SELECTOR:
        case TPM2_RC_TAG:
        case TPM2_RC_INSUFFICIENT:
        case TPM2_RC_RESERVED_BITS:
        case TPM2_RC_KEY:
        case TPM2_RC_ECC_POINT:
        case TPM2_RC_NV_RANGE:
        case TPM2_RC_NV_SIZE:
        case TPM2_RC_PARENT:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static int tss_rc_to_errno(TSS2_RC rc) {
        switch (rc & 0xFFFFU) {
        case TSS2_BASE_RC_MEMORY:
                return -ENOMEM;
        case TSS2_BASE_RC_NO_CONNECTION:
        case TSS2_BASE_RC_NO_TPM:
                return -ENODEV;
        case TSS2_BASE_RC_TRY_AGAIN:
                return -EAGAIN;
        case TSS2_BASE_RC_BAD_REFERENCE:
        case TSS2_BASE_RC_BAD_VALUE:
        case TSS2_BASE_RC_BAD_SIZE:
        case TSS2_BASE_RC_BAD_CONTEXT:
        case TSS2_BASE_RC_BAD_TR:
        case TSS2_BASE_RC_BAD_SEQUENCE:
        case TSS2_BASE_RC_BAD_TCTI_STRUCTURE:
        case TSS2_BASE_RC_MULTIPLE_DECRYPT_SESSIONS:
        case TSS2_BASE_RC_MULTIPLE_ENCRYPT_SESSIONS:
        case TSS2_BASE_RC_INVALID_SESSIONS:
        case TSS2_BASE_RC_NO_DECRYPT_PARAM:
        case TSS2_BASE_RC_NO_ENCRYPT_PARAM:
                return -EINVAL;
        /* Everything that says "the TPM's answer does not parse": the TPM or the path to it lies. */
        case TSS2_BASE_RC_MALFORMED_RESPONSE:
        case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
        case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
        case TSS2_BASE_RC_INSUFFICIENT_CONTEXT:
        case TSS2_BASE_RC_RSP_AUTH_FAILED:
        case TSS2_BASE_RC_HASH_MISMATCH:
                return -EBADMSG;
        case TSS2_BASE_RC_NOT_IMPLEMENTED:
        case TSS2_BASE_RC_NOT_SUPPORTED:
        case TSS2_BASE_RC_ABI_MISMATCH:
        case TSS2_BASE_RC_INCOMPATIBLE_TCTI:
                return -EOPNOTSUPP;
        case TSS2_BASE_RC_NOT_PERMITTED:
                return -EPERM;
        case TSS2_BASE_RC_IO_ERROR:
        case TSS2_BASE_RC_GENERAL_FAILURE:
        default:
                return -EIO;
        }
}

int tpm2_rc_to_errno(TSS2_RC rc) {
        TSS2_RC layer;
        int r;

        if (rc == TSS2_RC_SUCCESS)
                return 0;

        layer = rc & TSS2_RC_LAYER_MASK;
        if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER)
                r = tpm_rc_to_errno(rc);
        else
                r = tss_rc_to_errno(rc);

        log_debug("TPM2 error 0x%08x: %s (errno %d)", (unsigned) rc, Tss2_RC_Decode(rc), -r);
        return r;
}

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

char *tpm2_hexmem(const void *p, size_t n) {
        static const char table[] = "0123456789abcdef";
        const uint8_t *b = p;
        char *s;

        s = malloc(n * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[i * 2] = table[b[i] >> 4];
                s[i * 2 + 1] = table[b[i] & 15];
        }
        s[n * 2] = 0;
        return s;
}
