/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LUKS2 header as the volume operations use it: opening, token and keyslot lookups, the journal token
 * that makes multi-step changes atomic (see luks-volume.h), backups. */

#include <dirent.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "luks/luks-volume-header.h"
#include "luks/luks-volume.h"
#include "shared/json-util.h"

int luks_refuse(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
        }
        return r;
}

/* libcryptsetup's messages go to our debug log only: we are library code, the caller reports. */
static void crypt_log_debug(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);

        while (n > 0 && msg[n - 1] == '\n')
                n--;
        log_debug("libcryptsetup: %.*s", (int) n, msg);
}

int luks_header_init(const char *path, struct crypt_device **ret, char *reason, size_t reason_size) {
        struct crypt_device *cd = NULL;
        int r;

        r = crypt_init(&cd, path);
        if (r < 0) {
                if (access(path, F_OK) < 0)
                        return luks_refuse(reason, reason_size, -errno, "cannot open '%s': %s", path,
                                           strerror(errno));
                return luks_refuse(reason, reason_size, r, "cannot open '%s': %s", path, strerror(-r));
        }
        crypt_set_log_callback(cd, crypt_log_debug, NULL);
        *ret = cd;
        return 0;
}

/* Opens and loads a LUKS2 header, telling "not LUKS" and "LUKS1" apart for the user. */
int luks_header_open(const char *path, struct crypt_device **ret, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);
        assert(ret);

        r = luks_header_init(path, &cd, reason, reason_size);
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
        if (luks_header_init(path, &cd, NULL, 0) >= 0 && crypt_load(cd, CRYPT_LUKS1, NULL) >= 0)
                return luks_refuse(reason, reason_size, -EPROTONOSUPPORT,
                                   "'%s' has a LUKS1 header; convert it to LUKS2 first (cryptsetup convert)",
                                   path);
        if (r == -EBUSY || r == -EACCES || r == -EPERM)
                return luks_refuse(reason, reason_size, r, "cannot read the header of '%s': %s", path,
                                   strerror(-r));
        return luks_refuse(reason, reason_size, -EMEDIUMTYPE, "'%s' has no valid LUKS2 header", path);
}

