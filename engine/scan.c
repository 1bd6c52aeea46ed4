/*
 * scan: what a cartridge holds, from the tape alone - its label, and for
 * every part its header and trailer paired (a part without a trailer is
 * read through to count its bytes and compute its digest) - for `abs-engine
 * scan` and for a media server rebuilding the catalog (served.c). The
 * drive's cartridge, or every cartridge of its library in turn.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/fileindex.h"
#include "common/digest.h"
#include "common/esc.h"
#include "common/log.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/scan.h"
#include "engine/stream.h"
#include "engine/tape.h"

struct scan {
	struct tsg_dev *dev;
	const struct eng_scan_fns *fns;
	struct fmt_label l;
	uint8_t *buf;
	struct eng_scan_part pend;	/* a header whose trailer may follow */
	bool pending;
	bool ends_full;		/* the last part seen closed the cartridge */
	struct eng_scan_tape tape;
	char *err;
	bool moved;		/* a range read left the tape elsewhere */
};

/*
 * Read the rest of a part without trailer: its blocks, bytes, digest,
 * with reads queued until its filemark (0), end of data (-ENODATA) or an
 * error; a block longer than the part's block size is damage.
 */
static int
count_part(struct scan *s, struct eng_scan_part *p)
{
	int alg = digest_alg_from_name(p->h.digest);
	struct digest *d = alg < 0 ? NULL : digest_new((enum digest_alg)alg);
	size_t bs = p->h.block_size ? p->h.block_size : FMT_MAX_BLOCK;
	struct tsg_status st;
	struct tsg_rq *q = NULL;
	void *blk;
	int rc;

	if (!d)
		return -ENOMEM;
	p->blocks = p->bytes = 0;
	if ((rc = tsg_read_queue_open(s->dev, 0, bs, &q)) < 0 ||
	    (rc = tsg_read_queue_plan(q, 0, NULL, NULL)) < 0) {
		eng_err(s->err, "queued reads: %s", strerror(-rc));
		tsg_read_queue_close(q);
		digest_free(d);
		return rc;
	}
	while ((rc = tsg_read_queue_next(q, &blk, &st)) == 0) {
		digest_update(d, blk, st.xfer);
		p->blocks++;
		p->bytes += st.xfer;
	}
	if (rc == TSG_CHECK && st.filemark) {
		rc = 0;
	} else if (rc == TSG_CHECK && tsg_is_eod(&st)) {
		eng_err(s->err, "end of data");
		rc = -ENODATA;
	} else if (rc == TSG_CHECK && st.cat == TSG_CAT_NO_SENSE && st.ili) {
		eng_err(s->err, "block larger than %zu bytes", bs);
		rc = -EOVERFLOW;
	} else {
		eng_err_st(s->err, "read", &st);
		rc = rc < 0 ? rc : -EIO;
	}
	tsg_read_queue_close(q);
	digest_final_hex(d, p->digest);
	digest_free(d);
	return rc;
}

/* Hand the pending part over. */
static int
flush_part(struct scan *s)
{
	if (!s->pending)
		return 0;
	s->pending = false;
	s->tape.parts++;
	/* A part that ends before its stream does ended at early warning. */
	s->ends_full = !s->pend.trailer || s->pend.t.tape_full ||
	    !s->pend.t.last;
	return s->fns->part ? s->fns->part(s->fns->ctx, &s->tape, &s->pend) : 0;
}

/*
 * The pending part has no trailer (a header or end of data came next):
 * read it through from its header to count and digest it, then hand it
 * over. The tape is left anywhere: the caller positions again.
 */
static int
count_pending(struct scan *s)
{
	size_t got;
	int rc;

	if ((rc = eng_goto_file(s->dev, s->pend.file, s->err)) < 0 ||
	    (rc = eng_read_guess(s->dev, s->buf, s->pend.h.block_size,
	    FMT_MAX_BLOCK, &got, s->err)) < 0)
		return rc;
	if ((rc = count_part(s, &s->pend)) < 0 && rc != -ENODATA)
		return rc;
	return flush_part(s);
}

