/*
 * What abs-ctld does about jobs whose media server is not there: at start,
 * the running jobs a crash left wait on their drives for their media
 * servers; a drive whose media server leaves mid-job keeps its job for a
 * grace period; a media server that registers reports the job it has in
 * progress (or one that ended while nobody heard its result), and the job
 * is resumed, adopted (another master started it) or ended; a job whose
 * media server does not come back in time fails and gives its tapes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "control/handlers_int.h"

/* A running job found at start. */
struct orphan {
	int64_t id;
	char drive[64], tape_id[64], entity[256], kind[16];
};

struct orphans {
	struct orphan *v;
	size_t n, cap;
};

/* Keep a running job found at start. */
static int
orphan_row(const struct cat_job *j, void *arg)
{
	struct orphans *o = arg;
	struct orphan *x;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct orphan *v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	x = &o->v[o->n++];
	memset(x, 0, sizeof(*x));
	x->id = j->id;
	snprintf(x->drive, sizeof(x->drive), "%s", j->drive ? j->drive : "");
	snprintf(x->tape_id, sizeof(x->tape_id), "%s", j->tape_id ? j->tape_id :
	    "");
	snprintf(x->entity, sizeof(x->entity), "%s", j->entity ? j->entity : "");
	snprintf(x->kind, sizeof(x->kind), "%s", j->kind ? j->kind : "");
	return 0;
}

/* Fail a job that cannot be waited for; its tapes go back. */
static void
fail_job(struct ctld *c, struct drive *d, int64_t job, const char *why)
{
	char err[CAT_ERRLEN];

	if (cat_job_lost(c->db, job, why, err) < 0)
		log_err("failing job %lld: %s", (long long)job, err);
	else
		ctld_message(c, d, "warning", "job %lld failed: %s", (long long)job,
		    why);
}

/* Put a running job found at start on its drive, to wait for its server. */
static void
orphan_wait(struct ctld *c, const struct orphan *o, double now)
{
	struct drive *d = o->drive[0] ? ctld_drive(c, o->drive, true) : NULL;

	if (d && d->job && strcmp(o->kind, "dump") == 0) {
		/* A drive runs one job, its newest: the others were written,
		   not committed; its media server's registration settles them
		   (control/commit.c). */
		int64_t older = d->job < o->id ? d->job : o->id;
		if (ctld_written_add(d, older) == 0) {
			ctld_message(c, d, "warning", "job %lld was written, not "
			    "committed, when abs-ctld stopped; settled when its media "
			    "server registers", (long long)older);
			if (older == o->id)
				return;
			d->job = 0;	/* o is the newer: the one that may run */
		}
	}
	if (!d || d->job) {
		fail_job(c, d, o->id, d ? "its drive runs another job" :
		    "it has no drive");
		return;
	}
	d->job = o->id;
	d->orphaned = now;
	d->started = now;
	d->bytes = 0;
	d->restoring = strcmp(o->kind, "restore") == 0;
	snprintf(d->entity, sizeof(d->entity), "%s", o->entity);
	snprintf(d->reserved, sizeof(d->reserved), "%s", o->tape_id);
	ctld_message(c, d, "warning", "job %lld was running when abs-ctld "
	    "stopped; waiting %u s for its media server to report it",
	    (long long)o->id, c->grace);
}

/*
 * At start: running jobs wait for their media servers, and what no
 * running job holds (reservations, running dumps) is given back or failed.
 * 0, or negative if the catalog could not be read.
 */
int
ctld_recover_start(struct ctld *c)
{
	struct orphans o = { 0 };
	char err[CAT_ERRLEN];
	int64_t released = 0, failed = 0;
	double now = (double)time(NULL);
	int rc;

	if ((rc = cat_jobs_running(c->db, orphan_row, &o, err)) < 0) {
		log_err("reading running jobs: %s", err);
		free(o.v);
		return rc;
	}
	for (size_t i = 0; i < o.n; i++)
		orphan_wait(c, &o.v[i], now);
	free(o.v);
	if ((rc = cat_reconcile(c->db, &released, &failed, err)) < 0) {
		log_err("reconciling the catalog: %s", err);
		return rc;
	}
	if (o.n || released || failed)
		log_warn("start: %zu running jobs wait for their media servers; "
		    "%lld reservations without a running job released, %lld dumps "
		    "without a running job failed", o.n, (long long)released,
		    (long long)failed);
	return 0;
}

/* The drive's media server left: its job waits for it (see ctld.h). */
void
ctld_orphan(struct ctld *c, struct drive *d)
{
	if (!d->job)
		return;
	d->orphaned = (double)time(NULL);
	ctld_message(c, d, "warning", "job %lld: its media server is gone; "
	    "waiting %u s for it to come back and report the job",
	    (long long)d->job, c->grace);
}

/* Fail the jobs whose media servers did not come back in time. */
void
ctld_orphans_expire(struct ctld *c)
{
	double now = (double)time(NULL);
	char why[128], err[CAT_ERRLEN];

	for (struct drive *d = c->drives; d; d = d->next) {
		if (d->engine || !d->job || now - d->orphaned < c->grace)
			continue;
		snprintf(why, sizeof(why), "its media server did not report it "
		    "within %u s", c->grace);
		if (cat_job_lost(c->db, d->job, why, err) < 0) {
			log_err("failing job %lld: %s", (long long)d->job, err);
			continue;	/* tried again next turn */
		}
		ctld_message(c, d, "error", "job %lld failed: %s", (long long)d->job,
		    why);
		d->job = 0;
		d->reserved[0] = '\0';
		d->want_label[0] = '\0';
		d->orphaned = 0;
	}
}

