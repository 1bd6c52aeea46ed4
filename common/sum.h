/*
 * One pass over a block: its CRC32C and the digests that cover it,
 * computed piece by piece so that each piece is read from memory once
 * and the second and later sums find it in the cache.
 */
#ifndef ABS_SUM_H
#define ABS_SUM_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

/* Bytes per piece: well inside L1 and L2 on current x86 and ARM cores. */
#define SUM_PIECE (32u << 10)

/* Continue crc over buf and update each of the nd digests (NULLs skipped)
 * with it, in SUM_PIECE pieces; the new CRC32C. */
uint32_t sum_block(uint32_t crc, struct digest *const *d, unsigned nd,
    const void *buf, size_t len);

#endif
