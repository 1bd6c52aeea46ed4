/*
 * job-wait: a client waits for a job's end (done, failed, aborted) and is
 * answered in the turn of the loop that ended it, not by polling. A dump
 * job is done only once its dump is durable on tape and the catalog's
 * commit of it is durable (a job written behind an immediate filemark is
 * still running until its commit point), so the answer is what a user
 * waits for. Each turn of the loop reads the state of the jobs waited
 * for; a job ends only in a turn (an event, a request, a timer), so
 * nothing is waited for longer than that turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/crippled_int.h"
#include "control/handlers_int.h"

struct waiter {
	struct client *cl;
	int64_t job;
	struct waiter *next;
};

static struct waiter *waiters;

/* The job's end as the answer, or NULL while it runs or is queued. */
struct job_end {
	json_t *res;
	bool found;
};

static int
job_end_row(const struct cat_job *j, void *arg)
{
	struct job_end *e = arg;

	e->found = true;
	if (!j->state || strcmp(j->state, "queued") == 0 ||
	    strcmp(j->state, "running") == 0)
		return 0;
	e->res = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "job", (json_int_t)j->id,
	    "state", j_str(j->state), "kind", j_str(j->kind), "entity",
	    j_str(j->entity), "finished", j_str(j->finished), "detail",
	    j_str(j->detail));
	return e->res ? 0 : -ENOMEM;
}

/* Read job's state: 0 with *res (NULL while it has not ended), or < 0. */
static int
job_end(struct ctld *c, int64_t job, json_t **res, char *dberr)
{
	struct job_end e = { NULL, false };
	int rc = cat_job_get(c->db, job, job_end_row, &e, dberr);

	*res = e.res;
	if (rc >= 0 && !e.found) {
		snprintf(dberr, CAT_ERRLEN, "no job %lld", (long long)job);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

json_t *
h_job_wait(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t job = arg_num(a, "job", 0);
	char dberr[CAT_ERRLEN];
	struct waiter *w;
	json_t *res;
	int rc;

	if ((rc = job_end(c, job, &res, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (res)
		return res;
	if (!(w = calloc(1, sizeof(*w))))
		FAIL(PROTO_E_INTERNAL, "out of memory");
	w->cl = cl;
	w->job = job;
	w->next = waiters;
	waiters = w;
	*code = CTLD_PENDING;
	return NULL;
}

void
ctld_jobwait_tick(struct ctld *c)
{
	char dberr[CAT_ERRLEN];
	struct waiter **pp = &waiters, *w;
	int64_t ended = 0;
	json_t *res;
	int rc;

	while ((w = *pp)) {
		if (c->crip) {
			ctld_reply(w->cl, NULL, CRIP_E_UNAVAILABLE, "abs-ctld lost its "
			    "catalog (crippled mode): the job's end cannot be "
			    "told; abs-ctl jobs once the catalog is back");
		} else if ((rc = cat_job_ended(c->db, w->job, &ended, dberr)) > 0 &&
		    !ended) {
			pp = &w->next;	/* the cheap look, each turn */
			continue;
		} else if ((rc = job_end(c, w->job, &res, dberr)) < 0) {
			const char *code = NULL;
			char err[PROTO_ERRLEN];
			cat_failed(&code, err, rc, dberr);
			ctld_reply(w->cl, NULL, code, err);
		} else if (res) {
			ctld_reply(w->cl, res, NULL, NULL);
		} else {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		free(w);
	}
}

void
ctld_jobwait_client_gone(struct client *cl)
{
	struct waiter **pp = &waiters, *w;

	while ((w = *pp)) {
		if (w->cl == cl) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}
