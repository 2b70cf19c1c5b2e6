/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <blkid.h>
#include <dirent.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-recovery.h"
#include "luks/luks-unseal.h"
#include "luks/luks-volume.h"
#include "shared/json-util.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define JOURNAL_OP_ADD "add"
#define JOURNAL_OP_REMOVE "remove"

static int refuse(char *reason, size_t size, int r, const char *format, ...) _printf_(4, 5);
static int refuse(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
        }
        return r;
}

static const char *const pbkdf_table[_LUKS_PBKDF_MAX] = {
        [LUKS_PBKDF_ARGON2ID] = "argon2id",
        [LUKS_PBKDF_PBKDF2] = "pbkdf2",
};

const char *luks_pbkdf_to_string(LuksPbkdf p) {
        return p >= 0 && p < _LUKS_PBKDF_MAX ? pbkdf_table[p] : NULL;
}

LuksPbkdf luks_pbkdf_from_string(const char *s) {
        for (int i = 0; s && i < _LUKS_PBKDF_MAX; i++)
                if (streq(s, pbkdf_table[i]))
                        return (LuksPbkdf) i;
        return _LUKS_PBKDF_INVALID;
}

static const char *const keyslot_role_table[_LUKS_KEYSLOT_ROLE_MAX] = {
        [LUKS_KEYSLOT_PASSPHRASE] = "passphrase", [LUKS_KEYSLOT_TPM2] = "tpm2",
        [LUKS_KEYSLOT_RECOVERY] = "recovery-key", [LUKS_KEYSLOT_TOKEN] = "token",
        [LUKS_KEYSLOT_PENDING] = "pending",
};

const char *luks_keyslot_role_to_string(LuksKeyslotRole r) {
        return r >= 0 && r < _LUKS_KEYSLOT_ROLE_MAX ? keyslot_role_table[r] : NULL;
}

LuksKeyslotRole luks_keyslot_role_from_string(const char *s) {
        for (int i = 0; s && i < _LUKS_KEYSLOT_ROLE_MAX; i++)
                if (streq(s, keyslot_role_table[i]))
                        return (LuksKeyslotRole) i;
        return _LUKS_KEYSLOT_ROLE_INVALID;
}

static void crypt_freep(struct crypt_device **cd) {
        if (*cd)
                crypt_free(*cd);
}

/* libcryptsetup's messages go to our debug log only: we are library code, the caller reports. */
static void crypt_log_debug(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);

        while (n > 0 && msg[n - 1] == '\n')
                n--;
        log_debug("libcryptsetup: %.*s", (int) n, msg);
}

static int volume_init(const char *path, struct crypt_device **ret, char *reason, size_t reason_size) {
        struct crypt_device *cd = NULL;
        int r;

        r = crypt_init(&cd, path);
        if (r < 0) {
                if (access(path, F_OK) < 0)
                        return refuse(reason, reason_size, -errno, "cannot open '%s': %s", path,
                                      strerror(errno));
                return refuse(reason, reason_size, r, "cannot open '%s': %s", path, strerror(-r));
        }
        crypt_set_log_callback(cd, crypt_log_debug, NULL);
        *ret = cd;
        return 0;
}

/* Opens and loads a LUKS2 header, telling "not LUKS" and "LUKS1" apart for the user. */
static int volume_open(const char *path, struct crypt_device **ret, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);
        assert(ret);

        r = volume_init(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r >= 0) {
                *ret = TAKE_PTR(cd);
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        log_debug_errno(r, "No LUKS2 header on '%s': %m", path);
        crypt_free(TAKE_PTR(cd));
        if (volume_init(path, &cd, NULL, 0) >= 0 && crypt_load(cd, CRYPT_LUKS1, NULL) >= 0)
                return refuse(reason, reason_size, -EPROTONOSUPPORT,
                              "'%s' has a LUKS1 header; convert it to LUKS2 first (cryptsetup convert)", path);
        if (r == -EBUSY || r == -EACCES || r == -EPERM)
                return refuse(reason, reason_size, r, "cannot read the header of '%s': %s", path,
                              strerror(-r));
        return refuse(reason, reason_size, -EMEDIUMTYPE, "'%s' has no valid LUKS2 header", path);
}

/* A token's "keyslots" array. Foreign tokens are hostile input like ours: anything malformed gives -EBADMSG. */
static int token_keyslots(struct crypt_device *cd, int id, int *ret, size_t *ret_n, json_t **ret_json) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        const char *text = NULL;
        size_t i, n = 0;
        json_t *a, *e;
        int r;

        r = crypt_token_json_get(cd, id, &text);
        if (r < 0)
                return r;
        r = json_parse_strict(text, strlen(text), &o);
        if (r < 0)
                return r;
        a = json_object_get(o, "keyslots");
        if (!json_is_array(a) || json_array_size(a) > LUKS_VOLUME_KEYSLOTS_MAX)
                return -EBADMSG;
        json_array_foreach(a, i, e) {
                uint32_t slot;

                if (!json_is_string(e) || safe_atou32(json_string_value(e), &slot) < 0 ||
                    slot >= LUKS_VOLUME_KEYSLOTS_MAX)
                        return -EBADMSG;
                ret[n++] = (int) slot;
        }
        *ret_n = n;
        if (ret_json)
                *ret_json = TAKE_PTR(o);
        return 0;
}

static bool token_is_type(struct crypt_device *cd, int id, const char *type) {
        const char *t = NULL;
        crypt_token_info i = crypt_token_status(cd, id, &t);

        return IN_SET(i, CRYPT_TOKEN_EXTERNAL, CRYPT_TOKEN_EXTERNAL_UNKNOWN) && t && streq(t, type);
}

static bool token_exists(struct crypt_device *cd, int id) {
        return !IN_SET(crypt_token_status(cd, id, NULL), CRYPT_TOKEN_INVALID, CRYPT_TOKEN_INACTIVE);
}

static bool keyslot_active(struct crypt_device *cd, int slot) {
        return IN_SET(crypt_keyslot_status(cd, slot), CRYPT_SLOT_ACTIVE, CRYPT_SLOT_ACTIVE_LAST);
}

static size_t count_active_keyslots(struct crypt_device *cd) {
        size_t n = 0;

        for (int s = 0; s < (int) LUKS_VOLUME_KEYSLOTS_MAX; s++)
                if (keyslot_active(cd, s))
                        n++;
        return n;
}

/* Whether a token other than except references slot. */
static bool keyslot_referenced(struct crypt_device *cd, int slot, int except) {
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++) {
                int slots[LUKS_VOLUME_KEYSLOTS_MAX];
                size_t n = 0;

                if (id == except || !token_exists(cd, id) || token_keyslots(cd, id, slots, &n, NULL) < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (slots[i] == slot)
                                return true;
        }
        return false;
}

