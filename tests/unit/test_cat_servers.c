/*
 * The catalog's servers and subnets, and what the nightly run adds to
 * entities (server, partition, priority, the type's rules as the planner
 * reads them); and their error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char names[512];
	struct cat_server srv;
	char subnet[64];
	struct cat_entity ent;
	char server[64], partition[64], dump_cmd[128];
};

/* Keep server names in order and the last one. */
static int
keep_server(const struct cat_server *s, void *arg)
{
	struct seen *k = arg;
	size_t l = strlen(k->names);

	k->n++;
	snprintf(k->names + l, sizeof(k->names) - l, "%s%s", l ? " " : "",
	    s->name);
	k->srv = *s;
	snprintf(k->subnet, sizeof(k->subnet), "%s", s->subnet ? s->subnet :
	    "(null)");
	return 0;
}

/* Keep subnet names with their counts. */
static int
keep_subnet(const struct cat_subnet *s, void *arg)
{
	struct seen *k = arg;
	size_t l = strlen(k->names);

	k->n++;
	snprintf(k->names + l, sizeof(k->names) - l, "%s%s:%lld/%lld/%lld",
	    l ? " " : "", s->name, (long long)s->max_dumps,
	    (long long)s->servers, (long long)s->entities);
	return 0;
}

/* Keep entity names in order and the last one's new fields. */
static int
keep_entity(const struct cat_entity *e, void *arg)
{
	struct seen *k = arg;
	size_t l = strlen(k->names);

	k->n++;
	snprintf(k->names + l, sizeof(k->names) - l, "%s%s", l ? " " : "",
	    e->name);
	k->ent = *e;
	snprintf(k->server, sizeof(k->server), "%s", e->server ? e->server :
	    "(null)");
	snprintf(k->partition, sizeof(k->partition), "%s", e->partition ?
	    e->partition : "(null)");
	snprintf(k->dump_cmd, sizeof(k->dump_cmd), "%s", e->dump_cmd ?
	    e->dump_cmd : "(null)");
	snprintf(k->subnet, sizeof(k->subnet), "%s", e->subnet ? e->subnet :
	    "(null)");
	return 0;
}

static void
test_servers(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	CHECK_EQ(cat_servers_list(db, keep_server, &s, err), 0);
	CHECK_EQ(cat_server_add(db, "afs1", "net1", 2, err), 0);
	CHECK_EQ(cat_server_add(db, "afs2", "net1", -1, err), 0);
	CHECK_EQ(cat_server_add(db, "nfs1", NULL, -1, err), 0);
	CHECK_EQ(cat_server_add(db, "afs1", NULL, -1, err), -EEXIST);
	CHECK(strcmp(err, "server afs1 exists") == 0);
	CHECK_EQ(cat_server_add(db, "a b", NULL, -1, err), -EINVAL);
	CHECK_EQ(cat_server_add(db, "x", "n|1", -1, err), -EINVAL);
	CHECK_EQ(cat_server_add(db, "x", NULL, 100000, err), -EINVAL);
	/* Nothing of a refused add is left: no subnet n|1, no server x. */
	CHECK_EQ(cat_server_get(db, "x", keep_server, &s, err), -ENOENT);
	CHECK(strcmp(err, "no server x") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_servers_list(db, keep_server, &s, err), 3);
	CHECK(strcmp(s.names, "afs1 afs2 nfs1") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_server_get(db, "afs1", keep_server, &s, err), 1);
	CHECK(strcmp(s.subnet, "net1") == 0);
	CHECK_EQ(s.srv.max_dumps, 2);
	CHECK_EQ(s.srv.subnet_max_dumps, 0);
	/* A subnet's limit; a subnet named first by subnet-set is made. */
	CHECK_EQ(cat_subnet_set(db, "net1", 3, err), 0);
	CHECK_EQ(cat_subnet_set(db, "net2", 1, err), 0);
	CHECK_EQ(cat_subnet_set(db, "net2", -1, err), -EINVAL);
	CHECK_EQ(cat_subnet_set(db, "n et", 1, err), -EINVAL);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_server_get(db, "afs2", keep_server, &s, err), 1);
	CHECK_EQ(s.srv.subnet_max_dumps, 3);
	CHECK_EQ(s.srv.max_dumps, 0);
	/* server-set: subnet moved, limit kept; "" leaves the subnet. */
	CHECK_EQ(cat_server_set(db, "afs2", "net2", -1, err), 0);
	CHECK_EQ(cat_server_set(db, "nfs1", "net3", 4, err), 0);
	CHECK_EQ(cat_server_set(db, "nfs1", "", -1, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_server_get(db, "nfs1", keep_server, &s, err), 1);
	CHECK(strcmp(s.subnet, "(null)") == 0);
	CHECK_EQ(s.srv.max_dumps, 4);
	CHECK_EQ(cat_server_set(db, "nosuch", "net1", -1, err), -ENOENT);
	CHECK(strcmp(err, "no server nosuch") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_subnets_list(db, keep_subnet, &s, err), 3);
	CHECK(strcmp(s.names, "net1:3/1/0 net2:1/1/0 net3:0/0/0") == 0);
}

