/*
 * A shadow's marker parser and the emptying of a shadow (engine/shadow.h):
 * markers accepted and refused; a shadow holding symbolic links that
 * point out of it, and a directory swapped for such a link while it is
 * being emptied, emptied with nothing outside it changed (its mode
 * included); a tree deeper than the open-file limit emptied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/shadow.h"
#include "t.h"

static char top[256];

static const char good[] = "ABS shadow: a copy of entity home kept current"
    " by abs-ctld from its dumps; anything written here may be replaced"
    " (docs/SHADOWS.md).\nentity: home\ndump: 7112743f42a5187745116690ffb584be"
    "\ndate: 2026-11-29T20:01:13Z\nlevel: 2\nrefreshed: 2026-11-29T20:01:15Z\n";

/* Whether text parses as a marker. */
static int
parse(const char *text)
{
	struct eng_shadow_marker m;
	char err[ENG_ERRLEN];

	return eng_shadow_marker_parse(text, strlen(text), &m, err);
}

static void
test_marker(void)
{
	struct eng_shadow_marker m, m2;
	char err[ENG_ERRLEN], buf[ENG_SHADOW_MARKER_MAX + 1], big[6000];
	int n;

	CHECK_EQ(eng_shadow_marker_parse(good, strlen(good), &m, err), 0);
	CHECK(strcmp(m.entity, "home") == 0);
	CHECK(strcmp(m.dump, "7112743f42a5187745116690ffb584be") == 0);
	CHECK_EQ(m.level, 2);
	n = eng_shadow_marker_format(&m, buf, sizeof(buf));
	CHECK(n == (int)strlen(good) && memcmp(buf, good, (size_t)n) == 0);
	CHECK_EQ(eng_shadow_marker_parse(buf, (size_t)n, &m2, err), 0);
	CHECK(memcmp(&m, &m2, sizeof(m)) == 0);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: -\n"), 0);
	/* Refused: no head, no entity or dump, a key twice, a dump that is
	   no ID, a control character, a NUL, a level out of range, too big. */
	CHECK_EQ(parse("entity: e\ndump: -\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\ndump: -\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: -\ndump: "
	    "7112743f42a5187745116690ffb584be\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\nentity: f\ndump: -\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: ../../x\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: "
	    "7112743f42a5187745116690ffb584bz\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\033[2J\ndump: -\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\r\nentity: e\r\ndump: -\r\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: -\nlevel: 100\n"), -EBADMSG);
	CHECK_EQ(parse("ABS shadow:\nentity: e\ndump: -\ndate: yesterday\n"),
	    -EBADMSG);
	CHECK_EQ(eng_shadow_marker_parse("ABS shadow:\nentity: e\0\ndump: -\n",
	    30, &m, err), -EBADMSG);
	CHECK(strstr(err, "NUL") != NULL);
	memset(big, 'x', sizeof(big));
	memcpy(big, good, strlen(good));
	CHECK_EQ(eng_shadow_marker_parse(big, sizeof(big), &m, err), -EBADMSG);
	/* An entity the marker cannot hold. */
	snprintf(m.entity, sizeof(m.entity), "a\nb");
	CHECK_EQ(eng_shadow_marker_format(&m, buf, sizeof(buf)), -EINVAL);
}

static void
sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg, arg);
	if (system(cmd) != 0)
		fprintf(stderr, "failed: %s\n", cmd);
}

/* The hook: "swap", a directory, becomes a link to outside/ once the
   emptying has looked at it; "later" is swapped before it is reached. */
static void
swap_hook(int dirfd, const char *name)
{
	char out[300];

	snprintf(out, sizeof(out), "%s/outside", top);
	if (strcmp(name, "swap") == 0) {
		CHECK_EQ(renameat(dirfd, "swap", dirfd, "../swapped-away"), 0);
		CHECK_EQ(symlinkat(out, dirfd, "swap"), 0);
	}
}

/* outside/ as the test made it: its mode, its files and theirs. */
static void
check_outside(const char *what)
{
	char p[400];
	struct stat st;

	snprintf(p, sizeof(p), "%s/outside", top);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0550);
	snprintf(p, sizeof(p), "%s/outside/precious", top);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0400 &&
	    st.st_size == 5);
	snprintf(p, sizeof(p), "%s/outside/sub/deep", top);
	CHECK(stat(p, &st) == 0);
	snprintf(p, sizeof(p), "%s/outside/sub", top);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0500);
	if (t_failed)
		fprintf(stderr, "  (%s)\n", what);
}

/* Whether the directory holds only the marker. */
static bool
only_marker(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = .abs-shadow", dir);
	return system(cmd) == 0;
}

static void
test_empty(void)
{
	char shadow[300], err[ENG_ERRLEN];
	int fd;

	snprintf(shadow, sizeof(shadow), "%s/shadow", top);
	sh("mkdir -p %s/outside/sub/deep && echo mine >%s/outside/precious"
	    " && chmod 0400 %s/outside/precious && chmod 0550 %s/outside", top);
	sh("chmod 0500 %s/outside/sub", top);
	/* Planted links: to the directory, to a file, to a directory
	   below; a read-only directory, a mode-0 one, a directory to swap. */
	sh("mkdir -p %s/shadow/ro/in %s/shadow/zero/in %s/shadow/swap/x", top);
	sh("cd %s/shadow && echo m >.abs-shadow && ln -s ../outside evil &&"
	    " ln -s ../outside/precious evilfile && ln -s ../../outside/sub"
	    " ro/in/link && echo f >ro/in/f", top);
	sh("cd %s/shadow && chmod 0555 ro/in ro && chmod 0 zero && chmod 0555"
	    " swap", top);
	fd = open(shadow, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	eng_shadow_empty_hook = swap_hook;
	CHECK_EQ(eng_shadow_empty(fd, ENG_SHADOW_MARKER, shadow, err), 0);
	eng_shadow_empty_hook = NULL;
	close(fd);
	CHECK(only_marker(shadow));
	check_outside("planted links and a directory swapped for one");

	/* A tree deeper than the open-file limit. */
	struct rlimit rl, low = { 64, 64 };
	int d = open(shadow, O_RDONLY | O_DIRECTORY);
	getrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < 300 && d >= 0; i++) {
		int nd;
		CHECK_EQ(mkdirat(d, "d", i % 7 ? 0755 : 0555), 0);
		nd = openat(d, "d", O_RDONLY | O_DIRECTORY);
		close(d);
		d = nd;
	}
	CHECK(d >= 0);
	if (d >= 0)
		close(d);
	fd = open(shadow, O_RDONLY | O_DIRECTORY);
	setrlimit(RLIMIT_NOFILE, &low);
	CHECK_EQ(eng_shadow_empty(fd, ENG_SHADOW_MARKER, shadow, err), 0);
	setrlimit(RLIMIT_NOFILE, &rl);
	close(fd);
	CHECK(only_marker(shadow));
}

int
main(void)
{
	snprintf(top, sizeof(top), "/tmp/test_shadow.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_marker();
	test_empty();
	sh("chmod -R u+rwx %s; rm -rf %s", top);
	T_DONE();
}
