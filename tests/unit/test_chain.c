/*
 * The chain's apply step on real directories: the tree restored as of a
 * base brought to the next dump's listing (renames, swaps, cycles, a
 * directory renamed, file <-> directory, deletes, hard links, symlinks
 * never followed, unsafe paths refused), then the dump's "stream" written
 * by hand as extraction would.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "catalog/fileindex.h"
#include "engine/chain.h"
#include "engine/engine.h"
#include "engine/extract.h"
#include "t.h"

static char top[256];

/* An index under construction: entries kept sorted by path. */
struct ix {
	struct fidx x;
	struct fidx_entry e[64];
};

static int
ent_cmp(const void *a, const void *b)
{
	return eng_chain_path_cmp(((const struct fidx_entry *)a)->path,
	    ((const struct fidx_entry *)b)->path);
}

static void
ix_init(struct ix *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->x.e = ix->e;
	ix->e[0] = (struct fidx_entry){ .path = ".", .type = FIDX_DIR,
	    .flags = FIDX_IN_STREAM, .mode = 0755, .ino = 1 };
	ix->x.nentries = 1;
}

/* Add one entry; in: in the dump's stream. */
static void
ix_add(struct ix *ix, const char *path, uint8_t type, uint64_t ino, bool in)
{
	struct fidx_entry *e = &ix->e[ix->x.nentries++];

	*e = (struct fidx_entry){ .path = path, .type = type, .ino = ino,
	    .mode = type == FIDX_DIR ? 0750 : 0640, .mtime = 1000000000,
	    .uid = getuid(), .gid = getgid(), .nlink = 1,
	    .flags = in ? FIDX_IN_STREAM | (type == FIDX_REG ?
	    FIDX_HAS_DATA : 0) : 0 };
	qsort(ix->e, ix->x.nentries, sizeof(*e), ent_cmp);
}

/* A fresh restore directory, open. */
static int
fresh(const char *name, char *dir, size_t len)
{
	char cmd[1024];

	snprintf(dir, len, "%s/%s", top, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0 || mkdir(dir, 0755) < 0)
		return -1;
	return open(dir, O_RDONLY | O_DIRECTORY);
}

static void
put(const char *dir, const char *rel, const char *content)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
}

static void
mk(const char *dir, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mkdir(p, 0755) < 0)
		perror(p);
}

/* The content of dir/rel, or "" (missing), "<dir>", "<link:T>". */
static const char *
get(const char *dir, const char *rel)
{
	static char buf[256];
	char p[1024];
	struct stat sb;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &sb) < 0)
		return "";
	if (S_ISDIR(sb.st_mode))
		return "<dir>";
	if (S_ISLNK(sb.st_mode)) {
		char t[200];
		ssize_t n = readlink(p, t, sizeof(t) - 1);
		t[n < 0 ? 0 : n] = '\0';
		snprintf(buf, sizeof(buf), "<link:%s>", t);
		return buf;
	}
	f = fopen(p, "r");
	if (!f)
		return "?";
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static ino_t
ino_of(const char *dir, const char *rel)
{
	char p[1024];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &sb) < 0 ? 0 : sb.st_ino;
}

/* Nothing but the names given (and no scratch directory) at the top. */
static int
count_top(const char *dir)
{
	char cmd[1200];
	FILE *f;
	int n = 0;
	char line[512];

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	pclose(f);
	return n;
}

static void
test_paths(void)
{
	CHECK(eng_chain_path_cmp("./a", "./a/b") < 0);
	CHECK(eng_chain_path_cmp("./a/b", "./a-c") < 0);
	CHECK(eng_chain_path_cmp("./a-c", "./a.d") < 0);
	CHECK(eng_chain_path_cmp("./a/z", "./a!") < 0);
	CHECK(eng_chain_path_cmp("./a", "./a") == 0);
	CHECK(eng_chain_path_ok("."));
	CHECK(eng_chain_path_ok("./a"));
	CHECK(eng_chain_path_ok("./a/b.c/..d"));
	CHECK(!eng_chain_path_ok("a"));
	CHECK(!eng_chain_path_ok("/a"));
	CHECK(!eng_chain_path_ok("./"));
	CHECK(!eng_chain_path_ok("./a//b"));
	CHECK(!eng_chain_path_ok("./a/../b"));
	CHECK(!eng_chain_path_ok("./.."));
	CHECK(!eng_chain_path_ok("./a/."));
	CHECK(!eng_chain_path_ok("./a/"));
	CHECK(eng_chain_date_ok("2026-11-28T10:00:00Z", "2026-11-29"));
	CHECK(eng_chain_date_ok("2026-11-29T23:59:59Z", "2026-11-29"));
	CHECK(!eng_chain_date_ok("2026-11-30T00:00:00Z", "2026-11-29"));
	CHECK(eng_chain_date_ok("2026-11-29T10:00:00Z", "2026-11-29T10:00:00Z"));
	CHECK(!eng_chain_date_ok("2026-11-29T10:00:01Z", "2026-11-29T10:00:00Z"));
	CHECK(eng_chain_date_ok("2026-11-29T10:00:01Z", NULL));
}

