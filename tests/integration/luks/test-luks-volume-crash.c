/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash safety of the volume operations (tp-run --abrmd: the resource manager flushes what a killed
 * process left in the TPM). A child reseals, enrolls and unenrolls in a loop and is SIGKILLed at a random
 * moment, 100 times (or as many as the first argument says). After every kill:
 *   - the header loads and the passphrase opens the volume (nothing lost);
 *   - no token of ours points at a missing keyslot unless an interrupted operation is reported;
 *   - after luks_volume_repair(): no journal, no problem, a TPM token that unlocks, and no keyslot that
 *     belongs to nobody (so kills never pile up orphans). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-unseal.h"
#include "luks/luks-volume.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define PASS "crash test passphrase"

static char reason[1024];
static char *path, *backup_dir;
static unsigned arg_cycles = 100;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

static uint32_t random_u32(void) {
        uint32_t x = 0;

        assert_int_equal(getrandom(&x, sizeof(x), 0), sizeof(x));
        return x;
}

static int token_unlock(int id) {
        struct crypt_device *cd = NULL;
        LuksToken *t = NULL;
        void *secret = NULL;
        const char *json = NULL;
        char why[512] = "";
        size_t size = 0;
        int r;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_true(crypt_token_json_get(cd, id, &json) >= 0);
        assert_int_equal(luks_token_parse(json, strlen(json), &t, why, sizeof(why)), 0);
        r = luks_token_unseal(t, NULL, NULL, NULL, &secret, &size, why, sizeof(why));
        if (r >= 0)
                r = crypt_activate_by_passphrase(cd, NULL, t->keyslot, secret, size, 0);
        if (r < 0)
                print_message("# token %d does not unlock: %s\n", id, why);
        erase_and_free(secret);
        luks_token_free(t);
        crypt_free(cd);
        return r;
}

/* The lowest-numbered TPM token and how many there are (a kill between an enroll and an unenroll leaves
 * two, both working). */
static int first_tpm_token(int *ret_n) {
        LuksVolumeStatus *s = NULL;
        int r, first = -1, n = 0;

        r = luks_volume_status(path, &s, reason, sizeof(reason));
        if (r < 0)
                return r;
        for (size_t k = 0; k < s->n_tokens; k++)
                if (streq(s->tokens[k].type, LUKS_TOKEN_TYPE) && n++ == 0)
                        first = s->tokens[k].id;
        luks_volume_status_free(s);
        *ret_n = n;
        return first < 0 ? -ENOENT : first;
}

/* Back to one TPM token: the older ones go (also those an earlier kill left). */
static int unenroll_old(const char *dir) {
        for (;;) {
                int r, n, first = first_tpm_token(&n);

                if (first < 0)
                        return first;
                if (n < 2)
                        return first;
                r = luks_volume_unenroll(path, first, dir, reason, sizeof(reason));
                if (r < 0)
                        return r;
        }
}

/* One round of the child's work: back to one TPM token, a reseal; every third round also an enroll and the
 * unenroll of the older token, so every kind of journal gets interrupted. Backups every fourth round (a
 * 16 MiB header each). */
static int child_round(unsigned i) {
        const LuksEnrollOptions o = { .backup_dir = i % 4 == 1 ? backup_dir : NULL };

        /* Rounds 0, 3, 6, ... also enroll and unenroll. */
        int r, first;

        first = unenroll_old(o.backup_dir);
        if (first < 0)
                return first;
        r = luks_volume_reseal(path, first, NULL, NULL, PASS, strlen(PASS), &o, NULL, reason, sizeof(reason));
        if (r < 0 || i % 3 != 0)
                return r;
        r = luks_volume_enroll_tpm(path, PASS, strlen(PASS), &o, NULL, reason, sizeof(reason));
        if (r < 0)
                return r;
        r = unenroll_old(o.backup_dir);
        return r < 0 ? r : 0;
}

/* The child is a fresh process (exec of ourselves): a fork of this one would inherit the tabrmd TCTI's
 * GDBus worker thread state and could hang on a lock that thread held. It reports each finished round on
 * fd 3 so the parent knows the kills land in the middle of real work. */
static _noreturn_ void child(unsigned start) {
        (void) write(3, "s", 1);
        for (unsigned i = start;; i++) {
                int r = child_round(i);
                if (r < 0) {
                        fprintf(stderr, "child: round %u failed: %s (%s)\n", i, strerror(-r), reason);
                        _exit(1);
                }
                (void) write(3, "r", 1);
        }
}

/* The header backup is replaced atomically: absent, or a whole header that loads. */
static void check_backup(const char *uuid) {
        struct crypt_device *cd = NULL;
        char *file = NULL;

        assert_true(asprintf(&file, "%s/%s.header", backup_dir, uuid) > 0);
        if (access(file, F_OK) == 0) {
                assert_int_equal(crypt_init(&cd, file), 0);
                assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
                crypt_free(cd);
        }
        free(file);
}