/*
 * The file index of a last part that holds it whole, read by a range
 * read (its blocks only, each checked against the trailer's CRC) and
 * checked by decoding it; a catalog rebuilt from tapes gets it back.
 * The tape is left elsewhere (s->moved). An index that cannot be read is
 * no failure of the scan: the rebuilt dump has no index, and restores of
 * it still read the tape.
 */
static void
read_index(struct scan *s, struct eng_scan_part *p)
{
	const struct fmt_trailer *t = &p->t;
	struct eng_part_loc loc = { .file = p->file, .part = p->h.part,
	    .bytes = t->bytes, .blocks = t->blocks, .known = true,
	    .offset = p->h.offset, .block_size = p->h.block_size };
	struct eng_stream sr;
	char err[ENG_ERRLEN] = "", why[200];
	uint8_t *buf;
	uint64_t got = 0;
	struct fidx x;
	int rc;

	if (!t->last || !t->index_bytes || t->index_stored < p->h.offset ||
	    t->index_stored >= t->stream_bytes || t->index_bytes > (1u << 30) ||
	    !(buf = malloc(t->index_bytes)))
		return;
	memset(&sr, 0, sizeof(sr));
	sr.devp = &s->dev;
	sr.buf = s->buf;
	sr.err = err;
	sr.parts = &loc;
	sr.nparts = 1;
	sr.bs_hint = p->h.block_size;
	snprintf(sr.dump_id, sizeof(sr.dump_id), "%s", p->h.dump_id);
	s->moved = true;
	rc = eng_stream_range(&sr, t->index_stored, t->index_raw, t->index_raw,
	    t->index_raw + t->index_bytes);
	if (rc == 0) {
		const void *q;
		long n;
		while ((n = eng_stream_pull(&sr, &q)) > 0 &&
		    got + (uint64_t)n <= t->index_bytes) {
			memcpy(buf + got, q, (size_t)n);
			got += (uint64_t)n;
		}
		rc = n < 0 ? -EIO : got == t->index_bytes ? 0 : -EBADMSG;
	}
	sr.parts = NULL;
	eng_stream_free(&sr);
	if (rc == 0 && (rc = fidx_decode(buf, t->index_bytes, &x, why,
	    sizeof(why))) == 0)
		fidx_free(&x);
	else if (rc != -EIO)
		snprintf(err, sizeof(err), "%s", why);
	if (rc < 0) {
		log_warn("dump %s: its file index in tape file %llu cannot be "
		    "read back (%s): the rebuilt dump has none", p->h.dump_id,
		    (unsigned long long)p->file, err[0] ? err : strerror(-rc));
		free(buf);
		return;
	}
	p->index = buf;
	p->index_len = t->index_bytes;
}

/* A trailer: it closes the pending part if it is that part's. */
static int
on_trailer(struct scan *s, const struct fmt_trailer *t)
{
	struct eng_scan_part *p = &s->pend;
	int rc;

	if (!s->pending || strcmp(t->dump_id, p->h.dump_id) != 0 ||
	    t->part != p->h.part || t->header_file != p->file)
		return 0;	/* a trailer without its header: nothing to pair */
	p->trailer = true;
	p->t = *t;
	p->bytes = t->bytes;
	p->blocks = t->blocks;
	snprintf(p->digest, sizeof(p->digest), "%s", t->part_digest);
	read_index(s, p);
	rc = flush_part(s);
	free(p->index);
	p->index = NULL;
	p->index_len = 0;
	return rc;
}

/* Space past the current file's filemark: 0, 1 at end of data, or <0. */
static int
next_file(struct scan *s)
{
	struct tsg_status st;

	if (tsg_space(s->dev, TSG_SPACE_FILEMARKS, 1, &st) == 0)
		return 0;
	if (tsg_is_eod(&st))
		return 1;
	eng_err_st(s->err, "space to the next tape file", &st);
	return -EIO;
}

/*
 * Every tape file after the label, in order: a header waits for the
 * trailer in the next file; a part whose trailer does not come is read
 * through (count_pending), and the scan goes on from where it was.
 */
