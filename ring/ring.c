/* io_uring read-ahead into registered buffers, handed out in order. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "ring/ring.h"

enum slot_state { SLOT_FREE, SLOT_READING, SLOT_READY, SLOT_HELD };

struct slot {
	enum slot_state state;
	uint64_t seq;
	size_t fill;
	bool inflight;
	bool eof;		/* the source ended inside or before this block */
};

struct ring {
	struct io_uring uring;
	bool uring_ok;
	unsigned depth;
	size_t bs;
	size_t stride;		/* bs plus RING_SLACK */
	void *mem;
	struct slot *slots;
	int fd;
	bool seekable;
	uint64_t next_seq;	/* next sequence to assign to a free buffer */
	uint64_t out_seq;	/* next sequence ring_next() returns */
	uint64_t conf_seq;	/* oldest held, not yet confirmed */
	uint64_t eof_seq;	/* first sequence at or after end of source */
	bool eof;
	int error;
	unsigned inflight;
	uint64_t bytes;
};

int
ring_new(unsigned depth, size_t block_size, struct ring **out)
{
	struct ring *r;
	struct iovec *iov;
	int rc;

	*out = NULL;
	if (depth < 1 || depth > 1024 || block_size < 512 ||
	    block_size > (64u << 20) || block_size % 512)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->depth = depth;
	r->bs = block_size;
	r->fd = -1;
	r->slots = calloc(depth, sizeof(*r->slots));
	iov = calloc(depth, sizeof(*iov));
	r->stride = block_size + RING_SLACK;
	if (!r->slots || !iov ||
	    posix_memalign(&r->mem, 4096, (size_t)depth * r->stride)) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = io_uring_queue_init(depth * 2 < 8 ? 8 : depth * 2, &r->uring, 0);
	if (rc < 0)
		goto fail;
	r->uring_ok = true;
	for (unsigned i = 0; i < depth; i++) {
		iov[i].iov_base = (char *)r->mem + (size_t)i * r->stride;
		iov[i].iov_len = r->stride;
	}
	rc = io_uring_register_buffers(&r->uring, iov, depth);
	if (rc < 0)
		goto fail;
	free(iov);
	*out = r;
	return 0;
fail:
	free(iov);
	ring_free(r);
	return rc;
}

void
ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->uring_ok) {
		/* Reap what is still in flight before the buffers go away. */
		while (r->inflight) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&r->uring, &cqe) < 0)
				break;
			io_uring_cqe_seen(&r->uring, cqe);
			r->inflight--;
		}
		io_uring_queue_exit(&r->uring);
	}
	free(r->mem);
	free(r->slots);
	free(r);
}

int
ring_source(struct ring *r, int fd)
{
	struct stat sb;
	int rc;

	if (fstat(fd, &sb) < 0)
		return -errno;
	r->seekable = S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode);
	rc = io_uring_register_files(&r->uring, &fd, 1);
	if (rc < 0)
		return rc;
	r->fd = fd;
	return 0;
}

/* Buffer address of slot i. */
static void *
slot_buf(struct ring *r, unsigned i)
{
	return (char *)r->mem + (size_t)i * r->stride;
}

/* Queue a read for the unfilled rest of slot i. */
static int
submit_read(struct ring *r, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
	struct slot *s = &r->slots[i];
	uint64_t off;

	if (!sqe)
		return -EBUSY;
	off = r->seekable ? s->seq * r->bs + s->fill : (uint64_t)-1;
	io_uring_prep_read_fixed(sqe, 0, (char *)slot_buf(r, i) + s->fill,
	    (unsigned)(r->bs - s->fill), off, (int)i);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, i);
	s->inflight = true;
	r->inflight++;
	return 0;
}

/* Give free buffers to new sequence numbers and start their reads. */
static int
fill(struct ring *r)
{
	int queued = 0, rc;

	for (unsigned k = 0; k < r->depth && !r->eof; k++) {
		unsigned i = (unsigned)(r->next_seq % r->depth);
		if (r->slots[i].state != SLOT_FREE)
			break;
		r->slots[i] = (struct slot){ .state = SLOT_READING,
		    .seq = r->next_seq };
		r->next_seq++;
	}
	/* Pipes and sockets: one read at a time, the oldest unfilled block. */
	for (uint64_t q = r->out_seq; q < r->next_seq; q++) {
		unsigned i = (unsigned)(q % r->depth);
		struct slot *s = &r->slots[i];
		if (s->state != SLOT_READING)
			continue;
		if (s->inflight) {
			if (!r->seekable)
				break;
			continue;
		}
		if ((rc = submit_read(r, i)) < 0)
			break;
		queued++;
		if (!r->seekable)
			break;
	}
	if (queued && (rc = io_uring_submit(&r->uring)) < 0)
		return rc;
	return 0;
}

/* Wait for one completion and account it. */
static int
reap(struct ring *r)
{
	struct io_uring_cqe *cqe;
	int rc = io_uring_wait_cqe(&r->uring, &cqe);

	if (rc < 0)
		return rc == -EINTR ? 0 : rc;
	unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&r->uring, cqe);
	r->inflight--;
	struct slot *s = &r->slots[i];
	s->inflight = false;
	if (res == -EAGAIN || res == -EINTR)
		return 0;	/* resubmitted by fill() */
	if (res < 0) {
		r->error = res;
		return res;
	}
	s->fill += (size_t)res;
	if (res == 0) {
		s->eof = true;
		if (!r->eof || s->seq < r->eof_seq) {
			r->eof = true;
			r->eof_seq = s->seq;
		}
	}
	if (s->fill == r->bs || s->eof)
		s->state = SLOT_READY;
	return 0;
}

int
ring_next(struct ring *r, struct ring_block *b)
{
	int rc;

	if (r->fd < 0)
		return -EBADF;
	for (;;) {
		if (r->error)
			return r->error;
		unsigned i = (unsigned)(r->out_seq % r->depth);
		struct slot *s = &r->slots[i];
		if (r->eof && r->out_seq > r->eof_seq)
			return 0;
		if (s->state == SLOT_READY && s->seq == r->out_seq) {
			if (s->fill == 0)
				return 0;	/* source ended at a block boundary */
			s->state = SLOT_HELD;
			b->idx = i;
			b->buf = slot_buf(r, i);
			b->len = s->fill;
			b->seq = s->seq;
			r->bytes += s->fill;
			r->out_seq++;
			/* Keep the pipeline full before handing this one out. */
			if ((rc = fill(r)) < 0)
				return rc;
			return 1;
		}
		if ((rc = fill(r)) < 0)
			return rc;
		if (!r->inflight) {
			if (s->state == SLOT_HELD || s->state == SLOT_FREE)
				return -ENOBUFS;	/* window full: confirm first */
			continue;
		}
		if ((rc = reap(r)) < 0)
			return rc;
	}
}

int
ring_confirm(struct ring *r, unsigned idx)
{
	unsigned oldest = (unsigned)(r->conf_seq % r->depth);

	if (idx >= r->depth || idx != oldest || r->slots[idx].state != SLOT_HELD)
		return -EINVAL;
	r->slots[idx].state = SLOT_FREE;
	r->conf_seq++;
	return 0;
}

unsigned
ring_outstanding(const struct ring *r)
{
	return (unsigned)(r->out_seq - r->conf_seq);
}

unsigned
ring_depth(const struct ring *r)
{
	return r->depth;
}

uint64_t
ring_bytes(const struct ring *r)
{
	return r->bytes;
}
