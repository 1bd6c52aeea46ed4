/*
 * The planner (planner/plan.h; docs/PLANNER.md says how it decides).
 *
 * Three steps, each linear or n log n in the entities:
 *   1. classify: per entity its state (skip, must full, due, not due), its
 *      full and incremental estimates, its incremental level (the bump
 *      rule);
 *   2. select: tonight's fulls against a target share of the cycle, with
 *      a look-ahead over the horizon (delay due fulls to a lighter
 *      tomorrow, promote fulls from crowded future nights), within the
 *      drives' time;
 *   3. schedule: list scheduling on the drives in rank order, each dump
 *      started only where its windows, its server's and its subnet's
 *      limits and the night's end allow.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/plan.h"

#define DAY 86400
/* A dump this much younger than a whole day still counts as a night ago
   (tonight may start a little later than last night did). */
#define DAY_SLACK 7200
/* A night's dumps are those of the NIGHT_SPAN - DAY_SLACK before its end
   (the night's reference is NIGHT_SPAN before the end, or now when that
   is later): every run of one night (one end) agrees on what is done. */
#define NIGHT_SPAN (20 * 3600)
#define MAX_HORIZON 400
#define MAX_BUDGET (7 * DAY)
#define MAX_TZ (26 * 3600)
/* Frequencies past this many days are taken as this (no overflow). */
#define MAX_DAYS 100000
/* Fulls due within this many nights may be promoted past the target
   while tonight stays lighter than the night they leave. */
#ifndef PROMOTE_NEAR
#define PROMOTE_NEAR 1
#endif

static const char *const reason_names[PLAN_NREASONS] = {
	[PLAN_DUE] = "due",
	[PLAN_OVERDUE] = "overdue",
	[PLAN_PROMOTED] = "promoted",
	[PLAN_DELAYED] = "delayed",
	[PLAN_WINDOW] = "window",
	[PLAN_SERVER_LIMIT] = "server-limit",
	[PLAN_SUBNET_LIMIT] = "subnet-limit",
	[PLAN_NEW] = "new",
	[PLAN_NOT_DUE] = "not-due",
	[PLAN_VANISHED] = "vanished",
	[PLAN_CAPACITY] = "capacity",
	[PLAN_MUST_FULL] = "must-full",
	[PLAN_INCR_NOT_DUE] = "incr-not-due",
	[PLAN_NOT_BEFORE] = "not-before",
	[PLAN_INACTIVE] = "inactive",
	[PLAN_DONE_TONIGHT] = "done-tonight",
	[PLAN_CLOCK_BEHIND] = "clock-behind",
};

/* What an entity is tonight, before selection. */
enum state {
	ST_SKIP,		/* not dumped at all (reason set) */
	ST_MUST,		/* a full that may not wait (new, must_full,
				   a day past its frequency) */
	ST_DUE,			/* a full due tonight that may wait a day */
	ST_NOTDUE,		/* a full due in nd nights */
	ST_DONE,		/* dumped earlier tonight: nothing more, but
				   its bytes and its fulls ahead count in
				   the balance */
};

/* Per entity working state. */
struct work {
	enum state st;
	int fd;			/* full frequency, >= 1 */
	int nd;			/* nights until the full is due (0: due) */
	int incr_level;		/* the incremental tonight, -1: none */
	int incr_ok;		/* an incremental is due tonight */
	int full;		/* selected for a full */
	int delayed, promoted;
	int64_t full_bytes, incr_bytes;
	double src_rate;	/* the source's own rate (bytes/s), 0: no
				   limit known */
	double earliest;	/* not_before, in seconds after now */
	int rank_class;
	/* scheduling */
	int next;		/* the unscheduled list */
	double wait_until;	/* a window forbids a start before this */
	enum plan_reason blocked; /* the last thing that kept it waiting */
	double rate;		/* bytes changed per day */
	int64_t done_bytes;	/* ST_DONE: what it wrote tonight */
	int converted;		/* its full found no room: an incremental */
	enum plan_reason conv_reason; /* what kept the full out */
};

struct ctx {
	const struct plan_input *in;
	const struct plan_params *p;
	struct plan_out *out;
	struct work *w;
	double mean_rate;
	double budget;
	time_t ref;		/* the night's reference: ages count from
				   it (min(now, end - NIGHT_SPAN)) */
	char *err;
	const int64_t *load, *incr;	/* the look-ahead (promotions) */
};

/* The reason's name. */
const char *
plan_reason_name(enum plan_reason reason)
{
	if ((unsigned)reason >= PLAN_NREASONS)
		return "unknown";
	return reason_names[reason];
}

/* Fill params with the defaults (docs/PLANNER.md argues for them). */
void
plan_params_default(struct plan_params *p)
{
	memset(p, 0, sizeof(*p));
	p->default_rate = 300e6;
	p->default_estimate = 10LL << 30;
	p->change_fraction = 0.02;
	p->overhead = 5;
	p->fill = 0.9;
	p->bump_bytes = 1LL << 30;
	p->bump_mult = 2;
	p->bump_percent = 0.1;
	p->bump_days = 2;
	p->horizon = 0;
	p->min_rate = 1e6;
}

/* Release what plan_night() allocated. */
void
plan_out_free(struct plan_out *out)
{
	int d;

	if (!out)
		return;
	if (out->drives)
		for (d = 0; d < out->ndrives; d++)
			free(out->drives[d].order);
	free(out->drives);
	free(out->items);
	free(out->overdue);
	free(out->forecast);
	memset(out, 0, sizeof(*out));
}

/* Whole nights from date to now: a dump of last night is 1, one made
   tonight 0 (see DAY_SLACK). */
static int
nights_since(time_t date, time_t now)
{
	long long age = (long long)now - (long long)date - DAY_SLACK;

	if (age <= 0)
		return 0;
	return (int)((age + DAY - 1) / DAY);
}

