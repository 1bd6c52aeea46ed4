/*
 * Lock files that name their holder, and reads of files that never block
 * and never grow without bound (common/safefile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/safefile.h"
#include "common/util.h"

/* The pid /proc/locks gives for a flock on fd's file; 0 if none. */
long
sf_flock_pid(int fd)
{
	struct stat sb;
	char line[256];
	long pid = 0;
	FILE *fp;

	if (fstat(fd, &sb) < 0 || !(fp = fopen("/proc/locks", "re")))
		return 0;
	while (!pid && fgets(line, sizeof(line), fp)) {
		unsigned maj, min;
		unsigned long long ino;
		char kind[16];
		long p;
		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %ld %x:%x:%llu", kind, &p, &maj,
		    &min, &ino) == 5 && strcmp(kind, "FLOCK") == 0 &&
		    maj == major(sb.st_dev) && min == minor(sb.st_dev) &&
		    ino == (unsigned long long)sb.st_ino)
			pid = p;
	}
	fclose(fp);
	return pid;
}

/*
 * Who holds the lock on fd: the pid the file names if that process lives
 * (a daemon notes its pid again after it forked), else the kernel's.
 */
static void
holder_of(int fd, char *out, size_t len)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = 0;

	if (n > 4 && strncmp(buf, "pid=", 4) == 0) {
		buf[n] = '\0';
		pid = strtol(buf + 4, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
			pid = 0;
	}
	if (!pid)
		pid = sf_flock_pid(fd);
	if (pid)
		snprintf(out, len, "pid %ld", pid);
	else
		snprintf(out, len, "another process");
}

void
sf_lock_note(int fd)
{
	char note[32];
	int n = snprintf(note, sizeof(note), "pid=%ld\n", (long)getpid());

	if (fd >= 0 && ftruncate(fd, 0) == 0 && pwrite(fd, note, (size_t)n, 0) < 0)
		(void)0;	/* a read-only lock file: the holder stays unnamed */
}

int
sf_lock(const char *path, char *holder, size_t len)
{
	struct stat a, b;

	for (int tries = 0; tries < 8; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0 && (errno == EACCES || errno == EROFS)) {
			int e = errno;
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			/* Not there and not to be made: say why it cannot be. */
			if (fd < 0 && errno == ENOENT)
				errno = e;
		}
		if (fd < 0)
			return -errno;
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
			if (e == -EBUSY && holder)
				holder_of(fd, holder, len);
			close(fd);
			return e;
		}
		/* Unlinked or replaced meanwhile: a lock nobody else sees. */
		if (lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			sf_lock_note(fd);
			return fd;
		}
		close(fd);
	}
	return -EAGAIN;
}

/* Whether sb is a file sf_open_regular accepts: 0 or its negative errno. */
static int
regular(const struct stat *sb)
{
	if (S_ISLNK(sb->st_mode))
		return -ELOOP;
	if (S_ISDIR(sb->st_mode))
		return -EISDIR;
	return S_ISREG(sb->st_mode) ? 0 : -EINVAL;
}

int
sf_open_regular(const char *path, bool nofollow)
{
	struct stat before, sb;
	int fd, rc;

	/* Never open what is not a regular file: a FIFO blocks, a tape
	 * device rewinds. stat first, then check the file opened is it. */
	if ((nofollow ? lstat(path, &before) : stat(path, &before)) < 0)
		return -errno;
	if ((rc = regular(&before)) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || (rc = regular(&sb)) < 0 ||
	    sb.st_dev != before.st_dev || sb.st_ino != before.st_ino) {
		close(fd);
		return rc < 0 ? rc : -EINVAL;
	}
	return fd;
}

FILE *
sf_fopen_regular(const char *path, bool nofollow)
{
	int fd = sf_open_regular(path, nofollow);
	FILE *fp;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	if (!(fp = fdopen(fd, "re")))
		close(fd);
	return fp;
}

int
sf_open_append(const char *path)
{
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) == 0 && (rc = regular(&sb)) < 0)
		return rc;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || (rc = regular(&sb)) < 0) {
		close(fd);
		return rc < 0 ? rc : -EINVAL;
	}
	return fd;
}

const char *
sf_strerror(int rc)
{
	switch (rc) {
	case -EINVAL: return "not a regular file (a FIFO, socket or device)";
	case -ELOOP: return "a symbolic link, not followed";
	case -EISDIR: return "a directory";
	case -EFBIG: return "too large";
	case -EMSGSIZE: return "a line too long";
	default: return strerror(-rc);
	}
}

ssize_t
sf_getline(FILE *fp, char *buf, size_t size)
{
	size_t len = 0;
	int ch = 0;

	while (len + 1 < size && (ch = getc(fp)) != EOF) {
		buf[len++] = (char)ch;
		if (ch == '\n')
			break;
	}
	buf[len] = '\0';
	if (len + 1 >= size && ch != '\n') {
		while ((ch = getc(fp)) != EOF && ch != '\n')
			;
		return -EMSGSIZE;
	}
	return (ssize_t)len;
}

int
sf_read_file(const char *path, bool nofollow, size_t max, char **out,
    size_t *lenp)
{
	struct stat sb;
	ssize_t n;
	char *buf;
	int fd = sf_open_regular(path, nofollow);

	*out = NULL;
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if (!(buf = malloc((size_t)sb.st_size + 2))) {
		close(fd);
		return -ENOMEM;
	}
	/* One byte more than it had: it grew meanwhile. */
	n = util_read_full(fd, buf, (size_t)sb.st_size + 1);
	close(fd);
	if (n < 0 || (size_t)n > (size_t)sb.st_size) {
		free(buf);
		return n < 0 ? (int)n : -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	if (lenp)
		*lenp = (size_t)n;
	return 0;
}
