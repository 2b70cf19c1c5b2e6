/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-name.h"
#include "ca/ca-trust.h"
#include "shared/openssl-util.h"

#define STRV_MAKE(...) ((char *const *) (const char *[]){ __VA_ARGS__, NULL })

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static void sk_X509_pop_freep(STACK_OF(X509) * *p) {
        sk_X509_pop_free(*p, X509_free);
}

static const char *const kind_table[_CA_TRUST_KIND_MAX] = {
        [CA_TRUST_ANCHOR] = "anchor",
        [CA_TRUST_INTERMEDIATE] = "intermediate",
};

/* The subdirectory of each kind. */
static const char *const kind_dir_table[_CA_TRUST_KIND_MAX] = {
        [CA_TRUST_ANCHOR] = "anchors",
        [CA_TRUST_INTERMEDIATE] = "intermediates",
};

const char *ca_trust_kind_to_string(CaTrustKind k) {
        return k >= 0 && k < _CA_TRUST_KIND_MAX ? kind_table[k] : NULL;
}

CaTrustKind ca_trust_kind_from_string(const char *s) {
        for (CaTrustKind i = 0; s && i < _CA_TRUST_KIND_MAX; i++)
                if (streq(kind_table[i], s))
                        return i;
        return _CA_TRUST_KIND_INVALID;
}

static const char *const purpose_table[_CA_TRUST_PURPOSE_MAX] = {
        [CA_TRUST_PURPOSE_ANY] = "any",
        [CA_TRUST_PURPOSE_TLS_SERVER] = "tls-server",
        [CA_TRUST_PURPOSE_TLS_CLIENT] = "tls-client",
        [CA_TRUST_PURPOSE_CODE_SIGNING] = "code-signing",
        [CA_TRUST_PURPOSE_EMAIL] = "email",
};

const char *ca_trust_purpose_to_string(CaTrustPurpose p) {
        return p >= 0 && p < _CA_TRUST_PURPOSE_MAX ? purpose_table[p] : NULL;
}

CaTrustPurpose ca_trust_purpose_from_string(const char *s) {
        for (CaTrustPurpose i = 0; s && i < _CA_TRUST_PURPOSE_MAX; i++)
                if (streq(purpose_table[i], s))
                        return i;
        return _CA_TRUST_PURPOSE_INVALID;
}

static const char *const system_trust_table[_CA_SYSTEM_TRUST_MAX] = {
        [CA_SYSTEM_TRUST_DEBIAN] = "debian",
        [CA_SYSTEM_TRUST_FEDORA] = "fedora",
        [CA_SYSTEM_TRUST_P11_KIT] = "p11-kit",
};

const char *ca_system_trust_to_string(CaSystemTrust t) {
        return t >= 0 && t < _CA_SYSTEM_TRUST_MAX ? system_trust_table[t] : NULL;
}

void ca_trust_entry_array_free(CaTrustEntry *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].subject);
                free(l[i].issuer);
                X509_free(l[i].cert);
        }
        free(l);
}

void ca_trust_verify_result_done(CaTrustVerifyResult *r) {
        if (!r)
                return;
        free(r->reason);
        strv_free(r->chain);
        *r = (CaTrustVerifyResult){};
}

/* One certificate of exact DER. */
static int parse_der(const uint8_t *p, size_t size, X509 **ret) {
        const unsigned char *q = p;
        X509 *x;

        if (size == 0 || size > CA_TRUST_CERT_SIZE_MAX)
                return size == 0 ? -EINVAL : -E2BIG;
        x = d2i_X509(NULL, &q, (long) size);
        if (!x || q != p + size) {
                X509_free(x);
                ERR_clear_error();
                return log_debug_errno(EINVAL, "Not one DER certificate.");
        }
        *ret = x;
        return 0;
}

static bool is_space_only(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr(" \t\r\n", p[i]))
                        return false;
        return true;
}

int ca_trust_parse(const void *data, size_t size, STACK_OF(X509) * *ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *l = NULL;
        static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
        _cleanup_free_ char *text = NULL, *b64 = NULL;
        const char *p;
        size_t n;
        int r;

        assert(data || size == 0);
        assert(ret);

        if (size > CA_TRUST_INPUT_SIZE_MAX)
                return -E2BIG;
        if (size == 0)
                return -EINVAL;

        l = sk_X509_new_null();
        if (!l)
                return -ENOMEM;

        if (((const uint8_t *) data)[0] == 0x30) {
                X509 *x;

                r = parse_der(data, size, &x);
                if (r < 0)
                        return r;
                if (!sk_X509_push(l, x)) {
                        X509_free(x);
                        return -ENOMEM;
                }
                *ret = TAKE_PTR(l);
                return 0;
        }

        /* PEM: CERTIFICATE blocks and whitespace only, each block decoded by us (base64 → exact DER). */
        text = memdup_suffix0(data, size);
        if (!text)
                return -ENOMEM;
        if (strlen(text) != size)
                return -EINVAL; /* NUL bytes */

        p = text;
        for (;;) {
                const char *b, *e;
                _cleanup_free_ void *der = NULL;
                size_t der_size;
                X509 *x;

                b = strstr(p, "-----BEGIN ");
                if (!b) {
                        if (!is_space_only(p, strlen(p)))
                                return log_debug_errno(EINVAL, "Trailing garbage after the last certificate.");
                        break;
                }
                if (!is_space_only(p, (size_t) (b - p)))
                        return log_debug_errno(EINVAL, "Garbage between certificates.");
                if (!startswith(b, begin))
                        return log_debug_errno(EINVAL, "A PEM block that is not a CERTIFICATE.");
                b += strlen(begin);
                e = strstr(b, end);
                if (!e)
                        return -EINVAL;
                if ((size_t) sk_X509_num(l) >= CA_TRUST_IMPORT_CERTS_MAX)
                        return log_debug_errno(E2BIG, "More than %u certificates.", CA_TRUST_IMPORT_CERTS_MAX);

                /* Line breaks out, then strict base64. */
                b64 = mfree(b64);
                b64 = malloc((size_t) (e - b) + 1);
                if (!b64)
                        return -ENOMEM;
                n = 0;
                for (const char *q = b; q < e; q++)
                        if (!strchr(" \t\r\n", *q))
                                b64[n++] = *q;
                r = unbase64mem(b64, n, &der, &der_size);
                if (r < 0)
                        return log_debug_errno(EINVAL, "Bad base64 in a PEM block.");
                r = parse_der(der, der_size, &x);
                if (r < 0)
                        return r;
                if (!sk_X509_push(l, x)) {
                        X509_free(x);
                        return -ENOMEM;
                }
                p = e + strlen(end);
        }

        if (sk_X509_num(l) == 0)
                return -EINVAL;
        *ret = TAKE_PTR(l);
        return 0;
}

