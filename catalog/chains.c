/*
 * Chains and file indexes: the chain of a dump (its bases back to the
 * full), whether it can be restored, the chains of an entity, the
 * entities whose current chain is broken, and a dump's file index kept as
 * its encoded bytes in chunks (never a row per file).
 *
 * An entity's dumps are read once into memory and the chains walked there:
 * a chain is at most ten dumps (levels 0..9, each base of a lower level).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

/* A dump of the entity, its strings owned. */
struct cd {
	struct cat_chain_dump d;
	char *uid, *base, *since, *started, *finished, *state, *alg, *digest;
	char *bad;
	int base_ix;		/* index of its base in the array, -1: none */
	bool base_missing;	/* names a base the catalog lacks (or expired) */
	bool base_gone;		/* its since names an expired dump */
	bool base_wrong;	/* its base is not of a lower level */
};

struct ents {
	struct cd *v;
	size_t n, cap;
	char *entity;
	int rc;
};

static char *
dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
ents_free(struct ents *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct cd *c = &e->v[i];
		free(c->uid); free(c->base); free(c->since); free(c->started);
		free(c->finished); free(c->state); free(c->alg); free(c->digest);
		free(c->bad);
	}
	free(e->v);
	free(e->entity);
	memset(e, 0, sizeof(*e));
}

#define CD_COLS "d.id, d.dump_uid, d.base_uid, d.level, d.since, d.started," \
	" d.finished, d.state, d.bytes, d.raw_bytes, d.digest_alg, d.digest," \
	" d.index_raw, d.index_stored, d.index_bytes, (SELECT" \
	" coalesce(sum(length(data)), 0) FROM dump_index x WHERE x.dump_id =" \
	" d.id), (SELECT count(*) FROM dump_parts p WHERE p.dump_id = d.id)," \
	" (SELECT t.label FROM dump_parts p JOIN tapes t ON t.id = p.tape_id" \
	" WHERE p.dump_id = d.id AND t.state IN ('out-of-service', 'destroyed')" \
	" ORDER BY p.part LIMIT 1)"

/* Keep a row of CD_COLS. */
static int
cd_row(sqlite3_stmt *st, void *arg)
{
	struct ents *e = arg;
	struct cd *c;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct cd *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	c = &e->v[e->n++];
	memset(c, 0, sizeof(*c));
	c->uid = dup(db_text(st, 1));
	c->base = dup(db_text(st, 2));
	c->since = dup(db_text(st, 4));
	c->started = dup(db_text(st, 5));
	c->finished = dup(db_text(st, 6));
	c->state = dup(db_text(st, 7));
	c->alg = dup(db_text(st, 10));
	c->digest = dup(db_text(st, 11));
	c->bad = dup(db_text(st, 17));
	c->d = (struct cat_chain_dump){
		.id = db_i64(st, 0), .dump_uid = c->uid, .base_uid = c->base,
		.level = db_i64(st, 3), .since = c->since, .started = c->started,
		.finished = c->finished, .state = c->state,
		.bytes = db_i64(st, 8), .raw_bytes = db_i64(st, 9),
		.digest_alg = c->alg, .digest = c->digest,
		.index_raw = db_i64(st, 12), .index_stored = db_i64(st, 13),
		.index_bytes = db_i64(st, 14), .index_len = db_i64(st, 15),
		.parts = db_i64(st, 16), .bad_label = c->bad,
	};
	c->base_ix = -1;
	if (!c->uid || !c->started || !c->state)
		return -ENOMEM;
	return 0;
}

/* The index of the dump uid in e, or -1. */
static int
find_uid(const struct ents *e, const char *uid)
{
	for (size_t i = 0; uid && i < e->n; i++)
		if (strcmp(e->v[i].uid, uid) == 0)
			return (int)i;
	return -1;
}

/*
 * Each dump's base: the one it names, else (recorded before dumps named
 * their base) the dump of a lower level that started at its since, the
 * deepest such level.
 */