static int free_keyslot(struct crypt_device *cd) {
        for (int s = 0; s < (int) LUKS_VOLUME_KEYSLOTS_MAX; s++)
                if (crypt_keyslot_status(cd, s) == CRYPT_SLOT_INACTIVE)
                        return s;
        return -ENOSPC;
}

static int free_token(struct crypt_device *cd, int except) {
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                if (id != except && crypt_token_status(cd, id, NULL) == CRYPT_TOKEN_INACTIVE)
                        return id;
        return -ENOSPC;
}

static int journal_write(struct crypt_device *cd, const char *op, int slot, int token) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *text = NULL;
        char s[16];
        int id;

        id = free_token(cd, token);
        if (id < 0)
                return id;
        snprintf(s, sizeof(s), "%d", slot);
        o = json_pack("{s:s, s:[], s:s, s:s, s:i}", "type", LUKS_JOURNAL_TOKEN_TYPE, "keyslots", "tp-op", op,
                      "tp-keyslot", s, "tp-token", token);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        return crypt_token_json_set(cd, id, text);
}

static int token_remove(struct crypt_device *cd, int id) {
        int r = crypt_token_json_set(cd, id, NULL);
        return r < 0 ? r : 0;
}

/* The secret-free marker that tells a recovery key's keyslot from a passphrase's. */
static int recovery_marker_set(struct crypt_device *cd, int id, int slot) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *text = NULL;
        char s[16];
        int r;

        snprintf(s, sizeof(s), "%d", slot);
        o = json_pack("{s:s, s:[s], s:i}", "type", LUKS_RECOVERY_TOKEN_TYPE, "keyslots", s, "tp-version", 1);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        r = crypt_token_json_set(cd, id, text);
        return r < 0 ? r : 0;
}

static int keyslot_destroy(struct crypt_device *cd, int slot) {
        int r;

        if (!keyslot_active(cd, slot))
                return 0;
        r = crypt_keyslot_destroy(cd, slot);
        return r < 0 ? r : 0;
}

/* Removes keyslot slot (if active) and token (if >= 0): the keyslot first, which also unbinds it from every
 * token in the same header write, so no token ever points at a missing keyslot. */
static int remove_pair_steps(struct crypt_device *cd, int slot, int token) {
        int r;

        if (slot >= 0) {
                r = keyslot_destroy(cd, slot);
                if (r < 0)
                        return r;
        }
        if (token >= 0 && token_exists(cd, token))
                return token_remove(cd, token);
        return 0;
}

/* Finishes (remove) or undoes (add) one journal entry. */
static int journal_replay(struct crypt_device *cd, int id) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        const char *text = NULL, *op;
        int slots[LUKS_VOLUME_KEYSLOTS_MAX];
        size_t n = 0;
        uint32_t slot = UINT32_MAX;
        json_int_t token = -1;
        json_t *v;
        int r;

        r = crypt_token_json_get(cd, id, &text);
        if (r < 0)
                return r;
        if (json_parse_strict(text, strlen(text), &o) < 0)
                return token_remove(cd, id);
        op = json_string_value(json_object_get(o, "tp-op"));
        v = json_object_get(o, "tp-keyslot");
        if (json_is_string(v) && safe_atou32(json_string_value(v), &slot) >= 0 &&
            slot >= LUKS_VOLUME_KEYSLOTS_MAX)
                slot = UINT32_MAX;
        v = json_object_get(o, "tp-token");
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < LUKS_VOLUME_TOKENS_MAX)
                token = json_integer_value(v);
        if (!op || slot == UINT32_MAX) {
                log_debug("Dropping malformed journal token %d", id);
                return token_remove(cd, id);
        }

        /* A token the journal names is only ours to touch if it is one of our types and bound to nothing
         * but the journal's keyslot. */
        if (token >= 0) {
                bool ours = token_is_type(cd, (int) token, LUKS_TOKEN_TYPE) ||
                        token_is_type(cd, (int) token, LUKS_RECOVERY_TOKEN_TYPE);
                if (!ours || token_keyslots(cd, (int) token, slots, &n, NULL) < 0 || n > 1 ||
                    (n == 1 && slots[0] != (int) slot))
                        token = -1;
        }

        if (streq(op, JOURNAL_OP_ADD)) {
                /* Roll back: the keyslot only if no other token uses it and it is not the last one. */
                log_debug("Rolling back interrupted add of keyslot %u, token %d", slot, (int) token);
                if (keyslot_active(cd, (int) slot) && !keyslot_referenced(cd, (int) slot, (int) token) &&
                    count_active_keyslots(cd) > 1) {
                        r = keyslot_destroy(cd, (int) slot);
                        if (r < 0)
                                return r;
                }
                if (token >= 0 && token_exists(cd, (int) token)) {
                        r = token_remove(cd, (int) token);
                        if (r < 0)
                                return r;
                }
        } else if (streq(op, JOURNAL_OP_REMOVE)) {
                /* Roll forward, keeping the last keyslot whatever the journal says. */
                log_debug("Completing interrupted removal of keyslot %u, token %d", slot, (int) token);
                if (count_active_keyslots(cd) > 1 || !keyslot_active(cd, (int) slot)) {
                        r = remove_pair_steps(cd, (int) slot, (int) token);
                        if (r < 0)
                                return r;
                }
        }
        return token_remove(cd, id);
}

/* Replays journals and removes our tokens bound to no keyslot. Returns 1 if the header changed. */
static int volume_recover(struct crypt_device *cd) {
        bool changed = false;
        int r;

        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                if (token_is_type(cd, id, LUKS_JOURNAL_TOKEN_TYPE)) {
                        r = journal_replay(cd, id);
                        if (r < 0)
                                return r;
                        changed = true;
                }
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++) {
                int slots[LUKS_VOLUME_KEYSLOTS_MAX];
                size_t n = 0;
                bool dangling;

                if (!token_is_type(cd, id, LUKS_TOKEN_TYPE) && !token_is_type(cd, id, LUKS_RECOVERY_TOKEN_TYPE))
                        continue;
                dangling = token_keyslots(cd, id, slots, &n, NULL) >= 0 && n == 0;
                if (n == 1 && !keyslot_active(cd, slots[0]))
                        dangling = true;
                if (dangling) {
                        log_debug("Removing token %d, bound to no keyslot", id);
                        r = token_remove(cd, id);
                        if (r < 0)
                                return r;
                        changed = true;
                }
        }
        return changed;
}

