/*
 * The nightly report of a night (the date its runs started on): what was
 * dumped, what failed and why, retries, what is overdue, what was skipped
 * (a window, a limit, capacity), what was planned and not started, new
 * and vanished entities, the tapes written (the full ones go offsite),
 * errors per drive and tape, pool levels against their minimums. One
 * JSON object, with "text" the same for people (abs-ctl, syslog, mail).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/util.h"
#include "control/night_int.h"

/* What the rows fill. */
struct rep {
	json_t *runs, *dumped, *failed, *retries, *overdue, *skipped;
	json_t *not_started, *new_ents, *vanished, *tapes, *errors, *pools;
	json_t *jobs_by_entity;	/* entity -> its last job's state */
	json_t *broken;		/* entities whose current chain is broken */
};

/* Seconds between two catalog dates, or 0. */
static double
span(const char *a, const char *b)
{
	time_t x, y;

	if (!a || !b || util_parse_time(a, &x) < 0 || util_parse_time(b, &y) < 0)
		return 0;
	return y > x ? (double)(y - x) : 0;
}

static int
rep_run(const struct cat_run *r, void *arg)
{
	struct rep *p = arg;

	return j_append(p->runs, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)r->id, "drives", j_str(r->drives), "state",
	    j_str(r->state), "started", j_str(r->started), "finished",
	    j_str(r->finished), "detail", j_str(r->detail)));
}

/* A job of the night: dumped, failed; the entity's attempts. */
static int
rep_job(const struct cat_run_job *j, void *arg)
{
	struct rep *p = arg;
	const char *e = j->entity ? j->entity : "?";
	json_t *n = json_object_get(p->jobs_by_entity, e);

	json_object_set_new(p->jobs_by_entity, e, json_pack("{s:o,s:I}",
	    "state", j_str(j->state), "attempts", (json_int_t)(n ?
	    json_integer_value(json_object_get(n, "attempts")) + 1 : 1)));
	if (j->state && strcmp(j->state, "done") == 0 && j->dump_uid) {
		double secs = span(j->dump_started, j->dump_finished);
		int64_t bytes = j->bytes == CAT_NULL ? 0 : j->bytes;
		return j_append(p->dumped, json_pack("{s:s,s:I,s:I,s:I,s:f,s:o,s:o,"
		    "s:o,s:I,s:I,s:o}", "entity", e, "level", (json_int_t)j->level,
		    "bytes", (json_int_t)bytes, "raw_bytes", (json_int_t)(j->raw_bytes
		    == CAT_NULL ? 0 : j->raw_bytes), "seconds", secs, "rate_mbs",
		    secs > 0 ? json_real((double)bytes / 1e6 / secs) : json_null(),
		    "tapes", j_str(j->tapes), "drive", j_str(j->drive), "attempt",
		    (json_int_t)j->attempt, "job", (json_int_t)j->id, "dump",
		    j_str(j->dump_uid)));
	}
	if (j->state && (strcmp(j->state, "failed") == 0 ||
	    strcmp(j->state, "aborted") == 0))
		return j_append(p->failed, json_pack("{s:s,s:I,s:o,s:I,s:o,s:I}",
		    "entity", e, "level", (json_int_t)j->level, "drive",
		    j_str(j->drive), "attempt", (json_int_t)j->attempt, "why",
		    j_str(j->detail ? j->detail : j->state), "job",
		    (json_int_t)j->id));
	return 0;
}

/* A plan row: overdue, skipped, or planned and never started. */
static int
rep_plan(const struct cat_plan_row *r, void *arg)
{
	struct rep *p = arg;
	json_t *row = json_pack("{s:o,s:o,s:I,s:I}", "entity", j_str(r->entity),
	    "reason", j_str(r->reason), "level", (json_int_t)r->level, "bytes",
	    (json_int_t)r->bytes);

	if (r->reason && strncmp(r->reason, "overdue", 7) == 0 &&
	    (j_append(p->overdue, json_incref(row)) < 0)) {
		json_decref(row);
		return -ENOMEM;
	}
	if (!r->drive)
		return j_append(p->skipped, row);
	if (!json_object_get(p->jobs_by_entity, r->entity ? r->entity : "")) {
		json_object_set_new(row, "drive", j_str(r->drive));
		return j_append(p->not_started, row);
	}
	json_decref(row);
	return 0;
}

