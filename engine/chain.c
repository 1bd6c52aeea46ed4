/*
 * Chains: the tree restored so far brought to the next dump's listing
 * (moves, links, removals), and a chain found in the dump log.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/crash.h"
#include "common/date.h"
#include "common/log.h"
#include "engine/chain.h"
#include "engine/engine.h"
#include "engine/extract.h"
#include "engine/shadow.h"
#include "engine/tape.h"

int
eng_chain_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (; *p && *p == *q; p++, q++)
		;
	/* '/' before every other byte: a directory's subtree is one run. */
	int x = *p == '/' ? 1 : *p ? *p + 1 : 0;
	int y = *q == '/' ? 1 : *q ? *q + 1 : 0;
	return x - y;
}

const struct fidx_entry *
eng_fidx_find(const struct fidx *x, const char *path)
{
	uint64_t lo = 0, hi = x->nentries;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int c = eng_chain_path_cmp(x->e[mid].path, path);
		if (c == 0)
			return &x->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool
eng_chain_path_ok(const char *path)
{
	const char *p;

	if (strcmp(path, ".") == 0)
		return true;
	if (strncmp(path, "./", 2) != 0)
		return false;
	for (p = path + 2;;) {
		const char *s = strchr(p, '/');
		size_t len = s ? (size_t)(s - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!s)
			return true;
		p = s + 1;
	}
}

/* "./a/b" -> "a/b" (the index's paths, relative to the restore's root). */
static const char *
rel(const char *path)
{
	return path + 2;
}

/*
 * The directory that holds path ("./a/b/c": a/b), opened component by
 * component without following a symlink; made (0700: the stream or
 * fix_dirs sets the mode later) where missing if make. *leaf: the last
 * component. A descriptor, or negative with err.
 */
static int
open_parent(int dirfd, const char *path, bool make, const char **leaf,
    char *err)
{
	char comp[NAME_MAX + 1];
	const char *p = rel(path);
	int fd = dup(dirfd);

	if (fd < 0) {
		eng_err(err, "dup: %s", strerror(errno));
		return -errno;
	}
	for (;;) {
		const char *s = strchr(p, '/');
		if (!s) {
			*leaf = p;
			return fd;
		}
		size_t len = (size_t)(s - p);
		if (len > NAME_MAX) {
			close(fd);
			eng_err(err, "%s: a name is too long", path);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && make) {
			if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				eng_err(err, "%.*s: %s", (int)(s - path), path,
				    strerror(e));
				return -e;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		close(fd);
		if (nfd < 0) {
			if (e == ELOOP || e == ENOTDIR)
				eng_err(err, "%.*s is not a directory (a symbolic "
				    "link or a file): the restore does not go "
				    "through it", (int)(s - path), path);
			else
				eng_err(err, "%.*s: %s", (int)(s - path), path,
				    strerror(e));
			return -e;
		}
		fd = nfd;
		p = s + 1;
	}
}

/* One level of rm_tree's walk: the directory's identity and its name. */
struct rm_level {
	dev_t dev;
	ino_t ino;
	char name[NAME_MAX + 1];
};

/* Deeper than this is a loop (a bind mount of a directory above). */
#define RM_DEPTH_MAX 65536

/* The directory open at fd, named name in the level above, pushed. */
static int
rm_push(struct rm_level **lv, size_t *depth, size_t *cap, int fd,
    const char *name)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (*depth >= RM_DEPTH_MAX)
		return -ELOOP;
	if (*depth == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct rm_level *n = realloc(*lv, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*lv = n;
		*cap = nc;
	}
	(*lv)[*depth].dev = sb.st_dev;
	(*lv)[*depth].ino = sb.st_ino;
	snprintf((*lv)[*depth].name, sizeof((*lv)[*depth].name), "%s", name);
	(*depth)++;
	return 0;
}

/*
 * The directory name under pfd opened without following a link, and made
 * writable and searchable by its owner through that descriptor (a 0555
 * directory a dump left is emptied by a media server that is not root).
 * A directory that cannot be opened as it is (mode 0) is given u+rwx
 * first, by a call that refuses a link. A descriptor or -errno.
 */
static int
open_dir_rw(int pfd, const char *name)
{
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	struct stat sb;

	if (fd < 0 && errno == EACCES &&
	    fchmodat(pfd, name, S_IRWXU, AT_SYMLINK_NOFOLLOW) == 0)
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) == 0 && (sb.st_mode & S_IRWXU) != S_IRWXU)
		(void)fchmod(fd, (sb.st_mode & 07777) | S_IRWXU);
	return fd;
}

