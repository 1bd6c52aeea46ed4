/*
 * The planner: one night's work worked out from what the catalog knows.
 *
 * plan_night() is a pure function: catalog state (entities with their rules
 * and dump history, servers, subnets, drives and their measured rates) and a
 * time in, a plan out. It does no I/O and keeps no state, so a simulator can
 * run it for many nights in a second (planner/sim.c, tests/unit/test_planner.c,
 * abs-bench --planner). docs/PLANNER.md says how it decides.
 *
 * Conventions: every index is into the caller's arrays (-1: none); every
 * date is a time_t (UTC seconds, 0: none); sizes are bytes; durations are
 * seconds. The planner never keeps a pointer into the input after it returns
 * and never frees it. "Days since" a date counts whole nights from the
 * night's reference, ref = min(now, end - 20 h): ceil((ref - date - 2 h) /
 * 1 day). So a dump of last night is 1 day old (even when tonight starts up
 * to 2 hours later than last night did), and every dump since end - 22 h is
 * tonight's (0 days old), however late a second run of the same night (the
 * same end) starts, past midnight included: an entity with a dump tonight
 * is not planned again (PLAN_DONE_TONIGHT).
 */
#ifndef ABS_PLAN_H
#define ABS_PLAN_H

#include <stdint.h>
#include <time.h>

/* The size of the error buffer plan_night() fills. */
#define PLAN_ERRLEN 256
/* Levels: 0 is a full, 1..PLAN_MAX_LEVEL incrementals. */
#define PLAN_MAX_LEVEL 9

/*
 * A recurring forbidden window, in the local time of abs-ctld (schema 5's
 * windows table): on the days in the bitmask (bit 0 Sunday .. bit 6
 * Saturday) from start_min to end_min minutes of the day. end_min <=
 * start_min wraps past midnight into the next day (the day bit is the day
 * it starts). A dump may not overlap a window of its entity.
 */
struct plan_window {
	unsigned days;		/* bit 0 Sunday .. bit 6 Saturday; 0: never */
	int start_min;		/* 0..1439 */
	int end_min;		/* 1..1440 */
};

/* A tape drive the night may use. */
struct plan_drive {
	const char *name;
	double rate;		/* measured bytes/s; <= 0: unknown, use
				   plan_params.default_rate */
};

/* A server entities live on (a file server, an AFS server, a host). */
struct plan_server {
	const char *name;
	int subnet;		/* index into plan_input.subnets; -1: none */
	int max_dumps;		/* dumps of its entities at once; 0: no limit */
};

/* A subnet (or group) of servers sharing a limit. */
struct plan_subnet {
	const char *name;
	int max_dumps;		/* dumps of its servers' entities at once;
				   0: no limit */
};

/* One past dump of an entity, as the history knows it. */
struct plan_dump {
	time_t date;		/* when it started; 0: there is none */
	int64_t bytes;		/* its size */
	double seconds;		/* how long it took; 0: unknown */
};

/*
 * An entity and what the planner needs of its history. last[0] is the last
 * full; last[N] (1..9) the newest dump of level N. A level N (N >= 1) dump
 * is made against the newest dump of level N-1 (its base), and last[N]
 * counts as part of the current chain only when every last[0..N] exists and
 * each is no older than the one below (a newer level-1 dump retires the old
 * level-2 ones).
 */