static void
link_bases(struct ents *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct cd *c = &e->v[i];
		if (c->d.level <= 0)
			continue;
		if (c->base && *c->base) {
			c->base_ix = find_uid(e, c->base);
			c->base_missing = c->base_ix < 0;
		} else if (c->since) {
			for (size_t j = 0; j < e->n; j++) {
				struct cd *b = &e->v[j];
				if (b->d.level < c->d.level && strcmp(b->started,
				    c->since) == 0 && (c->base_ix < 0 ||
				    b->d.level > e->v[c->base_ix].d.level))
					c->base_ix = (int)j;
			}
		}
		if (c->base_ix >= 0 && e->v[c->base_ix].d.level >= c->d.level) {
			c->base_wrong = true;
			c->base_ix = -1;
		}
		/*
		 * An expired base is gone as one never recorded is: a catalog
		 * rebuilt from tapes knows neither, and says the same of it.
		 */
		if (c->base_ix >= 0 && strcmp(e->v[c->base_ix].state,
		    "expired") == 0) {
			if (c->base && *c->base)
				c->base_missing = true;
			else
				c->base_gone = true;
			c->base_ix = -1;
		}
	}
}

/* Read the dumps of entity (name) into e, oldest first. */
static int
ents_load(struct cat_db *db, const char *entity, struct ents *e, char *err)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if (!(e->entity = strdup(entity ? entity : "")))
		return db_fail(err, -ENOMEM, "out of memory");
	rc = db_query(db, err, "reading an entity's dumps", cd_row, e,
	    "SELECT " CD_COLS " FROM dumps d JOIN entities n ON n.id ="
	    " d.entity_id WHERE n.name = ? ORDER BY d.started, d.finished,"
	    " d.job_id, d.dump_uid", "t", entity);
	if (rc < 0) {
		if (rc == -ENOMEM)
			db_fail(err, rc, "out of memory");
		ents_free(e);
		return rc;
	}
	for (size_t i = 0; i < e->n; i++)
		e->v[i].d.entity = e->entity;
	link_bases(e);
	return 0;
}

/* Why dump c alone cannot be read back ("" if it can). */
static void
own_problem(const struct cd *c, char *why, size_t len)
{
	const char *lvl = c->d.level > 0 ? "incremental" : "full";

	why[0] = '\0';
	if (strcmp(c->state, "complete") != 0)
		snprintf(why, len, "%s %s (level %lld, %s) is %s", lvl, c->uid,
		    (long long)c->d.level, c->started, c->state);
	else if (c->bad)
		snprintf(why, len, "%s %s (level %lld, %s) has a part on tape %s,"
		    " which is not in service", lvl, c->uid,
		    (long long)c->d.level, c->started, c->bad);
	else if (c->d.parts <= 0)
		snprintf(why, len, "%s %s (level %lld, %s) has no part on tape",
		    lvl, c->uid, (long long)c->d.level, c->started);
}

/*
 * The chain ending at e->v[i]: indexes into ix (full first), *n of them;
 * why "" if restorable, else the first fault from the full up. *missing
 * gets a base named but absent (only the last link can be).
 */
enum fault { FAULT_NONE, FAULT_BROKEN, FAULT_NO_BASE };

static enum fault
chain_of(const struct ents *e, int i, int ix[10], int *n, const char **missing,
    char *why, size_t len)
{
	int rev[10], k = 0;
	const struct cd *c;

	*missing = NULL;
	why[0] = '\0';
	for (int cur = i; cur >= 0 && k < 10; cur = e->v[cur].base_ix)
		rev[k++] = cur;
	*n = k;
	for (int j = 0; j < k; j++)
		ix[j] = rev[k - 1 - j];
	c = &e->v[ix[0]];
	if (c->d.level > 0) {
		/* The chain does not reach a full. */
		if (c->base_missing) {
			*missing = c->base;
			snprintf(why, len, "base %s of %s (level %lld, %s) is expired"
			    " or not in the catalog", c->base, c->uid,
			    (long long)c->d.level, c->started);
		} else if (c->base_wrong)
			snprintf(why, len, "base %s of %s (level %lld, %s) is not of"
			    " a lower level", c->base ? c->base : "?", c->uid,
			    (long long)c->d.level, c->started);
		else {
			snprintf(why, len, "incremental %s (level %lld, %s) has no"
			    " base in the catalog (none of a lower level that"
			    " started at its since, %s, is kept): restore it alone"
			    " with --level-only", c->uid, (long long)c->d.level,
			    c->started, c->since ? c->since : "unknown");
			return c->base_gone ? FAULT_BROKEN : FAULT_NO_BASE;
		}
		return FAULT_BROKEN;
	}
	for (int j = 0; j < k && !why[0]; j++)
		own_problem(&e->v[ix[j]], why, len);
	return why[0] ? FAULT_BROKEN : FAULT_NONE;
}

