/*
 * One writer per medium: exclusive flock(2) locks on the things a device
 * URI reaches (a vtape cartridge and drive, a device node, a SCSI address,
 * a drive's unit serial, an iSCSI target's LUN). The kernel drops a lock
 * when its holder dies, so kill -9 never leaves a stale one. The holder
 * writes "pid=N via=URI" into the lock file so that a refused open can say
 * who holds it and by which path.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/hide.h"
#include "common/safefile.h"
#include "sg/tsg_int.h"

/*
 * Where device lock files live: $ABS_RUN_DIR, /run/abs (made if we may:
 * tmp cleaners leave /run alone), else /tmp for a user's own run.
 */
static const char *
run_dir(void)
{
	const char *dir = getenv("ABS_RUN_DIR");

	if (dir && *dir)
		return dir;
	if (mkdir("/run/abs", 0755) < 0 && errno != EEXIST)
		(void)0;
	return access("/run/abs", W_OK) == 0 ? "/run/abs" : "/tmp";
}

/* "pid N (opened as URI)" for the holder of the lock on fd; note: its file. */
static void
holder(int fd, const char *note, char *out, size_t len)
{
	char buf[PATH_MAX + 64] = "", via[PATH_MAX + 8] = "";
	long pid = 0, kpid = sf_flock_pid(fd);
	int nfd = note ? open(note, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	ssize_t n = nfd >= 0 ? pread(nfd, buf, sizeof(buf) - 1, 0) : -1;
	const char *v;

	if (nfd >= 0)
		close(nfd);
	if (n > 0) {
		buf[n] = '\0';
		pid = strtol(buf + (strncmp(buf, "pid=", 4) == 0 ? 4 : 0), NULL, 10);
		if ((v = strstr(buf, " via=")))
			snprintf(via, sizeof(via), "%.*s", (int)strcspn(v + 5, "\n"),
			    v + 5);
	}
	/* The kernel's word over the file's: the file may lag a new holder. */
	if (kpid && kpid != pid) {
		pid = kpid;
		via[0] = '\0';
	}
	if (pid && via[0])
		snprintf(out, len, "pid %ld (opened as %s)", pid, via);
	else if (pid)
		snprintf(out, len, "pid %ld", pid);
	else
		snprintf(out, len, "another process");
}

/*
 * What a lock path locks. DIR/.lock and DIR/.changer.lock lock DIR itself
 * (a vtape drive, cartridge or library): a directory cannot be unlinked
 * while it holds a cartridge, where a lock file could be, and a new file
 * of that name would give a second writer a lock of its own. A directory
 * (sysfs) locks itself, with no note. Anything else is a lock file.
 */
static bool
dir_lock(const char *path, char *dir, size_t len, bool *noted)
{
	const char *b = strrchr(path, '/');
	struct stat sb;

	*noted = true;
	if (b && (strcmp(b, "/.lock") == 0 || strcmp(b, "/.changer.lock") == 0) &&
	    (size_t)(b - path) < len) {
		snprintf(dir, len, "%.*s", b == path ? 1 : (int)(b - path), path);
		return true;
	}
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(dir, len, "%s", path);
		*noted = false;
		return true;
	}
	return false;
}

/* Open and flock path's lock; a lock file is checked to be still path's. */
static int
take(const char *path, bool is_dir, char *busy, size_t len, const char *note)
{
	struct stat a, b;
	int fd;

	for (int tries = 0;; tries++) {
		fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY | O_CLOEXEC :
		    O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 && !is_dir && (errno == EACCES || errno == EROFS))
			fd = open(path, O_RDONLY | O_CLOEXEC);	/* still lockable */
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
			if (e == -EBUSY && busy)
				holder(fd, note, busy, len);
			close(fd);
			return e;
		}
		/* Unlinked (a tmp cleaner) or replaced since we opened it? */
		if (is_dir || (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) || tries >= 8)
			return fd;
		close(fd);
	}
}

int
tsg_flock(const char *path, const char *via, char *busy, size_t len)
{
	char dir[PATH_MAX], note[PATH_MAX + 64];
	bool noted, is_dir = dir_lock(path, dir, sizeof(dir), &noted);
	int fd, nfd, n;

	fd = take(is_dir ? dir : path, is_dir, busy, len, noted ? path : NULL);
	if (fd < 0 || !noted)
		return fd;
	/* The note says who holds it; only the kernel's lock protects. */
	nfd = is_dir ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644) :
	    fd;
	n = snprintf(note, sizeof(note), "pid=%ld via=%s\n", (long)getpid(),
	    via ? via : "?");
	if (nfd >= 0 && n > 0 && (size_t)n < sizeof(note) &&
	    ftruncate(nfd, 0) == 0 && pwrite(nfd, note, (size_t)n, 0) < 0)
		(void)0;	/* read-only lock file: the holder stays unnamed */
	if (nfd >= 0 && nfd != fd)
		close(nfd);
	return fd;
}

