/*
 * Nightly runs: the run (night, drives, state), its plan row by row, the
 * jobs it queued (level, reason, attempt), and what the nightly report
 * asks of a night: its dumps with their tapes and files, its failures and
 * retries, the tapes it wrote, the errors met, new and vanished entities.
 * A night is the date (YYYY-MM-DD) a run started on; runs name it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"

/* A run row to the callback. */
static int
run_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_run r = {
		.id = db_i64(st, 0), .night = db_text(st, 1),
		.drives = db_text(st, 2), .state = db_text(st, 3),
		.uid = db_i64(st, 4), .started = db_text(st, 5),
		.finished = db_text(st, 6), .detail = db_text(st, 7),
	};

	return ((cat_run_fn *)cb->fn)(&r, cb->arg);
}

#define RUN_COLS "id, night, drives, state, uid, started, finished, detail"

/* A new run, running; *id gets its id. */
int
cat_run_add(struct cat_db *db, const char *night, const char *drives,
    int64_t uid, const char *started, int64_t *id, char *err)
{
	int rc;

	if (!night || strlen(night) != 10 || !drives || !*drives || !started)
		return db_fail(err, -EINVAL, "a run needs a night (YYYY-MM-DD),"
		    " drives and a start date");
	rc = db_exec(db, err, "recording a run", "INSERT INTO runs (night,"
	    " drives, state, uid, started) VALUES (?, ?, 'running', ?, ?)",
	    "ttit", night, drives, uid, started);
	if (rc < 0)
		return rc;
	*id = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* A run ended (done failed aborted); detail may be NULL. */
int
cat_run_finish(struct cat_db *db, int64_t id, const char *state,
    const char *finished, const char *detail, char *err)
{
	int rc;

	if (!state || (strcmp(state, "done") && strcmp(state, "failed") &&
	    strcmp(state, "aborted")))
		return db_fail(err, -EINVAL, "a run ends done, failed or aborted");
	rc = db_exec(db, err, "ending a run", "UPDATE runs SET state = ?,"
	    " finished = ?, detail = coalesce(?, detail) WHERE id = ?", "ttti",
	    state, finished, detail, id);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no run %lld", (long long)id);
	return rc < 0 ? rc : 0;
}

/* One run (id > 0) or the newest limit, newest first. */
int
cat_runs_list(struct cat_db *db, int64_t id, int64_t limit, cat_run_fn *fn,
    void *arg, char *err)
{
	int rc;

	if (id > 0) {
		rc = db_query(db, err, "reading a run", run_row, DB_CB(fn, arg),
		    "SELECT " RUN_COLS " FROM runs WHERE id = ?", "i", id);
		return rc == 0 ? db_fail(err, -ENOENT, "no run %lld",
		    (long long)id) : rc;
	}
	return db_query(db, err, "listing runs", run_row, DB_CB(fn, arg),
	    "SELECT " RUN_COLS " FROM runs ORDER BY id DESC LIMIT ?", "i",
	    limit > 0 ? limit : 20);
}

/* The runs of a night, oldest first. */
int
cat_night_runs(struct cat_db *db, const char *night, cat_run_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "listing a night's runs", run_row,
	    DB_CB(fn, arg), "SELECT " RUN_COLS " FROM runs WHERE night = ?"
	    " ORDER BY id", "t", night);
}

/* Runs still running, oldest first (one abs-ctld restarted left some). */
int
cat_runs_running(struct cat_db *db, cat_run_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing running runs", run_row,
	    DB_CB(fn, arg), "SELECT " RUN_COLS " FROM runs WHERE state ="
	    " 'running' ORDER BY id", "");
}

/* The plan of a run, in one transaction. */
int
cat_run_plan_add(struct cat_db *db, int64_t run, const struct cat_plan_row *p,
    size_t n, char *err)
{
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = db_exec(db, err, "recording a run's plan", "INSERT INTO"
		    " run_plan (run_id, entity_id, drive, position, level, bytes,"
		    " seconds, reason) VALUES (?, (SELECT id FROM entities WHERE"
		    " name = ?), ?, ?, ?, ?, ?, ?)", "ittiiiit", run, p[i].entity,
		    p[i].drive, p[i].position, p[i].level, p[i].bytes,
		    (int64_t)p[i].seconds, p[i].reason);
		if (rc < 0) {
			db_rollback(db);
			return rc;
		}
	}
	return (rc = db_commit(db, err)) < 0 ? rc : (int)n;
}

/* A plan row to the callback. */
static int
plan_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_plan_row p = {
		.run = db_i64(st, 0), .entity = db_text(st, 1),
		.drive = db_text(st, 2), .position = db_i64(st, 3),
		.level = db_i64(st, 4), .bytes = db_i64(st, 5),
		.seconds = (double)db_i64(st, 6), .reason = db_text(st, 7),
	};

	return ((cat_plan_row_fn *)cb->fn)(&p, cb->arg);
}

