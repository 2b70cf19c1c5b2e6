/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Job objects of long operations (see job.h). */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "daemon/job.h"
#include "daemon/manager-bus.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"

static const char *const job_state_table[_JOB_STATE_MAX] = {
        [JOB_RUNNING] = "running",
        [JOB_DONE] = "done",
        [JOB_FAILED] = "failed",
};

const char *job_state_to_string(JobState s) {
        if (s < 0 || s >= _JOB_STATE_MAX)
                return NULL;
        return job_state_table[s];
}

JobState job_state_from_string(const char *s) {
        if (!s)
                return _JOB_STATE_INVALID;
        for (JobState i = 0; i < _JOB_STATE_MAX; i++)
                if (streq(job_state_table[i], s))
                        return i;
        return _JOB_STATE_INVALID;
}

static void job_unlink(Job *j) {
        Manager *m = j->manager;

        for (Job **p = &m->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        j->next = NULL;
}

Job *job_free(Job *j) {
        if (!j)
                return NULL;
        job_unlink(j);
        if (j->slot) {
                int r = sd_bus_emit_object_removed(j->manager->bus, j->path);
                if (r < 0)
                        log_debug_errno(r, "Failed to emit InterfacesRemoved for %s, ignoring: %m", j->path);
        }
        sd_bus_slot_unref(j->slot);
        sd_bus_slot_unref(j->match_slot);
        sd_event_source_disable_unref(j->expire);
        sd_bus_message_unref(j->result_message); /* sensitive: erased */
        free(j->path);
        free(j->operation);
        free(j->object);
        free(j->owner);
        free(j->error_name);
        free(j->error_message);
        return mfree(j);
}

void manager_free_jobs(Manager *m) {
        while (m->jobs)
                job_free(m->jobs);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        const char *s;

        if (streq(property, "Operation"))
                s = j->operation;
        else if (streq(property, "State"))
                s = job_state_to_string(j->state);
        else if (streq(property, "ErrorName"))
                s = j->error_name;
        else
                s = j->error_message;
        return sd_bus_message_append(reply, "s", strempty(s));
}

static int property_get_object(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        return sd_bus_message_append(reply, "o", j->object);
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        return sd_bus_message_append(reply, "d", j->progress);
}

/* The starter: the same unique name, or a connection of the same uid. */
static int job_caller_is_starter(Job *j, sd_bus_message *message) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender;
        uid_t uid;
        int r;

        if (!message)
                return false;
        sender = sd_bus_message_get_sender(message);
        if (sender && j->owner && streq(sender, j->owner))
                return true;
        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        return uid == j->uid;
}

static int property_get_result(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        int r;

        if (!j->result_message)
                return sd_bus_message_append(reply, "a{sv}", 0);
        if (j->secret) {
                sd_bus_message *call = sd_bus_get_current_message(bus);

                r = job_caller_is_starter(j, call);
                if (r < 0)
                        return r;
                /* Get() of Result is refused; GetAll() and GetManagedObjects() show it empty, so that
                 * they keep working for everyone. */
                if (r == 0 && call && !streq_ptr(sd_bus_message_get_member(call), "Get"))
                        return sd_bus_message_append(reply, "a{sv}", 0);
                if (r == 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                "The result of this job holds a secret: only the caller that "
                                                "started it may read it.");
                r = sd_bus_message_sensitive(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_rewind(j->result_message, true);
        if (r < 0)
                return r;
        return sd_bus_message_copy(reply, j->result_message, true);
}

/* Cancel(a{sv} options): see job.h. Order: arguments, no-op check (ended), authorization, then the work's
 * owner is asked to stop it. */
static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        const char *key;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'e', "sv");
        if (r < 0)
                return r;
        if (r > 0) {
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.64s'.", key);
        }
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        if (j->state != JOB_RUNNING)
                return sd_bus_error_setf(error, BUS_ERROR_JOB_FINISHED,
                                         "Job %" PRIu64 " has already ended (%s): there is nothing to cancel.",
                                         j->id, job_state_to_string(j->state));
        if (!j->cancel)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Job %" PRIu64 " cannot be cancelled.", j->id);

        r = job_caller_is_starter(j, message);
        if (r < 0)
                return r;
        if (r == 0) {
                r = bus_verify_polkit_async(message, j->action, NULL, &j->manager->polkit_registry, error);
                if (r <= 0)
                        return r < 0 ? r : 1;
        }

        log_info("Cancelling job %" PRIu64 " (%s) at the request of %s.", j->id, j->operation,
                 strna(sd_bus_message_get_sender(message)));
        j->cancel_requested = true;
        r = j->cancel(j, j->cancel_userdata); /* may end the job at once; it lingers, so j stays valid */
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "");
}

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Operation", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Object", "o", property_get_object, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "a{sv}", property_get_result, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_PROPERTY("ErrorName", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorMessage", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Completed", SD_BUS_ARGS("i", result, "s", error_name, "s", error_message), 0),
        SD_BUS_VTABLE_END,
};