/* Rename, delete, change, add; a directory renamed with what is in it. */
static void
test_renames(void)
{
	struct ix b, n;
	struct eng_apply_stats st;
	char dir[512], err[ENG_ERRLEN] = "";
	int fd = fresh("renames", dir, sizeof(dir));

	put(dir, "a", "A");
	put(dir, "gone", "G");
	put(dir, "same", "S");
	mk(dir, "d1");
	put(dir, "d1/f", "F");
	mk(dir, "d1/sub");
	put(dir, "d1/sub/g", "SUBG");
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 11, true);
	ix_add(&b, "./gone", FIDX_REG, 12, true);
	ix_add(&b, "./same", FIDX_REG, 13, true);
	ix_add(&b, "./d1", FIDX_DIR, 20, true);
	ix_add(&b, "./d1/f", FIDX_REG, 21, true);
	ix_add(&b, "./d1/sub", FIDX_DIR, 22, true);
	ix_add(&b, "./d1/sub/g", FIDX_REG, 23, true);
	put(dir, "d1-x", "DX");
	ix_add(&b, "./d1-x", FIDX_REG, 24, true);

	ix_init(&n);
	ix_add(&n, "./b", FIDX_REG, 11, false);		/* a renamed */
	ix_add(&n, "./same", FIDX_REG, 13, false);
	ix_add(&n, "./d2", FIDX_DIR, 20, true);		/* d1 renamed */
	ix_add(&n, "./d2/f", FIDX_REG, 21, false);
	ix_add(&n, "./d2/sub", FIDX_DIR, 22, true);
	ix_add(&n, "./d2/sub/g", FIDX_REG, 23, false);
	ix_add(&n, "./new", FIDX_REG, 30, true);
	ix_add(&n, "./d1-x", FIDX_REG, 24, false);
	int rc = eng_chain_apply(fd, &b.x, &n.x, &st, err);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	CHECK(strcmp(get(dir, "a"), "") == 0);
	CHECK(strcmp(get(dir, "gone"), "") == 0);
	CHECK(strcmp(get(dir, "b"), "A") == 0);
	CHECK(strcmp(get(dir, "same"), "S") == 0);
	CHECK(strcmp(get(dir, "d1"), "") == 0);
	CHECK(strcmp(get(dir, "d2/f"), "F") == 0);
	CHECK(strcmp(get(dir, "d2/sub/g"), "SUBG") == 0);
	CHECK(strcmp(get(dir, "d1-x"), "DX") == 0);
	CHECK_EQ(st.kept, 2);
	CHECK_EQ(st.placed, 3);
	CHECK_EQ(st.removed, 6);	/* a, gone, d1 and the 3 under it */
	CHECK_EQ(st.foreign, 0);
	CHECK_EQ(count_top(dir), 4);	/* b, d1-x, d2, same: no scratch */
	close(fd);
}

/*
 * A directory the base lists and the next dump drops, holding work that no
 * dump has (put into the target since): the listed entries go, the work
 * and the directories above it stay (hostile13 H21: it was removed whole).
 */
static void
test_foreign_kept(void)
{
	char dir[] = "/tmp/abs-chain-foreign.XXXXXX", err[ENG_ERRLEN] = "";
	struct ix b, n;
	struct eng_apply_stats st;

	CHECK(mkdtemp(dir) != NULL);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	mk(dir, "proj");
	put(dir, "proj/f", "F");
	mk(dir, "proj/sub");
	put(dir, "proj/sub/mywork", "PRECIOUS");
	mk(dir, "gone");
	put(dir, "gone/g", "G");
	put(dir, "keep", "K");
	ix_init(&b);
	ix_add(&b, "./proj", FIDX_DIR, 10, true);
	ix_add(&b, "./proj/f", FIDX_REG, 11, true);
	ix_add(&b, "./proj/sub", FIDX_DIR, 12, true);
	ix_add(&b, "./gone", FIDX_DIR, 13, true);
	ix_add(&b, "./gone/g", FIDX_REG, 14, true);
	ix_add(&b, "./keep", FIDX_REG, 15, true);
	ix_init(&n);
	ix_add(&n, "./keep", FIDX_REG, 15, false);
	int rc = eng_chain_apply(fd, &b.x, &n.x, &st, err);
	CHECK_EQ(rc, 0);
	CHECK(strcmp(get(dir, "proj/sub/mywork"), "PRECIOUS") == 0);
	CHECK(strcmp(get(dir, "proj/f"), "") == 0);
	CHECK(strcmp(get(dir, "gone/g"), "") == 0);
	CHECK(strcmp(get(dir, "keep"), "K") == 0);
	CHECK_EQ(st.foreign, 2);	/* proj/sub, proj */
	CHECK_EQ(st.removed, 3);	/* proj/f, gone/g, gone */
	CHECK_EQ(count_top(dir), 2);	/* keep, proj */
	close(fd);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);	/* mkdtemp's, not fresh()'s: ours to remove */
}

/* A swap and a three-name cycle; a symlink and a device-less fifo moved. */
static void
test_swaps(void)
{
	struct ix b, n;
	struct eng_apply_stats st;
	char dir[512], err[ENG_ERRLEN] = "", p[600];
	int fd = fresh("swaps", dir, sizeof(dir));

	put(dir, "p", "P");
	put(dir, "q", "Q");
	put(dir, "x", "X");
	put(dir, "y", "Y");
	put(dir, "z", "Z");
	snprintf(p, sizeof(p), "%s/sl", dir);
	CHECK(symlink("target/nowhere", p) == 0);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	CHECK(mkfifo(p, 0600) == 0);
	ix_init(&b);
	ix_add(&b, "./p", FIDX_REG, 1, true);
	ix_add(&b, "./q", FIDX_REG, 2, true);
	ix_add(&b, "./x", FIDX_REG, 3, true);
	ix_add(&b, "./y", FIDX_REG, 4, true);
	ix_add(&b, "./z", FIDX_REG, 5, true);
	ix_add(&b, "./sl", FIDX_LNK, 6, true);
	ix_add(&b, "./fifo", FIDX_FIFO, 7, true);
	ix_init(&n);
	ix_add(&n, "./p", FIDX_REG, 2, false);
	ix_add(&n, "./q", FIDX_REG, 1, false);
	ix_add(&n, "./x", FIDX_REG, 5, false);		/* x <- z <- y <- x */
	ix_add(&n, "./y", FIDX_REG, 3, false);
	ix_add(&n, "./z", FIDX_REG, 4, false);
	ix_add(&n, "./sl2", FIDX_LNK, 6, false);
	ix_add(&n, "./fifo2", FIDX_FIFO, 7, false);
	int rc = eng_chain_apply(fd, &b.x, &n.x, &st, err);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	CHECK(strcmp(get(dir, "p"), "Q") == 0);
	CHECK(strcmp(get(dir, "q"), "P") == 0);
	CHECK(strcmp(get(dir, "x"), "Z") == 0);
	CHECK(strcmp(get(dir, "y"), "X") == 0);
	CHECK(strcmp(get(dir, "z"), "Y") == 0);
	CHECK(strcmp(get(dir, "sl"), "") == 0);
	CHECK(strcmp(get(dir, "sl2"), "<link:target/nowhere>") == 0);
	snprintf(p, sizeof(p), "%s/fifo2", dir);
	struct stat sb;
	CHECK(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode));
	CHECK_EQ(count_top(dir), 7);
	close(fd);
}

