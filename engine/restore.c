/*
 * restore, verify and list: a dump's stream read back through the stream
 * reader (stream.c) and extracted, written out, or only proven; a
 * cartridge's files listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/util.h"
#include "common/esc.h"
#include "common/log.h"
#include "engine/chain.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/extract.h"
#include "engine/source.h"
#include "engine/stream.h"
#include "engine/tape.h"

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

/*
 * The drive and what is in it: a library's drive, or a media server's,
 * may be empty, since the changer or the operator brings what the dump
 * log names.
 */
static int
restore_drive(const struct eng_restore_opts *o, struct eng_stream *sr,
    struct fmt_label *l)
{
	bool fetch = o->log && (eng_changer_is_library(sr->chg) || o->hooks);
	int rc;

	memset(l, 0, sizeof(*l));
	rc = eng_open(o->device, sr->devp, sr->err);
	if (rc < 0 && !fetch)
		return rc;
	if (*sr->devp && (rc = eng_read_label(*sr->devp, l, sr->err)) < 0 &&
	    !fetch)
		return rc;
	sr->err[0] = '\0';
	if (l->block_size)
		sr->bs_hint = l->block_size;
	if (o->expect_label && strcmp(o->expect_label, l->label)) {
		eng_err(sr->err, "wrong tape: %s is in the drive, %s was asked for",
		    l->label, o->expect_label);
		return -EMEDIUMTYPE;
	}
	return 0;
}

/*
 * Where the dump's parts are: the dump log's parts, or part 1 at a tape
 * file of the cartridge in the drive (given, or the newest of entity's
 * found by a scan), the parts after it found as they are needed.
 */
static int
restore_locate(const struct eng_restore_opts *o, struct eng_stream *sr,
    const struct fmt_label *l, const struct eng_chain *c)
{
	uint64_t file = 0;
	int rc;

	if (o->log && o->file < 0) {
		if (c)
			rc = eng_stream_from_log_id(sr, o->log,
			    c->d[c->n - 1].rec.dump_id);
		else if (o->dump_id)
			rc = eng_stream_from_log_id(sr, o->log, o->dump_id);
		else
			rc = eng_stream_from_log(sr, o->log, o->entity, o->date);
		if (rc < 0)
			return rc;
		/* Another cartridge, and nobody to fetch it: say which. */
		if (!eng_changer_is_library(sr->chg) && o->no_wait &&
		    strcmp(sr->parts[0].tape_id, l->tape_id) != 0) {
			eng_err(sr->err, "the dump of %s starts on tape %s; %s is in "
			    "the drive: mount %s", o->entity, sr->parts[0].label,
			    l->label, sr->parts[0].label);
			return -EMEDIUMTYPE;
		}
		return 0;
	}
	if (o->file >= 0)
		file = (uint64_t)o->file;
	else if ((rc = find_on_tape(*sr->devp, o, sr->buf, l->block_size, &file,
	    sr->err)) < 0)
		return rc;
	if (!(sr->parts = calloc(1, sizeof(*sr->parts))))
		return -ENOMEM;
	sr->nparts = 1;
	sr->scan_more = true;
	snprintf(sr->parts[0].label, sizeof(sr->parts[0].label), "%s", l->label);
	snprintf(sr->parts[0].tape_id, sizeof(sr->parts[0].tape_id), "%s",
	    l->tape_id);
	sr->parts[0].file = file;
	sr->parts[0].part = 1;
	return 0;
}

/* Pull the whole stream through, using nothing: every check still runs. */
static int
drain(struct eng_stream *sr)
{
	const void *p;
	long n;

	while ((n = eng_stream_pull(sr, &p)) > 0)
		;
	return n < 0 ? (sr->error ? sr->error : -EIO) : 0;
}

/*
 * A new file at path, never through what was there: whatever a user put
 * at that name (a symlink to /etc/shadow, say) is removed, not followed.
 * made gets the file's identity, for the rename that ends the restore.
 */
