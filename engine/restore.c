/* list, restore and verify: read parts back and prove them by checksum. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "catalog/dumplog.h"
#include "common/crc32c.h"
#include "common/digest.h"
#include "common/util.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/source.h"
#include "engine/tape.h"

/* Where one part of a dump is, from the dump log or a header scan. */
struct part_loc {
	char label[64];
	char tape_id[33];
	uint64_t file;
	uint32_t part;
	uint64_t bytes, blocks;	/* from the dump log, for a lost trailer */
	char digest[65];
	bool known;
};

/*
 * Reads a dump's stream back part after part, cartridge after cartridge,
 * and checks every block's CRC32C before its bytes are used, every part's
 * counts and digest at its end, and the stream's digests at the end.
 */
struct stream_reader {
	struct tsg_dev **devp;
	struct eng_changer *chg;	/* NULL: only the tape in the drive */
	uint8_t *buf;
	char *err;
	char dump_id[33];
	struct part_loc *parts;
	unsigned nparts, cur;
	bool scan_more;		/* parts beyond nparts may exist (no log) */
	uint32_t bs_hint;	/* block size to try first (label or log) */
	/* the current part */
	struct fmt_header h;
	struct fmt_trailer t;
	bool have_trailer;
	uint32_t *table;
	uint64_t i, part_bytes;
	struct digest *pd;
	/* the stream */
	enum digest_alg alg;
	struct digest *sd, *rd;
	ZSTD_DCtx *z;
	uint8_t *zout;
	ZSTD_inBuffer zin;
	bool tape_done, done;
	uint64_t bytes, raw_bytes, blocks;
	bool end_known;		/* the last part's trailer (or the log) said */
	uint64_t want_bytes, want_raw_bytes;
	char want_digest[65], want_raw_digest[65];
	int error;
};

