/*
 * Private to engine/: a cartridge's contents from the tape alone (scan.c),
 * for `abs-engine scan` and a media server's rebuild of the catalog.
 */
#ifndef ABS_ENGINE_SCAN_H
#define ABS_ENGINE_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/format.h"

/* A cartridge: its label; once done, what the scan found on it. */
struct eng_scan_tape {
	struct fmt_label l;
	bool done;		/* false: the label was just read */
	uint64_t files;		/* tape files after the label */
	uint64_t parts;		/* parts handed over */
	uint64_t other;		/* files neither header nor trailer */
	bool full;		/* its last part ended at early warning (no
				   trailer, tape_full, or not its stream's
				   last), or end of data is past it */
};

/* A part: its header, its trailer if it has one, and its counts. */
struct eng_scan_part {
	struct fmt_header h;
	struct fmt_trailer t;	/* valid if trailer */
	bool trailer;
	uint64_t file;		/* tape file of the header */
	uint64_t bytes, blocks;	/* the trailer's, or counted */
	char digest[65];	/* the part's: the trailer's, or computed */
	/* A last part whose trailer names a file index wholly inside it:
	   the index's encoded bytes, read back (NULL: none, or unreadable). */
	uint8_t *index;
	size_t index_len;
};

/*
 * What a scan hands over, in tape order: tape (label read), part per
 * part, tape again (done); skipped for a library slot it could not scan
 * (rc -ENODATA: a blank cartridge, nothing to scan; else damaged, foreign
 * or unreadable, why says). A negative result from tape or part stops
 * the scan with it.
 */
struct eng_scan_fns {
	int (*tape)(void *ctx, const struct eng_scan_tape *t);
	int (*part)(void *ctx, const struct eng_scan_tape *t,
	    const struct eng_scan_part *p);
	void (*skipped)(void *ctx, int slot, int rc, const char *why);
	void *ctx;
	/* A tape file that could not be read (it may hold a part). */
	void (*unreadable)(void *ctx, const struct eng_scan_tape *t,
	    uint64_t file, const char *why);
};

/*
 * Scan the cartridge in device, or (library) every cartridge of the
 * device's library in slot order, loading each in turn: the number of
 * cartridges scanned, or negative with err.
 */
int eng_scan_run(const char *device, bool library,
    const struct eng_scan_fns *fns, char *err);
/* A part as one JSON object (abs-engine scan --json, media server events). */
json_t *eng_scan_part_json(const struct eng_scan_tape *t,
    const struct eng_scan_part *p);
/* Standard base64 with '=' padding, NUL-terminated (malloc'd), or NULL. */
char *eng_base64(const uint8_t *in, size_t n);
/* abs-engine scan: a table, or one JSON object per line. */
int eng_scan(const char *device, bool library, bool json, FILE *out,
    char *err);

#endif
