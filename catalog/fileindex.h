/*
 * The file index of a dir: dump (issue 13): every entry of the tree as it
 * was at dump time, with where each entry the dump holds starts in the
 * stream, and for a compressed dump where each zstd frame starts. It is
 * the listing a chain restore uses (what was deleted, what was renamed:
 * entries the dump does not hold are matched to the base by inode), the
 * table single-file restores position by, and what `find` searches.
 *
 * On tape it follows the pax archive's end inside the stored stream
 * (FORMAT.md "The file index"); the catalog keeps it as the same bytes.
 * No SQLite, no JSON: built into libabs-dumplog.a with the dump-log
 * format, so that the engine, the catalog and the tools share one codec.
 *
 * Encoded: a head ("ABS-FIDX", version, counts, payload length and its
 * CRC32C; version 2 also the dump ID the index belongs to, under the CRC:
 * a copy of another dump's index is told apart), then one zstd frame holding the frame table and the entries
 * in path order (each path front-coded against the one before).
 *
 * Path order (fidx_path_cmp): bytewise, except that '/' sorts before every
 * other byte, so that a directory is followed at once by its whole subtree
 * ("./a", "./a/b", "./a-c", "./a.d"): a subtree is one run.
 * fidx_decode trusts nothing: every count, length and offset is checked
 * against the buffer and against each other.
 */
#ifndef ABS_FILEINDEX_H
#define ABS_FILEINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIDX_MAGIC "ABS-FIDX"
/* Version 2 names its dump in the head (16 more bytes); 1 is still read. */
#define FIDX_VERSION 2
/* Decoded size limit (entries and paths), against a lying head. */
#define FIDX_MAX_DECODED ((uint64_t)16 << 30)

enum fidx_type { FIDX_REG = 1, FIDX_DIR, FIDX_LNK, FIDX_CHR, FIDX_BLK,
	FIDX_FIFO, FIDX_SOCK };

/* fidx_entry.flags */
#define FIDX_IN_STREAM	0x1	/* this dump holds its header at raw_offset */
#define FIDX_HAS_DATA	0x2	/* its data follows the header (of a hard-link
				   set, the one entry that carries it) */

struct fidx_entry {
	const char *path;	/* as in the archive: "." or "./a/b" */
	uint8_t type;		/* enum fidx_type */
	uint8_t flags;
	uint32_t mode;		/* permission bits (07777) */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t ino;		/* on the dumped file system: renames are
				   followed by it across a chain */
	uint64_t size;		/* bytes of a regular file */
	int64_t mtime;		/* seconds */
	uint64_t raw_offset;	/* FIDX_IN_STREAM: its header in the raw
				   stream (the pax archive, uncompressed) */
	uint64_t raw_end;	/* FIDX_IN_STREAM: where the next header
				   starts (its header and data span
				   [raw_offset, raw_end)) */
};

/* A zstd frame of a compressed dump: restartable at stored. */
struct fidx_frame {
	uint64_t raw;		/* raw offset of its first byte */
	uint64_t stored;	/* stored offset of the frame */
};

struct fidx {
	uint64_t nentries;
	struct fidx_entry *e;	/* in path order (fidx_path_cmp) */
	uint64_t nframes;
	struct fidx_frame *f;	/* by raw offset; none for a plain dump */
	uint64_t archive_bytes;	/* raw bytes of the pax archive: the index
				   starts there */
	char *pool;		/* decoded paths live here */
	char dump_id[33];	/* the dump it belongs to (32 hex digits), ""
				   for a version 1 index (it names none) */
};

/* Building one (the dump side): entries in any order, then encode. */
struct fidx_builder;
int fidx_builder_new(struct fidx_builder **out);
/* Copies e and its path. 0 or -ENOMEM. */
int fidx_builder_add(struct fidx_builder *b, const struct fidx_entry *e);
int fidx_builder_frame(struct fidx_builder *b, uint64_t raw, uint64_t stored);
/*
 * The dump the index belongs to (32 hex digits): encoded into the head
 * and checked by every reader against the dump it reads the index for.
 * -EINVAL if not 32 hex digits. Without it the dump ID is all zeros.
 */
int fidx_builder_dump(struct fidx_builder *b, const char *dump_id);
/*
 * Sort, check (unique paths) and encode into a malloc'd buffer. 0, -ENOMEM,
 * or -EINVAL (a path twice).
 */
int fidx_builder_encode(struct fidx_builder *b, uint64_t archive_bytes,
    uint8_t **out, size_t *len);
void fidx_builder_free(struct fidx_builder *b);

/*
 * Decode buf (len bytes, the whole index region). 0, or -EBADMSG with why
 * (whylen bytes) naming what is wrong, or -ENOMEM.
 */
int fidx_decode(const uint8_t *buf, size_t len, struct fidx *x, char *why,
    size_t whylen);
/* The encoded length from the head (FIDX_HEAD_MAX bytes, or the whole
   index if shorter; to read just enough): 0 or -EBADMSG. */
#define FIDX_HEAD_MAX 48
int fidx_encoded_len(const uint8_t *head, size_t len, uint64_t *total);
void fidx_free(struct fidx *x);

/* Path order: <0, 0, >0 as strcmp, but '/' sorts before every byte. */
int fidx_path_cmp(const char *a, const char *b);

/* The entry at path ("./a/b"; "a/b" and "/a/b" are taken as that), or NULL. */
const struct fidx_entry *fidx_lookup(const struct fidx *x, const char *path);
/* path itself and everything under it: entries [*lo, *hi) (in path
   order a subtree is one run). */
void fidx_subtree(const struct fidx *x, const char *path, uint64_t *lo,
    uint64_t *hi);
/* The frame to start decompressing at for raw offset raw (NULL: plain). */
const struct fidx_frame *fidx_frame_at(const struct fidx *x, uint64_t raw);
/* fnmatch(3)-style glob over paths (FNM_PATHNAME off: '*' crosses '/');
   a pattern without a leading "./" matches as if it had one. */
bool fidx_match(const char *pattern, const char *path);

#endif
