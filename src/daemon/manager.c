/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>

#include "basic/log.h"
#include "daemon/attestation.h"
#include "daemon/manager.h"
#include "daemon/manager-bus.h"
#include "daemon/security-attributes.h"
#include "ca/ca.h"
#include "daemon/ca-bus.h"
#include "daemon/ca-keys.h"
#include "daemon/ca-service.h"
#include "daemon/tpm-worker.h"
#include "daemon/volume.h"
#include "shared/bus-polkit.h"
#include "shared/config.h"
#include "shared/log-setup.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-srk.h"

static const char *const trust_state_table[_TRUST_STATE_MAX] = {
        [TRUST_STATE_UNKNOWN] = "unknown",
        [TRUST_STATE_TRUSTED] = "trusted",
        [TRUST_STATE_UNTRUSTED] = "untrusted",
};

const char *trust_state_to_string(TrustState s) {
        if (s < 0 || s >= _TRUST_STATE_MAX)
                return NULL;
        return trust_state_table[s];
}

TrustState trust_state_from_string(const char *s) {
        if (!s)
                return _TRUST_STATE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(trust_state_table); i++)
                if (streq(s, trust_state_table[i]))
                        return (TrustState) i;
        return _TRUST_STATE_INVALID;
}

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(ret);

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        m->trust_state = TRUST_STATE_UNKNOWN;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* The worker's last callbacks reply on the bus, and pending polkit queries reference it: both go
         * before the bus does. */
        m->tpm_worker = tpm_worker_free(m->tpm_worker);
        manager_free_volumes(m); /* joins a running volume operation */
        manager_attestation_done(m);
        m->polkit_registry = polkit_registry_free(m->polkit_registry);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->ca_service = ca_service_free(m->ca_service); /* its event sources, before the event loop */
        m->event = sd_event_unref(m->event);

        m->ca = ca_free(m->ca); /* before the store it borrows */
        manager_ca_keys_done(m);
        free(m->ca_store_tcti);
        free(m->ca_passphrase_file);
        free(m->ca_pkcs11_module);
        free(m->ca_pkcs11_token);
        free(m->ca_pkcs11_pin_file);
        strv_free(m->ca_permitted_dns);
        strv_free(m->ca_excluded_dns);
        m->ca_store = ca_keystore_free(m->ca_store);
        free(m->ca_dir);
        free(m->ca_root_subject);
        free(m->ca_intermediate_subject);
        free(m->ca_key_type);
        free(m->ca_http_address);
        free(m->ca_ocsp_url);
        free(m->ca_crl_url);
        free(m->ca_issuers_url);

        free(m->tcti);
        free(m->state_dir);
        free(m->ek_ca_dir);
        strv_free(m->trust_reasons);
        return mfree(m);
}

static int manager_load_config(Manager *m) {
        _cleanup_(config_freep) Config *config = NULL;
        uint32_t interval;
        const char *e;
        int r;

        r = config_load("trusted-platform", &config);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");

        e = secure_getenv("TRUSTED_PLATFORM_TCTI");
        if (!isempty(e)) {
                m->tcti = strdup(e);
                if (!m->tcti)
                        return log_oom();
        } else {
                r = config_get_string(config, "TPM", "Device", DEFAULT_TCTI, &m->tcti);
                if (r < 0)
                        return log_error_errno(r, "Failed to read [TPM] Device=: %m");
        }

        r = config_get_string(config, "Endorsement", "CertificateDirectory", EK_CA_DIR_DEFAULT, &m->ek_ca_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Endorsement] CertificateDirectory=: %m");

        /* [Log] from the file; the environment still wins, so that tests and "systemctl edit" overrides
         * work. A bad value is reported and the rest of the configuration still applies. */
        if (log_setup_from_config(config) < 0)
                log_warning("Ignoring invalid [Log] settings in the configuration.");

        e = secure_getenv("TRUSTED_PLATFORM_STATE_DIR");
        m->state_dir = strdup(!isempty(e) ? e : PKGSTATEDIR);
        if (!m->state_dir)
                return log_oom();

        if (asprintf(&m->ca_dir, "%s/ca", m->state_dir) < 0)
                return log_oom();

        r = config_get_string(config, "Attestation", "Policy", ATTESTATION_POLICY_DEFAULT, &m->policy_path);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] Policy=: %m");
        r = config_get_uint32(config, "Attestation", "Interval", ATTESTATION_INTERVAL_DEFAULT_SEC, &interval);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] Interval=: %m");
        m->attest_interval_usec = (uint64_t) interval * UINT64_C(1000000);
        r = config_get_uint32(config, "Attestation", "ImaWatchInterval", ATTESTATION_IMA_WATCH_DEFAULT_SEC,
                              &interval);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] ImaWatchInterval=: %m");
        m->ima_watch_usec = (uint64_t) interval * UINT64_C(1000000);
        r = manager_remote_verdict_load_config(m, config);
        if (r < 0)
                return r;
        r = manager_load_trust_gate_config(m, config);
        if (r < 0)
                return r;

        r = manager_load_ca_service_config(m, config);
        if (r < 0)
                return r;
        r = manager_load_volumes(m, config);
        if (r < 0)
                return r;
        return manager_load_ca_config(m, config);
}

