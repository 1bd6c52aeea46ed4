/* Tape format (versions 1 and 2): label, header and trailer round trips and damage. */
#include <errno.h>
#include <stdlib.h>

#include "common/crc32c.h"
#include "engine/format.h"
#include "t.h"

int
main(void)
{
	uint8_t *buf = calloc(1, FMT_DEFAULT_BLOCK);
	struct fmt_label l = { .version = 1, .label = "A00001",
	    .tape_id = "0123456789abcdef0123456789abcdef", .pool = "daily",
	    .block_size = 1 << 20, .labelled_at = "2026-11-22T03:50:00Z",
	    .labelled_by = "root@tapehost" }, l2;

	CHECK(fmt_label_build(&l, buf) == 0);
	CHECK_EQ(fmt_kind_of(buf, FMT_LABEL_SIZE), FMT_LABEL);
	CHECK(fmt_label_parse(buf, FMT_LABEL_SIZE, &l2) == 0);
	CHECK(strcmp(l2.label, "A00001") == 0 && strcmp(l2.pool, "daily") == 0);
	CHECK(strcmp(l2.tape_id, l.tape_id) == 0 && l2.block_size == 1 << 20);
	/* Every byte of the text is covered by the checksum. */
	size_t textlen = strlen((char *)buf);
	for (size_t i = 0; i < textlen; i += 7) {
		buf[i] ^= 0x01;
		int rc = fmt_label_parse(buf, FMT_LABEL_SIZE, &l2);
		CHECK(rc == -EBADMSG || rc == -ENOMSG);
		buf[i] ^= 0x01;
	}
	CHECK(fmt_label_parse(buf, 20, &l2) == -EBADMSG);
	CHECK(fmt_label_parse(buf, 10, &l2) == -ENOMSG);
	CHECK(fmt_label_parse((const uint8_t *)"hello", 5, &l2) == -ENOMSG);

	struct fmt_header h = { .version = 1,
	    .dump_id = "00112233445566778899aabbccddeeff",
	    .entity = "user.jdoe home (ü)", .server = "afs1",
	    .partition = "/vicepa", .level = 1,
	    .dump_date = "2026-11-22T03:50:00Z", .since = "2026-11-21T03:50:00Z",
	    .part = 1, .offset = 0, .block_size = 1 << 20, .compress = "zstd", .digest = "xxh128",
	    .source_kind = "cmd", .source = "vos dump -id user.jdoe -time 0",
	    .label = "A00001", .tape_id = "0123456789abcdef0123456789abcdef",
	    .file = 7 }, h2;
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK_EQ(fmt_kind_of(buf, 1 << 20), FMT_HEADER);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(strcmp(h2.entity, h.entity) == 0 && h2.level == 1 && h2.file == 7);
	CHECK(strcmp(h2.source, h.source) == 0 && h2.block_size == 1 << 20);
	CHECK(strstr((char *)buf, "vtape$ dd if=\"$CART/file000007\" bs=1048576 "
	    "skip=1 status=none | zstd -dc > \"$DEST\"") != NULL);
	CHECK(strstr((char *)buf, "mt -f /dev/nst0 fsf 7") != NULL);
	/* The rest of the block is zero. */
	CHECK(buf[(1 << 20) - 1] == 0 && buf[strlen((char *)buf)] == 0);
	buf[strlen((char *)buf) - 20] ^= 0x20;
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == -EBADMSG);
	/* A header does not fit a tiny block. */
	CHECK(fmt_header_build(&h, buf, 512) == -E2BIG);

	/*
	 * Both versions: a header without the added keys is the v1 block
	 * older engines wrote and parses with their defaults; with them, the
	 * block is that same v1 block plus two key lines (so a v1 reader,
	 * which ignores unknown keys, reads it), and they round-trip.
	 */
	uint8_t *v1 = malloc(1 << 20);
	CHECK(fmt_header_build(&h, v1, 1 << 20) > 0);
	CHECK(strstr((char *)v1, "\njob=") == NULL);
	CHECK(strstr((char *)v1, "\nentity_type=") == NULL);
	CHECK(fmt_header_parse(v1, 1 << 20, &h2) == 0);
	CHECK(h2.job == 0 && h2.entity_type[0] == '\0');
	h.job = 4711;
	snprintf(h.entity_type, sizeof(h.entity_type), "afs volume");
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(h2.job == 4711 && strcmp(h2.entity_type, "afs volume") == 0);
	char *added = strstr((char *)buf, "job=4711\nentity_type=afs%20volume\n");
	CHECK(added != NULL);
	if (added) {
		/* Without those lines (and a checksum over the rest): the v1 block. */
		size_t at = (size_t)(added - (char *)buf);
		char *tail = added + strlen("job=4711\nentity_type=afs%20volume\n");
		memmove(added, tail, strlen(tail) + 1);
		char *crc = strstr((char *)buf + at, "crc32c=");
		CHECK(crc != NULL);
		if (crc) {
			snprintf(crc, 17, "crc32c=%08x\n", crc32c(0, buf,
			    (size_t)(crc - (char *)buf)));
			CHECK(strcmp((char *)buf, (char *)v1) == 0);
		}
	}
	free(v1);
	h.job = 0;
	h.entity_type[0] = '\0';
	/* From part 2 on: the previous part's cartridge too. */
	h.part = 2;
	snprintf(h.prev_digest, sizeof(h.prev_digest), "%032x", 1);
	snprintf(h.prev_tape_id, sizeof(h.prev_tape_id), "%032x", 2);
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(strcmp(h2.prev_tape_id, h.prev_tape_id) == 0 && h2.part == 2);
	h.part = 1;
	h.prev_digest[0] = h.prev_tape_id[0] = '\0';

	struct fmt_trailer t = { .version = 1,
	    .dump_id = "00112233445566778899aabbccddeeff", .part = 1,
	    .header_file = 7, .block_size = 1 << 20, .bytes = 3 << 20,
	    .blocks = 3, .digest = "sha256", .last = 1, .stream_bytes = 3 << 20, .raw_bytes = 5 << 20,
	    .table_crc = 0xdeadbeef }, t2;
	memset(t.part_digest, 'a', 64);
	memset(t.stream_digest, 'a', 64);
	memset(t.raw_digest, 'b', 64);
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0);
	CHECK(t2.blocks == 3 && t2.bytes == 3 << 20 && t2.table_crc == 0xdeadbeef);
	CHECK(strcmp(t2.raw_digest, t.raw_digest) == 0 && t2.last == 1);
	/* v1 trailers have no written=; with the added key it round-trips. */
	CHECK(strstr((char *)buf, "\nwritten=") == NULL && t2.written[0] == 0);
	snprintf(t.written, sizeof(t.written), "2026-11-22T04:00:00Z");
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0);
	CHECK(strcmp(t2.written, "2026-11-22T04:00:00Z") == 0 && !t2.tape_full);
	t.tape_full = 1;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0 && t2.tape_full == 1);
	/* The file index's keys on the last trailer round-trip; on a part
	   that is not the last, or past the stream, they are refused. */
	t.index_raw = 5 << 19;
	t.index_stored = 2 << 20;
	t.index_bytes = 4096;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0);
	CHECK(t2.index_raw == 5 << 19 && t2.index_stored == 2 << 20 &&
	    t2.index_bytes == 4096);
	t.last = 0;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == -EBADMSG);
	t.last = 1;
	t.index_stored = 3 << 20;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == -EBADMSG);
	t.index_raw = t.index_stored = t.index_bytes = 0;
	/* Base keys on a header round-trip; none: "" and -1. */
	snprintf(h.base, sizeof(h.base), "%032x", 9);
	snprintf(h.base_date, sizeof(h.base_date), "2026-11-21T03:00:00Z");
	h.base_level = 0;
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(strcmp(h2.base, h.base) == 0 && h2.base_level == 0 &&
	    strcmp(h2.base_date, h.base_date) == 0);
	h.base[0] = h.base_date[0] = '\0';
	h.base_level = -1;
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(h2.base[0] == '\0' && h2.base_level == -1);
	CHECK(h2.archive[0] == '\0');
	/* An archived file's queue entry (docs/QUEUE.md) round-trips, its
	   longest with every byte escaped (spaces and '%'). */
	snprintf(h.archive, sizeof(h.archive), "{\"abs_queue\":1,\"path\":"
	    "\"/data/a b%%=.dat\",\"state\":\"closed\"}");
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(strcmp(h2.archive, h.archive) == 0);
	memset(h.archive, ' ', sizeof(h.archive) - 1);
	h.archive[sizeof(h.archive) - 1] = '\0';
	CHECK(fmt_header_build(&h, buf, 1 << 20) > 0);
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0);
	CHECK(strcmp(h2.archive, h.archive) == 0);
	h.archive[0] = '\0';
	/*
	 * Version 2: header and trailer record sized to their text (a
	 * multiple of FMT_UNIT with at least one zero after the text). Read
	 * back exactly, or in a longer buffer with other bytes after the
	 * block (tgt 1.0.85 returns more than the block), they parse with
	 * their size; cut short they are refused. Version 1 blocks keep the
	 * data block size.
	 */
	CHECK(fmt_header_parse(buf, 1 << 20, &h2) == 0 && h2.version == 1 &&
	    h2.size == 1 << 20);
	h.version = 2;
	int hl = fmt_header_build(&h, buf, 1 << 20);
	CHECK(hl > 0 && hl % FMT_UNIT == 0 && hl <= FMT_MAX_SIZED);
	CHECK((size_t)hl > strlen((char *)buf) && buf[hl - 1] == 0);
	CHECK(fmt_header_parse(buf, (size_t)hl, &h2) == 0 && h2.version == 2 &&
	    h2.size == (uint32_t)hl && h2.block_size == 1 << 20);
	memset(buf + hl, 0xa5, 3 * (size_t)hl);
	CHECK(fmt_header_parse(buf, 4 * (size_t)hl, &h2) == 0 &&
	    h2.size == (uint32_t)hl);
	CHECK(fmt_header_parse(buf, (size_t)hl - 1, &h2) == -EBADMSG);
	CHECK(fmt_header_build(&h, buf, 4096) == 4096 ||
	    fmt_header_build(&h, buf, 4096) == -E2BIG);
	/* A long source: still one sized block, two or more units. */
	memset(h.source, 'x', 1000);
	h.source[1000] = '\0';
	memset(h.partition, 'p', 1000);
	h.partition[1000] = '\0';
	hl = fmt_header_build(&h, buf, 1 << 20);
	CHECK(hl >= 2 * FMT_UNIT && hl <= FMT_MAX_SIZED);
	CHECK(fmt_header_parse(buf, (size_t)hl, &h2) == 0 &&
	    strcmp(h2.source, h.source) == 0 && h2.size == (uint32_t)hl);
	snprintf(h.source, sizeof(h.source), "vos dump -id user.jdoe -time 0");
	snprintf(h.partition, sizeof(h.partition), "/vicepa");
	h.version = 1;
	t.version = 2;
	int tl = fmt_trailer_build(&t, buf, 1 << 20);
	CHECK(tl == FMT_UNIT);
	CHECK(fmt_trailer_parse(buf, (size_t)tl, &t2) == 0 && t2.version == 2 &&
	    t2.size == FMT_UNIT && t2.blocks == 3);
	memset(buf + tl, 0x5a, (size_t)tl);
	CHECK(fmt_trailer_parse(buf, 2 * (size_t)tl, &t2) == 0 &&
	    t2.size == FMT_UNIT);
	CHECK(fmt_trailer_parse(buf, 100, &t2) == -EBADMSG);
	t.version = 1;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) == 1 << 20);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0 && t2.size == 1 << 20);
	/* A label says the format its parts take (0: this engine's). */
	l.version = 0;
	CHECK(fmt_label_build(&l, buf) == 0);
	CHECK(fmt_label_parse(buf, FMT_LABEL_SIZE, &l2) == 0 &&
	    l2.version == FMT_VERSION);
	CHECK(fmt_sized_len(0) == FMT_UNIT && fmt_sized_len(4095) == FMT_UNIT &&
	    fmt_sized_len(4096) == 2 * FMT_UNIT);
	/* Impossible geometry: more bytes than the blocks can hold. */
	t.bytes = (3 << 20) + 1;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) > 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == -EBADMSG);
	free(buf);
	T_DONE();
}
