/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "shared/log-setup.h"

int log_setup_from_config(Config *c) {
        _cleanup_free_ char *level = NULL, *target = NULL;
        int r, ret = 0;

        r = config_get_string(c, "Log", "Level", NULL, &level);
        if (r < 0)
                return r;
        if (level) {
                int l = log_level_from_string(level);
                if (l < 0)
                        ret = log_debug_errno(EINVAL, "[Log] Level=%s is not a log level, ignoring.", level);
                else
                        log_set_max_level(l);
        }

        r = config_get_string(c, "Log", "Target", NULL, &target);
        if (r < 0)
                return r;
        if (target) {
                LogTarget t = log_target_from_string(target);
                if (t < 0)
                        ret = log_debug_errno(EINVAL, "[Log] Target=%s is not a log target, ignoring.", target);
                else
                        log_set_target(t);
        }

        /* The environment is for one-off runs and tests: it beats the file. */
        log_parse_environment();
        return ret;
}
