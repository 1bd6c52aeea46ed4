/*
 * Requests and engine events in crippled mode: the rows of the one
 * request table it can serve without the catalog, from its journal
 * directory; every other row answers "not available in crippled mode".
 * Only blank tapes are labelled (with generated labels) and only tapes it
 * labelled are appended to: every other ABS-labelled tape is unknown
 * media, refused by the engine, and another is asked for.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/safefile.h"
#include "common/util.h"
#include "control/crippled_int.h"

/* Their short names in this file (handlers_int.h). */
#define field(d, k, dflt) ctld_field(d, k, dflt)
#define ok() ctld_ok()

/* A drive's live state, as status shows it in normal mode. */
static json_t *
drive_json(struct drive *d)
{
	double secs = d->job ? (double)time(NULL) - d->started : 0;

	return json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:f,s:f,s:n,s:s,s:O}",
	    "drive", d->name, "device", d->device, "state", d->state,
	    "job", (json_int_t)d->job, "entity", d->job ? d->entity : "",
	    "bytes", (json_int_t)d->bytes, "rate_mbs", d->rate,
	    "seconds", secs, "eta_seconds", "wants", d->want_label,
	    "messages", d->msgs);
}

/* A crippled job as jobs and status show it. */
static json_t *
job_json(const struct cjob *j)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "id",
	    (json_int_t)j->id, "kind", j->kind, "state", j->state, "entity",
	    j->entity, "drive", j->drive, "created", j->created, "started",
	    j->started[0] ? json_string(j->started) : json_null(), "finished",
	    j->finished[0] ? json_string(j->finished) : json_null(), "detail",
	    j->detail);
}

static json_t *
c_status(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *drives = json_array(), *queued = json_array();
	struct cjob *j;
	(void)cl; (void)a; (void)code; (void)err;

	for (struct drive *d = c->drives; d; d = d->next)
		json_array_append_new(drives, drive_json(d));
	for (j = c->crip->jobs; j; j = j->next)
		if (strcmp(j->state, "queued") == 0)
			json_array_insert_new(queued, 0, json_pack("{s:I,s:s,s:s,s:s}",
			    "id", (json_int_t)j->id, "kind", j->kind, "entity",
			    j->entity, "drive", j->drive));
	return json_pack("{s:o,s:o,s:{s:s,s:s,s:s}}", "drives", drives, "queued",
	    queued, "crippled", "since", c->crip->since, "why", c->crip->why,
	    "journal", c->crip->dir);
}

static json_t *
c_jobs(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t n = arg_num(a, "count", 20);
	json_t *r = json_array();
	(void)cl; (void)code; (void)err;

	for (struct cjob *j = c->crip->jobs; j && n > 0; j = j->next, n--)
		json_array_append_new(r, job_json(j));
	return r;
}

/* One tape's use by the entity, for tapes-for. */
struct use {
	char label[64], tape_id[33], oldest[32], newest[32];
	int64_t parts;
};

/*
 * What tapes-for reads of the dump logs, so that none (huge, growing, a
 * FIFO or a device under a dump log's name) holds the loop for long: a
 * regular file's last GREP_FILE_MAX bytes (its newest lines), at most
 * GREP_TOTAL_MAX bytes and GREP_FILES_MAX files a request, lines up to
 * GREP_LINE_MAX bytes.
 */
#define GREP_FILE_MAX (64 << 20)
#define GREP_TOTAL_MAX (256 << 20)
#define GREP_FILES_MAX 256
#define GREP_LINE_MAX 8192

/* What tapes-for skipped, said once per abs-ctld (journal and log). */
static void
grep_skipped(struct ctld *c, const char *path, const char *what)
{
	static json_t *said;	/* what was said: a root, not a leak */
	char key[PATH_MAX + 128];

	snprintf(key, sizeof(key), "%s: %s", path, what);
	if (!said && !(said = json_object()))
		return;
	if (json_object_get(said, key))
		return;
	if (json_object_size(said) < 1024)
		json_object_set_new(said, key, json_true());
	ctld_message(c, NULL, "warning", "tapes-for: %s", key);
}

/* Where to start reading fp (size bytes): its last GREP_FILE_MAX bytes. */
static off_t
grep_start(struct ctld *c, FILE *fp, const char *path, off_t size,
    char *line)
{
	off_t from = size > GREP_FILE_MAX ? size - GREP_FILE_MAX : 0;

	if (from && fseeko(fp, from - 1, SEEK_SET) == 0) {
		grep_skipped(c, path, "larger than 64 MiB: only its last 64 MiB are "
		    "searched");
		sf_getline(fp, line, GREP_LINE_MAX);	/* to a line's start */
	}
	return ftello(fp);
}

