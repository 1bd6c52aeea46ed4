/*
 * The nightly run: `run DRIVE...` plans tonight for the drives, keeps the
 * run and its plan in the catalog, and queues one dump job per drive at a
 * time in plan order (so that --until, --tapes and run-stop decide before
 * each dump starts). A failed entity is retried once, at the end of its
 * drive's order and never on the tape at fault. The per-drive order is an
 * estimate: an idle drive whose media server is connected takes another
 * drive's next entity (the earliest planned start), so a drive whose
 * media server is gone gets no job and its share moves; with no drive of
 * the run connected for --grace, the rest is "not started: no drive". A
 * job that cannot start or be recorded (the catalog fails) ends the run. --tapes N bounds the
 * cartridges a drive writes: once the Nth is full no new dump starts on
 * it (a dump that reaches its end finishes on the next) and the run waits
 * there for run-continue or run-stop. When nothing is left to start and
 * nothing runs, the run ends and its report goes to syslog and to the
 * exception command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "control/night_int.h"

enum { IT_PENDING, IT_QUEUED, IT_DONE, IT_FAILED };

#define NIGHT_SYSLOG_LINES 200	/* of a run's report */

/* An entity of tonight's plan on one of the run's drives. */
struct item {
	char entity[256];
	int drive;		/* index into run.drv */
	int position;		/* its order on the drive (retries: at the end) */
	int level;
	int64_t bytes;
	double seconds;
	char reason[32];
	int state;
	int attempts;
	int64_t job;		/* the last job queued for it */
	char fault[64];		/* the tape at fault in its last attempt */
	char base[64];		/* the dump_uid its job is taken since */
	double start;		/* planned start: the order across drives */
	int stuck;		/* ticks its job was neither run nor ended */
	bool written;		/* its job is written, not committed: its
				   drive runs the next (control/commit.c) */
};

/* One of the run's drives. */
struct rdrive {
	char name[64];
	int64_t budget;		/* cartridges it may write; 0: no bound */
	int64_t used;		/* cartridges it wrote parts on */
	char tape[64];		/* the tape ID written last */
	bool full;		/* that tape is full */
	bool waiting;		/* at the cartridge change, for run-continue */
	int64_t job;		/* the run's job on it now, 0 if none */
};

struct run {
	int64_t id;
	char night[16];
	uid_t uid;
	time_t until;		/* no dump starts after it; 0: none */
	bool stop;
	struct rdrive drv[NIGHT_MAX_DRIVES];
	int ndrv;
	struct item *items;
	int nitems;
	char note[256];		/* what discovery said */
	char why[160];		/* why it ends early (no drive, catalog) */
	time_t nodrive;		/* since when no drive of it is connected */
	struct run *next;
};

/* The runs in progress (one abs-ctld, one list). */
static struct run *runs;

/* A run by id, or NULL. */
static struct run *
run_find(int64_t id)
{
	struct run *r = runs;

	while (r && r->id != id)
		r = r->next;
	return r;
}

/* The run whose job this is, and the item; NULL if none. */
static struct run *
run_of_job(int64_t job, struct item **it)
{
	for (struct run *r = runs; r && job; r = r->next)
		for (int i = 0; i < r->nitems; i++)
			if (r->items[i].job == job) {
				*it = &r->items[i];
				return r;
			}
	return NULL;
}

/* Now as a catalog date. */
static void
now_str(char *buf, size_t len)
{
	util_fmt_time(clock_now(), buf, len);
}

/* Whether no new dump may start in r. */
static bool
run_closed(const struct run *r)
{
	return r->stop || (r->until && clock_now() >= r->until);
}

/* Counts of the run's items by state. */
static void
run_counts(const struct run *r, int *pending, int *done, int *failed,
    int *queued)
{
	*pending = *done = *failed = *queued = 0;
	for (int i = 0; i < r->nitems; i++)
		switch (r->items[i].state) {
		case IT_PENDING: (*pending)++; break;
		case IT_QUEUED: (*queued)++; break;
		case IT_DONE: (*done)++; break;
		default: (*failed)++; break;
		}
}

