/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "basic/log.h"
#include "shared/tss2-util.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-util.h"

static const struct {
        uint16_t alg;
        const char *name;
} alg_table[] = {
        { TPM2_ALG_RSA, "rsa" },
        { TPM2_ALG_TDES, "tdes" },
        { TPM2_ALG_SHA1, "sha1" },
        { TPM2_ALG_HMAC, "hmac" },
        { TPM2_ALG_AES, "aes" },
        { TPM2_ALG_MGF1, "mgf1" },
        { TPM2_ALG_KEYEDHASH, "keyedhash" },
        { TPM2_ALG_XOR, "xor" },
        { TPM2_ALG_SHA256, "sha256" },
        { TPM2_ALG_SHA384, "sha384" },
        { TPM2_ALG_SHA512, "sha512" },
        { TPM2_ALG_NULL, "null" },
        { TPM2_ALG_SM3_256, "sm3_256" },
        { TPM2_ALG_SM4, "sm4" },
        { TPM2_ALG_RSASSA, "rsassa" },
        { TPM2_ALG_RSAES, "rsaes" },
        { TPM2_ALG_RSAPSS, "rsapss" },
        { TPM2_ALG_OAEP, "oaep" },
        { TPM2_ALG_ECDSA, "ecdsa" },
        { TPM2_ALG_ECDH, "ecdh" },
        { TPM2_ALG_ECDAA, "ecdaa" },
        { TPM2_ALG_SM2, "sm2" },
        { TPM2_ALG_ECSCHNORR, "ecschnorr" },
        { TPM2_ALG_ECMQV, "ecmqv" },
        { TPM2_ALG_KDF1_SP800_56A, "kdf1_sp800_56a" },
        { TPM2_ALG_KDF2, "kdf2" },
        { TPM2_ALG_KDF1_SP800_108, "kdf1_sp800_108" },
        { TPM2_ALG_ECC, "ecc" },
        { TPM2_ALG_SYMCIPHER, "symcipher" },
        { TPM2_ALG_CAMELLIA, "camellia" },
        { TPM2_ALG_SHA3_256, "sha3_256" },
        { TPM2_ALG_SHA3_384, "sha3_384" },
        { TPM2_ALG_SHA3_512, "sha3_512" },
        { TPM2_ALG_CMAC, "cmac" },
        { TPM2_ALG_CTR, "ctr" },
        { TPM2_ALG_OFB, "ofb" },
        { TPM2_ALG_CBC, "cbc" },
        { TPM2_ALG_CFB, "cfb" },
        { TPM2_ALG_ECB, "ecb" },
};

const char *tpm2_alg_to_string(uint16_t alg) {
        for (size_t i = 0; i < ELEMENTSOF(alg_table); i++)
                if (alg_table[i].alg == alg)
                        return alg_table[i].name;
        return NULL;
}

Tpm2Info *tpm2_info_free(Tpm2Info *i) {
        if (!i)
                return NULL;
        free(i->manufacturer);
        free(i->vendor_string);
        free(i->firmware_version);
        strv_free(i->algorithms);
        strv_free(i->pcr_banks);
        free(i);
        return NULL;
}

static int strv_push(char ***l, size_t *n, char *s) {
        char **t;

        if (!s)
                return -ENOMEM;
        t = reallocarray(*l, *n + 2, sizeof(char *));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[(*n)++] = s;
        t[*n] = NULL;
        *l = t;
        return 0;
}

/* Appends the four big-endian characters of a property value, keeping printable ones only: the TPM
 * decides these bytes and they end up in logs and on terminals. */
static void append_chars(char *buf, size_t *n, uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) {
                char ch = (char) ((v >> shift) & 0xFF);
                if (ch >= 0x20 && ch < 0x7F)
                        buf[(*n)++] = ch;
        }
        buf[*n] = 0;
}

static void strip_trailing_spaces(char *s) {
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == ' ')
                s[--n] = 0;
}

