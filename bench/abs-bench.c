/*
 * abs-bench: the engine against its peers (dd, mbuffer, cat) on the same
 * source and sink in one invocation, runs interleaved, medians reported.
 * The source is a generated incompressible stream through a pipe; sinks
 * are null (the engine's null: device, /dev/null for peers) and a vtape
 * cartridge on disk (a file in the same directory for peers). Every run
 * ends durable: the engine's closing filemark fsyncs, the peers run sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "bench/archive_bench.h"
#include "bench/plan_bench.h"
#include "bench/source_bench.h"
#include "bench/sum_bench.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_RUNS 32

struct result {
	const char *sink, *tool;
	double mbps[MAX_RUNS], cpu_per_gb[MAX_RUNS], rss_mb[MAX_RUNS];
	int n;
};

static char bindir[PATH_MAX], workdir[PATH_MAX];
static uint64_t opt_size = 1ULL << 30, opt_bs = 1 << 20;
static unsigned opt_depth = 8, opt_runs = 3;
/* A bursty source: bursts of gen_burst bytes, paced to gen_rate bytes/s. */
static double gen_rate;
static uint64_t gen_burst;
/* The standard set's source: random, text, file, or dir:PATH. */
static const char *opt_source = "random";
static char src_path[PATH_MAX];
static int gen_text, gen_none;
/* --cold: the page cache dropped before each run (root only). */
static int opt_cold;
/* --baseline DIR: tool "base" is DIR/abs-engine (before and after). */
static const char *base_bindir;
/* Peak resident memory of the last tool run (its whole process tree). */
static double last_rss_mb;

/* Fill fd with n bytes of xorshift data: incompressible, cheap to make. */
static void
generate(int fd, uint64_t n)
{
	static uint64_t buf[1 << 17];	/* 1 MiB */
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	static const char *words[] = { "volume ", "dump ", "tape ", "block ",
	    "the ", "of ", "partition ", "server ", "backup\n", "level ",
	    "cartridge ", "label ", "restore ", "entity ", "and ", "2026 " };

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double burst_start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	uint64_t in_burst = 0;

	if (gen_none)
		_exit(0);
	while (n) {
		/*
		 * Paced like a dump program that stalls between bursts (reading
		 * metadata, a busy server): after each burst a pause of its own,
		 * sized so that an unhindered source (2 GB/s in bursts) averages
		 * gen_rate. A blocked consumer does not shorten the pause.
		 */
		uint64_t bsz = gen_burst ? gen_burst : sizeof(buf);
		if (gen_rate > 0 && in_burst >= bsz) {
			double pause = (double)in_burst / gen_rate -
			    (double)in_burst / 2e9;
			if (!gen_burst) {
				/* Steady: keep to the mean rate, no stalls. */
				clock_gettime(CLOCK_MONOTONIC, &ts);
				double t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
				pause = burst_start + (double)in_burst / gen_rate - t;
			}
			if (pause > 0)
				usleep((useconds_t)(pause * 1e6));
			clock_gettime(CLOCK_MONOTONIC, &ts);
			burst_start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
			in_burst = 0;
		}
		if (gen_text) {
			/* Text of a small vocabulary: zstd makes about a fifth of it. */
			char *p = (char *)buf, *end = p + sizeof(buf);
			while (p < end) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				const char *w = words[x & 15];
				size_t l = strlen(w);
				if (l > (size_t)(end - p))
					l = (size_t)(end - p);
				memcpy(p, w, l);
				p += l;
			}
		} else {
			for (size_t i = 0; i < ARRAY_SIZE(buf); i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[i] = x;
			}
		}
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		if (util_write_all(fd, buf, k) < 0)
			_exit(1);
		n -= k;
		in_burst += k;
	}
	_exit(0);
}

/*
 * The raw ceiling of a file sink: stdin to `path` through io_uring, 8
 * writes of block_size in flight, fsync at the end. No checksums, no format.
 */
static int
uring_write(const char *path)
{
	struct io_uring ring;
	enum { DEPTH = 8 };
	char *bufs[DEPTH];
	int inflight = 0, fd, rc = 0;
	uint64_t off = 0;
	bool eof = false;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || io_uring_queue_init(DEPTH * 2, &ring, 0) < 0)
		return 1;
	for (int i = 0; i < DEPTH; i++)
		if (posix_memalign((void **)&bufs[i], 4096, opt_bs))
			return 1;
	for (int slot = 0; !eof || inflight;) {
		while (!eof && inflight < DEPTH) {
			ssize_t n = util_read_full(0, bufs[slot], opt_bs);
			if (n <= 0) {
				eof = true;
				break;
			}
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			io_uring_prep_write(sqe, fd, bufs[slot], (unsigned)n, off);
			off += (uint64_t)n;
			slot = (slot + 1) % DEPTH;
			inflight++;
		}
		if (!inflight)
			break;
		struct io_uring_cqe *cqe;
		if (io_uring_submit_and_wait(&ring, 1) < 0 ||
		    io_uring_wait_cqe(&ring, &cqe) < 0)
			return 1;
		if (cqe->res < 0)
			rc = 1;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
	}
	if (fsync(fd) < 0 && errno != EINVAL)	/* /dev/null cannot sync */
		rc = 1;
	close(fd);
	io_uring_queue_exit(&ring);
	return rc;
}

/*
 * snprintf for paths and shell commands: a cut one would run the wrong
 * thing, so a result that does not fit stops the benchmark.
 */
static void __attribute__((format(printf, 3, 4)))
xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "abs-bench: a path or command does not fit in %zu "
		    "bytes: %.60s...\n", len, buf);
		exit(2);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run a shell command line with the generated stream on its stdin. */
static int
run_piped(const char *cmdline, double *secs, double *cpu)
{
	int p[2];
	pid_t gen, tool;
	struct rusage ru;
	int status;
	double t0;

	if (pipe(p) < 0)
		return -errno;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	t0 = now();
	gen = fork();
	if (gen == 0) {
		close(p[0]);
		generate(p[1], opt_size);
	}
	tool = fork();
	if (tool == 0) {
		close(p[1]);
		dup2(p[0], 0);
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	if (wait4(tool, &status, 0, &ru) < 0)
		return -errno;
	*secs = now() - t0;
	waitpid(gen, NULL, 0);
	*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	last_rss_mb = ru.ru_maxrss / 1024.0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "abs-bench: failed: %s\n", cmdline);
		return -EIO;
	}
	return 0;
}