static bool uuid_is_safe(const char *u) {
        if (!u || strlen(u) == 0 || strlen(u) > 40)
                return false;
        for (const char *p = u; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                      *p == '-'))
                        return false;
        return true;
}

/* Temporary backups of a writer that was killed (16 MiB each with the default header size): callers
 * serialize changes to one volume, so any we find are dead. */
static void remove_stale_backups(const char *backup_dir, const char *uuid) {
        _cleanup_free_ char *prefix = NULL;
        DIR *d;
        struct dirent *de;

        if (asprintf(&prefix, ".#%s.header.", uuid) < 0)
                return;
        d = opendir(backup_dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix) && unlinkat(dirfd(d), de->d_name, 0) < 0)
                        log_debug("Cannot remove stale backup '%s': %m", de->d_name);
        closedir(d);
}

static int backup_header(struct crypt_device *cd, const char *backup_dir, char *reason, size_t reason_size) {
        _cleanup_free_ char *final = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        const char *uuid = crypt_get_uuid(cd);
        uint8_t rnd[8];
        int r;

        if (!backup_dir)
                return 0;
        if (!uuid_is_safe(uuid))
                return refuse(reason, reason_size, -EBADMSG, "the header's UUID is not a UUID");
        r = mkdir_p_secure(backup_dir, 0700);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot create backup directory '%s': %s", backup_dir,
                              strerror(-r));
        remove_stale_backups(backup_dir, uuid);
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        if (asprintf(&final, "%s/%s.header", backup_dir, uuid) < 0 ||
            asprintf(&tmp, "%s/.#%s.header.%02x%02x%02x%02x%02x%02x%02x%02x", backup_dir, uuid, rnd[0],
                     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]) < 0)
                return -ENOMEM;

        r = crypt_header_backup(cd, CRYPT_LUKS2, tmp);
        if (r < 0) {
                (void) unlink(tmp);
                return refuse(reason, reason_size, r, "header backup to '%s' failed: %s", backup_dir,
                              strerror(-r));
        }
        fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0 || rename(tmp, final) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return refuse(reason, reason_size, r, "header backup to '%s' failed: %s", backup_dir,
                              strerror(-r));
        }
        dfd = open(backup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return refuse(reason, reason_size, -errno, "cannot sync '%s': %m", backup_dir);
        return 0;
}

/* Opens a volume for a change: backup, then whatever an interrupted operation left is finished. */
static int volume_begin(const char *path, const char *backup_dir, struct crypt_device **ret, char *reason,
                        size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        uint32_t reqs = 0;
        int r;

        r = volume_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        /* A reencryption in progress (or a forged "reencryption crashed" flag, CVE-2021-4122): we never
         * resume or repair one, and never change such a header. */
        if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &reqs) < 0 || reqs != 0)
                return refuse(reason, reason_size, -EBUSY,
                              "the header has requirement flags (0x%x: a reencryption in progress?); not "
                              "changing it",
                              reqs);
        r = backup_header(cd, backup_dir, reason, reason_size);
        if (r < 0)
                return r;
        r = volume_recover(cd);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot finish an interrupted operation: %s",
                              strerror(-r));
        *ret = TAKE_PTR(cd);
        return 0;
}

int luks_volume_backup_header(const char *path, const char *backup_dir, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);
        assert(backup_dir);

        r = volume_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        return backup_header(cd, backup_dir, reason, reason_size);
}

int luks_volume_repair(const char *path, const char *backup_dir, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        bool needed = false;
        int r;

        r = luks_volume_status(path, &s, reason, reason_size);
        if (r < 0)
                return r;
        needed = s->journal;
        for (size_t i = 0; i < s->n_tokens; i++)
                if (s->tokens[i].problem)
                        needed = true;
        if (!needed)
                return 0;
        r = volume_begin(path, backup_dir, &cd, reason, reason_size);
        return r < 0 ? r : 1;
}

/* The KDF for passphrases and recovery keys. hash points to static strings, so the struct can be copied. */
static int kdf_params(const LuksKdfOptions *kdf, struct crypt_pbkdf_type *ret, char *reason,
                      size_t reason_size) {
        struct crypt_pbkdf_type p = {};

        switch (kdf ? kdf->type : LUKS_PBKDF_ARGON2ID) {
        case LUKS_PBKDF_ARGON2ID:
                p = *crypt_get_pbkdf_default(CRYPT_LUKS2);
                p.type = CRYPT_KDF_ARGON2ID;
                if (kdf && kdf->memory_kb > 0)
                        p.max_memory_kb = kdf->memory_kb;
                if (kdf && kdf->iterations > 0) {
                        p.iterations = kdf->iterations;
                        p.flags |= CRYPT_PBKDF_NO_BENCHMARK;
                        if (p.parallel_threads == 0)
                                p.parallel_threads = 1;
                }
                break;
        case LUKS_PBKDF_PBKDF2:
                p = (struct crypt_pbkdf_type){ .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .time_ms = 2000 };
                if (kdf->iterations > 0) {
                        if (kdf->iterations < 1000)
                                return refuse(reason, reason_size, -EINVAL,
                                              "pbkdf2 needs at least 1000 iterations");
                        p.iterations = kdf->iterations;
                        p.flags = CRYPT_PBKDF_NO_BENCHMARK;
                }
                break;
        default:
                return refuse(reason, reason_size, -EINVAL, "unknown key derivation function");
        }
        *ret = p;
        return 0;
}

static int set_kdf(struct crypt_device *cd, const LuksKdfOptions *kdf, char *reason, size_t reason_size) {
        struct crypt_pbkdf_type p;
        int r;

        r = kdf_params(kdf, &p, reason, reason_size);
        if (r < 0)
                return r;
        r = crypt_set_pbkdf_type(cd, &p);
        if (r < 0)
                return refuse(reason, reason_size, r, "key derivation options refused: %s", strerror(-r));
        return 0;
}

static int set_tpm_kdf(struct crypt_device *cd) {
        const struct crypt_pbkdf_type p = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = "sha512",
                .iterations = LUKS_VOLUME_TPM_PBKDF2_ITERATIONS,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        return crypt_set_pbkdf_type(cd, &p);
}

