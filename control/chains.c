/*
 * Chains, file indexes and single files in abs-ctld: a media server's
 * upload of a dump's file index (index-upload, checked whole with
 * fidx_decode before the catalog keeps it), find over the indexes the
 * catalog keeps, the chain a restore job carries, and the chains the
 * entity request shows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/fileindex.h"
#include "common/base64.h"
#include "common/date.h"
#include "control/handlers_int.h"

/* An index uploads no larger than this (the catalog's bound is higher). */
#define UPLOAD_MAX ((size_t)1 << 30)

/* The index a drive's media server is sending, until it is whole. */
struct index_upload {
	char dump[64];
	uint8_t *buf;
	size_t total, have;
};

void
ctld_upload_free(struct drive *d)
{
	if (d->upload) {
		free(d->upload->buf);
		free(d->upload);
		d->upload = NULL;
	}
}

/* The reply: whether the catalog has it all, and the offset it wants. */
static json_t *
up_reply(bool stored, size_t next)
{
	return json_pack("{s:b,s:I}", "stored", stored, "next", (json_int_t)next);
}

/* What index-upload needs of the dump. */
struct up_dump {
	char drive[64], state[16];
	int64_t index_bytes, index_raw, raw_bytes;
	bool found;
};

static int
up_dump_row(const struct cat_dump *d, void *arg)
{
	struct up_dump *u = arg;

	u->found = true;
	snprintf(u->drive, sizeof(u->drive), "%s", d->drive ? d->drive : "");
	snprintf(u->state, sizeof(u->state), "%s", d->state ? d->state : "");
	u->index_bytes = d->index_bytes;
	u->index_raw = d->index_raw;
	u->raw_bytes = d->raw_bytes;
	return 0;
}

/*
 * A whole upload, checked off the loop: it decodes (fidx_decode bounds
 * what that may cost by the index's size) and fits the dump it names:
 * the archive it indexes ends where the dump's line says its index
 * starts, and every entry's span lies in that archive.
 */
struct up_check {
	char dump[64];
	uint8_t *buf;
	size_t len;
	int64_t index_raw, raw_bytes;
	int rc;
	char why[200];
};

static void
up_check_free(void *arg)
{
	struct up_check *u = arg;

	free(u->buf);
	free(u);
}

static void
up_check_work(void *arg)
{
	struct up_check *u = arg;
	struct fidx x;

	if ((u->rc = fidx_decode(u->buf, u->len, &x, u->why,
	    sizeof(u->why))) < 0)
		return;
	/* An index that names its dump (version 2) names this one. */
	if (x.dump_id[0] && strcasecmp(x.dump_id, u->dump) != 0) {
		snprintf(u->why, sizeof(u->why), "it is the index of dump %s",
		    x.dump_id);
		u->rc = -EBADMSG;
	} else if (x.archive_bytes != (uint64_t)u->index_raw) {
		snprintf(u->why, sizeof(u->why), "it indexes an archive of %llu"
		    " bytes; the dump's index starts at raw byte %lld",
		    (unsigned long long)x.archive_bytes, (long long)u->index_raw);
		u->rc = -EBADMSG;
	} else if (u->raw_bytes != CAT_NULL && x.archive_bytes + u->len >
	    (uint64_t)u->raw_bytes) {
		snprintf(u->why, sizeof(u->why), "the archive and the index (%llu"
		    " + %zu bytes) pass the dump's raw end (%lld)",
		    (unsigned long long)x.archive_bytes, u->len,
		    (long long)u->raw_bytes);
		u->rc = -EBADMSG;
	}
	for (uint64_t k = 0; u->rc == 0 && k < x.nentries; k++) {
		const struct fidx_entry *e = &x.e[k];
		if ((e->flags & FIDX_IN_STREAM) && (e->raw_offset >= e->raw_end ||
		    e->raw_end > x.archive_bytes)) {
			snprintf(u->why, sizeof(u->why), "entry %llu spans raw bytes"
			    " %llu..%llu, outside the archive (%llu bytes)",
			    (unsigned long long)k, (unsigned long long)e->raw_offset,
			    (unsigned long long)e->raw_end,
			    (unsigned long long)x.archive_bytes);
			u->rc = -EBADMSG;
		}
	}
	fidx_free(&x);
}

