/*
 * abs-engine as a media server: `abs-engine serve --control SOCKET --drive
 * NAME --device URI`. It registers its drive with abs-ctld, takes jobs,
 * asks the catalog for tapes, passes mount requests on, reports every part
 * as a checkpoint and the job's result, and stops at a block boundary when
 * a job is aborted. It never opens the catalog; its dump log stays the
 * local journal (crippled mode needs nothing else).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalog/dumplog.h"
#include "common/log.h"
#include "engine/engine.h"
#include "engine/tape.h"
#include "proto/proto.h"

/* How long a starting media server waits for abs-ctld's socket. */
#define SERVE_CONNECT_WAIT_MS 5000

struct srv {
	struct proto_conn *pc;
	bool abort, mounted, retry, eof;
	json_t *job;		/* a job event not yet run */
	int64_t job_id;
	unsigned mount_timeout;
};

/* A pushed event: remember what it asks for. */
static void
on_event(struct srv *s, json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));

	if (!ev)
		return;
	if (strcmp(ev, "abort") == 0)
		s->abort = true;
	else if (strcmp(ev, "mounted") == 0)
		s->mounted = true;
	else if (strcmp(ev, "retry-tape") == 0)
		s->retry = true;
	else if (strcmp(ev, "job") == 0 && !s->job)
		s->job = json_incref(m);
}

/* The event callback of proto_call and proto_hello. */
static void
event_cb(void *ctx, json_t *m)
{
	on_event(ctx, m);
}

/* Handle every event already received, waiting up to timeout_ms first. */
static void
drain_events(struct srv *s, int timeout_ms)
{
	char err[PROTO_ERRLEN];
	json_t *m;
	int rc;

	while ((rc = proto_recv(s->pc, timeout_ms, &m, err)) == 1) {
		on_event(s, m);
		json_decref(m);
		timeout_ms = 0;
	}
	if (rc < 0)
		s->eof = true;
}

/*
 * A request and its result (args taken); pushed events met on the way are
 * remembered. NULL with err set if refused or the connection is lost.
 */
static json_t *
call(struct srv *s, const char *op, json_t *args, char *err)
{
	char perr[PROTO_ERRLEN];
	json_t *rep, *r;
	int rc = proto_call(s->pc, op, args, event_cb, s, &rep, perr);

	json_decref(args);
	if (rc < 0) {
		s->eof = proto_conn_eof(s->pc) || s->eof;
		eng_err(err, "%s", rc == -ECONNRESET ?
		    "abs-ctld closed the connection" : perr);
		return NULL;
	}
	if (!proto_reply_ok(rep)) {
		eng_err(err, "abs-ctld: %s", proto_reply_error(rep));
		json_decref(rep);
		return NULL;
	}
	r = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	return r ? r : json_null();
}

/* An engine-event request; its result or NULL with err. */
static json_t *
event_call(struct srv *s, const char *event, json_t *data, char *err)
{
	return call(s, "engine-event", json_pack("{s:s,s:o}", "event", event,
	    "data", data ? data : json_object()), err);
}

/* A dump-log record as an event's data. */
static json_t *
rec_json(const struct cat_dl_rec *r)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:i,s:I,s:I,s:I,"
	    "s:i,s:s,s:s,s:s,s:I,s:s}",
	    "dump", r->dump_id, "entity", r->entity, "date", r->date,
	    "since", r->since, "level", r->level, "label", r->label,
	    "tape_id", r->tape_id, "file", (json_int_t)r->file, "part", r->part,
	    "offset", (json_int_t)r->offset, "bytes", (json_int_t)r->bytes,
	    "blocks", (json_int_t)r->blocks, "block_size", (int)r->block_size,
	    "digest_alg", r->digest_alg, "digest", r->digest, "status", r->status,
	    "raw_bytes", (json_int_t)r->raw_bytes, "raw_digest", r->raw_digest);
}

/* Hook: the catalog's choice of the next tape. */
static int
h_next_tape(void *ctx, const char *pool, char *label, size_t llen,
    char *tape_id, size_t tlen, bool *blank, bool *recycle, char *err)
{
	struct srv *s = ctx;
	json_t *r;

	s->retry = false;
	r = event_call(s, "next-tape", json_pack("{s:s}", "pool", pool ? pool :
	    "default"), err);
	if (!r)
		return -ENOSPC;
	snprintf(label, llen, "%s", json_string_value(json_object_get(r, "label")));
	snprintf(tape_id, tlen, "%s", json_string_value(json_object_get(r,
	    "tape_id")));
	*blank = json_integer_value(json_object_get(r, "ever_written")) == 0;
	*recycle = json_integer_value(json_object_get(r, "recycle")) == 1;
	json_decref(r);
	return 0;
}

