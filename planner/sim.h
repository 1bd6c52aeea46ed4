/*
 * A simulated site for the planner: a deterministic population (seeded
 * PRNG) of entities on servers in subnets, long-tailed sizes that grow,
 * several types with their own frequencies, levels and windows, and a
 * night-by-night run of any plan over it (dumps recorded in the history
 * with the sizes the site's growth and change rates give, new entities
 * arriving, some vanishing). tests/unit/test_planner.c asserts on it and
 * abs-bench --planner compares planners over it. No I/O.
 */
#ifndef ABS_SIM_H
#define ABS_SIM_H

#include <stdint.h>

#include "planner/plan.h"

/* What the simulated site looks like. sim_config_default() fills it. */
struct sim_config {
	uint64_t seed;
	int nentities;		/* entities at the start */
	int nservers;
	int nsubnets;
	int ndrives;
	double drive_rate;	/* bytes/s of every drive */
	double night_hours;	/* the time budget of a night */
	int start_hour;		/* the night starts at this local hour */
	long tz_offset;		/* seconds east of UTC */
	int64_t min_bytes;	/* the smallest full (the long tail's start) */
	int64_t max_bytes;	/* the largest */
	double arrivals;	/* new entities a night (mean) */
	double vanish;		/* share of entities vanishing a night */
	int server_limit;	/* max_dumps of every server (0: none) */
	int subnet_limit;	/* of every subnet (0: none) */
	int nights;		/* nights sim_new() makes room for */
	double burst;		/* share of the first entities whose last
				   full was on the same night (a migration:
				   the unbalanced start) */
};

/* What one night of a plan did. */
struct sim_night {
	int64_t full_bytes, incr_bytes;
	int nfull, nincr;
	int nnew_full;		/* new entities dumped in full */
	int nnew_missed;	/* new entities not dumped in full */
	int overdue;		/* active entities past frequency + 1 day */
	int overdue_unnamed;	/* of those, not in the plan's overdue list */
	int window_violations;	/* dumps overlapping a window */
	int limit_violations;	/* moments a server or subnet limit is
				   exceeded */
	int level_violations;	/* dumps whose base does not exist */
	int late;		/* dumps ending past the night's end */
	double last_end;	/* seconds the last dump ends after now */
};

/* The site: its input arrays are what plan_night() reads. */
struct sim {
	struct sim_config cfg;
	int night;		/* nights run so far */
	time_t now;		/* tonight's start */
	struct plan_drive *drives;
	struct plan_server *servers;
	struct plan_subnet *subnets;
	struct plan_entity *ent;
	int nent;		/* entities so far (arrived ones included) */
	int cap;
	/* the truth behind the history, per entity */
	double *size;		/* today's full size */
	double *grow;		/* growth per day */
	double *change;		/* share changing per day */
	int *type;		/* index into the types */
	int *first_night;	/* the night it arrived (-1: at the start) */
	int *last_full_night;	/* the night of its last full (can be < 0) */
	uint64_t rng;
	char *names;		/* storage of the names */
};

/* The number of types and their names/rules (docs/PLANNER.md). */
int sim_ntypes(void);
const char *sim_type_name(int t);

void sim_config_default(struct sim_config *cfg);
/* A new site; NULL when out of memory. */
struct sim *sim_new(const struct sim_config *cfg);
void sim_free(struct sim *s);
/* Fill in for tonight (the site's arrays; valid until the next call). */
void sim_input(struct sim *s, struct plan_input *in);
/* Check out against tonight's state into *night (nothing changes). */
void sim_check(const struct sim *s, const struct plan_input *in,
    const struct plan_out *out, struct sim_night *night);
/* Run out: record its dumps, grow the site, move to the next night
   (arrivals and vanishing). 0 or -ENOMEM. sim_record() then sim_next(). */
int sim_run(struct sim *s, const struct plan_out *out);
/* Record out's dumps (a plan made at now, tonight) in the history as if
   they ran: a second plan of the same night then sees them. */
void sim_record(struct sim *s, const struct plan_out *out, time_t now);
/* Grow the site and move to the next night. 0 or -ENOMEM. */
int sim_next(struct sim *s);
/* The mean, max/mean and coefficient of variation of v[0..n-1]. */
void sim_balance(const double *v, int n, double *mean, double *max_mean,
    double *cv);
/* Whether [t, t + secs) overlaps one of the windows (local time tz). */
int sim_window_overlap(const struct plan_window *w, int n, long tz,
    time_t t, double secs);

#endif
