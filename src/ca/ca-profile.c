/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/obj_mac.h>

#include "ca/ca-cert.h"
#include "ca/ca-name.h"
#include "ca/ca-profile.h"

static const int eku_server[] = { NID_server_auth };
static const int eku_client[] = { NID_client_auth };
static const int eku_code[] = { NID_code_sign };
static const int eku_email[] = { NID_email_protect };
static const int eku_ocsp[] = { NID_OCSP_sign };

/* Leaf lifetimes follow the CA/Browser Forum ceiling (398 days) so that certificates from this CA
 * behave like public ones; a sub-CA lives at most as long as its issuer (clamped at issuance). */
static const CaProfile profiles[_CA_PROFILE_MAX] = {
        [CA_PROFILE_TLS_SERVER] = {
                .id = CA_PROFILE_TLS_SERVER,
                .name = "tls-server",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .key_encipherment_for_rsa = true,
                .eku_nids = eku_server,
                .n_eku = ELEMENTSOF(eku_server),
                .allowed_sans = CA_SAN_DNS | CA_SAN_IP,
                .san_required = true,
                .cn_in_sans = true,
                .default_days = 90,
                .max_days = 398,
        },
        [CA_PROFILE_TLS_CLIENT] = {
                .id = CA_PROFILE_TLS_CLIENT,
                .name = "tls-client",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .eku_nids = eku_client,
                .n_eku = ELEMENTSOF(eku_client),
                .allowed_sans = CA_SAN_DNS | CA_SAN_EMAIL | CA_SAN_URI,
                .default_days = 90,
                .max_days = 398,
        },
        [CA_PROFILE_SUB_CA] = {
                .id = CA_PROFILE_SUB_CA,
                .name = "sub-ca",
                .ca = true,
                .pathlen = 0,
                .key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN,
                .default_days = 365 * 3,
                .max_days = 365 * 10,
        },
        [CA_PROFILE_CODE_SIGNING] = {
                .id = CA_PROFILE_CODE_SIGNING,
                .name = "code-signing",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .eku_nids = eku_code,
                .n_eku = ELEMENTSOF(eku_code),
                .allowed_sans = CA_SAN_EMAIL | CA_SAN_URI,
                .default_days = 365,
                .max_days = 3 * 365,
        },
        [CA_PROFILE_EMAIL] = {
                .id = CA_PROFILE_EMAIL,
                .name = "email",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .key_encipherment_for_rsa = true, /* S/MIME with RSA encrypts to the key */
                .eku_nids = eku_email,
                .n_eku = ELEMENTSOF(eku_email),
                .allowed_sans = CA_SAN_EMAIL,
                .san_required = true,
                .default_days = 365,
                .max_days = 825,
        },
        /* Short-lived and not itself checked by OCSP (a responder cannot vouch for its own key): the
         * usual practice for delegated responders. */
        [CA_PROFILE_OCSP_SIGNING] = {
                .id = CA_PROFILE_OCSP_SIGNING,
                .name = "ocsp-signing",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .eku_nids = eku_ocsp,
                .n_eku = ELEMENTSOF(eku_ocsp),
                .ocsp_nocheck = true,
                .default_days = 30,
                .max_days = 90,
        },
};

const CaProfile *ca_profile_get(CaProfileId id) {
        return id >= 0 && id < _CA_PROFILE_MAX ? &profiles[id] : NULL;
}

const char *ca_profile_to_string(CaProfileId id) {
        const CaProfile *p = ca_profile_get(id);
        return p ? p->name : NULL;
}

CaProfileId ca_profile_from_string(const char *s) {
        for (CaProfileId i = 0; s && i < _CA_PROFILE_MAX; i++)
                if (streq(profiles[i].name, s))
                        return i;
        return _CA_PROFILE_INVALID;
}
