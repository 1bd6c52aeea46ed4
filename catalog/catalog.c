/* The SQLite catalog: open, migrations, bound queries returning JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"

struct cat_db {
	sqlite3 *db;
};

/*
 * Numbered migrations: index i brings the schema from version i to i+1.
 * Never edit a shipped one; add the next.
 */
static const char *const migrations[] = {
	/* 1: the whole first schema */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE pools ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" min_tapes INTEGER NOT NULL DEFAULT 0, max_tapes INTEGER NOT NULL DEFAULT 0,"
	" keep_fulls INTEGER NOT NULL DEFAULT 2, keep_days INTEGER NOT NULL DEFAULT 30,"
	" created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
	/* AUTOINCREMENT: a tape's number is never handed out again. */
	"CREATE TABLE tapes ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, tape_id TEXT NOT NULL UNIQUE,"
	" label TEXT NOT NULL, pool_id INTEGER NOT NULL REFERENCES pools(id),"
	" state TEXT NOT NULL DEFAULT 'blank' CHECK (state IN ('blank',"
	"  'appendable','full','reserved','no-new-writes','out-of-service',"
	"  'destroyed')),"
	" ever_written INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" files INTEGER NOT NULL DEFAULT 0,"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" last_written TEXT, note TEXT);"
	"CREATE UNIQUE INDEX tapes_live_label ON tapes(pool_id, label)"
	" WHERE state != 'destroyed';"
	"CREATE INDEX tapes_pool_state ON tapes(pool_id, state);"
	"CREATE INDEX tapes_label ON tapes(label);"
	"CREATE TABLE drives ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, device TEXT,"
	" last_seen TEXT);"
	"CREATE TABLE entity_types ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" full_every_days INTEGER NOT NULL DEFAULT 7,"
	" incr_every_days INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE entities ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" type_id INTEGER NOT NULL REFERENCES entity_types(id),"
	" source TEXT NOT NULL, pool_id INTEGER NOT NULL REFERENCES pools(id),"
	" full_every_days INTEGER, incr_every_days INTEGER,"
	" not_before TEXT, active INTEGER NOT NULL DEFAULT 1,"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
	"CREATE INDEX entities_type ON entities(type_id);"
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
	" drive_id INTEGER REFERENCES drives(id),"
	" entity_id INTEGER REFERENCES entities(id),"
	" state TEXT NOT NULL CHECK (state IN ('queued','running','done',"
	"  'failed','aborted')),"
	" created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" started TEXT, finished TEXT, uid INTEGER, detail TEXT);"
	"CREATE INDEX jobs_state ON jobs(state, id);"
	"CREATE TABLE dumps ("
	" id INTEGER PRIMARY KEY, dump_uid TEXT NOT NULL UNIQUE,"
	" entity_id INTEGER NOT NULL REFERENCES entities(id),"
	" job_id INTEGER REFERENCES jobs(id), level INTEGER NOT NULL DEFAULT 0,"
	" since TEXT, started TEXT NOT NULL, finished TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('running','complete','failed',"
	"  'aborted','expired')),"
	" bytes INTEGER, raw_bytes INTEGER, digest_alg TEXT, digest TEXT,"
	" raw_digest TEXT);"
	"CREATE INDEX dumps_entity ON dumps(entity_id, state, started);"
	"CREATE TABLE dump_parts ("
	" id INTEGER PRIMARY KEY, dump_id INTEGER NOT NULL REFERENCES dumps(id),"
	" part INTEGER NOT NULL, tape_id INTEGER NOT NULL REFERENCES tapes(id),"
	" file INTEGER NOT NULL, offset INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" blocks INTEGER NOT NULL, block_size INTEGER NOT NULL, digest TEXT,"
	" trailer INTEGER NOT NULL DEFAULT 1,"
	" written TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" UNIQUE (dump_id, part));"
	"CREATE INDEX parts_tape ON dump_parts(tape_id);"
	"CREATE TABLE verifications ("
	" id INTEGER PRIMARY KEY, tape_id INTEGER REFERENCES tapes(id),"
	" dump_id INTEGER REFERENCES dumps(id), kind TEXT NOT NULL,"
	" checked INTEGER NOT NULL, bad INTEGER NOT NULL,"
	" at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
	"CREATE INDEX verifications_tape ON verifications(tape_id, at);"
	"CREATE TABLE error_events ("
	" id INTEGER PRIMARY KEY,"
	" at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" drive_id INTEGER REFERENCES drives(id), tape_id INTEGER REFERENCES tapes(id),"
	" job_id INTEGER REFERENCES jobs(id), kind TEXT NOT NULL, message TEXT NOT NULL);"
	"CREATE INDEX errors_drive ON error_events(drive_id, at);"
	"CREATE INDEX errors_tape ON error_events(tape_id, at);"
	"CREATE TABLE acl ("
	" uid INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('operator',"
	"  'retrieval','exception','admin')), PRIMARY KEY (uid, role));"
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" drive_id INTEGER REFERENCES drives(id), job_id INTEGER REFERENCES jobs(id),"
	" level TEXT NOT NULL, text TEXT NOT NULL);"
	"CREATE INDEX messages_drive ON messages(drive_id, id);"
	"INSERT INTO meta VALUES ('site', lower(hex(randomblob(8))));"
	"INSERT INTO pools (name) VALUES ('default');"
	"INSERT INTO entity_types (name) VALUES ('default');",
	/* 2: the media servers' role, engine */
	"CREATE TABLE acl2 ("
	" uid INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('operator',"
	"  'retrieval','exception','admin','engine')), PRIMARY KEY (uid, role));"
	"INSERT INTO acl2 (uid, role) SELECT uid, role FROM acl;"
	"DROP TABLE acl;"
	"ALTER TABLE acl2 RENAME TO acl;",
};

