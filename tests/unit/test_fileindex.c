/*
 * The file index codec: round trips, lookup, subtree, frame_at, match, the
 * builder's refusals and every class of damage fidx_decode names.
 *
 * ABS_FIDX_TREE=DIR also indexes DIR as a dump would and prints its cost;
 * ABS_FIDX_SYNTH=N indexes N generated paths of a source tree and home
 * directories (docs/FORMAT.md "The file index", costs).
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <zstd.h>

#include "catalog/fileindex.h"
#include "common/crc32c.h"
#include "t.h"

static struct fidx_entry
ent(const char *path, int type, int flags, uint64_t off, uint64_t end)
{
	struct fidx_entry e = { .path = path, .type = (uint8_t)type,
	    .flags = (uint8_t)flags, .mode = 0644, .uid = 1000, .gid = 100,
	    .nlink = 1, .ino = 1000 + strlen(path), .size = end - off,
	    .mtime = 1700000000, .raw_offset = off, .raw_end = end };
	return e;
}

static int
same(const struct fidx_entry *a, const struct fidx_entry *b)
{
	return strcmp(a->path, b->path) == 0 && a->type == b->type &&
	    a->flags == b->flags && a->mode == b->mode && a->uid == b->uid &&
	    a->gid == b->gid && a->nlink == b->nlink && a->ino == b->ino &&
	    a->size == b->size && a->mtime == b->mtime &&
	    (!(a->flags & FIDX_IN_STREAM) || (a->raw_offset == b->raw_offset &&
	    a->raw_end == b->raw_end));
}

/* ABS_FIDX_SEEDS=DIR: the encodings below become fuzz_index's seeds. */
static void
seed(const char *name, const uint8_t *p, size_t n)
{
	const char *dir = getenv("ABS_FIDX_SEEDS");
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb"))) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* ---- hand-made regions for the damage classes ---- */

struct body {
	uint8_t p[1 << 17];
	size_t n;
};

static void
bv(struct body *b, uint64_t v)
{
	do {
		b->p[b->n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b->p[b->n] |= 0x80;
		b->n++;
	} while (v);
}

static void
bs(struct body *b, const char *s, size_t n)
{
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* A body seed: fuzz_index compresses it under a made head. */
static void
seed_body(const char *name, const struct body *b, uint16_t ne, uint8_t nf)
{
	uint8_t *p = malloc(b->n + 4);

	p[0] = 12;
	p[1] = (uint8_t)ne;
	p[2] = (uint8_t)(ne >> 8);
	p[3] = nf;
	memcpy(p + 4, b->p, b->n);
	seed(name, p, b->n + 4);
	free(p);
}

/* One entry: prefix k of the previous path, suffix s, fields. */
static void
bent(struct body *b, uint64_t k, const char *s, size_t sl, int tf,
    uint64_t mode, uint64_t uid)
{
	bv(b, k);
	bv(b, sl);
	bs(b, s, sl);
	b->p[b->n++] = (uint8_t)tf;
	bv(b, mode);
	bv(b, uid);
	bv(b, 100);	/* gid */
	bv(b, 1);	/* nlink */
	bv(b, 2);	/* ino delta (zigzag) */
	bv(b, 5);	/* size */
	bv(b, 0);	/* mtime delta */
}

static void
head(uint8_t *r, uint32_t ne, uint32_t nf, size_t z)
{
	memcpy(r, "ABS-FIDX", 8);
	r[8] = 1;	/* a version 1 head (32 bytes) */
	r[9] = r[10] = r[11] = 0;
	uint32_t c = crc32c(0, r + 32, z);
	for (int i = 0; i < 4; i++) {
		r[12 + i] = (uint8_t)(c >> (8 * i));
		r[16 + i] = (uint8_t)(ne >> (8 * i));
		r[20 + i] = (uint8_t)(nf >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		r[24 + i] = (uint8_t)((uint64_t)z >> (8 * i));
}

/* The region of body with the given counts: *len bytes, malloc'd. */
static uint8_t *
region(const struct body *b, uint32_t ne, uint32_t nf, size_t *len)
{
	size_t bound = ZSTD_compressBound(b->n);
	uint8_t *r = malloc(32 + bound);
	size_t z = ZSTD_compress(r + 32, bound, b->p, b->n, 3);

	head(r, ne, nf, z);
	*len = 32 + z;
	return r;
}

/* Decode must refuse r with -EBADMSG and a reason holding word. */
static int
refused(const uint8_t *r, size_t len, const char *word)
{
	struct fidx x;
	char why[512];
	int rc = fidx_decode(r, len, &x, why, sizeof(why));

	if (rc != -EBADMSG || !why[0] || !strstr(why, word)) {
		fprintf(stderr, "decode: rc %d, why \"%s\", wanted \"%s\"\n", rc,
		    why, word);
		if (rc == 0)
			fidx_free(&x);
		return 0;
	}
	return 1;
}

static int
body_refused(const struct body *b, uint32_t ne, uint32_t nf, const char *word)
{
	size_t len;
	uint8_t *r = region(b, ne, nf, &len);
	int ok = refused(r, len, word);

	free(r);
	return ok;
}

static void
damage(void)
{
	struct body b;
	uint8_t *r;
	size_t len;

	/* A good two-entry body first: the hand encoder agrees with decode. */
	memset(&b, 0, sizeof(b));
	bv(&b, 4096);			/* archive_bytes */
	bent(&b, 0, ".", 1, FIDX_DIR, 0755, 0);
	bent(&b, 1, "/a", 2, FIDX_REG | (FIDX_IN_STREAM | FIDX_HAS_DATA) << 4,
	    0644, 7);
	bv(&b, 0);
	bv(&b, 1024);
	r = region(&b, 2, 0, &len);
	seed("hand", r, len);
	seed_body("body-hand", &b, 2, 0);
	struct fidx x;
	char why[512];
	CHECK(fidx_decode(r, len, &x, why, sizeof(why)) == 0);
	CHECK(x.nentries == 2 && strcmp(x.e[1].path, "./a") == 0 &&
	    x.e[1].raw_end == 1024 && x.e[1].uid == 7);
	fidx_free(&x);

	/* The head. */
	CHECK(refused(r, 31, "shorter than"));
	CHECK(refused(r, 0, "shorter than"));
	CHECK(refused(r, len - 1, "cut short"));
	uint8_t *big = malloc(len + 5);
	memcpy(big, r, len);
	memset(big + len, 0, 5);
	CHECK(refused(big, len + 5, "follow the index"));
	free(big);
	r[0] ^= 0xff;
	CHECK(refused(r, len, "magic"));
	r[0] ^= 0xff;
	r[8] ^= 0xff;
	CHECK(refused(r, len, "version"));
	r[8] ^= 0xff;
	r[10] ^= 0xff;
	CHECK(refused(r, len, "reserved"));
	r[10] ^= 0xff;
	r[31] ^= 0x80;
	CHECK(refused(r, len, "payload length"));
	r[31] ^= 0x80;
	r[12] ^= 0xff;
	CHECK(refused(r, len, "CRC32C"));
	r[12] ^= 0xff;
	r[40] ^= 0x10;
	CHECK(refused(r, len, "CRC32C"));
	r[40] ^= 0x10;
	/* Every single-byte change and every cut is refused. */
	int flips = 0;
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			r[i] ^= (uint8_t)(1 << bit);
			if (fidx_decode(r, len, &x, why, sizeof(why)) == -EBADMSG)
				flips++;
			else
				fidx_free(&x);
			r[i] ^= (uint8_t)(1 << bit);
		}
	CHECK_EQ(flips, (int)len * 8);
	int cuts = 0;
	for (size_t i = 0; i < len; i++)
		cuts += fidx_decode(r, i, &x, why, sizeof(why)) == -EBADMSG;
	CHECK_EQ(cuts, (int)len);
	CHECK(fidx_decode(r, len, &x, why, sizeof(why)) == 0);
	fidx_free(&x);

	/* Counts against the body. */
	CHECK(body_refused(&b, 3, 0, "cannot fit"));
	CHECK(body_refused(&b, 1, 0, "follow the last entry"));
	CHECK(body_refused(&b, 1000, 0, "cannot fit"));
	CHECK(body_refused(&b, 2, 1000, "cannot fit"));
	{
		struct body b2;
		memset(&b2, 0, sizeof(b2));
		bv(&b2, 4096);
		bent(&b2, 0, "./a-rather-long-name-to-make-room-for-two", 41,
		    FIDX_REG, 0644, 0);
		CHECK(body_refused(&b2, 2, 0, "entry 1 is cut short"));
	}

	/* The payload's frame. */
	uint8_t raw[256];
	memset(raw, 0, sizeof(raw));
	memcpy(raw, "ABS-FIDXx", 9);
	raw[8] = 1;
	memcpy(raw + 32, "not zstd at all", 15);
	head(raw, 0, 0, 15);
	CHECK(refused(raw, 47, "not a zstd frame"));
	{
		/* A frame without its content size. */
		ZSTD_CCtx *c = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
		uint8_t out[512];
		ZSTD_outBuffer ob = { out + 32, sizeof(out) - 32, 0 };
		ZSTD_inBuffer ib = { b.p, b.n, 0 };
		ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
		ZSTD_freeCCtx(c);
		head(out, 2, 0, ob.pos);
		CHECK(refused(out, 32 + ob.pos, "does not say its size"));
		/* Two frames. */
		size_t one = len - 32;
		uint8_t *two = malloc(32 + 2 * one);
		memcpy(two + 32, r + 32, one);
		memcpy(two + 32 + one, r + 32, one);
		head(two, 2, 0, 2 * one);
		CHECK(refused(two, 32 + 2 * one, "exactly one zstd frame"));
		/* Cut inside the frame (CRC made to match). */
		head(two, 2, 0, one - 3);
		CHECK(refused(two, 32 + one - 3, "zstd"));
		free(two);
	}
	free(r);

	/* A body larger than its counts allow (a bomb). */
	struct body *hb = calloc(1, sizeof(*hb));
	hb->n = 70000;
	CHECK(body_refused(hb, 1, 0, "more than its"));
	CHECK(body_refused(hb, 0, 0, "more than its"));
	free(hb);

	/* The body, class by class. */
#define BODY(...) do { memset(&b, 0, sizeof(b)); bv(&b, 4096); __VA_ARGS__; } while (0)
	BODY();
	b.n = 0;
	b.p[b.n++] = 0x80;
	CHECK(body_refused(&b, 0, 0, "archive's length"));
	b.n = 0;
	for (int i = 0; i < 9; i++)
		b.p[b.n++] = 0xff;
	b.p[b.n++] = 0x7f;	/* past 64 bits */
	CHECK(body_refused(&b, 0, 0, "archive's length"));
	BODY(bv(&b, 0); bv(&b, 0); bv(&b, 100); bv(&b, 50));
	r = region(&b, 0, 2, &len);
	seed_body("body-frames", &b, 0, 2);
	CHECK(fidx_decode(r, len, &x, why, sizeof(why)) == 0);
	CHECK(x.nframes == 2 && x.f[1].raw == 100 && x.f[1].stored == 50);
	fidx_free(&x);
	free(r);
	BODY(bv(&b, 0); bv(&b, 0); bv(&b, 100));
	CHECK(body_refused(&b, 0, 2, "frame 1 is cut short"));
	BODY(bv(&b, 10); bv(&b, 5); bv(&b, 0); bv(&b, 7));
	CHECK(body_refused(&b, 0, 2, "does not start after"));
	BODY(bv(&b, 10); bv(&b, 5); bv(&b, 7); bv(&b, 0));
	CHECK(body_refused(&b, 0, 2, "does not start after"));
	BODY(bv(&b, 5000); bv(&b, 0));
	CHECK(body_refused(&b, 0, 1, "past the archive"));
	BODY(bv(&b, UINT64_MAX); bv(&b, 0); bv(&b, 10); bv(&b, 1));
	CHECK(body_refused(&b, 0, 2, "past the archive"));
	BODY(bent(&b, 0, ".", 1, FIDX_DIR, 0755, 0); bent(&b, 2, "/a", 2,
	    FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 2, 0, "shares 2 bytes"));
	BODY(bv(&b, 0); bv(&b, 70000); bs(&b, "./abcdefghijkl", 14));
	CHECK(body_refused(&b, 1, 0, "longer than"));
	BODY(bv(&b, 0); bv(&b, 200); bs(&b, "./abcdefghijkl", 14));
	CHECK(body_refused(&b, 1, 0, "path is cut short"));
	BODY(bent(&b, 0, "./a\0b", 5, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "NUL"));
	BODY(bent(&b, 0, "./a/../../etc", 13, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "components"));
	BODY(bent(&b, 0, "etc/passwd", 10, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "components"));
	BODY(bent(&b, 0, "./a//b", 6, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "components"));
	BODY(bent(&b, 0, "./a/", 4, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "components"));
	BODY(bent(&b, 0, "", 0, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "components"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG, 0644, 0);
	    bent(&b, 2, "a", 1, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 2, 0, "sorts before"));
	/* strcmp order is not path order: "./a-b" before "./a/b" is wrong. */
	BODY(bent(&b, 0, "./a-b", 5, FIDX_REG, 0644, 0);
	    bent(&b, 3, "/b", 2, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 2, 0, "sorts before"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG, 0644, 0);
	    bent(&b, 3, "", 0, FIDX_REG, 0644, 0));
	CHECK(body_refused(&b, 2, 0, "repeats"));
	BODY(bent(&b, 0, "./b", 3, 0, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "type 0"));
	BODY(bent(&b, 0, "./b", 3, 8, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "type 8"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | 0x40, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "unknown flags"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | FIDX_HAS_DATA << 4, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "not in the stream"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG, 010000, 0));
	CHECK(body_refused(&b, 1, 0, "mode"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG, 0644, (uint64_t)1 << 32));
	CHECK(body_refused(&b, 1, 0, "32 bits"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | FIDX_IN_STREAM << 4, 0644, 0));
	CHECK(body_refused(&b, 1, 0, "cut short"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | FIDX_IN_STREAM << 4, 0644, 0);
	    bv(&b, 0); bv(&b, 4097));
	CHECK(body_refused(&b, 1, 0, "past the archive"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | FIDX_IN_STREAM << 4, 0644, 0);
	    bv(&b, 2 * 5000); bv(&b, 0));
	CHECK(body_refused(&b, 1, 0, "past the archive"));
	/* raw_offset near 2^64, length wrapping to before it. */
	BODY(bent(&b, 0, "./b", 3, FIDX_REG | FIDX_IN_STREAM << 4, 0644, 0);
	    bv(&b, 1); bv(&b, 10));
	b.n -= 2;
	bv(&b, UINT64_MAX - 1);	/* zigzag: -2^63 */
	bv(&b, UINT64_MAX);
	CHECK(body_refused(&b, 1, 0, "before its start"));
	BODY(bent(&b, 0, "./b", 3, FIDX_REG, 0644, 0); bv(&b, 0));
	CHECK(body_refused(&b, 1, 0, "follow the last entry"));
#undef BODY
}

/* ---- the builder and the readers ---- */

static void
roundtrip(void)
{
	static const char *paths[] = { "./a.txt", "./a/c", ".", "./a",
	    "./a-x", "./a/c/d", "./a0", "./b", "./\xc3\xa9t\xc3\xa9",
	    "./a/c/d e", "./sp ace/x", "./sp ace", "./a/b" };
	size_t np = sizeof(paths) / sizeof(paths[0]);
	struct fidx_builder *bld;
	struct fidx_entry in[32];
	uint8_t *enc;
	size_t len;
	struct fidx x;
	char why[256];
	uint64_t lo, hi;

	CHECK(fidx_builder_new(&bld) == 0);
	for (size_t i = 0; i < np; i++) {
		in[i] = ent(paths[i], i % 3 == 0 ? FIDX_DIR : FIDX_REG,
		    i % 2 ? FIDX_IN_STREAM | (i % 4 == 1 ? FIDX_HAS_DATA : 0) :
		    0, 512 * (np - i), 512 * (np - i) + 512 * (i % 3));
		in[i].mtime = (int64_t)i * 1000 - 5000;
	}
	in[4].ino = UINT64_MAX;
	in[5].uid = UINT32_MAX;
	in[6].size = (uint64_t)1 << 50;
	in[7].mtime = INT64_MIN;
	in[8].mtime = INT64_MAX;
	in[9].mode = 07777;
	in[10].type = FIDX_SOCK;
	for (size_t i = 0; i < np; i++)
		CHECK(fidx_builder_add(bld, &in[i]) == 0);
	CHECK(fidx_builder_frame(bld, 0, 0) == 0);
	CHECK(fidx_builder_frame(bld, 4096, 100) == 0);
	CHECK(fidx_builder_frame(bld, 8192, 300) == 0);
	CHECK(fidx_builder_encode(bld, 8192, &enc, &len) == 0);
	seed("tree", enc, len);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	CHECK(x.nentries == np && x.nframes == 3 && x.archive_bytes == 8192);
	for (uint64_t i = 1; i < x.nentries; i++)
		CHECK(fidx_path_cmp(x.e[i - 1].path, x.e[i].path) < 0);
	for (size_t i = 0; i < np; i++) {
		const struct fidx_entry *e = fidx_lookup(&x, paths[i]);
		CHECK(e && same(e, &in[i]));
	}
	uint64_t total;
	CHECK(fidx_encoded_len(enc, 32, &total) == 0 && total == len);
	CHECK(fidx_encoded_len(enc, 31, &total) == -EBADMSG);

	/* lookup: the spellings of a path. */
	CHECK(fidx_lookup(&x, "a/c") == fidx_lookup(&x, "./a/c"));
	CHECK(fidx_lookup(&x, "/a/c") == fidx_lookup(&x, "./a/c"));
	CHECK(fidx_lookup(&x, "a/c/") == fidx_lookup(&x, "./a/c"));
	CHECK(fidx_lookup(&x, "/") == fidx_lookup(&x, "."));
	CHECK(fidx_lookup(&x, "") == fidx_lookup(&x, "."));
	CHECK(fidx_lookup(&x, "./a") != NULL);
	CHECK(fidx_lookup(&x, "./nothere") == NULL);
	CHECK(fidx_lookup(&x, "./a/") != NULL);
	CHECK(fidx_lookup(&x, "./c") == NULL);

	/* subtree: one run, without the siblings that sort near it. */
	fidx_subtree(&x, "a", &lo, &hi);
	CHECK_EQ(hi - lo, 5);	/* a a/b a/c a/c/d "a/c/d e" */
	for (uint64_t i = lo; i < hi; i++)
		CHECK(strcmp(x.e[i].path, "./a") == 0 ||
		    strncmp(x.e[i].path, "./a/", 4) == 0);
	fidx_subtree(&x, "./a/c", &lo, &hi);
	CHECK_EQ(hi - lo, 3);
	fidx_subtree(&x, "./a/c/d", &lo, &hi);
	CHECK_EQ(hi - lo, 1);
	fidx_subtree(&x, ".", &lo, &hi);
	CHECK(lo == 0 && hi == np);
	fidx_subtree(&x, "./sp ace", &lo, &hi);
	CHECK_EQ(hi - lo, 2);
	fidx_subtree(&x, "./zz", &lo, &hi);
	CHECK_EQ(hi - lo, 0);
	fidx_subtree(&x, "./a.txt", &lo, &hi);
	CHECK_EQ(hi - lo, 1);

	/* frame_at */
	CHECK(fidx_frame_at(&x, 0) == &x.f[0]);
	CHECK(fidx_frame_at(&x, 4095) == &x.f[0]);
	CHECK(fidx_frame_at(&x, 4096) == &x.f[1]);
	CHECK(fidx_frame_at(&x, 8191) == &x.f[1]);
	CHECK(fidx_frame_at(&x, 8192) == &x.f[2]);
	CHECK(fidx_frame_at(&x, UINT64_MAX) == &x.f[2]);
	fidx_free(&x);
	free(enc);

	/* The builder is still usable: a path twice is refused. */
	CHECK(fidx_builder_add(bld, &in[0]) == 0);
	CHECK(fidx_builder_encode(bld, 8192, &enc, &len) == -EINVAL);
	fidx_builder_free(bld);

	/* An empty index (a plain dump of an empty tree, no frames). */
	CHECK(fidx_builder_new(&bld) == 0);
	CHECK(fidx_builder_encode(bld, 0, &enc, &len) == 0);
	seed("empty", enc, len);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	CHECK(x.nentries == 0 && x.nframes == 0 && !fidx_frame_at(&x, 5));
	CHECK(fidx_lookup(&x, ".") == NULL);
	fidx_subtree(&x, ".", &lo, &hi);
	CHECK(lo == 0 && hi == 0);
	fidx_free(&x);
	free(enc);
	fidx_builder_free(bld);

	/* What the builder refuses. */
	static const struct { const char *path; int type, flags; uint64_t off,
	    end; uint32_t mode; } bad[] = {
		{ "../x", FIDX_REG, 0, 0, 0, 0644 },
		{ "a", FIDX_REG, 0, 0, 0, 0644 },
		{ "./a//b", FIDX_REG, 0, 0, 0, 0644 },
		{ "./a/", FIDX_REG, 0, 0, 0, 0644 },
		{ "./a/./b", FIDX_REG, 0, 0, 0, 0644 },
		{ "./a/..", FIDX_REG, 0, 0, 0, 0644 },
		{ "./a", 0, 0, 0, 0, 0644 },
		{ "./a", 9, 0, 0, 0, 0644 },
		{ "./a", FIDX_REG, 4, 0, 0, 0644 },
		{ "./a", FIDX_REG, FIDX_HAS_DATA, 0, 0, 0644 },
		{ "./a", FIDX_REG, FIDX_IN_STREAM, 512, 0, 0644 },
		{ "./a", FIDX_REG, FIDX_IN_STREAM, 0, 9000, 0644 },
		{ "./a", FIDX_REG, 0, 0, 0, 010644 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fidx_entry e = ent(bad[i].path, bad[i].type,
		    bad[i].flags, bad[i].off, bad[i].end);
		e.mode = bad[i].mode;
		CHECK(fidx_builder_new(&bld) == 0);
		CHECK(fidx_builder_add(bld, &e) == 0);
		int rc = fidx_builder_encode(bld, 8192, &enc, &len);
		if (rc != -EINVAL)
			fprintf(stderr, "builder took bad entry %zu\n", i);
		CHECK(rc == -EINVAL);
		fidx_builder_free(bld);
	}
	/* Frames: rising, within the archive. */
	static const uint64_t fr[][4] = { { 0, 0, 0, 10 }, { 0, 0, 10, 0 },
	    { 10, 10, 5, 20 }, { 0, 0, 9000, 20 } };
	for (size_t i = 0; i < 4; i++) {
		CHECK(fidx_builder_new(&bld) == 0);
		CHECK(fidx_builder_frame(bld, fr[i][0], fr[i][1]) == 0);
		CHECK(fidx_builder_frame(bld, fr[i][2], fr[i][3]) == 0);
		CHECK(fidx_builder_encode(bld, 8192, &enc, &len) == -EINVAL);
		fidx_builder_free(bld);
	}
	/* The index's own frame starts at archive_bytes: allowed. */
	CHECK(fidx_builder_new(&bld) == 0);
	CHECK(fidx_builder_frame(bld, 0, 0) == 0);
	CHECK(fidx_builder_frame(bld, 8192, 77) == 0);
	CHECK(fidx_builder_encode(bld, 8192, &enc, &len) == 0);
	seed("frames", enc, len);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	CHECK(x.nframes == 2 && fidx_frame_at(&x, 9000)->stored == 77);
	fidx_free(&x);
	free(enc);
	fidx_builder_free(bld);
}

static void
match(void)
{
	CHECK(fidx_match("*.c", "./a/b.c"));
	CHECK(fidx_match("./*.c", "./b.c"));
	CHECK(fidx_match("a/b.c", "./a/b.c"));
	CHECK(fidx_match("/a/b.c", "./a/b.c"));
	CHECK(!fidx_match("a/b.c", "./x/a/b.c"));
	CHECK(fidx_match("*/b.c", "./x/a/b.c"));
	CHECK(fidx_match("a/?.c", "./a/b.c"));
	CHECK(fidx_match("a/[ab].c", "./a/b.c"));
	CHECK(!fidx_match("a/[!b].c", "./a/b.c"));
	CHECK(fidx_match(".", "."));
	CHECK(!fidx_match("*.h", "./a/b.c"));
	CHECK(fidx_match("*", "./.hidden"));
}

/* ---- the costs (on demand) ---- */

static struct fidx_builder *mb;
static uint64_t mraw, mn;
static size_t mroot;

static int
walk_one(const char *fp, const struct stat *sb, int tf, struct FTW *ftw)
{
	char p[8192];
	struct fidx_entry e;

	(void)tf;
	(void)ftw;
	if (strlen(fp) == mroot)
		snprintf(p, sizeof(p), ".");
	else
		snprintf(p, sizeof(p), ".%s", fp + mroot);
	memset(&e, 0, sizeof(e));
	e.path = p;
	e.type = S_ISDIR(sb->st_mode) ? FIDX_DIR : S_ISLNK(sb->st_mode) ?
	    FIDX_LNK : S_ISREG(sb->st_mode) ? FIDX_REG : FIDX_FIFO;
	e.flags = FIDX_IN_STREAM | (S_ISREG(sb->st_mode) ? FIDX_HAS_DATA : 0);
	e.mode = sb->st_mode & 07777;
	e.uid = sb->st_uid;
	e.gid = sb->st_gid;
	e.nlink = (uint32_t)sb->st_nlink;
	e.ino = sb->st_ino;
	e.size = S_ISREG(sb->st_mode) ? (uint64_t)sb->st_size : 0;
	e.mtime = sb->st_mtime;
	/* pax: a header (and an extended one for long names), the data in
	   512-byte blocks. */
	e.raw_offset = mraw;
	mraw += 512 + (strlen(p) > 99 ? 1024 : 0) + (e.size + 511) / 512 * 512;
	e.raw_end = mraw;
	mn++;
	return fidx_builder_add(mb, &e) ? -1 : 0;
}

static void
cost(const char *what, uint64_t raw)
{
	uint8_t *enc;
	size_t len;
	struct fidx x;
	char why[256];
	struct timespec t0, t1, t2;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Frames every 4 MiB, as a zstd dump has them. */
	for (uint64_t r = 0, s = 0; r < raw; r += 4 << 20, s += 1 << 20)
		fidx_builder_frame(mb, r, s);
	CHECK(fidx_builder_encode(mb, raw, &enc, &len) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	printf("%s: %llu entries, %zu bytes encoded, %.1f bytes/entry, "
	    "encode %.2f s, decode %.2f s\n", what, (unsigned long long)mn,
	    len, (double)len / (double)mn,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double)(t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
	CHECK(x.nentries == mn);
	fidx_free(&x);
	free(enc);
}

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(*s >> 33);
}

/* A source tree and home directories: n paths. */
static void
synth(uint64_t n)
{
	static const char *top[] = { "src", "include", "lib", "docs", "tests",
	    "build", "tools", "third_party" };
	static const char *ext[] = { ".c", ".h", ".o", ".py", ".md", ".txt",
	    ".json", ".jpg", ".pdf", "" };
	static const char *word[] = { "alpha", "beta", "gamma", "delta",
	    "config", "parser", "lexer", "util", "net", "io", "main", "test",
	    "vector", "string", "buffer", "cache", "index", "table", "node",
	    "tree", "photo", "report", "thesis", "invoice", "notes" };
	char p[512];
	uint64_t seed = 12345, ino = 100000;
	unsigned ndir = 0;
	struct fidx_entry e;

#define RND() rnd(&seed)
	mn = 0;
	mraw = 0;
	while (mn < n) {
		/* A directory of 5..40 files, 1..6 levels deep. */
		int depth = 1 + RND() % 6, len;
		if (RND() % 2)
			len = snprintf(p, sizeof(p), "./home/user%03u",
			    RND() % 500);
		else
			len = snprintf(p, sizeof(p), "./proj%02u/%s",
			    RND() % 40, top[RND() % 8]);
		for (int d = 1; d < depth; d++)
			len += snprintf(p + len, sizeof(p) - (size_t)len,
			    "/%s%s%u", word[RND() % 25], RND() % 3 ? "" : "_",
			    RND() % 20);
		/* Each directory once. */
		len += snprintf(p + len, sizeof(p) - (size_t)len, "/%s%u",
		    word[RND() % 25], ndir++);
		int64_t mt = 1600000000 + RND() % 100000000;
		memset(&e, 0, sizeof(e));
		e.path = p;
		e.type = FIDX_DIR;
		e.mode = 0755;
		e.uid = 1000 + RND() % 500;
		e.gid = 100;
		e.nlink = 2;
		e.ino = ino++;
		e.mtime = mt;
		e.flags = FIDX_IN_STREAM;
		e.raw_offset = mraw;
		mraw += 512;
		e.raw_end = mraw;
		if (fidx_builder_add(mb, &e) == 0)
			mn++;
		unsigned nf = 5 + RND() % 36;
		for (unsigned f = 0; f < nf && mn < n; f++) {
			snprintf(p + len, sizeof(p) - (size_t)len, "/%s_%s%u%s",
			    word[RND() % 25], word[RND() % 25],
			    f * 50 + RND() % 50, ext[RND() % 10]);
			e.type = FIDX_REG;
			e.mode = RND() % 4 ? 0644 : 0755;
			e.nlink = 1;
			e.ino = RND() % 8 ? ino++ : ino + RND() % 100000;
			e.size = RND() % 4 ? RND() % 20000 :
			    RND() % (2 << 20);
			e.mtime = mt + RND() % 86400;
			e.flags = FIDX_IN_STREAM | FIDX_HAS_DATA;
			e.raw_offset = mraw;
			mraw += 512 + (e.size + 511) / 512 * 512;
			e.raw_end = mraw;
			if (fidx_builder_add(mb, &e) == 0)
				mn++;
		}
	}
#undef RND
}

/*
 * The index names its dump (version 2): decoded back, under the CRC (a
 * dump ID changed in the head is damage), all zeros or version 1 name
 * none; version 1 indexes are still read (hostile13 H20).
 */
static void
dump_id(void)
{
	struct fidx_builder *bld;
	struct fidx x;
	struct fidx_entry e = ent(".", FIDX_DIR, FIDX_IN_STREAM, 0, 512);
	uint8_t *enc, *v1;
	size_t len;
	char why[256];
	const char *id = "0123456789abcdef0123456789ABCDEF";

	CHECK(fidx_builder_new(&bld) == 0);
	CHECK(fidx_builder_add(bld, &e) == 0);
	CHECK(fidx_builder_dump(bld, "0123") == -EINVAL);
	CHECK(fidx_builder_dump(bld, "0123456789abcdef0123456789abcdeg") ==
	    -EINVAL);
	CHECK(fidx_builder_encode(bld, 1024, &enc, &len) == 0);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	CHECK(x.dump_id[0] == '\0');	/* zeros: names none */
	fidx_free(&x);
	free(enc);
	CHECK(fidx_builder_dump(bld, id) == 0);
	CHECK(fidx_builder_encode(bld, 1024, &enc, &len) == 0);
	CHECK(len > 48 && enc[8] == 2);
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == 0);
	CHECK(strcmp(x.dump_id, "0123456789abcdef0123456789abcdef") == 0);
	CHECK(x.nentries == 1 && x.archive_bytes == 1024);
	fidx_free(&x);
	/* Another dump's ID written into the head: the CRC says so. */
	enc[40] ^= 1;
	CHECK(fidx_decode(enc, len, &x, why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "CRC32C") != NULL);
	enc[40] ^= 1;
	/* Version 1 (a 32-byte head, the CRC over the payload): read, names
	   no dump. */
	CHECK((v1 = malloc(len - 16)) != NULL);
	memcpy(v1, enc, 32);
	memcpy(v1 + 32, enc + 48, len - 48);
	v1[8] = 1;
	uint32_t crc = crc32c(0, v1 + 32, len - 48);
	memcpy(v1 + 12, &crc, 4);	/* little-endian hosts only */
	uint64_t total;
	CHECK(fidx_encoded_len(v1, 32, &total) == 0 && total == len - 16);
	CHECK(fidx_decode(v1, len - 16, &x, why, sizeof(why)) == 0);
	CHECK(x.dump_id[0] == '\0' && x.nentries == 1);
	fidx_free(&x);
	free(v1);
	free(enc);
	fidx_builder_free(bld);
}

int
main(void)
{
	const char *tree = getenv("ABS_FIDX_TREE");
	const char *syn = getenv("ABS_FIDX_SYNTH");

	roundtrip();
	match();
	damage();
	dump_id();
	if (tree) {
		CHECK(fidx_builder_new(&mb) == 0);
		mroot = strlen(tree);
		mn = mraw = 0;
		nftw(tree, walk_one, 64, FTW_PHYS | FTW_MOUNT);
		cost(tree, mraw);
		fidx_builder_free(mb);
	}
	if (syn) {
		CHECK(fidx_builder_new(&mb) == 0);
		synth(strtoull(syn, NULL, 10));
		cost("synthetic", mraw);
		fidx_builder_free(mb);
	}
	T_DONE();
}
