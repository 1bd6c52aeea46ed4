/*
 * label, and dump: the orchestration. The source is read through the
 * io_uring ring (ring/), optionally compressed (compress.c), and goes
 * block by block into the write window (window.c), which keeps each block
 * until the drive confirms it and spans to the next cartridge at end of
 * tape; the parts' headers, trailers and dump-log lines are part.c's, the
 * read-after-write check verify.c's. A cartridge that fails is taken out
 * of use and the dump is written again, if the source can be read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "catalog/fileindex.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/changer.h"
#include "engine/compress.h"
#include "engine/engine.h"
#include "engine/part.h"
#include "engine/source.h"
#include "engine/tape.h"
#include "engine/verify.h"
#include "engine/window.h"
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
	if (o->slot && (rc = eng_library_load_slot(o->device, o->slot, err)) < 0)
		return rc;
	/* A library's cartridge: never a cleaning one; its sticker names it. */
	char bc[TSG_BARCODE_LEN];
	bool in_lib = eng_library_drive_barcode(o->device, bc, sizeof(bc)) == 0;
	if (in_lib && bc[0]) {
		if (eng_barcode_cleaning(bc, NULL)) {
			eng_err(err, "the drive holds cleaning cartridge %s: never "
			    "labelled", bc);
			return -EMEDIUMTYPE;
		}
		if (!eng_barcode_label_ok(bc, o->label)) {
			char want[TSG_BARCODE_LEN];
			eng_barcode_label(bc, want, sizeof(want));
			log_warn("the cartridge's barcode is %s: a changer refuses it "
			    "labelled %s (its label is its barcode: %s)", bc, o->label,
			    want);
		}
	}
	if ((rc = eng_open(o->device, &dev, err)) < 0) {
		if (rc == -ENOMEDIUM && in_lib) {
			char why[ENG_ERRLEN];
			snprintf(why, sizeof(why), "%s", err);
			eng_err(err, "%s: load one with --slot N (abs-engine changer "
			    "--device CHANGER inventory lists the slots)", why);
		}
		return rc;
	}
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


/* One dump job: the rooms it drives and what it counts across them. */
struct dump_state {
	const struct eng_dump_opts *o;
	char *err;
	struct eng_part p;		/* the stream's parts, the drive */
	struct eng_window *win;		/* blocks until the drive confirms */
	struct eng_compress *cz;	/* NULL: no compression */
	struct eng_spot spot;		/* read-after-write checks */
	struct eng_changer *chg;
	struct ring *ring;		/* the source's read-ahead */
	int level;			/* zstd level, 0: none */
	unsigned nobuf;			/* compression buffers */
	enum eng_fault fault;		/* the cartridge's failure, if it is */
	bool src_again;			/* the source can be read again */
	unsigned handovers;
	double handover_secs;
	/* The base (chains): "" when none or unknown. */
	char base[33], base_date[32];
	int base_level;
	/* The source, reaped once its stream ended (before the trailer). */
	bool src_closed;
	int src_rc;
	char srcerr[ENG_ERRLEN];
	/* A dir: dump's file index (encoded, with its frame table). */
	uint8_t *idx;
	size_t idx_len;
};

const char *
eng_fault_status(enum eng_fault f)
{
	switch (f) {
	case ENG_FAULT_VERIFY: return "verify-mismatch";
	case ENG_FAULT_MEDIUM: return "medium-error";
	default: return "write-failed";
	}
}

/* Window: queue one write on the drive. */
static int
w_submit(void *ctx, const void *buf, size_t len, uint64_t tag)
{
	struct dump_state *s = ctx;

	return tsg_write_submit(s->p.dev, buf, len, tag);
}

/* Window: the oldest queued write's outcome. */
static int
w_reap(void *ctx, struct tsg_wdone *out)
{
	struct dump_state *s = ctx;

	return s->p.dev ? tsg_write_reap(s->p.dev, out) : 0;
}

/* Window: the block is on tape; count it in the part, free its buffer. */
static int
w_retire(void *ctx, const struct eng_wblock *b)
{
	struct dump_state *s = ctx;
	int rc = eng_part_add(&s->p, b->buf, b->len, b->crc, b->pd);

	if (rc < 0)
		return rc;
	if (s->cz)
		eng_compress_release(s->cz, b->idx);
	else
		ring_confirm(s->ring, b->idx);
	return 0;
}

/*
 * The cartridge in the drive reached early warning: it is full and is
 * never appended to again. The dump log's `full` line is the record in
 * direct mode (the changer skips such cartridges), the tape-full event the
 * catalog's.
 */
static void
mark_full(struct dump_state *s)
{
	const struct eng_hooks *hooks = s->o->hooks;
	struct cat_dl_rec rec;
	int rc;

	eng_changer_full(s->chg, s->p.l.tape_id, s->p.l.label);
	eng_part_record(&rec, &s->p.h);
	rec.type = CAT_DL_FULL;
	snprintf(rec.label, sizeof(rec.label), "%s", s->p.l.label);
	snprintf(rec.tape_id, sizeof(rec.tape_id), "%s", s->p.l.tape_id);
	snprintf(rec.drive, sizeof(rec.drive), "%s", s->o->device);
	util_fmt_time(clock_now(), rec.written, sizeof(rec.written));
	snprintf(rec.status, sizeof(rec.status), "full");
	rec.part = 0;
	rec.file = 0;
	if ((rc = eng_log_append(s->o, &rec)) < 0)
		log_warn("dump log %s: %s (cartridge %s is full)", s->o->log,
		    strerror(-rc), s->p.l.label);
	if (hooks)
		hooks->event(hooks->ctx, "tape-full", NULL, s->p.l.label,
		    s->p.l.tape_id, NULL);
}

/*
 * Open a part on the cartridge in the drive; the window follows it. A
 * cartridge found full before anything is written is marked so and the
 * next one is taken: no part is ever begun on a full cartridge.
 */
