/*
 * Archive jobs in abs-ctld (docs/QUEUE.md, "Under abs-ctld"): an archive
 * queue worked by one drive's media server as one long-running job of
 * kind "archive" (engine/served.c runs engine/archive.c's loop). The
 * requests (archive-add, archive-list, archive-stop, archive-start,
 * archive-remove, archive-find), the media server's archive events (its
 * status with the rolling buffer of messages, and the done entries it
 * moved, recorded in the catalog), and the tick that keeps each archive
 * that should run with a job: queued at once, again after abs-ctld or the
 * media server restarted, after a failure with a backoff.
 *
 * While an archive's job holds the drive, other jobs for that drive wait
 * in the queue (the drive's log says which archive holds it); archive-stop
 * lets the drive go after the file being written.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "control/handlers_int.h"

#define PATHLEN 1024
/* Restarts after a failure: at once the first time, then 5 s doubling
   up to 5 min while it archives nothing. */
#define RETRY_FIRST 5
#define RETRY_MAX 300

/* What abs-ctld keeps of a running archive (not in the catalog). */
struct live {
	char name[64];
	int64_t job;		/* the job its status came from */
	json_t *status;		/* the media server's last status, or NULL */
	char last_msg[512];	/* the newest message passed to the drive's log */
	const struct client *stop_sent;	/* archive-stop sent on this one */
	int64_t noted;		/* the waiting job the drive's log was told of */
	struct live *next;
};
static struct live *lives;
/* A job ended: the tick looks at once, not at the next second. */
static bool tick_now;

