/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* trusted-platform-generator: turns the volumes marked for TPM unlock into units, early in boot.
 *
 * Input: /etc/crypttab entries whose options carry "x-trusted-platform", and the one [Volume] of
 * volumes.conf in our configuration directory (the "trusted-data" volume, optionally with a mount).
 * Output (in the first of the three directories systemd passes): trusted-platform-unlock@<name>.service
 * per volume, pulled in by cryptsetup.target; a drop-in that makes systemd's own
 * systemd-cryptsetup@<name>.service require ours, so that a failed TPM unlock (or a failed PCR 15
 * measurement) can never be followed by an unmeasured passphrase unlock; and the mount unit when
 * volumes.conf asks for one. Nothing here touches D-Bus, the network or /var (DESIGN §2).
 *
 * A malformed line or volume is skipped with a warning and never produces a unit: a broken unit at boot
 * is worse than a volume left for the administrator. Test overrides: $TRUSTED_PLATFORM_CRYPTTAB,
 * $TRUSTED_PLATFORM_CONFIG_DIR, $TRUSTED_PLATFORM_UNLOCK_HELPER. */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "generator/crypttab.h"
#include "generator/unit-name.h"
#include "shared/config.h"

#define CRYPTTAB_SIZE_MAX (1024U * 1024U)
#define UNLOCK_UNIT_PREFIX "trusted-platform-unlock"

static const char *arg_dest = NULL;
static const char *arg_helper = NULL;
/* The unit of the volume generated before: each unlock is ordered after it (see add_volume()). */
static char *previous_unit = NULL;

typedef struct Volume {
        const char *name;
        const char *device;  /* the spec as written: a path or UUID=... */
        const char *options; /* NULL: none */
        const char *source;  /* SourcePath= */
        const char *where;   /* "file:line" for warnings */
        const char *mount;   /* volumes.conf only */
        const char *fstype;
        const char *mount_options;
} Volume;

