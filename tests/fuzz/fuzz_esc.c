/*
 * libFuzzer: common/esc.h on any bytes (file names from a dumped tree,
 * fields off a tape). What comes out holds no control byte, no C1, and is
 * valid UTF-8 (esc_clean), fits its buffer, and escaping it again without
 * ESC_BACKSLASH changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/esc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out, *again;
	size_t cap = 4 * size + 1;

	ASSERT(in && (out = malloc(cap)) && (again = malloc(cap)));
	memcpy(in, data, size);
	in[size] = '\0';
	for (int flags = 0; flags <= ESC_BACKSLASH; flags++) {
		esc_text(in, out, cap, flags);
		ASSERT(strlen(out) < cap);
		ASSERT(esc_clean(out));
		if (!flags) {
			esc_text(out, again, cap, 0);
			ASSERT(strcmp(out, again) == 0);
		}
		/* a small buffer: cut short, still clean */
		char small[7];
		esc_text(in, small, sizeof(small), flags);
		ASSERT(strlen(small) < sizeof(small) && esc_clean(small));
	}
	free(in);
	free(out);
	free(again);
	return 0;
}
