/*
 * Discovery: commands that list a server's entities, and what a run's
 * listing does to the catalog (new entities added, missing ones flagged
 * vanished, never removed). Running the command is abs-ctld's
 * (control/discover.c); this file parses its lines and applies them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

#define DEFAULT_TEMPLATE "dir:{name}"

/* A row of discovery to the callback. */
static int
discovery_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_discovery d = {
		.id = db_i64(st, 0), .server = db_text(st, 1),
		.type = db_text(st, 2), .pool = db_text(st, 3),
		.cmd = db_text(st, 4), .source_template = db_text(st, 5),
		.last_run = db_text(st, 6), .last_ok = db_text(st, 7),
		.last_error = db_text(st, 8), .entities = db_i64(st, 9),
		.vanished = db_i64(st, 10), .timeout_s = db_i64(st, 11),
	};

	return ((cat_discovery_fn *)cb->fn)(&d, cb->arg);
}

/* Discovery commands of a server (NULL: all). */
int
cat_discoveries_list(struct cat_db *db, const char *server,
    cat_discovery_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing discovery commands", discovery_row,
	    DB_CB(fn, arg), "SELECT d.id, s.name, t.name, p.name, d.cmd,"
	    " d.source_template, d.last_run, d.last_ok, d.last_error,"
	    " (SELECT count(*) FROM entities e WHERE e.discovered_by = d.id AND"
	    "  e.active = 1 AND e.vanished IS NULL),"
	    " (SELECT count(*) FROM entities e WHERE e.discovered_by = d.id AND"
	    "  e.active = 1 AND e.vanished IS NOT NULL), d.timeout_s"
	    " FROM discovery d JOIN servers s ON s.id = d.server_id"
	    " JOIN entity_types t ON t.id = d.type_id JOIN pools p ON p.id ="
	    " d.pool_id WHERE ? IS NULL OR s.name = ? ORDER BY s.name, d.id",
	    "tt", server, server);
}

/* Whether s has a path component "." or ".." (a listed name must not
   climb out of the template's directory). */
static bool
dot_component(const char *s)
{
	for (const char *p = s; p && *p; p = strchr(p, '/') ? strchr(p, '/') +
	    1 : NULL) {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
		    p[1] == '.'))
			return true;
	}
	return false;
}

/* Substitute {name} {server} {partition} in a template into out. */
int
cat_discovery_source(const char *tmpl, const char *name, const char *server,
    const char *partition, char *out, size_t len, char *err)
{
	static const char *const keys[] = { "{name}", "{server}",
	    "{partition}" };
	const char *vals[] = { name, server ? server : "",
	    partition ? partition : "" };
	size_t o = 0;

	if (!tmpl || !*tmpl)
		tmpl = DEFAULT_TEMPLATE;
	for (size_t k = 0; k < 3; k++)
		if (dot_component(vals[k]))
			return db_fail(err, -EINVAL, "\"%.60s\" has a . or .. path"
			    " component", vals[k]);
	for (const char *p = tmpl; *p;) {
		size_t k, n = 1;
		const char *v = NULL;

		for (k = 0; k < 3; k++)
			if (strncmp(p, keys[k], strlen(keys[k])) == 0) {
				v = vals[k];
				n = strlen(keys[k]);
				break;
			}
		if (!v && *p == '{')
			return db_fail(err, -EINVAL, "a source template knows {name}"
			    " {server} {partition} only: %.60s", tmpl);
		if (!v)
			v = p;
		if (o + (v == p ? 1 : strlen(v)) + 1 > len || o >= 4000)
			return db_fail(err, -EINVAL, "the source is too long");
		memcpy(out + o, v, v == p ? 1 : strlen(v));
		o += v == p ? 1 : strlen(v);
		p += n;
	}
	out[o] = '\0';
	for (size_t i = 0; i < o; i++)
		if ((unsigned char)out[i] < ' ')
			return db_fail(err, -EINVAL, "a source has no control bytes");
	if (strncmp(out, "dir:", 4) && strncmp(out, "cmd:", 4) &&
	    strncmp(out, "file:", 5))
		return db_fail(err, -EINVAL, "a source template makes dir:PATH,"
		    " cmd:ARGV or file:PATH, not \"%.60s\"", out);
	return 0;
}

