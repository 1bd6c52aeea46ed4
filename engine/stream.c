/*
 * The stream reader: a dump's parts read back, located, and proven block
 * by block, part by part, and as a whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "catalog/dumplog.h"
#include "common/crc32c.h"
#include "common/digest.h"
#include "common/log.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/stream.h"
#include "engine/tape.h"

int
eng_stream_read_header(struct tsg_dev *dev, uint8_t *buf, size_t hint,
    struct fmt_header *h, uint64_t file, char *err)
{
	size_t got;
	int rc = eng_read_guess(dev, buf, hint, FMT_MAX_BLOCK, &got, err);

	if (rc == 0) {
		eng_err(err, "tape file %llu is empty", (unsigned long long)file);
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	rc = fmt_header_parse(buf, got, h);
	if (rc == -ENOMSG)
		eng_err(err, "tape file %llu is not a dump part",
		    (unsigned long long)file);
	else if (rc < 0)
		eng_err(err, "tape file %llu: part header is damaged (checksum "
		    "or fields)", (unsigned long long)file);
	else if (h->version < 2 && got != h->block_size) {
		/*
		 * A target that reads across block boundaries (tgt) gave more
		 * than the block: now that the size is known, read it exactly.
		 */
		struct fmt_header h2;
		if (got > h->block_size && eng_goto_file(dev, file, err) == 0 &&
		    eng_read_block(dev, buf, h->block_size, &got, err) == 1 &&
		    got == h->block_size && fmt_header_parse(buf, got, &h2) == 0)
			return 0;
		eng_err(err, "tape file %llu: header block is %zu bytes, it "
		    "says %u", (unsigned long long)file, got, h->block_size);
		rc = -EBADMSG;
	}
	return rc;
}

/*
 * Which cartridge the current part is on, for messages: "part 3 of 4 on
 * SP00003". Every cartridge has a tape file 1: an error that names only
 * the file and block does not say which cartridge to take out of service
 * (hostile15 H6).
 */
static const char *
part_on(const struct eng_stream *sr, char *buf, size_t len)
{
	const struct eng_part_loc *loc = &sr->parts[sr->cur];
	uint32_t part = loc->part ? loc->part : sr->h.part;
	uint32_t of = 0;
	char of_s[24] = "";

	if (sr->have_trailer && sr->t.last)
		of = part;
	else if (!sr->scan_more && sr->end_known && sr->nparts &&
	    sr->parts[0].part == 1 && sr->parts[sr->nparts - 1].part >= part)
		of = sr->parts[sr->nparts - 1].part;
	if (of)
		snprintf(of_s, sizeof(of_s), " of %u", of);
	if (loc->label[0])
		snprintf(buf, len, "part %u%s on %s", part, of_s, loc->label);
	else if (loc->tape_id[0])
		snprintf(buf, len, "part %u%s on the cartridge with ID %s", part,
		    of_s, loc->tape_id);
	else
		snprintf(buf, len, "part %u%s", part, of_s);
	return buf;
}

/* Free what belongs to the current part. */
static void
part_reset(struct eng_stream *sr)
{
	sr->part_open = false;
	free(sr->table);
	sr->table = NULL;
	digest_free(sr->pd);
	sr->pd = NULL;
	sr->have_trailer = false;
	sr->pd_is_sd = false;
}

int
eng_stream_quiesce(struct eng_stream *sr)
{
	struct tsg_status st;
	int rc;

	sr->rq_planned = false;
	if (!sr->rq)
		return 0;
	/* A queue whose device was swapped (a mount) is idle: drop it. */
	if (sr->rq_dev != *sr->devp) {
		tsg_read_queue_close(sr->rq);
		sr->rq = NULL;
		return 0;
	}
	if ((rc = tsg_read_queue_stop(sr->rq, &st)) < 0) {
		eng_err_st(sr->err, "stopping the queued reads", &st);
		return rc;
	}
	return 0;
}

/* Quiesce where an error is already being reported: keep its message. */
static void
quiesce_quiet(struct eng_stream *sr)
{
	char keep[ENG_ERRLEN];

	snprintf(keep, sizeof(keep), "%s", sr->err);
	if (eng_stream_quiesce(sr) < 0)
		log_warn("%s", sr->err);
	snprintf(sr->err, ENG_ERRLEN, "%s", keep);
}

/* Find the cartridge and tape file of part n when no log says (a scan). */
static int
scan_for_part(struct eng_stream *sr, uint32_t n, struct eng_part_loc *loc)
{
	struct tsg_dev *dev = *sr->devp;
	struct fmt_header h;
	struct fmt_label l;
	char why[ENG_ERRLEN];

	if (!sr->chg || !eng_changer_is_library(sr->chg)) {
		eng_err(sr->err, "dump %s continues in part %u on another "
		    "cartridge: restore with --log DUMPLOG, or from a library",
		    sr->dump_id, n);
		return -ENOENT;
	}
	for (int slot = 0;; slot++) {
		int rc = eng_changer_load_next(sr->chg, slot, sr->devp, &l, why);
		if (rc == -ERANGE)
			break;
		if (rc < 0)
			continue;
		dev = *sr->devp;
		if (eng_goto_file(dev, 1, why) < 0)
			continue;
		for (uint64_t f = 1;; f++) {
			struct tsg_status st;
			size_t got;
			rc = eng_read_guess(dev, sr->buf, l.block_size, FMT_MAX_BLOCK,
			    &got, why);
			if (rc == -ENODATA || rc < 0)
				break;
			if (rc == 1 && fmt_header_parse(sr->buf, got, &h) == 0 &&
			    strcmp(h.dump_id, sr->dump_id) == 0 && h.part == n) {
				memset(loc, 0, sizeof(*loc));
				snprintf(loc->label, sizeof(loc->label), "%s", l.label);
				snprintf(loc->tape_id, sizeof(loc->tape_id), "%s",
				    l.tape_id);
				loc->file = f;
				loc->part = n;
				return 0;
			}
			if (rc == 1 && tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st))
				break;
		}
	}
	eng_err(sr->err, "part %u of dump %s is on no cartridge in the library",
	    n, sr->dump_id);
	return -ENOENT;
}

