/*
 * The planner's side of the nightly run: its input filled from the
 * catalog (entities, rules, history, drive rates), the plan request (one
 * night or several ahead, assuming each runs as estimated), and the two
 * old queries that now answer from it, next-entities and next-tapes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/util.h"
#include "control/night_int.h"

/* The night's date (local) of t. */
void
night_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* The next 07:00 local after now, at least an hour ahead. */
time_t
night_default_end(time_t now)
{
	struct tm tm;
	time_t end;

	localtime_r(&now, &tm);
	tm.tm_hour = 7;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	end = mktime(&tm);
	while (end < now + 3600)
		end += 86400;
	return end;
}

/* YYYY-MM-DD[THH:MM:SSZ], or HH:MM local: the next such time after now. */
int
night_parse_time(const char *s, time_t now, time_t *out)
{
	unsigned h, m;
	char tail;
	struct tm tm;

	if (!s)
		return -EINVAL;
	if (sscanf(s, "%2u:%2u%c", &h, &m, &tail) == 2 && h < 24 && m < 60) {
		localtime_r(&now, &tm);
		tm.tm_hour = (int)h;
		tm.tm_min = (int)m;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		*out = mktime(&tm);
		if (*out <= now)
			*out += 86400;
		return 0;
	}
	return util_parse_time(s, out);
}

/*
 * A drive's rate is measured on dumps of 64 MiB or more: a small one
 * takes its second of overhead whatever the drive (with none, the
 * planner's default rate).
 */
#define NIGHT_RATE_MIN_BYTES (64 << 20)

/* Keep a copy of s in ni (freed with it); NULL stays NULL. */
static const char *
keep_str(struct night_input *ni, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	if (ni->nstrs == ni->capstrs) {
		size_t cap = ni->capstrs ? ni->capstrs * 2 : 256;
		char **v = realloc(ni->strs, cap * sizeof(*v));
		if (!v)
			return NULL;
		ni->strs = v;
		ni->capstrs = cap;
	}
	if (!(d = strdup(s)))
		return NULL;
	ni->strs[ni->nstrs++] = d;
	return d;
}

/* A catalog date, or 0. */
static time_t
cat_time(const char *s)
{
	time_t t;

	return s && util_parse_time(s, &t) == 0 ? t : 0;
}

/* A subnet into the input (its id kept to map servers). */
static int
input_subnet(const struct cat_subnet *sn, void *arg)
{
	struct night_input *ni = arg;
	struct plan_subnet *v;
	int64_t *ids;

	if (!(v = realloc(ni->subnets, (size_t)(ni->in.nsubnets + 1) *
	    sizeof(*v))) || (ni->subnets = v, !(ids = realloc(ni->subnet_ids,
	    (size_t)(ni->in.nsubnets + 1) * sizeof(*ids)))))
		return -ENOMEM;
	ni->subnet_ids = ids;
	v[ni->in.nsubnets] = (struct plan_subnet){ .name = keep_str(ni, sn->name),
	    .max_dumps = (int)sn->max_dumps };
	ids[ni->in.nsubnets++] = sn->id;
	return 0;
}

/* A server into the input, in its subnet. */
static int
input_server(const struct cat_server *sv, void *arg)
{
	struct night_input *ni = arg;
	struct plan_server *v;
	int64_t *ids;
	int sub = -1;

	for (int i = 0; sv->subnet_id != CAT_NULL && i < ni->in.nsubnets; i++)
		if (ni->subnet_ids[i] == sv->subnet_id)
			sub = i;
	if (!(v = realloc(ni->servers, (size_t)(ni->in.nservers + 1) *
	    sizeof(*v))) || (ni->servers = v, !(ids = realloc(ni->server_ids,
	    (size_t)(ni->in.nservers + 1) * sizeof(*ids)))))
		return -ENOMEM;
	ni->server_ids = ids;
	v[ni->in.nservers] = (struct plan_server){ .name = keep_str(ni, sv->name),
	    .subnet = sub, .max_dumps = (int)sv->max_dumps };
	ids[ni->in.nservers++] = sv->id;
	return 0;
}

