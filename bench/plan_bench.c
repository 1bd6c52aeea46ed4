/*
 * abs-bench --planner: ABS's planner (planner/plan.c) against an
 * Amanda-style greedy baseline over the same simulated site
 * (planner/sim.c), and the time to plan 100,000 entities.
 *
 * The baseline does what Amanda's planner does, one night at a time: fulls
 * when due (new ones and forced ones at once), levels bumped by Amanda's
 * defaults (bumpsize 10 MiB, bumpmult 1.5, bumpdays 2), then balancing by
 * bytes only: delay the largest due fulls while tonight is over the tape
 * capacity, promote fulls from the most crowded future night while tonight
 * is under the balanced size (total fulls / cycle). It knows nothing of
 * windows, server or subnet limits or drive time: its dumps go on the
 * drives least-loaded first, back to back, and run as planned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/plan_bench.h"
#include "planner/plan.h"
#include "planner/sim.h"

#define DAY 86400

/* Whole nights from date to now (as planner/plan.h counts them). */
static int
nights(time_t date, time_t now)
{
	long long age = (long long)now - (long long)date - 7200;

	return age <= 0 ? 0 : (int)((age + DAY - 1) / DAY);
}

/* Baseline per entity. */
struct bl {
	int fd, nd, full, st;	/* st: 0 skip, 1 must, 2 due, 3 not due */
	int level;
	int64_t full_bytes, incr_bytes;
};

/* The baseline's incremental level and size (Amanda's bump defaults). */
static int
bl_level(const struct plan_entity *e, time_t now, int64_t full,
    int64_t *bytes)
{
	int chain, L, d0, d1, k;
	double r, est0, est1, need = 10.0 * (1 << 20);

	if (!e->last[0].date || e->max_level < 1)
		return -1;
	for (chain = 0; chain < PLAN_MAX_LEVEL; chain++)
		if (!e->last[chain + 1].date ||
		    e->last[chain + 1].date < e->last[chain].date)
			break;
	if (chain >= 1) {
		int nd = nights(e->last[0].date, e->last[1].date);

		r = (double)e->last[1].bytes / (nd < 1 ? 1 : nd);
	} else
		r = 0.02 * (double)full;
	L = chain < 1 ? 1 : chain;
	if (L > e->max_level)
		L = e->max_level;
	d0 = nights(e->last[L - 1].date, now);
	est0 = r * (d0 < 1 ? 1 : d0);
	*bytes = (int64_t)(est0 < full ? est0 : full);
	if (chain < 1 || L + 1 > e->max_level || d0 - 1 < 2)
		return L;
	d1 = nights(e->last[L].date, now);
	est1 = r * (d1 < 1 ? 1 : d1);
	for (k = 1; k < L; k++)
		need *= 1.5;
	if (est0 - est1 >= need) {
		*bytes = (int64_t)(est1 < full ? est1 : full);
		return L + 1;
	}
	return L;
}

/* Largest full first. */
static int
cmp_big(const void *a, const void *b, void *arg)
{
	const struct bl *w = arg;
	int x = *(const int *)a, y = *(const int *)b;

	if (w[x].full_bytes != w[y].full_bytes)
		return w[x].full_bytes > w[y].full_bytes ? -1 : 1;
	return x - y;
}

/* Classify every entity; returns the fulls' balanced size. */
static double
bl_classify(const struct plan_input *in, struct bl *w, int64_t *load, int h)
{
	double balanced = 0;
	int i, k;

	for (i = 0; i < in->nentities; i++) {
		const struct plan_entity *e = &in->entities[i];
		struct bl *b = &w[i];
		int dsf = e->last[0].date ? nights(e->last[0].date, in->now) : -1;

		b->fd = e->full_days < 1 ? 1 : e->full_days;
		b->full_bytes = dsf < 0 ? e->type_estimate :
		    (int64_t)((double)e->last[0].bytes * (1 + e->growth * dsf));
		b->level = bl_level(e, in->now, b->full_bytes, &b->incr_bytes);
		if (e->vanished || e->inactive || e->not_before > in->now) {
			b->st = 0;
			continue;
		}
		balanced += (double)b->full_bytes / b->fd;
		if (dsf < 0 || e->must_full)
			b->st = 1;
		else if (dsf >= b->fd)
			b->st = 2;
		else {
			b->st = 3;
			b->nd = b->fd - dsf;
		}
		b->full = b->st == 1 || b->st == 2;
		for (k = b->st == 3 ? b->nd : b->fd; k < h; k += b->fd)
			load[k] += b->full_bytes;
	}
	return balanced;
}

