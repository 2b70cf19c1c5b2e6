/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Subjects and subject alternative names: parsed from configuration, checked when they come from a
 * CSR, and always rebuilt from the checked values (a request's encoding is never copied). */

#include <openssl/x509v3.h>

#include "basic/macro.h"

/* Limits on what a request may ask for. */
#define CA_SUBJECT_ENTRIES_MAX 16U
#define CA_SUBJECT_VALUE_MAX 64U /* ub-common-name and friends, RFC 5280 appendix A */
#define CA_SAN_MAX 100U
#define CA_SAN_VALUE_MAX 253U /* a DNS name's maximum text length */

/* SAN kinds, as a bit mask for profiles. */
typedef enum CaSanKind {
        CA_SAN_DNS = 1U << 0,
        CA_SAN_IP = 1U << 1,
        CA_SAN_EMAIL = 1U << 2,
        CA_SAN_URI = 1U << 3,
} CaSanKind;

/* Parses "/CN=name/O=org/C=DE" (attributes CN, O, OU, C, L, ST, DC, serialNumber; values without
 * '/' or control characters, C exactly two letters) into a new X509_NAME. -EINVAL on anything else,
 * an empty subject included. */
int ca_name_parse(const char *s, X509_NAME **ret);

/* Checks a subject from a request and returns a fresh copy built from its checked attributes:
 * known attribute types only, single-valued RDNs, printable values within the limits, at least one
 * entry, at most CA_SUBJECT_ENTRIES_MAX. -EINVAL or -E2BIG otherwise. */
int ca_name_sanitize(const X509_NAME *name, X509_NAME **ret);

/* One line, RFC 2253 order and escaping, for the index and logs. */
int ca_name_to_string(const X509_NAME *name, char **ret);

/* Checks a request's SANs against allowed (a CaSanKind mask) and returns fresh GENERAL_NAMES built
 * from the checked values (NULL names gives an empty list). DNS names: LDH labels, at most 63
 * bytes each, a wildcard only as the whole leftmost label of a name with at least three labels;
 * IP: 4 or 16 bytes; email: local@domain, printable; URI: scheme "https"/"http"/"spiffe"/"urn",
 * printable, no spaces. Duplicates, other kinds, too many entries: -EINVAL / -E2BIG.
 * ret_strv (may be NULL) gets the names as "DNS:...", "IP:...", "email:...", "URI:...". */
int ca_san_sanitize(const GENERAL_NAMES *names, unsigned allowed, GENERAL_NAMES **ret, char ***ret_strv);

bool ca_dns_name_is_valid(const char *s, bool allow_wildcard) _pure_;

DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);