/*
 * The parts of one dump log: part lines of the entity, complete dumps;
 * *budget is what this request may still read.
 */
static void
scan_log(struct ctld *c, const char *path, bool own, const char *entity,
    json_t *parts, json_t *done, off_t *budget)
{
	FILE *fp = sf_fopen_regular(path, own);
	struct cat_dl_rec r;
	struct stat sb;
	char *line;
	off_t from;
	ssize_t n;
	bool cut = false;

	if (!fp) {
		if (errno != ENOENT)
			grep_skipped(c, path, sf_strerror(-errno));
		return;
	}
	if (!(line = malloc(GREP_LINE_MAX)) || fstat(fileno(fp), &sb) < 0) {
		free(line);
		fclose(fp);
		return;
	}
	from = grep_start(c, fp, path, sb.st_size, line);
	while ((n = sf_getline(fp, line, GREP_LINE_MAX)) != 0) {
		if (ftello(fp) - from > *budget) {
			grep_skipped(c, path, "not searched to its end: tapes-for reads "
			    "at most 256 MiB of dump logs a request");
			break;
		}
		if (n < 0) {
			cut = true;
			continue;
		}
		if (!strstr(line, entity) || cat_dl_parse(line, &r) < 0 ||
		    strcmp(r.entity, entity) != 0)
			continue;
		if (r.type == CAT_DL_PART)
			json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:s}",
			    "dump", r.dump_id, "label", r.label, "tape_id", r.tape_id,
			    "date", r.date));
		else if (r.type == CAT_DL_DUMP && strcmp(r.status, "complete") == 0)
			json_object_set_new(done, r.dump_id, json_true());
	}
	if (cut)
		grep_skipped(c, path, "lines longer than 8192 bytes skipped");
	*budget -= ftello(fp) - from;
	if (*budget < 0)
		*budget = 0;
	free(line);
	fclose(fp);
}

/* Whether a file in the journal directory is a dump log to read. */
static bool
is_dumplog(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "dumplog") == 0 ||
	    (n > 8 && strcmp(name + n - 8, ".dumplog") == 0);
}

/* Add a part of a complete dump to its tape's use (uses: an array). */
static void
count_use(struct use *uses, size_t *n, size_t max, json_t *p)
{
	const char *label = field(p, "label", ""), *date = field(p, "date", "");
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(uses[i].tape_id, field(p, "tape_id", "")) == 0)
			break;
	if (i == *n) {
		if (*n == max)
			return;
		memset(&uses[i], 0, sizeof(uses[i]));
		snprintf(uses[i].label, sizeof(uses[i].label), "%s", label);
		snprintf(uses[i].tape_id, sizeof(uses[i].tape_id), "%s",
		    field(p, "tape_id", ""));
		snprintf(uses[i].oldest, sizeof(uses[i].oldest), "%s", date);
		(*n)++;
	}
	uses[i].parts++;
	if (strcmp(date, uses[i].oldest) < 0)
		snprintf(uses[i].oldest, sizeof(uses[i].oldest), "%s", date);
	if (strcmp(date, uses[i].newest) > 0)
		snprintf(uses[i].newest, sizeof(uses[i].newest), "%s", date);
}

/*
 * tapes-for, grep-like over the dump logs in the journal directory (its
 * own, and any NAME.dumplog put there): the tapes holding complete dumps.
 */
