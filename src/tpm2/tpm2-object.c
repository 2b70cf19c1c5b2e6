/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

static void esys_freep(void *p) {
        Esys_Free(*(void **) p);
}

int tpm2_handle_present(Tpm2Context *c, TPM2_HANDLE h) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        int r;

        assert(c);

        r = tpm2_get_capability(c, TPM2_CAP_HANDLES, h, 1, &data, NULL);
        if (r < 0)
                return r;
        if (data->data.handles.count > TPM2_MAX_CAP_HANDLES)
                return -EBADMSG;
        return data->data.handles.count > 0 && data->data.handles.handle[0] == h;
}

bool tpm2_name_equal(const TPM2B_NAME *a, const TPM2B_NAME *b) {
        return a->size == b->size && a->size <= sizeof(a->name) && memcmp(a->name, b->name, a->size) == 0;
}

bool tpm2_public_equal(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b) {
        uint8_t ba[sizeof(TPMT_PUBLIC)], bb[sizeof(TPMT_PUBLIC)];
        size_t oa = 0, ob = 0;

        if (Tss2_MU_TPMT_PUBLIC_Marshal(&a->publicArea, ba, sizeof(ba), &oa) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPMT_PUBLIC_Marshal(&b->publicArea, bb, sizeof(bb), &ob) != TSS2_RC_SUCCESS)
                return false;
        return oa == ob && memcmp(ba, bb, oa) == 0;
}

int tpm2_read_public_verified(Tpm2Context *c, ESYS_TR handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name) {
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *name = NULL, *qname = NULL, *esys_name = NULL;
        TPM2B_NAME computed;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_pub);

        rc = Esys_ReadPublic(tpm2_context_esys(c), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                             &name, &qname);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_ReadPublic failed: %m");
        if (!pub || !name)
                return -EBADMSG;

        rc = Esys_TR_GetName(tpm2_context_esys(c), handle, &esys_name);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to get the ESYS object name: %m");

        r = tpm2_public_name(pub, &computed);
        if (r < 0)
                return log_debug_errno(r, "Cannot compute the name of a TPM object: %m");
        if (!tpm2_name_equal(&computed, name) || !tpm2_name_equal(&computed, esys_name))
                return log_debug_errno(EBADMSG, "TPM object name does not match its public area.");

        *ret_pub = *pub;
        if (ret_name)
                *ret_name = computed;
        return 0;
}

int tpm2_persistent_open(Tpm2Context *c, TPM2_HANDLE h, ESYS_TR *ret_handle, TPM2B_PUBLIC *ret_pub,
                         TPM2B_NAME *ret_name) {
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC pub;
        TPM2B_NAME name;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_handle);

        rc = Esys_TR_FromTPMPublic(tpm2_context_esys(c), h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &handle);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to open persistent handle 0x%x: %m", h);

        r = tpm2_read_public_verified(c, handle, &pub, &name);
        if (r < 0) {
                tpm2_flush(c, &handle);
                return r;
        }

        *ret_handle = handle;
        if (ret_pub)
                *ret_pub = pub;
        if (ret_name)
                *ret_name = name;
        return 0;
}