/* Part k's header, at its tape file: it must be the part expected next. */
static int
part_header(struct eng_stream *sr, const struct eng_part_loc *loc)
{
	struct tsg_dev *dev = *sr->devp;
	int rc;

	if ((rc = eng_goto_file(dev, loc->file, sr->err)) < 0)
		return rc;
	if (sr->range && !loc->lon_known) {
		struct tsg_status st;
		struct tsg_pos pos;
		/* A made-up position (tgt: LON 0 away from the beginning) is
		   no use to LOCATE. */
		if (tsg_read_position(dev, &pos, &st) == 0 && pos.known &&
		    (pos.lon > 0 || pos.bop)) {
			struct eng_part_loc *l = (struct eng_part_loc *)loc;
			l->lon = pos.lon;
			l->lon_known = true;
		}
	}
	if ((rc = eng_stream_read_header(dev, sr->buf, sr->bs_hint, &sr->h,
	    loc->file, sr->err)) < 0)
		return rc;
	sr->meta_blocks++;
	if (sr->dump_id[0] && strcmp(sr->h.dump_id, sr->dump_id) != 0) {
		eng_err(sr->err, "tape file %llu on %s belongs to another dump",
		    (unsigned long long)loc->file, loc->label);
		return -EBADMSG;
	}
	snprintf(sr->dump_id, sizeof(sr->dump_id), "%s", sr->h.dump_id);
	/* The tape's header says what the dump is: a log that says another
	   level or base (a chain put together from a lying or mis-merged
	   log) is refused here, not followed (hostile13 H3). */
	if (sr->log_said && (sr->h.level != sr->log_level ||
	    (sr->log_base[0] && sr->h.base[0] && strcmp(sr->h.base, "-") != 0 &&
	    strcmp(sr->h.base, sr->log_base) != 0))) {
		eng_err(sr->err, "tape file %llu on %s is dump %s at level %d "
		    "with base %s; the dump log says level %d with base %s: "
		    "refused", (unsigned long long)loc->file, loc->label,
		    sr->h.dump_id, sr->h.level, sr->h.base[0] ? sr->h.base : "-",
		    sr->log_level, sr->log_base[0] ? sr->log_base : "-");
		return -EBADMSG;
	}
	if (sr->h.part != loc->part || sr->h.offset != sr->bytes) {
		eng_err(sr->err, "tape file %llu on %s is part %u at stream byte "
		    "%llu; expected part %u at %llu", (unsigned long long)loc->file,
		    loc->label, sr->h.part, (unsigned long long)sr->h.offset,
		    loc->part, (unsigned long long)sr->bytes);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Bytes of a text block (header, trailer) after its text that are not
 * zero. The format pads with zeros, and readers stop at the first zero, so
 * a damaged byte there changes no field and no data; verify still calls
 * the block damaged, since the tape no longer holds what was written.
 */
static size_t
pad_dirty(const uint8_t *buf, size_t len)
{
	const uint8_t *end = memchr(buf, 0, len);
	size_t n = 0;

	for (const uint8_t *p = end ? end : buf + len; p < buf + len; p++)
		n += *p != 0;
	return n;
}

/* Verify: the text block in sr->buf (got bytes) is zero after its text. */
static int
pad_check(struct eng_stream *sr, size_t got, const char *what, uint64_t file)
{
	size_t n;

	if (!sr->strict || !(n = pad_dirty(sr->buf, got)))
		return 0;
	eng_err(sr->err, "tape file %llu: %zu byte%s of the %s block after its "
	    "text %s not zero: the block is damaged (its fields are intact)",
	    (unsigned long long)file, n, n == 1 ? "" : "s", what,
	    n == 1 ? "is" : "are");
	return -EBADMSG;
}

/* Verify: read the trailer's text block again (at file) for pad_check. */
static int
trailer_pad_check(struct eng_stream *sr, uint64_t file)
{
	size_t got;
	int rc;

	if (!sr->strict)
		return 0;
	if ((rc = eng_goto_file(*sr->devp, file, sr->err)) < 0)
		return rc;
	if ((rc = eng_read_block(*sr->devp, sr->buf, sr->h.block_size, &got,
	    sr->err)) != 1)
		return rc < 0 ? rc : -EIO;
	return pad_check(sr, got < sr->t.size ? got : sr->t.size, "trailer",
	    file);
}

/*
 * The part's trailer file, after its data; for a part cut at physical end
 * (no trailer) the dump log's word. The last part's trailer proves the
 * stream's end. A trailer that is there but damaged is no cut part:
 * verify says so; a restore takes the log's word (the part's digest still
 * proves its bytes) and says that too.
 */
static int
part_trailer(struct eng_stream *sr, const struct eng_part_loc *loc)
{
	struct tsg_dev *dev = *sr->devp;
	struct tsg_status st;
	int sp = tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st), rc = -EIO;

	if (sp == 0)
		rc = eng_read_trailer(dev, sr->buf, sr->h.block_size, &sr->t,
		    &sr->table, sr->err);
	/* Something other than end of data where the trailer belongs. */
	bool damaged = sp == 0 && rc < 0 && rc != -ENODATA && !loc->no_trailer;
	if (rc == 0) {
		if (strcmp(sr->t.dump_id, sr->h.dump_id) != 0 ||
		    sr->t.part != sr->h.part) {
			eng_err(sr->err, "trailer after tape file %llu belongs to "
			    "another part", (unsigned long long)loc->file);
			return -EBADMSG;
		}
		sr->have_trailer = true;
		sr->meta_blocks += 1 + (sr->t.blocks * 4 + sr->h.block_size - 1) /
		    sr->h.block_size;
		if ((rc = trailer_pad_check(sr, loc->file + 1)) < 0)
			return rc;
	} else if (loc->known && damaged && sr->strict) {
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", sr->err);
		eng_err(sr->err, "tape file %llu, the trailer of part %u: %s "
		    "(the dump log has the part's digest: a restore still "
		    "proves its bytes)", (unsigned long long)loc->file + 1,
		    loc->part, why);
		return -EBADMSG;
	} else if (loc->known) {
		/* Cut at physical end: the log has the part's proof. */
		if (damaged)
			log_warn("tape file %llu, the trailer of part %u: %s; the "
			    "dump log's record of the part is used",
			    (unsigned long long)loc->file + 1, loc->part, sr->err);
		sr->log_proven++;
		memset(&sr->t, 0, sizeof(sr->t));
		snprintf(sr->t.digest, sizeof(sr->t.digest), "%s", sr->h.digest);
		sr->t.bytes = loc->bytes;
		sr->t.blocks = loc->blocks;
		snprintf(sr->t.part_digest, sizeof(sr->t.part_digest), "%s",
		    loc->digest);
	} else {
		if (tsg_is_eod(&st) || !sr->err[0])
			eng_err(sr->err, "tape file %llu has no trailer: the tape "
			    "ends inside this part (truncated, or the dump was "
			    "interrupted)", (unsigned long long)loc->file);
		return -EIO;
	}
	if (sr->have_trailer && sr->t.last) {
		sr->end_known = true;
		sr->want_bytes = sr->t.stream_bytes;
		sr->want_raw_bytes = sr->t.raw_bytes;
		snprintf(sr->want_digest, sizeof(sr->want_digest), "%s",
		    sr->t.stream_digest);
		snprintf(sr->want_raw_digest, sizeof(sr->want_raw_digest), "%s",
		    sr->t.raw_digest);
	}
	return 0;
}

/* With part 1: the stream's digests and decompressor. */
static int
stream_start(struct eng_stream *sr)
{
	sr->alg = (enum digest_alg)digest_alg_from_name(sr->h.digest);
	sr->sd = digest_new(sr->alg);
	if (strcmp(sr->h.compress, "zstd") == 0) {
		sr->rd = digest_new(sr->alg);
		sr->z = ZSTD_createDCtx();
		sr->zout = malloc(ZSTD_DStreamOutSize());
		if (!sr->rd || !sr->z || !sr->zout)
			return -ENOMEM;
	} else if (strcmp(sr->h.compress, "none") != 0) {
		eng_err(sr->err, "unknown compression %s", sr->h.compress);
		return -ENOTSUP;
	}
	return sr->sd ? 0 : -ENOMEM;
}

/* A part that could not be opened: its error names the cartridge. */
static int
open_failed(struct eng_stream *sr, int rc)
{
	const struct eng_part_loc *loc = &sr->parts[sr->cur];
	char why[ENG_ERRLEN], on[128];

	if (loc->label[0] && strstr(sr->err, loc->label))
		return rc;
	snprintf(why, sizeof(why), "%s", sr->err);
	eng_err(sr->err, "%s, tape file %llu: %s", part_on(sr, on, sizeof(on)),
	    (unsigned long long)loc->file, why);
	return rc;
}

int
eng_stream_open(struct eng_stream *sr, unsigned k)
{
	struct eng_part_loc *loc = &sr->parts[k];
	struct fmt_label l;
	size_t got;
	int rc;

	if ((rc = eng_stream_quiesce(sr)) < 0)
		return rc;
	part_reset(sr);
	sr->cur = k;
	sr->i = sr->part_bytes = 0;
	if (sr->range)
		sr->bytes = loc->offset;
	if (sr->chg && (rc = eng_changer_mount(sr->chg, loc->label,
	    loc->tape_id[0] ? loc->tape_id : NULL, sr->devp, &l, sr->err)) < 0)
		return rc;
	if ((rc = part_header(sr, loc)) < 0 || (rc = part_trailer(sr, loc)) < 0)
		return open_failed(sr, rc);
	/* Back to the first data block. */
	if ((rc = eng_goto_file(*sr->devp, loc->file, sr->err)) < 0)
		return open_failed(sr, rc);
	if ((rc = eng_read_block(*sr->devp, sr->buf, sr->h.block_size, &got,
	    sr->err)) != 1)
		return open_failed(sr, rc < 0 ? rc : -EIO);
	sr->meta_blocks++;
	if ((rc = pad_check(sr, got < sr->h.size ? got : sr->h.size,
	    "part header", loc->file)) < 0)
		return open_failed(sr, rc);
	if (!sr->sd && (rc = stream_start(sr)) < 0)
		return rc;
	sr->part_open = true;
	if (!(sr->pd = digest_new(sr->alg)))
		return -ENOMEM;
	sr->pd_is_sd = sr->bytes == 0;
	return 0;
}

/* The part's blocks are all read: check it against its trailer. */
static int
part_check(struct eng_stream *sr)
{
	char d[DIGEST_HEX_LEN];

	char on[128];

	if (sr->pd_is_sd && digest_copy(sr->pd, sr->sd) < 0)
		return -ENOMEM;
	digest_final_hex(sr->pd, d);
	if (sr->part_bytes != sr->t.bytes || sr->i != sr->t.blocks) {
		eng_err(sr->err, "%s (tape file %llu) has %llu bytes in %llu "
		    "blocks, its trailer says %llu in %llu",
		    part_on(sr, on, sizeof(on)),
		    (unsigned long long)sr->parts[sr->cur].file,
		    (unsigned long long)sr->part_bytes, (unsigned long long)sr->i,
		    (unsigned long long)sr->t.bytes,
		    (unsigned long long)sr->t.blocks);
		return -EBADMSG;
	}
	if (strcmp(d, sr->t.part_digest) != 0) {
		eng_err(sr->err, "%s (tape file %llu): part digest mismatch",
		    part_on(sr, on, sizeof(on)),
		    (unsigned long long)sr->parts[sr->cur].file);
		return -EBADMSG;
	}
	return 0;
}

/*
 * At the part's filemark: prove the part, then open the next one (found
 * by a scan if nothing says where it is). 1 when a part is open, 0 at the
 * stream's end.
 */
static int
next_part(struct eng_stream *sr)
{
	char on[128];
	int rc;

	if (sr->i != sr->t.blocks) {
		eng_err(sr->err, "tape file %llu (%s) ends after %llu blocks, the "
		    "trailer says %llu", (unsigned long long)sr->parts[sr->cur].file,
		    part_on(sr, on, sizeof(on)),
		    (unsigned long long)sr->i, (unsigned long long)sr->t.blocks);
		return -EBADMSG;
	}
	if (!sr->range && (rc = part_check(sr)) < 0)
		return rc;
	if (sr->have_trailer && sr->t.last)
		return 0;
	if (sr->range && sr->cur + 1 >= sr->nparts)
		return 0;
	if (sr->cur + 1 >= sr->nparts) {
		if (!sr->scan_more) {
			if (sr->end_known || sr->nparts == sr->cur + 1)
				return 0;
		}
		struct eng_part_loc *np = realloc(sr->parts,
		    (sr->nparts + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		sr->parts = np;
		if ((rc = scan_for_part(sr, sr->h.part + 1,
		    &sr->parts[sr->nparts])) < 0)
			return rc;
		sr->nparts++;
	}
	if ((rc = eng_stream_open(sr, sr->cur + 1)) < 0)
		return rc;
	return 1;
}

/* A data block read: check its CRC32C and count it. */
static int
take_block(struct eng_stream *sr, size_t len)
{
	char on[128];

	if (sr->i >= sr->t.blocks) {
		eng_err(sr->err, "tape file %llu (%s) has more blocks than its "
		    "trailer lists (%llu)",
		    (unsigned long long)sr->parts[sr->cur].file,
		    part_on(sr, on, sizeof(on)), (unsigned long long)sr->t.blocks);
		return -EBADMSG;
	}
	if (sr->table && crc32c(0, sr->blk, len) != sr->table[sr->i]) {
		eng_err(sr->err, "checksum mismatch in tape file %llu block %llu "
		    "(%s): the data on tape is damaged",
		    (unsigned long long)sr->parts[sr->cur].file,
		    (unsigned long long)sr->i + 1, part_on(sr, on, sizeof(on)));
		return -EBADMSG;
	}
	sr->i++;
	sr->blocks++;
	sr->read_bytes += len;
	sr->part_bytes += len;
	sr->bytes += len;
	if (!sr->range) {
		if (!sr->pd_is_sd)
			digest_update(sr->pd, sr->blk, len);
		digest_update(sr->sd, sr->blk, len);
	}
	return 1;
}

/* Bytes asked of read k of the plan: exact, full blocks, then the part's
   short last one (tgt reads across block boundaries otherwise). */
static size_t
plan_len(void *ctx, uint64_t k)
{
	struct eng_stream *sr = ctx;
	uint64_t i = sr->rq_base + k;
	size_t want = sr->h.block_size;

	if (i + 1 == sr->t.blocks)
		want = sr->t.bytes - (sr->t.blocks - 1) * sr->h.block_size;
	if (want == 0 || want > sr->h.block_size)
		want = sr->h.block_size;
	return want;
}

/*
 * The queue open on the drive and planned from block i: the part's blocks
 * left and the read that finds its filemark; a range read of a plain dump
 * only the blocks its span needs.
 */
static int
queue_ready(struct eng_stream *sr)
{
	struct tsg_dev *dev = *sr->devp;
	uint64_t count;
	int rc;

	if (sr->rq_planned)
		return 0;
	if (sr->rq && (sr->rq_dev != dev || tsg_read_queue_depth(sr->rq) == 0 ||
	    sr->rq_max < sr->h.block_size)) {
		if ((rc = eng_stream_quiesce(sr)) < 0)
			return rc;
		tsg_read_queue_close(sr->rq);
		sr->rq = NULL;
	}
	if (!sr->rq) {
		if ((rc = tsg_read_queue_open(dev, sr->queue, sr->h.block_size,
		    &sr->rq)) < 0) {
			eng_err(sr->err, "queued reads: %s", strerror(-rc));
			return rc;
		}
		sr->rq_dev = dev;
		sr->rq_max = sr->h.block_size;
	}
	count = sr->t.blocks > sr->i ? sr->t.blocks - sr->i + 1 : 1;
	if (sr->range && !sr->z && sr->raw_limit != UINT64_MAX &&
	    sr->raw_limit > sr->bytes) {
		uint64_t need = (sr->raw_limit - sr->bytes + sr->h.block_size - 1) /
		    sr->h.block_size;
		if (need < count)
			count = need;
	}
	sr->rq_base = sr->i;
	if ((rc = tsg_read_queue_plan(sr->rq, count, plan_len, sr)) < 0) {
		eng_err(sr->err, "queued reads: %s", strerror(-rc));
		return rc;
	}
	sr->rq_planned = true;
	return 0;
}

/* The next read of the queue, as eng_read_block answers: 1 a block at
   sr->blk, 0 a filemark, negative with sr->err. */
static int
queued_read(struct eng_stream *sr, size_t *got)
{
	struct tsg_status st;
	void *blk;
	int rc;

	*got = 0;
	for (;;) {
		if ((rc = queue_ready(sr)) < 0)
			return rc;
		rc = tsg_read_queue_next(sr->rq, &blk, &st);
		if (rc != -ENODATA)
			break;
		sr->rq_planned = false;	/* that plan is done: the next one */
	}
	if (rc == 0) {
		sr->blk = blk;
		*got = st.xfer;
		return 1;
	}
	sr->rq_planned = false;
	if (rc == TSG_CHECK && st.filemark)
		return 0;
	if (rc == TSG_CHECK && tsg_is_eod(&st)) {
		eng_err(sr->err, "end of data");
		return -ENODATA;
	}
	if (rc == TSG_CHECK && st.cat == TSG_CAT_NO_SENSE && st.ili) {
		eng_err(sr->err, "block larger than %u bytes", sr->h.block_size);
		return -EOVERFLOW;
	}
	eng_err_st(sr->err, "read", &st);
	return rc < 0 ? rc : -EIO;
}

int
eng_stream_block(struct eng_stream *sr, size_t *len)
{
	for (;;) {
		char on[128];
		int rc = queued_read(sr, len);
		if (rc == -ENODATA) {
			eng_err(sr->err, "tape file %llu (%s) ends after %llu of "
			    "%llu blocks: the tape is truncated or the write was "
			    "interrupted", (unsigned long long)sr->parts[sr->cur].file,
			    part_on(sr, on, sizeof(on)), (unsigned long long)sr->i,
			    (unsigned long long)sr->t.blocks);
			return rc;
		}
		if (rc < 0) {
			char why[ENG_ERRLEN];
			snprintf(why, sizeof(why), "%s", sr->err);
			eng_err(sr->err, "tape file %llu block %llu (%s): %s",
			    (unsigned long long)sr->parts[sr->cur].file,
			    (unsigned long long)sr->i + 1,
			    part_on(sr, on, sizeof(on)), why);
			return rc;
		}
		if (rc == 1) {
			/* A block that fails its check ends the stream there. */
			if ((rc = take_block(sr, *len)) < 0)
				quiesce_quiet(sr);
			return rc;
		}
		/* The part's filemark. */
		if ((rc = next_part(sr)) <= 0)
			return rc;
	}
}

/*
 * The next raw bytes of a range read into *p, *n (before the span's
 * start is dropped): 1, 0 at the end, -1 on error.
 */
static int
range_next(struct eng_stream *sr, const uint8_t **p, size_t *n)
{
	size_t len;
	int rc;

	for (;;) {
		if (sr->z && (sr->zmore || sr->zin.pos < sr->zin.size)) {
			ZSTD_outBuffer ob = { sr->zout, ZSTD_DStreamOutSize(), 0 };
			size_t r = ZSTD_decompressStream(sr->z, &ob, &sr->zin);
			if (ZSTD_isError(r)) {
				eng_err(sr->err, "zstd at stored byte %llu: %s",
				    (unsigned long long)sr->bytes,
				    ZSTD_getErrorName(r));
				sr->error = -EBADMSG;
				return -1;
			}
			sr->zmore = ob.pos == ob.size;
			if (ob.pos) {
				*p = sr->zout;
				*n = ob.pos;
				return 1;
			}
			continue;
		}
		if (sr->tape_done)
			return 0;
		rc = eng_stream_block(sr, &len);
		if (rc <= 0) {
			sr->tape_done = true;
			sr->error = rc;
			return rc < 0 ? -1 : 0;
		}
		const uint8_t *b = sr->blk;
		if (sr->stored_skip) {
			size_t k = sr->stored_skip < len ? (size_t)sr->stored_skip :
			    len;
			b += k;
			len -= k;
			sr->stored_skip -= k;
		}
		if (sr->z) {
			sr->zin = (ZSTD_inBuffer){ b, len, 0 };
			continue;
		}
		if (!len)
			continue;
		*p = b;
		*n = len;
		return 1;
	}
}

/* eng_stream_pull for a range read: the span [raw_from, raw_to) only. */
static long
range_pull(struct eng_stream *sr, const void **out)
{
	const uint8_t *p;
	size_t n;

	for (;;) {
		/* The span is whole: what was read ahead goes back. */
		if (sr->raw_pos >= sr->raw_limit) {
			if (eng_stream_quiesce(sr) < 0) {
				sr->error = -EIO;
				return -1;
			}
			return 0;
		}
		int rc = range_next(sr, &p, &n);
		if (rc <= 0)
			return rc;
		uint64_t drop = sr->raw_skip < n ? sr->raw_skip : n;
		sr->raw_skip -= drop;
		sr->raw_pos += drop;
		p += drop;
		n -= (size_t)drop;
		if (!n)
			continue;
		if (n > sr->raw_limit - sr->raw_pos)
			n = (size_t)(sr->raw_limit - sr->raw_pos);
		sr->raw_pos += n;
		sr->raw_bytes += n;
		*out = p;
		return (long)n;
	}
}

long
eng_stream_pull(void *ctx, const void **out)
{
	struct eng_stream *sr = ctx;
	size_t len;
	int rc;

	if (sr->error)
		return -1;
	if (sr->range)
		return range_pull(sr, out);
	if (!sr->z) {
		if (sr->tape_done)
			return 0;
		rc = eng_stream_block(sr, &len);
		if (rc <= 0) {
			sr->tape_done = true;
			sr->error = rc;
			return rc < 0 ? -1 : 0;
		}
		sr->raw_bytes += len;
		*out = sr->blk;
		return (long)len;
	}
	for (;;) {
		ZSTD_outBuffer ob = { sr->zout, ZSTD_DStreamOutSize(), 0 };
		if (sr->zin.pos < sr->zin.size || sr->tape_done) {
			size_t r = ZSTD_decompressStream(sr->z, &ob, &sr->zin);
			if (ZSTD_isError(r)) {
				eng_err(sr->err, "zstd: %s", ZSTD_getErrorName(r));
				sr->error = -EBADMSG;
				return -1;
			}
			if (ob.pos) {
				sr->raw_bytes += ob.pos;
				digest_update(sr->rd, sr->zout, ob.pos);
				*out = sr->zout;
				return (long)ob.pos;
			}
			if (sr->tape_done)
				return 0;
			if (sr->zin.pos < sr->zin.size)
				continue;
		}
		rc = eng_stream_block(sr, &len);
		if (rc < 0) {
			sr->error = rc;
			return -1;
		}
		if (rc == 0) {
			sr->tape_done = true;
			sr->zin = (ZSTD_inBuffer){ sr->blk, 0, 0 };
			continue;
		}
		sr->zin = (ZSTD_inBuffer){ sr->blk, len, 0 };
	}
}

int
eng_stream_check_end(struct eng_stream *sr)
{
	char d[DIGEST_HEX_LEN], raw[DIGEST_HEX_LEN];

	if (!sr->end_known) {
		eng_err(sr->err, "the stream's end cannot be proven (its last "
		    "trailer is lost and no dump log says)");
		return -EBADMSG;
	}
	digest_final_hex(sr->sd, d);
	if (sr->bytes != sr->want_bytes || strcmp(d, sr->want_digest) != 0) {
		eng_err(sr->err, "stream digest mismatch (%llu bytes read, %llu "
		    "expected)", (unsigned long long)sr->bytes,
		    (unsigned long long)sr->want_bytes);
		return -EBADMSG;
	}
	if (sr->rd) {
		digest_final_hex(sr->rd, raw);
		if (sr->raw_bytes != sr->want_raw_bytes ||
		    strcmp(raw, sr->want_raw_digest) != 0) {
			eng_err(sr->err, "source digest mismatch after decompression");
			return -EBADMSG;
		}
	}
	return 0;
}

void
eng_stream_free(struct eng_stream *sr)
{
	if (sr->rq) {
		quiesce_quiet(sr);
		tsg_read_queue_close(sr->rq);
		sr->rq = NULL;
	}
	part_reset(sr);
	digest_free(sr->sd);
	digest_free(sr->rd);
	ZSTD_freeDCtx(sr->z);
	free(sr->zout);
	free(sr->parts);
}

/* The newest complete dump of entity (dated date...) in the log. */
static int
newest_dump(FILE *fp, const char *entity, const char *date,
    struct cat_dl_rec *best)
{
	struct cat_dl_rec r;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_DUMP)
			continue;
		if (strcmp(r.entity, entity) != 0 ||
		    strcmp(r.status, "complete") != 0)
			continue;
		if (date && strncmp(r.date, date, strlen(date)) != 0)
			continue;
		if (!found || strcmp(r.date, best->date) >= 0)
			*best = r;
		found = 1;
	}
	free(line);
	return found;
}

/*
 * What a part line must hold for its numbers to be used (positions,
 * lengths): NULL, or why not. The dump line's ID is checked where it
 * names files (engine/chain.c); a part line's numbers place reads.
 */
static const char *
part_line_bad(const struct cat_dl_rec *r)
{
	uint64_t bs = r->block_size;

	size_t n = strlen(r->label);

	/* The label is shown to the operator and asked of the changer. */
	if (!n || n > 63)
		return "its label is empty or longer than 63 bytes";
	for (const char *c = r->label; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '%' ||
		    *c == '=' || *c == '|')
			return "its label holds a blank, a control byte, '%', '=' "
			    "or '|'";
	if (r->tape_id[0] && strcmp(r->tape_id, "-") != 0 &&
	    (strlen(r->tape_id) != 32 ||
	    strspn(r->tape_id, "0123456789abcdef") != 32))
		return "its tape ID is not 32 hex digits";
	if (r->file < 1)
		return "file=0 is the label, not a part";
	if (bs && (bs < (64u << 10) || bs > (8u << 20)))
		return "block_size is not 64 KiB..8 MiB";
	if (r->offset > (uint64_t)INT64_MAX - r->bytes)
		return "offset plus bytes overflow";
	if (bs && (r->blocks > (uint64_t)INT64_MAX / bs ||
	    r->bytes > r->blocks * bs ||
	    (r->blocks && r->bytes <= (r->blocks - 1) * bs)))
		return "bytes do not fill its blocks";
	if (r->part == 1 && r->offset != 0)
		return "part 1 does not start at 0";
	return NULL;
}

/* The log's part lines of dump best: where each part is, and its proof. */
static int
log_parts(FILE *fp, struct eng_stream *sr, const struct cat_dl_rec *best)
{
	struct cat_dl_rec r;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	const char *bad;

	/* Parts count as a dump line says: bounded by its bytes (a part is
	   at least a block of 64 KiB, the last may be short). */
	if (best->part > best->bytes / (64u << 10) + 1) {
		eng_err(sr->err, "dump %s: its dump line says %u parts for %llu "
		    "bytes: refused", best->dump_id, best->part,
		    (unsigned long long)best->bytes);
		return -EBADMSG;
	}
	sr->parts = calloc(best->part ? best->part : 1, sizeof(*sr->parts));
	if (!sr->parts)
		return -ENOMEM;
	sr->nparts = best->part;
	rewind(fp);
	while (getline(&line, &cap, fp) > 0) {
		lineno++;
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_PART ||
		    strcmp(r.dump_id, best->dump_id) != 0)
			continue;
		if (r.part < 1 || r.part > sr->nparts)
			bad = "its part number is not one of the dump's";
		else
			bad = part_line_bad(&r);
		if (bad) {
			eng_err(sr->err, "dump log line %lu, a part line of dump "
			    "%s: %s; refused", lineno, best->dump_id, bad);
			free(line);
			return -EBADMSG;
		}
		struct eng_part_loc *p = &sr->parts[r.part - 1];
		snprintf(p->label, sizeof(p->label), "%s", r.label);
		snprintf(p->tape_id, sizeof(p->tape_id), "%s", r.tape_id);
		p->file = r.file;
		p->part = r.part;
		p->offset = r.offset;
		p->block_size = r.block_size;
		if (r.block_size)
			sr->bs_hint = r.block_size;
		p->bytes = r.bytes;
		p->blocks = r.blocks;
		snprintf(p->digest, sizeof(p->digest), "%s", r.digest);
		p->known = true;
		p->no_trailer = strcmp(r.status, "no-trailer") == 0;
	}
	free(line);
	return 0;
}

