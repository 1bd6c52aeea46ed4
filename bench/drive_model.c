/*
 * abs-drive-model: a tape drive as a sink, for starvation measurements.
 * It takes bytes from stdin into a drive buffer and streams them "to
 * tape" at a fixed rate in real time. When the buffer runs dry mid-stream
 * the drive stops (an underrun: on real drives a back-hitch), waits out a
 * repositioning penalty and restarts only once the buffer is refilled to
 * a threshold. A full buffer stops reading, so a fast source is held back.
 * With MIN_MBPS and STEPS it speed-matches like LTO drives: every half
 * second it streams at the lowest of STEPS speeds from MIN to RATE that is
 * not below what arrived, so it only starves below its slowest speed.
 * Usage: abs-drive-model RATE_MBPS BUFFER_MIB [PENALTY_S] [RESTART_FRACTION]
 *        [MIN_MBPS STEPS]
 * Prints one line: bytes, seconds, underruns, seconds lost, speed changes.
 *
 * abs-drive-model --trace RATE_MBPS BUFFER_MIB FLUSH_S BACKHITCH_S
 *        [HOST_MBPS]
 * runs in model time instead, on a trace of what a writer sends, one
 * command a line on stdin: "w BYTES" (a block), "f" (an immediate
 * filemark: it goes to the buffer like data), "F" (a synchronous one: the
 * writer waits until the buffer is on tape, plus FLUSH_S to write the
 * mark and answer; the drive then has nothing and stops), "r" (a read
 * back: the buffer is written first, the tape moves away and back). A
 * drive that stopped (a synchronous filemark, a read back, or a buffer the
 * writer let run dry) repositions for BACKHITCH_S before it streams again:
 * the back-hitch. The writer sends at HOST_MBPS (default 2000) and waits
 * when the buffer is full.
 * Prints one line: bytes, filemarks, syncs, back-hitches, seconds,
 * seconds lost (beyond streaming every byte at RATE).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The model-time drive: see the usage above. */
static int
trace_model(int argc, char **argv)
{
	double rate, buffer, flush, hitch, host = 2000e6;
	double t = 0;		/* the writer's clock */
	double done = 0;	/* when the drive has written all it was sent */
	double bytes = 0, tape_secs = 0;
	unsigned long marks = 0, syncs = 0, hitches = 0;
	int stopped = 0;	/* the drive must reposition before it writes */
	char line[128];

	if (argc < 6)
		return 2;
	rate = atof(argv[2]) * 1e6;
	buffer = atof(argv[3]) * 1048576.0;
	flush = atof(argv[4]);
	hitch = atof(argv[5]);
	if (argc > 6)
		host = atof(argv[6]) * 1e6;
	if (rate <= 0 || buffer <= 0 || flush < 0 || hitch < 0 || host <= 0)
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		double n = 0;
		if (line[0] == 'w' && sscanf(line + 1, "%lf", &n) == 1 && n > 0) {
			/* The buffer holds what the drive has not written yet:
			   the writer waits while it is full. */
			if (done - t > buffer / rate)
				t = done - buffer / rate;
			/* Nothing came while the drive had nothing: it stopped. */
			if (t > done && done > 0 && !stopped)
				stopped = 1;
			double start = t > done ? t : done;
			if (stopped) {
				start += hitch;
				hitches++;
				stopped = 0;
			}
			t += n / host;
			done = start + n / rate;
			if (done < t)
				done = t;	/* the drive is as fast as the writer */
			bytes += n;
			tape_secs += n / rate;
		} else if (line[0] == 'f') {
			marks++;
		} else if (line[0] == 'F' || line[0] == 'r') {
			if (line[0] == 'F') {
				marks++;
				syncs++;
			}
			t = (t > done ? t : done) + flush;
			done = t;
			stopped = 1;
			if (line[0] == 'r') {
				/* Away to the block and back to end of data. */
				t += 2 * hitch;
				hitches += 2;
				done = t;
			}
		}
	}
	double end = t > done ? t : done;
	printf("bytes=%.0f filemarks=%lu syncs=%lu backhitches=%lu "
	    "seconds=%.3f lost=%.3f\n", bytes, marks, syncs, hitches, end,
	    end - tape_secs);
	return 0;
}

