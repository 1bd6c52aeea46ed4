/*
 * Shadows (schema 8): restored copies of entities kept current by
 * applying each new dump of their chains (docs/SHADOWS.md). The catalog
 * keeps where each is, what dump it reflects, the refresh in progress,
 * the last failure and a promotion; abs-ctld (control/shadow.c) decides
 * when to refresh and what a place may be.
 */
#include <errno.h>
#include <string.h>

#include "catalog/db_int.h"

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ','now')"
/* The entity's newest complete dump: uid, started, level. */
#define NEWEST(col) "(SELECT d." col " FROM dumps d WHERE d.entity_id =" \
	" s.entity_id AND d.state = 'complete' ORDER BY d.started DESC," \
	" d.id DESC LIMIT 1)"
#define SHADOW_COLS "s.id, e.name, e.source, s.host, s.path, s.drive," \
	" s.every_hours, s.state, s.added, s.added_by, s.dump_uid," \
	" s.dump_started, s.refreshed," \
	" (SELECT d.level FROM dumps d WHERE d.dump_uid = s.dump_uid)," \
	" s.job_id, s.job_dump, s.error, s.error_dump, s.error_at," \
	" s.promoted_at, s.promoted_by, s.promoted_from, " \
	NEWEST("dump_uid") ", " NEWEST("started") ", " NEWEST("level") "," \
	" (SELECT count(*) FROM dumps d WHERE d.entity_id = s.entity_id AND" \
	" d.state = 'complete' AND (s.dump_started IS NULL OR d.started >" \
	" s.dump_started) AND d.dump_uid IS NOT s.dump_uid)"
#define SHADOW_FROM " FROM shadows s JOIN entities e ON e.id = s.entity_id"

static int
shadow_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_shadow s = {
		.id = db_i64(st, 0), .entity = db_text(st, 1),
		.source = db_text(st, 2), .host = db_text(st, 3),
		.path = db_text(st, 4), .drive = db_text(st, 5),
		.every_hours = db_i64(st, 6), .state = db_text(st, 7),
		.added = db_text(st, 8), .added_by = db_text(st, 9),
		.dump_uid = db_text(st, 10), .dump_started = db_text(st, 11),
		.refreshed = db_text(st, 12), .dump_level = db_i64(st, 13),
		.job_id = db_i64(st, 14), .job_dump = db_text(st, 15),
		.error = db_text(st, 16), .error_dump = db_text(st, 17),
		.error_at = db_text(st, 18), .promoted_at = db_text(st, 19),
		.promoted_by = db_text(st, 20), .promoted_from = db_text(st, 21),
		.newest_uid = db_text(st, 22), .newest_started = db_text(st, 23),
		.newest_level = db_i64(st, 24), .dumps_behind = db_i64(st, 25),
	};

	return ((cat_shadow_fn *)cb->fn)(&s, cb->arg);
}

int
cat_shadows_list(struct cat_db *db, cat_shadow_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing shadows", shadow_row, DB_CB(fn, arg),
	    "SELECT " SHADOW_COLS SHADOW_FROM " ORDER BY s.state = 'promoted',"
	    " e.name, s.id", "");
}

int
cat_shadow_get(struct cat_db *db, const char *entity, cat_shadow_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a shadow", shadow_row,
	    DB_CB(fn, arg), "SELECT " SHADOW_COLS SHADOW_FROM " WHERE e.name = ?"
	    " AND s.state = 'active'", "t", entity);

	return rc == 0 ? db_fail(err, -ENOENT, "entity %s has no shadow",
	    entity ? entity : "") : rc;
}

