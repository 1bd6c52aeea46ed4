/* The tape API: URI dispatch, SSC command builders and sense decoding. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <scsi/sg_lib.h>

#include "common/crash.h"
#include "sg/ssc.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"

static const struct tsg_transport *transports[] = {
	&tsg_vtape_transport,
	&tsg_null_transport,
	&tsg_iscsi_transport,
	&tsg_fd_transport,
	&tsg_sg_transport,
	&tsg_st_transport,
};

/* Close every lock d holds. */
static void
drop_locks(struct tsg_dev *d)
{
	while (d->nlocks)
		close(d->locks[--d->nlocks]);
}

int
tsg_open(const char *uri, struct tsg_dev **out)
{
	char why[TSG_WHY_LEN];

	return tsg_open_why(uri, out, why);
}

/* Open uri; a changer's device when changer is set. */
static int
open_dev(const char *uri, bool changer, struct tsg_dev **out, char *why)
{
	const struct tsg_transport *tr = NULL;
	const char *colon = strchr(uri, ':');
	struct tsg_dev *d;
	int rc;

	*out = NULL;
	why[0] = '\0';
	if (!colon)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		size_t n = strlen(transports[i]->scheme);
		if ((size_t)(colon - uri) == n &&
		    strncmp(uri, transports[i]->scheme, n) == 0)
			tr = transports[i];
	}
	if (!tr)
		return -EPROTONOSUPPORT;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->tr = tr;
	d->changer = changer;
	d->uri = strdup(uri);
	if (!d->uri) {
		free(d);
		return -ENOMEM;
	}
	rc = tr->open(d, colon + 1);
	if (rc < 0) {
		snprintf(why, TSG_WHY_LEN, "%s", d->why);
		drop_locks(d);
		free(d->uri);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int
tsg_open_why(const char *uri, struct tsg_dev **out, char *why)
{
	return open_dev(uri, false, out, why);
}

int
tsg_open_changer(const char *uri, struct tsg_dev **out, char *why)
{
	return open_dev(uri, true, out, why);
}

void
tsg_free(struct tsg_dev *d)
{
	if (!d)
		return;
	d->tr->close(d);
	drop_locks(d);
	free(d->wq);
	free(d->uri);
	free(d);
}

const char *
tsg_uri(const struct tsg_dev *d)
{
	return d->uri;
}

/* Map a sense key to the category the engine acts on. */
static enum tsg_cat
cat_of_key(int key)
{
	switch (key) {
	case SPC_SK_NO_SENSE: return TSG_CAT_NO_SENSE;
	case SPC_SK_RECOVERED_ERROR: return TSG_CAT_RECOVERED;
	case SPC_SK_NOT_READY: return TSG_CAT_NOT_READY;
	case SPC_SK_MEDIUM_ERROR: return TSG_CAT_MEDIUM_ERROR;
	case SPC_SK_HARDWARE_ERROR: return TSG_CAT_HARDWARE_ERROR;
	case SPC_SK_ILLEGAL_REQUEST: return TSG_CAT_ILLEGAL_REQUEST;
	case SPC_SK_UNIT_ATTENTION: return TSG_CAT_UNIT_ATTENTION;
	case SPC_SK_DATA_PROTECT: return TSG_CAT_DATA_PROTECT;
	case SPC_SK_BLANK_CHECK: return TSG_CAT_BLANK_CHECK;
	case SPC_SK_VOLUME_OVERFLOW: return TSG_CAT_VOLUME_OVERFLOW;
	case SPC_SK_ABORTED_COMMAND: return TSG_CAT_ABORTED;
	default: return TSG_CAT_OTHER;
	}
}

void
tsg_decode_sense(const uint8_t *sense, int len, int scsi_status,
    struct tsg_status *st)
{
	struct sg_scsi_sense_hdr hdr;
	uint64_t info = 0;

	memset(st, 0, sizeof(*st));
	st->scsi_status = scsi_status;
	if (scsi_status == SAM_GOOD) {
		st->cat = TSG_CAT_GOOD;
		return;
	}
	if (len > TSG_SENSE_LEN)
		len = TSG_SENSE_LEN;
	if (len < 0)
		len = 0;
	if (len)
		memcpy(st->sense, sense, (size_t)len);
	st->sense_len = len;
	/* Anything shorter than a sense header is not sense at all. */
	if (scsi_status != SAM_CHECK_CONDITION || len < 8 ||
	    !sg_scsi_normalize_sense(sense, len, &hdr)) {
		st->cat = TSG_CAT_OTHER;
		return;
	}
	st->key = hdr.sense_key;
	st->asc = hdr.asc;
	st->ascq = hdr.ascq;
	st->cat = cat_of_key(hdr.sense_key);
	sg_get_sense_filemark_eom_ili(sense, len, &st->filemark, &st->eom,
	    &st->ili);
	st->valid = sg_get_sense_info_fld(sense, len, &info);
	/* Fixed format carries a signed 32-bit residue (negative: overlength). */
	if ((sense[0] & 0x7f) == 0x70 || (sense[0] & 0x7f) == 0x71)
		st->info = (int32_t)(uint32_t)info;
	else
		st->info = (int64_t)info;
}

int
tsg_check_status(struct tsg_status *st, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t sense[18] = { 0x70, 0, key, 0, 0, 0, 0, 10 };

	sense[12] = asc;
	sense[13] = ascq;
	tsg_decode_sense(sense, sizeof(sense), SAM_CHECK_CONDITION, st);
	return TSG_CHECK;
}

int
tsg_transport_status(struct tsg_status *st, int err)
{
	memset(st, 0, sizeof(*st));
	st->cat = TSG_CAT_TRANSPORT;
	st->err = err;
	return err;
}

bool
tsg_is_eod(const struct tsg_status *st)
{
	if (st->cat == TSG_CAT_BLANK_CHECK)
		return true;
	return st->sense_len && st->asc == 0x00 && st->ascq == 0x05;
}

bool
tsg_is_early_warning(const struct tsg_status *st)
{
	if (st->cat != TSG_CAT_NO_SENSE && st->cat != TSG_CAT_RECOVERED)
		return false;
	if (st->asc == 0x00 && (st->ascq == 0x02 || st->ascq == 0x07))
		return true;
	/* tgt and some drives: EOM with 00/00 and nothing else. */
	return st->eom && st->asc == 0 && st->ascq == 0;
}

const char *
tsg_status_str(const struct tsg_status *st, char *buf, size_t len)
{
	static const char *names[] = {
		"GOOD", "NO SENSE", "RECOVERED ERROR", "NOT READY",
		"MEDIUM ERROR", "HARDWARE ERROR", "ILLEGAL REQUEST",
		"UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK",
		"VOLUME OVERFLOW", "ABORTED COMMAND", "SCSI ERROR", "TRANSPORT",
	};
	char asc[96] = "";

	if (st->cat == TSG_CAT_TRANSPORT) {
		snprintf(buf, len, "transport error: %s%s%s", strerror(-st->err),
		    st->note[0] ? "; " : "", st->note);
		return buf;
	}
	if (st->cat == TSG_CAT_GOOD) {
		snprintf(buf, len, "GOOD");
		return buf;
	}
	if (st->cat == TSG_CAT_OTHER && !st->sense_len) {
		snprintf(buf, len, "SCSI status 0x%02x", st->scsi_status);
		return buf;
	}
	sg_get_asc_ascq_str(st->asc, st->ascq, sizeof(asc), asc);
	snprintf(buf, len, "%s %02x/%02x (%s)%s%s%s%s%s", names[st->cat],
	    st->asc, st->ascq, asc, st->filemark ? " FILEMARK" : "",
	    st->eom ? " EOM" : "", st->ili ? " ILI" : "", st->note[0] ? "; " : "",
	    st->note);
	return buf;
}

/* The crash point (common/crash.h) a command reaches before it is sent. */
static const char *
crash_point_of(uint8_t op)
{
	switch (op) {
	case SSC_WRITE6_CMD: return "scsi-write";
	case SSC_WRITE_FILEMARKS6_CMD: return "scsi-filemark";
	case SSC_READ6_CMD: return "scsi-read";
	case SSC_LOCATE10_CMD: case SSC_LOCATE16_CMD: return "scsi-locate";
	case SSC_SPACE6_CMD: return "scsi-space";
	case SSC_LOAD_UNLOAD_CMD: return "scsi-load";
	case SSC_REWIND_CMD: return "scsi-rewind";
	default: return "scsi-other";
	}
}

/* Outcome of an exec: 0 for GOOD, TSG_CHECK for sense, or -errno. */
static int
exec_once(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, struct tsg_status *st)
{
	uint8_t sense[TSG_SENSE_LEN];
	int sense_len = 0, status = 0, rc;
	size_t resid = 0;

	memset(sense, 0, sizeof(sense));
	abs_crash_point(crash_point_of(cdb[0]));
	d->host_note[0] = '\0';
	rc = d->tr->exec(d, cdb, cdblen, dir, buf, len, &resid, &status, sense,
	    &sense_len);
	if (rc < 0) {
		memset(st, 0, sizeof(*st));
		st->cat = TSG_CAT_TRANSPORT;
		st->err = rc;
	} else {
		tsg_decode_sense(sense, sense_len, status, st);
		st->xfer = resid <= len ? len - resid : 0;
	}
	memcpy(st->note, d->host_note, sizeof(st->note));
	if (rc < 0)
		return rc;
	return st->cat == TSG_CAT_GOOD ? 0 : TSG_CHECK;
}

int
tsg_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, struct tsg_status *st)
{
	int rc;

	/* Nothing may overtake queued writes. */
	if (d->wcount) {
		memset(st, 0, sizeof(*st));
		st->cat = TSG_CAT_TRANSPORT;
		st->err = -EBUSY;
		return -EBUSY;
	}
	rc = exec_once(d, cdb, cdblen, dir, buf, len, st);

	/*
	 * A unit attention (power on, new medium, login) is reported once;
	 * noted for a changer, whose inventory it makes stale.
	 */
	if (rc == TSG_CHECK && st->cat == TSG_CAT_UNIT_ATTENTION) {
		d->attention = true;
		d->ua_asc = st->asc;
		d->ua_ascq = st->ascq;
		rc = exec_once(d, cdb, cdblen, dir, buf, len, st);
	}
	return rc;
}

