/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "eventlog/eventlog-replay.h"
#include "shared/openssl-util.h"

static const char *const pcr_result_table[_EVENTLOG_PCR_RESULT_MAX] = {
        [EVENTLOG_PCR_MATCH] = "match",
        [EVENTLOG_PCR_MISMATCH] = "mismatch",
        [EVENTLOG_PCR_BANK_MISSING] = "bank-missing",
};

const char *eventlog_pcr_result_to_string(EventlogPcrResult r) {
        if (r < 0 || r >= _EVENTLOG_PCR_RESULT_MAX)
                return NULL;
        return pcr_result_table[r];
}

static const char *const digest_status_table[_EVENTLOG_DIGEST_STATUS_MAX] = {
        [EVENTLOG_DIGEST_NOT_CHECKED] = "not-checked",
        [EVENTLOG_DIGEST_VERIFIED] = "verified",
        [EVENTLOG_DIGEST_MISMATCH] = "mismatch",
};

const char *eventlog_digest_status_to_string(EventlogDigestStatus s) {
        if (s < 0 || s >= _EVENTLOG_DIGEST_STATUS_MAX)
                return NULL;
        return digest_status_table[s];
}

/* The OpenSSL digest of a TPM_ALG_ID, fetched once (EVP_MD_free()), or NULL when OpenSSL has none or its
 * size is not the one the log declared. */
static EVP_MD *bank_md(const EventlogBank *b) {
        static const struct {
                uint16_t alg;
                const char *name;
        } table[] = {
                { 0x0004, "SHA1" }, { 0x000B, "SHA256" },   { 0x000C, "SHA384" },   { 0x000D, "SHA512" },
                { 0x0012, "SM3" },  { 0x0027, "SHA3-256" }, { 0x0028, "SHA3-384" }, { 0x0029, "SHA3-512" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].alg == b->alg) {
                        EVP_MD *md = EVP_MD_fetch(NULL, table[i].name, NULL);
                        if (md && EVP_MD_get_size(md) != b->size) {
                                EVP_MD_free(md);
                                md = NULL;
                        }
                        ERR_clear_error(); /* a missing provider algorithm is not an error here */
                        return md;
                }
        return NULL;
}

/* The digest of bank b (index into log->banks) of e: usually at index b (events list the digests in the
 * Spec ID's order), else searched; NULL if the event has none for the bank. */
static const EventlogDigest *event_bank_digest(const EventlogEvent *e, size_t b, uint16_t alg) {
        if (b < e->n_digests && e->digests[b].alg == alg)
                return e->digests + b;
        return eventlog_event_digest(e, alg);
}

EventlogReplay *eventlog_replay_free(EventlogReplay *r) {
        return mfree(r);
}

int eventlog_replay(const EventLog *log, EventlogReplay **ret, EventlogError *ret_error) {
        _cleanup_(eventlog_replay_freep) EventlogReplay *r = NULL;
        EVP_MD_CTX *ctx[EVENTLOG_BANKS_MAX] = {};
        EVP_MD *md[EVENTLOG_BANKS_MAX] = {};
        size_t log_bank[EVENTLOG_BANKS_MAX]; /* replay bank k is log->banks[log_bank[k]] */
        int q = 0;

        assert(log);
        assert(ret);

        r = calloc(1, sizeof(EventlogReplay));
        if (!r)
                return -ENOMEM;

        /* Each bank's digest fetched once, and one context per bank reused for all its extends: no
         * allocation per event. */
        for (size_t b = 0; b < log->n_banks && b < EVENTLOG_BANKS_MAX; b++) {
                const EventlogBank *bank = log->banks + b;
                EVP_MD *m = bank_md(bank);
                size_t k;

                if (!m) {
                        r->skipped[r->n_skipped++] = bank->alg;
                        continue;
                }
                k = r->n_banks++;
                md[k] = m;
                ctx[k] = EVP_MD_CTX_new();
                if (!ctx[k]) {
                        q = -ENOMEM;
                        goto finish;
                }
                log_bank[k] = b;
                r->banks[k] = *bank;
                if (log->has_startup_locality) {
                        r->pcrs[k][0][bank->size - 1] = log->startup_locality;
                        r->pcr_mask |= 1U;
                }
        }
        if (r->n_banks == 0) {
                q = eventlog_error_set(ret_error, -EOPNOTSUPP, 0, 0,
                                       "no bank of the log can be replayed (no hash for its %zu algorithms)",
                                       log->n_banks);
                goto finish;
        }

        /* One pass over the events (each is read once, however many banks), PCR_new = H(PCR_old ||
         * digest) hashed from one buffer. */
        for (size_t i = 0; i < log->n_events; i++) {
                const EventlogEvent *e = log->events + i;

                if (e->type == EV_NO_ACTION || e->pcr >= EVENTLOG_PCRS_MAX)
                        continue;
                for (size_t k = 0; k < r->n_banks; k++) {
                        const EventlogDigest *d = event_bank_digest(e, log_bank[k], r->banks[k].alg);
                        size_t size = r->banks[k].size;
                        uint8_t buf[2 * EVENTLOG_DIGEST_MAX], *pcr = r->pcrs[k][e->pcr];
                        unsigned n;

                        if (!d || d->size != size)
                                continue;
                        memcpy(buf, pcr, size);
                        memcpy(buf + size, d->data, size);
                        if (EVP_DigestInit_ex2(ctx[k], md[k], NULL) != 1 ||
                            EVP_DigestUpdate(ctx[k], buf, 2 * size) != 1 ||
                            EVP_DigestFinal_ex(ctx[k], pcr, &n) != 1) {
                                q = openssl_errno();
                                goto finish;
                        }
                        r->pcr_mask |= 1U << e->pcr;
                }
        }

finish:
        for (size_t k = 0; k < EVENTLOG_BANKS_MAX; k++) {
                EVP_MD_CTX_free(ctx[k]);
                EVP_MD_free(md[k]);
        }
        if (q < 0)
                return q;
        *ret = TAKE_PTR(r);
        return 0;
}