static struct live *
live_get(const char *name, bool create)
{
	struct live *l;

	for (l = lives; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l;
	if (!create || !(l = calloc(1, sizeof(*l))))
		return NULL;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->next = lives;
	lives = l;
	return l;
}

static void
live_forget(const char *name)
{
	for (struct live **p = &lives; *p; p = &(*p)->next)
		if (strcmp((*p)->name, name) == 0) {
			struct live *l = *p;
			*p = l->next;
			json_decref(l->status);
			free(l);
			return;
		}
}

/* A copy of an archive row: the catalog's strings live only in its
   callback. */
struct arow {
	int64_t id, job, fails, archived, bytes;
	char name[64], drive[64], state[16], want[16], entity[80];
	char queue[PATHLEN], done[PATHLEN], retry_at[32];
	char error[PROTO_ERRLEN];
	json_t *options;
	char added[32], added_by[64];
};

static void
cp(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

static void
arow_fill(struct arow *r, const struct cat_archive *a)
{
	memset(r, 0, sizeof(*r));
	r->id = a->id;
	r->job = a->job_id;
	r->fails = a->fails;
	r->archived = a->archived;
	r->bytes = a->bytes;
	cp(r->name, sizeof(r->name), a->name);
	cp(r->drive, sizeof(r->drive), a->drive);
	cp(r->state, sizeof(r->state), a->state);
	cp(r->want, sizeof(r->want), a->want);
	cp(r->entity, sizeof(r->entity), a->entity);
	cp(r->queue, sizeof(r->queue), a->queue);
	cp(r->done, sizeof(r->done), a->done);
	cp(r->retry_at, sizeof(r->retry_at), a->retry_at);
	cp(r->error, sizeof(r->error), a->error);
	cp(r->added, sizeof(r->added), a->added);
	cp(r->added_by, sizeof(r->added_by), a->added_by);
	r->options = json_loads(a->options ? a->options : "{}", 0, NULL);
	if (!r->options)
		r->options = json_object();
}

static void
arow_free(struct arow *r)
{
	json_decref(r->options);
	r->options = NULL;
}

static int
one_arow(const struct cat_archive *a, void *arg)
{
	arow_fill(arg, a);
	return 1;
}

/* The archive by name into r: 0, or NULL-style failure with code/err. */
static int
arow_get(struct ctld *c, const char *name, struct arow *r, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int rc = cat_archive_get(c->db, name, one_arow, r, dberr);

	if (rc < 0) {
		cat_failed(code, err, rc, dberr);
		return rc;
	}
	return 0;
}

/* Whether canonical path in is a or below it. */
static bool
inside(const char *in, const char *a)
{
	size_t n = strlen(a);

	return strncmp(in, a, n) == 0 && (in[n] == '\0' || in[n] == '/');
}

/* The next cartridge the archive's drive will ask for: the first tape in
   the order of use that is not the one in use (cur) nor refused. */
struct next_pick {
	struct ctld *c;
	struct drive *d;
	const char *cur;
	char label[64];
};

static int
next_row(const struct cat_tape *t, void *arg)
{
	struct next_pick *p = arg;
	size_t i;
	json_t *s;

	if (p->cur && strcmp(t->label, p->cur) == 0)
		return 0;
	if (p->d) {
		if (strcmp(t->tape_id, p->d->reserved) == 0)
			return 0;
		json_array_foreach(p->d->skip, i, s)
			if (strcmp(json_string_value(s), t->label) == 0)
				return 0;
		if (ctld_library_tape_ok(p->c, p->d, t->label) < 0)
			return 0;
	}
	snprintf(p->label, sizeof(p->label), "%s", t->label);
	return 1;
}

/* The archive's state as archive-list shows it. */
static const char *
shown_state(const struct arow *r, const struct live *l)
{
	const char *st = l && l->status && l->job == r->job && r->job != CAT_NULL ?
	    arg_str(l->status, "state") : NULL;

	if (r->job == CAT_NULL)
		return strcmp(r->state, "failed") == 0 ? "failed" :
		    strcmp(r->want, "stopped") == 0 ? "stopped" : "waiting";
	/* The media server's word while it runs; before its first status,
	   the job waits for the drive. */
	if (st && strcmp(st, "stopped") != 0)
		return st;
	return "waiting";
}

/* An archive as archive-list and archive-add answer it. */
static json_t *
archive_json(struct ctld *c, const struct arow *r)
{
	struct live *l = live_get(r->name, false);
	struct drive *d = ctld_drive(c, r->drive, false);
	json_t *st = l && l->job == r->job ? l->status : NULL;
	const char *cart = st ? arg_str(st, "label") : NULL;
	struct next_pick np = { c, d, NULL, "" };
	const char *pool = arg_str(r->options, "pool");
	char dberr[CAT_ERRLEN];
	json_t *o;

	if (cart && !*cart)
		cart = NULL;
	/* The one the archiver names as about to load, or a cartridge asked
	   for and not yet loaded, is the next one; else the catalog's. */
	if (st && arg_str(st, "next") && *arg_str(st, "next"))
		snprintf(np.label, sizeof(np.label), "%s", arg_str(st, "next"));
	else if (d && d->job == r->job && r->job != CAT_NULL &&
	    d->want_label[0])
		snprintf(np.label, sizeof(np.label), "%s", d->want_label);
	else {
		np.cur = cart;
		if (cat_tapes_next(c->db, pool ? pool : "default", 200, next_row,
		    &np, dberr) < 0)
			np.label[0] = '\0';
	}
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:I,s:I}", "name",
	    r->name, "state", shown_state(r, l), "drive", r->drive, "queue",
	    r->queue, "done", r->done, "entity", r->entity, "want", r->want,
	    "drive_connected", d && d->engine, "job", j_int(r->job), "archived",
	    (json_int_t)r->archived, "bytes", (json_int_t)r->bytes);
	if (!o)
		return NULL;
	json_object_set_new(o, "pending", st && json_is_integer(json_object_get(st,
	    "queued")) ? json_incref(json_object_get(st, "queued")) :
	    json_null());
	json_object_set_new(o, "file", j_str(st && arg_str(st, "file") &&
	    *arg_str(st, "file") ? arg_str(st, "file") : NULL));
	json_object_set_new(o, "cartridge", j_str(cart));
	json_object_set_new(o, "next_label", j_str(np.label[0] ? np.label :
	    NULL));
	json_object_set_new(o, "refused", st ? json_incref(json_object_get(st,
	    "refused")) : json_null());
	json_object_set_new(o, "error", j_str(r->error[0] ? r->error : NULL));
	json_object_set_new(o, "retry_at", j_str(r->retry_at[0] ? r->retry_at :
	    NULL));
	json_object_set_new(o, "stopping", json_boolean(r->job != CAT_NULL &&
	    strcmp(r->want, "stopped") == 0));
	json_object_set_new(o, "options", json_incref(r->options));
	json_object_set_new(o, "added", j_str(r->added));
	json_object_set_new(o, "added_by", j_str(r->added_by));
	json_object_set_new(o, "messages", st && json_is_array(json_object_get(st,
	    "messages")) ? json_incref(json_object_get(st, "messages")) :
	    json_array());
	return o;
}

