/*
 * The dump log: the crippled-mode record of what is on which tape, one
 * grep-able line per event, "TYPE key=value ...". A "part" line is written
 * when a part is confirmed on tape; a "dump" line when the whole dump is.
 * Values are escaped (space, %, = and control bytes as %XX).
 */
#ifndef ABS_DUMPLOG_H
#define ABS_DUMPLOG_H

#include <stdint.h>
#include <stdio.h>

/*
 * part: a part confirmed on tape; dump: a whole dump; bad: a cartridge
 * taken out of use; error: one error event on a cartridge in a drive;
 * full: a cartridge reached early warning (dump: the dump that filled it),
 * never to be appended to again; aborted: the operator aborted a dump that
 * has parts on tape (the fields of its last part line, status=aborted).
 */
enum cat_dl_type { CAT_DL_PART, CAT_DL_DUMP, CAT_DL_BAD, CAT_DL_ERROR,
	CAT_DL_FULL, CAT_DL_ABORTED };

struct cat_dl_rec {
	enum cat_dl_type type;
	char dump_id[33];
	char entity[256];
	char date[32];
	char since[32];
	int level;
	char server[256];
	char partition[1024];
	char label[64];		/* part: its tape; dump: the first tape */
	char tape_id[33];
	uint64_t file;		/* tape file of the (first) part header */
	uint32_t part;		/* part number; for a dump: number of parts */
	uint64_t offset;
	uint64_t bytes;		/* stored bytes (after compression) */
	uint64_t blocks;
	uint32_t block_size;
	char digest_alg[8];	/* xxh128 or sha256 */
	char digest[65];	/* part or whole stream digest */
	uint64_t raw_bytes;
	char raw_digest[65];
	char compress[16];
	char source_kind[8];
	char status[24];	/* dump: complete; part: ok; error: its kind */
	char drive[256];	/* device URI (error and bad lines) */
	/* part: when its trailer was written; dump: when it completed; "" if
	   the log predates the key */
	char written[32];
	int64_t job;		/* abs-ctld's job ID, 0 in direct mode */
	/* the site of the master that gave the job its ID ("": none); merge
	   keeps (site, job) as the job's origin, so IDs never collide */
	char site[64];
	/* Chains (issue 13), on dump lines: the dump this one is relative to
	   ("" for a full, or unknown), and where the file index sits in the
	   stream (FORMAT.md "The file index"; index_bytes 0: none). Written
	   only when set, so lines without them are as older engines wrote. */
	char base[33];
	uint64_t index_raw;	/* raw (uncompressed) offset of the index */
	uint64_t index_stored;	/* stored offset: its zstd frame's start */
	uint64_t index_bytes;	/* raw bytes of the index region */
};

/* Format one record as a line (with newline) into buf. */
int cat_dl_format(const struct cat_dl_rec *r, char *buf, size_t len);
/* Parse one line; -EINVAL for a malformed line, -ENOMSG for a foreign one. */
int cat_dl_parse(const char *line, struct cat_dl_rec *r);
/*
 * Check a parsed record field by field (cat_dl_parse checks only the
 * syntax): IDs of 32 hex digits, names and labels a catalog accepts, sane
 * dates (since before the dump date, none from the future), levels 0..9,
 * parts from 1, bytes that fit their blocks and block size, offsets that
 * start at 0 and do not overflow, digests of their algorithm's length, the
 * values each type may hold. 0, or -EINVAL with why (len bytes) saying
 * which field is wrong.
 */
int cat_dl_check(const struct cat_dl_rec *r, char *why, size_t len);
/* Append a record to the log file durably (O_APPEND, fsync). */
int cat_dl_append(const char *path, const struct cat_dl_rec *r);
/*
 * An aborted dump: append an aborted line made of the last part line in
 * path of dump dump_id (or, dump_id NULL or "", of job). 1 if written, 0 if
 * the dump has no part in the log (nothing on tape to record), or negative.
 */
int cat_dl_append_aborted(const char *path, const char *dump_id, int64_t job);
/*
 * The lines of dump dump_id in the log at path: its part lines into
 * parts[part - 1] (parts 1..max; *nparts the highest seen, parts not seen
 * left as they were: clear them first) and its dump line into dump (may
 * be NULL). 1 if a dump line was found, 0 if not, or -errno.
 */
int cat_dl_find_dump(const char *path, const char *dump_id,
    struct cat_dl_rec *dump, struct cat_dl_rec *parts, unsigned max,
    unsigned *nparts);

#endif
