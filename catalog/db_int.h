/*
 * Private to catalog/: the connection, statement helpers and the mapping of
 * SQLite's result codes to negative errno codes. Every helper that runs a
 * statement checks its result and, on failure, fills err (CAT_ERRLEN) with
 * what was being done and SQLite's message; none turns an error into "no
 * row". Bind formats: one letter per '?' in the SQL: 'i' int64_t, 't'
 * const char * (NULL binds NULL), 'n' NULL (no argument).
 */
#ifndef ABS_CATALOG_DB_INT_H
#define ABS_CATALOG_DB_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <sqlite3.h>

#include "catalog/catalog.h"

/* Prepared statements kept for the next run of the same SQL (db.c). */
#define DB_STMT_CACHE 128

struct cat_db {
	sqlite3 *db;
	struct db_stmt {
		const char *sql;	/* the caller's text (a literal) */
		sqlite3_stmt *st;
		int busy;		/* stepped by a caller now */
	} cache[DB_STMT_CACHE];
};

/*
 * Called per result row: 0 goes on, a positive value stops (that row
 * counted), a negative value stops the query with that result.
 */
typedef int db_row_fn(sqlite3_stmt *st, void *arg);

/* A user callback and its argument, for the row converters of each file. */
struct db_cb {
	void (*fn)(void);
	void *arg;
};
#define DB_CB(f, a) (&(struct db_cb){ (void (*)(void))(f), (a) })

/* Fill err (printf-style) and return code. */
int db_fail(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The connection's last error as a negative errno, err = "what: message". */
int db_error(struct cat_db *db, char *err, const char *what);

/* Run a statement that returns no rows: rows changed, or negative. */
int db_exec(struct cat_db *db, char *err, const char *what, const char *sql,
    const char *fmt, ...);
/* Run a query, fn per row: the number of rows, or negative. */
int db_query(struct cat_db *db, char *err, const char *what, db_row_fn *fn,
    void *arg, const char *sql, const char *fmt, ...);
/*
 * One integer, the first column of the first row: 1 and *out (CAT_NULL
 * for NULL), 0 if there is no row (*out untouched), or negative.
 */
int db_int(struct cat_db *db, char *err, const char *what, int64_t *out,
    const char *sql, const char *fmt, ...);

/* Transactions; commit is a durable point (synchronous=FULL). */
int db_begin(struct cat_db *db, char *err);
int db_commit(struct cat_db *db, char *err);
void db_rollback(struct cat_db *db);

/* Give back the tapes a job holds (tapes.c): rows changed, or negative. */
int db_tapes_release_job(struct cat_db *db, int64_t job, char *err);

/* Column values: NULL text is NULL, a NULL integer is CAT_NULL. */
const char *db_text(sqlite3_stmt *st, int col);
int64_t db_i64(sqlite3_stmt *st, int col);

#endif
