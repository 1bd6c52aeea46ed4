/*
 * One writer per medium: exclusive flock(2) locks on the things a device
 * URI reaches (a vtape cartridge and drive, a device node, a SCSI address,
 * a drive's unit serial, an iSCSI target's LUN). The kernel drops a lock
 * when its holder dies, so kill -9 never leaves a stale one. The holder
 * writes "pid=N via=URI" into the lock file so that a refused open can say
 * who holds it and by which path.
 */
#include <ctype.h>
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
#include "sg/tsg_int.h"

/* Where device lock files live: $ABS_RUN_DIR, /run/abs if writable, /tmp. */
static const char *
run_dir(void)
{
	const char *dir = getenv("ABS_RUN_DIR");

	if (dir && *dir)
		return dir;
	return access("/run/abs", W_OK) == 0 ? "/run/abs" : "/tmp";
}

/* The pid holding a flock on fd's file, from /proc/locks; 0 if unknown. */
static long
flock_pid(int fd)
{
	struct stat sb;
	char line[256];
	long pid = 0;
	FILE *fp;

	if (fstat(fd, &sb) < 0 || !(fp = fopen("/proc/locks", "r")))
		return 0;
	while (!pid && fgets(line, sizeof(line), fp)) {
		unsigned maj, min;
		unsigned long long ino;
		long p;
		char kind[16];
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

/* "pid N (opened as URI)" for the holder of the lock on fd. */
static void
holder(int fd, char *out, size_t len)
{
	char buf[PATH_MAX + 64] = "", via[PATH_MAX + 8] = "";
	long pid = 0, kpid = flock_pid(fd);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	const char *v;

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

int
tsg_flock(const char *path, const char *via, char *busy, size_t len)
{
	char note[PATH_MAX + 64], who[PATH_MAX + 96];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EACCES || errno == EROFS))
		fd = open(path, O_RDONLY | O_CLOEXEC);	/* still lockable */
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (e == -EBUSY && busy) {
			holder(fd, who, sizeof(who));
			snprintf(busy, len, "%s", who);
		}
		close(fd);
		return e;
	}
	n = snprintf(note, sizeof(note), "pid=%ld via=%s\n", (long)getpid(),
	    via ? via : "?");
	if (n > 0 && (size_t)n < sizeof(note) && ftruncate(fd, 0) == 0 &&
	    pwrite(fd, note, (size_t)n, 0) < 0)
		(void)0;	/* read-only lock file: the holder stays unnamed */
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

/* The node locks of the device node sb describes. */
static int
lock_node_stat(struct tsg_dev *d, const struct stat *sb)
{
	char key[PATH_MAX + 32], what[PATH_MAX + 64], sys[64], *dev;
	unsigned maj = major(sb->st_rdev), min = minor(sb->st_rdev);
	int rc;

	snprintf(key, sizeof(key), "node-%u-%u", maj, min);
	snprintf(what, sizeof(what), "device node %u:%u", maj, min);
	if ((rc = lock_key(d, key, what)) < 0)
		return rc;
	/* sg and st nodes of one drive share its SCSI device in sysfs. */
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device", maj, min);
	if (!(dev = realpath(sys, NULL)))
		return 0;
	const char *hctl = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	snprintf(key, sizeof(key), "scsi-%s", hctl);
	snprintf(what, sizeof(what), "SCSI device %s", hctl);
	free(dev);
	return lock_key(d, key, what);
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
