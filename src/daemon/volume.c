/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager's LUKS2 volumes: the registry and the operation thread (see volume.h). */

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "daemon/ca-keys.h"
#include "daemon/volume.h"
#include "shared/config.h"

#define VOLUMES_FILE "volumes"
#define VOLUMES_FILE_MAX (VOLUMES_MAX * (PATH_MAX + 64U))
#define BACKUP_DIR "luks-backups"

static char *state_file(Manager *m, const char *name) {
        char *s;

        if (asprintf(&s, "%s/%s", m->state_dir, name) < 0)
                return NULL;
        return s;
}

static void volume_done(Volume *v) {
        v->uuid = mfree(v->uuid);
        v->path = mfree(v->path);
}

void manager_free_volumes(Manager *m) {
        if (m->volume_op) {
                /* Shutting down with an operation running: ask it to stop at its next safe point and wait
                 * for that (the header journal would roll it back otherwise, but a clean end is cheaper).
                 * Nobody is answered any more; the waiting ones are dropped. */
                while (m->volume_op->next) {
                        VolumeOp *q = m->volume_op->next;

                        m->volume_op->next = q->next;
                        volume_op_free(q);
                }
                __atomic_store_n(&m->volume_op->cancel, true, __ATOMIC_RELEASE);
                m->volume_op = volume_op_free(m->volume_op);
        }
        manager_free_jobs(m);
        for (size_t i = 0; i < m->n_volumes; i++)
                volume_done(&m->volumes[i]);
        m->volumes = mfree(m->volumes);
        m->n_volumes = 0;
}

Volume *manager_find_volume_by_uuid(Manager *m, const char *uuid) {
        for (size_t i = 0; i < m->n_volumes; i++)
                if (streq(m->volumes[i].uuid, uuid))
                        return &m->volumes[i];
        return NULL;
}

Volume *manager_find_volume_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_volumes; i++)
                if (streq(m->volumes[i].path, path))
                        return &m->volumes[i];
        return NULL;
}

static int volume_add(Manager *m, const char *uuid, const char *path, bool registered) {
        _cleanup_free_ char *u = NULL, *p = NULL;
        Volume *v;

        v = manager_find_volume_by_uuid(m, uuid);
        if (v) {
                if (!streq(v->path, path)) {
                        p = strdup(path);
                        if (!p)
                                return -ENOMEM;
                        free(v->path);
                        v->path = TAKE_PTR(p);
                }
                v->registered = v->registered || registered;
                return 0;
        }
        if (m->n_volumes >= VOLUMES_MAX)
                return -E2BIG;

        u = strdup(uuid);
        p = strdup(path);
        if (!u || !p)
                return -ENOMEM;
        v = reallocarray(m->volumes, m->n_volumes + 1, sizeof(Volume));
        if (!v)
                return -ENOMEM;
        m->volumes = v;
        m->volumes[m->n_volumes++] = (Volume){
                .manager = m,
                .uuid = TAKE_PTR(u),
                .path = TAKE_PTR(p),
                .registered = registered,
        };
        return 1;
}

static bool uuid_is_valid_loose(const char *s) {
        /* libcryptsetup's UUIDs: 36 characters of hex digits and dashes. */
        return strlen(s) == 36 && strspn(s, "0123456789abcdefABCDEF-") == 36;
}

static int save_volumes(Manager *m) {
        _cleanup_free_ char *text = NULL, *file = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_volumes; i++)
                if (m->volumes[i].registered)
                        fprintf(f, "%s\t%s\n", m->volumes[i].uuid, m->volumes[i].path);
        if (fclose(f) != 0)
                return -ENOMEM;

        file = state_file(m, VOLUMES_FILE);
        if (!file)
                return -ENOMEM;
        r = write_file_atomic(file, text ?: "", size, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", file);
        return 0;
}

int manager_register_volume(Manager *m, const char *uuid, const char *path) {
        int r;

        r = volume_add(m, uuid, path, /* registered= */ true);
        if (r < 0)
                return r;
        return save_volumes(m);
}

