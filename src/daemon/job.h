/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Job objects: a method whose work takes longer than a second answers at once with the path of a Job
 * (/org/trustedplatform/TrustedPlatform1/job/<n>), since the default D-Bus timeout is 25 s. The job shows
 * Operation, Object, Progress (0..1, PropertiesChanged as it moves), State (running/done/failed), once
 * done the Result (a{sv}: what a synchronous reply would have carried) or ErrorName/ErrorMessage, and
 * emits Completed(i result, s error_name, s error_message) at the end.
 *
 * A result holding a secret (a recovery key) is readable by the job's starter only (the same unique bus
 * name, or the same uid): anyone else gets AccessDenied, and Result is never sent in PropertiesChanged.
 * A finished job goes away JOB_LINGER_USEC after completion; one whose result holds a secret also when
 * its starter disconnects (at once if finished, else at completion), so the secret does not outlive the
 * only caller that wanted it.
 *
 * Cancel(a{sv} options) (no options are defined yet) asks a running job to stop: allowed for its starter
 * (the same unique name or uid) and for callers authorized by the polkit action of the operation; others
 * get AccessDenied, a job that already ended Error.JobFinished. The owner of the work decides (JobCancel):
 * work not started yet is dropped at once, running work stops at its next safe point; either way the job
 * then fails with Error.Cancelled. Work past its last safe point completes normally: Cancel() only asks. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "daemon/manager.h"

#define TP_BUS_INTERFACE_JOB "org.trustedplatform.TrustedPlatform1.Job"
#define TP_BUS_JOB_PREFIX "/org/trustedplatform/TrustedPlatform1/job"
#define JOB_LINGER_USEC (60U * 1000000U)
#define JOBS_MAX 64U

/* Asks the work behind j to stop (see above); called in the loop. */
typedef int (*JobCancel)(Job *j, void *userdata);

typedef enum JobState {
        JOB_RUNNING,
        JOB_DONE,
        JOB_FAILED,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

const char *job_state_to_string(JobState s) _const_;
JobState job_state_from_string(const char *s) _pure_;

struct Job {
        Manager *manager;
        Job *next;
        uint64_t id;
        char *path;
        char *operation; /* the method's name */
        char *object;    /* the object it works on, "/" for none yet */
        char *owner;     /* the starter's unique bus name */
        uid_t uid;       /* the starter's euid */
        double progress;
        JobState state;
        int result; /* 0 or a negative errno */
        char *error_name, *error_message;
        sd_bus_message *result_message; /* a{sv}, sealed; sensitive when secret */
        bool secret;
        bool orphaned; /* the starter is gone: drop a secret result at completion */
        sd_bus_slot *slot, *match_slot;
        sd_event_source *expire;
        JobCancel cancel; /* NULL: cannot be cancelled (Cancel() answers NotSupported) */
        void *cancel_userdata;
        const char *action; /* the polkit action that allows others to cancel it (static) */
        bool cancel_requested;
};

/* Creates and exports a running job for the sender of message; on success the manager owns it.
 * -EBUSY: JOBS_MAX jobs exist. */
int job_new(Manager *m, sd_bus_message *message, const char *operation, const char *object, Job **ret);
Job *job_free(Job *j);
void manager_free_jobs(Manager *m);

/* Makes j cancellable: cancel(j, userdata) runs on Cancel(); action: the operation's polkit action. */
void job_set_cancel(Job *j, JobCancel cancel, void *userdata, const char *action);

void job_set_progress(Job *j, double progress);
/* Ends the job successfully: result is an a{sv} message (sealed here, taken over); secret: it holds a
 * secret only the starter may read. */
int job_complete(Job *j, sd_bus_message *result, bool secret);
/* Ends the job with an error (error is not freed). */
int job_fail(Job *j, int r, const sd_bus_error *error);
/* A detached message to append a job's a{sv} result to. */
int job_new_result(Job *j, sd_bus_message **ret);
