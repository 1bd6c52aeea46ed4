/*
 * abs-engine status: what the drive and the cartridge say about themselves.
 * Everything a target does not support is reported as such, not as an
 * error: tgt, for one, answers little beyond INQUIRY and MODE SENSE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/tape.h"
#include "sg/ssc.h"

/* Why a query gave nothing: unsupported, or the sense it got. */
static const char *
why(int rc, const struct tsg_status *st, char *buf, size_t len)
{
	if (rc < 0 && st->cat != TSG_CAT_TRANSPORT)
		return "not reported";
	if (st->cat == TSG_CAT_ILLEGAL_REQUEST)
		return "not supported by this drive";
	return tsg_status_str(st, buf, len);
}

/* TapeAlert flag names (SSC-3 annex), the ones an operator acts on. */
static const char *ta_names[] = {
	"read warning", "write warning", "hard error", "media", "read failure",
	"write failure", "media life", "not data grade", "write protect",
	"no removal", "cleaning media", "unsupported format",
	"recoverable snapped tape", "unrecoverable snapped tape",
	"memory chip failure", "forced eject", "read only format",
	"tape directory corrupted", "nearing media life", "clean now",
	"clean periodic", "expired cleaning media", "invalid cleaning tape",
};

/* One error counter log page (02h write, 03h read) as a line of text. */
static void
counters_text(struct tsg_dev *dev, int page, char *out, size_t len)
{
	struct tsg_counters c;
	struct tsg_status st;
	char s1[200];
	int rc = tsg_error_counters(dev, page, &c, &st);

	if (rc == 0 && (c.have_bytes || c.have_uncorrected))
		snprintf(out, len, "%llu bytes, %llu corrected, %llu uncorrected",
		    (unsigned long long)c.bytes, (unsigned long long)c.corrected,
		    (unsigned long long)c.uncorrected);
	else
		snprintf(out, len, "%s", rc ? why(rc, &st, s1, sizeof(s1)) :
		    "not reported");
}

/* Print s as a JSON string value. */
static void
jstr(FILE *out, const char *key, const char *s, bool comma)
{
	fprintf(out, "%s\"%s\":\"", comma ? "," : "", key);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
	fputc('"', out);
}

/* What eng_status prints, one line of text per field. */
struct report {
	struct tsg_inquiry inq;
	bool ready;
	char medium[ENG_ERRLEN], lim[64], mode[160], posn[120], buf_s[80];
	char wes[120], res[120], tas[400], mam[256];
};

/* Block limits and the mode header: what the drive is set to. */
static void
drive_text(struct tsg_dev *dev, struct report *r)
{
	struct tsg_status st;
	struct tsg_mode m;
	uint32_t bmin = 0, bmax = 0;
	char s1[200];
	int rc;

	rc = tsg_read_block_limits(dev, &bmin, &bmax, &st);
	if (rc == 0)
		snprintf(r->lim, sizeof(r->lim), "%u .. %u bytes", bmin, bmax);
	else
		snprintf(r->lim, sizeof(r->lim), "%s", why(rc, &st, s1, sizeof(s1)));
	rc = tsg_mode(dev, &m, &st);
	if (rc == 0)
		snprintf(r->mode, sizeof(r->mode), "%s blocks, buffered mode %d, "
		    "density 0x%02x, write-protected %s", m.block_length ? "fixed" :
		    "variable", m.buffered_mode, m.density,
		    m.write_protect ? "yes" : "no");
	else
		snprintf(r->mode, sizeof(r->mode), "%s", why(rc, &st, s1,
		    sizeof(s1)));
	if (m.block_length && rc == 0) {
		size_t n = strlen(r->mode);
		snprintf(r->mode + n, sizeof(r->mode) - n, ", block length %u",
		    m.block_length);
	}
}

/* Where the tape is and what the drive's buffer still holds. */
static void
position_text(struct tsg_dev *dev, struct report *r)
{
	struct tsg_status st;
	struct tsg_pos pos;
	uint32_t bblocks = 0, bbytes = 0;
	char s1[200];
	int rc;

	snprintf(r->posn, sizeof(r->posn), "unknown");
	snprintf(r->buf_s, sizeof(r->buf_s), "not reported");
	if (!r->ready)
		return;
	rc = tsg_read_position(dev, &pos, &st);
	if (rc == 0 && pos.known && !(pos.lon == 0 && !pos.bop))
		snprintf(r->posn, sizeof(r->posn), "file %llu, logical object %llu%s",
		    (unsigned long long)pos.file, (unsigned long long)pos.lon,
		    pos.bop ? " (beginning of tape)" : "");
	else
		snprintf(r->posn, sizeof(r->posn), "unknown (%s)", rc ? why(rc, &st,
		    s1, sizeof(s1)) : "the drive reports no position");
	if (tsg_buffer_fill(dev, &bblocks, &bbytes, &st) == 0)
		snprintf(r->buf_s, sizeof(r->buf_s), "%u blocks, %u bytes not yet "
		    "on tape", bblocks, bbytes);
}

