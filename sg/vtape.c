/*
 * The vtape: transport, a user-space SSC target over a cartridge directory.
 * It answers CDBs with data and sense the way a drive does: early warning,
 * programmable early warning, VOLUME OVERFLOW at physical end, filemarks,
 * BLANK CHECK at end of data, READ POSITION, LOCATE, SPACE, write protect,
 * injected medium errors, load/unload and TapeAlert.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/hide.h"
#include "common/util.h"
#include "sg/ssc.h"
#include "sg/tsg_int.h"
#include "sg/vtape.h"

#define VT_FM_RECORD 0xffffffffu
#define VT_HAS_CRC 0x80000000u	/* the record carries the host's CRC32C */

/* One index record per block (or filemark), little-endian on disk. */
struct vt_rec {
	uint32_t len;
	uint32_t crc;
};
#define VT_MAX_MERR 64

struct vt_conf {
	char barcode[64];
	uint64_t capacity;
	uint64_t ew;
	bool wp;
	uint64_t merr[VT_MAX_MERR];
	int nmerr;
	uint64_t corrupt[VT_MAX_MERR];
	int ncorrupt;
	uint64_t tapealert;
};

struct vt_file {
	uint64_t nblocks;
	uint64_t *off;		/* nblocks + 1 byte offsets */
	uint64_t cap;
	bool fm;
	bool lost;		/* damaged index: its one block reads as an error */
	bool dirty;		/* written since the last synchronous filemark */
	int dfd, ifd;
};

struct vtape {
	struct tsg_dev *dev;	/* for host notes (tsg_status.note) */
	char *cartdir;		/* NULL: no cartridge in the drive */
	struct vt_conf conf;
	struct vt_file *files;
	size_t nfiles, capfiles;
	size_t f;		/* position: file and block within it */
	uint64_t b;
	uint64_t used;
	bool loaded, ua;
	uint32_t fixed_len;
	uint32_t pew_mb;
	bool buffered;
	/* logical block protection (mode page 0Ah/F0h), CRC32C method */
	bool lbp_w, lbp_r;
	/* error counters for LOG SENSE 02h/03h, this session */
	uint64_t written, read, write_errors, read_errors;
	/* a library drive's serial number (INQUIRY page 80h), "" elsewhere */
	char serial[VTAPE_SERIAL_LEN + 8];
};

/* ---- cartridge configuration ---- */

/* Read cart.conf into c. */
static int
conf_read(const char *cartdir, struct vt_conf *c)
{
	char path[PATH_MAX], line[256];
	FILE *fp;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/cart.conf", cartdir);
	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		char *eq = strchr(line, '=');
		uint64_t v = 0;
		if (!eq)
			continue;
		*eq++ = '\0';
		eq[strcspn(eq, "\n")] = '\0';
		if (strcmp(line, "barcode") == 0)
			snprintf(c->barcode, sizeof(c->barcode), "%s", eq);
		else if (util_parse_u64(eq, UINT64_MAX, &v) < 0)
			continue;
		else if (strcmp(line, "capacity") == 0)
			c->capacity = v;
		else if (strcmp(line, "early_warning") == 0)
			c->ew = v;
		else if (strcmp(line, "write_protect") == 0)
			c->wp = v != 0;
		else if (strcmp(line, "medium_error") == 0 && c->nmerr < VT_MAX_MERR)
			c->merr[c->nmerr++] = v;
		else if (strcmp(line, "corrupt_write") == 0 &&
		    c->ncorrupt < VT_MAX_MERR)
			c->corrupt[c->ncorrupt++] = v;
		else if (strcmp(line, "tapealert") == 0 && v >= 1 && v <= 64)
			c->tapealert |= 1ULL << (v - 1);
	}
	fclose(fp);
	if (!c->capacity)
		return -EINVAL;
	return 0;
}

/* Write cart.conf atomically. */
static int
conf_write(const char *cartdir, const struct vt_conf *c)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *fp;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/cart.conf", cartdir);
	snprintf(tmp, sizeof(tmp), "%s/cart.conf.tmp", cartdir);
	fp = fopen(tmp, "w");
	if (!fp)
		return -errno;
	fprintf(fp, "barcode=%s\ncapacity=%llu\nearly_warning=%llu\n"
	    "write_protect=%d\n", c->barcode, (unsigned long long)c->capacity,
	    (unsigned long long)c->ew, c->wp ? 1 : 0);
	for (int i = 0; i < c->nmerr; i++)
		fprintf(fp, "medium_error=%llu\n", (unsigned long long)c->merr[i]);
	for (int i = 0; i < c->ncorrupt; i++)
		fprintf(fp, "corrupt_write=%llu\n", (unsigned long long)c->corrupt[i]);
	for (int i = 0; i < 64; i++)
		if (c->tapealert & (1ULL << i))
			fprintf(fp, "tapealert=%d\n", i + 1);
	if (fflush(fp) || fsync(fileno(fp)))
		rc = -errno;
	if (fclose(fp) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	return rc;
}

int
vtape_cart_create(const char *dir, const char *barcode, uint64_t capacity,
    uint64_t early_warning)
{
	struct vt_conf c;
	struct stat sb;

	if (!capacity || early_warning >= capacity || strlen(barcode) >= 64 ||
	    !*barcode)
		return -EINVAL;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cart.conf", dir);
	if (access(path, F_OK) == 0)
		return -EEXIST;
	memset(&c, 0, sizeof(c));
	snprintf(c.barcode, sizeof(c.barcode), "%s", barcode);
	c.capacity = capacity;
	c.ew = early_warning;
	return conf_write(dir, &c);
}

/* ---- tape files ---- */

/* Path of tape file n (data, or its index when idx). */
static void
file_path(const struct vtape *v, size_t n, bool idx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/file%06zu%s", v->cartdir, n, idx ? ".idx" : "");
}

/*
 * Say which host file failed and how (the note of the command's status):
 * the sense alone cannot tell a full host disk from a failing drive.
 */
static void
host_note(struct vtape *v, const char *what, const char *path, int err)
{
	const char *kind = err == ENOSPC ? "host disk full" : err == EDQUOT ?
	    "host disk quota exceeded" : err == EIO ? "host disk I/O error" :
	    "host file system error";

	char *note = v->dev->host_note;
	size_t cap = sizeof(v->dev->host_note);
	int n = snprintf(note, cap, "%s (%s) %s ", kind, strerror(err), what);
	size_t room, plen = strlen(path);

	if (n < 0 || (size_t)n >= cap - 8)
		return;
	room = cap - (size_t)n - 1;
	/* A long path keeps its end, where the cartridge and file are named. */
	if (plen > room)
		snprintf(note + n, cap - (size_t)n, "...%s", path + plen - room + 3);
	else
		memcpy(note + n, path, plen + 1);
}

