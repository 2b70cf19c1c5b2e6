/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <blkid.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-recovery.h"
#include "luks/luks-unseal.h"
#include "luks/luks-volume-header.h"
#include "luks/luks-volume.h"
#include "shared/json-util.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

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

static int hooks_check(const LuksHooks *h) {
        return h && h->check ? h->check(h->userdata) : 0;
}

static void hooks_step(const LuksHooks *h, double done, double next, uint32_t expected_ms) {
        if (h && h->step)
                h->step(done, next, expected_ms, h->userdata);
}

/* A safe point: r < 0 when the caller asks to stop, with reason naming the step not taken. */
static int hooks_stop(const LuksHooks *h, const char *before, char *reason, size_t reason_size) {
        int r = hooks_check(h);

        if (r < 0)
                return luks_refuse(reason, reason_size, r, "stopped before %s", before);
        return 0;
}

static int benchmark_progress(uint32_t time_ms, void *userdata) {
        return hooks_check(userdata) < 0; /* non-zero ends the benchmark with -EINTR */
}

/* With hooks, the KDF is benchmarked here, once, through the callback that can stop it, and its cost fixed
 * in p: libcryptsetup's own benchmark (inside the first keyslot add) has no callback, and a fixed cost
 * also tells how long each keyslot takes (about p->time_ms). Without hooks libcryptsetup benchmarks. */
static int kdf_benchmark(struct crypt_pbkdf_type *p, const LuksHooks *h, char *reason, size_t reason_size) {
        static const char salt[32] = "trusted-platform kdf benchmark.";
        static const char pass[] = "trusted-platform benchmark";
        long cpus, pages, page_size;
        int r, k;

        if (!h || (p->flags & CRYPT_PBKDF_NO_BENCHMARK))
                return 0;
        /* The limits libcryptsetup's own benchmark applies: no more threads than CPUs, no more memory than
         * half of it (the public benchmark call takes the values as given). */
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        pages = sysconf(_SC_PHYS_PAGES);
        page_size = sysconf(_SC_PAGESIZE);
        if (!streq(p->type, CRYPT_KDF_PBKDF2)) {
                if (cpus > 0 && p->parallel_threads > (uint32_t) cpus)
                        p->parallel_threads = (uint32_t) cpus;
                if (pages > 0 && page_size > 0 &&
                    p->max_memory_kb > (uint64_t) pages / 2 * (uint64_t) page_size / 1024)
                        p->max_memory_kb = (uint32_t) ((uint64_t) pages / 2 * (uint64_t) page_size / 1024);
        }
        r = crypt_benchmark_pbkdf(NULL, p, pass, strlen(pass), salt, sizeof(salt), 64, benchmark_progress,
                                  (void *) h);
        if (r == -EINTR && (k = hooks_check(h)) < 0)
                return luks_refuse(reason, reason_size, k, "stopped during the key derivation benchmark");
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "benchmarking the key derivation failed: %s",
                                   strerror(-r));
        p->flags |= CRYPT_PBKDF_NO_BENCHMARK;
        return 0;
}

/* How long one keyslot of p takes: its target time once benchmarked, unknown when the cost was given. */
static uint32_t kdf_expected_ms(const struct crypt_pbkdf_type *p, const LuksHooks *h) {
        return h && (p->flags & CRYPT_PBKDF_NO_BENCHMARK) && p->time_ms > 0 ? p->time_ms : 0;
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
                                return luks_refuse(reason, reason_size, -EINVAL,
                                                   "pbkdf2 needs at least 1000 iterations");
                        p.iterations = kdf->iterations;
                        p.flags = CRYPT_PBKDF_NO_BENCHMARK;
                }
                break;
        default:
                return luks_refuse(reason, reason_size, -EINVAL, "unknown key derivation function");
        }
        *ret = p;
        return 0;
}

