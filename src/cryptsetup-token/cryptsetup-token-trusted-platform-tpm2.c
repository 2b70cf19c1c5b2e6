/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcryptsetup-token-trusted-platform-tpm2.so: the LUKS2 token plugin ABI (CRYPTSETUP_TOKEN_1.0) over
 * luks_token_open(), luks_token_parse() and luks_token_describe(). Loaded into foreign processes
 * (cryptsetup, systemd-cryptsetup, udisks): exports only the six cryptsetup_token_* symbols (version
 * script), logs only through crypt_logf(), keeps no state between calls, and wipes every secret it
 * hands out or drops. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "basic/macro.h"
#include "basic/secure-mem.h"
#include "luks/luks-token.h"
#include "luks/luks-unseal.h"

/* The ABI, as libcryptsetup's typedefs (crypt_token_*_func) describe it. */
int cryptsetup_token_open_pin(struct crypt_device *cd, int token, const char *pin, size_t pin_size,
                              char **buffer, size_t *buffer_len, void *usrptr);
int cryptsetup_token_open(struct crypt_device *cd, int token, char **buffer, size_t *buffer_len, void *usrptr);
void cryptsetup_token_buffer_free(void *buffer, size_t buffer_len);
int cryptsetup_token_validate(struct crypt_device *cd, const char *json);
void cryptsetup_token_dump(struct crypt_device *cd, const char *json);
const char *cryptsetup_token_version(void);

/* tpm2-tss logs its own warnings to stderr (a PCR mismatch is an "ERROR:esys" line): silence it in the
 * host process unless the user asked for TSS logging. Our messages go through crypt_logf(). */
static void quiet_tss(void) {
        (void) setenv("TSS2_LOG", "all+none", /* overwrite= */ 0);
}

static bool keyslot_usable(int keyslot, void *userdata) {
        crypt_keyslot_info s = crypt_keyslot_status(userdata, keyslot);
        return s == CRYPT_SLOT_ACTIVE || s == CRYPT_SLOT_ACTIVE_LAST;
}

static int log_level(LuksTokenLogLevel l) {
        switch (l) {
        case LUKS_TOKEN_LOG_ERROR:
                return CRYPT_LOG_ERROR;
        case LUKS_TOKEN_LOG_VERBOSE:
                return CRYPT_LOG_VERBOSE;
        default:
                return CRYPT_LOG_DEBUG;
        }
}

_public_ int cryptsetup_token_open_pin(struct crypt_device *cd, int token, const char *pin, size_t pin_size,
                                       char **buffer, size_t *buffer_len, void *usrptr) {
        LuksTokenLogLevel level = LUKS_TOKEN_LOG_ERROR;
        const char *json = NULL;
        void *secret = NULL;
        size_t size = 0;
        char reason[768] = "";
        int r;

        if (!buffer || !buffer_len)
                return -EINVAL;

        r = crypt_token_json_get(cd, token, &json);
        if (r < 0 || !json) {
                crypt_logf(cd, CRYPT_LOG_DEBUG, LUKS_TOKEN_TYPE " token %d: cannot read its JSON.", token);
                return -ENOENT;
        }

        quiet_tss();
        r = luks_token_open(json, NULL, pin, pin_size, keyslot_usable, cd, &secret, &size, &level, reason,
                            sizeof(reason));
        if (r < 0) {
                crypt_logf(cd, log_level(level), "TPM token %d: %s.", token, reason);
                return r;
        }

        crypt_logf(cd, CRYPT_LOG_DEBUG, LUKS_TOKEN_TYPE " token %d: unsealed the keyslot passphrase.", token);
        *buffer = secret;
        *buffer_len = size;
        return 0;
}

_public_ int cryptsetup_token_open(struct crypt_device *cd, int token, char **buffer, size_t *buffer_len,
                                   void *usrptr) {
        return cryptsetup_token_open_pin(cd, token, NULL, 0, buffer, buffer_len, usrptr);
}

_public_ void cryptsetup_token_buffer_free(void *buffer, size_t buffer_len) {
        if (!buffer)
                return;
        erase_mem(buffer, buffer_len);
        erase_and_free(buffer);
}

_public_ int cryptsetup_token_validate(struct crypt_device *cd, const char *json) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        char reason[512] = "";
        int r;

        if (!json)
                return -EINVAL;
        r = luks_token_parse(json, strlen(json), &t, reason, sizeof(reason));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                crypt_logf(cd, CRYPT_LOG_DEBUG, LUKS_TOKEN_TYPE " token is not valid: %s.", reason);
                return -EINVAL;
        }
        return 0;
}

_public_ void cryptsetup_token_dump(struct crypt_device *cd, const char *json) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_free_ char *text = NULL;
        char reason[512] = "";

        if (!json)
                return;
        if (luks_token_parse(json, strlen(json), &t, reason, sizeof(reason)) < 0) {
                crypt_logf(cd, CRYPT_LOG_NORMAL, "\tInvalid token: %s\n", reason);
                return;
        }
        if (luks_token_describe(t, &text) < 0)
                return;
        crypt_logf(cd, CRYPT_LOG_NORMAL, "%s", text);
}

_public_ const char *cryptsetup_token_version(void) {
        return PROJECT_VERSION;
}
