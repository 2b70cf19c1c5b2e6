/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Test helper: connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS), asks for one well-known name and
 * answers calls until its stdin closes. Prints "owned" once the name is ours; on failure prints the
 * bus error and exits 1. Calls to our interfaces are answered with UnknownMethod by sd-bus, which is
 * enough to tell "delivered" from the bus's AccessDenied. */

#include <poll.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s NAME\n", argv[0]);
                return 2;
        }

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "connect: %s\n", strerror(-r));
                return 1;
        }

        /* Call RequestName by hand to report the bus's own error name. */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "RequestName", &error, &reply, "su", argv[1], 4u /* DO_NOT_QUEUE */);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", error.name ?: "error", error.message ?: strerror(-r));
                return 1;
        }
        uint32_t ret;
        r = sd_bus_message_read(reply, "u", &ret);
        if (r < 0 || ret != 1 /* PRIMARY_OWNER */) {
                fprintf(stderr, "RequestName returned %u\n", r < 0 ? 0 : ret);
                return 1;
        }
        printf("owned\n");
        fflush(stdout);

        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 1;
                if (r > 0)
                        continue;
                struct pollfd p[2] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = STDIN_FILENO, .events = POLLIN },
                };
                if (poll(p, 2, -1) < 0)
                        return 1;
                if (p[1].revents)
                        return 0;
        }
}