/* The run ended: catalog, syslog, the exception command; r is freed. */
static void
run_end(struct ctld *c, struct run *r)
{
	char err[CAT_ERRLEN], at[32], detail[256];
	int pending, done, failed, queued;
	const char *state, *text;
	json_t *rep;

	run_counts(r, &pending, &done, &failed, &queued);
	state = failed == 0 && pending == 0 ? "done" : r->stop ? "aborted" :
	    "failed";
	if (r->why[0] && (pending || r->stop))
		state = "aborted";
	snprintf(detail, sizeof(detail), "%d dumped, %d failed, %d not started%s%s%s",
	    done, failed, pending, r->why[0] && (pending || r->stop) ? ": " : "",
	    r->why[0] && (pending || r->stop) ? r->why : "",
	    r->why[0] && (pending || r->stop) ? "" : r->stop ? " (stopped)" :
	    r->until && pending ? " (--until passed)" : "");
	now_str(at, sizeof(at));
	if (cat_run_finish(c->db, r->id, state, at, detail, err) < 0)
		cat_warn(c, NULL, err);
	log_info("run %lld (%s) %s: %s", (long long)r->id, r->night, state,
	    detail);
	if ((rep = night_report(c, r->night, err)) != NULL &&
	    (text = json_string_value(json_object_get(rep, "text")))) {
		char *copy = strdup(text), *save = NULL;
		int lines = 0;
		/* Syslog gets the first lines; the rest is one request away. */
		for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l;
		    l = strtok_r(NULL, "\n", &save))
			if (++lines <= NIGHT_SYSLOG_LINES)
				log_info("report %s: %s", r->night, l);
		if (lines > NIGHT_SYSLOG_LINES)
			log_info("report %s: (%d lines more: abs-ctl report --night %s)",
			    r->night, lines - NIGHT_SYSLOG_LINES, r->night);
		free(copy);
		ctld_exception(c, "run-report", text);
	} else if (!rep) {
		log_err("run %lld: the report: %s", (long long)r->id, err);
	}
	json_decref(rep);
	for (struct run **p = &runs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	free(r->items);
	free(r);
}

/* Whether drive k of r has its media server connected. */
static bool
drive_up(struct ctld *c, const struct run *r, int k)
{
	struct drive *d = ctld_drive(c, r->drv[k].name, false);

	return d && d->engine;
}

/*
 * The next item to start on drive k: its own pending item of lowest
 * position; else (the plan's per-drive order is an estimate) the pending
 * item of another drive planned to start first, which moves to k.
 */
static struct item *
next_item(struct run *r, int k)
{
	struct item *best = NULL;
	int last = 0;

	for (int i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];
		if (it->drive == k && it->position > last)
			last = it->position;
		if (it->drive == k && it->state == IT_PENDING &&
		    (!best || it->position < best->position))
			best = it;
	}
	for (int i = 0; !best && i < r->nitems; i++) {
		struct item *it = &r->items[i];
		if (it->state == IT_PENDING && (!best || it->start < best->start))
			best = it;
	}
	if (best && best->drive != k) {
		best->drive = k;
		best->position = last + 1;
	}
	return best;
}

/* Whether r has an item to start (on any drive). */
static bool
run_pending(const struct run *r)
{
	for (int i = 0; i < r->nitems; i++)
		if (r->items[i].state == IT_PENDING)
			return true;
	return false;
}

/* Queue the next dump on drive k of r if it may start one. */
static void
kick_drive(struct ctld *c, struct run *r, int k)
{
	struct rdrive *rd = &r->drv[k];
	char err[CAT_ERRLEN];
	struct item *it;
	struct drive *d;
	int64_t job;

	/* A drive whose media server is gone gets no job. */
	while (!rd->job && !run_closed(r) && drive_up(c, r, k) &&
	    run_pending(r)) {
		/* The Nth cartridge is full, or a dump went on past it. */
		if (rd->budget && (rd->used > rd->budget || (rd->used ==
		    rd->budget && rd->full))) {
			if (!rd->waiting)
				ctld_message(c, ctld_drive(c, rd->name, false), "warning",
				    "run %lld wrote its %lld cartridges on %s: abs-ctl"
				    " run-continue %lld [--tapes N] or run-stop %lld",
				    (long long)r->id, (long long)rd->used, rd->name,
				    (long long)r->id, (long long)r->id);
			rd->waiting = true;
			return;
		}
		if (!(it = next_item(r, k)))
			return;
		if (cat_run_job_add(c->db, r->id, rd->name, it->entity, it->level,
		    it->reason, it->attempts + 1, r->uid, &job, err) < 0) {
			ctld_message(c, ctld_drive(c, rd->name, false), "error",
			    "run %lld: %s not queued: %s; the run ends", (long long)r->id,
			    it->entity, err);
			/* The catalog refuses writes: start nothing more. */
			snprintf(r->why, sizeof(r->why), "catalog error: %.140s", err);
			r->stop = true;
			return;
		}
		it->state = IT_QUEUED;
		it->job = rd->job = job;
		if ((d = ctld_drive(c, rd->name, false)))
			ctld_dispatch(c, d);
	}
}

/*
 * Start what may start; end the run if nothing runs or may start. With
 * no drive of the run connected for c->grace seconds, what is left is
 * not started ("no drive").
 */
