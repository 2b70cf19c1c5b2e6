/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking the user for a PIN, passphrase or recovery key through an external agent program: the answer
 * is what the program prints on standard output (one trailing newline removed). In the boot path that is
 * systemd-ask-password(1) (which reaches the console, Plymouth and password agents); in Debian's
 * initramfs-tools keyscript mode /lib/cryptsetup/askpass. Tests substitute a script. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define UNLOCK_ASK_ANSWER_MAX 4096U

typedef enum UnlockAskStyle {
        UNLOCK_ASK_SYSTEMD, /* PROGRAM --id=trusted-platform-unlock:NAME --icon=drive-harddisk --timeout=0 PROMPT */
        UNLOCK_ASK_ASKPASS, /* PROGRAM PROMPT */
        _UNLOCK_ASK_STYLE_MAX,
        _UNLOCK_ASK_STYLE_INVALID = -EINVAL,
} UnlockAskStyle;

/* Runs program (a path, or a name looked up in $PATH) and reads its answer. *ret: erase_and_free(),
 * NUL-terminated, *ret_size without the NUL. Returns 0, -ECANCELED when the program failed or was
 * cancelled (exit status != 0), -E2BIG for an answer above UNLOCK_ASK_ANSWER_MAX, -ENODATA for an empty
 * answer, or another negative errno (the program could not be started: -ENOENT). */
int unlock_ask(const char *program, UnlockAskStyle style, const char *id, const char *prompt, char **ret,
               size_t *ret_size);
