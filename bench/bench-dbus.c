/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Round trips to trusted-platformd against the bus's own floor: org.freedesktop.DBus.Peer.Ping answered
 * by the daemon's sd-bus without touching our code. The three calls are interleaved so that drift on the
 * machine hits every row alike. Prints one row per figure: name, median µs, anchor median µs, ratio. */

#include <stdio.h>
#include <time.h>
#include <systemd/sd-bus.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bench-util.h"

#define BUS_NAME "org.trustedplatform.TrustedPlatform1"
#define BUS_PATH "/org/trustedplatform/TrustedPlatform1"

static int call_ping(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        return sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL, &reply,
                                  "");
}

static int call_get_version(sd_bus *bus) {
        _cleanup_free_ char *v = NULL;
        return sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_NAME ".Manager", "Version", NULL, &v);
}

static int call_get_random(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *p;
        size_t n;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_NAME ".TPM", "GetRandom", NULL, &reply, "u", 32);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(reply, 'y', &p, &n);
        if (r < 0)
                return r;
        return n == 32 ? 0 : -EBADMSG;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ uint64_t *ping = NULL, *version = NULL, *random = NULL;
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
        int r;

        if (n < 1 || n > 10000000)
                return log_error_errno(EINVAL, "Bad iteration count."), 2;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m"), 1;

        ping = calloc(n, sizeof(uint64_t));
        version = calloc(n, sizeof(uint64_t));
        random = calloc(n, sizeof(uint64_t));
        if (!ping || !version || !random)
                return log_oom(), 1;

        /* Warm up caches and the daemon's TPM connection. */
        for (size_t i = 0; i < 100; i++)
                if (call_ping(bus) < 0 || call_get_version(bus) < 0 || call_get_random(bus) < 0)
                        return log_error("Warm-up call failed; is trusted-platformd running?"), 1;

        for (size_t i = 0; i < n; i++) {
                uint64_t t0 = now_ns();
                r = call_ping(bus);
                uint64_t t1 = now_ns();
                if (r >= 0)
                        r = call_get_version(bus);
                uint64_t t2 = now_ns();
                if (r >= 0)
                        r = call_get_random(bus);
                uint64_t t3 = now_ns();
                if (r < 0)
                        return log_error_errno(r, "Call failed: %m"), 1;
                ping[i] = t1 - t0;
                version[i] = t2 - t1;
                random[i] = t3 - t2;
        }

        double p = median_us(ping, n), v = median_us(version, n), g = median_us(random, n);
        printf("dbus-get-version\t%.1f\tPeer.Ping\t%.1f\t%.2f\n", v, p, v / p);
        printf("dbus-tpm-getrandom-32\t%.1f\tPeer.Ping\t%.1f\t%.2f\n", g, p, g / p);
        return 0;
}
