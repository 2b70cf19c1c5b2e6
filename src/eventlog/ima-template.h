/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* IMA template descriptors and template data fields, as the kernel defines them
 * (security/integrity/ima/ima_template.c, ima_template_lib.c), and the kernel's hash algorithm names.
 * Everything here is a pure function of its input; nothing allocates. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest digest of any algorithm below (sha512, streebog512, sha3-512). */
#define IMA_DIGEST_MAX 64U
/* Kernel: IMA_TEMPLATE_NUM_FIELDS_MAX. */
#define IMA_TEMPLATE_FIELDS_MAX 15U
/* Longest template name we accept: a builtin name or a custom format such as "d-ng|n-ng|sig|buf". */
#define IMA_TEMPLATE_NAME_MAX 255U
/* Kernel: IMA_EVENT_NAME_LEN_MAX. The "ima" template's name field is at most this long and is hashed
 * zero-padded to this + 1 bytes. */
#define IMA_EVENT_NAME_LEN_MAX 255U
/* Longest hash algorithm name in a d-ng field ("streebog512" is the longest the kernel knows). */
#define IMA_HASH_NAME_MAX 32U

typedef enum ImaField {
        IMA_FIELD_D,      /* digest, 20 bytes, no algorithm ("ima" template) */
        IMA_FIELD_N,      /* name, at most 255 bytes ("ima" template) */
        IMA_FIELD_D_NG,   /* "<algo>:\0" + digest */
        IMA_FIELD_N_NG,   /* name, NUL-terminated, no size limit */
        IMA_FIELD_SIG,    /* security.ima signature (may be empty) */
        IMA_FIELD_BUF,    /* measured buffer: kexec command line, keys, critical data */
        IMA_FIELD_MODSIG, /* appended (module-style) signature, PKCS#7 (may be empty) */
        IMA_FIELD_D_MODSIG, /* "<algo>:\0" + digest of the file without its appended signature (may be empty) */
        IMA_FIELD_D_NGV2, /* "<type>:<algo>:\0" + digest, type "ima" or "verity" (fs-verity) */
        _IMA_FIELD_MAX,
        _IMA_FIELD_INVALID = -EINVAL,
} ImaField;

/* Index of the len bytes at s in table (n entries), or -EINVAL: the one lookup behind the
 * *_from_string() functions of the IMA code. */
int ima_string_table_lookup(const char *const *table, size_t n, const char *s, size_t len);

const char *ima_field_to_string(ImaField f);
/* len bytes at s (not NUL-terminated). */
ImaField ima_field_from_string(const char *s, size_t len);

typedef struct ImaTemplate {
        ImaField fields[IMA_TEMPLATE_FIELDS_MAX];
        size_t n_fields;
        /* The template named "ima": binary log without template data length, the 'd' field without
         * length, the 'n' field without NUL, and the kernel's special template hash (no field lengths,
         * the name zero-padded to 256 bytes). */
        bool legacy;
} ImaTemplate;

/* Resolves a template name (len bytes at name): a builtin name (ima, ima-ng, ima-sig, ima-buf,
 * ima-modsig) or a custom format string of field ids joined by '|' (how the kernel names a template
 * given with ima_template_fmt= after kexec). Returns 0, or -EPROTONOSUPPORT for an unknown name or field
 * id, an empty name, too many fields, or a name field that is not the only one of its kind. */
int ima_template_from_name(const char *name, size_t len, ImaTemplate *ret);

/* The index of the template's name field (n or n-ng), or -ENOENT. */
int ima_template_name_field(const ImaTemplate *t);

typedef struct ImaHashAlgo {
        const char *name; /* the kernel's hash_algo_name[] */
        uint16_t tpm_alg; /* TPM_ALG_ID, 0 if the TPM has none */
        size_t size;      /* digest size */
        const char *md;   /* OpenSSL digest name, NULL if OpenSSL has none */
} ImaHashAlgo;

/* len bytes at name; NULL when unknown. */
const ImaHashAlgo *ima_hash_algo_from_name(const char *name, size_t len);
/* A TPM_ALG_ID (TPM2_ALG_SHA1, ...); NULL when unknown. */
const ImaHashAlgo *ima_hash_algo_from_tpm(uint16_t alg);
