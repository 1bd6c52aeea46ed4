/* Tape handling shared by label, dump, list, restore and verify. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <stdbool.h>
#include <time.h>

#include "common/crc32c.h"
#include "engine/engine.h"
#include "engine/tape.h"
#include "sg/ssc.h"

void
eng_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ENG_ERRLEN, fmt, ap);
	va_end(ap);
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
		if (st.cat == TSG_CAT_NOT_READY && st.asc == SPC_ASC_MEDIUM_NOT_PRESENT)
			eng_err(err, "%s: no cartridge in the drive", uri);
		else
			eng_err_st(err, uri, &st);
		tsg_free(*dev);
		*dev = NULL;
		return rc < 0 ? rc : -EIO;
	}
	/* Variable blocks, buffered mode; a drive that refuses keeps its own. */
	tsg_set_variable(*dev, &st);
	return 0;
}

int
eng_read_label(struct tsg_dev *dev, struct fmt_label *l, char *err)
{
	struct tsg_status st;
	uint8_t *buf = malloc(FMT_LABEL_SIZE);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = tsg_rewind(dev, &st);
	if (rc) {
		eng_err_st(err, "rewind", &st);
		rc = -EIO;
		goto out;
	}
	rc = tsg_read(dev, buf, FMT_LABEL_SIZE, &st);
	if (rc == TSG_CHECK && tsg_is_eod(&st)) {
		eng_err(err, "tape is blank (no label)");
		rc = -ENODATA;
		goto out;
	}
	if (rc == TSG_CHECK && st.filemark) {
		eng_err(err, "tape starts with a filemark: not an ABS label");
		rc = -ENOMSG;
		goto out;
	}
	if (rc == TSG_CHECK && st.cat == TSG_CAT_NO_SENSE && st.ili) {
		eng_err(err, "first block is not an ABS label (foreign data)");
		rc = -ENOMSG;
		goto out;
	}
	if (rc) {
		eng_err_st(err, "reading the label", &st);
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	rc = fmt_label_parse(buf, st.xfer, l);
	if (rc == -ENOMSG)
		eng_err(err, "first block is not an ABS label (foreign data)");
	else if (rc == -EBADMSG)
		eng_err(err, "the tape label is damaged (checksum or fields)");
	else if (rc == 0 && l->version > FMT_VERSION) {
		eng_err(err, "label format version %d is newer than this engine's %d",
		    l->version, FMT_VERSION);
		rc = -EPROTO;
	}
out:
	free(buf);
	return rc;
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
