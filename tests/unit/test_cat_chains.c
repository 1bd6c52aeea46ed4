/*
 * Chains and file indexes in the catalog (schema 6): the migration from a
 * schema 5 catalog keeps every dump; an index kept in 1 MiB chunks comes
 * back byte for byte, idempotently, and is refused when it contradicts
 * the dump; a dump's chain back to its full (named bases, and bases found
 * by since for dumps recorded before they named one); restorability (a
 * base missing, expired, incomplete or on a tape out of service) with the
 * dump at fault named; the chains of an entity and the entities whose
 * current chain is broken; the reuse rule never recycling a tape a
 * retained incremental needs; and the catalog's bytes per indexed file.
 */
#include <time.h>

#include "catalog/fileindex.h"
#include "cat_t.h"

static char tid[4][64];
static const char *labels[4] = { "C1", "C2", "C3", "C4" };

/* Tapes C1..C4 in pool p (no limit), tape ids kept. */
static void
tapes(struct cat_db *db)
{
	char err[CAT_ERRLEN];

	CHECK_EQ(cat_pool_set(db, "p", -1, 0, -1, -1, err), 0);
	CHECK_EQ(cat_tapes_add(db, "p", labels, 4, NULL, NULL, err), 4);
	for (int i = 0; i < 4; i++)
		snprintf(tid[i], sizeof(tid[i]), "%s", cat_t_tape_id(db,
		    labels[i]));
}

/* A complete dump of e1 in one part on tape t (C1..C4: 0..3). */
static void
mk(struct cat_db *db, const char *uid, int level, const char *started,
    const char *since, const char *base, int t)
{
	static int64_t file = 1;
	char err[CAT_ERRLEN];
	struct cat_part p = { .dump_uid = uid, .entity = "e1", .level = level,
	    .since = since, .started = started, .digest_alg = "xxh128",
	    .part = 1, .file = file, .bytes = 1000, .blocks = 2,
	    .block_size = 512, .digest = "ab", .ok = true, .tape_id = tid[t],
	    .written = started };
	struct cat_dump d = { .dump_uid = uid, .bytes = 1000, .raw_bytes = 2000,
	    .digest = "ab", .raw_digest = "cd", .finished = started,
	    .base_uid = base, .index_raw = 1500, .index_stored = 1500,
	    .index_bytes = level == 9 ? 0 : 100 };

	file += 2;
	CHECK_EQ(cat_part_record(db, &p, 1, err), 0);
	CHECK_EQ(cat_dump_complete(db, &d, 1, err), 0);
}

struct rows {
	int n;
	char uid[12][64];
	char why[CAT_ERRLEN];
	int64_t level[12], index_bytes[12];
	char head[64];
};

static int
keep(const struct cat_chain_dump *d, void *arg)
{
	struct rows *r = arg;

	if (r->n < 12) {
		snprintf(r->uid[r->n], 64, "%s", d->dump_uid);
		r->level[r->n] = d->level;
		r->index_bytes[r->n] = d->index_bytes;
	}
	r->n++;
	snprintf(r->why, sizeof(r->why), "%s", d->why ? d->why : "");
	snprintf(r->head, sizeof(r->head), "%s", d->head_uid ? d->head_uid : "");
	return 0;
}