static int set_kdf(struct crypt_device *cd, const LuksKdfOptions *kdf, struct crypt_pbkdf_type *ret,
                   char *reason, size_t reason_size) {
        struct crypt_pbkdf_type p;
        int r;

        r = kdf_params(kdf, &p, reason, reason_size);
        if (r < 0)
                return r;
        r = kdf_benchmark(&p, kdf ? kdf->hooks : NULL, reason, reason_size);
        if (r < 0)
                return r;
        if (ret)
                *ret = p;
        r = crypt_set_pbkdf_type(cd, &p);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "key derivation options refused: %s", strerror(-r));
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
                return luks_refuse(reason, reason_size, -EINVAL, "a passphrase or recovery key is needed");
        if (pass_size > LUKS_VOLUME_PASSPHRASE_MAX)
                return luks_refuse(reason, reason_size, -EINVAL, "passphrase longer than %u bytes",
                                   LUKS_VOLUME_PASSPHRASE_MAX);
        r = crypt_get_volume_key_size(cd);
        if (r <= 0)
                return luks_refuse(reason, reason_size, -EBADMSG, "the header has no volume key size");
        vk_size = (size_t) r;
        vk = malloc(vk_size);
        if (!vk)
                return -ENOMEM;
        k = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_size, pass, pass_size);
        if (k == -EPERM && luks_recovery_key_normalize(pass, pass_size, &canonical, NULL, 0) >= 0 &&
            (strlen(canonical) != pass_size || memcmp(canonical, pass, pass_size) != 0))
                k = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_size, canonical, strlen(canonical));
        if (k == -EPERM)
                return luks_refuse(reason, reason_size, -EPERM, "the passphrase opens no keyslot");
        if (k < 0)
                return luks_refuse(reason, reason_size, k, "cannot unlock the volume key: %s", strerror(-k));
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
                return luks_refuse(reason, reason_size, errno > 0 ? -errno : -EIO, "cannot probe '%s'", path);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        r = blkid_do_safeprobe(pr);
        if (r == 0) {
                if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0)
                        (void) blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL);
                r = luks_refuse(reason, reason_size, -EEXIST,
                                "'%s' holds a %s signature; refusing to overwrite it without force", path,
                                type && string_is_safe(type, 32) ? type : "(unknown)");
        } else if (r == -2)
                r = luks_refuse(reason, reason_size, -EEXIST,
                                "'%s' holds several signatures; refusing to overwrite them without force",
                                path);
        else if (r < 0)
                r = luks_refuse(reason, reason_size, -EIO, "cannot probe '%s' for signatures", path);
        else
                r = 0;
        blkid_free_probe(pr);
        return r;
}

/* Opens (creates, with size) path; *ret_created: the image file was made here, *ret_st: its identity. */
static int prepare_target(const char *path, uint64_t size, bool *ret_created, struct stat *ret_st,
                          char *reason, size_t reason_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        *ret_created = false;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT && size > 0) {
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_CREAT | O_EXCL, 0600);
                *ret_created = fd >= 0;
        }
        if (fd < 0)
                return luks_refuse(reason, reason_size, -errno, "cannot open '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret_st = st;
        if (S_ISBLK(st.st_mode))
                return 0;
        if (!S_ISREG(st.st_mode))
                return luks_refuse(reason, reason_size, -EINVAL, "'%s' is neither a block device nor a file",
                                   path);
        if (size > 0 && (uint64_t) st.st_size < size && ftruncate(fd, (off_t) size) < 0)
                return luks_refuse(reason, reason_size, -errno, "cannot resize '%s': %m", path);
        if (size == 0 && (uint64_t) st.st_size < LUKS_VOLUME_MIN_SIZE)
                return luks_refuse(reason, reason_size, -EINVAL, "'%s' is smaller than %u MiB", path,
                                   LUKS_VOLUME_MIN_SIZE / 1024 / 1024);
        return 0;
}

/* Removes the image file a failed or cancelled create made, if path still names it and nothing else does
 * (another hard link would be someone's reference to it). */
