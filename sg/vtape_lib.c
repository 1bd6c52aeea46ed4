/*
 * Virtual libraries: slots, drives and the changer moves between them, for
 * abs-vtape (vtape_*) and as the vtape backend of the changer API
 * (tsg_changer_* on vtape:LIBDIR).
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

#include "common/util.h"
#include "sg/smc.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"
#include "sg/vtape.h"

struct lib_conf {
	int slots, drives;
};

/* Read library.conf. */
static int
lib_read(const char *dir, struct lib_conf *lc)
{
	char path[PATH_MAX], line[256];
	FILE *fp;

	memset(lc, 0, sizeof(*lc));
	snprintf(path, sizeof(path), "%s/library.conf", dir);
	fp = fopen(path, "r");
	if (!fp)
		return errno == ENOENT ? -ENOTDIR : -errno;
	while (fgets(line, sizeof(line), fp)) {
		uint64_t v;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		eq[strcspn(eq, "\n")] = '\0';
		if (util_parse_u64(eq, 100000, &v) < 0)
			continue;
		if (strcmp(line, "slots") == 0)
			lc->slots = (int)v;
		else if (strcmp(line, "drives") == 0)
			lc->drives = (int)v;
	}
	fclose(fp);
	return lc->slots > 0 ? 0 : -EINVAL;
}

int
vtape_library_info(const char *libdir, int *slots, int *drives)
{
	struct lib_conf lc;
	int rc = lib_read(libdir, &lc);

	if (rc < 0)
		return rc;
	*slots = lc.slots;
	*drives = lc.drives;
	return 0;
}

