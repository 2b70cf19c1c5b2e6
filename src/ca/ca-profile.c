/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/obj_mac.h>

#include "ca/ca-cert.h"
#include "ca/ca-name.h"
#include "ca/ca-profile.h"

static const int eku_server[] = { NID_server_auth };
static const int eku_client[] = { NID_client_auth };

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
