/* Parts of a dump stream on tape: header, trailer, dump-log part lines. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/part.h"
#include "engine/tape.h"
#include "engine/verify.h"
#include "engine/window.h"
#include "ring/ring.h"

/*
 * ABS_TAPE_TRACE=FILE: what the drive is sent, one line each, for the
 * drive model (abs-drive-model --trace): "w BYTES", "f" (an immediate
 * filemark), "F" (a synchronous one), "r" (a read back). Benchmarks only.
 */
void
eng_trace(const char *fmt, ...)
{
	static FILE *fp;
	static int tried;
	va_list ap;

	if (!tried) {
		const char *path = getenv("ABS_TAPE_TRACE");
		tried = 1;
		if (path && *path)
			fp = fopen(path, "a");
	}
	if (!fp)
		return;
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fflush(fp);
}

int
eng_part_init(struct eng_part *p)
{
	p->hbuf = aligned_alloc(4096, p->bs + RING_SLACK);
	p->wbuf = aligned_alloc(4096, p->bs + RING_SLACK);
	return p->hbuf && p->wbuf ? 0 : -ENOMEM;
}

void
eng_part_fini(struct eng_part *p)
{
	free(p->crcs);
	free(p->hbuf);
	free(p->wbuf);
	digest_free(p->pd);
	digest_free(p->sd);
	digest_free(p->rd);
	p->crcs = NULL;
	p->hbuf = p->wbuf = NULL;
	p->pd = p->sd = p->rd = NULL;
}

int
eng_part_stream(struct eng_part *p, bool compressed)
{
	p->stream_bytes = p->raw_bytes = 0;
	p->stream_blocks = 0;
	p->index_raw = p->index_stored = p->index_bytes = 0;
	p->labels[0] = '\0';
	p->no_trailer = 0;
	p->open = false;
	digest_free(p->sd);
	digest_free(p->rd);
	p->sd = digest_new(p->alg);
	p->rd = compressed ? digest_new(p->alg) : NULL;
	if (!p->sd || (compressed && !p->rd))
		return -ENOMEM;
	return 0;
}

void
eng_part_record(struct cat_dl_rec *r, const struct fmt_header *h)
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
	r->job = h->job;
}

/*
 * Set programmable early warning so that what is still unconfirmed when
 * it comes (the write window) plus the part's closing filemarks and
 * trailer fit before early warning proper.
 */
static void
set_pew(struct eng_part *p)
{
	struct tsg_status st;
	uint64_t need = (uint64_t)p->bs * (p->depth + 3) + (16u << 10);
	unsigned mb = (unsigned)((need + (1u << 20) - 1) >> 20);

	if (p->o->no_pew || tsg_is_stream(p->dev))
		return;
	if (tsg_set_pew(p->dev, mb, &st) == 0)
		log_warn("programmable early warning set to %u MB "
		    "(%u unconfirmed blocks of %u, trailer, filemarks)", mb,
		    p->depth, p->bs);
	else
		log_info("drive has no programmable early warning");
}

/* Turn logical block protection on for this cartridge, where it exists. */
static void
set_lbp(struct eng_part *p)
{
	struct tsg_status st;

	p->lbp = false;
	if (!p->o->lbp || tsg_is_stream(p->dev))
		return;
	if (tsg_set_lbp(p->dev, true, &st) == 0) {
		p->lbp = true;
		log_warn("logical block protection on (CRC32C "
		    "with every block, checked by the drive)");
	} else {
		log_warn("the drive has no logical block "
		    "protection; CRC32C stays on the host");
	}
}

/*
 * Write one block; with logical block protection its CRC32C goes along in
 * 4 more bytes, after the data (in place where the buffer has room).
 */
static int
tape_write(struct eng_part *p, const void *buf, size_t len, bool slack,
    struct tsg_status *st)
{
	uint8_t *b;

