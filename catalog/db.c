/*
 * The catalog's connection: open (WAL, foreign keys, synchronous=FULL), the
 * numbered migrations, and the statement helpers every concern's file uses
 * (catalog/db_int.h). Every result is checked; SQLite's codes become negative
 * errno codes and a message that says what was being done.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "catalog/db_int.h"
#include "common/clock.h"

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
	/*
	 * 3: a reservation names the job holding it and the state the tape
	 * had, so that a restarted abs-ctld can give back what no live job
	 * holds; a job another master started keeps where it came from.
	 */
	"ALTER TABLE tapes ADD COLUMN job_id INTEGER REFERENCES jobs(id);"
	"ALTER TABLE tapes ADD COLUMN reserved_from TEXT;"
	"ALTER TABLE jobs ADD COLUMN origin TEXT;"
	"CREATE UNIQUE INDEX jobs_origin ON jobs(origin) WHERE origin IS NOT NULL;"
	"CREATE INDEX tapes_job ON tapes(job_id) WHERE job_id IS NOT NULL;",
	/*
	 * 4: a dump rebuilt from tapes whose parts are on cartridges not
	 * scanned yet is incomplete (a state of its own: SQLite changes a
	 * CHECK only by copying the table, foreign keys off, see migrate); a
	 * rebuilt part keeps the cartridge its header names for the part
	 * before it, and a tape when a rebuild last read it to its end, so
	 * that a dump expires whichever comes first.
	 */
	"CREATE TABLE dumps4 ("
	" id INTEGER PRIMARY KEY, dump_uid TEXT NOT NULL UNIQUE,"
	" entity_id INTEGER NOT NULL REFERENCES entities(id),"
	" job_id INTEGER REFERENCES jobs(id), level INTEGER NOT NULL DEFAULT 0,"
	" since TEXT, started TEXT NOT NULL, finished TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('running','complete','failed',"
	"  'aborted','expired','incomplete')),"
	" bytes INTEGER, raw_bytes INTEGER, digest_alg TEXT, digest TEXT,"
	" raw_digest TEXT);"
	"INSERT INTO dumps4 SELECT id, dump_uid, entity_id, job_id, level, since,"
	" started, finished, state, bytes, raw_bytes, digest_alg, digest,"
	" raw_digest FROM dumps;"
	"DROP TABLE dumps;"
	"ALTER TABLE dumps4 RENAME TO dumps;"
	"CREATE INDEX dumps_entity ON dumps(entity_id, state, started);"
	"ALTER TABLE dump_parts ADD COLUMN prev_tape_id TEXT;"
	"ALTER TABLE tapes ADD COLUMN scanned TEXT;",
	/*
	 * 5: the nightly run. Servers (in subnets, both with a limit of
	 * concurrent dumps, 0: none) hold entities (with a partition and a
	 * priority; NULL: the type's); recurring forbidden windows belong to
	 * a type or to one entity (an entity's own replace its type's);
	 * types know their deepest level, what a new entity is guessed at,
	 * and the commands around a dump (argv words, placeholders as whole
	 * arguments); discovery commands list a server's entities (an entity
	 * keeps the size its listing last gave: listed_bytes; a command's
	 * time is bounded: timeout_s); a run is
	 * one night's work on some drives, its plan kept row by row, and the
	 * jobs it queued name it, their level and why.
	 */
	"CREATE TABLE subnets ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" max_dumps INTEGER NOT NULL DEFAULT 0 CHECK (max_dumps >= 0));"
	"CREATE TABLE servers ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" subnet_id INTEGER REFERENCES subnets(id),"
	" max_dumps INTEGER NOT NULL DEFAULT 0 CHECK (max_dumps >= 0),"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
	"ALTER TABLE entities ADD COLUMN server_id INTEGER REFERENCES servers(id);"
	"ALTER TABLE entities ADD COLUMN partition TEXT;"
	"ALTER TABLE entities ADD COLUMN priority INTEGER;"
	"ALTER TABLE entities ADD COLUMN vanished TEXT;"
	"CREATE INDEX entities_server ON entities(server_id);"
	"ALTER TABLE entity_types ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE entity_types ADD COLUMN max_level INTEGER NOT NULL DEFAULT 1"
	" CHECK (max_level BETWEEN 0 AND 9);"
	"ALTER TABLE entity_types ADD COLUMN estimate_bytes INTEGER;"
	"ALTER TABLE entity_types ADD COLUMN snapshot_cmd TEXT;"
	"ALTER TABLE entity_types ADD COLUMN dump_cmd TEXT;"
	"ALTER TABLE entity_types ADD COLUMN incr_cmd TEXT;"
	"ALTER TABLE entity_types ADD COLUMN release_cmd TEXT;"
	"CREATE TABLE windows ("
	" id INTEGER PRIMARY KEY,"
	" type_id INTEGER REFERENCES entity_types(id),"
	" entity_id INTEGER REFERENCES entities(id),"
	" days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 127),"
	" start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),"
	" end_min INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),"
	" CHECK ((type_id IS NULL) != (entity_id IS NULL)));"
	"CREATE INDEX windows_type ON windows(type_id);"
	"CREATE INDEX windows_entity ON windows(entity_id);"
	"CREATE TABLE discovery ("
	" id INTEGER PRIMARY KEY,"
	" server_id INTEGER NOT NULL REFERENCES servers(id),"
	" type_id INTEGER NOT NULL REFERENCES entity_types(id),"
	" pool_id INTEGER NOT NULL REFERENCES pools(id),"
	" cmd TEXT NOT NULL, source_template TEXT,"
	" last_run TEXT, last_ok TEXT, last_error TEXT,"
	" UNIQUE (server_id, cmd));"
	"ALTER TABLE entities ADD COLUMN discovered_by INTEGER"
	" REFERENCES discovery(id);"
	"ALTER TABLE entities ADD COLUMN listed_bytes INTEGER;"
	"ALTER TABLE discovery ADD COLUMN timeout_s INTEGER NOT NULL DEFAULT 30"
	" CHECK (timeout_s BETWEEN 1 AND 300);"
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY, night TEXT NOT NULL, drives TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('running','done','failed',"
	"  'aborted')),"
	" uid INTEGER, started TEXT NOT NULL"
	"  DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" finished TEXT, detail TEXT);"
	"CREATE INDEX runs_night ON runs(night, id);"
	"CREATE TABLE run_plan ("
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" entity_id INTEGER NOT NULL REFERENCES entities(id),"
	" drive TEXT, position INTEGER, level INTEGER,"
	" bytes INTEGER, seconds REAL, reason TEXT NOT NULL,"
	" PRIMARY KEY (run_id, entity_id));"
	"ALTER TABLE jobs ADD COLUMN run_id INTEGER REFERENCES runs(id);"
	"ALTER TABLE jobs ADD COLUMN level INTEGER;"
	"ALTER TABLE jobs ADD COLUMN reason TEXT;"
	"ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX jobs_run ON jobs(run_id) WHERE run_id IS NOT NULL;"
	"ALTER TABLE dumps ADD COLUMN base_uid TEXT;"
	"CREATE INDEX dumps_job ON dumps(job_id);",
	/*
	 * 6: chains and the file index. A dump knows where its index sits in
	 * its stream (the dump line's index_raw, index_stored, index_bytes)
	 * and the catalog keeps the index itself as the encoded bytes
	 * (catalog/fileindex.h, zstd inside) in chunks of up to 1 MiB: one
	 * row per MiB of index, never a row per file.
	 */
	"ALTER TABLE dumps ADD COLUMN index_raw INTEGER;"
	"ALTER TABLE dumps ADD COLUMN index_stored INTEGER;"
	"ALTER TABLE dumps ADD COLUMN index_bytes INTEGER;"
	"CREATE TABLE dump_index ("
	" dump_id INTEGER NOT NULL REFERENCES dumps(id),"
	" seq INTEGER NOT NULL CHECK (seq >= 0), data BLOB NOT NULL,"
	" PRIMARY KEY (dump_id, seq));"
	"CREATE INDEX dumps_base ON dumps(base_uid) WHERE base_uid IS NOT NULL;",
	/*
	 * 7: tape libraries in the control plane. A library is a changer
	 * (URI) whose cartridges abs-ctld alone moves; drives are attached to
	 * it by element number (mtx numbering: drives from 0), and a media
	 * server reports its drive's serial (matched against the changer's
	 * DVCID). The inventory is the robot's last word, one row per
	 * element; the moves journal is written before a move starts and
	 * marked after, so that a move a crash cut off is known (and the
	 * next inventory says where the cartridge is). Cleaning cartridges
	 * (barcode prefix) count their uses; a barcode whose tape label
	 * disagrees is marked until the operator clears it.
	 */
	"CREATE TABLE libraries ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" changer TEXT NOT NULL UNIQUE,"
	" clean_prefix TEXT NOT NULL DEFAULT 'CLN',"
	" clean_uses INTEGER NOT NULL DEFAULT 50"
	"  CHECK (clean_uses BETWEEN 1 AND 100000),"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" last_inventory TEXT, inventory_error TEXT);"
	"ALTER TABLE drives ADD COLUMN library_id INTEGER"
	" REFERENCES libraries(id);"
	"ALTER TABLE drives ADD COLUMN element INTEGER"
	" CHECK (element IS NULL OR element >= 0);"
	"ALTER TABLE drives ADD COLUMN serial TEXT;"
	"CREATE UNIQUE INDEX drives_element ON drives(library_id, element)"
	" WHERE library_id IS NOT NULL;"
	"CREATE TABLE inventory ("
	" library_id INTEGER NOT NULL REFERENCES libraries(id),"
	" type TEXT NOT NULL CHECK (type IN ('robot','slot','portal','drive')),"
	" num INTEGER NOT NULL CHECK (num >= 0), addr INTEGER NOT NULL,"
	" full INTEGER NOT NULL DEFAULT 0, barcode TEXT,"
	" label_short TEXT, tag_unreadable INTEGER NOT NULL DEFAULT 0,"
	" source INTEGER, ident TEXT, abnormal INTEGER NOT NULL DEFAULT 0,"
	" access INTEGER NOT NULL DEFAULT 1, last_seen TEXT NOT NULL,"
	" PRIMARY KEY (library_id, type, num));"
	"CREATE INDEX inventory_barcode ON inventory(barcode)"
	" WHERE barcode IS NOT NULL;"
	"CREATE INDEX inventory_short ON inventory(label_short)"
	" WHERE label_short IS NOT NULL;"
	"CREATE TABLE moves ("
	" id INTEGER PRIMARY KEY,"
	" library_id INTEGER NOT NULL REFERENCES libraries(id),"
	" job_id INTEGER REFERENCES jobs(id), drive TEXT, barcode TEXT,"
	" from_type TEXT NOT NULL, from_num INTEGER NOT NULL,"
	" to_type TEXT NOT NULL, to_num INTEGER NOT NULL, why TEXT,"
	" state TEXT NOT NULL DEFAULT 'started' CHECK (state IN ('started',"
	"  'done','failed','cut')),"
	" started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" finished TEXT, error TEXT);"
	"CREATE INDEX moves_library ON moves(library_id, id);"
	"CREATE TABLE cleaning ("
	" library_id INTEGER NOT NULL REFERENCES libraries(id),"
	" barcode TEXT NOT NULL, uses INTEGER NOT NULL DEFAULT 0,"
	" last_used TEXT, expended TEXT, PRIMARY KEY (library_id, barcode));"
	"CREATE TABLE barcode_marks ("
	" library_id INTEGER NOT NULL REFERENCES libraries(id),"
	" barcode TEXT NOT NULL, why TEXT NOT NULL,"
	" at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" PRIMARY KEY (library_id, barcode));",
	/*
	 * Identities over the network (issue 17): grants to a Kerberos
	 * principal or a certificate subject beside the uids', and the
	 * table of authorized media servers: a drive name (or a pattern)
	 * and the identity that may serve it.
	 */
	"CREATE TABLE acl_identity ("
	" identity TEXT NOT NULL CHECK (identity LIKE 'krb:_%' OR identity LIKE"
	"  'cert:_%'), role TEXT NOT NULL CHECK (role IN ('operator',"
	"  'retrieval','exception','admin')), PRIMARY KEY (identity, role));"
	"CREATE TABLE media_servers ("
	" name TEXT PRIMARY KEY, identity TEXT NOT NULL CHECK (identity LIKE"
	"  'krb:_%' OR identity LIKE 'cert:_%'),"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" added_by TEXT);",
	/*
	 * 9: shadows (docs/SHADOWS.md). A shadow is a restored copy of an
	 * entity at a path (on a host) kept current by applying each new
	 * dump of its chain: what it reflects (the dump), the refresh in
	 * progress (its job and the dump it brings the shadow to), the last
	 * refresh's failure, and its promotion (who, when, the source it
	 * replaced). One active shadow per entity and per place.
	 */
	"CREATE TABLE shadows ("
	" id INTEGER PRIMARY KEY,"
	" entity_id INTEGER NOT NULL REFERENCES entities(id),"
	" host TEXT, path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),"
	" drive TEXT,"
	" every_hours INTEGER NOT NULL DEFAULT 0"
	"  CHECK (every_hours BETWEEN 0 AND 8760),"
	" state TEXT NOT NULL DEFAULT 'active'"
	"  CHECK (state IN ('active','promoted')),"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" added_by TEXT,"
	" dump_uid TEXT, dump_started TEXT, refreshed TEXT,"
	" job_id INTEGER REFERENCES jobs(id), job_dump TEXT,"
	" error TEXT, error_dump TEXT, error_at TEXT,"
	" promoted_at TEXT, promoted_by TEXT, promoted_from TEXT);"
	"CREATE UNIQUE INDEX shadows_entity ON shadows(entity_id)"
	" WHERE state = 'active';"
	"CREATE UNIQUE INDEX shadows_place ON shadows(coalesce(host, ''), path)"
	" WHERE state = 'active';",
	/*
	 * 10: archive jobs under abs-ctld (docs/QUEUE.md, "Under abs-ctld").
	 * An archive is an archive queue worked by a media server's drive as
	 * one long-running job: its queue and done directories, the drive,
	 * its options (JSON), whether it should run (want), the job that
	 * runs it, its last state and error, and the restarts it waits for.
	 * archive_entries is what its done directory holds: where each file
	 * is on tape (every part, in order) and its digest.
	 */
	"CREATE TABLE archives ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" drive TEXT NOT NULL, queue TEXT NOT NULL CHECK (substr(queue, 1, 1)"
	"  = '/'), done TEXT NOT NULL CHECK (substr(done, 1, 1) = '/'),"
	" entity TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',"
	" want TEXT NOT NULL DEFAULT 'run' CHECK (want IN ('run','stopped')),"
	" job_id INTEGER REFERENCES jobs(id),"
	" state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting',"
	"  'running','load-media','unloading','stopped','failed')),"
	" error TEXT, fails INTEGER NOT NULL DEFAULT 0, retry_at TEXT,"
	" added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
	" added_by TEXT);"
	"CREATE UNIQUE INDEX archives_drive ON archives(drive);"
	"CREATE TABLE archive_entries ("
	" archive_id INTEGER NOT NULL REFERENCES archives(id),"
	" name TEXT NOT NULL, path TEXT NOT NULL, dump_uid TEXT NOT NULL,"
	" digest TEXT, bytes INTEGER NOT NULL, label TEXT NOT NULL,"
	" tape_id TEXT NOT NULL, file INTEGER NOT NULL,"
	" offset INTEGER NOT NULL DEFAULT 0, parts TEXT NOT NULL,"
	" archived TEXT, verified INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (archive_id, name));"
	"CREATE INDEX archive_entries_path ON archive_entries(path);",
};


