/*
 * Private to engine/: a dump stream on tape, part by part. A part is one
 * tape file (header block, data blocks, filemark) followed by its trailer
 * file (record block, block CRC table, synchronous filemark); a stream that
 * crosses end of tape continues as the next part on the next cartridge
 * (docs/FORMAT.md). This room writes headers and trailers and the dump
 * log's part lines, and keeps the part's and the stream's proofs (block
 * CRCs, digests, counts) from the blocks the drive has confirmed.
 */
#ifndef ABS_ENGINE_PART_H
#define ABS_ENGINE_PART_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "engine/engine.h"
#include "engine/format.h"
#include "sg/tsg.h"

struct cat_dl_rec;

struct eng_part {
	/* Set by the caller before eng_part_init. */
	const struct eng_dump_opts *o;	/* log, hooks, queue, no_pew, lbp */
	char *err;		/* the caller's buffer of ENG_ERRLEN bytes */
	uint32_t bs;
	enum digest_alg alg;
	/* The drive and the cartridge in it (the changer replaces both). */
	struct tsg_dev *dev;
	struct fmt_label l;
	/* The part being written; the caller fills h's dump fields. */
	struct fmt_header h;
	uint32_t *crcs;		/* CRC32C of each confirmed block */
	uint64_t ncrc, capcrc;
	uint64_t bytes;		/* confirmed bytes in this part */
	struct digest *pd;
	uint64_t lon;		/* logical object number of the header */
	bool open;
	bool ends_full;		/* the stream ended at early warning: the
				   trailer says tape_full (set by the caller) */
	bool defer;		/* close with an immediate filemark; the part's
				   and dump's lines wait for a commit point
				   (o->commit; set by the caller) */
	uint64_t resume_file;	/* a held drive at end of data: the next part
				   is this tape file (0: find end of data) */
	unsigned depth;		/* writes in flight the transport grants */
	bool lbp;		/* the drive checks each block's CRC32C */
	/* The stream. */
	struct digest *sd;	/* stored stream */
	struct digest *rd;	/* source bytes, when compressing */
	uint64_t stream_bytes, raw_bytes;
	uint64_t stream_blocks;	/* over the parts closed so far */
	struct fmt_header first;	/* part 1, for the dump line */
	char labels[512];	/* every cartridge, in part order */
	unsigned no_trailer;	/* parts cut at physical end */
	char final_digest[DIGEST_HEX_LEN];
	char final_raw_digest[DIGEST_HEX_LEN];
	char final_written[32];	/* the last trailer's written= */
	/* The file index in the stream (last trailer; 0 bytes: none). */
	uint64_t index_raw, index_stored, index_bytes;
	uint8_t *hbuf;		/* header and trailer blocks */
	uint8_t *wbuf;		/* staging for protected writes */
};

/* Buffers for p->bs; 0 or -ENOMEM. eng_part_fini frees what p holds. */
int eng_part_init(struct eng_part *p);
void eng_part_fini(struct eng_part *p);
/* A new stream (an attempt): digests and counts from zero. */
int eng_part_stream(struct eng_part *p, bool compressed);
/*
 * Position at end of data and write the header of the next part; -ENOSPC
 * (nothing written) when the cartridge is full: past early warning, past
 * programmable early warning with parts on it, or at physical end.
 */
int eng_part_open(struct eng_part *p);
/*
 * A block the drive has confirmed: count it in the part and the stream.
 * pd: the part digest with this block, the stream digest already has it
 * (the write window sums each block as it is put: eng_window_digests);
 * NULL: both digests take it here.
 */
int eng_part_add(struct eng_part *p, const void *buf, size_t len,
    uint32_t crc, const struct digest *pd);
/*
 * Close the part: filemark, trailer file, synchronous filemark (which
 * confirms everything), then its line in the dump log. A tape at physical
 * end may refuse the trailer: the part is kept, its digest goes to the
 * dump log and into the next part's header. -EAGAIN: the part held no
 * data block and its trailer found no room; it was taken back
 * (eng_part_withdraw) and is to be written again on the next cartridge.
 */
int eng_part_close(struct eng_part *p, bool last);
/*
 * A part that holds no data block is no part (a restore must never meet
 * one, the dump log never records one): its header is taken back from the
 * tape, with fms filemarks (and the blocks between) written after it.
 * The tape is spaced back to the filemark before the header and that
 * filemark written again, synchronously (a commit point), so end of data
 * is where the part began. The part is begun again on the next
 * cartridge. 0 or -EIO.
 */
int eng_part_withdraw(struct eng_part *p, unsigned fms);
/*
 * A commit point on p->dev (engine.h, struct eng_commit): with synced the
 * drive has just written out everything (a synchronous filemark), else a
 * synchronous filemark count 0 is written first. The pending lines go to
 * the dump log (on_commit for dumps), or to on_lost if the drive failed.
 * 0, -EIO (lost) or the dump log's error.
 */
int eng_part_commit(struct eng_part *p, bool synced);
/* Keep a dump-log line until the next commit point. */
int eng_commit_push(struct eng_commit *c, const struct cat_dl_rec *r);
/* The pending lines to the log (synced) or to on_lost (not). */
int eng_commit_release(struct eng_commit *c, const struct eng_dump_opts *o,
    bool synced, char *err);
/* Stamp a dump-log line with o's job and site (unless it has a job). */
void eng_rec_stamp(const struct eng_dump_opts *o, struct cat_dl_rec *r);
/* A line of the drive's trace for benchmarks (ABS_TAPE_TRACE=FILE). */
void eng_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fill the dump-log fields common to part and dump lines from h. */
void eng_part_record(struct cat_dl_rec *r, const struct fmt_header *h);
/* Append r to o's dump log, stamped with o's job and site (dumplog.h). */
int eng_log_append(const struct eng_dump_opts *o, struct cat_dl_rec *r);

#endif
