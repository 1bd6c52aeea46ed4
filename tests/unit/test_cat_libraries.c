/*
 * Tape libraries in the catalog (schema 7): the migration from schema 6;
 * libraries added and refused; drives attached by element (one drive per
 * element); an inventory replacing the last, joined with the catalog's
 * tapes by barcode (with and without an LTO suffix), cleaning cartridges
 * apart; the journal of moves (the inventory follows a done move, a
 * started one is cut by the next inventory); cleaning uses up to
 * expended; barcode marks.
 */
#include "cat_t.h"

struct elems {
	int n;
	char line[16][160];
};

static int
keep_elem(const struct cat_element *e, void *arg)
{
	struct elems *s = arg;

	if (s->n < 16)
		snprintf(s->line[s->n], sizeof(s->line[0]),
		    "%s %lld %s %s %s %s%s%s%s", e->type, (long long)e->num,
		    e->full ? (e->barcode ? e->barcode : "?") : "-",
		    e->label ? e->label : "-", e->drive ? e->drive : "-",
		    e->cleaning ? "C" : "", e->expended ? "X" : "",
		    e->mark ? "M" : "", e->tag_unreadable ? "U" : "");
	s->n++;
	return 0;
}

struct libs {
	int n;
	int64_t drives, slots_full, cleaning, expended;
	char last[64];
};

static int
keep_lib(const struct cat_library *l, void *arg)
{
	struct libs *s = arg;

	s->n++;
	s->drives = l->drives;
	s->slots_full = l->slots_full;
	s->cleaning = l->cleaning;
	s->expended = l->expended;
	snprintf(s->last, sizeof(s->last), "%s", l->last_inventory ?
	    l->last_inventory : "");
	return 0;
}

struct moves {
	int n;
	char state[8][16];
	int64_t job[8];
};

static int
keep_move(const struct cat_move *m, void *arg)
{
	struct moves *s = arg;

	if (s->n < 8) {
		snprintf(s->state[s->n], 16, "%s", m->state);
		s->job[s->n] = m->job;
	}
	s->n++;
	return 0;
}

static int
keep_drive(const struct cat_lib_drive *d, void *arg)
{
	char *out = arg;

	snprintf(out, 128, "%s %s %lld %s", d->library, d->drive,
	    (long long)d->element, d->serial ? d->serial : "-");
	return 0;
}

/* Schema 6 to 7: the new tables come, the drives stay. */
static void
test_migration(void)
{
	struct cat_db *db = cat_t_open();
	char err[CAT_ERRLEN];
	struct libs l = { 0 };

	cat_t_site(db);
	CHECK_EQ(cat_drive_seen(db, "d0", "vtape:/x/drive0", err), 0);
	CHECK_EQ(sqlite3_exec(db->db, "DROP TABLE archive_entries;"
	    " DROP TABLE archives; DROP TABLE shadows;"
	    " DROP TABLE acl_identity; DROP TABLE media_servers;"
	    " DROP TABLE barcode_marks;"
	    " DROP TABLE cleaning; DROP TABLE moves; DROP TABLE inventory;"
	    " DROP INDEX drives_element; ALTER TABLE drives DROP COLUMN serial;"
	    " ALTER TABLE drives DROP COLUMN element;"
	    " ALTER TABLE drives DROP COLUMN library_id; DROP TABLE libraries;"
	    " PRAGMA user_version = 6", NULL, NULL, NULL), SQLITE_OK);
	cat_close(db);
	CHECK_EQ(cat_open(cat_t_path, &db, err), 0);
	CHECK_EQ(cat_schema_version(db), 10);
	CHECK_EQ(cat_libraries_list(db, keep_lib, &l, err), 0);
	CHECK_EQ(cat_library_add(db, "lib", "vtape:/x", NULL, 0, err), 0);
	CHECK_EQ(cat_library_drive_set(db, "lib", "d0", 0, err), 0);
	cat_t_done(db);
}

