/*
 * The file index codec (catalog/fileindex.h, docs/FORMAT.md "The file
 * index").
 *
 * Region: a 32-byte head, then payload_len bytes: one zstd frame (with its
 * content size) holding the body:
 *   varint archive_bytes
 *   nframes x (varint raw delta, varint stored delta)   (strictly rising)
 *   nentries x entry, in path order (below):
 *     varint shared prefix with the previous path, varint suffix length,
 *     suffix bytes, byte type | flags << 4, varints mode, uid, gid, nlink,
 *     zigzag ino delta, size, zigzag mtime delta; FIDX_IN_STREAM entries
 *     then zigzag (raw_offset - previous raw_end), varint raw_end -
 *     raw_offset.
 * Head, little-endian: "ABS-FIDX", u16 version, u16 0, u32 CRC32C, u32
 * nentries, u32 nframes, u64 payload_len; version 2 then the dump ID (16
 * bytes) and the CRC covers it and the payload; version 1 (32 bytes) has
 * none and its CRC covers the payload.
 *
 * Path order: bytewise, except that '/' sorts before every other byte, so
 * a directory is followed at once by its whole subtree.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "catalog/fileindex.h"
#include "common/crc32c.h"

#define HEAD_V1 32
#define HEAD_LEN 48		/* version 2 */
/* The longest path an index holds (bytes, without the NUL): Linux's. */
#define PATH_MAX_FIDX 4096
/* What a payload may decode to, and its paths grow to by front-coding,
   per payload byte (plus a floor): real indexes stay far below (a tree
   of deep paths ~300 x), a bomb does not. */
#define BODY_PER_BYTE 256
#define POOL_PER_BYTE 2048
#define FLOOR ((uint64_t)64 << 20)
/* An entry's body bytes: at least (prefix, suffix len, one byte, type,
   mode, uid, gid, nlink, ino, size, mtime) and at most this plus its
   suffix. */
#define ENTRY_MIN 11
#define ENTRY_MAX_FIXED (2 * 3 + 1 + 5 * 4 + 10 * 5)
#define FRAME_MAX 20
/* zstd level: the index is written once and read often. */
#define FIDX_ZLEVEL 9

struct fidx_builder {
	struct fidx_entry *e;	/* path: offset into pool, as a pointer */
	uint64_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	struct fidx_frame *f;
	uint64_t nf, fcap;
	uint8_t dump[16];	/* the dump ID, binary */
};

/* Path order: '/' below every other byte (NUL is never inside a path). */
int
fidx_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p && *p == *q)
		p++, q++;
	unsigned x = *p == '/' ? 1 : *p ? (unsigned)*p + 1 : 0;
	unsigned y = *q == '/' ? 1 : *q ? (unsigned)*q + 1 : 0;
	return (x > y) - (x < y);
}

/*
 * "." or "./" and components, none empty, "." or "..": an index names
 * nothing outside its tree.
 */