/* Read and parse the header block at the current position. */
static int
read_header(struct tsg_dev *dev, uint8_t *buf, size_t hint,
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
	else if (got != h->block_size) {
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

/* Free what belongs to the current part. */
static void
part_reset(struct stream_reader *sr)
{
	free(sr->table);
	sr->table = NULL;
	digest_free(sr->pd);
	sr->pd = NULL;
	sr->have_trailer = false;
}

/* Find the cartridge and tape file of part n when no log says (a scan). */
static int
scan_for_part(struct stream_reader *sr, uint32_t n, struct part_loc *loc)
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

/*
 * Open part index k: get its cartridge into the drive, read its header and
 * trailer (or take the dump log's word for a part cut at physical end),
 * and stand at its first data block.
 */
static int
part_open(struct stream_reader *sr, unsigned k)
{
	struct part_loc *loc = &sr->parts[k];
	struct tsg_status st;
	struct fmt_label l;
	size_t got;
	int rc;

	part_reset(sr);
	sr->cur = k;
	sr->i = sr->part_bytes = 0;
	if (sr->chg && (rc = eng_changer_mount(sr->chg, loc->label,
	    loc->tape_id[0] ? loc->tape_id : NULL, sr->devp, &l, sr->err)) < 0)
		return rc;
	struct tsg_dev *dev = *sr->devp;
	if ((rc = eng_goto_file(dev, loc->file, sr->err)) < 0 ||
	    (rc = read_header(dev, sr->buf, sr->bs_hint, &sr->h, loc->file,
	    sr->err)) < 0)
		return rc;
	if (sr->dump_id[0] && strcmp(sr->h.dump_id, sr->dump_id) != 0) {
		eng_err(sr->err, "tape file %llu on %s belongs to another dump",
		    (unsigned long long)loc->file, loc->label);
		return -EBADMSG;
	}
	snprintf(sr->dump_id, sizeof(sr->dump_id), "%s", sr->h.dump_id);
	if (sr->h.part != loc->part || sr->h.offset != sr->bytes) {
		eng_err(sr->err, "tape file %llu on %s is part %u at stream byte "
		    "%llu; expected part %u at %llu", (unsigned long long)loc->file,
		    loc->label, sr->h.part, (unsigned long long)sr->h.offset,
		    loc->part, (unsigned long long)sr->bytes);
		return -EBADMSG;
	}
	if (tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st) == 0 &&
	    eng_read_trailer(dev, sr->buf, sr->h.block_size, &sr->t, &sr->table,
	    sr->err) == 0) {
		if (strcmp(sr->t.dump_id, sr->h.dump_id) != 0 ||
		    sr->t.part != sr->h.part) {
			eng_err(sr->err, "trailer after tape file %llu belongs to "
			    "another part", (unsigned long long)loc->file);
			return -EBADMSG;
		}
		sr->have_trailer = true;
	} else if (loc->known) {
		/* Cut at physical end: the log has the part's proof. */
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
	/* Back to the first data block. */
	if ((rc = eng_goto_file(dev, loc->file, sr->err)) < 0)
		return rc;
	if ((rc = eng_read_block(dev, sr->buf, sr->h.block_size, &got,
	    sr->err)) != 1)
		return rc < 0 ? rc : -EIO;
	if (k == 0) {
		int alg = digest_alg_from_name(sr->h.digest);
		sr->alg = (enum digest_alg)alg;
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
		if (!sr->sd)
			return -ENOMEM;
	}
	if (!(sr->pd = digest_new(sr->alg)))
		return -ENOMEM;
	return 0;
}

/* The part's blocks are all read: check it against its trailer. */
static int
part_check(struct stream_reader *sr)
{
	char d[DIGEST_HEX_LEN];

	digest_final_hex(sr->pd, d);
	if (sr->part_bytes != sr->t.bytes || sr->i != sr->t.blocks) {
		eng_err(sr->err, "part %u has %llu bytes in %llu blocks, its "
		    "trailer says %llu in %llu", sr->h.part,
		    (unsigned long long)sr->part_bytes, (unsigned long long)sr->i,
		    (unsigned long long)sr->t.bytes,
		    (unsigned long long)sr->t.blocks);
		return -EBADMSG;
	}
	if (strcmp(d, sr->t.part_digest) != 0) {
		eng_err(sr->err, "part %u digest mismatch", sr->h.part);
		return -EBADMSG;
	}
	return 0;
}

/* Next verified tape block into sr->buf; 1, 0 at the stream's end. */
static int
sr_block(struct stream_reader *sr, size_t *len)
{
	for (;;) {
		/* Exact lengths: full blocks, then the part's short last one. */
		size_t want = sr->h.block_size;
		if (sr->i + 1 == sr->t.blocks)
			want = sr->t.bytes - (sr->t.blocks - 1) * sr->h.block_size;
		if (want == 0 || want > sr->h.block_size)
			want = sr->h.block_size;
		int rc = eng_read_block(*sr->devp, sr->buf, want, len, sr->err);
		if (rc == -ENODATA) {
			eng_err(sr->err, "tape file %llu on %s ends after %llu of %llu "
			    "blocks: the tape is truncated or the write was "
			    "interrupted", (unsigned long long)sr->parts[sr->cur].file,
			    sr->parts[sr->cur].label, (unsigned long long)sr->i,
			    (unsigned long long)sr->t.blocks);
			return rc;
		}
		if (rc < 0) {
			char why[ENG_ERRLEN];
			snprintf(why, sizeof(why), "%s", sr->err);
			eng_err(sr->err, "tape file %llu block %llu: %s",
			    (unsigned long long)sr->parts[sr->cur].file,
			    (unsigned long long)sr->i + 1, why);
			return rc;
		}
		if (rc == 1) {
			if (sr->i >= sr->t.blocks) {
				eng_err(sr->err, "tape file %llu has more blocks than "
				    "its trailer lists (%llu)",
				    (unsigned long long)sr->parts[sr->cur].file,
				    (unsigned long long)sr->t.blocks);
				return -EBADMSG;
			}
			if (sr->table &&
			    crc32c(0, sr->buf, *len) != sr->table[sr->i]) {
				eng_err(sr->err, "checksum mismatch in tape file %llu "
				    "block %llu: the data on tape is damaged",
				    (unsigned long long)sr->parts[sr->cur].file,
				    (unsigned long long)sr->i + 1);
				return -EBADMSG;
			}
			sr->i++;
			sr->blocks++;
			sr->part_bytes += *len;
			sr->bytes += *len;
			digest_update(sr->pd, sr->buf, *len);
			digest_update(sr->sd, sr->buf, *len);
			return 1;
		}
		/* The part's filemark. */
		if (sr->i != sr->t.blocks) {
			eng_err(sr->err, "tape file %llu ends after %llu blocks, the "
			    "trailer says %llu",
			    (unsigned long long)sr->parts[sr->cur].file,
			    (unsigned long long)sr->i,
			    (unsigned long long)sr->t.blocks);
			return -EBADMSG;
		}
		if ((rc = part_check(sr)) < 0)
			return rc;
		if (sr->have_trailer && sr->t.last)
			return 0;
		if (sr->cur + 1 >= sr->nparts) {
			if (!sr->scan_more) {
				if (sr->end_known || sr->nparts == sr->cur + 1)
					return 0;
			}
			struct part_loc *np = realloc(sr->parts,
			    (sr->nparts + 1) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			sr->parts = np;
			if ((rc = scan_for_part(sr, sr->h.part + 1,
			    &sr->parts[sr->nparts])) < 0)
				return rc;
			sr->nparts++;
		}
		if ((rc = part_open(sr, sr->cur + 1)) < 0)
			return rc;
	}
}

/* Pull the next chunk of the restored (decompressed) stream. */
static long
sr_pull(void *ctx, const void **out)
{
	struct stream_reader *sr = ctx;
	size_t len;
	int rc;

	if (sr->error)
		return -1;
	if (!sr->z) {
		if (sr->tape_done)
			return 0;
		rc = sr_block(sr, &len);
		if (rc <= 0) {
			sr->tape_done = true;
			sr->error = rc;
			return rc < 0 ? -1 : 0;
		}
		sr->raw_bytes += len;
		*out = sr->buf;
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
		rc = sr_block(sr, &len);
		if (rc < 0) {
			sr->error = rc;
			return -1;
		}
		if (rc == 0) {
			sr->tape_done = true;
			sr->zin = (ZSTD_inBuffer){ sr->buf, 0, 0 };
			continue;
		}
		sr->zin = (ZSTD_inBuffer){ sr->buf, len, 0 };
	}
}

/* At the end of the stream: its length and digests. */
static int
sr_check_end(struct stream_reader *sr)
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

static void
sr_free(struct stream_reader *sr)
{
	part_reset(sr);
	digest_free(sr->sd);
	digest_free(sr->rd);
	ZSTD_freeDCtx(sr->z);
	free(sr->zout);
	free(sr->parts);
}

/* Find the newest complete dump of entity in the dump log, and its parts. */
static int
find_in_log(const struct eng_restore_opts *o, struct stream_reader *sr,
    char *err)
{
	FILE *fp = fopen(o->log, "r");
	struct cat_dl_rec r, best;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!fp) {
		eng_err(err, "dump log %s: %s", o->log, strerror(errno));
		return -errno;
	}
	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_DUMP)
			continue;
		if (strcmp(r.entity, o->entity) != 0 ||
		    strcmp(r.status, "complete") != 0)
			continue;
		if (o->date && strncmp(r.date, o->date, strlen(o->date)) != 0)
			continue;
		if (!found || strcmp(r.date, best.date) >= 0)
			best = r;
		found = 1;
	}
	if (!found) {
		eng_err(err, "no complete dump of %s%s%s in %s", o->entity,
		    o->date ? " dated " : "", o->date ? o->date : "", o->log);
		free(line);
		fclose(fp);
		return -ENOENT;
	}
	/* Its parts, and no cartridge the log says went bad. */
	sr->parts = calloc(best.part ? best.part : 1, sizeof(*sr->parts));
	if (!sr->parts) {
		free(line);
		fclose(fp);
		return -ENOMEM;
	}
	sr->nparts = best.part;
	rewind(fp);
	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0)
			continue;
		if (r.type == CAT_DL_PART && strcmp(r.dump_id, best.dump_id) == 0 &&
		    r.part >= 1 && r.part <= sr->nparts) {
			struct part_loc *p = &sr->parts[r.part - 1];
			snprintf(p->label, sizeof(p->label), "%s", r.label);
			snprintf(p->tape_id, sizeof(p->tape_id), "%s", r.tape_id);
			p->file = r.file;
			p->part = r.part;
			if (r.block_size)
				sr->bs_hint = r.block_size;
			p->bytes = r.bytes;
			p->blocks = r.blocks;
			snprintf(p->digest, sizeof(p->digest), "%s", r.digest);
			p->known = true;
		}
	}
	rewind(fp);
	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_BAD)
			continue;
		for (unsigned i = 0; i < sr->nparts; i++)
			if (strcmp(sr->parts[i].tape_id, r.tape_id) == 0) {
				eng_err(err, "part %u is on cartridge %s, which was "
				    "taken out of use", i + 1, r.label);
				free(line);
				fclose(fp);
				return -EIO;
			}
	}
	free(line);
	fclose(fp);
	for (unsigned i = 0; i < sr->nparts; i++)
		if (!sr->parts[i].known) {
			eng_err(err, "the dump log lacks part %u of dump %s", i + 1,
			    best.dump_id);
			return -EBADMSG;
		}
	snprintf(sr->dump_id, sizeof(sr->dump_id), "%s", best.dump_id);
	/* The log proves the end even if the last trailer is lost. */
	sr->end_known = true;
	sr->want_bytes = best.bytes;
	sr->want_raw_bytes = best.raw_bytes;
	snprintf(sr->want_digest, sizeof(sr->want_digest), "%s", best.digest);
	snprintf(sr->want_raw_digest, sizeof(sr->want_raw_digest), "%s",
	    best.raw_digest);
	return 0;
}

