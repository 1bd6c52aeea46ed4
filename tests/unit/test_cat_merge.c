/*
 * The catalog's merge of dump logs: tapes and entities appear, a dump
 * completes only with all its parts, a label the pool uses for another
 * tape is a conflict, a second merge changes nothing, a conflict callback
 * that fails undoes the whole merge; every kind of inconsistent line is
 * rejected with its index and changes nothing; and the error paths.
 */
#include "cat_t.h"
#include "catalog/dumplog.h"

static char lines[6][1024];
static const char *v[6];
static struct cat_dl_rec base;	/* part 1 of the log's dump */

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
	snprintf(r.written, sizeof(r.written), "2026-02-01T00:10:00Z");
	snprintf(r.server, sizeof(r.server), "h");
	snprintf(r.partition, sizeof(r.partition), "/srv");
	snprintf(r.source_kind, sizeof(r.source_kind), "dir");
	snprintf(r.compress, sizeof(r.compress), "zstd");
	snprintf(r.label, sizeof(r.label), "M1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x11);
	snprintf(r.digest_alg, sizeof(r.digest_alg), "xxh128");
	snprintf(r.digest, sizeof(r.digest), "%032x", 0xd1);
	snprintf(r.status, sizeof(r.status), "ok");
	r.file = 1;
	r.part = 1;
	r.bytes = 1048576;
	r.blocks = 1;
	r.block_size = 1048576;
	base = r;
	cat_dl_format(&r, lines[0], sizeof(lines[0]));
	snprintf(r.label, sizeof(r.label), "A1");	/* the pool has one */
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x22);
	snprintf(r.digest, sizeof(r.digest), "%032x", 0xd2);
	r.part = 2;
	r.offset = 1048576;
	r.bytes = 100;
	cat_dl_format(&r, lines[1], sizeof(lines[1]));
	r.type = CAT_DL_DUMP;
	snprintf(r.status, sizeof(r.status), "complete");
	snprintf(r.label, sizeof(r.label), "M1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x11);
	snprintf(r.digest, sizeof(r.digest), "%032x", 0xdd);
	snprintf(r.raw_digest, sizeof(r.raw_digest), "%032x", 0xee);
	r.offset = 0;
	r.blocks = 0;
	r.bytes = 1048676;
	r.raw_bytes = 3000000;
	cat_dl_format(&r, lines[2], sizeof(lines[2]));
	r.type = CAT_DL_BAD;
	cat_dl_format(&r, lines[3], sizeof(lines[3]));
	r.type = CAT_DL_ERROR;
	snprintf(r.status, sizeof(r.status), "medium-error");
	cat_dl_format(&r, lines[4], sizeof(lines[4]));
	snprintf(lines[5], sizeof(lines[5]), "not a dump log line");
	for (int i = 0; i < 6; i++)
		v[i] = lines[i];
}

struct seen {
	int n;			/* label conflicts */
	char label[64];
	int rejected;
	size_t line;		/* of the last rejection */
	char why[CAT_ERRLEN];
};

