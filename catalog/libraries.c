/*
 * Tape libraries (schema 7): the changers abs-ctld drives, the drives
 * attached to them, the robot's last inventory, the journal of moves and
 * the cleaning cartridges' uses. The inventory is the truth about where
 * a cartridge is: a move cut off by a crash is marked so at the next one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ','now')"

/* Whether s is an LTO media suffix (L1..L9, LT..LZ, M8). */
static bool
lto_suffix(const char *s)
{
	if (strlen(s) != 2)
		return false;
	if (s[0] == 'L')
		return (s[1] >= '1' && s[1] <= '9') || (s[1] >= 'T' && s[1] <= 'Z');
	return s[0] == 'M' && s[1] == '8';
}

bool
cat_barcode_label(const char *barcode, const char *label)
{
	size_t b, l;

	if (!barcode || !label || !*label)
		return false;
	if (strcmp(barcode, label) == 0)
		return true;
	b = strlen(barcode);
	l = strlen(label);
	return b == l + 2 && strncmp(barcode, label, l) == 0 &&
	    lto_suffix(barcode + l);
}

/* The library's id by name: 1 and *id, or -ENOENT with err. */
static int
library_id(struct cat_db *db, const char *name, int64_t *id, char *err)
{
	int rc = db_int(db, err, "reading a library", id,
	    "SELECT id FROM libraries WHERE name = ?", "t", name ? name : "");

	return rc == 0 ? db_fail(err, -ENOENT, "no library %s", name ? name :
	    "(none)") : rc;
}

#define LIB_COLS "l.id, l.name, l.changer, l.clean_prefix, l.clean_uses," \
	" l.added, l.last_inventory, l.inventory_error," \
	" (SELECT count(*) FROM drives d WHERE d.library_id = l.id)," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.type = 'slot')," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.type = 'slot' AND i.full)," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.type = 'portal')," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.type = 'portal' AND i.full)," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.type = 'drive' AND i.full)," \
	" (SELECT count(*) FROM inventory i WHERE i.library_id = l.id AND" \
	"  i.barcode IS NOT NULL AND substr(i.barcode, 1," \
	"  length(l.clean_prefix)) = l.clean_prefix)," \
	" (SELECT count(*) FROM cleaning c WHERE c.library_id = l.id AND" \
	"  c.expended IS NOT NULL AND EXISTS (SELECT 1 FROM inventory i WHERE" \
	"  i.library_id = l.id AND i.barcode = c.barcode))," \
	" (SELECT count(*) FROM moves m WHERE m.library_id = l.id AND" \
	"  m.state = 'done')," \
	" (SELECT count(*) FROM moves m WHERE m.library_id = l.id AND" \
	"  m.state IN ('failed', 'cut'))"

static int
library_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_library l = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.changer = db_text(st, 2), .clean_prefix = db_text(st, 3),
		.clean_uses = db_i64(st, 4), .added = db_text(st, 5),
		.last_inventory = db_text(st, 6),
		.inventory_error = db_text(st, 7), .drives = db_i64(st, 8),
		.slots = db_i64(st, 9), .slots_full = db_i64(st, 10),
		.portals = db_i64(st, 11), .portals_full = db_i64(st, 12),
		.drives_full = db_i64(st, 13), .cleaning = db_i64(st, 14),
		.expended = db_i64(st, 15), .moves_done = db_i64(st, 16),
		.moves_failed = db_i64(st, 17),
	};

	return ((cat_library_fn *)cb->fn)(&l, cb->arg);
}

int
cat_libraries_list(struct cat_db *db, cat_library_fn *fn, void *arg,
    char *err)
{
	return db_query(db, err, "listing libraries", library_row,
	    DB_CB(fn, arg), "SELECT " LIB_COLS " FROM libraries l ORDER BY"
	    " l.name", "");
}

int
cat_library_get(struct cat_db *db, const char *name, cat_library_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a library", library_row,
	    DB_CB(fn, arg), "SELECT " LIB_COLS " FROM libraries l WHERE"
	    " l.name = ?", "t", name ? name : "");

	return rc == 0 ? db_fail(err, -ENOENT, "no library %s", name ? name :
	    "(none)") : rc;
}