static json_t *
c_tapes_for(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity");
	json_t *parts = json_array(), *done = json_object(), *r, *p;
	struct use uses[256];
	size_t n = 0, i, files = 0;
	off_t budget = GREP_TOTAL_MAX;
	struct dirent *de;
	DIR *dir = opendir(c->crip->dir);
	(void)cl;

	if (!dir) {
		json_decref(parts);
		json_decref(done);
		FAIL("internal", "%.200s: %s", c->crip->dir, strerror(errno));
	}
	while ((de = readdir(dir))) {
		char path[PATH_MAX];
		if (!is_dumplog(de->d_name) || snprintf(path, sizeof(path), "%s/%s",
		    c->crip->dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (++files > GREP_FILES_MAX) {
			grep_skipped(c, c->crip->dir, "more than 256 dump logs: the "
			    "others are not searched");
			break;
		}
		/* Its own dump log is never a symlink; one put there may be. */
		scan_log(c, path, strcmp(de->d_name, "dumplog") == 0, entity,
		    parts, done, &budget);
	}
	closedir(dir);
	json_array_foreach(parts, i, p)
		if (json_object_get(done, field(p, "dump", "")))
			count_use(uses, &n, sizeof(uses) / sizeof(uses[0]), p);
	json_decref(parts);
	json_decref(done);
	r = json_array();
	for (i = 0; i < n; i++) {
		struct ctape *t = crip_tape_by_id(c->crip, uses[i].tape_id);
		json_array_append_new(r, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}",
		    "label", uses[i].label, "tape_id", uses[i].tape_id, "state",
		    t ? t->state : "unknown", "pool", t ? t->pool : "?", "parts",
		    (json_int_t)uses[i].parts, "oldest", uses[i].oldest, "newest",
		    uses[i].newest));
	}
	(void)code; (void)err;
	return r;
}

/* The drive named in a request, with its media server; NULL with code. */
static struct drive *
live_drive(struct ctld *c, json_t *a, const char **code, char *err)
{
	struct drive *d = ctld_drive(c, arg_str(a, "drive"), false);

	if (!d || !d->engine) {
		*code = PROTO_E_NO_DRIVE;
		snprintf(err, PROTO_ERRLEN, "drive %s has no media server connected",
		    arg_str(a, "drive"));
		return NULL;
	}
	return d;
}

/*
 * Queue dumps of entities ({"name", "source"?} each) on d: the source the
 * listing gave, else the cached catalog's. All or none.
 */
json_t *
crip_dump_entities(struct ctld *c, struct client *cl, struct drive *d,
    json_t *ents, int64_t level, const char **code, char *err)
{
	json_t *e, *ids;
	size_t i;

	if (level < 0 || level > 9)
		FAIL("bad-args", "level must be 0..9");
	json_array_foreach(ents, i, e) {
		json_t *known = crip_entity(c->crip, field(e, "name", ""));
		if (!arg_str(e, "source") && (!known ||
		    json_integer_value(json_object_get(known, "active")) == 0))
			FAIL("not-found", "no active entity %.64s in the catalog "
			    "cache (%.60s/catalog-cache.json): crippled mode dumps "
			    "what the catalog had", field(e, "name", "?"),
			    c->crip->dir);
	}
	ids = json_array();
	json_array_foreach(ents, i, e) {
		json_t *known = crip_entity(c->crip, field(e, "name", ""));
		const char *lf = level > 0 ? field(known, "last_full", NULL) : NULL;
		struct cjob *j = crip_job_add(c->crip, "dump", d->name,
		    field(e, "name", ""), field(e, "source", field(known, "source",
		    "")), field(known, "pool", "default"), lf, lf ? (int)level : 0,
		    (int64_t)cl->uid, err);
		if (!j) {
			json_decref(ids);
			*code = PROTO_E_INTERNAL;
			return NULL;
		}
		json_array_append_new(ids, json_integer((json_int_t)j->id));
	}
	ctld_dispatch(c, d);
	return json_pack("{s:o,s:b}", "jobs", ids, "crippled", 1);
}

static json_t *
c_dump(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = live_drive(c, a, code, err);
	json_t *ents, *e, *r;
	size_t i;

	if (!d)
		return NULL;
	ents = json_array();
	json_array_foreach(json_object_get(a, "entities"), i, e)
		json_array_append_new(ents, json_pack("{s:O}", "name", e));
	r = crip_dump_entities(c, cl, d, ents, arg_num(a, "level", 0), code, err);
	json_decref(ents);
	return r;
}

static json_t *
c_abort(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t id = arg_num(a, "job", 0);
	struct cjob *j = crip_job(c->crip, id);
	json_t *ev;

	for (struct drive *d = c->drives; d; d = d->next)
		if (d->job == id && d->engine) {
			ev = json_pack("{s:s,s:I}", "event", "abort", "job",
			    (json_int_t)id);
			ctld_send(d->engine, ev);
			json_decref(ev);
			ctld_message(c, d, "warning", "job %lld: abort requested by"
			    " uid %u", (long long)id, (unsigned)cl->uid);
			return json_pack("{s:I,s:s}", "job", (json_int_t)id, "state",
			    "aborting");
		}
	if (j && strcmp(j->state, "queued") == 0) {
		crip_job_state(c->crip, j, "aborted", NULL);
		return json_pack("{s:I,s:s}", "job", (json_int_t)id, "state",
		    "aborted");
	}
	FAIL("not-found", "job %lld is neither queued nor running", (long long)id);
}

