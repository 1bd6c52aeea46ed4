/*
 * The catalog's entities and types: add, describe, remove, type,
 * frequencies, the one-time window, what is due next; and their error
 * paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char names[256];
	struct cat_entity last;
	char type[64], not_before[32], kind[32];
};

/* Keep the row count, the names in order and the last entity. */
static int
keep(const struct cat_entity *e, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->names);

	s->n++;
	snprintf(s->names + l, sizeof(s->names) - l, "%s%s", l ? " " : "",
	    e->name);
	s->last = *e;
	snprintf(s->type, sizeof(s->type), "%s", e->type);
	snprintf(s->not_before, sizeof(s->not_before), "%s",
	    e->not_before ? e->not_before : "(null)");
	return 0;
}

/* An entity due: keep the names in order and the last kind. */
static int
due(const struct cat_due *d, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->names);

	s->n++;
	snprintf(s->names + l, sizeof(s->names) - l, "%s%s", l ? " " : "",
	    d->entity);
	snprintf(s->kind, sizeof(s->kind), "%s", d->kind);
	return 0;
}

static void
test_entities(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	CHECK_EQ(cat_entities_list(db, keep, &s, err), 2);
	CHECK(strcmp(s.names, "e1 e2") == 0);
	CHECK_EQ(cat_entity_add(db, "e1", "dir:/", "default", "default", err),
	    -EEXIST);
	CHECK(strcmp(err, "entity e1 exists") == 0);
	CHECK_EQ(cat_entity_add(db, "a=b", "dir:/", "default", "default", err),
	    -EINVAL);
	CHECK_EQ(cat_entity_add(db, "e3", "tape:/", "default", "default", err),
	    -EINVAL);
	CHECK_EQ(cat_entity_add(db, "e3", "dir:/", "nosuch", "default", err),
	    -ENOENT);
	CHECK(strcmp(err, "no entity type nosuch") == 0);
	CHECK_EQ(cat_entity_add(db, "e3", "dir:/", "default", "nosuch", err),
	    -ENOENT);
	CHECK(strcmp(err, "no pool nosuch") == 0);
	CHECK_EQ(cat_entity_add(db, "e3", "file:/x", "vol", "p", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "e3", keep, &s, err), 1);
	CHECK(strcmp(s.type, "vol") == 0 && s.last.active == 1);
	/* Frequencies: the type's until the entity has its own. */
	CHECK_EQ(s.last.full_every_days, 7);
	CHECK_EQ(cat_entity_get(db, "nosuch", keep, &s, err), -ENOENT);
	CHECK(strcmp(err, "no entity nosuch") == 0);
	CHECK_EQ(cat_entity_remove(db, "e3", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "e3", keep, &s, err), 1);
	CHECK_EQ(s.last.active, 0);
	CHECK_EQ(cat_entity_remove(db, "nosuch", err), -ENOENT);
	CHECK_EQ(cat_entity_set_type(db, "e3", "default", err), 0);
	CHECK_EQ(cat_entity_set_type(db, "e3", "nosuch", err), -ENOENT);
	CHECK(strcmp(err, "no entity type nosuch") == 0);
	CHECK_EQ(cat_entity_set_type(db, "nosuch", "vol", err), -ENOENT);
	CHECK(strcmp(err, "no entity nosuch") == 0);
	CHECK_EQ(cat_entity_set_window(db, "e3", "2030-01-02", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "e3", keep, &s, err), 1);
	CHECK(strcmp(s.not_before, "2030-01-02") == 0);
	CHECK_EQ(cat_entity_set_window(db, "e3", "soon", err), -EINVAL);
	CHECK_EQ(cat_entity_set_window(db, "nosuch", "2030-01-02", err), -ENOENT);
}

