/*
 * Private to control/night*.c: the planner's input as the catalog fills
 * it (night_plan.c), the runs in progress (night.c) and the nightly
 * report (night_report.c).
 */
#ifndef ABS_CONTROL_NIGHT_INT_H
#define ABS_CONTROL_NIGHT_INT_H

#include "control/handlers_int.h"
#include "planner/plan.h"

#define NIGHT_MAX_DRIVES 16

/* A window of a type or an entity (one is NULL) as the catalog lists it. */
struct night_window {
	const char *type, *entity;
	struct plan_window w;
};

/* The planner's input and the strings and arrays it points into. */
struct night_input {
	struct plan_input in;
	struct plan_entity *ents;
	int64_t *ids;		/* the catalog's entity ids, as ents */
	const char **pools;	/* each entity's pool, as ents */
	char **strs;		/* owned strings (names, types) */
	size_t nstrs, capstrs;
	struct plan_drive drives[NIGHT_MAX_DRIVES];
	struct plan_window *wins;	/* every entity's, owned */
	size_t nwins;
	struct night_window *allwins;	/* the catalog's windows */
	size_t nallwins;
	struct plan_server *servers;
	int64_t *server_ids;
	struct plan_subnet *subnets;
	int64_t *subnet_ids;
	int cap;
};

/*
 * Fill in from the catalog for a night starting at now and ending at end
 * on drives (NULL, 0: every drive registered): entities with their rules
 * and history, servers, subnets, drive rates. 0, or negative with err
 * (CAT_ERRLEN) set.
 */
int night_input_fill(struct ctld *c, time_t now, time_t end,
    char *const *drives, size_t ndrives, struct night_input *ni, char *err);
void night_input_free(struct night_input *ni);
/* The default end of a night starting at now: the next 07:00 local. */
time_t night_default_end(time_t now);
/* The night's date (local, YYYY-MM-DD) of a time. */
void night_date(time_t t, char *buf, size_t len);
/* A time argument: YYYY-MM-DD[THH:MM:SSZ] or HH:MM (the next one). */
int night_parse_time(const char *s, time_t now, time_t *out);

/* The nightly report of a night as JSON (with "text", the human one). */
json_t *night_report(struct ctld *c, const char *night, char *err);

#endif