static int
rep_change(const struct cat_entity_change *ch, void *arg)
{
	struct rep *p = arg;

	return j_append(strcmp(ch->change, "new") == 0 ? p->new_ents :
	    p->vanished, json_pack("{s:o,s:o}", "entity", j_str(ch->entity),
	    "at", j_str(ch->at)));
}

static int
rep_tape(const struct cat_tape *t, void *arg)
{
	struct rep *p = arg;

	return j_append(p->tapes, json_pack("{s:o,s:o,s:o,s:o,s:I,s:I,s:b}",
	    "label", j_str(t->label), "tape_id", j_str(t->tape_id), "state",
	    j_str(t->state), "pool", j_str(t->pool), "bytes",
	    (json_int_t)t->bytes, "files", (json_int_t)t->files, "offsite",
	    strcmp(t->state ? t->state : "", "full") == 0));
}

static int
rep_error(const struct cat_error_count *e, void *arg)
{
	struct rep *p = arg;

	return j_append(p->errors, json_pack("{s:o,s:o,s:o,s:I}", "drive",
	    j_str(e->drive), "label", j_str(e->label), "kind", j_str(e->kind),
	    "count", (json_int_t)e->count));
}

static int
rep_pool(const struct cat_pool *po, void *arg)
{
	struct rep *p = arg;

	return j_append(p->pools, json_pack("{s:o,s:I,s:I,s:I,s:b}", "pool",
	    j_str(po->name), "tapes", (json_int_t)po->tapes, "writable",
	    (json_int_t)po->writable, "min_tapes", (json_int_t)po->min_tapes,
	    "low", po->min_tapes > 0 && po->writable < po->min_tapes));
}

/* A broken chain: an exception (its next dump is planned as a full). */
static int
rep_broken(const struct cat_broken_chain *b, void *arg)
{
	struct rep *p = arg;

	return j_append(p->broken, json_pack("{s:s,s:s,s:s}", "entity",
	    b->entity, "dump", b->dump_uid, "why", b->why));
}

