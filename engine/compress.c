/*
 * Compression on the dump path: zstd frames compressed side by side on
 * every core, their output put into a pool of in-flight blocks in order.
 *
 * The stream was already a run of independent frames (a new one every
 * frame_raw raw bytes, and one where the file index starts), so that a
 * restore of one file starts decompressing at the frame holding it. Each
 * frame is therefore a job of its own: the caller's bytes are copied into
 * a job's input, a worker compresses the whole job with ZSTD_compress2(),
 * and the main thread puts finished jobs into blocks strictly in job
 * order. The stream's form is unchanged (the same frames at the same raw
 * offsets; each frame's header now also carries its content size), so
 * every reader and every older dump stay as they are. libzstd's own
 * workers (ZSTD_c_nbWorkers) were not used: they split a frame into jobs
 * of several MiB (8 MiB at level 3), more than a 4 MiB frame holds, so
 * they would have run one job at a time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_createCCtx_advanced() */
#include <zstd.h>

#include "catalog/fileindex.h"
#include "common/digest.h"
#include "common/sum.h"
#include "common/util.h"
#include "engine/compress.h"
#include "engine/tape.h"
#include "engine/window.h"
#include "ring/ring.h"

enum job_state { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_DONE };

/* One frame: raw bytes in, a whole zstd frame out. */
struct zjob {
	enum job_state st;
	uint8_t *in, *out;
	size_t in_len, out_len;
	uint64_t raw;		/* raw offset of the frame's first byte */
	size_t zerr;		/* a zstd error code, or 0 */
};

struct eng_compress {
	int level;		/* 0: copy (a plain stream's tail) */
	struct digest *rd;	/* the raw bytes' digest, or NULL */
	uint64_t frame_raw;	/* a new frame every so many raw bytes */
	uint64_t raw, stored;	/* bytes in, bytes out (emitted) */
	struct fidx_frame *fr;	/* each frame's start */
	uint64_t nfr, capfr;
	uint32_t bs;
	uint8_t **bufs;		/* bs + RING_SLACK each (protection CRC) */
	uint8_t *bufmem;	/* all of them */
	bool *busy;		/* filling, or in the write window */
	unsigned nbuf;
	int cur;		/* the buffer being filled, or -1 */
	size_t fill;
	/* The frames: jobs by sequence number, slot seq % njobs. */
	struct zjob *jobs;
	unsigned njobs, nthreads, started;	/* nthreads 0: inline */
	size_t out_cap;
	bool filling;		/* job sub_seq is being filled */
	uint64_t emit_seq;	/* oldest job not yet put into blocks */
	pthread_t *thr;
	ZSTD_CCtx **cctx;	/* one a worker; inline: the caller's */
	/* Shared with the workers, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	uint64_t sub_seq;	/* jobs below this are queued or done */
	uint64_t take_seq;	/* the next job a worker takes */
	bool stop;
	unsigned started_workers;	/* each takes the next cctx */
};

int
eng_compress_level(const char *c)
{
	uint64_t v;

	if (!c || strcmp(c, "none") == 0)
		return 0;
	if (strcmp(c, "zstd") == 0)
		return 3;
	if (strncmp(c, "zstd:", 5) == 0 && util_parse_u64(c + 5, 19, &v) == 0 &&
	    v >= 1)
		return (int)v;
	return -1;
}

unsigned
eng_compress_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > ENG_COMPRESS_MAX_THREADS ?
	    ENG_COMPRESS_MAX_THREADS : (unsigned)n;
}

/*
 * The frames' buffers, the blocks' and zstd's tables, in 2 MiB pages
 * (util_alloc_huge): the frames in flight are tens of MiB. Here (a VM)
 * touching 64 MiB took 26 ms in 4 KiB pages, 3 ms in 2 MiB ones; a 150 MB
 * dump with 2 workers made 9,190 faults, now 643.
 */
/* zstd's own tables: 1.3 MB a context at level 3, more above. */
static void *
zalloc(void *opaque, size_t len)
{
	(void)opaque;
	return len >= UTIL_HUGE_PAGE / 2 ? util_alloc_huge(len) : malloc(len);
}