/* An adopted job's origin: SITE:ID of the master that started it. */
static void
report_origin(json_t *rep, char *buf, size_t len)
{
	snprintf(buf, len, "%.64s:%lld", field(rep, "site", ""),
	    (long long)arg_num(rep, "id", 0));
}

/*
 * The crippled-mode job a media server's report names: one of ours (its
 * ID, and our site or none), or one adopted before (the same origin: a
 * media server that registers again), or NULL.
 */
static struct cjob *
crip_reported(struct ctld *c, json_t *rep)
{
	int64_t id = arg_num(rep, "id", 0);
	const char *site = field(rep, "site", "");
	char origin[96];

	if (id > CRIP_JOB_BASE && (!site[0] || !strcmp(site, c->crip->site)) &&
	    crip_job(c->crip, id))
		return crip_job(c->crip, id);
	if (!site[0])
		return NULL;
	report_origin(rep, origin, sizeof(origin));
	for (struct cjob *j = c->crip->jobs; j; j = j->next)
		if (strcmp(j->origin, origin) == 0)
			return j;
	return NULL;
}

/*
 * A registering media server's job report (see control/recover.c): a
 * running job is resumed if it is one of ours or adopted before, else
 * adopted under a new crippled-mode ID; one that ended is journalled.
 * The job the drive runs now, or 0.
 */
static int64_t
crip_adopt(struct ctld *c, struct drive *d, json_t *rep)
{
	int64_t id = arg_num(rep, "id", 0);
	const char *state = field(rep, "state", "running");
	struct cjob *j = crip_reported(c, rep);
	bool known = j != NULL;
	char err[PROTO_ERRLEN], detail[160], origin[96];

	if (strcmp(state, "running") != 0) {
		if (j)
			crip_job_state(c->crip, j, state, arg_str(rep, "error"));
		else
			crip_journal(c->crip, json_pack("{s:s,s:I,s:s,s:s?,s:s?,s:s}",
			    "rec", "report", "id", (json_int_t)id, "state", state,
			    "site", arg_str(rep, "site"), "entity", arg_str(rep,
			    "entity"), "drive", d->name));
		ctld_message(c, d, "info", "job %lld %s while abs-ctld was away",
		    (long long)id, state);
		return 0;
	}
	if (!j) {
		snprintf(detail, sizeof(detail), "adopted: job %lld of master %.64s",
		    (long long)id, field(rep, "site", "unknown"));
		report_origin(rep, origin, sizeof(origin));
		if (!(j = crip_job_add(c->crip, field(rep, "kind", "dump"), d->name,
		    field(rep, "entity", "?"), "", "default", NULL, 0, 0, err)))
			return 0;
		if (field(rep, "site", "")[0])
			crip_job_origin(c->crip, j, origin);
		crip_job_state(c->crip, j, "running", detail);
	} else if (strcmp(j->state, "running") != 0) {
		crip_job_state(c->crip, j, "running", NULL);
	}
	d->job = j->id;
	d->bytes = (uint64_t)arg_num(rep, "bytes", 0);
	d->rate = 0;
	d->estimate = 0;
	d->started = (double)time(NULL);
	d->restoring = strcmp(j->kind, "restore") == 0;
	d->state = d->restoring ? "restoring" : "writing";
	snprintf(d->entity, sizeof(d->entity), "%s", j->entity);
	json_array_clear(d->skip);
	ctld_message(c, d, "info", "job %lld: %s %s %s, reported by its media "
	    "server (crippled mode)", (long long)j->id, j->kind, j->entity,
	    known ? "resumed" : "adopted");
	return j->id;
}

