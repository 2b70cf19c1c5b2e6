/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "eventlog/eventlog-uefi.h"
#include "shared/openssl-util.h"

int uefi_error_set(UefiError *e, int r, size_t offset, const char *format, ...) {
        va_list ap;
        int n;

        assert(r < 0);

        if (!e)
                return r;
        *e = (UefiError){ .offset = offset };
        va_start(ap, format);
        n = vsnprintf(e->message, sizeof(e->message), format, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < sizeof(e->message))
                (void) snprintf(e->message + n, sizeof(e->message) - n, " at byte %zu", offset);
        log_debug("UEFI event data: %s", e->message);
        return r;
}

#define bad(at, ...) uefi_error_set(ret_error, -EBADMSG, (at), __VA_ARGS__)

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
        return (uint64_t) le32(p) | (uint64_t) le32(p + 4) << 32;
}

/* jansson returns NULL or -1 only for allocation failures (and invalid UTF-8, which we never pass). */
static int jset(json_t *o, const char *key, json_t *v) {
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int jappend(json_t *a, json_t *v) {
        if (!v || json_array_append_new(a, v) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *jhex(const void *p, size_t n) {
        _cleanup_free_ char *h = NULL;

        if (hexmem(p, n, &h) < 0)
                return NULL;
        return json_string(h);
}

static json_t *jaddr(uint64_t v) {
        char buf[2 + 16 + 1];

        (void) snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
        return json_string(buf);
}

static json_t *jguid(const uint8_t *g) {
        char s[UEFI_GUID_STRING_MAX];

        uefi_guid_to_string(g, s);
        return json_string(s);
}

int uefi_hex_prefix(const void *p, size_t size, size_t max, char **ret) {
        return hexmem(p, MIN(size, max), ret);
}

static int set_summary(char **ret_summary, const char *format, ...) _printf_(2, 3);
static int set_summary(char **ret_summary, const char *format, ...) {
        va_list ap;
        int r;

        if (!ret_summary)
                return 0;
        va_start(ap, format);
        r = vasprintf(ret_summary, format, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : 0;
}

/* ---- GUIDs ---- */

typedef struct GuidName {
        const char *guid;
        const char *name;
} GuidName;

static const GuidName guid_names[] = {
        { "8be4df61-93ca-11d2-aa0d-00e098032b8c", "EFI_GLOBAL_VARIABLE" },
        { "d719b2cb-3d3a-4596-a3bc-dad00e67656f", "EFI_IMAGE_SECURITY_DATABASE_GUID" },
        { "605dab50-e046-4300-abb6-3dd810dd8b23", "SHIM_LOCK_GUID" },
        { "a5c059a1-94e4-4aa7-87b5-ab155c2bf072", "EFI_CERT_X509_GUID" },
        { "c1c41626-504c-4092-aca9-41f936934328", "EFI_CERT_SHA256_GUID" },
        { "3c5766e8-269c-4e34-aa14-ed776e85b3b6", "EFI_CERT_RSA2048_GUID" },
        { "826ca512-cf10-4ac9-b187-be01496631bd", "EFI_CERT_SHA1_GUID" },
        { "0b6e5233-a65c-44c9-9407-d9ab83bfc8bd", "EFI_CERT_SHA224_GUID" },
        { "ff3e5307-9fd0-48c9-85f1-8ad56c701e01", "EFI_CERT_SHA384_GUID" },
        { "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a", "EFI_CERT_SHA512_GUID" },
        { "3bd2a492-96c0-4079-b420-fcf98ef103ed", "EFI_CERT_X509_SHA256_GUID" },
        { "7076876e-80c2-4ee6-aad2-28b349a6865b", "EFI_CERT_X509_SHA384_GUID" },
        { "446dbf63-2502-4cda-bcfa-2465d2b0fe9d", "EFI_CERT_X509_SHA512_GUID" },
        { "4aafd29d-68df-49ee-8aa9-347d375665a7", "EFI_CERT_TYPE_PKCS7_GUID" },
        { "77fa9abd-0359-4d32-bd60-28f4e78f784b", "MICROSOFT" },
        { "eb9d2d31-2d88-11d3-9a16-0090273fc14d", "SMBIOS_TABLE_GUID" },
        { "f2fd1544-9794-4a2c-992e-e5bbcf20e394", "SMBIOS3_TABLE_GUID" },
        { "eb9d2d30-2d88-11d3-9a16-0090273fc14d", "ACPI_TABLE_GUID" },
        { "8868e871-e4f1-11d3-bc22-0080c73c8881", "EFI_ACPI_TABLE_GUID" },
        { "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f", "LOADER_VARIABLE_GUID" },
};

void uefi_guid_to_string(const uint8_t guid[static 16], char ret[static UEFI_GUID_STRING_MAX]) {
        (void) snprintf(ret, UEFI_GUID_STRING_MAX, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        le32(guid), le16(guid + 4), le16(guid + 6), guid[8], guid[9], guid[10], guid[11],
                        guid[12], guid[13], guid[14], guid[15]);
}

const char *uefi_guid_name(const uint8_t guid[static 16]) {
        char s[UEFI_GUID_STRING_MAX];

        uefi_guid_to_string(guid, s);
        for (size_t i = 0; i < ELEMENTSOF(guid_names); i++)
                if (streq(s, guid_names[i].guid))
                        return guid_names[i].name;
        return NULL;
}

static bool guid_is(const uint8_t *g, const char *name) {
        return streq_ptr(uefi_guid_name(g), name);
}

/* ---- strings ---- */

int uefi_utf16_to_utf8(const void *p, size_t size, char **ret, UefiError *ret_error) {
        const uint8_t *b = p;
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        if (size % 2 != 0)
                return bad(size, "UTF-16 text has an odd length %zu", size);
        if (size / 2 > SIZE_MAX / 4)
                return uefi_error_set(ret_error, -E2BIG, 0, "UTF-16 text too long");
        s = malloc(size / 2 * 3 + 1); /* a surrogate pair (4 bytes in) gives 4 bytes out, others <= 3 per 2 */
        if (!s)
                return -ENOMEM;

        for (size_t i = 0; i < size; i += 2) {
                uint32_t c = le16(b + i);

                if (c == 0)
                        break;
                if (c >= 0xdc00 && c <= 0xdfff)
                        return bad(i, "UTF-16 text not valid: unpaired low surrogate");
                if (c >= 0xd800 && c <= 0xdbff) {
                        uint32_t lo;

                        if (i + 4 > size)
                                return bad(i, "UTF-16 text not valid: high surrogate at the end");
                        lo = le16(b + i + 2);
                        if (lo < 0xdc00 || lo > 0xdfff)
                                return bad(i, "UTF-16 text not valid: unpaired high surrogate");
                        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                        i += 2;
                }
                if (c < 0x20 || c == 0x7f)
                        return bad(i, "UTF-16 text has control character 0x%02" PRIx32, c);
                if (c < 0x80)
                        s[n++] = (char) c;
                else if (c < 0x800) {
                        s[n++] = (char) (0xc0 | c >> 6);
                        s[n++] = (char) (0x80 | (c & 0x3f));
                } else if (c < 0x10000) {
                        s[n++] = (char) (0xe0 | c >> 12);
                        s[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
                        s[n++] = (char) (0x80 | (c & 0x3f));
                } else {
                        s[n++] = (char) (0xf0 | c >> 18);
                        s[n++] = (char) (0x80 | ((c >> 12) & 0x3f));
                        s[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
                        s[n++] = (char) (0x80 | (c & 0x3f));
                }
        }
        s[n] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

int uefi_ascii_to_string(const void *p, size_t size, char **ret, UefiError *ret_error) {
        const uint8_t *b = p;
        char *s;

        while (size > 0 && b[size - 1] == 0)
                size--;
        for (size_t i = 0; i < size; i++)
                if ((b[i] < 0x20 && !IN_SET(b[i], '\t', '\n', '\r')) || b[i] > 0x7e)
                        return bad(i, "text has non-printable byte 0x%02x", b[i]);
        s = memdup_suffix0(p, size);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Text in either encoding, as firmware, GRUB, shim and systemd-stub write it: ASCII first (every byte
 * printable), else UTF-16LE. */
static int text_any(const uint8_t *p, size_t size, char **ret, bool *ret_utf16) {
        _cleanup_free_ char *s = NULL;

        if (uefi_ascii_to_string(p, size, &s, NULL) >= 0) {
                *ret = TAKE_PTR(s);
                *ret_utf16 = false;
                return 0;
        }
        /* A stray NUL byte after UTF-16 text (seen in real logs) is no reason not to show it. */
        if (size % 2 == 1 && p[size - 1] == 0)
                size--;
        if (size >= 2 && size % 2 == 0) {
                /* Only NULs may follow the first NUL, so that data after a string is not hidden. */
                size_t end = size;
                for (size_t i = 0; i < size; i += 2)
                        if (le16(p + i) == 0) {
                                end = i;
                                break;
                        }
                for (size_t i = end; i < size; i++)
                        if (p[i] != 0)
                                return -EBADMSG;
                if (end == 0 || uefi_utf16_to_utf8(p, end, &s, NULL) < 0)
                        return -EBADMSG;
                *ret = TAKE_PTR(s);
                *ret_utf16 = true;
                return 0;
        }
        return -EBADMSG;
}

/* ---- device paths ---- */

typedef struct Buf {
        char *s;
        size_t n, allocated;
} Buf;

static int buf_append(Buf *b, const char *format, ...) _printf_(2, 3);
static int buf_append(Buf *b, const char *format, ...) {
        va_list ap;
        int k;

        for (;;) {
                size_t left = b->allocated - b->n;
                va_start(ap, format);
                k = vsnprintf(b->s ? b->s + b->n : NULL, left, format, ap);
                va_end(ap);
                if (k < 0)
                        return -ENOMEM;
                if ((size_t) k < left) {
                        b->n += k;
                        return 0;
                }
                size_t want = MAX(b->allocated * 2, b->n + k + 64);
                char *t = realloc(b->s, want);
                if (!t)
                        return -ENOMEM;
                b->s = t;
                b->allocated = want;
        }
}

static int buf_hex(Buf *b, const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (buf_append(b, "%02x", p[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* Minimum node lengths (header included) of the nodes we print, so that the fields we read exist. */
static int device_path_node(Buf *b, uint8_t type, uint8_t subtype, const uint8_t *d, size_t len, size_t at,
                            UefiError *ret_error) {
        char g[UEFI_GUID_STRING_MAX];
        size_t need = 0;
        int r;

#define NEED(n)                                                                                             \
        do {                                                                                                \
                need = (n);                                                                                 \
                if (len < need)                                                                             \
                        return bad(at, "device path node (%u,%u) has length %zu, needs %zu", type, subtype, \
                                   len, need);                                                              \
        } while (0)

        const uint8_t *f = d + 4; /* fields after the header */

        switch (type << 8 | subtype) {
        case 0x0101: /* PCI */
                NEED(6);
                return buf_append(b, "Pci(0x%x,0x%x)", f[1], f[0]);
        case 0x0103: /* memory mapped */
                NEED(24);
                return buf_append(b, "MemoryMapped(0x%" PRIx32 ",0x%" PRIx64 ",0x%" PRIx64 ")", le32(f),
                                  le64(f + 4), le64(f + 12));
        case 0x0104: /* hardware vendor */
        case 0x030a: /* messaging vendor */
        case 0x0403: /* media vendor */
                NEED(20);
                uefi_guid_to_string(f, g);
                r = buf_append(b, "%s(%s", type == 1 ? "VenHw" : type == 3 ? "VenMsg" : "VenMedia", g);
                if (r < 0)
                        return r;
                if (len > 20 && (buf_append(b, ",") < 0 || buf_hex(b, f + 16, len - 20) < 0))
                        return -ENOMEM;
                return buf_append(b, ")");
        case 0x0105: /* controller */
                NEED(8);
                return buf_append(b, "Ctrl(0x%" PRIx32 ")", le32(f));
        case 0x0201: { /* ACPI */
                uint32_t hid, uid;
                NEED(12);
                hid = le32(f);
                uid = le32(f + 4);
                if (hid == 0x0a0341d0)
                        return buf_append(b, "PciRoot(0x%" PRIx32 ")", uid);
                if (hid == 0x0a0841d0)
                        return buf_append(b, "PcieRoot(0x%" PRIx32 ")", uid);
                if ((hid & 0xffff) == 0x41d0)
                        return buf_append(b, "Acpi(PNP%04" PRIX32 ",0x%" PRIx32 ")", hid >> 16, uid);
                return buf_append(b, "Acpi(0x%08" PRIx32 ",0x%" PRIx32 ")", hid, uid);
        }
        case 0x0203: /* _ADR */
                NEED(8);
                return buf_append(b, "AcpiAdr(0x%" PRIx32 ")", le32(f));
        case 0x0301: /* ATAPI */
                NEED(8);
                return buf_append(b, "Ata(%s,%s,0x%x)", f[0] ? "Secondary" : "Primary",
                                  f[1] ? "Slave" : "Master", le16(f + 2));
        case 0x0302: /* SCSI */
                NEED(8);
                return buf_append(b, "Scsi(0x%x,0x%x)", le16(f), le16(f + 2));
        case 0x0305: /* USB */
                NEED(6);
                return buf_append(b, "USB(0x%x,0x%x)", f[0], f[1]);
        case 0x030b: { /* MAC */
                NEED(37);
                size_t n = f[32] <= 1 ? 6 : 32;
                if (buf_append(b, "MAC(") < 0 || buf_hex(b, f, n) < 0)
                        return -ENOMEM;
                return buf_append(b, ",0x%x)", f[32]);
        }
        case 0x030c: /* IPv4 */
                NEED(19);
                return buf_append(b, "IPv4(%u.%u.%u.%u)", f[4], f[5], f[6], f[7]);
        case 0x030d: /* IPv6: the remote address */
                NEED(60);
                r = buf_append(b, "IPv6(");
                for (size_t i = 0; r >= 0 && i < 16; i += 2)
                        r = buf_append(b, "%s%x", i == 0 ? "" : ":", (unsigned) (f[16 + i] << 8 | f[17 + i]));
                return r < 0 ? r : buf_append(b, ")");
        case 0x030f: /* USB class */
                NEED(11);
                return buf_append(b, "UsbClass(0x%x,0x%x,0x%x,0x%x,0x%x)", le16(f), le16(f + 2), f[4], f[5],
                                  f[6]);
        case 0x0311: /* logical unit */
                NEED(5);
                return buf_append(b, "Unit(0x%x)", f[0]);
        case 0x0312: /* SATA */
                NEED(10);
                return buf_append(b, "Sata(0x%x,0x%x,0x%x)", le16(f), le16(f + 2), le16(f + 4));
        case 0x0317: /* NVMe namespace */
                NEED(16);
                return buf_append(b, "NVMe(0x%" PRIx32 ",%02X-%02X-%02X-%02X-%02X-%02X-%02X-%02X)", le32(f),
                                  f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]);
        case 0x0318: { /* URI */
                _cleanup_free_ char *u = NULL;
                if (uefi_ascii_to_string(f, len - 4, &u, NULL) < 0)
                        break; /* shown raw */
                return buf_append(b, "Uri(%s)", u);
        }
        case 0x0401: /* hard drive */
                NEED(42);
                /* f[36] is the MBR type, f[37] the signature type: 1 MBR, 2 GUID */
                if (f[37] == 2) {
                        uefi_guid_to_string(f + 20, g);
                        return buf_append(b, "HD(%" PRIu32 ",GPT,%s,0x%" PRIx64 ",0x%" PRIx64 ")", le32(f),
                                          g, le64(f + 4), le64(f + 12));
                }
                if (f[37] == 1)
                        return buf_append(b, "HD(%" PRIu32 ",MBR,0x%08" PRIx32 ",0x%" PRIx64 ",0x%" PRIx64 ")",
                                          le32(f), le32(f + 20), le64(f + 4), le64(f + 12));
                return buf_append(b, "HD(%" PRIu32 ",%u,0,0x%" PRIx64 ",0x%" PRIx64 ")", le32(f), f[37],
                                  le64(f + 4), le64(f + 12));
        case 0x0402: /* CD-ROM */
                NEED(24);
                return buf_append(b, "CDROM(0x%" PRIx32 ",0x%" PRIx64 ",0x%" PRIx64 ")", le32(f),
                                  le64(f + 4), le64(f + 12));
        case 0x0404: { /* file path */
                _cleanup_free_ char *s = NULL;
                r = uefi_utf16_to_utf8(f, len - 4, &s, ret_error);
                if (r < 0) {
                        if (ret_error)
                                ret_error->offset += at + 4;
                        return r;
                }
                return buf_append(b, "%s", s);
        }
        case 0x0405: /* media protocol */
                NEED(20);
                uefi_guid_to_string(f, g);
                return buf_append(b, "Media(%s)", g);
        case 0x0406: /* PIWG firmware file */
        case 0x0407: /* PIWG firmware volume */
                NEED(20);
                uefi_guid_to_string(f, g);
                return buf_append(b, "%s(%s)", subtype == 6 ? "FvFile" : "Fv", g);
        case 0x0408: /* relative offset range */
                NEED(24);
                return buf_append(b, "Offset(0x%" PRIx64 ",0x%" PRIx64 ")", le64(f + 4), le64(f + 12));
        }
#undef NEED
        if (buf_append(b, "Path(%u,%u,", type, subtype) < 0 || buf_hex(b, f, len - 4) < 0)
                return -ENOMEM;
        return buf_append(b, ")");
}

int uefi_device_path_to_string(const void *p, size_t size, char **ret, UefiError *ret_error) {
        const uint8_t *d = p;
        Buf b = {};
        size_t off = 0, nodes = 0;
        bool first = true;
        int r;

        if (buf_append(&b, "%s", "") < 0)
                return -ENOMEM;

        while (off < size) {
                uint8_t type, subtype;
                uint16_t len;

                if (size - off < 4) {
                        r = bad(off, "device path node header truncated");
                        goto fail;
                }
                type = d[off];
                subtype = d[off + 1];
                len = le16(d + off + 2);
                if (len < 4) {
                        r = bad(off + 2, "device path node length %u is less than 4", len);
                        goto fail;
                }
                if (len > size - off) {
                        r = bad(off + 2, "device path node length %u exceeds the %zu bytes left", len,
                                size - off);
                        goto fail;
                }
                if (++nodes > UEFI_DEVICE_PATH_NODES_MAX) {
                        r = uefi_error_set(ret_error, -E2BIG, off, "device path has more than %u nodes",
                                           UEFI_DEVICE_PATH_NODES_MAX);
                        goto fail;
                }
                if (type == 0x7f && subtype == 0xff)
                        break;
                if (type == 0x7f && subtype == 0x01) {
                        r = buf_append(&b, ",");
                        first = true;
                } else {
                        /* Consecutive file path nodes make one path: "\EFI" + "\debian\shimx64.efi". */
                        bool join = !first && !(type == 4 && subtype == 4 && b.n > 0 && b.s[b.n - 1] == '\\');
                        r = join ? buf_append(&b, "/") : 0;
                        if (r >= 0)
                                r = device_path_node(&b, type, subtype, d + off, len, off, ret_error);
                        first = false;
                }
                if (r < 0)
                        goto fail;
                off += len;
        }

        *ret = b.s;
        return 0;
fail:
        free(b.s);
        return r;
}

/* ---- signature lists ---- */

int uefi_x509_to_json(const void *p, size_t size, const uint8_t *owner, json_t **ret, UefiError *ret_error) {
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        const unsigned char *q = p;
        uint8_t md[32];
        unsigned md_size = 0;
        const unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SEP_MASK) |
                XN_FLAG_SEP_CPLUS_SPC;

        if (size > LONG_MAX)
                return uefi_error_set(ret_error, -E2BIG, 0, "certificate too large");
        x = d2i_X509(NULL, &q, (long) size);
        if (!x) {
                int r = openssl_errno();
                if (r == -ENOMEM)
                        return r;
                return bad(0, "X.509 certificate does not parse");
        }
        if ((size_t) (q - (const unsigned char *) p) != size)
                return bad((size_t) (q - (const unsigned char *) p), "X.509 certificate followed by %zu bytes",
                           size - (size_t) (q - (const unsigned char *) p));
        if (EVP_Digest(p, size, md, &md_size, EVP_sha256(), NULL) != 1 || md_size != sizeof(md))
                return openssl_errno();

        o = json_object();
        if (!o || jset(o, "type", json_string("x509")) < 0)
                return -ENOMEM;
        if (owner && jset(o, "owner", jguid(owner)) < 0)
                return -ENOMEM;

        for (int i = 0; i < 2; i++) {
                _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
                const X509_NAME *n = i == 0 ? X509_get_subject_name(x) : X509_get_issuer_name(x);
                _cleanup_free_ char *s = NULL;
                char *mem;
                long len;

                if (!bio)
                        return -ENOMEM;
                if (X509_NAME_print_ex(bio, n, 0, flags) < 0)
                        return bad(0, "X.509 certificate name does not print");
                len = BIO_get_mem_data(bio, &mem);
                if (len < 0)
                        return -ENOMEM;
                s = memdup_suffix0(mem, (size_t) len);
                if (!s)
                        return -ENOMEM;
                /* jansson wants UTF-8: names that are not (a T61String, say) are shown by their hash only. */
                json_t *v = json_string(s);
                if (!v)
                        v = json_null();
                if (jset(o, i == 0 ? "subject" : "issuer", v) < 0)
                        return -ENOMEM;
        }
        if (jset(o, "sha256", jhex(md, sizeof(md))) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* One EFI_SIGNATURE_DATA (owner GUID + data) of a list of the given type. */
static int signature_to_json(const uint8_t *type, const uint8_t *d, size_t size, size_t at, json_t **ret,
                             UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        char g[UEFI_GUID_STRING_MAX];
        int r;

        assert(size >= 16);

        if (guid_is(type, "EFI_CERT_X509_GUID")) {
                r = uefi_x509_to_json(d + 16, size - 16, d, ret, ret_error);
                if (r < 0 && ret_error)
                        ret_error->offset += at + 16;
                return r;
        }

        o = json_object();
        if (!o)
                return -ENOMEM;
        if (guid_is(type, "EFI_CERT_SHA256_GUID")) {
                if (size - 16 != 32)
                        return bad(at, "SHA-256 signature has %zu bytes, not 32", size - 16);
                if (jset(o, "type", json_string("sha256")) < 0 || jset(o, "owner", jguid(d)) < 0 ||
                    jset(o, "sha256", jhex(d + 16, 32)) < 0)
                        return -ENOMEM;
        } else {
                uefi_guid_to_string(type, g);
                if (jset(o, "type", json_string(g)) < 0 || jset(o, "owner", jguid(d)) < 0 ||
                    jset(o, "data", jhex(d + 16, MIN(size - 16, (size_t) UEFI_RAW_MAX))) < 0 ||
                    jset(o, "size", json_integer((json_int_t) (size - 16))) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int uefi_signature_lists_to_json(const void *p, size_t size, json_t **ret, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *a = json_array();
        const uint8_t *d = p;
        size_t off = 0, count = 0;
        int r;

        if (!a)
                return -ENOMEM;

        while (off < size) {
                uint32_t list_size, header_size, sig_size;
                const uint8_t *type;
                size_t body;

                if (size - off < 28)
                        return bad(off, "EFI_SIGNATURE_LIST header truncated (%zu bytes left)", size - off);
                type = d + off;
                list_size = le32(d + off + 16);
                header_size = le32(d + off + 20);
                sig_size = le32(d + off + 24);
                if (list_size > size - off)
                        return bad(off + 16, "SignatureListSize %" PRIu32 " exceeds the %zu bytes left",
                                   list_size, size - off);
                if (list_size < 28 || header_size > list_size - 28)
                        return bad(off + 20,
                                   "SignatureListSize %" PRIu32 " too small for its header (%" PRIu32 ")",
                                   list_size, header_size);
                if (sig_size <= 16)
                        return bad(off + 24, "SignatureSize %" PRIu32 " is not larger than the owner GUID",
                                   sig_size);
                body = list_size - 28 - header_size;
                if (body % sig_size != 0)
                        return bad(off + 24,
                                   "SignatureListSize %" PRIu32 " is not header + n * SignatureSize %" PRIu32,
                                   list_size, sig_size);
                if (body / sig_size > UEFI_SIGNATURES_MAX - count)
                        return uefi_error_set(ret_error, -E2BIG, off, "more than %u signatures",
                                              UEFI_SIGNATURES_MAX);

                for (size_t s = off + 28 + header_size; s < off + list_size; s += sig_size) {
                        json_t *o = NULL;
                        r = signature_to_json(type, d + s, sig_size, s, &o, ret_error);
                        if (r < 0)
                                return r;
                        if (jappend(a, o) < 0)
                                return -ENOMEM;
                        count++;
                }
                off += list_size;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* ---- variables ---- */

void uefi_variable_done(UefiVariable *v) {
        v->name = mfree(v->name);
}

int uefi_variable_parse(const void *p, size_t size, UefiVariable *ret, UefiError *ret_error) {
        const uint8_t *d = p;
        _cleanup_free_ char *name = NULL;
        uint64_t name_len, data_len;
        int r;

        if (size < 32)
                return bad(0, "UEFI_VARIABLE_DATA truncated: %zu bytes, header needs 32", size);
        name_len = le64(d + 16);
        data_len = le64(d + 24);
        if (name_len > (size - 32) / 2)
                return bad(16, "UnicodeNameLength %" PRIu64 " exceeds the %zu bytes left", name_len,
                           size - 32);
        /* Shim logs its "Shim" authority with 6 bytes more than VariableDataLength: extra bytes are
         * counted (UefiVariable.trailing), not decoded. */
        if (data_len > size - 32 - name_len * 2)
                return bad(24, "VariableDataLength %" PRIu64 " exceeds the %zu bytes left", data_len,
                           size - 32 - (size_t) name_len * 2);
        r = uefi_utf16_to_utf8(d + 32, name_len * 2, &name, ret_error);
        if (r < 0) {
                if (ret_error)
                        ret_error->offset += 32;
                return r;
        }
        *ret = (UefiVariable){ .name = TAKE_PTR(name),
                               .data = d + 32 + name_len * 2,
                               .data_size = data_len,
                               .trailing = size - 32 - name_len * 2 - data_len };
        memcpy(ret->guid, d, 16);
        return 0;
}

static bool is_hex4_suffix(const char *name, const char *prefix) {
        const char *s = startswith(name, prefix);
        if (!s || strlen(s) != 4)
                return false;
        for (size_t i = 0; i < 4; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
                        return false;
        return true;
}

int uefi_load_option_to_json(const void *p, size_t size, json_t **ret, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *desc = NULL, *path = NULL;
        const uint8_t *d = p;
        uint32_t attributes;
        uint16_t fp_len;
        size_t desc_end;
        int r;

        if (size < 6)
                return bad(0, "EFI_LOAD_OPTION truncated: %zu bytes", size);
        attributes = le32(d);
        fp_len = le16(d + 4);
        for (desc_end = 6; desc_end + 2 <= size; desc_end += 2)
                if (le16(d + desc_end) == 0)
                        break;
        if (desc_end + 2 > size)
                return bad(6, "EFI_LOAD_OPTION description has no NUL");
        r = uefi_utf16_to_utf8(d + 6, desc_end - 6, &desc, ret_error);
        if (r < 0)
                return r;
        desc_end += 2;
        if (fp_len > size - desc_end)
                return bad(4, "FilePathListLength %u exceeds the %zu bytes left", fp_len, size - desc_end);
        r = uefi_device_path_to_string(d + desc_end, fp_len, &path, ret_error);
        if (r < 0) {
                if (ret_error)
                        ret_error->offset += desc_end;
                return r;
        }

        o = json_object();
        if (!o || jset(o, "attributes", json_integer(attributes)) < 0 ||
            jset(o, "active", json_boolean(attributes & 1)) < 0 ||
            jset(o, "description", json_string(desc)) < 0 || jset(o, "path", json_string(path)) < 0)
                return -ENOMEM;
        if (size - desc_end > fp_len &&
            jset(o, "optional_data",
                 jhex(d + desc_end + fp_len, MIN(size - desc_end - fp_len, (size_t) UEFI_RAW_MAX))) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *const bool_variables[] = {
        "SecureBoot", "SetupMode", "AuditMode", "DeployedMode", "MokSBState", "MokListTrusted", "MokPolicy",
};
static const char *const db_variables[] = { "PK",        "KEK",        "db",       "dbx",
                                            "dbt",       "dbr",        "MokList",  "MokListX",
                                            "MokListRT", "MokListXRT", "vendor_db" };

/* Sets "value" (and the summary) by the variable's name and vendor. */
static int variable_value(json_t *o, const UefiVariable *v, bool authority, char **ret_summary,
                          UefiError *ret_error) {
        const uint8_t *d = v->data;
        size_t n = v->data_size;
        bool global = guid_is(v->guid, "EFI_GLOBAL_VARIABLE"),
             secdb = guid_is(v->guid, "EFI_IMAGE_SECURITY_DATABASE_GUID"),
             shim = guid_is(v->guid, "SHIM_LOCK_GUID");
        json_t *value = NULL;
        int r;

        if (authority) {
                /* EFI_SIGNATURE_DATA from db (owner GUID, then the certificate) or a bare certificate
                 * (shim's vendor certificate, MOK). */
                if (n > 16 + 2 && d[16] == 0x30)
                        r = uefi_x509_to_json(d + 16, n - 16, d, &value, ret_error);
                else if (n > 0 && d[0] == 0x30)
                        r = uefi_x509_to_json(d, n, NULL, &value, ret_error);
                else if (n == 16 + 32) {
                        value = json_object();
                        r = !value || jset(value, "type", json_string("sha256")) < 0 ||
                                        jset(value, "owner", jguid(d)) < 0 ||
                                        jset(value, "sha256", jhex(d + 16, 32)) < 0
                                ? -ENOMEM
                                : 0;
                } else
                        return bad(32, "authority is neither a certificate nor a SHA-256 hash");
                if (r < 0) {
                        json_decref(value);
                        return r;
                }
                if (jset(o, "value", value) < 0)
                        return -ENOMEM;
                json_t *subj = json_object_get(value, "subject");
                return set_summary(ret_summary, "%s: %s", v->name,
                                   json_is_string(subj) ? json_string_value(subj)
                                                        : json_string_value(json_object_get(value, "sha256")));
        }

        for (size_t i = 0; i < ELEMENTSOF(bool_variables); i++)
                if (streq(v->name, bool_variables[i]) && (global || shim)) {
                        if (n == 0) {
                                if (jset(o, "value", json_null()) < 0)
                                        return -ENOMEM;
                                return set_summary(ret_summary, "%s (not set)", v->name);
                        }
                        if (n != 1)
                                return bad(32, "%s has %zu bytes, not 1", v->name, n);
                        if (d[0] > 1)
                                return bad(32, "%s has value %u, not 0 or 1", v->name, d[0]);
                        if (jset(o, "value", json_boolean(d[0])) < 0)
                                return -ENOMEM;
                        return set_summary(ret_summary, "%s = %s", v->name,
                                           streq(v->name, "SecureBoot") ? (d[0] ? "enabled" : "disabled")
                                                                        : (d[0] ? "1" : "0"));
                }

        for (size_t i = 0; i < ELEMENTSOF(db_variables); i++)
                if (streq(v->name, db_variables[i]) && (global || secdb || shim)) {
                        r = uefi_signature_lists_to_json(d, n, &value, ret_error);
                        if (r < 0) {
                                if (ret_error)
                                        ret_error->offset += 32;
                                return r;
                        }
                        if (jset(o, "value", value) < 0)
                                return -ENOMEM;
                        size_t k = json_array_size(value);
                        json_t *first = json_array_get(value, 0);
                        json_t *subj = json_object_get(first, "subject");
                        if (k == 1 && json_is_string(subj))
                                return set_summary(ret_summary, "%s: %s", v->name, json_string_value(subj));
                        return set_summary(ret_summary, "%s: %zu entr%s", v->name, k, k == 1 ? "y" : "ies");
                }

        if (global && (streq(v->name, "BootOrder") || streq(v->name, "DriverOrder"))) {
                Buf b = {};
                if (n % 2 != 0)
                        return bad(32, "%s has odd length %zu", v->name, n);
                value = json_array();
                if (!value || jset(o, "value", value) < 0)
                        return -ENOMEM;
                if (buf_append(&b, "%s =", v->name) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i += 2) {
                        if (jappend(value, json_integer(le16(d + i))) < 0 ||
                            buf_append(&b, "%s%04X", i == 0 ? " " : ",", le16(d + i)) < 0) {
                                free(b.s);
                                return -ENOMEM;
                        }
                }
                if (ret_summary)
                        *ret_summary = b.s;
                else
                        free(b.s);
                return 0;
        }

        if (global &&
            (is_hex4_suffix(v->name, "Boot") || is_hex4_suffix(v->name, "Driver") ||
             is_hex4_suffix(v->name, "SysPrep"))) {
                r = uefi_load_option_to_json(d, n, &value, ret_error);
                if (r < 0) {
                        if (ret_error)
                                ret_error->offset += 32;
                        return r;
                }
                if (jset(o, "value", value) < 0)
                        return -ENOMEM;
                return set_summary(ret_summary, "%s: %s %s", v->name,
                                   json_string_value(json_object_get(value, "description")),
                                   json_string_value(json_object_get(value, "path")));
        }

        if (global && IN_SET(n, 2U) &&
            (streq(v->name, "BootCurrent") || streq(v->name, "BootNext") || streq(v->name, "Timeout"))) {
                if (jset(o, "value", json_integer(le16(d))) < 0)
                        return -ENOMEM;
                return set_summary(ret_summary, "%s = %u", v->name, le16(d));
        }

        if (shim && streq(v->name, "SbatLevel")) {
                _cleanup_free_ char *s = NULL;
                if (uefi_ascii_to_string(d, n, &s, NULL) >= 0) {
                        if (jset(o, "value", json_string(s)) < 0)
                                return -ENOMEM;
                        char *nl = strchr(s, '\n');
                        if (nl)
                                *nl = 0;
                        return set_summary(ret_summary, "%s: %s", v->name, s);
                }
        }

        if (jset(o, "data", jhex(d, MIN(n, (size_t) UEFI_RAW_MAX))) < 0)
                return -ENOMEM;
        return set_summary(ret_summary, "%s (%zu bytes)", v->name, n);
}

int uefi_variable_to_json(const void *p, size_t size, bool authority, json_t **ret, char **ret_summary,
                          UefiError *ret_error) {
        _cleanup_(uefi_variable_done) UefiVariable v = {};
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *summary = NULL;
        const char *vendor;
        int r;

        r = uefi_variable_parse(p, size, &v, ret_error);
        if (r < 0)
                return r;
        o = json_object();
        if (!o || jset(o, "variable", json_string(v.name)) < 0 || jset(o, "guid", jguid(v.guid)) < 0 ||
            jset(o, "size", json_integer((json_int_t) v.data_size)) < 0 ||
            (v.trailing > 0 && jset(o, "trailing_bytes", json_integer((json_int_t) v.trailing)) < 0))
                return -ENOMEM;
        vendor = uefi_guid_name(v.guid);
        if (vendor && jset(o, "vendor", json_string(vendor)) < 0)
                return -ENOMEM;
        r = variable_value(o, &v, authority, ret_summary ? &summary : NULL, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}

/* ---- image load, GPT, blobs, tables ---- */

int uefi_image_load_to_json(const void *p, size_t size, json_t **ret, char **ret_summary,
                            UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *path = NULL;
        const uint8_t *d = p;
        uint64_t dp_len;
        int r;

        if (size < 32)
                return bad(0, "UEFI_IMAGE_LOAD_EVENT truncated: %zu bytes, header needs 32", size);
        dp_len = le64(d + 24);
        /* Some loaders log bytes after the device path (shim: 9 of them with LengthOfDevicePath 0): shown,
         * not rejected. */
        if (dp_len > size - 32)
                return bad(24, "LengthOfDevicePath %" PRIu64 " exceeds the %zu bytes left", dp_len, size - 32);
        r = uefi_device_path_to_string(d + 32, dp_len, &path, ret_error);
        if (r < 0) {
                if (ret_error)
                        ret_error->offset += 32;
                return r;
        }
        o = json_object();
        if (!o || jset(o, "image_base", jaddr(le64(d))) < 0 ||
            jset(o, "image_length", json_integer((json_int_t) MIN(le64(d + 8), (uint64_t) INT64_MAX))) < 0 ||
            jset(o, "link_time_address", jaddr(le64(d + 16))) < 0 || jset(o, "path", json_string(path)) < 0)
                return -ENOMEM;
        if (size - 32 > dp_len &&
            jset(o, "trailing_data", jhex(d + 32 + dp_len, MIN(size - 32 - dp_len, (size_t) UEFI_RAW_MAX))) < 0)
                return -ENOMEM;
        r = set_summary(ret_summary, "%s", path[0] ? path : "(no device path)");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

#define GPT_HEADER_SIZE 92U
#define GPT_ENTRY_MIN 128U

int uefi_gpt_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL, *parts = NULL;
        const uint8_t *d = p;
        uint64_t count;
        uint32_t entry_size;
        int r;

        if (size < GPT_HEADER_SIZE + 8)
                return bad(0, "UEFI_GPT_DATA truncated: %zu bytes, header needs %u", size,
                           GPT_HEADER_SIZE + 8);
        if (memcmp(d, "EFI PART", 8) != 0)
                return bad(0, "GPT header signature is not \"EFI PART\"");
        entry_size = le32(d + 84);
        if (entry_size < GPT_ENTRY_MIN || entry_size > 4096 || entry_size % 8 != 0)
                return bad(84, "SizeOfPartitionEntry %" PRIu32 " not valid", entry_size);
        count = le64(d + GPT_HEADER_SIZE);
        if (count > UEFI_GPT_PARTITIONS_MAX)
                return uefi_error_set(ret_error, -E2BIG, GPT_HEADER_SIZE,
                                      "NumberOfPartitions %" PRIu64 " exceeds %u", count,
                                      UEFI_GPT_PARTITIONS_MAX);
        if (count * entry_size != size - GPT_HEADER_SIZE - 8)
                return bad(GPT_HEADER_SIZE,
                           "%" PRIu64 " partitions of %" PRIu32 " bytes do not fill the %zu bytes left",
                           count, entry_size, size - GPT_HEADER_SIZE - 8);

        o = json_object();
        parts = json_array();
        if (!o || !parts || jset(o, "disk_guid", jguid(d + 56)) < 0 ||
            jset(o, "first_usable_lba", json_integer((json_int_t) MIN(le64(d + 40), (uint64_t) INT64_MAX))) <
                    0 ||
            jset(o, "last_usable_lba", json_integer((json_int_t) MIN(le64(d + 48), (uint64_t) INT64_MAX))) < 0)
                return -ENOMEM;

        for (uint64_t i = 0; i < count; i++) {
                size_t at = GPT_HEADER_SIZE + 8 + i * entry_size;
                const uint8_t *e = d + at;
                _cleanup_free_ char *name = NULL;
                json_t *part;

                r = uefi_utf16_to_utf8(e + 56, 72, &name, ret_error);
                if (r < 0) {
                        if (ret_error)
                                ret_error->offset += at + 56;
                        return r;
                }
                part = json_object();
                if (jappend(parts, part) < 0 || jset(part, "number", json_integer((json_int_t) i + 1)) < 0 ||
                    jset(part, "type", jguid(e)) < 0 || jset(part, "guid", jguid(e + 16)) < 0 ||
                    jset(part, "start_lba",
                         json_integer((json_int_t) MIN(le64(e + 32), (uint64_t) INT64_MAX))) < 0 ||
                    jset(part, "end_lba",
                         json_integer((json_int_t) MIN(le64(e + 40), (uint64_t) INT64_MAX))) < 0 ||
                    jset(part, "attributes", jaddr(le64(e + 48))) < 0 ||
                    jset(part, "name", json_string(name)) < 0)
                        return -ENOMEM;
        }
        char g[UEFI_GUID_STRING_MAX];
        uefi_guid_to_string(d + 56, g);
        r = set_summary(ret_summary, "GPT disk %s, %" PRIu64 " partition%s", g, count, count == 1 ? "" : "s");
        if (r < 0)
                return r;
        if (jset(o, "partitions", TAKE_PTR(parts)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int uefi_firmware_blob_to_json(const void *p, size_t size, bool blob2, json_t **ret, char **ret_summary,
                               UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *desc = NULL;
        const uint8_t *d = p;
        size_t off = 0;
        int r;

        o = json_object();
        if (!o)
                return -ENOMEM;
        if (blob2) {
                if (size < 1)
                        return bad(0, "UEFI_PLATFORM_FIRMWARE_BLOB2 empty");
                if (d[0] > size - 1)
                        return bad(0, "BlobDescriptionSize %u exceeds the %zu bytes left", d[0], size - 1);
                r = uefi_ascii_to_string(d + 1, d[0], &desc, ret_error);
                if (r < 0) {
                        if (ret_error)
                                ret_error->offset += 1;
                        return r;
                }
                if (jset(o, "description", json_string(desc)) < 0)
                        return -ENOMEM;
                off = 1 + d[0];
        }
        if (size - off != 16)
                return bad(off, "firmware blob has %zu bytes for base and length, not 16", size - off);
        if (jset(o, "base", jaddr(le64(d + off))) < 0 ||
            jset(o, "length", json_integer((json_int_t) MIN(le64(d + off + 8), (uint64_t) INT64_MAX))) < 0)
                return -ENOMEM;
        r = set_summary(ret_summary, "%s%sblob at 0x%" PRIx64 ", %" PRIu64 " bytes", strempty(desc),
                        desc ? ": " : "", le64(d + off), le64(d + off + 8));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int uefi_handoff_tables_to_json(const void *p, size_t size, bool tables2, json_t **ret, char **ret_summary,
                                UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL, *tables = NULL;
        _cleanup_free_ char *desc = NULL;
        const uint8_t *d = p;
        size_t off = 0;
        uint64_t count;
        int r;

        o = json_object();
        tables = json_array();
        if (!o || !tables)
                return -ENOMEM;
        if (tables2) {
                if (size < 1)
                        return bad(0, "UEFI_HANDOFF_TABLE_POINTERS2 empty");
                if (d[0] > size - 1)
                        return bad(0, "TableDescriptionSize %u exceeds the %zu bytes left", d[0], size - 1);
                r = uefi_ascii_to_string(d + 1, d[0], &desc, ret_error);
                if (r < 0) {
                        if (ret_error)
                                ret_error->offset += 1;
                        return r;
                }
                if (jset(o, "description", json_string(desc)) < 0)
                        return -ENOMEM;
                off = 1 + d[0];
        }
        if (size - off < 8)
                return bad(off, "NumberOfTables truncated");
        count = le64(d + off);
        if (count > UEFI_HANDOFF_TABLES_MAX)
                return uefi_error_set(ret_error, -E2BIG, off, "NumberOfTables %" PRIu64 " exceeds %u", count,
                                      UEFI_HANDOFF_TABLES_MAX);
        off += 8;
        if (count * 24 != size - off)
                return bad(off - 8, "%" PRIu64 " tables do not fill the %zu bytes left", count, size - off);
        for (uint64_t i = 0; i < count; i++, off += 24) {
                json_t *t = json_object();
                const char *name = uefi_guid_name(d + off);
                if (jappend(tables, t) < 0 || jset(t, "guid", jguid(d + off)) < 0 ||
                    jset(t, "pointer", jaddr(le64(d + off + 16))) < 0 ||
                    (name && jset(t, "name", json_string(name)) < 0))
                        return -ENOMEM;
        }
        r = set_summary(ret_summary, "%s%s%" PRIu64 " table%s", strempty(desc), desc ? ": " : "", count,
                        count == 1 ? "" : "s");
        if (r < 0)
                return r;
        if (jset(o, "tables", TAKE_PTR(tables)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- EV_IPL, tags, EV_NO_ACTION ---- */

int uefi_ipl_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error) {
        static const char *const prefixes[] = { "grub_cmd", "kernel_cmdline", "module_cmdline",
                                                "grub_kernel_cmdline" };
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *s = NULL;
        bool utf16;
        int r;

        if (text_any(p, size, &s, &utf16) < 0)
                return bad(0, "EV_IPL data is neither printable ASCII nor UTF-16 text");
        o = json_object();
        if (!o || jset(o, "text", json_string(s)) < 0 ||
            jset(o, "encoding", json_string(utf16 ? "utf-16" : "ascii")) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                const char *rest = startswith(s, prefixes[i]);
                if (rest && startswith(rest, ": ")) {
                        const char *key = streq(prefixes[i], "grub_kernel_cmdline") ? "kernel_cmdline"
                                                                                    : prefixes[i];
                        if (jset(o, key, json_string(rest + 2)) < 0)
                                return -ENOMEM;
                        break;
                }
        }
        r = set_summary(ret_summary, "%s", s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int uefi_event_tag_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *s = NULL;
        const uint8_t *d = p;
        uint32_t tag, n;
        bool utf16 = false;
        int r;

        if (size < 8)
                return bad(0, "TCG_PCClientTaggedEvent truncated: %zu bytes", size);
        tag = le32(d);
        n = le32(d + 4);
        if (n != size - 8)
                return bad(4, "taggedEventDataSize %" PRIu32 " is not the %zu bytes left", n, size - 8);
        o = json_object();
        if (!o || jset(o, "tag", json_integer(tag)) < 0 || jset(o, "size", json_integer(n)) < 0 ||
            jset(o, "data", jhex(d + 8, MIN((size_t) n, (size_t) UEFI_RAW_MAX))) < 0)
                return -ENOMEM;
        if (n > 0 && text_any(d + 8, n, &s, &utf16) >= 0 && jset(o, "text", json_string(s)) < 0)
                return -ENOMEM;
        r = s ? set_summary(ret_summary, "tag 0x%08" PRIx32 ": %s", tag, s)
              : set_summary(ret_summary, "tag 0x%08" PRIx32 ", %" PRIu32 " bytes", tag, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *alg_name(uint16_t id) {
        switch (id) {
        case 0x0004:
                return "sha1";
        case 0x000B:
                return "sha256";
        case 0x000C:
                return "sha384";
        case 0x000D:
                return "sha512";
        case 0x0012:
                return "sm3_256";
        case 0x0027:
                return "sha3_256";
        case 0x0028:
                return "sha3_384";
        case 0x0029:
                return "sha3_512";
        }
        return NULL;
}

static int spec_id_to_json(json_t *o, const uint8_t *d, size_t size, char **ret_summary, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *algs = json_array();
        Buf b = {};
        char version[16];
        uint32_t count;
        size_t off;
        int r;

        if (!algs)
                return -ENOMEM;
        if (size < 28)
                return bad(16, "Spec ID event truncated: %zu bytes", size);
        count = le32(d + 24);
        if (count > 8 || (size - 28) / 4 < count)
                return bad(24, "numberOfAlgorithms %" PRIu32 " not valid for %zu bytes", count, size);
        (void) snprintf(version, sizeof(version), "%u.%u.%u", d[21], d[20], d[22]);
        if (jset(o, "platform_class", json_integer(le32(d + 16))) < 0 ||
            jset(o, "spec_version", json_string(version)) < 0 ||
            jset(o, "uintn_size", json_integer(d[23])) < 0)
                return -ENOMEM;
        if (buf_append(&b, "Spec ID Event03 (TCG PFP %s):", version) < 0)
                return -ENOMEM;
        for (off = 28; count > 0; count--, off += 4) {
                json_t *a = json_object();
                const char *name = alg_name(le16(d + off));
                if (jappend(algs, a) < 0 || jset(a, "id", json_integer(le16(d + off))) < 0 ||
                    jset(a, "size", json_integer(le16(d + off + 2))) < 0 ||
                    (name && jset(a, "name", json_string(name)) < 0) ||
                    (name ? buf_append(&b, " %s", name) : buf_append(&b, " 0x%04x", le16(d + off))) < 0) {
                        free(b.s);
                        return -ENOMEM;
                }
        }
        if (jset(o, "algorithms", TAKE_PTR(algs)) < 0) {
                free(b.s);
                return -ENOMEM;
        }
        if (off < size) {
                uint8_t vendor = d[off];
                if (vendor > size - off - 1)
                        r = bad(off, "vendorInfoSize %u exceeds the %zu bytes left", vendor, size - off - 1);
                else
                        r = jset(o, "vendor_info", jhex(d + off + 1, vendor));
                if (r < 0) {
                        free(b.s);
                        return r;
                }
        }
        if (ret_summary)
                *ret_summary = b.s;
        else
                free(b.s);
        return 0;
}

int uefi_no_action_to_json(const void *p, size_t size, json_t **ret, char **ret_summary, UefiError *ret_error) {
        _cleanup_(json_decrefp) json_t *o = json_object();
        _cleanup_free_ char *sig = NULL, *summary = NULL;
        const uint8_t *d = p;
        int r;

        if (!o)
                return -ENOMEM;
        if (size < 16)
                return bad(0, "EV_NO_ACTION data has %zu bytes, no 16-byte signature", size);
        r = uefi_ascii_to_string(d, 16, &sig, ret_error);
        if (r < 0)
                return r;
        if (jset(o, "signature", json_string(sig)) < 0)
                return -ENOMEM;

        if (memcmp(d, "Spec ID Event03\0", 16) == 0)
                r = spec_id_to_json(o, d, size, ret_summary ? &summary : NULL, ret_error);
        else if (memcmp(d, "StartupLocality\0", 16) == 0) {
                if (size != 17)
                        return bad(16, "StartupLocality event has %zu bytes, not 17", size);
                r = jset(o, "startup_locality", json_integer(d[16]));
                if (r >= 0)
                        r = set_summary(ret_summary ? &summary : NULL, "StartupLocality %u", d[16]);
        } else {
                r = jset(o, "data", jhex(d + 16, MIN(size - 16, (size_t) UEFI_RAW_MAX)));
                if (r >= 0)
                        r = set_summary(ret_summary ? &summary : NULL, "%s (%zu bytes)", sig, size - 16);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}
