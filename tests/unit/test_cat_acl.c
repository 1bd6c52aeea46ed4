/* The catalog's ACL: grant, list, roles of a uid, take back; error paths. */
#include "cat_t.h"

struct seen {
	int n;
	char roles[128];
};

/* Keep "uid:role" pairs in order. */
static int
keep(const struct cat_acl *a, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->roles);

	s->n++;
	snprintf(s->roles + l, sizeof(s->roles) - l, "%s%lld:%s", l ? " " : "",
	    (long long)a->uid, a->role);
	return 0;
}

static void
test_acl(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	/* Site: 1000 operator. */
	CHECK_EQ(cat_acl_set(db, 1000, "admin", err), 0);
	CHECK_EQ(cat_acl_set(db, 1000, "admin", err), 0);	/* idempotent */
	CHECK_EQ(cat_acl_set(db, 7, "retrieval", err), 0);
	CHECK_EQ(cat_acl_set(db, 7, "root", err), -EINVAL);
	CHECK(strstr(err, "role is operator") != NULL);
	CHECK_EQ(cat_acl_set(db, -1, "admin", err), -EINVAL);
	CHECK(strcmp(err, "uid out of range") == 0);
	CHECK_EQ(cat_acl_set(db, 0xffffffffLL, "admin", err), -EINVAL);
	CHECK_EQ(cat_acl_list(db, keep, &s, err), 3);
	CHECK(strcmp(s.roles, "7:retrieval 1000:admin 1000:operator") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_acl_roles(db, 1000, keep, &s, err), 2);
	CHECK(strcmp(s.roles, "1000:admin 1000:operator") == 0);
	CHECK_EQ(cat_acl_roles(db, 5, keep, &s, err), 0);
	CHECK_EQ(cat_acl_remove(db, 1000, "admin", err), 0);
	CHECK_EQ(cat_acl_remove(db, 1000, "admin", err), -ENOENT);
	CHECK(strcmp(err, "uid 1000 has no role admin") == 0);
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_acl_list(db, keep, &s, err);
}

static int
op_roles(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_acl_roles(db, 1000, keep, &s, err);
}

static int
op_set(struct cat_db *db, char *err)
{
	return cat_acl_set(db, 1001, "admin", err);
}

static int
op_remove(struct cat_db *db, char *err)
{
	return cat_acl_remove(db, 1000, "operator", err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_acl_list", op_list, false },
		{ "cat_acl_roles", op_roles, false },
		{ "cat_acl_set", op_set, true },
		{ "cat_acl_remove", op_remove, true },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_acl(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
