/*
 * The sg: transport: the Linux SCSI generic driver, sg:/dev/sgN. Control
 * commands go through the SG_IO ioctl. Data writes use the sg v3
 * asynchronous interface: a write() of the sg_io_hdr queues the command and
 * returns at once, a read() of it (by pack id) reaps it, and poll() waits
 * for it. Several writes are in flight in the driver between the two; the
 * syscalls themselves never block (O_NONBLOCK), so they are plain calls,
 * not io_uring requests (see ring/ring.h). Every command is queued at the
 * tail (sg queues at the head by default), but that orders only the host's
 * queue: the WRITEs go out as SIMPLE tasks (sg cannot ask for ORDERED), and
 * the kernel's iSCSI initiator with tgt was seen to put two equal blocks on
 * tape swapped (a later write's data arrived first). So the transport grants
 * one write in flight (SG_SAFE_DEPTH); the queued path stays for a device
 * proven to run commands in order.
 *
 * A restore's READs are queued the same way, 8 in flight by default (up to
 * the driver's 16). A READ carries no data to the target, so the swap seen
 * with writes (a later command's data arriving first) has no counterpart;
 * and a READ the target ran out of order would hand a block to the wrong
 * buffer, which the engine's CRC32C of every block against the trailer's
 * table refuses: never wrong data, at worst a failed restore, and
 * `--queue 1` reads one at a time.
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

#include <scsi/sg.h>

#include "sg/tsg_int.h"

#ifndef SG_FLAG_Q_AT_TAIL
#define SG_FLAG_Q_AT_TAIL 0x10
#endif
#define SG_MAX_DEPTH 16		/* the sg driver's queue per fd */
#define SG_SAFE_DEPTH 1		/* writes granted in flight: see above */
#define DRIVER_SENSE 0x08

struct sg_slot {
	struct sg_io_hdr hdr;
	uint8_t cdb[16];
	uint8_t sense[TSG_SENSE_LEN];
	bool busy;
};

struct sg_dev {
	int fd;
	struct sg_slot slots[SG_MAX_DEPTH];
};

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
	if (fd < 0 && errno == EBUSY) {
		tsg_busy_node(d, path);
		return -EBUSY;
	}
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
	/* One engine per drive, whichever of its nodes (sg, st) it came by. */
	int rc;
	if ((rc = tsg_lock_node(d, fd)) < 0 || (rc = tsg_lock_serial(d)) < 0) {
		d->priv = NULL;
		close(fd);
		free(sd);
		return rc;
	}
	return 0;
}

static void
sgio_close(struct tsg_dev *d)
{
	struct sg_dev *sd = d->priv;

	if (!sd)
		return;
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
tsg_sg_io(int fd, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	return tsg_sg_io_tmo(fd, cdb, cdblen, dir, buf, len, tsg_timeout_ms(cdb[0]),
	    resid, scsi_status, sense, sense_len);
}

int
tsg_sg_io_tmo(int fd, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, unsigned timeout_ms, size_t *resid,
    int *scsi_status, uint8_t *sense, int *sense_len)
{
	uint8_t sbuf[TSG_SENSE_LEN];
	struct sg_io_hdr h;

	if (cdblen > 16 || len > UINT32_MAX)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmdp = (unsigned char *)cdb;
	h.cmd_len = (unsigned char)cdblen;
	h.dxfer_direction = !len ? SG_DXFER_NONE : dir == TSG_DIR_TO_DEV ?
	    SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
	h.dxferp = len ? buf : NULL;
	h.dxfer_len = (unsigned)len;
	h.sbp = sbuf;
	h.mx_sb_len = sizeof(sbuf);
	h.timeout = timeout_ms;
	h.flags = SG_FLAG_Q_AT_TAIL;
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return outcome(&h, sbuf, resid, scsi_status, sense, sense_len);
}

static int
sgio_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct sg_dev *sd = d->priv;

	return tsg_sg_io_tmo(sd->fd, cdb, cdblen, dir, buf, len,
	    tsg_dev_timeout_ms(d, cdb), resid, scsi_status, sense, sense_len);
}

