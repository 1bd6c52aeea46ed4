/*
 * io_uring read-ahead into registered buffers, handed out in order.
 *
 * A reader thread owns the io_uring: it keeps every free buffer reading
 * from the source, so the window fills while the consumer is blocked on a
 * slow sink (like mbuffer's reader). The consumer takes full blocks with
 * ring_next() and gives them back with ring_confirm(), which wakes the
 * reader through an eventfd polled on the same ring. Slot state is shared
 * under one mutex; only the reader touches the submission queue.
 *
 * A file whose next blocks are in the page cache is read by the consumer
 * itself, one pread() a block in ring_next(), and the reader thread starts
 * only at the first range that is not cached. A read from the page cache
 * is a copy that waits on nothing, so read-ahead gains no time there, and
 * the copy made on the consumer's own core leaves the block in its cache
 * for the checksums that follow; copied on another core (io_uring's worker
 * for a page-cache read) every line moved between the cores again.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ring/ring.h"

#define WAKE_TAG UINT64_MAX	/* user_data of the eventfd poll */
#define LOOK_BLOCKS 8		/* blocks the page cache is asked about at once */

#ifndef __NR_cachestat
#define __NR_cachestat 451	/* the same on every architecture (6.5) */
#endif

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
	bool fixed;		/* the buffers are registered */
	unsigned depth;
	size_t bs;
	size_t stride;		/* bs plus RING_SLACK */
	void *mem;
	struct slot *slots;
	int fd;
	bool seekable;
	/*
	 * The source was opened O_DIRECT: the reads go from the device into
	 * the buffers. Where that is refused (EINVAL: a file system without
	 * direct I/O, an unaligned tail) O_DIRECT is dropped from the file and
	 * the read queued again through the page cache.
	 */
	bool direct;
	unsigned direct_retries;	/* EINVALs taken back once direct */
	/* The consumer reads (no reader thread yet): bytes below cached_to
	   were in the page cache when last asked; a file system without
	   RWF_NOWAIT reads is asked with cachestat, tmpfs not at all. */
	bool inline_rd;
	bool thread_always;	/* ring_thread_always() */
	bool sync_only;		/* no reader thread to be had: read here */
	bool no_nowait;
	bool in_memory;
	uint64_t cached_to;
	/* shared with the reader thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_seq;	/* next sequence to assign to a free buffer */
	uint64_t out_seq;	/* next sequence ring_next() returns */
	uint64_t conf_seq;	/* oldest held, not yet confirmed */
	uint64_t eof_seq;	/* first sequence at or after end of source */
	bool eof;
	int error;
	bool stop;
	bool waiting;		/* the consumer sleeps on cv */
	bool starved;		/* the reader sleeps for lack of free buffers */
	uint64_t bytes;
	/* the reader's own */
	pthread_t thread;
	bool thread_started;
	int efd;
	bool poll_armed;
	unsigned inflight;
};

/*
 * The reader's io_uring, its registered buffers and the eventfd it polls:
 * made when the reader thread starts, so that a file read inline pins no
 * memory and pays for no ring.
 */
static int
uring_setup(struct ring *r)
{
	struct iovec *iov;
	int rc;

	rc = io_uring_queue_init(r->depth * 2 + 4 < 8 ? 8 : r->depth * 2 + 4,
	    &r->uring, 0);
	if (rc < 0)
		return rc;
	r->uring_ok = true;
	if (!(iov = calloc(r->depth, sizeof(*iov))))
		return -ENOMEM;
	for (unsigned i = 0; i < r->depth; i++) {
		iov[i].iov_base = (char *)r->mem + (size_t)i * r->stride;
		iov[i].iov_len = r->stride;
	}
	/*
	 * Registered buffers are pinned memory: past RLIMIT_MEMLOCK (8 MiB by
	 * default) without CAP_IPC_LOCK, plain reads into the same buffers.
	 */
	rc = io_uring_register_buffers(&r->uring, iov, r->depth);
	free(iov);
	if (rc < 0 && rc != -ENOMEM)
		return rc;
	r->fixed = rc == 0;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return -errno;
	return io_uring_register_files(&r->uring, &r->fd, 1);
}