static void remove_created(const char *path, const struct stat *made) {
        struct stat st;

        if (lstat(path, &st) < 0 || st.st_dev != made->st_dev || st.st_ino != made->st_ino ||
            st.st_nlink != 1) {
                log_debug("'%s' was replaced or linked meanwhile; leaving it.", path);
                return;
        }
        if (unlink(path) < 0)
                log_debug_errno(errno, "Failed to remove '%s': %m", path);
}

/* The steps after the target is there; *formatted: a LUKS2 header was written. */
static int format_target(const char *path, const LuksCreateOptions *opts, bool *formatted,
                         char **ret_recovery_key, char **ret_uuid, char *reason, size_t reason_size) {
        const LuksHooks *h = opts->kdf.hooks;
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ char *recovery = NULL;
        _cleanup_free_ char *uuid = NULL;
        struct crypt_params_luks2 params = {};
        struct crypt_pbkdf_type pbkdf;
        double at = 0.05, unit;
        bool benchmark;
        int r, slot;

        /* crypt_format() takes the KDF from params (a copy: it resets the device's own settings). */
        r = kdf_params(&opts->kdf, &pbkdf, reason, reason_size);
        if (r < 0)
                return r;
        /* Equal shares of the progress for the benchmark and each keyslot: each takes about time_ms. */
        benchmark = h && !(pbkdf.flags & CRYPT_PBKDF_NO_BENCHMARK);
        unit = 0.9 / (benchmark + !!opts->passphrase + !!opts->recovery_key);
        if (benchmark) {
                hooks_step(h, at, at + unit, pbkdf.time_ms);
                at += unit;
        }
        r = kdf_benchmark(&pbkdf, h, reason, reason_size);
        if (r < 0)
                return r;
        r = hooks_stop(h, "formatting", reason, reason_size);
        if (r < 0)
                return r;

        r = luks_header_init(path, &cd, reason, reason_size);
        if (r < 0)
                return r;
        params.label = opts->label;
        params.sector_size = 512;
        params.pbkdf = &pbkdf;
        *formatted = true;
        r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "formatting '%s' failed: %s", path, strerror(-r));

        if (opts->passphrase) {
                r = hooks_stop(h, "adding the passphrase", reason, reason_size);
                if (r < 0)
                        return r;
                hooks_step(h, at, at + unit, kdf_expected_ms(&pbkdf, h));
                at += unit;
                slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, opts->passphrase,
                                                       opts->passphrase_size);
                if (slot < 0)
                        return luks_refuse(reason, reason_size, slot, "adding the passphrase failed: %s",
                                           strerror(-slot));
        }
        if (opts->recovery_key) {
                int id;

                r = hooks_stop(h, "adding the recovery key", reason, reason_size);
                if (r < 0)
                        return r;
                hooks_step(h, at, at + unit, kdf_expected_ms(&pbkdf, h));
                r = luks_recovery_key_generate(&recovery);
                if (r < 0)
                        return r;
                slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, recovery,
                                                       strlen(recovery));
                if (slot < 0)
                        return luks_refuse(reason, reason_size, slot, "adding the recovery key failed: %s",
                                           strerror(-slot));
                id = luks_header_free_token(cd, -1);
                if (id < 0)
                        return id;
                r = luks_header_recovery_marker_set(cd, id, slot);
                if (r < 0)
                        return luks_refuse(reason, reason_size, r, "marking the recovery key failed: %s",
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

int luks_volume_create(const char *path, const LuksCreateOptions *opts, char **ret_recovery_key,
                       char **ret_uuid, char *reason, size_t reason_size) {
        struct stat st = {};
        bool created = false, formatted = false;
        int r;

        assert(path);
        assert(opts);

        if (!opts->passphrase && !opts->recovery_key)
                return luks_refuse(reason, reason_size, -EINVAL, "a passphrase or a recovery key is needed");
        if (opts->passphrase &&
            (opts->passphrase_size == 0 || opts->passphrase_size > LUKS_VOLUME_PASSPHRASE_MAX))
                return luks_refuse(reason, reason_size, -EINVAL, "the passphrase must be 1..%u bytes",
                                   LUKS_VOLUME_PASSPHRASE_MAX);
        if (opts->recovery_key && !ret_recovery_key)
                return -EINVAL;
        if (opts->size > 0 && opts->size < LUKS_VOLUME_MIN_SIZE)
                return luks_refuse(reason, reason_size, -EINVAL, "size below %u MiB",
                                   LUKS_VOLUME_MIN_SIZE / 1024 / 1024);
        if (opts->label && !string_is_safe(opts->label, 47))
                return luks_refuse(reason, reason_size, -EINVAL,
                                   "the label must be 1..47 printable characters");
        r = hooks_stop(opts->kdf.hooks, "anything was done", reason, reason_size);
        if (r < 0)
                return r;

        if (!opts->force && access(path, F_OK) >= 0) {
                r = check_signatures(path, reason, reason_size);
                if (r < 0)
                        return r;
        }
        r = prepare_target(path, opts->size, &created, &st, reason, reason_size);
        if (r < 0) {
                if (created)
                        remove_created(path, &st);
                return r;
        }
        r = format_target(path, opts, &formatted, ret_recovery_key, ret_uuid, reason, reason_size);
        if (r < 0 && created)
                remove_created(path, &st);
        else if (r < 0 && formatted && r == -ECANCELED)
                luks_refuse(reason, reason_size, r,
                            "stopped after formatting; '%s' existed before and keeps the partial LUKS2 header",
                            path);
        return r;
}

/* ---- enroll ---- */

int luks_enroll_check_policy(const LuksEnrollOptions *opts, bool *ret_weak, char *reason, size_t reason_size) {
        const uint32_t identity = (UINT32_C(1) << 4) | (UINT32_C(1) << 11);

        assert(opts);

        if (opts->authorize_key) {
                if (opts->pcr_mask != 0 || opts->expected)
                        return luks_refuse(reason, reason_size, -EINVAL,
                                           "a signed policy and a PCR selection cannot be combined");
                if (ret_weak)
                        *ret_weak = false;
                return 0;
        }
        if (opts->pcr_mask != 0 && !(opts->pcr_mask & identity) && !opts->accept_risk)
                return luks_refuse(
                        reason, reason_size, -EPERM,
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
        return luks_refuse(reason, reason_size, r, "%s: %s", what, e->message[0] ? e->message : strerror(-r));
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
                return luks_refuse(reason, reason_size, r, "cannot open the TPM: %s", strerror(-r));
        r = make_tpm_secret(c, &secret);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "cannot make a random secret: %s", strerror(-r));
        r = tpm2_seal(c, &so, secret, strlen(secret), &blob, &e);
        if (r < 0)
                return tpm_error(&e, r, "sealing failed", reason, reason_size);
        r = tpm2_srk_provision(c, opts->state_dir, false, &srk, &info);
        tpm2_flush(c, &srk);
        if (r >= 0 && (unhexmem(info.name_hex, SIZE_MAX, &name, &n) < 0 || n > sizeof(ret_srk->name)))
                r = -EBADMSG;
        tpm2_srk_info_done(&info);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "cannot read the storage root key: %s",
                                   strerror(-r));
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
                return luks_refuse(reason, reason_size, r, "the new token cannot be read back");
        r = luks_token_parse(json, strlen(json), &t, why, sizeof(why));
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "the new token does not parse: %s", why);
        r = luks_token_unseal(t, opts->tcti, opts->pin, opts->signed_policy_path, &secret, &size, why,
                              sizeof(why));
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "test unlock with the new token failed: %s", why);
        r = crypt_activate_by_passphrase(cd, NULL, t->keyslot, secret, size, 0);
        if (r < 0)
                return luks_refuse(reason, reason_size, r,
                                   "the new token's secret does not open keyslot %d: %s", t->keyslot,
                                   strerror(-r));
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
                return luks_refuse(reason, reason_size, -EINVAL,
                                   "a signed policy for the current PCRs is needed to test the new token");
        if (opts->token_tcti && !string_is_safe(opts->token_tcti, LUKS_TOKEN_TCTI_MAX))
                return luks_refuse(reason, reason_size, -EINVAL,
                                   "the token's TCTI is not a short printable string");

        slot = luks_header_free_keyslot(cd);
        if (slot < 0)
                return luks_refuse(reason, reason_size, slot, "no free keyslot");
        id = luks_header_free_token(cd, -1);
        if (id < 0)
                return luks_refuse(reason, reason_size, id, "no free token");

        r = hooks_stop(opts->hooks, "sealing", reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(opts->hooks, 0.4, 0.7, 0);
        r = seal_new_secret(opts, &secret, &blob, &srk, reason, reason_size);
        if (r < 0)
                return r;
        r = luks_token_format(slot, blob, &srk, opts->token_tcti, &json);
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "cannot format the token: %s", strerror(-r));
        r = luks_token_parse(json, strlen(json), &check, reason, reason_size);
        if (r < 0)
                return r;

        r = hooks_stop(opts->hooks, "changing the header", reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(opts->hooks, 0.7, 0.8, 0);
        journal = luks_journal_begin(cd, LUKS_JOURNAL_OP_ADD, slot, id);
        if (journal < 0)
                return luks_refuse(reason, reason_size, journal, "cannot write the journal: %s",
                                   strerror(-journal));
        r = set_tpm_kdf(cd);
        if (r >= 0)
                r = crypt_keyslot_add_by_volume_key(cd, slot, vk, vk_size, secret, strlen(secret));
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "adding keyslot %d failed: %s", slot, strerror(-r));
                goto rollback;
        }
        r = crypt_token_json_set(cd, id, json);
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "writing token %d failed: %s", id, strerror(-r));
                goto rollback;
        }
        /* Stopping here rolls the new pair back: the old credentials were never touched. */
        r = hooks_stop(opts->hooks, "the test unlock", reason, reason_size);
        if (r < 0)
                goto rollback;
        hooks_step(opts->hooks, 0.8, 1.0, 0);
        if (opts->expected) {
                /* Sealed to future PCR values: the TPM cannot unseal it now. The keyslot is tested with the
                 * secret itself; the blob was parsed back above. */
                r = crypt_activate_by_passphrase(cd, NULL, slot, secret, strlen(secret), 0);
                if (r < 0) {
                        luks_refuse(reason, reason_size, r, "the new keyslot does not open: %s", strerror(-r));
                        goto rollback;
                }
        } else {
                r = test_unlock_token(cd, id, opts, reason, reason_size);
                if (r < 0)
                        goto rollback;
        }
        r = luks_header_token_remove(cd, journal);
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
                goto rollback;
        }
        if (ret)
                *ret = (LuksEnrollResult){ .keyslot = slot, .token = id, .weak_policy = weak };
        return 0;

