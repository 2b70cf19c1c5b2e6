/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "basic/errno-util.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "unlock/unlock-ask.h"

extern char **environ;

int unlock_ask(const char *program, UnlockAskStyle style, const char *id, const char *prompt, char **ret,
               size_t *ret_size) {
        _cleanup_free_ char *id_arg = NULL;
        _cleanup_erase_free_ char *buf = NULL;
        _cleanup_close_ int rfd = -EBADF;
        posix_spawn_file_actions_t actions;
        int pipefd[2], status = 0, r;
        size_t n = 0;
        bool too_big = false;
        pid_t pid;

        assert(program);
        assert(prompt);
        assert(ret);
        assert(ret_size);

        buf = malloc(UNLOCK_ASK_ANSWER_MAX + 2);
        if (!buf)
                return -ENOMEM;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = pipefd[0];

        r = posix_spawn_file_actions_init(&actions);
        if (r != 0) {
                safe_close(pipefd[1]);
                return -r;
        }
        /* The child's stdout is our pipe; stdin and stderr stay the console's (the agent needs them). */
        r = posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
        if (r == 0) {
                if (style == UNLOCK_ASK_SYSTEMD) {
                        if (!strextend(&id_arg, "--id=trusted-platform-unlock:", strempty(id)))
                                r = ENOMEM;
                        else {
                                char *argv[] = { (char *) program,
                                                 id_arg,
                                                 (char *) "--icon=drive-harddisk",
                                                 (char *) "--timeout=0",
                                                 (char *) prompt,
                                                 NULL };
                                r = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
                        }
                } else {
                        char *argv[] = { (char *) program, (char *) prompt, NULL };
                        r = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
                }
        }
        posix_spawn_file_actions_destroy(&actions);
        safe_close(pipefd[1]);
        if (r != 0)
                return log_debug_errno(r, "Cannot run '%s': %m", program);

        for (;;) {
                ssize_t k;

                if (n > UNLOCK_ASK_ANSWER_MAX) {
                        /* Drain without keeping, so the child is not blocked on a full pipe. */
                        char sink[256];

                        too_big = true;
                        k = read(rfd, sink, sizeof(sink));
                        erase_mem(sink, sizeof(sink));
                } else
                        k = read(rfd, buf + n, UNLOCK_ASK_ANSWER_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        (void) kill(pid, SIGTERM);
                        (void) waitpid(pid, NULL, 0);
                        return r;
                }
                if (k == 0)
                        break;
                if (!too_big)
                        n += (size_t) k;
        }

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_debug_errno(ECANCELED, "'%s' did not give an answer.", program);
        if (too_big || n > UNLOCK_ASK_ANSWER_MAX)
                return -E2BIG;
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n == 0)
                return -ENODATA;
        buf[n] = 0;

        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}
