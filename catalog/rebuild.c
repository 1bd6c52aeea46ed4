/*
 * The catalog rebuilt from tapes: what a scan of each cartridge found (its
 * label, every part's header and trailer) recreates tapes, entities, dumps
 * and parts, in any order of cartridges. A dump stays incomplete until
 * parts 1..N are all in, N being the part whose trailer says it is the
 * stream's last, and their bytes add up; it is expired once a part is
 * missing from a cartridge labelled again after the dump began (the next
 * part's header names that cartridge). Each state is worked out again
 * from what the catalog holds whenever a part or cartridge comes in, so
 * the order of cartridges changes nothing, nor does scanning one again.
 * docs/FORMAT.md says what the tapes cannot tell.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"
#include "catalog/dumplog.h"

/* The pool named on a label: its row id, created if new. */
static int
pool_of(struct cat_db *db, const char *pool, int64_t *id, char *err)
{
	int rc = db_exec(db, err, "adding a rebuilt tape's pool", "INSERT OR"
	    " IGNORE INTO pools (name) VALUES (?)", "t", pool);

	if (rc < 0)
		return rc;
	rc = db_int(db, err, "finding a rebuilt tape's pool", id, "SELECT id FROM"
	    " pools WHERE name = ?", "t", pool);
	return rc < 0 ? rc : 0;
}

static int settle_tape(struct cat_db *db, const char *tape_id, char *err);

/* A cartridge's label: the tape, added if the catalog does not know it. */
static int
tape_seen(struct cat_db *db, const struct cat_rebuild_tape *t, char *err)
{
	int64_t pool = 0, other = 0;
	int rc;

	if (!cat_name_valid(t->label) || strlen(t->label) > 63 ||
	    !cat_name_valid(t->pool) || !t->tape_id || strlen(t->tape_id) != 32)
		return db_fail(err, -EINVAL, "a label with a bad name, pool or tape"
		    " ID (%.64s)", t->label ? t->label : "?");
	if ((rc = db_int(db, err, "finding a rebuilt tape", &other, "SELECT id"
	    " FROM tapes WHERE tape_id = ?", "t", t->tape_id)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = pool_of(db, t->pool, &pool, err)) < 0)
		return rc;
	rc = db_int(db, err, "checking a rebuilt tape's label", &other, "SELECT"
	    " id FROM tapes WHERE pool_id = ? AND label = ? AND state !="
	    " 'destroyed'", "it", pool, t->label);
	if (rc != 0)
		return rc < 0 ? rc : db_fail(err, -EEXIST, "pool %s has another tape"
		    " labelled %s: check the sticker, destroy one, scan again",
		    t->pool, t->label);
	/* Labelled: written once (the catalog's own rule, cat_tape_labelled). */
	rc = db_exec(db, err, "adding a rebuilt tape", "INSERT INTO tapes"
	    " (tape_id, label, pool_id, state, ever_written, added) VALUES (?, ?,"
	    " ?, 'appendable', 1, ?)", "ttit", t->tape_id, t->label, pool,
	    t->labelled_at);
	return rc < 0 ? rc : 1;
}

/*
 * A cartridge scanned to its end: its counters from the parts on it, its
 * state full or appendable (unless an operator's mark is on it), the time
 * of the scan; the dumps whose part it should hold are settled.
 */
static int
tape_done(struct cat_db *db, const struct cat_rebuild_tape *t, char *err)
{
	int rc = db_exec(db, err, "counting a rebuilt tape's parts", "UPDATE tapes"
	    " SET bytes = (SELECT coalesce(sum(bytes), 0) FROM dump_parts WHERE"
	    " tape_id = tapes.id), files = 2 * (SELECT count(*) FROM dump_parts"
	    " WHERE tape_id = tapes.id), last_written = (SELECT max(written) FROM"
	    " dump_parts WHERE tape_id = tapes.id), ever_written = 1 WHERE"
	    " tape_id = ?", "t", t->tape_id);

	if (rc < 0)
		return rc;
	rc = db_exec(db, err, "setting a rebuilt tape's state", "UPDATE tapes SET"
	    " state = ? WHERE tape_id = ? AND state IN ('blank', 'appendable',"
	    " 'full')", "tt", t->full ? "full" : "appendable", t->tape_id);
	if (rc < 0 || (rc = db_exec(db, err, "marking a tape scanned", "UPDATE"
	    " tapes SET scanned = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE"
	    " tape_id = ?", "t", t->tape_id)) < 0)
		return rc;
	/* All its parts are in: a part missing from it is known now. */
	return settle_tape(db, t->tape_id, err);
}

