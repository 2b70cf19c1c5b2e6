/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "tpctl volume ...": LUKS2 volumes through trusted-platformd (Manager.ListVolumes/CreateVolume/
 * EnrollVolume, the Volume objects), and "volume unlock-test", which runs here without the daemon.
 *
 * Passphrases come from --passphrase-file=FILE (one line; the trailing newline is dropped), else
 * systemd-ask-password, else $TPCTL_PASSPHRASE (tests). They are sent as ay in a sensitive message. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-volume.h"
#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

#define IFACE_VOLUME TPCTL_BUS_NAME ".Volume"
#define IFACE_JOB TPCTL_BUS_NAME ".Job"
#define JOB_PREFIX TPCTL_BUS_PATH "/job"
#define JOB_POLL_USEC (UINT64_C(5) * 1000000)
#define PASSPHRASE_MAX 512U
#define VOLUME_POLICY_INPUT_MAX (256U * 1024U) /* a public key or signed-policy file */
#define EXIT_CANCELLED 130 /* 128 + SIGINT, what a shell shows for an interrupted command */

static int get_passphrase(const char *prompt, char **ret) {
        _cleanup_erase_free_ char *p = NULL;
        const char *e;
        size_t n = 0;
        int r;

        if (arg_passphrase_file) {
                r = read_full_file(arg_passphrase_file, PASSPHRASE_MAX + 1, &p, &n);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the passphrase from %s: %m",
                                               arg_passphrase_file);
        } else if ((e = getenv("TPCTL_PASSPHRASE"))) {
                p = strdup(e);
                if (!p)
                        return log_oom();
                n = strlen(p);
        } else {
                char cmd[256];
                ssize_t k;
                FILE *f;

                snprintf(cmd, sizeof(cmd), "systemd-ask-password --timeout=0 '%s'", prompt);
                f = popen(cmd, "re");
                if (!f)
                        return log_error_errno(errno, "Failed to run systemd-ask-password: %m");
                k = getline(&p, &n, f);
                (void) pclose(f);
                if (k <= 0) {
                        log_error("No passphrase entered.");
                        return -EINVAL;
                }
                n = (size_t) k;
        }
        if (n > 0 && p[n - 1] == '\n')
                p[--n] = '\0';
        if (n == 0 || n > PASSPHRASE_MAX || memchr(p, 0, n))
                return log_error("The passphrase must be 1 to %u bytes.", PASSPHRASE_MAX), -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}

/* The daemon takes only absolute, normalized paths (it does not share our working directory): "vol.img",
 * "./vol.img" and "/tmp//uw/../uw/vol.img" become "/tmp/uw/vol.img", lexically (no symlinks resolved, so the
 * path stays the one the daemon knows the volume by, and an image not created yet works too). */
