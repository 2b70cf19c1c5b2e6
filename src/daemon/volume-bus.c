/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for LUKS2 volumes: Manager.ListVolumes/CreateVolume/EnrollVolume and the Volume interface on
 * /org/trustedplatform/TrustedPlatform1/volume/<escaped UUID> (a fallback vtable with a node enumerator
 * over the registry in volume.c). Handlers: read arguments, validate (InvalidArgs quoting the bad value),
 * polkit (org.trustedplatform.volume.manage), then the operation on its thread (volume.c); the method
 * answers at once with a Job (job.h) that carries the result. Passphrases arrive as ay: the message is marked sensitive (erased when freed) and our copy
 * is erased by the operation; they are never logged. Status and ListVolumes read headers only and are open
 * to everyone (a LUKS2 header holds no secret an unprivileged caller could not read from the device's
 * metadata anyway through us: UUID, keyslot roles and KDFs). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "daemon/job.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "daemon/volume-bus.h"
#include "daemon/volume.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "tpm2/tpm2-pcr.h"

#define VOLUME_PIN_MAX 128U
#define VOLUME_LABEL_MAX 47U /* LUKS2 label field: 48 bytes with the NUL */
#define VOLUME_PCR_MAX 24U

static int volume_bus_error(int r, const char *reason, sd_bus_error *error) {
        const char *name = NULL, *msg = !isempty(reason) ? reason : strerror(-r);

        switch (r) {
        case -EUNATCH:
                return sd_bus_error_set(error, BUS_ERROR_VOLUME_TPM_UNAVAILABLE,
                                        "The daemon's TPM serves one client at a time, and volume operations "
                                        "open a TPM connection of their own. Put a resource manager in front "
                                        "of it (tpm2-abrmd, /dev/tpmrm0) and set [TPM] Device= to it.");
        case -EBUSY:
                name = BUS_ERROR_BUSY;
                break;
        case -ECANCELED:
                return sd_bus_error_setf(error, BUS_ERROR_CANCELLED, "Cancelled: %s.", msg);
        case -ENOSPC:
                name = BUS_ERROR_NO_SPACE;
                break;
        case -EACCES:
                name = BUS_ERROR_BAD_PIN;
                break;
        case -EPERM:
                name = BUS_ERROR_VOLUME_REFUSED;
                break;
        case -EEXIST:
                name = BUS_ERROR_VOLUME_EXISTS;
                break;
        case -EMEDIUMTYPE:
        case -EPROTONOSUPPORT:
                name = BUS_ERROR_NOT_A_VOLUME;
                break;
        case -ENOENT:
                name = BUS_ERROR_NO_SUCH_VOLUME_ITEM;
                break;
        case -ENOANO:
                name = BUS_ERROR_PIN_REQUIRED;
                break;
        case -ENOKEY: /* no SRK: NotProvisioned, as from TPM.Seal(), without "Volume operation failed" */
                name = BUS_ERROR_NOT_PROVISIONED;
                break;
        case -EINVAL:
                name = SD_BUS_ERROR_INVALID_ARGS;
                break;
        default:
                return bus_error_from_errno(error, r, "Volume operation failed: %s", msg);
        }
        return sd_bus_error_set(error, name, msg);
}

/* Options: the keys a method accepts with their types; each is read by read_option() below into op. */
typedef struct OptionSpec {
        const char *key;
        const char *type;
} OptionSpec;

typedef struct VolumeArgs {
        VolumeOp *op; /* NULL while validating before polkit: values are checked, not kept */
        uint32_t pcr_mask;
        bool pcrs_set;
        uint16_t bank;
        bool accept_risk;
        char *pin, *old_pin; /* erase */
        void *passphrase;    /* Reseal's fallback passphrase; erase */
        size_t passphrase_size;
        int token;
        uint64_t size;
        LuksKdfOptions kdf;
        bool kdf_set;
        char *label;
        bool recovery_key, force;
        TPM2B_PUBLIC authorize_key; /* "authorize-key": seal to signed policies of this key */
        bool has_authorize_key;
        void *signed_policy; /* "signed-policy": the file's bytes, checked */
        size_t signed_policy_size;
} VolumeArgs;

