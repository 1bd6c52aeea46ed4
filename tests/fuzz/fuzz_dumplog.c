/*
 * libFuzzer: dump log line parsing (the crippled-mode record) and the
 * field check merge relies on. A record the check accepts must hold its
 * invariants, and format and parse back to a record the check accepts
 * with the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/dumplog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

/* What cat_dl_check promises of an accepted record. */
static void
invariants(const struct cat_dl_rec *r)
{
	uint64_t bs = r->block_size;

	ASSERT(strlen(r->dump_id) == 32 && strlen(r->tape_id) == 32);
	ASSERT(r->level >= 0 && r->level <= 9 && r->job >= 0);
	ASSERT(strlen(r->date) == 20);
	ASSERT(!r->site[0] || r->job > 0);	/* a site names a job's master */
	if (r->type != CAT_DL_PART && r->type != CAT_DL_DUMP)
		return;
	ASSERT(r->part >= 1 && r->file >= 1);
	ASSERT(bs >= (64u << 10) && bs <= (8u << 20));
	if (r->type == CAT_DL_PART) {
		ASSERT(r->bytes <= r->blocks * bs);
		ASSERT(!r->blocks || r->bytes > (r->blocks - 1) * bs);
		ASSERT(r->part > 1 || r->offset == 0);
		ASSERT(r->offset + r->bytes >= r->offset);
		ASSERT(r->offset + r->bytes <= (uint64_t)INT64_MAX);
	} else {
		ASSERT(r->offset == 0 && r->bytes <= (uint64_t)INT64_MAX);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cat_dl_rec r, r2;
	char line[8192], why[256];
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cat_dl_parse(s, &r) == 0 && cat_dl_check(&r, why, sizeof(why)) == 0) {
		invariants(&r);
		ASSERT(cat_dl_format(&r, line, sizeof(line)) > 0);
		ASSERT(cat_dl_parse(line, &r2) == 0);
		ASSERT(cat_dl_check(&r2, why, sizeof(why)) == 0);
		ASSERT(r2.type == r.type && r2.bytes == r.bytes &&
		    r2.blocks == r.blocks && r2.offset == r.offset &&
		    r2.part == r.part && r2.job == r.job &&
		    strcmp(r2.site, r.site) == 0 &&
		    strcmp(r2.dump_id, r.dump_id) == 0 &&
		    strcmp(r2.entity, r.entity) == 0 &&
		    /* Only part and dump lines carry a digest ("" and "-"
		     * both say none on the others). */
		    ((r.type != CAT_DL_PART && r.type != CAT_DL_DUMP) ||
		    strcmp(r2.digest, r.digest) == 0) &&
		    strcmp(r2.date, r.date) == 0);
	} else if (cat_dl_parse(s, &r) == 0) {
		cat_dl_format(&r, line, sizeof(line));
	}
	free(s);
	return 0;
}
