/* A dir dump's pax stream into a directory: refusals listed, marked until proven. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crash.h"
#include "common/esc.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/extract.h"
#include "engine/tape.h"

struct eng_extract {
	char *to;
	int dirfd;		/* to */
	FILE *marker;		/* to/ENG_EXTRACT_MARKER, NULL once removed */
	struct archive_entry *root;	/* the dump's "." entry, applied last */
	uint64_t restored, refused;
	char *cut;		/* the entry the stream failed inside, if any */
	bool root_onto;		/* the root entry goes onto to (see extract.h) */
	bool dirs_writable;	/* directories u+rwx until the caller's end */
	int (*filter)(void *ctx, struct archive_entry *e);
	void *filter_ctx;
};

struct pull_ctx {
	long (*pull)(void *ctx, const void **buf);
	void *ctx;
	bool failed;		/* the stream (not the archive) failed */
};

/*
 * Who holds the target (its marker's pid and start), as " (pid N, started
 * T)" into buf, or "" when the marker does not say. Read without
 * following a link, a bounded head of it.
 */
static const char *
holder(int dirfd, char *buf, size_t len)
{
	char head[2048], pid[24] = "", started[40] = "";
	int fd = openat(dirfd, ENG_EXTRACT_MARKER, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	struct stat sb;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (n = read(fd, head, sizeof(head) - 1)) <= 0) {
		close(fd);
		return buf;
	}
	close(fd);
	head[n] = '\0';
	for (char *l = head, *e; l && *l; l = e ? e + 1 : NULL) {
		if ((e = strchr(l, '\n')))
			*e = '\0';
		if (strncmp(l, "pid: ", 5) == 0 && strspn(l + 5, "0123456789") ==
		    strlen(l + 5))
			snprintf(pid, sizeof(pid), "%.20s", l + 5);
		else if (strncmp(l, "started: ", 9) == 0 &&
		    strspn(l + 9, "0123456789-T:Z") == strlen(l + 9))
			snprintf(started, sizeof(started), "%.32s", l + 9);
	}
	if (pid[0])
		snprintf(buf, len, " (pid %s%s%s)", pid, started[0] ?
		    ", started " : "", started);
	return buf;
}

/*
 * The directories above to that are missing, made as `mkdir -p` makes
 * them (the process's umask): a restore names a new place in one step.
 */
static int
make_parents(const char *to)
{
	char path[4096];
	size_t n = strlen(to);

	if (n >= sizeof(path))
		return errno = ENAMETOOLONG, -1;
	memcpy(path, to, n + 1);
	for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/*
 * A restore goes into a new or empty directory: mixed into other files it
 * could not be told from them, and a file of the same name would be
 * replaced. --force allows it.
 */
static int
require_empty(int dirfd, const char *to, char *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char first[256] = "";
	bool marker = false;
	unsigned n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		eng_err(err, "%s: %s", to, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strcmp(e->d_name, ENG_EXTRACT_MARKER) == 0)
			marker = true;
		else if (!first[0])
			snprintf(first, sizeof(first), "%s", e->d_name);
		n++;
	}
	closedir(d);
	/* Nothing, or only a marker (an earlier restore that wrote nothing). */
	if (!n || (n == 1 && marker))
		return 0;
	if (marker)
		eng_err(err, "%s holds an earlier restore that did not finish "
		    "(its %s is there): restore into a new directory, or give "
		    "--force to restore over it", to, ENG_EXTRACT_MARKER);
	else
		eng_err(err, "%s is not empty (%u entr%s, e.g. %s): a restore goes "
		    "into a new or empty directory; give --force to restore "
		    "over what is there", to, n, n == 1 ? "y" : "ies", first);
	return -ENOTEMPTY;
}

