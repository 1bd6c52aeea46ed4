/*
 * For the catalog's unit tests (test_cat_*.c): a fresh catalog file in its
 * own temp dir, a small site in it, and the ways a database goes bad -
 * closed, read-only, a table gone, pages corrupted, locked by another
 * writer - each of which must give a negative code and a message, never
 * "not found". Uses catalog/db_int.h (private) only to break the database.
 */
#ifndef ABS_CAT_T_H
#define ABS_CAT_T_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/db_int.h"
#include "t.h"

/* The catalog opened last (and not yet done): what cat_t_break breaks. */
static char cat_t_dir[64], cat_t_path[128];

/*
 * Every temp dir cat_t_open made and cat_t_done has not removed yet: a
 * test that opens a second catalog while the first is open, or leaves
 * by exit(1) or a failed CHECK before cat_t_done, leaves none behind
 * (atexit). Before, one static name served all: an inner open's name
 * replaced the outer's, and the outer's dir stayed in /dev/shm.
 */
#define CAT_T_MAX 16
static char cat_t_made[CAT_T_MAX][64];
static int cat_t_nmade;
static pid_t cat_t_owner;	/* a forked child removes nothing */

/* Remove dir and the files in it (the catalog, its -wal, -shm...). */
static void
cat_t_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	while (d && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Make the newest dir still made the current one (or none). */
static void
cat_t_current(void)
{
	cat_t_dir[0] = cat_t_path[0] = '\0';
	for (int i = cat_t_nmade - 1; i >= 0; i--)
		if (cat_t_made[i][0]) {
			snprintf(cat_t_dir, sizeof(cat_t_dir), "%s", cat_t_made[i]);
			snprintf(cat_t_path, sizeof(cat_t_path), "%s/catalog.db",
			    cat_t_dir);
			return;
		}
}

/* At exit, whatever way: every dir not removed yet. */
static void
cat_t_cleanup(void)
{
	if (getpid() != cat_t_owner)
		return;
	for (int i = 0; i < cat_t_nmade; i++)
		if (cat_t_made[i][0]) {
			cat_t_rmdir(cat_t_made[i]);
			cat_t_made[i][0] = '\0';
		}
	cat_t_current();
}

/* A fresh catalog in a new temp dir; exits 1 if it cannot be made. */
static struct cat_db *
cat_t_open(void)
{
	char err[CAT_ERRLEN];
	struct cat_db *db;
	const char *tmp = getenv("TMPDIR");
	int slot;

	if (!cat_t_owner) {
		cat_t_owner = getpid();
		atexit(cat_t_cleanup);
	}
	for (slot = 0; slot < cat_t_nmade && cat_t_made[slot][0]; slot++)
		;
	if (slot == CAT_T_MAX) {
		fprintf(stderr, "cat_t_open: %d catalogs open at once\n",
		    CAT_T_MAX);
		exit(1);
	}
	/* A real file; on tmpfs if there is one, as fsync costs nothing there. */
	if (!tmp || strlen(tmp) >= 40)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(cat_t_made[slot], sizeof(cat_t_made[slot]), "%s/abs-cat-XXXXXX",
	    tmp);
	if (!mkdtemp(cat_t_made[slot])) {
		perror("mkdtemp");
		cat_t_made[slot][0] = '\0';
		exit(1);
	}
	if (slot == cat_t_nmade)
		cat_t_nmade++;
	cat_t_current();
	if (strcmp(cat_t_dir, cat_t_made[slot]) != 0) {
		/* A slot freed below a catalog still open: this one current. */
		memcpy(cat_t_dir, cat_t_made[slot], sizeof(cat_t_dir));
		snprintf(cat_t_path, sizeof(cat_t_path), "%s/catalog.db",
		    cat_t_dir);
	}
	if (cat_open(cat_t_path, &db, err) < 0) {
		fprintf(stderr, "cat_open %s: %s\n", cat_t_path, err);
		exit(1);
	}
	/* These tests do not test durability: no fsync per commit. */
	sqlite3_exec(db->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
	return db;
}

/* Close and remove db's catalog and its dir (the current one's, if the
   connection is gone). */
static void
cat_t_done(struct cat_db *db)
{
	const char *f = db && db->db ? sqlite3_db_filename(db->db, "main") :
	    NULL;
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s", cat_t_dir);
	if (f && *f) {
		const char *slash = strrchr(f, '/');
		if (slash && (size_t)(slash - f) < sizeof(dir))
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - f), f);
	}
	cat_close(db);
	/* By the dir's own name: sqlite3_db_filename resolves the path. */
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	for (int i = 0; i < cat_t_nmade; i++) {
		const char *m = cat_t_made[i];
		if (m[0] && strcmp(strrchr(m, '/') + 1, base) == 0) {
			cat_t_rmdir(m);
			cat_t_made[i][0] = '\0';
			break;
		}
	}
	cat_t_current();
}

