/*
 * The sg: transport: the Linux SCSI generic driver, sg:/dev/sgN. Control
 * commands go through the SG_IO ioctl. Data writes use the sg v3
 * asynchronous interface through io_uring: a write() of the sg_io_hdr
 * queues the command, a read() of it (by pack id) reaps it. The fd is
 * O_NONBLOCK so io_uring runs each write inline, in submission order,
 * instead of handing it to worker threads that may reorder them, and every
 * command is queued at the tail (sg queues at the head by default).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>
#include <scsi/sg.h>

#include "sg/tsg_int.h"

#ifndef SG_FLAG_Q_AT_TAIL
#define SG_FLAG_Q_AT_TAIL 0x10
#endif
#define SG_MAX_DEPTH 16		/* the sg driver's queue per fd */
#define DRIVER_SENSE 0x08

struct sg_slot {
	struct sg_io_hdr hdr;
	uint8_t cdb[16];
	uint8_t sense[TSG_SENSE_LEN];
	bool busy;
};

struct sg_dev {
	int fd;
	struct io_uring uring;
	bool have_uring;
	struct sg_slot slots[SG_MAX_DEPTH];
};

/* Milliseconds a command may take: motion can take an hour on a full LTO. */
static unsigned
timeout_ms(uint8_t op)
{
	switch (op) {
	case 0x0a: case 0x08: case 0x10: case 0x13: case 0x2f:
		return 15 * 60 * 1000;		/* WRITE, READ, FILEMARKS, VERIFY */
	case 0x01: case 0x11: case 0x1b: case 0x2b: case 0x92: case 0x19:
		return 60 * 60 * 1000;		/* REWIND, SPACE, LOAD, LOCATE, ERASE */
	default:
		return 60 * 1000;
	}
}

static int
sgio_open(struct tsg_dev *d, const char *path)
{
	struct sg_dev *sd;
	struct stat sb;
	int fd, ver = 0, one = 1;

	if (!*path)
		return -EINVAL;
	/* O_EXCL: one engine per drive; O_NONBLOCK: EBUSY, not a wait. */
	fd = open(path, O_RDWR | O_NONBLOCK | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode) ||
	    ioctl(fd, SG_GET_VERSION_NUM, &ver) < 0 || ver < 30000) {
		close(fd);
		return -ENOTTY;
	}
	/* Reap by pack id: always the oldest write, never another one. */
	if (ioctl(fd, SG_SET_FORCE_PACK_ID, &one) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	sd = calloc(1, sizeof(*sd));
	if (!sd) {
		close(fd);
		return -ENOMEM;
	}
	sd->fd = fd;
	d->priv = sd;
	return 0;
}

static void
sgio_close(struct tsg_dev *d)
{
	struct sg_dev *sd = d->priv;

	if (!sd)
		return;
	if (sd->have_uring)
		io_uring_queue_exit(&sd->uring);
	close(sd->fd);
	free(sd);
}

/* Status, sense and residue of a finished header; -EIO if no SCSI outcome. */
static int
outcome(const struct sg_io_hdr *h, const uint8_t *sbuf, size_t *resid,
    int *scsi_status, uint8_t *sense, int *sense_len)
{
	if (h->host_status || (h->driver_status & ~DRIVER_SENSE)) {
		if (!h->status)
			return -EIO;
	}
	*scsi_status = h->status & 0xfe;
	*sense_len = h->sb_len_wr < TSG_SENSE_LEN ? h->sb_len_wr : TSG_SENSE_LEN;
	if (*sense_len)
		memcpy(sense, sbuf, (size_t)*sense_len);
	if (resid)
		*resid = h->resid > 0 ? (size_t)h->resid : 0;
	return 0;
}

int
tsg_sg_io(int fd, const uint8_t *cdb, int cdblen, int dir, void *buf,
    size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	uint8_t sbuf[TSG_SENSE_LEN];
	struct sg_io_hdr h;

	if (cdblen > 16 || len > UINT32_MAX)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmdp = (unsigned char *)cdb;
	h.cmd_len = (unsigned char)cdblen;
	h.dxfer_direction = !len ? SG_DXFER_NONE : dir == 1 ? SG_DXFER_TO_DEV :
	    SG_DXFER_FROM_DEV;
	h.dxferp = len ? buf : NULL;
	h.dxfer_len = (unsigned)len;
	h.sbp = sbuf;
	h.mx_sb_len = sizeof(sbuf);
	h.timeout = timeout_ms(cdb[0]);
	h.flags = SG_FLAG_Q_AT_TAIL;
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return outcome(&h, sbuf, resid, scsi_status, sense, sense_len);
}

static int
sgio_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, int dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct sg_dev *sd = d->priv;

	return tsg_sg_io(sd->fd, cdb, cdblen, dir, buf, len, resid, scsi_status,
	    sense, sense_len);
}

