/*
 * The write window alone, against a fake tape transport: early warning,
 * VOLUME OVERFLOW with residue at physical end, writes completed late (the
 * fake reads a block's bytes only when the write completes, so a buffer
 * recycled too early shows), medium errors, write protection, cartridges
 * that refuse a part's first block (the part moves on; a few in a row,
 * then the window gives up), and one that takes a block after refusing
 * another.
 * Whatever happens, every block must reach the tapes exactly once, in
 * order, and the blocks each part counts must be the ones on its tape;
 * the part digest handed back with each block covers exactly the blocks
 * confirmed on that cartridge, the stream digest every block, in order.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/crc32c.h"
#include "common/digest.h"
#include "engine/window.h"
#include "t.h"

#define MAXQ 64
#define MAXCART 1024
#define MAXBLK 4096
#define BS 256

/* What the fake does with the writes it is given. */
struct fake_cfg {
	unsigned depth;		/* writes the transport keeps in flight */
	unsigned cap;		/* blocks a cartridge takes before overflow */
	unsigned ew;		/* blocks before early warning (>= cap: none) */
	bool late;		/* outcome and data taken at reap, not submit */
	bool lbp;		/* blocks carry their CRC32C */
	int medium_at;		/* this write (0-based, all cartridges): error */
	bool protect;		/* every write: DATA PROTECT */
	bool hole;		/* after an overflow, take the next write */
	unsigned first_cap;	/* capacity of cartridge 0, if not cap */
};

struct qw {
	const uint8_t *buf;
	size_t len;
	uint64_t tag;
	bool done;
	int rc;
	struct tsg_status st;
};

struct fake {
	struct fake_cfg c;
	struct eng_window *w;
	char err[ENG_ERRLEN];
	/* the queue, oldest first */
	struct qw q[MAXQ];
	unsigned qh, qn;
	/* the cartridges: block numbers in the order they landed */
	unsigned cart;
	uint32_t *tape[MAXCART];
	unsigned ntape[MAXCART];
	bool overflowed;	/* this cartridge has refused a write */
	unsigned writes;	/* completed writes, all cartridges */
	/* what the window handed back */
	uint32_t retired[MAXBLK];
	unsigned nretired;
	unsigned part_blocks[MAXCART];	/* retired while cartridge k was in */
	/* the producer's buffers (like the ring's), busy until retired */
	uint8_t *bufs[MAXQ];
	bool busy[MAXQ];
	unsigned nbuf;
	/* rule breaking seen */
	unsigned over_depth, mixed, in_flight_span, bad_crc, garbage;
	unsigned spans;
	/* the digests: the window's stream digest, the ones the test keeps
	 * from the bytes retired, and the last part digest of each part */
	struct digest *sd, *ref_sd, *ref_pd[MAXCART];
	char pd_hex[MAXCART][DIGEST_HEX_LEN];
	unsigned no_pd;
};

/* Sense for a CHECK CONDITION, fixed format, decoded as a drive's. */
static void
check(struct tsg_status *st, uint8_t key, bool eom, uint8_t asc, uint8_t ascq,
    uint32_t info)
{
	uint8_t s[18] = { 0xf0, 0, (uint8_t)(key | (eom ? 0x40 : 0)),
	    (uint8_t)(info >> 24), (uint8_t)(info >> 16), (uint8_t)(info >> 8),
	    (uint8_t)info, 10, 0, 0, 0, 0, asc, ascq };

	tsg_decode_sense(s, sizeof(s), 0x02, st);
}

static unsigned
cap_of(const struct fake *f)
{
	return f->cart == 0 && f->c.first_cap != ~0u ? f->c.first_cap : f->c.cap;
}

