/* The catalog's pools: list, get, add, rules; and their error paths. */
#include "cat_t.h"

struct seen {
	int n;
	struct cat_pool last;
	char name[64];
};

/* Keep the row count and the last pool. */
static int
keep(const struct cat_pool *p, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->last = *p;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	return 0;
}

static void
test_pools(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	cat_t_site(db);
	CHECK_EQ(cat_pools_list(db, keep, &s, err), 2);
	CHECK(strcmp(s.name, "p") == 0);	/* by name: default, p */
	CHECK_EQ(s.last.max_tapes, 5);
	CHECK_EQ(s.last.min_tapes, 0);
	CHECK_EQ(s.last.tapes, 1);
	CHECK_EQ(s.last.writable, 1);
	CHECK_EQ(s.last.keep_fulls, 2);
	CHECK_EQ(cat_pool_get(db, "nosuch", keep, &s, err), -ENOENT);
	CHECK(strcmp(err, "no pool nosuch") == 0);
	CHECK_EQ(cat_pool_add(db, "p", err), -EEXIST);
	CHECK(strcmp(err, "pool p exists") == 0);
	CHECK_EQ(cat_pool_add(db, "a b", err), -EINVAL);
	CHECK_EQ(cat_pool_add(db, "", err), -EINVAL);
	CHECK_EQ(cat_pool_set(db, "p", 6, 5, -1, -1, err), -EINVAL);
	CHECK_EQ(cat_pool_set(db, "p", -5, -1, -1, -1, err), -EINVAL);
	CHECK_EQ(cat_pool_set(db, "nosuch", 1, -1, -1, -1, err), -ENOENT);
	/* -1 leaves a rule as it is. */
	CHECK_EQ(cat_pool_set(db, "p", 2, -1, 3, 60, err), 0);
	s.n = 0;
	CHECK_EQ(cat_pool_get(db, "p", keep, &s, err), 1);
	CHECK_EQ(s.last.min_tapes, 2);
	CHECK_EQ(s.last.max_tapes, 5);
	CHECK_EQ(s.last.keep_fulls, 3);
	CHECK_EQ(s.last.keep_days, 60);
	CHECK(s.last.created != NULL);
	cat_t_done(db);
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_pools_list(db, keep, &s, err);
}

static int
op_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_pool_get(db, "p", keep, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	return cat_pool_add(db, "q", err);
}

static int
op_set(struct cat_db *db, char *err)
{
	return cat_pool_set(db, "p", 1, 2, 3, 4, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_pools_list", op_list, false },
		{ "cat_pool_get", op_get, false },
		{ "cat_pool_add", op_add, true },
		{ "cat_pool_set", op_set, true },
	};

	test_pools();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