static int
open_new(const char *path, struct stat *made)
{
	int fd;

	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0 && fstat(fd, made) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write the stream to a file (a new one if made), or to stdout. */
static int
restore_to_fd(const struct eng_restore_opts *o, const char *to,
    struct stat *made, struct eng_stream *sr)
{
	int fd = o->to_stdout ? 1 : made ? open_new(to, made) :
	    open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const void *p;
	long n;
	int rc = 0;

	if (fd < 0) {
		eng_err(sr->err, "%s: %s", to, strerror(errno));
		return -errno;
	}
	while ((n = eng_stream_pull(sr, &p)) > 0) {
		if ((rc = util_write_all(fd, p, (size_t)n)) < 0) {
			eng_err(sr->err, "writing the restored data: %s",
			    strerror(-rc));
			break;
		}
	}
	if (rc == 0)
		rc = n < 0 ? (sr->error ? sr->error : -EIO) : 0;
	if (fd > 1 && close(fd) < 0 && rc == 0) {
		eng_err(sr->err, "%s: %s", to, strerror(errno));
		rc = -errno;
	}
	return rc;
}

/*
 * A file is restored as TO.abs-partial and renamed to TO once every byte
 * is proven, so a failed restore never leaves a TO that looks whole. A
 * device or a FIFO (anything but a regular file) is written in place.
 */
static int
restore_file(const struct eng_restore_opts *o, struct eng_stream *sr)
{
	char tmp[PATH_MAX], why[ENG_ERRLEN];
	struct stat sb, made, now;
	bool staged = !(stat(o->to, &sb) == 0 && !S_ISREG(sb.st_mode));
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.abs-partial", o->to) >=
	    sizeof(tmp)) {
		eng_err(sr->err, "%s: path too long", o->to);
		return -ENAMETOOLONG;
	}
	rc = restore_to_fd(o, staged ? tmp : o->to, staged ? &made : NULL, sr);
	if (rc == 0 && sr->error)
		rc = sr->error;
	if (rc == 0)
		rc = eng_stream_check_end(sr);
	if (!staged)
		return rc;
	/* Still the file we wrote (not one swapped in since)? */
	if (rc == 0 && (lstat(tmp, &now) < 0 || now.st_dev != made.st_dev ||
	    now.st_ino != made.st_ino)) {
		rc = -EEXIST;
		eng_err(sr->err, "%s was replaced while the restore wrote it", tmp);
	}
	if (rc == 0 && rename(tmp, o->to) < 0) {
		rc = -errno;
		eng_err(sr->err, "%s: %s", o->to, strerror(errno));
	}
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", sr->err);
		eng_err(sr->err, "%s; restore INCOMPLETE: what was read before the "
		    "failure is in %s, %s was not written", why, tmp, o->to);
	}
	return rc;
}

/*
 * A tree: extracted, then the rest of the stream drained so every block
 * and digest is checked; the tree stays marked incomplete until then.
 * Refused entries fail the restore unless the caller allows them.
 */
static int
restore_tree(const struct eng_restore_opts *o, struct eng_stream *sr,
    struct eng_restore_result *res)
{
	struct eng_extract *x;
	char what[1600];
	int rc;

	snprintf(what, sizeof(what), "%s of %s, level %d, dumped %s (dump %s, "
	    "%s tape file %llu)", sr->h.source, sr->h.entity, sr->h.level,
	    sr->h.dump_date, sr->h.dump_id, sr->h.label,
	    (unsigned long long)sr->h.file);
	if ((rc = eng_extract_new(o->to, what, o->root_onto_existing,
	    o->onto_nonempty, &x,
	    sr->err)) < 0)
		return rc;
	rc = eng_extract_run(x, eng_stream_pull, sr, sr->err);
	if (rc == 0)
		rc = drain(sr);
	if (rc == 0 && sr->error)
		rc = sr->error;
	if (rc == 0)
		rc = eng_stream_check_end(sr);
	/* Refusals first: the marker stays with them (hostile13 H6). */
	eng_extract_counts(x, &res->entries, &res->refused);
	if (rc == 0 && !o->allow_refused)
		rc = eng_extract_refusals(res->refused, res->entries, "dump",
		    sr->err);
	rc = eng_extract_finish(x, rc, sr->err);
	eng_extract_free(x);
	return rc;
}