/* A dump's base: the one it names, or the one found by its since. */
static const char *
base_of(const struct ents *e, const struct cd *c)
{
	return c->base_ix >= 0 ? e->v[c->base_ix].uid : c->base;
}

/* Deliver the chain ix[0..n) (and a missing base first) to fn. */
static int
deliver(const struct ents *e, const int *ix, int n, const char *missing,
    const char *why, cat_chain_fn *fn, void *arg)
{
	const char *head = e->v[ix[0]].d.level == 0 ? e->v[ix[0]].uid : NULL;
	int rows = 0, rc;

	if (missing) {
		struct cat_chain_dump m = { .dump_uid = missing,
		    .entity = e->entity, .level = CAT_NULL, .bytes = CAT_NULL,
		    .raw_bytes = CAT_NULL, .index_raw = CAT_NULL,
		    .index_stored = CAT_NULL, .index_bytes = CAT_NULL,
		    .why = why };
		if (fn && (rc = fn(&m, arg)) != 0)
			return rc < 0 ? rc : 1;
		rows++;
	}
	for (int j = 0; j < n; j++) {
		struct cat_chain_dump d = e->v[ix[j]].d;
		d.base_uid = base_of(e, &e->v[ix[j]]);
		d.head_uid = head;
		d.why = why && *why ? why : NULL;
		if (fn && (rc = fn(&d, arg)) != 0)
			return rc < 0 ? rc : rows + 1;
		rows++;
	}
	return rows;
}

