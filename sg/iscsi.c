/*
 * The iscsi:// transport: libiscsi's user-space initiator, one session per
 * open device. URI: iscsi://HOST[:PORT]/TARGET-IQN/LUN. Commands run
 * synchronously, except data writes: those are queued (several in flight,
 * sent in order on the one connection) and the socket is driven with
 * poll() and iscsi_service() until the oldest completes. libiscsi's parsed
 * sense lacks the stream bits (FILEMARK, EOM, ILI) and the information
 * field, so the raw sense from the task's data-in (2-byte length, then the
 * bytes) goes to the common decoder.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "sg/tsg_int.h"

#define IS_MAX_DEPTH 32
/* Seconds a queued write may take: a drive may retry a long time. */
#define IS_WRITE_TIMEOUT (TSG_TIMEOUT_DATA_MS / 1000)

struct is_slot {
	struct iscsi_dev *dev;
	struct scsi_iovec iov;	/* the block, for as long as the task lives */
	bool busy, done;
	int status, sense_len, err;
	size_t resid;		/* a read's bytes not moved */
	uint8_t sense[TSG_SENSE_LEN];
};

struct iscsi_dev {
	struct iscsi_context *ctx;
	int lun;
	bool write_timeout_set;	/* iscsi_set_timeout() for queued writes */
	struct is_slot slots[IS_MAX_DEPTH];
};

/* Copy the raw sense of a CHECK CONDITION out of the task's data-in. */
static int
task_sense(struct scsi_task *task, uint8_t *sense)
{
	int n;

	if (task->status != SCSI_STATUS_CHECK_CONDITION ||
	    task->datain.size <= 2 || !task->datain.data)
		return 0;
	n = task->datain.data[0] << 8 | task->datain.data[1];
	if (n > task->datain.size - 2)
		n = task->datain.size - 2;
	if (n > TSG_SENSE_LEN)
		n = TSG_SENSE_LEN;
	memcpy(sense, task->datain.data + 2, (size_t)n);
	return n;
}

/* Log out and free an open session. */
static void
is_close_ctx(struct iscsi_dev *id)
{
	iscsi_logout_sync(id->ctx);
	iscsi_destroy_context(id->ctx);
	free(id);
}

static int
is_open(struct tsg_dev *d, const char *path)
{
	struct iscsi_dev *id = calloc(1, sizeof(*id));
	struct iscsi_url *url;

	(void)path;
	if (!id)
		return -ENOMEM;
	id->ctx = iscsi_create_context("iqn.2026-01.org.abs:engine");
	if (!id->ctx) {
		free(id);
		return -ENOMEM;
	}
	url = iscsi_parse_full_url(id->ctx, d->uri);
	if (!url) {
		iscsi_destroy_context(id->ctx);
		free(id);
		return -EINVAL;
	}
	iscsi_set_targetname(id->ctx, url->target);
	iscsi_set_session_type(id->ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(id->ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	id->lun = url->lun;
	/* One engine per LUN, whatever portal address reaches it. */
	char key[300], what[300];
	snprintf(key, sizeof(key), "iscsi-%.250s-%d", url->target, url->lun);
	snprintf(what, sizeof(what), "iSCSI LUN %d of %.250s", url->lun,
	    url->target);
	int rc = tsg_lock_name(d, key, what);
	if (rc < 0) {
		iscsi_destroy_url(url);
		iscsi_destroy_context(id->ctx);
		free(id);
		return rc;
	}
	rc = iscsi_full_connect_sync(id->ctx, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		iscsi_destroy_context(id->ctx);
		free(id);
		return -ECONNREFUSED;
	}
	d->priv = id;
	if ((rc = tsg_lock_serial(d)) < 0) {
		d->priv = NULL;
		is_close_ctx(id);
		return rc;
	}
	return 0;
}

static void
is_close(struct tsg_dev *d)
{
	struct iscsi_dev *id = d->priv;

	if (!id)
		return;
	iscsi_logout_sync(id->ctx);
	iscsi_destroy_context(id->ctx);
	free(id);
}

static void
write_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct scsi_task *task = data;
	struct is_slot *sl = priv;

	(void)ctx;
	sl->done = true;
	if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED ||
	    status == SCSI_STATUS_TIMEOUT || !task) {
		sl->err = -EIO;
	} else {
		sl->status = task->status;
		sl->sense_len = task_sense(task, sl->sense);
	}
	if (task)
		scsi_free_scsi_task(task);
}