/*
 * Remove name under pfd and, for a directory, all under it; never through
 * a symlink. ENOENT is no error. Iterative, with at most two descriptors
 * open whatever the depth (hostile13 H12: one per level ran out past the
 * open-file limit): down into the first subdirectory found, up by ".."
 * once a directory is empty, each ".." checked to be the directory that
 * was come down from (device and inode), so a tree moved meanwhile stops
 * the removal instead of leading it elsewhere.
 */
int
eng_chain_rm_tree(int pfd, const char *name)
{
	struct rm_level *lv = NULL;
	size_t depth = 0, cap = 0;
	struct stat sb;
	int fd, rc = 0;

	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(pfd, name, 0) < 0 && errno != ENOENT ?
		    -errno : 0;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	if ((fd = open_dir_rw(pfd, name)) < 0)
		return fd == -ENOENT ? 0 : fd;
	if ((rc = rm_push(&lv, &depth, &cap, fd, name)) < 0) {
		close(fd);
		free(lv);
		return rc;
	}
	while (depth > 0) {
		/* fd: the directory lv[depth - 1]. Its files go; the first
		   subdirectory found is gone into. */
		DIR *d = fdopendir(fd);
		struct dirent *de;
		char down[NAME_MAX + 1] = "";

		if (!d) {
			rc = -errno;
			break;
		}
		fd = -1;
		while (rc == 0 && !down[0] && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dirfd(d), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno != ENOENT)
					rc = -errno;
			} else if (S_ISDIR(sb.st_mode)) {
				snprintf(down, sizeof(down), "%s", de->d_name);
			} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 &&
			    errno != ENOENT) {
				rc = -errno;
			}
		}
		if (rc == 0 && down[0]) {
			fd = open_dir_rw(dirfd(d), down);
			closedir(d);
			if (fd < 0)
				rc = fd;
			else
				rc = rm_push(&lv, &depth, &cap, fd, down);
			if (rc < 0)
				break;
			continue;
		}
		if (rc < 0) {
			closedir(d);
			break;
		}
		/* Empty: removed from the level above. */
		if (depth == 1) {
			closedir(d);
			if (unlinkat(pfd, lv[0].name, AT_REMOVEDIR) < 0 &&
			    errno != ENOENT)
				rc = -errno;
			break;
		}
		int up = openat(dirfd(d), "..", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		closedir(d);
		if (up < 0 || fstat(up, &sb) < 0) {
			rc = -errno;
		} else if (sb.st_dev != lv[depth - 2].dev ||
		    sb.st_ino != lv[depth - 2].ino) {
			rc = -ESTALE;	/* moved while being removed */
		} else if (unlinkat(up, lv[depth - 1].name, AT_REMOVEDIR) < 0 &&
		    errno != ENOENT) {
			rc = -errno;
		}
		if (rc < 0) {
			if (up >= 0)
				close(up);
			break;
		}
		depth--;
		fd = up;	/* the parent, read again from its start */
	}
	if (fd >= 0)
		close(fd);
	free(lv);
	return rc;
}

/*
 * A path of the base's index relative to dirfd, removed alone: a file, or
 * a directory that is empty once its listed entries went (*foreign when
 * it is not: it is kept). Never through a symlink; ENOENT is no error.
 */
static int
rm_listed(int dirfd, const char *path, bool *foreign, char *err)
{
	const char *leaf;
	struct stat sb;
	int fd = open_parent(dirfd, path, false, &leaf, err), rc = 0;

	if (fd == -ENOENT) {
		err[0] = '\0';
		return 0;	/* its parent is not there */
	}
	if (fd < 0)
		return fd;
	if (fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rc = -errno;
	} else if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(fd, leaf, 0) < 0 && errno != ENOENT)
			rc = -errno;
	} else if (unlinkat(fd, leaf, AT_REMOVEDIR) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			*foreign = true;
		else if (errno != ENOENT)
			rc = -errno;
	}
	close(fd);
	if (rc < 0)
		eng_err(err, "removing %s: %s", path, strerror(-rc));
	return rc;
}