static void volume_args_done(VolumeArgs *a) {
        erase_and_free(a->pin);
        erase_and_free(a->old_pin);
        if (a->passphrase) {
                erase_mem(a->passphrase, a->passphrase_size);
                free(a->passphrase);
        }
        free(a->label);
        free(a->signed_policy);
}

static bool string_is_clean(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static int read_pcrs(sd_bus_message *message, uint32_t *ret, sd_bus_error *error) {
        const uint32_t *pcrs;
        size_t n;
        uint32_t mask = 0;
        int r;

        r = sd_bus_message_read_array(message, 'u', (const void **) &pcrs, &n);
        if (r < 0)
                return r;
        n /= sizeof(uint32_t);
        if (n == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'pcrs' is empty.");
        for (size_t i = 0; i < n; i++) {
                if (pcrs[i] >= VOLUME_PCR_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid PCR index %" PRIu32 " in option 'pcrs'.", pcrs[i]);
                if (mask & (UINT32_C(1) << pcrs[i]))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "PCR %" PRIu32 " is given twice in option 'pcrs'.", pcrs[i]);
                mask |= UINT32_C(1) << pcrs[i];
        }
        *ret = mask;
        return 0;
}

static int read_short_string(sd_bus_message *message, const char *key, size_t max, bool secret, char **ret,
                             sd_bus_error *error) {
        const char *s;
        char *c;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (isempty(s) || strlen(s) > max || !string_is_clean(s)) {
                if (secret)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' is empty, longer than %zu bytes or has control "
                                                 "characters.",
                                                 key, max);
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid value '%.64s' of option '%s': empty, longer than %zu bytes or "
                                         "with control characters.",
                                         s, key, max);
        }
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int read_passphrase(sd_bus_message *message, const char *what, bool may_be_empty, void **ret,
                           size_t *ret_size, sd_bus_error *error) {
        const void *p;
        size_t n;
        void *c;
        int r;

        r = sd_bus_message_read_array(message, 'y', &p, &n);
        if (r < 0)
                return r;
        if (n > LUKS_VOLUME_PASSPHRASE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s is longer than %u bytes.",
                                         what, LUKS_VOLUME_PASSPHRASE_MAX);
        if (n == 0 && !may_be_empty)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s is empty.", what);
        if (memchr(p, 0, n))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The %s contains a NUL byte.",
                                         what);
        if (!ret) /* validating only */
                return 0;
        c = malloc(n + 1);
        if (!c)
                return -ENOMEM;
        memcpy(c, p, n);
        ((char *) c)[n] = '\0';
        *ret = c;
        *ret_size = n;
        return 0;
}

