/*
 * label and dump in direct mode: one cartridge, header + data + filemark +
 * trailer + filemark per part, source read through the io_uring window.
 */
#include <endian.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "catalog/dumplog.h"
#include "common/crc32c.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/source.h"
#include "engine/tape.h"
#include "ring/ring.h"

int
eng_label(const struct eng_label_opts *o, char *err)
{
	struct tsg_dev *dev = NULL;
	struct tsg_status st;
	struct fmt_label old, l;
	bool wp = false;
	int rc;

	if (!o->label || !*o->label || strlen(o->label) >= sizeof(l.label) ||
	    strpbrk(o->label, " \t\n%=")) {
		eng_err(err, "label must be 1-63 characters without spaces");
		return -EINVAL;
	}
	if ((rc = eng_open(o->device, &dev, err)) < 0)
		return rc;
	if (tsg_write_protected(dev, &wp, &st) == 0 && wp) {
		eng_err(err, "cartridge is write-protected");
		rc = -EROFS;
		goto out;
	}
	rc = eng_read_label(dev, &old, err);
	if (rc == 0 && !o->force) {
		eng_err(err, "tape is already labelled %s (ID %s, pool %s); "
		    "use --force to overwrite it and lose its dumps",
		    old.label, old.tape_id, old.pool);
		rc = -EEXIST;
		goto out;
	}
	if ((rc == -ENOMSG || rc == -EBADMSG) && !o->force) {
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", err);
		eng_err(err, "%s; use --force to overwrite it", why);
		rc = -EEXIST;
		goto out;
	}
	if (rc < 0 && rc != -ENODATA && rc != -ENOMSG && rc != -EBADMSG)
		goto out;
	if ((rc = eng_write_label(dev, o->label, o->pool, o->block_size, &l,
	    err)) < 0)
		goto out;
	printf("labelled %s: tape ID %s, pool %s, block size %u\n", l.label,
	    l.tape_id, l.pool, l.block_size);
out:
	tsg_free(dev);
	return rc;
}

struct wblock {
	uint8_t *buf;		/* has RING_SLACK room after len */
	size_t len;
	uint32_t crc;
	int ring_idx;		/* -1: not a ring buffer */
	int obuf;		/* -1: not a compression buffer */
};

struct dump_state {
	const struct eng_dump_opts *o;
	struct eng_changer *chg;
	struct tsg_dev *dev;
	struct fmt_label l;
	uint32_t bs;
	enum digest_alg alg;
	char *err;
	/* the part being written */
	struct fmt_header h;
	uint8_t *hbuf;		/* header and trailer blocks */
	uint32_t *crcs;
	uint64_t ncrc, capcrc;
	uint64_t part_bytes;
	struct digest *pd;
	uint64_t part_lon;	/* logical object number of the header */
	bool part_open;
	/* the stream */
	struct digest *sd;	/* stored stream */
	struct digest *rd;	/* source bytes, when compressing */
	uint64_t stream_bytes;
	uint64_t raw_bytes;
	struct fmt_header first;	/* part 1, for the dump line */
	char labels[512];
	/* compression output: a pool, since written blocks stay in flight */
	uint8_t **obufs;
	bool *obuf_busy;
	unsigned nobuf;
	int cur_obuf;
	size_t ofill;
	/*
	 * The write window, oldest first: [replay][in flight][not yet sent].
	 * A block leaves it (its ring buffer recycled) only once the drive
	 * has confirmed it; blocks the drive refused at end of tape stay, to
	 * be sent again on the next cartridge.
	 */
	struct wblock *wq;
	unsigned wcap, whead, wn, wsent, wreplay;
	unsigned wdepth;
	bool at_eot;		/* early warning or overflow: close the part */
	struct ring *ring;
	/* spot verification and hand-over accounting */
	uint8_t *vbuf;
	uint64_t v_checked, v_bad;
	double v_secs, handover_secs;
	unsigned handovers, no_trailer;
	uint64_t rng;
	bool bad_tape;		/* the failure is the cartridge's */
	bool lbp;		/* the drive checks each block's CRC32C */
	uint8_t *wbuf;		/* staging for protected writes */
	uint64_t drive_verified;
	char final_digest[DIGEST_HEX_LEN];
	char final_raw_digest[DIGEST_HEX_LEN];
};

/* Next pseudo-random number (xorshift64*), for spot-verify sampling. */
static uint64_t
next_random(struct dump_state *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

/* Fill the dump-log record fields common to part and dump lines. */
static void
fill_record(struct cat_dl_rec *r, const struct fmt_header *h)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dump_id, sizeof(r->dump_id), "%s", h->dump_id);
	snprintf(r->entity, sizeof(r->entity), "%s", h->entity);
	snprintf(r->date, sizeof(r->date), "%s", h->dump_date);
	snprintf(r->since, sizeof(r->since), "%s", h->since);
	r->level = h->level;
	snprintf(r->server, sizeof(r->server), "%s", h->server);
	snprintf(r->partition, sizeof(r->partition), "%s", h->partition);
	snprintf(r->label, sizeof(r->label), "%s", h->label);
	snprintf(r->tape_id, sizeof(r->tape_id), "%s", h->tape_id);
	r->file = h->file;
	r->part = h->part;
	r->offset = h->offset;
	r->block_size = h->block_size;
	snprintf(r->compress, sizeof(r->compress), "%s", h->compress);
	snprintf(r->digest_alg, sizeof(r->digest_alg), "%s", h->digest);
	snprintf(r->source_kind, sizeof(r->source_kind), "%s", h->source_kind);
}

/*
 * Set programmable early warning so that what is still unconfirmed when
 * it comes (the write window) plus the part's closing filemarks and
 * trailer fit before early warning proper.
 */
