/* Dump sources: a file, a command's stdout, or a directory tree as pax. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "catalog/fileindex.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/prefetch.h"
#include "engine/source.h"
#include "engine/tape.h"

void
eng_free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

int
eng_split_argv(const char *line, char ***out)
{
	size_t n = 0, cap = 8, len = strlen(line);
	char **argv = calloc(cap, sizeof(*argv));
	char *word = malloc(len + 1);
	const char *p = line;

	*out = NULL;
	if (!argv || !word)
		goto nomem;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		size_t w = 0;
		char q = 0;
		for (; *p; p++) {
			if (q) {
				if (*p == q)
					q = 0;
				else if (*p == '\\' && q == '"' && p[1])
					word[w++] = *++p;
				else
					word[w++] = *p;
			} else if (*p == '\'' || *p == '"') {
				q = *p;
			} else if (*p == '\\' && p[1]) {
				word[w++] = *++p;
			} else if (*p == ' ' || *p == '\t' || *p == '\n') {
				break;
			} else {
				word[w++] = *p;
			}
		}
		if (q) {
			free(word);
			eng_free_argv(argv);
			return -EINVAL;
		}
		word[w] = '\0';
		if (n + 2 > cap) {
			char **nv = realloc(argv, (cap *= 2) * sizeof(*argv));
			if (!nv)
				goto nomem;
			argv = nv;
		}
		if (!(argv[n++] = strdup(word)))
			goto nomem;
		argv[n] = NULL;
	}
	free(word);
	if (n == 0) {
		eng_free_argv(argv);
		return -EINVAL;
	}
	*out = argv;
	return 0;
nomem:
	free(word);
	eng_free_argv(argv);
	return -ENOMEM;
}

/* Path of entry relative to the dump root: "." or "./sub/file", in *buf
   of *cap bytes, made larger if it must (a path may be longer than
   PATH_MAX). 0 or -ENOMEM. */
static int
relative_name(const char *root, const char *path, char **buf, size_t *cap)
{
	size_t rl = strlen(root), need = strlen(path) + 3;

	if (need > *cap) {
		char *nb = realloc(*buf, need);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = need;
	}
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (strncmp(path, root, rl) == 0 && (path[rl] == '/' || !path[rl]))
		snprintf(*buf, *cap, ".%s", path + rl);
	else
		snprintf(*buf, *cap, "./%s", path);
	return 0;
}

/* Write n zero bytes into the archive entry (a sparse file's hole). */
static int
write_zeros(struct archive *out, int64_t n)
{
	static const char zeros[65536];

	while (n > 0) {
		size_t k = n > (int64_t)sizeof(zeros) ? sizeof(zeros) : (size_t)n;
		if (archive_write_data(out, zeros, k) < 0)
			return -EIO;
		n -= (int64_t)k;
	}
	return 0;
}

/*
 * Did the file change while it was read (a log rotated, a database
 * compacted)? A file that shrank is in the dump padded with zeros: say so,
 * as tar does, by name. fd: the file as read. 1 if it changed, else 0.
 */
static int
changed_while_read(struct archive_entry *w, const char *name, int fd)
{
	int64_t size = archive_entry_size(w);
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	if (sb.st_size < size) {
		log_warn("archive: %s shrank by %lld bytes while it was read: "
		    "zeros stand for them in this dump", name,
		    (long long)(size - sb.st_size));
		return 1;
	}
	if (sb.st_size != size || sb.st_ctim.tv_sec != archive_entry_ctime(w) ||
	    sb.st_ctim.tv_nsec != archive_entry_ctime_nsec(w)) {
		log_warn("archive: %s changed while it was read: the dump holds "
		    "it as read", name);
		return 1;
	}
	return 0;
}

/*
 * Open rel from the directory start a directory at a time, the last name
 * with flags. beneath: through no link and never up (O_NOFOLLOW at each
 * step, ".." refused with EXDEV). -1 and errno if not.
 */
static int
open_stepwise(int start, const char *rel, int flags, bool beneath)
{
	const int nofollow = beneath ? O_NOFOLLOW : 0;
	char *copy = strdup(rel), *p, *slash;
	int dfd, fd = -1, e;

	if (!copy)
		return -1;
	dfd = fcntl(start, F_DUPFD_CLOEXEC, 0);
	for (p = copy; dfd >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
		*slash = '\0';
		if (!*p || strcmp(p, ".") == 0)
			continue;
		int nd = beneath && strcmp(p, "..") == 0 ? (errno = EXDEV, -1) :
		    openat(dfd, p, O_PATH | O_DIRECTORY | O_CLOEXEC | nofollow);
		e = errno;
		close(dfd);
		errno = e;
		dfd = nd;
	}
	if (dfd >= 0) {
		fd = beneath && strcmp(p, "..") == 0 ? (errno = EXDEV, -1) :
		    openat(dfd, *p ? p : ".", flags | nofollow);
		e = errno;
		close(dfd);
		errno = e;
	}
	e = errno;
	free(copy);
	errno = e;
	return fd;
}

/*
 * Open path, longer than the kernel takes whole (libarchive's walk goes
 * down by directory descriptors): a directory at a time.
 */
static int
open_long(const char *path, int flags)
{
	int start = open(*path == '/' ? "/" : ".", O_PATH | O_DIRECTORY |
	    O_CLOEXEC), fd, e;

	if (start < 0)
		return -1;
	fd = open_stepwise(start, path, flags, false);
	e = errno;
	close(start);
	errno = e;
	return fd;
}

struct dir_cache {	/* the directory of the last file opened */
	char *path;
	int fd;		/* O_PATH, or -1 */
	int root;	/* the tree's root (O_PATH), or -1 */
	const char *rootpath;
	size_t rootlen;	/* without trailing slashes */
};

