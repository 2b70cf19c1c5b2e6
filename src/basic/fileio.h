/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Durable file writes and bounded file reads. */

#include <stddef.h>
#include <sys/types.h>

/* Replaces path with exactly size bytes of data, atomically and durably: the data goes to a temporary
 * file in the same directory (O_TMPFILE + linkat where the filesystem allows, mkostemp() otherwise),
 * which is written fully, chmod'ed to exactly mode (not masked by the umask), fsync()ed, renamed over
 * path, and then the directory is fsync()ed.
 *
 * A crash or SIGKILL at any point leaves path with either its old or its new full content. On every
 * failure the temporary file is removed and the old content stays in place. An fsync() failure is
 * returned as is and never retried (after EIO the kernel may have dropped the dirty pages, so a
 * second fsync() could "succeed" with the data lost).
 *
 * If the directory fsync() after the rename fails, the error is returned although path already shows
 * the new content: the caller must treat the state as "not durably written".
 *
 * A temporary file left behind by a writer killed between linking and renaming it is named
 * ".#<name>.<16 hex>"; the next write_file_atomic() of the same path removes it (each live writer holds
 * flock() on its temporary file, so only dead writers' files are removed). Writers of the same path
 * should be serialized by the caller; a racing writer does not corrupt the file but may fail.
 *
 * Returns 0, or a negative errno (-EINVAL for a path without a file name). */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Removes the temporary files write_file_atomic() left in the directory dfd for the file name base (NULL:
 * for any name) when their writer died between linking and renaming them. A live writer holds
 * flock(LOCK_EX) on its file, so a file that cannot be locked is left alone. */
void remove_stale_tmp_files(int dfd, const char *base);

/* One file of write_files_new(): dfd is the directory (an fd the caller keeps open), name a plain file
 * name in it. */
typedef struct NewFile {
        int dfd;
        const char *name;
        const void *data;
        size_t size;
        mode_t mode;
} NewFile;

/* Creates n new files durably, with one flush for all of them (group commit): each file is written to
 * an unnamed O_TMPFILE in its directory, then one syncfs() makes every file's data durable, then each
 * file gets its name with linkat() (which never replaces: an existing name is -EEXIST for that file),
 * and then every distinct directory is fsync()ed. A crash or SIGKILL at any point leaves each name
 * either absent or with its full content, and never a temporary name behind.
 *
 * ret_results (n entries, may be NULL when the caller only needs all-or-error) gets per file 0 or the
 * negative errno of its own failure (-EEXIST); files after a failed one are still created. Returns the
 * number of files created, or a negative errno when the batch as a whole failed (flush, directory
 * fsync: then the files named so far exist but must not be considered durable). -EOPNOTSUPP when the
 * filesystem has no O_TMPFILE (the caller falls back to write_file_atomic() per file). */
#define WRITE_FILES_NEW_MAX 256U /* each file is an open fd until the flush: -E2BIG above */
int write_files_new(const NewFile *files, size_t n, int *ret_results);

/* Reads the whole file at path (opened O_RDONLY|O_CLOEXEC|O_NOCTTY) into a new buffer that is
 * NUL-terminated one byte past its size. Works for files whose st_size is wrong (procfs, sysfs).
 * Refuses files larger than max_size bytes with -E2BIG (SIZE_MAX: no limit other than memory).
 * Intermediate buffers are wiped when grown, so it may be used for secrets if the caller wipes the
 * result (erase_and_free()). ret_size may be NULL. Returns 0 or a negative errno. */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Creates the directory path with mode, and any missing parents (also with mode).
 *
 * Parents may be symlinks (/var/run -> /run is normal). The last component may not: a symlink there
 * gives -ELOOP, and a non-directory -ENOTDIR.
 * If the directory already exists nothing is changed, but it is checked, because a directory we
 * keep secrets in is only safe if nobody else can write or read into it: it must be owned by the
 * effective uid and have no permission bit that mode does not have (asking for 0700 and finding
 * 0755 or 0770 gives -EPERM). Fixing it is left to the administrator or tmpfiles.d.
 * A newly created directory gets exactly mode (not masked by the umask).
 * Returns 0 if it was created, 1 if it existed and passed the checks, or a negative errno. */
int mkdir_p_secure(const char *path, mode_t mode);