/* Schema 5 to 6: the dumps stay, the new columns are empty. */
static void
test_migration(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];
	struct rows r = { 0 };
	int64_t len = -1;

	cat_t_site(db);
	/* Back to what schema 5 was: no index columns, no index table (and
	   none of schema 7's libraries, 8's identities, 9's shadows). */
	CHECK_EQ(sqlite3_exec(db->db, "DROP TABLE archive_entries;"
	    " DROP TABLE archives; DROP TABLE shadows;"
	    " DROP TABLE acl_identity; DROP TABLE media_servers;"
	    " DROP TABLE barcode_marks;"
	    " DROP TABLE cleaning; DROP TABLE moves; DROP TABLE inventory;"
	    " DROP INDEX drives_element; ALTER TABLE drives DROP COLUMN serial;"
	    " ALTER TABLE drives DROP COLUMN element;"
	    " ALTER TABLE drives DROP COLUMN library_id; DROP TABLE libraries;"
	    " DROP INDEX dumps_base;"
	    " DROP TABLE dump_index; ALTER TABLE dumps DROP COLUMN index_raw;"
	    " ALTER TABLE dumps DROP COLUMN index_stored;"
	    " ALTER TABLE dumps DROP COLUMN index_bytes;"
	    " PRAGMA user_version = 5", NULL, NULL, NULL), SQLITE_OK);
	cat_close(db);
	CHECK_EQ(cat_open(cat_t_path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 10);
	CHECK_EQ(cat_dump_chain(db, "dump1", keep, &r, NULL, err), 1);
	CHECK(strcmp(r.uid[0], "dump1") == 0 && r.index_bytes[0] == CAT_NULL);
	CHECK_EQ(cat_index_len(db, "dump1", &len, err), 0);
	CHECK_EQ(len, 0);
	CHECK_EQ(cat_index_store(db, "dump1", (const uint8_t *)"x", 1, err), 1);
	cat_t_done(db);
}