/*
 * Scratch directories a killed restore left at the top of the target.
 * They hold only links to files this restore puts back from its dumps
 * (a chain restore starts again from the full), so they go.
 */
static int
rm_leftovers(int dirfd, char *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		eng_err(err, "reading the target: %s", strerror(errno));
		return -errno;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, ".abs-chain-", 11) != 0 ||
		    fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		log_warn("removing %s, left by a restore that did not end",
		    de->d_name);
		if ((rc = eng_chain_rm_tree(dirfd, de->d_name)) < 0)
			eng_err(err, "removing %s: %s", de->d_name, strerror(-rc));
	}
	closedir(d);
	return rc;
}

/* Whether a top-level name is the restore's or a shadow's own (no part
   of a dump's tree). */
static bool
own_name(const char *name)
{
	return strcmp(name, ENG_EXTRACT_MARKER) == 0 ||
	    strncmp(name, ".abs-chain-", 11) == 0 ||
	    strcmp(name, ENG_SHADOW_MARKER) == 0 ||
	    strcmp(name, ENG_SHADOW_MARKER ".tmp") == 0;
}

/* eng_chain_tree_differs' count of the entries under the tree (nftw
   has no argument for its callback). */
static __thread uint64_t walk_count;

static int
count_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *f)
{
	(void)sb;
	if (f->level == 0)
		return FTW_CONTINUE;
	/* The restore's and the shadow's own names at the top. */
	if (f->level == 1 && own_name(path + f->base))
		return flag == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	walk_count++;
	return FTW_CONTINUE;
}

int
eng_chain_tree_differs(int dirfd, const struct fidx *x, char *why, size_t len)
{
	char top[64], err[ENG_ERRLEN];
	uint64_t want = 0;

	why[0] = '\0';
	for (uint64_t i = 0; i < x->nentries; i++) {
		const struct fidx_entry *e = &x->e[i];
		const char *leaf;
		struct stat sb;
		int fd, t;

		if (strcmp(e->path, ".") == 0)
			continue;
		if (strncmp(e->path, "./", 2) == 0 && !strchr(e->path + 2, '/') &&
		    own_name(e->path + 2))
			continue;	/* the dump's own, not counted either */
		want++;
		fd = open_parent(dirfd, e->path, false, &leaf, err);
		if (fd < 0) {
			snprintf(why, len, "%s: %s", e->path, err);
			return 1;
		}
		t = fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW);
		close(fd);
		if (t < 0) {
			snprintf(why, len, "%s: %s", e->path, strerror(errno));
			return 1;
		}
		t = S_ISREG(sb.st_mode) ? FIDX_REG : S_ISDIR(sb.st_mode) ?
		    FIDX_DIR : S_ISLNK(sb.st_mode) ? FIDX_LNK : S_ISCHR(sb.st_mode) ?
		    FIDX_CHR : S_ISBLK(sb.st_mode) ? FIDX_BLK : S_ISFIFO(sb.st_mode) ?
		    FIDX_FIFO : FIDX_SOCK;
		if (t != e->type) {
			snprintf(why, len, "%s is of another type than the dump's",
			    e->path);
			return 1;
		}
		if (t == FIDX_REG && ((uint64_t)sb.st_size != e->size ||
		    sb.st_mtime != e->mtime)) {
			snprintf(why, len, "%s has another size or time than the"
			    " dump's", e->path);
			return 1;
		}
	}
	/* Nothing more than the dump's entries: counted through the
	   descriptor (its /proc name), links not followed. */
	snprintf(top, sizeof(top), "/proc/self/fd/%d/.", dirfd);
	walk_count = 0;
	if (nftw(top, count_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL) < 0) {
		snprintf(why, len, "reading the tree: %s", strerror(errno));
		return 1;
	}
	if (walk_count != want) {
		snprintf(why, len, "it holds %" PRIu64 " entries, the dump %"
		    PRIu64, walk_count, want);
		return 1;
	}
	return 0;
}

static int
ino_cmp(const void *a, const void *b)
{
	const struct fidx_entry *x = *(const struct fidx_entry *const *)a;
	const struct fidx_entry *y = *(const struct fidx_entry *const *)b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return strcmp(x->path, y->path);
}

