/*
 * The queued read path (tsg_read_queue_*) against a vtape cartridge: blocks
 * in tape order at every depth, and each ending - a filemark, end of data,
 * a longer block, a medium error, and the caller's own (a short block, a
 * bad CRC) - at every place in the queue ends the stream at that block,
 * nothing read ahead handed out, the tape where a lone read would have
 * left it: the next synchronous read finds what follows.
 *
 * The cartridge:
 *   file 0: blocks 0..9 (4 KiB), block 6 corrupted silently when written
 *   file 1: blocks 100..102, a medium error on 101
 *   file 2: 200, 201, 202 (1000 bytes), 203, 204 (8 KiB)
 *   file 3: 300..305, then end of data (no filemark)
 *
 * With ABS_RQ_URI set (tests/integration/t_read_queue.sh: a tgtd LUN over
 * iscsi://, where reads really are in flight) the same cartridge is
 * written there and the same endings checked, but for what tgt cannot
 * do: no injected medium error or corruption, no READ POSITION (it
 * answers zeros), and every read asks the block's exact length (tgt reads
 * across block boundaries otherwise).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "sg/tsg.h"
#include "sg/vtape.h"
#include "t.h"

#define BS 4096

static char dir[256], uri[320], cart[300];
static int on_tgt;
#define NO_TGT if (!on_tgt)
static uint32_t crc_of[400];	/* CRC32C of block id as written */

/* Block id's bytes: they say which block they are. */
static void
pattern(uint8_t *b, size_t n, unsigned id)
{
	for (size_t k = 0; k < n; k++)
		b[k] = (uint8_t)(id * 7 + k + (k >> 8));
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
}

