/*
 * abs-bench's source figures: compression on every core against
 * `tar | zstd -T0` (--compress), cold and warm runs (--cold: the page
 * cache dropped before each run), and the generated tree of many small
 * files the directory figures use (--make-tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/source_bench.h"
#include "common/log.h"
#include "common/util.h"

#define SB_RUNS 32

/* snprintf that stops the benchmark rather than run a cut command. */
static void __attribute__((format(printf, 3, 4)))
sb_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		die("a command does not fit in %zu bytes: %.60s...", len, buf);
}

static double
sb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
sb_drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, "3\n", 2) == 2 ? 0 : -errno;
	close(fd);
	return rc;
}

/* sh -c cmd, stdin /dev/null, stdout /dev/null: wall and CPU (wait4). */
static int
sb_run(const char *cmd, double *secs, double *cpu)
{
	struct rusage ru;
	int status;
	double t0 = sb_now();
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int dn = open("/dev/null", O_RDWR);
		dup2(dn, 0);
		dup2(dn, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	*secs = sb_now() - t0;
	*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "abs-bench: failed: %s\n", cmd);
		return -EIO;
	}
	return 0;
}

static int
sb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
sb_median(double *v, int n)
{
	double s[SB_RUNS];

	if (!n)
		return 0;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), sb_cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void
sb_cases(struct sb_case *c, int n, unsigned runs, bool cold)
{
	static bool warned;

	if (runs > SB_RUNS)
		runs = SB_RUNS;
	for (unsigned r = 0; r < runs; r++)
		for (int i = 0; i < n; i++) {
			double secs = 0, cpu = 0;
			if (cold && sb_drop_caches() < 0 && !warned) {
				fprintf(stderr, "abs-bench: cannot drop the page cache "
				    "(not root?): the runs are warm\n");
				warned = true;
			}
			if (sb_run(c[i].cmd, &secs, &cpu) < 0)
				continue;
			if (c[i].n < SB_RUNS) {
				c[i].secs[c[i].n] = secs;
				c[i].cpu[c[i].n] = cpu;
				c[i].n++;
			}
			fprintf(stderr, "  run %u %-28s %8.1f MB/s %6.3f CPU s/GB\n",
			    r + 1, c[i].name, c[i].bytes / secs / 1e6,
			    cpu / (c[i].bytes / 1e9));
		}
	printf("%-30s %10s %10s %12s %5s\n", "case", "MB/s", "s", "CPU s/GB",
	    "runs");
	for (int i = 0; i < n; i++) {
		double s = sb_median(c[i].secs, c[i].n);
		c[i].mbps = s > 0 ? c[i].bytes / s / 1e6 : 0;
		c[i].cpu_gb = sb_median(c[i].cpu, c[i].n) / (c[i].bytes / 1e9);
		printf("%-30s %10.1f %10.3f %12.3f %5d\n", c[i].name, c[i].mbps, s,
		    c[i].cpu_gb, c[i].n);
	}
}

/* The engine's stored bytes of its newest dump in log (0: none). */
static uint64_t
logged_bytes(const char *log)
{
	char line[4096];
	uint64_t b = 0;
	FILE *fp = fopen(log, "r");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		const char *p = strstr(line, " bytes=");
		if (strncmp(line, "dump ", 5) == 0 && p)
			b = strtoull(p + 7, NULL, 10);
	}
	fclose(fp);
	return b;
}

/* Bytes a shell command writes to its stdout. */
static uint64_t
output_bytes(const char *cmd)
{
	char sh[8192];
	unsigned long long n = 0;

	sb_fmt(sh, sizeof(sh), "%s | wc -c", cmd);
	FILE *p = popen(sh, "r");
	if (!p)
		return 0;
	if (fscanf(p, "%llu", &n) != 1)
		n = 0;
	pclose(p);
	return n;
}

