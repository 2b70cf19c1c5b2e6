/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LUKS2 volume operations on image files against swtpm behind tpm2-abrmd (tp-run --abrmd): create, status,
 * TPM enrollment and its test unlock, the PCR policy rule, unenroll and wipe with the last-credential
 * refusal, recovery keys, reseal after a PCR change and before a planned one, header backups, repair of
 * interrupted operations, and malformed volumes (not LUKS, LUKS1, truncated). Keyslots use pbkdf2 with 1000
 * iterations except the argon2id case. Tests run in order on one TPM. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-recovery.h"
#include "luks/luks-unseal.h"
#include "luks/luks-volume.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"

#define PASS "correct horse battery staple"
#define PCR(i) (UINT32_C(1) << (i))

static const LuksKdfOptions fast_kdf = { .type = LUKS_PBKDF_PBKDF2, .iterations = 1000 };
static char reason[1024];

static char *test_path(const char *name) {
        char *p = NULL;
        const char *dir = getenv("TP_TEST_DIR");

        assert_non_null(dir);
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

/* A new volume with the passphrase PASS and, when asked, a recovery key (returned). */
static char *make_volume(const char *name, bool recovery, char **ret_key) {
        char *path = test_path(name);
        LuksCreateOptions o = {
                .size = LUKS_VOLUME_MIN_SIZE,
                .passphrase = PASS,
                .passphrase_size = strlen(PASS),
                .recovery_key = recovery,
                .kdf = fast_kdf,
                .force = true,
        };
        char *key = NULL;

        (void) unlink(path);
        assert_int_equal(luks_volume_create(path, &o, recovery ? &key : NULL, NULL, reason, sizeof(reason)),
                         0);
        if (ret_key)
                *ret_key = key;
        else
                erase_and_free(key);
        return path;
}

static LuksVolumeStatus *status_of(const char *path) {
        LuksVolumeStatus *s = NULL;

        assert_int_equal(luks_volume_status(path, &s, reason, sizeof(reason)), 0);
        return s;
}

static size_t count_role(const LuksVolumeStatus *s, LuksKeyslotRole role) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_keyslots; i++)
                if (s->keyslots[i].role == role)
                        n++;
        return n;
}

static const LuksTokenStatus *find_token(const LuksVolumeStatus *s, const char *type) {
        for (size_t i = 0; i < s->n_tokens; i++)
                if (streq(s->tokens[i].type, type))
                        return &s->tokens[i];
        return NULL;
}

/* What the unlock path does: the token from the header, unsealed, opening its keyslot. */
static int token_unlock(const char *path, int id, char *why, size_t why_size) {
        struct crypt_device *cd = NULL;
        LuksToken *t = NULL;
        void *secret = NULL;
        const char *json = NULL;
        size_t size = 0;
        int r;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_true(crypt_token_json_get(cd, id, &json) >= 0);
        assert_int_equal(luks_token_parse(json, strlen(json), &t, why, why_size), 0);
        r = luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, why, why_size);
        if (r >= 0)
                r = crypt_activate_by_passphrase(cd, NULL, t->keyslot, secret, size, 0);
        erase_and_free(secret);
        luks_token_free(t);
        crypt_free(cd);
        return r;
}

static void extend_pcr7(const char *data) {
        Tpm2Context *c = NULL;

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_pcr_extend_data(c, 7, TPM2_ALG_SHA256, data, strlen(data)), 0);
        tpm2_context_free(c);
}

static const LuksEnrollOptions enroll_default = { .accept_risk = false };

static void test_provision_srk(void **state) {
        Tpm2Context *c = NULL;
        ESYS_TR srk = ESYS_TR_NONE;

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        tpm2_context_free(c);
}

static void test_create_and_status(void **state) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        char *key = NULL;

        path = make_volume("create.img", true, &key);
        assert_true(luks_recovery_key_is_valid(key));
        s = status_of(path);
        assert_int_equal(strlen(s->uuid), 36);
        assert_string_equal(s->cipher, "aes-xts-plain64");
        assert_int_equal(s->n_keyslots, 2);
        assert_int_equal(s->keyslots[0].role, LUKS_KEYSLOT_PASSPHRASE);
        assert_string_equal(s->keyslots[0].pbkdf, "pbkdf2");
        assert_int_equal(s->keyslots[0].iterations, 1000);
        assert_int_equal(s->keyslots[1].role, LUKS_KEYSLOT_RECOVERY);
        assert_int_equal(s->n_tokens, 1);
        assert_string_equal(s->tokens[0].type, LUKS_RECOVERY_TOKEN_TYPE);
        assert_null(s->tokens[0].problem);
        assert_false(s->journal);

        assert_int_equal(luks_volume_status_format(s, &text), 0);
        assert_non_null(strstr(text, "   0: passphrase (pbkdf2-sha256, 1000 iterations)"));
        assert_non_null(strstr(text, "   1: recovery-key, token 0"));
        assert_non_null(strstr(text, "trusted-platform-recovery, keyslot 1"));

        /* Both open the volume; the key also as typed: upper case, spaces. */
        assert_int_equal(luks_volume_test_passphrase(path, PASS, strlen(PASS), reason, sizeof(reason)), 0);
        assert_int_equal(luks_volume_test_passphrase(path, key, strlen(key), reason, sizeof(reason)), 1);
        for (char *p = key; *p; p++)
                *p = *p == '-' ? ' ' : (char) (*p - 32);
        assert_int_equal(luks_volume_test_passphrase(path, key, strlen(key), reason, sizeof(reason)), 1);
        assert_int_equal(luks_volume_test_passphrase(path, "wrong", 5, reason, sizeof(reason)), -EPERM);
        assert_string_equal(reason, "the passphrase opens no keyslot");
        erase_and_free(key);
}