static int volume_path(const char *arg, char **ret) {
        _cleanup_free_ char *joined = NULL, *cwd = NULL;
        char *out;
        size_t n = 0;

        if (arg[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return log_error_errno(errno, "Failed to get the current directory for '%s': %m", arg);
        }
        if (asprintf(&joined, "%s/%s", strempty(cwd), arg) < 0)
                return log_oom();
        out = malloc(strlen(joined) + 2);
        if (!out)
                return log_oom();
        for (const char *p = joined; *p;) {
                size_t k;

                p += strspn(p, "/");
                k = strcspn(p, "/");
                if (k == 0 || (k == 1 && p[0] == '.')) {
                        p += k;
                        continue;
                }
                if (k == 2 && p[0] == '.' && p[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--; /* the slash before the dropped component */
                        p += k;
                        continue;
                }
                out[n++] = '/';
                memcpy(out + n, p, k);
                n += k;
                p += k;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        *ret = out;
        return 0;
}

/* --size=: bytes, or with a binary suffix K, M, G or T (also KiB, MiB, ...), as "32M" for 32 MiB. sscanf() would
 * take "32M" as 32 and "-1" as 2^64-1; the daemon then refused a size nobody asked for. */
static int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGT";
        uint64_t v = 0, factor = 1;
        const char *p = s, *suffix;

        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (p == s)
                return -EINVAL;
        if (*p) {
                suffix = strchr(suffixes, *p);
                if (!suffix || !(streq(p + 1, "") || streq(p + 1, "iB")))
                        return -EINVAL;
                for (const char *q = suffixes; q <= suffix; q++)
                        factor *= 1024;
        }
        if (v == 0)
                return -EINVAL;
        if (v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

static int object_of(sd_bus *bus, const char *arg, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *p, *o;
        int r;

        if (volume_path(arg, &path) < 0)
                return TPCTL_EXIT_FAILURE;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER, "ListVolumes",
                               &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the volumes");
        r = sd_bus_message_enter_container(reply, 'a', "(so)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &p, &o)) > 0)
                if (streq(p, path)) {
                        *ret = strdup(o);
                        return *ret ? 0 : log_oom();
                }
        if (r < 0)
                return log_error_errno(r, "Failed to parse ListVolumes(): %m"), TPCTL_EXIT_FAILURE;
        log_error("%s is not a volume known to trusted-platformd; enroll it first.", path);
        return TPCTL_EXIT_FAILURE;
}

static int append_kdf(sd_bus_message *m) {
        _cleanup_free_ char *type = NULL;
        const char *colon;
        uint32_t it = 0;
        int r;

        if (!arg_alg)
                return 0;
        colon = strchr(arg_alg, ':');
        type = colon ? strndup(arg_alg, colon - arg_alg) : strdup(arg_alg);
        if (!type)
                return -ENOMEM;
        if (luks_pbkdf_from_string(type) < 0 || (colon && tpctl_parse_uint32(colon + 1, &it) < 0)) {
                log_error("Invalid --alg=%s: expected argon2id or pbkdf2, optionally :ITERATIONS.", arg_alg);
                return -EINVAL;
        }
        r = sd_bus_message_append(m, "{sv}", "pbkdf", "s", type);
        if (r >= 0 && it > 0)
                r = sd_bus_message_append(m, "{sv}", "iterations", "u", it);
        return r;
}

static int append_pcrs(sd_bus_message *m) {
        uint32_t mask = 0;
        int r;

        if (arg_bank) {
                r = sd_bus_message_append(m, "{sv}", "bank", "s", arg_bank);
                if (r < 0)
                        return r;
        }
        if (!arg_pcrs)
                return 0;
        if (tpctl_parse_pcr_spec(arg_pcrs, &mask) < 0) {
                log_error("Invalid --pcrs=%s.", arg_pcrs);
                return -EINVAL;
        }
        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "pcrs");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "au");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (uint32_t i = 0; r >= 0 && i < TPCTL_PCR_COUNT; i++)
                if (mask & (UINT32_C(1) << i))
                        r = sd_bus_message_append(m, "u", i);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_pin(sd_bus_message *m, const char *key) {
        _cleanup_erase_free_ char *pin = NULL;

        if (!arg_pin)
                return 0;
        if (tpctl_get_pin(&pin) < 0)
                return -EINVAL;
        return sd_bus_message_append(m, "{sv}", key, "s", pin);
}

/* --authorize-key=PEM and --signed-policy=FILE of enroll and reseal: seal to policies signed by a key instead
 * of PCR values (the signed policy tests the new keyslot; for reseal it also unseals a signed-policy token). */
typedef struct SignedPolicyArgs {
        char *key, *policy;
        size_t key_size, policy_size;
} SignedPolicyArgs;

static void signed_policy_args_done(SignedPolicyArgs *p) {
        free(p->key);
        free(p->policy);
}

static int read_signed_policy_args(SignedPolicyArgs *p) {
        if (arg_authorize_key && (arg_pcrs || arg_bank)) {
                log_error("--authorize-key= binds PCRs through signed policies; it cannot be combined with "
                          "--pcrs= or --bank=.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_authorize_key && !arg_signed_policy) {
                log_error("--authorize-key= needs --signed-policy= (signed for the current PCRs with \"tpm "
                          "sign-policy\") to test the new keyslot.");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_authorize_key &&
            tpctl_read_input(arg_authorize_key, VOLUME_POLICY_INPUT_MAX, &p->key, &p->key_size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (arg_signed_policy &&
            tpctl_read_input(arg_signed_policy, VOLUME_POLICY_INPUT_MAX, &p->policy, &p->policy_size) < 0)
                return TPCTL_EXIT_FAILURE;
        return 0;
}

static int append_signed_policy(sd_bus_message *m, const SignedPolicyArgs *p) {
        int r = 0;

        if (p->key)
                r = tpctl_append_bytes_option(m, "authorize-key", p->key, p->key_size);
        if (r >= 0 && p->policy)
                r = tpctl_append_bytes_option(m, "signed-policy", p->policy, p->policy_size);
        return r;
}

/* The daemon answers the long volume methods with a Job object (o): wait for its Completed signal,
 * showing its Progress on a terminal, then read State and Result. The matches are installed before the
 * call, so no signal is missed; signals that arrive while the call waits are queued and dispatched below.
 * Every few seconds (and at once after the call) the State is read as well, in case a signal is lost or
 * the daemon went away.
 *
 * SIGINT (Ctrl-C) while waiting cancels the job (Job.Cancel()) and keeps waiting for its end: the daemon
 * stops at its next safe point and undoes what it began, and tpctl exits 130 once the job ended Cancelled.
 * A second SIGINT ends tpctl at once (the job's cancellation goes on without it). */
typedef struct JobWait {
        const char *path; /* NULL until the call returned */
        bool done;
        bool tty;
        bool cancelled;    /* Cancel() was called */
        int cancel_status; /* its exit status when it failed (logged), else 0 */
        const char *what;
} JobWait;

static volatile sig_atomic_t got_sigint = 0;

static void on_sigint(int sig) {
        got_sigint = 1;
}

static int cancel_job(sd_bus *bus, JobWait *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        w->cancelled = true;
        if (w->tty)
                fputs("\r\033[K", stderr);
        log_info("Cancelling %s (job %s); press Ctrl-C again to stop waiting.", w->what, w->path);
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, w->path, IFACE_JOB, "Cancel", &error, NULL, "a{sv}", 0);
        if (r < 0 && !sd_bus_error_has_name(&error, TPCTL_BUS_NAME ".Error.JobFinished"))
                return tpctl_log_bus_error(&error, r, "cancel the job");
        return 0;
}

static int on_job_completed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;

        if (w->path && streq_ptr(sd_bus_message_get_path(m), w->path))
                w->done = true;
        return 0;
}

static int on_job_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *iface, *key;
        double progress;
        int r;

        if (!w->path || !w->tty || !streq_ptr(sd_bus_message_get_path(m), w->path))
                return 0;
        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || !streq(iface, IFACE_JOB))
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && streq(key, "Progress") && sd_bus_message_read(m, "v", "d", &progress) >= 0)
                        fprintf(stderr, "\r%s: %3.0f%%", w->what, progress * 100.0);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        return 0;
}

/* A Ctrl-C that lands while a synchronous call polls can make the call fail with -EINTR (the handler
 * has no SA_RESTART, and ppoll() is never restarted anyway): the signal is noted in got_sigint, so the
 * call is simply made again. */
static int job_state(sd_bus *bus, const char *path, char **ret, sd_bus_error *error) {
        int r;

        for (;;) {
                r = sd_bus_get_property_string(bus, TPCTL_BUS_NAME, path, IFACE_JOB, "State", error, ret);
                if (r != -EINTR)
                        return r;
                sd_bus_error_free(error);
        }
}

static int wait_job(sd_bus *bus, JobWait *w, sd_bus_error *error) {
        _cleanup_free_ char *state = NULL;
        int r;

        r = job_state(bus, w->path, &state, error);
        if (r < 0)
                return r;
        w->done = !streq(state, "running");
        while (!w->done) {
                if (got_sigint && !w->cancelled) {
                        w->cancel_status = cancel_job(bus, w);
                        if (w->cancel_status != 0)
                                return -ECANCELED;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, JOB_POLL_USEC);
                if (r == -EINTR)
                        continue;
                if (r < 0)
                        return r;
                if (r == 0) {
                        state = mfree(state);
                        r = job_state(bus, w->path, &state, error);
                        if (r < 0)
                                return r;
                        w->done = !streq(state, "running");
                }
        }
        return 0;
}

/* Reads the finished job: its error into error (returns the negative errno), or its Result into ret. */
static int job_result(sd_bus *bus, const char *path, sd_bus_message **ret, sd_bus_error *error) {
        _cleanup_free_ char *state = NULL, *name = NULL, *message = NULL;
        int r;

        r = job_state(bus, path, &state, error);
        if (r < 0)
                return r;
        if (streq(state, "failed")) {
                r = sd_bus_get_property_string(bus, TPCTL_BUS_NAME, path, IFACE_JOB, "ErrorName", error,
                                               &name);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, TPCTL_BUS_NAME, path, IFACE_JOB, "ErrorMessage",
                                                       error, &message);
                if (r < 0)
                        return r;
                return sd_bus_error_set(error, name, message);
        }
        r = sd_bus_get_property(bus, TPCTL_BUS_NAME, path, IFACE_JOB, "Result", error, ret, "a{sv}");
        if (r < 0)
                return r;
        (void) sd_bus_message_sensitive(*ret);
        return 0;
}

/* Sends m (sensitive), waits for its job, prints the result's values names (in that order) as JSON or as
 * text; returns an exit status. */
static int call_and_print(sd_bus *bus, sd_bus_message *m, const char *what, const char *const *names) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *result = NULL;
        _cleanup_(json_decrefp) json_t *obj = NULL, *values = NULL;
        _cleanup_free_ char *job = NULL;
        JobWait w = { .tty = isatty(STDERR_FILENO) && arg_json == JSON_MODE_OFF, .what = what };
        struct sigaction old_sigint;
        sigset_t sigint, old_mask;
        const char *path, *key;
        int r;

        r = sd_bus_match_signal(bus, NULL, TPCTL_BUS_NAME, NULL, IFACE_JOB, "Completed", on_job_completed, &w);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='" TPCTL_BUS_NAME "',path_namespace='" JOB_PREFIX
                                     "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
                                     on_job_changed, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to the job's signals: %m"), TPCTL_EXIT_FAILURE;

        /* SIGINT is held back during the call, which answers at once with the job: a Ctrl-C then cancels the
         * job rather than leaving it running without anyone waiting. When the call fails, the held signal
         * ends tpctl as usual once unblocked. */
        sigemptyset(&sigint);
        sigaddset(&sigint, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &sigint, &old_mask);
        r = tpctl_call_sensitive(bus, m, &reply, &error);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                job = strdup(path);
                if (!job)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                /* From here on Ctrl-C cancels the job; a second one ends tpctl (SA_RESETHAND). No
                 * SA_RESTART: the wait returns at once. */
                got_sigint = 0;
                w.path = job;
                if (sigaction(SIGINT,
                              &(const struct sigaction){ .sa_handler = on_sigint, .sa_flags = SA_RESETHAND },
                              &old_sigint) < 0)
                        r = -errno;
        }
        (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        if (r < 0 && !job)
                return sd_bus_error_is_set(&error) || r != -ENOMEM ? tpctl_log_bus_error(&error, r, what)
                                                                   : (log_oom(), TPCTL_EXIT_FAILURE);
        if (r < 0)
                return log_error_errno(r, "Failed to handle SIGINT: %m"), TPCTL_EXIT_FAILURE;
        r = wait_job(bus, &w, &error);
        (void) sigaction(SIGINT, &old_sigint, NULL);
        if (w.tty)
                fputs("\r\033[K", stderr);
        if (w.cancel_status != 0)
                return w.cancel_status; /* Cancel() itself failed: logged */
        if (r >= 0)
                r = job_result(bus, job, &result, &error);
        if (r < 0 && w.cancelled && sd_bus_error_has_name(&error, TPCTL_BUS_NAME ".Error.Cancelled")) {
                log_error("Failed to %s: %s", what, error.message ?: error.name);
                return EXIT_CANCELLED;
        }
        if (r < 0)
                return tpctl_log_bus_error(&error, r, what);
        if (w.cancelled)
                log_warning("The job had passed its last point where it could stop: %s completed.", what);

        values = json_object();
        obj = json_object();
        if (!values || !obj)
                return log_oom(), TPCTL_EXIT_FAILURE;
        r = sd_bus_message_enter_container(result, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(result, 'e', "sv")) > 0) {
                json_t *v = NULL;

                r = sd_bus_message_read(result, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_enter_container(result, 'v', NULL);
                if (r >= 0)
                        r = bus_message_read_json(result, &v);
                if (r >= 0)
                        json_object_set_new(values, key, v);
                if (r >= 0)
                        r = sd_bus_message_exit_container(result);
                if (r >= 0)
                        r = sd_bus_message_exit_container(result);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the job's result: %m"), TPCTL_EXIT_FAILURE;
        for (size_t i = 0; names && names[i]; i++) {
                json_t *v = json_object_get(values, names[i]);

                if (!v) {
                        log_error("The job's result lacks '%s'.", names[i]);
                        return TPCTL_EXIT_FAILURE;
                }
                json_object_set(obj, names[i], v);
        }
        if (arg_json != JSON_MODE_OFF)
                return json_print(stdout, obj, arg_json) < 0 ? TPCTL_EXIT_FAILURE : 0;
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
                _cleanup_free_ char *cell = NULL;
                /* An empty string is an absent value (no recovery key was asked for): no "key: " line. */
                if (json_is_string(v) && json_string_length(v) == 0)
                        continue;
                if (json_format_cell(v, &cell) >= 0)
                        printf("%s: %s\n", k, cell);
        }
        /* "weak_policy: yes" alone does not tell what is weak or what to do; the default PCR 7 gets here. */
        if (json_is_true(json_object_get(obj, "weak_policy")))
                log_warning("Warning: the key is sealed without PCR 4 or 11, so any operating system signed "
                            "by a CA the firmware trusts (Secure Boot db) could unseal it. Reseal with "
                            "--pcrs=7,11 (or 4), or to a signed policy with --authorize-key=, to bind it to "
                            "this system's boot loader or kernel.");
        return 0;
}