/* The volume key from a passphrase, or from a recovery key typed with other case or separators. */
static int unlock_volume_key(struct crypt_device *cd, const void *pass, size_t pass_size, void **ret,
                             size_t *ret_size, char *reason, size_t reason_size) {
        _cleanup_erase_free_ char *vk = NULL, *canonical = NULL;
        size_t vk_size;
        int r, k;

        if (!pass || pass_size == 0)
                return refuse(reason, reason_size, -EINVAL, "a passphrase or recovery key is needed");
        if (pass_size > LUKS_VOLUME_PASSPHRASE_MAX)
                return refuse(reason, reason_size, -EINVAL, "passphrase longer than %u bytes",
                              LUKS_VOLUME_PASSPHRASE_MAX);
        r = crypt_get_volume_key_size(cd);
        if (r <= 0)
                return refuse(reason, reason_size, -EBADMSG, "the header has no volume key size");
        vk_size = (size_t) r;
        vk = malloc(vk_size);
        if (!vk)
                return -ENOMEM;
        k = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_size, pass, pass_size);
        if (k == -EPERM && luks_recovery_key_normalize(pass, pass_size, &canonical, NULL, 0) >= 0 &&
            (strlen(canonical) != pass_size || memcmp(canonical, pass, pass_size) != 0))
                k = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_size, canonical, strlen(canonical));
        if (k == -EPERM)
                return refuse(reason, reason_size, -EPERM, "the passphrase opens no keyslot");
        if (k < 0)
                return refuse(reason, reason_size, k, "cannot unlock the volume key: %s", strerror(-k));
        *ret = TAKE_PTR(vk);
        *ret_size = vk_size;
        return k;
}

/* ---- create ---- */

static int check_signatures(const char *path, char *reason, size_t reason_size) {
        blkid_probe pr;
        const char *type = NULL;
        int r;

        pr = blkid_new_probe_from_filename(path);
        if (!pr)
                return refuse(reason, reason_size, errno > 0 ? -errno : -EIO, "cannot probe '%s'", path);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        r = blkid_do_safeprobe(pr);
        if (r == 0) {
                if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0)
                        (void) blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL);
                r = refuse(reason, reason_size, -EEXIST,
                           "'%s' holds a %s signature; refusing to overwrite it without force", path,
                           type && string_is_safe(type, 32) ? type : "(unknown)");
        } else if (r == -2)
                r = refuse(reason, reason_size, -EEXIST,
                           "'%s' holds several signatures; refusing to overwrite them without force", path);
        else if (r < 0)
                r = refuse(reason, reason_size, -EIO, "cannot probe '%s' for signatures", path);
        else
                r = 0;
        blkid_free_probe(pr);
        return r;
}

static int prepare_target(const char *path, uint64_t size, char *reason, size_t reason_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | (size > 0 ? O_CREAT : 0), 0600);
        if (fd < 0)
                return refuse(reason, reason_size, -errno, "cannot open '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode))
                return 0;
        if (!S_ISREG(st.st_mode))
                return refuse(reason, reason_size, -EINVAL, "'%s' is neither a block device nor a file", path);
        if (size > 0 && (uint64_t) st.st_size < size && ftruncate(fd, (off_t) size) < 0)
                return refuse(reason, reason_size, -errno, "cannot resize '%s': %m", path);
        if (size == 0 && (uint64_t) st.st_size < LUKS_VOLUME_MIN_SIZE)
                return refuse(reason, reason_size, -EINVAL, "'%s' is smaller than %u MiB", path,
                              LUKS_VOLUME_MIN_SIZE / 1024 / 1024);
        return 0;
}

int luks_volume_create(const char *path, const LuksCreateOptions *opts, char **ret_recovery_key,
                       char **ret_uuid, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ char *recovery = NULL;
        _cleanup_free_ char *uuid = NULL;
        struct crypt_params_luks2 params = {};
        struct crypt_pbkdf_type pbkdf;
        int r, slot;

        assert(path);
        assert(opts);

        if (!opts->passphrase && !opts->recovery_key)
                return refuse(reason, reason_size, -EINVAL, "a passphrase or a recovery key is needed");
        if (opts->passphrase &&
            (opts->passphrase_size == 0 || opts->passphrase_size > LUKS_VOLUME_PASSPHRASE_MAX))
                return refuse(reason, reason_size, -EINVAL, "the passphrase must be 1..%u bytes",
                              LUKS_VOLUME_PASSPHRASE_MAX);
        if (opts->recovery_key && !ret_recovery_key)
                return -EINVAL;
        if (opts->size > 0 && opts->size < LUKS_VOLUME_MIN_SIZE)
                return refuse(reason, reason_size, -EINVAL, "size below %u MiB",
                              LUKS_VOLUME_MIN_SIZE / 1024 / 1024);
        if (opts->label && !string_is_safe(opts->label, 47))
                return refuse(reason, reason_size, -EINVAL, "the label must be 1..47 printable characters");

        if (!opts->force && access(path, F_OK) >= 0) {
                r = check_signatures(path, reason, reason_size);
                if (r < 0)
                        return r;
        }
        r = prepare_target(path, opts->size, reason, reason_size);
        if (r < 0)
                return r;

        r = volume_init(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        /* crypt_format() takes the KDF from params (a copy: it resets the device's own settings). */
        r = kdf_params(&opts->kdf, &pbkdf, reason, reason_size);
        if (r < 0)
                return r;
        params.label = opts->label;
        params.sector_size = 512;
        params.pbkdf = &pbkdf;
        r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params);
        if (r < 0)
                return refuse(reason, reason_size, r, "formatting '%s' failed: %s", path, strerror(-r));

        if (opts->passphrase) {
                slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, opts->passphrase,
                                                       opts->passphrase_size);
                if (slot < 0)
                        return refuse(reason, reason_size, slot, "adding the passphrase failed: %s",
                                      strerror(-slot));
        }
        if (opts->recovery_key) {
                int id;

                r = luks_recovery_key_generate(&recovery);
                if (r < 0)
                        return r;
                slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, recovery,
                                                       strlen(recovery));
                if (slot < 0)
                        return refuse(reason, reason_size, slot, "adding the recovery key failed: %s",
                                      strerror(-slot));
                id = free_token(cd, -1);
                if (id < 0)
                        return id;
                r = recovery_marker_set(cd, id, slot);
                if (r < 0)
                        return refuse(reason, reason_size, r, "marking the recovery key failed: %s",
                                      strerror(-r));
        }

        if (ret_uuid) {
                uuid = strdup(strempty(crypt_get_uuid(cd)));
                if (!uuid)
                        return -ENOMEM;
                *ret_uuid = TAKE_PTR(uuid);
        }
        if (ret_recovery_key)
                *ret_recovery_key = TAKE_PTR(recovery);
        return 0;
}

/* ---- status ---- */

LuksVolumeStatus *luks_volume_status_free(LuksVolumeStatus *s) {
        if (!s)
                return NULL;
        free(s->uuid);
        free(s->label);
        free(s->cipher);
        for (size_t i = 0; i < s->n_tokens; i++) {
                free(s->tokens[i].type);
                luks_token_free(s->tokens[i].token);
                free(s->tokens[i].description);
                free(s->tokens[i].problem);
        }
        free(s);
        return NULL;
}

