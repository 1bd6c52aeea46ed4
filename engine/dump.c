/*
 * label and dump in direct mode: one cartridge, header + data + filemark +
 * trailer + filemark per part, source read through the io_uring window.
 */
#include <endian.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "catalog/dumplog.h"
#include "common/crc32c.h"
#include "common/digest.h"
#include "common/util.h"
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
	uint8_t *buf = NULL;
	char host[128] = "localhost", now[32];
	struct passwd *pw;
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
	memset(&l, 0, sizeof(l));
	l.version = FMT_VERSION;
	snprintf(l.label, sizeof(l.label), "%s", o->label);
	snprintf(l.pool, sizeof(l.pool), "%s", o->pool ? o->pool : "default");
	/* Direct mode: a random 128-bit ID, never reused in practice. */
	if ((rc = util_random_hex(l.tape_id, 16)) < 0) {
		eng_err(err, "no randomness for the tape ID");
		goto out;
	}
	l.block_size = o->block_size ? o->block_size : FMT_DEFAULT_BLOCK;
	util_fmt_time(time(NULL), now, sizeof(now));
	snprintf(l.labelled_at, sizeof(l.labelled_at), "%s", now);
	gethostname(host, sizeof(host) - 1);
	pw = getpwuid(geteuid());
	snprintf(l.labelled_by, sizeof(l.labelled_by), "%s@%s",
	    pw ? pw->pw_name : "uid", host);
	buf = calloc(1, FMT_LABEL_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = fmt_label_build(&l, buf)) < 0) {
		eng_err(err, "label fields too long");
		goto out;
	}
	if (tsg_rewind(dev, &st) || tsg_write(dev, buf, FMT_LABEL_SIZE, &st) ||
	    tsg_write_filemarks(dev, 1, false, &st)) {
		if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(err, "cartridge is write-protected");
		else
			eng_err_st(err, "writing the label", &st);
		rc = -EIO;
		goto out;
	}
	printf("labelled %s: tape ID %s, pool %s, block size %u\n", l.label,
	    l.tape_id, l.pool, l.block_size);
	rc = 0;
out:
	free(buf);
	tsg_free(dev);
	return rc;
}

struct dump_state {
	struct tsg_dev *dev;
	uint32_t bs;
	uint8_t *obuf;		/* compressed output block being filled */
	size_t ofill;
	uint32_t *crcs;
	uint64_t ncrc, capcrc;
	uint64_t bytes;		/* stored stream bytes */
	struct digest *sd;	/* stored stream */
	struct digest *rd;	/* raw source, when compressing */
	char *err;
};

/* Write one data block, remembering its CRC; error text in st->err. */
static int
put_block(struct dump_state *s, const void *buf, size_t len)
{
	struct tsg_status st;
	int rc;

	if (s->ncrc == s->capcrc) {
		uint64_t ncap = s->capcrc ? s->capcrc * 2 : 4096;
		uint32_t *n = realloc(s->crcs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->crcs = n;
		s->capcrc = ncap;
	}
	rc = tsg_write(s->dev, buf, len, &st);
	if (rc == TSG_CHECK && tsg_is_early_warning(&st)) {
		/* Written, but the cartridge is nearly full. */
		eng_err(s->err, "cartridge full: early warning after %llu bytes "
		    "(a dump larger than one cartridge needs spanning)",
		    (unsigned long long)s->bytes);
		return -ENOSPC;
	}
	if (rc) {
		if (st.cat == TSG_CAT_VOLUME_OVERFLOW)
			eng_err(s->err, "cartridge full: physical end of tape");
		else if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(s->err, "cartridge is write-protected");
		else if (st.cat == TSG_CAT_MEDIUM_ERROR)
			eng_err_st(s->err, "medium error writing; cartridge suspect",
			    &st);
		else
			eng_err_st(s->err, "write", &st);
		return rc < 0 ? rc : -EIO;
	}
	s->crcs[s->ncrc++] = crc32c(0, buf, len);
	digest_update(s->sd, buf, len);
	s->bytes += len;
	return 0;
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
		ZSTD_outBuffer ob = { s->obuf, s->bs, s->ofill };
		left = ZSTD_compressStream2(z, &ob, &ib, mode);
		if (ZSTD_isError(left)) {
			eng_err(s->err, "zstd: %s", ZSTD_getErrorName(left));
			return -EIO;
		}
		s->ofill = ob.pos;
		if (s->ofill == s->bs) {
			if ((rc = put_block(s, s->obuf, s->bs)) < 0)
				return rc;
			s->ofill = 0;
		}
	} while (ib.pos < ib.size || (mode == ZSTD_e_end && left));
	if (mode == ZSTD_e_end && s->ofill) {
		if ((rc = put_block(s, s->obuf, s->ofill)) < 0)
			return rc;
		s->ofill = 0;
	}
	return 0;
}