/* Check the input's indices and values; 0 or -EINVAL with err said. */
static int
check_input(const struct plan_input *in, char *err)
{
	int i, k;

	if (in->ndrives < 0 || in->nservers < 0 || in->nsubnets < 0 ||
	    in->nentities < 0 || (in->ndrives && !in->drives) ||
	    (in->nservers && !in->servers) || (in->nsubnets && !in->subnets) ||
	    (in->nentities && !in->entities)) {
		snprintf(err, PLAN_ERRLEN, "a count is negative or an array "
		    "missing");
		return -EINVAL;
	}
	if (in->end < in->now) {
		snprintf(err, PLAN_ERRLEN, "the night ends before it starts");
		return -EINVAL;
	}
	if ((long long)in->end - (long long)in->now > MAX_BUDGET ||
	    in->tz_offset < -MAX_TZ || in->tz_offset > MAX_TZ) {
		snprintf(err, PLAN_ERRLEN, "a night is at most %d days and a "
		    "time zone within %d hours of UTC", MAX_BUDGET / DAY,
		    MAX_TZ / 3600);
		return -EINVAL;
	}
	for (i = 0; i < in->nservers; i++)
		if (in->servers[i].subnet < -1 ||
		    in->servers[i].subnet >= in->nsubnets) {
			snprintf(err, PLAN_ERRLEN, "server %d: no subnet %d",
			    i, in->servers[i].subnet);
			return -EINVAL;
		}
	for (i = 0; i < in->nentities; i++) {
		const struct plan_entity *e = &in->entities[i];

		if (e->server < -1 || e->server >= in->nservers ||
		    e->nwindows < 0 || (e->nwindows && !e->windows) ||
		    e->max_level < 0 || e->max_level > PLAN_MAX_LEVEL) {
			snprintf(err, PLAN_ERRLEN, "entity %d (%s): bad server, "
			    "windows or max_level", i, e->name ? e->name : "?");
			return -EINVAL;
		}
		for (k = 0; k < e->nwindows; k++)
			if (e->windows[k].start_min < 0 ||
			    e->windows[k].start_min > 1439 ||
			    e->windows[k].end_min < 1 ||
			    e->windows[k].end_min > 1440) {
				snprintf(err, PLAN_ERRLEN, "entity %d (%s): "
				    "window %d out of range", i,
				    e->name ? e->name : "?", k);
				return -EINVAL;
			}
	}
	return 0;
}

/*
 * Whether a dump over [t, t + dur) (UTC) stays clear of the windows; when
 * not, *next is the earliest later start worth trying (the end of the
 * window in the way).
 */
static int
windows_clear(const struct plan_window *win, int n, long tz, time_t t,
    double dur, time_t *next)
{
	long long lt = (long long)t + tz, lend = lt + (long long)(dur + 0.999);
	long long day0 = lt / DAY - 1, day1 = lend / DAY, d;
	long long blocked_to = -1;
	int k;

	if (lt < 0)
		return 1;
	for (d = day0; d <= day1; d++) {
		int wday = (int)((d + 4) % 7);	/* 1970-01-01: Thursday */

		for (k = 0; k < n; k++) {
			long long ws, we;

			if (!(win[k].days & (1u << wday)))
				continue;
			ws = d * DAY + win[k].start_min * 60LL;
			we = d * DAY + win[k].end_min * 60LL;
			if (win[k].end_min <= win[k].start_min)
				we += DAY;
			if (ws < lend && we > lt && we > blocked_to)
				blocked_to = we;
		}
	}
	if (blocked_to < 0)
		return 1;
	*next = (time_t)(blocked_to - tz);
	return 0;
}

/* Drive d's rate: its measured one when sane (at least min_rate: a
   rate measured from tiny dumps is noise), else the default. */
static double
drive_rate(const struct ctx *c, int d)
{
	double r = c->in->drives[d].rate;

	return r > 0 && r >= c->p->min_rate && r < 1e12 ? r :
	    c->p->default_rate;
}

/* The rate a dump of entity e runs at on drive d. */
static double
dump_rate(const struct ctx *c, const struct work *w, int d)
{
	double r = d >= 0 ? drive_rate(c, d) : c->mean_rate;

	if (w->src_rate > 0 && w->src_rate < r)
		r = w->src_rate;
	return r;
}

/* Seconds a dump of bytes takes on drive d (-1: at the mean rate). */
static double
dump_secs(const struct ctx *c, const struct work *w, int64_t bytes, int d)
{
	return c->p->overhead + (double)bytes / dump_rate(c, w, d);
}

/* Whether the chain's last[0..k] are all there and in order. */
static int
chain_len(const struct plan_entity *e)
{
	int k;

	if (!e->last[0].date)
		return -1;
	for (k = 1; k <= PLAN_MAX_LEVEL; k++)
		if (!e->last[k].date || e->last[k].date < e->last[k - 1].date)
			break;
	return k - 1;
}

/* Bytes changed per day, from the entity's hint, its level 1, or the
   default share of the full. */
static double
change_rate(const struct ctx *c, const struct plan_entity *e, int chain,
    int64_t full)
{
	if (e->change_per_day > 0)
		return (double)e->change_per_day;
	if (chain >= 1 && e->last[1].bytes >= 0) {
		int nd = nights_since(e->last[0].date, e->last[1].date);

		return (double)e->last[1].bytes / (nd < 1 ? 1 : nd);
	}
	return (double)full * c->p->change_fraction;
}

/*
 * The incremental level tonight (Amanda's bump rule, docs/PLANNER.md):
 * stay at the chain's level L (against last[L-1]) unless L+1 (against
 * last[L]) saves bump_bytes * bump_mult^(L-1) and bump_percent of the
 * full, and L has been used bump_days. Sets *bytes; -1 when no level fits.
 */
static int
pick_level(const struct ctx *c, const struct plan_entity *e, int64_t full,
    int64_t *bytes)
{
	int chain = chain_len(e), L, d0, d1;
	double r, est0, est1, need, mult = 1;

	if (chain < 0 || e->max_level < 1)
		return -1;
	r = change_rate(c, e, chain, full);
	L = chain < 1 ? 1 : chain;
	if (L > e->max_level)
		L = e->max_level;
	d0 = nights_since(e->last[L - 1].date, c->ref);
	est0 = r * (d0 < 1 ? 1 : d0);
	if (est0 > full)
		est0 = (double)full;
	*bytes = (int64_t)est0;
	/* level L has been used since the night after its base */
	if (chain < 1 || L + 1 > e->max_level || d0 - 1 < c->p->bump_days)
		return L;
	d1 = nights_since(e->last[L].date, c->ref);
	est1 = r * (d1 < 1 ? 1 : d1);
	if (est1 > full)
		est1 = (double)full;
	for (int k = 1; k < L; k++)
		mult *= c->p->bump_mult;
	need = (double)c->p->bump_bytes * mult;
	if (need < c->p->bump_percent * (double)full)
		need = c->p->bump_percent * (double)full;
	if (est0 - est1 >= need) {
		*bytes = (int64_t)est1;
		return L + 1;
	}
	return L;
}