/* A token's "keyslots" array. Foreign tokens are hostile input like ours: anything malformed gives -EBADMSG. */
int luks_header_token_keyslots(struct crypt_device *cd, int id, int *ret, size_t *ret_n, json_t **ret_json) {
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

bool luks_header_token_is_type(struct crypt_device *cd, int id, const char *type) {
        const char *t = NULL;
        crypt_token_info i = crypt_token_status(cd, id, &t);

        return IN_SET(i, CRYPT_TOKEN_EXTERNAL, CRYPT_TOKEN_EXTERNAL_UNKNOWN) && t && streq(t, type);
}

bool luks_header_token_exists(struct crypt_device *cd, int id) {
        return !IN_SET(crypt_token_status(cd, id, NULL), CRYPT_TOKEN_INVALID, CRYPT_TOKEN_INACTIVE);
}

bool luks_header_keyslot_active(struct crypt_device *cd, int slot) {
        return IN_SET(crypt_keyslot_status(cd, slot), CRYPT_SLOT_ACTIVE, CRYPT_SLOT_ACTIVE_LAST);
}

size_t luks_header_count_keyslots(struct crypt_device *cd) {
        size_t n = 0;

        for (int s = 0; s < (int) LUKS_VOLUME_KEYSLOTS_MAX; s++)
                if (luks_header_keyslot_active(cd, s))
                        n++;
        return n;
}

/* Whether a token other than except references slot. */
static bool keyslot_referenced(struct crypt_device *cd, int slot, int except) {
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++) {
                int slots[LUKS_VOLUME_KEYSLOTS_MAX];
                size_t n = 0;

                if (id == except || !luks_header_token_exists(cd, id) ||
                    luks_header_token_keyslots(cd, id, slots, &n, NULL) < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (slots[i] == slot)
                                return true;
        }
        return false;
}

int luks_header_free_keyslot(struct crypt_device *cd) {
        for (int s = 0; s < (int) LUKS_VOLUME_KEYSLOTS_MAX; s++)
                if (crypt_keyslot_status(cd, s) == CRYPT_SLOT_INACTIVE)
                        return s;
        return -ENOSPC;
}

int luks_header_free_token(struct crypt_device *cd, int except) {
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                if (id != except && crypt_token_status(cd, id, NULL) == CRYPT_TOKEN_INACTIVE)
                        return id;
        return -ENOSPC;
}

int luks_journal_begin(struct crypt_device *cd, const char *op, int slot, int token) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *text = NULL;
        char s[16];
        int id;

        id = luks_header_free_token(cd, token);
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

int luks_header_token_remove(struct crypt_device *cd, int id) {
        int r = crypt_token_json_set(cd, id, NULL);
        return r < 0 ? r : 0;
}

/* The secret-free marker that tells a recovery key's keyslot from a passphrase's. */
int luks_header_recovery_marker_set(struct crypt_device *cd, int id, int slot) {
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

        if (!luks_header_keyslot_active(cd, slot))
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
        if (token >= 0 && luks_header_token_exists(cd, token))
                return luks_header_token_remove(cd, token);
        return 0;
}

/* Finishes (remove) or undoes (add) one journal entry. */
int luks_journal_replay(struct crypt_device *cd, int id) {
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
                return luks_header_token_remove(cd, id);
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
                return luks_header_token_remove(cd, id);
        }

        /* A token the journal names is only ours to touch if it is one of our types and bound to nothing
         * but the journal's keyslot. */
        if (token >= 0) {
                bool ours = luks_header_token_is_type(cd, (int) token, LUKS_TOKEN_TYPE) ||
                        luks_header_token_is_type(cd, (int) token, LUKS_RECOVERY_TOKEN_TYPE);
                if (!ours || luks_header_token_keyslots(cd, (int) token, slots, &n, NULL) < 0 || n > 1 ||
                    (n == 1 && slots[0] != (int) slot))
                        token = -1;
        }

        if (streq(op, LUKS_JOURNAL_OP_ADD)) {
                /* Roll back: the keyslot only if no other token uses it and it is not the last one. */
                log_debug("Rolling back interrupted add of keyslot %u, token %d", slot, (int) token);
                if (luks_header_keyslot_active(cd, (int) slot) &&
                    !keyslot_referenced(cd, (int) slot, (int) token) && luks_header_count_keyslots(cd) > 1) {
                        r = keyslot_destroy(cd, (int) slot);
                        if (r < 0)
                                return r;
                }
                if (token >= 0 && luks_header_token_exists(cd, (int) token)) {
                        r = luks_header_token_remove(cd, (int) token);
                        if (r < 0)
                                return r;
                }
        } else if (streq(op, LUKS_JOURNAL_OP_REMOVE)) {
                /* Roll forward, keeping the last keyslot whatever the journal says. */
                log_debug("Completing interrupted removal of keyslot %u, token %d", slot, (int) token);
                if (luks_header_count_keyslots(cd) > 1 || !luks_header_keyslot_active(cd, (int) slot)) {
                        r = remove_pair_steps(cd, (int) slot, (int) token);
                        if (r < 0)
                                return r;
                }
        }
        return luks_header_token_remove(cd, id);
}

