/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attest/attest-policy.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "daemon/security-attributes.h"
#include "daemon/tpm-call.h"
#include "daemon/tpm-worker.h"
#include "daemon/volume.h"
#include "luks/luks-token.h"
#include "luks/luks-volume.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-info.h"

#define ID_PREFIX "org.trustedplatform."

static const char *const security_result_table[_SECURITY_RESULT_MAX] = {
        [SECURITY_RESULT_PASS] = "pass",
        [SECURITY_RESULT_FAIL] = "fail",
        [SECURITY_RESULT_UNKNOWN] = "unknown",
        [SECURITY_RESULT_NOT_APPLICABLE] = "not-applicable",
};

static const char *const security_severity_table[_SECURITY_SEVERITY_MAX] = {
        [SECURITY_SEVERITY_CRITICAL] = "critical",
        [SECURITY_SEVERITY_HIGH] = "high",
        [SECURITY_SEVERITY_MEDIUM] = "medium",
        [SECURITY_SEVERITY_LOW] = "low",
};

static int table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(s, table[i]))
                        return (int) i;
        return -EINVAL;
}

const char *security_result_to_string(SecurityResult r) {
        if (r < 0 || r >= _SECURITY_RESULT_MAX)
                return NULL;
        return security_result_table[r];
}

SecurityResult security_result_from_string(const char *s) {
        return table_lookup(security_result_table, ELEMENTSOF(security_result_table), s);
}

const char *security_severity_to_string(SecuritySeverity s) {
        if (s < 0 || s >= _SECURITY_SEVERITY_MAX)
                return NULL;
        return security_severity_table[s];
}

SecuritySeverity security_severity_from_string(const char *s) {
        return table_lookup(security_severity_table, ELEMENTSOF(security_severity_table), s);
}

/* ---- the TPM half, on the worker ---------------------------------------------------------------- */

typedef enum EkState {
        EK_CERT_ABSENT,     /* neither NV index holds a certificate */
        EK_CERT_VERIFIED,   /* chains to a root in ek_ca_dir */
        EK_CERT_REJECTED,   /* does not chain */
        EK_CERT_UNVERIFIED, /* present, but ek_ca_dir holds no roots */
        EK_CERT_BROKEN,     /* the NV index holds something that is no certificate */
} EkState;

typedef struct SecurityJob {
        Manager *manager;
        sd_bus_message *message;

        /* arguments: copies, since the worker must not touch the Manager */
        char *ek_ca_dir;
        char **volume_paths;

        /* results */
        Tpm2Info *info;
        int info_error;
        EkState ek;
        const char *ek_alg;
        size_t n_volumes, n_unreadable, n_tpm, n_weak;
} SecurityJob;

static SecurityJob *security_job_free(SecurityJob *j) {
        if (!j)
                return NULL;
        sd_bus_message_unref(j->message);
        free(j->ek_ca_dir);
        strv_free(j->volume_paths);
        tpm2_info_free(j->info);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SecurityJob *, security_job_free);

static void check_ek(Tpm2Context *tpm, SecurityJob *j) {
        static const struct {
                uint16_t alg;
                const char *name;
        } algs[] = { { TPM2_ALG_RSA, "RSA" }, { TPM2_ALG_ECC, "ECC" } };

        j->ek = EK_CERT_ABSENT;
        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                _cleanup_(X509_freep) X509 *cert = NULL;
                int r;

                r = tpm2_ek_read_certificate(tpm, algs[i].alg, &cert);
                if (r == -EBADMSG) {
                        j->ek = EK_CERT_BROKEN;
                        j->ek_alg = algs[i].name;
                        continue;
                }
                if (r < 0)
                        continue;

                j->ek_alg = algs[i].name;
                r = tpm2_ek_verify_chain(cert, j->ek_ca_dir);
                if (r >= 0) {
                        j->ek = EK_CERT_VERIFIED;
                        return;
                }
                j->ek = r == -EKEYREJECTED ? EK_CERT_REJECTED : EK_CERT_UNVERIFIED;
        }
}

/* Whether the token's policy is PCR 7 alone: Secure Boot state and keys, nothing about what was booted. */
static bool token_is_weak(const LuksToken *t) {
        const Tpm2SealedBlob *b = t->blob;

        return b && !b->authorize && !b->srk_only && b->pcr_mask == UINT32_C(1) << 7;
}