static void test_create_refusals(void **state) {
        _cleanup_free_ char *path = NULL, *fs = NULL, *cmd = NULL, *small = NULL;
        LuksCreateOptions o = { .size = LUKS_VOLUME_MIN_SIZE,
                                .passphrase = "other",
                                .passphrase_size = 5,
                                .kdf = fast_kdf };
        _cleanup_free_ char *uuid = NULL;

        /* An existing LUKS header is not overwritten without force, and stays intact. */
        path = make_volume("refuse.img", false, NULL);
        assert_int_equal(luks_volume_create(path, &o, NULL, NULL, reason, sizeof(reason)), -EEXIST);
        assert_non_null(strstr(reason, "crypto_LUKS"));
        assert_int_equal(luks_volume_test_passphrase(path, PASS, strlen(PASS), reason, sizeof(reason)), 0);
        o.force = true;
        assert_int_equal(luks_volume_create(path, &o, NULL, &uuid, reason, sizeof(reason)), 0);
        assert_int_equal(strlen(uuid), 36);
        assert_int_equal(luks_volume_test_passphrase(path, "other", 5, reason, sizeof(reason)), 0);
        o.force = false;

        /* Nor a filesystem. */
        fs = test_path("ext4.img");
        assert_true(asprintf(&cmd, "rm -f '%s' && truncate -s 40M '%s' && mkfs.ext4 -q -F '%s'", fs, fs, fs) >
                    0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(luks_volume_create(fs, &o, NULL, NULL, reason, sizeof(reason)), -EEXIST);
        assert_non_null(strstr(reason, "ext4"));

        /* Nothing to unlock with, a size too small, a bad label, a missing file without a size. */
        small = test_path("small.img");
        (void) unlink(small);
        o.passphrase = NULL;
        assert_int_equal(luks_volume_create(small, &o, NULL, NULL, reason, sizeof(reason)), -EINVAL);
        o.passphrase = "x";
        o.size = 1024 * 1024;
        assert_int_equal(luks_volume_create(small, &o, NULL, NULL, reason, sizeof(reason)), -EINVAL);
        o.size = LUKS_VOLUME_MIN_SIZE;
        o.label = "bad\nlabel";
        assert_int_equal(luks_volume_create(small, &o, NULL, NULL, reason, sizeof(reason)), -EINVAL);
        o.label = NULL;
        o.size = 0;
        assert_int_equal(luks_volume_create(small, &o, NULL, NULL, reason, sizeof(reason)), -ENOENT);
        o.kdf.iterations = 10;
        o.size = LUKS_VOLUME_MIN_SIZE;
        assert_int_equal(luks_volume_create(small, &o, NULL, NULL, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "1000 iterations"));
}

static void test_argon2id(void **state) {
        _cleanup_free_ char *path = test_path("argon.img");
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        LuksCreateOptions o = {
                .size = LUKS_VOLUME_MIN_SIZE,
                .passphrase = PASS,
                .passphrase_size = strlen(PASS),
                .kdf = { .type = LUKS_PBKDF_ARGON2ID, .iterations = 4, .memory_kb = 32 * 1024 },
                .force = true,
                .label = "data",
        };
        LuksEnrollResult res = {};

        assert_int_equal(luks_volume_create(path, &o, NULL, NULL, reason, sizeof(reason)), 0);
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        s = status_of(path);
        assert_string_equal(s->label, "data");
        assert_string_equal(s->keyslots[0].pbkdf, "argon2id");
        assert_int_equal(s->keyslots[0].iterations, 4);
        assert_int_equal(s->keyslots[0].memory_kb, 32 * 1024);
        /* The TPM keyslot: pbkdf2-sha512 at the minimum, whatever the volume's KDF. */
        assert_int_equal(s->keyslots[1].role, LUKS_KEYSLOT_TPM2);
        assert_string_equal(s->keyslots[1].pbkdf, "pbkdf2");
        assert_string_equal(s->keyslots[1].hash, "sha512");
        assert_int_equal(s->keyslots[1].iterations, 1000);
}

static void test_enroll_default_pcr7(void **state) {
        _cleanup_free_ char *path = make_volume("enroll.img", false, NULL), *text = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        LuksEnrollResult res = {};
        char why[512];

        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(res.keyslot, 1);
        assert_int_equal(res.token, 0);
        assert_true(res.weak_policy);

        s = status_of(path);
        assert_int_equal(s->n_keyslots, 2);
        assert_int_equal(s->keyslots[1].role, LUKS_KEYSLOT_TPM2);
        assert_int_equal(s->keyslots[1].token, 0);
        assert_non_null(s->tokens[0].token);
        assert_int_equal(s->tokens[0].token->blob->pcr_mask, PCR(7));
        assert_int_equal(s->tokens[0].token->blob->bank, TPM2_ALG_SHA256);
        assert_false(s->tokens[0].token->blob->has_pin);
        assert_int_equal(luks_volume_status_format(s, &text), 0);
        assert_non_null(strstr(text, "   1: tpm2, token 0 (pbkdf2-sha512, 1000 iterations)"));
        assert_non_null(strstr(
                text, "   0: trusted-platform-tpm2, keyslot 1\n\tTPM policy: sha256 7\n\tPIN:        no"));

        assert_int_equal(token_unlock(path, 0, why, sizeof(why)), 1);
}

static void test_enroll_policy_rule(void **state) {
        _cleanup_free_ char *path = make_volume("policy.img", false, NULL);
        LuksEnrollOptions o = { .pcr_mask = PCR(7) };
        LuksEnrollResult res = {};
        bool weak;

        /* Explicit PCR sets without 4 or 11 need accept_risk (ATTACKS b-6); nothing is added. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         -EPERM);
        assert_non_null(strstr(reason, "component-identity PCR (4 or 11)"));
        o.pcr_mask = PCR(0) | PCR(2) | PCR(7);
        assert_int_equal(luks_enroll_check_policy(&o, &weak, reason, sizeof(reason)), -EPERM);
        o.accept_risk = true;
        assert_int_equal(luks_enroll_check_policy(&o, &weak, reason, sizeof(reason)), 0);
        assert_true(weak);
        o = (LuksEnrollOptions){ .pcr_mask = PCR(4) | PCR(7) };
        assert_int_equal(luks_enroll_check_policy(&o, &weak, reason, sizeof(reason)), 0);
        assert_false(weak);
        o.pcr_mask = PCR(11);
        assert_int_equal(luks_enroll_check_policy(&o, &weak, reason, sizeof(reason)), 0);
        assert_false(weak);

        /* PCR 4 + 7 enrolls, with a PIN. */
        o = (LuksEnrollOptions){ .pcr_mask = PCR(4) | PCR(7), .pin = "1234" };
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         0);
        assert_false(res.weak_policy);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_int_equal(s->tokens[0].token->blob->pcr_mask, PCR(4) | PCR(7));
                assert_true(s->tokens[0].token->blob->has_pin);
                assert_non_null(strstr(s->tokens[0].description, "PIN:        yes"));
        }
        /* Resealing a PIN token needs its PIN (or the passphrase): -ENOANO without, -EACCES when wrong. */
        LuksEnrollOptions nopin = { .pcr_mask = PCR(4) | PCR(7) };
        assert_int_equal(luks_volume_reseal(path, res.token, NULL, NULL, NULL, 0, &nopin, NULL, reason,
                                            sizeof(reason)),
                         -ENOANO);
        assert_int_equal(luks_volume_reseal(path, res.token, "9999", NULL, NULL, 0, &nopin, NULL, reason,
                                            sizeof(reason)),
                         -EACCES);
        assert_int_equal(luks_volume_reseal(path, res.token, "1234", NULL, NULL, 0, &nopin, &res, reason,
                                            sizeof(reason)),
                         0);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_false(s->tokens[0].token->blob->has_pin);
        }

        /* Resettable PCRs are refused by the sealing code; nothing added. */
        o = (LuksEnrollOptions){ .pcr_mask = PCR(7) | PCR(16), .accept_risk = true };
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         -EINVAL);
        assert_non_null(strstr(reason, "PCR 16"));
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 2);
                assert_int_equal(s->n_tokens, 1);
                assert_false(s->journal);
        }
}

