/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* LUKS2 image files for the token tests (header only, cmocka asserts; include after <cmocka.h>):
 * formatted with pbkdf2 at 1000 iterations (or argon2id at its minimum cost), a known passphrase in a
 * keyslot, and a test-only enrollment of our token: a random passphrase sealed with tpm2_seal(), added
 * as a keyslot, the token JSON from luks_token_format() set and assigned. The real enrollment (test
 * unlock before removing anything, header backup) is the volume code's; this is just enough to have a
 * token to open. */

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "basic/hexdecoct.h"
#include "basic/secure-mem.h"
#include "luks/luks-token.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-srk.h"

#define LUKS_TEST_PASSPHRASE "correct horse battery staple"
#define LUKS_TEST_IMAGE_SIZE (20U * 1024U * 1024U) /* 16 MiB LUKS2 header and keyslots, some data */

static inline void luks_test_pbkdf(struct crypt_device *cd, bool argon2) {
        struct crypt_pbkdf_type pbkdf = {
                .type = argon2 ? CRYPT_KDF_ARGON2ID : CRYPT_KDF_PBKDF2,
                .hash = "sha256",
                .iterations = argon2 ? 4 : 1000,
                .max_memory_kb = argon2 ? 32 : 0,
                .parallel_threads = argon2 ? 1 : 0,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
}

/* A new LUKS2 image at path with LUKS_TEST_PASSPHRASE in keyslot 0. */
static inline void luks_test_format(const char *path, bool argon2) {
        struct crypt_device *cd = NULL;
        int fd;

        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, LUKS_TEST_IMAGE_SIZE), 0);
        close(fd);

        assert_int_equal(crypt_init(&cd, path), 0);
        luks_test_pbkdf(cd, argon2);
        assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, NULL), 0);
        assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, LUKS_TEST_PASSPHRASE,
                                                         strlen(LUKS_TEST_PASSPHRASE)),
                         0);
        crypt_free(cd);
}

/* The name of the SRK at 0x81000001 (provisioned and pinned in the state directory if absent). */
static inline void luks_test_srk_name(Tpm2Context *c, TPM2B_NAME *ret) {
        Tpm2SrkInfo info = {};
        void *bin = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_srk_provision(c, NULL, true, NULL, &info), 0);
        assert_int_equal(unhexmem(info.name_hex, SIZE_MAX, &bin, &n), 0);
        assert_true(n <= sizeof(ret->name));
        ret->size = n;
        memcpy(ret->name, bin, n);
        free(bin);
        tpm2_srk_info_done(&info);
}

/* Sets token JSON on the image as is (hostile tokens included: libcryptsetup checks only its own
 * fields). Returns the token id or a negative errno. */
static inline int luks_test_token_set(const char *path, int token, const char *json) {
        struct crypt_device *cd = NULL;
        int r;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        r = crypt_token_json_set(cd, token, json);
        crypt_free(cd);
        return r;
}

/* The JSON of token on the image (free()). */
static inline char *luks_test_token_get(const char *path, int token) {
        struct crypt_device *cd = NULL;
        const char *json = NULL;
        char *copy;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_get(cd, token, &json), token);
        copy = strdup(json);
        assert_non_null(copy);
        crypt_free(cd);
        return copy;
}

typedef struct LuksTestEnrollment {
        int keyslot;
        int token;
        char *json;       /* the token JSON as set */
        char *passphrase; /* the sealed keyslot passphrase (base64 of 32 random bytes) */
} LuksTestEnrollment;

static inline void luks_test_enrollment_done(LuksTestEnrollment *e) {
        free(e->json);
        erase_and_free(e->passphrase);
        *e = (LuksTestEnrollment){};
}

/* Seals a random passphrase with o on the TPM at $TRUSTED_PLATFORM_TCTI, adds it as a keyslot of the
 * image (unlocked with LUKS_TEST_PASSPHRASE) and sets the token (with tp-tcti = tcti if not NULL). */
static inline void luks_test_enroll_full(const char *path, const Tpm2SealOptions *o, const char *tcti,
                                         bool argon2, LuksTestEnrollment *ret) {
        Tpm2SealedBlob *blob = NULL;
        Tpm2Context *c = NULL;
        struct crypt_device *cd = NULL;
        TPM2B_NAME srk;
        uint8_t raw[32];
        Tpm2Error e = {};
        LuksTestEnrollment en = { .keyslot = -1, .token = -1 };
        int r;

        assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
        assert_int_equal(base64mem(raw, sizeof(raw), &en.passphrase), 0);
        erase_mem(raw, sizeof(raw));

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        luks_test_srk_name(c, &srk);
        r = tpm2_seal(c, o, en.passphrase, strlen(en.passphrase), &blob, &e);
        if (r < 0)
                fprintf(stderr, "tpm2_seal: %s\n", e.message);
        assert_int_equal(r, 0);
        tpm2_context_free(c);

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        luks_test_pbkdf(cd, argon2);
        en.keyslot = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, LUKS_TEST_PASSPHRASE,
                                                     strlen(LUKS_TEST_PASSPHRASE), en.passphrase,
                                                     strlen(en.passphrase));
        assert_true(en.keyslot >= 0);
        assert_int_equal(luks_token_format(en.keyslot, blob, &srk, tcti, &en.json), 0);
        en.token = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, en.json);
        assert_true(en.token >= 0);
        /* The JSON names the keyslot already; assigning again must be a no-op, not an error. */
        r = crypt_token_assign_keyslot(cd, en.token, en.keyslot);
        assert_true(r == en.token || r == -EEXIST);
        crypt_free(cd);
        tpm2_sealed_blob_free(blob);

        *ret = en;
}

static inline void luks_test_enroll(const char *path, const Tpm2SealOptions *o, const char *tcti,
                                    LuksTestEnrollment *ret) {
        luks_test_enroll_full(path, o, tcti, false, ret);
}

/* Removes every token from the image. */
static inline void luks_test_token_remove_all(const char *path) {
        struct crypt_device *cd = NULL;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        for (int i = 0; i < 32; i++)
                if (crypt_token_status(cd, i, NULL) != CRYPT_TOKEN_INACTIVE)
                        assert_int_equal(crypt_token_json_set(cd, i, NULL), i);
        crypt_free(cd);
}

/* Whether passphrase opens a keyslot of the image (checked without activating). */
static inline int luks_test_check_passphrase(const char *path, const void *passphrase, size_t size) {
        struct crypt_device *cd = NULL;
        int r;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, passphrase, size, 0);
        crypt_free(cd);
        return r;
}
