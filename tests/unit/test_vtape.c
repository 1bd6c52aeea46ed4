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
#include "sg/smc.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"
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


/* ---- the library as a SCSI medium changer (sg/vtape_smc.c) ---- */

/* One CDB straight to the transport: what an initiator sees, UA included. */
static int
raw(struct tsg_dev *d, const uint8_t *cdb, int cdblen, void *buf, size_t len,
    struct tsg_status *st)
{
	uint8_t sense[TSG_SENSE_LEN];
	int sl = 0, status = 0, rc;
	size_t resid = 0;

	rc = d->tr->exec(d, cdb, cdblen, len ? TSG_DIR_FROM_DEV : TSG_DIR_NONE,
	    len ? buf : NULL, len, &resid, &status, sense, &sl);
	if (rc < 0)
		return rc;
	tsg_decode_sense(sense, sl, status, st);
	st->xfer = len - resid;
	return st->cat == TSG_CAT_GOOD ? 0 : TSG_CHECK;
}

/* Did the last command end in CHECK CONDITION with key/asc/ascq? */
static bool
sense_is(int rc, const struct tsg_status *st, uint8_t key, uint8_t asc,
    uint8_t ascq)
{
	if (rc == TSG_CHECK && st->key == key && st->asc == asc &&
	    st->ascq == ascq)
		return true;
	fprintf(stderr, "  got rc %d sense %02x/%02x/%02x, want %02x/%02x/%02x\n",
	    rc, st->key, st->asc, st->ascq, key, asc, ascq);
	return false;
}

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static size_t
be24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

/* READ ELEMENT STATUS into b (alloc bytes); rc as raw(). */
static int
res(struct tsg_dev *d, unsigned type, bool voltag, unsigned start,
    unsigned count, bool dvcid, uint8_t *b, size_t alloc, struct tsg_status *st)
{
	uint8_t cdb[12] = { SMC_READ_ELEMENT_STATUS_CMD,
	    (uint8_t)(type | (voltag ? SMC_RES_VOLTAG : 0)),
	    (uint8_t)(start >> 8), (uint8_t)start, (uint8_t)(count >> 8),
	    (uint8_t)count, dvcid ? SMC_RES_DVCID : 0, (uint8_t)(alloc >> 16),
	    (uint8_t)(alloc >> 8), (uint8_t)alloc, 0, 0 };

	return raw(d, cdb, sizeof(cdb), b, alloc, st);
}

/* MOVE MEDIUM between two addresses through robot 0 (the default). */
static int
move(struct tsg_dev *d, unsigned robot, unsigned from, unsigned to,
    struct tsg_status *st)
{
	uint8_t cdb[12] = { SMC_MOVE_MEDIUM_CMD, 0, (uint8_t)(robot >> 8),
	    (uint8_t)robot, (uint8_t)(from >> 8), (uint8_t)from,
	    (uint8_t)(to >> 8), (uint8_t)to };

	return raw(d, cdb, sizeof(cdb), NULL, 0, st);
}

/* The descriptor of address addr in a READ ELEMENT STATUS answer, or NULL. */
static const uint8_t *
find_desc(const uint8_t *b, size_t n, unsigned addr, unsigned *type,
    size_t *dlen)
{
	size_t off = 8, end = 8 + be24(b + 5);

	if (end > n)
		end = n;
	while (off + 8 <= end) {
		size_t dl = be16(b + off + 2), bytes = be24(b + off + 5);
		const uint8_t *p = b + off + 8;
		for (size_t i = 0; dl && i + dl <= bytes && p + i + dl <= b + end;
		    i += dl)
			if (be16(p + i) == addr) {
				*type = b[off];
				*dlen = dl;
				return p + i;
			}
		off += 8 + bytes;
	}
	return NULL;
}

/* The volume tag of a descriptor, trailing blanks cut. */
static void
tag_of(const uint8_t *desc, char *out)
{
	int n = 32;

	memcpy(out, desc + 12, 32);
	while (n > 0 && (out[n - 1] == ' ' || !out[n - 1]))
		n--;
	out[n] = '\0';
}

#define A_SLOT(n) (VTAPE_ADDR_SLOT + (n) - 1)
#define A_PORTAL(n) (VTAPE_ADDR_PORTAL + (n) - 1)
#define A_DRIVE(n) (VTAPE_ADDR_DRIVE + (n))