static void
run_kick(struct ctld *c, struct run *r)
{
	bool busy = false, up = false, more;

	for (int k = 0; k < r->ndrv; k++)
		kick_drive(c, r, k);
	for (int k = 0; k < r->ndrv; k++) {
		busy |= r->drv[k].job != 0;
		up |= drive_up(c, r, k);
	}
	/* Jobs not yet committed end the run only when they end (a drive
	   that is not up resolves them when its media server registers). */
	for (int i = 0; i < r->nitems; i++)
		busy |= r->items[i].state == IT_QUEUED && r->items[i].written &&
		    drive_up(c, r, r->items[i].drive);
	more = !run_closed(r) && run_pending(r);
	if (up || busy || !more) {
		r->nodrive = 0;
	} else if (!r->nodrive) {
		r->nodrive = clock_now();
	} else if (clock_now() - r->nodrive >= (time_t)c->grace) {
		snprintf(r->why, sizeof(r->why), "no drive (no media server of"
		    " the run's drives connected for %u s)", c->grace);
		more = false;
	}
	if (!busy && !more)
		run_end(c, r);
}

/* A job of a run ended (done failed aborted): retry, then the next. */
static void
job_ended(struct ctld *c, struct run *r, struct item *it, const char *state,
    const char *why)
{
	struct rdrive *rd = &r->drv[it->drive];
	char err[CAT_ERRLEN];
	int last = 0;

	if (rd->job == it->job)	/* not a job written before the drive's */
		rd->job = 0;
	it->written = false;
	it->attempts++;
	if (strcmp(state, "done") == 0) {
		it->state = IT_DONE;
	} else if (strcmp(state, "aborted") == 0 || it->attempts >= 2) {
		it->state = IT_FAILED;
	} else {
		if (cat_job_fault(c->db, it->job, it->fault, sizeof(it->fault),
		    err) < 0)
			cat_warn(c, NULL, err);
		for (int i = 0; i < r->nitems; i++)
			if (r->items[i].drive == it->drive &&
			    r->items[i].position > last)
				last = r->items[i].position;
		it->position = last + 1;
		for (int i = 0; i < r->nitems; i++)	/* after the others */
			if (r->items[i].start >= it->start)
				it->start = r->items[i].start + 1;
		it->state = IT_PENDING;
		ctld_message(c, ctld_drive(c, rd->name, false), "warning",
		    "run %lld: %s failed (%s); it is tried again after the others%s%s",
		    (long long)r->id, it->entity, why ? why : state,
		    it->fault[0] ? ", not on " : "", it->fault);
	}
	run_kick(c, r);
}

/* A media server's result for job (events.c): the run learns it. */
void
night_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why)
{
	struct item *it = NULL;
	struct run *r = run_of_job(job, &it);

	if (r && it->state == IT_QUEUED)
		job_ended(c, r, it, state, why);
}

/* A run's job is written, not committed: its drive takes the next. */
void
night_job_written(struct ctld *c, int64_t job)
{
	struct item *it = NULL;
	struct run *r = run_of_job(job, &it);

	if (!r || it->state != IT_QUEUED)
		return;
	it->written = true;
	if (r->drv[it->drive].job == job)
		r->drv[it->drive].job = 0;
	run_kick(c, r);
}

static void stale_runs_end(struct ctld *c);

/* A job's state from the catalog. */
static int
job_state_row(const struct cat_job *j, void *arg)
{
	snprintf(arg, 16, "%s", j->state ? j->state : "");
	return 0;
}

/*
 * A job of r its drive does not run and the catalog does not end (state:
 * its catalog state, "" if unreadable). Queued on a drive whose media
 * server left: back to pending for another drive. On a connected idle
 * drive for 3 ticks: it could not start, or its end could not be
 * recorded (the catalog fails): it ends here, and the run starts
 * nothing more. 1 if r may be gone.
 */
static int
job_stuck(struct ctld *c, struct run *r, struct item *it, struct drive *d,
    const char *state)
{
	char err[CAT_ERRLEN];

	if (strcmp(state, "queued") == 0 && (!d || !d->engine)) {
		if (ctld_abort_orphan(c, it->job, 0, err) < 0)
			cat_warn(c, d, err);
		r->drv[it->drive].job = 0;
		it->state = IT_PENDING;
		it->stuck = 0;
		run_kick(c, r);
		return 1;
	}
	if (!d || !d->engine || d->job || ++it->stuck < 3)
		return 0;
	if (strcmp(state, "queued") == 0 && cat_job_abort(c->db, it->job,
	    "not started: catalog error", err) < 0)
		cat_warn(c, d, err);
	snprintf(r->why, sizeof(r->why), "catalog error: job %lld of %.64s %s",
	    (long long)it->job, it->entity, strcmp(state, "queued") == 0 ?
	    "could not start" : "ended but could not be recorded");
	r->stop = true;
	job_ended(c, r, it, "aborted", strcmp(state, "queued") == 0 ?
	    "not started: catalog error" : "its end could not be recorded");
	return 1;
}

/*
 * Once a second: jobs that ended without a result (their media server
 * gone, an operator's abort) end in their run too, and stuck ones
 * (job_stuck); idle drives take work; --until closes runs.
 */
