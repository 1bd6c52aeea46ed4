/*
 * Engine events: what a registered media server reports about its drive's
 * job (engine-event requests), one function per event and one table row
 * each, and the hand-over of queued jobs to idle drives.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "control/crippled_int.h"
#include "control/handlers_int.h"

/* A string field of the event's data, or dflt. */
const char *
ctld_field(json_t *data, const char *k, const char *dflt)
{
	const char *s = arg_str(data, k);

	return s ? s : dflt;
}

/* The reply to an event that needs no answer. */
json_t *
ctld_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* Their short names in this file (handlers_int.h). */
#define field(d, k, dflt) ctld_field(d, k, dflt)
#define ok() ctld_ok()

/* A type's commands around a dump as a job event's "commands" (see
   handlers_int.h). */
json_t *
ctld_type_commands(const char *snapshot, const char *dump, const char *incr,
    const char *release)
{
	const char *cmd[4] = { snapshot, dump, incr, release };
	static const char *const key[4] = { "snapshot", "dump", "incr",
	    "release" };
	json_t *o = json_object(), *a;
	char **argv;

	for (int i = 0; o && i < 4; i++) {
		if (!cmd[i] || !*cmd[i] || cat_cmd_split(cmd[i], &argv) <= 0)
			continue;
		a = json_array();
		for (char **w = argv; a && *w; w++)
			json_array_append_new(a, json_string(*w));
		json_object_set_new(o, key[i], a);
		cat_cmd_free(argv);
	}
	if (o && json_object_size(o) == 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* The media server's job as the event it acts on; NULL on failure. */
static int
job_event_row(const struct cat_job *j, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o*}", "job",
	    (json_int_t)j->id, "kind", j_str(j->kind), "detail", j_str(j->detail),
	    "entity", j_str(j->entity), "source", j_str(j->source), "pool",
	    j_str(j->pool), "last_full", j_str(j->last_full), "type",
	    j_str(j->type), "event", "job", "commands",
	    ctld_type_commands(j->snapshot_cmd, j->dump_cmd, j->incr_cmd,
	    j->release_cmd));
	return *out ? 0 : -ENOMEM;
}

void
ctld_dispatch(struct ctld *c, struct drive *d)
{
	char err[CAT_ERRLEN];
	int64_t job = 0, estimate = 0;
	json_t *ev = NULL;
	int rc;

	if (c->crip) {
		crip_dispatch(c, d);
		return;
	}
	if (!d->engine || d->job || ctld_rebuild_busy(d) ||
	    ctld_library_holds(c, d)) {
		if (d->job)
			ctld_archive_holding(c, d);
		return;
	}
	/* Started last: a job the drive does not hold is never running. */
	if ((rc = cat_job_next(c->db, d->name, &job, err)) <= 0 ||
	    (rc = cat_job_get(c->db, job, job_event_row, &ev, err)) < 0 ||
	    (rc = cat_job_estimate(c->db, job, &estimate, err)) < 0 ||
	    (rc = cat_job_start(c->db, job, err)) < 0) {
		if (rc < 0)
			cat_warn(c, d, err);
		json_decref(ev);
		return;
	}
	d->job = job;
	d->bytes = 0;
	d->estimate = (uint64_t)estimate;
	d->rate = 0;
	d->started = (double)time(NULL);
	snprintf(d->entity, sizeof(d->entity), "%s", field(ev, "entity", ""));
	json_array_clear(d->skip);
	night_job_event(c, d, job, ev);
	d->restoring = strcmp(field(ev, "kind", ""), "restore") == 0;
	d->state = d->restoring ? "restoring" : "writing";
	/* The media server reports the job with our site if it must. */
	json_object_set_new(ev, "site", json_string(c->site));
	/* Dumps may share commit points (docs/NIGHTLY.md); crippled mode's
	   job events say nothing, so there each dump is its own. */
	if (!d->restoring && c->commit_every > 1) {
		json_object_set_new(ev, "commit_every",
		    json_integer(c->commit_every));
		json_object_set_new(ev, "commit_secs",
		    json_integer(c->commit_secs));
	}
	ctld_send(d->engine, ev);
	char lvl[32] = "";	/* a restore has none (campaign14 F4) */
	if (json_is_integer(json_object_get(ev, "level")))
		snprintf(lvl, sizeof(lvl), " level %lld", (long long)
		    json_integer_value(json_object_get(ev, "level")));
	ctld_message(c, d, "info", "job %lld: %s %s%s%s%s", (long long)job,
	    field(ev, "kind", ""), d->entity, lvl, json_object_get(ev, "since") ?
	    " since " : "", field(ev, "since", ""));
	json_decref(ev);
}

