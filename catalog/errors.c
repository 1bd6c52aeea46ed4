/* Error events (per drive and tape, over time) and verifications. */
#include <errno.h>

#include "catalog/db_int.h"

/* Record an error event. */
int
cat_error_add(struct cat_db *db, const char *drive, const char *label,
    int64_t job, const char *kind, const char *message, char *err)
{
	int rc = db_exec(db, err, "recording an error event", "INSERT INTO"
	    " error_events (drive_id, tape_id, job_id, kind, message) VALUES"
	    " ((SELECT id FROM drives WHERE name = ?), (SELECT id FROM tapes"
	    " WHERE label = ? AND state != 'destroyed' ORDER BY id DESC LIMIT 1),"
	    " (SELECT id FROM jobs WHERE id = ?), ?, ?)", "ttitt", drive, label,
	    job, kind, message);

	return rc < 0 ? rc : 0;
}

/* An error event row to the callback. */
static int
error_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_error e = {
		.at = db_text(st, 0), .drive = db_text(st, 1),
		.label = db_text(st, 2), .job = db_i64(st, 3),
		.kind = db_text(st, 4), .message = db_text(st, 5),
	};

	return ((cat_error_fn *)cb->fn)(&e, cb->arg);
}

/* Error events in time order, filtered. */
int
cat_errors_list(struct cat_db *db, const char *drive, const char *label,
    const char *since, cat_error_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing errors", error_row, DB_CB(fn, arg),
	    "SELECT ev.at, dr.name, t.label, ev.job_id, ev.kind, ev.message FROM"
	    " error_events ev LEFT JOIN drives dr ON dr.id = ev.drive_id LEFT"
	    " JOIN tapes t ON t.id = ev.tape_id WHERE (? IS NULL OR dr.name = ?)"
	    " AND (? IS NULL OR t.label = ?) AND (? IS NULL OR ev.at >= ?) ORDER"
	    " BY ev.at, ev.id", "tttttt", drive, drive, label, label, since, since);
}

/* A per-day count row to the callback. */
static int
day_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_error_day d = {
		.name = db_text(st, 0), .day = db_text(st, 1),
		.errors = db_i64(st, 2),
	};

	return ((cat_error_day_fn *)cb->fn)(&d, cb->arg);
}

/* Errors per drive per day. */
int
cat_errors_per_drive(struct cat_db *db, const char *drive, const char *since,
    cat_error_day_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "counting errors per drive", day_row,
	    DB_CB(fn, arg), "SELECT dr.name, substr(ev.at, 1, 10) AS day,"
	    " count(*) FROM error_events ev JOIN drives dr ON dr.id = ev.drive_id"
	    " WHERE (? IS NULL OR dr.name = ?) AND (? IS NULL OR ev.at >= ?)"
	    " GROUP BY dr.name, day ORDER BY dr.name, day", "tttt", drive, drive,
	    since, since);
}

/* Errors per tape per day. */
int
cat_errors_per_tape(struct cat_db *db, const char *label, const char *since,
    cat_error_day_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "counting errors per tape", day_row,
	    DB_CB(fn, arg), "SELECT t.label, substr(ev.at, 1, 10) AS day,"
	    " count(*) FROM error_events ev JOIN tapes t ON t.id = ev.tape_id"
	    " WHERE (? IS NULL OR t.label = ?) AND (? IS NULL OR ev.at >= ?)"
	    " GROUP BY t.label, day ORDER BY t.label, day", "tttt", label, label,
	    since, since);
}

/* How many error events a tape has. */
int
cat_tape_errors(struct cat_db *db, int64_t tape, int64_t *count, char *err)
{
	int rc;

	*count = 0;
	rc = db_int(db, err, "counting a tape's errors", count, "SELECT count(*)"
	    " FROM error_events WHERE tape_id = ?", "i", tape);
	return rc < 0 ? rc : 0;
}

/* Record a check of a dump's blocks on a tape. */
int
cat_verification_add(struct cat_db *db, const char *tape_id,
    const char *dump_uid, const char *kind, int64_t checked, int64_t bad,
    char *err)
{
	int rc = db_exec(db, err, "recording a verification", "INSERT INTO"
	    " verifications (tape_id, dump_id, kind, checked, bad) SELECT t.id,"
	    " (SELECT id FROM dumps WHERE dump_uid = ?), ?, ?, ? FROM tapes t"
	    " WHERE t.tape_id = ?", "ttiit", dump_uid, kind, checked, bad,
	    tape_id);

	if (rc == 0)	/* a check of a tape we do not know is not recorded */
		return db_fail(err, -ENOENT, "no tape with ID %s", tape_id ?
		    tape_id : "(null)");
	return rc < 0 ? rc : 0;
}

/* A verification row to the callback. */
static int
verification_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_verification v = {
		.kind = db_text(st, 0), .checked = db_i64(st, 1),
		.bad = db_i64(st, 2), .at = db_text(st, 3),
	};

	return ((cat_verification_fn *)cb->fn)(&v, cb->arg);
}

/* A tape's newest checks. */
int
cat_tape_verifications(struct cat_db *db, int64_t tape, int64_t limit,
    cat_verification_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing a tape's verifications",
	    verification_row, DB_CB(fn, arg), "SELECT kind, checked, bad, at FROM"
	    " verifications WHERE tape_id = ? ORDER BY at DESC LIMIT ?", "ii",
	    tape, limit);
}
