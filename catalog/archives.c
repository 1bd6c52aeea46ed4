/*
 * Archive jobs (schema 10): archive queues worked by a drive's media
 * server under abs-ctld (docs/QUEUE.md, "Under abs-ctld"), and the files
 * they archived: where each is on tape and its digest, as the done
 * entries say. abs-ctld (control/archive.c) decides when an archive runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"

#define ARCHIVE_COLS "a.id, a.name, a.drive, a.queue, a.done, a.entity," \
	" a.options, a.want, a.job_id, a.state, a.error, a.fails, a.retry_at," \
	" a.added, a.added_by," \
	" (SELECT count(*) FROM archive_entries x WHERE x.archive_id = a.id)," \
	" (SELECT coalesce(sum(x.bytes), 0) FROM archive_entries x" \
	"  WHERE x.archive_id = a.id)"

static int
archive_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_archive a = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.drive = db_text(st, 2), .queue = db_text(st, 3),
		.done = db_text(st, 4), .entity = db_text(st, 5),
		.options = db_text(st, 6), .want = db_text(st, 7),
		.job_id = db_i64(st, 8), .state = db_text(st, 9),
		.error = db_text(st, 10), .fails = db_i64(st, 11),
		.retry_at = db_text(st, 12), .added = db_text(st, 13),
		.added_by = db_text(st, 14), .archived = db_i64(st, 15),
		.bytes = db_i64(st, 16),
	};

	return ((cat_archive_fn *)cb->fn)(&a, cb->arg);
}

int
cat_archives_list(struct cat_db *db, cat_archive_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing archives", archive_row, DB_CB(fn, arg),
	    "SELECT " ARCHIVE_COLS " FROM archives a ORDER BY a.name", "");
}

int
cat_archive_get(struct cat_db *db, const char *name, cat_archive_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading an archive", archive_row,
	    DB_CB(fn, arg), "SELECT " ARCHIVE_COLS " FROM archives a WHERE"
	    " a.name = ?", "t", name);

	return rc == 0 ? db_fail(err, -ENOENT, "no archive %s", name ? name :
	    "") : rc;
}

int
cat_archive_add(struct cat_db *db, const char *name, const char *drive,
    const char *queue, const char *done, const char *entity, const char *pool,
    const char *options, const char *by, char *err)
{
	char src[1100];
	int64_t n = 0;
	int rc;

	if (!cat_name_valid(name) || strlen(name) > 63)
		return db_fail(err, -EINVAL, "archive names have 1 to 63 bytes, no"
		    " spaces, '%%', '=' or '|'");
	if (!cat_name_valid(drive))
		return db_fail(err, -EINVAL, "bad drive name");
	if (!queue || queue[0] != '/' || !done || done[0] != '/' ||
	    strlen(queue) > 1023 || strlen(done) > 1023)
		return db_fail(err, -EINVAL, "queue and done are absolute paths of"
		    " at most 1023 bytes");
	snprintf(src, sizeof(src), "file:%s", queue);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_int(db, err, "reading archives", &n, "SELECT count(*) FROM"
	    " archives WHERE name = ?", "t", name);
	if (rc > 0 && n > 0)
		rc = db_fail(err, -EEXIST, "archive %s exists", name);
	if (rc > 0)
		rc = db_int(db, err, "reading archives", &n, "SELECT count(*) FROM"
		    " archives WHERE drive = ?", "t", drive);
	if (rc > 0 && n > 0)
		rc = db_fail(err, -EEXIST, "drive %s works another archive"
		    " already (one archive per drive)", drive);
	if (rc > 0) {
		struct cat_entity_new e = { .name = entity, .source = src,
		    .pool = pool, .priority = CAT_NULL };
		rc = cat_entity_create(db, &e, err);
		if (rc == 0)
			rc = cat_entity_remove(db, entity, err);	/* never planned */
	}
	if (rc >= 0)
		rc = db_exec(db, err, "adding an archive", "INSERT INTO archives"
		    " (name, drive, queue, done, entity, options, added_by) VALUES"
		    " (?, ?, ?, ?, ?, ?, ?)", "ttttttt", name, drive, queue, done,
		    entity, options ? options : "{}", by);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

