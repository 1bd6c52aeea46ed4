/*
 * The simulated site (planner/sim.h). Sizes follow a Pareto tail (most
 * entities small, a few huge); an entity's incremental at a level holds
 * what changed since its base: size * (1 - (1 - c)^days) for its daily
 * change share c, times a little noise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/sim.h"

#define DAY 86400
#define NAMELEN 24
#define SIM_OVERHEAD 5.0

/* An entity type of the simulated site. */
struct sim_type {
	const char *name;
	int full_days, incr_days, max_level, priority;
	double share;		/* of the entities */
	double size_mult;	/* times the site's size distribution */
	struct plan_window win[2];
	int nwin;
};

/* Windows are local; the nights start at 18:00. Mon-Fri is 0x3e. */
static const struct sim_type types[] = {
	{ "home", 7, 1, 3, 0, 0.45, 1.0,
	    { { 0x3e, 7 * 60, 19 * 60 } }, 1 },
	{ "project", 14, 1, 5, 5, 0.22, 2.0, { { 0 } }, 0 },
	{ "db", 3, 1, 1, 10, 0.10, 1.5, { { 0x7f, 0, 60 } }, 1 },
	{ "scratch", 28, 2, 1, -5, 0.15, 3.0, { { 0 } }, 0 },
	{ "mail", 5, 1, 2, 8, 0.08, 1.0,
	    { { 0x7f, 22 * 60, 23 * 60 + 30 }, { 0x41, 18 * 60, 20 * 60 } },
	    2 },
};
#define NTYPES ((int)(sizeof(types) / sizeof(types[0])))

/* The number of types. */
int
sim_ntypes(void)
{
	return NTYPES;
}

/* A type's name. */
const char *
sim_type_name(int t)
{
	return t >= 0 && t < NTYPES ? types[t].name : "?";
}

/* splitmix64: the next 64 random bits. */
static uint64_t
rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform double in (0, 1). */
static double
unif(uint64_t *st)
{
	return ((double)(rnd(st) >> 11) + 0.5) / 9007199254740992.0;
}

/* x^y for y > 0 small and x in (0, 1], without libm: exp(y ln x) by
   series on a range-reduced argument. */
static double
powd(double x, double y)
{
	double ln = 0, t, term, sum;
	int k, halvings = 0;

	if (x <= 0)
		return 0;
	/* ln x: reduce x to [0.5, 1], then ln(1 - u) series */
	while (x < 0.5) {
		x *= 2;
		ln -= 0.69314718055994531;
	}
	t = (x - 1) / (x + 1);	/* ln x = 2 atanh t */
	term = t;
	sum = 0;
	for (k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= t * t;
	}
	ln += 2 * sum;
	t = ln * y;
	while (t < -1) {
		t /= 2;
		halvings++;
	}
	sum = 1;
	term = 1;
	for (k = 1; k < 30; k++) {
		term *= t / k;
		sum += term;
	}
	while (halvings-- > 0)
		sum *= sum;
	return sum;
}

/* Fill cfg with the test's site (2,000 entities, 40 servers, 8
   subnets, 2 drives). */
void
sim_config_default(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 12;
	cfg->nentities = 2000;
	cfg->nservers = 40;
	cfg->nsubnets = 8;
	cfg->ndrives = 2;
	cfg->drive_rate = 300e6;
	cfg->night_hours = 10;
	cfg->start_hour = 18;
	cfg->tz_offset = 3600;
	cfg->min_bytes = 2LL << 30;
	cfg->max_bytes = 4LL << 40;
	cfg->arrivals = 2;
	cfg->vanish = 0.0005;
	cfg->server_limit = 1;
	cfg->subnet_limit = 2;
	cfg->nights = 90;
	cfg->burst = 0.5;
}

/* The night a date falls in (nights start at s->now - s->night days). */
static int
night_of(const struct sim *s, time_t date)
{
	long long t0 = (long long)s->now - (long long)s->night * DAY;
	long long d = (long long)date - t0;

	return (int)(d >= 0 ? d / DAY : -((-d + DAY - 1) / DAY));
}