static ssize_t replay_bank(const EventlogReplay *r, uint16_t bank) {
        for (size_t k = 0; k < r->n_banks; k++)
                if (r->banks[k].alg == bank)
                        return k;
        return -ENOENT;
}

int eventlog_replay_pcr(const EventlogReplay *r, uint16_t bank, uint32_t pcr, const uint8_t **ret,
                        size_t *ret_size) {
        ssize_t k;

        assert(r);

        if (pcr >= EVENTLOG_PCRS_MAX)
                return -EINVAL;
        k = replay_bank(r, bank);
        if (k < 0)
                return k;
        if (ret)
                *ret = r->pcrs[k][pcr];
        if (ret_size)
                *ret_size = r->banks[k].size;
        return 0;
}

int eventlog_replay_compare(const EventlogReplay *r, const EventLog *log, const EventlogPcrValue *actual,
                            size_t n, EventlogPcrComparison **ret) {
        _cleanup_free_ EventlogPcrComparison *c = NULL;
        uint32_t last[EVENTLOG_PCRS_MAX];
        int bad = 0;

        assert(r);
        assert(actual || n == 0);
        assert(ret);

        for (size_t i = 0; i < n; i++) {
                ssize_t k = replay_bank(r, actual[i].bank);

                if (actual[i].index >= EVENTLOG_PCRS_MAX || actual[i].size == 0 ||
                    actual[i].size > EVENTLOG_DIGEST_MAX)
                        return -EINVAL;
                if (k >= 0 && actual[i].size != r->banks[k].size)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (actual[j].index == actual[i].index && actual[j].bank == actual[i].bank)
                                return -EINVAL;
        }

        for (size_t p = 0; p < EVENTLOG_PCRS_MAX; p++)
                last[p] = UINT32_MAX;
        if (log)
                for (size_t i = 0; i < log->n_events; i++)
                        if (log->events[i].type != EV_NO_ACTION && log->events[i].pcr < EVENTLOG_PCRS_MAX)
                                last[log->events[i].pcr] = log->events[i].index;

        c = calloc(MAX(n, (size_t) 1), sizeof(EventlogPcrComparison));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const EventlogPcrValue *a = actual + i;
                ssize_t k = replay_bank(r, a->bank);

                c[i] = (EventlogPcrComparison){
                        .index = a->index,
                        .bank = a->bank,
                        .size = a->size,
                        .last_event = last[a->index],
                };
                memcpy(c[i].actual, a->digest, a->size);
                if (k < 0)
                        c[i].result = EVENTLOG_PCR_BANK_MISSING;
                else {
                        memcpy(c[i].replayed, r->pcrs[k][a->index], a->size);
                        c[i].result = memcmp(c[i].replayed, c[i].actual, a->size) == 0
                                ? EVENTLOG_PCR_MATCH
                                : EVENTLOG_PCR_MISMATCH;
                }
                if (c[i].result != EVENTLOG_PCR_MATCH)
                        bad++;
        }
        *ret = TAKE_PTR(c);
        return bad;
}

