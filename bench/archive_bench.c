/*
 * abs-bench --archive (issue 18): a producer writes files of log-uniform
 * sizes (a fixed seed) at a fixed rate into a data directory and adds each,
 * closed, to an archive queue (absq_add, the C producer's call); abs-engine
 * archive writes them, as they come, to a drive model (abs-drive-model in
 * real time, speed matching down to its floor, through --device fd:3);
 * the data files whose entries are done are deleted as they come, so the
 * data on disk stays bounded (at most max_gib not archived: the producer
 * waits beyond). Per run: the producer's mean rate,
 * the archiver's, the drive's underruns, the queue lag (a file's close to
 * its done entry), the archiver's CPU, and the load of the host.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/archive_bench.h"
#include "common/util.h"
#include "queue/queue.h"

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_of(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	    (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* The 1-minute load average, or -1. */
static double
loadavg(void)
{
	FILE *fp = fopen("/proc/loadavg", "r");
	double l = -1;

	if (fp) {
		if (fscanf(fp, "%lf", &l) != 1)
			l = -1;
		fclose(fp);
	}
	return l;
}

/* A fixed stream of numbers in [0, 1): the sizes repeat run to run. */
static double
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 9007199254740992.0;
}

/* Start argv with stdin, stdout, stderr and fd 3 as given (-1: /dev/null). */
static pid_t
spawn(char *const argv[], int in, int out, int err, int fd3)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int null = open("/dev/null", O_RDWR);
	dup2(in >= 0 ? in : null, 0);
	dup2(out >= 0 ? out : null, 1);
	dup2(err >= 0 ? err : null, 2);
	if (fd3 >= 0)
		dup2(fd3, 3);
	util_close_from(fd3 >= 0 ? 4 : 3);
	execv(argv[0], argv);
	_exit(127);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

struct run {
	double target;		/* producer mean asked for, MB/s (0: sizes given) */
	double lo, hi;		/* file sizes, bytes */
	/* measured */
	unsigned long files, done;
	double bytes, done_bytes, secs, drain, held;
	double prod_mbps, fps, arch_mbps;
	double lag_mean, lag_p50, lag_p95, lag_max;
	double arch_cpu, prod_cpu, seen_bytes;
	double m_bytes, m_secs, m_lost;
	unsigned long m_under, m_changes;
	double load0, load1;
	int ok;
};

/*
 * New done entries since the last look: their time, and their data file
 * deleted. (abs-queue scrub refuses them, rightly: a done entry of the fd:
 * sink names no cartridge it could be restored from.)
 */
static void
watch_done(const char *done, const char *data, double *done_t,
    const double *size, unsigned long n, unsigned long *ndone, double *bytes,
    double t)
{
	char path[4300];

	DIR *d = opendir(done);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		unsigned long i;
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    sscanf(de->d_name, "f%lu.", &i) != 1 || i >= n || done_t[i] > 0)
			continue;
		done_t[i] = t;
		(*ndone)++;
		*bytes += size[i];
		snprintf(path, sizeof(path), "%s/f%07lu.dat", data, i);
		if (unlink(path) < 0 && errno != ENOENT)
			fprintf(stderr, "abs-bench: %s: %s\n", path, strerror(errno));
	}
	closedir(d);
}

