/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* LUKS2 volume operations with libcryptsetup: create, status, TPM enrollment, unenrollment, keyslot wipe,
 * recovery keys and reseal. Works on block devices and image files alike (nothing here activates a
 * device-mapper device: unlock tests use crypt_activate_by_passphrase() with a NULL name).
 *
 * Every function returns 0 (or a documented non-negative value) or a negative errno with one line for a
 * user in reason (may be NULL; never contains a secret). Nothing logs above debug level.
 *
 * Crash safety. A change that adds or removes a keyslot takes several LUKS2 header writes (libcryptsetup
 * writes each one atomically: two header copies with sequence numbers and checksums). To make the whole
 * change atomic we keep a journal in the header itself: a token of type "trusted-platform-journal"
 * (no secret, bound to no keyslot) written before the first step and removed after the last:
 *
 *   {"type":"trusted-platform-journal","keyslots":[],"tp-op":"add"|"remove","tp-keyslot":"N","tp-token":T}
 *
 *   add     a keyslot N (and token T for it) is being added. Committed only by removing the journal,
 *           after the new credential was test-unlocked. Found later: rolled back (the token T and the
 *           keyslot N removed), since success was never reported and the old credentials are untouched.
 *   remove  keyslot N and token T are being removed. Found later: rolled forward (the replacement was
 *           tested before the journal was written).
 *
 * A reseal is an "add" (new keyslot + token, tested) followed by a "remove" of the old pair, so a
 * SIGKILL at any point leaves the old or the new TPM credential working, and the passphrase untouched.
 * Every mutating function first completes or rolls back a journal it finds (luks_volume_repair()), and
 * removes tokens of ours left bound to no keyslot. Callers serialize operations on one volume (the daemon
 * does); the journal is not a lock. A header with LUKS2 requirement flags (a reencryption in progress, or a
 * forged one: CVE-2021-4122) is never changed: -EBUSY.
 *
 * Keyslots we make for TPM-sealed secrets use PBKDF2-SHA512 with LUKS2's minimum of 1000 iterations: the
 * secret is 64 random bytes, so no KDF cost adds to the 512 bits an attacker with the header would have to
 * guess, and the unlock at boot stays fast. Passphrases and recovery keys get the volume's KDF options
 * (argon2id by default).
 *
 * Keyslot roles (luks_volume_status()): a keyslot bound to a "trusted-platform-tpm2" token is a TPM
 * credential; one bound to a "trusted-platform-recovery" token (a marker carrying no secret) holds a
 * recovery key; one bound to another token type belongs to that token; the rest are passphrases. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/macro.h"
#include "luks/luks-token.h"
#include "tpm2/tpm2-pcr.h"

#define LUKS_JOURNAL_TOKEN_TYPE "trusted-platform-journal"
#define LUKS_RECOVERY_TOKEN_TYPE "trusted-platform-recovery"
#define LUKS_VOLUME_KEYSLOTS_MAX 32U
#define LUKS_VOLUME_TOKENS_MAX 32U
#define LUKS_VOLUME_PASSPHRASE_MAX 512U  /* what we accept from a caller (cryptsetup's own limit is 512) */
#define LUKS_VOLUME_TPM_SECRET_BYTES 64U /* random bytes, base64-encoded into the keyslot passphrase */
#define LUKS_VOLUME_TPM_PBKDF2_ITERATIONS 1000U
#define LUKS_VOLUME_MIN_SIZE (32U * 1024U * 1024U) /* 16 MiB of LUKS2 header + some data */

typedef enum LuksPbkdf {
        LUKS_PBKDF_ARGON2ID,
        LUKS_PBKDF_PBKDF2,
        _LUKS_PBKDF_MAX,
        _LUKS_PBKDF_INVALID = -EINVAL,
} LuksPbkdf;

const char *luks_pbkdf_to_string(LuksPbkdf p) _const_;
LuksPbkdf luks_pbkdf_from_string(const char *s) _pure_;