static int status_token(struct crypt_device *cd, int id, const char *type, LuksTokenStatus *t) {
        const char *json = NULL;
        char why[256] = "";
        int r;

        t->id = id;
        t->type = strdup(type);
        if (!t->type)
                return -ENOMEM;
        r = token_keyslots(cd, id, t->keyslots, &t->n_keyslots, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                t->n_keyslots = 0;
                if (!streq(type, LUKS_TOKEN_TYPE) && !streq(type, LUKS_RECOVERY_TOKEN_TYPE))
                        return 0;
                t->problem = strdup("malformed keyslots list");
                return t->problem ? 0 : -ENOMEM;
        }

        if (streq(type, LUKS_TOKEN_TYPE)) {
                if (crypt_token_json_get(cd, id, &json) < 0 || !json)
                        return -EIO;
                r = luks_token_parse(json, strlen(json), &t->token, why, sizeof(why));
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && t->n_keyslots == 0)
                        t->problem = strdup(
                                "bound to no keyslot (an interrupted operation; repair removes it)");
                else if (r < 0)
                        t->problem = strdup(why);
                else if (!keyslot_active(cd, t->token->keyslot))
                        t->problem = strdup("its keyslot is not active (repair removes the token)");
                else
                        return luks_token_describe(t->token, &t->description);
                return t->problem ? 0 : -ENOMEM;
        }
        if (streq(type, LUKS_RECOVERY_TOKEN_TYPE) &&
            (t->n_keyslots != 1 || !keyslot_active(cd, t->keyslots[0]))) {
                t->problem = strdup("bound to no active keyslot (repair removes it)");
                return t->problem ? 0 : -ENOMEM;
        }
        return 0;
}