int
cat_rebuild_tape(struct cat_db *db, const struct cat_rebuild_tape *t,
    char *err)
{
	int rc, added;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((added = rc = tape_seen(db, t, err)) < 0 ||
	    (t->done && (rc = tape_done(db, t, err)) < 0)) {
		db_rollback(db);
		return rc;
	}
	rc = db_commit(db, err);
	return rc < 0 ? rc : added;
}

/* The part as a dump-log record, for the field checks merge uses too. */
static void
as_record(const struct cat_rebuild_part *p, struct cat_dl_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = CAT_DL_PART;
#define STR(f, v) snprintf(r->f, sizeof(r->f), "%s", (v) ? (v) : "")
	STR(dump_id, p->dump_uid);
	STR(entity, p->entity);
	STR(date, p->started);
	STR(since, p->since);
	STR(server, p->server);
	STR(partition, p->partition);
	STR(label, p->label);
	STR(tape_id, p->tape_id);
	STR(digest_alg, p->digest_alg);
	STR(digest, p->digest);
	STR(compress, p->compress);
	STR(source_kind, p->source_kind);
	STR(written, p->written);
#undef STR
	snprintf(r->status, sizeof(r->status), "%s", p->trailer ? "ok" :
	    "no-trailer");
	r->level = (int)p->level;
	r->job = p->job;
	r->file = (uint64_t)p->file;
	r->part = (uint32_t)p->part;
	r->offset = (uint64_t)p->offset;
	r->bytes = (uint64_t)p->bytes;
	r->blocks = (uint64_t)p->blocks;
	r->block_size = (uint32_t)p->block_size;
}

/* Every field of a part, as merge checks a dump-log line. */
static int
check_part(const struct cat_rebuild_part *p, char *err)
{
	struct cat_dl_rec r;
	char why[CAT_ERRLEN - 64];

	if (p->level < 0 || p->level > 9 || p->part < 1 || p->part > UINT32_MAX ||
	    p->file < 1 || p->offset < 0 || p->bytes < 0 || p->blocks < 0 ||
	    p->block_size < 1 || p->block_size > UINT32_MAX || p->job < 0 ||
	    (p->last && (p->stream_bytes < p->offset + p->bytes ||
	    p->raw_bytes < 0)))
		return db_fail(err, -EINVAL, "part %lld of dump %.40s: a count out"
		    " of range", (long long)p->part, p->dump_uid ? p->dump_uid : "?");
	as_record(p, &r);
	if (cat_dl_check(&r, why, sizeof(why)) < 0)
		return db_fail(err, -EINVAL, "part %lld of dump %.40s: %s",
		    (long long)p->part, r.dump_id, why);
	if (p->entity_type && p->entity_type[0] &&
	    !cat_name_valid(p->entity_type))
		return db_fail(err, -EINVAL, "part %lld of dump %.40s: a bad entity"
		    " type", (long long)p->part, r.dump_id);
	return 0;
}