/* Scan the tape's headers for the newest part 1 of entity. */
static int
find_on_tape(struct tsg_dev *dev, const struct eng_restore_opts *o,
    uint8_t *buf, size_t hint, uint64_t *file, char *err)
{
	struct fmt_header h;
	char best_date[32] = "";
	uint64_t n;
	int rc, found = 0;

	if ((rc = eng_goto_file(dev, 1, err)) < 0)
		return rc;
	for (n = 1;; n++) {
		struct tsg_status st;
		size_t got;
		rc = eng_read_guess(dev, buf, hint, FMT_MAX_BLOCK, &got, err);
		if (rc == -ENODATA)
			break;
		if (rc == 1 && fmt_header_parse(buf, got, &h) == 0 &&
		    strcmp(h.entity, o->entity) == 0 && h.part == 1 &&
		    (!o->date || strncmp(h.dump_date, o->date,
		    strlen(o->date)) == 0) && strcmp(h.dump_date, best_date) >= 0) {
			snprintf(best_date, sizeof(best_date), "%s", h.dump_date);
			*file = n;
			found = 1;
		}
		if (rc == 0)
			continue;	/* empty file: already past its filemark */
		if (tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st)) {
			if (tsg_is_eod(&st))
				break;
			eng_err_st(err, "space to next file", &st);
			return -EIO;
		}
	}
	if (!found) {
		eng_err(err, "no dump of %s%s%s on this tape", o->entity,
		    o->date ? " dated " : "", o->date ? o->date : "");
		return -ENOENT;
	}
	return 0;
}

