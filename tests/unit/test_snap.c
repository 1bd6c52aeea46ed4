/*
 * The snapshot commands' words (engine/snap.h): placeholders filled as
 * whole words and inside words, absent ones empty, others left alone, a
 * value never split or interpreted; a filled argv made into a cmd:
 * source spec splits back into the same words (quotes, blanks, empty
 * words); snapshot names; a command's exit status, last output line,
 * time limit (its process group killed) and abort.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/snap.h"
#include "engine/source.h"
#include "t.h"

/* Whether argv is exactly the words given (NULL-terminated). */
static bool
same(char **argv, const char *const *want)
{
	size_t i = 0;

	for (; want[i]; i++)
		if (!argv[i] || strcmp(argv[i], want[i]) != 0) {
			fprintf(stderr, "word %zu: '%s', not '%s'\n", i,
			    argv[i] ? argv[i] : "(none)", want[i]);
			return false;
		}
	return argv[i] == NULL;
}

/* Fill, and the spec's round trip through eng_split_argv. */
static void
test_fill(void)
{
	char *const tmpl[] = { "zfs", "send", "-i", "{base}", "{entity}@{snapshot}",
	    "{since}", "x{level}y{level}", "{nosuch}", "{entity", "{}", "",
	    "a'b \"c\" \\d", NULL };
	const char *const want[] = { "zfs", "send", "-i", "", "tank/home a@abs-1",
	    "2026-11-22T03:00:00Z", "x2y2", "{nosuch}", "{entity", "{}", "",
	    "a'b \"c\" \\d", NULL };
	struct eng_snap_vars v = { .entity = "tank/home a", .date = "2026-11-29",
	    .since = "2026-11-22T03:00:00Z", .base = NULL, .snapshot = "abs-1",
	    .level = 2 };
	char **argv = NULL, **back = NULL, *spec;

	CHECK_EQ(eng_snap_fill(tmpl, &v, &argv), 0);
	CHECK(same(argv, want));
	spec = eng_snap_spec(argv);
	CHECK(spec && strncmp(spec, "cmd:", 4) == 0);
	CHECK(spec && eng_split_argv(spec + 4, &back) == 0 && same(back, want));
	/* A value that looks like a placeholder is not filled again. */
	v.entity = "{since}";
	eng_free_argv(argv);
	CHECK_EQ(eng_snap_fill(tmpl, &v, &argv), 0);
	CHECK(strcmp(argv[4], "{since}@abs-1") == 0);
	eng_free_argv(argv);
	eng_free_argv(back);
	free(spec);
}

/* Snapshot names keep only what every snapshot tool takes. */
static void
test_name(void)
{
	char b[64];

	eng_snap_name("2026-11-29", "42", b, sizeof(b));
	CHECK(strcmp(b, "abs-2026-11-29-42") == 0);
	eng_snap_name("2026-11-29T22:00:00Z", "7", b, sizeof(b));
	CHECK(strcmp(b, "abs-2026-11-29T22-00-00Z-7") == 0);
	eng_snap_name("a/b c;$(x)", NULL, b, sizeof(b));
	CHECK(strcmp(b, "abs-a-b-c---x--0") == 0);
}

static bool abort_now;

/* The abort check of eng_snap_run. */
static bool
aborted(void *arg)
{
	(void)arg;
	return abort_now;
}

/* Exit status and output, the time limit, abort. */
static void
test_run(void)
{
	char *const ok[] = { "sh", "-c", "echo one; echo two >&2", NULL };
	char *const bad[] = { "sh", "-c", "echo first; echo 'last words' >&2;"
	    " exit 4", NULL };
	char *const hang[] = { "sh", "-c", "sleep 300 & sleep 300", NULL };
	char *const none[] = { "/nonexistent/cmd", NULL };
	struct eng_snap sn = { .say = NULL };
	char err[ENG_ERRLEN];

	CHECK_EQ(eng_snap_run(ok, "snapshot", 5, &sn, NULL, NULL, err), 0);
	CHECK_EQ(eng_snap_run(bad, "snapshot", 5, &sn, NULL, NULL, err), -ECHILD);
	CHECK(strstr(err, "exited with status 4: last words") != NULL);
	CHECK_EQ(eng_snap_run(none, "release", 5, &sn, NULL, NULL, err), -ECHILD);
	CHECK(strstr(err, "status 127") != NULL);
	CHECK_EQ(eng_snap_run(hang, "snapshot", 1, &sn, NULL, NULL, err),
	    -ETIMEDOUT);
	CHECK(strstr(err, "did not finish in 1 s") != NULL);
	abort_now = true;
	CHECK_EQ(eng_snap_run(hang, "snapshot", 60, &sn, aborted, NULL, err),
	    -ECANCELED);
	CHECK(strstr(err, "aborted") != NULL);
}

int
main(void)
{
	test_fill();
	test_name();
	test_run();
	T_DONE();
}
