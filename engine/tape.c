/* Tape handling shared by label, dump, list, restore and verify. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/esc.h"
#include "engine/engine.h"
#include "engine/tape.h"
#include "sg/ssc.h"

void
eng_err(char *err, const char *fmt, ...)
{
	va_list ap;

	char raw[ENG_ERRLEN];

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Error texts go to terminals, logs and the catalog: outside text in
	   them (a file's name, a tape's field) with its controls escaped. */
	esc_text(raw, err, ENG_ERRLEN, 0);
}

void
eng_err_st(char *err, const char *what, const struct tsg_status *st)
{
	char s[200];

	eng_err(err, "%s: %s", what, tsg_status_str(st, s, sizeof(s)));
}

double
eng_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
eng_uri_absolute(const char *uri, char *out, size_t len)
{
	static const char *const local[] = { "vtape:", "sg:", "st:" };
	char cwd[PATH_MAX];
	const char *path = NULL;
	int n;

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (strncmp(uri, local[i], strlen(local[i])) == 0)
			path = uri + strlen(local[i]);
	if (!path || path[0] == '/' || !path[0]) {
		n = snprintf(out, len, "%s", uri);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(out, len, "%.*s%s/%s", (int)(path - uri), uri,
		    strcmp(cwd, "/") == 0 ? "" : cwd, path);
	}
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int
eng_open(const char *uri, struct tsg_dev **dev, char *err)
{
	struct tsg_status st;
	int rc;

	char why[TSG_WHY_LEN];

	rc = tsg_open_why(uri, dev, why);
	if (rc == -EBUSY) {
		eng_err(err, "%s: device busy: %s", uri, why[0] ? why :
		    "another engine has it open");
		return rc;
	}
	if (rc < 0) {
		eng_err(err, "%s: cannot open: %s", uri,
		    rc == -EPROTONOSUPPORT ? "unknown URI scheme (vtape:, iscsi://, null:)" :
		    strerror(-rc));
		return rc;
	}
	rc = tsg_test_unit_ready(*dev, &st);
	if (rc) {
		bool none = st.cat == TSG_CAT_NOT_READY &&
		    st.asc == SPC_ASC_MEDIUM_NOT_PRESENT;
		if (none)
			eng_err(err, "%s: no cartridge in the drive", uri);
		else
			eng_err_st(err, uri, &st);
		tsg_free(*dev);
		*dev = NULL;
		return rc < 0 ? rc : none ? -ENOMEDIUM : -EIO;
	}
	/* Variable blocks, buffered mode; a drive that refuses keeps its own. */
	tsg_set_variable(*dev, &st);
	return 0;
}

/*
 * The first block of the tape: 0 an ABS label in l; -ENODATA end of data
 * (blank); -EBADMSG an ABS label that cannot be used (damaged, cut short,
 * unreadable); -ENOMSG something that is not an ABS label; another negative
 * errno when the drive failed (err set). why says what was seen.
 */
static int
label_block(struct tsg_dev *dev, uint8_t *buf, struct fmt_label *l,
    char *why, size_t wlen, char *err)
{
	struct tsg_status st;
	size_t got;
	int rc;

	if (tsg_rewind(dev, &st)) {
		eng_err_st(err, "rewind", &st);
		return -EIO;
	}
	rc = tsg_read(dev, buf, FMT_LABEL_SIZE, &st);
	if (rc == TSG_CHECK && tsg_is_eod(&st))
		return -ENODATA;
	if (rc == TSG_CHECK && st.filemark) {
		snprintf(why, wlen, "the tape starts with a filemark");
		return -ENOMSG;
	}
	if (rc == TSG_CHECK && st.cat == TSG_CAT_MEDIUM_ERROR) {
		snprintf(why, wlen, "label unreadable (medium error)");
		return -EBADMSG;
	}
	if (rc == TSG_CHECK && st.cat == TSG_CAT_NO_SENSE && st.ili) {
		/* A block of another length: an ABS label is 4096 bytes. */
		got = st.info > 0 && st.info < FMT_LABEL_SIZE ?
		    (size_t)(FMT_LABEL_SIZE - st.info) : FMT_LABEL_SIZE;
		if (st.info > 0 && fmt_kind_of(buf, got) == FMT_LABEL) {
			snprintf(why, wlen, "label unreadable (truncated: %zu bytes)",
			    got);
			return -EBADMSG;
		}
		if (fmt_kind_of(buf, got) == FMT_LABEL) {
			snprintf(why, wlen, "label unreadable (a block of %lld bytes, "
			    "not %d)", (long long)(FMT_LABEL_SIZE - st.info),
			    FMT_LABEL_SIZE);
			return -EBADMSG;
		}
		snprintf(why, wlen, "the first block is not an ABS label");
		return -ENOMSG;
	}
	if (rc) {
		eng_err_st(err, "reading the label", &st);
		return rc < 0 ? rc : -EIO;
	}
	rc = fmt_label_parse(buf, st.xfer, l);
	if (rc == -ENOMSG)
		snprintf(why, wlen, "the first block is not an ABS label");
	else if (rc == -EBADMSG)
		snprintf(why, wlen, "the label is damaged (checksum or fields)");
	return rc;
}

/*
 * What the tape files after the label hold, for a tape whose label could
 * not be used: 1 with an ABS part header or trailer (described in what),
 * 0 with other data only, -ENODATA with nothing (end of data after file
 * 0), another negative errno if the drive could not tell.
 */
static int
probe_beyond(struct tsg_dev *dev, char *what, size_t wlen)
{
	uint8_t *buf = malloc(FMT_MAX_BLOCK);
	char e2[ENG_ERRLEN];
	int rc = -ENODATA, r;

	if (!buf)
		return -ENOMEM;
	for (uint64_t n = 1; n <= 4; n++) {
		struct fmt_header h;
		struct fmt_trailer t;
		size_t got;

		if ((r = eng_goto_file(dev, n, e2)) < 0)
			break;		/* end of data */
		r = eng_read_guess(dev, buf, FMT_MIN_BLOCK, FMT_MAX_BLOCK, &got, e2);
		if (r == -ENODATA)
			break;
		if (r < 0) {
			snprintf(what, wlen, "file %llu cannot be read (%.200s)",
			    (unsigned long long)n, e2);
			rc = 0;
			continue;
		}
		if (r == 1 && fmt_header_parse(buf, got, &h) == 0) {
			snprintf(what, wlen, "file %llu holds part %u of dump %s of "
			    "entity %s written %s on cartridge %s (ID %s)",
			    (unsigned long long)n, h.part, h.dump_id, h.entity,
			    h.dump_date, h.label, h.tape_id);
			rc = 1;
			break;
		}
		if (r == 1 && fmt_trailer_parse(buf, got, &t) == 0) {
			snprintf(what, wlen, "file %llu holds the trailer of part %u "
			    "of dump %s", (unsigned long long)n, t.part, t.dump_id);
			rc = 1;
			break;
		}
		if (r == 1 && fmt_kind_of(buf, got) != FMT_NONE) {
			snprintf(what, wlen, "file %llu holds a damaged ABS block",
			    (unsigned long long)n);
			rc = 1;
			break;
		}
		if (rc == -ENODATA) {
			snprintf(what, wlen, "file %llu holds %s", (unsigned long long)n,
			    r == 0 ? "nothing (an empty file)" : "data that is not ABS");
			rc = 0;
		}
	}
	free(buf);
	return rc;
}

int
eng_read_label(struct tsg_dev *dev, struct fmt_label *l, char *err)
{
	char why[160] = "", what[ENG_ERRLEN] = "";
	uint8_t *buf = malloc(FMT_LABEL_SIZE);
	int rc, beyond;

	if (!buf)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	rc = label_block(dev, buf, l, why, sizeof(why), err);
	free(buf);
	if (rc == -ENODATA) {
		eng_err(err, "tape is blank (end of data at the beginning of tape)");
		return rc;
	}
	if (rc == 0 && l->version > FMT_VERSION) {
		eng_err(err, "label format version %d is newer than this engine's %d",
		    l->version, FMT_VERSION);
		return -EPROTO;
	}
	if (rc != -EBADMSG && rc != -ENOMSG)
		return rc;
	/* Not blank, not ours to trust: what does the tape hold after it? */
	memset(l, 0, sizeof(*l));
	beyond = probe_beyond(dev, what, sizeof(what));
	if (beyond == 1 || (rc == -EBADMSG && beyond != -ENODATA)) {
		eng_err(err, "damaged tape: %s, but %s", why, what[0] ? what :
		    "data follows it");
		return -EBADMSG;
	}
	if (rc == -EBADMSG) {
		eng_err(err, "damaged tape: %s; nothing follows it", why);
		return -EBADMSG;
	}
	eng_err(err, "not an ABS tape (foreign): %s%s%s", why,
	    beyond == 0 ? "; " : "", beyond == 0 ? what : "");
	return -ENOMSG;
}

/* A position a drive made up: LON 0 without beginning of partition (tgt). */
static bool
pos_plausible(const struct tsg_pos *p)
{
	return p->known && !(p->lon == 0 && !p->bop);
}

/*
 * For drives that cannot say where they are: count the filemarks from the
 * beginning, and find out whether data follows the last one (a file left
 * open by an interrupted write).
 */
static int
count_files(struct tsg_dev *dev, uint64_t *n, bool *open_file, char *err)
{
	const int32_t many = 0x7fffff;
	struct tsg_status st;
	uint8_t probe[FMT_LABEL_SIZE];
	int rc;

	*n = 0;
	*open_file = false;
	if (tsg_rewind(dev, &st)) {
		eng_err_st(err, "rewind", &st);
		return -EIO;
	}
	rc = tsg_space(dev, TSG_SPACE_FILEMARKS, many, &st);
	if (rc == TSG_CHECK && tsg_is_eod(&st) && st.valid &&
	    st.info >= 0 && st.info <= many) {
		*n = (uint64_t)(many - st.info);
	} else {
		/* No residue: one filemark at a time. */
		if (tsg_rewind(dev, &st)) {
			eng_err_st(err, "rewind", &st);
			return -EIO;
		}
		while ((rc = tsg_space(dev, TSG_SPACE_FILEMARKS, 1, &st)) == 0)
			(*n)++;
		if (!tsg_is_eod(&st)) {
			eng_err_st(err, "counting tape files", &st);
			return -EIO;
		}
	}
	if (tsg_rewind(dev, &st) ||
	    (*n && tsg_space(dev, TSG_SPACE_FILEMARKS, (int32_t)*n, &st))) {
		eng_err_st(err, "space to the last file", &st);
		return -EIO;
	}
	rc = tsg_read(dev, probe, sizeof(probe), &st);
	*open_file = !(rc == TSG_CHECK && tsg_is_eod(&st));
	return 0;
}

int
eng_goto_eod(struct tsg_dev *dev, uint64_t *file, char *err)
{
	struct tsg_status st;
	struct tsg_pos pos;
	bool open_file;
	int rc;

	rc = tsg_space(dev, TSG_SPACE_EOD, 0, &st);
	if (rc) {
		eng_err_st(err, "space to end of data", &st);
		return -EIO;
	}
	if (tsg_read_position(dev, &pos, &st) != 0 || !pos_plausible(&pos)) {
		if ((rc = count_files(dev, file, &open_file, err)) < 0)
			return rc;
		if (tsg_space(dev, TSG_SPACE_EOD, 0, &st)) {
			eng_err_st(err, "space to end of data", &st);
			return -EIO;
		}
		if (open_file) {
			if (tsg_write_filemarks(dev, 1, false, &st)) {
				eng_err_st(err, "closing an interrupted tape file", &st);
				return -EIO;
			}
			(*file)++;
		}
		return 0;
	}
	/* Is end of data inside an unterminated file (an interrupted write)? */
	rc = tsg_space(dev, TSG_SPACE_BLOCKS, -1, &st);
	if (rc == 0) {
		if (tsg_space(dev, TSG_SPACE_EOD, 0, &st) ||
		    tsg_write_filemarks(dev, 1, false, &st)) {
			eng_err_st(err, "closing an interrupted tape file", &st);
			return -EIO;
		}
	} else if (tsg_space(dev, TSG_SPACE_EOD, 0, &st)) {
		eng_err_st(err, "space to end of data", &st);
		return -EIO;
	}
	rc = tsg_read_position(dev, &pos, &st);
	if (rc || !pos.known) {
		eng_err(err, "the drive cannot report its position");
		return -EIO;
	}
	*file = pos.file;
	return 0;
}

int
eng_goto_file(struct tsg_dev *dev, uint64_t n, char *err)
{
	struct tsg_status st;

	if (tsg_rewind(dev, &st)) {
		eng_err_st(err, "rewind", &st);
		return -EIO;
	}
	if (n && tsg_space(dev, TSG_SPACE_FILEMARKS, (int32_t)n, &st)) {
		if (tsg_is_eod(&st))
			eng_err(err, "tape file %llu does not exist (end of data)",
			    (unsigned long long)n);
		else
			eng_err_st(err, "space to tape file", &st);
		return -ENOENT;
	}
	return 0;
}

int
eng_read_block(struct tsg_dev *dev, void *buf, size_t len, size_t *got,
    char *err)
{
	struct tsg_status st;
	int rc = tsg_read(dev, buf, len, &st);

	*got = 0;
	if (rc == 0) {
		*got = st.xfer;
		return 1;
	}
	if (rc == TSG_CHECK && st.filemark)
		return 0;
	if (rc == TSG_CHECK && tsg_is_eod(&st)) {
		eng_err(err, "end of data");
		return -ENODATA;
	}
	if (rc == TSG_CHECK && st.cat == TSG_CAT_NO_SENSE && st.ili) {
		eng_err(err, "block larger than %zu bytes", len);
		return -EOVERFLOW;
	}
	eng_err_st(err, "read", &st);
	return rc < 0 ? rc : -EIO;
}

int
eng_read_guess(struct tsg_dev *dev, void *buf, size_t hint, size_t cap,
    size_t *got, char *err)
{
	struct tsg_status st;
	int rc = eng_read_block(dev, buf, hint, got, err);

	if (rc != -EOVERFLOW)
		return rc;
	/* The block is longer than guessed: back over it, read it whole. */
	if (tsg_space(dev, TSG_SPACE_BLOCKS, -1, &st) == 0 &&
	    tsg_read(dev, buf, hint, &st) == TSG_CHECK && st.ili && st.info < 0) {
		size_t real = (size_t)((int64_t)hint - st.info);
		if (real <= cap && tsg_space(dev, TSG_SPACE_BLOCKS, -1, &st) == 0)
			return eng_read_block(dev, buf, real, got, err);
	}
	return rc;
}

int
eng_read_trailer(struct tsg_dev *dev, uint8_t *buf, size_t bs,
    struct fmt_trailer *t, uint32_t **table, char *err)
{
	size_t got, want, have = 0;
	uint32_t *tab = NULL;
	int rc;

	*table = NULL;
	rc = eng_read_block(dev, buf, bs, &got, err);
	if (rc <= 0) {
		if (rc == 0)
			eng_err(err, "trailer missing (empty tape file)");
		return rc < 0 ? rc : -EBADMSG;
	}
	rc = fmt_trailer_parse(buf, got, t);
	if (rc) {
		eng_err(err, rc == -ENOMSG ? "no trailer where one belongs "
		    "(the part was not finished)" : "trailer damaged");
		return rc == -ENOMSG ? -ENOENT : rc;
	}
	want = (size_t)t->blocks * 4;
	if (t->blocks > (1ULL << 32)) {
		eng_err(err, "trailer claims %llu blocks", (unsigned long long)t->blocks);
		return -EBADMSG;
	}
	tab = malloc(want ? want : 4);
	if (!tab)
		return -ENOMEM;
	while (have < want) {
		/* Exact lengths: every table block is full but the last. */
		size_t n = want - have < bs ? want - have : bs;
		rc = eng_read_block(dev, buf, n, &got, err);
		if (rc <= 0 || got > want - have) {
			if (rc >= 0)
				eng_err(err, "trailer CRC table is %s",
				    rc == 0 ? "short" : "too long");
			free(tab);
			return rc < 0 ? rc : -EBADMSG;
		}
		memcpy((uint8_t *)tab + have, buf, got);
		have += got;
	}
	if (crc32c(0, tab, want) != t->table_crc) {
		eng_err(err, "trailer CRC table damaged");
		free(tab);
		return -EBADMSG;
	}
	/* The table is little-endian on tape. */
	for (uint64_t i = 0; i < t->blocks; i++)
		tab[i] = le32toh(tab[i]);
	*table = tab;
	return 0;
}