int
ring_new(unsigned depth, size_t block_size, struct ring **out)
{
	struct ring *r;
	size_t len;

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
	r->efd = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->slots = calloc(depth, sizeof(*r->slots));
	r->stride = block_size + RING_SLACK;
	len = (size_t)depth * r->stride;
	/*
	 * In 2 MiB pages where the kernel has them: registering the buffers
	 * pins every page, and 8 MiB of 4 KiB pages took 2.3 ms of a short
	 * dump's 10; read into inline, each page is a fault of its own.
	 */
	if (len >= UTIL_HUGE_PAGE)
		r->mem = util_alloc_huge(len);
	else if (posix_memalign(&r->mem, 4096, len))
		r->mem = NULL;
	if (!r->slots || !r->mem) {
		ring_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

/* Wake the reader (a buffer came free, or it must stop). */
static void
wake(struct ring *r)
{
	uint64_t one = 1;

	if (r->efd >= 0 && write(r->efd, &one, sizeof(one)) < 0)
		(void)0;	/* the counter is already set: it will wake */
}

void
ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_mutex_unlock(&r->mu);
		wake(r);
		pthread_join(r->thread, NULL);
	}
	if (r->uring_ok)
		io_uring_queue_exit(&r->uring);
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->mem);
	free(r->slots);
	free(r);
}

int
ring_reset(struct ring *r)
{
	if (r->thread_started) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_mutex_unlock(&r->mu);
		wake(r);
		pthread_join(r->thread, NULL);
		r->thread_started = false;
	}
	if (r->inflight || r->poll_armed)
		return -EBUSY;	/* the kernel kept a read: not reusable */
	/* The reader's io_uring goes (it holds the old fd); the next source
	   that needs one makes its own (uring_setup). The memory stays. */
	if (r->uring_ok)
		io_uring_queue_exit(&r->uring);
	r->uring_ok = r->fixed = false;
	if (r->efd >= 0)
		close(r->efd);
	r->efd = -1;
	memset(r->slots, 0, r->depth * sizeof(*r->slots));
	r->fd = -1;
	r->seekable = r->direct = false;
	r->direct_retries = 0;
	r->inline_rd = r->thread_always = r->sync_only = false;
	r->no_nowait = r->in_memory = false;
	r->cached_to = 0;
	r->next_seq = r->out_seq = r->conf_seq = r->eof_seq = 0;
	r->eof = r->stop = r->waiting = r->starved = false;
	r->error = 0;
	r->bytes = 0;
	return 0;
}

size_t
ring_block_size(const struct ring *r)
{
	return r->bs;
}

/* Buffer address of slot i. */
static void *
slot_buf(struct ring *r, unsigned i)
{
	return (char *)r->mem + (size_t)i * r->stride;
}

/* Queue a read for the unfilled rest of slot i (reader, under mu). */
static int
submit_read(struct ring *r, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
	struct slot *s = &r->slots[i];
	uint64_t off;

	if (!sqe)
		return -EBUSY;
	off = r->seekable ? s->seq * r->bs + s->fill : (uint64_t)-1;
	if (r->fixed)
		io_uring_prep_read_fixed(sqe, 0, (char *)slot_buf(r, i) + s->fill,
		    (unsigned)(r->bs - s->fill), off, (int)i);
	else
		io_uring_prep_read(sqe, 0, (char *)slot_buf(r, i) + s->fill,
		    (unsigned)(r->bs - s->fill), off);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, i);
	s->inflight = true;
	r->inflight++;
	return 0;
}

/* Give free buffers to new sequence numbers and queue their reads. */
static void
fill(struct ring *r)
{
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
		if (submit_read(r, i) < 0)
			break;
		if (!r->seekable)
			break;
	}
}

/* Reads through the page cache from now on (reader, under mu). */
static void
drop_direct(struct ring *r)
{
	int fl = fcntl(r->fd, F_GETFL);

	if (fl >= 0 && (fl & O_DIRECT))
		fcntl(r->fd, F_SETFL, fl & ~O_DIRECT);
	r->direct = false;
}