/*
 * Whether entity e has a dump of tonight (at any level, 0 nights before
 * the night's reference): then it is ST_DONE, reason done-tonight, with
 * the bytes it wrote tonight and the night its next full falls on (w->nd:
 * a full cycle on after a full tonight, tomorrow when its full is due or
 * past due, else when due), as the run that dumped it saw it.
 */
static int
done_tonight(struct ctx *c, int i, int dsf)
{
	const struct plan_entity *e = &c->in->entities[i];
	struct work *w = &c->w[i];
	struct plan_item *it = &c->out->items[i];
	int k, done = 0;

	for (k = 0; k <= PLAN_MAX_LEVEL; k++)
		if (e->last[k].date && nights_since(e->last[k].date,
		    c->ref) == 0) {
			done = 1;
			if (e->last[k].bytes > 0)
				w->done_bytes += e->last[k].bytes;
		}
	if (!done)
		return 0;
	w->st = ST_DONE;
	it->reason = PLAN_DONE_TONIGHT;
	if (dsf == 0)
		w->nd = w->fd;
	else
		w->nd = dsf < 0 || dsf >= w->fd ? 1 : w->fd - dsf;
	it->full_due_in = dsf == 0 ? w->fd : dsf < 0 ? 0 : w->fd - dsf;
	return 1;
}

/*
 * Whether entity e has a dump dated after now + DAY_SLACK: the clock is
 * behind the catalog (a reset RTC, an NTP step). Counted in out, with the
 * newest such date. Its ages are 0 then (nights_since), so without a word
 * it would be "done tonight", then "not due", until the clock passes the
 * date: classify plans it as due instead (reason clock-behind).
 */
static int
clock_behind(struct ctx *c, const struct plan_entity *e)
{
	time_t newest = 0;

	for (int k = 0; k <= PLAN_MAX_LEVEL; k++)
		if (e->last[k].date > newest)
			newest = e->last[k].date;
	if ((long long)newest <= (long long)c->in->now + DAY_SLACK)
		return 0;
	c->out->nclock_behind++;
	if (newest > c->out->clock_newest)
		c->out->clock_newest = newest;
	return 1;
}

/* Step 1: state, estimates and level of entity i. */
static void
classify(struct ctx *c, int i)
{
	const struct plan_entity *e = &c->in->entities[i];
	struct plan_item *it = &c->out->items[i];
	struct work *w = &c->w[i];
	int dsf, newest, behind = clock_behind(c, e);
	double g, grown;

	it->level = it->base_level = it->drive = it->position = -1;
	it->days_since_full = -1;
	w->fd = e->full_days < 1 ? 1 : e->full_days > MAX_DAYS ? MAX_DAYS :
	    e->full_days;
	w->incr_level = -1;
	w->next = -1;
	if (e->last[0].date) {
		dsf = nights_since(e->last[0].date, c->ref);
		it->days_since_full = dsf;
		g = e->growth > -0.5 && e->growth < 10 ? e->growth : 0;
		grown = (double)e->last[0].bytes * (1 + g * dsf);
		w->full_bytes = grown > 0 && grown < 9e18 ? (int64_t)grown : 0;
		if (e->last[0].seconds > 0 && e->last[0].bytes > 0)
			w->src_rate = (double)e->last[0].bytes /
			    e->last[0].seconds;
	} else {
		dsf = -1;
		w->full_bytes = e->type_estimate > 0 ? e->type_estimate :
		    c->p->default_estimate;
	}
	if (w->full_bytes < 0)
		w->full_bytes = 0;
	w->earliest = e->not_before > c->in->now ?
	    (double)(e->not_before - c->in->now) : 0;
	if (e->vanished || e->inactive) {
		w->st = ST_SKIP;
		it->reason = e->vanished ? PLAN_VANISHED : PLAN_INACTIVE;
		return;
	}
	if (w->earliest >= c->budget) {
		w->st = ST_SKIP;
		it->reason = PLAN_NOT_BEFORE;
		it->bytes = w->full_bytes;
		return;
	}
	w->incr_level = pick_level(c, e, w->full_bytes, &w->incr_bytes);
	if (w->incr_level > 0)
		w->rate = change_rate(c, e, chain_len(e), w->full_bytes);
	if (w->incr_level > 0) {
		newest = 0;
		for (int k = 1; k <= PLAN_MAX_LEVEL; k++)
			if (e->last[k].date > e->last[newest].date)
				newest = k;
		w->incr_ok = e->incr_days >= 1 &&
		    nights_since(e->last[newest].date, c->ref) >=
		    e->incr_days;
	}
	if (behind && dsf >= 0 && !e->must_full) {
		/* ages measured as if its dumps were made now (0 nights):
		   its incremental is due; a fulls-only one's full is */
		w->incr_ok = w->incr_level > 0;
		w->st = w->incr_ok ? ST_NOTDUE : ST_DUE;
		w->nd = w->incr_ok ? w->fd : 0;
		it->full_due_in = w->nd;
		it->reason = PLAN_CLOCK_BEHIND;
		return;
	}
	if (!behind && done_tonight(c, i, dsf))
		return;
	if (dsf < 0 || e->must_full || dsf >= w->fd + 1) {
		w->st = ST_MUST;
		it->reason = dsf < 0 ? PLAN_NEW : e->must_full ?
		    PLAN_MUST_FULL : PLAN_OVERDUE;
		it->full_due_in = dsf < 0 ? 0 : w->fd - dsf;
	} else if (dsf == w->fd) {
		w->st = ST_DUE;
		it->reason = PLAN_DUE;
	} else {
		w->st = ST_NOTDUE;
		w->nd = w->fd - dsf;
		it->full_due_in = w->nd;
		it->reason = w->incr_ok ? PLAN_NOT_DUE : PLAN_INCR_NOT_DUE;
	}
}

