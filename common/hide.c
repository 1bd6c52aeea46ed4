/*
 * The list of paths a cmd: source must not reach (see hide.h): fixed
 * arrays, so that a forked child reads them without allocating.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hide.h"

static struct {
	char path[PATH_MAX];
	bool is_dir;
} hidden[HIDE_MAX];
static int nhidden;

bool
hide_add(const char *path)
{
	char *real = realpath(path, NULL);
	struct stat sb;
	bool ok = false;

	if (!real)
		return false;
	if (stat(real, &sb) < 0 || (!S_ISDIR(sb.st_mode) && !S_ISCHR(sb.st_mode)) ||
	    strcmp(real, "/") == 0)
		goto out;
	for (int i = 0; i < nhidden; i++)
		if (strcmp(hidden[i].path, real) == 0) {
			ok = true;
			goto out;
		}
	if (nhidden == HIDE_MAX) {
		/* A long-lived media server: the oldest goes (re-added if held). */
		memmove(&hidden[0], &hidden[1], sizeof(hidden[0]) * (HIDE_MAX - 1));
		nhidden--;
	}
	if (strlen(real) < PATH_MAX) {
		snprintf(hidden[nhidden].path, PATH_MAX, "%s", real);
		hidden[nhidden++].is_dir = S_ISDIR(sb.st_mode);
		ok = true;
	}
out:
	free(real);
	return ok;
}

/* Is name one of the tape or SCSI generic nodes' names? */
static bool
tape_node_name(const char *name)
{
	static const char *const prefix[] = { "sg", "st", "nst", "sch" };

	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		size_t n = strlen(prefix[i]);
		if (strncmp(name, prefix[i], n) == 0 && name[n] >= '0' &&
		    name[n] <= '9')
			return true;
	}
	return false;
}

/* Char device nodes of dir whose names pass keep (NULL: every one). */
static void
add_nodes(const char *dir, bool (*keep)(const char *))
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if ((!keep || keep(de->d_name)) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path) && lstat(path, &sb) == 0 &&
		    S_ISCHR(sb.st_mode))
			hide_add(path);
	closedir(d);
}

void
hide_add_tape_nodes(void)
{
	add_nodes("/dev", tape_node_name);
	add_nodes("/dev/bsg", NULL);
}

int
hide_count(void)
{
	return nhidden;
}

const char *
hide_path(int i, bool *is_dir)
{
	if (i < 0 || i >= nhidden)
		return NULL;
	if (is_dir)
		*is_dir = hidden[i].is_dir;
	return hidden[i].path;
}