/* Make entity i (type chosen at random), without history. */
static void
new_entity(struct sim *s, int i)
{
	struct plan_entity *e = &s->ent[i];
	double u = unif(&s->rng), acc = 0, size;
	int t;

	for (t = 0; t < NTYPES - 1; t++) {
		acc += types[t].share;
		if (u < acc)
			break;
	}
	memset(e, 0, sizeof(*e));
	snprintf(s->names + (size_t)i * NAMELEN, NAMELEN, "%s%05d",
	    types[t].name, i);
	e->name = s->names + (size_t)i * NAMELEN;
	e->server = (int)(rnd(&s->rng) % (uint64_t)s->cfg.nservers);
	e->type = types[t].name;
	e->priority = types[t].priority;
	e->full_days = types[t].full_days;
	e->incr_days = types[t].incr_days;
	e->max_level = types[t].max_level;
	e->windows = types[t].win;
	e->nwindows = types[t].nwin;
	e->added = s->now;
	e->type_estimate = (int64_t)(s->cfg.min_bytes * 3 * types[t].size_mult);
	/* Pareto, alpha 1.1: most small, a few huge */
	size = (double)s->cfg.min_bytes * types[t].size_mult /
	    powd(unif(&s->rng), 1 / 1.1);
	if (size > (double)s->cfg.max_bytes)
		size = (double)s->cfg.max_bytes;
	s->size[i] = size;
	s->grow[i] = 0.002 * unif(&s->rng);
	s->change[i] = 0.002 + 0.04 * unif(&s->rng);
	s->type[i] = t;
	s->first_night[i] = s->night;
	s->last_full_night[i] = -1000000;
}

/* What entity i changed over days days. */
static double
changed(struct sim *s, int i, int days)
{
	double f = 1 - powd(1 - s->change[i], days < 1 ? 1 : days);

	return s->size[i] * f * (0.8 + 0.4 * unif(&s->rng));
}

/* An initial history: a full some nights ago, then incrementals. */
static void
old_history(struct sim *s, int i, int burst)
{
	struct plan_entity *e = &s->ent[i];
	int fd = e->full_days, ago, k;

	ago = burst ? 1 : 1 + (int)(rnd(&s->rng) % (uint64_t)fd);
	e->added = s->now - (time_t)(ago + 30) * DAY;
	e->last[0].date = s->now - (time_t)ago * DAY + 3600;
	e->last[0].bytes = (int64_t)s->size[i];
	e->last[0].seconds = SIM_OVERHEAD + s->size[i] / s->cfg.drive_rate;
	s->last_full_night[i] = -ago;
	for (k = 1; k <= 1 && ago > 1 && e->max_level >= 1; k++) {
		e->last[1].date = s->now - DAY + 7200;
		e->last[1].bytes = (int64_t)changed(s, i, ago - 1);
		e->last[1].seconds = SIM_OVERHEAD +
		    e->last[1].bytes / s->cfg.drive_rate;
	}
	s->first_night[i] = -1;
}

/* Grow the arrays to hold n entities. */
static int
ensure(struct sim *s, int n)
{
	int cap = s->cap;

	if (n <= cap)
		return 0;
	while (cap < n)
		cap = cap ? cap * 2 : 64;
#define GROW(p) do { \
		void *q = realloc((p), (size_t)cap * sizeof(*(p))); \
		if (!q) \
			return -ENOMEM; \
		(p) = q; \
	} while (0)
	GROW(s->ent);
	GROW(s->size);
	GROW(s->grow);
	GROW(s->change);
	GROW(s->type);
	GROW(s->first_night);
	GROW(s->last_full_night);
#undef GROW
	{
		char *names = realloc(s->names, (size_t)cap * NAMELEN);
		int i;

		if (!names)
			return -ENOMEM;
		/* names moved: repoint them */
		for (i = 0; i < s->nent; i++)
			s->ent[i].name = names + (size_t)i * NAMELEN;
		s->names = names;
	}
	s->cap = cap;
	return 0;
}

/* A new site as cfg says. */
struct sim *
sim_new(const struct sim_config *cfg)
{
	struct sim *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->rng = cfg->seed;
	/* 2026-01-04 is a Sunday: the first night starts at start_hour */
	s->now = (time_t)1767484800 + cfg->start_hour * 3600 - cfg->tz_offset;
	s->drives = calloc(cfg->ndrives + 1, sizeof(*s->drives));
	s->servers = calloc(cfg->nservers + 1, sizeof(*s->servers));
	s->subnets = calloc(cfg->nsubnets + 1, sizeof(*s->subnets));
	if (!s->drives || !s->servers || !s->subnets ||
	    ensure(s, cfg->nentities + 16) < 0) {
		sim_free(s);
		return NULL;
	}
	for (i = 0; i < cfg->ndrives; i++) {
		s->drives[i].name = i ? "d1" : "d0";
		s->drives[i].rate = cfg->drive_rate;
	}
	for (i = 0; i < cfg->nsubnets; i++) {
		s->subnets[i].name = "net";
		s->subnets[i].max_dumps = cfg->subnet_limit;
	}
	for (i = 0; i < cfg->nservers; i++) {
		s->servers[i].name = "srv";
		s->servers[i].subnet = cfg->nsubnets ? i % cfg->nsubnets : -1;
		s->servers[i].max_dumps = cfg->server_limit;
	}
	for (i = 0; i < cfg->nentities; i++) {
		new_entity(s, i);
		old_history(s, i, i < cfg->burst * cfg->nentities);
	}
	s->nent = cfg->nentities;
	return s;
}

