/*
 * The tape device API: one interface over every transport, addressed by URI
 * (vtape:DIR, iscsi://, sg:, st:, null:), and the medium-changer API over
 * every library (tsg_changer_*, at the end). Every SCSI outcome is a
 * struct tsg_status; functions return 0 when the command completed with
 * GOOD status, a positive TSG_CHECK when it completed with CHECK CONDITION
 * (the status says why), and a negative errno when the transport failed.
 */
#ifndef ABS_TSG_H
#define ABS_TSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg/ssc.h"

#define TSG_CHECK 1
#define TSG_MAX_BLOCK (8u << 20)	/* largest block the engine writes */
#define TSG_SENSE_LEN 32

enum tsg_cat {
	TSG_CAT_GOOD,
	TSG_CAT_NO_SENSE,	/* flags only: filemark, EOM/EW, ILI */
	TSG_CAT_RECOVERED,
	TSG_CAT_NOT_READY,
	TSG_CAT_MEDIUM_ERROR,
	TSG_CAT_HARDWARE_ERROR,
	TSG_CAT_ILLEGAL_REQUEST,
	TSG_CAT_UNIT_ATTENTION,
	TSG_CAT_DATA_PROTECT,
	TSG_CAT_BLANK_CHECK,
	TSG_CAT_VOLUME_OVERFLOW,
	TSG_CAT_ABORTED,
	TSG_CAT_OTHER,		/* another sense key or SCSI status */
	TSG_CAT_TRANSPORT,	/* no SCSI outcome: err holds -errno */
};

struct tsg_status {
	enum tsg_cat cat;
	int scsi_status;
	uint8_t key, asc, ascq;
	bool filemark, eom, ili, valid;
	int64_t info;		/* information field: residue, count left */
	int err;		/* negative errno for TSG_CAT_TRANSPORT */
	size_t xfer;		/* bytes moved by a read */
	uint8_t sense[TSG_SENSE_LEN];
	int sense_len;
	/*
	 * What the transport knows beyond the sense, "" if nothing: a vtape
	 * names the host file and errno behind HARDWARE ERROR 44/00 (host disk
	 * full: ENOSPC, EDQUOT; EIO) or a MEDIUM ERROR on a host read.
	 */
	char note[256];
};

struct tsg_pos {
	uint64_t lon;		/* logical object number (blocks + filemarks) */
	uint64_t file;		/* logical file identifier (filemarks before) */
	bool bop, eop, known;
	bool bpew;		/* beyond programmable early warning */
};

enum tsg_space_code { TSG_SPACE_BLOCKS = 0, TSG_SPACE_FILEMARKS = 1,
	TSG_SPACE_EOD = 3 };

struct tsg_dev;

/* Open a device by URI; -EINVAL for a bad URI, -EBUSY if in use. */
int tsg_open(const char *uri, struct tsg_dev **out);
/*
 * The same, and on failure a sentence in why (TSG_WHY_LEN bytes) when the
 * transport has more to say than the errno: above all who holds a busy
 * device or cartridge and by which path ("cartridge /lib/carts/A00001 is in
 * use by pid 123 (opened as vtape:/lib/drive0)"); "" otherwise. One medium
 * has one user: a vtape cartridge is locked whatever path reaches it (a
 * drive, carts/BARCODE, a slot), a SCSI drive by device node, SCSI address
 * and unit serial, an iSCSI LUN by target and LUN.
 */
#define TSG_WHY_LEN 512
int tsg_open_why(const char *uri, struct tsg_dev **out, char *why);
void tsg_free(struct tsg_dev *d);
const char *tsg_uri(const struct tsg_dev *d);
/* A benchmark sink with no tape behind it (null:, fd:N). */
bool tsg_is_stream(const struct tsg_dev *d);

/* Decode a sense buffer into st (used by every transport and the fuzzer). */
void tsg_decode_sense(const uint8_t *sense, int len, int scsi_status,
    struct tsg_status *st);
/* One line for humans: "MEDIUM ERROR 11/00 ..." */
const char *tsg_status_str(const struct tsg_status *st, char *buf, size_t len);
/* True at end of data: BLANK CHECK, or 00/05 under another key (tgt). */
bool tsg_is_eod(const struct tsg_status *st);
/* True when a write completed inside the early-warning zone (EW or PEW). */
bool tsg_is_early_warning(const struct tsg_status *st);

/* Run one CDB (opcodes and lengths: sg/ssc.h) moving len bytes of buf. */
int tsg_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen,
    enum tsg_dir dir, void *buf, size_t len, struct tsg_status *st);