	if (!p->lbp)
		return tsg_write(p->dev, buf, len, st);
	b = slack ? (uint8_t *)buf : p->wbuf;
	if (!slack)
		memcpy(b, buf, len);
	eng_put_crc(b + len, crc32c(0, buf, len));
	return tsg_write(p->dev, b, len + 4, st);
}

/* A write that completed, or completed inside the early-warning zone. */
static bool
written(int rc, const struct tsg_status *st)
{
	return !rc || (rc == TSG_CHECK && tsg_is_early_warning(st));
}

int
eng_part_open(struct eng_part *p)
{
	struct tsg_status st;
	struct tsg_pos pos;
	int rc;

	p->h.file = 0;
	if (tsg_is_stream(p->dev))
		p->h.file = 1;
	else if (p->resume_file)	/* held at end of data since the last part */
		p->h.file = p->resume_file;
	else if ((rc = eng_goto_eod(p->dev, &p->h.file, p->err)) < 0)
		return rc;
	p->resume_file = 0;
	if (p->h.file == 0) {
		eng_err(p->err, "tape %s has no label file at its start", p->l.label);
		return -EIO;
	}
	p->lon = 0;
	if (tsg_read_position(p->dev, &pos, &st) == 0 && pos.known)
		p->lon = pos.lon;
	p->depth = tsg_set_write_depth(p->dev, p->o->queue);
	set_pew(p);
	/*
	 * Past early warning (or past programmable early warning with parts
	 * on it already) the cartridge is full: a part here would be a block
	 * or two and then a hand-over, or be cut at physical end.
	 */
	if (!tsg_is_stream(p->dev) &&
	    tsg_read_position(p->dev, &pos, &st) == 0 && pos.known &&
	    (pos.eop || (pos.bpew && p->h.file > 1))) {
		eng_err(p->err, "cartridge %s is full (beyond %searly warning)",
		    p->l.label, pos.eop ? "" : "programmable ");
		return -ENOSPC;
	}
	set_lbp(p);
	p->h.part++;
	p->h.offset = p->stream_bytes;
	snprintf(p->h.label, sizeof(p->h.label), "%s", p->l.label);
	snprintf(p->h.tape_id, sizeof(p->h.tape_id), "%s", p->l.tape_id);
	/* Parts take their cartridge's format: old tapes stay readable by
	   the engines that wrote them. */
	p->h.version = p->l.version == 1 ? 1 : FMT_VERSION;
	int hlen = fmt_header_build(&p->h, p->hbuf, p->bs);
	if (hlen < 0) {
		eng_err(p->err, "header fields do not fit one block");
		return -E2BIG;
	}
	p->ncrc = 0;
	p->bytes = 0;
	digest_free(p->pd);
	if (!(p->pd = digest_new(p->alg)))
		return -ENOMEM;
	rc = tape_write(p, p->hbuf, (size_t)hlen, true, &st);
	if (!written(rc, &st)) {
		if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(p->err, "cartridge %s is write-protected", p->l.label);
		else if (st.cat == TSG_CAT_VOLUME_OVERFLOW)
			eng_err(p->err, "cartridge %s is full", p->l.label);
		else
			eng_err_st(p->err, "writing the header", &st);
		p->h.part--;
		if (st.cat == TSG_CAT_VOLUME_OVERFLOW)
			return -ENOSPC;
		return rc < 0 ? rc : -EIO;
	}
	p->open = true;
	eng_trace("w %d", hlen);
	if (p->h.part == 1)
		p->first = p->h;
	size_t n = strlen(p->labels);
	snprintf(p->labels + n, sizeof(p->labels) - n, "%s%s", n ? "," : "",
	    p->l.label);
	return 0;
}

