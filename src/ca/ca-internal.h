/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Ca object, shared by ca.c, ca-issue.c and ca-crl.c only. */

#include "ca/ca.h"

/* Certificates start this much in the past, so a relying party whose clock is a little behind
 * does not see them as not yet valid. */
#define CA_BACKDATE_SEC (5 * 60)

struct Ca {
        char *dir;
        int lock_fd;
        X509 *root;
        X509 *intermediate;
        EVP_PKEY *signing_key; /* the intermediate's */
        char *crl_url;
        char *ca_issuers_url;
        char *ocsp_url;
        CaRandomFunc random;
        void *random_userdata;
        time_t (*now)(void);
        X509 *ocsp_signer; /* delegated OCSP signing (ca_ocsp_set_signer()), NULL: the intermediate signs */
        EVP_PKEY *ocsp_signer_key;
};

time_t ca_now(Ca *ca);
int ca_random_serial(Ca *ca, uint8_t ret[static CA_SERIAL_SIZE]);
int ca_asn1_time_to_time_t(const ASN1_TIME *t, time_t *ret);