/* An index in chunks: back byte for byte, idempotent, refused if wrong. */
static void
test_index(void)
{
	struct cat_db *db = cat_t_open();
	size_t n = 2 * CAT_INDEX_CHUNK + 12345, got = 0;
	uint8_t *buf = malloc(n), *back = NULL;
	char err[CAT_ERRLEN];
	int64_t len = 0, chunks = 0;

	cat_t_site(db);
	tapes(db);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	CHECK_EQ(cat_index_load(db, "dump1", &back, &got, err), -ENOENT);
	CHECK(strstr(err, "keeps no index of dump dump1") != NULL);
	CHECK_EQ(cat_index_store(db, "nosuch", buf, n, err), -ENOENT);
	CHECK_EQ(cat_index_store(db, "dump1", buf, 0, err), -EINVAL);
	CHECK_EQ(cat_index_store(db, "dump1", buf, n, err), 1);
	CHECK_EQ(db_int(db, err, "", &chunks, "SELECT count(*) FROM dump_index",
	    ""), 1);
	CHECK_EQ(chunks, 3);
	CHECK_EQ(cat_index_store(db, "dump1", buf, n, err), 0);	/* again */
	CHECK_EQ(cat_index_len(db, "dump1", &len, err), 0);
	CHECK_EQ((size_t)len, n);
	CHECK_EQ(cat_index_load(db, "dump1", &back, &got, err), 0);
	CHECK(got == n && back && memcmp(back, buf, n) == 0);
	free(back);
	/* Chunk by chunk, as a media server reads it for a restore. */
	for (int64_t seq = 0, at = 0; seq < 4; seq++) {
		int64_t total = 0;
		int rc = cat_index_chunk(db, "dump1", seq, &back, &got, &total, err);
		CHECK_EQ(rc, seq < 3 ? 0 : -ENOENT);
		if (rc == 0) {
			CHECK((size_t)total == n && got == (seq < 2 ?
			    (size_t)CAT_INDEX_CHUNK : 12345));
			CHECK(memcmp(back, buf + at, got) == 0);
			at += (int64_t)got;
		}
		free(back);
	}
	CHECK_EQ(cat_index_chunk(db, "nosuch", 0, &back, &got, &len, err),
	    -ENOENT);
	/* Other bytes for the same dump: refused, the first kept. */
	buf[n - 1] ^= 0xff;
	CHECK_EQ(cat_index_store(db, "dump1", buf, n, err), -EEXIST);
	CHECK(strstr(err, "another index") != NULL);
	CHECK_EQ(cat_index_store(db, "dump1", buf, n - 1, err), -EEXIST);
	/* A length its dump line contradicts. */
	mk(db, "dumpA", 0, "2026-02-01T00:00:00Z", NULL, NULL, 0);
	CHECK_EQ(cat_index_store(db, "dumpA", buf, 99, err), -EINVAL);
	CHECK(strstr(err, "its dump line says 100") != NULL);
	CHECK_EQ(cat_index_store(db, "dumpA", buf, 100, err), 1);
	/* A chunk gone: an error, never a short index. */
	CHECK_EQ(sqlite3_exec(db->db, "DELETE FROM dump_index WHERE seq = 1",
	    NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(cat_index_load(db, "dump1", &back, &got, err), -EIO);
	CHECK(strstr(err, "chunk 1 missing") != NULL && back == NULL);
	free(buf);
	cat_t_done(db);
}

/*
 * e1: dump1 (full, B1, 2026-01-02), F full on C1, I1 level 1 on C2, I2
 * level 2 on C3 (base I1), J1 level 1 on C3 (base F), G full on C4, and
 * O1 a level 1 recorded before dumps named bases (its since is G's date).
 */
#define F_AT "2026-03-01T00:00:00Z"
#define I1_AT "2026-03-02T00:00:00Z"
#define I2_AT "2026-03-03T00:00:00Z"
#define J1_AT "2026-03-04T00:00:00Z"
#define G_AT "2026-03-10T00:00:00Z"
#define O1_AT "2026-03-11T00:00:00Z"

static void
chains(struct cat_db *db)
{
	cat_t_site(db);
	tapes(db);
	mk(db, "F", 0, F_AT, NULL, NULL, 0);
	mk(db, "I1", 1, I1_AT, F_AT, "F", 1);
	mk(db, "I2", 2, I2_AT, I1_AT, "I1", 2);
	mk(db, "J1", 1, J1_AT, F_AT, "F", 2);
}

static void
test_chains(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN], why[CAT_ERRLEN];
	struct rows r = { 0 };

	chains(db);
	CHECK_EQ(cat_dump_chain(db, "I2", keep, &r, why, err), 3);
	CHECK(strcmp(r.uid[0], "F") == 0 && strcmp(r.uid[1], "I1") == 0 &&
	    strcmp(r.uid[2], "I2") == 0 && why[0] == '\0');
	CHECK(strcmp(r.head, "F") == 0 && r.index_bytes[2] == 100);
	CHECK_EQ(cat_dump_chain(db, "nosuch", keep, &r, why, err), -ENOENT);
	/* Restore at a date: the chain ending at the newest dump then. */
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_restore_chain(db, "e1", "2026-03-03", false, keep, &r,
	    err), 3);
	CHECK(strcmp(r.uid[2], "I2") == 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, false, keep, &r, err), 2);
	CHECK(strcmp(r.uid[0], "F") == 0 && strcmp(r.uid[1], "J1") == 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_restore_chain(db, "e1", "2026-03-01", false, keep, &r,
	    err), 1);
	CHECK(strcmp(r.uid[0], "F") == 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, true, keep, &r, err), 1);
	CHECK(strcmp(r.uid[0], "J1") == 0);
	CHECK_EQ(cat_restore_chain(db, "e1", "2025", false, keep, &r, err),
	    -ENOENT);
	/* A dump recorded before it named its base: found by its since. */
	mk(db, "G", 0, G_AT, NULL, NULL, 3);
	mk(db, "O1", 1, O1_AT, G_AT, NULL, 3);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_dump_chain(db, "O1", keep, &r, why, err), 2);
	CHECK(strcmp(r.uid[0], "G") == 0 && why[0] == '\0');
	/* The chains of the entity: every dump, its head, restorable. */
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_entity_chains(db, "e1", keep, &r, err), 7);
	CHECK(strcmp(r.uid[6], "O1") == 0 && strcmp(r.head, "G") == 0 &&
	    r.why[0] == '\0');
	CHECK_EQ(cat_chains_broken(db, NULL, NULL, err), 0);
	cat_t_done(db);
}

/* Keep the broken chains' entities and reasons. */
static int
keep_broken(const struct cat_broken_chain *b, void *arg)
{
	struct rows *r = arg;

	snprintf(r->uid[r->n++ % 12], 64, "%s:%s", b->entity, b->dump_uid);
	snprintf(r->why, sizeof(r->why), "%s", b->why);
	return 0;
}