int luks_volume_status(const char *path, LuksVolumeStatus **ret, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        int pending = -1;
        int r;

        assert(path);
        assert(ret);

        r = volume_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(LuksVolumeStatus));
        if (!s)
                return -ENOMEM;
        s->uuid = strdup(strempty(crypt_get_uuid(cd)));
        if (asprintf(&s->cipher, "%s-%s", strempty(crypt_get_cipher(cd)),
                     strempty(crypt_get_cipher_mode(cd))) < 0)
                s->cipher = NULL;
        if (!s->uuid || !s->cipher)
                return -ENOMEM;
        if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &s->requirements) < 0)
                s->requirements = UINT32_MAX;
        if (!isempty(crypt_get_label(cd))) {
                s->label = strdup(crypt_get_label(cd));
                if (!s->label)
                        return -ENOMEM;
        }

        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++) {
                const char *type = NULL;
                crypt_token_info info = crypt_token_status(cd, id, &type);

                if (IN_SET(info, CRYPT_TOKEN_INVALID, CRYPT_TOKEN_INACTIVE) || !type)
                        continue;
                if (streq(type, LUKS_JOURNAL_TOKEN_TYPE)) {
                        _cleanup_(json_decrefp) json_t *o = NULL;
                        const char *j = NULL;
                        uint32_t slot;

                        s->journal = true;
                        if (crypt_token_json_get(cd, id, &j) >= 0 && json_parse_strict(j, strlen(j), &o) >= 0 &&
                            json_is_string(json_object_get(o, "tp-keyslot")) &&
                            safe_atou32(json_string_value(json_object_get(o, "tp-keyslot")), &slot) >= 0 &&
                            slot < LUKS_VOLUME_KEYSLOTS_MAX)
                                pending = (int) slot;
                        continue;
                }
                r = status_token(cd, id, type, &s->tokens[s->n_tokens]);
                s->n_tokens++;
                if (r < 0)
                        return r;
        }

        for (int slot = 0; slot < (int) LUKS_VOLUME_KEYSLOTS_MAX; slot++) {
                LuksKeyslotStatus *k = &s->keyslots[s->n_keyslots];
                struct crypt_pbkdf_type p = {};

                if (!keyslot_active(cd, slot))
                        continue;
                *k = (LuksKeyslotStatus){ .slot = slot, .role = LUKS_KEYSLOT_PASSPHRASE, .token = -1 };
                if (crypt_keyslot_get_pbkdf(cd, slot, &p) >= 0) {
                        snprintf(k->pbkdf, sizeof(k->pbkdf), "%s", strempty(p.type));
                        snprintf(k->hash, sizeof(k->hash), "%s", strempty(p.hash));
                        k->iterations = p.iterations;
                        k->memory_kb = p.max_memory_kb;
                }
                for (size_t i = 0; i < s->n_tokens && k->token < 0; i++)
                        for (size_t j = 0; j < s->tokens[i].n_keyslots; j++)
                                if (s->tokens[i].keyslots[j] == slot) {
                                        k->token = s->tokens[i].id;
                                        k->role = streq(s->tokens[i].type, LUKS_TOKEN_TYPE) ? LUKS_KEYSLOT_TPM2
                                                : streq(s->tokens[i].type, LUKS_RECOVERY_TOKEN_TYPE)
                                                ? LUKS_KEYSLOT_RECOVERY
                                                : LUKS_KEYSLOT_TOKEN;
                                }
                if (k->token < 0 && slot == pending)
                        k->role = LUKS_KEYSLOT_PENDING;
                s->n_keyslots++;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

int luks_volume_status_format(const LuksVolumeStatus *s, char **ret) {
        _cleanup_free_ char *text = NULL;
        char line[512];

        assert(s);
        assert(ret);

        snprintf(line, sizeof(line), "UUID:   %s\nLabel:  %s\nCipher: %s\nKeyslots:\n", s->uuid,
                 s->label ?: "(none)", s->cipher);
        if (!strextend(&text, line))
                return -ENOMEM;
        for (size_t i = 0; i < s->n_keyslots; i++) {
                const LuksKeyslotStatus *k = &s->keyslots[i];
                char tok[32] = "", kdf[96];

                if (k->token >= 0)
                        snprintf(tok, sizeof(tok), ", token %d", k->token);
                if (streq(k->pbkdf, "pbkdf2"))
                        snprintf(kdf, sizeof(kdf), "pbkdf2-%s, %u iterations", k->hash, k->iterations);
                else
                        snprintf(kdf, sizeof(kdf), "%s, time cost %u, %u KiB", k->pbkdf, k->iterations,
                                 k->memory_kb);
                snprintf(line, sizeof(line), "  %2d: %s%s (%s)\n", k->slot,
                         luks_keyslot_role_to_string(k->role), tok, kdf);
                if (!strextend(&text, line))
                        return -ENOMEM;
        }
        if (!strextend(&text, s->n_tokens > 0 ? "Tokens:\n" : "Tokens: none\n"))
                return -ENOMEM;
        for (size_t i = 0; i < s->n_tokens; i++) {
                const LuksTokenStatus *t = &s->tokens[i];
                char slots[LUKS_VOLUME_KEYSLOTS_MAX * 4 + 16] = "";

                for (size_t j = 0; j < t->n_keyslots; j++) {
                        size_t l = strlen(slots);
                        snprintf(slots + l, sizeof(slots) - l, "%s%d", j == 0 ? "" : " ", t->keyslots[j]);
                }
                snprintf(line, sizeof(line), "  %2d: %s, keyslot %s\n", t->id,
                         string_is_safe(t->type, 64) ? t->type : "(unprintable type)",
                         t->n_keyslots > 0 ? slots : "none");
                if (!strextend(&text, line))
                        return -ENOMEM;
                if (t->description && !strextend(&text, t->description))
                        return -ENOMEM;
                if (t->problem) {
                        snprintf(line, sizeof(line), "\tProblem: %s\n", t->problem);
                        if (!strextend(&text, line))
                                return -ENOMEM;
                }
        }
        if (s->journal && !strextend(&text, "An operation was interrupted: repair finishes it.\n"))
                return -ENOMEM;
        if (s->requirements != 0) {
                snprintf(line, sizeof(line),
                         "Requirement flags 0x%x (a reencryption in progress?): no changes are made.\n",
                         s->requirements);
                if (!strextend(&text, line))
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

/* ---- enroll ---- */

int luks_enroll_check_policy(const LuksEnrollOptions *opts, bool *ret_weak, char *reason, size_t reason_size) {
        const uint32_t identity = (UINT32_C(1) << 4) | (UINT32_C(1) << 11);

        assert(opts);

        if (opts->authorize_key) {
                if (opts->pcr_mask != 0 || opts->expected)
                        return refuse(reason, reason_size, -EINVAL,
                                      "a signed policy and a PCR selection cannot be combined");
                if (ret_weak)
                        *ret_weak = false;
                return 0;
        }
        if (opts->pcr_mask != 0 && !(opts->pcr_mask & identity) && !opts->accept_risk)
                return refuse(reason, reason_size, -EPERM,
                              "the PCR selection has no component-identity PCR (4 or 11): any OS signed by a "
                              "CA the firmware trusts would unseal it; add PCR 4 or 11, use a signed policy, "
                              "or accept the risk");
        if (ret_weak)
                *ret_weak = opts->pcr_mask == 0 || !(opts->pcr_mask & identity);
        return 0;
}

/* 64 random bytes, from getrandom() and the TPM RNG mixed, as base64 text: the keyslot passphrase. */
static int make_tpm_secret(Tpm2Context *c, char **ret) {
        uint8_t a[LUKS_VOLUME_TPM_SECRET_BYTES], b[LUKS_VOLUME_TPM_SECRET_BYTES];
        size_t done = 0;
        int r;

        while (done < sizeof(a)) {
                ssize_t n = getrandom(a + done, sizeof(a) - done, 0);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        done += (size_t) n;
        }
        r = tpm2_get_random(c, b, sizeof(b));
        if (r < 0) {
                erase_mem(a, sizeof(a));
                return r;
        }
        for (size_t i = 0; i < sizeof(a); i++)
                a[i] ^= b[i];
        r = base64mem(a, sizeof(a), ret);
        erase_mem(a, sizeof(a));
        erase_mem(b, sizeof(b));
        return r;
}

static int tpm_error(Tpm2Error *e, int r, const char *what, char *reason, size_t reason_size) {
        return refuse(reason, reason_size, r, "%s: %s", what, e->message[0] ? e->message : strerror(-r));
}

/* Seals a new secret to opts' policy. The context is closed before returning: the unseal test opens its own
 * (swtpm and a TPM without resource manager serve one connection at a time). */
static int seal_new_secret(const LuksEnrollOptions *opts, char **ret_secret, Tpm2SealedBlob **ret_blob,
                           TPM2B_NAME *ret_srk, char *reason, size_t reason_size) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_free_ void *name = NULL;
        Tpm2SrkInfo info = {};
        ESYS_TR srk = ESYS_TR_NONE;
        Tpm2SealOptions so = {
                .bank = opts->bank ?: TPM2_ALG_SHA256,
                .pcr_mask = opts->authorize_key ? 0 : (opts->pcr_mask ?: UINT32_C(1) << 7),
                .expected = opts->expected,
                .n_expected = opts->n_expected,
                .pin = opts->pin,
                .state_dir = opts->state_dir,
                .authorize_key = opts->authorize_key,
        };
        Tpm2Error e = {};
        size_t n = 0;
        int r;

        r = tpm2_context_new(opts->tcti, &c);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot open the TPM: %s", strerror(-r));
        r = make_tpm_secret(c, &secret);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot make a random secret: %s", strerror(-r));
        r = tpm2_seal(c, &so, secret, strlen(secret), &blob, &e);
        if (r < 0)
                return tpm_error(&e, r, "sealing failed", reason, reason_size);
        r = tpm2_srk_provision(c, opts->state_dir, false, &srk, &info);
        tpm2_flush(c, &srk);
        if (r >= 0 && (unhexmem(info.name_hex, SIZE_MAX, &name, &n) < 0 || n > sizeof(ret_srk->name)))
                r = -EBADMSG;
        tpm2_srk_info_done(&info);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot read the storage root key: %s", strerror(-r));
        ret_srk->size = (UINT16) n;
        memcpy(ret_srk->name, name, n);
        *ret_secret = TAKE_PTR(secret);
        *ret_blob = TAKE_PTR(blob);
        return 0;
}

/* Unseals through the token as stored in the header and opens its keyslot with the result. */
static int test_unlock_token(struct crypt_device *cd, int id, const LuksEnrollOptions *opts, char *reason,
                             size_t reason_size) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ void *secret = NULL;
        const char *json = NULL;
        char why[512] = "";
        size_t size = 0;
        int r;

        r = crypt_token_json_get(cd, id, &json);
        if (r < 0)
                return refuse(reason, reason_size, r, "the new token cannot be read back");
        r = luks_token_parse(json, strlen(json), &t, why, sizeof(why));
        if (r < 0)
                return refuse(reason, reason_size, r, "the new token does not parse: %s", why);
        r = luks_token_unseal(t, opts->tcti, opts->pin, opts->signed_policy_path, &secret, &size, why,
                              sizeof(why));
        if (r < 0)
                return refuse(reason, reason_size, r, "test unlock with the new token failed: %s", why);
        r = crypt_activate_by_passphrase(cd, NULL, t->keyslot, secret, size, 0);
        if (r < 0)
                return refuse(reason, reason_size, r, "the new token's secret does not open keyslot %d: %s",
                              t->keyslot, strerror(-r));
        return 0;
}

/* Adds keyslot + token for a freshly sealed secret, under an "add" journal, tests, commits. On any failure
 * the journal is replayed (everything added goes again). */
static int enroll_with_volume_key(struct crypt_device *cd, const void *vk, size_t vk_size,
                                  const LuksEnrollOptions *opts, LuksEnrollResult *ret, char *reason,
                                  size_t reason_size) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        _cleanup_(luks_token_freep) LuksToken *check = NULL;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_free_ char *json = NULL;
        TPM2B_NAME srk = {};
        bool weak = false;
        int r, slot, id, journal;

        r = luks_enroll_check_policy(opts, &weak, reason, reason_size);
        if (r < 0)
                return r;
        if (opts->authorize_key && !opts->signed_policy_path)
                return refuse(reason, reason_size, -EINVAL,
                              "a signed policy for the current PCRs is needed to test the new token");
        if (opts->token_tcti && !string_is_safe(opts->token_tcti, LUKS_TOKEN_TCTI_MAX))
                return refuse(reason, reason_size, -EINVAL,
                              "the token's TCTI is not a short printable string");

        slot = free_keyslot(cd);
        if (slot < 0)
                return refuse(reason, reason_size, slot, "no free keyslot");
        id = free_token(cd, -1);
        if (id < 0)
                return refuse(reason, reason_size, id, "no free token");

        r = seal_new_secret(opts, &secret, &blob, &srk, reason, reason_size);
        if (r < 0)
                return r;
        r = luks_token_format(slot, blob, &srk, opts->token_tcti, &json);
        if (r < 0)
                return refuse(reason, reason_size, r, "cannot format the token: %s", strerror(-r));
        r = luks_token_parse(json, strlen(json), &check, reason, reason_size);
        if (r < 0)
                return r;

        journal = journal_write(cd, JOURNAL_OP_ADD, slot, id);
        if (journal < 0)
                return refuse(reason, reason_size, journal, "cannot write the journal: %s",
                              strerror(-journal));
        r = set_tpm_kdf(cd);
        if (r >= 0)
                r = crypt_keyslot_add_by_volume_key(cd, slot, vk, vk_size, secret, strlen(secret));
        if (r < 0) {
                refuse(reason, reason_size, r, "adding keyslot %d failed: %s", slot, strerror(-r));
                goto rollback;
        }
        r = crypt_token_json_set(cd, id, json);
        if (r < 0) {
                refuse(reason, reason_size, r, "writing token %d failed: %s", id, strerror(-r));
                goto rollback;
        }
        if (opts->expected) {
                /* Sealed to future PCR values: the TPM cannot unseal it now. The keyslot is tested with the
                 * secret itself; the blob was parsed back above. */
                r = crypt_activate_by_passphrase(cd, NULL, slot, secret, strlen(secret), 0);
                if (r < 0) {
                        refuse(reason, reason_size, r, "the new keyslot does not open: %s", strerror(-r));
                        goto rollback;
                }
        } else {
                r = test_unlock_token(cd, id, opts, reason, reason_size);
                if (r < 0)
                        goto rollback;
        }
        r = token_remove(cd, journal);
        if (r < 0) {
                refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
                goto rollback;
        }
        if (ret)
                *ret = (LuksEnrollResult){ .keyslot = slot, .token = id, .weak_policy = weak };
        return 0;

rollback:
        if (journal_replay(cd, journal) < 0)
                log_debug("Rollback of keyslot %d failed; the next operation completes it", slot);
        return r;
}

