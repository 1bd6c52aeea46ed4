/*
 * libFuzzer: the report page (tools/report_html.c) from whatever abs-ctld
 * answers: the fuzzer's bytes are the gathered JSON (a report, nights,
 * drives, pools, tapes, errors, floors of any shape). The page and the
 * mail must be written whole, and no byte of a string may reach the page
 * unescaped: a '<' the input carries never opens a tag.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "proto/proto.h"	/* jansson, as abs-ctl links it */
#include "tools/report_html.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The page's tags are ours: none may be "<x" from the input's "<x...". */
static void
check_tags(const char *page, size_t n)
{
	static const char *const ours[] = { "<!DOCTYPE", "<html", "<head",
	    "<meta", "<title", "<style", "<body", "<h1", "<h2", "<h3", "<p",
	    "<span", "<div", "<b>", "<svg", "<line", "<text", "<rect", "<g>",
	    "<table", "<tr", "<td", "<th", "<details", "<summary", "<footer",
	    "</", NULL };

	for (size_t i = 0; i < n; i++) {
		if (page[i] != '<')
			continue;
		bool ok = false;
		for (const char *const *t = ours; *t && !ok; t++)
			ok = strncmp(page + i, *t, strlen(*t)) == 0;
		if (!ok) {
			fprintf(stderr, "a tag not the page's own at %zu: %.40s\n",
			    i, page + i);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &e), *to = json_pack("[s]", "ops@example.org");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		json_decref(to);
		return 0;
	}
	if ((mem = open_memstream(&buf, &len))) {
		if (rh_write_html(mem, j) < 0)
			abort();
		fclose(mem);
		/* The stylesheet's and the page's own '<' only. */
		check_tags(buf, len);
		free(buf);
	}
	buf = NULL;
	if ((mem = open_memstream(&buf, &len))) {
		if (rh_write_mime(mem, j, to, NULL) < 0)
			abort();
		fclose(mem);
		free(buf);
	}
	json_decref(j);
	json_decref(to);
	return 0;
}
