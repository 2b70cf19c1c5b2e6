/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Configuration files: INI-style "<stem>.conf" plus drop-ins "<stem>.conf.d/<name>.conf", parsed with libeconf.
 *
 * Layering (config_load()), lowest priority first:
 *   1. the main files, each overriding the previous one key by key:
 *        VENDORCONFDIR/<stem>.conf (/usr/lib/trusted-platform), RUNTIMEDIR/<stem>.conf
 *        (/run/trusted-platform), PKGSYSCONFDIR/<stem>.conf (/etc/trusted-platform);
 *   2. all drop-ins "*.conf" in the three "<stem>.conf.d/" directories, applied in lexical order of
 *      their file names across the directories. A file name present in several directories is read
 *      only from the highest-priority one (/etc over /run over vendor), so an admin masks a vendor
 *      drop-in by creating one of the same name (empty, or a symlink to /dev/null).
 * This is systemd's order (/etc beats /run beats /usr/lib).
 * If $TRUSTED_PLATFORM_CONFIG_DIR is set (read with secure_getenv()), it is the only directory read,
 * in place of all three, so tests are hermetic.
 *
 * Syntax: "[Group]" headers and "Key=Value" lines, "#" comments, whitespace around keys and values
 * ignored. Keys outside a group, lines that are neither, NUL bytes, or files larger than 1 MiB make the
 * file malformed: -EBADMSG, with file:line in the debug log. Unknown groups and keys are kept and
 * ignored by the accessors' callers, so newer files work with older programs. "Key=" (empty value)
 * resets the key to its built-in default. Within one file, the first assignment of a key wins
 * (libeconf's behaviour); across files, the later file wins. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/macro.h"

typedef struct Config Config;

/* An empty configuration. Returns 0 or -ENOMEM. */
int config_new(Config **ret);

/* Parses one file and layers it over what c holds. A missing file is not an error (returns 0 and
 * changes nothing); returns 1 when the file was read, -EBADMSG when malformed, other negative errno
 * when it cannot be read. On failure c is unchanged. */
int config_add_file(Config *c, const char *path);

/* Loads "<stem>.conf" with drop-ins as described above. stem is a plain file name without '/', e.g.
 * "trusted-platform". Returns 0 and a new Config (possibly empty, when no file exists), or a negative
 * errno from the first file that failed. */
int config_load(const char *stem, Config **ret);

/* config_load() over an explicit list of directories, highest priority first, NULL-terminated. */
int config_load_from_dirs(const char *stem, const char *const *dirs, Config **ret);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/* Accessors. If the key is unset (or set to the empty string), the default is returned and the call
 * returns 0; if the value came from a file, 1. ret is written only on success.
 * config_get_string(): *ret is a new string (NULL when def is NULL and the key is unset).
 * config_get_bool(): yes/no, true/false, on/off, 1/0 (case-insensitive), else -EINVAL.
 * config_get_uint32/64(): strict decimal (safe_atou32/64()), else -EINVAL or -ERANGE. */
int config_get_string(Config *c, const char *group, const char *key, const char *def, char **ret);
int config_get_bool(Config *c, const char *group, const char *key, bool def, bool *ret);
int config_get_uint32(Config *c, const char *group, const char *key, uint32_t def, uint32_t *ret);
int config_get_uint64(Config *c, const char *group, const char *key, uint64_t def, uint64_t *ret);