int
cat_shadow_add(struct cat_db *db, const char *entity, const char *host,
    const char *path, const char *drive, int64_t every_hours, const char *by,
    char *err)
{
	int64_t eid = 0, n = 0;
	int rc;

	if (!path || path[0] != '/' || strlen(path) > 1023)
		return db_fail(err, -EINVAL, "a shadow's path is absolute, at most"
		    " 1023 bytes");
	if (host && (!*host || !cat_name_valid(host)))
		return db_fail(err, -EINVAL, "a host name has no spaces, '%%', '='"
		    " or '|'");
	if (drive && !cat_name_valid(drive))
		return db_fail(err, -EINVAL, "bad drive name");
	if (every_hours < 0 || every_hours > 8760)
		return db_fail(err, -EINVAL, "--every is 0 to 8760 hours");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_int(db, err, "finding the entity", &eid, "SELECT id FROM entities"
	    " WHERE name = ?", "t", entity);
	if (rc == 0)
		rc = db_fail(err, -ENOENT, "no entity %s", entity ? entity : "");
	if (rc > 0)
		rc = db_int(db, err, "reading shadows", &n, "SELECT count(*) FROM"
		    " shadows WHERE entity_id = ? AND state = 'active'", "i", eid);
	if (rc > 0 && n > 0)
		rc = db_fail(err, -EEXIST, "entity %s has a shadow already"
		    " (shadow-remove it first)", entity);
	if (rc > 0 && (rc = db_exec(db, err, "adding a shadow", "INSERT INTO"
	    " shadows (entity_id, host, path, drive, every_hours, added_by)"
	    " VALUES (?, ?, ?, ?, ?, ?)", "itttit", eid, host, path, drive,
	    every_hours, by)) == -EEXIST)
		db_fail(err, -EEXIST, "another shadow is at %s%s%s", host ? host :
		    "", host ? ":" : "", path);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

int
cat_shadow_remove(struct cat_db *db, const char *entity, char *err)
{
	int rc = db_exec(db, err, "removing a shadow", "DELETE FROM shadows"
	    " WHERE state = 'active' AND entity_id = (SELECT id FROM entities"
	    " WHERE name = ?)", "t", entity);

	return rc == 0 ? db_fail(err, -ENOENT, "entity %s has no shadow",
	    entity ? entity : "") : rc;
}

int
cat_shadow_job(struct cat_db *db, int64_t id, int64_t job,
    const char *dump_uid, char *err)
{
	return db_exec(db, err, "recording a shadow's refresh", "UPDATE shadows"
	    " SET job_id = ?, job_dump = ? WHERE id = ?", "iti", job, dump_uid, id);
}

int
cat_shadow_refreshed(struct cat_db *db, int64_t id, const char *when,
    char *err)
{
	return db_exec(db, err, "recording a shadow's refresh", "UPDATE shadows"
	    " SET dump_uid = job_dump, dump_started = (SELECT started FROM dumps"
	    " WHERE dump_uid = job_dump), refreshed = coalesce(?, " NOW "),"
	    " job_id = NULL, job_dump = NULL, error = NULL, error_dump = NULL,"
	    " error_at = NULL WHERE id = ? AND job_dump IS NOT NULL", "ti", when,
	    id);
}

int
cat_shadow_failed(struct cat_db *db, int64_t id, const char *dump,
    const char *why, const char *when, char *err)
{
	return db_exec(db, err, "recording a shadow's failed refresh", "UPDATE"
	    " shadows SET error = ?, error_dump = coalesce(?, job_dump),"
	    " error_at = coalesce(?, " NOW "), job_id = NULL, job_dump = NULL"
	    " WHERE id = ?", "ttti", why ? why : "failed", dump, when, id);
}

int
cat_shadow_promote(struct cat_db *db, const char *entity, const char *by,
    char *err)
{
	int64_t id = 0, job = CAT_NULL;
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_int(db, err, "reading a shadow", &id, "SELECT s.id FROM shadows s"
	    " JOIN entities e ON e.id = s.entity_id WHERE e.name = ? AND"
	    " s.state = 'active'", "t", entity);
	if (rc == 0)
		rc = db_fail(err, -ENOENT, "entity %s has no shadow", entity ?
		    entity : "");
	if (rc > 0)
		rc = db_int(db, err, "reading a shadow", &job, "SELECT job_id FROM"
		    " shadows WHERE id = ?", "i", id);
	if (rc > 0 && job != CAT_NULL)
		rc = db_fail(err, -EBUSY, "a refresh of the shadow of %s runs (job"
		    " %lld): promote it when it ends", entity, (long long)job);
	if (rc > 0)
		rc = db_exec(db, err, "promoting a shadow", "UPDATE shadows SET"
		    " state = 'promoted', promoted_at = " NOW ", promoted_by = ?,"
		    " promoted_from = (SELECT source FROM entities WHERE id ="
		    " shadows.entity_id) WHERE id = ?", "ti", by, id);
	if (rc > 0)
		rc = db_exec(db, err, "promoting a shadow", "UPDATE entities SET"
		    " source = 'dir:' || (SELECT path FROM shadows WHERE id = ?)"
		    " WHERE id = (SELECT entity_id FROM shadows WHERE id = ?)", "ii",
		    id, id);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}