/* Shell command for tool on sink; prepares a fresh cartridge if needed. */
static int
command_for(const char *tool, const char *sink, char *buf, size_t len)
{
	char cart[PATH_MAX + 16], sh[2 * PATH_MAX + 200];
	const char *out;

	snprintf(cart, sizeof(cart), "%s/cart", workdir);
	xsnprintf(sh, sizeof(sh), "rm -rf '%s' && '%s/abs-vtape' new-cartridge '%s' "
	    "--barcode B00001 --capacity 1T >/dev/null && '%s/abs-engine' label "
	    "--device 'vtape:%s' --label B00001 >/dev/null", cart, bindir, cart,
	    bindir, cart);
	if (strcmp(sink, "vtape") == 0 && system(sh) != 0)
		return -EIO;
	out = strcmp(sink, "null") == 0 ? "/dev/null" : NULL;
	char file[PATH_MAX + 32];
	snprintf(file, sizeof(file), "%s/file000001", cart);
	/* Where each tool reads: the pipe, a file on disk, or a tree. */
	bool from_file = strcmp(opt_source, "file") == 0;
	bool from_dir = strncmp(opt_source, "dir:", 4) == 0;
	char esrc[PATH_MAX + 16], in[PATH_MAX + 16];
	if (from_dir)
		snprintf(esrc, sizeof(esrc), "dir:%s", src_path);
	else if (from_file)
		snprintf(esrc, sizeof(esrc), "file:%s", src_path);
	else
		snprintf(esrc, sizeof(esrc), "file:/dev/stdin");
	snprintf(in, sizeof(in), "%s", from_file ? src_path : "/dev/stdin");
	/* engine-direct, engine-cache: file: sources read with O_DIRECT or
	   through the page cache (the engine's default picks by the cache). */
	if (strncmp(tool, "engine", 6) == 0 && (!tool[6] ||
	    strcmp(tool, "engine-direct") == 0 ||
	    strcmp(tool, "engine-cache") == 0))
		xsnprintf(buf, len, "'%s/abs-engine' dump --device '%s%s' --entity "
		    "bench --source '%s' --log '%s/bench.log' --block-size %llu "
		    "--depth %u --quiet%s%s", bindir, out ? "null:" : "vtape:",
		    out ? "" : cart, esrc, workdir, (unsigned long long)opt_bs,
		    opt_depth, gen_text ? " --compress zstd" : "",
		    !tool[6] ? "" : tool[7] == 'd' ? " --direct-io on" :
		    " --direct-io off");
	else if (strcmp(tool, "dd-direct") == 0)
		xsnprintf(buf, len, "dd if='%s' bs=%llu iflag=direct,fullblock "
		    "of='%s' status=none%s", in, (unsigned long long)opt_bs,
		    out ? out : file, out ? "" : " conv=fsync");
	else if (strcmp(tool, "dd") == 0)
		xsnprintf(buf, len, "dd if='%s' bs=%llu iflag=fullblock of='%s' "
		    "status=none%s", in, (unsigned long long)opt_bs,
		    out ? out : file, out ? "" : " conv=fsync");
	else if (strcmp(tool, "mbuffer") == 0)
		xsnprintf(buf, len, "mbuffer -q -i '%s' -s %llu -m %llu -o '%s'%s", in,
		    (unsigned long long)opt_bs,
		    (unsigned long long)opt_bs * opt_depth, out ? out : file,
		    out ? "" : " && sync");
	else if (strcmp(tool, "cat") == 0)
		xsnprintf(buf, len, "cat '%s' > '%s'%s", in, out ? out : file,
		    out ? "" : " && sync");
	else if (strcmp(tool, "uring") == 0)
		xsnprintf(buf, len, "'%s/abs-bench' --uring-write '%s' --block-size %llu "
		    "< '%s'", bindir, out ? out : file, (unsigned long long)opt_bs, in);
	else if (strcmp(tool, "zstd") == 0)
		xsnprintf(buf, len, "zstd -3 -q -c -T1 < '%s' > '%s'%s", in,
		    out ? out : file, out ? "" : " && sync");
	else if (strcmp(tool, "tar") == 0 && from_dir)
		xsnprintf(buf, len, "tar -cf - -C '%s' . > '%s'%s", src_path,
		    out ? out : file, out ? "" : " && sync");
	/* GNU tar to /dev/null does not read file data: through a pipe it must. */
	else if (strcmp(tool, "tarcat") == 0 && from_dir)
		xsnprintf(buf, len, "tar -cf - -C '%s' . | cat > '%s'%s", src_path,
		    out ? out : file, out ? "" : " && sync");
	else if (strcmp(tool, "tarmbuffer") == 0 && from_dir)
		xsnprintf(buf, len, "tar -cf - -C '%s' . | mbuffer -q -s %llu -m %llu "
		    "-o '%s' 2>/dev/null%s", src_path, (unsigned long long)opt_bs,
		    (unsigned long long)opt_bs * opt_depth, out ? out : file,
		    out ? "" : " && sync");
	/* The engine of another build (--baseline DIR), the same command. */
	else if (strcmp(tool, "base") == 0 && base_bindir)
		xsnprintf(buf, len, "'%s/abs-engine' dump --device '%s%s' --entity "
		    "bench --source '%s' --log '%s/bench.log' --block-size %llu "
		    "--depth %u --quiet%s", base_bindir, out ? "null:" : "vtape:",
		    out ? "" : cart, esrc, workdir, (unsigned long long)opt_bs,
		    opt_depth, gen_text ? " --compress zstd" : "");
	else
		return -EINVAL;
	return 0;
}

/*
 * End-of-tape figures: the engine on one large cartridge without and with
 * spot verification, and on a library of cartridges a quarter of the
 * stream each (so the dump spans about five), from the engine's own report.
 */
static double median(const double *v, int n);
static int have(const char *tool);
static void svg_chart(const char *path, const char *t1, double v1[][8],
    const char *t2, double v2[][8], const char **groups, int ng,
    const char **series, int ns);

struct eot_run {
	double secs, vsecs, hsecs;
	unsigned handovers;
	unsigned long long vblocks;
};

/* Run one engine dump for the end-of-tape set and read its report. */
static int
eot_once(int kind, struct eot_run *er)
{
	char sh[6 * PATH_MAX], rep[PATH_MAX + 32], line[512];
	double cpu;
	int rc;

	char setup[6 * PATH_MAX];

	snprintf(rep, sizeof(rep), "%s/report.txt", workdir);
	/* The sink is made before the clock starts; only the dump is timed. */
	if (kind < 2) {
		xsnprintf(setup, sizeof(setup), "rm -rf '%s/c' '%s/l' && '%s/abs-vtape' "
		    "new-cartridge '%s/c' --barcode E1 --capacity %llu >/dev/null && "
		    "'%s/abs-engine' label --device 'vtape:%s/c' --label E1 >/dev/null",
		    workdir, workdir, bindir, workdir,
		    (unsigned long long)opt_size * 2, bindir, workdir);
		snprintf(sh, sizeof(sh), "'%s/abs-engine' dump --device 'vtape:%s/c' "
		    "--entity e --source file:/dev/stdin --log '%s/eot.log' %s >'%s' "
		    "2>/dev/null", bindir, workdir, workdir,
		    kind == 0 ? "--no-verify" : "", rep);
	} else {
		xsnprintf(setup, sizeof(setup), "rm -rf '%s/c' '%s/l' && '%s/abs-vtape' "
		    "new-library '%s/l' --slots 8 --drives 1 --capacity %llu "
		    ">/dev/null && '%s/abs-vtape' load '%s/l' --slot 1 --drive 0 && "
		    "'%s/abs-engine' label --device 'vtape:%s/l/drive0' --label E1 "
		    ">/dev/null", workdir, workdir, bindir, workdir,
		    (unsigned long long)opt_size / 4 + (8u << 20), bindir, workdir,
		    bindir, workdir);
		snprintf(sh, sizeof(sh), "'%s/abs-engine' dump --device "
		    "'vtape:%s/l/drive0' --entity e --source file:/dev/stdin --log "
		    "'%s/eot.log' --autolabel 'E%%d' >'%s' 2>/dev/null", bindir,
		    workdir, workdir, rep);
	}
	if (system(setup) != 0)
		return -EIO;
	if ((rc = run_piped(sh, &er->secs, &cpu)) < 0)
		return rc;
	FILE *fp = fopen(rep, "r");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp))
		sscanf(line, "spot verify: %llu blocks re-read, %*u verified in the "
		    "drive, %*u bad, %lf s; cartridge hand-overs: %u in %lf s",
		    &er->vblocks, &er->vsecs, &er->handovers, &er->hsecs);
	fclose(fp);
	return 0;
}

/*
 * Drive starvation: a bursty source with a given mean rate feeds each tool,
 * which feeds a drive model streaming at a fixed rate with a small buffer.
 * The model counts underruns (the drive stopping) and the time they cost.
 */
static double drive_min_mbps;	/* speed matching down to this, or 0 */
static int drive_steps = 1;