/* The entity of a part: its row id, created (with its type) if new. */
static int
entity_of(struct cat_db *db, const struct cat_rebuild_part *p, int64_t *id,
    char *err)
{
	const char *type = p->entity_type && *p->entity_type ? p->entity_type :
	    "default";
	char src[1100];
	int rc;

	if ((rc = db_exec(db, err, "adding a rebuilt entity type", "INSERT OR"
	    " IGNORE INTO entity_types (name) VALUES (?)", "t", type)) < 0)
		return rc;
	snprintf(src, sizeof(src), "%s:%s", p->source_kind, p->source ?
	    p->source : p->partition);
	if ((rc = db_exec(db, err, "adding a rebuilt entity", "INSERT OR IGNORE"
	    " INTO entities (name, type_id, source, pool_id, added) VALUES (?,"
	    " (SELECT id FROM entity_types WHERE name = ?), ?, (SELECT pool_id"
	    " FROM tapes WHERE tape_id = ?), ?)", "ttttt", p->entity, type, src,
	    p->tape_id, p->started)) < 0)
		return rc;
	/* Added: the first dump of it, whatever order the tapes come in. */
	if ((rc = db_exec(db, err, "dating a rebuilt entity", "UPDATE entities SET"
	    " added = ? WHERE name = ? AND added > ?", "ttt", p->started,
	    p->entity, p->started)) < 0)
		return rc;
	/* Its type, source and pool: its newest dump's, in any order. */
	if ((rc = db_exec(db, err, "updating a rebuilt entity", "UPDATE entities"
	    " SET type_id = (SELECT id FROM entity_types WHERE name = ?2),"
	    " source = ?3, pool_id = (SELECT pool_id FROM tapes WHERE tape_id ="
	    " ?4) WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM dumps WHERE"
	    " entity_id = entities.id AND (started > ?5 OR (started = ?5 AND"
	    " dump_uid > ?6)))", "tttttt", p->entity, type, src, p->tape_id,
	    p->started, p->dump_uid)) < 0)
		return rc;
	rc = db_int(db, err, "finding a rebuilt entity", id, "SELECT id FROM"
	    " entities WHERE name = ?", "t", p->entity);
	return rc < 0 ? rc : 0;
}

/* The dump of a part: its row id, created incomplete if new; -EINVAL if
   the catalog has it with other dates, level or entity. */
static int
dump_of(struct cat_db *db, const struct cat_rebuild_part *p, int64_t entity,
    int64_t *id, char *err)
{
	int64_t same = 0;
	int rc;

	if (p->job > 0 && (rc = db_exec(db, err, "adding a rebuilt dump's job",
	    "INSERT OR IGNORE INTO jobs (id, kind, entity_id, state, created,"
	    " started, finished, detail) VALUES (?, 'dump', ?, 'done', ?, ?, ?,"
	    " 'rebuilt from tapes')", "iittt", p->job, entity, p->started,
	    p->started, p->written && *p->written ? p->written : p->started)) < 0)
		return rc;
	/* Its job: that ID if it is a dump of this entity (a catalog that ran
	   jobs of its own since may have given the ID to another). */
	if ((rc = db_exec(db, err, "adding a rebuilt dump", "INSERT OR IGNORE INTO"
	    " dumps (dump_uid, entity_id, job_id, level, since, started, state,"
	    " digest_alg) VALUES (?1, ?2, (SELECT id FROM jobs WHERE id = ?3 AND"
	    " kind = 'dump' AND entity_id = ?2), ?4, ?5, ?6, 'incomplete', ?7)",
	    "tiiitt" "t", p->dump_uid, entity, p->job, p->level, p->since,
	    p->started, p->digest_alg)) < 0)
		return rc;
	rc = db_int(db, err, "finding a rebuilt dump", id, "SELECT id FROM dumps"
	    " WHERE dump_uid = ?", "t", p->dump_uid);
	if (rc < 0)
		return rc;
	rc = db_int(db, err, "checking a rebuilt dump", &same, "SELECT count(*)"
	    " FROM dumps WHERE id = ? AND entity_id = ? AND level = ? AND"
	    " coalesce(since, '-') = ? AND started = ? AND digest_alg = ?",
	    "iiittt", *id, entity, p->level, p->since, p->started, p->digest_alg);
	if (rc < 0)
		return rc;
	if (!same)
		return db_fail(err, -EINVAL, "part %lld of dump %s: the catalog has"
		    " this dump with another entity, level or dates",
		    (long long)p->part, p->dump_uid);
	return 0;
}

