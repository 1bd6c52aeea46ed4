/*
 * libFuzzer: base64 as abs-ctld reads it (an uploaded index's chunks). A
 * decoded input encodes back to exactly the input (one encoding only);
 * anything else is refused without touching memory out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = malloc(B64_DECLEN(size) + 1);
	char *back = malloc(B64_ENCLEN(B64_DECLEN(size)) + 1);
	size_t n;

	ASSERT(out && back);
	if (b64_decode((const char *)data, size, out, &n) == 0) {
		ASSERT(n <= B64_DECLEN(size));
		ASSERT(b64_encode(out, n, back) == size);
		ASSERT(memcmp(back, data, size) == 0);
	}
	free(out);
	free(back);
	return 0;
}
