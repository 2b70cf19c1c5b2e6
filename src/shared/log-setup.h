/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging settings for programs, from the configuration and then the environment. */

#include "shared/config.h"

/* Applies "[Log] Level=" (a syslog level name or 0..7) and "[Log] Target=" (auto, console, journal) from
 * c (may be NULL), then $TRUSTED_PLATFORM_LOG_LEVEL / $TRUSTED_PLATFORM_LOG_TARGET, which win.
 * Bad values in the file are ignored with a debug message and reported as -EINVAL after everything
 * valid was applied, so a program can warn and go on. Returns 0 or -EINVAL. */
int log_setup_from_config(Config *c);