/* src's path below the tree's root ("" for the root), or NULL. */
static const char *
in_tree(const struct dir_cache *dc, const char *src)
{
	if (dc->root < 0 || strncmp(src, dc->rootpath, dc->rootlen) != 0 ||
	    (src[dc->rootlen] && src[dc->rootlen] != '/' &&
	    dc->rootpath[dc->rootlen - 1] != '/'))
		return NULL;
	src += dc->rootlen;
	while (*src == '/')
		src++;
	return src;
}

/*
 * Open rel below root with flags, through no symbolic link (a directory
 * of the tree swapped for a link since the walk looked at it must not
 * take the dump out of the tree): openat2's RESOLVE_NO_SYMLINKS, else a
 * directory at a time, each with O_NOFOLLOW. -1 and errno if not.
 */
static int
open_beneath(int root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!*rel)
		rel = ".";
	fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != ENAMETOOLONG &&
	    errno != EPERM))
		return fd;
	return open_stepwise(root, rel, flags, true);
}

/* The descriptor (O_PATH) of path's first dl bytes, a directory: the
   cached one if it is that directory, else opened (beneath: below the
   root through no link) and cached. -1 and errno if not. */
static int
cache_dir(struct dir_cache *dc, const char *path, size_t dl, bool beneath)
{
	const int how = O_PATH | O_DIRECTORY | O_CLOEXEC;

	if (dc->path && strncmp(dc->path, path, dl) == 0 && !dc->path[dl])
		return dc->fd;
	char *dir = strndup(path, dl);
	if (!dir)
		return -1;
	if (dc->fd >= 0)
		close(dc->fd);
	free(dc->path);
	dc->path = dir;
	if (beneath)
		dc->fd = open_beneath(dc->root, dir, how);
	else if ((dc->fd = open(dir, how)) < 0 && errno == ENAMETOOLONG)
		dc->fd = open_long(dir, how);
	return dc->fd;
}

/*
 * Open a file in the tree (src: its path as the walk gives it) as
 * open_entry wants it:
 * through the descriptor of its directory, kept while files of the same
 * directory follow (the walk gives a directory's files together), which
 * spares the kernel the whole path's lookup at every file.
 */
static int
open_cached(struct dir_cache *dc, const char *src)
{
	const int how = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	const char *rel = in_tree(dc, src);
	int fd;

	if (rel) {
		/* Below the root, through no link. */
		const char *slash = strrchr(rel, '/');
		size_t dl = slash ? (size_t)(slash - rel) : 0;
		if (!slash)
			return openat(dc->root, rel, how);
		int dfd = cache_dir(dc, rel, dl, true);
		return dfd < 0 ? -1 : openat(dfd, slash + 1, how);
	}
	const char *slash = strrchr(src, '/');
	size_t dl = slash ? (size_t)(slash - src) : 0;

	if (!slash || dl == 0)
		goto whole;
	int dfd = cache_dir(dc, src, dl, false);
	if (dfd < 0)
		goto whole;
	return openat(dfd, slash + 1, how);
whole:
	fd = open(src, how);
	if (fd < 0 && errno == ENAMETOOLONG)
		fd = open_long(src, how);
	return fd;
}

static void
dir_cache_clear(struct dir_cache *dc)
{
	if (dc->fd >= 0)
		close(dc->fd);
	free(dc->path);
	dc->path = NULL;
	dc->fd = -1;
}

/*
 * What the walk leaves to this (walk_filter): flags, ACLs and xattrs into
 * e, through fd (-1: by the path, as libarchive does when it cannot open
 * the file), as stat st. A failure is a warning, as the walk gives it: the
 * entry goes in with what was read.
 */
static void
read_meta(struct archive *meta, struct archive_entry *e, int fd,
    const struct stat *st, const char *name, int *warnings)
{
	/*
	 * Most files have no xattrs, and then no ACL either (an ACL is an
	 * xattr, listed with the others): one flistxattr here saves the
	 * ACL's fgetxattr and fstat (libacl builds a plain ACL from the mode
	 * when there is none; the entry is the same without it). Any xattr
	 * at all, or no answer: libarchive reads both as the walk did.
	 */
	int meta_flags = ARCHIVE_READDISK_NO_SPARSE;
	if (fd >= 0 && flistxattr(fd, NULL, 0) == 0)
		meta_flags |= ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_XATTR;
	archive_read_disk_set_behavior(meta, meta_flags);
	if (archive_read_disk_entry_from_file(meta, e, fd, st) < ARCHIVE_OK) {
		log_warn("archive: warning: %s: %s", name,
		    archive_error_string(meta));
		(*warnings)++;
	}
}

/* Did an open below the root fail as the tree changed under the walk (a
   link, or no directory, on the way now)? */
static bool
moved_away(int e)
{
	return e == ELOOP || e == EXDEV || e == ENOTDIR;
}

/*
 * A regular file, opened once here for its metadata and its data: the
 * walk (walk_filter) only lstats it, and meta, a second read-disk handle
 * outside any walk, reads its flags, ACLs and xattrs through this
 * descriptor, as the walk would have through one of its own; the data is
 * read through it after. The entry's stat becomes the descriptor's (the
 * same file, unless it was replaced since the walk's lstat: then the
 * header is of the file that is read). The descriptor, or -1: then meta
 * reads what it can by path (an unreadable file still has its ACLs and
 * xattrs; its data is warned about if it has any). *sb: its fstat.
 */
static int
open_entry(struct archive *meta, struct dir_cache *dc, struct archive_entry *e,
    const char *name, struct stat *sb, int *warnings)
{
	const char *src = archive_entry_sourcepath(e);
	int fd;

	fd = src ? open_cached(dc, src) : -1;
	if (fd >= 0 && (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode))) {
		close(fd);
		fd = -1;
		errno = EAGAIN;	/* no longer a regular file */
	}
	int e_open = errno;
	/* Not opened: the walk's lstat stands. Not by path if a link is
	   on the way now (that path leads out of the tree). */
	if (fd >= 0 || !moved_away(e_open))
		read_meta(meta, e, fd, fd >= 0 ? sb : archive_entry_stat(e),
		    name, warnings);
	errno = e_open;
	return fd;
}

