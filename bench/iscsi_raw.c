/*
 * abs-iscsi-ceiling: the raw libiscsi ceiling for a tape LUN: variable-block
 * WRITE(6)s of one block size from one buffer, `depth` in flight, driven by
 * poll(2), then one synchronous filemark (a dump ends durable too). No
 * checksums, no format: what the target and the network give.
 * With --read: REWIND, then READ(6)s (variable, SILI) of the block size,
 * `depth` in flight, each into a buffer of its own, until TOTAL_BYTES are
 * read or the tape says filemark or end of data; what the same size and
 * depth of queued reads can reach (a restore's ceiling).
 * Usage: abs-iscsi-ceiling [--read] URL BLOCK_SIZE DEPTH TOTAL_BYTES
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct state {
	int inflight, failed;
	unsigned long long done;
	unsigned long long bytes;	/* read: bytes that came in */
	int ended;			/* read: filemark or end of data seen */
};

/* One READ completed: its bytes count; a check condition ends the run. */
static void
read_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct state *s = priv;
	struct scsi_task *task = data;

	(void)ctx;
	s->inflight--;
	size_t want = (size_t)task->expxferlen;
	size_t resid = task->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
	    task->residual <= want ? task->residual : 0;

	if (status == SCSI_STATUS_GOOD) {
		s->done++;
		s->bytes += want - resid;
	} else if (status == SCSI_STATUS_CHECK_CONDITION) {
		s->ended = 1;	/* a filemark, end of data */
	} else {
		s->failed++;
	}
	scsi_free_scsi_task(task);
}

/* One WRITE completed. */
static void
write_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct state *s = priv;
	struct scsi_task *task = data;

	(void)ctx;
	s->inflight--;
	/* EOM past the image's capacity still writes (tgt): count it. */
	if (status != SCSI_STATUS_GOOD && status != SCSI_STATUS_CHECK_CONDITION)
		s->failed++;
	else
		s->done++;
	scsi_free_scsi_task(task);
}

/* Drive the socket once; -1 on a dead session. */
static int
service(struct iscsi_context *ctx)
{
	struct pollfd pfd = { iscsi_get_fd(ctx), (short)iscsi_which_events(ctx),
	    0 };

	if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
		return -1;
	if (iscsi_service(ctx, pfd.revents) < 0) {
		fprintf(stderr, "abs-iscsi-ceiling: %s\n", iscsi_get_error(ctx));
		return -1;
	}
	return 0;
}

