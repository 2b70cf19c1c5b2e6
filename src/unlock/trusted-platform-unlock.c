/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* trusted-platform-unlock: opens a LUKS2 volume at boot. The TPM tokens of the volume first (without a
 * PIN, then with one), then a passphrase or recovery key, each step saying why the previous one did not
 * work. After ANY successful unlock the volume is measured into PCR 15 (luks-measure.h) before it is
 * opened; when that fails the volume is not opened and we exit non-zero (fail closed, ATTACKS b-6).
 *
 *   trusted-platform-unlock [--no-activate] attach NAME DEVICE [OPTIONS]   (generated units)
 *   trusted-platform-unlock detach NAME
 *   trusted-platform-unlock keyscript [KEY]   or argv[0] "trusted-platform-keyscript" (initramfs-tools)
 *
 * Exit status: 0 opened (or detached), 1 not opened, 2 usage error. */

#include <getopt.h>
#include <limits.h>
#include <libcryptsetup.h>
#include <stdio.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-measure.h"
#include "luks/luks-recovery.h"
#include "luks/luks-token.h"
#include "luks/luks-unseal.h"
#include "tpm2/tpm2-context.h"
#include "unlock/unlock-ask.h"

#define EXIT_USAGE 2
#define TRIES_DEFAULT 3U
#define TRIES_MAX 100U
#define TOKENS_MAX 32
#define OPTIONS_MAX 4096U
#define REASON_MAX 512U

/* DM_NAME_LEN minus the NUL */
#define DM_NAME_MAX 127U

typedef enum Mode {
        MODE_ATTACH,
        MODE_DETACH,
        MODE_KEYSCRIPT,
} Mode;

static bool arg_no_activate = false;
static const char *arg_tcti = NULL; /* the administrator's TPM: the option, else $TRUSTED_PLATFORM_TCTI */
static unsigned arg_tries = TRIES_DEFAULT;
static bool arg_headless = false;
static uint32_t arg_activate_flags = 0;
static char *arg_tcti_option = NULL;

static void cryptsetup_log(int level, const char *msg, void *userdata) {
        /* libcryptsetup's own lines go to the debug log: ours say what happened in the user's terms. */
        log_debug("libcryptsetup: %s", msg);
}

static int help(void) {
        printf("%s [OPTIONS...] attach NAME DEVICE [CRYPTTAB-OPTIONS]\n"
               "%s detach NAME\n"
               "%s keyscript [KEY]\n\n"
               "Unlock a LUKS2 volume with its TPM token, a PIN, a passphrase or a recovery key, and\n"
               "measure it into PCR 15 before it is opened.\n\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version\n"
               "     --no-activate   Check the key and measure, but do not open the volume\n",
               program_invocation_short_name, program_invocation_short_name, program_invocation_short_name);
        return 0;
}

