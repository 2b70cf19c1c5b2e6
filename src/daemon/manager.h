/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's model: all state of trusted-platformd lives in one Manager owned by run(). The D-Bus glue
 * (manager-bus.c, tpm-bus.c) reads arguments, validates, asks polkit and calls into this file. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

/* Where distributions ship the TPM manufacturers' EK root and intermediate certificates. */
#define EK_CA_DIR_DEFAULT VENDORCONFDIR "/ek-ca"

typedef struct Ca Ca;
typedef struct CaKeyStore CaKeyStore;
typedef struct CaService CaService;
typedef struct CaRandomPool CaRandomPool;
typedef struct CaWaiter CaWaiter;
typedef struct PolkitRegistry PolkitRegistry;
typedef struct RemoteVerdictSlot RemoteVerdictSlot;
typedef struct TpmWorker TpmWorker;
typedef struct Volume Volume;
typedef struct VolumeOp VolumeOp;
typedef struct Job Job;

typedef enum TrustState {
        TRUST_STATE_UNKNOWN,
        TRUST_STATE_TRUSTED,
        TRUST_STATE_UNTRUSTED,
        _TRUST_STATE_MAX,
        _TRUST_STATE_INVALID = -EINVAL,
} TrustState;

const char *trust_state_to_string(TrustState s) _const_;
TrustState trust_state_from_string(const char *s) _pure_;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        PolkitRegistry *polkit_registry;

        char *tcti;          /* from $TRUSTED_PLATFORM_TCTI, [TPM] Device=, or the default */
        char *state_dir;     /* from $TRUSTED_PLATFORM_STATE_DIR or PKGSTATEDIR */
        char *ek_ca_dir;     /* [Endorsement] CertificateDirectory=: EK manufacturer roots, intermediates */

        TpmWorker *tpm_worker; /* owns the TPM connection; every TPM command runs there */
        bool srk_provisioned;

        /* The certificate authority (ca-bus.c): opened by CA.Init() or on first use once it exists. */
        char *ca_dir;                  /* <state_dir>/ca */
        char *ca_root_subject;         /* [CA] RootSubject= */
        char *ca_intermediate_subject; /* [CA] IntermediateSubject= */
        char *ca_key_type;             /* [CA] KeyType= */
        int ca_key_store;              /* [CA] KeyStore= (CaKeyStoreKind, ca-keys.h) */
        char *ca_store_tcti;           /* the tpm2 provider's TCTI ([CA] TCTI= or shared); NULL: none */
        char *ca_passphrase_file;      /* [CA] PassphraseFile= */
        char *ca_pkcs11_module;        /* [CA] PKCS11Module= (NULL: the p11-kit proxy) */
        char *ca_pkcs11_token;         /* [CA] PKCS11Token= */
        char *ca_pkcs11_pin_file;      /* [CA] PKCS11PINFile= */
        unsigned ca_root_validity_days; /* [CA] RootValidityDays=, IntermediateValidityDays= */
        unsigned ca_intermediate_validity_days;
        int ca_pathlen;                             /* [CA] PathLength=: the intermediate's */
        char **ca_permitted_dns, **ca_excluded_dns; /* [CA] PermittedDNS=, ExcludedDNS= */
        CaRandomPool *ca_random;                    /* TPM random bytes for serials */
        bool ca_opening;                            /* the passphrase is being (un)sealed on the worker */
        CaWaiter *ca_waiters;                       /* calls waiting for that, or with its result */
        size_t n_ca_waiters;
        char *ca_http_address;         /* [CA] HTTPListen= (ca-service.c); NULL: no HTTP endpoints */
        uint16_t ca_http_port;
        char *ca_ocsp_url; /* [CA] OCSPURL=, CRLURL=, CAIssuersURL=: put into issued certs */
        char *ca_crl_url;
        char *ca_issuers_url;
        unsigned ca_crl_hours; /* [CA] CRLHours=: validity of the CRLs we sign */
        CaKeyStore *ca_store;
        Ca *ca;
        CaService *ca_service; /* OCSP/CRL over HTTP, OCSP signer, CRL timer; needs ca */

        TrustState trust_state;
        char **trust_reasons;
        uint64_t last_attestation_usec; /* CLOCK_REALTIME µs of the last completed attestation, 0: none */
        bool secure_boot;
        bool gate_operations; /* [Attestation] GateOperations= (security-attributes.c) */

        /* Local attestation (attestation.c) */
        char *policy_path;             /* [Attestation] Policy= */
        uint64_t attest_interval_usec; /* [Attestation] Interval=, 0: no timer */
        sd_event_source *attest_timer;
        bool attest_running;
        const char *attest_trigger;      /* why the running (or last) one started: "start", "timer", ... */
        sd_bus_message **attest_waiters; /* Attest() calls waiting for the running attestation */
        size_t n_attest_waiters;
        sd_bus_message **attest_next_waiters; /* Attest() calls made while one ran: they get the next one */
        size_t n_attest_next_waiters;

        /* Re-attestation when the IMA log grows (attestation.c) */
        uint64_t ima_watch_usec; /* [Attestation] ImaWatchInterval=, 0: off */
        sd_event_source *ima_watch_timer;
        bool ima_watch_wanted;   /* the last attestation's policy reads the IMA log or quotes PCR 10 */
        bool ima_watch_deferred; /* the poll came while an attestation ran: poll again when it ends */
        /* The IMA log's size (ima_log_measure()) when the last attestation started, if it could be read */
        bool ima_measured;
        uint64_t ima_measure;
        bool ima_measure_entries;  /* ima_measure counts entries, not bytes */
        uint64_t ima_attest_usec;  /* CLOCK_MONOTONIC end of the last attestation the growth started */
        RemoteVerdictSlot *remote; /* the remote verdict and the local result it is folded with */

        /* LUKS2 volumes (volume.c, volume-bus.c) */
        Volume *volumes;
        size_t n_volumes;
        VolumeOp *volume_op; /* the one operation running on its thread, NULL: none */

        /* Job objects of long operations (job.c) */
        Job *jobs; /* a list through Job.next */
        uint64_t last_job_id;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads the configuration and environment, probes the Secure Boot state and the TPM (absence is not an
 * error), checks the SRK against its pin, and starts the TPM worker. */
int manager_startup(Manager *m);

bool manager_tpm_present(Manager *m);
