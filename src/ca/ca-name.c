/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <ctype.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-name.h"
#include "shared/openssl-util.h"

static const struct {
        const char *key;
        int nid;
} name_attrs[] = {
        { "CN", NID_commonName },
        { "O", NID_organizationName },
        { "OU", NID_organizationalUnitName },
        { "C", NID_countryName },
        { "L", NID_localityName },
        { "ST", NID_stateOrProvinceName },
        { "DC", NID_domainComponent },
        { "serialNumber", NID_serialNumber },
};

static int attr_nid(const char *key, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(name_attrs); i++)
                if (strlen(name_attrs[i].key) == n && strncmp(name_attrs[i].key, key, n) == 0)
                        return name_attrs[i].nid;
        return NID_undef;
}

static bool nid_is_allowed(int nid) {
        for (size_t i = 0; i < ELEMENTSOF(name_attrs); i++)
                if (name_attrs[i].nid == nid)
                        return true;
        return false;
}

/* Printable UTF-8 without control characters, within the length limit; C: two upper-case letters. */
static bool value_is_valid(int nid, const unsigned char *v, size_t n) {
        if (n == 0 || n > CA_SUBJECT_VALUE_MAX)
                return false;
        if (memchr(v, 0, n))
                return false;
        for (size_t i = 0; i < n; i++)
                if (v[i] < 0x20 || v[i] == 0x7f)
                        return false;
        if (nid == NID_countryName)
                return n == 2 && isupper(v[0]) && isupper(v[1]);
        return true;
}

static int name_add(X509_NAME *name, int nid, const unsigned char *v, size_t n) {
        /* countryName and serialNumber must be PrintableString; the rest UTF8String (RFC 5280 4.1.2.4). */
        int type = IN_SET(nid, NID_countryName, NID_serialNumber) ? MBSTRING_ASC : MBSTRING_UTF8;

        if (!value_is_valid(nid, v, n))
                return -EINVAL;
        if (X509_NAME_add_entry_by_NID(name, nid, type, v, (int) n, -1, 0) != 1)
                return openssl_errno();
        return 0;
}

int ca_name_parse(const char *s, X509_NAME **ret) {
        _cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
        const char *p;
        int r;

        assert(ret);

        if (isempty(s) || s[0] != '/')
                return -EINVAL;
        name = X509_NAME_new();
        if (!name)
                return -ENOMEM;

        for (p = s + 1;;) {
                const char *eq, *end;
                int nid;

                end = strchrnul(p, '/');
                eq = memchr(p, '=', (size_t) (end - p));
                if (!eq)
                        return log_debug_errno(EINVAL, "Subject '%s': expected KEY=VALUE.", s);
                nid = attr_nid(p, (size_t) (eq - p));
                if (nid == NID_undef)
                        return log_debug_errno(EINVAL, "Subject '%s': unknown attribute.", s);
                r = name_add(name, nid, (const unsigned char *) eq + 1, (size_t) (end - eq - 1));
                if (r < 0)
                        return log_debug_errno(r, "Subject '%s': invalid value.", s);
                if ((unsigned) X509_NAME_entry_count(name) > CA_SUBJECT_ENTRIES_MAX)
                        return -E2BIG;
                if (!*end)
                        break;
                p = end + 1;
        }

        *ret = TAKE_PTR(name);
        return 0;
}

