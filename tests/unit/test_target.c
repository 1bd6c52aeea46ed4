/*
 * Where a served restore may write (engine/target.h): the default root is
 * the engine's own real directory, AS is a name; a named target is the
 * requester's own directory, pinned, never through another's symlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/target.h"
#include "t.h"

int
main(void)
{
	char dir[] = "/tmp/abs-test-target.XXXXXX", p[600], out[1024],
	    shown[1024], err[ENG_ERRLEN];
	int64_t me = (int64_t)geteuid();
	struct stat st;
	int pin;

	CHECK(mkdtemp(dir) != NULL);
	/* The default root: made 0700, AS a name under it. */
	snprintf(p, sizeof(p), "%s/eng/restore", dir);
	setenv("ABS_RESTORE_ROOT", p, 1);
	CHECK_EQ(eng_target_default("home.x", out, sizeof(out), err), 0);
	CHECK(strcmp(out + strlen(p), "/home.x") == 0);
	CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700);
	CHECK_EQ(eng_target_default("../../etc", out, sizeof(out), err), -EINVAL);
	CHECK_EQ(eng_target_default("a/b", out, sizeof(out), err), -EINVAL);
	CHECK_EQ(eng_target_default("..", out, sizeof(out), err), -EINVAL);
	CHECK_EQ(eng_target_default("", out, sizeof(out), err), -EINVAL);
	CHECK_EQ(eng_target_default(NULL, out, sizeof(out), err), -EINVAL);
	/* A root planted in a directory others may write, or as a symlink. */
	snprintf(p, sizeof(p), "%s/vt", dir);
	CHECK(mkdir(p, 01777) == 0 && chmod(p, 01777) == 0);
	snprintf(p, sizeof(p), "%s/vt/abs-restore", dir);
	setenv("ABS_RESTORE_ROOT", p, 1);
	CHECK_EQ(eng_target_default("x", out, sizeof(out), err), -EPERM);
	snprintf(p, sizeof(p), "%s/pl", dir);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/pl/abs-restore", dir);
	CHECK(symlink(dir, p) == 0);
	setenv("ABS_RESTORE_ROOT", p, 1);
	CHECK_EQ(eng_target_default("x", out, sizeof(out), err), -EPERM);
	CHECK(strstr(err, "symbolic link") != NULL);

	/* A named target: the requester's own directory, pinned. */
	snprintf(p, sizeof(p), "%s/own", dir);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/own/new", dir);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), 0);
	CHECK(pin >= 0 && strncmp(out, "/proc/self/fd/", 14) == 0);
	CHECK(strcmp(out + strlen(out) - 4, "/new") == 0);
	CHECK(mkdir(out, 0700) == 0 && stat(p, &st) == 0);
	snprintf(err, sizeof(err), "%.400s: failed", out);
	eng_target_unpin(err, sizeof(err), pin, shown);
	CHECK(strncmp(err, p, strlen(p)) == 0);
	close(pin);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), 0);	/* it exists: itself, pinned */
	CHECK(strcmp(out + strlen(out) - 2, "/.") == 0);
	close(pin);
	/* A trailing '/' is dropped; a missing parent in the requester's own
	   directory is made, theirs (mkdir -p). */
	snprintf(p, sizeof(p), "%s/own/new2/", dir);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), 0);
	CHECK(strcmp(out + strlen(out) - 5, "/new2") == 0);
	close(pin);
	snprintf(p, sizeof(p), "%s/own/no/deeper/new", dir);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), 0);
	CHECK(strcmp(out + strlen(out) - 4, "/new") == 0);
	close(pin);
	snprintf(p, sizeof(p), "%s/own/no/deeper", dir);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == me);
	snprintf(p, sizeof(p), "%s/own/no/new", dir);
	/* Another uid's, an unknown requester, relative, '..', a link. */
	CHECK_EQ(eng_target_check(p, me + 1, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), -EPERM);
	CHECK(pin == -1 && strstr(err, "may not write") != NULL);
	CHECK_EQ(eng_target_check(p, -1, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), -EPERM);
	CHECK_EQ(eng_target_check("own/new", me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), -EINVAL);
	snprintf(p, sizeof(p), "%s/own/../own/new", dir);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), -EPERM);
	snprintf(p, sizeof(p), "%s/own/link", dir);
	CHECK(symlink(dir, p) == 0);
	CHECK_EQ(eng_target_check(p, me, out, sizeof(out), &pin, shown,
	    sizeof(shown), err), -ELOOP);
	CHECK(pin == -1);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	CHECK(system(p) == 0);
	T_DONE();
}