static int read_option(sd_bus_message *message, const char *key, VolumeArgs *a, sd_bus_error *error) {
        const char *s;
        uint32_t u;
        int b, r;

        if (streq(key, "pcrs")) {
                a->pcrs_set = true;
                return read_pcrs(message, &a->pcr_mask, error);
        }
        if (streq(key, "bank")) {
                r = sd_bus_message_read(message, "s", &s);
                if (r < 0)
                        return r;
                r = tpm2_hash_alg_from_string(s);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid PCR bank '%.64s': expected sha1, sha256, sha384 or "
                                                 "sha512.",
                                                 s);
                a->bank = (uint16_t) r;
                return 0;
        }
        if (streq(key, "pin"))
                return read_short_string(message, key, VOLUME_PIN_MAX, true, &a->pin, error);
        if (streq(key, "old-pin"))
                return read_short_string(message, key, VOLUME_PIN_MAX, true, &a->old_pin, error);
        if (streq(key, "label"))
                return read_short_string(message, key, VOLUME_LABEL_MAX, false, &a->label, error);
        if (streq(key, "passphrase"))
                return read_passphrase(message, "passphrase option", false, &a->passphrase,
                                       &a->passphrase_size, error);
        if (streq(key, "accept-risk") || streq(key, "recovery-key") || streq(key, "force")) {
                r = sd_bus_message_read(message, "b", &b);
                if (r < 0)
                        return r;
                if (streq(key, "accept-risk"))
                        a->accept_risk = b;
                else if (streq(key, "recovery-key"))
                        a->recovery_key = b;
                else
                        a->force = b;
                return 0;
        }
        if (streq(key, "authorize-key") || streq(key, "signed-policy")) {
                _cleanup_free_ Tpm2SignedPolicy *policy = NULL;
                const void *data;
                size_t size;

                r = sd_bus_message_read_array(message, 'y', &data, &size);
                if (r < 0)
                        return r;
                if (streq(key, "authorize-key")) {
                        r = tpm2_authorize_key_from_spki(data, size, &a->authorize_key, NULL);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'authorize-key' is not an RSA 2048..4096 or "
                                                         "ECC P-256 public key (SubjectPublicKeyInfo as DER or "
                                                         "PEM, %zu bytes).",
                                                         size);
                        a->has_authorize_key = true;
                        return 0;
                }
                /* Checked strictly before polkit; the library reads it again from a file. */
                r = tpm2_signed_policy_parse(data, size, &policy);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option 'signed-policy' is not a signed-policy file (%zu "
                                                 "bytes).",
                                                 size);
                a->signed_policy = malloc(size);
                if (!a->signed_policy)
                        return -ENOMEM;
                memcpy(a->signed_policy, data, size);
                a->signed_policy_size = size;
                return 0;
        }
        if (streq(key, "token")) {
                r = sd_bus_message_read(message, "i", &a->token);
                if (r < 0)
                        return r;
                if (a->token < 0 || a->token >= (int) LUKS_VOLUME_TOKENS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid token %d: expected 0..%u.", a->token,
                                                 LUKS_VOLUME_TOKENS_MAX - 1);
                return 0;
        }
        if (streq(key, "size")) {
                r = sd_bus_message_read(message, "t", &a->size);
                if (r < 0)
                        return r;
                if (a->size < LUKS_VOLUME_MIN_SIZE || a->size > UINT64_C(1) << 50)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid size %" PRIu64 ": expected %u bytes to 1 PiB.",
                                                 a->size, LUKS_VOLUME_MIN_SIZE);
                return 0;
        }
        if (streq(key, "pbkdf")) {
                LuksPbkdf p;

                r = sd_bus_message_read(message, "s", &s);
                if (r < 0)
                        return r;
                p = luks_pbkdf_from_string(s);
                if (p < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid pbkdf '%.64s': expected argon2id or pbkdf2.", s);
                a->kdf.type = p;
                a->kdf_set = true;
                return 0;
        }
        if (streq(key, "iterations") || streq(key, "memory-kb")) {
                r = sd_bus_message_read(message, "u", &u);
                if (r < 0)
                        return r;
                if (u == 0 || u > (streq(key, "iterations") ? UINT32_C(100000000) : UINT32_C(4194304)))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid value %" PRIu32 " of option '%s'.", u, key);
                if (streq(key, "iterations"))
                        a->kdf.iterations = u;
                else
                        a->kdf.memory_kb = u;
                a->kdf_set = true;
                return 0;
        }
        return -EINVAL; /* not reached: read_options() accepts the keys above only */
}