/*
 * Wait once for the socket (poll) and let libiscsi act on it. timeout_ms 0
 * only services what is ready now. One fd and one wait: a plain poll(),
 * libiscsi's own event-loop contract, not an io_uring (see ring/ring.h).
 */
static int
drive_socket(struct iscsi_dev *id, int timeout_ms)
{
	struct pollfd pf = { .fd = iscsi_get_fd(id->ctx),
	    .events = (short)iscsi_which_events(id->ctx) };
	int rc;

	if (!pf.events)
		pf.events = POLLIN;	/* reconnecting: just wait a while */
	rc = poll(&pf, 1, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return -errno;
	/* revents 0 (timeout, signal) still lets libiscsi run its timeouts. */
	if (iscsi_service(id->ctx, rc > 0 ? pf.revents : 0) < 0)
		return -EIO;
	return 0;
}

/* One queued READ completed (or failed to). */
static void
read_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct scsi_task *task = data;
	struct is_slot *sl = priv;

	(void)ctx;
	sl->done = true;
	if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED ||
	    status == SCSI_STATUS_TIMEOUT || !task) {
		sl->err = status == SCSI_STATUS_TIMEOUT ? -ETIMEDOUT : -EIO;
	} else {
		sl->status = task->status;
		sl->sense_len = task_sense(task, sl->sense);
		if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
		    task->residual <= sl->iov.iov_len)
			sl->resid = (size_t)task->residual;
	}
	if (task)
		scsi_free_scsi_task(task);
}

static int
is_rsubmit(struct tsg_dev *d, const uint8_t *cdb, void *buf, size_t len,
    unsigned slot)
{
	struct iscsi_dev *id = d->priv;
	struct scsi_task *task;
	struct is_slot *sl;

	if (slot >= IS_MAX_DEPTH || len > INT32_MAX)
		return -EINVAL;
	if (!id->write_timeout_set) {
		iscsi_set_timeout(id->ctx, IS_WRITE_TIMEOUT);
		id->write_timeout_set = true;
	}
	sl = &id->slots[slot];
	memset(sl, 0, sizeof(*sl));
	sl->dev = id;
	sl->iov.iov_base = buf;
	sl->iov.iov_len = len;
	task = scsi_create_task(SSC_READ6_CMDLEN, (unsigned char *)cdb,
	    SCSI_XFER_READ, (int)len);
	if (!task)
		return -ENOMEM;
	/* The data goes straight into the caller's block. */
	scsi_task_set_iov_in(task, &sl->iov, 1);
	sl->busy = true;
	if (iscsi_scsi_command_async(id->ctx, id->lun, task, read_done, NULL,
	    sl) != 0) {
		scsi_free_scsi_task(task);
		sl->busy = false;
		return -EIO;
	}
	drive_socket(id, 0);
	return 0;
}

static int
is_rreap(struct tsg_dev *d, unsigned slot, size_t *resid, int *scsi_status,
    uint8_t *sense, int *sense_len)
{
	struct iscsi_dev *id = d->priv;
	struct is_slot *sl;
	int rc;

	if (slot >= IS_MAX_DEPTH || !id->slots[slot].busy)
		return -EINVAL;
	sl = &id->slots[slot];
	while (!sl->done)
		if ((rc = drive_socket(id, 1000)) < 0) {
			sl->busy = false;
			return rc;
		}
	sl->busy = false;
	if (sl->err)
		return sl->err;
	*scsi_status = sl->status;
	*resid = sl->resid;
	*sense_len = sl->sense_len;
	memcpy(sense, sl->sense, (size_t)sl->sense_len);
	return 0;
}