/* -EIO if the log says a cartridge holding one of the parts went bad. */
static int
bad_cartridges(FILE *fp, struct eng_stream *sr)
{
	struct cat_dl_rec r;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	rewind(fp);
	while (rc == 0 && getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_BAD)
			continue;
		for (unsigned i = 0; i < sr->nparts; i++)
			if (strcmp(sr->parts[i].tape_id, r.tape_id) == 0) {
				eng_err(sr->err, "part %u is on cartridge %s, which "
				    "was taken out of use", i + 1, r.label);
				rc = -EIO;
				break;
			}
	}
	free(line);
	return rc;
}

/* The parts of dump best from the open log fp, checked; fp is closed. */
static int
parts_of(struct eng_stream *sr, FILE *fp, const struct cat_dl_rec *best,
    const char *log)
{
	int rc;

	/* Its parts, and no cartridge the log says went bad. */
	rc = log_parts(fp, sr, best);
	if (rc == 0)
		rc = bad_cartridges(fp, sr);
	fclose(fp);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < sr->nparts; i++)
		if (!sr->parts[i].known) {
			eng_err(sr->err, "no part %u of dump %s in %s", i + 1,
			    best->dump_id, log);
			return -EBADMSG;
		}
	/* The parts follow each other and end where the dump does. */
	for (unsigned i = 1; i < sr->nparts; i++)
		if (sr->parts[i].offset != sr->parts[i - 1].offset +
		    sr->parts[i - 1].bytes) {
			eng_err(sr->err, "dump %s: part %u starts at stored byte "
			    "%llu, part %u ends at %llu: the dump log's part lines "
			    "do not fit; refused", best->dump_id, i + 1,
			    (unsigned long long)sr->parts[i].offset, i,
			    (unsigned long long)(sr->parts[i - 1].offset +
			    sr->parts[i - 1].bytes));
			return -EBADMSG;
		}
	if (sr->nparts && best->bytes && sr->parts[sr->nparts - 1].offset +
	    sr->parts[sr->nparts - 1].bytes != best->bytes) {
		eng_err(sr->err, "dump %s: its parts end at stored byte %llu, its "
		    "dump line says %llu bytes; refused", best->dump_id,
		    (unsigned long long)(sr->parts[sr->nparts - 1].offset +
		    sr->parts[sr->nparts - 1].bytes),
		    (unsigned long long)best->bytes);
		return -EBADMSG;
	}
	snprintf(sr->dump_id, sizeof(sr->dump_id), "%s", best->dump_id);
	/* (A restore job's log from an abs-ctld before chains says no
	   date, level or base.) */
	sr->log_said = best->date[0] && strcmp(best->date, "-") != 0;
	sr->log_level = best->level;
	snprintf(sr->log_base, sizeof(sr->log_base), "%s",
	    strcmp(best->base, "-") != 0 ? best->base : "");
	/* The log proves the end even if the last trailer is lost. */
	sr->end_known = true;
	sr->want_bytes = best->bytes;
	sr->want_raw_bytes = best->raw_bytes;
	snprintf(sr->want_digest, sizeof(sr->want_digest), "%s", best->digest);
	snprintf(sr->want_raw_digest, sizeof(sr->want_raw_digest), "%s",
	    best->raw_digest);
	return 0;
}