/* Event types whose digest is defined over the event data, per the TCG PC Client Platform Firmware
 * Profile (PFP) 1.05, §10.4.1 "Event Types" (Table 9), and what the data is:
 *   EV_SEPARATOR (0x04)             §10.4.1 and §3.3.2 (separator): the digest of the 4-byte value in the
 *                                   event (0x00000000, or 0xFFFFFFFF/0x00000001 for an error).
 *   EV_ACTION (0x05)                §10.4.1, §10.4.3 (action strings): the digest of the ASCII string.
 *   EV_EVENT_TAG (0x06)             §10.4.1, §10.4.2.1 (TCG_PCClientTaggedEvent): the digest of the
 *                                   event data. Checked in PCRs 0-7 only: in PCRs 8+ boot loaders
 *                                   (systemd) put a description in the event and hash the content.
 *   EV_S_CRTM_VERSION (0x08)        §10.4.1, §3.3.4.1 (CRTM version): the digest of the version string/GUID.
 *   EV_PLATFORM_CONFIG_FLAGS (0x0A) §10.4.1: the digest of the configuration flags in the event.
 *   EV_COMPACT_HASH (0x0C)          §10.4.1: the digest of the event data.
 *   EV_IPL (0x0D)                   §10.4.1 leaves the IPL's contents to the OS; in PCR 8 boot loaders
 *                                   measure strings and log them: GRUB "grub_cmd: X" and
 *                                   "kernel_cmdline: X" (the digest is of X, without the prefix and
 *                                   the NUL), systemd-boot the UTF-16 command line (with or without its
 *                                   NUL). EV_IPL in other PCRs describes what it measured (GRUB files
 *                                   in PCR 9, shim's MokList in PCR 14): not checked.
 *   EV_OMIT_BOOT_DEVICE_EVENTS (0x12) §10.4.1: the digest of the string in the event.
 *   EV_EFI_VARIABLE_DRIVER_CONFIG   §10.4.1, §10.4.4 (UEFI_VARIABLE_DATA), §3.3.4.2/8 (PCR 1/7 and
 *                                   Secure Boot variables): the digest of the whole UEFI_VARIABLE_DATA.
 *   EV_EFI_VARIABLE_BOOT(2)         §10.4.1, §3.3.4.4 (Boot####, BootOrder): the spec says the whole
 *                                   UEFI_VARIABLE_DATA; many firmwares (EDK2 before 2019) hash only
 *                                   VariableData: both are accepted.
 *   EV_EFI_VARIABLE_AUTHORITY       §10.4.1, §3.3.4.8 (db entry used for verification): the digest of
 *                                   the whole UEFI_VARIABLE_DATA.
 *   EV_EFI_GPT_EVENT(2)             §10.4.1, §10.4.5 (UEFI_GPT_DATA): the digest of the event data.
 *   EV_EFI_ACTION (0x80000007)      §10.4.1, §10.4.3: the digest of the ASCII action string.
 * Not over the data: EV_POST_CODE, EV_S_CRTM_CONTENTS, EV_CPU_MICROCODE, EV_EFI_PLATFORM_FIRMWARE_BLOB(2),
 * EV_EFI_BOOT_SERVICES_* / RUNTIME_SERVICES_DRIVER (the PE image's Authenticode hash),
 * EV_EFI_HANDOFF_TABLES(2), EV_NONHOST_*, EV_TABLE_OF_DEVICES, EV_EFI_SPDM_* (measured contents described
 * by the event), EV_NO_ACTION (not extended), and every unknown type. */
bool eventlog_event_type_digest_covers_data(uint32_t type) {
        return IN_SET(type, EV_SEPARATOR, EV_ACTION, EV_EVENT_TAG, EV_S_CRTM_VERSION,
                      EV_PLATFORM_CONFIG_FLAGS, EV_COMPACT_HASH, EV_IPL, EV_OMIT_BOOT_DEVICE_EVENTS,
                      EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_BOOT, EV_EFI_VARIABLE_BOOT2,
                      EV_EFI_VARIABLE_AUTHORITY, EV_EFI_GPT_EVENT, EV_EFI_GPT_EVENT2, EV_EFI_ACTION);
}

/* The byte ranges of e's data a digest of its type may be over; 0 if the event is not checked. */
typedef struct Span {
        const uint8_t *p;
        size_t n;
} Span;

#define SPANS_MAX 3

