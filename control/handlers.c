/*
 * abs-ctld's request handlers: h_<id> for each row of proto/requests.def.
 * The catalog is the truth for tapes, entities and dumps; the drives' live
 * state (current job, progress, the cartridge asked for) is in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/dumplog.h"
#include "control/ctld.h"

#define FAIL(code_, ...) do { *code = (code_); \
	snprintf(err, PROTO_ERRLEN, __VA_ARGS__); return NULL; } while (0)

static const char *
str(json_t *a, const char *k)
{
	return json_string_value(json_object_get(a, k));
}

static int64_t
num(json_t *a, const char *k, int64_t def)
{
	json_t *v = json_object_get(a, k);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

/* A catalog failure as a reply. */
static json_t *
db_fail(const char **code, char *err, const char *dberr)
{
	*code = "catalog";
	snprintf(err, PROTO_ERRLEN, "%s", dberr);
	return NULL;
}

static int64_t
id_of(struct ctld *c, const char *table, const char *name)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE name = ?", table);
	return cat_int(c->db, 0, sql, "t", name);
}

static bool
valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '%' || *s == '=' || *s == '|')
			return false;
	return true;
}

/* Give back the drive's reserved tape, if it was not filled. */
static void
release_reservation(struct ctld *c, struct drive *d)
{
	if (!d->reserved[0])
		return;
	cat_exec(c->db, NULL, "UPDATE tapes SET state = CASE WHEN ever_written"
	    " THEN 'appendable' ELSE 'blank' END WHERE tape_id = ? AND state ="
	    " 'reserved'", "t", d->reserved);
	d->reserved[0] = '\0';
}

/* The job event a media server acts on. */
static json_t *
job_event(struct ctld *c, int64_t job)
{
	json_t *j = cat_row(c->db, NULL,
	    "SELECT j.id AS job, j.kind, j.detail, e.name AS entity, e.source,"
	    " p.name AS pool, (SELECT max(started) FROM dumps d WHERE"
	    "  d.entity_id = e.id AND d.state = 'complete' AND d.level = 0)"
	    "  AS last_full FROM jobs j JOIN entities e ON e.id = j.entity_id"
	    " JOIN pools p ON p.id = e.pool_id WHERE j.id = ?", "i", job);

	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "event", json_string("job"));
	return j;
}

void
ctld_dispatch(struct ctld *c, struct drive *d)
{
	int64_t job;
	json_t *ev;

	if (!d->engine || d->job)
		return;
	job = cat_int(c->db, 0, "SELECT j.id FROM jobs j JOIN drives dr ON"
	    " dr.id = j.drive_id WHERE dr.name = ? AND j.state = 'queued'"
	    " ORDER BY j.id LIMIT 1", "t", d->name);
	if (!job)
		return;
	if (!(ev = job_event(c, job)))
		return;
	cat_exec(c->db, NULL, "UPDATE jobs SET state = 'running', started ="
	    " strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?", "i", job);
	d->job = job;
	d->bytes = 0;
	d->estimate = (uint64_t)cat_int(c->db, 0, "SELECT coalesce(raw_bytes, bytes)"
	    " FROM dumps d JOIN jobs j ON j.entity_id = d.entity_id WHERE j.id = ?"
	    " AND d.state = 'complete' ORDER BY d.started DESC LIMIT 1", "i", job);
	d->rate = 0;
	d->started = (double)time(NULL);
	snprintf(d->entity, sizeof(d->entity), "%s", str(ev, "entity"));
	json_array_clear(d->skip);
	d->restoring = strcmp(str(ev, "kind"), "restore") == 0;
	d->state = d->restoring ? "restoring" : "writing";
	ctld_send(d->engine, ev);
	ctld_message(c, d, "info", "job %lld: %s %s", (long long)job,
	    str(ev, "kind"), d->entity);
	json_decref(ev);
}

static json_t *
h_status(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *drives = json_array(), *res;
	(void)cl; (void)a; (void)code; (void)err;

	for (struct drive *d = c->drives; d; d = d->next) {
		double secs = d->job ? (double)time(NULL) - d->started : 0;
		/* ETA from the entity's last dump, at the current rate. */
		json_t *eta = d->job && d->rate > 0 && d->estimate > d->bytes ?
		    json_real((double)(d->estimate - d->bytes) / 1e6 / d->rate) :
		    json_null();
		json_array_append_new(drives, json_pack(
		    "{s:s,s:s,s:s,s:I,s:s,s:I,s:f,s:f,s:o,s:s,s:O}",
		    "drive", d->name, "device", d->device, "state", d->state,
		    "job", (json_int_t)d->job, "entity", d->job ? d->entity : "",
		    "bytes", (json_int_t)d->bytes, "rate_mbs", d->rate,
		    "seconds", secs, "eta_seconds", eta, "wants", d->want_label,
		    "messages", d->msgs));
	}
	res = json_pack("{s:o,s:o}", "drives", drives, "queued",
	    cat_rows(c->db, NULL, "SELECT j.id, j.kind, e.name AS entity,"
	    " dr.name AS drive FROM jobs j LEFT JOIN entities e ON e.id ="
	    " j.entity_id LEFT JOIN drives dr ON dr.id = j.drive_id WHERE"
	    " j.state = 'queued' ORDER BY j.id", ""));
	return res;
}

static json_t *
h_jobs(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl;

	r = cat_rows(c->db, dberr, "SELECT j.id, j.kind, j.state, e.name AS"
	    " entity, dr.name AS drive, j.created, j.started, j.finished, j.detail"
	    " FROM jobs j LEFT JOIN entities e ON e.id = j.entity_id LEFT JOIN"
	    " drives dr ON dr.id = j.drive_id ORDER BY j.id DESC LIMIT ?", "i",
	    num(a, "count", 20));
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_dump(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = ctld_drive(c, str(a, "drive"), false);
	json_t *ents = json_object_get(a, "entities"), *e, *ids;
	char dberr[CAT_ERRLEN];
	int64_t level = num(a, "level", 0);
	size_t i;

	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    str(a, "drive"));
	if (level < 0 || level > 9)
		FAIL("bad-args", "level must be 0..9");
	json_array_foreach(ents, i, e)
		if (!cat_int(c->db, 0, "SELECT id FROM entities WHERE name = ? AND"
		    " active = 1", "t", json_string_value(e)))
			FAIL("not-found", "no active entity %s", json_string_value(e));
	if (cat_begin(c->db, dberr) < 0)
		return db_fail(code, err, dberr);
	ids = json_array();
	json_array_foreach(ents, i, e) {
		char detail[32];
		snprintf(detail, sizeof(detail), "level=%lld", (long long)level);
		if (cat_exec(c->db, dberr, "INSERT INTO jobs (kind, drive_id,"
		    " entity_id, state, uid, detail) VALUES ('dump', (SELECT id FROM"
		    " drives WHERE name = ?), (SELECT id FROM entities WHERE name = ?),"
		    " 'queued', ?, ?)", "ttit", d->name, json_string_value(e),
		    (int64_t)cl->uid, detail) < 0) {
			cat_rollback(c->db);
			json_decref(ids);
			return db_fail(code, err, dberr);
		}
		json_array_append_new(ids, json_integer(cat_last_id(c->db)));
	}
	if (cat_commit(c->db, dberr) < 0) {
		json_decref(ids);
		return db_fail(code, err, dberr);
	}
	ctld_dispatch(c, d);
	return json_pack("{s:o}", "jobs", ids);
}

