/* Pools: the sets of tapes entities are written to, and their rules. */
#include <errno.h>

#include "catalog/db_int.h"

#define POOL_COLS "p.id, p.name, p.min_tapes, p.max_tapes, p.keep_fulls," \
	" p.keep_days, p.created, (SELECT count(*) FROM tapes t WHERE" \
	" t.pool_id = p.id AND t.state != 'destroyed'), (SELECT count(*) FROM" \
	" tapes t WHERE t.pool_id = p.id AND t.state IN ('blank','appendable'))"

/* A row of POOL_COLS to the caller's callback. */
static int
pool_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_pool p = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.min_tapes = db_i64(st, 2), .max_tapes = db_i64(st, 3),
		.keep_fulls = db_i64(st, 4), .keep_days = db_i64(st, 5),
		.created = db_text(st, 6), .tapes = db_i64(st, 7),
		.writable = db_i64(st, 8),
	};

	return ((cat_pool_fn *)cb->fn)(&p, cb->arg);
}

/* Every pool, by name. */
int
cat_pools_list(struct cat_db *db, cat_pool_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing pools", pool_row, DB_CB(fn, arg),
	    "SELECT " POOL_COLS " FROM pools p ORDER BY p.name", "");
}

/* One pool by name. */
int
cat_pool_get(struct cat_db *db, const char *name, cat_pool_fn *fn, void *arg,
    char *err)
{
	int rc = db_query(db, err, "reading a pool", pool_row, DB_CB(fn, arg),
	    "SELECT " POOL_COLS " FROM pools p WHERE p.name = ?", "t", name);

	return rc == 0 ? db_fail(err, -ENOENT, "no pool %s", name) : rc;
}

/* Add a pool. */
int
cat_pool_add(struct cat_db *db, const char *name, char *err)
{
	int rc;

	if (!cat_name_valid(name))
		return db_fail(err, -EINVAL, "pool names have no spaces");
	rc = db_exec(db, err, "adding a pool", "INSERT INTO pools (name) VALUES"
	    " (?)", "t", name);
	if (rc == -EEXIST)
		return db_fail(err, rc, "pool %s exists", name);
	return rc < 0 ? rc : 0;
}

/* Set a pool's counts and reuse rules. */
int
cat_pool_set(struct cat_db *db, const char *name, int64_t mn, int64_t mx,
    int64_t kf, int64_t kd, char *err)
{
	int rc;

	if (mn < -1 || mx < -1 || kf < -1 || kd < -1 ||
	    (mn >= 0 && mx > 0 && mn > mx))
		return db_fail(err, -EINVAL, "counts are 0 or more, and min <= max");
	rc = db_exec(db, err, "setting a pool's rules", "UPDATE pools SET"
	    " min_tapes = CASE WHEN ? >= 0 THEN ? ELSE min_tapes END,"
	    " max_tapes = CASE WHEN ? >= 0 THEN ? ELSE max_tapes END,"
	    " keep_fulls = CASE WHEN ? >= 0 THEN ? ELSE keep_fulls END,"
	    " keep_days = CASE WHEN ? >= 0 THEN ? ELSE keep_days END"
	    " WHERE name = ?", "iiiiiiiit", mn, mn, mx, mx, kf, kf, kd, kd, name);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no pool %s", name);
	return rc < 0 ? rc : 0;
}