int luks_volume_enroll_tpm(const char *path, const void *passphrase, size_t passphrase_size,
                           const LuksEnrollOptions *opts, LuksEnrollResult *ret, char *reason,
                           size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ void *vk = NULL;
        size_t vk_size = 0;
        int r;

        assert(path);
        assert(opts);

        r = luks_enroll_check_policy(opts, NULL, reason, reason_size);
        if (r < 0)
                return r;
        r = volume_begin(path, opts->backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        r = unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
        if (r < 0)
                return r;
        return enroll_with_volume_key(cd, vk, vk_size, opts, ret, reason, reason_size);
}

/* Removes keyslot slot and token (may be -1) under a "remove" journal. */
static int remove_pair(struct crypt_device *cd, int slot, int token, char *reason, size_t reason_size) {
        int journal, r;

        if (keyslot_active(cd, slot) && count_active_keyslots(cd) <= 1)
                return refuse(reason, reason_size, -EBUSY,
                              "keyslot %d is the last one; removing it would lose the volume", slot);
        journal = journal_write(cd, JOURNAL_OP_REMOVE, slot, token);
        if (journal < 0)
                return refuse(reason, reason_size, journal, "cannot write the journal: %s",
                              strerror(-journal));
        r = remove_pair_steps(cd, slot, token);
        if (r < 0)
                return refuse(reason, reason_size, r, "removing keyslot %d failed: %s", slot, strerror(-r));
        r = token_remove(cd, journal);
        if (r < 0)
                return refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
        return 0;
}

int luks_volume_unenroll(const char *path, int token, const char *backup_dir, char *reason,
                         size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int slots[LUKS_VOLUME_KEYSLOTS_MAX];
        size_t n = 0;
        int r;

        assert(path);

        if (token < 0 || token >= (int) LUKS_VOLUME_TOKENS_MAX)
                return refuse(reason, reason_size, -EINVAL, "token %d is out of range 0..%u", token,
                              LUKS_VOLUME_TOKENS_MAX - 1);
        r = volume_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        if (!token_exists(cd, token))
                return refuse(reason, reason_size, -ENOENT, "there is no token %d", token);
        if (!token_is_type(cd, token, LUKS_TOKEN_TYPE) && !token_is_type(cd, token, LUKS_RECOVERY_TOKEN_TYPE))
                return refuse(reason, reason_size, -EMEDIUMTYPE,
                              "token %d is not a trusted-platform token; remove it with its own tool", token);
        r = token_keyslots(cd, token, slots, &n, NULL);
        if (r < 0 || n != 1)
                return refuse(reason, reason_size, -EBADMSG, "token %d is not bound to exactly one keyslot",
                              token);
        return remove_pair(cd, slots[0], token, reason, reason_size);
}

int luks_volume_wipe_keyslot(const char *path, int slot, const char *backup_dir, char *reason,
                             size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);

        if (slot < 0 || slot >= (int) LUKS_VOLUME_KEYSLOTS_MAX)
                return refuse(reason, reason_size, -EINVAL, "keyslot %d is out of range 0..%u", slot,
                              LUKS_VOLUME_KEYSLOTS_MAX - 1);
        r = volume_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        if (!keyslot_active(cd, slot))
                return refuse(reason, reason_size, -ENOENT, "keyslot %d is not in use", slot);
        r = remove_pair(cd, slot, -1, reason, reason_size);
        if (r < 0)
                return r;
        /* Our tokens that were bound to it are now bound to nothing. */
        r = volume_recover(cd);
        return r < 0 ? r : 0;
}

