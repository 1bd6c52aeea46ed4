/* The io_uring window: order, confirmation, pipes and files, odd sizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "ring/ring.h"
#include "t.h"

/* Deterministic pseudo-random bytes. */
static void
fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* Pull everything through a ring; CRC of the concatenation and count.
   With first (a block already taken from r), r is the caller's. */
static int
drain_ring(struct ring *r, struct ring_block *first, unsigned depth,
    unsigned hold, uint32_t *crc, uint64_t *total)
{
	struct ring_block b, held[64];
	unsigned nheld = 0;
	int rc;
	uint64_t expect_seq = 0;

	*crc = 0;
	*total = 0;
	if (first) {
		b = *first;
		rc = 1;
		goto have;
	}
	while ((rc = ring_next(r, &b)) == 1) {
have:
		CHECK_EQ(b.seq, expect_seq);
		expect_seq++;
		*crc = crc32c(*crc, b.buf, b.len);
		*total += b.len;
		held[nheld++] = b;
		/* Keep up to `hold` blocks unconfirmed, like a drive window. */
		if (nheld > hold || nheld == depth) {
			CHECK(ring_confirm(r, held[0].idx) == 0);
			memmove(held, held + 1, --nheld * sizeof(held[0]));
		}
	}
	return rc;
}

static int
drain(int fd, unsigned depth, size_t bs, unsigned hold, uint32_t *crc,
    uint64_t *total)
{
	struct ring *r;
	int rc;

	*crc = 0;
	*total = 0;
	if ((rc = ring_new(depth, bs, &r)) < 0)
		return rc;
	if ((rc = ring_source(r, fd)) < 0) {
		ring_free(r);
		return rc;
	}
	rc = drain_ring(r, NULL, depth, hold, crc, total);
	ring_free(r);
	return rc;
}

/*
 * O_DIRECT: the file of n bytes at path, read direct; after the first
 * block, it is cut to (or grown to, from more) want bytes before the rest
 * is read. The ring must deliver exactly the file's bytes as they are
 * then, falling back to the page cache at an unaligned tail.
 */
