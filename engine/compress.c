/* Compression on the dump path: zstd into a pool of in-flight blocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/util.h"
#include "engine/compress.h"
#include "engine/tape.h"
#include "engine/window.h"
#include "ring/ring.h"

struct eng_compress {
	ZSTD_CCtx *z;
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
eng_compress_new(int level, uint32_t bs, unsigned nbuf,
    struct eng_compress **out)
{
	struct eng_compress *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->bs = bs;
	c->nbuf = nbuf;
	c->cur = -1;
	c->bufs = calloc(nbuf, sizeof(*c->bufs));
	c->busy = calloc(nbuf, sizeof(*c->busy));
	c->z = ZSTD_createCCtx();
	if (!c->bufs || !c->busy || !c->z)
		goto nomem;
	for (unsigned i = 0; i < nbuf; i++)
		if (!(c->bufs[i] = aligned_alloc(4096, bs + RING_SLACK)))
			goto nomem;
	ZSTD_CCtx_setParameter(c->z, ZSTD_c_compressionLevel, level);
	/* One helper thread keeps compression off the tape path. */
	ZSTD_CCtx_setParameter(c->z, ZSTD_c_nbWorkers, 1);
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

int
eng_compress_put(struct eng_compress *c, struct eng_window *w, const void *in,
    size_t len, bool end, char *err)
{
	ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
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
		c->fill = ob.pos;
		if (c->fill == c->bs && (rc = put_cur(c, w)) < 0)
			return rc;
	} while (ib.pos < ib.size || (end && left));
	if (end && c->fill && (rc = put_cur(c, w)) < 0)
		return rc;
	return 0;
}
