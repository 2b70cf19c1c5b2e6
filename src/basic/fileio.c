/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"

#define TMP_PREFIX ".#"
#define TMP_RANDOM_LEN 16

/* Splits path into a newly allocated directory part and a pointer to the file name in path. */
static int split_path(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char *dir;

        if (isempty(base) || streq(base, ".") || streq(base, ".."))
                return -EINVAL;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;

        *ret_dir = dir;
        *ret_base = base;
        return 0;
}

static int loop_write(int fd, const void *data, size_t size) {
        const uint8_t *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, MIN(size, (size_t) SSIZE_MAX));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

static int tmp_name(const char *base, char **ret) {
        uint8_t rnd[TMP_RANDOM_LEN / 2];
        _cleanup_free_ char *hex = NULL;
        char *s = NULL;
        int r;

        if (getrandom(rnd, sizeof(rnd), GRND_INSECURE) != (ssize_t) sizeof(rnd))
                return -EIO;
        r = hexmem(rnd, sizeof(rnd), &hex);
        if (r < 0)
                return r;
        if (!strextend(&s, TMP_PREFIX, base, ".", hex))
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool is_our_tmp_name(const char *name, const char *base) {
        const char *p;

        p = startswith(name, TMP_PREFIX);
        if (!p)
                return false;
        if (base) {
                p = startswith(p, base);
                if (!p || *p != '.')
                        return false;
                p++;
        } else {
                /* Any base: the random suffix after the last dot, and a name before it. */
                const char *dot = strrchr(p, '.');
                if (!dot || dot == p)
                        return false;
                p = dot + 1;
        }
        return strlen(p) == TMP_RANDOM_LEN && strspn(p, "0123456789abcdef") == TMP_RANDOM_LEN;
}

void remove_stale_tmp_files(int dfd, const char *base) {
        _cleanup_close_ int dup_fd = -EBADF;
        DIR *d;
        struct dirent *de;

        dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup_fd < 0)
                return;
        d = fdopendir(dup_fd);
        if (!d)
                return;
        TAKE_FD(dup_fd);

        while ((de = readdir(d))) {
                _cleanup_close_ int fd = -EBADF;

                if (!is_our_tmp_name(de->d_name, base))
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        continue;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        log_debug("Removed stale temporary file '%s'.", de->d_name);
        }
        closedir(d);
}

/* Creates the temporary file and gives it a name in dfd. Returns the fd, the name in *ret_name. */
static int create_tmp(int dfd, const char *base, mode_t mode, char **ret_name) {
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = tmp_name(base, &name);
        if (r < 0)
                return r;

        fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode & 07777);
        if (fd >= 0) {
                char proc[64];

                /* Lock before the file gets a name, so nobody can mistake it for a stale one. */
                if (flock(fd, LOCK_EX) < 0)
                        return negative_errno();

                if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) < 0) {
                        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
                        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
                        if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0)
                                return negative_errno();
                }
        } else if (ERRNO_IS_NOT_SUPPORTED(errno) || IN_SET(errno, EISDIR, ENOENT)) {
                /* Filesystem without O_TMPFILE support: create the name directly. O_EXCL makes sure it
                 * is ours. */
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                            mode & 07777);
                if (fd < 0)
                        return negative_errno();
                if (flock(fd, LOCK_EX) < 0) {
                        r = negative_errno();
                        (void) unlinkat(dfd, name, 0);
                        return r;
                }
        } else
                return negative_errno();

        *ret_name = TAKE_PTR(name);
        return TAKE_FD(fd);
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        const char *base;
        int r;

        assert(path);
        assert(data || size == 0);

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_debug_errno(errno, "Failed to open directory '%s': %m", dir);

        remove_stale_tmp_files(dfd, base);

        fd = create_tmp(dfd, base, mode, &name);
        if (fd < 0)
                return log_debug_errno(fd, "Failed to create temporary file in '%s': %m", dir);

        r = loop_write(fd, data, size);
        if (r < 0) {
                log_debug_errno(r, "Failed to write temporary file for '%s': %m", path);
                goto fail;
        }
        if (fchmod(fd, mode & 07777) < 0) {
                r = log_debug_errno(errno, "Failed to set mode of temporary file for '%s': %m", path);
                goto fail;
        }
        if (fsync(fd) < 0) {
                /* Never retried: see the header. */
                r = log_debug_errno(errno, "Failed to fsync temporary file for '%s': %m", path);
                goto fail;
        }
        if (renameat(dfd, name, dfd, base) < 0) {
                r = log_debug_errno(errno, "Failed to rename temporary file over '%s': %m", path);
                goto fail;
        }
        if (fsync(dfd) < 0)
                return log_debug_errno(errno, "Failed to fsync directory '%s' after replacing '%s': %m",
                                       dir, path);
        return 0;

fail:
        (void) unlinkat(dfd, name, 0);
        return r;
}