/* The job event's detail: what the media server runs. */
static char *
job_detail(const struct arow *r)
{
	json_t *d = json_deep_copy(r->options);
	char *s;

	if (!d)
		return NULL;
	json_object_set_new(d, "archive", json_string(r->name));
	json_object_set_new(d, "queue", json_string(r->queue));
	json_object_set_new(d, "done", json_string(r->done));
	s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return s;
}

/* Queue the archive's job on its drive (and hand it over if idle). */
static int
start_job(struct ctld *c, const struct arow *r, char *err)
{
	char dberr[CAT_ERRLEN], *detail = job_detail(r);
	const char *entity = r->entity;
	struct drive *d;
	int64_t job = 0;
	int rc;

	if (!detail) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	rc = cat_jobs_add(c->db, "archive", r->drive, &entity, 1, 0, detail,
	    &job, dberr);
	free(detail);
	if (rc >= 0)
		rc = cat_archive_job(c->db, r->id, job, dberr);
	if (rc >= 0)
		rc = cat_archive_state(c->db, r->id, "waiting", r->error[0] ?
		    r->error : NULL, -1, NULL, dberr);
	if (rc < 0) {
		snprintf(err, PROTO_ERRLEN, "%s", dberr);
		return rc;
	}
	struct live *l = live_get(r->name, true);
	if (l) {
		json_decref(l->status);
		l->status = NULL;
		l->job = job;
		l->stop_sent = NULL;
		l->last_msg[0] = '\0';
	}
	if ((d = ctld_drive(c, r->drive, false)) != NULL) {
		ctld_message(c, d, "info", "job %lld: archive %s of %s", (long long)job,
		    r->name, r->queue);
		ctld_dispatch(c, d);
	}
	return 0;
}

/* An archive's job ended (state done failed aborted, why). */
static void
job_ended(struct ctld *c, const struct arow *r, const char *state,
    const char *why)
{
	char dberr[CAT_ERRLEN], at[32], msg[PROTO_ERRLEN];
	struct drive *d = ctld_drive(c, r->drive, false);
	int64_t fails = r->fails + 1;
	unsigned delay;
	int rc;

	if ((rc = cat_archive_job(c->db, r->id, CAT_NULL, dberr)) < 0) {
		cat_warn(c, d, dberr);
		return;
	}
	if (strcmp(r->want, "stopped") == 0 || strcmp(state, "aborted") == 0) {
		/* Stopped as asked, or aborted by the operator: it stays so. */
		if (strcmp(state, "aborted") == 0 && strcmp(r->want, "stopped"))
			rc = cat_archive_want(c->db, r->id, "stopped", dberr);
		if (rc >= 0)
			rc = cat_archive_state(c->db, r->id, "stopped",
			    strcmp(state, "done") == 0 ? NULL : why, -1, NULL, dberr);
		if (d)
			ctld_message(c, d, "info", "archive %s stopped (job %lld %s)",
			    r->name, (long long)r->job, state);
	} else if (strcmp(state, "done") == 0) {
		/* It ended on its own while it should run: again at once. */
		rc = cat_archive_state(c->db, r->id, "waiting", NULL, -1, NULL,
		    dberr);
	} else {
		delay = fails <= 1 ? 0 : RETRY_FIRST << (fails - 2 < 6 ? fails - 2 :
		    6);
		if (delay > RETRY_MAX)
			delay = RETRY_MAX;
		util_fmt_time(clock_now() + delay, at, sizeof(at));
		snprintf(msg, sizeof(msg), "job %lld failed: %s", (long long)r->job,
		    why ? why : "?");
		rc = cat_archive_state(c->db, r->id, "failed", msg, fails, at, dberr);
		if (d)
			ctld_message(c, d, "error", "archive %s: %s; started again in"
			    " %u s", r->name, msg, delay);
		log_warn("archive %s: %s; started again at %s", r->name, msg, at);
	}
	if (rc < 0)
		cat_warn(c, d, dberr);
}

