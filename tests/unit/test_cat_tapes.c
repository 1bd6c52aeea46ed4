/*
 * The catalog's tapes: adding (IDs never reused, labels reused only after
 * destruction, the pool's limit), marks, reservations, the order of the
 * next tapes, which tapes hold an entity; and their error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char labels[256];	/* "A1 A2 ..." in row order */
	char state[32], tape_id[64];
	int64_t id, recycle;
};

/* Keep the row count, the labels in order and the last row. */
static int
keep(const struct cat_tape *t, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->labels);

	s->n++;
	snprintf(s->labels + l, sizeof(s->labels) - l, "%s%s", l ? " " : "",
	    t->label);
	snprintf(s->state, sizeof(s->state), "%s", t->state);
	snprintf(s->tape_id, sizeof(s->tape_id), "%s", t->tape_id);
	s->id = t->id;
	s->recycle = t->recycle;
	return 0;
}

/* The tape with label (a live one first). */
static struct seen
get(struct cat_db *db, const char *label)
{
	struct seen s = { 0 };
	char err[CAT_ERRLEN];

	if (cat_tape_get(db, label, keep, &s, err) < 0)
		s.state[0] = '\0';
	return s;
}

static void
test_add(struct cat_db *db)
{
	const char *two[] = { "C1", "C2" }, *dup[] = { "C3", "A1" },
	    *bad[] = { "C4", "no good" }, *four[] = { "B2", "B3", "B4", "B5" },
	    *a1[] = { "A1" };
	char err[CAT_ERRLEN], first_id[64];
	struct seen s = { 0 };
	int64_t first;

	CHECK_EQ(cat_tapes_add(db, "default", two, 2, keep, &s, err), 2);
	CHECK(strcmp(s.labels, "C1 C2") == 0 && strcmp(s.state, "blank") == 0);
	/* The tape ID: the site's 16 hex digits and the tape's own 16. */
	CHECK_EQ(strlen(s.tape_id), 32);
	CHECK_EQ(cat_tapes_add(db, "nosuch", two, 2, NULL, NULL, err), -ENOENT);
	CHECK(strcmp(err, "no pool nosuch") == 0);
	CHECK_EQ(cat_tapes_add(db, "default", bad, 2, NULL, NULL, err), -EINVAL);
	CHECK(strstr(err, "no good") != NULL);
	/* All or nothing: C3 is not added when A1 is refused. */
	CHECK_EQ(cat_tapes_add(db, "default", dup, 2, NULL, NULL, err), -EEXIST);
	CHECK(strstr(err, "label A1 is already in pool default") != NULL);
	CHECK_EQ(cat_tape_get(db, "C3", keep, &s, err), -ENOENT);
	CHECK(strcmp(err, "no tape labelled C3") == 0);
	/* Pool p holds at most 5 tapes; it has 1. */
	CHECK_EQ(cat_tapes_add(db, "p", four, 4, NULL, NULL, err), 4);
	CHECK_EQ(cat_tapes_add(db, "p", two, 1, NULL, NULL, err), -EDQUOT);
	CHECK(strstr(err, "may hold 5 tapes; it has 5") != NULL);
	/* A label is reused after destruction, under a new number and ID. */
	s = get(db, "A1");
	first = s.id;
	snprintf(first_id, sizeof(first_id), "%s", s.tape_id);
	CHECK_EQ(cat_tape_set_state(db, "A1", "destroyed", err), 1);
	CHECK_EQ(cat_tapes_add(db, "default", a1, 1, NULL, NULL, err), 1);
	s = get(db, "A1");
	CHECK(s.id > first && strcmp(s.state, "blank") == 0);
	CHECK(strcmp(s.tape_id, first_id) != 0);
	/* AUTOINCREMENT: a deleted row's number is not handed out again. */
	sqlite3_exec(db->db, "DELETE FROM tapes WHERE label = 'C2'", NULL, NULL,
	    NULL);
	int64_t c2 = s.id;
	const char *c5[] = { "C5" };
	CHECK_EQ(cat_tapes_add(db, "default", c5, 1, NULL, NULL, err), 1);
	CHECK(get(db, "C5").id > c2);
}