/* A changer URI as stored: 1-1023 printable bytes, no blanks. */
static bool
uri_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 1023)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int
cat_library_add(struct cat_db *db, const char *name, const char *changer,
    const char *clean_prefix, int64_t clean_uses, char *err)
{
	int rc;

	if (!cat_name_valid(name) || strlen(name) > 63)
		return db_fail(err, -EINVAL, "a library name is 1-63 bytes without"
		    " blanks, '%%', '=' or '|'");
	if (!uri_valid(changer))
		return db_fail(err, -EINVAL, "a changer URI is 1-1023 bytes without"
		    " blanks (smc:sg:/dev/sgN, smc:iscsi://..., vtape:LIBDIR)");
	if (!clean_prefix)
		clean_prefix = "CLN";
	if (!*clean_prefix || strlen(clean_prefix) > 16 ||
	    strspn(clean_prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
	    strlen(clean_prefix))
		return db_fail(err, -EINVAL, "a cleaning prefix is 1-16 of A-Z 0-9,"
		    " not '%.32s'", clean_prefix);
	if (clean_uses == 0)
		clean_uses = CAT_CLEAN_USES;
	if (clean_uses < 1 || clean_uses > 100000)
		return db_fail(err, -EINVAL, "a cleaning cartridge's uses are "
		    "1..100000");
	rc = db_exec(db, err, "adding a library", "INSERT INTO libraries (name,"
	    " changer, clean_prefix, clean_uses) VALUES (?, ?, ?, ?)", "ttti",
	    name, changer, clean_prefix, clean_uses);
	if (rc == -EEXIST)
		return db_fail(err, -EEXIST, "a library named %s or on changer %s"
		    " exists already", name, changer);
	return rc < 0 ? rc : 0;
}

int
cat_library_remove(struct cat_db *db, const char *name, char *err)
{
	int64_t id, open = 0;
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = library_id(db, name, &id, err)) < 0 ||
	    (rc = db_int(db, err, "reading the moves", &open, "SELECT count(*)"
	    " FROM moves WHERE library_id = ? AND state = 'started'", "i",
	    id)) < 0)
		goto fail;
	if (open > 0) {
		rc = db_fail(err, -EBUSY, "library %s has %lld move%s under way",
		    name, (long long)open, open == 1 ? "" : "s");
		goto fail;
	}
	static const char *const del[] = {
		"UPDATE drives SET library_id = NULL, element = NULL WHERE"
		" library_id = ?",
		"DELETE FROM inventory WHERE library_id = ?",
		"DELETE FROM moves WHERE library_id = ?",
		"DELETE FROM cleaning WHERE library_id = ?",
		"DELETE FROM barcode_marks WHERE library_id = ?",
		"DELETE FROM libraries WHERE id = ?",
	};
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++)
		if ((rc = db_exec(db, err, "removing a library", del[i], "i",
		    id)) < 0)
			goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return rc;
}

#define DRIVE_COLS "l.name, l.changer, d.name, d.element, d.serial, d.device"

static int
lib_drive_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_lib_drive d = {
		.library = db_text(st, 0), .changer = db_text(st, 1),
		.drive = db_text(st, 2), .element = db_i64(st, 3),
		.serial = db_text(st, 4), .device = db_text(st, 5),
	};

	return ((cat_lib_drive_fn *)cb->fn)(&d, cb->arg);
}