int
eng_restore(const struct eng_restore_opts *o, struct eng_restore_result *res,
    char *err)
{
	struct stream_reader sr;
	struct eng_changer_opts co = { .uri = o->device,
	    .mount_timeout = o->mount_timeout, .hooks = o->hooks };
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	double t0 = eng_now();
	int rc, outfd = -1;

	memset(res, 0, sizeof(*res));
	memset(&sr, 0, sizeof(sr));
	if (!o->to_stdout && !o->to && !o->verify_only) {
		eng_err(err, "say where to: --to PATH or --stdout");
		return -EINVAL;
	}
	sr.devp = &dev;
	sr.err = err;
	sr.bs_hint = FMT_DEFAULT_BLOCK;
	sr.buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	if (!sr.buf)
		return -ENOMEM;
	if ((rc = eng_changer_new(&co, &sr.chg)) < 0)
		goto out;
	memset(&l, 0, sizeof(l));
	rc = eng_open(o->device, &dev, err);
	/*
	 * A library's drive may be empty, and a media server's: the changer
	 * or the operator brings what the dump log names.
	 */
	bool fetch = o->log && (eng_changer_is_library(sr.chg) || o->hooks);
	if (rc < 0 && !fetch)
		goto out;
	if (dev && (rc = eng_read_label(dev, &l, err)) < 0 && !fetch)
		goto out;
	err[0] = '\0';
	if (l.block_size)
		sr.bs_hint = l.block_size;
	if (o->expect_label && strcmp(o->expect_label, l.label)) {
		eng_err(err, "wrong tape: %s is in the drive, %s was asked for",
		    l.label, o->expect_label);
		rc = -EMEDIUMTYPE;
		goto out;
	}
	if (o->log && o->file < 0) {
		if ((rc = find_in_log(o, &sr, err)) < 0)
			goto out;
		/* Another cartridge, and nobody to fetch it: say which. */
		if (!eng_changer_is_library(sr.chg) && o->no_wait &&
		    strcmp(sr.parts[0].tape_id, l.tape_id) != 0) {
			eng_err(err, "the dump of %s starts on tape %s; %s is in the "
			    "drive: mount %s", o->entity, sr.parts[0].label, l.label,
			    sr.parts[0].label);
			rc = -EMEDIUMTYPE;
			goto out;
		}
	} else {
		uint64_t file = 0;
		if (o->file >= 0)
			file = (uint64_t)o->file;
		else if ((rc = find_on_tape(dev, o, sr.buf, l.block_size, &file,
		    err)) < 0)
			goto out;
		if (!(sr.parts = calloc(1, sizeof(*sr.parts)))) {
			rc = -ENOMEM;
			goto out;
		}
		sr.nparts = 1;
		sr.scan_more = true;
		snprintf(sr.parts[0].label, sizeof(sr.parts[0].label), "%s", l.label);
		snprintf(sr.parts[0].tape_id, sizeof(sr.parts[0].tape_id), "%s",
		    l.tape_id);
		sr.parts[0].file = file;
		sr.parts[0].part = 1;
	}
	if ((rc = part_open(&sr, 0)) < 0)
		goto out;
	if (o->entity && strcmp(sr.h.entity, o->entity) != 0) {
		eng_err(err, "tape file %llu holds %s, not %s",
		    (unsigned long long)sr.parts[0].file, sr.h.entity, o->entity);
		rc = -ENOENT;
		goto out;
	}
	snprintf(res->source_kind, sizeof(res->source_kind), "%s",
	    sr.h.source_kind);
	if (o->verify_only) {
		const void *p;
		long n;
		while ((n = sr_pull(&sr, &p)) > 0)
			;
		rc = n < 0 ? (sr.error ? sr.error : -EIO) : 0;
	} else if (strcmp(sr.h.source_kind, "dir") == 0 && !o->to_stdout) {
		rc = eng_extract(o->to, sr_pull, &sr, err);
		/* Drain to the end so every block and digest is checked. */
		const void *p;
		while (rc == 0 && sr_pull(&sr, &p) > 0)
			;
		if (!rc && sr.error)
			rc = sr.error;
	} else {
		outfd = o->to_stdout ? 1 : open(o->to, O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0600);
		if (outfd < 0) {
			eng_err(err, "%s: %s", o->to, strerror(errno));
			rc = -errno;
			goto out;
		}
		const void *p;
		long n;
		while ((n = sr_pull(&sr, &p)) > 0) {
			if ((rc = util_write_all(outfd, p, (size_t)n)) < 0) {
				eng_err(err, "writing the restored data: %s",
				    strerror(-rc));
				goto out;
			}
		}
		rc = n < 0 ? (sr.error ? sr.error : -EIO) : 0;
	}
	if (rc == 0)
		rc = sr_check_end(&sr);
	res->bytes = sr.bytes;
	res->raw_bytes = sr.rd ? sr.raw_bytes : sr.bytes;
	res->blocks = sr.blocks;
	res->file = sr.parts[0].file;
	res->parts = sr.cur + 1;
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", sr.h.dump_id);
out:
	if (outfd > 1 && close(outfd) < 0 && rc == 0) {
		eng_err(err, "%s: %s", o->to, strerror(errno));
		rc = -errno;
	}
	res->seconds = eng_now() - t0;
	sr_free(&sr);
	free(sr.buf);
	eng_changer_free(sr.chg);
	tsg_free(dev);
	return rc;
}