static int
one_run(const struct archive_bench_opts *o, struct run *r, const char *pool,
    size_t poolsz)
{
	char tmpl[4096], q[4200], dn[4200], data[4200], path[4300], err[ABSQ_ERRLEN];
	char engine[4200], model[4200], mout[4300], aerr[4300];
	char rate_s[32], buf_s[32], min_s[32], steps_s[32], line[256];
	unsigned long n = (unsigned long)(o->seconds * o->files_per_sec + 0.5);
	double *close_t = calloc(n + 1, sizeof(double));
	double *done_t = calloc(n + 1, sizeof(double));
	double *size = calloc(n + 1, sizeof(double));
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ 18;
	struct rusage ru;
	int pfd[2], status, rc = 1;
	pid_t arch = -1, mod = -1;

	if (!close_t || !done_t || !size)
		goto out;
	snprintf(tmpl, sizeof(tmpl), "%s/abs-bench-archive.XXXXXX",
	    o->dir ? o->dir : "/dev/shm");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "abs-bench: %s: %s\n", tmpl, strerror(errno));
		goto out;
	}
	snprintf(q, sizeof(q), "%s/queue", tmpl);
	snprintf(dn, sizeof(dn), "%s/done", tmpl);
	snprintf(data, sizeof(data), "%s/data", tmpl);
	snprintf(mout, sizeof(mout), "%s/model.out", tmpl);
	snprintf(aerr, sizeof(aerr), "%s/archive.err", tmpl);
	snprintf(engine, sizeof(engine), "%s/abs-engine", o->bindir);
	snprintf(model, sizeof(model), "%s/abs-drive-model", o->bindir);
	if (mkdir(q, 0755) < 0 || mkdir(data, 0755) < 0)
		goto out;
	for (unsigned long i = 0; i < n; i++)
		size[i] = floor(r->lo * exp(rnd(&seed) * log(r->hi / r->lo)));

	/* The drive model reads the archiver's tape stream from a pipe. */
	if (pipe(pfd) < 0)
		goto out;
	snprintf(rate_s, sizeof(rate_s), "%.0f", o->drive_mbps);
	snprintf(buf_s, sizeof(buf_s), "%u", o->drive_buf_mib);
	snprintf(min_s, sizeof(min_s), "%.0f", o->drive_min_mbps);
	snprintf(steps_s, sizeof(steps_s), "%d", o->drive_steps);
	char *margv[] = { model, rate_s, buf_s, "2", "0.5", min_s, steps_s, NULL };
	if (o->drive_min_mbps <= 0 || o->drive_steps < 2)
		margv[3] = NULL;
	int mfd = open(mout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	mod = spawn(margv, pfd[0], mfd, -1, -1);
	int efd = open(aerr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char *aargv[] = { engine, "archive", "--device", "fd:3", "--queue", q,
		"--done", dn, "--quiet", NULL };
	arch = spawn(aargv, -1, efd, efd, pfd[1]);
	close(pfd[0]);
	close(pfd[1]);
	if (mfd >= 0)
		close(mfd);
	if (efd >= 0)
		close(efd);
	if (mod < 0 || arch < 0)
		goto out;

	/* Produce: file i is due at t0 + i / rate; behind, no pause. */
	struct absq_add_opts ao = { .open = false };
	struct rusage self0, self1;
	double t0 = mono(), next_look = t0, held_since = 0;
	unsigned long ndone = 0;
	getrusage(RUSAGE_SELF, &self0);
	r->load0 = loadavg();
	for (unsigned long i = 0; i < n; i++) {
		double due = t0 + (double)i / o->files_per_sec, t;
		for (;;) {
			t = mono();
			if (t >= next_look) {
				watch_done(dn, data, done_t, size, n, &ndone,
				    &r->seen_bytes, t);
				next_look = t + 0.1;
			}
			/* Data not archived yet, at most max_gib: the producer
			   waits (its mean rate shows it). */
			bool full = r->bytes - r->seen_bytes >
			    o->max_gib * 1073741824.0;
			if (t >= due && !full) {
				held_since = 0;
				break;
			}
			if (full && t >= due) {
				if (!held_since)
					held_since = t;
				if (t - held_since > 120) {
					fprintf(stderr, "abs-bench: the archiver took nothing "
					    "for 120 s\n");
					goto out;
				}
				r->held += 0.005;
			}
			usleep(t < due && due - t < 0.005 ? (useconds_t)((due - t) * 1e6) :
			    5000);
		}
		snprintf(path, sizeof(path), "%s/f%07lu.dat", data, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "abs-bench: %s: %s\n", path, strerror(errno));
			goto out;
		}
		for (double left = size[i]; left > 0;) {
			size_t k = left < (double)poolsz ? (size_t)left : poolsz;
			if (util_write_all(fd, pool, k) < 0) {
				fprintf(stderr, "abs-bench: %s: %s\n", path, strerror(errno));
				close(fd);
				goto out;
			}
			left -= (double)k;
		}
		close(fd);
		if (absq_add(q, path, &ao, NULL, err) < 0) {
			fprintf(stderr, "abs-bench: %s\n", err);
			goto out;
		}
		close_t[i] = mono();
		r->bytes += size[i];
		r->files++;
	}
	double t_end = mono();
	r->secs = t_end - t0;
	getrusage(RUSAGE_SELF, &self1);
	r->prod_cpu = cpu_of(&self1) - cpu_of(&self0);
	/* Drain: everything done, bounded. */
	double limit = t_end + (o->seconds * 4 > 120 ? o->seconds * 4 : 120);
	while (ndone < n && mono() < limit) {
		watch_done(dn, data, done_t, size, n, &ndone, &r->seen_bytes,
		    mono());
		usleep(50000);
	}
	r->load1 = loadavg();
	kill(arch, SIGTERM);
	if (wait4(arch, &status, 0, &ru) == arch)
		r->arch_cpu = cpu_of(&ru);
	arch = -1;
	if (waitpid(mod, &status, 0) == mod) {
		FILE *fp = fopen(mout, "r");
		if (fp && fgets(line, sizeof(line), fp))
			sscanf(line, "bytes=%lf seconds=%lf underruns=%lu lost=%lf "
			    "changes=%lu", &r->m_bytes, &r->m_secs, &r->m_under,
			    &r->m_lost, &r->m_changes);
		if (fp)
			fclose(fp);
	}
	mod = -1;

	/* The figures. */
	double *lag = calloc(n + 1, sizeof(double)), last = t0;
	size_t nl = 0;
	for (unsigned long i = 0; i < n; i++) {
		if (done_t[i] <= 0)
			continue;
		r->done++;
		r->done_bytes += size[i];
		if (done_t[i] > last)
			last = done_t[i];
		if (lag)
			lag[nl++] = done_t[i] - close_t[i];
	}
	if (lag && nl) {
		double sum = 0;
		for (size_t k = 0; k < nl; k++)
			sum += lag[k];
		qsort(lag, nl, sizeof(*lag), cmp_double);
		r->lag_mean = sum / (double)nl;
		r->lag_p50 = pct(lag, nl, 0.5);
		r->lag_p95 = pct(lag, nl, 0.95);
		r->lag_max = lag[nl - 1];
	}
	free(lag);
	r->prod_mbps = r->bytes / r->secs / 1e6;
	r->fps = (double)r->files / r->secs;
	r->arch_mbps = last > t0 ? r->done_bytes / (last - t0) / 1e6 : 0;
	r->drain = last > t_end ? last - t_end : 0;
	r->ok = r->done == n;
	if (!r->ok) {
		fprintf(stderr, "abs-bench: %lu of %lu files archived; the archiver "
		    "said:\n", r->done, n);
		char tail[4400];
		snprintf(tail, sizeof(tail), "tail -5 '%s' >&2", aerr);
		if (system(tail) != 0)
			(void)0;
	}
	rc = 0;
out:
	if (arch > 0) {
		kill(arch, SIGTERM);
		waitpid(arch, &status, 0);
	}
	if (mod > 0)
		waitpid(mod, &status, 0);
	if (tmpl[0] && strstr(tmpl, "abs-bench-archive.")) {
		char rm[4200];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", tmpl);
		if (system(rm) != 0)
			(void)0;
	}
	free(close_t);
	free(done_t);
	free(size);
	return rc;
}

