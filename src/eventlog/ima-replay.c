/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>

#include <openssl/evp.h>

#include "basic/log.h"
#include "eventlog/ima-replay.h"
#include "shared/openssl-util.h"

static const char *const rule_table[_IMA_EXTEND_RULE_MAX] = {
        [IMA_EXTEND_TEMPLATE_HASH] = "template-hash",
        [IMA_EXTEND_PADDED_SHA1] = "padded-sha1",
};

const char *ima_extend_rule_to_string(ImaExtendRule r) {
        if (r < 0 || r >= _IMA_EXTEND_RULE_MAX)
                return NULL;
        return rule_table[r];
}

ImaExtendRule ima_extend_rule_from_string(const char *s) {
        return ima_string_table_lookup(rule_table, ELEMENTSOF(rule_table), s, s ? strlen(s) : 0);
}

static const char *const variant_table[_IMA_BOOT_AGGREGATE_VARIANT_MAX] = {
        [IMA_BOOT_AGGREGATE_PCR0_9] = "pcr0-9",
        [IMA_BOOT_AGGREGATE_PCR0_7] = "pcr0-7",
};

const char *ima_boot_aggregate_variant_to_string(ImaBootAggregateVariant v) {
        if (v < 0 || v >= _IMA_BOOT_AGGREGATE_VARIANT_MAX)
                return NULL;
        return variant_table[v];
}

static const EVP_MD *bank_md(uint16_t alg, size_t *ret_size) {
        const ImaHashAlgo *a = ima_hash_algo_from_tpm(alg);
        const EVP_MD *md;

        if (!a || !a->md)
                return NULL;
        md = EVP_get_digestbyname(a->md);
        if (md && ret_size)
                *ret_size = a->size;
        return md;
}

int ima_replay_init(ImaReplay *r, const uint16_t *banks, size_t n_banks, ImaExtendRule rule) {
        assert(r);

        if (n_banks == 0 || n_banks > IMA_REPLAY_BANKS_MAX || !banks || rule < 0 ||
            rule >= _IMA_EXTEND_RULE_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_banks; i++) {
                if (!bank_md(banks[i], NULL))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (banks[j] == banks[i])
                                return -EINVAL;
        }

        *r = (ImaReplay){ .rule = rule, .n_banks = n_banks };
        memcpy(r->banks, banks, n_banks * sizeof(uint16_t));
        return 0;
}

/* PCR_new = H(PCR_old || digest), both the bank's size. */
static int extend(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *pcr, size_t size, const uint8_t *digest) {
        unsigned n;

        if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pcr, size) != 1 ||
            EVP_DigestUpdate(ctx, digest, size) != 1 || EVP_DigestFinal_ex(ctx, pcr, &n) != 1)
                return openssl_errno();
        return 0;
}

/* A PCR value to stop at (ima_replay_log_until()). */
typedef struct Target {
        size_t bank; /* index into ImaReplay.banks */
        uint32_t pcr;
        const uint8_t *want;
        size_t size;
} Target;

static bool target_reached(const ImaReplay *r, const Target *t) {
        return memcmp(r->pcrs[t->bank][t->pcr], t->want, t->size) == 0;
}

