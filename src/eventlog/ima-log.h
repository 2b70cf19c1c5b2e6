/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Linux IMA runtime measurement log (securityfs ima/binary_runtime_measurements and
 * ima/ascii_runtime_measurements): parsing and template hash verification. Every byte is treated as
 * hostile: every length is bounded by the limits below, and every error names the entry index and
 * where it is (byte offset for the binary format, line number for the ASCII format).
 *
 * Binary format (the kernel's ima_measurements_show(), little-endian, i.e. ima_canonical_fmt or a
 * little-endian machine), per entry:
 *   u32 PCR, template hash (20 bytes: sha1, or the size of the bank of a per-bank
 *   binary_runtime_measurements_<alg> file), u32 template name length, template name,
 *   then for every template except "ima": u32 template data length, template data
 *   (per field: u32 length, bytes); for "ima": 20-byte digest, u32 name length, name (no NUL).
 * ASCII format: "PCR TEMPLATE-HASH-HEX TEMPLATE-NAME FIELD..." per line, each field preceded by one
 * space (an empty field leaves just the space); digests with algorithm as "sha256:HEX", names as text,
 * signatures and buffers as hex. Names may contain spaces (older kernels), so the name field is what
 * remains after the other fields are taken from both ends. The binary format is the authoritative one:
 * a file name holding a newline cannot be represented in the ASCII format. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "basic/macro.h"
#include "eventlog/ima-template.h"

/* Limits on what one parse can make us allocate (each entry costs 640 bytes besides its data on x86-64, so
 * the entry limit bounds that at 640 MiB). A long-running server's log has a few hundred thousand
 * entries and a few tens of MB; a longer log is parsed in pieces with ima_replay_feed(). */
#define IMA_LOG_SIZE_MAX (256U * 1024U * 1024U)
#define IMA_LOG_ENTRIES_MAX (1024U * 1024U)
/* Template data of one entry: ima-buf keys and ima-modsig PKCS#7 signatures are a few KB. */
#define IMA_TEMPLATE_DATA_MAX (1024U * 1024U)
/* One ASCII line: the hex of the largest template data plus the fixed columns. */
#define IMA_ASCII_LINE_MAX (2U * IMA_TEMPLATE_DATA_MAX + 1024U)
/* PCR indexes an entry may name (a TPM has 24). */
#define IMA_PCR_MAX 24U
/* The PCR the kernel measures into unless the policy says otherwise (CONFIG_IMA_MEASURE_PCR_IDX). */
#define IMA_PCR_DEFAULT 10U

/* Where the log is read from when no path is given: $TRUSTED_PLATFORM_IMA_LOG, else this. */
#define IMA_LOG_PATH_DEFAULT "/sys/kernel/security/ima/binary_runtime_measurements"

typedef enum ImaLogFormat {
        IMA_LOG_FORMAT_AUTO, /* ASCII when the data starts with a decimal digit, binary otherwise */
        IMA_LOG_FORMAT_BINARY,
        IMA_LOG_FORMAT_ASCII,
        _IMA_LOG_FORMAT_MAX,
        _IMA_LOG_FORMAT_INVALID = -EINVAL,
} ImaLogFormat;

const char *ima_log_format_to_string(ImaLogFormat f);
ImaLogFormat ima_log_format_from_string(const char *s);

/* Where and what: message holds the whole sentence, location included, e.g.
 * "entry 3 at byte offset 512: template data length 4294967295 exceeds the limit of 1048576". */
typedef struct ImaError {
        uint64_t entry;  /* index of the entry in the whole log */
        uint64_t offset; /* byte offset of the problem in the whole log */
        uint64_t line;   /* ASCII: 1-based line number; 0 for the binary format */
        char message[256];
} ImaError;

/* Fills *e (if not NULL) and returns r (a negative errno). For the parts of the library that report
 * errors about an entry. */
int ima_error_set(ImaError *e, int r, uint64_t entry, uint64_t offset, uint64_t line, const char *format, ...)
        __attribute__((format(printf, 6, 7)));

typedef struct ImaFieldData {
        ImaField id;
        const uint8_t *data; /* into ImaEntry.data */
        uint32_t size;
} ImaFieldData;

typedef struct ImaEntry {
        uint64_t index;  /* in the whole log */
        uint64_t offset; /* byte offset of the entry in the whole log */
        uint64_t line;   /* ASCII: 1-based line number; 0 for the binary format */
        uint32_t pcr;
        uint8_t template_hash[IMA_DIGEST_MAX]; /* as logged; ImaLog.template_hash_alg */
        bool violation;                        /* template hash all zero: the kernel logged a violation */
        char *template_name;                   /* NUL-terminated, as logged */
        ImaTemplate template;
        /* The template data as the kernel keeps it: per field a u32 (little-endian) length and the
         * bytes; name fields (n, n-ng) always carry their NUL. For every template but "ima" this is what
         * the template hash is computed over. */
        uint8_t *data;
        size_t data_size;
        ImaFieldData fields[IMA_TEMPLATE_FIELDS_MAX];
        /* Decoded from the fields. */
        const char *name; /* the n/n-ng field (NUL-terminated, no NUL inside), NULL if none */
        /* Algorithm name of d-ng/d-ngv2 ("sha1" for d), "" if no digest field. An array, not a pointer:
         * entries move while the log grows. */
        char digest_algo[IMA_HASH_NAME_MAX + 1];
        const char *digest_type; /* d-ngv2: "ima" (file data) or "verity" (fs-verity digest), else NULL */
        const uint8_t *digest;   /* the file (or buffer) digest */
        size_t digest_size;
} ImaEntry;

