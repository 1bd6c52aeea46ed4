/* Dumps and their parts: what is on which tape, and what to restore. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "catalog/db_int.h"

#define DUMP_COLS "d.id, d.dump_uid, e.name, d.job_id, d.level, d.since," \
	" d.started, d.finished, d.state, d.bytes, d.raw_bytes, d.digest_alg," \
	" d.digest, d.raw_digest, (SELECT origin FROM jobs WHERE id = d.job_id)," \
	" d.base_uid, d.index_raw, d.index_stored, d.index_bytes, (SELECT" \
	" dr.name FROM jobs j JOIN drives dr ON dr.id = j.drive_id WHERE j.id =" \
	" d.job_id)"
#define DUMP_FROM " FROM dumps d JOIN entities e ON e.id = d.entity_id"
/*
 * Newest first, ties (dumps started in the same second) broken by what a
 * rebuilt catalog keeps too, never by row number (a rebuild numbers rows
 * in the order it scans cartridges).
 */
#define DUMP_NEWEST " ORDER BY d.started DESC, d.finished DESC, d.job_id DESC," \
	" d.dump_uid DESC"

/* A row of DUMP_COLS to the callback. */
static int
dump_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_dump d = {
		.id = db_i64(st, 0), .dump_uid = db_text(st, 1),
		.entity = db_text(st, 2), .job = db_i64(st, 3),
		.level = db_i64(st, 4), .since = db_text(st, 5),
		.started = db_text(st, 6), .finished = db_text(st, 7),
		.state = db_text(st, 8), .bytes = db_i64(st, 9),
		.raw_bytes = db_i64(st, 10), .digest_alg = db_text(st, 11),
		.digest = db_text(st, 12), .raw_digest = db_text(st, 13),
		.job_origin = db_text(st, 14), .base_uid = db_text(st, 15),
		.index_raw = db_i64(st, 16), .index_stored = db_i64(st, 17),
		.index_bytes = db_i64(st, 18), .drive = db_text(st, 19),
	};

	return ((cat_dump_fn *)cb->fn)(&d, cb->arg);
}

/* Keep the dump's uid and date. */
static int
incomplete_row(sqlite3_stmt *st, void *arg)
{
	char *out = arg;

	snprintf(out, 200, "%s of %s", db_text(st, 0), db_text(st, 1));
	return 1;
}

/*
 * The newest complete dump of entity at or before date; -EAGAIN if a
 * dump rebuilt from tapes but incomplete (parts on cartridges not scanned
 * yet) is newer: restoring an older one instead would surprise.
 */
int
cat_dump_for_restore(struct cat_db *db, const char *entity, const char *date,
    cat_dump_fn *fn, void *arg, char *err)
{
	char newer[200] = "";
	int rc = db_query(db, err, "finding an incomplete dump", incomplete_row,
	    newer, "SELECT d.dump_uid, d.started FROM dumps d JOIN entities e ON"
	    " e.id = d.entity_id WHERE e.name = ?1 AND d.state = 'incomplete' AND"
	    " (?2 IS NULL OR d.started <= ?2 || 'T99') AND NOT EXISTS (SELECT 1"
	    " FROM dumps c WHERE c.entity_id = d.entity_id AND c.state ="
	    " 'complete' AND c.started > d.started AND (?2 IS NULL OR c.started"
	    " <= ?2 || 'T99')) ORDER BY d.started DESC LIMIT 1", "t" "t", entity,
	    date);

	if (rc < 0)
		return rc;
	if (rc > 0)
		return db_fail(err, -EAGAIN, "the newest dump of %s%s%s (%s) is"
		    " incomplete: parts of it are on cartridges not scanned yet"
		    " (abs-ctl rebuild); restore an older one with --date", entity,
		    date ? " at or before " : "", date ? date : "", newer);
	rc = db_query(db, err, "finding a dump to restore", dump_row,
	    DB_CB(fn, arg), "SELECT " DUMP_COLS DUMP_FROM " WHERE e.name = ? AND"
	    " d.state = 'complete' AND (? IS NULL OR d.started <= ? || 'T99')"
	    DUMP_NEWEST " LIMIT 1", "ttt", entity, date,
	    date);

	if (rc == 0)
		return db_fail(err, -ENOENT, "no complete dump of %s%s%s", entity,
		    date ? " at or before " : "", date ? date : "");
	return rc;
}