static int read_options(sd_bus_message *message, const OptionSpec *specs, VolumeArgs *a, sd_bus_error *error) {
        uint64_t seen = 0;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                size_t i;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; specs && specs[i].key; i++)
                        if (streq(specs[i].key, key))
                                break;
                if (!specs || !specs[i].key)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.64s'.",
                                                 key);
                if (seen & (UINT64_C(1) << i))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice.", key);
                seen |= UINT64_C(1) << i;
                r = tpm_bus_enter_option_variant(message, key, specs[i].type, error);
                if (r < 0)
                        return r;
                r = read_option(message, key, a, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

static int read_path(sd_bus_message *message, char **ret, sd_bus_error *error) {
        const char *p;
        int r;

        r = sd_bus_message_read(message, "s", &p);
        if (r < 0)
                return r;
        if (p[0] != '/' || strlen(p) >= PATH_MAX || !string_is_clean(p) || strstr(p, "/../") ||
            endswith(p, "/..") || endswith(p, "/"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid volume path '%.128s': expected an absolute, normalized path of "
                                         "a block device or image file.",
                                         p);
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

static int check_kdf(const VolumeArgs *a, sd_bus_error *error) {
        if (a->kdf.memory_kb > 0 && a->kdf.type != LUKS_PBKDF_ARGON2ID)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'memory-kb' applies to argon2id only.");
        if (a->kdf.type == LUKS_PBKDF_PBKDF2 && a->kdf.iterations > 0 && a->kdf.iterations < 1000)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid pbkdf2 iterations %" PRIu32 ": LUKS2 needs at least 1000.",
                                         a->kdf.iterations);
        if (a->kdf.type == LUKS_PBKDF_ARGON2ID && a->kdf.iterations > 1000)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid argon2id time cost %" PRIu32 ": at most 1000.",
                                         a->kdf.iterations);
        return 0;
}

/* The common tail: a job for the operation, the operation on its thread (or queued behind the running one),
 * the answer with the job's path.
 * Owns op on success. object: the volume's object path, NULL for none yet. */
static int start_op(Manager *m, sd_bus_message *message, VolumeOp *op, const char *object,
                    sd_bus_error *error) {
        Job *job;
        int r;

        r = job_new(m, message, sd_bus_message_get_member(message), object, &job);
        if (r < 0)
                return volume_bus_error(r, r == -EBUSY ? "Too many jobs exist." : NULL, error);
        op->job = job;
        r = volume_op_start(op);
        if (r < 0) {
                op->job = NULL;
                job_free(job);
                return volume_bus_error(r,
                                        r == -EBUSY ? "Another volume operation is running and too many wait "
                                                      "for it."
                                                    : NULL,
                                        error);
        }
        r = sd_bus_reply_method_return(message, "o", job->path);
        if (r < 0)
                log_debug_errno(r, "Failed to answer with job %s, ignoring: %m", job->path);
        return 1;
}

static int verify_polkit(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        return bus_verify_polkit_async(message, VOLUME_ACTION_MANAGE, NULL, &m->polkit_registry, error);
}

static int fill_enroll(Manager *m, VolumeOp *op, VolumeArgs *a, sd_bus_error *error) {
        int r;

        r = manager_volume_tcti(m, &op->tcti);
        if (r < 0)
                return volume_bus_error(r, NULL, error);
        op->enroll.tcti = op->tcti;
        op->enroll.state_dir = strdup(m->state_dir);
        op->enroll.backup_dir = manager_volume_backup_dir(m);
        if (!op->enroll.state_dir || !op->enroll.backup_dir)
                return -ENOMEM;
        op->enroll.bank = a->bank;
        op->enroll.pcr_mask = a->pcr_mask;
        op->enroll.accept_risk = a->accept_risk;
        if (a->has_authorize_key) {
                op->authorize_key = a->authorize_key;
                op->enroll.authorize_key = &op->authorize_key;
        }
        if (a->signed_policy) {
                /* The library takes a path: a private copy in the state directory (0700), removed with
                 * the operation. It serves the test unlock of the new token and the unseal of the old. */
                r = volume_op_write_signed_policy(op, m->state_dir, a->signed_policy, a->signed_policy_size);
                if (r < 0)
                        return r;
                op->enroll.signed_policy_path = op->signed_policy_path;
        }
        op->pin = TAKE_PTR(a->pin);
        op->old_pin = TAKE_PTR(a->old_pin);
        op->enroll.pin = op->pin;
        return 0;
}

/* Registers the volume (announcing a new one) and starts the job's result with its object path. */
static int result_object(VolumeOp *op, const char *uuid, const char *path, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *object = NULL;
        Manager *m = op->manager;
        bool added;
        int r;

        added = !manager_find_volume_by_uuid(m, uuid);
        r = manager_register_volume(m, uuid, path);
        if (r < 0)
                return r;
        r = sd_bus_path_encode(TP_BUS_VOLUME_PREFIX, uuid, &object);
        if (r < 0)
                return r;
        if (added) {
                r = sd_bus_emit_object_added(m->bus, object);
                if (r < 0)
                        log_debug_errno(r, "Failed to emit InterfacesAdded for %s, ignoring: %m", object);
        }
        r = job_new_result(op->job, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}", "object", "o", object);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

/* Starts a job's result. */
static int result_new(VolumeOp *op, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = job_new_result(op->job, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

/* Closes the result's a{sv} and completes the job with it; r: an error while building it. */
static int result_finish(VolumeOp *op, sd_bus_message *reply, int r, bool secret) {
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                (void) sd_bus_error_set_errnof(&error, r, "Failed to finish the operation: %m");
                return job_fail(op->job, r, &error);
        }
        return job_complete(op->job, reply, secret);
}

static int reply_error(VolumeOp *op, int r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        (void) volume_bus_error(r, op->reason, &error);
        return job_fail(op->job, r, &error);
}

static int reply_create(VolumeOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (op->r < 0)
                return reply_error(op, op->r);
        log_info("Created LUKS2 volume %s on %s.", op->uuid, op->path);
        r = result_object(op, op->uuid, op->path, &reply);
        if (r < 0) {
                snprintf(op->reason, sizeof(op->reason), "Failed to register the volume: %s", strerror(-r));
                return reply_error(op, r);
        }
        r = sd_bus_message_append(reply, "{sv}{sv}", "uuid", "s", op->uuid, "recovery_key", "s",
                                  strempty(op->key));
        return result_finish(op, reply, r, !!op->key);
}

static int reply_enroll(VolumeOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (op->r < 0)
                return reply_error(op, op->r);
        log_info("Enrolled the TPM in LUKS2 volume %s on %s (keyslot %d, token %d).", op->uuid, op->path,
                 op->result.keyslot, op->result.token);
        r = result_object(op, op->uuid, op->path, &reply);
        if (r < 0) {
                snprintf(op->reason, sizeof(op->reason), "Failed to register the volume: %s", strerror(-r));
                return reply_error(op, r);
        }
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}", "keyslot", "i", op->result.keyslot, "token", "i",
                                  op->result.token, "weak_policy", "b", op->result.weak_policy);
        return result_finish(op, reply, r, false);
}

static int reply_reseal(VolumeOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (op->r < 0)
                return reply_error(op, op->r);
        log_info("Resealed the TPM token of LUKS2 volume %s (keyslot %d, token %d).", op->path,
                 op->result.keyslot, op->result.token);
        r = result_new(op, &reply);
        if (r < 0)
                return reply_error(op, r);
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}", "keyslot", "i", op->result.keyslot, "token", "i",
                                  op->result.token, "weak_policy", "b", op->result.weak_policy);
        return result_finish(op, reply, r, false);
}