static void check_volumes(SecurityJob *j) {
        STRV_FOREACH(p, j->volume_paths) {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
                char reason[256];
                bool tpm = false, weak = false;

                j->n_volumes++;
                if (luks_volume_status(*p, &s, reason, sizeof(reason)) < 0) {
                        j->n_unreadable++;
                        continue;
                }
                for (size_t i = 0; i < s->n_tokens; i++) {
                        if (!s->tokens[i].token)
                                continue;
                        tpm = true;
                        if (token_is_weak(s->tokens[i].token))
                                weak = true;
                }
                j->n_tpm += tpm;
                j->n_weak += weak;
        }
}

static int security_job_run(Tpm2Context *tpm, void *userdata) {
        SecurityJob *j = userdata;

        /* Each part is best effort: one that fails is reported as unknown, the others still count. */
        j->info_error = tpm2_get_info(tpm, &j->info);
        check_ek(tpm, j);
        check_volumes(j);
        return 0;
}

/* ---- the reply, on the event loop ---------------------------------------------------------------- */

_printf_(6, 7) static int append_attr(sd_bus_message *reply, const char *id, SecurityResult result,
                                      SecuritySeverity severity, const char *resolution, const char *format,
                                      ...) {
        _cleanup_free_ char *summary = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&summary, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        return sd_bus_message_append(reply, "(sssss)", id, security_result_to_string(result),
                                     security_severity_to_string(severity), summary,
                                     result == SECURITY_RESULT_PASS ? "" : strempty(resolution));
}

static int append_tpm(sd_bus_message *reply, Manager *m, SecurityJob *j, int result) {
        static const char *lockout = ID_PREFIX "TpmLockout";
        const Tpm2Info *i = j->info;
        int r;

        /* Every id appears in every reply, so that clients can rely on the list. */
        if (result == -ENODEV) {
                r = append_attr(reply, ID_PREFIX "TpmPresent", SECURITY_RESULT_FAIL,
                                SECURITY_SEVERITY_CRITICAL,
                                "Enable the TPM in the firmware setup, or set [TPM] Device= in "
                                "trusted-platform.conf; then run 'tpctl tpm info'.",
                                "No TPM is available at '%s'.", m->tcti);
                if (r < 0)
                        return r;
                return append_attr(reply, lockout, SECURITY_RESULT_NOT_APPLICABLE, SECURITY_SEVERITY_MEDIUM,
                                   NULL, "No TPM.");
        }
        if (result < 0 || !i) {
                r = append_attr(reply, ID_PREFIX "TpmPresent", SECURITY_RESULT_UNKNOWN,
                                SECURITY_SEVERITY_CRITICAL,
                                "Check the daemon's journal; run 'tpctl tpm info'.",
                                "Cannot read the TPM's properties: %s.",
                                strerror(-(result < 0 ? result : j->info_error)));
                if (r < 0)
                        return r;
                return append_attr(reply, lockout, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_MEDIUM,
                                   "Run 'tpctl tpm lockout'.", "Cannot read the dictionary-attack state.");
        }

        r = append_attr(reply, ID_PREFIX "TpmPresent", SECURITY_RESULT_PASS, SECURITY_SEVERITY_CRITICAL,
                        NULL, "TPM 2.0 from %s (firmware %s, specification %" PRIu32 ".%02" PRIu32 ").",
                        isempty(i->manufacturer) ? "an unknown manufacturer" : i->manufacturer,
                        strempty(i->firmware_version), i->spec_revision / 100, i->spec_revision % 100);
        if (r < 0)
                return r;

        if (i->in_lockout)
                return append_attr(reply, lockout, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_MEDIUM,
                                   "Wait for the lockout to expire, or run 'tpctl tpm lockout --reset' as root.",
                                   "The TPM is in dictionary-attack lockout (%" PRIu32 " of %" PRIu32
                                   " failures; one is forgiven every %" PRIu32 " s).",
                                   i->lockout_counter, i->max_auth_fail, i->lockout_interval);
        return append_attr(reply, lockout, SECURITY_RESULT_PASS, SECURITY_SEVERITY_MEDIUM, NULL,
                           "Not in dictionary-attack lockout (%" PRIu32 " of %" PRIu32 " failures counted).",
                           i->lockout_counter, i->max_auth_fail);
}