static void
test_states(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	const char *tid;

	CHECK_EQ(cat_tape_set_state(db, "A2", "lost", err), -EINVAL);
	CHECK_EQ(cat_tape_set_state(db, "nosuch", "appendable", err), -ENOENT);
	CHECK(strstr(err, "no tape labelled nosuch") != NULL);
	/* Back in service: blank if it never held data. */
	CHECK_EQ(cat_tape_set_state(db, "A2", "no-new-writes", err), 1);
	CHECK(strcmp(get(db, "A2").state, "no-new-writes") == 0);
	CHECK_EQ(cat_tape_set_state(db, "A2", "appendable", err), 1);
	CHECK(strcmp(get(db, "A2").state, "blank") == 0);
	tid = cat_t_tape_id(db, "A2");
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), 1);
	CHECK(strcmp(get(db, "A2").state, "reserved") == 0);
	CHECK_EQ(cat_tape_release(db, tid, 0, err), 1);
	CHECK(strcmp(get(db, "A2").state, "blank") == 0);
	CHECK_EQ(cat_tape_release(db, tid, 0, err), 0);	/* not reserved */
	CHECK_EQ(cat_tape_labelled(db, tid, err), 1);
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), 1);
	CHECK_EQ(cat_tape_release(db, tid, 0, err), 1);
	CHECK(strcmp(get(db, "A2").state, "appendable") == 0);
	CHECK_EQ(cat_tape_full(db, tid, err), 1);
	CHECK(strcmp(get(db, "A2").state, "full") == 0);
	CHECK_EQ(cat_tape_full(db, tid, err), 0);
	CHECK_EQ(cat_tape_bad(db, tid, err), 1);
	CHECK(strcmp(get(db, "A2").state, "out-of-service") == 0);
	/* A report on a tape the catalog does not have is not "done". */
	CHECK_EQ(cat_tape_bad(db, "nosuch", err), -ENOENT);
	CHECK(strcmp(err, "no tape with ID nosuch") == 0);
	CHECK_EQ(cat_tape_full(db, "nosuch", err), -ENOENT);
	CHECK_EQ(cat_tape_labelled(db, "nosuch", err), -ENOENT);
	CHECK_EQ(cat_tape_recycled(db, "nosuch", err), -ENOENT);
	CHECK_EQ(cat_tape_reserve(db, "nosuch", 0, err), -ENOENT);
	/* Out of service: not writable, not reservable. */
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), -EBUSY);
	CHECK(strstr(err, "not writable") != NULL);
	/* A full tape reserved for reuse and given back is full again. */
	CHECK_EQ(cat_tape_set_state(db, "A2", "appendable", err), 1);
	CHECK_EQ(cat_tape_full(db, tid, err), 1);
	/* Only once its pool's rule recycles it (keep_days: 30). */
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), -EBUSY);
	CHECK(strstr(err, "kept") != NULL);
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE tapes SET last_written ="
	    " '2020-01-01T00:00:00Z' WHERE label = 'A2'", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), 1);
	CHECK_EQ(cat_tape_release(db, tid, 0, err), 1);
	CHECK(strcmp(get(db, "A2").state, "full") == 0);
	/* Relabelled for reuse meanwhile: appendable when given back. */
	CHECK_EQ(cat_tape_reserve(db, tid, 0, err), 1);
	CHECK_EQ(cat_tape_recycled(db, tid, err), 1);
	CHECK_EQ(cat_tape_release(db, tid, 0, err), 1);
	CHECK(strcmp(get(db, "A2").state, "appendable") == 0);
}

/* A tapes-for row: keep the label and parts. */
static int
use(const struct cat_tape_use *u, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->labels, sizeof(s->labels), "%s", u->label);
	s->id = u->parts;
	return 0;
}

/* Which tape comes next, recycling included. */
static void
test_next(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	const char *b1 = cat_t_tape_id(db, "B1");

	/* p: B1 appendable (it holds dump1), then B2.. blank. */
	CHECK_EQ(cat_tapes_next(db, "p", 10, keep, &s, err), 5);
	CHECK(strcmp(s.labels, "B1 B2 B3 B4 B5") == 0);
	/* B1 full and old, its dump with no newer full: kept... */
	CHECK_EQ(cat_tape_full(db, b1, err), 1);
	sqlite3_exec(db->db, "UPDATE tapes SET last_written ="
	    " '2000-01-01T00:00:00Z' WHERE label = 'B1'", NULL, NULL, NULL);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_next(db, "p", 10, keep, &s, err), 4);
	/* ... until the pool keeps no fulls: then recycled, last. */
	CHECK_EQ(cat_pool_set(db, "p", -1, -1, 0, 0, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_next(db, "p", 10, keep, &s, err), 5);
	CHECK(strcmp(s.labels, "B2 B3 B4 B5 B1") == 0 && s.recycle == 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_next(db, "p", 2, keep, &s, err), 2);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_for_entity(db, "e1", use, &s, err), 1);
	CHECK(strcmp(s.labels, "B1") == 0 && s.id == 1);
	CHECK_EQ(cat_tapes_for_entity(db, "nosuch", use, &s, err), 0);
	/* Recycled: its dumps expire, its counters restart. */
	CHECK_EQ(cat_tape_recycled(db, b1, err), 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_for_entity(db, "e1", use, &s, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_list(db, "p", keep, &s, err), 5);
	CHECK_EQ(cat_tapes_list(db, NULL, keep, &s, err), 10);
}

