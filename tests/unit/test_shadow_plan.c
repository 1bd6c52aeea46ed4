/*
 * The planner's shadow scheduling (planner/shadow.c): a shadow's life
 * simulated hour by hour as abs-ctld drives it (a refresh starts when
 * plan_shadow_due says due and ends some minutes later), with --every
 * respected and never two refreshes at once; then one rule at a time: a
 * new dump makes it due, none while one runs, a shadow that reflects no
 * dump (new, or missing) is due at once, a failed refresh is held until
 * a newer dump, a promoted shadow is never due, a chain restarted by a
 * new full, the clock going back, and age and lag.
 */
#include <stdint.h>
#include <string.h>

#include "planner/plan.h"
#include "t.h"

#define HOUR 3600
#define T0 ((time_t)1796000000)	/* 2026-11-29 */

/* A shadow as abs-ctld keeps it, and the entity's dumps. */
struct sim {
	struct plan_shadow s;
	int ndumps;		/* complete dumps so far */
	time_t dump_at[256];
	int reflects;		/* the dump it reflects (-1: none) */
	int to;			/* the dump the refresh in progress brings */
	time_t ends;		/* when that refresh ends */
	int refreshes;
	time_t starts[256];
};

/* What the planner is told, from the simulation. */
static void
sim_sync(struct sim *m)
{
	m->s.behind = m->ndumps > 0 && m->reflects != m->ndumps - 1;
	m->s.dump_at = m->reflects >= 0 ? m->dump_at[m->reflects] : 0;
	m->s.newest_at = m->ndumps ? m->dump_at[m->ndumps - 1] : 0;
	m->s.dumps_behind = m->ndumps - 1 - m->reflects;
}

/* One minute of abs-ctld's ticks at now. */
static void
sim_tick(struct sim *m, time_t now)
{
	if (m->s.refreshing && now >= m->ends) {
		m->s.refreshing = 0;
		m->reflects = m->to;
		m->s.refreshed = now;
	}
	sim_sync(m);
	if (plan_shadow_due(&m->s, now, NULL) == PLAN_SHADOW_DUE) {
		CHECK(!m->s.refreshing);
		m->s.refreshing = 1;
		m->to = m->ndumps - 1;
		m->ends = now + 10 * 60;
		if (m->refreshes < 256)
			m->starts[m->refreshes] = now;
		m->refreshes++;
	}
}

/* 48 hours, a dump landing every hour, with --every every. */
static void
test_life(int every)
{
	struct sim m;
	int stale = 0;

	memset(&m, 0, sizeof(m));
	m.reflects = -1;
	m.s.every_hours = every;
	for (time_t now = T0; now < T0 + 48 * HOUR; now += 60) {
		if ((now - T0) % HOUR == 30 * 60 && m.ndumps < 256)
			m.dump_at[m.ndumps++] = now;
		sim_tick(&m, now);
		/* Its tree never older than a period, plus the hour between
		   dumps and the refresh's own time. */
		if (m.reflects >= 0 && now - m.dump_at[m.reflects] >
		    (every ? every : 1) * HOUR + HOUR + 10 * 60)
			stale++;
	}
	CHECK_EQ(stale, 0);
	if (every == 0) {
		/* Each dump refreshed as it landed (the first one at once). */
		CHECK_EQ(m.refreshes, 48);
		for (int i = 1; i < m.refreshes && i < 256; i++)
			CHECK_EQ(m.starts[i] - m.starts[i - 1], HOUR);
	} else {
		/* At most once a period: 48 / every (+1: the first). */
		CHECK(m.refreshes >= 48 / every && m.refreshes <= 48 / every + 1);
		for (int i = 1; i < m.refreshes && i < 256; i++)
			CHECK(m.starts[i] - m.starts[i - 1] >= every * HOUR);
	}
}