/* Warn the exception role when a pool runs low on writable tapes. */
static int
pool_low_row(const struct cat_pool *p, void *arg)
{
	int64_t *v = arg;

	v[0] = p->min_tapes;
	v[1] = p->writable;
	return 0;
}

static void
check_pool_low(struct ctld *c, struct drive *d, const char *pool)
{
	char err[CAT_ERRLEN];
	int64_t v[2] = { 0, 0 };	/* min, have */

	int rc = cat_pool_get(c->db, pool, pool_low_row, v, err);

	if (rc < 0) {
		if (rc != -ENOENT)
			cat_warn(c, d, err);
		return;
	}
	if (v[0] > 0 && v[1] < v[0])
		ctld_error_event(c, d, NULL, d ? d->job : 0, "pool-low", "pool %s has "
		    "%lld writable tapes, fewer than its minimum %lld", pool,
		    (long long)v[1], (long long)v[0]);
}

/*
 * The first tape in order that the drive's job has not been refused; for
 * a library drive the first one in its library that no other drive's job
 * holds (else the first one in no library: the operator mounts it).
 */
struct pick {
	struct ctld *c;
	struct drive *d;
	json_t *tape;
	json_t *fallback;	/* a library drive's: one in no library */
	bool in_library;	/* the drive is a library's */
};

static int
pick_row(const struct cat_tape *t, void *arg)
{
	struct pick *p = arg;
	size_t i;
	json_t *s;
	int ok;

	json_array_foreach(p->d->skip, i, s)
		if (strcmp(json_string_value(s), t->label) == 0)
			return 0;
	if ((ok = ctld_library_tape_ok(p->c, p->d, t->label)) < 0)
		return 0;
	if (ok == 0 && p->fallback)
		return 0;
	if (!(s = j_next_tape(t)))
		return -ENOMEM;
	if (ok == 0 && p->in_library) {
		p->fallback = s;	/* a library's cartridge may come later */
		return 0;
	}
	p->tape = s;
	return 1;
}

/*
 * The catalog's choice of the next tape for the drive's job. It is
 * reserved for the drive until it is full or the job ends, so that no
 * other drive is sent for it.
 */
static json_t *
ev_next_tape(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *pool = field(data, "pool", "default");
	json_t *lib = ctld_library_of(c, d);
	struct pick p = { c, d, NULL, NULL, lib != NULL };
	char dberr[CAT_ERRLEN];
	int rc;

	json_decref(lib);
	release_reservation(c, d);
	if ((rc = cat_tapes_next(c->db, pool, 1000, pick_row, &p, dberr)) < 0) {
		json_decref(p.fallback);
		return cat_failed(code, err, rc, dberr);
	}
	if (!p.tape)
		p.tape = p.fallback;
	else
		json_decref(p.fallback);
	if (!p.tape) {
		ctld_error_event(c, d, NULL, d->job, "no-tape", "no writable tape "
		    "left in pool %s", pool);
		FAIL("no-tape", "no writable tape left in pool %s", pool);
	}
	if ((rc = cat_tape_reserve(c->db, field(p.tape, "tape_id", ""), d->job,
	    dberr)) < 0) {
		json_decref(p.tape);
		return cat_failed(code, err, rc, dberr);
	}
	snprintf(d->reserved, sizeof(d->reserved), "%s",
	    field(p.tape, "tape_id", ""));
	snprintf(d->want_label, sizeof(d->want_label), "%s",
	    field(p.tape, "label", ""));
	d->state = "load-media";
	check_pool_low(c, d, pool);
	return p.tape;
}