/* Hook: ask for a cartridge; wait for mounted, another tape or abort. */
static int
h_mount(void *ctx, const char *label, char *err)
{
	struct srv *s = ctx;
	time_t deadline = time(NULL) + (s->mount_timeout ? s->mount_timeout : 86400);
	json_t *r;

	s->mounted = s->retry = false;
	r = event_call(s, "mount-request", json_pack("{s:s}", "label", label), err);
	if (!r)
		return -EIO;
	json_decref(r);
	while (!s->mounted && !s->retry && !s->abort) {
		if (time(NULL) >= deadline) {
			eng_err(err, "nobody mounted %s", label);
			return -ETIMEDOUT;
		}
		drain_events(s, 1000);
		if (s->eof) {
			eng_err(err, "abs-ctld closed the connection");
			return -EIO;
		}
	}
	if (s->abort) {
		eng_err(err, "aborted by the operator while waiting for %s", label);
		return -ECANCELED;
	}
	return s->retry ? 1 : 0;
}

/* Hook: a part, dump, tape or error event for the catalog. */
static int
h_event(void *ctx, const char *event, const struct cat_dl_rec *rec,
    const char *label, const char *tape_id, const char *why)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];
	json_t *data = rec ? rec_json(rec) : json_object(), *r;

	if (label)
		json_object_set_new(data, "label", json_string(label));
	if (tape_id)
		json_object_set_new(data, "tape_id", json_string(tape_id));
	if (why)
		json_object_set_new(data, "why", json_string(why));
	if (strcmp(event, "error") == 0 && why)
		json_object_set_new(data, "message", json_string(why));
	r = event_call(s, event, data, err);
	if (!r) {
		log_warn("%s", err);
		return -1;
	}
	json_decref(r);
	return 0;
}

/* Hook: bytes, rate and state for abs-ctl status. */
static void
h_progress(void *ctx, uint64_t bytes, double rate, const char *state)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];
	json_t *r = event_call(s, "progress", json_pack("{s:I,s:f,s:s}", "bytes",
	    (json_int_t)bytes, "rate", rate, "state", state), err);

	json_decref(r);
}

/* Hook: a read-after-write check's counts. */
static void
h_verified(void *ctx, const char *dump_id, const char *tape_id,
    uint64_t checked, uint64_t bad)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];
	json_t *r = event_call(s, "verified", json_pack("{s:s,s:s,s:I,s:I}",
	    "dump", dump_id, "tape_id", tape_id, "checked", (json_int_t)checked,
	    "bad", (json_int_t)bad), err);

	json_decref(r);
}

/* Hook: whether the operator aborted the job. */
static bool
h_aborted(void *ctx)
{
	struct srv *s = ctx;

	if (!s->abort)
		drain_events(s, 0);
	return s->abort;
}

