/* Tape format (versions 1 and 2): build and parse label, header and trailer blocks. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/digest.h"
#include "common/util.h"
#include "engine/format.h"

#define MAGIC_LABEL "ABS-LABEL v1\n"
#define MAGIC_HEADER "ABS-PART v1\n"
#define MAGIC_TRAILER "ABS-TRAILER v1\n"
#define KV_START "\n[abs]\n"
#define MAX_KV 48

struct kvbuf {
	char *p;
	size_t len, cap;
	int err;
};

/* Append formatted text; remembers overflow. */
__attribute__((format(printf, 2, 3)))
static void
kv_printf(struct kvbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->err = -E2BIG;
	else
		b->len += (size_t)n;
}

/* Append key=value with the value escaped. */
static void
kv_put(struct kvbuf *b, const char *key, const char *val)
{
	char esc[3 * 1024 + 4];

	util_kv_escape(val, esc, sizeof(esc));
	kv_printf(b, "%s=%s\n", key, esc);
}

/* Append key=value for a value up to FMT_ARCHIVE_MAX bytes. */
static void
kv_put_long(struct kvbuf *b, const char *key, const char *val)
{
	size_t cap = 3 * strlen(val) + 4;
	char *esc = malloc(cap);

	if (!esc) {
		b->err = -ENOMEM;
		return;
	}
	util_kv_escape(val, esc, cap);
	kv_printf(b, "%s=%s\n", key, esc);
	free(esc);
}

/* Append key=unsigned. */
static void
kv_putu(struct kvbuf *b, const char *key, uint64_t v)
{
	kv_printf(b, "%s=%llu\n", key, (unsigned long long)v);
}

/*
 * Close the block with its checksum line and zero the rest: the whole
 * buffer (a full-size block), or with sized set only up to the first
 * multiple of FMT_UNIT past the text (at least one zero byte, so the text
 * ends at a zero whatever the reader's buffer holds after the block).
 * The block's length on tape, or a negative errno.
 */
static int
kv_seal(struct kvbuf *b, bool sized)
{
	uint32_t c = crc32c(0, b->p, b->len);
	size_t end = b->cap;

	kv_printf(b, "crc32c=%08x\n", c);
	if (b->err)
		return b->err;
	if (sized) {
		end = fmt_sized_len(b->len);
		if (end > b->cap)
			return -E2BIG;
	}
	memset(b->p + b->len, 0, end - b->len);
	return (int)end;
}

size_t
fmt_sized_len(size_t text)
{
	return (text + 1 + FMT_UNIT - 1) / FMT_UNIT * FMT_UNIT;
}

/*
 * The length on tape of a parsed header or trailer: version 1 blocks are
 * full data blocks; later ones are their text rounded up (kv_seal). A
 * buffer shorter than that is a block cut short.
 */
static int
block_len(const uint8_t *buf, size_t len, int version, uint32_t bs,
    uint32_t *out)
{
	if (version < 2) {
		*out = bs;
		return 0;
	}
	const uint8_t *z = memchr(buf, 0, len);
	if (!z)
		return -EBADMSG;
	size_t n = fmt_sized_len((size_t)(z - buf));
	if (n > len || n > FMT_MAX_SIZED)
		return -EBADMSG;
	*out = (uint32_t)n;
	return 0;
}

struct kvpair {
	char *key, *val;
};

struct kvparse {
	char text[16384];
	struct kvpair kv[MAX_KV];
	int n;
};

/*
 * Check magic and checksum, then split the [abs] section into pairs.
 * -ENOMSG when the magic is not there, -EBADMSG when damaged.
 */
