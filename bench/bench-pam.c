/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The PAM account check against its anchors, on trusted-platformd (bench/run-pam starts it on swtpm and
 * a private system bus, trusted under a learned policy):
 *
 *   ping        org.freedesktop.DBus.Peer.Ping to the daemon on an open connection (the bus's floor)
 *   get         Properties.Get(Manager, TrustState) on an open connection (what a desktop client asks)
 *   getall      Properties.GetAll of the Manager on an open connection (what the module asks)
 *   ping-fresh  connect + Hello + Ping + close (the module opens a connection per check)
 *   query       pam_trust_query(): connect + Hello + GetAll + parse + close
 *   pam         the whole account check through libpamtest (pam_start, pam_acct_mgmt loading
 *               pam_trusted_platform.so, pam_end), service PAM_SERVICE from PAM_WRAPPER_SERVICE_DIR
 *
 * The calls are interleaved, in a new random order every round, so that drift and cache effects hit
 * every row alike. Prints "name median_us" per row.
 * usage: bench-pam N SERVICE */

#include <stdio.h>
#include <string.h>
#include <libpamtest.h>
#include <systemd/sd-bus.h>

#include "bench-util.h"
#include "pam/pam-trust.h"

#define BUS_NAME "org.trustedplatform.TrustedPlatform1"
#define BUS_PATH "/org/trustedplatform/TrustedPlatform1"

enum { ROW_PING, ROW_GET, ROW_GETALL, ROW_PING_FRESH, ROW_QUERY, ROW_PAM, _ROW_MAX };
static const char *const row_names[_ROW_MAX] = { "ping", "get", "getall", "ping-fresh", "query", "pam" };

static int ping(sd_bus *bus) {
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL,
                                   &reply, "");
        sd_bus_message_unref(reply);
        return r;
}

static int get_trust_state(sd_bus *bus) {
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "Get", NULL,
                                   &reply, "ss", BUS_NAME ".Manager", "TrustState");
        sd_bus_message_unref(reply);
        return r;
}

static int getall(sd_bus *bus) {
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                                   NULL, &reply, "s", BUS_NAME ".Manager");
        sd_bus_message_unref(reply);
        return r;
}

static int ping_fresh(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = ping(bus);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int query(void) {
        PamTrustStatus s = {};
        int r = pam_trust_query(2000 * 1000, &s);
        pam_trust_status_done(&s);
        return r;
}

static int pam(const char *service) {
        struct pam_testcase tests[] = {
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
        };
        struct pamtest_conv_data conv = {};

        return run_pamtest(service, "root", &conv, tests, NULL) == PAMTEST_ERR_OK ? 0 : -EPERM;
}

/* xorshift64: a fixed seed, so that every run times the same orders. */
static uint64_t next_random(uint64_t *state) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

int main(int argc, char *argv[]) {
        uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
        sd_bus *bus = NULL;
        uint64_t *t[_ROW_MAX] = {};
        size_t n;
        int r = 0;

        if (argc < 3 || (n = strtoul(argv[1], NULL, 10)) < 1 || n > 1000000) {
                fprintf(stderr, "usage: bench-pam N SERVICE\n");
                return 2;
        }
        if (sd_bus_open_system(&bus) < 0)
                return 1;
        for (int k = 0; k < _ROW_MAX; k++)
                if (!(t[k] = calloc(n, sizeof(uint64_t))))
                        return 1;

        /* Warm up: load the module and the NSS modules once. */
        if (pam(argv[2]) < 0 || query() < 0) {
                fprintf(stderr, "bench-pam: the account check or the query does not succeed\n");
                return 1;
        }

        for (size_t i = 0; i < n && r >= 0; i++) {
                int order[_ROW_MAX];

                /* A new random order in every round: the row after the PAM check starts with colder caches,
                 * and a fixed rotation would put the same row there almost every time. */
                for (int j = 0; j < _ROW_MAX; j++)
                        order[j] = j;
                for (int j = _ROW_MAX - 1; j > 0; j--) {
                        int x = (int) (next_random(&seed) % (uint64_t) (j + 1)), tmp = order[j];
                        order[j] = order[x];
                        order[x] = tmp;
                }

                for (int j = 0; j < _ROW_MAX && r >= 0; j++) {
                        int k = order[j];
                        uint64_t a = now_ns();
                        switch (k) {
                        case ROW_PING:
                                r = ping(bus);
                                break;
                        case ROW_GET:
                                r = get_trust_state(bus);
                                break;
                        case ROW_GETALL:
                                r = getall(bus);
                                break;
                        case ROW_PING_FRESH:
                                r = ping_fresh();
                                break;
                        case ROW_QUERY:
                                r = query();
                                break;
                        case ROW_PAM:
                                r = pam(argv[2]);
                                break;
                        }
                        t[k][i] = now_ns() - a;
                }
        }
        if (r < 0) {
                fprintf(stderr, "bench-pam: a call failed: %s\n", strerror(-r));
                return 1;
        }

        for (int k = 0; k < _ROW_MAX; k++) {
                printf("%s %.1f\n", row_names[k], median_us(t[k], n));
                free(t[k]);
        }
        sd_bus_flush_close_unref(bus);
        return 0;
}