static bool path_is_normalized_absolute(const char *p) {
        if (!p || p[0] != '/' || streq(p, "/"))
                return false;
        if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || endswith(p, "/") ||
            endswith(p, "/.") || endswith(p, "/.."))
                return false;
        for (const char *s = p; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static int write_file_in(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(content);

        if (!strextend(&path, dir, "/", name))
                return log_oom();
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create '%s': %m", path);
        for (const char *p = content; n > 0;) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to write '%s': %m", path);
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* dest/<dir>/<unit> -> ../<unit>, creating dest/<dir>. */
static int add_symlink(const char *dir, const char *unit) {
        _cleanup_free_ char *d = NULL, *link = NULL, *target = NULL;

        if (!strextend(&d, arg_dest, "/", dir) || !strextend(&link, d, "/", unit) ||
            !strextend(&target, "../", unit))
                return log_oom();
        if (mkdir(d, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create '%s': %m", d);
        if (symlink(target, link) < 0)
                return log_error_errno(errno, "Failed to link '%s': %m", link);
        return 0;
}

static int write_dropin(const char *unit, const char *name, const char *content) {
        _cleanup_free_ char *d = NULL, *sub = NULL;

        if (!strextend(&sub, unit, ".d") || !strextend(&d, arg_dest, "/", sub))
                return log_oom();
        if (mkdir(d, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create '%s': %m", d);
        return write_file_in(d, name, content);
}

static int add_volume(const Volume *v) {
        _cleanup_free_ char *unit = NULL, *node = NULL, *device_unit = NULL, *name_spec = NULL,
                            *q_name = NULL, *q_node = NULL, *q_options = NULL, *helper = NULL,
                            *source = NULL, *text = NULL, *cryptsetup_unit = NULL, *mount_unit = NULL,
                            *mapper = NULL, *q_where = NULL, *q_what = NULL, *q_mount_options = NULL;
        bool noauto, nofail;
        int r;

        if (!dm_name_is_valid(v->name)) {
                log_warning("%s: volume name is not a valid device-mapper name, ignoring.", v->where);
                return 0;
        }
        r = device_node_from_spec(v->device, &node);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_warning("%s: device '%s' is neither an absolute path nor UUID=, PARTUUID=, LABEL=, "
                            "PARTLABEL=, ignoring.",
                            v->where, v->device);
                return 0;
        }
        r = unit_name_from_path(node, ".device", &device_unit);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_warning("%s: no device unit name for '%s' (%s), ignoring.", v->where, node,
                            r == -ENAMETOOLONG ? "too long" : "not a normalized path");
                return 0;
        }
        r = unit_name_build_instance(UNLOCK_UNIT_PREFIX, v->name, ".service", &unit);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_warning("%s: the unit name would be too long, ignoring.", v->where);
                return 0;
        }
        /* Also for the volumes.conf volume: should crypttab list it too (without our option), systemd's
         * unit must still wait for ours; a drop-in for a unit that does not exist is ignored. */
        r = unit_name_build_instance("systemd-cryptsetup", v->name, ".service", &cryptsetup_unit);
        if (r < 0)
                return r == -ENOMEM ? log_oom() : 0;
        if (v->mount) {
                if (!path_is_normalized_absolute(v->mount)) {
                        log_warning("%s: mount point '%s' is not a normalized absolute path, ignoring.",
                                    v->where, v->mount);
                        return 0;
                }
                r = unit_name_from_path(v->mount, ".mount", &mount_unit);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        log_warning("%s: no mount unit name for '%s', ignoring.", v->where, v->mount);
                        return 0;
                }
        }

        r = crypttab_option_find(v->options, "noauto", NULL);
        if (r < 0)
                return log_oom();
        noauto = r > 0;
        r = crypttab_option_find(v->options, "nofail", NULL);
        if (r < 0)
                return log_oom();
        nofail = r > 0;

        if (specifier_escape(v->name, &name_spec) < 0 || exec_argument_quote(v->name, &q_name) < 0 ||
            exec_argument_quote(node, &q_node) < 0 || specifier_escape(arg_helper, &helper) < 0 ||
            specifier_escape(v->source, &source) < 0)
                return log_oom();
        if (!isempty(v->options) && exec_argument_quote(v->options, &q_options) < 0)
                return log_oom();

        /* clang-format off */
        if (!strextend(&text,
                       "# Automatically generated by trusted-platform-generator\n"
                       "\n"
                       "[Unit]\n"
                       "Description=TPM unlock of volume ", name_spec, "\n"
                       "Documentation=man:trusted-platform-unlock(8) man:trusted-platform-generator(8)\n"
                       "SourcePath=", source, "\n"
                       "DefaultDependencies=no\n"
                       "IgnoreOnIsolate=yes\n"
                       "After=cryptsetup-pre.target systemd-udevd-kernel.socket\n"
                       "Before=cryptsetup.target\n",
                       cryptsetup_unit ? "Before=" : "", strempty(cryptsetup_unit), cryptsetup_unit ? "\n" : "",
                       previous_unit ? "After=" : "", strempty(previous_unit), previous_unit ? "\n" : "",
                       "BindsTo=", device_unit, "\n"
                       "After=", device_unit, "\n"
                       "Conflicts=umount.target\n"
                       "Before=umount.target\n"
                       "\n"
                       "[Service]\n"
                       "Type=oneshot\n"
                       "RemainAfterExit=yes\n"
                       "TimeoutSec=0\n"
                       "ExecStart=", helper, " attach ", q_name, " ", q_node,
                       q_options ? " " : "", strempty(q_options), "\n"
                       "ExecStop=", helper, " detach ", q_name, "\n"))
                return log_oom();
        /* clang-format on */

        r = write_file_in(arg_dest, unit, text);
        if (r < 0)
                return r;

        if (!noauto) {
                r = add_symlink(nofail ? "cryptsetup.target.wants" : "cryptsetup.target.requires", unit);
                if (r < 0)
                        return r;
        }

        if (cryptsetup_unit) {
                text = mfree(text);
                if (!strextend(&text,
                               "# Automatically generated by trusted-platform-generator\n"
                               "# The TPM unlock (with its PCR 15 measurement) must succeed before systemd's\n"
                               "# own unlock may run: it then finds the volume active and does nothing.\n"
                               "\n"
                               "[Unit]\n"
                               "Requires=",
                               unit,
                               "\n"
                               "After=",
                               unit, "\n"))
                        return log_oom();
                r = write_dropin(cryptsetup_unit, "50-trusted-platform.conf", text);
                if (r < 0)
                        return r;
        }

        if (mount_unit) {
                if (!strextend(&mapper, "/dev/mapper/", v->name))
                        return log_oom();
                if (specifier_escape(mapper, &q_what) < 0 || specifier_escape(v->mount, &q_where) < 0 ||
                    specifier_escape(v->mount_options ?: "defaults", &q_mount_options) < 0)
                        return log_oom();
                text = mfree(text);
                /* clang-format off */
                if (!strextend(&text,
                               "# Automatically generated by trusted-platform-generator\n"
                               "\n"
                               "[Unit]\n"
                               "Description=Trusted data volume ", name_spec, "\n"
                               "Documentation=man:trusted-platform-generator(8)\n"
                               "SourcePath=", source, "\n"
                               "Requires=", unit, "\n"
                               "After=", unit, "\n"
                               "Before=local-fs.target\n"
                               "\n"
                               "[Mount]\n"
                               "What=", q_what, "\n"
                               "Where=", q_where, "\n"
                               "Type=", v->fstype ?: "auto", "\n"
                               "Options=", q_mount_options, "\n"))
                        return log_oom();
                /* clang-format on */
                r = write_file_in(arg_dest, mount_unit, text);
                if (r < 0)
                        return r;
                if (!noauto) {
                        r = add_symlink(nofail ? "local-fs.target.wants" : "local-fs.target.requires",
                                        mount_unit);
                        if (r < 0)
                                return r;
                }
        }

        /* Every unlock extends PCR 15, so its value after several volumes depends on their order: one
         * volume after the other, in crypttab order (volumes.conf last), makes it the same at every boot,
         * which a token bound to PCR 15 of a later volume needs. After= only: a volume that fails or is
         * not started does not hold the others back. */
        free(previous_unit);
        previous_unit = TAKE_PTR(unit);

        log_debug("Generated %s for '%s' on '%s'.", previous_unit, v->name, node);
        return 1;
}

static int add_crypttab(char ***names) {
        _cleanup_free_ char *text = NULL;
        const char *path;
        unsigned line_no = 0;
        int r, ret = 0;

        path = secure_getenv("TRUSTED_PLATFORM_CRYPTTAB") ?: "/etc/crypttab";
        r = read_full_file(path, CRYPTTAB_SIZE_MAX, &text, NULL);
        if (r == -ENOENT) {
                log_debug("No '%s', nothing to do there.", path);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);

        for (char *line = text, *next; line && *line; line = next) {
                _cleanup_(crypttab_entry_done) CrypttabEntry e = {};
                _cleanup_free_ char *where = NULL;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                line_no++;

                r = crypttab_parse_line(line, &e);
                if (r < 0) {
                        log_warning("%s:%u: malformed line, ignoring.", path, line_no);
                        continue;
                }
                if (r == 0)
                        continue;
                r = crypttab_option_find(e.options, "x-trusted-platform", NULL);
                if (r < 0)
                        return log_oom();
                if (r == 0)
                        continue;
                if (!dm_name_is_valid(e.name)) {
                        log_warning("%s:%u: volume name is not a valid device-mapper name, ignoring.", path,
                                    line_no);
                        continue;
                }
                if (strv_contains(*names, e.name)) {
                        log_warning("%s:%u: volume '%s' is listed twice, ignoring this line.", path, line_no,
                                    e.name);
                        continue;
                }
                if (e.keyfile && !IN_SET(e.keyfile[0], 0, '-') && !streq(e.keyfile, "none"))
                        log_notice("%s:%u: the key file of '%s' is not used: the passphrase fallback asks.",
                                   path, line_no, e.name);

                if (asprintf(&where, "%s:%u", path, line_no) < 0)
                        return log_oom();
                r = add_volume(&(Volume){
                        .where = where,
                        .name = e.name,
                        .device = e.device,
                        .options = e.options,
                        .source = path,
                });
                if (r < 0) {
                        ret = r;
                        continue;
                }
                if (r > 0 && strv_extend(names, e.name) < 0)
                        return log_oom();
        }
        return ret;
}

static int add_volumes_conf(char ***names) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *name = NULL, *device = NULL, *options = NULL, *mount = NULL, *fstype = NULL,
                            *mount_options = NULL, *source = NULL;
        const char *dir;
        int r;

        r = config_load("volumes", &c);
        if (r < 0) {
                log_warning_errno(r, "Failed to read volumes.conf, ignoring it: %m");
                return 0;
        }

        r = config_get_string(c, "Volume", "Device", NULL, &device);
        if (r < 0)
                return log_oom();
        if (!device) {
                log_debug("No [Volume] Device= in volumes.conf.");
                return 0;
        }
        if (config_get_string(c, "Volume", "Name", "trusted-data", &name) < 0 ||
            config_get_string(c, "Volume", "Options", NULL, &options) < 0 ||
            config_get_string(c, "Volume", "Mount", NULL, &mount) < 0 ||
            config_get_string(c, "Volume", "FileSystemType", "auto", &fstype) < 0 ||
            config_get_string(c, "Volume", "MountOptions", "defaults", &mount_options) < 0)
                return log_oom();

        if (strv_contains(*names, name)) {
                log_warning("volumes.conf: volume '%s' is also in crypttab, ignoring volumes.conf.", name);
                return 0;
        }
        if (!string_is_safe(fstype, 64) || strchr(fstype, ' ') || !string_is_safe(mount_options, 1024)) {
                log_warning("volumes.conf: FileSystemType= or MountOptions= holds unusable characters, "
                            "ignoring the volume.");
                return 0;
        }
        if (options && !string_is_safe(options, CRYPTTAB_LINE_MAX)) {
                log_warning("volumes.conf: Options= holds unusable characters, ignoring the volume.");
                return 0;
        }

        dir = secure_getenv("TRUSTED_PLATFORM_CONFIG_DIR") ?: PKGSYSCONFDIR;
        if (!strextend(&source, dir, "/volumes.conf"))
                return log_oom();

        r = add_volume(&(Volume){
                .where = source,
                .name = name,
                .device = device,
                .options = options,
                .source = source,
                .mount = mount,
                .fstype = fstype,
                .mount_options = mount_options,
        });
        if (r > 0 && strv_extend(names, name) < 0)
                return log_oom();
        return r < 0 ? r : 0;
}

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **names = NULL;
        int r, k;

        log_parse_environment();

        if (argc != 4) {
                log_error("This program takes three arguments: the generator output directories.");
                return EXIT_FAILURE;
        }
        arg_dest = argv[1];
        arg_helper = secure_getenv("TRUSTED_PLATFORM_UNLOCK_HELPER") ?: LIBEXECDIR "/trusted-platform-unlock";
        if (!path_is_normalized_absolute(arg_helper) || strpbrk(arg_helper, " \"'\\$")) {
                log_error("Unlock helper path '%s' is not a plain absolute path.", arg_helper);
                return EXIT_FAILURE;
        }

        r = add_crypttab(&names);
        k = add_volumes_conf(&names);
        previous_unit = mfree(previous_unit);
        return r < 0 || k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