/* Verify one part whose header is tape file `file`; prints one line. */
static int
verify_part(struct tsg_dev *dev, uint64_t file, uint8_t *buf, size_t hint,
    FILE *out, char *err)
{
	struct stream_reader sr;
	struct part_loc loc = { .file = file };
	size_t len;
	int rc;

	/* One part on its own: the reader starts at its offset, ends with it. */
	memset(&sr, 0, sizeof(sr));
	sr.devp = &dev;
	sr.buf = buf;
	sr.err = err;
	sr.parts = &loc;
	sr.nparts = 1;
	sr.bs_hint = hint;
	if ((rc = eng_goto_file(dev, file, err)) == 0 &&
	    (rc = read_header(dev, buf, hint, &sr.h, file, err)) == 0) {
		loc.part = sr.h.part;
		sr.bytes = sr.h.offset;
		rc = part_open(&sr, 0);
	}
	while (rc == 0 && (rc = sr_block(&sr, &len)) == 1)
		rc = 0;
	if (rc == 0)
		fprintf(out, "file %-4llu %-24s part %u: OK, %llu blocks, %llu "
		    "bytes, %s %.16s\n", (unsigned long long)file,
		    sr.h.entity, sr.h.part, (unsigned long long)sr.i,
		    (unsigned long long)sr.part_bytes, sr.t.digest,
		    sr.t.part_digest);
	else
		fprintf(out, "file %-4llu %-24s BAD: %s\n", (unsigned long long)file,
		    sr.h.entity[0] ? sr.h.entity : "?", err);
	sr.parts = NULL;
	sr_free(&sr);
	return rc;
}