static bool
path_ok(const char *p, size_t len)
{
	if (len == 1 && p[0] == '.')
		return true;
	if (len < 3 || p[0] != '.' || p[1] != '/')
		return false;
	for (size_t i = 2; i < len;) {
		size_t j = i;
		while (j < len && p[j] != '/') {
			if (!p[j])
				return false;
			j++;
		}
		size_t c = j - i;
		if (c == 0 || (c == 1 && p[i] == '.') ||
		    (c == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		if (j == len)
			break;
		i = j + 1;
		if (i == len)
			return false;	/* a trailing '/' */
	}
	return true;
}

static void
put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t
get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t
unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- building ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool nomem;
};

static void
buf_need(struct buf *b, size_t n)
{
	if (b->nomem || b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *np = realloc(b->p, cap);
	if (!np) {
		b->nomem = true;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void
buf_put(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	if (b->nomem)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	buf_put(b, t, n);
}

int
fidx_builder_new(struct fidx_builder **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void
fidx_builder_free(struct fidx_builder *b)
{
	if (!b)
		return;
	free(b->e);
	free(b->pool);
	free(b->f);
	free(b);
}

int
fidx_builder_add(struct fidx_builder *b, const struct fidx_entry *e)
{
	size_t pl = strlen(e->path) + 1;

	if (b->n == b->cap) {
		uint64_t cap = b->cap ? b->cap * 2 : 1024;
		struct fidx_entry *ne = realloc(b->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		b->e = ne;
		b->cap = cap;
	}
	if (b->pool_len + pl > b->pool_cap) {
		size_t cap = b->pool_cap ? b->pool_cap : 65536;
		while (cap < b->pool_len + pl)
			cap *= 2;
		char *np = realloc(b->pool, cap);
		if (!np)
			return -ENOMEM;
		b->pool = np;
		b->pool_cap = cap;
	}
	memcpy(b->pool + b->pool_len, e->path, pl);
	b->e[b->n] = *e;
	/* An offset until encode: the pool moves as it grows. */
	b->e[b->n].path = (const char *)(uintptr_t)b->pool_len;
	b->pool_len += pl;
	b->n++;
	return 0;
}

int
fidx_builder_frame(struct fidx_builder *b, uint64_t raw, uint64_t stored)
{
	if (b->nf == b->fcap) {
		uint64_t cap = b->fcap ? b->fcap * 2 : 64;
		struct fidx_frame *nf = realloc(b->f, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		b->f = nf;
		b->fcap = cap;
	}
	b->f[b->nf].raw = raw;
	b->f[b->nf].stored = stored;
	b->nf++;
	return 0;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int
fidx_builder_dump(struct fidx_builder *b, const char *dump_id)
{
	uint8_t id[16];

	if (!dump_id || strlen(dump_id) != 32)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		int h = hexval(dump_id[2 * i]), l = hexval(dump_id[2 * i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		id[i] = (uint8_t)(h << 4 | l);
	}
	memcpy(b->dump, id, sizeof(id));
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return fidx_path_cmp(((const struct fidx_entry *)a)->path,
	    ((const struct fidx_entry *)b)->path);
}

/* What decode would refuse in one entry (the builder refuses it first). */
static bool
entry_ok(const struct fidx_entry *e, uint64_t archive_bytes)
{
	if (!path_ok(e->path, strlen(e->path)) ||
	    strlen(e->path) > PATH_MAX_FIDX)
		return false;
	if (e->type < FIDX_REG || e->type > FIDX_SOCK ||
	    (e->flags & ~(FIDX_IN_STREAM | FIDX_HAS_DATA)) ||
	    ((e->flags & FIDX_HAS_DATA) && !(e->flags & FIDX_IN_STREAM)) ||
	    e->mode > 07777)
		return false;
	if ((e->flags & FIDX_IN_STREAM) && (e->raw_end < e->raw_offset ||
	    e->raw_end > archive_bytes))
		return false;
	return true;
}

int
fidx_builder_encode(struct fidx_builder *b, uint64_t archive_bytes,
    uint8_t **out, size_t *len)
{
	struct buf body = { 0 };
	uint8_t *dst = NULL;
	int rc = -EINVAL;

	*out = NULL;
	*len = 0;
	if (b->n > UINT32_MAX || b->nf > UINT32_MAX)
		return -EINVAL;
	for (uint64_t i = 0; i < b->n; i++)
		b->e[i].path = b->pool + (uintptr_t)b->e[i].path;
	if (b->n)
		qsort(b->e, b->n, sizeof(*b->e), entry_cmp);
	for (uint64_t i = 0; i < b->nf; i++)
		if ((i && (b->f[i].raw <= b->f[i - 1].raw ||
		    b->f[i].stored <= b->f[i - 1].stored)) ||
		    b->f[i].raw > archive_bytes)
			goto out;
	buf_varint(&body, archive_bytes);
	for (uint64_t i = 0; i < b->nf; i++) {
		buf_varint(&body, b->f[i].raw - (i ? b->f[i - 1].raw : 0));
		buf_varint(&body, b->f[i].stored - (i ? b->f[i - 1].stored : 0));
	}
	const char *prev = "";
	size_t prevlen = 0;
	uint64_t ino = 0, rawend = 0;
	int64_t mtime = 0;
	for (uint64_t i = 0; i < b->n; i++) {
		const struct fidx_entry *e = &b->e[i];
		size_t l = strlen(e->path), k = 0;
		if (!entry_ok(e, archive_bytes) ||
		    (i && fidx_path_cmp(prev, e->path) >= 0))
			goto out;
		while (k < l && k < prevlen && prev[k] == e->path[k])
			k++;
		buf_varint(&body, k);
		buf_varint(&body, l - k);
		buf_put(&body, e->path + k, l - k);
		uint8_t tf = (uint8_t)(e->type | e->flags << 4);
		buf_put(&body, &tf, 1);
		buf_varint(&body, e->mode);
		buf_varint(&body, e->uid);
		buf_varint(&body, e->gid);
		buf_varint(&body, e->nlink);
		buf_varint(&body, zz((int64_t)(e->ino - ino)));
		buf_varint(&body, e->size);
		buf_varint(&body, zz((int64_t)((uint64_t)e->mtime -
		    (uint64_t)mtime)));
		ino = e->ino;
		mtime = e->mtime;
		if (e->flags & FIDX_IN_STREAM) {
			buf_varint(&body, zz((int64_t)(e->raw_offset - rawend)));
			buf_varint(&body, e->raw_end - e->raw_offset);
			rawend = e->raw_end;
		}
		prev = e->path;
		prevlen = l;
	}
	rc = -ENOMEM;
	if (body.nomem)
		goto out;
	size_t bound = ZSTD_compressBound(body.len);
	if (!(dst = malloc(HEAD_LEN + bound)))
		goto out;
	size_t z = ZSTD_compress(dst + HEAD_LEN, bound, body.p, body.len,
	    FIDX_ZLEVEL);
	if (ZSTD_isError(z))
		goto out;
	memcpy(dst, FIDX_MAGIC, 8);
	put16(dst + 8, FIDX_VERSION);
	put16(dst + 10, 0);
	memcpy(dst + HEAD_V1, b->dump, sizeof(b->dump));
	put32(dst + 12, crc32c(crc32c(0, b->dump, sizeof(b->dump)),
	    dst + HEAD_LEN, z));
	put32(dst + 16, (uint32_t)b->n);
	put32(dst + 20, (uint32_t)b->nf);
	put64(dst + 24, z);
	*out = dst;
	*len = HEAD_LEN + z;
	dst = NULL;
	rc = 0;
out:
	/* Back to offsets: the builder stays usable (add, encode again). */
	for (uint64_t i = 0; i < b->n; i++)
		b->e[i].path = (const char *)(uintptr_t)(b->e[i].path - b->pool);
	free(dst);
	free(body.p);
	return rc;
}

/* ---- decoding ---- */

#define WHY(...) do { snprintf(why, whylen, __VA_ARGS__); goto bad; } while (0)

struct rd {
	const uint8_t *p, *end;
};

static bool
rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int s = 0; s < 70; s += 7) {
		if (r->p == r->end)
			return false;
		uint8_t c = *r->p++;
		if (s == 63 && c > 1)
			return false;	/* past 64 bits */
		x |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int
fidx_encoded_len(const uint8_t *head, size_t len, uint64_t *total)
{
	*total = 0;
	if (len < HEAD_V1 || memcmp(head, FIDX_MAGIC, 8) != 0 ||
	    (get16(head + 8) != 1 && get16(head + 8) != 2) ||
	    get16(head + 10) != 0)
		return -EBADMSG;
	uint64_t hl = get16(head + 8) == 1 ? HEAD_V1 : HEAD_LEN;
	uint64_t pl = get64(head + 24);
	if (pl > (uint64_t)INT64_MAX - hl)
		return -EBADMSG;
	*total = hl + pl;
	return 0;
}

/*
 * Decompress the payload into a buffer grown as output comes (never more
 * than the frame declares, which is within limit): a lying frame costs
 * what it really holds.
 */
static int
inflate(const uint8_t *src, size_t n, uint64_t limit, uint8_t **out,
    size_t *outlen, char *why, size_t whylen)
{
	unsigned long long cs = ZSTD_getFrameContentSize(src, n);
	ZSTD_DCtx *d = NULL;
	uint8_t *o = NULL;
	size_t cap, have = 0;
	int rc = -EBADMSG;

	*out = NULL;
	*outlen = 0;
	if (cs == ZSTD_CONTENTSIZE_ERROR)
		WHY("payload is not a zstd frame");
	if (cs == ZSTD_CONTENTSIZE_UNKNOWN)
		WHY("payload's zstd frame does not say its size");
	if (cs > limit)
		WHY("payload decodes to %llu bytes, more than its %llu "
		    "entries and frames can take", cs,
		    (unsigned long long)limit);
	size_t fl = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(fl) || fl != n)
		WHY("payload is not exactly one zstd frame");
	if (!(d = ZSTD_createDCtx()))
		goto nomem;
	cap = cs < 65536 ? (size_t)cs + 1 : 65536;
	if (!(o = malloc(cap)))
		goto nomem;
	ZSTD_inBuffer ib = { src, n, 0 };
	for (;;) {
		if (have == cap) {
			if (cap > cs)
				WHY("payload decodes past its declared %llu "
				    "bytes", cs);
			size_t nc = cap * 2 > cs ? (size_t)cs + 1 : cap * 2;
			uint8_t *no = realloc(o, nc);
			if (!no)
				goto nomem;
			o = no;
			cap = nc;
		}
		ZSTD_outBuffer ob = { o, cap, have };
		size_t r = ZSTD_decompressStream(d, &ob, &ib);
		have = ob.pos;
		if (ZSTD_isError(r))
			WHY("payload: zstd: %s", ZSTD_getErrorName(r));
		if (r == 0)
			break;
		if (ib.pos == ib.size && ob.pos < ob.size)
			WHY("payload's zstd frame is cut short");
	}
	if (have != cs)
		WHY("payload decodes to %zu bytes, not the %llu it declares",
		    have, cs);
	ZSTD_freeDCtx(d);
	*out = o;
	*outlen = have;
	return 0;
nomem:
	rc = -ENOMEM;
	snprintf(why, whylen, "out of memory");
bad:
	ZSTD_freeDCtx(d);
	free(o);
	return rc;
}

void
fidx_free(struct fidx *x)
{
	if (!x)
		return;
	free(x->e);
	free(x->f);
	free(x->pool);
	memset(x, 0, sizeof(*x));
}

int
fidx_decode(const uint8_t *buf, size_t len, struct fidx *x, char *why,
    size_t whylen)
{
	uint8_t *body = NULL;
	size_t blen = 0;
	uint64_t total;
	int rc = -EBADMSG;
	char *prev = NULL;

	memset(x, 0, sizeof(*x));
	if (whylen)
		why[0] = '\0';
	if (len < HEAD_V1)
		WHY("index region of %zu bytes is shorter than its %d-byte head",
		    len, HEAD_V1);
	if (memcmp(buf, FIDX_MAGIC, 8) != 0)
		WHY("no index here (magic is not %s)", FIDX_MAGIC);
	unsigned ver = get16(buf + 8);
	if (ver != 1 && ver != 2)
		WHY("index version %u, this build reads 1 and 2", ver);
	size_t hl = ver == 1 ? HEAD_V1 : HEAD_LEN;
	if (len < hl)
		WHY("index region of %zu bytes is shorter than its %zu-byte head",
		    len, hl);
	if (get16(buf + 10) != 0)
		WHY("index head's reserved field is %u, not 0", get16(buf + 10));
	if (fidx_encoded_len(buf, len, &total) < 0)
		WHY("index payload length %llu is impossible",
		    (unsigned long long)get64(buf + 24));
	if (total > len)
		WHY("index is cut short: %zu bytes of %llu", len,
		    (unsigned long long)total);
	if (total < len)
		WHY("%llu bytes follow the index's %llu",
		    (unsigned long long)(len - total), (unsigned long long)total);
	uint64_t pl = total - hl;
	uint64_t ne = get32(buf + 16), nf = get32(buf + 20);
	/* Version 2: the dump ID is under the CRC with the payload. */
	uint32_t crc = crc32c(crc32c(0, buf + HEAD_V1, hl - HEAD_V1),
	    buf + hl, pl);
	if (crc != get32(buf + 12))
		WHY("index payload CRC32C is %08x, its head says %08x",
		    crc, get32(buf + 12));
	static const uint8_t zero[16];
	if (ver == 2 && memcmp(buf + HEAD_V1, zero, 16) != 0)
		for (int i = 0; i < 16; i++)
			snprintf(x->dump_id + 2 * i, 3, "%02x", buf[HEAD_V1 + i]);
	/* What the counts allow the body to be, and no more than the limit. */
	uint64_t limit = 10 + nf * FRAME_MAX +
	    ne * (uint64_t)(ENTRY_MAX_FIXED + PATH_MAX_FIDX);
	if (limit > FIDX_MAX_DECODED)
		limit = FIDX_MAX_DECODED;
	if (limit > pl * BODY_PER_BYTE + FLOOR)
		limit = pl * BODY_PER_BYTE + FLOOR;
	uint64_t pool_limit = pl * POOL_PER_BYTE + FLOOR;
	if ((rc = inflate(buf + hl, pl, limit, &body, &blen, why,
	    whylen)) < 0)
		goto bad;
	rc = -EBADMSG;
	if (ne > blen / ENTRY_MIN)
		WHY("%llu entries cannot fit in %zu decoded bytes",
		    (unsigned long long)ne, blen);
	if (nf > blen / 2)
		WHY("%llu frames cannot fit in %zu decoded bytes",
		    (unsigned long long)nf, blen);

	struct rd r = { body, body + blen };
	uint64_t v, v2;
	if (!rd_varint(&r, &x->archive_bytes))
		WHY("body is cut short before the archive's length");
	if (nf && !(x->f = calloc(nf, sizeof(*x->f))))
		goto nomem;
	for (uint64_t i = 0; i < nf; i++) {
		if (!rd_varint(&r, &v) || !rd_varint(&r, &v2))
			WHY("frame %llu is cut short", (unsigned long long)i);
		uint64_t raw = (i ? x->f[i - 1].raw : 0) + v;
		uint64_t st = (i ? x->f[i - 1].stored : 0) + v2;
		if (i && (v == 0 || v2 == 0))
			WHY("frame %llu does not start after frame %llu",
			    (unsigned long long)i, (unsigned long long)i - 1);
		if (raw < v || st < v2 || raw > x->archive_bytes)
			WHY("frame %llu starts at raw %llu, past the archive's "
			    "%llu bytes", (unsigned long long)i,
			    (unsigned long long)raw,
			    (unsigned long long)x->archive_bytes);
		x->f[i].raw = raw;
		x->f[i].stored = st;
	}
	x->nframes = nf;
	if (ne && !(x->e = calloc(ne, sizeof(*x->e))))
		goto nomem;
	/* Paths go into the pool back to back: at most the body's size plus
	   what front-coding saved, so grow it as they come. */
	size_t pcap = blen + 1, plen = 0;
	if (!(x->pool = malloc(pcap)))
		goto nomem;
	size_t prevlen = 0, prevoff = 0;
	uint64_t ino = 0, rawend = 0;
	int64_t mtime = 0;
	for (uint64_t i = 0; i < ne; i++) {
		struct fidx_entry *e = &x->e[i];
		uint64_t k, s;
		unsigned long long ui = (unsigned long long)i;
		if (!rd_varint(&r, &k) || !rd_varint(&r, &s))
			WHY("entry %llu is cut short", ui);
		if (k > prevlen)
			WHY("entry %llu shares %llu bytes with a %zu-byte "
			    "path before it", ui, (unsigned long long)k,
			    prevlen);
		if (s > PATH_MAX_FIDX || k + s > PATH_MAX_FIDX)
			WHY("entry %llu's path is longer than %d bytes", ui,
			    PATH_MAX_FIDX);
		if (s > (uint64_t)(r.end - r.p))
			WHY("entry %llu's path is cut short", ui);
		if (memchr(r.p, '\0', s))
			WHY("entry %llu's path holds a NUL", ui);
		if ((uint64_t)plen + k + s + 1 > pool_limit)
			WHY("entry %llu's path takes the paths past %llu bytes "
			    "(%d per payload byte)", ui,
			    (unsigned long long)pool_limit, POOL_PER_BYTE);
		if (plen + k + s + 1 > pcap) {
			if ((uint64_t)plen + k + s + 1 + blen +
			    ne * sizeof(*x->e) > FIDX_MAX_DECODED)
				WHY("entry %llu's path takes the decoded index "
				    "past %llu bytes", ui,
				    (unsigned long long)FIDX_MAX_DECODED);
			size_t nc = pcap * 2;
			while (nc < plen + k + s + 1)
				nc *= 2;
			char *np = realloc(x->pool, nc);
			if (!np)
				goto nomem;
			x->pool = np;
			pcap = nc;
		}
		char *p = x->pool + plen;
		memmove(p, x->pool + prevoff, k);
		memcpy(p + k, r.p, s);
		p[k + s] = '\0';
		r.p += s;
		if (!path_ok(p, k + s))
			WHY("entry %llu's path \"%.200s\" is not . or ./NAME "
			    "without empty, . or .. components", ui, p);
		prev = i ? x->pool + prevoff : NULL;
		if (prev && fidx_path_cmp(prev, p) >= 0)
			WHY("entry %llu's path \"%.200s\" %s \"%.200s\" before "
			    "it", ui, p, fidx_path_cmp(prev, p) ? "sorts before" :
			    "repeats", prev);
		/* Offsets for now: the pool may still move. */
		e->path = (const char *)(uintptr_t)plen;
		prevoff = plen;
		prevlen = k + s;
		plen += k + s + 1;

		if (r.p == r.end)
			WHY("entry %llu is cut short", ui);
		uint8_t tf = *r.p++;
		e->type = tf & 0xf;
		e->flags = tf >> 4;
		if (e->type < FIDX_REG || e->type > FIDX_SOCK)
			WHY("entry %llu has type %u", ui, e->type);
		if (e->flags & ~(FIDX_IN_STREAM | FIDX_HAS_DATA))
			WHY("entry %llu has unknown flags %#x", ui, e->flags);
		if ((e->flags & FIDX_HAS_DATA) && !(e->flags & FIDX_IN_STREAM))
			WHY("entry %llu has data but is not in the stream", ui);
		uint64_t mode, uid, gid, nl, dino, size, dmt;
		if (!rd_varint(&r, &mode) || !rd_varint(&r, &uid) ||
		    !rd_varint(&r, &gid) || !rd_varint(&r, &nl) ||
		    !rd_varint(&r, &dino) || !rd_varint(&r, &size) ||
		    !rd_varint(&r, &dmt))
			WHY("entry %llu is cut short", ui);
		if (mode > 07777)
			WHY("entry %llu has mode %#llo", ui,
			    (unsigned long long)mode);
		if (uid > UINT32_MAX || gid > UINT32_MAX || nl > UINT32_MAX)
			WHY("entry %llu's uid, gid or link count is past 32 "
			    "bits", ui);
		e->mode = (uint32_t)mode;
		e->uid = (uint32_t)uid;
		e->gid = (uint32_t)gid;
		e->nlink = (uint32_t)nl;
		e->ino = ino + (uint64_t)unzz(dino);
		e->size = size;
		e->mtime = (int64_t)((uint64_t)mtime + (uint64_t)unzz(dmt));
		ino = e->ino;
		mtime = e->mtime;
		if (e->flags & FIDX_IN_STREAM) {
			if (!rd_varint(&r, &v) || !rd_varint(&r, &v2))
				WHY("entry %llu is cut short", ui);
			uint64_t off = rawend + (uint64_t)unzz(v);
			e->raw_offset = off;
			e->raw_end = off + v2;
			if (e->raw_end < off)
				WHY("entry %llu's raw end is before its start",
				    ui);
			if (e->raw_end > x->archive_bytes)
				WHY("entry %llu spans raw [%llu, %llu), past "
				    "the archive's %llu bytes", ui,
				    (unsigned long long)off,
				    (unsigned long long)e->raw_end,
				    (unsigned long long)x->archive_bytes);
			rawend = e->raw_end;
		}
	}
	x->nentries = ne;
	if (r.p != r.end)
		WHY("%zu bytes follow the last entry", (size_t)(r.end - r.p));
	for (uint64_t i = 0; i < ne; i++)
		x->e[i].path = x->pool + (uintptr_t)x->e[i].path;
	free(body);
	return 0;
nomem:
	rc = -ENOMEM;
	snprintf(why, whylen, "out of memory");
bad:
	free(body);
	fidx_free(x);
	return rc;
}

/* ---- reading ---- */

/* path as the index writes it into buf ("." or "./a/b"); false if it
   cannot be one. */
static bool
norm_path(const char *path, char *buf, size_t len)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	while (*path == '/')
		path++;
	size_t n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && path[0] == '.'))
		return snprintf(buf, len, ".") < (int)len;
	return snprintf(buf, len, "./%.*s", (int)n, path) < (int)len;
}

/* The first entry not before path. */
static uint64_t
lower_bound(const struct fidx *x, const char *path)
{
	uint64_t lo = 0, hi = x->nentries;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (fidx_path_cmp(x->e[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct fidx_entry *
fidx_lookup(const struct fidx *x, const char *path)
{
	size_t len = strlen(path) + 3;
	char *p = malloc(len);
	const struct fidx_entry *e = NULL;

	if (p && norm_path(path, p, len)) {
		uint64_t i = lower_bound(x, p);
		if (i < x->nentries && strcmp(x->e[i].path, p) == 0)
			e = &x->e[i];
	}
	free(p);
	return e;
}

void
fidx_subtree(const struct fidx *x, const char *path, uint64_t *lo,
    uint64_t *hi)
{
	size_t len = strlen(path) + 3;
	char *p = malloc(len);

	*lo = *hi = 0;
	if (!p || !norm_path(path, p, len)) {
		free(p);
		return;
	}
	if (strcmp(p, ".") == 0) {
		free(p);
		*hi = x->nentries;
		return;
	}
	uint64_t i = lower_bound(x, p), j = i;
	size_t n = strlen(p);
	/* path itself, then "path/..." (they follow it in path order). */
	if (j < x->nentries && strcmp(x->e[j].path, p) == 0)
		j++;
	uint64_t a = j, b = x->nentries;
	while (a < b) {
		uint64_t mid = a + (b - a) / 2;
		const char *q = x->e[mid].path;
		if (strncmp(q, p, n) == 0 && q[n] == '/')
			a = mid + 1;
		else
			b = mid;
	}
	free(p);
	*lo = i;
	*hi = a;
}

const struct fidx_frame *
fidx_frame_at(const struct fidx *x, uint64_t raw)
{
	uint64_t lo = 0, hi = x->nframes;

	/* The last frame starting at or before raw. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (x->f[mid].raw <= raw)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &x->f[lo - 1] : NULL;
}

bool
fidx_match(const char *pattern, const char *path)
{
	char *p = NULL;
	bool m;

	if (strcmp(pattern, ".") == 0 || strncmp(pattern, "./", 2) == 0)
		return fnmatch(pattern, path, 0) == 0;
	while (*pattern == '/')
		pattern++;
	if (asprintf(&p, "./%s", pattern) < 0)
		return false;
	m = fnmatch(p, path, 0) == 0;
	free(p);
	return m;
}
