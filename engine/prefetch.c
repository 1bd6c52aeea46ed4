/*
 * Read-ahead for a dir: source (prefetch.h). libarchive's walk lists a
 * directory's entries in readdir order and then enters the directories it
 * met, the last met first (a stack); the walker here does the same, so
 * that its n-th regular file is the archive's n-th. The I/O threads stat,
 * open and readahead(2) the files between the archive's position and a
 * window ahead of it, and skip any the archive has already passed (a warm
 * cache: the archive outruns them and they cost little).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/prefetch.h"

#define PF_WINDOW 2048			/* files ahead of the archive */
#define PF_THREADS 8			/* files opened and read at once */
#define PF_FILE_MAX (4u << 20)		/* read ahead of one file at most */
#define PF_BYTES ((uint64_t)128 << 20)	/* read ahead of the archive at most */
/*
 * A warm tree needs no read-ahead, and on a warm tree its stat, open,
 * readahead and close per file are pure cost. A file is warm when its
 * data is all in the page cache (cachestat; an inode with pages cached
 * stays in memory too); each warm file adds one to a score, each cold
 * one halves it. At PF_WARM only one file in PF_PROBE is looked at, until
 * cold ones bring the score down again. (Timing the stat was tried: on a
 * busy machine a warm stat is often slow, and the score never rose.)
 */
#define PF_WARM 64
#define PF_WARM_MAX 1024
#define PF_PROBE 32

struct pf_item {
	char *path;
	uint64_t seq;
	uint64_t ra;		/* bytes asked of the kernel for it */
};

struct eng_prefetch {
	char *root;
	int rootfd;		/* O_PATH, or -1 */
	int64_t since;
	dev_t dev;
	pthread_t walker, io[PF_THREADS];
	unsigned nio;
	bool walker_started;
	pthread_mutex_t mu;
	pthread_cond_t walk_cv;	/* the walker waits for room */
	pthread_cond_t io_cv;	/* the I/O threads wait for files or bytes */
	bool walk_waits;
	unsigned io_idle, io_budget;	/* waiting for files, for bytes */
	struct pf_item items[PF_WINDOW];
	uint64_t listed;	/* regular files the walker found */
	uint64_t taken;		/* the next an I/O thread takes */
	uint64_t done;		/* the archive's regular files so far */
	uint64_t skip;		/* taken before the start: listed, not kept */
	uint64_t ahead;		/* bytes asked for and not yet archived */
	bool walked, stop;
	uint64_t read_ahead, out_of_order, behind;
	unsigned warm;		/* warm files lately (see PF_WARM) */
};

#ifndef __NR_cachestat
#define __NR_cachestat 451	/* the same on every architecture (6.5) */
#endif

/* Are the first len bytes of fd's file all in the page cache? (No
   cachestat: say yes, the stat's speed alone decides.) */
static bool
cached_all(int fd, uint64_t len)
{
	struct { uint64_t off, len; } range = { 0, len };
	struct {
		uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		    nr_recently_evicted;
	} cs;

	if (syscall(__NR_cachestat, fd, &range, &cs, 0) < 0)
		return true;
	return cs.nr_cache * 4096 >= len;
}


/* One directory's entries: files to the window, directories to visit. */
static int
walk_dir(struct eng_prefetch *p, const char *dir, char ***stack, size_t *n,
    size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		return 0;	/* libarchive says why; no read-ahead there */
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, nm) >=
		    sizeof(path))
			continue;
		unsigned char t = de->d_type;
		struct stat sb;
		if (t == DT_UNKNOWN || t == DT_DIR) {
			if (fstatat(dirfd(d), nm, &sb, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			t = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ?
			    DT_REG : DT_UNKNOWN;
			/* libarchive stays on the root's file system too. */
			if (t == DT_DIR && sb.st_dev != p->dev)
				continue;
		}
		if (t == DT_DIR) {
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				char **ns = realloc(*stack, nc * sizeof(*ns));
				if (!ns)
					break;
				*stack = ns;
				*cap = nc;
			}
			if (!((*stack)[*n] = strdup(path)))
				break;
			(*n)++;
			continue;
		}
		if (t != DT_REG)
			continue;
		if (p->listed < p->skip) {
			/* The archive has passed it: only counted. */
			pthread_mutex_lock(&p->mu);
			p->listed++;
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		char *copy = strdup(path);
		if (!copy)
			break;
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->listed >= p->done + PF_WINDOW) {
			p->walk_waits = true;
			pthread_cond_wait(&p->walk_cv, &p->mu);
		}
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			free(copy);
			closedir(d);
			return -1;
		}
		struct pf_item *it = &p->items[p->listed % PF_WINDOW];
		free(it->path);
		it->path = copy;
		it->seq = p->listed;
		it->ra = 0;
		p->listed++;
		if (p->io_idle && (p->warm < PF_WARM || p->listed % PF_PROBE == 0))
			pthread_cond_signal(&p->io_cv);
		pthread_mutex_unlock(&p->mu);
	}
	closedir(d);
	/* The stack is visited last pushed first: this directory's
	   subdirectories in reverse readdir order, as libarchive does. */
	return 0;
}

static void *
walker(void *arg)
{
	struct eng_prefetch *p = arg;
	char **stack = NULL;
	size_t n = 0, cap = 0;

	if (walk_dir(p, p->root, &stack, &n, &cap) == 0)
		while (n) {
			char *dir = stack[--n];
			int rc = walk_dir(p, dir, &stack, &n, &cap);
			free(dir);
			if (rc < 0)
				break;
		}
	while (n)
		free(stack[--n]);
	free(stack);
	pthread_mutex_lock(&p->mu);
	p->walked = true;
	pthread_cond_broadcast(&p->io_cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * Open path, a file the walk listed, below the root through no link (a
 * directory swapped for a link since the walk must not take the
 * read-ahead out of the tree): -1 if not, or if the kernel has no
 * openat2 (the read-ahead is a hint).
 */
static int
open_in_tree(const struct eng_prefetch *p, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS,
	};
	size_t rl = strlen(p->root);

	if (p->rootfd < 0 || strncmp(path, p->root, rl) != 0)
		return -1;
	path += rl;
	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, p->rootfd, *path ? path : ".", &how,
	    sizeof(how));
}