static int reply_unenroll(VolumeOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (op->r < 0)
                return reply_error(op, op->r);
        log_info("Removed token %d from LUKS2 volume %s.", op->token, op->path);
        r = result_new(op, &reply);
        if (r < 0)
                return reply_error(op, r);
        return result_finish(op, reply, 0, false);
}

static int reply_recovery_key(VolumeOp *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (op->r < 0)
                return reply_error(op, op->r);
        log_info("Added a recovery key to LUKS2 volume %s (keyslot %d).", op->path, op->slot);
        r = result_new(op, &reply);
        if (r < 0)
                return reply_error(op, r);
        r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}", "recovery_key", "s", op->key, "keyslot", "i",
                                          op->slot);
        return result_finish(op, reply, r, true);
}

static const OptionSpec create_options[] = {
        { "size", "t" },  { "pbkdf", "s" },        { "iterations", "u" }, { "memory-kb", "u" },
        { "label", "s" }, { "recovery-key", "b" }, { "force", "b" },      {},
};

/* CreateVolume(s path, ay passphrase, a{sv} options) -> (o job); the job's Result: object, uuid,
 * recovery_key (secret when set) */
static int method_create_volume(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(volume_args_done) VolumeArgs a = { .token = -1 };
        _cleanup_(volume_op_freep) VolumeOp *op = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(erase_and_freep) void *passphrase = NULL;
        size_t passphrase_size = 0;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_sensitive(message);
        if (r < 0)
                return r;
        r = read_path(message, &path, error);
        if (r < 0)
                return r;
        r = read_passphrase(message, "passphrase", true, &passphrase, &passphrase_size, error);
        if (r < 0)
                return r;
        r = read_options(message, create_options, &a, error);
        if (r < 0)
                return r;
        r = check_kdf(&a, error);
        if (r < 0)
                return r;
        if (passphrase_size == 0 && !a.recovery_key)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Neither a passphrase nor option 'recovery-key' is given.");

        r = verify_polkit(m, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        op = volume_op_new(m, message, VOLUME_OP_CREATE);
        if (!op)
                return -ENOMEM;
        op->reply = reply_create;
        op->path = TAKE_PTR(path);
        if (passphrase_size > 0) {
                op->passphrase = TAKE_PTR(passphrase);
                op->passphrase_size = passphrase_size;
        }
        op->create.size = a.size;
        op->create.recovery_key = a.recovery_key;
        op->create.force = a.force;
        op->kdf = a.kdf;
        op->label = TAKE_PTR(a.label);
        op->enroll.backup_dir = manager_volume_backup_dir(m);
        if (!op->enroll.backup_dir)
                return -ENOMEM;
        r = start_op(m, message, op, NULL, error);
        if (r < 0)
                return r;
        TAKE_PTR(op);
        return 1;
}

static const OptionSpec enroll_options[] = {
        { "pcrs", "au" },
        { "bank", "s" },
        { "pin", "s" },
        { "accept-risk", "b" },
        { "authorize-key", "ay" },
        { "signed-policy", "ay" },
        {},
};

/* authorize-key replaces the PCR selection; an enrollment to it is test-unlocked with signed-policy. */
static int check_policy_options(const VolumeArgs *a, bool need_policy_for_key, sd_bus_error *error) {
        if (a->has_authorize_key && (a->pcrs_set || a->bank != 0))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'authorize-key' binds PCRs through signed policies; it cannot be "
                                        "combined with 'pcrs' or 'bank'.");
        if (need_policy_for_key && a->has_authorize_key && !a->signed_policy)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'authorize-key' needs 'signed-policy' (a policy signed for the "
                                        "current PCRs) to test the new keyslot before anything is kept.");
        return 0;
}

