/* Jobs on drives, the drives media servers registered, drive messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"

#define JOB_COLS "j.id, j.kind, j.state, e.name, dr.name, j.created," \
	" j.started, j.finished, j.detail"

/* A row of JOB_COLS (and source, pool, last_full, type, the type's four
   commands after) to fn. */
static int
job_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	bool more = sqlite3_column_count(st) > 9;
	struct cat_job j = {
		.id = db_i64(st, 0), .kind = db_text(st, 1),
		.state = db_text(st, 2), .entity = db_text(st, 3),
		.drive = db_text(st, 4), .created = db_text(st, 5),
		.started = db_text(st, 6), .finished = db_text(st, 7),
		.detail = db_text(st, 8),
		.source = more ? db_text(st, 9) : NULL,
		.pool = more ? db_text(st, 10) : NULL,
		.last_full = more ? db_text(st, 11) : NULL,
		.type = more ? db_text(st, 12) : NULL,
	};
	bool cmds = sqlite3_column_count(st) > 16;

	j.snapshot_cmd = cmds ? db_text(st, 13) : NULL;
	j.dump_cmd = cmds ? db_text(st, 14) : NULL;
	j.incr_cmd = cmds ? db_text(st, 15) : NULL;
	j.release_cmd = cmds ? db_text(st, 16) : NULL;

	return ((cat_job_fn *)cb->fn)(&j, cb->arg);
}

static int running_row(sqlite3_stmt *st, void *arg);

/* The newest jobs, newest first, with their origin. */
int
cat_jobs_list(struct cat_db *db, int64_t limit, cat_job_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing jobs", running_row, DB_CB(fn, arg),
	    "SELECT " JOB_COLS ", NULL, j.origin FROM jobs j LEFT JOIN entities"
	    " e ON e.id = j.entity_id LEFT JOIN drives dr ON dr.id = j.drive_id"
	    " ORDER BY j.id DESC LIMIT ?", "i", limit);
}

/* Queued jobs, oldest first. */
int
cat_jobs_queued(struct cat_db *db, cat_job_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing queued jobs", job_row, DB_CB(fn, arg),
	    "SELECT " JOB_COLS " FROM jobs j LEFT JOIN entities e ON e.id ="
	    " j.entity_id LEFT JOIN drives dr ON dr.id = j.drive_id WHERE"
	    " j.state = 'queued' ORDER BY j.id", "");
}

/* One job with what its media server needs. */
int
cat_job_get(struct cat_db *db, int64_t job, cat_job_fn *fn, void *arg,
    char *err)
{
	int rc = db_query(db, err, "reading a job", job_row, DB_CB(fn, arg),
	    "SELECT " JOB_COLS ", e.source, p.name, (SELECT max(started) FROM"
	    " dumps d WHERE d.entity_id = e.id AND d.state = 'complete' AND"
	    " d.level = 0), t.name, t.snapshot_cmd, t.dump_cmd, t.incr_cmd,"
	    " t.release_cmd FROM jobs j JOIN entities e ON e.id = j.entity_id"
	    " JOIN pools p ON p.id = e.pool_id LEFT JOIN entity_types t ON t.id ="
	    " e.type_id LEFT JOIN drives dr ON dr.id = j.drive_id WHERE j.id = ?",
	    "i", job);

	return rc == 0 ? db_fail(err, -ENOENT, "no job %lld", (long long)job) : rc;
}

/* Queue jobs on a drive, one per entity, in one transaction. */
int
cat_jobs_add(struct cat_db *db, const char *kind, const char *drive,
    const char *const *entities, size_t n, int64_t uid, const char *detail,
    int64_t *ids, char *err)
{
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = db_exec(db, err, "queueing a job", "INSERT INTO jobs (kind,"
		    " drive_id, entity_id, state, uid, detail) VALUES (?, (SELECT id"
		    " FROM drives WHERE name = ?), (SELECT id FROM entities WHERE"
		    " name = ?), 'queued', ?, ?)", "tttit", kind, drive, entities[i],
		    uid, detail);
		if (rc < 0) {
			db_rollback(db);
			return rc;
		}
		ids[i] = sqlite3_last_insert_rowid(db->db);
	}
	return (rc = db_commit(db, err)) < 0 ? rc : (int)n;
}

