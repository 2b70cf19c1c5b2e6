/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/evp.h>

#include "basic/log.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-util.h"

/* How often a read is restarted because PCRs were extended while we read. */
#define PCR_READ_ATTEMPTS_MAX 8U

static const struct {
        uint16_t alg;
        const char *name;
} hash_table[] = {
        { TPM2_ALG_SHA1, "sha1" },
        { TPM2_ALG_SHA256, "sha256" },
        { TPM2_ALG_SHA384, "sha384" },
        { TPM2_ALG_SHA512, "sha512" },
        { TPM2_ALG_SM3_256, "sm3_256" },
};

int tpm2_hash_alg_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(hash_table); i++)
                if (streq(s, hash_table[i].name))
                        return hash_table[i].alg;
        return -EINVAL;
}

const char *tpm2_hash_alg_to_string(uint16_t alg) {
        for (size_t i = 0; i < ELEMENTSOF(hash_table); i++)
                if (hash_table[i].alg == alg)
                        return hash_table[i].name;
        return NULL;
}

static uint32_t selection_to_mask(const TPMS_PCR_SELECTION *s) {
        uint32_t m = 0;

        for (size_t i = 0; i < MIN((size_t) s->sizeofSelect, sizeof(s->pcrSelect)); i++)
                m |= (uint32_t) s->pcrSelect[i] << (8 * i);
        return m;
}

static bool selection_has_high_bits(const TPMS_PCR_SELECTION *s) {
        for (size_t i = TPM2_PCRS_MAX / 8; i < MIN((size_t) s->sizeofSelect, sizeof(s->pcrSelect)); i++)
                if (s->pcrSelect[i] != 0)
                        return true;
        return false;
}

static int check_bank(Tpm2Context *c, uint16_t bank, uint32_t mask) {
        TPML_PCR_SELECTION alloc;
        int r;

        r = tpm2_get_pcr_allocation(c, &alloc);
        if (r < 0)
                return r;

        for (uint32_t i = 0; i < alloc.count; i++) {
                if (alloc.pcrSelections[i].hash != bank)
                        continue;
                if ((selection_to_mask(&alloc.pcrSelections[i]) & mask) != mask)
                        return log_debug_errno(EOPNOTSUPP, "PCR bank %s lacks some of the PCRs 0x%06x.",
                                               tpm2_hash_alg_to_string(bank), (unsigned) mask);
                return 0;
        }

        return log_debug_errno(EOPNOTSUPP, "PCR bank %s is not active.", tpm2_hash_alg_to_string(bank));
}

/* One consistent pass: returns -ESTALE when the update counter moved between calls. */
static int pcr_read_pass(Tpm2Context *c, uint16_t bank, uint32_t mask, size_t digest_size, Tpm2PcrValue *values) {
        uint32_t remaining = mask, counter = 0;
        size_t n = 0;
        bool first = true;

        while (remaining != 0) {
                _cleanup_(esys_freep) TPML_PCR_SELECTION *sel_out = NULL;
                _cleanup_(esys_freep) TPML_DIGEST *digests = NULL;
                TPML_PCR_SELECTION sel_in = {
                        .count = 1,
                        .pcrSelections[0] = {
                                .hash = bank,
                                .sizeofSelect = TPM2_PCRS_MAX / 8,
                                .pcrSelect = { remaining & 0xFF, (remaining >> 8) & 0xFF, (remaining >> 16) & 0xFF },
                        },
                };
                const TPMS_PCR_SELECTION *s;
                uint32_t update_counter, got;
                size_t k = 0;
                TSS2_RC rc;

                rc = Esys_PCR_Read(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel_in,
                                   &update_counter, &sel_out, &digests);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_PCR_Read failed: %m");
                if (!sel_out || !digests)
                        return -EBADMSG;

                /* Never trust the answer: one bank, the one asked, only PCRs asked, at least one of them
                 * (else no progress), and exactly one digest of the bank's size per PCR. */
                if (sel_out->count != 1)
                        return log_debug_errno(EBADMSG, "TPM2_PCR_Read answered %u banks.", (unsigned) sel_out->count);
                s = &sel_out->pcrSelections[0];
                if (s->hash != bank || s->sizeofSelect > TPM2_PCR_SELECT_MAX || selection_has_high_bits(s))
                        return log_debug_errno(EBADMSG, "TPM2_PCR_Read answered a different selection.");
                got = selection_to_mask(s);
                if (got == 0 || (got & ~remaining) != 0)
                        return log_debug_errno(EBADMSG, "TPM2_PCR_Read answered PCRs 0x%06x for 0x%06x.",
                                               (unsigned) got, (unsigned) remaining);
                if (digests->count != (uint32_t) __builtin_popcount(got) || digests->count > 8)
                        return log_debug_errno(EBADMSG, "TPM2_PCR_Read answered %u digests for %u PCRs.",
                                               (unsigned) digests->count, (unsigned) __builtin_popcount(got));

                if (first) {
                        counter = update_counter;
                        first = false;
                } else if (update_counter != counter)
                        return -ESTALE;

                for (uint32_t i = 0; i < TPM2_PCRS_MAX; i++) {
                        if (!(got & (UINT32_C(1) << i)))
                                continue;
                        if (digests->digests[k].size != digest_size)
                                return log_debug_errno(EBADMSG, "PCR %u digest has %u bytes, expected %zu.",
                                                       (unsigned) i, (unsigned) digests->digests[k].size, digest_size);
                        assert(n < TPM2_PCRS_MAX);
                        values[n] = (Tpm2PcrValue) {
                                .index = i,
                                .bank = bank,
                                .size = digest_size,
                        };
                        memcpy(values[n].digest, digests->digests[k].buffer, digest_size);
                        n++;
                        k++;
                }

                remaining &= ~got;
        }

        return (int) n;
}

