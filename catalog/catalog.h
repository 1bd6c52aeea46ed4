/*
 * The catalog: one SQLite file opened by abs-ctld only (WAL, foreign keys,
 * synchronous=FULL), its schema brought up to date by numbered migrations.
 * Queries return rows as JSON (jansson) so the control plane can pass them
 * on unchanged; every statement binds its arguments (no SQL by string).
 */
#ifndef ABS_CATALOG_H
#define ABS_CATALOG_H

#include <stdint.h>
#include <jansson.h>

#define CAT_ERRLEN 256

struct cat_db;

int cat_open(const char *path, struct cat_db **out, char *err);
void cat_close(struct cat_db *db);
int cat_schema_version(struct cat_db *db);

/*
 * Bind formats: one letter per '?' in the SQL: 'i' int64_t, 't' const char *
 * (NULL binds NULL), 'n' NULL (no argument).
 */
/* Rows of a query as a JSON array of objects; NULL on error (err says). */
json_t *cat_rows(struct cat_db *db, char *err, const char *sql,
    const char *fmt, ...);
/* The first row as an object, json_null() if none; NULL on error. */
json_t *cat_row(struct cat_db *db, char *err, const char *sql,
    const char *fmt, ...);
/* Run a statement; rows changed, or -1 (err says; constraint errors too). */
int cat_exec(struct cat_db *db, char *err, const char *sql, const char *fmt,
    ...);
int64_t cat_last_id(struct cat_db *db);
/* One integer from the first column of the first row (def if none). */
int64_t cat_int(struct cat_db *db, int64_t def, const char *sql,
    const char *fmt, ...);

/* Transactions; commit is a durable point (synchronous=FULL). */
int cat_begin(struct cat_db *db, char *err);
int cat_commit(struct cat_db *db, char *err);
void cat_rollback(struct cat_db *db);

#endif