/* A media server registers its drive (no catalog to tell). */
static json_t *
c_engine_register(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	json_t *rep = json_object_get(a, "job");
	struct drive *d;
	int64_t job;
	bool again;

	if (!(d = ctld_register_drive(c, cl, a, &again, code, err)))
		return NULL;
	if (again)
		return json_pack("{s:s,s:I,s:b}", "drive", d->name, "job",
		    (json_int_t)d->job, "crippled", 1);
	d->engine = cl;
	cl->drive = d;
	snprintf(d->device, sizeof(d->device), "%s", arg_str(a, "device"));
	if (d->job && (!rep || (arg_num(rep, "id", 0) != d->job &&
	    (!crip_reported(c, rep) || crip_reported(c, rep)->id != d->job)))) {
		crip_job_lost(c, d, "its media server came back without it");
		d->job = 0;
	}
	d->orphaned = 0;
	d->want_label[0] = '\0';
	job = rep ? crip_adopt(c, d, rep) : 0;
	if (!job) {
		d->job = 0;
		d->state = "idle";
	}
	ctld_message(c, d, "warning", "media server pid %d on %s (crippled "
	    "mode: only blank tapes, labelled %s...)", (int)cl->pid, d->device,
	    c->crip->prefix);
	ctld_dispatch(c, d);
	return json_pack("{s:s,s:I,s:b}", "drive", d->name, "job",
	    (json_int_t)job, "crippled", 1);
}

/* Whether the drive's job was told the label is unavailable. */
static bool
skipped(struct drive *d, const char *label)
{
	json_t *s;
	size_t i;

	json_array_foreach(d->skip, i, s)
		if (strcmp(json_string_value(s), label) == 0)
			return true;
	return false;
}

/*
 * The answer to next-tape. A blank tape may also be any blank cartridge a
 * library holds, labelled with its barcode ("barcode": a library's media
 * server picks one, never one of "avoid": the labels crippled mode wrote
 * and those refused in this job), since a library cannot load a label
 * crippled mode made up.
 */
static json_t *
next_tape_reply(struct ctld *c, struct drive *d, const struct ctape *pick)
{
	bool blank = strcmp(pick->state, "offered") == 0;
	json_t *avoid = json_array(), *s;
	size_t i;

	for (struct ctape *t = c->crip->tapes; t && blank; t = t->next)
		json_array_append_new(avoid, json_string(t->label));
	json_array_foreach(d->skip, i, s)
		if (blank)
			json_array_append(avoid, s);
	return json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:o}", "label",
	    pick->label, "tape_id", pick->tape_id, "state", blank ? "blank" :
	    "appendable", "bytes", 0, "ever_written", blank ? 0 : 1, "recycle",
	    0, "barcode", blank, "avoid", avoid);
}

/*
 * The next tape in crippled mode: a tape it labelled that has room (in
 * the pool, not in another drive), else a label it generated and offered
 * before, else a new generated label for a blank tape.
 */
static json_t *
ev_next_tape(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *pool = field(data, "pool", "default");
	struct ctape *t, *pick = NULL;

	for (int pass = 0; pass < 2 && !pick; pass++)
		for (t = c->crip->tapes; t && !pick; t = t->next)
			if (strcmp(t->state, pass ? "offered" : "appendable") == 0 &&
			    strcmp(t->pool, pool) == 0 && !skipped(d, t->label) &&
			    (!t->drive[0] || strcmp(t->drive, d->name) == 0))
				pick = t;
	if (!pick) {
		/* A blank tape refused once: another label would not help. */
		json_t *s;
		size_t i;
		json_array_foreach(d->skip, i, s) {
			t = crip_tape_by_label(c->crip, json_string_value(s));
			if (t && strcmp(t->state, "offered") == 0) {
				ctld_error_event(c, d, NULL, d->job, "no-tape", "crippled "
				    "mode: no blank tape for %s (a library cannot load a "
				    "generated label: mount blank tapes by hand)", t->label);
				FAIL(PROTO_E_NO_TAPE, "crippled mode: no blank tape (%.64s "
				    "was unavailable)", t->label);
			}
		}
	}
	if (!pick && !(pick = crip_tape_new(c->crip, pool, d->name, err))) {
		*code = PROTO_E_NO_TAPE;
		return NULL;
	}
	snprintf(pick->drive, sizeof(pick->drive), "%s", d->name);
	snprintf(d->want_label, sizeof(d->want_label), "%s", pick->label);
	d->state = "load-media";
	ctld_message(c, d, "info", "crippled mode: %s for %s", strcmp(pick->state,
	    "offered") ? "appending to" : "a blank tape to be labelled",
	    pick->label);
	return next_tape_reply(c, d, pick);
}

/* The cartridge mounted is not the one asked for: unknown media. */
static json_t *
ev_mount_rejected(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	(void)code; (void)err;
	ctld_message(c, d, "warning", "cartridge refused: unknown media in "
	    "crippled mode (%s); still asking for %s, a blank tape", field(data,
	    "why", "?"), d->want_label);
	return ok();
}