/* The entity of a dump into name. 1, 0 if no such dump, or negative. */
static int
entity_of(struct cat_db *db, const char *dump_uid, char *name, size_t len,
    char *err)
{
	int64_t id = 0;
	int rc = db_int(db, err, "finding a dump's entity", &id, "SELECT"
	    " entity_id FROM dumps WHERE dump_uid = ?", "t", dump_uid);
	sqlite3_stmt *st;

	if (rc <= 0)
		return rc;
	if (sqlite3_prepare_v2(db->db, "SELECT name FROM entities WHERE id = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return db_error(db, err, "finding a dump's entity");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(name, len, "%s", sqlite3_column_text(st, 0));
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_error(db, err,
		    "finding a dump's entity");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The chain of a dump, full first. */
int
cat_dump_chain(struct cat_db *db, const char *dump_uid, cat_chain_fn *fn,
    void *arg, char *why, char *err)
{
	char entity[256], w[CAT_ERRLEN];
	const char *missing;
	struct ents e;
	int ix[10], n, i, rc;

	if (why)
		why[0] = '\0';
	if ((rc = entity_of(db, dump_uid, entity, sizeof(entity), err)) <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no dump %s",
		    dump_uid ? dump_uid : "(null)");
	if ((rc = ents_load(db, entity, &e, err)) < 0)
		return rc;
	if ((i = find_uid(&e, dump_uid)) < 0) {
		ents_free(&e);
		return db_fail(err, -ENOENT, "no dump %s", dump_uid);
	}
	chain_of(&e, i, ix, &n, &missing, w, sizeof(w));
	if (why)
		snprintf(why, CAT_ERRLEN, "%s", w);
	rc = deliver(&e, ix, n, missing, w, fn, arg);
	ents_free(&e);
	return rc;
}

/* The uid of the dump cat_dump_for_restore picks. */
static int
target_row(const struct cat_dump *d, void *arg)
{
	snprintf(arg, 64, "%s", d->dump_uid);
	return 0;
}

/* What a restore of entity at date reads. */
int
cat_restore_chain(struct cat_db *db, const char *entity, const char *date,
    bool level_only, cat_chain_fn *fn, void *arg, char *err)
{
	char uid[64] = "", w[CAT_ERRLEN], own[CAT_ERRLEN];
	const char *missing;
	struct ents e;
	int ix[10], n, i, rc;

	if ((rc = cat_dump_for_restore(db, entity, date, target_row, uid,
	    err)) < 0)
		return rc;
	if ((rc = ents_load(db, entity, &e, err)) < 0)
		return rc;
	if ((i = find_uid(&e, uid)) < 0) {
		ents_free(&e);
		return db_fail(err, -ENOENT, "no dump %s", uid);
	}
	if (level_only) {
		own_problem(&e.v[i], own, sizeof(own));
		ix[0] = i;
		n = 1;
		if (own[0]) {
			ents_free(&e);
			return db_fail(err, -ENOLINK, "cannot restore %s: %s", entity,
			    own);
		}
		rc = deliver(&e, ix, n, NULL, "", fn, arg);
		ents_free(&e);
		return rc;
	}
	chain_of(&e, i, ix, &n, &missing, w, sizeof(w));
	if (w[0]) {
		rc = db_fail(err, -ENOLINK, "cannot restore %s as of %s (dump %s,"
		    " level %lld): its chain is broken: %s", entity,
		    e.v[i].started, uid, (long long)e.v[i].d.level, w);
		ents_free(&e);
		return rc;
	}
	rc = deliver(&e, ix, n, NULL, "", fn, arg);
	ents_free(&e);
	return rc;
}

/* Every complete or incomplete dump of an entity with its chain. */
int
cat_entity_chains(struct cat_db *db, const char *entity, cat_chain_fn *fn,
    void *arg, char *err)
{
	char w[CAT_ERRLEN];
	const char *missing;
	struct ents e;
	int ix[10], n, rows = 0, rc = 0;

	if ((rc = ents_load(db, entity, &e, err)) < 0)
		return rc;
	for (size_t i = 0; i < e.n && rc >= 0; i++) {
		struct cat_chain_dump d;
		if (strcmp(e.v[i].state, "complete") != 0 &&
		    strcmp(e.v[i].state, "incomplete") != 0)
			continue;
		chain_of(&e, (int)i, ix, &n, &missing, w, sizeof(w));
		d = e.v[i].d;
		d.base_uid = base_of(&e, &e.v[i]);
		d.head_uid = e.v[ix[0]].d.level == 0 ? e.v[ix[0]].uid : NULL;
		d.why = w[0] ? w : NULL;
		rows++;
		if (fn && (rc = fn(&d, arg)) != 0)
			break;
	}
	ents_free(&e);
	return rc < 0 ? rc : rows;
}

/* Collect names of entities (owned). */
struct names {
	char **v;
	size_t n, cap;
};

static int
name_row(sqlite3_stmt *st, void *arg)
{
	struct names *nm = arg;

	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 16;
		char **v = realloc(nm->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		nm->v = v;
		nm->cap = cap;
	}
	if (!(nm->v[nm->n] = dup(db_text(st, 0))))
		return -ENOMEM;
	nm->n++;
	return 0;
}

/* Active entities whose current chain is broken. */
int
cat_chains_broken(struct cat_db *db, cat_broken_chain_fn *fn, void *arg,
    char *err)
{
	struct names nm = { 0 };
	char w[CAT_ERRLEN];
	const char *missing;
	int ix[10], n, rows = 0, rc;

	rc = db_query(db, err, "listing entities with dumps", name_row, &nm,
	    "SELECT e.name FROM entities e WHERE e.active = 1 AND EXISTS"
	    " (SELECT 1 FROM dumps d WHERE d.entity_id = e.id AND d.state ="
	    " 'complete') ORDER BY e.name", "");
	if (rc == -ENOMEM)
		db_fail(err, rc, "out of memory");
	for (size_t k = 0; rc >= 0 && k < nm.n; k++) {
		struct ents e;
		int last = -1;
		if ((rc = ents_load(db, nm.v[k], &e, err)) < 0)
			break;
		/* The newest complete dump: loaded oldest first. */
		for (size_t i = 0; i < e.n; i++)
			if (strcmp(e.v[i].state, "complete") == 0)
				last = (int)i;
		/* A dump taken since a time no dump started at (direct mode's
		   --since, before bases were named) has no chain to break. */
		if (last >= 0 && chain_of(&e, last, ix, &n, &missing, w,
		    sizeof(w)) == FAULT_BROKEN) {
			struct cat_broken_chain b = { nm.v[k], e.v[last].uid, w };
			rows++;
			if (fn && (rc = fn(&b, arg)) > 0)
				rc = 0, k = nm.n;
		}
		ents_free(&e);
	}
	for (size_t k = 0; k < nm.n; k++)
		free(nm.v[k]);
	free(nm.v);
	return rc < 0 ? rc : rows;
}

/* ---- the index, in chunks ---- */

/* A dump's row id and index_bytes. */
struct dump_ix {
	int64_t id, index_bytes;
};

static int
dump_ix_row(sqlite3_stmt *st, void *arg)
{
	struct dump_ix *d = arg;

	d->id = db_i64(st, 0);
	d->index_bytes = db_i64(st, 1);
	return 1;
}

static int
dump_ix(struct cat_db *db, const char *dump_uid, struct dump_ix *d, char *err)
{
	int rc = db_query(db, err, "finding a dump", dump_ix_row, d, "SELECT id,"
	    " index_bytes FROM dumps WHERE dump_uid = ?", "t", dump_uid);

	return rc == 0 ? db_fail(err, -ENOENT, "no dump %s", dump_uid ?
	    dump_uid : "(null)") : rc < 0 ? rc : 0;
}

/* Compare the kept chunks with buf: 1 the same, 0 not. */
struct cmp {
	const uint8_t *buf;
	size_t len, at;
	bool same;
};

static int
cmp_row(sqlite3_stmt *st, void *arg)
{
	struct cmp *c = arg;
	const void *p = sqlite3_column_blob(st, 0);
	size_t n = (size_t)sqlite3_column_bytes(st, 0);

	if (c->at + n > c->len || (n && memcmp(c->buf + c->at, p, n) != 0)) {
		c->same = false;
		return 1;
	}
	c->at += n;
	return 0;
}

/* Insert one chunk. */
static int
put_chunk(struct cat_db *db, int64_t id, int64_t seq, const uint8_t *p,
    size_t n, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->db, "INSERT INTO dump_index (dump_id, seq,"
	    " data) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return db_error(db, err, "keeping a dump's index");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_blob(st, 3, p, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, err,
	    "keeping a dump's index");
	sqlite3_finalize(st);
	return rc;
}

/* Keep a dump's encoded index in chunks. */
int
cat_index_store(struct cat_db *db, const char *dump_uid, const uint8_t *buf,
    size_t len, char *err)
{
	struct dump_ix d = { 0, CAT_NULL };
	struct cmp c = { buf, len, 0, true };
	int64_t have = 0;
	int rc;

	if (len == 0 || (uint64_t)len > (uint64_t)CAT_INDEX_MAX)
		return db_fail(err, -EINVAL, "an index of %zu bytes (1 to %lld)",
		    len, (long long)CAT_INDEX_MAX);
	if ((rc = dump_ix(db, dump_uid, &d, err)) < 0)
		return rc;
	if (d.index_bytes != CAT_NULL && d.index_bytes > 0 &&
	    (uint64_t)d.index_bytes != (uint64_t)len)
		return db_fail(err, -EINVAL, "dump %s: an index of %zu bytes, but"
		    " its dump line says %lld", dump_uid, len,
		    (long long)d.index_bytes);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_int(db, err, "reading a dump's index", &have, "SELECT"
	    " coalesce(sum(length(data)), 0) FROM dump_index WHERE dump_id = ?",
	    "i", d.id)) < 0)
		goto fail;
	if (have > 0) {
		if ((uint64_t)have == (uint64_t)len && (rc = db_query(db, err,
		    "reading a dump's index", cmp_row, &c, "SELECT data FROM"
		    " dump_index WHERE dump_id = ? ORDER BY seq", "i", d.id)) < 0)
			goto fail;
		db_rollback(db);
		if ((uint64_t)have == (uint64_t)len && c.same && c.at == len)
			return 0;
		return db_fail(err, -EEXIST, "dump %s has another index kept"
		    " (%lld bytes)", dump_uid, (long long)have);
	}
	for (size_t off = 0, seq = 0; off < len; off += CAT_INDEX_CHUNK, seq++)
		if ((rc = put_chunk(db, d.id, (int64_t)seq, buf + off,
		    len - off < CAT_INDEX_CHUNK ? len - off : CAT_INDEX_CHUNK,
		    err)) < 0)
			goto fail;
	if ((rc = db_commit(db, err)) < 0)
		return rc;
	return 1;
fail:
	db_rollback(db);
	return rc;
}