/* The drive's oldest queued job. */
int
cat_job_next(struct cat_db *db, const char *drive, int64_t *job, char *err)
{
	return db_int(db, err, "finding the next job", job, "SELECT j.id FROM"
	    " jobs j JOIN drives dr ON dr.id = j.drive_id WHERE dr.name = ? AND"
	    " j.state = 'queued' ORDER BY j.id LIMIT 1", "t", drive);
}

/* Whether the job has ended (done, failed, aborted) into *ended. */
int
cat_job_ended(struct cat_db *db, int64_t job, int64_t *ended, char *err)
{
	return db_int(db, err, "reading a job's state", ended, "SELECT state IN"
	    " ('done', 'failed', 'aborted') FROM jobs WHERE id = ?", "i", job);
}

/* Mark a job running. */
int
cat_job_start(struct cat_db *db, int64_t job, char *err)
{
	return db_exec(db, err, "starting a job", "UPDATE jobs SET state ="
	    " 'running', started = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE"
	    " id = ?", "i", job);
}

/* Bytes of the last complete dump of the job's entity. */
int
cat_job_estimate(struct cat_db *db, int64_t job, int64_t *bytes, char *err)
{
	int rc;

	*bytes = 0;
	rc = db_int(db, err, "estimating a job", bytes, "SELECT"
	    " coalesce(raw_bytes, bytes) FROM dumps d JOIN jobs j ON j.entity_id"
	    " = d.entity_id WHERE j.id = ? AND d.state = 'complete' ORDER BY"
	    " d.started DESC LIMIT 1", "i", job);
	if (*bytes == CAT_NULL)
		*bytes = 0;
	return rc < 0 ? rc : 0;
}

/* Abort a job that is still queued. */
int
cat_job_abort_queued(struct cat_db *db, int64_t job, char *err)
{
	return db_exec(db, err, "aborting a job", "UPDATE jobs SET state ="
	    " 'aborted', finished = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE"
	    " id = ? AND state = 'queued'", "i", job);
}