int
vtape_library_create(const char *dir, int slots, int drives, uint64_t capacity,
    uint64_t early_warning, const char *prefix)
{
	char path[PATH_MAX], bc[64], target[PATH_MAX];
	FILE *fp;
	int rc;

	if (slots < 1 || slots > 9999 || drives < 1 || drives > 64 ||
	    strlen(prefix) > 16)
		return -EINVAL;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/library.conf", dir);
	if (access(path, F_OK) == 0)
		return -EEXIST;
	snprintf(path, sizeof(path), "%s/carts", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	for (int d = 0; d < drives; d++) {
		snprintf(path, sizeof(path), "%s/drive%d", dir, d);
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
	}
	for (int s = 1; s <= slots; s++) {
		snprintf(bc, sizeof(bc), "%s%05d", prefix, s);
		snprintf(path, sizeof(path), "%s/carts/%s", dir, bc);
		if ((rc = vtape_cart_create(path, bc, capacity, early_warning)) < 0)
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
	fprintf(fp, "slots=%d\ndrives=%d\ncapacity=%llu\nearly_warning=%llu\n"
	    "barcode_prefix=%s\n", slots, drives, (unsigned long long)capacity,
	    (unsigned long long)early_warning, prefix);
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
vtape_drive_cart(const char *libdir, int drive, char **cartdir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/drive%d/tape", libdir, drive);
	return resolve(path, cartdir);
}

/* Take a drive's lock so no engine uses it during a move. */
static int
drive_lock(const char *libdir, unsigned drive)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/drive%u/.lock", libdir, drive);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

/* Path of an element's link (slotN, driveK/tape); -ERANGE if no such one. */
static int
elem_path(const char *libdir, const struct lib_conf *lc,
    enum tsg_elem_type type, unsigned num, char *buf, size_t len)
{
	int n;

	if (type == TSG_ELEM_SLOT && num >= 1 && num <= (unsigned)lc->slots)
		n = snprintf(buf, len, "%s/slot%u", libdir, num);
	else if (type == TSG_ELEM_DRIVE && num < (unsigned)lc->drives)
		n = snprintf(buf, len, "%s/drive%u/tape", libdir, num);
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

/* Record (slot > 0) or forget (0) where drive's cartridge came from. */
static int
home_set(const char *libdir, unsigned drive, unsigned slot)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/drive%u/home", libdir, drive);
	if (!slot)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	fp = fopen(path, "w");
	if (!fp || fprintf(fp, "%u\n", slot) < 0 || fclose(fp)) {
		int e = -errno;
		return e ? e : -EIO;
	}
	return 0;
}

/*
 * Move a cartridge between two elements (slot or drive): -ERANGE no such
 * element, -ENOENT source empty, -EEXIST destination full, -EBUSY a drive
 * involved is in use. Moving the link is atomic: the cartridge is in one
 * place only.
 */
static int
lib_move(const char *libdir, enum tsg_elem_type ft, unsigned from,
    enum tsg_elem_type tt, unsigned to)
{
	struct lib_conf lc;
	char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX], rel[PATH_MAX + 4];
	int rc, lk_from = -1, lk_to = -1;
	unsigned home;
	ssize_t n;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if ((rc = elem_path(libdir, &lc, ft, from, src, sizeof(src))) < 0 ||
	    (rc = elem_path(libdir, &lc, tt, to, dst, sizeof(dst))) < 0)
		return rc;
	if ((n = readlink(src, target, sizeof(target) - 1)) < 0 || !is_cart(src))
		return -ENOENT;	/* no cartridge there (see is_cart) */
	target[n] = '\0';
	if (occupied(dst))
		return -EEXIST;
	if (ft == TSG_ELEM_DRIVE && (lk_from = drive_lock(libdir, from)) < 0)
		return lk_from;
	if (tt == TSG_ELEM_DRIVE && (lk_to = drive_lock(libdir, to)) < 0) {
		rc = lk_to;
		goto out;
	}
	home = ft == TSG_ELEM_SLOT ? from : home_of(libdir, from);
	if (tt == TSG_ELEM_DRIVE && (rc = home_set(libdir, to, home)) < 0)
		goto out;
	/* Links name carts/X from the top, ../carts/X from a drive's directory. */
	const char *cart = strncmp(target, "../", 3) == 0 ? target + 3 : target;
	snprintf(rel, sizeof(rel), "%s%s", tt == TSG_ELEM_DRIVE ? "../" : "",
	    cart);
	if (symlink(rel, dst) < 0 || unlink(src) < 0)
		rc = -errno;
	if (!rc && ft == TSG_ELEM_DRIVE)
		home_set(libdir, from, 0);
out:
	if (lk_from >= 0)
		close(lk_from);
	if (lk_to >= 0)
		close(lk_to);
	return rc;
}

int
vtape_load(const char *libdir, int slot, int drive)
{
	if (slot < 1 || drive < 0)
		return -ERANGE;
	return lib_move(libdir, TSG_ELEM_SLOT, (unsigned)slot, TSG_ELEM_DRIVE,
	    (unsigned)drive);
}

int
vtape_unload(const char *libdir, int drive)
{
	struct lib_conf lc;
	char path[PATH_MAX];
	unsigned slot;
	int rc;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (drive < 0 || elem_path(libdir, &lc, TSG_ELEM_DRIVE, (unsigned)drive,
	    path, sizeof(path)) < 0)
		return -ERANGE;
	if (!occupied(path))
		return -ENOENT;	/* drive empty */
	slot = home_of(libdir, (unsigned)drive);
	if (elem_path(libdir, &lc, TSG_ELEM_SLOT, slot, path, sizeof(path)) < 0 ||
	    occupied(path)) {
		/* Home slot taken or unknown: the first empty one. */
		for (slot = 1; slot <= (unsigned)lc.slots; slot++) {
			elem_path(libdir, &lc, TSG_ELEM_SLOT, slot, path, sizeof(path));
			if (!occupied(path))
				break;
		}
		if (slot > (unsigned)lc.slots)
			return -ENOSPC;
	}
	return lib_move(libdir, TSG_ELEM_DRIVE, (unsigned)drive, TSG_ELEM_SLOT,
	    slot);
}

/* ---- the changer API's vtape backend ---- */

/* Element addresses as a small SCSI library numbers them. */
#define VLIB_ADDR_ROBOT 1
#define VLIB_ADDR_DRIVE 256
#define VLIB_ADDR_SLOT 4096

/* Fill e for element (type, num) at link path (NULL: always empty). */
static void
vlib_element(struct tsg_element *e, enum tsg_elem_type type, unsigned num,
    const char *path)
{
	char target[PATH_MAX];
	ssize_t n = path ? readlink(path, target, sizeof(target) - 1) : -1;

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->num = num;
	e->addr = type == TSG_ELEM_SLOT ? VLIB_ADDR_SLOT + num - 1 :
	    type == TSG_ELEM_DRIVE ? VLIB_ADDR_DRIVE + num : VLIB_ADDR_ROBOT;
	if (n < 0 || !is_cart(path))
		return;	/* as lib_move sees it: nothing to move */
	target[n] = '\0';
	e->full = true;
	/* The cartridge's directory name is its barcode (carts/BARCODE). */
	const char *bc = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(bc) < sizeof(e->barcode))
		strcpy(e->barcode, bc);
}

static int
vlib_inventory(struct tsg_changer *c, struct tsg_element **elems, size_t *n,
    struct tsg_status *st)
{
	const char *libdir = c->priv;
	struct tsg_element *e;
	struct lib_conf lc;
	char path[PATH_MAX];
	size_t k = 0;
	int rc;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return tsg_transport_status(st, rc);
	e = calloc(1 + (size_t)lc.slots + (size_t)lc.drives, sizeof(*e));
	if (!e)
		return tsg_transport_status(st, -ENOMEM);
	vlib_element(&e[k++], TSG_ELEM_TRANSPORT, 0, NULL);
	for (unsigned s = 1; s <= (unsigned)lc.slots; s++) {
		elem_path(libdir, &lc, TSG_ELEM_SLOT, s, path, sizeof(path));
		vlib_element(&e[k++], TSG_ELEM_SLOT, s, path);
	}
	for (unsigned d = 0; d < (unsigned)lc.drives; d++) {
		elem_path(libdir, &lc, TSG_ELEM_DRIVE, d, path, sizeof(path));
		vlib_element(&e[k], TSG_ELEM_DRIVE, d, path);
		if (e[k].full)
			e[k].source = home_of(libdir, d);
		k++;
	}
	*elems = e;
	*n = k;
	return 0;
}

static int
vlib_move(struct tsg_changer *c, enum tsg_elem_type from_type, unsigned from,
    enum tsg_elem_type to_type, unsigned to, struct tsg_status *st)
{
	int rc = lib_move(c->priv, from_type, from, to_type, to);

	/* What a SCSI changer answers MOVE MEDIUM with in each case. */
	switch (rc) {
	case 0:
		return 0;
	case -ERANGE:
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
	case -ENOENT:
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY);
	case -EEXIST:
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL);
	case -EBUSY:
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_REMOVAL_PREVENTED, SMC_ASCQ_REMOVAL_PREVENTED);
	default:
		return tsg_transport_status(st, rc);
	}
}

static int
vlib_open(struct tsg_changer *c, const char *path)
{
	struct lib_conf lc;
	int rc;

	if (!*path)
		return -EINVAL;
	if ((rc = lib_read(path, &lc)) < 0)
		return rc;
	if (!(c->priv = strdup(path)))
		return -ENOMEM;
	return 0;
}

static void
vlib_close(struct tsg_changer *c)
{
	free(c->priv);
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

const struct tsg_changer_backend tsg_vtape_changer = {
	.scheme = "vtape",
	.open = vlib_open,
	.of_drive = vlib_of_drive,
	.close = vlib_close,
	.inventory = vlib_inventory,
	.move = vlib_move,
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
	struct lib_conf lc;
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