/* Writes a signed policy for the current PCR 7 value (and, if given, a second entry) to file. */
static void write_signed_policy(EVP_PKEY *key, const char *file, const Tpm2PcrValue *other) {
        Tpm2SignedPolicy p = { .n_entries = other ? 2 : 1 };
        Tpm2Context *c = NULL;
        Tpm2PcrValue *now = NULL;
        char *text = NULL;
        size_t n = 0;
        FILE *f;

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR(7), &now, &n), 0);
        tpm2_context_free(c);
        assert_int_equal(tpm2_signed_policy_sign(key, TPM2_ALG_SHA256, now, n, &p.entries[0]), 0);
        if (other)
                assert_int_equal(tpm2_signed_policy_sign(key, TPM2_ALG_SHA256, other, 1, &p.entries[1]), 0);
        assert_int_equal(tpm2_signed_policy_format(&p, &text), 0);
        f = fopen(file, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        free(text);
        free(now);
}

/* Signed policy: enrolled to an authorizing key, tested with a policy signed for now; a policy that does
 * not match the PCRs makes the test unlock fail and nothing stays behind; after a PCR change a new
 * signature (no reseal) opens it, and a reseal needs no passphrase. */
static void test_enroll_signed_policy(void **state) {
        _cleanup_free_ char *path = make_volume("signed.img", false, NULL), *policy = test_path("policy.json");
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        TPM2B_PUBLIC pub;
        Tpm2PcrValue stale = { .index = 7, .bank = TPM2_ALG_SHA256, .size = 32 };
        LuksEnrollResult res = {}, res2 = {};
        void *secret = NULL;
        size_t size = 0;
        char why[512];

        assert_non_null(key);
        assert_int_equal(tpm2_authorize_key_from_pkey(key, &pub, NULL), 0);
        LuksEnrollOptions o = { .authorize_key = &pub };

        /* No policy to test with: refused before anything is written. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         -EINVAL);
        assert_non_null(strstr(reason, "signed policy"));
        o.pcr_mask = PCR(7);
        o.signed_policy_path = policy;
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         -EINVAL);
        o.pcr_mask = 0;

        /* A policy signed for other PCR values: the test unlock fails, everything added is removed. */
        memset(stale.digest, 0x5a, 32);
        {
                Tpm2SignedPolicy p = { .n_entries = 1 };
                char *text = NULL;
                FILE *f = fopen(policy, "we");
                assert_int_equal(tpm2_signed_policy_sign(key, TPM2_ALG_SHA256, &stale, 1, &p.entries[0]), 0);
                assert_int_equal(tpm2_signed_policy_format(&p, &text), 0);
                assert_true(fputs(text, f) >= 0);
                assert_int_equal(fclose(f), 0);
                free(text);
        }
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         -EPERM);
        assert_non_null(strstr(reason, "test unlock"));
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 0);
                assert_false(s->journal);
        }

        /* A policy for now: enrolled, not weak, described as a signed policy. */
        write_signed_policy(key, policy, NULL);
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason)),
                         0);
        assert_false(res.weak_policy);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_true(s->tokens[0].token->blob->authorize);
                assert_non_null(strstr(s->tokens[0].description, "signed policy, key "));
        }

        /* PCR 7 changes: the old signature no longer matches; a new one does, without a reseal. */
        extend_pcr7("signed test: an update");
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(luks_token_unseal(s->tokens[0].token, NULL, NULL, policy, &secret, &size,
                                                   why, sizeof(why)),
                                 -EPERM);
                write_signed_policy(key, policy, &stale);
                assert_int_equal(luks_token_unseal(s->tokens[0].token, NULL, NULL, policy, &secret, &size,
                                                   why, sizeof(why)),
                                 0);
                erase_and_free(secret);
        }

        /* Reseal to a PCR policy with the signed token's secret, no passphrase. */
        LuksEnrollOptions o2 = { .pcr_mask = PCR(4) | PCR(7) };
        assert_int_equal(luks_volume_reseal(path, res.token, NULL, policy, NULL, 0, &o2, &res2, reason,
                                            sizeof(reason)),
                         0);
        assert_int_equal(token_unlock(path, res2.token, why, sizeof(why)), res2.keyslot);
        EVP_PKEY_free(key);
}

