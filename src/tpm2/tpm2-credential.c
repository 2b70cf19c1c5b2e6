/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>
#include <tss2/tss2_rc.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-credential.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-util.h"

/* EK policy A of the TCG EK Credential Profile: PolicySecret(TPM_RH_ENDORSEMENT) with the (empty)
 * endorsement hierarchy auth. */
static int ek_policy_session(Tpm2Context *c, ESYS_TR *ret_session) {
        ESYS_CONTEXT *esys = tpm2_context_esys(c);
        static const TPMT_SYM_DEF sym_null = { .algorithm = TPM2_ALG_NULL };
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym_null, TPM2_ALG_SHA256, &session);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to start EK policy session: %m");
        r = tpm2_context_track(c, session);
        if (r < 0) {
                (void) Esys_FlushContext(esys, session);
                return r;
        }

        /* Keep it alive after ActivateCredential so that exactly one place (tpm2_flush) ends it. */
        rc = Esys_TRSess_SetAttributes(esys, session, TPMA_SESSION_CONTINUESESSION, 0xff);
        if (rc == TSS2_RC_SUCCESS)
                rc = Esys_PolicySecret(esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "EK policy (PolicySecret endorsement) failed: %m");
                tpm2_flush(c, &session);
                return r;
        }

        *ret_session = session;
        return 0;
}

/* Errors about the blob or the seed (parameters 1 and 2) mean it was not made for this EK and AK, or
 * was altered on the way: one error for the caller, the TPM's reason in the debug log. Not -EBADMSG or
 * -EIO: the daemon replaces its TPM connection on those (ARCHITECTURE), and nothing is wrong with it. */
static int activate_rc_to_errno(TSS2_RC rc) {
        if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) && (rc & TPM2_RC_P)) {
                log_debug("Credential rejected by the TPM: %s", Tss2_RC_Decode(rc));
                return -EKEYREJECTED;
        }
        return tss2_rc_to_errno(rc);
}

int tpm2_activate_credential(Tpm2Context *c, ESYS_TR ak, ESYS_TR ek, ESYS_TR salt_key,
                             const TPM2B_ID_OBJECT *credential_blob,
                             const TPM2B_ENCRYPTED_SECRET *encrypted_seed, void **ret_secret,
                             size_t *ret_size) {
        ESYS_TR salted = ESYS_TR_NONE, policy = ESYS_TR_NONE;
        TPM2B_DIGEST *cert_info = NULL;
        void *secret = NULL;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_secret);
        assert(ret_size);

        if (ak == ESYS_TR_NONE || ek == ESYS_TR_NONE || salt_key == ESYS_TR_NONE || !credential_blob ||
            !encrypted_seed || credential_blob->size == 0 ||
            credential_blob->size > sizeof(credential_blob->credential) || encrypted_seed->size == 0 ||
            encrypted_seed->size > sizeof(encrypted_seed->secret))
                return -EINVAL;

        r = tpm2_session_start_salted(c, salt_key, &salted);
        if (r < 0)
                goto finish;
        r = ek_policy_session(c, &policy);
        if (r < 0)
                goto finish;

        /* Session 1 authorizes the AK (empty authValue, HMAC) and carries the parameter encryption;
         * session 2 satisfies the EK's policy. */
        rc = Esys_ActivateCredential(tpm2_context_esys(c), ak, ek, salted, policy, ESYS_TR_NONE,
                                     credential_blob, encrypted_seed, &cert_info);
        if (rc != TSS2_RC_SUCCESS) {
                r = activate_rc_to_errno(rc);
                goto finish;
        }
        if (cert_info->size == 0 || cert_info->size > sizeof(cert_info->buffer)) {
                r = -EBADMSG;
                goto finish;
        }

        secret = malloc(cert_info->size);
        if (!secret) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(secret, cert_info->buffer, cert_info->size);
        *ret_size = cert_info->size;
        *ret_secret = TAKE_PTR(secret);
        r = 0;

finish:
        if (cert_info) {
                erase_mem(cert_info, sizeof(*cert_info));
                Esys_Free(cert_info);
        }
        tpm2_flush(c, &policy);
        tpm2_flush(c, &salted);
        return r;
}
