/* Virtual libraries: slots, drives and the changer moves between them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
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
drive_lock(const char *libdir, int drive)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/drive%d/.lock", libdir, drive);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

int
vtape_load(const char *libdir, int slot, int drive)
{
	struct lib_conf lc;
	char from[PATH_MAX], to[PATH_MAX], home[PATH_MAX], target[PATH_MAX];
	int rc, lk;
	ssize_t n;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (slot < 1 || slot > lc.slots || drive < 0 || drive >= lc.drives)
		return -ERANGE;
	snprintf(from, sizeof(from), "%s/slot%d", libdir, slot);
	snprintf(to, sizeof(to), "%s/drive%d/tape", libdir, drive);
	snprintf(home, sizeof(home), "%s/drive%d/home", libdir, drive);
	n = readlink(from, target, sizeof(target) - 1);
	if (n < 0)
		return -ENOENT;	/* empty slot */
	if (access(to, F_OK) == 0 || readlink(to, target, 1) >= 0)
		return -EEXIST;	/* drive full */
	if ((lk = drive_lock(libdir, drive)) < 0)
		return lk;
	rc = 0;
	FILE *fp = fopen(home, "w");
	if (!fp || fprintf(fp, "%d\n", slot) < 0 || fclose(fp))
		rc = -errno;
	/* Moving the link is atomic: the cartridge is in one place only. */
	if (!rc) {
		target[n] = '\0';
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "../%s", target);
		if (symlink(rel, to) < 0 || unlink(from) < 0)
			rc = -errno;
	}
	close(lk);
	return rc;
}

int
vtape_unload(const char *libdir, int drive)
{
	struct lib_conf lc;
	char from[PATH_MAX], to[PATH_MAX], home[PATH_MAX], target[PATH_MAX];
	char line[32];
	int rc, lk, slot = 0;
	ssize_t n;
	FILE *fp;

	if ((rc = lib_read(libdir, &lc)) < 0)
		return rc;
	if (drive < 0 || drive >= lc.drives)
		return -ERANGE;
	snprintf(from, sizeof(from), "%s/drive%d/tape", libdir, drive);
	snprintf(home, sizeof(home), "%s/drive%d/home", libdir, drive);
	n = readlink(from, target, sizeof(target) - 1);
	if (n < 0)
		return -ENOENT;	/* drive empty */
	target[n] = '\0';
	fp = fopen(home, "r");
	if (fp) {
		if (fgets(line, sizeof(line), fp))
			slot = atoi(line);
		fclose(fp);
	}
	snprintf(to, sizeof(to), "%s/slot%d", libdir, slot);
	if (slot < 1 || slot > lc.slots || readlink(to, line, 1) >= 0) {
		/* Home slot taken or unknown: the first empty one. */
		for (slot = 1; slot <= lc.slots; slot++) {
			snprintf(to, sizeof(to), "%s/slot%d", libdir, slot);
			if (readlink(to, line, 1) < 0)
				break;
		}
		if (slot > lc.slots)
			return -ENOSPC;
	}
	if ((lk = drive_lock(libdir, drive)) < 0)
		return lk;
	rc = 0;
	/* target is ../carts/X as seen from the drive directory. */
	const char *rel = strncmp(target, "../", 3) == 0 ? target + 3 : target;
	if (symlink(rel, to) < 0 || unlink(from) < 0)
		rc = -errno;
	unlink(home);
	close(lk);
	return rc;
}

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
			if (strncmp(line, "barcode=", 8) == 0)
				snprintf(bc, sizeof(bc), "%s", line + 8);
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
		if (vtape_slot_cart(libdir, s, &cart) == 0) {
			cart_summary(cart, line, sizeof(line));
			fprintf(out, "slot%-4d %s\n", s, line);
			free(cart);
		} else {
			fprintf(out, "slot%-4d (empty)\n", s);
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