/* The tape ID of the newest tape with the label. */
static const char *
cat_t_tape_id(struct cat_db *db, const char *label)
{
	static char tid[64];
	sqlite3_stmt *st;

	tid[0] = '\0';
	sqlite3_prepare_v2(db->db, "SELECT tape_id FROM tapes WHERE label = ?"
	    " ORDER BY id DESC", -1, &st, NULL);
	sqlite3_bind_text(st, 1, label, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(tid, sizeof(tid), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return tid;
}

/*
 * A small site: pool p (max 5 tapes), tapes A1 A2 (default) and B1 (p),
 * type vol, entities e1 (vol, p) and e2, a drive d0, a dump job for e1
 * running with one part of dump "dump1" on B1, complete, a verification
 * and an error event on B1, and uid 1000 an operator.
 */
static void
cat_t_site(struct cat_db *db)
{
	const char *a[] = { "A1", "A2" }, *b[] = { "B1" }, *e1[] = { "e1" };
	struct cat_frequency f;
	char err[CAT_ERRLEN], tid[64];
	int64_t job = 0;
	struct cat_part p = { .dump_uid = "dump1", .entity = "e1", .level = 0,
	    .started = "2026-01-02T03:04:05Z", .digest_alg = "xxh128",
	    .part = 1, .file = 1, .bytes = 1000, .blocks = 2, .block_size = 512,
	    .digest = "ab", .ok = true };
	struct cat_dump d = { .dump_uid = "dump1", .bytes = 1000,
	    .raw_bytes = 2000, .digest = "ab", .raw_digest = "cd" };

	if (cat_pool_add(db, "p", err) < 0 ||
	    cat_pool_set(db, "p", -1, 5, -1, -1, err) < 0 ||
	    cat_tapes_add(db, "default", a, 2, NULL, NULL, err) < 0 ||
	    cat_tapes_add(db, "p", b, 1, NULL, NULL, err) < 0 ||
	    cat_type_add(db, "vol", 7, 1, &f, err) < 0 ||
	    cat_entity_add(db, "e1", "dir:/tmp", "vol", "p", err) < 0 ||
	    cat_entity_add(db, "e2", "cmd:true", "default", "default", err) < 0 ||
	    cat_drive_seen(db, "d0", "vtape:/x", err) < 0 ||
	    cat_jobs_add(db, "dump", "d0", e1, 1, 0, "level=0", &job, err) < 0 ||
	    cat_job_start(db, job, err) < 0) {
		fprintf(stderr, "setting up the site: %s\n", err);
		exit(1);
	}
	snprintf(tid, sizeof(tid), "%s", cat_t_tape_id(db, "B1"));
	p.tape_id = tid;
	if (cat_part_record(db, &p, job, err) < 0 ||
	    cat_dump_complete(db, &d, 1, err) < 0 ||
	    cat_verification_add(db, tid, "dump1", "spot", 10, 0, err) < 0 ||
	    cat_error_add(db, "d0", "B1", job, "medium", "oops", err) < 0 ||
	    cat_acl_set(db, 1000, "operator", err) < 0) {
		fprintf(stderr, "setting up the site: %s\n", err);
		exit(1);
	}
}

enum cat_t_break {
	BREAK_CLOSED,		/* the connection is gone */
	BREAK_READONLY,		/* writes refused (query_only) */
	BREAK_SCHEMA,		/* every table dropped by another program */
	BREAK_CORRUPT,		/* every table's and index's root page garbage */
	BREAK_LOCKED,		/* another writer holds the lock */
	BREAK_N
};
static const char *const cat_t_break_name[] = { "closed", "read-only",
	"schema", "corrupt", "locked" };
/* What err must say for each. */
static const char *const cat_t_break_says[] = { "closed", "readonly",
	"no such table", "malformed", "locked" };

static sqlite3 *cat_t_locker;

/* Overwrite the root pages of every table and index with garbage. */
static struct cat_db *
cat_t_corrupt(struct cat_db *db)
{
	char err[CAT_ERRLEN], junk[65536];
	int64_t pages[256];
	int n = 0, size = 4096, fd;
	sqlite3_stmt *st;

	sqlite3_prepare_v2(db->db, "SELECT rootpage FROM sqlite_master WHERE"
	    " rootpage > 1", -1, &st, NULL);
	while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
		pages[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db->db, "PRAGMA page_size", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		size = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	cat_close(db);		/* the last connection: WAL checkpointed */
	memset(junk, 0x5a, sizeof(junk));
	fd = open(cat_t_path, O_WRONLY);
	for (int i = 0; fd >= 0 && i < n && size <= (int)sizeof(junk); i++)
		if (pwrite(fd, junk, (size_t)size, (pages[i] - 1) * size) != size)
			perror("pwrite");
	if (fd >= 0)
		close(fd);
	if (cat_open(cat_t_path, &db, err) < 0) {
		fprintf(stderr, "reopening the corrupted catalog: %s\n", err);
		exit(1);
	}
	return db;
}

/* Break db one way; the db to use after (corrupt reopens it). */
static struct cat_db *
cat_t_break(struct cat_db *db, enum cat_t_break how)
{
	sqlite3 *other;

	switch (how) {
	case BREAK_CLOSED:
		/* _v2: the statements the catalog keeps finish it at cat_close */
		sqlite3_close_v2(db->db);
		db->db = NULL;
		break;
	case BREAK_READONLY:
		sqlite3_exec(db->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
		break;
	case BREAK_SCHEMA:
		sqlite3_open(cat_t_path, &other);
		sqlite3_exec(other, "PRAGMA foreign_keys = OFF;"
		    "DROP TABLE archive_entries; DROP TABLE archives;"
		    "DROP TABLE run_plan; DROP TABLE runs; DROP TABLE discovery;"
		    "DROP TABLE windows; DROP TABLE servers; DROP TABLE subnets;"
		    "DROP TABLE messages; DROP TABLE acl; DROP TABLE error_events;"
		    "DROP TABLE verifications; DROP TABLE dump_parts;"
		    "DROP TABLE dumps; DROP TABLE jobs; DROP TABLE entities;"
		    "DROP TABLE entity_types; DROP TABLE drives; DROP TABLE tapes;"
		    "DROP TABLE pools; DROP TABLE meta;", NULL, NULL, NULL);
		sqlite3_close(other);
		break;
	case BREAK_CORRUPT:
		db = cat_t_corrupt(db);
		break;
	case BREAK_LOCKED:
		sqlite3_busy_timeout(db->db, 0);
		sqlite3_open(cat_t_path, &cat_t_locker);
		sqlite3_exec(cat_t_locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
		break;
	default:
		break;
	}
	return db;
}

/* Undo what cat_t_break left outside db. */
static void
cat_t_unbreak(void)
{
	if (cat_t_locker) {
		sqlite3_exec(cat_t_locker, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(cat_t_locker);
		cat_t_locker = NULL;
	}
}

/* One catalog operation on the site, for the error-path loop. */
struct cat_t_op {
	const char *name;
	int (*run)(struct cat_db *db, char *err);
	bool writes;		/* read-only and locked break only writers */
};

/*
 * Each op, on a fresh site broken each way that applies to it: a negative
 * code that is not -ENOENT, and a message that says what went wrong.
 */
static void
cat_t_error_paths(const struct cat_t_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int how = 0; how < BREAK_N; how++) {
			char err[CAT_ERRLEN] = "";
			struct cat_db *db;
			int rc;

			if (!ops[i].writes && (how == BREAK_READONLY ||
			    how == BREAK_LOCKED))
				continue;
			db = cat_t_open();
			cat_t_site(db);
			db = cat_t_break(db, (enum cat_t_break)how);
			rc = ops[i].run(db, err);
			cat_t_unbreak();
			if (rc >= 0 || rc == -ENOENT || !strstr(err,
			    cat_t_break_says[how])) {
				fprintf(stderr, "%s on a %s catalog: rc %d, \"%s\"\n",
				    ops[i].name, cat_t_break_name[how], rc, err);
				CHECK(!"a broken catalog's error");
			} else {
				CHECK(rc < 0);
			}
			cat_t_done(db);
		}
}

#endif