/* Write all of len bytes at off: 0, or -errno (-ENOSPC if none is taken). */
static int
pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Make room for one more offset in file fl. */
static int
file_grow(struct vt_file *fl)
{
	if (fl->nblocks + 2 <= fl->cap)
		return 0;
	uint64_t ncap = fl->cap ? fl->cap * 2 : 1024;
	uint64_t *n = realloc(fl->off, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	fl->off = n;
	fl->cap = ncap;
	return 0;
}

/* Open the data and index files of tape file n, creating them if asked. */
static int
file_open_fds(struct vtape *v, size_t n, bool create)
{
	struct vt_file *fl = &v->files[n];
	char path[PATH_MAX];
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);

	if (fl->dfd >= 0)
		return 0;
	file_path(v, n, false, path, sizeof(path));
	fl->dfd = open(path, flags, 0644);
	if (fl->dfd < 0) {
		host_note(v, "opening", path, errno);
		return -errno;
	}
	file_path(v, n, true, path, sizeof(path));
	fl->ifd = open(path, flags, 0644);
	if (fl->ifd < 0) {
		int e = -errno;
		host_note(v, "opening", path, -e);
		close(fl->dfd);
		fl->dfd = -1;
		return e;
	}
	return 0;
}

/* Append an empty tape file entry. */
static int
files_push(struct vtape *v)
{
	if (v->nfiles == v->capfiles) {
		size_t ncap = v->capfiles ? v->capfiles * 2 : 16;
		struct vt_file *n = realloc(v->files, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->files = n;
		v->capfiles = ncap;
	}
	struct vt_file *fl = &v->files[v->nfiles];
	memset(fl, 0, sizeof(*fl));
	fl->dfd = fl->ifd = -1;
	if (file_grow(fl) < 0)
		return -ENOMEM;
	fl->off[0] = 0;
	v->nfiles++;
	return 0;
}

/* The cartridge's directory entries (files made or removed) on disk. */
static int
sync_cartdir(struct vtape *v)
{
	int fd = v->cartdir ? open(v->cartdir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC) : -1;
	int rc = 0;

	if (fd < 0)
		return v->cartdir ? -errno : 0;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * Drop every in-memory file entry. What an immediate filemark left in the
 * page cache is written out first: a drive writes its buffer to the
 * medium when the cartridge is unloaded or the device closed.
 */
static void
files_clear(struct vtape *v)
{
	bool any = false;

	for (size_t i = 0; i < v->nfiles; i++) {
		struct vt_file *fl = &v->files[i];
		if (fl->dirty && fl->dfd >= 0 && fl->ifd >= 0) {
			if (fsync(fl->dfd) || fsync(fl->ifd))
				host_note(v, "flushing", v->cartdir, errno);
			any = true;
		}
	}
	if (any && sync_cartdir(v) < 0)
		host_note(v, "flushing", v->cartdir, errno);
	for (size_t i = 0; i < v->nfiles; i++) {
		if (v->files[i].dfd >= 0)
			close(v->files[i].dfd);
		if (v->files[i].ifd >= 0)
			close(v->files[i].ifd);
		free(v->files[i].off);
	}
	free(v->files);
	v->files = NULL;
	v->nfiles = v->capfiles = 0;
	v->used = 0;
}

/* Whether the cartridge holds a tape file after file n. */
static bool
later_file(const struct vtape *v, size_t n)
{
	char path[PATH_MAX];

	file_path(v, n + 1, true, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* A file whose index is lost: one block that cannot be read, a filemark. */
static void
lost_file(struct vt_file *fl)
{
	fl->nblocks = 1;
	fl->off[0] = 0;
	fl->off[1] = 1;
	fl->fm = true;
	fl->lost = true;
}

/* Load the block index of every tape file of the cartridge. */
static int
cart_scan(struct vtape *v)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc;

	files_clear(v);
	for (size_t n = 0;; n++) {
		file_path(v, n, true, path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && later_file(v, n)) {
			/* A lost file with data after it: one unreadable block. */
			if ((rc = files_push(v)) < 0)
				return rc;
			lost_file(&v->files[n]);
			v->used += 1;
			continue;
		}
		if (fd < 0)
			break;
		if ((rc = files_push(v)) < 0) {
			close(fd);
			return rc;
		}
		struct vt_file *fl = &v->files[n];
		struct vt_rec rec[2048];
		ssize_t got;
		while ((got = util_read_full(fd, rec, sizeof(rec))) > 0) {
			for (ssize_t i = 0; i < got / (ssize_t)sizeof(rec[0]); i++) {
				if (fl->fm)
					break;	/* nothing may follow a filemark */
				if (rec[i].len == VT_FM_RECORD) {
					fl->fm = true;
					continue;
				}
				if ((rc = file_grow(fl)) < 0) {
					close(fd);
					return rc;
				}
				fl->off[fl->nblocks + 1] = fl->off[fl->nblocks] +
				    (rec[i].len & ~VT_HAS_CRC);
				fl->nblocks++;
			}
			if (got < (ssize_t)sizeof(rec))
				break;
		}
		close(fd);
		/*
		 * A data file shorter than its index lost its tail: keep what is
		 * whole. With files after it, the file was damaged, not cut by an
		 * interrupted write: its lost blocks stay, unreadable (MEDIUM
		 * ERROR), as a damaged tape's would, and what follows stays.
		 */
		file_path(v, n, false, path, sizeof(path));
		if (stat(path, &sb) < 0)
			sb.st_size = 0;
		bool damaged = later_file(v, n);
		while (!damaged && fl->nblocks &&
		    fl->off[fl->nblocks] > (uint64_t)sb.st_size) {
			fl->nblocks--;
			fl->fm = false;
		}
		if (damaged && !fl->fm)
			lost_file(fl);	/* its index is damaged too */
		v->used += fl->off[fl->nblocks];
		if (!fl->fm)
			break;	/* end of data is inside this file */
	}
	return 0;
}

/* Logical object number of the start of file n. */
static uint64_t
lon_of_file(const struct vtape *v, size_t n)
{
	uint64_t lon = 0;

	for (size_t i = 0; i < n && i < v->nfiles; i++)
		lon += v->files[i].nblocks + (v->files[i].fm ? 1 : 0);
	return lon;
}

/* True when the position is at end of data. */
static bool
at_eod(const struct vtape *v)
{
	if (v->f >= v->nfiles)
		return true;
	const struct vt_file *fl = &v->files[v->f];
	return v->f == v->nfiles - 1 && v->b >= fl->nblocks && !fl->fm;
}

/* Discard everything from the current position on (a write truncates). */
static int
truncate_here(struct vtape *v)
{
	char path[PATH_MAX];

	while (v->nfiles > v->f + 1) {
		size_t last = v->nfiles - 1;
		struct vt_file *fl = &v->files[last];
		v->used -= fl->off[fl->nblocks];
		if (fl->dfd >= 0)
			close(fl->dfd);
		if (fl->ifd >= 0)
			close(fl->ifd);
		free(fl->off);
		file_path(v, last, false, path, sizeof(path));
		unlink(path);
		file_path(v, last, true, path, sizeof(path));
		unlink(path);
		v->nfiles--;
	}
	if (v->f >= v->nfiles)
		return 0;
	struct vt_file *fl = &v->files[v->f];
	if (v->b == fl->nblocks && !fl->fm)
		return 0;
	int rc = file_open_fds(v, v->f, true);	/* a lost file is made anew */
	if (rc < 0)
		return rc;
	v->used -= fl->off[fl->nblocks] - fl->off[v->b];
	if (ftruncate(fl->dfd, (off_t)fl->off[v->b]) ||
	    ftruncate(fl->ifd, (off_t)(v->b * sizeof(struct vt_rec)))) {
		int e = errno;
		file_path(v, v->f, false, path, sizeof(path));
		host_note(v, "truncating", path, e);
		return -e;
	}
	fl->nblocks = v->b;
	fl->fm = false;
	fl->lost = false;
	return 0;
}

/* ---- sense ---- */

struct vt_result {
	int status;
	uint8_t *sense;
	int *sense_len;
	size_t *resid;
};

/* Fill fixed-format sense: key, ASC/ASCQ, flags and information. */
static void
set_sense(struct vt_result *r, uint8_t key, uint8_t asc, uint8_t ascq,
    uint8_t flags, bool valid, int64_t info)
{
	uint8_t *s = r->sense;

	memset(s, 0, 18);
	s[0] = 0x70 | (valid ? 0x80 : 0);
	s[2] = (uint8_t)(flags | key);
	uint32_t i32 = (uint32_t)(int32_t)info;
	s[3] = (uint8_t)(i32 >> 24);
	s[4] = (uint8_t)(i32 >> 16);
	s[5] = (uint8_t)(i32 >> 8);
	s[6] = (uint8_t)i32;
	s[7] = 10;
	s[12] = asc;
	s[13] = ascq;
	*r->sense_len = 18;
	r->status = SAM_CHECK_CONDITION;
}

#define FL_FM 0x80
#define FL_EOM 0x40
#define FL_ILI 0x20

/* Return n bytes of parameter data, cut to the initiator's allocation. */
static int
reply(struct vt_result *r, uint8_t *buf, size_t len, const uint8_t *out,
    size_t n)
{
	if (n > len)
		n = len;
	memcpy(buf, out, n);
	*r->resid = len - n;
	return 0;
}

/* ---- data commands ---- */

/* Is lon on the injected medium-error list? */
static bool
medium_error_at(const struct vtape *v, uint64_t lon)
{
	for (int i = 0; i < v->conf.nmerr; i++)
		if (v->conf.merr[i] == lon)
			return true;
	return false;
}

/* Early warning sense after a write or filemark, if in the zone. */
static void
check_ew(struct vtape *v, struct vt_result *r)
{
	uint64_t ew_at = v->conf.capacity - v->conf.ew;
	uint64_t pew = (uint64_t)v->pew_mb << 20;

	if (v->used > ew_at)
		set_sense(r, 0x00, 0x00, 0x02, FL_EOM, true, 0);
	else if (pew && v->used + pew > ew_at)
		set_sense(r, 0x00, 0x00, 0x07, 0, true, 0);
}

/*
 * A host file operation failed (rc, its note already made): HARDWARE
 * ERROR 44/00, nothing written, as a drive says of its own failure. Not
 * early warning: the engine fails the dump rather than trust a cartridge
 * whose host cannot take its data (see README, Virtual tapes).
 */
static int
host_failed(struct vtape *v, struct vt_result *r, int rc, int64_t info)
{
	if (rc == -ENOMEM || !v->dev->host_note[0])
		return rc;	/* not the host's disk: a transport error */
	set_sense(r, 0x04, 0x44, 0x00, 0, true, info);
	return 1;
}

/* Write one block of len bytes at the current position. */
static int
write_block(struct vtape *v, const uint8_t *buf, uint32_t len,
    struct vt_result *r, int64_t residue_if_fail, const uint32_t *host_crc)
{
	int rc;

	if (v->conf.wp) {
		set_sense(r, 0x07, 0x27, 0x00, 0, false, 0);
		return 1;
	}
	if ((rc = truncate_here(v)) < 0)
		return host_failed(v, r, rc, residue_if_fail);
	if (v->used + len > v->conf.capacity) {
		set_sense(r, 0x0d, 0x00, 0x02, FL_EOM, true, residue_if_fail);
		return 1;
	}
	if (medium_error_at(v, lon_of_file(v, v->f) + v->b)) {
		v->write_errors++;
		set_sense(r, 0x03, 0x0c, 0x00, 0, true, residue_if_fail);
		return 1;
	}
	if (v->f == v->nfiles && (rc = files_push(v)) < 0)
		return rc;
	if ((rc = file_open_fds(v, v->f, true)) < 0)
		return host_failed(v, r, rc, residue_if_fail);
	struct vt_file *fl = &v->files[v->f];
	if ((rc = file_grow(fl)) < 0)
		return rc;
	/* Injected silent corruption: the drive says GOOD, the data is not. */
	uint64_t lon = lon_of_file(v, v->f) + v->b;
	uint8_t *bad = NULL;
	for (int i = 0; i < v->conf.ncorrupt && len && !bad; i++)
		if (v->conf.corrupt[i] == lon && (bad = malloc(len)) != NULL) {
			memcpy(bad, buf, len);
			bad[len / 2] ^= 0xff;
		}
	char path[PATH_MAX];
	rc = pwrite_all(fl->dfd, bad ? bad : buf, len, (off_t)fl->off[fl->nblocks]);
	free(bad);
	if (rc < 0) {
		/* Host disk full or failing: not the tape's fault, not on tape. */
		if (ftruncate(fl->dfd, (off_t)fl->off[fl->nblocks]) < 0)
			(void)0;
		file_path(v, v->f, false, path, sizeof(path));
		host_note(v, "writing", path, -rc);
		return host_failed(v, r, rc, residue_if_fail);
	}
	struct vt_rec rec = { host_crc ? len | VT_HAS_CRC : len,
	    host_crc ? *host_crc : 0 };
	if ((rc = pwrite_all(fl->ifd, &rec, sizeof(rec),
	    (off_t)(fl->nblocks * sizeof(rec)))) < 0) {
		if (ftruncate(fl->ifd, (off_t)(fl->nblocks * sizeof(rec))) < 0)
			(void)0;	/* no half record: the block is not on tape */
		file_path(v, v->f, true, path, sizeof(path));
		host_note(v, "writing", path, -rc);
		return host_failed(v, r, rc, residue_if_fail);
	}
	fl->off[fl->nblocks + 1] = fl->off[fl->nblocks] + len;
	fl->nblocks++;
	fl->dirty = true;
	v->b = fl->nblocks;
	v->used += len;
	v->written += len;
	return 0;
}

/* WRITE(6), variable or fixed. */
static int
cmd_write(struct vtape *v, const uint8_t *cdb, const uint8_t *buf, size_t len,
    struct vt_result *r)
{
	bool fixed = cdb[1] & SSC_FIXED;
	uint32_t count = (uint32_t)cdb[2] << 16 | (uint32_t)cdb[3] << 8 | cdb[4];
	int rc;

	if (fixed != (v->fixed_len != 0)) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	if (count == 0)
		return 0;
	if (!fixed) {
		if (count > len) {
			set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
			return 0;
		}
		uint32_t crc, *pcrc = NULL;
		if (v->lbp_w) {
			/* The last 4 bytes are the block's CRC32C (big-endian). */
			if (count < 5) {
				set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
				return 0;
			}
			count -= 4;
			crc = (uint32_t)buf[count] << 24 | (uint32_t)buf[count + 1] << 16 |
			    (uint32_t)buf[count + 2] << 8 | buf[count + 3];
			if (crc32c(0, buf, count) != crc) {
				set_sense(r, 0x0b, 0x10, 0x01, 0, true, count + 4);
				return 0;
			}
			pcrc = &crc;
		}
		rc = write_block(v, buf, count, r, count, pcrc);
		if (rc)
			return rc < 0 ? rc : 0;
	} else {
		if ((uint64_t)count * v->fixed_len > len) {
			set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
			return 0;
		}
		for (uint32_t i = 0; i < count; i++) {
			rc = write_block(v, buf + (size_t)i * v->fixed_len,
			    v->fixed_len, r, count - i, NULL);
			if (rc)
				return rc < 0 ? rc : 0;
		}
	}
	check_ew(v, r);
	return 0;
}

/*
 * A synchronous filemark writes out the drive's buffer: every tape file
 * written since the last one (immediate filemarks leave theirs in the
 * page cache, as a drive's buffer), not only the current one. 0 or the
 * first error.
 */
static int
sync_dirty(struct vtape *v)
{
	bool any = false;

	for (size_t i = 0; i < v->nfiles; i++) {
		struct vt_file *fl = &v->files[i];
		if (!fl->dirty || fl->dfd < 0)
			continue;
		if (fsync(fl->dfd) || fsync(fl->ifd))
			return -errno;
		fl->dirty = false;
		any = true;
	}
	/* New tape files are names in the cartridge's directory too. */
	return any ? sync_cartdir(v) : 0;
}

/*
 * Fault injection for tests: while the file ABS_VTAPE_FLUSH_FAIL names
 * exists, a synchronous filemark (the drive writing out its buffer) fails
 * with MEDIUM ERROR 03/0C00, and nothing since the last one is on tape.
 */
static bool
flush_fails(void)
{
	const char *e = getenv("ABS_VTAPE_FLUSH_FAIL");

	return e && *e && access(e, F_OK) == 0;
}

/* WRITE FILEMARKS(6). */
static int
cmd_write_filemarks(struct vtape *v, const uint8_t *cdb, struct vt_result *r)
{
	uint32_t count = (uint32_t)cdb[2] << 16 | (uint32_t)cdb[3] << 8 | cdb[4];
	bool immed = cdb[1] & SSC_IMMED;
	int rc;

	if (v->conf.wp) {
		set_sense(r, 0x07, 0x27, 0x00, 0, false, 0);
		return 0;
	}
	if (!immed && flush_fails()) {
		set_sense(r, 0x03, 0x0c, 0x00, 0, count > 0, count);
		return 0;
	}
	if ((rc = truncate_here(v)) < 0)
		return host_failed(v, r, rc, count) > 0 ? 0 : rc;
	if (count == 0 && !immed) {
		/* A zero count flushes the buffer, as drives do. */
		if ((rc = sync_dirty(v)) < 0) {
			host_note(v, "flushing", v->cartdir, -rc);
			host_failed(v, r, rc, 0);
		}
		return 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (v->used >= v->conf.capacity) {
			set_sense(r, 0x0d, 0x00, 0x02, FL_EOM, true, count - i);
			return 0;
		}
		if (v->f == v->nfiles && (rc = files_push(v)) < 0)
			return rc;
		if ((rc = file_open_fds(v, v->f, true)) < 0)
			return host_failed(v, r, rc, count - i) > 0 ? 0 : rc;
		struct vt_file *fl = &v->files[v->f];
		struct vt_rec rec = { VT_FM_RECORD, 0 };
		char path[PATH_MAX];
		file_path(v, v->f, true, path, sizeof(path));
		if ((rc = pwrite_all(fl->ifd, &rec, sizeof(rec),
		    (off_t)(fl->nblocks * sizeof(rec)))) < 0) {
			if (ftruncate(fl->ifd, (off_t)(fl->nblocks * sizeof(rec))) < 0)
				(void)0;	/* no half record */
			host_note(v, "writing", path, -rc);
			host_failed(v, r, rc, count - i);
			return 0;
		}
		/* Flushed: what the host lost shows here (delayed allocation). */
		fl->dirty = true;
		if (!immed && sync_dirty(v) < 0) {
			int e = errno;
			if (ftruncate(fl->ifd, (off_t)(fl->nblocks * sizeof(rec))) < 0)
				(void)0;	/* the filemark is not on tape */
			host_note(v, "flushing", path, e);
			host_failed(v, r, -e, count - i);
			return 0;
		}
		fl->fm = true;
		v->f++;
		v->b = 0;
	}
	check_ew(v, r);
	return 0;
}

/* Read one block into buf (room len); sets sense per SSC. */
static int
read_block(struct vtape *v, uint8_t *buf, uint32_t len, bool sili,
    struct vt_result *r, uint32_t *got, int64_t resid_units, uint32_t *crc)
{
	*got = 0;
	if (at_eod(v)) {
		set_sense(r, 0x08, 0x00, 0x05, 0, true, resid_units);
		return 1;
	}
	struct vt_file *fl = &v->files[v->f];
	if (v->b >= fl->nblocks) {
		/* At a filemark: report it and move past it. */
		v->f++;
		v->b = 0;
		set_sense(r, 0x00, 0x00, 0x01, FL_FM, true, resid_units);
		return 1;
	}
	uint64_t lon = lon_of_file(v, v->f) + v->b;
	uint64_t blen = fl->off[v->b + 1] - fl->off[v->b];
	uint64_t boff = fl->off[v->b];
	uint64_t bi = v->b;
	v->b++;
	if (medium_error_at(v, lon) || fl->lost) {
		v->read_errors++;
		set_sense(r, 0x03, 0x11, 0x00, 0, true, resid_units);
		return 1;
	}
	int rc = file_open_fds(v, v->f, false);
	if (rc == -ENOENT) {
		set_sense(r, 0x03, 0x11, 0x00, 0, true, resid_units);
		return 1;	/* the file is lost: its block cannot be read */
	}
	if (rc < 0)
		return rc;
	uint32_t n = blen < len ? (uint32_t)blen : len;
	ssize_t rd = pread(fl->dfd, buf, n, (off_t)boff);
	if (rd != (ssize_t)n) {
		/* The host file lost data the index has: unreadable, as a medium. */
		char path[PATH_MAX];
		file_path(v, v->f, false, path, sizeof(path));
		host_note(v, rd < 0 ? "reading" : "reading (file too short)", path,
		    rd < 0 ? errno : EIO);
		set_sense(r, 0x03, 0x11, 0x00, 0, true, resid_units);
		return 1;
	}
	*got = n;
	v->read += n;
	if (crc) {
		/* The CRC written with the block, else one of what is read. */
		struct vt_rec rec = { 0, 0 };
		if (pread(fl->ifd, &rec, sizeof(rec), (off_t)(bi * sizeof(rec))) ==
		    sizeof(rec) && (rec.len & VT_HAS_CRC))
			*crc = rec.crc;
		else
			*crc = crc32c(0, buf, n);
	}
	if (blen != len && !(sili && blen < len)) {
		set_sense(r, 0x00, 0x00, 0x00, FL_ILI, true,
		    (int64_t)len - (int64_t)blen);
		return 1;
	}
	return 0;
}

/* READ(6), variable or fixed. */
static int
cmd_read(struct vtape *v, const uint8_t *cdb, uint8_t *buf, size_t len,
    struct vt_result *r)
{
	bool fixed = cdb[1] & SSC_FIXED, sili = cdb[1] & SSC_SILI;
	uint32_t count = (uint32_t)cdb[2] << 16 | (uint32_t)cdb[3] << 8 | cdb[4];
	uint32_t got;
	int rc;

	*r->resid = len;
	if (fixed != (v->fixed_len != 0) || (fixed && sili)) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	if (!fixed) {
		if (count > len) {
			set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
			return 0;
		}
		uint32_t crc;
		if (v->lbp_r && count < 5) {
			set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
			return 0;
		}
		rc = read_block(v, buf, v->lbp_r ? count - 4 : count, sili, r, &got,
		    count, v->lbp_r ? &crc : NULL);
		if (rc == 0 && v->lbp_r) {
			/* Protection information follows the data, big-endian. */
			buf[got] = (uint8_t)(crc >> 24);
			buf[got + 1] = (uint8_t)(crc >> 16);
			buf[got + 2] = (uint8_t)(crc >> 8);
			buf[got + 3] = (uint8_t)crc;
			got += 4;
		}
		*r->resid = len - got;
		return rc < 0 ? rc : 0;
	}
	if ((uint64_t)count * v->fixed_len > len) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		rc = read_block(v, buf + (size_t)i * v->fixed_len, v->fixed_len,
		    false, r, &got, count - i, NULL);
		*r->resid = len - (size_t)i * v->fixed_len - got;
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

/*
 * VERIFY(6) with VLBPM: read `count` blocks inside the drive and check each
 * against the CRC32C written with it. Nothing crosses the bus.
 */
static int
cmd_verify(struct vtape *v, const uint8_t *cdb, struct vt_result *r)
{
	uint32_t count = (uint32_t)cdb[2] << 16 | (uint32_t)cdb[3] << 8 | cdb[4];
	uint8_t *buf = NULL;
	int rc = 0;

	/* VTE, VBF, BYTCMP and FIXED are not offered. */
	if (cdb[1] & 0x2b) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t got, crc;
		if (!at_eod(v) && v->b < v->files[v->f].nblocks) {
			struct vt_file *fl = &v->files[v->f];
			uint64_t blen = fl->off[v->b + 1] - fl->off[v->b];
			uint8_t *nb = realloc(buf, blen ? blen : 1);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			rc = read_block(v, buf, (uint32_t)blen, true, r, &got,
			    count - i, &crc);
		} else {
			rc = read_block(v, NULL, 0, true, r, &got, count - i, NULL);
		}
		if (rc) {
			rc = rc < 0 ? rc : 0;
			break;
		}
		if ((cdb[1] & SSC_VLBPM) && crc32c(0, buf, got) != crc) {
			set_sense(r, 0x03, 0x10, 0x01, 0, true, count - i);
			break;
		}
	}
	free(buf);
	return rc;
}

/* SPACE(6): blocks, filemarks or end of data. */
static int
cmd_space(struct vtape *v, const uint8_t *cdb, struct vt_result *r)
{
	int code = cdb[1] & 0x0f;
	int32_t count = (int32_t)((uint32_t)cdb[2] << 24 | (uint32_t)cdb[3] << 16 |
	    (uint32_t)cdb[4] << 8) >> 8;

	if (code == TSG_SPACE_EOD) {
		if (v->nfiles == 0) {
			v->f = 0;
			v->b = 0;
		} else if (v->files[v->nfiles - 1].fm) {
			v->f = v->nfiles;
			v->b = 0;
		} else {
			v->f = v->nfiles - 1;
			v->b = v->files[v->f].nblocks;
		}
		return 0;
	}
	if (code != TSG_SPACE_BLOCKS && code != TSG_SPACE_FILEMARKS) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	for (int32_t done = 0; done < (count < 0 ? -count : count); done++) {
		int32_t left = (count < 0 ? -count : count) - done;
		if (count > 0) {
			if (at_eod(v)) {
				set_sense(r, 0x08, 0x00, 0x05, FL_EOM, true, left);
				return 0;
			}
			struct vt_file *fl = &v->files[v->f];
			if (code == TSG_SPACE_BLOCKS) {
				if (v->b >= fl->nblocks) {
					v->f++;
					v->b = 0;
					set_sense(r, 0x00, 0x00, 0x01, FL_FM, true, left);
					return 0;
				}
				v->b++;
			} else {
				/* Forward over the rest of this file and its filemark. */
				if (!fl->fm) {
					v->b = fl->nblocks;
					set_sense(r, 0x08, 0x00, 0x05, FL_EOM, true, left);
					return 0;
				}
				v->f++;
				v->b = 0;
			}
		} else {
			if (v->f == 0 && v->b == 0) {
				set_sense(r, 0x00, 0x00, 0x04, FL_EOM, true, left);
				return 0;
			}
			if (code == TSG_SPACE_BLOCKS) {
				if (v->b == 0) {
					v->f--;
					v->b = v->files[v->f].nblocks;
					set_sense(r, 0x00, 0x00, 0x01, FL_FM, true, left);
					return 0;
				}
				v->b--;
			} else {
				/* Back to the BOT side of the previous filemark. */
				if (v->f == 0) {
					v->b = 0;
					set_sense(r, 0x00, 0x00, 0x04, FL_EOM, true, left);
					return 0;
				}
				v->f--;
				v->b = v->files[v->f].nblocks;
			}
		}
	}
	return 0;
}

/* LOCATE(10)/(16) to a logical object number. */
static int
cmd_locate(struct vtape *v, uint64_t lon, struct vt_result *r)
{
	uint64_t base = 0;

	for (size_t i = 0; i < v->nfiles; i++) {
		const struct vt_file *fl = &v->files[i];
		uint64_t span = fl->nblocks + (fl->fm ? 1 : 0);
		if (lon < base + span || (!fl->fm && lon == base + span)) {
			v->f = i;
			v->b = lon - base;
			return 0;
		}
		base += span;
	}
	if (lon == base) {
		v->f = v->nfiles;
		v->b = 0;
		return 0;
	}
	/* Past end of data: stop there and say so. */
	cmd_space(v, (const uint8_t[SSC_SPACE6_CMDLEN]){ SSC_SPACE6_CMD,
	    TSG_SPACE_EOD }, r);
	set_sense(r, 0x08, 0x00, 0x05, 0, false, 0);
	return 0;
}

/* READ POSITION, short (00h) or long (06h) form. */
static int
cmd_read_position(struct vtape *v, const uint8_t *cdb, uint8_t *buf,
    size_t len, struct vt_result *r)
{
	int sa = cdb[1] & 0x1f;
	uint64_t lon = lon_of_file(v, v->f) + v->b;
	uint8_t out[32];
	size_t n;
	uint64_t ew_at = v->conf.capacity - v->conf.ew;

	memset(out, 0, sizeof(out));
	if (v->f == 0 && v->b == 0)
		out[0] |= 0x80;
	if (v->used > ew_at && at_eod(v))
		out[0] |= 0x40;
	if (v->pew_mb && v->used + ((uint64_t)v->pew_mb << 20) > ew_at &&
	    at_eod(v))
		out[0] |= 0x01;	/* BPEW */
	if (sa == SSC_RP_SHORT || sa == SSC_RP_SHORT_VENDOR) {
		for (int i = 0; i < 4; i++) {
			out[4 + i] = (uint8_t)(lon >> (24 - 8 * i));
			out[8 + i] = (uint8_t)(lon >> (24 - 8 * i));
		}
		n = 20;
	} else if (sa == SSC_RP_LONG) {
		for (int i = 0; i < 8; i++) {
			out[8 + i] = (uint8_t)(lon >> (56 - 8 * i));
			out[16 + i] = (uint8_t)((uint64_t)v->f >> (56 - 8 * i));
		}
		n = 32;
	} else {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	return reply(r, buf, len, out, n);
}

/* MODE SENSE(6): header, block descriptor, pages 10h and 10h/01h. */
static int
cmd_mode_sense(struct vtape *v, const uint8_t *cdb, uint8_t *buf, size_t len,
    struct vt_result *r)
{
	bool dbd = cdb[1] & SPC_MODE_SENSE_DBD;
	int page = cdb[2] & 0x3f, sub = cdb[3];
	uint8_t out[128];
	size_t n = 4;

	memset(out, 0, sizeof(out));
	out[2] = (uint8_t)((v->conf.wp ? 0x80 : 0) | (v->buffered ? 0x10 : 0));
	if (!dbd) {
		out[3] = 8;
		out[n + 5] = (uint8_t)(v->fixed_len >> 16);
		out[n + 6] = (uint8_t)(v->fixed_len >> 8);
		out[n + 7] = (uint8_t)v->fixed_len;
		n += 8;
	}
	if ((page == SSC_MP_DEV_CONFIG && sub == 0) || page == SPC_MP_ALL) {
		out[n] = SSC_MP_DEV_CONFIG;
		out[n + 1] = 14;
		n += 16;
	}
	if ((page == SSC_MP_DEV_CONFIG && sub == SSC_MP_DEV_CONFIG_EXT_SUB) ||
	    (page == SPC_MP_ALL && sub == SPC_MP_ALL_SUB)) {
		out[n] = SPC_MODE_SPF | SSC_MP_DEV_CONFIG;
		out[n + 1] = SSC_MP_DEV_CONFIG_EXT_SUB;
		out[n + 3] = 28;
		out[n + 6] = (uint8_t)(v->pew_mb >> 8);
		out[n + 7] = (uint8_t)v->pew_mb;
		n += 32;
	}
	if ((page == SSC_MP_CONTROL_DP && sub == SSC_MP_CONTROL_DP_SUB) ||
	    (page == SPC_MP_ALL && sub == SPC_MP_ALL_SUB)) {
		out[n] = SPC_MODE_SPF | SSC_MP_CONTROL_DP;
		out[n + 1] = SSC_MP_CONTROL_DP_SUB;
		out[n + 3] = 28;
		out[n + 4] = (v->lbp_w || v->lbp_r) ? SSC_LBP_CRC32C : 0x00;
		out[n + 5] = 4;
		out[n + 6] = (uint8_t)((v->lbp_w ? 0x80 : 0) | (v->lbp_r ? 0x40 : 0));
		n += 32;
	}
	if (n == 4 + (dbd ? 0 : 8) && page != 0) {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	out[0] = (uint8_t)(n - 1);
	return reply(r, buf, len, out, n);
}

/* MODE SELECT(6): block length, buffered mode, programmable early warning. */
static int
cmd_mode_select(struct vtape *v, const uint8_t *buf, size_t len,
    struct vt_result *r)
{
	size_t off = 4;

	if (len < 4) {
		set_sense(r, 0x05, 0x1a, 0x00, 0, false, 0);
		return 0;
	}
	v->buffered = (buf[2] & 0x70) != 0;
	if (buf[3] >= 8 && len >= 12) {
		uint32_t bl = (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
		if (bl > TSG_MAX_BLOCK) {
			set_sense(r, 0x05, 0x26, 0x00, 0, false, 0);
			return 0;
		}
		v->fixed_len = bl;
	}
	off += buf[3];
	while (off + 2 <= len) {
		const uint8_t *pg = buf + off;
		if ((pg[0] & SPC_MODE_SPF) && off + 4 <= len) {
			size_t plen = (size_t)pg[2] << 8 | pg[3];
			if ((pg[0] & 0x3f) == SSC_MP_DEV_CONFIG &&
			    pg[1] == SSC_MP_DEV_CONFIG_EXT_SUB && off + 8 <= len)
				v->pew_mb = (uint32_t)pg[6] << 8 | pg[7];
			if ((pg[0] & 0x3f) == SSC_MP_CONTROL_DP &&
			    pg[1] == SSC_MP_CONTROL_DP_SUB && off + 7 <= len) {
				/* Only CRC32C protection, 4 bytes. */
				if (pg[4] != 0 && (pg[4] != SSC_LBP_CRC32C ||
				    pg[5] != 4)) {
					set_sense(r, 0x05, 0x26, 0x00, 0, false, 0);
					return 0;
				}
				v->lbp_w = pg[4] && (pg[6] & 0x80);
				v->lbp_r = pg[4] && (pg[6] & 0x40);
			}
			off += 4 + plen;
		} else {
			off += 2 + pg[1];
		}
	}
	return 0;
}

/* LOG SENSE: supported pages (00h) and TapeAlert (2Eh). */
static int
cmd_log_sense(struct vtape *v, const uint8_t *cdb, uint8_t *buf, size_t len,
    struct vt_result *r)
{
	int page = cdb[2] & 0x3f;
	uint8_t out[4 + 64 * 5];
	size_t n;

	memset(out, 0, sizeof(out));
	out[0] = (uint8_t)page;
	if (page == SPC_LP_SUPPORTED) {
		out[3] = 4;
		out[4] = SPC_LP_SUPPORTED;
		out[5] = SPC_LP_WRITE_ERRORS;
		out[6] = SPC_LP_READ_ERRORS;
		out[7] = SSC_LP_TAPEALERT;
		n = 8;
	} else if (page == SPC_LP_WRITE_ERRORS || page == SPC_LP_READ_ERRORS) {
		/* Total bytes processed, total uncorrected errors. */
		bool w = page == SPC_LP_WRITE_ERRORS;
		uint64_t vals[2] = { w ? v->written : v->read,
		    w ? v->write_errors : v->read_errors };
		for (int i = 0; i < 2; i++) {
			uint8_t *p = out + 4 + i * 12;
			p[1] = (uint8_t)(i ? SPC_LP_UNCORRECTED : SPC_LP_BYTES);
			p[2] = 0x02;
			p[3] = 8;
			for (int k = 0; k < 8; k++)
				p[4 + k] = (uint8_t)(vals[i] >> (56 - 8 * k));
		}
		out[3] = 24;
		n = 28;
	} else if (page == SSC_LP_TAPEALERT) {
		for (int i = 0; i < 64; i++) {
			uint8_t *p = out + 4 + i * 5;
			p[1] = (uint8_t)(i + 1);
			p[2] = 0x03;
			p[3] = 1;
			p[4] = (v->conf.tapealert >> i) & 1;
		}
		out[2] = (64 * 5) >> 8;
		out[3] = (64 * 5) & 0xff;
		n = sizeof(out);
		/* TapeAlert flags clear once read, as on a drive. */
		v->conf.tapealert = 0;
	} else {
		set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
		return 0;
	}
	return reply(r, buf, len, out, n);
}

/* INQUIRY: a removable sequential-access device. */
static int
cmd_inquiry(struct vtape *v, const uint8_t *cdb, uint8_t *buf, size_t len,
    struct vt_result *r)
{
	uint8_t out[96];
	size_t n;

	memset(out, 0, sizeof(out));
	if (cdb[1] & SPC_INQUIRY_EVPD) {
		if (cdb[2] != SPC_VPD_UNIT_SERIAL) {
			set_sense(r, 0x05, 0x24, 0x00, 0, false, 0);
			return 0;
		}
		out[0] = 0x01;
		out[1] = SPC_VPD_UNIT_SERIAL;
		/* A library's drive has its own; a bare cartridge is its drive. */
		n = (size_t)snprintf((char *)out + 4, sizeof(out) - 4, "%s",
		    v->serial[0] ? v->serial : v->conf.barcode[0] ?
		    v->conf.barcode : "VTAPE0");
		out[3] = (uint8_t)n;
		n += 4;
	} else {
		out[0] = 0x01;
		out[1] = 0x80;
		out[2] = 0x06;
		out[3] = 0x02;
		out[4] = 91;
		memcpy(out + 8, "ABS     ", 8);
		memcpy(out + 16, "VTAPE           ", 16);
		memcpy(out + 32, "0001", 4);
		n = 96;
	}
	return reply(r, buf, len, out, n);
}

/* ---- transport glue ---- */

/* A cartridge for cmd: sources to be kept from: a library's all of them. */
static void
hide_cartridges(const char *cartdir)
{
	char up[PATH_MAX];
	const char *slash = strrchr(cartdir, '/');

	hide_add(cartdir);
	if (!slash || slash == cartdir || (size_t)(slash - cartdir) >= sizeof(up))
		return;
	snprintf(up, sizeof(up), "%.*s", (int)(slash - cartdir), cartdir);
	slash = strrchr(up, '/');
	if (slash && strcmp(slash + 1, "carts") == 0)
		hide_add(up);
}

/*
 * Take the locks of a vtape device: a drive's directory (so no move swaps
 * its cartridge while open) and the cartridge itself, by its real path, so
 * that one cartridge has one user whatever path reaches it: a drive, a
 * slot link, carts/BARCODE.
 */
static int
vt_lock(struct tsg_dev *d, struct vtape *v, const char *path, bool is_drive)
{
	char lk[PATH_MAX + 8], what[PATH_MAX + 16];
	int rc;

	if (is_drive) {
		snprintf(lk, sizeof(lk), "%s/.lock", path);
		snprintf(what, sizeof(what), "drive %s", path);
		if ((rc = tsg_lock_path(d, lk, what)) < 0)
			return rc;
		/* Resolved under the drive's lock: no move changes it now. */
		snprintf(lk, sizeof(lk), "%s/tape", path);
		v->cartdir = realpath(lk, NULL);	/* NULL: empty drive */
	} else {
		v->cartdir = realpath(path, NULL);
		if (!v->cartdir)
			return -errno;
	}
	if (is_drive)
		hide_add(path);
	if (!v->cartdir)
		return 0;
	hide_cartridges(v->cartdir);
	snprintf(lk, sizeof(lk), "%s/.lock", v->cartdir);
	snprintf(what, sizeof(what), "cartridge %s", v->cartdir);
	return tsg_lock_path(d, lk, what);
}

static int
vt_open(struct tsg_dev *d, const char *path)
{
	struct vtape *v = calloc(1, sizeof(*v));
	char conf[PATH_MAX];
	bool is_drive;
	int rc;

	if (!v)
		return -ENOMEM;
	v->dev = d;
	v->buffered = true;
	if (!*path) {
		free(v);
		return -EINVAL;
	}
	/*
	 * A library itself is its robot: the SMC target (sg/vtape_smc.c), for
	 * a changer's open; as a tape drive it is none.
	 */
	snprintf(conf, sizeof(conf), "%s/library.conf", path);
	if (access(conf, F_OK) == 0) {
		free(v);
		if (!d->changer) {
			snprintf(d->why, sizeof(d->why), "%s is a vtape library, not a "
			    "drive: its drives are vtape:%s/driveK, its robot the "
			    "changer vtape:%s (abs-engine changer --device vtape:%s)",
			    path, path, path, path);
			return -EISDIR;
		}
		d->tr = &tsg_vtape_smc_transport;
		return d->tr->open(d, path);
	}
	snprintf(conf, sizeof(conf), "%s/cart.conf", path);
	is_drive = access(conf, F_OK) != 0;
	if (is_drive) {
		struct stat sb;
		if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			free(v);
			return -ENOENT;
		}
		vtape_lib_check_drive(path);
		if (vtape_drive_serial_of(path, v->serial, sizeof(v->serial)) < 0)
			v->serial[0] = '\0';
	}
	if ((rc = vt_lock(d, v, path, is_drive)) < 0)
		goto fail;
	if (v->cartdir) {
		if ((rc = conf_read(v->cartdir, &v->conf)) < 0 ||
		    (rc = cart_scan(v)) < 0)
			goto fail;
		v->loaded = true;
	}
	d->priv = v;
	return 0;
fail:
	files_clear(v);
	free(v->cartdir);
	free(v);
	return rc;
}

static void
vt_close(struct tsg_dev *d)
{
	struct vtape *v = d->priv;

	if (!v)
		return;
	files_clear(v);
	free(v->cartdir);
	free(v);
}

static int
vt_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct vtape *v = d->priv;
	struct vt_result r = { SAM_GOOD, sense, sense_len, resid };
	int rc = 0;

	(void)dir;
	*resid = 0;
	*sense_len = 0;
	static uint8_t no_data[1];

	if (cdblen < SSC_WRITE6_CMDLEN || (!buf && len))	/* shortest CDB */
		return -EINVAL;
	if (!buf)
		buf = no_data;	/* len is 0: copies and clears move nothing */
	if (cdb[0] == SPC_INQUIRY_CMD) {
		rc = cmd_inquiry(v, cdb, buf, len, &r);
		goto out;
	}
	if (cdb[0] == SPC_REQUEST_SENSE_CMD) {	/* nothing deferred */
		memset(buf, 0, len);
		goto out;
	}
	if (!v->cartdir) {
		set_sense(&r, 0x02, 0x3a, 0x00, 0, false, 0);
		goto out;
	}
	if (cdb[0] == SSC_LOAD_UNLOAD_CMD) {
		bool load = cdb[4] & SSC_LOAD;
		v->f = 0;
		v->b = 0;
		if (load && !v->loaded)
			v->ua = true;
		v->loaded = load;
		goto out;
	}
	if (!v->loaded) {
		set_sense(&r, 0x02, 0x3a, 0x00, 0, false, 0);
		goto out;
	}
	if (v->ua) {
		v->ua = false;
		set_sense(&r, 0x06, 0x28, 0x00, 0, false, 0);
		goto out;
	}
	switch (cdb[0]) {
	case SPC_TEST_UNIT_READY_CMD:
		break;
	case SSC_REWIND_CMD:
		v->f = 0;
		v->b = 0;
		break;
	case SSC_READ_BLOCK_LIMITS_CMD: {
		uint8_t out[6] = { 0, (TSG_MAX_BLOCK * 2 - 1) >> 16,
		    (uint8_t)((TSG_MAX_BLOCK * 2 - 1) >> 8), 0xff, 0, 1 };
		reply(&r, buf, len, out, sizeof(out));
		break;
	}
	case SSC_READ6_CMD:
		rc = cmd_read(v, cdb, buf, len, &r);
		break;
	case SSC_WRITE6_CMD:
		rc = cmd_write(v, cdb, buf, len, &r);
		break;
	case SSC_WRITE_FILEMARKS6_CMD:
		rc = cmd_write_filemarks(v, cdb, &r);
		break;
	case SSC_SPACE6_CMD:
		rc = cmd_space(v, cdb, &r);
		break;
	case SSC_VERIFY6_CMD:
		rc = cmd_verify(v, cdb, &r);
		break;
	case SPC_MODE_SELECT6_CMD:
		rc = cmd_mode_select(v, buf, len, &r);
		break;
	case SSC_ERASE6_CMD:	/* everything from here on */
		if (v->conf.wp)
			set_sense(&r, 0x07, 0x27, 0x00, 0, false, 0);
		else if ((rc = truncate_here(v)) < 0 && host_failed(v, &r, rc, 0) > 0)
			rc = 0;
		break;
	case SPC_MODE_SENSE6_CMD:
		rc = cmd_mode_sense(v, cdb, buf, len, &r);
		break;
	case SPC_PREVENT_ALLOW_CMD:
		break;
	case SSC_LOCATE10_CMD:
		if (cdblen < SSC_LOCATE10_CMDLEN) {
			set_sense(&r, 0x05, 0x24, 0x00, 0, false, 0);
			break;
		}
		rc = cmd_locate(v, (uint64_t)cdb[3] << 24 | (uint64_t)cdb[4] << 16 |
		    (uint64_t)cdb[5] << 8 | cdb[6], &r);
		break;
	case SSC_LOCATE16_CMD: {
		uint64_t lon = 0;
		if (cdblen < SSC_LOCATE16_CMDLEN) {
			set_sense(&r, 0x05, 0x24, 0x00, 0, false, 0);
			break;
		}
		for (int i = 0; i < 8; i++)
			lon = lon << 8 | cdb[4 + i];
		rc = cmd_locate(v, lon, &r);
		break;
	}
	case SSC_READ_POSITION_CMD:
		if (cdblen < SSC_READ_POSITION_CMDLEN) {
			set_sense(&r, 0x05, 0x24, 0x00, 0, false, 0);
			break;
		}
		rc = cmd_read_position(v, cdb, buf, len, &r);
		break;
	case SPC_LOG_SENSE_CMD:
		rc = cmd_log_sense(v, cdb, buf, len, &r);
		break;
	case SPC_READ_ATTRIBUTE_CMD: {
		/* READ ATTRIBUTE: medium serial number and barcode from MAM. */
		uint16_t id = (uint16_t)(cdb[8] << 8 | cdb[9]);
		uint8_t out[4 + 5 + 32];
		size_t bl = strlen(v->conf.barcode);
		if (cdblen < SPC_READ_ATTRIBUTE_CMDLEN || (cdb[1] & 0x1f) != 0 ||
		    (id != SPC_MAM_MEDIUM_SERIAL && id != SPC_MAM_BARCODE) ||
		    bl > 32) {
			set_sense(&r, 0x05, 0x24, 0x00, 0, false, 0);
			break;
		}
		memset(out, ' ', sizeof(out));
		size_t alen = 32;
		uint32_t total = (uint32_t)(5 + alen);
		out[0] = (uint8_t)(total >> 24);
		out[1] = (uint8_t)(total >> 16);
		out[2] = (uint8_t)(total >> 8);
		out[3] = (uint8_t)total;
		out[4] = (uint8_t)(id >> 8);
		out[5] = (uint8_t)id;
		out[6] = 0x81;	/* read only, ASCII */
		out[7] = 0;
		out[8] = (uint8_t)alen;
		memcpy(out + 9, v->conf.barcode, bl);
		reply(&r, buf, len, out, 9 + alen);
		break;
	}
	default:
		set_sense(&r, 0x05, 0x20, 0x00, 0, false, 0);
		break;
	}
out:
	if (rc < 0)
		return rc;
	*scsi_status = r.status;
	return 0;
}

const struct tsg_transport tsg_vtape_transport = {
	.scheme = "vtape",
	.open = vt_open,
	.close = vt_close,
	.exec = vt_exec,
	/* One read at a time by default: a thread reading ahead (--queue N)
	   measured slower here (docs/BENCHMARKS.md, Restores that stream):
	   the checks are cheap next to the page-cache copy. */
};
