/*
 * Shadows in abs-ctld (docs/SHADOWS.md): restored copies of dir: entities
 * kept current by applying each new dump of their chains. The requests
 * (shadow-add with the refusals the catalog can judge, shadows,
 * shadow-remove, shadow-promote, shadow-refresh), the tick that asks the
 * planner (plan_shadow_due) which shadows are due and queues their
 * refreshes as restore jobs with a "shadow" object, and the end of such
 * a job. The media server judges what only the shadow's host can see (a
 * directory holding files that is not this entity's shadow, the marker
 * of another entity, a symbolic link) and applies the dumps
 * (engine/shadow.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "control/handlers_int.h"
#include "planner/plan.h"

#define PATHLEN 1024

/*
 * path made lexically canonical into out: absolute, no empty or "."
 * components, no trailing '/'; ".." and control characters are refused
 * (a shadow's or a queue's place is named, never climbed to). false with
 * err. (ctld.h)
 */
bool
ctld_path_canon(const char *path, char *out, size_t len, const char *what,
    char *err)
{
	const char *p = path;
	size_t n = 0;

	if (!path || path[0] != '/' || strlen(path) >= len) {
		snprintf(err, PROTO_ERRLEN, "%s: an absolute path of at most %zu"
		    " bytes", what, len - 1);
		return false;
	}
	while (*p) {
		const char *e;
		size_t k;
		while (*p == '/')
			p++;
		e = p + strcspn(p, "/");
		k = (size_t)(e - p);
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			snprintf(err, PROTO_ERRLEN, "%s: no '..' in the path", what);
			return false;
		}
		if (k && !(k == 1 && p[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
		}
		p = e;
	}
	if (n == 0) {
		snprintf(err, PROTO_ERRLEN, "%s: not the root directory", what);
		return false;
	}
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			snprintf(err, PROTO_ERRLEN, "%s: no control characters in"
			    " the path", what);
			return false;
		}
	return true;
}

/* Whether canonical paths a and b are one, or one is below the other. */
static bool
overlap(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/') &&
	    (b[n] == '\0' || b[n] == '/');
}

/* Whether two places may be the same file system: the same host, or
   one of them names none (the media server's own). */
static bool
same_host(const char *a, const char *b)
{
	return !a || !*a || !b || !*b || strcmp(a, b) == 0;
}

/* What shadow-add checks a place against: every entity's source and
   every active shadow. */
struct place_check {
	const char *entity, *host, *path;
	char why[PROTO_ERRLEN];
};

static int
source_row(const struct cat_entity *e, void *arg)
{
	struct place_check *p = arg;
	char src[PATHLEN], err[PROTO_ERRLEN];

	if (!e->source || strncmp(e->source, "dir:", 4) != 0 || !e->active ||
	    !ctld_path_canon(e->source + 4, src, sizeof(src), "source", err))
		return 0;
	if (!same_host(p->host, e->server) || !overlap(p->path, src))
		return 0;
	if (strcmp(e->name, p->entity) == 0)
		snprintf(p->why, sizeof(p->why), "%s is%s the live source of %s"
		    " (%s): a shadow is never written onto its own entity",
		    p->path, strcmp(p->path, src) == 0 ? "" : " inside or above",
		    e->name, e->source);
	else
		snprintf(p->why, sizeof(p->why), "%s is%s the source of entity"
		    " %s (%s): a shadow is never written onto a live source",
		    p->path, strcmp(p->path, src) == 0 ? "" : " inside or above",
		    e->name, e->source);
	return 1;
}

static int
shadow_place_row(const struct cat_shadow *s, void *arg)
{
	struct place_check *p = arg;
	char sp[PATHLEN], err[PROTO_ERRLEN];

	if (strcmp(s->state, "active") != 0 ||
	    !ctld_path_canon(s->path, sp, sizeof(sp), "shadow", err) ||
	    !same_host(p->host, s->host) ||
	    !overlap(p->path, sp))
		return 0;
	snprintf(p->why, sizeof(p->why), "%s%s%s is%s the shadow of entity %s"
	    " (%s%s%s)", p->host ? p->host : "", p->host ? ":" : "", p->path,
	    strcmp(p->path, sp) == 0 ? "" : " inside or above", s->entity,
	    s->host ? s->host : "", s->host ? ":" : "", s->path);
	return 1;
}