static int
kv_parse(const uint8_t *buf, size_t len, const char *magic, struct kvparse *kp)
{
	size_t mlen = strlen(magic), end;
	const char *crcline = NULL;

	kp->n = 0;
	if (len < mlen || memcmp(buf, magic, mlen) != 0)
		return -ENOMSG;
	/* The text ends at the first NUL; it must fit our buffer. */
	end = 0;
	while (end < len && buf[end])
		end++;
	if (end >= sizeof(kp->text))
		return -EBADMSG;
	memcpy(kp->text, buf, end);
	kp->text[end] = '\0';
	/* The checksum line is the last line of the text. */
	for (const char *p = kp->text; (p = strstr(p, "\ncrc32c=")) != NULL; p++)
		crcline = p + 1;
	if (!crcline)
		return -EBADMSG;
	uint32_t want;
	char tail[16];
	if (sscanf(crcline, "crc32c=%8x%15s", &want, tail) != 1 ||
	    strlen(crcline) != 16 || crcline[15] != '\n')
		return -EBADMSG;
	if (crc32c(0, kp->text, (size_t)(crcline - kp->text)) != want)
		return -EBADMSG;
	char *sec = strstr(kp->text, KV_START);
	if (!sec || sec > crcline)
		return -EBADMSG;
	char *line = sec + strlen(KV_START);
	kp->text[crcline - kp->text] = '\0';
	while (*line) {
		char *nl = strchr(line, '\n');
		if (!nl)
			return -EBADMSG;
		*nl = '\0';
		char *eq = strchr(line, '=');
		if (!eq || eq == line || kp->n == MAX_KV)
			return -EBADMSG;
		*eq = '\0';
		if (util_kv_unescape(eq + 1) < 0)
			return -EBADMSG;
		kp->kv[kp->n].key = line;
		kp->kv[kp->n].val = eq + 1;
		kp->n++;
		line = nl + 1;
	}
	return 0;
}

/* Value of key, or NULL. */
static const char *
kv_get(const struct kvparse *kp, const char *key)
{
	for (int i = 0; i < kp->n; i++)
		if (strcmp(kp->kv[i].key, key) == 0)
			return kp->kv[i].val;
	return NULL;
}

/* Copy a required string field; -EBADMSG if missing or too long. */
static int
kv_str(const struct kvparse *kp, const char *key, char *dst, size_t len)
{
	const char *v = kv_get(kp, key);

	if (!v || strlen(v) >= len)
		return -EBADMSG;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* A required unsigned field no larger than max. */
static int
kv_u64(const struct kvparse *kp, const char *key, uint64_t max, uint64_t *out)
{
	const char *v = kv_get(kp, key);

	if (!v || util_parse_u64(v, max, out) < 0)
		return -EBADMSG;
	return 0;
}

enum fmt_kind
fmt_kind_of(const uint8_t *buf, size_t len)
{
	static const struct { const char *m; enum fmt_kind k; } tab[] = {
		{ MAGIC_LABEL, FMT_LABEL },
		{ MAGIC_HEADER, FMT_HEADER },
		{ MAGIC_TRAILER, FMT_TRAILER },
	};

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++) {
		size_t n = strlen(tab[i].m);
		if (len >= n && memcmp(buf, tab[i].m, n) == 0)
			return tab[i].k;
	}
	return FMT_NONE;
}

int
fmt_label_build(const struct fmt_label *l, uint8_t *buf)
{
	struct kvbuf b = { (char *)buf, 0, FMT_LABEL_SIZE, 0 };
	int rc;

	kv_printf(&b, "%s", MAGIC_LABEL);
	kv_printf(&b,
	    "This cartridge belongs to an ABS tape backup system.\n"
	    "Sticker label %s, tape ID %s, pool %s.\n"
	    "Tape file 0 is this label; every later dump part is one tape file\n"
	    "(a header block that says how to restore it, then its data),\n"
	    "followed by one trailer file with its checksums.\n",
	    l->label, l->tape_id, l->pool);
	kv_printf(&b, "%s", KV_START);
	kv_putu(&b, "version", l->version > 0 ? (uint64_t)l->version :
	    FMT_VERSION);
	kv_put(&b, "label", l->label);
	kv_put(&b, "tape_id", l->tape_id);
	kv_put(&b, "pool", l->pool);
	kv_putu(&b, "block_size", l->block_size);
	kv_put(&b, "labelled_at", l->labelled_at);
	kv_put(&b, "labelled_by", l->labelled_by);
	rc = kv_seal(&b, false);
	return rc < 0 ? rc : 0;
}