/* Progress and cancellation of a long operation (the daemon's Job.Cancel() and Progress), called on the
 * thread that runs the operation; every member may be NULL.
 *
 * check() is called at safe points only: before anything is changed, between libcryptsetup calls (never
 * inside a header write), and during the KDF benchmark (through its progress callback). A negative return
 * (the daemon uses -ECANCELED) stops the operation there with that error, and what it did so far is
 * undone: an "add" under the journal is rolled back (the old credentials were never touched), a create
 * removes the image file it made itself (see luks_volume_create()). Once a change is committed (the new
 * keyslot tested and the journal removed) no check() follows: finishing is then cheaper and safer than
 * undoing.
 *
 * step() says a step starts: the operation is at fraction done (0..1) of its work and reaches next when
 * the step ends, in about expected_ms (0: unknown). KDF steps give the KDF's target time (time_ms), so
 * the caller can interpolate while libcryptsetup computes without a callback. */
typedef struct LuksHooks {
        int (*check)(void *userdata);
        void (*step)(double done, double next, uint32_t expected_ms, void *userdata);
        void *userdata;
} LuksHooks;

/* KDF of the keyslots for passphrases and recovery keys. iterations: pbkdf2 iterations or argon2id time
 * cost; 0 = let libcryptsetup benchmark (2 s unlock time for argon2id, its default). With iterations set
 * no benchmark runs (tests use pbkdf2 with 1000). */
typedef struct LuksKdfOptions {
        LuksPbkdf type;
        uint32_t iterations;
        uint32_t memory_kb; /* argon2id only, 0 = default */
        /* The hooks of the operation the KDF belongs to (create, add recovery key); NULL: none. Without
         * iterations the KDF is then benchmarked here, interruptibly, before the first keyslot. */
        const LuksHooks *hooks;
} LuksKdfOptions;

typedef struct LuksCreateOptions {
        uint64_t size;          /* image files: create or extend to this many bytes; 0 = keep the size */
        const char *passphrase; /* NULL: none (then recovery_key must be set) */
        size_t passphrase_size;
        bool recovery_key; /* also add a generated recovery key */
        LuksKdfOptions kdf;
        const char *label; /* NULL: none */
        bool force;        /* overwrite an existing LUKS header or filesystem signature */
} LuksCreateOptions;

/* Formats path (a block device, or an image file, created when missing if opts->size is set) as LUKS2
 * (aes-xts-plain64, 512-bit key) with a passphrase keyslot and/or a recovery key keyslot.
 * On failure or cancellation (opts->kdf.hooks) after the image file was created here, the file is removed
 * again if it is still the same file with no other link; a target that existed before keeps whatever was
 * written to it (a partial LUKS2 header; reason says so), as with a failure of crypt_format() itself.
 * -EEXIST: a LUKS header or another signature (filesystem, RAID, ...) is there and force is not set
 * (reason names it); -EINVAL: neither passphrase nor recovery key, size below LUKS_VOLUME_MIN_SIZE, bad
 * KDF options. ret_recovery_key (erase_and_free(), may be NULL only if no recovery key is asked for):
 * the key to show the user once. ret_uuid (free(), may be NULL): the new volume's UUID. */
int luks_volume_create(const char *path, const LuksCreateOptions *opts, char **ret_recovery_key,
                       char **ret_uuid, char *reason, size_t reason_size);

typedef enum LuksKeyslotRole {
        LUKS_KEYSLOT_PASSPHRASE, /* active, bound to no token */
        LUKS_KEYSLOT_TPM2,       /* bound to one of our TPM tokens */
        LUKS_KEYSLOT_RECOVERY,   /* bound to a recovery marker */
        LUKS_KEYSLOT_TOKEN,      /* bound to another token type */
        LUKS_KEYSLOT_PENDING,    /* named by an unfinished journal */
        _LUKS_KEYSLOT_ROLE_MAX,
        _LUKS_KEYSLOT_ROLE_INVALID = -EINVAL,
} LuksKeyslotRole;