/* ---- requests ---- */

/* Whether a directory is there (where abs-ctld can look). */
static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An archive's job started unless it has one, then the archive as
   archive-list shows it (read again: the start changed it); frees *r. */
static json_t *
start_and_show(struct ctld *c, struct arow *r, const char **code, char *err)
{
	char name[sizeof(r->name)];
	json_t *res;

	snprintf(name, sizeof(name), "%s", r->name);
	if (r->job == CAT_NULL && start_job(c, r, err) < 0) {
		arow_free(r);
		*code = PROTO_E_CATALOG;
		return NULL;
	}
	arow_free(r);
	if (arow_get(c, name, r, code, err) < 0)
		return NULL;
	res = archive_json(c, r);
	arow_free(r);
	if (!res)
		FAIL(PROTO_E_INTERNAL, "out of memory");
	return res;
}

json_t *
h_archive_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *name = arg_str(a, "name"), *drive = arg_str(a, "drive");
	const char *pool = arg_str(a, "pool"), *digest = arg_str(a, "digest");
	const char *vr = arg_str(a, "verify_rate");
	int64_t every = arg_num(a, "commit_every", 0);
	int64_t secs = arg_num(a, "commit_secs", 0), poll = arg_num(a, "poll", 0);
	char queue[PATHLEN], done[PATHLEN], entity[80], by[300], dberr[CAT_ERRLEN];
	char rq[PATH_MAX], rd[PATH_MAX];
	double rate = 0.01;
	struct drive *d;
	struct arow r;
	json_t *opts;
	char *os;
	int rc;

	if (!name || !cat_name_valid(name) || strlen(name) > 63)
		FAIL(PROTO_E_BAD_ARGS, "an archive's name has 1 to 63 bytes, no"
		    " spaces, '%%', '=' or '|'");
	if (!ctld_path_canon(arg_str(a, "queue"), queue, sizeof(queue),
	    "--queue", err) ||
	    !ctld_path_canon(arg_str(a, "done"), done, sizeof(done), "--done",
	    err)) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if (inside(done, queue))
		FAIL(PROTO_E_BAD_ARGS, "--done %.80s is %sthe queue %.80s: done"
		    " entries must stay apart from queued ones", done,
		    strcmp(done, queue) ? "inside " : "", queue);
	if (inside(queue, done))
		FAIL(PROTO_E_BAD_ARGS, "--queue %.100s is inside --done %.100s", queue,
		    done);
	if (!drive || !(d = ctld_drive(c, drive, false)))
		FAIL(PROTO_E_NOT_FOUND, "no drive %.64s (a drive is known once its media"
		    " server registers it)", drive ? drive : "");
	if (every < 0 || every > 1000000)
		FAIL(PROTO_E_BAD_ARGS, "--commit-every is 1 to 1000000 files (0: the"
		    " default, 1000)");
	if (secs < 0 || secs > 86400)
		FAIL(PROTO_E_BAD_ARGS, "--commit-secs is 0 to 86400 seconds (0: no"
		    " time bound)");
	if (poll < 0 || poll > 3600)
		FAIL(PROTO_E_BAD_ARGS, "--poll is 1 to 3600 seconds");
	if (digest && strcmp(digest, "xxh128") && strcmp(digest, "sha256"))
		FAIL(PROTO_E_BAD_ARGS, "--digest is xxh128 or sha256, not %.64s",
		    digest);
	if (vr) {
		char *end;
		rate = strtod(vr, &end);
		if (end == vr || *end || !(rate >= 0 && rate <= 1))
			FAIL(PROTO_E_BAD_ARGS, "--verify-rate is a fraction from 0 to 1,"
			    " not %.64s", vr);
	}
	if (arg_num(a, "no_verify", 0))
		rate = -1;
	/* Where abs-ctld sees the media server's files (its own host), the
	   directories are checked now; else when the job starts. */
	if (d->engine && !d->engine->net) {
		if (!is_dir(queue))
			FAIL(PROTO_E_BAD_ARGS, "--queue %.200s: no such directory", queue);
		if (is_dir(done) && realpath(queue, rq) && realpath(done, rd) &&
		    (inside(rd, rq) || inside(rq, rd)))
			FAIL(PROTO_E_BAD_ARGS, "--done %.80s and --queue %.80s overlap (one is"
			    " inside the other, through a link)", done, queue);
		if (!is_dir(done)) {
			char parent[PATHLEN];
			snprintf(parent, sizeof(parent), "%s", done);
			*strrchr(parent, '/') = '\0';
			if (parent[0] && !is_dir(parent))
				FAIL(PROTO_E_BAD_ARGS, "--done %.200s: neither it nor its parent"
				    " directory is there", done);
		}
	}
	snprintf(entity, sizeof(entity), "archive.%s", name);
	opts = json_pack("{s:s,s:I,s:I,s:f,s:s,s:I}", "pool", pool ? pool :
	    "default", "commit_every", (json_int_t)every, "commit_secs",
	    (json_int_t)secs, "verify_rate", rate, "digest", digest ? digest :
	    "xxh128", "poll", (json_int_t)poll);
	os = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
	json_decref(opts);
	if (!os)
		FAIL(PROTO_E_INTERNAL, "out of memory");
	rc = cat_archive_add(c->db, name, drive, queue, done, entity, pool ? pool :
	    "default", os, ctld_who(cl, by, sizeof(by)), dberr);
	free(os);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	log_info("archive %s of %s added on drive %s by %s", name, queue, drive,
	    by);
	if (arow_get(c, name, &r, code, err) < 0)
		return NULL;
	return start_and_show(c, &r, code, err);
}