/* Where a restore job's parts are written for the restore code to read. */
static int
write_parts_log(const char *path, json_t *job, char *err)
{
	json_t *detail = json_loads(json_string_value(json_object_get(job,
	    "detail")), 0, NULL), *parts, *p;
	const char *entity = json_string_value(json_object_get(job, "entity"));
	struct cat_dl_rec rec;
	size_t i;
	int rc = 0;

	parts = json_object_get(detail, "parts");
	if (!json_array_size(parts)) {
		eng_err(err, "restore job without parts");
		json_decref(detail);
		return -EINVAL;
	}
	unlink(path);
	json_array_foreach(parts, i, p) {
		memset(&rec, 0, sizeof(rec));
		rec.type = CAT_DL_PART;
		snprintf(rec.dump_id, sizeof(rec.dump_id), "%s",
		    json_string_value(json_object_get(detail, "dump")));
		snprintf(rec.entity, sizeof(rec.entity), "%s", entity);
		snprintf(rec.label, sizeof(rec.label), "%s",
		    json_string_value(json_object_get(p, "label")));
		snprintf(rec.tape_id, sizeof(rec.tape_id), "%s",
		    json_string_value(json_object_get(p, "tape_id")));
		snprintf(rec.digest, sizeof(rec.digest), "%s",
		    json_string_value(json_object_get(p, "digest")));
		snprintf(rec.date, sizeof(rec.date), "-");
		snprintf(rec.status, sizeof(rec.status), "ok");
		rec.part = (unsigned)json_integer_value(json_object_get(p, "part"));
		rec.file = (uint64_t)json_integer_value(json_object_get(p, "file"));
		rec.offset = (uint64_t)json_integer_value(json_object_get(p, "offset"));
		rec.bytes = (uint64_t)json_integer_value(json_object_get(p, "bytes"));
		rec.blocks = (uint64_t)json_integer_value(json_object_get(p, "blocks"));
		rec.block_size = (uint32_t)json_integer_value(json_object_get(p,
		    "block_size"));
		if ((rc = cat_dl_append(path, &rec)) < 0)
			break;
	}
	if (rc == 0) {
		rec.type = CAT_DL_DUMP;
		rec.part = (unsigned)json_array_size(parts);
		rec.offset = 0;
		snprintf(rec.status, sizeof(rec.status), "complete");
		p = json_array_get(parts, 0);
		snprintf(rec.label, sizeof(rec.label), "%s",
		    json_string_value(json_object_get(p, "label")));
		snprintf(rec.tape_id, sizeof(rec.tape_id), "%s",
		    json_string_value(json_object_get(p, "tape_id")));
		rec.file = (uint64_t)json_integer_value(json_object_get(p, "file"));
		rc = cat_dl_append(path, &rec);
	}
	if (rc < 0)
		eng_err(err, "%s: %s", path, strerror(-rc));
	json_decref(detail);
	return rc;
}

/* Run one job abs-ctld handed us: a dump or a restore. */
static int
run_job(struct srv *s, const struct eng_hooks *hooks, const char *device,
    const char *log, uint32_t bs, json_t *job, char *err)
{
	const char *kind = json_string_value(json_object_get(job, "kind"));
	const char *entity = json_string_value(json_object_get(job, "entity"));
	const char *detail = json_string_value(json_object_get(job, "detail"));

	if (kind && strcmp(kind, "dump") == 0) {
		struct eng_dump_opts o = { 0 };
		struct eng_dump_result res;
		int level = 0;
		if (detail)
			sscanf(detail, "level=%d", &level);
		o.device = device;
		o.entity = entity;
		o.source = json_string_value(json_object_get(job, "source"));
		o.pool = json_string_value(json_object_get(job, "pool"));
		o.log = log;
		o.block_size = bs;
		o.level = level;
		o.since = level > 0 ? json_string_value(json_object_get(job,
		    "last_full")) : NULL;
		if (level > 0 && !o.since)
			o.level = 0;	/* no full yet: this one is the full */
		o.verify_rate = 0.01;
		o.retries = 1;
		o.hooks = hooks;
		int rc = eng_dump(&o, &res, err);
		if (rc == 0)
			log_info("job %lld: dumped %s, %llu bytes, %u parts",
			    (long long)s->job_id, entity,
			    (unsigned long long)res.bytes, res.parts);
		return rc;
	}
	if (kind && strcmp(kind, "restore") == 0) {
		json_t *d = json_loads(detail ? detail : "{}", 0, NULL);
		char plog[512], to[1024];
		const char *dir = getenv("ABS_RUN_DIR") ? getenv("ABS_RUN_DIR") : "/tmp";
		struct eng_restore_opts o = { 0 };
		struct eng_restore_result res;
		int rc;
		snprintf(plog, sizeof(plog), "%s/abs-restore-job-%lld.log", dir,
		    (long long)s->job_id);
		const char *t = json_string_value(json_object_get(d, "to"));
		if (t && *t)
			snprintf(to, sizeof(to), "%s", t);
		else
			snprintf(to, sizeof(to), "/var/tmp/abs-restore/%s",
			    json_string_value(json_object_get(d, "as")));
		json_decref(d);
		if ((rc = write_parts_log(plog, job, err)) < 0)
			return rc;
		o.device = device;
		o.entity = entity;
		o.log = plog;
		o.to = to;
		o.file = -1;
		o.hooks = hooks;
		rc = eng_restore(&o, &res, err);
		unlink(plog);
		if (rc == 0)
			log_info("job %lld: restored %s to %s, %llu bytes",
			    (long long)s->job_id, entity, to,
			    (unsigned long long)res.raw_bytes);
		return rc;
	}
	eng_err(err, "unknown job kind %s", kind ? kind : "?");
	return -EINVAL;
}

