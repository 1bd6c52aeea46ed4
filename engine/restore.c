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
#include "engine/engine.h"
#include "engine/source.h"
#include "engine/tape.h"

/* Reads one part's data blocks, checks each CRC before handing bytes out. */
struct part_reader {
	struct tsg_dev *dev;
	uint8_t *buf;
	size_t bs;
	const uint32_t *table;
	uint64_t nblocks, i;
	struct digest *sd, *rd;
	ZSTD_DCtx *z;
	uint8_t *zout;
	ZSTD_inBuffer zin;
	bool tape_done, done;
	uint64_t bytes, raw_bytes;
	uint64_t file;
	char *err;
	int error;
};

/* Next verified tape block into pr->buf; 1, 0 at the filemark, -errno. */
static int
pr_block(struct part_reader *pr, size_t *len)
{
	int rc = eng_read_block(pr->dev, pr->buf, pr->bs, len, pr->err);

	if (rc == 0) {
		if (pr->i != pr->nblocks) {
			eng_err(pr->err, "tape file %llu ends after %llu blocks, "
			    "the trailer says %llu", (unsigned long long)pr->file,
			    (unsigned long long)pr->i,
			    (unsigned long long)pr->nblocks);
			return -EBADMSG;
		}
		return 0;
	}
	if (rc < 0) {
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", pr->err);
		eng_err(pr->err, "tape file %llu block %llu: %s",
		    (unsigned long long)pr->file, (unsigned long long)pr->i, why);
		return rc;
	}
	if (pr->i >= pr->nblocks) {
		eng_err(pr->err, "tape file %llu has more blocks than its trailer "
		    "lists (%llu)", (unsigned long long)pr->file,
		    (unsigned long long)pr->nblocks);
		return -EBADMSG;
	}
	if (crc32c(0, pr->buf, *len) != pr->table[pr->i]) {
		eng_err(pr->err, "checksum mismatch in tape file %llu block %llu: "
		    "the data on tape is damaged", (unsigned long long)pr->file,
		    (unsigned long long)pr->i + 1);
		return -EBADMSG;
	}
	pr->i++;
	pr->bytes += *len;
	digest_update(pr->sd, pr->buf, *len);
	return 1;
}

/* Pull the next chunk of the restored (decompressed) stream. */
static long
pr_pull(void *ctx, const void **out)
{
	struct part_reader *pr = ctx;
	size_t len;
	int rc;

	if (pr->error)
		return -1;
	if (!pr->z) {
		if (pr->tape_done)
			return 0;
		rc = pr_block(pr, &len);
		if (rc <= 0) {
			pr->tape_done = true;
			pr->error = rc;
			return rc < 0 ? -1 : 0;
		}
		pr->raw_bytes += len;
		*out = pr->buf;
		return (long)len;
	}
	for (;;) {
		ZSTD_outBuffer ob = { pr->zout, ZSTD_DStreamOutSize(), 0 };
		if (pr->zin.pos < pr->zin.size || pr->tape_done) {
			size_t r = ZSTD_decompressStream(pr->z, &ob, &pr->zin);
			if (ZSTD_isError(r)) {
				eng_err(pr->err, "zstd: %s", ZSTD_getErrorName(r));
				pr->error = -EBADMSG;
				return -1;
			}
			if (ob.pos) {
				pr->raw_bytes += ob.pos;
				digest_update(pr->rd, pr->zout, ob.pos);
				*out = pr->zout;
				return (long)ob.pos;
			}
			if (pr->tape_done)
				return 0;
			if (pr->zin.pos < pr->zin.size)
				continue;
		}
		rc = pr_block(pr, &len);
		if (rc < 0) {
			pr->error = rc;
			return -1;
		}
		if (rc == 0) {
			pr->tape_done = true;
			pr->zin = (ZSTD_inBuffer){ pr->buf, 0, 0 };
			continue;
		}
		pr->zin = (ZSTD_inBuffer){ pr->buf, len, 0 };
	}
}