static int
scan_files(struct scan *s)
{
	struct fmt_header h;
	struct fmt_trailer t;
	uint64_t n;
	int rc;

	if ((rc = eng_goto_file(s->dev, 1, s->err)) < 0)
		return rc;
	for (n = 1;; n++) {
		size_t got;
		char e2[ENG_ERRLEN];
		rc = eng_read_guess(s->dev, s->buf, s->l.block_size, FMT_MAX_BLOCK,
		    &got, e2);
		if (rc == -ENODATA)
			break;
		if (n > s->tape.files)
			s->tape.files = n;
		if (rc == 0)
			continue;	/* an empty file: the filemark is passed */
		if (rc == 1 && fmt_header_parse(s->buf, got, &h) == 0) {
			if (s->pending) {
				if ((rc = count_pending(s)) < 0 ||
				    (rc = eng_goto_file(s->dev, n, s->err)) < 0)
					return rc;
				n--;	/* read this header again */
				continue;
			}
			memset(&s->pend, 0, sizeof(s->pend));
			s->pend.h = h;
			s->pend.file = n;
			s->pending = true;
		} else if (rc == 1 && fmt_trailer_parse(s->buf, got, &t) == 0) {
			s->moved = false;
			if ((rc = on_trailer(s, &t)) < 0)
				return rc;
			/* Back to this file, so as to space past it. */
			if (s->moved && (rc = eng_goto_file(s->dev, n, s->err)) < 0)
				return rc;
		} else {
			s->tape.other++;	/* foreign, damaged or unreadable */
			if (rc < 0) {
				/* A part there is missing from what the scan
				   finds: say which cartridge and file. */
				log_warn("cartridge %s: tape file %llu cannot be "
				    "read (%s)", s->l.label, (unsigned long long)n,
				    e2);
				if (s->fns->unreadable)
					s->fns->unreadable(s->fns->ctx, &s->tape, n,
					    e2);
			}
		}
		if ((rc = next_file(s)) < 0)
			return rc;
		if (rc == 1)
			break;
	}
	return s->pending ? count_pending(s) : 0;
}

/*
 * Whether the tape is full as a dump would find it (eng_part_open): at end
 * of data, past early warning, or past programmable early warning with a
 * part on it already. The programmable early warning is the one a dump
 * sets for the label's block size and the transport's default write
 * depth (a media server run with another --queue sets another).
 */
static bool
past_early_warning(struct scan *s)
{
	struct tsg_status st;
	struct tsg_pos pos;
	uint64_t file = 0, need;
	char e2[ENG_ERRLEN];
	unsigned depth;

	if (eng_goto_eod(s->dev, &file, e2) < 0)
		return false;
	if (tsg_is_stream(s->dev))
		return false;
	depth = tsg_set_write_depth(s->dev, 0);
	need = (uint64_t)s->l.block_size * (depth + 3) + (16u << 10);
	(void)tsg_set_pew(s->dev, (unsigned)((need + (1u << 20) - 1) >> 20),
	    &st);
	if (tsg_read_position(s->dev, &pos, &st) != 0 || !pos.known)
		return false;
	return pos.eop || (pos.bpew && file > 1);
}

/* Scan the cartridge in dev: the label, then every part. */
static int
scan_tape(struct scan *s)
{
	int rc;

	memset(&s->tape, 0, sizeof(s->tape));
	s->pending = s->ends_full = false;
	if ((rc = eng_read_label(s->dev, &s->l, s->err)) < 0)
		return rc;
	s->tape.l = s->l;
	if (s->fns->tape && (rc = s->fns->tape(s->fns->ctx, &s->tape)) < 0)
		return rc;
	if ((rc = scan_files(s)) < 0)
		return rc;
	s->tape.full = s->ends_full || past_early_warning(s);
	s->tape.done = true;
	if (s->fns->tape && (rc = s->fns->tape(s->fns->ctx, &s->tape)) < 0)
		return rc;
	return 0;
}

