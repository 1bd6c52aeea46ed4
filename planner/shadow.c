/*
 * When a shadow's refresh is due (planner/plan.h): as each dump lands,
 * or with --every HOURS at most once in that many hours, never while one
 * runs, and not again by itself for a dump whose refresh failed.
 */
#include "planner/plan.h"

enum plan_shadow_reason
plan_shadow_due(const struct plan_shadow *s, time_t now, time_t *next)
{
	time_t at;

	if (next)
		*next = 0;
	if (s->refreshing)
		return PLAN_SHADOW_REFRESHING;
	if (!s->behind)
		return PLAN_SHADOW_CURRENT;
	if (s->failed_newest)
		return PLAN_SHADOW_HELD;
	if (s->every_hours <= 0 || s->refreshed <= 0)
		return PLAN_SHADOW_DUE;
	at = s->refreshed + (time_t)s->every_hours * 3600;
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
	    "wait", "held" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