static void
set_pew(struct dump_state *s)
{
	struct tsg_status st;
	uint64_t need = (uint64_t)s->bs * (s->wdepth + 3) + (16u << 10);
	unsigned mb = (unsigned)((need + (1u << 20) - 1) >> 20);

	if (s->o->no_pew || tsg_is_stream(s->dev))
		return;
	if (tsg_set_pew(s->dev, mb, &st) == 0)
		log_warn("programmable early warning set to %u MB "
		    "(%u unconfirmed blocks of %u, trailer, filemarks)", mb,
		    s->wdepth, s->bs);
	else
		log_info("drive has no programmable early warning");
}

/* A block's CRC32C after its data, big-endian, as protection carries it. */
static void
put_crc(uint8_t *p, uint32_t c)
{
	p[0] = (uint8_t)(c >> 24);
	p[1] = (uint8_t)(c >> 16);
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
}

/*
 * Write one block; with logical block protection its CRC32C goes along in
 * 4 more bytes, after the data (in place where the buffer has room).
 */
static int
tape_write(struct dump_state *s, const void *buf, size_t len, bool slack,
    const uint32_t *crc, struct tsg_status *st)
{
	uint8_t *p;
	uint32_t c;

	if (!s->lbp)
		return tsg_write(s->dev, buf, len, st);
	p = slack ? (uint8_t *)buf : s->wbuf;
	if (!slack)
		memcpy(p, buf, len);
	c = crc ? *crc : crc32c(0, buf, len);
	put_crc(p + len, c);
	return tsg_write(s->dev, p, len + 4, st);
}

/* Turn logical block protection on for this cartridge, where it exists. */
static void
set_lbp(struct dump_state *s)
{
	struct tsg_status st;

	s->lbp = false;
	if (!s->o->lbp || tsg_is_stream(s->dev))
		return;
	if (tsg_set_lbp(s->dev, true, &st) == 0) {
		s->lbp = true;
		log_warn("logical block protection on (CRC32C "
		    "with every block, checked by the drive)");
	} else {
		log_warn("the drive has no logical block "
		    "protection; CRC32C stays on the host");
	}
}

/* Position at end of data and write the header of the next part. */
static int
open_part(struct dump_state *s)
{
	struct tsg_status st;
	struct tsg_pos pos;
	int rc;

	s->h.file = 0;
	if (tsg_is_stream(s->dev))
		s->h.file = 1;
	else if ((rc = eng_goto_eod(s->dev, &s->h.file, s->err)) < 0)
		return rc;
	if (s->h.file == 0) {
		eng_err(s->err, "tape %s has no label file at its start", s->l.label);
		return -EIO;
	}
	s->part_lon = 0;
	if (tsg_read_position(s->dev, &pos, &st) == 0 && pos.known)
		s->part_lon = pos.lon;
	s->wdepth = tsg_set_write_depth(s->dev, s->o->queue);
	set_pew(s);
	set_lbp(s);
	s->h.part++;
	s->h.offset = s->stream_bytes;
	snprintf(s->h.label, sizeof(s->h.label), "%s", s->l.label);
	snprintf(s->h.tape_id, sizeof(s->h.tape_id), "%s", s->l.tape_id);
	if (fmt_header_build(&s->h, s->hbuf, s->bs) < 0) {
		eng_err(s->err, "header fields do not fit one block");
		return -E2BIG;
	}
	s->ncrc = 0;
	s->part_bytes = 0;
	digest_free(s->pd);
	if (!(s->pd = digest_new(s->alg)))
		return -ENOMEM;
	rc = tape_write(s, s->hbuf, s->bs, true, NULL, &st);
	if (rc && !(rc == TSG_CHECK && tsg_is_early_warning(&st))) {
		if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(s->err, "cartridge %s is write-protected", s->l.label);
		else if (st.cat == TSG_CAT_VOLUME_OVERFLOW)
			eng_err(s->err, "cartridge %s is full", s->l.label);
		else
			eng_err_st(s->err, "writing the header", &st);
		s->h.part--;
		return rc < 0 ? rc : -EIO;
	}
	s->part_open = true;
	if (s->h.part == 1)
		s->first = s->h;
	size_t n = strlen(s->labels);
	snprintf(s->labels + n, sizeof(s->labels) - n, "%s%s", n ? "," : "",
	    s->l.label);
	return 0;
}

