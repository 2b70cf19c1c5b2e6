/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Issuance profiles: a profile, never the request, decides a certificate's extensions. */

#include <openssl/x509v3.h>

#include "basic/macro.h"

typedef enum CaProfileId {
        CA_PROFILE_TLS_SERVER,
        CA_PROFILE_TLS_CLIENT,
        CA_PROFILE_SUB_CA,
        CA_PROFILE_CODE_SIGNING,
        CA_PROFILE_EMAIL,
        CA_PROFILE_OCSP_SIGNING,
        CA_PROFILE_AK,
        CA_PROFILE_EK,
        CA_PROFILE_DEVICE,
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
        bool key_agreement_for_ec;     /* an ECC EK: ECDH (TCG EK Credential Profile) */
        const int *eku_nids;
        size_t n_eku;
        const char *eku_oid;   /* one more EKU by dotted OID (the TCG ones have no NID in OpenSSL 3.0) */
        unsigned allowed_sans; /* CaSanKind mask; 0 = no SAN extension at all */
        bool san_required;
        bool cn_in_sans; /* a subject CN must repeat one of the DNS/IP SANs (CA/B Forum BR 7.1.4.3) */
        bool ocsp_nocheck; /* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): a delegated responder's own status */
        bool tpm_san;      /* the TPM's manufacturer/model/version (CaTpmInfo) as a directoryName SAN */
        bool subject_optional; /* an empty subject is fine (then the SAN is critical, RFC 5280 4.2.1.6) */
        bool daemon_key;       /* ca_issue_generate() may make its key (a leaf key the CA's store keeps) */
        unsigned default_days;
        unsigned max_days;
} CaProfile;

/* The TPM a certificate is about (TCG EK Credential Profile 3.2.9, also used for AK certificates):
 * put into the subjectAltName as a directoryName of three RDNs, tcg-at-tpmManufacturer (2.23.133.2.1),
 * tcg-at-tpmModel (2.23.133.2.2) and tcg-at-tpmVersion (2.23.133.2.3), as UTF8Strings. */
#define CA_TPM_MODEL_MAX 64U

typedef struct CaTpmInfo {
        const char *manufacturer; /* "id:" + 8 hex digits, the TCG vendor ID ("id:49424D00") */
        const char *model;        /* 1..CA_TPM_MODEL_MAX printable ASCII characters */
        const char *version;      /* "id:" + 2..16 hex digits (even count), the firmware version */
} CaTpmInfo;

/* Checks info strictly (each field present and well-formed); -EINVAL otherwise. */
int ca_tpm_info_check(const CaTpmInfo *info);

/* The directoryName GENERAL_NAME for info (checked first: -EINVAL). Hex digits are written upper
 * case. */
int ca_tpm_info_to_general_name(const CaTpmInfo *info, GENERAL_NAME **ret);

const CaProfile *ca_profile_get(CaProfileId id) _const_;
/* "tls-server", "tls-client", "sub-ca", "code-signing", "email", "ocsp-signing", "ak", "ek", "device". */
const char *ca_profile_to_string(CaProfileId id) _const_;
CaProfileId ca_profile_from_string(const char *s) _pure_;