static void test_enroll_wrong_passphrase(void **state) {
        _cleanup_free_ char *path = make_volume("wrongpass.img", false, NULL);
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;

        assert_int_equal(luks_volume_enroll_tpm(path, "nope", 4, &enroll_default, NULL, reason, sizeof(reason)),
                         -EPERM);
        assert_string_equal(reason, "the passphrase opens no keyslot");
        assert_int_equal(luks_volume_enroll_tpm(path, NULL, 0, &enroll_default, NULL, reason, sizeof(reason)),
                         -EINVAL);
        s = status_of(path);
        assert_int_equal(s->n_keyslots, 1);
        assert_int_equal(s->n_tokens, 0);
}

static void test_unenroll_and_last_credential(void **state) {
        _cleanup_free_ char *path = make_volume("unenroll.img", false, NULL);
        LuksEnrollResult res = {};

        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        /* The passphrase may go while the TPM keyslot stays... */
        assert_int_equal(luks_volume_wipe_keyslot(path, 0, NULL, reason, sizeof(reason)), 0);
        /* ...but then the TPM keyslot is the last credential. */
        assert_int_equal(luks_volume_unenroll(path, res.token, NULL, reason, sizeof(reason)), -EBUSY);
        assert_non_null(strstr(reason, "last one"));
        assert_int_equal(luks_volume_wipe_keyslot(path, res.keyslot, NULL, reason, sizeof(reason)), -EBUSY);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                char why[512];
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 1);
                assert_int_equal(token_unlock(path, res.token, why, sizeof(why)), res.keyslot);
        }

        /* A passphrase-only volume: its one keyslot cannot be wiped. */
        free(path);
        path = make_volume("unenroll2.img", false, NULL);
        assert_int_equal(luks_volume_wipe_keyslot(path, 0, NULL, reason, sizeof(reason)), -EBUSY);

        /* Enroll, unenroll: back to the passphrase alone, the keyslot's token gone with it. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(luks_volume_unenroll(path, res.token, NULL, reason, sizeof(reason)), 0);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 0);
        }
        /* Wiping a TPM keyslot takes its token along. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(luks_volume_wipe_keyslot(path, res.keyslot, NULL, reason, sizeof(reason)), 0);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 0);
        }
}

static void test_bad_numbers_and_foreign_tokens(void **state) {
        _cleanup_free_ char *path = make_volume("numbers.img", false, NULL);
        struct crypt_device *cd = NULL;

        assert_int_equal(luks_volume_wipe_keyslot(path, -1, NULL, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(luks_volume_wipe_keyslot(path, 32, NULL, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(luks_volume_wipe_keyslot(path, 5, NULL, reason, sizeof(reason)), -ENOENT);
        assert_string_equal(reason, "keyslot 5 is not in use");
        assert_int_equal(luks_volume_unenroll(path, -1, NULL, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(luks_volume_unenroll(path, 99, NULL, reason, sizeof(reason)), -EINVAL);
        assert_int_equal(luks_volume_unenroll(path, 3, NULL, reason, sizeof(reason)), -ENOENT);
        assert_int_equal(luks_volume_reseal(path, 40, NULL, NULL, NULL, 0, &enroll_default, NULL, reason,
                                            sizeof(reason)),
                         -EINVAL);
        assert_int_equal(luks_volume_reseal(path, -1, NULL, NULL, NULL, 0, &enroll_default, NULL, reason,
                                            sizeof(reason)),
                         -ENOENT);
        assert_string_equal(reason, "the volume has no TPM token");

        /* Another tool's token: listed by name, bound keyslot reported, never removed by us. */
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_set(cd, 2, "{\"type\":\"example-foreign\",\"keyslots\":[\"0\"]}"),
                         2);
        crypt_free(cd);
        assert_int_equal(luks_volume_unenroll(path, 2, NULL, reason, sizeof(reason)), -EMEDIUMTYPE);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_string_equal(s->tokens[0].type, "example-foreign");
                assert_null(s->tokens[0].problem);
                assert_int_equal(s->keyslots[0].role, LUKS_KEYSLOT_TOKEN);
                assert_int_equal(s->keyslots[0].token, 2);
        }
}

