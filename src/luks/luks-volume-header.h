/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to src/luks: the LUKS2 header helpers and the journal behind luks-volume.h. Every function that
 * takes reason/reason_size fills it (when not NULL) on failure with one line for a user. */

#include <libcryptsetup.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"
#include "shared/json-util.h"

#define LUKS_JOURNAL_OP_ADD "add"
#define LUKS_JOURNAL_OP_REMOVE "remove"

static inline void crypt_freep(struct crypt_device **cd) {
        if (*cd)
                crypt_free(*cd);
}

/* Writes the reason (printf-style) and returns r. */
int luks_refuse(char *reason, size_t size, int r, const char *format, ...) _printf_(4, 5);

/* crypt_init() with libcryptsetup's messages sent to our debug log. */
int luks_header_init(const char *path, struct crypt_device **ret, char *reason, size_t reason_size);
/* luks_header_init() + crypt_load() of a LUKS2 header: -EMEDIUMTYPE none, -EPROTONOSUPPORT LUKS1. */
int luks_header_open(const char *path, struct crypt_device **ret, char *reason, size_t reason_size);
/* luks_header_open(), refusal of headers with requirement flags (-EBUSY), luks_header_backup(), then
 * luks_journal_recover(): the start of every change. */
int luks_header_begin(const char *path, const char *backup_dir, struct crypt_device **ret, char *reason,
                      size_t reason_size);
/* backup_dir/<UUID>.header, 0600, replaced atomically; nothing when backup_dir is NULL. */
int luks_header_backup(struct crypt_device *cd, const char *backup_dir, char *reason, size_t reason_size);

/* A token's "keyslots" array (ret: LUKS_VOLUME_KEYSLOTS_MAX entries); -EBADMSG when malformed. */
int luks_header_token_keyslots(struct crypt_device *cd, int id, int *ret, size_t *ret_n, json_t **ret_json);
bool luks_header_token_is_type(struct crypt_device *cd, int id, const char *type);
bool luks_header_token_exists(struct crypt_device *cd, int id);
int luks_header_token_remove(struct crypt_device *cd, int id);
bool luks_header_keyslot_active(struct crypt_device *cd, int slot);
size_t luks_header_count_keyslots(struct crypt_device *cd);
/* The lowest free keyslot / token (except: a token id to skip), or -ENOSPC. */
int luks_header_free_keyslot(struct crypt_device *cd);
int luks_header_free_token(struct crypt_device *cd, int except);
/* Token id := the secret-free recovery marker bound to slot. */
int luks_header_recovery_marker_set(struct crypt_device *cd, int id, int slot);

/* Writes a journal token for op (LUKS_JOURNAL_OP_*) on keyslot slot and token (-1: none). Returns its id. */
int luks_journal_begin(struct crypt_device *cd, const char *op, int slot, int token);
/* Undoes (add) or completes (remove) the journal in token id and removes it. */
int luks_journal_replay(struct crypt_device *cd, int id);
/* Replays every journal and removes our tokens bound to no keyslot: 1 if the header changed. */
int luks_journal_recover(struct crypt_device *cd);
/* Removes keyslot slot and token (-1: none) under a "remove" journal; -EBUSY for the last keyslot. */
int luks_journal_remove_pair(struct crypt_device *cd, int slot, int token, char *reason, size_t reason_size);