/* Free the site. */
void
sim_free(struct sim *s)
{
	if (!s)
		return;
	free(s->drives);
	free(s->servers);
	free(s->subnets);
	free(s->ent);
	free(s->size);
	free(s->grow);
	free(s->change);
	free(s->type);
	free(s->first_night);
	free(s->last_full_night);
	free(s->names);
	free(s);
}

/* Tonight's planner input. */
void
sim_input(struct sim *s, struct plan_input *in)
{
	memset(in, 0, sizeof(*in));
	in->now = s->now;
	in->end = s->now + (time_t)(s->cfg.night_hours * 3600);
	in->tz_offset = s->cfg.tz_offset;
	in->drives = s->drives;
	in->ndrives = s->cfg.ndrives;
	in->servers = s->servers;
	in->nservers = s->cfg.nservers;
	in->subnets = s->subnets;
	in->nsubnets = s->cfg.nsubnets;
	in->entities = s->ent;
	in->nentities = s->nent;
}

/* Whether [t, t + secs) overlaps a window: each window's occurrences on
   the days around, minute by minute of the day in local time. */
int
sim_window_overlap(const struct plan_window *w, int n, long tz, time_t t,
    double secs)
{
	long long a = (long long)t + tz, b = a + (long long)secs;
	long long day;
	int k;

	for (day = a / DAY - 1; day <= b / DAY; day++) {
		int wd = (int)(((day % 7) + 7 + 4) % 7);

		for (k = 0; k < n; k++) {
			long long ws, we;

			if (!((w[k].days >> wd) & 1))
				continue;
			ws = day * DAY + 60LL * w[k].start_min;
			we = w[k].end_min > w[k].start_min ?
			    day * DAY + 60LL * w[k].end_min :
			    (day + 1) * DAY + 60LL * w[k].end_min;
			if (a < we && ws < b)
				return 1;
		}
	}
	return 0;
}

/* An event of the limit sweep. */
struct ev {
	double t;
	int start;		/* 1 start, 0 end */
	int ent;
};

/* Ends before starts at the same moment. */
static int
cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->start - y->start;
}

/* Count moments a server or subnet limit is exceeded. */
static int
limit_violations(const struct sim *s, const struct plan_input *in,
    const struct plan_out *out)
{
	struct ev *ev = calloc((size_t)in->nentities * 2 + 1, sizeof(*ev));
	int *ns = calloc(in->nservers + 1, sizeof(int));
	int *nn = calloc(in->nsubnets + 1, sizeof(int));
	int n = 0, i, bad = 0;

	(void)s;
	if (!ev || !ns || !nn) {
		free(ev), free(ns), free(nn);
		return -1;
	}
	for (i = 0; i < in->nentities; i++) {
		const struct plan_item *it = &out->items[i];

		if (!it->dump || in->entities[i].server < 0)
			continue;
		ev[n++] = (struct ev){ it->start, 1, i };
		ev[n++] = (struct ev){ it->end, 0, i };
	}
	qsort(ev, n, sizeof(*ev), cmp_ev);
	for (i = 0; i < n; i++) {
		int sv = in->entities[ev[i].ent].server;
		int sn = in->servers[sv].subnet;
		int dlt = ev[i].start ? 1 : -1;

		ns[sv] += dlt;
		if (sn >= 0)
			nn[sn] += dlt;
		if (!ev[i].start)
			continue;
		if (in->servers[sv].max_dumps > 0 &&
		    ns[sv] > in->servers[sv].max_dumps)
			bad++;
		else if (sn >= 0 && in->subnets[sn].max_dumps > 0 &&
		    nn[sn] > in->subnets[sn].max_dumps)
			bad++;
	}
	free(ev), free(ns), free(nn);
	return bad;
}

/* Whether a level-L dump against base_date is valid for e's history. */
static int
level_valid(const struct plan_entity *e, int level, time_t base_date)
{
	int k;

	if (level == 0)
		return 1;
	if (level < 0 || level > PLAN_MAX_LEVEL || level > e->max_level)
		return 0;
	for (k = 0; k < level; k++)
		if (!e->last[k].date ||
		    (k > 0 && e->last[k].date < e->last[k - 1].date))
			return 0;
	return base_date == e->last[level - 1].date;
}