int
fmt_label_parse(const uint8_t *buf, size_t len, struct fmt_label *l)
{
	struct kvparse *kp = malloc(sizeof(*kp));
	uint64_t v;
	int rc;

	if (!kp)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	rc = kv_parse(buf, len, MAGIC_LABEL, kp);
	if (rc)
		goto out;
	rc = -EBADMSG;
	if (kv_u64(kp, "version", 1000, &v))
		goto out;
	l->version = (int)v;
	if (kv_str(kp, "label", l->label, sizeof(l->label)) ||
	    kv_str(kp, "tape_id", l->tape_id, sizeof(l->tape_id)) ||
	    kv_str(kp, "pool", l->pool, sizeof(l->pool)) ||
	    kv_str(kp, "labelled_at", l->labelled_at, sizeof(l->labelled_at)) ||
	    kv_str(kp, "labelled_by", l->labelled_by, sizeof(l->labelled_by)) ||
	    kv_u64(kp, "block_size", FMT_MAX_BLOCK, &v) || !*l->label)
		goto out;
	l->block_size = (uint32_t)v;
	rc = 0;
out:
	free(kp);
	return rc;
}

/* The shell pipeline after dd that turns the part's bytes back into data. */
static void
recipe_tail(const struct fmt_header *h, char *buf, size_t len)
{
	const char *unz = strcmp(h->compress, "zstd") == 0 ? " | zstd -dc" : "";

	if (strcmp(h->source_kind, "dir") == 0)
		snprintf(buf, len, "%s | tar -xpf - -C \"$DEST\"", unz);
	else
		snprintf(buf, len, "%s > \"$DEST\"", unz);
}

/*
 * The header in version's layout; a version 2 block's vtape recipe skips
 * hsize bytes, which the caller finds by building until the block's
 * length is the one its text names.
 */
static int
header_build(const struct fmt_header *h, int version, size_t hsize,
    uint8_t *buf, size_t bs)
{
	struct kvbuf b = { (char *)buf, 0, bs, 0 };
	char tail[128], vskip[64];

	recipe_tail(h, tail, sizeof(tail));
	/* A vtape file is its blocks' bytes in a row: skip the header's. */
	if (version >= 2)
		snprintf(vskip, sizeof(vskip), "iflag=skip_bytes skip=%zu", hsize);
	else
		snprintf(vskip, sizeof(vskip), "skip=1");
	kv_printf(&b, "%s", MAGIC_HEADER);
	kv_printf(&b,
	    "ABS dump part. Entity %s, level %d, dumped %s (since %s)\n"
	    "from %s:%s. Part %u, starting at stream byte %llu.\n"
	    "Cartridge %s (tape ID %s), tape file %llu; block size %u;\n"
	    "compression %s; checksums: CRC32C per block, %s per part\n"
	    "and stream, in the trailer (the next tape file).\n\n",
	    h->entity, h->level, h->dump_date, h->since, h->server,
	    h->partition, h->part, (unsigned long long)h->offset, h->label,
	    h->tape_id, (unsigned long long)h->file, h->block_size, h->compress,
	    h->digest);
	kv_printf(&b,
	    "Restore with standard tools (this block is the first of the file,\n"
	    "so skip one block; set DEST to the target %s):\n"
	    "  tape$  mt -f /dev/nst0 rewind && mt -f /dev/nst0 fsf %llu && "
	    "dd if=/dev/nst0 bs=%u skip=1%s\n"
	    "  vtape$ dd if=\"$CART/file%06llu\" bs=%u %s status=none%s\n",
	    strcmp(h->source_kind, "dir") == 0 ? "directory" : "file",
	    (unsigned long long)h->file, h->block_size, tail,
	    (unsigned long long)h->file, h->block_size, vskip, tail);
	kv_printf(&b,
	    "($CART is the cartridge's directory in an ABS virtual library.)\n"
	    "A dump that spans cartridges continues in part %u on the next one:\n"
	    "concatenate the dd output of parts 1, 2, ... in order, then decode.\n",
	    h->part + 1);
	if (strcmp(h->source_kind, "cmd") == 0)
		kv_printf(&b, "The stream is the standard output of: %.900s\n"
		    "Feed it to that tool's restore command.\n", h->source);
	if (h->archive[0])
		kv_printf(&b, "An archived file (docs/QUEUE.md): the data is the\n"
		    "file's bytes, its queue entry is archive_entry below.\n");
	kv_printf(&b, "%s", KV_START);
	kv_putu(&b, "version", (uint64_t)version);
	kv_put(&b, "dump_id", h->dump_id);
	kv_put(&b, "entity", h->entity);
	kv_put(&b, "server", h->server);
	kv_put(&b, "partition", h->partition);
	kv_putu(&b, "level", (uint64_t)h->level);
	kv_put(&b, "dump_date", h->dump_date);
	kv_put(&b, "since", h->since);
	kv_putu(&b, "part", h->part);
	kv_putu(&b, "offset", h->offset);
	kv_putu(&b, "block_size", h->block_size);
	kv_put(&b, "compress", h->compress);
	kv_put(&b, "digest", h->digest);
	kv_put(&b, "source_kind", h->source_kind);
	kv_put(&b, "source", h->source);
	kv_put(&b, "label", h->label);
	kv_put(&b, "tape_id", h->tape_id);
	kv_putu(&b, "file", h->file);
	if (h->part > 1) {
		kv_putu(&b, "prev_bytes", h->prev_bytes);
		kv_putu(&b, "prev_blocks", h->prev_blocks);
		kv_put(&b, "prev_digest", h->prev_digest);
	}
	/* Added keys, only when known: a direct-mode header stays as it was. */
	if (h->job > 0)
		kv_putu(&b, "job", (uint64_t)h->job);
	if (h->entity_type[0])
		kv_put(&b, "entity_type", h->entity_type);
	if (h->part > 1 && h->prev_tape_id[0])
		kv_put(&b, "prev_tape_id", h->prev_tape_id);
	if (h->base[0]) {
		kv_put(&b, "base", h->base);
		kv_put(&b, "base_date", h->base_date);
		kv_putu(&b, "base_level", (uint64_t)h->base_level);
	}
	if (h->archive[0])
		kv_put_long(&b, "archive_entry", h->archive);
	return kv_seal(&b, version >= 2);
}

