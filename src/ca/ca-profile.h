/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Issuance profiles: a profile, never the request, decides a certificate's extensions. */

#include "basic/macro.h"

typedef enum CaProfileId {
        CA_PROFILE_TLS_SERVER,
        CA_PROFILE_TLS_CLIENT,
        CA_PROFILE_SUB_CA,
        CA_PROFILE_CODE_SIGNING,
        CA_PROFILE_EMAIL,
        CA_PROFILE_OCSP_SIGNING,
        _CA_PROFILE_MAX,
        _CA_PROFILE_INVALID = -EINVAL,
} CaProfileId;

typedef struct CaProfile {
        CaProfileId id;
        const char *name;
        bool ca;                       /* basicConstraints cA */
        int pathlen;                   /* for ca: pathLenConstraint */
        unsigned key_usage;            /* CA_KU_* */
        bool key_encipherment_for_rsa; /* TLS 1.2 RSA key exchange */
        const int *eku_nids;
        size_t n_eku;
        unsigned allowed_sans; /* CaSanKind mask; 0 = no SAN extension at all */
        bool san_required;
        bool cn_in_sans; /* a subject CN must repeat one of the DNS/IP SANs (CA/B Forum BR 7.1.4.3) */
        bool ocsp_nocheck; /* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): a delegated responder's own status */
        unsigned default_days;
        unsigned max_days;
} CaProfile;

const CaProfile *ca_profile_get(CaProfileId id) _const_;
/* "tls-server", "tls-client", "sub-ca", "code-signing", "email", "ocsp-signing". */
const char *ca_profile_to_string(CaProfileId id) _const_;
CaProfileId ca_profile_from_string(const char *s) _pure_;
