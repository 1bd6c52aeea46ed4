/*
 * Files a daemon opens that someone else may have put in its way: lock
 * files that name their holder, and reads that never block (a FIFO, a
 * device, a directory under the expected name are refused, not opened)
 * and never grow without bound (a line or a file too long is cut).
 */
#ifndef ABS_SAFEFILE_H
#define ABS_SAFEFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * An exclusive flock(2) on path (made 0640 if missing; a symlink there is
 * refused), held as long as the returned fd stays open, with "pid=N" in
 * the file. -EBUSY when another process holds it: holder gets "pid N"
 * (or "another process"). Another negative errno if it cannot be taken.
 * A lock file replaced (unlinked) while it was being taken is taken anew.
 */
int sf_lock(const char *path, char *holder, size_t len);
/* The pid /proc/locks gives for a flock on fd's file; 0 if none. */
long sf_flock_pid(int fd);
/* Write this process's pid into a lock file sf_lock took (after a fork). */
void sf_lock_note(int fd);

/*
 * Open path read-only if it is a regular file, without blocking: a FIFO,
 * socket, device or directory is never opened (-EINVAL, -EISDIR), and
 * with nofollow a symlink in the last component is refused (-ELOOP). The
 * fd, or a negative errno (-ENOENT: absent).
 */
int sf_open_regular(const char *path, bool nofollow);
/* The same as a stdio stream ("re"); NULL with errno set. */
FILE *sf_fopen_regular(const char *path, bool nofollow);
/*
 * Open path to append (O_CREAT, mode 0640) if it is absent or a regular
 * file, never blocking and never through a symlink: the fd or -errno.
 */
int sf_open_append(const char *path);
/* What a negative errno of the calls above means, for messages. */
const char *sf_strerror(int rc);

/*
 * One line of fp into buf (NUL-terminated, newline kept): its length, 0
 * at the end of the file, or -EMSGSIZE for a line of size bytes or more
 * (read up to its newline and dropped: memory stays bounded).
 */
ssize_t sf_getline(FILE *fp, char *buf, size_t size);

/*
 * A regular file's whole contents (NUL-terminated, malloc'd) if it holds
 * at most max bytes: 0, -EFBIG if larger, or a negative errno as
 * sf_open_regular's.
 */
int sf_read_file(const char *path, bool nofollow, size_t max, char **out,
    size_t *lenp);

#endif