static int
list_row(const struct cat_archive *a, void *arg)
{
	void **v = arg;
	struct arow r;
	int rc;

	arow_fill(&r, a);
	rc = j_append(v[1], archive_json(v[0], &r));
	arow_free(&r);
	return rc;
}

json_t *
h_archive_list(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *arr = json_array();
	void *v[2] = { c, arr };
	(void)cl;
	(void)a;

	return j_list(arr, cat_archives_list(c->db, list_row, v, dberr), dberr,
	    code, err);
}

/* Tell the drive's media server to stop the archive's job, once per
   connection. */
static void
send_stop(struct ctld *c, const struct arow *r)
{
	struct drive *d = ctld_drive(c, r->drive, false);
	struct live *l = live_get(r->name, true);

	if (!d || !d->engine || d->job != r->job || !l ||
	    l->stop_sent == d->engine)
		return;
	json_t *ev = json_pack("{s:s,s:I,s:s}", "event", "archive-stop", "job",
	    (json_int_t)r->job, "archive", r->name);

	if (!ev)
		return;
	ctld_send(d->engine, ev);
	json_decref(ev);
	l->stop_sent = d->engine;
	ctld_message(c, d, "info", "archive %s: stopping after the file being"
	    " written", r->name);
}

json_t *
h_archive_stop(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *name = arg_str(a, "name");
	char dberr[CAT_ERRLEN];
	struct arow r;
	json_t *res;
	int rc;

	if (arow_get(c, name, &r, code, err) < 0)
		return NULL;
	if ((rc = cat_archive_want(c->db, r.id, "stopped", dberr)) < 0) {
		arow_free(&r);
		return cat_failed(code, err, rc, dberr);
	}
	snprintf(r.want, sizeof(r.want), "stopped");
	if (r.job != CAT_NULL) {
		struct drive *d = ctld_drive(c, r.drive, false);
		if (d && d->engine && d->job == r.job) {
			send_stop(c, &r);
		} else {
			/* Queued, or its media server is away: it ends here. */
			if ((rc = ctld_abort_orphan(c, r.job, cl->uid, dberr)) < 0) {
				arow_free(&r);
				return cat_failed(code, err, rc, dberr);
			}
			job_ended(c, &r, "done", NULL);
			r.job = CAT_NULL;
		}
	} else if ((rc = cat_archive_state(c->db, r.id, "stopped", NULL, -1, NULL,
	    dberr)) < 0) {
		arow_free(&r);
		return cat_failed(code, err, rc, dberr);
	}
	res = json_pack("{s:s,s:s}", "name", r.name, "state", r.job != CAT_NULL ?
	    "stopping" : "stopped");
	arow_free(&r);
	return res;
}

