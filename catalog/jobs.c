/* Jobs on drives, the drives media servers registered, drive messages. */
#include <errno.h>
#include <string.h>

#include "catalog/db_int.h"

#define JOB_COLS "j.id, j.kind, j.state, e.name, dr.name, j.created," \
	" j.started, j.finished, j.detail"

/* A row of JOB_COLS (and source, pool, last_full after) to the callback. */
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
	};

	return ((cat_job_fn *)cb->fn)(&j, cb->arg);
}

/* The newest jobs, newest first. */
int
cat_jobs_list(struct cat_db *db, int64_t limit, cat_job_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing jobs", job_row, DB_CB(fn, arg),
	    "SELECT " JOB_COLS " FROM jobs j LEFT JOIN entities e ON e.id ="
	    " j.entity_id LEFT JOIN drives dr ON dr.id = j.drive_id ORDER BY"
	    " j.id DESC LIMIT ?", "i", limit);
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
	    " d.level = 0) FROM jobs j JOIN entities e ON e.id = j.entity_id"
	    " JOIN pools p ON p.id = e.pool_id LEFT JOIN drives dr ON dr.id ="
	    " j.drive_id WHERE j.id = ?", "i", job);

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
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
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
	    job)) < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
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
	int rc = db_exec(db, err, "recording a message", "INSERT INTO messages"
	    " (drive_id, job_id, level, text) VALUES ((SELECT id FROM drives WHERE"
	    " name = ?), (SELECT id FROM jobs WHERE id = ?), ?, ?)", "titt", drive,
	    job, level, text);

	return rc < 0 ? rc : 0;
}
