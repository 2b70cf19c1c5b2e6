/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Replay of the IMA log into PCRs (PCR 10 unless the policy names others), and the boot_aggregate
 * check against the firmware log's PCRs.
 *
 * What the kernel extends (security/integrity/ima/ima_queue.c, ima_crypto.c):
 *  - Linux >= 5.10 (ima_calc_field_array_hash() per bank): each PCR bank is extended with the template
 *    hash computed with that bank's algorithm (sha256 bank: sha256 of the template data, by the same
 *    rules as the logged sha1 template hash; for banks the kernel has no hash for, the sha1 template
 *    hash zero-padded). IMA_EXTEND_TEMPLATE_HASH.
 *  - Older kernels extended every bank with the sha1 template hash zero-padded to the bank's size.
 *    IMA_EXTEND_PADDED_SHA1.
 *  - A violation (template hash logged as all zero) extends 0xff bytes: the bank's whole size since
 *    Linux 5.10 (ima_init_digests()), 20 bytes of 0xff zero-padded before (a sha1-sized digest like
 *    every other entry of those kernels). So each rule has its own violation value.
 * A verifier that does not know the kernel replays both and takes the one the quote matches
 * (keylime and go-attestation do the same). */

#include <stdint.h>

#include "eventlog/ima-log.h"

#define IMA_REPLAY_BANKS_MAX 4U

typedef enum ImaExtendRule {
        IMA_EXTEND_TEMPLATE_HASH, /* each bank: the template hash with the bank's algorithm */
        IMA_EXTEND_PADDED_SHA1,   /* each bank: the sha1 template hash, zero-padded */
        _IMA_EXTEND_RULE_MAX,
        _IMA_EXTEND_RULE_INVALID = -EINVAL,
} ImaExtendRule;

const char *ima_extend_rule_to_string(ImaExtendRule r);
ImaExtendRule ima_extend_rule_from_string(const char *s);

/* The running state of a replay. A plain struct without pointers: a verifier may keep it between
 * attestations (continuous attestation) and feed only the entries that are new. */
typedef struct ImaReplay {
        ImaExtendRule rule;
        ImaLogFormat format;        /* of the log being fed; AUTO until the first feed */
        uint16_t template_hash_alg; /* of the log being fed; 0 until the first feed (sha1 for binary) */
        uint64_t n_entries;         /* entries replayed so far = index of the next entry */
        uint64_t next_offset;       /* byte offset of the next entry in the whole log */
        uint32_t pcr_mask;          /* PCRs that received at least one entry */
        size_t n_banks;
        uint16_t banks[IMA_REPLAY_BANKS_MAX]; /* TPM_ALG_IDs */
        uint8_t pcrs[IMA_REPLAY_BANKS_MAX][IMA_PCR_MAX][IMA_DIGEST_MAX];
} ImaReplay;

/* Starts a replay from all-zero PCRs for the given banks (TPM_ALG_IDs with an OpenSSL digest: sha1,
 * sha256, sha384, sha512, sm3_256, sha3_*). Returns 0 or -EINVAL (no bank, too many, unknown, twice). */
int ima_replay_init(ImaReplay *r, const uint16_t *banks, size_t n_banks, ImaExtendRule rule);

/* Verifies the template hash of every entry of log and extends it into the PCRs. log->first_index must
 * equal r->n_entries (the entries continue the replay). Returns 0, or a negative errno with *ret_error
 * naming the entry: -EILSEQ template hash mismatch, -EXDEV log does not continue the replay (wrong
 * first index or another template hash algorithm than before), OpenSSL errors. On error *r is
 * unchanged. */
int ima_replay_log(ImaReplay *r, const ImaLog *log, ImaError *ret_error);

/* As ima_replay_log(), but stops at the first point where PCR pcr of bank equals want (want_size
 * bytes): already before the first entry, or after one. A quote taken while the kernel kept measuring
 * covers only a prefix of a log read after it; this finds that prefix. The entries after it are left
 * for the next call (neither verified nor consumed). Returns 0 with *r at that point, -ESRCH with
 * *ret_error when no point of the log matches (then *r is unchanged, as on every error), -EINVAL for a
 * bank not replayed, pcr >= IMA_PCR_MAX or a want_size that is not the bank's digest size. */