/* The drive takes (or refuses) the write q: what a tape drive would do. */
static void
complete(struct fake *f, struct qw *q)
{
	size_t len = q->len;
	uint32_t id;

	q->done = true;
	q->rc = 0;
	memset(&q->st, 0, sizeof(q->st));
	if (f->c.lbp) {
		len -= 4;
		const uint8_t *p = q->buf + len;
		uint32_t pi = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (pi != crc32c(0, q->buf, len))
			f->bad_crc++;
	}
	if (f->c.protect) {
		q->rc = TSG_CHECK;
		check(&q->st, 0x07, false, 0x27, 0x00, 0);
		return;
	}
	if (f->c.medium_at >= 0 && f->writes == (unsigned)f->c.medium_at) {
		f->writes++;
		q->rc = TSG_CHECK;
		check(&q->st, 0x03, false, 0x0c, 0x00, 0);
		return;
	}
	if (f->ntape[f->cart] >= cap_of(f) && !(f->overflowed && f->c.hole)) {
		/* Physical end: nothing written, the whole block is residue. */
		f->overflowed = true;
		q->rc = TSG_CHECK;
		check(&q->st, 0x0d, true, 0x00, 0x02, (uint32_t)len);
		return;
	}
	memcpy(&id, q->buf, sizeof(id));
	if (id >= MAXBLK || q->buf[len - 1] != (uint8_t)(id * 7 + len))
		f->garbage++;	/* the buffer was reused while in flight */
	if (!f->tape[f->cart])
		f->tape[f->cart] = calloc(MAXBLK, sizeof(uint32_t));
	f->tape[f->cart][f->ntape[f->cart]++] = id;
	f->writes++;
	if (f->ntape[f->cart] > f->c.ew) {
		q->rc = TSG_CHECK;
		check(&q->st, 0x00, true, 0x00, 0x02, 0);
	}
}

static int
fake_submit(void *ctx, const void *buf, size_t len, uint64_t tag)
{
	struct fake *f = ctx;
	struct qw *q;

	if (f->qn == f->c.depth) {
		f->over_depth++;
		return -EBUSY;
	}
	/* Writes in flight together must be of one length (tgt). */
	if (f->qn && f->q[f->qh].len != len)
		f->mixed++;
	q = &f->q[(f->qh + f->qn++) % MAXQ];
	memset(q, 0, sizeof(*q));
	q->buf = buf;
	q->len = len;
	q->tag = tag;
	if (!f->c.late)
		complete(f, q);
	return 0;
}

static int
fake_reap(void *ctx, struct tsg_wdone *out)
{
	struct fake *f = ctx;
	struct qw *q;

	if (!f->qn)
		return 0;
	q = &f->q[f->qh];
	if (!q->done)
		complete(f, q);
	out->tag = q->tag;
	out->rc = q->rc;
	out->st = q->st;
	f->qh = (f->qh + 1) % MAXQ;
	f->qn--;
	return 1;
}

static int
fake_retire(void *ctx, const struct eng_wblock *b)
{
	struct fake *f = ctx;
	uint32_t id;

	memcpy(&id, b->buf, sizeof(id));
	if (f->nretired < MAXBLK)
		f->retired[f->nretired++] = id;
	f->part_blocks[f->cart]++;
	if (!f->ref_pd[f->cart])
		f->ref_pd[f->cart] = digest_new(DIGEST_XXH128);
	digest_update(f->ref_pd[f->cart], b->buf, b->len);
	digest_update(f->ref_sd, b->buf, b->len);
	if (b->pd) {
		struct digest *t = digest_new(DIGEST_XXH128);
		digest_copy(t, b->pd);
		digest_final_hex(t, f->pd_hex[f->cart]);
		digest_free(t);
	} else {
		f->no_pd++;
	}
	/* Recycle at once, and spoil it: a late write would show it. */
	memset(b->buf, 0xee, BS + 4);
	f->busy[b->idx] = false;
	return 0;
}

static int
fake_span(void *ctx)
{
	struct fake *f = ctx;

	if (f->qn)
		f->in_flight_span++;
	f->spans++;
	if (f->cart + 1 >= MAXCART)
		return -ENOSPC;
	f->cart++;
	f->overflowed = false;
	eng_window_cartridge(f->w, "NEXT", f->c.depth, f->c.lbp);
	return 0;
}

