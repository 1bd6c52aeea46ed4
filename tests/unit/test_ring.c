/* The io_uring window: order, confirmation, pipes and files, odd sizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/* Pull everything through a ring; CRC of the concatenation and count. */
static int
drain(int fd, unsigned depth, size_t bs, unsigned hold, uint32_t *crc,
    uint64_t *total)
{
	struct ring *r;
	struct ring_block b, held[64];
	unsigned nheld = 0;
	int rc;

	*crc = 0;
	*total = 0;
	if ((rc = ring_new(depth, bs, &r)) < 0)
		return rc;
	if ((rc = ring_source(r, fd)) < 0) {
		ring_free(r);
		return rc;
	}
	uint64_t expect_seq = 0;
	while ((rc = ring_next(r, &b)) == 1) {
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
	ring_free(r);
	return rc;
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
	CHECK(ring_new(0, 65536, &r) == -EINVAL);
	CHECK(ring_new(4, 1000, &r) == -EINVAL);
	ring_free(NULL);
	unlink(path);
	close(fd);
	free(data);
	T_DONE();
}