/* Write the trailer file: record block, then the CRC table blocks. */
static int
put_trailer(struct dump_state *s, struct fmt_trailer *t)
{
	struct tsg_status st;
	uint8_t *buf = calloc(1, s->bs);
	size_t tlen = (size_t)s->ncrc * 4;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < s->ncrc; i++)
		s->crcs[i] = htole32(s->crcs[i]);
	t->table_crc = crc32c(0, s->crcs, tlen);
	if (fmt_trailer_build(t, buf, s->bs) < 0) {
		eng_err(s->err, "trailer does not fit a block");
		rc = -E2BIG;
		goto out;
	}
	if (tsg_write(s->dev, buf, s->bs, &st) == TSG_CHECK &&
	    !tsg_is_early_warning(&st)) {
		eng_err_st(s->err, "writing the trailer", &st);
		rc = -EIO;
		goto out;
	}
	for (size_t off = 0; off < tlen; off += s->bs) {
		size_t n = tlen - off < s->bs ? tlen - off : s->bs;
		int r = tsg_write(s->dev, (uint8_t *)s->crcs + off, n, &st);
		if (r && !(r == TSG_CHECK && tsg_is_early_warning(&st))) {
			eng_err_st(s->err, "writing the trailer", &st);
			rc = -EIO;
			goto out;
		}
	}
	/* This filemark is synchronous: it confirms the whole part. */
	int r = tsg_write_filemarks(s->dev, 1, false, &st);
	if (r && !(r == TSG_CHECK && tsg_is_early_warning(&st))) {
		eng_err_st(s->err, "writing the closing filemark", &st);
		rc = -EIO;
	}
out:
	for (uint64_t i = 0; i < s->ncrc; i++)
		s->crcs[i] = le32toh(s->crcs[i]);
	free(buf);
	return rc;
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
	r->block_size = h->block_size;
	snprintf(r->compress, sizeof(r->compress), "%s", h->compress);
	snprintf(r->digest_alg, sizeof(r->digest_alg), "%s", h->digest);
	snprintf(r->source_kind, sizeof(r->source_kind), "%s", h->source_kind);
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