/* The part itself: 1 added, 0 known (the same), -EINVAL if it differs. */
static int
part_of(struct cat_db *db, const struct cat_rebuild_part *p, int64_t dump,
    char *err)
{
	int64_t same = -1;
	int rc = db_int(db, err, "checking a rebuilt part", &same, "SELECT"
	    " p.file = ? AND p.offset = ? AND p.bytes = ? AND t.tape_id = ? FROM"
	    " dump_parts p JOIN tapes t ON t.id = p.tape_id WHERE p.dump_id = ?"
	    " AND p.part = ?", "iiitii", p->file, p->offset, p->bytes, p->tape_id,
	    dump, p->part);

	if (rc < 0)
		return rc;
	if (rc == 1)
		return same ? 0 : db_fail(err, -EINVAL, "part %lld of dump %s is"
		    " recorded elsewhere or with other counts", (long long)p->part,
		    p->dump_uid);
	rc = db_exec(db, err, "adding a rebuilt part", "INSERT INTO dump_parts"
	    " (dump_id, part, tape_id, file, offset, bytes, blocks, block_size,"
	    " digest, trailer, written, prev_tape_id) VALUES (?, ?, (SELECT id"
	    " FROM tapes WHERE tape_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "iitiiiiititt", dump, p->part, p->tape_id, p->file, p->offset,
	    p->bytes, p->blocks, p->block_size, p->digest, (int64_t)p->trailer,
	    p->written && *p->written ? p->written : p->started,
	    p->part > 1 && p->prev_tape_id && *p->prev_tape_id ?
	    p->prev_tape_id : NULL);
	return rc < 0 ? rc : 1;
}

/* The stream's totals, from its last part (its trailer has them). */
static int
totals(struct cat_db *db, const struct cat_rebuild_part *p, int64_t dump,
    char *err)
{
	if (!p->last)
		return 0;
	return db_exec(db, err, "noting a rebuilt dump's totals", "UPDATE dumps"
	    " SET bytes = ?, raw_bytes = ?, digest = ?, raw_digest = ? WHERE id ="
	    " ? AND state = 'incomplete'", "iitti", p->stream_bytes, p->raw_bytes,
	    p->stream_digest, p->raw_digest, dump);
}

/* Its base (every part's header names it) and, from the last part's
   trailer, where its index sits; what the catalog has already stays. */
static int
chain_keys(struct cat_db *db, const struct cat_rebuild_part *p, int64_t dump,
    char *err)
{
	int rc = 0;

	if (p->base_uid && *p->base_uid)
		rc = db_exec(db, err, "noting a rebuilt dump's base", "UPDATE dumps"
		    " SET base_uid = ? WHERE id = ? AND base_uid IS NULL", "ti",
		    p->base_uid, dump);
	if (rc >= 0 && p->last && p->index_bytes > 0)
		rc = db_exec(db, err, "noting a rebuilt dump's index", "UPDATE"
		    " dumps SET index_raw = ?, index_stored = ?, index_bytes = ?"
		    " WHERE id = ? AND index_bytes IS NULL", "iiii", p->index_raw,
		    p->index_stored, p->index_bytes, dump);
	return rc < 0 ? rc : 0;
}

/*
 * Rebuilt dumps' states from what the catalog holds (any order gives the
 * same), for the dumps sel picks (an SQL condition on dumps, ?1 being
 * the dump's row id or a tape ID as types says): complete once parts
 * 1..N are in and add up to the last part's stream bytes (finished when
 * part N was written); expired once a part is missing from its
 * cartridge (named by the next part's header) read to its end, which was
 * labelled after the last of the dump's parts there are was written
 * (recycled after the dump: the catalog had expired it then; a cartridge
 * the dump itself labelled was labelled before its parts); else
 * incomplete (a cartridge not scanned, or not to its end, or a part
 * unreadable on it). Labels and parts are dated to the second, so a
 * cartridge labelled in the very second the dump's last part was written
 * is told apart by who wrote on it: a part there of a later job (the
 * catalog numbers jobs in order; the job that recycled a cartridge
 * writes on it) means it was recycled after the dump, and the dump
 * expires; a cartridge the dump itself or an earlier job labelled in
 * that second (a part of the dump unreadable on it) leaves it
 * incomplete. Without job IDs on tape (version 1) the tie stays
 * incomplete, never wrongly expired. Only rebuilt states move: a dump
 * the catalog finished keeps its own.
 */