/*
 * The plan rows of a run (run > 0) or of every run of a night, those on
 * a drive by drive and position, then those left for another night.
 */
int
cat_run_plan_list(struct cat_db *db, int64_t run, const char *night,
    cat_plan_row_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "reading a run's plan", plan_row,
	    DB_CB(fn, arg), "SELECT p.run_id, e.name, p.drive, p.position,"
	    " p.level, p.bytes, p.seconds, p.reason FROM run_plan p JOIN"
	    " entities e ON e.id = p.entity_id JOIN runs r ON r.id = p.run_id"
	    " WHERE (?1 > 0 AND p.run_id = ?1) OR (?1 <= 0 AND r.night = ?2)"
	    " ORDER BY p.run_id, p.drive IS NULL, p.drive, p.position, e.name",
	    "it", run, night);
}

/* Queue a run's dump job on a drive: *job gets its id. */
int
cat_run_job_add(struct cat_db *db, int64_t run, const char *drive,
    const char *entity, int64_t level, const char *reason, int64_t attempt,
    int64_t uid, int64_t *job, char *err)
{
	char detail[32];
	int rc;

	if (level < 0 || level > 9 || attempt < 1)
		return db_fail(err, -EINVAL, "level 0..9 and attempt 1.. only");
	/* The old detail too: media servers that predate the level field. */
	snprintf(detail, sizeof(detail), "level=%lld", (long long)level);
	rc = db_exec(db, err, "queueing a run's job", "INSERT INTO jobs (kind,"
	    " drive_id, entity_id, state, uid, detail, run_id, level, reason,"
	    " attempt) SELECT 'dump', (SELECT id FROM drives WHERE name = ?),"
	    " e.id, 'queued', ?, ?, ?, ?, ?, ? FROM entities e WHERE e.name = ?",
	    "titiitit", drive, uid, detail, run, level, reason, attempt, entity);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no entity %s", entity);
	if (rc < 0)
		return rc;
	*job = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* A run's job to the callback. */
static int
run_job_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_run_job j = {
		.id = db_i64(st, 0), .run = db_i64(st, 1),
		.entity = db_text(st, 2), .drive = db_text(st, 3),
		.state = db_text(st, 4), .level = db_i64(st, 5),
		.attempt = db_i64(st, 6), .reason = db_text(st, 7),
		.started = db_text(st, 8), .finished = db_text(st, 9),
		.detail = db_text(st, 10), .dump_uid = db_text(st, 11),
		.dump_state = db_text(st, 12), .bytes = db_i64(st, 13),
		.raw_bytes = db_i64(st, 14), .dump_started = db_text(st, 15),
		.dump_finished = db_text(st, 16), .tapes = db_text(st, 17),
	};

	return ((cat_run_job_fn *)cb->fn)(&j, cb->arg);
}

/*
 * The jobs of a run (run > 0) or of a night's runs, in the order queued,
 * each with its newest dump and where it went ("LABEL:FILE ..." by part).
 */
int
cat_run_jobs(struct cat_db *db, int64_t run, const char *night,
    cat_run_job_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "reading a run's jobs", run_job_row,
	    DB_CB(fn, arg), "SELECT j.id, j.run_id, e.name, dr.name, j.state,"
	    " j.level, j.attempt, j.reason, j.started, j.finished, j.detail,"
	    " d.dump_uid, d.state, d.bytes, d.raw_bytes, d.started, d.finished,"
	    " (SELECT group_concat(t.label || ':' || p.file, ' ') FROM (SELECT"
	    " * FROM dump_parts WHERE dump_id = d.id ORDER BY part) p JOIN tapes"
	    " t ON t.id = p.tape_id) FROM jobs j JOIN runs r ON r.id = j.run_id"
	    " LEFT JOIN entities e ON e.id = j.entity_id LEFT JOIN drives dr ON"
	    " dr.id = j.drive_id LEFT JOIN dumps d ON d.id = (SELECT max(id)"
	    " FROM dumps WHERE job_id = j.id) WHERE (?1 > 0 AND j.run_id = ?1)"
	    " OR (?1 <= 0 AND r.night = ?2) ORDER BY j.id", "it", run, night);
}

/* A tape of the night to the callback. */
static int
night_tape_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_tape t = {
		.id = db_i64(st, 0), .label = db_text(st, 1),
		.tape_id = db_text(st, 2), .state = db_text(st, 3),
		.pool = db_text(st, 4), .ever_written = db_i64(st, 5),
		.bytes = db_i64(st, 6), .files = db_i64(st, 7),
		.added = db_text(st, 8), .last_written = db_text(st, 9),
		.note = db_text(st, 10),
	};

	return ((cat_tape_fn *)cb->fn)(&t, cb->arg);
}

