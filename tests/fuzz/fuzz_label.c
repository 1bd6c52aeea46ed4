/* libFuzzer: the tape label parser. */
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_label l;

	fmt_label_parse(data, size, &l);
	fmt_kind_of(data, size);
	return 0;
}