static void
direct_case(const char *path, const uint8_t *data, size_t n, size_t want,
    const char *where)
{
	uint32_t crc, got;
	uint64_t total;
	struct ring *r;
	struct ring_block b;
	int fd = open(path, O_WRONLY | O_TRUNC);

	CHECK(fd >= 0);
	CHECK(pwrite(fd, data, n, 0) == (ssize_t)n);
	fsync(fd);
	close(fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	bool direct = fd >= 0;
	if (fd < 0) {
		printf("# %s: no O_DIRECT (%s): through the page cache\n", where,
		    strerror(errno));
		CHECK(errno == EINVAL);
		fd = open(path, O_RDONLY);
	}
	CHECK(fd >= 0);
	CHECK(ring_new(2, 65536, &r) == 0);
	CHECK(ring_source(r, fd) == 0);
	CHECK(ring_next(r, &b) == 1);
	CHECK_EQ(b.len, 65536);
	CHECK_EQ(ring_direct(r), direct);
	/* Depth 2: blocks 0 and 1 at most are read; the rest after this. */
	if (want != n)
		CHECK(truncate(path, (off_t)want) == 0);
	if (want > n) {
		int wfd = open(path, O_WRONLY);
		CHECK(pwrite(wfd, data + n, want - n, (off_t)n) ==
		    (ssize_t)(want - n));
		close(wfd);
	}
	CHECK(drain_ring(r, &b, 2, 1, &got, &total) == 0);
	crc = crc32c(0, data, want);
	CHECK_EQ(total, want);
	CHECK_EQ(got, crc);
	/* An aligned end leaves the ring direct; a tail ends it. */
	if (want % 4096)
		CHECK(!ring_direct(r));
	ring_free(r);
	close(fd);
}

int
main(void)
{
	static const size_t sizes[] = { 0, 1, 4095, 65536, 65537, 1 << 20,
	    (3 << 20) + 17 };
	size_t maxsz = (3 << 20) + 17;
	uint8_t *data = malloc(maxsz);
	char path[] = "/tmp/abs-ring-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		fill_pattern(data, n, (uint32_t)si + 1);
		uint32_t want = crc32c(0, data, n), got;
		uint64_t total;
		CHECK(ftruncate(fd, 0) == 0);
		CHECK(pwrite(fd, data, n, 0) == (ssize_t)n);
		for (unsigned depth = 1; depth <= 16; depth *= 4) {
			/* A file: many reads in flight at explicit offsets. */
			int rfd = open(path, O_RDONLY);
			CHECK(drain(rfd, depth, 65536, depth > 1 ? depth - 1 : 0,
			    &got, &total) == 0);
			close(rfd);
			CHECK_EQ(total, n);
			CHECK_EQ(got, want);
			/* A pipe, written in odd-sized pieces by a child. */
			int p[2];
			CHECK(pipe(p) == 0);
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				for (size_t off = 0; off < n;) {
					size_t k = 1 + (off * 7919) % 70000;
					if (k > n - off)
						k = n - off;
					if (write(p[1], data + off, k) != (ssize_t)k)
						_exit(1);
					off += k;
				}
				_exit(0);
			}
			close(p[1]);
			CHECK(drain(p[0], depth, 65536, depth / 2, &got, &total) == 0);
			close(p[0]);
			waitpid(pid, NULL, 0);
			CHECK_EQ(total, n);
			CHECK_EQ(got, want);
		}
	}

	/* O_DIRECT on this disk and on tmpfs: aligned, tails, cut, grown. */
	static const char *dirs[] = { "/var/tmp", "/dev/shm" };
	for (size_t di = 0; di < 2; di++) {
		char dpath[64];
		snprintf(dpath, sizeof(dpath), "%s/abs-ring-XXXXXX", dirs[di]);
		int dfd = mkstemp(dpath);
		if (dfd < 0)
			continue;
		close(dfd);
		fill_pattern(data, maxsz, 77);
		direct_case(dpath, data, 1 << 20, 1 << 20, dirs[di]);
		direct_case(dpath, data, (1 << 20) + 17, (1 << 20) + 17, dirs[di]);
		direct_case(dpath, data, 1 << 20, 300001, dirs[di]);
		direct_case(dpath, data, 1 << 20, 196608, dirs[di]);
		direct_case(dpath, data, 1 << 20, (1 << 20) + 100001, dirs[di]);
		direct_case(dpath, data, 200000, (2 << 20) + 5, dirs[di]);
		unlink(dpath);
	}

	/* Confirming out of order or twice is refused; a full window says so. */
	struct ring *r;
	struct ring_block a, b, c;
	fill_pattern(data, 4 * 65536, 9);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, 4 * 65536, 0) == 4 * 65536);
	int rfd = open(path, O_RDONLY);
	CHECK(ring_new(2, 65536, &r) == 0);
	CHECK(ring_source(r, rfd) == 0);
	CHECK(ring_next(r, &a) == 1);
	CHECK(ring_next(r, &b) == 1);
	CHECK_EQ(ring_outstanding(r), 2);
	CHECK(ring_next(r, &c) == -ENOBUFS);
	CHECK(ring_confirm(r, b.idx) == -EINVAL);
	CHECK(ring_confirm(r, a.idx) == 0);
	CHECK(ring_confirm(r, a.idx) == -EINVAL);
	CHECK(ring_next(r, &c) == 1);
	CHECK(memcmp(c.buf, data + 2 * 65536, 65536) == 0);
	ring_free(r);
	close(rfd);
	/* A source that stalls: ring_next_wait gives up in time, takes
	   nothing, and the block that comes later is the next one. */
	int sp[2];
	CHECK(pipe(sp) == 0);
	CHECK(ring_new(2, 65536, &r) == 0);
	CHECK(ring_source(r, sp[0]) == 0);
	CHECK(write(sp[1], data, 65536) == 65536);
	CHECK(ring_next_wait(r, &a, 5000) == 1);
	CHECK(memcmp(a.buf, data, 65536) == 0);
	CHECK(ring_confirm(r, a.idx) == 0);
	CHECK(ring_next_wait(r, &b, 50) == -ETIMEDOUT);
	CHECK_EQ(ring_outstanding(r), 0);
	CHECK(write(sp[1], data + 65536, 65536) == 65536);
	close(sp[1]);
	CHECK(ring_next_wait(r, &b, 5000) == 1);
	CHECK_EQ(b.seq, 1);
	CHECK(memcmp(b.buf, data + 65536, 65536) == 0);
	CHECK(ring_confirm(r, b.idx) == 0);
	CHECK(ring_next_wait(r, &c, 5000) == 0);	/* the end */
	ring_free(r);
	close(sp[0]);
	CHECK(ring_new(0, 65536, &r) == -EINVAL);
	CHECK(ring_new(4, 1000, &r) == -EINVAL);
	ring_free(NULL);
	unlink(path);
	close(fd);
	free(data);
	T_DONE();
}
