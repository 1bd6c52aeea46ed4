/*
 * What the planner needs from the catalog: the dump history of entities
 * (levels, dates, sizes, bases) and the rates drives wrote at. Dates are
 * the ones recorded (clock_now() at the time), never SQLite's 'now'.
 */
#include <errno.h>
#include <stdio.h>

#include "catalog/db_int.h"

/* A row of the history query to the callback. */
static int
history_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_history h = {
		.entity_id = db_i64(st, 0), .entity = db_text(st, 1),
		.level = db_i64(st, 2), .started = db_text(st, 3),
		.finished = db_text(st, 4), .state = db_text(st, 5),
		.bytes = db_i64(st, 6), .raw_bytes = db_i64(st, 7),
		.dump_uid = db_text(st, 8), .base_uid = db_text(st, 9),
		.drive = db_text(st, 10),
	};

	return ((cat_history_fn *)cb->fn)(&h, cb->arg);
}

/* Dumps (complete or failed) of one entity or all, by entity and date. */
int
cat_history_list(struct cat_db *db, const char *entity, const char *since,
    cat_history_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "reading the dump history", history_row,
	    DB_CB(fn, arg), "SELECT e.id, e.name, d.level, d.started,"
	    " d.finished, d.state, d.bytes, d.raw_bytes, d.dump_uid, d.base_uid,"
	    " dr.name FROM dumps d JOIN entities e ON e.id = d.entity_id"
	    " LEFT JOIN jobs j ON j.id = d.job_id LEFT JOIN drives dr ON"
	    " dr.id = j.drive_id WHERE (?1 IS NULL OR e.name = ?1) AND"
	    " (?2 IS NULL OR d.started >= ?2) AND d.state IN ('complete',"
	    " 'failed', 'aborted') ORDER BY e.id, d.started, d.finished,"
	    " d.dump_uid", "tt", entity, since);
}

/*
 * The newest complete dump of each entity at each level, by entity id
 * and level: what the planner reads (SQLite gives the bare columns of the
 * row holding max(started)).
 */
int
cat_history_last(struct cat_db *db, cat_history_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "reading the newest dumps", history_row,
	    DB_CB(fn, arg), "SELECT e.id, e.name, d.level, max(d.started),"
	    " d.finished, d.state, d.bytes, d.raw_bytes, d.dump_uid, d.base_uid,"
	    " NULL FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE"
	    " d.state = 'complete' GROUP BY d.entity_id, d.level ORDER BY e.id,"
	    " d.level", "");
}

/* A drive's rate to the callback. */
static int
rate_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_drive_rate r = {
		.drive = db_text(st, 0), .dumps = db_i64(st, 1),
		.bytes = db_i64(st, 2),
		.seconds = sqlite3_column_double(st, 3),
	};

	r.rate = r.seconds > 0 ? (double)r.bytes / r.seconds : 0;
	return ((cat_drive_rate_fn *)cb->fn)(&r, cb->arg);
}

/*
 * Per drive, the bytes and seconds of its newest recent complete dumps
 * of min_bytes or more that lasted at least a second, by drive name.
 */
int
cat_drive_rates(struct cat_db *db, int64_t recent, int64_t min_bytes,
    cat_drive_rate_fn *fn, void *arg, char *err)
{
	if (recent <= 0)
		return db_fail(err, -EINVAL, "recent dumps must be at least 1");
	return db_query(db, err, "measuring drive rates", rate_row,
	    DB_CB(fn, arg), "SELECT name, count(*), sum(bytes), sum(secs) FROM"
	    " (SELECT dr.name AS name, d.bytes AS bytes, (julianday(d.finished)"
	    " - julianday(d.started)) * 86400.0 AS secs, row_number() OVER"
	    " (PARTITION BY dr.id ORDER BY d.started DESC, d.dump_uid DESC) AS n"
	    " FROM dumps d JOIN jobs j ON j.id = d.job_id JOIN drives dr ON"
	    " dr.id = j.drive_id WHERE d.state = 'complete' AND d.finished IS NOT"
	    " NULL AND d.bytes > 0 AND d.bytes >= ? AND d.id > (SELECT max(id) -"
	    " 100000 FROM"
	    " dumps) AND julianday(d.finished) -"
	    " julianday(d.started) >= 1.0 / 86400) WHERE n <= ? GROUP BY name"
	    " ORDER BY name", "ii", min_bytes, recent);
}

/* The base's uid and date. */
static int
base_row(sqlite3_stmt *st, void *arg)
{
	struct cat_base *b = arg;

	snprintf(b->dump_uid, sizeof(b->dump_uid), "%s", db_text(st, 0));
	snprintf(b->started, sizeof(b->started), "%s", db_text(st, 1));
	b->level = db_i64(st, 2);
	return 1;
}

/*
 * The base of a level-level dump of entity: its newest complete dump of a
 * lower level (level 1: the last full). 1 and *b, 0 if there is none (the
 * dump must be a full), or negative.
 */
int
cat_dump_base(struct cat_db *db, const char *entity, int64_t level,
    struct cat_base *b, char *err)
{
	if (level <= 0)
		return 0;
	return db_query(db, err, "finding a dump's base", base_row, b,
	    "SELECT d.dump_uid, d.started, d.level FROM dumps d JOIN entities e"
	    " ON e.id = d.entity_id WHERE e.name = ? AND d.state = 'complete'"
	    " AND d.level < ? ORDER BY d.started DESC, d.finished DESC,"
	    " d.dump_uid DESC LIMIT 1", "ti", entity, level);
}

/* A dump names its base (the dump it was taken since). */
int
cat_dump_set_base(struct cat_db *db, const char *dump_uid,
    const char *base_uid, char *err)
{
	int rc = db_exec(db, err, "recording a dump's base", "UPDATE dumps SET"
	    " base_uid = ? WHERE dump_uid = ? AND base_uid IS NOT ?", "ttt",
	    base_uid, dump_uid, base_uid);

	return rc < 0 ? rc : 0;
}
