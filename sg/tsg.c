/* The tape API: URI dispatch, SSC command builders and sense decoding. */
#include <errno.h>
#include <pthread.h>
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

	/* Nothing may overtake queued writes or reads. */
	if (d->wcount || d->rcount) {
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
	if (d->wcount == d->wdepth || d->rcount)
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

/* ---- queued reads ---- */

/* One read of the queue: its buffer and, once reaped, its outcome. */
struct tsg_rslot {
	void *buf;
	size_t len;
	uint8_t cdb[SSC_READ6_CMDLEN];
	bool done;		/* outcome known (run at submit, or reaped) */
	int rc;
	struct tsg_status st;
};

struct tsg_rq {
	struct tsg_dev *d;
	unsigned depth;
	size_t maxlen;
	bool async;		/* the transport queues reads itself */
	struct tsg_rslot *s;
	unsigned head, n;	/* the oldest queued read's slot; reads queued */
	bool active;		/* a plan is under way */
	bool ua_retried;	/* this plan got past a UNIT ATTENTION once */
	uint64_t count, issued, handed;
	size_t (*len_of)(void *ctx, uint64_t i);
	void *ctx;
	struct tsg_rq_stats stats;
	/*
	 * Read-ahead for a transport that runs one command at a time (vtape,
	 * st): a thread of the queue's own runs the queued reads in order
	 * while the caller checks the blocks before them. Only it touches
	 * the device while reads are queued.
	 */
	bool threaded;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t run;		/* reads the thread has run (stats.reads: queued) */
	bool quit;
};

/* The read-ahead thread: each queued read in turn, as a lone command. */
static void *
rq_worker(void *arg)
{
	struct tsg_rq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->quit && q->run == q->stats.reads)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->quit)
			break;
		struct tsg_rslot *s = &q->s[q->run % q->depth];
		pthread_mutex_unlock(&q->mu);
		int rc = exec_once(q->d, s->cdb, SSC_READ6_CMDLEN, TSG_DIR_FROM_DEV,
		    s->buf, s->len, &s->st);
		pthread_mutex_lock(&q->mu);
		s->rc = rc;
		s->done = true;
		q->run++;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* How a read moved the tape. */
enum rq_motion { RQ_STILL, RQ_BLOCK, RQ_FILEMARK, RQ_UNKNOWN };

static enum rq_motion
rq_motion(const struct tsg_rslot *s)
{
	const struct tsg_status *st = &s->st;

	if (s->rc == 0)
		return RQ_BLOCK;
	if (s->rc < 0)
		return RQ_UNKNOWN;
	if (st->filemark)
		return RQ_FILEMARK;
	if (tsg_is_eod(st))
		return RQ_STILL;
	switch (st->cat) {
	case TSG_CAT_NO_SENSE:		/* ILI: a longer block, passed */
	case TSG_CAT_RECOVERED:		/* read, with effort */
	case TSG_CAT_MEDIUM_ERROR:	/* past the block that failed */
		return RQ_BLOCK;
	case TSG_CAT_NOT_READY:
	case TSG_CAT_ILLEGAL_REQUEST:
	case TSG_CAT_UNIT_ATTENTION:
	case TSG_CAT_ABORTED:
		return RQ_STILL;	/* not run */
	case TSG_CAT_OTHER:
		/* BUSY, RESERVATION CONFLICT, TASK SET FULL, TASK ABORTED */
		if (st->scsi_status == 0x08 || st->scsi_status == 0x18 ||
		    st->scsi_status == 0x28 || st->scsi_status == 0x40)
			return RQ_STILL;
		return RQ_UNKNOWN;
	default:
		return RQ_UNKNOWN;
	}
}

int
tsg_read_queue_open(struct tsg_dev *d, unsigned depth, size_t maxlen,
    struct tsg_rq **out)
{
	struct tsg_rq *q;
	unsigned max = d->tr->max_rdepth;

	*out = NULL;
	if (d->wcount || d->rcount)
		return -EBUSY;
	if (maxlen == 0 || maxlen > 0xffffff)
		return -EINVAL;
	if (!(q = calloc(1, sizeof(*q))))
		return -ENOMEM;
	q->d = d;
	q->maxlen = maxlen;
	q->async = d->tr->rsubmit && max > 1;
	/*
	 * A transport that runs each read at submit gains nothing from
	 * reading ahead by default; asked for, it reads ahead in line (the
	 * endings are then what a queue's are, which the tests use).
	 */
	if (depth == 0)
		depth = d->tr->def_rdepth ? d->tr->def_rdepth : q->async ? max : 1;
	if (q->async && depth > max)
		depth = max;
	if (depth > 64)
		depth = 64;
	q->depth = depth;
	if (!(q->s = calloc(depth, sizeof(*q->s)))) {
		free(q);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < depth; i++)
		if (!(q->s[i].buf = aligned_alloc(4096, (maxlen + 4095) &
		    ~(size_t)4095))) {
			tsg_read_queue_close(q);
			return -ENOMEM;
		}
	if (!q->async && depth > 1 && !getenv("ABS_READ_INLINE")) {
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		if (pthread_create(&q->th, NULL, rq_worker, q) != 0) {
			pthread_cond_destroy(&q->cv);
			pthread_mutex_destroy(&q->mu);
		} else {
			q->threaded = true;
		}
	}
	*out = q;
	return 0;
}