static int
open_part(struct dump_state *s)
{
	int rc;

	for (unsigned tries = 0; (rc = eng_part_open(&s->p)) == -ENOSPC &&
	    !tsg_is_stream(s->p.dev) && tries < 1000; tries++) {
		log_warn("%s: taking another", s->err);
		/* End of cartridge: a commit point before it leaves the drive. */
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", s->err);
		if ((rc = eng_part_commit(&s->p, false)) < 0)
			return rc;
		snprintf(s->err, ENG_ERRLEN, "%s", why);
		mark_full(s);
		if ((rc = eng_changer_next_writable(s->chg, &s->p.dev, &s->p.l,
		    s->err)) < 0)
			return rc;
	}
	if (rc == 0)
		rc = eng_window_cartridge(s->win, s->p.l.label, s->p.depth,
		    s->p.lbp);
	return rc;
}

/* Whether the tape, at end of data, is past (programmable) early warning. */
static bool
past_early_warning(struct dump_state *s)
{
	struct tsg_status st;
	struct tsg_pos pos;

	return !tsg_is_stream(s->p.dev) &&
	    tsg_read_position(s->p.dev, &pos, &st) == 0 && pos.known &&
	    (pos.eop || pos.bpew);
}

/*
 * Close the part (trailer, dump log), then check it by reading back. The
 * last part of a stream that ended at early warning says so in its
 * trailer; the cartridge is full then, or if its trailer took it past
 * early warning (the next part could not begin there: eng_part_open), so
 * that the catalog and a rebuild from the tapes call it full alike.
 */
/*
 * Whether the dump now closing must be a commit point: the run's last,
 * the Nth since the last one, or too long since it (engine.h).
 */
static bool
commit_due(const struct dump_state *s)
{
	const struct eng_commit *c = s->o->commit;
	unsigned every = c->every ? c->every : 1;

	return c->final || c->pending + 1 >= every ||
	    (c->secs > 0 && eng_now() - c->since >= c->secs);
}

/*
 * Close the part (trailer, dump log), then check it by reading back. The
 * last part of a stream that ended at early warning says so in its
 * trailer; the cartridge is full then, or if its trailer took it past
 * early warning (the next part could not begin there: eng_part_open), so
 * that the catalog and a rebuild from the tapes call it full alike.
 * Between commit points (s->o->commit) the last part closes with an
 * immediate filemark and is not read back: a read would stop the drive.
 */
static int next_part(struct dump_state *s, double t0);