/* File -> directory and back; hard links added and split. */
static void
test_types_links(void)
{
	struct ix b, n;
	struct eng_apply_stats st;
	char dir[512], err[ENG_ERRLEN] = "", p[600], q[600];
	int fd = fresh("types", dir, sizeof(dir));

	put(dir, "f2d", "was a file");
	mk(dir, "d2f");
	put(dir, "d2f/inside", "I");
	put(dir, "h", "H");
	snprintf(p, sizeof(p), "%s/h", dir);
	snprintf(q, sizeof(q), "%s/hl", dir);
	CHECK(link(p, q) == 0);
	put(dir, "keep", "K");
	ix_init(&b);
	ix_add(&b, "./f2d", FIDX_REG, 1, true);
	ix_add(&b, "./d2f", FIDX_DIR, 2, true);
	ix_add(&b, "./d2f/inside", FIDX_REG, 3, true);
	ix_add(&b, "./h", FIDX_REG, 4, true);
	ix_add(&b, "./hl", FIDX_REG, 4, true);
	ix_add(&b, "./keep", FIDX_REG, 5, true);
	ix_init(&n);
	ix_add(&n, "./f2d", FIDX_DIR, 1, true);		/* same inode number */
	ix_add(&n, "./f2d/in", FIDX_REG, 3, false);	/* moved from d2f */
	ix_add(&n, "./d2f", FIDX_REG, 8, true);
	ix_add(&n, "./h", FIDX_REG, 4, false);		/* hl gone, two new */
	ix_add(&n, "./h2", FIDX_REG, 4, false);
	ix_add(&n, "./sub/h3", FIDX_REG, 4, false);
	ix_add(&n, "./sub", FIDX_DIR, 9, false);	/* not in the stream */
	ix_add(&n, "./keep", FIDX_REG, 5, true);	/* changed: in stream */
	int rc = eng_chain_apply(fd, &b.x, &n.x, &st, err);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "apply: %s\n", err);
	CHECK(strcmp(get(dir, "f2d"), "<dir>") == 0);
	CHECK(strcmp(get(dir, "f2d/in"), "I") == 0);
	CHECK(strcmp(get(dir, "d2f"), "") == 0);	/* the stream writes it */
	CHECK(strcmp(get(dir, "hl"), "") == 0);
	CHECK(strcmp(get(dir, "h2"), "H") == 0);
	CHECK(strcmp(get(dir, "sub/h3"), "H") == 0);
	CHECK(ino_of(dir, "h") == ino_of(dir, "h2"));
	CHECK(ino_of(dir, "h") == ino_of(dir, "sub/h3"));
	CHECK(strcmp(get(dir, "keep"), "K") == 0);	/* stream replaces it */
	CHECK_EQ(st.dirs, 0);	/* sub was made for h3 already */
	CHECK(eng_chain_fix_dirs(fd, &n.x, err) == 0);
	snprintf(p, sizeof(p), "%s/sub", dir);
	struct stat sb;
	CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 0750 &&
	    sb.st_mtime == 1000000000);
	close(fd);
}

/* Symlinks are never followed: removing one, or a path through one. */
static void
test_symlinks(void)
{
	struct ix b, n;
	struct eng_apply_stats st;
	char dir[512], out[512], err[ENG_ERRLEN] = "", p[600];
	int fd = fresh("links", dir, sizeof(dir));
	int ofd = fresh("outside", out, sizeof(out));

	close(ofd);
	put(out, "victim", "V");
	put(dir, "a", "A");
	snprintf(p, sizeof(p), "%s/l", dir);
	CHECK(symlink(out, p) == 0);
	snprintf(p, sizeof(p), "%s/l2", dir);
	CHECK(symlink(out, p) == 0);
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 1, true);
	ix_add(&b, "./l", FIDX_LNK, 2, true);
	ix_add(&b, "./l2", FIDX_LNK, 3, true);
	/* l becomes a directory: the link goes, not what it points to. */
	ix_init(&n);
	ix_add(&n, "./a", FIDX_REG, 1, false);
	ix_add(&n, "./l", FIDX_DIR, 2, true);
	ix_add(&n, "./l2", FIDX_LNK, 3, false);
	CHECK_EQ(eng_chain_apply(fd, &b.x, &n.x, &st, err), 0);
	CHECK(strcmp(get(out, "victim"), "V") == 0);
	CHECK(strcmp(get(dir, "l"), "") == 0);
	/* A lying index: a path through the kept symlink l2. */
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 1, true);
	ix_add(&b, "./l2", FIDX_LNK, 3, true);
	ix_add(&b, "./l2/victim", FIDX_REG, 4, true);
	ix_init(&n);
	ix_add(&n, "./l2", FIDX_LNK, 3, false);
	ix_add(&n, "./l2/new", FIDX_REG, 1, false);
	err[0] = '\0';
	CHECK(eng_chain_apply(fd, &b.x, &n.x, &st, err) < 0);
	CHECK(strstr(err, "l2") != NULL);
	CHECK(strcmp(get(out, "victim"), "V") == 0);	/* not removed */
	CHECK(strcmp(get(out, "new"), "") == 0);	/* not written */
	/* What was being moved is kept, and the error says where. */
	CHECK(strstr(err, ".abs-chain-") != NULL);
	/* Unsafe paths. */
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 1, true);
	ix_init(&n);
	ix_add(&n, "./../escape", FIDX_REG, 1, false);
	err[0] = '\0';
	CHECK_EQ(eng_chain_apply(fd, &b.x, &n.x, &st, err), -EBADMSG);
	CHECK(strstr(err, "unsafe") != NULL);
	close(fd);
}