int
eng_part_add(struct eng_part *p, const void *buf, size_t len, uint32_t crc,
    const struct digest *pd)
{
	if (p->ncrc == p->capcrc) {
		uint64_t ncap = p->capcrc ? p->capcrc * 2 : 4096;
		uint32_t *n = realloc(p->crcs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->crcs = n;
		p->capcrc = ncap;
	}
	p->crcs[p->ncrc++] = crc;
	if (pd) {
		/* Summed as it was put (engine/window.c): the stream digest
		 * has it, the part digest is pd. */
		if (digest_copy(p->pd, pd) < 0)
			return -EINVAL;
	} else {
		digest_update(p->pd, buf, len);
		digest_update(p->sd, buf, len);
	}
	p->bytes += len;
	p->stream_bytes += len;
	return 0;
}

/* Write the trailer file: record block, CRC table blocks, sync filemark. */
static int
put_trailer(struct eng_part *p, struct fmt_trailer *t)
{
	struct tsg_status st;
	size_t tlen = (size_t)p->ncrc * 4;
	int rc = 0, r;

	for (uint64_t i = 0; i < p->ncrc; i++)
		p->crcs[i] = htole32(p->crcs[i]);
	t->table_crc = crc32c(0, p->crcs, tlen);
	int tl = fmt_trailer_build(t, p->hbuf, p->bs);
	if (tl < 0) {
		eng_err(p->err, "trailer does not fit a block");
		rc = -E2BIG;
		goto out;
	}
	r = tape_write(p, p->hbuf, (size_t)tl, true, &st);
	for (size_t off = 0; off < tlen && written(r, &st); off += p->bs) {
		size_t n = tlen - off < p->bs ? tlen - off : p->bs;
		r = tape_write(p, (uint8_t *)p->crcs + off, n, false, &st);
	}
	/*
	 * Synchronous, it confirms the whole part (and every part before it:
	 * a commit point); immediate between commit points, so the drive
	 * keeps streaming.
	 */
	eng_trace("w %d", tl);
	for (size_t off = 0; off < tlen; off += p->bs)
		eng_trace("w %zu", tlen - off < p->bs ? tlen - off : p->bs);
	/* Dumps written with immediate filemarks, not yet covered: the
	   crash campaigns kill here (ABS_CRASH_AT=commit:N). */
	if (!p->defer && p->o->commit && p->o->commit->nrec)
		abs_crash_point("commit");
	if (written(r, &st))
		r = tsg_write_filemarks(p->dev, 1, p->defer, &st);
	eng_trace(p->defer ? "f" : "F");
	if (written(r, &st) && p->o->commit) {
		if (p->defer)
			p->o->commit->immediate++;
		else
			p->o->commit->syncs++;
	}
	if (!written(r, &st)) {
		if (st.cat == TSG_CAT_VOLUME_OVERFLOW) {
			rc = -ENOSPC;	/* physical end: no room for the trailer */
		} else {
			eng_err_st(p->err, "writing the trailer", &st);
			rc = -EIO;
		}
	}
out:
	for (uint64_t i = 0; i < p->ncrc; i++)
		p->crcs[i] = le32toh(p->crcs[i]);
	return rc;
}

/* Record a part line in the dump log, then tell the catalog. */
/* A dump-log line of the job that wrote it (see part.h). */
int
eng_log_append(const struct eng_dump_opts *o, struct cat_dl_rec *r)
{
	eng_rec_stamp(o, r);
	return cat_dl_append(o->log, r);
}

void
eng_rec_stamp(const struct eng_dump_opts *o, struct cat_dl_rec *r)
{
	/* A line kept for a commit point has its own job's already. */
	if (!r->site[0] && o->job > 0 && o->site && o->site[0]) {
		r->job = o->job;
		snprintf(r->site, sizeof(r->site), "%s", o->site);
	}
}

/* A pending line: the dump log's record, kept in order. */
struct eng_commit_rec {
	struct cat_dl_rec r;
};

int
eng_commit_push(struct eng_commit *c, const struct cat_dl_rec *r)
{
	if (c->nrec == c->caprec) {
		size_t cap = c->caprec ? c->caprec * 2 : 16;
		struct eng_commit_rec *n = realloc(c->recs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->recs = n;
		c->caprec = cap;
	}
	c->recs[c->nrec++].r = *r;
	return 0;
}

int
eng_commit_release(struct eng_commit *c, const struct eng_dump_opts *o,
    bool synced, char *err)
{
	int rc = 0, r;

	if (!synced)
		snprintf(c->why, sizeof(c->why), "%s", err && *err ? err :
		    "the commit point failed");
	for (size_t i = 0; i < c->nrec; i++) {
		struct cat_dl_rec *rec = &c->recs[i].r;
		if (!synced) {
			if (rec->type == CAT_DL_DUMP && c->on_lost)
				c->on_lost(c->ctx, rec);
			continue;
		}
		if ((r = eng_log_append(o, rec)) < 0 && rc == 0) {
			eng_err(err, "dump log %s: %s (dump %s is on tape %s file "
			    "%llu)", o->log, strerror(-r), rec->dump_id, rec->label,
			    (unsigned long long)rec->file);
			rc = r;
		}
		/* A media server's catalog hears of it now (a part, a
		   complete dump), as a dump not deferred tells it; a dump
		   job's lines go in the media server's commit event
		   (on_line: they may be another job's than the one running). */
		if (r == 0 && o->hooks && !c->on_line &&
		    (rec->type == CAT_DL_PART ||
		    (rec->type == CAT_DL_DUMP && strcmp(rec->status,
		    "complete") == 0)) && o->hooks->event(o->hooks->ctx,
		    rec->type == CAT_DL_PART ? "part" : "dump", rec, rec->label,
		    rec->tape_id, NULL) < 0)
			log_warn("abs-ctld did not record dump %s's %s (it is in "
			    "the dump log %s)", rec->dump_id, rec->type ==
			    CAT_DL_PART ? "part" : "end", o->log);
		if (r == 0 && c->on_line)
			c->on_line(c->ctx, rec);
		if (r == 0 && rec->type == CAT_DL_DUMP && c->on_commit)
			c->on_commit(c->ctx, rec);
	}
	if (synced && c->nrec)
		c->commits++;
	c->nrec = 0;
	c->pending = 0;
	c->since = eng_now();
	return synced ? rc : -EIO;
}

int
eng_part_commit(struct eng_part *p, bool synced)
{
	struct eng_commit *c = p->o->commit;
	struct tsg_status st;
	int rc = 0, r;

	if (!c || !c->nrec) {
		if (c)
			eng_commit_held_drop(c, 0);
		return 0;
	}
	c->check_due = false;
	if (!synced && p->dev && !tsg_is_stream(p->dev)) {
		abs_crash_point("commit");
		synced = tsg_write_filemarks(p->dev, 0, false, &st) == 0;
		eng_trace("F");
		if (synced)
			c->syncs++;
		else
			eng_err_st(p->err, "the commit point's filemark", &st);
	}
	/* What it covers read back before a line of it is released. */
	if (synced && c->nheld && p->dev) {
		uint32_t bs = 0;
		for (size_t i = 0; i < c->nheld; i++)
			if (c->held[i].bs > bs)
				bs = c->held[i].bs;
		uint8_t *buf = aligned_alloc(4096, bs + RING_SLACK);
		uint64_t checked = c->spot_checked;
		rc = buf ? eng_commit_check(c, p->dev, buf, true, p->err) : -ENOMEM;
		free(buf);
		if (rc == -ENOMEM)
			eng_err(p->err, "out of memory for the commit point's read "
			    "back");
		if (c->spot_checked > checked)
			eng_trace("r");
		synced = rc == 0;
		/* The bad part's line: the dump log's bad lines name it. */
		for (size_t i = 0; c->bad && !c->bad_rec && i < c->nrec; i++) {
			const struct cat_dl_rec *line = &c->recs[i].r;
			if (line->type == CAT_DL_PART && strcmp(line->dump_id,
			    c->bad_dump) == 0 &&
			    (c->bad_rec = malloc(sizeof(*c->bad_rec))))
				*c->bad_rec = *line;
		}
	}
	r = eng_commit_release(c, p->o, synced, p->err);
	eng_commit_checked(c, p->o);
	return rc < 0 ? rc : r;
}

static int
log_part(struct eng_part *p, const struct fmt_trailer *t, bool trailer)
{
	struct cat_dl_rec rec;
	int rc;

	eng_part_record(&rec, &p->h);
	rec.type = CAT_DL_PART;
	rec.bytes = p->bytes;
	rec.blocks = p->ncrc;
	snprintf(rec.written, sizeof(rec.written), "%s", t->written);
	snprintf(rec.digest, sizeof(rec.digest), "%s", t->part_digest);
	snprintf(rec.status, sizeof(rec.status), "%s",
	    trailer ? "ok" : "no-trailer");
	/* Not on the medium for sure yet: the line waits for the commit. */
	if (p->defer && p->o->commit) {
		eng_rec_stamp(p->o, &rec);
		return eng_commit_push(p->o->commit, &rec);
	}
	/*
	 * Written out with every part before it: those are committed too,
	 * once read back; with this part's own check (eng_spot_part, right
	 * after the close), in one pass.
	 */
	if (p->o->commit && trailer && p->o->commit->nrec &&
	    p->o->commit->nheld)
		p->o->commit->check_due = true;
	else if (p->o->commit && (rc = eng_part_commit(p, trailer)) < 0)
		return rc;
	if ((rc = eng_log_append(p->o, &rec)) < 0)
		eng_err(p->err, "dump log %s: %s (part %u is on tape %s file %llu)",
		    p->o->log, strerror(-rc), p->h.part, p->l.label,
		    (unsigned long long)p->h.file);
	/* The catalog hears of a part once it is on tape and journalled. */
	if (rc == 0 && p->o->hooks)
		p->o->hooks->event(p->o->hooks->ctx, "part", &rec, p->l.label,
		    p->l.tape_id, NULL);
	return rc;
}

/* The trailer record of the part being closed. */
static void
make_trailer(struct eng_part *p, bool last, struct fmt_trailer *t)
{
	memset(t, 0, sizeof(*t));
	t->version = p->h.version;
	snprintf(t->dump_id, sizeof(t->dump_id), "%s", p->h.dump_id);
	snprintf(t->digest, sizeof(t->digest), "%s", p->h.digest);
	t->part = p->h.part;
	t->header_file = p->h.file;
	t->block_size = p->bs;
	t->bytes = p->bytes;
	t->blocks = p->ncrc;
	t->last = last;
	/* A part ends early only at early warning; a stream may end there. */
	t->tape_full = !last || p->ends_full;
	util_fmt_time(clock_now(), t->written, sizeof(t->written));
	t->stream_bytes = p->stream_bytes;
	digest_final_hex(p->pd, t->part_digest);
	if (last) {
		digest_final_hex(p->sd, t->stream_digest);
		t->raw_bytes = p->raw_bytes;
		if (p->rd)
			digest_final_hex(p->rd, t->raw_digest);
		else
			memcpy(t->raw_digest, t->stream_digest, sizeof(t->raw_digest));
		t->index_raw = p->index_raw;
		t->index_stored = p->index_stored;
		t->index_bytes = p->index_bytes;
	}
}

int
eng_part_close(struct eng_part *p, bool last)
{
	struct fmt_trailer t;
	struct tsg_status st;
	bool trailer = true;
	int rc;

	p->open = false;
	make_trailer(p, last, &t);
	for (uint64_t i = 0; i < p->ncrc; i++)
		eng_trace("w %llu", (unsigned long long)(i + 1 < p->ncrc ? p->bs :
		    p->bytes - (p->ncrc - 1) * (uint64_t)p->bs));
	rc = tsg_write_filemarks(p->dev, 1, true, &st);
	eng_trace("f");
	if (!written(rc, &st)) {
		if (st.cat != TSG_CAT_VOLUME_OVERFLOW) {
			eng_err_st(p->err, "writing the filemark", &st);
			return -EIO;
		}
		trailer = false;
	}
	unsigned fms = trailer;	/* the part's own filemark is on tape */
	if (trailer && (rc = put_trailer(p, &t)) < 0) {
		if (rc != -ENOSPC)
			return rc;
		trailer = false;
	}
	/* No data and no trailer (an empty stream at physical end): nothing
	   would prove the part whole; it is written again elsewhere. */
	if (!trailer && p->ncrc == 0)
		return (rc = eng_part_withdraw(p, fms)) < 0 ? rc : -EAGAIN;
	if (!trailer)
		p->no_trailer++;
	if ((rc = log_part(p, &t, trailer)) < 0)
		return rc;
	/* The next part's header carries this part's proof too. */
	p->h.prev_bytes = t.bytes;
	p->h.prev_blocks = t.blocks;
	p->stream_blocks += t.blocks;
	snprintf(p->h.prev_digest, sizeof(p->h.prev_digest), "%s", t.part_digest);
	snprintf(p->h.prev_tape_id, sizeof(p->h.prev_tape_id), "%s", p->l.tape_id);
	if (last) {
		memcpy(p->final_digest, t.stream_digest, sizeof(t.stream_digest));
		memcpy(p->final_raw_digest, t.raw_digest, sizeof(t.raw_digest));
		memcpy(p->final_written, t.written, sizeof(t.written));
	}
	return 0;
}

int
eng_part_withdraw(struct eng_part *p, unsigned fms)
{
	struct tsg_status st;
	int rc;

	p->open = false;
	log_warn("cartridge %s ended right after the header of part %u (tape "
	    "file %llu): the header is taken back, the part begins on the "
	    "next cartridge", p->l.label, p->h.part,
	    (unsigned long long)p->h.file);
	/* Back over what the part wrote and the filemark before it. */
	if ((rc = tsg_space(p->dev, TSG_SPACE_FILEMARKS, -(int32_t)(fms + 1),
	    &st)) != 0) {
		eng_err_st(p->err, "spacing back over an empty part's header", &st);
		return -EIO;
	}
	rc = tsg_write_filemarks(p->dev, 1, false, &st);
	eng_trace("F");
	if (rc != 0) {
		eng_err_st(p->err, "writing the filemark again before an empty "
		    "part's header", &st);
		return -EIO;
	}
	/* Not a part: its number and cartridge go to the next one. */
	p->h.part--;
	char *comma = strrchr(p->labels, ',');
	if (comma)
		*comma = '\0';
	else
		p->labels[0] = '\0';
	if (p->o->commit)
		p->o->commit->syncs++;
	/* Everything before it is on the medium: a commit point. */
	return eng_part_commit(p, true);
}

int
eng_commit_drop_except(struct eng_commit *c, int64_t keep)
{
	size_t k = 0;
	int n = 0;

	for (size_t i = 0; i < c->nrec; i++) {
		struct cat_dl_rec *rec = &c->recs[i].r;
		if (rec->job == keep) {
			c->recs[k++] = c->recs[i];
			continue;
		}
		if (rec->type == CAT_DL_DUMP) {
			n++;
			if (c->pending)
				c->pending--;
			if (c->on_lost)
				c->on_lost(c->ctx, rec);
		}
	}
	c->nrec = k;
	eng_commit_held_drop(c, keep);
	return n;
}

bool
eng_commit_holds(const struct eng_commit *c, int64_t job)
{
	for (size_t i = 0; i < c->nrec; i++)
		if (c->recs[i].r.type == CAT_DL_DUMP && c->recs[i].r.job == job)
			return true;
	return false;
}