static json_t *
h_mounted(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = ctld_drive(c, str(a, "drive"), false);
	json_t *ev;
	(void)cl;

	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    str(a, "drive"));
	if (!d->want_label[0])
		FAIL("not-waiting", "drive %s is not waiting for a cartridge", d->name);
	ev = json_pack("{s:s}", "event", "mounted");
	ctld_send(d->engine, ev);
	json_decref(ev);
	ctld_message(c, d, "info", "operator: %s mounted", d->want_label);
	return json_pack("{s:s,s:s}", "drive", d->name, "label", d->want_label);
}

static json_t *
h_unavailable(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *label = str(a, "label");
	json_t *ev;
	(void)cl; (void)code; (void)err;

	for (struct drive *d = c->drives; d; d = d->next) {
		if (strcmp(d->want_label, label) != 0 || !d->engine)
			continue;
		release_reservation(c, d);
		json_array_append_new(d->skip, json_string(label));
		ctld_error_event(c, d, label, d->job, "unavailable",
		    "cartridge %s reported unavailable by uid %u", label,
		    (unsigned)cl->uid);
		ev = json_pack("{s:s}", "event", "retry-tape");
		ctld_send(d->engine, ev);
		json_decref(ev);
		return json_pack("{s:s,s:s}", "drive", d->name, "label", label);
	}
	ctld_error_event(c, NULL, label, 0, "unavailable",
	    "cartridge %s reported unavailable by uid %u", label,
	    (unsigned)cl->uid);
	return json_pack("{s:s,s:n}", "label", label, "drive");
}

static json_t *
h_abort(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t job = num(a, "job", 0);
	json_t *ev;
	(void)cl;

	for (struct drive *d = c->drives; d; d = d->next)
		if (d->job == job && d->engine) {
			ev = json_pack("{s:s,s:I}", "event", "abort", "job",
			    (json_int_t)job);
			ctld_send(d->engine, ev);
			json_decref(ev);
			ctld_message(c, d, "warning", "job %lld: abort requested by"
			    " uid %u", (long long)job, (unsigned)cl->uid);
			return json_pack("{s:I,s:s}", "job", (json_int_t)job, "state",
			    "aborting");
		}
	if (cat_exec(c->db, NULL, "UPDATE jobs SET state = 'aborted', finished ="
	    " strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ? AND state ="
	    " 'queued'", "i", job) == 1)
		return json_pack("{s:I,s:s}", "job", (json_int_t)job, "state",
		    "aborted");
	FAIL("not-found", "job %lld is neither queued nor running", (long long)job);
}

/* The dump to restore: the newest complete one at or before date. */
static json_t *
find_dump(struct ctld *c, const char *entity, const char *date)
{
	return cat_row(c->db, NULL, "SELECT d.id, d.dump_uid, d.level,"
	    " d.started, d.bytes, d.digest_alg, d.digest FROM dumps d JOIN"
	    " entities e ON e.id = d.entity_id WHERE e.name = ? AND d.state ="
	    " 'complete' AND (? IS NULL OR d.started <= ? || 'T99') ORDER BY"
	    " d.started DESC, d.id DESC LIMIT 1", "ttt", entity, date, date);
}

static json_t *
h_restore(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = str(a, "entity"), *as = str(a, "as");
	json_t *dump = find_dump(c, entity, str(a, "date")), *parts, *res;
	struct drive *d = NULL;

	if (!json_is_object(dump)) {
		json_decref(dump);
		FAIL("not-found", "no complete dump of %s%s%s", entity,
		    str(a, "date") ? " at or before " : "",
		    str(a, "date") ? str(a, "date") : "");
	}
	if (as && !valid_name(as)) {
		json_decref(dump);
		FAIL("bad-args", "--as takes a name without spaces");
	}
	parts = cat_rows(c->db, NULL, "SELECT p.part, t.label, t.tape_id, p.file,"
	    " p.offset, p.bytes, p.blocks, p.block_size, p.digest FROM dump_parts p"
	    " JOIN tapes t ON t.id = p.tape_id WHERE p.dump_id = ? ORDER BY"
	    " p.part", "i", json_integer_value(json_object_get(dump, "id")));
	res = json_pack("{s:s,s:s,s:O,s:o}", "entity", entity, "as",
	    as ? as : entity, "dump", dump, "parts", parts);
	/* No drive named: the first connected one that is idle, if any. */
	if (!str(a, "drive")) {
		for (d = c->drives; d; d = d->next)
			if (d->engine && !d->job)
				break;
		if (d)
			json_object_set_new(a, "drive", json_string(d->name));
	}
	if (str(a, "drive")) {
		d = ctld_drive(c, str(a, "drive"), false);
		if (!d || !d->engine) {
			json_decref(dump);
			json_decref(res);
			FAIL("no-drive", "drive %s has no media server connected",
			    str(a, "drive"));
		}
		json_t *detail = json_pack("{s:s,s:s,s:s,s:O}", "dump",
		    json_string_value(json_object_get(dump, "dump_uid")), "as",
		    as ? as : entity, "to", str(a, "to") ? str(a, "to") : "",
		    "parts", parts);
		char *ds = json_dumps(detail, JSON_COMPACT);
		json_decref(detail);
		cat_exec(c->db, NULL, "INSERT INTO jobs (kind, drive_id, entity_id,"
		    " state, uid, detail) VALUES ('restore', (SELECT id FROM drives"
		    " WHERE name = ?), (SELECT id FROM entities WHERE name = ?),"
		    " 'queued', ?, ?)", "ttit", d->name, entity, (int64_t)cl->uid, ds);
		free(ds);
		json_object_set_new(res, "job", json_integer(cat_last_id(c->db)));
		ctld_dispatch(c, d);
	}
	json_decref(dump);
	return res;
}