/* A dump by its uid. */
int
cat_dump_get(struct cat_db *db, const char *dump_uid, cat_dump_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a dump", dump_row, DB_CB(fn, arg),
	    "SELECT " DUMP_COLS DUMP_FROM " WHERE d.dump_uid = ?", "t", dump_uid);

	return rc == 0 ? db_fail(err, -ENOENT, "no dump %s", dump_uid ?
	    dump_uid : "(null)") : rc;
}

/* The newest complete full or incremental dump of entity. */
int
cat_dump_last(struct cat_db *db, const char *entity, bool full,
    cat_dump_fn *fn, void *arg, char *err)
{
	if (full)
		return db_query(db, err, "finding the last full dump", dump_row,
		    DB_CB(fn, arg), "SELECT " DUMP_COLS DUMP_FROM " WHERE e.name = ?"
		    " AND d.state = 'complete' AND d.level = 0" DUMP_NEWEST
		    " LIMIT 1", "t", entity);
	return db_query(db, err, "finding the last incremental dump", dump_row,
	    DB_CB(fn, arg), "SELECT " DUMP_COLS DUMP_FROM " WHERE e.name = ? AND"
	    " d.state = 'complete' AND d.level > 0" DUMP_NEWEST " LIMIT 1", "t",
	    entity);
}

/* The two integers of cat_dump_totals' row. */
static int
totals_row(sqlite3_stmt *st, void *arg)
{
	int64_t *v = arg;

	v[0] = db_i64(st, 0);
	v[1] = db_i64(st, 1);
	return 0;
}

/* How many complete dumps entity has and their bytes. */
int
cat_dump_totals(struct cat_db *db, const char *entity, int64_t *dumps,
    int64_t *bytes, char *err)
{
	int64_t v[2] = { 0, 0 };
	int rc = db_query(db, err, "adding up an entity's dumps", totals_row, v,
	    "SELECT count(*), coalesce(sum(d.bytes), 0)" DUMP_FROM " WHERE"
	    " e.name = ? AND d.state = 'complete'", "t", entity);

	if (rc < 0)
		return rc;
	*dumps = v[0];
	*bytes = v[1];
	return 0;
}

/* Mark a dump complete once all its parts are recorded. */
int
cat_dump_complete(struct cat_db *db, const struct cat_dump *d, int64_t parts,
    char *err)
{
	int64_t have = 0;
	int rc = db_int(db, err, "counting a dump's parts", &have, "SELECT"
	    " count(*) FROM dump_parts WHERE dump_id = (SELECT id FROM dumps"
	    " WHERE dump_uid = ?)", "t", d->dump_uid);

	if (rc < 0)
		return rc;
	/* Complete only when every part is recorded. */
	if (have != parts)
		return db_fail(err, -EAGAIN, "dump %s: %lld of %lld parts recorded",
		    d->dump_uid ? d->dump_uid : "(none)", (long long)have,
		    (long long)parts);
	/* The dump line's chain keys, when it has them. */
	bool idx = d->index_bytes > 0 && d->index_bytes != CAT_NULL;
	rc = db_exec(db, err, "completing a dump", "UPDATE dumps SET state ="
	    " 'complete', finished = coalesce(?, strftime('%Y-%m-%dT%H:%M:%SZ',"
	    "'now')), bytes = ?, raw_bytes = ?, digest = ?, raw_digest = ?,"
	    " base_uid = coalesce(nullif(?, ''), base_uid),"
	    " index_raw = CASE WHEN ?7 THEN ?8 ELSE index_raw END,"
	    " index_stored = CASE WHEN ?7 THEN ?9 ELSE index_stored END,"
	    " index_bytes = CASE WHEN ?7 THEN ?10 ELSE index_bytes END"
	    " WHERE dump_uid = ?11", "tiitttiiiit", d->finished, d->bytes,
	    d->raw_bytes, d->digest, d->raw_digest, d->base_uid, (int64_t)idx,
	    d->index_raw, d->index_stored, d->index_bytes, d->dump_uid);
	return rc < 0 ? rc : 0;
}

