/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "eventlog/ima-log.h"
#include "shared/openssl-util.h"

static const char *const format_table[_IMA_LOG_FORMAT_MAX] = {
        [IMA_LOG_FORMAT_AUTO] = "auto",
        [IMA_LOG_FORMAT_BINARY] = "binary",
        [IMA_LOG_FORMAT_ASCII] = "ascii",
};

const char *ima_log_format_to_string(ImaLogFormat f) {
        if (f < 0 || f >= _IMA_LOG_FORMAT_MAX)
                return NULL;
        return format_table[f];
}

ImaLogFormat ima_log_format_from_string(const char *s) {
        return ima_string_table_lookup(format_table, ELEMENTSOF(format_table), s, s ? strlen(s) : 0);
}

int ima_error_set(ImaError *e, int r, uint64_t entry, uint64_t offset, uint64_t line, const char *format, ...) {
        va_list ap;
        int n;

        assert(r < 0);

        if (!e)
                return r;

        *e = (ImaError){ .entry = entry, .offset = offset, .line = line };
        if (line > 0)
                n = snprintf(e->message, sizeof(e->message), "entry %" PRIu64 " (line %" PRIu64 "): ", entry,
                             line);
        else
                n = snprintf(e->message, sizeof(e->message),
                             "entry %" PRIu64 " at byte offset %" PRIu64 ": ", entry, offset);
        if (n < 0 || (size_t) n >= sizeof(e->message))
                return r;
        va_start(ap, format);
        (void) vsnprintf(e->message + n, sizeof(e->message) - n, format, ap);
        va_end(ap);
        log_debug("IMA log: %s", e->message);
        return r;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static bool memeqzero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return false;
        return true;
}

/* A copy that is never NULL on success, also for n == 0 (an entry without template data). */
static void *memdup_nonnull(const void *p, size_t n) {
        void *q = malloc(MAX(n, (size_t) 1));
        if (q && n > 0)
                memcpy(q, p, n);
        return q;
}

/* Whether attacker-controlled text can be quoted in a message as is. */
static bool printable(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] > 0x7e || IN_SET(s[i], '\'', '"', '\\'))
                        return false;
        return true;
}

static void entry_done(ImaEntry *e) {
        free(e->template_name);
        free(e->data);
}

ImaLog *ima_log_free(ImaLog *log) {
        if (!log)
                return NULL;
        for (size_t i = 0; i < log->n_entries; i++)
                entry_done(log->entries + i);
        free(log->entries);
        return mfree(log);
}

/* Where an entry is, for error messages. */
typedef struct Loc {
        uint64_t index;
        uint64_t offset; /* of the entry's first byte in the whole log */
        uint64_t line;   /* 0 for binary */
} Loc;

#define fail(loc, r, at, ...) ima_error_set(ret_error, (r), (loc)->index, (at), (loc)->line, __VA_ARGS__)

