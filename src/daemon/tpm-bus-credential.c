/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for ActivateCredential on org.trustedplatform.TrustedPlatform1.TPM: the device side of the
 * credential challenge (TPM 2.0 Part 1 §24). A verifier wraps a secret for this TPM's EK, bound to the name
 * of one of our attestation keys (tpctl tpm make-credential, tpm2_makecredential, or any TPM2_MakeCredential),
 * and only this TPM holding that AK recovers it. The secret is meant for the enrolling agent, so the method
 * needs org.trustedplatform.tpm.manage-keys (auth_admin), and it runs in a session salted to the pinned SRK
 * with parameter encryption both ways. Arguments and results travel in a CredentialCall in the TpmCall's
 * payload slot. */

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "daemon/tpm-call.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-credential-file.h"
#include "tpm2/tpm2-credential.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define ACTION_MANAGE_KEYS "org.trustedplatform.tpm.manage-keys"

typedef struct CredentialCall {
        /* Arguments */
        char *name;
        char *state_dir;
        uint16_t ek_alg;
        TPM2B_ID_OBJECT blob;
        TPM2B_ENCRYPTED_SECRET seed;

        /* Results */
        void *secret; /* wiped on free */
        size_t secret_size;
        bool rejected;        /* the TPM refused the blob (not an SRK mismatch, which has the same errno) */
        bool activate_failed; /* TPM2_ActivateCredential itself failed (not loading the keys) */
} CredentialCall;

static void credential_call_free(void *p) {
        CredentialCall *k = p;

        if (!k)
                return;
        free(k->name);
        free(k->state_dir);
        erase_and_free(k->secret);
        free(k);
}

static CredentialCall *cred(TpmCall *c) {
        return c->payload;
}

static int activate_run(Tpm2Context *tpm, TpmCall *c) {
        ESYS_TR srk = ESYS_TR_NONE, ek = ESYS_TR_NONE, ak = ESYS_TR_NONE;
        CredentialCall *k = cred(c);
        int r;

        r = tpm2_srk_provision(tpm, k->state_dir, /* provision= */ false, &srk, NULL);
        if (r < 0)
                return r;

        r = tpm2_ak_load(tpm, k->state_dir, k->name, &ak, NULL, NULL);
        if (r < 0)
                goto finish;

        r = tpm2_ek_create(tpm, k->ek_alg, &ek, NULL);
        if (r < 0)
                goto finish;

        r = tpm2_activate_credential(tpm, ak, ek, srk, &k->blob, &k->seed, &k->secret, &k->secret_size);
        if (r == -EKEYREJECTED)
                k->rejected = true;
        else if (r < 0)
                k->activate_failed = true;
        if (r >= 0)
                log_info("Credential activated with attestation key '%s'.", k->name);

finish:
        tpm2_flush(tpm, &ak);
        tpm2_flush(tpm, &ek);
        tpm2_flush(tpm, &srk);
        return r;
}

static int activate_append(TpmCall *c, sd_bus_message *reply) {
        CredentialCall *k = cred(c);

        return sd_bus_message_append_array(reply, 'y', k->secret, k->secret_size);
}

static int activate_error(TpmCall *c, int r, sd_bus_error *error) {
        CredentialCall *k = cred(c);

        if (r == -EKEYREJECTED && k->rejected) {
                sd_bus_error_setf(error, BUS_ERROR_CREDENTIAL_REJECTED,
                                  "The TPM rejected the credential: it was made for another TPM's %s "
                                  "endorsement key or for another attestation key than '%s', or it was "
                                  "altered.",
                                  k->ek_alg == TPM2_ALG_RSA ? "RSA" : "ECC", k->name);
                return 1;
        }

        /* libtpms before 0.10 answers an RSA seed that does not decrypt with TPM_RC_FAILURE (libtpms PR #444):
         * the name stays TPMFailure, since a real failure looks the same, but the message says the likely
         * cause. */
        if (r == -EIO && k->activate_failed && k->ek_alg == TPM2_ALG_RSA) {
                sd_bus_error_set(error, BUS_ERROR_TPM_FAILURE,
                                 "The TPM failed to decrypt the credential's seed: most likely the credential "
                                 "was made for another TPM's RSA endorsement key.");
                return 1;
        }

        switch (r) {
        case -ENOENT:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND,
                                  "The attestation key '%s' does not exist in '%s'.", k->name, k->state_dir);
                return 1;
        case -EBADMSG:
                sd_bus_error_setf(error, BUS_ERROR_TPM_FAILURE,
                                  "The attestation key '%s' is damaged or was made by another TPM.", k->name);
                return 1;
        default:
                return 0;
        }
}

static int read_credential_options(sd_bus_message *message, uint16_t *ek_alg, sd_bus_error *error) {
        bool seen = false;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key, *s;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                if (!streq(key, "EndorsementKey"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                if (seen)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice.", key);
                seen = true;

                r = tpm_bus_enter_option_variant(message, key, "s", error);
                if (r < 0)
                        return r;
                r = sd_bus_message_read(message, "s", &s);
                if (r < 0)
                        return r;
                if (streq(s, "rsa"))
                        *ek_alg = TPM2_ALG_RSA;
                else if (streq(s, "ecc"))
                        *ek_alg = TPM2_ALG_ECC;
                else
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown endorsement key algorithm '%s'; expected rsa or ecc.", s);
                r = sd_bus_message_exit_container(message); /* the variant */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message); /* the dict entry */
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

static int method_activate_credential(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(tpm_call_freep) TpmCall *c = NULL;
        TPM2B_ENCRYPTED_SECRET seed;
        uint16_t ek_alg = TPM2_ALG_RSA;
        TPM2B_ID_OBJECT blob;
        Manager *m = userdata;
        const char *name;
        const void *data;
        CredentialCall *k;
        size_t size;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!tpm2_ak_name_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid attestation key name '%s': 1 to 64 characters of A-Z, a-z, "
                                         "0-9, '_' and '-'.",
                                         name);

        r = sd_bus_message_read_array(message, 'y', &data, &size);
        if (r < 0)
                return r;
        if (size > TPM2_CREDENTIAL_FILE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The credential is %zu bytes; a credential file has at most %zu.",
                                         size, (size_t) TPM2_CREDENTIAL_FILE_MAX);
        r = tpm2_credential_file_parse(data, size, &blob, &seed);
        if (r == -EPROTONOSUPPORT)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The credential file has a version other than 1.");
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The credential is not a credential file (magic 0xBADCC0DE, version 1, "
                                        "credential blob, encrypted seed, nothing after it).");

        r = read_credential_options(message, &ek_alg, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, ACTION_MANAGE_KEYS, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = tpm_call_new(m, message, "activate the credential", &c);
        if (r < 0)
                return r;
        k = calloc(1, sizeof(CredentialCall));
        if (!k)
                return -ENOMEM;
        c->payload = k;
        c->payload_free = credential_call_free;

        k->name = strdup(name);
        k->state_dir = strdup(m->state_dir);
        if (!k->name || !k->state_dir)
                return -ENOMEM;
        k->ek_alg = ek_alg;
        k->blob = blob;
        k->seed = seed;

        c->run = activate_run;
        c->append = activate_append;
        c->error = activate_error;
        return tpm_call_submit(TAKE_PTR(c));
}

const sd_bus_vtable tpm_credential_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ActivateCredential",
                                SD_BUS_ARGS("s", attestation_key, "ay", credential, "a{sv}", options),
                                SD_BUS_RESULT("ay", secret), method_activate_credential,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END,
};