int write_files_new(const NewFile *files, size_t n, int *ret_results) {
        _cleanup_free_ int *fds = NULL, *results = NULL;
        size_t created = 0;
        int r = 0;

        assert(files || n == 0);

        if (n == 0)
                return 0;
        if (n > WRITE_FILES_NEW_MAX)
                return -E2BIG;
        fds = calloc(n, sizeof(int));
        results = calloc(n, sizeof(int));
        if (!fds || !results)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                fds[i] = -EBADF;

        for (size_t i = 0; i < n; i++) {
                const NewFile *f = files + i;

                assert(f->dfd >= 0);
                assert(f->name && !strchr(f->name, '/'));
                assert(f->data || f->size == 0);

                fds[i] = openat(f->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, f->mode & 07777);
                if (fds[i] < 0) {
                        r = ERRNO_IS_NOT_SUPPORTED(errno) || IN_SET(errno, EISDIR, ENOENT) ? -EOPNOTSUPP
                                                                                           : negative_errno();
                        goto finish;
                }
                r = loop_write(fds[i], f->data, f->size);
                if (r >= 0 && fchmod(fds[i], f->mode & 07777) < 0)
                        r = negative_errno();
                if (r < 0)
                        goto finish;
        }

        /* One flush for every file's data and inode. Never retried: see write_file_atomic(). */
        if (syncfs(fds[0]) < 0) {
                r = log_debug_errno(errno, "Failed to flush %zu new files: %m", n);
                goto finish;
        }

        for (size_t i = 0; i < n; i++) {
                char proc[64];

                if (linkat(fds[i], "", files[i].dfd, files[i].name, AT_EMPTY_PATH) >= 0) {
                        created++;
                        continue;
                }
                if (errno == ENOENT || errno == EPERM) {
                        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
                        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fds[i]);
                        if (linkat(AT_FDCWD, proc, files[i].dfd, files[i].name, AT_SYMLINK_FOLLOW) >= 0) {
                                created++;
                                continue;
                        }
                }
                results[i] = log_debug_errno(errno, "Failed to create '%s': %m", files[i].name);
        }

        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = files[j].dfd == files[i].dfd;
                if (!seen && fsync(files[i].dfd) < 0) {
                        r = log_debug_errno(errno, "Failed to fsync a directory after creating files: %m");
                        goto finish;
                }
        }
        r = (int) MIN(created, (size_t) INT_MAX);
        if (ret_results)
                memcpy(ret_results, results, n * sizeof(int));

finish:
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
        return r;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_erase_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;
        struct stat st;

        assert(path);
        assert(ret);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size > (uint64_t) max_size)
                return log_debug_errno(E2BIG, "File '%s' is larger than %zu bytes.", path, max_size);

        /* st_size is a hint only (procfs and sysfs report 0 or 4096). */
        allocated = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t) st.st_size + 1 : 4096;
        if (max_size != SIZE_MAX)
                allocated = MIN(allocated, max_size + 1);
        allocated = MAX(allocated, (size_t) 64);

        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t k;

                if (n + 1 >= allocated) {
                        size_t na;
                        char *nb;

                        if (allocated > SIZE_MAX / 2)
                                return -ENOMEM;
                        na = allocated * 2;
                        nb = malloc(na);
                        if (!nb)
                                return -ENOMEM;
                        memcpy(nb, buf, n);
                        erase_and_free(buf);
                        buf = nb;
                        allocated = na;
                }

                k = read(fd, buf + n, allocated - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_debug_errno(errno, "Failed to read '%s': %m", path);
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max_size)
                        return log_debug_errno(E2BIG, "File '%s' is larger than %zu bytes.", path, max_size);
        }

        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int check_existing_dir(int parent_fd, const char *name, const char *path, mode_t mode) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISLNK(st.st_mode))
                return log_debug_errno(ELOOP, "'%s' is a symlink, refusing.", path);
        if (!S_ISDIR(st.st_mode))
                return log_debug_errno(ENOTDIR, "'%s' exists and is not a directory.", path);
        if (st.st_uid != geteuid())
                return log_debug_errno(EPERM, "'%s' is owned by uid %u, not by us, refusing.", path,
                                       (unsigned) st.st_uid);
        if ((st.st_mode & 07777 & ~mode) != 0)
                return log_debug_errno(EPERM, "'%s' has mode %04o, more open than %04o, refusing.", path,
                                       (unsigned) (st.st_mode & 07777), (unsigned) (mode & 07777));
        return 1;
}

int mkdir_p_secure(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL, *dir = NULL;
        _cleanup_close_ int pfd = -EBADF, fd = -EBADF;
        const char *base;
        int r;

        assert(path);

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        /* Strip trailing slashes so that "a/b/" names "b". */
        for (size_t l = strlen(p); l > 1 && p[l - 1] == '/'; l--)
                p[l - 1] = 0;

        r = split_path(p, &dir, &base);
        if (r < 0)
                return r;

        /* Parents: create what is missing, one prefix at a time; symlinks are followed. */
        for (char *s = dir + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(dir, mode & 07777) < 0 && errno != EEXIST)
                        return log_debug_errno(errno, "Failed to create '%s': %m", dir);
                *s = '/';
        }
        if (!streq(dir, "/") && !streq(dir, ".") && mkdir(dir, mode & 07777) < 0 && errno != EEXIST)
                return log_debug_errno(errno, "Failed to create '%s': %m", dir);

        pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return log_debug_errno(errno, "Failed to open '%s': %m", dir);

        if (mkdirat(pfd, base, mode & 07777) < 0) {
                if (errno != EEXIST)
                        return log_debug_errno(errno, "Failed to create '%s': %m", p);
                return check_existing_dir(pfd, base, p, mode);
        }

        /* Exactly mode, not mode & ~umask. O_NOFOLLOW: what we just created cannot have been swapped for
         * a symlink to something else we would then chmod. */
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open '%s': %m", p);
        if (fchmod(fd, mode & 07777) < 0)
                return log_debug_errno(errno, "Failed to set mode of '%s': %m", p);
        return 0;
}