/* qsort_r comparators over entity indices. */
static int
cmp_must(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;
	int x = *(const int *)a, y = *(const int *)b;
	const struct plan_entity *ex = &c->in->entities[x];
	const struct plan_entity *ey = &c->in->entities[y];
	const struct plan_item *ix = &c->out->items[x], *iy = &c->out->items[y];
	int ox, oy;

	/* The first to keep: higher priority, then new or must_full, then
	   the most overdue, then input order. */
	if (ex->priority != ey->priority)
		return ex->priority > ey->priority ? -1 : 1;
	ox = ix->reason == PLAN_OVERDUE ? ix->days_since_full - c->w[x].fd :
	    INT_MAX;
	oy = iy->reason == PLAN_OVERDUE ? iy->days_since_full - c->w[y].fd :
	    INT_MAX;
	if (ox != oy)
		return ox > oy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Due fulls: higher priority, then larger, first. */
static int
cmp_due(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;
	int x = *(const int *)a, y = *(const int *)b;
	const struct plan_entity *ex = &c->in->entities[x];
	const struct plan_entity *ey = &c->in->entities[y];

	if (ex->priority != ey->priority)
		return ex->priority > ey->priority ? -1 : 1;
	if (c->w[x].full_bytes != c->w[y].full_bytes)
		return c->w[x].full_bytes > c->w[y].full_bytes ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Promotion candidates: from the heaviest night ahead first (as it was
   before tonight's moves), then the nearest, then larger fulls. */
static int
cmp_promote(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;
	int x = *(const int *)a, y = *(const int *)b;

	int64_t lx = c->load[c->w[x].nd] + c->incr[c->w[x].nd];
	int64_t ly = c->load[c->w[y].nd] + c->incr[c->w[y].nd];

	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (c->w[x].nd != c->w[y].nd)
		return c->w[x].nd < c->w[y].nd ? -1 : 1;
	return cmp_due(a, b, arg);
}

/* Add entity i's natural fulls from night first on to load[]. */
static void
add_load(int64_t *load, int h, int first, int fd, int64_t bytes, int sign)
{
	for (int k = first; k < h; k += fd)
		load[k] += sign * bytes;
}

/*
 * The incrementals expected on each night ahead (incr[1..h-1]): between
 * its fulls an entity's level 1 grows by its change rate a night (a deeper
 * level stays at tonight's size), on the nights its incr_days give.
 */
static void
incr_ahead(const struct ctx *c, int64_t *incr, int h)
{
	int i, k;

	for (i = 0; i < c->in->nentities; i++) {
		const struct work *w = &c->w[i];
		int id = c->in->entities[i].incr_days, first, dsf, age;

		if (w->st == ST_SKIP || w->incr_level < 1 || id < 1)
			continue;
		first = w->st == ST_NOTDUE || w->st == ST_DONE ? w->nd : 0;
		dsf = c->out->items[i].days_since_full;
		for (k = 1; k < h; k++) {
			double b;

			age = k < first ? dsf + k : (k - first) % w->fd;
			if (age == 0 || age % id)
				continue;
			b = w->incr_level >= 2 ? (double)w->incr_bytes :
			    w->rate * age;
			incr[k] += (int64_t)(b < (double)w->full_bytes ? b :
			    (double)w->full_bytes);
		}
	}
}

/* Tonight's selection as it grows: bytes, the target, drive seconds used
   and available. */
struct sel {
	int64_t tonight, target;
	double used, cap;
	int again;		/* entities done tonight: a second run */
};

/*
 * Promotions from nights heavier than the target, the heaviest first,
 * larger fulls first: while tonight stays under the target, or (a night
 * at most PROMOTE_NEAR ahead) no heavier than the night it leaves.
 */
static void
promote(struct ctx *c, int64_t *load, const int64_t *incr, int h, int *idx,
    struct sel *sl)
{
	int64_t target = sl->target, tonight = sl->tonight;
	double used_secs = sl->used, cap_secs = sl->cap;
	int n = c->in->nentities, i, k, m = 0;

	for (i = 0; i < n; i++)
		if (c->w[i].st == ST_NOTDUE && c->w[i].nd < h &&
		    c->out->items[i].days_since_full >= 1 &&
		    load[c->w[i].nd] + incr[c->w[i].nd] > target)
			idx[m++] = i;
	c->load = load;
	c->incr = incr;
	qsort_r(idx, m, sizeof(*idx), cmp_promote, c);
	for (k = 0; k < m; k++) {
		struct work *w = &c->w[idx[k]];
		double s = dump_secs(c, w, w->full_bytes, -1), si = 0;
		int64_t there = load[w->nd] + incr[w->nd];
		int64_t add = w->full_bytes - (w->incr_ok ? w->incr_bytes : 0);

		if (there <= target || (tonight + add > target &&
		    (w->nd > PROMOTE_NEAR ||
		    tonight + add > there - w->full_bytes)))
			continue;
		if (w->incr_ok)
			si = dump_secs(c, w, w->incr_bytes, -1);
		if (used_secs - si + s > cap_secs)
			continue;
		w->full = w->promoted = 1;
		used_secs += s - si;
		tonight += add;
		load[w->nd] -= w->full_bytes;
		c->out->items[idx[k]].reason = PLAN_PROMOTED;
	}
}

/* Musts, most urgent first, while the drives have time; the rest get
   capacity and their incremental. */
static void
take_musts(struct ctx *c, int *idx, struct sel *sl)
{
	int i, k, m = 0;

	for (i = 0; i < c->in->nentities; i++)
		if (c->w[i].st == ST_MUST)
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), cmp_must, c);
	for (k = 0; k < m; k++) {
		struct work *w = &c->w[idx[k]];
		double s = dump_secs(c, w, w->full_bytes, -1);

		if (sl->used + s <= sl->cap) {
			w->full = 1;
			sl->used += s;
			sl->tonight += w->full_bytes;
		} else {
			c->out->items[idx[k]].reason = PLAN_CAPACITY;
			if (w->incr_level > 0) {
				sl->used += dump_secs(c, w, w->incr_bytes, -1);
				sl->tonight += w->incr_bytes;
			}
		}
	}
}

/* Due fulls by priority then size: tonight if under the target; else
   tomorrow if it has room; else the lighter of the two. */
static void
take_due(struct ctx *c, int *idx, struct sel *sl, int64_t tomorrow)
{
	int i, k, m = 0;

	for (i = 0; i < c->in->nentities; i++)
		if (c->w[i].st == ST_DUE)
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), cmp_due, c);
	for (k = 0; k < m; k++) {
		struct work *w = &c->w[idx[k]];
		double s = dump_secs(c, w, w->full_bytes, -1);
		int fits = sl->used + s <= sl->cap;

		if (fits && (sl->tonight + w->full_bytes <= sl->target ||
		    (tomorrow + w->full_bytes > sl->target &&
		    sl->tonight <= tomorrow))) {
			w->full = 1;
			sl->used += s;
			sl->tonight += w->full_bytes;
			continue;
		}
		w->delayed = 1;
		tomorrow += w->full_bytes;
		c->out->items[idx[k]].reason = fits ? PLAN_DELAYED :
		    PLAN_CAPACITY;
		if (w->incr_level > 0) {
			sl->used += dump_secs(c, w, w->incr_bytes, -1);
			sl->tonight += w->incr_bytes;
		}
	}
}

