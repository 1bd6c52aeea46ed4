/* The ACL: which uid holds which role. */
#include <errno.h>
#include <string.h>

#include "catalog/db_int.h"

/* An ACL row to the callback. */
static int
acl_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_acl a = { .uid = db_i64(st, 0), .role = db_text(st, 1) };

	return ((cat_acl_fn *)cb->fn)(&a, cb->arg);
}

/* Every grant, by uid and role. */
int
cat_acl_list(struct cat_db *db, cat_acl_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing the ACL", acl_row, DB_CB(fn, arg),
	    "SELECT uid, role FROM acl ORDER BY uid, role", "");
}

/* The grants of one uid. */
int
cat_acl_roles(struct cat_db *db, int64_t uid, cat_acl_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "reading a uid's roles", acl_row,
	    DB_CB(fn, arg), "SELECT uid, role FROM acl WHERE uid = ? ORDER BY"
	    " role", "i", uid);
}

/* Grant a role (idempotent). */
int
cat_acl_set(struct cat_db *db, int64_t uid, const char *role, char *err)
{
	static const char *const roles[] = { "operator", "retrieval",
	    "exception", "admin", "engine" };
	size_t i, n = sizeof(roles) / sizeof(roles[0]);
	int rc;

	for (i = 0; i < n; i++)
		if (role && strcmp(role, roles[i]) == 0)
			break;
	if (i == n)
		return db_fail(err, -EINVAL, "role is operator, retrieval, exception,"
		    " admin or engine");
	if (uid < 0 || uid > 0xfffffffeLL)
		return db_fail(err, -EINVAL, "uid out of range");
	rc = db_exec(db, err, "granting a role", "INSERT OR IGNORE INTO acl (uid,"
	    " role) VALUES (?, ?)", "it", uid, role);
	return rc < 0 ? rc : 0;
}

/* Take a role back. */
int
cat_acl_remove(struct cat_db *db, int64_t uid, const char *role, char *err)
{
	int rc = db_exec(db, err, "taking a role back", "DELETE FROM acl WHERE"
	    " uid = ? AND role = ?", "it", uid, role);

	if (rc == 0)
		return db_fail(err, -ENOENT, "uid %lld has no role %s",
		    (long long)uid, role ? role : "(none)");
	return rc < 0 ? rc : 0;
}
