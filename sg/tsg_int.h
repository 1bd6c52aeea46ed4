/* Private to sg/: the transport interface behind struct tsg_dev. */
#ifndef ABS_TSG_INT_H
#define ABS_TSG_INT_H

#include "sg/tsg.h"

struct tsg_transport {
	const char *scheme;
	int (*open)(struct tsg_dev *d, const char *path);
	void (*close)(struct tsg_dev *d);
	/*
	 * Execute a CDB. Returns 0 with *scsi_status set (and sense when it is
	 * CHECK CONDITION), or -errno when the command could not be delivered.
	 * *resid is the count of requested bytes not moved.
	 */
	int (*exec)(struct tsg_dev *d, const uint8_t *cdb, int cdblen,
	    enum tsg_dir dir, void *buf, size_t len, size_t *resid,
	    int *scsi_status, uint8_t *sense, int *sense_len);
	/*
	 * Optional queued writes. wsubmit sends WRITE(6) of buf (which stays
	 * valid until reaped) tagged with slot; wreap waits for that slot, the
	 * oldest in flight, and returns its outcome as exec does. Transports
	 * without them run each write at submit and report it at reap.
	 */
	int (*wsubmit)(struct tsg_dev *d, const uint8_t *cdb, const void *buf,
	    size_t len, unsigned slot);
	int (*wreap)(struct tsg_dev *d, unsigned slot, int *scsi_status,
	    uint8_t *sense, int *sense_len);
	unsigned max_depth;	/* most writes in flight the transport takes */
	/*
	 * Optional queued reads, as the writes: rsubmit sends READ(6) into
	 * buf (valid until reaped) tagged with slot; rreap waits for that
	 * slot, the oldest, and returns its outcome as exec does (resid too).
	 * Slots are shared with the writes: a device never has both queued.
	 */
	int (*rsubmit)(struct tsg_dev *d, const uint8_t *cdb, void *buf,
	    size_t len, unsigned slot);
	int (*rreap)(struct tsg_dev *d, unsigned slot, size_t *resid,
	    int *scsi_status, uint8_t *sense, int *sense_len);
	unsigned max_rdepth;	/* most reads in flight (0: none queued) */
	unsigned def_rdepth;	/* the default (0: max_rdepth) */
};

/* One write in the device's queue, oldest at whead. */
struct tsg_wslot {
	const void *buf;
	size_t len;
	uint64_t tag;
	bool done;		/* outcome known (synchronous transports) */
	int rc;
	struct tsg_status st;
};

#define TSG_MAX_LOCKS 8

struct tsg_dev {
	const struct tsg_transport *tr;
	char *uri;
	void *priv;
	struct tsg_wslot *wq;
	unsigned wdepth, whead, wcount;
	unsigned rcount;	/* reads queued (sg/tsg.c's read queue) */
	int locks[TSG_MAX_LOCKS];	/* flock fds held while open (sg/lock.c) */
	unsigned nlocks;
	char why[TSG_WHY_LEN];	/* why an open failed, for tsg_open_why */
	/* A host-side failure behind the last command's sense (vtape). */
	char host_note[sizeof(((struct tsg_status *)0)->note)];
	/*
	 * Opened as a medium changer (tsg_open_changer): no tape set-up, and
	 * commands time out by timeout_ms (set per command by sg/smc.c), not
	 * by tape opcode (a changer's 2Bh is no LOCATE). 0: by opcode.
	 */
	bool changer;
	unsigned timeout_ms;
	/* tsg_exec retried a UNIT ATTENTION (its ASC/ASCQ): the caller clears. */
	bool attention;
	uint8_t ua_asc, ua_ascq;
};

/* The timeout of cdb on d: d->timeout_ms if set, else by tape opcode. */
static inline unsigned
tsg_dev_timeout_ms(const struct tsg_dev *d, const uint8_t *cdb)
{
	return d->timeout_ms ? d->timeout_ms : tsg_timeout_ms(cdb[0]);
}

/*
 * Open uri as a raw SCSI device for a medium changer: the transport's own
 * locks (one user per LUN or node), nothing a tape drive needs, d->changer
 * set for the transport to see. As tsg_open_why otherwise.
 */
int tsg_open_changer(const char *uri, struct tsg_dev **out, char *why);

extern const struct tsg_transport tsg_vtape_transport;
/* A vtape library opened as a device (vtape:LIBDIR): its SMC robot. */
extern const struct tsg_transport tsg_vtape_smc_transport;
extern const struct tsg_transport tsg_null_transport;
extern const struct tsg_transport tsg_iscsi_transport;
extern const struct tsg_transport tsg_fd_transport;
extern const struct tsg_transport tsg_sg_transport;
extern const struct tsg_transport tsg_st_transport;

