/* Entities (what is dumped) and entity types (how often). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog/db_int.h"

#define ENTITY_COLS "e.id, e.name, t.name, p.name, e.source, e.active," \
	" coalesce(e.full_every_days, t.full_every_days)," \
	" coalesce(e.incr_every_days, t.incr_every_days), e.not_before, e.added"
#define ENTITY_FROM " FROM entities e JOIN entity_types t ON t.id =" \
	" e.type_id JOIN pools p ON p.id = e.pool_id"

/* A row of ENTITY_COLS to the callback. */
static int
entity_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_entity e = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.type = db_text(st, 2), .pool = db_text(st, 3),
		.source = db_text(st, 4), .active = db_i64(st, 5),
		.full_every_days = db_i64(st, 6), .incr_every_days = db_i64(st, 7),
		.not_before = db_text(st, 8), .added = db_text(st, 9),
	};

	return ((cat_entity_fn *)cb->fn)(&e, cb->arg);
}

/* Every entity, by name. */
int
cat_entities_list(struct cat_db *db, cat_entity_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing entities", entity_row, DB_CB(fn, arg),
	    "SELECT " ENTITY_COLS ENTITY_FROM " ORDER BY e.name", "");
}

/* One entity by name. */
int
cat_entity_get(struct cat_db *db, const char *name, cat_entity_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading an entity", entity_row,
	    DB_CB(fn, arg), "SELECT " ENTITY_COLS ENTITY_FROM " WHERE e.name = ?",
	    "t", name);

	return rc == 0 ? db_fail(err, -ENOENT, "no entity %s", name) : rc;
}

/* 1 if a row of table has this name, 0 if not, or negative. */
static int
exists(struct cat_db *db, const char *table, const char *name, char *err)
{
	char sql[80];
	int64_t id;

	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE name = ?", table);
	return db_int(db, err, "looking a name up", &id, sql, "t", name);
}