/* A chain is broken by a base missing, expired or on a bad tape. */
static void
test_broken(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN], why[CAT_ERRLEN];
	struct rows r = { 0 };

	chains(db);
	/* The full's tape out of service: every chain of F is broken. */
	CHECK_EQ(cat_tape_set_state(db, "C1", "out-of-service", err), 1);
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, false, keep, &r, err),
	    -ENOLINK);
	CHECK(strstr(err, "full F ") != NULL && strstr(err, "tape C1") != NULL);
	CHECK_EQ(r.n, 0);
	/* The incremental alone still reads. */
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, true, keep, &r, err), 1);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_chains_broken(db, keep_broken, &r, err), 1);
	CHECK(strcmp(r.uid[0], "e1:J1") == 0 && strstr(r.why, "full F "));
	CHECK_EQ(cat_tape_set_state(db, "C1", "appendable", err), 1);
	CHECK_EQ(cat_chains_broken(db, NULL, NULL, err), 0);
	/* An expired base (its tape recycled). */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE dumps SET state = 'expired' WHERE"
	    " dump_uid = 'I1'", NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(cat_restore_chain(db, "e1", "2026-03-03", false, keep, &r,
	    err), -ENOLINK);
	CHECK(strstr(err, "base I1 of I2 (level 2, " I2_AT ") is expired or not"
	    " in the catalog"));
	CHECK(strstr(err, "dump I2, level 2"));
	/* The full expired under a dump that found its base by since. */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE dumps SET base_uid = NULL WHERE"
	    " dump_uid = 'J1'; UPDATE dumps SET state = 'expired' WHERE"
	    " dump_uid = 'F'", NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, false, keep, &r, err),
	    -ENOLINK);
	CHECK(strstr(err, "has no base in the catalog") != NULL);
	CHECK_EQ(cat_chains_broken(db, NULL, NULL, err), 1);	/* it had one */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE dumps SET base_uid = 'F' WHERE"
	    " dump_uid = 'J1'; UPDATE dumps SET state = 'complete' WHERE"
	    " dump_uid = 'F'", NULL, NULL, NULL), SQLITE_OK);
	/* A base the catalog does not have at all. */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE dumps SET base_uid = 'GONE' WHERE"
	    " dump_uid = 'J1'", NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, false, keep, &r, err),
	    -ENOLINK);
	CHECK(strstr(err, "base GONE of J1") != NULL);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_dump_chain(db, "J1", keep, &r, why, err), 2);
	CHECK(strcmp(r.uid[0], "GONE") == 0 && strstr(why, "GONE") != NULL);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(cat_chains_broken(db, keep_broken, &r, err), 1);
	CHECK(strstr(r.why, "GONE") != NULL);
	/* No base at all: a level 1 whose since matches no dump. */
	mk(db, "K1", 1, "2026-04-01T00:00:00Z", "2026-03-31T00:00:00Z", NULL, 3);
	CHECK_EQ(cat_restore_chain(db, "e1", NULL, false, keep, &r, err),
	    -ENOLINK);
	CHECK(strstr(err, "has no base in the catalog") != NULL);
	CHECK_EQ(cat_chains_broken(db, NULL, NULL, err), 0);	/* no chain to break */
	cat_t_done(db);
}

/* Whether label is among the next tapes of pool p (recycle: 1). */
static int
next_row(const struct cat_tape *t, void *arg)
{
	char *out = arg;

	if (t->recycle) {
		strcat(out, t->label);
		strcat(out, " ");
	}
	return 0;
}

static void
recyclable(struct cat_db *db, char *out)
{
	char err[CAT_ERRLEN];

	out[0] = '\0';
	CHECK(cat_tapes_next(db, "p", 100, next_row, out, err) >= 0);
}