/* A free producer buffer, stepping the window until one is retired. */
static int
take_buf(struct fake *f, unsigned *idx)
{
	bool did;
	int rc;

	for (;;) {
		for (unsigned i = 0; i < f->nbuf; i++)
			if (!f->busy[i]) {
				f->busy[i] = true;
				*idx = i;
				return 0;
			}
		if ((rc = eng_window_step(f->w, &did)) < 0)
			return rc;
		if (!did)
			return -EDEADLK;
	}
}

/*
 * Put n blocks (the last one short if short_last) through a window sized
 * as the dump sizes it; 0 or the window's error.
 */
static int
run(struct fake *f, const struct fake_cfg *c, unsigned n, bool short_last)
{
	struct eng_window_ops ops = { f, fake_submit, fake_reap, fake_retire,
	    fake_span };
	unsigned idx;
	int rc;

	memset(f, 0, sizeof(*f));
	f->c = *c;
	f->nbuf = 2 * c->depth + 1 < MAXQ ? 2 * c->depth + 1 : MAXQ;
	for (unsigned i = 0; i < f->nbuf; i++)
		f->bufs[i] = malloc(BS + 4);
	if (eng_window_new(f->nbuf + c->depth + 2, &ops, f->err, &f->w) < 0)
		return -ENOMEM;
	eng_window_reset(f->w);
	f->sd = digest_new(DIGEST_XXH128);
	f->ref_sd = digest_new(DIGEST_XXH128);
	if (eng_window_digests(f->w, f->sd, DIGEST_XXH128) < 0)
		return -ENOMEM;
	eng_window_cartridge(f->w, "FIRST", c->depth, c->lbp);
	for (uint32_t id = 0; id < n; id++) {
		size_t len = short_last && id + 1 == n ? BS / 2 + id % 7 : BS;
		if ((rc = take_buf(f, &idx)) < 0)
			goto out;
		uint8_t *b = f->bufs[idx];
		memset(b, (int)id, len);
		memcpy(b, &id, sizeof(id));
		b[len - 1] = (uint8_t)(id * 7 + len);
		if ((rc = eng_window_put(f->w, b, len, idx)) < 0)
			goto out;
	}
	rc = eng_window_drain(f->w);
out:
	if (rc < 0)
		eng_window_abandon(f->w);
	return rc;
}

static void
done(struct fake *f)
{
	eng_window_free(f->w);
	for (unsigned i = 0; i < f->nbuf; i++)
		free(f->bufs[i]);
	for (unsigned k = 0; k < MAXCART; k++) {
		free(f->tape[k]);
		digest_free(f->ref_pd[k]);
	}
	digest_free(f->sd);
	digest_free(f->ref_sd);
}

/* The window's digests against the ones taken from the retired bytes. */
static bool
digests_right(struct fake *f)
{
	char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN];
	bool ok = !f->no_pd;

	for (unsigned k = 0; k <= f->cart; k++) {
		if (!f->ref_pd[k])
			continue;
		digest_final_hex(f->ref_pd[k], a);
		if (strcmp(a, f->pd_hex[k]) != 0) {
			fprintf(stderr, "part %u digest %s, want %s\n", k,
			    f->pd_hex[k], a);
			ok = false;
		}
	}
	digest_final_hex(f->sd, a);
	digest_final_hex(f->ref_sd, b);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "stream digest %s, want %s\n", a, b);
		ok = false;
	}
	return ok;
}

/*
 * The invariants: the tapes hold blocks 0..n-1 once each, in order; the
 * window retired exactly those, in order; each part counted what is on
 * its tape; no rule of the transport was broken.
 */