/* Re-read a sample of the part's blocks and compare their CRC32C. */
static int
spot_verify(struct dump_state *s)
{
	struct tsg_status st;
	double t0 = eng_now();
	uint64_t bad_at = UINT64_MAX;
	uint64_t checked0 = s->v_checked, bad0 = s->v_bad;
	uint64_t drive0 = s->drive_verified;
	int rc = 0;

	if (!s->ncrc || s->o->verify_rate < 0 ||
	    tsg_is_stream(s->dev))
		return 0;
	if (s->o->hooks)
		s->o->hooks->progress(s->o->hooks->ctx, s->stream_bytes, 0,
		    "verifying");
	/* With protection the drive checks every block, without moving data. */
	if (s->lbp && s->ncrc <= 0xffffff &&
	    tsg_locate(s->dev, s->part_lon + 1, &st) == 0) {
		rc = tsg_verify_lbp(s->dev, (uint32_t)s->ncrc, &st);
		if (rc == TSG_CHECK && st.cat == TSG_CAT_MEDIUM_ERROR) {
			uint64_t left = st.valid ? (uint64_t)st.info : s->ncrc;
			bad_at = s->ncrc - (left <= s->ncrc ? left : s->ncrc);
			s->v_bad++;
		} else if (rc == 0) {
			s->drive_verified += s->ncrc;
		}
	}
	for (uint64_t i = 0; i < s->ncrc; i++) {
		bool pick = i == 0 || i == s->ncrc - 1 ||
		    (double)(next_random(s) >> 11) / (double)(1ULL << 53) <
		    s->o->verify_rate;
		if (!pick)
			continue;
		/* LOCATE where the drive has it, else rewind and space. */
		if (tsg_locate(s->dev, s->part_lon + 1 + i, &st) &&
		    (eng_goto_file(s->dev, s->h.file, s->err) < 0 ||
		    tsg_space(s->dev, TSG_SPACE_BLOCKS, (int32_t)(1 + i), &st))) {
			eng_err_st(s->err, "spot verify: positioning", &st);
			return -EIO;
		}
		/* Exact lengths (some targets lose data otherwise). */
		size_t want = i + 1 < s->ncrc ? s->bs :
		    (size_t)(s->part_bytes - (s->ncrc - 1) * s->bs);
		rc = tsg_read(s->dev, s->vbuf, want + (s->lbp ? 4 : 0), &st);
		s->v_checked++;
		size_t got = st.xfer;
		bool pi_ok = true;
		if (s->lbp && !rc) {
			/* The CRC the drive returns must be ours, too. */
			got = got >= 4 ? got - 4 : 0;
			uint8_t *p = s->vbuf + got;
			uint32_t pi = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3];
			pi_ok = pi == s->crcs[i];
		}
		if (rc || !pi_ok || crc32c(0, s->vbuf, got) != s->crcs[i]) {
			s->v_bad++;
			if (bad_at == UINT64_MAX)
				bad_at = i;
		}
	}
	tsg_space(s->dev, TSG_SPACE_EOD, 0, &st);
	s->v_secs += eng_now() - t0;
	if (s->o->hooks)
		s->o->hooks->verified(s->o->hooks->ctx, s->h.dump_id, s->l.tape_id,
		    s->v_checked - checked0 + (s->drive_verified - drive0),
		    s->v_bad - bad0);
	if (bad_at != UINT64_MAX) {
		eng_err(s->err, "spot verification failed: block %llu of tape file "
		    "%llu on %s does not read back as written",
		    (unsigned long long)bad_at + 1, (unsigned long long)s->h.file,
		    s->l.label);
		s->bad_tape = true;
		return -EBADMSG;
	}
	return 0;
}

/* Write the trailer file: record block, CRC table blocks, sync filemark. */
static int
put_trailer(struct dump_state *s, struct fmt_trailer *t)
{
	struct tsg_status st;
	size_t tlen = (size_t)s->ncrc * 4;
	int rc = 0, r;

	for (uint64_t i = 0; i < s->ncrc; i++)
		s->crcs[i] = htole32(s->crcs[i]);
	t->table_crc = crc32c(0, s->crcs, tlen);
	if (fmt_trailer_build(t, s->hbuf, s->bs) < 0) {
		eng_err(s->err, "trailer does not fit a block");
		rc = -E2BIG;
		goto out;
	}
	r = tape_write(s, s->hbuf, s->bs, true, NULL, &st);
	for (size_t off = 0; off < tlen && (!r || (r == TSG_CHECK &&
	    tsg_is_early_warning(&st))); off += s->bs) {
		size_t n = tlen - off < s->bs ? tlen - off : s->bs;
		r = tape_write(s, (uint8_t *)s->crcs + off, n, false, NULL, &st);
	}
	/* This filemark is synchronous: it confirms the whole part. */
	if (!r || (r == TSG_CHECK && tsg_is_early_warning(&st)))
		r = tsg_write_filemarks(s->dev, 1, false, &st);
	if (r && !(r == TSG_CHECK && tsg_is_early_warning(&st))) {
		if (st.cat == TSG_CAT_VOLUME_OVERFLOW) {
			rc = -ENOSPC;	/* physical end: no room for the trailer */
		} else {
			eng_err_st(s->err, "writing the trailer", &st);
			rc = -EIO;
		}
	}
out:
	for (uint64_t i = 0; i < s->ncrc; i++)
		s->crcs[i] = le32toh(s->crcs[i]);
	return rc;
}

/* Record a part line in the dump log. */
static int
log_part(struct dump_state *s, const struct fmt_trailer *t, bool trailer)
{
	struct cat_dl_rec rec;
	int rc;

	fill_record(&rec, &s->h);
	rec.type = CAT_DL_PART;
	rec.bytes = s->part_bytes;
	rec.blocks = s->ncrc;
	snprintf(rec.digest, sizeof(rec.digest), "%s", t->part_digest);
	snprintf(rec.status, sizeof(rec.status), "%s",
	    trailer ? "ok" : "no-trailer");
	if ((rc = cat_dl_append(s->o->log, &rec)) < 0)
		eng_err(s->err, "dump log %s: %s (part %u is on tape %s file %llu)",
		    s->o->log, strerror(-rc), s->h.part, s->l.label,
		    (unsigned long long)s->h.file);
	/* The catalog hears of a part once it is on tape and journalled. */
	if (rc == 0 && s->o->hooks)
		s->o->hooks->event(s->o->hooks->ctx, "part", &rec, s->l.label,
		    s->l.tape_id, NULL);
	return rc;
}

/*
 * Close the part: filemark, trailer file, synchronous filemark (which
 * confirms everything), then the dump log and spot verification. A tape
 * at physical end may refuse the trailer: the part is kept, its digest
 * goes to the dump log and into the next part's header.
 */