static size_t event_spans(const EventlogEvent *e, Span spans[static SPANS_MAX]) {
        const uint8_t *d = e->data ?: (const uint8_t *) "";
        size_t size = e->data_size, n = 0;

        if (!eventlog_event_type_digest_covers_data(e->type))
                return 0;

        spans[n++] = (Span){ d, size };

        switch (e->type) {
        case EV_EVENT_TAG:
                if (e->pcr >= 8)
                        return 0;
                break;

        case EV_EFI_VARIABLE_BOOT:
        case EV_EFI_VARIABLE_BOOT2:
                /* UEFI_VARIABLE_DATA: GUID, u64 UnicodeNameLength (chars), u64 VariableDataLength,
                 * UnicodeName, VariableData. */
                if (size >= 32) {
                        uint64_t name_len = 0, data_len = 0;
                        for (size_t i = 0; i < 8; i++) {
                                name_len |= (uint64_t) d[16 + i] << (8 * i);
                                data_len |= (uint64_t) d[24 + i] << (8 * i);
                        }
                        if (name_len <= (size - 32) / 2 && data_len <= size - 32 - 2 * name_len)
                                spans[n++] = (Span){ d + 32 + 2 * name_len, data_len };
                }
                break;

        case EV_IPL: {
                static const char *const prefixes[] = { "grub_cmd: ", "kernel_cmdline: " };

                if (e->pcr != 8)
                        return 0;
                for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                        size_t l = strlen(prefixes[i]);
                        if (size > l && memcmp(d, prefixes[i], l) == 0) {
                                const uint8_t *nul = memchr(d + l, 0, size - l);
                                spans[0] = (Span){ d + l, nul ? (size_t) (nul - d - l) : size - l };
                                return 1;
                        }
                }
                if (size >= 1 && d[size - 1] == 0)
                        spans[n++] = (Span){ d, size - 1 };
                if (size >= 2 && size % 2 == 0 && d[size - 1] == 0 && d[size - 2] == 0)
                        spans[n++] = (Span){ d, size - 2 };
                break;
        }

        default:
                break;
        }
        return n;
}

int eventlog_check_digests(const EventLog *log, EventlogDigestStatus **ret, uint32_t *ret_first_mismatch,
                           EventlogError *ret_error) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ EventlogDigestStatus *s = NULL;
        EVP_MD *mds[EVENTLOG_BANKS_MAX] = {};
        uint32_t first = UINT32_MAX;
        int n_bad = 0, r = 0;

        assert(log);

        s = calloc(MAX(log->n_events, (size_t) 1), sizeof(EventlogDigestStatus));
        if (!s)
                return -ENOMEM;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        for (size_t b = 0; b < log->n_banks && b < EVENTLOG_BANKS_MAX; b++)
                mds[b] = bank_md(log->banks + b);

        for (size_t i = 0; i < log->n_events; i++) {
                const EventlogEvent *e = log->events + i;
                Span spans[SPANS_MAX];
                size_t n_spans = event_spans(e, spans);
                bool checked = false;
                int bad_bank = -1;

                s[i] = EVENTLOG_DIGEST_NOT_CHECKED;
                if (n_spans == 0)
                        continue;

                for (size_t b = 0; b < log->n_banks && b < EVENTLOG_BANKS_MAX && bad_bank < 0; b++) {
                        const EventlogDigest *d;
                        bool ok = false;

                        if (!mds[b])
                                continue;
                        d = event_bank_digest(e, b, log->banks[b].alg);
                        if (!d || d->size != log->banks[b].size)
                                continue;
                        for (size_t k = 0; k < n_spans && !ok; k++) {
                                uint8_t h[EVP_MAX_MD_SIZE];
                                unsigned hn;

                                if (EVP_DigestInit_ex2(ctx, mds[b], NULL) != 1 ||
                                    EVP_DigestUpdate(ctx, spans[k].p, spans[k].n) != 1 ||
                                    EVP_DigestFinal_ex(ctx, h, &hn) != 1) {
                                        r = openssl_errno();
                                        goto finish;
                                }
                                ok = hn == d->size && memcmp(h, d->data, d->size) == 0;
                        }
                        checked = true;
                        if (!ok)
                                bad_bank = (int) b;
                }
                if (!checked)
                        continue;
                if (bad_bank < 0) {
                        s[i] = EVENTLOG_DIGEST_VERIFIED;
                        continue;
                }
                s[i] = EVENTLOG_DIGEST_MISMATCH;
                n_bad++;
                if (first == UINT32_MAX) {
                        const char *t = eventlog_event_type_to_string(e->type);
                        first = e->index;
                        if (t)
                                (void) eventlog_error_set(
                                        ret_error, -EBADMSG, e->index, e->offset,
                                        "%s event for PCR %" PRIu32
                                        ": the %s digest does not match the event data",
                                        t, e->pcr, strna(eventlog_alg_to_string(log->banks[bad_bank].alg)));
                }
        }

finish:
        for (size_t b = 0; b < EVENTLOG_BANKS_MAX; b++)
                EVP_MD_free(mds[b]);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(s);
        if (ret_first_mismatch)
                *ret_first_mismatch = first;
        return n_bad;
}