/* Read and parse the header block at the current position. */
static int
read_header(struct tsg_dev *dev, uint8_t *buf, struct fmt_header *h,
    uint64_t file, char *err)
{
	size_t got;
	int rc = eng_read_block(dev, buf, FMT_MAX_BLOCK, &got, err);

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
		eng_err(err, "tape file %llu: header block is %zu bytes, it "
		    "says %u", (unsigned long long)file, got, h->block_size);
		rc = -EBADMSG;
	}
	return rc;
}

/* Find the newest complete dump of entity in the dump log. */
static int
find_in_log(const struct eng_restore_opts *o, struct cat_dl_rec *best,
    char *err)
{
	FILE *fp = fopen(o->log, "r");
	struct cat_dl_rec r;
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
		if (!found || strcmp(r.date, best->date) >= 0)
			*best = r;
		found = 1;
	}
	free(line);
	fclose(fp);
	if (!found) {
		eng_err(err, "no complete dump of %s%s%s in %s", o->entity,
		    o->date ? " dated " : "", o->date ? o->date : "", o->log);
		return -ENOENT;
	}
	return 0;
}

/* Scan the tape's headers for the newest part 1 of entity. */
static int
find_on_tape(struct tsg_dev *dev, const struct eng_restore_opts *o,
    uint8_t *buf, uint64_t *file, char *err)
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
		rc = eng_read_block(dev, buf, FMT_MAX_BLOCK, &got, err);
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
			if (st.cat == TSG_CAT_BLANK_CHECK)
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

/* Everything a read-back of one part needs, set up and torn down. */
struct readback {
	struct fmt_header h;
	struct fmt_trailer t;
	uint32_t *table;
	struct part_reader pr;
};

/*
 * Position at tape file `file`, read header and trailer, and come back to
 * the first data block with a part_reader ready.
 */
static int
readback_open(struct tsg_dev *dev, uint64_t file, uint8_t *buf,
    struct readback *rb, char *err)
{
	struct tsg_status st;
	int rc;

	memset(rb, 0, sizeof(*rb));
	if ((rc = eng_goto_file(dev, file, err)) < 0 ||
	    (rc = read_header(dev, buf, &rb->h, file, err)) < 0)
		return rc;
	if (tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st)) {
		if (st.cat == TSG_CAT_BLANK_CHECK)
			eng_err(err, "tape file %llu has no trailer: the tape ends "
			    "inside this part (truncated, or the dump was "
			    "interrupted)", (unsigned long long)file);
		else
			eng_err_st(err, "space to the trailer", &st);
		return -EIO;
	}
	rc = eng_read_trailer(dev, buf, FMT_MAX_BLOCK, &rb->t, &rb->table, err);
	if (rc < 0)
		return rc;
	if (strcmp(rb->t.dump_id, rb->h.dump_id) != 0 || rb->t.part != rb->h.part) {
		eng_err(err, "trailer after tape file %llu belongs to another dump",
		    (unsigned long long)file);
		return -EBADMSG;
	}
	/* Back over two filemarks, forward over one: start of the part. */
	if (tsg_space(dev, TSG_SPACE_FILEMARKS, -2, &st) ||
	    tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st)) {
		if ((rc = eng_goto_file(dev, file, err)) < 0)
			return rc;
	}
	size_t got;
	if ((rc = eng_read_block(dev, buf, FMT_MAX_BLOCK, &got, err)) != 1)
		return rc < 0 ? rc : -EIO;
	rb->pr.dev = dev;
	rb->pr.bs = rb->h.block_size;
	rb->pr.buf = buf;
	rb->pr.table = rb->table;
	rb->pr.nblocks = rb->t.blocks;
	rb->pr.file = file;
	rb->pr.err = err;
	rb->pr.sd = digest_new((enum digest_alg)digest_alg_from_name(rb->t.digest));
	/* Uncompressed: the source digest is the stored one. */
	rb->pr.rd = rb->pr.z || strcmp(rb->h.compress, "none") ?
	    digest_new((enum digest_alg)digest_alg_from_name(rb->t.digest)) : NULL;
	if (!rb->pr.sd || (!rb->pr.rd && strcmp(rb->h.compress, "none")))
		return -ENOMEM;
	if (strcmp(rb->h.compress, "zstd") == 0) {
		rb->pr.z = ZSTD_createDCtx();
		rb->pr.zout = malloc(ZSTD_DStreamOutSize());
		if (!rb->pr.z || !rb->pr.zout)
			return -ENOMEM;
	} else if (strcmp(rb->h.compress, "none") != 0) {
		eng_err(err, "unknown compression %s", rb->h.compress);
		return -ENOTSUP;
	}
	return 0;
}