static void test_malformed_volumes(void **state) {
        _cleanup_free_ char *zero = test_path("zero.img"), *luks1 = test_path("luks1.img"), *trunc = NULL,
                            *missing = test_path("missing.img"), *cmd = NULL;
        LuksVolumeStatus *s = NULL;
        struct crypt_device *cd = NULL;
        struct crypt_params_luks1 p1 = { .hash = "sha256" };
        const struct crypt_pbkdf_type kdf = { .type = CRYPT_KDF_PBKDF2,
                                              .hash = "sha256",
                                              .iterations = 1000,
                                              .flags = CRYPT_PBKDF_NO_BENCHMARK };

        /* Not LUKS at all. */
        assert_true(asprintf(&cmd, "truncate -s 32M '%s'", zero) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(luks_volume_status(zero, &s, reason, sizeof(reason)), -EMEDIUMTYPE);
        assert_non_null(strstr(reason, "no valid LUKS2 header"));
        assert_int_equal(luks_volume_enroll_tpm(zero, PASS, strlen(PASS), &enroll_default, NULL, reason,
                                                sizeof(reason)),
                         -EMEDIUMTYPE);
        assert_int_equal(luks_volume_status(missing, &s, reason, sizeof(reason)), -ENOENT);
        assert_null(s);

        /* LUKS1: named, not touched. */
        free(cmd);
        assert_true(asprintf(&cmd, "rm -f '%s'; truncate -s 32M '%s'", luks1, luks1) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(crypt_init(&cd, luks1), 0);
        assert_int_equal(crypt_set_pbkdf_type(cd, &kdf), 0);
        assert_int_equal(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", NULL, NULL, 64, &p1), 0);
        assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, PASS, strlen(PASS)), 0);
        crypt_free(cd);
        assert_int_equal(luks_volume_status(luks1, &s, reason, sizeof(reason)), -EPROTONOSUPPORT);
        assert_non_null(strstr(reason, "LUKS1"));
        assert_int_equal(luks_volume_wipe_keyslot(luks1, 0, NULL, reason, sizeof(reason)), -EPROTONOSUPPORT);
        assert_int_equal(crypt_init(&cd, luks1), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS1, NULL), 0);
        assert_int_equal(crypt_activate_by_passphrase(cd, NULL, 0, PASS, strlen(PASS), 0), 0);
        crypt_free(cd);

        /* A LUKS2 volume cut inside its header. */
        trunc = make_volume("trunc.img", false, NULL);
        free(cmd);
        assert_true(asprintf(&cmd, "truncate -s 8K '%s'", trunc) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(luks_volume_status(trunc, &s, reason, sizeof(reason)), -EMEDIUMTYPE);
        assert_int_equal(luks_volume_add_recovery_key(trunc, PASS, strlen(PASS), &fast_kdf, NULL, &cmd, NULL,
                                                      reason, sizeof(reason)),
                         -EMEDIUMTYPE);
        assert_null(s);
}

/* A header with requirement flags (CVE-2021-4122 forged "reencryption crashed" metadata): reported, never
 * changed; the passphrase still opens it. */
static void test_requirement_flags(void **state) {
        _cleanup_free_ char *path = make_volume("reqs.img", false, NULL), *text = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        struct crypt_device *cd = NULL;
        char *key = NULL;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_persistent_flags_set(cd, CRYPT_FLAGS_REQUIREMENTS,
                                                    CRYPT_REQUIREMENT_OFFLINE_REENCRYPT),
                         0);
        crypt_free(cd);

        s = status_of(path);
        assert_int_equal(s->requirements, CRYPT_REQUIREMENT_OFFLINE_REENCRYPT);
        assert_int_equal(luks_volume_status_format(s, &text), 0);
        assert_non_null(strstr(text, "Requirement flags 0x1"));
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, NULL, reason,
                                                sizeof(reason)),
                         -EBUSY);
        assert_non_null(strstr(reason, "requirement flags"));
        assert_int_equal(luks_volume_add_recovery_key(path, PASS, strlen(PASS), &fast_kdf, NULL, &key, NULL,
                                                      reason, sizeof(reason)),
                         -EBUSY);
        assert_int_equal(luks_volume_wipe_keyslot(path, 0, NULL, reason, sizeof(reason)), -EBUSY);
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 0);
        assert_null(key);
}

