/* Compression on the dump path: zstd into a pool of in-flight blocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "catalog/fileindex.h"
#include "common/util.h"
#include "engine/compress.h"
#include "engine/tape.h"
#include "engine/window.h"
#include "ring/ring.h"

struct eng_compress {
	ZSTD_CCtx *z;		/* NULL: copy (a plain stream's tail) */
	uint64_t frame_raw;	/* a new frame every so many raw bytes */
	uint64_t raw, stored;	/* bytes in, bytes out */
	bool in_frame;		/* a frame is open (has had input) */
	struct fidx_frame *fr;	/* each frame's start */
	uint64_t nfr, capfr;
	uint32_t bs;
	uint8_t **bufs;		/* bs + RING_SLACK each (protection CRC) */
	bool *busy;		/* filling, or in the write window */
	unsigned nbuf;
	int cur;		/* the buffer being filled, or -1 */
	size_t fill;
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

int
eng_compress_new(int level, uint32_t bs, unsigned nbuf, uint64_t frame_raw,
    struct eng_compress **out)
{
	struct eng_compress *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->bs = bs;
	c->nbuf = nbuf;
	c->cur = -1;
	c->frame_raw = frame_raw;
	c->bufs = calloc(nbuf, sizeof(*c->bufs));
	c->busy = calloc(nbuf, sizeof(*c->busy));
	if (level > 0 && !(c->z = ZSTD_createCCtx()))
		goto nomem;
	if (!c->bufs || !c->busy)
		goto nomem;
	for (unsigned i = 0; i < nbuf; i++)
		if (!(c->bufs[i] = aligned_alloc(4096, bs + RING_SLACK)))
			goto nomem;
	if (c->z) {
		ZSTD_CCtx_setParameter(c->z, ZSTD_c_compressionLevel, level);
		/* One helper thread keeps compression off the tape path. */
		ZSTD_CCtx_setParameter(c->z, ZSTD_c_nbWorkers, 1);
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
	for (unsigned i = 0; c->bufs && i < c->nbuf; i++)
		free(c->bufs[i]);
	free(c->bufs);
	free(c->busy);
	free(c->fr);
	ZSTD_freeCCtx(c->z);
	free(c);
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

/* Copy mode: len bytes into blocks as they are. */
static int
copy_in(struct eng_compress *c, struct eng_window *w, const uint8_t *in,
    size_t len)
{
	int rc;

	while (len) {
		if (c->cur < 0 && (rc = take(c, w)) < 0)
			return rc;
		size_t n = c->bs - c->fill < len ? c->bs - c->fill : len;
		memcpy(c->bufs[c->cur] + c->fill, in, n);
		c->fill += n;
		c->raw += n;
		c->stored += n;
		in += n;
		len -= n;
		if (c->fill == c->bs && (rc = put_cur(c, w)) < 0)
			return rc;
	}
	return 0;
}

/* Feed len bytes with mode (end: the frame ends with them). */
static int
z_in(struct eng_compress *c, struct eng_window *w, const void *in, size_t len,
    ZSTD_EndDirective mode, char *err)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t left;
	int rc;

	do {
		if (c->cur < 0 && (rc = take(c, w)) < 0)
			return rc;
		ZSTD_outBuffer ob = { c->bufs[c->cur], c->bs, c->fill };
		left = ZSTD_compressStream2(c->z, &ob, &ib, mode);
		if (ZSTD_isError(left)) {
			eng_err(err, "zstd: %s", ZSTD_getErrorName(left));
			return -EIO;
		}
		c->stored += ob.pos - c->fill;
		c->fill = ob.pos;
		if (c->fill == c->bs && (rc = put_cur(c, w)) < 0)
			return rc;
	} while (ib.pos < ib.size || (mode == ZSTD_e_end && left));
	c->raw += len;
	return 0;
}

/* A frame begins here: note where. */
static int
frame_start(struct eng_compress *c)
{
	if (c->nfr == c->capfr) {
		uint64_t cap = c->capfr ? c->capfr * 2 : 256;
		struct fidx_frame *n = realloc(c->fr, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->fr = n;
		c->capfr = cap;
	}
	c->fr[c->nfr].raw = c->raw;
	c->fr[c->nfr].stored = c->stored;
	c->nfr++;
	c->in_frame = true;
	return 0;
}

int
eng_compress_end_frame(struct eng_compress *c, struct eng_window *w,
    char *err)
{
	int rc = 0;

	if (c->z && c->in_frame)
		rc = z_in(c, w, NULL, 0, ZSTD_e_end, err);
	c->in_frame = false;
	return rc;
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

int
eng_compress_put(struct eng_compress *c, struct eng_window *w, const void *in,
    size_t len, bool end, char *err)
{
	const uint8_t *p = in;
	int rc;

	if (!c->z) {
		if ((rc = copy_in(c, w, p, len)) < 0)
			return rc;
	}
	while (c->z && len) {
		if (!c->in_frame && (rc = frame_start(c)) < 0)
			return rc;
		/* Up to the next frame boundary of the raw stream. */
		size_t n = len;
		uint64_t to = c->frame_raw ? c->frame_raw - c->raw % c->frame_raw :
		    UINT64_MAX;
		if (n >= to)
			n = (size_t)to;
		bool ends = c->frame_raw && n == to;
		if ((rc = z_in(c, w, p, n, ends ? ZSTD_e_end : ZSTD_e_continue,
		    err)) < 0)
			return rc;
		if (ends)
			c->in_frame = false;
		p += n;
		len -= n;
	}
	if (end && (rc = eng_compress_end_frame(c, w, err)) < 0)
		return rc;
	if (end && c->fill && (rc = put_cur(c, w)) < 0)
		return rc;
	return 0;
}