int ca_trust_fingerprint(X509 *cert, char ret[static CA_TRUST_FINGERPRINT_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        assert(cert);

        if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
                return openssl_errno();
        for (unsigned i = 0; i < n; i++)
                sprintf(ret + 2 * i, "%02x", md[i]);
        return 0;
}

int ca_trust_fingerprint_normalize(const char *s, char ret[static CA_TRUST_FINGERPRINT_LEN + 1]) {
        size_t j = 0;

        if (!s || strlen(s) > 3 * 32)
                return -EINVAL;
        for (size_t i = 0; s[i]; i++) {
                char c = s[i];

                if (c == ':') {
                        /* Only between bytes. */
                        if (j == 0 || j % 2 != 0 || !s[i + 1] || s[i + 1] == ':')
                                return -EINVAL;
                        continue;
                }
                if (!strchr("0123456789abcdefABCDEF", c) || j >= CA_TRUST_FINGERPRINT_LEN)
                        return -EINVAL;
                ret[j++] = (char) (c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
        }
        if (j != CA_TRUST_FINGERPRINT_LEN)
                return -EINVAL;
        ret[j] = 0;
        return 0;
}

static time_t asn1_time_to_time_t(const ASN1_TIME *t) {
        struct tm tm = {};

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return 0;
        return timegm(&tm);
}

static int entry_fill(CaTrustEntry *e, X509 *cert, CaTrustKind kind) {
        int r;

        *e = (CaTrustEntry){ .kind = kind };
        r = ca_trust_fingerprint(cert, e->fingerprint);
        if (r < 0)
                return r;
        r = ca_name_to_string(X509_get_subject_name(cert), &e->subject);
        if (r < 0)
                return r;
        r = ca_name_to_string(X509_get_issuer_name(cert), &e->issuer);
        if (r < 0)
                return r;
        e->not_before = asn1_time_to_time_t(X509_get0_notBefore(cert));
        e->not_after = asn1_time_to_time_t(X509_get0_notAfter(cert));
        if (X509_up_ref(cert) != 1)
                return -ENOMEM;
        e->cert = cert;
        return 0;
}

static bool cert_is_self_signed(X509 *x) {
        /* Issuer = subject (and AKI, when present, = SKI); the signature is checked separately. */
        return X509_check_issued(x, x) == X509_V_OK;
}

/* A CA certificate we are willing to hold: cA, keyCertSign, a key that is not weak, valid at now. */
static int check_ca_cert(X509 *x, time_t now) {
        EVP_PKEY *pkey;
        uint32_t flags;
        int bits;

        flags = X509_get_extension_flags(x);
        if (flags & EXFLAG_INVALID)
                return log_debug_errno(EINVAL, "The certificate has invalid extensions.");
        if (X509_check_ca(x) != 1 || !(flags & EXFLAG_BCONS))
                return log_debug_errno(EMEDIUMTYPE, "Not a CA certificate (basicConstraints cA missing).");
        if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
                return log_debug_errno(EMEDIUMTYPE, "A CA certificate without keyCertSign.");

        pkey = X509_get0_pubkey(x);
        if (!pkey)
                return log_debug_errno(EINVAL, "The certificate's key does not parse.");
        bits = EVP_PKEY_get_bits(pkey);
        if (EVP_PKEY_is_a(pkey, "RSA")) {
                if (bits < 2048)
                        return log_debug_errno(EKEYREJECTED, "RSA key of %d bits.", bits);
        } else if (EVP_PKEY_is_a(pkey, "EC")) {
                if (bits < 256)
                        return log_debug_errno(EKEYREJECTED, "EC key of %d bits.", bits);
        } else if (!EVP_PKEY_is_a(pkey, "ED25519") && !EVP_PKEY_is_a(pkey, "ED448"))
                return log_debug_errno(EKEYREJECTED, "Unsupported key algorithm.");

        if (X509_cmp_time(X509_get0_notBefore(x), &now) >= 0 || X509_cmp_time(X509_get0_notAfter(x), &now) <= 0)
                return log_debug_errno(EKEYEXPIRED, "The certificate is not valid now.");
        return 0;
}

static int kind_path(const char *dir, CaTrustKind kind, const char *fp, char **ret) {
        if (asprintf(ret, "%s/%s%s%s%s", dir, kind_dir_table[kind], fp ? "/" : "", strempty(fp),
                     fp ? ".pem" : "") < 0)
                return -ENOMEM;
        return 0;
}

/* Reads the certificates of one kind. */
static int load_kind(const char *dir, CaTrustKind kind, CaTrustEntry **l, size_t *n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *path = NULL, *fpath = NULL;
        struct dirent *de;
        int r;

        r = kind_path(dir, kind, NULL, &path);
        if (r < 0)
                return r;
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((errno = 0, de = readdir(d))) {
                _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
                char fp[CA_TRUST_FINGERPRINT_LEN + 1];
                _cleanup_free_ char *data = NULL;
                CaTrustEntry *nl;
                size_t size;
                const char *suffix;

                suffix = endswith(de->d_name, ".pem");
                if (!suffix || (size_t) (suffix - de->d_name) != CA_TRUST_FINGERPRINT_LEN)
                        continue; /* temporary files, anything else */
                if (*n >= CA_TRUST_STORE_CERTS_MAX)
                        return log_debug_errno(ENOSPC, "More than %u certificates in the trust store.",
                                               CA_TRUST_STORE_CERTS_MAX);

                free(fpath);
                if (asprintf(&fpath, "%s/%s", path, de->d_name) < 0)
                        return -ENOMEM;
                r = read_full_file(fpath, 2 * CA_TRUST_CERT_SIZE_MAX, &data, &size);
                if (r < 0) {
                        log_debug_errno(r, "Skipping %s/%s: %m", path, de->d_name);
                        continue;
                }
                r = ca_trust_parse(data, size, &certs);
                if (r < 0 || sk_X509_num(certs) != 1) {
                        log_debug("Skipping %s/%s: not one certificate.", path, de->d_name);
                        continue;
                }
                r = ca_trust_fingerprint(sk_X509_value(certs, 0), fp);
                if (r < 0)
                        return r;
                if (strncmp(fp, de->d_name, CA_TRUST_FINGERPRINT_LEN) != 0) {
                        log_debug("Skipping %s/%s: its content has another fingerprint.", path, de->d_name);
                        continue;
                }

                nl = reallocarray(*l, *n + 1, sizeof(CaTrustEntry));
                if (!nl)
                        return -ENOMEM;
                *l = nl;
                r = entry_fill(&nl[*n], sk_X509_value(certs, 0), kind);
                (*n)++; /* filled or partly: freed with the array */
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;
        return 0;
}

int ca_trust_list(const char *dir, CaTrustEntry **ret, size_t *ret_n) {
        CaTrustEntry *l = NULL;
        size_t n = 0;
        int r;

        assert(dir);
        assert(ret);
        assert(ret_n);

        for (CaTrustKind k = 0; k < _CA_TRUST_KIND_MAX; k++) {
                r = load_kind(dir, k, &l, &n);
                if (r < 0) {
                        ca_trust_entry_array_free(l, n);
                        return r;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int ca_trust_load(const char *dir, STACK_OF(X509) * *ret_anchors, STACK_OF(X509) * *ret_intermediates) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *a = NULL, *i = NULL;
        CaTrustEntry *l = NULL;
        size_t n = 0;
        int r;

        r = ca_trust_list(dir, &l, &n);
        if (r < 0)
                return r;

        a = sk_X509_new_null();
        i = sk_X509_new_null();
        if (!a || !i) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < n; k++) {
                if (!sk_X509_push(l[k].kind == CA_TRUST_ANCHOR ? a : i, l[k].cert)) {
                        r = -ENOMEM;
                        goto finish;
                }
                l[k].cert = NULL; /* the stack owns it */
        }
        if (ret_anchors)
                *ret_anchors = TAKE_PTR(a);
        if (ret_intermediates)
                *ret_intermediates = TAKE_PTR(i);
        r = 0;
finish:
        ca_trust_entry_array_free(l, n);
        return r;
}

static int store_add_all(X509_STORE *store, STACK_OF(X509) * l) {
        for (int k = 0; k < sk_X509_num(l); k++)
                if (X509_STORE_add_cert(store, sk_X509_value(l, k)) != 1)
                        return openssl_errno();
        return 0;
}

static int new_store(STACK_OF(X509) * anchors, X509 *extra_anchor, X509_STORE **ret) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        int r;

        store = X509_STORE_new();
        if (!store)
                return -ENOMEM;
        r = store_add_all(store, anchors);
        if (r < 0)
                return r;
        if (extra_anchor && X509_STORE_add_cert(store, extra_anchor) != 1) {
                /* The same certificate imported and given: fine. */
                unsigned long e = ERR_peek_last_error();

                if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
                        return openssl_errno();
                ERR_clear_error();
        }
        /* Strict DER/extension checks; never X509_V_FLAG_PARTIAL_CHAIN (a chain ends at a self-signed
         * anchor) nor policy checking (CVE-2023-0464). */
        if (X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT) != 1)
                return openssl_errno();
        *ret = TAKE_PTR(store);
        return 0;
}

int ca_trust_new_x509_store(const char *dir, X509 *extra_anchor, X509_STORE **ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *anchors = NULL;
        int r;

        assert(dir);
        assert(ret);

        r = ca_trust_load(dir, &anchors, NULL);
        if (r < 0)
                return r;
        return new_store(anchors, extra_anchor, ret);
}

/* Does cert chain up to one of anchors, as a CA, at now (intermediates from untrusted)? */
static int chains_to(X509 *cert, STACK_OF(X509) * anchors, STACK_OF(X509) * untrusted, time_t now) {
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        int r;

        r = new_store(anchors, NULL, &store);
        if (r < 0)
                return r;
        ctx = X509_STORE_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
                return openssl_errno();
        X509_STORE_CTX_set_time(ctx, 0, now);
        r = X509_verify_cert(ctx);
        if (r <= 0) {
                log_debug("Does not chain to an anchor: %s",
                          X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                ERR_clear_error();
                return 0;
        }
        return 1;
}

int ca_trust_import(const char *dir, const void *data, size_t size, time_t now, CaTrustEntry **ret_entries,
                    size_t *ret_n) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL, *anchors = NULL, *intermediates = NULL;
        CaTrustKind kinds[CA_TRUST_IMPORT_CERTS_MAX];
        char fps[CA_TRUST_IMPORT_CERTS_MAX][CA_TRUST_FINGERPRINT_LEN + 1];
        bool present[CA_TRUST_IMPORT_CERTS_MAX] = {};
        CaTrustEntry *stored = NULL, *entries = NULL;
        size_t n_stored = 0, n_new = 0, n_entries = 0;
        int n, r;

        assert(dir);

        if (now == 0)
                now = time(NULL);

        r = ca_trust_parse(data, size, &certs);
        if (r < 0)
                return r;
        n = sk_X509_num(certs);

        r = ca_trust_list(dir, &stored, &n_stored);
        if (r < 0)
                return r;

        anchors = sk_X509_new_null();
        intermediates = sk_X509_new_null();
        if (!anchors || !intermediates) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < n_stored; k++)
                if (X509_add_cert(stored[k].kind == CA_TRUST_ANCHOR ? anchors : intermediates,
                                  stored[k].cert, X509_ADD_FLAG_UP_REF) != 1) {
                        r = -ENOMEM;
                        goto finish;
                }

        /* Check each certificate by itself; anchors of this import join the anchors at once. */
        for (int i = 0; i < n; i++) {
                X509 *x = sk_X509_value(certs, i);

                r = ca_trust_fingerprint(x, fps[i]);
                if (r < 0)
                        goto finish;
                for (int j = 0; j < i; j++)
                        if (streq(fps[i], fps[j])) {
                                r = log_debug_errno(ENOTUNIQ, "Certificate %s is given twice.", fps[i]);
                                goto finish;
                        }
                for (size_t k = 0; k < n_stored; k++)
                        if (streq(stored[k].fingerprint, fps[i]))
                                present[i] = true;

                r = check_ca_cert(x, now);
                if (r < 0)
                        goto finish;

                if (cert_is_self_signed(x)) {
                        if (X509_verify(x, X509_get0_pubkey(x)) != 1) {
                                ERR_clear_error();
                                r = log_debug_errno(EBADMSG,
                                                    "A self-signed certificate whose signature "
                                                    "does not verify.");
                                goto finish;
                        }
                        kinds[i] = CA_TRUST_ANCHOR;
                        if (!present[i]) {
                                if (X509_add_cert(anchors, x, X509_ADD_FLAG_UP_REF) != 1) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                        }
                } else
                        kinds[i] = CA_TRUST_INTERMEDIATE;
        }

        /* Intermediates: must chain to an anchor (other intermediates of the import may help). */
        for (int i = 0; i < n; i++) {
                _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *untrusted = NULL;

                if (kinds[i] != CA_TRUST_INTERMEDIATE)
                        continue;
                untrusted = sk_X509_new_null();
                if (!untrusted || X509_add_certs(untrusted, intermediates, X509_ADD_FLAG_UP_REF) != 1) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (int j = 0; j < n; j++)
                        if (j != i && kinds[j] == CA_TRUST_INTERMEDIATE &&
                            X509_add_cert(untrusted, sk_X509_value(certs, j), X509_ADD_FLAG_UP_REF) != 1) {
                                r = -ENOMEM;
                                goto finish;
                        }

                r = chains_to(sk_X509_value(certs, i), anchors, untrusted, now);
                if (r < 0)
                        goto finish;
                if (r == 0) {
                        r = log_debug_errno(ENOKEY, "Intermediate %s does not chain to a trusted anchor.",
                                            fps[i]);
                        goto finish;
                }
        }

        for (int i = 0; i < n; i++)
                if (!present[i])
                        n_new++;
        if (n_stored + n_new > CA_TRUST_STORE_CERTS_MAX) {
                r = log_debug_errno(ENOSPC, "The trust store would hold more than %u certificates.",
                                    CA_TRUST_STORE_CERTS_MAX);
                goto finish;
        }

        /* Write: anchors first, so that a crash in between never leaves an intermediate without its
         * anchor (it would only be unusable, not trusted). */
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                goto finish;
        }
        for (CaTrustKind k = 0; k < _CA_TRUST_KIND_MAX; k++) {
                _cleanup_free_ char *sub = NULL;

                r = kind_path(dir, k, NULL, &sub);
                if (r < 0)
                        goto finish;
                if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        goto finish;
                }
                for (int i = 0; i < n; i++) {
                        _cleanup_free_ char *path = NULL, *pem = NULL;
                        X509 *x = sk_X509_value(certs, i);

                        if (kinds[i] != k || present[i])
                                continue;
                        r = kind_path(dir, k, fps[i], &path);
                        if (r < 0)
                                goto finish;
                        r = ca_cert_to_pem(x, &pem);
                        if (r < 0)
                                goto finish;
                        r = write_file_atomic(path, pem, strlen(pem), 0644);
                        if (r < 0)
                                goto finish;
                }
        }

        if (ret_entries) {
                entries = calloc((size_t) n, sizeof(CaTrustEntry));
                if (!entries) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (int i = 0; i < n; i++) {
                        r = entry_fill(&entries[i], sk_X509_value(certs, i), kinds[i]);
                        n_entries++;
                        if (r < 0)
                                goto finish;
                }
                *ret_entries = TAKE_PTR(entries);
                *ret_n = (size_t) n;
        }
        r = (int) n_new;

