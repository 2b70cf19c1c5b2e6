/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Time to key through libcryptsetup on a LUKS2 image file (run by bench/run-luks under tp-run --swtpm and
 * tp-token-plugins --keep-system, so libcryptsetup finds our plugin and systemd's):
 *
 *   bench-luks enroll IMG PASSPHRASE   seal a random keyslot passphrase to sha256 PCR 7 on the TPM of
 *                                      $TRUSTED_PLATFORM_TCTI (SRK provisioned if absent), add it as a
 *                                      pbkdf2 keyslot (1000 iterations, as systemd-cryptenroll does for
 *                                      TPM2 keyslots) and set our token
 *   bench-luks time IMG TYPE N         N times crypt_init + crypt_load + crypt_activate_by_token_pin(NULL
 *                                      name, TYPE, any token) + crypt_free; prints "TYPE<TAB>first µs<TAB>
 *                                      median µs" (the first includes loading the plugin)
 *   bench-luks passphrase IMG PASS N   the same with the passphrase instead of a token: libcryptsetup's floor
 *   bench-luks unseal IMG N            luks_token_unseal() alone on our token: the TPM's share
 *
 * systemd 252's plugin ignores $SYSTEMD_TPM2_DEVICE and only finds /dev/tpmrm* unless the caller passes
 * its parameters (as systemd-cryptsetup does): for TYPE systemd-tpm2 the TCTI goes in through them.
 * systemd 252 leaves a session loaded per unlock without a resource manager: flushed between runs,
 * outside the timing. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/secure-mem.h"
#include "luks/luks-token.h"
#include "luks/luks-unseal.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"
#include "bench-util.h"

/* systemd 252's systemd_tpm2_plugin_params (src/cryptsetup/cryptsetup-tokens/cryptsetup-token.h). */
typedef struct {
        uint32_t search_pcr_mask;
        const char *device;
        const char *signature_path;
} systemd252_tpm2_plugin_params;

static int enroll(const char *image, const char *passphrase) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_free_ void *name = NULL;
        struct crypt_pbkdf_type pbkdf = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = "sha256",
                .iterations = 1000,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        Tpm2SealOptions o = { .pcr_mask = UINT32_C(1) << 7 };
        struct crypt_device *cd = NULL;
        Tpm2SrkInfo info = {};
        TPM2B_NAME srk = {};
        Tpm2Error e = {};
        uint8_t raw[32];
        size_t n = 0;
        int r, keyslot, token;

        r = tpm2_context_new(NULL, &c);
        if (r < 0)
                return log_error_errno(r, "No TPM: %m");
        r = tpm2_srk_provision(c, NULL, true, NULL, &info);
        if (r < 0)
                return log_error_errno(r, "No SRK: %m");
        r = unhexmem(info.name_hex, SIZE_MAX, &name, &n);
        tpm2_srk_info_done(&info);
        if (r < 0 || n > sizeof(srk.name))
                return log_error_errno(EINVAL, "Bad SRK name.");
        srk.size = n;
        memcpy(srk.name, name, n);

        if (RAND_bytes(raw, sizeof(raw)) != 1 || base64mem(raw, sizeof(raw), &secret) < 0)
                return log_error_errno(EIO, "No random passphrase.");
        erase_mem(raw, sizeof(raw));
        r = tpm2_seal(c, &o, secret, strlen(secret), &blob, &e);
        if (r < 0)
                return log_error_errno(r, "Sealing failed: %s", e.message);

        r = crypt_init(&cd, image);
        if (r >= 0)
                r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r >= 0)
                r = crypt_set_pbkdf_type(cd, &pbkdf);
        if (r >= 0)
                r = keyslot = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, passphrase,
                                                              strlen(passphrase), secret, strlen(secret));
        if (r >= 0)
                r = luks_token_format(keyslot, blob, &srk, NULL, &json);
        if (r >= 0)
                r = token = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
        crypt_free(cd);
        if (r < 0)
                return log_error_errno(r, "Enrolling into %s failed: %m", image);
        printf("keyslot %d token %d\n", keyslot, token);
        return 0;
}

/* The floor under every token: the same libcryptsetup calls with the keyslot passphrase given. */
static int time_passphrase(const char *image, const char *passphrase, size_t n) {
        _cleanup_free_ uint64_t *t = calloc(n, sizeof(uint64_t));

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct crypt_device *cd = NULL;
                uint64_t t0 = now_ns();
                int r;

                r = crypt_init(&cd, image);
                if (r >= 0)
                        r = crypt_load(cd, CRYPT_LUKS2, NULL);
                if (r >= 0)
                        r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, passphrase,
                                                         strlen(passphrase), 0);
                crypt_free(cd);
                t[i] = now_ns() - t0;
                if (r < 0)
                        return log_error_errno(r, "%s: the passphrase does not open it: %m", image);
        }
        printf("passphrase\t%.0f\t%.0f\n", (double) t[0] / 1000.0, median_us(t, n));
        return 0;
}

