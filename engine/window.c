/*
 * The write window: blocks stay until the drive confirms them; refused
 * blocks at physical end are sent again on the next cartridge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/sum.h"
#include "engine/tape.h"
#include "engine/window.h"

struct eng_window {
	struct eng_window_ops ops;
	char *err;
	struct eng_wblock *q;
	/* ring of cap: head is the oldest; n in all, of which the first
	 * replay were refused and the next sent are in flight */
	unsigned cap, head, n, sent, replay;
	unsigned depth;		/* writes in flight the transport grants */
	bool lbp;
	bool at_eot;		/* early warning or overflow: close the part */
	uint64_t part_blocks;	/* confirmed on this cartridge */
	unsigned empty;		/* cartridges in a row that took no block */
	enum eng_fault fault;
	char label[64];
	/*
	 * The sums taken as a block is put, in one pass with its CRC: the
	 * stream digest (the caller's), and the part digest, which is the
	 * stream digest itself while the part began with the stream. snap[k]
	 * is the part digest with q[k], handed to retire with the block: the
	 * part's digest covers the confirmed blocks only.
	 */
	struct digest *sd, *pd, **snap;
	enum digest_alg alg;
	bool shared;
	uint64_t puts;		/* blocks put in this stream */
};

void
eng_put_crc(uint8_t *p, uint32_t c)
{
	p[0] = (uint8_t)(c >> 24);
	p[1] = (uint8_t)(c >> 16);
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
}

int
eng_window_new(unsigned cap, const struct eng_window_ops *ops, char *err,
    struct eng_window **out)
{
	struct eng_window *w;

