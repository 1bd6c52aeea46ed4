/*
 * The catalog's error events and verifications: recording, filters, the
 * per-day counts per drive and per tape; and their error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char kinds[256], name[64];
	int64_t job, errors, checked;
};

/* Keep the row count, kinds in order and the last job. */
static int
keep(const struct cat_error *e, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->kinds);

	s->n++;
	snprintf(s->kinds + l, sizeof(s->kinds) - l, "%s%s", l ? " " : "",
	    e->kind);
	s->job = e->job;
	return 0;
}

/* Keep the last per-day count. */
static int
keep_day(const struct cat_error_day *d, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->name, sizeof(s->name), "%s", d->name);
	s->errors = d->errors;
	return 0;
}

/* Keep the last verification. */
static int
keep_verification(const struct cat_verification *v, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->checked = v->checked;
	s->errors = v->bad;
	return 0;
}

static void
test_errors(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	int64_t n = -1;

	/* Site: one "medium" on d0 and B1 in job 1. */
	CHECK_EQ(cat_error_add(db, NULL, NULL, 0, "pool-low", "low", err), 0);
	CHECK_EQ(cat_error_add(db, "d0", "nosuch", 99, "x", "y", err), 0);
	CHECK_EQ(cat_errors_list(db, NULL, NULL, NULL, keep, &s, err), 3);
	CHECK(strcmp(s.kinds, "medium pool-low x") == 0);
	CHECK_EQ(s.job, CAT_NULL);	/* no job 99 */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_errors_list(db, NULL, "B1", NULL, keep, &s, err), 1);
	CHECK_EQ(s.job, 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_errors_list(db, "d0", NULL, NULL, keep, &s, err), 2);
	CHECK_EQ(cat_errors_list(db, NULL, NULL, "2999-01-01", keep, &s, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_errors_per_drive(db, NULL, NULL, keep_day, &s, err), 1);
	CHECK(strcmp(s.name, "d0") == 0 && s.errors == 2);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_errors_per_tape(db, NULL, NULL, keep_day, &s, err), 1);
	CHECK(strcmp(s.name, "B1") == 0 && s.errors == 1);
	CHECK_EQ(cat_errors_per_tape(db, "A1", NULL, keep_day, &s, err), 0);
	CHECK_EQ(cat_tape_errors(db, 3, &n, err), 0);	/* B1 */
	CHECK_EQ(n, 1);
	CHECK_EQ(cat_tape_errors(db, 1, &n, err), 0);
	CHECK_EQ(n, 0);
}

static void
test_verifications(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	CHECK_EQ(cat_verification_add(db, cat_t_tape_id(db, "B1"), "dump1",
	    "spot", 20, 3, err), 0);
	CHECK_EQ(cat_tape_verifications(db, 3, 10, keep_verification, &s, err), 2);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_tape_verifications(db, 3, 1, keep_verification, &s, err), 1);
	CHECK_EQ(cat_tape_verifications(db, 1, 10, keep_verification, &s, err), 0);
	/* A check of a tape the catalog does not know is refused. */
	CHECK_EQ(cat_verification_add(db, "nosuch", "dump1", "spot", 1, 0, err),
	    -ENOENT);
	CHECK(strcmp(err, "no tape with ID nosuch") == 0);
}

/* The ops for the error-path loop. */
static int
op_add(struct cat_db *db, char *err)
{
	return cat_error_add(db, "d0", "B1", 1, "k", "m", err);
}

static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_errors_list(db, NULL, NULL, NULL, keep, &s, err);
}

static int
op_per_drive(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_errors_per_drive(db, "d0", NULL, keep_day, &s, err);
}

static int
op_per_tape(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_errors_per_tape(db, "B1", NULL, keep_day, &s, err);
}

static int
op_tape_errors(struct cat_db *db, char *err)
{
	int64_t n;

	return cat_tape_errors(db, 3, &n, err);
}

static int
op_verification_add(struct cat_db *db, char *err)
{
	return cat_verification_add(db, "x", "dump1", "spot", 1, 0, err);
}

static int
op_verifications(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_tape_verifications(db, 3, 10, keep_verification, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_error_add", op_add, true },
		{ "cat_errors_list", op_list, false },
		{ "cat_errors_per_drive", op_per_drive, false },
		{ "cat_errors_per_tape", op_per_tape, false },
		{ "cat_tape_errors", op_tape_errors, false },
		{ "cat_verification_add", op_verification_add, true },
		{ "cat_tape_verifications", op_verifications, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_errors(db);
	test_verifications(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