/* Account one read completion (reader, under mu). */
static void
complete(struct ring *r, unsigned i, int res)
{
	struct slot *s = &r->slots[i];

	r->inflight--;
	s->inflight = false;
	if (res == -EAGAIN || res == -EINTR || res == -ECANCELED)
		return;	/* queued again by fill() */
	/* Direct I/O refused: again through the page cache (reads that were
	   in flight at the switch may come back refused too). */
	if (res == -EINVAL && r->direct_retries < 2 * r->depth &&
	    (r->direct || r->direct_retries)) {
		drop_direct(r);
		r->direct_retries++;
		return;
	}
	if (res < 0) {
		if (!r->error)
			r->error = res;
		return;
	}
	s->fill += (size_t)res;
	/* A short direct read (the tail, or a file cut short): the rest of
	   the block would be an unaligned read. */
	if (r->direct && res > 0 && s->fill < r->bs && s->fill % 4096)
		drop_direct(r);
	if (res == 0) {
		s->eof = true;
		if (!r->eof || s->seq < r->eof_seq) {
			r->eof = true;
			r->eof_seq = s->seq;
		}
	}
	if (s->fill == r->bs || s->eof)
		s->state = SLOT_READY;
}

/* The reader: keep every free buffer reading until told to stop. */
static void *
reader(void *arg)
{
	struct ring *r = arg;
	struct io_uring_cqe *cqe;
	uint64_t ev;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		stop = r->stop;
		if (!stop && !r->error)
			fill(r);
		/* Nothing reading: only a freed buffer (or stop) can wake us. */
		r->starved = r->inflight == 0;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		if (!r->poll_armed) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
			if (sqe) {
				io_uring_prep_poll_add(sqe, r->efd, POLLIN);
				io_uring_sqe_set_data64(sqe, WAKE_TAG);
				r->poll_armed = true;
			}
		}
		int rc = io_uring_submit_and_wait(&r->uring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
			pthread_mutex_lock(&r->mu);
			r->error = rc;
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->mu);
			break;
		}
		unsigned head, n = 0;
		pthread_mutex_lock(&r->mu);
		io_uring_for_each_cqe(&r->uring, head, cqe) {
			uint64_t tag = io_uring_cqe_get_data64(cqe);
			n++;
			if (tag == WAKE_TAG) {
				if (read(r->efd, &ev, sizeof(ev)) < 0)
					(void)0;	/* nothing pending: fine */
				r->poll_armed = false;
				continue;
			}
			complete(r, (unsigned)tag, cqe->res);
		}
		io_uring_cq_advance(&r->uring, n);
		if (r->waiting)
			pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	/* Take back what the kernel still holds before the buffers go (or
	   are used again: ring_reset), the cancel's own answer too. */
	bool cancel = false;
	if (r->inflight || r->poll_armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
		if (sqe) {
			io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data64(sqe, WAKE_TAG - 1);
			cancel = io_uring_submit(&r->uring) == 1;
		}
	}
	while (r->inflight || r->poll_armed || cancel) {
		if (io_uring_wait_cqe(&r->uring, &cqe) < 0)
			break;
		uint64_t tag = io_uring_cqe_get_data64(cqe);
		if (tag == WAKE_TAG)
			r->poll_armed = false;
		else if (tag == WAKE_TAG - 1)
			cancel = false;
		else
			r->inflight--;
		io_uring_cqe_seen(&r->uring, cqe);
	}
	return NULL;
}

/*
 * Whether the block at off is in the page cache, asking about
 * LOOK_BLOCKS blocks at once (consumer, inline). Past the end: yes (the
 * read says how much there is now). No where cachestat (6.5) is missing.
 */
