/*
 * abs-ctld's request handlers: h_<id> for each row of proto/requests.def.
 * Each decodes its arguments, asks the catalog (catalog/catalog.h) and
 * encodes the answer; the catalog is the truth for tapes, entities and
 * dumps, the drives' live state (current job, progress, the cartridge
 * asked for) is in memory. Engine events are in events.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/fileindex.h"
#include "common/base64.h"
#include "common/log.h"
#include "control/crippled_int.h"
#include "control/handlers_int.h"

/* A queued job for status. */
static int
queued_row(const struct cat_job *j, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o}", "id",
	    (json_int_t)j->id, "kind", j_str(j->kind), "entity",
	    j_str(j->entity), "drive", j_str(j->drive)));
}

/* A drive's live state for status. */
static json_t *
drive_json(struct drive *d)
{
	double secs = d->job ? (double)time(NULL) - d->started : 0;
	/* ETA from the entity's last dump, at the current rate. */
	json_t *eta = d->job && d->rate > 0 && d->estimate > d->bytes ?
	    json_real((double)(d->estimate - d->bytes) / 1e6 / d->rate) :
	    json_null();

	return json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:f,s:f,s:o,s:s,s:O,s:s,s:I}",
	    "drive", d->name, "device", d->device, "state", d->state,
	    "job", (json_int_t)d->job, "entity", d->job ? d->entity : "",
	    "bytes", (json_int_t)d->bytes, "rate_mbs", d->rate,
	    "seconds", secs, "eta_seconds", eta, "wants", d->want_label,
	    "messages", d->msgs, "host", d->host, "uncommitted",
	    (json_int_t)d->nwritten);
}

static json_t *
h_status(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *drives = json_array(), *queued = json_array();
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl; (void)a;

	for (struct drive *d = c->drives; d; d = d->next)
		json_array_append_new(drives, drive_json(d));
	if ((rc = cat_jobs_queued(c->db, queued_row, queued, dberr)) < 0) {
		json_decref(drives);
		json_decref(queued);
		return cat_failed(code, err, rc, dberr);
	}
	return json_pack("{s:o,s:o}", "drives", drives, "queued", queued);
}

/* A job for jobs. */
static int
job_row(const struct cat_job *j, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o}", "id", (json_int_t)j->id, "kind", j_str(j->kind), "state",
	    j_str(j->state), "entity", j_str(j->entity), "drive",
	    j_str(j->drive), "created", j_str(j->created), "started",
	    j_str(j->started), "finished", j_str(j->finished), "detail",
	    j_str(j->detail), "origin", j_str(j->origin)));
}

static json_t *
h_jobs(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array(), *j;
	char dberr[CAT_ERRLEN];
	size_t i;
	(void)cl;

	r = j_list(r, cat_jobs_list(c->db, arg_num(a, "count", 20), job_row,
	    r, dberr), dberr, code, err);
	/* Running in the catalog, written and waiting for a commit point. */
	json_array_foreach(r, i, j)
		if (ctld_job_uncommitted(c, json_integer_value(json_object_get(j,
		    "id"))))
			json_object_set_new(j, "state", json_string("uncommitted"));
	return r;
}

/* 1 if the entity exists and is active, 0 if not, or negative. */
static int
entity_active(const struct cat_entity *e, void *arg)
{
	*(int64_t *)arg = e->active;
	return 0;
}

static json_t *
h_dump(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = ctld_drive(c, arg_str(a, "drive"), false);
	json_t *ents = json_object_get(a, "entities"), *e, *ids;
	size_t i, n = json_array_size(ents);
	int64_t level = arg_num(a, "level", 0), active, *jobs;
	const char **names;
	char dberr[CAT_ERRLEN], detail[32];
	int rc;

	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    arg_str(a, "drive"));
	if (level < 0 || level > 9)
		FAIL("bad-args", "level must be 0..9");
	json_array_foreach(ents, i, e) {
		active = 0;
		rc = cat_entity_get(c->db, json_string_value(e), entity_active,
		    &active, dberr);
		if (rc < 0 && rc != -ENOENT)
			return cat_failed(code, err, rc, dberr);
		if (!active)
			FAIL("not-found", "no active entity %s", json_string_value(e));
	}
	names = calloc(n + 1, sizeof(*names));
	jobs = calloc(n + 1, sizeof(*jobs));
	if (!names || !jobs) {
		free(names);
		free(jobs);
		return cat_failed(code, err, -ENOMEM, "");
	}
	json_array_foreach(ents, i, e)
		names[i] = json_string_value(e);
	snprintf(detail, sizeof(detail), "level=%lld", (long long)level);
	rc = cat_jobs_add(c->db, "dump", d->name, names, n, (int64_t)cl->uid,
	    detail, jobs, dberr);
	ids = json_array();
	for (i = 0; rc >= 0 && i < n; i++)
		json_array_append_new(ids, json_integer((json_int_t)jobs[i]));
	free(names);
	free(jobs);
	if (rc < 0) {
		json_decref(ids);
		return cat_failed(code, err, rc, dberr);
	}
	ctld_dispatch(c, d);
	return json_pack("{s:o}", "jobs", ids);
}

static json_t *
h_mounted(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = ctld_drive(c, arg_str(a, "drive"), false);
	json_t *ev;
	(void)cl;

	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    arg_str(a, "drive"));
	if (!d->want_label[0])
		FAIL("not-waiting", "drive %s is not waiting for a cartridge", d->name);
	ev = json_pack("{s:s}", "event", "mounted");
	ctld_send(d->engine, ev);
	json_decref(ev);
	ctld_message(c, d, "info", "operator: %s mounted", d->want_label);
	return json_pack("{s:s,s:s}", "drive", d->name, "label", d->want_label);
}

static json_t *
h_unavailable(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *label = arg_str(a, "label");
	json_t *ev;
	(void)cl; (void)code; (void)err;

	for (struct drive *d = c->drives; d; d = d->next) {
		if (strcmp(d->want_label, label) != 0 || !d->engine)
			continue;
		release_reservation(c, d);
		json_array_append_new(d->skip, json_string(label));
		ctld_error_event(c, d, label, d->job, "unavailable",
		    "cartridge %s reported unavailable by uid %u", label,
		    (unsigned)cl->uid);
		ev = json_pack("{s:s}", "event", "retry-tape");
		ctld_send(d->engine, ev);
		json_decref(ev);
		return json_pack("{s:s,s:s}", "drive", d->name, "label", label);
	}
	ctld_error_event(c, NULL, label, 0, "unavailable",
	    "cartridge %s reported unavailable by uid %u", label,
	    (unsigned)cl->uid);
	return json_pack("{s:s,s:n}", "label", label, "drive");
}