/* Put a 24-bit big-endian value at p. */
static void
put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

int
tsg_test_unit_ready(struct tsg_dev *d, struct tsg_status *st)
{
	uint8_t cdb[SPC_TEST_UNIT_READY_CMDLEN] = { SPC_TEST_UNIT_READY_CMD };

	return tsg_exec(d, cdb, SPC_TEST_UNIT_READY_CMDLEN, TSG_DIR_NONE, NULL, 0,
	    st);
}

int
tsg_rewind(struct tsg_dev *d, struct tsg_status *st)
{
	uint8_t cdb[SSC_REWIND_CMDLEN] = { SSC_REWIND_CMD };

	return tsg_exec(d, cdb, SSC_REWIND_CMDLEN, TSG_DIR_NONE, NULL, 0, st);
}

int
tsg_load(struct tsg_dev *d, bool load, struct tsg_status *st)
{
	uint8_t cdb[SSC_LOAD_UNLOAD_CMDLEN] = { SSC_LOAD_UNLOAD_CMD, 0, 0, 0,
	    load ? SSC_LOAD : 0x00, 0 };

	return tsg_exec(d, cdb, SSC_LOAD_UNLOAD_CMDLEN, TSG_DIR_NONE, NULL, 0,
	    st);
}

int
tsg_write(struct tsg_dev *d, const void *buf, size_t len, struct tsg_status *st)
{
	uint8_t cdb[SSC_WRITE6_CMDLEN] = { SSC_WRITE6_CMD, 0 };

	if (len == 0 || len > 0xffffff)
		return -EINVAL;
	put_be24(cdb + 2, (uint32_t)len);
	return tsg_exec(d, cdb, SSC_WRITE6_CMDLEN, TSG_DIR_TO_DEV, (void *)buf,
	    len, st);
}