/* The media server asks the operator for a cartridge. */
static json_t *
ev_mount_request(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	(void)code; (void)err;
	d->state = "load-media";
	snprintf(d->want_label, sizeof(d->want_label), "%s",
	    field(data, "label", ""));
	if (ctld_library_mount(c, d, d->want_label))
		return ok();	/* the robot fetches it: mounted follows */
	ctld_message(c, d, "warning", "MOUNT REQUEST: put %s in %s, then run"
	    " abs-ctl mounted %s (or abs-ctl unavailable %s)", d->want_label,
	    d->name, d->name, d->want_label);
	return ok();
}

/* The cartridge mounted is not the one asked for. */
static json_t *
ev_mount_rejected(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	(void)code; (void)err;
	ctld_message(c, d, "warning", "cartridge refused: %s; still asking for %s",
	    field(data, "why", "?"), d->want_label);
	ctld_library_rejected(c, d, data);	/* a library's: marked, retry */
	return ok();
}

/* The library lacks the cartridge or it is the wrong one. */
static json_t *
ev_unavailable(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	(void)code; (void)err;
	release_reservation(c, d);
	json_array_append_new(d->skip, json_string(field(data, "label", "")));
	ctld_error_event(c, d, arg_str(data, "label"), d->job, "unavailable",
	    "%s", field(data, "why", "not available"));
	return ok();
}

/* The cartridge asked for is in the drive. */
static json_t *
ev_loaded(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	(void)data; (void)code; (void)err;
	ctld_message(c, d, "info", "%s loaded", d->want_label);
	d->want_label[0] = '\0';
	d->state = d->restoring ? "restoring" : "writing";
	return ok();
}

/* A part confirmed on tape. */
static json_t *
ev_part(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct cat_part part = {
		.dump_uid = arg_str(p, "dump"), .entity = arg_str(p, "entity"),
		.level = arg_num(p, "level", 0), .since = arg_str(p, "since"),
		.started = arg_str(p, "date"),
		.digest_alg = arg_str(p, "digest_alg"),
		.part = arg_num(p, "part", 0), .tape_id = arg_str(p, "tape_id"),
		.file = arg_num(p, "file", 0), .offset = arg_num(p, "offset", 0),
		.bytes = arg_num(p, "bytes", 0), .blocks = arg_num(p, "blocks", 0),
		.block_size = arg_num(p, "block_size", 0),
		.digest = arg_str(p, "digest"),
		.ok = strcmp(field(p, "status", ""), "ok") == 0,
		.written = arg_str(p, "written"),
	};
	char dberr[CAT_ERRLEN];
	int rc;

	if ((rc = cat_part_record(c->db, &part, d->job, dberr)) < 0) {
		cat_warn(c, d, dberr);	/* the media server does not wait */
		return cat_failed(code, err, rc, dberr);
	}
	night_part(c, d, part.dump_uid, part.tape_id);
	return json_pack("{s:b}", "recorded", 1);
}

/* The whole dump is on tape: complete once every part is recorded. */
static json_t *
ev_dump(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct cat_dump dump = {
		.dump_uid = arg_str(p, "dump"), .bytes = arg_num(p, "bytes", 0),
		.raw_bytes = arg_num(p, "raw_bytes", 0),
		.digest = arg_str(p, "digest"),
		.raw_digest = arg_str(p, "raw_digest"),
		.finished = arg_str(p, "written"),
		/* its base and where its index sits (issue 13), if sent */
		.base_uid = arg_str(p, "base"),
		.index_raw = arg_num(p, "index_raw", 0),
		.index_stored = arg_num(p, "index_stored", 0),
		.index_bytes = arg_num(p, "index_bytes", 0),
	};
	char dberr[CAT_ERRLEN];
	int rc;

	if ((rc = cat_dump_complete(c->db, &dump, arg_num(p, "part", -1),
	    dberr)) < 0) {
		cat_warn(c, d, dberr);	/* the media server does not wait */
		return cat_failed(code, err, rc, dberr);
	}
	return json_pack("{s:b}", "complete", 1);
}

