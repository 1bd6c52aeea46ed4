/* abs-bench's source figures (bench/source_bench.c). */
#ifndef ABS_BENCH_SOURCE_BENCH_H
#define ABS_BENCH_SOURCE_BENCH_H

#include <stdbool.h>

/* One command measured: its runs, then the medians. */
struct sb_case {
	char name[64];
	char cmd[8192];
	double bytes;		/* the source's bytes a run */
	double secs[32], cpu[32];
	int n;
	double mbps, cpu_gb;	/* medians, after sb_cases */
};

/* sync and drop the page cache (root): 0 or -errno. */
int sb_drop_caches(void);
/* Run every case runs times, interleaved (cold: caches dropped before
   each run), and print the medians. */
void sb_cases(struct sb_case *c, int n, unsigned runs, bool cold);
/* --compress: the engine's zstd on one thread (T0), with 1 worker and
   one a core, against zstd --single-thread, -T1 and -T0, on a tree as
   dir: and as one tar file, at each level. */
void sb_compress(const char *bindir, const char *workdir, const char *tree,
    const char *levels, unsigned runs, bool cold);
/* --make-tree DIR: the generated tree of nfiles mixed-size files. */
void sb_make_tree(const char *dir, unsigned long nfiles);

#endif