/* "algo:\0digest" (d-ng, d-modsig), "type:algo:\0digest" (d-ngv2). */
static int check_digest_with_algo(ImaEntry *e, const ImaFieldData *f, const Loc *loc, uint64_t at,
                                  ImaError *ret_error) {
        const char *fname = ima_field_to_string(f->id), *type = NULL;
        const uint8_t *p = f->data, *colon, *digest;
        const ImaHashAlgo *algo;
        size_t size = f->size, name_len, digest_size;

        if (f->id == IMA_FIELD_D_NGV2) {
                if (size >= 4 && memcmp(p, "ima:", 4) == 0)
                        type = "ima";
                else if (size >= 7 && memcmp(p, "verity:", 7) == 0)
                        type = "verity";
                else
                        return fail(loc, -EBADMSG, at,
                                    "field 'd-ngv2' has no digest type \"ima:\" or \"verity:\"");
                p += strlen(type) + 1;
                size -= strlen(type) + 1;
        }

        colon = memchr(p, ':', MIN(size, (size_t) IMA_HASH_NAME_MAX + 1));
        if (!colon)
                return fail(loc, -EBADMSG, at, "field '%s' has no hash algorithm name", fname);
        name_len = colon - p;
        if (name_len == 0)
                return fail(loc, -EBADMSG, at, "field '%s' has an empty hash algorithm name", fname);
        for (size_t i = 0; i < name_len; i++)
                if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
                        return fail(loc, -EBADMSG, at, "field '%s' has an invalid hash algorithm name", fname);
        if (size - name_len < 2 || colon[1] != 0)
                return fail(loc, -EBADMSG, at, "field '%s': hash algorithm name not followed by \":\\0\"",
                            fname);
        digest = colon + 2;
        digest_size = size - name_len - 2;
        if (digest_size == 0 || digest_size > IMA_DIGEST_MAX)
                return fail(loc, -EBADMSG, at, "field '%s': digest size %zu not in 1..%u", fname,
                            digest_size, IMA_DIGEST_MAX);

        algo = ima_hash_algo_from_name((const char *) p, name_len);
        /* A violation's digest is all zero; kernels before 5.13 wrote 20 zero bytes whatever the
         * algorithm. */
        if (algo && digest_size != algo->size &&
            !(e->violation && digest_size == 20 && memeqzero(digest, digest_size)))
                return fail(loc, -EBADMSG, at, "field '%s': %s digest is %zu bytes, expected %zu", fname,
                            algo->name, digest_size, algo->size);

        if (IN_SET(f->id, IMA_FIELD_D_NG, IMA_FIELD_D_NGV2)) {
                memcpy(e->digest_algo, p, name_len);
                e->digest_algo[name_len] = 0;
                e->digest_type = type;
                e->digest = digest;
                e->digest_size = digest_size;
        }
        return 0;
}

static int check_field(ImaEntry *e, const ImaFieldData *f, const Loc *loc, uint64_t at, ImaError *ret_error) {
        const char *fname = ima_field_to_string(f->id);

        switch (f->id) {
        case IMA_FIELD_D:
                /* sha1, or md5 when the kernel hashed files with md5. */
                if (!IN_SET(f->size, 16U, 20U))
                        return fail(loc, -EBADMSG, at, "field 'd': digest is %" PRIu32 " bytes, expected 20",
                                    f->size);
                strcpy(e->digest_algo, f->size == 20 ? "sha1" : "md5");
                e->digest = f->data;
                e->digest_size = f->size;
                return 0;

        case IMA_FIELD_N:
        case IMA_FIELD_N_NG:
                if (f->size == 0 || f->data[f->size - 1] != 0)
                        return fail(loc, -EBADMSG, at, "field '%s' is not NUL-terminated", fname);
                /* A NUL inside would let a name show as a different one. */
                if (memchr(f->data, 0, f->size - 1))
                        return fail(loc, -EBADMSG, at, "field '%s' contains a NUL byte", fname);
                if (f->id == IMA_FIELD_N && f->size - 1 > IMA_EVENT_NAME_LEN_MAX)
                        return fail(loc, -EBADMSG, at, "field 'n' is %" PRIu32 " bytes, more than %u",
                                    f->size - 1, IMA_EVENT_NAME_LEN_MAX);
                e->name = (const char *) f->data;
                return 0;

        case IMA_FIELD_D_NG:
        case IMA_FIELD_D_NGV2:
                if (f->size == 0)
                        return fail(loc, -EBADMSG, at, "field '%s' is empty", fname);
                return check_digest_with_algo(e, f, loc, at, ret_error);

        case IMA_FIELD_D_MODSIG:
                /* Empty when the file has no appended signature. */
                if (f->size == 0)
                        return 0;
                return check_digest_with_algo(e, f, loc, at, ret_error);

        default:
                /* sig, buf, modsig: opaque bytes, possibly none. */
                return 0;
        }
}

/* Splits e->data into e->fields per e->template and checks every field. data_at is the position of
 * e->data[0] in the whole log (binary) or the line's offset (ASCII), for messages. */
