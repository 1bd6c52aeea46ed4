/* Read-after-write spot verification of the part just written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/crc32c.h"
#include "engine/part.h"
#include "engine/tape.h"
#include "engine/verify.h"
#include "ring/ring.h"

int
eng_spot_init(struct eng_spot *v, double rate, uint32_t bs)
{
	v->rate = rate;
	if (getrandom(&v->rng, sizeof(v->rng), 0) != sizeof(v->rng) || !v->rng)
		v->rng = 0x9e3779b97f4a7c15ULL;
	eng_spot_reset(v);
	v->buf = aligned_alloc(4096, bs + RING_SLACK);
	return v->buf ? 0 : -ENOMEM;
}

void
eng_spot_fini(struct eng_spot *v)
{
	free(v->buf);
	v->buf = NULL;
}

void
eng_spot_reset(struct eng_spot *v)
{
	v->checked = v->bad = v->drive_verified = 0;
	v->secs = 0;
}

/* Next pseudo-random number (xorshift64*). */
static uint64_t
next_random(struct eng_spot *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return v->rng * 0x2545F4914F6CDD1DULL;
}

/* Where a part is on tape: what reading its blocks back needs. */
struct spot_where {
	struct tsg_dev *dev;
	uint64_t file, lon, blocks;
	uint32_t bs, last_len;
	bool lbp;
};

/* The where of a part just closed. */
static struct spot_where
part_where(const struct eng_part *p)
{
	struct spot_where w = { .dev = p->dev, .file = p->h.file, .lon = p->lon,
	    .blocks = p->ncrc, .bs = p->bs, .lbp = p->lbp };

	w.last_len = p->ncrc ? (uint32_t)(p->bytes - (p->ncrc - 1) * p->bs) : 0;
	return w;
}

/*
 * With protection the drive checks every block, without moving data:
 * VERIFY from the part's first data block. The failing block, or
 * UINT64_MAX.
 */
static uint64_t
verify_in_drive(const struct spot_where *w, uint64_t *bad, uint64_t *verified)
{
	struct tsg_status st;
	int rc;

	if (!w->lbp || w->blocks > 0xffffff ||
	    tsg_locate(w->dev, w->lon + 1, &st) != 0)
		return UINT64_MAX;
	rc = tsg_verify_lbp(w->dev, (uint32_t)w->blocks, &st);
	if (rc == TSG_CHECK && st.cat == TSG_CAT_MEDIUM_ERROR) {
		uint64_t left = st.valid ? (uint64_t)st.info : w->blocks;
		(*bad)++;
		return w->blocks - (left <= w->blocks ? left : w->blocks);
	}
	if (rc == 0)
		*verified += w->blocks;
	return UINT64_MAX;
}

/* Read block i back into buf: 0 as written (crc), 1 not, -EIO positioning. */
static int
check_block(uint8_t *buf, const struct spot_where *w, uint64_t i,
    uint32_t crc, char *err)
{
	struct tsg_status st;
	int rc;

	/* LOCATE where the drive has it, else rewind and space. */
	if (tsg_locate(w->dev, w->lon + 1 + i, &st) &&
	    (eng_goto_file(w->dev, w->file, err) < 0 ||
	    tsg_space(w->dev, TSG_SPACE_BLOCKS, (int32_t)(1 + i), &st))) {
		eng_err_st(err, "spot verify: positioning", &st);
		return -EIO;
	}
	/* Exact lengths (some targets lose data otherwise). */
	size_t want = i + 1 < w->blocks ? w->bs : w->last_len;
	rc = tsg_read(w->dev, buf, want + (w->lbp ? 4 : 0), &st);
	size_t got = st.xfer;
	bool pi_ok = true;
	if (w->lbp && !rc) {
		/* The CRC the drive returns must be ours, too. */
		got = got >= 4 ? got - 4 : 0;
		uint8_t *b = buf + got;
		uint32_t pi = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		pi_ok = pi == crc;
	}
	return rc || !pi_ok || crc32c(0, buf, got) != crc;
}

/* Whether block i of a part of n blocks is in the sample. */
static bool
spot_pick(struct eng_spot *v, uint64_t i, uint64_t n)
{
	return i == 0 || i == n - 1 ||
	    (double)(next_random(v) >> 11) / (double)(1ULL << 53) < v->rate;
}

