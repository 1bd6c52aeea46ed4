/*
 * The st: transport: the Linux SCSI tape driver, st:/dev/nstN (the
 * non-rewinding node). Data moves with write() and read(), positioning with
 * MTIO ioctls, so the driver's own state (position, EOM) stays right.
 * Commands with no MTIO equivalent and no effect on position (INQUIRY,
 * MODE SENSE/SELECT, LOG SENSE, READ POSITION, READ ATTRIBUTE ...) go
 * through SG_IO on the same fd. What the driver reports as errno is turned
 * into the sense the engine already acts on:
 *
 * - the write that crosses early warning returns its full count and the
 *   driver flags GMT_EOT: reported as early warning (block written);
 * - the next write returns ENOSPC and writes nothing: VOLUME OVERFLOW with
 *   the block not written. After that the driver alternates (one write
 *   done, one ENOSPC), so once past early warning an ENOSPC write is sent
 *   again once before it counts as overflow;
 * - EIO with GMT_EOT: physical end, VOLUME OVERFLOW;
 * - a read that leaves GMT_EOT set hit end of data: BLANK CHECK.
 *
 * Reading ahead: the driver runs one command at a time per drive, and in
 * variable-block mode each read() is one SCSI READ of one block into the
 * caller's pages (or the driver's buffer), nothing read ahead. Its own
 * read-ahead (MTSETDRVBUFFER's MT_ST_READ_AHEAD) serves fixed-block mode
 * only, and its buffered and asynchronous modes (MT_ST_BUFFER_WRITES,
 * MT_ST_ASYNC_WRITES) are for writes. The drive streams from its own
 * buffer as long as the next READ comes soon, so what is possible is on
 * our side: a restore's queued reads (sg/tsg.c) run in a thread of their
 * own, the next read() already waiting in the driver while the engine
 * checks the block before it, 4 blocks buffered; endings are as on every
 * transport (the thread's reads past one are SPACEd back over, MTBSR).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <unistd.h>


#include "sg/tsg_int.h"

#ifndef MTWEOFI
#define MTWEOFI 35	/* write filemarks without flushing (linux/mtio.h) */
#endif

struct st_dev {
	int fd;
	bool past_ew;		/* the driver has reported end of medium */
};

/* Fixed-format sense for an outcome the driver gave as errno. */
static void
make_sense(uint8_t *sense, int *sense_len, uint8_t key, uint8_t asc,
    uint8_t ascq, bool fm, bool eom, bool ili, bool valid, int32_t info)
{
	memset(sense, 0, 18);
	sense[0] = 0x70 | (valid ? 0x80 : 0);
	sense[2] = key | (fm ? 0x80 : 0) | (eom ? 0x40 : 0) | (ili ? 0x20 : 0);
	sense[3] = (uint8_t)((uint32_t)info >> 24);
	sense[4] = (uint8_t)((uint32_t)info >> 16);
	sense[5] = (uint8_t)((uint32_t)info >> 8);
	sense[6] = (uint8_t)info;
	sense[7] = 10;
	sense[12] = asc;
	sense[13] = ascq;
	*sense_len = 18;
}

static int
check(int *scsi_status, uint8_t *sense, int *sense_len, uint8_t key,
    uint8_t asc, uint8_t ascq, bool fm, bool eom, bool ili, bool valid,
    int32_t info)
{
	*scsi_status = SAM_CHECK_CONDITION;
	make_sense(sense, sense_len, key, asc, ascq, fm, eom, ili, valid, info);
	return 0;
}

static int
st_open(struct tsg_dev *d, const char *path)
{
	struct st_dev *sd;
	struct mtget g;
	struct mtop op = { .mt_op = MTSETBLK, .mt_count = 0 };
	struct stat sb;
	int fd;

	if (!*path)
		return -EINVAL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EROFS || errno == EACCES))
		fd = open(path, O_RDONLY | O_CLOEXEC);	/* write-protected */
	if (fd < 0 && errno == EBUSY) {
		tsg_busy_node(d, path);	/* st allows one open per drive */
		return -EBUSY;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode) ||
	    ioctl(fd, MTIOCGET, &g) < 0) {
		close(fd);
		return -ENOTTY;
	}
	sd = calloc(1, sizeof(*sd));
	if (!sd) {
		close(fd);
		return -ENOMEM;
	}
	sd->fd = fd;
	d->priv = sd;
	/* One engine per drive, whichever of its nodes (st, nst, sg) it came by. */
	int rc;
	if ((rc = tsg_lock_node(d, fd)) < 0 || (rc = tsg_lock_serial(d)) < 0) {
		d->priv = NULL;
		close(fd);
		free(sd);
		return rc;
	}
	/* Variable blocks: one write() is one tape block. */
	ioctl(fd, MTIOCTOP, &op);
	return 0;
}

