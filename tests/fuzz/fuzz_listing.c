/*
 * libFuzzer: the output of abs-ctld's listing command (--list-cmd), as
 * dump-partition and dump-server check it: every accepted line is a valid
 * entity name with an optional dir:/cmd:/file: source without control
 * bytes, each name once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/crippled_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PROTO_ERRLEN], *buf = malloc(size + 1);
	json_t *out = json_array(), *e;
	size_t i;

	if (!buf || !out) {
		free(buf);
		json_decref(out);
		return 0;
	}
	memcpy(buf, data, size);
	if (crip_list_parse(buf, size, out, err) == 0)
		json_array_foreach(out, i, e) {
			const char *n = json_string_value(json_object_get(e, "name"));
			const char *s = json_string_value(json_object_get(e, "source"));
			if (!n || !cat_name_valid(n))
				abort();
			for (const char *p = s; p && *p; p++)
				if ((unsigned char)*p < 0x20)
					abort();
		}
	free(buf);
	json_decref(out);
	return 0;
}