finish:
        ca_trust_entry_array_free(entries, n_entries);
        ca_trust_entry_array_free(stored, n_stored);
        return r;
}

int ca_trust_remove(const char *dir, const char *fingerprint, CaTrustKind *ret_kind) {
        char fp[CA_TRUST_FINGERPRINT_LEN + 1];
        int r;

        assert(dir);

        r = ca_trust_fingerprint_normalize(fingerprint, fp);
        if (r < 0)
                return r;

        for (CaTrustKind k = 0; k < _CA_TRUST_KIND_MAX; k++) {
                _cleanup_free_ char *path = NULL, *sub = NULL;
                _cleanup_close_ int dfd = -EBADF;

                r = kind_path(dir, k, fp, &path);
                if (r < 0)
                        return r;
                if (unlink(path) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                /* Durable: fsync the directory. */
                r = kind_path(dir, k, NULL, &sub);
                if (r < 0)
                        return r;
                dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || fsync(dfd) < 0)
                        return -errno;
                if (ret_kind)
                        *ret_kind = k;
                return 0;
        }
        return -ENOENT;
}

static int purpose_to_openssl(CaTrustPurpose p) {
        switch (p) {
        case CA_TRUST_PURPOSE_TLS_SERVER:
                return X509_PURPOSE_SSL_SERVER;
        case CA_TRUST_PURPOSE_TLS_CLIENT:
                return X509_PURPOSE_SSL_CLIENT;
        case CA_TRUST_PURPOSE_EMAIL:
                return X509_PURPOSE_SMIME_SIGN;
        default:
                /* "any", and code signing (OpenSSL 3.0 has no such purpose: the EKU is checked after). */
                return X509_PURPOSE_ANY;
        }
}

