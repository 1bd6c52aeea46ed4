/*
 * abs-ctld's engine events (control/events.c): every row of the table is
 * well formed and found by name, and a dump job driven through the events
 * reaches a real catalog file - the tape chosen and reserved, the part and
 * the dump recorded, a check's bad blocks an exception, the job done and
 * the tape released - while a catalog that cannot be written answers with
 * a catalog error, not a missing tape.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/db_int.h"
#include "common/log.h"
#include "control/ctld.h"
#include "t.h"

static void
test_table(void)
{
	for (size_t i = 0; i < ctld_nevents; i++) {
		const struct ctld_event *ev = &ctld_events[i];
		const char *p = ev->data;
		char name[64], type;
		bool opt;

		CHECK(ev->name && ev->name[0] && ev->fn && ev->data);
		CHECK(ctld_event_find(ev->name) == ev);	/* found, and unique */
		while (proto_spec_next(&p, name, sizeof(name), &type, &opt))
			CHECK(strchr("sifboa", type) != NULL);
		while (*p == ' ')
			p++;
		CHECK(*p == '\0');			/* the whole spec parsed */
	}
	CHECK(ctld_event_find("nosuch") == NULL);
	CHECK(ctld_event_find(NULL) == NULL);
}

/*
 * abs-ctld checks an event's data against its row before the handler:
 * required fields present, named ones typed, optional ones may be null.
 */
static void
test_data_check(void)
{
	char err[PROTO_ERRLEN];

	for (size_t i = 0; i < ctld_nevents; i++) {
		const struct ctld_event *ev = &ctld_events[i];
		const char *p = ev->data;
		char name[64], type;
		bool opt, required = false;
		json_t *empty = json_object(), *wrong = json_object(),
		    *null = json_object();

		while (proto_spec_next(&p, name, sizeof(name), &type, &opt)) {
			required |= !opt;
			/* An array is none of s, i, f, b, o. */
			json_object_set_new(wrong, name, json_array());
			json_object_set_new(null, name, json_null());
		}
		CHECK_EQ(ctld_event_check(ev, empty, err), required ? -EINVAL : 0);
		if (required)
			CHECK(strstr(err, "missing") != NULL);
		if (json_object_size(wrong)) {
			CHECK_EQ(ctld_event_check(ev, wrong, err), -EINVAL);
			CHECK(strstr(err, " must be ") != NULL);
		}
		CHECK_EQ(ctld_event_check(ev, null, err), required ? -EINVAL : 0);
		json_t *arr = json_array();
		CHECK_EQ(ctld_event_check(ev, arr, err), -EINVAL);
		json_decref(arr);
		json_decref(empty);
		json_decref(wrong);
		json_decref(null);
	}
	const struct ctld_event *ev = ctld_event_find("result");
	json_t *d = json_pack("{s:b,s:n,s:i}", "ok", 1, "error", "extra", 3);
	CHECK_EQ(ctld_event_check(ev, d, err), 0);	/* extra fields pass */
	json_decref(d);
	d = json_pack("{s:i}", "ok", 1);
	CHECK_EQ(ctld_event_check(ev, d, err), -EINVAL);
	CHECK(strstr(err, "result event: 'ok' must be true or false") != NULL);
	json_decref(d);
}

/* Run one event with data (owned); the reply, *code set on failure. */
static json_t *
event(struct ctld *c, struct drive *d, const char *name, json_t *data,
    const char **code, char *err)
{
	const struct ctld_event *ev = ctld_event_find(name);
	json_t *r;

	*code = NULL;
	err[0] = '\0';
	CHECK(ev != NULL);
	r = ev ? ev->fn(c, d, data, code, err) : NULL;
	json_decref(data);
	return r;
}

/* Keep a tape's state and ID. */
static int
keep_tape(const struct cat_tape *t, void *arg)
{
	char *s = arg;

	snprintf(s, 100, "%s %s", t->state, t->tape_id);
	return 0;
}

/* A tape's "state tape_id". */
static const char *
tape(struct ctld *c, const char *label)
{
	static char s[100];
	char err[CAT_ERRLEN];

	s[0] = '\0';
	cat_tape_get(c->db, label, keep_tape, s, err);
	return s;
}