/* The entity's source kind, for shadow-add. */
static int
kind_row(const struct cat_entity *e, void *arg)
{
	snprintf(arg, 8, "%.*s", (int)strcspn(e->source ? e->source : "", ":"),
	    e->source ? e->source : "");
	return 0;
}

/* Who asked: the client's identity ("uid:N" on the Unix socket,
   "cert:SUBJECT" or "krb:PRINCIPAL" over TLS). */
static const char *
who(const struct client *cl, char *buf, size_t len)
{
	if (cl->identity[0])
		snprintf(buf, len, "%s", cl->identity);
	else
		snprintf(buf, len, "uid:%u", (unsigned)cl->uid);
	return buf;
}

/* Whether host names a (the first label of either, when the other has
   none: a short name against a qualified one), as the media server
   judges it (engine/shadow.c). */
static bool
host_is(const char *host, const char *a)
{
	size_t x, y;

	if (strcasecmp(host, a) == 0)
		return true;
	x = strcspn(host, ".");
	y = strcspn(a, ".");
	return (host[x] == '\0' || a[y] == '\0') && x == y &&
	    strncasecmp(host, a, x) == 0;
}

/*
 * A shadow on HOST is refreshed by a media server of that host: one has
 * registered from it (since abs-ctld started), and --drive, when given,
 * is one. false with err.
 */
static bool
host_served(struct ctld *c, const char *host, const char *drive, char *err)
{
	struct drive *named = drive ? ctld_drive(c, drive, false) : NULL;

	if (named && named->host[0] && !host_is(host, named->host)) {
		snprintf(err, PROTO_ERRLEN, "--to %.40s:PATH: drive %.40s's media"
		    " server runs on host %.40s: give --drive a drive of %.40s",
		    host, drive, named->host, host);
		return false;
	}
	if (named && named->host[0])
		return true;
	for (struct drive *d = c->drives; d; d = d->next)
		if (d->host[0] && host_is(host, d->host))
			return true;
	snprintf(err, PROTO_ERRLEN, "--to %.60s:PATH: no media server has"
	    " registered from host %.60s: none could refresh a shadow there"
	    " (abs-ctl status shows the drives' hosts)", host, host);
	return false;
}

/* What the planner is told of a shadow. */
static struct plan_shadow
plan_of(const struct cat_shadow *s)
{
	struct plan_shadow p = {
		.every_hours = (int)s->every_hours,
		.behind = s->newest_uid && (!s->dump_uid ||
		    strcmp(s->newest_uid, s->dump_uid) != 0),
		.refreshing = s->job_id != CAT_NULL,
		.failed_newest = s->error && s->error_dump && s->newest_uid &&
		    strcmp(s->error_dump, s->newest_uid) == 0,
		.promoted = strcmp(s->state, "active") != 0,
		.refreshed = util_time_or_zero(s->refreshed),
		.dump_at = util_time_or_zero(s->dump_started),
		.newest_at = util_time_or_zero(s->newest_started),
		.dumps_behind = s->dumps_behind > 0 ? (long)s->dumps_behind : 0,
	};

	return p;
}