static void
smc_cdbs(const char *top)
{
	struct vtape_library L = { .slots = 4, .drives = 2, .portals = 2,
	    .capacity = 8 * MB, .early_warning = MB, .prefix = "L",
	    .serial = "VLTEST01" };
	char lib[400], u[420], tag[40];
	uint8_t b[4096], cdb[16];
	struct tsg_status st;
	struct tsg_inquiry inq;
	struct tsg_dev *d = NULL, *dr = NULL;
	const uint8_t *p;
	unsigned type;
	size_t dl;
	int rc;

	snprintf(lib, sizeof(lib), "%s/smc", top);
	CHECK(vtape_library_new(lib, &L) == 0);
	snprintf(u, sizeof(u), "vtape:%s", lib);
	/* Opened as a tape drive it is none, and says what to open instead. */
	char why[TSG_WHY_LEN];
	CHECK(tsg_open_why(u, &d, why) == -EISDIR && !d &&
	    strstr(why, "is a vtape library, not a drive"));
	CHECK(tsg_open_changer(u, &d, why) == 0 && d);
	if (!d)
		return;

	/* INQUIRY: a medium changer with the library's serial in page 80h. */
	CHECK(tsg_inquiry(d, &inq, &st) == 0);
	CHECK_EQ(inq.peripheral_type, 8);
	CHECK(strcmp(inq.vendor, "ABS") == 0 && strcmp(inq.serial, "VLTEST01") == 0);
	CHECK(strcmp(inq.product, "VTAPE LIBRARY") == 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SPC_INQUIRY_CMD;
	cdb[1] = SPC_INQUIRY_EVPD;
	cdb[4] = 255;
	CHECK(raw(d, cdb, 6, b, 255, &st) == 0);
	CHECK(st.xfer == 6 && b[0] == 8 && b[1] == 0 && b[3] == 2 && b[4] == 0 &&
	    b[5] == 0x80);
	cdb[2] = 0x83;
	CHECK(sense_is(raw(d, cdb, 6, b, 255, &st), &st, 5, 0x24, 0));
	cdb[1] = 0;	/* a page code without EVPD */
	CHECK(sense_is(raw(d, cdb, 6, b, 255, &st), &st, 5, 0x24, 0));
	cdb[2] = 0;
	cdb[4] = 5;	/* allocation length honoured */
	CHECK(raw(d, cdb, 6, b, 255, &st) == 0 && st.xfer == 5 && b[4] == 91);
	/* A library drive's serial: the same as the changer's DVCID below. */
	snprintf(u, sizeof(u), "vtape:%s/drive1", lib);
	CHECK(tsg_open(u, &dr) == 0);
	CHECK(dr && tsg_inquiry(dr, &inq, &st) == 0 && inq.peripheral_type == 1 &&
	    strcmp(inq.serial, "VLTEST01D1") == 0);
	tsg_free(dr);

	/* TEST UNIT READY, REQUEST SENSE (nothing pending), unknown opcodes. */
	CHECK(tsg_test_unit_ready(d, &st) == 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SPC_REQUEST_SENSE_CMD;
	cdb[4] = 18;
	CHECK(raw(d, cdb, 6, b, 18, &st) == 0 && st.xfer == 18 &&
	    b[0] == 0x70 && (b[2] & 0xf) == 0);
	cdb[0] = SSC_READ6_CMD;
	CHECK(sense_is(raw(d, cdb, 6, b, 18, &st), &st, 5, 0x20, 0));
	cdb[0] = SMC_EXCHANGE_MEDIUM_CMD;
	CHECK(sense_is(raw(d, cdb, 12, NULL, 0, &st), &st, 5, 0x20, 0));
	cdb[0] = SMC_READ_ELEMENT_STATUS_CMD;	/* a CDB too short */
	CHECK(sense_is(raw(d, cdb, 6, b, 18, &st), &st, 5, 0x24, 0));

	/* MODE SENSE(6) page 1Dh: the element address assignment. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SPC_MODE_SENSE6_CMD;
	cdb[2] = SMC_MP_ELEMENT_ADDRESS;
	cdb[4] = 255;
	CHECK(raw(d, cdb, 6, b, 255, &st) == 0 && st.xfer == 24 && b[0] == 23 &&
	    b[3] == 0);
	p = b + 4;
	CHECK(p[0] == 0x1d && p[1] == 0x12);
	CHECK(be16(p + 2) == VTAPE_ADDR_ROBOT && be16(p + 4) == 1);
	CHECK(be16(p + 6) == A_SLOT(1) && be16(p + 8) == 4);
	CHECK(be16(p + 10) == A_PORTAL(1) && be16(p + 12) == 2);
	CHECK(be16(p + 14) == A_DRIVE(0) && be16(p + 16) == 2);
	/* MODE SENSE(10) all pages: 1Dh, 1Eh, 1Fh; capabilities say moves. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x5a;
	cdb[2] = 0x3f;
	cdb[8] = 200;
	CHECK(raw(d, cdb, 10, b, 200, &st) == 0 && st.xfer == 8 + 20 + 4 + 20);
	CHECK(be16(b) == st.xfer - 2 && b[8] == 0x1d && b[28] == 0x1e &&
	    b[32] == 0x1f && b[33] == 0x12);
	CHECK(b[34] == 0x0e && b[37] == 0x0e && b[38] == 0x0e && b[39] == 0x0e);
	cdb[8] = 10;	/* truncated */
	CHECK(raw(d, cdb, 10, b, 200, &st) == 0 && st.xfer == 10 &&
	    be16(b) == 50);
	cdb[8] = 200;
	cdb[2] = 0x40 | 0x1f;	/* changeable values: none */
	CHECK(raw(d, cdb, 10, b, 200, &st) == 0 && st.xfer == 28 && b[8] == 0x1f &&
	    b[10] == 0 && b[13] == 0);
	cdb[2] = 0xc0 | 0x1f;	/* saved values */
	CHECK(sense_is(raw(d, cdb, 10, b, 200, &st), &st, 5, 0x39, 0));
	cdb[2] = 0x10;	/* a tape drive's page */
	CHECK(sense_is(raw(d, cdb, 10, b, 200, &st), &st, 5, 0x24, 0));
	cdb[2] = 0x1d;
	cdb[3] = 1;	/* a subpage */
	CHECK(sense_is(raw(d, cdb, 10, b, 200, &st), &st, 5, 0x24, 0));

	/* READ ELEMENT STATUS, everything: robot, portals, drives, slots. */
	memset(b, 0xee, sizeof(b));
	CHECK(res(d, 0, true, 0, 0xffff, true, b, sizeof(b), &st) == 0);
	size_t full = 8 + (8 + 52) + (8 + 2 * 52) + (8 + 2 * (52 + 32)) +
	    (8 + 4 * 52);
	CHECK_EQ(st.xfer, full);
	CHECK(be16(b) == VTAPE_ADDR_ROBOT && be16(b + 2) == 9 &&
	    be24(b + 5) == full - 8);
	CHECK(b[8] == 1 && b[9] == 0x80 && be16(b + 10) == 52 &&
	    be24(b + 13) == 52);
	p = find_desc(b, st.xfer, A_SLOT(3), &type, &dl);
	CHECK(p && type == 2 && dl == 52 && p[2] == (SMC_ED_FULL | SMC_ED_ACCESS));
	if (p) {
		tag_of(p, tag);
		CHECK(strcmp(tag, "L00003") == 0 && p[12 + 6] == ' ');
	}
	p = find_desc(b, st.xfer, A_PORTAL(2), &type, &dl);
	CHECK(p && type == 3 && p[2] == (SMC_ED_ACCESS | 0x30));
	p = find_desc(b, st.xfer, A_DRIVE(1), &type, &dl);
	CHECK(p && type == 4 && dl == 52 + 32 && p[2] == SMC_ED_ACCESS &&
	    !(p[9] & SMC_ED_SVALID));
	CHECK(p && p[48] == 2 && p[51] == 10 && memcmp(p + 52, "VLTEST01D1",
	    10) == 0 && p[62] == 0);
	/* Without VolTag or DVCID the descriptors are 12 bytes. */
	CHECK(res(d, 0, false, 0, 100, false, b, sizeof(b), &st) == 0);
	CHECK(st.xfer == 8 + 4 * 8 + 9 * 12 && be16(b + 10) == 12);
	/* A short allocation: cut there, the counts still the whole answer. */
	memset(b, 0xee, sizeof(b));
	CHECK(res(d, 0, true, 0, 0xffff, true, b, 30, &st) == 0);
	CHECK(st.xfer == 30 && be16(b + 2) == 9 && be24(b + 5) == full - 8);
	CHECK(b[30] == 0xee);
	CHECK(res(d, 0, true, 0, 0xffff, true, b, 5, &st) == 0 && st.xfer == 5);
	CHECK(res(d, 0, true, 0, 0xffff, true, b, 0, &st) == 0 && st.xfer == 0);
	/* Type and range: slots from slot 2, two of them. */
	CHECK(res(d, SMC_ELEM_STORAGE, true, A_SLOT(2), 2, false, b, sizeof(b),
	    &st) == 0);
	CHECK(st.xfer == 8 + 8 + 2 * 48 && be16(b) == A_SLOT(2) &&
	    be16(b + 2) == 2 && b[8] == 2 && be24(b + 13) == 96);
	CHECK(be16(b + 16) == A_SLOT(2) && be16(b + 16 + 48) == A_SLOT(3));
	/* A start below the type's first address: from its first element. */
	CHECK(res(d, SMC_ELEM_DATA_TRANSFER, false, VTAPE_ADDR_ROBOT, 9, true, b,
	    sizeof(b), &st) == 0 && be16(b) == A_DRIVE(0) && be16(b + 2) == 2);
	/* Bad element ranges and fields. */
	CHECK(sense_is(res(d, 0, true, 5, 10, false, b, sizeof(b), &st), &st, 5,
	    0x21, 0x01));
	CHECK(sense_is(res(d, SMC_ELEM_DATA_TRANSFER, true, A_SLOT(1), 10, false,
	    b, sizeof(b), &st), &st, 5, 0x21, 0x01));
	CHECK(sense_is(res(d, 0, true, A_SLOT(4) + 1, 10, false, b, sizeof(b),
	    &st), &st, 5, 0x21, 0x01));
	CHECK(sense_is(res(d, 5, true, 0, 10, false, b, sizeof(b), &st), &st, 5,
	    0x24, 0));
	CHECK(sense_is(res(d, 0, true, 0, 0, false, b, sizeof(b), &st), &st, 5,
	    0x24, 0));

	/* MOVE MEDIUM: slot 1 to drive 0; the drive says where it came from. */
	CHECK(move(d, 0, A_SLOT(1), A_DRIVE(0), &st) == 0);
	CHECK(res(d, SMC_ELEM_DATA_TRANSFER, true, 0, 1, false, b, sizeof(b),
	    &st) == 0);
	p = b + 16;
	tag_of(p, tag);
	CHECK(be16(p) == A_DRIVE(0) && (p[2] & SMC_ED_FULL) &&
	    (p[9] & SMC_ED_SVALID) && be16(p + 10) == A_SLOT(1) &&
	    strcmp(tag, "L00001") == 0);
	CHECK(sense_is(move(d, 0, A_SLOT(1), A_DRIVE(1), &st), &st, 5, 0x3b, 0x0e));
	CHECK(sense_is(move(d, 0, A_SLOT(2), A_DRIVE(0), &st), &st, 5, 0x3b, 0x0d));
	CHECK(sense_is(move(d, 0, A_SLOT(9), A_DRIVE(1), &st), &st, 5, 0x21, 1));
	CHECK(sense_is(move(d, 0, A_SLOT(2), A_DRIVE(2), &st), &st, 5, 0x21, 1));
	CHECK(sense_is(move(d, 7, A_SLOT(2), A_DRIVE(1), &st), &st, 5, 0x21, 1));
	CHECK(sense_is(move(d, 0, A_SLOT(2), VTAPE_ADDR_ROBOT, &st), &st, 5, 0x21,
	    1));
	CHECK(move(d, VTAPE_ADDR_ROBOT, A_DRIVE(0), A_SLOT(1), &st) == 0);
	/* To a portal: full there, not put in by an operator (no IMPEXP). */
	CHECK(move(d, 0, A_SLOT(2), A_PORTAL(1), &st) == 0);
	CHECK(res(d, SMC_ELEM_IMPORT_EXPORT, true, 0, 2, false, b, sizeof(b),
	    &st) == 0);
	tag_of(b + 16, tag);
	CHECK(b[18] == (SMC_ED_FULL | SMC_ED_ACCESS | 0x30) &&
	    strcmp(tag, "L00002") == 0 && !(b[16 + 48 + 2] & SMC_ED_FULL));

	/* PREVENT: nothing in or out of a portal (53/02); ALLOW again. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SPC_PREVENT_ALLOW_CMD;
	cdb[4] = 1;
	CHECK(raw(d, cdb, 6, NULL, 0, &st) == 0);
	CHECK(sense_is(move(d, 0, A_PORTAL(1), A_SLOT(2), &st), &st, 5, 0x53, 2));
	CHECK(sense_is(move(d, 0, A_SLOT(3), A_PORTAL(2), &st), &st, 5, 0x53, 2));
	CHECK(move(d, 0, A_SLOT(3), A_DRIVE(1), &st) == 0);	/* others move */
	CHECK(move(d, 0, A_DRIVE(1), A_SLOT(3), &st) == 0);
	cdb[4] = 2;
	CHECK(sense_is(raw(d, cdb, 6, NULL, 0, &st), &st, 5, 0x24, 0));
	cdb[4] = 0;
	CHECK(raw(d, cdb, 6, NULL, 0, &st) == 0);
	CHECK(move(d, 0, A_PORTAL(1), A_SLOT(2), &st) == 0);

	/* INITIALIZE ELEMENT STATUS, and WITH RANGE; POSITION TO ELEMENT. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SMC_INIT_ELEMENT_STATUS_CMD;
	CHECK(raw(d, cdb, 6, NULL, 0, &st) == 0);
	cdb[0] = SMC_INIT_ELEMENT_STATUS_RANGE_CMD;
	CHECK(raw(d, cdb, 10, NULL, 0, &st) == 0);	/* RANGE 0: all */
	cdb[1] = 1;
	cdb[2] = A_SLOT(2) >> 8;
	cdb[3] = A_SLOT(2) & 0xff;
	cdb[7] = 2;
	CHECK(raw(d, cdb, 10, NULL, 0, &st) == 0);
	cdb[2] = 0x70;
	CHECK(sense_is(raw(d, cdb, 10, NULL, 0, &st), &st, 5, 0x21, 1));
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SMC_POSITION_TO_ELEMENT_CMD;
	cdb[4] = A_DRIVE(1) >> 8;
	cdb[5] = A_DRIVE(1) & 0xff;
	CHECK(raw(d, cdb, 10, NULL, 0, &st) == 0);
	cdb[4] = 0x70;
	CHECK(sense_is(raw(d, cdb, 10, NULL, 0, &st), &st, 5, 0x21, 1));
	tsg_free(d);
	rc = 0;
	(void)rc;
}

/*
 * Injected changer faults and the operator, through the changer API and
 * the CDBs: a move that fails N times, a jam, a jammed slot, an unreadable
 * label, a door opened (UNIT ATTENTION 28/00 once), cartridges imported
 * into portals and taken out of them.
 */
static void
smc_faults(const char *top)
{
	struct vtape_library L = { .slots = 4, .drives = 2, .portals = 2,
	    .capacity = 8 * MB, .early_warning = MB, .prefix = "F" };
	struct vtape_changer_fault f = { .move_fail = -1, .not_ready = -1 };
	char lib[400], u[480], why[512], tag[40];
	char *imp[3] = { "NEW001", "NEW002", "NEW003" };
	struct tsg_element *e = NULL, x;
	struct tsg_changer *c = NULL;
	struct tsg_status st;
	struct tsg_dev *d = NULL;
	uint8_t b[2048], cdb[6];
	size_t n = 0;
	int rc;

	snprintf(lib, sizeof(lib), "%s/faults", top);
	CHECK(vtape_library_new(lib, &L) == 0);
	snprintf(u, sizeof(u), "vtape:%s", lib);
	CHECK(tsg_changer_open(u, &c) == 0 && c);
	CHECK(tsg_open_changer(u, &d, why) == 0 && d);
	if (!c || !d)
		return;

	/* The next two moves fail (positioning), then one jams, then all is well. */
	f.move_fail = 2;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	for (int i = 0; i < 2; i++) {
		rc = tsg_changer_load(c, 1, 0, &st);
		CHECK(sense_is(rc, &st, 4, 0x15, 0x01));
	}
	f.move_fail = 1;
	f.jam = true;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	CHECK(sense_is(move(d, 0, A_SLOT(1), A_DRIVE(0), &st), &st, 4, 0x53, 0));
	CHECK(tsg_changer_load(c, 1, 0, &st) == 0);
	CHECK(tsg_changer_unload(c, 0, 0, &st) == 0);
	/* A refusal a changer checks first is not a failed move. */
	f.move_fail = 1;
	f.jam = false;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	rc = tsg_changer_move(c, TSG_ELEM_SLOT, 1, TSG_ELEM_SLOT, 2, &st);
	CHECK(sense_is(rc, &st, 5, 0x3b, 0x0d));
	CHECK(sense_is(tsg_changer_load(c, 1, 0, &st), &st, 4, 0x15, 0x01));
	CHECK(tsg_changer_load(c, 1, 0, &st) == 0);
	/* --clear drops the faults. */
	f.move_fail = 3;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.move_fail = -1;
	f.clear = true;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.clear = false;
	CHECK(tsg_changer_unload(c, 0, 0, &st) == 0);

	/* A slot that jams: every move from or to it; EXCEPT in its element. */
	f.jam_slot = 3;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	const struct tsg_element *s3 = tsg_changer_element(e, n, TSG_ELEM_SLOT, 3);
	CHECK(s3 && s3->except && !s3->access && s3->asc == 0x53 && s3->full &&
	    strcmp(s3->barcode, "F00003") == 0);
	free(e);
	e = NULL;
	CHECK(sense_is(tsg_changer_load(c, 3, 1, &st), &st, 4, 0x53, 0));
	CHECK(tsg_changer_load(c, 4, 1, &st) == 0);
	CHECK(tsg_changer_move(c, TSG_ELEM_SLOT, 3, TSG_ELEM_SLOT, 4, &st) ==
	    TSG_CHECK);
	memcpy(&x, &(struct tsg_element){ 0 }, sizeof(x));
	CHECK(res(d, SMC_ELEM_STORAGE, true, A_SLOT(3), 1, false, b, sizeof(b),
	    &st) == 0 && (b[18] & SMC_ED_EXCEPT) && !(b[18] & SMC_ED_ACCESS) &&
	    b[20] == 0x53);
	f.jam_slot = 0;
	f.clear = true;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.clear = false;
	CHECK(tsg_changer_unload(c, 1, 0, &st) == 0);

	/* An unreadable label: full, no barcode, wherever the cartridge goes. */
	f.unreadable_slot = 2;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.unreadable_slot = 0;
	CHECK(tsg_changer_load(c, 2, 1, &st) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	const struct tsg_element *d1 = tsg_changer_element(e, n, TSG_ELEM_DRIVE, 1);
	CHECK(d1 && d1->full && d1->tag_unreadable && !d1->barcode[0] &&
	    d1->source == 2 && strcmp(d1->ident, d1->ident) == 0);
	free(e);
	e = NULL;
	CHECK(res(d, SMC_ELEM_DATA_TRANSFER, true, A_DRIVE(1), 1, false, b,
	    sizeof(b), &st) == 0);
	tag_of(b + 16, tag);
	CHECK((b[18] & SMC_ED_FULL) && !tag[0] && b[16 + 12] == ' ');
	CHECK(tsg_changer_unload(c, 1, 0, &st) == 0);
	/* Refused: no such slot, an empty slot; faults shown. */
	f.jam_slot = 9;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == -EINVAL &&
	    strstr(why, "no slot 9"));
	f.jam_slot = 0;

	/* A door opened: the next command, and only it, hears UNIT ATTENTION. */
	CHECK(vtape_door(lib) == 0);
	memset(cdb, 0, sizeof(cdb));
	CHECK(sense_is(raw(d, cdb, 6, NULL, 0, &st), &st, 6, 0x28, 0));
	CHECK(raw(d, cdb, 6, NULL, 0, &st) == 0);
	/* INQUIRY does not take it; REQUEST SENSE reports and takes it. */
	CHECK(vtape_door(lib) == 0);
	CHECK(tsg_inquiry(d, &(struct tsg_inquiry){ 0 }, &st) == 0);
	cdb[0] = SPC_REQUEST_SENSE_CMD;
	cdb[4] = 18;
	CHECK(raw(d, cdb, 6, b, 18, &st) == 0 && (b[2] & 0xf) == 6 &&
	    b[12] == 0x28);
	CHECK(raw(d, cdb, 6, b, 18, &st) == 0 && (b[2] & 0xf) == 0);
	/*
	 * A changer without drive identifiers, then without barcodes either:
	 * READ ELEMENT STATUS asking them is refused 24/00; the changer API
	 * asks again without them and the inventory comes whole all the same.
	 */
	f.refuse_dvcid = true;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.refuse_dvcid = false;
	CHECK(sense_is(res(d, 0, true, 0, 100, true, b, sizeof(b), &st), &st, 5,
	    0x24, 0));
	CHECK(res(d, 0, true, 0, 100, false, b, sizeof(b), &st) == 0);
	for (int pass = 0; pass < 2; pass++) {
		struct tsg_changer *c3 = NULL;
		snprintf(u, sizeof(u), "vtape:%s", lib);
		CHECK(tsg_changer_open(u, &c3) == 0 && c3);
		CHECK(c3 && tsg_changer_inventory(c3, &e, &n, &st) == 0 &&
		    n == 1 + 4 + 2 + 2);
		const struct tsg_element *s1 = tsg_changer_element(e, n,
		    TSG_ELEM_SLOT, 1);
		const struct tsg_element *dr0 = tsg_changer_element(e, n,
		    TSG_ELEM_DRIVE, 0);
		CHECK(s1 && s1->full && dr0 && !dr0->ident[0]);
		CHECK(s1 && (pass ? !s1->barcode[0] : strcmp(s1->barcode,
		    "F00001") == 0));
		free(e);
		e = NULL;
		tsg_changer_free(c3);
		f.refuse_voltag = true;
		CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
		f.refuse_voltag = false;
		CHECK(sense_is(res(d, 0, true, 0, 100, false, b, sizeof(b), &st),
		    &st, 5, 0x24, 0));
	}
	f.clear = true;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.clear = false;
	CHECK(res(d, 0, true, 0, 100, true, b, sizeof(b), &st) == 0);

	/* Becoming ready: NOT READY 04/01 for the next 2 commands, a UA first. */
	f.not_ready = 2;
	CHECK(vtape_changer_fault(lib, &f, why, sizeof(why)) == 0);
	f.not_ready = -1;
	CHECK(vtape_door(lib) == 0);
	memset(cdb, 0, sizeof(cdb));
	CHECK(sense_is(raw(d, cdb, 6, NULL, 0, &st), &st, 6, 0x28, 0));
	CHECK(sense_is(raw(d, cdb, 6, NULL, 0, &st), &st, 2, 0x04, 0x01));
	CHECK(tsg_inquiry(d, &(struct tsg_inquiry){ 0 }, &st) == 0);
	CHECK(sense_is(raw(d, cdb, 6, NULL, 0, &st), &st, 2, 0x04, 0x01));
	CHECK(raw(d, cdb, 6, NULL, 0, &st) == 0);
	/*
	 * The changer API says so once, after the command that heard it (any
	 * opener takes it), and that command's answer is whole.
	 */
	CHECK(vtape_door(lib) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0 && n == 1 + 4 + 2 + 2);
	free(e);
	e = NULL;
	CHECK(tsg_changer_attention(c));
	CHECK(!tsg_changer_attention(c));

	/* Import: new cartridges in the portals, IMPEXP set, UNIT ATTENTION. */
	CHECK(vtape_import(lib, imp, 3, false, why, sizeof(why)) == -ENOSPC &&
	    strstr(why, "2 free portals for 3"));
	CHECK(vtape_import(lib, (char *[]){ "F00001" }, 1, false, why,
	    sizeof(why)) == -EEXIST && strstr(why, "slot1"));
	CHECK(vtape_import(lib, (char *[]){ "A/B" }, 1, false, why,
	    sizeof(why)) == -EINVAL);
	CHECK(vtape_import(lib, (char *[]){ "X1", "X1" }, 2, false, why,
	    sizeof(why)) == -EINVAL);
	CHECK(vtape_import(lib, imp, 2, false, why, sizeof(why)) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	CHECK(tsg_changer_attention(c));
	const struct tsg_element *p1 = tsg_changer_element(e, n, TSG_ELEM_PORTAL, 1);
	const struct tsg_element *p2 = tsg_changer_element(e, n, TSG_ELEM_PORTAL, 2);
	CHECK(p1 && p1->full && p1->impexp && strcmp(p1->barcode, "NEW001") == 0);
	CHECK(p2 && p2->full && p2->impexp && strcmp(p2->barcode, "NEW002") == 0);
	free(e);
	e = NULL;
	CHECK(res(d, SMC_ELEM_IMPORT_EXPORT, true, 0, 2, false, b, sizeof(b),
	    &st) == 0 && (b[18] & 0x02));
	/* The robot takes one in: IMPEXP goes; it loads and reads as a tape. */
	CHECK(tsg_changer_move(c, TSG_ELEM_PORTAL, 1, TSG_ELEM_DRIVE, 0, &st) == 0);
	CHECK(tsg_changer_move(c, TSG_ELEM_DRIVE, 0, TSG_ELEM_PORTAL, 1, &st) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	p1 = tsg_changer_element(e, n, TSG_ELEM_PORTAL, 1);
	CHECK(p1 && p1->full && !p1->impexp);
	free(e);
	e = NULL;
	/* Locked portals: the operator can neither put in nor take out. */
	CHECK(tsg_changer_load(c, 4, 1, &st) == 0);	/* a free slot */
	CHECK(tsg_changer_prevent(c, true, &st) == 0);
	CHECK(vtape_import(lib, (char *[]){ "NEW008" }, 1, false, why,
	    sizeof(why)) == -EPERM);
	CHECK(vtape_export(lib, 0, NULL, why, sizeof(why)) == -EPERM);
	CHECK(vtape_import(lib, (char *[]){ "NEW009" }, 1, true, why,
	    sizeof(why)) == 0);	/* the main door: slots are not locked */
	CHECK(tsg_changer_prevent(c, false, &st) == 0);
	/* Export: out of the library; import brings it back, data and all. */
	CHECK(vtape_export(lib, 2, NULL, why, sizeof(why)) == 0);
	CHECK(vtape_export(lib, 2, NULL, why, sizeof(why)) == -ENOENT);
	CHECK(vtape_export(lib, 3, NULL, why, sizeof(why)) == -ERANGE);
	CHECK(vtape_export(lib, 0, NULL, why, sizeof(why)) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	CHECK(!tsg_changer_element(e, n, TSG_ELEM_PORTAL, 1)->full &&
	    !tsg_changer_element(e, n, TSG_ELEM_PORTAL, 2)->full);
	free(e);
	e = NULL;
	CHECK(vtape_import(lib, (char *[]){ "NEW002" }, 1, false, why,
	    sizeof(why)) == 0);
	/* smc:vtape:LIB is the same changer as vtape:LIB, element for element. */
	struct tsg_changer *c2 = NULL;
	struct tsg_element *e2 = NULL;
	size_t n2 = 0;
	snprintf(u, sizeof(u), "smc:vtape:%s", lib);
	CHECK(tsg_changer_open(u, &c2) == 0 && c2);
	CHECK(c2 && tsg_changer_inventory(c2, &e2, &n2, &st) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	CHECK(n == n2 && n == 1 + 4 + 2 + 2 && e && e2 &&
	    memcmp(e, e2, n * sizeof(*e)) == 0);
	for (size_t i = 0; i < n; i++)
		if (e[i].type == TSG_ELEM_DRIVE) {
			char sn[480];
			snprintf(sn, sizeof(sn), "%s/drive%u", lib, e[i].num);
			CHECK(vtape_drive_serial_of(sn, tag, sizeof(tag)) == 0 &&
			    strcmp(e[i].ident, tag) == 0);
			CHECK(tsg_changer_drive_by_ident(e, n, tag) == &e[i]);
		}
	free(e);
	free(e2);
	e = NULL;
	tsg_changer_free(c2);
	snprintf(u, sizeof(u), "%s/carts/NEW002/cart.conf", lib);
	CHECK(access(u, F_OK) == 0);
	tsg_free(d);
	tsg_changer_free(c);
}

/*
 * Slot links made by hand with absolute targets (into the library's carts/
 * or to a cartridge elsewhere): moves keep naming the cartridge (hostile14
 * K2: the drive's link dangled and the cartridge left the library).
 */
static void
absolute_links(const char *top)
{
	char lib[400], other[400], path[500], target[500], u[420], why[256];
	struct tsg_changer *c = NULL;
	struct tsg_element *e = NULL;
	struct tsg_status st;
	struct vtape_check res;
	size_t n = 0;

	snprintf(lib, sizeof(lib), "%s/abs", top);
	/* A cartridge's barcode is its directory's name, wherever it is. */
	snprintf(other, sizeof(other), "%s/elsewhere", top);
	CHECK(mkdir(other, 0755) == 0);
	snprintf(other, sizeof(other), "%s/elsewhere/ZZ0001", top);
	CHECK(vtape_library_create(lib, 3, 1, 8 * MB, MB, "A") == 0);
	CHECK(vtape_cart_create(other, "ZZ0001", 8 * MB, MB) == 0);
	snprintf(path, sizeof(path), "%s/slot2", lib);
	snprintf(target, sizeof(target), "%s/carts/A00002", lib);
	CHECK(unlink(path) == 0 && symlink(target, path) == 0);
	snprintf(path, sizeof(path), "%s/slot3", lib);
	CHECK(unlink(path) == 0 && symlink(other, path) == 0);
	snprintf(u, sizeof(u), "vtape:%s", lib);
	CHECK(tsg_changer_open(u, &c) == 0 && c);
	if (!c)
		return;
	for (unsigned s = 2; s <= 3; s++) {
		const char *bc = s == 2 ? "A00002" : "ZZ0001";
		CHECK(tsg_changer_load(c, s, 0, &st) == 0);
		CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
		const struct tsg_element *d0 = tsg_changer_element(e, n,
		    TSG_ELEM_DRIVE, 0);
		CHECK(d0 && d0->full && strcmp(d0->barcode, bc) == 0 &&
		    d0->source == s);
		free(e);
		e = NULL;
		char *cart = NULL;
		CHECK(vtape_drive_cart(lib, 0, &cart) == 0 && cart &&
		    strstr(cart, bc));
		free(cart);
		CHECK(tsg_changer_unload(c, 0, 0, &st) == 0);
		CHECK(vtape_slot_cart(lib, (int)s, &cart) == 0 && cart &&
		    strstr(cart, bc));
		free(cart);
	}
	/* Through abs-vtape's own move as well. */
	CHECK(vtape_load(lib, 3, 0, why, sizeof(why)) == 0);
	CHECK(vtape_unload(lib, 0, why, sizeof(why)) == 0);
	CHECK(vtape_check(lib, VTAPE_REPAIR_NONE, NULL, NULL, &res) == 0);
	CHECK_EQ(res.found, 0);
	tsg_changer_free(c);
}

/* library.conf and changer.conf: bad values refused, old libraries read. */
static void
smc_parsers(const char *top)
{
	static const char *const bad_lib[] = {
		"slots=0\ndrives=1\n", "slots=3\n", "slots=x\ndrives=1\n",
		"slots=3\ndrives=1\nslots=3\n", "slots=3\ndrives=1\nfoo=1\n",
		"slots=3\ndrives=65\n", "slots=3\ndrives=1\nportals=65\n",
		"slots=3\ndrives=1\nserial=a b\n", "slots=3\ndrives=1\nserial=\n",
		"slots=3\ndrives=1\ncapacity=10\nearly_warning=10\n",
		"slots=3\ndrives=1\nbarcode_prefix=a/b\n", "slots=3\ndrives\n",
		"slots=-1\ndrives=1\n", "slots=3\ndrives=1\nportals=1x\n",
	};
	static const char *const bad_chg[] = {
		"attention=2\n", "prevent=yes\n", "move_fail=-1\n",
		"move_fail=99999999\n", "move_fail_kind=crash\n", "jam_slot=0\n",
		"jam_slot=5\n", "jam_slot=2\njam_slot=2\n", "unreadable=a/b\n",
		"unreadable=\n", "impexp=3\n", "impexp=0\n", "bogus=1\n",
		"attention=1\nattention=0\n", "attention\n", "refuse_dvcid=2\n",
		"refuse_voltag=1\nrefuse_voltag=1\n",
	};
	struct vtape_library L;
	struct vtape_changer_state cs;
	char err[160], lib[400], path[500];
	FILE *fp;

	for (size_t i = 0; i < sizeof(bad_lib) / sizeof(bad_lib[0]); i++) {
		int rc = vtape_library_parse(bad_lib[i], strlen(bad_lib[i]), &L, err,
		    sizeof(err));
		if (rc != -EINVAL || !err[0])
			fprintf(stderr, "  library.conf accepted: %s", bad_lib[i]);
		CHECK(rc == -EINVAL && err[0]);
	}
	CHECK(vtape_library_parse("slots=2\0drives=1\n", 17, &L, err,
	    sizeof(err)) == -EINVAL);
	const char *good = "# a library\nslots=4\ndrives=2\ncapacity=100\n"
	    "early_warning=10\nbarcode_prefix=AB\n";
	CHECK(vtape_library_parse(good, strlen(good), &L, err, sizeof(err)) == 0);
	CHECK(L.slots == 4 && L.drives == 2 && L.portals == 0 && !L.serial[0] &&
	    strcmp(L.prefix, "AB") == 0);
	L.portals = 2;
	for (size_t i = 0; i < sizeof(bad_chg) / sizeof(bad_chg[0]); i++) {
		int rc = vtape_changer_parse(bad_chg[i], strlen(bad_chg[i]), &L, &cs,
		    err, sizeof(err));
		if (rc != -EINVAL)
			fprintf(stderr, "  changer.conf accepted: %s", bad_chg[i]);
		CHECK(rc == -EINVAL && err[0]);
	}
	const char *chg = "attention=1\nprevent=0\nmove_fail=3\nmove_fail_kind=jam\n"
	    "jam_slot=4\njam_slot=1\nunreadable=AB00002\nimpexp=2\n"
	    "refuse_voltag=1\n";
	CHECK(vtape_changer_parse(chg, strlen(chg), &L, &cs, err, sizeof(err)) == 0);
	CHECK(cs.attention && !cs.prevent && cs.move_fail == 3 && cs.move_fail_jam &&
	    cs.njam == 2 && cs.jam_slot[1] == 1 && cs.nunreadable == 1 &&
	    cs.impexp == 2 && cs.refuse_voltag && !cs.refuse_dvcid);

	/* A library made before portals and serials: none, and a stable serial. */
	snprintf(lib, sizeof(lib), "%s/old", top);
	CHECK(vtape_library_create(lib, 2, 1, 8 * MB, MB, "O") == 0);
	snprintf(path, sizeof(path), "%s/library.conf", lib);
	CHECK((fp = fopen(path, "w")) != NULL);
	if (fp) {
		fprintf(fp, "slots=2\ndrives=1\ncapacity=%u\nearly_warning=%u\n"
		    "barcode_prefix=O\n", 8 * MB, MB);
		fclose(fp);
	}
	struct vtape_library a, b2;
	CHECK(vtape_library_read(lib, &a) == 0 && a.portals == 0 &&
	    strncmp(a.serial, "VL", 2) == 0 && strlen(a.serial) == 10);
	CHECK(vtape_library_read(lib, &b2) == 0 && strcmp(a.serial, b2.serial) == 0);
	char s1[64], s2[64];
	snprintf(path, sizeof(path), "%s/drive0", lib);
	CHECK(vtape_drive_serial_of(path, s1, sizeof(s1)) == 0);
	vtape_drive_serial(&a, 0, s2, sizeof(s2));
	CHECK(strcmp(s1, s2) == 0);
	/* A bad changer.conf: the library says so rather than guess. */
	snprintf(path, sizeof(path), "%s/changer.conf", lib);
	CHECK((fp = fopen(path, "w")) != NULL);
	if (fp) {
		fputs("move_fail=lots\n", fp);
		fclose(fp);
	}
	struct tsg_element *e = NULL;
	size_t n = 0;
	CHECK(vtape_robot_elements(lib, &e, &n) == -EINVAL && !e);
	struct vtape_changer_fault f = { .move_fail = -1, .not_ready = -1,
	    .clear = true };
	f.clear = false;
	CHECK(vtape_changer_fault(lib, &f, err, sizeof(err)) == -EINVAL);
	f.clear = true;	/* --clear starts it anew */
	CHECK(vtape_changer_fault(lib, &f, err, sizeof(err)) == 0);
	CHECK(vtape_robot_elements(lib, &e, &n) == 0 && n == 1 + 2 + 1);
	free(e);
	/* A FIFO in place of either file is refused, not waited on. */
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(vtape_robot_elements(lib, &e, &n) == -EINVAL);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/library.conf", lib);
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(vtape_library_read(lib, &a) == -EINVAL);
	CHECK(unlink(path) == 0);
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

	smc_cdbs(dir);
	smc_faults(dir);
	smc_parsers(dir);
	absolute_links(dir);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	free(buf);
	free(rd);
	T_DONE();
}