/* The index of server id in the input, or -1. */
static int
server_index(const struct night_input *ni, int64_t id)
{
	for (int i = 0; id != CAT_NULL && i < ni->in.nservers; i++)
		if (ni->server_ids[i] == id)
			return i;
	return -1;
}

/* A window of a type or an entity, kept until each entity gets its own. */
static int
input_window(const struct cat_window *w, void *arg)
{
	struct night_input *ni = arg;
	struct night_window *v = realloc(ni->allwins, (ni->nallwins + 1) *
	    sizeof(*v));

	if (!v)
		return -ENOMEM;
	ni->allwins = v;
	v[ni->nallwins++] = (struct night_window){ .type = keep_str(ni, w->type),
	    .entity = keep_str(ni, w->entity), .w = { .days = (unsigned)w->days,
	    .start_min = (int)w->start_min, .end_min = (int)w->end_min } };
	return 0;
}

/* Whether window k applies to entity i as its own (1) or its type's (2). */
static int
window_of(const struct night_input *ni, size_t k, int i)
{
	const struct night_window *w = &ni->allwins[k];

	if (w->entity)
		return strcmp(w->entity, ni->ents[i].name) == 0 ? 1 : 0;
	return w->type && ni->ents[i].type && strcmp(w->type,
	    ni->ents[i].type) == 0 ? 2 : 0;
}

/*
 * Each entity's forbidden windows: its own, else its type's, copied into
 * one array (counted first, so that the pointers stay put).
 */
static int
input_windows_assign(struct night_input *ni)
{
	size_t total = 0, at = 0;
	int *own = calloc((size_t)ni->in.nentities + 1, sizeof(*own));

	if (!own)
		return -ENOMEM;
	for (int i = 0; i < ni->in.nentities; i++) {
		size_t n1 = 0, n2 = 0;
		for (size_t k = 0; k < ni->nallwins; k++)
			switch (window_of(ni, k, i)) {
			case 1: n1++; break;
			case 2: n2++; break;
			}
		own[i] = n1 ? 1 : 2;
		total += n1 ? n1 : n2;
	}
	if (total && !(ni->wins = calloc(total, sizeof(*ni->wins)))) {
		free(own);
		return -ENOMEM;
	}
	for (int i = 0; i < ni->in.nentities; i++) {
		size_t first = at;	/* no pointer arithmetic on a NULL wins */

		for (size_t k = 0; k < ni->nallwins; k++)
			if (window_of(ni, k, i) == own[i])
				ni->wins[at++] = ni->allwins[k].w;
		ni->ents[i].nwindows = (int)(at - first);
		ni->ents[i].windows = at > first ? ni->wins + first : NULL;
	}
	ni->nwins = total;
	free(own);
	return 0;
}

/* An entity of the catalog into the planner's input. */
static int
input_entity(const struct cat_entity *e, void *arg)
{
	struct night_input *ni = arg;
	struct plan_entity *pe;

	if (ni->in.nentities == ni->cap) {
		int cap = ni->cap ? ni->cap * 2 : 64;
		struct plan_entity *v = realloc(ni->ents, (size_t)cap * sizeof(*v));
		const char **pools;
		int64_t *ids;
		if (!v)
			return -ENOMEM;
		ni->ents = v;
		if (!(ids = realloc(ni->ids, (size_t)cap * sizeof(*ids))))
			return -ENOMEM;
		ni->ids = ids;
		if (!(pools = realloc(ni->pools, (size_t)cap * sizeof(*pools))))
			return -ENOMEM;
		ni->pools = pools;
		ni->cap = cap;
	}
	pe = &ni->ents[ni->in.nentities];
	memset(pe, 0, sizeof(*pe));
	pe->name = keep_str(ni, e->name);
	pe->type = keep_str(ni, e->type);
	if (!pe->name)
		return -ENOMEM;
	pe->server = server_index(ni, e->server_id);
	pe->priority = e->priority == CAT_NULL ? 0 : (int)e->priority;
	pe->full_days = e->full_every_days == CAT_NULL ? 7 :
	    (int)e->full_every_days;
	pe->incr_days = e->incr_every_days == CAT_NULL ? 1 :
	    (int)e->incr_every_days;
	pe->max_level = e->max_level == CAT_NULL ? 1 : (int)e->max_level;
	pe->not_before = cat_time(e->not_before);
	pe->added = cat_time(e->added);
	pe->inactive = !e->active;
	pe->vanished = e->vanished != NULL;
	/* A new entity's full: what its discovery listed, else its type's. */
	pe->type_estimate = e->listed_bytes != CAT_NULL && e->listed_bytes > 0 ?
	    e->listed_bytes : e->estimate_bytes != CAT_NULL ?
	    e->estimate_bytes : 0;
	ni->pools[ni->in.nentities] = keep_str(ni, e->pool);
	ni->ids[ni->in.nentities++] = e->id;
	return 0;
}

