/*
 * The catalog's dumps and parts: recording parts, completing a dump only
 * with all its parts, finding the dump to restore, the last full and
 * incremental, a dump's and a tape's parts; and their error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	int64_t id, level, bytes, part;
	char uid[64], label[64], state[32];
	bool ok;
};

/* Keep the row count and the last dump. */
static int
keep(const struct cat_dump *d, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->id = d->id;
	s->level = d->level;
	s->bytes = d->bytes;
	snprintf(s->uid, sizeof(s->uid), "%s", d->dump_uid);
	snprintf(s->state, sizeof(s->state), "%s", d->state);
	return 0;
}

/* Keep the row count and the last part. */
static int
keep_part(const struct cat_part *p, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->part = p->part;
	s->ok = p->ok;
	snprintf(s->uid, sizeof(s->uid), "%s", p->dump_uid);
	snprintf(s->label, sizeof(s->label), "%s", p->label);
	snprintf(s->state, sizeof(s->state), "%s", p->dump_state);
	return 0;
}

/* A second dump of e1, level 1, in two parts on B1 and A1. */
static void
test_record(struct cat_db *db)
{
	char err[CAT_ERRLEN], b1[64], a1[64];
	struct cat_part p = { .dump_uid = "dump2", .entity = "e1", .level = 1,
	    .since = "2026-01-02T03:04:05Z", .started = "2026-01-03T00:00:00Z",
	    .digest_alg = "xxh128", .part = 1, .file = 3, .bytes = 500,
	    .blocks = 1, .block_size = 512, .digest = "p1", .ok = true };
	struct cat_dump d = { .dump_uid = "dump2", .bytes = 800,
	    .raw_bytes = 900, .digest = "dd", .raw_digest = "rr" };
	struct seen s = { 0 };

	snprintf(b1, sizeof(b1), "%s", cat_t_tape_id(db, "B1"));
	snprintf(a1, sizeof(a1), "%s", cat_t_tape_id(db, "A1"));
	p.tape_id = b1;
	CHECK_EQ(cat_part_record(db, &p, 1, err), 0);
	/* The same part twice is refused, not counted twice. */
	CHECK_EQ(cat_part_record(db, &p, 1, err), -EEXIST);
	p.tape_id = "nosuch";
	CHECK_EQ(cat_part_record(db, &p, 1, err), -ENOENT);
	CHECK(strcmp(err, "part on unknown tape nosuch") == 0);
	/* Not complete while a part is missing. */
	CHECK_EQ(cat_dump_complete(db, &d, 2, err), -EAGAIN);
	CHECK(strcmp(err, "dump dump2: 1 of 2 parts recorded") == 0);
	CHECK_EQ(cat_dump_last(db, "e1", false, keep, &s, err), 0);
	p.tape_id = a1;
	p.part = 2;
	p.file = 1;
	p.offset = 500;
	p.bytes = 300;
	p.ok = false;
	CHECK_EQ(cat_part_record(db, &p, 1, err), 0);
	CHECK_EQ(cat_dump_complete(db, &d, 2, err), 0);
	CHECK_EQ(cat_dump_last(db, "e1", false, keep, &s, err), 1);
	CHECK(strcmp(s.uid, "dump2") == 0 && s.level == 1 && s.bytes == 800);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_dump_parts(db, 2, keep_part, &s, err), 2);
	CHECK(s.part == 2 && !s.ok && strcmp(s.label, "A1") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tape_parts(db, 1, keep_part, &s, err), 1);	/* A1 */
	CHECK(strcmp(s.uid, "dump2") == 0 && strcmp(s.state, "complete") == 0);
}

static void
test_find(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	int64_t n = 0, bytes = 0;

	CHECK_EQ(cat_dump_for_restore(db, "e1", NULL, keep, &s, err), 1);
	CHECK(strcmp(s.uid, "dump2") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_dump_for_restore(db, "e1", "2026-01-02", keep, &s, err), 1);
	CHECK(strcmp(s.uid, "dump1") == 0);
	CHECK_EQ(cat_dump_for_restore(db, "e1", "2025-12-31", keep, &s, err),
	    -ENOENT);
	CHECK(strcmp(err, "no complete dump of e1 at or before 2025-12-31") == 0);
	CHECK_EQ(cat_dump_for_restore(db, "e2", NULL, keep, &s, err), -ENOENT);
	CHECK(strcmp(err, "no complete dump of e2") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_dump_last(db, "e1", true, keep, &s, err), 1);
	CHECK(strcmp(s.uid, "dump1") == 0 && s.level == 0);
	CHECK_EQ(cat_dump_totals(db, "e1", &n, &bytes, err), 0);
	CHECK(n == 2 && bytes == 1800);
	CHECK_EQ(cat_dump_totals(db, "nosuch", &n, &bytes, err), 0);
	CHECK(n == 0 && bytes == 0);
}

/* The ops for the error-path loop. */
static int
op_restore(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_dump_for_restore(db, "e1", NULL, keep, &s, err);
}

static int
op_last(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_dump_last(db, "e1", true, keep, &s, err);
}

static int
op_totals(struct cat_db *db, char *err)
{
	int64_t n, b;

	return cat_dump_totals(db, "e1", &n, &b, err);
}

static int
op_complete(struct cat_db *db, char *err)
{
	struct cat_dump d = { .dump_uid = "dump1", .bytes = 1 };

	return cat_dump_complete(db, &d, 1, err);
}

static int
op_parts(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_dump_parts(db, 1, keep_part, &s, err);
}

static int
op_tape_parts(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tape_parts(db, 3, keep_part, &s, err);
}

static int
op_record(struct cat_db *db, char *err)
{
	struct cat_part p = { .dump_uid = "dump1", .entity = "e1", .part = 2,
	    .started = "2026-01-02T03:04:05Z", .tape_id = "x" };
	char tid[64];

	/* B1's tape ID where it can still be read. */
	snprintf(tid, sizeof(tid), "%s", db->db ? cat_t_tape_id(db, "B1") : "x");
	p.tape_id = tid[0] ? tid : "x";
	return cat_part_record(db, &p, 1, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_dump_for_restore", op_restore, false },
		{ "cat_dump_last", op_last, false },
		{ "cat_dump_totals", op_totals, false },
		{ "cat_dump_complete", op_complete, true },
		{ "cat_dump_parts", op_parts, false },
		{ "cat_tape_parts", op_tape_parts, false },
		{ "cat_part_record", op_record, true },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_record(db);
	test_find(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