int verb_volume_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_decrefp) json_t *rows = NULL;
        const char *p, *o;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER, "ListVolumes",
                               &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the volumes");
        rows = json_array();
        if (!rows)
                return log_oom(), TPCTL_EXIT_FAILURE;
        r = sd_bus_message_enter_container(reply, 'a', "(so)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &p, &o)) > 0)
                json_array_append_new(rows, json_pack("{s:s,s:s}", "path", p, "object", o));
        if (r < 0)
                return log_error_errno(r, "Failed to parse ListVolumes(): %m"), TPCTL_EXIT_FAILURE;
        if (arg_json != JSON_MODE_OFF)
                return json_print(stdout, rows, arg_json) < 0 ? TPCTL_EXIT_FAILURE : 0;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) printf("%s\t%s\n", json_string_value(json_object_get(row, "path")),
                                                json_string_value(json_object_get(row, "object")));
        return 0;
}

int verb_volume_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_decrefp) json_t *status = NULL;
        _cleanup_free_ char *obj = NULL;
        const char *text;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = object_of(bus, argv[0], &obj);
        if (r != 0)
                return r;
        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, obj, IFACE_VOLUME, "Status", &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the volume's status");
        r = sd_bus_message_read(reply, "s", &text);
        if (r >= 0)
                r = bus_message_read_json(reply, &status);
        if (r < 0)
                return log_error_errno(r, "Failed to parse Status(): %m"), TPCTL_EXIT_FAILURE;
        if (arg_json != JSON_MODE_OFF)
                return json_print(stdout, status, arg_json) < 0 ? TPCTL_EXIT_FAILURE : 0;
        fputs(text, stdout);
        return 0;
}