/* A shadow as the shadows request and shadow-add answer it. */
static json_t *
shadow_json(const struct cat_shadow *s)
{
	struct plan_shadow p = plan_of(s);
	struct plan_shadow_lag lag;
	time_t now = clock_now(), next = 0;
	enum plan_shadow_reason r = plan_shadow_due(&p, now, &next);
	char nb[32] = "";
	json_t *o;

	plan_shadow_lag(&p, now, &lag);
	if (next)
		util_fmt_time(next, nb, sizeof(nb));
	o = json_pack("{s:I,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o}", "id",
	    (json_int_t)s->id, "entity", j_str(s->entity), "host",
	    j_str(s->host), "path", j_str(s->path), "drive", j_str(s->drive),
	    "every_hours", (json_int_t)s->every_hours, "state", j_str(s->state),
	    "added", j_str(s->added), "added_by", j_str(s->added_by));
	if (!o)
		return NULL;
	json_object_set_new(o, "dump", j_str(s->dump_uid));
	json_object_set_new(o, "dump_started", j_str(s->dump_started));
	json_object_set_new(o, "dump_level", j_int(s->dump_level));
	json_object_set_new(o, "refreshed", j_str(s->refreshed));
	/* Age: how old the tree it holds is; lag: how far behind the
	   entity's newest dump it is. */
	json_object_set_new(o, "age_seconds", lag.age >= 0 ?
	    json_integer((json_int_t)lag.age) : json_null());
	json_object_set_new(o, "newest", j_str(s->newest_uid));
	json_object_set_new(o, "newest_started", j_str(s->newest_started));
	json_object_set_new(o, "behind", json_boolean(p.behind));
	json_object_set_new(o, "behind_dumps", json_integer(lag.dumps));
	json_object_set_new(o, "lag_seconds", lag.lag >= 0 ?
	    json_integer((json_int_t)lag.lag) : json_null());
	json_object_set_new(o, "job", j_int(s->job_id));
	json_object_set_new(o, "job_dump", j_str(s->job_dump));
	json_object_set_new(o, "refresh", json_string(
	    plan_shadow_reason_name(r)));
	json_object_set_new(o, "next_refresh", nb[0] ? json_string(nb) :
	    json_null());
	json_object_set_new(o, "error", j_str(s->error));
	json_object_set_new(o, "error_dump", j_str(s->error_dump));
	json_object_set_new(o, "error_at", j_str(s->error_at));
	json_object_set_new(o, "promoted_at", j_str(s->promoted_at));
	json_object_set_new(o, "promoted_by", j_str(s->promoted_by));
	json_object_set_new(o, "promoted_from", j_str(s->promoted_from));
	return o;
}

static int
list_row(const struct cat_shadow *s, void *arr)
{
	return j_append(arr, shadow_json(s));
}

/* The entity's active shadow, copied (NULL with *code and err). */
static int
one_row(const struct cat_shadow *s, void *arg)
{
	*(json_t **)arg = shadow_json(s);
	return 0;
}

static json_t *
shadow_get(struct ctld *c, const char *entity, const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *o = NULL;
	int rc = cat_shadow_get(c->db, entity, one_row, &o, dberr);

	if (rc < 0) {
		json_decref(o);
		return cat_failed(code, err, rc, dberr);
	}
	if (!o)
		FAIL(PROTO_E_INTERNAL, "out of memory");
	return o;
}