/* Tokens of ours edited in the header: reported with the reason, never used to unseal, removable. */
static void test_hostile_tokens(void **state) {
        _cleanup_free_ char *path = make_volume("hostile.img", false, NULL);
        struct crypt_device *cd = NULL;
        LuksEnrollResult res = {};
        const char *json = NULL;
        char *edited = NULL, *p;

        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        /* The token's PCR list edited to claim no PCRs at all. */
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_true(crypt_token_json_get(cd, res.token, &json) >= 0);
        edited = strdup(json);
        assert_non_null(edited);
        p = strstr(edited, "\"tp-pcrs\":[7]");
        assert_non_null(p);
        memcpy(p, "\"tp-pcrs\":[ ]", strlen("\"tp-pcrs\":[7]"));
        assert_int_equal(crypt_token_json_set(cd, res.token, edited), res.token);
        /* And a recovery marker pointing at the passphrase keyslot plus a garbage one of our type. */
        assert_int_equal(crypt_token_json_set(cd, 9,
                                              "{\"type\":\"trusted-platform-tpm2\",\"keyslots\":[\"0\"],"
                                              "\"tp-version\":1,\"tp-blob\":\"!!\"}"),
                         9);
        crypt_free(cd);
        free(edited);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 2);
                assert_non_null(s->tokens[0].problem);
                assert_non_null(strstr(s->tokens[0].problem, "tp-pcrs"));
                assert_null(s->tokens[0].token);
                assert_non_null(s->tokens[1].problem);
                assert_non_null(strstr(s->tokens[1].problem, "tp-blob"));
        }
        /* Reseal refuses the edited token with the parser's reason; a passphrase does not make it try. */
        assert_int_equal(luks_volume_reseal(path, res.token, NULL, NULL, PASS, strlen(PASS), &enroll_default,
                                            NULL, reason, sizeof(reason)),
                         -EBADMSG);
        assert_non_null(strstr(reason, "malformed"));
        assert_int_equal(luks_volume_reseal(path, -1, NULL, NULL, PASS, strlen(PASS), &enroll_default, NULL,
                                            reason, sizeof(reason)),
                         -EUCLEAN);
        /* Unenroll removes the edited token and its keyslot; the garbage one is bound to the passphrase's
         * keyslot, which is the last one: refused. */
        assert_int_equal(luks_volume_unenroll(path, res.token, NULL, reason, sizeof(reason)), 0);
        assert_int_equal(luks_volume_unenroll(path, 9, NULL, reason, sizeof(reason)), -EBUSY);
        assert_int_equal(luks_volume_test_passphrase(path, PASS, strlen(PASS), reason, sizeof(reason)), 0);
}

static void test_recovery_key_after_pcr_change(void **state) {
        _cleanup_free_ char *path = NULL;
        char *key = NULL, *key2 = NULL, why[512];
        LuksEnrollResult res = {};
        int slot = -1;

        path = make_volume("recovery.img", false, NULL);
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(luks_volume_add_recovery_key(path, PASS, strlen(PASS), &fast_kdf, NULL, &key, &slot,
                                                      reason, sizeof(reason)),
                         0);
        assert_int_equal(slot, 2);
        /* Unlocking with one recovery key adds another. */
        assert_int_equal(luks_volume_add_recovery_key(path, key, strlen(key), &fast_kdf, NULL, &key2, &slot,
                                                      reason, sizeof(reason)),
                         0);
        assert_int_equal(slot, 3);
        assert_string_not_equal(key, key2);

        extend_pcr7("recovery test: a boot component changed");
        assert_int_equal(token_unlock(path, res.token, why, sizeof(why)), -EPERM);
        assert_non_null(strstr(why, "PCR 7"));
        assert_int_equal(luks_volume_test_passphrase(path, key, strlen(key), reason, sizeof(reason)), 2);
        assert_int_equal(luks_volume_test_passphrase(path, key2, strlen(key2), reason, sizeof(reason)), 3);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(count_role(s, LUKS_KEYSLOT_RECOVERY), 2);
                assert_int_equal(count_role(s, LUKS_KEYSLOT_TPM2), 1);
                assert_int_equal(count_role(s, LUKS_KEYSLOT_PASSPHRASE), 1);
        }
        /* A recovery key is removed like a token. */
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                const LuksTokenStatus *t = find_token(s, LUKS_RECOVERY_TOKEN_TYPE);
                assert_non_null(t);
                assert_int_equal(luks_volume_unenroll(path, t ? t->id : -1, NULL, reason, sizeof(reason)), 0);
        }
        assert_int_equal(luks_volume_test_passphrase(path, key, strlen(key), reason, sizeof(reason)), -EPERM);
        erase_and_free(key);
        erase_and_free(key2);
}

