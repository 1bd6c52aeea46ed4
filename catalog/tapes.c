/* Tapes: adding, choosing the next, reserving, marking, describing. */
#include <errno.h>
#include <string.h>

#include "catalog/db_int.h"

#define TAPE_COLS "t.id, t.label, t.tape_id, t.state, p.name AS pool," \
	" t.ever_written, t.bytes, t.files, t.added, t.last_written, t.note"
#define TAPE_FROM " FROM tapes t JOIN pools p ON p.id = t.pool_id"

/* A row of TAPE_COLS (and a recycle column after them) to the callback. */
static int
tape_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_tape t = {
		.id = db_i64(st, 0), .label = db_text(st, 1),
		.tape_id = db_text(st, 2), .state = db_text(st, 3),
		.pool = db_text(st, 4), .ever_written = db_i64(st, 5),
		.bytes = db_i64(st, 6), .files = db_i64(st, 7),
		.added = db_text(st, 8), .last_written = db_text(st, 9),
		.note = db_text(st, 10),
		.recycle = sqlite3_column_count(st) > 11 ? db_i64(st, 11) : 0,
	};

	return cb->fn ? ((cat_tape_fn *)cb->fn)(&t, cb->arg) : 0;
}

/* Tapes of a pool (or all), by pool and label. */
int
cat_tapes_list(struct cat_db *db, const char *pool, cat_tape_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "listing tapes", tape_row, DB_CB(fn, arg),
	    "SELECT " TAPE_COLS TAPE_FROM " WHERE ? IS NULL OR p.name = ?"
	    " ORDER BY p.name, t.label, t.id", "tt", pool, pool);
}

/*
 * Dump n is newer than dump D: started later, a tie of start seconds
 * broken as the newest dump is chosen (catalog/dumps.c), never left
 * equal: two fulls started in the same second would each keep the other
 * from superseding it, and no cartridge of theirs could be recycled.
 */
#define NEWER_THAN(D) " (n.started, coalesce(n.finished, ''), coalesce(n.job_id," \
	" 0), n.dump_uid) > (" D ".started, coalesce(" D ".finished, '')," \
	" coalesce(" D ".job_id, 0), " D ".dump_uid)"
#define NEWER_THAN_D NEWER_THAN("d")
/* The complete fulls of dump D's entity newer than D. */
#define NEWER_FULLS(D) "(SELECT count(*) FROM dumps n WHERE n.entity_id =" \
	" " D ".entity_id AND n.state = 'complete' AND n.level = 0 AND" \
	NEWER_THAN(D) ")"

/*
 * The pool's reuse rule on tape T of pool P: full, last written keep_days
 * ago or more, and every complete dump on it has keep_fulls newer fulls.
 */
#define KEEP_RULE(T, P) " (" T ".state = 'full' AND julianday('now') -" \
	" julianday(" T ".last_written) >= " P ".keep_days AND NOT EXISTS" \
	" (SELECT 1 FROM dump_parts dp JOIN dumps d ON d.id = dp.dump_id WHERE" \
	" dp.tape_id = " T ".id AND d.state = 'complete' AND " NEWER_FULLS("d") \
	" < " P ".keep_fulls))"

/*
 * Chains are protected. A retained incremental is a complete one its
 * pool's rule keeps for its own sake: fewer than keep_fulls newer fulls
 * of its entity, or a part on a tape written less than keep_days ago.
 * "needed" holds every base of one (back to the full): a tape holding a
 * needed dump is never recycled, whatever the rule says of its own dumps.
 * A dump recorded before it named its base has as base the lower-level
 * dump that started at its since (catalog/chains.c).
 */
#define BASE_OF(D) "coalesce(" D ".base_uid, (SELECT x.dump_uid FROM dumps x" \
	" WHERE x.entity_id = " D ".entity_id AND x.level < " D ".level AND" \
	" x.started = " D ".since ORDER BY x.level DESC LIMIT 1))"
#define NEEDED_WITH "WITH RECURSIVE needed(uid, depth) AS (" \
	" SELECT " BASE_OF("c") ", 1 FROM dumps c WHERE c.state = 'complete' AND" \
	"  c.level > 0 AND EXISTS (SELECT 1 FROM dump_parts cp JOIN tapes u ON" \
	"  u.id = cp.tape_id JOIN pools up ON up.id = u.pool_id WHERE" \
	"  cp.dump_id = c.id AND (u.last_written IS NULL OR julianday('now') -" \
	"  julianday(u.last_written) < up.keep_days OR " NEWER_FULLS("c") \
	"  < up.keep_fulls))" \
	" UNION SELECT " BASE_OF("b") ", needed.depth + 1 FROM needed JOIN dumps" \
	"  b ON b.dump_uid = needed.uid WHERE b.level > 0 AND needed.depth < 10) "