static void
set_err(char *err, const char *what, sqlite3 *db)
{
	if (err)
		snprintf(err, CAT_ERRLEN, "%s: %s", what, db ? sqlite3_errmsg(db) :
		    "out of memory");
}

int
cat_schema_version(struct cat_db *db)
{
	return (int)cat_int(db, 0, "PRAGMA user_version", "");
}

static int
migrate(struct cat_db *db, char *err)
{
	int have = cat_schema_version(db);
	int want = (int)(sizeof(migrations) / sizeof(migrations[0]));
	char sql[64];

	if (have > want) {
		snprintf(err, CAT_ERRLEN, "catalog schema %d is newer than this "
		    "abs-ctld's %d", have, want);
		return -EPROTO;
	}
	for (int v = have; v < want; v++) {
		if (cat_begin(db, err) < 0)
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			set_err(err, "migration", db->db);
			cat_rollback(db);
			return -EIO;
		}
		if (cat_commit(db, err) < 0)
			return -EIO;
	}
	return 0;
}

int
cat_open(const char *path, struct cat_db **out, char *err)
{
	struct cat_db *db = calloc(1, sizeof(*db));
	int rc;

	*out = NULL;
	if (!db)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		set_err(err, path, db->db);
		sqlite3_close(db->db);
		free(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db->db, 5000);
	if (sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, path, db->db);
		cat_close(db);
		return -EIO;
	}
	if ((rc = migrate(db, err)) < 0) {
		cat_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void
cat_close(struct cat_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->db);
	free(db);
}

static sqlite3_stmt *
prepare(struct cat_db *db, char *err, const char *sql, const char *fmt,
    va_list ap)
{
	sqlite3_stmt *st;
	int i = 1;

	/* A wrong letter would take the wrong argument: refuse it first. */
	if (strspn(fmt, "itn") != strlen(fmt)) {
		if (err)
			snprintf(err, CAT_ERRLEN, "bad bind format '%s'", fmt);
		return NULL;
	}
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(err, "prepare", db->db);
		return NULL;
	}
	for (const char *f = fmt; *f; f++, i++) {
		int rc;
		if (*f == 'i') {
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (*f == 't') {
			const char *t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT) :
			    sqlite3_bind_null(st, i);
		} else {
			rc = sqlite3_bind_null(st, i);
		}
		if (rc != SQLITE_OK) {
			set_err(err, "bind", db->db);
			sqlite3_finalize(st);
			return NULL;
		}
	}
	return st;
}

static json_t *
row_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);

	for (int c = 0; o && c < n; c++) {
		const char *name = sqlite3_column_name(st, c);
		json_t *v;
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, c));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, c));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			v = json_string((const char *)sqlite3_column_text(st, c));
			if (!v)	/* not UTF-8: never break the reply */
				v = json_string("?");
		}
		json_object_set_new(o, name, v);
	}
	return o;
}

static json_t *
run_rows(struct cat_db *db, char *err, bool one, const char *sql,
    const char *fmt, va_list ap)
{
	sqlite3_stmt *st = prepare(db, err, sql, fmt, ap);
	json_t *rows;
	int rc;

	if (!st)
		return NULL;
	rows = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(rows, row_json(st));
		if (one)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(err, "query", db->db);
		json_decref(rows);
		rows = NULL;
	}
	sqlite3_finalize(st);
	return rows;
}

json_t *
cat_rows(struct cat_db *db, char *err, const char *sql, const char *fmt, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	r = run_rows(db, err, false, sql, fmt, ap);
	va_end(ap);
	return r;
}

json_t *
cat_row(struct cat_db *db, char *err, const char *sql, const char *fmt, ...)
{
	va_list ap;
	json_t *r, *first;

	va_start(ap, fmt);
	r = run_rows(db, err, true, sql, fmt, ap);
	va_end(ap);
	if (!r)
		return NULL;
	first = json_array_size(r) ? json_incref(json_array_get(r, 0)) : json_null();
	json_decref(r);
	return first;
}

int
cat_exec(struct cat_db *db, char *err, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, fmt);
	st = prepare(db, err, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		set_err(err, "update", db->db);
		return -1;
	}
	return sqlite3_changes(db->db);
}

int64_t
cat_last_id(struct cat_db *db)
{
	return sqlite3_last_insert_rowid(db->db);
}

int64_t
cat_int(struct cat_db *db, int64_t def, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int64_t v = def;

	va_start(ap, fmt);
	st = prepare(db, NULL, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return def;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
cat_begin(struct cat_db *db, char *err)
{
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, "begin", db->db);
		return -1;
	}
	return 0;
}

int
cat_commit(struct cat_db *db, char *err)
{
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, "commit", db->db);
		cat_rollback(db);
		return -1;
	}
	return 0;
}

void
cat_rollback(struct cat_db *db)
{
	sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}
