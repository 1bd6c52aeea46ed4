/* Where a served restore may write: the engine's default root, and the requester's rights on a named target (target.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/tape.h"
#include "engine/target.h"

/* dir is a real directory of ours (or root's) that no one else may write. */
static int
safe_dir(const char *dir, bool ours, char *err)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		eng_err(err, "restore root %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != geteuid() && (ours || st.st_uid != 0))) {
		eng_err(err, "restore root %s is %s: refused (it must be a real "
		    "directory of uid %u that no one else may write)", dir,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : !S_ISDIR(st.st_mode) ?
		    "not a directory" : "owned or writable by others",
		    (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

int
eng_target_default(const char *as, char *out, size_t n, char *err)
{
	const char *root = getenv("ABS_RESTORE_ROOT");
	char parent[1024], *slash;
	int rc;

	if (!root || !*root)
		root = ENG_RESTORE_ROOT;
	if (!as || !*as || strchr(as, '/') || strcmp(as, ".") == 0 ||
	    strcmp(as, "..") == 0) {
		eng_err(err, "restore name '%s' is not a name (no '/', no '..'): "
		    "refused", as ? as : "");
		return -EINVAL;
	}
	if (root[0] != '/' || (size_t)snprintf(parent, sizeof(parent), "%s",
	    root) >= sizeof(parent) || (size_t)snprintf(out, n, "%s/%s", root,
	    as) >= n) {
		eng_err(err, "restore root %s: not an absolute path, or too long",
		    root);
		return -EINVAL;
	}
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
		eng_err(err, "%s: %s", parent, strerror(errno));
		return -errno;
	}
	if ((rc = safe_dir(parent, false, err)) < 0)
		return rc;
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		eng_err(err, "%s: %s", root, strerror(errno));
		return -errno;
	}
	return safe_dir(root, true, err);
}

/* fd is a directory the requester owns and may write. */
static bool
own_dir(int fd, int64_t uid)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == (uid_t)uid && (st.st_mode & S_IWUSR);
}

/* The refusal of the walk at to's component c (offset off). */
static int
refuse(char *err, const char *to, size_t off, const char *why, int rc)
{
	eng_err(err, "restore to %s refused: %.*s %s", to, (int)off, to, why);
	return rc;
}

int
eng_target_check(const char *to, int64_t uid, char *out, size_t n, int *pin,
    char *dir, size_t dn, char *err)
{
	char path[4096], *save = NULL, *c, *next;
	const char *rest = ".";
	size_t shown = strlen(to);
	struct stat st;
	int fd, nfd;

	*pin = -1;
	if (uid < 0) {
		eng_err(err, "abs-ctld did not say who asked for this restore: "
		    "only the default target (no --to) is allowed");
		return -EPERM;
	}
	if (to[0] != '/' || (size_t)snprintf(path, sizeof(path), "%s", to) >=
	    sizeof(path)) {
		eng_err(err, "restore to %s refused: not an absolute path (or "
		    "too long)", to);
		return -EINVAL;
	}
	size_t tl = strlen(to);
	if (strstr(to, "/../") || (tl >= 3 && strcmp(to + tl - 3, "/..") == 0)) {
		eng_err(err, "restore to %s refused: it has a '..' component", to);
		return -EPERM;
	}
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (c = strtok_r(path, "/", &save); c; c = next) {
		size_t off = (size_t)(c - path), end = off + strlen(c);
		next = strtok_r(NULL, "/", &save);
		if (strcmp(c, ".") == 0)
			continue;
		int e = fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
		if (e && e != ENOENT) {
			close(fd);
			return refuse(err, to, end, strerror(e), -e);
		}
		if (!e && !next && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) &&
		    !S_ISREG(st.st_mode)) {
			close(fd);	/* a fifo would hold the drive for good */
			return refuse(err, to, end, "is neither a directory nor "
			    "a regular file", -EPERM);
		}
		/*
		 * A missing directory above the target, in a directory of the
		 * requester's own: made, and theirs, as their `mkdir -p` would.
		 */
		if (e == ENOENT && next && own_dir(fd, uid)) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
				close(fd);
				return refuse(err, to, end, strerror(errno), -errno);
			}
			struct passwd *pw = getpwuid((uid_t)uid);
			if (geteuid() == 0 &&
			    fchownat(fd, c, (uid_t)uid, pw ? pw->pw_gid :
			    (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0) {
				close(fd);
				return refuse(err, to, end, strerror(errno), -errno);
			}
			if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode) || st.st_uid != (uid_t)uid) {
				close(fd);
				return refuse(err, to, end, "changed while it was "
				    "made", -EPERM);
			}
			e = 0;
		}
		if (e == ENOENT || (!next && S_ISREG(st.st_mode))) {
			rest = to + off;	/* to be made, or a file replaced */
			shown = off > 1 ? off - 1 : 1;
			break;
		}
		if (S_ISLNK(st.st_mode) && (!next || (st.st_uid != 0 &&
		    st.st_uid != (uid_t)uid))) {
			close(fd);
			return refuse(err, to, end, "is a symbolic link (of "
			    "another user's, or the target itself): not followed",
			    -ELOOP);
		}
		if ((nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			close(fd);
			return refuse(err, to, end, strerror(errno), -errno);
		}
		close(fd);
		fd = nfd;
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != (uid_t)uid || !(st.st_mode & S_IWUSR)) {
		close(fd);
		eng_err(err, "restore to %s refused: uid %lld may not write "
		    "%.*s (owner uid %u, mode %04o; a restore for a user without "
		    "the admin role goes only into a directory of that user's "
		    "own)", to, (long long)uid, (int)shown, to,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	/* One name below the checked directory, no trailing '/' (see extract.c). */
	size_t rl = strlen(rest);
	while (rl > 1 && rest[rl - 1] == '/')
		rl--;
	if (memchr(rest, '/', rl)) {
		close(fd);
		eng_err(err, "restore to %s refused: %.*s has no directory %.*s "
		    "(make it first)", to, (int)shown, to, (int)strcspn(rest, "/"),
		    rest);
		return -ENOENT;
	}
	if ((size_t)snprintf(out, n, "/proc/self/fd/%d/%.*s", fd, (int)rl, rest)
	    >= n) {
		close(fd);
		eng_err(err, "restore to %s: path too long", to);
		return -ENAMETOOLONG;
	}
	snprintf(dir, dn, "%.*s", (int)shown, to);
	*pin = fd;
	return 0;
}

void
eng_target_unpin(char *err, size_t n, int pin, const char *dir)
{
	char pfx[40], *at, buf[ENG_ERRLEN];
	size_t pl = (size_t)snprintf(pfx, sizeof(pfx), "/proc/self/fd/%d", pin);
	size_t from = 0, dl = strlen(dir);

	while (pin >= 0 && from < strlen(err) && (at = strstr(err + from, pfx))) {
		from = (size_t)(at - err) + dl;
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - err), err, dir,
		    at + pl);
		snprintf(err, n, "%s", buf);
	}
}