int
fmt_header_build(const struct fmt_header *h, uint8_t *buf, size_t bs)
{
	int version = h->version > 0 ? h->version : FMT_VERSION;
	size_t hsize = FMT_UNIT;
	int n = 0;

	if (version < 2)
		return header_build(h, version, 0, buf, bs);
	/* The length's digits may move the text over a unit: settle it. */
	for (int i = 0; i < 4; i++) {
		n = header_build(h, version, hsize, buf, bs);
		if (n < 0 || (size_t)n == hsize)
			return n;
		hsize = (size_t)n;
	}
	return -E2BIG;
}

int
fmt_header_parse(const uint8_t *buf, size_t len, struct fmt_header *h)
{
	struct kvparse *kp = malloc(sizeof(*kp));
	uint64_t v, part, bsz;
	int rc;

	if (!kp)
		return -ENOMEM;
	memset(h, 0, sizeof(*h));
	rc = kv_parse(buf, len, MAGIC_HEADER, kp);
	if (rc)
		goto out;
	rc = -EBADMSG;
	if (kv_u64(kp, "version", 1000, &v))
		goto out;
	h->version = (int)v;
	if (kv_str(kp, "dump_id", h->dump_id, sizeof(h->dump_id)) ||
	    kv_str(kp, "entity", h->entity, sizeof(h->entity)) ||
	    kv_str(kp, "server", h->server, sizeof(h->server)) ||
	    kv_str(kp, "partition", h->partition, sizeof(h->partition)) ||
	    kv_str(kp, "dump_date", h->dump_date, sizeof(h->dump_date)) ||
	    kv_str(kp, "since", h->since, sizeof(h->since)) ||
	    kv_str(kp, "compress", h->compress, sizeof(h->compress)) ||
	    kv_str(kp, "digest", h->digest, sizeof(h->digest)) ||
	    kv_str(kp, "source_kind", h->source_kind, sizeof(h->source_kind)) ||
	    kv_str(kp, "source", h->source, sizeof(h->source)) ||
	    kv_str(kp, "label", h->label, sizeof(h->label)) ||
	    kv_str(kp, "tape_id", h->tape_id, sizeof(h->tape_id)) ||
	    kv_u64(kp, "level", 99, &v))
		goto out;
	h->level = (int)v;
	if (kv_u64(kp, "part", UINT32_MAX, &part) ||
	    kv_u64(kp, "offset", UINT64_MAX, &h->offset) ||
	    kv_u64(kp, "block_size", FMT_MAX_BLOCK, &bsz) ||
	    kv_u64(kp, "file", UINT32_MAX, &h->file) || part < 1 ||
	    bsz < FMT_MIN_BLOCK || !*h->entity)
		goto out;
	if (digest_alg_from_name(h->digest) < 0)
		goto out;
	/* Optional: the previous part's proof, from part 2 on. */
	if (kv_get(kp, "prev_digest") &&
	    (kv_str(kp, "prev_digest", h->prev_digest, sizeof(h->prev_digest)) ||
	    kv_u64(kp, "prev_bytes", UINT64_MAX, &h->prev_bytes) ||
	    kv_u64(kp, "prev_blocks", UINT64_MAX, &h->prev_blocks)))
		goto out;
	/* Added keys: absent on older tapes. */
	if ((kv_get(kp, "job") && kv_u64(kp, "job", INT64_MAX, &v)) ||
	    (kv_get(kp, "entity_type") && kv_str(kp, "entity_type",
	    h->entity_type, sizeof(h->entity_type))) ||
	    (kv_get(kp, "prev_tape_id") && kv_str(kp, "prev_tape_id",
	    h->prev_tape_id, sizeof(h->prev_tape_id))))
		goto out;
	h->job = kv_get(kp, "job") ? (int64_t)v : 0;
	h->base_level = -1;
	if (kv_get(kp, "base")) {
		if (kv_str(kp, "base", h->base, sizeof(h->base)) ||
		    kv_str(kp, "base_date", h->base_date, sizeof(h->base_date)) ||
		    kv_u64(kp, "base_level", 9, &v))
			goto out;
		h->base_level = (int)v;
	}
	if (kv_get(kp, "archive_entry") && kv_str(kp, "archive_entry",
	    h->archive, sizeof(h->archive)))
		goto out;
	h->part = (uint32_t)part;
	h->block_size = (uint32_t)bsz;
	if (block_len(buf, len, h->version, h->block_size, &h->size) < 0)
		goto out;
	rc = 0;
out:
	free(kp);
	return rc;
}

