/* The catalog's archive jobs and archived entries (catalog/archives.c). */
#include "cat_t.h"

struct seen {
	int n;
	char name[64], state[16], want[16], entity[80], label[64];
	int64_t job, fails, archived, bytes, file;
	bool verified;
};

static int
keep(const struct cat_archive *a, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->name, sizeof(s->name), "%s", a->name);
	snprintf(s->state, sizeof(s->state), "%s", a->state);
	snprintf(s->want, sizeof(s->want), "%s", a->want);
	snprintf(s->entity, sizeof(s->entity), "%s", a->entity);
	s->job = a->job_id;
	s->fails = a->fails;
	s->archived = a->archived;
	s->bytes = a->bytes;
	return 0;
}

static int
keep_entry(const struct cat_archive_entry *e, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->name, sizeof(s->name), "%s", e->archive);
	snprintf(s->label, sizeof(s->label), "%s", e->label);
	s->file = e->file;
	s->bytes = e->bytes;
	s->verified = e->verified;
	return 0;
}

static void
test_archives(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	int64_t active = -1;
	struct cat_archive_entry e = { .name = "f1.0123", .path = "/data/f1",
	    .dump_uid = "d1", .digest = "xxh128:00", .bytes = 10, .label = "A1",
	    .tape_id = "t1", .file = 3, .offset = 0, .parts =
	    "[{\"label\":\"A1\",\"tape_id\":\"t1\",\"file\":3,\"offset\":0,"
	    "\"bytes\":10}]", .archived = "2026-11-29T00:00:00Z", .verified = true };

	cat_t_site(db);
	CHECK_EQ(cat_archive_add(db, "radar", "d0", "/q", "/done", "archive.radar",
	    "default", "{}", "uid:0", err), 0);
	CHECK_EQ(cat_archive_get(db, "radar", keep, &s, err), 1);
	CHECK(strcmp(s.state, "waiting") == 0 && strcmp(s.want, "run") == 0);
	CHECK(s.job == CAT_NULL && s.archived == 0 && s.bytes == 0);
	/* Its entity is there and never planned. */
	CHECK_EQ(db_int(db, err, "t", &active, "SELECT active FROM entities"
	    " WHERE name = 'archive.radar'", ""), 1);
	CHECK_EQ(active, 0);
	/* A name, a drive, an entity taken; bad values. */
	CHECK_EQ(cat_archive_add(db, "radar", "d1", "/q2", "/d2", "archive.x",
	    "default", "{}", NULL, err), -EEXIST);
	CHECK(strstr(err, "archive radar exists") != NULL);
	CHECK_EQ(cat_archive_add(db, "other", "d0", "/q2", "/d2", "archive.o",
	    "default", "{}", NULL, err), -EEXIST);
	CHECK(strstr(err, "drive d0 works another archive") != NULL);
	CHECK_EQ(cat_archive_add(db, "e", "d1", "/q2", "/d2", "e1", "default",
	    "{}", NULL, err), -EEXIST);
	CHECK_EQ(cat_archive_add(db, "rel", "d1", "q", "/d2", "archive.rel",
	    "default", "{}", NULL, err), -EINVAL);
	CHECK_EQ(cat_archive_add(db, "bad name", "d1", "/q", "/d2", "archive.b",
	    "default", "{}", NULL, err), -EINVAL);
	CHECK_EQ(cat_archive_add(db, "nopool", "d1", "/q3", "/d3", "archive.n",
	    "nosuch", "{}", NULL, err), -ENOENT);
	/* Want, state, fails. */
	CHECK_EQ(cat_archive_state(db, 1, "failed", "it broke", 3,
	    "2026-11-29T00:00:05Z", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_archive_get(db, "radar", keep, &s, err), 1);
	CHECK(strcmp(s.state, "failed") == 0 && s.fails == 3);
	CHECK_EQ(cat_archive_state(db, 1, "stopped", NULL, -1, NULL, err), 0);
	CHECK_EQ(cat_archive_want(db, 1, "run", err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_archive_get(db, "radar", keep, &s, err), 1);
	CHECK(s.fails == 0 && strcmp(s.state, "stopped") == 0);
	CHECK_EQ(cat_archive_want(db, 1, "sometimes", err), -EINVAL);
	CHECK_EQ(cat_archive_want(db, 99, "run", err), -ENOENT);
	CHECK_EQ(cat_archive_state(db, 1, "dancing", NULL, -1, NULL, err),
	    -EINVAL);
	/* Entries: put, replaced by name, found by name and path. */
	CHECK_EQ(cat_archive_entry_put(db, 1, &e, err), 0);
	e.file = 7;
	CHECK_EQ(cat_archive_entry_put(db, 1, &e, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_archive_entries_find(db, NULL, "/data/f1", keep_entry, &s,
	    err), 1);
	CHECK(s.file == 7 && strcmp(s.name, "radar") == 0 && s.verified);
	CHECK_EQ(cat_archive_entries_find(db, "radar", "f1.0123", keep_entry, &s,
	    err), 1);
	CHECK_EQ(cat_archive_entries_find(db, "other", "f1.0123", keep_entry, &s,
	    err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_archives_list(db, keep, &s, err), 1);
	CHECK(s.archived == 1 && s.bytes == 10);
	e.parts = NULL;
	CHECK_EQ(cat_archive_entry_put(db, 1, &e, err), -EINVAL);
	/* Removed: the archive and its rows. */
	CHECK_EQ(cat_archive_remove(db, "radar", err), 0);
	CHECK_EQ(cat_archive_remove(db, "radar", err), -ENOENT);
	CHECK_EQ(cat_archive_get(db, "radar", keep, &s, err), -ENOENT);
	CHECK_EQ(db_int(db, err, "t", &active, "SELECT count(*) FROM"
	    " archive_entries", ""), 1);
	CHECK_EQ(active, 0);
	cat_t_done(db);
}

static int
op_list(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_archives_list(db, keep, &s, err);
}

static int
op_add(struct cat_db *db, char *err)
{
	return cat_archive_add(db, "a", "d0", "/q", "/d", "archive.a", "default",
	    "{}", NULL, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_archives_list", op_list, false },
		{ "cat_archive_add", op_add, true },
	};

	test_archives();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