/* A tape reached its end; it is no longer the drive's reservation. */
static json_t *
ev_tape_full(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc = cat_tape_full(c->db, arg_str(data, "tape_id"), dberr);

	if (strcmp(d->reserved, field(data, "tape_id", "")) == 0)
		d->reserved[0] = '\0';
	if (rc >= 0)
		night_tape_full(c, d, arg_str(data, "tape_id"));
	return rc < 0 ? cat_failed(code, err, rc, dberr) : ok();
}

/* A tape got its label. */
static json_t *
ev_tape_labelled(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc = cat_tape_labelled(c->db, arg_str(data, "tape_id"), dberr);
	(void)d;

	return rc < 0 ? cat_failed(code, err, rc, dberr) : ok();
}

/* A tape was relabelled for reuse: its old dumps are gone from tape. */
static json_t *
ev_tape_recycled(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc = cat_tape_recycled(c->db, arg_str(data, "tape_id"), dberr);

	if (rc < 0)
		return cat_failed(code, err, rc, dberr);
	ctld_message(c, d, "info", "%s recycled; its old dumps expired",
	    field(data, "label", "?"));
	return ok();
}

/* A cartridge failed: out of service, and an exception. */
static json_t *
ev_bad_tape(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int rc = cat_tape_bad(c->db, arg_str(data, "tape_id"), dberr);

	if (rc == -ENOENT)	/* no tape of ours: nothing to record */
		return cat_failed(code, err, rc, dberr);
	ctld_error_event(c, d, arg_str(data, "label"), d->job, "bad-tape", "%s",
	    field(data, "why", "cartridge failed"));
	return rc < 0 ? cat_failed(code, err, rc, dberr) : ok();
}

/* An error the media server met. */
static json_t *
ev_error(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	(void)code; (void)err;
	ctld_error_event(c, d, arg_str(data, "label"), d->job,
	    field(data, "kind", "error"), "%s", field(data, "message", "?"));
	return ok();
}

/* A read-after-write check; bad blocks are an exception. */
static json_t *
ev_verified(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int64_t bad = arg_num(data, "bad", 0);
	int rc = cat_verification_add(c->db, arg_str(data, "tape_id"),
	    arg_str(data, "dump"), "spot", arg_num(data, "checked", 0), bad,
	    dberr);

	if (bad > 0)
		ctld_error_event(c, d, NULL, ctld_verified_job(d, data),
		    "verify-mismatch",
		    "read-after-write check found %lld bad blocks on tape %s",
		    (long long)bad, field(data, "tape_id", "?"));
	return rc < 0 ? cat_failed(code, err, rc, dberr) : ok();
}

/* Bytes, rate and state of the running job. */
static json_t *
ev_progress(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	static const char *const states[] = { "writing", "verifying",
	    "unloading", "restoring", "load-media" };
	const char *st = arg_str(data, "state");
	size_t i = 0;
	(void)c;

	while (st && i < 5 && strcmp(st, states[i]) != 0)
		i++;
	if (st && i == 5)
		FAIL("bad-args", "progress event: unknown state %s", st);
	if (arg_num(data, "bytes", 0) > 0)
		d->bytes = (uint64_t)arg_num(data, "bytes", 0);
	if (json_is_number(json_object_get(data, "rate")))
		d->rate = json_number_value(json_object_get(data, "rate"));
	if (st)
		d->state = states[i];
	return ok();
}