int
fmt_trailer_build(const struct fmt_trailer *t, uint8_t *buf, size_t bs)
{
	struct kvbuf b = { (char *)buf, 0, bs, 0 };
	int version = t->version > 0 ? t->version : FMT_VERSION;
	char crc[16];

	kv_printf(&b, "%s", MAGIC_TRAILER);
	kv_printf(&b,
	    "Checksums of dump part %u (tape file %llu): %llu bytes in %llu\n"
	    "blocks, %s %s.\n"
	    "The CRC32C of each data block follows this block as little-endian\n"
	    "32-bit words.\n",
	    t->part, (unsigned long long)t->header_file,
	    (unsigned long long)t->bytes, (unsigned long long)t->blocks,
	    t->digest, t->part_digest);
	kv_printf(&b, "%s", KV_START);
	kv_putu(&b, "version", (uint64_t)version);
	kv_put(&b, "dump_id", t->dump_id);
	kv_putu(&b, "part", t->part);
	kv_putu(&b, "header_file", t->header_file);
	kv_putu(&b, "block_size", t->block_size);
	kv_putu(&b, "bytes", t->bytes);
	kv_putu(&b, "blocks", t->blocks);
	kv_put(&b, "digest", t->digest);
	kv_put(&b, "part_digest", t->part_digest);
	kv_putu(&b, "last", (uint64_t)t->last);
	kv_putu(&b, "stream_bytes", t->stream_bytes);
	kv_put(&b, "stream_digest", t->last ? t->stream_digest : "-");
	kv_putu(&b, "raw_bytes", t->raw_bytes);
	kv_put(&b, "raw_digest", t->last ? t->raw_digest : "-");
	snprintf(crc, sizeof(crc), "%08x", t->table_crc);
	kv_put(&b, "table_crc32c", crc);
	if (t->written[0])	/* added keys */
		kv_put(&b, "written", t->written);
	if (t->tape_full)
		kv_putu(&b, "tape_full", 1);
	if (t->index_bytes) {
		kv_putu(&b, "index_raw", t->index_raw);
		kv_putu(&b, "index_stored", t->index_stored);
		kv_putu(&b, "index_bytes", t->index_bytes);
	}
	return kv_seal(&b, version >= 2);
}