static json_t *
h_abort(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t job = arg_num(a, "job", 0);
	char dberr[CAT_ERRLEN];
	json_t *ev;
	int rc;

	for (struct drive *d = c->drives; d; d = d->next)
		if (d->job == job && d->engine) {
			ev = json_pack("{s:s,s:I}", "event", "abort", "job",
			    (json_int_t)job);
			ctld_send(d->engine, ev);
			json_decref(ev);
			ctld_message(c, d, "warning", "job %lld: abort requested by"
			    " uid %u", (long long)job, (unsigned)cl->uid);
			return json_pack("{s:I,s:s}", "job", (json_int_t)job, "state",
			    "aborting");
		}
	/* Queued, or waiting for its media server: aborted here and now. */
	if ((rc = ctld_abort_orphan(c, job, cl->uid, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (rc == 1)
		return json_pack("{s:I,s:s}", "job", (json_int_t)job, "state",
		    "aborted");
	FAIL("not-found", "job %lld is neither queued nor running", (long long)job);
}

/* The drive for a restore: the one named, else the first idle one. */
static struct drive *
restore_drive(struct ctld *c, json_t *a, const char **code, char *err)
{
	struct drive *d;

	/* No drive named: the first connected one that is idle, if any. */
	if (!arg_str(a, "drive")) {
		for (d = c->drives; d; d = d->next)
			if (d->engine && !d->job)
				break;
		if (!d)
			return NULL;
		json_object_set_new(a, "drive", json_string(d->name));
	}
	d = ctld_drive(c, arg_str(a, "drive"), false);
	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    arg_str(a, "drive"));
	return d;
}

/* Queue the restore job on d; its id into res. */
static int
restore_job(struct ctld *c, struct client *cl, struct drive *d, json_t *a,
    json_t *res, char *dberr)
{
	json_t *dump = json_object_get(res, "dump");
	const char *entity = arg_str(a, "entity");
	/*
	 * Who asked: the media server checks a named target against them.
	 * The chain (full first, each dump with its parts) becomes the dump
	 * log the engine restores from; dump and parts are the last one's.
	 */
	json_t *detail = json_pack("{s:s?,s:s,s:s,s:O,s:I,s:b,s:O,s:O,s:O,s:O}",
	    "dump", json_string_value(json_object_get(dump, "dump_uid")), "as",
	    json_string_value(json_object_get(res, "as")), "to",
	    arg_str(a, "to") ? arg_str(a, "to") : "", "parts",
	    json_object_get(res, "parts"), "uid", (json_int_t)cl->uid, "admin",
	    (cl->roles & ROLE_ADMIN) != 0, "chain", json_object_get(res, "chain"),
	    "paths", json_object_get(res, "paths"), "level_only",
	    json_object_get(res, "level_only"), "date",
	    json_object_get(dump, "started"));
	char *ds;
	int64_t job = 0;
	int rc;

	/* --force: into a target that already holds files. */
	if (detail && arg_num(a, "force", 0))
		json_object_set_new(detail, "force", json_true());
	/* Paths that are not UTF-8: their bytes, in base64. */
	if (detail && json_object_get(res, "paths_b64"))
		json_object_set(detail, "paths_b64", json_object_get(res,
		    "paths_b64"));
	ds = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (!ds)
		return -ENOMEM;
	rc = cat_jobs_add(c->db, "restore", d->name, &entity, 1,
	    (int64_t)cl->uid, ds, &job, dberr);
	free(ds);
	if (rc < 0)
		return rc;
	json_object_set_new(res, "job", json_integer((json_int_t)job));
	ctld_dispatch(c, d);
	return 0;
}

/*
 * Paths a restore takes: "./a/b", "a/b" or "/a/b", none climbing out;
 * path (strings) and path_b64 (the bytes of names that are not UTF-8, in
 * base64), as many as the request holds. Those in base64 into *b64 (a
 * list, checked; NULL if none). false with err.
 */
static bool
restore_paths_ok(json_t *a, json_t **b64, char *err)
{
	json_t *paths = json_object_get(a, "path"), *p;
	size_t i;

	*b64 = NULL;
	json_array_foreach(paths, i, p)
		if (!ctld_path_ok(json_string_value(p), json_string_length(p),
		    err))
			return false;
	json_array_foreach(json_object_get(a, "path_b64"), i, p) {
		const char *e = json_string_value(p);
		size_t n = json_string_length(p), got;
		uint8_t buf[4096];
		if (B64_DECLEN(n) > sizeof(buf) || b64_decode(e, n, buf, &got) <
		    0) {
			snprintf(err, PROTO_ERRLEN, "--path-b64 %.64s: not the"
			    " base64 of a path of 1 to 4095 bytes", e);
			json_decref(*b64);
			*b64 = NULL;
			return false;
		}
		if (!ctld_path_ok((const char *)buf, got, err)) {
			json_decref(*b64);
			*b64 = NULL;
			return false;
		}
		if (!*b64)
			*b64 = json_array();
		json_array_append(*b64, p);
	}
	return true;
}

/* The entity's source kind ("dir", "cmd", "file") into arg. */
static int
source_kind_row(const struct cat_entity *e, void *arg)
{
	snprintf(arg, 8, "%.*s", (int)strcspn(e->source ? e->source : "", ":"),
	    e->source ? e->source : "");
	return 0;
}

/* Whether a tree's chain can be replayed: every dump has its index. */
static bool
chain_indexed(json_t *chain)
{
	size_t i;
	json_t *d;

	json_array_foreach(chain, i, d)
		if (json_integer_value(json_object_get(d, "index_bytes")) <= 0)
			return false;
	return true;
}

/* Queue the restore res describes (a drive named, else the first idle
   one; none idle: it waits in the queue): res, the reply. */
static json_t *
restore_queue(struct ctld *c, struct client *cl, json_t *a, json_t *res,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	struct drive *d;
	int rc;

	*code = NULL;
	d = restore_drive(c, a, code, err);
	if (*code) {
		json_decref(res);
		return NULL;
	}
	if (d && (rc = restore_job(c, cl, d, a, res, dberr)) < 0) {
		json_decref(res);
		return cat_failed(code, err, rc, dberr);
	}
	return res;
}

/* The paths of a restore looked up in its dump's index (off the loop). */
struct paths_check {
	json_t *a, *res;	/* the loop's */
	uint8_t *buf;		/* the dump's kept index */
	size_t len;
	char uid[64];
	char **paths;		/* bytes, NUL-terminated */
	size_t npaths;
	size_t *missing, nmissing;
	int rc;
	char why[200];
};

static void
paths_check_free(void *arg)
{
	struct paths_check *p = arg;

	json_decref(p->a);
	json_decref(p->res);
	free(p->buf);
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	free(p->missing);
	free(p);
}

static void
paths_check_work(void *arg)
{
	struct paths_check *p = arg;
	struct fidx x;

	if ((p->rc = fidx_decode(p->buf, p->len, &x, p->why,
	    sizeof(p->why))) < 0)
		return;
	for (size_t i = 0; i < p->npaths; i++) {
		uint64_t lo, hi;
		/* The entry, or a subtree ("." is the whole tree). */
		fidx_subtree(&x, p->paths[i], &lo, &hi);
		if (!fidx_lookup(&x, p->paths[i]) && lo >= hi)
			p->missing[p->nmissing++] = i;
	}
	fidx_free(&x);
}

/* Before the worker's turn: the dump's index read. */
static int
paths_check_prep(struct ctld *c, void *arg, const char **code, char *err)
{
	struct paths_check *p = arg;
	char dberr[CAT_ERRLEN];
	int rc = cat_index_load(c->db, p->uid, &p->buf, &p->len, dberr);

	if (rc < 0)
		cat_failed(code, err, rc, dberr);
	return rc < 0 ? rc : 0;
}

static json_t *
paths_check_done(struct ctld *c, struct client *cl, void *arg,
    const char **code, char *err)
{
	struct paths_check *p = arg;
	json_t *res;
	size_t at;

	if (p->rc < 0)
		FAIL(PROTO_E_CATALOG, "dump %.32s: its kept index does not decode:"
		    " %.150s", p->uid, p->why);
	if (p->nmissing) {
		/* Say which (as many as the message holds). */
		at = (size_t)snprintf(err, PROTO_ERRLEN, "%zu of the %zu paths"
		    " are not in dump %.32s:", p->nmissing, p->npaths, p->uid);
		for (size_t i = 0; i < p->nmissing && at < PROTO_ERRLEN - 1; i++) {
			char shown[128];
			const char *s = p->paths[p->missing[i]];
			at += (size_t)snprintf(err + at, PROTO_ERRLEN - at, " %s",
			    ctld_shown(s, strlen(s), shown, sizeof(shown)));
		}
		if (at >= PROTO_ERRLEN - 1)
			memcpy(err + PROTO_ERRLEN - 5, "...", 4);
		*code = PROTO_E_NOT_FOUND;
		return NULL;
	}
	res = p->res;
	p->res = NULL;
	return restore_queue(c, cl, p->a, res, code, err);
}

/* Look the paths of res up in its last dump's kept index, then queue. */
static json_t *
restore_paths_check(struct client *cl, json_t *a, json_t *res,
    const char **code, char *err)
{
	json_t *chain = json_object_get(res, "chain"), *v;
	json_t *last = json_array_get(chain, json_array_size(chain) - 1);
	json_t *plain = json_object_get(res, "paths");
	json_t *b64 = json_object_get(res, "paths_b64");
	size_t n = json_array_size(plain) + json_array_size(b64), i, k = 0;
	struct paths_check *p = calloc(1, sizeof(*p));

	if (!p || !(p->paths = calloc(n ? n : 1, sizeof(*p->paths))) ||
	    !(p->missing = calloc(n ? n : 1, sizeof(*p->missing)))) {
		if (p)
			free(p->paths);
		free(p);
		json_decref(res);
		FAIL("internal", "out of memory");
	}
	p->a = json_incref(a);
	p->res = res;
	snprintf(p->uid, sizeof(p->uid), "%s", json_string_value(json_object_get(
	    last, "dump_uid")));
	json_array_foreach(plain, i, v)
		if ((p->paths[k] = strdup(json_string_value(v))))
			k++;
	json_array_foreach(b64, i, v) {
		size_t el = json_string_length(v), got = 0;
		char *b = malloc(B64_DECLEN(el) + 1);
		if (b && b64_decode(json_string_value(v), el, (uint8_t *)b,
		    &got) == 0) {
			b[got] = '\0';
			p->paths[k++] = b;
		} else {
			free(b);
		}
	}
	p->npaths = k;
	if (k != n) {
		paths_check_free(p);
		FAIL("internal", "out of memory");
	}
	return ctld_offload(cl, paths_check_prep, paths_check_work,
	    paths_check_done, paths_check_free, p, code, err);
}

static json_t *
h_restore(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity"), *as = arg_str(a, "as");
	bool level_only = arg_num(a, "level_only", 0) != 0;
	json_t *paths = json_object_get(a, "path"), *chain, *last, *dump, *res;
	json_t *paths_b64 = NULL;
	const char *warn = NULL, *date, *to = arg_str(a, "to");
	char dberr[CAT_ERRLEN], kind[8] = "", datebuf[32];
	int rc;

	/* An entity name, never a path: it names the default target. */
	if (as && (!cat_name_valid(as) || strchr(as, '/') ||
	    strcmp(as, ".") == 0 || strcmp(as, "..") == 0))
		FAIL("bad-args", "--as takes a name without spaces, '/' or "
		    "'..' (it names the default restore directory)");
	if (ctld_date_arg(a, datebuf, sizeof(datebuf), &date, err) < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	/* The target is on the media server's host: a relative one would
	   name a place in its working directory. */
	if (json_object_get(a, "to") && (!to || to[0] != '/'))
		FAIL("bad-args", "--to must be an absolute path on the media"
		    " server's host");
	/*
	 * --to is checked against the requester's uid on the media server's
	 * host (engine/target.c); an identity from the network has none
	 * there. An admin's restore is not checked; anyone else's goes to
	 * the default restore directory, made for it.
	 */
	if (to && cl->net && !(cl->roles & ROLE_ADMIN))
		FAIL(PROTO_E_DENIED, "%.100s: a network identity has no uid on"
		    " the media server's host: restore without --to (into its"
		    " restore directory) or ask an admin", cl->identity);
	if (!restore_paths_ok(a, &paths_b64, err)) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	/*
	 * A cmd: or file: dump is one stream, restored alone as ever (a
	 * chain of streams goes to the type's restore command: abs-engine
	 * restore --stdout, docs/CHAINS.md).
	 */
	if ((rc = cat_entity_get(c->db, entity, source_kind_row, kind,
	    dberr)) < 0) {
		json_decref(paths_b64);
		return cat_failed(code, err, rc, dberr);
	}
	if (strcmp(kind, "dir") != 0)
		level_only = true;
	/* The chain ending at the dump: refused whole if it is broken. */
	if (!(chain = ctld_restore_chain(c, entity, date, level_only, code,
	    err))) {
		json_decref(paths_b64);
		return NULL;
	}
	last = json_array_get(chain, json_array_size(chain) - 1);
	/*
	 * A tree's chain is replayed with each dump's file index (what was
	 * deleted, what was renamed); dumps written before indexes have none:
	 * their last dump alone, as restores were then, and the reply says so.
	 */
	if (json_array_size(chain) > 1 && !chain_indexed(chain)) {
		json_t *one = json_pack("[O]", last);
		json_decref(chain);
		chain = one;
		last = json_array_get(chain, 0);
		level_only = true;
		warn = "the dumps of this chain carry no file index (written"
		    " before indexes): the newest dump alone is restored";
	}
	/* One dump alone: the engine reads no base for it. */
	if (level_only)
		json_object_set_new(last, "base", json_null());
	dump = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id",
	    json_object_get(last, "id"), "dump_uid", json_object_get(last,
	    "dump_uid"), "level", json_object_get(last, "level"), "started",
	    json_object_get(last, "started"), "bytes", json_object_get(last,
	    "bytes"), "digest_alg", json_object_get(last, "digest_alg"), "digest",
	    json_object_get(last, "digest"));
	res = json_pack("{s:s,s:s,s:o,s:O,s:o,s:o,s:b}", "entity", entity, "as",
	    as ? as : entity, "dump", dump, "parts", json_object_get(last,
	    "parts"), "chain", chain, "paths", paths ? json_incref(paths) :
	    json_array(), "level_only", level_only);
	if (res && paths_b64)
		json_object_set(res, "paths_b64", paths_b64);
	json_decref(paths_b64);
	if (!res)
		return cat_failed(code, err, -ENOMEM, "");
	if (warn)
		json_object_set_new(res, "warning", json_string(warn));
	/* Paths named: each must be in the dump's index (looked up off the
	   loop) before a job is queued. */
	if ((paths || json_object_get(res, "paths_b64")) && !warn &&
	    strcmp(kind, "dir") == 0 && json_integer_value(json_object_get(last,
	    "index_kept")) > 0)
		return restore_paths_check(cl, a, res, code, err);
	return restore_queue(c, cl, a, res, code, err);
}

/* A tape holding an entity, for tapes-for. */
static int
tape_use_row(const struct cat_tape_use *u, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o,s:I,s:o,s:o}", "label",
	    j_str(u->label), "tape_id", j_str(u->tape_id), "state",
	    j_str(u->state), "pool", j_str(u->pool), "parts",
	    (json_int_t)u->parts, "oldest", j_str(u->oldest), "newest",
	    j_str(u->newest)));
}

