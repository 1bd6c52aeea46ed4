/*
 * XXH3-128, streaming, with the widest vector unit the CPU has: the
 * library's own code (xxhash.h) compiled here once per unit and chosen at
 * run time; Debian's libxxhash is built for baseline SSE2. Every variant
 * gives the same hash (tests/unit/test_digest.c).
 */
#ifndef ABS_XXH3_H
#define ABS_XXH3_H

#include <stddef.h>

struct xxh3;

/* A fresh state (seed 0, the default secret); NULL on no memory. */
struct xxh3 *xxh3_new(void);
void xxh3_free(struct xxh3 *x);
void xxh3_update(struct xxh3 *x, const void *buf, size_t len);
/* dst takes src's place (both from xxh3_new). */
void xxh3_copy(struct xxh3 *dst, const struct xxh3 *src);
/* The hash in canonical (big-endian) form, as xxh128sum prints it. */
void xxh3_digest(const struct xxh3 *x, unsigned char out[16]);

/* The variants, slowest first: "libxxhash" (the library's own update,
 * a cross-check), "scalar", "avx2", "avx512". */
const char *xxh3_impl(void);
/* Tests and benchmarks: use NAME from now on; -1 if unknown or the CPU
 * lacks it. NULL: back to the fastest. */
int xxh3_use(const char *name);
const char *xxh3_impl_name(unsigned i);

#endif