static void
starvation_bench(double mean_mbps, double drive_mbps, unsigned drive_buf_mib,
    const char *results)
{
	double under_v[8][8] = { { 0 } }, rate_v[8][8] = { { 0 } };
	const char *blabels[4] = { "steady", "16 MiB", "64 MiB", "256 MiB" };
	static const uint64_t bursts[] = { 0, 16u << 20, 64u << 20, 256u << 20 };
	static const char *tools[] = { "engine", "mbuffer", "dd", "cat" };
	char rep[PATH_MAX + 32], line[256];

	snprintf(rep, sizeof(rep), "%s/model.txt", workdir);
	gen_rate = mean_mbps * 1e6;
	printf("abs-bench --starvation: %llu MiB per run, source mean %.0f MB/s, "
	    "drive %.0f MB/s", (unsigned long long)(opt_size >> 20), mean_mbps,
	    drive_mbps);
	if (drive_min_mbps > 0 && drive_steps > 1)
		printf(" speed-matching in %d steps down to %.0f MB/s", drive_steps,
		    drive_min_mbps);
	printf(" with a %u MiB buffer, 2 s per back-hitch, tool memory %llu MiB"
	    "\n\n", drive_buf_mib,
	    (unsigned long long)((opt_bs * opt_depth) >> 20));
	printf("medians of %u runs\n%-10s %-8s %10s %10s %10s\n", opt_runs, "burst",
	    "tool", "underruns", "lost s", "MB/s");
	for (size_t b = 0; b < ARRAY_SIZE(bursts); b++) {
		char cmds[ARRAY_SIZE(tools)][4 * PATH_MAX];
		double uv[ARRAY_SIZE(tools)][MAX_RUNS], lv[ARRAY_SIZE(tools)][MAX_RUNS];
		double rv[ARRAY_SIZE(tools)][MAX_RUNS];
		int nr[ARRAY_SIZE(tools)] = { 0 };
		gen_burst = bursts[b];
		for (size_t t = 0; t < ARRAY_SIZE(tools); t++) {
			const char *tool = tools[t];
			char pre[2 * PATH_MAX], match[64] = "";
			cmds[t][0] = '\0';
			if (!have(tool))
				continue;
			if (strcmp(tool, "engine") == 0)
				xsnprintf(pre, sizeof(pre), "'%s/abs-engine' dump --device fd:1 "
				    "--entity b --source file:/dev/stdin --log '%s/s.log' "
				    "--quiet --block-size %llu --depth %u", bindir, workdir,
				    (unsigned long long)opt_bs, opt_depth);
			else if (strcmp(tool, "mbuffer") == 0)
				snprintf(pre, sizeof(pre), "mbuffer -q -s %llu -m %llu",
				    (unsigned long long)opt_bs,
				    (unsigned long long)opt_bs * opt_depth);
			else if (strcmp(tool, "dd") == 0)
				snprintf(pre, sizeof(pre), "dd bs=%llu iflag=fullblock "
				    "status=none", (unsigned long long)opt_bs);
			else
				snprintf(pre, sizeof(pre), "cat");
			if (drive_min_mbps > 0 && drive_steps > 1)
				snprintf(match, sizeof(match), " 2 0.5 %.0f %d", drive_min_mbps,
				    drive_steps);
			xsnprintf(cmds[t], sizeof(cmds[t]), "%s 2>/dev/null | "
			    "'%s/abs-drive-model' %.0f %u%s >'%s'", pre, bindir,
			    drive_mbps, drive_buf_mib, match, rep);
		}
		/* Interleaved: every tool once per round, then the next round. */
		for (unsigned run = 0; run < opt_runs; run++)
			for (size_t t = 0; t < ARRAY_SIZE(tools); t++) {
				double secs, cpu, bytes = 0, msecs = 0, l = 0;
				unsigned long u = 0;
				if (!cmds[t][0] || run_piped(cmds[t], &secs, &cpu) < 0)
					continue;
				FILE *fp = fopen(rep, "r");
				if (fp) {
					if (fgets(line, sizeof(line), fp))
						sscanf(line, "bytes=%lf seconds=%lf underruns=%lu "
						    "lost=%lf", &bytes, &msecs, &u, &l);
					fclose(fp);
				}
				uv[t][nr[t]] = (double)u;
				lv[t][nr[t]] = l;
				rv[t][nr[t]] = msecs > 0 ? bytes / msecs / 1e6 : 0;
				nr[t]++;
			}
		for (size_t t = 0; t < ARRAY_SIZE(tools); t++) {
			if (!nr[t])
				continue;
			under_v[b][t] = median(uv[t], nr[t]);
			rate_v[b][t] = median(rv[t], nr[t]);
			printf("%-10s %-8s %10.1f %10.2f %10.1f\n", blabels[b], tools[t],
			    under_v[b][t], median(lv[t], nr[t]), rate_v[b][t]);
		}
		fflush(stdout);
	}
	gen_rate = 0;
	if (results) {
		char path[PATH_MAX + 64], stamp[32];
		time_t now_t = time(NULL);
		mkdir(results, 0755);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now_t));
		snprintf(path, sizeof(path), "%s/starvation-%s.json", results, stamp);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fprintf(fp, "{\"mean_mbps\":%.0f,\"drive_mbps\":%.0f,"
			    "\"drive_buffer_mib\":%u,\"tool_memory_mib\":%llu,"
			    "\"results\":[", mean_mbps, drive_mbps, drive_buf_mib,
			    (unsigned long long)((opt_bs * opt_depth) >> 20));
			for (size_t b = 0; b < ARRAY_SIZE(bursts); b++)
				for (size_t t = 0; t < ARRAY_SIZE(tools); t++)
					fprintf(fp, "%s{\"burst\":\"%s\",\"tool\":\"%s\","
					    "\"underruns\":%.0f,\"mbps\":%.1f}",
					    b || t ? "," : "", blabels[b], tools[t],
					    under_v[b][t], rate_v[b][t]);
			fprintf(fp, "]}\n");
			fclose(fp);
		}
		snprintf(path, sizeof(path), "%s/starvation-%s.svg", results, stamp);
		svg_chart(path, "Drive underruns by source burst size (lower is "
		    "better)", under_v, "Rate the drive achieved, MB/s", rate_v,
		    blabels, 4, tools, 4);
	}
}

/* The end-of-tape set: interleaved runs, medians. */
static void
eot_bench(const char *results)
{
	static const char *names[] = { "one cartridge, no spot verify",
	    "one cartridge, spot verify 1%", "spanning ~5 cartridges, verify 1%" };
	double mbps[3][MAX_RUNS], vs[3][MAX_RUNS], hs[3][MAX_RUNS];
	unsigned ho[3] = { 0 };
	int n[3] = { 0 };

	printf("abs-bench --eot: %llu MiB per run, %u runs, work dir %s\n",
	    (unsigned long long)(opt_size >> 20), opt_runs, workdir);
	for (unsigned run = 0; run < opt_runs; run++)
		for (int k = 0; k < 3; k++) {
			struct eot_run er = { 0 };
			if (eot_once(k, &er) < 0)
				continue;
			mbps[k][n[k]] = opt_size / er.secs / 1e6;
			vs[k][n[k]] = er.vsecs;
			hs[k][n[k]] = er.handovers ? er.hsecs / er.handovers : 0;
			ho[k] = er.handovers;
			n[k]++;
			fprintf(stderr, "  run %u %-34s %8.1f MB/s verify %.3f s, "
			    "%u hand-overs %.3f s\n", run + 1, names[k],
			    opt_size / er.secs / 1e6, er.vsecs, er.handovers, er.hsecs);
		}
	printf("\n%-34s %10s %12s %10s %16s\n", "case", "MB/s", "verify s",
	    "hand-overs", "s per hand-over");
	for (int k = 0; k < 3; k++)
		printf("%-34s %10.1f %12.3f %10u %16.4f\n", names[k],
		    median(mbps[k], n[k]), median(vs[k], n[k]), ho[k],
		    median(hs[k], n[k]));
	if (n[0] && n[1] && n[2])
		printf("\nspot-verify cost: %.1f%% of throughput; spanning vs one "
		    "cartridge: %.2f of the throughput\n",
		    100.0 * (1 - median(mbps[1], n[1]) / median(mbps[0], n[0])),
		    median(mbps[2], n[2]) / median(mbps[1], n[1]));
	(void)results;
}

/*
 * Several drives of one library: N drives of one vtape library dumping at
 * once, each its own abs-engine in direct mode on its own cartridge, all
 * reading the same file (in the page cache, so that no generator competes
 * for the CPU), against N dd writing N files in the same directory (the
 * host's disk write bandwidth for N writers). Wall time from the first
 * start to the last exit; CPU is user+sys of the N tools (wait4); the
 * host's busy cores come from /proc/stat (everything running, the
 * machine's other users included).
 */
#define MAX_DRIVES 16

/* Busy and total jiffies of all CPUs, from /proc/stat's first line. */
static int
host_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *fp = fopen("/proc/stat", "r");
	int n;

	if (!fp)
		return -1;
	n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(fp);
	if (n < 5)
		return -1;
	*total = 0;
	for (int i = 0; i < 8; i++)	/* guest time is already in user */
		*total += v[i];
	*busy = *total - v[3] - v[4];	/* less idle and iowait */
	return 0;
}

struct drives_run {
	double secs, cpu, sys, host_cores;
};

/*
 * Start cmds[0..n-1] at once (sh -c each), wait for all; wall time to the
 * last exit, CPU of them all, the host's busy cores meanwhile.
 */