/* Check out against tonight's state. */
void
sim_check(const struct sim *s, const struct plan_input *in,
    const struct plan_out *out, struct sim_night *nt)
{
	double budget = (double)(in->end - in->now);
	char *named = calloc(in->nentities + 1, 1);
	int i;

	memset(nt, 0, sizeof(*nt));
	for (i = 0; named && i < out->noverdue; i++)
		named[out->overdue[i].entity] = 1;
	for (i = 0; i < in->nentities; i++) {
		const struct plan_entity *e = &in->entities[i];
		const struct plan_item *it = &out->items[i];
		int gap = s->night - s->last_full_night[i];

		if (!e->vanished && !e->inactive) {
			if (!e->last[0].date) {
				if (it->dump && it->level == 0)
					nt->nnew_full++;
				else
					nt->nnew_missed++;
			} else if (gap > e->full_days + 1) {
				nt->overdue++;
				if (named && !named[i])
					nt->overdue_unnamed++;
			}
		}
		if (!it->dump)
			continue;
		if (it->level == 0) {
			nt->nfull++;
			nt->full_bytes += it->bytes;
		} else {
			nt->nincr++;
			nt->incr_bytes += it->bytes;
		}
		if (!level_valid(e, it->level, it->base_date))
			nt->level_violations++;
		if (e->nwindows && sim_window_overlap(e->windows, e->nwindows,
		    in->tz_offset, in->now + (time_t)it->start,
		    it->end - it->start))
			nt->window_violations++;
		if (it->end > budget + 1)
			nt->late++;
		if (it->end > nt->last_end)
			nt->last_end = it->end;
	}
	nt->limit_violations = limit_violations(s, in, out);
	free(named);
}

/* Record out's dumps in tonight's history (their real sizes). */
void
sim_record(struct sim *s, const struct plan_out *out, time_t now)
{
	int i;

	for (i = 0; i < s->nent && i < out->nitems; i++) {
		struct plan_entity *e = &s->ent[i];
		const struct plan_item *it = &out->items[i];
		struct plan_dump *d;
		double bytes;

		if (!it->dump || it->level < 0 || it->level > PLAN_MAX_LEVEL)
			continue;
		if (it->level == 0) {
			bytes = s->size[i];
			s->last_full_night[i] = s->night;
			e->must_full = 0;
		} else {
			int bn = night_of(s, it->base_date);

			bytes = changed(s, i, s->night - bn);
		}
		d = &e->last[it->level];
		d->date = now + (time_t)it->start;
		d->bytes = (int64_t)bytes;
		d->seconds = SIM_OVERHEAD + bytes / s->cfg.drive_rate;
	}
}

/* Record tonight's dumps (real sizes), grow, and move to tomorrow. */
int
sim_run(struct sim *s, const struct plan_out *out)
{
	sim_record(s, out, s->now);
	return sim_next(s);
}

/* Grow the site and move to tomorrow (vanishing, arrivals). */
int
sim_next(struct sim *s)
{
	int i, n0 = s->nent, arrive;
	double a;

	for (i = 0; i < s->nent; i++)
		s->size[i] *= 1 + s->grow[i];
	s->night++;
	s->now += DAY;
	/* vanishing, then arrivals */
	for (i = 0; i < s->nent; i++)
		if (!s->ent[i].vanished && unif(&s->rng) < s->cfg.vanish)
			s->ent[i].vanished = 1;
	a = s->cfg.arrivals;
	arrive = (int)a + (unif(&s->rng) < a - (int)a);
	if (ensure(s, s->nent + arrive) < 0)
		return -ENOMEM;
	for (i = 0; i < arrive; i++)
		new_entity(s, n0 + i);
	s->nent = n0 + arrive;
	return 0;
}

/* The mean, max/mean and coefficient of variation of v (no libm: the
   square root by Newton's method). */
void
sim_balance(const double *v, int n, double *mean, double *max_mean,
    double *cv)
{
	double sum = 0, sum2 = 0, max = 0, var, r;
	int i;

	*mean = *max_mean = *cv = 0;
	if (n < 1)
		return;
	for (i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] > max)
			max = v[i];
	}
	*mean = sum / n;
	for (i = 0; i < n; i++)
		sum2 += (v[i] - *mean) * (v[i] - *mean);
	var = sum2 / n;
	if (*mean <= 0)
		return;
	*max_mean = max / *mean;
	r = var > 1 ? var : 1;
	for (i = 0; i < 200; i++)
		r = (r + var / r) / 2;
	*cv = (var > 0 ? r : 0) / *mean;
}