static bool
cached_ahead(struct ring *r, uint64_t off)
{
	struct { uint64_t off, len; } range;
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		    nr_recently_evicted;
	} cs;
	struct stat sb;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), end;

	if (r->in_memory || off < r->cached_to)
		return true;
	if (fstat(r->fd, &sb) < 0)
		return false;
	if (off >= (uint64_t)sb.st_size)
		return true;
	end = off + LOOK_BLOCKS * (uint64_t)r->bs;
	if (end > (uint64_t)sb.st_size)
		end = (uint64_t)sb.st_size;
	range.off = off;
	range.len = end - off;
	if (syscall(__NR_cachestat, r->fd, &range, &cs, 0) < 0 ||
	    cs.nr_cache < (end - 1) / pg - off / pg + 1)
		return false;
	r->cached_to = end;
	return true;
}

/*
 * From here on the reader thread reads ahead (consumer, inline); fill
 * bytes of the next block are already read.
 */
static int
start_reader(struct ring *r, size_t fill)
{
	struct slot *s = &r->slots[r->out_seq % r->depth];
	int rc;

	if ((rc = uring_setup(r)) < 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	r->inline_rd = false;
	r->next_seq = r->out_seq;
	if (fill) {
		*s = (struct slot){ .state = SLOT_READING, .seq = r->out_seq,
		    .fill = fill };
		r->next_seq++;
	}
	pthread_mutex_unlock(&r->mu);
	rc = pthread_create(&r->thread, NULL, reader, r);
	if (rc) {
		pthread_mutex_lock(&r->mu);
		r->inline_rd = true;
		r->next_seq = r->out_seq;
		s->state = SLOT_FREE;
		pthread_mutex_unlock(&r->mu);
		return -rc;
	}
	r->thread_started = true;
	return 0;
}

/*
 * The reader thread reads on from here: true. Where it cannot be started
 * (no io_uring: a sysctl, a seccomp filter) the consumer goes on reading,
 * waiting for the disk: false.
 */
static bool
reader_from(struct ring *r, size_t fill)
{
	int rc = start_reader(r, fill);

	if (rc == 0)
		return true;
	log_warn("reading ahead from the source: %s: read as it is needed",
	    strerror(-rc));
	r->sync_only = true;
	return false;
}

/*
 * The next block read here, from the page cache: 1, 0 at the end, -errno,
 * or 2: not cached, the reader thread has it from now on.
 */
static int
next_inline(struct ring *r, struct ring_block *b)
{
	unsigned i = (unsigned)(r->out_seq % r->depth);
	struct slot *s = &r->slots[i];
	uint64_t off = r->out_seq * r->bs;
	size_t fill = 0;

	if (r->error)
		return r->error;
	if (r->eof)
		return 0;
	if (s->state == SLOT_HELD)
		return -ENOBUFS;	/* window full: confirm first */
	while (fill < r->bs) {
		struct iovec v = { (char *)slot_buf(r, i) + fill, r->bs - fill };
		bool ask = !r->sync_only;
		ssize_t n;
		if (ask && r->no_nowait && !cached_ahead(r, off + fill)) {
			if (reader_from(r, fill))
				return 2;
			continue;
		}
		/* What is not in the page cache would wait: the reader's. */
		n = preadv2(r->fd, &v, 1, (off_t)(off + fill),
		    ask && !r->no_nowait ? RWF_NOWAIT : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && ask && !r->no_nowait) {
			if (reader_from(r, fill))
				return 2;
			continue;
		}
		if (n < 0 && errno == EOPNOTSUPP && ask && !r->no_nowait) {
			r->no_nowait = true;
			continue;
		}
		if (n < 0) {
			r->error = -errno;
			return r->error;
		}
		if (n == 0)
			break;
		fill += (size_t)n;
	}
	pthread_mutex_lock(&r->mu);
	if (fill < r->bs) {
		r->eof = true;
		r->eof_seq = r->out_seq;
	}
	if (fill) {
		*s = (struct slot){ .state = SLOT_HELD, .seq = r->out_seq,
		    .fill = fill, .eof = fill < r->bs };
		b->idx = i;
		b->buf = slot_buf(r, i);
		b->len = fill;
		b->seq = r->out_seq;
		r->bytes += fill;
		r->out_seq++;
		r->next_seq = r->out_seq;
	}
	pthread_mutex_unlock(&r->mu);
	return fill ? 1 : 0;
}

int
ring_source(struct ring *r, int fd)
{
	struct stat sb;
	int rc;

	if (r->thread_started)
		return -EBUSY;
	if (fstat(fd, &sb) < 0)
		return -errno;
	r->seekable = S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode);
	int fl = fcntl(fd, F_GETFL);
	r->direct = fl >= 0 && (fl & O_DIRECT) && r->seekable &&
	    r->bs % 4096 == 0 && r->stride % 4096 == 0;
	if (fl >= 0 && (fl & O_DIRECT) && !r->direct)
		fcntl(fd, F_SETFL, fl & ~O_DIRECT);
	r->fd = fd;
	/* A cached file: the consumer reads while the cache has it. A tmpfs
	   file is memory (or swap, which a read waits for as little). */
	struct statfs fs;
	r->in_memory = fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
	if (S_ISREG(sb.st_mode) && !r->direct && !r->thread_always) {
		r->inline_rd = true;
		return 0;
	}
	if ((rc = uring_setup(r)) < 0)
		return rc;
	rc = pthread_create(&r->thread, NULL, reader, r);
	if (rc)
		return -rc;
	r->thread_started = true;
	return 0;
}