json_t *
h_archive_start(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *name = arg_str(a, "name");
	char dberr[CAT_ERRLEN];
	struct arow r;
	int rc;
	(void)cl;

	if (arow_get(c, name, &r, code, err) < 0)
		return NULL;
	if ((rc = cat_archive_want(c->db, r.id, "run", dberr)) < 0 ||
	    (rc = cat_archive_state(c->db, r.id, r.job != CAT_NULL ? r.state :
	    "waiting", NULL, 0, NULL, dberr)) < 0) {
		arow_free(&r);
		return cat_failed(code, err, rc, dberr);
	}
	r.error[0] = '\0';
	return start_and_show(c, &r, code, err);
}

json_t *
h_archive_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *name = arg_str(a, "name");
	char dberr[CAT_ERRLEN];
	struct arow r;
	int rc;

	if (arow_get(c, name, &r, code, err) < 0)
		return NULL;
	if (r.job != CAT_NULL) {
		long long job = (long long)r.job;
		arow_free(&r);
		FAIL(PROTO_E_BUSY, "archive %s runs as job %lld: archive-stop it"
		    " first", name, job);
	}
	arow_free(&r);
	if ((rc = cat_archive_remove(c->db, name, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	live_forget(name);
	log_info("archive %s removed by uid %u (its done entries, queue and"
	    " tapes stay)", name, (unsigned)cl->uid);
	return json_pack("{s:s,s:b}", "name", name, "removed", 1);
}

static int
find_row(const struct cat_archive_entry *e, void *arr)
{
	json_t *parts = json_loads(e->parts ? e->parts : "[]", 0, NULL);

	return j_append(arr, json_pack("{s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:I,"
	    "s:I,s:o,s:b,s:o}", "archive", j_str(e->archive), "name",
	    j_str(e->name), "path", j_str(e->path), "bytes", (json_int_t)e->bytes,
	    "digest", j_str(e->digest), "dump", j_str(e->dump_uid), "label",
	    j_str(e->label), "tape_id", j_str(e->tape_id), "file",
	    (json_int_t)e->file, "offset", (json_int_t)e->offset, "archived",
	    j_str(e->archived), "verified", e->verified, "parts", parts ? parts :
	    json_array()));
}

json_t *
h_archive_find(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *key = arg_str(a, "key"), *archive = arg_str(a, "archive");
	char dberr[CAT_ERRLEN];
	json_t *arr = json_array();
	int rc;
	(void)cl;

	rc = cat_archive_entries_find(c->db, archive, key, find_row, arr, dberr);
	if (rc == 0) {
		json_decref(arr);
		FAIL(PROTO_E_NOT_FOUND, "no archived file has the entry name or path"
		    " %.900s%s%.64s", key ? key : "", archive ? " in archive " : "",
		    archive ? archive : "");
	}
	return j_list(arr, rc, dberr, code, err);
}

/* ---- the media server's archive events ---- */

/* The archive an event names, worked by this drive's job. */
static int
event_arow(struct ctld *c, struct drive *d, json_t *data, struct arow *r,
    const char **code, char *err)
{
	if (arow_get(c, arg_str(data, "archive"), r, code, err) < 0)
		return -ENOENT;
	if (strcmp(r->drive, d->name) != 0) {
		*code = PROTO_E_DENIED;
		snprintf(err, PROTO_ERRLEN, "archive %s is drive %s's, not %s's",
		    r->name, r->drive, d->name);
		arow_free(r);
		return -EPERM;
	}
	return 0;
}

/* New messages of a status into the drive's log (after the last one). */
static void
pass_messages(struct ctld *c, struct drive *d, struct live *l, json_t *msgs)
{
	size_t n = json_array_size(msgs), from = 0;

	for (size_t i = n; i-- > 0;)
		if (l->last_msg[0] && strcmp(json_string_value(json_array_get(msgs,
		    i)) ? json_string_value(json_array_get(msgs, i)) : "",
		    l->last_msg) == 0) {
			from = i + 1;
			break;
		}
	for (size_t i = from; i < n; i++) {
		const char *m = json_string_value(json_array_get(msgs, i));
		if (!m)
			continue;
		/* After the time stamp: the drive's log stamps its own. */
		const char *sp = strchr(m, ' ');
		ctld_message(c, d, "info", "archive %s: %s", l->name, sp ? sp + 1 :
		    m);
	}
	if (n && json_string_value(json_array_get(msgs, n - 1)))
		snprintf(l->last_msg, sizeof(l->last_msg), "%s",
		    json_string_value(json_array_get(msgs, n - 1)));
}

json_t *
ev_archive_status(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	json_t *st = json_object_get(data, "status");
	const char *state = arg_str(st, "state");
	char dberr[CAT_ERRLEN];
	struct live *l;
	struct arow r;
	int rc;

	if (!json_is_object(st) || !state || (strcmp(state, "waiting") &&
	    strcmp(state, "running") && strcmp(state, "load-media") &&
	    strcmp(state, "unloading") && strcmp(state, "stopped")))
		FAIL(PROTO_E_BAD_ARGS, "archive-status event: 'status' is the"
		    " archiver's status object, its state waiting, running,"
		    " load-media, unloading or stopped");
	if (event_arow(c, d, data, &r, code, err) < 0)
		return NULL;
	if (r.job == CAT_NULL || r.job != d->job) {
		arow_free(&r);
		return ctld_ok();	/* a job that ended: nothing to show */
	}
	if (!(l = live_get(r.name, true))) {
		arow_free(&r);
		FAIL(PROTO_E_INTERNAL, "out of memory");
	}
	if (l->job != r.job) {
		l->job = r.job;
		l->last_msg[0] = '\0';
	}
	pass_messages(c, d, l, json_object_get(st, "messages"));
	json_decref(l->status);
	l->status = json_deep_copy(st);
	d->state = strcmp(state, "load-media") == 0 ? "load-media" :
	    strcmp(state, "unloading") == 0 ? "unloading" : "archiving";
	if (strcmp(state, "stopped") != 0 && strcmp(state, r.state) != 0 &&
	    (rc = cat_archive_state(c->db, r.id, state, strcmp(state,
	    "running") == 0 ? NULL : r.error[0] ? r.error : NULL, -1, NULL,
	    dberr)) < 0)
		cat_warn(c, d, dberr);
	arow_free(&r);
	return ctld_ok();
}

json_t *
ev_archive_entries(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	json_t *entries = json_object_get(data, "entries"), *e;
	char dberr[CAT_ERRLEN];
	const char *k;
	struct arow r;
	int n = 0, rc = 0;

	if (event_arow(c, d, data, &r, code, err) < 0)
		return NULL;
	json_object_foreach(entries, k, e) {
		json_t *p0 = json_array_get(json_object_get(e, "parts"), 0);
		char digest[200], *parts;
		const char *alg = arg_str(e, "digest");
		snprintf(digest, sizeof(digest), "%s", alg ? alg : "");
		parts = json_dumps(json_object_get(e, "parts"), JSON_COMPACT);
		struct cat_archive_entry x = {
			.name = k, .path = arg_str(e, "path"),
			.dump_uid = arg_str(e, "dump_id"), .digest = digest,
			.bytes = arg_num(e, "bytes", -1),
			.label = arg_str(p0, "label"), .tape_id = arg_str(p0,
			    "tape_id"), .file = arg_num(p0, "file", -1),
			.offset = arg_num(p0, "offset", 0), .parts = parts,
			.archived = arg_str(e, "archived"),
			.verified = json_is_true(json_object_get(e, "verified")) ||
			    json_is_string(json_object_get(e, "checked")),
		};
		if (!json_is_object(e) || !json_is_array(json_object_get(e,
		    "parts")))
			rc = -EINVAL, snprintf(dberr, sizeof(dberr), "entry %s is no"
			    " done entry", k);
		else
			rc = cat_archive_entry_put(c->db, r.id, &x, dberr);
		free(parts);
		if (rc < 0)
			break;
		n++;
	}
	/* Something archived: a failure before it no longer counts. */
	if (rc >= 0 && n && r.fails)
		rc = cat_archive_state(c->db, r.id, r.state, NULL, 0, NULL, dberr);
	arow_free(&r);
	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:i}", "recorded", n);
}

/* ---- the job's life ---- */

/* A job's state (its detail holds a failed one's error). */
struct job_end {
	char state[16];
	char why[PROTO_ERRLEN];
};

static int
job_state_row(const struct cat_job *j, void *arg)
{
	struct job_end *e = arg;

	snprintf(e->state, sizeof(e->state), "%s", j->state ? j->state : "");
	if (j->detail && j->detail[0] != '{')
		snprintf(e->why, sizeof(e->why), "%s", j->detail);
	return 0;
}

void
ctld_archive_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why)
{
	(void)c; (void)job; (void)state; (void)why;
	/* The tick reads the job's end from the catalog (a job ended while
	   abs-ctld was down is found the same way). */
	tick_now = true;
}