#define PART_COLS "d.dump_uid, e.name, d.level, d.since, d.started," \
	" d.digest_alg, d.state, p.part, t.label, t.tape_id, p.file, p.offset," \
	" p.bytes, p.blocks, p.block_size, p.digest, p.trailer"
#define PART_FROM " FROM dump_parts p JOIN dumps d ON d.id = p.dump_id JOIN" \
	" entities e ON e.id = d.entity_id JOIN tapes t ON t.id = p.tape_id"

/* A row of PART_COLS to the callback. */
static int
part_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_part p = {
		.dump_uid = db_text(st, 0), .entity = db_text(st, 1),
		.level = db_i64(st, 2), .since = db_text(st, 3),
		.started = db_text(st, 4), .digest_alg = db_text(st, 5),
		.dump_state = db_text(st, 6), .part = db_i64(st, 7),
		.label = db_text(st, 8), .tape_id = db_text(st, 9),
		.file = db_i64(st, 10), .offset = db_i64(st, 11),
		.bytes = db_i64(st, 12), .blocks = db_i64(st, 13),
		.block_size = db_i64(st, 14), .digest = db_text(st, 15),
		.ok = db_i64(st, 16) == 1,
	};

	return ((cat_part_fn *)cb->fn)(&p, cb->arg);
}

/* A dump's parts in order. */
int
cat_dump_parts(struct cat_db *db, int64_t dump, cat_part_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing a dump's parts", part_row,
	    DB_CB(fn, arg), "SELECT " PART_COLS PART_FROM " WHERE p.dump_id = ?"
	    " ORDER BY p.part", "i", dump);
}

/* The parts on a tape in file order. */
int
cat_tape_parts(struct cat_db *db, int64_t tape, cat_part_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing a tape's parts", part_row,
	    DB_CB(fn, arg), "SELECT " PART_COLS PART_FROM " WHERE p.tape_id = ?"
	    " ORDER BY p.file", "i", tape);
}

/* Record a part confirmed on tape, its dump and its tape. */
int
cat_part_record(struct cat_db *db, const struct cat_part *p, int64_t job,
    char *err)
{
	int64_t tape = 0;
	int rc = db_int(db, err, "finding a part's tape", &tape, "SELECT id FROM"
	    " tapes WHERE tape_id = ?", "t", p->tape_id);

	if (rc == 0)
		return db_fail(err, -ENOENT, "part on unknown tape %s",
		    p->tape_id ? p->tape_id : "(null)");
	if (rc < 0 || (rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_exec(db, err, "recording a dump", "INSERT OR IGNORE INTO"
	    " dumps (dump_uid, entity_id, job_id, level, since, started, state,"
	    " digest_alg) VALUES (?, (SELECT id FROM entities WHERE name = ?), ?,"
	    " ?, ?, ?, 'running', ?)", "ttiittt", p->dump_uid, p->entity, job,
	    p->level, p->since, p->started, p->digest_alg)) < 0 ||
	    (rc = db_exec(db, err, "recording a part", "INSERT INTO dump_parts"
	    " (dump_id, part, tape_id, file, offset, bytes, blocks, block_size,"
	    " digest, trailer, written) VALUES ((SELECT id FROM dumps WHERE"
	    " dump_uid = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ','now')))", "tiiiiiiitit",
	    p->dump_uid, p->part, tape, p->file, p->offset, p->bytes, p->blocks,
	    p->block_size, p->digest, (int64_t)p->ok, p->written)) < 0 ||
	    (rc = db_exec(db, err, "counting a part on its tape", "UPDATE tapes"
	    " SET ever_written = 1, state = CASE WHEN state = 'blank' THEN"
	    " 'appendable' ELSE state END, bytes = bytes + ?, files = files + 2,"
	    " last_written = coalesce(?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
	    " WHERE id = ?", "iti", p->bytes, p->written, tape)) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}