/* An entry of n neither in its stream nor in the base: refused. */
static void
test_mismatch(void)
{
	struct ix b, n;
	struct eng_apply_stats st;
	char dir[512], err[ENG_ERRLEN] = "";
	int fd = fresh("mismatch", dir, sizeof(dir));

	put(dir, "a", "A");
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 1, true);
	ix_init(&n);
	ix_add(&n, "./a", FIDX_REG, 1, false);
	ix_add(&n, "./b", FIDX_REG, 77, false);
	CHECK_EQ(eng_chain_apply(fd, &b.x, &n.x, &st, err), -EBADMSG);
	CHECK(strstr(err, "./b") != NULL);
	/* In the base's listing, but gone from the restored tree. */
	ix_init(&b);
	ix_add(&b, "./a", FIDX_REG, 1, true);
	ix_add(&b, "./c", FIDX_REG, 2, true);
	ix_init(&n);
	ix_add(&n, "./d", FIDX_REG, 2, false);
	err[0] = '\0';
	CHECK(eng_chain_apply(fd, &b.x, &n.x, &st, err) < 0);
	CHECK(strstr(err, "missing") != NULL);
	close(fd);
}

/* ---- random trees: the apply step against what the tree became ---- */

static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* A listing of a real tree (paths from "."): an index as a dump makes it. */
struct listing {
	struct fidx x;
	struct fidx_entry *e;
	char **paths;
	size_t n, cap;
	const char *root;
	struct timespec since;	/* in the stream: changed at or after it */
	bool all;		/* a full: everything in the stream */
};

static struct listing *cur_listing;

static int
list_one(const char *fp, const struct stat *sb, int tf, struct FTW *f)
{
	struct listing *l = cur_listing;
	char p[1024];
	(void)tf;
	(void)f;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		l->paths = realloc(l->paths, l->cap * sizeof(*l->paths));
	}
	snprintf(p, sizeof(p), ".%s", fp + strlen(l->root));
	l->paths[l->n] = strdup(p);
	uint8_t t = S_ISDIR(sb->st_mode) ? FIDX_DIR : S_ISLNK(sb->st_mode) ?
	    FIDX_LNK : FIDX_REG;
	bool in = l->all || t == FIDX_DIR ||
	    sb->st_ctim.tv_sec > l->since.tv_sec ||
	    (sb->st_ctim.tv_sec == l->since.tv_sec &&
	    sb->st_ctim.tv_nsec >= l->since.tv_nsec);
	l->e[l->n] = (struct fidx_entry){ .path = l->paths[l->n], .type = t,
	    .flags = in ? FIDX_IN_STREAM : 0, .mode = sb->st_mode & 07777,
	    .ino = sb->st_ino, .nlink = (uint32_t)sb->st_nlink,
	    .mtime = sb->st_mtime, .uid = sb->st_uid, .gid = sb->st_gid };
	l->n++;
	return 0;
}

static void
listing_make(struct listing *l, const char *root, bool all,
    const struct timespec *since)
{
	memset(l, 0, sizeof(*l));
	l->root = root;
	l->all = all;
	if (since)
		l->since = *since;
	cur_listing = l;
	nftw(root, list_one, 16, FTW_PHYS);
	qsort(l->e, l->n, sizeof(*l->e), ent_cmp);
	l->x.e = l->e;
	l->x.nentries = l->n;
}

static void
listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->e);
}

/* Run a shell command; the test fails if it does. */
static void
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		t_failed++;
	}
}

/* src's file, symlink or directory at dst (no shell: forks are slow). */
static void
copy_one(const char *src, const char *dst)
{
	struct stat sb;
	char buf[65536];
	ssize_t n;

	if (lstat(src, &sb) < 0) {
		perror(src);
		t_failed++;
		return;
	}
	if (S_ISLNK(sb.st_mode)) {
		n = readlink(src, buf, sizeof(buf) - 1);
		buf[n < 0 ? 0 : n] = '\0';
		if (symlink(buf, dst) < 0)
			t_failed++;
		return;
	}
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT |
	    O_EXCL, 0644);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			t_failed++;
	if (in < 0 || out < 0)
		t_failed++;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

/* "Extract the stream": every entry of n in its stream, from the tree. */
static void
extract_like(const struct listing *n, const char *src, const char *dst)
{
	char a[1200], b[1200], c[1200];

	/* Hard links of the stream: the first name carries the data. */
	for (size_t i = 0; i < n->n; i++) {
		const struct fidx_entry *e = &n->e[i];
		if (!(e->flags & FIDX_IN_STREAM) || strcmp(e->path, ".") == 0)
			continue;
		snprintf(a, sizeof(a), "%s/%s", src, e->path + 2);
		snprintf(b, sizeof(b), "%s/%s", dst, e->path + 2);
		if (e->type == FIDX_DIR) {
			if (mkdir(b, 0755) < 0 && errno != EEXIST)
				t_failed++;
			continue;
		}
		const struct fidx_entry *first = NULL;
		for (size_t k = 0; k < i && !first; k++)
			if (n->e[k].ino == e->ino && n->e[k].type == e->type &&
			    (n->e[k].flags & FIDX_IN_STREAM))
				first = &n->e[k];
		unlink(b);
		if (first) {
			snprintf(c, sizeof(c), "%s/%s", dst, first->path + 2);
			if (link(c, b) < 0)
				t_failed++;
		} else {
			copy_one(a, b);
		}
	}
}

