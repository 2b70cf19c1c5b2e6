/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-unseal.h"
#include "shared/config.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"

static int fail(char *reason, size_t size, int r, const char *format, ...) _printf_(4, 5);
static int fail(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
        }
        return r;
}

static int load_signed_policy(const char *path, Tpm2SignedPolicy **ret, char *reason, size_t reason_size) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        const char *e;
        int r;

        if (!path) {
                e = secure_getenv("TRUSTED_PLATFORM_SIGNED_POLICY");
                path = isempty(e) ? LUKS_SIGNED_POLICY_DEFAULT : e;
        }

        r = read_full_file(path, TPM2_SIGNED_POLICY_FILE_MAX, &text, &size);
        if (r == -ENOENT)
                return fail(reason, reason_size, -ENOENT,
                            "the token is sealed to a signing key and there is no signed policy at %s", path);
        if (r < 0)
                return fail(reason, reason_size, r == -ENOMEM ? r : -EINVAL,
                            "cannot read the signed policy %s: %s", path, strerror(-r));
        r = tpm2_signed_policy_parse(text, size, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(reason, reason_size, -EINVAL, "%s is not a valid signed-policy file", path);
        return 0;
}

/* The TCTI when neither the caller nor the token names one: $TRUSTED_PLATFORM_TCTI (tpm2_context_new()
 * reads it), else the configuration's [TPM] Device=, else the built-in default. A configuration that
 * does not parse is passed over (the default is tried) rather than blocking the unlock. */
static int configured_tcti(char **ret) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *device = NULL;
        int r;

        *ret = NULL;
        if (!isempty(secure_getenv("TRUSTED_PLATFORM_TCTI")))
                return 0;
        r = config_load("trusted-platform", &config);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(r, "Ignoring the configuration, it does not load: %m");
                return 0;
        }
        r = config_get_string(config, "TPM", "Device", NULL, &device);
        if (r == -ENOMEM)
                return r;
        if (r > 0)
                *ret = TAKE_PTR(device);
        return 0;
}

/* The TCTI a NULL tcti stands for, as configured_tcti() and tpm2_context_new() resolve it. */
static int resolve_tcti(const char *tcti, char **ret) {
        _cleanup_free_ char *configured = NULL;
        const char *want = tcti;
        int r;

        if (!want) {
                r = configured_tcti(&configured);
                if (r < 0)
                        return r;
                want = configured;
        }
        if (!want)
                want = secure_getenv("TRUSTED_PLATFORM_TCTI");
        if (isempty(want))
                want = DEFAULT_TCTI;

        *ret = strdup(want);
        return *ret ? 0 : -ENOMEM;
}

int luks_tpm_context_open(const char *tcti, Tpm2Context **context) {
        _cleanup_free_ char *want = NULL;
        int r;

        assert(context);

        r = resolve_tcti(tcti, &want);
        if (r < 0)
                return r;

        if (*context && streq(tpm2_context_tcti(*context), want))
                return 0;

        *context = tpm2_context_free(*context);
        r = tpm2_context_new(want, context);
        if (r < 0)
                *context = NULL;
        return r;
}

int luks_token_unseal(const LuksToken *t, const char *tcti, const char *pin, const char *signed_policy_path,
                      void **ret_secret, size_t *ret_size, char *reason, size_t reason_size) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;

        return luks_token_unseal_on(t, tcti, pin, signed_policy_path, &c, ret_secret, ret_size, reason,
                                    reason_size);
}