int ima_replay_log_until(ImaReplay *r, const ImaLog *log, uint16_t bank, uint32_t pcr, const uint8_t *want,
                         size_t want_size, ImaError *ret_error);

/* Parses and replays data: the log from byte offset data_offset of the whole log on. It may be the
 * whole log again (data_offset 0) or only its new tail (data_offset == r->next_offset); the bytes before
 * r->next_offset were replayed before and are skipped, not parsed again (their effect is in the
 * PCR values, which a quote confirms). format: as for ima_log_parse(); the template hash algorithm is
 * the one of the first feed. Returns as ima_log_parse() and ima_replay_log(), -EXDEV when data starts
 * after r->next_offset (a gap). On error *r is unchanged. */
int ima_replay_feed(ImaReplay *r, const void *data, size_t size, uint64_t data_offset, ImaLogFormat format,
                    ImaError *ret_error);

/* The replayed value of pcr in bank: 0 and *ret (digest size bytes of the bank), or -ENOENT (bank not
 * replayed) / -EINVAL (pcr >= IMA_PCR_MAX). */
int ima_replay_pcr(const ImaReplay *r, uint16_t bank, uint32_t pcr, const uint8_t **ret, size_t *ret_size);

/* boot_aggregate (ima_calc_boot_aggregate()): the hash, with the bank's algorithm, of the bank's PCR
 * values 0..n-1 concatenated. Linux >= 5.8 uses PCRs 0-7 for the sha1 bank and PCRs 0-9 for other banks
 * (it measures into the sha256 bank when the TPM has one); Linux 5.7 used PCRs 0-7 with the sha256
 * bank; older kernels PCRs 0-7 with sha1. */
#define IMA_BOOT_AGGREGATE_PCRS 10U

typedef struct ImaBankPcrs {
        uint16_t alg;                                          /* TPM_ALG_ID */
        uint8_t pcrs[IMA_BOOT_AGGREGATE_PCRS][IMA_DIGEST_MAX]; /* PCR 0..9, digest size of alg each */
} ImaBankPcrs;

typedef enum ImaBootAggregateVariant {
        IMA_BOOT_AGGREGATE_PCR0_9, /* non-sha1 bank, Linux >= 5.8 */
        IMA_BOOT_AGGREGATE_PCR0_7, /* sha1 bank, or a non-sha1 bank on Linux 5.7 */
        _IMA_BOOT_AGGREGATE_VARIANT_MAX,
        _IMA_BOOT_AGGREGATE_VARIANT_INVALID = -EINVAL,
} ImaBootAggregateVariant;

const char *ima_boot_aggregate_variant_to_string(ImaBootAggregateVariant v);

/* Computes boot_aggregate over PCRs 0..n_pcrs-1 (8 or 10) of bank. ret has IMA_DIGEST_MAX bytes.
 * Returns 0 with *ret_size, -EINVAL (n_pcrs), -EOPNOTSUPP (unknown bank). */
int ima_boot_aggregate(const ImaBankPcrs *bank, size_t n_pcrs, uint8_t *ret, size_t *ret_size);

/* Checks entry e (the first of the log, named "boot_aggregate") against the PCRs of the banks given:
 * the entry's digest algorithm selects the bank (sha1 for the "ima" template); the variants of that
 * bank are tried in the order of the current kernel rule. Returns 0 with *ret_variant (may be NULL),
 * or with *ret_error filled: -ENOENT the entry is not a boot_aggregate, -ENODATA no PCRs given for its
 * algorithm, -EILSEQ no variant matches (also when the entry is all zero: the kernel found no TPM). */
int ima_boot_aggregate_check(const ImaEntry *e, const ImaBankPcrs *banks, size_t n_banks,
                             ImaBootAggregateVariant *ret_variant, ImaError *ret_error);