/*
 * Step 2: tonight's fulls. The target is the larger of the cycle's share
 * (sum of fulls / frequency) and what the look-ahead's deadlines need per
 * night; musts always go (capacity permitting), due fulls go while under
 * the target else wait for a lighter tomorrow, and fulls of crowded future
 * nights are promoted into what room is left.
 */
static int
select_fulls(struct ctx *c, int64_t *load, int64_t *incr, int h, int *idx)
{
	const struct plan_input *in = c->in;
	int n = in->nentities, i, k;
	double cap_secs, used_secs = 0, target_d, need, iavg = 0;
	int64_t cum = 0, tonight = 0;
	struct sel sl = { 0 };

	cap_secs = c->budget * in->ndrives * c->p->fill;
	/* the cycle's share and the load ahead; tonight starts with the
	   incrementals that are due */
	target_d = 0;
	for (i = 0; i < n; i++) {
		struct work *w = &c->w[i];

		if (w->st == ST_SKIP)
			continue;
		target_d += (double)w->full_bytes / w->fd;
		add_load(load, h, w->st == ST_NOTDUE || w->st == ST_DONE ?
		    w->nd : 0, w->fd, w->full_bytes, 1);
		/* what earlier runs wrote tonight counts toward tonight */
		if (w->st == ST_DONE) {
			tonight += w->done_bytes;
			sl.again++;
		}
		if (w->st == ST_NOTDUE && w->incr_ok) {
			used_secs += dump_secs(c, w, w->incr_bytes, -1);
			tonight += w->incr_bytes;
		}
	}
	/* deadlines: musts by tonight, a natural night j's fulls by night
	   j + 1; over the first k nights that needs (musts + load[0..k-2])
	   / k a night (load[0] holds the musts) */
	for (i = 0; i < n; i++)
		if (c->w[i].st == ST_MUST)
			cum += c->w[i].full_bytes;
	for (k = 1; k <= h; k++) {
		if (k >= 2)
			cum = (k == 2 ? 0 : cum) + load[k - 2];
		need = (double)cum / k;
		if (need > target_d)
			target_d = need;
	}
	c->out->target_bytes = (int64_t)target_d;
	/* a night's target counts all its bytes: fulls plus the mean of
	   the incrementals ahead, so fulls fill the nights incrementals
	   leave light */
	incr_ahead(c, incr, h);
	for (k = 1; k < h; k++)
		iavg += (double)incr[k] / (h - 1);
	incr[0] = tonight;
	sl.tonight = tonight;
	sl.target = (int64_t)(target_d + iavg);
	sl.used = used_secs;
	sl.cap = cap_secs;
	take_musts(c, idx, &sl);
	take_due(c, idx, &sl, load[1] + incr[1]);
	/* promotions are the first run's choice: a later run of the same
	   night (some entity done tonight) only completes what is left */
	if (!sl.again)
		promote(c, load, incr, h, idx, &sl);
	return 0;
}

/* Fill entity i's item for tonight's choice (before scheduling). */
static int
item_choice(struct ctx *c, int i)
{
	const struct plan_entity *e = &c->in->entities[i];
	struct plan_item *it = &c->out->items[i];
	struct work *w = &c->w[i];

	if (w->st == ST_SKIP || w->st == ST_DONE)
		return 0;
	w->blocked = PLAN_CAPACITY;
	if (w->full) {
		it->level = 0;
		it->bytes = w->full_bytes;
		w->rank_class = w->st == ST_MUST ? 0 : 1;
		return 1;
	}
	if (w->incr_level > 0 && (w->incr_ok || w->st != ST_NOTDUE)) {
		it->level = w->incr_level;
		it->base_level = w->incr_level - 1;
		it->base_date = e->last[it->base_level].date;
		it->bytes = w->incr_bytes;
		w->rank_class = 2;
		return 1;
	}
	it->bytes = w->st == ST_NOTDUE ? w->incr_bytes : w->full_bytes;
	if (w->st == ST_NOTDUE && w->incr_level < 0)
		it->reason = e->max_level < 1 ? PLAN_NOT_DUE :
		    PLAN_INCR_NOT_DUE;
	return 0;
}

/* Jobs in rank order: priority, musts, other fulls, incrementals, then
   longest first. */