/* The stream into its place: a tree extracted, or a file's bytes. */
static int
restore_stream(const struct eng_restore_opts *o, struct eng_stream *sr,
    struct eng_restore_result *res)
{
	int rc;

	if ((strcmp(sr->h.source_kind, "dir") == 0 || o->extract) &&
	    !o->to_stdout && !o->verify_only)
		return restore_tree(o, sr, res);
	if (!o->verify_only && !o->to_stdout)
		return restore_file(o, sr);
	rc = o->verify_only ? drain(sr) : restore_to_fd(o, o->to, NULL, sr);
	if (rc == 0 && sr->error)
		rc = sr->error;
	if (rc == 0)
		rc = eng_stream_check_end(sr);
	return rc;
}

/*
 * No complete dump of entity among the tapes' headers: a part of one
 * whose trailer is missing (a write cut short, a lost trailer) is the
 * likely reason; name the newest such part after err.
 */
static void
scan_note(const char *log, const char *entity, char *err)
{
	FILE *f = entity ? fopen(log, "r") : NULL;
	struct cat_dl_rec r, best;
	char line[8192];
	bool have = false;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (cat_dl_parse(line, &r) == 0 && r.type == CAT_DL_PART &&
		    strcmp(r.entity, entity) == 0 &&
		    strcmp(r.status, "no-trailer") == 0 &&
		    (!have || strcmp(r.date, best.date) >= 0)) {
			best = r;
			have = true;
		}
	fclose(f);
	if (have) {
		size_t n = strlen(err);
		snprintf(err + n, ENG_ERRLEN - n, "; tape file %llu of %s holds "
		    "part %u of dump %s of %s (%s), which has no trailer: its "
		    "write was cut short or its trailer is lost (--file %llu "
		    "with that cartridge in the drive reads what is there)",
		    (unsigned long long)best.file, best.label, best.part,
		    best.dump_id, best.entity, best.date,
		    (unsigned long long)best.file);
	}
}