unsigned
tsg_set_write_depth(struct tsg_dev *d, unsigned n)
{
	unsigned max = d->tr->max_depth ? d->tr->max_depth : 64;
	struct tsg_wslot *q;

	if (d->wcount)
		return d->wdepth;
	if (n < 1)	/* the transport's own default */
		n = d->tr->wsubmit ? 8 : 1;
	if (n > max)
		n = max;
	if (!(q = calloc(n, sizeof(*q))))
		return d->wdepth ? d->wdepth : 1;
	free(d->wq);
	d->wq = q;
	d->wdepth = n;
	d->whead = 0;
	return n;
}

unsigned
tsg_write_depth(const struct tsg_dev *d)
{
	return d->wdepth ? d->wdepth : 1;
}

unsigned
tsg_write_inflight(const struct tsg_dev *d)
{
	return d->wcount;
}

int
tsg_write_submit(struct tsg_dev *d, const void *buf, size_t len, uint64_t tag)
{
	uint8_t cdb[SSC_WRITE6_CMDLEN] = { SSC_WRITE6_CMD, 0 };
	struct tsg_wslot *w;
	unsigned i;
	int rc;

	if (!d->wq)
		tsg_set_write_depth(d, 1);
	if (!d->wq)
		return -ENOMEM;
	if (d->wcount == d->wdepth)
		return -EBUSY;
	if (len == 0 || len > 0xffffff)
		return -EINVAL;
	put_be24(cdb + 2, (uint32_t)len);
	i = (d->whead + d->wcount) % d->wdepth;
	w = &d->wq[i];
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->len = len;
	w->tag = tag;
	if (!d->tr->wsubmit || d->wdepth == 1) {
		/* Run it now, report it at reap. */
		w->rc = exec_once(d, cdb, SSC_WRITE6_CMDLEN, TSG_DIR_TO_DEV,
		    (void *)buf, len, &w->st);
		w->done = true;
		d->wcount++;
		return 0;
	}
	abs_crash_point("scsi-write");
	if ((rc = d->tr->wsubmit(d, cdb, buf, len, i)) < 0)
		return rc;
	d->wcount++;
	return 0;
}