/* EnrollVolume(s path, ay passphrase, a{sv} options) -> (o job); Result: object, keyslot, token,
 * weak_policy */
static int method_enroll_volume(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(volume_args_done) VolumeArgs a = { .token = -1 };
        _cleanup_(volume_op_freep) VolumeOp *op = NULL;
        _cleanup_free_ char *path = NULL, *object = NULL;
        Volume *known;
        _cleanup_(erase_and_freep) void *passphrase = NULL;
        size_t passphrase_size = 0;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_sensitive(message);
        if (r < 0)
                return r;
        r = read_path(message, &path, error);
        if (r < 0)
                return r;
        r = read_passphrase(message, "passphrase", false, &passphrase, &passphrase_size, error);
        if (r < 0)
                return r;
        r = read_options(message, enroll_options, &a, error);
        if (r < 0)
                return r;
        r = check_policy_options(&a, true, error);
        if (r < 0)
                return r;
        if (a.pcrs_set && !a.accept_risk && !(a.pcr_mask & ((UINT32_C(1) << 4) | (UINT32_C(1) << 11))))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The PCR set names neither PCR 4 nor PCR 11: any OS signed under a CA "
                                        "in db would unseal it. Set option 'accept-risk' to enroll anyway.");

        r = verify_polkit(m, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        op = volume_op_new(m, message, VOLUME_OP_ENROLL);
        if (!op)
                return -ENOMEM;
        op->reply = reply_enroll;
        op->path = TAKE_PTR(path);
        op->passphrase = TAKE_PTR(passphrase);
        op->passphrase_size = passphrase_size;
        r = fill_enroll(m, op, &a, error);
        if (r < 0)
                return r;
        known = manager_find_volume_by_path(m, op->path);
        if (known) {
                r = volume_object_path(known, &object);
                if (r < 0)
                        return r;
        }
        r = start_op(m, message, op, object, error);
        if (r < 0)
                return r;
        TAKE_PTR(op);
        return 1;
}

/* ListVolumes() -> a(so): (device or image path, object path) of every known volume. */
static int method_list_volumes(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_volumes; i++) {
                _cleanup_free_ char *object = NULL;

                r = volume_object_path(&m->volumes[i], &object);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(so)", m->volumes[i].path, object);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable volume_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ListVolumes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", volumes),
                                method_list_volumes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateVolume", SD_BUS_ARGS("s", path, "ay", passphrase, "a{sv}", options),
                                SD_BUS_RESULT("o", job), method_create_volume,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("EnrollVolume", SD_BUS_ARGS("s", path, "ay", passphrase, "a{sv}", options),
                                SD_BUS_RESULT("o", job), method_enroll_volume,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END,
};