/* The archives as the tick found them: acted on once the query ended
   (no row of the catalog changes under a query still reading it). */
struct tick_rows {
	struct arow *r;
	size_t n, cap;
};

static int
tick_row(const struct cat_archive *a, void *arg)
{
	struct tick_rows *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct arow *nr = realloc(t->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		t->r = nr;
		t->cap = cap;
	}
	arow_fill(&t->r[t->n++], a);
	return 0;
}

/* One archive's turn: its job's end heard, a stop sent again, or a job
   queued for one that should run and has none. */
static void
tick_one(struct ctld *c, struct arow *r)
{
	char dberr[CAT_ERRLEN], err[PROTO_ERRLEN];

	if (r->job != CAT_NULL) {
		struct job_end e = { "", "" };
		int rc = cat_job_get(c->db, r->job, job_state_row, &e, dberr);
		if (rc < 0)
			cat_warn(c, NULL, dberr);
		else if (rc == 0 || !strcmp(e.state, "done") ||
		    !strcmp(e.state, "failed") || !strcmp(e.state, "aborted"))
			job_ended(c, r, e.state[0] ? e.state : "failed", e.why[0] ?
			    e.why : "its job is not in the catalog");
		else if (strcmp(r->want, "stopped") == 0)
			send_stop(c, r);
		return;
	}
	if (strcmp(r->want, "run") == 0 &&
	    util_time_or_zero(r->retry_at) <= clock_now() &&
	    start_job(c, r, err) < 0)
		log_warn("archive %s: no job: %s", r->name, err);
}