static int append_ek(sd_bus_message *reply, Manager *m, SecurityJob *j, int result) {
        static const char *id = ID_PREFIX "EkCertificate";

        if (result == -ENODEV)
                return append_attr(reply, id, SECURITY_RESULT_NOT_APPLICABLE, SECURITY_SEVERITY_HIGH, NULL,
                                   "No TPM.");
        if (result < 0)
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_HIGH,
                                   "Run 'tpctl tpm ek'.", "Cannot read the endorsement key certificate.");

        switch (j->ek) {
        case EK_CERT_VERIFIED:
                return append_attr(reply, id, SECURITY_RESULT_PASS, SECURITY_SEVERITY_HIGH, NULL,
                                   "The %s endorsement key certificate chains to a manufacturer root in %s.",
                                   j->ek_alg, m->ek_ca_dir);
        case EK_CERT_REJECTED:
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                                   "Install the manufacturer's root and intermediate certificates into "
                                   "[Endorsement] CertificateDirectory=; check 'tpctl tpm ek'.",
                                   "The %s endorsement key certificate does not chain to a root in %s.",
                                   j->ek_alg, m->ek_ca_dir);
        case EK_CERT_UNVERIFIED:
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_HIGH,
                                   "Install the manufacturer's root certificates into [Endorsement] "
                                   "CertificateDirectory=.",
                                   "A %s endorsement key certificate is present, not verified: %s holds no "
                                   "manufacturer roots.",
                                   j->ek_alg, m->ek_ca_dir);
        case EK_CERT_BROKEN:
                return append_attr(
                        reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                        "Ask the TPM's manufacturer; 'tpctl tpm ek --certificate=FILE' supplies one.",
                        "The %s endorsement key certificate index holds no valid certificate.", j->ek_alg);
        default:
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                                   "Software TPMs often have none; for hardware, ask the manufacturer or "
                                   "supply one with 'tpctl tpm ek --certificate=FILE'.",
                                   "The TPM holds no endorsement key certificate.");
        }
}

static int append_srk(sd_bus_message *reply, Manager *m, int result) {
        static const char *id = ID_PREFIX "TpmProvisioned";

        if (result == -ENODEV)
                return append_attr(reply, id, SECURITY_RESULT_NOT_APPLICABLE, SECURITY_SEVERITY_HIGH, NULL,
                                   "No TPM.");
        if (m->srk_provisioned)
                return append_attr(reply, id, SECURITY_RESULT_PASS, SECURITY_SEVERITY_HIGH, NULL,
                                   "The storage root key is provisioned and pinned.");
        return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                           "Run 'tpctl tpm provision'.",
                           "The TPM has no storage root key pinned by the daemon.");
}

int security_read_secure_boot(void) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        const char *dir;
        size_t size;
        int r;

        /* A test's efivarfs; secure_getenv(): never taken from the environment of a privileged caller. */
        dir = secure_getenv(EFIVARS_DIR_ENV) ?: EFIVARS_DIR_DEFAULT;
        if (asprintf(&path, "%s/" EFIVAR_SECURE_BOOT_NAME, dir) < 0)
                return -ENOMEM;

        /* 4 bytes of attributes, then one byte: 1 when Secure Boot is enforcing. */
        r = read_full_file(path, 64, &data, &size);
        if (r == -E2BIG)
                return log_debug_errno(EBADMSG, "%s is larger than a SecureBoot variable.", path);
        if (r < 0)
                return log_debug_errno(r, "No Secure Boot variable %s: %m", path);
        if (size != 5)
                return log_debug_errno(EBADMSG, "%s holds %zu bytes, not 5.", path, size);
        if ((uint8_t) data[4] > 1)
                return log_debug_errno(EBADMSG, "%s holds the value %u, neither 0 nor 1.", path,
                                       (unsigned) (uint8_t) data[4]);
        return data[4] == 1;
}

static int append_secure_boot(sd_bus_message *reply, Manager *m) {
        if (m->secure_boot)
                return append_attr(reply, ID_PREFIX "SecureBoot", SECURITY_RESULT_PASS,
                                   SECURITY_SEVERITY_CRITICAL, NULL, "UEFI Secure Boot is enabled.");
        return append_attr(reply, ID_PREFIX "SecureBoot", SECURITY_RESULT_FAIL, SECURITY_SEVERITY_CRITICAL,
                           "Enable Secure Boot in the firmware setup; 'tpctl eventlog facts' shows what the "
                           "firmware measured.",
                           "UEFI Secure Boot is disabled or not supported (the SecureBoot variable says so or "
                           "is missing).");
}

