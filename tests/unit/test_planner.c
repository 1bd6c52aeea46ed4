/*
 * The planner (planner/plan.h) over a simulated site (planner/sim.h):
 * 2,000 entities on 40 servers in 8 subnets, 2 drives, 90 nights; every
 * night's plan is checked (windows, limits, fulls no further apart than
 * frequency + 1 unless named overdue, levels against the history, new
 * entities in full). Then small cases one rule at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "planner/plan.h"
#include "planner/sim.h"
#include "t.h"

#define DAY 86400
/* 2026-01-05 (a Monday) 18:00 UTC */
#define MONDAY_18 ((time_t)1767636000)

/* What second plans of a night added to what the first had planned. */
struct again {
	int redumped;		/* dumped by the first plan, again */
	int added;		/* not dumped by the first, by a second */
	int not_done;		/* dumped by the first, reason not
				   done-tonight in a second */
	int by_reason[PLAN_NREASONS]; /* the first plan's reasons of the
				   entities seen done by a second */
	int plans;
};

/*
 * Run the first plan out1 (made at in->now) into the site's history, then
 * plan the same night again twice once it ran (as abs-cron started again
 * would): a minute after its last dump ends and an hour before the
 * night's end (past midnight), and count what those add.
 */
static void
plan_again(struct sim *s, const struct plan_input *in,
    const struct plan_out *out1, struct again *ag)
{
	time_t later[2] = { in->now + 60, in->end - 3600 };
	int k, i;

	for (k = 0; k < out1->ndrives; k++)
		if (in->now + (time_t)out1->drives[k].end + 60 > later[0])
			later[0] = in->now + (time_t)out1->drives[k].end + 60;
	if (later[1] < later[0])
		later[1] = later[0];

	sim_record(s, out1, in->now);
	for (k = 0; k < 2; k++) {
		struct plan_input in2 = *in;
		struct plan_out out2;
		char err[PLAN_ERRLEN];

		in2.now = later[k];
		if (in2.now >= in->end)
			continue;	/* the first ran to the night's end */
		if (plan_night(&in2, &out2, err) < 0) {
			CHECK(0);
			continue;
		}
		ag->plans++;
		for (i = 0; i < out2.nitems && i < out1->nitems; i++) {
			const struct plan_item *a = &out1->items[i];
			const struct plan_item *b = &out2.items[i];

			if (a->dump) {
				ag->redumped += b->dump;
				ag->not_done += b->reason != PLAN_DONE_TONIGHT;
				ag->by_reason[a->reason]++;
			} else
				ag->added += b->dump;
		}
		plan_out_free(&out2);
	}
}