/* Compare what was read with the trailer's counts and digests. */
static int
readback_check(struct readback *rb, char *err)
{
	char sha[DIGEST_HEX_LEN], raw[DIGEST_HEX_LEN];

	digest_final_hex(rb->pr.sd, sha);
	if (rb->pr.rd)
		digest_final_hex(rb->pr.rd, raw);
	else
		memcpy(raw, sha, sizeof(raw));
	if (rb->pr.bytes != rb->t.bytes || rb->pr.i != rb->t.blocks) {
		eng_err(err, "part has %llu bytes in %llu blocks, trailer says "
		    "%llu in %llu", (unsigned long long)rb->pr.bytes,
		    (unsigned long long)rb->pr.i, (unsigned long long)rb->t.bytes,
		    (unsigned long long)rb->t.blocks);
		return -EBADMSG;
	}
	if (strcmp(sha, rb->t.part_digest) != 0) {
		eng_err(err, "part SHA-256 mismatch");
		return -EBADMSG;
	}
	if (rb->t.last && rb->h.part == 1 && strcmp(sha, rb->t.stream_digest)) {
		eng_err(err, "stream SHA-256 mismatch");
		return -EBADMSG;
	}
	if (rb->t.last && rb->h.part == 1 && rb->pr.tape_done &&
	    (strcmp(raw, rb->t.raw_digest) || rb->pr.raw_bytes != rb->t.raw_bytes)) {
		eng_err(err, "source SHA-256 mismatch after decompression");
		return -EBADMSG;
	}
	return 0;
}

static void
readback_close(struct readback *rb)
{
	free(rb->table);
	digest_free(rb->pr.sd);
	digest_free(rb->pr.rd);
	ZSTD_freeDCtx(rb->pr.z);
	free(rb->pr.zout);
}