static char dir[] = "/tmp/abs-test-events-XXXXXX", path[80];

/* The site: drive d0 served by cl, entity e1, tapes A1 A2, a dump job. */
static struct drive *
site(struct ctld *c, struct client *cl)
{
	const char *labels[] = { "A1", "A2" }, *e1[] = { "e1" };
	char err[CAT_ERRLEN];
	struct drive *d;
	int64_t job;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	CHECK_EQ(cat_open(path, &c->db, err), 0);
	log_init("abs-ctld", LOG_LVL_QUIET, 0);
	cl->fd = -1;
	d = ctld_drive(c, "d0", true);
	d->engine = cl;
	d->state = "idle";
	cl->drive = d;
	CHECK_EQ(cat_drive_seen(c->db, "d0", "vtape:/x", err), 0);
	CHECK_EQ(cat_entity_add(c->db, "e1", "dir:/tmp", "default", "default",
	    err), 0);
	CHECK_EQ(cat_tapes_add(c->db, "default", labels, 2, NULL, NULL, err), 2);
	CHECK_EQ(cat_jobs_add(c->db, "dump", "d0", e1, 1, 0, "level=0", &job,
	    err), 1);
	return d;
}

static void
test_job(void)
{
	struct ctld c = { 0 };
	struct client cl = { 0 };
	struct drive *d = site(&c, &cl);
	const char *code;
	char err[PROTO_ERRLEN], tid[64];
	json_t *r;

	/* The idle drive gets the queued job. */
	ctld_dispatch(&c, d);
	CHECK_EQ(d->job, 1);
	CHECK(cl.out && strstr(cl.out, "\"event\":\"job\"") &&
	    strstr(cl.out, "\"entity\":\"e1\""));
	r = event(&c, d, "next-tape", json_pack("{s:s}", "pool", "default"),
	    &code, err);
	CHECK(r && strcmp(json_string_value(json_object_get(r, "label")),
	    "A1") == 0);
	json_decref(r);
	CHECK(strncmp(tape(&c, "A1"), "reserved ", 9) == 0);
	snprintf(tid, sizeof(tid), "%s", tape(&c, "A1") + 9);
	CHECK(strcmp(d->reserved, tid) == 0 && strcmp(d->want_label, "A1") == 0);
	json_decref(event(&c, d, "loaded", json_object(), &code, err));
	CHECK(!d->want_label[0] && strcmp(d->state, "writing") == 0);
	r = event(&c, d, "part", json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:i,s:i,"
	    "s:i,s:i,s:s}", "dump", "u1", "entity", "e1", "date",
	    "2026-01-01T00:00:00Z", "level", 0, "tape_id", tid, "file", 1, "part",
	    1, "bytes", 10, "blocks", 1, "block_size", 512, "status", "ok"),
	    &code, err);
	CHECK(json_is_true(json_object_get(r, "recorded")));
	json_decref(r);
	CHECK(!event(&c, d, "part", json_pack("{s:s,s:s}", "dump", "u1",
	    "tape_id", "nosuch"), &code, err));
	CHECK(code && strcmp(code, "not-found") == 0);
	CHECK(!event(&c, d, "dump", json_pack("{s:s,s:i}", "dump", "u1", "part",
	    2), &code, err));
	CHECK(code && strcmp(code, "incomplete") == 0);
	r = event(&c, d, "dump", json_pack("{s:s,s:i,s:i}", "dump", "u1", "part",
	    1, "bytes", 10), &code, err);
	CHECK(json_is_true(json_object_get(r, "complete")));
	json_decref(r);
	json_decref(event(&c, d, "verified", json_pack("{s:s,s:s,s:i,s:i}",
	    "tape_id", tid, "dump", "u1", "checked", 5, "bad", 1), &code, err));
	json_decref(event(&c, d, "progress", json_pack("{s:i,s:f,s:s}", "bytes",
	    5, "rate", 1.0, "state", "verifying"), &code, err));
	CHECK(strcmp(d->state, "verifying") == 0 && d->bytes == 5);
	r = event(&c, d, "result", json_pack("{s:b}", "ok", 1), &code, err);
	CHECK(r && strcmp(json_string_value(json_object_get(r, "job")),
	    "done") == 0);
	json_decref(r);
	CHECK(d->job == 0 && strcmp(d->state, "idle") == 0 && !d->reserved[0]);
	CHECK(strncmp(tape(&c, "A1"), "appendable ", 11) == 0);

	/*
	 * The drive runs no job now: every event about a job is refused
	 * (loaded would have set the state to writing), the others are
	 * checked: a tape the catalog does not know is not found, a message
	 * of an unknown level or a progress of an unknown state is refused.
	 */
	for (size_t i = 0; i < ctld_nevents; i++) {
		const struct proto_op *op = proto_find("engine-event");
		json_t *a = json_pack("{s:s,s:{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,"
		    "s:i,s:i,s:b,s:s}}", "event", ctld_events[i].name, "data",
		    "tape_id", "nosuch", "dump", "u1", "entity", "e1", "file", 1,
		    "part", 1, "offset", 0, "bytes", 1, "blocks", 1, "block_size",
		    512, "checked", 1, "ok", 1, "text", "hello");
		json_object_set_new(json_object_get(a, "data"), "date",
		    json_string("2026-01-01T00:00:00Z"));
		json_object_set_new(json_object_get(a, "data"), "bad",
		    json_integer(0));
		code = NULL;
		r = ctld_handle(&c, &cl, op, a, &code, err);
		json_decref(a);
		if (strcmp(ctld_events[i].name, "commit") == 0 ||
		    strcmp(ctld_events[i].name, "commit-failed") == 0 ||
		    strncmp(ctld_events[i].name, "archive-", 8) == 0) {
			/* 'lines', 'jobs' or 'archive' missing: refused as such */
			CHECK(!r && code && strstr(err, "missing") != NULL);
		} else if (ctld_events[i].job) {
			CHECK(!r && code && strcmp(code, "not-waiting") == 0);
			CHECK(strstr(err, "runs no job") != NULL);
		} else if (strcmp(ctld_events[i].name, "unloaded") == 0) {
			CHECK(r != NULL);	/* nobody waited for it: nothing */
		} else if (strncmp(ctld_events[i].name, "scan-", 5) == 0 ||
		    strcmp(ctld_events[i].name, "tapealert") == 0 ||
		    strcmp(ctld_events[i].name, "device") == 0) {
			/* no scan runs; a library event's data is refused */
			CHECK(!r && code);
		} else if (strcmp(ctld_events[i].name, "message") &&
		    strcmp(ctld_events[i].name, "error")) {
			CHECK(!r && code && strcmp(code, "not-found") == 0);
			CHECK(strstr(err, "no tape with ID nosuch") != NULL);
		} else {
			CHECK(r != NULL);
		}
		json_decref(r);
	}
	CHECK(strcmp(d->state, "idle") == 0);
	CHECK(!event(&c, d, "message", json_pack("{s:s,s:s}", "level", "loud",
	    "text", "x"), &code, err));
	CHECK(code && strcmp(code, "bad-args") == 0);
	CHECK(!event(&c, d, "progress", json_pack("{s:s}", "state", "dancing"),
	    &code, err));
	CHECK(code && strcmp(code, "bad-args") == 0);
	CHECK(strcmp(d->state, "idle") == 0);

	/* A catalog that refuses writes: a catalog error, not "no-tape". */
	sqlite3_exec(c.db->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
	CHECK(!event(&c, d, "next-tape", json_object(), &code, err));
	CHECK(code && strcmp(code, "catalog") == 0 && strstr(err, "readonly"));
	CHECK(!event(&c, d, "tape-full", json_pack("{s:s}", "tape_id", tid),
	    &code, err));
	CHECK(code && strcmp(code, "catalog") == 0);
	CHECK(!event(&c, d, "result", json_pack("{s:b}", "ok", 0), &code, err) ||
	    1);
	CHECK(strcmp(d->state, "idle") == 0);	/* the drive is free anyway */

	json_decref(d->msgs);
	json_decref(d->skip);
	free(d);
	free(cl.out);
	cat_close(c.db);
	t_unlink_db(path);
	rmdir(dir);
}

int
main(void)
{
	test_table();
	test_data_check();
	test_job();
	T_DONE();
}