static void test_reseal_after_pcr_change(void **state) {
        _cleanup_free_ char *path = NULL;
        char *key = NULL, why[512];
        LuksEnrollResult res = {}, res2 = {};

        path = make_volume("reseal.img", true, &key);
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(token_unlock(path, res.token, why, sizeof(why)), res.keyslot);

        /* Same PCRs: reseal needs no passphrase (here to PCR 4+7). */
        LuksEnrollOptions o = { .pcr_mask = PCR(4) | PCR(7) };
        assert_int_equal(luks_volume_reseal(path, -1, NULL, NULL, NULL, 0, &o, &res2, reason, sizeof(reason)),
                         0);
        assert_int_not_equal(res2.keyslot, res.keyslot);
        assert_int_equal(token_unlock(path, res2.token, why, sizeof(why)), res2.keyslot);
        res = res2;

        extend_pcr7("reseal test: the firmware was updated");
        assert_int_equal(token_unlock(path, res.token, why, sizeof(why)), -EPERM);

        /* The old token cannot unseal and no passphrase is given: refused with the reason, nothing changed. */
        assert_int_equal(luks_volume_reseal(path, -1, NULL, NULL, NULL, 0, &enroll_default, NULL, reason,
                                            sizeof(reason)),
                         -EPERM);
        assert_non_null(strstr(reason, "PCR 7"));
        /* A recovery key, as typed, stands in. */
        for (char *p = key; *p; p++)
                if (*p == '-')
                        *p = ' ';
        assert_int_equal(luks_volume_reseal(path, res.token, NULL, NULL, key, strlen(key), &enroll_default,
                                            &res2, reason, sizeof(reason)),
                         0);
        assert_int_equal(token_unlock(path, res2.token, why, sizeof(why)), res2.keyslot);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 3); /* passphrase, recovery key, the new TPM keyslot */
                assert_int_equal(count_role(s, LUKS_KEYSLOT_TPM2), 1);
                assert_int_equal(s->keyslots[2].role, LUKS_KEYSLOT_TPM2);
                assert_int_equal(s->keyslots[2].slot, res2.keyslot);
                assert_int_equal(s->n_tokens, 2);
        }
        erase_and_free(key);
}

/* A planned change: reseal to the PCR 7 value the update will produce, before it happens. */
static void test_reseal_planned_change(void **state) {
        _cleanup_free_ char *path = make_volume("planned.img", false, NULL);
        const char *event = "planned: new shim";
        Tpm2Context *c = NULL;
        Tpm2PcrValue *now = NULL, future;
        LuksEnrollResult res = {}, res2 = {};
        uint8_t m[32];
        unsigned len = 0;
        size_t n = 0;
        char why[512];
        EVP_MD_CTX *x = EVP_MD_CTX_new();

        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR(7), &now, &n), 0);
        tpm2_context_free(c);
        future = now[0];
        assert_int_equal(EVP_Digest(event, strlen(event), m, &len, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestInit_ex(x, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(x, now[0].digest, 32), 1);
        assert_int_equal(EVP_DigestUpdate(x, m, 32), 1);
        assert_int_equal(EVP_DigestFinal_ex(x, future.digest, &len), 1);
        EVP_MD_CTX_free(x);
        free(now);

        LuksEnrollOptions o = { .expected = &future, .n_expected = 1 };
        assert_int_equal(luks_volume_reseal(path, -1, NULL, NULL, NULL, 0, &o, &res2, reason, sizeof(reason)),
                         0);
        /* Before the change the new token does not open; after it, it does. */
        assert_int_equal(token_unlock(path, res2.token, why, sizeof(why)), -EPERM);
        extend_pcr7(event);
        assert_int_equal(token_unlock(path, res2.token, why, sizeof(why)), res2.keyslot);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_int_equal(s->n_keyslots, 2);
        }
}