/* The first http:// caIssuers URL of cert's AIA, or NULL. */
static char *aia_ca_issuers_url(X509 *cert) {
        AUTHORITY_INFO_ACCESS *aia;
        char *url = NULL;

        aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
        if (!aia) {
                ERR_clear_error();
                return NULL;
        }
        for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && !url; i++) {
                ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
                const ASN1_IA5STRING *s;

                if (OBJ_obj2nid(ad->method) != NID_ad_ca_issuers || ad->location->type != GEN_URI)
                        continue;
                s = ad->location->d.uniformResourceIdentifier;
                if (s->length <= 0 || s->length > 1024)
                        continue;
                url = memdup_suffix0(s->data, (size_t) s->length);
                if (url &&
                    (strlen(url) != (size_t) s->length || !startswith(url, "http://") || !ca_url_is_valid(url)))
                        url = mfree(url);
        }
        AUTHORITY_INFO_ACCESS_free(aia);
        return url;
}

typedef struct FetchBuffer {
        uint8_t data[CA_TRUST_AIA_SIZE_MAX];
        size_t size;
} FetchBuffer;

static size_t fetch_write(char *p, size_t size, size_t nmemb, void *userdata) {
        FetchBuffer *b = userdata;
        size_t n = size * nmemb;

        if (n > sizeof(b->data) - b->size)
                return 0; /* too large: makes curl fail with CURLE_WRITE_ERROR */
        memcpy(b->data + b->size, p, n);
        b->size += n;
        return n;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);