/* The index of entity id in ni (ids ascend: entities were listed so). */
static int
entity_index(const struct night_input *ni, int64_t id)
{
	int lo = 0, hi = ni->in.nentities - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (ni->ids[mid] == id)
			return mid;
		if (ni->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* The newest complete dump of an entity at a level. */
static int
input_history(const struct cat_history *h, void *arg)
{
	struct night_input *ni = arg;
	int i = entity_index(ni, h->entity_id);
	struct plan_dump *d;
	time_t s, f;

	if (i < 0 || strcmp(h->state, "complete") != 0 || h->level < 0 ||
	    h->level > PLAN_MAX_LEVEL)
		return 0;
	d = &ni->ents[i].last[h->level];
	s = cat_time(h->started);
	f = cat_time(h->finished);
	d->date = s;
	d->bytes = h->bytes == CAT_NULL ? 0 : h->bytes;
	d->seconds = f > s ? (double)(f - s) : 0;
	return 0;
}

/* An entity whose current chain is broken: its next dump is a full. */
static int
input_broken(const struct cat_broken_chain *b, void *arg)
{
	struct night_input *ni = arg;

	for (int i = 0; i < ni->in.nentities; i++)
		if (strcmp(ni->ents[i].name, b->entity) == 0)
			ni->ents[i].must_full = 1;
	return 0;
}

/* A drive's measured rate into the input, if it is one of its drives. */
static int
input_rate(const struct cat_drive_rate *r, void *arg)
{
	struct night_input *ni = arg;

	for (int i = 0; i < ni->in.ndrives; i++)
		if (strcmp(ni->drives[i].name, r->drive) == 0)
			ni->drives[i].rate = r->rate;
	return 0;
}

/* Sort entities by catalog id (the history's lookup). */
static int
by_id(const void *a, const void *b, void *arg)
{
	const int64_t *ids = arg;
	int64_t x = ids[*(const int *)a], y = ids[*(const int *)b];

	return x < y ? -1 : x > y;
}

/* Entities ordered by id, ids with them. */
static int
input_sort(struct night_input *ni)
{
	int n = ni->in.nentities, *ix = malloc((size_t)(n ? n : 1) * sizeof(*ix));
	struct plan_entity *e = malloc((size_t)(n ? n : 1) * sizeof(*e));
	int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof(*ids));
	const char **pools = malloc((size_t)(n ? n : 1) * sizeof(*pools));

	if (!ix || !e || !ids || !pools) {
		free(ix);
		free(e);
		free(ids);
		free(pools);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, (size_t)n, sizeof(*ix), by_id, ni->ids);
	for (int i = 0; i < n; i++) {
		e[i] = ni->ents[ix[i]];
		ids[i] = ni->ids[ix[i]];
		pools[i] = ni->pools[ix[i]];
	}
	free(ix);
	free(ni->ents);
	free(ni->ids);
	free(ni->pools);
	ni->ents = e;
	ni->ids = ids;
	ni->pools = pools;
	ni->cap = n;
	return 0;
}

/* Fill the planner's input from the catalog (night_int.h). */
int
night_input_fill(struct ctld *c, time_t now, time_t end,
    char *const *drives, size_t ndrives, struct night_input *ni, char *err)
{
	struct tm tm;
	int rc;

	memset(ni, 0, sizeof(*ni));
	localtime_r(&now, &tm);
	ni->in.now = now;
	ni->in.end = end;
	ni->in.tz_offset = tm.tm_gmtoff;
	if (drives)
		for (size_t i = 0; i < ndrives && i < NIGHT_MAX_DRIVES; i++)
			ni->drives[ni->in.ndrives++].name = keep_str(ni, drives[i]);
	else
		for (struct drive *d = c->drives; d && ni->in.ndrives <
		    NIGHT_MAX_DRIVES; d = d->next)
			ni->drives[ni->in.ndrives++].name = keep_str(ni, d->name);
	ni->in.drives = ni->drives;
	if ((rc = cat_subnets_list(c->db, input_subnet, ni, err)) < 0 ||
	    (rc = cat_servers_list(c->db, input_server, ni, err)) < 0 ||
	    (rc = cat_entities_list(c->db, input_entity, ni, err)) < 0 ||
	    (rc = input_sort(ni)) < 0 ||
	    (rc = cat_windows_list(c->db, NULL, NULL, input_window, ni,
	    err)) < 0 || (rc = input_windows_assign(ni)) < 0 ||
	    (rc = cat_history_last(c->db, input_history, ni, err)) < 0 ||
	    (rc = cat_chains_broken(c->db, input_broken, ni, err)) < 0 ||
	    (rc = cat_drive_rates(c->db, 20, NIGHT_RATE_MIN_BYTES, input_rate, ni,
	    err)) < 0) {
		if (rc == -ENOMEM)
			snprintf(err, CAT_ERRLEN, "out of memory");
		night_input_free(ni);
		return rc;
	}
	ni->in.entities = ni->ents;
	ni->in.servers = ni->servers;
	ni->in.subnets = ni->subnets;
	return 0;
}

void
night_input_free(struct night_input *ni)
{
	for (size_t i = 0; i < ni->nstrs; i++)
		free(ni->strs[i]);
	free(ni->strs);
	free(ni->ents);
	free(ni->ids);
	free(ni->pools);
	free(ni->wins);
	free(ni->allwins);
	free(ni->servers);
	free(ni->server_ids);
	free(ni->subnets);
	free(ni->subnet_ids);
	memset(ni, 0, sizeof(*ni));
}

/* A date for a reply, or null for none. */
static json_t *
j_time(time_t t)
{
	char buf[32];

	if (!t)
		return json_null();
	util_fmt_time(t, buf, sizeof(buf));
	return json_string(buf);
}

/* Entities a plan reply lists at most (the rest are counted). */
#define PLAN_JSON_MAX 5000

/*
 * One night's plan as JSON: per entity (those dumped or kept back for a
 * reason; not due ones counted), per drive, overdue, totals.
 */
static json_t *
plan_json(const struct night_input *ni, const struct plan_out *po,
    time_t now)
{
	json_t *ents = json_array(), *drives = json_array(), *over = json_array();
	json_t *o;
	int quiet = 0, omitted = 0;
	char night[16];

	for (int i = 0; i < po->nitems; i++) {
		const struct plan_item *it = &po->items[i];
		/* Those with nothing to say are counted, not listed. */
		if (!it->dump && (it->reason == PLAN_NOT_DUE || it->reason ==
		    PLAN_INCR_NOT_DUE || it->reason == PLAN_INACTIVE)) {
			quiet++;
			continue;
		}
		/* A reply a client can read (PROTO_MAX_REPLY). */
		if (json_array_size(ents) >= PLAN_JSON_MAX) {
			omitted++;
			continue;
		}
		json_array_append_new(ents, json_pack("{s:s,s:b,s:i,s:I,s:f,s:s,"
		    "s:o,s:i,s:o,s:o,s:o,s:i}", "entity", ni->ents[i].name,
		    "dump", it->dump, "level", it->level, "bytes",
		    (json_int_t)it->bytes, "seconds", it->seconds, "reason",
		    plan_reason_name(it->reason), "drive", it->drive >= 0 ?
		    json_string(ni->drives[it->drive].name) : json_null(),
		    "position", it->position, "start", it->dump ?
		    j_time(now + (time_t)it->start) : json_null(), "end",
		    it->dump ? j_time(now + (time_t)it->end) : json_null(),
		    "since", j_time(it->base_date), "full_due_in",
		    it->full_due_in));
	}
	for (int d = 0; d < po->ndrives; d++) {
		json_t *order = json_array();
		for (int k = 0; k < po->drives[d].n; k++)
			json_array_append_new(order,
			    json_string(ni->ents[po->drives[d].order[k]].name));
		json_array_append_new(drives, json_pack("{s:s,s:o,s:I,s:f,s:o}",
		    "drive", ni->drives[d].name, "order", order, "bytes",
		    (json_int_t)po->drives[d].bytes, "seconds", po->drives[d].end,
		    "expected_end", j_time(now + (time_t)po->drives[d].end)));
	}
	for (int k = 0; k < po->noverdue; k++)
		json_array_append_new(over, json_pack("{s:s,s:i,s:i,s:b,s:s}",
		    "entity", ni->ents[po->overdue[k].entity].name,
		    "days_since_full", po->overdue[k].days_since_full,
		    "full_days", po->overdue[k].full_days, "full_tonight",
		    po->overdue[k].full_tonight, "why",
		    plan_reason_name(po->overdue[k].why)));
	night_date(now, night, sizeof(night));
	o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:i,s:i,s:i,s:i}",
	    "night", night, "at", j_time(now), "entities", ents, "drives",
	    drives, "overdue", over, "full_bytes", (json_int_t)po->full_bytes,
	    "incr_bytes", (json_int_t)po->incr_bytes, "capacity_bytes",
	    (json_int_t)po->capacity_bytes, "fulls", po->nfull, "incrementals",
	    po->nincr, "not_due", quiet, "not_listed", omitted);
	/* dumps dated after now: the clock is behind the catalog */
	if (o && po->nclock_behind)
		json_object_set_new(o, "clock_behind", json_pack("{s:i,s:o,s:o}",
		    "entities", po->nclock_behind, "newest",
		    j_time(po->clock_newest), "now", j_time(now)));
	return o;
}