/*
 * One command through the SG_IO ioctl (sg and st devices), queued at the
 * tail with a timeout for its opcode; outcome as a transport's exec.
 */
int tsg_sg_io(int fd, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len);
/* The same with a timeout of its own (milliseconds). */
int tsg_sg_io_tmo(int fd, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, unsigned timeout_ms, size_t *resid,
    int *scsi_status, uint8_t *sense, int *sense_len);

/* A medium changer backend behind struct tsg_changer. */
struct tsg_changer_backend {
	const char *scheme;
	int (*open)(struct tsg_changer *c, const char *path);
	/* The changer path (malloc'd) and drive number of a drive's path. */
	int (*of_drive)(const char *drive_path, char **path, unsigned *drive);
	void (*close)(struct tsg_changer *c);
	int (*inventory)(struct tsg_changer *c, struct tsg_element **elems,
	    size_t *n, struct tsg_status *st);
	int (*move)(struct tsg_changer *c, enum tsg_elem_type from_type,
	    unsigned from, enum tsg_elem_type to_type, unsigned to,
	    struct tsg_status *st);
	/* Optional (NULL: ILLEGAL REQUEST 20/00, or what info has). */
	int (*info)(struct tsg_changer *c, struct tsg_changer_info *info,
	    struct tsg_status *st);
	int (*scan)(struct tsg_changer *c, struct tsg_status *st);
	int (*prevent)(struct tsg_changer *c, bool prevent,
	    struct tsg_status *st);
	bool (*attention)(struct tsg_changer *c);
};

struct tsg_changer {
	const struct tsg_changer_backend *be;
	char *uri;
	void *priv;
	char why[TSG_WHY_LEN];	/* a backend's open: why it failed, "" */
};

extern const struct tsg_changer_backend tsg_vtape_changer;
extern const struct tsg_changer_backend tsg_smc_changer;
/*
 * The SMC backend's operations (sg/smc.c), for a backend that reaches a
 * changer through an inner URI of its own: the vtape library opens
 * "vtape:LIBDIR" with smc_changer_open and keeps its of_drive.
 */
int smc_changer_open(struct tsg_changer *c, const char *inner);
void smc_changer_close(struct tsg_changer *c);
int smc_changer_inventory(struct tsg_changer *c, struct tsg_element **elems,
    size_t *n, struct tsg_status *st);
int smc_changer_move(struct tsg_changer *c, enum tsg_elem_type from_type,
    unsigned from, enum tsg_elem_type to_type, unsigned to,
    struct tsg_status *st);
int smc_changer_info(struct tsg_changer *c, struct tsg_changer_info *info,
    struct tsg_status *st);
int smc_changer_scan(struct tsg_changer *c, struct tsg_status *st);
int smc_changer_prevent(struct tsg_changer *c, bool prevent,
    struct tsg_status *st);
bool smc_changer_attention(struct tsg_changer *c);
/* The library check (repairing what a crash left) when a drive is opened. */
void vtape_lib_check_drive(const char *drive_path);

/*
 * Exclusive locks (sg/lock.c), held until the fd is closed or the holder
 * dies. tsg_flock locks the file path (created if missing; DIR/.lock and
 * DIR/.changer.lock lock DIR itself, a directory path locks itself) and
 * notes "pid=N via=VIA" in the file: 0 or more the fd, -EBUSY with the holder described
 * in busy, or -errno. The tsg_lock_* calls keep the fd in d->locks (closed
 * by tsg_free) and on failure say why in d->why.
 */
int tsg_flock(const char *path, const char *via, char *busy, size_t len);
int tsg_lock_path(struct tsg_dev *d, const char *path, const char *what);
/* A device node by st_rdev, and its SCSI device (sysfs H:C:T:L) if any. */
int tsg_lock_node(struct tsg_dev *d, int fd);
/*
 * The driver refused to open path (EBUSY): say who has the drive in d->why
 * (the holder of its locks, else another process). Takes no lock.
 */
void tsg_busy_node(struct tsg_dev *d, const char *path);
/* The drive by vendor, product and unit serial (VPD 80h), when it has one. */
int tsg_lock_serial(struct tsg_dev *d);
/* Any other key (an iSCSI target's LUN), a file under the run directory. */
int tsg_lock_name(struct tsg_dev *d, const char *key, const char *what);

/* Fill st as CHECK CONDITION with fixed-format sense; returns TSG_CHECK. */
int tsg_check_status(struct tsg_status *st, uint8_t key, uint8_t asc,
    uint8_t ascq);
/* Fill st as a transport failure; returns err (negative). */
int tsg_transport_status(struct tsg_status *st, int err);

#define SAM_GOOD 0x00
#define SAM_CHECK_CONDITION 0x02

#endif