/* 90 nights of the simulated site, every night's plan checked. */
static void
test_sim(void)
{
	struct sim_config cfg;
	struct sim *s;
	int night, bad_new = 0, bad_over = 0, bad_win = 0, bad_lim = 0;
	int bad_lvl = 0, late = 0, overdue = 0, levels[PLAN_MAX_LEVEL + 1];
	int promoted = 0, delayed = 0;
	double nightly[90], mean, maxm, cv;
	int nn = 0;
	struct again ag;

	memset(levels, 0, sizeof(levels));
	memset(&ag, 0, sizeof(ag));
	sim_config_default(&cfg);
	s = sim_new(&cfg);
	CHECK(s != NULL);
	if (!s)
		return;
	for (night = 0; night < 90; night++) {
		struct plan_input in;
		struct plan_out out;
		struct sim_night nt;
		char err[PLAN_ERRLEN];
		int i, rc;

		sim_input(s, &in);
		rc = plan_night(&in, &out, err);
		CHECK_EQ(rc, 0);
		if (rc < 0) {
			fprintf(stderr, "night %d: %s\n", night, err);
			break;
		}
		sim_check(s, &in, &out, &nt);
		bad_new += nt.nnew_missed;
		bad_over += nt.overdue_unnamed;
		bad_win += nt.window_violations;
		bad_lim += nt.limit_violations;
		bad_lvl += nt.level_violations;
		late += nt.late;
		overdue += nt.overdue;
		for (i = 0; i < out.nitems; i++) {
			if (out.items[i].dump)
				levels[out.items[i].level]++;
			promoted += out.items[i].dump &&
			    out.items[i].reason == PLAN_PROMOTED;
			delayed += out.items[i].reason == PLAN_DELAYED;
		}
		if (night >= 30)
			nightly[nn++] = (double)(nt.full_bytes + nt.incr_bytes);
		if (night % 10 == 0 || nt.nnew_missed || nt.overdue_unnamed ||
		    nt.window_violations || nt.limit_violations ||
		    nt.level_violations)
			printf("night %2d: %5d entities, %4d full %7.2f TB, "
			    "%5d incr %6.2f TB, last end %5.0f s; overdue %d "
			    "(unnamed %d), new missed %d, window %d, limit %d, "
			    "level %d\n", night, in.nentities, nt.nfull,
			    nt.full_bytes / 1e12, nt.nincr, nt.incr_bytes / 1e12,
			    nt.last_end, nt.overdue, nt.overdue_unnamed,
			    nt.nnew_missed, nt.window_violations,
			    nt.limit_violations, nt.level_violations);
		/* a second start of the night adds nothing */
		plan_again(s, &in, &out, &ag);
		CHECK_EQ(sim_next(s), 0);
		plan_out_free(&out);
	}
	printf("second plans: %d, redumped %d, added %d, not done %d; done "
	    "after due %d, delayed %d, promoted %d, new %d, not-due %d\n",
	    ag.plans, ag.redumped, ag.added, ag.not_done,
	    ag.by_reason[PLAN_DUE], ag.by_reason[PLAN_DELAYED],
	    ag.by_reason[PLAN_PROMOTED], ag.by_reason[PLAN_NEW],
	    ag.by_reason[PLAN_NOT_DUE]);
	CHECK_EQ(ag.plans, 180);
	CHECK_EQ(ag.redumped, 0);
	CHECK_EQ(ag.added, 0);
	CHECK_EQ(ag.not_done, 0);
	CHECK(ag.by_reason[PLAN_DUE] > 0 && ag.by_reason[PLAN_DELAYED] > 0 &&
	    ag.by_reason[PLAN_PROMOTED] > 0 && ag.by_reason[PLAN_NEW] > 0 &&
	    ag.by_reason[PLAN_NOT_DUE] > 0);
	CHECK_EQ(bad_new, 0);
	CHECK_EQ(bad_over, 0);
	CHECK_EQ(bad_win, 0);
	CHECK_EQ(bad_lim, 0);
	CHECK_EQ(bad_lvl, 0);
	CHECK_EQ(late, 0);
	/* the simulation exercised what it claims to */
	CHECK(levels[0] > 0 && levels[1] > 0 && levels[2] > 0);
	CHECK(promoted > 0);
	sim_balance(nightly, nn, &mean, &maxm, &cv);
	{
		printf("nights 30-89: mean %.2f TB, max/mean %.3f, cv %.3f; "
		    "overdue entity-nights %d; promoted %d, delayed %d; "
		    "levels", mean / 1e12, maxm, cv, overdue, promoted,
		    delayed);
		for (int l = 0; l <= PLAN_MAX_LEVEL; l++)
			printf(" %d", levels[l]);
		printf("\n");
	}
	sim_free(s);
}

/* The same site on one slow drive for 40 nights: fulls cannot keep up,
   and every entity past frequency + 1 is named with why, while windows,
   limits and levels still hold. */
static void
test_sim_tight(void)
{
	struct sim_config cfg;
	struct sim *s;
	int night, overdue = 0, unnamed = 0, bad = 0, why[PLAN_NREASONS];
	struct again ag;

	memset(why, 0, sizeof(why));
	memset(&ag, 0, sizeof(ag));
	sim_config_default(&cfg);
	cfg.ndrives = 1;
	cfg.drive_rate = 250e6;
	s = sim_new(&cfg);
	CHECK(s != NULL);
	if (!s)
		return;
	for (night = 0; night < 40; night++) {
		struct plan_input in;
		struct plan_out out;
		struct sim_night nt;
		char err[PLAN_ERRLEN];
		int i;

		sim_input(s, &in);
		CHECK_EQ(plan_night(&in, &out, err), 0);
		sim_check(s, &in, &out, &nt);
		overdue += nt.overdue;
		unnamed += nt.overdue_unnamed;
		bad += nt.window_violations + nt.limit_violations +
		    nt.level_violations + nt.late;
		for (i = 0; i < out.noverdue; i++)
			why[out.overdue[i].why]++;
		plan_again(s, &in, &out, &ag);
		CHECK_EQ(sim_next(s), 0);
		plan_out_free(&out);
	}
	printf("tight second plans: %d, redumped %d, added %d, not done %d; "
	    "done after overdue %d, capacity %d\n", ag.plans, ag.redumped,
	    ag.added, ag.not_done, ag.by_reason[PLAN_OVERDUE],
	    ag.by_reason[PLAN_CAPACITY]);
	CHECK_EQ(ag.redumped, 0);
	CHECK_EQ(ag.not_done, 0);
	CHECK(ag.by_reason[PLAN_OVERDUE] > 0 && ag.by_reason[PLAN_CAPACITY] > 0);
	printf("tight: overdue entity-nights %d (unnamed %d); why: capacity "
	    "%d, window %d, server-limit %d, subnet-limit %d, overdue %d\n",
	    overdue, unnamed, why[PLAN_CAPACITY], why[PLAN_WINDOW],
	    why[PLAN_SERVER_LIMIT], why[PLAN_SUBNET_LIMIT], why[PLAN_OVERDUE]);
	CHECK(overdue > 0);
	CHECK_EQ(unnamed, 0);
	CHECK_EQ(bad, 0);
	sim_free(s);
}