static bool
sound(struct fake *f, unsigned n)
{
	bool ok = true;
	uint32_t next = 0;

	for (unsigned k = 0; k <= f->cart; k++) {
		for (unsigned i = 0; i < f->ntape[k]; i++)
			if (f->tape[k][i] != next++)
				ok = false;
		if (f->part_blocks[k] != f->ntape[k])
			ok = false;
	}
	ok = ok && next == n && f->nretired == n;
	for (unsigned i = 0; ok && i < n; i++)
		if (f->retired[i] != i)
			ok = false;
	ok = ok && !f->over_depth && !f->mixed && !f->in_flight_span &&
	    !f->bad_crc && !f->garbage;
	ok = ok && eng_window_count(f->w) == 0;
	ok = digests_right(f) && ok;
	if (!ok)
		fprintf(stderr, "unsound: n=%u depth=%u cap=%u ew=%u late=%d "
		    "lbp=%d: carts %u, retired %u, over_depth %u, mixed %u, "
		    "span in flight %u, crc %u, garbage %u\n", n, f->c.depth,
		    f->c.cap, f->c.ew, f->c.late, f->c.lbp, f->cart + 1,
		    f->nretired, f->over_depth, f->mixed, f->in_flight_span,
		    f->bad_crc, f->garbage);
	return ok;
}

/* xorshift64 for the randomized runs: a fixed sequence, reproducible. */
static uint64_t rng = 0x2545f4914f6cdd1dULL;
static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

