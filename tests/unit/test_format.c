/* Tape format v1: label, header and trailer round trips and damage. */
#include <errno.h>
#include <stdlib.h>

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
	CHECK(fmt_header_build(&h, buf, 1 << 20) == 0);
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

	struct fmt_trailer t = { .version = 1,
	    .dump_id = "00112233445566778899aabbccddeeff", .part = 1,
	    .header_file = 7, .block_size = 1 << 20, .bytes = 3 << 20,
	    .blocks = 3, .digest = "sha256", .last = 1, .stream_bytes = 3 << 20, .raw_bytes = 5 << 20,
	    .table_crc = 0xdeadbeef }, t2;
	memset(t.part_digest, 'a', 64);
	memset(t.stream_digest, 'a', 64);
	memset(t.raw_digest, 'b', 64);
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) == 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == 0);
	CHECK(t2.blocks == 3 && t2.bytes == 3 << 20 && t2.table_crc == 0xdeadbeef);
	CHECK(strcmp(t2.raw_digest, t.raw_digest) == 0 && t2.last == 1);
	/* Impossible geometry: more bytes than the blocks can hold. */
	t.bytes = (3 << 20) + 1;
	CHECK(fmt_trailer_build(&t, buf, 1 << 20) == 0);
	CHECK(fmt_trailer_parse(buf, 1 << 20, &t2) == -EBADMSG);
	free(buf);
	T_DONE();
}