int ca_name_sanitize(const X509_NAME *name, X509_NAME **ret) {
        _cleanup_(X509_NAME_freep) X509_NAME *copy = NULL;
        int n, r;

        assert(ret);

        if (!name)
                return -EINVAL;
        n = X509_NAME_entry_count(name);
        if (n <= 0)
                return log_debug_errno(EINVAL, "Empty subject.");
        if ((unsigned) n > CA_SUBJECT_ENTRIES_MAX)
                return log_debug_errno(E2BIG, "Subject has %i entries, more than %u.", n,
                                       CA_SUBJECT_ENTRIES_MAX);

        copy = X509_NAME_new();
        if (!copy)
                return -ENOMEM;

        for (int i = 0; i < n; i++) {
                const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
                _cleanup_(OPENSSL_freep) unsigned char *utf8 = NULL;
                int nid, len;

                if (X509_NAME_ENTRY_set(e) != i)
                        return log_debug_errno(EINVAL, "Subject has a multi-valued RDN.");
                nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
                if (!nid_is_allowed(nid))
                        return log_debug_errno(EINVAL, "Subject attribute %s is not allowed.",
                                               OBJ_nid2sn(nid));
                len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
                if (len < 0) {
                        (void) openssl_errno();
                        return log_debug_errno(EINVAL, "Subject attribute %s is not a string.",
                                               OBJ_nid2sn(nid));
                }
                r = name_add(copy, nid, utf8, (size_t) len);
                if (r < 0)
                        return log_debug_errno(r, "Subject attribute %s has an invalid value.",
                                               OBJ_nid2sn(nid));
        }

        *ret = TAKE_PTR(copy);
        return 0;
}

int ca_name_to_string(const X509_NAME *name, char **ret) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        char *data, *s;
        long n;

        assert(name);
        assert(ret);

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
                return openssl_errno();
        n = BIO_get_mem_data(bio, &data);
        s = memdup_suffix0(n > 0 ? data : "", n > 0 ? (size_t) n : 0);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool ca_dns_name_is_valid(const char *s, bool allow_wildcard) {
        size_t n, labels = 0;
        const char *p;

        if (isempty(s))
                return false;
        n = strlen(s);
        if (n > CA_SAN_VALUE_MAX)
                return false;

        for (p = s;;) {
                size_t l = strcspn(p, ".");

                if (l == 0 || l > 63)
                        return false;
                if (l == 1 && p[0] == '*') {
                        if (!allow_wildcard || p != s)
                                return false;
                } else {
                        if (p[0] == '-' || p[l - 1] == '-')
                                return false;
                        for (size_t i = 0; i < l; i++)
                                if (!isascii(p[i]) || !(isalnum(p[i]) || p[i] == '-'))
                                        return false;
                }
                labels++;
                if (!p[l])
                        break;
                p += l + 1;
        }

        /* "*.com" would cover a whole TLD. */
        if (s[0] == '*' && labels < 3)
                return false;
        return true;
}

static bool printable_ascii(const unsigned char *v, size_t n) {
        if (n == 0 || n > CA_SAN_VALUE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (v[i] <= 0x20 || v[i] >= 0x7f)
                        return false;
        return true;
}

static bool email_is_valid(const unsigned char *v, size_t n) {
        const unsigned char *at;
        _cleanup_free_ char *domain = NULL;

        if (!printable_ascii(v, n))
                return false;
        at = memchr(v, '@', n);
        if (!at || at == v || memchr(at + 1, '@', n - (size_t) (at - v) - 1))
                return false;
        domain = memdup_suffix0(at + 1, n - (size_t) (at - v) - 1);
        return domain && ca_dns_name_is_valid(domain, false);
}

static bool uri_is_valid(const unsigned char *v, size_t n) {
        static const char *const schemes[] = { "https:", "http:", "spiffe:", "urn:" };

        if (!printable_ascii(v, n))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                size_t l = strlen(schemes[i]);
                if (n > l && strncmp((const char *) v, schemes[i], l) == 0)
                        return true;
        }
        return false;
}

static int san_to_string(int type, const unsigned char *v, size_t n, char **ret) {
        char buf[INET6_ADDRSTRLEN];
        int k;

        switch (type) {
        case GEN_DNS:
                k = asprintf(ret, "DNS:%.*s", (int) n, v);
                break;
        case GEN_EMAIL:
                k = asprintf(ret, "email:%.*s", (int) n, v);
                break;
        case GEN_URI:
                k = asprintf(ret, "URI:%.*s", (int) n, v);
                break;
        case GEN_IPADD:
                if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, v, buf, sizeof(buf)))
                        return -EINVAL;
                k = asprintf(ret, "IP:%s", buf);
                break;
        default:
                return -EINVAL;
        }
        return k < 0 ? -ENOMEM : 0;
}

