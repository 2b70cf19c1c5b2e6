/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/bus-polkit.h"

#define POLKIT_SERVICE "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1U

typedef struct PolkitQuery PolkitQuery;

struct PolkitQuery {
        PolkitRegistry *registry;
        PolkitQuery *next;

        sd_bus_message *request; /* the caller's message; the key of this entry */
        sd_bus_slot *slot;       /* the pending CheckAuthorization, NULL once answered */
        char *action;
        char **details;

        bool answered;
        int verdict;             /* 1 authorized, < 0 refused (with error) */
        sd_bus_error error;
};

struct PolkitRegistry {
        PolkitQuery *queries;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        /* Unreferencing the slot cancels the reply callback: a late answer is dropped by sd-bus. */
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->action);
        strv_free(q->details);
        return mfree(q);
}

static void registry_unlink(PolkitRegistry *r, PolkitQuery *q) {
        for (PolkitQuery **p = &r->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        q->next = NULL;
                        return;
                }
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        while (r->queries) {
                PolkitQuery *q = r->queries;
                r->queries = q->next;
                polkit_query_free(q);
        }
        return mfree(r);
}

size_t polkit_registry_size(PolkitRegistry *r) {
        size_t n = 0;

        if (r)
                for (PolkitQuery *q = r->queries; q; q = q->next)
                        n++;
        return n;
}

static PolkitQuery *registry_find(PolkitRegistry *r, sd_bus_message *m) {
        if (r)
                for (PolkitQuery *q = r->queries; q; q = q->next)
                        if (q->request == m)
                                return q;
        return NULL;
}

static bool details_equal(char **a, const char **b) {
        size_t i = 0;

        for (; a && a[i]; i++)
                if (!b || !b[i] || !streq(a[i], b[i]))
                        return false;
        return !b || !b[i];
}

static int check_authorization_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        assert(q);

        q->slot = sd_bus_slot_unref(q->slot);
        q->answered = true;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_debug("polkit CheckAuthorization for '%s' failed: %s: %s", q->action, e->name,
                          strna(e->message));
                q->verdict = sd_bus_error_set(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                              "Authorization check failed: polkit is not available.");
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_debug_errno(r, "Malformed answer from polkit: %m");
                        q->verdict = sd_bus_error_set(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                                      "Authorization check failed: bad answer from polkit.");
                } else if (authorized)
                        q->verdict = 1;
                else if (challenge)
                        q->verdict = sd_bus_error_set(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                      "Interactive authentication required.");
                else
                        q->verdict = sd_bus_error_set(&q->error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied.");
        }
        if (q->verdict == 0) /* sd_bus_error_set() returns the errno: never treat a failure as success */
                q->verdict = -EACCES;

        log_debug("polkit answered for '%s' from %s: %s", q->action,
                  strna(sd_bus_message_get_sender(q->request)), q->verdict > 0 ? "authorized" : "refused");

        /* Dispatch the original message again; the handler then collects the verdict. */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                PolkitRegistry *reg = q->registry;

                log_debug_errno(r, "Failed to requeue message after polkit answered: %m");
                (void) sd_bus_reply_method_errno(q->request, r, NULL);
                registry_unlink(reg, q);
                polkit_query_free(q);
        }
        return 1;
}

static int append_subject_and_details(sd_bus_message *m, const char *sender, const char *action,
                                      const char **details) {
        int r;

        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char **k = details; k && *k; k += 2) {
                if (!k[1])
                        return -EINVAL;
                r = sd_bus_message_append(m, "{ss}", k[0], k[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* Root is let through without asking polkit, but only on a uid that sd-bus did not read from /proc. */
static int sender_is_root(sd_bus_message *call) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return 0;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r == -ENODATA ? 0 : r;
        return euid == 0;
}

int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char **details,
                            PolkitRegistry **registry, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pk = NULL;
        PolkitQuery *q;
        const char *sender;
        unsigned flags = 0;
        int r;

        assert(call);
        assert(action);
        assert(registry);

        q = registry_find(*registry, call);
        if (q) {
                if (!q->answered)
                        return 0; /* dispatched again before the answer (should not happen); keep waiting */

                registry_unlink(*registry, q);
                if (!streq(q->action, action) || !details_equal(q->details, details)) {
                        polkit_query_free(q);
                        return sd_bus_error_set_errnof(error, ESTALE,
                                                       "Authorization was asked for a different action.");
                }

                r = q->verdict;
                if (r < 0)
                        sd_bus_error_move(error, &q->error);
                polkit_query_free(q);
                return r;
        }

        r = sender_is_root(call);
        if (r < 0)
                log_debug_errno(r, "Failed to get caller credentials, asking polkit: %m");
        if (r > 0)
                return 1;

        sender = sd_bus_message_get_sender(call);
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Access denied: caller has no bus name to authorize.");

        if (sd_bus_message_get_allow_interactive_authorization(call) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        if (!*registry) {
                *registry = calloc(1, sizeof(PolkitRegistry));
                if (!*registry)
                        return -ENOMEM;
        }

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->registry = *registry;
        q->error = SD_BUS_ERROR_NULL;
        q->action = strdup(action);
        if (!q->action)
                goto oom;
        for (const char **k = details; k && *k; k++)
                if (strv_extend(&q->details, *k) < 0)
                        goto oom;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &pk, POLKIT_SERVICE, POLKIT_PATH,
                                           POLKIT_INTERFACE, "CheckAuthorization");
        if (r < 0)
                goto fail;
        r = append_subject_and_details(pk, sender, action, details);
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(pk, "us", flags, "");
        if (r < 0)
                goto fail;

        /* Interactive authentication may take as long as the user needs. */
        r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, pk, check_authorization_reply, q,
                              flags & POLKIT_ALLOW_USER_INTERACTION ? UINT64_MAX : 0);
        if (r < 0)
                goto fail;

        q->request = sd_bus_message_ref(call);
        q->next = (*registry)->queries;
        (*registry)->queries = q;

        log_debug("Asked polkit whether %s may do '%s'%s.", sender, action,
                  flags & POLKIT_ALLOW_USER_INTERACTION ? " (interactive)" : "");
        return 0;

oom:
        r = -ENOMEM;
fail:
        polkit_query_free(q);
        return sd_bus_error_set_errnof(error, -r, "Failed to ask polkit: %m");
}
