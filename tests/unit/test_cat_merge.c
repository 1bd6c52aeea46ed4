/*
 * The catalog's merge of dump logs: tapes and entities appear, a dump
 * completes only with all its parts, a label the pool uses for another
 * tape is a conflict, a second merge changes nothing, a conflict callback
 * that fails undoes the whole merge; and the error paths.
 */
#include "cat_t.h"
#include "catalog/dumplog.h"

static char lines[6][1024];
static const char *v[6];

/* The log of a direct-mode dump of m1 in two parts, M1 then A1. */
static void
make_log(void)
{
	struct cat_dl_rec r;

	memset(&r, 0, sizeof(r));
	r.type = CAT_DL_PART;
	snprintf(r.dump_id, sizeof(r.dump_id), "%032x", 1);
	snprintf(r.entity, sizeof(r.entity), "m1");
	snprintf(r.date, sizeof(r.date), "2026-02-01T00:00:00Z");
	snprintf(r.server, sizeof(r.server), "h");
	snprintf(r.partition, sizeof(r.partition), "/srv");
	snprintf(r.source_kind, sizeof(r.source_kind), "dir");
	snprintf(r.label, sizeof(r.label), "M1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x11);
	snprintf(r.digest_alg, sizeof(r.digest_alg), "xxh128");
	snprintf(r.status, sizeof(r.status), "ok");
	r.file = 1;
	r.part = 1;
	r.bytes = 100;
	r.blocks = 1;
	r.block_size = 512;
	cat_dl_format(&r, lines[0], sizeof(lines[0]));
	snprintf(r.label, sizeof(r.label), "A1");	/* the pool has one */
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x22);
	r.part = 2;
	r.offset = 100;
	cat_dl_format(&r, lines[1], sizeof(lines[1]));
	r.type = CAT_DL_DUMP;
	snprintf(r.status, sizeof(r.status), "complete");
	r.bytes = 200;
	r.raw_bytes = 300;
	cat_dl_format(&r, lines[2], sizeof(lines[2]));
	r.type = CAT_DL_BAD;
	snprintf(r.label, sizeof(r.label), "M1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x11);
	cat_dl_format(&r, lines[3], sizeof(lines[3]));
	r.type = CAT_DL_ERROR;
	snprintf(r.status, sizeof(r.status), "medium-error");
	cat_dl_format(&r, lines[4], sizeof(lines[4]));
	snprintf(lines[5], sizeof(lines[5]), "not a dump log line");
	for (int i = 0; i < 6; i++)
		v[i] = lines[i];
}

struct seen {
	int n;
	char label[64];
};

/* Keep the conflicts' count and last label. */
static int
conflict(const struct cat_merge_conflict *c, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->label, sizeof(s->label), "%s", c->label);
	return 0;
}

/* A conflict callback that fails. */
static int
conflict_fails(const struct cat_merge_conflict *c, void *arg)
{
	(void)c; (void)arg;
	return -ENOMEM;
}

/* The merge result as "parts dumps tapes entities errors bad skipped". */
static const char *
summary(const struct cat_merge_result *r)
{
	static char s[64];

	snprintf(s, sizeof(s), "%d %d %d %d %d %d %d", r->parts, r->dumps,
	    r->tapes_added, r->entities_added, r->errors, r->bad_tapes,
	    r->skipped);
	return s;
}

/* The state of the newest tape labelled label. */
static const char *
tape_state(struct cat_db *db, const char *label)
{
	static char st[32];
	sqlite3_stmt *q;

	st[0] = '\0';
	sqlite3_prepare_v2(db->db, "SELECT state FROM tapes WHERE label = ?"
	    " ORDER BY id DESC", -1, &q, NULL);
	sqlite3_bind_text(q, 1, label, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(st, sizeof(st), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return st;
}

static void
test_merge(void)
{
	struct cat_db *db = cat_t_open();
	struct cat_merge_result r;
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	int64_t n = 0, bytes = 0;

	cat_t_site(db);
	CHECK_EQ(cat_merge(db, "nosuch", v, 6, &r, conflict, &s, err), -ENOENT);
	CHECK(strcmp(err, "no pool nosuch") == 0);
	/* A failing callback: nothing merged. */
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict_fails, NULL, err),
	    -ENOMEM);
	CHECK(tape_state(db, "M1")[0] == '\0');
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK(strcmp(summary(&r), "1 0 1 1 1 1 3") == 0);
	CHECK(s.n == 1 && strcmp(s.label, "A1") == 0);
	CHECK(strcmp(tape_state(db, "M1"), "out-of-service") == 0);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK_EQ(n, 0);		/* not complete without part 2 */
	/* The operator destroys the catalog's A1: part 2 and the dump merge. */
	CHECK_EQ(cat_tape_set_state(db, "A1", "destroyed", err), 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK(strcmp(summary(&r), "1 1 1 0 0 0 1") == 0);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK(n == 1 && bytes == 200);
	/* Again: nothing changes. */
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK(strcmp(summary(&r), "0 0 0 0 0 0 1") == 0);
	cat_t_done(db);
}

/* The op for the error-path loop. */
static int
op_merge(struct cat_db *db, char *err)
{
	struct cat_merge_result r;
	struct seen s = { 0 };

	return cat_merge(db, "default", v, 6, &r, conflict, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_merge", op_merge, true },
	};

	make_log();
	test_merge();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