int verb_volume_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_erase_free_ char *pass = NULL;
        _cleanup_free_ char *path = NULL;
        uint64_t size = 0;
        int r;

        if (arg_size && parse_size(arg_size, &size) < 0) {
                log_error("Invalid --size=%s: expected a number of bytes, or of KiB, MiB, GiB or TiB with "
                          "the suffix K, M, G or T (e.g. 64M).",
                          arg_size);
                return TPCTL_EXIT_USAGE;
        }
        if (volume_path(argv[0], &path) < 0)
                return TPCTL_EXIT_FAILURE;
        if (get_passphrase("New passphrase:", &pass) < 0)
                return TPCTL_EXIT_FAILURE;
        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER,
                                           "CreateVolume");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', pass, strlen(pass));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && size > 0)
                r = sd_bus_message_append(m, "{sv}", "size", "t", size);
        if (r >= 0 && arg_label)
                r = sd_bus_message_append(m, "{sv}", "label", "s", arg_label);
        if (r >= 0 && arg_recovery_key)
                r = sd_bus_message_append(m, "{sv}", "recovery-key", "b", true);
        if (r >= 0 && arg_force)
                r = sd_bus_message_append(m, "{sv}", "force", "b", true);
        if (r >= 0)
                r = append_kdf(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the CreateVolume() call: %m"), TPCTL_EXIT_USAGE;
        return call_and_print(bus, m, "create the volume",
                              (const char *const[]){ "object", "uuid", "recovery_key", NULL });
}