/* Every cartridge of the drive's library, slot by slot. */
static int
scan_library(struct scan *s, const char *device, int *tapes)
{
	struct eng_changer_opts co = { .uri = device };
	struct eng_changer *c;
	int rc;

	if ((rc = eng_changer_new(&co, &c)) < 0)
		return rc;
	if (!eng_changer_is_library(c)) {
		eng_changer_free(c);
		eng_err(s->err, "%s is not a drive of a library", device);
		return -ENOTSUP;
	}
	for (int slot = 0;; slot++) {
		char why[ENG_ERRLEN];
		s->err = why;
		rc = eng_changer_load_next(c, slot, &s->dev, &s->l, why);
		if (rc == -ERANGE)
			break;
		if (rc == 0)
			rc = scan_tape(s);
		if (rc == 0)
			(*tapes)++;
		else if (s->fns->skipped)
			s->fns->skipped(s->fns->ctx, slot + 1, rc, why);
		if (rc == -ECANCELED)
			break;
	}
	/* load_next opened the drive through the changer: its to release. */
	eng_changer_free(c);
	tsg_free(s->dev);
	s->dev = NULL;
	return rc == -ECANCELED ? rc : 0;
}

int
eng_scan_run(const char *device, bool library, const struct eng_scan_fns *fns,
    char *err)
{
	struct scan s = { .fns = fns, .err = err };
	int rc, tapes = 0;

	s.buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	if (!s.buf)
		return -ENOMEM;
	if (library) {
		rc = scan_library(&s, device, &tapes);
		s.err = err;
		if (rc == 0 && !tapes) {
			eng_err(err, "no cartridge of the library could be scanned");
			rc = -ENOENT;
		}
	} else if ((rc = eng_open(device, &s.dev, err)) == 0) {
		rc = scan_tape(&s);
	}
	free(s.buf);
	tsg_free(s.dev);
	return rc < 0 ? rc : tapes;
}

/* ---- abs-engine scan: a table, or JSON lines ---- */

struct scan_out {
	FILE *out;
	bool json;
};