int
cat_library_drive_set(struct cat_db *db, const char *library,
    const char *drive, int64_t element, char *err)
{
	int64_t id;
	int rc;

	if (!cat_name_valid(drive) || strlen(drive) > 63)
		return db_fail(err, -EINVAL, "bad drive name");
	if (!library)
		return db_exec(db, err, "detaching a drive", "UPDATE drives SET"
		    " library_id = NULL, element = NULL WHERE name = ?", "t", drive);
	if (element < 0 || element > 65535)
		return db_fail(err, -EINVAL, "a drive element is 0..65535");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = library_id(db, library, &id, err)) < 0)
		goto fail;
	rc = db_exec(db, err, "attaching a drive", "INSERT INTO drives (name,"
	    " library_id, element) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
	    " SET library_id = excluded.library_id, element = excluded.element",
	    "tii", drive, id, element);
	if (rc == -EEXIST) {
		rc = db_fail(err, -EEXIST, "drive element %lld of library %s is "
		    "another drive's", (long long)element, library);
		goto fail;
	}
	if (rc < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return rc;
}

int
cat_library_drives(struct cat_db *db, const char *library,
    cat_lib_drive_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing a library's drives", lib_drive_row,
	    DB_CB(fn, arg), "SELECT " DRIVE_COLS " FROM drives d JOIN libraries"
	    " l ON l.id = d.library_id WHERE ? IS NULL OR l.name = ? ORDER BY"
	    " l.name, d.element", "tt", library, library);
}

int
cat_drive_library(struct cat_db *db, const char *drive, cat_lib_drive_fn *fn,
    void *arg, char *err)
{
	int rc = db_query(db, err, "reading a drive's library", lib_drive_row,
	    DB_CB(fn, arg), "SELECT " DRIVE_COLS " FROM drives d JOIN libraries"
	    " l ON l.id = d.library_id WHERE d.name = ?", "t", drive ? drive :
	    "");

	return rc == 0 ? db_fail(err, -ENOENT, "drive %s is in no library",
	    drive ? drive : "(none)") : rc;
}

static int
serial_row(sqlite3_stmt *st, void *arg)
{
	char **b = arg;
	const char *s = db_text(st, 0);

	snprintf(b[0], (size_t)(b[1] - b[0]), "%s", s ? s : "");
	return 1;
}

int
cat_drive_serial(struct cat_db *db, const char *drive, char *buf, size_t len,
    char *err)
{
	char *b[2] = { buf, buf + len };
	int rc;

	if (len)
		buf[0] = '\0';
	rc = db_query(db, err, "reading a drive's serial", serial_row, b,
	    "SELECT serial FROM drives WHERE name = ?", "t", drive ? drive : "");
	if (rc == 0)
		return db_fail(err, -ENOENT, "no drive %s", drive ? drive : "(none)");
	return rc < 0 ? rc : 0;
}

int
cat_drive_serial_set(struct cat_db *db, const char *drive,
    const char *serial, char *err)
{
	int rc;

	if (serial && (strlen(serial) > 255 || strpbrk(serial, "\n\r")))
		return db_fail(err, -EINVAL, "a drive serial is at most 255 bytes "
		    "on one line");
	rc = db_exec(db, err, "recording a drive's serial", "UPDATE drives SET"
	    " serial = ? WHERE name = ?", "tt", serial && *serial ? serial :
	    NULL, drive);
	return rc < 0 ? rc : 0;
}

static const char *const elem_types[] = { "robot", "slot", "portal",
    "drive" };

/* Whether t is an element type. */
static bool
type_valid(const char *t)
{
	for (size_t i = 0; t && i < 4; i++)
		if (strcmp(t, elem_types[i]) == 0)
			return true;
	return false;
}

