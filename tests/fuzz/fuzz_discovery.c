/*
 * libFuzzer: a discovery command's output, as abs-ctld checks it before
 * believing any of it (ctld_discover_parse): every accepted entry has a
 * valid name, a valid partition or none, a size of 0 or more or none;
 * each line alone (cat_listed_parse) says the same; a source template
 * filled with an accepted name is a valid source or refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/handlers_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), why[300], src[4096], err[CAT_ERRLEN];
	struct cat_listed *l = NULL, one;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (ctld_discover_parse(buf, size, &l, &n, why, sizeof(why)) < 0) {
		ASSERT(why[0] && l == NULL && n == 0);
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		char line[600];

		ASSERT(cat_name_valid(l[i].name));
		ASSERT(!l[i].partition[0] || cat_name_valid(l[i].partition));
		ASSERT(l[i].bytes == CAT_NULL || l[i].bytes >= 0);
		snprintf(line, sizeof(line), "%s %s", l[i].name, l[i].partition);
		ASSERT(cat_listed_parse(line, &one, err) == 0);
		ASSERT(strcmp(one.name, l[i].name) == 0);
		ASSERT(strcmp(one.partition, l[i].partition) == 0);
		if (cat_discovery_source("dir:/export/{server}/{partition}/{name}",
		    l[i].name, "srv", l[i].partition, src, sizeof(src), err) == 0)
			ASSERT(strncmp(src, "dir:/export/srv/", 16) == 0);
	}
	free(l);
	free(buf);
	return 0;
}