int
fmt_trailer_parse(const uint8_t *buf, size_t len, struct fmt_trailer *t)
{
	struct kvparse *kp = malloc(sizeof(*kp));
	uint64_t v, part, last, bsz;
	char crc[16];
	int rc;

	if (!kp)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	rc = kv_parse(buf, len, MAGIC_TRAILER, kp);
	if (rc)
		goto out;
	rc = -EBADMSG;
	if (kv_u64(kp, "version", 1000, &v))
		goto out;
	t->version = (int)v;
	if (kv_str(kp, "dump_id", t->dump_id, sizeof(t->dump_id)) ||
	    kv_str(kp, "digest", t->digest, sizeof(t->digest)) ||
	    kv_str(kp, "part_digest", t->part_digest, sizeof(t->part_digest)) ||
	    kv_str(kp, "stream_digest", t->stream_digest,
	    sizeof(t->stream_digest)) ||
	    kv_str(kp, "raw_digest", t->raw_digest, sizeof(t->raw_digest)) ||
	    kv_str(kp, "table_crc32c", crc, sizeof(crc)) ||
	    kv_u64(kp, "part", UINT32_MAX, &part) ||
	    kv_u64(kp, "header_file", UINT32_MAX, &t->header_file) ||
	    kv_u64(kp, "block_size", FMT_MAX_BLOCK, &bsz) ||
	    kv_u64(kp, "bytes", UINT64_MAX, &t->bytes) ||
	    kv_u64(kp, "blocks", UINT64_MAX / 4, &t->blocks) ||
	    kv_u64(kp, "last", 1, &last) ||
	    kv_u64(kp, "stream_bytes", UINT64_MAX, &t->stream_bytes) ||
	    kv_u64(kp, "raw_bytes", UINT64_MAX, &t->raw_bytes) ||
	    bsz < FMT_MIN_BLOCK || part < 1)
		goto out;
	char *end;
	unsigned long c = strtoul(crc, &end, 16);
	if (*end || strlen(crc) != 8)
		goto out;
	/* Blocks must be able to hold the bytes claimed. */
	if (t->bytes > t->blocks * bsz || (t->blocks && t->bytes <= (t->blocks - 1) * bsz))
		goto out;
	if (digest_alg_from_name(t->digest) < 0)
		goto out;
	if ((kv_get(kp, "written") &&	/* added keys */
	    kv_str(kp, "written", t->written, sizeof(t->written))) ||
	    (kv_get(kp, "tape_full") && kv_u64(kp, "tape_full", 1, &v)))
		goto out;
	t->tape_full = kv_get(kp, "tape_full") ? (int)v : 0;
	if (kv_get(kp, "index_bytes") &&
	    (kv_u64(kp, "index_bytes", UINT64_MAX, &t->index_bytes) ||
	    kv_u64(kp, "index_raw", UINT64_MAX - t->index_bytes, &t->index_raw) ||
	    kv_u64(kp, "index_stored", UINT64_MAX, &t->index_stored) ||
	    !last || t->index_stored >= t->stream_bytes))
		goto out;
	t->table_crc = (uint32_t)c;
	t->part = (uint32_t)part;
	t->block_size = (uint32_t)bsz;
	t->last = (int)last;
	if (block_len(buf, len, t->version, t->block_size, &t->size) < 0)
		goto out;
	rc = 0;
out:
	free(kp);
	return rc;
}