int
archive_bench(const struct archive_bench_opts *o)
{
	struct run runs[32];
	int nrun = o->nrates > 0 ? o->nrates : 1, bad = 0;
	double ratio = o->max_mb / o->min_mb;
	size_t poolsz = 16u << 20;
	char *pool = malloc(poolsz);

	if (!pool || nrun > 32)
		return 1;
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < poolsz / 8; i++)
		((uint64_t *)pool)[i] = (uint64_t)(rnd(&s) * 18446744073709551615.0);
	memset(runs, 0, sizeof(runs));
	printf("abs-bench --archive: %.0f files/s for %.0f s per run, sizes "
	    "log-uniform %s; drive model %.0f MB/s", o->files_per_sec,
	    o->seconds, o->nrates ? "(max/min as given, scaled to each rate)" :
	    "as given", o->drive_mbps);
	if (o->drive_min_mbps > 0 && o->drive_steps > 1)
		printf(", speed matching in %d steps down to %.0f MB/s",
		    o->drive_steps, o->drive_min_mbps);
	printf(", %u MiB buffer, 2 s per back-hitch; data in %s (at most "
	    "%.1f GiB not archived)\n\n", o->drive_buf_mib, o->dir ? o->dir :
	    "/dev/shm", o->max_gib);
	printf("%8s %9s %8s %10s %8s %9s %7s %7s %21s %12s %9s %9s\n", "target",
	    "producer", "files/s", "sizes MB", "archiver", "underruns", "lost s",
	    "drain s", "lag s mean/p95/max", "arch CPU s", "CPU s/GB", "load");
	for (int k = 0; k < nrun; k++) {
		struct run *r = &runs[k];
		if (o->nrates) {
			/* Mean of log-uniform [a, ratio a]: a (ratio - 1) / ln ratio. */
			double mean = o->rates[k] * 1e6 / o->files_per_sec;
			r->target = o->rates[k];
			r->lo = mean * log(ratio) / (ratio - 1);
			r->hi = r->lo * ratio;
		} else {
			r->lo = o->min_mb * 1e6;
			r->hi = o->max_mb * 1e6;
		}
		if (one_run(o, r, pool, poolsz) != 0 || !r->ok)
			bad = 1;
		char tg[16], sz[24];
		snprintf(tg, sizeof(tg), r->target > 0 ? "%.0f" : "-", r->target);
		snprintf(sz, sizeof(sz), "%.2f-%.2f", r->lo / 1e6, r->hi / 1e6);
		printf("%8s %9.1f %8.1f %10s %8.1f %9lu %7.1f %7.1f %7.2f/%5.2f/%6.2f "
		    "%12.2f %9.2f %4.1f-%4.1f%s\n", tg, r->prod_mbps, r->fps, sz,
		    r->arch_mbps, r->m_under, r->m_lost, r->drain, r->lag_mean,
		    r->lag_p95, r->lag_max, r->arch_cpu, r->done_bytes > 0 ?
		    r->arch_cpu / (r->done_bytes / 1e9) : 0, r->load0, r->load1,
		    r->ok ? "" : "  (not all archived)");
		fflush(stdout);
	}
	printf("\n(target and producer: the producer's mean MB/s; archiver: "
	    "MB/s from the first file to the last done entry; drain: seconds "
	    "after the producer stopped; lag: a file's close to its done "
	    "entry; underruns: the drive model's, while data was still coming; "
	    "load: the host's 1-minute load average at the start and the end)\n");
	if (o->results) {
		char path[4200], stamp[32];
		time_t now_t = time(NULL);
		mkdir(o->results, 0755);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now_t));
		snprintf(path, sizeof(path), "%s/archive-%s.json", o->results, stamp);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fprintf(fp, "{\"files_per_sec\":%.1f,\"seconds\":%.0f,"
			    "\"drive_mbps\":%.0f,\"drive_min_mbps\":%.0f,"
			    "\"drive_steps\":%d,\"drive_buffer_mib\":%u,\"runs\":[",
			    o->files_per_sec, o->seconds, o->drive_mbps,
			    o->drive_min_mbps, o->drive_steps, o->drive_buf_mib);
			for (int k = 0; k < nrun; k++) {
				const struct run *r = &runs[k];
				fprintf(fp, "%s{\"target_mbps\":%.1f,\"producer_mbps\":%.2f,"
				    "\"files\":%lu,\"archived\":%lu,\"archiver_mbps\":%.2f,"
				    "\"underruns\":%lu,\"lost_s\":%.2f,\"drain_s\":%.2f,"
				    "\"lag_mean_s\":%.3f,\"lag_p95_s\":%.3f,"
				    "\"lag_max_s\":%.3f,\"archiver_cpu_s\":%.2f,"
				    "\"held_s\":%.2f,\"producer_cpu_s\":%.2f,"
				    "\"load\":[%.2f,%.2f]}", k ? "," : "", r->target,
				    r->prod_mbps, r->files, r->done, r->arch_mbps,
				    r->m_under, r->m_lost, r->drain, r->lag_mean,
				    r->lag_p95, r->lag_max, r->arch_cpu, r->held,
				    r->prod_cpu, r->load0, r->load1);
			}
			fprintf(fp, "]}\n");
			fclose(fp);
		}
	}
	free(pool);
	return bad;
}