void
ctld_archive_tick(struct ctld *c)
{
	static time_t last;
	struct tick_rows t = { NULL, 0, 0 };
	char dberr[CAT_ERRLEN];
	time_t mono = time(NULL);

	if (c->crip || (mono == last && !tick_now))
		return;
	last = mono;
	tick_now = false;
	if (cat_archives_list(c->db, tick_row, &t, dberr) < 0)
		cat_warn(c, NULL, dberr);
	for (size_t i = 0; i < t.n; i++) {
		tick_one(c, &t.r[i]);
		arow_free(&t.r[i]);
	}
	free(t.r);
}

/* A job waits for d while an archive's job holds it: said once a job. */
void
ctld_archive_holding(struct ctld *c, struct drive *d)
{
	char dberr[CAT_ERRLEN];
	int64_t next = 0;

	for (struct live *l = lives; l; l = l->next) {
		if (l->job != d->job || !d->job)
			continue;
		if (cat_job_next(c->db, d->name, &next, dberr) > 0 &&
		    next != l->noted) {
			l->noted = next;
			ctld_message(c, d, "warning", "job %lld waits: drive %s is held"
			    " by archive %s (abs-ctl archive-stop %s lets it go)",
			    (long long)next, d->name, l->name, l->name);
		}
		return;
	}
}