static void
test_rules(void)
{
	struct plan_shadow s;
	struct plan_shadow_lag l;
	time_t now = T0 + 100 * HOUR, next;

	/* Current: nothing to do. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(plan_shadow_due(&s, now, &next), PLAN_SHADOW_CURRENT);
	CHECK_EQ(next, 0);
	/* A new dump landed: due; not while a refresh runs. */
	s.behind = 1;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	s.refreshing = 1;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_REFRESHING);
	s.every_hours = 6;
	s.refreshed = now - 3 * HOUR;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_REFRESHING);
	s.refreshing = 0;
	/* --every 6, refreshed 3 hours ago: waits 3 more, due then. */
	CHECK_EQ(plan_shadow_due(&s, now, &next), PLAN_SHADOW_WAIT);
	CHECK_EQ(next, now + 3 * HOUR);
	CHECK_EQ(plan_shadow_due(&s, now + 3 * HOUR - 1, NULL), PLAN_SHADOW_WAIT);
	CHECK_EQ(plan_shadow_due(&s, now + 3 * HOUR, NULL), PLAN_SHADOW_DUE);
	/* A shadow never refreshed (new, or its first refresh failed and it
	   was asked again) or reflecting no dump: due at once, --every or
	   not (a missing shadow is made again by that refresh). */
	s.refreshed = 0;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	/* Its last refresh, to that newest dump, failed: held; a newer dump
	   (failed_newest 0 again) makes it due. */
	s.failed_newest = 1;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_HELD);
	s.failed_newest = 0;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	/* Promoted: never refreshed, whatever else is true. */
	s.promoted = 1;
	CHECK_EQ(plan_shadow_due(&s, now, &next), PLAN_SHADOW_PROMOTED);
	CHECK_EQ(next, 0);
	s.refreshing = 1;
	s.failed_newest = 1;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_PROMOTED);
	memset(&s, 0, sizeof(s));
	s.promoted = 1;
	s.behind = 1;
	for (time_t t = now; t < now + 72 * HOUR; t += HOUR)
		CHECK(plan_shadow_due(&s, t, NULL) != PLAN_SHADOW_DUE);

	/* The clock went back an hour after a refresh (--every 6): it
	   waits, at most two periods from now. */
	memset(&s, 0, sizeof(s));
	s.behind = 1;
	s.every_hours = 6;
	s.refreshed = now + HOUR;
	CHECK_EQ(plan_shadow_due(&s, now, &next), PLAN_SHADOW_WAIT);
	CHECK_EQ(next, now + 7 * HOUR);
	CHECK(next - now <= 2 * 6 * HOUR);
	/* Back more than a period (a year): due, not held for a year. */
	s.refreshed = now + 365 * 24 * HOUR;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	/* Without --every the clock does not matter. */
	s.every_hours = 0;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);

	/* Age and lag: the shadow at a dump of 5 hours ago, the newest 2
	   hours ago, 3 dumps behind. */
	memset(&s, 0, sizeof(s));
	s.behind = 1;
	s.dump_at = now - 5 * HOUR;
	s.newest_at = now - 2 * HOUR;
	s.dumps_behind = 3;
	plan_shadow_lag(&s, now, &l);
	CHECK_EQ(l.age, 5 * HOUR);
	CHECK_EQ(l.lag, 3 * HOUR);
	CHECK_EQ(l.dumps, 3);
	/* A chain restarted by a new full: the shadow's dump is of the old
	   chain, the newest the new full: due, one dump and its time behind
	   (the refresh makes it again from the full). */
	s.dumps_behind = 1;
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	plan_shadow_lag(&s, now, &l);
	CHECK_EQ(l.dumps, 1);
	CHECK_EQ(l.lag, 3 * HOUR);
	/* Current: no lag, its age still counts. */
	s.behind = 0;
	s.newest_at = s.dump_at;
	s.dumps_behind = 0;
	plan_shadow_lag(&s, now, &l);
	CHECK_EQ(l.lag, 0);
	CHECK_EQ(l.dumps, 0);
	CHECK_EQ(l.age, 5 * HOUR);
	/* The clock behind the dump's date: age 0, never negative; a newest
	   dump dated before the shadow's (a clock set back at the dump): 0. */
	plan_shadow_lag(&s, s.dump_at - HOUR, &l);
	CHECK_EQ(l.age, 0);
	s.behind = 1;
	s.newest_at = s.dump_at - HOUR;
	s.dumps_behind = 1;
	plan_shadow_lag(&s, now, &l);
	CHECK_EQ(l.lag, 0);
	CHECK_EQ(l.dumps, 1);
	/* It reflects no dump (new, or its first refresh never ended): age
	   and lag unknown, every dump behind. */
	memset(&s, 0, sizeof(s));
	s.behind = 1;
	s.newest_at = now - HOUR;
	s.dumps_behind = 4;
	plan_shadow_lag(&s, now, &l);
	CHECK_EQ(l.age, -1);
	CHECK_EQ(l.lag, -1);
	CHECK_EQ(l.dumps, 4);
	CHECK_EQ(plan_shadow_due(&s, now, NULL), PLAN_SHADOW_DUE);
	/* The entity has no dump yet: nothing behind, nothing known. */
	memset(&s, 0, sizeof(s));
	plan_shadow_lag(&s, now, &l);
	CHECK(l.age == -1 && l.lag == -1 && l.dumps == 0);

	CHECK(strcmp(plan_shadow_reason_name(PLAN_SHADOW_DUE), "due") == 0);
	CHECK(strcmp(plan_shadow_reason_name(PLAN_SHADOW_WAIT), "wait") == 0);
	CHECK(strcmp(plan_shadow_reason_name(PLAN_SHADOW_PROMOTED),
	    "promoted") == 0);
	CHECK(strcmp(plan_shadow_reason_name((enum plan_shadow_reason)99),
	    "?") == 0);
}

int
main(void)
{
	test_life(0);
	test_life(6);
	test_life(4);
	test_rules();
	T_DONE();
}