int
eng_ino_map_build(const struct fidx *x, struct eng_ino_map *m)
{
	m->n = 0;
	if (!(m->v = calloc(x->nentries ? x->nentries : 1, sizeof(*m->v))))
		return -ENOMEM;
	for (uint64_t i = 0; i < x->nentries; i++)
		if (x->e[i].type != FIDX_DIR && x->e[i].ino)
			m->v[m->n++] = &x->e[i];
	qsort(m->v, m->n, sizeof(*m->v), ino_cmp);
	return 0;
}

void
eng_ino_map_free(struct eng_ino_map *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

uint64_t
eng_ino_map_first(const struct eng_ino_map *m, uint64_t ino)
{
	uint64_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (m->v[mid]->ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->v[lo]->ino == ino ? lo : UINT64_MAX;
}

const struct fidx_entry *
eng_ino_map_best(const struct eng_ino_map *m, uint64_t ino, uint8_t type)
{
	const struct fidx_entry *best = NULL;
	uint64_t i = eng_ino_map_first(m, ino);

	for (; i < m->n && m->v[i]->ino == ino; i++) {
		const struct fidx_entry *e = m->v[i];
		if (e->type != type)
			continue;
		if (e->flags & FIDX_HAS_DATA)
			return e;
		if (!best || ((e->flags & FIDX_IN_STREAM) &&
		    !(best->flags & FIDX_IN_STREAM)))
			best = e;
	}
	return best;
}

/* Is path, or a directory above it, among the sorted removals? */
static bool
removed_above(const char *path, const char *const *rm, uint64_t nrm)
{
	char buf[4096];
	size_t len = strlen(path);

	if (!nrm || len >= sizeof(buf))
		return false;
	memcpy(buf, path, len + 1);
	for (;;) {
		uint64_t lo = 0, hi = nrm;
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;
			int c = strcmp(rm[mid], buf);
			if (c == 0)
				return true;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		char *s = strrchr(buf, '/');
		if (!s || s == buf + 1)
			return false;	/* up to "./x" */
		*s = '\0';
	}
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An entry of n to be given its name from the scratch directory. */
struct place {
	const struct fidx_entry *e;
	uint64_t ino;		/* the scratch name */
};

struct apply {
	int dirfd, scratch;
	char scratch_name[64];
	const struct fidx *base, *n;
	struct eng_ino_map bi;
	const char **rm;	/* base paths to remove, sorted */
	uint64_t nrm;
	struct place *pl;
	uint64_t npl;
	bool *staged;		/* by bi's first index of each inode */
	uint64_t nstaged;
	char *err;
};

/* Which base paths go: gone from n, or there as another type or inode. */
static int
plan_removals(struct apply *a)
{
	const struct fidx *b = a->base;

	if (!(a->rm = calloc(b->nentries ? b->nentries : 1, sizeof(*a->rm))))
		return -ENOMEM;
	for (uint64_t i = 0; i < b->nentries; i++) {
		const struct fidx_entry *be = &b->e[i], *ne;
		if (strcmp(be->path, ".") == 0)
			continue;
		if (!eng_chain_path_ok(be->path)) {
			eng_err(a->err, "the base's index holds an unsafe path "
			    "(%.200s): refused", be->path);
			return -EBADMSG;
		}
		ne = eng_fidx_find(a->n, be->path);
		if (!ne || ne->type != be->type || ne->ino != be->ino)
			a->rm[a->nrm++] = be->path;
	}
	qsort(a->rm, a->nrm, sizeof(*a->rm), str_cmp);
	return 0;
}

/* The scratch directory inside the restore, a name nobody else uses. */
static int
scratch_open(struct apply *a)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^
			    (uint64_t)tries;
		snprintf(a->scratch_name, sizeof(a->scratch_name),
		    ".abs-chain-%016" PRIx64, r);
		if (mkdirat(a->dirfd, a->scratch_name, 0700) == 0)
			break;
		if (errno != EEXIST) {
			eng_err(a->err, "making a scratch directory: %s",
			    strerror(errno));
			return -errno;
		}
	}
	a->scratch = openat(a->dirfd, a->scratch_name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (a->scratch < 0) {
		eng_err(a->err, "%s: %s", a->scratch_name, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * src's file (by its base path) into the scratch directory as its inode:
 * a hard link (the old name may stay, or be another name of n's), or
 * where links are refused a rename of a name that goes anyway.
 */
static int
stage(struct apply *a, const struct fidx_entry *src, bool src_goes)
{
	char name[32];
	const char *leaf;
	int fd, rc = 0;

	uint64_t k = eng_ino_map_first(&a->bi, src->ino);
	if (k == UINT64_MAX)
		return -ENOENT;
	if (a->staged[k])
		return 0;
	if (a->scratch < 0 && (rc = scratch_open(a)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%016" PRIx64, src->ino);
	if ((fd = open_parent(a->dirfd, src->path, false, &leaf, a->err)) < 0) {
		char why[ENG_ERRLEN];
		snprintf(why, sizeof(why), "%s", a->err);
		eng_err(a->err, "%s of the base is missing from the restored "
		    "tree (%s)", src->path, why);
		return fd;
	}
	if (linkat(fd, leaf, a->scratch, name, 0) < 0) {
		int e = errno;
		if (e == ENOENT) {
			close(fd);
			eng_err(a->err, "%s of the base is missing from the "
			    "restored tree", src->path);
			return -ENOENT;
		}
		if (!src_goes || renameat(fd, leaf, a->scratch, name) < 0) {
			e = src_goes ? errno : e;
			close(fd);
			eng_err(a->err, "staging %s: %s", src->path, strerror(e));
			return -e;
		}
	}
	close(fd);
	a->staged[k] = true;
	a->nstaged++;
	return 0;
}

/*
 * Entries of n without their data in n's stream: kept where the base has
 * them, else staged by inode for placing once the removals are done.
 */
static int
plan_moves(struct apply *a, struct eng_apply_stats *st)
{
	const struct fidx *n = a->n;
	int rc;

	if (!(a->pl = calloc(n->nentries ? n->nentries : 1, sizeof(*a->pl))) ||
	    !(a->staged = calloc(a->bi.n ? a->bi.n : 1, sizeof(*a->staged))))
		return -ENOMEM;
	for (uint64_t i = 0; i < n->nentries; i++) {
		const struct fidx_entry *e = &n->e[i], *src;
		if (strcmp(e->path, ".") == 0)
			continue;
		if (!eng_chain_path_ok(e->path)) {
			eng_err(a->err, "the dump's index holds an unsafe path "
			    "(%.200s): refused", e->path);
			return -EBADMSG;
		}
		if ((e->flags & FIDX_IN_STREAM) || e->type == FIDX_DIR)
			continue;
		src = eng_fidx_find(a->base, e->path);
		bool above = removed_above(e->path, a->rm, a->nrm);
		if (src && src->ino == e->ino && src->type == e->type && !above) {
			st->kept++;
			continue;
		}
		if (!(src = eng_ino_map_best(&a->bi, e->ino, e->type))) {
			eng_err(a->err, "%.200s (inode %" PRIu64 ") is neither in "
			    "the dump's stream nor in its base's listing: the "
			    "chain does not fit together", e->path, e->ino);
			return -EBADMSG;
		}
		/* The old name goes if n does not keep it as this inode. */
		const struct fidx_entry *keep = eng_fidx_find(n, src->path);
		bool goes = !keep || keep->ino != src->ino ||
		    removed_above(src->path, a->rm, a->nrm);
		if ((rc = stage(a, src, goes)) < 0)
			return rc;
		a->pl[a->npl++] = (struct place){ e, e->ino };
	}
	return 0;
}

/* A staged inode under the entry's name in n. */
static int
place(struct apply *a, const struct place *p)
{
	char name[32];
	const char *leaf;
	struct stat sb;
	int fd, rc = 0;

	snprintf(name, sizeof(name), "%016" PRIx64, p->ino);
	if ((fd = open_parent(a->dirfd, p->e->path, true, &leaf, a->err)) < 0)
		return fd;
	/* Something the base did not name may be there (not ours: a dir). */
	if (fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			eng_err(a->err, "%s: a directory is in the way",
			    p->e->path);
			rc = -EISDIR;
		} else if (unlinkat(fd, leaf, 0) < 0) {
			rc = -errno;
			eng_err(a->err, "%s: %s", p->e->path, strerror(errno));
		}
	}
	if (rc == 0 && linkat(a->scratch, name, fd, leaf, 0) < 0) {
		rc = -errno;
		eng_err(a->err, "%s: %s", p->e->path, strerror(errno));
	}
	close(fd);
	return rc;
}

/* Directories of n its stream lacks (a dir: dump has them all). */
static int
make_dirs(struct apply *a, struct eng_apply_stats *st)
{
	for (uint64_t i = 0; i < a->n->nentries; i++) {
		const struct fidx_entry *e = &a->n->e[i];
		const char *leaf;
		struct stat sb;
		int fd;

		if (e->type != FIDX_DIR || (e->flags & FIDX_IN_STREAM) ||
		    strcmp(e->path, ".") == 0)
			continue;
		if ((fd = open_parent(a->dirfd, e->path, true, &leaf, a->err)) < 0)
			return fd;
		if (fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (mkdirat(fd, leaf, 0700) < 0) {
				int e2 = errno;
				close(fd);
				eng_err(a->err, "%s: %s", e->path, strerror(e2));
				return -e2;
			}
			st->dirs++;
		} else if (!S_ISDIR(sb.st_mode)) {
			close(fd);
			eng_err(a->err, "%s: not a directory in the restored tree",
			    e->path);
			return -ENOTDIR;
		}
		close(fd);
	}
	return 0;
}

/* The scratch directory emptied and removed. */
static int
scratch_close(struct apply *a, int rc)
{
	if (a->scratch < 0)
		return rc;
	close(a->scratch);
	a->scratch = -1;
	if (rc < 0 && a->nstaged) {
		/* What was staged is kept: the files may have no other name. */
		size_t l = strlen(a->err);
		snprintf(a->err + l, ENG_ERRLEN - l, " (files being moved are "
		    "kept in %s, by inode)", a->scratch_name);
		return rc;
	}
	int r = eng_chain_rm_tree(a->dirfd, a->scratch_name);
	if (r < 0 && rc == 0) {
		eng_err(a->err, "removing %s: %s", a->scratch_name, strerror(-r));
		rc = r;
	}
	return rc;
}

int
eng_chain_apply(int dirfd, const struct fidx *base, const struct fidx *n,
    struct eng_apply_stats *st, char *err)
{
	struct apply a = { .dirfd = dirfd, .scratch = -1, .base = base,
	    .n = n, .err = err };
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = rm_leftovers(dirfd, err)) < 0 ||
	    (rc = eng_ino_map_build(base, &a.bi)) < 0 ||
	    (rc = plan_removals(&a)) < 0 ||
	    (rc = plan_moves(&a, st)) < 0)
		goto out;
	/*
	 * Children first (reverse path order), and only what the base lists:
	 * a directory that still holds something no dump of the chain has
	 * (work put into the target since) is kept, never emptied.
	 */
	for (uint64_t i = a.nrm; i-- > 0;) {
		bool foreign = false;
		abs_crash_point("chain-apply");
		if ((rc = rm_listed(dirfd, a.rm[i], &foreign, err)) < 0)
			goto out;
		if (foreign) {
			if (st->foreign++ < 10)
				log_warn("%s kept: it holds entries no dump of "
				    "the chain has", a.rm[i]);
		} else {
			st->removed++;
		}
	}
	for (uint64_t i = 0; i < a.npl; i++) {
		abs_crash_point("chain-apply");
		if ((rc = place(&a, &a.pl[i])) < 0)
			goto out;
		st->placed++;
	}
	rc = make_dirs(&a, st);
out:
	rc = scratch_close(&a, rc);
	if (rc == -ENOMEM && !err[0])
		eng_err(err, "out of memory");
	eng_ino_map_free(&a.bi);
	free(a.rm);
	free(a.pl);
	free(a.staged);
	return rc;
}

int
eng_chain_dir_meta(int dirfd, const struct fidx_entry *e, char *err)
{
	const char *leaf;
	int fd, dfd, e2;

	if (!eng_chain_path_ok(e->path) || strcmp(e->path, ".") == 0)
		return 0;
	if ((fd = open_parent(dirfd, e->path, false, &leaf, err)) < 0)
		return fd;
	dfd = openat(fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e2 = errno;
	close(fd);
	if (dfd < 0) {
		eng_err(err, "%s: %s", e->path, strerror(e2));
		return -e2;
	}
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { e->mtime, 0 } };
	if ((geteuid() == 0 && fchown(dfd, e->uid, e->gid) < 0) ||
	    fchmod(dfd, e->mode & 07777) < 0 || futimens(dfd, ts) < 0) {
		e2 = errno;
		close(dfd);
		eng_err(err, "%s: %s", e->path, strerror(e2));
		return -e2;
	}
	close(dfd);
	return 0;
}

int
eng_chain_fix_dirs(int dirfd, const struct fidx *n, char *err)
{
	/*
	 * Every directory, not only those the stream lacks: libarchive
	 * defers a directory's times to the archive's end only for one it
	 * made; one that was there (the base's) gets them at once, and its
	 * entries written after that change its mtime again. Deepest first:
	 * a mode without write permission would stop those under it.
	 */
	for (uint64_t i = n->nentries; i-- > 0;) {
		const struct fidx_entry *e = &n->e[i];
		int rc;

		if (e->type != FIDX_DIR)
			continue;
		if ((rc = eng_chain_dir_meta(dirfd, e, err)) < 0)
			return rc;
	}
	return 0;
}

int
eng_chain_mkdir(int dirfd, const char *path, char *err)
{
	const char *leaf;
	struct stat sb;
	int fd, rc = 0;

	if (!eng_chain_path_ok(path) || strcmp(path, ".") == 0)
		return 0;
	if ((fd = open_parent(dirfd, path, true, &leaf, err)) < 0)
		return fd;
	if (fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			eng_err(err, "%s: something else than a directory is there",
			    path);
			rc = -ENOTDIR;
		}
	} else if (mkdirat(fd, leaf, 0700) < 0) {
		rc = -errno;
		eng_err(err, "%s: %s", path, strerror(errno));
	}
	close(fd);
	return rc;
}

int
eng_chain_link(int dirfd, const char *from, const char *to, char *err)
{
	const char *fl, *tl;
	int ffd, tfd, rc = 0;

	if (!eng_chain_path_ok(from) || !eng_chain_path_ok(to)) {
		eng_err(err, "unsafe path %s or %s", from, to);
		return -EINVAL;
	}
	if ((ffd = open_parent(dirfd, from, false, &fl, err)) < 0)
		return ffd;
	if ((tfd = open_parent(dirfd, to, true, &tl, err)) < 0) {
		close(ffd);
		return tfd;
	}
	if ((unlinkat(tfd, tl, 0) < 0 && errno != ENOENT) ||
	    linkat(ffd, fl, tfd, tl, 0) < 0) {
		rc = -errno;
		eng_err(err, "%s (a link to %s): %s", to, from, strerror(errno));
	}
	close(ffd);
	close(tfd);
	return rc;
}

bool
eng_chain_date_ok(const char *d, const char *date)
{
	return !date || strncmp(d, date, strlen(date)) <= 0;
}

bool
eng_chain_date_valid(const char *date)
{
	/* One rule for abs-engine, abs-ctl and abs-ctld. */
	return date_prefix_valid(date);
}

void
eng_chain_free(struct eng_chain *c)
{
	free(c->d);
	c->d = NULL;
	c->n = 0;
}

/* "" and "-" both say: no base. */
static bool
has_base(const struct cat_dl_rec *r)
{
	return r->base[0] && strcmp(r->base, "-") != 0;
}

static bool
hex32(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 32;
}

int
eng_chain_dump_line(const char *line, unsigned long lineno, const char *log,
    struct cat_dl_rec *r, char *err)
{
	if (cat_dl_parse(line, r) < 0 || r->type != CAT_DL_DUMP)
		return 0;
	/* The dump ID names the index copy in LOG.fidx/: never a path. */
	if (!hex32(r->dump_id) || (has_base(r) && !hex32(r->base))) {
		eng_err(err, "dump log %s, line %lu: a dump line whose dump ID "
		    "or base is not 32 hex digits; refused", log, lineno);
		return -EBADMSG;
	}
	return 1;
}

/* Every dump line of the log: the entity's, and any a base may name. */
struct dumps {
	struct cat_dl_rec *v;
	size_t n, cap;
};

static int
read_dumps(const char *log, struct dumps *ds, char *err)
{
	FILE *fp = fopen(log, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	if (!fp) {
		eng_err(err, "dump log %s: %s", log, strerror(errno));
		return -errno;
	}
	while (getline(&line, &cap, fp) > 0) {
		struct cat_dl_rec r;
		if ((rc = eng_chain_dump_line(line, ++lineno, log, &r, err)) < 0)
			break;
		if (rc == 0)
			continue;
		rc = 0;
		if (ds->n == ds->cap) {
			size_t nc = ds->cap ? ds->cap * 2 : 64;
			struct cat_dl_rec *nv = realloc(ds->v, nc * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			ds->v = nv;
			ds->cap = nc;
		}
		ds->v[ds->n++] = r;
	}
	free(line);
	fclose(fp);
	return rc;
}

/* The complete dump line of id, or NULL. */
static const struct cat_dl_rec *
dump_by_id(const struct dumps *ds, const char *id)
{
	for (size_t i = 0; i < ds->n; i++)
		if (strcmp(ds->v[i].dump_id, id) == 0 &&
		    strcmp(ds->v[i].status, "complete") == 0)
			return &ds->v[i];
	return NULL;
}

int
eng_chain_from_log(const char *log, const char *entity, const char *date,
    bool level_only, struct eng_chain *c, bool *no_base, char *err)
{
	struct dumps ds = { 0 };
	const struct cat_dl_rec *best = NULL, *cur;
	int rc;

	memset(c, 0, sizeof(*c));
	*no_base = false;
	if ((rc = read_dumps(log, &ds, err)) < 0)
		goto out;
	for (size_t i = 0; i < ds.n; i++) {
		const struct cat_dl_rec *r = &ds.v[i];
		if (strcmp(r->entity, entity) != 0 ||
		    strcmp(r->status, "complete") != 0 ||
		    !eng_chain_date_ok(r->date, date))
			continue;
		if (!best || strcmp(r->date, best->date) >= 0)
			best = r;
	}
	if (!best) {
		eng_err(err, "no complete dump of %s%s%s in %s", entity,
		    date ? " at or before " : "", date ? date : "", log);
		rc = -ENOENT;
		goto out;
	}
	/* Back from the dump asked for to its full; at most one per level. */
	struct cat_dl_rec chain[10];
	unsigned n = 0;
	chain[n++] = *best;
	for (cur = best; !level_only && cur->level > 0;) {
		if (!has_base(cur)) {
			if (cur == best) {
				*no_base = true;	/* --since without a base */
				break;
			}
			eng_err(err, "the chain of %s breaks at dump %s (%s, level "
			    "%d): it names no base", entity, cur->dump_id,
			    cur->date, cur->level);
			rc = -ENOENT;
			goto out;
		}
		const struct cat_dl_rec *b = dump_by_id(&ds, cur->base);
		if (!b) {
			eng_err(err, "the chain of %s is broken: dump %s (%s, level "
			    "%d) is relative to dump %s (dated %s, level below "
			    "%d), which %s has no complete record of: restore "
			    "with --level-only for the incremental alone",
			    entity, cur->dump_id, cur->date, cur->level,
			    cur->base, cur->since, cur->level, log);
			rc = -ENOENT;
			goto out;
		}
		/* A base of another entity, or not at the time the
		   incremental's since says, is not its base: nothing of it
		   may go into the target (hostile13 H3). */
		if (strcmp(b->entity, cur->entity) != 0) {
			eng_err(err, "the chain of %s is refused: dump %s (%s, "
			    "level %d) names base %s, a dump of entity %s",
			    entity, cur->dump_id, cur->date, cur->level,
			    b->dump_id, b->entity);
			rc = -EBADMSG;
			goto out;
		}
		if (strcmp(cur->since, b->date) != 0) {
			eng_err(err, "the chain of %s is refused: dump %s's since "
			    "%s is not the date %s of its base %s", entity,
			    cur->dump_id, cur->since, b->date, b->dump_id);
			rc = -EBADMSG;
			goto out;
		}
		/* Dates are to the second: a base named by base= may be of the
		   same second as its incremental (hostile13 H19); levels fall
		   strictly, so no cycle passes. */
		if (b->level >= cur->level || n >= 10 ||
		    strcmp(b->date, cur->date) > 0) {
			eng_err(err, "the chain of %s does not fit: dump %s (%s, "
			    "level %d) names base %s (%s, level %d)", entity,
			    cur->dump_id, cur->date, cur->level, b->dump_id,
			    b->date, b->level);
			rc = -EBADMSG;
			goto out;
		}
		chain[n++] = *b;
		cur = &chain[n - 1];
	}
	if (!(c->d = calloc(n, sizeof(*c->d)))) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		c->d[i].rec = chain[n - 1 - i];
	c->n = n;
out:
	free(ds.v);
	return rc;
}
