/*
 * Private to engine/: a dir dump's pax stream extracted into a directory,
 * safely. libarchive refuses entries that would land outside it (a `..`
 * component, an absolute path, a path through a symlink); each refusal is
 * listed and counted, never silent, and a symlink stays a symlink.
 *
 * Until the whole dump is proven (every block, the stream's digests), the
 * directory holds a marker file, ENG_EXTRACT_MARKER, that says the tree is
 * incomplete and lists the entries restored so far; on success it is
 * removed, on failure it says what was not restored. A marker rather than
 * a scratch directory renamed at the end: a restore often goes into a
 * directory that exists (a mount point, a tree being repaired), which a
 * rename cannot replace, and what a damaged dump yields up to the damage is
 * still the best copy there is: it stays where the operator asked for it,
 * marked, with the reason.
 */
#ifndef ABS_ENGINE_EXTRACT_H
#define ABS_ENGINE_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#define ENG_EXTRACT_MARKER ".abs-restore-INCOMPLETE"

struct eng_extract;

/*
 * Create to (if need be, with the directories above it) and its marker;
 * a target that exists must be empty unless onto_nonempty (--force):
 * -ENOTEMPTY, err saying what is there. what names the dump for the
 * marker's reader. to itself is never a symlink (O_NOFOLLOW). The dump's
 * root entry (owner, mode, times) is applied at the end to a directory
 * made here, and to one that existed only if root_onto_existing (a root
 * requester): a restore never takes over a directory it did not make.
 * The target is locked (flock on its descriptor) until eng_extract_free:
 * a second restore into it is refused (-EBUSY, err naming the holder's
 * pid from its marker). err: ENG_ERRLEN bytes.
 */
int eng_extract_new(const char *to, const char *what, bool root_onto_existing,
    bool onto_nonempty, struct eng_extract **out, char *err);
/*
 * Extract the stream pull() supplies. 0 when the archive ended (entries
 * may have been refused: eng_extract_counts), or negative: the stream
 * failed (err keeps the stream's reason) or the disk did.
 */
int eng_extract_run(struct eng_extract *x,
    long (*pull)(void *ctx, const void **buf), void *ctx, char *err);
/*
 * A chain (engine/chain.c) extracts several dumps into one tree: the
 * marker stays until the last is applied and proven. The directory's
 * descriptor, for the chain's moves and removals between dumps.
 */
int eng_extract_dirfd(const struct eng_extract *x);
/* A line in the marker (which dump of the chain comes next). */
void eng_extract_note(struct eng_extract *x, const char *line);
/*
 * Only some entries (single-file restores): filter is called with each
 * header read and returns 1 to extract it (it may rename it first, e.g.
 * to give a hard link's data its wanted name), 0 to skip it, or a
 * negative code to stop. NULL: every entry.
 */
struct archive_entry;
void eng_extract_filter(struct eng_extract *x,
    int (*filter)(void *ctx, struct archive_entry *e), void *ctx);
/*
 * A chain's dumps go into one tree: every directory an entry makes or
 * names is given write and search permission for its owner (u+rwx), so
 * that a later dump of the chain can write into a directory an earlier
 * one made read-only (a non-root restore cannot otherwise); the caller
 * sets the final modes (eng_chain_fix_dirs after the last dump).
 */
void eng_extract_dirs_writable(struct eng_extract *x);
/* Restored and refused entries so far. */
void eng_extract_counts(const struct eng_extract *x, uint64_t *restored,
    uint64_t *refused);
/*
 * The dump's outcome, rc (0: every byte proven): the marker removed and the
 * root's owner, mode and times set (see eng_extract_new); or the marker completed with what was
 * not restored and err extended to say where the partial tree is. Refused
 * entries the caller does not allow: call eng_extract_refusals first and
 * pass its -EPERM, so the marker stays naming them. A header the target
 * could not take (out of space or inodes, a quota, read-only, I/O,
 * permissions) is no refusal: eng_extract_run fails with that errno.
 */
int eng_extract_finish(struct eng_extract *x, int rc, char *err);
void eng_extract_free(struct eng_extract *x);
/*
 * Entries refused fail a restore the operator did not allow them in:
 * -EPERM with err saying how many, of what ("dump", "chain"); else 0.
 */
int eng_extract_refusals(uint64_t refused, uint64_t restored,
    const char *what, char *err);

#endif