static int
close_part(struct dump_state *s, bool last)
{
	struct fmt_trailer t;
	struct tsg_status st;
	bool trailer = true;
	int rc;

	s->part_open = false;
	memset(&t, 0, sizeof(t));
	t.version = FMT_VERSION;
	snprintf(t.dump_id, sizeof(t.dump_id), "%s", s->h.dump_id);
	snprintf(t.digest, sizeof(t.digest), "%s", s->h.digest);
	t.part = s->h.part;
	t.header_file = s->h.file;
	t.block_size = s->bs;
	t.bytes = s->part_bytes;
	t.blocks = s->ncrc;
	t.last = last;
	t.stream_bytes = s->stream_bytes;
	digest_final_hex(s->pd, t.part_digest);
	if (last) {
		digest_final_hex(s->sd, t.stream_digest);
		t.raw_bytes = s->raw_bytes;
		if (s->rd)
			digest_final_hex(s->rd, t.raw_digest);
		else
			memcpy(t.raw_digest, t.stream_digest, sizeof(t.raw_digest));
	}
	rc = tsg_write_filemarks(s->dev, 1, true, &st);
	if (rc && !(rc == TSG_CHECK && tsg_is_early_warning(&st))) {
		if (st.cat != TSG_CAT_VOLUME_OVERFLOW) {
			eng_err_st(s->err, "writing the filemark", &st);
			return -EIO;
		}
		trailer = false;
	}
	if (trailer && (rc = put_trailer(s, &t)) < 0) {
		if (rc != -ENOSPC)
			return rc;
		trailer = false;
	}
	if (!trailer)
		s->no_trailer++;
	if ((rc = log_part(s, &t, trailer)) < 0)
		return rc;
	/* The next part's header carries this part's proof too. */
	s->h.prev_bytes = t.bytes;
	s->h.prev_blocks = t.blocks;
	snprintf(s->h.prev_digest, sizeof(s->h.prev_digest), "%s", t.part_digest);
	if (last) {
		memcpy(s->final_digest, t.stream_digest, sizeof(t.stream_digest));
		memcpy(s->final_raw_digest, t.raw_digest, sizeof(t.raw_digest));
	}
	return spot_verify(s);
}

/* Close this cartridge's part, get the next cartridge, open a part there. */
static int
span(struct dump_state *s)
{
	double t0 = eng_now(), t1;
	int rc;

	if ((rc = close_part(s, false)) < 0)
		return rc;
	eng_changer_skip(s->chg, s->l.tape_id);
	if (s->o->hooks)
		s->o->hooks->event(s->o->hooks->ctx, "tape-full", NULL, s->l.label,
		    s->l.tape_id, NULL);
	t1 = eng_now();
	if ((rc = eng_changer_next_writable(s->chg, &s->dev, &s->l, s->err)) < 0)
		return rc;
	/* Hand-over time counts our work, not the wait for a mount. */
	double t2 = eng_now();
	if ((rc = open_part(s)) < 0)
		return rc;
	s->handover_secs += (t1 - t0) + (eng_now() - t2);
	s->handovers++;
	return 0;
}

static struct wblock *
wq_at(struct dump_state *s, unsigned i)
{
	return &s->wq[(s->whead + i) % s->wcap];
}

/* The block is on tape: count it in the part and free its buffer. */
static void
wq_retire(struct dump_state *s)
{
	struct wblock *b = wq_at(s, 0);

	s->crcs[s->ncrc++] = b->crc;
	digest_update(s->pd, b->buf, b->len);
	digest_update(s->sd, b->buf, b->len);
	s->part_bytes += b->len;
	s->stream_bytes += b->len;
	if (b->ring_idx >= 0)
		ring_confirm(s->ring, (unsigned)b->ring_idx);
	if (b->obuf >= 0)
		s->obuf_busy[b->obuf] = false;
	s->whead = (s->whead + 1) % s->wcap;
	s->wn--;
}

/* Send the next unsent block; the CRC32C rides along under protection. */
static int
wq_send(struct dump_state *s)
{
	struct wblock *b = wq_at(s, s->wreplay + s->wsent);
	size_t len = b->len;
	int rc;

	if (s->lbp) {
		put_crc(b->buf + len, b->crc);
		len += 4;
	}
	if ((rc = tsg_write_submit(s->dev, b->buf, len, s->wreplay + s->wsent)) < 0) {
		eng_err(s->err, "queueing a write: %s", strerror(-rc));
		return rc;
	}
	s->wsent++;
	return 0;
}

/*
 * Take the oldest write's outcome. At early warning the block is on tape
 * and the part is closed once the rest has drained. At physical end
 * (VOLUME OVERFLOW) the block is not on tape, nor is anything after it:
 * those go to the next cartridge, so nothing is lost or written twice.
 */
static int
wq_reap(struct dump_state *s)
{
	struct tsg_wdone w;
	int rc = tsg_write_reap(s->dev, &w);

	if (rc <= 0) {
		eng_err(s->err, "write window out of step (%d)", rc);
		return rc < 0 ? rc : -EIO;
	}
	s->wsent--;
	if (w.rc == 0 || (w.rc == TSG_CHECK && tsg_is_early_warning(&w.st))) {
		if (s->wreplay) {
			/* A hole in the stream: the cartridge cannot be trusted. */
			eng_err(s->err, "cartridge %s took a block after refusing "
			    "an earlier one", s->l.label);
			s->bad_tape = true;
			return -EIO;
		}
		wq_retire(s);
		if (w.rc)
			s->at_eot = true;
		return 0;
	}
	if (w.rc == TSG_CHECK && w.st.cat == TSG_CAT_VOLUME_OVERFLOW) {
		if (s->ncrc == 0) {
			eng_err(s->err, "cartridge %s is full at its start", s->l.label);
			return -ENOSPC;
		}
		s->wreplay++;
		s->at_eot = true;
		return 0;
	}
	if (w.st.cat == TSG_CAT_DATA_PROTECT)
		eng_err(s->err, "cartridge %s is write-protected", s->l.label);
	else if (w.st.cat == TSG_CAT_MEDIUM_ERROR) {
		eng_err_st(s->err, "medium error writing; cartridge suspect", &w.st);
		s->bad_tape = true;
	} else
		eng_err_st(s->err, "write", &w.st);
	return w.rc < 0 ? w.rc : -EIO;
}

