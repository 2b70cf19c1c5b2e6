/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's LUKS2 volumes (src/luks): a registry of known volumes and one volume operation at a time on
 * a worker thread.
 *
 * Known volumes are those an administrator registered through Manager.CreateVolume()/EnrollVolume()
 * (persisted in <state_dir>/volumes, one "UUID<TAB>path" line each, replaced atomically) plus those named
 * in the configuration ([Volumes] Paths=, space-separated absolute paths; their UUIDs are read from the
 * headers at startup, a path without a LUKS2 header is skipped with a warning). The object id is the
 * LUKS UUID: /org/trustedplatform/TrustedPlatform1/volume/<sd_bus_path_encode(UUID)>.
 *
 * The operations (argon2id in create, TPM sealing in enroll/reseal) take seconds, so they run on a thread
 * of their own and the method answers at once with a Job object (job.h); the thread reports its steps
 * (LuksHooks: steps with their expected time) and its end through an eventfd to the loop, which publishes
 * Progress at most every VOLUME_PROGRESS_USEC (interpolated in time within a step, since libcryptsetup's KDF
 * has no callback) and completes the job. Only one operation runs at a time (callers serialize per volume,
 * and the library's header journal is no lock); up to VOLUME_QUEUE_MAX more wait for it in order, each
 * with its job (State running, Progress 0), and a caller beyond that gets Error.Busy. Job.Cancel() drops a
 * waiting operation at once and makes a running one stop at its next safe point (LuksHooks.check()); the
 * job then fails with Error.Cancelled. The libluks functions open their own TPM
 * connection, which needs a TPM that serves several clients (tpm2-abrmd, /dev/tpmrm<N>): with any other
 * TCTI the TPM methods answer Error.VolumeTPMUnavailable, as the CA's TPM key store does. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "daemon/job.h"
#include "daemon/manager.h"
#include "luks/luks-volume.h"
#include "shared/config.h"

#define TP_BUS_INTERFACE_VOLUME "org.trustedplatform.TrustedPlatform1.Volume"
#define TP_BUS_VOLUME_PREFIX "/org/trustedplatform/TrustedPlatform1/volume"
#define VOLUMES_MAX 256U
#define VOLUME_REASON_MAX 256U
#define VOLUME_ACTION_MANAGE "org.trustedplatform.volume.manage"
#define VOLUME_QUEUE_MAX 4U /* operations waiting behind the running one: each holds a passphrase */
#define VOLUME_PROGRESS_USEC (200U * 1000U)

typedef struct Volume {
        Manager *manager;
        char *uuid;
        char *path;
        bool registered; /* persisted in <state_dir>/volumes (else only from the configuration) */
} Volume;

typedef enum VolumeOpKind {
        VOLUME_OP_CREATE,
        VOLUME_OP_ENROLL,
        VOLUME_OP_RESEAL,
        VOLUME_OP_UNENROLL,
        VOLUME_OP_ADD_RECOVERY_KEY,
        _VOLUME_OP_MAX,
        _VOLUME_OP_INVALID = -EINVAL,
} VolumeOpKind;

/* One operation: filled by volume-bus.c, run on a thread, its job completed by the reply callback in the
 * loop. */
typedef struct VolumeOp VolumeOp;
typedef int (*VolumeOpReply)(VolumeOp *op);

struct VolumeOp {
        Manager *manager;
        sd_bus_message *message;
        Job *job;
        VolumeOpKind kind;
        VolumeOpReply reply;

        char *path;
        void *passphrase; /* erase_and_free() */
        size_t passphrase_size;
        char *pin, *old_pin; /* erase_and_free() */
        char *tcti;
        LuksCreateOptions create; /* create.passphrase points at passphrase */
        LuksEnrollOptions enroll; /* enroll.tcti, .pin, .state_dir, .backup_dir point into this op */
        LuksKdfOptions kdf;
        char *label;
        int token;
        TPM2B_PUBLIC authorize_key; /* enroll.authorize_key points here */
        char *signed_policy_path;   /* a private copy of the caller's signed policy, unlinked on free */

        /* results */
        int r;
        char reason[VOLUME_REASON_MAX];
        char *uuid;
        char *key; /* recovery key: erase_and_free() */
        LuksEnrollResult result;
        int slot;

        VolumeOp *next; /* the operations waiting behind Manager.volume_op, in order */
        LuksHooks hooks;
        bool cancel;   /* atomic: Job.Cancel() asked; the hooks stop the thread at the next safe point */
        bool finished; /* atomic: the thread is done, written before the loop is woken */

        /* The step the thread is in (LuksHooks.step()), guarded by lock; the loop interpolates. */
        pthread_mutex_t lock;
        double step_from, step_to;
        uint32_t step_ms;
        uint64_t step_usec; /* CLOCK_MONOTONIC */
        sd_event_source *timer;

        pthread_t thread;
        bool thread_started;
        int fd;
        sd_event_source *source;
};

VolumeOp *volume_op_new(Manager *m, sd_bus_message *message, VolumeOpKind kind);
VolumeOp *volume_op_free(VolumeOp *op);
/* Writes data (a signed-policy file) to a new 0600 file in dir for the library to read; remembered in
 * op->signed_policy_path and removed when op is freed. */
int volume_op_write_signed_policy(VolumeOp *op, const char *dir, const void *data, size_t size);
DEFINE_TRIVIAL_CLEANUP_FUNC(VolumeOp *, volume_op_free);

/* Starts op on its thread, or queues it behind the running one; on success the manager owns it (op->reply
 * runs in the loop, then it is freed) and op->job is cancellable. -EBUSY: VOLUME_QUEUE_MAX wait already. */
int volume_op_start(VolumeOp *op);

/* The TCTI for the library's own TPM connection: -EUNATCH when the daemon's TPM serves one client. */
int manager_volume_tcti(Manager *m, char **ret);
char *manager_volume_backup_dir(Manager *m);

int manager_load_volumes(Manager *m, Config *config);
void manager_free_volumes(Manager *m);
Volume *manager_find_volume_by_uuid(Manager *m, const char *uuid);
Volume *manager_find_volume_by_path(Manager *m, const char *path);
/* Adds (or updates the path of) a registered volume and persists the registry. */
int manager_register_volume(Manager *m, const char *uuid, const char *path);
int volume_object_path(const Volume *v, char **ret);
