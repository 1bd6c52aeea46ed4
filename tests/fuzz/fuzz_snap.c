/*
 * libFuzzer: a type's command words with placeholders filled
 * (eng_snap_fill) and made into a cmd: source spec (eng_snap_spec) split
 * back by eng_split_argv into the very same words. The input is the
 * words, separated by newlines; the first line the entity's name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/snap.h"
#include "engine/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *save = NULL, *w, *spec;
	char *words[64], **argv = NULL, **back = NULL;
	size_t n = 0;
	struct eng_snap_vars v = { .date = "2026-11-29", .since = NULL,
	    .base = "0123", .snapshot = "abs-2026-11-29-1", .level = 3 };

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	v.entity = strtok_r(text, "\n", &save);
	if (!v.entity)
		v.entity = "";
	while (n < 63 && (w = strtok_r(NULL, "\n", &save)))
		words[n++] = w;
	words[n] = NULL;
	if (n == 0 || eng_snap_fill(words, &v, &argv) < 0) {
		free(text);
		return 0;
	}
	spec = eng_snap_spec(argv);
	if (spec && eng_split_argv(spec + 4, &back) == 0) {
		size_t i = 0;
		for (; argv[i] && back[i]; i++)
			if (strcmp(argv[i], back[i]) != 0)
				abort();	/* a word changed on its way */
		if (argv[i] || back[i])
			abort();		/* words lost or added */
	}
	eng_free_argv(back);
	eng_free_argv(argv);
	free(spec);
	free(text);
	return 0;
}
