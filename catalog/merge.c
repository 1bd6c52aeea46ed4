/*
 * Merge dump-log records (catalog/dumplog.h) into the catalog: direct-mode
 * logs, and media servers' journals written while abs-ctld was away.
 * Idempotent: what is known is skipped. Unknown tapes join the pool under
 * their own tape ID; a label already used there by another tape is a
 * conflict the operator resolves by reading the sticker (reported, not
 * merged).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"
#include "catalog/dumplog.h"

struct merge {
	struct cat_db *db;
	int64_t pool;
	struct cat_merge_result *res;
	cat_conflict_fn *fn;
	void *arg;
	char *err;
};

/* The record's tape: its row id, 0 for a conflict, or negative. */
static int64_t
merge_tape(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = 0;
	int rc = db_int(m->db, m->err, "finding a merged tape", &t, "SELECT id"
	    " FROM tapes WHERE tape_id = ?", "t", r->tape_id);

	if (rc != 0)
		return rc < 0 ? rc : t;
	rc = db_int(m->db, m->err, "checking a merged label", &t, "SELECT id FROM"
	    " tapes WHERE pool_id = ? AND label = ? AND state != 'destroyed'", "it",
	    m->pool, r->label);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		struct cat_merge_conflict c = { r->label, r->tape_id, "the pool"
		    " has another tape with this label: check the sticker, then"
		    " relabel or destroy one" };
		return m->fn ? m->fn(&c, m->arg) : 0;
	}
	rc = db_exec(m->db, m->err, "adding a merged tape", "INSERT INTO tapes"
	    " (tape_id, label, pool_id, state, ever_written) VALUES (?, ?, ?,"
	    " 'appendable', 1)", "tti", r->tape_id, r->label, m->pool);
	if (rc < 0)
		return rc;
	m->res->tapes_added++;
	return sqlite3_last_insert_rowid(m->db->db);
}

/* The record's entity: its row id, or negative. */
static int64_t
merge_entity(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t e = 0;
	char src[1100];
	int rc = db_int(m->db, m->err, "finding a merged entity", &e, "SELECT id"
	    " FROM entities WHERE name = ?", "t", r->entity);

	if (rc != 0)
		return rc < 0 ? rc : e;
	snprintf(src, sizeof(src), "%s:%s", r->source_kind[0] ? r->source_kind :
	    "unknown", r->partition);
	rc = db_exec(m->db, m->err, "adding a merged entity", "INSERT INTO"
	    " entities (name, type_id, source, pool_id) VALUES (?, (SELECT id"
	    " FROM entity_types WHERE name = 'default'), ?, ?)", "tti", r->entity,
	    src, m->pool);
	if (rc < 0)
		return rc;
	m->res->entities_added++;
	return sqlite3_last_insert_rowid(m->db->db);
}

/* A part line: its tape, entity and dump as needed, then the part. */
static int
merge_part(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t, e = 0, d = 0;
	int rc;

	if ((t = merge_tape(m, r)) <= 0 || (e = merge_entity(m, r)) <= 0) {
		if (t < 0 || (t > 0 && e < 0))
			return (int)(t < 0 ? t : e);
		m->res->skipped++;
		return 0;
	}
	if ((rc = db_exec(m->db, m->err, "adding a merged dump", "INSERT OR"
	    " IGNORE INTO dumps (dump_uid, entity_id, level, since, started,"
	    " state, digest_alg) VALUES (?, ?, ?, ?, ?, 'running', ?)", "tiittt",
	    r->dump_id, e, (int64_t)r->level, r->since, r->date,
	    r->digest_alg)) < 0 ||
	    (rc = db_int(m->db, m->err, "finding a merged dump", &d, "SELECT id"
	    " FROM dumps WHERE dump_uid = ?", "t", r->dump_id)) < 0)
		return rc;
	if (rc == 0) {
		m->res->skipped++;
		return 0;
	}
	rc = db_exec(m->db, m->err, "adding a merged part", "INSERT OR IGNORE"
	    " INTO dump_parts (dump_id, part, tape_id, file, offset, bytes,"
	    " blocks, block_size, digest, trailer) VALUES (?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?)", "iiiiiiiiti", d, (int64_t)r->part, t, (int64_t)r->file,
	    (int64_t)r->offset, (int64_t)r->bytes, (int64_t)r->blocks,
	    (int64_t)r->block_size, r->digest,
	    (int64_t)(strcmp(r->status, "ok") == 0));
	if (rc != 1)
		return rc < 0 ? rc : 0;
	m->res->parts++;
	rc = db_exec(m->db, m->err, "counting a merged part", "UPDATE tapes SET"
	    " bytes = bytes + ?, files = files + 2, last_written = max(coalesce("
	    "last_written, ''), ?) WHERE id = ?", "iti", (int64_t)r->bytes,
	    r->date, t);
	return rc < 0 ? rc : 0;
}