int luks_token_unseal_on(const LuksToken *t, const char *tcti, const char *pin,
                         const char *signed_policy_path, Tpm2Context **context, void **ret_secret,
                         size_t *ret_size, char *reason, size_t reason_size) {
        _cleanup_free_ Tpm2SignedPolicy *policy = NULL;
        Tpm2UnsealOptions opts = {};
        Tpm2Error error = {};
        int r;

        assert(t);
        assert(t->blob);
        assert(context);
        assert(ret_secret);
        assert(ret_size);

        if (isempty(pin))
                pin = NULL;
        if (t->blob->has_pin && !pin)
                return fail(reason, reason_size, -ENOANO, "the token needs a PIN");

        if (t->blob->authorize) {
                r = load_signed_policy(signed_policy_path, &policy, reason, reason_size);
                if (r < 0)
                        return r;
        }

        /* The token's TCTI is hostile input like every other field; luks_token_parse() admits only TPM
         * device nodes and simulator/resource-manager TCTIs, never a library path. */
        tcti = tcti ?: t->tcti;
        r = luks_tpm_context_open(tcti, context);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *name = NULL;

                return fail(reason, reason_size, -EAGAIN, "no TPM reachable through %s",
                            resolve_tcti(tcti, &name) >= 0 ? name : "the default TCTI");
        }

        opts = (Tpm2UnsealOptions){
                .pin = pin,
                .signed_policy = policy,
                .srk_name = &t->srk_name,
        };
        r = tpm2_unseal_with(*context, t->blob, &opts, ret_secret, ret_size, &error);
        if (r >= 0)
                return 0;

        /* Kept only after a success: after a failure ESYS may be in a state that refuses the next call. */
        *context = tpm2_context_free(*context);

        switch (r) {
        case -ENOMEM:
                return r;
        case -ENOKEY:
                return fail(reason, reason_size, -EKEYREJECTED,
                            "the TPM has no storage root key at 0x%x (cleared, or another TPM)",
                            TPM2_SRK_HANDLE);
        case -EPERM:
        case -EACCES:
        case -ENOLCK:
        case -EBADMSG:
        case -EKEYREJECTED:
        case -ENOENT:
                break;
        case -ENODEV:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -EPIPE:
        case -ETIMEDOUT:
                r = -EAGAIN;
                break;
        default:
                break;
        }
        return fail(reason, reason_size, r, "%s", error.message[0] ? error.message : strerror(-r));
}

int luks_token_open(const char *json, const char *tcti, const char *pin, size_t pin_size,
                    bool (*keyslot_usable)(int keyslot, void *userdata), void *userdata, void **ret_secret,
                    size_t *ret_size, LuksTokenLogLevel *ret_level, char *reason, size_t reason_size) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_erase_free_ char *pin_copy = NULL;
        char why[512] = "";
        int r;

        assert(json);
        assert(ret_secret);
        assert(ret_size);
        assert(ret_level);

        *ret_level = LUKS_TOKEN_LOG_ERROR;

        r = luks_token_parse(json, strlen(json), &t, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(reason, reason_size, -ENOENT, "the token is not valid: %s", why);

        if (keyslot_usable && !keyslot_usable(t->keyslot, userdata))
                return fail(reason, reason_size, -ENOENT, "the token's keyslot %d does not exist", t->keyslot);

        if (pin && pin_size > 0) {
                if (pin_size > LUKS_TOKEN_PIN_MAX || memchr(pin, 0, pin_size))
                        return fail(reason, reason_size, -ENOANO,
                                    "wrong PIN (longer than %u bytes, or with a NUL byte)",
                                    LUKS_TOKEN_PIN_MAX);
                pin_copy = malloc(pin_size + 1);
                if (!pin_copy)
                        return -ENOMEM;
                memcpy(pin_copy, pin, pin_size);
                pin_copy[pin_size] = 0;
        }

        r = luks_token_unseal(t, tcti, pin_copy, NULL, ret_secret, ret_size, why, sizeof(why));
        switch (r) {
        case 0:
                return 0;
        case -ENOMEM:
                return r;
        case -ENOANO:
                *ret_level = LUKS_TOKEN_LOG_DEBUG;
                return fail(reason, reason_size, -ENOANO, "%s", why);
        case -EACCES:
                /* libcryptsetup asks for the PIN again on -ENOANO; the tries left are in the message. */
                return fail(reason, reason_size, -ENOANO, "%s", why);
        case -EAGAIN:
                *ret_level = LUKS_TOKEN_LOG_VERBOSE;
                return fail(reason, reason_size, -EAGAIN, "%s", why);
        default:
                return fail(reason, reason_size, -ENOENT, "%s", why);
        }
}
