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

#include "catalog/dumplog.h"
#include "catalog/fileindex.h"

/* What eng_chain_apply did. */
struct eng_apply_stats {
	uint64_t kept;		/* entries not in the stream, already in place */
	uint64_t placed;	/* ... moved or linked to a new name */
	uint64_t removed;	/* paths of the base removed (a directory: once) */
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
 * After n's stream: directories of n's listing that its stream did not
 * hold get the index's mode, owner (as root) and mtime. 0 or negative.
 */
int eng_chain_fix_dirs(int dirfd, const struct fidx *n, char *err);

/* The entry at path ("./a/b") of x, by binary search, or NULL. */
const struct fidx_entry *eng_fidx_find(const struct fidx *x,
    const char *path);
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
/* Whether dump date d (UTC, "YYYY-MM-DDTHH:MM:SSZ") is at or before date
   (a prefix, "2026-11-29", or a full time). */
bool eng_chain_date_ok(const char *d, const char *date);

#endif