unsigned
tsg_read_queue_depth(const struct tsg_rq *q)
{
	return q->depth;
}

int
tsg_read_queue_plan(struct tsg_rq *q, uint64_t count,
    size_t (*len_of)(void *ctx, uint64_t i), void *ctx)
{
	if (q->active || q->n)
		return -EBUSY;
	q->count = count;
	q->issued = q->handed = 0;
	q->len_of = len_of;
	q->ctx = ctx;
	q->active = true;
	q->ua_retried = false;
	return 0;
}

/* Queue the plan's next read at the tail. */
static void
rq_submit(struct tsg_rq *q)
{
	struct tsg_dev *d = q->d;
	unsigned i = (q->head + q->n) % q->depth;
	struct tsg_rslot *s = &q->s[i];
	uint8_t cdb[SSC_READ6_CMDLEN] = { SSC_READ6_CMD, SSC_SILI };
	size_t len = q->len_of ? q->len_of(q->ctx, q->issued) : q->maxlen;
	int rc;

	if (len == 0 || len > q->maxlen)
		len = q->maxlen;
	put_be24(cdb + 2, (uint32_t)len);
	s->len = len;
	s->done = false;
	memcpy(s->cdb, cdb, sizeof(cdb));
	memset(&s->st, 0, sizeof(s->st));
	q->n++;
	q->issued++;
	d->rcount++;
	if (q->threaded) {
		pthread_mutex_lock(&q->mu);
		q->stats.reads++;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		return;
	}
	q->stats.reads++;
	if (!q->async) {
		/* Run it now, report it when asked for. */
		s->rc = exec_once(d, cdb, SSC_READ6_CMDLEN, TSG_DIR_FROM_DEV,
		    s->buf, len, &s->st);
		s->done = true;
		return;
	}
	abs_crash_point("scsi-read");
	d->host_note[0] = '\0';
	if ((rc = d->tr->rsubmit(d, cdb, s->buf, len, i)) < 0) {
		/* Not sent: it ends the plan where it stands in line. */
		s->rc = tsg_transport_status(&s->st, rc);
		s->done = true;
	}
}

/* Take the oldest queued read's outcome off the queue. */
static struct tsg_rslot *
rq_reap(struct tsg_rq *q)
{
	struct tsg_dev *d = q->d;
	struct tsg_rslot *s = &q->s[q->head];

	if (q->threaded) {
		pthread_mutex_lock(&q->mu);
		while (!s->done)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
	}
	if (!s->done) {
		uint8_t sense[TSG_SENSE_LEN];
		int status = 0, sense_len = 0;
		size_t resid = 0;
		int rc = d->tr->rreap(d, q->head, &resid, &status, sense,
		    &sense_len);
		if (rc < 0) {
			s->rc = tsg_transport_status(&s->st, rc);
		} else {
			tsg_decode_sense(sense, sense_len, status, &s->st);
			s->st.xfer = resid <= s->len ? s->len - resid : 0;
			s->rc = s->st.cat == TSG_CAT_GOOD ? 0 : TSG_CHECK;
		}
		memcpy(s->st.note, d->host_note, sizeof(s->st.note));
		s->done = true;
	}
	/* As tsg_read: a shorter block with SILI is a block. */
	if (s->rc == TSG_CHECK && s->st.cat == TSG_CAT_NO_SENSE && s->st.ili &&
	    s->st.info > 0 && !s->st.filemark && !s->st.eom)
		s->rc = 0;
	q->head = (q->head + 1) % q->depth;
	q->n--;
	d->rcount--;
	return s;
}

/*
 * Reap and throw away every queued read, then SPACE the tape back over the
 * objects (blocks and filemarks) they moved it by, to just past the last
 * read kept. Only SPACE BLOCKS backward, by every object at once: a drive
 * that stops at a filemark (SSC: on its beginning side, the count not
 * spaced in the information field) is sent on from there with what is
 * left, filemark by filemark; tgt, which counts filemarks as blocks when
 * spacing (and whose backward SPACE FILEMARKS lands one object too far),
 * gets there in one. Nothing crosses the filemark the last read kept
 * ended on, as it is not counted.
 */
