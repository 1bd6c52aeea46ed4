/* common/safefile.c: lock files naming their holder, reads that never block. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/safefile.h"
#include "t.h"

static char dir[] = "/tmp/abs-test-safefile.XXXXXX";

/* dir/name into a static buffer. */
static const char *
at(const char *name)
{
	static char p[2][256];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* A lock held by a child is refused here with the child's pid. */
static void
test_lock(void)
{
	char who[64] = "", want[64];
	int fd, pfd[2], st;
	pid_t pid;
	char c;

	CHECK(pipe(pfd) == 0);
	if ((pid = fork()) == 0) {
		int l = sf_lock(at("x.lock"), NULL, 0);
		if (write(pfd[1], l >= 0 ? "y" : "n", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	CHECK(read(pfd[0], &c, 1) == 1 && c == 'y');
	CHECK_EQ(sf_lock(at("x.lock"), who, sizeof(who)), -EBUSY);
	snprintf(want, sizeof(want), "pid %d", (int)pid);
	CHECK(strcmp(who, want) == 0);
	/* The file unlinked while held: the next one is a lock of its own. */
	unlink(at("x.lock"));
	fd = sf_lock(at("x.lock"), who, sizeof(who));
	CHECK(fd >= 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fd);
	/* Free again once the holder is gone; a symlink is no lock file. */
	fd = sf_lock(at("x.lock"), NULL, 0);
	CHECK(fd >= 0);
	close(fd);
	CHECK(symlink(at("x.lock"), at("y.lock")) == 0);
	CHECK_EQ(sf_lock(at("y.lock"), NULL, 0), -ELOOP);
	close(pfd[0]);
	close(pfd[1]);
}

/* FIFOs, devices, directories and symlinks are never opened. */
static void
test_open(void)
{
	int fd;

	CHECK(mkfifo(at("fifo"), 0600) == 0);
	CHECK_EQ(sf_open_regular(at("fifo"), false), -EINVAL);
	CHECK_EQ(sf_open_append(at("fifo")), -EINVAL);
	CHECK(symlink("/dev/zero", at("zero")) == 0);
	CHECK_EQ(sf_open_regular(at("zero"), false), -EINVAL);
	CHECK_EQ(sf_open_regular(at("zero"), true), -ELOOP);
	CHECK_EQ(sf_open_append(at("zero")), -ELOOP);
	CHECK(mkdir(at("d"), 0700) == 0);
	CHECK_EQ(sf_open_regular(at("d"), true), -EISDIR);
	CHECK_EQ(sf_open_regular(at("none"), true), -ENOENT);
	fd = sf_open_append(at("reg"));
	CHECK(fd >= 0 && write(fd, "a\n", 2) == 2);
	close(fd);
	CHECK(symlink("reg", at("lnk")) == 0);
	fd = sf_open_regular(at("lnk"), false);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(sf_open_regular(at("lnk"), true), -ELOOP);
}

/* Lines and files are bounded. */
static void
test_bounds(void)
{
	char buf[8], *text;
	size_t len;
	FILE *fp = fopen(at("lines"), "w");

	fputs("abc\n0123456789\nxy", fp);
	fclose(fp);
	fp = sf_fopen_regular(at("lines"), true);
	CHECK(fp != NULL);
	CHECK_EQ(sf_getline(fp, buf, sizeof(buf)), 4);
	CHECK(strcmp(buf, "abc\n") == 0);
	CHECK_EQ(sf_getline(fp, buf, sizeof(buf)), -EMSGSIZE);
	CHECK_EQ(sf_getline(fp, buf, sizeof(buf)), 2);
	CHECK(strcmp(buf, "xy") == 0);
	CHECK_EQ(sf_getline(fp, buf, sizeof(buf)), 0);
	fclose(fp);
	CHECK_EQ(sf_read_file(at("lines"), true, 10, &text, &len), -EFBIG);
	CHECK(sf_read_file(at("lines"), true, 100, &text, &len) == 0 && len == 17);
	free(text);
	CHECK_EQ(sf_read_file(at("fifo"), true, 100, &text, &len), -EINVAL);
}

int
main(void)
{
	char cmd[300];

	if (!mkdtemp(dir))
		return 1;
	test_lock();
	test_open();
	test_bounds();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	T_DONE();
}