int
tsg_lock_path(struct tsg_dev *d, const char *path, const char *what)
{
	char who[PATH_MAX + 96];
	int fd;

	if (d->nlocks >= TSG_MAX_LOCKS)
		return -ENOSPC;
	fd = tsg_flock(path, d->uri, who, sizeof(who));
	if (fd == -EBUSY) {
		snprintf(d->why, sizeof(d->why), "%.200s is in use by %.290s", what,
		    who);
		return fd;
	}
	if (fd < 0) {
		snprintf(d->why, sizeof(d->why), "cannot lock %.200s (%.200s): %s",
		    what, path, strerror(-fd));
		return fd;
	}
	d->locks[d->nlocks++] = fd;
	return 0;
}

/* Lock key (made a safe file name) under the run directory. */
static int
lock_key(struct tsg_dev *d, const char *key, const char *what)
{
	char path[PATH_MAX], name[200];
	size_t i;

	for (i = 0; key[i] && i < sizeof(name) - 1; i++)
		name[i] = isalnum((unsigned char)key[i]) || key[i] == '.' ||
		    key[i] == '-' ? key[i] : '_';
	name[i] = '\0';
	if (snprintf(path, sizeof(path), "%s/abs-lock.%s", run_dir(), name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return tsg_lock_path(d, path, what);
}

/*
 * The sysfs directory sys leads to, locked as well as a key's file: it
 * lives as long as the device and nobody can unlink it, so a deleted lock
 * file does not let a second engine in.
 */
static int
lock_sysfs(struct tsg_dev *d, const char *sys, const char *what)
{
	char *real = realpath(sys, NULL);
	int rc;

	if (!real)
		return 0;	/* no sysfs: the key files stand alone */
	rc = tsg_lock_path(d, real, what);
	free(real);
	return rc;
}

/* The node locks of the device node sb describes. */
static int
lock_node_stat(struct tsg_dev *d, const struct stat *sb)
{
	char key[PATH_MAX + 32], what[PATH_MAX + 64], sys[64], *dev;
	unsigned maj = major(sb->st_rdev), min = minor(sb->st_rdev);
	int rc;

	snprintf(key, sizeof(key), "node-%u-%u", maj, min);
	snprintf(what, sizeof(what), "device node %u:%u", maj, min);
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u", maj, min);
	if ((rc = lock_key(d, key, what)) < 0 ||
	    (rc = lock_sysfs(d, sys, what)) < 0)
		return rc;
	/* sg and st nodes of one drive share its SCSI device in sysfs. */
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device", maj, min);
	if (!(dev = realpath(sys, NULL)))
		return 0;
	const char *hctl = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	snprintf(key, sizeof(key), "scsi-%s", hctl);
	snprintf(what, sizeof(what), "SCSI device %s", hctl);
	rc = lock_key(d, key, what);
	if (rc == 0)
		rc = lock_sysfs(d, dev, what);
	free(dev);
	return rc;
}

int
tsg_lock_node(struct tsg_dev *d, int fd)
{
	char self[64];
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return -errno;
	/* The node by the path it was opened as, for cmd: sources to lose. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	hide_add(self);
	return lock_node_stat(d, &sb);
}

void
tsg_busy_node(struct tsg_dev *d, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0 || !S_ISCHR(sb.st_mode))
		return;
	/* An engine holds the drive: its lock says which and how. */
	if (lock_node_stat(d, &sb) == -EBUSY)
		return;
	snprintf(d->why, sizeof(d->why), "%.200s is open in another process "
	    "(not an engine holding a lock; the driver allows one open)", path);
}

int
tsg_lock_serial(struct tsg_dev *d)
{
	struct tsg_inquiry inq;
	struct tsg_status st;
	char key[200], what[200];

	if (tsg_inquiry(d, &inq, &st) != 0 || !inq.serial[0])
		return 0;	/* no serial to go by: the node locks stand */
	snprintf(key, sizeof(key), "serial-%s-%s-%s", inq.vendor, inq.product,
	    inq.serial);
	snprintf(what, sizeof(what), "the drive with serial %s (%s %s)",
	    inq.serial, inq.vendor, inq.product);
	return lock_key(d, key, what);
}

int
tsg_lock_name(struct tsg_dev *d, const char *key, const char *what)
{
	return lock_key(d, key, what);
}