int
eng_dump(const struct eng_dump_opts *o, struct eng_dump_result *res, char *err)
{
	struct dump_state s = { .err = err };
	struct eng_source src = { .fd = -1 };
	struct ring *ring = NULL;
	struct fmt_label l;
	struct fmt_header h;
	struct fmt_trailer t;
	struct tsg_status st;
	struct cat_dl_rec rec;
	ZSTD_CCtx *z = NULL;
	uint8_t *hbuf = NULL;
	time_t since = 0;
	bool wp = false, started = false;
	double t0 = eng_now();
	int level, alg, rc;

	memset(res, 0, sizeof(*res));
	s.bs = o->block_size ? o->block_size : FMT_DEFAULT_BLOCK;
	level = compress_level(o->compress);
	alg = digest_alg_from_name(o->digest ? o->digest : "xxh128");
	if (s.bs < FMT_MIN_BLOCK || s.bs > FMT_MAX_BLOCK || s.bs % 4096) {
		eng_err(err, "block size must be a multiple of 4 KiB from 64 KiB "
		    "to 8 MiB");
		return -EINVAL;
	}
	if (alg < 0) {
		eng_err(err, "digest must be xxh128 or sha256");
		return -EINVAL;
	}
	if (level < 0) {
		eng_err(err, "compression must be none, zstd or zstd:1..19");
		return -EINVAL;
	}
	if (!o->log) {
		eng_err(err, "--log DUMPLOG is required: it records what is on tape");
		return -EINVAL;
	}
	if (!o->entity || !*o->entity || strlen(o->entity) >= sizeof(h.entity)) {
		eng_err(err, "entity name missing or too long");
		return -EINVAL;
	}
	if (o->since && util_parse_time(o->since, &since) < 0) {
		eng_err(err, "--since takes 2026-11-22 or 2026-11-22T03:00:00Z");
		return -EINVAL;
	}
	if (o->level > 0 && !o->since) {
		eng_err(err, "an incremental (level > 0) needs --since");
		return -EINVAL;
	}
	if ((rc = eng_open(o->device, &s.dev, err)) < 0)
		return rc;
	memset(&h, 0, sizeof(h));
	h.version = FMT_VERSION;
	if (strncmp(o->device, "null:", 5) == 0) {
		/* Benchmarks: a sink with no tape to label or position. */
		memset(&l, 0, sizeof(l));
		snprintf(l.label, sizeof(l.label), "NULL");
		snprintf(l.tape_id, sizeof(l.tape_id), "0");
		h.file = 1;
	} else if ((rc = eng_read_label(s.dev, &l, err)) < 0) {
		if (rc == -ENODATA)
			eng_err(err, "tape has no label: label it first "
			    "(abs-engine label --device %s --label NAME)", o->device);
		goto out;
	}
	if (o->expect_label && strcmp(o->expect_label, l.label) != 0) {
		eng_err(err, "wrong tape: %s is in the drive, %s was asked for",
		    l.label, o->expect_label);
		rc = -EMEDIUMTYPE;
		goto out;
	}
	if (tsg_write_protected(s.dev, &wp, &st) == 0 && wp) {
		eng_err(err, "cartridge %s is write-protected", l.label);
		rc = -EROFS;
		goto out;
	}
	if (h.file == 0 && (rc = eng_goto_eod(s.dev, &h.file, err)) < 0)
		goto out;
	if (h.file == 0) {
		eng_err(err, "tape %s has no label file at its start", l.label);
		rc = -EIO;
		goto out;
	}
	if ((rc = eng_source_open(o->source, since, &src, err)) < 0)
		goto out;
	if ((rc = ring_new(o->depth ? o->depth : 8, s.bs, &ring)) < 0 ||
	    (rc = ring_source(ring, src.fd)) < 0) {
		eng_err(err, "io_uring set-up: %s", strerror(-rc));
		goto out;
	}
	s.sd = digest_new((enum digest_alg)alg);
	s.rd = level ? digest_new((enum digest_alg)alg) : NULL;
	hbuf = calloc(1, s.bs);
	if (!s.sd || (level && !s.rd) || !hbuf) {
		rc = -ENOMEM;
		goto out;
	}
	if (level) {
		z = ZSTD_createCCtx();
		s.obuf = aligned_alloc(4096, s.bs);
		if (!z || !s.obuf) {
			rc = -ENOMEM;
			goto out;
		}
		ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
		/* One helper thread keeps compression off the tape path. */
		ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, 1);
	}

	util_random_hex(h.dump_id, 16);
	snprintf(h.entity, sizeof(h.entity), "%s", o->entity);
	if (o->server)
		snprintf(h.server, sizeof(h.server), "%s", o->server);
	else
		gethostname(h.server, sizeof(h.server) - 1);
	snprintf(h.partition, sizeof(h.partition), "%s",
	    o->partition ? o->partition : src.path);
	h.level = o->level;
	util_fmt_time(time(NULL), h.dump_date, sizeof(h.dump_date));
	if (o->since)
		util_fmt_time(since, h.since, sizeof(h.since));
	else
		snprintf(h.since, sizeof(h.since), "-");
	h.part = 1;
	h.offset = 0;
	h.block_size = s.bs;
	snprintf(h.compress, sizeof(h.compress), "%s", level ? "zstd" : "none");
	snprintf(h.digest, sizeof(h.digest), "%s", digest_alg_name((enum digest_alg)alg));
	snprintf(h.source_kind, sizeof(h.source_kind), "%s", src.kind);
	snprintf(h.source, sizeof(h.source), "%s", src.path);
	snprintf(h.label, sizeof(h.label), "%s", l.label);
	snprintf(h.tape_id, sizeof(h.tape_id), "%s", l.tape_id);
	if (fmt_header_build(&h, hbuf, s.bs) < 0) {
		eng_err(err, "header fields do not fit one block");
		rc = -E2BIG;
		goto out;
	}
	started = true;
	rc = tsg_write(s.dev, hbuf, s.bs, &st);
	if (rc) {
		if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(err, "cartridge is write-protected");
		else if (rc == TSG_CHECK && tsg_is_early_warning(&st))
			eng_err(err, "cartridge %s is full (early warning)", l.label);
		else
			eng_err_st(err, "writing the header", &st);
		rc = -EIO;
		goto out;
	}

	/* The data path: blocks leave the window only once on tape. */
	struct ring_block b;
	while ((rc = ring_next(ring, &b)) == 1) {
		if (level) {
			digest_update(s.rd, b.buf, b.len);
			rc = put_compressed(&s, z, b.buf, b.len, ZSTD_e_continue);
		} else {
			rc = put_block(&s, b.buf, b.len);
		}
		if (rc < 0)
			goto out;
		ring_confirm(ring, b.idx);
	}
	if (rc < 0) {
		eng_err(err, "reading the source: %s", strerror(-rc));
		goto out;
	}
	if (level && (rc = put_compressed(&s, z, NULL, 0, ZSTD_e_end)) < 0)
		goto out;
	/* Immediate: the trailer's synchronous filemark confirms both. */
	rc = tsg_write_filemarks(s.dev, 1, true, &st);
	if (rc && !(rc == TSG_CHECK && tsg_is_early_warning(&st))) {
		eng_err_st(err, "writing the filemark", &st);
		rc = -EIO;
		goto out;
	}

	memset(&t, 0, sizeof(t));
	t.version = FMT_VERSION;
	snprintf(t.dump_id, sizeof(t.dump_id), "%s", h.dump_id);
	t.part = 1;
	t.header_file = h.file;
	t.block_size = s.bs;
	t.bytes = s.bytes;
	t.blocks = s.ncrc;
	snprintf(t.digest, sizeof(t.digest), "%s", h.digest);
	t.last = 1;
	t.stream_bytes = s.bytes;
	digest_final_hex(s.sd, t.part_digest);
	memcpy(t.stream_digest, t.part_digest, sizeof(t.part_digest));
	t.raw_bytes = ring_bytes(ring);
	if (level)
		digest_final_hex(s.rd, t.raw_digest);
	else
		memcpy(t.raw_digest, t.stream_digest, sizeof(t.raw_digest));
	if ((rc = put_trailer(&s, &t)) < 0)
		goto out;

	/* On tape and confirmed: now the dump log may say so. */
	char srcerr[ENG_ERRLEN] = "";
	int src_rc = eng_source_close(&src, srcerr);
	fill_record(&rec, &h);
	rec.type = CAT_DL_PART;
	rec.part = 1;
	rec.bytes = t.bytes;
	rec.blocks = t.blocks;
	snprintf(rec.digest, sizeof(rec.digest), "%s", t.part_digest);
	if ((rc = cat_dl_append(o->log, &rec)) < 0) {
		eng_err(err, "dump log %s: %s (the dump is on tape %s file %llu)",
		    o->log, strerror(-rc), l.label, (unsigned long long)h.file);
		goto out;
	}
	rec.type = CAT_DL_DUMP;
	rec.part = 1;
	rec.raw_bytes = t.raw_bytes;
	snprintf(rec.digest, sizeof(rec.digest), "%s", t.stream_digest);
	snprintf(rec.raw_digest, sizeof(rec.raw_digest), "%s", t.raw_digest);
	snprintf(rec.status, sizeof(rec.status), "%s",
	    src_rc ? "source-failed" : "complete");
	if ((rc = cat_dl_append(o->log, &rec)) < 0) {
		eng_err(err, "dump log %s: %s", o->log, strerror(-rc));
		goto out;
	}
	if (src_rc) {
		eng_err(err, "%s; the stream on tape %s file %llu is recorded as "
		    "source-failed and will not be restored by default", srcerr,
		    l.label, (unsigned long long)h.file);
		rc = src_rc;
		goto out;
	}
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", h.dump_id);
	snprintf(res->label, sizeof(res->label), "%s", l.label);
	res->file = h.file;
	res->raw_bytes = t.raw_bytes;
	res->bytes = t.bytes;
	res->blocks = t.blocks;
	memcpy(res->digest, t.stream_digest, sizeof(res->digest));
	snprintf(res->digest_alg, sizeof(res->digest_alg), "%s", h.digest);
	memcpy(res->raw_digest, t.raw_digest, sizeof(res->raw_digest));
	rc = 0;
out:
	if (rc < 0 && started && s.dev) {
		/* Close the partial file so the tape stays appendable. */
		tsg_write_filemarks(s.dev, 1, false, &st);
	}
	if (src.pid || src.fd >= 0) {
		char ignore[ENG_ERRLEN];
		if (src.pid)
			kill(src.pid, SIGTERM);
		eng_source_close(&src, ignore);
	}
	res->seconds = eng_now() - t0;
	ZSTD_freeCCtx(z);
	free(s.obuf);
	free(s.crcs);
	free(hbuf);
	digest_free(s.sd);
	digest_free(s.rd);
	ring_free(ring);
	tsg_free(s.dev);
	return rc;
}