static void
st_close(struct tsg_dev *d)
{
	struct st_dev *sd = d->priv;

	if (!sd)
		return;
	close(sd->fd);
	free(sd);
}

static int
mtop(struct st_dev *sd, short op, int count)
{
	struct mtop o = { .mt_op = op, .mt_count = count };

	return ioctl(sd->fd, MTIOCTOP, &o) < 0 ? -errno : 0;
}

/* The driver's status bits and residue after a failed operation. */
static long
mt_state(struct st_dev *sd, long *resid)
{
	struct mtget g;

	memset(&g, 0, sizeof(g));
	if (ioctl(sd->fd, MTIOCGET, &g) < 0)
		return 0;
	if (resid)
		*resid = g.mt_resid;
	return (long)g.mt_gstat;
}

/* The driver's file number (-1: unknown). */
static long
mt_file(struct st_dev *sd)
{
	struct mtget g;

	if (ioctl(sd->fd, MTIOCGET, &g) < 0)
		return -1;
	return g.mt_fileno;
}

/* SG_IO on the st fd, for commands that do not move the tape. */
static int
passthrough(struct st_dev *sd, const uint8_t *cdb, int cdblen,
    enum tsg_dir dir, void *buf, size_t len, size_t *resid, int *scsi_status,
    uint8_t *sense, int *sense_len)
{
	int rc = tsg_sg_io(sd->fd, cdb, cdblen, dir, buf, len, resid,
	    scsi_status, sense, sense_len);

	/* A driver that takes no SG_IO: the command is not supported. */
	if (rc == -ENOTTY || rc == -EINVAL)
		return check(scsi_status, sense, sense_len, 0x05, 0x20, 0, false,
		    false, false, false, 0);
	return rc;
}

/*
 * After an EIO the driver could not explain (tgt answers SPACE past end of
 * data with NO SENSE 00/05 and a READ there without a residue): ask the
 * drive directly with a READ; true when it answers end of data.
 */
static bool
drive_at_eod(struct st_dev *sd)
{
	size_t plen = 65536, presid = 0;	/* SILI: any block will do */
	uint8_t rd[SSC_READ6_CMDLEN] = { SSC_READ6_CMD, SSC_SILI,
	    (uint8_t)(plen >> 16), (uint8_t)(plen >> 8), (uint8_t)plen, 0 };
	uint8_t ps[TSG_SENSE_LEN];
	int pstatus = 0, pslen = 0;
	void *probe = malloc(plen);
	bool eod = probe && passthrough(sd, rd, SSC_READ6_CMDLEN,
	    TSG_DIR_FROM_DEV, probe, plen, &presid, &pstatus, ps, &pslen) == 0 &&
	    pstatus == SAM_CHECK_CONDITION && pslen >= 14 &&
	    ((ps[2] & 0x0f) == 0x08 ||
	    (ps[12] == 0x00 && ps[13] == 0x05));

	free(probe);
	return eod;
}

static int
st_write(struct st_dev *sd, const void *buf, size_t len, int *scsi_status,
    uint8_t *sense, int *sense_len)
{
	ssize_t n = write(sd->fd, buf, len);

	if (n < 0 && errno == ENOSPC && sd->past_ew)
		n = write(sd->fd, buf, len);	/* the alternation: once more */
	if (n == (ssize_t)len) {
		if (!sd->past_ew && !(mt_state(sd, NULL) & GMT_EOT(~0)))
			return 0;
		sd->past_ew = true;
		/* Written, inside early warning. */
		return check(scsi_status, sense, sense_len, 0x00, 0x00, 0x02,
		    false, true, false, false, 0);
	}
	if (n >= 0)	/* a short write in variable mode: not one block */
		return check(scsi_status, sense, sense_len, 0x03, 0x0c, 0x00,
		    false, false, false, true, (int32_t)(len - (size_t)n));
	if (errno == ENOSPC) {
		sd->past_ew = true;
		return check(scsi_status, sense, sense_len, 0x0d, 0x00, 0x02,
		    false, true, false, true, (int32_t)len);
	}
	if (errno == EROFS || errno == EACCES || errno == EBADF)
		return check(scsi_status, sense, sense_len, 0x07, 0x27, 0x00,
		    false, false, false, false, 0);
	if (errno == EIO) {
		if (mt_state(sd, NULL) & GMT_EOT(~0))
			return check(scsi_status, sense, sense_len, 0x0d, 0x00,
			    0x02, false, true, false, true, (int32_t)len);
		return check(scsi_status, sense, sense_len, 0x03, 0x0c, 0x00,
		    false, false, false, false, 0);
	}
	return -errno;
}