static void
zfree(void *opaque, void *p)
{
	(void)opaque;
	free(p);
}

static const ZSTD_customMem zmem = { zalloc, zfree, NULL };

/* A worker: compress the oldest queued job, one whole frame at a time. */
static void *
worker(void *arg)
{
	struct eng_compress *c = arg;
	ZSTD_CCtx *z;

	pthread_mutex_lock(&c->mu);
	z = c->cctx[c->started_workers++];
	for (;;) {
		while (!c->stop && c->take_seq == c->sub_seq)
			pthread_cond_wait(&c->work_cv, &c->mu);
		if (c->stop)
			break;
		struct zjob *j = &c->jobs[c->take_seq % c->njobs];
		c->take_seq++;
		pthread_mutex_unlock(&c->mu);
		size_t r = ZSTD_compress2(z, j->out, c->out_cap, j->in,
		    j->in_len);
		pthread_mutex_lock(&c->mu);
		if (ZSTD_isError(r)) {
			j->zerr = r;
			j->out_len = 0;
		} else {
			j->out_len = r;
		}
		j->st = JOB_DONE;
		pthread_cond_broadcast(&c->done_cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int
eng_compress_new(int level, uint32_t bs, unsigned nbuf, uint64_t frame_raw,
    unsigned threads, struct eng_compress **out)
{
	struct eng_compress *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	if (level > 0 && !frame_raw) {
		free(c);
		return -EINVAL;	/* a frame is a job: jobs need a size */
	}
	c->level = level;
	c->bs = bs;
	c->nbuf = nbuf;
	c->cur = -1;
	c->frame_raw = frame_raw;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work_cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	c->bufs = calloc(nbuf, sizeof(*c->bufs));
	c->busy = calloc(nbuf, sizeof(*c->busy));
	if (!c->bufs || !c->busy)
		goto nomem;
	size_t stride = ((size_t)bs + RING_SLACK + 4095) & ~(size_t)4095;
	if (!(c->bufmem = util_alloc_huge(stride * nbuf)))
		goto nomem;
	for (unsigned i = 0; i < nbuf; i++)
		c->bufs[i] = c->bufmem + stride * i;
	if (level > 0) {
		bool inl = threads == ENG_COMPRESS_INLINE;
		if (inl)
			threads = 0;
		else if (!threads)
			threads = eng_compress_default_threads();
		if (threads > ENG_COMPRESS_MAX_THREADS)
			threads = ENG_COMPRESS_MAX_THREADS;
		c->nthreads = threads;
		/* One being filled, one per worker, one finished and waiting
		   for the drive's buffers: the workers never wait on the main
		   thread's copying (more queued measured the same, 600 MB at
		   level 3, 2 workers). Inline, a frame is compressed as it is
		   submitted. */
		c->njobs = inl ? 1 : threads + 2;
		c->out_cap = ZSTD_compressBound((size_t)frame_raw);
		c->jobs = calloc(c->njobs, sizeof(*c->jobs));
		c->thr = calloc(threads ? threads : 1, sizeof(*c->thr));
		c->cctx = calloc(threads ? threads : 1, sizeof(*c->cctx));
		if (!c->jobs || !c->thr || !c->cctx)
			goto nomem;
		for (unsigned i = 0; i < (threads ? threads : 1); i++) {
			if (!(c->cctx[i] = ZSTD_createCCtx_advanced(zmem)))
				goto nomem;
			ZSTD_CCtx_setParameter(c->cctx[i], ZSTD_c_compressionLevel,
			    level);
		}
		for (unsigned i = 0; i < c->njobs; i++)
			if (!(c->jobs[i].in = util_alloc_huge((size_t)frame_raw)) ||
			    !(c->jobs[i].out = util_alloc_huge(c->out_cap)))
				goto nomem;
		for (unsigned i = 0; i < threads; i++) {
			if (pthread_create(&c->thr[i], NULL, worker, c))
				goto nomem;
			c->started++;
			/* top -H, perf: the compression threads by name. */
			pthread_setname_np(c->thr[i], "abs-zstd");
		}
	}
	*out = c;
	return 0;
nomem:
	eng_compress_free(c);
	return -ENOMEM;
}

void
eng_compress_free(struct eng_compress *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->work_cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->started; i++)
		pthread_join(c->thr[i], NULL);
	for (unsigned i = 0; c->jobs && i < c->njobs; i++) {
		free(c->jobs[i].in);
		free(c->jobs[i].out);
	}
	free(c->jobs);
	free(c->thr);
	for (unsigned i = 0; c->cctx && i < (c->nthreads ? c->nthreads : 1);
	    i++)
		ZSTD_freeCCtx(c->cctx[i]);
	free(c->cctx);
	free(c->bufmem);
	free(c->bufs);
	free(c->busy);
	free(c->fr);
	pthread_cond_destroy(&c->work_cv);
	pthread_cond_destroy(&c->done_cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
eng_compress_digest(struct eng_compress *c, struct digest *rd)
{
	c->rd = rd;
}

void
eng_compress_release(struct eng_compress *c, unsigned idx)
{
	if (idx < c->nbuf)
		c->busy[idx] = false;
}

/* A free buffer to fill, waiting for the drive if all are in flight. */
static int
take(struct eng_compress *c, struct eng_window *w)
{
	bool did;
	int rc;

	for (;;) {
		for (unsigned i = 0; i < c->nbuf; i++)
			if (!c->busy[i]) {
				c->busy[i] = true;
				c->cur = (int)i;
				return 0;
			}
		if ((rc = eng_window_step(w, &did)) < 0)
			return rc;
		if (!did)
			return -EIO;
	}
}

/* The buffer being filled goes to the window as one block. */
static int
put_cur(struct eng_compress *c, struct eng_window *w)
{
	int i = c->cur;
	size_t n = c->fill;

	c->cur = -1;
	c->fill = 0;
	return eng_window_put(w, c->bufs[i], n, (unsigned)i);
}

/* len stored bytes into blocks as they are; each full block to the window. */
static int
to_blocks(struct eng_compress *c, struct eng_window *w, const uint8_t *in,
    size_t len)
{
	int rc;

	while (len) {
		if (c->cur < 0 && (rc = take(c, w)) < 0)
			return rc;
		size_t n = c->bs - c->fill < len ? c->bs - c->fill : len;
		memcpy(c->bufs[c->cur] + c->fill, in, n);
		c->fill += n;
		c->stored += n;
		in += n;
		len -= n;
		if (c->fill == c->bs && (rc = put_cur(c, w)) < 0)
			return rc;
	}
	return 0;
}

/* A frame begins at (raw, the stored bytes so far): note where. */
static int
frame_note(struct eng_compress *c, uint64_t raw)
{
	if (c->nfr == c->capfr) {
		uint64_t cap = c->capfr ? c->capfr * 2 : 256;
		struct fidx_frame *n = realloc(c->fr, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->fr = n;
		c->capfr = cap;
	}
	c->fr[c->nfr].raw = raw;
	c->fr[c->nfr].stored = c->stored;
	c->nfr++;
	return 0;
}

/* The job being filled goes to the workers (inline: is compressed now). */
static void
submit(struct eng_compress *c)
{
	if (!c->nthreads) {
		struct zjob *j = &c->jobs[c->sub_seq % c->njobs];
		size_t r = ZSTD_compress2(c->cctx[0], j->out, c->out_cap, j->in,
		    j->in_len);
		j->zerr = ZSTD_isError(r) ? r : 0;
		j->out_len = ZSTD_isError(r) ? 0 : r;
		j->st = JOB_DONE;
		c->sub_seq++;
		c->take_seq++;
		c->filling = false;
		return;
	}
	pthread_mutex_lock(&c->mu);
	c->jobs[c->sub_seq % c->njobs].st = JOB_QUEUED;
	c->sub_seq++;
	pthread_cond_signal(&c->work_cv);
	pthread_mutex_unlock(&c->mu);
	c->filling = false;
}

/*
 * Put finished frames into blocks, oldest first: all that are done, or
 * (wait) until every submitted one is. 0 or -errno.
 */
static int
emit(struct eng_compress *c, struct eng_window *w, bool wait, char *err)
{
	int rc;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		if (c->emit_seq == c->sub_seq) {
			pthread_mutex_unlock(&c->mu);
			return 0;
		}
		struct zjob *j = &c->jobs[c->emit_seq % c->njobs];
		while (wait && j->st != JOB_DONE)
			pthread_cond_wait(&c->done_cv, &c->mu);
		bool done = j->st == JOB_DONE;
		pthread_mutex_unlock(&c->mu);
		if (!done)
			return 0;
		if (j->zerr) {
			eng_err(err, "zstd: %s", ZSTD_getErrorName(j->zerr));
			return -EIO;
		}
		if ((rc = frame_note(c, j->raw)) < 0 ||
		    (rc = to_blocks(c, w, j->out, j->out_len)) < 0)
			return rc;
		j->st = JOB_FREE;
		c->emit_seq++;
	}
}

/* The job to fill: a free slot, emitting the oldest frame if none is. */
static int
job_cur(struct eng_compress *c, struct eng_window *w, char *err,
    struct zjob **out)
{
	int rc;

	if (!c->filling) {
		/* Every slot is queued or waiting to go out: the oldest first. */
		while (c->sub_seq - c->emit_seq >= c->njobs)
			if ((rc = emit(c, w, true, err)) < 0)
				return rc;
		struct zjob *j = &c->jobs[c->sub_seq % c->njobs];
		j->st = JOB_FILLING;
		j->in_len = 0;
		j->out_len = 0;
		j->zerr = 0;
		j->raw = c->raw;
		c->filling = true;
	}
	*out = &c->jobs[c->sub_seq % c->njobs];
	return 0;
}

int
eng_compress_end_frame(struct eng_compress *c, struct eng_window *w,
    char *err)
{
	if (!c->level)
		return 0;
	if (c->filling) {
		if (c->jobs[c->sub_seq % c->njobs].in_len)
			submit(c);
		else
			c->filling = false;	/* an empty frame is none */
	}
	/* Every frame out: the stored position is exact again. */
	return emit(c, w, true, err);
}

void
eng_compress_pos(const struct eng_compress *c, uint64_t *raw, uint64_t *stored)
{
	*raw = c->raw;
	*stored = c->stored;
}

const struct fidx_frame *
eng_compress_frames(const struct eng_compress *c, uint64_t *n)
{
	*n = c->nfr;
	return c->fr;
}

/*
 * Raw bytes into a frame's input, the raw digest taken from the copy a
 * piece at a time while it is in L1: one read of the source block instead
 * of two (a block read by the reader thread is in the other core's cache).
 */
static void
copy_in(struct eng_compress *c, uint8_t *dst, const uint8_t *src, size_t n)
{
	const size_t piece = SUM_PIECE;

	if (!c->rd) {
		memcpy(dst, src, n);
		return;
	}
	for (size_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		memcpy(dst + off, src + off, k);
		digest_update(c->rd, dst + off, k);
	}
}

int
eng_compress_put(struct eng_compress *c, struct eng_window *w, const void *in,
    size_t len, bool end, char *err)
{
	const uint8_t *p = in;
	int rc;

	if (!c->level) {
		if ((rc = to_blocks(c, w, p, len)) < 0)
			return rc;
		c->raw += len;
	}
	while (c->level && len) {
		struct zjob *j;
		if ((rc = job_cur(c, w, err, &j)) < 0)
			return rc;
		/* Up to the next frame boundary of the raw stream. */
		uint64_t to = c->frame_raw - c->raw % c->frame_raw;
		size_t n = len < to ? len : (size_t)to;
		copy_in(c, j->in + j->in_len, p, n);
		j->in_len += n;
		c->raw += n;
		p += n;
		len -= n;
		if (n == to)
			submit(c);
	}
	/* Whatever the workers finished goes on towards the drive now. */
	if (c->level && (rc = emit(c, w, false, err)) < 0)
		return rc;
	if (end && (rc = eng_compress_end_frame(c, w, err)) < 0)
		return rc;
	if (end && c->fill && (rc = put_cur(c, w)) < 0)
		return rc;
	return 0;
}
