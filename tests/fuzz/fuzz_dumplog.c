/* libFuzzer: dump log line parsing (the crippled-mode record). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/dumplog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cat_dl_rec r;
	char line[8192];
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cat_dl_parse(s, &r) == 0)
		cat_dl_format(&r, line, sizeof(line));
	free(s);
	return 0;
}