/* One mutation of the tree at src. */
static void
mutate(const char *src, int step)
{
	char a[1200], b[1200];
	struct listing l;

	listing_make(&l, src, true, NULL);
	if (l.n < 2) {
		listing_free(&l);
		sh("echo new%d >'%s/n%d'", step, src, step);
		return;
	}
	const char *p = l.e[1 + rnd((unsigned)l.n - 1)].path + 2;
	uint8_t t = l.e[0].type;
	for (size_t i = 0; i < l.n; i++)	/* (the root "." has no "./") */
		if (strlen(l.e[i].path) > 2 && strcmp(l.e[i].path + 2, p) == 0)
			t = l.e[i].type;
	snprintf(a, sizeof(a), "%s/%s", src, p);
	/* A new name in an existing directory (or the top). */
	const char *dir = "";
	for (size_t i = 0; i < l.n; i++)
		if (l.e[i].type == FIDX_DIR && rnd(3) == 0)
			dir = l.e[i].path + 1;
	snprintf(b, sizeof(b), "%s%s/m%d", src, dir, step);
	switch (rnd(11)) {
	case 0: sh("rm -rf '%s'", a); break;			/* delete */
	case 1: case 2:						/* rename */
		if (strncmp(b, a, strlen(a)) != 0 || b[strlen(a)] != '/')
			sh("mv '%s' '%s'", a, b);
		break;
	case 3: sh("echo new%d >'%s'", step, b); break;		/* add */
	case 4: if (t == FIDX_REG) sh("echo ch%d >>'%s'", step, a); break;
	case 5: sh("mkdir '%s' && echo in%d >'%s/f'", b, step, b); break;
	case 6: if (t == FIDX_REG) sh("ln '%s' '%s'", a, b); break;
	case 7: sh("ln -s '%s' '%s'", p, b); break;		/* symlink */
	case 8:							/* swap */
		if (t == FIDX_REG) {
			const char *q = l.e[1 + rnd((unsigned)l.n - 1)].path + 2;
			if (strcmp(p, q) != 0 && strncmp(q, p, strlen(p)) != 0 &&
			    strncmp(p, q, strlen(q)) != 0)
				sh("mv '%s' '%s.t' && mv '%s/%s' '%s' && mv '%s.t' "
				    "'%s/%s'", a, a, src, q, a, a, src, q);
		}
		break;
	case 9: sh("rm -rf '%s' && mkdir '%s' && echo x%d >'%s/x'", a, a, step,
	    a); break;						/* -> dir */
	case 10: sh("rm -rf '%s' && echo f%d >'%s'", a, step, a); break; /* -> file */
	}
	listing_free(&l);
}

/* The restored tree is the tree: names, types, contents, links. */
static void
same_tree(const char *a, const char *b, int round)
{
	static const char list[] = "find . ! -name . -printf '%p %y %l\\n' | "
	    "LC_ALL=C sort";
	static const char links[] = "find . -type f -links +1 -printf "
	    "'%i %p\\n' | sort -k2 | awk '{ g[$1] = g[$1] \" \" $2 } END { for "
	    "(i in g) print g[i] }' | sort";
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "(cd '%s' && %s) >'%s.l' && (cd '%s' && %s) "
	    ">'%s.r' && diff '%s.l' '%s.r' >&2 && diff -r --no-dereference '%s' "
	    "'%s' >&2", a, list, a, b, list, a, a, a, a, b);
	t_checks++;
	if (system(cmd) != 0) {
		fprintf(stderr, "round %d: the restored tree differs\n", round);
		t_failed++;
	}
	snprintf(cmd, sizeof(cmd), "(cd '%s' && %s) >'%s.l' && (cd '%s' && %s) "
	    ">'%s.r' && cmp -s '%s.l' '%s.r'", a, links, a, b, links, a, a, a);
	t_checks++;
	if (system(cmd) != 0) {
		fprintf(stderr, "round %d: hard links differ\n", round);
		t_failed++;
	}
}