/* Fill err (printf-style) and return code. */
int
db_fail(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, CAT_ERRLEN, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* SQLite's (extended) result code as a negative errno. */
static int
errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* The connection's last error as a negative errno, with what failed. */
int
db_error(struct cat_db *db, char *err, const char *what)
{
	if (!db || !db->db)
		return db_fail(err, -ENOMEM, "%s: out of memory", what);
	return db_fail(err, errno_of(sqlite3_extended_errcode(db->db)), "%s: %s",
	    what, sqlite3_errmsg(db->db));
}

/*
 * The cache slot of sql (by the address of its text, checked against the
 * statement's own text: a caller's buffer may hold other SQL next time).
 */
static struct db_stmt *
stmt_slot(struct cat_db *db, const char *sql)
{
	return &db->cache[((uintptr_t)sql >> 3) % DB_STMT_CACHE];
}

/*
 * A statement for sql: the one kept from its last run (reset), or a new
 * one, kept if its slot is free. Parsing and planning the same SQL again
 * was most of abs-ctld's CPU per job. SQLITE_OK or SQLite's error.
 */
static int
stmt_get(struct cat_db *db, const char *sql, sqlite3_stmt **out)
{
	struct db_stmt *c = stmt_slot(db, sql);
	int rc;

	if (c->st && !c->busy && c->sql == sql &&
	    strcmp(sqlite3_sql(c->st), sql) == 0) {
		c->busy = 1;
		*out = c->st;
		return SQLITE_OK;
	}
	if (c->st && !c->busy) {	/* another SQL's: it makes room */
		sqlite3_finalize(c->st);
		c->st = NULL;
	}
	rc = sqlite3_prepare_v3(db->db, sql, -1, c->st ? 0 :
	    SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc == SQLITE_OK && !c->st && *out) {
		c->sql = sql;
		c->st = *out;
		c->busy = 1;
	}
	return rc;
}

/* A statement's run ended: kept (reset, unbound) or finalized. */
static void
stmt_put(struct cat_db *db, sqlite3_stmt *st)
{
	for (struct db_stmt *c = db->cache; st && c < db->cache + DB_STMT_CACHE;
	    c++)
		if (c->st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			c->busy = 0;
			return;
		}
	sqlite3_finalize(st);
}

/* Every kept statement finalized (before the connection closes). */
static void
stmt_cache_free(struct cat_db *db)
{
	for (struct db_stmt *c = db->cache; c < db->cache + DB_STMT_CACHE; c++) {
		sqlite3_finalize(c->st);
		c->st = NULL;
		c->busy = 0;
	}
}

/* Prepare and bind; 0 and *out, or negative with err set. */
static int
prepare(struct cat_db *db, char *err, const char *what, sqlite3_stmt **out,
    const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int i = 1;

	*out = NULL;
	if (!db || !db->db)
		return db_fail(err, -EBADF, "%s: the catalog is closed", what);
	/* A wrong letter would take the wrong argument: refuse it first. */
	if (strspn(fmt, "itn") != strlen(fmt))
		return db_fail(err, -EINVAL, "%s: bad bind format '%s'", what, fmt);
	if (stmt_get(db, sql, &st) != SQLITE_OK)
		return db_error(db, err, what);
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
			rc = db_error(db, err, what);
			stmt_put(db, st);
			return rc;
		}
	}
	*out = st;
	return 0;
}