int
eng_stream_from_log(struct eng_stream *sr, const char *log,
    const char *entity, const char *date)
{
	FILE *fp = fopen(log, "r");
	struct cat_dl_rec best;

	if (!fp) {
		eng_err(sr->err, "dump log %s: %s", log, strerror(errno));
		return -errno;
	}
	if (!newest_dump(fp, entity, date, &best)) {
		eng_err(sr->err, "no complete dump of %s%s%s in %s", entity,
		    date ? " dated " : "", date ? date : "", log);
		fclose(fp);
		return -ENOENT;
	}
	return parts_of(sr, fp, &best, log);
}

int
eng_stream_from_log_id(struct eng_stream *sr, const char *log,
    const char *dump_id)
{
	FILE *fp = fopen(log, "r");
	struct cat_dl_rec r, best;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!fp) {
		eng_err(sr->err, "dump log %s: %s", log, strerror(errno));
		return -errno;
	}
	while (!found && getline(&line, &cap, fp) > 0)
		if (cat_dl_parse(line, &r) == 0 && r.type == CAT_DL_DUMP &&
		    strcmp(r.dump_id, dump_id) == 0 &&
		    strcmp(r.status, "complete") == 0) {
			best = r;
			found = true;
		}
	free(line);
	if (!found) {
		eng_err(sr->err, "dump %s has no complete record in %s", dump_id,
		    log);
		fclose(fp);
		return -ENOENT;
	}
	return parts_of(sr, fp, &best, log);
}