static int
settle_where(struct cat_db *db, const char *sel, const char *types,
    int64_t id, const char *tape_id, char *err)
{
	char sql[3][2048];
	int rc = 0;

	snprintf(sql[0], sizeof(sql[0]), "UPDATE dumps SET state = 'complete',"
	    " finished = (SELECT written FROM dump_parts WHERE dump_id = dumps.id"
	    " ORDER BY part DESC LIMIT 1) WHERE %s AND state = 'incomplete' AND"
	    " bytes IS NOT NULL AND (SELECT count(*) = max(part) AND min(part) ="
	    " 1 AND sum(bytes) = dumps.bytes FROM dump_parts WHERE dump_id ="
	    " dumps.id)", sel);
	snprintf(sql[1], sizeof(sql[1]), "UPDATE dumps SET state = 'expired'"
	    " WHERE %s AND state = 'incomplete' AND EXISTS (SELECT 1 FROM"
	    " dump_parts p JOIN tapes t ON t.tape_id = p.prev_tape_id, (SELECT"
	    " max(written) AS w FROM dump_parts WHERE dump_id = dumps.id) m WHERE"
	    " p.dump_id = dumps.id AND t.scanned IS NOT NULL AND (t.added > m.w OR"
	    " (t.added = m.w AND EXISTS (SELECT 1 FROM dump_parts o JOIN dumps od"
	    " ON od.id = o.dump_id WHERE o.tape_id = t.id AND od.job_id >"
	    " dumps.job_id))) AND NOT EXISTS (SELECT 1 FROM dump_parts q WHERE"
	    " q.dump_id = dumps.id AND q.part = p.part - 1))", sel);
	/* A job ends when its dump did, whichever part came first. */
	snprintf(sql[2], sizeof(sql[2]), "UPDATE jobs SET finished = (SELECT"
	    " coalesce(dumps.finished, (SELECT max(written) FROM dump_parts WHERE"
	    " dump_id = dumps.id)) FROM dumps WHERE dumps.job_id = jobs.id) WHERE"
	    " detail = 'rebuilt from tapes' AND id IN (SELECT job_id FROM dumps"
	    " WHERE %s)", sel);
	for (int i = 0; i < 3 && rc >= 0; i++)
		rc = *types == 'i' ? db_exec(db, err, "settling rebuilt dumps",
		    sql[i], "i", id) : db_exec(db, err, "settling rebuilt dumps",
		    sql[i], "t", tape_id);
	return rc < 0 ? rc : 0;
}

/* Settle one rebuilt dump. */
static int
settle(struct cat_db *db, int64_t dump, char *err)
{
	return settle_where(db, "dumps.id = ?1", "i", dump, NULL, err);
}

/* Settle each rebuilt dump one of whose parts names tape_id before it. */
static int
settle_tape(struct cat_db *db, const char *tape_id, char *err)
{
	return settle_where(db, "dumps.id IN (SELECT dump_id FROM dump_parts"
	    " WHERE prev_tape_id = ?1)", "t", 0, tape_id, err);
}

int
cat_rebuild_part(struct cat_db *db, const struct cat_rebuild_part *p,
    char *err)
{
	int64_t tape = 0, entity = 0, dump = 0;
	int rc, added = 0;

	if ((rc = check_part(p, err)) < 0)
		return rc;
	if ((rc = db_int(db, err, "finding a rebuilt part's tape", &tape, "SELECT"
	    " id FROM tapes WHERE tape_id = ?", "t", p->tape_id)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "part on tape %s, whose"
		    " label was not scanned", p->tape_id);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = entity_of(db, p, &entity, err)) < 0 ||
	    (rc = dump_of(db, p, entity, &dump, err)) < 0 ||
	    (rc = added = part_of(db, p, dump, err)) < 0 ||
	    (rc = totals(db, p, dump, err)) < 0 ||
	    (rc = chain_keys(db, p, dump, err)) < 0 ||
	    (rc = settle(db, dump, err)) < 0) {
		db_rollback(db);
		return rc;
	}
	rc = db_commit(db, err);
	return rc < 0 ? rc : added;
}

/* Copy the three counts. */
static int
counts_row(sqlite3_stmt *st, void *arg)
{
	struct cat_rebuild_counts *c = arg;

	c->complete = db_i64(st, 0);
	c->incomplete = db_i64(st, 1);
	c->tapes = db_i64(st, 2);
	return 1;
}

int
cat_rebuild_counts(struct cat_db *db, struct cat_rebuild_counts *c, char *err)
{
	memset(c, 0, sizeof(*c));
	return db_query(db, err, "counting rebuilt dumps", counts_row, c,
	    "SELECT (SELECT count(*) FROM dumps WHERE state = 'complete'),"
	    " (SELECT count(*) FROM dumps WHERE state = 'incomplete'),"
	    " (SELECT count(*) FROM tapes WHERE state != 'destroyed')", "");
}