int
tsg_write_reap(struct tsg_dev *d, struct tsg_wdone *out)
{
	struct tsg_wslot *w;

	if (!d->wcount)
		return 0;
	w = &d->wq[d->whead];
	if (!w->done) {
		uint8_t sense[TSG_SENSE_LEN];
		int status = 0, sense_len = 0;
		int rc = d->tr->wreap(d, d->whead, &status, sense, &sense_len);
		if (rc < 0) {
			memset(&w->st, 0, sizeof(w->st));
			w->st.cat = TSG_CAT_TRANSPORT;
			w->st.err = rc;
			w->rc = rc;
		} else {
			tsg_decode_sense(sense, sense_len, status, &w->st);
			w->rc = w->st.cat == TSG_CAT_GOOD ? 0 : TSG_CHECK;
		}
		w->done = true;
	}
	out->tag = w->tag;
	out->rc = w->rc;
	out->st = w->st;
	d->whead = (d->whead + 1) % d->wdepth;
	d->wcount--;
	return 1;
}

int
tsg_write_filemarks(struct tsg_dev *d, unsigned n, bool immed,
    struct tsg_status *st)
{
	uint8_t cdb[SSC_WRITE_FILEMARKS6_CMDLEN] = { SSC_WRITE_FILEMARKS6_CMD,
	    immed ? SSC_IMMED : 0x00 };

