/* libFuzzer: a kernel uevent message (sg/uevent.c's parser). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sg/uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uevent ev;

	if (uevent_parse(data, size, &ev) == 0) {
		/* What a parsed event promises: terminated fields, ranges. */
		if (strlen(ev.action) >= sizeof(ev.action) ||
		    strlen(ev.devpath) >= sizeof(ev.devpath) ||
		    strlen(ev.devname) >= sizeof(ev.devname) ||
		    strlen(ev.subsystem) >= sizeof(ev.subsystem) ||
		    ev.devpath[0] != '/' || !ev.action[0] ||
		    (ev.major < 0) != (ev.minor < 0) || ev.major > 4095 ||
		    ev.devname[0] == '/' || strstr(ev.devname, ".."))
			__builtin_trap();
	}
	return 0;
}