struct plan_entity {
	const char *name;
	int server;		/* index into plan_input.servers; -1: none
				   (no limits apply) */
	const char *type;	/* the type's name (for reports) */
	int priority;		/* effective priority: higher goes first */
	int full_days;		/* full every N days (<= 0: every night) */
	int incr_days;		/* an incremental every N days (<= 0: no
				   incrementals, only fulls) */
	int max_level;		/* deepest incremental level 0..9 (0: fulls
				   only; the type's max_level) */
	time_t not_before;	/* no dump starts before this (0: none) */
	time_t added;		/* when the entity joined (0: unknown) */
	int inactive;		/* 1: not dumped (inactive), reason inactive */
	int vanished;		/* 1: its server no longer lists it: not
				   dumped, reason vanished */
	int must_full;		/* 1: the next dump must be a full (a broken
				   chain, a lost tape, an admin's request) */
	const struct plan_window *windows; /* forbidden windows (the entity's
				   own, else its type's) */
	int nwindows;
	struct plan_dump last[PLAN_MAX_LEVEL + 1]; /* last[0]: the last full */
	double growth;		/* the full size's growth per day as a
				   fraction (0.001: 0.1%/day); 0: none known */
	int64_t change_per_day;	/* bytes changed per day (what a level 1 a
				   day after the full holds); 0: derive it
				   from last[1], else
				   plan_params.change_fraction of the full */
	int64_t type_estimate;	/* the type's estimate of a full when there
				   is no history (a new entity); 0:
				   plan_params.default_estimate */
};

/*
 * Tuning. plan_params_default() fills the values docs/PLANNER.md argues
 * for; a caller may pass NULL in plan_input.params to take them.
 */
struct plan_params {
	double default_rate;	/* bytes/s of a drive of unknown rate */
	int64_t default_estimate; /* a new entity's full without a type
				   estimate */
	double change_fraction;	/* share of a full changing per day when
				   the history says nothing */
	double overhead;	/* seconds every dump costs besides its bytes
				   (positioning, filemarks, snapshot) */
	double fill;		/* share of the drives' time the selection
				   may plan (the rest absorbs estimate
				   errors), e.g. 0.9 */
	int64_t bump_bytes;	/* bump level N to N+1 only if it saves at
				   least bump_bytes * bump_mult^(N-1) ... */
	double bump_mult;
	double bump_percent;	/* ... and at least this share of the full */
	int bump_days;		/* ... and level N has been used this many
				   days */
	int horizon;		/* nights of look-ahead when nights_ahead
				   is 0 (the longest cycle + 1 is used when
				   larger, at most 400) */
	double min_rate;	/* a drive's measured rate below this is
				   taken as unknown (default_rate): rates
				   measured from tiny dumps; 0: no floor */
};

/* What plan_night() plans from. */
struct plan_input {
	time_t now;		/* the night starts (clock_now()) */
	time_t end;		/* the night must be done by then (the time
				   budget is end - now); every run of one
				   night passes the same end: the dumps of
				   the 22 h before it are tonight's */
	long tz_offset;		/* seconds east of UTC of the windows'
				   local time (tm_gmtoff) */
	int nights_ahead;	/* look-ahead horizon in nights (0: the
				   longest full cycle + 1) */
	const struct plan_params *params; /* NULL: plan_params_default() */
	const struct plan_drive *drives;
	int ndrives;
	const struct plan_server *servers;
	int nservers;
	const struct plan_subnet *subnets;
	int nsubnets;
	const struct plan_entity *entities;
	int nentities;
};

/* Why an entity is (or is not) dumped tonight at the level planned. */
enum plan_reason {
	PLAN_DUE,		/* full: its full frequency is reached */
	PLAN_OVERDUE,		/* full: past its frequency (was delayed) */
	PLAN_PROMOTED,		/* full before it is due: a future night is
				   crowded and tonight has room */
	PLAN_DELAYED,		/* incremental: the full is due but tonight
				   is over its share; the full goes tomorrow */
	PLAN_WINDOW,		/* not dumped (or, level >= 1, an
				   incremental instead of a full that found
				   no room): its windows leave no room */
	PLAN_SERVER_LIMIT,	/* not dumped (or an incremental instead of
				   the full): its server's limit left no
				   room in the night */
	PLAN_SUBNET_LIMIT,	/* likewise: its subnet's limit did */
	PLAN_NEW,		/* full: first dump of a new entity */
	PLAN_NOT_DUE,		/* incremental: the full is not due */
	PLAN_VANISHED,		/* not dumped: vanished from its server */
	PLAN_CAPACITY,		/* not dumped (or an incremental instead of
				   a due full): the drives' time is used up */
	PLAN_MUST_FULL,		/* full: must_full was set (broken chain) */
	PLAN_INCR_NOT_DUE,	/* not dumped: the last dump is younger than
				   incr_days */
	PLAN_NOT_BEFORE,	/* not dumped: not_before is later */
	PLAN_INACTIVE,		/* not dumped: inactive */
	PLAN_DONE_TONIGHT,	/* not dumped: it has a complete dump of
				   tonight already (an earlier run of the
				   same night), at any level */
	PLAN_CLOCK_BEHIND,	/* incremental (a full when it has only
				   fulls): a dump of it is dated after now
				   (+ 2 h): the clock is behind the catalog;
				   it is neither done tonight nor not due */
	PLAN_NREASONS
};

