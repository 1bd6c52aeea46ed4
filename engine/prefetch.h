/*
 * Private to engine/: read-ahead for a dir: source. While libarchive
 * walks the tree and writes the archive in order, a walker thread lists
 * the same tree in the same order ahead of it and a few I/O threads open
 * the upcoming regular files and ask the kernel to read them
 * (readahead(2)), many at once: on a cold cache the file system's latency
 * (inodes, small files) is paid in parallel instead of one file after
 * another. It only warms the page cache: the archive is libarchive's as
 * before, so an order that differs (a tree changing under the walk) costs
 * speed, never correctness.
 */
#ifndef ABS_ENGINE_PREFETCH_H
#define ABS_ENGINE_PREFETCH_H

#include <stdint.h>

struct eng_prefetch;

/*
 * Start reading ahead of a walk of root (no crossing of mount points,
 * files changed before since left alone when since > 0), whose first skip
 * regular files the archive has already taken (started late: the walk
 * had found the tree in the page cache until then; those files are
 * listed again, not read). NULL if it could not start: the walk goes on
 * without it.
 */
struct eng_prefetch *eng_prefetch_start(const char *root, int64_t since,
    uint64_t skip);
/* The archive took its next regular file, path (in walk order). */
void eng_prefetch_done(struct eng_prefetch *p, const char *path);

struct eng_prefetch_stats {
	uint64_t files;		/* regular files the archive took */
	uint64_t listed;	/* regular files the walker found */
	uint64_t read_ahead;	/* files asked of the kernel before the archive */
	uint64_t out_of_order;	/* the archive's n-th file not the walker's */
	uint64_t behind;	/* taken before the walker listed them */
};
/* Stop the threads and free; st (or NULL): what it did. */
void eng_prefetch_stop(struct eng_prefetch *p, struct eng_prefetch_stats *st);

#endif
