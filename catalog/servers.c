/*
 * Servers (the hosts that hold entities) and their subnets, each with a
 * limit of concurrent dumps the planner keeps to.
 */
#include <errno.h>

#include "catalog/db_int.h"

#define SERVER_COLS "s.id, s.name, s.subnet_id, n.name, s.max_dumps," \
	" coalesce(n.max_dumps, 0), s.added," \
	" (SELECT count(*) FROM entities e WHERE e.server_id = s.id AND" \
	"  e.active = 1 AND e.vanished IS NULL)," \
	" (SELECT count(*) FROM entities e WHERE e.server_id = s.id AND" \
	"  e.active = 1 AND e.vanished IS NOT NULL)," \
	" (SELECT count(*) FROM discovery d WHERE d.server_id = s.id)"
#define SERVER_FROM " FROM servers s LEFT JOIN subnets n ON n.id = s.subnet_id"

/* A row of SERVER_COLS to the callback. */
static int
server_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_server s = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.subnet_id = db_i64(st, 2), .subnet = db_text(st, 3),
		.max_dumps = db_i64(st, 4), .subnet_max_dumps = db_i64(st, 5),
		.added = db_text(st, 6), .entities = db_i64(st, 7),
		.vanished = db_i64(st, 8), .discoveries = db_i64(st, 9),
	};

	return ((cat_server_fn *)cb->fn)(&s, cb->arg);
}

/* Every server, by name. */
int
cat_servers_list(struct cat_db *db, cat_server_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing servers", server_row, DB_CB(fn, arg),
	    "SELECT " SERVER_COLS SERVER_FROM " ORDER BY s.name", "");
}

/* One server by name. */
int
cat_server_get(struct cat_db *db, const char *name, cat_server_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a server", server_row,
	    DB_CB(fn, arg), "SELECT " SERVER_COLS SERVER_FROM " WHERE s.name = ?",
	    "t", name);

	return rc == 0 ? db_fail(err, -ENOENT, "no server %s", name) : rc;
}

/* A row of subnets to the callback. */
static int
subnet_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_subnet s = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.max_dumps = db_i64(st, 2), .servers = db_i64(st, 3),
		.entities = db_i64(st, 4),
	};

	return ((cat_subnet_fn *)cb->fn)(&s, cb->arg);
}

/* Every subnet, by name. */
int
cat_subnets_list(struct cat_db *db, cat_subnet_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing subnets", subnet_row, DB_CB(fn, arg),
	    "SELECT n.id, n.name, n.max_dumps,"
	    " (SELECT count(*) FROM servers s WHERE s.subnet_id = n.id),"
	    " (SELECT count(*) FROM entities e JOIN servers s ON s.id ="
	    "  e.server_id WHERE s.subnet_id = n.id AND e.active = 1)"
	    " FROM subnets n ORDER BY n.name", "");
}

/* -EINVAL unless n is a limit of concurrent dumps (or below 0: unset). */
static int
check_limit(int64_t n, char *err)
{
	if (n > 1000)
		return db_fail(err, -EINVAL, "a limit of concurrent dumps is 0..1000"
		    " (0: no limit)");
	return 0;
}

/* Make subnet name if new (inside the caller's transaction). */
static int
subnet_make(struct cat_db *db, const char *name, char *err)
{
	int rc;

	if (!cat_name_valid(name))
		return db_fail(err, -EINVAL, "subnet names have no spaces, '%%', '='"
		    " or '|'");
	rc = db_exec(db, err, "adding a subnet", "INSERT OR IGNORE INTO subnets"
	    " (name) VALUES (?)", "t", name);
	return rc < 0 ? rc : 0;
}

/* Add a server, making its subnet on first use. */
int
cat_server_add(struct cat_db *db, const char *name, const char *subnet,
    int64_t max_dumps, char *err)
{
	int rc;

	if (!cat_name_valid(name))
		return db_fail(err, -EINVAL, "server names have no spaces, '%%', '='"
		    " or '|'");
	if ((rc = check_limit(max_dumps, err)) < 0)
		return rc;
	if (subnet && *subnet && !cat_name_valid(subnet))
		return db_fail(err, -EINVAL, "subnet names have no spaces, '%%', '='"
		    " or '|'");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if (subnet && *subnet)
		rc = subnet_make(db, subnet, err);
	if (rc >= 0)
		rc = db_exec(db, err, "adding a server", "INSERT INTO servers (name,"
		    " subnet_id, max_dumps) VALUES (?, (SELECT id FROM subnets WHERE"
		    " name = ?), ?)", "tti", name, subnet && *subnet ? subnet : NULL,
		    max_dumps < 0 ? (int64_t)0 : max_dumps);
	if (rc == -EEXIST)
		rc = db_fail(err, rc, "server %s exists", name);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* Change a server's subnet and limit. */
int
cat_server_set(struct cat_db *db, const char *name, const char *subnet,
    int64_t max_dumps, char *err)
{
	int rc;

	if ((rc = check_limit(max_dumps, err)) < 0)
		return rc;
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if (subnet && *subnet)
		rc = subnet_make(db, subnet, err);
	if (rc >= 0)
		rc = db_exec(db, err, "changing a server", "UPDATE servers SET"
		    " subnet_id = CASE WHEN ? IS NULL THEN subnet_id ELSE (SELECT id"
		    " FROM subnets WHERE name = ?) END, max_dumps = CASE WHEN ? < 0"
		    " THEN max_dumps ELSE ? END WHERE name = ?", "ttiit", subnet,
		    subnet, max_dumps, max_dumps, name);
	if (rc == 0)
		rc = db_fail(err, -ENOENT, "no server %s", name);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* A subnet's limit of concurrent dumps; the subnet is made if new. */
int
cat_subnet_set(struct cat_db *db, const char *name, int64_t max_dumps,
    char *err)
{
	int rc;

	if (max_dumps < 0 || (rc = check_limit(max_dumps, err)) < 0)
		return db_fail(err, -EINVAL, "a limit of concurrent dumps is 0..1000"
		    " (0: no limit)");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = subnet_make(db, name, err);
	if (rc >= 0)
		rc = db_exec(db, err, "setting a subnet's limit", "UPDATE subnets SET"
		    " max_dumps = ? WHERE name = ?", "it", max_dumps, name);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}