static int cmp_index(const void *a, const void *b) {
        const Tpm2PcrValue *x = a, *y = b;
        return x->index < y->index ? -1 : x->index > y->index;
}

int tpm2_pcr_read(Tpm2Context *c, uint16_t bank, uint32_t mask, Tpm2PcrValue **ret, size_t *ret_n) {
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        size_t digest_size;
        int r;

        assert(c);
        assert(ret);
        assert(ret_n);

        digest_size = tpm2_hash_alg_digest_size(bank);
        if (digest_size == 0 || !tpm2_hash_alg_to_string(bank))
                return -EINVAL;
        if (mask == 0 || mask >= (UINT32_C(1) << TPM2_PCRS_MAX))
                return -EINVAL;

        r = check_bank(c, bank, mask);
        if (r < 0)
                return r;

        values = calloc(TPM2_PCRS_MAX, sizeof(Tpm2PcrValue));
        if (!values)
                return -ENOMEM;

        for (unsigned attempt = 0;; attempt++) {
                r = pcr_read_pass(c, bank, mask, digest_size, values);
                if (r != -ESTALE)
                        break;
                if (attempt + 1 >= PCR_READ_ATTEMPTS_MAX)
                        return log_debug_errno(EAGAIN, "PCRs kept changing while being read.");
                log_debug("PCR update counter changed while reading, restarting.");
        }
        if (r < 0)
                return r;

        assert((size_t) r == (size_t) __builtin_popcount(mask));
        qsort(values, r, sizeof(Tpm2PcrValue), cmp_index);

        *ret = TAKE_PTR(values);
        *ret_n = (size_t) r;
        return 0;
}

int tpm2_pcr_extend_data_banks(Tpm2Context *c, uint32_t index, const uint16_t *banks, size_t n_banks,
                               const void *data, size_t size) {
        TPML_DIGEST_VALUES digests = {};
        TSS2_RC rc;

        if (index >= TPM2_PCRS_MAX || !banks || n_banks == 0 || n_banks > TPM2_NUM_PCR_BANKS)
                return -EINVAL;

        for (size_t i = 0; i < n_banks; i++) {
                const char *name = tpm2_hash_alg_to_string(banks[i]);
                TPMT_HA *d = &digests.digests[i];
                const EVP_MD *md;
                unsigned n = 0;

                if (!name)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (banks[j] == banks[i])
                                return -EINVAL;
                md = EVP_get_digestbyname(name);
                if (!md)
                        return -EOPNOTSUPP;
                d->hashAlg = banks[i];
                if (EVP_Digest(data ?: "", size, (unsigned char *) &d->digest, &n, md, NULL) != 1 ||
                    n != tpm2_hash_alg_digest_size(banks[i]))
                        return -EIO;
        }
        digests.count = n_banks;

        rc = Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR0 + index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &digests);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("TPM2_PCR_Extend of PCR %" PRIu32 " (%zu banks) failed: 0x%" PRIx32, index,
                          n_banks, rc);
                if ((rc & 0xfff) == TPM2_RC_PCR || (rc & 0xbf) == TPM2_RC_HASH)
                        return -EOPNOTSUPP;
                return tss2_rc_to_errno(rc);
        }
        return 0;
}

int tpm2_pcr_extend_data(Tpm2Context *c, uint32_t index, uint16_t bank, const void *data, size_t size) {
        return tpm2_pcr_extend_data_banks(c, index, &bank, 1, data, size);
}
