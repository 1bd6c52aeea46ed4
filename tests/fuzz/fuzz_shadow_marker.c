/*
 * libFuzzer: a shadow's marker file (engine/shadow.h), which the media
 * server reads from a directory anyone with write access to it may have
 * changed. A marker the parser accepts names an entity without control
 * characters and a dump that is "-" or 32 hex digits, and formats and
 * parses back to the same marker.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/shadow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eng_shadow_marker a, b;
	char err[ENG_ERRLEN], buf[ENG_SHADOW_MARKER_MAX + 1];
	int n;

	if (eng_shadow_marker_parse((const char *)data, size, &a, err) < 0) {
		ASSERT(memchr(err, '\0', sizeof(err)) && err[0]);
		return 0;
	}
	ASSERT(a.entity[0] && memchr(a.entity, '\0', sizeof(a.entity)));
	for (const char *p = a.entity; *p; p++)
		ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
	ASSERT(strcmp(a.dump, "-") == 0 || (strlen(a.dump) == 32 &&
	    strspn(a.dump, "0123456789abcdefABCDEF") == 32));
	ASSERT(a.level >= -1 && a.level <= 99);
	n = eng_shadow_marker_format(&a, buf, sizeof(buf));
	if (n == -ENAMETOOLONG)	/* a long name twice over 4096 bytes */
		return 0;
	ASSERT(n > 0);
	ASSERT(eng_shadow_marker_parse(buf, (size_t)n, &b, err) == 0);
	ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	return 0;
}