int
main(int argc, char **argv)
{
	static char chunk[1 << 20];

	if (argc > 1 && strcmp(argv[1], "--trace") == 0) {
		int rc = trace_model(argc, argv);
		if (rc == 2)
			fprintf(stderr, "usage: abs-drive-model --trace RATE_MBPS "
			    "BUFFER_MIB FLUSH_S BACKHITCH_S [HOST_MBPS]\n");
		return rc;
	}
	double rate, buffer, penalty = 2.0, restart = 0.5;
	double level = 0, written = 0, lost = 0, t0, last, stopped_at = 0;
	double hold_until = 0, max_rate, min_rate, win_start, win_bytes = 0;
	unsigned long underruns = 0, changes = 0;
	int steps = 1;
	int streaming = 0, started = 0, eof = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: abs-drive-model RATE_MBPS BUFFER_MIB "
		    "[PENALTY_S] [RESTART_FRACTION]\n");
		return 2;
	}
	rate = atof(argv[1]) * 1e6;
	buffer = atof(argv[2]) * 1048576.0;
	if (argc > 3)
		penalty = atof(argv[3]);
	if (argc > 4)
		restart = atof(argv[4]);
	max_rate = min_rate = rate;
	if (argc > 6) {
		min_rate = atof(argv[5]) * 1e6;
		steps = atoi(argv[6]);
		if (min_rate <= 0 || min_rate > max_rate || steps < 1)
			return 2;
		rate = min_rate;
	}
	if (rate <= 0 || buffer < (double)sizeof(chunk) || restart <= 0 ||
	    restart > 1)
		return 2;
	t0 = last = win_start = now();
	for (;;) {
		double t = now(), dt = t - last;
		last = t;
		/* Speed matching: the slowest step that keeps up with the input. */
		if (steps > 1 && t - win_start >= 0.5) {
			double in_rate = win_bytes / (t - win_start), pick = max_rate;
			for (int k = 0; k < steps; k++) {
				double sp = min_rate + (max_rate - min_rate) * k / (steps - 1);
				if (sp >= in_rate) {
					pick = sp;
					break;
				}
			}
			/* A full buffer means the source is held back: go faster. */
			if (level >= buffer - (double)sizeof(chunk))
				pick = max_rate;
			if (pick != rate)
				changes++;
			rate = pick;
			win_start = t;
			win_bytes = 0;
		}
		if (streaming) {
			double d = rate * dt < level ? rate * dt : level;
			level -= d;
			written += d;
			if (level <= 0 && !eof) {
				/* Dry while the source still has data: the drive stops. */
				streaming = 0;
				underruns++;
				stopped_at = t;
				hold_until = t + penalty;
			}
		}
		if (!streaming && level > 0 && t >= hold_until &&
		    (level >= buffer * restart || eof)) {
			if (started)
				lost += t - stopped_at;
			streaming = started = 1;
		}
		if (eof && level <= 0)
			break;
		double room = buffer - level;
		int timeout_ms = 1;
		if (!eof && room >= (double)sizeof(chunk)) {
			struct pollfd pfd = { 0, POLLIN, 0 };
			if (poll(&pfd, 1, timeout_ms) > 0) {
				ssize_t n = read(0, chunk, sizeof(chunk));
				if (n < 0 && errno != EINTR)
					return 1;
				if (n == 0)
					eof = 1;
				if (n > 0) {
					level += (double)n;
					win_bytes += (double)n;
				}
			}
		} else {
			usleep(500);
		}
	}
	printf("bytes=%.0f seconds=%.3f underruns=%lu lost=%.3f changes=%lu\n",
	    written, now() - t0, underruns, lost, changes);
	return 0;
}