int
eng_restore(const struct eng_restore_opts *opts, struct eng_restore_result *res,
    char *err)
{
	struct eng_restore_opts abs_o = *opts;
	const struct eng_restore_opts *o = &abs_o;
	char device[PATH_MAX + 64];
	struct eng_stream sr;
	struct eng_changer_opts co = { .uri = device,
	    .mount_timeout = opts->mount_timeout, .hooks = opts->hooks };
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	struct eng_chain chain = { 0 };
	bool have_chain = false, via_scan = false, library;
	double t0 = eng_now();
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&sr, 0, sizeof(sr));
	if (!o->to_stdout && !o->to && !o->verify_only) {
		eng_err(err, "say where to: --to PATH or --stdout");
		return -EINVAL;
	}
	/* A tree is extracted from inside it: the drive by its full path. */
	if ((rc = eng_uri_absolute(opts->device, device, sizeof(device))) < 0) {
		eng_err(err, "%s: %s", opts->device, strerror(-rc));
		return rc;
	}
	abs_o.device = device;
	sr.devp = &dev;
	sr.err = err;
	sr.bs_hint = FMT_DEFAULT_BLOCK;
	sr.strict = o->verify_only;
	sr.queue = o->queue;
	if (!(sr.buf = aligned_alloc(4096, FMT_MAX_BLOCK)))
		return -ENOMEM;
	/* With a log, the chain that ends at the dump asked for. */
	if (o->log && o->file < 0 && !o->verify_only && !o->dump_id) {
		bool no_base;
		if ((rc = eng_chain_from_log(o->log, o->entity, o->date,
		    o->level_only, &chain, &no_base, err)) < 0)
			goto out;
		have_chain = true;
		if (no_base)
			log_warn("dump %s of %s is level %d with no base recorded "
			    "(dumped with --since alone): it is restored by "
			    "itself", chain.d[0].rec.dump_id, o->entity,
			    chain.d[0].rec.level);
	}
	if ((rc = eng_changer_open(&co, &sr.chg, err)) < 0)
		goto out;
	/*
	 * No log: --path needs one, made from the tapes' headers; in a
	 * library so does any restore by entity, since the newest dump of it
	 * may be on any cartridge (not only the one in the drive).
	 */
	if (!o->log && (o->npaths || (o->file < 0 && !o->verify_only &&
	    eng_changer_is_library(sr.chg)))) {
		via_scan = true;
		goto out;
	}
	if ((rc = restore_drive(o, &sr, &l)) < 0)
		goto out;
	if (have_chain && (o->npaths || chain.n > 1)) {
		struct eng_chain_io io = { .o = o, .devp = &dev, .chg = sr.chg,
		    .buf = sr.buf, .bs_hint = sr.bs_hint, .err = err };
		rc = o->npaths ? eng_chain_paths(&io, &chain, res) :
		    eng_chain_restore(&io, &chain, res);
		goto out;
	}
	if ((rc = restore_locate(o, &sr, &l, have_chain ? &chain : NULL)) < 0 ||
	    (rc = eng_stream_open(&sr, 0)) < 0)
		goto out;
	if (o->entity && strcmp(sr.h.entity, o->entity) != 0) {
		eng_err(err, "tape file %llu holds %s, not %s",
		    (unsigned long long)sr.parts[0].file, sr.h.entity, o->entity);
		rc = -ENOENT;
		goto out;
	}
	/* No log, an incremental with a base: its chain, from the headers. */
	if (!o->log && o->file < 0 && !o->verify_only && !o->level_only &&
	    sr.h.level > 0 && sr.h.base[0] && strcmp(sr.h.base, "-") != 0) {
		via_scan = true;
		goto out;
	}
	snprintf(res->source_kind, sizeof(res->source_kind), "%s",
	    sr.h.source_kind);
	rc = restore_stream(o, &sr, res);
	res->bytes = sr.bytes;
	res->raw_bytes = sr.rd ? sr.raw_bytes : sr.bytes;
	res->blocks = sr.blocks;
	res->file = sr.parts[0].file;
	res->parts = sr.cur + 1;
	res->log_proven = sr.log_proven;
	res->dumps = 1;
	res->meta_blocks = sr.meta_blocks;
	res->read_bytes = sr.read_bytes;
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", sr.h.dump_id);
out:
	eng_chain_free(&chain);
	res->seconds = eng_now() - t0;
	eng_stream_free(&sr);
	free(sr.buf);
	library = sr.chg && eng_changer_is_library(sr.chg);
	eng_changer_free(sr.chg);
	tsg_free(dev);
	if (via_scan) {
		/* Scan the cartridge (a library: all of them), restore from it. */
		struct eng_scanlog sl;
		log_info("no dump log: the chain is found from the tapes' headers "
		    "(%s)", library ? "every cartridge of the library" :
		    "the cartridge in the drive");
		rc = eng_chain_scan_log(device, library, &sl, err);
		if (rc == 0) {
			abs_o.log = sl.log;
			rc = eng_restore(&abs_o, res, err);
		}
		/* The scan's log is a temporary file: say what it stands for. */
		char *at = sl.log[0] ? strstr(err, sl.log) : NULL;
		if (rc < 0 && at) {
			char why[ENG_ERRLEN];
			snprintf(why, sizeof(why), "%.*s%s%s", (int)(at - err), err,
			    library ? "the headers of every cartridge of the "
			    "library (no --log given)" : "the headers of the "
			    "cartridge in the drive (no --log given)",
			    at + strlen(sl.log));
			snprintf(err, ENG_ERRLEN, "%s", why);
			if (rc == -ENOENT)
				scan_note(sl.log, o->entity, err);
		}
		if (rc < 0 && sl.unreadable[0]) {
			size_t n = strlen(err);
			snprintf(err + n, ENG_ERRLEN - n, "; the scan could not "
			    "read %s", sl.unreadable);
		}
		eng_chain_scan_log_free(&sl);
		res->seconds = eng_now() - t0;
	}
	return rc;
}

