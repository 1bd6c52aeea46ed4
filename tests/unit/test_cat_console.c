/*
 * What the console lists in one query (catalog/console.c): every
 * entity's newest complete full and incremental and its count of dumps,
 * by name; an entity never dumped has none; an incomplete dump counts
 * for nothing; and the error paths.
 */
#include "cat_t.h"

struct rows {
	int n;
	char name[2][32], full[2][32], incr[2][32];
	int64_t dumps[2];
};

static int
keep(const struct cat_last_dumps *e, void *arg)
{
	struct rows *r = arg;

	if (r->n < 2) {
		snprintf(r->name[r->n], 32, "%s", e->entity);
		snprintf(r->full[r->n], 32, "%s", e->last_full ? e->last_full :
		    "-");
		snprintf(r->incr[r->n], 32, "%s", e->last_incr ? e->last_incr :
		    "-");
		r->dumps[r->n] = e->dumps;
	}
	r->n++;
	return 0;
}

static void
test_last(struct cat_db *db)
{
	char err[CAT_ERRLEN], a1[64];
	struct rows r = { 0 };
	struct cat_part p = { .dump_uid = "dump2", .entity = "e1", .level = 1,
	    .since = "2026-01-02T03:04:05Z", .started = "2026-01-03T00:00:00Z",
	    .digest_alg = "xxh128", .part = 1, .file = 3, .bytes = 500,
	    .blocks = 1, .block_size = 512, .digest = "p1", .ok = true };
	struct cat_dump d = { .dump_uid = "dump2", .bytes = 500,
	    .raw_bytes = 500, .digest = "dd", .raw_digest = "rr" };

	/* The site: e1's full dump1, e2 never dumped. */
	CHECK_EQ(cat_entities_last_dumps(db, keep, &r, err), 2);
	CHECK(strcmp(r.name[0], "e1") == 0 && strcmp(r.name[1], "e2") == 0);
	CHECK(strcmp(r.full[0], "2026-01-02T03:04:05Z") == 0);
	CHECK(strcmp(r.incr[0], "-") == 0 && r.dumps[0] == 1);
	CHECK(strcmp(r.full[1], "-") == 0 && strcmp(r.incr[1], "-") == 0);
	CHECK(r.dumps[1] == 0);
	/* An incremental in two parts: nothing until it is complete. */
	snprintf(a1, sizeof(a1), "%s", cat_t_tape_id(db, "A1"));
	p.tape_id = a1;
	CHECK_EQ(cat_part_record(db, &p, 1, err), 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_entities_last_dumps(db, keep, &r, err), 2);
	CHECK(strcmp(r.incr[0], "-") == 0 && r.dumps[0] == 1);
	CHECK_EQ(cat_dump_complete(db, &d, 1, err), 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_entities_last_dumps(db, keep, &r, err), 2);
	CHECK(strcmp(r.full[0], "2026-01-02T03:04:05Z") == 0);
	CHECK(strcmp(r.incr[0], "2026-01-03T00:00:00Z") == 0 && r.dumps[0] == 2);
}

static int
op_last(struct cat_db *db, char *err)
{
	struct rows r = { 0 };

	return cat_entities_last_dumps(db, keep, &r, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_entities_last_dumps", op_last, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_last(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