int
eng_extract_new(const char *to, const char *what, bool root_onto_existing,
    bool onto_nonempty, struct eng_extract **out, char *err)
{
	struct eng_extract *x = calloc(1, sizeof(*x));
	char stamp[32], who[96];
	int fd, rc;

	*out = NULL;
	if (!x || !(x->to = strdup(to))) {
		free(x);
		return -ENOMEM;
	}
	x->dirfd = -1;
	/* "link/" would follow a link despite O_NOFOLLOW: no trailing '/'. */
	for (size_t l = strlen(x->to); l > 1 && x->to[l - 1] == '/'; l--)
		x->to[l - 1] = '\0';
	to = x->to;
	x->root_onto = root_onto_existing;
	if (make_parents(to) < 0)
		goto fail;
	bool made = mkdir(to, 0700) == 0;
	if (made)
		x->root_onto = true;	/* made here: the dump's root is its own */
	else if (errno != EEXIST)
		goto fail;
	/* A symlink at the target's name is not followed (planted links). */
	if ((x->dirfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		struct stat st;
		int e = errno;
		rc = -e;
		if ((e == ELOOP || e == ENOTDIR) && lstat(to, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			eng_err(err, "%s is a symbolic link: restore does not "
			    "follow it (name the directory it points to)", to);
		else
			eng_err(err, "%s: %s", to, strerror(e));
		eng_extract_free(x);
		return rc;
	}
	/*
	 * One restore at a time into a target, for the whole restore: the
	 * lock is the directory's own (flock on its descriptor, let go when
	 * the restore ends or dies), so nothing is added to the tree. Two
	 * restores at once would undo each other's marker and moves
	 * (hostile13 H14).
	 */
	if (flock(x->dirfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			eng_err(err, "%s is being restored into by another "
			    "restore%s: wait for it to end or restore elsewhere",
			    to, holder(x->dirfd, who, sizeof(who)));
			eng_extract_free(x);
			return -EBUSY;
		}
		log_warn("%s: cannot lock it (%s): another restore into it at "
		    "the same time would not be refused", to, strerror(errno));
	}
	if (!onto_nonempty && !made &&
	    (rc = require_empty(x->dirfd, to, err)) < 0) {
		eng_extract_free(x);
		return rc;
	}
	/* Whatever a user put at the marker's name is removed, not followed. */
	if (unlinkat(x->dirfd, ENG_EXTRACT_MARKER, 0) < 0 && errno != ENOENT)
		goto fail;
	fd = openat(x->dirfd, ENG_EXTRACT_MARKER, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !(x->marker = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	util_fmt_time(clock_now(), stamp, sizeof(stamp));
	char ew[ENG_ERRLEN * 4];
	/* Names in the marker are escaped (common/esc.h): one entry a line,
	   and nothing in it that drives the terminal of whoever reads it. */
	fprintf(x->marker, "ABS restore INCOMPLETE: this tree is not a whole, "
	    "proven restore while this file exists.\n"
	    "dump: %s\nstarted: %s\npid: %ld\nentries restored, in order "
	    "(names escaped: \\xNN, \\\\):\n",
	    esc_name(what, ew, sizeof(ew)), stamp, (long)getpid());
	if (fflush(x->marker) != 0 || fsync(fileno(x->marker)) < 0)
		goto fail;
	*out = x;
	return 0;
fail:
	rc = -errno;
	eng_err(err, "%s: %s", to, strerror(errno));
	eng_extract_free(x);
	return rc;
}

void
eng_extract_free(struct eng_extract *x)
{
	if (!x)
		return;
	if (x->marker)
		fclose(x->marker);
	if (x->dirfd >= 0)
		close(x->dirfd);
	archive_entry_free(x->root);
	free(x->cut);
	free(x->to);
	free(x);
}

int
eng_extract_dirfd(const struct eng_extract *x)
{
	return x->dirfd;
}

void
eng_extract_note(struct eng_extract *x, const char *line)
{
	if (x->marker) {
		fprintf(x->marker, "%s\n", line);
		fflush(x->marker);
	}
}

void
eng_extract_filter(struct eng_extract *x,
    int (*filter)(void *ctx, struct archive_entry *e), void *ctx)
{
	x->filter = filter;
	x->filter_ctx = ctx;
}

void
eng_extract_dirs_writable(struct eng_extract *x)
{
	x->dirs_writable = true;
}

void
eng_extract_counts(const struct eng_extract *x, uint64_t *restored,
    uint64_t *refused)
{
	*restored = x->restored;
	*refused = x->refused;
}

/* libarchive read callback: the next chunk of the restored stream. */
static la_ssize_t
extract_read(struct archive *a, void *arg, const void **buf)
{
	struct pull_ctx *pc = arg;
	long n = pc->pull(pc->ctx, buf);

	if (n < 0) {
		pc->failed = true;
		archive_set_error(a, EIO, "tape stream failed");
		return -1;
	}
	return n;
}

/*
 * Holes: a dump stores a sparse file's holes as zeros (engine/source.c),
 * so the restore makes them again wherever a whole aligned HOLE_BLOCK of
 * the file is zero, as ARCHIVE_EXTRACT_SPARSE would. That flag is not
 * used: libarchive then writes every file one st_blksize (4 KiB) write()
 * at a time, byte-scanning each for zeros (hostile15 and issue 15: 40,290
 * writes of 3.8 KB for /usr/share/doc, a restore slower than Amanda's).
 * Here each run of data in a chunk is one write; zero stretches at a
 * chunk's edges are skipped too (a zero block split between two tape
 * blocks stays a hole). Skipping zeros is always safe: the file is new
 * (libarchive replaces what is in the way) and a hole reads as zeros;
 * libarchive sets the size of a file that ends in one.
 */
#define HOLE_BLOCK 4096

static bool
all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zeros[HOLE_BLOCK];
	uint64_t a, b;

	if (n >= 16) {
		/* Data almost always shows itself in its first or last bytes. */
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		if (a | b)
			return false;
	}
	return memcmp(p, zeros, n) == 0;
}

/* One chunk of an entry's data at file offset off: its data runs written. */
static int
write_runs(struct archive *disk, const uint8_t *buf, size_t len, int64_t off)
{
	size_t run = 0, pos = 0;	/* the run of data not yet written */

	while (pos < len) {
		/* The piece of the chunk up to the next aligned boundary. */
		size_t n = HOLE_BLOCK - (size_t)((off + (int64_t)pos) % HOLE_BLOCK);
		if (n > len - pos)
			n = len - pos;
		if (all_zero(buf + pos, n)) {
			if (pos > run && archive_write_data_block(disk, buf + run,
			    pos - run, off + (int64_t)run) < ARCHIVE_OK)
				return ARCHIVE_FATAL;
			run = pos + n;
		}
		pos += n;
	}
	if (pos > run && archive_write_data_block(disk, buf + run, pos - run,
	    off + (int64_t)run) < ARCHIVE_OK)
		return ARCHIVE_FATAL;
	return ARCHIVE_OK;
}

/*
 * The entry's data from the stream to the disk; an ARCHIVE_ status. A
 * failed write(2) (disk full, EIO, quota) is only ARCHIVE_WARN from the
 * disk writer, and the finish of a file that ends in a hole would then
 * cover the missing tail with one: any status short of OK fails the entry.
 */
static int
copy_data(struct archive *in, struct archive *disk)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
		if (write_runs(disk, buf, len, off) < ARCHIVE_OK)
			return ARCHIVE_FATAL;
	if (r == ARCHIVE_EOF)
		return ARCHIVE_OK;
	archive_copy_error(disk, in);
	return r;
}

/*
 * Whether a failed header is the host's doing (the restore fails) rather
 * than libarchive refusing the entry (an unsafe path: listed, counted).
 */
static bool
host_error(int e)
{
	switch (e) {
	case ENOSPC: case EDQUOT: case EROFS: case EIO: case ENOMEM:
	case EMFILE: case ENFILE: case EFBIG: case ENOBUFS: case EACCES:
	case EPERM: case EMLINK: case ENAMETOOLONG: case ESTALE:
		return true;
	default:
		return false;
	}
}

/* One entry: extracted and listed in the marker, or refused and said so. */
static int
one_entry(struct eng_extract *x, struct archive *in, struct archive *disk,
    struct archive_entry *e, struct pull_ctx *pc, char *err)
{
	const char *pn = archive_entry_pathname(e);
	char epn[4 * 4096 + 1];	/* pn escaped, for the marker */
	int r;

	if (!pn)
		pn = "(no name)";
	if (strcmp(pn + (strncmp(pn, "./", 2) == 0 ? 2 : 0),
	    ENG_EXTRACT_MARKER) == 0) {
		/* It would replace the marker, and the marker's removal it. */
		x->refused++;
		log_warn("refused: %s: the restore's own marker has that name", pn);
		fprintf(x->marker, "REFUSED %s: the restore's own marker has that "
		    "name\n", esc_name(pn, epn, sizeof(epn)));
		return 0;
	}
	if (x->filter) {
		if ((r = x->filter(x->filter_ctx, e)) <= 0)
			return r;
		if (!(pn = archive_entry_pathname(e)))
			pn = "(no name)";
	} else if (strcmp(pn, ".") == 0 || strcmp(pn, "./") == 0) {
		/* libarchive skips the root entry: apply it at the end; of a
		   chain, the last dump's. */
		struct archive_entry *root = archive_entry_clone(e);
		if (!root)
			return -ENOMEM;
		archive_entry_free(x->root);
		x->root = root;
		return 0;
	}
	if (x->dirs_writable && archive_entry_filetype(e) == AE_IFDIR)
		archive_entry_set_perm(e, archive_entry_perm(e) | 0700);
	/*
	 * Not archive_read_extract2(): it turns a refused header into a
	 * warning, and the refusal would pass for a restored entry.
	 */
	abs_crash_point("restore-entry");
	r = archive_write_header(disk, e);
	if (r < ARCHIVE_WARN && host_error(archive_errno(disk))) {
		/* The target, not the entry: out of space or inodes, a
		   quota, read-only, I/O, permissions. No later entry would
		   fare better, and these are no unsafe paths (hostile13 H6). */
		int en = archive_errno(disk);
		eng_err(err, "writing %s: %s: %s", pn, archive_error_string(disk),
		    strerror(en));
		x->cut = strdup(pn);
		return -en;
	}
	if (r < ARCHIVE_WARN) {
		x->refused++;
		log_warn("refused: %s: %s", pn, archive_error_string(disk));
		fprintf(x->marker, "REFUSED %s: %s\n", esc_name(pn, epn, sizeof(epn)),
		    archive_error_string(disk));
		return 0;
	}
	if (r == ARCHIVE_WARN)
		log_warn("%s: %s", pn, archive_error_string(disk));
	r = copy_data(in, disk);
	if (pc->failed) {
		x->cut = strdup(pn);
		return -EIO;
	}
	if (r < ARCHIVE_WARN) {
		/* The disk failed (full, I/O): no later entry would fare better.
		   libarchive says only "Write failed": the errno says why. */
		int en = archive_errno(disk);
		eng_err(err, "writing %s: %s%s%s", pn, archive_error_string(disk),
		    en > 0 ? ": " : "", en > 0 ? strerror(en) : "");
		x->cut = strdup(pn);
		return en > 0 ? -en : -EIO;
	}
	/*
	 * A warning here is metadata the target cannot hold (an ACL, an
	 * xattr, a time): the data is whole. Worse is a failed close or
	 * truncate, and the entry is not restored.
	 */
	r = archive_write_finish_entry(disk);
	if (r < ARCHIVE_WARN) {
		int en = archive_errno(disk);
		eng_err(err, "finishing %s: %s%s%s", pn, archive_error_string(disk),
		    en > 0 ? ": " : "", en > 0 ? strerror(en) : "");
		x->cut = strdup(pn);
		return en > 0 ? -en : -EIO;
	}
	if (r == ARCHIVE_WARN)
		log_warn("%s: %s", pn, archive_error_string(disk));
	x->restored++;
	fprintf(x->marker, "%s\n", esc_name(pn, epn, sizeof(epn)));
	return 0;
}

int
eng_extract_run(struct eng_extract *x,
    long (*pull)(void *ctx, const void **buf), void *ctx, char *err)
{
	struct archive *in = archive_read_new();
	struct archive *disk = archive_write_disk_new();
	struct archive_entry *e;
	struct pull_ctx pc = { pull, ctx, false };
	/*
	 * No ARCHIVE_EXTRACT_UNLINK: with it, an entry through a symlink
	 * makes libarchive replace the symlink by a directory instead of
	 * refusing the entry. A file in the way is still replaced.
	 */
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
	    ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |
	    ARCHIVE_EXTRACT_FFLAGS |
	    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	int rc = 0, cwd = -1, r;

	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (!in || !disk) {
		rc = -ENOMEM;
		goto out;
	}
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(x->dirfd) < 0) {
		rc = -errno;
		eng_err(err, "%s: %s", x->to, strerror(errno));
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(disk, flags);
	archive_write_disk_set_standard_lookup(disk);
	if (archive_read_open(in, &pc, NULL, extract_read, NULL) != ARCHIVE_OK) {
		if (!pc.failed)
			eng_err(err, "restore stream: %s", archive_error_string(in));
		rc = -EIO;
		goto out;
	}
	while ((r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			/* The stream's own reason stays in err. */
			if (!pc.failed)
				eng_err(err, "restore stream: %s",
				    archive_error_string(in));
			rc = -EIO;
			break;
		}
		if ((rc = one_entry(x, in, disk, e, &pc, err)) < 0)
			break;
	}
	if (archive_write_close(disk) != ARCHIVE_OK && !rc) {
		int en = archive_errno(disk);
		eng_err(err, "finishing restore: %s%s%s",
		    archive_error_string(disk), en > 0 ? ": " : "",
		    en > 0 ? strerror(en) : "");
		rc = en > 0 ? -en : -EIO;
	}
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0 && !rc)
			rc = -errno;
		close(cwd);
	}
	archive_read_free(in);
	archive_write_free(disk);
	return rc;
}

/* The dump root's owner, mode and times onto the directory. */
static void
apply_root(struct eng_extract *x)
{
	struct archive_entry *root = x->root;
	struct timespec ts[2] = {
		{ archive_entry_atime(root), archive_entry_atime_nsec(root) },
		{ archive_entry_mtime(root), archive_entry_mtime_nsec(root) },
	};

	if (geteuid() == 0 && fchown(x->dirfd, archive_entry_uid(root),
	    archive_entry_gid(root)) < 0)
		log_warn("%s: chown: %s", x->to, strerror(errno));
	if (fchmod(x->dirfd, archive_entry_perm(root)) < 0 ||
	    futimens(x->dirfd, ts) < 0)
		log_warn("%s: %s", x->to, strerror(errno));
}

int
eng_extract_finish(struct eng_extract *x, int rc, char *err)
{
	char why[ENG_ERRLEN], cut[4 * 4096 + 1];

	if (rc == 0) {
		fclose(x->marker);
		x->marker = NULL;
		if (unlinkat(x->dirfd, ENG_EXTRACT_MARKER, 0) < 0) {
			eng_err(err, "%s/%s: %s", x->to, ENG_EXTRACT_MARKER,
			    strerror(errno));
			return -errno;
		}
		if (x->root && x->root_onto)
			apply_root(x);
		else if (x->root)
			log_info("%s existed: its owner and mode are kept, not "
			    "the dump's", x->to);
		return 0;
	}
	snprintf(why, sizeof(why), "%s", err[0] ? err : strerror(-rc));
	fprintf(x->marker, "FAILED: %s\n", why);
	if (rc == -EPERM && x->refused && !x->cut) {
		/* Every other entry is in and proven; the marker stays until
		   the operator decides (--allow-refused takes them as they
		   are). */
		fprintf(x->marker, "REFUSED: the entries listed so above were "
		    "not written; every other entry was restored and proven.\n");
		fflush(x->marker);
		fsync(fileno(x->marker));
		eng_err(err, "%s; the tree in %s stays marked incomplete (%s/%s "
		    "names the refused entries)", why, x->to, x->to,
		    ENG_EXTRACT_MARKER);
		return rc;
	}
	if (x->cut)
		fprintf(x->marker, "CUT SHORT: %s (the restore failed inside it)\n",
		    esc_name(x->cut, cut, sizeof(cut)));
	fprintf(x->marker, "NOT RESTORED: every entry of the dump after the "
	    "last one listed above.\n");
	fflush(x->marker);
	fsync(fileno(x->marker));
	eng_err(err, "%s; restore INCOMPLETE: %llu entries restored into %s%s%s, "
	    "the rest of the dump was not (%s/%s says what)", why,
	    (unsigned long long)x->restored, x->to, x->cut ? ", cut short in " :
	    "", x->cut ? x->cut : "", x->to, ENG_EXTRACT_MARKER);
	return rc;
}

int
eng_extract_refusals(uint64_t refused, uint64_t restored, const char *what,
    char *err)
{
	if (!refused)
		return 0;
	eng_err(err, "%llu entr%s of the %s refused (listed above: unsafe paths "
	    "are not written); the other %llu restored",
	    (unsigned long long)refused, refused == 1 ? "y" : "ies", what,
	    (unsigned long long)restored);
	return -EPERM;
}