/* Random trees through chains of listings: apply + stream = the tree. */
static void
test_random(void)
{
	char src[512], dst[512];
	int fd;

	const char *env = getenv("ABS_CHAIN_ROUNDS");
	int rounds = env ? atoi(env) : 4;
	uint64_t placed = 0, removed = 0, kept = 0;

	if (getenv("ABS_CHAIN_SEED"))
		rng = strtoull(getenv("ABS_CHAIN_SEED"), NULL, 0) | 1;
	snprintf(src, sizeof(src), "%s/rsrc", top);
	for (int round = 0; round < rounds; round++) {
		struct listing b, n;
		struct eng_apply_stats st;
		char err[ENG_ERRLEN] = "";

		sh("rm -rf '%s' && mkdir -p '%s/d/e' && echo 1 >'%s/a' && echo 2 "
		    ">'%s/d/b' && echo 3 >'%s/d/e/c' && ln -s a '%s/s' && ln "
		    "'%s/a' '%s/d/a2'", src, src, src, src, src, src, src, src);
		fd = fresh("rdst", dst, sizeof(dst));
		sh("cp -a '%s/.' '%s/'", src, dst);
		listing_make(&b, src, true, NULL);
		for (int step = 0; step < 4; step++) {
			/* File times come from the kernel's coarse clock, up
			   to a tick behind CLOCK_REALTIME: a change made just
			   after a fine reading can carry an older ctime and be
			   left out of the stream (round 573: "ch5730" lost).
			   The coarse clock is no later than any time a change
			   made after this reading gets. */
			struct timespec since;
			clock_gettime(CLOCK_REALTIME_COARSE, &since);
			for (unsigned k = 0, m = 1 + rnd(5); k < m; k++)
				mutate(src, round * 100 + step * 10 + (int)k);
			listing_make(&n, src, false, &since);
			int rc = eng_chain_apply(fd, &b.x, &n.x, &st, err);
			CHECK_EQ(rc, 0);
			if (rc) {
				fprintf(stderr, "round %d step %d: %s\n", round,
				    step, err);
				listing_free(&n);
				break;
			}
			placed += st.placed;
			removed += st.removed;
			kept += st.kept;
			extract_like(&n, src, dst);
			same_tree(src, dst, round * 10 + step);
			listing_free(&b);
			b = n;
		}
		listing_free(&b);
		close(fd);
	}
	printf("random trees: %d rounds, %llu kept, %llu placed, %llu removed\n",
	    rounds, (unsigned long long)kept, (unsigned long long)placed,
	    (unsigned long long)removed);
	CHECK(placed > 0 && removed > 0 && kept > 0);
}

/* One dump line of entity "e" into log. */
/* The dates dl_dump wrote, by dump ID: an incremental's since is its
   base's date. */
static struct { char id[33], date[32]; } dl_dates[64];
static unsigned dl_ndates;

static void
dl_dump_as(const char *log, const char *entity, const char *id,
    const char *date, int level, const char *base, const char *status)
{
	struct cat_dl_rec r;

	memset(&r, 0, sizeof(r));
	r.type = CAT_DL_DUMP;
	snprintf(r.dump_id, sizeof(r.dump_id), "%s", id);
	snprintf(r.entity, sizeof(r.entity), "%s", entity);
	snprintf(r.date, sizeof(r.date), "%s", date);
	snprintf(r.since, sizeof(r.since), "-");
	for (unsigned i = 0; i < dl_ndates; i++)
		if (strcmp(dl_dates[i].id, base) == 0)
			snprintf(r.since, sizeof(r.since), "%s", dl_dates[i].date);
	if (dl_ndates < 64) {
		snprintf(dl_dates[dl_ndates].id, 33, "%s", id);
		snprintf(dl_dates[dl_ndates++].date, 32, "%s", date);
	}
	r.level = level;
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.base, sizeof(r.base), "%s", base);
	snprintf(r.source_kind, sizeof(r.source_kind), "dir");
	snprintf(r.server, sizeof(r.server), "host");
	snprintf(r.partition, sizeof(r.partition), "/p");
	snprintf(r.label, sizeof(r.label), "L00001");
	r.part = 1;
	r.index_bytes = 100;
	if (cat_dl_append(log, &r) < 0)
		fprintf(stderr, "cannot append to %s\n", log);
}

static void
dl_dump(const char *log, const char *id, const char *date, int level,
    const char *base, const char *status)
{
	dl_dump_as(log, "e", id, date, level, base, status);
}

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