static int append_policy(sd_bus_message *reply, Manager *m) {
        static const char *id = ID_PREFIX "MeasuredBootPolicy";
        _cleanup_(attest_policy_freep) AttestPolicy *policy = NULL;
        _cleanup_free_ char *text = NULL;
        AttestPolicyError error = {};
        size_t size;
        int r;

        /* A small local file (bounded by ATTEST_POLICY_SIZE_MAX): cheap enough for the event loop. */
        r = read_full_file(m->policy_path, ATTEST_POLICY_SIZE_MAX, &text, &size);
        if (r == -ENOENT)
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                                   "Write a measured-boot policy (the values 'tpctl eventlog facts' and "
                                   "'tpctl eventlog replay' show) to [Attestation] Policy=, then run 'tpctl "
                                   "attest'.",
                                   "No measured-boot policy: %s does not exist.", m->policy_path);
        if (r < 0)
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_HIGH,
                                   "Check the file's permissions.", "Cannot read %s: %s.", m->policy_path,
                                   strerror(-r));
        r = attest_policy_parse(text, size, &policy, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                                   "Fix the policy file, then run 'tpctl attest'.",
                                   "%s is not a valid policy.", m->policy_path);
        if (attest_policy_checks_nothing(policy))
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH,
                                   "Replace the forced empty policy with one that checks PCR values, then run "
                                   "'tpctl attest'.",
                                   "The policy %s is forced and accepts everything.", m->policy_path);
        return append_attr(reply, id, SECURITY_RESULT_PASS, SECURITY_SEVERITY_HIGH, NULL,
                           "The measured-boot policy %s is loaded.", m->policy_path);
}

static int append_attestation(sd_bus_message *reply, Manager *m) {
        static const char *id = ID_PREFIX "Attestation";
        static const char *fix = "Run 'tpctl attest' and read its reasons ('tpctl status').";
        char age[64] = "never attested";
        struct timespec ts;

        if (m->last_attestation_usec > 0 && clock_gettime(CLOCK_REALTIME, &ts) >= 0) {
                uint64_t now = (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
                uint64_t sec = now > m->last_attestation_usec ? (now - m->last_attestation_usec) / 1000000 : 0;

                (void) snprintf(age, sizeof(age), "last attestation %" PRIu64 " s ago", sec);
        }

        switch (m->trust_state) {
        case TRUST_STATE_TRUSTED:
                return append_attr(reply, id, SECURITY_RESULT_PASS, SECURITY_SEVERITY_HIGH, NULL,
                                   "The platform is trusted (%s).", age);
        case TRUST_STATE_UNTRUSTED:
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_HIGH, fix,
                                   "The platform is untrusted (%s; %zu reason%s).", age,
                                   strv_length(m->trust_reasons),
                                   strv_length(m->trust_reasons) == 1 ? "" : "s");
        default:
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_HIGH, fix,
                                   "The trust state is unknown (%s).", age);
        }
}

static int append_volumes(sd_bus_message *reply, SecurityJob *j, int result) {
        static const char *id = ID_PREFIX "SealedVolumes";

        if (j->n_volumes == 0)
                return append_attr(reply, id, SECURITY_RESULT_NOT_APPLICABLE, SECURITY_SEVERITY_MEDIUM, NULL,
                                   "The daemon knows no LUKS2 volume.");
        if (result < 0)
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_MEDIUM, NULL,
                                   "%zu volumes known; their tokens were not read (no TPM).", j->n_volumes);
        if (j->n_weak > 0)
                return append_attr(reply, id, SECURITY_RESULT_FAIL, SECURITY_SEVERITY_MEDIUM,
                                   "Reseal with more PCRs: 'tpctl volume reseal --pcrs=4,7,11 PATH' (or a signed "
                                   "policy).",
                                   "%zu of %zu volumes have a TPM token; %zu are sealed to PCR 7 alone.",
                                   j->n_tpm, j->n_volumes, j->n_weak);
        if (j->n_unreadable > 0)
                return append_attr(reply, id, SECURITY_RESULT_UNKNOWN, SECURITY_SEVERITY_MEDIUM,
                                   "Run 'tpctl volume list' and 'tpctl volume status PATH'.",
                                   "%zu of %zu volumes have a TPM token; %zu could not be read.", j->n_tpm,
                                   j->n_volumes, j->n_unreadable);
        return append_attr(reply, id, SECURITY_RESULT_PASS, SECURITY_SEVERITY_MEDIUM, NULL,
                           "%zu of %zu volumes have a TPM token, none sealed to PCR 7 alone.", j->n_tpm,
                           j->n_volumes);
}

