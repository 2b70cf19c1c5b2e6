/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LuksHooks (luks-volume.h) on image files against swtpm behind tpm2-abrmd (tp-run --abrmd): every safe point
 * of create, add recovery key, enroll and reseal is made to stop in turn, and after each stop the volume is as
 * it was before the call (a created image file is gone, keyslots and tokens unchanged, no journal left, the
 * old credentials open it); a pre-existing target keeps its partial header; the KDF benchmark stops through
 * its callback; the steps rise. pbkdf2 with 1000 iterations except the benchmark case. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-volume.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define PASS "correct horse battery staple"

static char reason[1024];

/* Stops at the stop_at-th check() (0: never), and records the steps. */
typedef struct Probe {
        unsigned checks, stop_at;
        unsigned steps;
        double last_done, last_next;
        bool steps_rise;
        bool stop_after_step; /* stop at the first check() once a step was announced */
} Probe;

static int probe_check(void *userdata) {
        Probe *p = userdata;

        p->checks++;
        if (p->stop_after_step && p->steps > 0)
                return -ECANCELED;
        return p->stop_at > 0 && p->checks == p->stop_at ? -ECANCELED : 0;
}

static void probe_step(double done, double next, uint32_t expected_ms, void *userdata) {
        Probe *p = userdata;

        if (done < p->last_done || next < done || done < 0 || next > 1)
                p->steps_rise = false;
        p->last_done = done;
        p->last_next = next;
        p->steps++;
}

static LuksHooks hooks_of(Probe *p) {
        *p = (Probe){ .steps_rise = true, .stop_at = p->stop_at, .stop_after_step = p->stop_after_step };
        return (LuksHooks){ .check = probe_check, .step = probe_step, .userdata = p };
}

static char *test_path(const char *name) {
        char *p = NULL;
        const char *dir = getenv("TP_TEST_DIR");

        assert_non_null(dir);
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static LuksCreateOptions create_options(const LuksHooks *h) {
        return (LuksCreateOptions){
                .size = LUKS_VOLUME_MIN_SIZE,
                .passphrase = PASS,
                .passphrase_size = strlen(PASS),
                .recovery_key = true,
                .kdf = { .type = LUKS_PBKDF_PBKDF2, .iterations = 1000, .hooks = h },
        };
}

static char *make_volume(const char *name) {
        char *path = test_path(name), *key = NULL;
        LuksCreateOptions o = create_options(NULL);

        (void) unlink(path);
        assert_int_equal(luks_volume_create(path, &o, &key, NULL, reason, sizeof(reason)), 0);
        erase_and_free(key);
        return path;
}

/* The header's keyslots and tokens as text, to compare before and after. */
static char *describe(const char *path) {
        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
        char *text = NULL;

        assert_int_equal(luks_volume_status(path, &s, reason, sizeof(reason)), 0);
        assert_false(s->journal);
        assert_int_equal(luks_volume_status_format(s, &text), 0);
        return text;
}

static void test_provision_srk(void **state) {
        Tpm2Context *c = NULL;
        ESYS_TR srk = ESYS_TR_NONE;

        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        tpm2_context_free(c);
}

/* A create that made its image file removes it at every stop; the steps rise. */
static void test_create_new_file(void **state) {
        _cleanup_free_ char *path = test_path("new.img");
        unsigned stops = 0;

        for (unsigned n = 1;; n++) {
                Probe p = { .stop_at = n };
                LuksHooks h = hooks_of(&p);
                LuksCreateOptions o = create_options(&h);
                char *key = NULL;
                int r;

                (void) unlink(path);
                r = luks_volume_create(path, &o, &key, NULL, reason, sizeof(reason));
                assert_true(p.steps_rise);
                if (r == 0) {
                        assert_int_equal(access(path, F_OK), 0);
                        assert_true(p.steps >= 2); /* the two keyslots */
                        erase_and_free(key);
                        break;
                }
                assert_int_equal(r, -ECANCELED);
                assert_non_null(strstr(reason, "stopped"));
                assert_int_not_equal(access(path, F_OK), 0);
                stops++;
                assert_true(n < 20);
        }
        assert_true(stops >= 3); /* before anything, before formatting, before each keyslot */
}

/* A target that existed before is never removed; stopped after formatting, it keeps the header and says so. */
static void test_create_existing_file(void **state) {
        _cleanup_free_ char *path = test_path("existing.img");
        bool kept_header = false;

        for (unsigned n = 1;; n++) {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
                Probe p = { .stop_at = n };
                LuksHooks h = hooks_of(&p);
                LuksCreateOptions o = create_options(&h);
                char *key = NULL;
                int fd, r;

                (void) unlink(path);
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(ftruncate(fd, LUKS_VOLUME_MIN_SIZE), 0);
                close(fd);
                r = luks_volume_create(path, &o, &key, NULL, reason, sizeof(reason));
                assert_int_equal(access(path, F_OK), 0);
                if (r == 0) {
                        erase_and_free(key);
                        break;
                }
                assert_int_equal(r, -ECANCELED);
                if (luks_volume_status(path, &s, NULL, 0) >= 0) {
                        assert_non_null(strstr(reason, "keeps the partial LUKS2 header"));
                        kept_header = true;
                }
                assert_true(n < 20);
        }
        assert_true(kept_header);
}

/* The benchmark (argon2id, no cost given) stops through its progress callback. */
static void test_create_benchmark(void **state) {
        _cleanup_free_ char *path = test_path("benchmark.img");
        Probe p = { .stop_after_step = true };
        LuksHooks h = hooks_of(&p);
        LuksCreateOptions o = create_options(&h);
        char *key = NULL;

        o.kdf = (LuksKdfOptions){ .type = LUKS_PBKDF_ARGON2ID, .memory_kb = 32768, .hooks = &h };
        (void) unlink(path);
        assert_int_equal(luks_volume_create(path, &o, &key, NULL, reason, sizeof(reason)), -ECANCELED);
        assert_non_null(strstr(reason, "benchmark"));
        assert_int_equal(p.steps, 1);
        assert_int_not_equal(access(path, F_OK), 0);
}

/* A new recovery key stopped anywhere leaves the header as it was; the passphrase still opens it. */
static void test_recovery_key(void **state) {
        _cleanup_free_ char *path = make_volume("recovery.img"), *before = describe(path);
        unsigned stops = 0;

        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *after = NULL;
                Probe p = { .stop_at = n };
                LuksHooks h = hooks_of(&p);
                LuksKdfOptions kdf = { .type = LUKS_PBKDF_PBKDF2, .iterations = 1000, .hooks = &h };
                char *key = NULL;
                int r, slot = -1;

                r = luks_volume_add_recovery_key(path, PASS, strlen(PASS), &kdf, NULL, &key, &slot, reason,
                                                 sizeof(reason));
                assert_true(p.steps_rise);
                after = describe(path);
                if (r == 0) {
                        assert_string_not_equal(after, before);
                        erase_and_free(key);
                        break;
                }
                assert_int_equal(r, -ECANCELED);
                assert_string_equal(after, before);
                assert_true(luks_volume_test_passphrase(path, PASS, strlen(PASS), reason, sizeof(reason)) >= 0);
                stops++;
                assert_true(n < 20);
        }
        assert_true(stops >= 3); /* before anything, before the header changes, before the test unlock */
}