/* One entity set up for the small cases. */
static void
entity(struct plan_entity *e, const char *name, int server, int full_days)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->server = server;
	e->type = "t";
	e->full_days = full_days;
	e->incr_days = 1;
	e->max_level = 1;
	e->type_estimate = 100LL << 30;
}

/* An input over entities on drives of 100 MB/s, a night of hours. */
static void
input(struct plan_input *in, struct plan_entity *en, int n,
    struct plan_drive *dr, int nd, double hours)
{
	memset(in, 0, sizeof(*in));
	in->now = MONDAY_18;
	in->end = in->now + (time_t)(hours * 3600);
	in->entities = en;
	in->nentities = n;
	in->drives = dr;
	in->ndrives = nd;
}

static struct plan_drive two_drives[2] = { { "d0", 100e6 }, { "d1", 100e6 } };

/* A new entity gets a full; one with a fresh full an incremental of
   level 1 against it; a vanished one nothing. */
static void
test_basic(void)
{
	struct plan_entity en[3];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	entity(&en[0], "new", -1, 7);
	en[0].type_estimate = 1000000;
	entity(&en[1], "old", -1, 7);
	entity(&en[2], "gone", -1, 7);
	en[2].vanished = 1;
	input(&in, en, 3, two_drives, 1, 8);
	en[1].last[0].date = in.now - 2 * DAY;
	en[1].last[0].bytes = 5000000;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 0);
	CHECK_EQ(out.items[0].reason, PLAN_NEW);
	CHECK_EQ(out.items[1].level, 1);
	CHECK_EQ(out.items[1].base_level, 0);
	CHECK_EQ(out.items[1].base_date, en[1].last[0].date);
	CHECK(!strcmp(plan_reason_name(out.items[1].reason), "not-due"));
	CHECK_EQ(out.items[2].dump, 0);
	CHECK_EQ(out.items[2].reason, PLAN_VANISHED);
	CHECK_EQ(out.drives[0].n, 2);
	CHECK_EQ(out.nfull, 1);
	CHECK_EQ(out.nincr, 1);
	plan_out_free(&out);
	plan_out_free(&out);
	/* a second run the same night plans nothing new */
	en[0].last[0].date = in.now + 60;
	en[0].last[0].bytes = 1000000;
	en[1].last[1].date = in.now + 120;
	en[1].last[1].bytes = 100000;
	in.now += 3600;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].dump, 0);
	CHECK_EQ(out.items[1].dump, 0);
	CHECK_EQ(out.items[1].reason, PLAN_DONE_TONIGHT);
	CHECK(!strcmp(plan_reason_name(PLAN_DONE_TONIGHT), "done-tonight"));
	plan_out_free(&out);
}

/* Dumps dated after now (the clock is behind the catalog): named in
   the output, and the entities are due (an incremental, a fulls-only
   one's full), never done-tonight or not-due; a dump within the night's
   slack after now is not an anomaly. */
static void
test_clock_behind(void)
{
	struct plan_entity en[4];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];
	time_t future;

	entity(&en[0], "incr", -1, 7);
	entity(&en[1], "fullsonly", -1, 7);
	en[1].max_level = 0;
	en[1].incr_days = 0;
	entity(&en[2], "slack", -1, 7);
	entity(&en[3], "normal", -1, 7);
	input(&in, en, 4, two_drives, 1, 8);
	future = in.now + 425 * DAY;
	en[0].last[0].date = future - 3 * DAY;
	en[0].last[0].bytes = 5000000;
	en[0].last[1].date = future;
	en[0].last[1].bytes = 100000;
	en[1].last[0].date = future - DAY;
	en[1].last[0].bytes = 5000000;
	en[2].last[0].date = in.now - 3 * DAY;
	en[2].last[0].bytes = 5000000;
	en[2].last[1].date = in.now + 3600;	/* within the slack */
	en[2].last[1].bytes = 100000;
	en[3].last[0].date = in.now - 2 * DAY;
	en[3].last[0].bytes = 5000000;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.nclock_behind, 2);
	CHECK_EQ(out.clock_newest, future);
	CHECK_EQ(out.items[0].dump, 1);
	CHECK_EQ(out.items[0].level, 1);
	CHECK_EQ(out.items[0].reason, PLAN_CLOCK_BEHIND);
	CHECK(!strcmp(plan_reason_name(PLAN_CLOCK_BEHIND), "clock-behind"));
	CHECK_EQ(out.items[1].dump, 1);
	CHECK_EQ(out.items[1].level, 0);
	CHECK_EQ(out.items[1].reason, PLAN_CLOCK_BEHIND);
	CHECK_EQ(out.items[2].dump, 0);
	CHECK_EQ(out.items[2].reason, PLAN_DONE_TONIGHT);
	CHECK_EQ(out.items[3].dump, 1);
	CHECK_EQ(out.items[3].reason, PLAN_NOT_DUE);
	plan_out_free(&out);
	/* must_full keeps its full */
	en[0].must_full = 1;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 0);
	CHECK_EQ(out.items[0].reason, PLAN_MUST_FULL);
	CHECK_EQ(out.nclock_behind, 2);
	plan_out_free(&out);
	en[0].must_full = 0;
	/* a sane clock: nothing named */
	en[0].last[1].date = en[0].last[0].date = 0;
	en[1].last[0].date = 0;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.nclock_behind, 0);
	CHECK_EQ(out.clock_newest, 0);
	CHECK_EQ(out.items[0].reason, PLAN_NEW);
	plan_out_free(&out);
}