/* Pick tonight's fulls: delay for capacity, promote hills. */
static void
bl_balance(const struct plan_input *in, struct bl *w, int64_t *load, int h,
    double balanced, double capacity, int *idx)
{
	double total = 0, fulls = 0;
	int i, m = 0, k;

	for (i = 0; i < in->nentities; i++) {
		if (!w[i].st)
			continue;
		if (w[i].full)
			fulls += (double)w[i].full_bytes;
		total += w[i].full ? (double)w[i].full_bytes :
		    w[i].level > 0 ? (double)w[i].incr_bytes : 0;
		if (w[i].st == 2)
			idx[m++] = i;
	}
	/* over the tape: delay due fulls, the largest first */
	qsort_r(idx, m, sizeof(*idx), cmp_big, w);
	for (k = 0; k < m && total > capacity; k++) {
		struct bl *b = &w[idx[k]];

		if (b->level < 1)
			continue;
		b->full = 0;
		total -= (double)(b->full_bytes - b->incr_bytes);
		fulls -= (double)b->full_bytes;
	}
	/* under the balanced size: promote from the biggest hill */
	for (;;) {
		int hill = -1, best = -1;

		for (k = 1; k < h; k++)
			if (load[k] > balanced &&
			    (hill < 0 || load[k] > load[hill]))
				hill = k;
		if (hill < 0 || fulls >= balanced)
			break;
		for (i = 0; i < in->nentities; i++) {
			struct bl *b = &w[i];

			if (b->st != 3 || b->full || b->nd != hill ||
			    fulls + b->full_bytes > balanced ||
			    total + b->full_bytes > capacity)
				continue;
			if (best < 0 || b->full_bytes > w[best].full_bytes)
				best = i;
		}
		if (best < 0) {
			load[hill] = 0;	/* nothing fits from it */
			continue;
		}
		w[best].full = 1;
		fulls += (double)w[best].full_bytes;
		total += (double)(w[best].full_bytes - w[best].incr_bytes);
		load[hill] -= w[best].full_bytes;
	}
}

/* The baseline planner: same input, same output as plan_night(). */
static int
baseline_plan(const struct plan_input *in, struct plan_out *out)
{
	int n = in->nentities, h = 31, i, d, *idx;
	struct bl *w = calloc(n + 1, sizeof(*w));
	int64_t *load = calloc(h, sizeof(*load));
	double capacity = 0, balanced;

	memset(out, 0, sizeof(*out));
	idx = calloc(n + 1, sizeof(*idx));
	out->items = calloc(n + 1, sizeof(*out->items));
	out->drives = calloc(in->ndrives + 1, sizeof(*out->drives));
	if (!w || !load || !idx || !out->items || !out->drives)
		goto nomem;
	out->nitems = n;
	out->ndrives = in->ndrives;
	for (d = 0; d < in->ndrives; d++) {
		capacity += in->drives[d].rate * (double)(in->end - in->now);
		if (!(out->drives[d].order = calloc(n + 1, sizeof(int))))
			goto nomem;
	}
	balanced = bl_classify(in, w, load, h);
	bl_balance(in, w, load, h, balanced, capacity, idx);
	/* dumps on the least-loaded drive, largest first, back to back */
	for (i = 0; i < n; i++) {
		struct plan_item *it = &out->items[i];

		it->level = it->base_level = it->drive = it->position = -1;
		if (!w[i].st)
			continue;
		if (w[i].full) {
			it->level = 0;
			it->bytes = w[i].full_bytes;
		} else if (w[i].level > 0) {
			it->level = w[i].level;
			it->base_level = w[i].level - 1;
			it->base_date =
			    in->entities[i].last[it->base_level].date;
			it->bytes = w[i].incr_bytes;
		} else
			continue;
		it->dump = 1;
	}
	{
		int m = 0;

		for (i = 0; i < n; i++)
			if (out->items[i].dump) {
				w[i].full_bytes = out->items[i].bytes;
				idx[m++] = i;
			}
		qsort_r(idx, m, sizeof(*idx), cmp_big, w);
		for (int k = 0; k < m; k++) {
			struct plan_item *it = &out->items[idx[k]];
			struct plan_drive_out *dr;

			d = 0;
			for (int x = 1; x < in->ndrives; x++)
				if (out->drives[x].end < out->drives[d].end)
					d = x;
			dr = &out->drives[d];
			it->drive = d;
			it->position = dr->n;
			it->start = dr->end;
			it->seconds = 5 + (double)it->bytes / in->drives[d].rate;
			it->end = it->start + it->seconds;
			dr->end = it->end;
			dr->bytes += it->bytes;
			dr->order[dr->n++] = idx[k];
		}
	}
	free(w), free(load), free(idx);
	return 0;
nomem:
	free(w), free(load), free(idx);
	plan_out_free(out);
	return -ENOMEM;
}

