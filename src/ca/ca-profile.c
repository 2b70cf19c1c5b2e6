/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <openssl/obj_mac.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-cert.h"
#include "ca/ca-name.h"
#include "ca/ca-profile.h"
#include "shared/openssl-util.h"

static const int eku_server[] = { NID_server_auth };
static const int eku_client[] = { NID_client_auth };
static const int eku_code[] = { NID_code_sign };
static const int eku_email[] = { NID_email_protect };
static const int eku_ocsp[] = { NID_OCSP_sign };

/* TCG OIDs (TCG EK Credential Profile 2.x, "TPM Keys for Platform Identity"). */
#define TCG_KP_EK_CERTIFICATE "2.23.133.8.1"
#define TCG_KP_AIK_CERTIFICATE "2.23.133.8.3"
#define TCG_AT_TPM_MANUFACTURER "2.23.133.2.1"
#define TCG_AT_TPM_MODEL "2.23.133.2.2"
#define TCG_AT_TPM_VERSION "2.23.133.2.3"

/* Leaf lifetimes follow the CA/Browser Forum ceiling (398 days) so that certificates from this CA
 * behave like public ones; a sub-CA lives at most as long as its issuer (clamped at issuance). */
static const CaProfile profiles[_CA_PROFILE_MAX] = {
        [CA_PROFILE_TLS_SERVER] = {
                .id = CA_PROFILE_TLS_SERVER,
                .daemon_key = true,
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
                .daemon_key = true,
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
                .daemon_key = true,
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
                .daemon_key = true,
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
        /* An attestation key: signs quotes, nothing else. The TPM it lives in is named by the SAN (from
         * the verifier's enrollment, never from the request's own extensions); a subject is optional.
         * Not for ca_issue_generate(): a key made by the CA's store is no restricted TPM key. */
        [CA_PROFILE_AK] = {
                .id = CA_PROFILE_AK,
                .name = "ak",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .eku_oid = TCG_KP_AIK_CERTIFICATE,
                .tpm_san = true,
                .subject_optional = true,
                .default_days = 365,
                .max_days = 10 * 365,
        },
        /* An endorsement key for a TPM that came without a certificate: a decryption key (RSA key
         * transport or ECDH), never a signer. */
        [CA_PROFILE_EK] = {
                .id = CA_PROFILE_EK,
                .name = "ek",
                .key_encipherment_for_rsa = true,
                .key_agreement_for_ec = true,
                .eku_oid = TCG_KP_EK_CERTIFICATE,
                .tpm_san = true,
                .subject_optional = true,
                .default_days = 10 * 365,
                .max_days = 30 * 365,
        },
        /* A device identity for mTLS to the verifier and other services: the device is named by a URI
         * (urn:uuid:<machine id>, spiffe://...) or its DNS name. */
        [CA_PROFILE_DEVICE] = {
                .id = CA_PROFILE_DEVICE,
                .name = "device",
                .key_usage = CA_KU_DIGITAL_SIGNATURE,
                .eku_nids = eku_client,
                .n_eku = ELEMENTSOF(eku_client),
                .allowed_sans = CA_SAN_DNS | CA_SAN_URI,
                .san_required = true,
                .daemon_key = true,
                .default_days = 365,
                .max_days = 825,
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

static bool is_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* "id:" and an even number of hex digits, min..max of them. */
static bool tcg_id_is_valid(const char *s, size_t min, size_t max) {
        const char *h = startswith(s, "id:");
        size_t n;

        if (!h)
                return false;
        n = strlen(h);
        return n >= min && n <= max && n % 2 == 0 && is_hex(h, n);
}

int ca_tpm_info_check(const CaTpmInfo *info) {
        size_t n;

        if (!info || !info->manufacturer || !info->model || !info->version)
                return log_debug_errno(EINVAL, "TPM manufacturer, model and version are all needed.");
        /* The TCG vendor ID is 4 bytes (TPM_PT_MANUFACTURER). */
        if (!tcg_id_is_valid(info->manufacturer, 8, 8))
                return log_debug_errno(EINVAL, "TPM manufacturer is not \"id:\" and 8 hex digits.");
        if (!tcg_id_is_valid(info->version, 2, 16))
                return log_debug_errno(EINVAL, "TPM version is not \"id:\" and 2 to 16 hex digits.");
        n = strlen(info->model);
        if (n == 0 || n > CA_TPM_MODEL_MAX)
                return log_debug_errno(EINVAL, "TPM model is empty or longer than %u bytes.",
                                       CA_TPM_MODEL_MAX);
        for (const char *p = info->model; *p; p++)
                if (*p < 0x20 || *p > 0x7e)
                        return log_debug_errno(EINVAL,
                                               "TPM model has a character that is not printable ASCII.");
        return 0;
}

static int name_add(X509_NAME *name, const char *oid, const char *value, bool upper) {
        _cleanup_free_ char *v = strdup(value);
        ASN1_OBJECT *o;
        int ok;

        if (!v)
                return -ENOMEM;
        if (upper)
                for (char *p = v + 3; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
        o = OBJ_txt2obj(oid, 1);
        if (!o)
                return openssl_errno();
        /* set = -1: an RDN of its own per attribute, as TCG's TPMManufacturerInfo (and swtpm) encode it. */
        ok = X509_NAME_add_entry_by_OBJ(name, o, V_ASN1_UTF8STRING, (const unsigned char *) v, -1, -1, 0);
        ASN1_OBJECT_free(o);
        return ok == 1 ? 0 : openssl_errno();
}

int ca_tpm_info_to_general_name(const CaTpmInfo *info, GENERAL_NAME **ret) {
        GENERAL_NAME *gn;
        X509_NAME *name;
        int r;

        assert(ret);

        r = ca_tpm_info_check(info);
        if (r < 0)
                return r;

        name = X509_NAME_new();
        if (!name)
                return -ENOMEM;
        r = name_add(name, TCG_AT_TPM_MANUFACTURER, info->manufacturer, true);
        if (r >= 0)
                r = name_add(name, TCG_AT_TPM_MODEL, info->model, false);
        if (r >= 0)
                r = name_add(name, TCG_AT_TPM_VERSION, info->version, true);
        if (r < 0) {
                X509_NAME_free(name);
                return r;
        }
        gn = GENERAL_NAME_new();
        if (!gn) {
                X509_NAME_free(name);
                return -ENOMEM;
        }
        GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name);
        *ret = gn;
        return 0;
}