const char *luks_keyslot_role_to_string(LuksKeyslotRole r) _const_;
LuksKeyslotRole luks_keyslot_role_from_string(const char *s) _pure_;

typedef struct LuksKeyslotStatus {
        int slot;
        LuksKeyslotRole role;
        int token;           /* the token it is bound to, -1 none */
        char pbkdf[16];      /* "argon2id", "pbkdf2", ... */
        char hash[16];       /* pbkdf2 only */
        uint32_t iterations; /* pbkdf2 iterations / argon2 time cost */
        uint32_t memory_kb;  /* argon2 only */
} LuksKeyslotStatus;

typedef struct LuksTokenStatus {
        int id;
        char *type;
        int keyslots[LUKS_VOLUME_KEYSLOTS_MAX];
        size_t n_keyslots;
        LuksToken *token;  /* ours and valid: parsed */
        char *description; /* ours and valid: luks_token_describe() */
        char *problem;     /* ours but unusable (malformed, bound to no keyslot): why; NULL otherwise */
} LuksTokenStatus;

typedef struct LuksVolumeStatus {
        char *uuid;
        char *label;  /* NULL: none */
        char *cipher; /* "aes-xts-plain64" */
        LuksKeyslotStatus keyslots[LUKS_VOLUME_KEYSLOTS_MAX];
        size_t n_keyslots; /* active keyslots, ascending */
        LuksTokenStatus tokens[LUKS_VOLUME_TOKENS_MAX];
        size_t n_tokens;       /* active tokens, ascending */
        bool journal;          /* an operation was interrupted: luks_volume_repair() finishes it */
        uint32_t requirements; /* LUKS2 requirement flags (reencryption): every change is refused (-EBUSY) */
} LuksVolumeStatus;