static int
is_wsubmit(struct tsg_dev *d, const uint8_t *cdb, const void *buf, size_t len,
    unsigned slot)
{
	struct iscsi_dev *id = d->priv;
	struct scsi_task *task;
	struct is_slot *sl;

	if (slot >= IS_MAX_DEPTH || len > INT32_MAX)
		return -EINVAL;
	if (!id->write_timeout_set) {
		iscsi_set_timeout(id->ctx, IS_WRITE_TIMEOUT);
		id->write_timeout_set = true;
	}
	sl = &id->slots[slot];
	memset(sl, 0, sizeof(*sl));
	sl->dev = id;
	task = scsi_create_task(SSC_WRITE6_CMDLEN, (unsigned char *)cdb,
	    SCSI_XFER_WRITE, (int)len);
	if (!task)
		return -ENOMEM;
	/* Hand libiscsi the data as an iovec it may use until completion. */
	sl->iov.iov_base = (void *)buf;
	sl->iov.iov_len = len;
	scsi_task_set_iov_out(task, &sl->iov, 1);
	sl->busy = true;
	if (iscsi_scsi_command_async(id->ctx, id->lun, task, write_done, NULL,
	    sl) != 0) {
		scsi_free_scsi_task(task);
		sl->busy = false;
		return -EIO;
	}
	/* Start sending now; the rest goes out while we wait at reap. */
	drive_socket(id, 0);
	return 0;
}

static int
is_wreap(struct tsg_dev *d, unsigned slot, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct iscsi_dev *id = d->priv;
	struct is_slot *sl;
	int rc;

	if (slot >= IS_MAX_DEPTH || !id->slots[slot].busy)
		return -EINVAL;
	sl = &id->slots[slot];
	while (!sl->done)
		if ((rc = drive_socket(id, 1000)) < 0) {
			sl->busy = false;
			return rc;
		}
	sl->busy = false;
	if (sl->err)
		return sl->err;
	*scsi_status = sl->status;
	*sense_len = sl->sense_len;
	memcpy(sense, sl->sense, (size_t)sl->sense_len);
	return 0;
}

static int
is_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct iscsi_dev *id = d->priv;
	struct iscsi_data data = { 0, NULL };
	struct scsi_task *task;
	int xfer = dir == TSG_DIR_TO_DEV ? SCSI_XFER_WRITE :
	    dir == TSG_DIR_FROM_DEV ? SCSI_XFER_READ : SCSI_XFER_NONE;

	if (len > INT32_MAX)
		return -EINVAL;
	/* A changer's commands carry their own timeouts (sg/smc.h). */
	if (d->changer)
		iscsi_set_timeout(id->ctx, (int)((tsg_dev_timeout_ms(d, cdb) +
		    999) / 1000));
	task = scsi_create_task(cdblen, (unsigned char *)cdb, xfer, (int)len);
	if (!task)
		return -ENOMEM;
	if (dir == TSG_DIR_TO_DEV) {
		data.size = len;
		data.data = buf;
	} else if (dir == TSG_DIR_FROM_DEV && len &&
	    scsi_task_add_data_in_buffer(task, (int)len, buf) != 0) {
		scsi_free_scsi_task(task);
		return -ENOMEM;
	}
	if (!iscsi_scsi_command_sync(id->ctx, id->lun, task,
	    dir == TSG_DIR_TO_DEV ? &data : NULL)) {
		scsi_free_scsi_task(task);
		return -EIO;
	}
	if (task->status == SCSI_STATUS_TIMEOUT) {
		scsi_free_scsi_task(task);
		return -ETIMEDOUT;
	}
	*scsi_status = task->status;
	*resid = 0;
	if (dir == TSG_DIR_FROM_DEV) {
		if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
		    task->residual <= len)
			*resid = task->residual;
	}
	*sense_len = task_sense(task, sense);
	if (task->status == SCSI_STATUS_ERROR || task->status ==
	    SCSI_STATUS_CANCELLED) {
		scsi_free_scsi_task(task);
		return -EIO;
	}
	scsi_free_scsi_task(task);
	return 0;
}

const struct tsg_transport tsg_iscsi_transport = {
	.scheme = "iscsi",
	.open = is_open,
	.close = is_close,
	.exec = is_exec,
	.wsubmit = is_wsubmit,
	.wreap = is_wreap,
	.max_depth = IS_MAX_DEPTH,
	.rsubmit = is_rsubmit,
	.rreap = is_rreap,
	.max_rdepth = IS_MAX_DEPTH,
	.def_rdepth = 8,
};
