/*
 * The ACL: which uid, Kerberos principal or certificate subject holds
 * which role; and the authorized media servers over the network.
 */
#include <errno.h>
#include <string.h>

#include "catalog/db_int.h"

/* An ACL row to the callback. */
static int
acl_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_acl a = { .uid = db_i64(st, 0), .role = db_text(st, 1),
	    .identity = db_text(st, 2) };

	return ((cat_acl_fn *)cb->fn)(&a, cb->arg);
}

/* Every grant, by uid and role. */
int
cat_acl_list(struct cat_db *db, cat_acl_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing the ACL", acl_row, DB_CB(fn, arg),
	    "SELECT uid, role, NULL FROM acl UNION ALL SELECT NULL, role, "
	    "identity FROM acl_identity ORDER BY 3, 1, 2", "");
}

/* The grants of one uid. */
int
cat_acl_roles(struct cat_db *db, int64_t uid, cat_acl_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "reading a uid's roles", acl_row,
	    DB_CB(fn, arg), "SELECT uid, role, NULL FROM acl WHERE uid = ? "
	    "ORDER BY role", "i", uid);
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

int
cat_identity_check(const char *id, char *err)
{
	const char *p;

	if (!id || (strncmp(id, "krb:", 4) != 0 && strncmp(id, "cert:", 5) != 0))
		return db_fail(err, -EINVAL, "an identity is krb:PRINCIPAL or "
		    "cert:SUBJECT (e.g. 'cert:CN=alice,O=Example')");
	p = strchr(id, ':') + 1;
	if (!*p || strlen(id) > 255)
		return db_fail(err, -EINVAL, "identity %.40s: empty or longer than "
		    "255 bytes", id);
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return db_fail(err, -EINVAL, "identity: printable ASCII only "
			    "(a certificate subject as openssl x509 -noout -subject "
			    "-nameopt RFC2253 prints it)");
	return 0;
}

/* The grants of one identity. */
int
cat_acl_ident_roles(struct cat_db *db, const char *identity, cat_acl_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "reading an identity's roles", acl_row,
	    DB_CB(fn, arg), "SELECT NULL, role, identity FROM acl_identity "
	    "WHERE identity = ? ORDER BY role", "t", identity);
}

int
cat_acl_ident_set(struct cat_db *db, const char *identity, const char *role,
    char *err)
{
	static const char *const roles[] = { "operator", "retrieval",
	    "exception", "admin" };
	size_t i, n = sizeof(roles) / sizeof(roles[0]);
	int rc;

	if ((rc = cat_identity_check(identity, err)) < 0)
		return rc;
	if (role && strcmp(role, "engine") == 0)
		return db_fail(err, -EINVAL, "a media server over the network is "
		    "authorized on its own table: server-allow DRIVE %.200s",
		    identity);
	for (i = 0; i < n; i++)
		if (role && strcmp(role, roles[i]) == 0)
			break;
	if (i == n)
		return db_fail(err, -EINVAL, "role is operator, retrieval, exception"
		    " or admin");
	rc = db_exec(db, err, "granting a role", "INSERT OR IGNORE INTO "
	    "acl_identity (identity, role) VALUES (?, ?)", "tt", identity, role);
	return rc < 0 ? rc : 0;
}

int
cat_acl_ident_remove(struct cat_db *db, const char *identity,
    const char *role, char *err)
{
	int rc = db_exec(db, err, "taking a role back", "DELETE FROM "
	    "acl_identity WHERE identity = ? AND role = ?", "tt", identity, role);

	if (rc == 0)
		return db_fail(err, -ENOENT, "%.200s has no role %s", identity,
		    role ? role : "(none)");
	return rc < 0 ? rc : 0;
}

/* A media server row to the callback. */
static int
mserver_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_mserver m = { .name = db_text(st, 0),
	    .identity = db_text(st, 1), .added = db_text(st, 2),
	    .added_by = db_text(st, 3) };

	return ((cat_mserver_fn *)cb->fn)(&m, cb->arg);
}

int
cat_mserver_allow(struct cat_db *db, const char *name, const char *identity,
    const char *by, char *err)
{
	int rc;

	if (!name || !*name || strlen(name) > 63)
		return db_fail(err, -EINVAL, "a drive name (or pattern) of 1 to 63 "
		    "bytes");
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e)
			return db_fail(err, -EINVAL, "drive name: printable ASCII, no "
			    "blanks");
	if ((rc = cat_identity_check(identity, err)) < 0)
		return rc;
	rc = db_exec(db, err, "authorizing a media server", "INSERT OR REPLACE "
	    "INTO media_servers (name, identity, added_by) VALUES (?, ?, ?)",
	    "ttt", name, identity, by);
	return rc < 0 ? rc : 0;
}

int
cat_mserver_deny(struct cat_db *db, const char *name, char *err)
{
	int rc = db_exec(db, err, "removing a media server", "DELETE FROM "
	    "media_servers WHERE name = ?", "t", name);

	if (rc == 0)
		return db_fail(err, -ENOENT, "no authorized media server %.100s",
		    name ? name : "");
	return rc < 0 ? rc : 0;
}

int
cat_mserver_list(struct cat_db *db, const char *identity, cat_mserver_fn *fn,
    void *arg, char *err)
{
	if (identity)
		return db_query(db, err, "reading the media servers", mserver_row,
		    DB_CB(fn, arg), "SELECT name, identity, added, added_by FROM "
		    "media_servers WHERE identity = ? ORDER BY name", "t", identity);
	return db_query(db, err, "reading the media servers", mserver_row,
	    DB_CB(fn, arg), "SELECT name, identity, added, added_by FROM "
	    "media_servers ORDER BY name", "");
}