static json_t *
h_tapes_for(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl;

	r = cat_rows(c->db, dberr, "SELECT t.label, t.tape_id, t.state,"
	    " po.name AS pool, count(*) AS parts, min(d.started) AS oldest,"
	    " max(d.started) AS newest FROM dump_parts p JOIN dumps d ON d.id ="
	    " p.dump_id JOIN entities e ON e.id = d.entity_id JOIN tapes t ON"
	    " t.id = p.tape_id JOIN pools po ON po.id = t.pool_id WHERE e.name = ?"
	    " AND d.state = 'complete' GROUP BY t.id ORDER BY t.label", "t",
	    str(a, "entity"));
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_entity(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *name = str(a, "name");
	json_t *e;
	(void)cl;

	e = cat_row(c->db, NULL, "SELECT e.name, e.source, e.active, t.name AS"
	    " type, p.name AS pool, coalesce(e.full_every_days, t.full_every_days)"
	    " AS full_every_days, coalesce(e.incr_every_days, t.incr_every_days)"
	    " AS incr_every_days, e.not_before, e.added FROM entities e JOIN"
	    " entity_types t ON t.id = e.type_id JOIN pools p ON p.id = e.pool_id"
	    " WHERE e.name = ?", "t", name);
	if (!json_is_object(e)) {
		json_decref(e);
		FAIL("not-found", "no entity %s", name);
	}
	json_object_set_new(e, "last_full", cat_row(c->db, NULL, "SELECT"
	    " d.started, d.bytes, d.raw_bytes FROM dumps d JOIN entities e ON"
	    " e.id = d.entity_id WHERE e.name = ? AND d.state = 'complete' AND"
	    " d.level = 0 ORDER BY d.started DESC LIMIT 1", "t", name));
	json_object_set_new(e, "last_incremental", cat_row(c->db, NULL, "SELECT"
	    " d.started, d.level, d.bytes, d.raw_bytes FROM dumps d JOIN entities"
	    " e ON e.id = d.entity_id WHERE e.name = ? AND d.state = 'complete'"
	    " AND d.level > 0 ORDER BY d.started DESC LIMIT 1", "t", name));
	json_object_set_new(e, "dumps", json_integer(cat_int(c->db, 0, "SELECT"
	    " count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE"
	    " e.name = ? AND d.state = 'complete'", "t", name)));
	json_object_set_new(e, "bytes_on_tape", json_integer(cat_int(c->db, 0,
	    "SELECT coalesce(sum(d.bytes), 0) FROM dumps d JOIN entities e ON"
	    " e.id = d.entity_id WHERE e.name = ? AND d.state = 'complete'", "t",
	    name)));
	return e;
}

static json_t *
h_tape(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *label = str(a, "label");
	json_t *t;
	(void)cl;

	t = cat_row(c->db, NULL, "SELECT t.id, t.label, t.tape_id, t.state,"
	    " p.name AS pool, t.ever_written, t.bytes, t.files, t.added,"
	    " t.last_written, t.note FROM tapes t JOIN pools p ON p.id = t.pool_id"
	    " WHERE t.label = ? ORDER BY t.state = 'destroyed', t.id DESC LIMIT 1",
	    "t", label);
	if (!json_is_object(t)) {
		json_decref(t);
		FAIL("not-found", "no tape labelled %s", label);
	}
	int64_t id = json_integer_value(json_object_get(t, "id"));
	json_object_set_new(t, "parts", cat_rows(c->db, NULL, "SELECT e.name AS"
	    " entity, d.level, d.started, d.state AS dump_state, p.part, p.file,"
	    " p.bytes FROM dump_parts p JOIN dumps d ON d.id = p.dump_id JOIN"
	    " entities e ON e.id = d.entity_id WHERE p.tape_id = ? ORDER BY"
	    " p.file", "i", id));
	json_object_set_new(t, "errors", json_integer(cat_int(c->db, 0, "SELECT"
	    " count(*) FROM error_events WHERE tape_id = ?", "i", id)));
	json_object_set_new(t, "verifications", cat_rows(c->db, NULL, "SELECT"
	    " kind, checked, bad, at FROM verifications WHERE tape_id = ? ORDER BY"
	    " at DESC LIMIT 10", "i", id));
	return t;
}

static json_t *
h_errors(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *events, *by_drive, *by_tape;
	const char *drive = str(a, "drive"), *label = str(a, "label"),
	    *since = str(a, "since");
	(void)cl;

	events = cat_rows(c->db, dberr, "SELECT ev.at, dr.name AS drive, t.label,"
	    " ev.job_id AS job, ev.kind, ev.message FROM error_events ev LEFT JOIN"
	    " drives dr ON dr.id = ev.drive_id LEFT JOIN tapes t ON t.id ="
	    " ev.tape_id WHERE (? IS NULL OR dr.name = ?) AND (? IS NULL OR"
	    " t.label = ?) AND (? IS NULL OR ev.at >= ?) ORDER BY ev.at, ev.id",
	    "tttttt", drive, drive, label, label, since, since);
	if (!events)
		return db_fail(code, err, dberr);
	/* Over time: per drive and per tape, per day. */
	by_drive = cat_rows(c->db, NULL, "SELECT dr.name AS drive, substr(ev.at,"
	    " 1, 10) AS day, count(*) AS errors FROM error_events ev JOIN drives dr"
	    " ON dr.id = ev.drive_id WHERE (? IS NULL OR dr.name = ?) AND (? IS"
	    " NULL OR ev.at >= ?) GROUP BY dr.name, day ORDER BY dr.name, day",
	    "tttt", drive, drive, since, since);
	by_tape = cat_rows(c->db, NULL, "SELECT t.label, substr(ev.at, 1, 10) AS"
	    " day, count(*) AS errors FROM error_events ev JOIN tapes t ON t.id ="
	    " ev.tape_id WHERE (? IS NULL OR t.label = ?) AND (? IS NULL OR ev.at"
	    " >= ?) GROUP BY t.label, day ORDER BY t.label, day", "tttt", label,
	    label, since, since);
	return json_pack("{s:o,s:o,s:o}", "events", events, "per_drive", by_drive,
	    "per_tape", by_tape);
}

static json_t *
h_next_entities(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl;

	/* Due: the later of the next full / incremental date and not_before. */
	r = cat_rows(c->db, dberr,
	    "WITH s AS (SELECT e.name, e.not_before,"
	    "  coalesce(e.full_every_days, t.full_every_days) AS fd,"
	    "  coalesce(e.incr_every_days, t.incr_every_days) AS id,"
	    "  (SELECT max(started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "   d.state = 'complete' AND d.level = 0) AS lf,"
	    "  (SELECT max(started) FROM dumps d WHERE d.entity_id = e.id AND"
	    "   d.state = 'complete') AS la"
	    "  FROM entities e JOIN entity_types t ON t.id = e.type_id"
	    "  WHERE e.active = 1),"
	    " n AS (SELECT name, not_before, lf, la,"
	    "  CASE WHEN lf IS NULL THEN 'full'"
	    "   WHEN julianday(lf) + fd <= julianday(la) + id THEN 'full'"
	    "   ELSE 'incremental' END AS kind,"
	    "  CASE WHEN lf IS NULL THEN strftime('%Y-%m-%dT%H:%M:%SZ','now')"
	    "   ELSE strftime('%Y-%m-%dT%H:%M:%SZ', min(julianday(lf) + fd,"
	    "   julianday(la) + id)) END AS due FROM s)"
	    " SELECT name AS entity, kind, CASE WHEN not_before > due THEN"
	    "  not_before ELSE due END AS due, lf AS last_full, la AS last_dump"
	    " FROM n ORDER BY 3, name LIMIT ?", "i", num(a, "count", 10));
	return r ? r : db_fail(code, err, dberr);
}

/*
 * Tapes of a pool in the order they will be used: appendable (the most
 * recently written first, to fill it), blank, then full tapes whose every
 * dump has keep_fulls newer fulls and which are older than keep_days
 * (recycled: relabelled with the same tape ID, their old dumps expire).
 */