static json_t *
h_tapes_for(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl;

	return j_list(r, cat_tapes_for_entity(c->db, arg_str(a, "entity"),
	    tape_use_row, r, dberr), dberr, code, err);
}

/* The entity as entity describes it. */
static int
entity_row(const struct cat_entity *e, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
	    j_str(e->name), "source", j_str(e->source), "active",
	    j_int(e->active), "type", j_str(e->type), "pool", j_str(e->pool),
	    "full_every_days", j_int(e->full_every_days), "incr_every_days",
	    j_int(e->incr_every_days), "not_before", j_str(e->not_before),
	    "added", j_str(e->added));
	return j_entity_night(*out, e);
}

/* The last full dump: started, bytes, raw_bytes. */
static int
last_full_row(const struct cat_dump *d, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:o,s:o,s:o,s:o,s:o}", "started", j_str(d->started),
	    "bytes", j_int(d->bytes), "raw_bytes", j_int(d->raw_bytes), "job",
	    d->job ? json_integer((json_int_t)d->job) : json_null(),
	    "job_origin", j_str(d->job_origin));
	return *out ? 0 : -ENOMEM;
}

/* The last incremental: started, level, bytes, raw_bytes. */
static int
last_incr_row(const struct cat_dump *d, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "started",
	    j_str(d->started), "level", j_int(d->level), "bytes", j_int(d->bytes),
	    "raw_bytes", j_int(d->raw_bytes), "job", d->job ?
	    json_integer((json_int_t)d->job) : json_null(), "job_origin",
	    j_str(d->job_origin));
	return *out ? 0 : -ENOMEM;
}

