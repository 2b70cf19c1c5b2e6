/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/log.h"
#include "shared/tss2-util.h"

const char *tss2_rc_to_string(TSS2_RC rc) {
        const char *s = Tss2_RC_Decode(rc);
        return s ?: "unknown TSS2 return code";
}

static int tpm_rc_to_errno(TSS2_RC rc) {
        TSS2_RC code;

        if (rc & TPM2_RC_FMT1) {
                /* Format one: bits 8..11 carry the parameter/handle/session number, not the error. */
                code = rc & (TPM2_RC_FMT1 | 0x3f);
                switch (code) {
                case TPM2_RC_AUTH_FAIL:
                case TPM2_RC_BAD_AUTH:
                case TPM2_RC_POLICY_FAIL:
                case TPM2_RC_POLICY_CC:
                case TPM2_RC_EXPIRED:
                case TPM2_RC_TICKET:
                        return -EACCES;
                case TPM2_RC_HANDLE:
                        return -ENOENT;
                case TPM2_RC_INTEGRITY:
                        return -EBADMSG;
                default:
                        return -EINVAL;
                }
        }

        if ((rc & TPM2_RC_WARN) == TPM2_RC_WARN) {
                code = rc & 0xfff;
                switch (code) {
                case TPM2_RC_LOCKOUT:
                        return -ENOLCK;
                case TPM2_RC_OBJECT_MEMORY:
                case TPM2_RC_SESSION_MEMORY:
                case TPM2_RC_MEMORY:
                case TPM2_RC_OBJECT_HANDLES:
                case TPM2_RC_SESSION_HANDLES:
                        return -ENOSPC;
                case TPM2_RC_RETRY:
                case TPM2_RC_YIELDED:
                case TPM2_RC_TESTING:
                case TPM2_RC_NV_RATE:
                case TPM2_RC_NV_UNAVAILABLE:
                        return -EBUSY;
                default:
                        if (code >= TPM2_RC_REFERENCE_H0 && code <= TPM2_RC_REFERENCE_S6)
                                return -ENOENT;
                        return -EIO;
                }
        }

        code = rc & 0xfff;
        switch (code) {
        case TPM2_RC_NV_SPACE:
                return -ENOSPC;
        case TPM2_RC_NV_UNINITIALIZED:
                return -ENODATA;
        case TPM2_RC_AUTH_MISSING:
        case TPM2_RC_AUTH_UNAVAILABLE:
        case TPM2_RC_AUTH_TYPE:
        case TPM2_RC_NV_AUTHORIZATION:
        case TPM2_RC_NV_LOCKED:
        case TPM2_RC_PCR_CHANGED:
        case TPM2_RC_CPHASH:
                return -EACCES;
        case TPM2_RC_COMMAND_CODE:
                return -EOPNOTSUPP;
        default:
                return -EIO;
        }
}

static int base_rc_to_errno(TSS2_RC layer, TSS2_RC base) {
        switch (base) {
        case TSS2_BASE_RC_IO_ERROR:
        case TSS2_BASE_RC_NO_CONNECTION:
                if (layer == TSS2_TCTI_RC_LAYER)
                        return -ENODEV;
                return base == TSS2_BASE_RC_IO_ERROR ? -EIO : -ENODEV;
        case TSS2_BASE_RC_BAD_VALUE:
        case TSS2_BASE_RC_BAD_REFERENCE:
        case TSS2_BASE_RC_BAD_CONTEXT:
        case TSS2_BASE_RC_BAD_SIZE:
        case TSS2_BASE_RC_BAD_TR:
        case TSS2_BASE_RC_BAD_SEQUENCE:
        case TSS2_BASE_RC_ABI_MISMATCH:
        case TSS2_BASE_RC_MULTIPLE_DECRYPT_SESSIONS:
        case TSS2_BASE_RC_MULTIPLE_ENCRYPT_SESSIONS:
        case TSS2_BASE_RC_INVALID_SESSIONS:
        case TSS2_BASE_RC_NO_DECRYPT_PARAM:
        case TSS2_BASE_RC_NO_ENCRYPT_PARAM:
                return -EINVAL;
        case TSS2_BASE_RC_MALFORMED_RESPONSE:
        case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
        case TSS2_BASE_RC_RSP_AUTH_FAILED:
                return -EBADMSG;
        case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
        case TSS2_BASE_RC_INSUFFICIENT_CONTEXT:
                return -ENOBUFS;
        case TSS2_BASE_RC_MEMORY:
                return -ENOMEM;
        case TSS2_BASE_RC_TRY_AGAIN:
                return -EAGAIN;
        case TSS2_BASE_RC_NOT_IMPLEMENTED:
        case TSS2_BASE_RC_NOT_SUPPORTED:
        case TSS2_BASE_RC_INCOMPATIBLE_TCTI:
                return -EOPNOTSUPP;
        case TSS2_BASE_RC_NOT_PERMITTED:
                return -EPERM;
        default:
                return -EIO;
        }
}

int tss2_rc_to_errno(TSS2_RC rc) {
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
        int r;

        if (rc == TSS2_RC_SUCCESS)
                return 0;

        if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER)
                r = tpm_rc_to_errno(rc & 0xffff);
        else
                r = base_rc_to_errno(layer, rc & 0xffff);

        log_debug("TSS2 return code 0x%08" PRIx32 ": %s", (uint32_t) rc, tss2_rc_to_string(rc));
        return r;
}