static void
test_libraries(struct cat_db *db)
{
	char err[CAT_ERRLEN], line[128] = "";
	struct libs l = { 0 };

	CHECK_EQ(cat_library_add(db, "lib", "vtape:/tmp/lib", NULL, 0, err), 0);
	CHECK_EQ(cat_library_add(db, "lib", "vtape:/other", NULL, 0, err),
	    -EEXIST);
	CHECK_EQ(cat_library_add(db, "lib2", "vtape:/tmp/lib", NULL, 0, err),
	    -EEXIST);
	CHECK_EQ(cat_library_add(db, "bad name", "vtape:/y", NULL, 0, err),
	    -EINVAL);
	CHECK_EQ(cat_library_add(db, "l3", "vtape:/with blank", NULL, 0, err),
	    -EINVAL);
	CHECK_EQ(cat_library_add(db, "l3", "vtape:/y", "cln", 0, err), -EINVAL);
	CHECK_EQ(cat_library_add(db, "l3", "vtape:/y", "CLN", -1, err), -EINVAL);
	CHECK_EQ(cat_library_add(db, "l3", "vtape:/y", "CU", 3, err), 0);
	CHECK_EQ(cat_library_get(db, "nosuch", keep_lib, &l, err), -ENOENT);
	CHECK(strstr(err, "no library nosuch") != NULL);
	CHECK_EQ(cat_libraries_list(db, keep_lib, &l, err), 2);

	/* Drives: by element, one drive per element. */
	CHECK_EQ(cat_library_drive_set(db, "lib", "d0", 0, err), 0);
	CHECK_EQ(cat_library_drive_set(db, "lib", "d1", 1, err), 0);
	CHECK_EQ(cat_library_drive_set(db, "lib", "d2", 1, err), -EEXIST);
	CHECK(strstr(err, "element 1 of library lib") != NULL);
	CHECK_EQ(cat_library_drive_set(db, "nosuch", "d2", 2, err), -ENOENT);
	CHECK_EQ(cat_library_drive_set(db, "lib", "d2", -1, err), -EINVAL);
	CHECK_EQ(cat_drive_serial_set(db, "d1", "SER1", err), 0);
	CHECK_EQ(cat_drive_library(db, "d1", keep_drive, line, err), 1);
	CHECK(strcmp(line, "lib d1 1 SER1") == 0);
	CHECK_EQ(cat_drive_library(db, "d9", keep_drive, line, err), -ENOENT);
	CHECK_EQ(cat_library_drives(db, "lib", keep_drive, line, err), 2);
	CHECK_EQ(cat_library_drives(db, NULL, keep_drive, line, err), 2);
	/* Moved to element 2, then 1 is free. */
	CHECK_EQ(cat_library_drive_set(db, "lib", "d1", 2, err), 0);
	CHECK_EQ(cat_library_drive_set(db, "lib", "d2", 1, err), 0);
	CHECK_EQ(cat_library_drive_set(db, NULL, "d2", 0, err), 1);
	l = (struct libs){ 0 };
	CHECK_EQ(cat_library_get(db, "lib", keep_lib, &l, err), 1);
	CHECK_EQ(l.drives, 2);
	CHECK(l.last[0] == '\0');
}

static void
test_barcodes(void)
{
	CHECK(cat_barcode_label("A00001L6", "A00001"));
	CHECK(cat_barcode_label("A00001LT", "A00001"));
	CHECK(cat_barcode_label("A00001M8", "A00001"));
	CHECK(cat_barcode_label("A00001", "A00001"));
	CHECK(!cat_barcode_label("A00001L0", "A00001"));
	CHECK(!cat_barcode_label("A00001LS", "A00001"));
	CHECK(!cat_barcode_label("A00001M7", "A00001"));
	CHECK(!cat_barcode_label("A00001L", "A00001"));
	CHECK(!cat_barcode_label("A00001L66", "A00001"));
	CHECK(!cat_barcode_label("B00001L6", "A00001"));
	CHECK(!cat_barcode_label(NULL, "A00001"));
	CHECK(!cat_barcode_label("A00001", ""));
}

