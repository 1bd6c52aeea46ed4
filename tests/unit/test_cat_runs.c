/*
 * Nightly runs in the catalog (catalog/runs.c, catalog/history.c): a run
 * and its plan, its jobs with level, reason and attempt, what the report
 * reads of a night (dumps with tapes and files, tapes, errors, new and
 * vanished entities), the dump history, drive rates and a dump's base;
 * and their error paths on a broken catalog.
 */
#include "cat_t.h"

struct seen {
	int n;
	char text[512];
};

/* Append a printf-style line to s. */
static void
add(struct seen *s, const char *fmt, ...)
{
	size_t l = strlen(s->text);
	va_list ap;

	s->n++;
	va_start(ap, fmt);
	vsnprintf(s->text + l, sizeof(s->text) - l, fmt, ap);
	va_end(ap);
}

static int
keep_run(const struct cat_run *r, void *arg)
{
	add(arg, "%lld %s %s %s %s|", (long long)r->id, r->night, r->drives,
	    r->state, r->finished ? r->finished : "-");
	return 0;
}

static int
keep_plan(const struct cat_plan_row *p, void *arg)
{
	add(arg, "%s %s %lld %lld %s|", p->entity, p->drive ? p->drive : "-",
	    (long long)p->position, (long long)p->level, p->reason);
	return 0;
}

static int
keep_job(const struct cat_run_job *j, void *arg)
{
	add(arg, "%s %s L%lld #%lld %s %s %s|", j->entity, j->state,
	    (long long)j->level, (long long)j->attempt, j->reason,
	    j->dump_uid ? j->dump_uid : "-", j->tapes ? j->tapes : "-");
	return 0;
}

static int
keep_history(const struct cat_history *h, void *arg)
{
	add(arg, "%s L%lld %s %s %lld %s|", h->entity, (long long)h->level,
	    h->state, h->dump_uid, (long long)h->bytes,
	    h->base_uid ? h->base_uid : "-");
	return 0;
}

static int
keep_rate(const struct cat_drive_rate *r, void *arg)
{
	add(arg, "%s %lld %lld %.0f|", r->drive, (long long)r->dumps,
	    (long long)r->bytes, r->rate);
	return 0;
}

static int
keep_tape(const struct cat_tape *t, void *arg)
{
	add(arg, "%s %s|", t->label, t->state);
	return 0;
}

static int
keep_error(const struct cat_error_count *e, void *arg)
{
	add(arg, "%s %s %s %lld|", e->drive ? e->drive : "-",
	    e->label ? e->label : "-", e->kind, (long long)e->count);
	return 0;
}

static int
keep_change(const struct cat_entity_change *c, void *arg)
{
	add(arg, "%s %s|", c->entity, c->change);
	return 0;
}

/* A dump of entity by job: one part on tape label, complete. */
static void
dump_on(struct cat_db *db, int64_t job, const char *uid, const char *entity,
    int64_t level, const char *label, int64_t file, const char *started,
    const char *finished, int64_t bytes)
{
	char err[CAT_ERRLEN], tid[64];
	struct cat_part p = { .dump_uid = uid, .entity = entity, .level = level,
	    .started = started, .digest_alg = "xxh128", .part = 1, .file = file,
	    .bytes = bytes, .blocks = 1, .block_size = 512, .digest = "ab",
	    .ok = true, .written = finished };
	struct cat_dump d = { .dump_uid = uid, .bytes = bytes,
	    .raw_bytes = bytes * 2, .digest = "ab", .raw_digest = "cd",
	    .finished = finished };

	snprintf(tid, sizeof(tid), "%s", cat_t_tape_id(db, label));
	p.tape_id = tid;
	CHECK_EQ(cat_part_record(db, &p, job, err), 0);
	CHECK_EQ(cat_dump_complete(db, &d, 1, err), 0);
}