/* The TapeAlert flags raised, with names for those an operator acts on. */
static void
tapealert_text(struct tsg_dev *dev, struct report *r)
{
	struct tsg_status st;
	uint64_t ta = 0;
	char s1[200];
	int rc = tsg_tapealert(dev, &ta, &st);

	r->tas[0] = '\0';
	if (rc != 0) {
		snprintf(r->tas, sizeof(r->tas), "%s", why(rc, &st, s1, sizeof(s1)));
		return;
	}
	for (int i = 0; i < 64; i++)
		if (ta & (1ULL << i)) {
			size_t n = strlen(r->tas);
			snprintf(r->tas + n, sizeof(r->tas) - n, "%s%d%s%s%s",
			    n ? ", " : "", i + 1, i < 23 ? " (" : "",
			    i < 23 ? ta_names[i] : "", i < 23 ? ")" : "");
		}
	if (!r->tas[0])
		snprintf(r->tas, sizeof(r->tas), "none");
}

/* The cartridge: its MAM (serial, barcode) and our label on it. */
static void
cartridge_text(struct tsg_dev *dev, struct report *r)
{
	struct tsg_status st;
	struct fmt_label l;
	char s1[200], serial[64] = "", barcode[64] = "", e2[ENG_ERRLEN];
	int rc;

	if (!r->ready) {
		snprintf(r->mam, sizeof(r->mam), "no cartridge");
		return;
	}
	rc = tsg_read_attribute(dev, SPC_MAM_MEDIUM_SERIAL, serial, sizeof(serial),
	    &st);
	if (rc == 0)
		tsg_read_attribute(dev, SPC_MAM_BARCODE, barcode, sizeof(barcode),
		    &st);
	if (rc == 0)
		snprintf(r->mam, sizeof(r->mam), "medium serial %s, barcode %s",
		    serial, barcode[0] ? barcode : "-");
	else
		snprintf(r->mam, sizeof(r->mam), "%s", why(rc, &st, s1, sizeof(s1)));
	rc = eng_read_label(dev, &l, e2);
	if (rc == 0)
		snprintf(r->medium, sizeof(r->medium), "label %s (ID %s), pool %s, "
		    "block size %u", l.label, l.tape_id, l.pool, l.block_size);
	else
		snprintf(r->medium, sizeof(r->medium), "%s", e2);
}

/* The report as one JSON object or as aligned lines. */
static void
report_print(FILE *out, const char *device, bool json, const struct report *r)
{
	const struct tsg_inquiry *inq = &r->inq;

	if (json) {
		fputc('{', out);
		jstr(out, "device", device, false);
		jstr(out, "vendor", inq->vendor, true);
		jstr(out, "product", inq->product, true);
		jstr(out, "revision", inq->revision, true);
		jstr(out, "serial", inq->serial, true);
		fprintf(out, ",\"ready\":%s", r->ready ? "true" : "false");
		jstr(out, "cartridge", r->medium, true);
		jstr(out, "block_limits", r->lim, true);
		jstr(out, "mode", r->mode, true);
		jstr(out, "position", r->posn, true);
		jstr(out, "buffer", r->buf_s, true);
		jstr(out, "write_errors", r->wes, true);
		jstr(out, "read_errors", r->res, true);
		jstr(out, "tapealert", r->tas, true);
		jstr(out, "mam", r->mam, true);
		fprintf(out, "}\n");
		return;
	}
	fprintf(out, "device        %s\n", device);
	fprintf(out, "drive         %s %s %s, serial %s\n", inq->vendor,
	    inq->product, inq->revision, inq->serial[0] ? inq->serial : "-");
	fprintf(out, "cartridge     %s\n", r->medium);
	fprintf(out, "block limits  %s\n", r->lim);
	fprintf(out, "mode          %s\n", r->mode);
	fprintf(out, "position      %s\n", r->posn);
	fprintf(out, "drive buffer  %s\n", r->buf_s);
	fprintf(out, "write errors  %s\n", r->wes);
	fprintf(out, "read errors   %s\n", r->res);
	fprintf(out, "TapeAlert     %s\n", r->tas);
	fprintf(out, "cartridge MAM %s\n", r->mam);
}

int
eng_status(const char *device, bool json, FILE *out, char *err)
{
	struct tsg_dev *dev = NULL;
	struct tsg_status st;
	struct report *r;
	char s1[200];
	int rc;

	char why[TSG_WHY_LEN];
	if ((rc = tsg_open_why(device, &dev, why)) < 0) {
		eng_err(err, "%s: cannot open: %s", device, why[0] ? why :
		    strerror(-rc));
		return rc;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		tsg_free(dev);
		return -ENOMEM;
	}
	if ((rc = tsg_inquiry(dev, &r->inq, &st)) != 0) {
		eng_err_st(err, "INQUIRY", &st);
		tsg_free(dev);
		free(r);
		return -EIO;
	}
	r->ready = tsg_test_unit_ready(dev, &st) == 0;
	if (!r->ready)
		snprintf(r->medium, sizeof(r->medium), "%s",
		    st.asc == SPC_ASC_MEDIUM_NOT_PRESENT ? "no cartridge in the drive" :
		    tsg_status_str(&st, s1, sizeof(s1)));
	drive_text(dev, r);
	position_text(dev, r);
	counters_text(dev, SPC_LP_WRITE_ERRORS, r->wes, sizeof(r->wes));
	counters_text(dev, SPC_LP_READ_ERRORS, r->res, sizeof(r->res));
	tapealert_text(dev, r);
	cartridge_text(dev, r);
	report_print(out, device, json, r);
	tsg_free(dev);
	free(r);
	return 0;
}
