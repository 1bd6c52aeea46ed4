/*
 * A tree's archive sent by vmsplice is the archive whatever the reader
 * does with the pipe: read after the walker is gone, its ring unmapped,
 * it is whole; a reader that makes the pipe larger once the walker
 * has started (F_SETPIPE_SZ, as any process holding the read end may)
 * still reads every file's bytes as they are on disk. The walker reuses a
 * chunk of its ring only after more than the pipe holds has gone in
 * behind it; a pipe grown after the walker measured it holds more.
 * Directories swapped for links while the tree is dumped never take the
 * walker or its read-ahead out of the tree (no file, no xattr from
 * there); a file deeper than PATH_MAX keeps its whole name.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "engine/prefetch.h"
#include "engine/source.h"
#include "t.h"

#define FILE_SIZE (4u << 20)

/* A helper process of the test ends with it, however it ends. */
static void
die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		_exit(1);
}

/* Bytes waiting in the pipe. */
static int
queued(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

/* Wait (at most 120 s) until the pipe holds at least n bytes. */
static int
wait_queued(int fd, int n)
{
	time_t end = time(NULL) + 120;

	while (queued(fd) < n) {
		if (time(NULL) > end)
			return -1;
		usleep(10000);
	}
	return 0;
}

/*
 * Directories of the tree exchanged with links to a directory outside it
 * while the tree is dumped, again and again: the walker never reads a
 * file through a link (the outside file's bytes never reach the archive).
 */
static void
never_through_links(void)
{
	char root[] = "/tmp/abs-test-source-swap.XXXXXX";
	char out[] = "/tmp/abs-test-source-away.XXXXXX";
	char p[600], q[600];
	int fd, nd = 16;

	CHECK(mkdtemp(root) != NULL && mkdtemp(out) != NULL);
	snprintf(p, sizeof(p), "%s/f", out);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "SECRET-OUTSIDE", 14) == 14);
	close(fd);
	/* Nor its xattrs (here if the file system has user xattrs). */
	setxattr(p, "user.away", "XATTR-OUTSIDE", 13, 0);
	for (int i = 0; i < nd; i++) {
		snprintf(p, sizeof(p), "%s/d%d", root, i);
		CHECK(mkdir(p, 0700) == 0);
		snprintf(p, sizeof(p), "%s/d%d/f", root, i);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && write(fd, "inside-the-tree", 15) == 15);
		close(fd);
		snprintf(p, sizeof(p), "%s/l%d", root, i);
		CHECK(symlink(out, p) == 0);
	}
	pid_t sw = fork();
	CHECK(sw >= 0);
	if (sw == 0) {
		die_with_parent();
		for (;;)
			for (int i = 0; i < nd; i++) {
				snprintf(p, sizeof(p), "%s/d%d", root, i);
				snprintf(q, sizeof(q), "%s/l%d", root, i);
				renameat2(AT_FDCWD, p, AT_FDCWD, q, RENAME_EXCHANGE);
			}
	}
	int leaked = 0, dumps = 0;
	time_t end = time(NULL) + 60;
	while (dumps < 3000 && time(NULL) < end && !leaked) {
		int afd = memfd_create("arc", 0);
		eng_archive_dir(root, 0, afd, -1);
		struct stat sb;
		CHECK(fstat(afd, &sb) == 0);
		char *arc = malloc((size_t)sb.st_size + 1);
		CHECK(pread(afd, arc, (size_t)sb.st_size, 0) == sb.st_size);
		leaked = memmem(arc, (size_t)sb.st_size, "SECRET-OUTSIDE", 14) ||
		    memmem(arc, (size_t)sb.st_size, "XATTR-OUTSIDE", 13);
		free(arc);
		close(afd);
		dumps++;
	}
	kill(sw, SIGKILL);
	waitpid(sw, NULL, 0);
	if (leaked)
		fprintf(stderr, "dump %d read a file through a link\n", dumps);
	else
		printf("# %d dumps, no file read through a link\n", dumps);
	CHECK(!leaked);
	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", root, out);
	CHECK(system(p) == 0);
}

/*
 * A file deeper than PATH_MAX: the archive names it by its whole path
 * and holds its data.
 */
