/*
 * Virtual libraries: slots, portals, drives and the changer moves between
 * them, the robot's state and injected faults, for abs-vtape (vtape_*) and
 * the library's SMC target (sg/vtape_smc.c, vtape_robot_*), which the
 * changer API drives as any SCSI changer (tsg_changer_* on vtape:LIBDIR
 * and smc:vtape:LIBDIR through sg/smc.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <scsi/sg_lib.h>

#include "common/log.h"
#include "common/util.h"
#include "sg/smc.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"
#include "sg/vtape.h"

/* A barcode: 1..32 printable characters, no '/', no blank (a file name). */
static bool
barcode_ok(const char *bc)
{
	size_t n = strlen(bc);

	if (!n || n > VTAPE_BARCODE_MAX || strcmp(bc, ".") == 0 ||
	    strcmp(bc, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (bc[i] <= ' ' || bc[i] > '~' || bc[i] == '/')
			return false;
	return true;
}

/* A serial: 1..VTAPE_SERIAL_LEN letters, digits, '-', '_' or '.'. */
static bool
serial_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VTAPE_SERIAL_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return false;
	return true;
}

/*
 * The next line of text[*off..len) into line (NUL-terminated, no newline):
 * 1, 0 at the end, -EINVAL for a line too long or holding a NUL.
 */
static int
next_line(const char *text, size_t len, size_t *off, char *line, size_t cap)
{
	size_t i = *off, n = 0;

	if (i >= len)
		return 0;
	while (i < len && text[i] != '\n') {
		if (!text[i] || n + 1 >= cap)
			return -EINVAL;
		line[n++] = text[i++];
	}
	line[n] = '\0';
	*off = i < len ? i + 1 : i;
	return 1;
}

/*
 * The key=value lines of one of the library's files: blank lines and
 * #comments skipped, a single-valued key (bit k of once set for keys[k])
 * refused when given twice; fn gets the others with their line number and
 * returns 0, or -EINVAL having said why in err.
 */
struct kv {
	const char *const *keys;	/* the fields, NULL-terminated */
	unsigned once, seen;
	int (*fn)(void *arg, int ln, int k, const char *val, char *err,
	    size_t errlen);
	void *arg;
};

static int
kv_parse(const char *text, size_t len, struct kv *kv, char *err,
    size_t errlen)
{
	char line[256];
	size_t off = 0;
	int ln = 0, rc, k;

	err[0] = '\0';
	while ((rc = next_line(text, len, &off, line, sizeof(line))) != 0) {
		char *eq;

		ln++;
		if (rc < 0) {
			snprintf(err, errlen, "line %d: too long or not text", ln);
			return -EINVAL;
		}
		if (!line[0] || line[0] == '#')
			continue;
		if (!(eq = strchr(line, '='))) {
			snprintf(err, errlen, "line %d: no key=value", ln);
			return -EINVAL;
		}
		*eq++ = '\0';
		for (k = 0; kv->keys[k] && strcmp(line, kv->keys[k]); k++)
			;
		if (!kv->keys[k]) {
			snprintf(err, errlen, "line %d: unknown field %.32s", ln, line);
			return -EINVAL;
		}
		if (kv->once & kv->seen & (1u << k)) {
			snprintf(err, errlen, "line %d: %s given twice", ln, line);
			return -EINVAL;
		}
		kv->seen |= 1u << k;
		if ((rc = kv->fn(kv->arg, ln, k, eq, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

static const char *const lib_keys[] = { "slots", "drives", "portals",
	"capacity", "early_warning", "barcode_prefix", "serial", NULL };

/* kv_parse: one field of library.conf. */
static int
lib_field(void *arg, int ln, int k, const char *val, char *err, size_t errlen)
{
	static const uint64_t lo[] = { 1, 1, 0, 1, 0 };
	static const uint64_t hi[] = { VTAPE_MAX_SLOTS, VTAPE_MAX_DRIVES,
	    VTAPE_MAX_PORTALS, UINT64_MAX, UINT64_MAX };
	struct vtape_library *lc = arg;
	uint64_t v;

	if (k == 5) {	/* barcode_prefix: may be empty */
		if (strlen(val) > 16 || (*val && !barcode_ok(val))) {
			snprintf(err, errlen, "line %d: bad barcode_prefix", ln);
			return -EINVAL;
		}
		strcpy(lc->prefix, val);
		return 0;
	}
	if (k == 6) {
		if (!serial_ok(val)) {
			snprintf(err, errlen, "line %d: bad serial (1 to %d letters, "
			    "digits, -, _ or .)", ln, VTAPE_SERIAL_LEN);
			return -EINVAL;
		}
		strcpy(lc->serial, val);
		return 0;
	}
	if (util_parse_u64(val, hi[k], &v) < 0 || v < lo[k]) {
		snprintf(err, errlen, "line %d: %s must be a number from %llu to "
		    "%llu", ln, lib_keys[k], (unsigned long long)lo[k],
		    (unsigned long long)hi[k]);
		return -EINVAL;
	}
	switch (k) {
	case 0: lc->slots = (int)v; break;
	case 1: lc->drives = (int)v; break;
	case 2: lc->portals = (int)v; break;
	case 3: lc->capacity = v; break;
	default: lc->early_warning = v; break;
	}
	return 0;
}

int
vtape_library_parse(const char *text, size_t len, struct vtape_library *lc,
    char *err, size_t errlen)
{
	struct kv kv = { lib_keys, ~0u, 0, lib_field, lc };
	int rc;

	memset(lc, 0, sizeof(*lc));
	if ((rc = kv_parse(text, len, &kv, err, errlen)) < 0)
		return rc;
	if (!lc->slots || !lc->drives) {
		snprintf(err, errlen, "no slots or no drives");
		return -EINVAL;
	}
	if (lc->capacity && lc->early_warning >= lc->capacity) {
		snprintf(err, errlen, "early_warning is not below capacity");
		return -EINVAL;
	}
	return 0;
}

/* A serial for a library made before serials were kept: from its path. */
static void
derived_serial(const char *dir, char *out, size_t len)
{
	char *real = realpath(dir, NULL);
	const char *p = real ? real : dir;
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, "VL%08X", h);
	free(real);
}

/*
 * Open a library's own file for reading: a regular file only (a FIFO or a
 * device there would block or stream: -EINVAL, logged), -ENOENT if none.
 */
static int
open_conf(const char *libdir, const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		log_warn("vtape library %s: %s is not a regular file", libdir, path);
		return -EINVAL;
	}
	return fd;
}

/* Read library.conf (see vtape_library_read). */
static int
lib_read(const char *dir, struct vtape_library *lc)
{
	char path[PATH_MAX], err[160], text[4096];
	ssize_t n;
	int fd, rc;

	memset(lc, 0, sizeof(*lc));
	snprintf(path, sizeof(path), "%s/library.conf", dir);
	if ((fd = open_conf(dir, path)) < 0)
		return fd == -ENOENT || fd == -ENOTDIR ? -ENOTDIR : fd;
	n = util_read_full(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return (int)n;
	if ((size_t)n == sizeof(text)) {
		log_warn("vtape library %s: library.conf is too long", dir);
		return -EINVAL;
	}
	if ((rc = vtape_library_parse(text, (size_t)n, lc, err,
	    sizeof(err))) < 0) {
		log_warn("vtape library %s: library.conf: %s", dir, err);
		return rc;
	}
	if (!lc->serial[0])
		derived_serial(dir, lc->serial, sizeof(lc->serial));
	return 0;
}

int
vtape_library_read(const char *libdir, struct vtape_library *lib)
{
	return lib_read(libdir, lib);
}

int
vtape_library_info(const char *libdir, int *slots, int *drives)
{
	struct vtape_library lc;
	int rc = lib_read(libdir, &lc);

	if (rc < 0)
		return rc;
	*slots = lc.slots;
	*drives = lc.drives;
	return 0;
}

void
vtape_drive_serial(const struct vtape_library *lib, int drive, char *buf,
    size_t len)
{
	snprintf(buf, len, "%sD%d", lib->serial, drive);
}

int
vtape_library_create(const char *dir, int slots, int drives, uint64_t capacity,
    uint64_t early_warning, const char *prefix)
{
	struct vtape_library lib = { .slots = slots, .drives = drives,
	    .capacity = capacity, .early_warning = early_warning };

	if (strlen(prefix) >= sizeof(lib.prefix))
		return -EINVAL;
	strcpy(lib.prefix, prefix);
	return vtape_library_new(dir, &lib);
}

int
vtape_library_new(const char *dir, const struct vtape_library *lib)
{
	char path[PATH_MAX], bc[64], target[PATH_MAX], serial[VTAPE_SERIAL_LEN + 1];
	FILE *fp;
	int rc;

	if (lib->slots < 1 || lib->slots > VTAPE_MAX_SLOTS || lib->drives < 1 ||
	    lib->drives > VTAPE_MAX_DRIVES || lib->portals < 0 ||
	    lib->portals > VTAPE_MAX_PORTALS || strlen(lib->prefix) > 16 ||
	    (lib->prefix[0] && !barcode_ok(lib->prefix)) || !lib->capacity ||
	    lib->early_warning >= lib->capacity ||
	    (lib->serial[0] && !serial_ok(lib->serial)))
		return -EINVAL;
	if (lib->serial[0])
		snprintf(serial, sizeof(serial), "%s", lib->serial);
	else if (util_random_hex(serial + 2, 4) < 0)
		return -EIO;
	else {
		memcpy(serial, "VL", 2);
		for (char *c = serial + 2; *c; c++)
			*c = *c >= 'a' && *c <= 'f' ? (char)(*c - 'a' + 'A') : *c;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/library.conf", dir);
	if (access(path, F_OK) == 0)
		return -EEXIST;
	snprintf(path, sizeof(path), "%s/carts", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	for (int d = 0; d < lib->drives; d++) {
		snprintf(path, sizeof(path), "%s/drive%d", dir, d);
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
	}
	for (int s = 1; s <= lib->slots; s++) {
		snprintf(bc, sizeof(bc), "%s%05d", lib->prefix, s);
		snprintf(path, sizeof(path), "%s/carts/%s", dir, bc);
		if ((rc = vtape_cart_create(path, bc, lib->capacity,
		    lib->early_warning)) < 0)
			return rc;
		snprintf(path, sizeof(path), "%s/slot%d", dir, s);
		snprintf(target, sizeof(target), "carts/%s", bc);
		if (symlink(target, path) < 0)
			return -errno;
	}
	snprintf(path, sizeof(path), "%s/library.conf", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	fprintf(fp, "slots=%d\ndrives=%d\nportals=%d\ncapacity=%llu\n"
	    "early_warning=%llu\nbarcode_prefix=%s\nserial=%s\n", lib->slots,
	    lib->drives, lib->portals, (unsigned long long)lib->capacity,
	    (unsigned long long)lib->early_warning, lib->prefix, serial);
	if (fclose(fp))
		return -errno;
	return 0;
}

/* Resolve a link to a cartridge directory; -ENOENT if empty. */
static int
resolve(const char *link, char **cartdir)
{
	*cartdir = realpath(link, NULL);
	return *cartdir ? 0 : -ENOENT;
}

int
vtape_slot_cart(const char *libdir, int slot, char **cartdir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/slot%d", libdir, slot);
	return resolve(path, cartdir);
}

int
vtape_portal_cart(const char *libdir, int portal, char **cartdir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/portal%d", libdir, portal);
	return resolve(path, cartdir);
}

int
vtape_drive_cart(const char *libdir, int drive, char **cartdir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/drive%d/tape", libdir, drive);
	return resolve(path, cartdir);
}

/*
 * ---- moves, and the check that repairs an interrupted one ----
 *
 * Where a cartridge is: the link slotN -> carts/BARCODE or driveK/tape ->
 * ../carts/BARCODE, with driveK/home naming the slot it came from. A move
 * changes two links, so it is journalled: move.journal names the
 * cartridge, its source and its destination before any link changes and
 * goes last. The destination link is made under a temporary name (.new)
 * and renamed into place, the commit point; the source goes after it.
 * Whatever step a crash stops at, the journal and the destination say
 * which way to finish: the destination names the cartridge, forward; else
 * back. Moves and checks hold the library's lock; a move also holds the
 * locks of its drives and of the cartridge (what an open device holds), so
 * nothing moves a cartridge that is in use.
 */

#define LIB_LOCK ".changer.lock"
#define JOURNAL "move.journal"
#define TMP_SUFFIX ".new"

struct elem {
	enum tsg_elem_type type;
	unsigned num;
};

/* Fault injection for tests: ABS_VTAPE_CRASH_STEP=N ends the process
 * after step N of a move (1..VTAPE_MOVE_STEPS), as kill -9 would. */
static void
crash_point(int step)
{
	const char *e = getenv("ABS_VTAPE_CRASH_STEP");

	if (step > 0 && e && atoi(e) == step)
		_exit(137);
}

/* "slot3", "portal1" or "drive0". */
static void
elem_name(struct elem e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%u", e.type == TSG_ELEM_DRIVE ? "drive" :
	    e.type == TSG_ELEM_PORTAL ? "portal" : "slot", e.num);
}

/* Parse elem_name's form; -EINVAL otherwise. */
static int
elem_parse(const char *s, struct elem *e)
{
	uint64_t v;

	if (strncmp(s, "slot", 4) == 0 && util_parse_u64(s + 4, 9999, &v) == 0)
		e->type = TSG_ELEM_SLOT;
	else if (strncmp(s, "drive", 5) == 0 &&
	    util_parse_u64(s + 5, 64, &v) == 0)
		e->type = TSG_ELEM_DRIVE;
	else if (strncmp(s, "portal", 6) == 0 &&
	    util_parse_u64(s + 6, VTAPE_MAX_PORTALS, &v) == 0)
		e->type = TSG_ELEM_PORTAL;
	else
		return -EINVAL;
	e->num = (unsigned)v;
	return 0;
}

/*
 * Path of an element's link (slotN, portalN, driveK/tape); -ERANGE if no
 * such one.
 */
static int
elem_path(const char *libdir, const struct vtape_library *lc,
    enum tsg_elem_type type, unsigned num, char *buf, size_t len)
{
	int n;

	if (type == TSG_ELEM_SLOT && num >= 1 && num <= (unsigned)lc->slots)
		n = snprintf(buf, len, "%s/slot%u", libdir, num);
	else if (type == TSG_ELEM_DRIVE && num < (unsigned)lc->drives)
		n = snprintf(buf, len, "%s/drive%u/tape", libdir, num);
	else if (type == TSG_ELEM_PORTAL && num >= 1 &&
	    num <= (unsigned)lc->portals)
		n = snprintf(buf, len, "%s/portal%u", libdir, num);
	else
		return -ERANGE;
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Is there a cartridge (a link, even a dangling one) at path? */
static bool
occupied(const char *path)
{
	char c;

	return readlink(path, &c, 1) >= 0 || access(path, F_OK) == 0;
}

/*
 * Is the link at path a cartridge: a directory with its cart.conf? A link
 * that dangles or names anything else holds none (it is not moved).
 */
static bool
is_cart(const char *path)
{
	char conf[PATH_MAX + 16];

	snprintf(conf, sizeof(conf), "%s/cart.conf", path);
	return access(conf, F_OK) == 0;
}

/* The barcode a link names (its last component), "" if it is no link. */
static void
link_cart(const char *path, char *bc, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *b;

	bc[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	b = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	snprintf(bc, len, "%s", b);
}

/* The library's lock, waiting a while for a move or check to end. */
static int
lib_lock(const char *libdir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", libdir, LIB_LOCK);
	for (int i = 0; i < 3000; i++) {	/* 30 s: a move takes < 1 ms */
		if ((fd = tsg_flock(path, "a move or check of the library", NULL,
		    0)) != -EBUSY)
			return fd;
		usleep(10000);
	}
	return -EBUSY;
}

/* Take drive's lock (what an open device holds); -EBUSY, holder in why. */
static int
drive_lock(const char *libdir, unsigned drive, char *why, size_t len)
{
	char path[PATH_MAX], who[PATH_MAX + 96];
	int fd;

	snprintf(path, sizeof(path), "%s/drive%u/.lock", libdir, drive);
	fd = tsg_flock(path, "a changer move", who, sizeof(who));
	if (fd == -EBUSY && why)
		snprintf(why, len, "drive %u is in use by %s", drive, who);
	return fd;
}

/* Take the lock of the cartridge the link at path names. */
static int
cart_lock(const char *path, char *why, size_t len)
{
	char lk[PATH_MAX + 8], who[PATH_MAX + 96], *cart = realpath(path, NULL);
	int fd;

	if (!cart)
		return -errno;
	snprintf(lk, sizeof(lk), "%s/.lock", cart);
	fd = tsg_flock(lk, "a changer move", who, sizeof(who));
	if (fd == -EBUSY && why)
		snprintf(why, len, "cartridge %s is in use by %s", cart, who);
	free(cart);
	return fd;
}

/* The slot drive's cartridge came from (its home file), 0 if unknown. */
static unsigned
home_of(const char *libdir, unsigned drive)
{
	char path[PATH_MAX], line[32];
	unsigned slot = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/drive%u/home", libdir, drive);
	if ((fp = fopen(path, "r"))) {
		if (fgets(line, sizeof(line), fp))
			slot = (unsigned)strtoul(line, NULL, 10);
		fclose(fp);
	}
	return slot;
}

/* Write text to path through path.new and a rename; crash points a, b. */
static int
put_file(const char *path, const char *text, int step_a, int step_b)
{
	char tmp[PATH_MAX + 8];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s%s", path, TMP_SUFFIX);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if ((rc = util_write_all(fd, text, strlen(text))) == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc)
		crash_point(step_a);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		crash_point(step_b);
	return rc;
}

/* Remove drive's home file and any half-written one. */
static void
home_drop(const char *libdir, unsigned drive)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/drive%u/home", libdir, drive);
	unlink(path);
	snprintf(path, sizeof(path), "%s/drive%u/home%s", libdir, drive,
	    TMP_SUFFIX);
	unlink(path);
}

/* Record the slot drive's cartridge came from. */
static int
home_set(const char *libdir, unsigned drive, unsigned slot, int step_a,
    int step_b)
{
	char path[PATH_MAX], text[32];

	snprintf(path, sizeof(path), "%s/drive%u/home", libdir, drive);
	snprintf(text, sizeof(text), "%u\n", slot);
	return put_file(path, text, step_a, step_b);
}

/*
 * The target of a new link at an element of type t to the cartridge whose
 * real directory is cart: carts/X from the top, ../carts/X from a drive's
 * directory, for a cartridge in the library's carts/; its absolute path
 * for one elsewhere (a link an operator made by hand).
 */
static int
link_target(const char *libdir, const char *cart, enum tsg_elem_type t,
    char *out, size_t len)
{
	char *lib = realpath(libdir, NULL);
	const char *rest;
	size_t n;
	int w;

	if (!lib)
		return -errno;
	n = strlen(lib);
	rest = cart + n + 7;
	if (strncmp(cart, lib, n) == 0 && strncmp(cart + n, "/carts/", 7) == 0 &&
	    *rest && !strchr(rest, '/'))
		w = snprintf(out, len, "%scarts/%s", t == TSG_ELEM_DRIVE ? "../" :
		    "", rest);
	else
		w = snprintf(out, len, "%s", cart);
	free(lib);
	return w >= 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
}

/*
 * The move itself, the library's lock held: -ERANGE no such element,
 * -ENOENT source empty, -EEXIST destination full, -EBUSY a drive or the
 * cartridge is in use (why says by whom). Steps 1..8 are crash points.
 */
static int
move_locked(const char *libdir, const struct vtape_library *lc, struct elem f,
    struct elem t, char *why, size_t len)
{
	char src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX + 8], jr[PATH_MAX];
	char target[PATH_MAX], rel[PATH_MAX + 4], text[PATH_MAX + 64];
	char fn[16], tn[16], bc[PATH_MAX], *real = NULL, *now = NULL;
	int rc, lk_from = -1, lk_to = -1, lk_cart = -1;
	unsigned home;
	ssize_t n;

	if ((rc = elem_path(libdir, lc, f.type, f.num, src, sizeof(src))) < 0 ||
	    (rc = elem_path(libdir, lc, t.type, t.num, dst, sizeof(dst))) < 0)
		return rc;
	if ((n = readlink(src, target, sizeof(target) - 1)) < 0 || !is_cart(src))
		return -ENOENT;	/* no cartridge there (see is_cart) */
	target[n] = '\0';
	if (occupied(dst))
		return -EEXIST;
	if (f.type == TSG_ELEM_DRIVE &&
	    (rc = lk_from = drive_lock(libdir, f.num, why, len)) < 0)
		goto out;
	if (t.type == TSG_ELEM_DRIVE &&
	    (rc = lk_to = drive_lock(libdir, t.num, why, len)) < 0)
		goto out;
	if ((rc = lk_cart = cart_lock(src, why, len)) < 0)
		goto out;
	/* The new link from the cartridge's real place, however src names it. */
	if (!(real = realpath(src, NULL))) {
		rc = -errno;
		goto out;
	}
	if ((rc = link_target(libdir, real, t.type, rel, sizeof(rel))) < 0)
		goto out;
	rc = 0;
	home = f.type == TSG_ELEM_SLOT ? f.num : f.type == TSG_ELEM_DRIVE ?
	    home_of(libdir, f.num) : 0;
	elem_name(f, fn, sizeof(fn));
	elem_name(t, tn, sizeof(tn));
	link_cart(src, bc, sizeof(bc));
	snprintf(jr, sizeof(jr), "%s/%s", libdir, JOURNAL);
	snprintf(text, sizeof(text), "cart=%s\nfrom=%s\nto=%s\n", bc, fn, tn);
	if ((rc = put_file(jr, text, 1, 2)) < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s%s", dst, TMP_SUFFIX);
	unlink(tmp);
	if (symlink(rel, tmp) < 0) {
		rc = -errno;
		goto undo;
	}
	/* Never commit a link that does not name the cartridge moved. */
	if (!(now = realpath(tmp, NULL)) || strcmp(now, real) != 0) {
		if (why)
			snprintf(why, len, "the new link %s -> %s would not name "
			    "cartridge %s", tmp, rel, real);
		rc = -EIO;
		goto undo;
	}
	crash_point(3);
	if (t.type == TSG_ELEM_DRIVE &&
	    (rc = home_set(libdir, t.num, home, 4, 5)) < 0)
		goto undo;
	if (rename(tmp, dst) < 0) {	/* the commit point */
		rc = -errno;
		goto undo;
	}
	crash_point(6);
	if (unlink(src) < 0) {
		rc = -errno;	/* the journal stays: the next check finishes */
		goto out;
	}
	crash_point(7);
	if (f.type == TSG_ELEM_DRIVE)
		home_drop(libdir, f.num);
	crash_point(8);
	unlink(jr);
	goto out;
undo:
	unlink(tmp);
	if (t.type == TSG_ELEM_DRIVE)
		home_drop(libdir, t.num);
	unlink(jr);
out:
	free(real);
	free(now);
	if (lk_cart >= 0)
		close(lk_cart);
	if (lk_from >= 0)
		close(lk_from);
	if (lk_to >= 0)
		close(lk_to);
	return rc;
}

struct check_ctx {
	const char *libdir;
	const struct vtape_library *lc;
	enum vtape_repair repair;
	vtape_check_fn fn;
	void *arg;
	struct vtape_check *res;
	char journal_cart[256];	/* an interrupted move's cartridge, unrepaired */
};

/* One finding: the problem, what was done (NULL: nothing), whether fixed. */
static void
finding(struct check_ctx *k, const char *problem, const char *done,
    bool fixed)
{
	k->res->found++;
	if (fixed)
		k->res->repaired++;
	if (k->fn)
		k->fn(k->arg, problem, done, fixed);
}

/* Take the locks of the drives among elements e[0..n); false if one is busy. */
static bool
lock_drives(struct check_ctx *k, const struct elem *e, int n, int *fds,
    char *why, size_t len)
{
	for (int i = 0; i < n; i++) {
		fds[i] = -1;
		if (e[i].type == TSG_ELEM_DRIVE &&
		    (fds[i] = drive_lock(k->libdir, e[i].num, why, len)) < 0) {
			while (i-- > 0)
				if (fds[i] >= 0)
					close(fds[i]);
			return false;
		}
	}
	return true;
}

/* Close the fds lock_drives took. */
static void
unlock_drives(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* An interrupted move (the journal is there): finish it or undo it. */
static void
check_journal(struct check_ctx *k)
{
	char path[PATH_MAX], line[PATH_MAX + 16], bc[PATH_MAX] = "";
	char fp_[PATH_MAX], tp[PATH_MAX], tmp[PATH_MAX + 8], now[PATH_MAX];
	char problem[PATH_MAX * 2], done[PATH_MAX * 2], why[PATH_MAX + 128];
	char fn[16] = "", tn[16] = "";
	struct elem e[2];
	int fds[2];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", k->libdir, JOURNAL);
	if (!(fp = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "cart=", 5) == 0)
			snprintf(bc, sizeof(bc), "%.*s", (int)sizeof(bc) - 1, line + 5);
		else if (strncmp(line, "from=", 5) == 0)
			snprintf(fn, sizeof(fn), "%.15s", line + 5);
		else if (strncmp(line, "to=", 3) == 0)
			snprintf(tn, sizeof(tn), "%.15s", line + 3);
	}
	fclose(fp);
	if (!bc[0] || elem_parse(fn, &e[0]) < 0 || elem_parse(tn, &e[1]) < 0 ||
	    elem_path(k->libdir, k->lc, e[0].type, e[0].num, fp_,
	    sizeof(fp_)) < 0 ||
	    elem_path(k->libdir, k->lc, e[1].type, e[1].num, tp, sizeof(tp)) < 0) {
		bool rm = k->repair && unlink(path) == 0;
		finding(k, "an unreadable move journal (" JOURNAL ")",
		    rm ? "removed it" : NULL, rm);
		return;
	}
	snprintf(problem, sizeof(problem), "an interrupted move of %s from %s "
	    "to %s", bc, fn, tn);
	if (!k->repair) {
		snprintf(k->journal_cart, sizeof(k->journal_cart), "%.255s", bc);
		finding(k, problem, NULL, false);
		return;
	}
	if (!lock_drives(k, e, 2, fds, why, sizeof(why))) {
		snprintf(k->journal_cart, sizeof(k->journal_cart), "%.255s", bc);
		snprintf(done, sizeof(done), "not repaired: %s", why);
		finding(k, problem, done, false);
		return;
	}
	link_cart(tp, now, sizeof(now));
	if (strcmp(now, bc) == 0) {
		/* The destination was committed: finish. */
		link_cart(fp_, now, sizeof(now));
		if (strcmp(now, bc) == 0)
			unlink(fp_);
		if (e[0].type == TSG_ELEM_DRIVE)
			home_drop(k->libdir, e[0].num);
		snprintf(done, sizeof(done), "finished it: %s is in %s", bc, tn);
	} else {
		snprintf(tmp, sizeof(tmp), "%s%s", tp, TMP_SUFFIX);
		unlink(tmp);
		if (e[1].type == TSG_ELEM_DRIVE && !occupied(tp))
			home_drop(k->libdir, e[1].num);
		snprintf(done, sizeof(done), "undid it: %s stays in %s", bc, fn);
	}
	unlink(path);
	unlock_drives(fds, 2);
	finding(k, problem, done, true);
}

/* Temporary files of a move that did not finish (path.new). */
static void
check_temp(struct check_ctx *k, const char *dir)
{
	char path[PATH_MAX * 2], problem[PATH_MAX * 2 + 64];
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t sl = strlen(TMP_SUFFIX);

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= sl || strcmp(de->d_name + n - sl, TMP_SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(problem, sizeof(problem), "a temporary file of an "
		    "interrupted move: %s", path);
		bool rm = k->repair && unlink(path) == 0;
		finding(k, problem, rm ? "removed it" : NULL, rm);
	}
	closedir(d);
}

/* Links that dangle or name no cartridge; a home file in an empty drive. */
static void
check_links(struct check_ctx *k, const struct elem *e, const char *path)
{
	char target[PATH_MAX], problem[PATH_MAX * 2], name[16], why[PATH_MAX + 128];
	const char *done = NULL;
	ssize_t n;
	int fd = -1;

	elem_name(*e, name, sizeof(name));
	if (!occupied(path)) {
		char home[PATH_MAX];
		snprintf(home, sizeof(home), "%s/drive%u/home", k->libdir, e->num);
		if (e->type != TSG_ELEM_DRIVE || access(home, F_OK) < 0)
			return;
		snprintf(problem, sizeof(problem), "%s is empty but has a home "
		    "file left by an interrupted move", name);
		if (k->repair && unlink(home) == 0)
			done = "removed it";
		finding(k, problem, done, done != NULL);
		return;
	}
	if (is_cart(path))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	snprintf(problem, sizeof(problem), "%s: %s%s names no cartridge", name,
	    n > 0 ? "its link to " : "it is no link and", target);
	/* Not a crash's leftover: only an explicit full repair removes it. */
	if (k->repair == VTAPE_REPAIR_ALL && n > 0) {
		if (e->type == TSG_ELEM_DRIVE &&
		    (fd = drive_lock(k->libdir, e->num, why, sizeof(why))) < 0)
			done = NULL;
		else if (unlink(path) == 0)
			done = "removed the link";
		if (fd >= 0)
			close(fd);
		if (done && e->type == TSG_ELEM_DRIVE)
			home_drop(k->libdir, e->num);
	}
	finding(k, problem, done, done != NULL);
}

struct place {
	struct elem e;
	char *cart;		/* real path of the cartridge */
	struct timespec mtime;	/* of the link: when it was made */
};

/* Order places by cartridge, then newest link first, a drive first on a tie. */
static int
place_cmp(const void *a, const void *b)
{
	const struct place *x = a, *y = b;
	int c = strcmp(x->cart, y->cart);

	if (c)
		return c;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec > y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : 1;
	return (x->e.type == TSG_ELEM_DRIVE) == (y->e.type == TSG_ELEM_DRIVE) ? 0 :
	    x->e.type == TSG_ELEM_DRIVE ? -1 : 1;
}

/*
 * A cartridge in several places (a crash of a move made before moves were
 * journalled, or a hand-made link): it stays where its newest link is,
 * which is where the interrupted move was taking it (a drive wins a tie),
 * and leaves the others, unless it or a drive involved is in use.
 */
static void
check_group(struct check_ctx *k, struct place *p, size_t n)
{
	char problem[PATH_MAX * 2], done[PATH_MAX * 2], why[PATH_MAX + 128];
	char name[16], path[PATH_MAX];
	size_t off;
	int lk, fds[64];
	struct elem e[64];
	bool ok = true;
	const char *base = strrchr(p[0].cart, '/') ? strrchr(p[0].cart, '/') + 1 :
	    p[0].cart;

	if (k->journal_cart[0] && strcmp(base, k->journal_cart) == 0)
		return;	/* the interrupted move, reported as such */
	off = (size_t)snprintf(problem, sizeof(problem), "cartridge %s is in %zu "
	    "places:", p[0].cart, n);
	for (size_t i = 0; i < n && off < sizeof(problem); i++) {
		elem_name(p[i].e, name, sizeof(name));
		off += (size_t)snprintf(problem + off, sizeof(problem) - off, " %s",
		    name);
	}
	if (!k->repair) {
		finding(k, problem, NULL, false);
		return;
	}
	elem_name(p[0].e, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/cart.conf", p[0].cart);
	lk = -1;
	for (size_t i = 0; i < n && i < 64; i++)
		e[i] = p[i].e;
	snprintf(path, sizeof(path), "%s/.lock", p[0].cart);
	if ((lk = tsg_flock(path, "a library check", why, sizeof(why))) < 0 ||
	    !lock_drives(k, e, (int)(n < 64 ? n : 64), fds, why, sizeof(why))) {
		char who[PATH_MAX + 160];
		snprintf(who, sizeof(who), "%s", why);
		if (lk >= 0)
			close(lk);
		else
			snprintf(who, sizeof(who), "cartridge in use by %s", why);
		snprintf(done, sizeof(done), "not repaired: %s", who);
		finding(k, problem, done, false);
		return;
	}
	off = (size_t)snprintf(done, sizeof(done), "kept it in %s (its link is "
	    "the newest: the interrupted move was taking it there), removed it "
	    "from", name);
	for (size_t i = 1; i < n; i++) {
		elem_path(k->libdir, k->lc, p[i].e.type, p[i].e.num, path,
		    sizeof(path));
		elem_name(p[i].e, name, sizeof(name));
		if (unlink(path) < 0) {
			ok = false;
			continue;
		}
		if (p[i].e.type == TSG_ELEM_DRIVE)
			home_drop(k->libdir, p[i].e.num);
		else if (p[0].e.type == TSG_ELEM_DRIVE &&
		    p[i].e.type == TSG_ELEM_SLOT && !home_of(k->libdir, p[0].e.num))
			home_set(k->libdir, p[0].e.num, p[i].e.num, 0, 0);
		if (off < sizeof(done))
			off += (size_t)snprintf(done + off, sizeof(done) - off, " %s",
			    name);
	}
	unlock_drives(fds, (int)(n < 64 ? n : 64));
	close(lk);
	finding(k, problem, done, ok);
}

/* Every element: bad links, and cartridges in more than one place. */
static int
check_places(struct check_ctx *k)
{
	size_t ns = (size_t)k->lc->slots, nd = (size_t)k->lc->drives;
	size_t total = ns + nd + (size_t)k->lc->portals, np = 0;
	struct place *p = calloc(total ? total : 1, sizeof(*p));
	char path[PATH_MAX];
	struct stat sb;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < total; i++) {
		struct elem e = i < ns ?
		    (struct elem){ TSG_ELEM_SLOT, (unsigned)i + 1 } : i < ns + nd ?
		    (struct elem){ TSG_ELEM_DRIVE, (unsigned)(i - ns) } :
		    (struct elem){ TSG_ELEM_PORTAL, (unsigned)(i - ns - nd + 1) };
		elem_path(k->libdir, k->lc, e.type, e.num, path, sizeof(path));
		check_links(k, &e, path);
		if (!is_cart(path) || lstat(path, &sb) < 0 ||
		    !(p[np].cart = realpath(path, NULL)))
			continue;
		p[np].e = e;
		p[np++].mtime = sb.st_mtim;
	}
	qsort(p, np, sizeof(*p), place_cmp);
	for (size_t i = 0, j; i < np; i = j) {
		for (j = i + 1; j < np && strcmp(p[j].cart, p[i].cart) == 0; j++)
			;
		if (j - i > 1)
			check_group(k, p + i, j - i);
	}
	for (size_t i = 0; i < np; i++)
		free(p[i].cart);
	free(p);
	return 0;
}

/* The whole check, the library's lock held. */
static int
check_locked(const char *libdir, const struct vtape_library *lc,
    enum vtape_repair repair, vtape_check_fn fn, void *arg,
    struct vtape_check *res)
{
	struct check_ctx k = { libdir, lc, repair, fn, arg, res };
	char path[PATH_MAX];

	memset(res, 0, sizeof(*res));
	check_journal(&k);
	check_temp(&k, libdir);
	for (int d = 0; d < lc->drives; d++) {
		snprintf(path, sizeof(path), "%s/drive%d", libdir, d);
		check_temp(&k, path);
	}
	return check_places(&k);
}

int
vtape_check(const char *libdir, enum vtape_repair repair, vtape_check_fn fn,
    void *arg, struct vtape_check *res)
{
	struct vtape_library lc;
	int rc, lk;

	memset(res, 0, sizeof(*res));
	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if ((lk = lib_lock(libdir)) < 0)
		return lk;
	rc = check_locked(libdir, &lc, repair, fn, arg, res);
	close(lk);
	return rc;
}

/* A finding of the check run on every open, for the log. */
static void
log_finding(void *arg, const char *problem, const char *done, bool fixed)
{
	(void)fixed;
	log_warn("vtape library %s: %s%s%s", (const char *)arg, problem,
	    done ? "; " : " (run abs-vtape check --repair)", done ? done : "");
}

/* The check every open and move runs: repair what a crash left. */
static void
open_check(const char *libdir)
{
	struct vtape_check res;

	vtape_check(libdir, VTAPE_REPAIR_CRASH, log_finding, (void *)libdir,
	    &res);
}

/*
 * Move a cartridge between two elements, the library locked and checked
 * first: see move_locked for the errors.
 */
static int
lib_move(const char *libdir, struct elem f, struct elem t, char *why,
    size_t len)
{
	struct vtape_check res;
	struct vtape_library lc;
	int rc, lk;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if ((lk = lib_lock(libdir)) < 0)
		return lk;
	check_locked(libdir, &lc, VTAPE_REPAIR_CRASH, log_finding,
	    (void *)libdir, &res);
	rc = move_locked(libdir, &lc, f, t, why, len);
	close(lk);
	return rc;
}

int
vtape_load(const char *libdir, int slot, int drive, char *why, size_t len)
{
	if (slot < 1 || drive < 0)
		return -ERANGE;
	return lib_move(libdir, (struct elem){ TSG_ELEM_SLOT, (unsigned)slot },
	    (struct elem){ TSG_ELEM_DRIVE, (unsigned)drive }, why, len);
}

int
vtape_unload(const char *libdir, int drive, char *why, size_t len)
{
	struct vtape_check res;
	struct vtape_library lc;
	char path[PATH_MAX];
	unsigned slot;
	int rc, lk;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (drive < 0 || elem_path(libdir, &lc, TSG_ELEM_DRIVE, (unsigned)drive,
	    path, sizeof(path)) < 0)
		return -ERANGE;
	if ((lk = lib_lock(libdir)) < 0)
		return lk;
	check_locked(libdir, &lc, VTAPE_REPAIR_CRASH, log_finding,
	    (void *)libdir, &res);
	rc = -ENOENT;	/* drive empty */
	if (!occupied(path))
		goto out;
	slot = home_of(libdir, (unsigned)drive);
	if (elem_path(libdir, &lc, TSG_ELEM_SLOT, slot, path, sizeof(path)) < 0 ||
	    occupied(path)) {
		/* Home slot taken or unknown: the first empty one. */
		for (slot = 1; slot <= (unsigned)lc.slots; slot++) {
			elem_path(libdir, &lc, TSG_ELEM_SLOT, slot, path, sizeof(path));
			if (!occupied(path))
				break;
		}
		rc = -ENOSPC;
		if (slot > (unsigned)lc.slots) {
			snprintf(why, len, "no empty slot to put drive %d's cartridge "
			    "in: all %d slots hold one", drive, lc.slots);
			goto out;
		}
	}
	rc = move_locked(libdir, &lc, (struct elem){ TSG_ELEM_DRIVE,
	    (unsigned)drive }, (struct elem){ TSG_ELEM_SLOT, slot }, why, len);
out:
	close(lk);
	return rc;
}
/*
 * ---- the robot: changer.conf, elements, moves, faults, the operator ----
 *
 * changer.conf holds what a real changer keeps in its memory and what the
 * tests inject (see vtape.h). It is read by every command of the SMC
 * transport and rewritten, through a rename, under the library's lock.
 */

#define CHANGER_CONF "changer.conf"
#define CHANGER_MAX_TEXT 16384
#define MOVE_FAIL_MAX 1000000

/* Is slot in the list of jammed slots? */
static bool
jammed(const struct vtape_changer_state *s, enum tsg_elem_type type,
    unsigned num)
{
	for (unsigned i = 0; type == TSG_ELEM_SLOT && i < s->njam; i++)
		if (s->jam_slot[i] == num)
			return true;
	return false;
}

/* Is bc's label one the robot cannot read? */
static bool
unreadable(const struct vtape_changer_state *s, const char *bc)
{
	for (unsigned i = 0; i < s->nunreadable; i++)
		if (strcmp(s->unreadable[i], bc) == 0)
			return true;
	return false;
}

static const char *const chg_keys[] = { "attention", "prevent",
	"move_fail", "move_fail_kind", "not_ready", "refuse_dvcid",
	"refuse_voltag", "jam_slot", "unreadable", "impexp", NULL };
#define CHG_ONCE 0x7fu	/* the first seven: one value each */

struct chg_parse {
	const struct vtape_library *lib;
	struct vtape_changer_state *s;
};

/* kv_parse: one field of changer.conf. */
static int
chg_field(void *arg, int ln, int k, const char *val, char *err,
    size_t errlen)
{
	struct chg_parse *x = arg;
	struct vtape_changer_state *s = x->s;
	bool *flag[] = { &s->attention, &s->prevent, NULL, NULL, NULL,
	    &s->refuse_dvcid, &s->refuse_voltag };
	uint64_t v;

	switch (k) {
	case 0: case 1: case 5: case 6:
		if (strcmp(val, "0") && strcmp(val, "1"))
			goto bad;
		*flag[k] = val[0] == '1';
		break;
	case 2: case 4:
		if (util_parse_u64(val, MOVE_FAIL_MAX, &v) < 0)
			goto bad;
		*(k == 2 ? &s->move_fail : &s->not_ready) = (unsigned)v;
		break;
	case 3:
		if (strcmp(val, "jam") && strcmp(val, "hardware"))
			goto bad;
		s->move_fail_jam = val[0] == 'j';
		break;
	case 7:
		if (util_parse_u64(val, (uint64_t)x->lib->slots, &v) < 0 || !v ||
		    jammed(s, TSG_ELEM_SLOT, (unsigned)v) ||
		    s->njam == VTAPE_MAX_FAULTS)
			goto bad;
		s->jam_slot[s->njam++] = (unsigned)v;
		break;
	case 8:
		if (!barcode_ok(val) || unreadable(s, val) ||
		    s->nunreadable == VTAPE_MAX_FAULTS)
			goto bad;
		strcpy(s->unreadable[s->nunreadable++], val);
		break;
	default:
		if (util_parse_u64(val, (uint64_t)x->lib->portals, &v) < 0 || !v ||
		    (s->impexp & (1ULL << (v - 1))))
			goto bad;
		s->impexp |= 1ULL << (v - 1);
		break;
	}
	return 0;
bad:
	snprintf(err, errlen, "line %d: bad, repeated or too many %s: %.40s", ln,
	    chg_keys[k], val);
	return -EINVAL;
}

int
vtape_changer_parse(const char *text, size_t len,
    const struct vtape_library *lib, struct vtape_changer_state *s, char *err,
    size_t errlen)
{
	struct chg_parse x = { lib, s };
	struct kv kv = { chg_keys, CHG_ONCE, 0, chg_field, &x };

	memset(s, 0, sizeof(*s));
	return kv_parse(text, len, &kv, err, errlen);
}

int
vtape_changer_read(const char *libdir, const struct vtape_library *lib,
    struct vtape_changer_state *s)
{
	char path[PATH_MAX], err[160], *text;
	ssize_t n;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s", libdir, CHANGER_CONF);
	if ((fd = open_conf(libdir, path)) < 0)
		return fd == -ENOENT ? 0 : fd;
	if (!(text = malloc(CHANGER_MAX_TEXT))) {
		close(fd);
		return -ENOMEM;
	}
	n = util_read_full(fd, text, CHANGER_MAX_TEXT);
	close(fd);
	if (n < 0)
		rc = (int)n;
	else if (n == CHANGER_MAX_TEXT)
		rc = -EINVAL, snprintf(err, sizeof(err), "too long");
	else
		rc = vtape_changer_parse(text, (size_t)n, lib, s, err, sizeof(err));
	free(text);
	if (rc == -EINVAL)
		log_warn("vtape library %s: %s: %s (abs-vtape fault %s --clear "
		    "rewrites it)", libdir, CHANGER_CONF, err, libdir);
	return rc;
}

/* Write changer.conf through a rename (the library's lock held). */
static int
changer_write(const char *libdir, const struct vtape_changer_state *s)
{
	char path[PATH_MAX], *text = malloc(CHANGER_MAX_TEXT);
	size_t off = 0, cap = CHANGER_MAX_TEXT;
	int rc;

	if (!text)
		return -ENOMEM;
	off += (size_t)snprintf(text + off, cap - off, "attention=%d\n"
	    "prevent=%d\nmove_fail=%u\nmove_fail_kind=%s\nnot_ready=%u\n",
	    s->attention, s->prevent, s->move_fail, s->move_fail_jam ? "jam" :
	    "hardware", s->not_ready);
	off += (size_t)snprintf(text + off, cap - off, "refuse_dvcid=%d\n"
	    "refuse_voltag=%d\n", s->refuse_dvcid, s->refuse_voltag);
	for (unsigned i = 0; i < s->njam; i++)
		off += (size_t)snprintf(text + off, cap - off, "jam_slot=%u\n",
		    s->jam_slot[i]);
	for (unsigned i = 0; i < s->nunreadable; i++)
		off += (size_t)snprintf(text + off, cap - off, "unreadable=%s\n",
		    s->unreadable[i]);
	for (unsigned i = 0; i < 64; i++)
		if (s->impexp & (1ULL << i))
			off += (size_t)snprintf(text + off, cap - off, "impexp=%u\n",
			    i + 1);
	snprintf(path, sizeof(path), "%s/%s", libdir, CHANGER_CONF);
	rc = put_file(path, text, 0, 0);
	free(text);
	return rc;
}

/* Element address of (type, num). */
static unsigned
elem_addr(enum tsg_elem_type type, unsigned num)
{
	switch (type) {
	case TSG_ELEM_SLOT: return VTAPE_ADDR_SLOT + num - 1;
	case TSG_ELEM_PORTAL: return VTAPE_ADDR_PORTAL + num - 1;
	case TSG_ELEM_DRIVE: return VTAPE_ADDR_DRIVE + num;
	default: return VTAPE_ADDR_ROBOT;
	}
}

/* Fill e for element (type, num) at link path (NULL: the robot, empty). */
static void
robot_element(struct tsg_element *e, enum tsg_elem_type type, unsigned num,
    const char *path, const struct vtape_changer_state *cs)
{
	char bc[PATH_MAX];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->num = num;
	e->addr = elem_addr(type, num);
	e->access = type != TSG_ELEM_TRANSPORT;
	if (jammed(cs, type, num)) {
		e->except = true;
		e->access = false;
		e->asc = VTAPE_SMC_JAM_ASC;
	}
	if (!path || !is_cart(path))
		return;	/* as a move sees it: nothing to move */
	e->full = true;
	/* The cartridge's directory name is its barcode (carts/BARCODE). */
	link_cart(path, bc, sizeof(bc));
	if (!barcode_ok(bc) || unreadable(cs, bc))
		e->tag_unreadable = true;
	else
		strcpy(e->barcode, bc);
	e->impexp = type == TSG_ELEM_PORTAL && (cs->impexp & (1ULL << (num - 1)));
}

int
vtape_robot_elements(const char *libdir, struct tsg_element **elems,
    size_t *n)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	struct tsg_element *e;
	char path[PATH_MAX];
	size_t k = 0;
	int rc, lk;

	*elems = NULL;
	*n = 0;
	if ((rc = lib_read(libdir, &lc)) < 0 ||
	    (rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		return rc;
	e = calloc(1 + (size_t)lc.slots + (size_t)lc.portals + (size_t)lc.drives,
	    sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* Between moves: never a cartridge half-way (in two places). */
	if ((lk = lib_lock(libdir)) == -EBUSY) {
		free(e);
		return lk;
	}	/* (a read-only library without its lock file: unlocked) */
	robot_element(&e[k++], TSG_ELEM_TRANSPORT, 0, NULL, &cs);
	for (unsigned s = 1; s <= (unsigned)lc.slots; s++) {
		elem_path(libdir, &lc, TSG_ELEM_SLOT, s, path, sizeof(path));
		robot_element(&e[k++], TSG_ELEM_SLOT, s, path, &cs);
	}
	for (unsigned p = 1; p <= (unsigned)lc.portals; p++) {
		elem_path(libdir, &lc, TSG_ELEM_PORTAL, p, path, sizeof(path));
		robot_element(&e[k++], TSG_ELEM_PORTAL, p, path, &cs);
	}
	for (unsigned d = 0; d < (unsigned)lc.drives; d++) {
		elem_path(libdir, &lc, TSG_ELEM_DRIVE, d, path, sizeof(path));
		robot_element(&e[k], TSG_ELEM_DRIVE, d, path, &cs);
		if (e[k].full)
			e[k].source = home_of(libdir, d);
		vtape_drive_serial(&lc, (int)d, e[k].ident, sizeof(e[k].ident));
		k++;
	}
	if (lk >= 0)
		close(lk);
	*elems = e;
	*n = k;
	return 0;
}

/* A portal's IMPEXP flag goes when the robot moves its cartridge. */
static bool
impexp_drop(struct vtape_changer_state *cs, struct elem e)
{
	uint64_t bit = e.type == TSG_ELEM_PORTAL && e.num >= 1 && e.num <= 64 ?
	    1ULL << (e.num - 1) : 0;
	bool had = (cs->impexp & bit) != 0;

	cs->impexp &= ~bit;
	return had;
}

int
vtape_robot_move(const char *libdir, enum tsg_elem_type from_type,
    unsigned from, enum tsg_elem_type to_type, unsigned to,
    struct tsg_status *st)
{
	struct elem f = { from_type, from }, t = { to_type, to };
	char src[PATH_MAX], dst[PATH_MAX], why[PATH_MAX + 128] = "";
	struct vtape_changer_state cs;
	struct vtape_check res;
	struct vtape_library lc;
	int rc, lk;

	memset(st, 0, sizeof(*st));
	if ((rc = lib_read(libdir, &lc)) < 0)
		return tsg_transport_status(st, rc);
	if ((lk = lib_lock(libdir)) < 0)
		return tsg_transport_status(st, lk);
	check_locked(libdir, &lc, VTAPE_REPAIR_CRASH, log_finding,
	    (void *)libdir, &res);
	if ((rc = vtape_changer_read(libdir, &lc, &cs)) < 0) {
		rc = tsg_transport_status(st, rc);
		goto out;
	}
	/* What a SCSI changer answers MOVE MEDIUM with in each case. */
	if (elem_path(libdir, &lc, f.type, f.num, src, sizeof(src)) < 0 ||
	    elem_path(libdir, &lc, t.type, t.num, dst, sizeof(dst)) < 0) {
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		goto out;
	}
	if (!is_cart(src)) {
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY);
		goto out;
	}
	if (occupied(dst)) {
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL);
		goto out;
	}
	/* Portals locked: nothing goes in or out of them. */
	if (cs.prevent && (f.type == TSG_ELEM_PORTAL ||
	    t.type == TSG_ELEM_PORTAL)) {
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_REMOVAL_PREVENTED, SMC_ASCQ_REMOVAL_PREVENTED);
		goto out;
	}
	if (jammed(&cs, f.type, f.num) || jammed(&cs, t.type, t.num)) {
		rc = tsg_check_status(st, SPC_SK_HARDWARE_ERROR,
		    VTAPE_SMC_JAM_ASC, 0);
		goto out;
	}
	if (cs.move_fail) {
		cs.move_fail--;
		if ((rc = changer_write(libdir, &cs)) < 0) {
			rc = tsg_transport_status(st, rc);
			goto out;
		}
		rc = cs.move_fail_jam ? tsg_check_status(st, SPC_SK_HARDWARE_ERROR,
		    VTAPE_SMC_JAM_ASC, 0) : tsg_check_status(st,
		    SPC_SK_HARDWARE_ERROR, VTAPE_SMC_POSITION_ASC,
		    VTAPE_SMC_POSITION_ASCQ);
		goto out;
	}
	rc = move_locked(libdir, &lc, f, t, why, sizeof(why));
	switch (rc) {
	case 0:
		if ((impexp_drop(&cs, f) | impexp_drop(&cs, t)) &&
		    changer_write(libdir, &cs) < 0)
			log_warn("vtape library %s: cannot update %s", libdir,
			    CHANGER_CONF);
		break;
	case -ERANGE:
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		break;
	case -ENOENT:
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY);
		break;
	case -EEXIST:
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL);
		break;
	case -EBUSY:
		if (why[0])
			log_warn("vtape library %s: %s", libdir, why);
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_REMOVAL_PREVENTED, SMC_ASCQ_REMOVAL_PREVENTED);
		break;
	default:
		rc = tsg_transport_status(st, rc);
		break;
	}
out:
	close(lk);
	return rc;
}

/*
 * Change changer.conf under the library's lock: fn edits the state read
 * (returning 0 to write it, 1 to leave it, or -errno).
 */
static int
changer_edit(const char *libdir, int (*fn)(void *arg,
    const struct vtape_library *lc, struct vtape_changer_state *cs),
    void *arg, bool anew)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	int rc, lk;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if ((lk = lib_lock(libdir)) < 0)
		return lk;
	rc = vtape_changer_read(libdir, &lc, &cs);
	if (rc == -EINVAL && anew) {
		memset(&cs, 0, sizeof(cs));	/* a bad file, rewritten */
		rc = 0;
	}
	if (rc == 0 && (rc = fn(arg, &lc, &cs)) == 0)
		rc = changer_write(libdir, &cs);
	close(lk);
	return rc < 0 ? rc : 0;
}

/*
 * changer_edit: take what the next command hears, *arg the kind: a UNIT
 * ATTENTION first, else one of the NOT READY answers.
 */
static int
take_pending(void *arg, const struct vtape_library *lc,
    struct vtape_changer_state *cs)
{
	int *kind = arg;

	(void)lc;
	if (cs->attention && *kind != VTAPE_PENDING_NOT_READY) {
		cs->attention = false;
		*kind = VTAPE_PENDING_ATTENTION;
	} else if (cs->not_ready && *kind != VTAPE_PENDING_ATTENTION) {
		cs->not_ready--;
		*kind = VTAPE_PENDING_NOT_READY;
	} else {
		*kind = VTAPE_PENDING_NONE;
		return 1;
	}
	return 0;
}

/* The next pending answer of the kinds asked (want: 0 any). */
static int
robot_pending(const char *libdir, int want)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	int rc, kind = want;

	/* Most commands find none: read without the lock first. */
	if ((rc = lib_read(libdir, &lc)) < 0 ||
	    (rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		return rc;
	if (!cs.attention && !cs.not_ready)
		return VTAPE_PENDING_NONE;
	if ((rc = changer_edit(libdir, take_pending, &kind, false)) < 0)
		return rc;
	return kind;
}

int
vtape_robot_pending(const char *libdir)
{
	return robot_pending(libdir, VTAPE_PENDING_NONE);
}

int
vtape_robot_attention(const char *libdir)
{
	int rc = robot_pending(libdir, VTAPE_PENDING_ATTENTION);

	return rc < 0 ? rc : rc == VTAPE_PENDING_ATTENTION;
}

/* changer_edit: PREVENT (*arg true) or ALLOW. */
static int
set_prevent(void *arg, const struct vtape_library *lc,
    struct vtape_changer_state *cs)
{
	(void)lc;
	if (cs->prevent == *(bool *)arg)
		return 1;
	cs->prevent = *(bool *)arg;
	return 0;
}

int
vtape_robot_prevent(const char *libdir, bool prevent)
{
	return changer_edit(libdir, set_prevent, &prevent, false);
}

int
vtape_robot_scan(const char *libdir)
{
	struct vtape_check res;

	return vtape_check(libdir, VTAPE_REPAIR_CRASH, log_finding,
	    (void *)libdir, &res);
}

struct fault_ctx {
	const char *libdir;
	const struct vtape_changer_fault *f;
	char *why;
	size_t len;
};

/* changer_edit: inject the faults of abs-vtape fault. */
static int
set_fault(void *arg, const struct vtape_library *lc,
    struct vtape_changer_state *cs)
{
	struct fault_ctx *x = arg;
	const struct vtape_changer_fault *f = x->f;
	char path[PATH_MAX], bc[PATH_MAX];

	if (f->clear) {
		cs->move_fail = cs->not_ready = 0;
		cs->move_fail_jam = cs->refuse_dvcid = cs->refuse_voltag = false;
		cs->njam = cs->nunreadable = 0;
	}
	if (f->move_fail >= 0) {
		if (f->move_fail > MOVE_FAIL_MAX) {
			snprintf(x->why, x->len, "at most %d move failures",
			    MOVE_FAIL_MAX);
			return -EINVAL;
		}
		cs->move_fail = (unsigned)f->move_fail;
		cs->move_fail_jam = f->jam;
	}
	if (f->refuse_dvcid)
		cs->refuse_dvcid = true;
	if (f->refuse_voltag)
		cs->refuse_voltag = true;
	if (f->not_ready >= 0) {
		if (f->not_ready > MOVE_FAIL_MAX) {
			snprintf(x->why, x->len, "at most %d commands not ready",
			    MOVE_FAIL_MAX);
			return -EINVAL;
		}
		cs->not_ready = (unsigned)f->not_ready;
	}
	if (f->jam_slot && !jammed(cs, TSG_ELEM_SLOT, f->jam_slot)) {
		if (f->jam_slot > (unsigned)lc->slots) {
			snprintf(x->why, x->len, "there is no slot %u: the slots are "
			    "1 to %d", f->jam_slot, lc->slots);
			return -EINVAL;
		}
		if (cs->njam == VTAPE_MAX_FAULTS) {
			snprintf(x->why, x->len, "%d slots jam already",
			    VTAPE_MAX_FAULTS);
			return -ENOSPC;
		}
		cs->jam_slot[cs->njam++] = f->jam_slot;
	}
	if (f->unreadable_slot) {
		if (elem_path(x->libdir, lc, TSG_ELEM_SLOT, f->unreadable_slot,
		    path, sizeof(path)) < 0) {
			snprintf(x->why, x->len, "there is no slot %u: the slots are "
			    "1 to %d", f->unreadable_slot, lc->slots);
			return -EINVAL;
		}
		link_cart(path, bc, sizeof(bc));
		if (!is_cart(path) || !barcode_ok(bc)) {
			snprintf(x->why, x->len, "slot %u holds no cartridge with a "
			    "barcode", f->unreadable_slot);
			return -ENOENT;
		}
		if (!unreadable(cs, bc)) {
			if (cs->nunreadable == VTAPE_MAX_FAULTS) {
				snprintf(x->why, x->len, "%d labels are unreadable "
				    "already", VTAPE_MAX_FAULTS);
				return -ENOSPC;
			}
			strcpy(cs->unreadable[cs->nunreadable++], bc);
		}
	}
	return 0;
}

int
vtape_changer_fault(const char *libdir, const struct vtape_changer_fault *f,
    char *why, size_t len)
{
	struct fault_ctx x = { libdir, f, why, len };

	return changer_edit(libdir, set_fault, &x, f->clear);
}

int
vtape_robot_refuses(const char *libdir, bool *dvcid, bool *voltag)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	int rc;

	*dvcid = *voltag = false;
	if ((rc = lib_read(libdir, &lc)) < 0 ||
	    (rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		return rc;
	*dvcid = cs.refuse_dvcid;
	*voltag = cs.refuse_voltag;
	return 0;
}

int
vtape_changer_show(const char *libdir, FILE *out)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	int rc;

	if ((rc = lib_read(libdir, &lc)) < 0 ||
	    (rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		return rc;
	fprintf(out, "serial          %s (drive K: %sDK)\n", lc.serial,
	    lc.serial);
	fprintf(out, "elements        %d slots, %d portals, %d drives\n",
	    lc.slots, lc.portals, lc.drives);
	fprintf(out, "unit attention  %s\n", cs.attention ? "pending" : "none");
	fprintf(out, "portals         %s\n", cs.prevent ?
	    "locked (PREVENT MEDIUM REMOVAL)" : "unlocked");
	if (cs.move_fail)
		fprintf(out, "move failures   the next %u move%s (%s)\n",
		    cs.move_fail, cs.move_fail == 1 ? "" : "s", cs.move_fail_jam ?
		    "jam, HARDWARE ERROR 53/00" : "HARDWARE ERROR 15/01");
	else
		fprintf(out, "move failures   none\n");
	if (cs.not_ready)
		fprintf(out, "not ready       the next %u command%s (NOT READY "
		    "04/01, becoming ready)\n", cs.not_ready, cs.not_ready == 1 ?
		    "" : "s");
	if (cs.refuse_dvcid || cs.refuse_voltag)
		fprintf(out, "refused         READ ELEMENT STATUS with %s%s%s "
		    "(24/00)\n", cs.refuse_dvcid ? "DVCID" : "", cs.refuse_dvcid &&
		    cs.refuse_voltag ? " or " : "", cs.refuse_voltag ? "VolTag" : "");
	fprintf(out, "jammed slots   ");
	for (unsigned i = 0; i < cs.njam; i++)
		fprintf(out, " %u", cs.jam_slot[i]);
	fprintf(out, "%s\nunreadable     ", cs.njam ? "" : " none");
	for (unsigned i = 0; i < cs.nunreadable; i++)
		fprintf(out, " %s", cs.unreadable[i]);
	fprintf(out, "%s\n", cs.nunreadable ? "" : " none");
	return 0;
}

/* changer_edit: the door was opened and closed. */
static int
set_attention(void *arg, const struct vtape_library *lc,
    struct vtape_changer_state *cs)
{
	(void)arg;
	(void)lc;
	cs->attention = true;
	return 0;
}

int
vtape_door(const char *libdir)
{
	return changer_edit(libdir, set_attention, NULL, false);
}

/* Where cartridge bc is in the library ("slot3"), "" if in no element. */
static void
find_cart(const char *libdir, const struct vtape_library *lc, const char *bc,
    char *where, size_t len)
{
	static const enum tsg_elem_type types[] = { TSG_ELEM_SLOT,
	    TSG_ELEM_PORTAL, TSG_ELEM_DRIVE };
	char path[PATH_MAX], name[PATH_MAX];

	where[0] = '\0';
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		unsigned lo = types[t] == TSG_ELEM_DRIVE ? 0 : 1;
		unsigned hi = types[t] == TSG_ELEM_SLOT ? (unsigned)lc->slots :
		    types[t] == TSG_ELEM_PORTAL ? (unsigned)lc->portals :
		    (unsigned)lc->drives - 1;
		for (unsigned k = lo; k <= hi; k++) {
			if (elem_path(libdir, lc, types[t], k, path, sizeof(path)) < 0)
				continue;
			link_cart(path, name, sizeof(name));
			if (strcmp(name, bc) == 0) {
				elem_name((struct elem){ types[t], k }, where, len);
				return;
			}
		}
	}
}

int
vtape_import(const char *libdir, char *const *barcodes, int n, bool to_slots,
    char *why, size_t len)
{
	enum tsg_elem_type type = to_slots ? TSG_ELEM_SLOT : TSG_ELEM_PORTAL;
	struct vtape_changer_state cs;
	struct vtape_check res;
	struct vtape_library lc;
	char path[PATH_MAX], where[32], target[PATH_MAX];
	unsigned *free_el = NULL, nfree = 0, max;
	int rc, lk, placed = 0;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (n < 1)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (!barcode_ok(barcodes[i])) {
			snprintf(why, len, "bad barcode '%.40s': 1 to %d printable "
			    "characters, no '/' or blank", barcodes[i],
			    VTAPE_BARCODE_MAX);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(barcodes[i], barcodes[j]) == 0) {
				snprintf(why, len, "barcode %s given twice", barcodes[i]);
				return -EINVAL;
			}
	}
	max = to_slots ? (unsigned)lc.slots : (unsigned)lc.portals;
	if (!max) {
		snprintf(why, len, "the library has no portals (abs-vtape "
		    "new-library --portals N; abs-vtape import --to-slots puts "
		    "cartridges in slots)");
		return -ENOSPC;
	}
	if (!(free_el = calloc(max, sizeof(*free_el))))
		return -ENOMEM;
	if ((lk = lib_lock(libdir)) < 0) {
		free(free_el);
		return lk;
	}
	check_locked(libdir, &lc, VTAPE_REPAIR_CRASH, log_finding,
	    (void *)libdir, &res);
	if ((rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		goto out;
	rc = -EPERM;
	if (!to_slots && cs.prevent) {
		snprintf(why, len, "the portals are locked (PREVENT MEDIUM "
		    "REMOVAL): abs-engine changer --device vtape:%s allow", libdir);
		goto out;
	}
	rc = -EEXIST;
	for (int i = 0; i < n; i++) {
		find_cart(libdir, &lc, barcodes[i], where, sizeof(where));
		if (where[0]) {
			snprintf(why, len, "cartridge %s is in %s already",
			    barcodes[i], where);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/carts/%s", libdir, barcodes[i]);
		if (access(path, F_OK) == 0 && !is_cart(path)) {
			snprintf(why, len, "%s is there but is no cartridge", path);
			goto out;
		}
	}
	for (unsigned k = 1; k <= max; k++) {
		elem_path(libdir, &lc, type, k, path, sizeof(path));
		if (!occupied(path))
			free_el[nfree++] = k;
	}
	rc = -ENOSPC;
	if (nfree < (unsigned)n) {
		snprintf(why, len, "%u free %s for %d cartridge%s", nfree,
		    to_slots ? "slots" : "portals", n, n == 1 ? "" : "s");
		goto out;
	}
	rc = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/carts/%s", libdir, barcodes[i]);
		if (!is_cart(path) && (rc = vtape_cart_create(path, barcodes[i],
		    lc.capacity, lc.early_warning)) < 0) {
			snprintf(why, len, "cannot make cartridge %s: %s", path,
			    strerror(-rc));
			break;
		}
		elem_path(libdir, &lc, type, free_el[i], path, sizeof(path));
		snprintf(target, sizeof(target), "carts/%s", barcodes[i]);
		if (symlink(target, path) < 0) {
			rc = -errno;
			snprintf(why, len, "cannot link %s: %s", path, strerror(errno));
			break;
		}
		if (!to_slots)
			cs.impexp |= 1ULL << (free_el[i] - 1);
		placed++;
	}
	/* What was put in is there: the door closes on it all the same. */
	if (placed) {
		int wrc;
		cs.attention = true;
		if ((wrc = changer_write(libdir, &cs)) < 0 && rc == 0)
			rc = wrc;
	}
out:
	close(lk);
	free(free_el);
	return rc;
}

int
vtape_export(const char *libdir, int portal, FILE *out, char *why, size_t len)
{
	struct vtape_changer_state cs;
	struct vtape_library lc;
	char path[PATH_MAX], bc[PATH_MAX];
	int rc, lk, taken = 0;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (portal < 0 || portal > lc.portals) {
		snprintf(why, len, "there is no portal %d: the portals are %s%d",
		    portal, lc.portals ? "1 to " : "", lc.portals);
		return -ERANGE;
	}
	if ((lk = lib_lock(libdir)) < 0)
		return lk;
	if ((rc = vtape_changer_read(libdir, &lc, &cs)) < 0)
		goto out;
	rc = -EPERM;
	if (cs.prevent) {
		snprintf(why, len, "the portals are locked (PREVENT MEDIUM "
		    "REMOVAL): abs-engine changer --device vtape:%s allow", libdir);
		goto out;
	}
	for (int p = portal ? portal : 1; p <= (portal ? portal : lc.portals);
	    p++) {
		elem_path(libdir, &lc, TSG_ELEM_PORTAL, (unsigned)p, path,
		    sizeof(path));
		if (!occupied(path))
			continue;
		link_cart(path, bc, sizeof(bc));
		if (unlink(path) < 0) {
			rc = -errno;
			snprintf(why, len, "cannot remove %s: %s", path,
			    strerror(errno));
			goto out;
		}
		cs.impexp &= ~(1ULL << (p - 1));
		if (out)
			fprintf(out, "took %s out of portal %d\n", bc[0] ? bc : "?", p);
		taken++;
	}
	rc = -ENOENT;
	if (!taken) {
		snprintf(why, len, portal ? "portal %d is empty" :
		    "every portal is empty", portal);
		goto out;
	}
	cs.attention = true;
	rc = changer_write(libdir, &cs);
out:
	close(lk);
	return rc;
}

/*
 * ---- the changer API's vtape backend ----
 *
 * vtape:LIBDIR as a changer is the SCSI backend (sg/smc.c) over the
 * library's own SMC target (sg/vtape_smc.c): the same commands, element
 * status and sense as a real library, one code path. Only finding the
 * library of a drive (vtape:LIB/driveK) is the vtape library's own.
 */
static int
vlib_open(struct tsg_changer *c, const char *path)
{
	struct vtape_library lc;
	char inner[PATH_MAX + 8];
	int rc;

	if (!*path)
		return -EINVAL;
	/* Not a library (a cartridge, nothing): said before any CDB. */
	if ((rc = lib_read(path, &lc)) < 0)
		return rc;
	if ((size_t)snprintf(inner, sizeof(inner), "vtape:%s", path) >=
	    sizeof(inner))
		return -ENAMETOOLONG;
	return smc_changer_open(c, inner);
}

/* A drive of a library is vtape:LIB/driveK with K below the drive count. */
static int
vlib_of_drive(const char *drive_path, char **path, unsigned *drive)
{
	char dir[PATH_MAX], *slash, *end;
	const char *base;
	size_t n;
	long k;
	int slots, drives;

	if ((n = strlen(drive_path)) >= sizeof(dir))
		return -ENODEV;
	memcpy(dir, drive_path, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	slash = strrchr(dir, '/');
	base = slash ? slash + 1 : dir;
	if (strncmp(base, "drive", 5) != 0 || !base[5])
		return -ENODEV;
	k = strtol(base + 5, &end, 10);
	if (*end || k < 0)
		return -ENODEV;
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (vtape_library_info(dir, &slots, &drives) < 0 || k >= drives)
		return -ENODEV;
	if (!(*path = strdup(dir)))
		return -ENOMEM;
	*drive = (unsigned)k;
	return 0;
}

int
vtape_drive_serial_of(const char *drive_path, char *buf, size_t len)
{
	struct vtape_library lc;
	unsigned drive;
	char *lib;
	int rc;

	if ((rc = vlib_of_drive(drive_path, &lib, &drive)) < 0)
		return rc;
	rc = lib_read(lib, &lc);
	free(lib);
	if (rc < 0)
		return -ENODEV;
	vtape_drive_serial(&lc, (int)drive, buf, len);
	return 0;
}

void
vtape_lib_check_drive(const char *drive_path)
{
	unsigned drive;
	char *lib;

	if (vlib_of_drive(drive_path, &lib, &drive) == 0) {
		open_check(lib);
		free(lib);
	}
}

const struct tsg_changer_backend tsg_vtape_changer = {
	.scheme = "vtape",
	.open = vlib_open,
	.of_drive = vlib_of_drive,
	.close = smc_changer_close,
	.inventory = smc_changer_inventory,
	.move = smc_changer_move,
	.info = smc_changer_info,
	.scan = smc_changer_scan,
	.prevent = smc_changer_prevent,
	.attention = smc_changer_attention,
};

/* One line describing a cartridge: barcode, files, bytes used, flags. */
static void
cart_summary(const char *cartdir, char *buf, size_t len)
{
	char path[PATH_MAX], line[256], bc[64] = "?";
	unsigned long long cap = 0, used = 0;
	int files = 0, wp = 0;
	FILE *fp;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/cart.conf", cartdir);
	fp = fopen(path, "r");
	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "barcode=", 8) == 0)	/* at most 63 */
				snprintf(bc, sizeof(bc), "%.63s", line + 8);
			else if (strncmp(line, "capacity=", 9) == 0)
				cap = strtoull(line + 9, NULL, 10);
			else if (strcmp(line, "write_protect=1") == 0)
				wp = 1;
		}
		fclose(fp);
	}
	for (;; files++) {
		snprintf(path, sizeof(path), "%s/file%06d", cartdir, files);
		if (stat(path, &sb) < 0)
			break;
		used += (unsigned long long)sb.st_size;
	}
	snprintf(buf, len, "%-10s files=%-4d used=%llu/%llu%s", bc, files, used,
	    cap, wp ? " write-protected" : "");
}

int
vtape_list(const char *libdir, FILE *out)
{
	struct vtape_library lc;
	char *cart, line[256];
	int rc;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	for (int d = 0; d < lc.drives; d++) {
		if (vtape_drive_cart(libdir, d, &cart) == 0) {
			cart_summary(cart, line, sizeof(line));
			fprintf(out, "drive%-3d %s\n", d, line);
			free(cart);
		} else {
			fprintf(out, "drive%-3d (empty)\n", d);
		}
	}
	for (int s = 1; s <= lc.slots; s++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/slot%d", libdir, s);
		if (is_cart(path) && vtape_slot_cart(libdir, s, &cart) == 0) {
			cart_summary(cart, line, sizeof(line));
			fprintf(out, "slot%-4d %s\n", s, line);
			free(cart);
		} else {
			fprintf(out, "slot%-4d %s\n", s, occupied(path) ?
			    "(not a cartridge)" : "(empty)");
		}
	}
	for (int p = 1; p <= lc.portals; p++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/portal%d", libdir, p);
		if (is_cart(path) && vtape_portal_cart(libdir, p, &cart) == 0) {
			cart_summary(cart, line, sizeof(line));
			fprintf(out, "portal%-2d %s\n", p, line);
			free(cart);
		} else {
			fprintf(out, "portal%-2d %s\n", p, occupied(path) ?
			    "(not a cartridge)" : "(empty)");
		}
	}
	return 0;
}

int
vtape_show(const char *cartdir, FILE *out)
{
	char path[PATH_MAX], line[256];
	int n;

	cart_summary(cartdir, line, sizeof(line));
	fprintf(out, "%s\n", line);
	for (n = 0;; n++) {
		snprintf(path, sizeof(path), "%s/file%06d.idx", cartdir, n);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		uint32_t rec[2];	/* length (top bit: CRC kept), CRC32C */
		unsigned long long blocks = 0, bytes = 0, protected = 0;
		uint32_t minb = UINT32_MAX, maxb = 0;
		int fm = 0;
		while (read(fd, rec, 8) == 8) {
			if (rec[0] == 0xffffffffu) {
				fm = 1;
				break;
			}
			protected += rec[0] >> 31;
			rec[0] &= 0x7fffffffu;
			blocks++;
			bytes += rec[0];
			minb = rec[0] < minb ? rec[0] : minb;
			maxb = rec[0] > maxb ? rec[0] : maxb;
		}
		close(fd);
		fprintf(out, "  file %-4d blocks=%-8llu bytes=%-12llu block=%u..%u %s%s\n",
		    n, blocks, bytes, blocks ? minb : 0, maxb,
		    fm ? "filemark" : "(end of data)",
		    protected ? " (logical block protection)" : "");
		if (!fm)
			break;
	}
	return 0;
}

int
vtape_inject(const char *cartdir, const struct vtape_fault *f)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[256];
	FILE *in, *out;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/cart.conf", cartdir);
	snprintf(tmp, sizeof(tmp), "%s/cart.conf.inject", cartdir);
	in = fopen(path, "r");
	if (!in)
		return -errno;
	out = fopen(tmp, "w");
	if (!out) {
		rc = -errno;
		fclose(in);
		return rc;
	}
	while (fgets(line, sizeof(line), in)) {
		if (f->write_protect >= 0 && strncmp(line, "write_protect=", 14) == 0)
			continue;
		if (f->clear && (strncmp(line, "medium_error=", 13) == 0 ||
		    strncmp(line, "corrupt_write=", 14) == 0 ||
		    strncmp(line, "tapealert=", 10) == 0))
			continue;
		fputs(line, out);
	}
	fclose(in);
	if (f->write_protect >= 0)
		fprintf(out, "write_protect=%d\n", f->write_protect);
	if (f->medium_error_at >= 0)
		fprintf(out, "medium_error=%lld\n", (long long)f->medium_error_at);
	if (f->corrupt_write_at >= 0)
		fprintf(out, "corrupt_write=%lld\n", (long long)f->corrupt_write_at);
	if (f->tapealert > 0)
		fprintf(out, "tapealert=%d\n", f->tapealert);
	if (fclose(out))
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	return rc;
}