/* Queue one command on the fd (sg v3's write()); reaped by its slot. */
static int
sgio_submit(struct tsg_dev *d, const uint8_t *cdb, int dxfer, void *buf,
    size_t len, unsigned slot)
{
	struct sg_dev *sd = d->priv;
	struct sg_slot *sl;
	ssize_t n;

	if (slot >= SG_MAX_DEPTH || len > UINT32_MAX)
		return -EINVAL;
	sl = &sd->slots[slot];
	memset(sl, 0, sizeof(*sl));
	memcpy(sl->cdb, cdb, 6);
	sl->hdr.interface_id = 'S';
	sl->hdr.cmdp = sl->cdb;
	sl->hdr.cmd_len = 6;
	sl->hdr.dxfer_direction = dxfer;
	sl->hdr.dxferp = buf;
	sl->hdr.dxfer_len = (unsigned)len;
	sl->hdr.sbp = sl->sense;
	sl->hdr.mx_sb_len = sizeof(sl->sense);
	sl->hdr.timeout = tsg_timeout_ms(cdb[0]);
	sl->hdr.flags = SG_FLAG_Q_AT_TAIL;
	sl->hdr.pack_id = (int)slot;
	/* Queues the command and returns; the driver keeps it in flight. */
	n = write(sd->fd, &sl->hdr, sizeof(sl->hdr));
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(sl->hdr))
		return -EIO;
	sl->busy = true;
	return 0;
}

static int
sgio_wsubmit(struct tsg_dev *d, const uint8_t *cdb, const void *buf,
    size_t len, unsigned slot)
{
	return sgio_submit(d, cdb, SG_DXFER_TO_DEV, (void *)buf, len, slot);
}

static int
sgio_rsubmit(struct tsg_dev *d, const uint8_t *cdb, void *buf, size_t len,
    unsigned slot)
{
	return sgio_submit(d, cdb, SG_DXFER_FROM_DEV, buf, len, slot);
}

/* Wait for slot's command (the oldest) and take its outcome. */
static int
sgio_reap(struct tsg_dev *d, unsigned slot, size_t *resid, int *scsi_status,
    uint8_t *sense, int *sense_len)
{
	struct sg_dev *sd = d->priv;
	struct pollfd pf = { .fd = sd->fd, .events = POLLIN };
	struct sg_io_hdr h;
	struct sg_slot *sl;
	ssize_t n;
	int rc = 0;

	if (slot >= SG_MAX_DEPTH || !sd->slots[slot].busy)
		return -EINVAL;
	sl = &sd->slots[slot];
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.pack_id = (int)slot;
	h.dxfer_direction = sl->hdr.dxfer_direction;
	/* The drive's own timeout fires first; a minute more is ours. */
	int wait_ms = (int)(sl->hdr.timeout + 60 * 1000);
	for (;;) {
		if ((n = read(sd->fd, &h, sizeof(h))) >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			break;
		}
		/* Not done yet (the fd is non-blocking): wait until it is. */
		int r = poll(&pf, 1, wait_ms);
		if (r < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (r == 0) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	sl->busy = false;
	if (rc < 0)
		return rc;
	if (n != (ssize_t)sizeof(h) || h.pack_id != (int)slot)
		return -EIO;
	return outcome(&h, sl->sense, resid, scsi_status, sense, sense_len);
}

static int
sgio_wreap(struct tsg_dev *d, unsigned slot, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	return sgio_reap(d, slot, NULL, scsi_status, sense, sense_len);
}

const struct tsg_transport tsg_sg_transport = {
	.scheme = "sg",
	.open = sgio_open,
	.close = sgio_close,
	.exec = sgio_exec,
	.wsubmit = sgio_wsubmit,
	.wreap = sgio_wreap,
	.max_depth = SG_SAFE_DEPTH,
	.rsubmit = sgio_rsubmit,
	.rreap = sgio_reap,
	.max_rdepth = SG_MAX_DEPTH,
	.def_rdepth = 8,
};
