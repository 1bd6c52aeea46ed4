/*
 * The catalog's discovery: commands per server, the listing's lines,
 * source templates, and what a run's listing does over several nights
 * (new entities, vanished ones flagged and kept, back, moved to another
 * server, removed by an admin); a failed run changes nothing; and the
 * error paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char text[1024];
	struct cat_discovery d;
	char last_error[128];
};

/* Changes as "what:entity" in order. */
static int
keep_change(const struct cat_discovered *c, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->text);

	s->n++;
	snprintf(s->text + l, sizeof(s->text) - l, "%s%s:%s", l ? " " : "",
	    c->what, c->entity);
	return 0;
}

/* Keep the last discovery command. */
static int
keep_disc(const struct cat_discovery *d, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->d = *d;
	snprintf(s->last_error, sizeof(s->last_error), "%s", d->last_error ?
	    d->last_error : "(null)");
	s->d.last_ok = d->last_ok ? "set" : NULL;
	return 0;
}

/* Keep "name@server/partition[v]" of every entity. */
static int
keep_entity(const struct cat_entity *e, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->text);

	s->n++;
	snprintf(s->text + l, sizeof(s->text) - l, "%s%s@%s/%s%s%s", l ? " " :
	    "", e->name, e->server ? e->server : "-", e->partition ?
	    e->partition : "-", e->vanished ? "[v]" : "", e->active ? "" :
	    "[r]");
	return 0;
}