static json_t *
h_entity(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *name = arg_str(a, "name");
	json_t *e = NULL, *full = NULL, *incr = NULL, *chains;
	int64_t dumps = 0, bytes = 0;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_entity_get(c->db, name, entity_row, &e, dberr)) < 0 ||
	    (rc = cat_dump_last(c->db, name, true, last_full_row, &full,
	    dberr)) < 0 ||
	    (rc = cat_dump_last(c->db, name, false, last_incr_row, &incr,
	    dberr)) < 0 ||
	    (rc = cat_dump_totals(c->db, name, &dumps, &bytes, dberr)) < 0) {
		json_decref(e);
		json_decref(full);
		json_decref(incr);
		return cat_failed(code, err, rc, dberr);
	}
	if (!(chains = ctld_entity_chains(c, name, code, err))) {
		json_decref(e);
		json_decref(full);
		json_decref(incr);
		return NULL;
	}
	json_object_set_new(e, "chains", chains);
	json_object_set_new(e, "last_full", full ? full : json_null());
	json_object_set_new(e, "last_incremental", incr ? incr : json_null());
	json_object_set_new(e, "dumps", json_integer((json_int_t)dumps));
	json_object_set_new(e, "bytes_on_tape", json_integer((json_int_t)bytes));
	return e;
}

/* The tape as tape describes it. */
static int
tape_row(const struct cat_tape *t, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)t->id, "label", j_str(t->label), "tape_id",
	    j_str(t->tape_id), "state", j_str(t->state), "pool", j_str(t->pool),
	    "ever_written", j_int(t->ever_written), "bytes", j_int(t->bytes),
	    "files", j_int(t->files), "added", j_str(t->added), "last_written",
	    j_str(t->last_written), "note", j_str(t->note));
	return *out ? 0 : -ENOMEM;
}

