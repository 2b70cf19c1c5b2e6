/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous polkit authorization for sd-bus method handlers.
 *
 * Usage in a handler (which must have no side effects before this returns 1):
 *
 *         r = bus_verify_polkit_async(m, "org.trustedplatform.tpm.provision", NULL, &manager->polkit, error);
 *         if (r < 0)
 *                 return r;       (error is set: AccessDenied or InteractiveAuthorizationRequired)
 *         if (r == 0)
 *                 return 1;       (asked polkit; we will be called again with this message)
 *         ... authorized: do it and reply ...
 *
 * How: the first call sends CheckAuthorization to org.freedesktop.PolicyKit1 and returns 0. When the
 * answer arrives, the original message is put back into the connection's read queue
 * (sd_bus_enqueue_for_read()), so the same handler runs again with the same message, and this time
 * bus_verify_polkit_async() returns the remembered verdict. A handler should verify one action per
 * message; asking again for the same message with a different action or details gives -ESTALE.
 *
 * The subject is always ("system-bus-name", {"name": <sender's unique name>}), never a pid: polkit
 * resolves the name itself, which avoids the pid-reuse races of "unix-process" subjects. A message
 * without a sender (direct connection) is refused unless the peer is root.
 * AllowUserInteraction is set iff the message carries the allow-interactive-authorization flag; a
 * polkit "challenge" answer for a message without it becomes
 * org.freedesktop.DBus.Error.InteractiveAuthorizationRequired.
 * Callers whose effective uid is 0 are authorized without asking polkit. The uid is taken from
 * sd_bus_query_sender_creds(SD_BUS_CREDS_EUID) and only trusted when it did not come from /proc
 * (not in the augmented mask), so it cannot be raced.
 * If polkit is not running or returns an error, the call is denied (AccessDenied).
 *
 * The registry owns every pending query (a reference to the message and the pending call's slot).
 * polkit_registry_free() cancels them: answers arriving later are dropped and never touch freed
 * memory, and the messages are never dispatched again. Free the registry before the bus connection.
 * An answered query whose handler never runs again (its object was removed meanwhile) stays in the
 * registry until the registry is freed. */

#include <systemd/sd-bus.h>

#include "basic/macro.h"

typedef struct PolkitRegistry PolkitRegistry;

/* details: NULL, or a NULL-terminated list of key, value, key, value, ..., NULL passed to polkit.
 * *registry may be NULL: it is allocated on first use.
 * Returns 1 = authorized, 0 = query pending (return 1 from the handler now), < 0 = refused or failed
 * with error set (-EACCES for a denial, -ENOMEM, ...). */
int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char **details,
                            PolkitRegistry **registry, sd_bus_error *error);

/* Cancels all pending queries and frees the registry. Accepts NULL. Returns NULL. */
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);

/* Number of queries the registry holds (pending or answered but not yet collected). For tests. */
size_t polkit_registry_size(PolkitRegistry *r);