/* A window over the whole night: nothing of that entity is dumped, the
   reason says window, and once past frequency + 1 it is named. */
static void
test_window_whole_night(void)
{
	static const struct plan_window all[1] = { { 0x7f, 0, 1440 } };
	struct plan_entity en[2];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	entity(&en[0], "blocked", -1, 7);
	en[0].windows = all;
	en[0].nwindows = 1;
	entity(&en[1], "free", -1, 7);
	input(&in, en, 2, two_drives, 2, 10);
	en[0].last[0].date = in.now - 9 * DAY;
	en[0].last[0].bytes = 1LL << 30;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].dump, 0);
	CHECK_EQ(out.items[0].reason, PLAN_WINDOW);
	CHECK_EQ(out.items[1].dump, 1);
	CHECK_EQ(out.noverdue, 1);
	CHECK_EQ(out.overdue[0].entity, 0);
	CHECK_EQ(out.overdue[0].why, PLAN_WINDOW);
	CHECK_EQ(out.overdue[0].full_tonight, 0);
	plan_out_free(&out);
}

/* A window over the night's first two hours (Monday 18:00-20:00 local,
   UTC+1 here): the dump starts when it closes, not before. */
static void
test_window_wait(void)
{
	static const struct plan_window w[1] = { { 1 << 1, 19 * 60,
	    21 * 60 } };
	struct plan_entity en[1];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	entity(&en[0], "late", -1, 7);
	en[0].windows = w;
	en[0].nwindows = 1;
	input(&in, en, 1, two_drives, 1, 10);
	in.tz_offset = 3600;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].dump, 1);
	CHECK(out.items[0].start >= 2 * 3600);
	CHECK(out.items[0].start < 2 * 3600 + 60);
	CHECK(!sim_window_overlap(w, 1, 3600, in.now +
	    (time_t)out.items[0].start, out.items[0].seconds));
	plan_out_free(&out);
	/* with a 3-hour night the 500 GiB full (1.5 h) finds no room after
	   the window; its incremental does, and the reason says why */
	en[0].last[0].date = in.now - 9 * DAY;
	en[0].last[0].bytes = 500LL << 30;
	en[0].last[1].date = in.now - DAY;
	en[0].last[1].bytes = 1LL << 30;
	input(&in, en, 1, two_drives, 1, 3);
	in.tz_offset = 3600;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].dump, 1);
	CHECK_EQ(out.items[0].level, 1);
	CHECK_EQ(out.items[0].reason, PLAN_WINDOW);
	CHECK(out.items[0].start >= 2 * 3600);
	CHECK_EQ(out.noverdue, 1);
	CHECK_EQ(out.overdue[0].why, PLAN_WINDOW);
	plan_out_free(&out);
}

/* A server limit of 1 with 2 drives: its dumps never overlap, and the
   other server's go on the second drive meanwhile. */
static void
test_server_limit(void)
{
	struct plan_server srv[2] = { { "a", -1, 1 }, { "b", -1, 0 } };
	struct plan_entity en[6];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];
	int i, k;

	for (i = 0; i < 6; i++)
		entity(&en[i], "e", i < 4 ? 0 : 1, 7);
	input(&in, en, 6, two_drives, 2, 10);
	in.servers = srv;
	in.nservers = 2;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(out.items[i].dump, 1);
		for (k = i + 1; k < 4; k++)
			CHECK(out.items[i].end <= out.items[k].start ||
			    out.items[k].end <= out.items[i].start);
	}
	CHECK_EQ(out.items[4].dump, 1);
	CHECK_EQ(out.items[5].dump, 1);
	/* 4 x 100 GiB at 100 MB/s one after the other: the b dumps run
	   beside them, not after */
	CHECK(out.items[4].start < out.items[3].start ||
	    out.items[5].start < out.items[3].start);
	plan_out_free(&out);
	/* a night too short for all four (each ~1,090 s) but not for the
	   drives' time: the rest say server-limit */
	input(&in, en, 6, two_drives, 2, 1.05);
	in.servers = srv;
	in.nservers = 2;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	for (k = 0, i = 0; i < 4; i++)
		if (!out.items[i].dump) {
			k++;
			CHECK_EQ(out.items[i].reason, PLAN_SERVER_LIMIT);
		}
	CHECK(k >= 1);
	plan_out_free(&out);
}

