/*
 * The catalog's jobs, drives and messages: queueing, the next job of a
 * drive, start, estimate, abort, the end of a job and of its dumps; and
 * their error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char ids[128], state[32], entity[64], pool[64], last_full[32];
	char detail[64];
};

/* Keep the row count, ids in order and the last job. */
static int
keep(const struct cat_job *j, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->ids);

	s->n++;
	snprintf(s->ids + l, sizeof(s->ids) - l, "%s%lld", l ? " " : "",
	    (long long)j->id);
	snprintf(s->state, sizeof(s->state), "%s", j->state);
	snprintf(s->entity, sizeof(s->entity), "%s", j->entity);
	snprintf(s->pool, sizeof(s->pool), "%s", j->pool ? j->pool : "(null)");
	snprintf(s->last_full, sizeof(s->last_full), "%s",
	    j->last_full ? j->last_full : "(null)");
	snprintf(s->detail, sizeof(s->detail), "%s",
	    j->detail ? j->detail : "(null)");
	return 0;
}

/* The state of dump dump_uid. */
static const char *
dump_state(struct cat_db *db, const char *uid)
{
	static char st[32];
	sqlite3_stmt *q;

	st[0] = '\0';
	sqlite3_prepare_v2(db->db, "SELECT state FROM dumps WHERE dump_uid = ?",
	    -1, &q, NULL);
	sqlite3_bind_text(q, 1, uid, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(st, sizeof(st), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return st;
}

static void
test_jobs(struct cat_db *db)
{
	const char *ents[] = { "e1", "e2" };
	char err[CAT_ERRLEN];
	int64_t ids[2], job = 0, bytes = -1;
	struct seen s = { 0 };

	/* Site: job 1 running on d0 (e1, dump1 complete). */
	CHECK_EQ(cat_jobs_add(db, "dump", "d0", ents, 2, 1000, "level=1", ids,
	    err), 2);
	CHECK(ids[0] == 2 && ids[1] == 3);
	CHECK_EQ(cat_jobs_queued(db, keep, &s, err), 2);
	CHECK(strcmp(s.ids, "2 3") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_jobs_list(db, 2, keep, &s, err), 2);
	CHECK(strcmp(s.ids, "3 2") == 0);	/* newest first */
	CHECK_EQ(cat_job_next(db, "d0", &job, err), 1);
	CHECK_EQ(job, 2);
	CHECK_EQ(cat_job_next(db, "nosuch", &job, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_job_get(db, 2, keep, &s, err), 1);
	CHECK(strcmp(s.entity, "e1") == 0 && strcmp(s.pool, "p") == 0);
	CHECK(strcmp(s.last_full, "2026-01-02T03:04:05Z") == 0);
	CHECK(strcmp(s.detail, "level=1") == 0);
	CHECK_EQ(cat_job_get(db, 99, keep, &s, err), -ENOENT);
	CHECK(strcmp(err, "no job 99") == 0);
	CHECK_EQ(cat_job_estimate(db, 2, &bytes, err), 0);
	CHECK_EQ(bytes, 2000);			/* dump1's raw bytes */
	CHECK_EQ(cat_job_estimate(db, 3, &bytes, err), 0);
	CHECK_EQ(bytes, 0);			/* e2: never dumped */
	CHECK_EQ(cat_job_start(db, 2, err), 1);
	CHECK_EQ(cat_job_abort_queued(db, 2, err), 0);	/* running */
	CHECK_EQ(cat_job_abort_queued(db, 3, err), 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_jobs_queued(db, keep, &s, err), 0);
}

/* How a job's end reaches its running dumps. */
static void
test_end(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	sqlite3_exec(db->db, "UPDATE dumps SET state = 'running', job_id = 2"
	    " WHERE dump_uid = 'dump1'", NULL, NULL, NULL);
	CHECK_EQ(cat_job_finish(db, 2, "lost", NULL, err), -EINVAL);
	CHECK_EQ(cat_job_finish(db, 2, "aborted", "stop", err), 0);
	CHECK(strcmp(dump_state(db, "dump1"), "aborted") == 0);
	CHECK_EQ(cat_jobs_list(db, 1, keep, &s, err), 1);
	sqlite3_exec(db->db, "UPDATE dumps SET state = 'running', job_id = 1"
	    " WHERE dump_uid = 'dump1'", NULL, NULL, NULL);
	CHECK_EQ(cat_job_lost(db, 1, "media server disconnected", err), 0);
	CHECK(strcmp(dump_state(db, "dump1"), "failed") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_job_get(db, 1, keep, &s, err), 1);
	CHECK(strcmp(s.state, "failed") == 0);
	CHECK(strcmp(s.detail, "media server disconnected") == 0);
	/* A job done leaves its dumps alone. */
	CHECK_EQ(cat_job_finish(db, 1, "done", NULL, err), 0);
	CHECK(strcmp(dump_state(db, "dump1"), "failed") == 0);
	CHECK_EQ(cat_drive_seen(db, "d0", "vtape:/y", err), 0);
	CHECK_EQ(cat_drive_seen(db, "d1", "vtape:/z", err), 0);
	CHECK_EQ(cat_message_add(db, "d0", 1, "info", "hello", err), 0);
	CHECK_EQ(cat_message_add(db, NULL, 0, "info", "no drive", err), 0);
}

/* A tape's state and the job holding it. */
static const char *
tape_state(struct cat_db *db, const char *label, int64_t *job)
{
	static char st[32];
	sqlite3_stmt *q;

	st[0] = '\0';
	*job = -1;
	sqlite3_prepare_v2(db->db, "SELECT state, coalesce(job_id, 0) FROM tapes"
	    " WHERE label = ?", -1, &q, NULL);
	sqlite3_bind_text(q, 1, label, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(st, sizeof(st), "%s", sqlite3_column_text(q, 0));
		*job = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	return st;
}

/* Keep a running job's id and tape. */
static int
keep_running(const struct cat_job *j, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->ids, sizeof(s->ids), "%lld", (long long)j->id);
	snprintf(s->detail, sizeof(s->detail), "%s", j->tape_id ? j->tape_id :
	    "(null)");
	return 0;
}

/*
 * What a crash leaves and how it is taken back: reservations held by jobs
 * and by nobody, running dumps without a job, aborting a job whose media
 * server is gone, and a media server's reports of its job (ours resumed,
 * another master's adopted once under our own id, ended, aborted here).
 */
static void
test_recover(void)
{
	struct cat_db *db = cat_t_open();
	const char *e2[] = { "e2" };
	char err[CAT_ERRLEN], a1[64], a2[64], site[64];
	int64_t job2 = 0, holder, released = -1, failed = -1, ours = 0, again;
	struct seen s = { 0 };
	struct cat_job_report r = { 0 };

	cat_t_site(db);
	CHECK_EQ(cat_site(db, site, sizeof(site), err), 0);
	CHECK_EQ(strlen(site), 16);
	snprintf(a1, sizeof(a1), "%s", cat_t_tape_id(db, "A1"));
	snprintf(a2, sizeof(a2), "%s", cat_t_tape_id(db, "A2"));
	/* Job 1 runs and holds A1; A2 is reserved by nobody (a crash). */
	CHECK_EQ(cat_tape_reserve(db, a1, 1, err), 1);
	CHECK_EQ(cat_tape_reserve(db, a2, 0, err), 1);
	CHECK_EQ(cat_jobs_add(db, "dump", "d0", e2, 1, 0, NULL, &job2, err), 1);
	CHECK_EQ(cat_tape_reserve(db, a1, job2, err), -EBUSY);	/* 1 has it */
	CHECK(strstr(err, "another running job") != NULL);
	CHECK_EQ(cat_tape_release(db, a1, job2, err), 0);	/* not its own */
	CHECK(strcmp(tape_state(db, "A1", &holder), "reserved") == 0);
	CHECK_EQ(holder, 1);
	CHECK_EQ(cat_jobs_running(db, keep_running, &s, err), 1);
	CHECK(strcmp(s.ids, "1") == 0 && strcmp(s.detail, a1) == 0);
	/* A running dump of no running job (merged from a journal). */
	sqlite3_exec(db->db, "INSERT INTO dumps (dump_uid, entity_id, started,"
	    " state) VALUES ('lone', 1, '2026-01-01T00:00:00Z', 'running')", NULL,
	    NULL, NULL);
	CHECK_EQ(cat_reconcile(db, &released, &failed, err), 2);
	CHECK_EQ(released, 1);
	CHECK_EQ(failed, 1);
	CHECK(strcmp(tape_state(db, "A2", &holder), "blank") == 0);
	CHECK(strcmp(tape_state(db, "A1", &holder), "reserved") == 0);
	CHECK(strcmp(dump_state(db, "lone"), "failed") == 0);
	CHECK_EQ(cat_reconcile(db, NULL, NULL, err), 0);	/* idempotent */

	/* Our job 1 reported running by its media server: it stays ours. */
	r.id = 1;
	r.site = site;
	r.kind = "dump";
	r.entity = "e1";
	r.drive = "d0";
	r.state = "running";
	r.dump_uid = "lone";
	r.tape_id = a1;
	CHECK_EQ(cat_job_lost(db, 1, "gone", err), 0);	/* grace expired */
	CHECK(strcmp(tape_state(db, "A1", &holder), "blank") == 0);
	sqlite3_exec(db->db, "UPDATE dumps SET job_id = 2 WHERE dump_uid ="
	    " 'lone'", NULL, NULL, NULL);
	CHECK_EQ(cat_job_adopt(db, &r, &ours, err), 0);
	CHECK_EQ(ours, 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_job_get(db, 1, keep, &s, err), 1);
	CHECK(strcmp(s.state, "running") == 0);
	CHECK(strcmp(tape_state(db, "A1", &holder), "reserved") == 0);
	CHECK_EQ(holder, 1);
	CHECK(strcmp(dump_state(db, "lone"), "failed") == 0);	/* not its own */
	/* The lone dump had no job: now it is job 1's, and running again. */
	sqlite3_exec(db->db, "UPDATE dumps SET job_id = NULL WHERE dump_uid ="
	    " 'lone'", NULL, NULL, NULL);
	CHECK_EQ(cat_job_adopt(db, &r, &ours, err), 0);
	CHECK(strcmp(dump_state(db, "lone"), "running") == 0);
	/* It ended while nobody heard: done; the tape goes back. */
	r.state = "done";
	CHECK_EQ(cat_job_adopt(db, &r, &ours, err), 0);
	CHECK(strcmp(tape_state(db, "A1", &holder), "blank") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_job_get(db, 1, keep, &s, err), 1);
	CHECK(strcmp(s.state, "done") == 0);

	/* Another master's job 1: a new job of ours, the same one again. */
	r.site = "0123456789abcdef";
	r.state = "running";
	r.dump_uid = NULL;
	CHECK_EQ(cat_job_adopt(db, &r, &ours, err), 0);
	CHECK(ours > job2);
	CHECK_EQ(cat_job_adopt(db, &r, &again, err), 0);
	CHECK_EQ(again, ours);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_job_get(db, ours, keep, &s, err), 1);
	CHECK(strcmp(s.state, "running") == 0);
	CHECK(strstr(s.detail, "job 1 of master 0123456789abcdef") != NULL);
	CHECK(strcmp(tape_state(db, "A1", &holder), "reserved") == 0);
	CHECK_EQ(holder, ours);
	/* Aborted here while its media server is away: it must stop. */
	CHECK_EQ(cat_job_abort(db, ours, "by uid 0", err), 1);
	CHECK(strcmp(tape_state(db, "A1", &holder), "blank") == 0);
	CHECK_EQ(cat_job_abort(db, ours, NULL, err), 0);	/* not running */
	CHECK_EQ(cat_job_adopt(db, &r, &again, err), 1);
	CHECK_EQ(again, ours);
	CHECK(strcmp(tape_state(db, "A1", &holder), "blank") == 0);
	/* Queued jobs abort too; bad reports are refused. */
	CHECK_EQ(cat_job_abort(db, job2, NULL, err), 1);
	r.state = "lost";
	CHECK_EQ(cat_job_adopt(db, &r, &again, err), -EINVAL);
	r.state = "running";
	r.id = 0;
	CHECK_EQ(cat_job_adopt(db, &r, &again, err), -EINVAL);
	cat_t_done(db);
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_jobs_list(db, 10, keep, &s, err);
}

static int
op_queued(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_jobs_queued(db, keep, &s, err);
}

static int
op_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_job_get(db, 1, keep, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	const char *e[] = { "e2" };
	int64_t id;

	return cat_jobs_add(db, "dump", "d0", e, 1, 0, NULL, &id, err);
}

static int
op_next(struct cat_db *db, char *err)
{
	int64_t job;

	return cat_job_next(db, "d0", &job, err);
}

static int
op_start(struct cat_db *db, char *err)
{
	return cat_job_start(db, 1, err);
}

static int
op_estimate(struct cat_db *db, char *err)
{
	int64_t b;

	return cat_job_estimate(db, 1, &b, err);
}

static int
op_abort(struct cat_db *db, char *err)
{
	return cat_job_abort_queued(db, 1, err);
}

static int
op_finish(struct cat_db *db, char *err)
{
	return cat_job_finish(db, 1, "failed", "x", err);
}

static int
op_lost(struct cat_db *db, char *err)
{
	return cat_job_lost(db, 1, "x", err);
}

static int
op_abort_running(struct cat_db *db, char *err)
{
	return cat_job_abort(db, 1, "x", err);
}

static int
op_running(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_jobs_running(db, keep_running, &s, err);
}

static int
op_reconcile(struct cat_db *db, char *err)
{
	return cat_reconcile(db, NULL, NULL, err);
}

static int
op_adopt(struct cat_db *db, char *err)
{
	struct cat_job_report r = { .id = 7, .site = "ffff", .entity = "e1",
	    .drive = "d0", .state = "running" };
	int64_t job;

	return cat_job_adopt(db, &r, &job, err);
}

static int
op_drive(struct cat_db *db, char *err)
{
	return cat_drive_seen(db, "d0", "x", err);
}

static int
op_message(struct cat_db *db, char *err)
{
	return cat_message_add(db, "d0", 1, "info", "x", err);
}

static int
op_ended(struct cat_db *db, char *err)
{
	int64_t e;

	return cat_job_ended(db, 1, &e, err);
}

/* The connection's synchronous setting (0 OFF .. 3 EXTRA). */
static int64_t
sync_of(struct cat_db *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->db, "PRAGMA synchronous", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * cat_job_ended: running is not ended, done/failed/aborted are, no such
 * job is 0. A message leaves the connection's synchronous setting as it
 * found it (it lowers it to NORMAL for its own commit only).
 */
static void
test_ended(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	const char *names[] = { "e1" };
	int64_t ids[1], ended = -1;

	CHECK(cat_jobs_add(db, "dump", "d0", names, 1, 0, "level=0", ids, err) >= 0);
	CHECK(cat_job_ended(db, ids[0], &ended, err) == 1 && ended == 0);
	CHECK(cat_job_start(db, ids[0], err) >= 0);
	CHECK(cat_job_ended(db, ids[0], &ended, err) == 1 && ended == 0);
	CHECK(cat_job_finish(db, ids[0], "failed", "why", err) >= 0);
	CHECK(cat_job_ended(db, ids[0], &ended, err) == 1 && ended == 1);
	CHECK(cat_job_ended(db, 999999, &ended, err) == 0);
	for (int want = 0; want <= 3; want++) {
		char sql[40];
		snprintf(sql, sizeof(sql), "PRAGMA synchronous=%d", want);
		sqlite3_exec(db->db, sql, NULL, NULL, NULL);
		CHECK(cat_message_add(db, "d0", ids[0], "info", "note", err) == 0);
		CHECK(sync_of(db) == want);
	}
	sqlite3_exec(db->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_jobs_list", op_list, false },
		{ "cat_jobs_queued", op_queued, false },
		{ "cat_job_get", op_get, false },
		{ "cat_jobs_add", op_add, true },
		{ "cat_job_next", op_next, false },
		{ "cat_job_start", op_start, true },
		{ "cat_job_estimate", op_estimate, false },
		{ "cat_job_abort_queued", op_abort, true },
		{ "cat_job_finish", op_finish, true },
		{ "cat_job_lost", op_lost, true },
		{ "cat_job_abort", op_abort_running, true },
		{ "cat_jobs_running", op_running, false },
		{ "cat_reconcile", op_reconcile, true },
		{ "cat_job_adopt", op_adopt, true },
		{ "cat_drive_seen", op_drive, true },
		{ "cat_message_add", op_message, true },
		{ "cat_job_ended", op_ended, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_jobs(db);
	test_end(db);
	test_ended(db);
	cat_t_done(db);
	test_recover();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