int
cat_inventory_replace(struct cat_db *db, const char *library,
    const struct cat_element_in *e, size_t n, int64_t *cut, char *err)
{
	int64_t id;
	int rc;

	if (cut)
		*cut = 0;
	for (size_t i = 0; i < n; i++) {
		const char *b = e[i].barcode && *e[i].barcode ? e[i].barcode : NULL;
		if (!type_valid(e[i].type) || e[i].num < 0 || e[i].num > 65535)
			return db_fail(err, -EINVAL, "inventory: element %zu: bad type "
			    "or number", i);
		if (b && (!cat_name_valid(b) || strlen(b) > 63))
			return db_fail(err, -EINVAL, "inventory: %s %lld: a barcode of "
			    "1-63 bytes without blanks, '%%', '=' or '|'", e[i].type,
			    (long long)e[i].num);
		if (e[i].ident && strlen(e[i].ident) > 255)
			return db_fail(err, -EINVAL, "inventory: %s %lld: identifier "
			    "too long", e[i].type, (long long)e[i].num);
	}
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = library_id(db, library, &id, err)) < 0 ||
	    (rc = db_exec(db, err, "replacing an inventory", "DELETE FROM"
	    " inventory WHERE library_id = ?", "i", id)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const char *b = e[i].barcode && *e[i].barcode ? e[i].barcode : NULL;
		char shortl[64] = "";
		size_t bl = b ? strlen(b) : 0;
		if (b && bl > 2 && lto_suffix(b + bl - 2))
			snprintf(shortl, sizeof(shortl), "%.*s", (int)(bl - 2), b);
		rc = db_exec(db, err, "recording an inventory", "INSERT INTO"
		    " inventory (library_id, type, num, addr, full, barcode,"
		    " label_short, tag_unreadable, source, ident, abnormal, access,"
		    " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?, ?,"
		    " ?, " NOW ")", "itiiittiitii", id, e[i].type, e[i].num,
		    e[i].addr, (int64_t)e[i].full, e[i].full ? b : NULL,
		    e[i].full && shortl[0] ? shortl : NULL,
		    (int64_t)(e[i].full && e[i].tag_unreadable),
		    e[i].source == CAT_NULL || e[i].source < 0 ? 0 : e[i].source,
		    e[i].ident && *e[i].ident ? e[i].ident : NULL,
		    (int64_t)e[i].except, (int64_t)e[i].access);
		if (rc == -EEXIST) {
			rc = db_fail(err, -EINVAL, "inventory: %s %lld twice",
			    e[i].type, (long long)e[i].num);
			goto fail;
		}
		if (rc < 0)
			goto fail;
	}
	if ((rc = db_exec(db, err, "marking cut moves", "UPDATE moves SET state ="
	    " 'cut', finished = " NOW ", error = 'cut off (abs-ctld or the robot"
	    " stopped mid-move); the inventory after says where the cartridge"
	    " is' WHERE library_id = ? AND state = 'started'", "i", id)) < 0)
		goto fail;
	if (cut)
		*cut = rc;
	if ((rc = db_exec(db, err, "dating an inventory", "UPDATE libraries SET"
	    " last_inventory = " NOW ", inventory_error = NULL WHERE id = ?", "i",
	    id)) < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return rc;
}

int
cat_inventory_failed(struct cat_db *db, const char *library, const char *why,
    char *err)
{
	int rc = db_exec(db, err, "recording an inventory's failure", "UPDATE"
	    " libraries SET inventory_error = ? WHERE name = ?", "tt", why ? why :
	    "failed", library);

	if (rc == 0)
		return db_fail(err, -ENOENT, "no library %s", library);
	return rc < 0 ? rc : 0;
}

#define ELEM_COLS "l.name, i.type, i.num, i.addr, i.full, i.barcode," \
	" i.tag_unreadable, i.source, i.ident, i.abnormal, i.access," \
	" i.last_seen, t.label, t.tape_id, p.name, t.state," \
	" (SELECT d.name FROM drives d WHERE i.type = 'drive' AND" \
	"  d.library_id = i.library_id AND d.element = i.num)," \
	" i.barcode IS NOT NULL AND substr(i.barcode, 1," \
	"  length(l.clean_prefix)) = l.clean_prefix," \
	" coalesce(c.uses, 0), c.expended IS NOT NULL, m.why"
