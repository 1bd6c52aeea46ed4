/*
 * The iscsi:// transport: libiscsi's user-space initiator, one session per
 * open device. URI: iscsi://HOST[:PORT]/TARGET-IQN/LUN. Commands run
 * synchronously; libiscsi's parsed sense lacks the stream bits (FILEMARK,
 * EOM, ILI) and the information field, so the raw sense from the task's
 * data-in (2-byte length, then the bytes) goes to the common decoder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "sg/tsg_int.h"

struct iscsi_dev {
	struct iscsi_context *ctx;
	int lun;
};

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
	int rc = iscsi_full_connect_sync(id->ctx, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		iscsi_destroy_context(id->ctx);
		free(id);
		return -ECONNREFUSED;
	}
	d->priv = id;
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

static int
is_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, int dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct iscsi_dev *id = d->priv;
	struct iscsi_data data = { 0, NULL };
	struct scsi_task *task;
	int xfer = dir == 1 ? SCSI_XFER_WRITE : dir == 2 ? SCSI_XFER_READ :
	    SCSI_XFER_NONE;

	if (len > INT32_MAX)
		return -EINVAL;
	task = scsi_create_task(cdblen, (unsigned char *)cdb, xfer, (int)len);
	if (!task)
		return -ENOMEM;
	if (dir == 1) {
		data.size = len;
		data.data = buf;
	} else if (dir == 2 && len &&
	    scsi_task_add_data_in_buffer(task, (int)len, buf) != 0) {
		scsi_free_scsi_task(task);
		return -ENOMEM;
	}
	if (!iscsi_scsi_command_sync(id->ctx, id->lun, task,
	    dir == 1 ? &data : NULL)) {
		scsi_free_scsi_task(task);
		return -EIO;
	}
	*scsi_status = task->status;
	*resid = 0;
	if (dir == 2) {
		if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
		    task->residual <= len)
			*resid = task->residual;
	}
	*sense_len = 0;
	if (task->status == SCSI_STATUS_CHECK_CONDITION &&
	    task->datain.size > 2 && task->datain.data) {
		int n = task->datain.data[0] << 8 | task->datain.data[1];
		if (n > task->datain.size - 2)
			n = task->datain.size - 2;
		if (n > TSG_SENSE_LEN)
			n = TSG_SENSE_LEN;
		memcpy(sense, task->datain.data + 2, (size_t)n);
		*sense_len = n;
	}
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
};