int manager_load_volumes(Manager *m, Config *config) {
        _cleanup_free_ char *file = NULL, *text = NULL, *paths = NULL;
        char *saveptr = NULL;
        int r;

        file = state_file(m, VOLUMES_FILE);
        if (!file)
                return log_oom();
        r = read_full_file(file, VOLUMES_FILE_MAX, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read %s: %m", file);

        for (char *line = text, *next; line && *line; line = next) {
                char *tab;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                tab = strchr(line, '\t');
                if (!tab) {
                        log_warning("Ignoring malformed line in %s.", file);
                        continue;
                }
                *tab = '\0';
                if (!uuid_is_valid_loose(line) || tab[1] != '/') {
                        log_warning("Ignoring malformed line in %s.", file);
                        continue;
                }
                r = volume_add(m, line, tab + 1, /* registered= */ true);
                if (r < 0)
                        return log_error_errno(r, "Failed to add volume %s: %m", line);
        }

        r = config_get_string(config, "Volumes", "Paths", NULL, &paths);
        if (r < 0)
                return log_error_errno(r, "Failed to read [Volumes] Paths=: %m");

        for (char *word = paths ? strtok_r(paths, " \t", &saveptr) : NULL; word;
             word = strtok_r(NULL, " \t", &saveptr)) {
                _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;
                char reason[VOLUME_REASON_MAX] = "";
                char **p = &word;

                if ((*p)[0] != '/') {
                        log_warning("[Volumes] Paths=: '%s' is not an absolute path, ignoring.", *p);
                        continue;
                }
                r = luks_volume_status(*p, &s, reason, sizeof(reason));
                if (r < 0) {
                        log_warning_errno(r, "[Volumes] Paths=: %s: %s, ignoring.", *p,
                                          reason[0] ? reason : strerror(-r));
                        continue;
                }
                r = volume_add(m, s->uuid, *p, /* registered= */ false);
                if (r < 0)
                        return log_error_errno(r, "Failed to add volume %s: %m", *p);
        }

        log_debug("%zu LUKS2 volume(s) known.", m->n_volumes);
        return 0;
}

int volume_object_path(const Volume *v, char **ret) {
        return sd_bus_path_encode(TP_BUS_VOLUME_PREFIX, v->uuid, ret);
}

int manager_volume_tcti(Manager *m, char **ret) {
        int r;

        r = ca_tcti_shared(m->tcti, ret);
        if (r == -EOPNOTSUPP)
                return -EUNATCH;
        return r;
}

char *manager_volume_backup_dir(Manager *m) {
        return state_file(m, BACKUP_DIR);
}

VolumeOp *volume_op_new(Manager *m, sd_bus_message *message, VolumeOpKind kind) {
        VolumeOp *op;

        op = calloc(1, sizeof(VolumeOp));
        if (!op)
                return NULL;
        *op = (VolumeOp){
                .manager = m,
                .message = sd_bus_message_ref(message),
                .kind = kind,
                .token = -1,
                .slot = -1,
                .fd = -EBADF,
        };
        (void) pthread_mutex_init(&op->lock, NULL);
        return op;
}

VolumeOp *volume_op_free(VolumeOp *op) {
        if (!op)
                return NULL;
        if (op->thread_started)
                (void) pthread_join(op->thread, NULL);
        if (op->job && op->job->cancel_userdata == op)
                job_set_cancel(op->job, NULL, NULL, NULL);
        sd_event_source_disable_unref(op->source);
        sd_event_source_disable_unref(op->timer);
        safe_close(op->fd);
        (void) pthread_mutex_destroy(&op->lock);
        sd_bus_message_unref(op->message);
        free(op->path);
        if (op->passphrase) {
                erase_mem(op->passphrase, op->passphrase_size);
                free(op->passphrase);
        }
        erase_and_free(op->pin);
        erase_and_free(op->old_pin);
        free(op->tcti);
        free(op->label);
        free((char *) op->enroll.state_dir);
        free((char *) op->enroll.backup_dir);
        free(op->uuid);
        erase_and_free(op->key);
        if (op->signed_policy_path) {
                (void) unlink(op->signed_policy_path);
                free(op->signed_policy_path);
        }
        return mfree(op);
}

int volume_op_write_signed_policy(VolumeOp *op, const char *dir, const void *data, size_t size) {
        _cleanup_free_ char *path = NULL;
        const uint8_t *p = data;
        int fd;

        if (asprintf(&path, "%s/.volume-signed-policy.XXXXXX", dir) < 0)
                return -ENOMEM;
        fd = mkostemp(path, O_CLOEXEC); /* 0600 */
        if (fd < 0)
                return -errno;
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;

                        safe_close(fd);
                        (void) unlink(path);
                        return r;
                }
                p += n;
                size -= (size_t) n;
        }
        safe_close(fd);
        op->signed_policy_path = TAKE_PTR(path);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000U;
}