static void test_header_backup(void **state) {
        _cleanup_free_ char *path = make_volume("backup.img", false, NULL), *dir = test_path("backups"),
                            *file = NULL, *cmd = NULL;
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
        LuksEnrollOptions o = { .backup_dir = dir };
        struct crypt_device *cd = NULL;
        struct stat st;

        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, NULL, reason, sizeof(reason)),
                         0);
        assert_true(asprintf(&file, "%s/%s.header", dir, s->uuid) > 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* The backup is from before the change: one keyslot, and it opens with the passphrase. */
        assert_int_equal(crypt_init(&cd, file), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_keyslot_status(cd, 1), CRYPT_SLOT_INACTIVE);
        assert_int_equal(crypt_activate_by_passphrase(cd, NULL, 0, PASS, strlen(PASS), 0), 0);
        crypt_free(cd);

        /* The next change replaces it; no temporary file stays behind. */
        assert_int_equal(luks_volume_wipe_keyslot(path, 1, dir, reason, sizeof(reason)), 0);
        assert_int_equal(crypt_init(&cd, file), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_not_equal(crypt_keyslot_status(cd, 1), CRYPT_SLOT_INACTIVE);
        crypt_free(cd);
        assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir) > 0);
        assert_int_equal(system(cmd), 0);
}

/* Interrupted operations, made by hand: an add whose keyslot has no token yet, a removal half done, a token
 * whose keyslot is gone. Status reports them; repair undoes or completes them. */
static void test_repair(void **state) {
        _cleanup_free_ char *path = make_volume("repair.img", false, NULL);
        struct crypt_device *cd = NULL;
        LuksEnrollResult res = {};
        char why[512];

        /* add: keyslot 1 exists, the journal names it, no token: rolled back. */
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_set(cd, 5,
                                              "{\"type\":\"trusted-platform-journal\",\"keyslots\":[],"
                                              "\"tp-op\":\"add\",\"tp-keyslot\":\"1\",\"tp-token\":0}"),
                         5);
        assert_int_equal(
                crypt_set_pbkdf_type(cd,
                                     &(const struct crypt_pbkdf_type){ .type = CRYPT_KDF_PBKDF2,
                                                                       .hash = "sha256",
                                                                       .iterations = 1000,
                                                                       .flags = CRYPT_PBKDF_NO_BENCHMARK }),
                0);
        assert_int_equal(crypt_keyslot_add_by_passphrase(cd, 1, PASS, strlen(PASS), "orphan", 6), 1);
        crypt_free(cd);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                _cleanup_free_ char *text = NULL;
                assert_true(s->journal);
                assert_int_equal(s->keyslots[1].role, LUKS_KEYSLOT_PENDING);
                assert_int_equal(luks_volume_status_format(s, &text), 0);
                assert_non_null(strstr(text, "interrupted"));
        }
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 1);
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 0);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_false(s->journal);
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 0);
        }

        /* remove: the journal names the TPM pair: completed. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_set(cd, 7,
                                              "{\"type\":\"trusted-platform-journal\",\"keyslots\":[],"
                                              "\"tp-op\":\"remove\",\"tp-keyslot\":\"1\",\"tp-token\":0}"),
                         7);
        crypt_free(cd);
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 1);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_keyslots, 1);
                assert_int_equal(s->n_tokens, 0);
        }

        /* A TPM token whose keyslot was destroyed by another tool: reported, then removed. */
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &enroll_default, &res, reason,
                                                sizeof(reason)),
                         0);
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_keyslot_destroy(cd, res.keyslot), 0);
        crypt_free(cd);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 1);
                assert_non_null(s->tokens[0].problem);
                assert_non_null(strstr(s->tokens[0].problem, "no keyslot"));
        }
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 1);
        {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = status_of(path);
                assert_int_equal(s->n_tokens, 0);
        }

        /* A journal naming a keyslot that is the only one left: never destroyed. */
        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_set(cd, 1,
                                              "{\"type\":\"trusted-platform-journal\",\"keyslots\":[],"
                                              "\"tp-op\":\"add\",\"tp-keyslot\":\"0\",\"tp-token\":3}"),
                         1);
        crypt_free(cd);
        assert_int_equal(luks_volume_repair(path, NULL, reason, sizeof(reason)), 1);
        assert_int_equal(luks_volume_test_passphrase(path, PASS, strlen(PASS), why, sizeof(why)), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provision_srk),
                cmocka_unit_test(test_create_and_status),
                cmocka_unit_test(test_create_refusals),
                cmocka_unit_test(test_argon2id),
                cmocka_unit_test(test_enroll_default_pcr7),
                cmocka_unit_test(test_enroll_policy_rule),
                cmocka_unit_test(test_enroll_signed_policy),
                cmocka_unit_test(test_enroll_wrong_passphrase),
                cmocka_unit_test(test_unenroll_and_last_credential),
                cmocka_unit_test(test_bad_numbers_and_foreign_tokens),
                cmocka_unit_test(test_malformed_volumes),
                cmocka_unit_test(test_requirement_flags),
                cmocka_unit_test(test_hostile_tokens),
                cmocka_unit_test(test_recovery_key_after_pcr_change),
                cmocka_unit_test(test_reseal_after_pcr_change),
                cmocka_unit_test(test_reseal_planned_change),
                cmocka_unit_test(test_header_backup),
                cmocka_unit_test(test_repair),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