rollback:
        if (luks_journal_replay(cd, journal) < 0)
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
        r = hooks_stop(opts->hooks, "anything was done", reason, reason_size);
        if (r < 0)
                return r;
        r = luks_header_begin(path, opts->backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(opts->hooks, 0.0, 0.4, 0);
        r = unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
        if (r < 0)
                return r;
        return enroll_with_volume_key(cd, vk, vk_size, opts, ret, reason, reason_size);
}

int luks_volume_unenroll(const char *path, int token, const char *backup_dir, char *reason,
                         size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int slots[LUKS_VOLUME_KEYSLOTS_MAX];
        size_t n = 0;
        int r;

        assert(path);

        if (token < 0 || token >= (int) LUKS_VOLUME_TOKENS_MAX)
                return luks_refuse(reason, reason_size, -EINVAL, "token %d is out of range 0..%u", token,
                                   LUKS_VOLUME_TOKENS_MAX - 1);
        r = luks_header_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        if (!luks_header_token_exists(cd, token))
                return luks_refuse(reason, reason_size, -ENOENT, "there is no token %d", token);
        if (!luks_header_token_is_type(cd, token, LUKS_TOKEN_TYPE) &&
            !luks_header_token_is_type(cd, token, LUKS_RECOVERY_TOKEN_TYPE))
                return luks_refuse(reason, reason_size, -EMEDIUMTYPE,
                                   "token %d is not a trusted-platform token; remove it with its own tool",
                                   token);
        r = luks_header_token_keyslots(cd, token, slots, &n, NULL);
        if (r < 0 || n != 1)
                return luks_refuse(reason, reason_size, -EBADMSG,
                                   "token %d is not bound to exactly one keyslot", token);
        return luks_journal_remove_pair(cd, slots[0], token, reason, reason_size);
}

