/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One account check through a real PAM stack: pam_start_confdir(SERVICE, USER) with the service file
 * in CONFDIR, pam_acct_mgmt(), pam_end(). Prints what a user and an administrator would see:
 *
 *   error: <PAM_ERROR_MSG text>
 *   info: <PAM_TEXT_INFO text>
 *   syslog <priority>: <line>       (libpam's syslog calls, interposed below)
 *   result: <PAM code name>
 *
 * With "fds N", runs N checks and prints the number of open descriptors before and after.
 * and exits 0 (the PAM result is in the output). With a count N (bench), runs the check N times and
 * prints the median and each run's time in microseconds instead. */

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <security/pam_appl.h>

static int quiet;

#define EXPORT __attribute__((visibility("default")))

/* libpam logs through syslog(); an executable's definitions come first in symbol lookup, so these
 * catch the module's pam_syslog() lines (libpam calls __syslog_chk when built with fortify). */
EXPORT void vsyslog(int priority, const char *fmt, va_list ap) {
        if (quiet)
                return;
        printf("syslog %d: ", LOG_PRI(priority));
        vprintf(fmt, ap);
        printf("\n");
}

EXPORT void syslog(int priority, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsyslog(priority, fmt, ap);
        va_end(ap);
}

EXPORT void __syslog_chk(int priority, int flag, const char *fmt, ...);
EXPORT void __syslog_chk(int priority, int flag, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsyslog(priority, fmt, ap);
        va_end(ap);
}

EXPORT void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap);
EXPORT void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap) {
        vsyslog(priority, fmt, ap);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct pam_response *r = calloc((size_t) n, sizeof(struct pam_response));

        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                if (quiet)
                        continue;
                switch (msg[i]->msg_style) {
                case PAM_ERROR_MSG:
                        printf("error: %s\n", msg[i]->msg);
                        break;
                case PAM_TEXT_INFO:
                        printf("info: %s\n", msg[i]->msg);
                        break;
                default:
                        printf("prompt: %s\n", msg[i]->msg);
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static const char *pam_code_name(int r) {
        switch (r) {
        case PAM_SUCCESS:
                return "PAM_SUCCESS";
        case PAM_PERM_DENIED:
                return "PAM_PERM_DENIED";
        case PAM_USER_UNKNOWN:
                return "PAM_USER_UNKNOWN";
        case PAM_BUF_ERR:
                return "PAM_BUF_ERR";
        case PAM_AUTH_ERR:
                return "PAM_AUTH_ERR";
        case PAM_SYSTEM_ERR:
                return "PAM_SYSTEM_ERR";
        case PAM_OPEN_ERR:
                return "PAM_OPEN_ERR";
        case PAM_SYMBOL_ERR:
                return "PAM_SYMBOL_ERR";
        case PAM_SERVICE_ERR:
                return "PAM_SERVICE_ERR";
        case PAM_IGNORE:
                return "PAM_IGNORE";
        default:
                return "PAM_OTHER";
        }
}

static int check(const char *confdir, const char *service, const char *user, int flags) {
        const struct pam_conv c = { conv, NULL };
        pam_handle_t *pamh = NULL;
        int r;

        r = pam_start_confdir(service, user, &c, confdir, &pamh);
        if (r != PAM_SUCCESS) {
                fprintf(stderr, "pam_start_confdir: %s\n", pam_strerror(NULL, r));
                return -1;
        }
        r = pam_acct_mgmt(pamh, flags);
        pam_end(pamh, r);
        return r;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        if (!d)
                return -1;
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        const char *user;
        int flags = 0, r;

        if (argc < 4) {
                fprintf(stderr, "usage: pam-check CONFDIR SERVICE USER|'' [silent|bench N]\n");
                return 2;
        }
        user = argv[3][0] ? argv[3] : NULL;

        if (argc >= 6 && strcmp(argv[4], "bench") == 0) {
                int n = atoi(argv[5]);
                uint64_t *t = calloc((size_t) (n > 0 ? n : 1), sizeof(uint64_t));

                if (n <= 0 || !t)
                        return 2;
                quiet = 1;
                for (int i = 0; i < n; i++) {
                        uint64_t a = now_usec();
                        if (check(argv[1], argv[2], user, PAM_SILENT) != PAM_SUCCESS) {
                                fprintf(stderr, "pam-check: run %d did not succeed\n", i);
                                return 1;
                        }
                        t[i] = now_usec() - a;
                }
                qsort(t, (size_t) n, sizeof(uint64_t), cmp_u64);
                printf("%" PRIu64 "\n", t[n / 2]);
                free(t);
                return 0;
        }

        /* "fds N": N checks in this process; the open descriptors before and after must match, since
         * the module closes its bus connection before returning. */
        if (argc >= 6 && strcmp(argv[4], "fds") == 0) {
                int n = atoi(argv[5]), before, after;

                quiet = 1;
                (void) check(argv[1], argv[2], user, PAM_SILENT); /* NSS and libpam open theirs once */
                before = count_fds();
                for (int i = 0; i < n; i++)
                        if (check(argv[1], argv[2], user, PAM_SILENT) != PAM_SUCCESS)
                                return 1;
                after = count_fds();
                printf("fds: %d %d\n", before, after);
                return 0;
        }

        if (argc >= 5 && strcmp(argv[4], "silent") == 0)
                flags = PAM_SILENT;

        r = check(argv[1], argv[2], user, flags);
        if (r < 0)
                return 1;
        printf("result: %s\n", pam_code_name(r));
        return 0;
}