static void
deep_path(void)
{
	char root[] = "/tmp/abs-test-source-deep.XXXXXX", seg[201];
	static char want[8192];
	int dfd, fd;

	CHECK(mkdtemp(root) != NULL);
	memset(seg, 'n', 200);
	seg[200] = '\0';
	dfd = open(root, O_PATH | O_DIRECTORY);
	snprintf(want, sizeof(want), ".");
	for (int i = 0; i < 25; i++) {	/* 5,000 characters */
		seg[0] = (char)('a' + i);
		CHECK(mkdirat(dfd, seg, 0700) == 0);
		int nd = openat(dfd, seg, O_PATH | O_DIRECTORY);
		close(dfd);
		dfd = nd;
		strcat(want, "/");
		strcat(want, seg);
	}
	fd = openat(dfd, "deep", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "at the bottom", 13) == 13);
	close(fd);
	close(dfd);
	strcat(want, "/deep");

	int afd = memfd_create("arc", 0);
	CHECK(eng_archive_dir(root, 0, afd, -1) >= 0);
	struct stat sb;
	CHECK(fstat(afd, &sb) == 0);
	char *arc = malloc((size_t)sb.st_size + 1);
	CHECK(pread(afd, arc, (size_t)sb.st_size, 0) == sb.st_size);
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int found = 0;
	archive_read_support_format_tar(a);
	CHECK(archive_read_open_memory(a, arc, (size_t)sb.st_size) ==
	    ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		char buf[64];
		if (strcmp(archive_entry_pathname(ae), want) != 0)
			continue;
		found = 1;
		CHECK(archive_read_data(a, buf, sizeof(buf)) == 13 &&
		    memcmp(buf, "at the bottom", 13) == 0);
	}
	CHECK(found);
	archive_read_free(a);
	free(arc);
	close(afd);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

/*
 * The read-ahead opens no file through a link either: directories of a
 * tree exchanged with links to a directory whose f is a FIFO, with a
 * writer waiting in open(2) for a reader; the read-ahead walks the tree
 * again and again and must never be that reader.
 */
static void
read_ahead_in_tree(void)
{
	char root[] = "/tmp/abs-test-prefetch-swap.XXXXXX";
	char out[] = "/tmp/abs-test-prefetch-away.XXXXXX";
	char p[600], q[600];
	int fd, nd = 16, rep[2];

	CHECK(mkdtemp(root) != NULL && mkdtemp(out) != NULL);
	snprintf(p, sizeof(p), "%s/f", out);
	CHECK(mkfifo(p, 0600) == 0);
	for (int i = 0; i < nd; i++) {
		snprintf(p, sizeof(p), "%s/d%d", root, i);
		CHECK(mkdir(p, 0700) == 0);
		snprintf(p, sizeof(p), "%s/d%d/f", root, i);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && write(fd, "inside-the-tree", 15) == 15);
		close(fd);
		snprintf(p, sizeof(p), "%s/l%d", root, i);
		CHECK(symlink(out, p) == 0);
	}
	CHECK(pipe2(rep, O_NONBLOCK) == 0);
	pid_t fw = fork();
	CHECK(fw >= 0);
	if (fw == 0) {	/* says each time a reader opened the FIFO */
		die_with_parent();
		snprintf(p, sizeof(p), "%s/f", out);
		for (;;) {
			int w = open(p, O_WRONLY);
			if (w >= 0 && write(rep[1], "!", 1) == 1)
				close(w);
		}
	}
	pid_t sw = fork();
	CHECK(sw >= 0);
	if (sw == 0) {
		die_with_parent();
		for (;;)
			for (int i = 0; i < nd; i++) {
				snprintf(p, sizeof(p), "%s/d%d", root, i);
				snprintf(q, sizeof(q), "%s/l%d", root, i);
				renameat2(AT_FDCWD, p, AT_FDCWD, q, RENAME_EXCHANGE);
			}
	}
	char c;
	int opened = 0, walks = 0;
	time_t end = time(NULL) + 30;
	while (time(NULL) < end && !opened) {
		struct eng_prefetch *pf = eng_prefetch_start(root, 0, 0);
		CHECK(pf != NULL);
		usleep(20000);	/* lets it walk; no result rides on it */
		eng_prefetch_stop(pf, NULL);
		walks++;
		opened = read(rep[0], &c, 1) == 1;
	}
	kill(sw, SIGKILL);
	kill(fw, SIGKILL);
	waitpid(sw, NULL, 0);
	waitpid(fw, NULL, 0);
	if (opened)
		fprintf(stderr, "read-ahead %d opened a FIFO through a link\n",
		    walks);
	else
		printf("# %d read-aheads, none opened a file through a link\n",
		    walks);
	CHECK(!opened);
	close(rep[0]);
	close(rep[1]);
	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", root, out);
	CHECK(system(p) == 0);
}

