/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the swtpm tests of the EK and AK code (header only, cmocka asserts). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context.h"

/* TPM2_HR_TRANSIENT from tss2_tpm2_types.h shifts a signed int into the sign bit (UBSan). */
#define HANDLES_TRANSIENT UINT32_C(0x80000000)

static inline void esys_freep(void *p) {
        Esys_Free(*(void **) p);
}

static inline size_t count_handles(Tpm2Context *c, TPM2_HANDLE first) {
        TPM2_HANDLE *l = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_get_handles(c, first, &l, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(l[i] >> TPM2_HR_SHIFT, first >> TPM2_HR_SHIFT);
        free(l);
        return n;
}

static inline bool handle_present(Tpm2Context *c, TPM2_HANDLE h) {
        TPM2_HANDLE *l = NULL;
        size_t n = 0;
        bool found;

        assert_int_equal(tpm2_get_handles(c, h, &l, &n), 0);
        found = n > 0 && l[0] == h;
        free(l);
        return found;
}

/* DESIGN §6: every TPM test ends with nothing left loaded. */
static inline void assert_no_leaks(Tpm2Context *c) {
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 0);
        assert_int_equal(count_handles(c, TPM2_HR_POLICY_SESSION), 0);
}

static inline Tpm2Context *open_tpm(void) {
        Tpm2Context *c = NULL;
        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_non_null(c);
        return c;
}

/* Evicts the persistent object at h with owner auth, as an administrator would. */
static inline void evict_persistent(Tpm2Context *c, TPM2_HANDLE h) {
        ESYS_TR tr = ESYS_TR_NONE, out = ESYS_TR_NONE;

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), h, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &tr),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, h, &out),
                         TSS2_RC_SUCCESS);
        (void) Esys_TR_Close(tpm2_context_esys(c), &tr);
        if (out != ESYS_TR_NONE)
                (void) Esys_TR_Close(tpm2_context_esys(c), &out);
}

/* An unrestricted ECC P-256 signing primary in the owner hierarchy (a stand-in for a TLS key, or a
 * foreign object). Transient; the caller flushes it. */
static inline ESYS_TR create_signing_primary(Tpm2Context *c, uint8_t salt) {
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                            TPMA_OBJECT_USERWITHAUTH,
                        .parameters.eccDetail = {
                                .symmetric.algorithm = TPM2_ALG_NULL,
                                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                        .unique.ecc.x = { .size = 1, .buffer = { salt } },
                },
        };
        ESYS_TR h = ESYS_TR_NONE;

        assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                            ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &t, &no_data, &no_pcrs,
                                            &h, NULL, NULL, NULL, NULL),
                         TSS2_RC_SUCCESS);
        return h;
}