void
night_tick(struct ctld *c)
{
	static time_t last;
	time_t now = time(NULL);
	char err[CAT_ERRLEN], state[16];

	static bool started;

	if (c->crip || now == last)
		return;
	last = now;
	if (!started) {		/* runs a stopped abs-ctld left: aborted */
		started = true;
		stale_runs_end(c);
	}
	for (struct run *r = runs, *next; r; r = next) {
		int64_t id = r->id;
		next = r->next;
		for (int i = 0; i < r->nitems; i++) {
			struct item *it = &r->items[i];
			struct drive *d;
			if (it->state != IT_QUEUED)
				continue;
			d = ctld_drive(c, r->drv[it->drive].name, false);
			if (d && d->job == it->job) {
				it->stuck = 0;
				continue;	/* running: its result will come */
			}
			state[0] = '\0';
			if (cat_job_get(c->db, it->job, job_state_row, state, err) < 0)
				cat_warn(c, d, err);
			if (strcmp(state, "done") == 0 || strcmp(state, "failed") ==
			    0 || strcmp(state, "aborted") == 0) {
				job_ended(c, r, it, state, "ended without a result");
				break;	/* r may be gone */
			}
			if (it->written)
				continue;	/* its commit point will come */
			if (job_stuck(c, r, it, d, state))
				break;
		}
		if ((r = run_find(id)))	/* job_ended may end it */
			run_kick(c, r);
	}
}

/*
 * A part of dump_uid on tape_id for the drive's job: the dump names its
 * base, and a new cartridge counts.
 */
void
night_part(struct ctld *c, struct drive *d, const char *dump_uid,
    const char *tape_id)
{
	night_part_of(c, d, d->job, dump_uid, tape_id);
}

/* The same for a job of d's written before (a commit point's lines). */
void
night_part_of(struct ctld *c, struct drive *d, int64_t job,
    const char *dump_uid, const char *tape_id)
{
	struct item *it = NULL;
	struct run *r = run_of_job(job, &it);
	char err[CAT_ERRLEN];
	struct rdrive *rd;

	if (!r || !tape_id)
		return;
	if (it->base[0] && dump_uid && cat_dump_set_base(c->db, dump_uid,
	    it->base, err) < 0)
		cat_warn(c, d, err);
	rd = &r->drv[it->drive];
	if (strcmp(rd->tape, tape_id) != 0) {
		snprintf(rd->tape, sizeof(rd->tape), "%s", tape_id);
		rd->used++;
		rd->full = false;
	}
}

/* A tape is full: the cartridge a run's drive wrote last, perhaps. */
void
night_tape_full(struct ctld *c, struct drive *d, const char *tape_id)
{
	(void)c;
	for (struct run *r = runs; r && tape_id; r = r->next)
		for (int k = 0; k < r->ndrv; k++)
			if (strcmp(r->drv[k].name, d->name) == 0 &&
			    strcmp(r->drv[k].tape, tape_id) == 0)
				r->drv[k].full = true;
}

/* A stored command as an argv array, or NULL. */
static json_t *
cmd_json(const char *cmd)
{
	char **argv = NULL;
	json_t *a;

	if (!cmd || !*cmd || cat_cmd_split(cmd, &argv) <= 0)
		return NULL;
	a = json_array();
	for (char **w = argv; *w; w++)
		json_array_append_new(a, json_string(*w));
	cat_cmd_free(argv);
	return a;
}

/* The commands of the entity's type into the job event, if it has any. */
static int
commands_row(const struct cat_entity *e, void *arg)
{
	const char *const names[] = { "snapshot", "dump", "incr", "release" };
	const char *const cmds[] = { e->snapshot_cmd, e->dump_cmd, e->incr_cmd,
	    e->release_cmd };
	json_t *o = json_object(), *a;

	for (size_t i = 0; i < 4; i++)
		if ((a = cmd_json(cmds[i])))
			json_object_set_new(o, names[i], a);
	if (json_object_size(o))
		json_object_set_new(arg, "commands", o);
	else
		json_decref(o);
	return 0;
}

/*
 * The job event a media server gets (events.c): level, since and base
 * (the base dump's start date and uid; none for a full), the night's
 * date, the commands of the entity's type (snapshot, dump, incr,
 * release: argv arrays); a run's retry avoids the tape at fault.
 */
