/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* trusted-platformd: the system service. Thin entry point: arguments, logging, then run() owns the
 * Manager for the life of the process. */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "daemon/manager-bus.h"
#include "daemon/attestation.h"
#include "daemon/manager.h"
#include "shared/bus-error.h"

static int help(void) {
        printf("%s [OPTIONS...]\n\n"
               "The Trusted Platform system service: owns %s on the system bus.\n\n"
               "  -h --help      Show this help\n"
               "     --version  Show package version\n\n"
               "See the trusted-platformd(8) man page for details.\n",
               program_invocation_short_name, TP_BUS_NAME);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("trusted-platformd %s\n", PROJECT_VERSION);
                        return 0;
                case '?':
                        return -EINVAL;
                default:
                        assert(false);
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", program_invocation_short_name);

        return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, exiting.", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return sd_event_exit(m->event, 0);
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        log_parse_environment();

        /* tpm2-tss prints its own ERROR lines to stderr for every failed command; we map and log those
         * errors ourselves (decoded at debug level), so keep the journal free of them unless the
         * administrator asked for TSS logging explicitly. */
        if (setenv("TSS2_LOG", "all+none", /* overwrite= */ 0) < 0)
                return log_error_errno(errno, "Failed to set $TSS2_LOG: %m");

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        /* Files we create hold keys and pins: nobody else reads them, whatever the unit says. */
        umask(0077);

        if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGTERM) < 0 || sigaddset(&mask, SIGINT) < 0 ||
            sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = bus_error_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error names: %m");

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager: %m");

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM: %m");
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGINT: %m");

        r = manager_startup(m);
        if (r < 0)
                return r;

        r = manager_connect_bus(m);
        if (r < 0)
                return r;

        r = manager_attestation_start(m);
        if (r < 0)
                return r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", manager_tpm_present(m) ? "Serving the TPM." : "Running without a TPM.");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
