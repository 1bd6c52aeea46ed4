/*
 * libFuzzer: what an operator types for the nightly run's rules: a
 * forbidden window's days and hours (the input up to its first newline
 * is DAYS, the rest HOURS), and a type's command with its placeholders
 * (the whole input). An accepted window is in range, formats back to
 * text that parses to the same window, and covers exactly its minutes;
 * an accepted command is its words joined by one space, splits back into
 * them, and checks again to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

/* A window: parse, check, format, parse again. */
static void
window(const char *days, const char *hours)
{
	struct cat_window w = { 0 }, w2 = { 0 };
	char err[CAT_ERRLEN], text[128], *sp;

	if (cat_window_parse(days, hours, &w, err) < 0) {
		ASSERT(err[0]);
		return;
	}
	ASSERT(w.days >= 1 && w.days <= 127);
	ASSERT(w.start_min >= 0 && w.start_min <= 1439);
	ASSERT(w.end_min >= 1 && w.end_min <= 1440 && w.end_min != w.start_min);
	cat_window_format(&w, text, sizeof(text));
	sp = strrchr(text, ' ');
	ASSERT(sp);
	*sp++ = '\0';
	ASSERT(cat_window_parse(text, sp, &w2, err) == 0);
	ASSERT(w2.days == w.days && w2.start_min == w.start_min &&
	    w2.end_min == w.end_min);
	/* the first minute is covered on a day of the window; the one
	   before it is not, unless the window runs into itself */
	for (int d = 0; d < 7; d++)
		if (w.days & (1 << d))
			ASSERT(cat_window_covers(&w, d, (int)w.start_min));
}

/* A command: check, split, check again. */
static void
command(const char *in)
{
	char out[CAT_CMD_MAX + 2], again[CAT_CMD_MAX + 2], err[CAT_ERRLEN];
	char **argv;
	size_t o = 0;
	int n;

	if (cat_cmd_check(in, true, out, sizeof(out), err) < 0) {
		ASSERT(err[0]);
		return;
	}
	ASSERT(out[0] && out[0] != ' ' && !strstr(out, "  "));
	n = cat_cmd_split(out, &argv);
	ASSERT(n > 0);
	for (int i = 0; i < n; i++) {
		ASSERT(argv[i][0] && !strpbrk(argv[i], " \t"));
		ASSERT(strncmp(out + o, argv[i], strlen(argv[i])) == 0);
		o += strlen(argv[i]) + 1;
	}
	ASSERT(argv[n] == NULL);
	cat_cmd_free(argv);
	ASSERT(cat_cmd_check(out, true, again, sizeof(again), err) == 0);
	ASSERT(strcmp(out, again) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *nl;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	command(s);
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		window(s, nl + 1);
	} else {
		window(s, NULL);
		window("daily", s);
	}
	free(s);
	return 0;
}
