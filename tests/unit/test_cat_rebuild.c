/*
 * The catalog rebuilt from tapes: a dump in three parts on three
 * cartridges, scanned in every order, is incomplete until its last part is
 * in and then complete with the tapes' dates and totals; scanning again
 * changes nothing; a part that contradicts the catalog or fails the dump
 * log's checks is refused and changes nothing; a dump whose previous part's
 * cartridge was labelled again after it expires, whichever comes first;
 * restore refuses an incomplete dump; a v3 catalog's dumps survive the
 * migration to the incomplete state; and the error paths.
 */
#include "cat_t.h"

#define MiB 1048576

static char tids[3][33], dump_uid[33] = "0123456789abcdef0123456789abcdef";
static const char *labels[3] = { "R1", "R2", "R3" };

/* Cartridge i's label (done: scanned to its end). */
static struct cat_rebuild_tape
tape(int i, bool done)
{
	struct cat_rebuild_tape t = { labels[i], tids[i], "default",
	    i == 2 ? "2026-03-01T00:00:00Z" : "2026-01-01T00:00:00Z", done,
	    done && i < 2 };

	return t;
}

/* Part i + 1 of the dump, on cartridge i: 2 MiB, 2 MiB, 1 MiB + 10. */
static struct cat_rebuild_part
part(int i)
{
	static char digests[3][33];
	struct cat_rebuild_part p = {
		.label = labels[i], .tape_id = tids[i], .dump_uid = dump_uid,
		.entity = "vol.x", .entity_type = "volume", .server = "afs1",
		.partition = "/vicepa", .source_kind = "cmd",
		.source = "vos dump vol.x", .compress = "none", .level = 0,
		.job = 17, .started = "2026-02-01T00:00:00Z", .since = "-",
		.part = i + 1, .file = 1, .offset = (int64_t)i * 2 * MiB,
		.bytes = i < 2 ? 2 * MiB : MiB + 10, .blocks = 2,
		.block_size = MiB, .digest_alg = "xxh128", .trailer = true,
		.last = i == 2, .stream_bytes = 5 * MiB + 10,
		.raw_bytes = 5 * MiB + 10,
		.stream_digest = "dddddddddddddddddddddddddddddddd",
		.raw_digest = "dddddddddddddddddddddddddddddddd",
	};
	static const char *written[3] = { "2026-02-01T00:10:00Z",
	    "2026-02-01T00:20:00Z", "2026-02-01T00:30:00Z" };

	snprintf(digests[i], sizeof(digests[i]), "%032x", i + 1);
	p.digest = digests[i];
	p.written = written[i];
	if (i > 0)
		p.prev_tape_id = tids[i - 1];
	return p;
}