/* More fulls due than the drives can write: the lowest priority wait,
   an incremental instead, and once a day past the frequency they are
   named with capacity as the reason. */
static void
test_capacity(void)
{
	struct plan_entity en[10];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];
	int i, nfull = 0, named = 0;

	input(&in, en, 10, two_drives, 1, 1);	/* 360 GB a night */
	for (i = 0; i < 10; i++) {
		entity(&en[i], "big", -1, 7);
		en[i].priority = i;
		en[i].last[0].date = in.now - 9 * DAY;
		en[i].last[0].bytes = 100LL << 30;
		en[i].last[1].date = in.now - DAY;
		en[i].last[1].bytes = 1LL << 30;
	}
	CHECK_EQ(plan_night(&in, &out, err), 0);
	for (i = 0; i < 10; i++) {
		if (out.items[i].dump && out.items[i].level == 0)
			nfull++;
		else {
			CHECK_EQ(out.items[i].reason, PLAN_CAPACITY);
			CHECK(out.items[i].level != 0);
		}
	}
	CHECK(nfull >= 1 && nfull <= 3);
	/* the fulls went to the highest priorities */
	CHECK_EQ(out.items[9].level, 0);
	CHECK(out.items[0].level != 0);
	CHECK_EQ(out.noverdue, 10);
	for (i = 0; i < out.noverdue; i++)
		if (!out.overdue[i].full_tonight) {
			named++;
			CHECK_EQ(out.overdue[i].why, PLAN_CAPACITY);
		}
	CHECK_EQ(named, 10 - nfull);
	plan_out_free(&out);
}

/* Bump rules: level 2 only when it saves enough for long enough; never
   past max_level; a stale level 2 (older than the level 1) is no base. */
static void
test_bump(void)
{
	struct plan_params p;
	struct plan_entity en[1];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	plan_params_default(&p);
	entity(&en[0], "e", -1, 30);
	en[0].max_level = 3;
	input(&in, en, 1, two_drives, 1, 10);
	in.params = &p;
	/* a full 10 days ago, a level 1 yesterday; 10 GiB change a day */
	en[0].last[0].date = in.now - 10 * DAY;
	en[0].last[0].bytes = 200LL << 30;
	en[0].last[1].date = in.now - DAY;
	en[0].last[1].bytes = 90LL << 30;
	en[0].change_per_day = 10LL << 30;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	/* level 1 would hold 100 GiB, level 2 10 GiB: bump */
	CHECK_EQ(out.items[0].level, 2);
	CHECK_EQ(out.items[0].base_level, 1);
	CHECK_EQ(out.items[0].base_date, en[0].last[1].date);
	plan_out_free(&out);
	/* the saving below bump_percent of the full: stay at 1 */
	p.bump_percent = 0.6;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 1);
	plan_out_free(&out);
	p.bump_percent = 0.1;
	/* level 1 used for only 1 day (bump_days 2): stay at 1 */
	en[0].last[0].date = in.now - 2 * DAY;
	en[0].last[1].date = in.now - DAY;
	en[0].change_per_day = 100LL << 30;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 1);
	plan_out_free(&out);
	/* at level 2 with max_level 2: stay at 2 */
	en[0].max_level = 2;
	en[0].last[0].date = in.now - 10 * DAY;
	en[0].last[1].date = in.now - 5 * DAY;
	en[0].last[2].date = in.now - DAY;
	en[0].last[2].bytes = 10LL << 30;
	en[0].change_per_day = 10LL << 30;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 2);
	CHECK_EQ(out.items[0].base_date, en[0].last[1].date);
	plan_out_free(&out);
	/* a level 2 older than the level 1 is stale: level 1 or 2 against
	   the new level 1, never 3 */
	en[0].max_level = 3;
	en[0].last[1].date = in.now - DAY;
	en[0].last[2].date = in.now - 5 * DAY;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK(out.items[0].level == 1 || out.items[0].level == 2);
	if (out.items[0].level == 2)
		CHECK_EQ(out.items[0].base_date, en[0].last[1].date);
	plan_out_free(&out);
	/* must_full: a full whatever the history */
	en[0].must_full = 1;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 0);
	CHECK_EQ(out.items[0].reason, PLAN_MUST_FULL);
	plan_out_free(&out);
}

/* Looking ahead: plan, project, move a day on, plan again. A weekly
   entity whose full was 5 days ago gets incrementals, then its full on
   the second night ahead; a new one its full tonight only. */