/* Submit the prepared SQE and wait for its completion; its result. */
static int
uring_run(struct sg_dev *sd, unsigned timeout)
{
	struct __kernel_timespec ts = { .tv_sec = timeout / 1000 + 60 };
	struct io_uring_cqe *cqe;
	int rc;

	if ((rc = io_uring_submit(&sd->uring)) < 0)
		return rc;
	if ((rc = io_uring_wait_cqe_timeout(&sd->uring, &cqe, &ts)) == 0) {
		rc = cqe->res;
		io_uring_cqe_seen(&sd->uring, cqe);
		return rc;
	}
	/* Take the request back: it points into the caller's memory. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&sd->uring);
	if (sqe) {
		io_uring_prep_cancel64(sqe, 1, 0);
		io_uring_sqe_set_data64(sqe, 2);
		io_uring_submit(&sd->uring);
	}
	for (int n = 0; n < 2 && io_uring_wait_cqe(&sd->uring, &cqe) == 0; n++)
		io_uring_cqe_seen(&sd->uring, cqe);
	return rc == -ETIME ? -ETIMEDOUT : rc;
}

static int
sgio_wsubmit(struct tsg_dev *d, const uint8_t *cdb, const void *buf,
    size_t len, unsigned slot)
{
	struct sg_dev *sd = d->priv;
	struct io_uring_sqe *sqe;
	struct sg_slot *sl;
	int rc;

	if (slot >= SG_MAX_DEPTH || len > UINT32_MAX)
		return -EINVAL;
	if (!sd->have_uring) {
		if ((rc = io_uring_queue_init(4, &sd->uring, 0)) < 0)
			return rc;
		sd->have_uring = true;
	}
	sl = &sd->slots[slot];
	memset(sl, 0, sizeof(*sl));
	memcpy(sl->cdb, cdb, 6);
	sl->hdr.interface_id = 'S';
	sl->hdr.cmdp = sl->cdb;
	sl->hdr.cmd_len = 6;
	sl->hdr.dxfer_direction = SG_DXFER_TO_DEV;
	sl->hdr.dxferp = (void *)buf;
	sl->hdr.dxfer_len = (unsigned)len;
	sl->hdr.sbp = sl->sense;
	sl->hdr.mx_sb_len = sizeof(sl->sense);
	sl->hdr.timeout = timeout_ms(cdb[0]);
	sl->hdr.flags = SG_FLAG_Q_AT_TAIL;
	sl->hdr.pack_id = (int)slot;
	if (!(sqe = io_uring_get_sqe(&sd->uring)))
		return -EBUSY;
	io_uring_prep_write(sqe, sd->fd, &sl->hdr, sizeof(sl->hdr), 0);
	io_uring_sqe_set_data64(sqe, 1);
	rc = uring_run(sd, 1000);
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(sl->hdr))
		return -EIO;
	sl->busy = true;
	return 0;
}

static int
sgio_wreap(struct tsg_dev *d, unsigned slot, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct sg_dev *sd = d->priv;
	struct io_uring_sqe *sqe;
	struct sg_io_hdr h;
	struct sg_slot *sl;
	int rc;

	if (slot >= SG_MAX_DEPTH || !sd->slots[slot].busy)
		return -EINVAL;
	sl = &sd->slots[slot];
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.pack_id = (int)slot;
	h.dxfer_direction = SG_DXFER_TO_DEV;
	for (;;) {
		if (!(sqe = io_uring_get_sqe(&sd->uring)))
			return -EBUSY;
		io_uring_prep_read(sqe, sd->fd, &h, sizeof(h), 0);
		io_uring_sqe_set_data64(sqe, 1);
		rc = uring_run(sd, sl->hdr.timeout);
		if (rc != -EAGAIN)
			break;
		/* Not done yet (the fd is non-blocking): wait until it is. */
		if (!(sqe = io_uring_get_sqe(&sd->uring)))
			return -EBUSY;
		io_uring_prep_poll_add(sqe, sd->fd, POLLIN);
		io_uring_sqe_set_data64(sqe, 1);
		if ((rc = uring_run(sd, sl->hdr.timeout)) < 0)
			break;
	}
	sl->busy = false;
	if (rc < 0)
		return rc;
	if (rc != (int)sizeof(h) || h.pack_id != (int)slot)
		return -EIO;
	return outcome(&h, sl->sense, NULL, scsi_status, sense, sense_len);
}

const struct tsg_transport tsg_sg_transport = {
	.scheme = "sg",
	.open = sgio_open,
	.close = sgio_close,
	.exec = sgio_exec,
	.wsubmit = sgio_wsubmit,
	.wreap = sgio_wreap,
	.max_depth = SG_MAX_DEPTH,
};