/* Wait for everything in flight without looking at it (error paths). */
static void
wq_abandon(struct dump_state *s)
{
	struct tsg_wdone w;

	while (s->dev && tsg_write_reap(s->dev, &w) == 1)
		;
	s->wn = s->wsent = s->wreplay = 0;
	s->at_eot = false;
}

/*
 * One step of progress: span once the window has drained at end of tape,
 * else send what may be sent, else take one outcome. 0 when idle.
 * Only blocks of one length are in flight together: writes are SIMPLE
 * tasks, and a target may start the one whose data arrived first (tgt
 * writes a short last block ahead of a full one still in transfer).
 */
static int
wq_step(struct dump_state *s, bool *did)
{
	int rc;

	*did = true;
	if (s->at_eot && !s->wsent) {
		if ((rc = span(s)) < 0)
			return rc;
		s->at_eot = false;
		s->wreplay = 0;		/* the refused blocks are unsent again */
		return 0;
	}
	if (!s->at_eot && s->wreplay + s->wsent < s->wn &&
	    s->wsent < s->wdepth && (!s->wsent ||
	    wq_at(s, s->wreplay + s->wsent)->len == wq_at(s, s->wreplay)->len))
		return wq_send(s);
	if (s->wsent)
		return wq_reap(s);
	*did = false;
	return 0;
}

/* Drive the window until it has room for another block, or is empty. */
static int
wq_pump(struct dump_state *s, bool drain)
{
	bool did;
	int rc;

	for (;;) {
		if (!drain && !s->at_eot && s->wreplay + s->wsent == s->wn &&
		    s->wsent < s->wdepth)
			return 0;
		if ((rc = wq_step(s, &did)) < 0)
			return rc;
		if (!did)
			return 0;
	}
}

/* Queue one data block (a ring buffer or a compression buffer). */
static int
put_block(struct dump_state *s, uint8_t *buf, size_t len, int ring_idx,
    int obuf)
{
	struct wblock *b;

	if (s->ncrc + s->wn >= s->capcrc) {
		uint64_t ncap = s->capcrc ? s->capcrc * 2 : 4096;
		uint32_t *n = realloc(s->crcs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->crcs = n;
		s->capcrc = ncap;
	}
	if (s->wn == s->wcap) {
		eng_err(s->err, "write window overfull");
		return -EOVERFLOW;
	}
	b = wq_at(s, s->wn);
	b->buf = buf;
	b->len = len;
	b->crc = crc32c(0, buf, len);
	b->ring_idx = ring_idx;
	b->obuf = obuf;
	s->wn++;
	return wq_pump(s, false);
}

/* A free compression buffer, waiting for the drive if all are in flight. */
static int
take_obuf(struct dump_state *s)
{
	bool did;
	int rc;

	for (;;) {
		for (unsigned i = 0; i < s->nobuf; i++)
			if (!s->obuf_busy[i]) {
				s->obuf_busy[i] = true;
				s->cur_obuf = (int)i;
				return 0;
			}
		if ((rc = wq_step(s, &did)) < 0)
			return rc;
		if (!did)
			return -EIO;
	}
}

/* Feed compressed output into full blocks. */
static int
put_compressed(struct dump_state *s, ZSTD_CCtx *z, const void *in, size_t len,
    ZSTD_EndDirective mode)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t left;
	int rc;

	do {
		if (s->cur_obuf < 0 && (rc = take_obuf(s)) < 0)
			return rc;
		uint8_t *ob_buf = s->obufs[s->cur_obuf];
		ZSTD_outBuffer ob = { ob_buf, s->bs, s->ofill };
		left = ZSTD_compressStream2(z, &ob, &ib, mode);
		if (ZSTD_isError(left)) {
			eng_err(s->err, "zstd: %s", ZSTD_getErrorName(left));
			return -EIO;
		}
		s->ofill = ob.pos;
		if (s->ofill == s->bs) {
			int i = s->cur_obuf;
			s->cur_obuf = -1;
			s->ofill = 0;
			if ((rc = put_block(s, ob_buf, s->bs, -1, i)) < 0)
				return rc;
		}
	} while (ib.pos < ib.size || (mode == ZSTD_e_end && left));
	if (mode == ZSTD_e_end && s->ofill) {
		int i = s->cur_obuf;
		size_t n = s->ofill;
		s->cur_obuf = -1;
		s->ofill = 0;
		if ((rc = put_block(s, s->obufs[i], n, -1, i)) < 0)
			return rc;
	}
	return 0;
}

/* Parse "zstd" or "zstd:LEVEL"; 0 none, level otherwise, -1 bad. */
static int
compress_level(const char *c)
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

