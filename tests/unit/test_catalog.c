/*
 * Opening the catalog: migrations on a fresh file and not twice, a newer
 * schema, a file that is no catalog, each refused with its reason. Each
 * concern of the catalog has its own test_cat_*.c; the protocol is
 * test_proto.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/db_int.h"
#include "t.h"

static char dir[] = "/tmp/abs-test-catalog-XXXXXX", path[64];

/* A file with these bytes at path. */
static void
write_file(const char *p, const char *bytes, size_t n)
{
	FILE *f = fopen(p, "w");

	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(fwrite(bytes, 1, n, f), n);
		fclose(f);
	}
}

/* The catalog file's schema version, read apart from the catalog. */
static void
set_version(const char *p, int v)
{
	char sql[64];
	sqlite3 *db;

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	CHECK_EQ(sqlite3_open(p, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_catalog(void)
{
	char err[CAT_ERRLEN], bad[128];
	struct cat_db *db;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	CHECK_EQ(cat_open(path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 10);
	cat_close(db);
	/* Reopening runs no migration twice. */
	CHECK_EQ(cat_open(path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 10);
	cat_close(db);
	cat_close(NULL);
	/* A newer schema than this program's is refused, saying so. */
	set_version(path, 99);
	db = (struct cat_db *)1;
	CHECK_EQ(cat_open(path, &db, err), -EPROTO);
	CHECK(db == NULL && strstr(err, "newer") != NULL);
	/* A file that is not a catalog, a path that cannot be: their reason. */
	snprintf(bad, sizeof(bad), "%s/garbage.db", dir);
	write_file(bad, "this is not an SQLite database, not at all.......",
	    48);
	CHECK(cat_open(bad, &db, err) < 0);
	CHECK(strstr(err, "not a database") != NULL);
	unlink(bad);
	/* A catalog file cut to 0 bytes is refused, never made anew. */
	snprintf(bad, sizeof(bad), "%s/empty.db", dir);
	write_file(bad, "", 0);
	CHECK_EQ(cat_open(bad, &db, err), -ENODATA);
	CHECK(db == NULL && strstr(err, "empty file") != NULL);
	unlink(bad);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/catalog.db", dir);
	CHECK(cat_open(bad, &db, err) < 0);
	CHECK(strstr(err, "unable to open") != NULL);
	t_unlink_db(path);
	rmdir(dir);
}

/* The first column of the row into *arg. */
static int
first_col(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 0;
}

/* A row callback that runs its own statement again (the kept one is busy). */
static int
again(sqlite3_stmt *st, void *arg)
{
	struct cat_db *db = arg;
	char err[CAT_ERRLEN];
	int64_t v = -1;

	CHECK_EQ(db_query(db, err, "inner", first_col, &v, "SELECT ? + 1", "i",
	    sqlite3_column_int64(st, 0)), 1);
	CHECK_EQ(v, sqlite3_column_int64(st, 0) + 1);
	return 0;
}

/*
 * The kept statements: the same SQL again gives its rows; other SQL in
 * the same buffer is not taken for the first; a statement run from inside
 * its own row (busy) is made afresh; more SQL than slots, each right; the
 * catalog closes with statements kept.
 */
static void
test_stmt_cache(void)
{
	char err[CAT_ERRLEN], sql[64], many[300][32];
	struct cat_db *db;
	int64_t v;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	CHECK_EQ(cat_open(path, &db, err), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", 40 + i);
		v = -1;
		CHECK_EQ(db_query(db, err, "t", first_col, &v, sql, ""), 1);
		CHECK_EQ(v, 40 + i);
		v = -1;
		CHECK_EQ(db_int(db, err, "t", &v, sql, ""), 1);
		CHECK_EQ(v, 40 + i);
	}
	for (int i = 0; i < 3; i++) {
		v = -1;
		CHECK_EQ(db_query(db, err, "t", first_col, &v, "SELECT ? * 2", "i",
		    (int64_t)i), 1);
		CHECK_EQ(v, 2 * i);
	}
	CHECK_EQ(db_query(db, err, "outer", again, db, "SELECT ? + 1", "i",
	    (int64_t)5), 1);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(many[i], sizeof(many[i]), "SELECT %d", i);
			v = -1;
			CHECK_EQ(db_int(db, err, "t", &v, many[i], ""), 1);
			CHECK_EQ(v, i);
		}
	/* A failing statement is no kept one. */
	CHECK(db_exec(db, err, "t", "SELECT * FROM no_such_table", "") < 0);
	cat_close(db);
	t_unlink_db(path);
	rmdir(dir);
}

int
main(void)
{
	test_catalog();
	memcpy(dir, "/tmp/abs-test-catalog-XXXXXX", sizeof(dir));
	test_stmt_cache();
	T_DONE();
}