static int
run_parallel(char cmds[][4 * PATH_MAX], int n, struct drives_run *r)
{
	pid_t pids[MAX_DRIVES];
	unsigned long long b0, t0j, b1, t1j;
	int bad = 0, hj;
	double t0;

	r->cpu = r->sys = 0;
	hj = host_jiffies(&b0, &t0j);
	t0 = now();
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return -errno;
		if (pids[i] == 0) {
			int dn = open("/dev/null", O_RDWR);
			dup2(dn, 0);
			dup2(dn, 1);
			execl("/bin/sh", "sh", "-c", cmds[i], (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < n; i++) {
		struct rusage ru;
		int status;
		if (wait4(pids[i], &status, 0, &ru) < 0)
			return -errno;
		r->sys += ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		r->cpu += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "abs-bench: failed: %s\n", cmds[i]);
			bad = 1;
		}
	}
	r->secs = now() - t0;
	r->host_cores = 0;
	if (hj == 0 && host_jiffies(&b1, &t1j) == 0 && t1j > t0j) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		r->host_cores = (double)(b1 - b0) / (double)(t1j - t0j) *
		    (ncpu > 0 ? ncpu : 1);
	}
	return bad ? -EIO : 0;
}

/* The drive counts of --drives, 1 first if not given: ratios are to it. */
static int drive_ns[8], drive_nn;

static void
parse_drives(const char *list)
{
	char tmp[256];
	int has1 = 0;

	snprintf(tmp, sizeof(tmp), "%s", list);
	drive_nn = 0;
	for (char *s = strtok(tmp, ","); s; s = strtok(NULL, ",")) {
		uint64_t v;
		if (util_parse_u64(s, MAX_DRIVES, &v) < 0 || !v)
			die("--drives takes numbers 1..%d, e.g. 1,2,4", MAX_DRIVES);
		if (drive_nn == 7)
			die("--drives: 7 counts at most");
		drive_ns[drive_nn++] = (int)v;
		has1 |= v == 1;
	}
	if (!drive_nn)
		die("--drives takes numbers 1..%d, e.g. 1,2,4", MAX_DRIVES);
	if (!has1) {
		memmove(drive_ns + 1, drive_ns, sizeof(int) * (size_t)drive_nn);
		drive_ns[0] = 1;
		drive_nn++;
	}
}

static void
drives_bench(const char *results)
{
	const int *ns = drive_ns, nn = drive_nn;
	char src[PATH_MAX + 16], sh[4 * PATH_MAX];
	static const char *tools[] = { "engine", "dd" };
	double mbps[8][2][MAX_RUNS], cpugb[8][2][MAX_RUNS];
	double cores[8][2][MAX_RUNS], host[8][2][MAX_RUNS], sysf[8][2][MAX_RUNS];
	int nr[8][2] = { { 0 } };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	xsnprintf(src, sizeof(src), "%s/source.bin", workdir);
	xsnprintf(sh, sizeof(sh), "head -c %llu /dev/urandom > '%s' && cat '%s' "
	    ">/dev/null", (unsigned long long)opt_size, src, src);
	if (system(sh) != 0)
		die("cannot write %s", src);
	char load[64] = "?";
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fgets(load, sizeof(load), la))
			load[strcspn(load, " ")] = '\0';
		fclose(la);
	}
	printf("abs-bench --drives: %llu MiB per drive from one file in the page "
	    "cache, block %llu KiB, depth %u, %u runs, %ld cores (load %s), work "
	    "dir %s\n", (unsigned long long)(opt_size >> 20),
	    (unsigned long long)(opt_bs >> 10), opt_depth, opt_runs, ncpu, load,
	    workdir);
	fflush(stdout);
	for (unsigned run = 0; run < opt_runs; run++)
		for (int i = 0; i < nn; i++)
			for (int t = 0; t < 2; t++) {
				int n = ns[i];
				char cmds[MAX_DRIVES][4 * PATH_MAX];
				struct drives_run r = { 0 };
				/* The library (or dd's files) made before the clock. */
				if (t == 0) {
					xsnprintf(sh, sizeof(sh), "rm -rf '%s/lib' '%s'/dd* && "
					    "'%s/abs-vtape' new-library '%s/lib' --slots %d "
					    "--drives %d --capacity %llu >/dev/null", workdir,
					    workdir, bindir, workdir, n, n,
					    (unsigned long long)(opt_size + (opt_size >> 3) +
					    (64u << 20)));
					for (int k = 0; k < n; k++) {
						size_t l = strlen(sh);
						xsnprintf(sh + l, sizeof(sh) - l, " && '%s/abs-vtape' "
						    "load '%s/lib' --slot %d --drive %d && "
						    "'%s/abs-engine' label --device 'vtape:%s/lib/drive%d'"
						    " --label D%05d >/dev/null", bindir, workdir, k + 1,
						    k, bindir, workdir, k, k + 1);
					}
				} else {
					xsnprintf(sh, sizeof(sh), "rm -rf '%s/lib' '%s'/dd*",
					    workdir, workdir);
				}
				/* Writeback of the last case is not this one's cost. */
				if (system(sh) != 0 || system("sync") != 0) {
					fprintf(stderr, "abs-bench: set-up failed: %s\n", sh);
					continue;
				}
				for (int k = 0; k < n; k++) {
					if (t == 0)
						xsnprintf(cmds[k], sizeof(cmds[k]), "'%s/abs-engine' "
						    "dump --device 'vtape:%s/lib/drive%d' --entity d%d "
						    "--source 'file:%s' --log '%s/d%d.log' --label D%05d "
						    "--block-size %llu --depth %u --quiet 2>'%s/d%d.err' "
						    "|| { cat '%s/d%d.err' >&2; exit 1; }", bindir,
						    workdir, k, k, src, workdir, k, k + 1,
						    (unsigned long long)opt_bs, opt_depth, workdir, k,
						    workdir, k);
					else
						xsnprintf(cmds[k], sizeof(cmds[k]), "dd if='%s' "
						    "of='%s/dd%d' bs=%llu conv=fsync status=none", src,
						    workdir, k, (unsigned long long)opt_bs);
				}
				if (run_parallel(cmds, n, &r) < 0)
					continue;
				double bytes = (double)opt_size * n;
				int j = nr[i][t]++;
				mbps[i][t][j] = bytes / r.secs / 1e6;
				cpugb[i][t][j] = r.cpu / (bytes / 1e9);
				cores[i][t][j] = r.cpu / r.secs;
				host[i][t][j] = r.host_cores;
				sysf[i][t][j] = r.cpu > 0 ? r.sys / r.cpu : 0;
				fprintf(stderr, "  run %u %d drive%s %-6s %8.1f MB/s %6.3f CPU "
				    "s/GB %4.2f cores (host %4.2f)\n", run + 1, n,
				    n > 1 ? "s" : " ", tools[t], mbps[i][t][j], cpugb[i][t][j],
				    cores[i][t][j], host[i][t][j]);
			}
	double m[8][2], c[8][2], k[8][2], h[8][2], y[8][2];
	for (int i = 0; i < nn; i++)
		for (int t = 0; t < 2; t++) {
			m[i][t] = median(mbps[i][t], nr[i][t]);
			c[i][t] = median(cpugb[i][t], nr[i][t]);
			k[i][t] = median(cores[i][t], nr[i][t]);
			h[i][t] = median(host[i][t], nr[i][t]);
			y[i][t] = median(sysf[i][t], nr[i][t]);
		}
	printf("\nmedians of %u runs; MB/s is the aggregate of all drives\n"
	    "%-6s %-6s %9s %9s %9s %9s %5s %7s %7s\n", opt_runs, "drives", "tool",
	    "MB/s", "per drive", "x 1 drive", "CPU s/GB", "sys", "cores", "host");
	for (int i = 0; i < nn; i++)
		for (int t = 0; t < 2; t++)
			printf("%-6d %-6s %9.1f %9.1f %9.2f %9.3f %4.0f%% %7.2f %7.2f\n",
			    ns[i], tools[t], m[i][t], m[i][t] / ns[i],
			    m[0][t] > 0 ? m[i][t] / m[0][t] : 0, c[i][t], 100 * y[i][t],
			    k[i][t], h[i][t]);
	/*
	 * The limit: the disk when the engines reach what N dd get from it;
	 * the CPU when the host's cores are (nearly) all busy meanwhile. The
	 * nearer to saturation of the two is named; neither above 85%: none.
	 */
	printf("\n(sys: the kernel's share of the tools' CPU; cores: the tools' "
	    "CPU seconds per wall second; host: busy cores of the whole machine "
	    "meanwhile, out of %ld)\n", ncpu);
	for (int i = 0; i < nn; i++) {
		if (!nr[i][0] || !nr[i][1])
			continue;
		double disk = m[i][0] / m[i][1];
		double cpu = h[i][0] / (ncpu > 0 ? ncpu : 1);
		const char *lim = disk >= cpu ? "disk" : "CPU";
		if (disk < 0.85 && cpu < 0.85)
			lim = "neither disk nor CPU";
		printf("%d drive%s: engines at %.0f%% of %d dd's %.0f MB/s (disk), "
		    "host %.2f of %ld cores busy (CPU: engines %.2f, other "
		    "processes %.2f): limit %s\n", ns[i], ns[i] > 1 ? "s" : "",
		    100 * disk, ns[i], m[i][1], h[i][0], ncpu, k[i][0],
		    h[i][0] > k[i][0] ? h[i][0] - k[i][0] : 0, lim);
	}
	if (results) {
		char path[PATH_MAX + 64], stamp[32];
		time_t now_t = time(NULL);
		mkdir(results, 0755);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now_t));
		snprintf(path, sizeof(path), "%s/drives-%s.json", results, stamp);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fprintf(fp, "{\"size_per_drive\":%llu,\"runs\":%u,\"nproc\":%ld,"
			    "\"results\":[", (unsigned long long)opt_size, opt_runs, ncpu);
			for (int i = 0; i < nn; i++)
				for (int t = 0; t < 2; t++)
					fprintf(fp, "%s{\"drives\":%d,\"tool\":\"%s\",\"mbps\":%.1f,"
					    "\"cpu_s_per_gb\":%.3f,\"sys_share\":%.2f,"
					    "\"cores\":%.2f,\"host_cores\":%.2f}", i || t ? "," :
					    "", ns[i], tools[t], m[i][t], c[i][t], y[i][t], k[i][t],
					    h[i][t]);
			fprintf(fp, "]}\n");
			fclose(fp);
			printf("\nresults: %s\n", path);
		}
	}
}