static int entry_decode(ImaEntry *e, const Loc *loc, uint64_t data_at, ImaError *ret_error) {
        size_t pos = 0;
        int r;

        for (size_t i = 0; i < e->template.n_fields; i++) {
                const char *fname = ima_field_to_string(e->template.fields[i]);
                uint32_t len;

                if (e->data_size - pos < 4)
                        return fail(loc, -EBADMSG, data_at + pos,
                                    "template data ends in the length of field '%s'", fname);
                len = le32(e->data + pos);
                if (len > e->data_size - pos - 4)
                        return fail(loc, -EBADMSG, data_at + pos,
                                    "field '%s' length %" PRIu32
                                    " exceeds the %zu bytes left in the template data",
                                    fname, len, e->data_size - pos - 4);
                e->fields[i] = (ImaFieldData){
                        .id = e->template.fields[i],
                        .data = e->data + pos + 4,
                        .size = len,
                };
                r = check_field(e, e->fields + i, loc, data_at + pos, ret_error);
                if (r < 0)
                        return r;
                pos += 4 + (size_t) len;
        }
        if (pos != e->data_size)
                return fail(loc, -EBADMSG, data_at + pos,
                            "%zu bytes after the last field of the template data", e->data_size - pos);
        return 0;
}

static int log_append(ImaLog *log, size_t *allocated, ImaEntry **ret) {
        if (log->n_entries >= *allocated) {
                size_t n = MAX((size_t) 64, *allocated * 2);
                ImaEntry *p;

                p = reallocarray(log->entries, n, sizeof(ImaEntry));
                if (!p)
                        return -ENOMEM;
                log->entries = p;
                *allocated = n;
        }
        *ret = log->entries + log->n_entries;
        **ret = (ImaEntry){};
        return 0;
}

/* PCR index check, with a hint when the log was written big-endian (no ima_canonical_fmt on a
 * big-endian machine). */
static int check_pcr(uint32_t pcr, const Loc *loc, uint64_t at, ImaError *ret_error) {
        if (pcr < IMA_PCR_MAX)
                return 0;
        if (__builtin_bswap32(pcr) < IMA_PCR_MAX)
                return fail(loc, -EBADMSG, at,
                            "PCR index %" PRIu32 " out of range (a big-endian log? only the little-endian "
                            "format is supported)",
                            pcr);
        return fail(loc, -EBADMSG, at, "PCR index %" PRIu32 " out of range 0..%u", pcr, IMA_PCR_MAX - 1);
}

static int template_resolve(ImaEntry *e, const char *name, size_t len, const Loc *loc, uint64_t at,
                            ImaError *ret_error) {
        int r;

        if (memchr(name, 0, len))
                return fail(loc, -EBADMSG, at, "template name contains a NUL byte");
        e->template_name = memdup_suffix0(name, len);
        if (!e->template_name)
                return -ENOMEM;
        r = ima_template_from_name(name, len, &e->template);
        if (r < 0) {
                if (printable(name, len) && len <= 64)
                        return fail(loc, r, at, "unknown template '%s'", e->template_name);
                return fail(loc, r, at, "unknown template (%zu bytes)", len);
        }
        return 0;
}