#define NOT_NEEDED(T) " NOT EXISTS (SELECT 1 FROM dump_parts np JOIN dumps nd" \
	" ON nd.id = np.dump_id WHERE np.tape_id = " T ".id AND nd.dump_uid IN" \
	" (SELECT uid FROM needed WHERE uid IS NOT NULL))"

/* The order of cat_tapes_next (catalog.h says why). */
static const char next_tapes_sql[] = NEEDED_WITH
    "SELECT id, label, tape_id, state, pool, ever_written, bytes, files,"
    " added, last_written, note, recycle FROM ("
    " SELECT " TAPE_COLS ", 0 AS recycle,"
    "  CASE t.state WHEN 'appendable' THEN 0 ELSE 1 END AS rank,"
    "  coalesce(t.last_written, '') AS lw" TAPE_FROM
    "  WHERE p.name = ?1 AND t.state IN ('appendable', 'blank')"
    " UNION ALL"
    " SELECT " TAPE_COLS ", 1, 2, t.last_written" TAPE_FROM
    "  WHERE p.name = ?1 AND" KEEP_RULE("t", "p") " AND" NOT_NEEDED("t") ")"
    " ORDER BY rank, CASE WHEN rank = 0 THEN lw END DESC,"
    "  CASE WHEN rank = 2 THEN lw END,"
    /* Written the same second: by label, which a rebuilt catalog keeps
       (row ids follow the order tapes were added, or scanned). */
    "  CASE WHEN rank != 1 THEN label END, id LIMIT ?2";

/* The tapes of a pool in the order they will be written. */
int
cat_tapes_next(struct cat_db *db, const char *pool, int64_t limit,
    cat_tape_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "choosing the next tapes", tape_row,
	    DB_CB(fn, arg), next_tapes_sql, "ti", pool, limit);
}

/* The tape with a label, a live one first. */
int
cat_tape_get(struct cat_db *db, const char *label, cat_tape_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a tape", tape_row, DB_CB(fn, arg),
	    "SELECT " TAPE_COLS TAPE_FROM " WHERE t.label = ? ORDER BY t.state ="
	    " 'destroyed', t.id DESC LIMIT 1", "t", label);

	return rc == 0 ? db_fail(err, -ENOENT, "no tape labelled %s", label) : rc;
}

/* The pool's row id, its limit and how many live tapes it has. */
struct pool_count {
	int64_t id, max, have;
};

/* Keep a pool's row id, limit and live tapes. */
static int
pool_count_of(const struct cat_pool *p, void *arg)
{
	struct pool_count *pc = arg;

	pc->id = p->id;
	pc->max = p->max_tapes;
	pc->have = p->tapes;
	return 0;
}

/* Insert one blank tape; its ID is the site's ID and its own number. */
static int
add_one(struct cat_db *db, const char *pool, int64_t pid, const char *label,
    cat_tape_fn *fn, void *arg, char *err)
{
	int rc = db_exec(db, err, "adding a tape", "INSERT INTO tapes (tape_id,"
	    " label, pool_id) VALUES (lower(hex(randomblob(16))), ?, ?)", "ti",
	    label, pid);

	if (rc == -EEXIST)
		return db_fail(err, rc, "label %s is already in pool %s (labels are"
		    " reused only after the old tape is destroyed)", label, pool);
	if (rc < 0)
		return rc;
	rc = db_exec(db, err, "numbering a tape", "UPDATE tapes SET tape_id ="
	    " (SELECT value FROM meta WHERE key = 'site') || printf('%016x', id)"
	    " WHERE id = ?", "i", (int64_t)sqlite3_last_insert_rowid(db->db));
	if (rc < 0)
		return rc;
	return db_query(db, err, "reading a new tape", tape_row, DB_CB(fn, arg),
	    "SELECT " TAPE_COLS TAPE_FROM " WHERE t.id = last_insert_rowid()", "");
}

