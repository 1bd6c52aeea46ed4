/*
 * Private to engine/: chains of dumps (issue 13). A level-N dump names its
 * base; restoring "the tree as it was at dump N" restores the full and
 * then each incremental in order. Before an incremental's stream is
 * extracted, the tree restored so far (the base's tree) is brought to
 * N's listing: entries N holds without their data (unchanged since the
 * base) are found by inode in the base's index and moved or linked to
 * their new names, paths the base had and N has not (or has as another
 * type or inode) are removed. Extracting N's stream then gives exactly
 * the tree at N. docs/CHAINS.md says how the pieces fit.
 */
#ifndef ABS_ENGINE_CHAIN_H
#define ABS_ENGINE_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog/dumplog.h"
#include "catalog/fileindex.h"
#include "common/date.h"

/* What eng_chain_apply did. */
struct eng_apply_stats {
	uint64_t kept;		/* entries not in the stream, already in place */
	uint64_t placed;	/* ... moved or linked to a new name */
	uint64_t removed;	/* paths of the base removed */
	uint64_t foreign;	/* base directories kept: they hold what no
				   dump of the chain has */
	uint64_t dirs;		/* directories made that the stream lacks */
};

/*
 * Bring the tree under dirfd, restored as of base, to n's listing before
 * n's stream is extracted into it (see above). Staging goes through a
 * scratch directory inside dirfd, so swaps and cycles of names work.
 * Symbolic links are never followed; a path of either index that is not
 * "./a/b" (absolute, "..", empty components) is refused. 0, or negative
 * with err (ENG_ERRLEN bytes) saying what and where: an entry of n that
 * is neither in its stream nor in the base (-EBADMSG), an entry missing
 * from the restored tree (-ENOENT), the disk (-errno).
 */
int eng_chain_apply(int dirfd, const struct fidx *base, const struct fidx *n,
    struct eng_apply_stats *st, char *err);
/*
 * After n's stream: every directory of n's listing gets the index's mode,
 * owner (as root) and mtime (libarchive sets those of a directory that
 * existed before its entries are written into it). 0 or negative.
 */
int eng_chain_fix_dirs(int dirfd, const struct fidx *n, char *err);
/* One directory's mode, owner (as root) and mtime from its entry. */
int eng_chain_dir_meta(int dirfd, const struct fidx_entry *e, char *err);
/* A directory at path (and those above it) made where missing. */
int eng_chain_mkdir(int dirfd, const char *path, char *err);
/* name under pfd removed, and all under it for a directory, only through
   descriptors opened without following links (a directory swapped for a
   link meanwhile stops it); directories made u+rwx through theirs on the
   way. ENOENT is no error. 0 or -errno. */
int eng_chain_rm_tree(int pfd, const char *name);
/*
 * Whether the tree at dirfd is no longer the one x lists (a shadow
 * changed by hand since its last refresh): an entry of x missing or of
 * another type, a file of another size or mtime, or entries x does not
 * have (the restore's and a shadow's own names at the top aside). 0:
 * it is; 1 with why (len bytes) saying the first difference found.
 */
int eng_chain_tree_differs(int dirfd, const struct fidx *x, char *why,
    size_t len);
/* to (made or replaced) as a hard link of from, both under dirfd. */
int eng_chain_link(int dirfd, const char *from, const char *to, char *err);

/* The index's path order (as fidx_path_cmp): bytewise, '/' first. */
int eng_chain_path_cmp(const char *a, const char *b);
/* The entry at path ("./a/b") of x, by binary search, or NULL. */
const struct fidx_entry *eng_fidx_find(const struct fidx *x,
    const char *path);
/* An index's entries (not directories) by inode. */
struct eng_ino_map {
	const struct fidx_entry **v;
	uint64_t n;
};
int eng_ino_map_build(const struct fidx *x, struct eng_ino_map *m);
void eng_ino_map_free(struct eng_ino_map *m);
/* The position of the first entry of that inode, or UINT64_MAX. */
uint64_t eng_ino_map_first(const struct eng_ino_map *m, uint64_t ino);
/* An entry of that inode and type: the one with the data, else one in
   the stream, else any; NULL if none. */
const struct fidx_entry *eng_ino_map_best(const struct eng_ino_map *m,
    uint64_t ino, uint8_t type);
/* Whether path is "." or "./a/b" with no empty, "." or ".." component. */
bool eng_chain_path_ok(const char *path);

/* One dump of a chain, from the dump log. */
struct eng_chain_dump {
	struct cat_dl_rec rec;	/* its dump line */
};

/* A chain: the full first, the dump asked for last. */
struct eng_chain {
	struct eng_chain_dump *d;
	unsigned n;
};