int
eng_stream_range(struct eng_stream *sr, uint64_t stored, uint64_t raw_at,
    uint64_t raw_from, uint64_t raw_to)
{
	struct eng_part_loc *loc;
	struct tsg_status st;
	struct fmt_label l;
	unsigned k;
	int rc;

	for (k = 0; k < sr->nparts; k++)
		if (sr->parts[k].known && stored >= sr->parts[k].offset &&
		    stored - sr->parts[k].offset < sr->parts[k].bytes)
			break;
	if (k == sr->nparts || raw_from < raw_at || raw_to < raw_from) {
		eng_err(sr->err, "dump %s: stored byte %llu (raw %llu..%llu) is "
		    "in none of its parts", sr->dump_id, (unsigned long long)stored,
		    (unsigned long long)raw_from, (unsigned long long)raw_to);
		return -ERANGE;
	}
	loc = &sr->parts[k];
	if ((rc = eng_stream_quiesce(sr)) < 0)
		return rc;
	sr->range = true;
	sr->error = 0;
	if (!sr->part_open || sr->cur != k) {
		part_reset(sr);
		sr->cur = k;
		sr->bytes = loc->offset;
		if (sr->chg && (rc = eng_changer_mount(sr->chg, loc->label,
		    loc->tape_id[0] ? loc->tape_id : NULL, sr->devp, &l,
		    sr->err)) < 0)
			return rc;
		if ((rc = part_header(sr, loc)) < 0 ||
		    (rc = part_trailer(sr, loc)) < 0)
			return open_failed(sr, rc);
		if (!sr->sd && (rc = stream_start(sr)) < 0)
			return rc;
		if (!(sr->pd = digest_new(sr->alg)))
			return -ENOMEM;
		sr->part_open = true;
	}
	uint64_t bs = sr->h.block_size, blk = (stored - loc->offset) / bs;
	if (blk >= sr->t.blocks || blk > INT32_MAX - 1) {
		eng_err(sr->err, "dump %s: stored byte %llu is past the %llu "
		    "blocks of part %u", sr->dump_id, (unsigned long long)stored,
		    (unsigned long long)sr->t.blocks, loc->part);
		return -ERANGE;
	}
	/* LOCATE to the block where the drive has it, else SPACE to it. */
	sr->positionings++;
	if (!loc->lon_known || tsg_locate(*sr->devp, loc->lon + 1 + blk, &st)) {
		if ((rc = eng_goto_file(*sr->devp, loc->file, sr->err)) < 0)
			return open_failed(sr, rc);
		if (tsg_space(*sr->devp, TSG_SPACE_BLOCKS, (int32_t)(1 + blk),
		    &st)) {
			eng_err_st(sr->err, "space to the block", &st);
			return open_failed(sr, -EIO);
		}
	}
	sr->i = blk;
	sr->part_bytes = blk * bs;
	sr->bytes = loc->offset + blk * bs;
	sr->stored_skip = stored - sr->bytes;
	sr->raw_pos = raw_at;
	sr->raw_skip = raw_from - raw_at;
	sr->raw_limit = raw_to;
	sr->tape_done = false;
	if (sr->z) {
		ZSTD_DCtx_reset(sr->z, ZSTD_reset_session_only);
		sr->zin = (ZSTD_inBuffer){ NULL, 0, 0 };
		sr->zmore = false;
	}
	return 0;
}
