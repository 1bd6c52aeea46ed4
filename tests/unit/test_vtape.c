/*
 * The vtape SSC target through the tape API, as a drive would be driven:
 * blocks, filemarks, BLANK CHECK, SPACE, LOCATE, READ POSITION, early
 * warning, PEW, VOLUME OVERFLOW, write protect, medium errors, ILI, fixed
 * blocks, load/unload, TapeAlert, truncation, persistence.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "sg/tsg.h"
#include "sg/vtape.h"
#include "t.h"

#define MB (1u << 20)

static char dir[256], uri[300];

/* Block i's content: a byte pattern that says which block it is. */
static void
pattern(uint8_t *b, size_t n, unsigned i)
{
	for (size_t k = 0; k < n; k++)
		b[k] = (uint8_t)(i * 31 + k);
}

static struct tsg_dev *
reopen(struct tsg_dev *d)
{
	tsg_free(d);
	CHECK(tsg_open(uri, &d) == 0);
	return d;
}

int
main(void)
{
	struct tsg_dev *d = NULL, *d2;
	struct tsg_status st;
	struct tsg_pos pos;
	uint8_t *buf = malloc(2 * MB), *rd = malloc(2 * MB);
	char cmd[600];
	bool wp;
	uint64_t ta;

	snprintf(dir, sizeof(dir), "/tmp/abs-vtape-unit-%d", (int)getpid());
	snprintf(uri, sizeof(uri), "vtape:%s/c", dir);
	mkdir(dir, 0755);
	snprintf(cmd, sizeof(cmd), "%s/c", dir);
	CHECK(vtape_cart_create(cmd, "T00001", 10 * MB, 2 * MB) == 0);
	CHECK(vtape_cart_create(cmd, "T00001", 10 * MB, 2 * MB) == -EEXIST);
	CHECK(tsg_open("bogus:x", &d) == -EPROTONOSUPPORT);
	CHECK(tsg_open("vtape:/nonexistent/x", &d) == -ENOENT);
	CHECK(tsg_open(uri, &d) == 0);
	/* One user at a time, like an exclusive open of /dev/nst0. */
	CHECK(tsg_open(uri, &d2) == -EBUSY);

	/* A new cartridge: BOT, and reading finds blank tape. */
	CHECK(tsg_test_unit_ready(d, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK(pos.bop && pos.lon == 0 && pos.file == 0 && pos.known);
	CHECK(tsg_read(d, rd, 65536, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_BLANK_CHECK);

	/* file 0: 3 blocks; file 1: 2 blocks; then EOD. */
	for (unsigned i = 0; i < 5; i++) {
		pattern(buf, 65536, i);
		CHECK(tsg_write(d, buf, 65536 - i, &st) == 0);
		if (i == 2)
			CHECK(tsg_write_filemarks(d, 1, false, &st) == 0);
	}
	CHECK(tsg_write_filemarks(d, 1, true, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK_EQ(pos.lon, 7);
	CHECK_EQ(pos.file, 2);

	/* Read back: blocks, FILEMARK, blocks, FILEMARK, BLANK CHECK. */
	CHECK(tsg_rewind(d, &st) == 0);
	for (unsigned i = 0; i < 5; i++) {
		CHECK(tsg_read(d, rd, 65536, &st) == 0);
		CHECK_EQ(st.xfer, 65536 - i);
		pattern(buf, 65536, i);
		CHECK(memcmp(rd, buf, 65536 - i) == 0);
		if (i == 2 || i == 4) {
			CHECK(tsg_read(d, rd, 65536, &st) == TSG_CHECK);
			CHECK(st.filemark && st.cat == TSG_CAT_NO_SENSE);
		}
	}
	CHECK(tsg_read(d, rd, 65536, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_BLANK_CHECK && st.asc == 0 && st.ascq == 5);

	/* An over-length block with a short buffer: ILI, negative residue. */
	CHECK(tsg_rewind(d, &st) == 0);
	CHECK(tsg_read(d, rd, 1000, &st) == TSG_CHECK);
	CHECK(st.ili && st.info == 1000 - 65536 && st.xfer == 1000);

	/* SPACE: blocks stop at a filemark; filemarks both ways; EOD. */
	CHECK(tsg_rewind(d, &st) == 0);
	CHECK(tsg_space(d, TSG_SPACE_BLOCKS, 5, &st) == TSG_CHECK);
	CHECK(st.filemark && st.info == 2);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK(pos.lon == 4 && pos.file == 1);
	CHECK(tsg_space(d, TSG_SPACE_FILEMARKS, -1, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK(pos.lon == 3 && pos.file == 0);
	CHECK(tsg_space(d, TSG_SPACE_FILEMARKS, 1, &st) == 0);
	CHECK(tsg_read(d, rd, 65536, &st) == 0);
	pattern(buf, 65536, 3);
	CHECK(memcmp(rd, buf, 65533) == 0);
	CHECK(tsg_space(d, TSG_SPACE_BLOCKS, -1, &st) == 0);
	CHECK(tsg_space(d, TSG_SPACE_BLOCKS, -1, &st) == TSG_CHECK);
	CHECK(st.filemark);
	CHECK(tsg_rewind(d, &st) == 0);
	CHECK(tsg_space(d, TSG_SPACE_BLOCKS, -1, &st) == TSG_CHECK);
	CHECK(st.eom && st.ascq == 4);
	CHECK(tsg_space(d, TSG_SPACE_FILEMARKS, 5, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_BLANK_CHECK);
	CHECK(tsg_space(d, TSG_SPACE_EOD, 0, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK(pos.lon == 7 && pos.file == 2);

	/* LOCATE to a block; past end of data is BLANK CHECK. */
	CHECK(tsg_locate(d, 5, &st) == 0);
	CHECK(tsg_read(d, rd, 65536, &st) == 0);
	pattern(buf, 65536, 4);
	CHECK(memcmp(rd, buf, 65532) == 0);
	CHECK(tsg_locate(d, 100, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_BLANK_CHECK);

	/* Writing in the middle truncates what follows (new end of data). */
	CHECK(tsg_locate(d, 4, &st) == 0);
	pattern(buf, 4096, 9);
	CHECK(tsg_write(d, buf, 4096, &st) == 0);
	CHECK(tsg_read(d, rd, 65536, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_BLANK_CHECK);
	CHECK(tsg_write_filemarks(d, 1, false, &st) == 0);

	/* Persistence: a new open sees the same tape. */
	d = reopen(d);
	CHECK(tsg_space(d, TSG_SPACE_EOD, 0, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	CHECK(pos.lon == 6 && pos.file == 2);

	/* Early warning 2 MB before the end of 10 MB; PEW 1 MB before that. */
	CHECK(tsg_set_pew(d, 1, &st) == 0);
	unsigned n = 0, pew_at = 0, ew_at = 0, ovf_at = 0;
	memset(buf, 0x5a, MB);
	for (n = 0; n < 20; n++) {
		int rc = tsg_write(d, buf, MB / 2, &st);
		if (rc == TSG_CHECK && st.ascq == 7 && !pew_at)
			pew_at = n;
		if (rc == TSG_CHECK && st.ascq == 2 && st.eom &&
		    st.cat == TSG_CAT_NO_SENSE && !ew_at)
			ew_at = n;
		if (rc == TSG_CHECK && st.cat == TSG_CAT_VOLUME_OVERFLOW) {
			ovf_at = n;
			CHECK(st.valid && st.info == MB / 2 && st.eom);
			break;
		}
		CHECK(rc == 0 || tsg_is_early_warning(&st));
	}
	CHECK(pew_at > 0 && ew_at > pew_at && ovf_at > ew_at);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	/* The overflowing block was not written. */
	CHECK_EQ(pos.lon, 6 + ovf_at);
	CHECK(tsg_write_filemarks(d, 1, false, &st) == TSG_CHECK);
	CHECK(tsg_is_early_warning(&st));

	/* Write protect: DATA PROTECT 27/00, nothing written. */
	d = reopen(d);
	tsg_free(d);
	snprintf(cmd, sizeof(cmd), "%s/c", dir);
	struct vtape_fault f = { .write_protect = 1, .medium_error_at = -1,
	    .corrupt_write_at = -1 };
	CHECK(vtape_inject(cmd, &f) == 0);
	CHECK(tsg_open(uri, &d) == 0);
	CHECK(tsg_write_protected(d, &wp, &st) == 0 && wp);
	CHECK(tsg_space(d, TSG_SPACE_EOD, 0, &st) == 0);
	CHECK(tsg_write(d, buf, 4096, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_DATA_PROTECT && st.asc == 0x27);
	CHECK(tsg_write_filemarks(d, 1, false, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_DATA_PROTECT);

	/* Medium error at block 1 (read), TapeAlert flag 4 (media). */
	tsg_free(d);
	f = (struct vtape_fault){ .write_protect = 0, .medium_error_at = 1,
	    .corrupt_write_at = -1,
	    .tapealert = 4 };
	CHECK(vtape_inject(cmd, &f) == 0);
	CHECK(tsg_open(uri, &d) == 0);
	CHECK(tsg_write_protected(d, &wp, &st) == 0 && !wp);
	CHECK(tsg_locate(d, 1, &st) == 0);
	CHECK(tsg_read(d, rd, 65536, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_MEDIUM_ERROR && st.asc == 0x11);
	CHECK(tsg_tapealert(d, &ta, &st) == 0);
	CHECK_EQ(ta, 1ULL << 3);
	CHECK(tsg_tapealert(d, &ta, &st) == 0);
	CHECK_EQ(ta, 0);
	/* A write landing on the bad spot: MEDIUM ERROR 0C/00, not written. */
	CHECK(tsg_locate(d, 1, &st) == 0);
	CHECK(tsg_write(d, buf, 4096, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_MEDIUM_ERROR && st.asc == 0x0c);

	/* Fixed-block mode: MODE SELECT a block length, WRITE/READ counts. */
	tsg_free(d);
	f = (struct vtape_fault){ .write_protect = -1, .medium_error_at = -1,
	    .corrupt_write_at = -1,
	    .clear = 1 };
	CHECK(vtape_inject(cmd, &f) == 0);
	CHECK(tsg_open(uri, &d) == 0);
	uint8_t ms[12] = { 0, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00 };
	uint8_t cdb_sel[SPC_MODE_SELECT6_CMDLEN] = { SPC_MODE_SELECT6_CMD,
	    SPC_MODE_SELECT_PF, 0, 0, 12, 0 };
	CHECK(tsg_exec(d, cdb_sel, SPC_MODE_SELECT6_CMDLEN, TSG_DIR_TO_DEV, ms,
	    12, &st) == 0);
	CHECK(tsg_locate(d, 0, &st) == 0);
	uint8_t cdb_w[SSC_WRITE6_CMDLEN] = { SSC_WRITE6_CMD, SSC_FIXED, 0, 0, 4,
	    0 };
	pattern(buf, 2048, 1);
	CHECK(tsg_exec(d, cdb_w, SSC_WRITE6_CMDLEN, TSG_DIR_TO_DEV, buf, 2048,
	    &st) == 0);
	CHECK(tsg_rewind(d, &st) == 0);
	uint8_t cdb_r[SSC_READ6_CMDLEN] = { SSC_READ6_CMD, SSC_FIXED, 0, 0, 4, 0 };
	CHECK(tsg_exec(d, cdb_r, SSC_READ6_CMDLEN, TSG_DIR_FROM_DEV, rd, 2048,
	    &st) == 0);
	CHECK(memcmp(rd, buf, 2048) == 0);
	/* A variable-mode command in fixed mode is refused. */
	CHECK(tsg_write(d, buf, 512, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_ILLEGAL_REQUEST);
	CHECK(tsg_set_variable(d, &st) == 0);

	/* Logical block protection: the CRC32C rides after the data. */
	CHECK(tsg_set_lbp(d, true, &st) == 0);
	CHECK(tsg_space(d, TSG_SPACE_EOD, 0, &st) == 0);
	CHECK(tsg_read_position(d, &pos, &st) == 0);
	uint64_t lbp_lon = pos.lon;
	pattern(buf, 4096, 7);
	uint32_t c = crc32c(0, buf, 4096);
	buf[4096] = (uint8_t)(c >> 24) ^ 1;	/* wrong */
	buf[4097] = (uint8_t)(c >> 16);
	buf[4098] = (uint8_t)(c >> 8);
	buf[4099] = (uint8_t)c;
	CHECK(tsg_write(d, buf, 4100, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_ABORTED && st.asc == 0x10 && st.ascq == 0x01);
	buf[4096] ^= 1;
	CHECK(tsg_write(d, buf, 4100, &st) == 0);
	CHECK(tsg_write(d, buf, 4100, &st) == 0);
	CHECK(tsg_locate(d, lbp_lon, &st) == 0);
	CHECK(tsg_read(d, rd, 8192, &st) == 0);
	CHECK_EQ(st.xfer, 4100);
	CHECK(memcmp(rd, buf, 4100) == 0);
	CHECK(tsg_locate(d, lbp_lon, &st) == 0);
	CHECK(tsg_verify_lbp(d, 2, &st) == 0);
	/* VERIFY past end of data says so. */
	CHECK(tsg_verify_lbp(d, 1, &st) == TSG_CHECK);
	CHECK_EQ(st.cat, TSG_CAT_BLANK_CHECK);
	CHECK(tsg_set_lbp(d, false, &st) == 0);
	CHECK(tsg_locate(d, lbp_lon, &st) == 0);
	CHECK(tsg_read(d, rd, 8192, &st) == 0);
	CHECK_EQ(st.xfer, 4096);

	/* Unload: NOT READY; load: UNIT ATTENTION, retried by the API. */
	CHECK(tsg_load(d, false, &st) == 0);
	CHECK(tsg_test_unit_ready(d, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_NOT_READY && st.asc == SPC_ASC_MEDIUM_NOT_PRESENT);
	CHECK(tsg_load(d, true, &st) == 0);
	CHECK(tsg_test_unit_ready(d, &st) == 0);
	uint32_t mn, mx;
	CHECK(tsg_read_block_limits(d, &mn, &mx, &st) == 0);
	CHECK(mn == 1 && mx >= 8 * MB);
	/* Unknown opcode: ILLEGAL REQUEST 20/00. */
	uint8_t cdb_x[6] = { 0xee };
	CHECK(tsg_exec(d, cdb_x, sizeof(cdb_x), TSG_DIR_NONE, NULL, 0, &st) ==
	    TSG_CHECK);
	CHECK(st.cat == TSG_CAT_ILLEGAL_REQUEST && st.asc == 0x20);
	tsg_free(d);

	/* An empty library drive answers NOT READY, medium not present. */
	char why[512];
	snprintf(cmd, sizeof(cmd), "%s/lib", dir);
	CHECK(vtape_library_create(cmd, 2, 1, 8 * MB, MB, "L") == 0);
	snprintf(uri, sizeof(uri), "vtape:%s/lib/drive0", dir);
	CHECK(tsg_open(uri, &d) == 0);
	CHECK(tsg_test_unit_ready(d, &st) == TSG_CHECK);
	CHECK(st.cat == TSG_CAT_NOT_READY && st.asc == 0x3a);
	tsg_free(d);
	CHECK(vtape_load(cmd, 2, 0, why, sizeof(why)) == 0);
	CHECK(vtape_load(cmd, 1, 0, why, sizeof(why)) == -EEXIST);
	CHECK(vtape_load(cmd, 2, 0, why, sizeof(why)) == -ENOENT);
	CHECK(tsg_open(uri, &d) == 0);
	CHECK(tsg_test_unit_ready(d, &st) == 0);
	/* The changer will not move a cartridge out of a drive in use. */
	CHECK(vtape_unload(cmd, 0, why, sizeof(why)) == -EBUSY);
	CHECK(strstr(why, "drive 0 is in use by pid") != NULL);
	/*
	 * Nor can the cartridge be opened by another path: its own directory,
	 * a second drive given it. The refusal names the holder and its path.
	 */
	struct tsg_dev *d3 = NULL;
	char why2[TSG_WHY_LEN], u2[400], pid[64];
	snprintf(u2, sizeof(u2), "vtape:%s/lib/carts/L00002", dir);
	snprintf(pid, sizeof(pid), "by pid %ld (opened as vtape:", (long)getpid());
	CHECK(tsg_open_why(u2, &d3, why2) == -EBUSY && !d3);
	CHECK(strstr(why2, "cartridge ") && strstr(why2, "/lib/carts/L00002 is in use") &&
	    strstr(why2, pid) && strstr(why2, "/lib/drive0)"));
	snprintf(u2, sizeof(u2), "%s/lib/drive1", dir);
	CHECK(mkdir(u2, 0755) == 0);
	snprintf(u2, sizeof(u2), "%s/lib/drive1/tape", dir);
	CHECK(symlink("../carts/L00002", u2) == 0);
	snprintf(u2, sizeof(u2), "vtape:%s/lib/drive1", dir);
	CHECK(tsg_open_why(u2, &d3, why2) == -EBUSY && strstr(why2, pid));
	snprintf(u2, sizeof(u2), "%s/lib/drive1/tape", dir);
	CHECK(unlink(u2) == 0);
	tsg_free(d);
	CHECK(vtape_unload(cmd, 0, why, sizeof(why)) == 0);
	CHECK(vtape_unload(cmd, 0, why, sizeof(why)) == -ENOENT);
	char *c2 = NULL;
	CHECK(vtape_slot_cart(cmd, 2, &c2) == 0 && strstr(c2, "L00002"));
	free(c2);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	free(buf);
	free(rd);
	T_DONE();
}