/* Check the options that need no device. */
static int
check_opts(const struct eng_dump_opts *o, time_t *since, char *err)
{
	uint32_t bs = o->block_size ? o->block_size : FMT_DEFAULT_BLOCK;

	if (bs < FMT_MIN_BLOCK || bs > FMT_MAX_BLOCK || bs % 4096) {
		eng_err(err, "block size must be a multiple of 4 KiB from 64 KiB "
		    "to 8 MiB");
		return -EINVAL;
	}
	if (digest_alg_from_name(o->digest ? o->digest : "xxh128") < 0) {
		eng_err(err, "digest must be xxh128 or sha256");
		return -EINVAL;
	}
	if (compress_level(o->compress) < 0) {
		eng_err(err, "compression must be none, zstd or zstd:1..19");
		return -EINVAL;
	}
	if (!o->log) {
		eng_err(err, "--log DUMPLOG is required: it records what is on tape");
		return -EINVAL;
	}
	if (!o->entity || !*o->entity || strlen(o->entity) >= 256) {
		eng_err(err, "entity name missing or too long");
		return -EINVAL;
	}
	if (o->since && util_parse_time(o->since, since) < 0) {
		eng_err(err, "--since takes 2026-11-22 or 2026-11-22T03:00:00Z");
		return -EINVAL;
	}
	if (o->level > 0 && !o->since) {
		eng_err(err, "an incremental (level > 0) needs --since");
		return -EINVAL;
	}
	if (o->verify_rate > 1) {
		eng_err(err, "--verify-rate takes a fraction from 0 to 1");
		return -EINVAL;
	}
	return 0;
}

/* Make sure the tape in the drive may be written by this job. */
static int
first_tape(struct dump_state *s)
{
	const struct eng_dump_opts *o = s->o;
	struct tsg_status st;
	bool wp = false;
	int rc;

	if (tsg_is_stream(s->dev)) {
		/* Benchmarks: a sink with no tape to label or position. */
		memset(&s->l, 0, sizeof(s->l));
		snprintf(s->l.label, sizeof(s->l.label), "NULL");
		snprintf(s->l.tape_id, sizeof(s->l.tape_id), "0");
		return 0;
	}
	if ((rc = eng_read_label(s->dev, &s->l, s->err)) < 0) {
		if (rc == -ENODATA)
			eng_err(s->err, "tape has no label: label it first "
			    "(abs-engine label --device %s --label NAME)", o->device);
		return rc;
	}
	if (o->expect_label && strcmp(o->expect_label, s->l.label) != 0) {
		eng_err(s->err, "wrong tape: %s is in the drive, %s was asked for",
		    s->l.label, o->expect_label);
		return -EMEDIUMTYPE;
	}
	if (tsg_write_protected(s->dev, &wp, &st) == 0 && wp) {
		eng_err(s->err, "cartridge %s is write-protected", s->l.label);
		return -EROFS;
	}
	/* A block the drive cannot take would fail at the first write. */
	uint32_t bmin, bmax;
	if (tsg_read_block_limits(s->dev, &bmin, &bmax, &st) == 0 && bmax &&
	    s->bs + (o->lbp ? 4 : 0) > bmax) {
		eng_err(s->err, "block size %u is larger than the drive takes (%u); "
		    "use --block-size %u or less", s->bs, bmax, bmax & ~4095u);
		return -EINVAL;
	}
	return 0;
}