typedef struct ImaLog {
        ImaLogFormat format;
        uint16_t template_hash_alg; /* TPM_ALG_ID of the template hash column */
        size_t template_hash_size;
        ImaEntry *entries;
        size_t n_entries;
        uint64_t first_index; /* index of entries[0] in the whole log */
        uint64_t end_offset;  /* byte offset just after the last entry, in the whole log */
} ImaLog;

typedef struct ImaParseParams {
        ImaLogFormat format;
        /* TPM_ALG_ID of the template hash column. 0: sha1 for the binary format, from the hex length for
         * the ASCII format (40: sha1, 64: sha256, 96: sha384, 128: sha512). */
        uint16_t template_hash_alg;
        /* For a tail of a log (continuous attestation): index and byte offset in the whole log of the
         * entry at data[0]. Both 0 for a whole log. */
        uint64_t first_index;
        uint64_t first_offset;
} ImaParseParams;

/* Parses size bytes at data (params may be NULL: whole log, auto format, sha1). The data must end on an
 * entry boundary (ASCII: with a newline). Returns 0 with *ret (ima_log_free()), or a negative errno
 * with *ret_error filled (may be NULL):
 *   -EBADMSG      malformed: truncated, bad hex, bad digest format, digest size not the algorithm's,
 *                 PCR index >= IMA_PCR_MAX, a NUL inside a name, trailing bytes in the template data
 *   -E2BIG        a limit above exceeded
 *   -EPROTONOSUPPORT  unknown template name or field, or unknown template hash algorithm
 *   -ENOMEM
 * Template hashes are not checked here: ima_log_verify() and the replay do that. */
int ima_log_parse(const void *data, size_t size, const ImaParseParams *params, ImaLog **ret,
                  ImaError *ret_error);

ImaLog *ima_log_free(ImaLog *log);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImaLog *, ima_log_free);

/* $TRUSTED_PLATFORM_IMA_LOG if set and not empty, else IMA_LOG_PATH_DEFAULT. */
const char *ima_log_default_path(void);

/* Reads the log at path (NULL: ima_log_default_path()), at most IMA_LOG_SIZE_MAX bytes. */
int ima_log_read_file(const char *path, char **ret_data, size_t *ret_size);

/* The kernel's number of entries in the log, a small decimal file beside the log in securityfs. */
#define IMA_LOG_COUNT_FILE "runtime_measurements_count"

/* A cheap measure of the log at path (NULL: ima_log_default_path()) that grows with it, for noticing
 * growth by polling (securityfs sends no inotify events) without reading the log: the number in
 * IMA_LOG_COUNT_FILE in the log's directory when that file exists (securityfs reports the log's size as
 * 0), else the log's size in bytes (a plain file, e.g. a copy given with $TRUSTED_PLATFORM_IMA_LOG).
 * Returns 0 with *ret_value and *ret_entries (true: a number of entries, false: bytes), or a negative
 * errno: that of stat() on the log, -EBADMSG when the count file does not hold a number. */
int ima_log_measure(const char *path, uint64_t *ret_value, bool *ret_entries);

/* Computes the template hash of e with algo (ima_hash_algo_from_*(); needs an OpenSSL digest) by the
 * kernel's rules (ima_calc_field_array_hash()): over the template data; for the "ima" template over
 * the 'd' bytes and the name zero-padded to 256 bytes, without field lengths. ret has room for
 * IMA_DIGEST_MAX bytes. Returns 0, -EOPNOTSUPP (no OpenSSL digest), -ENOMEM or -EIO. */
int ima_entry_template_hash(const ImaEntry *e, const ImaHashAlgo *algo, uint8_t *ret);

/* Checks the logged template hash of every entry except violations against its template data.
 * Returns 0, or -EILSEQ at the first mismatch with *ret_error naming the entry and its file name. */
int ima_log_verify(const ImaLog *log, ImaError *ret_error);

/* The same with a digest and a context the caller keeps across entries (ctx is re-initialised). */
int ima_entry_template_hash_md(const ImaEntry *e, const EVP_MD *md, EVP_MD_CTX *ctx, uint8_t *ret);

/* Checks one entry's logged template hash (hash_size bytes, computed with md); violations pass.
 * Returns 0, -EILSEQ with *ret_error filled, or an OpenSSL error. */
int ima_entry_verify(const ImaEntry *e, size_t hash_size, const EVP_MD *md, EVP_MD_CTX *ctx,
                     ImaError *ret_error);
