/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* luks_volume_status(): what a volume's keyslots and tokens are, for `tpctl volume status` and the daemon. */

#include <stdio.h>

#include "basic/string-util.h"
#include "luks/luks-volume-header.h"
#include "luks/luks-volume.h"
#include "shared/json-util.h"

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
        r = luks_header_token_keyslots(cd, id, t->keyslots, &t->n_keyslots, NULL);
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
                else if (!luks_header_keyslot_active(cd, t->token->keyslot))
                        t->problem = strdup("its keyslot is not active (repair removes the token)");
                else
                        return luks_token_describe(t->token, &t->description);
                return t->problem ? 0 : -ENOMEM;
        }
        if (streq(type, LUKS_RECOVERY_TOKEN_TYPE) &&
            (t->n_keyslots != 1 || !luks_header_keyslot_active(cd, t->keyslots[0]))) {
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

        r = luks_header_open(path, &cd, reason, reason_size);
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

                if (!luks_header_keyslot_active(cd, slot))
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
