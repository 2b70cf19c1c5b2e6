/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A stand-in for trusted-platformd's Manager trust properties, for the PAM tests (the daemon's local
 * attestation does not set them from a test yet). Owns org.trustedplatform.TrustedPlatform1 on
 * $DBUS_SYSTEM_BUS_ADDRESS and prints "READY" once it does; SIGTERM stops it.
 *
 *   trust-service serve STATE AGE [REASON...]   AGE: seconds since the last attestation, "never"
 *                                               (LastAttestation 0) or "future" (now + 1 h)
 *   trust-service hang                          owns the name, never answers a Properties call
 *   trust-service garbage                       the three properties with the wrong types
 *   trust-service partial                       TrustState only */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define PATH "/org/trustedplatform/TrustedPlatform1"
#define IFACE "org.trustedplatform.TrustedPlatform1.Manager"

static const char *arg_state = "trusted";
static char **arg_reasons = NULL;
static uint64_t arg_last = 0;

static int get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", arg_state);
}

static int get_reasons(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_strv(reply, arg_reasons);
}

static int get_garbage_u(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", 1);
}

static int get_garbage_s(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "garbage");
}

static const sd_bus_vtable serve_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("TrustState", "s", get_state, 0, 0),
        SD_BUS_PROPERTY("TrustReasons", "as", get_reasons, 0, 0),
        SD_BUS_PROPERTY("LastAttestation", "t", NULL, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable garbage_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("TrustState", "u", get_garbage_u, 0, 0),
        SD_BUS_PROPERTY("TrustReasons", "s", get_garbage_s, 0, 0),
        SD_BUS_PROPERTY("LastAttestation", "s", get_garbage_s, 0, 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable partial_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("TrustState", "s", get_state, 0, 0),
        SD_BUS_VTABLE_END,
};

/* Swallows every call to the object: the caller waits for its own timeout. */
static int swallow(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return 1;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int fail(const char *what, int r) {
        fprintf(stderr, "trust-service: %s: %s\n", what, strerror(-r));
        return EXIT_FAILURE;
}

int main(int argc, char *argv[]) {
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        const char *mode;
        sigset_t ss;
        int r;

        if (argc < 2) {
                fprintf(stderr,
                        "usage: trust-service serve STATE AGE [REASON...] | hang | garbage | partial\n");
                return EXIT_FAILURE;
        }
        mode = argv[1];

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);

        r = sd_event_default(&event);
        if (r < 0)
                return fail("event loop", r);
        (void) sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return fail("system bus", r);

        if (strcmp(mode, "serve") == 0) {
                if (argc < 4) {
                        fprintf(stderr, "trust-service: serve needs STATE and AGE\n");
                        return EXIT_FAILURE;
                }
                arg_state = argv[2];
                if (strcmp(argv[3], "never") == 0)
                        arg_last = 0;
                else if (strcmp(argv[3], "future") == 0)
                        arg_last = now_usec() + UINT64_C(3600) * 1000000;
                else
                        arg_last = now_usec() - strtoull(argv[3], NULL, 10) * 1000000;
                arg_reasons = argv + 4;
                r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, serve_vtable, &arg_last);
        } else if (strcmp(mode, "hang") == 0)
                r = sd_bus_add_object(bus, NULL, PATH, swallow, NULL);
        else if (strcmp(mode, "garbage") == 0)
                r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, garbage_vtable, NULL);
        else if (strcmp(mode, "partial") == 0)
                r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, partial_vtable, NULL);
        else {
                fprintf(stderr, "trust-service: unknown mode '%s'\n", mode);
                return EXIT_FAILURE;
        }
        if (r < 0)
                return fail("object", r);

        r = sd_bus_request_name(bus, "org.trustedplatform.TrustedPlatform1", 0);
        if (r < 0)
                return fail("request name", r);
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                return fail("attach", r);

        printf("READY\n");
        fflush(stdout);

        r = sd_event_loop(event);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? fail("event loop", r) : EXIT_SUCCESS;
}
