/*
 * Stream sinks for benchmarks: null: discards every write; fd:N sends the
 * bytes of every WRITE to file descriptor N (a pipe to a drive model).
 * Neither has a tape to label, position or read back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#include "sg/tsg_int.h"

static int
null_open(struct tsg_dev *d, const char *path)
{
	(void)d;
	(void)path;
	return 0;
}

static void
null_close(struct tsg_dev *d)
{
	(void)d;
}

/* Every command succeeds; reads find blank tape. */
static int
null_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	(void)d;
	(void)cdblen;
	(void)buf;
	*resid = 0;
	*scsi_status = SAM_GOOD;
	if (dir == TSG_DIR_FROM_DEV && (cdb[0] == SSC_READ6_CMD ||
	    cdb[0] == SSC_READ_POSITION_CMD || cdb[0] == SPC_MODE_SENSE6_CMD)) {
		if (cdb[0] != SSC_READ6_CMD) {
			memset(buf, 0, len);
			return 0;
		}
		*resid = len;
		*scsi_status = SAM_CHECK_CONDITION;
		memset(sense, 0, 18);
		sense[0] = 0x70;
		sense[2] = 0x08;	/* BLANK CHECK */
		sense[7] = 10;
		sense[12] = 0x00;
		sense[13] = 0x05;
		*sense_len = 18;
	}
	return 0;
}

const struct tsg_transport tsg_null_transport = {
	.scheme = "null",
	.open = null_open,
	.close = null_close,
	.exec = null_exec,
};

static int
fd_open(struct tsg_dev *d, const char *path)
{
	uint64_t fd;

	if (util_parse_u64(path, 1 << 20, &fd) < 0)
		return -EINVAL;
	d->priv = (void *)(uintptr_t)(fd + 1);
	return 0;
}

/* WRITE(6) payloads go to the descriptor; the rest is null:'s. */
static int
fd_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	if (cdb[0] == SSC_WRITE6_CMD && dir == TSG_DIR_TO_DEV) {
		int fd = (int)((uintptr_t)d->priv - 1);
		*resid = 0;
		*scsi_status = SAM_GOOD;
		return util_write_all(fd, buf, len);
	}
	return null_exec(d, cdb, cdblen, dir, buf, len, resid, scsi_status, sense,
	    sense_len);
}

const struct tsg_transport tsg_fd_transport = {
	.scheme = "fd",
	.open = fd_open,
	.close = null_close,
	.exec = fd_exec,
};

bool
tsg_is_stream(const struct tsg_dev *d)
{
	return d->tr == &tsg_null_transport || d->tr == &tsg_fd_transport;
}
