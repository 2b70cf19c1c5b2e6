/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Recovery keys: 256 random bits a user writes down and types at a console when the TPM refuses. Shown
 * once, never stored by us: the LUKS2 keyslot holds it like any passphrase.
 *
 * Text form: the 32 bytes in modhex (the alphabet "cbdefghijklnrtuv", one letter per nibble, the same
 * letters on QWERTY, AZERTY and QWERTZ keyboards and without look-alikes such as 0/O and 1/l), in 8 groups
 * of 8 letters joined by '-':
 *
 *   fcbnkjtr-lhdeviuv-...-rnkgbhje        (71 characters)
 *
 * The keyslot passphrase is exactly this canonical form, so stock `cryptsetup open` accepts the key
 * typed as shown. luks_recovery_key_normalize() turns what a user typed (any case, spaces or dashes
 * anywhere or none) back into the canonical form. */

#include <stdbool.h>
#include <stddef.h>

#define LUKS_RECOVERY_KEY_BYTES 32U
#define LUKS_RECOVERY_KEY_GROUPS 8U
#define LUKS_RECOVERY_KEY_GROUP_CHARS 8U
/* 64 letters + 7 dashes */
#define LUKS_RECOVERY_KEY_LENGTH \
        (LUKS_RECOVERY_KEY_GROUPS * LUKS_RECOVERY_KEY_GROUP_CHARS + LUKS_RECOVERY_KEY_GROUPS - 1)
/* Longest typed input we look at (letters with a separator after each, and some slack). */
#define LUKS_RECOVERY_KEY_INPUT_MAX 256U

/* The canonical text of key (LUKS_RECOVERY_KEY_BYTES bytes). *ret: erase_and_free(). */
int luks_recovery_key_format(const void *key, size_t size, char **ret);

/* A new recovery key from getrandom(), in canonical text form. *ret: erase_and_free(). */
int luks_recovery_key_generate(char **ret);

/* Canonical form of typed input (size bytes, need not be NUL-terminated): letters of the modhex alphabet in
 * either case, with ' ', '\t', '-' anywhere ignored, and one trailing newline. Returns 0 with *ret
 * (erase_and_free()), or -EINVAL when it is not a recovery key, with a reason that never repeats the
 * input ("character 12 is not a recovery key letter", "63 letters, a recovery key has 64"); reason may be
 * NULL. */
int luks_recovery_key_normalize(const char *input, size_t size, char **ret, char *reason, size_t reason_size);

/* Whether input (NUL-terminated) normalizes to a recovery key: for unlock paths deciding how to treat what
 * was typed. */
bool luks_recovery_key_is_valid(const char *input);