/* What the plan says of one entity (plan_out.items[i] is entity i). */
struct plan_item {
	int dump;		/* 1: dumped tonight */
	int level;		/* 0 full, 1..9 incremental; -1: not dumped */
	int base_level;		/* the level of its base (level - 1);
				   -1 for a full or when not dumped */
	time_t base_date;	/* last[base_level].date (the "since" of the
				   job); 0 for a full */
	int64_t bytes;		/* estimated size at that level (also set
				   when not dumped: what it would have been) */
	double seconds;		/* estimated duration on its drive */
	enum plan_reason reason;
	int drive;		/* index into plan_input.drives; -1 */
	int position;		/* 0-based place in its drive's order; -1 */
	double start;		/* seconds after now it is expected to
				   start on its drive, and to end */
	double end;
	int days_since_full;	/* days since last[0] (-1: never) */
	int full_due_in;	/* nights until its full is due (<= 0: due
				   or overdue tonight; 0 when there is no
				   full yet) */
};

/* One drive's night. */
struct plan_drive_out {
	int *order;		/* entity indices in the order to dump */
	int n;
	double end;		/* seconds after now it is expected to be
				   done */
	int64_t bytes;		/* estimated bytes it writes */
};

/* An entity more than one day past its full frequency, and why. */
struct plan_overdue {
	int entity;		/* index into plan_input.entities */
	int days_since_full;	/* days since its last full */
	int full_days;		/* its frequency */
	int full_tonight;	/* 1: it gets its full tonight (late) */
	enum plan_reason why;	/* what kept (or keeps) the full back:
				   PLAN_CAPACITY, PLAN_WINDOW,
				   PLAN_SERVER_LIMIT, PLAN_SUBNET_LIMIT,
				   PLAN_NOT_BEFORE, PLAN_OVERDUE (late from
				   earlier nights, dumped tonight),
				   PLAN_DONE_TONIGHT (an earlier run tonight
				   dumped it, not in full) */
};

/* The plan: fill by plan_night(), release by plan_out_free(). */
struct plan_out {
	struct plan_item *items;	/* nentities items, input order */
	int nitems;
	struct plan_drive_out *drives;	/* ndrives, input order */
	int ndrives;
	struct plan_overdue *overdue;	/* entities past frequency + 1 day */
	int noverdue;
	int64_t *forecast;		/* full bytes expected on each of the
					   nforecast nights, tonight first (the
					   look-ahead, after tonight's moves) */
	int nforecast;
	int64_t full_bytes;		/* tonight's planned fulls, bytes */
	int64_t incr_bytes;		/* tonight's planned incrementals */
	int64_t target_bytes;		/* the share of fulls a night should
					   take (total fulls / cycle, or more
					   when the deadlines ahead need it;
					   the night's target adds the
					   incrementals expected) */
	int64_t capacity_bytes;		/* what the drives write in the time
					   budget */
	int nfull, nincr;		/* dumps planned tonight */
	int nclock_behind;		/* entities with a dump dated after
					   now + 2 h (reason clock-behind
					   unless skipped for another) */
	time_t clock_newest;		/* the newest such date (0: none) */
};