/*
 * Report what the journal holds: parts and dumps written while abs-ctld was
 * away reach the catalog now (merge is idempotent, so the whole journal is
 * sent; abs-ctld skips what it knows).
 */
static void
report_journal(struct srv *s, const char *log)
{
	FILE *fp = fopen(log, "r");
	json_t *lines = json_array(), *r;
	char *line = NULL, err[ENG_ERRLEN];
	size_t cap = 0, chunk = 0;
	ssize_t n;
	int parts = 0, dumps = 0;

	if (!fp) {
		json_decref(lines);
		return;
	}
	for (;;) {
		n = getline(&line, &cap, fp);
		if (n > 0 && n < 4000) {
			line[strcspn(line, "\n")] = '\0';
			json_array_append_new(lines, json_string(line));
			chunk += (size_t)n + 8;
		}
		if ((n <= 0 || chunk > 48 * 1024) && json_array_size(lines)) {
			r = call(s, "merge", json_pack("{s:O}", "lines", lines), err);
			if (!r) {
				log_warn("journal %s not reported: %s", log, err);
				break;
			}
			parts += (int)json_integer_value(json_object_get(r, "parts"));
			dumps += (int)json_integer_value(json_object_get(r, "dumps"));
			json_decref(r);
			json_array_clear(lines);
			chunk = 0;
		}
		if (n <= 0)
			break;
	}
	if (parts || dumps)
		log_warn("journal %s: %d parts and %d dumps abs-ctld did not know "
		    "are in the catalog now", log, parts, dumps);
	free(line);
	fclose(fp);
	json_decref(lines);
}

/*
 * Connect (waiting a little for a daemon that is starting), shake hands,
 * register the drive with this protocol's version. 0, or a negative errno
 * with err set: a version mismatch names both versions.
 */
static int
serve_register(struct srv *s, const char *socket_path, const char *drive,
    const char *device, char *err)
{
	char perr[PROTO_ERRLEN];
	json_t *r;
	int rc;

	if ((rc = proto_connect(socket_path, SERVE_CONNECT_WAIT_MS, &s->pc,
	    perr)) < 0) {
		eng_err(err, "%s", perr);
		return -ECONNREFUSED;
	}
	if ((rc = proto_hello(s->pc, "abs-engine", event_cb, s, perr)) < 0) {
		eng_err(err, "%s", perr);
		return rc == -EPROTO ? -EPROTO : -ECONNRESET;
	}
	r = call(s, "engine-register", json_pack("{s:s,s:s,s:i}", "drive", drive,
	    "device", device, "version", PROTO_VERSION), err);
	if (!r)
		return -EPERM;
	json_decref(r);
	return 0;
}

/* The media server (see engine.h): register, then run jobs until EOF. */
int
eng_serve(const char *socket_path, const char *drive, const char *device,
    const char *log, uint32_t bs, char *err)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct eng_hooks hooks = {
		.ctx = s, .next_tape = h_next_tape, .mount = h_mount,
		.event = h_event, .progress = h_progress, .aborted = h_aborted,
		.verified = h_verified,
	};
	json_t *r;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	if ((rc = serve_register(s, socket_path, drive, device, err)) < 0) {
		json_decref(s->job);
		proto_conn_free(s->pc);
		free(s);
		return rc;
	}
	report_journal(s, log);
	log_warn("serving drive %s (%s) for abs-ctld at %s", drive, device,
	    socket_path);
	while (!s->eof) {
		if (!s->job) {
			drain_events(s, 1000);
			continue;
		}
		json_t *job = s->job;
		s->job = NULL;
		s->abort = false;
		s->job_id = json_integer_value(json_object_get(job, "job"));
		char jerr[ENG_ERRLEN] = "";
		rc = run_job(s, &hooks, device, log, bs, job, jerr);
		json_decref(job);
		if (rc < 0)
			log_warn("job %lld: %s", (long long)s->job_id, jerr);
		r = event_call(s, "result", json_pack("{s:b,s:b,s:s?}", "ok", rc == 0,
		    "aborted", rc == -ECANCELED, "error", rc < 0 ? jerr : NULL), err);
		json_decref(r);
	}
	/* Not a clean end: a supervisor (systemd) should start us again. */
	eng_err(err, "abs-ctld closed the connection; media server for %s stops",
	    drive);
	json_decref(s->job);
	proto_conn_free(s->pc);
	free(s);
	return -ECONNRESET;
}