/* A tape's new state in the active-tapes file (a catalog tape: journal). */
static json_t *
tape_state(struct ctld *c, struct drive *d, json_t *data, const char *state)
{
	struct ctape *t = crip_tape_by_id(c->crip, arg_str(data, "tape_id"));

	crip_journal(c->crip, json_pack("{s:s,s:s,s:s?,s:s,s:s}", "rec", "tape",
	    "tape_id", field(data, "tape_id", ""), "label", arg_str(data,
	    "label"), "state", state, "drive", d->name));
	if (!t)
		return ok();
	snprintf(t->state, sizeof(t->state), "%s", state);
	if (strcmp(state, "appendable") != 0)
		t->drive[0] = '\0';
	return crip_tapes_save(c->crip) < 0 ? NULL : ok();
}

/*
 * A blank tape labelled: with the label offered (the operator writes it
 * on the sticker), or in a library with the cartridge's barcode (the
 * entry takes that label: its physical one).
 */
static json_t *
ev_tape_labelled(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	struct ctape *t = crip_tape_by_id(c->crip, arg_str(data, "tape_id"));
	const char *label = field(data, "label", "?");
	bool barcode = t && strcmp(t->label, label) != 0 &&
	    cat_name_valid(label) && !crip_tape_by_label(c->crip, label);
	json_t *r;

	if (barcode) {
		snprintf(t->label, sizeof(t->label), "%s", label);
		t->barcode = true;
	}
	if (!(r = tape_state(c, d, data, "appendable")))
		FAIL("internal", "cannot write %.200s/active-tapes", c->crip->dir);
	if (barcode)
		ctld_message(c, d, "warning", "crippled mode labelled the cartridge "
		    "of barcode %s with it (tape ID %s)", label,
		    field(data, "tape_id", "?"));
	else
		ctld_message(c, d, "warning", "crippled mode labelled %s (tape ID "
		    "%s): write %s on its sticker", label, field(data, "tape_id",
		    "?"), label);
	return r;
}

static json_t *
ev_tape_full(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	json_t *r = tape_state(c, d, data, "full");

	if (!r)
		FAIL("internal", "cannot write %.200s/active-tapes", c->crip->dir);
	return r;
}

/* A dump-log record from an engine event's data; false if malformed. */
static bool
event_rec(json_t *p, enum cat_dl_type type, struct cat_dl_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
#define S(f, k) snprintf(r->f, sizeof(r->f), "%s", field(p, k, ""))
	S(dump_id, "dump");
	S(entity, "entity");
	S(date, "date");
	S(since, "since");
	S(label, "label");
	S(tape_id, "tape_id");
	S(digest_alg, "digest_alg");
	S(digest, "digest");
	S(raw_digest, "raw_digest");
	S(status, "status");
	/* An engine from before these fields were sent: still a whole line. */
	snprintf(r->server, sizeof(r->server), "%s", field(p, "server",
	    "unknown"));
	snprintf(r->partition, sizeof(r->partition), "%s", field(p, "partition",
	    "unknown"));
	snprintf(r->compress, sizeof(r->compress), "%s", field(p, "compress",
	    "none"));
	snprintf(r->source_kind, sizeof(r->source_kind), "%s", field(p, "source",
	    "cmd"));
	S(written, "written");
	S(base, "base");
#undef S
	r->level = (int)arg_num(p, "level", 0);
	r->file = (uint64_t)arg_num(p, "file", 0);
	r->part = (uint32_t)arg_num(p, "part", 0);
	r->offset = (uint64_t)arg_num(p, "offset", 0);
	r->bytes = (uint64_t)arg_num(p, "bytes", 0);
	r->blocks = (uint64_t)arg_num(p, "blocks", 0);
	r->block_size = (uint32_t)arg_num(p, "block_size", 0);
	r->raw_bytes = (uint64_t)arg_num(p, "raw_bytes", 0);
	if (type == CAT_DL_DUMP) {	/* the chain's keys (issue 13) */
		r->index_raw = (uint64_t)arg_num(p, "index_raw", 0);
		r->index_stored = (uint64_t)arg_num(p, "index_stored", 0);
		r->index_bytes = (uint64_t)arg_num(p, "index_bytes", 0);
	} else {
		r->base[0] = '\0';
	}
	if (!strcmp(r->since, "-"))
		r->since[0] = '\0';
	if (!r->written[0])	/* confirmed now: its trailer, or the dump */
		util_fmt_time(clock_now(), r->written, sizeof(r->written));
	return r->dump_id[0] && cat_name_valid(r->entity) &&
	    (type == CAT_DL_DUMP || cat_name_valid(r->label));
}