int luks_volume_wipe_keyslot(const char *path, int slot, const char *backup_dir, char *reason,
                             size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r;

        assert(path);

        if (slot < 0 || slot >= (int) LUKS_VOLUME_KEYSLOTS_MAX)
                return luks_refuse(reason, reason_size, -EINVAL, "keyslot %d is out of range 0..%u", slot,
                                   LUKS_VOLUME_KEYSLOTS_MAX - 1);
        r = luks_header_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        if (!luks_header_keyslot_active(cd, slot))
                return luks_refuse(reason, reason_size, -ENOENT, "keyslot %d is not in use", slot);
        r = luks_journal_remove_pair(cd, slot, -1, reason, reason_size);
        if (r < 0)
                return r;
        /* Our tokens that were bound to it are now bound to nothing. */
        r = luks_journal_recover(cd);
        return r < 0 ? r : 0;
}

int luks_volume_add_recovery_key(const char *path, const void *passphrase, size_t passphrase_size,
                                 const LuksKdfOptions *kdf, const char *backup_dir, char **ret_key,
                                 int *ret_slot, char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ void *vk = NULL;
        _cleanup_erase_free_ char *key = NULL;
        const LuksHooks *h = kdf ? kdf->hooks : NULL;
        struct crypt_pbkdf_type p;
        size_t vk_size = 0;
        int r, slot, id, journal;

        assert(path);
        assert(ret_key);

        r = hooks_stop(h, "anything was done", reason, reason_size);
        if (r < 0)
                return r;
        r = luks_header_begin(path, backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(h, 0.0, 0.25, 0);
        r = unlock_volume_key(cd, passphrase, passphrase_size, &vk, &vk_size, reason, reason_size);
        if (r < 0)
                return r;
        slot = luks_header_free_keyslot(cd);
        if (slot < 0)
                return luks_refuse(reason, reason_size, slot, "no free keyslot");
        id = luks_header_free_token(cd, -1);
        if (id < 0)
                return luks_refuse(reason, reason_size, id, "no free token");
        r = hooks_stop(h, "the key derivation benchmark", reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(h, 0.25, 0.5, kdf_params(kdf, &p, NULL, 0) >= 0 ? p.time_ms : 0);
        r = set_kdf(cd, kdf, &p, reason, reason_size);
        if (r < 0)
                return r;
        r = luks_recovery_key_generate(&key);
        if (r < 0)
                return r;

        r = hooks_stop(h, "changing the header", reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(h, 0.5, 0.75, kdf_expected_ms(&p, h));
        journal = luks_journal_begin(cd, LUKS_JOURNAL_OP_ADD, slot, id);
        if (journal < 0)
                return luks_refuse(reason, reason_size, journal, "cannot write the journal: %s",
                                   strerror(-journal));
        r = crypt_keyslot_add_by_volume_key(cd, slot, vk, vk_size, key, strlen(key));
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "adding keyslot %d failed: %s", slot, strerror(-r));
                goto rollback;
        }
        r = luks_header_recovery_marker_set(cd, id, slot);
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "writing token %d failed: %s", id, strerror(-r));
                goto rollback;
        }
        r = hooks_stop(h, "the test unlock", reason, reason_size);
        if (r < 0)
                goto rollback;
        hooks_step(h, 0.75, 1.0, kdf_expected_ms(&p, h));
        r = crypt_activate_by_passphrase(cd, NULL, slot, key, strlen(key), 0);
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "the new recovery key does not open keyslot %d", slot);
                goto rollback;
        }
        r = luks_header_token_remove(cd, journal);
        if (r < 0) {
                luks_refuse(reason, reason_size, r, "committing failed: %s", strerror(-r));
                goto rollback;
        }
        if (ret_slot)
                *ret_slot = slot;
        *ret_key = TAKE_PTR(key);
        return 0;

