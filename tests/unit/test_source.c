/*
 * Dump sources: whether each can be read again for a re-dump (a tree, a
 * command, a regular file: yes; a pipe: no), and the bytes each gives;
 * a source's child keeps none of the engine's descriptors (a lock it kept
 * would outlive the engine's release of it); a tree's archive, read from
 * the pipe, holds each file's and directory's xattrs, ACLs and data
 * (the walker reads them through descriptors of its own).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <time.h>

#include "catalog/fileindex.h"
#include "engine/engine.h"
#include "engine/source.h"
#include "t.h"

/* Read the source to its end and close it: the byte count, or -1. */
static long
drain(struct eng_source *s)
{
	char buf[4096], err[ENG_ERRLEN];
	long total = 0;
	ssize_t n;

	while ((n = read(s->fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0 || eng_source_close(s, err) != 0)
		return -1;
	return total;
}

/* Does process pid have a descriptor open on path? */
static bool
holds(pid_t pid, const char *path)
{
	char dir[64], fdp[384], target[512];
	bool found = false;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if (!(d = opendir(dir)))
		return false;
	while (!found && (de = readdir(d))) {
		ssize_t n;
		snprintf(fdp, sizeof(fdp), "%s/%s", dir, de->d_name);
		if ((n = readlink(fdp, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			found = strcmp(target, path) == 0;
		}
	}
	closedir(d);
	return found;
}

/*
 * The engine's lock (a drive's or a cartridge's) is free as soon as the
 * engine lets it go, whatever its source's child does: a tree walker (which
 * never execs) blocked on a full pipe must not hold a copy. And the walker
 * has no copy of the pipe's read end, so when the engine goes away without
 * reading (killed), the walker's write fails and it ends.
 */
static void
child_holds_nothing(const char *dir)
{
	char lock[600], big[600], spec[600], err[ENG_ERRLEN], buf[65536];
	struct eng_source s;
	int lk, other, fd;

	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	snprintf(big, sizeof(big), "%s/big", dir);
	/* More than the pipe holds (1 MiB): the walker blocks writing. */
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	memset(buf, 'x', sizeof(buf));	/* not sparse: all of it goes */
	for (int i = 0; i < 48; i++)
		CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	close(fd);
	lk = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(lk >= 0 && flock(lk, LOCK_EX | LOCK_NB) == 0);
	snprintf(spec, sizeof(spec), "dir:%s", dir);
	CHECK_EQ(eng_source_open(spec, 0, &s, err), 0);
	CHECK(s.pid > 0);
	/* Wait until the walker has filled the pipe and blocks on it. */
	for (int i = 0; i < 500 && !holds(s.pid, big); i++)
		usleep(10000);
	CHECK(!holds(s.pid, lock));
	close(lk);
	other = open(lock, O_RDWR | O_CLOEXEC);
	CHECK(other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0);
	close(other);
	/* The engine stops reading: the walker ends (SIGPIPE), no hang. */
	alarm(30);
	close(s.fd);
	s.fd = -1;
	CHECK_EQ(eng_source_close(&s, err), -ECHILD);
	CHECK(strstr(err, "signal 13") != NULL);
	alarm(0);
	unlink(lock);
}

/*
 * The lock is free the moment eng_source_open returns and the engine
 * closes it, before the child has even been scheduled: parent and child
 * share one CPU here, where the parent runs on after fork. Without the
 * engine waiting for the child to drop its copies, this failed (a campaign
 * saw it under load as the engine's own unload refused, 53/02).
 */
static void
free_at_once(const char *dir)
{
	char lock[600], spec[2][700], err[ENG_ERRLEN];
	cpu_set_t one, was;
	struct eng_source s;
	int lk, other, free_now = 0, runs = 0;

	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	snprintf(spec[0], sizeof(spec[0]), "dir:%s", dir);
	snprintf(spec[1], sizeof(spec[1]), "cmd:cat %s/big", dir);
	CHECK(sched_getaffinity(0, sizeof(was), &was) == 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	for (int i = 0; i < 20; i++) {
		lk = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		CHECK(lk >= 0 && flock(lk, LOCK_EX | LOCK_NB) == 0);
		CHECK_EQ(eng_source_open(spec[i % 2], 0, &s, err), 0);
		close(lk);
		other = open(lock, O_RDWR | O_CLOEXEC);
		free_now += other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0;
		runs++;
		close(other);
		close(s.fd);
		s.fd = -1;
		kill(s.pid, SIGKILL);
		eng_source_close(&s, err);
	}
	CHECK_EQ(free_now, runs);
	sched_setaffinity(0, sizeof(was), &was);
	unlink(lock);
}

static void
put_file(const char *dir, const char *name, const char *data, size_t n)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	CHECK(fd >= 0 && write(fd, data, n) == (ssize_t)n);
	close(fd);
}

/* The archive and index eng_archive_dir makes of dir (since: 0 full). */
static int
archive_of(const char *dir, time_t since, uint8_t **arc, size_t *alen,
    struct fidx *x)
{
	int afd = memfd_create("arc", 0), ifd = memfd_create("idx", 0);
	struct stat sb;
	char why[256];
	int rc = eng_archive_dir(dir, since, afd, ifd);

	CHECK(rc == 0);
	CHECK(fstat(afd, &sb) == 0);
	*alen = (size_t)sb.st_size;
	*arc = malloc(*alen + 1);
	CHECK(pread(afd, *arc, *alen, 0) == (ssize_t)*alen);
	CHECK(fstat(ifd, &sb) == 0 && sb.st_size > 32);
	uint8_t *enc = malloc((size_t)sb.st_size);
	CHECK(pread(ifd, enc, (size_t)sb.st_size, 0) == sb.st_size);
	rc = fidx_decode(enc, (size_t)sb.st_size, x, why, sizeof(why));
	if (rc)
		fprintf(stderr, "index: %s\n", why);
	CHECK(rc == 0);
	free(enc);
	close(afd);
	close(ifd);
	return rc;
}

/*
 * Each entry the stream holds, read alone from its span [raw_offset,
 * raw_end) followed by an end-of-archive: libarchive finds that entry
 * there, with its data whole. 1 if so.
 */
static int
span_holds(const uint8_t *arc, const struct fidx_entry *e)
{
	size_t n = (size_t)(e->raw_end - e->raw_offset);
	uint8_t *b = calloc(1, n + 1024);
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int ok = 0;

	memcpy(b, arc + e->raw_offset, n);
	archive_read_support_format_tar(a);
	/* tar names a directory with a trailing '/' ("./", "./sub/"). */
	if (archive_read_open_memory(a, b, n + 1024) == ARCHIVE_OK &&
	    archive_read_next_header(a, &ae) == ARCHIVE_OK &&
	    strncmp(archive_entry_pathname(ae), e->path, strlen(e->path)) == 0 &&
	    strspn(archive_entry_pathname(ae) + strlen(e->path), "/") ==
	    strlen(archive_entry_pathname(ae) + strlen(e->path))) {
		la_int64_t got = 0;
		char buf[8192];
		la_ssize_t k;
		while ((k = archive_read_data(a, buf, sizeof(buf))) > 0)
			got += k;
		bool link = archive_entry_hardlink(ae) != NULL;
		ok = k == 0 && (!(e->flags & FIDX_HAS_DATA) ||
		    (uint64_t)got == e->size) &&
		    !!(e->flags & FIDX_HAS_DATA) == (e->type == FIDX_REG && !link) &&
		    archive_read_next_header(a, &ae) == ARCHIVE_EOF;
	}
	archive_read_free(a);
	free(b);
	return ok;
}

/*
 * The walker's index: every entry of the tree, the spans of those in the
 * stream proven by reading the archive there; an incremental lists the
 * unchanged ones too, out of the stream.
 */
static void
index_test(void)
{
	char dir[] = "/tmp/abs-fidx-XXXXXX", p[1024], q[1024];
	static char big[200000];
	uint8_t *arc;
	size_t alen;
	struct fidx x;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK(mkdir(p, 0750) == 0);
	snprintf(p, sizeof(p), "%s/sub/deeper", dir);
	CHECK(mkdir(p, 0700) == 0);
	memset(big, 'z', sizeof(big));
	put_file(dir, "a", "alpha", 5);
	put_file(dir, "empty", "", 0);
	put_file(dir, "sub/big", big, sizeof(big));
	put_file(dir, "sub/deeper/\xc3\xa9t\xc3\xa9 x", "e", 1);
	/* A name past ustar's 100 bytes: a pax extended header first. */
	char longname[300];
	memset(longname, 'L', 150);
	longname[150] = '\0';
	put_file(dir, longname, "long", 4);
	snprintf(p, sizeof(p), "%s/a", dir);
	snprintf(q, sizeof(q), "%s/sub/hardlink", dir);
	CHECK(link(p, q) == 0);
	snprintf(q, sizeof(q), "%s/sym", dir);
	CHECK(symlink("a", q) == 0);
	snprintf(q, sizeof(q), "%s/fifo", dir);
	CHECK(mkfifo(q, 0600) == 0);

	CHECK(archive_of(dir, 0, &arc, &alen, &x) == 0);
	CHECK_EQ(x.nentries, 11);	/* . a empty fifo L.. sub sub/big
					   sub/deeper sub/deeper/é sub/hardlink sym */
	CHECK_EQ(x.archive_bytes, alen);
	CHECK_EQ(x.nframes, 0);
	int links_with_data = 0;
	for (uint64_t i = 0; i < x.nentries; i++) {
		const struct fidx_entry *e = &x.e[i];
		CHECK(e->flags & FIDX_IN_STREAM);
		CHECK(e->raw_offset % 512 == 0 && e->raw_end % 512 == 0 &&
		    e->raw_end > e->raw_offset && e->raw_end <= alen - 1024);
		if (!span_holds(arc, e))
			fprintf(stderr, "span of %s [%llu, %llu) does not hold it\n",
			    e->path, (unsigned long long)e->raw_offset,
			    (unsigned long long)e->raw_end);
		CHECK(span_holds(arc, e));
		if (e->ino == fidx_lookup(&x, "a")->ino)
			links_with_data += !!(e->flags & FIDX_HAS_DATA);
	}
	/* The spans tile the archive: each ends where another starts. */
	uint64_t covered = 0;
	for (uint64_t i = 0; i < x.nentries; i++)
		covered += x.e[i].raw_end - x.e[i].raw_offset;
	CHECK_EQ(covered, alen - 1024);
	CHECK_EQ(links_with_data, 1);
	const struct fidx_entry *e = fidx_lookup(&x, "sub/big");
	CHECK(e && e->type == FIDX_REG && e->size == sizeof(big) &&
	    e->nlink == 1);
	e = fidx_lookup(&x, "sub");
	CHECK(e && e->type == FIDX_DIR && e->mode == 0750);
	CHECK(fidx_lookup(&x, "sym")->type == FIDX_LNK);
	CHECK(fidx_lookup(&x, "fifo")->type == FIDX_FIFO);
	CHECK(fidx_lookup(&x, "a")->nlink == 2);
	CHECK(fidx_lookup(&x, ".")->type == FIDX_DIR);
	fidx_free(&x);
	free(arc);

	/* An incremental from after every file: directories in the stream,
	   every other entry listed, out of it. */
	time_t later = time(NULL) + 3600;
	CHECK(archive_of(dir, later, &arc, &alen, &x) == 0);
	CHECK_EQ(x.nentries, 11);
	for (uint64_t i = 0; i < x.nentries; i++) {
		e = &x.e[i];
		CHECK(!!(e->flags & FIDX_IN_STREAM) == (e->type == FIDX_DIR));
		if (e->flags & FIDX_IN_STREAM)
			CHECK(span_holds(arc, e));
	}
	CHECK(fidx_lookup(&x, "sub/big")->size == sizeof(big));
	fidx_free(&x);
	free(arc);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	CHECK(system(p) == 0);
}

/* A POSIX ACL as the kernel stores it: owner rw, user uid r, group r,
   mask r, other r. */
static size_t
acl_xattr(uint8_t *b, uint32_t uid)
{
	const uint16_t tags[] = { 1, 2, 4, 0x10, 0x20 }, perms[] = { 6, 4, 4, 4, 4 };
	size_t n = 0;

	memcpy(b, &(uint32_t){ 2 }, 4);
	n = 4;
	for (int i = 0; i < 5; i++) {
		uint32_t id = tags[i] == 2 ? uid : 0xffffffffu;
		memcpy(b + n, &tags[i], 2);
		memcpy(b + n + 2, &perms[i], 2);
		memcpy(b + n + 4, &id, 4);
		n += 8;
	}
	return n;
}

/* Has ae the xattr name (any value)? */
static bool
has_xattr(struct archive_entry *ae, const char *name)
{
	const char *n;
	const void *v;
	size_t len;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &n, &v, &len) == ARCHIVE_OK)
		if (strcmp(n, name) == 0)
			return true;
	return false;
}

/*
 * A tree's metadata and data through the source's pipe: a file's xattr
 * and access ACL, an empty file's xattr, a directory's xattr and default
 * ACL, a hard link's, a file larger than the walker's chunks, a sparse
 * file (its map goes before its data). Where the file system takes no
 * user xattrs or ACLs, those checks are skipped (said so).
 */
static void
metadata_test(void)
{
	char dir[] = "/tmp/abs-test-meta.XXXXXX", p[600], err[ENG_ERRLEN];
	static char big[700000];
	uint8_t acl[64];
	size_t alen = acl_xattr(acl, 1234);
	struct eng_source s;
	bool xattrs = true, acls = true;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	put_file(dir, "x", "xattr and acl", 13);
	put_file(dir, "e", "", 0);
	put_file(dir, "big", big, sizeof(big));
	snprintf(p, sizeof(p), "%s/d", dir);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/x", dir);
	if (setxattr(p, "user.a", "1", 1, 0) < 0) {
		printf("# no user xattrs here (%s): not checked\n", strerror(errno));
		xattrs = false;
	}
	if (setxattr(p, "system.posix_acl_access", acl, alen, 0) < 0) {
		printf("# no ACLs here (%s): not checked\n", strerror(errno));
		acls = false;
	}
	if (xattrs) {
		snprintf(p, sizeof(p), "%s/e", dir);
		CHECK(setxattr(p, "user.e", "on an empty file", 16, 0) == 0);
		snprintf(p, sizeof(p), "%s/d", dir);
		CHECK(setxattr(p, "user.d", "dir", 3, 0) == 0);
	}
	if (acls) {
		snprintf(p, sizeof(p), "%s/d", dir);
		CHECK(setxattr(p, "system.posix_acl_default", acl, alen, 0) == 0);
	}
	snprintf(p, sizeof(p), "%s/x", dir);
	char l[600];
	snprintf(l, sizeof(l), "%s/d/x.link", dir);
	CHECK(link(p, l) == 0);
	snprintf(p, sizeof(p), "%s/s", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && pwrite(fd, "end", 3, 1 << 20) == 3);
	close(fd);

	snprintf(p, sizeof(p), "dir:%s", dir);
	CHECK_EQ(eng_source_open(p, 0, &s, err), 0);
	size_t cap = 4 << 20, n = 0;
	char *arc = malloc(cap);
	ssize_t k;
	while ((k = read(s.fd, arc + n, cap - n)) > 0)
		n += (size_t)k;
	CHECK(n < cap);
	CHECK_EQ(eng_source_close(&s, err), 0);
	eng_source_free(&s);

	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int seen = 0;
	archive_read_support_format_tar(a);
	CHECK(archive_read_open_memory(a, arc, n) == ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *nm = archive_entry_pathname(ae);
		static char got[(1 << 20) + 4];
		la_ssize_t dl, t = 0;
		/* All of its data: holes come back as zeros. */
		while ((dl = archive_read_data(a, got + t, sizeof(got) -
		    (size_t)t)) > 0)
			t += dl;
		dl = t;
		if (strcmp(nm, "./x") == 0) {
			seen |= 1;
			CHECK(dl == 13 && memcmp(got, "xattr and acl", 13) == 0);
			CHECK(!xattrs || has_xattr(ae, "user.a"));
			CHECK(!acls || archive_entry_acl_count(ae,
			    ARCHIVE_ENTRY_ACL_TYPE_ACCESS) > 0);
		} else if (strcmp(nm, "./e") == 0) {
			seen |= 2;
			CHECK(!xattrs || has_xattr(ae, "user.e"));
		} else if (strcmp(nm, "./d/") == 0 || strcmp(nm, "./d") == 0) {
			seen |= 4;
			CHECK(!xattrs || has_xattr(ae, "user.d"));
			CHECK(!acls || archive_entry_acl_count(ae,
			    ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0);
		} else if (strcmp(nm, "./d/x.link") == 0) {
			seen |= 8;
			CHECK(archive_entry_hardlink(ae) != NULL);
			CHECK(!xattrs || has_xattr(ae, "user.a"));
		} else if (strcmp(nm, "./big") == 0) {
			seen |= 16;
			CHECK(dl == (la_ssize_t)sizeof(big) &&
			    memcmp(got, big, sizeof(big)) == 0);
		} else if (strcmp(nm, "./s") == 0) {
			seen |= 32;
			CHECK(archive_entry_size(ae) == (1 << 20) + 3);
			CHECK(dl == (1 << 20) + 3);
			CHECK(memcmp(got + (1 << 20), "end", 3) == 0);
			bool zeros = true;
			for (size_t i = 0; i < (1u << 20); i++)
				zeros &= got[i] == 0;
			CHECK(zeros);
		}
	}
	CHECK_EQ(seen, 63);
	archive_read_free(a);
	free(arc);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	CHECK(system(p) == 0);
}

int
main(void)
{
	char dir[] = "/tmp/abs-test-source.XXXXXX", path[512], spec[600];
	char err[ENG_ERRLEN];
	struct eng_source s;
	int p[2], fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "hello, tape\n", 12) == 12);
	close(fd);

	/* A regular file can be read again, from its start. */
	snprintf(spec, sizeof(spec), "file:%s", path);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(eng_source_open(spec, 0, &s, err), 0);
		CHECK(s.again);
		CHECK(strcmp(s.kind, "file") == 0);
		CHECK_EQ(drain(&s), 12);
	}

	/* A command is run again; a tree is walked again. */
	CHECK_EQ(eng_source_open("cmd:printf abc", 0, &s, err), 0);
	CHECK(s.again && s.pid > 0);
	CHECK_EQ(drain(&s), 3);
	snprintf(spec, sizeof(spec), "dir:%s", dir);
	CHECK_EQ(eng_source_open(spec, 0, &s, err), 0);
	CHECK(s.again && strcmp(s.kind, "dir") == 0);
	CHECK(drain(&s) > 12);

	child_holds_nothing(dir);
	free_at_once(dir);
	snprintf(path, sizeof(path), "%s/big", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/f", dir);

	/* stdin from a pipe is read once: no re-dump from it. */
	int saved = dup(0);
	CHECK(pipe(p) == 0 && dup2(p[0], 0) == 0);
	close(p[0]);
	CHECK(write(p[1], "xyz", 3) == 3);
	close(p[1]);
	CHECK_EQ(eng_source_open("file:/dev/stdin", 0, &s, err), 0);
	CHECK(!s.again);
	CHECK_EQ(drain(&s), 3);
	dup2(saved, 0);
	close(saved);

	/*
	 * A file that shrinks while the tree is read (the archiver is held
	 * mid-file by the full pipe): the stream stays whole, padded with
	 * zeros, and the source says a file changed (s.changed).
	 */
	char big[560];
	static char block[8 << 20];	/* past the 1 MiB pipe */
	snprintf(big, sizeof(big), "%s/big", dir);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	memset(block, 'b', sizeof(block));
	CHECK(fd >= 0 && write(fd, block, sizeof(block)) == (ssize_t)sizeof(block));
	close(fd);
	CHECK_EQ(eng_source_open(spec, 0, &s, err), 0);
	{
		char buf[4096];
		long total;
		ssize_t n;
		CHECK((total = read(s.fd, buf, sizeof(buf))) > 0);
		usleep(100000);	/* only lets it fill the pipe; no result rides on it */
		CHECK(truncate(big, 1000) == 0);
		while ((n = read(s.fd, buf, sizeof(buf))) > 0)
			total += n;
		CHECK(total > (long)sizeof(block));	/* padded, not cut */
		CHECK_EQ(eng_source_close(&s, err), 0);
		CHECK(s.changed);
	}
	unlink(big);
	CHECK_EQ(eng_source_open(spec, 0, &s, err), 0);
	CHECK_EQ(drain(&s) > 12, 1);
	CHECK(!s.changed);

	/* A source that cannot start says why. */
	CHECK(eng_source_open("file:/nonexistent/x", 0, &s, err) < 0);
	CHECK(strstr(err, "/nonexistent/x") != NULL);
	CHECK_EQ(eng_source_open("tape:x", 0, &s, err), -EINVAL);

	/* All of it, whatever a failed check above left. */
	snprintf(spec, sizeof(spec), "rm -rf '%s'", dir);
	CHECK(system(spec) == 0);
	index_test();
	metadata_test();
	T_DONE();
}