/* A line for the drive's log. */
static json_t *
ev_message(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *level = field(data, "level", "info");

	if (strcmp(level, "info") && strcmp(level, "warning") &&
	    strcmp(level, "error"))
		FAIL("bad-args", "message event: level is info, warning or error,"
		    " not %s", level);
	ctld_message(c, d, level, "%s", field(data, "text", ""));
	return ok();
}

/* The job ended: the catalog learns how, the drive is free for the next. */
static json_t *
ev_result(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *state = json_is_true(json_object_get(data, "ok")) ? "done" :
	    json_is_true(json_object_get(data, "aborted")) ? "aborted" : "failed";
	const char *why = arg_str(data, "error");
	char dberr[CAT_ERRLEN];
	int64_t job = d->job;
	int rc;

	if (!d->job)	/* no job was handed over, or it ended already */
		FAIL("not-waiting", "drive %s runs no job", d->name);
	if (strcmp(state, "done") == 0 && json_is_true(json_object_get(data,
	    "written"))) {
		/* On tape behind an immediate filemark: done at the commit. */
		if (ctld_written_add(d, job) < 0)
			FAIL("internal", "out of memory");
		ctld_message(c, d, "info", "job %lld written, not committed yet",
		    (long long)job);
		release_reservation(c, d);
		d->job = 0;
		d->state = "idle";
		d->want_label[0] = '\0';
		ctld_library_drive_free(c, d);
		night_job_written(c, job);
		ctld_dispatch(c, d);
		return json_pack("{s:s}", "job", "uncommitted");
	}
	rc = cat_job_finish(c->db, d->job, state, why, dberr);

	ctld_message(c, d, strcmp(state, "done") ? "error" : "info",
	    "job %lld %s%s%s", (long long)d->job, state, why ? ": " : "",
	    why ? why : "");
	release_reservation(c, d);
	d->job = 0;
	d->state = "idle";
	d->want_label[0] = '\0';
	ctld_library_drive_free(c, d);	/* its fetches; a cleaning may start */
	if (rc >= 0) {
		night_job_ended(c, job, state, why);	/* its run's next dump */
		ctld_shadow_job_ended(c, job, state, why);
		ctld_archive_job_ended(c, job, state, why);
	}
	ctld_dispatch(c, d);
	return rc < 0 ? cat_failed(code, err, rc, dberr) :
	    json_pack("{s:s}", "job", state);
}

/*
 * Every event a media server sends, the data fields it reads, and whether
 * it is about the drive's job (refused, not-waiting, when it runs none).
 */
