/* libFuzzer: sense decoding (first byte picks the SCSI status). */
#include <stddef.h>
#include <stdint.h>

#include "sg/tsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsg_status st;
	char buf[256];

	if (size < 1)
		return 0;
	tsg_decode_sense(data + 1, (int)(size - 1), data[0] & 0x02 ? 0x02 : data[0],
	    &st);
	tsg_status_str(&st, buf, sizeof(buf));
	tsg_is_early_warning(&st);
	return 0;
}
