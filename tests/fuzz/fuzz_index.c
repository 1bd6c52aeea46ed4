/*
 * libFuzzer: the file index decoder (an index read from tape, from a dump
 * log's L.fidx/ or from the catalog). What it accepts must hold the
 * invariants the readers rely on, and encode and decode back the same.
 *
 * The CRC and the zstd frame would stop nearly every mutation at the
 * door, so the first byte picks what the rest is: 0..7 the region as it
 * is (the seeds), 8..11 a payload under a made head with its CRC, else a
 * body compressed under a made head; the counts then come from the next
 * bytes. An odd first byte makes a version 2 head (a dump ID under the
 * CRC), an even one a version 1 head.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "catalog/fileindex.h"
#include "common/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static void
invariants(const struct fidx *x)
{
	for (uint64_t i = 0; i < x->nentries; i++) {
		const struct fidx_entry *e = &x->e[i];
		size_t n = strlen(e->path);
		ASSERT(n >= 1);
		ASSERT(strcmp(e->path, ".") == 0 || strncmp(e->path, "./", 2) == 0);
		ASSERT(!strstr(e->path, "/../") && !strstr(e->path, "//") &&
		    !strstr(e->path, "/./") && e->path[n - 1] != '/');
		ASSERT(n < 3 || strcmp(e->path + n - 3, "/..") != 0);
		ASSERT(e->type >= FIDX_REG && e->type <= FIDX_SOCK);
		ASSERT(e->mode <= 07777);
		if (e->flags & FIDX_IN_STREAM)
			ASSERT(e->raw_offset <= e->raw_end &&
			    e->raw_end <= x->archive_bytes);
		if (i)
			ASSERT(fidx_path_cmp(x->e[i - 1].path, e->path) < 0);
		ASSERT(fidx_lookup(x, e->path) == e);
		uint64_t lo, hi;
		fidx_subtree(x, e->path, &lo, &hi);
		ASSERT(lo == i && hi > i && hi <= x->nentries);
		(void)fidx_match("*", e->path);
	}
	for (uint64_t i = 0; i < x->nframes; i++) {
		ASSERT(x->f[i].raw <= x->archive_bytes);
		if (i)
			ASSERT(x->f[i].raw > x->f[i - 1].raw &&
			    x->f[i].stored > x->f[i - 1].stored);
		ASSERT(fidx_frame_at(x, x->f[i].raw) == &x->f[i]);
	}
}

/* A head for the payload at r + hl (hl: 32, version 1; 48, version 2
   with a dump ID). */
static void
made_head(uint8_t *r, size_t hl, uint32_t ne, uint32_t nf, size_t z)
{
	memcpy(r, FIDX_MAGIC, 8);
	r[8] = hl == 32 ? 1 : 2;
	r[9] = r[10] = r[11] = 0;
	for (size_t i = 32; i < hl; i++)
		r[i] = (uint8_t)(0xa5 ^ i);
	uint32_t c = crc32c(crc32c(0, r + 32, hl - 32), r + hl, z);
	for (int i = 0; i < 4; i++) {
		r[12 + i] = (uint8_t)(c >> (8 * i));
		r[16 + i] = (uint8_t)(ne >> (8 * i));
		r[20 + i] = (uint8_t)(nf >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		r[24 + i] = (uint8_t)((uint64_t)z >> (8 * i));
}

static void one(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 || data[0] < 8) {
		one(data, size);
		return 0;
	}
	uint32_t ne = data[1] | (uint32_t)data[2] << 8, nf = data[3];
	const uint8_t *p = data + 4;
	size_t n = size - 4, hl = data[0] & 1 ? 48 : 32;
	size_t cap = hl + (data[0] < 12 ? n : ZSTD_compressBound(n));
	uint8_t *r = malloc(cap);
	if (!r)
		return 0;
	size_t z = n;
	if (data[0] < 12) {
		memcpy(r + hl, p, n);
	} else {
		z = ZSTD_compress(r + hl, cap - hl, p, n, 1);
		if (ZSTD_isError(z)) {
			free(r);
			return 0;
		}
	}
	made_head(r, hl, ne, nf, z);
	one(r, hl + z);
	free(r);
	return 0;
}

static void
one(const uint8_t *data, size_t size)
{
	struct fidx x, y;
	struct fidx_builder *b;
	char why[256];
	uint64_t total;
	uint8_t *enc;
	size_t len;

	if (fidx_encoded_len(data, size, &total) == 0)
		ASSERT(total >= 32);
	if (fidx_decode(data, size, &x, why, sizeof(why)) != 0) {
		ASSERT(why[0]);
		return;
	}
	invariants(&x);
	ASSERT(x.dump_id[0] == '\0' || strlen(x.dump_id) == 32);
	ASSERT(fidx_builder_new(&b) == 0);
	if (x.dump_id[0])
		ASSERT(fidx_builder_dump(b, x.dump_id) == 0);
	for (uint64_t i = 0; i < x.nentries; i++)
		ASSERT(fidx_builder_add(b, &x.e[i]) == 0);
	for (uint64_t i = 0; i < x.nframes; i++)
		ASSERT(fidx_builder_frame(b, x.f[i].raw, x.f[i].stored) == 0);
	ASSERT(fidx_builder_encode(b, x.archive_bytes, &enc, &len) == 0);
	ASSERT(fidx_decode(enc, len, &y, why, sizeof(why)) == 0);
	ASSERT(y.nentries == x.nentries && y.nframes == x.nframes &&
	    y.archive_bytes == x.archive_bytes &&
	    strcmp(y.dump_id, x.dump_id) == 0);
	for (uint64_t i = 0; i < x.nentries; i++) {
		const struct fidx_entry *p = &x.e[i], *q = &y.e[i];
		ASSERT(strcmp(p->path, q->path) == 0 && p->type == q->type &&
		    p->flags == q->flags && p->mode == q->mode &&
		    p->uid == q->uid && p->gid == q->gid &&
		    p->nlink == q->nlink && p->ino == q->ino &&
		    p->size == q->size && p->mtime == q->mtime);
		if (p->flags & FIDX_IN_STREAM)
			ASSERT(p->raw_offset == q->raw_offset &&
			    p->raw_end == q->raw_end);
	}
	for (uint64_t i = 0; i < x.nframes; i++)
		ASSERT(x.f[i].raw == y.f[i].raw && x.f[i].stored == y.f[i].stored);
	free(enc);
	fidx_builder_free(b);
	fidx_free(&y);
	fidx_free(&x);
}