static const char next_tapes_sql[] =
    "SELECT label, tape_id, state, bytes, ever_written, recycle FROM ("
    " SELECT t.label, t.tape_id, t.state, t.bytes, t.ever_written, 0 AS recycle,"
    "  CASE t.state WHEN 'appendable' THEN 0 ELSE 1 END AS rank,"
    "  coalesce(t.last_written, '') AS lw, t.id"
    "  FROM tapes t JOIN pools p ON p.id = t.pool_id"
    "  WHERE p.name = ?1 AND t.state IN ('appendable', 'blank')"
    " UNION ALL"
    " SELECT t.label, t.tape_id, t.state, t.bytes, t.ever_written, 1, 2,"
    "  t.last_written, t.id FROM tapes t JOIN pools p ON p.id = t.pool_id"
    "  WHERE p.name = ?1 AND t.state = 'full' AND"
    "  julianday('now') - julianday(t.last_written) >= p.keep_days AND"
    "  NOT EXISTS (SELECT 1 FROM dump_parts dp JOIN dumps d ON d.id ="
    "   dp.dump_id WHERE dp.tape_id = t.id AND d.state = 'complete' AND"
    "   (SELECT count(*) FROM dumps n WHERE n.entity_id = d.entity_id AND"
    "    n.state = 'complete' AND n.level = 0 AND n.started > d.started)"
    "   < p.keep_fulls))"
    " ORDER BY rank, CASE WHEN rank = 0 THEN lw END DESC,"
    "  CASE WHEN rank = 2 THEN lw END, id LIMIT ?2";

/* Warn the exception role when a pool runs low on writable tapes. */
static void
check_pool_low(struct ctld *c, struct drive *d, const char *pool)
{
	int64_t min = cat_int(c->db, 0, "SELECT min_tapes FROM pools WHERE name = ?",
	    "t", pool);
	int64_t have = cat_int(c->db, 0, "SELECT count(*) FROM tapes t JOIN pools p"
	    " ON p.id = t.pool_id WHERE p.name = ? AND t.state IN ('blank',"
	    " 'appendable')", "t", pool);

	if (min > 0 && have < min)
		ctld_error_event(c, d, NULL, d ? d->job : 0, "pool-low", "pool %s has "
		    "%lld writable tapes, fewer than its minimum %lld", pool,
		    (long long)have, (long long)min);
}

static json_t *
h_next_tapes(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl;

	r = cat_rows(c->db, dberr, next_tapes_sql, "ti",
	    str(a, "pool") ? str(a, "pool") : "default", num(a, "count", 10));
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_entities(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl; (void)a;

	r = cat_rows(c->db, dberr, "SELECT e.name, t.name AS type, p.name AS pool,"
	    " e.source, e.active, e.not_before FROM entities e JOIN entity_types t"
	    " ON t.id = e.type_id JOIN pools p ON p.id = e.pool_id ORDER BY e.name",
	    "");
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_tapes(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl;

	r = cat_rows(c->db, dberr, "SELECT t.label, t.tape_id, p.name AS pool,"
	    " t.state, t.bytes, t.files, t.last_written FROM tapes t JOIN pools p"
	    " ON p.id = t.pool_id WHERE ? IS NULL OR p.name = ? ORDER BY p.name,"
	    " t.label, t.id", "tt", str(a, "pool"), str(a, "pool"));
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_pools(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r;
	(void)cl; (void)a;

	r = cat_rows(c->db, dberr, "SELECT p.name, p.min_tapes, p.max_tapes,"
	    " p.keep_fulls, p.keep_days, (SELECT count(*) FROM tapes t WHERE"
	    " t.pool_id = p.id AND t.state != 'destroyed') AS tapes, (SELECT"
	    " count(*) FROM tapes t WHERE t.pool_id = p.id AND t.state IN"
	    " ('blank','appendable')) AS writable FROM pools p ORDER BY p.name", "");
	return r ? r : db_fail(code, err, dberr);
}

static json_t *
h_entity_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *name = str(a, "name"), *src = str(a, "source");
	const char *type = str(a, "type") ? str(a, "type") : "default";
	const char *pool = str(a, "pool") ? str(a, "pool") : "default";
	char dberr[CAT_ERRLEN];
	(void)cl;

	if (!valid_name(name))
		FAIL("bad-args", "entity names have no spaces, '%%', '=' or '|'");
	if (strncmp(src, "dir:", 4) && strncmp(src, "cmd:", 4) &&
	    strncmp(src, "file:", 5))
		FAIL("bad-args", "source must be dir:PATH, cmd:ARGV or file:PATH");
	if (!id_of(c, "entity_types", type))
		FAIL("not-found", "no entity type %s", type);
	if (!id_of(c, "pools", pool))
		FAIL("not-found", "no pool %s", pool);
	if (cat_exec(c->db, dberr, "INSERT INTO entities (name, type_id, source,"
	    " pool_id) VALUES (?, (SELECT id FROM entity_types WHERE name = ?), ?,"
	    " (SELECT id FROM pools WHERE name = ?))", "tttt", name, type, src,
	    pool) < 0) {
		if (cat_int(c->db, 0, "SELECT id FROM entities WHERE name = ?", "t",
		    name))
			FAIL("exists", "entity %s exists", name);
		return db_fail(code, err, dberr);
	}
	return json_pack("{s:s,s:s,s:s}", "entity", name, "type", type, "pool", pool);
}

static json_t *
h_entity_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	(void)cl;
	if (cat_exec(c->db, NULL, "UPDATE entities SET active = 0 WHERE name = ?",
	    "t", str(a, "name")) != 1)
		FAIL("not-found", "no entity %s", str(a, "name"));
	return json_pack("{s:s,s:b}", "entity", str(a, "name"), "active", 0);
}

static json_t *
h_entity_type(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl;
	if (!id_of(c, "entity_types", str(a, "type")))
		FAIL("not-found", "no entity type %s", str(a, "type"));
	if (cat_exec(c->db, NULL, "UPDATE entities SET type_id = (SELECT id FROM"
	    " entity_types WHERE name = ?) WHERE name = ?", "tt", str(a, "type"),
	    str(a, "name")) != 1)
		FAIL("not-found", "no entity %s", str(a, "name"));
	return json_pack("{s:s,s:s}", "entity", str(a, "name"), "type",
	    str(a, "type"));
}

/* Frequencies for an entity or a type: days between fulls / increments. */
static json_t *
set_frequency(struct ctld *c, const char *table, json_t *a, const char **code,
    char *err)
{
	int64_t full = num(a, "full", -1), incr = num(a, "incr", -1);
	char sql[200];

	if (full == 0 || incr == 0 || full > 3650 || incr > 3650 ||
	    (full < 0 && incr < 0))
		FAIL("bad-args", "--full and --incr take days, 1..3650");
	snprintf(sql, sizeof(sql), "UPDATE %s SET full_every_days = CASE WHEN"
	    " ? > 0 THEN ? ELSE full_every_days END, incr_every_days = CASE WHEN"
	    " ? > 0 THEN ? ELSE incr_every_days END WHERE name = ?", table);
	if (cat_exec(c->db, NULL, sql, "iiiit", full, full, incr, incr,
	    str(a, "name")) != 1)
		FAIL("not-found", "no %s %s", strcmp(table, "entities") ? "entity type"
		    : "entity", str(a, "name"));
	snprintf(sql, sizeof(sql), "SELECT name, full_every_days,"
	    " incr_every_days FROM %s WHERE name = ?", table);
	return cat_row(c->db, NULL, sql, "t", str(a, "name"));
}

static json_t *
h_entity_frequency(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	(void)cl;
	return set_frequency(c, "entities", a, code, err);
}

static json_t *
h_type_frequency(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	(void)cl;
	return set_frequency(c, "entity_types", a, code, err);
}

static json_t *
h_type_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	(void)cl;

	if (!valid_name(str(a, "name")))
		FAIL("bad-args", "type names have no spaces");
	if (cat_exec(c->db, dberr, "INSERT INTO entity_types (name) VALUES (?)",
	    "t", str(a, "name")) < 0)
		FAIL("exists", "entity type %s exists", str(a, "name"));
	if (json_object_get(a, "full") || json_object_get(a, "incr"))
		return set_frequency(c, "entity_types", a, code, err);
	return cat_row(c->db, NULL, "SELECT name, full_every_days, incr_every_days"
	    " FROM entity_types WHERE name = ?", "t", str(a, "name"));
}