/* An enrollment stopped anywhere leaves no keyslot or token; a reseal stopped anywhere keeps the old token,
 * which still unseals (the next reseal needs it, without a passphrase). */
static void test_enroll_and_reseal(void **state) {
        _cleanup_free_ char *path = make_volume("enroll.img"), *before = describe(path), *enrolled = NULL;
        LuksEnrollResult res = {}, res2 = {};
        unsigned stops = 0;

        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *after = NULL;
                Probe p = { .stop_at = n };
                LuksHooks h = hooks_of(&p);
                LuksEnrollOptions o = { .hooks = &h };
                int r;

                r = luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, &res, reason, sizeof(reason));
                assert_true(p.steps_rise);
                if (r == 0)
                        break;
                assert_int_equal(r, -ECANCELED);
                after = describe(path);
                assert_string_equal(after, before);
                stops++;
                assert_true(n < 20);
        }
        assert_true(stops >= 4);

        enrolled = describe(path);
        stops = 0;
        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *after = NULL;
                Probe p = { .stop_at = n };
                LuksHooks h = hooks_of(&p);
                LuksEnrollOptions o = { .hooks = &h };
                int r;

                r = luks_volume_reseal(path, res.token, NULL, NULL, NULL, 0, &o, &res2, reason,
                                       sizeof(reason));
                assert_true(p.steps_rise);
                if (r == 0)
                        break;
                assert_int_equal(r, -ECANCELED);
                after = describe(path);
                assert_string_equal(after, enrolled);
                stops++;
                assert_true(n < 20);
        }
        assert_true(stops >= 4);
        assert_int_not_equal(res2.keyslot, res.keyslot);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provision_srk),        cmocka_unit_test(test_create_new_file),
                cmocka_unit_test(test_create_existing_file), cmocka_unit_test(test_create_benchmark),
                cmocka_unit_test(test_recovery_key),         cmocka_unit_test(test_enroll_and_reseal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