/* One text value of the catalog (first row, first column), or "". */
static const char *
value(struct cat_db *db, const char *sql)
{
	static char v[256];
	sqlite3_stmt *q;

	v[0] = '\0';
	if (sqlite3_prepare_v2(db->db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(v, sizeof(v), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return v;
}

#define DUMP_ROW "SELECT state || ' ' || coalesce(finished, '-') || ' ' ||" \
	" coalesce(bytes, '-') || ' ' || coalesce(job_id, '-') FROM dumps"

/* Nothing to keep of restore's choice. */
static int
no_row(const struct cat_dump *d, void *arg)
{
	(void)d;
	(void)arg;
	return 0;
}

/* Restore's choice for vol.x: 1 found, or its negative errno. */
static int
restore_pick(struct cat_db *db, char *err)
{
	return cat_dump_for_restore(db, "vol.x", NULL, no_row, NULL, err);
}

/* The three cartridges in order (a permutation of 0 1 2). */
static void
scan_in(const int order[3])
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];
	struct cat_rebuild_counts n;

	for (int k = 0; k < 3; k++) {
		int i = order[k];
		struct cat_rebuild_tape t = tape(i, false);
		struct cat_rebuild_part p = part(i);
		CHECK_EQ(cat_rebuild_tape(db, &t, err), 1);
		CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
		t = tape(i, true);
		CHECK_EQ(cat_rebuild_tape(db, &t, err), 0);
		CHECK_EQ(cat_rebuild_counts(db, &n, err), 1);
		/* Incomplete until all three are in. */
		CHECK_EQ(n.complete, k == 2 ? 1 : 0);
		CHECK_EQ(n.incomplete, k == 2 ? 0 : 1);
		if (k < 2) {
			/* A state of its own, which restore refuses, saying why. */
			CHECK(strncmp(value(db, DUMP_ROW), "incomplete - ", 13) == 0);
			CHECK_EQ(restore_pick(db, err), -EAGAIN);
			CHECK(strstr(err, "incomplete") && strstr(err, dump_uid));
		}
	}
	CHECK_EQ(restore_pick(db, err), 1);
	CHECK(strcmp(value(db, DUMP_ROW), "complete 2026-02-01T00:30:00Z 5242890 17")
	    == 0);
	CHECK(strcmp(value(db, "SELECT e.name || ' ' || e.source || ' ' || t.name"
	    " || ' ' || e.added FROM entities e JOIN entity_types t ON t.id ="
	    " e.type_id"), "vol.x cmd:vos dump vol.x volume 2026-02-01T00:00:00Z")
	    == 0);
	CHECK(strcmp(value(db, "SELECT group_concat(label || ':' || state || ':'"
	    " || bytes || ':' || files || ':' || last_written, ' ') FROM (SELECT *"
	    " FROM tapes ORDER BY label)"), "R1:full:2097152:2:2026-02-01T00:10:00Z"
	    " R2:full:2097152:2:2026-02-01T00:20:00Z"
	    " R3:appendable:1048586:2:2026-02-01T00:30:00Z") == 0);
	/* Again, in any order: nothing changes. */
	for (int i = 2; i >= 0; i--) {
		struct cat_rebuild_tape t = tape(i, true);
		struct cat_rebuild_part p = part(i);
		CHECK_EQ(cat_rebuild_tape(db, &t, err), 0);
		CHECK_EQ(cat_rebuild_part(db, &p, err), 0);
	}
	CHECK(strcmp(value(db, "SELECT count(*) FROM dump_parts"), "3") == 0);
	cat_t_done(db);
}

/* What is refused, and changes nothing. */
static void
test_refused(void)
{
	struct cat_db *db = cat_t_open();
	struct cat_rebuild_tape t = tape(0, false);
	struct cat_rebuild_part p = part(0);
	char err[CAT_ERRLEN];

	CHECK_EQ(cat_rebuild_part(db, &p, err), -ENOENT);	/* label first */
	CHECK_EQ(cat_rebuild_tape(db, &t, err), 1);
	p.bytes = INT64_MAX;			/* more than its blocks hold */
	CHECK_EQ(cat_rebuild_part(db, &p, err), -EINVAL);
	CHECK(strstr(err, "bytes=") != NULL);
	p = part(0);
	p.started = "2026-02-30T00:00:00Z";
	CHECK_EQ(cat_rebuild_part(db, &p, err), -EINVAL);
	CHECK(strstr(err, "date=") != NULL);
	CHECK(strcmp(value(db, "SELECT count(*) FROM dumps"), "0") == 0);
	CHECK(strcmp(value(db, "SELECT count(*) FROM entities"), "0") == 0);
	p = part(0);
	CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
	p.bytes = MiB + 5;			/* the same part, other counts */
	CHECK_EQ(cat_rebuild_part(db, &p, err), -EINVAL);
	CHECK(strstr(err, "recorded elsewhere") != NULL);
	p = part(1);
	p.tape_id = tids[0];
	p.level = 1;				/* its dump, another level */
	p.since = "2026-01-01T00:00:00Z";
	CHECK_EQ(cat_rebuild_part(db, &p, err), -EINVAL);
	CHECK(strstr(err, "another entity, level or dates") != NULL);
	CHECK(strcmp(value(db, "SELECT count(*) FROM dump_parts"), "1") == 0);
	/* Another tape with R1's label in the pool: the operator decides. */
	t.tape_id = "ffffffffffffffffffffffffffffffff";
	CHECK_EQ(cat_rebuild_tape(db, &t, err), -EEXIST);
	cat_t_done(db);
}

/*
 * Part 2's cartridge was relabelled after the dump (recycled) or before
 * it: part 3 alone expires, or stays incomplete, whether that cartridge
 * is scanned before or after part 3's.
 */
static void
test_expired(void)
{
	for (int recycled = 0; recycled < 2; recycled++)
		for (int first = 0; first < 2; first++) {
			struct cat_db *db = cat_t_open();
			struct cat_rebuild_tape t1 = tape(1, true), t2 = tape(2, false);
			struct cat_rebuild_part p = part(2);
			char err[CAT_ERRLEN];

			t1.labelled_at = recycled ? "2026-03-01T00:00:00Z" :
			    "2026-01-01T00:00:00Z";
			if (first)
				CHECK_EQ(cat_rebuild_tape(db, &t1, err), 1);
			CHECK_EQ(cat_rebuild_tape(db, &t2, err), 1);
			CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
			if (!first)
				CHECK_EQ(cat_rebuild_tape(db, &t1, err), 1);
			CHECK(strncmp(value(db, DUMP_ROW), recycled ? "expired " :
			    "incomplete ", recycled ? 8 : 11) == 0);
			/* An expired dump is not restore's concern. */
			CHECK_EQ(restore_pick(db, err), recycled ? -ENOENT : -EAGAIN);
			cat_t_done(db);
		}
	/* Recycled, but its scan never ended (killed): not known yet. */
	struct cat_db *db = cat_t_open();
	struct cat_rebuild_tape t1 = tape(1, false), t2 = tape(2, false);
	struct cat_rebuild_part p = part(2);
	char err[CAT_ERRLEN];

	t1.labelled_at = "2026-03-01T00:00:00Z";
	CHECK_EQ(cat_rebuild_tape(db, &t1, err), 1);
	CHECK_EQ(cat_rebuild_tape(db, &t2, err), 1);
	CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
	CHECK(strncmp(value(db, DUMP_ROW), "incomplete ", 11) == 0);
	t1.done = true;
	CHECK_EQ(cat_rebuild_tape(db, &t1, err), 0);
	CHECK(strncmp(value(db, DUMP_ROW), "expired ", 8) == 0);
	cat_t_done(db);
}

/*
 * Part 2's cartridge labelled in the very second part 3 was written (dates
 * are kept to the second): recycled after the dump if a later job wrote
 * on it (the dump expires), else not known to be (it stays incomplete),
 * in either order of cartridges.
 */
static void
test_expired_same_second(void)
{
	for (int job = 0; job < 3; job++)
		for (int first = 0; first < 2; first++) {
			struct cat_db *db = cat_t_open();
			struct cat_rebuild_tape t1 = tape(1, true), t2 = tape(2, false);
			struct cat_rebuild_part p = part(2), o = part(2);
			char err[CAT_ERRLEN];
			/* job 0: nothing on it; 1: a part of job 16; 2: of job 18 */
			bool later = job == 2;

			t1.labelled_at = "2026-02-01T00:30:00Z";
			o.tape_id = tids[1];
			o.label = labels[1];
			o.dump_uid = "fedcba9876543210fedcba9876543210";
			o.entity = "vol.y";
			o.job = job == 1 ? 16 : 18;
			o.part = 1;
			o.offset = 0;
			o.prev_tape_id = NULL;
			o.started = o.written = "2026-02-01T00:30:00Z";
			o.stream_bytes = o.raw_bytes = o.bytes;
			/* Part 2's cartridge (its label, its parts, its end)
			   scanned before or after part 3's. */
			for (int k = 0; k < 2; k++) {
				if (k == !first) {
					CHECK_EQ(cat_rebuild_tape(db, &t2, err), 1);
					CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
					continue;
				}
				t1.done = false;
				CHECK_EQ(cat_rebuild_tape(db, &t1, err), 1);
				if (job)
					CHECK_EQ(cat_rebuild_part(db, &o, err), 1);
				t1.done = true;
				CHECK_EQ(cat_rebuild_tape(db, &t1, err), 0);
			}
			CHECK(strcmp(value(db, "SELECT state FROM dumps WHERE job_id"
			    " = 17"), later ? "expired" : "incomplete") == 0);
			cat_t_done(db);
		}
}

/* A job ID the catalog gave to another job since: the dump is not tied to it. */
static void
test_job_taken(void)
{
	struct cat_db *db = cat_t_open();
	struct cat_rebuild_tape t = tape(0, false);
	struct cat_rebuild_part p = part(0);
	char err[CAT_ERRLEN];

	CHECK(sqlite3_exec(db->db, "INSERT INTO jobs (id, kind, state) VALUES"
	    " (17, 'restore', 'done')", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ(cat_rebuild_tape(db, &t, err), 1);
	CHECK_EQ(cat_rebuild_part(db, &p, err), 1);
	CHECK(strcmp(value(db, "SELECT coalesce(job_id, '-') FROM dumps"), "-")
	    == 0);
	CHECK(strcmp(value(db, "SELECT kind FROM jobs WHERE id = 17"), "restore")
	    == 0);
	cat_t_done(db);
}

/* The op for the error-path loop: a tape, then a part. */
static int
op_rebuild(struct cat_db *db, char *err)
{
	struct cat_rebuild_tape t = tape(0, true);
	struct cat_rebuild_part p = part(0);
	int rc = cat_rebuild_tape(db, &t, err);

	return rc < 0 ? rc : cat_rebuild_part(db, &p, err);
}

/* The op for the error-path loop: the counts. */
static int
op_counts(struct cat_db *db, char *err)
{
	struct cat_rebuild_counts n;

	return cat_rebuild_counts(db, &n, err);
}

int
main(void)
{
	static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
	    { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	static const struct cat_t_op ops[] = {
		{ "cat_rebuild_tape+part", op_rebuild, true },
		{ "cat_rebuild_counts", op_counts, false },
	};

	for (int i = 0; i < 3; i++)
		snprintf(tids[i], sizeof(tids[i]), "%032x", 0xa0 + i);
	for (int i = 0; i < 6; i++)
		scan_in(orders[i]);
	test_refused();
	test_expired();
	test_expired_same_second();
	test_job_taken();
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
