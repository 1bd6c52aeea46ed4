/*
 * When a shadow's refresh is due (planner/plan.h): as each dump lands,
 * or with --every HOURS at most once in that many hours, never while one
 * runs, never once it is promoted, and not again by itself for a dump
 * whose refresh failed; and how old and how far behind it is.
 */
#include "planner/plan.h"

enum plan_shadow_reason
plan_shadow_due(const struct plan_shadow *s, time_t now, time_t *next)
{
	time_t period, at;

	if (next)
		*next = 0;
	if (s->promoted)
		return PLAN_SHADOW_PROMOTED;
	if (s->refreshing)
		return PLAN_SHADOW_REFRESHING;
	if (!s->behind)
		return PLAN_SHADOW_CURRENT;
	if (s->failed_newest)
		return PLAN_SHADOW_HELD;
	if (s->every_hours <= 0 || s->refreshed <= 0)
		return PLAN_SHADOW_DUE;
	period = (time_t)s->every_hours * 3600;
	/* The clock went back more than a period: when the last refresh
	   really was is not known. */
	if (s->refreshed > now && s->refreshed - now > period)
		return PLAN_SHADOW_DUE;
	at = s->refreshed + period;
	if (now >= at)
		return PLAN_SHADOW_DUE;
	if (next)
		*next = at;
	return PLAN_SHADOW_WAIT;
}

const char *
plan_shadow_reason_name(enum plan_shadow_reason r)
{
	static const char *const names[] = { "due", "current", "refreshing",
	    "wait", "held", "promoted" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

void
plan_shadow_lag(const struct plan_shadow *s, time_t now,
    struct plan_shadow_lag *out)
{
	out->age = s->dump_at > 0 ? (now > s->dump_at ?
	    (long long)(now - s->dump_at) : 0) : -1;
	out->dumps = s->behind ? (s->dumps_behind > 0 ? s->dumps_behind : 1) : 0;
	if (!s->behind)
		out->lag = s->dump_at > 0 ? 0 : -1;
	else if (s->dump_at <= 0 || s->newest_at <= 0)
		out->lag = -1;
	else
		out->lag = s->newest_at > s->dump_at ?
		    (long long)(s->newest_at - s->dump_at) : 0;
}