/*
 * The chain that ends at the newest complete dump of entity at or before
 * date (a date prefix, or a full UTC time: dumps dated up to it) in the
 * dump log: its base= pointers followed back to a full. level_only: that
 * dump alone. A base missing from the log, incomplete, or with a part on
 * a cartridge the log says went bad refuses the chain (-ENOENT/-EIO) with
 * err naming the missing dump (ID, date, level). A level > 0 dump with no
 * base (dumped with --since, no chain known) is restored alone, as before
 * chains: *no_base is set.
 */
int eng_chain_from_log(const char *log, const char *entity, const char *date,
    bool level_only, struct eng_chain *c, bool *no_base, char *err);
void eng_chain_free(struct eng_chain *c);
/* One line of a dump log: 1 and r filled for a dump line, 0 for any other
   line, -EBADMSG (err naming the line) for a dump line whose dump ID or
   base is not 32 hex digits: they name files in LOG.fidx/. */
struct cat_dl_rec;
int eng_chain_dump_line(const char *line, unsigned long lineno,
    const char *log, struct cat_dl_rec *r, char *err);
/* Whether dump date d (UTC, "YYYY-MM-DDTHH:MM:SSZ") is at or before date
   (a prefix, "2026-11-29", or a full time). */
bool eng_chain_date_ok(const char *d, const char *date);
/* Whether date is a whole-field prefix of a UTC time YYYY-MM-DDTHH:MM:SSZ
   (2026, 2026-11, 2026-11-29, 2026-11-29T11, 2026-11-29T11:00, ... up to
   the full time) with its fields in range: only such a prefix compares
   by its text. */
bool eng_chain_date_valid(const char *date);
#define ENG_DATE_FORMS DATE_FORMS	/* common/date.h */

/* What a chain restore reads with (engine/restore.c sets it up). */
struct eng_restore_opts;
struct eng_restore_result;
struct eng_changer;
struct tsg_dev;
struct eng_chain_io {
	const struct eng_restore_opts *o;	/* o->log: the dump log */
	struct tsg_dev **devp;
	struct eng_changer *chg;
	uint8_t *buf;		/* FMT_MAX_BLOCK bytes */
	uint32_t bs_hint;
	char *err;		/* ENG_ERRLEN bytes */
};

/*
 * The file index of dump d: the dump log's copy (LOG.fidx/DUMPID) if it
 * is there and whole (its length index_bytes, its head's CRC), else read
 * from tape by a range read of [index_stored, ...). Blocks read go into
 * res. 0, or negative with err naming the dump.
 */
int eng_chain_index(struct eng_chain_io *io, const struct cat_dl_rec *d,
    struct fidx *x, struct eng_restore_result *res);
/*
 * Restore chain c into io->o->to: a dir: chain through the apply step
 * between dumps, the tree marked incomplete until the last dump is
 * applied and proven; a cmd: or file: chain's streams in order to
 * stdout (io->o->to_stdout). Every dump's parts and index are checked
 * before anything is written.
 */
int eng_chain_restore(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res);
/*
 * Only io->o->paths of the chain's last dump: each entry's data from the
 * dump of the chain whose stream holds it (an entry unchanged since a
 * base: its inode followed back), reading only the blocks its span of
 * the stream takes (zstd: from the frame before it).
 */
int eng_chain_paths(struct eng_chain_io *io, const struct eng_chain *c,
    struct eng_restore_result *res);

/*
 * restore --device without --log: a dump log (part and dump lines, with
 * base and index keys, and the indexes the scan read back as
 * LOG.fidx/DUMPID) made from a scan of the cartridge in device, or of
 * every cartridge of its library, in a private temporary directory.
 */
struct eng_scanlog {
	char dir[256];
	char log[300];
	FILE *fp;
	unsigned nidx;
	char unreadable[512];	/* "LABEL tape file N (why)", the first ones */
};
int eng_chain_scan_log(const char *device, bool library,
    struct eng_scanlog *sl, char *err);
/* Remove what eng_chain_scan_log wrote (by name), and its directory. */
void eng_chain_scan_log_free(struct eng_scanlog *sl);

/*
 * find (engine/find.c): every entry matching pattern (fidx_match) in the
 * indexes of the entity's complete dumps at or before io->o->date in the
 * dump log, oldest dump first: a table, or one JSON object per line.
 * *matches: how many. 0, or negative with err.
 */
int eng_find(struct eng_chain_io *io, const char *entity, const char *pattern,
    bool json, FILE *out, uint64_t *matches);
/*
 * A path for find's text output (malloc'd): "\\" for a backslash, "\n",
 * "\t", "\r", and "\ooo" (octal) for every other control byte, DEL, a
 * C1 control and each byte that is not part of valid UTF-8; the rest as
 * it is. NULL when out of memory.
 */
char *eng_find_escape(const char *path);
/* The stored bytes [*s, *end) a restore of e alone reads from dump d. */
void eng_find_span(const struct fidx *x, const struct cat_dl_rec *d,
    const struct fidx_entry *e, uint64_t *s, uint64_t *end);

#endif