int
cat_archive_remove(struct cat_db *db, const char *name, char *err)
{
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_exec(db, err, "removing an archive's entries", "DELETE FROM"
	    " archive_entries WHERE archive_id = (SELECT id FROM archives WHERE"
	    " name = ?)", "t", name)) >= 0 &&
	    (rc = db_exec(db, err, "removing an archive", "DELETE FROM archives"
	    " WHERE name = ?", "t", name)) == 0)
		rc = db_fail(err, -ENOENT, "no archive %s", name ? name : "");
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

int
cat_archive_want(struct cat_db *db, int64_t id, const char *want, char *err)
{
	int rc = db_exec(db, err, "starting or stopping an archive", "UPDATE"
	    " archives SET want = ?, fails = CASE WHEN ? = 'run' THEN 0 ELSE"
	    " fails END, retry_at = NULL WHERE id = ?", "tti", want, want, id);

	return rc == 0 ? db_fail(err, -ENOENT, "no archive %lld",
	    (long long)id) : rc < 0 ? rc : 0;
}

int
cat_archive_job(struct cat_db *db, int64_t id, int64_t job, char *err)
{
	int rc = job == CAT_NULL ? db_exec(db, err, "an archive's job", "UPDATE"
	    " archives SET job_id = NULL WHERE id = ?", "i", id) :
	    db_exec(db, err, "an archive's job", "UPDATE archives SET job_id = ?"
	    " WHERE id = ?", "ii", job, id);

	return rc < 0 ? rc : 0;
}

int
cat_archive_state(struct cat_db *db, int64_t id, const char *state,
    const char *error, int64_t fails, const char *retry_at, char *err)
{
	int rc = db_exec(db, err, "an archive's state", "UPDATE archives SET"
	    " state = ?, error = ?, fails = CASE WHEN ? < 0 THEN fails ELSE ? END,"
	    " retry_at = ? WHERE id = ?", "ttiiti", state, error, fails, fails,
	    retry_at, id);

	return rc < 0 ? rc : 0;
}

int
cat_archive_entry_put(struct cat_db *db, int64_t id,
    const struct cat_archive_entry *e, char *err)
{
	if (!e->name || !*e->name || !e->path || !e->dump_uid || !e->label ||
	    !e->tape_id || !e->parts || e->bytes < 0 || e->file < 0)
		return db_fail(err, -EINVAL, "an archived entry needs its name,"
		    " path, dump, bytes and parts");
	int rc = db_exec(db, err, "recording an archived entry", "INSERT OR"
	    " REPLACE INTO archive_entries (archive_id, name, path, dump_uid,"
	    " digest, bytes, label, tape_id, file, offset, parts, archived,"
	    " verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "ittttittiitti", id, e->name, e->path, e->dump_uid, e->digest,
	    e->bytes, e->label, e->tape_id, e->file, e->offset, e->parts,
	    e->archived, (int64_t)e->verified);

	return rc < 0 ? rc : 0;
}

#define ENTRY_COLS "a.name, x.name, x.path, x.dump_uid, x.digest, x.bytes," \
	" x.label, x.tape_id, x.file, x.offset, x.parts, x.archived," \
	" x.verified FROM archive_entries x JOIN archives a ON a.id =" \
	" x.archive_id"

static int
entry_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_archive_entry e = {
		.archive = db_text(st, 0), .name = db_text(st, 1),
		.path = db_text(st, 2), .dump_uid = db_text(st, 3),
		.digest = db_text(st, 4), .bytes = db_i64(st, 5),
		.label = db_text(st, 6), .tape_id = db_text(st, 7),
		.file = db_i64(st, 8), .offset = db_i64(st, 9),
		.parts = db_text(st, 10), .archived = db_text(st, 11),
		.verified = db_i64(st, 12) == 1,
	};

	return ((cat_archive_entry_fn *)cb->fn)(&e, cb->arg);
}

int
cat_archive_entries_find(struct cat_db *db, const char *archive,
    const char *key, cat_archive_entry_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "finding archived entries", entry_row,
	    DB_CB(fn, arg), "SELECT " ENTRY_COLS " WHERE (x.name = ? OR x.path"
	    " = ?) AND (? IS NULL OR a.name = ?) ORDER BY x.archived DESC,"
	    " a.name", "tttt", key, key, archive, archive);
}

int
cat_archive_entries(struct cat_db *db, int64_t id, cat_archive_entry_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "listing archived entries", entry_row,
	    DB_CB(fn, arg), "SELECT " ENTRY_COLS " WHERE x.archive_id = ?"
	    " ORDER BY x.name", "i", id);
}
