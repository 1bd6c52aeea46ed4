/*
 * Chain restores: a dump's file index read (the log's copy or a range
 * read of the tape), a whole chain extracted dump after dump with the
 * apply step between them, and single paths restored by reading only
 * the blocks that hold them.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "engine/chain.h"
#include "engine/engine.h"
#include "engine/extract.h"
#include "engine/scan.h"
#include "engine/stream.h"
#include "engine/tape.h"

/* An index larger than this is not believed (a lying dump line). */
#define INDEX_MAX ((uint64_t)4 << 30)

/* A stream reader for dump d, its parts from the dump log. */
static int
stream_for(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct eng_stream *sr)
{
	memset(sr, 0, sizeof(*sr));
	sr->devp = io->devp;
	sr->chg = io->chg;
	sr->buf = io->buf;
	sr->err = io->err;
	sr->bs_hint = io->bs_hint;
	sr->queue = io->o->queue;
	return eng_stream_from_log_id(sr, io->o->log, d->dump_id);
}

/* What a reader read, into the result. */
static void
count(const struct eng_stream *sr, struct eng_restore_result *res)
{
	res->blocks += sr->blocks;
	res->meta_blocks += sr->meta_blocks;
	res->read_bytes += sr->read_bytes;
	res->positionings += sr->positionings;
	res->log_proven += sr->log_proven;
}

/* A whole dump's stream read: what it read and what it held. */
static void
count_dump(const struct eng_stream *sr, struct eng_restore_result *res)
{
	count(sr, res);
	res->bytes += sr->bytes;
	res->raw_bytes += sr->rd ? sr->raw_bytes : sr->bytes;
	res->parts += sr->nparts;
}

/* "DUMPID (DATE, level L)": how errors name a dump. */
static const char *
dname(const struct cat_dl_rec *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s, level %d)", d->dump_id, d->date, d->level);
	return buf;
}

/* len bytes from fd: the count read (short at end of file), or -errno. */
static long
read_all(int fd, uint8_t *buf, uint64_t len)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	return (long)got;
}

/*
 * Whether index x is dump d's: the archive it ends is d's, and a version 2
 * index names d (a copy of another dump's index of the same size would
 * otherwise pass for it: hostile13 H20). why says what does not fit.
 */
static bool
index_fits(const struct fidx *x, const struct cat_dl_rec *d, char *why,
    size_t wlen)
{
	if (x->dump_id[0] && strcasecmp(x->dump_id, d->dump_id) != 0) {
		snprintf(why, wlen, "it is the index of dump %s", x->dump_id);
		return false;
	}
	if (x->archive_bytes != d->index_raw) {
		snprintf(why, wlen, "it is the index of an archive of %" PRIu64
		    " bytes, the dump's is %" PRIu64, x->archive_bytes,
		    d->index_raw);
		return false;
	}
	return true;
}

/* Whether uid may have written the copies: this process, root, or the
   owner of the dump log (who wrote the log wrote its copies). */
static bool
trusted_uid(uid_t uid, const char *log)
{
	struct stat lb;

	return uid == geteuid() || uid == 0 ||
	    (stat(log, &lb) == 0 && lb.st_uid == uid);
}

/*
 * A copy is used only from a directory, and as a file, that nobody but
 * a trusted owner can write (hostile13 H16: a LOG.fidx others can write
 * lets them plant what readers take first). 0, or -EBADMSG with why.
 */
static int
copy_trusted(const char *log, const char *path, const struct stat *fsb,
    char *why, size_t wlen)
{
	char dir[PATH_MAX];
	struct stat db;

	snprintf(dir, sizeof(dir), "%s.fidx", log);
	if (stat(dir, &db) < 0)
		return -errno;
	if (!trusted_uid(db.st_uid, log) || (db.st_mode & 022)) {
		snprintf(why, wlen, "%.300s is %s", dir, db.st_mode & 022 ?
		    "writable by others" : "another user's directory");
		return -EBADMSG;
	}
	if (!trusted_uid(fsb->st_uid, log) || (fsb->st_mode & 022)) {
		snprintf(why, wlen, "%.300s is %s", path, fsb->st_mode & 022 ?
		    "writable by others" : "another user's file");
		return -EBADMSG;
	}
	return 0;
}

/*
 * The dump log's copy of the index, checked whole and against d: 0 with x
 * filled (and *enc the encoded bytes if asked), or negative with why.
 */
static int
index_from_log(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct fidx *x, uint8_t **enc, char *why, size_t wlen)
{
	char path[PATH_MAX];
	struct stat sb;
	uint8_t *buf = NULL;
	long got;
	int fd, rc;

	memset(x, 0, sizeof(*x));
	if ((size_t)snprintf(path, sizeof(path), "%s.fidx/%s", io->o->log,
	    d->dump_id) >= sizeof(path))
		return -ENAMETOOLONG;
	/* Only a regular file: a FIFO would block the open, a device node
	   acts on it (a rewinding tape node rewinds on close). lstat first
	   so such nodes are never opened; O_NONBLOCK for one put there
	   between the two. */
	if (lstat(path, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, wlen, "%.300s is not a regular file", path);
		return -EBADMSG;
	}
	if ((rc = copy_trusted(io->o->log, path, &sb, why, wlen)) < 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, wlen, "%.300s is not a regular file", path);
		rc = -EBADMSG;
	} else if ((uint64_t)sb.st_size != d->index_bytes) {
		snprintf(why, wlen, "%.300s is not %" PRIu64 " bytes long", path,
		    d->index_bytes);
		rc = -EBADMSG;
	} else if (!(buf = malloc(d->index_bytes ? d->index_bytes : 1))) {
		rc = -ENOMEM;
	} else if ((got = read_all(fd, buf, d->index_bytes)) < 0) {
		rc = (int)got;
	} else if ((uint64_t)got != d->index_bytes) {
		snprintf(why, wlen, "%.300s is short", path);
		rc = -EBADMSG;
	} else {
		char w2[200];
		rc = fidx_decode(buf, d->index_bytes, x, w2, sizeof(w2));
		if (rc < 0) {
			snprintf(why, wlen, "%.300s: %s", path, w2);
		} else if (!index_fits(x, d, w2, sizeof(w2))) {
			snprintf(why, wlen, "%.300s: %s", path, w2);
			fidx_free(x);
			rc = -EBADMSG;
		}
	}
	close(fd);
	if (rc == 0 && enc) {
		*enc = buf;
		buf = NULL;
	}
	free(buf);
	return rc < 0 ? rc : 0;
}

