/*
 * Tape format, versions 1 and 2 (docs/FORMAT.md): the label block, the part header block
 * and the part trailer. Each is text: a magic line, a human-readable part,
 * then "[abs]" and key=value lines closed by a crc32c= line over all bytes
 * before it; the rest of the block is zero.
 */
#ifndef ABS_FORMAT_H
#define ABS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Version 2: part headers and trailer records are sized to their text
 * (FMT_UNIT multiples, at most FMT_MAX_SIZED); version 1: full data
 * blocks. Parts follow their cartridge's label (a version 1 tape keeps
 * getting version 1 parts, which engines before version 2 read).
 */
#define FMT_VERSION 2
#define FMT_UNIT 4096
#define FMT_MAX_SIZED 16384
#define FMT_LABEL_SIZE 4096
#define FMT_MIN_BLOCK (64u << 10)
#define FMT_MAX_BLOCK (8u << 20)
#define FMT_DEFAULT_BLOCK (1u << 20)
/* The longest archive_entry value (an archive queue entry's JSON). */
#define FMT_ARCHIVE_MAX 2048

struct fmt_label {
	int version;
	char label[64];
	char tape_id[33];
	char pool[64];
	uint32_t block_size;
	char labelled_at[32];
	char labelled_by[128];
};

struct fmt_header {
	int version;
	char dump_id[33];
	char entity[256];
	char server[256];
	char partition[1024];
	int level;
	char dump_date[32];
	char since[32];		/* increment base, "-" for a full */
	uint32_t part;
	uint64_t offset;	/* of this part's first byte in the stream */
	uint32_t block_size;
	char compress[16];	/* "none" or "zstd" */
	char digest[8];		/* part/stream digest: xxh128 or sha256 */
	char source_kind[8];	/* dir, cmd, file */
	char source[1024];
	char label[64];
	char tape_id[33];
	uint64_t file;		/* tape file number of this header */
	/* The previous part (0 and "" for part 1), in case its trailer is lost. */
	uint64_t prev_bytes, prev_blocks;
	char prev_digest[65];
	/* Added keys (FORMAT.md, "Added keys"): absent on older tapes. */
	int64_t job;		/* abs-ctld's job ID; 0 in direct mode */
	char prev_tape_id[33];	/* the previous part's cartridge (part > 1) */
	char entity_type[256];	/* the catalog's entity type; "" unknown */
	/* Chains (issue 13): the dump this one is relative to; "" and -1 for
	   a full or when unknown (older tapes). since is base_date exactly. */
	char base[33];
	char base_date[32];
	int base_level;
	/* An archived file (docs/QUEUE.md): its queue entry as JSON, on
	   every part's header; "" for a dump. */
	char archive[FMT_ARCHIVE_MAX];
	/* Parsed: the block's length on tape (version 1: block_size). */
	uint32_t size;
};

struct fmt_trailer {
	int version;
	char dump_id[33];
	uint32_t part;
	uint64_t header_file;
	uint32_t block_size;
	uint64_t bytes;		/* stream bytes in this part */
	uint64_t blocks;	/* data blocks in this part */
	char digest[8];		/* algorithm of the digests below */
	char part_digest[65];
	int last;		/* 1: the stream ends in this part */
	uint64_t stream_bytes;	/* up to and including this part */
	char stream_digest[65];	/* only when last */
	uint64_t raw_bytes;	/* source bytes before compression, when last */
	char raw_digest[65];
	uint32_t table_crc;	/* CRC32C of the block CRC table */
	/* Added keys: UTC time the trailer was written ("" on older tapes);
	   1 if the cartridge takes no more parts after this one. */
	char written[32];
	int tape_full;
	/* Chains (issue 13), on the last part's trailer: where the file index
	   sits in the stream (FORMAT.md "The file index"); 0 bytes: none. */
	uint64_t index_raw, index_stored, index_bytes;
	/* Parsed: the record block's length on tape (version 1: block_size). */
	uint32_t size;
};

enum fmt_kind { FMT_NONE, FMT_LABEL, FMT_HEADER, FMT_TRAILER };

/* What kind of block this is by its magic line (no checksum check). */
enum fmt_kind fmt_kind_of(const uint8_t *buf, size_t len);

/* Build into buf of exactly FMT_LABEL_SIZE bytes. */
int fmt_label_build(const struct fmt_label *l, uint8_t *buf);
/* -ENOMSG: not a label; -EBADMSG: a damaged one; 0 ok. */
int fmt_label_parse(const uint8_t *buf, size_t len, struct fmt_label *l);

/*
 * Build a header block into buf of bs bytes (the recipe needs the tape
 * file) in h->version's layout (0: FMT_VERSION): the block's length to
 * write (version 1: bs; 2: the text rounded up), or a negative errno.
 * Parsing sets h->size; a version 2 block may arrive in a longer buffer
 * (a target that returns more than the block, tgt 1.0.85 and older).
 */
int fmt_header_build(const struct fmt_header *h, uint8_t *buf, size_t bs);
int fmt_header_parse(const uint8_t *buf, size_t len, struct fmt_header *h);

/* Version 2 length of a block whose text is text bytes long. */
size_t fmt_sized_len(size_t text);

/* The trailer's first block (length as for headers); the CRC table
   follows in later blocks. */
int fmt_trailer_build(const struct fmt_trailer *t, uint8_t *buf, size_t bs);
int fmt_trailer_parse(const uint8_t *buf, size_t len, struct fmt_trailer *t);

#endif
