/*
 * Private to engine/: the write window (double-buffered EOT detection).
 *
 * Blocks stay in the window, oldest first, until the drive has confirmed
 * them: [refused, to replay][in flight][not yet sent]. A confirmed block is
 * handed to ops->retire (oldest first, exactly once) and only then may its
 * buffer be reused. At early warning, or when the drive refuses a block at
 * physical end (VOLUME OVERFLOW), the window stops sending, drains what is
 * in flight and calls ops->span, which closes the part and puts the next
 * cartridge in; the refused blocks are then sent again, first, so nothing
 * is lost or written twice.
 *
 * The window talks to the drive only through ops (queued writes completed
 * in submission order, as tsg_write_submit/tsg_write_reap do), so a unit
 * test can drive it alone with a fake transport (tests/unit/test_window.c).
 */
#ifndef ABS_ENGINE_WINDOW_H
#define ABS_ENGINE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "engine/engine.h"
#include "sg/tsg.h"

/* One block in the window; buf has 4 bytes of room after len (protection). */
struct eng_wblock {
	uint8_t *buf;
	size_t len;
	uint32_t crc;		/* CRC32C of the len bytes */
	unsigned idx;		/* the caller's buffer index, for retire */
	/* The part digest up to and with this block (eng_window_digests),
	 * valid until retire returns; NULL without digests. */
	const struct digest *pd;
};

struct eng_window_ops {
	void *ctx;
	/* Queue one write (tag: position in the window); 0 or -errno. */
	int (*submit)(void *ctx, const void *buf, size_t len, uint64_t tag);
	/* The oldest write's outcome: 1 and *out filled, 0 none, -errno. */
	int (*reap)(void *ctx, struct tsg_wdone *out);
	/* The block is on tape: account for it, recycle its buffer. */
	int (*retire)(void *ctx, const struct eng_wblock *b);
	/*
	 * At end of tape, with nothing in flight: close the part, put the next
	 * cartridge in, open a part there and call eng_window_cartridge().
	 * The part may hold no block (physical end right after its header):
	 * then it is taken back, not closed, and begins on the next cartridge.
	 */
	int (*span)(void *ctx);
};

/* Cartridges in a row that may refuse a part's first block before the
 * window gives up (a block larger than what a cartridge has left). */
#define ENG_WINDOW_EMPTY_MAX 3

struct eng_window;

/*
 * A window of cap blocks. err is the caller's buffer of ENG_ERRLEN bytes,
 * filled when a call fails.
 */
int eng_window_new(unsigned cap, const struct eng_window_ops *ops, char *err,
    struct eng_window **out);
void eng_window_free(struct eng_window *w);
/* Empty the window for a new attempt (nothing may be in flight). */
void eng_window_reset(struct eng_window *w);
/*
 * A new stream's digest: each block put is summed into sd in the pass that
 * takes its CRC32C, and the part digest (the same as sd's until a part
 * begins mid-stream, then one of the window's) comes with each block to
 * retire. sd NULL: CRCs only. 0 or -ENOMEM.
 */
int eng_window_digests(struct eng_window *w, struct digest *sd,
    enum digest_alg alg);
/*
 * A new cartridge (part): its label for messages, the writes the transport
 * keeps in flight, and whether blocks carry their CRC32C (protection). A
 * part begun mid-stream takes the blocks the window still holds into its
 * digest. 0 or -ENOMEM.
 */
int eng_window_cartridge(struct eng_window *w, const char *label,
    unsigned depth, bool lbp);
/* Queue one block (its CRC32C and digests are taken here) and move the
 * window on. */
int eng_window_put(struct eng_window *w, uint8_t *buf, size_t len,
    unsigned idx);
/* One step of progress; *did is false when there was nothing to do. */
int eng_window_step(struct eng_window *w, bool *did);
/* Until every block is on tape (spanning as needed). */
int eng_window_drain(struct eng_window *w);
/* Wait for everything in flight without looking at it (error paths). */
void eng_window_abandon(struct eng_window *w);
/* Blocks in the window (not yet confirmed). */
unsigned eng_window_count(const struct eng_window *w);
/* Whether this cartridge reached early warning (or physical end). */
bool eng_window_at_eot(const struct eng_window *w);
/* Whether the last failure was the cartridge's (see enum eng_fault). */
enum eng_fault eng_window_fault(const struct eng_window *w);

/* A block's CRC32C after its data, big-endian, as protection carries it. */
void eng_put_crc(uint8_t *p, uint32_t c);

#endif
