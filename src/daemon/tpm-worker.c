/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <pthread.h>
#include <sys/eventfd.h>

#include "basic/log.h"
#include "daemon/tpm-worker.h"
#include "tpm2/tpm2-context.h"

typedef struct TpmJob {
        struct TpmJob *next;
        tpm_job_run_t run;
        tpm_job_done_t done;
        void *userdata;
        int result;
} TpmJob;

/* A singly linked FIFO. */
typedef struct JobQueue {
        TpmJob *head, *tail;
} JobQueue;

struct TpmWorker {
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;

        /* Under lock. */
        JobQueue pending;
        JobQueue finished;
        bool stop;
        bool present;

        /* Only the worker thread touches these once it runs. */
        char *tcti;
        Tpm2Context *tpm;

        /* Event loop side. */
        int efd;
        sd_event_source *event_source;
        bool present_reported;
        tpm_presence_changed_t on_presence;
        void *presence_userdata;
};

static void queue_push(JobQueue *q, TpmJob *j) {
        j->next = NULL;
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
}

static TpmJob *queue_take_all(JobQueue *q) {
        TpmJob *j = q->head;
        q->head = q->tail = NULL;
        return j;
}

/* Transport errors mean the connection is gone (device removed, swtpm restarted): reopen next time.
 * TPM command errors leave the connection alone. */
static bool error_is_transport(int r) {
        return IN_SET(r, -ENODEV, -ENXIO, -ECONNRESET, -EPIPE, -ECONNREFUSED);
}

/* A TCTI that fails in the middle of a command (tpm2-tss reports TSS2_TCTI_RC_IO_ERROR when swtpm dies or
 * the device goes away; our guard TCTI refuses a bad response with EBADMSG) leaves ESAPI in its internal
 * error state: every later call on that context fails with BAD_SEQUENCE, mapped to EINVAL, even once the
 * TPM is back. The same errnos also come from TPM response codes, so the context is replaced at once: if
 * the reopen works the TPM is still there and callers notice nothing; if not, it is gone. */
static bool error_may_break_context(int r) {
        return IN_SET(r, -EIO, -EBADMSG);
}

static void *worker_main(void *p) {
        TpmWorker *w = p;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                TpmJob *j;

                while (!w->stop && !w->pending.head)
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->stop)
                        break;

                j = w->pending.head;
                w->pending.head = j->next;
                if (!w->pending.head)
                        w->pending.tail = NULL;
                pthread_mutex_unlock(&w->lock);

                j->result = 0;
                if (!w->tpm)
                        j->result = tpm2_context_new(w->tcti, &w->tpm);
                if (j->result >= 0)
                        j->result = j->run(w->tpm, j->userdata);
                if (error_is_transport(j->result)) {
                        log_debug_errno(j->result, "TPM transport failed, closing the connection: %m");
                        w->tpm = tpm2_context_free(w->tpm);
                } else if (w->tpm && error_may_break_context(j->result)) {
                        int k;

                        log_debug_errno(j->result, "TPM command failed, reopening the connection: %m");
                        w->tpm = tpm2_context_free(w->tpm);
                        k = tpm2_context_new(w->tcti, &w->tpm);
                        if (k < 0)
                                log_debug_errno(k, "Failed to reopen the TPM connection, it is gone: %m");
                }

                pthread_mutex_lock(&w->lock);
                w->present = w->tpm;
                queue_push(&w->finished, j);
                pthread_mutex_unlock(&w->lock);

                (void) eventfd_write(w->efd, 1);

                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static void run_done(TpmJob *list, bool cancel) {
        while (list) {
                TpmJob *j = list;
                list = j->next;
                j->done(cancel ? -ECANCELED : j->result, j->userdata);
                free(j);
        }
}

static int on_finished(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        TpmWorker *w = userdata;
        eventfd_t value;
        TpmJob *list;
        bool present;

        (void) eventfd_read(w->efd, &value);

        pthread_mutex_lock(&w->lock);
        list = queue_take_all(&w->finished);
        present = w->present;
        pthread_mutex_unlock(&w->lock);

        run_done(list, false);

        if (present != w->present_reported) {
                w->present_reported = present;
                if (w->on_presence)
                        w->on_presence(present, w->presence_userdata);
        }
        return 0;
}

int tpm_worker_new(sd_event *event, const char *tcti, Tpm2Context *tpm, tpm_presence_changed_t on_presence,
                   void *presence_userdata, TpmWorker **ret) {
        _cleanup_(tpm_worker_freep) TpmWorker *w = NULL;
        int r;

        assert(event);
        assert(ret);

        w = calloc(1, sizeof(TpmWorker));
        if (!w)
                return -ENOMEM;

        w->efd = -EBADF;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        w->on_presence = on_presence;
        w->presence_userdata = presence_userdata;

        if (tcti) {
                w->tcti = strdup(tcti);
                if (!w->tcti)
                        return -ENOMEM;
        }

        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0)
                return -errno;

        r = sd_event_add_io(event, &w->event_source, w->efd, EPOLLIN, on_finished, w);
        if (r < 0)
                return r;

        r = -pthread_create(&w->thread, NULL, worker_main, w);
        if (r < 0)
                return r;
        w->thread_started = true;

        /* Only now, so that a failed setup returns the TPM context to nobody. */
        w->tpm = tpm;
        w->present = w->present_reported = tpm;

        *ret = TAKE_PTR(w);
        return 0;
}

TpmWorker *tpm_worker_free(TpmWorker *w) {
        TpmJob *cancelled;

        if (!w)
                return NULL;

        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->stop = true;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                (void) pthread_join(w->thread, NULL);
        }

        /* Jobs that finished but were not collected yet still get their answer; queued ones are
         * cancelled so that their callers get an error instead of silence. */
        run_done(queue_take_all(&w->finished), false);
        cancelled = queue_take_all(&w->pending);
        run_done(cancelled, true);

        w->event_source = sd_event_source_disable_unref(w->event_source);
        safe_close(w->efd);
        w->tpm = tpm2_context_free(w->tpm);
        free(w->tcti);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        return mfree(w);
}

int tpm_worker_submit(TpmWorker *w, tpm_job_run_t run, tpm_job_done_t done, void *userdata) {
        TpmJob *j;

        assert(w);
        assert(run);
        assert(done);

        j = calloc(1, sizeof(TpmJob));
        if (!j)
                return -ENOMEM;

        j->run = run;
        j->done = done;
        j->userdata = userdata;

        pthread_mutex_lock(&w->lock);
        queue_push(&w->pending, j);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return 0;
}

bool tpm_worker_tpm_present(TpmWorker *w) {
        return w && w->present_reported;
}