rollback:
        (void) luks_journal_replay(cd, journal);
        return r;
}

int luks_volume_test_passphrase(const char *path, const void *passphrase, size_t passphrase_size,
                                char *reason, size_t reason_size) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_erase_free_ void *vk = NULL;
        size_t vk_size = 0;
        int r;

        assert(path);

        r = luks_header_open(path, &cd, reason, reason_size);
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
                return luks_refuse(reason, reason_size, -EINVAL, "token %d is out of range 0..%u", token,
                                   LUKS_VOLUME_TOKENS_MAX - 1);
        if (token >= 0) {
                if (!luks_header_token_exists(cd, token))
                        return luks_refuse(reason, reason_size, -ENOENT, "there is no token %d", token);
                if (!luks_header_token_is_type(cd, token, LUKS_TOKEN_TYPE))
                        return luks_refuse(reason, reason_size, -EMEDIUMTYPE,
                                           "token %d is not a TPM token of ours", token);
                found = token;
        } else
                for (int id = 0; id < (int) LUKS_VOLUME_TOKENS_MAX; id++)
                        if (luks_header_token_is_type(cd, id, LUKS_TOKEN_TYPE)) {
                                if (found >= 0)
                                        return luks_refuse(reason, reason_size, -EUCLEAN,
                                                           "the volume has several TPM tokens; name one");
                                found = id;
                        }
        if (found < 0)
                return luks_refuse(reason, reason_size, -ENOENT, "the volume has no TPM token");

        const char *json = NULL;
        int r = crypt_token_json_get(cd, found, &json);
        if (r < 0)
                return r;
        r = luks_token_parse(json, strlen(json), ret, why, sizeof(why));
        if (r < 0)
                return luks_refuse(reason, reason_size, r, "token %d is malformed: %s", found, why);
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
        r = luks_header_begin(path, opts->backup_dir, &cd, reason, reason_size);
        if (r < 0)
                return r;
        r = find_tpm_token(cd, token, &old, &old_id, reason, reason_size);
        if (r < 0)
                return r;
        old_slot = old->keyslot;
        r = hooks_stop(opts->hooks, "anything was done", reason, reason_size);
        if (r < 0)
                return r;
        hooks_step(opts->hooks, 0.0, 0.4, 0);

        r = luks_token_unseal(old, opts->tcti, old_pin, old_signed_policy_path, &secret, &size, why,
                              sizeof(why));
        if (r >= 0) {
                r = crypt_get_volume_key_size(cd);
                if (r <= 0)
                        return luks_refuse(reason, reason_size, -EBADMSG, "the header has no volume key size");
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
                        return luks_refuse(reason, reason_size, r,
                                           "the current TPM token does not unseal, so resealing needs the "
                                           "passphrase or a recovery key: %s",
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
        r = luks_journal_remove_pair(cd, old_slot, old_id, reason, reason_size);
        if (r < 0)
                return r;
        if (ret)
                *ret = result;
        return 0;
}