void
ring_thread_always(struct ring *r)
{
	r->thread_always = true;
}

int
ring_next(struct ring *r, struct ring_block *b)
{
	return ring_next_wait(r, b, 0);
}

int
ring_next_wait(struct ring *r, struct ring_block *b, unsigned ms)
{
	struct timespec until;
	int rc = 0;

	if (r->fd < 0)
		return -EBADF;
	/* A file read here does not stall as a FIFO can: no deadline. */
	if (r->inline_rd && (rc = next_inline(r, b)) != 2)
		return rc;
	if (ms) {	/* cv waits on CLOCK_REALTIME (its default) */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&r->mu);
	for (;;) {
		unsigned i = (unsigned)(r->out_seq % r->depth);
		struct slot *s = &r->slots[i];
		if (r->error) {
			rc = r->error;
			break;
		}
		if (r->eof && r->out_seq > r->eof_seq)
			break;
		if (s->state == SLOT_READY && s->seq == r->out_seq) {
			if (s->fill == 0)
				break;	/* the source ended at a block boundary */
			s->state = SLOT_HELD;
			b->idx = i;
			b->buf = slot_buf(r, i);
			b->len = s->fill;
			b->seq = s->seq;
			r->bytes += s->fill;
			r->out_seq++;
			rc = 1;
			break;
		}
		if (s->state == SLOT_HELD) {
			rc = -ENOBUFS;	/* window full: confirm first */
			break;
		}
		r->waiting = true;
		if (!ms) {
			pthread_cond_wait(&r->cv, &r->mu);
		} else if (pthread_cond_timedwait(&r->cv, &r->mu, &until) ==
		    ETIMEDOUT) {
			r->waiting = false;
			rc = -ETIMEDOUT;
			break;
		}
		r->waiting = false;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
ring_confirm(struct ring *r, unsigned idx)
{
	bool starved = false;
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	unsigned oldest = (unsigned)(r->conf_seq % r->depth);
	if (idx >= r->depth || idx != oldest || r->slots[idx].state != SLOT_HELD) {
		rc = -EINVAL;
	} else {
		r->slots[idx].state = SLOT_FREE;
		r->conf_seq++;
		starved = r->starved;
		r->starved = false;
	}
	pthread_mutex_unlock(&r->mu);
	/* A busy reader picks the buffer up on its next round anyway. */
	if (starved)
		wake(r);
	return rc;
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

bool
ring_inline(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	bool in = r->inline_rd;
	pthread_mutex_unlock(&r->mu);
	return in;
}

bool
ring_direct(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	bool d = r->direct;
	pthread_mutex_unlock(&r->mu);
	return d;
}

uint64_t
ring_bytes(const struct ring *r)
{
	return r->bytes;
}
