/* libFuzzer: the part header and trailer parsers. */
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_header h;
	struct fmt_trailer t;

	fmt_header_parse(data, size, &h);
	fmt_trailer_parse(data, size, &t);
	return 0;
}