int ca_trust_fetch_aia(const char *url, unsigned timeout_ms, X509 **ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_free_ FetchBuffer *b = NULL;
        long code = 0;
        CURLcode cr;
        int r;

        assert(url);
        assert(ret);

        if (!startswith(url, "http://") || !ca_url_is_valid(url))
                return -EINVAL;
        if (timeout_ms == 0)
                timeout_ms = 5000;

        b = calloc(1, sizeof(FetchBuffer));
        c = curl_easy_init();
        if (!b || !c)
                return -ENOMEM;
        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) timeout_ms) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) CA_TRUST_AIA_SIZE_MAX) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, b) != CURLE_OK)
                return -EIO;

        cr = curl_easy_perform(c);
        if (cr != CURLE_OK) {
                log_debug("Fetching %s failed: %s", url, curl_easy_strerror(cr));
                switch (cr) {
                case CURLE_OPERATION_TIMEDOUT:
                        return -ETIMEDOUT;
                case CURLE_WRITE_ERROR:
                case CURLE_FILESIZE_EXCEEDED:
                        return -EFBIG;
                default:
                        return -EHOSTUNREACH;
                }
        }
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200)
                return log_debug_errno(EPROTO, "Fetching %s: HTTP status %ld (redirects are not followed).",
                                       url, code);

        r = ca_trust_parse(b->data, b->size, &certs);
        if (r < 0)
                return r;
        if (sk_X509_num(certs) != 1)
                return log_debug_errno(EINVAL, "%s holds %d certificates, not one.", url, sk_X509_num(certs));
        *ret = sk_X509_shift(certs);
        return 0;
}