/*
 * A directory's flags, ACLs (its default ACL too) and xattrs, as the walk
 * would have read them, through a descriptor opened here once (the walk
 * opens it, then goes there and back by fchdir for the default ACL, and
 * libacl stats it again, when it has no xattrs at all: most have none).
 */
static void
dir_meta(struct archive *meta, const struct dir_cache *dc,
    struct archive_entry *e, const char *name, int *warnings)
{
	const int how = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC;
	const char *src = archive_entry_sourcepath(e);
	const char *rel = src ? in_tree(dc, src) : NULL;
	int fd = rel ? open_beneath(dc->root, rel, how) :
	    src ? open(src, how) : -1;

	if (fd < 0 && rel && moved_away(errno)) {
		log_warn("archive: warning: %s: %s", name, strerror(errno));
		(*warnings)++;
		return;
	}

	read_meta(meta, e, fd, archive_entry_stat(e), name, warnings);
	if (fd >= 0)
		close(fd);
}

/*
 * A regular file's data is read through fd (open_entry's), and only a
 * file with fewer blocks than its size can have holes: only such a file
 * is probed (SEEK_DATA/SEEK_HOLE, not libarchive's six lseeks a file),
 * and its map goes into the entry before the header (pax keeps the
 * holes). fd, or -1 if it was not opened (said why, as a warning).
 */
static int
open_data(int fd, const struct stat *sb, struct archive_entry *e,
    const char *name, int *warnings)
{
	int64_t size = archive_entry_size(e);

	if (fd < 0) {
		log_warn("archive: %s: %s", name, errno == EAGAIN ?
		    "no longer a regular file" : strerror(errno));
		(*warnings)++;
		return -1;
	}
	if ((int64_t)sb->st_blocks * 512 >= size)
		return fd;
	for (off_t s = 0, h; s < size; s = h) {
		if ((s = lseek(fd, s, SEEK_DATA)) < 0) {
			if (errno != ENXIO)
				goto nomap;
			break;	/* a hole to the end */
		}
		if ((h = lseek(fd, s, SEEK_HOLE)) < 0)
			goto nomap;
		if (s == 0 && h >= size)
			break;	/* no hole after all */
		if (h > size)
			h = size;
		archive_entry_sparse_add_entry(e, s, h - s);
	}
	/* All a hole: one empty piece, as libarchive gives it. */
	if (archive_entry_sparse_count(e) == 0 && lseek(fd, 0, SEEK_DATA) < 0 &&
	    errno == ENXIO)
		archive_entry_sparse_add_entry(e, 0, 0);
	return fd;
nomap:
	/* No hole probing on this file system: its data, zeros and all. */
	archive_entry_sparse_clear(e);
	return fd;
}

/*
 * The walk's behaviour, set again for each entry once its type is known
 * (libarchive calls this after its lstat, before it reads the rest): a
 * regular file's flags, ACLs and xattrs are read by open_entry, through
 * the descriptor its data is read by, not through a second open here;
 * a directory's by dir_meta, unless its path is too long to open whole
 * (the walk reaches it from its parent); every other entry is read by
 * the walk as before. *arg (bool): left to this code.
 */
#define WALK_FLAGS (ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | \
    ARCHIVE_READDISK_NO_SPARSE)
static int
walk_filter(struct archive *disk, void *arg, struct archive_entry *e)
{
	bool *left = arg;
	const char *path = archive_entry_pathname(e);

	*left = archive_entry_filetype(e) == AE_IFREG ||
	    (archive_entry_filetype(e) == AE_IFDIR && path &&
	    strlen(path) < PATH_MAX - 1);
	archive_read_disk_set_behavior(disk, *left ? WALK_FLAGS |
	    ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
	    ARCHIVE_READDISK_NO_FFLAGS : WALK_FLAGS);
	return 1;
}