/* The Volume objects */

static int method_status(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *text = NULL;
        char reason[VOLUME_REASON_MAX] = "";
        Volume *v = userdata;
        int r;

        r = luks_volume_status(v->path, &s, reason, sizeof(reason));
        if (r < 0)
                return volume_bus_error(r, reason, error);
        r = luks_volume_status_format(s, &text);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "UUID", "s", s->uuid, "Path", "s", v->path,
                                  "Label", "s", strempty(s->label), "Journal", "b", s->journal);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Keyslots");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(isi)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(isi)");
        for (size_t i = 0; r >= 0 && i < s->n_keyslots; i++)
                r = sd_bus_message_append(reply, "(isi)", s->keyslots[i].slot,
                                          luks_keyslot_role_to_string(s->keyslots[i].role),
                                          s->keyslots[i].token);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Tokens");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(iss)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(iss)");
        for (size_t i = 0; r >= 0 && i < s->n_tokens; i++)
                r = sd_bus_message_append(reply, "(iss)", s->tokens[i].id, s->tokens[i].type,
                                          s->tokens[i].problem ?: strempty(s->tokens[i].description));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Unenroll(i token, a{sv} options) -> (o job): removes one of our tokens (TPM or recovery marker) and its keyslot. */
static int method_unenroll(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(volume_args_done) VolumeArgs a = { .token = -1 };
        _cleanup_(volume_op_freep) VolumeOp *op = NULL;
        _cleanup_free_ char *object = NULL;
        Volume *v = userdata;
        Manager *m = v->manager;
        int32_t token;
        int r;

        r = sd_bus_message_read(message, "i", &token);
        if (r < 0)
                return r;
        if (token < 0 || token >= (int32_t) LUKS_VOLUME_TOKENS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid token %" PRIi32 ": expected 0..%u.", token,
                                         LUKS_VOLUME_TOKENS_MAX - 1);
        r = read_options(message, NULL, &a, error);
        if (r < 0)
                return r;

        r = verify_polkit(m, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        op = volume_op_new(m, message, VOLUME_OP_UNENROLL);
        if (!op)
                return -ENOMEM;
        op->reply = reply_unenroll;
        op->token = token;
        op->path = strdup(v->path);
        op->enroll.backup_dir = manager_volume_backup_dir(m);
        if (!op->path || !op->enroll.backup_dir)
                return -ENOMEM;
        r = volume_object_path(v, &object);
        if (r < 0)
                return r;
        r = start_op(m, message, op, object, error);
        if (r < 0)
                return r;
        TAKE_PTR(op);
        return 1;
}

static const OptionSpec reseal_options[] = {
        { "token", "i" },          { "pcrs", "au" },
        { "bank", "s" },           { "pin", "s" },
        { "old-pin", "s" },        { "passphrase", "ay" },
        { "accept-risk", "b" },    { "authorize-key", "ay" },
        { "signed-policy", "ay" }, {},
};

/* Reseal(a{sv} options) -> (o job); Result: keyslot, token, weak_policy */
static int method_reseal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(volume_args_done) VolumeArgs a = { .token = -1 };
        _cleanup_(volume_op_freep) VolumeOp *op = NULL;
        _cleanup_free_ char *object = NULL;
        Volume *v = userdata;
        Manager *m = v->manager;
        int r;

        r = sd_bus_message_sensitive(message);
        if (r < 0)
                return r;
        r = read_options(message, reseal_options, &a, error);
        if (r < 0)
                return r;
        r = check_policy_options(&a, true, error);
        if (r < 0)
                return r;
        if (a.pcrs_set && !a.accept_risk && !(a.pcr_mask & ((UINT32_C(1) << 4) | (UINT32_C(1) << 11))))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The PCR set names neither PCR 4 nor PCR 11: any OS signed under a CA "
                                        "in db would unseal it. Set option 'accept-risk' to reseal anyway.");

        r = verify_polkit(m, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        op = volume_op_new(m, message, VOLUME_OP_RESEAL);
        if (!op)
                return -ENOMEM;
        op->reply = reply_reseal;
        op->token = a.token;
        op->path = strdup(v->path);
        if (!op->path)
                return -ENOMEM;
        op->passphrase = TAKE_PTR(a.passphrase);
        op->passphrase_size = a.passphrase_size;
        r = fill_enroll(m, op, &a, error);
        if (r < 0)
                return r;
        r = volume_object_path(v, &object);
        if (r < 0)
                return r;
        r = start_op(m, message, op, object, error);
        if (r < 0)
                return r;
        TAKE_PTR(op);
        return 1;
}