static void
test_entity_fields(struct cat_db *db)
{
	struct cat_entity_new n = { .name = "vol1", .source = "dir:/x",
	    .type = "vol", .pool = "p", .server = "afs1", .partition = "vicepa",
	    .priority = CAT_NULL };
	struct cat_type_rules r = { .priority = 5, .max_level = 3,
	    .estimate_bytes = 1 << 20, .dump_cmd = "vos  dump {entity}" };
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), 0);
	CHECK_EQ(cat_entity_create(db, &n, err), 0);
	n.name = "vol2";
	n.server = "nosuch";
	CHECK_EQ(cat_entity_create(db, &n, err), -ENOENT);
	CHECK(strstr(err, "no server nosuch") && strstr(err, "server-add"));
	n.server = "afs2";
	n.priority = 1001;
	CHECK_EQ(cat_entity_create(db, &n, err), -EINVAL);
	n.priority = 9;
	n.partition = "a|b";
	CHECK_EQ(cat_entity_create(db, &n, err), -EINVAL);
	n.partition = NULL;
	CHECK_EQ(cat_entity_create(db, &n, err), 0);
	CHECK_EQ(cat_entity_get(db, "vol1", keep_entity, &s, err), 1);
	CHECK(strcmp(s.server, "afs1") == 0 && strcmp(s.partition, "vicepa") == 0);
	CHECK_EQ(s.ent.priority, 5);		/* the type's */
	CHECK_EQ(s.ent.own_priority, CAT_NULL);
	CHECK_EQ(s.ent.max_level, 3);
	CHECK_EQ(s.ent.estimate_bytes, 1 << 20);
	CHECK(strcmp(s.dump_cmd, "vos dump {entity}") == 0);
	CHECK(s.ent.discovered_by == CAT_NULL);
	CHECK(strcmp(s.subnet, "net1") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "vol2", keep_entity, &s, err), 1);
	CHECK_EQ(s.ent.priority, 9);
	CHECK(strcmp(s.partition, "(null)") == 0);
	/* entity-set: each field alone; -1 gives the type's priority back. */
	CHECK_EQ(cat_entity_set(db, "vol2", NULL, "vicepb", CAT_NULL, err), 0);
	CHECK_EQ(cat_entity_set(db, "vol2", NULL, NULL, -1, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "vol2", keep_entity, &s, err), 1);
	CHECK(strcmp(s.server, "afs2") == 0 && strcmp(s.partition, "vicepb") == 0);
	CHECK_EQ(s.ent.priority, 5);
	CHECK_EQ(cat_entity_set(db, "vol2", "", "", 7, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "vol2", keep_entity, &s, err), 1);
	CHECK(strcmp(s.server, "(null)") == 0 && strcmp(s.partition,
	    "(null)") == 0);
	CHECK_EQ(s.ent.priority, 7);
	CHECK_EQ(cat_entity_set(db, "vol2", "nosuch", NULL, CAT_NULL, err),
	    -ENOENT);
	CHECK_EQ(cat_entity_set(db, "nosuch", NULL, "x", CAT_NULL, err), -ENOENT);
	CHECK(strcmp(err, "no entity nosuch") == 0);
	CHECK_EQ(cat_entity_set(db, "vol2", NULL, NULL, 5000, err), -EINVAL);
	/* A refused set changes nothing. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_get(db, "vol2", keep_entity, &s, err), 1);
	CHECK_EQ(s.ent.priority, 7);
	/* The planner's list: active and not vanished, by server then name. */
	CHECK_EQ(cat_entity_remove(db, "e2", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_plan_list(db, keep_entity, &s, err), 3);
	CHECK(strcmp(s.names, "e1 vol2 vol1") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_server_get(db, "afs1", keep_server, &s, err), 1);
	CHECK_EQ(s.srv.entities, 1);
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_servers_list(db, keep_server, &s, err);
}

static int
op_subnets(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_subnets_list(db, keep_subnet, &s, err);
}

static int
op_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_server_get(db, "s1", keep_server, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	return cat_server_add(db, "s9", "n9", 1, err);
}

static int
op_set(struct cat_db *db, char *err)
{
	return cat_server_set(db, "s1", "n2", 1, err);
}

static int
op_subnet(struct cat_db *db, char *err)
{
	return cat_subnet_set(db, "n1", 2, err);
}

static int
op_create(struct cat_db *db, char *err)
{
	struct cat_entity_new n = { .name = "e9", .source = "dir:/",
	    .priority = 3 };

	return cat_entity_create(db, &n, err);
}

static int
op_entity_set(struct cat_db *db, char *err)
{
	return cat_entity_set(db, "e1", NULL, "p1", 4, err);
}

static int
op_plan_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_entities_plan_list(db, keep_entity, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_servers_list", op_list, false },
		{ "cat_subnets_list", op_subnets, false },
		{ "cat_server_get", op_get, false },
		{ "cat_server_add", op_add, true },
		{ "cat_server_set", op_set, true },
		{ "cat_subnet_set", op_subnet, true },
		{ "cat_entity_create", op_create, true },
		{ "cat_entity_set", op_entity_set, true },
		{ "cat_entities_plan_list", op_plan_list, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_servers(db);
	test_entity_fields(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