/* Fill params with the defaults docs/PLANNER.md argues for. */
void plan_params_default(struct plan_params *params);
/*
 * Plan the night described by in into out (which it initializes). Returns
 * 0, or a negative errno (-EINVAL: bad input, said in err; -ENOMEM) with
 * out left empty. err holds PLAN_ERRLEN bytes.
 */
int plan_night(const struct plan_input *in, struct plan_out *out, char *err);
/* Release what plan_night() allocated in out (NULL or empty: nothing). */
void plan_out_free(struct plan_out *out);
/*
 * Record out's dumps in entities (nentities of them, the array plan_night()
 * planned from, which the caller owns and has copied if it needs the
 * original) as if the night at now had run as estimated: last[level] gets
 * the planned start, bytes and seconds, a full clears must_full. Then the
 * caller moves now and end a day on and plans again: that is how `abs-ctl
 * plan --nights N` looks N nights ahead.
 */
void plan_project(struct plan_entity *entities, int nentities,
    const struct plan_out *out, time_t now);
/* The reason's name as reports and run_plan.reason spell it ("due",
   "server-limit", ...). */
const char *plan_reason_name(enum plan_reason reason);

/*
 * Shadows (docs/SHADOWS.md): when a shadow's refresh is due. A pure
 * function as plan_night() is; abs-ctld asks it each second for every
 * active shadow (control/shadow.c).
 */
struct plan_shadow {
	int every_hours;	/* 0: refresh as each dump lands; else at
				   most once in that many hours */
	int behind;		/* 1: the entity has a complete dump newer
				   than the one the shadow reflects */
	int refreshing;		/* 1: a refresh of it is queued or runs */
	int failed_newest;	/* 1: the last refresh, to that newest dump,
				   failed: not tried again by itself until a
				   newer dump lands (or an operator asks) */
	int promoted;		/* 1: it is the entity's source now: never
				   refreshed again */
	time_t refreshed;	/* when its last refresh ended (0: never) */
	/* for plan_shadow_lag: */
	time_t dump_at;		/* the date of the dump it reflects (0: none) */
	time_t newest_at;	/* the date of the entity's newest complete
				   dump (0: none) */
	long dumps_behind;	/* complete dumps newer than the one it
				   reflects (all of them when it reflects
				   none) */
};

enum plan_shadow_reason {
	PLAN_SHADOW_DUE,	/* refresh now */
	PLAN_SHADOW_CURRENT,	/* it reflects the newest dump */
	PLAN_SHADOW_REFRESHING,	/* a refresh is queued or runs */
	PLAN_SHADOW_WAIT,	/* --every: not before *next */
	PLAN_SHADOW_HELD,	/* its last refresh failed */
	PLAN_SHADOW_PROMOTED,	/* it is a source now */
};

/*
 * Whether s is due at now; *next: when it will be (PLAN_SHADOW_WAIT).
 * With --every, a clock that went back less than a period since the last
 * refresh makes it wait at most two periods; one that went back more
 * (the last refresh is dated more than a period after now) makes it due:
 * a refresh once too early rather than none for as long as the clock
 * jumped.
 */
enum plan_shadow_reason plan_shadow_due(const struct plan_shadow *s,
    time_t now, time_t *next);
/* The reason's name ("due", "current", "refreshing", "wait", "held",
   "promoted"). */
const char *plan_shadow_reason_name(enum plan_shadow_reason r);

/* How old and how far behind a shadow is; -1: not known. */
struct plan_shadow_lag {
	long long age;		/* seconds since the date of the dump it
				   reflects (-1: it reflects none) */
	long long lag;		/* seconds from that dump to the newest
				   (0: current; -1: it reflects none) */
	long dumps;		/* dumps behind (0: current) */
};

/* s's age and lag at now; a clock behind a dump's date gives age 0, a
   newest dump dated before the one it reflects gives lag 0 (never a
   negative time). */
void plan_shadow_lag(const struct plan_shadow *s, time_t now,
    struct plan_shadow_lag *out);

#endif