/* LuksHooks, on the thread. */
static int op_check(void *userdata) {
        VolumeOp *op = userdata;

        return __atomic_load_n(&op->cancel, __ATOMIC_ACQUIRE) ? -ECANCELED : 0;
}

static void op_step(double done, double next, uint32_t expected_ms, void *userdata) {
        VolumeOp *op = userdata;

        (void) pthread_mutex_lock(&op->lock);
        op->step_from = done;
        op->step_to = next;
        op->step_ms = expected_ms;
        op->step_usec = now_usec();
        (void) pthread_mutex_unlock(&op->lock);
}

/* The job's progress: 0.05 when the thread starts, the library's fraction of its work mapped into 0.05..0.9,
 * 0.9 when the thread ends, 1 when the job is done. Within a step the fraction moves by time: linearly to
 * 90% of the step at its expected time, then ever slower towards its end, which it never reaches before the
 * library says so (a step with no expected time moves as if it took 2 s, the default KDF time). */
#define PROGRESS_START 0.05
#define PROGRESS_SPAN 0.85

static double op_progress(VolumeOp *op) {
        double from, to, t, e, f;
        uint64_t start;

        (void) pthread_mutex_lock(&op->lock);
        from = op->step_from;
        to = op->step_to;
        e = (op->step_ms ?: 2000U) * 1000.0;
        start = op->step_usec;
        (void) pthread_mutex_unlock(&op->lock);

        if (start == 0 || to <= from)
                return PROGRESS_START + PROGRESS_SPAN * from;
        t = (double) (now_usec() - start);
        if (t <= e)
                f = 0.9 * t / e;
        else
                f = 0.9 + 0.1 * ((t - e) / t); /* 0.9 at e, 0.95 at 2e, never 1 */
        return PROGRESS_START + PROGRESS_SPAN * (from + (to - from) * f);
}

static int volume_op_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        VolumeOp *op = userdata;
        int r;

        if (op->job)
                job_set_progress(op->job, op_progress(op));
        r = sd_event_source_set_time_relative(s, VOLUME_PROGRESS_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

/* On the thread: marks the end and wakes the loop. */
static void volume_op_finished(VolumeOp *op) {
        uint64_t one = 1;

        __atomic_store_n(&op->finished, true, __ATOMIC_RELEASE);
        if (write(op->fd, &one, sizeof(one)) < 0)
                log_debug_errno(errno, "Failed to wake the event loop: %m");
}

static void *volume_op_thread(void *userdata) {
        VolumeOp *op = userdata;
        const char *backup = op->enroll.backup_dir;

        op->hooks = (LuksHooks){ .check = op_check, .step = op_step, .userdata = op };
        op->kdf.hooks = &op->hooks;
        op->enroll.hooks = &op->hooks;
        /* Cancelled between its start and now: nothing was done. */
        op->r = op_check(op);
        switch (op->r < 0 ? _VOLUME_OP_INVALID : op->kind) {
        case _VOLUME_OP_INVALID:
                snprintf(op->reason, sizeof(op->reason), "stopped before anything was done");
                break;
        case VOLUME_OP_CREATE:
                op->create.passphrase = op->passphrase;
                op->create.passphrase_size = op->passphrase_size;
                op->create.label = op->label;
                op->create.kdf = op->kdf;
                op->r = luks_volume_create(op->path, &op->create, op->create.recovery_key ? &op->key : NULL,
                                           &op->uuid, op->reason, sizeof(op->reason));
                break;
        case VOLUME_OP_ENROLL:
                op->r = luks_volume_enroll_tpm(op->path, op->passphrase, op->passphrase_size, &op->enroll,
                                               &op->result, op->reason, sizeof(op->reason));
                if (op->r >= 0) {
                        _cleanup_(luks_volume_status_freep) LuksVolumeStatus *s = NULL;

                        /* The volume's id, to register it. */
                        op->r = luks_volume_status(op->path, &s, op->reason, sizeof(op->reason));
                        if (op->r >= 0) {
                                op->uuid = strdup(s->uuid);
                                if (!op->uuid)
                                        op->r = -ENOMEM;
                        }
                }
                break;
        case VOLUME_OP_RESEAL:
                op->r = luks_volume_reseal(op->path, op->token, op->old_pin, op->signed_policy_path,
                                           op->passphrase, op->passphrase_size, &op->enroll, &op->result,
                                           op->reason, sizeof(op->reason));
                break;
        case VOLUME_OP_UNENROLL:
                op->r = luks_volume_unenroll(op->path, op->token, backup, op->reason, sizeof(op->reason));
                break;
        case VOLUME_OP_ADD_RECOVERY_KEY:
                op->r = luks_volume_add_recovery_key(op->path, op->passphrase, op->passphrase_size, &op->kdf,
                                                     backup, &op->key, &op->slot, op->reason,
                                                     sizeof(op->reason));
                break;
        default:
                op->r = -EINVAL;
        }

        /* The passphrase is not needed any more. */
        if (op->passphrase) {
                erase_mem(op->passphrase, op->passphrase_size);
                op->passphrase = mfree(op->passphrase);
                op->passphrase_size = 0;
        }

        volume_op_finished(op);
        return NULL;
}

static int volume_op_run(VolumeOp *op);

/* Answers op (its job ends) and frees it. */
static void volume_op_reply(VolumeOp *op) {
        int r;

        log_debug("Volume operation on %s finished: %s.", op->path, op->r < 0 ? strerror(-op->r) : "ok");
        if (op->job)
                job_set_cancel(op->job, NULL, NULL, NULL);
        r = op->reply(op); /* completes op->job, which may free it */
        if (r < 0)
                log_debug_errno(r, "Failed to complete the job of the volume operation: %m");
        op->job = NULL;
        volume_op_free(op);
}

static int volume_op_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VolumeOp *op = userdata, *next;
        Manager *m = op->manager;
        uint64_t n;
        int r;

        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                log_debug_errno(errno, "Failed to read the eventfd, ignoring: %m");
        if (!__atomic_load_n(&op->finished, __ATOMIC_ACQUIRE))
                return 0;

        (void) pthread_join(op->thread, NULL);
        op->thread_started = false;
        if (op->job && op->r >= 0)
                job_set_progress(op->job, PROGRESS_START + PROGRESS_SPAN);
        assert(m->volume_op == op);
        m->volume_op = NULL;
        next = TAKE_PTR(op->next);
        volume_op_reply(op);

        /* The next waiting operation, if any can be started. */
        while (next) {
                VolumeOp *q = next;

                next = TAKE_PTR(q->next);
                r = volume_op_run(q);
                if (r >= 0) {
                        q->next = next;
                        break;
                }
                q->r = r;
                snprintf(q->reason, sizeof(q->reason), "Cannot start the operation: %s", strerror(-r));
                volume_op_reply(q);
        }
        return 0;
}