/* The read back of one held part; its counts in h. */
static int
check_held(struct eng_spot_held *h, struct tsg_dev *dev, uint8_t *buf,
    uint64_t *bad_at, char *err)
{
	struct spot_where w = { .dev = dev, .file = h->file, .lon = h->lon,
	    .blocks = h->blocks, .bs = h->bs, .last_len = h->last_len,
	    .lbp = h->lbp };
	uint64_t verified = 0;
	int rc;

	*bad_at = verify_in_drive(&w, &h->bad, &verified);
	h->checked += verified;
	for (unsigned k = 0; k < h->n; k++) {
		if ((rc = check_block(buf, &w, h->at[k], h->crc[k], err)) < 0)
			return rc;
		h->checked++;
		if (rc) {
			h->bad++;
			if (*bad_at == UINT64_MAX)
				*bad_at = h->at[k];
		}
	}
	return 0;
}

/* The next number of c's generator (xorshift64*), seeded at first use. */
static uint64_t
commit_random(struct eng_commit *c)
{
	if (!c->rng && (getrandom(&c->rng, sizeof(c->rng), 0) !=
	    sizeof(c->rng) || !c->rng))
		c->rng = 0x9e3779b97f4a7c15ULL;
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545F4914F6CDD1DULL;
}

int
eng_commit_check(struct eng_commit *c, struct tsg_dev *dev, uint8_t *buf,
    bool eod, char *err)
{
	size_t n = c->nheld, want = ENG_COMMIT_SPOT_PARTS, left;
	struct tsg_status st;
	int rc = 0;

	if (!n || !dev || tsg_is_stream(dev))
		return 0;
	/* The last always; of the others want - 1 in tape order, each as
	   likely as the next (selection sampling). */
	left = want - 1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct eng_spot_held *h = &c->held[i];
		uint64_t bad_at;
		if (i + 1 < n && n > want) {
			if (left == 0 || commit_random(c) % (n - 1 - i) >= left)
				continue;
			left--;
		}
		if ((rc = check_held(h, dev, buf, &bad_at, err)) < 0)
			break;
		c->spot_parts++;
		c->spot_checked += h->checked;
		c->spot_bad += h->bad;
		if (bad_at != UINT64_MAX) {
			eng_err(err, "read-after-write check at the commit point: "
			    "block %llu of tape file %llu on %s (dump %s) does not "
			    "read back as written", (unsigned long long)bad_at + 1,
			    (unsigned long long)h->file, h->label, h->dump_id);
			snprintf(c->bad_dump, sizeof(c->bad_dump), "%s", h->dump_id);
			rc = -EBADMSG;
		}
	}
	if (rc == -EBADMSG) {
		c->bad = true;
		snprintf(c->bad_label, sizeof(c->bad_label), "%s", c->held[0].label);
		snprintf(c->bad_tape_id, sizeof(c->bad_tape_id), "%s",
		    c->held[0].tape_id);
	}
	if (eod || rc < 0)
		tsg_space(dev, TSG_SPACE_EOD, 0, &st);
	return rc;
}

void
eng_commit_checked(struct eng_commit *c, const struct eng_dump_opts *o)
{
	const struct eng_hooks *hooks = o ? o->hooks : NULL;

	for (size_t i = 0; i < c->nheld; i++) {
		struct eng_spot_held *h = &c->held[i];
		if (!h->checked)
			continue;
		if (c->on_verified)
			c->on_verified(c->ctx, h->dump_id, h->tape_id, h->job,
			    h->checked, h->bad);
		else if (hooks && hooks->verified)
			hooks->verified(hooks->ctx, h->dump_id, h->tape_id,
			    h->checked, h->bad);
	}
	eng_commit_held_drop(c, 0);
}

void
eng_commit_held_drop(struct eng_commit *c, int64_t keep)
{
	size_t k = 0;

	for (size_t i = 0; i < c->nheld; i++) {
		if (keep > 0 && c->held[i].job == keep) {
			c->held[k++] = c->held[i];
			continue;
		}
		free(c->held[i].at);
		free(c->held[i].crc);
	}
	c->nheld = k;
	if (!k) {
		free(c->held);
		c->held = NULL;
		c->capheld = 0;
	}
}

int
eng_spot_keep(struct eng_spot *v, const struct eng_part *p,
    struct eng_commit *c)
{
	struct eng_spot_held *h;
	unsigned n = 0;

