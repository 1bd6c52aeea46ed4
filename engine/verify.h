/*
 * Private to engine/: read-after-write spot verification. After a part is
 * written, a sample of its blocks (random positions at the configured
 * rate, plus its first and last block) is read back with LOCATE/READ and
 * compared with the CRC32C written; under logical block protection the
 * drive VERIFYs every block itself first.
 */
#ifndef ABS_ENGINE_VERIFY_H
#define ABS_ENGINE_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct eng_part;

struct eng_spot {
	double rate;		/* sample fraction; < 0: off */
	uint64_t rng;		/* xorshift64* state */
	uint8_t *buf;		/* one block and its protection CRC */
	/* For the dump's result: */
	uint64_t checked, bad, drive_verified;
	double secs;
};

/* Buffers for blocks of bs bytes and a random seed; 0 or -ENOMEM. */
int eng_spot_init(struct eng_spot *v, double rate, uint32_t bs);
void eng_spot_fini(struct eng_spot *v);
/* Counts from zero (a new attempt). */
void eng_spot_reset(struct eng_spot *v);
/*
 * Check the part p has just closed. On a mismatch: -EBADMSG, err says
 * which block, and *fault is ENG_FAULT_VERIFY (the cartridge's failure);
 * other negative codes are the drive's (positioning), *fault untouched.
 * A part that closes a commit point (p->o->commit's check_due) reads the
 * parts the commit point covers first, in the same pass (see
 * eng_commit_check), and their lines are released or lost after it.
 */
int eng_spot_part(struct eng_spot *v, const struct eng_part *p,
    enum eng_fault *fault, char *err);

/*
 * A part closed behind an immediate filemark, kept for the commit point
 * that covers it (engine.h, struct eng_commit): where it is on tape and
 * its sample, chosen as it closed, with the CRC32C each block had.
 */
struct eng_spot_held {
	char dump_id[33], label[64], tape_id[64];
	int64_t job;
	uint64_t file;		/* the part's header's tape file */
	uint64_t lon;		/* and logical object */
	uint64_t blocks;	/* data blocks */
	uint32_t bs, last_len;	/* block size, the last block's length */
	bool lbp;
	unsigned n;		/* blocks sampled */
	uint64_t *at;		/* their numbers, ascending */
	uint32_t *crc;
	uint64_t checked, bad;	/* read back at the commit point */
};

/* Keep the sample of part p (closed deferred) on c; 0 or -ENOMEM. */
int eng_spot_keep(struct eng_spot *v, const struct eng_part *p,
    struct eng_commit *c);
/*
 * A commit point's read back on dev, of the parts c holds (at most
 * ENG_COMMIT_SPOT_PARTS: the last and others at random, in tape order)
 * with buf (a block and its protection CRC), end of data after it unless
 * eod is false (a part's own check follows in the same pass). 0; -EBADMSG
 * with err and c->bad when a block does not read back as written; other
 * negative codes are the drive's (positioning).
 */
int eng_commit_check(struct eng_commit *c, struct tsg_dev *dev, uint8_t *buf,
    bool eod, char *err);
/* Each held part's counts to on_verified (or hooks->verified), then gone. */
void eng_commit_checked(struct eng_commit *c, const struct eng_dump_opts *o);
/* Forget the held parts (of every job but keep, if keep > 0). */
void eng_commit_held_drop(struct eng_commit *c, int64_t keep);

#endif
