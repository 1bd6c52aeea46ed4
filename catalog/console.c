/*
 * What the console (abs-ctl tui) lists in one query where the per-entity
 * requests would take one each: every entity's newest complete full and
 * incremental dump.
 */
#include <stdio.h>

#include "catalog/db_int.h"

static int
last_dumps_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_last_dumps e = {
		.entity = db_text(st, 0), .last_full = db_text(st, 1),
		.last_incr = db_text(st, 2), .dumps = db_i64(st, 3),
	};

	return ((cat_last_dumps_fn *)cb->fn)(&e, cb->arg);
}

int
cat_entities_last_dumps(struct cat_db *db, cat_last_dumps_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing the entities' last dumps",
	    last_dumps_row, DB_CB(fn, arg), "SELECT e.name,"
	    " (SELECT max(d.started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "  d.state = 'complete' AND d.level = 0),"
	    " (SELECT max(d.started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "  d.state = 'complete' AND d.level > 0),"
	    " (SELECT count(*) FROM dumps d WHERE d.entity_id = e.id AND"
	    "  d.state = 'complete')"
	    " FROM entities e ORDER BY e.name", "");
}
