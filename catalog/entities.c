/* Entities (what is dumped) and entity types (how often). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog/db_int.h"

#define ENTITY_COLS "e.id, e.name, t.name, p.name, e.source, e.active," \
	" coalesce(e.full_every_days, t.full_every_days)," \
	" coalesce(e.incr_every_days, t.incr_every_days), e.not_before," \
	" e.added, e.server_id, s.name, n.name, e.partition, n.id," \
	" coalesce(e.priority, t.priority), e.priority, e.vanished," \
	" e.discovered_by, e.listed_bytes, t.max_level, t.estimate_bytes," \
	" t.snapshot_cmd, t.dump_cmd, t.incr_cmd, t.release_cmd"
#define ENTITY_FROM " FROM entities e JOIN entity_types t ON t.id =" \
	" e.type_id JOIN pools p ON p.id = e.pool_id LEFT JOIN servers s ON" \
	" s.id = e.server_id LEFT JOIN subnets n ON n.id = s.subnet_id"

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
		.server_id = db_i64(st, 10), .server = db_text(st, 11),
		.subnet = db_text(st, 12), .partition = db_text(st, 13),
		.subnet_id = db_i64(st, 14), .priority = db_i64(st, 15),
		.own_priority = db_i64(st, 16), .vanished = db_text(st, 17),
		.discovered_by = db_i64(st, 18), .listed_bytes = db_i64(st, 19),
		.max_level = db_i64(st, 20), .estimate_bytes = db_i64(st, 21),
		.snapshot_cmd = db_text(st, 22), .dump_cmd = db_text(st, 23),
		.incr_cmd = db_text(st, 24), .release_cmd = db_text(st, 25),
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

/* The active entities not vanished, by server and name. */
int
cat_entities_plan_list(struct cat_db *db, cat_entity_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing entities to plan", entity_row,
	    DB_CB(fn, arg), "SELECT " ENTITY_COLS ENTITY_FROM " WHERE e.active ="
	    " 1 AND e.vanished IS NULL ORDER BY s.name, e.name", "");
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
	struct cat_entity_new e = { .name = name, .source = src, .type = type,
	    .pool = pool, .priority = CAT_NULL };

	return cat_entity_create(db, &e, err);
}

/* -EINVAL unless p is CAT_NULL or a priority. */
static int
check_priority(int64_t p, char *err)
{
	if (p != CAT_NULL && (p < 0 || p > CAT_PRIORITY_MAX))
		return db_fail(err, -EINVAL, "a priority is 0..%d (higher first)",
		    CAT_PRIORITY_MAX);
	return 0;
}

/* Add an entity with its server, partition and priority. */
int
cat_entity_create(struct cat_db *db, const struct cat_entity_new *e,
    char *err)
{
	const char *type = e->type ? e->type : "default";
	const char *pool = e->pool ? e->pool : "default";
	const char *src = e->source;
	int rc;

	if (!cat_name_valid(e->name))
		return db_fail(err, -EINVAL, "entity names have no spaces, '%%', '='"
		    " or '|'");
	if (!src || (strncmp(src, "dir:", 4) && strncmp(src, "cmd:", 4) &&
	    strncmp(src, "file:", 5)))
		return db_fail(err, -EINVAL, "source must be dir:PATH, cmd:ARGV or"
		    " file:PATH");
	if (e->partition && *e->partition && !cat_name_valid(e->partition))
		return db_fail(err, -EINVAL, "partition names have no spaces, '%%',"
		    " '=' or '|'");
	if ((rc = check_priority(e->priority, err)) < 0)
		return rc;
	if ((rc = exists(db, "entity_types", type, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no entity type %s", type);
	if ((rc = exists(db, "pools", pool, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no pool %s", pool);
	if (e->server && *e->server &&
	    (rc = exists(db, "servers", e->server, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no server %s (server-add"
		    " it first)", e->server);
	rc = db_exec(db, err, "adding an entity", "INSERT INTO entities (name,"
	    " type_id, source, pool_id, server_id, partition, priority) VALUES"
	    " (?, (SELECT id FROM entity_types WHERE name = ?), ?, (SELECT id FROM"
	    " pools WHERE name = ?), (SELECT id FROM servers WHERE name = ?),"
	    " nullif(?, ''), ?)", e->priority == CAT_NULL ? "ttttttn" :
	    "tttttti", e->name, type, src, pool, e->server, e->partition,
	    e->priority);
	if (rc == -EEXIST)
		return db_fail(err, rc, "entity %s exists", e->name);
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

/* Change an entity's server, partition and priority, in one transaction. */
int
cat_entity_set(struct cat_db *db, const char *name, const char *server,
    const char *partition, int64_t priority, char *err)
{
	int rc;

	if (partition && *partition && !cat_name_valid(partition))
		return db_fail(err, -EINVAL, "partition names have no spaces, '%%',"
		    " '=' or '|'");
	if (priority != -1 && (rc = check_priority(priority, err)) < 0)
		return rc;
	if (server && *server && (rc = exists(db, "servers", server, err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no server %s (server-add"
		    " it first)", server);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = one_entity(db_exec(db, err, "finding an entity", "UPDATE entities"
	    " SET name = name WHERE name = ?", "t", name), name, err);
	if (rc >= 0 && server)
		rc = db_exec(db, err, "setting an entity's server", "UPDATE entities"
		    " SET server_id = (SELECT id FROM servers WHERE name = ?) WHERE"
		    " name = ?", "tt", server, name);
	if (rc >= 0 && partition)
		rc = db_exec(db, err, "setting an entity's partition", "UPDATE"
		    " entities SET partition = nullif(?, '') WHERE name = ?", "tt",
		    partition, name);
	if (rc >= 0 && priority != CAT_NULL)
		rc = db_exec(db, err, "setting an entity's priority", "UPDATE"
		    " entities SET priority = CASE WHEN ? < 0 THEN NULL ELSE ? END"
		    " WHERE name = ?", "iit", priority, priority, name);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
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