/* A part on the tape described. */
static int
tape_part_row(const struct cat_part *p, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o,s:I,s:I,s:I}", "entity",
	    j_str(p->entity), "level", j_int(p->level), "started",
	    j_str(p->started), "dump_state", j_str(p->dump_state), "part",
	    (json_int_t)p->part, "file", (json_int_t)p->file, "bytes",
	    (json_int_t)p->bytes));
}

/* A verification of the tape described. */
static int
verification_row(const struct cat_verification *v, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:I,s:I,s:o}", "kind", j_str(v->kind),
	    "checked", (json_int_t)v->checked, "bad", (json_int_t)v->bad, "at",
	    j_str(v->at)));
}

static json_t *
h_tape(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *t = NULL, *parts = json_array(), *verif = json_array();
	char dberr[CAT_ERRLEN];
	int64_t id, errors = 0;
	int rc;
	(void)cl;

	if ((rc = cat_tape_get(c->db, arg_str(a, "label"), tape_row, &t,
	    dberr)) >= 0) {
		id = json_integer_value(json_object_get(t, "id"));
		if ((rc = cat_tape_parts(c->db, id, tape_part_row, parts,
		    dberr)) >= 0 &&
		    (rc = cat_tape_errors(c->db, id, &errors, dberr)) >= 0)
			rc = cat_tape_verifications(c->db, id, 10, verification_row,
			    verif, dberr);
	}
	if (rc < 0) {
		json_decref(t);
		json_decref(parts);
		json_decref(verif);
		return cat_failed(code, err, rc, dberr);
	}
	json_object_set_new(t, "parts", parts);
	json_object_set_new(t, "errors", json_integer((json_int_t)errors));
	json_object_set_new(t, "verifications", verif);
	return t;
}

/* An error event for errors. */
static int
error_row(const struct cat_error *e, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "at",
	    j_str(e->at), "drive", j_str(e->drive), "label", j_str(e->label),
	    "job", j_int(e->job), "kind", j_str(e->kind), "message",
	    j_str(e->message)));
}

/* Errors of a drive per day. */
static int
drive_day_row(const struct cat_error_day *d, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:I}", "drive", j_str(d->name),
	    "day", j_str(d->day), "errors", (json_int_t)d->errors));
}

/* Errors of a tape per day. */
static int
tape_day_row(const struct cat_error_day *d, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:I}", "label", j_str(d->name),
	    "day", j_str(d->day), "errors", (json_int_t)d->errors));
}

static json_t *
h_errors(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *events = json_array(), *by_drive = json_array(),
	    *by_tape = json_array();
	const char *drive = arg_str(a, "drive"), *label = arg_str(a, "label"),
	    *since = arg_str(a, "since");
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	/* Over time: per drive and per tape, per day. */
	if ((rc = cat_errors_list(c->db, drive, label, since, error_row, events,
	    dberr)) < 0 ||
	    (rc = cat_errors_per_drive(c->db, drive, since, drive_day_row,
	    by_drive, dberr)) < 0 ||
	    (rc = cat_errors_per_tape(c->db, label, since, tape_day_row, by_tape,
	    dberr)) < 0) {
		json_decref(events);
		json_decref(by_drive);
		json_decref(by_tape);
		return cat_failed(code, err, rc, dberr);
	}
	return json_pack("{s:o,s:o,s:o}", "events", events, "per_drive", by_drive,
	    "per_tape", by_tape);
}

/* An entity for entities. */
static int
entities_row(const struct cat_entity *e, void *arr)
{
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "name",
	    j_str(e->name), "type", j_str(e->type), "pool", j_str(e->pool),
	    "source", j_str(e->source), "active", j_int(e->active), "not_before",
	    j_str(e->not_before));

	if (j_entity_night(o, e) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return j_append(arr, o);
}

static json_t *
h_entities(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl; (void)a;

	return j_list(r, cat_entities_list(c->db, entities_row, r, dberr), dberr,
	    code, err);
}

/* A tape for tapes. */
static int
tapes_row(const struct cat_tape *t, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "label",
	    j_str(t->label), "tape_id", j_str(t->tape_id), "pool", j_str(t->pool),
	    "state", j_str(t->state), "bytes", j_int(t->bytes), "files",
	    j_int(t->files), "last_written", j_str(t->last_written)));
}

static json_t *
h_tapes(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl;

	return j_list(r, cat_tapes_list(c->db, arg_str(a, "pool"), tapes_row, r,
	    dberr), dberr, code, err);
}

/* A pool for pools. */
static int
pools_row(const struct cat_pool *p, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o,s:o,s:I,s:I}", "name",
	    j_str(p->name), "min_tapes", j_int(p->min_tapes), "max_tapes",
	    j_int(p->max_tapes), "keep_fulls", j_int(p->keep_fulls), "keep_days",
	    j_int(p->keep_days), "tapes", (json_int_t)p->tapes, "writable",
	    (json_int_t)p->writable));
}

static json_t *
h_pools(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl; (void)a;

	return j_list(r, cat_pools_list(c->db, pools_row, r, dberr), dberr, code,
	    err);
}

static json_t *
h_entity_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct cat_entity_new e = { .name = arg_str(a, "name"),
	    .source = arg_str(a, "source"), .type = arg_str(a, "type"),
	    .pool = arg_str(a, "pool"), .server = arg_str(a, "server"),
	    .partition = arg_str(a, "partition"),
	    .priority = arg_num(a, "priority", CAT_NULL) };
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (json_object_get(a, "priority") && e.priority < 0)
		FAIL("bad-args", "--priority is 0..%d (higher first)",
		    CAT_PRIORITY_MAX);
	if ((rc = cat_entity_create(c->db, &e, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return j_entity_reply(c, e.name, code, err);
}

static json_t *
h_entity_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_entity_remove(c->db, arg_str(a, "name"), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:s,s:b}", "entity", arg_str(a, "name"), "active", 0);
}

static json_t *
h_entity_type(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_entity_set_type(c->db, arg_str(a, "name"),
	    arg_str(a, "type"), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:s,s:s}", "entity", arg_str(a, "name"), "type",
	    arg_str(a, "type"));
}

/* Frequencies as their replies show them. */
static json_t *
frequency_json(const char *name, const struct cat_frequency *f)
{
	return json_pack("{s:s,s:o,s:o}", "name", name, "full_every_days",
	    j_int(f->full_days), "incr_every_days", j_int(f->incr_days));
}