/*
 * A grouped bar chart as SVG: one group per x label, one bar per series,
 * values v[group][series]. Plain SVG 1.1, readable by any browser.
 */
static void
svg_panel(FILE *fp, int x0, int y0, int w, int h, const char *title,
    const char **groups, int ng, const char **series, int ns,
    double v[][8])
{
	static const char *colors[] = { "#1f77b4", "#ff7f0e", "#2ca02c",
	    "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f" };
	double max = 0;

	for (int g = 0; g < ng; g++)
		for (int s = 0; s < ns; s++)
			if (v[g][s] > max)
				max = v[g][s];
	if (max <= 0)
		max = 1;
	fprintf(fp, "<text x='%d' y='%d' font-size='14' font-weight='bold'>%s"
	    "</text>\n", x0, y0 - 8, title);
	fprintf(fp, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n",
	    x0, y0 + h, x0 + w, y0 + h);
	int gw = w / (ng ? ng : 1), bw = (gw - 20) / (ns ? ns : 1);
	for (int g = 0; g < ng; g++) {
		int gx = x0 + g * gw + 10;
		for (int s = 0; s < ns; s++) {
			int bh = (int)(v[g][s] / max * (h - 20));
			fprintf(fp, "<rect x='%d' y='%d' width='%d' height='%d' "
			    "fill='%s'><title>%s %s: %.3g</title></rect>\n",
			    gx + s * bw, y0 + h - bh, bw - 2, bh, colors[s % 8],
			    groups[g], series[s], v[g][s]);
			fprintf(fp, "<text x='%d' y='%d' font-size='9' "
			    "text-anchor='middle'>%.3g</text>\n", gx + s * bw + bw / 2,
			    y0 + h - bh - 3, v[g][s]);
		}
		fprintf(fp, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>"
		    "%s</text>\n", gx + (ns * bw) / 2, y0 + h + 16, groups[g]);
	}
	for (int s = 0; s < ns; s++)
		fprintf(fp, "<rect x='%d' y='%d' width='10' height='10' fill='%s'/>"
		    "<text x='%d' y='%d' font-size='11'>%s</text>\n", x0 + w + 10,
		    y0 + s * 16, colors[s % 8], x0 + w + 24, y0 + s * 16 + 9,
		    series[s]);
}

/* Write a two-panel chart (same groups and series) to path. */
static void
svg_chart(const char *path, const char *t1, double v1[][8], const char *t2,
    double v2[][8], const char **groups, int ng, const char **series, int ns)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		return;
	fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='900' "
	    "height='560' font-family='sans-serif'>\n"
	    "<rect width='900' height='560' fill='white'/>\n");
	svg_panel(fp, 40, 40, 700, 200, t1, groups, ng, series, ns, v1);
	svg_panel(fp, 40, 310, 700, 200, t2, groups, ng, series, ns, v2);
	fprintf(fp, "</svg>\n");
	fclose(fp);
	printf("chart: %s\n", path);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
	double s[MAX_RUNS];

	if (n == 0)
		return 0;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Does a peer tool exist on this machine? */