/* Chains from the dump log: base pointers, dates, refusals. */
static void
test_from_log(void)
{
	char log[512], err[ENG_ERRLEN] = "";
	struct eng_chain c;
	bool nb;

	snprintf(log, sizeof(log), "%s/d.log", top);
	dl_dump(log, ID("a"), "2026-11-01T00:00:00Z", 0, "", "complete");
	dl_dump(log, ID("b"), "2026-11-02T00:00:00Z", 1, ID("a"), "complete");
	dl_dump(log, ID("c"), "2026-11-03T00:00:00Z", 2, ID("b"), "complete");
	dl_dump(log, ID("d"), "2026-11-04T00:00:00Z", 1, ID("a"), "complete");
	dl_dump(log, ID("e"), "2026-11-05T00:00:00Z", 2, ID("9"), "complete");
	dl_dump(log, ID("f"), "2026-11-06T00:00:00Z", 1, "", "complete");
	/* At or before the 3rd: full, L1, L2. */
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-11-03", false, &c, &nb,
	    err), 0);
	CHECK_EQ(c.n, 3);
	if (c.n == 3) {
		CHECK(strcmp(c.d[0].rec.dump_id, ID("a")) == 0);
		CHECK(strcmp(c.d[1].rec.dump_id, ID("b")) == 0);
		CHECK(strcmp(c.d[2].rec.dump_id, ID("c")) == 0);
	}
	eng_chain_free(&c);
	/* The 4th is relative to the full: a chain of two, 2 and 3 unneeded. */
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-11-04T12:00:00Z", false,
	    &c, &nb, err), 0);
	CHECK_EQ(c.n, 2);
	eng_chain_free(&c);
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-11-04", true, &c, &nb, err),
	    0);
	CHECK_EQ(c.n, 1);
	eng_chain_free(&c);
	/* The 5th's base is not in the log: refused, named. */
	err[0] = '\0';
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-11-05", false, &c, &nb,
	    err), -ENOENT);
	CHECK(strstr(err, ID("9")) != NULL);
	CHECK(strstr(err, ID("e")) != NULL);
	/* The 6th has no base (--since alone): alone, said so. */
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err), 0);
	CHECK(nb && c.n == 1);
	eng_chain_free(&c);
	/* Before the first: nothing. */
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-10", false, &c, &nb, err),
	    -ENOENT);
	/* A base that is not complete is missing. */
	snprintf(log, sizeof(log), "%s/d2.log", top);
	dl_dump(log, ID("a"), "2026-11-01T00:00:00Z", 0, "", "aborted");
	dl_dump(log, ID("b"), "2026-11-02T00:00:00Z", 1, ID("a"), "complete");
	err[0] = '\0';
	CHECK(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err) < 0);
	CHECK(strstr(err, ID("a")) != NULL);
	/* A dump ID that is not 32 hex digits would name a file outside
	   LOG.fidx/: the line is refused, named. */
	snprintf(log, sizeof(log), "%s/d3.log", top);
	dl_dump(log, ID("a"), "2026-11-01T00:00:00Z", 0, "", "complete");
	dl_dump(log, "../../x", "2026-11-02T00:00:00Z", 1, ID("a"), "complete");
	err[0] = '\0';
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err),
	    -EBADMSG);
	CHECK(strstr(err, "line 2") != NULL);
	snprintf(log, sizeof(log), "%s/d4.log", top);
	dl_dump(log, ID("a"), "2026-11-01T00:00:00Z", 0, "", "complete");
	dl_dump(log, ID("b"), "2026-11-02T00:00:00Z", 1, "../a", "complete");
	err[0] = '\0';
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err),
	    -EBADMSG);
	CHECK(strstr(err, "line 2") != NULL);
	/* Another entity's dump as the base: refused, both named (H3). */
	snprintf(log, sizeof(log), "%s/d5.log", top);
	dl_dump_as(log, "other", ID("1"), "2026-11-01T00:00:00Z", 0, "",
	    "complete");
	dl_dump(log, ID("2"), "2026-11-02T00:00:00Z", 1, ID("1"), "complete");
	err[0] = '\0';
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err),
	    -EBADMSG);
	CHECK(strstr(err, ID("1")) && strstr(err, ID("2")) &&
	    strstr(err, "other"));
	/* A since that is not the base's date: refused, both named (H3). */
	snprintf(log, sizeof(log), "%s/d6.log", top);
	dl_dump(log, ID("3"), "2026-11-01T00:00:00Z", 0, "", "complete");
	dl_dump(log, ID("4"), "2026-11-02T00:00:00Z", 1, ID("3"), "complete");
	dl_dump(log, ID("5"), "2026-11-03T00:00:00Z", 1, ID("4"), "complete");
	dl_dump(log, ID("6"), "2026-11-04T00:00:00Z", 2, ID("4"), "complete");
	err[0] = '\0';
	snprintf(log, sizeof(log), "%s/d7.log", top);
	{
		/* d6.log with dump 6's since set to the 3rd: not its base's. */
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "sed '/dump=%s/s/since=[^ ]*/"
		    "since=2026-11-03T00:00:00Z/' %s/d6.log >%s", ID("6"), top,
		    log);
		CHECK_EQ(system(cmd), 0);
	}
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err),
	    -EBADMSG);
	CHECK(strstr(err, ID("6")) && strstr(err, ID("4")) &&
	    strstr(err, "since"));
	snprintf(log, sizeof(log), "%s/d6.log", top);
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err), 0);
	CHECK_EQ(c.n, 3);
	eng_chain_free(&c);
	/* A full and its level 1 in the same second: a chain (H19). */
	snprintf(log, sizeof(log), "%s/d8.log", top);
	dl_dump(log, ID("7"), "2026-11-01T00:00:00Z", 0, "", "complete");
	dl_dump(log, ID("8"), "2026-11-01T00:00:00Z", 1, ID("7"), "complete");
	CHECK_EQ(eng_chain_from_log(log, "e", NULL, false, &c, &nb, err), 0);
	CHECK_EQ(c.n, 2);
	eng_chain_free(&c);
	/* A base dated after its incremental still does not fit. */
	snprintf(log, sizeof(log), "%s/d9.log", top);
	dl_dump(log, ID("f"), "2026-11-02T00:00:00Z", 0, "", "complete");
	dl_dump(log, ID("0"), "2026-11-01T00:00:00Z", 1, ID("f"), "complete");
	CHECK_EQ(eng_chain_from_log(log, "e", "2026-11-01", false, &c, &nb,
	    err), -EBADMSG);
}

