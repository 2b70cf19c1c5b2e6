/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* CVE-2021-3560-style race client (ATTACKS b-8): sends TPM.Provision(a{sv} {}) with the
 * allow-interactive-authorization flag and closes its connection after a random delay between 0 and twice
 * the measured handling time, so that the daemon's polkit check (and polkit's own lookup of the caller)
 * runs while the caller is disconnecting or already gone. Meant to run as an unprivileged user, who is
 * never authorized: any successful reply is a failure, and the test checks the TPM and the state directory
 * for side effects afterwards.
 *
 * Usage: race-client CALLS BUDGET_SECONDS
 * Prints key=value lines: median_ns, calls (how many were made within the budget), replies, succeeded,
 * and one error=<name> count per error name seen. Exit status 0, or 2 if any call succeeded, 1 on a
 * setup failure.
 *
 * race-client --once: one Provision({}) call, waiting for the answer. Prints "ok" or "error NAME MESSAGE"
 * (busctl does not print error names, and dbus-send cannot build a{sv}). Exit status 0 or 3. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define NAME "org.trustedplatform.TrustedPlatform1"
#define PATH "/org/trustedplatform/TrustedPlatform1"
#define INTERFACE NAME ".TPM"
#define N_MEASURE 21
#define MAX_ERROR_NAMES 16

typedef struct Stats {
        unsigned long calls, replies, succeeded;
        struct {
                char *name;
                unsigned long count;
        } errors[MAX_ERROR_NAMES];
        unsigned long other_errors;
} Stats;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static void count_error(Stats *s, const char *name) {
        for (size_t i = 0; i < MAX_ERROR_NAMES; i++) {
                if (!s->errors[i].name) {
                        s->errors[i].name = strdup(name);
                        if (!s->errors[i].name)
                                break;
                }
                if (strcmp(s->errors[i].name, name) == 0) {
                        s->errors[i].count++;
                        return;
                }
        }
        s->other_errors++;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Stats *s = userdata;
        const sd_bus_error *e;

        s->replies++;
        e = sd_bus_message_get_error(reply);
        if (e)
                count_error(s, e->name);
        else
                s->succeeded++;
        return 0;
}

static int new_provision_call(sd_bus *bus, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, NAME, PATH, INTERFACE, "Provision");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, 1);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Full calls on one connection: the median round trip of a refused Provision(). */
static int measure(Stats *s, uint64_t *ret_median) {
        uint64_t samples[N_MEASURE];
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;

        for (size_t i = 0; i < N_MEASURE; i++) {
                sd_bus_message *m = NULL, *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                uint64_t t;

                r = new_provision_call(bus, &m);
                if (r < 0)
                        break;
                t = now_ns();
                r = sd_bus_call(bus, m, 30 * 1000000ULL, &error, &reply);
                samples[i] = now_ns() - t;
                sd_bus_message_unref(m);
                if (r >= 0) {
                        s->replies++;
                        s->succeeded++;
                        sd_bus_message_unref(reply);
                } else if (sd_bus_error_is_set(&error)) {
                        s->replies++;
                        count_error(s, error.name);
                } else {
                        sd_bus_error_free(&error);
                        break;
                }
                sd_bus_error_free(&error);
                r = 0;
        }
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return r;

        qsort(samples, N_MEASURE, sizeof(uint64_t), cmp_u64);
        *ret_median = samples[N_MEASURE / 2];
        return 0;
}

static int race_once(Stats *s, uint64_t max_delay_ns) {
        sd_bus_message *m = NULL;
        sd_bus *bus = NULL;
        uint64_t delay;
        struct timespec ts;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;

        r = new_provision_call(bus, &m);
        if (r < 0)
                goto finish;

        r = sd_bus_call_async(bus, NULL, m, on_reply, s, 0);
        if (r < 0)
                goto finish;

        /* Waits for Hello and writes the call out: from here on the daemon has it. */
        r = sd_bus_flush(bus);
        if (r < 0)
                goto finish;
        s->calls++;

        delay = max_delay_ns > 0 ? (uint64_t) random() % (max_delay_ns + 1) : 0;
        ts.tv_sec = (time_t) (delay / 1000000000ULL);
        ts.tv_nsec = (long) (delay % 1000000000ULL);
        (void) nanosleep(&ts, NULL);

        /* Count whatever answer arrived before we hang up. */
        while ((r = sd_bus_process(bus, NULL)) > 0)
                ;
        if (r < 0)
                goto finish;
        r = 0;

finish:
        sd_bus_message_unref(m);
        /* Close without flushing: the point is to be gone before the answer. */
        sd_bus_close(bus);
        sd_bus_unref(bus);
        return r;
}

static int call_once(void) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        r = new_provision_call(bus, &m);
        if (r >= 0)
                r = sd_bus_call(bus, m, 60 * 1000000ULL, &error, &reply);
        if (r >= 0)
                printf("ok\n");
        else if (sd_bus_error_is_set(&error))
                printf("error %s %s\n", error.name, error.message ?: "");
        else
                fprintf(stderr, "Failed to call Provision: %s\n", strerror(-r));

        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return r >= 0 ? 0 : 3;
}

int main(int argc, char *argv[]) {
        Stats s = {};
        unsigned long n_calls;
        double budget;
        uint64_t median = 0, end;
        unsigned seed;
        int r;

        if (argc == 2 && strcmp(argv[1], "--once") == 0)
                return call_once();

        if (argc != 3) {
                fprintf(stderr, "Usage: %s CALLS BUDGET_SECONDS\n", argv[0]);
                return 1;
        }
        n_calls = strtoul(argv[1], NULL, 10);
        budget = strtod(argv[2], NULL);

        seed = (unsigned) (now_ns() ^ (uint64_t) getpid());
        srandom(seed);
        printf("seed=%u\n", seed);

        r = measure(&s, &median);
        if (r < 0) {
                fprintf(stderr, "Failed to measure the handling time: %s\n", strerror(-r));
                return 1;
        }
        printf("median_ns=%llu\n", (unsigned long long) median);

        end = now_ns() + (uint64_t) (budget * 1e9);
        for (unsigned long i = 0; i < n_calls && now_ns() < end; i++) {
                r = race_once(&s, 2 * median);
                if (r < 0) {
                        fprintf(stderr, "Call %lu failed: %s\n", i, strerror(-r));
                        return 1;
                }
        }

        printf("calls=%lu\nreplies=%lu\nsucceeded=%lu\n", s.calls, s.replies, s.succeeded);
        for (size_t i = 0; i < MAX_ERROR_NAMES && s.errors[i].name; i++)
                printf("error=%s %lu\n", s.errors[i].name, s.errors[i].count);
        if (s.other_errors > 0)
                printf("error=other %lu\n", s.other_errors);
        for (size_t i = 0; i < MAX_ERROR_NAMES; i++)
                free(s.errors[i].name);

        return s.succeeded > 0 ? 2 : 0;
}