/* The reuse rule never recycles a tape a retained incremental needs. */
static void
test_reuse(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN], out[256];

	chains(db);
	/*
	 * Keep no fulls, tapes 10 days: C1 (F) and C2 (I1) are old and full,
	 * C3 (I2, J1) written now: its incrementals are retained, and need
	 * F and I1.
	 */
	CHECK_EQ(cat_pool_set(db, "p", -1, -1, 0, 10, err), 0);
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE tapes SET state = 'full',"
	    " last_written = '2026-03-05T00:00:00Z' WHERE label IN ('C1', 'C2',"
	    " 'B1'); UPDATE tapes SET state = 'full', last_written ="
	    " strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE label = 'C3'", NULL,
	    NULL, NULL), SQLITE_OK);
	recyclable(db, out);
	CHECK(strcmp(out, "B1 ") == 0);
	CHECK_EQ(cat_tape_reserve(db, tid[0], 0, err), -EBUSY);
	CHECK(strstr(err, "retained incremental") != NULL);
	CHECK_EQ(cat_tape_reserve(db, tid[1], 0, err), -EBUSY);
	/* C3 old too: nothing retains the chain, all may go. */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE tapes SET last_written ="
	    " '2026-03-05T00:00:00Z' WHERE label = 'C3'", NULL, NULL, NULL),
	    SQLITE_OK);
	recyclable(db, out);
	CHECK(strcmp(out, "B1 C1 C2 C3 ") == 0);
	/* A base's base: I2 alone on C4 (written now) needs I1 and F. */
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE dump_parts SET tape_id = (SELECT"
	    " id FROM tapes WHERE label = 'C4') WHERE dump_id = (SELECT id FROM"
	    " dumps WHERE dump_uid = 'I2'); UPDATE tapes SET state = 'full',"
	    " last_written = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE label ="
	    " 'C4'", NULL, NULL, NULL), SQLITE_OK);
	recyclable(db, out);
	CHECK(strcmp(out, "B1 C3 ") == 0);
	/* keep_fulls 1: G and L1 on C4 (with I2) are kept, and so is C4. */
	CHECK_EQ(cat_pool_set(db, "p", -1, -1, 1, 0, err), 0);
	mk(db, "G", 0, G_AT, NULL, NULL, 3);
	mk(db, "L1", 1, O1_AT, G_AT, "G", 3);
	CHECK_EQ(sqlite3_exec(db->db, "UPDATE tapes SET state = 'full',"
	    " last_written = '2026-03-20T00:00:00Z' WHERE label IN ('C3', 'C4')",
	    NULL, NULL, NULL), SQLITE_OK);
	/* F, I1, I2, J1 have G newer: none is retained, their tapes go. */
	recyclable(db, out);
	CHECK(strcmp(out, "B1 C1 C2 C3 ") == 0);
	/* keep_fulls 2: only dump1 (B1) has two newer fulls. */
	CHECK_EQ(cat_pool_set(db, "p", -1, -1, 2, -1, err), 0);
	recyclable(db, out);
	CHECK(strcmp(out, "B1 ") == 0);
	CHECK_EQ(cat_tape_reserve(db, tid[0], 0, err), -EBUSY);
	cat_t_done(db);
}

/*
 * What a million indexed files cost the catalog: an index of n files
 * built with the codec (paths like a home directory tree, or random
 * names of 4 to 13 letters, 40 a directory; random sizes and mtimes),
 * kept, and the catalog file's growth divided by n. ABS_MEASURE_FILES sets n (default
 * 200000; the README's number is for 1000000). Skipped while the codec
 * is a placeholder.
 */