static int security_reply(SecurityJob *j, int result) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = j->manager;
        int r;

        if (result == -ECANCELED)
                return tpm_reply_shutting_down(j->message);

        r = sd_bus_message_new_method_return(j->message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssss)");
        if (r < 0)
                return r;

        r = append_tpm(reply, m, j, result);
        if (r >= 0)
                r = append_srk(reply, m, result);
        if (r >= 0)
                r = append_ek(reply, m, j, result);
        if (r >= 0)
                r = append_secure_boot(reply, m);
        if (r >= 0)
                r = append_policy(reply, m);
        if (r >= 0)
                r = append_attestation(reply, m);
        if (r >= 0)
                r = append_volumes(reply, j, result);
        if (r < 0)
                return r;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void security_job_done(int result, void *userdata) {
        _cleanup_(security_job_freep) SecurityJob *j = userdata;
        int r;

        r = security_reply(j, result);
        if (r < 0) {
                log_warning_errno(r, "Failed to reply to GetSecurityAttributes(): %m");
                (void) sd_bus_reply_method_errno(j->message, r, NULL);
        }
}

int manager_get_security_attributes(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(security_job_freep) SecurityJob *j = NULL;
        int r;

        assert(m);
        assert(message);

        j = calloc(1, sizeof(SecurityJob));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->message = sd_bus_message_ref(message);
        j->ek_ca_dir = strdup(m->ek_ca_dir);
        if (!j->ek_ca_dir)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_volumes; i++) {
                r = strv_extend(&j->volume_paths, m->volumes[i].path);
                if (r < 0)
                        return r;
        }

        r = tpm_worker_submit(m->tpm_worker, security_job_run, security_job_done, j);
        if (r < 0)
                return r;
        TAKE_PTR(j);
        return 1;
}

/* ---- the trust gate ----------------------------------------------------------------------------- */

int manager_load_trust_gate_config(Manager *m, Config *config) {
        int r;

        r = config_get_bool(config, "Attestation", "GateOperations", false, &m->gate_operations);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Attestation] GateOperations=: %m");
        return 0;
}

/* The reasons joined with "; ", cut at TRUST_GATE_MESSAGE_MAX bytes. */
static int join_reasons(char **l, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        s = malloc(TRUST_GATE_MESSAGE_MAX + 1);
        if (!s)
                return -ENOMEM;
        s[0] = 0;
        STRV_FOREACH(i, l) {
                int k = snprintf(s + n, TRUST_GATE_MESSAGE_MAX + 1 - n, "%s%s", n > 0 ? "; " : "", *i);
                if (k < 0)
                        return -EINVAL;
                if ((size_t) k >= TRUST_GATE_MESSAGE_MAX + 1 - n)
                        break; /* cut; snprintf() terminated it */
                n += (size_t) k;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int manager_check_trust_gate(Manager *m, sd_bus_message *message, const char *what, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_free_ char *reasons = NULL;
        uid_t uid;
        int r;

        assert(m);
        assert(message);

        /* "unknown" is let through: it is the state of every machine without a policy (the default) and
         * of one whose TPM could not quote; refusing there would break those machines without evidence of
         * anything wrong. Only positive evidence (a policy violation) closes the gate. */
        if (!m->gate_operations || m->trust_state != TRUST_STATE_UNTRUSTED)
                return 0;

        /* The uid from the bus driver, never /proc (an augmented credential could be raced). */
        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        if (!(sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID) &&
            sd_bus_creds_get_euid(creds, &uid) >= 0 && uid == 0)
                return 0;

        r = join_reasons(m->trust_reasons, &reasons);
        if (r < 0)
                return r;
        return sd_bus_error_setf(error, BUS_ERROR_PLATFORM_UNTRUSTED,
                                 "The platform is untrusted; the daemon does not %s for non-root callers "
                                 "([Attestation] GateOperations=yes): %s",
                                 what, reasons);
}