static json_t *
h_entity_window(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *nb = str(a, "not_before");
	struct tm tm;
	(void)cl;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(nb, "%Y-%m-%d", &tm))
		FAIL("bad-args", "the date is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	if (cat_exec(c->db, NULL, "UPDATE entities SET not_before = ? WHERE"
	    " name = ?", "tt", nb, str(a, "name")) != 1)
		FAIL("not-found", "no entity %s", str(a, "name"));
	return json_pack("{s:s,s:s}", "entity", str(a, "name"), "not_before", nb);
}

static json_t *
h_tape_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *pool = str(a, "pool");
	json_t *labels = json_object_get(a, "labels"), *l, *added;
	int64_t pid = id_of(c, "pools", pool), max, have;
	char dberr[CAT_ERRLEN];
	size_t i;
	(void)cl;

	if (!pid)
		FAIL("not-found", "no pool %s", pool);
	json_array_foreach(labels, i, l)
		if (!valid_name(json_string_value(l)) ||
		    json_string_length(l) > 63)
			FAIL("bad-args", "label %s: 1-63 characters, no spaces",
			    json_string_value(l));
	max = cat_int(c->db, 0, "SELECT max_tapes FROM pools WHERE id = ?", "i", pid);
	have = cat_int(c->db, 0, "SELECT count(*) FROM tapes WHERE pool_id = ? AND"
	    " state != 'destroyed'", "i", pid);
	if (max > 0 && have + (int64_t)json_array_size(labels) > max)
		FAIL("pool-full", "pool %s may hold %lld tapes; it has %lld", pool,
		    (long long)max, (long long)have);
	if (cat_begin(c->db, dberr) < 0)
		return db_fail(code, err, dberr);
	added = json_array();
	json_array_foreach(labels, i, l) {
		/* The tape ID: this catalog's site ID and the tape's own number. */
		if (cat_exec(c->db, dberr, "INSERT INTO tapes (tape_id, label,"
		    " pool_id) VALUES (lower(hex(randomblob(16))), ?, ?)", "ti",
		    json_string_value(l), pid) < 0 ||
		    cat_exec(c->db, dberr, "UPDATE tapes SET tape_id = (SELECT value"
		    " FROM meta WHERE key = 'site') || printf('%016x', id) WHERE"
		    " id = ?", "i", cat_last_id(c->db)) < 0) {
			cat_rollback(c->db);
			json_decref(added);
			FAIL("exists", "label %s is already in pool %s (labels are "
			    "reused only after the old tape is destroyed)",
			    json_string_value(l), pool);
		}
		json_array_append_new(added, cat_row(c->db, NULL, "SELECT label,"
		    " tape_id, state FROM tapes WHERE id = last_insert_rowid()", ""));
	}
	if (cat_commit(c->db, dberr) < 0) {
		json_decref(added);
		return db_fail(code, err, dberr);
	}
	return added;
}

static json_t *
h_tape_state(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *label = str(a, "label"), *state = str(a, "state");
	int n;
	(void)cl;

	if (strcmp(state, "out-of-service") && strcmp(state, "no-new-writes") &&
	    strcmp(state, "appendable") && strcmp(state, "destroyed"))
		FAIL("bad-args", "state is out-of-service, no-new-writes, "
		    "appendable or destroyed");
	/* Back in service: appendable only if it ever held data. */
	n = cat_exec(c->db, NULL, "UPDATE tapes SET state = CASE WHEN ? ="
	    " 'appendable' AND ever_written = 0 THEN 'blank' ELSE ? END WHERE"
	    " label = ? AND state != 'destroyed'", "ttt", state, state, label);
	if (n < 1)
		FAIL("not-found", "no tape labelled %s (or it is destroyed)", label);
	return cat_row(c->db, NULL, "SELECT label, tape_id, state FROM tapes WHERE"
	    " label = ? ORDER BY id DESC LIMIT 1", "t", label);
}

static json_t *
h_pool_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl;
	if (!valid_name(str(a, "name")))
		FAIL("bad-args", "pool names have no spaces");
	if (cat_exec(c->db, NULL, "INSERT INTO pools (name) VALUES (?)", "t",
	    str(a, "name")) < 0)
		FAIL("exists", "pool %s exists", str(a, "name"));
	return cat_row(c->db, NULL, "SELECT * FROM pools WHERE name = ?", "t",
	    str(a, "name"));
}

static json_t *
h_pool_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t mn = num(a, "min", -1), mx = num(a, "max", -1),
	    kf = num(a, "keep_fulls", -1), kd = num(a, "keep_days", -1);
	(void)cl;

	if (mn < -1 || mx < -1 || kf < -1 || kd < -1 ||
	    (mn >= 0 && mx > 0 && mn > mx))
		FAIL("bad-args", "counts are 0 or more, and min <= max");
	if (cat_exec(c->db, NULL, "UPDATE pools SET"
	    " min_tapes = CASE WHEN ? >= 0 THEN ? ELSE min_tapes END,"
	    " max_tapes = CASE WHEN ? >= 0 THEN ? ELSE max_tapes END,"
	    " keep_fulls = CASE WHEN ? >= 0 THEN ? ELSE keep_fulls END,"
	    " keep_days = CASE WHEN ? >= 0 THEN ? ELSE keep_days END"
	    " WHERE name = ?", "iiiiiiiit", mn, mn, mx, mx, kf, kf, kd, kd,
	    str(a, "name")) != 1)
		FAIL("not-found", "no pool %s", str(a, "name"));
	return cat_row(c->db, NULL, "SELECT * FROM pools WHERE name = ?", "t",
	    str(a, "name"));
}

static json_t *
h_acl_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl;
	if (proto_role_from_name(str(a, "role")) < 0)
		FAIL("bad-args", "role is operator, retrieval, exception, admin or "
		    "engine");
	if (num(a, "uid", -1) < 0 || num(a, "uid", -1) > 0xfffffffeLL)
		FAIL("bad-args", "uid out of range");
	cat_exec(c->db, NULL, "INSERT OR IGNORE INTO acl (uid, role) VALUES (?, ?)",
	    "it", num(a, "uid", -1), str(a, "role"));
	return json_pack("{s:I,s:s}", "uid", (json_int_t)num(a, "uid", -1), "role",
	    str(a, "role"));
}