/* Add a discovery command; its server is made if new. */
int
cat_discovery_add(struct cat_db *db, const char *server, const char *type,
    const char *pool, const char *cmd, const char *tmpl, int64_t timeout_s,
    int64_t *id, char *err)
{
	char canon[CAT_CMD_MAX + 2], src[4096], e[CAT_ERRLEN];
	int64_t x;
	int rc;

	type = type ? type : "default";
	pool = pool ? pool : "default";
	if (!cat_name_valid(server))
		return db_fail(err, -EINVAL, "server names have no spaces, '%%', '='"
		    " or '|'");
	if (timeout_s < 0 || timeout_s > CAT_DISCOVERY_MAX_S)
		return db_fail(err, -EINVAL, "--timeout is 1..%d seconds",
		    CAT_DISCOVERY_MAX_S);
	if ((rc = cat_cmd_check(cmd, false, canon, sizeof(canon), e)) < 0)
		return db_fail(err, rc, "--cmd: %s", e);
	if (tmpl && !*tmpl)
		tmpl = NULL;
	if ((rc = cat_discovery_source(tmpl, "probe", server, "p", src,
	    sizeof(src), e)) < 0)
		return db_fail(err, rc, "--source-template: %s", e);
	if ((rc = db_int(db, err, "looking a type up", &x, "SELECT id FROM"
	    " entity_types WHERE name = ?", "t", type)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no entity type %s", type);
	if ((rc = db_int(db, err, "looking a pool up", &x, "SELECT id FROM pools"
	    " WHERE name = ?", "t", pool)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no pool %s", pool);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_exec(db, err, "adding a server", "INSERT OR IGNORE INTO servers"
	    " (name) VALUES (?)", "t", server);
	if (rc >= 0)
		rc = db_exec(db, err, "adding a discovery command", "INSERT INTO"
		    " discovery (server_id, type_id, pool_id, cmd, source_template,"
		    " timeout_s) VALUES ((SELECT id FROM servers WHERE name = ?),"
		    " (SELECT id FROM entity_types WHERE name = ?), (SELECT id FROM"
		    " pools WHERE name = ?), ?, ?, ?)", "ttttti", server, type, pool,
		    canon, tmpl, timeout_s ? timeout_s : (int64_t)30);
	if (rc == -EEXIST)
		rc = db_fail(err, rc, "server %s has this discovery command already",
		    server);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(db->db);
	return db_commit(db, err);
}

/* Remove a discovery command; its entities stay. */
int
cat_discovery_remove(struct cat_db *db, int64_t id, char *err)
{
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_exec(db, err, "removing a discovery command", "UPDATE entities"
	    " SET discovered_by = NULL WHERE discovered_by = ?", "i", id);
	if (rc >= 0)
		rc = db_exec(db, err, "removing a discovery command", "DELETE FROM"
		    " discovery WHERE id = ?", "i", id);
	if (rc == 0)
		rc = db_fail(err, -ENOENT, "no discovery command %lld",
		    (long long)id);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

/* A size with an optional K M G T (1024s): 0 and *out, or -EINVAL. */
static int
parse_size(const char *s, int64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'K': case 'k': mul = 1ULL << 10; p++; break;
	case 'M': case 'm': mul = 1ULL << 20; p++; break;
	case 'G': case 'g': mul = 1ULL << 30; p++; break;
	case 'T': case 't': mul = 1ULL << 40; p++; break;
	default: break;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p || (v && v > (uint64_t)INT64_MAX / mul))
		return -EINVAL;
	*out = (int64_t)(v * mul);
	return 0;
}

/* Parse a listing line "NAME [PARTITION [SIZE]]". */
int
cat_listed_parse(const char *line, struct cat_listed *out, char *err)
{
	const char *f[4];
	size_t n[4], k = 0;

	memset(out, 0, sizeof(*out));
	out->bytes = CAT_NULL;
	for (const char *p = line; *p;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		if (k == 3)
			return db_fail(err, -EINVAL, "more than NAME PARTITION SIZE");
		f[k] = p;
		n[k] = strcspn(p, " \t");
		p += n[k++];
	}
	if (k == 0)
		return db_fail(err, -EINVAL, "an empty line");
	for (size_t i = 0; i < k && i < 2; i++) {
		char *dst = i ? out->partition : out->name;
		if (n[i] > 255)
			return db_fail(err, -EINVAL, "a name longer than 255 bytes");
		memcpy(dst, f[i], n[i]);
		dst[n[i]] = '\0';
		if (!cat_name_valid(dst))
			return db_fail(err, -EINVAL, "\"%.60s\" is not a name (no"
			    " control bytes, '%%', '=' or '|')", dst);
	}
	if (k == 3) {
		char sz[32];
		if (n[2] >= sizeof(sz))
			return db_fail(err, -EINVAL, "a size too long");
		memcpy(sz, f[2], n[2]);
		sz[n[2]] = '\0';
		if (parse_size(sz, &out->bytes) < 0)
			return db_fail(err, -EINVAL, "bad size \"%s\" (bytes, or with"
			    " K, M, G, T)", sz);
	}
	return 0;
}

/* Tell the caller of one change; its result stops the apply if negative. */
static int
tell(cat_discovered_fn *fn, void *arg, const char *entity, const char *what,
    const char *since, const char *partition)
{
	struct cat_discovered d = { entity, what, since, partition };

	return fn ? fn(&d, arg) : 0;
}

/* What the discovery is, for the entities it adds. */
struct disc {
	int64_t id, server_id, type_id, pool_id;
	char server[256], tmpl[4096];
};

/* A row of a discovery's own fields. */
static int
disc_row(sqlite3_stmt *st, void *arg)
{
	struct disc *d = arg;
	const char *t = db_text(st, 4);

	d->server_id = db_i64(st, 0);
	d->type_id = db_i64(st, 1);
	d->pool_id = db_i64(st, 2);
	snprintf(d->server, sizeof(d->server), "%s", db_text(st, 3));
	snprintf(d->tmpl, sizeof(d->tmpl), "%s", t ? t : DEFAULT_TEMPLATE);
	return 1;
}

/* An entity as apply sees it. */
struct seen {
	int64_t id, active, discovered_by, disc_live;
	char vanished[32];
	int found;
};

/* A row of an entity for apply. */
static int
seen_row(sqlite3_stmt *st, void *arg)
{
	struct seen *s = arg;
	const char *v = db_text(st, 3);

	s->id = db_i64(st, 0);
	s->active = db_i64(st, 1);
	s->discovered_by = db_i64(st, 2);
	snprintf(s->vanished, sizeof(s->vanished), "%s", v ? v : "");
	s->disc_live = db_i64(st, 4);
	s->found = 1;
	return 1;
}

/* One listed entity: added, brought back, or left. Changes (0/1). */
static int
apply_one(struct cat_db *db, const struct disc *d, const struct cat_listed *l,
    cat_discovered_fn *fn, void *arg, char *err)
{
	const char *part = l->partition[0] ? l->partition : NULL;
	struct seen s = { 0 };
	char src[4096];
	int rc;

	rc = db_query(db, err, "reading an entity", seen_row, &s, "SELECT e.id,"
	    " e.active, e.discovered_by, e.vanished, e.discovered_by IS NOT NULL"
	    " AND e.discovered_by != ? AND e.vanished IS NULL FROM entities e"
	    " WHERE e.name = ?", "it", d->id, l->name);
	if (rc < 0)
		return rc;
	if (!s.found) {
		if ((rc = cat_discovery_source(d->tmpl, l->name, d->server, part,
		    src, sizeof(src), err)) < 0)
			return rc;
		rc = db_exec(db, err, "adding a discovered entity", "INSERT INTO"
		    " entities (name, type_id, source, pool_id, server_id,"
		    " partition, discovered_by, listed_bytes) VALUES (?, ?, ?, ?, ?,"
		    " ?, ?, nullif(?, -1))", "titiitii", l->name, d->type_id, src,
		    d->pool_id, d->server_id, part, d->id, l->bytes == CAT_NULL ?
		    (int64_t)-1 : l->bytes);
		if (rc < 0)
			return rc;
		return (rc = tell(fn, arg, l->name, "new", NULL, part)) < 0 ? rc : 1;
	}
	if (s.discovered_by != d->id && !s.vanished[0])
		return 0;	/* an admin's, or another live discovery's */
	if (!s.active && !s.vanished[0]) {
		rc = tell(fn, arg, l->name, "removed", NULL, part);
		return rc < 0 ? rc : 0;
	}
	rc = db_exec(db, err, "updating a discovered entity", "UPDATE entities"
	    " SET server_id = ?, partition = ?, discovered_by = ?, vanished ="
	    " NULL, active = 1, listed_bytes = coalesce(nullif(?, -1),"
	    " listed_bytes) WHERE id = ?", "itiii", d->server_id, part, d->id,
	    l->bytes == CAT_NULL ? (int64_t)-1 : l->bytes, s.id);
	if (rc < 0)
		return rc;
	if (!s.vanished[0])
		return 0;
	rc = tell(fn, arg, l->name, s.discovered_by == d->id ? "back" : "moved",
	    NULL, part);
	return rc < 0 ? rc : 1;
}

/* Entities of discovery id not in the listing (apply's temp table). */
static int
vanish_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	const char *since = db_text(st, 1);

	return tell((cat_discovered_fn *)cb->fn, cb->arg, db_text(st, 0),
	    db_i64(st, 2) ? "vanished" : "gone", since, db_text(st, 3));
}

/* Flag what this discovery added and no longer lists; report them all. */
static int
apply_vanished(struct cat_db *db, int64_t id, cat_discovered_fn *fn,
    void *arg, char *err)
{
	int rc, changed;

	rc = db_exec(db, err, "flagging vanished entities", "CREATE TEMP TABLE"
	    " IF NOT EXISTS newly (name TEXT PRIMARY KEY)", "");
	if (rc >= 0)
		rc = db_exec(db, err, "flagging vanished entities", "DELETE FROM"
		    " temp.newly", "");
	if (rc >= 0)
		rc = db_exec(db, err, "flagging vanished entities", "INSERT INTO"
		    " temp.newly SELECT name FROM entities WHERE discovered_by = ? AND"
		    " active = 1 AND vanished IS NULL AND name NOT IN (SELECT name"
		    " FROM temp.listed)", "i", id);
	if ((changed = rc) < 0)
		return rc;
	rc = db_exec(db, err, "flagging vanished entities", "UPDATE entities SET"
	    " vanished = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE name IN"
	    " (SELECT name FROM temp.newly)", "");
	if (rc >= 0)
		rc = db_query(db, err, "reporting vanished entities", vanish_row,
		    DB_CB(fn, arg), "SELECT name, vanished, name IN (SELECT name FROM"
		    " temp.newly), partition FROM entities WHERE discovered_by = ? AND"
		    " active = 1 AND vanished IS NOT NULL ORDER BY name", "i", id);
	return rc < 0 ? rc : changed;
}

/* Apply a successful listing of discovery id, in one transaction. */
int
cat_discovery_apply(struct cat_db *db, int64_t id,
    const struct cat_listed *list, size_t n, cat_discovered_fn *fn,
    void *arg, char *err)
{
	struct disc d = { .id = id };
	int rc, changes = 0;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	rc = db_query(db, err, "reading a discovery command", disc_row, &d,
	    "SELECT d.server_id, d.type_id, d.pool_id, s.name,"
	    " d.source_template FROM discovery d JOIN servers s ON s.id ="
	    " d.server_id WHERE d.id = ?", "i", id);
	if (rc == 0)
		rc = db_fail(err, -ENOENT, "no discovery command %lld",
		    (long long)id);
	if (rc >= 0)
		rc = db_exec(db, err, "applying a listing", "CREATE TEMP TABLE IF"
		    " NOT EXISTS listed (name TEXT PRIMARY KEY)", "");
	if (rc >= 0)
		rc = db_exec(db, err, "applying a listing", "DELETE FROM"
		    " temp.listed", "");
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		rc = db_exec(db, err, "applying a listing", "INSERT INTO temp.listed"
		    " (name) VALUES (?)", "t", list[i].name);
		if (rc == -EEXIST) {
			rc = db_fail(err, -EINVAL, "%s is listed twice", list[i].name);
			break;
		}
		if (rc >= 0 && (rc = apply_one(db, &d, &list[i], fn, arg, err)) > 0)
			changes += rc;
	}
	if (rc >= 0 && (rc = apply_vanished(db, id, fn, arg, err)) > 0)
		changes += rc;
	if (rc >= 0)
		rc = db_exec(db, err, "recording a discovery run", "UPDATE discovery"
		    " SET last_run = strftime('%Y-%m-%dT%H:%M:%SZ','now'), last_ok ="
		    " strftime('%Y-%m-%dT%H:%M:%SZ','now'), last_error = NULL WHERE"
		    " id = ?", "i", id);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	rc = db_commit(db, err);
	return rc < 0 ? rc : changes;
}

/* A run that failed: only last_run and last_error change. */
int
cat_discovery_failed(struct cat_db *db, int64_t id, const char *why,
    char *err)
{
	int rc = db_exec(db, err, "recording a discovery run", "UPDATE discovery"
	    " SET last_run = strftime('%Y-%m-%dT%H:%M:%SZ','now'), last_error = ?"
	    " WHERE id = ?", "ti", why ? why : "failed", id);

	if (rc == 0)
		return db_fail(err, -ENOENT, "no discovery command %lld",
		    (long long)id);
	return rc < 0 ? rc : 0;
}