static int
cmp_rank(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;
	int x = *(const int *)a, y = *(const int *)b;
	const struct plan_entity *ex = &c->in->entities[x];
	const struct plan_entity *ey = &c->in->entities[y];

	if (ex->priority != ey->priority)
		return ex->priority > ey->priority ? -1 : 1;
	if (c->w[x].rank_class != c->w[y].rank_class)
		return c->w[x].rank_class < c->w[y].rank_class ? -1 : 1;
	if (c->out->items[x].bytes != c->out->items[y].bytes)
		return c->out->items[x].bytes > c->out->items[y].bytes ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* A min-heap of 64-bit keys. */
struct heap {
	int64_t *a;
	int n, cap;
};

/* Push key; 0 or -ENOMEM. */
static int
heap_push(struct heap *h, int64_t key)
{
	int i;

	if (h->n == h->cap) {
		int cap = h->cap ? h->cap * 2 : 8;
		int64_t *a = realloc(h->a, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	for (i = h->n++; i > 0 && h->a[(i - 1) / 2] > key; i = (i - 1) / 2)
		h->a[i] = h->a[(i - 1) / 2];
	h->a[i] = key;
	return 0;
}

/* Pop the smallest key (the heap is not empty). */
static int64_t
heap_pop(struct heap *h)
{
	int64_t top = h->a[0], last = h->a[--h->n];
	int i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->a[c + 1] < h->a[c])
			c++;
		if (h->a[c] >= last)
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n > 0)
		h->a[i] = last;
	return top;
}

/*
 * Drive scheduling state. Jobs wait by rank (their place in rank order)
 * in one heap per server (plus one for entities without a server); a heap
 * of servers by their first job's rank says which server's job comes
 * next (stale entries are skipped); jobs a window or not_before holds
 * back wait in a heap by time, out of the way.
 */
struct sched {
	const int *jobs;	/* rank -> entity */
	double *t;		/* each drive's next free time */
	int *cur;		/* its last job (-1) */
	int *done;		/* no more work fits */
	struct heap *q;		/* per server: ranks */
	enum plan_reason *qblocked; /* per server: a limit held it back */
	struct heap servers;	/* rank << 32 | server */
	struct heap waiting;	/* ceil(wait_until) << 32 | rank */
	int *aside;		/* servers or ranks set aside this round */
	int *mark;		/* per server: the round it was set aside */
	int round;
	int nq, left;		/* queues; jobs not placed nor dropped */
	double fastest;
};

/* The queue of entity j (its server, or the last for none). */
static int
queue_of(const struct ctx *c, const struct sched *sc, int j)
{
	int s = c->in->entities[j].server;

	return s >= 0 ? s : sc->nq - 1;
}

/* Put rank r back in its server's queue and the servers' heap. */
static int
enqueue(struct ctx *c, struct sched *sc, int r)
{
	int q = queue_of(c, sc, sc->jobs[r]);

	if (heap_push(&sc->q[q], r) < 0 ||
	    heap_push(&sc->servers, (int64_t)r << 32 | q) < 0)
		return -ENOMEM;
	return 0;
}

/* Whether server q may start another dump at time s on drive d: 0, or
   the limit's reason. */
static enum plan_reason
limit_check(struct ctx *c, struct sched *sc, int q, int d, double s)
{
	const struct plan_input *in = c->in;
	int srv = q < in->nservers ? q : -1, net, nsrv = 0, nnet = 0, x;

	if (srv < 0)
		return PLAN_DUE;
	net = in->servers[srv].subnet;
	if (in->servers[srv].max_dumps <= 0 &&
	    (net < 0 || in->subnets[net].max_dumps <= 0))
		return PLAN_DUE;
	for (x = 0; x < in->ndrives; x++) {
		int o = sc->cur[x], os;

		if (x == d || o < 0 || c->out->items[o].end <= s)
			continue;
		os = in->entities[o].server;
		if (os == srv)
			nsrv++;
		if (os >= 0 && net >= 0 && in->servers[os].subnet == net)
			nnet++;
	}
	if (in->servers[srv].max_dumps > 0 &&
	    nsrv >= in->servers[srv].max_dumps)
		return PLAN_SERVER_LIMIT;
	if (net >= 0 && in->subnets[net].max_dumps > 0 &&
	    nnet >= in->subnets[net].max_dumps)
		return PLAN_SUBNET_LIMIT;
	return PLAN_DUE;
}

/* Whether job j's windows and not_before let it start at s for secs;
   when not, w->wait_until says when to try again. */
static int
time_ok(struct ctx *c, int j, double s, double secs)
{
	const struct plan_entity *e = &c->in->entities[j];
	struct work *w = &c->w[j];
	time_t next;

	if (s < w->earliest) {
		w->wait_until = w->earliest;
		w->blocked = PLAN_NOT_BEFORE;
		return 0;
	}
	if (e->nwindows && !windows_clear(e->windows, e->nwindows,
	    c->in->tz_offset, c->in->now + (time_t)s, secs, &next)) {
		w->wait_until = (double)(next - c->in->now);
		w->blocked = PLAN_WINDOW;
		return 0;
	}
	return 1;
}

/* Place job j on drive d at time s. */
static void
place(struct ctx *c, struct sched *sc, int j, int d, double s, double secs)
{
	struct plan_item *it = &c->out->items[j];
	struct plan_drive_out *dr = &c->out->drives[d];

	it->dump = 1;
	it->drive = d;
	it->position = dr->n;
	it->seconds = secs;
	it->start = s;
	it->end = s + secs;
	dr->order[dr->n++] = j;
	dr->end = it->end;
	dr->bytes += it->bytes;
	sc->t[d] = it->end;
	sc->cur[d] = j;
	sc->left--;
}

/* Seconds job j takes on the fastest drive. */
static double
min_secs(const struct ctx *c, const struct sched *sc, int j)
{
	const struct work *w = &c->w[j];
	double r = w->src_rate > 0 && w->src_rate < sc->fastest ?
	    w->src_rate : sc->fastest;

	return c->p->overhead + (double)c->out->items[j].bytes / r;
}

/*
 * Rank r found no room tonight: a full with a chain becomes its
 * incremental and queues again (at its rank), anything else is left out.
 */
static int
give_up(struct ctx *c, struct sched *sc, int r)
{
	int j = sc->jobs[r];
	const struct plan_entity *e = &c->in->entities[j];
	struct plan_item *it = &c->out->items[j];
	struct work *w = &c->w[j];

	if (it->level != 0 || w->incr_level < 1 || w->converted) {
		sc->left--;
		return 0;
	}
	w->converted = 1;
	w->conv_reason = w->blocked;
	if (w->conv_reason == PLAN_CAPACITY &&
	    sc->qblocked[queue_of(c, sc, j)] != PLAN_DUE)
		w->conv_reason = sc->qblocked[queue_of(c, sc, j)];
	it->level = w->incr_level;
	it->base_level = w->incr_level - 1;
	it->base_date = e->last[it->base_level].date;
	it->bytes = w->incr_bytes;
	w->wait_until = 0;
	return enqueue(c, sc, r);
}

/*
 * One round for drive d free at e: the first job in rank order that may
 * start goes on it. Returns 1 if one did, 0 if none, -ENOMEM.
 */
static int
round_one(struct ctx *c, struct sched *sc, int d, double e)
{
	int nservers_aside = 0, naside_jobs = 0, placed = 0, k;
	int *aside_jobs = sc->aside + sc->nq;

	sc->round++;

	while (sc->waiting.n > 0 &&
	    (double)(sc->waiting.a[0] >> 32) <= e)
		if (enqueue(c, sc, (int)(heap_pop(&sc->waiting) &
		    0xffffffff)) < 0)
			return -ENOMEM;
	while (!placed && sc->servers.n > 0) {
		int64_t top = heap_pop(&sc->servers);
		int r = (int)(top >> 32), q = (int)(top & 0xffffffff), j;
		enum plan_reason why;
		double secs;

		if (sc->q[q].n == 0 || sc->q[q].a[0] != r)
			continue;	/* stale */
		if (sc->mark[q] == sc->round)
			continue;	/* a duplicate of one set aside */
		why = limit_check(c, sc, q, d, e);
		if (why != PLAN_DUE) {
			sc->qblocked[q] = why;
			sc->mark[q] = sc->round;
			sc->aside[nservers_aside++] = q;
			continue;
		}
		heap_pop(&sc->q[q]);
		if (sc->q[q].n > 0 && heap_push(&sc->servers,
		    sc->q[q].a[0] << 32 | q) < 0)
			return -ENOMEM;
		j = sc->jobs[r];
		secs = dump_secs(c, &c->w[j], c->out->items[j].bytes, d);
		if (e + min_secs(c, sc, j) > c->budget) {
			if (give_up(c, sc, r) < 0)	/* fits no drive */
				return -ENOMEM;
			continue;
		}
		if (!time_ok(c, j, e, secs)) {
			if (c->w[j].wait_until + min_secs(c, sc, j) >
			    c->budget) {
				if (give_up(c, sc, r) < 0)
					return -ENOMEM;
			} else if (heap_push(&sc->waiting,
			    (int64_t)(c->w[j].wait_until + 0.999) << 32 |
			    r) < 0)
				return -ENOMEM;
			continue;
		}
		if (e + secs > c->budget) {
			aside_jobs[naside_jobs++] = r;	/* a faster drive */
			continue;
		}
		place(c, sc, j, d, e, secs);
		placed = 1;
	}
	for (k = 0; k < nservers_aside; k++) {
		int q = sc->aside[k];

		if (heap_push(&sc->servers, sc->q[q].a[0] << 32 | q) < 0)
			return -ENOMEM;
	}
	for (k = 0; k < naside_jobs; k++)
		if (enqueue(c, sc, aside_jobs[k]) < 0)
			return -ENOMEM;
	return placed;
}

/* The time drive d (free at e, with nothing to start) waits for: a dump
   ending elsewhere or a window closing; the budget when nothing comes. */
static double
next_change(struct ctx *c, struct sched *sc, int d, double e)
{
	double wake = c->budget;
	int k;

	if (sc->waiting.n > 0 && (double)(sc->waiting.a[0] >> 32) < wake)
		wake = (double)(sc->waiting.a[0] >> 32);
	for (k = 0; k < c->in->ndrives; k++)
		if (k != d && sc->cur[k] >= 0 &&
		    c->out->items[sc->cur[k]].end > e &&
		    c->out->items[sc->cur[k]].end < wake)
			wake = c->out->items[sc->cur[k]].end;
	return wake;
}

/* Free the scheduler's state. */
static void
sched_free(struct sched *sc)
{
	int q;

	if (sc->q)
		for (q = 0; q < sc->nq; q++)
			free(sc->q[q].a);
	free(sc->q);
	free(sc->qblocked);
	free(sc->mark);
	free(sc->servers.a);
	free(sc->waiting.a);
	free(sc->aside);
	free(sc->t);
	free(sc->cur);
	free(sc->done);
}

/*
 * Step 3: list scheduling. The drive free first takes the first job in
 * rank order that may start then; a drive with none waits for the next
 * change (a dump ending on another drive, a window closing); a job that
 * fits no drive before the night's end is left with the reason that held
 * it back last.
 */
static int
schedule(struct ctx *c, const int *jobs, int nj)
{
	const struct plan_input *in = c->in;
	struct sched sc;
	int k, d, r, live = in->ndrives, rc = -ENOMEM;

	memset(&sc, 0, sizeof(sc));
	sc.jobs = jobs;
	sc.nq = in->nservers + 1;
	sc.left = nj;
	sc.t = calloc(in->ndrives + 1, sizeof(*sc.t));
	sc.cur = calloc(in->ndrives + 1, sizeof(*sc.cur));
	sc.done = calloc(in->ndrives + 1, sizeof(*sc.done));
	sc.q = calloc(sc.nq, sizeof(*sc.q));
	sc.qblocked = calloc(sc.nq, sizeof(*sc.qblocked));
	sc.mark = calloc(sc.nq, sizeof(*sc.mark));
	sc.aside = calloc(sc.nq + nj + 1, sizeof(*sc.aside));
	if (!sc.t || !sc.cur || !sc.done || !sc.q || !sc.qblocked ||
	    !sc.mark || !sc.aside)
		goto out;
	for (d = 0; d < in->ndrives; d++) {
		double rate = drive_rate(c, d);

		sc.cur[d] = -1;
		if (rate > sc.fastest)
			sc.fastest = rate;
	}
	for (r = 0; r < nj; r++)
		if (enqueue(c, &sc, r) < 0)
			goto out;
	while (live > 0 && sc.left > 0) {
		double e = 0;

		d = -1;
		for (k = 0; k < in->ndrives; k++)
			if (!sc.done[k] && (d < 0 || sc.t[k] < e))
				d = k, e = sc.t[k];
		if ((rc = round_one(c, &sc, d, e)) < 0)
			goto out;
		if (rc > 0)
			continue;
		e = next_change(c, &sc, d, e);
		if (e >= c->budget) {
			sc.done[d] = 1;
			live--;
		} else
			sc.t[d] = e;
	}
	for (k = 0; k < nj; k++) {
		struct work *w = &c->w[jobs[k]];
		int q = queue_of(c, &sc, jobs[k]);

		if (w->blocked == PLAN_CAPACITY && sc.qblocked[q])
			w->blocked = sc.qblocked[q];
	}
	rc = 0;
out:
	sched_free(&sc);
	return rc;
}

/* After scheduling: reasons of what did not fit, the totals. */
static void
finish_items(struct ctx *c, int *jobs, int nj)
{
	struct plan_out *out = c->out;
	int k;

	for (k = 0; k < nj; k++) {
		int j = jobs[k];
		struct plan_item *it = &out->items[j];
		struct work *w = &c->w[j];

		if (it->dump) {
			if (w->converted)
				it->reason = w->conv_reason;
			if (it->level == 0) {
				out->nfull++;
				out->full_bytes += it->bytes;
			} else {
				out->nincr++;
				out->incr_bytes += it->bytes;
			}
			continue;
		}
		it->reason = w->converted ? w->conv_reason : w->blocked;
		it->level = it->base_level = -1;
		it->base_date = 0;
		w->full = 0;
	}
}

/* Whether entity i belongs in the overdue list: active (or held back by
   not_before) and more than a day past its frequency. */
static int
listed_overdue(const struct ctx *c, int i)
{
	const struct plan_item *it = &c->out->items[i];

	if (c->w[i].st == ST_SKIP && it->reason != PLAN_NOT_BEFORE)
		return 0;
	return it->days_since_full > c->w[i].fd + 1;
}

/* The overdue list and the forecast after tonight's moves. */
static int
overdue_and_forecast(struct ctx *c, int h)
{
	const struct plan_input *in = c->in;
	struct plan_out *out = c->out;
	int i, n = in->nentities, m = 0;

	out->forecast = calloc(h, sizeof(*out->forecast));
	if (!out->forecast)
		return -ENOMEM;
	out->nforecast = h;
	for (i = 0; i < n; i++) {
		const struct plan_item *it = &out->items[i];
		struct work *w = &c->w[i];
		int first;

		if (w->st == ST_SKIP)
			continue;
		if ((it->dump && it->level == 0) ||
		    (w->st == ST_DONE && it->days_since_full == 0))
			first = 0;
		else
			first = w->st == ST_NOTDUE || w->st == ST_DONE ?
			    w->nd : 1;
		add_load(out->forecast, h, first, w->fd, w->full_bytes, 1);
	}
	for (i = 0; i < n; i++)
		m += listed_overdue(c, i);
	out->overdue = calloc(m ? m : 1, sizeof(*out->overdue));
	if (!out->overdue)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct plan_item *it = &out->items[i];
		struct plan_overdue *o;

		if (!listed_overdue(c, i))
			continue;
		o = &out->overdue[out->noverdue++];
		o->entity = i;
		o->days_since_full = it->days_since_full;
		o->full_days = in->entities[i].full_days;
		o->full_tonight = it->dump && it->level == 0;
		o->why = o->full_tonight ? PLAN_OVERDUE :
		    it->reason == PLAN_WINDOW || it->reason == PLAN_SERVER_LIMIT ||
		    it->reason == PLAN_SUBNET_LIMIT ||
		    it->reason == PLAN_NOT_BEFORE ||
		    it->reason == PLAN_DONE_TONIGHT ? it->reason :
		    PLAN_CAPACITY;
	}
	return 0;
}