static json_t *
h_acl_remove(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl;
	if (cat_exec(c->db, NULL, "DELETE FROM acl WHERE uid = ? AND role = ?",
	    "it", num(a, "uid", -1), str(a, "role")) != 1)
		FAIL("not-found", "uid %lld has no role %s", (long long)num(a, "uid",
		    -1), str(a, "role"));
	return json_pack("{s:I,s:s}", "uid", (json_int_t)num(a, "uid", -1),
	    "removed", str(a, "role"));
}

static json_t *
h_acl(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)cl; (void)a; (void)code; (void)err;
	return cat_rows(c->db, NULL, "SELECT uid, role FROM acl ORDER BY uid, role",
	    "");
}

static json_t *
h_whoami(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *roles = json_array();
	(void)c; (void)a; (void)code; (void)err;

	for (unsigned b = 1; b & ROLE_ALL; b <<= 1)
		if (cl->roles & b)
			json_array_append_new(roles, json_string(proto_role_name(b)));
	return json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)cl->uid, "pid",
	    (json_int_t)cl->pid, "roles", roles);
}

/*
 * Merge dump-log lines (direct mode, or a media server's journal written
 * while abs-ctld was away) into the catalog. Idempotent: what is known is
 * skipped. Unknown tapes join the pool under their own tape ID; a label
 * already used there by another tape is a conflict the operator resolves
 * by reading the sticker (listed, not merged).
 */
static int64_t
merge_tape(struct ctld *c, const struct cat_dl_rec *r, int64_t pool,
    json_t *conflicts, int *added)
{
	int64_t t = cat_int(c->db, 0, "SELECT id FROM tapes WHERE tape_id = ?", "t",
	    r->tape_id);

	if (t)
		return t;
	if (cat_int(c->db, 0, "SELECT id FROM tapes WHERE pool_id = ? AND label = ?"
	    " AND state != 'destroyed'", "it", pool, r->label)) {
		json_array_append_new(conflicts, json_pack("{s:s,s:s,s:s}", "label",
		    r->label, "tape_id", r->tape_id, "why", "the pool has another "
		    "tape with this label: check the sticker, then relabel or "
		    "destroy one"));
		return 0;
	}
	if (cat_exec(c->db, NULL, "INSERT INTO tapes (tape_id, label, pool_id, state,"
	    " ever_written) VALUES (?, ?, ?, 'appendable', 1)", "tti", r->tape_id,
	    r->label, pool) < 1)
		return 0;
	(*added)++;
	return cat_last_id(c->db);
}

static int64_t
merge_entity(struct ctld *c, const struct cat_dl_rec *r, int64_t pool,
    int *added)
{
	int64_t e = cat_int(c->db, 0, "SELECT id FROM entities WHERE name = ?", "t",
	    r->entity);
	char src[1100];

	if (e)
		return e;
	snprintf(src, sizeof(src), "%s:%s", r->source_kind[0] ? r->source_kind :
	    "unknown", r->partition);
	if (cat_exec(c->db, NULL, "INSERT INTO entities (name, type_id, source,"
	    " pool_id) VALUES (?, (SELECT id FROM entity_types WHERE name ="
	    " 'default'), ?, ?)", "tti", r->entity, src, pool) < 1)
		return 0;
	(*added)++;
	return cat_last_id(c->db);
}

static json_t *
h_merge(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *pool = str(a, "pool") ? str(a, "pool") : "default";
	int64_t pid = id_of(c, "pools", pool);
	json_t *lines = json_object_get(a, "lines"), *l, *conflicts;
	int parts = 0, dumps = 0, tapes = 0, ents = 0, errs = 0, bad = 0, skip = 0;
	struct cat_dl_rec r;
	char dberr[CAT_ERRLEN];
	size_t i;
	(void)cl;

	if (!pid)
		FAIL("not-found", "no pool %s", pool);
	if (cat_begin(c->db, dberr) < 0)
		return db_fail(code, err, dberr);
	conflicts = json_array();
	json_array_foreach(lines, i, l) {
		if (cat_dl_parse(json_string_value(l), &r) < 0) {
			skip++;
			continue;
		}
		int64_t t = 0, e, d;
		switch (r.type) {
		case CAT_DL_PART:
			if (!(t = merge_tape(c, &r, pid, conflicts, &tapes)) ||
			    !(e = merge_entity(c, &r, pid, &ents))) {
				skip++;
				break;
			}
			cat_exec(c->db, NULL, "INSERT OR IGNORE INTO dumps (dump_uid,"
			    " entity_id, level, since, started, state, digest_alg) VALUES"
			    " (?, ?, ?, ?, ?, 'running', ?)", "tiittt", r.dump_id, e,
			    (int64_t)r.level, r.since, r.date, r.digest_alg);
			d = cat_int(c->db, 0, "SELECT id FROM dumps WHERE dump_uid = ?",
			    "t", r.dump_id);
			if (cat_exec(c->db, NULL, "INSERT OR IGNORE INTO dump_parts"
			    " (dump_id, part, tape_id, file, offset, bytes, blocks,"
			    " block_size, digest, trailer) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
			    " ?, ?)", "iiiiiiiiti", d, (int64_t)r.part, t, (int64_t)r.file,
			    (int64_t)r.offset, (int64_t)r.bytes, (int64_t)r.blocks,
			    (int64_t)r.block_size, r.digest,
			    (int64_t)(strcmp(r.status, "ok") == 0)) == 1) {
				parts++;
				cat_exec(c->db, NULL, "UPDATE tapes SET bytes = bytes + ?,"
				    " files = files + 2, last_written = max(coalesce("
				    "last_written, ''), ?) WHERE id = ?", "iti",
				    (int64_t)r.bytes, r.date, t);
			}
			break;
		case CAT_DL_DUMP:
			if (cat_int(c->db, -1, "SELECT count(*) FROM dump_parts WHERE"
			    " dump_id = (SELECT id FROM dumps WHERE dump_uid = ?)", "t",
			    r.dump_id) != (int64_t)r.part) {
				skip++;	/* its parts were not merged */
				break;
			}
			if (cat_exec(c->db, NULL, "UPDATE dumps SET state = ?, finished ="
			    " ?, bytes = ?, raw_bytes = ?, digest = ?, raw_digest = ?"
			    " WHERE dump_uid = ? AND state = 'running'", "ttiittt",
			    strcmp(r.status, "complete") == 0 ? "complete" : "failed",
			    r.date, (int64_t)r.bytes, (int64_t)r.raw_bytes, r.digest,
			    r.raw_digest, r.dump_id) == 1)
				dumps++;
			break;
		case CAT_DL_BAD:
			/* A cartridge that failed may hold no part at all. */
			if (!merge_tape(c, &r, pid, conflicts, &tapes)) {
				skip++;
				break;
			}
			if (cat_exec(c->db, NULL, "UPDATE tapes SET state ="
			    " 'out-of-service' WHERE tape_id = ? AND state !="
			    " 'out-of-service'", "t", r.tape_id) == 1)
				bad++;
			break;
		case CAT_DL_ERROR:
			if (!merge_tape(c, &r, pid, conflicts, &tapes)) {
				skip++;
				break;
			}
			/* Once per event: the same kind, tape and time. */
			if (!cat_int(c->db, 0, "SELECT count(*) FROM error_events ev"
			    " JOIN tapes t ON t.id = ev.tape_id WHERE t.tape_id = ? AND"
			    " ev.kind = ? AND ev.at = ?", "ttt", r.tape_id, r.status,
			    r.date) && cat_exec(c->db, NULL, "INSERT INTO error_events"
			    " (at, tape_id, kind, message) VALUES (?, (SELECT id FROM"
			    " tapes WHERE tape_id = ?), ?, ?)", "tttt", r.date, r.tape_id,
			    r.status, "merged from a dump log") == 1)
				errs++;
			break;
		}
	}
	if (cat_commit(c->db, dberr) < 0) {
		json_decref(conflicts);
		return db_fail(code, err, dberr);
	}
	return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o}", "parts", parts,
	    "dumps", dumps, "tapes_added", tapes, "entities_added", ents,
	    "errors", errs, "bad_tapes", bad, "skipped", skip, "conflicts",
	    conflicts);
}