int
main(void)
{
	char dir[] = "/tmp/abs-test-source-pipe.XXXXXX", p[600];
	static unsigned char data[FILE_SIZE];
	int fd, pp[2];

	deep_path();
	read_ahead_in_tree();
	never_through_links();
	CHECK(mkdtemp(dir) != NULL);
	/* Every 4 KiB of the file different from every other. */
	for (size_t i = 0; i < sizeof(data); i += 4)
		*(unsigned *)(data + i) = (unsigned)(i * 2654435761u) ^
		    (unsigned)(i >> 12);
	snprintf(p, sizeof(p), "%s/f", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, data, sizeof(data)) == (ssize_t)sizeof(data));
	close(fd);

	/* A walker gone (its ring unmapped) before a byte is read: the
	   pipe still holds the archive it sent. */
	CHECK(pipe(pp) == 0);
	CHECK(fcntl(pp[0], F_SETPIPE_SZ, 1 << 20) == 1 << 20);
	char small[] = "/tmp/abs-test-source-gone.XXXXXX";
	CHECK(mkdtemp(small) != NULL);
	snprintf(p, sizeof(p), "%s/f", small);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, data, 700000) == 700000);
	close(fd);
	pid_t gone = fork();
	CHECK(gone >= 0);
	if (gone == 0) {
		close(pp[0]);
		_exit(eng_archive_dir(small, 0, pp[1], -1) == 0 ? 0 : 1);
	}
	close(pp[1]);
	int gst = 0;
	CHECK(waitpid(gone, &gst, 0) == gone && WIFEXITED(gst) &&
	    WEXITSTATUS(gst) == 0);
	{
		static char buf[1 << 20];
		size_t m = 0;
		ssize_t r;
		while ((r = read(pp[0], buf + m, sizeof(buf) - m)) > 0)
			m += (size_t)r;
		close(pp[0]);
		/* The file's data, whole, after its header. */
		CHECK(memmem(buf, m, data, 700000) != NULL);
	}
	snprintf(p, sizeof(p), "rm -rf '%s'", small);
	CHECK(system(p) == 0);

	/* The walker on a 64 KiB pipe: its ring is made for that. */
	CHECK(pipe(pp) == 0);
	CHECK(fcntl(pp[0], F_SETPIPE_SZ, 64 << 10) == 64 << 10);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pp[0]);
		_exit(eng_archive_dir(dir, 0, pp[1], -1) == 0 ? 0 : 1);
	}
	close(pp[1]);
	/* Full: the walker has measured the pipe. Then grow it, and let
	   the walker fill it again before anything is read. */
	CHECK(wait_queued(pp[0], 64 << 10) == 0);
	int big = fcntl(pp[0], F_SETPIPE_SZ, 1 << 20);
	if (big < (1 << 20)) {
		printf("# the pipe cannot grow to 1 MiB here (%s): not checked\n",
		    strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		snprintf(p, sizeof(p), "rm -rf '%s'", dir);
		CHECK(system(p) == 0);
		return 77;
	}
	CHECK(wait_queued(pp[0], 1 << 20) == 0);

	size_t cap = FILE_SIZE + (1 << 20), n = 0;
	char *arc = malloc(cap);
	ssize_t k;
	while ((k = read(pp[0], arc + n, cap - n)) > 0)
		n += (size_t)k;
	CHECK(n < cap);
	close(pp[0]);
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);

	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	static unsigned char got[FILE_SIZE + 1];
	int seen = 0;
	archive_read_support_format_tar(a);
	CHECK(archive_read_open_memory(a, arc, n) == ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		la_ssize_t dl, t = 0;
		while ((dl = archive_read_data(a, got + t, sizeof(got) -
		    (size_t)t)) > 0)
			t += dl;
		if (strcmp(archive_entry_pathname(ae), "./f") == 0) {
			seen = 1;
			CHECK_EQ(t, FILE_SIZE);
			size_t bad = 0;
			for (size_t i = 0; i < FILE_SIZE; i += 4096)
				bad += memcmp(got + i, data + i, 4096) != 0;
			if (bad)
				fprintf(stderr, "%zu of %u pages of f differ\n",
				    bad, FILE_SIZE / 4096);
			CHECK_EQ(bad, 0);
		}
	}
	CHECK(seen);
	archive_read_free(a);
	free(arc);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	CHECK(system(p) == 0);
	T_DONE();
}