const struct ctld_event ctld_events[] = {
	{ "next-tape", ev_next_tape, "pool:s?", true },
	{ "mount-request", ev_mount_request, "label:s?", true },
	{ "mount-rejected", ev_mount_rejected, "why:s? kind:s? barcode:s?"
	    " tape_label:s? label:s?", true },
	{ "unavailable", ev_unavailable, "label:s? why:s?", true },
	{ "loaded", ev_loaded, "", true },
	{ "part", ev_part, "dump:s entity:s date:s since:s? level:i? label:s?"
	    " tape_id:s file:i part:i offset:i bytes:i blocks:i block_size:i"
	    " digest_alg:s? digest:s? status:s? written:s?", true },
	{ "dump", ev_dump, "dump:s part:i bytes:i? raw_bytes:i? digest:s?"
	    " raw_digest:s? written:s? base:s? index_raw:i? index_stored:i?"
	    " index_bytes:i?", true },
	{ "tape-full", ev_tape_full, "tape_id:s label:s?", false },
	{ "tape-labelled", ev_tape_labelled, "tape_id:s label:s?", false },
	{ "tape-recycled", ev_tape_recycled, "tape_id:s label:s?", false },
	{ "bad-tape", ev_bad_tape, "tape_id:s label:s? why:s?", false },
	{ "error", ev_error, "kind:s? label:s? message:s?", false },
	/* a commit point's (job:i names its job) may come between jobs */
	{ "verified", ev_verified, "tape_id:s dump:s checked:i bad:i job:i?",
	    false },
	{ "progress", ev_progress, "bytes:i? rate:f? state:s?", true },
	{ "message", ev_message, "level:s? text:s", false },
	{ "result", ev_result, "ok:b aborted:b? error:s? written:b?", true },
	/* commit points (control/commit.c): not about the running job */
	{ "commit", ev_commit, "lines:a settle:b?", false },
	{ "commit-failed", ev_commit_failed, "jobs:a error:s?", false },
	/* a rebuild's scan (control/rebuild.c): no job, the drive scans */
	{ "scan-tape", ev_scan_tape, "label:s tape_id:s pool:s labelled_at:s"
	    " done:b full:b? other:i?", false },
	{ "scan-part", ev_scan_part, "label:s tape_id:s dump:s entity:s"
	    " entity_type:s? server:s partition:s source_kind:s source:s"
	    " compress:s level:i job:i? date:s since:s part:i file:i offset:i"
	    " bytes:i blocks:i block_size:i digest_alg:s digest:s trailer:b"
	    " written:s? last:b stream_bytes:i? raw_bytes:i? stream_digest:s?"
	    " raw_digest:s? prev_tape_id:s? base:s? index_raw:i? index_stored:i?"
	    " index_bytes:i?", false },
	{ "scan-end", ev_scan_end, "tapes:i? error:s?", false },
	/* tape libraries (control/library.c) */
	{ "unloaded", ev_unloaded, "ok:b error:s?", false },
	{ "tapealert", ev_tapealert, "flags:s label:s?", false },
	{ "device", ev_device, "state:s node:s?", false },
	{ "scan-skipped", ev_scan_skipped, "slot:i why:s", false },
	/* archive jobs (control/archive.c) */
	{ "archive-status", ev_archive_status, "archive:s status:o", true },
	{ "archive-entries", ev_archive_entries, "archive:s entries:o", true },
};
const size_t ctld_nevents = sizeof(ctld_events) / sizeof(ctld_events[0]);

/* Whether v has an event spec's type letter. */
static bool
event_value_is(char type, json_t *v)
{
	switch (type) {
	case 's': return json_is_string(v);
	case 'i': return json_is_integer(v);
	case 'f': return json_is_number(v);
	case 'b': return json_is_boolean(v);
	case 'o': return json_is_object(v);
	case 'a': return json_is_array(v);
	}
	return false;
}

/* Check an event's data against its row (see ctld.h). */
int
ctld_event_check(const struct ctld_event *ev, json_t *data, char *err)
{
	static const char *const what[] = { "s", "a string", "i", "an integer",
	    "f", "a number", "b", "true or false", "o", "an object", "a",
	    "an array" };
	const char *p = ev->data;
	char name[64], type;
	bool opt;

	if (!json_is_object(data)) {
		snprintf(err, PROTO_ERRLEN, "%s: the event's data must be an object",
		    ev->name);
		return -EINVAL;
	}
	while (proto_spec_next(&p, name, sizeof(name), &type, &opt)) {
		json_t *v = json_object_get(data, name);
		const char *t = "?";
		if ((!v || json_is_null(v)) && opt)
			continue;	/* null is absent ("error": null) */
		if (v && event_value_is(type, v))
			continue;
		for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i += 2)
			if (what[i][0] == type)
				t = what[i + 1];
		snprintf(err, PROTO_ERRLEN, v ? "%s event: '%s' must be %s" :
		    "%s event: missing '%s' (%s)", ev->name, name, t);
		return -EINVAL;
	}
	return 0;
}

/* The row of an event by name, or NULL. */
const struct ctld_event *
ctld_event_find(const char *name)
{
	for (size_t i = 0; name && i < ctld_nevents; i++)
		if (strcmp(ctld_events[i].name, name) == 0)
			return &ctld_events[i];
	return NULL;
}