static int
rq_discard(struct tsg_rq *q, struct tsg_status *st)
{
	uint64_t objects = 0;
	unsigned fms = 0;
	bool unknown = false;
	int rc = 0;

	q->active = false;
	memset(st, 0, sizeof(*st));
	while (q->n) {
		struct tsg_rslot *s = rq_reap(q);
		q->stats.discarded++;
		switch (rq_motion(s)) {
		case RQ_FILEMARK:
			fms++;
			/* fall through */
		case RQ_BLOCK:
			objects++;
			break;
		case RQ_UNKNOWN:
			unknown = true;
			break;
		case RQ_STILL:
			break;
		}
	}
	if (unknown) {
		tsg_transport_status(st, -EIO);
		snprintf(st->note, sizeof(st->note), "a read queued behind the "
		    "last one kept failed without saying how the tape moved: "
		    "its position is unknown");
		return -EIO;
	}
	if (!objects)
		return 0;
	q->stats.repositions++;
	for (unsigned tries = 0; objects && tries <= fms; tries++) {
		rc = tsg_space(q->d, TSG_SPACE_BLOCKS, -(int32_t)objects, st);
		if (rc == 0) {
			objects = 0;
			break;
		}
		/* Stopped on the near side of a filemark: on over it. */
		if (rc != TSG_CHECK || !st->filemark || !st->valid ||
		    st->info < 1 || (uint64_t)st->info > objects)
			break;
		objects = (uint64_t)st->info - 1;
		rc = 0;
	}
	if (rc != 0 || objects) {
		char why[160];
		if (rc == 0)
			snprintf(why, sizeof(why), "filemarks where none were read");
		else
			tsg_status_str(st, why, sizeof(why));
		snprintf(st->note, sizeof(st->note), "putting the tape back "
		    "over what was read ahead failed: %.160s: its position is "
		    "unknown", why);
		return rc < 0 ? rc : -EIO;
	}
	memset(st, 0, sizeof(*st));
	return 0;
}

int
tsg_read_queue_next(struct tsg_rq *q, void **blk, struct tsg_status *st)
{
	struct tsg_rslot *s;
	struct tsg_status st2;
	int rc;

	*blk = NULL;
	for (;;) {
		if (!q->active) {
			memset(st, 0, sizeof(*st));
			return -ENODATA;
		}
		/* Keep the queue full (the block handed out last is free now). */
		while (q->n < q->depth && (!q->count || q->issued < q->count))
			rq_submit(q);
		if (!q->n) {
			q->active = false;
			memset(st, 0, sizeof(*st));
			return -ENODATA;
		}
		s = rq_reap(q);
		q->handed++;
		*st = s->st;
		if (s->rc == 0) {
			*blk = s->buf;
			return 0;
		}
		rc = s->rc;
		/* A UNIT ATTENTION ran nothing: put back what ran behind it and
		   read again from there, once (as tsg_exec does). */
		if (rc == TSG_CHECK && st->cat == TSG_CAT_UNIT_ATTENTION &&
		    !q->ua_retried) {
			struct tsg_dev *d = q->d;
			d->attention = true;
			d->ua_asc = st->asc;
			d->ua_ascq = st->ascq;
			uint64_t handed = q->handed - 1;
			if ((rc = rq_discard(q, &st2)) < 0) {
				*st = st2;
				return rc;
			}
			q->active = true;
			q->ua_retried = true;
			q->issued = q->handed = handed;
			continue;
		}
		if (rq_discard(q, &st2) < 0) {
			/* The ending stands; the note says the tape is lost. */
			memcpy(st->note, st2.note, sizeof(st->note));
			return rc < 0 ? rc : -EIO;
		}
		return rc;
	}
}

int
tsg_read_queue_stop(struct tsg_rq *q, struct tsg_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!q->active && !q->n)
		return 0;
	return rq_discard(q, st);
}

void
tsg_read_queue_close(struct tsg_rq *q)
{
	struct tsg_status st;

	if (!q)
		return;
	/* An idle queue touches no device: it may be gone already. */
	if (q->n)
		tsg_read_queue_stop(q, &st);
	if (q->threaded) {
		pthread_mutex_lock(&q->mu);
		q->quit = true;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->th, NULL);
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
	}
	for (unsigned i = 0; q->s && i < q->depth; i++)
		free(q->s[i].buf);
	free(q->s);
	free(q);
}

void
tsg_read_queue_stats(const struct tsg_rq *q, struct tsg_rq_stats *s)
{
	*s = q->stats;
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
