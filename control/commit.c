/*
 * Commit points shared by a drive's dump jobs (docs/NIGHTLY.md "Commit
 * points"). A media server may end a dump job with its dump written
 * behind an immediate filemark, not yet committed: the job's result says
 * "written". The job stays running in the catalog (its dump is not in
 * it: not done, not restorable, no chain's and no plan's) and the drive
 * takes its next job; the job is done when the commit event brings the
 * dump's lines (after the synchronous filemark that covers them), failed
 * and dumped again when the commit point fails or when the media server
 * registers again without having committed it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/dumplog.h"
#include "common/log.h"
#include "control/handlers_int.h"

/* Whether job waits on d for its commit point. */
bool
ctld_written_has(const struct drive *d, int64_t job)
{
	for (size_t i = 0; i < d->nwritten; i++)
		if (d->written[i] == job)
			return true;
	return false;
}

/* job waits on d for its commit point. 0 or -ENOMEM. */
int
ctld_written_add(struct drive *d, int64_t job)
{
	if (ctld_written_has(d, job))
		return 0;
	if (d->nwritten == d->capwritten) {
		size_t cap = d->capwritten ? d->capwritten * 2 : 16;
		int64_t *v = realloc(d->written, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->written = v;
		d->capwritten = cap;
	}
	d->written[d->nwritten++] = job;
	return 0;
}

/* job no longer waits on d. */
static void
written_remove(struct drive *d, int64_t job)
{
	for (size_t i = 0; i < d->nwritten; i++)
		if (d->written[i] == job) {
			d->written[i] = d->written[--d->nwritten];
			return;
		}
}

/* Whether some drive holds job uncommitted. */
bool
ctld_job_uncommitted(const struct ctld *c, int64_t job)
{
	for (const struct drive *d = c->drives; d; d = d->next)
		if (ctld_written_has(d, job))
			return true;
	return false;
}

/*
 * The job a read-after-write check is about: the one it names, if the
 * drive runs it or holds it uncommitted (a commit point's read back, with
 * or without a job running), else the drive's job.
 */
int64_t
ctld_verified_job(const struct drive *d, json_t *data)
{
	int64_t job = arg_num(data, "job", 0);

	return job > 0 && (job == d->job || ctld_written_has(d, job)) ? job :
	    d->job;
}

/* An uncommitted job ends: the catalog, the night's run, shadows. */
static void
written_end(struct ctld *c, struct drive *d, int64_t job, bool done,
    const char *why)
{
	char dberr[CAT_ERRLEN];
	int rc = done ? cat_job_finish(c->db, job, "done", NULL, dberr) :
	    cat_job_lost(c->db, job, why, dberr);

	if (rc < 0) {
		cat_warn(c, d, dberr);
		return;		/* tried again at the next commit or registration */
	}
	written_remove(d, job);
	if (done)
		ctld_message(c, d, "info", "job %lld done (committed)",
		    (long long)job);
	else
		ctld_message(c, d, "error", "job %lld failed: %s", (long long)job,
		    why);
	night_job_ended(c, job, done ? "done" : "failed", done ? NULL : why);
	ctld_shadow_job_ended(c, job, done ? "done" : "failed", done ? NULL :
	    why);
}

/*
 * The uncommitted jobs of d whose dump the catalog now has complete are
 * done; with final (the media server registered again: it holds none
 * now) the others failed, to be dumped again.
 */
void
ctld_written_resolve(struct ctld *c, struct drive *d, bool final,
    const char *why)
{
	char dberr[CAT_ERRLEN];

	for (size_t i = d->nwritten; i-- > 0;) {
		int64_t job = d->written[i];
		if (job == d->job) {	/* reported running: it is not written */
			written_remove(d, job);
			continue;
		}
		int rc = cat_job_dump_complete(c->db, job, dberr);
		if (rc < 0) {
			cat_warn(c, d, dberr);
			continue;
		}
		if (rc == 1 || final)
			written_end(c, d, job, rc == 1, why);
	}
}

/*
 * commit: a synchronous filemark covered these dumps; their dump-log
 * lines (parts, then the dump) go into the catalog as a journal's merge
 * would, and the jobs whose dumps are complete now are done.
 */
json_t *
ev_commit(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	json_t *lines = json_object_get(data, "lines"), *l;
	size_t i, n = json_array_size(lines);
	const char **v = calloc(n + 1, sizeof(*v));
	struct cat_merge_result r;
	char dberr[CAT_ERRLEN];
	size_t before = d->nwritten;
	int rc;

	if (!v)
		FAIL("internal", "out of memory");
	json_array_foreach(lines, i, l) {
		if (!json_is_string(l)) {
			free(v);
			FAIL("bad-args", "commit event: 'lines' holds dump-log lines "
			    "(strings)");
		}
		v[i] = json_string_value(l);
	}
	rc = cat_merge(c->db, "default", v, n, &r, NULL, NULL, dberr);
	free(v);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	if (r.rejected || r.errors)
		ctld_message(c, d, "warning", "commit: %d lines refused, %d errors "
		    "(see the drive's journal)", r.rejected, r.errors);
	/* A night's run counts the cartridges its jobs' parts are on. */
	for (i = 0; i < n; i++) {
		struct cat_dl_rec rec;
		if (cat_dl_parse(json_string_value(json_array_get(lines, i)),
		    &rec) == 0 && rec.type == CAT_DL_PART && rec.job > 0 &&
		    ctld_written_has(d, rec.job))
			night_part_of(c, d, rec.job, rec.dump_id, rec.tape_id);
	}
	/* settle false: the dumps' indexes come first, then the jobs end */
	if (!json_is_false(json_object_get(data, "settle")))
		ctld_written_resolve(c, d, false, NULL);
	return json_pack("{s:i,s:i,s:i}", "parts", r.parts, "dumps", r.dumps,
	    "done", (int)(before - d->nwritten));
}

/* commit-failed: the commit point did not cover these jobs' dumps. */
json_t *
ev_commit_failed(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	json_t *jobs = json_object_get(data, "jobs"), *j;
	const char *e = arg_str(data, "error");
	char why[256];
	size_t i;
	int n = 0;
	(void)code; (void)err;

	snprintf(why, sizeof(why), "written, then lost before a commit point "
	    "covered it: %.180s", e ? e : "the commit point failed");
	json_array_foreach(jobs, i, j) {
		if (!json_is_integer(j) || !ctld_written_has(d,
		    json_integer_value(j)))
			continue;
		written_end(c, d, json_integer_value(j), false, why);
		n++;
	}
	return json_pack("{s:i}", "failed", n);
}