static int replay(ImaReplay *r, const ImaLog *log, const Target *t, ImaError *ret_error) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ ImaReplay *next = NULL;
        const EVP_MD *log_md, *sha1_md, *md[IMA_REPLAY_BANKS_MAX];
        size_t sizes[IMA_REPLAY_BANKS_MAX];
        int q;

        assert(r && log);

        if (log->first_index != r->n_entries)
                return ima_error_set(ret_error, -EXDEV, log->first_index, 0, 0,
                                     "log starts at entry %" PRIu64 ", the replay is at entry %" PRIu64,
                                     log->first_index, r->n_entries);
        if (t && target_reached(r, t))
                return 0;
        if (log->n_entries == 0)
                return t ? ima_error_set(ret_error, -ESRCH, log->first_index, log->end_offset, 0,
                                         "no entry of the log gives the expected PCR value")
                         : 0;
        if (r->template_hash_alg != 0 && r->template_hash_alg != log->template_hash_alg)
                return ima_error_set(ret_error, -EXDEV, log->first_index, 0, 0,
                                     "log carries another template hash algorithm than before");

        log_md = bank_md(log->template_hash_alg, NULL);
        sha1_md = EVP_sha1();
        if (!log_md || !sha1_md)
                return -EOPNOTSUPP;
        for (size_t b = 0; b < r->n_banks; b++) {
                md[b] = bank_md(r->banks[b], sizes + b);
                if (!md[b])
                        return -EOPNOTSUPP;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;

        /* Work on a copy so that *r stays as it was when an entry fails. */
        next = malloc(sizeof(*r));
        if (!next)
                return -ENOMEM;
        *next = *r;

        for (size_t i = 0; i < log->n_entries; i++) {
                const ImaEntry *e = log->entries + i;
                uint8_t sha1[EVP_MAX_MD_SIZE];

                q = ima_entry_verify(e, log->template_hash_size, log_md, ctx, ret_error);
                if (q < 0)
                        return q;

                if (!e->violation && next->rule == IMA_EXTEND_PADDED_SHA1) {
                        q = ima_entry_template_hash_md(e, sha1_md, ctx, sha1);
                        if (q < 0)
                                return q;
                }

                for (size_t b = 0; b < next->n_banks; b++) {
                        uint8_t digest[IMA_DIGEST_MAX] = {};

                        if (e->violation)
                                /* Linux >= 5.10: all of the bank's size; before, the 20 bytes of a sha1
                                 * digest, padded with zeros like every other entry. */
                                memset(digest, 0xff,
                                       next->rule == IMA_EXTEND_PADDED_SHA1 ? MIN(sizes[b], (size_t) 20)
                                                                            : sizes[b]);
                        else if (next->rule == IMA_EXTEND_PADDED_SHA1)
                                memcpy(digest, sha1, MIN(sizes[b], (size_t) 20));
                        else {
                                q = ima_entry_template_hash_md(e, md[b], ctx, digest);
                                if (q < 0)
                                        return q;
                        }
                        q = extend(ctx, md[b], next->pcrs[b][e->pcr], sizes[b], digest);
                        if (q < 0)
                                return q;
                }
                next->pcr_mask |= 1U << e->pcr;

                if (t && target_reached(next, t)) {
                        next->n_entries = e->index + 1;
                        next->next_offset = i + 1 < log->n_entries ? log->entries[i + 1].offset
                                                                   : log->end_offset;
                        next->template_hash_alg = log->template_hash_alg;
                        next->format = log->format;
                        *r = *next;
                        return 0;
                }
        }
        if (t)
                return ima_error_set(ret_error, -ESRCH, log->first_index + log->n_entries, log->end_offset,
                                     0, "no entry of the log gives the expected PCR value");

        next->n_entries = log->first_index + log->n_entries;
        next->next_offset = log->end_offset;
        next->template_hash_alg = log->template_hash_alg;
        next->format = log->format;
        *r = *next;
        return 0;
}

int ima_replay_log(ImaReplay *r, const ImaLog *log, ImaError *ret_error) {
        return replay(r, log, NULL, ret_error);
}

int ima_replay_log_until(ImaReplay *r, const ImaLog *log, uint16_t bank, uint32_t pcr, const uint8_t *want,
                         size_t want_size, ImaError *ret_error) {
        Target t = { .pcr = pcr, .want = want, .size = want_size };
        size_t b;

        assert(r && log && want);

        for (b = 0; b < r->n_banks; b++)
                if (r->banks[b] == bank)
                        break;
        if (b >= r->n_banks || pcr >= IMA_PCR_MAX || want_size != ima_hash_algo_from_tpm(bank)->size)
                return -EINVAL;
        t.bank = b;
        return replay(r, log, &t, ret_error);
}

int ima_replay_feed(ImaReplay *r, const void *data, size_t size, uint64_t data_offset, ImaLogFormat format,
                    ImaError *ret_error) {
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaParseParams p;
        uint64_t skip;
        int q;

        assert(r);
        assert(data || size == 0);

        if (data_offset > r->next_offset)
                return ima_error_set(ret_error, -EXDEV, r->n_entries, data_offset, 0,
                                     "data starts at byte offset %" PRIu64
                                     ", after the next entry at %" PRIu64,
                                     data_offset, r->next_offset);
        skip = r->next_offset - data_offset;
        if (skip > size)
                return ima_error_set(ret_error, -EXDEV, r->n_entries, data_offset + size, 0,
                                     "data ends before the next entry at byte offset %" PRIu64,
                                     r->next_offset);

        p = (ImaParseParams){
                .format = r->format != IMA_LOG_FORMAT_AUTO ? r->format : format,
                .template_hash_alg = r->template_hash_alg,
                .first_index = r->n_entries,
                .first_offset = r->next_offset,
        };
        q = ima_log_parse((const uint8_t *) data + skip, size - skip, &p, &log, ret_error);
        if (q < 0)
                return q;
        return ima_replay_log(r, log, ret_error);
}

