/*
 * tests/unit/cat_t.h itself: no catalog's temp dir is left behind, however
 * a test of the catalog ends - a second catalog opened while the first is
 * open (test_cat_tapes left one in /dev/shm each run), exit(1) before
 * cat_t_done, a connection broken or reopened. Each way runs in a child
 * whose TMPDIR is a dir of ours, which must be empty once it has exited.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "cat_t.h"

static char tmp[] = "/tmp/abs-cat-harness.XXXXXX";

/* Entries in tmp. */
static int
left(void)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

static void
nested(void)
{
	struct cat_db *outer = cat_t_open(), *inner;

	cat_t_site(outer);
	inner = cat_t_open();
	cat_t_site(inner);
	cat_t_done(inner);
	/* The outer one is the current again: cat_t_break breaks it. */
	outer = cat_t_break(outer, BREAK_CORRUPT);
	cat_t_done(outer);
	exit(0);
}

static void
done_reversed(void)
{
	struct cat_db *a = cat_t_open(), *b = cat_t_open();

	cat_t_done(a);
	cat_t_done(b);
	exit(0);
}

/* Catalogs a child leaves open, in reach (LeakSanitizer: not a leak). */
static struct cat_db *kept[2];

static void
exits_early(void)
{
	kept[0] = cat_t_open();
	kept[1] = cat_t_open();
	cat_t_site(kept[0]);
	exit(1);	/* a failed set-up: no cat_t_done */
}

static void
closed(void)
{
	struct cat_db *a = cat_t_open();

	a = cat_t_break(a, BREAK_CLOSED);
	cat_t_done(a);
	exit(0);
}

static void
returns_without_done(void)
{
	kept[0] = cat_t_open();
	kept[1] = cat_t_open();
	exit(0);
}

int
main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
		int rc;
	} ways[] = {
		{ "nested", nested, 0 },
		{ "done in reverse order", done_reversed, 0 },
		{ "exit(1) before cat_t_done", exits_early, 1 },
		{ "a closed connection", closed, 0 },
		{ "no cat_t_done at all", returns_without_done, 0 },
	};

	if (!mkdtemp(tmp))
		return 1;
	setenv("TMPDIR", tmp, 1);
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		int st = 0;
		pid_t pid;

		fflush(NULL);
		if ((pid = fork()) == 0)
			ways[i].fn();
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == ways[i].rc);
		if (left() != 0) {
			fprintf(stderr, "%s: %d temp dirs left in %s\n",
			    ways[i].name, left(), tmp);
			CHECK(!"no temp dir left");
		}
		cat_t_rmdir(tmp);	/* what is left, so the next starts empty */
		mkdir(tmp, 0700);
	}
	rmdir(tmp);
	cat_t_error_paths(NULL, 0);	/* (the header's; none here) */
	T_DONE();
}