void
night_job_event(struct ctld *c, struct drive *d, int64_t job, json_t *ev)
{
	const char *detail = json_string_value(json_object_get(ev, "detail"));
	const char *entity = json_string_value(json_object_get(ev, "entity"));
	struct item *it = NULL;
	struct run *r = run_of_job(job, &it);
	char err[CAT_ERRLEN], date[16];
	struct cat_base b;
	long long lv = 0;
	int rc;

	if (strcmp(json_string_value(json_object_get(ev, "kind")) ?
	    json_string_value(json_object_get(ev, "kind")) : "", "dump") != 0)
		return;
	if (r)
		lv = it->level;
	else if (detail)
		sscanf(detail, "level=%lld", &lv);
	if (lv < 0 || lv > 9)
		lv = 0;
	if (r)
		snprintf(date, sizeof(date), "%s", r->night);
	else
		night_date(clock_now(), date, sizeof(date));
	rc = lv > 0 && entity ? cat_dump_base(c->db, entity, lv, &b, err) : 0;
	if (rc < 0)
		cat_warn(c, d, err);
	if (rc == 1) {
		json_object_set_new(ev, "since", json_string(b.started));
		json_object_set_new(ev, "base", json_string(b.dump_uid));
		if (r)
			snprintf(it->base, sizeof(it->base), "%s", b.dump_uid);
	} else {
		lv = 0;		/* nothing to take it since: a full */
	}
	json_object_set_new(ev, "level", json_integer(lv));
	json_object_set_new(ev, "date", json_string(date));
	if (entity && (rc = cat_entity_get(c->db, entity, commands_row, ev,
	    err)) < 0)
		cat_warn(c, d, err);
	if (r && it->fault[0])
		json_array_append_new(d->skip, json_string(it->fault));
}

/* The live state of a run for replies. */
static json_t *
run_live(const struct run *r)
{
	json_t *drives = json_array();
	int pending, done, failed, queued;

	run_counts(r, &pending, &done, &failed, &queued);
	for (int k = 0; k < r->ndrv; k++)
		json_array_append_new(drives, json_pack("{s:s,s:I,s:I,s:b,s:I}",
		    "drive", r->drv[k].name, "tapes_budget",
		    (json_int_t)r->drv[k].budget, "tapes_used",
		    (json_int_t)r->drv[k].used, "waiting", r->drv[k].waiting,
		    "job", (json_int_t)r->drv[k].job));
	return json_pack("{s:o,s:i,s:i,s:i,s:i,s:b}", "drives", drives,
	    "pending", pending, "running", queued, "done", done, "failed",
	    failed, "stopping", r->stop);
}


/* Ids of running runs (at most 64 at a time). */
struct stale {
	int64_t id[64];
	int n;
};

static int
stale_row(const struct cat_run *r, void *arg)
{
	struct stale *s = arg;

	if (s->n == 64)
		return 1;
	s->id[s->n++] = r->id;
	return 0;
}

/* Runs the catalog says are running but no run here holds: aborted. */
static void
stale_runs_end(struct ctld *c)
{
	struct stale s = { .n = 0 };
	char err[CAT_ERRLEN], at[32];

	if (cat_runs_running(c->db, stale_row, &s, err) < 0) {
		cat_warn(c, NULL, err);
		return;
	}
	now_str(at, sizeof(at));
	for (int i = 0; i < s.n; i++)
		if (!run_find(s.id[i]) && cat_run_finish(c->db, s.id[i], "aborted",
		    at, "abs-ctld stopped during the run", err) < 0)
			cat_warn(c, NULL, err);
}

/* The run's drives from the request: checked, connected, not in a run. */
static int
run_drives(struct ctld *c, json_t *list, struct run *r, const char **code,
    char *err)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *name = json_string_value(v);
		struct drive *d = name ? ctld_drive(c, name, false) : NULL;
		if (!name || !cat_name_valid(name)) {
			*code = "bad-args";
			snprintf(err, PROTO_ERRLEN, "run: a drive name, not %.64s",
			    name ? name : "a non-string");
			return -1;
		}
		if (r->ndrv == NIGHT_MAX_DRIVES) {
			*code = "bad-args";
			snprintf(err, PROTO_ERRLEN, "run: at most %d drives",
			    NIGHT_MAX_DRIVES);
			return -1;
		}
		for (int k = 0; k < r->ndrv; k++)
			if (strcmp(r->drv[k].name, name) == 0) {
				*code = "bad-args";
				snprintf(err, PROTO_ERRLEN, "run: drive %s named twice",
				    name);
				return -1;
			}
		for (struct run *o = runs; o; o = o->next)
			for (int k = 0; k < o->ndrv; k++)
				if (strcmp(o->drv[k].name, name) == 0) {
					*code = PROTO_E_BUSY;
					snprintf(err, PROTO_ERRLEN, "drive %.64s is in run %lld"
					    " already (abs-ctl runs --id %lld); nothing done",
					    name, (long long)o->id, (long long)o->id);
					return -1;
				}
		if (!d || !d->engine) {
			*code = PROTO_E_NO_DRIVE;
			snprintf(err, PROTO_ERRLEN, "drive %.64s has no media server"
			    " connected", name);
			return -1;
		}
		snprintf(r->drv[r->ndrv++].name, sizeof(r->drv[0].name), "%s", name);
	}
	if (r->ndrv == 0) {
		*code = "bad-args";
		snprintf(err, PROTO_ERRLEN, "usage: run DRIVE... [--tapes N]"
		    " [--until TIME]");
		return -1;
	}
	return 0;
}