/* Append printf-style text to a growing buffer (silently cut at 1 MiB). */
struct text {
	char *s;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
tx(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		n = t->s ? vsnprintf(t->s + t->len, room, fmt, ap) : -1;
		va_end(ap);
		if (t->s && n >= 0 && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		if (t->cap >= (1u << 20))
			return;
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *s = realloc(t->s, cap);
		if (!s)
			return;
		t->s = s;
		t->cap = cap;
		if (t->len == 0)
			t->s[0] = '\0';
	}
}

/* A string field or "-". */
static const char *
sf(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* An integer field. */
static long long
nf(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* The sections people read (abs-ctl report, syslog, the mail). */
static char *
rep_text(const char *night, json_t *r)
{
	struct text t = { NULL, 0, 0 };
	size_t i;
	json_t *v;

	tx(&t, "ABS nightly report for %s\n", night);
	json_array_foreach(json_object_get(r, "runs"), i, v)
		tx(&t, "run %lld on %s: %s (%s)\n", nf(v, "id"), sf(v, "drives"),
		    sf(v, "state"), sf(v, "detail"));
	tx(&t, "\ndumped (%zu):\n", json_array_size(json_object_get(r,
	    "dumped")));
	json_array_foreach(json_object_get(r, "dumped"), i, v)
		tx(&t, "  %-30s level %lld %12lld bytes %6.0f s %7.2f MB/s  %s\n",
		    sf(v, "entity"), nf(v, "level"), nf(v, "bytes"),
		    json_number_value(json_object_get(v, "seconds")),
		    json_number_value(json_object_get(v, "rate_mbs")),
		    sf(v, "tapes"));
	tx(&t, "\nfailed (%zu):\n", json_array_size(json_object_get(r,
	    "failed")));
	json_array_foreach(json_object_get(r, "failed"), i, v)
		tx(&t, "  %-30s attempt %lld on %s: %s\n", sf(v, "entity"),
		    nf(v, "attempt"), sf(v, "drive"), sf(v, "why"));
	tx(&t, "\nretried (%zu):\n", json_array_size(json_object_get(r,
	    "retries")));
	json_array_foreach(json_object_get(r, "retries"), i, v)
		tx(&t, "  %-30s %lld attempts, finally %s\n", sf(v, "entity"),
		    nf(v, "attempts"), sf(v, "result"));
	static const char *const lists[][2] = { { "overdue", "overdue" },
	    { "skipped", "skipped (window, limit, capacity)" },
	    { "not_started", "planned, not started" } };
	for (size_t l = 0; l < 3; l++) {
		tx(&t, "\n%s (%zu):\n", lists[l][1],
		    json_array_size(json_object_get(r, lists[l][0])));
		json_array_foreach(json_object_get(r, lists[l][0]), i, v)
			tx(&t, "  %-30s %s\n", sf(v, "entity"), sf(v, "reason"));
	}
	tx(&t, "\nbroken chains (%zu; a full is planned):\n",
	    json_array_size(json_object_get(r, "broken_chains")));
	json_array_foreach(json_object_get(r, "broken_chains"), i, v)
		tx(&t, "  %-30s %s\n", sf(v, "entity"), sf(v, "why"));
	tx(&t, "\nnew entities (%zu):", json_array_size(json_object_get(r,
	    "new")));
	json_array_foreach(json_object_get(r, "new"), i, v)
		tx(&t, " %s", sf(v, "entity"));
	tx(&t, "\nvanished entities (%zu):", json_array_size(json_object_get(r,
	    "vanished")));
	json_array_foreach(json_object_get(r, "vanished"), i, v)
		tx(&t, " %s", sf(v, "entity"));
	tx(&t, "\n\ntapes written (%zu):\n", json_array_size(json_object_get(r,
	    "tapes")));
	json_array_foreach(json_object_get(r, "tapes"), i, v)
		tx(&t, "  %-12s %-12s %lld files %lld bytes%s\n", sf(v, "label"),
		    sf(v, "state"), nf(v, "files"), nf(v, "bytes"),
		    json_is_true(json_object_get(v, "offsite")) ?
		    "  full: to go offsite" : "");
	tx(&t, "\nerrors (%zu):\n", json_array_size(json_object_get(r,
	    "errors")));
	json_array_foreach(json_object_get(r, "errors"), i, v)
		tx(&t, "  drive %s tape %s: %lld %s\n", sf(v, "drive"),
		    sf(v, "label"), nf(v, "count"), sf(v, "kind"));
	if (json_array_size(json_object_get(r, "in_portals")))
		tx(&t, "\ncartridges in library portals (%zu):\n",
		    json_array_size(json_object_get(r, "in_portals")));
	json_array_foreach(json_object_get(r, "in_portals"), i, v)
		tx(&t, "  %-12s %-12s library %s portal %lld\n", sf(v, "barcode"),
		    sf(v, "label"), sf(v, "library"), nf(v, "portal"));
	if (json_array_size(json_object_get(r, "cleaning_expended")))
		tx(&t, "\nexpended cleaning cartridges (%zu):\n",
		    json_array_size(json_object_get(r, "cleaning_expended")));
	json_array_foreach(json_object_get(r, "cleaning_expended"), i, v)
		tx(&t, "  %-12s library %s, %lld uses: replace it\n", sf(v,
		    "barcode"), sf(v, "library"), nf(v, "uses"));
	tx(&t, "\npools:\n");
	json_array_foreach(json_object_get(r, "pools"), i, v)
		tx(&t, "  %-12s %lld writable of %lld, minimum %lld%s\n",
		    sf(v, "pool"), nf(v, "writable"), nf(v, "tapes"),
		    nf(v, "min_tapes"), json_is_true(json_object_get(v, "low")) ?
		    "  BELOW MINIMUM" : "");
	return t.s ? t.s : strdup("");
}

/* Entities tried more than once, and how they ended. */
static void
rep_retries(struct rep *p)
{
	const char *e;
	json_t *v;

	json_object_foreach(p->jobs_by_entity, e, v)
		if (json_integer_value(json_object_get(v, "attempts")) > 1)
			json_array_append_new(p->retries, json_pack("{s:s,s:I,s:O}",
			    "entity", e, "attempts", (json_int_t)json_integer_value(
			    json_object_get(v, "attempts")), "result",
			    json_object_get(v, "state")));
}

/* The report of a night as JSON with its text; NULL and err on failure. */
json_t *
night_report(struct ctld *c, const char *night, char *err)
{
	struct rep p = { json_array(), json_array(), json_array(), json_array(),
	    json_array(), json_array(), json_array(), json_array(), json_array(),
	    json_array(), json_array(), json_array(), json_object(),
	    json_array() };
	json_t *out;
	char *text;
	int rc;

	if ((rc = cat_night_runs(c->db, night, rep_run, &p, err)) < 0 ||
	    (rc = cat_run_jobs(c->db, 0, night, rep_job, &p, err)) < 0 ||
	    (rc = cat_run_plan_list(c->db, 0, night, rep_plan, &p, err)) < 0 ||
	    (rc = cat_night_entities(c->db, night, rep_change, &p, err)) < 0 ||
	    (rc = cat_night_tapes(c->db, night, rep_tape, &p, err)) < 0 ||
	    (rc = cat_night_errors(c->db, night, rep_error, &p, err)) < 0 ||
	    (rc = cat_pools_list(c->db, rep_pool, &p, err)) < 0 ||
	    (rc = cat_chains_broken(c->db, rep_broken, &p, err)) < 0) {
		out = NULL;
		goto done;
	}
	rep_retries(&p);
	out = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}",
	    "night", night, "runs", p.runs, "dumped", p.dumped, "failed",
	    p.failed, "retries", p.retries, "overdue", p.overdue, "skipped",
	    p.skipped, "not_started", p.not_started, "new", p.new_ents,
	    "vanished", p.vanished, "tapes", p.tapes, "errors", p.errors,
	    "pools", p.pools);
	if (out)
		json_object_set(out, "broken_chains", p.broken);
	if (out && ctld_library_report(c, out, err) < 0) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	if (out && (text = rep_text(night, out))) {
		json_object_set_new(out, "text", json_string(text));
		free(text);
	}
done:
	json_decref(p.runs); json_decref(p.dumped); json_decref(p.failed);
	json_decref(p.retries); json_decref(p.overdue); json_decref(p.skipped);
	json_decref(p.not_started); json_decref(p.new_ents);
	json_decref(p.vanished); json_decref(p.tapes); json_decref(p.errors);
	json_decref(p.pools); json_decref(p.jobs_by_entity);
	json_decref(p.broken);
	return out;
}

/* The newest run's night. */
static int
newest_night(const struct cat_run *r, void *arg)
{
	snprintf(arg, 16, "%s", r->night ? r->night : "");
	return 1;
}

json_t *
h_report(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char night[16] = "", dberr[CAT_ERRLEN];
	const char *want = arg_str(a, "night");
	time_t t;
	json_t *r;
	int rc;
	(void)cl;

	if (want && (strlen(want) != 10 || util_parse_time(want, &t) < 0 ||
	    (util_fmt_time(t, night, sizeof(night)), strncmp(night, want, 10))))
		FAIL("bad-args", "--night: a date, YYYY-MM-DD, not %.32s", want);
	if (want)
		snprintf(night, sizeof(night), "%s", want);
	else if ((rc = cat_runs_list(c->db, 0, 1, newest_night, night,
	    dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (!night[0])
		night_date(clock_now(), night, sizeof(night));
	if (!(r = night_report(c, night, dberr)))
		return cat_failed(code, err, -EIO, dberr);
	return r;
}