/* Add blank tapes to a pool in one transaction. */
int
cat_tapes_add(struct cat_db *db, const char *pool, const char *const *labels,
    size_t n, cat_tape_fn *fn, void *arg, char *err)
{
	struct pool_count pc = { 0, 0, 0 };
	int rc;

	if ((rc = cat_pool_get(db, pool, pool_count_of, &pc, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!cat_name_valid(labels[i]) || strlen(labels[i]) > 63)
			return db_fail(err, -EINVAL, "label %s: 1-63 characters, no"
			    " spaces", labels[i] ? labels[i] : "(none)");
	if (pc.max > 0 && pc.have + (int64_t)n > pc.max)
		return db_fail(err, -EDQUOT, "pool %s may hold %lld tapes; it has"
		    " %lld", pool, (long long)pc.max, (long long)pc.have);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = add_one(db, pool, pc.id, labels[i], fn, arg, err)) < 0) {
			db_rollback(db);
			return rc;
		}
	if ((rc = db_commit(db, err)) < 0)
		return rc;
	return (int)n;
}

/* An operator's mark on a tape. */
int
cat_tape_set_state(struct cat_db *db, const char *label, const char *state,
    char *err)
{
	static const char *const ok[] = { "out-of-service", "no-new-writes",
	    "appendable", "destroyed" };
	size_t i;
	int rc;

	for (i = 0; i < 4; i++)
		if (state && strcmp(state, ok[i]) == 0)
			break;
	if (i == 4)
		return db_fail(err, -EINVAL, "state is out-of-service, no-new-writes,"
		    " appendable or destroyed");
	/* Back in service: appendable only if it ever held data. */
	rc = db_exec(db, err, "marking a tape", "UPDATE tapes SET state = CASE"
	    " WHEN ? = 'appendable' AND ever_written = 0 THEN 'blank' ELSE ? END"
	    " WHERE label = ? AND state != 'destroyed'", "ttt", state, state,
	    label);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no tape labelled %s (or it is"
		    " destroyed)", label);
	return rc;
}

/*
 * What a reserved tape goes back to: the state it had, except that a blank
 * one that got data (a label, or parts merged from a journal) is
 * appendable; a reservation from before schema 3 has no state kept.
 */
#define RELEASED_STATE "CASE WHEN (ever_written OR EXISTS (SELECT 1 FROM" \
	" dump_parts dp WHERE dp.tape_id = tapes.id)) AND coalesce(reserved_from," \
	" 'blank') = 'blank' THEN 'appendable' ELSE coalesce(reserved_from," \
	" 'blank') END"

/* Reserve a tape for a job. */
int
cat_tape_reserve(struct cat_db *db, const char *tape_id, int64_t job,
    char *err)
{
	int64_t holder = 0;
	/* A full tape only if it may be recycled: the rule and its chains. */
	int rc = db_exec(db, err, "reserving a tape", NEEDED_WITH "UPDATE tapes"
	    " SET reserved_from = CASE WHEN state = 'reserved' THEN reserved_from"
	    " ELSE state END, state = 'reserved', job_id = nullif(?1, 0) WHERE"
	    " tape_id = ?2 AND (state IN ('blank', 'appendable') OR (state ="
	    " 'full' AND EXISTS (SELECT 1 FROM tapes t JOIN pools p ON p.id ="
	    " t.pool_id WHERE t.id = tapes.id AND" KEEP_RULE("t", "p") " AND"
	    NOT_NEEDED("t") ")) OR (state = 'reserved' AND (job_id IS NULL OR"
	    " job_id = ?1 OR job_id NOT IN (SELECT id FROM jobs WHERE state ="
	    " 'running'))))", "it", job, tape_id);

	if (rc != 0)
		return rc;
	rc = db_int(db, err, "reading a tape's reservation", &holder, "SELECT"
	    " coalesce(job_id, 0) FROM tapes WHERE tape_id = ?", "t", tape_id);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no tape with ID %s", tape_id ?
		    tape_id : "(null)");
	if (rc < 0)
		return rc;
	return db_fail(err, -EBUSY, "tape %s cannot be reserved: it is %s",
	    tape_id, holder > 0 ? "reserved for another running job" :
	    "not writable (or full and kept: its reuse rule, or a retained"
	    " incremental needs a dump on it)");
}

/* Give a reserved tape back, unless another job holds it. */
int
cat_tape_release(struct cat_db *db, const char *tape_id, int64_t job,
    char *err)
{
	return db_exec(db, err, "releasing a tape", "UPDATE tapes SET state = "
	    RELEASED_STATE ", reserved_from = NULL, job_id = NULL WHERE tape_id"
	    " = ? AND state = 'reserved' AND (job_id IS NULL OR job_id = ? OR"
	    " ? = 0)", "tii", tape_id, job, job);
}

/* Give back the tapes a job holds (catalog/db_int.h). */
int
db_tapes_release_job(struct cat_db *db, int64_t job, char *err)
{
	return db_exec(db, err, "releasing a job's tapes", "UPDATE tapes SET"
	    " state = " RELEASED_STATE ", reserved_from = NULL, job_id = NULL"
	    " WHERE job_id = ? AND state = 'reserved'", "i", job);
}