/* Read up to n bytes at off into buf; the bytes read, 0 at its end, -errno. */
static ssize_t
read_at(int fd, void *buf, size_t n, int64_t off)
{
	ssize_t r;

	do
		r = pread(fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

#define COPY_BUF (256u << 10)	/* read at once from a file */

/*
 * The archive's way into the pipe to the engine. libarchive is given no
 * blocking of its own: it hands every piece (headers, padding, data) to
 * stage_write, which gathers them in chunks of a ring and gives each full
 * chunk to the pipe with vmsplice(2): the pipe takes references to the
 * ring's pages, not a copy, and the engine's read copies them out once
 * (a write(2) copies them into pages the pipe allocates, charges and
 * frees: about a third of the dump's CPU on a warm tree). A file's data
 * is read straight into the ring (stage_space), so that libarchive's
 * data call hands back what is already in place: one copy from the page
 * cache to the pipe's reader instead of three.
 *
 * A chunk is written again only after more than the pipe can hold has
 * gone in behind it: a pipe holds at most its size in pages, so by then
 * the reader has copied the chunk out; the pipe's size is looked at
 * again after each chunk (its reader may make it larger). (Nothing may
 * splice or tee the pipe onwards: the references would outlive the
 * pipe.) The bytes are
 * the ones a blocked writer sends, no padding. Not a pipe (a file, in
 * tests): plain writes of the same chunks.
 */
#define STAGE_CHUNK (256u << 10)

struct stage {
	int fd;
	bool splice;		/* vmsplice works on fd */
	int psz;		/* the pipe's size the ring is made for */
	char *ring, *old;	/* old: a ring left for a larger pipe */
	size_t nchunks, chunk;	/* chunks in the ring; the one filling */
	size_t fill;		/* bytes in it */
	size_t old_len;
};

static int stage_ring(struct stage *st, int psz);

/* Send bytes [0, n) of the filling chunk; move to the next. 0, -errno. */
static int
stage_flush(struct stage *st, size_t n)
{
	char *p = st->ring + st->chunk * STAGE_CHUNK;
	size_t off = 0;

	while (off < n) {
		ssize_t k;
		if (st->splice) {
			struct iovec iov = { p + off, n - off };
			k = vmsplice(st->fd, &iov, 1, 0);
			if (k < 0 && off == 0 && errno != EINTR &&
			    errno != EAGAIN && errno != EPIPE) {
				st->splice = false;	/* not a pipe */
				continue;
			}
		} else {
			k = write(st->fd, p + off, n - off);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += (size_t)k;
	}
	st->chunk = (st->chunk + 1) % st->nchunks;
	st->fill = 0;
	/*
	 * The reader may have made the pipe larger (F_SETPIPE_SZ): then
	 * it can hold pages of the chunk about to be filled. A new ring,
	 * made for that size; the pipe keeps the old one's pages it holds.
	 */
	int psz;
	if (st->splice && (psz = fcntl(st->fd, F_GETPIPE_SZ)) > st->psz) {
		if (st->old)
			munmap(st->old, st->old_len);
		st->old = st->ring;
		st->old_len = st->nchunks * STAGE_CHUNK;
		if (stage_ring(st, psz) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Where the next bytes of the archive go, and how many fit (> 0). */
static char *
stage_space(struct stage *st, size_t *avail, int *rc)
{
	*rc = 0;
	if (st->fill == STAGE_CHUNK && (*rc = stage_flush(st, STAGE_CHUNK)) < 0)
		return NULL;
	*avail = STAGE_CHUNK - st->fill;
	return st->ring + st->chunk * STAGE_CHUNK + st->fill;
}

/* libarchive's write callback: every byte of the archive, in order. */
static la_ssize_t
stage_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct stage *st = arg;
	size_t done = 0, avail;
	int rc;

	while (done < len) {
		char *dst = stage_space(st, &avail, &rc);
		if (!dst) {
			archive_set_error(a, -rc, "writing the archive: %s",
			    strerror(-rc));
			return -1;
		}
		size_t k = len - done < avail ? len - done : avail;
		/* Data read in place by stage_space's caller: already there
		   (memmove: a piece of the ring may come back shifted). */
		if ((const char *)buf + done != dst)
			memmove(dst, (const char *)buf + done, k);
		st->fill += k;
		done += k;
	}
	return (la_ssize_t)len;
}

/* libarchive's close callback: the last, partial chunk. */
static int
stage_close(struct archive *a, void *arg)
{
	struct stage *st = arg;
	int rc;

	if (st->fill && (rc = stage_flush(st, st->fill)) < 0) {
		archive_set_error(a, -rc, "writing the archive: %s",
		    strerror(-rc));
		return ARCHIVE_FATAL;
	}
	return ARCHIVE_OK;
}

/* The ring for a pipe of psz bytes (0: not a pipe), from its first
   chunk: 0 or -ENOMEM. */
static int
stage_ring(struct stage *st, int psz)
{
	st->psz = psz;
	/* Twice what the pipe holds, and a chunk more (see above). */
	st->nchunks = psz > 0 ? 2 * ((size_t)psz + STAGE_CHUNK - 1) /
	    STAGE_CHUNK + 1 : 2;
	st->chunk = 0;
	st->ring = mmap(NULL, st->nchunks * STAGE_CHUNK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->ring == MAP_FAILED) {
		st->ring = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A stage on fd: 0 or -ENOMEM. */
static int
stage_init(struct stage *st, int fd)
{
	int psz = fcntl(fd, F_GETPIPE_SZ);

	memset(st, 0, sizeof(*st));
	st->fd = fd;
	st->splice = psz > 0;
	return stage_ring(st, psz > 0 ? psz : 0);
}

static void
stage_free(struct stage *st)
{
	if (st->ring)
		munmap(st->ring, st->nchunks * STAGE_CHUNK);
	if (st->old)
		munmap(st->old, st->old_len);
	st->ring = st->old = NULL;
}

/* One entry into the archive: its header, then its data from fd (-1:
   none, or it could not be opened: zeros stand for it), read straight
   into the stage; a sparse file's through buf (COPY_BUF bytes): pax puts
   the map before its data, which would land where the data was read. */
static int
copy_entry(int fd, struct stage *st, char *buf, struct archive *out,
    struct archive_entry *w, const char *name, int *warnings, int *changed)
{
	int64_t size = archive_entry_size(w), done = 0, end = 0, off, len;
	int rc = 0, err = 0;

	if (archive_write_header(out, w) < ARCHIVE_WARN) {
		log_warn("archive: %s: %s", name, archive_error_string(out));
		return -EIO;
	}
	if (size <= 0 || fd < 0)
		goto finish;
	/* The data pieces in order (one, the whole file, if no map); holes
	   go in as zeros: pax keeps them as holes. */
	archive_entry_sparse_reset(w);
	bool map = archive_entry_sparse_count(w) > 0;
	while (!rc && !err && !end) {
		if (map) {
			if (archive_entry_sparse_next(w, &off, &len) != ARCHIVE_OK)
				break;
		} else {
			off = 0;
			len = size;
		}
		if (off > size)
			off = size;
		if (len > size - off)
			len = size - off;
		if (write_zeros(out, off - done) < 0)
			rc = -EIO;
		done = off;
		while (!rc && len > 0) {
			size_t bufsz = COPY_BUF;
			char *to = map ? buf : stage_space(st, &bufsz, &rc);
			if (!to)
				break;
			ssize_t n = read_at(fd, to, len < (int64_t)bufsz ?
			    (size_t)len : bufsz, done);
			if (n <= 0) {
				if (n < 0)
					err = (int)-n;
				end = 1;	/* shrank: zeros to its size */
				break;
			}
			if (archive_write_data(out, to, (size_t)n) < 0)
				rc = -EIO;
			done += n;
			len -= n;
		}
		if (!map)
			break;
	}
	if (rc)
		log_warn("archive: %s: %s", name, archive_error_string(out));
	else if (err) {
		log_warn("archive: %s: %s", name, strerror(err));
		(*warnings)++;
	} else {
		if (write_zeros(out, size - done) < 0)
			rc = -EIO;
		*changed += changed_while_read(w, name, fd);
	}
finish:
	/* Its padding out now: the archive's byte count is where the next
	   header starts (the index's raw_end). */
	if (!rc && archive_write_finish_entry(out) < ARCHIVE_WARN) {
		log_warn("archive: %s: %s", name, archive_error_string(out));
		rc = -EIO;
	}
	return rc;
}

/* The index's type of an archive entry's file type, 0 if none. */
static uint8_t
fidx_type_of(mode_t ft)
{
	switch (ft) {
	case AE_IFREG: return FIDX_REG;
	case AE_IFDIR: return FIDX_DIR;
	case AE_IFLNK: return FIDX_LNK;
	case AE_IFCHR: return FIDX_CHR;
	case AE_IFBLK: return FIDX_BLK;
	case AE_IFIFO: return FIDX_FIFO;
	case AE_IFSOCK: return FIDX_SOCK;
	default: return 0;
	}
}

/* The index entry of e as read from disk (before linkify changes it). */
static void
index_entry(struct archive_entry *e, const char *name, struct fidx_entry *x)
{
	memset(x, 0, sizeof(*x));
	x->path = name;
	x->type = fidx_type_of(archive_entry_filetype(e));
	x->mode = archive_entry_perm(e) & 07777;
	x->uid = (uint32_t)archive_entry_uid(e);
	x->gid = (uint32_t)archive_entry_gid(e);
	x->nlink = archive_entry_nlink(e);
	x->ino = (uint64_t)archive_entry_ino64(e);
	x->size = x->type == FIDX_REG && archive_entry_size(e) > 0 ?
	    (uint64_t)archive_entry_size(e) : 0;
	x->mtime = archive_entry_mtime(e);
}

/*
 * The index (idx, NULL: none) to fd: encoded, whole, or nothing. -errno;
 * a failure leaves the dump without an index, not without its archive.
 */
static int
write_index(struct fidx_builder *idx, uint64_t archive_bytes, int fd)
{
	uint8_t *enc = NULL;
	size_t len = 0, off = 0;
	int rc;

	if ((rc = fidx_builder_encode(idx, archive_bytes, &enc, &len)) < 0) {
		log_warn("archive: the file index cannot be encoded (%s): the "
		    "dump has none", strerror(-rc));
		return rc;
	}
	while (off < len) {
		ssize_t n = write(fd, enc + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			log_warn("archive: writing the file index: %s",
			    strerror(-rc));
			free(enc);
			return rc;
		}
		off += (size_t)n;
	}
	free(enc);
	return 0;
}

static int64_t cached_bytes(int fd, int64_t size);

/*
 * The read-ahead (prefetch.h) lists the tree a second time and opens
 * files in threads of its own: worth it on a cold tree, only a cost on a
 * warm one. It starts with the first file found not all in the page
 * cache, looked at among the first PF_FIRST regular files and then one
 * in PF_EVERY (the walk's reads would be slow from there on).
 */
#define PF_FIRST 8
#define PF_EVERY 32
static bool
file_cold(int fd, int64_t size)
{
	int64_t c;

	if (size <= 0)
		return false;
	c = cached_bytes(fd, size);
	return c < 0 || c < size;	/* unknown (no cachestat): cold */
}

int
eng_archive_dir(const char *dir, time_t since, int fd, int idxfd)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *meta = archive_read_disk_new();
	struct archive *out = archive_write_new();
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	struct archive_entry *e, *spare = NULL;
	struct fidx_builder *idx = NULL;
	struct eng_prefetch *pf = NULL;
	struct fidx_entry xe;
	struct dir_cache dc = { NULL, -1, -1, dir, strlen(dir) };
	struct stage stg = { .ring = NULL };
	size_t name_cap = 4096;
	char *name = malloc(name_cap), *buf = malloc(COPY_BUF);
	int rc = 0, warnings = 0, changed = 0;
	uint64_t nreg = 0;	/* regular files walked */
	bool left = false;	/* the entry's metadata left to this loop */
	bool pf_tried = false;

	if (!disk || !meta || !out || !lr || !buf || !name) {
		archive_read_free(disk);
		archive_read_free(meta);
		archive_write_free(out);
		archive_entry_linkresolver_free(lr);
		free(buf);
		free(name);
		return -ENOMEM;
	}
	if (idxfd >= 0 && fidx_builder_new(&idx) < 0) {
		rc = -ENOMEM;
		goto done;
	}
	archive_write_set_format_pax_restricted(out);
	/* No blocking in libarchive: the stage sends 256 KiB chunks (a
	   quarter of the engine's wake-ups of 64 KiB ones). The bytes are
	   the same (no padding). */
	archive_write_set_bytes_per_block(out, 0);
	archive_entry_linkresolver_set_strategy(lr, archive_format(out));
	if ((rc = stage_init(&stg, fd)) < 0)
		goto done;
	if (archive_write_open2(out, &stg, NULL, stage_write, stage_close,
	    NULL) != ARCHIVE_OK) {
		log_warn("archive: %s", archive_error_string(out));
		rc = -EIO;
		goto done;
	}
	/* The tree's files are opened below its root, through no link. */
	while (dc.rootlen > 1 && dir[dc.rootlen - 1] == '/')
		dc.rootlen--;
	dc.root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_standard_lookup(disk);
	/* Holes: open_data finds them, only where there can be any. */
	archive_read_disk_set_behavior(disk, WALK_FLAGS);
	archive_read_disk_set_metadata_filter_callback(disk, walk_filter,
	    &left);
	archive_read_disk_set_symlink_physical(meta);
	archive_read_disk_set_standard_lookup(meta);
	archive_read_disk_set_behavior(meta, ARCHIVE_READDISK_NO_SPARSE);
	if (archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
		log_warn("archive: %s: %s", dir, archive_error_string(disk));
		rc = -ENOENT;
		goto done;
	}
	for (;;) {
		e = archive_entry_new();
		int r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r < ARCHIVE_WARN) {
			log_warn("archive: %s", archive_error_string(disk));
			archive_entry_free(e);
			rc = -EIO;
			break;
		}
		if (r == ARCHIVE_WARN) {
			log_warn("archive: warning: %s",
			    archive_error_string(disk));
			warnings++;
		}
		archive_read_disk_descend(disk);
		if (archive_entry_filetype(e) == AE_IFREG) {
			eng_prefetch_done(pf, archive_entry_sourcepath(e));
			nreg++;
		}
		if (relative_name(dir, archive_entry_pathname(e), &name,
		    &name_cap) < 0) {
			archive_entry_free(e);
			rc = -ENOMEM;
			break;
		}
		/* A socket has no content and pax has no form for it: left
		   out, as tar leaves it out ("socket ignored"), not the dump. */
		if (archive_entry_filetype(e) == AE_IFSOCK) {
			log_warn("archive: %s: socket ignored", name);
			archive_entry_free(e);
			continue;
		}
		index_entry(e, name, &xe);
		/* Incremental: directories always, others if changed since
		   (at since itself too: changed in the base's second). The
		   index lists it either way. */
		if (since && archive_entry_filetype(e) != AE_IFDIR &&
		    archive_entry_mtime(e) < since && archive_entry_ctime(e) < since) {
			archive_entry_free(e);
			if (idx && xe.type && fidx_builder_add(idx, &xe) < 0)
				rc = -ENOMEM;
			if (rc)
				break;
			continue;
		}
		archive_entry_set_pathname(e, name);
		if (left && archive_entry_filetype(e) == AE_IFDIR)
			dir_meta(meta, &dc, e, name, &warnings);
		/* A regular file's flags, ACLs and xattrs through the
		   descriptor its data is read by (walk_filter). */
		struct stat sb;
		int efd = -1, open_errno = 0;
		if (archive_entry_filetype(e) == AE_IFREG) {
			efd = open_entry(meta, &dc, e, name, &sb, &warnings);
			open_errno = errno;
			/* Upcoming files read ahead, many at once, while this
			   writes in order: once a file is not in memory. */
			if (!pf && !pf_tried && efd >= 0 &&
			    (nreg <= PF_FIRST || nreg % PF_EVERY == 0) &&
			    file_cold(efd, archive_entry_size(e))) {
				pf = eng_prefetch_start(dir, since, nreg);
				pf_tried = true;
			}
		}
		archive_entry_linkify(lr, &e, &spare);
		if (e) {
			xe.flags = FIDX_IN_STREAM;
			/* Of a hard-link set, the first name carries the data;
			   the others are links to it. */
			if (xe.type == FIDX_REG && !archive_entry_hardlink(e))
				xe.flags |= FIDX_HAS_DATA;
			int dfd = -1;
			if (xe.flags & FIDX_HAS_DATA && archive_entry_size(e) > 0) {
				errno = open_errno;
				dfd = open_data(efd, &sb, e, name, &warnings);
			}
			xe.raw_offset = (uint64_t)archive_filter_bytes(out, 0);
			rc = copy_entry(dfd, &stg, buf, out, e, name, &warnings,
			    &changed);
			xe.raw_end = (uint64_t)archive_filter_bytes(out, 0);
			archive_entry_free(e);
		}
		if (efd >= 0)
			close(efd);
		if (!rc && idx && xe.type && fidx_builder_add(idx, &xe) < 0)
			rc = -ENOMEM;
		if (rc)
			break;
	}
	/* Hard links whose last link was never seen. */
	for (e = NULL, archive_entry_linkify(lr, &e, &spare); e;
	    e = NULL, archive_entry_linkify(lr, &e, &spare)) {
		archive_write_header(out, e);
		archive_entry_free(e);
	}
	if (archive_write_close(out) != ARCHIVE_OK && !rc)
		rc = -EIO;
	/* The archive is whole: its index after it (a separate descriptor:
	   the engine appends it to the stream with the frame table). */
	if (!rc && idx)
		write_index(idx, (uint64_t)archive_filter_bytes(out, -1), idxfd);
done:
	if (pf) {
		struct eng_prefetch_stats st;
		eng_prefetch_stop(pf, &st);
		log_debug("read-ahead: %llu files, %llu asked of the kernel ahead "
		    "of the archive, %llu out of the walk's order, %llu before "
		    "the walk", 
		    (unsigned long long)st.files,
		    (unsigned long long)st.read_ahead,
		    (unsigned long long)st.out_of_order,
		    (unsigned long long)st.behind);
	}
	free(buf);
	free(name);
	dir_cache_clear(&dc);
	if (dc.root >= 0)
		close(dc.root);
	fidx_builder_free(idx);
	archive_entry_linkresolver_free(lr);
	archive_read_free(disk);
	archive_read_free(meta);
	archive_write_free(out);
	stage_free(&stg);
	if (!rc && warnings)
		log_warn("archive: %d warnings", warnings);
	return rc ? rc : changed;
}

/*
 * The source's child: runs argv (cmd:) or walks s->path (dir:) into out.
 * It keeps only stdin, out as stdout and stderr: the engine's descriptors
 * (its drive's and cartridge's locks, the device, the pipe's read end)
 * stay with the engine. A tree walker never execs, and a copy of a lock
 * here would make the engine's own changer refuse to unload the cartridge
 * the engine let go of; a read end here would keep a walker whose engine
 * died writing. Closing `done` last tells the engine the copies are gone.
 */
static void __attribute__((noreturn))
child_run(struct eng_source *s, int out, int done, char **argv, time_t since)
{
	sigset_t none;
	int ix = -1;

	/* Signals as a fresh process has them (a media server blocks
	 * SIGHUP for its own use). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* The index's descriptor becomes 4 (a tree only), out of the way of
	   the dup2s first. */
	if (!argv && s->idx_fd >= 0 && (ix = fcntl(s->idx_fd, F_DUPFD, 10)) < 0)
		_exit(126);
	if (dup2(out, 1) < 0 || dup2(done, 3) < 0 ||
	    (ix >= 0 && dup2(ix, 4) < 0))
		_exit(126);
	util_close_from(ix >= 0 ? 5 : 4);
	close(3);	/* after close_from returned: the locks are let go */
	if (argv) {
		/* cmd: no capabilities, the --cmd-user's ids. */
		if (priv_exec_child() < 0)
			_exit(126);
		execvp(argv[0], argv);
		log_warn("cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	char perr[PRIV_ERRLEN];
	if (priv_engine_child(PRIV_DUMP, perr) < 0) {
		log_warn("archive: %s", perr);
		_exit(1);
	}
	int arc = eng_archive_dir(s->path, since, 1, ix >= 0 ? 4 : -1);
	_exit(arc < 0 ? 1 : arc > 0 ? ENG_SOURCE_CHANGED : 0);
}

/*
 * Fork the source's child writing into p[1]; s->fd gets p[0]. Returns
 * once the child has closed its copies of the engine's descriptors, so
 * that whatever the engine closes after this (a cartridge it gives back)
 * is free at once: without the wait, a child not yet scheduled still held
 * the drive's lock when the engine, finding its cartridge full, asked the
 * changer to unload it (seen under load as 53/02, "Medium removal
 * prevented").
 */
static int
child_fork(struct eng_source *s, int p[2], char **argv, time_t since,
    char *err)
{
	int done[2], e;
	char c;

	if (pipe2(done, O_CLOEXEC) < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		eng_err(err, "pipe: %s", strerror(e));
		return -e;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0)
		child_run(s, p[1], done[1], argv, since);
	e = errno;
	close(done[1]);
	close(p[1]);
	if (s->pid < 0) {
		s->pid = 0;
		close(done[0]);
		close(p[0]);
		eng_err(err, "fork: %s", strerror(e));
		return -e;
	}
	/* End of file once the child closed its copy of done[1] (or died). */
	while (read(done[0], &c, 1) < 0 && errno == EINTR)
		;
	close(done[0]);
	s->fd = p[0];
	return 0;
}

int
eng_source_open(const char *spec, time_t since, struct eng_source *s, char *err)
{
	int p[2], rc;
	char **argv = NULL;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->idx_fd = -1;
	if (strncmp(spec, "file:", 5) == 0) {
		snprintf(s->kind, sizeof(s->kind), "file");
		snprintf(s->path, sizeof(s->path), "%s", spec + 5);
		s->fd = open(spec + 5, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			eng_err(err, "source %s: %s", spec + 5, strerror(errno));
			return -errno;
		}
		struct stat sb;
		s->again = fstat(s->fd, &sb) == 0 &&
		    (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode));
		return 0;
	}
	/* A tree is walked again, a command run again. */
	s->again = true;
	if (strncmp(spec, "dir:", 4) == 0) {
		struct stat sb;
		snprintf(s->kind, sizeof(s->kind), "dir");
		snprintf(s->path, sizeof(s->path), "%s", spec + 4);
		if (stat(spec + 4, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			eng_err(err, "source %s: %s", spec + 4,
			    errno && !S_ISDIR(sb.st_mode) ? strerror(errno) :
			    "not a directory");
			return -ENOTDIR;
		}
		if (access(spec + 4, R_OK | X_OK) < 0) {
			eng_err(err, "source %s: %s", spec + 4, strerror(errno));
			return -errno;
		}
		/* The walker's file index comes back through this. */
		s->idx_fd = memfd_create("abs-fidx", MFD_CLOEXEC);
		if (s->idx_fd < 0) {
			eng_err(err, "memfd: %s", strerror(errno));
			return -errno;
		}
	} else if (strncmp(spec, "cmd:", 4) == 0) {
		snprintf(s->kind, sizeof(s->kind), "cmd");
		snprintf(s->path, sizeof(s->path), "%s", spec + 4);
		if (eng_split_argv(spec + 4, &argv) < 0) {
			eng_err(err, "source command is empty or badly quoted");
			return -EINVAL;
		}
	} else {
		eng_err(err, "source must be dir:PATH, cmd:'ARGV...' or file:PATH");
		return -EINVAL;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		eng_free_argv(argv);
		if (s->idx_fd >= 0)
			close(s->idx_fd);
		s->idx_fd = -1;
		return rc;
	}
	/* A larger pipe lets the producer run ahead of the engine. */
	fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	if (argv)
		priv_cmd_prepare();	/* the tape nodes it is to hide */
	rc = child_fork(s, p, argv, since, err);
	eng_free_argv(argv);
	if (rc < 0 && s->idx_fd >= 0) {
		close(s->idx_fd);
		s->idx_fd = -1;
	}
	return rc;
}

int
eng_source_open_fd(const char *spec, int fd, struct eng_source *s, char *err)
{
	struct stat sb;
	int e;

	memset(s, 0, sizeof(*s));
	s->idx_fd = -1;
	if (strncmp(spec, "file:", 5) != 0) {
		eng_err(err, "an open source must be file:PATH");
		s->fd = -1;
		return -EINVAL;
	}
	snprintf(s->kind, sizeof(s->kind), "file");
	snprintf(s->path, sizeof(s->path), "%s", spec + 5);
	/* A duplicate shares the caller's open file (its flags: O_DIRECT
	   is set per attempt); the ring reads at offsets from 0. */
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (s->fd < 0) {
		e = errno;
		eng_err(err, "source %s: %s", spec + 5, strerror(e));
		return -e;
	}
	s->again = fstat(s->fd, &sb) == 0 &&
	    (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode));
	if (s->again)
		lseek(s->fd, 0, SEEK_SET);
	return 0;
}

int
eng_direct_parse(const char *spec)
{
	if (!spec || strcmp(spec, "auto") == 0)
		return ENG_DIRECT_AUTO;
	if (strcmp(spec, "on") == 0)
		return ENG_DIRECT_ON;
	if (strcmp(spec, "off") == 0)
		return ENG_DIRECT_OFF;
	return -1;
}

#ifndef __NR_cachestat
#define __NR_cachestat 451	/* the same on every architecture (6.5) */
#endif

/*
 * Bytes of fd's file of size bytes in the page cache (cachestat, 6.5), or
 * -1: unknown. A file over 64 MiB is judged by 64 samples of 1 MiB spread
 * over it: cachestat walks every page it is asked about, and a whole
 * large file cost the dump 0.007 CPU s/GB.
 */
#define CACHE_SAMPLES 64
#define CACHE_SAMPLE (1ull << 20)
static int64_t
cached_bytes(int fd, int64_t size)
{
	struct { uint64_t off, len; } range = { 0, 0 };	/* the whole file */
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		    nr_recently_evicted;
	} cs;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), n = 0;

	if ((uint64_t)size <= CACHE_SAMPLES * CACHE_SAMPLE) {
		if (syscall(__NR_cachestat, fd, &range, &cs, 0) < 0)
			return -1;
		return (int64_t)(cs.nr_cache * pg);
	}
	for (uint64_t i = 0; i < CACHE_SAMPLES; i++) {
		range.off = ((uint64_t)size - CACHE_SAMPLE) / (CACHE_SAMPLES - 1) *
		    i / pg * pg;
		range.len = CACHE_SAMPLE;
		if (syscall(__NR_cachestat, fd, &range, &cs, 0) < 0)
			return -1;
		n += cs.nr_cache;
	}
	return (int64_t)((double)(n * pg) * (double)size /
	    (double)(CACHE_SAMPLES * CACHE_SAMPLE));
}

int
eng_source_direct(struct eng_source *s, enum eng_direct how)
{
	struct stat sb;
	int64_t size, cached;

	s->direct = false;
	s->direct_why[0] = '\0';
	if (strcmp(s->kind, "file") != 0 || s->fd < 0)
		return 0;
	if (how == ENG_DIRECT_OFF) {
		snprintf(s->direct_why, sizeof(s->direct_why), "--direct-io off");
		return 0;
	}
	if (fstat(s->fd, &sb) < 0 || !(S_ISREG(sb.st_mode) ||
	    S_ISBLK(sb.st_mode))) {
		snprintf(s->direct_why, sizeof(s->direct_why),
		    "not a regular file or block device");
		return 0;
	}
	size = S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : 0;
	if (S_ISBLK(sb.st_mode)) {
		/* The ring reads at offsets: the position is free to move. */
		size = lseek(s->fd, 0, SEEK_END);
		lseek(s->fd, 0, SEEK_SET);
	}
	/* Already in memory: a copy from the page cache beats the disk. */
	if (how == ENG_DIRECT_AUTO && size > 0 &&
	    (cached = cached_bytes(s->fd, size)) >= 0 && cached >= size / 2) {
		snprintf(s->direct_why, sizeof(s->direct_why),
		    "%lld of %lld bytes in the page cache", (long long)cached,
		    (long long)size);
		return 0;
	}
#ifdef STATX_DIOALIGN
	struct statx sx;
	if (statx(s->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && (sx.stx_dio_offset_align == 0 ||
	    sx.stx_dio_offset_align > 4096 || sx.stx_dio_mem_align > 4096)) {
		snprintf(s->direct_why, sizeof(s->direct_why), "%s",
		    sx.stx_dio_offset_align ? "direct I/O needs more than 4 KiB "
		    "alignment here" : "the file system has no direct I/O");
		return 0;
	}
#endif
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_DIRECT) < 0) {
		snprintf(s->direct_why, sizeof(s->direct_why),
		    "the file system refuses O_DIRECT (%s)", strerror(errno));
		return 0;
	}
	s->direct = true;
	return 0;
}

int
eng_source_index(struct eng_source *s, uint8_t **out, size_t *len)
{
	struct stat sb;
	uint8_t *b;
	size_t off = 0;

	*out = NULL;
	*len = 0;
	if (s->idx_fd < 0 || s->pid)
		return 0;
	if (fstat(s->idx_fd, &sb) < 0)
		return -errno;
	if (sb.st_size == 0)
		return 0;
	if (!(b = malloc((size_t)sb.st_size)))
		return -ENOMEM;
	while (off < (size_t)sb.st_size) {
		ssize_t n = pread(s->idx_fd, b + off, (size_t)sb.st_size - off,
		    (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(b);
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	*out = b;
	*len = off;
	return 0;
}

int
eng_source_close(struct eng_source *s, char *err)
{
	int status = 0;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (!s->pid)
		return s->status;
	while (waitpid(s->pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	s->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == ENG_SOURCE_CHANGED &&
	    strcmp(s->kind, "dir") == 0) {
		/* The stream is whole; some files in it are not as they are now. */
		log_warn("source %s: files changed while they were read (named "
		    "above); the dump holds them as read", s->path);
		s->changed = true;
		return 0;
	}
	if (WIFEXITED(status))
		eng_err(err, "source %s exited with status %d", s->kind,
		    WEXITSTATUS(status));
	else
		eng_err(err, "source %s killed by signal %d", s->kind,
		    WTERMSIG(status));
	/* Closed again (the engine's clean-up): the same answer, quietly. */
	s->status = -ECHILD;
	return -ECHILD;
}

void
eng_source_free(struct eng_source *s)
{
	if (s->idx_fd >= 0)
		close(s->idx_fd);
	s->idx_fd = -1;
}