static int job_on_owner_gone(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, j->owner) || !isempty(new_owner))
                return 0;
        log_debug("The starter of job %" PRIu64 " disconnected.", j->id);
        j->match_slot = sd_bus_slot_unref(j->match_slot);
        if (j->state == JOB_RUNNING)
                j->orphaned = true;
        else if (j->secret)
                job_free(j);
        return 0;
}

int job_new(Manager *m, sd_bus_message *message, const char *operation, const char *object, Job **ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_free_ char *match = NULL;
        const char *sender;
        size_t n = 0;
        Job *j;
        int r;

        for (Job *i = m->jobs; i; i = i->next)
                n++;
        if (n >= JOBS_MAX)
                return -EBUSY;

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        *j = (Job){
                .manager = m,
                .id = ++m->last_job_id,
                .state = JOB_RUNNING,
                .uid = (uid_t) -1,
        };
        j->next = m->jobs;
        m->jobs = j;

        if (asprintf(&j->path, TP_BUS_JOB_PREFIX "/%" PRIu64, j->id) < 0) {
                j->path = NULL;
                job_free(j);
                return -ENOMEM;
        }
        j->operation = strdup(operation);
        j->object = strdup(object ?: "/");
        sender = sd_bus_message_get_sender(message);
        if (sender)
                j->owner = strdup(sender);
        if (!j->operation || !j->object || (sender && !j->owner)) {
                job_free(j);
                return -ENOMEM;
        }
        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                (void) sd_bus_creds_get_euid(creds, &j->uid);

        r = sd_bus_add_object_vtable(m->bus, &j->slot, j->path, TP_BUS_INTERFACE_JOB, job_vtable, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        if (j->owner) {
                if (asprintf(&match,
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'",
                             j->owner) < 0) {
                        job_free(j);
                        return -ENOMEM;
                }
                r = sd_bus_add_match_async(m->bus, &j->match_slot, match, job_on_owner_gone, NULL, j);
                if (r < 0) {
                        job_free(j);
                        return r;
                }
        }
        r = sd_bus_emit_object_added(m->bus, j->path);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesAdded for %s, ignoring: %m", j->path);

        log_debug("Job %" PRIu64 " (%s) started for %s.", j->id, operation, strna(j->owner));
        *ret = j;
        return 0;
}

void job_set_cancel(Job *j, JobCancel cancel, void *userdata, const char *action) {
        j->cancel = cancel;
        j->cancel_userdata = userdata;
        j->action = action;
}

void job_set_progress(Job *j, double progress) {
        int r;

        if (progress < 0)
                progress = 0;
        if (progress > 1)
                progress = 1;
        if (progress <= j->progress)
                return;
        j->progress = progress;
        r = sd_bus_emit_properties_changed(j->manager->bus, j->path, TP_BUS_INTERFACE_JOB, "Progress", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s, ignoring: %m", j->path);
}

static int job_on_expire(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        log_debug("Job %" PRIu64 " expired.", j->id);
        job_free(j);
        return 0;
}

static int job_finish(Job *j) {
        int r;

        if (j->state == JOB_DONE)
                job_set_progress(j, 1.0);
        r = sd_bus_emit_properties_changed(j->manager->bus, j->path, TP_BUS_INTERFACE_JOB, "State", "Result",
                                           "ErrorName", "ErrorMessage", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s, ignoring: %m", j->path);
        r = sd_bus_emit_signal(j->manager->bus, j->path, TP_BUS_INTERFACE_JOB, "Completed", "iss", j->result,
                               strempty(j->error_name), strempty(j->error_message));
        if (r < 0)
                log_debug_errno(r, "Failed to emit Completed for %s, ignoring: %m", j->path);

        if (j->orphaned && j->secret) {
                job_free(j);
                return 0;
        }
        r = sd_event_add_time_relative(j->manager->event, &j->expire, CLOCK_MONOTONIC, JOB_LINGER_USEC, 0,
                                       job_on_expire, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        return 0;
}

int job_new_result(Job *j, sd_bus_message **ret) {
        return sd_bus_message_new_signal(j->manager->bus, ret, j->path, TP_BUS_INTERFACE_JOB, "Result");
}

int job_complete(Job *j, sd_bus_message *result, bool secret) {
        int r;

        assert(j->state == JOB_RUNNING);
        if (secret) {
                r = sd_bus_message_sensitive(result);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_message_seal(result, j->id, 0);
        if (r < 0)
                goto fail;
        j->result_message = sd_bus_message_ref(result);
        j->secret = secret;
        j->state = JOB_DONE;
        return job_finish(j);

fail:
        j->state = JOB_FAILED;
        j->result = r;
        j->error_name = strdup(SD_BUS_ERROR_FAILED);
        j->error_message = strdup("Failed to store the result.");
        (void) job_finish(j);
        return r;
}

int job_fail(Job *j, int r, const sd_bus_error *error) {
        assert(j->state == JOB_RUNNING);
        j->state = JOB_FAILED;
        j->result = r < 0 ? r : -EIO;
        j->error_name = strdup(error && error->name ? error->name : SD_BUS_ERROR_FAILED);
        j->error_message = strdup(error && error->message ? error->message : strerror(-j->result));
        if (!j->error_name || !j->error_message)
                log_debug("Out of memory.");
        return job_finish(j);
}