	put_be24(cdb + 2, n);
	return tsg_exec(d, cdb, SSC_WRITE_FILEMARKS6_CMDLEN, TSG_DIR_NONE, NULL,
	    0, st);
}

int
tsg_read(struct tsg_dev *d, void *buf, size_t len, struct tsg_status *st)
{
	uint8_t cdb[SSC_READ6_CMDLEN] = { SSC_READ6_CMD, SSC_SILI };	/* variable */
	int rc;

	if (len == 0 || len > 0xffffff)
		return -EINVAL;
	put_be24(cdb + 2, (uint32_t)len);
	rc = tsg_exec(d, cdb, SSC_READ6_CMDLEN, TSG_DIR_FROM_DEV, buf, len, st);
	/* A shorter block with SILI is not an error; a longer one is (ILI). */
	if (rc == TSG_CHECK && st->cat == TSG_CAT_NO_SENSE && st->ili &&
	    st->info > 0 && !st->filemark && !st->eom)
		return 0;
	return rc;
}

int
tsg_space(struct tsg_dev *d, enum tsg_space_code code, int32_t count,
    struct tsg_status *st)
{
	uint8_t cdb[SSC_SPACE6_CMDLEN] = { SSC_SPACE6_CMD, (uint8_t)code };

	put_be24(cdb + 2, (uint32_t)count & 0xffffff);
	return tsg_exec(d, cdb, SSC_SPACE6_CMDLEN, TSG_DIR_NONE, NULL, 0, st);
}

int
tsg_locate(struct tsg_dev *d, uint64_t lon, struct tsg_status *st)
{
	uint8_t cdb[SSC_LOCATE10_CMDLEN] = { SSC_LOCATE10_CMD };

	if (lon > UINT32_MAX) {
		uint8_t c16[SSC_LOCATE16_CMDLEN] = { SSC_LOCATE16_CMD };
		for (int i = 0; i < 8; i++)
			c16[4 + i] = (uint8_t)(lon >> (56 - 8 * i));
		return tsg_exec(d, c16, SSC_LOCATE16_CMDLEN, TSG_DIR_NONE, NULL, 0,
		    st);
	}
	for (int i = 0; i < 4; i++)
		cdb[3 + i] = (uint8_t)(lon >> (24 - 8 * i));
	return tsg_exec(d, cdb, SSC_LOCATE10_CMDLEN, TSG_DIR_NONE, NULL, 0, st);
}

/* Big-endian 64-bit value at p. */
static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
tsg_read_position(struct tsg_dev *d, struct tsg_pos *pos, struct tsg_status *st)
{
	uint8_t cdb[SSC_READ_POSITION_CMDLEN] = { SSC_READ_POSITION_CMD,
	    SSC_RP_LONG };
	uint8_t buf[32];
	int rc;

	memset(pos, 0, sizeof(*pos));
	memset(buf, 0, sizeof(buf));
	rc = tsg_exec(d, cdb, SSC_READ_POSITION_CMDLEN, TSG_DIR_FROM_DEV, buf,
	    sizeof(buf), st);
	if (rc)
		return rc;
	pos->bop = buf[0] & 0x80;
	pos->eop = buf[0] & 0x40;
	pos->bpew = buf[0] & 0x01;
	/* MPU or LONU: the drive does not know where it is. */
	pos->known = !(buf[0] & 0x0c);
	pos->lon = get_be64(buf + 8);
	pos->file = get_be64(buf + 16);
	return 0;
}