/* Keep the conflicts' count and last label, the last rejection. */
static int
conflict(const struct cat_merge_conflict *c, void *arg)
{
	struct seen *s = arg;

	if (c->rejected) {
		s->rejected++;
		s->line = c->line;
		snprintf(s->why, sizeof(s->why), "%s", c->why);
		return 0;
	}
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

/*
 * The merge result as "parts dumps tapes entities errors bad skipped
 * rejected".
 */
static const char *
summary(const struct cat_merge_result *r)
{
	static char s[64];

	snprintf(s, sizeof(s), "%d %d %d %d %d %d %d %d", r->parts, r->dumps,
	    r->tapes_added, r->entities_added, r->errors, r->bad_tapes,
	    r->skipped, r->rejected);
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
	CHECK(strcmp(summary(&r), "1 0 1 1 1 1 3 0") == 0);
	CHECK(s.n == 1 && strcmp(s.label, "A1") == 0);
	CHECK(strcmp(tape_state(db, "M1"), "out-of-service") == 0);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK_EQ(n, 0);		/* not complete without part 2 */
	/* The operator destroys the catalog's A1: part 2 and the dump merge. */
	CHECK_EQ(cat_tape_set_state(db, "A1", "destroyed", err), 1);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK(strcmp(summary(&r), "1 1 1 0 0 0 2 0") == 0);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK(n == 1 && bytes == 1048676);
	/* Again: nothing changes. */
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK(strcmp(summary(&r), "0 0 0 0 0 0 4 0") == 0);
	/*
	 * Failed when its job was lost (abs-ctld or the media server gone)
	 * with part 2 not yet recorded: the journal's part 2 and dump line
	 * complete it.
	 */
	sqlite3_exec(db->db, "DELETE FROM dump_parts WHERE part = 2 AND dump_id"
	    " IN (SELECT d.id FROM dumps d JOIN entities e ON e.id = d.entity_id"
	    " WHERE e.name = 'm1'); UPDATE dumps SET state = 'failed' WHERE"
	    " entity_id = (SELECT id FROM entities WHERE name = 'm1')", NULL,
	    NULL, NULL);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(cat_merge(db, "default", v, 6, &r, conflict, &s, err), 0);
	CHECK_EQ(r.parts, 1);
	CHECK_EQ(r.dumps, 1);
	CHECK_EQ(cat_dump_totals(db, "m1", &n, &bytes, err), 0);
	CHECK(n == 1 && bytes == 1048676);
	cat_t_done(db);
}

/* base changed by fn, as a line. */
static const char *
variant(void (*fn)(struct cat_dl_rec *r))
{
	static char line[1024];
	struct cat_dl_rec r = base;

	fn(&r);
	cat_dl_format(&r, line, sizeof(line));
	return line;
}

/* Field by field: what cat_dl_check refuses. */
static void v_huge(struct cat_dl_rec *r) { r->bytes = INT64_MAX; r->blocks = 5; }
static void v_part0(struct cat_dl_rec *r) { r->part = 0; }
static void v_feb30(struct cat_dl_rec *r) { strcpy(r->date, "2026-02-30T00:00:00Z"); }
static void v_future(struct cat_dl_rec *r) { strcpy(r->date, "2999-01-01T00:00:00Z"); }
static void v_since(struct cat_dl_rec *r) { r->level = 1; strcpy(r->since, "2026-03-01T00:00:00Z"); }
static void v_fullsince(struct cat_dl_rec *r) { strcpy(r->since, "2026-01-01T00:00:00Z"); }
static void v_digest(struct cat_dl_rec *r) { r->digest[31] = 'x'; }
static void v_sha(struct cat_dl_rec *r) { strcpy(r->digest_alg, "sha256"); }
static void v_label(struct cat_dl_rec *r) { memset(r->label, 'L', 63); r->label[63] = 0; r->label[10] = '|'; }
static void v_tape(struct cat_dl_rec *r) { strcpy(r->tape_id, "abcd"); }
static void v_level(struct cat_dl_rec *r) { r->level = 12; strcpy(r->since, "2026-01-01T00:00:00Z"); }
static void v_offset(struct cat_dl_rec *r) { r->offset = 4096; }
static void v_bs(struct cat_dl_rec *r) { r->block_size = 512; r->bytes = 100; }
static void v_file0(struct cat_dl_rec *r) { r->file = 0; }
static void v_status(struct cat_dl_rec *r) { strcpy(r->status, "maybe"); }
static void v_entity(struct cat_dl_rec *r) { strcpy(r->entity, "a|b"); }
static void v_written(struct cat_dl_rec *r) { strcpy(r->written, "2026-01-01T00:00:00Z"); }
static void v_empty(struct cat_dl_rec *r) { r->bytes = 0; r->blocks = 1; }

/* Against the catalog: what part 1 of the log (merged) contradicts. */
static void v_again(struct cat_dl_rec *r) { r->bytes = 1000; }
static void v_p2gap(struct cat_dl_rec *r) { r->part = 2; r->offset = 1048577; r->bytes = 10; snprintf(r->label, 64, "Z9"); snprintf(r->tape_id, 33, "%032x", 0x99); }
static void v_p2level(struct cat_dl_rec *r) { r->part = 2; r->offset = 1048576; r->bytes = 10; r->level = 2; strcpy(r->since, "2026-01-01T00:00:00Z"); }
static void v_p2entity(struct cat_dl_rec *r) { r->part = 2; r->offset = 1048576; r->bytes = 10; strcpy(r->entity, "m2"); }
static void v_dump_bytes(struct cat_dl_rec *r) { r->type = CAT_DL_DUMP; r->part = 1; r->bytes = 999; r->raw_bytes = 999; strcpy(r->status, "complete"); }
static void v_dump_tape(struct cat_dl_rec *r) { r->type = CAT_DL_DUMP; r->part = 1; r->file = 7; strcpy(r->status, "complete"); }
static void v_dump_1(struct cat_dl_rec *r) { r->type = CAT_DL_DUMP; r->part = 1; strcpy(r->status, "complete"); }
static void v_dump_3(struct cat_dl_rec *r) { r->type = CAT_DL_DUMP; r->part = 3; r->bytes = 1048676; strcpy(r->status, "complete"); }
static void v_p3late(struct cat_dl_rec *r) { r->part = 3; r->offset = 1048676; r->bytes = 10; }

/* Count tapes, entities, dumps and parts: "T E D P". */
static const char *
counts(struct cat_db *db)
{
	static char s[64];
	sqlite3_stmt *q;

	s[0] = '\0';
	sqlite3_prepare_v2(db->db, "SELECT (SELECT count(*) FROM tapes), (SELECT"
	    " count(*) FROM entities), (SELECT count(*) FROM dumps), (SELECT"
	    " count(*) FROM dump_parts)", -1, &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(s, sizeof(s), "%d %d %d %d", sqlite3_column_int(q, 0),
		    sqlite3_column_int(q, 1), sqlite3_column_int(q, 2),
		    sqlite3_column_int(q, 3));
	sqlite3_finalize(q);
	return s;
}

/*
 * Merge line as the second of two (a foreign line first): it must be
 * rejected, reported with its index 1 and a reason that says what, and
 * change nothing.
 */
static void
rejects(struct cat_db *db, const char *line, const char *says)
{
	const char *two[2] = { "# a comment", line };
	struct cat_merge_result r;
	struct seen s = { 0 };
	char err[CAT_ERRLEN], before[64];

	snprintf(before, sizeof(before), "%s", counts(db));
	CHECK_EQ(cat_merge(db, "default", two, 2, &r, conflict, &s, err), 0);
	if (s.rejected != 1 || !strstr(s.why, says))
		fprintf(stderr, "line %s\n  expected a rejection saying '%s',"
		    " got %d: %s\n", line, says, s.rejected, s.why);
	CHECK(s.rejected == 1 && r.rejected == 1 && s.line == 1);
	CHECK(strstr(s.why, says) != NULL);
	CHECK(strcmp(summary(&r), "0 0 0 0 0 0 1 1") == 0);
	CHECK(strcmp(counts(db), before) == 0);
}

/* Merge lines; the result summary. */
static const char *
merge_ok(struct cat_db *db, const char *const *l, size_t n)
{
	struct cat_merge_result r;
	struct seen s = { 0 };
	char err[CAT_ERRLEN];

	if (cat_merge(db, "default", l, n, &r, conflict, &s, err) < 0)
		fprintf(stderr, "merge: %s\n", err);
	return summary(&r);
}

static void
test_reject(void)
{
	struct cat_db *db = cat_t_open();
	char cut[1024];

	/* The defects found: a line cut inside dump=, INT64_MAX bytes, part 0. */
	snprintf(cut, sizeof(cut), "%s", lines[0]);
	cut[strlen(cut) - 6] = '\0';
	rejects(db, cut, "dump=");
	rejects(db, variant(v_huge), "bytes=9223372036854775807");
	rejects(db, variant(v_part0), "part=0");
	/* Every other field the parser believes. */
	rejects(db, variant(v_feb30), "date=");
	rejects(db, variant(v_future), "date=");
	rejects(db, variant(v_since), "since=");
	rejects(db, variant(v_fullsince), "since=");
	rejects(db, variant(v_digest), "digest=");
	rejects(db, variant(v_sha), "digest=");
	rejects(db, variant(v_label), "label=");
	rejects(db, variant(v_tape), "tape=");
	rejects(db, variant(v_level), "level=");
	rejects(db, variant(v_offset), "offset=");
	rejects(db, variant(v_bs), "block_size=");
	rejects(db, variant(v_file0), "file=0");
	rejects(db, variant(v_status), "status=");
	rejects(db, variant(v_entity), "entity=");
	rejects(db, variant(v_written), "written=");
	rejects(db, variant(v_empty), "bytes=0");
	snprintf(cut, sizeof(cut), "%.200s", lines[0]);	/* no dump= at all */
	rejects(db, cut, "not a dump-log line");
	snprintf(cut, sizeof(cut), "%s", lines[0]);
	memcpy(strstr(cut, "blocks=1"), "blocks=x", 8);
	rejects(db, cut, "not a dump-log line");

	/* Against what the catalog has: part 1 is in. */
	CHECK(strcmp(merge_ok(db, v, 1), "1 0 1 1 0 0 0 0") == 0);
	CHECK(strcmp(counts(db), "1 1 1 1") == 0);
	rejects(db, variant(v_again), "part 1 of dump");
	rejects(db, variant(v_p2gap), "starts at 1048577");
	CHECK(tape_state(db, "Z9")[0] == '\0');	/* its tape did not appear */
	rejects(db, variant(v_p2level), "is recorded as m1 level 0");
	rejects(db, variant(v_p2entity), "is recorded as m1");
	/* The dump line: part 2 missing, so incomplete (skipped, not rejected). */
	CHECK(strcmp(merge_ok(db, v + 2, 1), "0 0 0 0 0 0 1 0") == 0);
	rejects(db, variant(v_dump_bytes), "its parts hold 1048576");
	rejects(db, variant(v_dump_tape), "part 1 is on tape");
	CHECK(strcmp(merge_ok(db, v + 1, 1), "1 0 1 0 0 0 0 0") == 0);
	rejects(db, variant(v_dump_1), "says 1 parts, part 2 is recorded");
	CHECK(strcmp(merge_ok(db, (const char *[]){ variant(v_dump_3) }, 1),
	    "0 0 0 0 0 0 1 0") == 0);	/* a part 3 may still come */
	CHECK(strcmp(merge_ok(db, v + 2, 1), "0 1 0 0 0 0 0 0") == 0);
	rejects(db, variant(v_p3late), "is complete without a part 3");
	/* The same line twice is no contradiction. */
	CHECK(strcmp(merge_ok(db, v, 3), "0 0 0 0 0 0 3 0") == 0);
	cat_t_done(db);
}

/* A full line: the merged cartridge is full, never appended to again. */
static void
test_merge_full(void)
{
	struct cat_db *db = cat_t_open();
	struct cat_dl_rec r = base;
	struct cat_merge_result res;
	char err[CAT_ERRLEN], l[2][1024];
	const char *fv[2] = { l[0], l[1] };
	struct seen s = { 0 };

	cat_t_site(db);
	snprintf(r.dump_id, sizeof(r.dump_id), "%032x", 7);
	snprintf(r.entity, sizeof(r.entity), "f1");
	snprintf(r.label, sizeof(r.label), "F1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x77);
	cat_dl_format(&r, l[0], sizeof(l[0]));
	r.type = CAT_DL_FULL;
	snprintf(r.status, sizeof(r.status), "full");
	snprintf(r.written, sizeof(r.written), "2026-02-01T00:20:00Z");
	cat_dl_format(&r, l[1], sizeof(l[1]));
	CHECK_EQ(cat_merge(db, "default", fv, 2, &res, conflict, &s, err), 0);
	CHECK_EQ(res.rejected, 0);
	CHECK(strcmp(tape_state(db, "F1"), "full") == 0);
	/* Again: still full. */
	CHECK_EQ(cat_merge(db, "default", fv, 2, &res, conflict, &s, err), 0);
	CHECK(strcmp(tape_state(db, "F1"), "full") == 0);
	/* A full line older than the tape's last part (recycled since): no. */
	r = base;
	snprintf(r.dump_id, sizeof(r.dump_id), "%032x", 8);
	snprintf(r.entity, sizeof(r.entity), "g1");
	snprintf(r.label, sizeof(r.label), "G1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x78);
	snprintf(r.written, sizeof(r.written), "2026-03-01T00:00:00Z");
	cat_dl_format(&r, l[0], sizeof(l[0]));
	r.type = CAT_DL_FULL;
	snprintf(r.status, sizeof(r.status), "full");
	snprintf(r.written, sizeof(r.written), "2026-02-15T00:00:00Z");
	cat_dl_format(&r, l[1], sizeof(l[1]));
	CHECK_EQ(cat_merge(db, "default", fv, 2, &res, conflict, &s, err), 0);
	CHECK_EQ(res.rejected, 0);
	CHECK(strcmp(tape_state(db, "G1"), "full") != 0);
	/* An out-of-service tape stays out of service. */
	CHECK_EQ(cat_tape_set_state(db, "F1", "out-of-service", err), 1);
	snprintf(r.label, sizeof(r.label), "F1");
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x77);
	snprintf(r.dump_id, sizeof(r.dump_id), "%032x", 7);
	snprintf(r.entity, sizeof(r.entity), "f1");
	snprintf(r.written, sizeof(r.written), "2026-04-01T00:00:00Z");
	cat_dl_format(&r, l[1], sizeof(l[1]));
	CHECK_EQ(cat_merge(db, "default", fv + 1, 1, &res, conflict, &s, err), 0);
	CHECK(strcmp(tape_state(db, "F1"), "out-of-service") == 0);
	/* A full line with another status is rejected. */
	snprintf(r.status, sizeof(r.status), "ok");
	cat_dl_format(&r, l[1], sizeof(l[1]));
	CHECK_EQ(cat_merge(db, "default", fv + 1, 1, &res, conflict, &s, err), 0);
	CHECK_EQ(res.rejected, 1);
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

/* An int the query gives (-1 if none). */
static int64_t
q_int(struct cat_db *db, const char *sql)
{
	sqlite3_stmt *q;
	int64_t val = -1;

	sqlite3_prepare_v2(db->db, sql, -1, &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW)
		val = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return val;
}

/* A text the query gives ("" if none). */
static const char *
q_text(struct cat_db *db, const char *sql)
{
	static char t[256];
	sqlite3_stmt *q;

	t[0] = '\0';
	sqlite3_prepare_v2(db->db, sql, -1, &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(t, sizeof(t), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return t;
}

/* The dump's job origin into arg. */
static int
dump_origin(const struct cat_dump *d, void *arg)
{
	snprintf(arg, 64, "%s", d->job_origin ? d->job_origin : "");
	return 0;
}

/* One-part dump n of entity ent on tape n: job job of site (part, dump). */
static void
job_log(char l[2][1024], int n, const char *ent, int64_t job,
    const char *site)
{
	struct cat_dl_rec r = base;

	snprintf(r.dump_id, sizeof(r.dump_id), "%032x", 0x100 + n);
	snprintf(r.entity, sizeof(r.entity), "%s", ent);
	snprintf(r.label, sizeof(r.label), "J%d", n);
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 0x200 + n);
	r.job = job;
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.bytes = 100;
	cat_dl_format(&r, l[0], sizeof(l[0]));
	r.type = CAT_DL_DUMP;
	snprintf(r.status, sizeof(r.status), "complete");
	snprintf(r.raw_digest, sizeof(r.raw_digest), "%s", r.digest);
	r.raw_bytes = 100;
	snprintf(r.compress, sizeof(r.compress), "none");
	cat_dl_format(&r, l[1], sizeof(l[1]));
}

/*
 * Merged dumps keep their job: another master's job ID as the origin
 * SITE:ID (a crippled journal's, a media server's journal), ours as our
 * job; a second merge adds no job; the same number from two sites is two
 * jobs; a line without a site links none; the dump carries the origin.
 */
static void
test_merge_jobs(void)
{
	struct cat_db *db = cat_t_open();
	char l[5][2][1024], err[CAT_ERRLEN], site[64], self[160];
	const char *all[10];
	struct cat_merge_result res;
	struct seen s = { 0 };
	int64_t own;

	cat_t_site(db);
	CHECK_EQ(cat_site(db, site, sizeof(site), err), 0);
	sqlite3_exec(db->db, "INSERT INTO jobs (kind, state) VALUES ('dump',"
	    " 'running')", NULL, NULL, NULL);
	own = sqlite3_last_insert_rowid(db->db);
	job_log(l[0], 1, "c1", 1000000001, "00000000000000aa");	/* crippled */
	job_log(l[1], 2, "c2", 1000000001, "00000000000000bb");	/* another */
	job_log(l[2], 3, "d1", 7, "00000000000000cc");	/* a media server's */
	job_log(l[3], 4, "o1", own, site);			/* ours */
	job_log(l[4], 5, "n1", 7, "");				/* no site */
	/* No site: written as "-". */
	CHECK(strstr(l[4][0], " site=- ") != NULL);
	for (int i = 0; i < 10; i++)
		all[i] = l[i / 2][i % 2];
	CHECK_EQ(cat_merge(db, "default", all, 10, &res, conflict, &s, err), 0);
	CHECK_EQ(res.rejected, 0);
	CHECK_EQ(res.dumps, 5);
	CHECK_EQ(q_int(db, "SELECT count(*) FROM jobs WHERE origin IS NOT"
	    " NULL"), 3);
	CHECK(strcmp(q_text(db, "SELECT j.origin || ' ' || j.state FROM jobs j"
	    " JOIN dumps d ON d.job_id = j.id WHERE d.dump_uid LIKE '%101'"),
	    "00000000000000aa:1000000001 done") == 0);
	CHECK(strcmp(q_text(db, "SELECT j.origin FROM jobs j JOIN dumps d ON"
	    " d.job_id = j.id WHERE d.dump_uid LIKE '%102'"),
	    "00000000000000bb:1000000001") == 0);
	CHECK(strcmp(q_text(db, "SELECT j.origin FROM jobs j JOIN dumps d ON"
	    " d.job_id = j.id WHERE d.dump_uid LIKE '%103'"),
	    "00000000000000cc:7") == 0);
	snprintf(self, sizeof(self), "SELECT count(*) FROM dumps WHERE job_id ="
	    " %lld AND dump_uid LIKE '%%104'", (long long)own);
	CHECK_EQ(q_int(db, self), 1);
	CHECK_EQ(q_int(db, "SELECT count(*) FROM dumps WHERE job_id IS NULL"), 1);
	/* The entity's last full names its job's origin. */
	char origin[64] = "";
	CHECK(cat_dump_last(db, "c1", true, dump_origin, origin, err) >= 0);
	CHECK(strcmp(origin, "00000000000000aa:1000000001") == 0);
	/* Again: no new job, nothing changed. */
	CHECK_EQ(cat_merge(db, "default", all, 10, &res, conflict, &s, err), 0);
	CHECK_EQ(res.parts + res.dumps + res.rejected, 0);
	CHECK_EQ(q_int(db, "SELECT count(*) FROM jobs WHERE origin IS NOT"
	    " NULL"), 3);
	cat_t_done(db);
}

/*
 * An aborted line: the dump (failed when its job was lost) is aborted and
 * so is another master's job; a complete dump stays complete.
 */
static void
test_merge_aborted(void)
{
	struct cat_db *db = cat_t_open();
	char l[2][1024], ab[1024], err[CAT_ERRLEN];
	const char *v2[2] = { l[0], ab };
	struct cat_merge_result res;
	struct seen s = { 0 };
	struct cat_dl_rec r;

	cat_t_site(db);
	job_log(l, 1, "a1", 1000000009, "00000000000000aa");
	CHECK_EQ(cat_dl_parse(l[0], &r), 0);
	r.type = CAT_DL_ABORTED;
	snprintf(r.status, sizeof(r.status), "aborted");
	cat_dl_format(&r, ab, sizeof(ab));
	CHECK(strncmp(ab, "aborted entity=a1 ", 18) == 0);
	CHECK_EQ(cat_merge(db, "default", v2, 2, &res, conflict, &s, err), 0);
	CHECK_EQ(res.rejected, 0);
	CHECK(strcmp(q_text(db, "SELECT d.state || ' ' || j.state FROM dumps d"
	    " JOIN jobs j ON j.id = d.job_id WHERE j.origin IS NOT NULL"),
	    "aborted aborted") == 0);
	/* Its part stays on its tape. */
	CHECK_EQ(q_int(db, "SELECT count(*) FROM dump_parts p JOIN tapes t ON"
	    " t.id = p.tape_id WHERE t.label = 'J1'"), 1);
	/* Again: nothing changes. */
	CHECK_EQ(cat_merge(db, "default", v2, 2, &res, conflict, &s, err), 0);
	CHECK_EQ(res.parts + res.dumps + res.rejected, 0);
	/* Another status on an aborted line is rejected. */
	snprintf(r.status, sizeof(r.status), "complete");
	cat_dl_format(&r, ab, sizeof(ab));
	CHECK_EQ(cat_merge(db, "default", v2 + 1, 1, &res, conflict, &s, err),
	    0);
	CHECK_EQ(res.rejected, 1);
	/* A complete dump is not aborted by a late line. */
	job_log(l, 2, "a2", 1000000010, "00000000000000aa");
	CHECK_EQ(cat_dl_parse(l[0], &r), 0);
	r.type = CAT_DL_ABORTED;
	snprintf(r.status, sizeof(r.status), "aborted");
	cat_dl_format(&r, ab, sizeof(ab));
	const char *v3[3] = { l[0], l[1], ab };
	CHECK_EQ(cat_merge(db, "default", v3, 3, &res, conflict, &s, err), 0);
	CHECK(strcmp(q_text(db, "SELECT d.state || ' ' || j.state FROM dumps d"
	    " JOIN jobs j ON j.id = d.job_id JOIN entities e ON e.id ="
	    " d.entity_id WHERE e.name = 'a2'"), "complete done") == 0);
	cat_t_done(db);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_merge", op_merge, true },
	};

	make_log();
	test_merge();
	test_reject();
	test_merge_full();
	test_merge_jobs();
	test_merge_aborted();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
