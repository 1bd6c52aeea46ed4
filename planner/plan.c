/*
 * The planner (planner/plan.h): a first cut that plans every entity's due
 * full or its incremental level 1, in input order, round robin on the
 * drives. The balancing planner replaces it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/plan.h"

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
};

/* The reason's name. */
const char *
plan_reason_name(enum plan_reason reason)
{
	if ((unsigned)reason >= PLAN_NREASONS)
		return "unknown";
	return reason_names[reason];
}

/* Fill params with the defaults. */
void
plan_params_default(struct plan_params *p)
{
	memset(p, 0, sizeof(*p));
	p->default_rate = 300e6;
	p->default_estimate = 10LL << 30;
	p->change_fraction = 0.01;
	p->overhead = 10;
	p->fill = 0.9;
	p->bump_bytes = 1LL << 30;
	p->bump_mult = 2;
	p->bump_percent = 0.1;
	p->bump_days = 2;
	p->horizon = 0;
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

/* Days from a to b, rounded to the nearest day. */
static int
days_between(time_t a, time_t b)
{
	double d = (double)(b - a) / 86400.0;

	return d >= 0 ? (int)(d + 0.5) : -(int)(-d + 0.5);
}

/* A first cut: every due full, else an incremental level 1. */
int
plan_night(const struct plan_input *in, struct plan_out *out, char *err)
{
	struct plan_params defp;
	const struct plan_params *p;
	int i, d;

	memset(out, 0, sizeof(*out));
	if (!in || in->nentities < 0 || in->ndrives < 1) {
		snprintf(err, PLAN_ERRLEN, "no drive to plan for");
		return -EINVAL;
	}
	plan_params_default(&defp);
	p = in->params ? in->params : &defp;
	out->items = calloc(in->nentities ? in->nentities : 1,
	    sizeof(*out->items));
	out->drives = calloc(in->ndrives, sizeof(*out->drives));
	if (!out->items || !out->drives)
		goto nomem;
	out->nitems = in->nentities;
	out->ndrives = in->ndrives;
	for (d = 0; d < in->ndrives; d++) {
		out->drives[d].order = calloc(in->nentities ? in->nentities : 1,
		    sizeof(int));
		if (!out->drives[d].order)
			goto nomem;
	}
	for (i = 0; i < in->nentities; i++) {
		const struct plan_entity *e = &in->entities[i];
		struct plan_item *it = &out->items[i];
		struct plan_drive_out *dr;
		double rate;

		it->level = it->base_level = it->drive = it->position = -1;
		it->days_since_full = e->last[0].date ?
		    days_between(e->last[0].date, in->now) : -1;
		if (e->vanished || e->inactive) {
			it->reason = e->vanished ? PLAN_VANISHED : PLAN_INACTIVE;
			continue;
		}
		if (!e->last[0].date || e->must_full ||
		    it->days_since_full >= e->full_days) {
			it->level = 0;
			it->reason = !e->last[0].date ? PLAN_NEW :
			    e->must_full ? PLAN_MUST_FULL : PLAN_DUE;
			it->bytes = e->last[0].date ? e->last[0].bytes :
			    e->type_estimate ? e->type_estimate :
			    p->default_estimate;
		} else {
			it->level = 1;
			it->base_level = 0;
			it->base_date = e->last[0].date;
			it->reason = PLAN_NOT_DUE;
			it->bytes = (int64_t)(e->last[0].bytes *
			    p->change_fraction);
		}
		d = i % in->ndrives;
		dr = &out->drives[d];
		rate = in->drives[d].rate > 0 ? in->drives[d].rate :
		    p->default_rate;
		it->dump = 1;
		it->drive = d;
		it->position = dr->n;
		it->seconds = p->overhead + it->bytes / rate;
		it->start = dr->end;
		it->end = dr->end + it->seconds;
		dr->end = it->end;
		dr->bytes += it->bytes;
		dr->order[dr->n++] = i;
		if (it->level == 0) {
			out->nfull++;
			out->full_bytes += it->bytes;
		} else {
			out->nincr++;
			out->incr_bytes += it->bytes;
		}
	}
	return 0;
nomem:
	plan_out_free(out);
	snprintf(err, PLAN_ERRLEN, "out of memory");
	return -ENOMEM;
}