static void on_tpm_presence_changed(bool present, void *userdata) {
        Manager *m = userdata;

        if (present)
                log_info("TPM '%s' is available again.", m->tcti);
        else
                log_warning("Lost the connection to TPM '%s'; reopening it on the next call.", m->tcti);

        manager_emit_tpm_present_changed(m);
}

/* Runs before the worker exists and before we are on the bus, so it may block: nobody waits for us yet. */
static int manager_probe_tpm(Manager *m, Tpm2Context **ret) {
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        int r;

        r = tpm2_context_new(m->tcti, &tpm);
        if (r == -ENODEV) {
                log_notice("No TPM found at '%s'; TPM methods will fail until one appears.", m->tcti);
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to open TPM '%s': %m", m->tcti);

        /* Adopt and pin an existing SRK now (trust on first use at the first start), so that a later swap of
         * the key is noticed. Creating one is left to Provision(), which is authorized. */
        r = tpm2_srk_provision(tpm, m->state_dir, /* provision= */ false, NULL, NULL);
        if (r == -ENOKEY)
                log_info("The TPM has no storage root key yet; run 'tpctl tpm provision'.");
        else if (r == -EKEYREJECTED)
                log_error("The storage root key in the TPM differs from the one pinned in %s/srk.pub. "
                          "Refusing to use it.", m->state_dir);
        else if (r < 0)
                log_warning_errno(r, "Failed to check the storage root key, continuing: %m");
        else
                m->srk_provisioned = true;

        *ret = TAKE_PTR(tpm);
        return 0;
}

int manager_startup(Manager *m) {
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        int r;

        assert(m);

        r = manager_load_config(m);
        if (r < 0)
                return r;

        m->secure_boot = security_read_secure_boot() > 0;

        r = manager_probe_tpm(m, &tpm);
        if (r < 0)
                return r;

        log_info("Using TPM '%s'%s.", m->tcti,
                 !tpm ? " (not present)" : m->srk_provisioned ? ", storage root key pinned" : "");

        /* An existing CA is opened now, so that its OCSP responder, CRL timer and signer run from the
         * start; before the worker exists, so that the key store's passphrase can be unsealed with our
         * own TPM connection. A CA that cannot be opened is reported again on every CA call. */
        r = manager_open_ca_at_start(m, tpm);
        if (r < 0 && r != -ENOMEDIUM)
                log_warning_errno(r, "Failed to open the certificate authority, continuing without it: %m");

        r = tpm_worker_new(m->event, m->tcti, tpm, on_tpm_presence_changed, m, &m->tpm_worker);
        if (r < 0)
                return log_error_errno(r, "Failed to start the TPM worker: %m");
        TAKE_PTR(tpm);
        manager_ca_random_refill(m);

        return 0;
}

bool manager_tpm_present(Manager *m) {
        return tpm_worker_tpm_present(m->tpm_worker);
}