/* The binary log, entry by entry. */
static int parse_binary(const uint8_t *p, size_t size, const ImaParseParams *params, ImaLog *log,
                        ImaError *ret_error) {
        size_t allocated = 0, pos = 0, hsize = log->template_hash_size;
        int r;

        while (pos < size) {
                Loc loc = {
                        .index = params->first_index + log->n_entries,
                        .offset = params->first_offset + pos,
                };
                uint64_t base = params->first_offset; /* p[0] in the whole log */
                uint32_t pcr, name_len, data_len;
                ImaEntry *e;

                if (log->n_entries >= IMA_LOG_ENTRIES_MAX)
                        return fail(&loc, -E2BIG, loc.offset, "more than %u entries", IMA_LOG_ENTRIES_MAX);

                r = log_append(log, &allocated, &e);
                if (r < 0)
                        return r;
                e->index = loc.index;
                e->offset = loc.offset;
                /* Counted now so that ima_log_free() frees what this entry already owns. */
                log->n_entries++;

                if (size - pos < 4)
                        return fail(&loc, -EBADMSG, base + pos, "truncated in the PCR index");
                pcr = le32(p + pos);
                r = check_pcr(pcr, &loc, base + pos, ret_error);
                if (r < 0)
                        return r;
                e->pcr = pcr;
                pos += 4;

                if (size - pos < hsize)
                        return fail(&loc, -EBADMSG, base + pos, "truncated in the template hash");
                memcpy(e->template_hash, p + pos, hsize);
                e->violation = memeqzero(e->template_hash, hsize);
                pos += hsize;

                if (size - pos < 4)
                        return fail(&loc, -EBADMSG, base + pos, "truncated in the template name length");
                name_len = le32(p + pos);
                if (name_len == 0 || name_len > IMA_TEMPLATE_NAME_MAX)
                        return fail(&loc, -EBADMSG, base + pos,
                                    "template name length %" PRIu32 " not in 1..%u", name_len,
                                    IMA_TEMPLATE_NAME_MAX);
                pos += 4;
                if (size - pos < name_len)
                        return fail(&loc, -EBADMSG, base + pos, "truncated in the template name");
                r = template_resolve(e, (const char *) p + pos, name_len, &loc, base + pos, ret_error);
                if (r < 0)
                        return r;
                pos += name_len;

                if (e->template.legacy) {
                        /* "ima": 20-byte digest, u32 name length, name without NUL. Rebuilt as length-prefixed
                         * fields with the NUL, as the kernel holds them. */
                        uint32_t n_len;

                        if (size - pos < 20)
                                return fail(&loc, -EBADMSG, base + pos, "truncated in field 'd'");
                        if (size - pos - 20 < 4)
                                return fail(&loc, -EBADMSG, base + pos + 20,
                                            "truncated in the length of field 'n'");
                        n_len = le32(p + pos + 20);
                        if (n_len > IMA_EVENT_NAME_LEN_MAX)
                                return fail(&loc, -EBADMSG, base + pos + 20,
                                            "field 'n' length %" PRIu32 " exceeds %u", n_len,
                                            IMA_EVENT_NAME_LEN_MAX);
                        if (size - pos - 24 < n_len)
                                return fail(&loc, -EBADMSG, base + pos + 24, "truncated in field 'n'");

                        e->data_size = 4 + 20 + 4 + (size_t) n_len + 1;
                        e->data = malloc(e->data_size);
                        if (!e->data)
                                return -ENOMEM;
                        memcpy(e->data, (const uint8_t[]){ 20, 0, 0, 0 }, 4);
                        memcpy(e->data + 4, p + pos, 20);
                        memcpy(e->data + 24,
                               (const uint8_t[]){ (n_len + 1) & 0xff, ((n_len + 1) >> 8) & 0xff, 0, 0 }, 4);
                        memcpy(e->data + 28, p + pos + 24, n_len);
                        e->data[28 + n_len] = 0;
                        /* Messages about fields point at the 'd' field in the log. */
                        r = entry_decode(e, &loc, base + pos, ret_error);
                        if (r < 0)
                                return r;
                        pos += 24 + (size_t) n_len;
                        continue;
                }

                if (size - pos < 4)
                        return fail(&loc, -EBADMSG, base + pos, "truncated in the template data length");
                data_len = le32(p + pos);
                if (data_len > IMA_TEMPLATE_DATA_MAX)
                        return fail(&loc, -E2BIG, base + pos,
                                    "template data length %" PRIu32 " exceeds the limit of %u", data_len,
                                    IMA_TEMPLATE_DATA_MAX);
                pos += 4;
                if (size - pos < data_len)
                        return fail(&loc, -EBADMSG, base + pos,
                                    "truncated in the template data (%" PRIu32 " bytes announced, %zu left)",
                                    data_len, size - pos);
                e->data = memdup_nonnull(p + pos, data_len);
                if (!e->data)
                        return -ENOMEM;
                e->data_size = data_len;
                r = entry_decode(e, &loc, base + pos, ret_error);
                if (r < 0)
                        return r;
                pos += data_len;
        }
        return 0;
}

/* Growing template data for the ASCII parser, bounded by IMA_TEMPLATE_DATA_MAX. */
typedef struct DataBuf {
        uint8_t *p;
        size_t n;
} DataBuf;