/* A cleaning cartridge carries no tape of the catalog's. */
#define ELEM_FROM " FROM (SELECT i0.*, CASE WHEN i0.barcode IS NULL OR" \
	"  substr(i0.barcode, 1, length(l0.clean_prefix)) = l0.clean_prefix" \
	"  THEN NULL ELSE coalesce((SELECT t2.id FROM tapes t2 WHERE" \
	"  t2.state != 'destroyed' AND t2.label = i0.barcode ORDER BY t2.id" \
	"  DESC LIMIT 1), (SELECT t2.id FROM tapes t2 WHERE t2.state !=" \
	"  'destroyed' AND t2.label = i0.label_short ORDER BY t2.id DESC" \
	"  LIMIT 1)) END AS tape_row FROM inventory i0 JOIN libraries l0 ON" \
	"  l0.id = i0.library_id) i JOIN libraries l ON l.id = i.library_id" \
	" LEFT JOIN tapes t ON t.id = i.tape_row" \
	" LEFT JOIN pools p ON p.id = t.pool_id" \
	" LEFT JOIN cleaning c ON c.library_id = i.library_id AND" \
	"  c.barcode = i.barcode" \
	" LEFT JOIN barcode_marks m ON m.library_id = i.library_id AND" \
	"  m.barcode = i.barcode"
#define ELEM_ORDER " CASE i.type WHEN 'robot' THEN 0 WHEN 'slot' THEN 1" \
	" WHEN 'portal' THEN 2 ELSE 3 END, i.num"

static int
element_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_element e = {
		.library = db_text(st, 0), .type = db_text(st, 1),
		.num = db_i64(st, 2), .addr = db_i64(st, 3),
		.full = db_i64(st, 4) == 1, .barcode = db_text(st, 5),
		.tag_unreadable = db_i64(st, 6) == 1, .source = db_i64(st, 7),
		.ident = db_text(st, 8), .except = db_i64(st, 9) == 1,
		.access = db_i64(st, 10) == 1, .last_seen = db_text(st, 11),
		.label = db_text(st, 12), .tape_id = db_text(st, 13),
		.pool = db_text(st, 14), .tape_state = db_text(st, 15),
		.drive = db_text(st, 16), .cleaning = db_i64(st, 17) == 1,
		.clean_uses = db_i64(st, 18), .expended = db_i64(st, 19) == 1,
		.mark = db_text(st, 20),
	};

	return ((cat_element_fn *)cb->fn)(&e, cb->arg);
}

int
cat_inventory_list(struct cat_db *db, const char *library, cat_element_fn *fn,
    void *arg, char *err)
{
	int64_t id;
	int rc;

	if ((rc = library_id(db, library, &id, err)) < 0)
		return rc;
	return db_query(db, err, "reading an inventory", element_row,
	    DB_CB(fn, arg), "SELECT " ELEM_COLS ELEM_FROM " WHERE"
	    " i.library_id = ? ORDER BY" ELEM_ORDER, "i", id);
}

int
cat_inventory_find(struct cat_db *db, const char *label, cat_element_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "finding a cartridge", element_row,
	    DB_CB(fn, arg), "SELECT " ELEM_COLS ELEM_FROM " WHERE i.full AND"
	    " (i.barcode = ?1 OR i.label_short = ?1) ORDER BY i.barcode = ?1"
	    " DESC, l.name," ELEM_ORDER, "t", label ? label : "");
}

#define MOVE_COLS "m.id, l.name, m.job_id, m.drive, m.barcode, m.from_type," \
	" m.from_num, m.to_type, m.to_num, m.why, m.state, m.started," \
	" m.finished, m.error"

static int
move_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_move m = {
		.id = db_i64(st, 0), .library = db_text(st, 1),
		.job = db_i64(st, 2), .drive = db_text(st, 3),
		.barcode = db_text(st, 4), .from_type = db_text(st, 5),
		.from_num = db_i64(st, 6), .to_type = db_text(st, 7),
		.to_num = db_i64(st, 8), .why = db_text(st, 9),
		.state = db_text(st, 10), .started = db_text(st, 11),
		.finished = db_text(st, 12), .error = db_text(st, 13),
	};

	return ((cat_move_fn *)cb->fn)(&m, cb->arg);
}