int verb_volume_enroll(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_erase_free_ char *pass = NULL;
        _cleanup_(signed_policy_args_done) SignedPolicyArgs pol = {};
        _cleanup_free_ char *path = NULL;
        int r;

        r = read_signed_policy_args(&pol);
        if (r != 0)
                return r;
        if (volume_path(argv[0], &path) < 0)
                return TPCTL_EXIT_FAILURE;

        if (get_passphrase("Current passphrase or recovery key:", &pass) < 0)
                return TPCTL_EXIT_FAILURE;
        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_MANAGER,
                                           "EnrollVolume");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', pass, strlen(pass));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_pcrs(m);
        if (r >= 0)
                r = append_pin(m, "pin");
        if (r >= 0 && arg_accept_risk)
                r = sd_bus_message_append(m, "{sv}", "accept-risk", "b", 1);
        if (r >= 0)
                r = append_signed_policy(m, &pol);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the EnrollVolume() call: %m"), TPCTL_EXIT_USAGE;
        return call_and_print(bus, m, "enroll the TPM",
                              (const char *const[]){ "object", "keyslot", "token", "weak_policy", NULL });
}

static int volume_call(const char *path, const char *method, sd_bus **ret_bus, sd_bus_message **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *obj = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = object_of(bus, path, &obj);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, ret, TPCTL_BUS_NAME, obj, IFACE_VOLUME, method);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m"), TPCTL_EXIT_FAILURE;
        *ret_bus = TAKE_PTR(bus);
        return 0;
}