/* Add an entity of a type to a pool. */
int
cat_entity_add(struct cat_db *db, const char *name, const char *src,
    const char *type, const char *pool, char *err)
{
	int rc;

	if (!cat_name_valid(name))
		return db_fail(err, -EINVAL, "entity names have no spaces, '%%', '='"
		    " or '|'");
	if (!src || (strncmp(src, "dir:", 4) && strncmp(src, "cmd:", 4) &&
	    strncmp(src, "file:", 5)))
		return db_fail(err, -EINVAL, "source must be dir:PATH, cmd:ARGV or"
		    " file:PATH");
	if ((rc = exists(db, "entity_types", type, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no entity type %s", type);
	if ((rc = exists(db, "pools", pool, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no pool %s", pool);
	rc = db_exec(db, err, "adding an entity", "INSERT INTO entities (name,"
	    " type_id, source, pool_id) VALUES (?, (SELECT id FROM entity_types"
	    " WHERE name = ?), ?, (SELECT id FROM pools WHERE name = ?))", "tttt",
	    name, type, src, pool);
	if (rc == -EEXIST)
		return db_fail(err, rc, "entity %s exists", name);
	return rc < 0 ? rc : 0;
}

/* rc of an UPDATE of one entity by name: 0 changed becomes -ENOENT. */
static int
one_entity(int rc, const char *name, char *err)
{
	if (rc == 0)
		return db_fail(err, -ENOENT, "no entity %s", name);
	return rc < 0 ? rc : 0;
}

/* Stop dumping an entity; its dumps stay. */
int
cat_entity_remove(struct cat_db *db, const char *name, char *err)
{
	return one_entity(db_exec(db, err, "removing an entity", "UPDATE entities"
	    " SET active = 0 WHERE name = ?", "t", name), name, err);
}

/* Change an entity's type. */
int
cat_entity_set_type(struct cat_db *db, const char *name, const char *type,
    char *err)
{
	int rc;

	if ((rc = exists(db, "entity_types", type, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no entity type %s", type);
	return one_entity(db_exec(db, err, "changing an entity's type", "UPDATE"
	    " entities SET type_id = (SELECT id FROM entity_types WHERE name = ?)"
	    " WHERE name = ?", "tt", type, name), name, err);
}

/* One-time: do not dump the entity before a date. */
int
cat_entity_set_window(struct cat_db *db, const char *name,
    const char *not_before, char *err)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!not_before || !strptime(not_before, "%Y-%m-%d", &tm))
		return db_fail(err, -EINVAL, "the date is YYYY-MM-DD or"
		    " YYYY-MM-DDTHH:MM:SSZ");
	return one_entity(db_exec(db, err, "setting an entity's window", "UPDATE"
	    " entities SET not_before = ? WHERE name = ?", "tt", not_before, name),
	    name, err);
}

/* What a row of entities or entity_types (table is ours) holds now. */
static int
read_frequency(struct cat_db *db, const char *table, const char *name,
    struct cat_frequency *now, char *err)
{
	char sql[100];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT full_every_days FROM %s WHERE name ="
	    " ?", table);
	if ((rc = db_int(db, err, "reading a frequency", &now->full_days, sql,
	    "t", name)) < 0)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT incr_every_days FROM %s WHERE name ="
	    " ?", table);
	rc = db_int(db, err, "reading a frequency", &now->incr_days, sql, "t",
	    name);
	return rc < 0 ? rc : 0;
}

/* Frequencies of a row of entities or entity_types; table is ours. */
static int
set_frequency(struct cat_db *db, const char *table, const char *what,
    const char *name, int64_t full, int64_t incr, struct cat_frequency *now,
    char *err)
{
	char sql[200];
	int rc;

	if (full == 0 || incr == 0 || full > 3650 || incr > 3650 ||
	    (full < 0 && incr < 0))
		return db_fail(err, -EINVAL, "--full and --incr take days, 1..3650");
	snprintf(sql, sizeof(sql), "UPDATE %s SET full_every_days = CASE WHEN"
	    " ? > 0 THEN ? ELSE full_every_days END, incr_every_days = CASE WHEN"
	    " ? > 0 THEN ? ELSE incr_every_days END WHERE name = ?", table);
	rc = db_exec(db, err, "setting a frequency", sql, "iiiit", full, full,
	    incr, incr, name);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no %s %s", what, name);
	if (rc < 0)
		return rc;
	return read_frequency(db, table, name, now, err);
}

/* An entity's own days between fulls and increments. */
int
cat_entity_set_frequency(struct cat_db *db, const char *name, int64_t full,
    int64_t incr, struct cat_frequency *now, char *err)
{
	return set_frequency(db, "entities", "entity", name, full, incr, now, err);
}

/* A type's days between fulls and increments. */
int
cat_type_set_frequency(struct cat_db *db, const char *name, int64_t full,
    int64_t incr, struct cat_frequency *now, char *err)
{
	return set_frequency(db, "entity_types", "entity type", name, full, incr,
	    now, err);
}

/* Add an entity type. */
int
cat_type_add(struct cat_db *db, const char *name, int64_t full, int64_t incr,
    struct cat_frequency *now, char *err)
{
	bool given = full >= 0 || incr >= 0;
	int rc;

	if (!cat_name_valid(name))
		return db_fail(err, -EINVAL, "type names have no spaces");
	if (given && (full == 0 || incr == 0 || full > 3650 || incr > 3650))
		return db_fail(err, -EINVAL, "--full and --incr take days, 1..3650");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_exec(db, err, "adding an entity type", "INSERT INTO entity_types"
	    " (name) VALUES (?)", "t", name);
	if (rc == -EEXIST)
		rc = db_fail(err, rc, "entity type %s exists", name);
	if (rc >= 0)
		rc = given ? set_frequency(db, "entity_types", "entity type", name,
		    full, incr, now, err) : read_frequency(db, "entity_types", name,
		    now, err);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* A cat_entities_next row to the callback. */
static int
due_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_due d = {
		.entity = db_text(st, 0), .kind = db_text(st, 1),
		.due = db_text(st, 2), .last_full = db_text(st, 3),
		.last_dump = db_text(st, 4),
	};

	return ((cat_due_fn *)cb->fn)(&d, cb->arg);
}

/* The next entities to be dumped, and when. */
int
cat_entities_next(struct cat_db *db, int64_t limit, cat_due_fn *fn,
    void *arg, char *err)
{
	/* Due: the later of the next full / incremental date and not_before. */
	return db_query(db, err, "planning the next entities", due_row,
	    DB_CB(fn, arg),
	    "WITH s AS (SELECT e.name, e.not_before,"
	    "  coalesce(e.full_every_days, t.full_every_days) AS fd,"
	    "  coalesce(e.incr_every_days, t.incr_every_days) AS id,"
	    "  (SELECT max(started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "   d.state = 'complete' AND d.level = 0) AS lf,"
	    "  (SELECT max(started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "   d.state = 'complete') AS la"
	    "  FROM entities e JOIN entity_types t ON t.id = e.type_id"
	    "  WHERE e.active = 1),"
	    " n AS (SELECT name, not_before, lf, la,"
	    "  CASE WHEN lf IS NULL THEN 'full'"
	    "   WHEN julianday(lf) + fd <= julianday(la) + id THEN 'full'"
	    "   ELSE 'incremental' END AS kind,"
	    "  CASE WHEN lf IS NULL THEN strftime('%Y-%m-%dT%H:%M:%SZ','now')"
	    "   ELSE strftime('%Y-%m-%dT%H:%M:%SZ', min(julianday(lf) + fd,"
	    "   julianday(la) + id)) END AS due FROM s)"
	    " SELECT name AS entity, kind, CASE WHEN not_before > due THEN"
	    "  not_before ELSE due END AS due, lf AS last_full, la AS last_dump"
	    " FROM n ORDER BY 3, name LIMIT ?", "i", limit);
}
