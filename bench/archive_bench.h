/* abs-bench --archive (bench/archive_bench.c). */
#ifndef ABS_ARCHIVE_BENCH_H
#define ABS_ARCHIVE_BENCH_H

struct archive_bench_opts {
	const char *bindir;	/* abs-engine, abs-queue, abs-drive-model */
	const char *dir;	/* where the data files go (NULL: /dev/shm) */
	const char *results;	/* a JSON file of the figures here, or NULL */
	double seconds;		/* the producer's time per run */
	double files_per_sec;
	double min_mb, max_mb;	/* file sizes, log-uniform (MB, 10^6) */
	/* Producer mean rates to sweep (MB/s; the sizes scaled to give each
	   at files_per_sec, max/min kept), or none: min_mb..max_mb. */
	const double *rates;
	int nrates;
	double drive_mbps, drive_min_mbps;	/* speed matching down to min */
	int drive_steps;
	unsigned drive_buf_mib;
	double max_gib;		/* data on disk not yet scrubbed, at most */
};

/*
 * A producer writing files into an archive queue (absq_add) while
 * abs-engine archive writes them to a drive model (abs-drive-model, real
 * time) and abs-queue scrub deletes what is done: one run per rate.
 * Prints the figures; returns the exit status.
 */
int archive_bench(const struct archive_bench_opts *o);

#endif