/* The checked upload, in the loop: kept, or refused. */
static json_t *
up_check_done(struct ctld *c, struct client *cl, void *arg, const char **code,
    char *err)
{
	struct up_check *u = arg;
	char dberr[CAT_ERRLEN];
	int rc;

	if (u->rc < 0)
		FAIL(PROTO_E_BAD_INDEX, "dump %.32s: the index sent is refused:"
		    " %.180s", u->dump, u->why);
	if ((rc = cat_index_store(c->db, u->dump, u->buf, u->len, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	ctld_message(c, cl->drive, "info", "the file index of dump %s is in the"
	    " catalog (%zu bytes)", u->dump, u->len);
	return up_reply(true, u->len);
}


/*
 * index-upload DUMP TOTAL OFFSET DATA: bytes [offset, offset + n) of the
 * index of total bytes, base64 ("" asks how far we have it). Only the
 * media server of the drive that wrote the dump (its job's drive; any
 * for a dump merged from a journal without a job of ours), or one
 * rebuilding the catalog from its cartridges, may send it; a kept index
 * is never replaced (the same one again is stored: true).
 */
json_t *
h_index_upload(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *dump = arg_str(a, "dump"), *data = arg_str(a, "data");
	int64_t total = arg_num(a, "total", -1), off = arg_num(a, "offset", -1);
	struct drive *d = cl->drive;
	struct up_dump u = { .index_bytes = CAT_NULL, .index_raw = CAT_NULL,
	    .raw_bytes = CAT_NULL };
	struct index_upload *up;
	struct up_check *chk;
	char dberr[CAT_ERRLEN];
	size_t dlen = data ? strlen(data) : 0, n;
	int64_t have = 0;
	int rc;

	if (!d)
		FAIL("bad-args", "only a registered media server sends an index");
	if (total <= 0 || (uint64_t)total > UPLOAD_MAX || off < 0 || off > total)
		FAIL("bad-args", "an index of 1 to %zu bytes, an offset within it",
		    UPLOAD_MAX);
	if ((rc = cat_dump_get(c->db, dump, up_dump_row, &u, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (u.drive[0] && strcmp(u.drive, d->name) != 0 &&
	    !ctld_rebuild_busy(d))
		FAIL(PROTO_E_BAD_ARGS, "dump %s was not written by drive %s",
		    dump, d->name);
	/* Only the index its dump line announced: never one for a dump
	   that has none (a cmd: or file: dump, one before indexes). */
	if (u.index_bytes == CAT_NULL || u.index_bytes <= 0 ||
	    u.index_raw == CAT_NULL || u.index_raw < 0)
		FAIL("bad-args", "dump %s has no file index in its record: an"
		    " index for it is not taken", dump);
	if (u.index_bytes != total)
		FAIL("bad-args", "dump %s: its index is %lld bytes, not %lld", dump,
		    (long long)u.index_bytes, (long long)total);
	if ((rc = cat_index_len(c->db, dump, &have, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (have == total) {	/* kept already: once is enough */
		if (d->upload && strcmp(d->upload->dump, dump) == 0)
			ctld_upload_free(d);
		return up_reply(true, (size_t)total);
	}
	if (have > 0)
		FAIL("exists", "dump %s has another index kept (%lld bytes)", dump,
		    (long long)have);
	up = d->upload;
	if (up && (strcmp(up->dump, dump) != 0 || up->total != (size_t)total)) {
		ctld_upload_free(d);
		up = NULL;
	}
	if (!up && off == 0 && dlen) {
		if (!(up = calloc(1, sizeof(*up))) ||
		    !(up->buf = malloc((size_t)total))) {
			free(up);
			FAIL("internal", "out of memory for an index of %lld bytes",
			    (long long)total);
		}
		snprintf(up->dump, sizeof(up->dump), "%s", dump);
		up->total = (size_t)total;
		d->upload = up;
	}
	/* Out of order or asked: where we are (a chunk had before is fine). */
	if (!up || (size_t)off != up->have || !dlen)
		return up_reply(false, up ? up->have : 0);
	if (B64_DECLEN(dlen) > up->total - up->have + 2 ||
	    b64_decode(data, dlen, up->buf + up->have, &n) < 0 ||
	    n > up->total - up->have) {
		ctld_upload_free(d);
		FAIL("bad-args", "dump %s: a chunk that is not base64 or passes the"
		    " index's end", dump);
	}
	up->have += n;
	if (up->have < up->total)
		return up_reply(false, up->have);
	/* Whole: kept only once it decodes and fits its dump (off the loop). */
	if (!(chk = calloc(1, sizeof(*chk)))) {
		ctld_upload_free(d);
		FAIL("internal", "out of memory");
	}
	snprintf(chk->dump, sizeof(chk->dump), "%s", dump);
	chk->buf = up->buf;
	chk->len = up->total;
	chk->index_raw = u.index_raw;
	chk->raw_bytes = u.raw_bytes;
	up->buf = NULL;
	ctld_upload_free(d);
	return ctld_offload(cl, NULL, up_check_work, up_check_done, up_check_free,
	    chk, code, err);
}

/* A job's detail, to check a download against. */
static int
detail_row(const struct cat_job *j, void *arg)
{
	*(char **)arg = j->detail ? strdup(j->detail) : NULL;
	return 0;
}

/*
 * index-download DUMP SEQ: chunk seq of the index the catalog keeps of a
 * dump the drive's restore job reads (its detail names it), so that the
 * media server restores from the catalog's copy, not the tape's.
 */
json_t *
h_index_download(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *dump = arg_str(a, "dump");
	struct drive *d = cl->drive;
	char dberr[CAT_ERRLEN], *detail = NULL, *b64;
	int64_t total = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *r;
	int rc;

	if (!d || !d->job || !d->restoring)
		FAIL(PROTO_E_BAD_ARGS, "only a media server restoring reads an"
		    " index");
	if ((rc = cat_job_get(c->db, d->job, detail_row, &detail, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (!dump || strlen(dump) != 32 || !detail || !strstr(detail, dump)) {
		free(detail);
		FAIL(PROTO_E_BAD_ARGS, "dump %.64s is not one the drive's restore"
		    " job reads", dump ? dump : "");
	}
	free(detail);
	if ((rc = cat_index_chunk(c->db, dump, arg_num(a, "seq", -1), &buf, &len,
	    &total, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (!(b64 = malloc(B64_ENCLEN(len) + 1))) {
		free(buf);
		FAIL("internal", "out of memory");
	}
	b64_encode(buf, len, b64);
	free(buf);
	r = json_pack("{s:I,s:I,s:s}", "total", (json_int_t)total, "bytes",
	    (json_int_t)len, "data", b64);
	free(b64);
	return r;
}

/* ---- restore and find: their arguments ---- */

int
ctld_date_arg(json_t *a, char *buf, size_t len, const char **date, char *err)
{
	json_t *v = json_object_get(a, "date");
	const char *d = json_string_value(v);

	*date = NULL;
	if (!v)
		return 0;
	if (!d || !date_prefix_valid(d)) {
		snprintf(err, PROTO_ERRLEN, "--date %.64s: a date is " DATE_FORMS,
		    d ? d : "");
		return -1;
	}
	/* The catalog compares started <= DATE || 'T99': a full time
	   without its Z would leave out a dump of that very second. */
	snprintf(buf, len, "%s%s", d, strlen(d) == 19 ? "Z" : "");
	*date = buf;
	return 0;
}

const char *
ctld_shown(const char *s, size_t n, char *out, size_t len)
{
	size_t k = n < len - 1 ? n : len - 1;
	json_t *t;

	memcpy(out, s, k);
	out[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	/* Cut inside a character, or bytes that are not UTF-8 at all. */
	if (!(t = json_stringn(out, k)))
		for (size_t i = 0; i < k; i++)
			if ((unsigned char)out[i] >= 0x80)
				out[i] = '?';
	json_decref(t);
	return out;
}

/*
 * One path a restore or find names, n bytes: 1 to 4095, no NUL, no ".."
 * component (a restore stays in its target). true, or false with err.
 */
bool
ctld_path_ok(const char *s, size_t n, char *err)
{
	const char *c = s, *end = s + n;

	if (!n || n > 4095 || memchr(s, '\0', n)) {
		snprintf(err, PROTO_ERRLEN, "--path: a path of 1 to 4095 bytes"
		    " (no NUL)");
		return false;
	}
	for (;;) {
		const char *sl = memchr(c, '/', (size_t)(end - c));
		size_t k = (size_t)((sl ? sl : end) - c);
		if (k == 2 && c[0] == '.' && c[1] == '.') {
			char shown[201];
			snprintf(err, PROTO_ERRLEN, "--path %s: no '..' in a path",
			    ctld_shown(s, n, shown, sizeof(shown)));
			return false;
		}
		if (!sl)
			return true;
		c = sl + 1;
	}
}

/* ---- restore: the chain ---- */

/* A part of a chain's dump. */
static int
chain_part_row(const struct cat_part *p, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:o}",
	    "part", (json_int_t)p->part, "label", j_str(p->label), "tape_id",
	    j_str(p->tape_id), "file", (json_int_t)p->file, "offset",
	    (json_int_t)p->offset, "bytes", (json_int_t)p->bytes, "blocks",
	    (json_int_t)p->blocks, "block_size", (json_int_t)p->block_size,
	    "digest", j_str(p->digest)));
}

/* A dump of a chain as a restore job carries it (parts added after). */
static json_t *
chain_dump_json(const struct cat_chain_dump *d)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:o,s:I}", "id", (json_int_t)d->id, "dump_uid", j_str(d->dump_uid),
	    "level", j_int(d->level), "base", j_str(d->base_uid), "started",
	    j_str(d->started), "since", j_str(d->since), "finished",
	    j_str(d->finished), "bytes", j_int(d->bytes), "raw_bytes",
	    j_int(d->raw_bytes), "digest_alg", j_str(d->digest_alg), "digest",
	    j_str(d->digest), "index_raw", j_int(d->index_raw), "index_stored",
	    j_int(d->index_stored), "index_bytes", j_int(d->index_bytes),
	    "raw_digest", json_null(), "index_kept", (json_int_t)d->index_len);
}

static int
chain_row(const struct cat_chain_dump *d, void *arr)
{
	return j_append(arr, chain_dump_json(d));
}

/* The raw digest of a dump (the chain's rows lack it). */
static int
raw_digest_row(const struct cat_dump *d, void *arg)
{
	json_object_set_new(arg, "raw_digest", j_str(d->raw_digest));
	return 0;
}

/*
 * The chain a restore of entity at date reads, full first, each dump with
 * its parts; NULL with *code and err when it cannot be restored.
 */
json_t *
ctld_restore_chain(struct ctld *c, const char *entity, const char *date,
    bool level_only, const char **code, char *err)
{
	json_t *chain = json_array(), *d;
	char dberr[CAT_ERRLEN];
	size_t i;
	int rc;

	rc = cat_restore_chain(c->db, entity, date, level_only, chain_row, chain,
	    dberr);
	json_array_foreach(chain, i, d) {
		json_t *parts = json_array();
		if (rc < 0)
			break;
		json_object_set_new(d, "parts", parts);
		rc = cat_dump_parts(c->db, json_integer_value(json_object_get(d,
		    "id")), chain_part_row, parts, dberr);
		if (rc >= 0)
			rc = cat_dump_get(c->db, json_string_value(json_object_get(d,
			    "dump_uid")), raw_digest_row, d, dberr);
		if (rc >= 0 && json_array_size(parts) == 0) {
			snprintf(dberr, sizeof(dberr), "dump %s has no part on tape",
			    json_string_value(json_object_get(d, "dump_uid")));
			rc = -ENOLINK;
		}
	}
	if (rc < 0) {
		json_decref(chain);
		return cat_failed(code, err, rc, dberr);
	}
	return chain;
}

/* ---- the chains of an entity ---- */

struct chains_view {
	json_t *chains;		/* one object per full (or broken head) */
	json_t *by_head;	/* head uid -> its object */
};

static int
view_row(const struct cat_chain_dump *d, void *arg)
{
	struct chains_view *v = arg;
	const char *head = d->head_uid ? d->head_uid : "";
	json_t *ch = json_object_get(v->by_head, head);
	json_t *row = json_pack("{s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:I}", "dump",
	    j_str(d->dump_uid), "level", j_int(d->level), "base",
	    j_str(d->base_uid), "started", j_str(d->started), "state",
	    j_str(d->state), "restorable", d->why == NULL, "why", j_str(d->why),
	    "index_bytes", (json_int_t)d->index_len);

	if (!row)
		return -ENOMEM;
	if (!ch) {
		ch = json_pack("{s:o,s:o,s:[]}", "full", d->head_uid ?
		    json_string(d->head_uid) : json_null(), "started",
		    d->head_uid ? j_str(d->started) : json_null(), "dumps");
		if (!ch || json_object_set(v->by_head, head, ch) < 0 ||
		    json_array_append_new(v->chains, ch) < 0) {
			json_decref(row);
			return -ENOMEM;
		}
	}
	json_array_append_new(json_object_get(ch, "dumps"), row);
	/* The chain as its newest dump finds it. */
	json_object_set_new(ch, "newest", j_str(d->started));
	json_object_set_new(ch, "restorable", json_boolean(d->why == NULL));
	json_object_set_new(ch, "why", j_str(d->why));
	return 0;
}

/*
 * The chains of an entity for the entity request: each full with the
 * dumps taken since it, oldest first, each dump restorable or why not;
 * a chain is restorable as its newest dump is. NULL on failure.
 */
json_t *
ctld_entity_chains(struct ctld *c, const char *entity, const char **code,
    char *err)
{
	struct chains_view v = { json_array(), json_object() };
	char dberr[CAT_ERRLEN];
	int rc = cat_entity_chains(c->db, entity, view_row, &v, dberr);

	json_decref(v.by_head);
	if (rc < 0) {
		json_decref(v.chains);
		return cat_failed(code, err, rc, dberr);
	}
	return v.chains;
}

/* ---- find ---- */

/* At most this many matches in one reply (the rest: truncated), and no
   more than half of what a client reads of a reply: a match's JSON takes
   its path (up to 6 bytes a byte, escaped; its base64 too if it is not
   UTF-8) and about 300 bytes more. */
#define FIND_MAX 100000
#define FIND_MAX_BYTES (PROTO_MAX_REPLY / 2)
/* A find stops (truncated, said why) after this long, well within what a
   client waits for an answer (abs-ctl: 60 s): its indexes are decoded and
   searched off the loop, one dump at a time, taking turns with others. */
#define FIND_BUDGET_MS 20000

/* The dumps find searches: complete ones at or before the date. */
struct find_dumps {
	json_t *dumps;		/* {dump_uid, level, started} */
	const char *date;
};

static int
find_dump_row(const struct cat_chain_dump *d, void *arg)
{
	struct find_dumps *f = arg;

	if (strcmp(d->state ? d->state : "", "complete") != 0)
		return 0;
	/* At or before a date prefix: compared on the prefix's length. */
	if (f->date && strncmp(d->started, f->date, strlen(f->date)) > 0)
		return 0;
	return j_append(f->dumps, json_pack("{s:s,s:I,s:s,s:I}", "dump",
	    d->dump_uid, "level", (json_int_t)d->level, "started", d->started,
	    "kept", (json_int_t)d->index_len));
}

/* An entity exists: nothing more wanted of it. */
static int
no_row(const struct cat_entity *e, void *arg)
{
	(void)e; (void)arg;
	return 0;
}

static const char *
type_name(uint8_t t)
{
	static const char *const names[] = { "?", "file", "dir", "symlink",
	    "char", "block", "fifo", "socket" };

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

json_t *
ctld_path_json(json_t *o, const char *key, const char *path)
{
	size_t n = strlen(path);
	json_t *s = json_stringn(path, n);
	char *b, keyb[32];

	if (s)
		return json_object_set_new(o, key, s) < 0 ? NULL : o;
	if (!(b = malloc(B64_ENCLEN(n) + 1)))
		return NULL;
	/* Not UTF-8: '?' for each byte above 0x7f, its bytes in KEY_b64. */
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)path[i] >= 0x80 ? '?' : path[i];
	b[n] = '\0';
	json_object_set_new(o, key, json_string(b));
	b64_encode((const uint8_t *)path, n, b);
	snprintf(keyb, sizeof(keyb), "%s_b64", key);
	json_object_set_new(o, keyb, json_string(b));
	free(b);
	return o;
}

/*
 * A find: the loop reads each dump's kept index from the catalog in turn
 * (one at a time in memory), the worker decodes and searches it.
 */
struct find_job {
	char *pattern;		/* bytes, NUL-terminated */
	json_t *dumps;		/* the loop's: {dump, level, started, kept} */
	json_t *without;	/* the loop's: dumps without a kept index */
	size_t next;		/* the next of dumps to search */
	bool finished;		/* none left */
	char *entity, *shown;	/* the pattern as the reply shows it */
	int64_t t0;
	/* This step, for the worker. */
	uint8_t *buf;
	size_t len;
	char uid[64], started[32];
	int64_t level;
	/* What the worker made (its own until handed back). */
	json_t *matches;
	size_t count, bytes;
	bool truncated;
	const char *stopped;	/* why truncated: "matches", "bytes", "time" */
	int rc;
	char why[200];
};

static void
find_free(void *arg)
{
	struct find_job *f = arg;

	free(f->pattern);
	free(f->entity);
	free(f->shown);
	free(f->buf);
	json_decref(f->dumps);
	json_decref(f->without);
	json_decref(f->matches);
	free(f);
}

/* In the worker: decode this step's index and collect its matches. */
static void
find_work(void *arg)
{
	struct find_job *f = arg;
	struct fidx x;

	f->rc = fidx_decode(f->buf, f->len, &x, f->why, sizeof(f->why));
	free(f->buf);
	f->buf = NULL;
	if (f->rc < 0)
		return;
	for (uint64_t k = 0; k < x.nentries && !f->truncated; k++) {
		const struct fidx_entry *e = &x.e[k];
		json_t *m;
		if ((k & 0xffff) == 0xffff && now_ms() - f->t0 > FIND_BUDGET_MS) {
			f->truncated = true;
			f->stopped = "time";
			break;
		}
		if (!fidx_match(f->pattern, e->path))
			continue;
		f->bytes += strlen(e->path) * 8 + 320;
		if (++f->count > FIND_MAX || f->bytes > FIND_MAX_BYTES) {
			f->truncated = true;
			f->stopped = f->count > FIND_MAX ? "matches" : "bytes";
			break;
		}
		m = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:b,s:I,s:I,s:o}", "dump",
		    f->uid, "date", f->started, "level", (json_int_t)f->level,
		    "type", type_name(e->type), "size", (json_int_t)e->size,
		    "mtime", (json_int_t)e->mtime, "in_stream", (e->flags &
		    FIDX_IN_STREAM) != 0, "mode", (json_int_t)e->mode, "ino",
		    (json_int_t)e->ino, "nlink", json_integer((json_int_t)e->nlink));
		/* Every match is told: a path that is not UTF-8 escaped. */
		if (!m || !ctld_path_json(m, "path", e->path) ||
		    json_array_append_new(f->matches, m) < 0) {
			f->rc = -ENOMEM;
			snprintf(f->why, sizeof(f->why), "out of memory");
			break;
		}
	}
	if (!f->truncated && now_ms() - f->t0 > FIND_BUDGET_MS) {
		f->truncated = true;
		f->stopped = "time";
	}
	fidx_free(&x);
}

/*
 * In the loop: this step's dump into f->buf (its kept index), skipping
 * those without one. 1 if there is a step, 0 if none is left, or
 * negative with err.
 */
static int
find_step(struct ctld *c, struct find_job *f, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *dv;
	int rc;

	while ((dv = json_array_get(f->dumps, f->next))) {
		const char *uid = json_string_value(json_object_get(dv, "dump"));
		f->next++;
		if (json_integer_value(json_object_get(dv, "kept")) <= 0) {
			json_array_append_new(f->without, json_string(uid));
			continue;
		}
		if ((rc = cat_index_load(c->db, uid, &f->buf, &f->len, dberr)) <
		    0) {
			snprintf(err, PROTO_ERRLEN, "%s", dberr);
			return rc;
		}
		snprintf(f->uid, sizeof(f->uid), "%s", uid);
		snprintf(f->started, sizeof(f->started), "%s",
		    json_string_value(json_object_get(dv, "started")));
		f->level = json_integer_value(json_object_get(dv, "level"));
		return 1;
	}
	return 0;
}

/* The answer: what was found, and whether it is all. */
static json_t *
find_reply(struct find_job *f)
{
	json_t *r = json_pack("{s:s,s:s,s:O,s:O,s:b}", "entity", f->entity,
	    "pattern", f->shown, "matches", f->matches, "without_index",
	    f->without, "truncated", f->truncated);

	if (r && f->truncated) {
		json_object_set_new(r, "stopped", json_string(f->stopped));
		/* The dumps not searched (stopped for time). */
		json_object_set_new(r, "dumps_searched", json_integer(
		    (json_int_t)f->next));
		json_object_set_new(r, "dumps", json_integer((json_int_t)
		    json_array_size(f->dumps)));
	}
	return r;
}

/* Before the worker's turn: the next dump's index read. */
static int
find_prep(struct ctld *c, void *arg, const char **code, char *err)
{
	struct find_job *f = arg;
	char dberr[PROTO_ERRLEN];
	int rc;

	/* Its time is up (others' finds went first): what it has so far. */
	if (now_ms() - f->t0 > FIND_BUDGET_MS &&
	    f->next < json_array_size(f->dumps)) {
		f->truncated = f->finished = true;
		f->stopped = "time";
		return 1;
	}
	rc = find_step(c, f, dberr);
	if (rc < 0) {
		cat_failed(code, err, rc, dberr);
		return rc;
	}
	f->finished = rc == 0;
	return f->finished ? 1 : 0;
}

static json_t *
find_done(struct ctld *c, struct client *cl, void *arg, const char **code,
    char *err)
{
	struct find_job *f = arg;
	(void)c;
	(void)cl;

	if (f->finished)
		return find_reply(f);
	if (f->rc < 0) {
		if (f->rc == -ENOMEM)
			FAIL(PROTO_E_INTERNAL, "find: %s", f->why);
		/* Checked when it came: the catalog's copy went bad. */
		FAIL(PROTO_E_CATALOG, "dump %.32s: its kept index does not"
		    " decode: %.150s", f->uid, f->why);
	}
	if (f->truncated)
		return find_reply(f);
	*code = CTLD_PENDING;	/* the next dump, in its turn */
	return NULL;
}

/*
 * find ENTITY PATTERN [--date D] [--pattern-b64 B64]: every entry of
 * every kept index of the entity's complete dumps (at or before D) whose
 * path matches, by dump date then path: the dump holds its data
 * (in_stream) or lists it as it was then (its data in an earlier dump of
 * the chain). The indexes are searched off the loop, bounded in matches,
 * bytes and time (truncated, and why).
 */
json_t *
h_find(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity"), *pat = arg_str(a, "pattern");
	const char *pb = arg_str(a, "pattern_b64"), *date;
	struct find_dumps fd = { NULL, NULL };
	struct find_job *f;
	char dberr[CAT_ERRLEN], datebuf[32], shown[512];
	uint8_t bytes[4097];
	size_t n = 0;
	int rc;

	if (ctld_date_arg(a, datebuf, sizeof(datebuf), &date, err) < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if (pb) {
		size_t bl = strlen(pb);
		if (B64_DECLEN(bl) > sizeof(bytes) - 1 || b64_decode(pb, bl, bytes,
		    &n) < 0)
			FAIL("bad-args", "--pattern-b64: not the base64 of a pattern"
			    " of 1 to 4096 bytes");
	} else if (pat) {
		n = strlen(pat);
		if (n < sizeof(bytes))
			memcpy(bytes, pat, n);
	}
	if (!n || n > 4096 || memchr(bytes, '\0', n))
		FAIL("bad-args", "a pattern of 1 to 4096 bytes (no NUL)");
	bytes[n] = '\0';
	if (!(f = calloc(1, sizeof(*f))))
		FAIL("internal", "out of memory");
	f->t0 = now_ms();
	f->pattern = strdup((char *)bytes);
	f->entity = strdup(entity ? entity : "");
	f->shown = strdup(ctld_shown((char *)bytes, n, shown, sizeof(shown)));
	f->dumps = fd.dumps = json_array();
	f->without = json_array();
	f->matches = json_array();
	if (!f->pattern || !f->entity || !f->shown || !f->dumps || !f->without ||
	    !f->matches) {
		find_free(f);
		FAIL("internal", "out of memory");
	}
	fd.date = date;
	if ((rc = cat_entity_get(c->db, entity, no_row, NULL, dberr)) >= 0)
		rc = cat_entity_chains(c->db, entity, find_dump_row, &fd, dberr);
	if (rc < 0) {
		find_free(f);
		return cat_failed(code, err, rc, dberr);
	}
	return ctld_offload(cl, find_prep, find_work, find_done, find_free, f,
	    code, err);
}