json_t *
h_shadow_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity"), *to = arg_str(a, "to");
	const char *drive = arg_str(a, "drive"), *colon;
	int64_t every = arg_num(a, "every", 0);
	struct place_check pc = { .entity = entity };
	char host[256] = "", path[PATHLEN], kind[8] = "", dberr[CAT_ERRLEN];
	char by[300];
	int rc;

	if (!to || !*to)
		FAIL(PROTO_E_BAD_ARGS, "--to HOST:PATH or PATH (absolute)");
	/* HOST:PATH, or PATH: an absolute path on the media server's host. */
	if (to[0] != '/') {
		if (!(colon = strchr(to, ':')) || colon == to ||
		    (size_t)(colon - to) >= sizeof(host))
			FAIL(PROTO_E_BAD_ARGS, "--to %.200s: HOST:PATH or an absolute"
			    " PATH", to);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - to), to);
		if (!cat_name_valid(host))
			FAIL(PROTO_E_BAD_ARGS, "--to: the host %.200s has spaces or"
			    " '%%', '=', '|'", host);
		to = colon + 1;
	}
	if (!ctld_path_canon(to, path, sizeof(path), "--to", err)) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if (every < 0 || every > 8760)
		FAIL(PROTO_E_BAD_ARGS, "--every is 0 to 8760 hours (0: as each"
		    " dump lands)");
	if (drive && !ctld_drive(c, drive, false))
		FAIL(PROTO_E_NOT_FOUND, "no drive %s", drive);
	if (host[0] && !host_served(c, host, drive, err)) {
		*code = PROTO_E_NOT_FOUND;
		return NULL;
	}
	if ((rc = cat_entity_get(c->db, entity, kind_row, kind, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (strcmp(kind, "dir") != 0)
		FAIL(PROTO_E_BAD_ARGS, "entity %s is a %s: stream; a shadow is a"
		    " tree, kept of dir: entities only", entity, kind);
	/* Onto a live source (its own: onto itself), or another shadow. */
	pc.host = host[0] ? host : NULL;
	pc.path = path;
	if ((rc = cat_entities_list(c->db, source_row, &pc, dberr)) < 0 ||
	    (!pc.why[0] && (rc = cat_shadows_list(c->db, shadow_place_row, &pc,
	    dberr)) < 0))
		return cat_failed(code, err, rc, dberr);
	if (pc.why[0])
		FAIL(PROTO_E_DENIED, "refused: %.*s", (int)(PROTO_ERRLEN - 10), pc.why);
	if ((rc = cat_shadow_add(c->db, entity, pc.host, path, drive, every,
	    who(cl, by, sizeof(by)), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	log_info("shadow of %s added at %s%s%s by %s", entity, host,
	    host[0] ? ":" : "", path, by);
	return shadow_get(c, entity, code, err);
}

json_t *
h_shadows(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *arr = json_array();
	(void)cl;
	(void)a;

	return j_list(arr, cat_shadows_list(c->db, list_row, arr, dberr), dberr,
	    code, err);
}

json_t *
h_shadow_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *entity = arg_str(a, "entity");
	char dberr[CAT_ERRLEN], by[300];
	json_t *o = shadow_get(c, entity, code, err);
	int rc;

	if (!o)
		return NULL;
	if ((rc = cat_shadow_remove(c->db, entity, dberr)) < 0) {
		json_decref(o);
		return cat_failed(code, err, rc, dberr);
	}
	log_info("shadow of %s at %s removed by %s (its files stay)", entity,
	    json_string_value(json_object_get(o, "path")), who(cl, by,
	    sizeof(by)));
	json_object_set_new(o, "removed", json_true());
	return o;
}

json_t *
h_shadow_promote(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *entity = arg_str(a, "entity");
	char dberr[CAT_ERRLEN], by[300];
	json_t *o = shadow_get(c, entity, code, err), *r;
	int rc;

	if (!o)
		return NULL;
	if (json_is_null(json_object_get(o, "dump"))) {
		json_decref(o);
		FAIL(PROTO_E_BAD_ARGS, "the shadow of %s reflects no dump yet: there"
		    " is nothing to promote", entity);
	}
	if ((rc = cat_shadow_promote(c->db, entity, who(cl, by, sizeof(by)),
	    dberr)) < 0) {
		json_decref(o);
		return cat_failed(code, err, rc, dberr);
	}
	log_warn("shadow of %s at %s promoted by %s: it is the entity's source"
	    " now", entity, json_string_value(json_object_get(o, "path")), by);
	r = json_pack("{s:s,s:O,s:O,s:s,s:O,s:O}", "entity", entity, "host",
	    json_object_get(o, "host"), "path", json_object_get(o, "path"),
	    "promoted_by", by, "dump", json_object_get(o, "dump"),
	    "dump_started", json_object_get(o, "dump_started"));
	if (r && json_is_true(json_object_get(o, "behind")))
		json_object_set_new(r, "warning", json_string("the shadow is"
		    " behind the entity's newest dump"));
	if (r && !json_is_null(json_object_get(o, "error")))
		json_object_set_new(r, "warning", json_pack("s++", "its last"
		    " refresh failed (", json_string_value(json_object_get(o,
		    "error")), "): look for .abs-restore-INCOMPLETE in it"));
	json_decref(o);
	return r;
}

/* ---- refreshes ---- */

/* The drive a refresh goes to: the shadow's own, else an idle one. */
static struct drive *
refresh_drive(struct ctld *c, const char *named)
{
	if (named) {
		struct drive *d = ctld_drive(c, named, false);
		return d && d->engine ? d : NULL;
	}
	for (struct drive *d = c->drives; d; d = d->next)
		if (d->engine && !d->job && !ctld_rebuild_busy(d))
			return d;
	return NULL;
}

/*
 * Queue a refresh of shadow s on d: a restore job of the entity's newest
 * chain onto the shadow's path, with the shadow's place in "shadow". *job,
 * or negative with err (PROTO_ERRLEN) and *code.
 */
static int
refresh_queue(struct ctld *c, const struct cat_shadow *s, struct drive *d,
    int64_t *job, const char **code, char *err)
{
	json_t *chain, *last, *detail;
	const char *src = s->source && strncmp(s->source, "dir:", 4) == 0 ?
	    s->source + 4 : NULL;
	char uid[64], dberr[CAT_ERRLEN], *ds;
	int rc;

	*job = 0;
	*code = NULL;
	if (!(chain = ctld_restore_chain(c, s->entity, NULL, false, code, err)))
		return -ENOENT;
	last = json_array_get(chain, json_array_size(chain) - 1);
	snprintf(uid, sizeof(uid), "%s", json_string_value(json_object_get(last,
	    "dump_uid")) ? json_string_value(json_object_get(last, "dump_uid")) :
	    "");
	detail = json_pack("{s:s,s:s,s:s,s:O,s:I,s:b,s:O,s:[],s:b,s:O,"
	    "s:{s:I,s:s?,s:s?}}", "dump", uid, "as", s->entity, "to", s->path,
	    "parts", json_object_get(last, "parts"), "uid", (json_int_t)0,
	    "admin", 1, "chain", chain, "paths", "level_only", 0, "date",
	    json_object_get(last, "started"), "shadow", "id", (json_int_t)s->id,
	    "host", s->host, "source", src);
	ds = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	json_decref(chain);
	if (!ds) {
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	rc = cat_jobs_add(c->db, "restore", d->name, &s->entity, 1, 0, ds, job,
	    dberr);
	free(ds);
	if (rc >= 0)
		rc = cat_shadow_job(c->db, s->id, *job, uid, dberr);
	if (rc < 0) {
		cat_failed(code, err, rc, dberr);
		return rc;
	}
	ctld_message(c, d, "info", "job %lld: refresh of the shadow of %s at"
	    " %s%s%s to dump %s", (long long)*job, s->entity, s->host ? s->host :
	    "", s->host ? ":" : "", s->path, uid);
	ctld_dispatch(c, d);
	return 0;
}

/* The refreshes the tick starts: shadows due, first come first served. */
struct tick {
	struct ctld *c;
	time_t now;
};

/* A job's state, and a failed one's error (its detail holds it then). */
struct job_end {
	char state[16];
	char why[PROTO_ERRLEN];
};

static int
job_state_row(const struct cat_job *j, void *arg)
{
	struct job_end *e = arg;

	snprintf(e->state, sizeof(e->state), "%s", j->state ? j->state : "");
	if (strcmp(e->state, "done") != 0 && j->detail && j->detail[0] != '{')
		snprintf(e->why, sizeof(e->why), "%s", j->detail);
	return 0;
}

static int
tick_row(const struct cat_shadow *s, void *arg)
{
	struct tick *t = arg;
	struct plan_shadow p = plan_of(s);
	char err[PROTO_ERRLEN], dberr[CAT_ERRLEN], now[32];
	const char *code = NULL;
	struct drive *d;
	int64_t job;

	if (strcmp(s->state, "active") != 0)
		return 0;
	/* A refresh whose end we did not hear (abs-ctld restarted). */
	if (s->job_id != CAT_NULL) {
		struct job_end e = { "", "" };
		if (cat_job_get(t->c->db, s->job_id, job_state_row, &e,
		    dberr) < 0 || !strcmp(e.state, "done") || !strcmp(e.state,
		    "failed") || !strcmp(e.state, "aborted"))
			ctld_shadow_job_ended(t->c, s->job_id, e.state[0] ? e.state :
			    "failed", e.why[0] ? e.why : NULL);
		return 0;
	}
	if (plan_shadow_due(&p, t->now, NULL) != PLAN_SHADOW_DUE)
		return 0;
	if (!(d = refresh_drive(t->c, s->drive)))
		return 0;	/* none free: the next tick */
	if (refresh_queue(t->c, s, d, &job, &code, err) < 0) {
		/* A broken chain, say: held until a newer dump lands. */
		util_fmt_time(t->now, now, sizeof(now));
		if (cat_shadow_failed(t->c->db, s->id, s->newest_uid, err, now,
		    dberr) < 0)
			cat_warn(t->c, NULL, dberr);
		log_warn("shadow of %s: no refresh: %s", s->entity, err);
	}
	return 0;
}

void
ctld_shadow_tick(struct ctld *c)
{
	static time_t last;
	struct tick t = { c, clock_now() };
	char dberr[CAT_ERRLEN];
	time_t mono = time(NULL);

	if (c->crip || mono == last)
		return;
	last = mono;
	if (cat_shadows_list(c->db, tick_row, &t, dberr) < 0)
		cat_warn(c, NULL, dberr);
}

/* The active shadow that waits for this job, if any (it may have been
   removed since; a failed job's detail holds its error, not the shadow
   it was for). */
struct waits {
	int64_t id, job;
	bool yes;
	char entity[256];
};

static int
waits_row(const struct cat_shadow *s, void *arg)
{
	struct waits *w = arg;

	if (strcmp(s->state, "active") == 0 && s->job_id == w->job) {
		w->yes = true;
		w->id = s->id;
		snprintf(w->entity, sizeof(w->entity), "%s", s->entity);
	}
	return 0;
}

void
ctld_shadow_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why)
{
	struct waits w = { .job = job };
	char dberr[CAT_ERRLEN], now[32], msg[PROTO_ERRLEN];
	int rc;

	if (job <= 0 || cat_shadows_list(c->db, waits_row, &w, dberr) < 0 ||
	    !w.yes)
		return;
	util_fmt_time(clock_now(), now, sizeof(now));
	if (strcmp(state, "done") == 0) {
		rc = cat_shadow_refreshed(c->db, w.id, now, dberr);
		log_info("shadow of %s: refreshed (job %lld)", w.entity,
		    (long long)job);
	} else {
		snprintf(msg, sizeof(msg), "job %lld %s%s%s", (long long)job, state,
		    why ? ": " : "", why ? why : "");
		rc = cat_shadow_failed(c->db, w.id, NULL, msg, now, dberr);
		log_warn("shadow of %s: refresh failed: %s", w.entity, msg);
	}
	if (rc < 0)
		cat_warn(c, NULL, dberr);
}

/* shadow-refresh: the row queued on the drive chosen. */
struct refresh_one {
	struct ctld *c;
	struct drive *d;
	int64_t job;
	const char *code;
	char err[PROTO_ERRLEN];
	int rc;
};

static int
refresh_row(const struct cat_shadow *s, void *arg)
{
	struct refresh_one *r = arg;

	r->rc = refresh_queue(r->c, s, r->d, &r->job, &r->code, r->err);
	return 0;
}

json_t *
h_shadow_refresh(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *entity = arg_str(a, "entity"), *named = arg_str(a, "drive");
	struct refresh_one ro = { .c = c };
	char dberr[CAT_ERRLEN];
	json_t *o = shadow_get(c, entity, code, err), *r;
	int rc;
	(void)cl;

	if (!o)
		return NULL;
	if (!json_is_null(json_object_get(o, "job"))) {
		r = json_pack("{s:s,s:O,s:s}", "entity", entity, "job",
		    json_object_get(o, "job"), "state", "refreshing");
		json_decref(o);
		return r;
	}
	if (!named)
		named = json_string_value(json_object_get(o, "drive"));
	if (!(ro.d = refresh_drive(c, named)) && named) {
		json_decref(o);
		FAIL(PROTO_E_NO_DRIVE, "drive %s has no media server connected",
		    named);
	}
	json_decref(o);
	/* No drive idle: the first connected one queues it. */
	for (struct drive *d = c->drives; !ro.d && d; d = d->next)
		if (d->engine)
			ro.d = d;
	if (!ro.d)
		FAIL(PROTO_E_NO_DRIVE, "no media server is connected");
	if ((rc = cat_shadow_get(c->db, entity, refresh_row, &ro, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (ro.rc < 0) {
		*code = ro.code ? ro.code : PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "%s", ro.err);
		return NULL;
	}
	return json_pack("{s:s,s:I,s:s,s:s}", "entity", entity, "job",
	    (json_int_t)ro.job, "drive", ro.d->name, "state", "queued");
}