/* --date: whole-field prefixes of a UTC time, fields in range. */
static void
test_date_valid(void)
{
	static const char *good[] = { "2026", "2026-11", "2026-11-29",
		"2026-11-29T11", "2026-11-29T11:00", "2026-11-29T11:00:59",
		"2026-11-29T11:00:59Z", "2026-12-31T23:59:59Z" };
	static const char *bad[] = { "", "zzz", "yesterday", "202", "2026-",
		"2026-1", "2026-13", "2026-00", "2026-11-32", "2026-11-00",
		"2026-11-29 11:00", "2026-11-29T24", "2026-11-29T11:60",
		"2026-11-29T11:00:00+01:00", "2026-11-29T11:00:00z",
		"2026-11-29T11:00:00Z ", "2026/11/29", "-026-11-29", "2026-1a" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!eng_chain_date_valid(good[i])) {
			fprintf(stderr, "    refused: '%s'\n", good[i]);
			CHECK(!"a date prefix refused");
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (eng_chain_date_valid(bad[i])) {
			fprintf(stderr, "    taken: '%s'\n", bad[i]);
			CHECK(!"no date prefix taken");
		}
}

/*
 * One restore at a time into a target: the second is refused, saying
 * who holds it, and the first's marker is left alone; once the first
 * is gone (ended or died: the lock goes with its descriptor) the next
 * one runs (hostile13 H14).
 */
static void
test_lock(void)
{
	char dir[300], err[ENG_ERRLEN], pid[32], path[400];
	struct eng_extract *a, *b;
	struct stat sb;

	int dfd = fresh("lock", dir, sizeof(dir));
	if (dfd >= 0)
		close(dfd);
	CHECK(eng_extract_new(dir, "first", false, true, &a, err) == 0);
	CHECK(eng_extract_new(dir, "second", false, true, &b, err) == -EBUSY);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	CHECK(strstr(err, "being restored") && strstr(err, pid));
	snprintf(path, sizeof(path), "%s/%s", dir, ENG_EXTRACT_MARKER);
	CHECK(strstr(get(dir, ENG_EXTRACT_MARKER), "dump: first") != NULL);
	err[0] = '\0';
	CHECK(eng_extract_finish(a, -EIO, err) == -EIO);
	eng_extract_free(a);
	CHECK(stat(path, &sb) == 0);	/* the failed one's marker stays */
	CHECK(eng_extract_new(dir, "third", false, true, &b, err) == 0);
	err[0] = '\0';
	CHECK(eng_extract_finish(b, 0, err) == 0);
	eng_extract_free(b);
	CHECK(stat(path, &sb) < 0);
}

/*
 * Deep trees go with a bounded number of descriptors (hostile13 H12:
 * "Too many open files" past ~1,000 levels): a 1,500-deep directory the
 * base lists and the next dump drops, and a scratch directory a killed
 * restore left holding one as deep, removed under a limit of 64 open
 * files.
 */
#define DEEP 1500
static void
test_deep(void)
{
	char dir[300], err[ENG_ERRLEN] = "";
	struct fidx b = { 0 }, n;
	struct fidx_entry *e = calloc(DEEP + 1, sizeof(*e));
	char *paths = calloc(DEEP + 1, 2 * DEEP + 4);
	struct eng_apply_stats st;
	struct rlimit old, low;
	int fd = fresh("deep", dir, sizeof(dir)), d;

	CHECK(e && paths && fd >= 0);
	if (!e || !paths || fd < 0)
		return;
	/* ./a/a/.../a in the base's listing and on disk. */
	e[0] = (struct fidx_entry){ .path = ".", .type = FIDX_DIR, .ino = 1,
	    .flags = FIDX_IN_STREAM, .mode = 0755 };
	d = dup(fd);
	for (int i = 1; i <= DEEP; i++) {
		char *p = paths + (size_t)i * (2 * DEEP + 4);
		snprintf(p, 2 * DEEP + 4, "%s/a", i == 1 ? "." : e[i - 1].path);
		e[i] = (struct fidx_entry){ .path = p, .type = FIDX_DIR,
		    .ino = 100 + (uint64_t)i, .flags = FIDX_IN_STREAM,
		    .mode = 0755 };
		CHECK(mkdirat(d, "a", 0755) == 0);
		int nd = openat(d, "a", O_RDONLY | O_DIRECTORY);
		close(d);
		d = nd;
	}
	close(d);
	/* The same depth in a scratch directory of a dead restore. */
	CHECK(mkdirat(fd, ".abs-chain-00000000000000aa", 0700) == 0);
	d = openat(fd, ".abs-chain-00000000000000aa", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < DEEP; i++) {
		CHECK(mkdirat(d, "x", 0700) == 0);
		int f = openat(d, "file", O_WRONLY | O_CREAT, 0600);
		if (f >= 0)
			close(f);
		int nd = openat(d, "x", O_RDONLY | O_DIRECTORY);
		close(d);
		d = nd;
	}
	close(d);
	b.e = e;
	b.nentries = DEEP + 1;
	n = (struct fidx){ .e = e, .nentries = 1 };	/* "." alone */
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	int rc = eng_chain_apply(fd, &b, &n, &st, err);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	if (rc)
		fprintf(stderr, "    %s\n", err);
	CHECK_EQ(rc, 0);
	CHECK_EQ(st.removed, DEEP);
	CHECK_EQ(count_top(dir), 0);
	close(fd);
	free(e);
	free(paths);
}

/* find's text output: names escaped, valid UTF-8 kept (hostile13 H15). */
static void
test_escape(void)
{
	static const struct { const char *in, *out; } c[] = {
		{ "./plain name", "./plain name" },
		{ "./new\nline", "./new\\nline" },
		{ "./x\001y", "./x\\001y" },
		{ "./e\033[1;31mBOOM\033[0m", "./e\\033[1;31mBOOM\\033[0m" },
		{ "./\xff\xfe", "./\\377\\376" },
		{ "./caf\xc3\xa9", "./caf\xc3\xa9" },		/* é */
		{ "./caf\xe9", "./caf\\351" },			/* Latin-1 */
		{ "./c1\xc2\x9b", "./c1\\302\\233" },		/* U+009B CSI */
		{ "./over\xc0\xaf", "./over\\300\\257" },	/* overlong / */
		{ "./sur\xed\xa0\x80", "./sur\\355\\240\\200" },
		{ "./back\\slash\t\r\x7f", "./back\\\\slash\\t\\r\\177" },
		{ "./\xf0\x9f\x98\x80", "./\xf0\x9f\x98\x80" },	/* emoji */
		{ "./cut\xe2\x82", "./cut\\342\\202" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *e = eng_find_escape(c[i].in);
		CHECK(e && strcmp(e, c[i].out) == 0);
		if (e && strcmp(e, c[i].out) != 0)
			fprintf(stderr, "    %zu: got '%s', want '%s'\n", i, e,
			    c[i].out);
		free(e);
	}
}

int
main(void)
{
	char cmd[600];

	snprintf(top, sizeof(top), "/tmp/test_chain.%d", (int)getpid());
	if (mkdir(top, 0700) < 0) {
		perror(top);
		return 1;
	}
	test_paths();
	test_lock();
	test_deep();
	test_escape();
	test_renames();
	test_foreign_kept();
	test_swaps();
	test_types_links();
	test_symlinks();
	test_mismatch();
	test_from_log();
	test_date_valid();
	test_random();
	if (getenv("KEEP")) T_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	T_DONE();
}