int
eng_verify(const char *device, int64_t file, FILE *out, char *err)
{
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	uint8_t *buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	int rc, bad = 0, parts = 0;

	if (!buf)
		return -ENOMEM;
	if ((rc = eng_open(device, &dev, err)) < 0 ||
	    (rc = eng_read_label(dev, &l, err)) < 0)
		goto out;
	fprintf(out, "verifying tape %s (ID %s)\n", l.label, l.tape_id);
	if (file >= 0) {
		rc = verify_part(dev, (uint64_t)file, buf, l.block_size, out, err);
		goto out;
	}
	/* Every file that starts with a part header. */
	for (uint64_t n = 1;; n++) {
		struct fmt_header h;
		size_t got;
		char e2[ENG_ERRLEN];
		if ((rc = eng_goto_file(dev, n, e2)) < 0)
			break;
		rc = eng_read_guess(dev, buf, l.block_size, FMT_MAX_BLOCK, &got, e2);
		if (rc == -ENODATA)
			break;
		if (rc == 1 && fmt_kind_of(buf, got) == FMT_TRAILER)
			continue;
		if (rc != 1 || fmt_header_parse(buf, got, &h) < 0) {
			fprintf(out, "file %-4llu BAD: %s\n", (unsigned long long)n,
			    rc == 1 ? (fmt_kind_of(buf, got) == FMT_HEADER ?
			    "part header is damaged" : "not an ABS file") :
			    rc == 0 ? "empty file" : e2);
			bad++;
			continue;
		}
		parts++;
		if (verify_part(dev, n, buf, l.block_size, out, e2) < 0)
			bad++;
	}
	fprintf(out, "%d parts checked, %d bad\n", parts, bad);
	rc = 0;
	if (bad) {
		eng_err(err, "%d of the tape's files failed verification", bad);
		rc = -EBADMSG;
	}
out:
	free(buf);
	tsg_free(dev);
	return rc;
}

/* Print s as a JSON string. */
static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

