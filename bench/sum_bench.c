/*
 * abs-bench --sums: what each byte costs the engine, one thread, in GB/s
 * of thread CPU time (a shared machine's load barely moves it): memcpy
 * (this machine's memory bandwidth, the copy a page-cache read makes),
 * every CRC32C and XXH3 variant the CPU has, and the engine's block sums
 * as separate passes and as one pass (common/sum.c). "cache": the same
 * 1 MiB block over and over (as the engine sees a block just read into
 * its buffer); "memory": 1 MiB blocks walking 512 MiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/sum_bench.h"
#include "common/crc32c.h"
#include "common/digest.h"
#include "common/sum.h"
#include "common/xxh3.h"

#define BLK (1u << 20)
#define BIG (512u << 20)

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum work { W_MEMCPY, W_CRC, W_XXH, W_SEP1, W_SEP2, W_FUSED1, W_FUSED2 };

static unsigned char *big, *dst;
static volatile uint32_t sink;

/* One block of work at p. */
static void
one(enum work w, const unsigned char *p, size_t off, struct digest *d1,
    struct digest *d2)
{
	struct digest *ds[2] = { d1, d2 };

	switch (w) {
	case W_MEMCPY: memcpy(dst + off % (64u << 20), p, BLK); break;
	case W_CRC: sink ^= crc32c(0, p, BLK); break;
	case W_XXH: digest_update(d1, p, BLK); break;
	case W_SEP1:
		sink ^= crc32c(0, p, BLK);
		digest_update(d1, p, BLK);
		break;
	case W_SEP2:
		sink ^= crc32c(0, p, BLK);
		digest_update(d1, p, BLK);
		digest_update(d2, p, BLK);
		break;
	case W_FUSED1: sink ^= sum_block(0, ds, 1, p, BLK); break;
	case W_FUSED2: sink ^= sum_block(0, ds, 2, p, BLK); break;
	}
}

/* GB/s of thread CPU, median of runs; walk: through BIG, else one block. */
static double
rate(enum work w, int walk, unsigned runs)
{
	double v[16];
	struct digest *d1 = digest_new(DIGEST_XXH128),
	    *d2 = digest_new(DIGEST_XXH128);

	if (runs > 16)
		runs = 16;
	for (unsigned r = 0; r < runs; r++) {
		size_t bytes = 0;
		double t0 = cpu_now(), t;
		do {
			for (size_t off = 0; off < BIG; off += BLK) {
				one(w, walk ? big + off : big, off, d1, d2);
				bytes += BLK;
			}
		} while ((t = cpu_now() - t0) < 0.25);
		v[r] = bytes / t / 1e9;
	}
	digest_free(d1);
	digest_free(d2);
	qsort(v, runs, sizeof(v[0]), cmp_d);
	return v[runs / 2];
}

static void
row(const char *what, enum work w, unsigned runs)
{
	double c = rate(w, 0, runs), m = rate(w, 1, runs);

	printf("%-34s %8.1f %8.1f %8.3f\n", what, c, m, 1 / m);
}

int
sum_bench(unsigned runs)
{
	char what[64];
	const char *n;

	if (!(big = malloc(BIG)) || !(dst = malloc(64u << 20)))
		return 1;
	for (size_t i = 0; i < BIG; i += 8) {
		uint64_t x = i * 0x9E3779B97F4A7C15ull;
		memcpy(big + i, &x, 8);
	}
	memset(dst, 1, 64u << 20);
	printf("abs-bench --sums: GB/s of one thread's CPU, median of %u; "
	    "cache: one 1 MiB block again and again, memory: 1 MiB blocks "
	    "through 512 MiB; CPU s/GB from memory\n\n", runs);
	printf("%-34s %8s %8s %8s\n", "work", "cache", "memory", "s/GB");
	row("memcpy (1 MiB into 64 MiB)", W_MEMCPY, runs);
	for (unsigned i = 0; (n = crc32c_impl_name(i)) != NULL; i++) {
		if (crc32c_use(n) < 0)
			continue;
		snprintf(what, sizeof(what), "crc32c %s", n);
		row(what, W_CRC, runs);
	}
	crc32c_use(NULL);
	for (unsigned i = 0; (n = xxh3_impl_name(i)) != NULL; i++) {
		if (xxh3_use(n) < 0)
			continue;
		snprintf(what, sizeof(what), "xxh3-128 %s", n);
		row(what, W_XXH, runs);
	}
	xxh3_use(NULL);
	printf("\nwith the fastest (crc32c %s, xxh3 %s):\n", crc32c_impl(),
	    xxh3_impl());
	row("crc + 1 digest, two passes", W_SEP1, runs);
	row("crc + 1 digest, one pass", W_FUSED1, runs);
	row("crc + 2 digests, three passes", W_SEP2, runs);
	row("crc + 2 digests, one pass", W_FUSED2, runs);
	free(big);
	free(dst);
	return 0;
}