static void check_after_kill(unsigned cycle, unsigned *journals_seen) {
        LuksVolumeStatus *s = NULL;
        size_t tpm = 0;
        int r;

        /* Before repair: the passphrase opens, dangling tokens only with a journal. */
        assert_int_equal(luks_volume_status(path, &s, reason, sizeof(reason)), 0);
        assert_int_equal(luks_volume_test_passphrase(path, PASS, strlen(PASS), reason, sizeof(reason)), 0);
        if (s->journal)
                (*journals_seen)++;
        check_backup(s->uuid);
        for (size_t k = 0; k < s->n_tokens; k++)
                if (s->tokens[k].problem && !s->journal) {
                        print_message("# cycle %u: token %d: %s, without a journal\n", cycle,
                                      s->tokens[k].id, s->tokens[k].problem);
                        fail();
                }
        s = luks_volume_status_free(s);

        r = luks_volume_repair(path, backup_dir, reason, sizeof(reason));
        if (r < 0)
                print_message("# cycle %u: repair: %s\n", cycle, reason);
        assert_true(r >= 0);

        assert_int_equal(luks_volume_status(path, &s, reason, sizeof(reason)), 0);
        assert_false(s->journal);
        for (size_t k = 0; k < s->n_tokens; k++) {
                assert_null(s->tokens[k].problem);
                assert_string_equal(s->tokens[k].type, LUKS_TOKEN_TYPE);
                assert_true(token_unlock(s->tokens[k].id) >= 0);
                tpm++;
        }
        /* Slot 0 is the passphrase, every other keyslot belongs to a TPM token. A kill between an add and
         * the removal it prepares leaves one more token, which the next rounds remove: never many. */
        if (tpm > 3)
                print_message("# cycle %u: %zu TPM tokens\n", cycle, tpm);
        assert_true(tpm >= 1 && tpm <= 3);
        assert_int_equal(s->n_keyslots, 1 + tpm);
        assert_int_equal(s->keyslots[0].slot, 0);
        assert_int_equal(s->keyslots[0].role, LUKS_KEYSLOT_PASSPHRASE);
        for (size_t k = 1; k < s->n_keyslots; k++)
                assert_int_equal(s->keyslots[k].role, LUKS_KEYSLOT_TPM2);
        luks_volume_status_free(s);
}

/* A child whose first round is round start (so cycles begin with different kinds of work). */
static pid_t spawn_child(unsigned start, int *ret_fd) {
        char c, arg[16];
        int fds[2];
        pid_t pid;

        snprintf(arg, sizeof(arg), "%u", start);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (dup2(fds[1], 3) < 0)
                        _exit(2);
                execl("/proc/self/exe", "test-luks-volume-crash", "child", path, backup_dir, arg,
                      (char *) NULL);
                _exit(2);
        }
        (void) close(fds[1]);
        /* Wait until the child runs (exec and libraries take a while). */
        assert_int_equal(read(fds[0], &c, 1), 1);
        assert_int_equal(c, 's');
        *ret_fd = fds[0];
        return pid;
}

/* The mean time of a child's first round over the kinds of rounds. */
static uint64_t calibrate(void) {
        uint64_t sum = 0;

        for (unsigned start = 0; start < 4; start++) {
                uint64_t t0;
                int fd, status;
                char c;
                pid_t pid = spawn_child(start, &fd);

                t0 = now_usec();
                assert_int_equal(read(fd, &c, 1), 1);
                sum += now_usec() - t0;
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                (void) close(fd);
        }
        return sum / 4;
}

static void test_kill_at_random_points(void **state) {
        const LuksCreateOptions co = {
                .size = LUKS_VOLUME_MIN_SIZE,
                .passphrase = PASS,
                .passphrase_size = strlen(PASS),
                .kdf = { .type = LUKS_PBKDF_PBKDF2, .iterations = 1000 },
                .force = true,
        };
        const char *dir = getenv("TP_TEST_DIR");
        unsigned cycles = arg_cycles, journals = 0, killed_in_round = 0, rounds = 0;
        uint64_t round_usec;
        Tpm2Context *c = NULL;
        ESYS_TR srk = ESYS_TR_NONE;

        assert_non_null(dir);
        assert_true(asprintf(&path, "%s/crash.img", dir) > 0);
        assert_true(asprintf(&backup_dir, "%s/backups", dir) > 0);
        assert_int_equal(tpm2_context_new(NULL, &c), 0);
        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        tpm2_context_free(c);

        assert_int_equal(luks_volume_create(path, &co, NULL, NULL, reason, sizeof(reason)), 0);
        assert_int_equal(luks_volume_enroll_tpm(path, PASS, strlen(PASS), &(LuksEnrollOptions){}, NULL,
                                                reason, sizeof(reason)),
                         0);

        /* How long a child's first round takes here (a fresh process: loading the TCTI, connecting), so
         * kills land anywhere inside the work. */
        round_usec = calibrate();
        print_message("# a child's first round (mean): %llu ms\n", (unsigned long long) round_usec / 1000);

        for (unsigned cycle = 0; cycle < cycles; cycle++) {
                int status = 0;
                char buf[256];
                ssize_t n;
                int fd;
                pid_t pid = spawn_child(cycle, &fd);

                /* Kill it somewhere in its first rounds. */
                usleep(random_u32() % (unsigned) (round_usec + 1));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (!WIFSIGNALED(status)) {
                        print_message("# cycle %u: the child exited with %d before the kill\n", cycle,
                                      WEXITSTATUS(status));
                        fail();
                }
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        rounds += (unsigned) n;
                (void) close(fd);
                killed_in_round++;
                check_after_kill(cycle, &journals);
        }
        print_message("# %u kills, %u left an interrupted operation behind, %u rounds finished by children\n",
                      killed_in_round, journals, rounds);
        assert_true(rounds > 0);
        /* The kills must have hit the inside of operations, or the test proves nothing. */
        assert_true(journals >= cycles / 20);
        free(path);
        free(backup_dir);
}

int main(int argc, char *argv[]) {
        if (argc == 5 && streq(argv[1], "child")) {
                path = argv[2];
                backup_dir = argv[3];
                child((unsigned) atoi(argv[4]));
        }

        if (argc == 2) {
                arg_cycles = (unsigned) atoi(argv[1]);
                if (arg_cycles == 0 || arg_cycles > 10000)
                        return 2;
        }

        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kill_at_random_points),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