int verb_volume_unenroll(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint32_t token;
        int r;

        if (tpctl_parse_uint32(argv[1], &token) < 0 || token >= 32) {
                log_error("Invalid token '%s': expected 0..31.", argv[1]);
                return TPCTL_EXIT_USAGE;
        }
        r = volume_call(argv[0], "Unenroll", &bus, &m);
        if (r != 0)
                return r;
        r = sd_bus_message_append(m, "ia{sv}", (int32_t) token, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m"), TPCTL_EXIT_FAILURE;
        return call_and_print(bus, m, "unenroll the token", NULL);
}

int verb_volume_reseal(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_erase_free_ char *pass = NULL;
        _cleanup_(signed_policy_args_done) SignedPolicyArgs pol = {};
        int r;

        r = read_signed_policy_args(&pol);
        if (r != 0)
                return r;

        /* The passphrase is only needed when the token can no longer unseal (PCRs changed). */
        if ((arg_passphrase_file || getenv("TPCTL_PASSPHRASE")) && get_passphrase("Passphrase:", &pass) < 0)
                return TPCTL_EXIT_FAILURE;
        r = volume_call(argv[0], "Reseal", &bus, &m);
        if (r != 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_pcrs(m);
        if (r >= 0)
                r = append_pin(m, "pin");
        if (r >= 0 && arg_accept_risk)
                r = sd_bus_message_append(m, "{sv}", "accept-risk", "b", 1);
        if (r >= 0)
                r = append_signed_policy(m, &pol);
        if (r >= 0 && pass)
                r = tpctl_append_bytes_option(m, "passphrase", pass, strlen(pass));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Reseal() call: %m"), TPCTL_EXIT_USAGE;
        r = call_and_print(bus, m, "reseal the TPM token",
                           (const char *const[]){ "keyslot", "token", "weak_policy", NULL });
        /* Without a passphrase only the old token can unlock, which a changed PCR prevents; tpctl does not ask
         * here (the common case needs none), so say how to give one. */
        if (r == TPCTL_EXIT_FAILURE && !pass)
                log_info("If the token no longer unseals, give the passphrase or a recovery key: "
                         "tpctl volume reseal --passphrase-file=FILE %s",
                         argv[0]);
        return r;
}

int verb_volume_recovery_key(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_erase_free_ char *pass = NULL;
        int r;

        if (get_passphrase("Current passphrase:", &pass) < 0)
                return TPCTL_EXIT_FAILURE;
        r = volume_call(argv[0], "AddRecoveryKey", &bus, &m);
        if (r != 0)
                return r;
        r = sd_bus_message_append_array(m, 'y', pass, strlen(pass));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_kdf(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the AddRecoveryKey() call: %m"), TPCTL_EXIT_USAGE;
        return call_and_print(bus, m, "add a recovery key",
                              (const char *const[]){ "recovery_key", "keyslot", NULL });
}

/* Offline: checks a passphrase or recovery key against the header, changing nothing. */
int verb_volume_unlock_test(int argc, char *argv[]) {
        _cleanup_erase_free_ char *pass = NULL;
        char reason[256] = "";
        int r;

        if (get_passphrase("Passphrase or recovery key:", &pass) < 0)
                return TPCTL_EXIT_FAILURE;
        r = luks_volume_test_passphrase(argv[0], pass, strlen(pass), reason, sizeof(reason));
        if (r < 0) {
                log_error("%s: %s", argv[0], reason[0] ? reason : strerror(-r));
                return TPCTL_EXIT_FAILURE;
        }
        if (arg_json != JSON_MODE_OFF)
                printf("{\"keyslot\":%d}\n", r);
        else if (!arg_quiet)
                printf("Keyslot %d opens.\n", r);
        return 0;
}