/* End a job as its media server reports; its running dumps too. */
int
cat_job_finish(struct cat_db *db, int64_t job, const char *state,
    const char *detail, char *err)
{
	int rc;

	if (!state || (strcmp(state, "done") && strcmp(state, "failed") &&
	    strcmp(state, "aborted")))
		return db_fail(err, -EINVAL, "a job ends done, failed or aborted");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_exec(db, err, "ending a job", "UPDATE jobs SET state = ?,"
	    " finished = strftime('%Y-%m-%dT%H:%M:%SZ','now'), detail ="
	    " coalesce(?, detail) WHERE id = ?", "tti", state, detail, job);
	if (rc >= 0 && strcmp(state, "done") != 0)
		rc = db_exec(db, err, "ending a job's dumps", "UPDATE dumps SET"
		    " state = ? WHERE job_id = ? AND state = 'running'", "ti",
		    strcmp(state, "aborted") == 0 ? "aborted" : "failed", job);
	if (rc >= 0)
		rc = db_tapes_release_job(db, job, err);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* Whether job has a complete dump: 1, 0, or negative with err. */
int
cat_job_dump_complete(struct cat_db *db, int64_t job, char *err)
{
	int64_t n = 0;
	int rc = db_int(db, err, "finding a job's complete dump", &n, "SELECT"
	    " count(*) FROM dumps WHERE job_id = ? AND state = 'complete'", "i",
	    job);

	return rc < 0 ? rc : n > 0;
}

/* Fail a running job and its dumps whose media server left. */
int
cat_job_lost(struct cat_db *db, int64_t job, const char *why, char *err)
{
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_exec(db, err, "failing a job", "UPDATE jobs SET state ="
	    " 'failed', finished = strftime('%Y-%m-%dT%H:%M:%SZ','now'), detail"
	    " = ? WHERE id = ? AND state = 'running'", "ti", why, job)) < 0 ||
	    (rc = db_exec(db, err, "failing a job's dumps", "UPDATE dumps SET"
	    " state = 'failed' WHERE job_id = ? AND state = 'running'", "i",
	    job)) < 0 || (rc = db_tapes_release_job(db, job, err)) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* Abort a queued job, or a running one whose media server is gone. */
int
cat_job_abort(struct cat_db *db, int64_t job, const char *why, char *err)
{
	int rc, n;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((n = rc = db_exec(db, err, "aborting a job", "UPDATE jobs SET state ="
	    " 'aborted', finished = strftime('%Y-%m-%dT%H:%M:%SZ','now'), detail"
	    " = coalesce(?, detail) WHERE id = ? AND state IN ('queued',"
	    " 'running')", "ti", why, job)) < 0 ||
	    (rc = db_exec(db, err, "aborting a job's dumps", "UPDATE dumps SET"
	    " state = 'aborted' WHERE job_id = ? AND state = 'running'", "i",
	    job)) < 0 || (rc = db_tapes_release_job(db, job, err)) < 0 ||
	    (rc = db_commit(db, err)) < 0) {
		db_rollback(db);
		return rc;
	}
	return n;
}

/* A running job, its drive and the tape it holds, to the callback. */
static int
running_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_job j = {
		.id = db_i64(st, 0), .kind = db_text(st, 1),
		.state = db_text(st, 2), .entity = db_text(st, 3),
		.drive = db_text(st, 4), .created = db_text(st, 5),
		.started = db_text(st, 6), .finished = db_text(st, 7),
		.detail = db_text(st, 8), .tape_id = db_text(st, 9),
		.origin = db_text(st, 10),
	};

	return ((cat_job_fn *)cb->fn)(&j, cb->arg);
}

/* Running jobs, oldest first, with the tape each holds. */
int
cat_jobs_running(struct cat_db *db, cat_job_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing running jobs", running_row,
	    DB_CB(fn, arg), "SELECT " JOB_COLS ", (SELECT t.tape_id FROM tapes t"
	    " WHERE t.job_id = j.id AND t.state = 'reserved' ORDER BY t.id DESC"
	    " LIMIT 1), j.origin FROM jobs j LEFT JOIN entities e ON e.id ="
	    " j.entity_id LEFT JOIN drives dr ON dr.id = j.drive_id WHERE"
	    " j.state = 'running' ORDER BY j.id", "");
}

/* What a crash left: reservations and dumps no running job holds. */
int
cat_reconcile(struct cat_db *db, int64_t *released, int64_t *failed,
    char *err)
{
	int rc, r = 0, f = 0;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((r = rc = cat_tapes_release_orphans(db, err)) < 0 ||
	    (f = rc = db_exec(db, err, "failing dumps of no running job",
	    "UPDATE dumps SET state = 'failed' WHERE state = 'running' AND"
	    " (job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE state ="
	    " 'running'))", "")) < 0 || (rc = db_commit(db, err)) < 0) {
		db_rollback(db);
		return rc;
	}
	if (released)
		*released = r;
	if (failed)
		*failed = f;
	return r + f;
}

/* Record a drive a media server registered. */
int
cat_drive_seen(struct cat_db *db, const char *name, const char *device,
    char *err)
{
	int rc = db_exec(db, err, "registering a drive", "INSERT INTO drives"
	    " (name, device, last_seen) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ',"
	    "'now')) ON CONFLICT(name) DO UPDATE SET device = excluded.device,"
	    " last_seen = excluded.last_seen", "tt", name, device);

	return rc < 0 ? rc : 0;
}