/* Record out's dumps in the entities as if the night ran as planned. */
void
plan_project(struct plan_entity *entities, int nentities,
    const struct plan_out *out, time_t now)
{
	int i;

	for (i = 0; i < nentities && i < out->nitems; i++) {
		const struct plan_item *it = &out->items[i];
		struct plan_dump *d;

		if (!it->dump || it->level < 0 || it->level > PLAN_MAX_LEVEL)
			continue;
		d = &entities[i].last[it->level];
		d->date = now + (time_t)it->start;
		d->bytes = it->bytes;
		d->seconds = it->seconds;
		if (it->level == 0)
			entities[i].must_full = 0;
	}
}

/* Set up the context; -EINVAL (said in err) when params are out of
   range. */
static int
ctx_init(struct ctx *c, const struct plan_input *in,
    const struct plan_params *p, struct plan_out *out, char *err)
{
	int d;

	memset(c, 0, sizeof(*c));
	c->in = in;
	c->p = p;
	c->out = out;
	c->err = err;
	c->budget = (double)(in->end - in->now);
	/* end - now is at most MAX_BUDGET (check_input): no overflow when
	   the reference moves back at most NIGHT_SPAN from a sane now */
	c->ref = in->end - in->now >= NIGHT_SPAN || in->now < NIGHT_SPAN ?
	    in->now : in->end - NIGHT_SPAN;
	for (d = 0; d < in->ndrives; d++)
		c->mean_rate += drive_rate(c, d);
	c->mean_rate = in->ndrives ? c->mean_rate / in->ndrives :
	    p->default_rate;
	if (!(c->mean_rate > 0) || !(p->default_rate > 0 &&
	    p->default_rate < 1e12) ||
	    !(p->fill > 0 && p->fill <= 1) || !(p->overhead >= 0) ||
	    !(p->change_fraction >= 0 && p->change_fraction <= 1) ||
	    !(p->bump_mult >= 1) || !(p->bump_percent >= 0) ||
	    p->bump_bytes < 0 || p->default_estimate < 0 ||
	    !(p->min_rate >= 0 && p->min_rate < 1e12)) {
		snprintf(err, PLAN_ERRLEN, "bad params: a rate, fill, overhead, "
		    "change or bump value out of range");
		return -EINVAL;
	}
	return 0;
}