int
eng_find_cmd(const struct eng_restore_opts *opts, const char *pattern,
    bool json, FILE *out, uint64_t *matches, char *err)
{
	struct eng_restore_opts o = *opts;
	char device[PATH_MAX + 64];
	struct eng_stream sr;
	struct eng_changer_opts co = { .uri = device,
	    .mount_timeout = opts->mount_timeout, .hooks = opts->hooks };
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	int rc;

	*matches = 0;
	memset(&sr, 0, sizeof(sr));
	if (!o.log && !o.device) {
		eng_err(err, "find reads the dumps' indexes: --log DUMPLOG, or "
		    "--device URI to read them from the tapes");
		return -EINVAL;
	}
	if (!opts->device)
		device[0] = '\0';
	else if ((rc = eng_uri_absolute(opts->device, device,
	    sizeof(device))) < 0) {
		eng_err(err, "%s: %s", opts->device, strerror(-rc));
		return rc;
	}
	o.device = device;
	if (!o.log) {
		/* The tapes' headers and indexes make the log (restore.c too). */
		struct eng_scanlog sl;
		struct eng_changer *c = NULL;
		bool library = eng_changer_new(&co, &c) == 0 &&
		    eng_changer_is_library(c);
		eng_changer_free(c);
		if ((rc = eng_chain_scan_log(device, library, &sl, err)) == 0) {
			o.log = sl.log;
			rc = eng_find_cmd(&o, pattern, json, out, matches, err);
		}
		eng_chain_scan_log_free(&sl);
		return rc;
	}
	sr.devp = &dev;
	sr.err = err;
	sr.bs_hint = FMT_DEFAULT_BLOCK;
	if (!(sr.buf = aligned_alloc(4096, FMT_MAX_BLOCK)))
		return -ENOMEM;
	if (!device[0] || (rc = eng_changer_open(&co, &sr.chg, err)) == 0) {
		/* The drive only matters for an index not in the log's copy. */
		if (device[0] && restore_drive(&o, &sr, &l) < 0)
			log_info("%s: %s (indexes are read from the dump log's "
			    "copies)", device, err);
		err[0] = '\0';
		struct eng_chain_io io = { .o = &o, .devp = &dev, .chg = sr.chg,
		    .buf = sr.buf, .bs_hint = sr.bs_hint, .err = err };
		rc = eng_find(&io, o.entity, pattern, json, out, matches);
	}
	free(sr.buf);
	eng_changer_free(sr.chg);
	tsg_free(dev);
	return rc;
}

/* Verify one part whose header is tape file `file`; prints one line. */
static int
verify_part(struct tsg_dev *dev, const struct fmt_label *l, uint64_t file,
    uint8_t *buf, size_t hint, FILE *out, char *err)
{
	struct eng_stream sr;
	struct eng_part_loc loc = { .file = file };

	snprintf(loc.label, sizeof(loc.label), "%s", l->label);
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
	sr.strict = true;
	if ((rc = eng_goto_file(dev, file, err)) == 0 &&
	    (rc = eng_stream_read_header(dev, buf, hint, &sr.h, file, err)) == 0) {
		loc.part = sr.h.part;
		sr.bytes = sr.h.offset;
		rc = eng_stream_open(&sr, 0);
	}
	while (rc == 0 && (rc = eng_stream_block(&sr, &len)) == 1)
		rc = 0;
	char ent[256];

	esc_name(sr.h.entity[0] ? sr.h.entity : "?", ent, sizeof(ent));
	if (rc == 0)
		fprintf(out, "file %-4llu %-24s part %u: OK, %llu blocks, %llu "
		    "bytes, %s %.16s\n", (unsigned long long)file,
		    ent, sr.h.part, (unsigned long long)sr.i,
		    (unsigned long long)sr.part_bytes, sr.t.digest,
		    sr.t.part_digest);
	else
		fprintf(out, "file %-4llu %-24s BAD: %s\n", (unsigned long long)file,
		    ent, err);
	sr.parts = NULL;
	eng_stream_free(&sr);
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
	char lb[256], id[128];

	fprintf(out, "verifying tape %s (ID %s)\n", esc_name(l.label, lb,
	    sizeof(lb)), esc_name(l.tape_id, id, sizeof(id)));
	if (file >= 0) {
		rc = verify_part(dev, &l, (uint64_t)file, buf, l.block_size, out,
		    err);
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
		if (verify_part(dev, &l, n, buf, l.block_size, out, e2) < 0)
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

/*
 * A JSON string for s. Tape fields are bytes: where they are not UTF-8,
 * each byte above 0x7f is shown as '?' rather than lose the line.
 */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j || !(copy = strdup(s)))
		return j;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p > 0x7f)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Print one object as one compact line, and free it. */