/* What one planner did over the nights. */
struct tally {
	double total[400], fulls[400];
	int n, overdue, unnamed, window, limit, level, late, new_missed;
	double last_end;
};

/* Run a planner over a fresh site for cfg->nights nights. */
static int
run_site(const struct sim_config *cfg, int baseline, int from,
    struct tally *t)
{
	struct sim *s = sim_new(cfg);
	char err[PLAN_ERRLEN];
	int night;

	memset(t, 0, sizeof(*t));
	if (!s)
		return -ENOMEM;
	for (night = 0; night < cfg->nights; night++) {
		struct plan_input in;
		struct plan_out out;
		struct sim_night nt;
		int rc;

		sim_input(s, &in);
		rc = baseline ? baseline_plan(&in, &out) :
		    plan_night(&in, &out, err);
		if (rc < 0) {
			fprintf(stderr, "abs-bench: night %d: %s\n", night,
			    baseline ? "out of memory" : err);
			sim_free(s);
			return rc;
		}
		sim_check(s, &in, &out, &nt);
		if (night >= from && t->n < 400) {
			t->total[t->n] = (double)(nt.full_bytes + nt.incr_bytes);
			t->fulls[t->n] = (double)nt.full_bytes;
			t->n++;
			t->overdue += nt.overdue;
			t->unnamed += nt.overdue_unnamed;
			t->window += nt.window_violations;
			t->limit += nt.limit_violations;
			t->level += nt.level_violations;
			t->late += nt.late;
			t->new_missed += nt.nnew_missed;
			if (nt.last_end > t->last_end)
				t->last_end = nt.last_end;
		}
		rc = sim_run(s, &out);
		plan_out_free(&out);
		if (rc < 0) {
			sim_free(s);
			return rc;
		}
	}
	sim_free(s);
	return 0;
}

/* Seconds on a clock. */
static double
seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sort doubles. */
static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The site of the timing runs: n entities, 50 a server, 20 servers a
   subnet, 32 drives, 12 h nights, fulls from 512 MiB. */
static void
timing_site(struct sim_config *cfg, int n)
{
	sim_config_default(cfg);
	cfg->nentities = n;
	cfg->nservers = n / 50 > 1 ? n / 50 : 1;
	cfg->nsubnets = cfg->nservers / 20 > 1 ? cfg->nservers / 20 : 1;
	cfg->ndrives = 32;
	cfg->night_hours = 12;
	cfg->min_bytes = 512LL << 20;
}

/* The medians of runs timings (CPU and wall seconds) of planning n
   entities (baseline or not). */
static int
time_plan(int n, int runs, int baseline, double *cpu, double *wall,
    int *ndumps)
{
	struct sim_config cfg;
	struct sim *s;
	double t[32], tw[32];
	int r;

	timing_site(&cfg, n);
	s = sim_new(&cfg);
	if (!s)
		return -ENOMEM;
	if (runs > 32)
		runs = 32;
	for (r = 0; r < runs; r++) {
		struct plan_input in;
		struct plan_out out;
		char err[PLAN_ERRLEN];
		double t0, w0;
		int rc;

		sim_input(s, &in);
		t0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
		w0 = seconds(CLOCK_MONOTONIC);
		rc = baseline ? baseline_plan(&in, &out) :
		    plan_night(&in, &out, err);
		t[r] = seconds(CLOCK_PROCESS_CPUTIME_ID) - t0;
		tw[r] = seconds(CLOCK_MONOTONIC) - w0;
		if (rc < 0) {
			sim_free(s);
			return rc;
		}
		*ndumps = out.nfull + out.nincr;
		if (baseline)
			for (int i = *ndumps = 0; i < out.nitems; i++)
				*ndumps += out.items[i].dump;
		plan_out_free(&out);
	}
	qsort(t, runs, sizeof(*t), cmp_d);
	qsort(tw, runs, sizeof(*tw), cmp_d);
	*cpu = t[runs / 2];
	*wall = tw[runs / 2];
	sim_free(s);
	return 0;
}

/* Print one planner's column of figures. */
static void
print_tally(const char *name, const struct tally *t)
{
	double mean, maxm, cv, fmean, fmaxm, fcv;

	sim_balance(t->total, t->n, &mean, &maxm, &cv);
	sim_balance(t->fulls, t->n, &fmean, &fmaxm, &fcv);
	printf("%-22s %7.2f %7.3f %6.3f %7.2f %7.3f %6.3f %8d %6d %6d %6d "
	    "%5d %5d %6.1f\n", name, mean / 1e12, maxm, cv, fmean / 1e12,
	    fmaxm, fcv, t->overdue, t->unnamed, t->window, t->limit, t->late,
	    t->new_missed, t->last_end / 3600);
}

