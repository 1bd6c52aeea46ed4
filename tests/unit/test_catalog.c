/*
 * The catalog: migrations on a fresh file, tape ID uniqueness, label reuse
 * only after destruction, bound queries. (The protocol: test_proto.c.)
 */
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "t.h"

static void
test_catalog(void)
{
	char path[] = "/tmp/abs-test-catalog-XXXXXX", err[CAT_ERRLEN];
	struct cat_db *db;
	json_t *r;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	CHECK_EQ(cat_open(path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 2);
	cat_close(db);
	/* Reopening runs no migration twice. */
	CHECK_EQ(cat_open(path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 2);
	CHECK_EQ(cat_int(db, -1, "SELECT count(*) FROM pools", ""), 1);
	CHECK_EQ(cat_exec(db, err, "INSERT INTO tapes (tape_id, label, pool_id)"
	    " VALUES ('t1', 'A1', 1)", ""), 1);
	/* A live label is unique in its pool ... */
	CHECK_EQ(cat_exec(db, err, "INSERT INTO tapes (tape_id, label, pool_id)"
	    " VALUES ('t2', 'A1', 1)", ""), -1);
	/* ... and reusable once the old tape is destroyed, with a new number. */
	int64_t first = cat_int(db, 0, "SELECT id FROM tapes WHERE tape_id = 't1'", "");
	CHECK_EQ(cat_exec(db, err, "UPDATE tapes SET state = 'destroyed'", ""), 1);
	CHECK_EQ(cat_exec(db, err, "INSERT INTO tapes (tape_id, label, pool_id)"
	    " VALUES ('t2', 'A1', 1)", ""), 1);
	CHECK(cat_last_id(db) > first);
	/* AUTOINCREMENT: a deleted row's number is not handed out again. */
	CHECK_EQ(cat_exec(db, err, "DELETE FROM tapes WHERE tape_id = 't2'", ""), 1);
	CHECK_EQ(cat_exec(db, err, "INSERT INTO tapes (tape_id, label, pool_id)"
	    " VALUES ('t3', 'A2', 1)", ""), 1);
	CHECK(cat_last_id(db) > first + 1);
	/* States outside the list are refused. */
	CHECK_EQ(cat_exec(db, err, "UPDATE tapes SET state = 'lost'", ""), -1);
	/* Foreign keys are on. */
	CHECK_EQ(cat_exec(db, err, "INSERT INTO tapes (tape_id, label, pool_id)"
	    " VALUES ('t4', 'A3', 99)", ""), -1);
	/* Rows as JSON, binds of every kind. */
	r = cat_rows(db, err, "SELECT ? AS a, ? AS b, ? AS c", "itn",
	    (int64_t)7, "x");
	CHECK(json_is_array(r) && json_array_size(r) == 1);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(r, 0), "a")), 7);
	CHECK(json_is_null(json_object_get(json_array_get(r, 0), "c")));
	json_decref(r);
	r = cat_row(db, err, "SELECT 1 WHERE 0", "");
	CHECK(json_is_null(r));
	json_decref(r);
	CHECK(cat_rows(db, err, "SELECT * FROM nosuch", "") == NULL);
	cat_close(db);
	unlink(path);
}

int
main(void)
{
	test_catalog();
	T_DONE();
}