static json_t *
h_entity_frequency(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct cat_frequency f;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_entity_set_frequency(c->db, arg_str(a, "name"),
	    arg_num(a, "full", -1), arg_num(a, "incr", -1), &f, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return frequency_json(arg_str(a, "name"), &f);
}

static json_t *
h_type_frequency(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct cat_frequency f;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_type_set_frequency(c->db, arg_str(a, "name"),
	    arg_num(a, "full", -1), arg_num(a, "incr", -1), &f, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return frequency_json(arg_str(a, "name"), &f);
}

static json_t *
h_type_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct cat_frequency f;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_type_add(c->db, arg_str(a, "name"), arg_num(a, "full", -1),
	    arg_num(a, "incr", -1), &f, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return frequency_json(arg_str(a, "name"), &f);
}

static json_t *
h_entity_window(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_entity_set_window(c->db, arg_str(a, "name"),
	    arg_str(a, "not_before"), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:s,s:s}", "entity", arg_str(a, "name"), "not_before",
	    arg_str(a, "not_before"));
}

/* A tape as tape-add and tape-state show it. */
static json_t *
tape_short(const struct cat_tape *t)
{
	return json_pack("{s:o,s:o,s:o}", "label", j_str(t->label), "tape_id",
	    j_str(t->tape_id), "state", j_str(t->state));
}

/* A tape added, for tape-add. */
static int
tape_added_row(const struct cat_tape *t, void *arr)
{
	return j_append(arr, tape_short(t));
}

static json_t *
h_tape_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *labels = json_object_get(a, "labels"), *l, *added;
	size_t i, n = json_array_size(labels);
	const char **v = calloc(n + 1, sizeof(*v));
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (!v)
		return cat_failed(code, err, -ENOMEM, "");
	json_array_foreach(labels, i, l)
		v[i] = json_string_value(l);
	added = json_array();
	rc = cat_tapes_add(c->db, arg_str(a, "pool"), v, n, tape_added_row, added,
	    dberr);
	free(v);
	return j_list(added, rc, dberr, code, err);
}

/* The tape after tape-state. */
static int
tape_state_row(const struct cat_tape *t, void *arg)
{
	json_t **out = arg;

	*out = tape_short(t);
	return *out ? 0 : -ENOMEM;
}

static json_t *
h_tape_state(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *label = arg_str(a, "label");
	json_t *t = NULL;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_tape_set_state(c->db, label, arg_str(a, "state"),
	    dberr)) < 0 ||
	    (rc = cat_tape_get(c->db, label, tape_state_row, &t, dberr)) < 0) {
		json_decref(t);
		return cat_failed(code, err, rc, dberr);
	}
	return t;
}

/* A pool as pool-add and pool-set show it. */
static int
pool_row(const struct cat_pool *p, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)p->id,
	    "name", j_str(p->name), "min_tapes", j_int(p->min_tapes),
	    "max_tapes", j_int(p->max_tapes), "keep_fulls", j_int(p->keep_fulls),
	    "keep_days", j_int(p->keep_days), "created", j_str(p->created));
	return *out ? 0 : -ENOMEM;
}

/* The pool named in the request after rc (a change) succeeded. */
static json_t *
pool_reply(struct ctld *c, json_t *a, int rc, char *dberr, const char **code,
    char *err)
{
	json_t *p = NULL;

	if (rc >= 0)
		rc = cat_pool_get(c->db, arg_str(a, "name"), pool_row, &p, dberr);
	if (rc < 0) {
		json_decref(p);
		return cat_failed(code, err, rc, dberr);
	}
	return p;
}

static json_t *
h_pool_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	(void)cl;

	return pool_reply(c, a, cat_pool_add(c->db, arg_str(a, "name"), dberr),
	    dberr, code, err);
}

static json_t *
h_pool_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	(void)cl;

	return pool_reply(c, a, cat_pool_set(c->db, arg_str(a, "name"),
	    arg_num(a, "min", -1), arg_num(a, "max", -1),
	    arg_num(a, "keep_fulls", -1), arg_num(a, "keep_days", -1), dberr),
	    dberr, code, err);
}

/*
 * acl-set's and acl-remove's subject: a uid (an integer, or "N" or
 * "uid:N" as a string): 1 and *uid; an identity ("krb:P", "cert:S"): 0
 * and *id; -1 with err for anything else.
 */
static int
acl_who(json_t *a, int64_t *uid, const char **id, char *err)
{
	json_t *v = json_object_get(a, "uid");
	const char *s = json_string_value(v), *d;
	char *end;

	if (json_is_integer(v)) {
		*uid = json_integer_value(v);
		return 1;
	}
	d = s && strncmp(s, "uid:", 4) == 0 ? s + 4 : s;
	if (d && *d >= '0' && *d <= '9') {
		long long n = strtoll(d, &end, 10);
		if (!*end) {
			*uid = n;
			return 1;
		}
	}
	if (s && (strncmp(s, "krb:", 4) == 0 || strncmp(s, "cert:", 5) == 0)) {
		*id = s;
		return 0;
	}
	snprintf(err, PROTO_ERRLEN, "'%.60s' is not a uid, krb:PRINCIPAL or "
	    "cert:SUBJECT", s ? s : "");
	return -1;
}

static json_t *
h_acl_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	const char *id = NULL;
	int64_t uid = -1;
	int rc, k = acl_who(a, &uid, &id, err);
	(void)cl;

	if (k < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	rc = k ? cat_acl_set(c->db, uid, arg_str(a, "role"), dberr) :
	    cat_acl_ident_set(c->db, id, arg_str(a, "role"), dberr);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	if (!k)
		return json_pack("{s:s,s:s}", "identity", id, "role",
		    arg_str(a, "role"));
	return json_pack("{s:I,s:s}", "uid", (json_int_t)uid, "role",
	    arg_str(a, "role"));
}