/* Step through every row, fn per row (may be NULL): rows, or negative. */
static int
run(struct cat_db *db, char *err, const char *what, db_row_fn *fn, void *arg,
    const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	if ((rc = prepare(db, err, what, &st, sql, fmt, ap)) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int r = fn ? fn(st, arg) : 0;
		if (r < 0) {
			stmt_put(db, st);
			return r;
		}
		n++;
		if (r > 0) {	/* the caller has what it wanted */
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		n = db_error(db, err, what);
	stmt_put(db, st);
	return n;
}

/* Run a statement that returns no rows: rows changed, or negative. */
int
db_exec(struct cat_db *db, char *err, const char *what, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run(db, err, what, NULL, NULL, sql, fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : sqlite3_changes(db->db);
}

/* Run a query, fn per row: the rows, or negative. */
int
db_query(struct cat_db *db, char *err, const char *what, db_row_fn *fn,
    void *arg, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run(db, err, what, fn, arg, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* One integer from the first row: 1, 0 if no row, or negative. */
int
db_int(struct cat_db *db, char *err, const char *what, int64_t *out,
    const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = prepare(db, err, what, &st, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = db_i64(st, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(db, err, what);
	}
	stmt_put(db, st);
	return rc;
}

/* A text column; NULL for SQL NULL. */
const char *
db_text(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NULL :
	    (const char *)sqlite3_column_text(st, col);
}

/* An integer column; CAT_NULL for SQL NULL. */
int64_t
db_i64(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? CAT_NULL :
	    sqlite3_column_int64(st, col);
}

/* Begin a write transaction now (BEGIN IMMEDIATE). */
int
db_begin(struct cat_db *db, char *err)
{
	if (!db || !db->db)
		return db_fail(err, -EBADF, "begin: the catalog is closed");
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, err, "begin");
	return 0;
}

/* Commit, or roll back and say why. */
int
db_commit(struct cat_db *db, char *err)
{
	int rc;

	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(db, err, "commit");
		db_rollback(db);
		return rc;
	}
	return 0;
}

/* Roll back the open transaction, if any. */
void
db_rollback(struct cat_db *db)
{
	if (db && db->db && !sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The schema version (PRAGMA user_version), or negative. */
static int
user_version(struct cat_db *db, char *err)
{
	int64_t v = 0;
	int rc = db_int(db, err, "reading the schema version", &v,
	    "PRAGMA user_version", "");

	return rc < 0 ? rc : (int)v;
}

/* The schema version, or negative. */
int
cat_schema_version(struct cat_db *db)
{
	char err[CAT_ERRLEN];

	return user_version(db, err);
}

/* Whether a foreign key of the catalog points nowhere (1), or negative. */
static int
dangling(struct cat_db *db, char *err)
{
	int64_t any = 0;
	int rc = db_int(db, err, "checking foreign keys", &any,
	    "SELECT count(*) FROM pragma_foreign_key_check", "");

	return rc < 0 ? rc : any > 0;
}

/* Run migration v in a transaction of its own. */
static int
migrate_one(struct cat_db *db, int v, char *err)
{
	char sql[64];
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	if (sqlite3_exec(db->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(db, err, "migration");
		db_rollback(db);
		return rc;
	}
	if ((rc = dangling(db, err)) != 0) {
		db_rollback(db);
		return rc < 0 ? rc : db_fail(err, -EPROTO, "migration %d would"
		    " leave foreign keys pointing nowhere", v + 1);
	}
	return db_commit(db, err);
}

/*
 * Bring the schema up to this program's version, one transaction each.
 * Foreign keys are off meanwhile (a migration may copy a table, which
 * SQLite needs to change a CHECK) and checked before each commit.
 */
static int
migrate(struct cat_db *db, char *err)
{
	int have = user_version(db, err), rc = 0;
	int want = (int)(sizeof(migrations) / sizeof(migrations[0]));

	if (have < 0)
		return have;
	if (have > want)
		return db_fail(err, -EPROTO, "catalog schema %d is newer than this "
		    "abs-ctld's %d", have, want);
	if (have == want)
		return 0;
	if (sqlite3_exec(db->db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_error(db, err, "migration");
	for (int v = have; v < want && rc >= 0; v++)
		rc = migrate_one(db, v, err);
	if (sqlite3_exec(db->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
	    SQLITE_OK && rc >= 0)
		rc = db_error(db, err, "migration");
	return rc < 0 ? rc : 0;
}

/*
 * An existing catalog file of 0 bytes is a catalog that lost its contents
 * (truncated by a tool, a copy that failed, a filesystem after a crash),
 * never a new one: SQLite would take it for an empty database and abs-ctld
 * would run on an empty catalog. A new catalog is made only where no file
 * is. (Once opened, the file holds at least its first page.)
 */
static int
refuse_empty(const char *path, char *err)
{
	struct stat sb;

	if (strcmp(path, ":memory:") == 0 || stat(path, &sb) < 0 ||
	    !S_ISREG(sb.st_mode) || sb.st_size > 0)
		return 0;
	return db_fail(err, -ENODATA, "%s is an empty file (0 bytes): a "
	    "catalog that lost its contents, not a new one; restore it or "
	    "remove the file to start a new catalog", path);
}

/*
 * SQLite's 'now' (every DEFAULT date, julianday('now') in a query) on a
 * test's clock: with ABS_CLOCK set (common/clock.h) the catalog opens
 * through "abs-clock", the default VFS but for its time, which is
 * clock_now(). Without ABS_CLOCK nothing is registered: a site's catalog
 * opens through SQLite's own VFS, untouched.
 */
static sqlite3_vfs clock_vfs;

/* The days since the Julian epoch's noon, in ms: SQLite's time unit. */
#define JULIAN_UNIX_MS 210866760000000LL

/* xCurrentTimeInt64: clock_now() as SQLite counts time. */
static int
clock_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	*out = (sqlite3_int64)clock_now() * 1000 + JULIAN_UNIX_MS;
	return SQLITE_OK;
}

/* xCurrentTime: the same as a Julian day number. */
static int
clock_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	*out = (double)clock_now() / 86400.0 + 2440587.5;
	return SQLITE_OK;
}

/* The VFS to open the catalog through: NULL (SQLite's) unless injected. */
static const char *
clock_vfs_name(void)
{
	sqlite3_mutex *m;
	const char *name = NULL;

	if (!clock_injected())
		return NULL;
	m = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
	sqlite3_mutex_enter(m);
	if (clock_vfs.zName)
		name = clock_vfs.zName;
	else {
		sqlite3_vfs *base = sqlite3_vfs_find(NULL);
		if (base) {
			clock_vfs = *base;
			clock_vfs.pNext = NULL;
			clock_vfs.zName = "abs-clock";
			clock_vfs.xCurrentTime = clock_time;
			if (clock_vfs.iVersion >= 2)
				clock_vfs.xCurrentTimeInt64 = clock_time64;
			if (sqlite3_vfs_register(&clock_vfs, 0) == SQLITE_OK)
				name = clock_vfs.zName;
			else
				memset(&clock_vfs, 0, sizeof(clock_vfs));
		}
	}
	sqlite3_mutex_leave(m);
	return name;
}

/* Open, create and migrate the catalog at path. */
int
cat_open(const char *path, struct cat_db **out, char *err)
{
	struct cat_db *db;
	int rc;

	*out = NULL;
	if ((rc = refuse_empty(path, err)) < 0)
		return rc;
	if (!(db = calloc(1, sizeof(*db))))
		return db_fail(err, -ENOMEM, "%s: out of memory", path);
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, clock_vfs_name()) !=
	    SQLITE_OK) {
		rc = db_error(db, err, path);
		cat_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db->db, 5000);
	if (sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(db, err, path);
		cat_close(db);
		return rc;
	}
	if ((rc = migrate(db, err)) < 0) {
		cat_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* Close the catalog; NULL is a no-op. */
void
cat_close(struct cat_db *db)
{
	if (!db)
		return;
	stmt_cache_free(db);
	sqlite3_close(db->db);
	free(db);
}

/* The site's ID (every tape ID starts with it). */
int
cat_site(struct cat_db *db, char *buf, size_t len, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!db || !db->db)
		return db_fail(err, -EBADF, "reading the site ID: the catalog is "
		    "closed");
	if (sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key ="
	    " 'site'", -1, &st, NULL) != SQLITE_OK)
		return db_error(db, err, "reading the site ID");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = db_fail(err, -ENOENT, "the catalog has no site ID");
	} else {
		rc = db_error(db, err, "reading the site ID");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Whether s is a name the catalog stores. */
bool
cat_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '%' || *s == '=' || *s == '|')
			return false;
	return true;
}