static void
test_inventory(struct cat_db *db)
{
	char err[CAT_ERRLEN];
	struct cat_element_in in[] = {
		{ "robot", 0, 1, false, NULL, false, CAT_NULL, NULL, false, true },
		{ "slot", 1, 4096, true, "A1L6", false, CAT_NULL, NULL, false,
		    true },
		{ "slot", 2, 4097, true, "A2", false, CAT_NULL, NULL, false, true },
		{ "slot", 3, 4098, true, "CLN001", false, CAT_NULL, NULL, false,
		    true },
		{ "slot", 4, 4099, true, NULL, true, CAT_NULL, NULL, false, true },
		{ "slot", 5, 4100, false, NULL, false, CAT_NULL, NULL, false,
		    true },
		{ "portal", 1, 128, false, NULL, false, CAT_NULL, NULL, false,
		    true },
		{ "drive", 0, 256, true, "B1", false, 6, "SER0", false, true },
		{ "drive", 1, 257, false, NULL, false, CAT_NULL, "SER1", false,
		    true },
		{ "drive", 2, 258, false, NULL, false, CAT_NULL, "SER2", false,
		    true },
	};
	struct cat_element_in dup[] = { in[1], in[1] }, bad = in[1];
	struct elems s = { 0 };
	struct libs l = { 0 };
	struct moves m = { 0 };
	int64_t cut = -1, id = 0, id2 = 0, uses = 0;
	bool exp = true;

	CHECK_EQ(cat_inventory_replace(db, "lib", dup, 2, &cut, err), -EINVAL);
	CHECK(strstr(err, "slot 1 twice") != NULL);
	bad.barcode = "A 1";
	CHECK_EQ(cat_inventory_replace(db, "lib", &bad, 1, &cut, err), -EINVAL);
	bad = in[1];
	bad.type = "shelf";
	CHECK_EQ(cat_inventory_replace(db, "lib", &bad, 1, &cut, err), -EINVAL);
	CHECK_EQ(cat_inventory_replace(db, "nosuch", in, 10, &cut, err), -ENOENT);
	CHECK_EQ(cat_inventory_replace(db, "lib", in, 10, &cut, err), 0);
	CHECK_EQ(cut, 0);
	CHECK_EQ(cat_inventory_list(db, "lib", keep_elem, &s, err), 10);
	CHECK(strcmp(s.line[0], "robot 0 - - - ") == 0);
	/* A1L6 carries tape A1, A2 tape A2, CLN001 none (cleaning). */
	CHECK(strcmp(s.line[1], "slot 1 A1L6 A1 - ") == 0);
	CHECK(strcmp(s.line[2], "slot 2 A2 A2 - ") == 0);
	CHECK(strcmp(s.line[3], "slot 3 CLN001 - - C") == 0);
	CHECK(strcmp(s.line[4], "slot 4 ? - - U") == 0);
	CHECK(strcmp(s.line[6], "portal 1 - - - ") == 0);
	CHECK(strcmp(s.line[7], "drive 0 B1 B1 d0 ") == 0);
	CHECK(strcmp(s.line[8], "drive 1 - - - ") == 0);
	CHECK(strcmp(s.line[9], "drive 2 - - d1 ") == 0);
	CHECK_EQ(cat_library_get(db, "lib", keep_lib, &l, err), 1);
	CHECK(l.last[0] != '\0');
	CHECK_EQ(l.slots_full, 4);
	CHECK_EQ(l.cleaning, 1);

	/* Found by label (suffix or not), or by barcode; not a cleaner's. */
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "A1", keep_elem, &s, err), 1);
	CHECK(strcmp(s.line[0], "slot 1 A1L6 A1 - ") == 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "A1L6", keep_elem, &s, err), 1);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "B1", keep_elem, &s, err), 1);
	CHECK(strcmp(s.line[0], "drive 0 B1 B1 d0 ") == 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "Z9", keep_elem, &s, err), 0);

	/* A move: journalled, then the inventory follows it. */
	CHECK_EQ(cat_move_start(db, "lib", 1, "d0", "B1", "drive", 0, "slot", 5,
	    "home", &id, err), 0);
	CHECK_EQ(cat_move_start(db, "lib", 0, NULL, NULL, "shelf", 0, "slot", 5,
	    NULL, &id2, err), -EINVAL);
	CHECK_EQ(cat_moves_open(db, "lib", keep_move, &m, err), 1);
	CHECK_EQ(cat_move_end(db, id, true, NULL, err), 0);
	CHECK_EQ(cat_move_end(db, id, true, NULL, err), -EALREADY);
	CHECK_EQ(cat_move_end(db, 999, true, NULL, err), -ENOENT);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "B1", keep_elem, &s, err), 1);
	CHECK(strcmp(s.line[0], "slot 5 B1 B1 - ") == 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_list(db, "lib", keep_elem, &s, err), 10);
	CHECK(strcmp(s.line[7], "drive 0 - - d0 ") == 0);
	/* A failed move changes nothing. */
	CHECK_EQ(cat_move_start(db, "lib", 0, "d1", "A2", "slot", 2, "drive", 2,
	    NULL, &id, err), 0);
	CHECK_EQ(cat_move_end(db, id, false, "3B/0D", err), 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "A2", keep_elem, &s, err), 1);
	CHECK(strcmp(s.line[0], "slot 2 A2 A2 - ") == 0);
	/* One started and never ended: the next inventory cuts it. */
	CHECK_EQ(cat_move_start(db, "lib", 1, "d1", "A2", "slot", 2, "drive", 2,
	    "restore", &id, err), 0);
	m.n = 0;
	CHECK_EQ(cat_moves_open(db, NULL, keep_move, &m, err), 1);
	CHECK_EQ(m.job[0], 1);
	CHECK_EQ(cat_library_remove(db, "lib", err), -EBUSY);
	CHECK_EQ(cat_inventory_replace(db, "lib", in, 10, &cut, err), 0);
	CHECK_EQ(cut, 1);
	m.n = 0;
	CHECK_EQ(cat_moves_open(db, "lib", keep_move, &m, err), 0);
	CHECK_EQ(cat_moves_list(db, "lib", 10, keep_move, &m, err), 3);
	CHECK(strcmp(m.state[0], "cut") == 0 && strcmp(m.state[1], "failed") ==
	    0 && strcmp(m.state[2], "done") == 0);
	CHECK_EQ(cat_move_end(db, id, true, NULL, err), -EALREADY);

	/* Cleaning: l3 allows 3 uses; lib 50, or expended when told. */
	CHECK_EQ(cat_cleaning_used(db, "lib", "CLN001", false, &uses, &exp, err),
	    0);
	CHECK(uses == 1 && !exp);
	CHECK_EQ(cat_cleaning_used(db, "lib", "CLN001", true, &uses, &exp, err),
	    0);
	CHECK(uses == 2 && exp);
	CHECK_EQ(cat_cleaning_used(db, "lib", "CLN001", false, &uses, &exp, err),
	    0);
	CHECK(uses == 3 && !exp);	/* expended already: said once */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(cat_cleaning_used(db, "l3", "CU1", false, &uses, &exp, err),
		    0);
	CHECK(uses == 3 && exp);
	CHECK_EQ(cat_cleaning_expend(db, "lib", "CLN002", err), 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_list(db, "lib", keep_elem, &s, err), 10);
	CHECK(strcmp(s.line[3], "slot 3 CLN001 - - CX") == 0);
	l = (struct libs){ 0 };
	CHECK_EQ(cat_library_get(db, "lib", keep_lib, &l, err), 1);
	CHECK_EQ(l.expended, 1);	/* CLN002 is not in it */

	/* Marks until cleared. */
	CHECK_EQ(cat_barcode_mark(db, "lib", "A2", "wrong-tape", err), 0);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "A2", keep_elem, &s, err), 1);
	CHECK(strcmp(s.line[0], "slot 2 A2 A2 - M") == 0);
	CHECK_EQ(cat_barcode_clear(db, "lib", "A2", err), 1);
	CHECK_EQ(cat_barcode_clear(db, "lib", "A2", err), 0);

	/* Removed: drives detached, the rest gone. */
	CHECK_EQ(cat_library_remove(db, "lib", err), 0);
	CHECK_EQ(cat_library_remove(db, "lib", err), -ENOENT);
	CHECK_EQ(cat_library_drives(db, NULL, keep_drive, (char[128]){ 0 }, err),
	    0);
	s.n = 0;
	CHECK_EQ(cat_inventory_find(db, "A2", keep_elem, &s, err), 0);
}

int
main(void)
{
	struct cat_db *db;

	(void)cat_t_error_paths;	/* the broken catalogs: test_cat_*.c */
	test_barcodes();
	test_migration();
	db = cat_t_open();
	cat_t_site(db);
	test_libraries(db);
	test_inventory(db);
	cat_t_done(db);
	T_DONE();
}