static json_t *
h_acl_remove(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	const char *id = NULL;
	int64_t uid = -1;
	int rc, k = acl_who(a, &uid, &id, err);
	(void)cl;

	if (k < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	rc = k ? cat_acl_remove(c->db, uid, arg_str(a, "role"), dberr) :
	    cat_acl_ident_remove(c->db, id, arg_str(a, "role"), dberr);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	if (!k)
		return json_pack("{s:s,s:s}", "identity", id, "removed",
		    arg_str(a, "role"));
	return json_pack("{s:I,s:s}", "uid", (json_int_t)uid, "removed",
	    arg_str(a, "role"));
}

/* A grant for acl: a uid's, or an identity's (uid null). */
static int
acl_row(const struct cat_acl *g, void *arr)
{
	if (g->identity)
		return j_append(arr, json_pack("{s:n,s:s,s:o}", "uid", "identity",
		    g->identity, "role", j_str(g->role)));
	char id[32];
	snprintf(id, sizeof(id), "uid:%lld", (long long)g->uid);
	return j_append(arr, json_pack("{s:I,s:s,s:o}", "uid", (json_int_t)g->uid,
	    "identity", id, "role", j_str(g->role)));
}

static json_t *
h_acl(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl; (void)a;

	return j_list(r, cat_acl_list(c->db, acl_row, r, dberr), dberr, code, err);
}

static json_t *
h_whoami(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *roles = json_array();
	(void)c; (void)a; (void)code; (void)err;

	for (unsigned b = 1; b & ROLE_ALL; b <<= 1)
		if (cl->roles & b)
			json_array_append_new(roles, json_string(proto_role_name(b)));
	if (cl->net)	/* over TLS: who it proved to be, from where */
		return json_pack("{s:s,s:s,s:o}", "identity", cl->identity, "from",
		    cl->from, "roles", roles);
	return json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)cl->uid, "pid",
	    (json_int_t)cl->pid, "roles", roles);
}

/*
 * A label conflict merge leaves for the operator, or a line it rejected
 * (its index in the request's lines): into out's "conflicts" or
 * "rejected".
 */
static int
conflict_row(const struct cat_merge_conflict *m, void *out)
{
	if (m->rejected)
		return j_append(json_object_get(out, "rejected"), json_pack(
		    "{s:I,s:o}", "line", (json_int_t)m->line, "why", j_str(m->why)));
	return j_append(json_object_get(out, "conflicts"), json_pack(
	    "{s:o,s:o,s:o}", "label", j_str(m->label), "tape_id",
	    j_str(m->tape_id), "why", j_str(m->why)));
}

static json_t *
h_merge(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *map = json_object_get(a, "label_map"), *l, *out;
	int held;
	/* Lines of unconfirmed crippled-mode tapes become "" (skipped). */
	json_t *lines = crip_merge_hold(c, json_object_get(a, "lines"), map,
	    &held);
	size_t i, n = json_array_size(lines);
	const char **v = calloc(n + 1, sizeof(*v));
	struct cat_merge_result r;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (!v || !lines) {
		free(v);
		json_decref(lines);
		return cat_failed(code, err, -ENOMEM, "");
	}
	/* Labels the operator confirmed: "TAPE-ID LABEL" (crippled mode's). */
	json_array_foreach(map, i, l)
		if ((rc = cat_merge_confirm_label(c->db, arg_str(a, "pool") ?
		    arg_str(a, "pool") : "default", json_string_value(l),
		    dberr)) < 0) {
			free(v);
			json_decref(lines);
			return cat_failed(code, err, rc, dberr);
		}
	json_array_foreach(lines, i, l)
		v[i] = json_string_value(l);
	out = json_pack("{s:[],s:[]}", "conflicts", "rejected");
	rc = cat_merge(c->db, arg_str(a, "pool") ? arg_str(a, "pool") : "default",
	    v, n, &r, conflict_row, out, dberr);
	free(v);
	json_decref(lines);
	if (rc < 0) {
		json_decref(out);
		return cat_failed(code, err, rc, dberr);
	}
	crip_merge_confirmed(c, map);
	l = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:O,s:O,s:i}", "parts",
	    r.parts, "dumps", r.dumps, "tapes_added", r.tapes_added,
	    "entities_added", r.entities_added, "errors", r.errors, "bad_tapes",
	    r.bad_tapes, "skipped", r.skipped, "rejected_lines", r.rejected,
	    "conflicts", json_object_get(out, "conflicts"), "rejected",
	    json_object_get(out, "rejected"), "held_for_labels", held);
	json_decref(out);
	return l;
}

/*
 * A media server registers its drive. One connection serves one drive: a
 * second registration from it for another drive is refused, since the
 * first drive would keep a connection that is gone when it closes.
 */
/*
 * The checks every registration makes, in both modes (see handlers_int.h).
 */
