/* CRC32C (Castagnoli), as used for every tape block. */
#ifndef ABS_CRC32C_H
#define ABS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over buf; start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * The implementations, slowest first: "table" (slicing by 8, any CPU),
 * "sse42" (one crc32q stream, latency-bound), "sse42x3" (three crc32q
 * streams joined by carry-less multiplication), "avx512" (VPCLMULQDQ
 * folding of 256 bytes a step). crc32c() uses the fastest this CPU has.
 */
const char *crc32c_impl(void);
/* Tests and benchmarks: use NAME from now on; -1 if unknown or the CPU
 * lacks it. NULL: back to the fastest. */
int crc32c_use(const char *name);
/* The names, in the order above; NULL past the last. */
const char *crc32c_impl_name(unsigned i);

#endif