static const OptionSpec recovery_options[] = {
        { "pbkdf", "s" },
        { "iterations", "u" },
        { "memory-kb", "u" },
        {},
};

/* AddRecoveryKey(ay passphrase, a{sv} options) -> (o job); Result: recovery_key (secret), keyslot */
static int method_add_recovery_key(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(volume_args_done) VolumeArgs a = { .token = -1 };
        _cleanup_(volume_op_freep) VolumeOp *op = NULL;
        _cleanup_free_ char *object = NULL;
        _cleanup_(erase_and_freep) void *passphrase = NULL;
        size_t passphrase_size = 0;
        Volume *v = userdata;
        Manager *m = v->manager;
        int r;

        r = sd_bus_message_sensitive(message);
        if (r < 0)
                return r;
        r = read_passphrase(message, "passphrase", false, &passphrase, &passphrase_size, error);
        if (r < 0)
                return r;
        r = read_options(message, recovery_options, &a, error);
        if (r < 0)
                return r;
        r = check_kdf(&a, error);
        if (r < 0)
                return r;

        r = verify_polkit(m, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        op = volume_op_new(m, message, VOLUME_OP_ADD_RECOVERY_KEY);
        if (!op)
                return -ENOMEM;
        op->reply = reply_recovery_key;
        op->path = strdup(v->path);
        op->enroll.backup_dir = manager_volume_backup_dir(m);
        if (!op->path || !op->enroll.backup_dir)
                return -ENOMEM;
        op->passphrase = TAKE_PTR(passphrase);
        op->passphrase_size = passphrase_size;
        op->kdf = a.kdf;
        r = volume_object_path(v, &object);
        if (r < 0)
                return r;
        r = start_op(m, message, op, object, error);
        if (r < 0)
                return r;
        TAKE_PTR(op);
        return 1;
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Volume *v = userdata;
        return sd_bus_message_append(reply, "s", streq(property, "UUID") ? v->uuid : v->path);
}

const sd_bus_vtable volume_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("UUID", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Path", "s", property_get_string, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", text, "a{sv}", status),
                                method_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unenroll", SD_BUS_ARGS("i", token, "a{sv}", options),
                                SD_BUS_RESULT("o", job), method_unenroll, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reseal", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("o", job),
                                method_reseal, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("AddRecoveryKey", SD_BUS_ARGS("ay", passphrase, "a{sv}", options),
                                SD_BUS_RESULT("o", job), method_add_recovery_key,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END,
};

static int volume_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        _cleanup_free_ char *uuid = NULL;
        Manager *m = userdata;
        Volume *v;
        int r;

        r = sd_bus_path_decode(path, TP_BUS_VOLUME_PREFIX, &uuid);
        if (r <= 0)
                return 0;
        v = manager_find_volume_by_uuid(m, uuid);
        if (!v)
                return 0;
        *found = v;
        return 1;
}

static int volume_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **l;

        l = calloc(m->n_volumes + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_volumes; i++) {
                int r = volume_object_path(&m->volumes[i], &l[i]);
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                free(l[j]);
                        free(l);
                        return r;
                }
        }
        *nodes = l;
        return 0;
}

int manager_add_volume_objects(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, TP_BUS_PATH, TP_BUS_INTERFACE_MANAGER,
                                     volume_manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, TP_BUS_VOLUME_PREFIX, TP_BUS_INTERFACE_VOLUME,
                                       volume_vtable, volume_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, TP_BUS_VOLUME_PREFIX, volume_enumerate, m);
}