void
sb_compress(const char *bindir, const char *workdir, const char *tree,
    const char *levels, unsigned runs, bool cold)
{
	char tarf[4096], sh[8192], lv[256];
	struct stat sb;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (cores < 1)
		cores = 1;
	sb_fmt(tarf, sizeof(tarf), "%s/tree.tar", workdir);
	sb_fmt(sh, sizeof(sh), "tar -cf '%s' -C '%s' . 2>/dev/null; test -s '%s'",
	    tarf, tree, tarf);
	if (system(sh) != 0 || stat(tarf, &sb) < 0)
		die("cannot archive %s", tree);
	double bytes = (double)sb.st_size;
	printf("abs-bench --compress: %s, %.1f MB as tar, %ld cores, %u runs%s\n",
	    tree, bytes / 1e6, cores, runs, cold ? ", cold" : "");
	sb_fmt(lv, sizeof(lv), "%s", levels ? levels : "1,3,9");
	for (char *save = NULL, *l = strtok_r(lv, ",", &save); l;
	    l = strtok_r(NULL, ",", &save)) {
		int level = atoi(l);
		if (level < 1 || level > 19)
			die("--compress takes zstd levels 1..19, e.g. 3,9");
		/* Per source: engine T0 (one thread), T1, Tcores; zstd
		   --single-thread, -T1, -T0. */
		enum { E0, E1, EN, ZS, Z1, Z0, NC };
		static const char *zname[] = { "--single-thread", "-T1", "-T0" };
		struct sb_case c[2 * NC];
		bool have[2 * NC];
		char log[4096];
		sb_fmt(log, sizeof(log), "%s/compress.log", workdir);
		memset(c, 0, sizeof(c));
		memset(have, 0, sizeof(have));
		/* The tree as a dir: source, and the same bytes as one file. */
		int n = 0, at[2 * NC];
		for (int from = 0; from < 2; from++) {
			for (int k = E0; k <= EN; k++) {
				long t = k == E0 ? 0 : k == E1 ? 1 : cores;
				if (k == EN && cores == 1)
					continue;
				struct sb_case *x = &c[n];
				have[from * NC + k] = true;
				at[from * NC + k] = n++;
				if (k == E0)
					sb_fmt(x->name, sizeof(x->name), "engine %s T0 "
					    "(1 thread)", from ? "file" : "dir");
				else
					sb_fmt(x->name, sizeof(x->name), "engine %s T%ld",
					    from ? "file" : "dir", t);
				sb_fmt(x->cmd, sizeof(x->cmd), "'%s/abs-engine' dump "
				    "--device null: --entity bench --source '%s:%s' "
				    "--log '%s' --quiet --compress zstd:%d "
				    "--compress-threads %ld 2>/dev/null", bindir,
				    from ? "file" : "dir", from ? tarf : tree, log,
				    level, t);
				x->bytes = bytes;
			}
			for (int k = ZS; k <= Z0; k++) {
				struct sb_case *x = &c[n];
				const char *zt = zname[k - ZS];
				have[from * NC + k] = true;
				at[from * NC + k] = n++;
				sb_fmt(x->name, sizeof(x->name), "%szstd %s",
				    from ? "" : "tar | ", zt);
				if (from)
					sb_fmt(x->cmd, sizeof(x->cmd), "zstd -%d -q -c "
					    "%s < '%s' > /dev/null", level, zt, tarf);
				else
					sb_fmt(x->cmd, sizeof(x->cmd), "tar -cf - -C '%s' . "
					    "2>/dev/null | zstd -%d -q -c %s > /dev/null",
					    tree, level, zt);
				x->bytes = bytes;
			}
		}
		printf("\nzstd level %d\n", level);
		sb_cases(c, n, runs, cold);
		/* What each stream comes to (4 MiB frames against one). */
		sb_fmt(sh, sizeof(sh), "'%s/abs-engine' dump --device null: "
		    "--entity bench --source 'file:%s' --log '%s' --quiet "
		    "--compress zstd:%d 2>/dev/null", bindir, tarf, log, level);
		double eng = system(sh) == 0 ? (double)logged_bytes(log) : 0;
		sb_fmt(sh, sizeof(sh), "zstd -%d -q -c -T0 < '%s'", level, tarf);
		double z = (double)output_bytes(sh);
		printf("stored/raw: engine %.4f (its blocks, header and index "
		    "excluded), zstd %.4f\n", eng / bytes, z / bytes);
		for (int from = 0; from < 2 && cores > 1; from++) {
			struct sb_case *e0 = &c[at[from * NC + E0]],
			    *e1 = &c[at[from * NC + E1]], *en = &c[at[from * NC + EN]],
			    *zs = &c[at[from * NC + ZS]], *z0 = &c[at[from * NC + Z0]];
			if (!have[from * NC + EN] || !e0->n || !e1->n || !en->n ||
			    !zs->n || !z0->n)
				continue;
			printf("%s: T%ld / one thread (T0) %.2f, T%ld/T1 %.2f; "
			    "T0 / %s %.2f; engine T%ld / %s: throughput %.2f, "
			    "CPU %.2f\n", from ? "file" : "dir", cores,
			    en->mbps / e0->mbps, cores, en->mbps / e1->mbps,
			    zs->name, e0->mbps / zs->mbps, cores, z0->name,
			    en->mbps / z0->mbps, en->cpu_gb / z0->cpu_gb);
		}
	}
}

/*
 * A tree of nfiles files of mixed sizes under dir, the same for the same
 * count: most small (like a source tree or a mail spool), some large.
 * Sizes: 70% 0-4 KiB, 26% 4-32 KiB, 3.8% 32-256 KiB, 0.2% 256 KiB-2 MiB
 * (about 14 KB a file, 2.8 GB for 200,000); 100 files a directory, 50
 * directories a level.
 */
void
sb_make_tree(const char *dir, unsigned long nfiles)
{
	static uint8_t buf[8 << 20];
	uint64_t x = 0x243f6a8885a308d3ULL, total = 0;
	char path[4096];

	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Half text-like, half random: compressible to about 0.6. */
		buf[i] = (i / 4096) % 2 ? (uint8_t)x : (uint8_t)("abcdefgh \n"[x % 10]);
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));
	for (unsigned long f = 0; f < nfiles; f++) {
		unsigned long d = f / 100;
		if (f % 100 == 0) {
			sb_fmt(path, sizeof(path), "%s/d%03lu", dir, d / 50);
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				die("%s: %s", path, strerror(errno));
			sb_fmt(path, sizeof(path), "%s/d%03lu/d%05lu", dir, d / 50, d);
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				die("%s: %s", path, strerror(errno));
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned p = (unsigned)(x % 100);
		uint64_t r = x >> 20;
		unsigned q = (unsigned)(x >> 8) % 1000;
		size_t sz = p < 70 ? r % 4096 : p < 96 ? 4096 + r % 28672 :
		    q < 950 ? 32768 + r % 229376 : 262144 + r % 1835008;
		sb_fmt(path, sizeof(path), "%s/d%03lu/d%05lu/f%07lu", dir, d / 50,
		    d, f);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		size_t off = (size_t)(r % (sizeof(buf) - sz + 1)) & ~(size_t)7;
		if (util_write_all(fd, buf + off, sz) < 0)
			die("%s: %s", path, strerror(errno));
		close(fd);
		total += sz;
	}
	printf("%lu files, %.1f MB in %s\n", nfiles, total / 1e6, dir);
}