/* Our unseal alone (luks_token_unseal() on the parsed token): the TPM's share of the time to key. */
static int time_unseal(const char *image, size_t n) {
        _cleanup_free_ uint64_t *t = calloc(n, sizeof(uint64_t));
        _cleanup_(luks_token_freep) LuksToken *tok = NULL;
        struct crypt_device *cd = NULL;
        const char *json = NULL;
        char reason[512] = "";
        int r = -ENOENT;

        if (!t)
                return -ENOMEM;
        if (crypt_init(&cd, image) >= 0 && crypt_load(cd, CRYPT_LUKS2, NULL) >= 0)
                for (int i = 0; i < 32 && r < 0; i++) {
                        const char *type = NULL;
                        crypt_token_info st = crypt_token_status(cd, i, &type);
                        if ((st == CRYPT_TOKEN_EXTERNAL || st == CRYPT_TOKEN_EXTERNAL_UNKNOWN) &&
                            streq_ptr(type, LUKS_TOKEN_TYPE) && crypt_token_json_get(cd, i, &json) >= 0)
                                r = luks_token_parse(json, strlen(json), &tok, reason, sizeof(reason));
                }
        crypt_free(cd);
        if (r < 0)
                return log_error_errno(r, "%s: no token of ours: %s", image, reason);

        for (size_t i = 0; i < n; i++) {
                _cleanup_erase_free_ void *secret = NULL;
                size_t size = 0;
                uint64_t t0 = now_ns();

                r = luks_token_unseal(tok, NULL, NULL, NULL, &secret, &size, reason, sizeof(reason));
                t[i] = now_ns() - t0;
                if (r < 0)
                        return log_error_errno(r, "Unseal failed: %s", reason);
        }
        printf("unseal\t%.0f\t%.0f\n", (double) t[0] / 1000.0, median_us(t, n));
        return 0;
}

static int time_type(const char *image, const char *type, size_t n) {
        _cleanup_free_ uint64_t *t = calloc(n, sizeof(uint64_t));
        systemd252_tpm2_plugin_params params = {
                .search_pcr_mask = UINT32_MAX,
                .device = getenv("TRUSTED_PLATFORM_TCTI"),
        };
        bool systemd = streq(type, "systemd-tpm2");
        uint64_t first = 0;

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct crypt_device *cd = NULL;
                uint64_t t0 = now_ns();
                int r;

                r = crypt_init(&cd, image);
                if (r >= 0)
                        r = crypt_load(cd, CRYPT_LUKS2, NULL);
                if (r >= 0)
                        r = crypt_activate_by_token_pin(cd, NULL, type, CRYPT_ANY_TOKEN, NULL, 0,
                                                        systemd ? &params : NULL, 0);
                crypt_free(cd);
                t[i] = now_ns() - t0;
                if (r < 0)
                        return log_error_errno(r, "%s: no key through %s: %m", image, type);
                if (i == 0)
                        first = t[i];
                if (systemd &&
                    system("tpm2_flushcontext -l >/dev/null 2>&1 && tpm2_flushcontext -s >/dev/null 2>&1") != 0)
                        return log_error_errno(EIO, "tpm2_flushcontext failed");
        }
        printf("%s\t%.0f\t%.0f\n", type, (double) first / 1000.0, median_us(t, n));
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        log_parse_environment();
        if (argc == 4 && streq(argv[1], "enroll"))
                r = enroll(argv[2], argv[3]);
        else if (argc == 5 && streq(argv[1], "time"))
                r = time_type(argv[2], argv[3], strtoul(argv[4], NULL, 10) ?: 1);
        else if (argc == 5 && streq(argv[1], "passphrase"))
                r = time_passphrase(argv[2], argv[3], strtoul(argv[4], NULL, 10) ?: 1);
        else if (argc == 4 && streq(argv[1], "unseal"))
                r = time_unseal(argv[2], strtoul(argv[3], NULL, 10) ?: 1);
        else {
                fprintf(stderr,
                        "Usage: bench-luks enroll IMG PASSPHRASE | time IMG TYPE N | passphrase IMG PASSPHRASE N "
                        "| unseal IMG N\n");
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