/* The look-ahead's nights: nights_ahead, else the longest cycle + 1 (or
   params' horizon when longer), within 2..MAX_HORIZON. */
static int
horizon(const struct ctx *c, int maxfd)
{
	int h = c->in->nights_ahead > 0 ? c->in->nights_ahead : maxfd + 1;

	if (!c->in->nights_ahead && c->p->horizon > h)
		h = c->p->horizon;
	if (h > MAX_HORIZON)
		h = MAX_HORIZON;
	return h < 2 ? 2 : h;
}

/* Plan the night (planner/plan.h). */
int
plan_night(const struct plan_input *in, struct plan_out *out, char *err)
{
	struct plan_params defp;
	struct ctx c;
	int64_t *load = NULL;
	int *idx = NULL, i, d, h, nj = 0, maxfd = 1, rc;
	char dummy[PLAN_ERRLEN];

	if (!err)
		err = dummy;
	memset(out, 0, sizeof(*out));
	if (!in) {
		snprintf(err, PLAN_ERRLEN, "no input");
		return -EINVAL;
	}
	if ((rc = check_input(in, err)) < 0)
		return rc;
	plan_params_default(&defp);
	if ((rc = ctx_init(&c, in, in->params ? in->params : &defp, out,
	    err)) < 0)
		return rc;
	out->items = calloc((size_t)in->nentities + 1, sizeof(*out->items));
	out->drives = calloc((size_t)in->ndrives + 1, sizeof(*out->drives));
	c.w = calloc((size_t)in->nentities + 1, sizeof(*c.w));
	idx = calloc((size_t)in->nentities + 1, sizeof(*idx));
	if (!out->items || !out->drives || !c.w || !idx)
		goto nomem;
	out->nitems = in->nentities;
	out->ndrives = in->ndrives;
	for (d = 0; d < in->ndrives; d++) {
		out->drives[d].order = calloc((size_t)in->nentities + 1,
		    sizeof(int));
		if (!out->drives[d].order)
			goto nomem;
		out->capacity_bytes += (int64_t)(c.budget *
		    drive_rate(&c, d));
	}
	for (i = 0; i < in->nentities; i++) {
		classify(&c, i);
		if (c.w[i].fd > maxfd)
			maxfd = c.w[i].fd;
	}
	h = horizon(&c, maxfd);
	load = calloc(2 * (size_t)h, sizeof(*load));
	if (!load)
		goto nomem;
	select_fulls(&c, load, load + h, h, idx);
	for (i = 0; i < in->nentities; i++)
		if (item_choice(&c, i))
			idx[nj++] = i;
	qsort_r(idx, nj, sizeof(*idx), cmp_rank, &c);
	if (in->ndrives > 0 && schedule(&c, idx, nj) < 0)
		goto nomem;
	finish_items(&c, idx, nj);
	if (overdue_and_forecast(&c, h) < 0)
		goto nomem;
	free(load);
	free(idx);
	free(c.w);
	return 0;
nomem:
	free(load);
	free(idx);
	free(c.w);
	plan_out_free(out);
	snprintf(err, PLAN_ERRLEN, "out of memory");
	return -ENOMEM;
}