/*
 * Plan the night for r's drives and keep what it says: the dumps as
 * items, every entity not dumped for a reason worth reporting as a plan
 * row without a drive. The planner's overdue entities not dumped get
 * "overdue:WHY"; an entity a run dumped tonight already (done: a set of
 * names) is not dumped again, "done-tonight". 0, or -1 with *code and err
 * set.
 */
static int
run_plan(struct ctld *c, struct run *r, time_t now, json_t *done,
    const char **code, char *err)
{
	char *names[NIGHT_MAX_DRIVES], dberr[CAT_ERRLEN], perr[PLAN_ERRLEN];
	char (*why)[40] = NULL;
	struct cat_plan_row *rows = NULL;
	struct night_input ni;
	struct plan_out po;
	size_t n = 0;
	int rc;

	for (int k = 0; k < r->ndrv; k++)
		names[k] = r->drv[k].name;
	if ((rc = night_input_fill(c, now, r->until ? r->until :
	    night_default_end(now), names, (size_t)r->ndrv, &ni, dberr)) < 0) {
		cat_failed(code, err, rc, dberr);
		return -1;
	}
	if (plan_night(&ni.in, &po, perr) < 0) {
		night_input_free(&ni);
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "the planner: %.200s", perr);
		return -1;
	}
	rows = calloc((size_t)po.nitems + 1, sizeof(*rows));
	why = calloc((size_t)po.nitems + 1, sizeof(*why));
	r->items = calloc((size_t)po.nitems + 1, sizeof(*r->items));
	if (!rows || !why || !r->items) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < po.nitems; i++) {
		const struct plan_item *it = &po.items[i];
		const char *reason = plan_reason_name(it->reason);
		if (!it->dump && (it->reason == PLAN_NOT_DUE || it->reason ==
		    PLAN_INCR_NOT_DUE || it->reason == PLAN_INACTIVE))
			continue;
		bool again = it->dump && json_object_get(done, ni.ents[i].name);
		if (again)	/* a run dumped it tonight already */
			reason = "done-tonight";
		for (int k = 0; !it->dump && k < po.noverdue; k++)
			if (po.overdue[k].entity == i) {
				snprintf(why[n], sizeof(why[n]), "overdue:%s",
				    plan_reason_name(po.overdue[k].why));
				reason = why[n];
			}
		rows[n] = (struct cat_plan_row){ .entity = ni.ents[i].name,
		    .drive = it->dump && !again ? ni.drives[it->drive].name : NULL,
		    .position = it->dump && !again ? it->position + 1 : 0,
		    .level = it->level, .bytes = it->bytes,
		    .seconds = it->seconds, .reason = reason };
		n++;
		if (!it->dump || again)
			continue;
		struct item *x = &r->items[r->nitems++];
		snprintf(x->entity, sizeof(x->entity), "%s", ni.ents[i].name);
		snprintf(x->reason, sizeof(x->reason), "%s", reason);
		x->drive = it->drive;
		x->position = it->position + 1;
		x->level = it->level;
		x->bytes = it->bytes;
		x->seconds = it->seconds;
		x->start = it->start;
	}
	rc = cat_run_plan_add(c->db, r->id, rows, n, dberr);
out:
	free(rows);
	free(why);
	plan_out_free(&po);
	night_input_free(&ni);
	if (rc < 0) {
		cat_failed(code, err, rc, rc == -ENOMEM ? "out of memory" : dberr);
		return -1;
	}
	return 0;
}

/* An entity a run of the night dumped, into a set. */
static int
done_row(const struct cat_run_job *j, void *set)
{
	if (j->state && strcmp(j->state, "done") == 0 && j->entity)
		return json_object_set_new(set, j->entity, json_true()) < 0 ?
		    -ENOMEM : 0;
	return 0;
}

/* Whether tonight's plan for r's drives holds nothing not done yet. */
static bool
nothing_left(struct ctld *c, struct run *r, time_t now, json_t *done)
{
	char *names[NIGHT_MAX_DRIVES], err[CAT_ERRLEN], perr[PLAN_ERRLEN];
	struct night_input ni;
	struct plan_out po;
	int left = 0;

	for (int k = 0; k < r->ndrv; k++)
		names[k] = r->drv[k].name;
	if (night_input_fill(c, now, r->until ? r->until :
	    night_default_end(now), names, (size_t)r->ndrv, &ni, err) < 0)
		return false;
	if (plan_night(&ni.in, &po, perr) == 0) {
		for (int i = 0; i < po.nitems; i++)
			left += po.items[i].dump && !json_object_get(done,
			    ni.ents[i].name);
		plan_out_free(&po);
	} else {
		left = 1;	/* the run says why */
	}
	night_input_free(&ni);
	return left == 0;
}