static int chain_subjects(STACK_OF(X509) * chain, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (int i = 0; i < sk_X509_num(chain); i++) {
                _cleanup_free_ char *s = NULL;

                r = ca_name_to_string(X509_get_subject_name(sk_X509_value(chain, i)), &s);
                if (r < 0)
                        return r;
                r = strv_extend(&l, s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int ca_trust_verify(const char *dir, X509 *extra_anchor, X509 *leaf, STACK_OF(X509) * chain,
                    const CaTrustVerifyParams *params, CaTrustVerifyResult *ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *anchors = NULL, *untrusted = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        CaTrustVerifyParams p = params ? *params : (CaTrustVerifyParams){};
        CaTrustVerifyResult res = {};
        time_t now;
        int r;

        assert(dir);
        assert(leaf);
        assert(ret);

        if (chain && sk_X509_num(chain) > (int) CA_TRUST_CHAIN_MAX)
                return -E2BIG;
        if (p.aia_hops > CA_TRUST_AIA_HOPS_MAX || p.purpose < 0 || p.purpose >= _CA_TRUST_PURPOSE_MAX)
                return -EINVAL;
        now = p.now != 0 ? p.now : time(NULL);

        r = ca_trust_load(dir, &anchors, &untrusted);
        if (r < 0)
                return r;
        if (chain && X509_add_certs(untrusted, chain, X509_ADD_FLAG_UP_REF) != 1)
                return -ENOMEM;
        r = new_store(anchors, extra_anchor, &store);
        if (r < 0)
                return r;
        if (p.crls && X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) != 1)
                return openssl_errno();

        for (;;) {
                _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
                _cleanup_(X509_freep) X509 *fetched = NULL;
                _cleanup_free_ char *url = NULL;
                X509 *top;
                int err;

                ctx = X509_STORE_CTX_new();
                if (!ctx)
                        return -ENOMEM;
                if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1 ||
                    X509_STORE_CTX_set_purpose(ctx, purpose_to_openssl(p.purpose)) != 1)
                        return openssl_errno();
                X509_STORE_CTX_set_time(ctx, 0, now);
                if (p.crls)
                        X509_STORE_CTX_set0_crls(ctx, p.crls);

                if (X509_verify_cert(ctx) > 0) {
                        if (p.purpose == CA_TRUST_PURPOSE_CODE_SIGNING &&
                            (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
                             !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))) {
                                res.error = X509_V_ERR_INVALID_PURPOSE;
                                res.depth = 0;
                                res.reason = strdup("certificate is not for code signing");
                                if (!res.reason)
                                        return -ENOMEM;
                                break;
                        }
                        res.valid = true;
                        res.error = X509_V_OK;
                        r = chain_subjects(X509_STORE_CTX_get0_chain(ctx), &res.chain);
                        if (r < 0) {
                                ca_trust_verify_result_done(&res);
                                return r;
                        }
                        break;
                }
                ERR_clear_error();
                err = X509_STORE_CTX_get_error(ctx);
                res.error = err;
                res.depth = X509_STORE_CTX_get_error_depth(ctx);

                /* A missing issuer: AIA may complete the chain, never end it. */
                top = X509_STORE_CTX_get_current_cert(ctx);
                if (IN_SET(err, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                           X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) &&
                    res.fetched < p.aia_hops && top && (url = aia_ca_issuers_url(top))) {
                        r = ca_trust_fetch_aia(url, p.aia_timeout_ms, &fetched);
                        if (r < 0)
                                log_debug_errno(r, "AIA fetch of %s failed: %m", url);
                        else if (cert_is_self_signed(fetched))
                                log_debug("AIA: %s is a self-signed certificate; it is never trusted.", url);
                        else if (X509_check_issued(fetched, top) != X509_V_OK)
                                log_debug("AIA: %s did not issue the certificate that points to it.", url);
                        else if (check_ca_cert(fetched, now) < 0)
                                log_debug("AIA: %s is not a usable CA certificate.", url);
                        else {
                                if (!sk_X509_push(untrusted, fetched))
                                        return -ENOMEM;
                                TAKE_PTR(fetched);
                                res.fetched++;
                                continue;
                        }
                }

                res.reason = strdup(X509_verify_cert_error_string(err));
                if (!res.reason)
                        return -ENOMEM;
                (void) chain_subjects(X509_STORE_CTX_get0_chain(ctx), &res.chain);
                break;
        }

        *ret = res;
        return 0;
}

int ca_trust_verify_blob(const char *dir, X509 *extra_anchor, const void *data, size_t size,
                         const CaTrustVerifyParams *params, CaTrustVerifyResult *ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
        _cleanup_(X509_freep) X509 *leaf = NULL;
        int r;

        r = ca_trust_parse(data, size, &certs);
        if (r < 0)
                return r;
        leaf = sk_X509_shift(certs);
        return ca_trust_verify(dir, extra_anchor, leaf, certs, params, ret);
}