/* A part or dump line into the crippled dump log. */
static json_t *
log_rec(struct ctld *c, struct drive *d, json_t *p, enum cat_dl_type type,
    const char **code, char *err)
{
	struct cat_dl_rec r;
	char path[PATH_MAX];
	int rc;

	if (!event_rec(p, type, &r))
		FAIL("bad-args", "a malformed %s record",
		    type == CAT_DL_PART ? "part" : "dump");
	r.job = d->job;
	if (r.job > 0)
		snprintf(r.site, sizeof(r.site), "%s", crip_site_of(c, r.job));
	if (!r.label[0]) {
		struct ctape *t = crip_tape_by_id(c->crip, r.tape_id);
		snprintf(r.label, sizeof(r.label), "%s", t ? t->label : "-");
	}
	snprintf(path, sizeof(path), "%s/dumplog", c->crip->dir);
	if ((rc = cat_dl_append(path, &r)) < 0)
		FAIL("internal", "%.200s: %s", path, strerror(-rc));
	return json_pack("{s:b,s:b}", type == CAT_DL_PART ? "recorded" :
	    "complete", 1, "crippled", 1);
}

static json_t *
ev_part(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	return log_rec(c, d, p, CAT_DL_PART, code, err);
}

static json_t *
ev_dump(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	return log_rec(c, d, p, CAT_DL_DUMP, code, err);
}

/* A cartridge failed: a bad line, the active-tapes file, an exception. */
static json_t *
ev_bad_tape(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	struct cat_dl_rec r;
	char path[PATH_MAX];

	memset(&r, 0, sizeof(r));
	r.type = CAT_DL_BAD;
	memset(r.dump_id, '0', 32);	/* no dump: the tape's line */
	snprintf(r.entity, sizeof(r.entity), "%s", d->job ? d->entity : "-");
	util_fmt_time(clock_now(), r.date, sizeof(r.date));
	snprintf(r.label, sizeof(r.label), "%s", field(data, "label", "-"));
	snprintf(r.tape_id, sizeof(r.tape_id), "%s", field(data, "tape_id", ""));
	snprintf(r.status, sizeof(r.status), "out-of-service");
	snprintf(r.drive, sizeof(r.drive), "%s", d->device);
	r.job = d->job;
	if (r.job > 0)
		snprintf(r.site, sizeof(r.site), "%s", crip_site_of(c, r.job));
	snprintf(path, sizeof(path), "%s/dumplog", c->crip->dir);
	if (cat_name_valid(r.label) && strlen(r.tape_id) == 32)
		cat_dl_append(path, &r);
	ctld_error_event(c, d, arg_str(data, "label"), d->job, "bad-tape", "%s",
	    field(data, "why", "cartridge failed"));
	if (!tape_state(c, d, data, "bad"))
		FAIL("internal", "cannot write %.200s/active-tapes", c->crip->dir);
	return ok();
}

/* Relabelling for reuse never happens in crippled mode: journal it. */
static json_t *
ev_tape_recycled(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	(void)code; (void)err;
	tape_state(c, d, data, "recycled");
	return ok();
}

/* A read-after-write check: journalled, bad blocks an exception. */
static json_t *
ev_verified(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	int64_t bad = arg_num(data, "bad", 0);
	(void)code; (void)err;

	crip_journal(c->crip, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "rec",
	    "verified", "tape_id", field(data, "tape_id", ""), "dump",
	    field(data, "dump", ""), "checked", (json_int_t)arg_num(data,
	    "checked", 0), "bad", (json_int_t)bad, "job",
	    (json_int_t)ctld_verified_job(d, data)));
	if (bad > 0)
		ctld_error_event(c, d, NULL, ctld_verified_job(d, data),
		    "verify-mismatch",
		    "read-after-write check found %lld bad blocks on tape %s",
		    (long long)bad, field(data, "tape_id", "?"));
	return ok();
}

