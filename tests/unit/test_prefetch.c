/*
 * A dir: source's read-ahead walks the tree in libarchive's order: walked
 * beside libarchive's own disk reader as eng_archive_dir walks it, every
 * regular file the archive takes is the one the walker listed at that
 * place (more files than the window, nested directories, symlinks, a
 * FIFO, an unreadable directory, names with newlines), also when started
 * late, past the window (a tree warm until then); stopping early is
 * clean; a tree that changes under the walk only costs order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "engine/prefetch.h"
#include "t.h"

static void
put(const char *path, size_t n)
{
	static char buf[300000];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	CHECK(write(fd, buf, n) == (ssize_t)n);
	close(fd);
}

/* Walk root as eng_archive_dir does; stop after `upto` files (0: all);
   the read-ahead started after `late` regular files, as on a tree found
   warm until then. */
static void
walk_late(const char *root, uint64_t upto, uint64_t late,
    struct eng_prefetch_stats *st, uint64_t *regular)
{
	struct archive *disk = archive_read_disk_new();
	struct eng_prefetch *p = NULL;

	*regular = 0;
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	CHECK(archive_read_disk_open(disk, root) == ARCHIVE_OK);
	if (!late) {
		p = eng_prefetch_start(root, 0, 0);
		CHECK(p != NULL);
	}
	for (;;) {
		struct archive_entry *e = archive_entry_new();
		int r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		CHECK(r >= ARCHIVE_WARN);
		archive_read_disk_descend(disk);
		if (archive_entry_filetype(e) == AE_IFREG) {
			eng_prefetch_done(p, archive_entry_sourcepath(e));
			(*regular)++;
			if (late && *regular == late) {
				p = eng_prefetch_start(root, 0, late);
				CHECK(p != NULL);
			}
			/* Slow at first, so that the walker gets ahead. */
			if (*regular < 50)
				usleep(1000);
		}
		archive_entry_free(e);
		if (upto && *regular == upto)
			break;
	}
	eng_prefetch_stop(p, st);
	archive_read_free(disk);
}

static void
walk(const char *root, uint64_t upto, struct eng_prefetch_stats *st,
    uint64_t *regular)
{
	walk_late(root, upto, 0, st, regular);
}

int
main(void)
{
	char root[] = "/tmp/abs-prefetch-XXXXXX", path[512];
	struct eng_prefetch_stats st;
	uint64_t regular;

	CHECK(mkdtemp(root) != NULL);
	/* 3 levels, 5000 files: more than the 2048-file window. */
	for (int a = 0; a < 5; a++) {
		snprintf(path, sizeof(path), "%s/a%d", root, a);
		CHECK(mkdir(path, 0755) == 0);
		for (int b = 0; b < 10; b++) {
			snprintf(path, sizeof(path), "%s/a%d/b%d", root, a, b);
			CHECK(mkdir(path, 0755) == 0);
			for (int f = 0; f < 100; f++) {
				snprintf(path, sizeof(path), "%s/a%d/b%d/f%d", root, a, b,
				    f);
				put(path, (size_t)(f * 2999) % 300000);
			}
		}
		snprintf(path, sizeof(path), "%s/top%d", root, a);
		put(path, 100);
	}
	snprintf(path, sizeof(path), "%s/a1/link", root);
	CHECK(symlink("b1/f1", path) == 0);
	snprintf(path, sizeof(path), "%s/a1/dirlink", root);
	CHECK(symlink("b2", path) == 0);
	snprintf(path, sizeof(path), "%s/a2/fifo", root);
	CHECK(mkfifo(path, 0644) == 0);
	snprintf(path, sizeof(path), "%s/a3/new\nline", root);
	put(path, 10);
	snprintf(path, sizeof(path), "%s/a4/closed", root);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/a4/closed/hidden", root);
	put(path, 10);
	CHECK(chmod(path, 0644) == 0);
	snprintf(path, sizeof(path), "%s/a4/closed", root);
	/* Unreadable for anyone but root (root reads it: the same either way). */
	CHECK(chmod(path, 0) == 0);

	walk(root, 0, &st, &regular);
	printf("# %llu files, %llu listed, %llu read ahead, %llu out of order, "
	    "%llu before the walk\n", (unsigned long long)st.files,
	    (unsigned long long)st.listed, (unsigned long long)st.read_ahead,
	    (unsigned long long)st.out_of_order, (unsigned long long)st.behind);
	CHECK_EQ(st.files, regular);
	CHECK_EQ(st.listed, regular);
	CHECK_EQ(st.out_of_order, 0);
	CHECK(st.read_ahead > 0);

	/* Started late, past the window (a tree warm until then): the
	   walker lists the passed files without keeping them, and its n-th
	   file is still the archive's n-th. */
	walk_late(root, 0, 3000, &st, &regular);
	printf("# late: %llu files, %llu listed, %llu read ahead, %llu out of "
	    "order\n", (unsigned long long)st.files,
	    (unsigned long long)st.listed, (unsigned long long)st.read_ahead,
	    (unsigned long long)st.out_of_order);
	CHECK_EQ(st.files, regular);
	/* Nothing holds this walk back: the read-ahead may not have
	   listed them all when it is stopped (seen under load). */
	CHECK(st.listed <= regular);
	CHECK_EQ(st.out_of_order, 0);

	/* Stopped early (the archive failed): threads end, nothing leaks. */
	walk(root, 10, &st, &regular);
	CHECK_EQ(st.files, 10);

	/* The root with a trailing slash: the same walk. */
	snprintf(path, sizeof(path), "%s/", root);
	walk(path, 0, &st, &regular);
	CHECK_EQ(st.files, regular);

	/* No such root: no read-ahead, no crash. */
	CHECK(eng_prefetch_start("/nonexistent/abs-prefetch", 0, 0) == NULL);
	eng_prefetch_done(NULL, "x");
	eng_prefetch_stop(NULL, &st);
	CHECK_EQ(st.files, 0);

	snprintf(path, sizeof(path), "%s/a4/closed", root);
	chmod(path, 0755);
	char rm[600];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", root);
	CHECK(system(rm) == 0);
	T_DONE();
}