int ca_san_sanitize(const GENERAL_NAMES *names, unsigned allowed, GENERAL_NAMES **ret, char ***ret_strv) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *out = NULL;
        _cleanup_strv_free_ char **strv = NULL;
        int n = names ? sk_GENERAL_NAME_num(names) : 0;
        int r;

        assert(ret);

        if ((unsigned) n > CA_SAN_MAX)
                return log_debug_errno(E2BIG, "%i subject alternative names, more than %u.", n, CA_SAN_MAX);

        out = GENERAL_NAMES_new();
        if (!out)
                return -ENOMEM;

        for (int i = 0; i < n; i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                _cleanup_free_ char *text = NULL, *dns = NULL;
                const ASN1_STRING *str = NULL;
                GENERAL_NAME *copy;
                const unsigned char *v;
                size_t len;
                unsigned kind;
                int type;

                type = g->type;
                switch (type) {
                case GEN_DNS:
                        kind = CA_SAN_DNS;
                        str = g->d.dNSName;
                        break;
                case GEN_IPADD:
                        kind = CA_SAN_IP;
                        str = g->d.iPAddress;
                        break;
                case GEN_EMAIL:
                        kind = CA_SAN_EMAIL;
                        str = g->d.rfc822Name;
                        break;
                case GEN_URI:
                        kind = CA_SAN_URI;
                        str = g->d.uniformResourceIdentifier;
                        break;
                default:
                        return log_debug_errno(EINVAL, "Subject alternative name of type %i is not allowed.",
                                               type);
                }
                if (!(allowed & kind))
                        return log_debug_errno(
                                EINVAL, "Subject alternative name of type %i not allowed by the profile.",
                                type);
                if (!str)
                        return -EINVAL;
                v = ASN1_STRING_get0_data(str);
                len = (size_t) ASN1_STRING_length(str);

                switch (type) {
                case GEN_DNS:
                        if (!printable_ascii(v, len))
                                return log_debug_errno(EINVAL, "Invalid DNS name in request.");
                        dns = memdup_suffix0(v, len);
                        if (!dns)
                                return -ENOMEM;
                        if (!ca_dns_name_is_valid(dns, true))
                                return log_debug_errno(EINVAL, "Invalid DNS name '%s' in request.", dns);
                        break;
                case GEN_IPADD:
                        if (!IN_SET(len, 4U, 16U))
                                return log_debug_errno(EINVAL, "IP address of %zu bytes in request.", len);
                        break;
                case GEN_EMAIL:
                        if (!email_is_valid(v, len))
                                return log_debug_errno(EINVAL, "Invalid email address in request.");
                        break;
                case GEN_URI:
                        if (!uri_is_valid(v, len))
                                return log_debug_errno(EINVAL, "Invalid or disallowed URI in request.");
                        break;
                }

                r = san_to_string(type, v, len, &text);
                if (r < 0)
                        return r;
                if (strv_contains(strv, text))
                        return log_debug_errno(EINVAL, "Duplicate subject alternative name '%s'.", text);
                r = strv_extend(&strv, text);
                if (r < 0)
                        return r;

                /* A fresh GENERAL_NAME holding a fresh IA5String/OCTET STRING with the checked bytes. */
                copy = GENERAL_NAME_new();
                if (!copy)
                        return -ENOMEM;
                {
                        ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
                        if (!s || ASN1_STRING_set(s, v, (int) len) != 1) {
                                ASN1_STRING_free(s);
                                GENERAL_NAME_free(copy);
                                return -ENOMEM;
                        }
                        GENERAL_NAME_set0_value(copy, type, s);
                }
                if (sk_GENERAL_NAME_push(out, copy) <= 0) {
                        GENERAL_NAME_free(copy);
                        return -ENOMEM;
                }
        }

        if (ret_strv)
                *ret_strv = TAKE_PTR(strv);
        *ret = TAKE_PTR(out);
        return 0;
}