/* Job.Cancel(): a waiting operation ends at once; a running one is asked to stop. */
static int volume_op_cancel(Job *j, void *userdata) {
        VolumeOp *op = userdata;
        Manager *m = op->manager;

        if (op == m->volume_op) {
                __atomic_store_n(&op->cancel, true, __ATOMIC_RELEASE);
                return 0;
        }
        for (VolumeOp **p = m->volume_op ? &m->volume_op->next : NULL; p && *p; p = &(*p)->next)
                if (*p == op) {
                        *p = TAKE_PTR(op->next);
                        op->r = -ECANCELED;
                        snprintf(op->reason, sizeof(op->reason), "it was waiting and had not started");
                        volume_op_reply(op);
                        return 0;
                }
        return -ESRCH; /* not reached: a job is cancellable only while its operation exists */
}

static int volume_op_run(VolumeOp *op) {
        Manager *m = op->manager;
        int r;

        op->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (op->fd < 0)
                return -errno;
        r = sd_event_add_io(m->event, &op->source, op->fd, EPOLLIN, volume_op_on_done, op);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &op->timer, CLOCK_MONOTONIC, VOLUME_PROGRESS_USEC, 0,
                                       volume_op_on_timer, op);
        if (r < 0)
                return r;

        r = -pthread_create(&op->thread, NULL, volume_op_thread, op);
        if (r < 0)
                return r;
        op->thread_started = true;
        m->volume_op = op;
        if (op->job)
                job_set_progress(op->job, PROGRESS_START);
        return 0;
}

int volume_op_start(VolumeOp *op) {
        Manager *m = op->manager;
        VolumeOp **tail;
        size_t n = 0;
        int r;

        if (m->volume_op) {
                for (tail = &m->volume_op->next; *tail; tail = &(*tail)->next)
                        n++;
                if (n >= VOLUME_QUEUE_MAX)
                        return -EBUSY;
                *tail = op;
        } else {
                r = volume_op_run(op);
                if (r < 0)
                        return r;
        }
        if (op->job)
                job_set_cancel(op->job, volume_op_cancel, op, VOLUME_ACTION_MANAGE);
        return 0;
}