static int databuf_field(DataBuf *b, const void *a, size_t a_len, const void *c, size_t c_len) {
        size_t len = a_len + c_len;
        uint8_t *q;

        /* Each part is at most the line length, so the sums cannot overflow. */
        if (b->n + 4 + len > IMA_TEMPLATE_DATA_MAX)
                return -E2BIG;
        q = realloc(b->p, b->n + 4 + len + 1);
        if (!q)
                return -ENOMEM;
        b->p = q;
        q += b->n;
        q[0] = len & 0xff;
        q[1] = (len >> 8) & 0xff;
        q[2] = (len >> 16) & 0xff;
        q[3] = (len >> 24) & 0xff;
        if (a_len > 0)
                memcpy(q + 4, a, a_len);
        if (c_len > 0)
                memcpy(q + 4 + a_len, c, c_len);
        b->n += 4 + len;
        return 0;
}

/* One field of an ASCII line (text, len bytes) turned into the kernel's field bytes. */
static int ascii_field(DataBuf *b, ImaField id, const char *text, size_t len, const Loc *loc, uint64_t at,
                       ImaError *ret_error) {
        const char *fname = ima_field_to_string(id);
        _cleanup_free_ void *bin = NULL;
        const char *colon;
        size_t bin_size;
        int r;

        switch (id) {
        case IMA_FIELD_N:
        case IMA_FIELD_N_NG:
                r = databuf_field(b, text, len, "", 1);
                break;

        case IMA_FIELD_D_NG:
        case IMA_FIELD_D_MODSIG:
        case IMA_FIELD_D_NGV2:
                if (len == 0) {
                        r = databuf_field(b, NULL, 0, NULL, 0);
                        break;
                }
                /* The last ':' ends the prefix ("sha256:", "ima:sha256:"); hex has none. */
                colon = memrchr(text, ':', len);
                if (!colon)
                        return fail(loc, -EBADMSG, at, "field '%s' has no hash algorithm prefix", fname);
                if (unhexmem(colon + 1, len - (colon + 1 - text), &bin, &bin_size) < 0)
                        return fail(loc, -EBADMSG, at, "field '%s' is not valid hex", fname);
                {
                        /* "algo:" + NUL + digest */
                        size_t name_len = colon - text + 1;
                        _cleanup_free_ uint8_t *t = malloc(name_len + 1 + bin_size);
                        if (!t)
                                return -ENOMEM;
                        memcpy(t, text, name_len);
                        t[name_len] = 0;
                        memcpy(t + name_len + 1, bin, bin_size);
                        r = databuf_field(b, t, name_len + 1 + bin_size, NULL, 0);
                }
                break;

        default: /* d, sig, buf, modsig: hex */
                if (unhexmem(text, len, &bin, &bin_size) < 0)
                        return fail(loc, -EBADMSG, at, "field '%s' is not valid hex", fname);
                r = databuf_field(b, bin, bin_size, NULL, 0);
                break;
        }
        if (r == -E2BIG)
                return fail(loc, r, at, "template data exceeds the limit of %u bytes", IMA_TEMPLATE_DATA_MAX);
        return r;
}