static void
test_project(void)
{
	struct plan_entity en[2];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];
	int night, full_night[2] = { -1, -1 }, nfull[2] = { 0, 0 };

	entity(&en[0], "weekly", -1, 7);
	entity(&en[1], "new", -1, 7);
	en[0].type_estimate = en[1].type_estimate = 10LL << 30;
	input(&in, en, 2, two_drives, 1, 8);
	en[0].last[0].date = in.now - 5 * DAY;
	en[0].last[0].bytes = 10LL << 30;
	for (night = 0; night < 4; night++) {
		int i;

		CHECK_EQ(plan_night(&in, &out, err), 0);
		for (i = 0; i < 2; i++) {
			CHECK_EQ(out.items[i].dump, 1);
			if (out.items[i].level == 0) {
				nfull[i]++;
				if (full_night[i] < 0)
					full_night[i] = night;
			}
		}
		plan_project(en, 2, &out, in.now);
		plan_out_free(&out);
		in.now += DAY;
		in.end += DAY;
	}
	CHECK_EQ(full_night[1], 0);
	CHECK_EQ(nfull[1], 1);
	/* due on night 2 (7 days); a lone entity is never promoted */
	CHECK_EQ(full_night[0], 2);
	CHECK_EQ(nfull[0], 1);
	CHECK(en[0].last[1].date > en[0].last[0].date);
}

/*
 * A second run of the same night (N4): after the first plan's dumps are in
 * the history (at its levels and start times; must_full still set, as
 * the catalog may not have cleared it), a plan 3 hours later and one 10
 * hours later (past midnight, far past the 2-hour slack) plan nothing, each
 * entity done tonight with reason done-tonight, whatever the first said
 * (must-full, new, overdue, due, delayed, not-due); an entity the first
 * left for tomorrow (incr_days 2) is not dumped either. The next night
 * plans as usual.
 */
static void
test_second_run(void)
{
	enum { N = 10 };
	struct plan_entity en[N];
	struct plan_input in;
	struct plan_out o1, o2;
	char err[PLAN_ERRLEN];
	int i, k, seen[PLAN_NREASONS];
	static const char *const names[N] = { "mustfull", "new", "due0",
	    "due1", "due2", "due3", "notdue", "overdue", "every2", "idle" };
	time_t later[2];

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < N; i++) {
		entity(&en[i], names[i], -1, 3);
		en[i].last[0].bytes = 100LL << 30;
		en[i].last[0].date = MONDAY_18 - DAY;
		en[i].change_per_day = 1LL << 30;
	}
	input(&in, en, N, two_drives, 2, 13);
	later[0] = in.now + 3 * 3600;
	later[1] = in.now + 10 * 3600;
	en[0].must_full = 1;
	memset(&en[1].last, 0, sizeof(en[1].last));
	en[1].type_estimate = 10LL << 30;
	for (i = 2; i <= 5; i++) {
		en[i].last[0].date = in.now - 3 * DAY;
		en[i].last[1].date = in.now - DAY;
		en[i].last[1].bytes = 2LL << 30;
	}
	en[7].last[0].date = in.now - 5 * DAY;
	en[8].incr_days = 2;
	en[9].incr_days = 2;
	en[9].last[1].date = in.now - DAY + 3600;
	en[9].last[1].bytes = 1LL << 30;
	CHECK_EQ(plan_night(&in, &o1, err), 0);
	for (i = 0; i < N; i++)
		seen[o1.items[i].reason] += o1.items[i].dump;
	CHECK_EQ(o1.items[0].reason, PLAN_MUST_FULL);
	CHECK_EQ(o1.items[1].reason, PLAN_NEW);
	CHECK_EQ(o1.items[7].reason, PLAN_OVERDUE);
	CHECK(seen[PLAN_DUE] > 0 && seen[PLAN_DELAYED] > 0);
	CHECK_EQ(o1.items[6].reason, PLAN_NOT_DUE);
	CHECK_EQ(o1.items[8].dump, 0);
	CHECK_EQ(o1.items[8].reason, PLAN_INCR_NOT_DUE);
	plan_project(en, N, &o1, in.now);
	en[0].must_full = 1;
	for (k = 0; k < 2; k++) {
		struct plan_input in2 = in;

		in2.now = later[k];
		CHECK_EQ(plan_night(&in2, &o2, err), 0);
		CHECK_EQ(o2.nfull + o2.nincr, 0);
		for (i = 0; i < N; i++) {
			CHECK_EQ(o2.items[i].dump, 0);
			if (o1.items[i].dump)
				CHECK_EQ(o2.items[i].reason, PLAN_DONE_TONIGHT);
		}
		/* tonight's bytes count: the night is not light */
		CHECK(o2.full_bytes == 0);
		plan_out_free(&o2);
	}
	/* the next night is a night of its own */
	in.now += DAY;
	in.end += DAY;
	CHECK_EQ(plan_night(&in, &o2, err), 0);
	CHECK_EQ(o2.items[6].dump, 1);
	CHECK_EQ(o2.items[0].reason, PLAN_MUST_FULL);
	for (i = 0; i < N; i++)
		CHECK(o2.items[i].reason != PLAN_DONE_TONIGHT);
	plan_out_free(&o2);
	plan_out_free(&o1);
}