static void
test_lines(void)
{
	struct cat_listed l;
	char err[CAT_ERRLEN], out[4096];

	CHECK_EQ(cat_listed_parse("vol.a", &l, err), 0);
	CHECK(strcmp(l.name, "vol.a") == 0 && l.partition[0] == '\0' &&
	    l.bytes == CAT_NULL);
	CHECK_EQ(cat_listed_parse("  vol.a\t/vicepa  12M ", &l, err), 0);
	CHECK(strcmp(l.partition, "/vicepa") == 0 && l.bytes == 12 << 20);
	CHECK_EQ(cat_listed_parse("a b 7", &l, err), 0);
	CHECK_EQ(l.bytes, 7);
	CHECK_EQ(cat_listed_parse("a b 2G", &l, err), 0);
	CHECK_EQ(l.bytes, 2LL << 30);
	CHECK_EQ(cat_listed_parse("", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a b c d", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a b 12Q", &l, err), -EINVAL);
	CHECK(strstr(err, "bad size") != NULL);
	CHECK_EQ(cat_listed_parse("a b -1", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a b 99999999999999999999", &l, err),
	    -EINVAL);
	CHECK_EQ(cat_listed_parse("a b 9999999999T", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a|b", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a%b", &l, err), -EINVAL);
	CHECK_EQ(cat_listed_parse("a\rb", &l, err), -EINVAL);
	CHECK_EQ(cat_discovery_source("dir:/export/{name}", "u1", "s", NULL, out,
	    sizeof(out), err), 0);
	CHECK(strcmp(out, "dir:/export/u1") == 0);
	CHECK_EQ(cat_discovery_source(NULL, "u1", "s", NULL, out, sizeof(out),
	    err), 0);
	CHECK(strcmp(out, "dir:u1") == 0);
	CHECK_EQ(cat_discovery_source("cmd:vos dump {name} -server {server}"
	    " -partition {partition}", "v", "afs1", "a", out, sizeof(out), err),
	    0);
	CHECK(strcmp(out, "cmd:vos dump v -server afs1 -partition a") == 0);
	CHECK_EQ(cat_discovery_source("tape:{name}", "v", "s", NULL, out,
	    sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_discovery_source("dir:{nom}", "v", "s", NULL, out,
	    sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_discovery_source("dir:/export/{name}", "..", "s", NULL, out,
	    sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_discovery_source("dir:/export/{name}", "a/../../etc", "s",
	    NULL, out, sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_discovery_source("dir:/export/{name}", "a/.b/c..", "s",
	    NULL, out, sizeof(out), err), 0);
}

/* Apply a listing of names (each "NAME [PART [SIZE]]"). */
static int
apply(struct cat_db *db, int64_t id, const char *const *lines, size_t n,
    struct seen *s)
{
	struct cat_listed l[8];
	char err[CAT_ERRLEN];

	for (size_t i = 0; i < n; i++)
		if (cat_listed_parse(lines[i], &l[i], err) < 0)
			return -1000;
	memset(s, 0, sizeof(*s));
	return cat_discovery_apply(db, id, l, n, keep_change, s, err);
}

static void
test_runs(struct cat_db *db)
{
	const char *night1[] = { "u1 a 1K", "u2 a", "u3 b" };
	const char *night2[] = { "u1 a", "u3 b" };
	const char *night3[] = { "u1 a", "u2 c", "u3 b" };
	const char *dup[] = { "u1", "u1" };
	const char *on2[] = { "u2 a", "u3 z" };
	char err[CAT_ERRLEN];
	int64_t id = 0, id2 = 0, x;
	struct seen s = { 0 };

	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "p", " ls  /export ",
	    "dir:/export/{name}", 5, &id, err), 0);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "p", "ls /export", NULL, 0,
	    NULL, err), -EEXIST);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "nosuch", "p", "ls", NULL, 0,
	    NULL, err), -ENOENT);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "nosuch", "ls", NULL, 0,
	    NULL, err), -ENOENT);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "p", "", NULL, 0, NULL,
	    err), -EINVAL);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "p", "ls", "tape:{name}",
	    0, NULL, err), -EINVAL);
	CHECK(strstr(err, "--source-template") != NULL);
	CHECK_EQ(cat_discovery_add(db, "nfs 2", "vol", "p", "ls", NULL, 0, NULL,
	    err), -EINVAL);
	CHECK_EQ(cat_discovery_add(db, "nfs1", "vol", "p", "ls", NULL, 301, NULL,
	    err), -EINVAL);
	/* The server was made; the refused adds made nothing. */
	CHECK_EQ(cat_discoveries_list(db, NULL, keep_disc, &s, err), 1);
	CHECK_EQ(s.d.id, id);
	CHECK_EQ(s.d.timeout_s, 5);
	CHECK(s.d.last_run == NULL);
	/* Night 1: three new entities, with the template's source. */
	CHECK_EQ(apply(db, id, night1, 3, &s), 3);
	CHECK(strcmp(s.text, "new:u1 new:u2 new:u3") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_list(db, keep_entity, &s, err), 5);
	CHECK(strstr(s.text, "u1@nfs1/a u2@nfs1/a u3@nfs1/b") != NULL);
	/* Night 2: u2 vanished (kept, flagged), again reported after. */
	CHECK_EQ(apply(db, id, night2, 2, &s), 1);
	CHECK(strcmp(s.text, "vanished:u2") == 0);
	CHECK_EQ(apply(db, id, night2, 2, &s), 0);
	CHECK(strcmp(s.text, "gone:u2") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_plan_list(db, keep_entity, &s, err), 4);
	CHECK(strstr(s.text, "u2") == NULL);
	/* Night 3: back, on another partition. */
	CHECK_EQ(apply(db, id, night3, 3, &s), 1);
	CHECK(strcmp(s.text, "back:u2") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_list(db, keep_entity, &s, err), 5);
	CHECK(strstr(s.text, "u2@nfs1/c ") != NULL);
	/* An admin removes a vanished one: not reported; back: active again. */
	CHECK_EQ(apply(db, id, night2, 2, &s), 1);
	CHECK_EQ(cat_entity_remove(db, "u2", err), 0);
	CHECK_EQ(apply(db, id, night2, 2, &s), 0);
	CHECK(strcmp(s.text, "") == 0);
	CHECK_EQ(apply(db, id, night3, 3, &s), 1);
	CHECK(strcmp(s.text, "back:u2") == 0);
	/* Removed while listed: stays removed, said. */
	CHECK_EQ(cat_entity_remove(db, "u3", err), 0);
	CHECK_EQ(apply(db, id, night3, 3, &s), 0);
	CHECK(strcmp(s.text, "removed:u3") == 0);
	/* A listing naming one twice changes nothing. */
	CHECK_EQ(apply(db, id, dup, 2, &s), -EINVAL);
	/* Another server's discovery takes a vanished entity over: moved. */
	CHECK_EQ(cat_discovery_add(db, "nfs2", "vol", "p", "ls /x", NULL, 0, &id2,
	    err), 0);
	CHECK_EQ(apply(db, id, night2, 2, &s), 1);		/* u2 vanished */
	CHECK_EQ(apply(db, id2, night1 + 1, 1, &s), 1);	/* u2 on nfs2 */
	CHECK(strcmp(s.text, "moved:u2") == 0);
	/* but not a live one of the first: u1 stays on nfs1 */
	CHECK_EQ(apply(db, id2, night1, 2, &s), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entities_list(db, keep_entity, &s, err), 5);
	CHECK(strstr(s.text, "u1@nfs1/a u2@nfs2/a ") != NULL);
	/* An entity another discovery added is left alone (even removed). */
	CHECK_EQ(apply(db, id2, on2, 2, &s), 0);
	/* A failed run: only last_run and last_error. */
	CHECK_EQ(cat_discovery_failed(db, id, "exit 3", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_discoveries_list(db, "nfs1", keep_disc, &s, err), 1);
	CHECK(strcmp(s.last_error, "exit 3") == 0 && s.d.last_ok != NULL);
	CHECK_EQ(s.d.entities, 1);
	CHECK_EQ(cat_discovery_failed(db, 999, "x", err), -ENOENT);
	CHECK_EQ(apply(db, 999, night1, 1, &s), -ENOENT);
	/* Removing a discovery keeps its entities. */
	CHECK_EQ(cat_discovery_remove(db, id, err), 0);
	CHECK_EQ(cat_discovery_remove(db, id, err), -ENOENT);
	CHECK_EQ(db_int(db, err, "t", &x, "SELECT count(*) FROM entities WHERE"
	    " name = 'u1' AND discovered_by IS NULL AND active = 1", ""), 1);
	CHECK_EQ(x, 1);
}

/* The ops for the error-path loop. */
static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_discoveries_list(db, NULL, keep_disc, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	return cat_discovery_add(db, "s1", "vol", "p", "ls", NULL, 0, NULL,
	    err);
}

static int
op_remove(struct cat_db *db, char *err)
{
	return cat_discovery_remove(db, 1, err);
}

static int
op_apply(struct cat_db *db, char *err)
{
	struct cat_listed l = { .name = "x", .bytes = CAT_NULL };

	return cat_discovery_apply(db, 1, &l, 1, NULL, NULL, err);
}

static int
op_failed(struct cat_db *db, char *err)
{
	return cat_discovery_failed(db, 1, "x", err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_discoveries_list", op_list, false },
		{ "cat_discovery_add", op_add, true },
		{ "cat_discovery_remove", op_remove, true },
		{ "cat_discovery_apply", op_apply, true },
		{ "cat_discovery_failed", op_failed, true },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_lines();
	test_runs(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