/* Strict decimal PCR index: 1 or 2 digits. */
static int ascii_pcr(const char *s, size_t len, uint32_t *ret) {
        uint32_t v = 0;

        if (len == 0 || len > 2)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (uint32_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int parse_ascii_line(ImaLog *log, ImaEntry *e, const char *line, size_t len, const Loc *loc,
                            ImaError *ret_error) {
        _cleanup_free_ void *hash = NULL;
        const char *p = line, *end = line + len, *sp, *texts[IMA_TEMPLATE_FIELDS_MAX];
        size_t text_lens[IMA_TEMPLATE_FIELDS_MAX], hash_size;
        DataBuf b = {};
        uint32_t pcr;
        int r, k;

#define COL(q) (loc->offset + (uint64_t) ((q) -line))

        if (memchr(line, 0, len))
                return fail(loc, -EBADMSG, loc->offset, "line contains a NUL byte");

        /* PCR */
        sp = memchr(p, ' ', end - p);
        if (!sp)
                return fail(loc, -EBADMSG, COL(p), "truncated after the PCR index");
        if (ascii_pcr(p, sp - p, &pcr) < 0)
                return fail(loc, -EBADMSG, COL(p), "PCR index is not a decimal number of 1-2 digits");
        r = check_pcr(pcr, loc, COL(p), ret_error);
        if (r < 0)
                return r;
        e->pcr = pcr;
        p = sp + 1;

        /* Template hash: its length fixes the algorithm for the whole log when not given. */
        sp = memchr(p, ' ', end - p);
        if (!sp)
                return fail(loc, -EBADMSG, COL(p), "truncated in the template hash");
        if (unhexmem(p, sp - p, &hash, &hash_size) < 0)
                return fail(loc, -EBADMSG, COL(p), "template hash is not valid hex");
        if (hash_size != log->template_hash_size)
                return fail(loc, -EBADMSG, COL(p), "template hash is %zu bytes, expected %zu", hash_size,
                            log->template_hash_size);
        memcpy(e->template_hash, hash, hash_size);
        e->violation = memeqzero(e->template_hash, hash_size);
        p = sp + 1;

        /* Template name */
        sp = memchr(p, ' ', end - p);
        if (!sp)
                return fail(loc, -EBADMSG, COL(p), "truncated after the template name");
        if (sp == p || (size_t) (sp - p) > IMA_TEMPLATE_NAME_MAX)
                return fail(loc, -EBADMSG, COL(p), "template name length %zu not in 1..%u",
                            (size_t) (sp - p), IMA_TEMPLATE_NAME_MAX);
        r = template_resolve(e, p, sp - p, loc, COL(p), ret_error);
        if (r < 0)
                return r;
        p = sp + 1;

        /* Fields: those before the name field from the left, those after it from the right; the name is
         * what is left in between (names may contain spaces). Without a name field every separator is a
         * field boundary. */
        k = ima_template_name_field(&e->template);
        size_t n = e->template.n_fields, left = k >= 0 ? (size_t) k : n - 1;
        for (size_t i = 0; i < left; i++) {
                sp = memchr(p, ' ', end - p);
                if (!sp)
                        return fail(loc, -EBADMSG, COL(p), "too few fields for template '%s'",
                                    e->template_name);
                texts[i] = p;
                text_lens[i] = sp - p;
                p = sp + 1;
        }
        if (k >= 0) {
                const char *q = end;
                for (size_t i = n - 1; i > (size_t) k; i--) {
                        const char *s = q;
                        while (s > p && s[-1] != ' ')
                                s--;
                        if (s == p)
                                return fail(loc, -EBADMSG, COL(p), "too few fields for template '%s'",
                                            e->template_name);
                        texts[i] = s;
                        text_lens[i] = q - s;
                        q = s - 1;
                }
                texts[k] = p;
                text_lens[k] = q - p;
        } else {
                if (memchr(p, ' ', end - p))
                        return fail(loc, -EBADMSG, COL(p), "too many fields for template '%s'",
                                    e->template_name);
                texts[n - 1] = p;
                text_lens[n - 1] = end - p;
        }

        for (size_t i = 0; i < n; i++) {
                r = ascii_field(&b, e->template.fields[i], texts[i], text_lens[i], loc, COL(texts[i]),
                                ret_error);
                if (r < 0) {
                        free(b.p);
                        return r;
                }
        }
        e->data = b.p;
        e->data_size = b.n;
        return entry_decode(e, loc, loc->offset, ret_error);
#undef COL
}

static int ascii_hash_size_to_alg(size_t hex_len, uint16_t *ret) {
        static const uint16_t algs[] = { 0x0004 /* sha1 */, 0x000B /* sha256 */, 0x000C /* sha384 */,
                                         0x000D /* sha512 */ };
        for (size_t i = 0; i < ELEMENTSOF(algs); i++)
                if (ima_hash_algo_from_tpm(algs[i])->size * 2 == hex_len) {
                        *ret = algs[i];
                        return 0;
                }
        return -EPROTONOSUPPORT;
}

static int parse_ascii(const char *s, size_t size, const ImaParseParams *params, ImaLog *log,
                       ImaError *ret_error) {
        size_t allocated = 0, pos = 0;
        int r;

        while (pos < size) {
                Loc loc = {
                        .index = params->first_index + log->n_entries,
                        .offset = params->first_offset + pos,
                        .line = params->first_index + log->n_entries + 1,
                };
                const char *nl;
                size_t len;
                ImaEntry *e;

                if (log->n_entries >= IMA_LOG_ENTRIES_MAX)
                        return fail(&loc, -E2BIG, loc.offset, "more than %u entries", IMA_LOG_ENTRIES_MAX);

                nl = memchr(s + pos, '\n', MIN(size - pos, (size_t) IMA_ASCII_LINE_MAX + 1));
                if (!nl) {
                        if (size - pos > IMA_ASCII_LINE_MAX)
                                return fail(&loc, -E2BIG, loc.offset, "line longer than %u bytes",
                                            IMA_ASCII_LINE_MAX);
                        return fail(&loc, -EBADMSG, params->first_offset + size,
                                    "line not terminated by a newline (truncated log)");
                }
                len = nl - (s + pos);

                if (log->template_hash_size == 0) {
                        /* Auto: the second column's length names the algorithm. */
                        const char *a = memchr(s + pos, ' ', len),
                                   *b = a ? memchr(a + 1, ' ', nl - a - 1) : NULL;
                        uint16_t alg;
                        if (!a || !b || ascii_hash_size_to_alg(b - a - 1, &alg) < 0)
                                return fail(&loc, -EBADMSG, loc.offset,
                                            "cannot tell the template hash algorithm from the second column");
                        log->template_hash_alg = alg;
                        log->template_hash_size = ima_hash_algo_from_tpm(alg)->size;
                }

                r = log_append(log, &allocated, &e);
                if (r < 0)
                        return r;
                e->index = loc.index;
                e->offset = loc.offset;
                e->line = loc.line;
                log->n_entries++;

                r = parse_ascii_line(log, e, s + pos, len, &loc, ret_error);
                if (r < 0)
                        return r;
                pos += len + 1;
        }
        return 0;
}

int ima_log_parse(const void *data, size_t size, const ImaParseParams *params, ImaLog **ret,
                  ImaError *ret_error) {
        static const ImaParseParams defaults = {};
        _cleanup_(ima_log_freep) ImaLog *log = NULL;
        ImaLogFormat format;
        int r;

        assert(data || size == 0);
        assert(ret);

        if (!params)
                params = &defaults;
        if (size > IMA_LOG_SIZE_MAX)
                return ima_error_set(ret_error, -E2BIG, params->first_index, params->first_offset, 0,
                                     "log of %zu bytes exceeds the limit of %u", size, IMA_LOG_SIZE_MAX);

        format = params->format;
        if (format == IMA_LOG_FORMAT_AUTO)
                format = size > 0 && ((const char *) data)[0] >= '0' && ((const char *) data)[0] <= '9'
                        ? IMA_LOG_FORMAT_ASCII
                        : IMA_LOG_FORMAT_BINARY;
        if (format < 0 || format >= _IMA_LOG_FORMAT_MAX)
                return -EINVAL;

        log = calloc(1, sizeof(ImaLog));
        if (!log)
                return -ENOMEM;
        log->format = format;
        log->first_index = params->first_index;

        if (params->template_hash_alg != 0 || format == IMA_LOG_FORMAT_BINARY) {
                const ImaHashAlgo *a = ima_hash_algo_from_tpm(params->template_hash_alg ?: 0x0004);
                if (!a || !a->md)
                        return ima_error_set(ret_error, -EPROTONOSUPPORT, params->first_index,
                                             params->first_offset, 0,
                                             "template hash algorithm 0x%04x is not supported",
                                             params->template_hash_alg);
                log->template_hash_alg = a->tpm_alg;
                log->template_hash_size = a->size;
        }

        if (format == IMA_LOG_FORMAT_BINARY)
                r = parse_binary(data, size, params, log, ret_error);
        else
                r = parse_ascii(data, size, params, log, ret_error);
        if (r < 0)
                return r;

        log->end_offset = params->first_offset + size;
        *ret = TAKE_PTR(log);
        return 0;
}

const char *ima_log_default_path(void) {
        const char *e = secure_getenv("TRUSTED_PLATFORM_IMA_LOG");
        return isempty(e) ? IMA_LOG_PATH_DEFAULT : e;
}

int ima_log_read_file(const char *path, char **ret_data, size_t *ret_size) {
        return read_full_file(path ?: ima_log_default_path(), IMA_LOG_SIZE_MAX, ret_data, ret_size);
}

int ima_log_measure(const char *path, uint64_t *ret_value, bool *ret_entries) {
        _cleanup_free_ char *count = NULL, *text = NULL;
        const char *slash;
        struct stat st;
        int r;

        assert(ret_value);
        assert(ret_entries);

        path = path ?: ima_log_default_path();
        slash = strrchr(path, '/');
        if (asprintf(&count, "%.*s" IMA_LOG_COUNT_FILE, slash ? (int) (slash - path + 1) : 0, path) < 0)
                return -ENOMEM;

        /* "1234\n": a u64 has at most 20 digits. */
        r = read_full_file(count, 32, &text, NULL);
        if (r == -ENOENT) {
                if (stat(path, &st) < 0)
                        return -errno;
                *ret_value = (uint64_t) st.st_size;
                *ret_entries = false;
                return 0;
        }
        if (r == -E2BIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        if (safe_atou64(text, ret_value) < 0)
                return -EBADMSG;
        *ret_entries = true;
        return 0;
}

int ima_entry_template_hash_md(const ImaEntry *e, const EVP_MD *md, EVP_MD_CTX *ctx, uint8_t *ret) {
        static const uint8_t zeros[IMA_EVENT_NAME_LEN_MAX + 1] = {};
        unsigned n;

        assert(e && md && ctx && ret);

        if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
                return openssl_errno();
        if (!e->template.legacy) {
                if (EVP_DigestUpdate(ctx, e->data, e->data_size) != 1)
                        return openssl_errno();
        } else
                /* "ima": the field bytes without lengths, the name zero-padded to 256 bytes (the parser
                 * guarantees it is shorter). */
                for (size_t i = 0; i < e->template.n_fields; i++) {
                        const ImaFieldData *f = e->fields + i;
                        if (EVP_DigestUpdate(ctx, f->data, f->size) != 1)
                                return openssl_errno();
                        if (f->id == IMA_FIELD_N && EVP_DigestUpdate(ctx, zeros, sizeof(zeros) - f->size) != 1)
                                return openssl_errno();
                }
        if (EVP_DigestFinal_ex(ctx, ret, &n) != 1)
                return openssl_errno();
        return 0;
}

int ima_entry_template_hash(const ImaEntry *e, const ImaHashAlgo *algo, uint8_t *ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        const EVP_MD *md;

        assert(e && algo && ret);

        if (!algo->md)
                return -EOPNOTSUPP;
        md = EVP_get_digestbyname(algo->md);
        if (!md)
                return -EOPNOTSUPP;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        return ima_entry_template_hash_md(e, md, ctx, ret);
}

int ima_entry_verify(const ImaEntry *e, size_t hash_size, const EVP_MD *md, EVP_MD_CTX *ctx,
                     ImaError *ret_error) {
        uint8_t h[EVP_MAX_MD_SIZE];
        int r;

        if (e->violation)
                return 0;
        r = ima_entry_template_hash_md(e, md, ctx, h);
        if (r < 0)
                return r;
        if (memcmp(h, e->template_hash, hash_size) != 0) {
                if (e->name && printable(e->name, strlen(e->name)))
                        return ima_error_set(ret_error, -EILSEQ, e->index, e->offset, e->line,
                                             "template hash does not match the template data of \"%.96s\"",
                                             e->name);
                return ima_error_set(ret_error, -EILSEQ, e->index, e->offset, e->line,
                                     "template hash does not match the template data");
        }
        return 0;
}

int ima_log_verify(const ImaLog *log, ImaError *ret_error) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        const ImaHashAlgo *algo;
        const EVP_MD *md;
        int r;

        assert(log);

        if (log->n_entries == 0)
                return 0;
        algo = ima_hash_algo_from_tpm(log->template_hash_alg);
        md = algo && algo->md ? EVP_get_digestbyname(algo->md) : NULL;
        if (!md)
                return -EOPNOTSUPP;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < log->n_entries; i++) {
                r = ima_entry_verify(log->entries + i, log->template_hash_size, md, ctx, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}