static int info_fill_properties(Tpm2Info *info, const TPMS_TAGGED_PROPERTY *p, size_t n) {
        uint32_t vendor[4] = {}, manufacturer = 0, fw1 = 0, fw2 = 0;
        char buf[4 * 4 + 1];
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                uint32_t v = p[i].value;

                switch (p[i].property) {
                case TPM2_PT_LEVEL:
                        info->spec_level = v;
                        break;
                case TPM2_PT_REVISION:
                        info->spec_revision = v;
                        break;
                case TPM2_PT_DAY_OF_YEAR:
                        info->spec_day_of_year = v;
                        break;
                case TPM2_PT_YEAR:
                        info->spec_year = v;
                        break;
                case TPM2_PT_MANUFACTURER:
                        manufacturer = v;
                        break;
                case TPM2_PT_VENDOR_STRING_1:
                case TPM2_PT_VENDOR_STRING_2:
                case TPM2_PT_VENDOR_STRING_3:
                case TPM2_PT_VENDOR_STRING_4:
                        vendor[p[i].property - TPM2_PT_VENDOR_STRING_1] = v;
                        break;
                case TPM2_PT_FIRMWARE_VERSION_1:
                        fw1 = v;
                        break;
                case TPM2_PT_FIRMWARE_VERSION_2:
                        fw2 = v;
                        break;
                case TPM2_PT_PCR_COUNT:
                        info->pcr_count = v;
                        break;
                case TPM2_PT_PERMANENT:
                        info->in_lockout = v & TPMA_PERMANENT_INLOCKOUT;
                        break;
                case TPM2_PT_LOCKOUT_COUNTER:
                        info->lockout_counter = v;
                        break;
                case TPM2_PT_MAX_AUTH_FAIL:
                        info->max_auth_fail = v;
                        break;
                case TPM2_PT_LOCKOUT_INTERVAL:
                        info->lockout_interval = v;
                        break;
                case TPM2_PT_LOCKOUT_RECOVERY:
                        info->lockout_recovery = v;
                        break;
                default:
                        break;
                }
        }

        if (!info->manufacturer) {
                append_chars(buf, &k, manufacturer);
                strip_trailing_spaces(buf);
                info->manufacturer = strdup(buf);
                if (!info->manufacturer)
                        return -ENOMEM;

                k = 0;
                buf[0] = 0;
                for (size_t i = 0; i < ELEMENTSOF(vendor); i++)
                        append_chars(buf, &k, vendor[i]);
                strip_trailing_spaces(buf);
                info->vendor_string = strdup(buf);
                if (!info->vendor_string)
                        return -ENOMEM;

                if (asprintf(&info->firmware_version, "%u.%u.%u.%u", fw1 >> 16, fw1 & 0xFFFF, fw2 >> 16,
                             fw2 & 0xFFFF) < 0) {
                        info->firmware_version = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

static int info_fill_algorithms(Tpm2Context *c, Tpm2Info *info) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        const TPML_ALG_PROPERTY *a;
        size_t n = 0;
        int r;

        r = tpm2_get_capability(c, TPM2_CAP_ALGS, TPM2_ALG_FIRST, TPM2_MAX_CAP_ALGS, &data, NULL);
        if (r < 0)
                return r;

        a = &data->data.algorithms;
        if (a->count > TPM2_MAX_CAP_ALGS)
                return -EBADMSG;

        info->algorithms = calloc(1, sizeof(char *));
        if (!info->algorithms)
                return -ENOMEM;

        for (uint32_t i = 0; i < a->count; i++) {
                const char *name = tpm2_alg_to_string(a->algProperties[i].alg);
                char *s;

                if (name)
                        s = strdup(name);
                else if (asprintf(&s, "0x%04x", (unsigned) a->algProperties[i].alg) < 0)
                        s = NULL;

                r = strv_push(&info->algorithms, &n, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int info_fill_banks(Tpm2Context *c, Tpm2Info *info) {
        TPML_PCR_SELECTION sel;
        size_t n = 0;
        int r;

        r = tpm2_get_pcr_allocation(c, &sel);
        if (r < 0)
                return r;

        info->pcr_banks = calloc(1, sizeof(char *));
        if (!info->pcr_banks)
                return -ENOMEM;

        for (uint32_t i = 0; i < sel.count; i++) {
                const TPMS_PCR_SELECTION *s = &sel.pcrSelections[i];
                const char *name;
                bool any = false;

                for (size_t j = 0; j < s->sizeofSelect; j++)
                        any = any || s->pcrSelect[j] != 0;
                if (!any)
                        continue;

                name = tpm2_hash_alg_to_string(s->hash);
                if (!name) {
                        log_debug("Ignoring PCR bank of unknown hash 0x%04x.", (unsigned) s->hash);
                        continue;
                }

                r = strv_push(&info->pcr_banks, &n, strdup(name));
                if (r < 0)
                        return r;
        }
        return 0;
}

int tpm2_get_info(Tpm2Context *c, Tpm2Info **ret) {
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;
        static const TPM2_PT groups[] = { TPM2_PT_FIXED, TPM2_PT_VAR };
        int r;

        assert(c);
        assert(ret);

        info = calloc(1, sizeof(*info));
        if (!info)
                return -ENOMEM;

        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                _cleanup_free_ TPMS_TAGGED_PROPERTY *p = NULL;
                size_t n;

                r = tpm2_get_properties(c, groups[g], &p, &n);
                if (r < 0)
                        return log_debug_errno(r, "Failed to read TPM properties: %m");

                r = info_fill_properties(info, p, n);
                if (r < 0)
                        return r;
        }

        r = info_fill_algorithms(c, info);
        if (r < 0)
                return log_debug_errno(r, "Failed to read TPM algorithms: %m");

        r = info_fill_banks(c, info);
        if (r < 0)
                return log_debug_errno(r, "Failed to read TPM PCR banks: %m");

        *ret = TAKE_PTR(info);
        return 0;
}

int tpm2_da_lock_reset(Tpm2Context *c) {
        TSS2_RC rc;

        assert(c);

        rc = Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                            ESYS_TR_NONE, ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_DictionaryAttackLockReset failed: %s",
                                       tss2_rc_to_string(rc));
        return 0;
}

int tpm2_explain_auth_failure(Tpm2Context *c, int r, Tpm2Error *error) {
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;

        assert(c);

        if (tpm2_get_info(c, &info) < 0)
                return r == -ENOLCK ? tpm2_error_set(error, r, "the TPM is in dictionary-attack lockout")
                                    : tpm2_error_set(error, r, "wrong PIN");

        if (r == -ENOLCK || info->in_lockout)
                return tpm2_error_set(error, -ENOLCK,
                                      "the TPM is in dictionary-attack lockout for %" PRIu32 " s",
                                      info->lockout_interval);

        uint32_t left = info->max_auth_fail > info->lockout_counter
                ? info->max_auth_fail - info->lockout_counter
                : 0;
        return tpm2_error_set(error, -EACCES, "wrong PIN, %" PRIu32 " %s left", left,
                              left == 1 ? "try" : "tries");
}