int
main(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct fake_cfg c;

	/* Plenty of tape: one part, no span. */
	c = (struct fake_cfg){ .depth = 4, .cap = 1000, .ew = 1000,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 100, true), 0);
	CHECK(sound(f, 100));
	CHECK_EQ(f->spans, 0);
	done(f);

	/* Early warning: what is in flight lands on the same cartridge. */
	c = (struct fake_cfg){ .depth = 8, .cap = 1000, .ew = 10, .late = true,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 50, false), 0);
	CHECK(sound(f, 50));
	CHECK(f->spans >= 1);
	CHECK(f->ntape[0] >= 11 && f->ntape[0] <= 11 + 8);
	done(f);

	/*
	 * The stream's last block brings early warning: nothing is left to
	 * write, so no span (no empty part on the next cartridge); the window
	 * says the cartridge reached it, so the dump can mark it full.
	 */
	for (unsigned depth = 1; depth <= 8; depth *= 2) {
		c = (struct fake_cfg){ .depth = depth, .cap = 1000, .ew = 10,
		    .medium_at = -1, .first_cap = ~0u };
		CHECK_EQ(run(f, &c, 11, false), 0);
		CHECK(sound(f, 11));
		CHECK_EQ(f->spans, 0);
		CHECK_EQ(f->ntape[0], 11);
		CHECK(eng_window_at_eot(f->w));
		done(f);
	}
	/* One block more: it goes to the next cartridge, after one span. */
	c = (struct fake_cfg){ .depth = 1, .cap = 1000, .ew = 10,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 12, false), 0);
	CHECK(sound(f, 12));
	CHECK_EQ(f->spans, 1);
	CHECK_EQ(f->ntape[0], 11);
	CHECK(!eng_window_at_eot(f->w));
	done(f);

	/* Physical end with no warning: refused blocks go to the next one. */
	c = (struct fake_cfg){ .depth = 8, .cap = 10, .ew = 1000, .late = true,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 95, true), 0);
	CHECK(sound(f, 95));
	CHECK_EQ(f->cart, 9);
	CHECK_EQ(f->ntape[0], 10);
	done(f);

	/* The same with blocks protected, completed at submit. */
	c.lbp = true;
	c.late = false;
	CHECK_EQ(run(f, &c, 95, true), 0);
	CHECK(sound(f, 95));
	done(f);

	/* A cartridge that refuses the part's first block (physical end
	   right after its header): the part begins on the next one. */
	c = (struct fake_cfg){ .depth = 4, .cap = 10, .ew = 1000, .late = true,
	    .medium_at = -1, .first_cap = 0 };
	CHECK_EQ(run(f, &c, 20, false), 0);
	CHECK(sound(f, 20));
	CHECK_EQ(f->ntape[0], 0);
	CHECK_EQ(f->part_blocks[0], 0);
	CHECK_EQ(f->spans, 2);
	CHECK_EQ(eng_window_fault(f->w), ENG_FAULT_NONE);
	done(f);

	/* Cartridges that never take a block: given up after a few. */
	c = (struct fake_cfg){ .depth = 4, .cap = 0, .ew = 1000, .late = true,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 20, false), -ENOSPC);
	CHECK(strstr(f->err, "in a row") != NULL);
	CHECK_EQ(f->spans, ENG_WINDOW_EMPTY_MAX);
	CHECK_EQ(f->nretired, 0);
	done(f);

	/* A medium error is the cartridge's fault, said as a value. */
	c = (struct fake_cfg){ .depth = 4, .cap = 1000, .ew = 1000, .late = true,
	    .medium_at = 17, .first_cap = ~0u };
	CHECK(run(f, &c, 50, false) < 0);
	CHECK_EQ(eng_window_fault(f->w), ENG_FAULT_MEDIUM);
	CHECK(strstr(f->err, "medium error") != NULL);
	/* What the drive took before the error was confirmed, in order. */
	CHECK_EQ(f->nretired, 17);
	for (unsigned i = 0; i < 17 && i < f->nretired; i++)
		CHECK_EQ(f->retired[i], i);
	done(f);

	/* Write protection fails the dump, but is not a bad cartridge. */
	c = (struct fake_cfg){ .depth = 2, .cap = 1000, .ew = 1000,
	    .protect = true, .medium_at = -1, .first_cap = ~0u };
	CHECK(run(f, &c, 5, false) < 0);
	CHECK_EQ(eng_window_fault(f->w), ENG_FAULT_NONE);
	CHECK(strstr(f->err, "write-protected") != NULL);
	done(f);

	/* A block taken after one was refused: a hole, the cartridge's fault. */
	c = (struct fake_cfg){ .depth = 6, .cap = 10, .ew = 1000, .late = true,
	    .hole = true, .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 40, false), -EIO);
	CHECK_EQ(eng_window_fault(f->w), ENG_FAULT_WRITE);
	CHECK(strstr(f->err, "after refusing") != NULL);
	done(f);

	/* One write in flight at a time: the same guarantees. */
	c = (struct fake_cfg){ .depth = 1, .cap = 7, .ew = 5,
	    .medium_at = -1, .first_cap = ~0u };
	CHECK_EQ(run(f, &c, 60, true), 0);
	CHECK(sound(f, 60));
	done(f);

	/* Randomized: depth, capacity, warning, timing, protection, length. */
	unsigned bad = 0;
	for (int i = 0; i < 400; i++) {
		c = (struct fake_cfg){ .depth = 1 + rnd(16), .cap = 2 + rnd(40),
		    .late = rnd(2), .lbp = rnd(4) == 0, .medium_at = -1,
		    .first_cap = ~0u };
		c.ew = rnd(3) ? rnd(c.cap + 2) : 1000;
		unsigned n = 1 + rnd(600);
		int rc = run(f, &c, n, rnd(2));
		if (rc != 0 || !sound(f, n)) {
			fprintf(stderr, "random run %d: rc %d: %s\n", i, rc, f->err);
			bad++;
		}
		done(f);
	}
	CHECK_EQ(bad, 0);

	/* The dump log's words for each kind of cartridge fault. */
	CHECK(strcmp(eng_fault_status(ENG_FAULT_WRITE), "write-failed") == 0);
	CHECK(strcmp(eng_fault_status(ENG_FAULT_MEDIUM), "medium-error") == 0);
	CHECK(strcmp(eng_fault_status(ENG_FAULT_VERIFY), "verify-mismatch") == 0);
	free(f);
	T_DONE();
}