int tsg_test_unit_ready(struct tsg_dev *d, struct tsg_status *st);
int tsg_rewind(struct tsg_dev *d, struct tsg_status *st);
int tsg_load(struct tsg_dev *d, bool load, struct tsg_status *st);
/* Write one variable-length block. */
int tsg_write(struct tsg_dev *d, const void *buf, size_t len,
    struct tsg_status *st);
/*
 * Queued writes: up to tsg_write_depth() blocks in flight, reaped strictly
 * in submission order (the order the target runs SIMPLE tasks in is its own:
 * a transport grants a depth above 1 only where the data reaches the target
 * in command order, see sg/sgio.c). A transport that cannot queue (vtape, st)
 * runs each write at submit and reports it at reap, so the caller's
 * window logic is the same everywhere. Other commands need an empty queue.
 */
struct tsg_wdone {
	uint64_t tag;
	int rc;			/* as tsg_write() returns */
	struct tsg_status st;
};
/* Ask for n writes in flight (0: the transport's default); the depth granted. */
unsigned tsg_set_write_depth(struct tsg_dev *d, unsigned n);
unsigned tsg_write_depth(const struct tsg_dev *d);
unsigned tsg_write_inflight(const struct tsg_dev *d);
/* Queue one block; -EBUSY when the queue is full (reap first). */
int tsg_write_submit(struct tsg_dev *d, const void *buf, size_t len,
    uint64_t tag);
/* The oldest write's outcome: 1 and *out filled, 0 if none queued, -errno. */
int tsg_write_reap(struct tsg_dev *d, struct tsg_wdone *out);
int tsg_write_filemarks(struct tsg_dev *d, unsigned n, bool immed,
    struct tsg_status *st);
/* Read one block of up to len bytes (SILI set); st->xfer is its length. */
int tsg_read(struct tsg_dev *d, void *buf, size_t len, struct tsg_status *st);
/*
 * Queued reads: a stream of READ(6)s (variable blocks, SILI) with up to
 * `depth` in flight, handed back strictly in tape order. The caller plans
 * how many reads to make and how long each is (a target that reads across
 * block boundaries, tgt, needs exact lengths), then asks for one block at
 * a time; the queue keeps itself full meanwhile. A transport that cannot
 * queue reads (vtape, st) runs them in order in a thread of the queue's
 * (the next read under way while the caller checks a block; with
 * ABS_READ_INLINE=1 in the environment each read runs as it is queued),
 * so every ending below is the same everywhere.
 *
 * Endings: the first read that is not a block (a filemark, end of data, a
 * block longer than asked, a medium error, any check condition or
 * transport failure) ends the plan there. The reads queued behind it are
 * reaped and thrown away, none of their bytes handed out, and the tape
 * is put back where that read alone would have left it: just past the
 * filemark, at end of data, past the block that failed. Putting it back
 * uses SPACE BLOCKS backward only, over every object (block or filemark)
 * the reads behind it moved: a drive stops at a filemark and is sent on
 * from its count not spaced; tgt, which has no LOCATE, answers READ
 * POSITION with zeros, counts filemarks as blocks when spacing and lands
 * one object too far with a backward SPACE FILEMARKS, gets there in one.
 * tsg_read_queue_stop does the same when the caller ends the
 * stream itself (a block whose CRC is wrong, a short block): the tape is
 * then just past the last block handed out.
 *
 * While reads are queued no other command may run (tsg_exec answers
 * -EBUSY): stop the queue first.
 */
struct tsg_rq;
/* depth reads in flight (0: the transport's default), blocks of maxlen. */
int tsg_read_queue_open(struct tsg_dev *d, unsigned depth, size_t maxlen,
    struct tsg_rq **out);
/* The depth granted (a transport that cannot queue: 1 unless asked). */
unsigned tsg_read_queue_depth(const struct tsg_rq *q);
/*
 * The next reads: count of them (0: until an ending), read i of them
 * asking len_of(ctx, i) bytes (len_of NULL: maxlen). The queue must be
 * idle (the last plan done, ended or stopped).
 */
int tsg_read_queue_plan(struct tsg_rq *q, uint64_t count,
    size_t (*len_of)(void *ctx, uint64_t i), void *ctx);
/*
 * The next read's outcome, as tsg_read returns it: 0 with a block at *blk
 * (st->xfer bytes; valid until the next call), TSG_CHECK for the ending
 * (st says which; the tape is as described above), a negative errno for a
 * transport failure (the position is then unknown), -ENODATA when the
 * plan's reads are all handed out.
 */
int tsg_read_queue_next(struct tsg_rq *q, void **blk, struct tsg_status *st);
/*
 * End the plan here: the queued reads thrown away and the tape put back
 * just past the last block handed out. 0, or negative with st saying why
 * (the position is then unknown).
 */
