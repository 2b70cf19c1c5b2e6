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
        case TPM2_RC_AUTH_TYPE:
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
        case TPM2_RC_TICKET:
        case TPM2_RC_CPHASH:
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
        /* Not -ENXIO: that is one of the errnos callers read as "the TPM transport is gone". */
        case TPM2_RC_HANDLE:
        case TPM2_RC_REFERENCE_H0 ... TPM2_RC_REFERENCE_S6:
                return -ENOENT;
        case TPM2_RC_NV_UNINITIALIZED:  /* index defined, never written */
                return -ENODATA;
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
                /* Other format-one codes name a bad parameter, handle or session. */
                return rc & TPM2_RC_FMT1 ? -EINVAL : -EIO;
        }
}

static int base_rc_to_errno(TSS2_RC layer, TSS2_RC base) {
        switch (base) {
        case TSS2_BASE_RC_NO_CONNECTION:
        case TSS2_BASE_RC_NO_TPM:
                return -ENODEV;
        case TSS2_BASE_RC_IO_ERROR:
                /* From the TCTI it means the TPM (or swtpm, or the resource manager) went away. */
                return layer == TSS2_TCTI_RC_LAYER ? -ENODEV : -EIO;
        case TSS2_BASE_RC_BAD_VALUE:
        case TSS2_BASE_RC_BAD_REFERENCE:
        case TSS2_BASE_RC_BAD_CONTEXT:
        case TSS2_BASE_RC_BAD_SIZE:
        case TSS2_BASE_RC_BAD_TR:
        case TSS2_BASE_RC_BAD_SEQUENCE:
        case TSS2_BASE_RC_BAD_TCTI_STRUCTURE:
        case TSS2_BASE_RC_MULTIPLE_DECRYPT_SESSIONS:
        case TSS2_BASE_RC_MULTIPLE_ENCRYPT_SESSIONS:
        case TSS2_BASE_RC_INVALID_SESSIONS:
        case TSS2_BASE_RC_NO_DECRYPT_PARAM:
        case TSS2_BASE_RC_NO_ENCRYPT_PARAM:
                return -EINVAL;
        case TSS2_BASE_RC_MALFORMED_RESPONSE:
        case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
        /* The TPM's answer does not parse (all of these come from unmarshalling a response in ESYS):
         * the TPM or the path to it lies. */
        case TSS2_BASE_RC_RSP_AUTH_FAILED:
        case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
        case TSS2_BASE_RC_INSUFFICIENT_CONTEXT:
        case TSS2_BASE_RC_HASH_MISMATCH:
                return -EBADMSG;
        case TSS2_BASE_RC_MEMORY:
                return -ENOMEM;
        case TSS2_BASE_RC_TRY_AGAIN:
                return -EAGAIN;
        case TSS2_BASE_RC_NOT_IMPLEMENTED:
        case TSS2_BASE_RC_NOT_SUPPORTED:
        case TSS2_BASE_RC_ABI_MISMATCH:
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