LuksVolumeStatus *luks_volume_status_free(LuksVolumeStatus *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(LuksVolumeStatus *, luks_volume_status_free);

/* Reads the header (read only, nothing repaired). -EMEDIUMTYPE: no LUKS header (reason says what);
 * -EPROTONOSUPPORT: a LUKS1 header; -ENOENT / -EACCES from opening path. */
int luks_volume_status(const char *path, LuksVolumeStatus **ret, char *reason, size_t reason_size);

/* Text for `tpctl volume status`: one line per keyslot and token, descriptions indented. *ret: free(). */
int luks_volume_status_format(const LuksVolumeStatus *s, char **ret);

/* Completes or rolls back an interrupted operation (see the journal above) and removes tokens of ours bound
 * to no keyslot. Header backup first when something is to be done and backup_dir is set. Returns 0 when
 * there was nothing to do, 1 when it changed the header. */
int luks_volume_repair(const char *path, const char *backup_dir, char *reason, size_t reason_size);

typedef struct LuksEnrollOptions {
        const char *tcti;       /* NULL: $TRUSTED_PLATFORM_TCTI, else the default device */
        const char *token_tcti; /* stored in the token for the unlock path; NULL: none (the default) */
        const char *state_dir;  /* where the SRK pin lives; NULL: the default */
        uint16_t bank;          /* 0: sha256 */
        uint32_t pcr_mask;      /* 0 (and no authorize_key): PCR 7 */
        /* NULL: the current values; else one value per PCR of the mask, sorted: seal to values expected
         * after a planned change (the new token works only after it). No test-unlock is possible then:
         * the new keyslot is tested with the secret before sealing and the blob is parsed back. */
        const Tpm2PcrValue *expected;
        size_t n_expected;
        const TPM2B_PUBLIC *authorize_key; /* seal to signed policies of this key instead of PCR values */
        const char *signed_policy_path;    /* with authorize_key: a signed policy for now, for the test */
        const char *pin;                   /* NULL: no PIN */
        bool accept_risk;                  /* allow an explicit PCR set without PCR 4 or 11 (see below) */
        const char *backup_dir;            /* header backup before the change; NULL: none */
        const LuksHooks *hooks;            /* progress and cancellation; NULL: none */
} LuksEnrollOptions;

typedef struct LuksEnrollResult {
        int keyslot;
        int token;
        /* The PCR policy names no component-identity PCR (4: boot loader and kernel, 11: unified kernel
         * image): any OS signed under a CA in db unseals it (ATTACKS b-6). The caller warns. */
        bool weak_policy;
} LuksEnrollResult;

/* Policy rule (ATTACKS b-6): an explicitly given PCR set without PCR 4 or 11 is refused (-EPERM) unless
 * accept_risk; the default (pcr_mask 0 = PCR 7, the product's documented default) is accepted, and both
 * report weak_policy so the caller can warn. Signed policies are accepted: the signer decides the PCRs. */
int luks_enroll_check_policy(const LuksEnrollOptions *opts, bool *ret_weak, char *reason, size_t reason_size);

/* Enrolls the TPM: a new random secret sealed with tpm2_seal(), a new keyslot for it (unlocked with
 * passphrase, which may be a recovery key as typed) and a token; then test-unlocks the keyslot with the
 * secret unsealed through the token as stored in the header, and only then reports success. On failure
 * everything added is removed again.
 * -EPERM: passphrase wrong, or the policy check above; -ENOSPC: no free keyslot or token; TPM errors as
 * tpm2_seal() and luks_token_unseal(). */
int luks_volume_enroll_tpm(const char *path, const void *passphrase, size_t passphrase_size,
                           const LuksEnrollOptions *opts, LuksEnrollResult *ret, char *reason,
                           size_t reason_size);

/* Replaces TPM token `token` (-1: the volume's only TPM token) by one sealed to opts' policy, without a
 * passphrase: the current token's secret is unsealed (old_pin, old_signed_policy_path for it) and unlocks
 * the new keyslot. When the current token cannot unseal (PCRs changed), passphrase (or a recovery key)
 * is used instead if given, else that error is returned (-EPERM: "PCR 7 changed ..."). Order: add new,
 * test-unlock, remove old. ret: the new pair. */
int luks_volume_reseal(const char *path, int token, const char *old_pin, const char *old_signed_policy_path,
                       const void *passphrase, size_t passphrase_size, const LuksEnrollOptions *opts,
                       LuksEnrollResult *ret, char *reason, size_t reason_size);

/* Removes token `token` (ours: TPM or recovery marker) and its keyslot. -ENOENT: no such token;
 * -EMEDIUMTYPE: not one of ours; -EBUSY: its keyslot is the last one. */
int luks_volume_unenroll(const char *path, int token, const char *backup_dir, char *reason,
                         size_t reason_size);

/* Destroys keyslot `slot` and removes our tokens bound to it. -ENOENT: slot not active; -EINVAL: slot out of
 * range; -EBUSY: the last keyslot. */
int luks_volume_wipe_keyslot(const char *path, int slot, const char *backup_dir, char *reason,
                             size_t reason_size);

/* Adds a generated recovery key (new keyslot + marker token, test-unlocked), unlocked with passphrase.
 * *ret_key (erase_and_free()): to be shown once. ret_slot may be NULL. */
int luks_volume_add_recovery_key(const char *path, const void *passphrase, size_t passphrase_size,
                                 const LuksKdfOptions *kdf, const char *backup_dir, char **ret_key,
                                 int *ret_slot, char *reason, size_t reason_size);

/* Checks passphrase (or a typed recovery key) against the keyslots without changing anything: the slot that
 * opened (>= 0), -EPERM if none. */
int luks_volume_test_passphrase(const char *path, const void *passphrase, size_t passphrase_size,
                                char *reason, size_t reason_size);

/* Writes a header backup to backup_dir/<UUID>.header (created 0700; file 0600, replaced atomically). */
int luks_volume_backup_header(const char *path, const char *backup_dir, char *reason, size_t reason_size);