/* Abort a job no connected media server runs: 1, 0 if not there. */
int
ctld_abort_orphan(struct ctld *c, int64_t job, uid_t uid, char *dberr)
{
	struct drive *d;
	char why[96];
	int rc;

	for (d = c->drives; d; d = d->next)
		if (d->job == job && !d->engine)
			break;
	snprintf(why, sizeof(why), "aborted by uid %u%s", (unsigned)uid,
	    d ? " while its media server was away" : "");
	if ((rc = cat_job_abort(c->db, job, why, dberr)) <= 0)
		return rc;
	if (d) {
		ctld_message(c, d, "warning", "job %lld %s", (long long)job, why);
		d->job = 0;
		d->reserved[0] = '\0';
		d->want_label[0] = '\0';
		d->orphaned = 0;
	}
	return 1;
}

/* The fields of a job report, as engine events' data are checked. */
static const struct ctld_event report_row = { "engine-register job", NULL,
	"id:i state:s site:s? kind:s? entity:s? dump:s? tape_id:s? label:s?"
	" bytes:i? error:s?" };

/* Check a registration's job report (NULL: none): 0 or -EINVAL with err. */
int
ctld_report_check(json_t *rep, char *err)
{
	return rep ? ctld_event_check(&report_row, rep, err) : 0;
}

/* The drive takes the reported job that is still running. */
static void
take_job(struct ctld *c, struct drive *d, json_t *rep, int64_t job, bool stop)
{
	json_t *ev;

	d->job = job;
	d->orphaned = 0;
	d->bytes = (uint64_t)arg_num(rep, "bytes", 0);
	d->rate = 0;
	d->started = (double)time(NULL);
	d->estimate = 0;
	d->restoring = arg_str(rep, "kind") &&
	    strcmp(arg_str(rep, "kind"), "restore") == 0;
	d->state = d->restoring ? "restoring" : "writing";
	snprintf(d->entity, sizeof(d->entity), "%s", arg_str(rep, "entity") ?
	    arg_str(rep, "entity") : "");
	snprintf(d->reserved, sizeof(d->reserved), "%s", arg_str(rep, "tape_id") ?
	    arg_str(rep, "tape_id") : "");
	json_array_clear(d->skip);
	if (arg_str(rep, "site") && strcmp(arg_str(rep, "site"), c->site) == 0)
		ctld_message(c, d, "info", "job %lld: %s %s resumed, reported by "
		    "its media server", (long long)job, arg_str(rep, "kind") ?
		    arg_str(rep, "kind") : "dump", d->entity);
	else
		ctld_message(c, d, "info", "job %lld: %s %s adopted, reported by "
		    "its media server (job %lld of master %s)", (long long)job,
		    arg_str(rep, "kind") ? arg_str(rep, "kind") : "dump", d->entity,
		    (long long)arg_num(rep, "id", 0), arg_str(rep, "site") &&
		    *arg_str(rep, "site") ? arg_str(rep, "site") : "unknown");
	if (stop) {
		/* Aborted while it was away: it stops at the next block. */
		ev = json_pack("{s:s,s:I}", "event", "abort", "job",
		    (json_int_t)job);
		ctld_send(d->engine, ev);
		json_decref(ev);
		ctld_message(c, d, "warning", "job %lld was aborted while its media "
		    "server was away: abort sent", (long long)job);
	}
}

/*
 * A media server registered d (d->engine set) with its job report (NULL:
 * none). The job it had here before and did not report fails; a reported
 * one is resumed, adopted or ended. 0 and *job (our id of the job it runs,
 * 0 if none), or negative with dberr set (the registration is refused, the
 * media server tries again).
 */
int
ctld_adopt(struct ctld *c, struct drive *d, json_t *rep, int64_t *job,
    char *dberr)
{
	struct cat_job_report r = { 0 };
	int64_t had = d->job, ours = 0;
	int rc = 0;

	*job = 0;
	if (rep) {
		r.id = arg_num(rep, "id", 0);
		r.site = arg_str(rep, "site");
		r.kind = arg_str(rep, "kind");
		r.entity = arg_str(rep, "entity");
		r.drive = d->name;
		r.state = arg_str(rep, "state");
		r.dump_uid = arg_str(rep, "dump");
		r.tape_id = arg_str(rep, "tape_id");
		r.detail = arg_str(rep, "error");
		if ((rc = cat_job_adopt(c->db, &r, &ours, dberr)) < 0)
			return rc;
	}
	if (had && had != ours && cat_job_dump_complete(c->db, had, dberr) == 1 &&
	    cat_job_finish(c->db, had, "done", NULL, dberr) == 0) {
		/* Written, then committed while abs-ctld was away (commit.c). */
		ctld_message(c, d, "info", "job %lld done (committed while "
		    "abs-ctld was away)", (long long)had);
		d->job = 0;
		d->reserved[0] = '\0';
	} else if (had && had != ours) {
		fail_job(c, d, had, "its media server came back without it");
		d->job = 0;
		d->reserved[0] = '\0';
	}
	d->orphaned = 0;
	if (!rep)
		return 0;
	if (strcmp(r.state, "running") == 0) {
		take_job(c, d, rep, ours, rc == 1);
		*job = ours;
		return 0;
	}
	ctld_message(c, d, strcmp(r.state, "done") ? "error" : "info",
	    "job %lld %s while abs-ctld was away%s%s", (long long)ours, r.state,
	    r.detail ? ": " : "", r.detail ? r.detail : "");
	d->job = 0;
	d->reserved[0] = '\0';
	return 0;
}