static void
test_runs(struct cat_db *db)
{
	struct cat_plan_row plan[] = {
		{ .entity = "e1", .drive = "d0", .position = 1, .level = 1,
		  .bytes = 500, .seconds = 5, .reason = "due" },
		{ .entity = "e2", .drive = NULL, .position = 0, .level = 0,
		  .bytes = 100, .seconds = 1, .reason = "window" },
	};
	struct cat_plan_row bad = { .entity = "nosuch", .reason = "due" };
	char err[CAT_ERRLEN];
	int64_t run = 0, job1 = 0, job2 = 0;
	struct seen s = { 0 };
	struct cat_base b;

	CHECK_EQ(cat_run_add(db, "2026-01-03", "d0", 1000,
	    "2026-01-03T22:00:00Z", &run, err), 0);
	CHECK_EQ(run, 1);
	CHECK_EQ(cat_run_add(db, "tonight", "d0", 0, "x", &run, err), -EINVAL);
	CHECK_EQ(cat_run_plan_add(db, 1, plan, 2, err), 2);
	/* A plan row naming no entity changes nothing (one transaction). */
	CHECK(cat_run_plan_add(db, 1, &bad, 1, err) < 0);
	CHECK_EQ(cat_run_plan_list(db, 1, NULL, keep_plan, &s, err), 2);
	CHECK(strcmp(s.text, "e1 d0 1 1 due|e2 - 0 0 window|") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_run_plan_list(db, 0, "2026-01-03", keep_plan, &s, err), 2);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_run_plan_list(db, 0, "2026-01-04", keep_plan, &s, err), 0);

	/* The base of e1's level 1 is dump1 (the site's full). */
	CHECK_EQ(cat_dump_base(db, "e1", 1, &b, err), 1);
	CHECK(strcmp(b.dump_uid, "dump1") == 0 && b.level == 0);
	CHECK(strcmp(b.started, "2026-01-02T03:04:05Z") == 0);
	CHECK_EQ(cat_dump_base(db, "e1", 0, &b, err), 0);
	CHECK_EQ(cat_dump_base(db, "e2", 1, &b, err), 0);

	/* First attempt fails on B1's error; the retry writes on A1. */
	CHECK_EQ(cat_run_job_add(db, run, "d0", "e1", 1, "due", 1, 1000, &job1,
	    err), 0);
	CHECK_EQ(cat_run_job_add(db, run, "d0", "nosuch", 1, "due", 1, 1000,
	    &job2, err), -ENOENT);
	CHECK_EQ(cat_run_job_add(db, run, "d0", "e1", 10, "due", 1, 1000,
	    &job2, err), -EINVAL);
	CHECK_EQ(cat_job_start(db, job1, err), 1);
	CHECK_EQ(cat_error_add(db, "d0", "B1", job1, "medium", "bad block",
	    err), 0);
	CHECK_EQ(cat_job_finish(db, job1, "failed", "medium error", err), 0);
	{
		char label[64];
		CHECK_EQ(cat_job_fault(db, job1, label, sizeof(label), err), 1);
		CHECK(strcmp(label, "B1") == 0);	/* the retry avoids it */
		CHECK_EQ(cat_job_fault(db, 99, label, sizeof(label), err), 0);
		CHECK(label[0] == '\0');
	}
	CHECK_EQ(cat_run_job_add(db, run, "d0", "e1", 1, "due", 2, 1000, &job2,
	    err), 0);
	CHECK_EQ(cat_job_start(db, job2, err), 1);
	dump_on(db, job2, "dump2", "e1", 1, "A1", 1, "2026-01-03T22:00:10Z",
	    "2026-01-03T22:00:20Z", 4000);
	CHECK_EQ(cat_job_finish(db, job2, "done", NULL, err), 0);
	CHECK_EQ(cat_dump_set_base(db, "dump2", "dump1", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_run_jobs(db, run, NULL, keep_job, &s, err), 2);
	CHECK(strcmp(s.text, "e1 failed L1 #1 due - -|"
	    "e1 done L1 #2 due dump2 A1:1|") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_run_jobs(db, 0, "2026-01-03", keep_job, &s, err), 2);

	/* History: both of e1's dumps, oldest first; the rate of d0. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_history_list(db, "e1", NULL, keep_history, &s, err), 2);
	CHECK(strcmp(s.text, "e1 L0 complete dump1 1000 -|"
	    "e1 L1 complete dump2 4000 dump1|") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_history_list(db, NULL, "2026-01-03", keep_history, &s,
	    err), 1);
	/* The newest of each level: the planner's view. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_history_last(db, keep_history, &s, err), 2);
	CHECK(strcmp(s.text, "e1 L0 complete dump1 1000 -|"
	    "e1 L1 complete dump2 4000 dump1|") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_drive_rates(db, 1, 0, keep_rate, &s, err), 1);
	CHECK(strcmp(s.text, "d0 1 4000 400|") == 0);	/* 4000 B in 10 s */
	CHECK_EQ(cat_drive_rates(db, 1, 4001, keep_rate, &s, err), 0);
	CHECK_EQ(cat_drive_rates(db, 0, 0, keep_rate, &s, err), -EINVAL);

	/* The night's tapes, errors and entity changes. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_night_tapes(db, "2026-01-03", keep_tape, &s, err), 1);
	CHECK(strcmp(s.text, "A1 appendable|") == 0);
	memset(&s, 0, sizeof(s));
	sqlite3_exec(db->db, "UPDATE entities SET vanished ="
	    " '2026-01-03T21:59:00Z' WHERE name = 'e2'", NULL, NULL, NULL);
	CHECK_EQ(cat_night_entities(db, "2026-01-03", keep_change, &s, err), 1);
	CHECK(strcmp(s.text, "e2 vanished|") == 0);

	/* The run ends; no run is running. */
	CHECK_EQ(cat_run_finish(db, run, "done", "2026-01-03T23:00:00Z",
	    "all dumped", err), 0);
	CHECK_EQ(cat_run_finish(db, run, "bogus", NULL, NULL, err), -EINVAL);
	CHECK_EQ(cat_run_finish(db, 99, "done", NULL, NULL, err), -ENOENT);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_runs_list(db, 0, 10, keep_run, &s, err), 1);
	CHECK(strcmp(s.text, "1 2026-01-03 d0 done 2026-01-03T23:00:00Z|") == 0);
	CHECK_EQ(cat_runs_list(db, 7, 0, keep_run, &s, err), -ENOENT);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_night_runs(db, "2026-01-03", keep_run, &s, err), 1);
	CHECK_EQ(cat_night_runs(db, "2026-01-04", keep_run, &s, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_runs_running(db, keep_run, &s, err), 0);
	/* Its job's error, not the site's one of another day. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_night_errors(db, "2026-01-03", keep_error, &s, err), 1);
	CHECK(strcmp(s.text, "d0 B1 medium 1|") == 0);
}

static int
op_plan_add(struct cat_db *db, char *err)
{
	struct cat_plan_row p = { .entity = "e1", .drive = "d0", .reason = "due" };

	return cat_run_plan_add(db, 1, &p, 1, err);
}

static int
op_job_add(struct cat_db *db, char *err)
{
	int64_t job;

	return cat_run_job_add(db, 1, "d0", "e1", 0, "due", 1, 0, &job, err);
}

static int
op_jobs(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_run_jobs(db, 1, NULL, keep_job, &s, err);
}

static int
op_history(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_history_list(db, NULL, NULL, keep_history, &s, err);
}

static int
op_last(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_history_last(db, keep_history, &s, err);
}

static int
op_rates(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_drive_rates(db, 5, 0, keep_rate, &s, err);
}

static int
op_base(struct cat_db *db, char *err)
{
	struct cat_base b;

	return cat_dump_base(db, "e1", 1, &b, err);
}

static int
op_fault(struct cat_db *db, char *err)
{
	char label[64];

	return cat_job_fault(db, 1, label, sizeof(label), err);
}

static int
op_tapes(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_night_tapes(db, "2026-01-03", keep_tape, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_run_plan_add", op_plan_add, true },
		{ "cat_run_job_add", op_job_add, true },
		{ "cat_run_jobs", op_jobs, false },
		{ "cat_history_list", op_history, false },
		{ "cat_history_last", op_last, false },
		{ "cat_drive_rates", op_rates, false },
		{ "cat_dump_base", op_base, false },
		{ "cat_night_tapes", op_tapes, false },
		{ "cat_job_fault", op_fault, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_runs(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