/* Print one object as one compact line, and free it. */
static void
json_line(FILE *out, json_t *j)
{
	if (j && json_dumpf(j, out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
		fputc('\n', out);
	json_decref(j);
}

/* A tape's label (first call) or its summary (done). */
static int
out_tape(void *ctx, const struct eng_scan_tape *t)
{
	struct scan_out *o = ctx;
	const struct fmt_label *l = &t->l;

	if (o->json) {
		json_line(o->out, t->done ? json_pack("{s:s,s:s,s:I,s:I,s:I,s:b}",
		    "kind", "end", "tape_id", l->tape_id, "files",
		    (json_int_t)t->files, "parts", (json_int_t)t->parts, "other",
		    (json_int_t)t->other, "full", t->full) : json_pack(
		    "{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "kind", "tape", "label",
		    l->label, "tape_id", l->tape_id, "pool", l->pool, "block_size",
		    (json_int_t)l->block_size, "labelled_at", l->labelled_at,
		    "labelled_by", l->labelled_by));
		return 0;
	}
	if (t->done)
		fprintf(o->out, "%llu tape files, %llu parts, %llu others%s\n",
		    (unsigned long long)t->files, (unsigned long long)t->parts,
		    (unsigned long long)t->other, t->full ?
		    "; past early warning (full)" : "");
	else {
		/* Fields off a tape: no controls to the terminal. */
		char e1[256], e2[256], e3[256], e4[256], e5[256];
		fprintf(o->out, "tape %s  ID %s  pool %s  block size %u  labelled "
		    "%s by %s\n", esc_name(l->label, e1, sizeof(e1)),
		    esc_name(l->tape_id, e2, sizeof(e2)), esc_name(l->pool, e3,
		    sizeof(e3)), l->block_size, esc_name(l->labelled_at, e4,
		    sizeof(e4)), esc_name(l->labelled_by, e5, sizeof(e5)));
	}
	return 0;
}

char *
eng_base64(const uint8_t *in, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		*o++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? a[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* A part as a JSON object: header, trailer and counts. */
json_t *
eng_scan_part_json(const struct eng_scan_tape *t, const struct eng_scan_part *p)
{
	const struct fmt_header *h = &p->h;
	const struct fmt_trailer *r = &p->t;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:I,"
	    "s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s}",
	    "kind", "part", "label", t->l.label, "tape_id", t->l.tape_id,
	    "pool", t->l.pool, "dump", h->dump_id, "entity", h->entity,
	    "level", h->level, "date", h->dump_date, "since", h->since,
	    "file", (json_int_t)p->file, "part", (json_int_t)h->part,
	    "offset", (json_int_t)h->offset, "bytes", (json_int_t)p->bytes,
	    "blocks", (json_int_t)p->blocks, "digest_alg", h->digest,
	    "digest", p->digest, "server", h->server, "partition", h->partition,
	    "compress", h->compress, "block_size", (json_int_t)h->block_size,
	    "source_kind", h->source_kind);

	if (!j)
		return NULL;
	json_object_set_new(j, "source", json_string(h->source));
	json_object_set_new(j, "entity_type", json_string(h->entity_type));
	json_object_set_new(j, "job", json_integer((json_int_t)h->job));
	json_object_set_new(j, "prev_tape_id", json_string(h->prev_tape_id));
	json_object_set_new(j, "trailer", json_boolean(p->trailer));
	json_object_set_new(j, "written", json_string(r->written));
	json_object_set_new(j, "last", json_boolean(p->trailer && r->last));
	json_object_set_new(j, "base", json_string(h->base));
	json_object_set_new(j, "base_date", json_string(h->base_date));
	json_object_set_new(j, "base_level", json_integer(h->base_level));
	if (p->trailer && r->last && r->index_bytes) {
		json_object_set_new(j, "index_raw",
		    json_integer((json_int_t)r->index_raw));
		json_object_set_new(j, "index_stored",
		    json_integer((json_int_t)r->index_stored));
		json_object_set_new(j, "index_bytes",
		    json_integer((json_int_t)r->index_bytes));
	}
	if (p->index) {
		char *b = eng_base64(p->index, p->index_len);
		if (b)
			json_object_set_new(j, "index", json_string(b));
		free(b);
	}
	if (p->trailer && r->last) {
		json_object_set_new(j, "stream_bytes",
		    json_integer((json_int_t)r->stream_bytes));
		json_object_set_new(j, "stream_digest",
		    json_string(r->stream_digest));
		json_object_set_new(j, "raw_bytes",
		    json_integer((json_int_t)r->raw_bytes));
		json_object_set_new(j, "raw_digest", json_string(r->raw_digest));
	}
	return j;
}

/* A part: a JSON line or a table row. */
static int
out_part(void *ctx, const struct eng_scan_tape *t,
    const struct eng_scan_part *p)
{
	struct scan_out *o = ctx;

	if (o->json) {
		json_line(o->out, eng_scan_part_json(t, p));
		return 0;
	}
	char ent[256], id[128], srv[256], date[128];

	fprintf(o->out, "  file %-4llu %s part %u of dump %s: %s level %d of "
	    "%s, %llu bytes in %llu blocks, %s %s%s%s\n",
	    (unsigned long long)p->file, esc_name(p->h.entity, ent, sizeof(ent)),
	    p->h.part, esc_name(p->h.dump_id, id, sizeof(id)),
	    esc_name(p->h.server, srv, sizeof(srv)), p->h.level,
	    esc_name(p->h.dump_date, date, sizeof(date)),
	    (unsigned long long)p->bytes, (unsigned long long)p->blocks,
	    p->h.digest, p->digest, p->trailer ? "" : " (no trailer: counted)",
	    p->trailer && p->t.last ? " (last part)" : "");
	if (p->index)
		fprintf(o->out, "    file index: %zu bytes, read back and "
		    "checked\n", p->index_len);
	return 0;
}

/* A slot whose cartridge could not be scanned. */
static void
out_skipped(void *ctx, int slot, int rc, const char *why)
{
	struct scan_out *o = ctx;

	if (o->json)
		json_line(o->out, json_pack("{s:s,s:i,s:s,s:b}", "kind", "skipped",
		    "slot", slot, "why", why, "blank", rc == -ENODATA));
	else
		fprintf(o->out, "slot %d: not scanned: %s\n", slot, why);
}

int
eng_scan(const char *device, bool library, bool json, FILE *out, char *err)
{
	struct scan_out o = { out, json };
	struct eng_scan_fns fns = { out_tape, out_part, out_skipped, &o };
	int rc = eng_scan_run(device, library, &fns, err);

	return rc < 0 ? rc : 0;
}
