/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "basic/log.h"
#include "tpctl/tpctl-agent.h"

#ifndef PKTTYAGENT_PATH
#define PKTTYAGENT_PATH "/usr/bin/pkttyagent"
#endif

/* Registration takes a few D-Bus round trips; do not hang forever if polkitd does not answer. */
#define AGENT_REGISTER_TIMEOUT_MSEC 10000

static pid_t agent_pid = 0;

int polkit_agent_open(void) {
        int notify[2], r;
        pid_t parent, pid;

        if (agent_pid > 0)
                return 1;
        /* The agent asks on the terminal: without one on stdin there is nobody to ask. */
        if (!isatty(STDIN_FILENO))
                return 0;
        if (geteuid() == 0)
                return 0;
        if (access(PKTTYAGENT_PATH, X_OK) < 0)
                return 0;

        (void) fflush(stdout);
        (void) fflush(stderr);
        if (pipe2(notify, O_CLOEXEC) < 0)
                return -errno;

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(notify[0]);
                safe_close(notify[1]);
                return r;
        }
        if (pid == 0) {
                char fd[16];

                safe_close(notify[0]);
                /* The agent must inherit the notification pipe. */
                if (fcntl(notify[1], F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_SUCCESS);

                (void) snprintf(fd, sizeof(fd), "%d", notify[1]);
                /* pkttyagent registers for its parent process, i.e. for tpctl, the caller polkit sees.
                 * --fallback: a desktop agent that is already registered keeps priority. */
                execl(PKTTYAGENT_PATH, PKTTYAGENT_PATH, "--notify-fd", fd, "--fallback", (char *) NULL);
                _exit(127);
        }

        safe_close(notify[1]);
        agent_pid = pid;

        /* pkttyagent closes the pipe once it is registered (or when it gives up and exits). */
        for (;;) {
                struct pollfd p = { .fd = notify[0], .events = POLLIN };
                char buf[64];

                r = poll(&p, 1, AGENT_REGISTER_TIMEOUT_MSEC);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        log_debug("pkttyagent did not report its registration, continuing without waiting.");
                        break;
                }
                if (read(notify[0], buf, sizeof(buf)) <= 0)
                        break;
        }
        safe_close(notify[0]);
        return 1;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;

        (void) kill(agent_pid, SIGTERM);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}