/* The run failed before it started: it ends so in the catalog. */
static json_t *
run_fail(struct ctld *c, struct run *r, const char *code_, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN], at[32];

	now_str(at, sizeof(at));
	if (r->id && cat_run_finish(c->db, r->id, "failed", at, err, dberr) < 0)
		cat_warn(c, NULL, dberr);
	free(r->items);
	free(r);
	*code = code_;
	return NULL;
}

/*
 * Discovery before the plan (every server's commands): new entities are
 * planned tonight, vanished ones are not. A command that fails changes
 * nothing (ctld_discover says so as an exception). Its report, for the
 * reply; r->note says it in a line.
 */
static json_t *
run_discover(struct ctld *c, struct run *r)
{
	json_t *rep = json_object();
	char derr[PROTO_ERRLEN];
	int rc = ctld_discover(c, NULL, rep, derr);

	if (rc < 0)
		snprintf(r->note, sizeof(r->note), "discovery: %.200s", derr);
	else
		snprintf(r->note, sizeof(r->note), "discovery: %lld commands, %d"
		    " failed; %zu new, %zu vanished", (long long)json_integer_value(
		    json_object_get(rep, "ran")), rc, json_array_size(
		    json_object_get(rep, "new")), json_array_size(
		    json_object_get(rep, "vanished")));
	return rep;
}

json_t *
h_run(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct run *r = calloc(1, sizeof(*r));
	int64_t tapes = arg_num(a, "tapes", 0);
	time_t now = clock_now();
	char dberr[CAT_ERRLEN], at[32], list[NIGHT_MAX_DRIVES * 65] = "";
	json_t *plan, *done, *disc;
	int rc;

	if (!r)
		return cat_failed(code, err, -ENOMEM, "out of memory");
	if (tapes < 0 || tapes > 100000) {
		free(r);
		FAIL("bad-args", "--tapes: 0 (no bound) to 100000 cartridges");
	}
	if (arg_str(a, "until") && (night_parse_time(arg_str(a, "until"), now,
	    &r->until) < 0 || r->until <= now)) {
		free(r);
		FAIL("bad-args", "--until: a time to come, YYYY-MM-DDTHH:MM:SSZ or"
		    " HH:MM, not %s", arg_str(a, "until"));
	}
	if (run_drives(c, json_object_get(a, "drives"), r, code, err) < 0) {
		free(r);
		return NULL;
	}
	stale_runs_end(c);
	for (int k = 0; k < r->ndrv; k++) {
		r->drv[k].budget = tapes;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    k ? "," : "", r->drv[k].name);
	}
	r->uid = cl->uid;
	night_date(now, r->night, sizeof(r->night));
	util_fmt_time(now, at, sizeof(at));
	/* Discovery first: what it adds is planned tonight. */
	disc = run_discover(c, r);
	/* Started again after tonight's run ended: nothing new, no run. */
	done = json_object();
	if ((rc = cat_run_jobs(c->db, 0, r->night, done_row, done, dberr)) < 0) {
		json_decref(done);
		json_decref(disc);
		free(r);
		return cat_failed(code, err, rc, dberr);
	}
	if (json_object_size(done) && nothing_left(c, r, now, done)) {
		plan = json_pack("{s:n,s:s,s:s,s:i,s:s+++,s:o}", "run", "night",
		    r->night, "drives", list, "planned", 0, "note", "the night of ",
		    r->night, " was run already: nothing left to do on ", list,
		    "discovery", disc);
		ctld_message(c, NULL, "info", "run on %s: the night of %s was run"
		    " already, nothing left to do", list, r->night);
		json_decref(done);
		free(r);
		return plan;
	}
	if (cat_run_add(c->db, r->night, list, (int64_t)cl->uid, at, &r->id,
	    dberr) < 0) {
		json_t *f = cat_failed(code, err, -EIO, dberr);
		json_decref(disc);
		free(r);
		return f;
	}
	rc = run_plan(c, r, now, done, code, err);
	json_decref(done);
	if (rc < 0) {
		json_decref(disc);
		return run_fail(c, r, *code, code, err);
	}
	r->next = runs;
	runs = r;
	ctld_message(c, NULL, "info", "run %lld on %s: %d dumps planned for the"
	    " night of %s%s%s", (long long)r->id, list, r->nitems, r->night,
	    tapes ? ", cartridges bounded" : "", r->until ? ", --until set" : "");
	plan = json_pack("{s:I,s:s,s:s,s:i,s:s,s:o}", "run", (json_int_t)r->id,
	    "night", r->night, "drives", list, "planned", r->nitems, "note",
	    r->note, "discovery", disc);
	run_kick(c, r);		/* may end it at once: nothing to dump */
	return plan;
}