int ca_trust_new_ssl_ctx(const CaTlsParams *params, SSL_CTX **ret) {
        _cleanup_(X509_STORE_freep) X509_STORE *trust = params ? params->trust : NULL;
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        int mode;

        assert(params);
        assert(ret);

        if (!!params->cert != !!params->key)
                return -EINVAL;
        if (params->role == CA_TLS_CLIENT && !trust)
                return -EINVAL; /* a client always verifies the server */
        if (params->role == CA_TLS_SERVER && !params->cert)
                return -EINVAL;
        if (params->chain && sk_X509_num(params->chain) > (int) CA_TRUST_CHAIN_MAX)
                return -E2BIG;

        ctx = SSL_CTX_new(params->role == CA_TLS_SERVER ? TLS_server_method() : TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
                return openssl_errno();
        (void) SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);

        if (params->cert) {
                if (SSL_CTX_use_certificate(ctx, params->cert) != 1 ||
                    SSL_CTX_use_PrivateKey(ctx, params->key) != 1)
                        return openssl_errno();
                if (SSL_CTX_check_private_key(ctx) != 1) {
                        ERR_clear_error();
                        return log_debug_errno(EINVAL, "The certificate is not the key's.");
                }
                for (int i = 0; params->chain && i < sk_X509_num(params->chain); i++)
                        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(params->chain, i)) != 1)
                                return openssl_errno();
        }

        if (trust) {
                SSL_CTX_set_cert_store(ctx, TAKE_PTR(trust));
                mode = SSL_VERIFY_PEER;
                if (params->role == CA_TLS_SERVER && params->require_peer_cert)
                        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
                SSL_CTX_set_verify(ctx, mode, NULL);
                if (X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx),
                                                  params->role == CA_TLS_SERVER ? X509_PURPOSE_SSL_CLIENT
                                                                                : X509_PURPOSE_SSL_SERVER) != 1)
                        return openssl_errno();
                SSL_CTX_set_verify_depth(ctx, (int) CA_TRUST_CHAIN_MAX);
        } else
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

        *ret = TAKE_PTR(ctx);
        return 0;
}

/* System trust. */