static void
json_line(FILE *out, json_t *j)
{
	if (j && json_dumpf(j, out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
		fputc('\n', out);
	json_decref(j);
}

/* The label, first: a JSON line, or the heading of the table. */
static void
list_label(FILE *out, bool json, const struct fmt_label *l)
{
	if (json) {
		json_line(out, json_pack("{s:i,s:s,s:o,s:s,s:o,s:I,s:s}",
		    "file", 0, "kind", "label", "label", jstr(l->label),
		    "tape_id", l->tape_id, "pool", jstr(l->pool),
		    "block_size", (json_int_t)l->block_size,
		    "labelled_at", l->labelled_at));
		return;
	}
	char e1[256], e2[256], e3[256], e4[256], e5[256];

	/* Fields off a tape: whatever wrote it, no controls to the terminal. */
	fprintf(out, "tape %s  ID %s  pool %s  block size %u  labelled %s "
	    "by %s\n", esc_name(l->label, e1, sizeof(e1)),
	    esc_name(l->tape_id, e2, sizeof(e2)), esc_name(l->pool, e3,
	    sizeof(e3)), l->block_size, esc_name(l->labelled_at, e4,
	    sizeof(e4)), esc_name(l->labelled_by, e5, sizeof(e5)));
	fprintf(out, "%-5s %-8s %-24s %-5s %-20s %-4s %-13s %-8s %-12s\n",
	    "file", "kind", "entity", "level", "dump date", "part",
	    "bytes", "blocks", "digest");
}

/*
 * A part header at tape file n. In the table its bytes and blocks are the
 * trailer's, in the next file: the row waits for it (list_flush).
 */
struct list_pending {
	bool have;
	uint64_t n;
	struct fmt_header h;
};

static void
list_part_row(FILE *out, const struct list_pending *pp,
    const struct fmt_trailer *t)
{
	const struct fmt_header *h = &pp->h;
	char ent[256], date[128];

	esc_name(h->entity, ent, sizeof(ent));
	esc_name(h->dump_date, date, sizeof(date));
	if (t)
		fprintf(out, "%-5llu %-8s %-24s %-5d %-20s %-4u %-13llu %-8llu\n",
		    (unsigned long long)pp->n, "part", ent, h->level,
		    date, h->part, (unsigned long long)t->bytes,
		    (unsigned long long)t->blocks);
	else
		fprintf(out, "%-5llu %-8s %-24s %-5d %-20s %-4u %-13s %-8s "
		    "(no trailer follows)\n", (unsigned long long)pp->n, "part",
		    ent, h->level, date, h->part, "?", "?");
}

/* A part row still waiting for its trailer: print it without. */
static void
list_flush(FILE *out, struct list_pending *pp)
{
	if (pp->have)
		list_part_row(out, pp, NULL);
	pp->have = false;
}

static void
list_header(FILE *out, bool json, uint64_t n, const struct fmt_header *h,
    struct list_pending *pp)
{
	if (json) {
		json_line(out, json_pack("{s:I,s:s,s:s,s:o,s:i,s:s,s:s,s:o,s:o,"
		    "s:I,s:I,s:I,s:s,s:s}", "file", (json_int_t)n, "kind", "part",
		    "dump_id", h->dump_id, "entity", jstr(h->entity),
		    "level", h->level, "dump_date", h->dump_date,
		    "since", h->since, "server", jstr(h->server),
		    "partition", jstr(h->partition), "part", (json_int_t)h->part,
		    "offset", (json_int_t)h->offset,
		    "block_size", (json_int_t)h->block_size,
		    "compress", h->compress, "source_kind", h->source_kind));
		return;
	}
	list_flush(out, pp);
	pp->have = true;
	pp->n = n;
	pp->h = *h;
}

/* A part trailer at tape file n. */
static void
list_trailer(FILE *out, bool json, uint64_t n, const struct fmt_trailer *t,
    struct list_pending *pp)
{
	if (json) {
		json_line(out, json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:b,s:I}",
		    "file", (json_int_t)n, "kind", "trailer",
		    "dump_id", t->dump_id, "part", (json_int_t)t->part,
		    "bytes", (json_int_t)t->bytes, "blocks", (json_int_t)t->blocks,
		    "part_digest", t->part_digest, "last", t->last,
		    "raw_bytes", (json_int_t)t->raw_bytes));
		return;
	}
	if (pp->have && pp->n + 1 == n && pp->h.part == t->part &&
	    strcmp(pp->h.dump_id, t->dump_id) == 0) {
		list_part_row(out, pp, t);
		pp->have = false;
	}
	list_flush(out, pp);
	fprintf(out, "%-5llu %-8s %-24s %-5s %-20s %-4u %-13llu %-8llu %.12s%s\n",
	    (unsigned long long)n, "trailer", "", "", "", t->part,
	    (unsigned long long)t->bytes, (unsigned long long)t->blocks,
	    t->part_digest, t->last ? " (last part)" : "");
}