int
cat_move_start(struct cat_db *db, const char *library, int64_t job,
    const char *drive, const char *barcode, const char *from_type,
    int64_t from_num, const char *to_type, int64_t to_num, const char *why,
    int64_t *id, char *err)
{
	int64_t lib, r = 0;
	int rc;

	if (!type_valid(from_type) || !type_valid(to_type) || from_num < 0 ||
	    to_num < 0)
		return db_fail(err, -EINVAL, "a move is between elements (slot, "
		    "portal, drive) with numbers");
	if ((rc = library_id(db, library, &lib, err)) < 0)
		return rc;
	if ((rc = db_exec(db, err, "journalling a move", "INSERT INTO moves"
	    " (library_id, job_id, drive, barcode, from_type, from_num, to_type,"
	    " to_num, why) VALUES (?, (SELECT id FROM jobs WHERE id = ?), ?, ?,"
	    " ?, ?, ?, ?, ?)", "iitttitit", lib, job, drive, barcode, from_type,
	    from_num, to_type, to_num, why)) < 0)
		return rc;
	if ((rc = db_int(db, err, "journalling a move", &r, "SELECT"
	    " last_insert_rowid()", "")) < 0)
		return rc;
	if (id)
		*id = r;
	return 0;
}

int
cat_move_end(struct cat_db *db, int64_t id, bool ok, const char *error,
    char *err)
{
	int64_t lib = 0, n = 0;
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_int(db, err, "reading a move", &lib, "SELECT library_id"
	    " FROM moves WHERE id = ?", "i", id)) <= 0) {
		if (rc == 0)
			rc = db_fail(err, -ENOENT, "no move %lld", (long long)id);
		goto fail;
	}
	if ((rc = db_exec(db, err, "ending a move", "UPDATE moves SET state = ?,"
	    " finished = " NOW ", error = ? WHERE id = ? AND state = 'started'",
	    "tti", ok ? "done" : "failed", ok ? NULL : error ? error : "failed",
	    id)) < 0)
		goto fail;
	if (rc == 0) {
		rc = db_fail(err, -EALREADY, "move %lld has ended already",
		    (long long)id);
		goto fail;
	}
	if (ok) {
		/* The catalog's copy follows the cartridge. */
		rc = db_exec(db, err, "following a move", "UPDATE inventory SET"
		    " full = 1, tag_unreadable = f.tag_unreadable, barcode ="
		    " f.barcode, label_short = f.label_short, source = CASE WHEN"
		    " m.from_type = 'slot' THEN m.from_num ELSE NULL END, last_seen"
		    " = " NOW " FROM moves m JOIN inventory f ON f.library_id ="
		    " m.library_id AND f.type = m.from_type AND f.num = m.from_num"
		    " WHERE m.id = ? AND inventory.library_id = m.library_id AND"
		    " inventory.type = m.to_type AND inventory.num = m.to_num", "i",
		    id);
		if (rc >= 0)
			n = rc;
		if (rc >= 0)
			rc = db_exec(db, err, "following a move", "UPDATE inventory SET"
			    " full = 0, barcode = NULL, label_short = NULL,"
			    " tag_unreadable = 0, source = NULL, last_seen = " NOW
			    " WHERE (library_id, type, num) = (SELECT library_id,"
			    " from_type, from_num FROM moves WHERE id = ?) AND ? > 0",
			    "ii", id, n);
		if (rc < 0)
			goto fail;
	}
	return db_commit(db, err);
fail:
	db_rollback(db);
	return rc;
}

int
cat_moves_list(struct cat_db *db, const char *library, int64_t limit,
    cat_move_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing moves", move_row, DB_CB(fn, arg),
	    "SELECT " MOVE_COLS " FROM moves m JOIN libraries l ON l.id ="
	    " m.library_id WHERE ? IS NULL OR l.name = ? ORDER BY m.id DESC"
	    " LIMIT ?", "tti", library, library, limit > 0 ? limit : 100);
}