/*
 * A newer full of the same entity started in the same second as the one
 * on a full cartridge (dates are kept to the second): it supersedes it
 * all the same, and the cartridge is recycled once the pool keeps one.
 */
static void
test_next_same_second(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN], tid[64];
	struct seen s = { 0 };
	int64_t job = 0;
	const char *e1[] = { "e1" };
	struct cat_part p = { .dump_uid = "dump2", .entity = "e1", .level = 0,
	    .started = "2026-01-02T03:04:05Z", .digest_alg = "xxh128",
	    .part = 1, .file = 1, .bytes = 1000, .blocks = 2, .block_size = 512,
	    .digest = "ab", .ok = true, .written = "2026-01-02T03:04:06Z" };
	struct cat_dump d = { .dump_uid = "dump2", .bytes = 1000,
	    .raw_bytes = 2000, .digest = "ab", .raw_digest = "cd",
	    .finished = "2026-01-02T03:04:06Z" };

	cat_t_site(db);		/* dump1 of e1 started 2026-01-02T03:04:05Z */
	sqlite3_exec(db->db, "UPDATE dumps SET finished = started", NULL, NULL,
	    NULL);
	CHECK_EQ(cat_pool_set(db, "p", -1, -1, 1, 0, err), 0);
	CHECK_EQ(cat_tape_full(db, cat_t_tape_id(db, "B1"), err), 1);
	CHECK_EQ(cat_tapes_next(db, "p", 10, keep, &s, err), 0);
	snprintf(tid, sizeof(tid), "%s", cat_t_tape_id(db, "A1"));
	p.tape_id = tid;
	CHECK(cat_jobs_add(db, "dump", "d0", e1, 1, 0, "level=0", &job,
	    err) >= 0);
	CHECK(cat_part_record(db, &p, job, err) >= 0);
	CHECK(cat_dump_complete(db, &d, 1, err) >= 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tapes_next(db, "p", 10, keep, &s, err), 1);
	CHECK(strcmp(s.labels, "B1") == 0 && s.recycle == 1);
	cat_t_done(db);
}

/* A callback that stops the query with an error of its own. */
static int
refuse(const struct cat_tape *t, void *arg)
{
	(void)t; (void)arg;
	return -ECANCELED;
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tapes_list(db, NULL, keep, &s, err);
}

static int
op_next(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tapes_next(db, "p", 5, keep, &s, err);
}

static int
op_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tape_get(db, "A1", keep, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	const char *l[] = { "Z1" };

	return cat_tapes_add(db, "default", l, 1, NULL, NULL, err);
}

static int
op_state(struct cat_db *db, char *err)
{
	return cat_tape_set_state(db, "A1", "no-new-writes", err);
}

static int
op_reserve(struct cat_db *db, char *err)
{
	return cat_tape_reserve(db, "x", 0, err);
}

static int
op_release(struct cat_db *db, char *err)
{
	return cat_tape_release(db, "x", 0, err);
}

static int
op_full(struct cat_db *db, char *err)
{
	return cat_tape_full(db, "x", err);
}

static int
op_labelled(struct cat_db *db, char *err)
{
	return cat_tape_labelled(db, "x", err);
}

static int
op_bad(struct cat_db *db, char *err)
{
	return cat_tape_bad(db, "x", err);
}

static int
op_recycled(struct cat_db *db, char *err)
{
	return cat_tape_recycled(db, "x", err);
}

static int
op_for(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tapes_for_entity(db, "e1", use, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_tapes_list", op_list, false },
		{ "cat_tapes_next", op_next, false },
		{ "cat_tape_get", op_get, false },
		{ "cat_tapes_add", op_add, true },
		{ "cat_tape_set_state", op_state, true },
		{ "cat_tape_reserve", op_reserve, true },
		{ "cat_tape_release", op_release, true },
		{ "cat_tape_full", op_full, true },
		{ "cat_tape_labelled", op_labelled, true },
		{ "cat_tape_bad", op_bad, true },
		{ "cat_tape_recycled", op_recycled, true },
		{ "cat_tapes_for_entity", op_for, false },
	};
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];

	cat_t_site(db);
	test_add(db);
	test_states(db);
	test_next(db);
	test_next_same_second();
	/* A callback's error stops the query and is the result. */
	CHECK_EQ(cat_tapes_list(db, NULL, refuse, NULL, err), -ECANCELED);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