static void
test_bytes_per_file(bool random_names)
{
	struct cat_db *db;
	struct fidx_builder *b = NULL;
	char err[CAT_ERRLEN], path[256];
	const char *env = getenv("ABS_MEASURE_FILES");
	long n = env ? atol(env) : 200000;
	int64_t pages0 = 0, pages1 = 0, psize = 0;
	uint8_t *enc = NULL;
	size_t len = 0;
	struct fidx x;
	char why[256];

	if (fidx_builder_new(&b) < 0) {
		printf("# bytes per indexed file: skipped (no index codec yet)\n");
		return;
	}
	db = cat_t_open();
	cat_t_site(db);
	srand(13);
	for (long i = 0; i < n; i++) {
		struct fidx_entry e = { .path = path, .type = FIDX_REG,
		    .flags = FIDX_IN_STREAM | FIDX_HAS_DATA, .mode = 0644,
		    .uid = 1000 + (uint32_t)(i % 7), .gid = 100, .nlink = 1,
		    .ino = (uint64_t)(1000 + i), .size = (uint64_t)(rand() %
		    200000), .mtime = 1700000000 + rand() % 10000000,
		    .raw_offset = (uint64_t)i * 4096,
		    .raw_end = (uint64_t)i * 4096 + 4096 };
		if (random_names) {
			/* Directories of 40 entries, names of random letters. */
			char leaf[16];
			int nl = 4 + rand() % 10;
			for (int k = 0; k < nl; k++)
				leaf[k] = (char)('a' + rand() % 26);
			leaf[nl] = '\0';
			snprintf(path, sizeof(path), "./d%04ld/d%03ld/%s.%ld", i /
			    40000, (i / 40) % 1000, leaf, i % 40);
		} else {
			snprintf(path, sizeof(path), "./home/user%03ld/project%02ld/"
			    "src/module%03ld/file%05ld.c", i % 500, (i / 500) % 40,
			    (i / 20000) % 1000, i);
		}
		CHECK_EQ(fidx_builder_add(b, &e), 0);
	}
	CHECK_EQ(fidx_builder_encode(b, (uint64_t)n * 4096, &enc, &len), 0);
	fidx_builder_free(b);
	CHECK_EQ(fidx_decode(enc, len, &x, why, sizeof(why)), 0);
	CHECK_EQ(x.nentries, (uint64_t)n);
	fidx_free(&x);
	db_int(db, err, "", &psize, "PRAGMA page_size", "");
	sqlite3_exec(db->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	db_int(db, err, "", &pages0, "PRAGMA page_count", "");
	CHECK_EQ(cat_index_store(db, "dump1", enc, len, err), 1);
	sqlite3_exec(db->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	db_int(db, err, "", &pages1, "PRAGMA page_count", "");
	printf("# bytes per indexed file (%s): %ld files, index %zu bytes (%.1f"
	    " per file), catalog grew %lld bytes (%.1f per file)\n",
	    random_names ? "random names" : "a home tree", n, len,
	    (double)len / (double)n, (long long)((pages1 - pages0) * psize),
	    (double)((pages1 - pages0) * psize) / (double)n);
	/* Well under Bareos' ~300 bytes per file row. */
	CHECK((double)((pages1 - pages0) * psize) / (double)n < 60.0);
	free(enc);
	cat_t_done(db);
}

/* Every new function on a broken catalog: an error, never "not found". */
static int
op_chain(struct cat_db *db, char *err)
{
	return cat_dump_chain(db, "dump1", NULL, NULL, NULL, err);
}

static int
op_restore(struct cat_db *db, char *err)
{
	return cat_restore_chain(db, "e1", NULL, false, NULL, NULL, err);
}

static int
op_entity(struct cat_db *db, char *err)
{
	return cat_entity_chains(db, "e1", NULL, NULL, err);
}

static int
op_broken(struct cat_db *db, char *err)
{
	return cat_chains_broken(db, NULL, NULL, err);
}

static int
op_store(struct cat_db *db, char *err)
{
	return cat_index_store(db, "dump1", (const uint8_t *)"abc", 3, err);
}

static int
op_load(struct cat_db *db, char *err)
{
	uint8_t *b = NULL;
	size_t n;
	int rc = cat_index_load(db, "dump1", &b, &n, err);

	free(b);
	return rc;
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_dump_chain", op_chain, false },
		{ "cat_restore_chain", op_restore, false },
		{ "cat_entity_chains", op_entity, false },
		{ "cat_chains_broken", op_broken, false },
		{ "cat_index_store", op_store, true },
		{ "cat_index_load", op_load, false },
	};

	test_migration();
	test_index();
	test_chains();
	test_broken();
	test_reuse();
	test_bytes_per_file(false);
	test_bytes_per_file(true);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