/* One attempt at the whole dump, onto the tape in the drive and after. */
static int
dump_once(struct dump_state *s, time_t since, struct eng_dump_result *res)
{
	const struct eng_dump_opts *o = s->o;
	struct eng_source src = { .fd = -1 };
	struct ring *ring = NULL;
	struct tsg_status st;
	struct cat_dl_rec rec;
	ZSTD_CCtx *z = NULL;
	int level = compress_level(o->compress), rc;
	double t0 = eng_now();

	s->stream_bytes = s->raw_bytes = 0;
	s->labels[0] = '\0';
	s->v_checked = s->v_bad = 0;
	s->v_secs = s->handover_secs = 0;
	s->handovers = s->no_trailer = 0;
	s->bad_tape = false;
	s->drive_verified = 0;
	s->wn = s->wsent = s->wreplay = 0;
	s->whead = 0;
	s->at_eot = false;
	s->cur_obuf = -1;
	for (unsigned i = 0; i < s->nobuf; i++)
		s->obuf_busy[i] = false;
	if ((rc = eng_source_open(o->source, since, &src, s->err)) < 0)
		return rc;
	/* Read-ahead beyond what the write window holds. */
	unsigned depth = o->depth ? o->depth : 8;
	unsigned want = tsg_set_write_depth(s->dev, o->queue);
	if (depth < 2 * want)
		depth = 2 * want;
	if ((rc = ring_new(depth, s->bs, &ring)) < 0 ||
	    (rc = ring_source(ring, src.fd)) < 0) {
		eng_err(s->err, "io_uring set-up: %s", strerror(-rc));
		goto out;
	}
	s->ring = ring;
	digest_free(s->sd);
	digest_free(s->rd);
	s->sd = digest_new(s->alg);
	s->rd = level ? digest_new(s->alg) : NULL;
	if (!s->sd || (level && !s->rd)) {
		rc = -ENOMEM;
		goto out;
	}
	if (level) {
		z = ZSTD_createCCtx();
		if (!z) {
			rc = -ENOMEM;
			goto out;
		}
		ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
		/* One helper thread keeps compression off the tape path. */
		ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, 1);
		s->ofill = 0;
	}

	memset(&s->h, 0, sizeof(s->h));
	s->h.version = FMT_VERSION;
	util_random_hex(s->h.dump_id, 16);
	snprintf(s->h.entity, sizeof(s->h.entity), "%s", o->entity);
	if (o->server)
		snprintf(s->h.server, sizeof(s->h.server), "%s", o->server);
	else
		gethostname(s->h.server, sizeof(s->h.server) - 1);
	snprintf(s->h.partition, sizeof(s->h.partition), "%s",
	    o->partition ? o->partition : src.path);
	s->h.level = o->level;
	util_fmt_time(time(NULL), s->h.dump_date, sizeof(s->h.dump_date));
	if (o->since)
		util_fmt_time(since, s->h.since, sizeof(s->h.since));
	else
		snprintf(s->h.since, sizeof(s->h.since), "-");
	s->h.block_size = s->bs;
	snprintf(s->h.compress, sizeof(s->h.compress), "%s",
	    level ? "zstd" : "none");
	snprintf(s->h.digest, sizeof(s->h.digest), "%s", digest_alg_name(s->alg));
	snprintf(s->h.source_kind, sizeof(s->h.source_kind), "%s", src.kind);
	snprintf(s->h.source, sizeof(s->h.source), "%s", src.path);
	if ((rc = open_part(s)) < 0)
		goto out;

	/* The data path: blocks leave the window only once on tape. */
	struct ring_block b;
	double last_report = eng_now();
	while ((rc = ring_next(ring, &b)) == 1) {
		/* Between blocks: an abort request in, progress out. */
		if (o->hooks && o->hooks->aborted(o->hooks->ctx)) {
			eng_err(s->err, "aborted by the operator after %llu bytes",
			    (unsigned long long)ring_bytes(ring));
			rc = -ECANCELED;
			goto out;
		}
		if (o->hooks && eng_now() - last_report >= 1.0) {
			last_report = eng_now();
			o->hooks->progress(o->hooks->ctx, ring_bytes(ring),
			    (double)ring_bytes(ring) / 1e6 / (last_report - t0),
			    "writing");
		}
		if (level) {
			digest_update(s->rd, b.buf, b.len);
			rc = put_compressed(s, z, b.buf, b.len, ZSTD_e_continue);
			ring_confirm(ring, b.idx);	/* zstd has copied it */
		} else {
			rc = put_block(s, b.buf, b.len, (int)b.idx, -1);
		}
		if (rc < 0)
			goto out;
	}
	if (rc < 0) {
		eng_err(s->err, "reading the source: %s", strerror(-rc));
		goto out;
	}
	if (level && (rc = put_compressed(s, z, NULL, 0, ZSTD_e_end)) < 0)
		goto out;
	if ((rc = wq_pump(s, true)) < 0)
		goto out;
	s->raw_bytes = ring_bytes(ring);
	if ((rc = close_part(s, true)) < 0)
		goto out;

	/* Every part is on tape and confirmed: now the dump may be recorded. */
	char srcerr[ENG_ERRLEN] = "";
	int src_rc = eng_source_close(&src, srcerr);
	fill_record(&rec, &s->first);
	rec.type = CAT_DL_DUMP;
	rec.part = s->h.part;
	rec.bytes = s->stream_bytes;
	rec.raw_bytes = s->raw_bytes;
	snprintf(rec.digest, sizeof(rec.digest), "%s", s->final_digest);
	snprintf(rec.raw_digest, sizeof(rec.raw_digest), "%s", s->final_raw_digest);
	snprintf(rec.status, sizeof(rec.status), "%s",
	    src_rc ? "source-failed" : "complete");
	if ((rc = cat_dl_append(o->log, &rec)) < 0) {
		eng_err(s->err, "dump log %s: %s", o->log, strerror(-rc));
		goto out;
	}
	if (!src_rc && o->hooks && o->hooks->event(o->hooks->ctx, "dump", &rec,
	    s->first.label, s->first.tape_id, NULL) < 0)
		log_warn("abs-ctld did not record dump %s as complete (it is in "
		    "the dump log %s)", rec.dump_id, o->log);
	if (src_rc) {
		eng_err(s->err, "%s; the stream on tape %s file %llu is recorded as "
		    "source-failed and will not be restored by default", srcerr,
		    s->first.label, (unsigned long long)s->first.file);
		rc = src_rc;
		goto out;
	}
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", s->h.dump_id);
	snprintf(res->label, sizeof(res->label), "%s", s->first.label);
	snprintf(res->labels, sizeof(res->labels), "%s", s->labels);
	res->file = s->first.file;
	res->parts = s->h.part;
	res->raw_bytes = s->raw_bytes;
	res->bytes = s->stream_bytes;
	memcpy(res->digest, s->final_digest, sizeof(res->digest));
	memcpy(res->raw_digest, s->final_raw_digest, sizeof(res->raw_digest));
	snprintf(res->digest_alg, sizeof(res->digest_alg), "%s", s->h.digest);
	rc = 0;
out:
	wq_abandon(s);
	if (rc < 0 && s->part_open && s->dev) {
		/* Close the partial file so the tape stays appendable. */
		tsg_write_filemarks(s->dev, 1, false, &st);
		s->part_open = false;
	}
	if (src.pid || src.fd >= 0) {
		char ignore[ENG_ERRLEN];
		if (src.pid)
			kill(src.pid, SIGTERM);
		eng_source_close(&src, ignore);
	}
	res->seconds = eng_now() - t0;
	res->verify_checked = s->v_checked;
	res->verify_bad = s->v_bad;
	res->verify_seconds = s->v_secs;
	res->handovers = s->handovers;
	res->handover_seconds = s->handover_secs;
	res->no_trailer = s->no_trailer;
	ZSTD_freeCCtx(z);
	ring_free(ring);
	s->ring = NULL;
	return rc;
}

/*
 * Record that a cartridge failed and must not be trusted: an error event
 * (counted per cartridge and per drive) and the cartridge out of use.
 */
