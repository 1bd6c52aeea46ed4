/*
 * The tape device API: one interface over every transport, addressed by URI
 * (vtape:DIR, null:, and later iscsi://, sg:, st:). Every SCSI outcome is a
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
};

struct tsg_pos {
	uint64_t lon;		/* logical object number (blocks + filemarks) */
	uint64_t file;		/* logical file identifier (filemarks before) */
	bool bop, eop, known;
};

enum tsg_space_code { TSG_SPACE_BLOCKS = 0, TSG_SPACE_FILEMARKS = 1,
	TSG_SPACE_EOD = 3 };

struct tsg_dev;

/* Open a device by URI; -EINVAL for a bad URI, -EBUSY if in use. */
int tsg_open(const char *uri, struct tsg_dev **out);
void tsg_free(struct tsg_dev *d);
const char *tsg_uri(const struct tsg_dev *d);
/* A benchmark sink with no tape behind it (null:, fd:N). */
bool tsg_is_stream(const struct tsg_dev *d);
/* For vtape devices: the cartridge directory loaded now, or NULL. */
const char *tsg_vtape_cartdir(struct tsg_dev *d);

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
 * Queued writes: up to tsg_write_depth() blocks in flight, completed
 * strictly in submission order. A transport that cannot queue (vtape, st)
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

#endif
