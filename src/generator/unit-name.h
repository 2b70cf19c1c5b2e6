/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's naming rules, for the generator: unit name escaping of names and paths, the device node a
 * crypttab/fstab "UUID=..." spec stands for, and quoting of arguments on an Exec*= line. Each follows
 * systemd 252 (unit-name.c, fstab-util.c, device-nodes.c, extract-word.c) so that the units we write
 * name the same units systemd itself derives; tests cross-check with systemd-escape. */

#include <stdbool.h>

/* systemd's limit on unit names (UNIT_NAME_MAX minus the NUL). */
#define UNIT_NAME_LEN_MAX 255U

/* "systemd-escape NAME": '/' -> '-', a leading '.', '-', '\' and every byte outside [0-9A-Za-z:_.] as
 * "\xNN" (UTF-8 byte by byte). s must be non-empty. Returns 0 or -EINVAL / -ENOMEM. */
int unit_name_escape(const char *s, char **ret);

/* "systemd-escape --path PATH": the path is simplified (repeated and trailing '/' and "." components
 * dropped), "/" becomes "-", else the leading '/' is dropped and the rest escaped as above. A relative
 * path or one with ".." components is -EINVAL. */
int unit_name_path_escape(const char *path, char **ret);

/* unit_name_path_escape(path) + suffix (".device", ".mount"); -ENAMETOOLONG above UNIT_NAME_LEN_MAX. */
int unit_name_from_path(const char *path, const char *suffix, char **ret);

/* prefix + "@" + unit_name_escape(instance) + suffix; -ENAMETOOLONG above UNIT_NAME_LEN_MAX. */
int unit_name_build_instance(const char *prefix, const char *instance, const char *suffix, char **ret);

/* The device node for a crypttab/fstab device spec: "UUID=x", "PARTUUID=x", "LABEL=x", "PARTLABEL=x"
 * (the value optionally quoted) become "/dev/disk/by-<tag>/<x>" with x encoded like udev names its links
 * (bytes outside [0-9A-Za-z#+-.:=@_] and not part of valid UTF-8 as "\xNN", "/" included); an absolute
 * path is returned as it is. Anything else (a relative path, an empty value) is -EINVAL. */
int device_node_from_spec(const char *spec, char **ret);

/* One argument for an Exec*= line, as systemd reads it back (EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE, then
 * specifier and $VARIABLE expansion): double-quoted, with '\' and '"' backslash-escaped, '%' doubled,
 * '$' doubled, and control characters as "\xNN". */
int exec_argument_quote(const char *s, char **ret);

/* '%' doubled, for a unit setting that expands specifiers (Description=, What=, Where=). */
int specifier_escape(const char *s, char **ret);

/* Whether s is usable as a device-mapper name: 1..127 bytes, no '/', not "." or "..", no control
 * characters. */
bool dm_name_is_valid(const char *s);