/* --read: rewind, then depth READs in flight until total or the file ends. */
static int
read_ceiling(struct iscsi_context *ctx, int lun, unsigned long bs, int depth,
    unsigned long long total)
{
	struct state s = { 0, 0, 0, 0, 0 };
	struct timespec t0, t1;
	unsigned long long nblocks = (total + bs - 1) / bs, sent = 0;
	unsigned char rew[6] = { 0x01, 0, 0, 0, 0, 0 };
	struct scsi_task *t = scsi_create_task(6, rew, SCSI_XFER_NONE, 0);
	/* A buffer per READ in flight, handed to libiscsi (as the engine
	   does): the data lands there, no growing buffer of libiscsi's. */
	unsigned char *bufs = malloc((size_t)depth * bs);
	unsigned long long slot = 0;

	if (!t || !bufs)
		return 1;
	if (!iscsi_scsi_command_sync(ctx, lun, t, NULL)) {
		fprintf(stderr, "abs-iscsi-ceiling: rewind: %s\n",
		    iscsi_get_error(ctx));
		return 1;
	}
	scsi_free_scsi_task(t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s.inflight || (!s.ended && !s.failed && sent < nblocks)) {
		while (!s.ended && !s.failed && s.inflight < depth &&
		    sent < nblocks) {
			unsigned char cdb[6] = { 0x08, 0x02, (unsigned char)(bs >> 16),
			    (unsigned char)(bs >> 8), (unsigned char)bs, 0 };
			struct scsi_task *r = scsi_create_task(6, cdb, SCSI_XFER_READ,
			    (int)bs);
			if (!r || scsi_task_add_data_in_buffer(r, (int)bs,
			    bufs + (slot++ % (unsigned)depth) * bs) != 0 ||
			    iscsi_scsi_command_async(ctx, lun, r, read_done,
			    NULL, &s) != 0) {
				fprintf(stderr, "abs-iscsi-ceiling: %s\n",
				    iscsi_get_error(ctx));
				return 1;
			}
			s.inflight++;
			sent++;
		}
		if (service(ctx) < 0)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("read %llu blocks of %lu (%llu bytes) in %.3f s: %.1f MB/s, %d "
	    "failed\n", s.done, bs, s.bytes, secs, (double)s.bytes / secs / 1e6,
	    s.failed);
	free(bufs);
	return s.failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct iscsi_context *ctx;
	struct iscsi_url *url;
	struct state s = { 0, 0, 0, 0, 0 };
	struct timespec t0, t1;
	int reading = argc > 1 && strcmp(argv[1], "--read") == 0;

	if (reading) {
		argc--;
		argv++;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: abs-iscsi-ceiling [--read] URL BLOCK_SIZE "
		    "DEPTH TOTAL_BYTES\n");
		return 2;
	}
	unsigned long bs = strtoul(argv[2], NULL, 10);
	int depth = atoi(argv[3]);
	unsigned long long total = strtoull(argv[4], NULL, 10);
	unsigned long long nblocks = bs ? total / bs : 0, sent = 0;
	unsigned char *buf = malloc(bs ? bs : 1);

	if (!bs || bs > 0xffffff || depth < 1 || !buf)
		return 2;
	memset(buf, 0xa5, bs);
	ctx = iscsi_create_context("iqn.2026-01.org.abs:ceiling");
	url = ctx ? iscsi_parse_full_url(ctx, argv[1]) : NULL;
	if (!url) {
		fprintf(stderr, "abs-iscsi-ceiling: bad URL %s\n", argv[1]);
		return 1;
	}
	iscsi_set_targetname(ctx, url->target);
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	if (iscsi_full_connect_sync(ctx, url->portal, url->lun) != 0) {
		fprintf(stderr, "abs-iscsi-ceiling: %s\n", iscsi_get_error(ctx));
		return 1;
	}
	if (reading) {
		int rc = read_ceiling(ctx, url->lun, bs, depth, total);
		iscsi_destroy_url(url);
		iscsi_logout_sync(ctx);
		iscsi_destroy_context(ctx);
		free(buf);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s.done + (unsigned long long)s.failed < nblocks) {
		while (s.inflight < depth && sent < nblocks) {
			unsigned char cdb[6] = { 0x0a, 0, (unsigned char)(bs >> 16),
			    (unsigned char)(bs >> 8), (unsigned char)bs, 0 };
			struct scsi_task *t = scsi_create_task(6, cdb, SCSI_XFER_WRITE,
			    (int)bs);
			struct iscsi_data d = { bs, buf };
			if (!t || iscsi_scsi_command_async(ctx, url->lun, t, write_done,
			    &d, &s) != 0) {
				fprintf(stderr, "abs-iscsi-ceiling: %s\n",
				    iscsi_get_error(ctx));
				return 1;
			}
			s.inflight++;
			sent++;
		}
		struct pollfd pfd = { iscsi_get_fd(ctx), (short)iscsi_which_events(ctx),
		    0 };
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			return 1;
		if (iscsi_service(ctx, pfd.revents) < 0) {
			fprintf(stderr, "abs-iscsi-ceiling: %s\n", iscsi_get_error(ctx));
			return 1;
		}
	}
	/* End durable, as a dump does: a synchronous filemark. */
	unsigned char fm[6] = { 0x10, 0, 0, 0, 1, 0 };
	struct scsi_task *t = scsi_create_task(6, fm, SCSI_XFER_NONE, 0);
	if (t) {
		struct scsi_task *r = iscsi_scsi_command_sync(ctx, url->lun, t, NULL);
		if (r)
			scsi_free_scsi_task(r);
		else
			scsi_free_scsi_task(t);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu blocks of %lu in %.3f s: %.1f MB/s, %d failed\n", s.done, bs,
	    secs, (double)s.done * (double)bs / secs / 1e6, s.failed);
	iscsi_destroy_url(url);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	free(buf);
	return s.failed ? 1 : 0;
}