/* Any other tape file: foreign, damaged, empty or unreadable. */
static void
list_other(FILE *out, bool json, uint64_t n, const char *kind,
    const char *why, struct list_pending *pp)
{
	if (!json)
		list_flush(out, pp);
	if (json)
		json_line(out, json_pack("{s:I,s:s}", "file", (json_int_t)n,
		    "kind", kind));
	else
		fprintf(out, "%-5llu %-8s %s\n", (unsigned long long)n, kind, why);
}

/* Tape file n, whose first block read gave rc (got bytes in buf). */
static void
list_file(FILE *out, bool json, uint64_t n, int rc, const uint8_t *buf,
    size_t got, const char *why, struct list_pending *pp)
{
	struct fmt_header h;
	struct fmt_trailer t;

	if (rc == 1 && fmt_header_parse(buf, got, &h) == 0)
		list_header(out, json, n, &h, pp);
	else if (rc == 1 && fmt_trailer_parse(buf, got, &t) == 0)
		list_trailer(out, json, n, &t, pp);
	else if (rc == 1)
		list_other(out, json, n, fmt_kind_of(buf, got) == FMT_NONE ?
		    "foreign" : "damaged", "", pp);
	else if (rc == 0)
		list_other(out, json, n, "empty", "", pp);
	else
		list_other(out, json, n, "unreadable", why, pp);
}

int
eng_list(const char *device, bool json, FILE *out, char *err)
{
	struct tsg_dev *dev = NULL;
	struct fmt_label l;
	struct list_pending pp = { 0 };
	uint8_t *buf = aligned_alloc(4096, FMT_MAX_BLOCK);
	int rc;

	if (!buf)
		return -ENOMEM;
	if ((rc = eng_open(device, &dev, err)) < 0 ||
	    (rc = eng_read_label(dev, &l, err)) < 0)
		goto out;
	list_label(out, json, &l);
	if ((rc = eng_goto_file(dev, 1, err)) < 0)
		goto out;
	for (uint64_t n = 1;; n++) {
		struct tsg_status st;
		size_t got;
		char e2[ENG_ERRLEN];
		rc = eng_read_guess(dev, buf, l.block_size, FMT_MAX_BLOCK, &got, e2);
		if (rc == -ENODATA)
			break;
		list_file(out, json, n, rc, buf, got, e2, &pp);
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
	list_flush(out, &pp);
	free(buf);
	tsg_free(dev);
	return rc;
}