int
eng_list(const char *device, bool json, FILE *out, char *err)
{
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	uint8_t *buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	int rc;

	if (!buf)
		return -ENOMEM;
	if ((rc = eng_open(device, &dev, err)) < 0 ||
	    (rc = eng_read_label(dev, &l, err)) < 0)
		goto out;
	if (json) {
		fprintf(out, "{\"file\":0,\"kind\":\"label\",\"label\":");
		json_str(out, l.label);
		fprintf(out, ",\"tape_id\":\"%s\",\"pool\":", l.tape_id);
		json_str(out, l.pool);
		fprintf(out, ",\"block_size\":%u,\"labelled_at\":\"%s\"}\n",
		    l.block_size, l.labelled_at);
	} else {
		fprintf(out, "tape %s  ID %s  pool %s  block size %u  labelled %s "
		    "by %s\n", l.label, l.tape_id, l.pool, l.block_size,
		    l.labelled_at, l.labelled_by);
		fprintf(out, "%-5s %-8s %-24s %-5s %-20s %-4s %-13s %-8s %-12s\n",
		    "file", "kind", "entity", "level", "dump date", "part",
		    "bytes", "blocks", "digest");
	}
	if ((rc = eng_goto_file(dev, 1, err)) < 0)
		goto out;
	for (uint64_t n = 1;; n++) {
		struct tsg_status st;
		struct fmt_header h;
		struct fmt_trailer t;
		size_t got;
		char e2[ENG_ERRLEN];
		const char *kind = "unknown";
		rc = eng_read_guess(dev, buf, l.block_size, FMT_MAX_BLOCK, &got, e2);
		if (rc == -ENODATA)
			break;
		if (rc == 1 && fmt_header_parse(buf, got, &h) == 0) {
			if (json) {
				fprintf(out, "{\"file\":%llu,\"kind\":\"part\","
				    "\"dump_id\":\"%s\",\"entity\":",
				    (unsigned long long)n, h.dump_id);
				json_str(out, h.entity);
				fprintf(out, ",\"level\":%d,\"dump_date\":\"%s\","
				    "\"since\":\"%s\",\"server\":", h.level,
				    h.dump_date, h.since);
				json_str(out, h.server);
				fprintf(out, ",\"partition\":");
				json_str(out, h.partition);
				fprintf(out, ",\"part\":%u,\"offset\":%llu,"
				    "\"block_size\":%u,\"compress\":\"%s\","
				    "\"source_kind\":\"%s\"}\n", h.part,
				    (unsigned long long)h.offset, h.block_size,
				    h.compress, h.source_kind);
			} else {
				fprintf(out, "%-5llu %-8s %-24s %-5d %-20s %-4u\n",
				    (unsigned long long)n, "part", h.entity, h.level,
				    h.dump_date, h.part);
			}
		} else if (rc == 1 && fmt_trailer_parse(buf, got, &t) == 0) {
			if (json)
				fprintf(out, "{\"file\":%llu,\"kind\":\"trailer\","
				    "\"dump_id\":\"%s\",\"part\":%u,\"bytes\":%llu,"
				    "\"blocks\":%llu,\"part_digest\":\"%s\","
				    "\"last\":%s,\"raw_bytes\":%llu}\n",
				    (unsigned long long)n, t.dump_id, t.part,
				    (unsigned long long)t.bytes,
				    (unsigned long long)t.blocks, t.part_digest,
				    t.last ? "true" : "false",
				    (unsigned long long)t.raw_bytes);
			else
				fprintf(out, "%-5llu %-8s %-24s %-5s %-20s %-4u %-13llu "
				    "%-8llu %.12s%s\n", (unsigned long long)n,
				    "trailer", "", "", "", t.part,
				    (unsigned long long)t.bytes,
				    (unsigned long long)t.blocks, t.part_digest,
				    t.last ? " (last part)" : "");
		} else {
			if (rc == 1)
				kind = fmt_kind_of(buf, got) == FMT_NONE ? "foreign" :
				    "damaged";
			else if (rc == 0)
				kind = "empty";
			else
				kind = "unreadable";
			if (json)
				fprintf(out, "{\"file\":%llu,\"kind\":\"%s\"}\n",
				    (unsigned long long)n, kind);
			else
				fprintf(out, "%-5llu %-8s %s\n", (unsigned long long)n,
				    kind, rc < 0 ? e2 : "");
		}
		if (rc == 0)
			continue;
		if (tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st)) {
			if (tsg_is_eod(&st))
				break;
			eng_err_st(err, "space to next file", &st);
			rc = -EIO;
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	tsg_free(dev);
	return rc;
}
