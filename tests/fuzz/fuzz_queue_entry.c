/*
 * libFuzzer: the archive queue's entry files (queue/queue.h), which any
 * producer writes and the archiver and abs-queue scrub trust. An entry the
 * parser accepts must hold docs/QUEUE.md's invariants, and write and parse
 * back to the same entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct absq_entry a, b;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ABSQ_ERRLEN];
	char *s;

	if (absq_entry_parse((const char *)data, size, &a, err) != 0) {
		ASSERT(memchr(err, '\0', sizeof(err)) && err[0]);
		return 0;
	}
	ASSERT(a.path[0] == '/' && a.name[0] && a.name[0] != '.');
	ASSERT(!strchr(a.name, '/'));
	ASSERT(a.state <= ABSQ_REFUSED);
	if (a.state == ABSQ_ARCHIVED) {
		uint64_t sum = 0;
		ASSERT(a.nparts >= 1 && a.nparts <= ABSQ_MAX_PARTS);
		ASSERT(strlen(a.dump_id) == 32 && a.digest[0]);
		for (unsigned i = 0; i < a.nparts; i++) {
			ASSERT(a.parts[i].offset == sum);
			ASSERT(strlen(a.parts[i].tape_id) == 32);
			sum += a.parts[i].bytes;
		}
		ASSERT(sum == a.bytes);
	}
	/* What is written reads back as the same entry. */
	s = absq_entry_json(&a);
	ASSERT(s);
	ASSERT(absq_entry_parse(s, strlen(s), &b, err) == 0);
	ASSERT(memcmp(&a, &b, offsetof(struct absq_entry, parts)) == 0);
	ASSERT(a.nparts == b.nparts && memcmp(a.parts, b.parts,
	    a.nparts * sizeof(a.parts[0])) == 0);
	ASSERT(a.verified == b.verified && a.checked == b.checked &&
	    a.scrubbed == b.scrubbed && strcmp(a.reason, b.reason) == 0);
	free(s);
	return 0;
}
