/*
 * Private to engine/: where a served restore may write. The media server
 * runs as root with restore's capabilities for whoever asked abs-ctld, so
 * it does not take a target from its master blindly:
 *
 * - with no --to, the target is RESTORE_ROOT/AS (ABS_RESTORE_ROOT, default
 *   /var/lib/abs-engine/restore), a directory the engine makes 0700 and
 *   checks (lstat) to be a real directory of its own uid that no one else
 *   may write, in a parent no one else may write; AS is a name, never a
 *   path;
 * - a --to of a requester who is not root and has no admin role must be
 *   absolute, without a `..` component, and its nearest existing directory
 *   (the target itself, or the parent of a target to be made or of a file
 *   to be replaced) must be owned by the requester with the owner's write
 *   bit set. The walk follows no symlink except root's, and the directory
 *   it checked is the one the restore uses: the target is handed over as
 *   /proc/self/fd/N/REST, so renaming a component later changes nothing.
 */
#ifndef ABS_ENGINE_TARGET_H
#define ABS_ENGINE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define ENG_RESTORE_ROOT "/var/lib/abs-engine/restore"

/* The default target root/as into out; made and checked. err: ENG_ERRLEN. */
int eng_target_default(const char *as, char *out, size_t n, char *err);
/*
 * Check to for requester uid (-1: unknown, refused), pinning the checked
 * directory: out gets the path to restore to, *pin the fd to close after
 * the restore (-1 when none), dir the checked directory's name. err:
 * ENG_ERRLEN.
 */
int eng_target_check(const char *to, int64_t uid, char *out, size_t n,
    int *pin, char *dir, size_t dn, char *err);
/* The pinned /proc/self/fd/PIN in a message back to the name dir. */
void eng_target_unpin(char *err, size_t n, int pin, const char *dir);

#endif