int tsg_read_queue_stop(struct tsg_rq *q, struct tsg_status *st);
/* Stop (errors ignored) and free. */
void tsg_read_queue_close(struct tsg_rq *q);
/* Reads made and thrown away, and SPACEs to put the tape back, so far. */
struct tsg_rq_stats {
	uint64_t reads, discarded, repositions;
};
void tsg_read_queue_stats(const struct tsg_rq *q, struct tsg_rq_stats *s);
int tsg_space(struct tsg_dev *d, enum tsg_space_code code, int32_t count,
    struct tsg_status *st);
int tsg_locate(struct tsg_dev *d, uint64_t lon, struct tsg_status *st);
int tsg_read_position(struct tsg_dev *d, struct tsg_pos *pos,
    struct tsg_status *st);
int tsg_read_block_limits(struct tsg_dev *d, uint32_t *min, uint32_t *max,
    struct tsg_status *st);
/* Write-protect bit from MODE SENSE's header. */
int tsg_write_protected(struct tsg_dev *d, bool *wp, struct tsg_status *st);
/* Set variable-block mode and buffered mode with MODE SELECT. */
int tsg_set_variable(struct tsg_dev *d, struct tsg_status *st);
/* Programmable early warning in MB (0 = off); -ENOTSUP style via status. */
int tsg_set_pew(struct tsg_dev *d, unsigned mb, struct tsg_status *st);
/*
 * Logical block protection, CRC32C (mode page 0Ah/F0h): with it on, every
 * written block carries its CRC32C in 4 more bytes (big-endian) and every
 * read returns them.
 */
int tsg_set_lbp(struct tsg_dev *d, bool on, struct tsg_status *st);
/* VERIFY(6) count blocks in the drive against their protection CRC. */
int tsg_verify_lbp(struct tsg_dev *d, uint32_t count, struct tsg_status *st);
struct tsg_inquiry {
	char vendor[9], product[17], revision[5], serial[65];
	int peripheral_type;
};
/* Standard INQUIRY plus the unit serial number page (80h) where offered. */
int tsg_inquiry(struct tsg_dev *d, struct tsg_inquiry *inq,
    struct tsg_status *st);

struct tsg_mode {
	bool write_protect;
	int buffered_mode;
	uint8_t density;
	uint32_t block_length;	/* 0: variable */
};
int tsg_mode(struct tsg_dev *d, struct tsg_mode *m, struct tsg_status *st);

/* Short-form READ POSITION: blocks and bytes still in the drive's buffer. */
int tsg_buffer_fill(struct tsg_dev *d, uint32_t *blocks, uint32_t *bytes,
    struct tsg_status *st);

/* Error counter log page (02h write, 03h read): the common parameters. */
struct tsg_counters {
	uint64_t corrected, uncorrected, bytes;
	bool have_corrected, have_uncorrected, have_bytes;
};
int tsg_error_counters(struct tsg_dev *d, int page, struct tsg_counters *c,
    struct tsg_status *st);

/* One MAM attribute (READ ATTRIBUTE, service action 00h) as text. */
int tsg_read_attribute(struct tsg_dev *d, uint16_t id, char *out, size_t len,
    struct tsg_status *st);

/* TapeAlert flags 1..64 as bits 0..63 (LOG SENSE page 2Eh). */
int tsg_tapealert(struct tsg_dev *d, uint64_t *flags, struct tsg_status *st);

/*
 * ---- Medium changers ----
 * A library's robot, addressed by URI like a drive: smc:TRANSPORT-URI is
 * the SCSI medium changer (SMC-3 commands of sg/smc.h, sg/smc.c) over any
 * transport: smc:sg:/dev/sgN (SG_IO), smc:iscsi://HOST[:PORT]/IQN/LUN
 * (libiscsi), smc:vtape:LIBDIR (a vtape library answering the same CDBs,
 * sg/vtape_smc.c). vtape:LIBDIR is the same as smc:vtape:LIBDIR. Elements are numbered as mtx numbers
 * them: slots and import/export elements from 1, drives from 0. Moves
 * that a changer refuses come back as TSG_CHECK with the sense a SCSI
 * changer gives: ILLEGAL REQUEST 3B/0E source empty, 3B/0D destination
 * full, 21/01 no such element, 53/02 the drive holds the cartridge (in
 * use); a library that cannot be reached is a negative errno.
 */
enum tsg_elem_type {		/* the SMC element type codes */
	TSG_ELEM_TRANSPORT = 1,	/* the robot's picker */
	TSG_ELEM_SLOT = 2,	/* storage element */
	TSG_ELEM_PORTAL = 3,	/* import/export element (mail slot) */
	TSG_ELEM_DRIVE = 4,	/* data transfer element */
};

#define TSG_BARCODE_LEN 40	/* a volume tag: up to 32 characters */