static json_t *
h_engine_register(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct drive *d = ctld_drive(c, str(a, "drive"), true);

	if (!d || !valid_name(str(a, "drive")))
		FAIL("bad-args", "bad drive name");
	if (d->engine && d->engine != cl)
		FAIL("busy", "drive %s is already served by pid %d", d->name,
		    (int)d->engine->pid);
	d->engine = cl;
	cl->drive = d;
	snprintf(d->device, sizeof(d->device), "%s", str(a, "device"));
	d->state = "idle";
	d->want_label[0] = '\0';
	cat_exec(c->db, NULL, "INSERT INTO drives (name, device, last_seen) VALUES"
	    " (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now')) ON CONFLICT(name) DO"
	    " UPDATE SET device = excluded.device, last_seen = excluded.last_seen",
	    "tt", d->name, d->device);
	ctld_message(c, d, "info", "media server pid %d on %s", (int)cl->pid,
	    d->device);
	ctld_dispatch(c, d);
	return json_pack("{s:s}", "drive", d->name);
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
	const char *pool = str(data, "pool") ? str(data, "pool") : "default";
	json_t *rows, *r, *pick = NULL, *s;
	size_t i, j;

	release_reservation(c, d);
	rows = cat_rows(c->db, NULL, next_tapes_sql, "ti", pool, (int64_t)1000);
	json_array_foreach(rows, i, r) {
		bool skipped = false;
		json_array_foreach(d->skip, j, s)
			if (strcmp(json_string_value(s), str(r, "label")) == 0)
				skipped = true;
		if (!skipped) {
			pick = json_incref(r);
			break;
		}
	}
	json_decref(rows);
	if (!pick) {
		ctld_error_event(c, d, NULL, d->job, "no-tape", "no writable tape "
		    "left in pool %s", pool);
		FAIL("no-tape", "no writable tape left in pool %s", pool);
	}
	cat_exec(c->db, NULL, "UPDATE tapes SET state = 'reserved' WHERE tape_id = ?",
	    "t", str(pick, "tape_id"));
	snprintf(d->reserved, sizeof(d->reserved), "%s", str(pick, "tape_id"));
	snprintf(d->want_label, sizeof(d->want_label), "%s", str(pick, "label"));
	d->state = "load-media";
	check_pool_low(c, d, pool);
	return pick;
}

static json_t *
record_part(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int64_t tape = cat_int(c->db, 0, "SELECT id FROM tapes WHERE tape_id = ?",
	    "t", str(p, "tape_id"));

	if (!tape)
		FAIL("not-found", "part on unknown tape %s", str(p, "tape_id"));
	if (cat_begin(c->db, dberr) < 0)
		return db_fail(code, err, dberr);
	if (cat_exec(c->db, dberr, "INSERT OR IGNORE INTO dumps (dump_uid,"
	    " entity_id, job_id, level, since, started, state, digest_alg) VALUES"
	    " (?, (SELECT id FROM entities WHERE name = ?), ?, ?, ?, ?, 'running',"
	    " ?)", "ttiittt", str(p, "dump"), str(p, "entity"), d->job,
	    num(p, "level", 0), str(p, "since"), str(p, "date"),
	    str(p, "digest_alg")) < 0 ||
	    cat_exec(c->db, dberr, "INSERT INTO dump_parts (dump_id, part, tape_id,"
	    " file, offset, bytes, blocks, block_size, digest, trailer) VALUES"
	    " ((SELECT id FROM dumps WHERE dump_uid = ?), ?, ?, ?, ?, ?, ?, ?, ?,"
	    " ?)", "tiiiiiiiti", str(p, "dump"), num(p, "part", 0), tape,
	    num(p, "file", 0), num(p, "offset", 0), num(p, "bytes", 0),
	    num(p, "blocks", 0), num(p, "block_size", 0), str(p, "digest"),
	    (int64_t)(str(p, "status") && strcmp(str(p, "status"), "ok") == 0)) < 0 ||
	    cat_exec(c->db, dberr, "UPDATE tapes SET ever_written = 1, state ="
	    " CASE WHEN state = 'blank' THEN 'appendable' ELSE state END,"
	    " bytes = bytes + ?, files = files + 2, last_written ="
	    " strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?", "ii",
	    num(p, "bytes", 0), tape) < 0) {
		cat_rollback(c->db);
		return db_fail(code, err, dberr);
	}
	if (cat_commit(c->db, dberr) < 0)
		return db_fail(code, err, dberr);
	return json_pack("{s:b}", "recorded", 1);
}

static json_t *
record_dump(struct ctld *c, json_t *p, const char **code, char *err)
{
	int64_t parts = cat_int(c->db, 0, "SELECT count(*) FROM dump_parts WHERE"
	    " dump_id = (SELECT id FROM dumps WHERE dump_uid = ?)", "t",
	    str(p, "dump"));

	/* Complete only when every part is recorded. */
	if (parts != num(p, "part", -1))
		FAIL("incomplete", "dump %s: %lld of %lld parts recorded",
		    str(p, "dump"), (long long)parts, (long long)num(p, "part", -1));
	cat_exec(c->db, NULL, "UPDATE dumps SET state = 'complete', finished ="
	    " strftime('%Y-%m-%dT%H:%M:%SZ','now'), bytes = ?, raw_bytes = ?,"
	    " digest = ?, raw_digest = ? WHERE dump_uid = ?", "iittt",
	    num(p, "bytes", 0), num(p, "raw_bytes", 0), str(p, "digest"),
	    str(p, "raw_digest"), str(p, "dump"));
	return json_pack("{s:b}", "complete", 1);
}