/* A dump line: complete (or failed) once all its parts are merged. */
static int
merge_dump(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t have = 0;
	int rc = db_int(m->db, m->err, "counting a merged dump's parts", &have,
	    "SELECT count(*) FROM dump_parts WHERE dump_id = (SELECT id FROM"
	    " dumps WHERE dump_uid = ?)", "t", r->dump_id);

	if (rc < 0)
		return rc;
	if (have != (int64_t)r->part) {
		m->res->skipped++;	/* its parts were not merged */
		return 0;
	}
	rc = db_exec(m->db, m->err, "completing a merged dump", "UPDATE dumps SET"
	    " state = ?, finished = ?, bytes = ?, raw_bytes = ?, digest = ?,"
	    " raw_digest = ? WHERE dump_uid = ? AND state = 'running'", "ttiittt",
	    strcmp(r->status, "complete") == 0 ? "complete" : "failed", r->date,
	    (int64_t)r->bytes, (int64_t)r->raw_bytes, r->digest, r->raw_digest,
	    r->dump_id);
	if (rc == 1)
		m->res->dumps++;
	return rc < 0 ? rc : 0;
}

/* A bad line: the cartridge goes out of service (it may hold no part). */
static int
merge_bad(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = merge_tape(m, r);
	int rc;

	if (t <= 0) {
		if (t == 0)
			m->res->skipped++;
		return (int)t;
	}
	rc = db_exec(m->db, m->err, "taking a merged tape out of service",
	    "UPDATE tapes SET state = 'out-of-service' WHERE tape_id = ? AND"
	    " state != 'out-of-service'", "t", r->tape_id);
	if (rc == 1)
		m->res->bad_tapes++;
	return rc < 0 ? rc : 0;
}

/* An error line: once per event (the same kind, tape and time). */
static int
merge_error(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = merge_tape(m, r), seen = 0;
	int rc;

	if (t <= 0) {
		if (t == 0)
			m->res->skipped++;
		return (int)t;
	}
	rc = db_int(m->db, m->err, "checking a merged error", &seen, "SELECT"
	    " count(*) FROM error_events ev JOIN tapes t ON t.id = ev.tape_id"
	    " WHERE t.tape_id = ? AND ev.kind = ? AND ev.at = ?", "ttt",
	    r->tape_id, r->status, r->date);
	if (rc < 0 || seen)
		return rc < 0 ? rc : 0;
	rc = db_exec(m->db, m->err, "adding a merged error", "INSERT INTO"
	    " error_events (at, tape_id, kind, message) VALUES (?, (SELECT id"
	    " FROM tapes WHERE tape_id = ?), ?, ?)", "tttt", r->date, r->tape_id,
	    r->status, "merged from a dump log");
	if (rc == 1)
		m->res->errors++;
	return rc < 0 ? rc : 0;
}

/* One line: parsed, then merged by its type; unparsable ones are skipped. */
static int
merge_line(struct merge *m, const char *line)
{
	struct cat_dl_rec r;

	if (!line || cat_dl_parse(line, &r) < 0) {
		m->res->skipped++;
		return 0;
	}
	switch (r.type) {
	case CAT_DL_PART:
		return merge_part(m, &r);
	case CAT_DL_DUMP:
		return merge_dump(m, &r);
	case CAT_DL_BAD:
		return merge_bad(m, &r);
	case CAT_DL_ERROR:
		return merge_error(m, &r);
	}
	m->res->skipped++;
	return 0;
}

/* Merge dump-log lines into the catalog in one transaction. */
int
cat_merge(struct cat_db *db, const char *pool, const char *const *lines,
    size_t n, struct cat_merge_result *res, cat_conflict_fn *fn, void *arg,
    char *err)
{
	struct merge m = { db, 0, res, fn, arg, err };
	int rc;

	memset(res, 0, sizeof(*res));
	rc = db_int(db, err, "finding the merge's pool", &m.pool, "SELECT id FROM"
	    " pools WHERE name = ?", "t", pool);
	if (rc <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no pool %s", pool);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = merge_line(&m, lines[i])) < 0) {
			db_rollback(db);
			return rc;
		}
	return db_commit(db, err);
}