#define TSG_IDENT_LEN 68	/* a drive's device identifier (DVCID) */

struct tsg_element {
	enum tsg_elem_type type;
	unsigned num;		/* slots, portals from 1; drives, robot from 0 */
	unsigned addr;		/* SMC element address (vtape: made up) */
	bool full;
	char barcode[TSG_BARCODE_LEN];	/* "" when empty or without a tag */
	unsigned source;	/* full drive: the slot it came from, 0 unknown */
	/*
	 * A full element whose volume tag the robot could not read: barcode
	 * is "" and this is set (never guessed from anything else).
	 */
	bool tag_unreadable;
	bool except;		/* EXCEPT: the element is in an abnormal state */
	uint8_t asc, ascq;	/* ... and why (element descriptor bytes 4-5) */
	bool access;		/* the robot can reach it (ACCESS) */
	bool impexp;		/* portal: IMPEXP (put in by an operator) */
	/* drive: its device identifier (DVCID: mostly the unit serial), "" */
	char ident[TSG_IDENT_LEN];
};

/* What a changer says of itself (INQUIRY, mode pages 1Dh and 1Fh). */
struct tsg_changer_info {
	char vendor[9], product[17], revision[5], serial[65];
	unsigned robots, slots, portals, drives;	/* element counts */
	unsigned first_robot, first_slot, first_portal, first_drive;
	bool dvcid;		/* drives' identifiers offered */
	bool voltag;		/* barcodes offered */
};

struct tsg_changer;

/* Open a changer by URI; -ENOTDIR if it is no library, -EPROTONOSUPPORT. */
int tsg_changer_open(const char *uri, struct tsg_changer **out);
/*
 * The same, and on failure a sentence in why (TSG_WHY_LEN bytes) when the
 * backend has more to say than the errno ("iscsi://.../1 is a tape drive
 * (peripheral type 01h), not a medium changer (08h)"); "" otherwise.
 */
int tsg_changer_open_why(const char *uri, struct tsg_changer **out, char *why);
/*
 * The changer that serves a drive, from the drive's URI (vtape:LIB/driveK):
 * 0 with *out open and *drive its number, -ENODEV when the device is not
 * known to be in a library (a stand-alone drive: the operator changes).
 */
int tsg_changer_of_drive(const char *drive_uri, struct tsg_changer **out,
    unsigned *drive);
void tsg_changer_free(struct tsg_changer *c);
const char *tsg_changer_uri(const struct tsg_changer *c);
/*
 * Every element with its state: *elems is malloc'd (the caller frees it),
 * the robot first, then slots, portals and drives, each in number order.
 */
int tsg_changer_inventory(struct tsg_changer *c, struct tsg_element **elems,
    size_t *n, struct tsg_status *st);
/* The element of that type and number in an inventory, or NULL. */
const struct tsg_element *tsg_changer_element(const struct tsg_element *elems,
    size_t n, enum tsg_elem_type type, unsigned num);
/* Move the medium of one element to another (MOVE MEDIUM). */
int tsg_changer_move(struct tsg_changer *c, enum tsg_elem_type from_type,
    unsigned from, enum tsg_elem_type to_type, unsigned to,
    struct tsg_status *st);
/* Load slot's cartridge into drive. */
int tsg_changer_load(struct tsg_changer *c, unsigned slot, unsigned drive,
    struct tsg_status *st);
/*
 * Put drive's cartridge back into slot, or with slot 0 into the slot it
 * came from, else the first empty one (3B/0D when none is empty).
 */
int tsg_changer_unload(struct tsg_changer *c, unsigned drive, unsigned slot,
    struct tsg_status *st);
/* The changer's identity and geometry (asked once, at open, and cached). */
int tsg_changer_info(struct tsg_changer *c, struct tsg_changer_info *info,
    struct tsg_status *st);
/* INITIALIZE ELEMENT STATUS: the robot scans every element (minutes). */
int tsg_changer_scan(struct tsg_changer *c, struct tsg_status *st);
/* PREVENT (true) or ALLOW (false) MEDIUM REMOVAL through the portals. */
int tsg_changer_prevent(struct tsg_changer *c, bool prevent,
    struct tsg_status *st);
/*
 * Whether the changer reported a UNIT ATTENTION (power on, a door opened,
 * an import) since the last call: the caller's inventory is stale.
 */
bool tsg_changer_attention(struct tsg_changer *c);
/*
 * The drive whose identifier (DVCID) is ident in an inventory, or NULL;
 * also matches when one ends with the other (some changers report
 * vendor+product+serial, the drive's page 80h the serial alone); NULL
 * too when more than one drive matches.
 */
const struct tsg_element *tsg_changer_drive_by_ident(
    const struct tsg_element *elems, size_t n, const char *ident);

#endif
