/*
 * Dump sources: whether each can be read again for a re-dump (a tree, a
 * command, a regular file: yes; a pipe: no), and the bytes each gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

	unlink(path);
	rmdir(dir);
	T_DONE();
}
