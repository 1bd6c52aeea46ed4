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

#include "catalog/fileindex.h"
#include "common/base64.h"
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

/* What index-upload needs of the dump. */
struct up_dump {
	char drive[64], state[16];
	int64_t index_bytes;
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
	return 0;
}

/* The reply: whether the catalog has it all, and the offset it wants. */
static json_t *
up_reply(bool stored, size_t next)
{
	return json_pack("{s:b,s:I}", "stored", stored, "next", (json_int_t)next);
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
	struct up_dump u = { .index_bytes = CAT_NULL };
	struct index_upload *up;
	char dberr[CAT_ERRLEN], why[256];
	size_t dlen = data ? strlen(data) : 0, n;
	int64_t have = 0;
	struct fidx x;
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
	if (u.index_bytes != CAT_NULL && u.index_bytes > 0 &&
	    u.index_bytes != total)
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
	/* Whole: believed only if it decodes. */
	rc = fidx_decode(up->buf, up->total, &x, why, sizeof(why));
	if (rc < 0) {
		ctld_upload_free(d);
		FAIL(PROTO_E_BAD_INDEX, "dump %s: its index does not decode: %.150s",
		    dump, why);
	}
	fidx_free(&x);
	rc = cat_index_store(c->db, dump, up->buf, up->total, dberr);
	ctld_upload_free(d);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	ctld_message(c, d, "info", "the file index of dump %s is in the catalog"
	    " (%lld bytes)", dump, (long long)total);
	return up_reply(true, (size_t)total);
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
   its path (up to 6 bytes a byte, escaped) and about 300 bytes more. */
#define FIND_MAX 100000
#define FIND_MAX_BYTES (PROTO_MAX_REPLY / 2)

/* The dumps find searches: complete ones at or before the date. */
struct find_dumps {
	json_t *dumps;		/* {dump_uid, level, started} */
	const char *date;
};

static int
find_dump_row(const struct cat_chain_dump *d, void *arg)
{
	struct find_dumps *f = arg;
	char upto[64];

	if (strcmp(d->state ? d->state : "", "complete") != 0)
		return 0;
	if (f->date) {
		snprintf(upto, sizeof(upto), "%sT99", f->date);
		if (strcmp(d->started, upto) > 0)
			return 0;
	}
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

/*
 * find ENTITY PATTERN [--date D]: every entry of every kept index of the
 * entity's complete dumps (at or before D) whose path matches, by dump
 * date then path: the dump holds its data (in_stream) or lists it as it
 * was then (its data in an earlier dump of the chain).
 */
json_t *
h_find(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity"), *pat = arg_str(a, "pattern");
	struct find_dumps f = { json_array(), arg_str(a, "date") };
	json_t *matches = json_array(), *without = json_array(), *dv;
	char dberr[CAT_ERRLEN], why[256];
	size_t i, count = 0, bytes = 0;
	bool truncated = false;
	int rc;
	(void)cl;

	if (!pat || !*pat || strlen(pat) > 4096) {
		json_decref(f.dumps);
		json_decref(matches);
		json_decref(without);
		FAIL("bad-args", "a pattern of 1 to 4096 bytes");
	}
	if ((rc = cat_entity_get(c->db, entity, no_row, NULL, dberr)) >= 0)
		rc = cat_entity_chains(c->db, entity, find_dump_row, &f, dberr);
	json_array_foreach(f.dumps, i, dv) {
		const char *uid = json_string_value(json_object_get(dv, "dump"));
		uint8_t *buf = NULL;
		size_t len = 0;
		struct fidx x;

		if (rc < 0 || truncated)
			break;
		if (json_integer_value(json_object_get(dv, "kept")) <= 0) {
			json_array_append_new(without, json_string(uid));
			continue;
		}
		if ((rc = cat_index_load(c->db, uid, &buf, &len, dberr)) < 0)
			break;
		rc = fidx_decode(buf, len, &x, why, sizeof(why));
		free(buf);
		if (rc < 0) {
			/* Checked when it came: the catalog's copy went bad. */
			snprintf(dberr, sizeof(dberr), "dump %s: its kept index does"
			    " not decode: %.150s", uid, why);
			rc = -EIO;
			break;
		}
		for (uint64_t k = 0; k < x.nentries; k++) {
			const struct fidx_entry *e = &x.e[k];
			if (!fidx_match(pat, e->path))
				continue;
			bytes += strlen(e->path) * 6 + 320;
			if (++count > FIND_MAX || bytes > FIND_MAX_BYTES) {
				truncated = true;
				break;
			}
			json_array_append_new(matches, json_pack("{s:s,s:O,s:O,s:O,"
			    "s:s,s:I,s:I,s:b,s:I,s:I,s:o}", "path", e->path, "dump",
			    json_object_get(dv, "dump"), "date",
			    json_object_get(dv, "started"), "level",
			    json_object_get(dv, "level"), "type", type_name(e->type),
			    "size", (json_int_t)e->size, "mtime", (json_int_t)e->mtime,
			    "in_stream", (e->flags & FIDX_IN_STREAM) != 0, "mode",
			    (json_int_t)e->mode, "ino", (json_int_t)e->ino, "nlink",
			    json_integer((json_int_t)e->nlink)));
		}
		fidx_free(&x);
	}
	json_decref(f.dumps);
	if (rc < 0) {
		json_decref(matches);
		json_decref(without);
		return cat_failed(code, err, rc, dberr);
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:b}", "entity", entity, "pattern",
	    pat, "matches", matches, "without_index", without, "truncated",
	    truncated);
}