static int
have(const char *tool)
{
	char cmd[128];

	if (strncmp(tool, "engine", 6) == 0 || strcmp(tool, "uring") == 0)
		return 1;
	if (strcmp(tool, "base") == 0)
		return base_bindir != NULL;
	if (strcmp(tool, "tarcat") == 0 || strcmp(tool, "tarmbuffer") == 0)
		tool = strcmp(tool, "tarcat") == 0 ? "tar" : "mbuffer";
	if (strcmp(tool, "dd-direct") == 0)
		tool = "dd";
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static const char usage[] =
"usage: abs-bench [--size SIZE] [--runs N] [--block-size N] [--depth N]\n"
"                 [--sinks null,vtape] [--tools engine,dd,mbuffer,cat]\n"
"                 [--dir DIR] [--results DIR] [--standard] [--eot]\n"
"                 [--source random|text|file|dir:PATH] [--cold]\n"
"--cold: sync and drop the page cache before each run (root; else warm).\n"
"--baseline BINDIR: tool \"base\" runs BINDIR/abs-engine (another build).\n"
"Tools: engine, engine-direct, engine-cache (file: --direct-io on/off),\n"
"  base, dd, dd-direct, mbuffer, cat, uring, zstd; for dir: tar (to\n"
"  /dev/null GNU tar reads no file data), tarcat, tarmbuffer.\n"
"--compress[=LEVELS] [--source dir:PATH] [--runs N] [--cold]: the engine's\n"
"  zstd on one thread (T0), with 1 worker and one a core, against tar |\n"
"  zstd --single-thread, -T1 and -T0, from the tree (default\n"
"  /usr/share/doc) and from one tar file of it, at each level (default\n"
"  1,3,9): MB/s, CPU s/GB, ratios, stored/raw.\n"
"--make-tree DIR [--files N]: write the generated tree of N files (default\n"
"  200000) of mixed sizes (70% under 4 KiB, 0.2% 256 KiB-2 MiB; 2.8 GB)\n"
"  for --source dir:.\n"
"--eot: end-of-tape hand-over time, spot-verify cost, spanning throughput.\n"
"--single-file [--size SIZE] [--sinks vtape,iscsi]: one small file restored\n"
"  from the end of a dir dump of SIZE (default 2G), plain and zstd: blocks,\n"
"  bytes and seconds of restore --path, of the whole dump and of dd | tar -x\n"
"  (bench/single-file.sh; iscsi: a private tgtd as bench/iscsi.sh).\n"
"--peers [--tree DIR] [--runs N] [--systems abs,ctld,amanda,bacula]\n"
"  [--results DIR]: the same full backup, restore, incremental and restore\n"
"  of the chain of one tree (default: a copy of /usr/lib/x86_64-linux-gnu\n"
"  and /usr/share/doc) by ABS (direct and through abs-ctld), Amanda and\n"
"  Bacula, each set up in a temporary directory (bench/peers/; installs\n"
"  the peers with tools/deps.sh peers; root): wall, CPU of every process\n"
"  of each system, peak memory, tape bytes, restores checked, ratios.\n"
"--planner [--entities N] [--nights N] [--seed S] [--seeds N] [--runs N]:\n"
"  ABS's planner against an Amanda-style baseline over a simulated site\n"
"  (balance, overdue, window and limit violations; --seeds N: N sites, one\n"
"  line each), and the time to plan 100,000 entities (median of --runs, 5).\n"
"--drives 1,2,4 [--size SIZE] [--runs N]: N drives of one vtape library\n"
"  dumping at once (an engine each, SIZE each, one file in the page cache)\n"
"  against N dd to files beside them: aggregate MB/s, CPU s/GB, cores busy,\n"
"  the ratio to one drive, and whether disk or CPU was the limit.\n"
"--via-ctld [--source dir:TREE] [--runs N] [--dir DIR]: the same full dump\n"
"  of TREE (default /usr/lib/x86_64-linux-gnu) direct and through abs-ctld\n"
"  and a media server, interleaved: wall, CPU, ratios (bench/via-ctld.sh).\n"
"--hosts N [--size SIZE] [--dir DIR]: N media servers in network namespaces\n"
"  (hosts B and C) reporting to one abs-ctld (host A), over TLS when it has\n"
"  --listen: registrations/s, a dump on every drive at once, events/s,\n"
"  abs-ctld's CPU and memory (bench/hosts.sh; root).\n"
"--sums [--runs N]: the per-byte work alone, GB/s of one core: memcpy,\n"
"  each CRC32C and XXH3 variant, the block sums in separate passes and in\n"
"  one (bench/sum_bench.c).\n"
"--small-dumps N [--drive-rate MBPS] [--drive-buffer MIB] [--via-ctld]: N\n"
"  dumps of 100 KiB to 10 MiB: tape bytes per dump and a drive model's time\n"
"  (synchronous filemarks, back-hitches) for ABS with commit points, ABS as\n"
"  before (version 1, a synchronous filemark per dump), Amanda-style (a 32\n"
"  KiB header per dump) and one tar of everything (bench/small-dumps.sh);\n"
"  --via-ctld: also as N dump jobs through abs-ctld and a media server,\n"
"  with shared commit points and with one per dump.\n"
"--archive [--seconds S] [--files-per-sec N] [--file-sizes MIN-MAX]\n"
"  [--rates MBPS,...] [--drive-rate MBPS] [--drive-min MBPS --drive-steps N]\n"
"  [--drive-buffer MIB] [--dir DIR]: a producer adding N files/s (default\n"
"  200, log-uniform 1-10 MB) to an archive queue for S s (default 30) while\n"
"  abs-engine archive writes them to a drive model (default 400 MB/s,\n"
"  speed matching down to 177, 1 GiB buffer) and abs-queue scrub deletes\n"
"  what is done (data in DIR, default /dev/shm); --rates: a run per\n"
"  producer mean rate, the sizes scaled. Rates, underruns, queue lag, CPU.\n"
"--starvation [--mean-rate MBPS] [--drive-rate MBPS] [--drive-buffer MIB]\n"
"  [--drive-min MBPS --drive-steps N] (speed matching, e.g. LTO-9 400..177):\n"
"  a bursty source through each tool into a drive model; underruns counted.\n"
"Runs each tool on each sink with a generated incompressible stream of SIZE\n"
"(default 1G), interleaved, N runs each (default 3), medians reported.\n";

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'd' },
		{ "sinks", required_argument, NULL, 'k' },
		{ "tools", required_argument, NULL, 't' },
		{ "dir", required_argument, NULL, 'D' },
		{ "results", required_argument, NULL, 'R' },
		{ "standard", no_argument, NULL, 'S' },
		{ "eot", no_argument, NULL, 'E' },
		{ "starvation", no_argument, NULL, 'V' },
		{ "single-file", no_argument, NULL, 'F' },
		{ "source", required_argument, NULL, 'O' },
		{ "uring-write", required_argument, NULL, 'U' },
		{ "mean-rate", required_argument, NULL, 'M' },
		{ "drive-rate", required_argument, NULL, 'W' },
		{ "drive-buffer", required_argument, NULL, 'B' },
		{ "drive-min", required_argument, NULL, 'N' },
		{ "drive-steps", required_argument, NULL, 'P' },
		{ "planner", no_argument, NULL, 'L' },
		{ "entities", required_argument, NULL, 'n' },
		{ "nights", required_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 'e' },
		{ "seeds", required_argument, NULL, 'G' },
		{ "drives", required_argument, NULL, 'X' },
		{ "compress", optional_argument, NULL, 'z' },
		{ "cold", no_argument, NULL, 'c' },
		{ "make-tree", required_argument, NULL, 'T' },
		{ "files", required_argument, NULL, 'f' },
		{ "sums", no_argument, NULL, 1001 },
		{ "baseline", required_argument, NULL, 'a' },
		{ "via-ctld", no_argument, NULL, 1002 },
		{ "hosts", required_argument, NULL, 2101 },
		{ "small-dumps", required_argument, NULL, 'Q' },
		{ "peers", no_argument, NULL, 2001 },
		{ "tree", required_argument, NULL, 2002 },
		{ "systems", required_argument, NULL, 2003 },
		{ "archive", no_argument, NULL, 2201 },
		{ "seconds", required_argument, NULL, 2202 },
		{ "files-per-sec", required_argument, NULL, 2203 },
		{ "file-sizes", required_argument, NULL, 2204 },
		{ "rates", required_argument, NULL, 2205 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char sinks_s[256] = "null,vtape",
	    tools_s[256] = "engine,dd,mbuffer,cat,uring";
	const char *results = NULL, *dir = NULL;
	const char *sinks[8], *tools[8];
	int nsinks = 0, ntools = 0, c;
	struct result res[64];
	int nres = 0, eot = 0, starve = 0, tools_given = 0;
	int planner = 0, runs_given = 0, p_entities = 0, p_nights = 0;
	int single = 0, size_given = 0, sinks_given = 0, sums = 0, via = 0;
	unsigned small_n = 0;	/* --small-dumps N */
	int drive_given = 0, dbuf_given = 0;
	uint64_t p_seed = 0;
	int p_seeds = 1;
	const char *uring_path = NULL, *drives_list = NULL;
	const char *peers_tree = NULL, *peers_systems = NULL;
	int peers = 0;
	unsigned hosts_n = 0;	/* --hosts N */
	int archive = 0, dmin_given = 0, dsteps_given = 0;
	struct archive_bench_opts ab = { .seconds = 30, .files_per_sec = 200,
	    .min_mb = 1, .max_mb = 10, .max_gib = 4 };
	double ab_rates[32];
	double mean = 250, drive = 177;
	unsigned dbuf = 64;
	uint64_t v;
	char exe[PATH_MAX];
	const char *zlevels = NULL, *make_tree = NULL;
	int zbench = 0;
	unsigned long tree_files = 200000;

	log_init("abs-bench", LOG_LVL_WARN, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (util_parse_size(optarg, &opt_size) < 0 || !opt_size)
				die("--size: bad size");
			size_given = 1;
			break;
		case 'r':
			if (util_parse_u64(optarg, MAX_RUNS, &v) < 0 || !v)
				die("--runs takes 1..%d", MAX_RUNS);
			opt_runs = (unsigned)v;
			runs_given = 1;
			break;
		case 'b':
			if (util_parse_size(optarg, &opt_bs) < 0)
				die("--block-size: bad size");
			break;
		case 'd':
			if (util_parse_u64(optarg, 256, &v) < 0 || !v)
				die("--depth takes 1..256");
			opt_depth = (unsigned)v;
			break;
		case 'k':
			snprintf(sinks_s, sizeof(sinks_s), "%s", optarg);
			sinks_given = 1;
			break;
		case 't':
			snprintf(tools_s, sizeof(tools_s), "%s", optarg);
			tools_given = 1;
			break;
		case 'D': dir = optarg; break;
		case 'R': results = optarg; break;
		case 'S': break;	/* the defaults are the standard set */
		case 'E': eot = 1; break;
		case 'V': starve = 1; break;
		case 'F': single = 1; break;
		case 'O': opt_source = optarg; break;
		case 'U': uring_path = optarg; break;
		case 'M': mean = atof(optarg); break;
		case 'W': drive = atof(optarg); drive_given = 1; break;
		case 'B': dbuf = (unsigned)atoi(optarg); dbuf_given = 1; break;
		case 'N': drive_min_mbps = atof(optarg); dmin_given = 1; break;
		case 'P': drive_steps = atoi(optarg); dsteps_given = 1; break;
		case 2201: archive = 1; break;
		case 2202:
			ab.seconds = atof(optarg);
			if (!(ab.seconds >= 1 && ab.seconds <= 3600))
				die("--seconds takes 1..3600");
			break;
		case 2203:
			ab.files_per_sec = atof(optarg);
			if (!(ab.files_per_sec > 0 && ab.files_per_sec <= 100000))
				die("--files-per-sec takes a number above 0, to 100000");
			break;
		case 2204:
			if (sscanf(optarg, "%lf-%lf", &ab.min_mb, &ab.max_mb) != 2 ||
			    !(ab.min_mb > 0 && ab.max_mb > ab.min_mb &&
			    ab.max_mb <= 10000))
				die("--file-sizes takes MIN-MAX in MB, e.g. 1-10");
			break;
		case 2205: {
			char *p = optarg, *end;
			ab.nrates = 0;
			for (;;) {
				double rv = strtod(p, &end);
				if (end == p || !(rv > 0) || ab.nrates == 32)
					die("--rates takes up to 32 rates in MB/s, e.g. "
					    "100,170,190,300");
				ab_rates[ab.nrates++] = rv;
				if (*end != ',')
					break;
				p = end + 1;
			}
			if (*end)
				die("--rates takes up to 32 rates in MB/s, e.g. "
				    "100,170,190,300");
			ab.rates = ab_rates;
			break;
		}
		case 'L': planner = 1; break;
		case 'n':
			if (util_parse_u64(optarg, 10000000, &v) < 0 || !v)
				die("--entities takes 1..10000000");
			p_entities = (int)v;
			break;
		case 'g':
			if (util_parse_u64(optarg, 400, &v) < 0 || v < 3)
				die("--nights takes 3..400");
			p_nights = (int)v;
			break;
		case 'e':
			if (util_parse_u64(optarg, UINT64_MAX, &p_seed) < 0)
				die("--seed: bad number");
			break;
		case 'G':
			if (util_parse_u64(optarg, 100, &v) < 0 || !v)
				die("--seeds takes 1..100");
			p_seeds = (int)v;
			break;
		case 'X': drives_list = optarg; parse_drives(optarg); break;
		case 'z': zbench = 1; zlevels = optarg; break;
		case 'c': opt_cold = 1; break;
		case 'a': base_bindir = optarg; break;
		case 'T': make_tree = optarg; break;
		case 'f':
			if (util_parse_u64(optarg, 100000000, &v) < 0 || !v)
				die("--files takes 1..100000000");
			tree_files = (unsigned long)v;
			break;
		case 1001: sums = 1; break;
		case 1002: via = 1; break;
		case 'Q':
			if (util_parse_u64(optarg, 100000, &v) < 0 || !v)
				die("--small-dumps takes 1..100000 dumps");
			small_n = (unsigned)v;
			break;
		case 2101:
			if (util_parse_u64(optarg, 1000, &v) < 0 || v < 2)
				die("--hosts takes 2..1000 media servers");
			hosts_n = (unsigned)v;
			break;
		case 2001: peers = 1; break;
		case 2002: peers_tree = optarg; break;
		case 2003: peers_systems = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (uring_path)
		return uring_write(uring_path);
	if (make_tree) {
		sb_make_tree(make_tree, tree_files);
		return 0;
	}
	if (sums)
		return sum_bench(runs_given ? opt_runs : 5);
	if (planner)
		return plan_bench(p_entities, p_nights, runs_given ?
		    (int)opt_runs : 5, p_seed, p_seeds);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		die("cannot find my own directory");
	exe[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", dirname(exe));
	if (archive) {
		ab.bindir = bindir;
		ab.dir = dir;
		ab.results = results;
		ab.drive_mbps = drive_given ? drive : 400;
		ab.drive_min_mbps = dmin_given ? drive_min_mbps : 177;
		ab.drive_steps = dsteps_given ? drive_steps : 14;
		ab.drive_buf_mib = dbuf_given ? dbuf : 1024;
		return archive_bench(&ab);
	}
	if (via && !small_n) {
		/* Direct against abs-ctld + a media server: bench/via-ctld.sh. */
		char script[PATH_MAX + 64], build[PATH_MAX + 8], runs[16];
		const char *tree = strncmp(opt_source, "dir:", 4) == 0 ?
		    opt_source + 4 : "/usr/lib/x86_64-linux-gnu";
		snprintf(build, sizeof(build), "%s/..", bindir);
		snprintf(script, sizeof(script), "%s/bench/via-ctld.sh",
		    getenv("ABS_TOP") ? getenv("ABS_TOP") : "");
		if (!getenv("ABS_TOP"))
			snprintf(script, sizeof(script), "%s/../../bench/via-ctld.sh",
			    bindir);
		snprintf(runs, sizeof(runs), "%u", opt_runs);
		execl("/bin/sh", "sh", script, build, tree, runs, dir ? dir :
		    (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"), (char *)NULL);
		die("%s: %s", script, strerror(errno));
	}
	if (hosts_n) {
		/* Namespaces, daemons and certificates: bench/hosts.sh. */
		char script[PATH_MAX + 64], build[PATH_MAX + 8], ns[16], mib[32];
		snprintf(build, sizeof(build), "%s/..", bindir);
		snprintf(script, sizeof(script), "%s/../../bench/hosts.sh", bindir);
		if (getenv("ABS_TOP"))
			snprintf(script, sizeof(script), "%s/bench/hosts.sh",
			    getenv("ABS_TOP"));
		snprintf(ns, sizeof(ns), "%u", hosts_n);
		snprintf(mib, sizeof(mib), "%llu", size_given ? (unsigned long long)
		    ((opt_size + (1 << 20) - 1) >> 20) : 4ULL);
		execl("/bin/sh", "sh", script, build, ns, dir ? dir :
		    (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"), "2000", mib,
		    (char *)NULL);
		die("%s: %s", script, strerror(errno));
	}
	if (small_n) {
		/* A script: dump --batch as a user runs it, then the drive model. */
		char script[PATH_MAX + 64], build[PATH_MAX + 8], ns[16], rs[32], bs[32];
		snprintf(build, sizeof(build), "%s/..", bindir);
		snprintf(script, sizeof(script), "%s/../../bench/small-dumps.sh",
		    bindir);
		if (getenv("ABS_TOP"))
			snprintf(script, sizeof(script), "%s/bench/small-dumps.sh",
			    getenv("ABS_TOP"));
		snprintf(ns, sizeof(ns), "%u", small_n);
		snprintf(rs, sizeof(rs), "%g", drive_given ? drive : 400.0);
		snprintf(bs, sizeof(bs), "%u", dbuf_given ? dbuf : 1024u);
		if (dir)
			setenv("TMPDIR", dir, 1);
		if (via)	/* also through abs-ctld: SMALL_VIA_CTLD rows */
			setenv("SMALL_VIA_CTLD", "1", 1);
		execl("/bin/sh", "sh", script, build, ns, rs, bs, (char *)NULL);
		die("%s: %s", script, strerror(errno));
	}
	if (peers_tree && !peers)
		die("--tree goes with --peers");
	if (peers) {
		/* Amanda and Bacula set up and driven as their users do: shell. */
		char script[PATH_MAX + 64], build[PATH_MAX + 8], nruns[16];
		const char *av[16];
		int ac = 0;
		snprintf(build, sizeof(build), "%s/..", bindir);
		if (getenv("ABS_TOP"))
			snprintf(script, sizeof(script), "%s/bench/peers/run.sh",
			    getenv("ABS_TOP"));
		else
			snprintf(script, sizeof(script), "%s/../../bench/peers/run.sh",
			    bindir);
		snprintf(nruns, sizeof(nruns), "%u", opt_runs);
		av[ac++] = "sh";
		av[ac++] = script;
		av[ac++] = build;
		av[ac++] = "--runs";
		av[ac++] = nruns;
		if (peers_tree) {
			av[ac++] = "--tree";
			av[ac++] = peers_tree;
		}
		if (peers_systems) {
			av[ac++] = "--systems";
			av[ac++] = peers_systems;
		}
		if (results) {
			av[ac++] = "--results";
			av[ac++] = results;
		}
		if (dir) {
			av[ac++] = "--dir";
			av[ac++] = dir;
		}
		av[ac] = NULL;
		execv("/bin/sh", (char *const *)av);
		die("%s: %s", script, strerror(errno));
	}
	if (single) {
		/* A script of shell steps: the engine's commands as a user runs them. */
		char script[PATH_MAX + 64], build[PATH_MAX + 8], mib[32];
		snprintf(build, sizeof(build), "%s/..", bindir);
		snprintf(script, sizeof(script), "%s/bench/single-file.sh",
		    getenv("ABS_TOP") ? getenv("ABS_TOP") : "");
		if (!getenv("ABS_TOP"))
			snprintf(script, sizeof(script), "%s/../../bench/single-file.sh",
			    bindir);
		snprintf(mib, sizeof(mib), "%llu", size_given ?
		    (unsigned long long)(opt_size >> 20) : 2048ULL);
		if (dir)
			setenv("TMPDIR", dir, 1);
		execl("/bin/sh", "sh", script, build, mib, sinks_given ? sinks_s :
		    "vtape,iscsi", (char *)NULL);
		die("%s: %s", script, strerror(errno));
	}
	snprintf(workdir, sizeof(workdir), "%s/abs-bench.XXXXXX",
	    dir ? dir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"));
	if (!mkdtemp(workdir))
		die("mkdtemp %s: %s", workdir, strerror(errno));
	if (strcmp(opt_source, "text") == 0) {
		gen_text = 1;
		if (!tools_given)
			snprintf(tools_s, sizeof(tools_s), "engine,zstd,mbuffer,dd");
	} else if (strcmp(opt_source, "file") == 0) {
		/* A file on disk, written once, read by every tool. */
		char gen[2 * PATH_MAX];
		xsnprintf(src_path, sizeof(src_path), "%s/source.bin", workdir);
		snprintf(gen, sizeof(gen), "head -c %llu /dev/urandom > '%s'",
		    (unsigned long long)opt_size, src_path);
		if (system(gen) != 0)
			die("cannot write %s", src_path);
		gen_none = 1;
	} else if (strncmp(opt_source, "dir:", 4) == 0) {
		/* A directory tree: the engine's pax against GNU tar. */
		char du[2 * PATH_MAX];
		snprintf(src_path, sizeof(src_path), "%s", opt_source + 4);
		snprintf(du, sizeof(du), "find '%s' -type f -printf '%%s\\n' | "
		    "awk '{s += $1} END {printf \"%%.0f\\n\", s}'", src_path);
		FILE *p = popen(du, "r");
		unsigned long long total = 0;
		if (!p || fscanf(p, "%llu", &total) != 1 || !total)
			die("%s: not a readable directory tree", src_path);
		pclose(p);
		opt_size = total;
		gen_none = 1;
		if (!tools_given)
			snprintf(tools_s, sizeof(tools_s), "engine,tar");
	} else if (strcmp(opt_source, "random") != 0) {
		die("--source takes random, text, file or dir:PATH");
	}
	for (char *s = strtok(sinks_s, ","); s && nsinks < 8; s = strtok(NULL, ","))
		sinks[nsinks++] = s;
	for (char *s = strtok(tools_s, ","); s && ntools < 8; s = strtok(NULL, ","))
		if (have(s))
			tools[ntools++] = s;
		else
			fprintf(stderr, "abs-bench: %s not installed, left out\n", s);

	if (zbench) {
		sb_compress(bindir, workdir, strncmp(opt_source, "dir:", 4) == 0 ?
		    src_path : "/usr/share/doc", zlevels, opt_runs, opt_cold);
		char rm[PATH_MAX + 16];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", workdir);
		return system(rm) == 0 ? 0 : 1;
	}
	if (drives_list) {
		drives_bench(results);
		char rm[PATH_MAX + 16];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", workdir);
		return system(rm) == 0 ? 0 : 1;
	}
	if (starve) {
		starvation_bench(mean, drive, dbuf, results);
		char rm[PATH_MAX + 16];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", workdir);
		return system(rm) == 0 ? 0 : 1;
	}
	if (eot) {
		eot_bench(results);
		char rm[PATH_MAX + 16];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", workdir);
		return system(rm) == 0 ? 0 : 1;
	}
	for (int s = 0; s < nsinks; s++)
		for (int t = 0; t < ntools; t++)
			res[nres++] = (struct result){ .sink = sinks[s], .tool = tools[t] };
	printf("abs-bench: %llu MiB per run, block %llu KiB, depth %u, %u runs, "
	    "work dir %s\n", (unsigned long long)(opt_size >> 20),
	    (unsigned long long)(opt_bs >> 10), opt_depth, opt_runs, workdir);
	for (unsigned run = 0; run < opt_runs; run++) {
		for (int i = 0; i < nres; i++) {
			char cmd[4 * PATH_MAX];
			double secs = 0, cpu = 0;
			if (command_for(res[i].tool, res[i].sink, cmd, sizeof(cmd)) < 0)
				continue;
			/* Cold: nothing of the source in the page cache. */
			if (opt_cold && sb_drop_caches() < 0 && run == 0 && i == 0)
				fprintf(stderr, "abs-bench: cannot drop the page cache "
				    "(not root?): the runs are warm\n");
			if (run_piped(cmd, &secs, &cpu) < 0)
				continue;
			res[i].mbps[res[i].n] = opt_size / secs / 1e6;
			res[i].cpu_per_gb[res[i].n] = cpu / (opt_size / 1e9);
			res[i].rss_mb[res[i].n] = last_rss_mb;
			res[i].n++;
			fprintf(stderr, "  run %u %-6s %-8s %8.1f MB/s %6.3f CPU s/GB\n",
			    run + 1, res[i].sink, res[i].tool, opt_size / secs / 1e6,
			    cpu / (opt_size / 1e9));
		}
	}
	printf("\n%-6s %-8s %10s %12s %10s %5s\n", "sink", "tool", "MB/s",
	    "CPU s/GB", "peak MB", "runs");
	for (int i = 0; i < nres; i++)
		printf("%-6s %-8s %10.1f %12.3f %10.1f %5d\n", res[i].sink,
		    res[i].tool, median(res[i].mbps, res[i].n),
		    median(res[i].cpu_per_gb, res[i].n),
		    median(res[i].rss_mb, res[i].n), res[i].n);
	printf("\nratios (engine / peer; throughput > 1 and CPU < 1 favour the "
	    "engine):\n");
	for (int i = 0; i < nres; i++) {
		if (strncmp(res[i].tool, "engine", 6) != 0)
			continue;
		for (int j = 0; j < nres; j++) {
			if (strcmp(res[j].sink, res[i].sink) || j == i || !res[j].n ||
			    strncmp(res[j].tool, "engine", 6) == 0)
				continue;
			printf("  %-6s %s/%-8s throughput %5.2f  CPU %5.2f\n",
			    res[i].sink, res[i].tool, res[j].tool,
			    median(res[i].mbps, res[i].n) / median(res[j].mbps, res[j].n),
			    median(res[i].cpu_per_gb, res[i].n) /
			    median(res[j].cpu_per_gb, res[j].n));
		}
	}
	if (results) {
		char path[PATH_MAX + 64], stamp[32];
		mkdir(results, 0755);
		time_t t = time(NULL);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
		snprintf(path, sizeof(path), "%s/bench-%s.json", results, stamp);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fprintf(fp, "{\"size\":%llu,\"block_size\":%llu,\"depth\":%u,"
			    "\"runs\":%u,\"nproc\":%ld,\"results\":[",
			    (unsigned long long)opt_size, (unsigned long long)opt_bs,
			    opt_depth, opt_runs, sysconf(_SC_NPROCESSORS_ONLN));
			for (int i = 0; i < nres; i++)
				fprintf(fp, "%s{\"sink\":\"%s\",\"tool\":\"%s\","
				    "\"mbps\":%.1f,\"cpu_s_per_gb\":%.3f,"
				    "\"peak_mb\":%.1f,\"runs\":%d}",
				    i ? "," : "", res[i].sink, res[i].tool,
				    median(res[i].mbps, res[i].n),
				    median(res[i].cpu_per_gb, res[i].n),
				    median(res[i].rss_mb, res[i].n), res[i].n);
			fprintf(fp, "]}\n");
			fclose(fp);
			printf("\nresults: %s\n", path);
		}
		/* The chart: throughput and CPU per GB, by sink and tool. */
		double mb[8][8] = { { 0 } }, cg[8][8] = { { 0 } };
		for (int i = 0; i < nres; i++) {
			int si = -1, ti = -1;
			for (int k = 0; k < nsinks; k++)
				if (strcmp(res[i].sink, sinks[k]) == 0)
					si = k;
			for (int k = 0; k < ntools; k++)
				if (strcmp(res[i].tool, tools[k]) == 0)
					ti = k;
			if (si < 0 || ti < 0 || si >= 8 || ti >= 8)
				continue;
			mb[si][ti] = median(res[i].mbps, res[i].n);
			cg[si][ti] = median(res[i].cpu_per_gb, res[i].n);
		}
		snprintf(path, sizeof(path), "%s/bench-%s.svg", results, stamp);
		svg_chart(path, "Throughput, MB/s (higher is better)", mb,
		    "CPU seconds per GB (lower is better)", cg, sinks, nsinks,
		    tools, ntools);
	}
	char rm[PATH_MAX + 16];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", workdir);
	if (system(rm) != 0)
		fprintf(stderr, "abs-bench: could not remove %s\n", workdir);
	return 0;
}