static void *
io_thread(void *arg)
{
	struct eng_prefetch *p = arg;
	char path[4096];

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->taken < p->done)
			p->taken = p->done;	/* the archive passed them */
		while (!p->stop && p->taken >= p->listed && !p->walked) {
			p->io_idle++;
			pthread_cond_wait(&p->io_cv, &p->mu);
			p->io_idle--;
		}
		if (p->stop || (p->walked && p->taken >= p->listed))
			break;
		if (p->taken < p->done)
			continue;
		uint64_t seq = p->taken++;
		if (p->warm >= PF_WARM && seq % PF_PROBE)
			continue;	/* warm: a probe now and then */
		struct pf_item *it = &p->items[seq % PF_WINDOW];
		snprintf(path, sizeof(path), "%s", it->path);
		pthread_mutex_unlock(&p->mu);

		struct stat sb;
		int fd = -1;
		uint64_t len = 0;
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
		    (!p->since || sb.st_mtime >= p->since ||
		    sb.st_ctime >= p->since)) {
			len = (uint64_t)sb.st_size < PF_FILE_MAX ?
			    (uint64_t)sb.st_size : PF_FILE_MAX;
		}
		pthread_mutex_lock(&p->mu);
		/* Not too far ahead in bytes either (the cache must keep them). */
		while (len && !p->stop && seq >= p->done && p->ahead &&
		    p->ahead + len > PF_BYTES) {
			p->io_budget++;
			pthread_cond_wait(&p->io_cv, &p->mu);
			p->io_budget--;
		}
		if (p->stop)
			break;
		if (!len || seq < p->done)
			continue;
		it->ra = len;
		p->ahead += len;
		p->read_ahead++;
		pthread_mutex_unlock(&p->mu);
		fd = open_in_tree(p, path);
		bool cached = false;
		if (fd >= 0) {
			/* Its data in memory too? Then it is warm, nothing to ask. */
			cached = cached_all(fd, len);
			if (!cached && readahead(fd, 0, (size_t)len) < 0)
				(void)0;	/* a hint: the archive reads anyway */
			close(fd);
		}
		pthread_mutex_lock(&p->mu);
		p->warm = cached ? (p->warm < PF_WARM_MAX ? p->warm + 1 : p->warm) :
		    p->warm / 2;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct eng_prefetch *
eng_prefetch_start(const char *root, int64_t since, uint64_t skip)
{
	struct eng_prefetch *p = calloc(1, sizeof(*p));
	struct stat sb;

	if (!p)
		return NULL;
	if (stat(root, &sb) < 0 || !(p->root = strdup(root))) {
		free(p);
		return NULL;
	}
	/* A root given with a trailing slash: one slash between names. */
	size_t rl = strlen(p->root);
	while (rl > 1 && p->root[rl - 1] == '/')
		p->root[--rl] = '\0';
	p->dev = sb.st_dev;
	p->rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	p->since = since;
	p->skip = p->done = p->taken = skip;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->walk_cv, NULL);
	pthread_cond_init(&p->io_cv, NULL);
	if (pthread_create(&p->walker, NULL, walker, p)) {
		eng_prefetch_stop(p, NULL);
		return NULL;
	}
	p->walker_started = true;
	for (unsigned i = 0; i < PF_THREADS; i++) {
		if (pthread_create(&p->io[i], NULL, io_thread, p))
			break;
		p->nio++;
	}
	return p;
}

void
eng_prefetch_done(struct eng_prefetch *p, const char *path)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	struct pf_item *it = &p->items[p->done % PF_WINDOW];
	if (p->done < p->listed && it->seq == p->done) {
		p->ahead -= it->ra;
		it->ra = 0;
		if (!path || strcmp(path, it->path) != 0)
			p->out_of_order++;
	} else {
		p->behind++;	/* the walker had not got there yet */
	}
	p->done++;
	/* Wake the walker once half the window is free, and readers that
	   wait for bytes to be archived: not at every file. */
	if (p->walk_waits && p->listed < p->done + PF_WINDOW / 2) {
		p->walk_waits = false;
		pthread_cond_signal(&p->walk_cv);
	}
	if (p->io_budget && p->ahead < PF_BYTES / 2)
		pthread_cond_broadcast(&p->io_cv);
	pthread_mutex_unlock(&p->mu);
}

void
eng_prefetch_stop(struct eng_prefetch *p, struct eng_prefetch_stats *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->walk_cv);
	pthread_cond_broadcast(&p->io_cv);
	pthread_mutex_unlock(&p->mu);
	if (p->walker_started)
		pthread_join(p->walker, NULL);
	for (unsigned i = 0; i < p->nio; i++)
		pthread_join(p->io[i], NULL);
	if (st) {
		st->files = p->done;
		st->listed = p->listed;
		st->read_ahead = p->read_ahead;
		st->out_of_order = p->out_of_order;
		st->behind = p->behind;
	}
	for (unsigned i = 0; i < PF_WINDOW; i++)
		free(p->items[i].path);
	pthread_cond_destroy(&p->walk_cv);
	pthread_cond_destroy(&p->io_cv);
	pthread_mutex_destroy(&p->mu);
	if (p->rootfd >= 0)
		close(p->rootfd);
	free(p->root);
	free(p);
}