/* The index of d read from tape (a range read of its stored stream). */
static int
index_from_tape(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct fidx *x, uint8_t **enc, struct eng_restore_result *res)
{
	char dn[128], w2[200];
	struct eng_stream sr;
	uint8_t *buf = NULL;
	uint64_t got = 0, have = 0;
	int rc;

	/* The buffer grows as the stream really brings bytes: a lying
	   index_bytes costs what the tape holds, not what the line says. */
	if ((rc = stream_for(io, d, &sr)) == 0 &&
	    (rc = eng_stream_range(&sr, d->index_stored, d->index_raw,
	    d->index_raw, d->index_raw + d->index_bytes)) == 0) {
		const void *p;
		long n;
		while ((n = eng_stream_pull(&sr, &p)) > 0 &&
		    got + (uint64_t)n <= d->index_bytes) {
			if (got + (uint64_t)n > have) {
				uint64_t nh = have ? have * 2 : 1 << 20;
				while (nh < got + (uint64_t)n)
					nh *= 2;
				if (nh > d->index_bytes)
					nh = d->index_bytes;
				uint8_t *nb = realloc(buf, nh);
				if (!nb) {
					rc = -ENOMEM;
					break;
				}
				buf = nb;
				have = nh;
			}
			memcpy(buf + got, p, (size_t)n);
			got += (uint64_t)n;
		}
		if (rc < 0)
			;
		else if (n < 0)
			rc = sr.error ? sr.error : -EIO;
		else if (got != d->index_bytes) {
			eng_err(io->err, "dump %s: the stream holds %" PRIu64 " of "
			    "the index's %" PRIu64 " bytes", d->dump_id, got,
			    d->index_bytes);
			rc = -EBADMSG;
		}
	}
	count(&sr, res);
	eng_stream_free(&sr);
	if (rc == 0 && (rc = fidx_decode(buf, d->index_bytes, x, w2,
	    sizeof(w2))) < 0)
		eng_err(io->err, "the file index of dump %s on tape is damaged: "
		    "%s", dname(d, dn, sizeof(dn)), w2);
	else if (rc == 0 && !index_fits(x, d, w2, sizeof(w2))) {
		eng_err(io->err, "the file index of dump %s on tape does not fit "
		    "it: %s", dname(d, dn, sizeof(dn)), w2);
		fidx_free(x);
		rc = -EBADMSG;
	}
	else if (rc < 0) {
		char e2[ENG_ERRLEN];
		snprintf(e2, sizeof(e2), "%s", io->err);
		eng_err(io->err, "the file index of dump %s: %s",
		    dname(d, dn, sizeof(dn)), e2);
	}
	if (rc == 0 && enc) {
		*enc = buf;
		buf = NULL;
	}
	free(buf);
	return rc;
}

/* eng_chain_index, and the encoded bytes in *enc if enc. */
static int
index_load(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct fidx *x, uint8_t **enc, struct eng_restore_result *res)
{
	char why[ENG_ERRLEN] = "", dn[128];
	int rc;

	memset(x, 0, sizeof(*x));
	if (enc)
		*enc = NULL;
	if (!d->index_bytes) {
		eng_err(io->err, "dump %s has no file index (it was written "
		    "before file indexes, or is no dir: dump)",
		    dname(d, dn, sizeof(dn)));
		return -ENOENT;
	}
	if (d->index_bytes > INDEX_MAX) {
		eng_err(io->err, "dump %s: its index of %" PRIu64 " bytes is "
		    "not believed", dname(d, dn, sizeof(dn)), d->index_bytes);
		return -EBADMSG;
	}
	/* The keys must place the index inside the dump's stream (a plain
	   stream's stored bytes are its raw ones): a lying dump line is
	   refused as such, not read as a damaged tape (hostile13 H9, H13). */
	const char *lie = NULL;
	if (d->index_raw > UINT64_MAX - d->index_bytes)
		lie = "index_raw + index_bytes overflow";
	else if (d->raw_bytes && d->index_raw + d->index_bytes != d->raw_bytes)
		lie = "the index does not end the raw stream (index_raw + "
		    "index_bytes != raw_bytes)";
	else if (d->bytes && d->index_stored >= d->bytes)
		lie = "index_stored is past the stream";
	else if (strcmp(d->compress, "zstd") != 0 &&
	    d->index_stored != d->index_raw)
		lie = "index_stored is not index_raw in an uncompressed stream";
	if (lie) {
		eng_err(io->err, "the dump line of dump %s lies: %s (index_raw "
		    "%" PRIu64 ", index_stored %" PRIu64 ", index_bytes %" PRIu64
		    ", raw_bytes %" PRIu64 ", bytes %" PRIu64 "); refused",
		    dname(d, dn, sizeof(dn)), lie, d->index_raw, d->index_stored,
		    d->index_bytes, d->raw_bytes, d->bytes);
		return -EBADMSG;
	}
	rc = index_from_log(io, d, x, enc, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc != -ENOENT && why[0])
		log_warn("the dump log's copy of the index of dump %s is not "
		    "used (%s): reading it from tape", d->dump_id, why);
	if (!*io->devp && !io->chg) {
		eng_err(io->err, "the index of dump %s is not beside the dump log "
		    "(%s): give --device to read it from tape",
		    dname(d, dn, sizeof(dn)), why[0] ? why : "no copy");
		return -ENOENT;
	}
	return index_from_tape(io, d, x, enc, res);
}

