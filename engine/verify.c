/* Read-after-write spot verification of the part just written. */
#include <errno.h>
#include <stdlib.h>
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

/*
 * With protection the drive checks every block, without moving data:
 * VERIFY from the part's first data block. The failing block, or
 * UINT64_MAX.
 */
static uint64_t
verify_in_drive(struct eng_spot *v, const struct eng_part *p)
{
	struct tsg_status st;
	int rc;

	if (!p->lbp || p->ncrc > 0xffffff ||
	    tsg_locate(p->dev, p->lon + 1, &st) != 0)
		return UINT64_MAX;
	rc = tsg_verify_lbp(p->dev, (uint32_t)p->ncrc, &st);
	if (rc == TSG_CHECK && st.cat == TSG_CAT_MEDIUM_ERROR) {
		uint64_t left = st.valid ? (uint64_t)st.info : p->ncrc;
		v->bad++;
		return p->ncrc - (left <= p->ncrc ? left : p->ncrc);
	}
	if (rc == 0)
		v->drive_verified += p->ncrc;
	return UINT64_MAX;
}

/* Read block i of the part back: 0 as written, 1 not, -EIO positioning. */
static int
check_block(struct eng_spot *v, const struct eng_part *p, uint64_t i,
    char *err)
{
	struct tsg_status st;
	int rc;

	/* LOCATE where the drive has it, else rewind and space. */
	if (tsg_locate(p->dev, p->lon + 1 + i, &st) &&
	    (eng_goto_file(p->dev, p->h.file, err) < 0 ||
	    tsg_space(p->dev, TSG_SPACE_BLOCKS, (int32_t)(1 + i), &st))) {
		eng_err_st(err, "spot verify: positioning", &st);
		return -EIO;
	}
	/* Exact lengths (some targets lose data otherwise). */
	size_t want = i + 1 < p->ncrc ? p->bs :
	    (size_t)(p->bytes - (p->ncrc - 1) * p->bs);
	rc = tsg_read(p->dev, v->buf, want + (p->lbp ? 4 : 0), &st);
	v->checked++;
	size_t got = st.xfer;
	bool pi_ok = true;
	if (p->lbp && !rc) {
		/* The CRC the drive returns must be ours, too. */
		got = got >= 4 ? got - 4 : 0;
		uint8_t *b = v->buf + got;
		uint32_t pi = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		pi_ok = pi == p->crcs[i];
	}
	return rc || !pi_ok || crc32c(0, v->buf, got) != p->crcs[i];
}

int
eng_spot_part(struct eng_spot *v, const struct eng_part *p,
    enum eng_fault *fault, char *err)
{
	const struct eng_hooks *hooks = p->o->hooks;
	struct tsg_status st;
	double t0 = eng_now();
	uint64_t checked0 = v->checked, bad0 = v->bad;
	uint64_t drive0 = v->drive_verified;
	uint64_t bad_at;
	int rc;

	if (!p->ncrc || v->rate < 0 || tsg_is_stream(p->dev))
		return 0;
	if (hooks)
		hooks->progress(hooks->ctx, p->stream_bytes, 0, "verifying");
	bad_at = verify_in_drive(v, p);
	for (uint64_t i = 0; i < p->ncrc; i++) {
		bool pick = i == 0 || i == p->ncrc - 1 ||
		    (double)(next_random(v) >> 11) / (double)(1ULL << 53) < v->rate;
		if (!pick)
			continue;
		if ((rc = check_block(v, p, i, err)) < 0)
			return rc;
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
