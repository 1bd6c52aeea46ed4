/*
 * The archive queue (docs/QUEUE.md): a directory of small JSON entry files,
 * one per data file a producer wants on tape. Producers add entries (open
 * while the file is still being written, closed when it is ready), the
 * archiver (abs-engine archive) writes closed and expired ones to tape and
 * moves each entry, with its tape location, to the done directory by one
 * rename. Every change is write-then-rename, so a reader sees an old entry
 * or a new one, never a part of one.
 *
 * This is the library producers link (libabs-queue.a, jansson); abs-queue
 * is its command-line face. Every function returns 0 or a negative errno
 * and leaves a one-line reason in err (ABSQ_ERRLEN bytes).
 */
#ifndef ABS_QUEUE_H
#define ABS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ABSQ_ERRLEN 2048
#define ABSQ_VERSION 1
/* A data file's absolute path: it goes into the part header's source
   key on tape, which holds 1023 bytes with "file:" before it. */
#define ABSQ_PATH_MAX 1017
#define ABSQ_NAME_MAX 128
/* An entry file larger than this is refused unread. */
#define ABSQ_ENTRY_MAX 65536
/* Parts one archived file may take (one per cartridge it spans). */
#define ABSQ_MAX_PARTS 32

enum absq_state {
	ABSQ_OPEN,	/* still being written: archived only once expired */
	ABSQ_CLOSED,	/* ready */
	ABSQ_ARCHIVED,	/* on tape: a done entry (or one on its way there) */
	ABSQ_REFUSED,	/* not archived, with the reason (DONE/refused/) */
};
const char *absq_state_name(enum absq_state s);

struct absq_part {
	char label[64];
	char tape_id[33];
	uint64_t file;		/* tape file of the part's header */
	uint64_t offset;	/* of the part's first byte in the file */
	uint64_t bytes;
};

struct absq_entry {
	char name[ABSQ_NAME_MAX];	/* the entry file's name without .json */
	char path[ABSQ_PATH_MAX + 1];	/* absolute */
	enum absq_state state;
	int64_t size;			/* bytes; -1 unknown */
	time_t added, closed, expires;	/* 0: none */
	/* The producer's checksum, when it knows one: "xxh128" or "sha256". */
	char sum_alg[8];
	char sum[65];
	/* Done entries: where the file is on tape and what it holds. */
	time_t archived;
	char entity[256];		/* the dumps' entity ("" : archive) */
	char dump_id[33];
	char digest_alg[8];
	char digest[65];		/* of the file's bytes as archived */
	uint64_t bytes;
	unsigned nparts;
	struct absq_part parts[ABSQ_MAX_PARTS];
	/* Read back after writing: blocks re-read and how many were bad;
	   verified is set when a read-back covered the file. */
	bool verified;
	uint64_t verify_checked, verify_bad;
	time_t checked;			/* abs-queue check compared it */
	time_t scrubbed;		/* abs-queue scrub deleted the file */
	char reason[256];		/* refused: why */
};

/* The entry file's name for an absolute path: a readable stem from its
   last component, a dot and 16 hex digits of its hash. */
void absq_name_for(const char *path, char *name, size_t len);

/* An entry as its file's JSON (one line, malloc'd), or NULL (ENOMEM). */
char *absq_entry_json(const struct absq_entry *e);
/* Parse an entry file's bytes; refuses what docs/QUEUE.md does not allow. */
int absq_entry_parse(const char *buf, size_t len, struct absq_entry *e,
    char *err);

/* Read DIR/NAME.json. -ENOENT when absent; -ENAMETOOLONG for a name of
   ABSQ_NAME_MAX characters or more (never one this library makes). */
int absq_entry_read(const char *dir, const char *name, struct absq_entry *e,
    char *err);
/* Write DIR/NAME.json: a temporary file, fsync, rename, fsync DIR. */
int absq_entry_write(const char *dir, const struct absq_entry *e, char *err);
/* Move DIR/NAME.json to TO/NAME.json by one rename; fsync both. */
int absq_entry_move(const char *dir, const char *to, const char *name,
    char *err);

/*
 * The queue's entry lock (QUEUE/.lock, flock): held while an entry is
 * read, changed and renamed, so a producer's close and the archiver's
 * move never overwrite each other. The fd to pass to absq_unlock, or a
 * negative errno.
 */
int absq_lock(const char *queue, char *err);
void absq_unlock(int fd);

struct absq_add_opts {
	bool open;		/* still being written */
	time_t expires;		/* 0: never (an open entry waits for close) */
	const char *checksum;	/* "ALG:HEX" the producer computed, or NULL */
};
/*
 * Add file to the queue (creating the queue directory if missing). The
 * file must exist and be a regular file. An open entry for the same file
 * is replaced; a closed one is refused (-EEXIST). out (may be NULL) gets
 * the entry written.
 */
int absq_add(const char *queue, const char *file,
    const struct absq_add_opts *o, struct absq_entry *out, char *err);
/* Close file's open entry (size taken now; checksum as for add, may be
   NULL). Closing a closed entry changes nothing. -ENOENT: no entry. */
int absq_close(const char *queue, const char *file, const char *checksum,
    char *err);

/* One entry of a directory listing. */
struct absq_ref {
	/* As on disk: a name of ABSQ_NAME_MAX characters or more is listed
	   too (absq_entry_read refuses it, saying so). */
	char name[256];
	time_t added;
};
/*
 * The entries of dir (files NAME.json; names starting with '.' are
 * temporary and skipped), oldest first (added, then name). Damaged entries
 * are listed too, and entries whose names are too long: the caller reads
 * each. *refs is malloc'd.
 */
int absq_scan(const char *dir, struct absq_ref **refs, size_t *n, char *err);

/* Digest a file's bytes: alg "xxh128" or "sha256". size gets its length. */
int absq_file_digest(const char *path, const char *alg, char hex[65],
    uint64_t *size, char *err);
/* The same of an open file, read from where it is to its end. */
int absq_fd_digest(int fd, const char *alg, char hex[65], uint64_t *size,
    char *err);

struct stat;
/*
 * Who may archive what (docs/QUEUE.md): the archiver, often root, reads a
 * data file only if the queue directory's owner could, by the file's own
 * permission bits (owner, group, others as the kernel applies them). A
 * queue owned by root may name any file. 0, or -EACCES with the reason.
 */
int absq_may_read(const char *queue, const struct stat *st, char *err);
/*
 * Open an entry's data file for reading as the archiver and scrub do: its
 * path must be the file's own (realpath gives it back unchanged: no
 * symbolic link anywhere, no "..", "." or "//"), the file regular (opened
 * non-blocking, not followed), and readable by the queue's owner
 * (absq_may_read). The fd with st filled, or a negative errno with the
 * reason (-ENOENT: not on disk).
 */
int absq_open_data(const char *queue, const char *path, struct stat *st,
    char *err);

/* Whether an entry is to be archived now: closed, or open and expired. */
bool absq_ready(const struct absq_entry *e, time_t now);

#endif
