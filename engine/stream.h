/*
 * Private to engine/: the stream reader. It reads a dump's stream back
 * part after part, cartridge after cartridge (through the changer), and
 * checks every block's CRC32C before its bytes are used, every part's
 * counts and digest at its end, and the stream's length and digests at the
 * end. Where the parts are comes from the dump log, from the caller (one
 * tape file), or from a scan of a library's cartridges. restore.c builds
 * restore, verify and list on it.
 */
#ifndef ABS_ENGINE_STREAM_H
#define ABS_ENGINE_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <zstd.h>

#include "common/digest.h"
#include "engine/format.h"
#include "sg/tsg.h"

struct eng_changer;

/* Where one part of a dump is, from the dump log or a header scan. */
struct eng_part_loc {
	char label[64];
	char tape_id[33];
	uint64_t file;
	uint32_t part;
	uint64_t bytes, blocks;	/* from the dump log, for a lost trailer */
	char digest[65];
	bool known;		/* the dump log said (bytes, blocks, digest) */
	bool no_trailer;	/* ... and that the part has no trailer */
	uint64_t offset;	/* stored offset of its first byte (log) */
	uint32_t block_size;	/* its data block size (log) */
	uint64_t lon;		/* logical object number of its header block */
	bool lon_known;		/* READ POSITION said, once it was reached */
};

/* The caller sets devp, chg, buf, err, bs_hint and the parts; zero the rest. */
struct eng_stream {
	struct tsg_dev **devp;
	struct eng_changer *chg;	/* NULL: only the tape in the drive */
	uint8_t *buf;		/* FMT_MAX_BLOCK bytes */
	char *err;		/* the caller's buffer of ENG_ERRLEN bytes */
	char dump_id[33];
	struct eng_part_loc *parts;	/* malloc'd; eng_stream_free frees */
	unsigned nparts, cur;
	bool scan_more;		/* parts beyond nparts may exist (no log) */
	uint32_t bs_hint;	/* block size to try first (label or log) */
	/* the current part */
	struct fmt_header h;
	struct fmt_trailer t;
	bool have_trailer;
	uint32_t *table;
	uint64_t i, part_bytes;	/* blocks and bytes read in this part */
	struct digest *pd;
	bool pd_is_sd;		/* a part from the stream's first byte: its
				 * digest is the stream digest's state at its
				 * end, so its bytes are hashed once */
	/* the stream */
	enum digest_alg alg;
	struct digest *sd, *rd;
	ZSTD_DCtx *z;
	uint8_t *zout;
	ZSTD_inBuffer zin;
	bool tape_done;
	uint64_t bytes, raw_bytes, blocks;
	bool end_known;		/* the last part's trailer (or the log) said */
	uint64_t want_bytes, want_raw_bytes;
	char want_digest[65], want_raw_digest[65];
	int error;		/* what made eng_stream_pull fail */
	bool strict;		/* verify: a header's or trailer's padding too,
				 * and a damaged trailer is not replaced by
				 * the dump log's record */
	unsigned log_proven;	/* parts without a trailer, proven by the log */
	/*
	 * Range reads (eng_stream_range): only the blocks that hold a span
	 * of the stream, each checked against its CRC; no part or stream
	 * digest (they need every byte).
	 */
	bool range;
	bool part_open;		/* cur's header and trailer are read */
	uint64_t stored_skip;	/* bytes of the next block before the span */
	uint64_t raw_pos;	/* raw offset of the next byte pull gives */
	uint64_t raw_skip;	/* raw bytes still to drop before the span */
	uint64_t raw_limit;	/* the span's raw end: pull ends there */
	uint64_t meta_blocks;	/* header and trailer blocks read for it */
	uint64_t positionings;	/* LOCATEs (or SPACEs) made */
	bool zmore;		/* the decompressor may hold more output */
	uint64_t read_bytes;	/* data bytes read from tape (any mode) */
	/*
	 * Queued reads (sg/tsg.h): the data blocks of the open part are read
	 * with queue READs in flight (0: the transport's default), exactly
	 * as many as the trailer lists and one for the filemark; blk is the
	 * block eng_stream_block handed out (in the queue's buffer, valid
	 * until the next call). Any other command on the drive stops it.
	 */
	unsigned queue;
	struct tsg_rq *rq;
	struct tsg_dev *rq_dev;	/* the device rq reads from */
	bool rq_planned;
	uint32_t rq_max;	/* rq's block buffers */
	uint64_t rq_base;	/* the part's block the plan began at */
	const uint8_t *blk;
	/* What the dump log says of the dump, checked against each part's
	   header on tape (a chain from a lying log) */
	bool log_said;
	int log_level;
	char log_base[33];	/* "" when the log names no base */
};

/* Read and parse the header block of tape file `file` where the tape is. */
int eng_stream_read_header(struct tsg_dev *dev, uint8_t *buf, size_t hint,
    struct fmt_header *h, uint64_t file, char *err);
/*
 * The parts of the newest complete dump of entity (whose date starts with
 * date, if given) from the dump log; none may be on a cartridge the log
 * says went bad. The log also proves the stream's end.
 */
int eng_stream_from_log(struct eng_stream *sr, const char *log,
    const char *entity, const char *date);
/*
 * Open part index k: get its cartridge into the drive, read its header and
 * trailer (or take the dump log's word for a part cut at physical end),
 * and stand at its first data block.
 */
int eng_stream_open(struct eng_stream *sr, unsigned k);
/*
 * Next verified tape block at sr->blk, opening the parts after it as
 * needed: 1 and *len, 0 at the stream's end, or a negative code. Its
 * CRC32C is checked against the trailer's table as it arrives.
 */
int eng_stream_block(struct eng_stream *sr, size_t *len);
/*
 * Pull the next chunk of the restored (decompressed) stream, for
 * eng_extract: its length, 0 at the end, -1 on error (sr->error says).
 */
long eng_stream_pull(void *ctx, const void **out);
/*
 * Range read: stand at stored offset stored (a zstd dump: a frame's
 * start, whose raw offset is raw_at; a plain one: raw_at == stored) and
 * let eng_stream_pull give the raw bytes [raw_from, raw_to) (raw_to
 * UINT64_MAX: to the stream's end), reading from the block that holds
 * stored on: the part that holds it found from the parts' offsets (the
 * dump log's), its cartridge mounted, its trailer read for the CRC table,
 * then LOCATE to the block, or where the drive lacks LOCATE its tape file
 * and SPACE forward. Needs parts with known offsets. 0 or negative.
 */
int eng_stream_range(struct eng_stream *sr, uint64_t stored, uint64_t raw_at,
    uint64_t raw_from, uint64_t raw_to);
/*
 * The parts of dump dump_id from the dump log (as eng_stream_from_log),
 * with their offsets: for range reads and chains. err names the dump.
 */
int eng_stream_from_log_id(struct eng_stream *sr, const char *log,
    const char *dump_id);
/* At the end of the stream: its length and digests. */
int eng_stream_check_end(struct eng_stream *sr);
/*
 * Stop the queued reads (the tape just past the last block handed out) so
 * the drive takes other commands; 0 or negative with sr->err.
 */
int eng_stream_quiesce(struct eng_stream *sr);
/* Free what sr holds (not buf, not the changer). */
void eng_stream_free(struct eng_stream *sr);

#endif