/* A run row for runs. */
static int
runs_row(const struct cat_run *r, void *arr)
{
	struct run *live = run_find(r->id);

	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", (json_int_t)r->id, "night", j_str(r->night), "drives",
	    j_str(r->drives), "state", j_str(r->state), "started",
	    j_str(r->started), "finished", j_str(r->finished), "detail",
	    j_str(r->detail), "live", live ? run_live(live) : json_null()));
}

/* A plan row for runs --id. */
static int
plan_rows_row(const struct cat_plan_row *p, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:I,s:I,s:I,s:f,s:o}",
	    "entity", j_str(p->entity), "drive", j_str(p->drive), "position",
	    (json_int_t)p->position, "level", (json_int_t)p->level, "bytes",
	    (json_int_t)p->bytes, "seconds", p->seconds, "reason",
	    j_str(p->reason)));
}

/* A job of the run for runs --id. */
static int
run_jobs_row(const struct cat_run_job *j, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o}",
	    "job", (json_int_t)j->id, "entity", j_str(j->entity), "drive",
	    j_str(j->drive), "state", j_str(j->state), "level",
	    (json_int_t)j->level, "attempt", (json_int_t)j->attempt, "reason",
	    j_str(j->reason), "detail", j_str(j->detail), "tapes",
	    j_str(j->tapes)));
}

json_t *
h_runs(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t id = arg_num(a, "id", 0);
	json_t *list = json_array(), *one, *plan, *jobs;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (id < 0 || arg_num(a, "count", 20) < 1) {
		json_decref(list);
		FAIL("bad-args", "usage: runs [--id N] [--count N] (N from 1)");
	}
	rc = cat_runs_list(c->db, id, arg_num(a, "count", 20), runs_row, list,
	    dberr);
	if (!(list = j_list(list, rc, dberr, code, err)) || id <= 0)
		return list;
	one = json_incref(json_array_get(list, 0));
	json_decref(list);
	plan = json_array();
	jobs = json_array();
	if ((rc = cat_run_plan_list(c->db, id, NULL, plan_rows_row, plan,
	    dberr)) < 0 || (rc = cat_run_jobs(c->db, id, NULL, run_jobs_row, jobs,
	    dberr)) < 0) {
		json_decref(one);
		json_decref(plan);
		json_decref(jobs);
		return cat_failed(code, err, rc, dberr);
	}
	json_object_set_new(one, "plan", plan);
	json_object_set_new(one, "jobs", jobs);
	return one;
}

json_t *
h_run_continue(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct run *r = run_find(arg_num(a, "id", 0));
	int64_t n = arg_num(a, "tapes", 1);
	json_t *drives = json_array();
	(void)cl;

	if (!r) {
		json_decref(drives);
		FAIL(PROTO_E_NOT_FOUND, "no run %lld in progress",
		    (long long)arg_num(a, "id", 0));
	}
	if (n < 1 || n > 100000) {
		json_decref(drives);
		FAIL("bad-args", "--tapes: 1 to 100000 more cartridges");
	}
	for (int k = 0; k < r->ndrv; k++)
		if (r->drv[k].waiting) {
			r->drv[k].waiting = false;
			r->drv[k].budget = r->drv[k].used + n;
			json_array_append_new(drives, json_string(r->drv[k].name));
		}
	if (json_array_size(drives) == 0) {
		json_decref(drives);
		FAIL(PROTO_E_NOT_WAITING, "run %lld waits at no cartridge change",
		    (long long)r->id);
	}
	ctld_message(c, NULL, "info", "run %lld: %lld more cartridges",
	    (long long)r->id, (long long)n);
	json_t *res = json_pack("{s:I,s:o,s:I}", "run", (json_int_t)r->id,
	    "drives", drives, "tapes", (json_int_t)n);
	run_kick(c, r);
	return res;
}

json_t *
h_run_stop(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct run *r = run_find(arg_num(a, "id", 0));
	json_t *res;
	int running = 0;

	if (!r)
		FAIL(PROTO_E_NOT_FOUND, "no run %lld in progress",
		    (long long)arg_num(a, "id", 0));
	r->stop = true;
	for (int i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];
		struct drive *d = ctld_drive(c, r->drv[it->drive].name, false);
		char dberr[CAT_ERRLEN];
		if (it->state != IT_QUEUED || (d && d->job == it->job && d->engine))
			continue;
		/* No media server runs it (and no result came): it ends now. */
		if (ctld_abort_orphan(c, it->job, cl->uid, dberr) < 0)
			cat_warn(c, d, dberr);
		r->drv[it->drive].job = 0;
		it->state = IT_FAILED;
		it->attempts++;
	}
	for (int k = 0; k < r->ndrv; k++) {
		r->drv[k].waiting = false;
		running += r->drv[k].job != 0;
	}
	ctld_message(c, NULL, "info", "run %lld stops after the %d dumps in"
	    " progress", (long long)r->id, running);
	res = json_pack("{s:I,s:i}", "run", (json_int_t)r->id, "running",
	    running);
	run_kick(c, r);
	return res;
}