/* Record a line of a drive's log. */
int
cat_message_add(struct cat_db *db, const char *drive, int64_t job,
    const char *level, const char *text, char *err)
{
	int64_t sync = 2;	/* FULL, as cat_open sets it */
	bool lower;
	int rc;

	/*
	 * A message is a note beside the records, not one of them: its commit
	 * does not wait for the disk (WAL, synchronous=NORMAL: consistent,
	 * never torn). The next record's commit (synchronous=FULL) syncs the
	 * same log and makes the note durable with it; a power cut may lose
	 * the last notes, never a record. A job's start and end each wrote a
	 * note and waited for the disk twice. The connection's own setting
	 * comes back after it.
	 */
	lower = db_int(db, err, "reading synchronous", &sync,
	    "PRAGMA synchronous", "") == 1 && sync > 1;
	if (lower)
		sqlite3_exec(db->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	rc = db_exec(db, err, "recording a message", "INSERT INTO messages"
	    " (drive_id, job_id, level, text) VALUES ((SELECT id FROM drives WHERE"
	    " name = ?), (SELECT id FROM jobs WHERE id = ?), ?, ?)", "titt", drive,
	    job, level, text);
	if (lower)
		sqlite3_exec(db->db, sync > 2 ? "PRAGMA synchronous=EXTRA" :
		    "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	return rc < 0 ? rc : 0;
}

/* Our id of a reported job: 1 and *job (ours, or adopted before), or 0. */
static int
adopt_find(struct cat_db *db, const struct cat_job_report *r,
    const char *site, const char *origin, int64_t *job, char *err)
{
	int rc;

	if (r->site && strcmp(r->site, site) == 0) {
		rc = db_int(db, err, "finding a reported job", job, "SELECT id FROM"
		    " jobs WHERE id = ? AND origin IS NULL AND (? IS NULL OR"
		    " entity_id = (SELECT id FROM entities WHERE name = ?2))", "it",
		    r->id, r->entity);
		if (rc != 0)
			return rc;
	}
	if (!origin)
		return 0;
	return db_int(db, err, "finding an adopted job", job, "SELECT id FROM"
	    " jobs WHERE origin = ?", "t", origin);
}

/* Record a job another master started: our id in *job. */
static int
adopt_insert(struct cat_db *db, const struct cat_job_report *r,
    const char *origin, int64_t *job, char *err)
{
	char detail[160];
	int rc;

	snprintf(detail, sizeof(detail), "reported by its media server: job %lld"
	    " of master %.64s", (long long)r->id, r->site && *r->site ? r->site :
	    "(unknown)");
	rc = db_exec(db, err, "recording a reported job", "INSERT INTO jobs"
	    " (kind, drive_id, entity_id, state, started, detail, origin) VALUES"
	    " (?, (SELECT id FROM drives WHERE name = ?), (SELECT id FROM entities"
	    " WHERE name = ?), 'running', strftime('%Y-%m-%dT%H:%M:%SZ','now'),"
	    " ?, ?)", "ttttt", r->kind ? r->kind : "dump", r->drive, r->entity,
	    detail, origin);
	if (rc < 0)
		return rc;
	*job = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* A reported job still running: resumed, its dump and tape its own again. */
static int
adopt_running(struct cat_db *db, const struct cat_job_report *r, int64_t job,
    char *err)
{
	int rc;

	if ((rc = db_exec(db, err, "resuming a job", "UPDATE jobs SET state ="
	    " 'running', finished = NULL, drive_id = coalesce((SELECT id FROM"
	    " drives WHERE name = ?), drive_id) WHERE id = ? AND state IN"
	    " ('running', 'failed')", "ti", r->drive, job)) < 0)
		return rc;
	if (r->dump_uid && (rc = db_exec(db, err, "resuming a job's dump",
	    "UPDATE dumps SET state = 'running' WHERE dump_uid = ? AND job_id = ?"
	    " AND state = 'failed'", "ti", r->dump_uid, job)) < 0)
		return rc;
	if (!r->tape_id)
		return 0;
	/* The tape in its drive: a reservation nobody else holds. */
	rc = db_exec(db, err, "reserving a resumed job's tape", "UPDATE tapes SET"
	    " reserved_from = CASE WHEN state = 'reserved' THEN reserved_from ELSE"
	    " state END, state = 'reserved', job_id = ? WHERE tape_id = ? AND"
	    " (state IN ('blank', 'appendable') OR (state = 'reserved' AND"
	    " (job_id IS NULL OR job_id = ?1 OR job_id NOT IN (SELECT id FROM jobs"
	    " WHERE state = 'running'))))", "it", job, r->tape_id);
	return rc < 0 ? rc : 0;
}

/* A reported job that ended while its result could not be delivered. */
static int
adopt_ended(struct cat_db *db, const struct cat_job_report *r, int64_t job,
    char *err)
{
	int rc;

	if ((rc = db_exec(db, err, "ending a reported job", "UPDATE jobs SET"
	    " state = ?, finished = strftime('%Y-%m-%dT%H:%M:%SZ','now'), detail"
	    " = coalesce(?, detail) WHERE id = ? AND state IN ('queued',"
	    " 'running', 'failed')", "tti", r->state, r->detail, job)) < 0)
		return rc;
	if (strcmp(r->state, "done") != 0 && (rc = db_exec(db, err, "ending a"
	    " reported job's dumps", "UPDATE dumps SET state = ? WHERE job_id = ?"
	    " AND state = 'running'", "ti", strcmp(r->state, "aborted") == 0 ?
	    "aborted" : "failed", job)) < 0)
		return rc;
	return db_tapes_release_job(db, job, err);
}

/* A media server's report of its job (see catalog.h). */
int
cat_job_adopt(struct cat_db *db, const struct cat_job_report *r, int64_t *job,
    char *err)
{
	char site[64], origin[128];
	int64_t aborted = 0;
	bool running;
	int rc;

	*job = 0;
	if (!r->state || (strcmp(r->state, "running") && strcmp(r->state, "done")
	    && strcmp(r->state, "failed") && strcmp(r->state, "aborted")))
		return db_fail(err, -EINVAL, "a reported job is running, done,"
		    " failed or aborted");
	if (r->kind && strcmp(r->kind, "dump") && strcmp(r->kind, "restore") &&
	    strcmp(r->kind, "archive"))
		return db_fail(err, -EINVAL, "a reported job is a dump, a restore or"
		    " an archive");
	if (r->id <= 0)
		return db_fail(err, -EINVAL, "a reported job's id is positive");
	running = strcmp(r->state, "running") == 0;
	if ((rc = cat_site(db, site, sizeof(site), err)) < 0)
		return rc;
	snprintf(origin, sizeof(origin), "%.64s:%lld", r->site ? r->site : "",
	    (long long)r->id);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = adopt_find(db, r, site, r->site && *r->site ? origin : NULL, job,
	    err);
	if (rc == 0)
		rc = adopt_insert(db, r, r->site && *r->site ? origin : NULL, job,
		    err);
	if (rc >= 0)
		rc = db_int(db, err, "reading a reported job", &aborted, "SELECT"
		    " state = 'aborted' FROM jobs WHERE id = ?", "i", *job);
	/* A dump merged from the journal belongs to the job that wrote it. */
	if (rc >= 0 && r->dump_uid)
		rc = db_exec(db, err, "linking a reported job's dump", "UPDATE dumps"
		    " SET job_id = ? WHERE dump_uid = ? AND job_id IS NULL", "it",
		    *job, r->dump_uid);
	if (rc >= 0 && !aborted)
		rc = running ? adopt_running(db, r, *job, err) :
		    adopt_ended(db, r, *job, err);
	if (rc < 0 || (rc = db_commit(db, err)) < 0) {
		db_rollback(db);
		*job = 0;
		return rc;
	}
	return aborted && running ? 1 : 0;
}