	if (!p->ncrc || v->rate < 0 || tsg_is_stream(p->dev))
		return 0;
	if (c->nheld == c->capheld) {
		size_t cap = c->capheld ? c->capheld * 2 : 16;
		struct eng_spot_held *nh = realloc(c->held, cap * sizeof(*nh));
		if (!nh)
			return -ENOMEM;
		c->held = nh;
		c->capheld = cap;
	}
	h = &c->held[c->nheld];
	memset(h, 0, sizeof(*h));
	/* At most every block; the rate's share of them is small. */
	uint64_t cap = p->ncrc < 64 ? p->ncrc : 64;
	h->at = malloc(cap * sizeof(*h->at));
	h->crc = malloc(cap * sizeof(*h->crc));
	if (!h->at || !h->crc) {
		free(h->at);
		free(h->crc);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < p->ncrc; i++) {
		if (!spot_pick(v, i, p->ncrc))
			continue;
		if (n == cap) {
			uint64_t nc = cap * 2;
			uint64_t *na = realloc(h->at, nc * sizeof(*na));
			if (na)
				h->at = na;
			uint32_t *ncr = na ? realloc(h->crc, nc * sizeof(*ncr)) : NULL;
			if (ncr)
				h->crc = ncr;
			if (!na || !ncr) {
				free(h->at);
				free(h->crc);
				return -ENOMEM;
			}
			cap = nc;
		}
		h->at[n] = i;
		h->crc[n++] = p->crcs[i];
	}
	struct spot_where w = part_where(p);
	snprintf(h->dump_id, sizeof(h->dump_id), "%s", p->h.dump_id);
	snprintf(h->label, sizeof(h->label), "%s", p->l.label);
	snprintf(h->tape_id, sizeof(h->tape_id), "%s", p->l.tape_id);
	h->job = p->o->job;
	h->file = w.file;
	h->lon = w.lon;
	h->blocks = w.blocks;
	h->bs = w.bs;
	h->last_len = w.last_len;
	h->lbp = w.lbp;
	h->n = n;
	c->nheld++;
	return 0;
}

int
eng_spot_part(struct eng_spot *v, const struct eng_part *p,
    enum eng_fault *fault, char *err)
{
	const struct eng_hooks *hooks = p->o->hooks;
	struct eng_commit *c = p->o->commit;
	struct spot_where w = part_where(p);
	struct tsg_status st;
	double t0 = eng_now();
	uint64_t checked0 = v->checked, bad0 = v->bad;
	uint64_t drive0 = v->drive_verified;
	uint64_t bad_at;
	bool held = c && c->check_due && c->nheld;
	int rc;

	if (tsg_is_stream(p->dev) || ((!p->ncrc || v->rate < 0) && !held))
		return 0;
	if (hooks)
		hooks->progress(hooks->ctx, p->stream_bytes, 0, "verifying");
	/* What the commit point covers first (it is before this part on
	   tape), released once read back as written, else lost. */
	if (held) {
		uint32_t bs = p->bs;
		for (size_t i = 0; i < c->nheld; i++)
			if (c->held[i].bs > bs)
				bs = c->held[i].bs;
		uint8_t *buf = bs > p->bs ? aligned_alloc(4096, bs + RING_SLACK) :
		    v->buf;
		rc = buf ? eng_commit_check(c, p->dev, buf, false, err) : -ENOMEM;
		if (buf != v->buf)
			free(buf);
		if (rc == -ENOMEM)
			eng_err(err, "out of memory for the commit point's read back");
		c->check_due = false;
		int r = eng_commit_release(c, p->o, rc == 0, err);
		eng_commit_checked(c, p->o);
		if (rc == -EBADMSG)
			*fault = ENG_FAULT_VERIFY;
		if (rc < 0)
			return rc;
		if (r < 0)
			return r;
	}
	if (!p->ncrc || v->rate < 0) {
		tsg_space(p->dev, TSG_SPACE_EOD, 0, &st);
		v->secs += eng_now() - t0;
		return 0;
	}
	bad_at = verify_in_drive(&w, &v->bad, &v->drive_verified);
	for (uint64_t i = 0; i < p->ncrc; i++) {
		if (!spot_pick(v, i, p->ncrc))
			continue;
		if ((rc = check_block(v->buf, &w, i, p->crcs[i], err)) < 0)
			return rc;
		v->checked++;
		if (rc) {
			v->bad++;
			if (bad_at == UINT64_MAX)
				bad_at = i;
		}
	}
	tsg_space(p->dev, TSG_SPACE_EOD, 0, &st);
	v->secs += eng_now() - t0;
	if (hooks)
		hooks->verified(hooks->ctx, p->h.dump_id, p->l.tape_id,
		    v->checked - checked0 + (v->drive_verified - drive0),
		    v->bad - bad0);
	if (bad_at != UINT64_MAX) {
		eng_err(err, "spot verification failed: block %llu of tape file "
		    "%llu on %s does not read back as written",
		    (unsigned long long)bad_at + 1, (unsigned long long)p->h.file,
		    p->l.label);
		*fault = ENG_FAULT_VERIFY;
		return -EBADMSG;
	}
	return 0;
}
