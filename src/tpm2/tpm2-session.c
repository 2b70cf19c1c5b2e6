/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <tss2/tss2_rc.h>

#include "basic/log.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-util.h"

int tpm2_session_start_salted(Tpm2Context *c, ESYS_TR srk, ESYS_TR *ret_session) {
        static const TPMT_SYM_DEF symmetric = {
                .algorithm = TPM2_ALG_AES,
                .keyBits.aes = 128,
                .mode.aes = TPM2_ALG_CFB,
        };
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_session);

        /* Without a salt key the session key would be derivable by anyone watching the bus. */
        if (srk == ESYS_TR_NONE)
                return -EINVAL;

        rc = Esys_StartAuthSession(tpm2_context_esys(c), srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &symmetric, TPM2_ALG_SHA256, &session);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to start salted session: %m");

        r = tpm2_context_track(c, session);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), session);
                return r;
        }

        rc = Esys_TRSess_SetAttributes(tpm2_context_esys(c), session,
                                       TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
                                       0xff);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "Failed to set session attributes: %m");
                tpm2_flush(c, &session);
                return r;
        }

        *ret_session = session;
        return 0;
}

void tpm2_session_forget(Tpm2Context *c, ESYS_TR *session) {
        TSS2_RC rc;

        assert(c);
        assert(session);

        if (*session == ESYS_TR_NONE)
                return;

        tpm2_context_untrack(c, *session);
        rc = Esys_TR_Close(tpm2_context_esys(c), session);
        if (rc != TSS2_RC_SUCCESS)
                log_debug("Failed to close ESYS session handle: %s", Tss2_RC_Decode(rc));
        *session = ESYS_TR_NONE;
}

static bool handle_is_flushable(TPM2_HANDLE h) {
        uint8_t type = h >> TPM2_HR_SHIFT;
        return type == TPM2_HT_TRANSIENT || type == TPM2_HT_HMAC_SESSION || type == TPM2_HT_POLICY_SESSION;
}

void tpm2_flush(Tpm2Context *c, ESYS_TR *handle) {
        TPM2_HANDLE tpm_handle = 0;
        TSS2_RC rc;

        assert(c);
        assert(handle);

        if (*handle == ESYS_TR_NONE)
                return;

        tpm2_context_untrack(c, *handle);

        rc = Esys_TR_GetTpmHandle(tpm2_context_esys(c), *handle, &tpm_handle);
        if (rc == TSS2_RC_SUCCESS &&
            handle_is_flushable(tpm_handle)) {
                rc = Esys_FlushContext(tpm2_context_esys(c), *handle);
                if (rc == TSS2_RC_SUCCESS) {
                        *handle = ESYS_TR_NONE;
                        return;
                }
                log_debug("Failed to flush TPM handle 0x%08x: %s", (unsigned) tpm_handle, Tss2_RC_Decode(rc));
        }

        /* Persistent objects, NV indexes, or a failed flush: release the ESYS metadata only. */
        rc = Esys_TR_Close(tpm2_context_esys(c), handle);
        if (rc != TSS2_RC_SUCCESS)
                log_debug("Failed to close ESYS handle: %s", Tss2_RC_Decode(rc));
        *handle = ESYS_TR_NONE;
}