static void
test_frequencies(struct cat_db *db)
{
	struct cat_frequency f;
	char err[CAT_ERRLEN];

	CHECK_EQ(cat_entity_set_frequency(db, "e2", 14, -1, &f, err), 0);
	CHECK_EQ(f.full_days, 14);
	CHECK_EQ(f.incr_days, CAT_NULL);	/* the type's applies */
	CHECK_EQ(cat_entity_set_frequency(db, "e2", 0, -1, &f, err), -EINVAL);
	CHECK_EQ(cat_entity_set_frequency(db, "e2", -1, -1, &f, err), -EINVAL);
	CHECK_EQ(cat_entity_set_frequency(db, "e2", 3651, -1, &f, err), -EINVAL);
	CHECK_EQ(cat_entity_set_frequency(db, "nosuch", 1, -1, &f, err), -ENOENT);
	CHECK(strcmp(err, "no entity nosuch") == 0);
	CHECK_EQ(cat_type_set_frequency(db, "vol", -1, 2, &f, err), 0);
	CHECK(f.full_days == 7 && f.incr_days == 2);
	CHECK_EQ(cat_type_set_frequency(db, "nosuch", 1, 1, &f, err), -ENOENT);
	CHECK(strcmp(err, "no entity type nosuch") == 0);
	CHECK_EQ(cat_type_add(db, "t1", -1, -1, &f, err), 0);
	CHECK(f.full_days == 7 && f.incr_days == 1);
	CHECK_EQ(cat_type_add(db, "t2", 30, -1, &f, err), 0);
	CHECK(f.full_days == 30 && f.incr_days == 1);
	CHECK_EQ(cat_type_add(db, "t1", -1, -1, &f, err), -EEXIST);
	CHECK(strcmp(err, "entity type t1 exists") == 0);
	/* A bad frequency adds no type. */
	CHECK_EQ(cat_type_add(db, "t3", 0, 1, &f, err), -EINVAL);
	CHECK_EQ(cat_type_set_frequency(db, "t3", 1, 1, &f, err), -ENOENT);
	CHECK_EQ(cat_type_add(db, "t 3", -1, -1, &f, err), -EINVAL);
}

static void
test_next(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	/* e2 never dumped: a full, now; e1 had its full in 2026-01. */
	CHECK_EQ(cat_entities_next(db, 10, due, &s, err), 2);
	CHECK(strcmp(s.names, "e1 e2") == 0 || strcmp(s.names, "e2 e1") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_next(db, 1, due, &s, err), 1);
	CHECK(cat_name_valid("a.b-c_d"));
	CHECK(!cat_name_valid("a|b") && !cat_name_valid(NULL));
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_entities_list(db, keep, &s, err);
}

static int
op_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_entity_get(db, "e1", keep, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	return cat_entity_add(db, "e9", "dir:/", "default", "default", err);
}

static int
op_remove(struct cat_db *db, char *err)
{
	return cat_entity_remove(db, "e1", err);
}

static int
op_type(struct cat_db *db, char *err)
{
	return cat_entity_set_type(db, "e1", "default", err);
}

static int
op_window(struct cat_db *db, char *err)
{
	return cat_entity_set_window(db, "e1", "2030-01-01", err);
}

static int
op_freq(struct cat_db *db, char *err)
{
	struct cat_frequency f;

	return cat_entity_set_frequency(db, "e1", 3, 1, &f, err);
}

static int
op_type_freq(struct cat_db *db, char *err)
{
	struct cat_frequency f;

	return cat_type_set_frequency(db, "vol", 3, 1, &f, err);
}

static int
op_type_add(struct cat_db *db, char *err)
{
	struct cat_frequency f;

	return cat_type_add(db, "t9", -1, -1, &f, err);
}

static int
op_next(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_entities_next(db, 10, due, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_entities_list", op_list, false },
		{ "cat_entity_get", op_get, false },
		{ "cat_entity_add", op_add, true },
		{ "cat_entity_remove", op_remove, true },
		{ "cat_entity_set_type", op_type, true },
		{ "cat_entity_set_window", op_window, true },
		{ "cat_entity_set_frequency", op_freq, true },
		{ "cat_type_set_frequency", op_type_freq, true },
		{ "cat_type_add", op_type_add, true },
		{ "cat_entities_next", op_next, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_entities(db);
	test_frequencies(db);
	test_next(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