int luks_volume_add_recovery_key(const char *path, const void *passphrase, size_t passphrase_size,
                                 const LuksKdfOptions *kdf, const char *backup_dir, char **ret_key,
                                 int *ret_slot, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ void *vk = NULL;
        _cleanup_erase_free_ char *key = NULL;
        size_t vk_size = 0;
        int r, slot, id, journal;

        assert(path);
        assert(ret_key);

        r = volume_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        r = unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
        if (r < 0)
                return r;
        slot = free_keyslot(cd);
        if (slot < 0)
                return refuse(reason, reason_size, slot, "no free keyslot");
        id = free_token(cd, -1);
        if (id < 0)
                return refuse(reason, reason_size, id, "no free token");
        r = set_kdf(cd, kdf, reason, reason_size);
        if (r < 0)
                return r;
        r = luks_recovery_key_generate(&key);
        if (r < 0)
                return r;

        journal = journal_write(cd, JOURNAL_OP_ADD, slot, id);
        if (journal < 0)
                return refuse(reason, reason_size, journal, "cannot write the journal: %s",
                              strerror(-journal));
        r = crypt_keyslot_add_by_volume_key(cd, slot, vk, vk_size, key, strlen(key));
        if (r < 0) {
                refuse(reason, reason_size, r, "adding keyslot %d failed: %s", slot, strerror(-r));
                goto rollback;
        }
        r = recovery_marker_set(cd, id, slot);
        if (r < 0) {
                refuse(reason, reason_size, r, "writing token %d failed: %s", id, strerror(-r));
                goto rollback;
        }
        r = crypt_activate_by_passphrase(cd, NULL, slot, key, strlen(key), 0);
        if (r < 0) {
                refuse(reason, reason_size, r, "the new recovery key does not open keyslot %d", slot);
                goto rollback;
        }
        r = token_remove(cd, journal);
        if (r < 0) {
                refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
                goto rollback;
        }
        if (ret_slot)
                *ret_slot = slot;
        *ret_key = TAKE_PTR(key);
        return 0;

rollback:
        (void) journal_replay(cd, journal);
        return r;
}

int luks_volume_test_passphrase(const char *path, const void *passphrase, size_t passphrase_size,
                                char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ void *vk = NULL;
        size_t vk_size = 0;
        int r;

        assert(path);

        r = volume_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        return unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
}

/* ---- reseal ---- */

static int find_tpm_token(struct crypt_device *cd, int token, LuksToken **ret, int *ret_id, char *reason,
                          size_t reason_size) {
        char why[256] = "";
        int found = -1;

        if (token >= (int) LUKS_VOLUME_TOKENS_MAX || token < -1)
                return refuse(reason, reason_size, -EINVAL, "token %d is out of range 0..%u", token,
                              LUKS_VOLUME_TOKENS_MAX - 1);
        if (token >= 0) {
                if (!token_exists(cd, token))
                        return refuse(reason, reason_size, -ENOENT, "there is no token %d", token);
                if (!token_is_type(cd, token, LUKS_TOKEN_TYPE))
                        return refuse(reason, reason_size, -EMEDIUMTYPE,
                                      "token %d is not a TPM token of ours", token);
                found = token;
        } else
                for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                        if (token_is_type(cd, id, LUKS_TOKEN_TYPE)) {
                                if (found >= 0)
                                        return refuse(reason, reason_size, -EUCLEAN,
                                                      "the volume has several TPM tokens; name one");
                                found = id;
                        }
        if (found < 0)
                return refuse(reason, reason_size, -ENOENT, "the volume has no TPM token");

        const char *json = NULL;
        int r = crypt_token_json_get(cd, found, &json);
        if (r < 0)
                return r;
        r = luks_token_parse(json, strlen(json), ret, why, sizeof(why));
        if (r < 0)
                return refuse(reason, reason_size, r, "token %d is malformed: %s", found, why);
        *ret_id = found;
        return 0;
}

int luks_volume_reseal(const char *path, int token, const char *old_pin, const char *old_signed_policy_path,
                       const void *passphrase, size_t passphrase_size, const LuksEnrollOptions *opts,
                       LuksEnrollResult *ret, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(luks_token_freep) LuksToken *old = NULL;
        _cleanup_erase_free_ void *secret = NULL, *vk = NULL;
        LuksEnrollResult result;
        char why[512] = "";
        size_t size = 0, vk_size;
        int r, old_id = -1, old_slot;

        assert(path);
        assert(opts);

        r = luks_enroll_check_policy(opts, NULL, reason, reason_size);
        if (r < 0)
                return r;
        r = volume_begin(path, opts->backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        r = find_tpm_token(cd, token, &old, &old_id, reason, reason_size);
        if (r < 0)
                return r;
        old_slot = old->keyslot;

        r = luks_token_unseal(old, opts->tcti, old_pin, old_signed_policy_path, &secret, &size, why,
                              sizeof(why));
        if (r >= 0) {
                r = crypt_get_volume_key_size(cd);
                if (r <= 0)
                        return refuse(reason, reason_size, -EBADMSG, "the header has no volume key size");
                vk_size = (size_t) r;
                vk = malloc(vk_size);
                if (!vk)
                        return -ENOMEM;
                r = crypt_volume_key_get(cd, old_slot, vk, &vk_size, secret, size);
                if (r < 0)
                        snprintf(why, sizeof(why), "the token's secret does not open keyslot %d", old_slot);
        }
        if (r < 0) {
                if (!passphrase)
                        return refuse(reason, reason_size, r, "the current TPM token does not unseal: %s",
                                      why);
                log_debug("Token %d does not unseal (%s), using the passphrase", old_id, why);
                vk = erase_and_free(vk);
                r = unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
                if (r < 0)
                        return r;
        }

        r = enroll_with_volume_key(cd, vk, vk_size, opts, &result, reason, reason_size);
        if (r < 0)
                return r;
        r = remove_pair(cd, old_slot, old_id, reason, reason_size);
        if (r < 0)
                return r;
        if (ret)
                *ret = result;
        return 0;
}
