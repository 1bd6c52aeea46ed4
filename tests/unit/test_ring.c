/* The io_uring window: order, confirmation, pipes and files, odd sizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

/* Pages of fd's [off, off + len) in the page cache, or -1: unknown. */
static long long
cached_pages(int fd, uint64_t off, uint64_t len)
{
	struct { uint64_t off, len; } range = { off, len };
	uint64_t cs[5];

	if (syscall(__NR_cachestat, fd, &range, cs, 0) < 0)
		return -1;
	return (long long)cs[0];
}

/*
 * A file read from the page cache by the consumer until the first range
 * the cache does not hold (evicted from the middle of a block), the
 * reader thread from there: the same bytes in order either way.
 */
static void
cache_switch_case(const char *path, const uint8_t *data, size_t n,
    off_t evict)
{
	uint32_t got;
	uint64_t total;
	struct ring *r;
	struct ring_block b;
	static uint8_t tmp[4096];
	int fd = open(path, O_RDWR | O_TRUNC);

	CHECK(fd >= 0);
	CHECK(pwrite(fd, data, n, 0) == (ssize_t)n);
	CHECK(fsync(fd) == 0);
	/* Out of the cache, then the head read back in (no read-ahead). */
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) == 0);
	for (off_t o = 0; o < evict;) {
		ssize_t k = pread(fd, tmp, (size_t)(evict - o) < sizeof(tmp) ?
		    (size_t)(evict - o) : sizeof(tmp), o);
		CHECK(k > 0);
		if (k <= 0)
			break;
		o += k;
	}
	long long left = cached_pages(fd, (uint64_t)evict, n - (uint64_t)evict);
	CHECK(ring_new(4, 65536, &r) == 0);
	CHECK(ring_source(r, fd) == 0);
	CHECK(ring_inline(r));
	CHECK(ring_next(r, &b) == 1);
	CHECK(ring_inline(r));	/* block 0 was cached */
	CHECK(drain_ring(r, &b, 4, 2, &got, &total) == 0);
	CHECK_EQ(total, n);
	CHECK_EQ(got, crc32c(0, data, n));
	if (left == 0)
		CHECK(!ring_inline(r));
	else
		printf("# %s: %lld pages stayed cached: no switch to test\n",
		    path, left);
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

	/* Inline from the page cache, the reader thread where it ends. */
	for (size_t di = 0; di < 2; di++) {
		char cpath[64];
		snprintf(cpath, sizeof(cpath), "%s/abs-ring-XXXXXX", dirs[di]);
		int cfd = mkstemp(cpath);
		if (cfd < 0)
			continue;
		close(cfd);
		fill_pattern(data, maxsz, 78);
		if (di == 0) {
			cache_switch_case(cpath, data, maxsz, (1 << 20) + 8192);
			cache_switch_case(cpath, data, maxsz, 1 << 20);
		} else {
			/* tmpfs is memory: read inline to the end. */
			uint32_t got;
			uint64_t total;
			struct ring *r;
			struct ring_block b;
			int wfd = open(cpath, O_WRONLY);
			CHECK(pwrite(wfd, data, maxsz, 0) == (ssize_t)maxsz);
			close(wfd);
			int rfd = open(cpath, O_RDONLY);
			CHECK(ring_new(4, 65536, &r) == 0);
			CHECK(ring_source(r, rfd) == 0);
			CHECK(ring_next(r, &b) == 1);
			CHECK(drain_ring(r, &b, 4, 3, &got, &total) == 0);
			CHECK_EQ(total, maxsz);
			CHECK_EQ(got, crc32c(0, data, maxsz));
			CHECK(ring_inline(r));
			ring_free(r);
			/* Told to, the reader thread reads it all the same. */
			CHECK(ring_new(4, 65536, &r) == 0);
			ring_thread_always(r);
			CHECK(ring_source(r, rfd) == 0);
			CHECK(!ring_inline(r));
			CHECK(drain_ring(r, NULL, 4, 3, &got, &total) == 0);
			CHECK_EQ(total, maxsz);
			CHECK_EQ(got, crc32c(0, data, maxsz));
			ring_free(r);
			close(rfd);
		}
		unlink(cpath);
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
	/* Reset mid-source (blocks held, reads in flight), then sources one
	   after another through the same buffers: each reads whole. */
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		uint32_t got;
		uint64_t total;
		CHECK(ring_reset(r) == 0);
		CHECK_EQ(ring_outstanding(r), 0);
		fill_pattern(data, n, (uint32_t)si + 40);
		CHECK(ftruncate(fd, 0) == 0);
		CHECK(pwrite(fd, data, n, 0) == (ssize_t)n);
		close(rfd);
		rfd = open(path, O_RDONLY);
		CHECK(ring_source(r, rfd) == 0);
		CHECK(drain_ring(r, NULL, 2, 1, &got, &total) == 0);
		CHECK_EQ(total, n);
		CHECK_EQ(got, crc32c(0, data, n));
	}
	/* Reset after a reader thread (a pipe, a file read by the thread):
	   its io_uring goes, the next source reads whole. */
	for (int k = 0; k < 3; k++) {
		size_t n = (1 << 20) + 4097 * (size_t)k;
		uint32_t got;
		uint64_t total;
		int p[2];
		fill_pattern(data, n, 60u + (uint32_t)k);
		CHECK(ring_reset(r) == 0);
		if (k == 1) {
			CHECK(ftruncate(fd, 0) == 0);
			CHECK(pwrite(fd, data, n, 0) == (ssize_t)n);
			close(rfd);
			rfd = open(path, O_RDONLY);
			ring_thread_always(r);
			CHECK(ring_source(r, rfd) == 0);
			CHECK(drain_ring(r, NULL, 2, 1, &got, &total) == 0);
		} else {
			CHECK(pipe(p) == 0);
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				_exit(write(p[1], data, n) == (ssize_t)n ? 0 : 1);
			}
			close(p[1]);
			CHECK(ring_source(r, p[0]) == 0);
			CHECK(drain_ring(r, NULL, 2, 1, &got, &total) == 0);
			CHECK(ring_reset(r) == 0);
			close(p[0]);
			waitpid(pid, NULL, 0);
		}
		CHECK_EQ(total, n);
		CHECK_EQ(got, crc32c(0, data, n));
	}
	CHECK_EQ(ring_block_size(r), 65536);
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