static json_t *
h_engine_event(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct drive *d = cl->drive;
	const char *ev = str(a, "event");
	json_t *data = json_object_get(a, "data");

	if (!d)
		FAIL("not-registered", "register the drive first (engine-register)");
	if (!data)
		data = json_object_get(a, "args");	/* tolerate none */
	if (strcmp(ev, "next-tape") == 0)
		return ev_next_tape(c, d, data, code, err);
	if (strcmp(ev, "mount-request") == 0) {
		d->state = "load-media";
		snprintf(d->want_label, sizeof(d->want_label), "%s",
		    str(data, "label") ? str(data, "label") : "");
		ctld_message(c, d, "warning", "MOUNT REQUEST: put %s in %s, then run"
		    " abs-ctl mounted %s (or abs-ctl unavailable %s)", d->want_label,
		    d->name, d->name, d->want_label);
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "mount-rejected") == 0) {
		ctld_message(c, d, "warning", "cartridge refused: %s; still asking"
		    " for %s", str(data, "why") ? str(data, "why") : "?",
		    d->want_label);
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "unavailable") == 0) {
		/* The library lacks it or it is the wrong cartridge. */
		release_reservation(c, d);
		json_array_append_new(d->skip, json_string(str(data, "label") ?
		    str(data, "label") : ""));
		ctld_error_event(c, d, str(data, "label"), d->job, "unavailable",
		    "%s", str(data, "why") ? str(data, "why") : "not available");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "loaded") == 0) {
		ctld_message(c, d, "info", "%s loaded", d->want_label);
		d->want_label[0] = '\0';
		d->state = d->restoring ? "restoring" : "writing";
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "part") == 0)
		return record_part(c, d, data, code, err);
	if (strcmp(ev, "dump") == 0)
		return record_dump(c, data, code, err);
	if (strcmp(ev, "tape-full") == 0) {
		cat_exec(c->db, NULL, "UPDATE tapes SET state = 'full' WHERE tape_id = ?"
		    " AND state IN ('appendable', 'blank', 'reserved')", "t",
		    str(data, "tape_id"));
		if (strcmp(d->reserved, str(data, "tape_id") ? str(data, "tape_id") :
		    "") == 0)
			d->reserved[0] = '\0';
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "tape-labelled") == 0) {
		cat_exec(c->db, NULL, "UPDATE tapes SET ever_written = 1 WHERE"
		    " tape_id = ?", "t", str(data, "tape_id"));
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "tape-recycled") == 0) {
		/* Its old dumps are gone from tape: they expire. */
		int64_t t = cat_int(c->db, 0, "SELECT id FROM tapes WHERE tape_id = ?",
		    "t", str(data, "tape_id"));
		cat_exec(c->db, NULL, "UPDATE dumps SET state = 'expired' WHERE id IN"
		    " (SELECT dump_id FROM dump_parts WHERE tape_id = ?)", "i", t);
		cat_exec(c->db, NULL, "UPDATE tapes SET bytes = 0, files = 0 WHERE"
		    " id = ?", "i", t);
		ctld_message(c, d, "info", "%s recycled; its old dumps expired",
		    str(data, "label") ? str(data, "label") : "?");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "bad-tape") == 0) {
		cat_exec(c->db, NULL, "UPDATE tapes SET state = 'out-of-service'"
		    " WHERE tape_id = ?", "t", str(data, "tape_id"));
		ctld_error_event(c, d, str(data, "label"), d->job, "bad-tape", "%s",
		    str(data, "why") ? str(data, "why") : "cartridge failed");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "error") == 0) {
		ctld_error_event(c, d, str(data, "label"), d->job,
		    str(data, "kind") ? str(data, "kind") : "error", "%s",
		    str(data, "message") ? str(data, "message") : "?");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "verified") == 0) {
		cat_exec(c->db, NULL, "INSERT INTO verifications (tape_id, dump_id,"
		    " kind, checked, bad) VALUES ((SELECT id FROM tapes WHERE tape_id ="
		    " ?), (SELECT id FROM dumps WHERE dump_uid = ?), 'spot', ?, ?)",
		    "ttii", str(data, "tape_id"), str(data, "dump"),
		    num(data, "checked", 0), num(data, "bad", 0));
		if (num(data, "bad", 0) > 0)
			ctld_error_event(c, d, NULL, d->job, "verify-mismatch",
			    "read-after-write check found %lld bad blocks on tape %s",
			    (long long)num(data, "bad", 0), str(data, "tape_id") ?
			    str(data, "tape_id") : "?");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "progress") == 0) {
		if (num(data, "bytes", 0) > 0)
			d->bytes = (uint64_t)num(data, "bytes", 0);
		if (json_is_number(json_object_get(data, "rate")))
			d->rate = json_number_value(json_object_get(data, "rate"));
		static const char *const states[] = { "writing", "verifying",
		    "unloading", "restoring", "load-media" };
		for (size_t i = 0; str(data, "state") && i < 5; i++)
			if (strcmp(str(data, "state"), states[i]) == 0)
				d->state = states[i];
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "message") == 0) {
		ctld_message(c, d, str(data, "level") ? str(data, "level") : "info",
		    "%s", str(data, "text") ? str(data, "text") : "");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(ev, "result") == 0) {
		const char *state = json_is_true(json_object_get(data, "ok")) ? "done" :
		    json_is_true(json_object_get(data, "aborted")) ? "aborted" :
		    "failed";
		cat_exec(c->db, NULL, "UPDATE jobs SET state = ?, finished ="
		    " strftime('%Y-%m-%dT%H:%M:%SZ','now'), detail = coalesce(?,"
		    " detail) WHERE id = ?", "tti", state, str(data, "error"), d->job);
		if (strcmp(state, "done") != 0)
			cat_exec(c->db, NULL, "UPDATE dumps SET state = ? WHERE job_id ="
			    " ? AND state = 'running'", "ti",
			    strcmp(state, "aborted") == 0 ? "aborted" : "failed", d->job);
		ctld_message(c, d, strcmp(state, "done") ? "error" : "info",
		    "job %lld %s%s%s", (long long)d->job, state,
		    str(data, "error") ? ": " : "",
		    str(data, "error") ? str(data, "error") : "");
		release_reservation(c, d);
		d->job = 0;
		d->state = "idle";
		d->want_label[0] = '\0';
		ctld_dispatch(c, d);
		return json_pack("{s:s}", "job", state);
	}
	FAIL("bad-args", "unknown engine event %s", ev);
}

/* The handshake: the client's version was checked before (ctld.c). */
static json_t *
h_hello(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a; (void)code; (void)err;
	return json_pack("{s:i,s:s}", "version", PROTO_VERSION, "server",
	    "abs-ctld");
}

/*
 * The handler column of the one request table (proto/requests.def): row
 * REQ(id, ...) is handled by h_<id>, so a row without its handler is a
 * compile error here.
 */
static ctld_handler_fn *const handlers[PROTO_NREQ] = {
#define REQ(id, name, roles, flags, args, usage, help) \
	[PROTO_REQ_##id] = h_##id,
#include "proto/requests.def"
#undef REQ
};

/* The handler of a row. */
ctld_handler_fn *
ctld_handler(const struct proto_op *op)
{
	if (op < proto_ops || op >= proto_ops + PROTO_NREQ)
		return NULL;
	return handlers[op - proto_ops];
}

/* Run a request's handler. */
json_t *
ctld_handle(struct ctld *c, struct client *cl, const struct proto_op *op,
    json_t *args, const char **code, char *err)
{
	ctld_handler_fn *fn = ctld_handler(op);

	if (!fn) {
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "%s has no handler", op->name);
		return NULL;
	}
	return fn(c, cl, args, code, err);
}