static bool dm_name_ok(const char *s) {
        if (isempty(s) || strlen(s) > DM_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || (unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool device_ok(const char *s) {
        if (isempty(s) || s[0] != '/' || strlen(s) > PATH_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* The crypttab options we act on; the others (luks, discard's siblings, systemd's) are left alone, as
 * systemd-cryptsetup ignores the ones it does not know. A malformed value of one of ours is an error, as
 * in systemd-cryptsetup: a typo must not silently change how a volume is opened. */
static int parse_options(const char *options) {
        if (!options)
                return 0;
        if (strlen(options) > OPTIONS_MAX || !string_is_safe(options, OPTIONS_MAX) || strchr(options, ' ')) {
                log_error("Options are too long or hold blanks, quotes or control characters.");
                return -EINVAL;
        }

        for (const char *p = options; *p;) {
                size_t len = strcspn(p, ",");
                _cleanup_free_ char *word = memdup_suffix0(p, len);
                const char *v;

                if (!word)
                        return log_oom();
                if ((v = startswith(word, "tries="))) {
                        uint32_t n;

                        if (safe_atou32(v, &n) < 0 || n > TRIES_MAX) {
                                log_error("Option '%s': tries must be 0 (no limit) to %u.", word, TRIES_MAX);
                                return -EINVAL;
                        }
                        /* 0 means no limit, as in crypttab(5) (Debian's cryptroot passes it through). */
                        arg_tries = n == 0 ? UINT_MAX : n;
                } else if (streq(word, "headless") || streq(word, "headless=yes") ||
                           streq(word, "headless=true") || streq(word, "headless=1"))
                        arg_headless = true;
                else if (streq(word, "headless=no") || streq(word, "headless=false") ||
                         streq(word, "headless=0"))
                        arg_headless = false;
                else if (startswith(word, "headless=")) {
                        log_error("Option '%s': expected yes or no.", word);
                        return -EINVAL;
                } else if ((v = startswith(word, "x-trusted-platform-tcti="))) {
                        if (isempty(v) || strlen(v) > LUKS_TOKEN_TCTI_MAX) {
                                log_error("Option 'x-trusted-platform-tcti=' needs a TCTI of at most %u bytes.",
                                          LUKS_TOKEN_TCTI_MAX);
                                return -EINVAL;
                        }
                        free(arg_tcti_option);
                        arg_tcti_option = strdup(v);
                        if (!arg_tcti_option)
                                return log_oom();
                } else if (streq(word, "readonly") || streq(word, "read-only"))
                        arg_activate_flags |= CRYPT_ACTIVATE_READONLY;
                else if (streq(word, "discard"))
                        arg_activate_flags |= CRYPT_ACTIVATE_ALLOW_DISCARDS;
                else if (len == 0) {
                        log_error("Options hold an empty entry.");
                        return -EINVAL;
                }
                p += len;
                if (*p == ',') {
                        p++;
                        if (!*p) {
                                log_error("Options end with a comma.");
                                return -EINVAL;
                        }
                }
        }
        return 0;
}

static const char *ask_program(Mode mode) {
        const char *e = secure_getenv("TRUSTED_PLATFORM_ASK_PASSWORD");

        if (!isempty(e))
                return e;
        return mode == MODE_KEYSCRIPT ? "/lib/cryptsetup/askpass" : "systemd-ask-password";
}

static int ask(Mode mode, const char *name, const char *what, char **ret, size_t *ret_size) {
        _cleanup_free_ char *prompt = NULL;
        int r;

        if (arg_headless)
                return -ECANCELED;
        if (asprintf(&prompt, "%s for %s:", what, name) < 0)
                return log_oom();
        r = unlock_ask(ask_program(mode), mode == MODE_KEYSCRIPT ? UNLOCK_ASK_ASKPASS : UNLOCK_ASK_SYSTEMD,
                       name, prompt, ret, ret_size);
        if (r == -ENOENT)
                log_error("Cannot ask for the %s: '%s' not found.", what, ask_program(mode));
        return r;
}

typedef struct Unlocked {
        int keyslot;
        char *passphrase; /* what opened it (for the keyscript) */
        size_t passphrase_size;
        char *volume_key;
        size_t volume_key_size;
        Tpm2Context *tpm; /* the TPM an unseal used, kept for the measurement when it is the same one */
} Unlocked;

static void unlocked_done(Unlocked *u) {
        u->passphrase = erase_and_free(u->passphrase);
        u->volume_key = erase_and_free(u->volume_key);
        u->tpm = tpm2_context_free(u->tpm);
}

/* The volume key for passphrase, trying keyslot (or any). 0 or -EPERM (does not open) or an error. */
static int volume_key_get(struct crypt_device *cd, int keyslot, const char *passphrase, size_t size,
                          Unlocked *u) {
        _cleanup_erase_free_ char *vk = NULL;
        size_t vk_size;
        int r;

        r = crypt_get_volume_key_size(cd);
        if (r <= 0 || (size_t) r > LUKS_MEASURE_VOLUME_KEY_MAX)
                return log_error_errno(EINVAL, "The volume key size %d is not usable.", r);
        vk_size = (size_t) r;
        vk = malloc(vk_size);
        if (!vk)
                return log_oom();

        r = crypt_volume_key_get(cd, keyslot, vk, &vk_size, passphrase, size);
        if (r < 0)
                return r == -ENOENT ? -EPERM : r;

        u->keyslot = r;
        u->volume_key = TAKE_PTR(vk);
        u->volume_key_size = vk_size;
        u->passphrase = memdup_suffix0(passphrase, size);
        if (!u->passphrase)
                return log_oom();
        u->passphrase_size = size;
        return 0;
}

/* One token's secret as the passphrase of its keyslot. */
static int token_secret_opens(struct crypt_device *cd, const LuksToken *t, void *secret, size_t size,
                              int token, Unlocked *u) {
        int r = volume_key_get(cd, t->keyslot, secret, size, u);

        if (r == -EPERM)
                log_warning("Token %d unsealed a key that does not open keyslot %d.", token, t->keyslot);
        else if (r < 0)
                log_warning_errno(r, "Keyslot %d of token %d cannot be used: %m", t->keyslot, token);
        return r;
}

/* 1: opened with a TPM token; 0: the TPM did not open it (reasons logged). */
static int try_tpm(struct crypt_device *cd, Mode mode, const char *name, Unlocked *u) {
        LuksToken *pin_tokens[TOKENS_MAX] = {};
        int pin_ids[TOKENS_MAX];
        size_t n_pin = 0, n_tokens = 0;
        int r, ret = 0;

        for (int i = 0; i < TOKENS_MAX && ret == 0; i++) {
                _cleanup_(luks_token_freep) LuksToken *t = NULL;
                _cleanup_erase_free_ void *secret = NULL;
                char reason[REASON_MAX] = "";
                const char *type = NULL, *json = NULL;
                size_t size = 0;

                r = crypt_token_status(cd, i, &type);
                if (!IN_SET(r, CRYPT_TOKEN_EXTERNAL, CRYPT_TOKEN_EXTERNAL_UNKNOWN) ||
                    !streq_ptr(type, LUKS_TOKEN_TYPE))
                        continue;
                if (crypt_token_json_get(cd, i, &json) < 0)
                        continue;
                n_tokens++;
                r = luks_token_parse(json, strlen(json), &t, reason, sizeof(reason));
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        log_warning("Token %d is not a valid %s token, ignoring it: %s.", i, LUKS_TOKEN_TYPE,
                                    reason);
                        continue;
                }

                r = luks_token_unseal_on(t, arg_tcti, NULL, NULL, &u->tpm, &secret, &size, reason,
                                         sizeof(reason));
                if (r == 0) {
                        if (token_secret_opens(cd, t, secret, size, i, u) == 0)
                                ret = 1;
                } else if (r == -ENOANO) {
                        pin_tokens[n_pin] = TAKE_PTR(t);
                        pin_ids[n_pin++] = i;
                } else if (r == -EPERM)
                        log_warning("TPM unlock refused: %s.", reason);
                else if (r == -EAGAIN)
                        log_warning("TPM unlock not possible: no TPM (%s).", reason);
                else if (r == -ENOMEM)
                        ret = log_oom();
                else
                        log_warning("TPM unlock with token %d failed: %s.", i,
                                    isempty(reason) ? strerror(-r) : reason);
        }

        for (size_t k = 0; k < n_pin && ret == 0; k++)
                for (unsigned attempt = 0; attempt < arg_tries && ret == 0; attempt++) {
                        _cleanup_erase_free_ char *pin = NULL;
                        _cleanup_erase_free_ void *secret = NULL;
                        char reason[REASON_MAX] = "";
                        size_t pin_size = 0, size = 0;

                        r = ask(mode, name, "TPM PIN", &pin, &pin_size);
                        if (r < 0) {
                                log_warning("No PIN given for the TPM token %d.", pin_ids[k]);
                                break;
                        }
                        r = luks_token_unseal_on(pin_tokens[k], arg_tcti, pin, NULL, &u->tpm, &secret, &size,
                                                 reason, sizeof(reason));
                        if (r == 0) {
                                if (token_secret_opens(cd, pin_tokens[k], secret, size, pin_ids[k], u) == 0)
                                        ret = 1;
                                break;
                        }
                        if (r == -EACCES) {
                                log_warning("TPM unlock refused: %s.", isempty(reason) ? "wrong PIN" : reason);
                                continue;
                        }
                        if (r == -ENOLCK)
                                log_warning("TPM unlock refused: %s.",
                                            isempty(reason) ? "the TPM is in dictionary-attack lockout"
                                                            : reason);
                        else if (r == -EPERM)
                                log_warning("TPM unlock refused: %s.", reason);
                        else if (r == -ENOMEM)
                                ret = log_oom();
                        else
                                log_warning("TPM unlock with token %d failed: %s.", pin_ids[k],
                                            isempty(reason) ? strerror(-r) : reason);
                        break;
                }

        for (size_t k = 0; k < n_pin; k++)
                luks_token_free(pin_tokens[k]);

        if (ret == 0 && n_tokens == 0)
                log_notice("Volume '%s' has no %s token.", name, LUKS_TOKEN_TYPE);
        return ret;
}

/* 1: opened with a passphrase or recovery key; 0: not (reasons logged). */
static int try_passphrase(struct crypt_device *cd, Mode mode, const char *name, unsigned tries, Unlocked *u) {
        int r;

        for (unsigned attempt = 0; attempt < tries; attempt++) {
                _cleanup_erase_free_ char *p = NULL;
                size_t size = 0;

                r = ask(mode, name, "Passphrase or recovery key", &p, &size);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_error("No passphrase given for '%s'.", name);
                        return 0;
                }
                r = volume_key_get(cd, CRYPT_ANY_SLOT, p, size, u);
                if (r == -EPERM) {
                        /* A recovery key typed in another case or with other separators than shown: its
                         * keyslot holds the canonical text. */
                        _cleanup_erase_free_ char *canonical = NULL;

                        if (luks_recovery_key_normalize(p, size, &canonical, NULL, 0) >= 0 &&
                            (strlen(canonical) != size || memcmp(canonical, p, size) != 0))
                                r = volume_key_get(cd, CRYPT_ANY_SLOT, canonical, strlen(canonical), u);
                }
                if (r == 0)
                        return 1;
                if (r == -ENOMEM)
                        return r;
                if (r == -EPERM)
                        log_warning("Wrong passphrase or recovery key for '%s'%s.", name,
                                    attempt + 1 < tries ? ", try again" : "");
                else
                        return log_error_errno(r, "Cannot check the passphrase of '%s': %m", name);
        }
        return 0;
}

static int measure(struct crypt_device *cd, const char *name, Unlocked *u) {
        const char *uuid = crypt_get_uuid(cd);
        int r;

        if (!uuid)
                return log_error_errno(EINVAL, "Volume '%s' has no UUID, cannot measure it.", name);
        /* Never the TCTI named in the header: an attacker's header could send the measurement elsewhere.
         * The administrator's TPM (option, $TRUSTED_PLATFORM_TCTI, else [TPM] Device=, as for the unseal);
         * the context the unseal used is reused only when it talks to exactly that TCTI. */
        r = luks_tpm_context_open(arg_tcti, &u->tpm);
        if (r >= 0)
                r = luks_measure_volume(u->tpm, LUKS_MEASURE_PCR, uuid, u->volume_key, u->volume_key_size);
        if (r < 0)
                return log_error_errno(r, "Refusing to open '%s': measuring it into PCR %u failed: %m", name,
                                       LUKS_MEASURE_PCR);
        log_debug("Measured '%s' (UUID %s) into PCR %u of %d bank(s).", name, uuid, LUKS_MEASURE_PCR, r);
        return 0;
}

static int unlock(Mode mode, const char *name, const char *device, bool tpm_first, Unlocked *u) {
        struct crypt_device *cd = NULL;
        int r;

        r = crypt_init(&cd, device);
        if (r < 0) {
                log_error_errno(r, "Cannot open '%s': %m", device);
                return -ENOENT;
        }
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0) {
                crypt_free(cd);
                log_error_errno(r, "'%s' is not a LUKS2 volume: %m", device);
                return -EMEDIUMTYPE;
        }

        r = tpm_first ? try_tpm(cd, mode, name, u) : 0;
        if (r == 0) {
                if (tpm_first && !arg_headless)
                        log_notice("Falling back to the passphrase or recovery key for '%s'.", name);
                /* The keyscript is called again by cryptroot for each of its tries: one question each. */
                r = try_passphrase(cd, mode, name, mode == MODE_KEYSCRIPT ? 1 : arg_tries, u);
        }
        if (r == 0) {
                crypt_free(cd);
                return log_error_errno(EPERM, "Could not unlock '%s'.", name);
        }
        if (r < 0) {
                crypt_free(cd);
                return r;
        }

        r = measure(cd, name, u);
        if (r < 0) {
                crypt_free(cd);
                return r;
        }

        if (mode == MODE_ATTACH) {
                r = crypt_activate_by_volume_key(cd, arg_no_activate ? NULL : name, u->volume_key,
                                                 u->volume_key_size, arg_activate_flags);
                if (r < 0) {
                        crypt_free(cd);
                        return log_error_errno(r, "Cannot open '%s' as '%s': %m", device, name);
                }
                log_info("%s '%s' (keyslot %d).", arg_no_activate ? "Checked" : "Opened", name, u->keyslot);
        }
        crypt_free(cd);
        return 0;
}

static int verb_attach(int argc, char *argv[]) {
        _cleanup_(unlocked_done) Unlocked u = {};
        const char *name = argv[1], *device = argv[2];

        if (!dm_name_ok(name)) {
                log_error("'%s' is not a valid volume name.", name);
                return EXIT_USAGE;
        }
        if (!device_ok(device)) {
                log_error("The device must be an absolute path.");
                return EXIT_USAGE;
        }
        if (parse_options(argc > 3 ? argv[3] : NULL) < 0)
                return EXIT_USAGE;
        if (arg_tcti_option)
                arg_tcti = arg_tcti_option;

        return unlock(MODE_ATTACH, name, device, true, &u) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int verb_detach(int argc, char *argv[]) {
        struct crypt_device *cd = NULL;
        const char *name = argv[1];
        int r;

        if (!dm_name_ok(name)) {
                log_error("'%s' is not a valid volume name.", name);
                return EXIT_USAGE;
        }
        r = crypt_init_by_name(&cd, name);
        if (r == -ENODEV) {
                log_info("Volume '%s' is not open.", name);
                return EXIT_SUCCESS;
        }
        if (r < 0) {
                log_error_errno(r, "Cannot look up volume '%s': %m", name);
                return EXIT_FAILURE;
        }
        r = crypt_deactivate(cd, name);
        crypt_free(cd);
        if (r < 0) {
                log_error_errno(r, "Cannot close volume '%s': %m", name);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* Debian initramfs-tools: cryptroot runs the keyscript once per try with $CRYPTTAB_NAME, $CRYPTTAB_SOURCE,
 * $CRYPTTAB_OPTIONS and $CRYPTTAB_TRIED, and pipes its standard output to cryptsetup. We print the key
 * only after it opened the volume and the volume was measured; otherwise nothing, and exit 1 (cryptroot
 * then counts a failed try and calls us again, and we ask for the passphrase). */
static int verb_keyscript(int argc, char *argv[]) {
        _cleanup_(unlocked_done) Unlocked u = {};
        const char *name = getenv("CRYPTTAB_NAME"), *device = getenv("CRYPTTAB_SOURCE"),
                   *options = getenv("CRYPTTAB_OPTIONS"), *tried = getenv("CRYPTTAB_TRIED");
        uint32_t n_tried = 0;

        if (!dm_name_ok(name)) {
                log_error("$CRYPTTAB_NAME is missing or not a valid volume name.");
                return EXIT_USAGE;
        }
        if (!device_ok(device)) {
                log_error("$CRYPTTAB_SOURCE is missing or not an absolute path.");
                return EXIT_USAGE;
        }
        if (tried && safe_atou32(tried, &n_tried) < 0) {
                log_error("$CRYPTTAB_TRIED is not a number.");
                return EXIT_USAGE;
        }
        /* cryptroot's options include its own (keyscript=...), which parse_options() leaves alone. */
        if (parse_options(isempty(options) ? NULL : options) < 0)
                return EXIT_USAGE;
        if (arg_tcti_option)
                arg_tcti = arg_tcti_option;

        /* A first try that failed in the TPM is not repeated: later tries go to the passphrase. */
        if (unlock(MODE_KEYSCRIPT, name, device, n_tried == 0, &u) < 0)
                return EXIT_FAILURE;

        if (fwrite(u.passphrase, 1, u.passphrase_size, stdout) != u.passphrase_size || fflush(stdout) != 0) {
                log_error_errno(errno, "Cannot write the key: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_NO_ACTIVATE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "no-activate", no_argument, NULL, ARG_NO_ACTIVATE },
                {},
        };
        const char *verb;
        int c, n, r;

        /* tpm2-tss prints its own ERROR lines for a refused policy (a PCR change): we explain it once,
         * with the reason, so its log stays quiet unless the administrator asked for it. */
        (void) setenv("TSS2_LOG", "all+none", /* overwrite= */ 0);
        log_parse_environment();
        crypt_set_log_callback(NULL, cryptsetup_log, NULL);
        /* We read and unseal our tokens ourselves and never open a volume through a token plugin. Without
         * this, crypt_token_status() dlopen()s the plugin of every external token type in the header to
         * classify it: systemd's drags in libsystemd-shared and its dozen libraries (about half of our
         * start-up), ours a second copy of code we have linked in. Foreign plugin code has no business in
         * the boot-time unlock either. Token types are then reported as CRYPT_TOKEN_EXTERNAL_UNKNOWN. */
        crypt_token_external_disable();
        arg_tcti = secure_getenv("TRUSTED_PLATFORM_TCTI");
        if (isempty(arg_tcti))
                arg_tcti = NULL;

        if (streq(program_invocation_short_name, "trusted-platform-keyscript")) {
                if (argc > 2) {
                        log_error("The keyscript takes at most one argument (the crypttab key field).");
                        return EXIT_USAGE;
                }
                r = verb_keyscript(argc, argv);
                goto finish;
        }

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        puts(PROJECT_VERSION);
                        return 0;
                case ARG_NO_ACTIVATE:
                        arg_no_activate = true;
                        break;
                default:
                        log_error("Unknown option '%s'. See --help.", argv[optind - 1]);
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("Missing verb: attach, detach or keyscript. See --help.");
                return EXIT_USAGE;
        }
        verb = argv[optind];
        n = argc - optind;

        if (streq(verb, "attach")) {
                if (n < 3 || n > 4) {
                        log_error("attach takes NAME DEVICE [OPTIONS].");
                        return EXIT_USAGE;
                }
                r = verb_attach(n, argv + optind);
        } else if (streq(verb, "detach")) {
                if (n != 2 || arg_no_activate) {
                        log_error("detach takes NAME and no --no-activate.");
                        return EXIT_USAGE;
                }
                r = verb_detach(n, argv + optind);
        } else if (streq(verb, "keyscript")) {
                if (n > 2 || arg_no_activate) {
                        log_error("keyscript takes at most one argument (the crypttab key field).");
                        return EXIT_USAGE;
                }
                r = verb_keyscript(n, argv + optind);
        } else {
                log_error("Unknown verb '%s': attach, detach or keyscript.", verb);
                return EXIT_USAGE;
        }

finish:
        free(arg_tcti_option);
        return r;
}
