/*
 * Part and stream digests: XXH3-128 by default (tens of GB/s, checkable
 * with xxh128sum), SHA-256 where a site wants a cryptographic digest
 * (OpenSSL's, about 1.4 GB/s on SHA-NI hardware).
 */
#ifndef ABS_DIGEST_H
#define ABS_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 65	/* the longest hex digest plus NUL */

enum digest_alg { DIGEST_XXH128, DIGEST_SHA256 };

struct digest;

/* -1 for an unknown name ("xxh128", "sha256"). */
int digest_alg_from_name(const char *name);
const char *digest_alg_name(enum digest_alg alg);
struct digest *digest_new(enum digest_alg alg);
void digest_free(struct digest *d);
void digest_update(struct digest *d, const void *buf, size_t len);
/* dst (of the same algorithm) takes src's state; 0 or -1. */
int digest_copy(struct digest *dst, const struct digest *src);
/* Finish into lowercase hex plus NUL (32 or 64 digits). */
void digest_final_hex(struct digest *d, char out[DIGEST_HEX_LEN]);

#endif