/* The job ended: journalled, the drive takes the next queued job. */
static json_t *
ev_result(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *state = json_is_true(json_object_get(data, "ok")) ? "done" :
	    json_is_true(json_object_get(data, "aborted")) ? "aborted" : "failed";
	const char *why = arg_str(data, "error");
	struct cjob *j;

	if (!d->job)
		FAIL("not-waiting", "drive %s runs no job", d->name);
	/* An aborted dump's parts stay on tape: the dump log says so. */
	if (strcmp(state, "aborted") == 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/dumplog", c->crip->dir);
		if (cat_dl_append_aborted(path, NULL, d->job) < 0)
			ctld_message(c, d, "error", "job %lld: the aborted line "
			    "not written to %s", (long long)d->job, path);
	}
	if ((j = crip_job(c->crip, d->job)))
		crip_job_state(c->crip, j, state, why);
	else	/* a catalog job that was running when the catalog failed */
		crip_journal(c->crip, json_pack("{s:s,s:I,s:s,s:s?,s:s,s:s}", "rec",
		    "state", "id", (json_int_t)d->job, "state", state, "detail", why,
		    "entity", d->entity, "drive", d->name));
	ctld_message(c, d, strcmp(state, "done") ? "error" : "info",
	    "job %lld %s%s%s", (long long)d->job, state, why ? ": " : "",
	    why ? why : "");
	for (struct ctape *t = c->crip->tapes; t; t = t->next)
		if (strcmp(t->drive, d->name) == 0 && strcmp(t->state, "offered"))
			t->drive[0] = '\0';
	d->job = 0;
	d->state = "idle";
	d->want_label[0] = '\0';
	ctld_dispatch(c, d);
	return json_pack("{s:s}", "job", state);
}

/* Engine events crippled mode answers itself; the rest as in normal mode. */
static const struct {
	const char *name;
	ctld_event_fn *fn;
} crip_events[] = {
	{ "next-tape", ev_next_tape },
	{ "mount-rejected", ev_mount_rejected },
	{ "part", ev_part },
	{ "dump", ev_dump },
	{ "tape-full", ev_tape_full },
	{ "tape-labelled", ev_tape_labelled },
	{ "tape-recycled", ev_tape_recycled },
	{ "bad-tape", ev_bad_tape },
	{ "verified", ev_verified },
	{ "result", ev_result },
};

static json_t *
c_engine_event(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const struct ctld_event *ev = ctld_event_find(arg_str(a, "event"));
	json_t *data = json_object_get(a, "data"), *none = NULL, *r;
	ctld_event_fn *fn;

	if (!cl->drive)
		FAIL("not-registered", "register the drive first (engine-register)");
	if (!ev)
		FAIL("bad-args", "unknown engine event %s", arg_str(a, "event"));
	if (!data && !(data = none = json_object()))
		FAIL("internal", "out of memory");
	if (ctld_event_check(ev, data, err) < 0) {
		json_decref(none);
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	fn = ev->fn;
	for (size_t i = 0; i < sizeof(crip_events) / sizeof(crip_events[0]); i++)
		if (strcmp(crip_events[i].name, ev->name) == 0)
			fn = crip_events[i].fn;
	r = fn(c, cl->drive, data, code, err);
	json_decref(none);
	return r;
}

/* The rows crippled mode serves; the rest of the table is refused. */
static const struct {
	const char *name;
	ctld_handler_fn *fn;	/* NULL: the normal handler (no catalog) */
} crip_rows[] = {
	{ "status", c_status },
	{ "jobs", c_jobs },
	{ "tapes-for", c_tapes_for },
	{ "dump", c_dump },
	{ "dump-partition", h_dump_partition },
	{ "dump-server", h_dump_server },
	{ "abort", c_abort },
	{ "engine-register", c_engine_register },
	{ "engine-event", c_engine_event },
	{ "mounted", NULL },
	{ "unavailable", NULL },
	{ "whoami", NULL },
	{ "hello", NULL },
};

/* A request in crippled mode. */
json_t *
crip_handle(struct ctld *c, struct client *cl, const struct proto_op *op,
    json_t *args, const char **code, char *err)
{
	for (size_t i = 0; i < sizeof(crip_rows) / sizeof(crip_rows[0]); i++) {
		if (strcmp(crip_rows[i].name, op->name) != 0)
			continue;
		if (crip_rows[i].fn)
			return crip_rows[i].fn(c, cl, args, code, err);
		return ctld_handler(op)(c, cl, args, code, err);
	}
	*code = CRIP_E_UNAVAILABLE;
	snprintf(err, PROTO_ERRLEN, "%.32s is not available in crippled mode; "
	    "it serves status, jobs, tapes-for, dump*, abort, mounted, "
	    "unavailable (no catalog: %.100s)", op->name, c->crip->why);
	return NULL;
}