/* Print one seed's summary line: ABS and the baseline side by side. */
static void
print_seed(uint64_t seed, const struct tally *a, const struct tally *b)
{
	double m[2], mm[2], cv[2];

	sim_balance(a->total, a->n, &m[0], &mm[0], &cv[0]);
	sim_balance(b->total, b->n, &m[1], &mm[1], &cv[1]);
	printf("seed %-4llu  abs %6.2f TB %6.3f %6.3f   baseline %6.2f TB %6.3f "
	    "%6.3f   baseline violations: window %d, limit %d\n",
	    (unsigned long long)seed, m[0] / 1e12, mm[0], cv[0], m[1] / 1e12,
	    mm[1], cv[1], b->window, b->limit);
}

/* abs-bench --planner. */
int
plan_bench(int nentities, int nights, int runs, uint64_t seed, int seeds)
{
	struct sim_config cfg;
	struct tally abs_t, base_t;
	struct sim_config tcfg;
	double c_abs, w_abs, c_base, w_base;
	double sum[2][2] = { { 0 } };
	int from, n_abs, n_base, k;

	sim_config_default(&cfg);
	if (nentities > 0)
		cfg.nentities = nentities;
	if (nights > 0)
		cfg.nights = nights;
	if (seed)
		cfg.seed = seed;
	from = cfg.nights / 3;
	printf("planner balance: %d entities (+%.0f a night), %d servers, %d "
	    "subnets, %d drives of %.0f MB/s, %.0f h nights; nights %d-%d of "
	    "%d\n", cfg.nentities, cfg.arrivals, cfg.nservers, cfg.nsubnets,
	    cfg.ndrives, cfg.drive_rate / 1e6, cfg.night_hours, from,
	    cfg.nights - 1, cfg.nights);
	for (k = 0; k < (seeds > 0 ? seeds : 1); k++, cfg.seed++) {
		double m, mm, cv;

		if (run_site(&cfg, 0, from, &abs_t) < 0 ||
		    run_site(&cfg, 1, from, &base_t) < 0) {
			fprintf(stderr, "abs-bench: the simulation failed\n");
			return 1;
		}
		if (seeds > 1) {
			print_seed(cfg.seed, &abs_t, &base_t);
			sim_balance(abs_t.total, abs_t.n, &m, &mm, &cv);
			sum[0][0] += mm, sum[0][1] += cv;
			sim_balance(base_t.total, base_t.n, &m, &mm, &cv);
			sum[1][0] += mm, sum[1][1] += cv;
			continue;
		}
		printf("seed %llu\n", (unsigned long long)cfg.seed);
		printf("%-22s %7s %7s %6s %7s %7s %6s %8s %6s %6s %6s %5s %5s "
		    "%6s\n", "planner", "TB/nt", "max/mn", "cv", "fullTB",
		    "max/mn", "cv", "overdue", "unnam", "window", "limit", "late",
		    "newms", "end h");
		print_tally("abs (plan.c)", &abs_t);
		print_tally("amanda-style baseline", &base_t);
		printf("(TB/nt: all bytes a night; fullTB: the fulls; overdue: "
		    "entity-nights past frequency + 1; unnam: of those not "
		    "named in the plan; window, limit: dumps overlapping a "
		    "window, starts over a server or subnet limit; late: dumps "
		    "ending past the night; end h: the latest end)\n");
	}
	if (seeds > 1)
		printf("mean over %d seeds: abs max/mean %.3f cv %.3f; baseline "
		    "max/mean %.3f cv %.3f\n", seeds, sum[0][0] / seeds,
		    sum[0][1] / seeds, sum[1][0] / seeds, sum[1][1] / seeds);
	if (time_plan(100000, runs, 0, &c_abs, &w_abs, &n_abs) < 0 ||
	    time_plan(100000, runs, 1, &c_base, &w_base, &n_base) < 0) {
		fprintf(stderr, "abs-bench: the timing run failed\n");
		return 1;
	}
	timing_site(&tcfg, 100000);
	printf("time to plan %d entities (%d servers, %d subnets, %d drives), "
	    "median of %d:\n  abs      %.3f s CPU, %.3f s wall (%d dumps "
	    "planned)\n  baseline %.3f s CPU, %.3f s wall (%d dumps)\n",
	    tcfg.nentities, tcfg.nservers, tcfg.nsubnets, tcfg.ndrives, runs,
	    c_abs, w_abs, n_abs, c_base, w_base, n_base);
	return 0;
}
