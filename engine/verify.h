/*
 * Private to engine/: read-after-write spot verification. After a part is
 * written, a sample of its blocks (random positions at the configured
 * rate, plus its first and last block) is read back with LOCATE/READ and
 * compared with the CRC32C written; under logical block protection the
 * drive VERIFYs every block itself first.
 */
#ifndef ABS_ENGINE_VERIFY_H
#define ABS_ENGINE_VERIFY_H

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
 */
int eng_spot_part(struct eng_spot *v, const struct eng_part *p,
    enum eng_fault *fault, char *err);

#endif