/* Give back every reservation that no running job holds. */
int
cat_tapes_release_orphans(struct cat_db *db, char *err)
{
	return db_exec(db, err, "releasing reservations of no running job",
	    "UPDATE tapes SET state = " RELEASED_STATE ", reserved_from = NULL,"
	    " job_id = NULL WHERE state = 'reserved' AND (job_id IS NULL OR"
	    " job_id NOT IN (SELECT id FROM jobs WHERE state = 'running'))", "");
}

/*
 * rc, the rows a statement on a tape changed; if none, -ENOENT unless a
 * tape has the ID (checked after the write, so a broken catalog says so).
 */
static int
tape_known(struct cat_db *db, int rc, const char *tape_id, char *err)
{
	int64_t id;

	if (rc != 0)
		return rc;
	rc = db_int(db, err, "finding a tape", &id, "SELECT id FROM tapes WHERE"
	    " tape_id = ?", "t", tape_id);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no tape with ID %s", tape_id ?
		    tape_id : "(null)");
	return rc < 0 ? rc : 0;
}

/* A tape reached its end; its reservation ends with it. */
int
cat_tape_full(struct cat_db *db, const char *tape_id, char *err)
{
	return tape_known(db, db_exec(db, err, "marking a tape full", "UPDATE"
	    " tapes SET state = 'full', reserved_from = NULL, job_id = NULL WHERE"
	    " tape_id = ? AND state IN ('appendable', 'blank', 'reserved')", "t",
	    tape_id), tape_id, err);
}

/* A tape got its label. */
int
cat_tape_labelled(struct cat_db *db, const char *tape_id, char *err)
{
	return tape_known(db, db_exec(db, err, "marking a tape labelled",
	    "UPDATE tapes SET ever_written = 1 WHERE tape_id = ?", "t", tape_id),
	    tape_id, err);
}

/* A tape goes out of service; a reservation ends with it. */
int
cat_tape_bad(struct cat_db *db, const char *tape_id, char *err)
{
	return tape_known(db, db_exec(db, err, "taking a tape out of service",
	    "UPDATE tapes SET state = 'out-of-service', reserved_from = NULL,"
	    " job_id = NULL WHERE tape_id = ?", "t", tape_id), tape_id, err);
}

/* A relabelled tape: its old dumps expire. */
int
cat_tape_recycled(struct cat_db *db, const char *tape_id, char *err)
{
	int rc, rc2;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	/* A full tape reserved for reuse is appendable once relabelled. */
	if ((rc = db_exec(db, err, "expiring a recycled tape's dumps", "UPDATE"
	    " dumps SET state = 'expired' WHERE id IN (SELECT dump_id FROM"
	    " dump_parts WHERE tape_id = (SELECT id FROM tapes WHERE tape_id ="
	    " ?))", "t", tape_id)) < 0 ||
	    (rc = tape_known(db, db_exec(db, err, "recycling a tape", "UPDATE"
	    " tapes SET bytes = 0, files = 0, reserved_from = CASE WHEN"
	    " reserved_from = 'full' THEN 'appendable' ELSE reserved_from END"
	    " WHERE tape_id = ?", "t", tape_id), tape_id, err)) < 0) {
		db_rollback(db);
		return rc;
	}
	return (rc2 = db_commit(db, err)) < 0 ? rc2 : rc;
}

/* A tapes-for row to the callback. */
static int
use_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_tape_use u = {
		.label = db_text(st, 0), .tape_id = db_text(st, 1),
		.state = db_text(st, 2), .pool = db_text(st, 3),
		.parts = db_i64(st, 4), .oldest = db_text(st, 5),
		.newest = db_text(st, 6),
	};

	return ((cat_tape_use_fn *)cb->fn)(&u, cb->arg);
}

/* The tapes holding complete dumps of an entity. */
int
cat_tapes_for_entity(struct cat_db *db, const char *entity,
    cat_tape_use_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "finding an entity's tapes", use_row,
	    DB_CB(fn, arg), "SELECT t.label, t.tape_id, t.state, po.name,"
	    " count(*), min(d.started), max(d.started) FROM dump_parts p JOIN"
	    " dumps d ON d.id = p.dump_id JOIN entities e ON e.id = d.entity_id"
	    " JOIN tapes t ON t.id = p.tape_id JOIN pools po ON po.id ="
	    " t.pool_id WHERE e.name = ? AND d.state = 'complete' GROUP BY t.id"
	    " ORDER BY t.label", "t", entity);
}