int
tsg_read_block_limits(struct tsg_dev *d, uint32_t *min, uint32_t *max,
    struct tsg_status *st)
{
	uint8_t cdb[SSC_READ_BLOCK_LIMITS_CMDLEN] = { SSC_READ_BLOCK_LIMITS_CMD };
	uint8_t buf[6] = { 0 };
	int rc = tsg_exec(d, cdb, SSC_READ_BLOCK_LIMITS_CMDLEN, TSG_DIR_FROM_DEV,
	    buf, sizeof(buf), st);

	if (rc)
		return rc;
	*max = (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	*min = (uint32_t)buf[4] << 8 | buf[5];
	return 0;
}

int
tsg_write_protected(struct tsg_dev *d, bool *wp, struct tsg_status *st)
{
	struct tsg_mode m;
	int rc = tsg_mode(d, &m, st);

	if (rc == 0)
		*wp = m.write_protect;
	return rc;
}

int
tsg_set_variable(struct tsg_dev *d, struct tsg_status *st)
{
	/* Header (buffered mode 1) and a block descriptor with length 0. */
	uint8_t data[12] = { 0, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t cdb[SPC_MODE_SELECT6_CMDLEN] = { SPC_MODE_SELECT6_CMD,
	    SPC_MODE_SELECT_PF, 0, 0, sizeof(data), 0 };

	return tsg_exec(d, cdb, SPC_MODE_SELECT6_CMDLEN, TSG_DIR_TO_DEV, data,
	    sizeof(data), st);
}

int
tsg_set_pew(struct tsg_dev *d, unsigned mb, struct tsg_status *st)
{
	/* Device configuration extension page 10h/01h, PEWS in bytes 6-7. */
	uint8_t data[4 + 32] = { 0, 0, 0x10, 0 };
	uint8_t cdb[SPC_MODE_SELECT6_CMDLEN] = { SPC_MODE_SELECT6_CMD,
	    SPC_MODE_SELECT_PF, 0, 0, sizeof(data), 0 };
	uint8_t *pg = data + 4;

	if (mb > 0xffff)
		return -EINVAL;
	pg[0] = SPC_MODE_SPF | SSC_MP_DEV_CONFIG;
	pg[1] = SSC_MP_DEV_CONFIG_EXT_SUB;
	pg[2] = 0;
	pg[3] = 28;
	pg[6] = (uint8_t)(mb >> 8);
	pg[7] = (uint8_t)mb;
	return tsg_exec(d, cdb, SPC_MODE_SELECT6_CMDLEN, TSG_DIR_TO_DEV, data,
	    sizeof(data), st);
}

int
tsg_set_lbp(struct tsg_dev *d, bool on, struct tsg_status *st)
{
	uint8_t data[4 + 32] = { 0, 0, 0x10, 0 };
	uint8_t cdb[SPC_MODE_SELECT6_CMDLEN] = { SPC_MODE_SELECT6_CMD,
	    SPC_MODE_SELECT_PF, 0, 0, sizeof(data), 0 };
	uint8_t *pg = data + 4;

	pg[0] = SPC_MODE_SPF | SSC_MP_CONTROL_DP;
	pg[1] = SSC_MP_CONTROL_DP_SUB;
	pg[3] = 28;
	pg[4] = on ? SSC_LBP_CRC32C : 0x00;
	pg[5] = on ? 4 : 0;
	pg[6] = on ? 0xc0 : 0x00;	/* LBP_W, LBP_R */
	return tsg_exec(d, cdb, SPC_MODE_SELECT6_CMDLEN, TSG_DIR_TO_DEV, data,
	    sizeof(data), st);
}

int
tsg_verify_lbp(struct tsg_dev *d, uint32_t count, struct tsg_status *st)
{
	uint8_t cdb[SSC_VERIFY6_CMDLEN] = { SSC_VERIFY6_CMD, SSC_VLBPM };

	if (count > 0xffffff)
		return -EINVAL;
	put_be24(cdb + 2, count);
	return tsg_exec(d, cdb, SSC_VERIFY6_CMDLEN, TSG_DIR_NONE, NULL, 0, st);
}

/* Copy n bytes of space-padded SCSI text, trimmed, as a C string. */
static void
scsi_text(char *dst, const uint8_t *src, size_t n)
{
	while (n && (src[n - 1] == ' ' || src[n - 1] == 0))
		n--;
	while (n && *src == ' ') {
		src++;
		n--;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

int
tsg_inquiry(struct tsg_dev *d, struct tsg_inquiry *inq, struct tsg_status *st)
{
	uint8_t cdb[SPC_INQUIRY_CMDLEN] = { SPC_INQUIRY_CMD, 0, 0, 0, 96, 0 };
	uint8_t buf[96] = { 0 };
	int rc;

	memset(inq, 0, sizeof(*inq));
	if ((rc = tsg_exec(d, cdb, SPC_INQUIRY_CMDLEN, TSG_DIR_FROM_DEV, buf,
	    sizeof(buf), st)) != 0)
		return rc;
	inq->peripheral_type = buf[0] & 0x1f;
	scsi_text(inq->vendor, buf + 8, 8);
	scsi_text(inq->product, buf + 16, 16);
	scsi_text(inq->revision, buf + 32, 4);
	uint8_t vpd[SPC_INQUIRY_CMDLEN] = { SPC_INQUIRY_CMD, SPC_INQUIRY_EVPD,
	    SPC_VPD_UNIT_SERIAL, 0, 68, 0 };
	uint8_t sn[68] = { 0 };
	struct tsg_status st2;
	if (tsg_exec(d, vpd, SPC_INQUIRY_CMDLEN, TSG_DIR_FROM_DEV, sn, sizeof(sn),
	    &st2) == 0 && sn[1] == SPC_VPD_UNIT_SERIAL) {
		size_t n = sn[3] < 64 ? sn[3] : 64;
		scsi_text(inq->serial, sn + 4, n);
	}
	return 0;
}

int
tsg_mode(struct tsg_dev *d, struct tsg_mode *m, struct tsg_status *st)
{
	uint8_t cdb[SPC_MODE_SENSE6_CMDLEN] = { SPC_MODE_SENSE6_CMD, 0,
	    SSC_MP_DEV_CONFIG, 0, 64, 0 };
	uint8_t buf[64] = { 0 };
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = tsg_exec(d, cdb, SPC_MODE_SENSE6_CMDLEN, TSG_DIR_FROM_DEV, buf,
	    sizeof(buf), st)) != 0)
		return rc;
	m->write_protect = buf[2] & 0x80;
	m->buffered_mode = (buf[2] >> 4) & 7;
	if (buf[3] >= 8) {
		m->density = buf[4];
		m->block_length = (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 |
		    buf[11];
	}
	return 0;
}

int
tsg_buffer_fill(struct tsg_dev *d, uint32_t *blocks, uint32_t *bytes,
    struct tsg_status *st)
{
	uint8_t cdb[SSC_READ_POSITION_CMDLEN] = { SSC_READ_POSITION_CMD,
	    SSC_RP_SHORT };
	uint8_t buf[20] = { 0 };
	int rc;

	if ((rc = tsg_exec(d, cdb, SSC_READ_POSITION_CMDLEN, TSG_DIR_FROM_DEV,
	    buf, sizeof(buf), st)) != 0)
		return rc;
	*blocks = (uint32_t)buf[13] << 16 | (uint32_t)buf[14] << 8 | buf[15];
	*bytes = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 |
	    (uint32_t)buf[18] << 8 | buf[19];
	return 0;
}

int
tsg_error_counters(struct tsg_dev *d, int page, struct tsg_counters *c,
    struct tsg_status *st)
{
	uint8_t cdb[SPC_LOG_SENSE_CMDLEN] = { SPC_LOG_SENSE_CMD, 0,
	    (uint8_t)(SPC_LOG_PC_CUMULATIVE | (page & 0x3f)), 0, 0, 0, 0, 0x02,
	    0x00, 0 };
	uint8_t buf[512];
	size_t n, off;
	int rc;

	memset(c, 0, sizeof(*c));
	memset(buf, 0, sizeof(buf));
	if ((rc = tsg_exec(d, cdb, SPC_LOG_SENSE_CMDLEN, TSG_DIR_FROM_DEV, buf,
	    sizeof(buf), st)) != 0)
		return rc;
	n = (size_t)buf[2] << 8 | buf[3];
	if (n > sizeof(buf) - 4)
		n = sizeof(buf) - 4;
	for (off = 4; off + 4 <= 4 + n; off += 4 + buf[off + 3]) {
		unsigned code = (unsigned)buf[off] << 8 | buf[off + 1];
		size_t plen = buf[off + 3];
		uint64_t v = 0;
		if (off + 4 + plen > 4 + n || plen > 8)
			break;
		for (size_t i = 0; i < plen; i++)
			v = v << 8 | buf[off + 4 + i];
		if (code == SPC_LP_CORRECTED) {
			c->corrected = v;
			c->have_corrected = true;
		} else if (code == SPC_LP_BYTES) {
			c->bytes = v;
			c->have_bytes = true;
		} else if (code == SPC_LP_UNCORRECTED) {
			c->uncorrected = v;
			c->have_uncorrected = true;
		}
	}
	return 0;
}

int
tsg_read_attribute(struct tsg_dev *d, uint16_t id, char *out, size_t len,
    struct tsg_status *st)
{
	uint8_t cdb[SPC_READ_ATTRIBUTE_CMDLEN] = { SPC_READ_ATTRIBUTE_CMD, 0x00 };
	uint8_t buf[128] = { 0 };
	int rc;

	cdb[8] = (uint8_t)(id >> 8);
	cdb[9] = (uint8_t)id;
	cdb[13] = sizeof(buf);
	out[0] = '\0';
	if ((rc = tsg_exec(d, cdb, SPC_READ_ATTRIBUTE_CMDLEN, TSG_DIR_FROM_DEV,
	    buf, sizeof(buf), st)) != 0)
		return rc;
	/* 4-byte list length, then id(2) flags(1) length(2) value. */
	uint16_t got = (uint16_t)(buf[4] << 8 | buf[5]);
	size_t alen = (size_t)buf[7] << 8 | buf[8];
	if (got != id || alen > sizeof(buf) - 9)
		return -ENOENT;
	if (alen >= len)
		alen = len - 1;
	scsi_text(out, buf + 9, alen);
	return 0;
}

int
tsg_tapealert(struct tsg_dev *d, uint64_t *flags, struct tsg_status *st)
{
	uint8_t cdb[SPC_LOG_SENSE_CMDLEN] = { SPC_LOG_SENSE_CMD, 0,
	    SPC_LOG_PC_CUMULATIVE | SSC_LP_TAPEALERT, 0, 0, 0, 0, 0x01, 0x40, 0 };
	uint8_t buf[4 + 64 * 5];
	size_t n, off;
	int rc;

	memset(buf, 0, sizeof(buf));
	*flags = 0;
	rc = tsg_exec(d, cdb, SPC_LOG_SENSE_CMDLEN, TSG_DIR_FROM_DEV, buf,
	    sizeof(buf), st);
	if (rc)
		return rc;
	n = (size_t)buf[2] << 8 | buf[3];
	if (n > sizeof(buf) - 4)
		n = sizeof(buf) - 4;
	for (off = 4; off + 5 <= 4 + n; off += 4 + buf[off + 3]) {
		unsigned code = (unsigned)buf[off] << 8 | buf[off + 1];
		if (code >= 1 && code <= 64 && buf[off + 3] >= 1 &&
		    (buf[off + 4] & 1))
			*flags |= 1ULL << (code - 1);
		if (buf[off + 3] == 0)
			break;
	}
	return 0;
}