static unsigned
id_of(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

static void
put(struct tsg_dev *d, unsigned id, size_t len)
{
	uint8_t *b = malloc(len);
	struct tsg_status st;

	pattern(b, len, id);
	crc_of[id] = crc32c(0, b, len);
	CHECK(tsg_write(d, b, len, &st) == 0);
	free(b);
}

static void
fm(struct tsg_dev *d)
{
	struct tsg_status st;

	CHECK(tsg_write_filemarks(d, 1, false, &st) == 0);
}

/* Rewind and space to tape file n. */
static void
go(struct tsg_dev *d, int n)
{
	struct tsg_status st;

	CHECK(tsg_rewind(d, &st) == 0);
	if (n)
		CHECK(tsg_space(d, TSG_SPACE_FILEMARKS, n, &st) == 0);
}

/* The next synchronous read: its block's id, -1 filemark, -2 EOD, -3 else. */
static int
sync_next(struct tsg_dev *d)
{
	static uint8_t b[4 * BS];
	struct tsg_status st;
	int rc = tsg_read(d, b, on_tgt ? BS : sizeof(b), &st);

	if (rc == 0)
		return (int)id_of(b);
	if (rc == TSG_CHECK && st.filemark)
		return -1;
	if (rc == TSG_CHECK && tsg_is_eod(&st))
		return -2;
	return -3;
}

static void
check_pos(struct tsg_dev *d, uint64_t lon)
{
	struct tsg_status st;
	struct tsg_pos pos;

	if (on_tgt)
		return;
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK_EQ(pos.lon, lon);
}

/* Exact lengths for file 2, as the engine asks (tgt needs them). */
static size_t
len_file2(void *ctx, uint64_t i)
{
	static const size_t l[] = { BS, BS, 1000, BS, 2 * BS, BS };

	(void)ctx;
	return i < 6 ? l[i] : BS;
}

static size_t
len_bs(void *ctx, uint64_t i)
{
	(void)ctx;
	(void)i;
	return BS;
}

/* Unbounded plans: the whole buffer on vtape, exact on tgt. */
#define ANY (on_tgt ? len_bs : NULL)

/* The cartridge's directory goes however the test ends (a failed CHECK
   included). */
static void
remove_dir(void)
{
	char cmd[600];

	if (*dir && !on_tgt) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

int
main(void)
{
	struct tsg_dev *d = NULL;
	struct tsg_status st;
	struct tsg_rq *q;
	struct tsg_rq_stats rs;
	void *blk;
	int rc;

	const char *tgt = getenv("ABS_RQ_URI");
	struct vtape_fault f = { .write_protect = -1, .medium_error_at = -1,
	    .corrupt_write_at = 6 };

	on_tgt = tgt && *tgt;
	if (on_tgt) {
		snprintf(uri, sizeof(uri), "%s", tgt);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/abs-rq-unit.XXXXXX",
		    tmp && *tmp ? tmp : "/tmp");
		CHECK(mkdtemp(dir) != NULL);
		atexit(remove_dir);
		snprintf(cart, sizeof(cart), "%s/c", dir);
		snprintf(uri, sizeof(uri), "vtape:%s", cart);
		CHECK(vtape_cart_create(cart, "R00001", 64u << 20, 4u << 20) == 0);
		/* Block 6 flipped silently as written: the drive says GOOD. */
		CHECK(vtape_inject(cart, &f) == 0);
	}
	CHECK(tsg_open(uri, &d) == 0);
	if (!d)
		T_DONE();
	if (on_tgt) {
		CHECK(tsg_rewind(d, &st) == 0);
		CHECK(tsg_set_variable(d, &st) == 0);
	}
	for (unsigned i = 0; i < 10; i++)
		put(d, i, BS);
	fm(d);
	for (unsigned i = 100; i < 103; i++)
		put(d, i, BS);
	fm(d);
	put(d, 200, BS);
	put(d, 201, BS);
	put(d, 202, 1000);
	put(d, 203, BS);
	put(d, 204, 2 * BS);
	fm(d);
	for (unsigned i = 300; i < 306; i++)
		put(d, i, BS);
	if (on_tgt) {
		/* No corruption on tgt: the caller's check is told block 6's
		   CRC is another, which is all the queue sees of it. */
		crc_of[6] ^= 1;
	} else {
		tsg_free(d);
		/* A medium error on block 101: LON 10 blocks + 1 filemark + 1. */
		f = (struct vtape_fault){ .write_protect = -1,
		    .medium_error_at = 12, .corrupt_write_at = -1 };
		CHECK(vtape_inject(cart, &f) == 0);
		CHECK(tsg_open(uri, &d) == 0);
		/* The depth asked is granted on a transport that runs one
		   command at a time (a thread reads ahead); by default 1. */
		CHECK(tsg_read_queue_open(d, 0, BS, &q) == 0);
		CHECK_EQ(tsg_read_queue_depth(q), 1);
		tsg_read_queue_close(q);
	}

	for (int pass = 0; pass < (on_tgt ? 1 : 2); pass++)
	for (unsigned depth = 1; depth <= 16; depth = depth < 4 ? depth + 1 :
	    depth * 2) {
		/* vtape: a read-ahead thread, then every read run as queued
		   (all of a queue past an ending really read, every time). */
		if (pass == 1)
			setenv("ABS_READ_INLINE", "1", 1);
		CHECK(tsg_read_queue_open(d, depth, 2 * BS, &q) == 0);
		CHECK_EQ(tsg_read_queue_depth(q), depth);

		/* A filemark: 10 blocks in order, the filemark, and the tape
		   just past it (at LON 11) whatever was read ahead. The
		   corrupted block is a block to the queue. */
		go(d, 0);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		for (unsigned i = 0; i < 10; i++) {
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0);
			CHECK(blk && id_of(blk) == i && st.xfer == BS);
			/* Nothing may overtake queued reads. */
			if (i == 0 && depth > 1)
				CHECK(tsg_rewind(d, &st) == -EBUSY);
		}
		rc = tsg_read_queue_next(q, &blk, &st);
		CHECK(rc == TSG_CHECK && st.filemark && !blk);
		CHECK(tsg_read_queue_next(q, &blk, &st) == -ENODATA);
		check_pos(d, 11);
		CHECK_EQ(sync_next(d), 100);

		/* An exact plan (the blocks and the filemark): nothing read
		   past the filemark, nothing thrown away. */
		go(d, 0);
		tsg_read_queue_stats(q, &rs);
		uint64_t disc = rs.discarded;
		CHECK(tsg_read_queue_plan(q, 11, ANY, NULL) == 0);
		for (unsigned i = 0; i < 10; i++)
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
			    id_of(blk) == i);
		CHECK(tsg_read_queue_next(q, &blk, &st) == TSG_CHECK &&
		    st.filemark);
		tsg_read_queue_stats(q, &rs);
		CHECK_EQ(rs.discarded, disc);
		check_pos(d, 11);

		/* A plan shorter than the file: -ENODATA after it, the tape
		   just past its last block; a new plan goes on from there. */
		go(d, 0);
		CHECK(tsg_read_queue_plan(q, 3, ANY, NULL) == 0);
		for (unsigned i = 0; i < 3; i++)
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
			    id_of(blk) == i);
		CHECK(tsg_read_queue_next(q, &blk, &st) == -ENODATA);
		check_pos(d, 3);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 3);
		CHECK(tsg_read_queue_stop(q, &st) == 0);
		CHECK_EQ(sync_next(d), 4);

		/* The caller stops after block k (its CRC or length is wrong):
		   the tape is just past block k. */
		for (unsigned k = 0; k < 10; k++) {
			go(d, 0);
			CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
			for (unsigned i = 0; i <= k; i++)
				CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
				    id_of(blk) == i);
			CHECK(tsg_read_queue_stop(q, &st) == 0);
			check_pos(d, k + 1);
			CHECK_EQ(sync_next(d), k < 9 ? (int)k + 1 : -1);
		}

		/* A bad CRC found as the block arrives: block 6 (corrupted
		   when written) is the first whose CRC32C is wrong; the tape
		   stops just past it. */
		go(d, 0);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		unsigned bad = 99;
		while (tsg_read_queue_next(q, &blk, &st) == 0) {
			unsigned id = id_of(blk);
			if (crc32c(0, blk, st.xfer) != crc_of[id]) {
				bad = id;
				break;
			}
		}
		CHECK_EQ(bad, 6);
		CHECK(tsg_read_queue_stop(q, &st) == 0);
		CHECK_EQ(sync_next(d), 7);

		/* A medium error on the second block of file 1: the ending is
		   there, nothing after it believed, the tape past it. */
		go(d, 1);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 100);
		rc = tsg_read_queue_next(q, &blk, &st);
		if (on_tgt) {
			CHECK(rc == 0 && id_of(blk) == 101);
			CHECK(tsg_read_queue_stop(q, &st) == 0);
		} else {
			CHECK(rc == TSG_CHECK && st.cat == TSG_CAT_MEDIUM_ERROR &&
			    !blk);
		}
		check_pos(d, 13);
		CHECK_EQ(sync_next(d), 102);
		CHECK_EQ(sync_next(d), -1);

		/* A short block (variable blocks, SILI): a block to the
		   queue, 1000 bytes; the caller that wanted 4 KiB stops. */
		go(d, 2);
		CHECK(tsg_read_queue_plan(q, 0, on_tgt ? len_file2 : NULL, NULL) ==
		    0);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 200);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 201);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 202);
		CHECK_EQ(st.xfer, 1000);
		CHECK(crc32c(0, blk, st.xfer) == crc_of[202]);
		CHECK(tsg_read_queue_stop(q, &st) == 0);
		CHECK_EQ(sync_next(d), 203);

		/* A block longer than asked (ILI, negative residue): the
		   ending, and the tape past that block, at the filemark. */
		go(d, 2);
		CHECK(tsg_read_queue_plan(q, 0, len_bs, NULL) == 0);
		for (unsigned i = 200; i < 204; i++)
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
			    id_of(blk) == i);
		rc = tsg_read_queue_next(q, &blk, &st);
		CHECK(rc == TSG_CHECK && st.ili && st.info < 0 && !blk);
		CHECK_EQ(sync_next(d), -1);
		CHECK_EQ(sync_next(d), 300);

		/* Exact lengths (as the engine plans): every block whole, the
		   8 KiB one too, then the filemark. */
		go(d, 2);
		CHECK(tsg_read_queue_plan(q, 6, len_file2, NULL) == 0);
		for (unsigned i = 200; i < 205; i++) {
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
			    id_of(blk) == i);
			CHECK(crc32c(0, blk, st.xfer) == crc_of[i]);
		}
		CHECK(tsg_read_queue_next(q, &blk, &st) == TSG_CHECK &&
		    st.filemark);
		CHECK_EQ(sync_next(d), 300);

		/* End of data in the middle of the queue: 6 blocks, then end
		   of data, and the tape at end of data. */
		go(d, 3);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		for (unsigned i = 300; i < 306; i++)
			CHECK(tsg_read_queue_next(q, &blk, &st) == 0 &&
			    id_of(blk) == i);
		rc = tsg_read_queue_next(q, &blk, &st);
		CHECK(rc == TSG_CHECK && tsg_is_eod(&st));
		check_pos(d, 10 + 1 + 3 + 1 + 5 + 1 + 6);
		CHECK_EQ(sync_next(d), -2);

		/* Reading on across a filemark with a new plan: file 1's
		   first block after file 0's filemark ending. */
		go(d, 0);
		CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
		while ((rc = tsg_read_queue_next(q, &blk, &st)) == 0)
			;
		CHECK(rc == TSG_CHECK && st.filemark);
		CHECK(tsg_read_queue_plan(q, 1, ANY, NULL) == 0);
		CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 100);
		CHECK(tsg_read_queue_next(q, &blk, &st) == -ENODATA);

		tsg_read_queue_stats(q, &rs);
		if (depth > 1)
			CHECK(rs.discarded > 0 && rs.repositions > 0);
		else
			CHECK(rs.discarded == 0);
		tsg_read_queue_close(q);
	}

	/* A queue left with reads in flight is stopped by close; the
	   device takes commands again. */
	CHECK(tsg_read_queue_open(d, 8, BS, &q) == 0);
	go(d, 0);
	CHECK(tsg_read_queue_plan(q, 0, ANY, NULL) == 0);
	CHECK(tsg_read_queue_next(q, &blk, &st) == 0 && id_of(blk) == 0);
	tsg_read_queue_close(q);
	CHECK_EQ(sync_next(d), 1);
	/* No queue while writes are queued, and the other way round. */
	CHECK(tsg_read_queue_open(d, 4, 0, &q) == -EINVAL);

	tsg_free(d);
	T_DONE();
}