int
eng_chain_index(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct fidx *x, struct eng_restore_result *res)
{
	return index_load(io, d, x, NULL, res);
}

/* Before anything is written: every dump's parts, and indexes for a chain. */
static int
chain_check(struct eng_chain_io *io, const struct eng_chain *c, bool tree)
{
	char dn[128], e2[ENG_ERRLEN];

	for (unsigned i = 0; i < c->n; i++) {
		const struct cat_dl_rec *d = &c->d[i].rec;
		struct eng_stream sr;
		int rc = stream_for(io, d, &sr);
		eng_stream_free(&sr);
		if (rc < 0) {
			snprintf(e2, sizeof(e2), "%s", io->err);
			eng_err(io->err, "dump %s of the chain cannot be read: %s",
			    dname(d, dn, sizeof(dn)), e2);
			return rc;
		}
		if (tree && c->n > 1 && !d->index_bytes) {
			eng_err(io->err, "dump %s of the chain has no file index "
			    "(written before file indexes): restore its dumps "
			    "one by one with --level-only", dname(d, dn, sizeof(dn)));
			return -ENOENT;
		}
		if (i > 0 && strcmp(d->source_kind, c->d[0].rec.source_kind)) {
			eng_err(io->err, "dump %s is a %s: dump, its chain's full a "
			    "%s: dump", dname(d, dn, sizeof(dn)), d->source_kind,
			    c->d[0].rec.source_kind);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Pull what is left of the stream through (every check still runs). */
static int
drain(struct eng_stream *sr)
{
	const void *p;
	long n;

	while ((n = eng_stream_pull(sr, &p)) > 0)
		;
	return n < 0 ? (sr->error ? sr->error : -EIO) : 0;
}

/* One dump of the chain extracted into x. */
static int
extract_one(struct eng_chain_io *io, struct eng_extract *x,
    const struct cat_dl_rec *d, struct eng_restore_result *res)
{
	struct eng_stream sr;
	int rc;

	if ((rc = stream_for(io, d, &sr)) == 0 &&
	    (rc = eng_stream_open(&sr, 0)) == 0 && !io->o->extract &&
	    strcmp(sr.h.source_kind, "dir") != 0) {
		eng_err(io->err, "dump %s is a %s: dump, not a tree", d->dump_id,
		    sr.h.source_kind);
		rc = -EINVAL;
	}
	if (rc == 0) {
		rc = eng_extract_run(x, eng_stream_pull, &sr, io->err);
		if (rc == 0)
			rc = drain(&sr);
		if (rc == 0 && sr.error)
			rc = sr.error;
		if (rc == 0)
			rc = eng_stream_check_end(&sr);
	}
	count_dump(&sr, res);
	if (!res->file)
		res->file = sr.nparts ? sr.parts[0].file : 0;
	eng_stream_free(&sr);
	return rc;
}

/* Index i of the chain decoded from its checked bytes (then freed). */
static int
decode_kept(struct eng_chain_io *io, const struct cat_dl_rec *d,
    uint8_t **enc, struct fidx *x)
{
	char w2[200], dn[128];
	int rc = fidx_decode(*enc, d->index_bytes, x, w2, sizeof(w2));

	free(*enc);
	*enc = NULL;
	if (rc < 0)
		eng_err(io->err, "the file index of dump %s: %s",
		    dname(d, dn, sizeof(dn)), w2);
	return rc;
}

/* A dir: chain, dump after dump into one tree. */
static int
chain_tree(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res)
{
	const struct eng_restore_opts *o = io->o;
	const struct cat_dl_rec *last = &c->d[c->n - 1].rec;
	struct fidx prev, cur;
	struct eng_extract *x = NULL;
	char what[1024], line[512], dn[128];
	uint8_t **enc = calloc(c->n, sizeof(*enc));
	int rc = 0;

	memset(&prev, 0, sizeof(prev));
	memset(&cur, 0, sizeof(cur));
	if (!enc)
		return -ENOMEM;
	/*
	 * Every dump's index, read and decoded whole and checked against its
	 * dump, before anything is written (hostile13 H9: a bad index of dump
	 * k was found after dumps 1..k-1 were in the target). The encoded
	 * bytes are kept (a tenth of the decoded size) for the apply steps.
	 */
	for (unsigned i = 0; c->n > 1 && i < c->n; i++) {
		if ((rc = index_load(io, &c->d[i].rec, &cur, &enc[i], res)) < 0)
			goto out;
		fidx_free(&cur);
	}
	snprintf(what, sizeof(what), "%s as of %s: the chain of %u dumps that "
	    "ends at dump %s, level %d", last->entity, last->date, c->n,
	    last->dump_id, last->level);
	if ((rc = eng_extract_new(o->to, what, o->root_onto_existing,
	    o->onto_nonempty, &x,
	    io->err)) < 0)
		goto out;
	/* Directories writable by their owner while the chain goes in; their
	   modes from the last dump's listing at the end (hostile13 H11: a
	   non-root restore failed at a 0555 directory the full left). */
	if (c->n > 1)
		eng_extract_dirs_writable(x);
	for (unsigned i = 0; i < c->n && rc == 0; i++) {
		const struct cat_dl_rec *d = &c->d[i].rec;
		struct eng_apply_stats ast;

		/* A shadow holds the tree as of dump applied - 1: that dump's
		   listing is the base of the next, nothing is extracted. */
		if (i < o->applied) {
			char why[ENG_ERRLEN / 2];
			if (i == o->applied - 1 &&
			    (rc = decode_kept(io, d, &enc[i], &prev)) == 0 &&
			    eng_chain_tree_differs(eng_extract_dirfd(x), &prev, why,
			    sizeof(why))) {
				/* Changed by hand since: the dumps after it
				   would be applied onto another tree. */
				eng_err(io->err, "the tree is not dump %s any more"
				    " (%s)", d->dump_id, why);
				rc = -ESTALE;
			}
			continue;
		}
		snprintf(line, sizeof(line), "dump %u of %u: %s", i + 1, c->n,
		    dname(d, dn, sizeof(dn)));
		eng_extract_note(x, line);
		if (i > 0) {
			if ((rc = decode_kept(io, d, &enc[i], &cur)) < 0 ||
			    (rc = eng_chain_apply(eng_extract_dirfd(x), &prev, &cur,
			    &ast, io->err)) < 0)
				break;
			log_info("dump %s: %" PRIu64 " entries kept, %" PRIu64
			    " moved or linked, %" PRIu64 " removed%s", d->dump_id,
			    ast.kept, ast.placed, ast.removed, ast.foreign ?
			    " (directories holding what no dump has kept)" : "");
		}
		if ((rc = extract_one(io, x, d, res)) < 0)
			break;
		res->dumps++;
		snprintf(res->dump_id, sizeof(res->dump_id), "%s", d->dump_id);
		if (i > 0 && i == c->n - 1 && (rc = eng_chain_fix_dirs(
		    eng_extract_dirfd(x), &cur, io->err)) < 0)
			break;
		if (i == 0 && c->n > 1) {
			if ((rc = decode_kept(io, d, &enc[0], &prev)) < 0)
				break;
		} else if (i > 0) {
			fidx_free(&prev);
			prev = cur;
			memset(&cur, 0, sizeof(cur));
		}
	}
	/* Refusals first: the marker stays with them (hostile13 H6). */
	eng_extract_counts(x, &res->entries, &res->refused);
	if (rc == 0 && !o->allow_refused)
		rc = eng_extract_refusals(res->refused, res->entries, "chain",
		    io->err);
	rc = eng_extract_finish(x, rc, io->err);
out:
	eng_extract_free(x);
	fidx_free(&prev);
	fidx_free(&cur);
	for (unsigned i = 0; i < c->n; i++)
		free(enc[i]);
	free(enc);
	return rc;
}

/* A cmd: or file: chain: every stream in order to stdout. */
static int
chain_stdout(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res)
{
	int rc = 0;

	for (unsigned i = 0; i < c->n && rc == 0; i++) {
		const struct cat_dl_rec *d = &c->d[i].rec;
		struct eng_stream sr;
		const void *p;
		long n = 0;

		if ((rc = stream_for(io, d, &sr)) == 0 &&
		    (rc = eng_stream_open(&sr, 0)) == 0) {
			while ((n = eng_stream_pull(&sr, &p)) > 0)
				if ((rc = util_write_all(1, p, (size_t)n)) < 0) {
					eng_err(io->err, "writing the restored data: "
					    "%s", strerror(-rc));
					break;
				}
			if (rc == 0 && n < 0)
				rc = sr.error ? sr.error : -EIO;
			if (rc == 0)
				rc = eng_stream_check_end(&sr);
		}
		count_dump(&sr, res);
		eng_stream_free(&sr);
		if (rc == 0) {
			res->dumps++;
			snprintf(res->dump_id, sizeof(res->dump_id), "%s",
			    d->dump_id);
		}
	}
	return rc;
}

int
eng_chain_restore(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res)
{
	bool tree = strcmp(c->d[0].rec.source_kind, "dir") == 0 ||
	    io->o->extract;
	int rc;

	if ((rc = chain_check(io, c, tree && !io->o->to_stdout)) < 0)
		return rc;
	snprintf(res->source_kind, sizeof(res->source_kind), "%s",
	    c->d[0].rec.source_kind);
	if (io->o->to_stdout)
		return chain_stdout(io, c, res);
	if (!tree) {
		eng_err(io->err, "a chain of %s: dumps is restored with --stdout "
		    "(each stream in order, full first, for the type's restore "
		    "command), or one dump at a time with --level-only",
		    c->d[0].rec.source_kind);
		return -EINVAL;
	}
	return chain_tree(io, c, res);
}

/* ---- single paths ---- */

/* One entry to restore: where its data is, and the name it gets. */
struct want {
	unsigned dump;			/* index in the chain */
	const struct fidx_entry *h;	/* the entry whose header and data
					   the stream of that dump holds */
	const char *to;			/* the entry's path at the target dump */
	bool done;
};

struct paths {
	struct eng_chain_io *io;
	const struct eng_chain *c;
	struct fidx *ix;	/* per dump of the chain, loaded as needed */
	struct eng_ino_map *im;	/* ... and by inode */
	bool *have;
	struct want *w;
	size_t nw;
	/* the run being read: its wants [lo, hi), the next one at cur (the
	   stream has them in the order of their offsets, as the wants are) */
	size_t lo, hi, cur;
	char **links;		/* "to\0from": names linked once extracted */
	size_t nlinks;
};

static int
load_ix(struct paths *ps, unsigned j, struct eng_restore_result *res)
{
	int rc;

	if (ps->have[j])
		return 0;
	if ((rc = eng_chain_index(ps->io, &ps->c->d[j].rec, &ps->ix[j],
	    res)) < 0)
		return rc;
	ps->have[j] = true;
	return eng_ino_map_build(&ps->ix[j], &ps->im[j]);
}

/*
 * Where entry e (of the target dump) has its data: the dump of the chain
 * whose stream holds it, and the entry there that carries it.
 */
static int
holder(struct paths *ps, const struct fidx_entry *e, struct want *w,
    struct eng_restore_result *res)
{
	char dn[128];
	unsigned j = ps->c->n - 1;
	const struct fidx_entry *cur = e;
	int rc;

	for (;;) {
		if (cur->flags & FIDX_IN_STREAM) {
			/* A hard link's data is with one name of its inode. */
			if (cur->type == FIDX_REG && !(cur->flags & FIDX_HAS_DATA) &&
			    cur->nlink > 1) {
				const struct fidx_entry *d = eng_ino_map_best(
				    &ps->im[j], cur->ino, cur->type);
				if (d && (d->flags & FIDX_HAS_DATA))
					cur = d;
			}
			w->dump = j;
			w->h = cur;
			w->to = e->path;
			return 0;
		}
		if (j == 0) {
			eng_err(ps->io->err, "%s: no dump of the chain holds its "
			    "data (the chain's full lists it without it)", e->path);
			return -EBADMSG;
		}
		j--;
		if ((rc = load_ix(ps, j, res)) < 0)
			return rc;
		const struct fidx_entry *b = eng_ino_map_best(&ps->im[j],
		    cur->ino, cur->type);
		if (!b) {
			eng_err(ps->io->err, "%s (inode %" PRIu64 ") is not in the "
			    "listing of dump %s, its base: the chain does not fit",
			    e->path, cur->ino,
			    dname(&ps->c->d[j].rec, dn, sizeof(dn)));
			return -EBADMSG;
		}
		cur = b;
	}
}

/*
 * "P", "/P", "./P" -> "./P" ("." for the whole tree), repeated '/' as one;
 * NULL if unsafe, or empty ("" and "/" name nothing: a whole restore
 * leaves --path out).
 */
static char *
norm(const char *p)
{
	char *s;
	size_t l;

	if (!*p || strspn(p, "/") == strlen(p)) {
		errno = EINVAL;
		return NULL;
	}
	while (*p == '/')
		p++;
	while (strncmp(p, "./", 2) == 0)
		p += 2;
	if (!*p || strcmp(p, ".") == 0)
		return strdup(".");
	if (asprintf(&s, "./%s", p) < 0)
		return NULL;
	for (char *r = s, *w = s; ; r++)	/* "a//b" is "a/b" */
		if (!(*r == '/' && r > s && r[-1] == '/') && !(*w++ = *r))
			break;
	for (l = strlen(s); l > 2 && s[l - 1] == '/'; l--)
		s[l - 1] = '\0';
	if (!eng_chain_path_ok(s)) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

/*
 * p without the dump's source directory (src, its partition) when p is an
 * absolute path under it: /srv/home/u/f of a dump of /srv/home is ./u/f.
 * NULL when it is not.
 */
static const char *
inside_source(const char *p, const char *src)
{
	size_t n = strlen(src);

	while (n > 1 && src[n - 1] == '/')
		n--;
	if (p[0] != '/' || src[0] != '/' || n < 2 || strncmp(p, src, n) != 0 ||
	    (p[n] != '/' && p[n] != '\0'))
		return NULL;
	while (p[n] == '/' && p[n + 1] == '/')
		n++;
	return p[n] ? p + n : ".";
}

/* Is e the path p or under it? */
static bool
under(const char *path, const char *p)
{
	size_t n = strlen(p);

	if (strcmp(p, ".") == 0)
		return true;
	return strncmp(path, p, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int
want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->dump != y->dump)
		return x->dump < y->dump ? -1 : 1;
	if (x->h->raw_offset != y->h->raw_offset)
		return x->h->raw_offset < y->h->raw_offset ? -1 : 1;
	return strcmp(x->to, y->to);
}

/*
 * The extraction filter of a run: an entry of the run's wants gets its
 * wanted name (the first of them; more names of the same data are
 * linked afterwards); others are skipped.
 */
static int
paths_filter(void *ctx, struct archive_entry *e)
{
	struct paths *ps = ctx;
	const char *pn = archive_entry_pathname(e);
	struct want *first = NULL;

	if (!pn || ps->cur >= ps->hi || strcmp(ps->w[ps->cur].h->path, pn) != 0)
		return 0;
	const struct fidx_entry *h = ps->w[ps->cur].h;
	for (; ps->cur < ps->hi && ps->w[ps->cur].h == h; ps->cur++) {
		struct want *w = &ps->w[ps->cur];
		w->done = true;
		if (!first) {
			first = w;
			continue;
		}
		char *l = malloc(strlen(w->to) + strlen(first->to) + 2);
		char **nl = realloc(ps->links, (ps->nlinks + 1) * sizeof(*nl));
		if (!l || !nl) {
			free(l);
			if (nl)
				ps->links = nl;
			return -ENOMEM;
		}
		ps->links = nl;
		strcpy(l, w->to);
		strcpy(l + strlen(w->to) + 1, first->to);
		ps->links[ps->nlinks++] = l;
	}
	if (!first)
		return 0;
	archive_entry_set_pathname(e, first->to);
	/* The data is here; a name of a hard link without data gets none. */
	if (archive_entry_hardlink(e))
		archive_entry_set_hardlink(e, NULL);
	return 1;
}

/* Blocks of bs bytes that stored bytes [s, e) touch. */
static uint64_t
blocks_of(uint64_t s, uint64_t e, uint64_t bs)
{
	return e > s ? (e - 1) / bs - s / bs + 1 : 0;
}

/*
 * Where a raw span starts on tape: its stored offset and that raw offset
 * (a zstd dump: the frame that holds it; with no frame table, the
 * stream's start).
 */
static void
span_start(const struct fidx *x, bool zstd, uint64_t raw, uint64_t *stored,
    uint64_t *raw_at)
{
	const struct fidx_frame *f = x->nframes ? fidx_frame_at(x, raw) : NULL;

	if (f) {
		*stored = f->stored;
		*raw_at = f->raw;
	} else if (zstd) {
		*stored = *raw_at = 0;
	} else {
		*stored = *raw_at = raw;
	}
}

/* The wants of dump j ([lo, hi) of ps->w), read in runs. */
static int
read_dump(struct paths *ps, struct eng_extract *x, size_t lo, size_t hi,
    struct eng_restore_result *res)
{
	const struct cat_dl_rec *d = &ps->c->d[ps->w[lo].dump].rec;
	const struct fidx *ix = &ps->ix[ps->w[lo].dump];
	struct eng_stream sr;
	int rc;

	if ((rc = stream_for(ps->io, d, &sr)) < 0)
		goto out;
	uint64_t bs = sr.nparts && sr.parts[0].block_size ?
	    sr.parts[0].block_size : ps->io->bs_hint;
	bool zstd = strcmp(d->compress, "zstd") == 0;
	for (size_t i = lo; i < hi && rc == 0;) {
		uint64_t start = ps->w[i].h->raw_offset, end = ps->w[i].h->raw_end;
		size_t j = i + 1;
		/* One run while the next span starts within a block. */
		for (; j < hi; j++) {
			uint64_t s = ps->w[j].h->raw_offset;
			uint64_t st0, st1, r0, r1;
			span_start(ix, zstd, s, &st0, &r0);
			span_start(ix, zstd, end, &st1, &r1);
			if (s > end + bs && st0 > st1 + bs)
				break;
			if (ps->w[j].h->raw_end > end)
				end = ps->w[j].h->raw_end;
		}
		uint64_t stored, raw_at;
		span_start(ix, zstd, start, &stored, &raw_at);
		uint64_t s0, s1;
		struct fidx_entry span = { .raw_offset = start, .raw_end = end };
		eng_find_span(ix, d, &span, &s0, &s1);
		res->span_blocks += blocks_of(stored, s1, bs);
		ps->lo = ps->cur = i;
		ps->hi = j;
		if ((rc = eng_stream_range(&sr, stored, raw_at, start, end)) == 0)
			rc = eng_extract_run(x, eng_stream_pull, &sr, ps->io->err);
		if (rc == 0 && sr.error)
			rc = sr.error;
		for (size_t k = i; rc == 0 && k < j; k++)
			if (!ps->w[k].done) {
				eng_err(ps->io->err, "%s: not found at stream byte %"
				    PRIu64 " of dump %s where its index puts it",
				    ps->w[k].h->path, ps->w[k].h->raw_offset,
				    d->dump_id);
				rc = -EBADMSG;
			}
		i = j;
	}
out:
	count(&sr, res);
	eng_stream_free(&sr);
	return rc;
}

/* Is this directory of the index one of the wanted paths or under one? */
static bool
dir_wanted(const struct fidx_entry *e, char *const *want, size_t nwant)
{
	if (e->type != FIDX_DIR || strcmp(e->path, ".") == 0)
		return false;
	for (size_t k = 0; k < nwant; k++)
		if (under(e->path, want[k]))
			return true;
	return false;
}

/*
 * The wanted directories: made first (the index has them all), given
 * the index's mode, owner and times at the end, deepest first.
 */
static int
make_wanted_dirs(int dirfd, const struct fidx *ix, char *const *want,
    size_t nwant, bool fix, char *err)
{
	int rc;

	if (!fix) {
		for (uint64_t i = 0; i < ix->nentries; i++)
			if (dir_wanted(&ix->e[i], want, nwant) &&
			    (rc = eng_chain_mkdir(dirfd, ix->e[i].path, err)) < 0)
				return rc;
		return 0;
	}
	for (uint64_t i = ix->nentries; i-- > 0;)
		if (dir_wanted(&ix->e[i], want, nwant) &&
		    (rc = eng_chain_dir_meta(dirfd, &ix->e[i], err)) < 0)
			return rc;
	return 0;
}

int
eng_chain_paths(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res)
{
	const struct eng_restore_opts *o = io->o;
	const struct cat_dl_rec *last = &c->d[c->n - 1].rec;
	struct paths ps = { .io = io, .c = c };
	struct eng_extract *x = NULL;
	char **want = calloc(o->npaths, sizeof(*want));
	char what[1024], dn[128];
	int rc = 0;

	ps.ix = calloc(c->n, sizeof(*ps.ix));
	ps.im = calloc(c->n, sizeof(*ps.im));
	ps.have = calloc(c->n, sizeof(*ps.have));
	if (!want || !ps.ix || !ps.im || !ps.have) {
		rc = -ENOMEM;
		goto out;
	}
	if (!o->to) {
		eng_err(io->err, "--path restores into a directory: --to DIR");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = chain_check(io, c, false)) < 0 ||
	    (rc = load_ix(&ps, c->n - 1, res)) < 0)
		goto out;
	const struct fidx *top = &ps.ix[c->n - 1];
	/* What is wanted, all of it found before anything is written. */
	ps.w = calloc(top->nentries ? top->nentries : 1, sizeof(*ps.w));
	if (!ps.w) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < o->npaths; k++) {
		if (!(want[k] = norm(o->paths[k]))) {
			eng_err(io->err, "--path '%s': not a path inside the dump%s",
			    o->paths[k], strspn(o->paths[k], "/") ==
			    strlen(o->paths[k]) ? " (to restore it whole, leave "
			    "--path out)" : "");
			rc = -EINVAL;
			goto out;
		}
		bool any = false;
		for (uint64_t i = 0; i < top->nentries && !any; i++)
			any = under(top->e[i].path, want[k]);
		/* A path as the user knows it: under the dump's source. */
		const char *in = inside_source(o->paths[k], last->partition);
		if (!any && in) {
			char *w = norm(in);
			for (uint64_t i = 0; w && i < top->nentries && !any; i++)
				any = under(top->e[i].path, w);
			if (any) {
				free(want[k]);
				want[k] = w;
			} else {
				free(w);
			}
		}
		if (!any) {
			eng_err(io->err, "%s is not in dump %s of %s", want[k],
			    dname(last, dn, sizeof(dn)), last->entity);
			rc = -ENOENT;
			goto out;
		}
	}
	for (uint64_t i = 0; i < top->nentries; i++) {
		const struct fidx_entry *e = &top->e[i];
		bool wanted = false;
		if (e->type == FIDX_DIR || !eng_chain_path_ok(e->path))
			continue;
		for (size_t k = 0; k < o->npaths && !wanted; k++)
			wanted = under(e->path, want[k]);
		if (wanted && (rc = holder(&ps, e, &ps.w[ps.nw++], res)) < 0)
			goto out;
	}
	qsort(ps.w, ps.nw, sizeof(*ps.w), want_cmp);
	snprintf(what, sizeof(what), "%zu path%s of %s as of %s (dump %s, level "
	    "%d)", o->npaths, o->npaths == 1 ? "" : "s", last->entity,
	    last->date, last->dump_id, last->level);
	if ((rc = eng_extract_new(o->to, what, false, o->onto_nonempty, &x,
	    io->err)) < 0)
		goto out;
	eng_extract_filter(x, paths_filter, &ps);
	rc = make_wanted_dirs(eng_extract_dirfd(x), top, want, o->npaths, false,
	    io->err);
	for (size_t i = 0; i < ps.nw && rc == 0;) {
		size_t j = i;
		while (j < ps.nw && ps.w[j].dump == ps.w[i].dump)
			j++;
		rc = read_dump(&ps, x, i, j, res);
		res->dumps++;
		i = j;
	}
	for (size_t i = 0; i < ps.nlinks && rc == 0; i++) {
		const char *to = ps.links[i], *from = to + strlen(to) + 1;
		rc = eng_chain_link(eng_extract_dirfd(x), from, to, io->err);
	}
	if (rc == 0)
		rc = make_wanted_dirs(eng_extract_dirfd(x), top, want, o->npaths,
		    true, io->err);
	/* Refusals first: the marker stays with them (hostile13 H6). */
	eng_extract_counts(x, &res->entries, &res->refused);
	if (rc == 0 && !o->allow_refused)
		rc = eng_extract_refusals(res->refused, res->entries, "restore",
		    io->err);
	rc = eng_extract_finish(x, rc, io->err);
	snprintf(res->dump_id, sizeof(res->dump_id), "%s", last->dump_id);
	snprintf(res->source_kind, sizeof(res->source_kind), "%s",
	    last->source_kind);
out:
	eng_extract_free(x);
	for (size_t k = 0; want && k < o->npaths; k++)
		free(want[k]);
	free(want);
	for (unsigned j = 0; ps.ix && ps.im && ps.have && j < c->n; j++) {
		if (ps.have[j])
			fidx_free(&ps.ix[j]);
		eng_ino_map_free(&ps.im[j]);
	}
	free(ps.ix);
	free(ps.im);
	free(ps.have);
	free(ps.w);
	for (size_t i = 0; i < ps.nlinks; i++)
		free(ps.links[i]);
	free(ps.links);
	return rc;
}

/* ---- a dump log from the tapes (restore --device without --log) ---- */

struct scanlog_ctx {
	struct eng_scanlog *sl;
	int rc;
};

/* A file under the scan log's directory, remembered for its removal. */
static int
sl_write(struct eng_scanlog *sl, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", sl->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return -errno;
	if (n)
		rc = util_write_all(fd, p, n);
	close(fd);
	return rc;
}

static int
sl_append(struct eng_scanlog *sl, const struct cat_dl_rec *r)
{
	char line[8192];
	int rc = cat_dl_format(r, line, sizeof(line));

	if (rc < 0)
		return rc;
	if (!sl->fp && !(sl->fp = fopen(sl->log, "a")))
		return -errno;
	return fputs(line, sl->fp) < 0 ? -EIO : 0;
}

/* One part seen by the scan: a part line, and for a last part its dump. */
static int
sl_part(void *ctx, const struct eng_scan_tape *t, const struct eng_scan_part *p)
{
	struct scanlog_ctx *sc = ctx;
	const struct fmt_header *h = &p->h;
	struct cat_dl_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.type = CAT_DL_PART;
	snprintf(r.dump_id, sizeof(r.dump_id), "%s", h->dump_id);
	snprintf(r.entity, sizeof(r.entity), "%s", h->entity);
	snprintf(r.date, sizeof(r.date), "%s", h->dump_date);
	snprintf(r.since, sizeof(r.since), "%s", h->since);
	r.level = h->level;
	snprintf(r.server, sizeof(r.server), "%s", h->server);
	snprintf(r.partition, sizeof(r.partition), "%s", h->partition);
	snprintf(r.label, sizeof(r.label), "%s", t->l.label);
	snprintf(r.tape_id, sizeof(r.tape_id), "%s", t->l.tape_id);
	r.file = p->file;
	r.part = h->part;
	r.offset = h->offset;
	r.bytes = p->bytes;
	r.blocks = p->blocks;
	r.block_size = h->block_size;
	snprintf(r.digest_alg, sizeof(r.digest_alg), "%s", h->digest);
	snprintf(r.digest, sizeof(r.digest), "%s", p->digest);
	snprintf(r.compress, sizeof(r.compress), "%s", h->compress);
	snprintf(r.source_kind, sizeof(r.source_kind), "%s", h->source_kind);
	snprintf(r.status, sizeof(r.status), "%s", p->trailer ? "ok" :
	    "no-trailer");
	if ((rc = sl_append(sc->sl, &r)) < 0)
		return rc;
	if (!p->trailer || !p->t.last)
		return 0;
	r.type = CAT_DL_DUMP;
	r.part = h->part;
	r.bytes = p->t.stream_bytes;
	r.blocks = 0;
	snprintf(r.digest, sizeof(r.digest), "%s", p->t.stream_digest);
	r.raw_bytes = p->t.raw_bytes;
	snprintf(r.raw_digest, sizeof(r.raw_digest), "%s", p->t.raw_digest);
	snprintf(r.status, sizeof(r.status), "complete");
	snprintf(r.base, sizeof(r.base), "%s", h->base);
	r.index_raw = p->t.index_raw;
	r.index_stored = p->t.index_stored;
	r.index_bytes = p->t.index_bytes;
	if ((rc = sl_append(sc->sl, &r)) < 0)
		return rc;
	if (p->index) {
		char name[64];
		snprintf(name, sizeof(name), "d.log.fidx/%s", h->dump_id);
		if (sl_write(sc->sl, name, p->index, p->index_len) == 0)
			sc->sl->nidx++;
	}
	return 0;
}

/* A tape file the scan could not read: kept to say why a part is missing. */
static void
sl_unreadable(void *ctx, const struct eng_scan_tape *t, uint64_t file,
    const char *why)
{
	struct scanlog_ctx *sc = ctx;
	char *u = sc->sl->unreadable;
	size_t n = strlen(u);

	if (n + 4 < sizeof(sc->sl->unreadable))
		snprintf(u + n, sizeof(sc->sl->unreadable) - n, "%s%s tape file "
		    "%llu (%s)", n ? "; " : "", t->l.label,
		    (unsigned long long)file, why);
}

int
eng_chain_scan_log(const char *device, bool library, struct eng_scanlog *sl,
    char *err)
{
	struct scanlog_ctx sc = { sl, 0 };
	struct eng_scan_fns fns = { NULL, sl_part, NULL, &sc, sl_unreadable };
	const char *tmp = getenv("TMPDIR");
	char fidx[PATH_MAX];
	int rc;

	memset(sl, 0, sizeof(*sl));
	snprintf(sl->dir, sizeof(sl->dir), "%s/abs-chain-XXXXXX",
	    tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
	if (!mkdtemp(sl->dir)) {
		eng_err(err, "%s: %s", sl->dir, strerror(errno));
		sl->dir[0] = '\0';
		return -errno;
	}
	snprintf(sl->log, sizeof(sl->log), "%s/d.log", sl->dir);
	snprintf(fidx, sizeof(fidx), "%s.fidx", sl->log);
	if (mkdir(fidx, 0700) < 0) {
		eng_err(err, "%s: %s", fidx, strerror(errno));
		return -errno;
	}
	rc = eng_scan_run(device, library, &fns, err);
	if (sl->fp && fclose(sl->fp) != 0 && rc >= 0)
		rc = -EIO;
	sl->fp = NULL;
	if (rc < 0)
		return rc;
	/* An empty log still says "no dump of E" the usual way. */
	if (access(sl->log, F_OK) < 0 && (rc = sl_write(sl, "d.log", NULL,
	    0)) < 0) {
		eng_err(err, "%s: %s", sl->log, strerror(-rc));
		return rc;
	}
	return 0;
}

void
eng_chain_scan_log_free(struct eng_scanlog *sl)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (sl->fp)
		fclose(sl->fp);
	sl->fp = NULL;
	if (!sl->dir[0])
		return;
	/* Only what this scan wrote: d.log and d.log.fidx/<dump IDs>. */
	snprintf(path, sizeof(path), "%s/d.log.fidx", sl->dir);
	if ((d = opendir(path))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(path);
	unlink(sl->log);
	rmdir(sl->dir);
	sl->dir[0] = '\0';
}