/* The night planned as run (plan_project); the next starts a day later. */
static void
plan_advance(struct night_input *ni, const struct plan_out *po)
{
	plan_project(ni->ents, ni->in.nentities, po, ni->in.now);
	ni->in.now += 86400;
	ni->in.end += 86400;
}

/* Split "d0,d1" into names (at most NIGHT_MAX_DRIVES): the count or -1. */
static int
split_drives(char *s, char **v)
{
	int n = 0;

	for (char *save = NULL, *w = strtok_r(s, ", ", &save); w;
	    w = strtok_r(NULL, ", ", &save)) {
		if (n == NIGHT_MAX_DRIVES || !cat_name_valid(w))
			return -1;
		v[n++] = w;
	}
	return n;
}

json_t *
h_plan(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	time_t now = clock_now(), end;
	int64_t nights = arg_num(a, "nights", 1);
	char dberr[CAT_ERRLEN], perr[PLAN_ERRLEN], buf[1024], *dv[NIGHT_MAX_DRIVES];
	struct night_input ni;
	json_t *out;
	int nd = 0, rc;
	(void)cl;

	if (arg_str(a, "at") && night_parse_time(arg_str(a, "at"), now, &now) < 0)
		FAIL("bad-args", "--at: YYYY-MM-DD[THH:MM:SSZ] or HH:MM, not %s",
		    arg_str(a, "at"));
	if (nights < 1 || nights > 400)
		FAIL("bad-args", "--nights: 1..400");
	if (arg_str(a, "drives")) {
		snprintf(buf, sizeof(buf), "%s", arg_str(a, "drives"));
		if ((nd = split_drives(buf, dv)) <= 0)
			FAIL("bad-args", "--drives: up to %d drive names, comma-"
			    "separated", NIGHT_MAX_DRIVES);
	}
	/* The checks of run: each drive once, with its media server. */
	for (int i = 0; i < nd; i++)
		for (int k = 0; k < i; k++)
			if (strcmp(dv[k], dv[i]) == 0)
				FAIL("bad-args", "plan: drive %s named twice", dv[i]);
	for (int i = 0; i < nd; i++) {
		struct drive *d = ctld_drive(c, dv[i], false);
		if (!d || !d->engine)
			FAIL(PROTO_E_NO_DRIVE, "drive %.64s has no media server"
			    " connected", dv[i]);
	}
	end = night_default_end(now);
	if ((rc = night_input_fill(c, now, end, nd ? dv : NULL, (size_t)nd, &ni,
	    dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (ni.in.ndrives == 0) {
		night_input_free(&ni);
		FAIL("no-drive", "no drive to plan for: name them with --drives, or"
		    " start a media server");
	}
	out = json_array();
	for (int64_t k = 0; k < nights; k++) {
		struct plan_out po;
		time_t at = ni.in.now;
		if ((rc = plan_night(&ni.in, &po, perr)) < 0) {
			night_input_free(&ni);
			json_decref(out);
			FAIL(PROTO_E_INTERNAL, "the planner: %.200s", perr);
		}
		json_array_append_new(out, plan_json(&ni, &po, at));
		plan_advance(&ni, &po);
		plan_out_free(&po);
	}
	night_input_free(&ni);
	if (nights == 1) {
		json_t *one = json_incref(json_array_get(out, 0));
		json_decref(out);
		return one;
	}
	return json_pack("{s:o}", "nights", out);
}

/* Tonight's plan on every drive registered, or -1 (no drive, a failure). */
static int
plan_tonight(struct ctld *c, struct night_input *ni, struct plan_out *po)
{
	time_t now = clock_now();
	char err[CAT_ERRLEN];

	if (night_input_fill(c, now, night_default_end(now), NULL, 0, ni,
	    err) < 0)
		return -1;
	if (ni->in.ndrives == 0 || plan_night(&ni->in, po, err) < 0) {
		night_input_free(ni);
		return -1;
	}
	return 0;
}

/* next-entities' rows: the old fields, and the plan's. */
struct next_ents {
	json_t *rows;
	const struct night_input *ni;
	const struct plan_out *po;
};

/* An entity due (the catalog's order), with what tonight's plan says. */
static int
next_due_row(const struct cat_due *d, void *arg)
{
	struct next_ents *ne = arg;
	json_t *r = json_pack("{s:o,s:o,s:o,s:o,s:o}", "entity",
	    j_str(d->entity), "kind", j_str(d->kind), "due", j_str(d->due),
	    "last_full", j_str(d->last_full), "last_dump", j_str(d->last_dump));

	for (int i = 0; r && ne->po && i < ne->po->nitems; i++) {
		const struct plan_item *it = &ne->po->items[i];
		if (strcmp(ne->ni->ents[i].name, d->entity ? d->entity : ""))
			continue;
		json_object_set_new(r, "tonight", json_boolean(it->dump));
		json_object_set_new(r, "level", json_integer(it->level));
		json_object_set_new(r, "reason",
		    json_string(plan_reason_name(it->reason)));
		json_object_set_new(r, "estimate_bytes", json_integer(it->bytes));
		json_object_set_new(r, "drive", it->drive >= 0 ?
		    json_string(ne->ni->drives[it->drive].name) : json_null());
		json_object_set_new(r, "start", it->dump ?
		    j_time(ne->ni->in.now + (time_t)it->start) : json_null());
		json_object_set_new(r, "order", json_real(it->dump ? it->start :
		    1e12));
		break;
	}
	return j_append(ne->rows, r);
}

/* Planned tonight first, by expected start; then the catalog's order. */
static int
by_start(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double u = json_number_value(json_object_get(x, "order")),
	    v = json_number_value(json_object_get(y, "order"));

	if (!json_object_get(x, "order"))
		u = 1e12;
	if (!json_object_get(y, "order"))
		v = 1e12;
	if (u != v)
		return u < v ? -1 : 1;
	u = (double)json_integer_value(json_object_get(x, "_i"));
	v = (double)json_integer_value(json_object_get(y, "_i"));
	return u < v ? -1 : u > v;
}

json_t *
h_next_entities(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	int64_t count = arg_num(a, "count", 10);
	struct night_input ni;
	struct plan_out po;
	struct next_ents ne = { json_array(), NULL, NULL };
	char dberr[CAT_ERRLEN];
	json_t **v, *out;
	size_t n;
	int rc;
	(void)cl;

	if (plan_tonight(c, &ni, &po) == 0) {
		ne.ni = &ni;
		ne.po = &po;
	}
	/* Every entity, so that the plan's order can pick the first ones. */
	rc = cat_entities_next(c->db, ne.po ? INT32_MAX : count, next_due_row,
	    &ne, dberr);
	if (ne.po) {
		plan_out_free(&po);
		night_input_free(&ni);
	}
	if (!(out = j_list(ne.rows, rc, dberr, code, err)))
		return NULL;
	n = json_array_size(out);
	if (!(v = calloc(n + 1, sizeof(*v)))) {
		json_decref(out);
		return cat_failed(code, err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = json_incref(json_array_get(out, i));
		json_object_set_new(v[i], "_i", json_integer((json_int_t)i));
	}
	qsort(v, n, sizeof(*v), by_start);
	json_array_clear(out);
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "order");
		json_object_del(v[i], "_i");
		if ((int64_t)i < count)
			json_array_append(out, v[i]);
		json_decref(v[i]);
	}
	free(v);
	return out;
}

/* A pool's full tapes: how many and their bytes (a cartridge's size). */
static int
full_tape_row(const struct cat_tape *t, void *arg)
{
	int64_t *v = arg;

	if (strcmp(t->state, "full") == 0 && t->bytes > 0) {
		v[0]++;
		v[1] += t->bytes;
	}
	return 0;
}

/* next-tapes' rows with whether tonight's plan is expected to reach each. */
struct next_tapes {
	json_t *rows;
	int64_t left;		/* planned bytes not placed yet */
	int64_t size;		/* a cartridge's bytes; 0: unknown */
};

static int
next_tape_plan_row(const struct cat_tape *t, void *arg)
{
	struct next_tapes *nt = arg;
	json_t *r = j_next_tape(t);
	int64_t room;

	if (r && nt->size > 0) {
		room = strcmp(t->state, "appendable") == 0 ? nt->size - t->bytes :
		    nt->size;
		json_object_set_new(r, "tonight", json_boolean(nt->left > 0));
		nt->left -= room > 0 ? room : 0;
	} else if (r) {
		json_object_set_new(r, "tonight", json_null());
	}
	return j_append(nt->rows, r);
}

json_t *
h_next_tapes(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *pool = arg_str(a, "pool") ? arg_str(a, "pool") : "default";
	struct next_tapes nt = { json_array(), 0, 0 };
	int64_t full[2] = { 0, 0 };
	struct night_input ni;
	struct plan_out po;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (plan_tonight(c, &ni, &po) == 0) {
		for (int i = 0; i < po.nitems; i++)
			if (po.items[i].dump && ni.pools[i] &&
			    strcmp(ni.pools[i], pool) == 0)
				nt.left += po.items[i].bytes;
		plan_out_free(&po);
		night_input_free(&ni);
	}
	if ((rc = cat_tapes_list(c->db, pool, full_tape_row, full, dberr)) < 0) {
		json_decref(nt.rows);
		return cat_failed(code, err, rc, dberr);
	}
	nt.size = full[0] ? full[1] / full[0] : 0;
	return j_list(nt.rows, cat_tapes_next(c->db, pool, arg_num(a, "count",
	    10), next_tape_plan_row, &nt, dberr), dberr, code, err);
}