static int find_executable(const char *name, char **ret) {
        const char *path = getenv("PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *f = NULL;

                if (n > 0 && p[0] == '/') {
                        if (asprintf(&f, "%.*s/%s", (int) n, p, name) < 0)
                                return -ENOMEM;
                        if (access(f, X_OK) == 0) {
                                *ret = TAKE_PTR(f);
                                return 0;
                        }
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

static bool is_dir(const char *root, const char *sub) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (asprintf(&p, "%s/%s", root, sub) < 0)
                return false;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_root_dir(const char *sysroot) {
        return !sysroot || streq(sysroot, "/") || streq(sysroot, "");
}

int ca_system_trust_detect(const char *sysroot, CaSystemTrust *ret) {
        _cleanup_free_ char *exe = NULL;
        const char *root = is_root_dir(sysroot) ? "" : sysroot;

        assert(ret);

        if (is_dir(root, "usr/local/share/ca-certificates") &&
            find_executable("update-ca-certificates", &exe) >= 0) {
                *ret = CA_SYSTEM_TRUST_DEBIAN;
                return 0;
        }
        if (is_dir(root, "etc/pki/ca-trust/source/anchors") && find_executable("update-ca-trust", &exe) >= 0) {
                *ret = CA_SYSTEM_TRUST_FEDORA;
                return 0;
        }
        if (is_root_dir(sysroot) && find_executable("trust", &exe) >= 0) {
                *ret = CA_SYSTEM_TRUST_P11_KIT;
                return 0;
        }
        return -EOPNOTSUPP;
}

/* Runs argv[0] (found on $PATH) with argv, no shell, stdin from /dev/null. -EPROTO unless it exits 0. */
static int run_command(char *const *argv) {
        _cleanup_free_ char *exe = NULL;
        _cleanup_close_ int null_fd = -EBADF;
        int status;
        pid_t pid;
        int r;

        r = find_executable(argv[0], &exe);
        if (r < 0)
                return log_debug_errno(r, "%s not found on $PATH.", argv[0]);

        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Only async-signal-safe calls here: the caller may have threads. */
                /* stdin from /dev/null; stdout to stderr: the caller's stdout may be a protocol (TAP,
                 * JSON) that the command's chatter must not break. */
                sigset_t none;

                /* A daemon on sd-event has its signals blocked: the command gets a clean mask. */
                if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                        _exit(127);
                if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                        _exit(127);
                execv(exe, argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_debug_errno(EPROTO, "%s failed (status 0x%x).", exe, (unsigned) status);
        return 0;
}

static int system_trust_file(const char *sysroot, CaSystemTrust t, char **ret) {
        const char *root = is_root_dir(sysroot) ? "" : sysroot;

        switch (t) {
        case CA_SYSTEM_TRUST_DEBIAN:
                return asprintf(ret, "%s/usr/local/share/ca-certificates/" CA_SYSTEM_TRUST_FILE_NAME ".crt",
                                root) < 0
                        ? -ENOMEM
                        : 0;
        case CA_SYSTEM_TRUST_FEDORA:
                return asprintf(ret, "%s/etc/pki/ca-trust/source/anchors/" CA_SYSTEM_TRUST_FILE_NAME ".pem",
                                root) < 0
                        ? -ENOMEM
                        : 0;
        default:
                return -EOPNOTSUPP;
        }
}

static int system_trust_update(const char *sysroot, CaSystemTrust t, bool removed) {
        switch (t) {
        case CA_SYSTEM_TRUST_DEBIAN:
                /* After a removal --fresh, as Debian documents it: drops the dangling hash links. */
                if (is_root_dir(sysroot))
                        return run_command(removed ? STRV_MAKE("update-ca-certificates", "--fresh")
                                                   : STRV_MAKE("update-ca-certificates"));
                return run_command(removed ? STRV_MAKE("update-ca-certificates", "--fresh", "--sysroot", sysroot)
                                           : STRV_MAKE("update-ca-certificates", "--sysroot", sysroot));
        case CA_SYSTEM_TRUST_FEDORA: {
                _cleanup_free_ char *out = NULL;

                if (is_root_dir(sysroot))
                        return run_command(STRV_MAKE("update-ca-trust", "extract"));
                if (asprintf(&out, "%s/etc/pki/ca-trust/extracted", sysroot) < 0)
                        return -ENOMEM;
                return run_command(STRV_MAKE("update-ca-trust", "extract", "--output", out));
        }
        default:
                return -EOPNOTSUPP;
        }
}

/* p11-kit's trust tool takes a file: a private temporary copy. */
static int p11_kit_trust(const char *pem, const char *verb) {
        char path[] = "/tmp/trusted-platform-root.XXXXXX";
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, pem, strlen(pem)) != (ssize_t) strlen(pem))
                r = -EIO;
        else
                r = run_command(STRV_MAKE("trust", "anchor", verb, path));
        (void) unlink(path);
        return r;
}

#define P11_KIT_ANCHORS_SIZE_MAX (64U * 1024U * 1024U)

/* Whether pem is among the trust module's anchors. `trust anchor --remove` exits 0 for a certificate it
 * does not have, and --store of one it has rewrites it and regenerates the distribution's bundles:
 * neither tells "changed" from "nothing to do", so ask. The tool writes each anchor's DER as OpenSSL
 * does (64-column base64), so our PEM is found verbatim. 1 if present, 0 if not. */
static int p11_kit_has_anchor(const char *pem) {
        char dir[] = "/tmp/trusted-platform-anchors.XXXXXX";
        _cleanup_free_ char *path = NULL, *bundle = NULL;
        size_t size;
        int r;

        if (!mkdtemp(dir))
                return -errno;
        if (asprintf(&path, "%s/anchors.pem", dir) < 0) {
                (void) rmdir(dir);
                return -ENOMEM;
        }
        r = run_command(STRV_MAKE("trust", "extract", "--format=pem-bundle", "--filter=ca-anchors",
                                  "--purpose=server-auth", path));
        if (r >= 0)
                r = read_full_file(path, P11_KIT_ANCHORS_SIZE_MAX, &bundle, &size);
        (void) unlink(path);
        (void) rmdir(dir);
        if (r < 0)
                return r;
        return strstr(bundle, pem) ? 1 : 0;
}

static int p11_kit_install(X509 *root, bool install) {
        _cleanup_free_ char *pem = NULL;
        int r;

        r = ca_cert_to_pem(root, &pem);
        if (r < 0)
                return r;
        r = p11_kit_has_anchor(pem);
        if (r < 0)
                return r;
        if (r == install)
                return 0; /* installed already, or nothing to remove */
        r = p11_kit_trust(pem, install ? "--store" : "--remove");
        if (r < 0)
                return r;
        return 1;
}

static int check_root(X509 *root) {
        if (!root || !cert_is_self_signed(root) || X509_check_ca(root) != 1)
                return -EINVAL;
        if (X509_verify(root, X509_get0_pubkey(root)) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }
        return 0;
}

int ca_system_trust_install(const char *sysroot, X509 *root, CaSystemTrust *ret_kind) {
        _cleanup_free_ char *path = NULL, *pem = NULL, *old = NULL;
        CaSystemTrust t;
        size_t old_size;
        int r;

        r = check_root(root);
        if (r < 0)
                return r;
        r = ca_system_trust_detect(sysroot, &t);
        if (r < 0)
                return r;
        if (ret_kind)
                *ret_kind = t;

        if (t == CA_SYSTEM_TRUST_P11_KIT)
                return p11_kit_install(root, /* install= */ true);

        r = system_trust_file(sysroot, t, &path);
        if (r < 0)
                return r;
        r = ca_cert_to_pem(root, &pem);
        if (r < 0)
                return r;
        r = read_full_file(path, 2 * CA_TRUST_CERT_SIZE_MAX, &old, &old_size);
        if (r >= 0 && old_size == strlen(pem) && memcmp(old, pem, old_size) == 0)
                return 0; /* installed already */

        r = write_file_atomic(path, pem, strlen(pem), 0644);
        if (r < 0)
                return r;
        r = system_trust_update(sysroot, t, /* removed= */ false);
        if (r < 0)
                return r;
        return 1;
}

int ca_system_trust_uninstall(const char *sysroot, X509 *root, CaSystemTrust *ret_kind) {
        _cleanup_free_ char *path = NULL;
        CaSystemTrust t;
        int r;

        r = ca_system_trust_detect(sysroot, &t);
        if (r < 0)
                return r;
        if (ret_kind)
                *ret_kind = t;

        if (t == CA_SYSTEM_TRUST_P11_KIT) {
                r = check_root(root);
                if (r < 0)
                        return r;
                return p11_kit_install(root, /* install= */ false);
        }

        r = system_trust_file(sysroot, t, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;
                return -errno;
        }
        r = system_trust_update(sysroot, t, /* removed= */ true);
        if (r < 0)
                return r;
        return 1;
}
