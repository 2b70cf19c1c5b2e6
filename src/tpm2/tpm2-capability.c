/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-util.h"

/* A TPM answering moreData forever must not keep us looping. */
#define CAPABILITY_ROUNDS_MAX 64U

int tpm2_get_capability(Tpm2Context *c, TPM2_CAP cap, uint32_t property, uint32_t count,
                        TPMS_CAPABILITY_DATA **ret, bool *ret_more) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc;

        assert(c);
        assert(ret);

        rc = Esys_GetCapability(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cap, property,
                                count, &more, &data);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_GetCapability(0x%x, 0x%x) failed: %m",
                                       (unsigned) cap, (unsigned) property);
        if (!data)
                return -EBADMSG;
        if (data->capability != cap)
                return log_debug_errno(EBADMSG, "TPM answered capability 0x%x for request 0x%x.",
                                       (unsigned) data->capability, (unsigned) cap);

        if (ret_more)
                *ret_more = more == TPM2_YES;
        *ret = TAKE_PTR(data);
        return 0;
}

int tpm2_get_handles(Tpm2Context *c, TPM2_HANDLE first, TPM2_HANDLE **ret, size_t *ret_n) {
        _cleanup_free_ TPM2_HANDLE *list = NULL;
        uint8_t type = first >> TPM2_HR_SHIFT;
        TPM2_HANDLE next = first;
        size_t n = 0;
        int r;

        assert(c);
        assert(ret);
        assert(ret_n);

        for (unsigned round = 0;; round++) {
                _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
                const TPML_HANDLE *h;
                bool more;

                if (round >= CAPABILITY_ROUNDS_MAX)
                        return -EBADMSG;

                r = tpm2_get_capability(c, TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &data, &more);
                if (r < 0)
                        return r;

                h = &data->data.handles;
                if (h->count > TPM2_MAX_CAP_HANDLES)
                        return -EBADMSG;

                for (uint32_t i = 0; i < h->count; i++) {
                        TPM2_HANDLE *l;

                        /* The TPM lists the type asked for only; anything else ends the list. */
                        if ((uint8_t) (h->handle[i] >> TPM2_HR_SHIFT) != type) {
                                more = false;
                                break;
                        }
                        if (h->handle[i] < next)
                                return log_debug_errno(EBADMSG, "TPM handle list is not ascending.");

                        l = reallocarray(list, n + 1, sizeof(TPM2_HANDLE));
                        if (!l)
                                return -ENOMEM;
                        list = l;
                        list[n++] = h->handle[i];
                        next = h->handle[i] + 1;
                }

                if (!more)
                        break;
                if (h->count == 0)
                        return log_debug_errno(EBADMSG, "TPM claims more handles but sent none.");
                if ((uint8_t) (next >> TPM2_HR_SHIFT) != type)
                        break;
        }

        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int tpm2_get_properties(Tpm2Context *c, TPM2_PT group, TPMS_TAGGED_PROPERTY **ret, size_t *ret_n) {
        _cleanup_free_ TPMS_TAGGED_PROPERTY *list = NULL;
        TPM2_PT next = group, end = group + TPM2_PT_GROUP;
        size_t n = 0;
        int r;

        assert(c);
        assert(ret);
        assert(ret_n);

        for (unsigned round = 0;; round++) {
                _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
                const TPML_TAGGED_TPM_PROPERTY *p;
                bool more;

                if (round >= CAPABILITY_ROUNDS_MAX)
                        return -EBADMSG;

                r = tpm2_get_capability(c, TPM2_CAP_TPM_PROPERTIES, next, TPM2_MAX_TPM_PROPERTIES, &data, &more);
                if (r < 0)
                        return r;

                p = &data->data.tpmProperties;
                if (p->count > TPM2_MAX_TPM_PROPERTIES)
                        return -EBADMSG;

                for (uint32_t i = 0; i < p->count; i++) {
                        TPMS_TAGGED_PROPERTY *l;

                        if (p->tpmProperty[i].property >= end) {
                                more = false;
                                break;
                        }
                        if (p->tpmProperty[i].property < next)
                                return log_debug_errno(EBADMSG, "TPM property list is not ascending.");

                        l = reallocarray(list, n + 1, sizeof(TPMS_TAGGED_PROPERTY));
                        if (!l)
                                return -ENOMEM;
                        list = l;
                        list[n++] = p->tpmProperty[i];
                        next = p->tpmProperty[i].property + 1;
                }

                if (!more || next >= end)
                        break;
                if (p->count == 0)
                        return log_debug_errno(EBADMSG, "TPM claims more properties but sent none.");
        }

        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int tpm2_get_pcr_allocation(Tpm2Context *c, TPML_PCR_SELECTION *ret) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        const TPML_PCR_SELECTION *s;
        int r;

        assert(c);
        assert(ret);

        r = tpm2_get_capability(c, TPM2_CAP_PCRS, 0, 1, &data, NULL);
        if (r < 0)
                return r;

        s = &data->data.assignedPCR;
        if (s->count > TPM2_NUM_PCR_BANKS)
                return log_debug_errno(EBADMSG, "TPM reports %u PCR banks.", (unsigned) s->count);
        for (uint32_t i = 0; i < s->count; i++)
                if (s->pcrSelections[i].sizeofSelect > TPM2_PCR_SELECT_MAX)
                        return log_debug_errno(EBADMSG, "TPM reports a PCR selection of %u bytes.",
                                               (unsigned) s->pcrSelections[i].sizeofSelect);

        *ret = *s;
        return 0;
}

int tpm2_get_property(Tpm2Context *c, TPM2_PT property, uint32_t *ret) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        uint32_t v;
        int r;

        assert(c);
        assert(ret);

        r = tpm2_get_capability(c, TPM2_CAP_TPM_PROPERTIES, property, 1, &data, NULL);
        if (r < 0)
                return r;
        if (data->data.tpmProperties.count < 1 || data->data.tpmProperties.tpmProperty[0].property != property)
                return log_debug_errno(EBADMSG, "TPM did not report property 0x%x.", (unsigned) property);
        v = data->data.tpmProperties.tpmProperty[0].value;
        if (v == 0)
                return log_debug_errno(EBADMSG, "TPM reports property 0x%x as 0.", (unsigned) property);

        *ret = v;
        return 0;
}

int tpm2_get_nv_buffer_max(Tpm2Context *c, size_t *ret) {
        uint32_t v;
        int r;

        assert(ret);

        r = tpm2_get_property(c, TPM2_PT_NV_BUFFER_MAX, &v);
        if (r < 0)
                return r;

        *ret = MIN((size_t) v, sizeof(((TPM2B_MAX_NV_BUFFER *) NULL)->buffer));
        return 0;
}
