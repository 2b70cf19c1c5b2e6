/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "eventlog/ima-template.h"

/* clang-format off */
static const char *const field_table[_IMA_FIELD_MAX] = {
        [IMA_FIELD_D]        = "d",
        [IMA_FIELD_N]        = "n",
        [IMA_FIELD_D_NG]     = "d-ng",
        [IMA_FIELD_N_NG]     = "n-ng",
        [IMA_FIELD_SIG]      = "sig",
        [IMA_FIELD_BUF]      = "buf",
        [IMA_FIELD_MODSIG]   = "modsig",
        [IMA_FIELD_D_MODSIG] = "d-modsig",
        [IMA_FIELD_D_NGV2]   = "d-ngv2",
};
/* clang-format on */

const char *ima_field_to_string(ImaField f) {
        if (f < 0 || f >= _IMA_FIELD_MAX)
                return NULL;
        return field_table[f];
}

int ima_string_table_lookup(const char *const *table, size_t n, const char *s, size_t len) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strlen(table[i]) == len && memcmp(table[i], s, len) == 0)
                        return (int) i;
        return -EINVAL;
}

ImaField ima_field_from_string(const char *s, size_t len) {
        return ima_string_table_lookup(field_table, ELEMENTSOF(field_table), s, len);
}

/* The kernel's builtin templates (ima_template.c, builtin_templates[]). */
static const struct {
        const char *name;
        const char *fmt;
} builtin_templates[] = {
        { "ima", "d|n" },
        { "ima-ng", "d-ng|n-ng" },
        { "ima-sig", "d-ng|n-ng|sig" },
        { "ima-buf", "d-ng|n-ng|buf" },
        { "ima-modsig", "d-ng|n-ng|sig|d-modsig|modsig" },
        { "ima-ngv2", "d-ngv2|n-ng" },
        { "ima-sigv2", "d-ngv2|n-ng|sig" },
};

static int parse_fmt(const char *fmt, size_t len, ImaTemplate *t) {
        size_t start = 0;
        bool have_name = false;

        *t = (ImaTemplate){};
        if (len == 0)
                return -EPROTONOSUPPORT;

        for (size_t i = 0; i <= len; i++) {
                ImaField f;

                if (i < len && fmt[i] != '|')
                        continue;
                if (t->n_fields >= IMA_TEMPLATE_FIELDS_MAX)
                        return -EPROTONOSUPPORT;
                f = ima_field_from_string(fmt + start, i - start);
                if (f < 0)
                        return -EPROTONOSUPPORT;
                /* One name field at most: the ASCII format can only be split around one field that may
                 * hold spaces. */
                if (IN_SET(f, IMA_FIELD_N, IMA_FIELD_N_NG)) {
                        if (have_name)
                                return -EPROTONOSUPPORT;
                        have_name = true;
                }
                t->fields[t->n_fields++] = f;
                start = i + 1;
        }
        return 0;
}

int ima_template_from_name(const char *name, size_t len, ImaTemplate *ret) {
        ImaTemplate t;
        int r;

        assert(ret);

        if (!name || len == 0 || len > IMA_TEMPLATE_NAME_MAX)
                return -EPROTONOSUPPORT;

        for (size_t i = 0; i < ELEMENTSOF(builtin_templates); i++)
                if (strlen(builtin_templates[i].name) == len &&
                    memcmp(builtin_templates[i].name, name, len) == 0) {
                        r = parse_fmt(builtin_templates[i].fmt, strlen(builtin_templates[i].fmt), &t);
                        if (r < 0)
                                return r;
                        t.legacy = i == 0;
                        *ret = t;
                        return 0;
                }

        /* A custom format. The "ima" rules apply only to the template named "ima", so the fields d and n
         * in a custom format are plain length-prefixed fields. */
        r = parse_fmt(name, len, &t);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

int ima_template_name_field(const ImaTemplate *t) {
        assert(t);
        for (size_t i = 0; i < t->n_fields; i++)
                if (IN_SET(t->fields[i], IMA_FIELD_N, IMA_FIELD_N_NG))
                        return (int) i;
        return -ENOENT;
}

/* The kernel's hash_algo_name[] with digest sizes (include/crypto/hash_info.h), the TPM algorithm ids
 * where the TCG registry has one. */
static const ImaHashAlgo hash_algos[] = {
        { "md4", 0, 16, "MD4" },
        { "md5", 0, 16, "MD5" },
        { "sha1", TPM2_ALG_SHA1, 20, "SHA1" },
        { "rmd160", 0, 20, "RIPEMD160" },
        { "sha256", TPM2_ALG_SHA256, 32, "SHA256" },
        { "sha384", TPM2_ALG_SHA384, 48, "SHA384" },
        { "sha512", TPM2_ALG_SHA512, 64, "SHA512" },
        { "sha224", 0, 28, "SHA224" },
        { "rmd128", 0, 16, NULL },
        { "rmd256", 0, 32, NULL },
        { "rmd320", 0, 40, NULL },
        { "wp256", 0, 32, NULL },
        { "wp384", 0, 48, NULL },
        { "wp512", 0, 64, NULL },
        { "tgr128", 0, 16, NULL },
        { "tgr160", 0, 20, NULL },
        { "tgr192", 0, 24, NULL },
        { "sm3", TPM2_ALG_SM3_256, 32, "SM3" },
        { "streebog256", 0, 32, NULL },
        { "streebog512", 0, 64, NULL },
        { "sha3-256", TPM2_ALG_SHA3_256, 32, "SHA3-256" },
        { "sha3-384", TPM2_ALG_SHA3_384, 48, "SHA3-384" },
        { "sha3-512", TPM2_ALG_SHA3_512, 64, "SHA3-512" },
};

const ImaHashAlgo *ima_hash_algo_from_name(const char *name, size_t len) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(hash_algos); i++)
                if (strlen(hash_algos[i].name) == len && memcmp(hash_algos[i].name, name, len) == 0)
                        return hash_algos + i;
        return NULL;
}

const ImaHashAlgo *ima_hash_algo_from_tpm(uint16_t alg) {
        if (alg == 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(hash_algos); i++)
                if (hash_algos[i].tpm_alg == alg)
                        return hash_algos + i;
        return NULL;
}