int
cat_moves_open(struct cat_db *db, const char *library, cat_move_fn *fn,
    void *arg, char *err)
{
	return db_query(db, err, "listing moves under way", move_row,
	    DB_CB(fn, arg), "SELECT " MOVE_COLS " FROM moves m JOIN libraries l"
	    " ON l.id = m.library_id WHERE (? IS NULL OR l.name = ?) AND"
	    " m.state = 'started' ORDER BY m.id", "tt", library, library);
}

int
cat_cleaning_used(struct cat_db *db, const char *library,
    const char *barcode, bool force, int64_t *uses, bool *expended,
    char *err)
{
	int64_t lib, n = 0, max = 0, was = 0;
	int rc;

	if (expended)
		*expended = false;
	if (!cat_name_valid(barcode))
		return db_fail(err, -EINVAL, "bad barcode");
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = library_id(db, library, &lib, err)) < 0 ||
	    (rc = db_exec(db, err, "counting a cleaning", "INSERT INTO cleaning"
	    " (library_id, barcode, uses, last_used) VALUES (?, ?, 1, " NOW ")"
	    " ON CONFLICT(library_id, barcode) DO UPDATE SET uses = uses + 1,"
	    " last_used = excluded.last_used", "it", lib, barcode)) < 0 ||
	    (rc = db_int(db, err, "counting a cleaning", &n, "SELECT uses FROM"
	    " cleaning WHERE library_id = ? AND barcode = ?", "it", lib,
	    barcode)) < 0 ||
	    (rc = db_int(db, err, "counting a cleaning", &was, "SELECT expended"
	    " IS NOT NULL FROM cleaning WHERE library_id = ? AND barcode = ?",
	    "it", lib, barcode)) < 0 ||
	    (rc = db_int(db, err, "counting a cleaning", &max, "SELECT"
	    " clean_uses FROM libraries WHERE id = ?", "i", lib)) < 0)
		goto fail;
	if (!was && (force || n >= max)) {
		if ((rc = db_exec(db, err, "counting a cleaning", "UPDATE cleaning"
		    " SET expended = " NOW " WHERE library_id = ? AND barcode = ?",
		    "it", lib, barcode)) < 0)
			goto fail;
		if (expended)
			*expended = true;
	}
	if (uses)
		*uses = n;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return rc;
}

int
cat_cleaning_expend(struct cat_db *db, const char *library,
    const char *barcode, char *err)
{
	int64_t lib;
	int rc;

	if (!cat_name_valid(barcode))
		return db_fail(err, -EINVAL, "bad barcode");
	if ((rc = library_id(db, library, &lib, err)) < 0)
		return rc;
	rc = db_exec(db, err, "marking a cleaning cartridge expended", "INSERT"
	    " INTO cleaning (library_id, barcode, expended) VALUES (?, ?, " NOW
	    ") ON CONFLICT(library_id, barcode) DO UPDATE SET expended ="
	    " coalesce(expended, excluded.expended)", "it", lib, barcode);
	return rc < 0 ? rc : 0;
}

int
cat_barcode_mark(struct cat_db *db, const char *library, const char *barcode,
    const char *why, char *err)
{
	int64_t lib;
	int rc;

	if (!cat_name_valid(barcode))
		return db_fail(err, -EINVAL, "bad barcode");
	if ((rc = library_id(db, library, &lib, err)) < 0)
		return rc;
	rc = db_exec(db, err, "marking a barcode", "INSERT INTO barcode_marks"
	    " (library_id, barcode, why) VALUES (?, ?, ?) ON CONFLICT(library_id,"
	    " barcode) DO UPDATE SET why = excluded.why, at = excluded.at", "itt",
	    lib, barcode, why ? why : "marked");
	return rc < 0 ? rc : 0;
}

int
cat_barcode_clear(struct cat_db *db, const char *library, const char *barcode,
    char *err)
{
	int64_t lib;
	int rc;

	if ((rc = library_id(db, library, &lib, err)) < 0)
		return rc;
	return db_exec(db, err, "clearing a barcode's mark", "DELETE FROM"
	    " barcode_marks WHERE library_id = ? AND barcode = ?", "it", lib,
	    barcode ? barcode : "");
}
