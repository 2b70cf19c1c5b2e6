/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The CA interface (ca-bus.c) and the opening of the Manager's certificate authority. */

#include "daemon/manager.h"

/* Opens m->ca from m->ca_dir if it is not open yet, without waiting (manager_open_ca_for() in
 * ca-keys.h with no message). With create, makes what is missing (root, intermediate, key store
 * passphrase) and returns 1 if anything was created; without, returns -ENOMEDIUM when no CA exists.
 * -EEXIST: a CA that disagrees with the configuration lives there. -EBUSY: the file store's passphrase
 * is being (un)sealed on the TPM worker; try again. */
int manager_open_ca(Manager *m, bool create);