static int
st_read(struct st_dev *sd, void *buf, size_t len, size_t *resid,
    int *scsi_status, uint8_t *sense, int *sense_len)
{
	long file0 = mt_file(sd), gstat0 = mt_state(sd, NULL), gstat;
	ssize_t n;

	/*
	 * Right after a filemark the driver takes an end of data without a
	 * residue (tgt) for a whole block of nothing: read that one block
	 * through SG_IO, where the drive's own sense says which it is.
	 */
	if (GMT_EOF(gstat0)) {
		uint8_t rd[SSC_READ6_CMDLEN] = { SSC_READ6_CMD, SSC_SILI,
		    (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0 };
		if (len > 0xffffff)
			return -EINVAL;
		return passthrough(sd, rd, SSC_READ6_CMDLEN, TSG_DIR_FROM_DEV, buf,
		    len, resid, scsi_status, sense, sense_len);
	}
	n = read(sd->fd, buf, len);

	if (n > 0) {
		/*
		 * A target that reports end of data without a residue (tgt)
		 * makes the driver return the whole buffer and flag EOT: that
		 * is end of data, not a block.
		 */
		if (GMT_EOT(mt_state(sd, NULL))) {
			*resid = len;
			return check(scsi_status, sense, sense_len, 0x08, 0x00,
			    0x05, false, true, false, false, 0);
		}
		*resid = len - (size_t)n;
		return 0;
	}
	*resid = len;
	if (n < 0 && errno == ENOMEM)	/* block larger than the buffer */
		return check(scsi_status, sense, sense_len, 0x00, 0x00, 0x00,
		    false, false, true, false, 0);
	if (n < 0 && errno != EIO)
		return -errno;
	gstat = mt_state(sd, NULL);
	/*
	 * A 0 read is a filemark (the driver moves to the next file) or end
	 * of data; the EOF bit alone may be left over from spacing.
	 */
	if (n == 0 && (file0 >= 0 ? mt_file(sd) == file0 + 1 :
	    GMT_EOF(gstat) && !GMT_EOF(gstat0)))
		return check(scsi_status, sense, sense_len, 0x00, 0x00, 0x01,
		    true, false, false, true, (int32_t)len);
	if (n == 0 || GMT_EOD(gstat) || drive_at_eod(sd))
		return check(scsi_status, sense, sense_len, 0x08, 0x00, 0x05,
		    false, true, false, false, 0);
	return check(scsi_status, sense, sense_len, 0x03, 0x11, 0x00, false,
	    false, false, false, 0);
}

/* SPACE and LOCATE through the driver; what stopped them, as sense. */
static int
st_motion(struct st_dev *sd, short op, int count, int *scsi_status,
    uint8_t *sense, int *sense_len)
{
	long resid = 0, gstat;
	int rc = mtop(sd, op, count);

	sd->past_ew = false;
	if (rc == 0)
		return 0;
	if (rc != -EIO && rc != -ENOSPC) {
		if (rc == -EINVAL || rc == -ENOSYS)
			return check(scsi_status, sense, sense_len, 0x05, 0x20, 0,
			    false, false, false, false, 0);
		return rc;
	}
	gstat = mt_state(sd, &resid);
	if (GMT_EOD(gstat))
		return check(scsi_status, sense, sense_len, 0x08, 0x00, 0x05,
		    false, true, false, true, (int32_t)resid);
	if (GMT_EOF(gstat))
		return check(scsi_status, sense, sense_len, 0x00, 0x00, 0x01,
		    true, false, false, true, (int32_t)resid);
	if (GMT_BOT(gstat))
		return check(scsi_status, sense, sense_len, 0x00, 0x00, 0x04,
		    false, true, false, true, (int32_t)resid);
	if (op == MTSEEK)	/* a drive without LOCATE */
		return check(scsi_status, sense, sense_len, 0x05, 0x20, 0,
		    false, false, false, false, 0);
	/*
	 * Forward spacing that failed without telling the driver why: tgt
	 * answers SPACE past end of data so. A read shows whether the tape
	 * is at end of data (then nothing moved that we needed).
	 */
	if ((op == MTFSF || op == MTFSR) && drive_at_eod(sd))
		return check(scsi_status, sense, sense_len, 0x08, 0x00, 0x05,
		    false, true, false, false, 0);
	return check(scsi_status, sense, sense_len, 0x03, 0x14, 0x00, false,
	    false, false, true, (int32_t)resid);
}

static int32_t
be24s(const uint8_t *p)
{
	int32_t v = (int32_t)((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]);

	return v & 0x800000 ? v - 0x1000000 : v;
}

static int
st_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	struct st_dev *sd = d->priv;
	uint32_t n;
	int32_t count;
	int rc;

	*resid = 0;
	*scsi_status = SAM_GOOD;
	*sense_len = 0;
	switch (cdb[0]) {
	case SSC_WRITE6_CMD:	/* variable blocks only */
		if (cdb[1] & SSC_FIXED)
			break;
		return st_write(sd, buf, len, scsi_status, sense, sense_len);
	case SSC_READ6_CMD:	/* variable blocks only */
		if (cdb[1] & SSC_FIXED)
			break;
		return st_read(sd, buf, len, resid, scsi_status, sense, sense_len);
	case SSC_WRITE_FILEMARKS6_CMD:
		n = (uint32_t)cdb[2] << 16 | (uint32_t)cdb[3] << 8 | cdb[4];
		rc = mtop(sd, (cdb[1] & SSC_IMMED) && n ? MTWEOFI : MTWEOF, (int)n);
		if (rc == -ENOSPC || (rc == -EIO &&
		    (mt_state(sd, NULL) & GMT_EOT(~0))))
			return check(scsi_status, sense, sense_len, 0x0d, 0x00,
			    0x02, false, true, false, true, (int32_t)n);
		if (rc == -EROFS || rc == -EACCES)
			return check(scsi_status, sense, sense_len, 0x07, 0x27,
			    0x00, false, false, false, false, 0);
		return rc;
	case SSC_REWIND_CMD:
		sd->past_ew = false;
		return mtop(sd, MTREW, 1);
	case SSC_LOAD_UNLOAD_CMD:
		sd->past_ew = false;
		return mtop(sd, (cdb[4] & SSC_LOAD) ? MTLOAD : MTUNLOAD, 1);
	case SSC_SPACE6_CMD:
		count = be24s(cdb + 2);
		switch (cdb[1] & 7) {
		case TSG_SPACE_BLOCKS:
			if (!count)
				return 0;
			return st_motion(sd, count > 0 ? MTFSR : MTBSR,
			    count > 0 ? count : -count, scsi_status, sense,
			    sense_len);
		case TSG_SPACE_FILEMARKS:
			if (!count)
				return 0;
			return st_motion(sd, count > 0 ? MTFSF : MTBSF,
			    count > 0 ? count : -count, scsi_status, sense,
			    sense_len);
		case TSG_SPACE_EOD:
			return st_motion(sd, MTEOM, 1, scsi_status, sense, sense_len);
		}
		break;
	case SSC_LOCATE10_CMD: {
		uint32_t lba = (uint32_t)cdb[3] << 24 | (uint32_t)cdb[4] << 16 |
		    (uint32_t)cdb[5] << 8 | cdb[6];
		if (lba > INT32_MAX)
			break;
		return st_motion(sd, MTSEEK, (int)lba, scsi_status, sense,
		    sense_len);
	}
	case SSC_LOCATE16_CMD: {
		uint64_t lba = 0;
		for (int i = 4; i < 12; i++)
			lba = lba << 8 | cdb[i];
		if (lba > INT32_MAX)
			break;
		return st_motion(sd, MTSEEK, (int)lba, scsi_status, sense,
		    sense_len);
	}
	case SPC_MODE_SELECT6_CMD:	/* keep the driver's block size in step */
		rc = passthrough(sd, cdb, cdblen, dir, buf, len, resid,
		    scsi_status, sense, sense_len);
		if (rc == 0 && *scsi_status == SAM_GOOD)
			mtop(sd, MTSETBLK, 0);
		return rc;
	case SSC_VERIFY6_CMD:	/* moves the tape too */
	case SSC_ERASE6_CMD:
		break;
	default:
		return passthrough(sd, cdb, cdblen, dir, buf, len, resid,
		    scsi_status, sense, sense_len);
	}
	/* What the driver's interface cannot express: INVALID FIELD IN CDB. */
	return check(scsi_status, sense, sense_len, 0x05, 0x24, 0x00, false,
	    false, false, false, 0);
}

const struct tsg_transport tsg_st_transport = {
	.scheme = "st",
	.open = st_open,
	.close = st_close,
	.exec = st_exec,
	.max_depth = 1,
	/* See the top: a thread reads ahead (sg/tsg.c), one read() at a time. */
	.def_rdepth = 4,
};