	*out = NULL;
	if (!cap || !(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	if (!(w->q = calloc(cap, sizeof(*w->q)))) {
		free(w);
		return -ENOMEM;
	}
	w->ops = *ops;
	w->err = err;
	w->cap = cap;
	w->depth = 1;
	*out = w;
	return 0;
}

static void
free_snaps(struct eng_window *w)
{
	if (w->snap)
		for (unsigned i = 0; i < w->cap; i++)
			digest_free(w->snap[i]);
	free(w->snap);
	w->snap = NULL;
	digest_free(w->pd);
	w->pd = NULL;
}

int
eng_window_digests(struct eng_window *w, struct digest *sd,
    enum digest_alg alg)
{
	w->sd = sd;
	w->shared = true;
	w->puts = 0;
	if (w->snap && w->alg == alg)
		return 0;
	free_snaps(w);
	if (!sd)
		return 0;
	w->alg = alg;
	if (!(w->snap = calloc(w->cap, sizeof(*w->snap))))
		return -ENOMEM;
	for (unsigned i = 0; i < w->cap; i++)
		if (!(w->snap[i] = digest_new(alg)))
			return -ENOMEM;
	return 0;
}

void
eng_window_free(struct eng_window *w)
{
	if (!w)
		return;
	free_snaps(w);
	free(w->q);
	free(w);
}

void
eng_window_reset(struct eng_window *w)
{
	w->head = w->n = w->sent = w->replay = 0;
	w->at_eot = false;
	w->part_blocks = 0;
	w->empty = 0;
	w->fault = ENG_FAULT_NONE;
}

/* Take q[k]'s sums: its CRC, the digests, the part digest's snapshot. */
static void
sum_one(struct eng_window *w, unsigned k, bool crc)
{
	struct eng_wblock *b = &w->q[k];
	struct digest *ds[2] = { w->sd, w->shared ? NULL : w->pd };

	if (!w->sd) {
		b->crc = crc32c(0, b->buf, b->len);
		b->pd = NULL;
		return;
	}
	if (crc)
		b->crc = sum_block(0, ds, 2, b->buf, b->len);
	else
		sum_block(0, ds + 1, 1, b->buf, b->len);
	digest_copy(w->snap[k], w->shared ? w->sd : w->pd);
	b->pd = w->snap[k];
}

int
eng_window_cartridge(struct eng_window *w, const char *label, unsigned depth,
    bool lbp)
{
	snprintf(w->label, sizeof(w->label), "%s", label);
	w->depth = depth ? depth : 1;
	w->lbp = lbp;
	w->part_blocks = 0;
	if (!w->sd || !w->puts)
		return 0;
	/*
	 * A part begun mid-stream: its digest starts here, with the blocks
	 * still in the window (refused or unsent on the last cartridge).
	 */
	digest_free(w->pd);
	if (!(w->pd = digest_new(w->alg)))
		return -ENOMEM;
	w->shared = false;
	for (unsigned i = 0; i < w->n; i++)
		sum_one(w, (w->head + i) % w->cap, false);
	return 0;
}

unsigned
eng_window_count(const struct eng_window *w)
{
	return w->n;
}

bool
eng_window_at_eot(const struct eng_window *w)
{
	return w->at_eot;
}

enum eng_fault
eng_window_fault(const struct eng_window *w)
{
	return w->fault;
}

/* The i-th block from the oldest. */
static struct eng_wblock *
at(struct eng_window *w, unsigned i)
{
	return &w->q[(w->head + i) % w->cap];
}

/* The oldest block is on tape: hand it over and forget it. */
static int
retire(struct eng_window *w)
{
	int rc = w->ops.retire(w->ops.ctx, at(w, 0));

	if (rc < 0)
		return rc;
	w->part_blocks++;
	w->head = (w->head + 1) % w->cap;
	w->n--;
	return 0;
}

/* Send the next unsent block; the CRC32C rides along under protection. */
static int
send_one(struct eng_window *w)
{
	struct eng_wblock *b = at(w, w->replay + w->sent);
	size_t len = b->len;
	int rc;

	if (w->lbp) {
		eng_put_crc(b->buf + len, b->crc);
		len += 4;
	}
	if ((rc = w->ops.submit(w->ops.ctx, b->buf, len,
	    w->replay + w->sent)) < 0) {
		eng_err(w->err, "queueing a write: %s", strerror(-rc));
		return rc;
	}
	w->sent++;
	return 0;
}

/*
 * Take the oldest write's outcome. At early warning the block is on tape
 * and the part is closed once the rest has drained. At physical end
 * (VOLUME OVERFLOW) the block is not on tape, nor is anything after it:
 * those go to the next cartridge, so nothing is lost or written twice.
 */
static int
reap_one(struct eng_window *w)
{
	struct tsg_wdone d;
	int rc = w->ops.reap(w->ops.ctx, &d);

	if (rc <= 0) {
		eng_err(w->err, "write window out of step (%d)", rc);
		return rc < 0 ? rc : -EIO;
	}
	w->sent--;
	if (d.rc == 0 || (d.rc == TSG_CHECK && tsg_is_early_warning(&d.st))) {
		if (w->replay) {
			/* A hole in the stream: the cartridge cannot be trusted. */
			eng_err(w->err, "cartridge %s took a block after refusing "
			    "an earlier one", w->label);
			w->fault = ENG_FAULT_WRITE;
			return -EIO;
		}
		if ((rc = retire(w)) < 0)
			return rc;
		if (d.rc)
			w->at_eot = true;
		return 0;
	}
	if (d.rc == TSG_CHECK && d.st.cat == TSG_CAT_VOLUME_OVERFLOW) {
		/* Even the part's first block: the span takes the part back
		   (its header alone) and begins it on the next cartridge. */
		w->replay++;
		w->at_eot = true;
		return 0;
	}
	if (d.st.cat == TSG_CAT_DATA_PROTECT) {
		eng_err(w->err, "cartridge %s is write-protected", w->label);
	} else if (d.st.cat == TSG_CAT_MEDIUM_ERROR) {
		eng_err_st(w->err, "medium error writing; cartridge suspect", &d.st);
		w->fault = ENG_FAULT_MEDIUM;
	} else {
		eng_err_st(w->err, "write", &d.st);
	}
	return d.rc < 0 ? d.rc : -EIO;
}

void
eng_window_abandon(struct eng_window *w)
{
	struct tsg_wdone d;

	while (w->ops.reap(w->ops.ctx, &d) == 1)
		;
	w->n = w->sent = w->replay = 0;
	w->at_eot = false;
}

/*
 * Span once the window has drained at end of tape, else send what may be
 * sent, else take one outcome. Only blocks of one length are in flight
 * together: writes are SIMPLE tasks, and a target may start the one whose
 * data arrived first (tgt writes a short last block ahead of a full one
 * still in transfer).
 */
int
eng_window_step(struct eng_window *w, bool *did)
{
	int rc;

	*did = true;
	if (w->at_eot && !w->sent && !w->n) {
		/*
		 * Nothing is left to write here: span only when another block
		 * comes, so a stream that ends at early warning ends in this
		 * part instead of an empty one on the next cartridge.
		 */
		*did = false;
		return 0;
	}
	if (w->at_eot && !w->sent) {
		/*
		 * A cartridge that took no block of this part at all: a few
		 * in a row are cartridges ending right after a header; more
		 * mean a block no cartridge here can take.
		 */
		w->empty = w->part_blocks ? 0 : w->empty + 1;
		if (w->empty > ENG_WINDOW_EMPTY_MAX) {
			eng_err(w->err, "%u cartridges in a row, the last %s, took "
			    "no block of %zu bytes at the start of a part",
			    w->empty, w->label, at(w, 0)->len);
			return -ENOSPC;
		}
		if ((rc = w->ops.span(w->ops.ctx)) < 0)
			return rc;
		w->at_eot = false;
		w->replay = 0;		/* the refused blocks are unsent again */
		return 0;
	}
	if (!w->at_eot && w->replay + w->sent < w->n && w->sent < w->depth &&
	    (!w->sent || at(w, w->replay + w->sent)->len == at(w, w->replay)->len))
		return send_one(w);
	if (w->sent)
		return reap_one(w);
	*did = false;
	return 0;
}

/* Drive the window until it has room for another block, or is empty. */
static int
pump(struct eng_window *w, bool drain)
{
	bool did;
	int rc;

	for (;;) {
		if (!drain && !w->at_eot && w->replay + w->sent == w->n &&
		    w->sent < w->depth)
			return 0;
		if ((rc = eng_window_step(w, &did)) < 0)
			return rc;
		if (!did)
			return 0;
	}
}

int
eng_window_drain(struct eng_window *w)
{
	return pump(w, true);
}

int
eng_window_put(struct eng_window *w, uint8_t *buf, size_t len, unsigned idx)
{
	struct eng_wblock *b;

	if (w->n == w->cap) {
		eng_err(w->err, "write window overfull");
		return -EOVERFLOW;
	}
	b = at(w, w->n);
	b->buf = buf;
	b->len = len;
	b->idx = idx;
	sum_one(w, (unsigned)(b - w->q), true);
	w->puts++;
	w->n++;
	return pump(w, false);
}