struct drive *
ctld_register_drive(struct ctld *c, struct client *cl, json_t *a,
    bool *again, const char **code, char *err)
{
	const char *name = arg_str(a, "drive");
	struct drive *d;
	char who[300];

	*again = false;
	/* Checked before the drive is made: a refusal leaves no drive. */
	if (!cat_name_valid(name) || strlen(name) >= sizeof(d->name))
		FAIL("bad-args", "bad drive name");
	/* Over TLS: only the drives the media-server table gives it. */
	if (cl->net && !ctld_server_may(c, cl->identity, name)) {
		log_warn("%s may not serve drive %s: refused", ctld_who(cl, who,
		    sizeof(who)), name);
		FAIL(PROTO_E_DENIED, "%.120s is not authorized to serve drive %.60s"
		    " (abs-ctl server-allow DRIVE IDENTITY)", cl->identity, name);
	}
	if (ctld_report_check(json_object_get(a, "job"), err) < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if (cl->drive && strcmp(cl->drive->name, name) != 0)
		FAIL("busy", "this connection already serves drive %s; one "
		    "connection per drive", cl->drive->name);
	if (cl->drive) {	/* again on its connection: nothing changes */
		*again = true;
		return cl->drive;
	}
	if (!(d = ctld_drive(c, name, true)))
		FAIL("internal", "out of memory");
	/* Over TLS the same media server is the same identity (its pid is
	   not ours to see): after a partition its new connection comes
	   before abs-ctld has noticed the old one is dead. */
	if (d->engine && d->engine != cl && (cl->net ? d->engine->net &&
	    strcmp(d->engine->identity, cl->identity) == 0 :
	    !d->engine->net && d->engine->pid == cl->pid &&
	    d->engine->uid == cl->uid)) {
		/*
		 * The same media server on a new connection (SIGHUP, or it
		 * saw the old one fail first): the old one is stale.
		 */
		d->engine->drive = NULL;
		d->engine->dead = true;
		d->engine = NULL;
		if (d->job && !c->crip)
			ctld_orphan(c, d);
	}
	if (d->engine && d->engine != cl && d->engine->net)
		FAIL("busy", "drive %s is already served by %.150s", d->name,
		    ctld_who(d->engine, who, sizeof(who)));
	if (d->engine && d->engine != cl)
		FAIL("busy", "drive %s is already served by pid %d", d->name,
		    (int)d->engine->pid);
	return d;
}

static json_t *
h_engine_register(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	json_t *rep = json_object_get(a, "job");
	char dberr[CAT_ERRLEN];
	int64_t job = 0;
	struct drive *d;
	bool again;
	int rc;

	if (!(d = ctld_register_drive(c, cl, a, &again, code, err)))
		return NULL;
	if (again)
		return json_pack("{s:s,s:I}", "drive", d->name, "job",
		    (json_int_t)d->job);
	if ((rc = cat_drive_seen(c->db, d->name, arg_str(a, "device"), dberr)) < 0 ||
	    (arg_str(a, "serial") && (rc = cat_drive_serial_set(c->db, d->name,
	    arg_str(a, "serial"), dberr)) < 0))
		return cat_failed(code, err, rc, dberr);
	/* Its job report first: a refusal leaves the drive as it was. */
	d->engine = cl;
	if ((rc = ctld_adopt(c, d, rep, &job, dberr)) < 0) {
		d->engine = NULL;
		return cat_failed(code, err, rc, dberr);
	}
	cl->drive = d;
	/* Its uncommitted jobs: the journal just merged holds the dumps it
	   committed; the others it no longer holds (commit.c). */
	ctld_written_resolve(c, d, true, "written, not committed when its "
	    "media server registered again (it stopped, was killed or lost "
	    "abs-ctld before the commit point)");
	snprintf(d->device, sizeof(d->device), "%s", arg_str(a, "device"));
	snprintf(d->host, sizeof(d->host), "%s", arg_str(a, "host") &&
	    cat_name_valid(arg_str(a, "host")) ? arg_str(a, "host") : "");
	if (!job)
		d->state = "idle";
	d->want_label[0] = '\0';
	ctld_message(c, d, "info", "media server pid %d on %s", (int)cl->pid,
	    d->device);
	ctld_dispatch(c, d);
	/* A library's drive: its media server moves no cartridge itself. */
	return json_pack("{s:s,s:I,s:o*}", "drive", d->name, "job",
	    (json_int_t)job, "library", ctld_library_of(c, d));
}

/*
 * An event from the drive's media server: its data checked against its
 * row in ctld_events, then the row's handler.
 */
static json_t *
h_engine_event(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const struct ctld_event *ev = ctld_event_find(arg_str(a, "event"));
	json_t *data = json_object_get(a, "data"), *none = NULL, *r;

	if (!cl->drive)
		FAIL("not-registered", "register the drive first (engine-register)");
	if (!ev)
		FAIL("bad-args", "unknown engine event %s", arg_str(a, "event"));
	if (!data && !(data = none = json_object()))
		FAIL("internal", "out of memory");
	if (ctld_event_check(ev, data, err) < 0) {
		log_warn("%s: media server pid %d: %s", cl->drive->name,
		    (int)cl->pid, err);
		json_decref(none);
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if (ev->job && !cl->drive->job) {
		json_decref(none);
		FAIL("not-waiting", "%s event: drive %s runs no job", ev->name,
		    cl->drive->name);
	}
	r = ev->fn(c, cl->drive, data, code, err);
	json_decref(none);
	return r;
}

/* The handshake: the client's version was checked before (ctld.c). */
static json_t *
h_hello(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl; (void)a; (void)code; (void)err;
	return json_pack("{s:i,s:s,s:s}", "version", PROTO_VERSION, "server",
	    "abs-ctld", "site", c->site);
}

/*
 * The handler column of the one request table (proto/requests.def): row
 * REQ(id, ...) is handled by h_<id>, so a row without its handler is a
 * compile error here.
 */
static ctld_handler_fn *const handlers[PROTO_NREQ] = {
#define REQ(id, name, roles, flags, args, usage, help) \
	[PROTO_REQ_##id] = h_##id,
#include "proto/requests.def"
#undef REQ
};

/* The handler of a row. */
ctld_handler_fn *
ctld_handler(const struct proto_op *op)
{
	if (op < proto_ops || op >= proto_ops + PROTO_NREQ)
		return NULL;
	return handlers[op - proto_ops];
}

/* Whether a request changes what crippled mode's catalog cache holds. */
static bool
changes_cache(const struct proto_op *op, json_t *args)
{
	static const char *const ops[] = { "entity-add", "entity-remove",
	    "entity-type", "tape-add", "tape-state", "acl-set", "acl-remove",
	    "merge", "type-set", "entity-set", "discover", "server-allow",
	    "server-deny" };
	/* type-set: the commands cached; discover: the entities it added */

	if (op == &proto_ops[PROTO_REQ_engine_event])
		return strcmp(arg_str(args, "event") ? arg_str(args, "event") : "",
		    "result") == 0;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op->name, ops[i]) == 0)
			return true;
	return false;
}

/*
 * Run a request's handler; in crippled mode crippled mode's. A catalog
 * failure that a write probe confirms (read-only, full, locked, corrupt)
 * switches to crippled mode, and the request is answered there.
 */
json_t *
ctld_handle(struct ctld *c, struct client *cl, const struct proto_op *op,
    json_t *args, const char **code, char *err)
{
	ctld_handler_fn *fn = ctld_handler(op);
	struct drive *d = cl->drive;
	int64_t job = d ? d->job : 0;
	const char *state = d ? d->state : NULL;
	json_t *r;

	if (!fn) {
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "%s has no handler", op->name);
		return NULL;
	}
	if (c->crip)
		return crip_handle(c, cl, op, args, code, err);
	r = fn(c, cl, args, code, err);
	/* A job's result: after the answers (its waiters', the media
	   server's) are sent; a request's change: before its answer. */
	if (r && changes_cache(op, args) && op == &proto_ops[PROTO_REQ_engine_event])
		c->cache_due = true;
	else if (r && changes_cache(op, args))
		crip_cache_write(c);
	if (r || !*code || strcmp(*code, PROTO_E_CATALOG) != 0 ||
	    !crip_catalog_broken(c))
		return r;
	if (crip_switch(c, err) < 0)
		return NULL;
	if (d) {	/* the event is handled again from where it was */
		d->job = job;
		d->state = state;
	}
	return crip_handle(c, cl, op, args, code, err);
}