static int
close_part(struct dump_state *s, bool last)
{
	int rc;

	s->p.ends_full = last && eng_window_at_eot(s->win);
	s->p.defer = s->o->commit && last && !s->p.ends_full &&
	    !tsg_is_stream(s->p.dev) && !commit_due(s);
	/* An empty stream's part taken back at physical end: again on the
	   next cartridge (eng_part_close). */
	double t0 = eng_now();
	while ((rc = eng_part_close(&s->p, last)) == -EAGAIN)
		if ((rc = next_part(s, t0)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (last && !s->p.ends_full)
		s->p.ends_full = past_early_warning(s);
	/* Read back at the commit point that covers it: its sample now. */
	if (s->p.defer)
		return eng_spot_keep(&s->spot, &s->p, s->o->commit);
	struct eng_commit *c = s->o->commit;
	uint64_t checked = s->spot.checked, held = c ? c->spot_checked : 0;
	rc = eng_spot_part(&s->spot, &s->p, &s->fault, s->err);
	if (s->spot.checked > checked || (c && c->spot_checked > held))
		eng_trace("r");
	/* The check did not take the commit point's lines: they are now. */
	if (c && c->check_due) {
		int r = eng_part_commit(&s->p, true);
		if (rc == 0)
			rc = r;
	}
	return rc;
}

/*
 * The part on this cartridge is closed or taken back: the cartridge is
 * full; the next one, and a part opened there.
 */
static int
next_part(struct dump_state *s, double t0)
{
	double t1;
	int rc;

	mark_full(s);
	t1 = eng_now();
	if ((rc = eng_changer_next_writable(s->chg, &s->p.dev, &s->p.l,
	    s->err)) < 0)
		return rc;
	/* Hand-over time counts our work, not the wait for a mount. */
	double t2 = eng_now();
	if ((rc = open_part(s)) < 0)
		return rc;
	s->handover_secs += (t1 - t0) + (eng_now() - t2);
	s->handovers++;
	return 0;
}

/*
 * Window, at end of tape: close this part, next cartridge, open a part.
 * A part the cartridge took no data block of (physical end right after
 * its header, with no early warning before it) is taken back instead:
 * the dump log, the catalog and restores never meet an empty part.
 */
static int
w_span(void *ctx)
{
	struct dump_state *s = ctx;
	double t0 = eng_now();
	int rc;

	rc = s->p.ncrc ? close_part(s, false) : eng_part_withdraw(&s->p, 0);
	if (rc < 0)
		return rc;
	return next_part(s, t0);
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
	if (eng_compress_level(o->compress) < 0) {
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
	if (o->archive_entry && strlen(o->archive_entry) >= FMT_ARCHIVE_MAX) {
		eng_err(err, "the queue entry is longer than a part header holds "
		    "(%d bytes)", FMT_ARCHIVE_MAX - 1);
		return -EINVAL;
	}
	if (o->since && util_parse_time(o->since, since) < 0) {
		eng_err(err, "--since takes 2026-11-22 or 2026-11-22T03:00:00Z");
		return -EINVAL;
	}
	if (o->base && o->level > 0 && (strlen(o->base) != 32 ||
	    strspn(o->base, "0123456789abcdef") != 32)) {
		eng_err(err, "--base takes a dump ID (32 hex digits)");
		return -EINVAL;
	}
	if (o->verify_rate > 1) {
		eng_err(err, "--verify-rate takes a fraction from 0 to 1");
		return -EINVAL;
	}
	return 0;
}

/*
 * The base of a level > 0 dump (chains, docs/CHAINS.md): the dump named,
 * or the newest complete dump of the entity at a lower level in the log;
 * since becomes its date exactly (the increment starts where the base
 * did, so nothing falls between). With since and no base: none known.
 */
static int
find_base(struct dump_state *s, time_t *since)
{
	const struct eng_dump_opts *o = s->o;
	struct cat_dl_rec r, best;
	char *line = NULL, why[256];
	size_t cap = 0;
	bool found = false;
	FILE *f;

	s->base[0] = s->base_date[0] = '\0';
	s->base_level = -1;
	if (o->level == 0 || (!o->base && o->since))
		return 0;
	if (!(f = fopen(o->log, "r")) && errno != ENOENT) {
		eng_err(s->err, "dump log %s: %s", o->log, strerror(errno));
		return -errno;
	}
	while (f && getline(&line, &cap, f) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_DUMP ||
		    strcmp(r.status, "complete") != 0 ||
		    strcmp(r.entity, o->entity) != 0 ||
		    cat_dl_check(&r, why, sizeof(why)) < 0)
			continue;
		if (o->base ? strcmp(r.dump_id, o->base) == 0 :
		    r.level < o->level && (!found || strcmp(r.date,
		    best.date) >= 0)) {
			best = r;
			found = true;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (!found && !o->base) {
		eng_err(s->err, "no full dump of %s in %s: dump level 0 first "
		    "(or name the base: --base DUMPID --since ITS-DATE)",
		    o->entity, o->log);
		return -ENOENT;
	}
	if (!found) {
		/* Named, and not in this log: its date is since. */
		if (!o->since) {
			eng_err(s->err, "base %s is not in %s as a complete dump "
			    "of %s: give its date with --since", o->base, o->log,
			    o->entity);
			return -ENOENT;
		}
		snprintf(s->base, sizeof(s->base), "%s", o->base);
		util_fmt_time(*since, s->base_date, sizeof(s->base_date));
		s->base_level = o->level - 1;	/* below ours; not known */
		return 0;
	}
	if (best.level >= o->level) {
		eng_err(s->err, "base %s is a level %d dump: a level %d dump "
		    "needs a base of a lower level", best.dump_id, best.level,
		    o->level);
		return -EINVAL;
	}
	time_t t;
	if (util_parse_time(best.date, &t) < 0) {
		eng_err(s->err, "base %s has a bad date %s", best.dump_id,
		    best.date);
		return -EINVAL;
	}
	if (o->since && t != *since) {
		eng_err(s->err, "--since %s is not the date of base %s (%s): "
		    "an increment starts exactly at its base", o->since,
		    best.dump_id, best.date);
		return -EINVAL;
	}
	*since = t;
	snprintf(s->base, sizeof(s->base), "%s", best.dump_id);
	snprintf(s->base_date, sizeof(s->base_date), "%s", best.date);
	s->base_level = best.level;
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

	if (tsg_is_stream(s->p.dev)) {
		/* Benchmarks: a sink with no tape to label or position. */
		memset(&s->p.l, 0, sizeof(s->p.l));
		snprintf(s->p.l.label, sizeof(s->p.l.label), "NULL");
		snprintf(s->p.l.tape_id, sizeof(s->p.l.tape_id), "0");
		return 0;
	}
	if ((rc = eng_read_label(s->p.dev, &s->p.l, s->err)) < 0) {
		if (rc == -ENODATA)
			eng_err(s->err, "tape is blank (no label): label it first "
			    "(abs-engine label --device %s --label NAME) or give "
			    "--autolabel PATTERN", o->device);
		return rc;
	}
	if (o->expect_label && strcmp(o->expect_label, s->p.l.label) != 0) {
		eng_err(s->err, "wrong tape: %s is in the drive, %s was asked for",
		    s->p.l.label, o->expect_label);
		return -EMEDIUMTYPE;
	}
	if (tsg_write_protected(s->p.dev, &wp, &st) == 0 && wp) {
		eng_err(s->err, "cartridge %s is write-protected", s->p.l.label);
		return -EROFS;
	}
	/* A block the drive cannot take would fail at the first write. */
	uint32_t bmin, bmax;
	if (tsg_read_block_limits(s->p.dev, &bmin, &bmax, &st) == 0 && bmax &&
	    s->p.bs + (o->lbp ? 4 : 0) > bmax) {
		eng_err(s->err, "block size %u is larger than the drive takes (%u); "
		    "use --block-size %u or less", s->p.bs, bmax, bmax & ~4095u);
		return -EINVAL;
	}
	return 0;
}

/* The dump's header fields, for part 1 and every part after it. */
static void
init_header(struct dump_state *s, time_t since, const struct eng_source *src)
{
	const struct eng_dump_opts *o = s->o;
	struct fmt_header *h = &s->p.h;

	memset(h, 0, sizeof(*h));
	h->version = FMT_VERSION;
	util_random_hex(h->dump_id, 16);
	snprintf(h->entity, sizeof(h->entity), "%s", o->entity);
	if (o->server)
		snprintf(h->server, sizeof(h->server), "%s", o->server);
	else
		gethostname(h->server, sizeof(h->server) - 1);
	snprintf(h->partition, sizeof(h->partition), "%s",
	    o->partition ? o->partition : src->path);
	h->level = o->level;
	util_fmt_time(clock_now(), h->dump_date, sizeof(h->dump_date));
	if (o->level > 0 || o->since)
		util_fmt_time(since, h->since, sizeof(h->since));
	else
		snprintf(h->since, sizeof(h->since), "-");
	h->block_size = s->p.bs;
	snprintf(h->compress, sizeof(h->compress), "%s",
	    s->level ? "zstd" : "none");
	snprintf(h->digest, sizeof(h->digest), "%s", digest_alg_name(s->p.alg));
	snprintf(h->source_kind, sizeof(h->source_kind), "%s", src->kind);
	snprintf(h->source, sizeof(h->source), "%s", src->path);
	h->job = o->job;	/* for a catalog rebuilt from tapes */
	h->base_level = -1;
	if (s->base[0]) {
		snprintf(h->base, sizeof(h->base), "%s", s->base);
		snprintf(h->base_date, sizeof(h->base_date), "%s", s->base_date);
		h->base_level = s->base_level;
	}
	snprintf(h->entity_type, sizeof(h->entity_type), "%s",
	    o->entity_type ? o->entity_type : "");
	snprintf(h->archive, sizeof(h->archive), "%s",
	    o->archive_entry ? o->archive_entry : "");
}

/*
 * Start an attempt: counts from zero, the source open, its read-ahead
 * sized beyond what the write window holds, a compressor if asked.
 */
static int
start_attempt(struct dump_state *s, time_t since, struct eng_source *src)
{
	const struct eng_dump_opts *o = s->o;
	int rc;

	s->fault = ENG_FAULT_NONE;
	s->src_closed = false;
	s->src_rc = 0;
	s->srcerr[0] = '\0';
	free(s->idx);
	s->idx = NULL;
	s->idx_len = 0;
	s->handovers = 0;
	s->handover_secs = 0;
	eng_spot_reset(&s->spot);
	eng_window_reset(s->win);
	rc = o->source_fd_given ?
	    eng_source_open_fd(o->source, o->source_fd, src, s->err) :
	    eng_source_open(o->source, since, src, s->err);
	if (rc < 0)
		return rc;
	eng_source_direct(src, (enum eng_direct)o->direct_io);
	if (src->direct)
		log_info("source %s: O_DIRECT reads", src->path);
	else if (src->direct_why[0])
		log_info("source %s: through the page cache: %s", src->path,
		    src->direct_why);
	s->src_again = src->again;
	unsigned depth = o->depth ? o->depth : 8;
	unsigned want = tsg_set_write_depth(s->p.dev, o->queue);
	if (depth < 2 * want)
		depth = 2 * want;
	/* A run of dumps: the ring of its last dump, buffers and all. */
	struct eng_commit *c = o->commit;
	if (c && c->ring && ring_depth(c->ring) == depth &&
	    ring_block_size(c->ring) == s->p.bs) {
		s->ring = c->ring;
		c->ring = NULL;
	}
	/* Compressing, the engine's thread is the one serial stage: the copy
	   out of the page cache goes beside it (2 workers, 600 MB to null:
	   0.51 s, 0.55 with the copy its own, the same CPU). Compressing on
	   its own thread, everything stays on that thread. */
	rc = s->ring ? 0 : ring_new(depth, s->p.bs, &s->ring);
	if (rc == 0) {
		if (s->level && o->compress_threads != ENG_COMPRESS_INLINE)
			ring_thread_always(s->ring);
		rc = ring_source(s->ring, src->fd);
	}
	if (rc < 0) {
		eng_err(s->err, "io_uring set-up: %s", strerror(-rc));
		return rc;
	}
	if ((rc = eng_part_stream(&s->p, s->level != 0)) < 0 ||
	    (rc = eng_window_digests(s->win, s->p.sd, s->p.alg)) < 0)
		return rc;
	if (s->level && (rc = eng_compress_new(s->level, s->p.bs, s->nobuf,
	    ENG_FRAME_RAW, o->compress_threads, &s->cz)) < 0)
		return rc;
	if (s->cz)
		eng_compress_digest(s->cz, s->p.rd);	/* the source bytes' */
	init_header(s, since, src);
	return 0;
}

/*
 * The walker's index, the frame table added: s->idx, or none (a warning:
 * the dump is whole without it, restores read it all). For a zstd stream
 * the open frame ends here, so that the index starts a frame of its own.
 */
static int
make_index(struct dump_state *s, struct eng_source *src, uint64_t archive)
{
	struct fidx_builder *b = NULL;
	struct fidx x;
	uint8_t *enc = NULL;
	size_t len = 0;
	char why[256];
	uint64_t raw = archive, stored = archive;
	int rc;

	if ((rc = eng_source_index(src, &enc, &len)) < 0 || !len) {
		if (rc < 0)
			log_warn("reading the file index: %s: the dump has none",
			    strerror(-rc));
		free(enc);
		return 0;
	}
	rc = fidx_decode(enc, len, &x, why, sizeof(why));
	free(enc);
	if (rc < 0) {
		log_warn("the walker's file index: %s: the dump has none", why);
		return 0;
	}
	if (x.archive_bytes != archive) {
		log_warn("the walker's file index is of %llu archive bytes, the "
		    "stream had %llu: the dump has none",
		    (unsigned long long)x.archive_bytes,
		    (unsigned long long)archive);
		fidx_free(&x);
		return 0;
	}
	if (s->cz) {
		if ((rc = eng_compress_end_frame(s->cz, s->win, s->err)) < 0)
			goto out;
		eng_compress_pos(s->cz, &raw, &stored);
	}
	rc = -ENOMEM;
	if (fidx_builder_new(&b) < 0)
		goto out;
	/* The index names its dump: a copy of another's is told apart. */
	if (fidx_builder_dump(b, s->p.h.dump_id) < 0)
		log_warn("dump ID %s is not 32 hex digits: the file index does "
		    "not name it", s->p.h.dump_id);
	for (uint64_t i = 0; i < x.nentries; i++)
		if (fidx_builder_add(b, &x.e[i]) < 0)
			goto out;
	if (s->cz) {
		uint64_t n;
		const struct fidx_frame *f = eng_compress_frames(s->cz, &n);
		for (uint64_t i = 0; i < n; i++)
			if (fidx_builder_frame(b, f[i].raw, f[i].stored) < 0)
				goto out;
		/* The index's own frame: the next the compressor begins. */
		if (fidx_builder_frame(b, raw, stored) < 0)
			goto out;
	}
	if ((rc = fidx_builder_encode(b, archive, &s->idx, &s->idx_len)) < 0) {
		log_warn("encoding the file index: %s: the dump has none",
		    strerror(-rc));
		s->idx = NULL;
		s->idx_len = 0;
		rc = 0;
		goto out;
	}
	s->p.index_raw = raw;
	s->p.index_stored = stored;
	s->p.index_bytes = s->idx_len;
	rc = 0;
out:
	if (rc == -ENOMEM)
		eng_err(s->err, "out of memory for the file index");
	fidx_builder_free(b);
	fidx_free(&x);
	return rc;
}

/*
 * A plain stream's end: the archive's short last block (held), then the
 * index, in full blocks again. Blocks in flight are the ring's; once they
 * are on tape the rest goes through a copying pool, so that every block
 * but the stream's last stays full (a stored offset is a block number).
 */
static int
plain_tail(struct dump_state *s, struct ring_block *held)
{
	int rc;

	if ((rc = eng_window_drain(s->win)) < 0)
		return rc;
	if ((rc = eng_compress_new(0, s->p.bs, s->nobuf, 0, 0, &s->cz)) < 0)
		return rc;
	if (held && ((rc = eng_compress_put(s->cz, s->win, held->buf,
	    held->len, false, s->err)) < 0 ||
	    (rc = ring_confirm(s->ring, held->idx)) < 0))
		return rc;
	return eng_compress_put(s->cz, s->win, s->idx, s->idx_len, true, s->err);
}

/*
 * The data path: every source block into the window (through the
 * compressor), then the file index after the archive (a dir: source),
 * then the last part closed once everything is on tape.
 */
static int
copy_stream(struct dump_state *s, struct eng_source *src, double t0)
{
	const struct eng_hooks *hooks = s->o->hooks;
	struct ring_block b, held;
	bool have_held = false, indexed = src->idx_fd >= 0;
	double last_report = eng_now();
	int rc;

	/*
	 * Between blocks, and each second a source keeps none coming: an
	 * abort request in, progress out, and for a media server its
	 * master's connection looked after (a lost one found and reached
	 * again, a SIGHUP taken) while the source stalls.
	 */
	while ((rc = ring_next_wait(s->ring, &b, hooks ? 1000 : 0)) == 1 ||
	    rc == -ETIMEDOUT) {
		if (hooks && hooks->aborted(hooks->ctx)) {
			eng_err(s->err, "aborted by the operator after %llu bytes",
			    (unsigned long long)ring_bytes(s->ring));
			return -ECANCELED;
		}
		if (rc == -ETIMEDOUT)
			continue;
		if (hooks && eng_now() - last_report >= 1.0) {
			last_report = eng_now();
			hooks->progress(hooks->ctx, ring_bytes(s->ring),
			    (double)ring_bytes(s->ring) / 1e6 / (last_report - t0),
			    "writing");
		}
		if (s->cz) {
			rc = eng_compress_put(s->cz, s->win, b.buf, b.len, false,
			    s->err);
			ring_confirm(s->ring, b.idx);	/* zstd has copied it */
		} else if (indexed && b.len < s->p.bs && !have_held) {
			held = b;	/* the archive's end: the index follows */
			have_held = true;
			rc = 0;
		} else {
			rc = eng_window_put(s->win, b.buf, b.len, b.idx);
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0) {
		eng_err(s->err, "reading the source: %s", strerror(-rc));
		return rc;
	}
	/* The source is done: reaped now, its index is whole. */
	uint64_t archive = ring_bytes(s->ring);
	s->src_rc = eng_source_close(src, s->srcerr);
	s->src_closed = true;
	if (indexed && !s->src_rc && (rc = make_index(s, src, archive)) < 0)
		return rc;
	if (s->cz)
		rc = eng_compress_put(s->cz, s->win, s->idx, s->idx_len, true,
		    s->err);
	else if (s->idx)
		rc = plain_tail(s, have_held ? &held : NULL);
	else if (have_held)
		rc = eng_window_put(s->win, held.buf, held.len, held.idx);
	if (rc < 0)
		return rc;
	if ((rc = eng_window_drain(s->win)) < 0)
		return rc;
	s->p.raw_bytes = archive + s->idx_len;
	if ((rc = close_part(s, true)) < 0)
		return rc;
	/* The stream ended at early warning: this cartridge is full too. */
	if (s->p.ends_full)
		mark_full(s);
	return 0;
}

/* Write all of buf to fd: 0 or -errno. */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The index to LOG.fidx/DUMPID (directory 0700, file 0600), durably,
 * before the dump line: direct-mode find and restores, and a media
 * server's upload, read it there. A failure is a warning: the index is on
 * tape with the dump.
 */
static void
save_index(struct dump_state *s, struct eng_dump_result *res)
{
	char dir[PATH_MAX], path[PATH_MAX + 40], tmp[48];
	const char *id = s->p.h.dump_id;
	struct stat sb;
	int fd = -1, dfd = -1, rc = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s.fidx", s->o->log) >=
	    sizeof(dir)) {
		log_warn("dump log path too long for its index directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	/*
	 * Readers trust what is in there first: the directory is ours and
	 * writable by us alone, never followed through a link; the copy is
	 * made inside it by its descriptor (hostile13 H16: a symlink at
	 * LOG.fidx sent the copies elsewhere, a 0777 one was kept).
	 */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		rc = -errno;
		if ((errno == ELOOP || errno == ENOTDIR) && lstat(dir, &sb) == 0 &&
		    S_ISLNK(sb.st_mode)) {
			log_warn("%s is a symbolic link: the index copy of dump %s "
			    "is not written there (it is on tape with the dump)",
			    dir, id);
			return;
		}
		goto out;
	}
	if (fstat(dfd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	if (sb.st_uid != geteuid()) {
		log_warn("%s belongs to uid %u, not to this dump's %u: the index "
		    "copy of dump %s is not written there (it is on tape with "
		    "the dump)", dir, (unsigned)sb.st_uid, (unsigned)geteuid(),
		    id);
		close(dfd);
		return;
	}
	if ((sb.st_mode & 022) && fchmod(dfd, sb.st_mode & 0700) == 0)
		log_warn("%s was writable by others (mode %03o): made %03o",
		    dir, (unsigned)(sb.st_mode & 0777),
		    (unsigned)(sb.st_mode & 0700));
	else if (sb.st_mode & 022) {
		rc = -errno;
		goto out;
	}
	/* A leftover of a dump that died here is no file of ours to write
	   through. */
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
		rc = -errno;
		goto out;
	}
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = write_all(fd, s->idx, s->idx_len)) < 0)
		goto out;
	if (fsync(fd) < 0 || renameat(dfd, tmp, dfd, id) < 0 ||
	    fsync(dfd) < 0) {
		rc = -errno;
		goto out;
	}
	snprintf(res->index_path, sizeof(res->index_path), "%s", path);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && dfd >= 0)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		log_warn("file index of dump %s to %s: %s (it is on tape with "
		    "the dump)", id, path, strerror(-rc));
}

/*
 * Every part is on tape and confirmed: now the dump may be recorded, as
 * complete, or as source-failed if the source said it failed.
 */
static int
record_dump(struct dump_state *s, struct eng_source *src,
    struct eng_dump_result *res)
{
	const struct eng_dump_opts *o = s->o;
	const struct eng_part *p = &s->p;
	struct cat_dl_rec rec;
	char *srcerr = s->srcerr;
	int src_rc, rc;

	if (!s->src_closed) {
		s->src_rc = eng_source_close(src, s->srcerr);
		s->src_closed = true;
	}
	src_rc = s->src_rc;
	eng_part_record(&rec, &p->first);
	rec.type = CAT_DL_DUMP;
	rec.part = p->h.part;
	rec.bytes = p->stream_bytes;
	rec.blocks = p->stream_blocks;
	rec.raw_bytes = p->raw_bytes;
	snprintf(rec.written, sizeof(rec.written), "%s", p->final_written);
	snprintf(rec.digest, sizeof(rec.digest), "%s", p->final_digest);
	snprintf(rec.raw_digest, sizeof(rec.raw_digest), "%s",
	    p->final_raw_digest);
	snprintf(rec.status, sizeof(rec.status), "%s",
	    src_rc ? "source-failed" : "complete");
	snprintf(rec.base, sizeof(rec.base), "%s", s->base);
	rec.index_raw = p->index_raw;
	rec.index_stored = p->index_stored;
	rec.index_bytes = p->index_bytes;
	/* The index beside the log first: a dump line's index is there. */
	if (s->idx && !src_rc)
		save_index(s, res);
	if (o->commit && p->defer) {
		/* On tape, not yet for sure: told at the commit point. */
		eng_rec_stamp(o, &rec);
		if ((rc = eng_commit_push(o->commit, &rec)) < 0) {
			eng_err(s->err, "out of memory for the commit's lines");
			return rc;
		}
		o->commit->pending++;
	} else if ((rc = eng_log_append(o, &rec)) < 0) {
		eng_err(s->err, "dump log %s: %s", o->log, strerror(-rc));
		return rc;
	} else if (o->commit && o->commit->on_commit) {
		o->commit->on_commit(o->commit->ctx, &rec);
	}
	/* Deferred: the catalog hears of it at the commit point. */
	if (!src_rc && o->hooks && !(o->commit && p->defer) &&
	    o->hooks->event(o->hooks->ctx, "dump", &rec, p->first.label,
	    p->first.tape_id, NULL) < 0)
		log_warn("abs-ctld did not record dump %s as complete (it is in "
		    "the dump log %s)", rec.dump_id, o->log);
	if (src_rc) {
		eng_err(s->err, "%s; the stream on tape %s file %llu is recorded as "
		    "source-failed and will not be restored by default", srcerr,
		    p->first.label, (unsigned long long)p->first.file);
		return src_rc;
	}
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", p->h.dump_id);
	snprintf(res->label, sizeof(res->label), "%s", p->first.label);
	snprintf(res->labels, sizeof(res->labels), "%s", p->labels);
	res->file = p->first.file;
	res->parts = p->h.part;
	res->raw_bytes = p->raw_bytes;
	res->bytes = p->stream_bytes;
	memcpy(res->digest, p->final_digest, sizeof(res->digest));
	memcpy(res->raw_digest, p->final_raw_digest, sizeof(res->raw_digest));
	snprintf(res->digest_alg, sizeof(res->digest_alg), "%s", p->h.digest);
	snprintf(res->base, sizeof(res->base), "%s", s->base);
	res->index_raw = p->index_raw;
	res->index_stored = p->index_stored;
	res->index_bytes = p->index_bytes;
	return 0;
}

static void log_bad_tape(struct dump_state *s, const char *why);

/* End an attempt, whatever its outcome; the result's counts. */
static void
end_attempt(struct dump_state *s, struct eng_source *src, int rc,
    struct eng_dump_result *res)
{
	struct tsg_status st;

	eng_window_abandon(s->win);
	if (rc < 0 && s->p.open && s->p.dev) {
		/* Close the partial file so the tape stays appendable. */
		bool synced = tsg_write_filemarks(s->p.dev, 1, false, &st) == 0;
		s->p.open = false;
		/* Synchronous: the dumps before it are on the medium. */
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", s->err);
		eng_part_commit(&s->p, synced);
		snprintf(s->err, ENG_ERRLEN, "%s", why);
	}
	if (src->pid || src->fd >= 0) {
		char ignore[ENG_ERRLEN];
		if (src->pid)
			kill(src->pid, SIGTERM);
		eng_source_close(src, ignore);
	}
	eng_source_free(src);
	if (s->fault == ENG_FAULT_NONE)
		s->fault = eng_window_fault(s->win);
	/* A commit point's read back failed on this cartridge: it fails
	   (dump_retrying takes it out of use; an aborted dump is not tried
	   again, the cartridge is taken out of use here). */
	if (s->o->commit && s->o->commit->bad) {
		struct eng_commit *c = s->o->commit;
		c->bad = false;
		free(c->bad_rec);
		c->bad_rec = NULL;
		if (rc == -ECANCELED) {
			enum eng_fault f = s->fault;
			s->fault = ENG_FAULT_VERIFY;
			log_bad_tape(s, c->why);
			eng_changer_skip(s->chg, s->p.l.tape_id);
			s->fault = f;
		} else if (rc < 0 && s->fault == ENG_FAULT_NONE) {
			s->fault = ENG_FAULT_VERIFY;
		}
	}
	res->verify_checked = s->spot.checked;
	res->verify_bad = s->spot.bad;
	res->verify_seconds = s->spot.secs;
	res->handovers = s->handovers;
	res->handover_seconds = s->handover_secs;
	res->no_trailer = s->p.no_trailer;
	eng_compress_free(s->cz);
	s->cz = NULL;
	/* A run of dumps keeps the ring's buffers for its next dump. */
	if (s->ring && s->o->commit && !s->o->commit->ring &&
	    ring_reset(s->ring) == 0)
		s->o->commit->ring = s->ring;
	else
		ring_free(s->ring);
	s->ring = NULL;
}

/* One attempt at the whole dump, onto the tape in the drive and after. */
static int
dump_once(struct dump_state *s, time_t since, struct eng_dump_result *res)
{
	struct eng_source src = { .fd = -1 };
	double t0 = eng_now();
	int rc;

	if ((rc = start_attempt(s, since, &src)) == 0 &&
	    (rc = open_part(s)) == 0 &&
	    (rc = copy_stream(s, &src, t0)) == 0)
		rc = record_dump(s, &src, res);
	end_attempt(s, &src, rc, res);
	res->seconds = eng_now() - t0;
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

	eng_part_record(&rec, &s->p.h);
	rec.type = CAT_DL_ERROR;
	snprintf(rec.label, sizeof(rec.label), "%s", s->p.l.label);
	snprintf(rec.tape_id, sizeof(rec.tape_id), "%s", s->p.l.tape_id);
	snprintf(rec.drive, sizeof(rec.drive), "%s", s->o->device);
	util_fmt_time(clock_now(), rec.date, sizeof(rec.date));
	snprintf(rec.status, sizeof(rec.status), "%s",
	    eng_fault_status(s->fault));
	eng_log_append(s->o, &rec);
	rec.type = CAT_DL_BAD;
	snprintf(rec.status, sizeof(rec.status), "out-of-service");
	eng_log_append(s->o, &rec);
	log_warn("cartridge %s taken out of use: %s",
	    s->p.l.label, why);
	if (s->o->hooks)
		s->o->hooks->event(s->o->hooks->ctx, "bad-tape", NULL, s->p.l.label,
		    s->p.l.tape_id, why);
}

/* Buffers for one job: part blocks, read-back, the window. */
static int
dump_alloc(struct dump_state *s)
{
	const struct eng_dump_opts *o = s->o;
	int rc;

	if ((rc = eng_part_init(&s->p)) < 0 ||
	    (rc = eng_spot_init(&s->spot, o->verify_rate, s->p.bs)) < 0)
		return rc;
	/* Window: every ring buffer or compression buffer, plus one. */
	unsigned want = o->queue ? o->queue : 8;
	unsigned rdepth = o->depth ? o->depth : 8;
	struct eng_window_ops ops = { s, w_submit, w_reap, w_retire, w_span };
	s->nobuf = want + 1;
	return eng_window_new((rdepth > 2 * want ? rdepth : 2 * want) +
	    s->nobuf + 1, &ops, s->err, &s->win);
}

static void
dump_free(struct dump_state *s)
{
	/* A run of dumps keeps its changer (what it learnt of full and bad
	   cartridges, read from the dump log once) for the next dump. */
	if (s->chg && s->o->commit && !s->o->commit->chg)
		s->o->commit->chg = s->chg;
	else
		eng_changer_free(s->chg);
	s->chg = NULL;
	eng_window_free(s->win);
	eng_spot_fini(&s->spot);
	eng_part_fini(&s->p);
	tsg_free(s->p.dev);
}

/* The run's changer, from its last dump, or a new one. */
static int
changer_for(struct dump_state *s, struct eng_changer_opts *co)
{
	struct eng_commit *c = s->o->commit;

	if (c && c->chg) {
		s->chg = c->chg;
		c->chg = NULL;
		return 0;
	}
	return eng_changer_open(co, &s->chg, s->err);
}

/*
 * Direct mode's first cartridge: the one in the drive if it may be
 * written; a blank one labelled from --autolabel; with an empty drive in a
 * library, or a cartridge the dump log says is full, the changer's choice.
 */
static int
first_direct(struct dump_state *s, struct eng_changer_opts *co)
{
	const struct eng_dump_opts *o = s->o;
	bool empty;
	int rc;

	rc = eng_open(o->device, &s->p.dev, s->err);
	empty = rc == -ENOMEDIUM;
	if (rc == 0)
		rc = first_tape(s);
	co->pool = rc == 0 ? s->p.l.pool : o->pool ? o->pool : "default";
	if (rc < 0 && !(empty && !o->expect_label) &&
	    !(rc == -ENODATA && o->autolabel && !o->expect_label))
		return rc;
	int orc = rc;
	if ((rc = changer_for(s, co)) < 0)
		return rc;
	if (orc == -ENODATA)	/* blank, and --autolabel names it */
		return eng_changer_label_blank(s->chg, s->p.dev, NULL, &s->p.l,
		    s->err);
	if (orc < 0 && !eng_changer_is_library(s->chg))
		return orc;	/* an empty drive nobody but the operator fills */
	if (orc == 0 && !eng_changer_is_full(s->chg, s->p.l.tape_id))
		return 0;
	if (orc == 0 && o->expect_label) {
		eng_err(s->err, "cartridge %s is full (the dump log %s says it "
		    "reached early warning)", s->p.l.label, o->log);
		return -ENOSPC;
	}
	if (orc == 0)
		log_warn("cartridge %s is full (the dump log %s says it reached "
		    "early warning): taking another", s->p.l.label, o->log);
	else
		log_warn("%s: the library's changer chooses a cartridge", s->err);
	return eng_changer_next_writable(s->chg, &s->p.dev, &s->p.l, s->err);
}

/*
 * The first cartridge: the catalog's choice for a media server, else the
 * one in the drive; and the changer for the ones after it.
 */
static int
first_cartridge(struct dump_state *s)
{
	const struct eng_dump_opts *o = s->o;
	struct eng_changer_opts co = { .uri = o->device, .hooks = o->hooks,
	    .autolabel = o->autolabel, .log = o->log, .block_size = s->p.bs,
	    .mount_timeout = o->mount_timeout, .media = o->media,
	    .media_ctx = o->media_ctx };
	int rc;

	if (o->commit && o->commit->dev) {
		/* The run's drive, held at end of data since its last dump. */
		s->p.dev = o->commit->dev;
		o->commit->dev = NULL;
		s->p.l = o->commit->l;
		s->p.resume_file = o->commit->next_file;
		co.pool = s->p.l.pool;
		if ((rc = changer_for(s, &co)) < 0)
			return rc;
	} else if (o->hooks) {
		co.pool = o->pool ? o->pool : "default";
		if ((rc = eng_changer_open(&co, &s->chg, s->err)) < 0)
			return rc;
		if ((rc = eng_changer_next_writable(s->chg, &s->p.dev, &s->p.l,
		    s->err)) < 0)
			return rc;
	} else if ((rc = first_direct(s, &co)) < 0) {
		return rc;
	} else if (!tsg_is_stream(s->p.dev)) {
		/* The cartridge found in the drive (a changer's says so). */
		eng_changer_loaded(s->chg, s->p.l.label, "the drive");
	}
	/*
	 * Bad in the dump log: never written again. (Full in the log: in
	 * direct mode first_direct took another; a media server writes what
	 * the catalog chose, e.g. a full tape it recycled, and a tape that
	 * really is full is found so before a part is begun.)
	 */
	if (eng_changer_skipped(s->chg, s->p.l.tape_id) &&
	    !eng_changer_is_full(s->chg, s->p.l.tape_id)) {
		eng_err(s->err, "cartridge %s was taken out of use (see the dump "
		    "log)", s->p.l.label);
		return -EIO;
	}
	return 0;
}

/*
 * A cartridge that fails (medium error, bad read-back) is taken out of use
 * and the entity is dumped again onto another, if its source can be read
 * again (a pipe cannot).
 */
static int
dump_retrying(struct dump_state *s, time_t since, struct eng_dump_result *res)
{
	int rc;

	for (unsigned attempt = 0;; attempt++) {
		rc = dump_once(s, since, res);
		if (rc == 0 || s->fault == ENG_FAULT_NONE)
			return rc;
		log_bad_tape(s, s->err);
		eng_changer_skip(s->chg, s->p.l.tape_id);
		res->retries = attempt + 1;
		if (attempt >= s->o->retries || !s->src_again)
			return rc;
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", s->err);
		log_warn("dumping %s again on another cartridge "
		    "(%s)", s->o->entity, why);
		if ((rc = eng_changer_next_writable(s->chg, &s->p.dev, &s->p.l,
		    s->err)) < 0)
			return rc;
	}
}

/*
 * After a dump of a run with commit points: keep the drive at end of data
 * for the next dump when this one ended cleanly there (a trailer, the
 * cartridge not full). true when it is kept.
 */
static bool
hold_drive(struct dump_state *s, int rc)
{
	struct eng_commit *c = s->o->commit;

	if (rc < 0 || !s->p.dev || tsg_is_stream(s->p.dev) ||
	    s->p.ends_full || s->p.no_trailer || c->dev)
		return false;
	c->dev = s->p.dev;
	s->p.dev = NULL;
	c->l = s->p.l;
	c->next_file = s->p.h.file + 2;	/* after the part and its trailer */
	return true;
}

/*
 * A commit point's read back failed outside a dump: the cartridge out of
 * use, as log_bad_tape does (the dump log's error and bad lines, the
 * catalog's bad-tape).
 */
static void
commit_bad_tape(struct eng_commit *c, const struct eng_dump_opts *o,
    const char *why)
{
	struct cat_dl_rec rec;

	c->bad = false;
	memset(&rec, 0, sizeof(rec));
	if (c->bad_rec) {	/* the dump's fields, as log_bad_tape has them */
		memcpy(rec.dump_id, c->bad_rec->dump_id, sizeof(rec.dump_id));
		memcpy(rec.entity, c->bad_rec->entity, sizeof(rec.entity));
		memcpy(rec.since, c->bad_rec->since, sizeof(rec.since));
		rec.level = c->bad_rec->level;
		memcpy(rec.server, c->bad_rec->server, sizeof(rec.server));
		memcpy(rec.partition, c->bad_rec->partition,
		    sizeof(rec.partition));
		rec.job = c->bad_rec->job;
		memcpy(rec.site, c->bad_rec->site, sizeof(rec.site));
		free(c->bad_rec);
		c->bad_rec = NULL;
	}
	rec.type = CAT_DL_ERROR;
	snprintf(rec.label, sizeof(rec.label), "%s", c->bad_label);
	snprintf(rec.tape_id, sizeof(rec.tape_id), "%.32s", c->bad_tape_id);
	snprintf(rec.drive, sizeof(rec.drive), "%s", o->device ? o->device : "");
	util_fmt_time(clock_now(), rec.date, sizeof(rec.date));
	snprintf(rec.status, sizeof(rec.status), "%s",
	    eng_fault_status(ENG_FAULT_VERIFY));
	if (o->log) {
		eng_log_append(o, &rec);
		rec.type = CAT_DL_BAD;
		snprintf(rec.status, sizeof(rec.status), "out-of-service");
		eng_log_append(o, &rec);
	}
	log_warn("cartridge %s taken out of use: %s", c->bad_label, why);
	if (o->hooks)
		o->hooks->event(o->hooks->ctx, "bad-tape", NULL, c->bad_label,
		    c->bad_tape_id, why);
}

int
eng_commit_end(struct eng_commit *c, const struct eng_dump_opts *o, char *err)
{
	struct eng_part p = { .o = o, .err = err, .dev = c->dev };
	struct tsg_status st;
	int rc;

	rc = eng_part_commit(&p, false);
	if (c->bad)
		commit_bad_tape(c, o, err);
	if (c->dev && o->lbp)
		tsg_set_lbp(c->dev, false, &st);
	tsg_free(c->dev);
	c->dev = NULL;
	ring_free(c->ring);
	c->ring = NULL;
	eng_changer_free(c->chg);
	c->chg = NULL;
	free(c->recs);
	c->recs = NULL;
	c->nrec = c->caprec = 0;
	eng_commit_held_drop(c, 0);
	free(c->bad_rec);
	c->bad_rec = NULL;
	return rc;
}

int
eng_dump(const struct eng_dump_opts *o, struct eng_dump_result *res, char *err)
{
	struct dump_state s = { .o = o, .err = err };
	time_t since = 0;
	int rc, orc;

	memset(res, 0, sizeof(*res));
	if (o->commit && o->commit->since == 0)
		o->commit->since = eng_now();
	if ((rc = check_opts(o, &since, err)) < 0)
		return rc;
	s.p.o = o;
	s.p.err = err;
	s.p.bs = o->block_size ? o->block_size : FMT_DEFAULT_BLOCK;
	s.p.alg = (enum digest_alg)digest_alg_from_name(o->digest ? o->digest :
	    "xxh128");
	s.level = eng_compress_level(o->compress);
	if ((rc = find_base(&s, &since)) < 0)
		return rc;
	if ((rc = dump_alloc(&s)) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = first_cartridge(&s)) < 0)
		goto out;
	rc = dump_retrying(&s, since, res);
	res->lbp = s.p.lbp;
	res->drive_verified = s.spot.drive_verified;
	if (o->commit && hold_drive(&s, rc))
		goto out;
	if (o->commit && (orc = eng_part_commit(&s.p, false)) < 0 && rc == 0) {
		/* The dump was written, but no commit point covers it. */
		rc = orc;
	}
	if (o->commit && o->commit->bad) {
		o->commit->bad = false;
		free(o->commit->bad_rec);
		o->commit->bad_rec = NULL;
		s.fault = ENG_FAULT_VERIFY;
		log_bad_tape(&s, err);
	}
	if (s.p.lbp && s.p.dev) {
		/* Drives keep mode pages: leave this one as we found it. */
		struct tsg_status st;
		tsg_set_lbp(s.p.dev, false, &st);
	}
out:
	free(s.idx);
	dump_free(&s);
	return rc;
}