/* Replays journals and removes our tokens bound to no keyslot. Returns 1 if the header changed. */
int luks_journal_recover(struct crypt_device *cd) {
        bool changed = false;
        int r;

        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                if (luks_header_token_is_type(cd, id, LUKS_JOURNAL_TOKEN_TYPE)) {
                        r = luks_journal_replay(cd, id);
                        if (r < 0)
                                return r;
                        changed = true;
                }
        for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++) {
                int slots[LUKS_VOLUME_KEYSLOTS_MAX];
                size_t n = 0;
                bool dangling;

                if (!luks_header_token_is_type(cd, id, LUKS_TOKEN_TYPE) &&
                    !luks_header_token_is_type(cd, id, LUKS_RECOVERY_TOKEN_TYPE))
                        continue;
                dangling = luks_header_token_keyslots(cd, id, slots, &n, NULL) >= 0 && n == 0;
                if (n == 1 && !luks_header_keyslot_active(cd, slots[0]))
                        dangling = true;
                if (dangling) {
                        log_debug("Removing token %d, bound to no keyslot", id);
                        r = luks_header_token_remove(cd, id);
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

int luks_header_backup(struct crypt_device *cd, const char *backup_dir, char *reason, size_t reason_size) {
        _cleanup_free_ char *final = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        const char *uuid = crypt_get_uuid(cd);
        uint8_t rnd[8];
        int r;

        if (!backup_dir)
                return 0;
        if (!uuid_is_safe(uuid))
                return luks_refuse(reason, reason_size, -EBADMSG, "the header's UUID is not a UUID");
        r = mkdir_p_secure(backup_dir, 0700);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "cannot create backup directory '%s': %s",
                                   backup_dir, strerror(-r));
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
                return luks_refuse(reason, reason_size, r, "header backup to '%s' failed: %s", backup_dir,
                                   strerror(-r));
        }
        fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0 || rename(tmp, final) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return luks_refuse(reason, reason_size, r, "header backup to '%s' failed: %s", backup_dir,
                                   strerror(-r));
        }
        dfd = open(backup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return luks_refuse(reason, reason_size, -errno, "cannot sync '%s': %m", backup_dir);
        return 0;
}

/* Opens a volume for a change: backup, then whatever an interrupted operation left is finished. */
int luks_header_begin(const char *path, const char *backup_dir, struct crypt_device **ret, char *reason,
                      size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        uint32_t reqs = 0;
        int r;

        r = luks_header_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        /* A reencryption in progress (or a forged "reencryption crashed" flag, CVE-2021-4122): we never
         * resume or repair one, and never change such a header. */
        if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &reqs) < 0 || reqs != 0)
                return luks_refuse(reason, reason_size, -EBUSY,
                                   "the header has requirement flags (0x%x: a reencryption in progress?); not "
                                   "changing it",
                                   reqs);
        r = luks_header_backup(cd, backup_dir, reason, reason_size);
        if (r < 0)
                return r;
        r = luks_journal_recover(cd);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "cannot finish an interrupted operation: %s",
                                   strerror(-r));
        *ret = TAKE_PTR(cd);
        return 0;
}

/* Removes keyslot slot and token (may be -1) under a "remove" journal. */
int luks_journal_remove_pair(struct crypt_device *cd, int slot, int token, char *reason, size_t reason_size) {
        int journal, r;

        if (luks_header_keyslot_active(cd, slot) && luks_header_count_keyslots(cd) <= 1)
                return luks_refuse(reason, reason_size, -EBUSY,
                                   "keyslot %d is the last one; removing it would lose the volume", slot);
        journal = luks_journal_begin(cd, LUKS_JOURNAL_OP_REMOVE, slot, token);
        if (journal < 0)
                return luks_refuse(reason, reason_size, journal, "cannot write the journal: %s",
                                   strerror(-journal));
        r = remove_pair_steps(cd, slot, token);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "removing keyslot %d failed: %s", slot,
                                   strerror(-r));
        r = luks_header_token_remove(cd, journal);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
        return 0;
}

int luks_volume_backup_header(const char *path, const char *backup_dir, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);
        assert(backup_dir);

        r = luks_header_open(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        return luks_header_backup(cd, backup_dir, reason, reason_size);
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
        r = luks_header_begin(path, backup_dir, &cd, reason, reason_size);
        return r < 0 ? r : 1;
}