/* A drive rate measured below min_rate (tiny dumps) is unknown: the
   default rate is used, the night is not shrunk to nothing (N8). */
static void
test_min_rate(void)
{
	struct plan_entity en[1];
	struct plan_drive slow[2] = { { "d0", 8000 }, { "d1", 50e6 } };
	struct plan_params p;
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	entity(&en[0], "new", -1, 7);
	en[0].type_estimate = 600LL << 30;
	input(&in, en, 1, slow, 2, 10);
	plan_params_default(&p);
	in.params = &p;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.capacity_bytes, (int64_t)(36000 * p.default_rate) +
	    (int64_t)(36000 * 50e6));
	CHECK_EQ(out.items[0].dump, 1);
	CHECK_EQ(out.items[0].level, 0);
	plan_out_free(&out);
	p.min_rate = 0;		/* no floor: taken as measured */
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.capacity_bytes, (int64_t)(36000 * 8000.0) +
	    (int64_t)(36000 * 50e6));
	plan_out_free(&out);
	p.min_rate = -1;
	CHECK_EQ(plan_night(&in, &out, err), -22);
}

/* Bad input is refused with a reason, never planned. */
static void
test_bad_input(void)
{
	struct plan_entity en[1];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	entity(&en[0], "e", 3, 7);	/* no server 3 */
	input(&in, en, 1, two_drives, 1, 8);
	CHECK_EQ(plan_night(&in, &out, err), -22);
	CHECK(strstr(err, "server") != NULL);
	CHECK(out.items == NULL);
	plan_out_free(&out);
	entity(&en[0], "e", -1, 7);
	in.end = in.now - 1;
	CHECK_EQ(plan_night(&in, &out, err), -22);
	/* no drives: a plan of nothing, every dump for capacity */
	input(&in, en, 1, two_drives, 0, 8);
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].dump, 0);
	CHECK_EQ(out.items[0].reason, PLAN_CAPACITY);
	plan_out_free(&out);
}

/* A tiny PRNG for the random cases. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* Check one plan's invariants against its input; returns failures. */
static int
plan_invariants(const struct plan_input *in, const struct plan_out *out)
{
	double budget = (double)(in->end - in->now);
	int i, k, d, bad = 0;

	for (d = 0; d < out->ndrives; d++)
		for (k = 0; k < out->drives[d].n; k++) {
			int j = out->drives[d].order[k];
			const struct plan_item *it = &out->items[j];

			bad += it->drive != d || it->position != k || !it->dump;
			if (k > 0)
				bad += out->items[out->drives[d].order[k -
				    1]].end > it->start + 1e-6;
		}
	for (i = 0; i < in->nentities; i++) {
		const struct plan_entity *e = &in->entities[i];
		const struct plan_item *it = &out->items[i];

		if (!it->dump) {
			bad += it->drive != -1 || it->level != -1;
			continue;
		}
		bad += it->drive < 0 || it->drive >= in->ndrives;
		bad += it->start < 0 || it->end > budget + 1e-6;
		bad += e->not_before > in->now &&
		    it->start + 1e-6 < (double)(e->not_before - in->now);
		bad += e->vanished || e->inactive;
		if (e->nwindows)
			bad += sim_window_overlap(e->windows, e->nwindows,
			    in->tz_offset, in->now + (time_t)it->start,
			    it->end - it->start);
		if (it->level > 0) {
			bad += it->level > e->max_level;
			for (k = 0; k < it->level; k++)
				bad += !e->last[k].date || (k > 0 &&
				    e->last[k].date < e->last[k - 1].date);
			bad += it->base_date != e->last[it->level - 1].date;
		} else
			bad += it->level != 0;
		/* limits: every other dump overlapping this one's start */
		if (e->server >= 0) {
			int srv = e->server, net = in->servers[srv].subnet;
			int ns = 1, nn = 1;

			for (k = 0; k < in->nentities; k++) {
				const struct plan_item *o = &out->items[k];
				int os = in->entities[k].server;

				if (k == i || !o->dump || os < 0 ||
				    o->start > it->start || o->end <= it->start)
					continue;
				ns += os == srv;
				nn += net >= 0 && in->servers[os].subnet == net;
			}
			bad += in->servers[srv].max_dumps > 0 &&
			    ns > in->servers[srv].max_dumps;
			bad += net >= 0 && in->subnets[net].max_dumps > 0 &&
			    nn > in->subnets[net].max_dumps;
		}
	}
	for (i = 0; i < out->noverdue; i++)
		bad += out->overdue[i].entity < 0 ||
		    out->overdue[i].entity >= in->nentities;
	return bad;
}