int ima_replay_pcr(const ImaReplay *r, uint16_t bank, uint32_t pcr, const uint8_t **ret, size_t *ret_size) {
        assert(r);

        if (pcr >= IMA_PCR_MAX)
                return -EINVAL;
        for (size_t b = 0; b < r->n_banks; b++)
                if (r->banks[b] == bank) {
                        if (ret)
                                *ret = r->pcrs[b][pcr];
                        if (ret_size)
                                *ret_size = ima_hash_algo_from_tpm(bank)->size;
                        return 0;
                }
        return -ENOENT;
}

int ima_boot_aggregate(const ImaBankPcrs *bank, size_t n_pcrs, uint8_t *ret, size_t *ret_size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        const EVP_MD *md;
        size_t size;
        unsigned n;

        assert(bank && ret);

        if (!IN_SET(n_pcrs, 8U, 10U))
                return -EINVAL;
        md = bank_md(bank->alg, &size);
        if (!md)
                return -EOPNOTSUPP;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
                return openssl_errno();
        for (size_t i = 0; i < n_pcrs; i++)
                if (EVP_DigestUpdate(ctx, bank->pcrs[i], size) != 1)
                        return openssl_errno();
        if (EVP_DigestFinal_ex(ctx, ret, &n) != 1)
                return openssl_errno();
        if (ret_size)
                *ret_size = size;
        return 0;
}

int ima_boot_aggregate_check(const ImaEntry *e, const ImaBankPcrs *banks, size_t n_banks,
                             ImaBootAggregateVariant *ret_variant, ImaError *ret_error) {
        const ImaHashAlgo *algo;
        const ImaBankPcrs *bank = NULL;
        ImaBootAggregateVariant order[2];
        size_t n_order;

        assert(e);
        assert(banks || n_banks == 0);

        if (!streq_ptr(e->name, "boot_aggregate") || !e->digest)
                return ima_error_set(ret_error, -ENOENT, e->index, e->offset, e->line,
                                     "entry is not a boot_aggregate");
        algo = ima_hash_algo_from_name(e->digest_algo, strlen(e->digest_algo));
        if (algo)
                for (size_t i = 0; i < n_banks; i++)
                        if (banks[i].alg == algo->tpm_alg)
                                bank = banks + i;
        if (!bank)
                return ima_error_set(ret_error, -ENODATA, e->index, e->offset, e->line,
                                     "no PCR values given for the %s bank of the boot_aggregate",
                                     e->digest_algo);

        if (algo->tpm_alg == 0x0004 /* sha1 */) {
                order[0] = IMA_BOOT_AGGREGATE_PCR0_7;
                n_order = 1;
        } else {
                order[0] = IMA_BOOT_AGGREGATE_PCR0_9;
                order[1] = IMA_BOOT_AGGREGATE_PCR0_7;
                n_order = 2;
        }

        for (size_t i = 0; i < n_order; i++) {
                uint8_t d[IMA_DIGEST_MAX];
                size_t size;
                int q;

                q = ima_boot_aggregate(bank, order[i] == IMA_BOOT_AGGREGATE_PCR0_9 ? 10 : 8, d, &size);
                if (q < 0)
                        return q;
                if (size == e->digest_size && memcmp(d, e->digest, size) == 0) {
                        if (ret_variant)
                                *ret_variant = order[i];
                        return 0;
                }
        }
        return ima_error_set(ret_error, -EILSEQ, e->index, e->offset, e->line,
                             "boot_aggregate does not match the %s PCRs 0-9 or 0-7 of the firmware log%s",
                             algo->name,
                             e->digest_size > 0 && e->digest[0] == 0 &&
                                             !memcmp(e->digest, e->digest + 1, e->digest_size - 1)
                                     ? " (all zero: the kernel found no TPM)"
                                     : "");
}