int
eng_restore(const struct eng_restore_opts *o, struct eng_restore_result *res,
    char *err)
{
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	struct readback rb;
	uint8_t *buf = NULL;
	uint64_t file = 0;
	double t0 = eng_now();
	int rc, outfd = -1;

	memset(res, 0, sizeof(*res));
	memset(&rb, 0, sizeof(rb));
	if (!o->to_stdout && !o->to) {
		eng_err(err, "say where to: --to PATH or --stdout");
		return -EINVAL;
	}
	buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	if (!buf)
		return -ENOMEM;
	if ((rc = eng_open(o->device, &dev, err)) < 0)
		goto out;
	if ((rc = eng_read_label(dev, &l, err)) < 0)
		goto out;
	if (o->expect_label && strcmp(o->expect_label, l.label)) {
		eng_err(err, "wrong tape: %s is in the drive, %s was asked for",
		    l.label, o->expect_label);
		rc = -EMEDIUMTYPE;
		goto out;
	}
	if (o->file >= 0) {
		file = (uint64_t)o->file;
	} else if (o->log) {
		struct cat_dl_rec r;
		if ((rc = find_in_log(o, &r, err)) < 0)
			goto out;
		if (strcmp(r.label, l.label) != 0 || strcmp(r.tape_id, l.tape_id)) {
			eng_err(err, "the dump of %s dated %s is on tape %s; %s is in "
			    "the drive: mount %s", r.entity, r.date, r.label, l.label,
			    r.label);
			rc = -EMEDIUMTYPE;
			goto out;
		}
		file = r.file;
	} else if ((rc = find_on_tape(dev, o, buf, &file, err)) < 0) {
		goto out;
	}
	if ((rc = readback_open(dev, file, buf, &rb, err)) < 0)
		goto out;
	if (o->entity && strcmp(rb.h.entity, o->entity) != 0) {
		eng_err(err, "tape file %llu holds %s, not %s",
		    (unsigned long long)file, rb.h.entity, o->entity);
		rc = -ENOENT;
		goto out;
	}
	if (rb.h.part != 1 || !rb.t.last) {
		eng_err(err, "tape file %llu is part %u of a dump that spans "
		    "cartridges; multi-part restore is not in this engine yet",
		    (unsigned long long)file, rb.h.part);
		rc = -ENOTSUP;
		goto out;
	}
	if (strcmp(rb.h.source_kind, "dir") == 0 && !o->to_stdout) {
		rc = eng_extract(o->to, pr_pull, &rb.pr, err);
		/* Drain to the filemark so every block and digest is checked. */
		const void *p;
		while (rc == 0 && pr_pull(&rb.pr, &p) > 0)
			;
		if (!rc && rb.pr.error)
			rc = rb.pr.error;
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
		while ((n = pr_pull(&rb.pr, &p)) > 0) {
			if ((rc = util_write_all(outfd, p, (size_t)n)) < 0) {
				eng_err(err, "writing the restored data: %s",
				    strerror(-rc));
				goto out;
			}
		}
		rc = n < 0 ? (rb.pr.error ? rb.pr.error : -EIO) : 0;
	}
	if (rc == 0)
		rc = readback_check(&rb, err);
	res->bytes = rb.pr.bytes;
	res->raw_bytes = rb.pr.raw_bytes;
	res->blocks = rb.pr.i;
	res->file = file;
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", rb.h.dump_id);
	snprintf(res->source_kind, sizeof(res->source_kind), "%s",
	    rb.h.source_kind);
out:
	if (outfd > 1 && close(outfd) < 0 && rc == 0) {
		eng_err(err, "%s: %s", o->to, strerror(errno));
		rc = -errno;
	}
	res->seconds = eng_now() - t0;
	readback_close(&rb);
	free(buf);
	tsg_free(dev);
	return rc;
}

/* Verify one part whose header is tape file `file`; prints one line. */
static int
verify_part(struct tsg_dev *dev, uint64_t file, uint8_t *buf, FILE *out,
    char *err)
{
	struct readback rb;
	const void *p;
	long n;
	int rc;

	rc = readback_open(dev, file, buf, &rb, err);
	if (rc == 0) {
		while ((n = pr_pull(&rb.pr, &p)) > 0)
			;
		rc = n < 0 ? (rb.pr.error ? rb.pr.error : -EIO) : 0;
	}
	if (rc == 0)
		rc = readback_check(&rb, err);
	if (rc == 0)
		fprintf(out, "file %-4llu %-24s part %u: OK, %llu blocks, %llu "
		    "bytes, %s %.16s\n", (unsigned long long)file,
		    rb.h.entity, rb.h.part, (unsigned long long)rb.pr.i,
		    (unsigned long long)rb.pr.bytes, rb.t.digest, rb.t.part_digest);
	else
		fprintf(out, "file %-4llu %-24s BAD: %s\n", (unsigned long long)file,
		    rb.h.entity[0] ? rb.h.entity : "?", err);
	readback_close(&rb);
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
		rc = verify_part(dev, (uint64_t)file, buf, out, err);
		goto out;
	}
	/* Every file that starts with a part header. */
	for (uint64_t n = 1;; n++) {
		struct fmt_header h;
		size_t got;
		char e2[ENG_ERRLEN];
		if ((rc = eng_goto_file(dev, n, e2)) < 0)
			break;
		rc = eng_read_block(dev, buf, FMT_MAX_BLOCK, &got, e2);
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
		if (verify_part(dev, n, buf, out, e2) < 0)
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
		rc = eng_read_block(dev, buf, FMT_MAX_BLOCK, &got, e2);
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
			if (st.cat == TSG_CAT_BLANK_CHECK)
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