/* Random small sites, odd values included: plan_night() refuses or
   plans, and every plan keeps the rules. */
static void
test_random(void)
{
	static struct plan_window win[64];
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	int round, planned = 0, bad = 0, refused = 0;

	for (round = 0; round < 3000; round++) {
		struct plan_drive dr[4];
		struct plan_server srv[5];
		struct plan_subnet net[3];
		struct plan_entity en[30];
		struct plan_input in;
		struct plan_out out;
		char err[PLAN_ERRLEN];
		int i, k, ne = (int)(rnd(&st) % 30), nw = 0, rc;

		memset(&in, 0, sizeof(in));
		in.now = MONDAY_18 + (time_t)(rnd(&st) % (14 * DAY));
		in.end = in.now + (time_t)(rnd(&st) % (16 * 3600));
		in.tz_offset = (long)(rnd(&st) % (24 * 3600)) - 12 * 3600;
		in.ndrives = (int)(rnd(&st) % 4);
		in.nservers = (int)(rnd(&st) % 5);
		in.nsubnets = (int)(rnd(&st) % 3);
		for (i = 0; i < in.ndrives; i++) {
			dr[i].name = "d";
			dr[i].rate = rnd(&st) % 5 == 0 ? -1 :
			    (double)(1 + rnd(&st) % 400) * 1e6;
		}
		for (i = 0; i < in.nsubnets; i++) {
			net[i].name = "n";
			net[i].max_dumps = (int)(rnd(&st) % 3);
		}
		for (i = 0; i < in.nservers; i++) {
			srv[i].name = "s";
			srv[i].subnet = in.nsubnets ?
			    (int)(rnd(&st) % (in.nsubnets + 1)) - 1 : -1;
			srv[i].max_dumps = (int)(rnd(&st) % 3);
		}
		for (i = 0; i < ne; i++) {
			struct plan_entity *e = &en[i];
			int nwin = (int)(rnd(&st) % 3);

			entity(e, "r", in.nservers ?
			    (int)(rnd(&st) % (in.nservers + 1)) - 1 : -1,
			    (int)(rnd(&st) % 30) - 1);
			e->incr_days = (int)(rnd(&st) % 4) - 1;
			e->max_level = (int)(rnd(&st) % 10);
			e->priority = (int)(rnd(&st) % 5) - 2;
			e->type_estimate = (int64_t)(rnd(&st) % (200LL << 30));
			e->vanished = rnd(&st) % 20 == 0;
			e->must_full = rnd(&st) % 20 == 0;
			e->growth = rnd(&st) % 10 == 0 ? -3 : 0.001;
			if (rnd(&st) % 8 == 0)
				e->not_before = in.now +
				    (time_t)(rnd(&st) % (10 * 3600));
			for (k = 0; k < nwin && nw < 64; k++, nw++) {
				win[nw].days = (unsigned)(rnd(&st) % 128);
				win[nw].start_min = (int)(rnd(&st) % 1440);
				win[nw].end_min = 1 + (int)(rnd(&st) % 1440);
			}
			e->windows = nwin ? &win[nw - nwin] : NULL;
			e->nwindows = nwin;
			for (k = 0; k <= PLAN_MAX_LEVEL; k++) {
				if (rnd(&st) % 3 == 0)
					continue;
				e->last[k].date = in.now -
				    (time_t)(rnd(&st) % (40 * DAY));
				e->last[k].bytes = (int64_t)(rnd(&st) %
				    (100LL << 30)) - (rnd(&st) % 50 == 0 ?
				    (200LL << 30) : 0);
				e->last[k].seconds = (double)(rnd(&st) % 5000);
			}
		}
		in.drives = dr;
		in.servers = srv;
		in.subnets = net;
		in.entities = en;
		in.nentities = ne;
		rc = plan_night(&in, &out, err);
		if (rc == -22) {
			refused++;
			continue;
		}
		CHECK_EQ(rc, 0);
		if (rc < 0)
			continue;
		planned++;
		k = plan_invariants(&in, &out);
		if (k && !bad)
			fprintf(stderr, "random round %d: %d broken\n", round, k);
		bad += k;
		plan_out_free(&out);
	}
	printf("random: %d planned, %d refused\n", planned, refused);
	CHECK(planned > 2000);
	CHECK_EQ(bad, 0);
}

int
main(void)
{
	test_random();
	test_basic();
	test_clock_behind();
	test_window_whole_night();
	test_window_wait();
	test_server_limit();
	test_capacity();
	test_bump();
	test_bad_input();
	test_project();
	test_second_run();
	test_min_rate();
	test_sim();
	test_sim_tight();
	T_DONE();
}