/* The tapes a night's runs wrote parts on, by label. */
int
cat_night_tapes(struct cat_db *db, const char *night, cat_tape_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "listing a night's tapes", night_tape_row,
	    DB_CB(fn, arg), "SELECT t.id, t.label, t.tape_id, t.state, po.name,"
	    " t.ever_written, t.bytes, t.files, t.added, t.last_written, t.note"
	    " FROM tapes t JOIN pools po ON po.id = t.pool_id WHERE t.id IN"
	    " (SELECT p.tape_id FROM dump_parts p JOIN dumps d ON d.id ="
	    " p.dump_id JOIN jobs j ON j.id = d.job_id JOIN runs r ON r.id ="
	    " j.run_id WHERE r.night = ?) ORDER BY t.label, t.id", "t", night);
}

/* An error count to the callback. */
static int
error_count_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_error_count e = {
		.drive = db_text(st, 0), .label = db_text(st, 1),
		.kind = db_text(st, 2), .count = db_i64(st, 3),
	};

	return ((cat_error_count_fn *)cb->fn)(&e, cb->arg);
}

/*
 * Errors met during a night's runs (by their jobs, or on their drives
 * while they ran), counted per drive, tape and kind.
 */
int
cat_night_errors(struct cat_db *db, const char *night, cat_error_count_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "counting a night's errors", error_count_row,
	    DB_CB(fn, arg), "SELECT dr.name, t.label, x.kind, count(*) FROM"
	    " error_events x LEFT JOIN drives dr ON dr.id = x.drive_id LEFT JOIN"
	    " tapes t ON t.id = x.tape_id WHERE x.job_id IN (SELECT j.id FROM"
	    " jobs j JOIN runs r ON r.id = j.run_id WHERE r.night = ?1) OR"
	    " EXISTS (SELECT 1 FROM runs r WHERE r.night = ?1 AND x.at >="
	    " r.started AND (r.finished IS NULL OR x.at <= r.finished) AND"
	    " (' ' || replace(r.drives, ',', ' ') || ' ') LIKE '% ' || dr.name"
	    " || ' %') GROUP BY dr.name, t.label, x.kind ORDER BY dr.name,"
	    " t.label, x.kind", "t", night);
}

/* An entity's name and date to the callback. */
static int
entity_change_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_entity_change c = {
		.entity = db_text(st, 0), .change = db_text(st, 1),
		.at = db_text(st, 2),
	};

	return ((cat_entity_change_fn *)cb->fn)(&c, cb->arg);
}

/*
 * Entities discovery added that are new to a night (change "new"): their
 * first complete dump is from a run of that night, or they have none yet
 * and were added by that date (reported until dumped); and those flagged
 * vanished now ("vanished", reported until an admin acts), by name.
 */
int
cat_night_entities(struct cat_db *db, const char *night,
    cat_entity_change_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing new and vanished entities",
	    entity_change_row, DB_CB(fn, arg), "SELECT name, 'new', added FROM"
	    " entities e WHERE discovered_by IS NOT NULL AND vanished IS NULL AND"
	    " ((SELECT r.night FROM dumps d JOIN jobs j ON j.id = d.job_id JOIN"
	    " runs r ON r.id = j.run_id WHERE d.entity_id = e.id AND d.state ="
	    " 'complete' ORDER BY d.started LIMIT 1) = ?1 OR (NOT EXISTS (SELECT"
	    " 1 FROM dumps d WHERE d.entity_id = e.id AND d.state = 'complete')"
	    " AND substr(e.added, 1, 10) <= ?1 AND e.active = 1)) UNION ALL"
	    " SELECT name, 'vanished', vanished FROM entities WHERE vanished IS"
	    " NOT NULL AND active = 1 ORDER BY 2, 1", "t", night);
}

/* Where cat_job_fault's label goes. */
struct fault_buf {
	char *label;
	size_t len;
};

static int
fault_row(sqlite3_stmt *st, void *arg)
{
	struct fault_buf *f = arg;

	snprintf(f->label, f->len, "%s", db_text(st, 0) ? db_text(st, 0) : "");
	return 1;
}

/* The label of the tape an error of job names, the newest; 1 or 0. */
int
cat_job_fault(struct cat_db *db, int64_t job, char *label, size_t len,
    char *err)
{
	struct fault_buf f = { label, len };

	label[0] = '\0';
	return db_query(db, err, "finding a job's tape at fault", fault_row, &f,
	    "SELECT t.label FROM error_events x JOIN tapes t ON t.id ="
	    " x.tape_id WHERE x.job_id = ? ORDER BY x.id DESC LIMIT 1", "i",
	    job);
}