/* Append chunks to a growing buffer. */
struct load {
	uint8_t *buf;
	size_t len, cap;
	int64_t next;
	bool gap;
};

static int
load_row(sqlite3_stmt *st, void *arg)
{
	struct load *l = arg;
	const void *p = sqlite3_column_blob(st, 1);
	size_t n = (size_t)sqlite3_column_bytes(st, 1);

	if (sqlite3_column_int64(st, 0) != l->next++) {
		l->gap = true;
		return -EIO;
	}
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : CAT_INDEX_CHUNK;
		while (cap < l->len + n)
			cap *= 2;
		uint8_t *b = realloc(l->buf, cap);
		if (!b)
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	if (n)
		memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

/* A dump's index bytes. */
int
cat_index_load(struct cat_db *db, const char *dump_uid, uint8_t **buf,
    size_t *len, char *err)
{
	struct dump_ix d = { 0, CAT_NULL };
	struct load l = { 0 };
	int rc;

	*buf = NULL;
	*len = 0;
	if ((rc = dump_ix(db, dump_uid, &d, err)) < 0)
		return rc;
	rc = db_query(db, err, "reading a dump's index", load_row, &l, "SELECT"
	    " seq, data FROM dump_index WHERE dump_id = ? ORDER BY seq", "i",
	    d.id);
	if (l.gap)
		rc = db_fail(err, -EIO, "dump %s: its index's chunks do not follow"
		    " each other (chunk %lld missing)", dump_uid,
		    (long long)l.next - 1);
	else if (rc == -ENOMEM)
		rc = db_fail(err, rc, "out of memory");
	else if (rc == 0)
		rc = db_fail(err, -ENOENT, "the catalog keeps no index of dump %s",
		    dump_uid);
	if (rc < 0) {
		free(l.buf);
		return rc;
	}
	*buf = l.buf;
	*len = l.len;
	return 0;
}

/* Bytes of the index kept for a dump. */
int
cat_index_len(struct cat_db *db, const char *dump_uid, int64_t *len,
    char *err)
{
	struct dump_ix d = { 0, CAT_NULL };
	int rc;

	*len = 0;
	if ((rc = dump_ix(db, dump_uid, &d, err)) < 0)
		return rc;
	rc = db_int(db, err, "reading a dump's index", len, "SELECT"
	    " coalesce(sum(length(data)), 0) FROM dump_index WHERE dump_id = ?",
	    "i", d.id);
	return rc < 0 ? rc : 0;
}

/* One chunk of a kept index. */
struct chunk {
	uint8_t *buf;
	size_t len;
	bool found;
};

static int
chunk_row(sqlite3_stmt *st, void *arg)
{
	struct chunk *c = arg;
	const void *p = sqlite3_column_blob(st, 0);

	c->len = (size_t)sqlite3_column_bytes(st, 0);
	c->found = true;
	if (!(c->buf = malloc(c->len ? c->len : 1)))
		return -ENOMEM;
	if (c->len)
		memcpy(c->buf, p, c->len);
	return 1;
}

int
cat_index_chunk(struct cat_db *db, const char *dump_uid, int64_t seq,
    uint8_t **buf, size_t *len, int64_t *total, char *err)
{
	struct chunk c = { 0 };
	int rc;

	*buf = NULL;
	*len = 0;
	if ((rc = cat_index_len(db, dump_uid, total, err)) < 0)
		return rc;
	rc = db_query(db, err, "reading a dump's index", chunk_row, &c, "SELECT"
	    " data FROM dump_index WHERE dump_id = (SELECT id FROM dumps WHERE"
	    " dump_uid = ?) AND seq = ?", "ti", dump_uid, seq);
	if (rc < 0) {
		free(c.buf);
		return rc == -ENOMEM ? db_fail(err, rc, "out of memory") : rc;
	}
	if (!c.found)
		return db_fail(err, -ENOENT, "the catalog keeps no chunk %lld of"
		    " dump %s's index", (long long)seq, dump_uid);
	*buf = c.buf;
	*len = c.len;
	return 0;
}