static void
log_bad_tape(struct dump_state *s, const char *why)
{
	struct cat_dl_rec rec;

	fill_record(&rec, &s->h);
	rec.type = CAT_DL_ERROR;
	snprintf(rec.label, sizeof(rec.label), "%s", s->l.label);
	snprintf(rec.tape_id, sizeof(rec.tape_id), "%s", s->l.tape_id);
	snprintf(rec.drive, sizeof(rec.drive), "%s", s->o->device);
	util_fmt_time(time(NULL), rec.date, sizeof(rec.date));
	snprintf(rec.status, sizeof(rec.status), "%s",
	    strstr(why, "spot verification") ? "verify-mismatch" :
	    strstr(why, "medium error") ? "medium-error" : "write-failed");
	cat_dl_append(s->o->log, &rec);
	rec.type = CAT_DL_BAD;
	snprintf(rec.status, sizeof(rec.status), "out-of-service");
	cat_dl_append(s->o->log, &rec);
	log_warn("cartridge %s taken out of use: %s",
	    s->l.label, why);
	if (s->o->hooks)
		s->o->hooks->event(s->o->hooks->ctx, "bad-tape", NULL, s->l.label,
		    s->l.tape_id, why);
}

int
eng_dump(const struct eng_dump_opts *o, struct eng_dump_result *res, char *err)
{
	struct dump_state s = { .o = o, .err = err };
	struct eng_changer_opts co = { 0 };
	time_t since = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_opts(o, &since, err)) < 0)
		return rc;
	s.bs = o->block_size ? o->block_size : FMT_DEFAULT_BLOCK;
	s.alg = (enum digest_alg)digest_alg_from_name(o->digest ? o->digest :
	    "xxh128");
	if (getrandom(&s.rng, sizeof(s.rng), 0) != sizeof(s.rng) || !s.rng)
		s.rng = 0x9e3779b97f4a7c15ULL;
	if (!o->hooks && (rc = eng_open(o->device, &s.dev, err)) < 0)
		return rc;
	co.uri = o->device;
	co.hooks = o->hooks;
	co.autolabel = o->autolabel;
	co.log = o->log;
	co.block_size = s.bs;
	co.mount_timeout = o->mount_timeout;
	s.hbuf = aligned_alloc(4096, s.bs + RING_SLACK);
	s.vbuf = aligned_alloc(4096, s.bs + RING_SLACK);
	s.wbuf = aligned_alloc(4096, s.bs + RING_SLACK);
	/* Window: every ring buffer or compression buffer, plus one. */
	unsigned want = o->queue ? o->queue : 8;
	unsigned rdepth = o->depth ? o->depth : 8;
	s.nobuf = want + 1;
	s.wcap = (rdepth > 2 * want ? rdepth : 2 * want) + s.nobuf + 1;
	s.wq = calloc(s.wcap, sizeof(*s.wq));
	s.obufs = calloc(s.nobuf, sizeof(*s.obufs));
	s.obuf_busy = calloc(s.nobuf, sizeof(*s.obuf_busy));
	bool obufs_ok = s.obufs != NULL;
	for (unsigned i = 0; s.obufs && i < s.nobuf; i++)
		if (!(s.obufs[i] = aligned_alloc(4096, s.bs + RING_SLACK)))
			obufs_ok = false;
	if (!s.hbuf || !s.vbuf || !s.wq || !obufs_ok || !s.obuf_busy || !s.wbuf ||
	    (rc = eng_changer_new(&co, &s.chg)) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (o->hooks) {
		/* The catalog chooses the cartridge, from the first one on. */
		co.pool = o->pool ? o->pool : "default";
		eng_changer_free(s.chg);
		if ((rc = eng_changer_new(&co, &s.chg)) < 0 ||
		    (rc = eng_changer_next_writable(s.chg, &s.dev, &s.l, err)) < 0)
			goto out;
	} else {
		if ((rc = first_tape(&s)) < 0)
			goto out;
		co.pool = s.l.pool;
		eng_changer_free(s.chg);
		if ((rc = eng_changer_new(&co, &s.chg)) < 0)
			goto out;
	}
	if (eng_changer_skipped(s.chg, s.l.tape_id)) {
		eng_err(err, "cartridge %s was taken out of use (see the dump log)",
		    s.l.label);
		rc = -EIO;
		goto out;
	}
	/* A cartridge that fails (medium error, bad read-back) is taken out of
	 * use and the entity is dumped again from its source onto another. */
	for (unsigned attempt = 0;; attempt++) {
		rc = dump_once(&s, since, res);
		if (rc == 0 || !s.bad_tape)
			break;
		log_bad_tape(&s, err);
		eng_changer_skip(s.chg, s.l.tape_id);
		res->retries = attempt + 1;
		if (attempt >= o->retries || strcmp(o->source, "file:/dev/stdin") == 0)
			break;
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", err);
		log_warn("dumping %s again on another cartridge "
		    "(%s)", o->entity, why);
		if ((rc = eng_changer_next_writable(s.chg, &s.dev, &s.l, err)) < 0)
			break;
	}
	res->lbp = s.lbp;
	res->drive_verified = s.drive_verified;
	if (s.lbp && s.dev) {
		/* Drives keep mode pages: leave this one as we found it. */
		struct tsg_status st;
		tsg_set_lbp(s.dev, false, &st);
	}
out:
	eng_changer_free(s.chg);
	free(s.crcs);
	free(s.wbuf);
	free(s.hbuf);
	free(s.vbuf);
	for (unsigned i = 0; s.obufs && i < s.nobuf; i++)
		free(s.obufs[i]);
	free(s.obufs);
	free(s.obuf_busy);
	free(s.wq);
	digest_free(s.pd);
	digest_free(s.sd);
	digest_free(s.rd);
	tsg_free(s.dev);
	return rc;
}
