/*
 * The medium-changer API over a vtape library in a temp dir: inventory with
 * barcodes, moves, load and unload (home slot, first empty), the drive a
 * device URI names, and the refusals a SCSI changer gives: empty source,
 * full destination, unknown element, drive in use.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "sg/smc.h"
#include "sg/tsg.h"
#include "sg/vtape.h"
#include "t.h"

#define MB (1u << 20)

/* Is st the ILLEGAL REQUEST asc/ascq a changer answers a bad move with? */
static bool
refused(int rc, const struct tsg_status *st, uint8_t asc, uint8_t ascq)
{
	return rc == TSG_CHECK && st->cat == TSG_CAT_ILLEGAL_REQUEST &&
	    st->asc == asc && st->ascq == ascq;
}

/* The element (type, num) of a fresh inventory, copied into *out. */
static bool
elem(struct tsg_changer *c, enum tsg_elem_type type, unsigned num,
    struct tsg_element *out)
{
	struct tsg_element *e;
	struct tsg_status st;
	size_t n;
	const struct tsg_element *x;

	if (tsg_changer_inventory(c, &e, &n, &st) != 0)
		return false;
	x = tsg_changer_element(e, n, type, num);
	if (x)
		*out = *x;
	free(e);
	return x != NULL;
}

int
main(void)
{
	char dir[256], lib[300], uri[400], cmd[400];
	struct tsg_changer *c = NULL, *c2 = NULL;
	struct tsg_element *e = NULL, x;
	struct tsg_status st;
	struct tsg_dev *d = NULL;
	unsigned drive = 99;
	size_t n = 0;
	int rc;

	snprintf(dir, sizeof(dir), "%s/abs-test-changer-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	CHECK(vtape_library_create(lib, 3, 2, 8 * MB, MB, "L") == 0);

	/* Opening: a library, not a cartridge or nothing; unknown schemes. */
	snprintf(uri, sizeof(uri), "vtape:%s", lib);
	CHECK(tsg_changer_open(uri, &c) == 0 && c);
	CHECK(strcmp(tsg_changer_uri(c), uri) == 0);
	snprintf(uri, sizeof(uri), "vtape:%s/carts/L00001", lib);
	CHECK(tsg_changer_open(uri, &c2) == -ENOTDIR && !c2);
	CHECK(tsg_changer_open("null:", &c2) == -EPROTONOSUPPORT);
	CHECK(tsg_changer_open("nothing", &c2) == -EINVAL);

	/* The library a drive's URI names, and its number there. */
	snprintf(uri, sizeof(uri), "vtape:%s/drive1/", lib);
	CHECK(tsg_changer_of_drive(uri, &c2, &drive) == 0 && c2);
	CHECK_EQ(drive, 1);
	snprintf(cmd, sizeof(cmd), "vtape:%s", lib);
	CHECK(c2 && strcmp(tsg_changer_uri(c2), cmd) == 0);
	tsg_changer_free(c2);
	c2 = NULL;
	snprintf(uri, sizeof(uri), "vtape:%s/drive2", lib);
	CHECK(tsg_changer_of_drive(uri, &c2, &drive) == -ENODEV && !c2);
	snprintf(uri, sizeof(uri), "vtape:%s/carts/L00001", lib);
	CHECK(tsg_changer_of_drive(uri, &c2, &drive) == -ENODEV);
	CHECK(tsg_changer_of_drive("null:", &c2, &drive) == -ENODEV);
	CHECK(tsg_changer_of_drive("st:/dev/nst0", &c2, &drive) == -ENODEV);
	tsg_changer_free(NULL);

	/* Inventory: the robot, 3 full slots with barcodes, 2 empty drives. */
	CHECK(tsg_changer_inventory(c, &e, &n, &st) == 0);
	CHECK_EQ(n, 1 + 3 + 2);
	CHECK(n == 6 && e[0].type == TSG_ELEM_TRANSPORT && !e[0].full);
	for (unsigned s = 1; s <= 3; s++) {
		const struct tsg_element *p = tsg_changer_element(e, n,
		    TSG_ELEM_SLOT, s);
		char bc[16];
		snprintf(bc, sizeof(bc), "L%05u", s);
		CHECK(p && p->full && strcmp(p->barcode, bc) == 0);
	}
	for (unsigned k = 0; k < 2; k++) {
		const struct tsg_element *p = tsg_changer_element(e, n,
		    TSG_ELEM_DRIVE, k);
		CHECK(p && !p->full && !p->barcode[0] && !p->source);
	}
	CHECK(!tsg_changer_element(e, n, TSG_ELEM_SLOT, 0));
	CHECK(!tsg_changer_element(e, n, TSG_ELEM_SLOT, 4));
	CHECK(!tsg_changer_element(e, n, TSG_ELEM_PORTAL, 1));
	/* Addresses are distinct, as a SCSI changer's are. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			CHECK(e[i].addr != e[j].addr);
	free(e);
	e = NULL;

	/* Load: the slot empties, the drive holds that barcode from there. */
	CHECK(tsg_changer_load(c, 2, 0, &st) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 2, &x) && !x.full && !x.barcode[0]);
	CHECK(elem(c, TSG_ELEM_DRIVE, 0, &x) && x.full &&
	    strcmp(x.barcode, "L00002") == 0 && x.source == 2);
	/* The drive reads the cartridge the changer put there. */
	snprintf(uri, sizeof(uri), "vtape:%s/drive0", lib);
	CHECK(tsg_open(uri, &d) == 0);
	char attr[64];
	CHECK(d && tsg_read_attribute(d, SPC_MAM_BARCODE, attr, sizeof(attr),
	    &st) == 0 && strcmp(attr, "L00002") == 0);

	/* Refusals: empty source, full destination, unknown elements. */
	rc = tsg_changer_load(c, 2, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY));
	rc = tsg_changer_load(c, 1, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL));
	rc = tsg_changer_move(c, TSG_ELEM_SLOT, 1, TSG_ELEM_SLOT, 3, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL));
	rc = tsg_changer_load(c, 9, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	rc = tsg_changer_load(c, 0, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	rc = tsg_changer_load(c, 1, 2, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	rc = tsg_changer_move(c, TSG_ELEM_PORTAL, 1, TSG_ELEM_DRIVE, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	rc = tsg_changer_move(c, TSG_ELEM_SLOT, 1, TSG_ELEM_TRANSPORT, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	rc = tsg_changer_unload(c, 1, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY));
	rc = tsg_changer_unload(c, 5, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_INVALID_ELEMENT,
	    SMC_ASCQ_INVALID_ELEMENT));
	/* Nothing leaves a drive that is in use. */
	rc = tsg_changer_unload(c, 0, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_REMOVAL_PREVENTED,
	    SMC_ASCQ_REMOVAL_PREVENTED));
	CHECK(elem(c, TSG_ELEM_DRIVE, 0, &x) && x.full);
	tsg_free(d);
	d = NULL;

	/* Drive to drive keeps the home slot; unload goes back there. */
	CHECK(tsg_changer_move(c, TSG_ELEM_DRIVE, 0, TSG_ELEM_DRIVE, 1, &st) == 0);
	CHECK(elem(c, TSG_ELEM_DRIVE, 0, &x) && !x.full);
	CHECK(elem(c, TSG_ELEM_DRIVE, 1, &x) && x.full && x.source == 2 &&
	    strcmp(x.barcode, "L00002") == 0);
	CHECK(tsg_changer_unload(c, 1, 0, &st) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 2, &x) && x.full &&
	    strcmp(x.barcode, "L00002") == 0);
	CHECK(elem(c, TSG_ELEM_DRIVE, 1, &x) && !x.full);

	/* Home slot taken meanwhile: the first empty one. */
	CHECK(tsg_changer_load(c, 3, 0, &st) == 0);
	CHECK(tsg_changer_move(c, TSG_ELEM_SLOT, 1, TSG_ELEM_SLOT, 3, &st) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 3, &x) && strcmp(x.barcode, "L00001") == 0);
	CHECK(tsg_changer_unload(c, 0, 0, &st) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 1, &x) && strcmp(x.barcode, "L00003") == 0);

	/* Every slot full: an unload has nowhere to go. */
	CHECK(tsg_changer_load(c, 1, 0, &st) == 0);
	snprintf(cmd, sizeof(cmd), "%s/carts/X00009", lib);
	CHECK(vtape_cart_create(cmd, "X00009", 8 * MB, MB) == 0);
	snprintf(cmd, sizeof(cmd), "%s/slot1", lib);
	CHECK(symlink("carts/X00009", cmd) == 0);
	rc = tsg_changer_unload(c, 0, 0, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL));
	/* An explicit slot: the same refusal when it is full. */
	rc = tsg_changer_unload(c, 0, 2, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL));

	/*
	 * A slot link that dangles or names a directory that is no cartridge
	 * holds nothing: the inventory says empty and a load is refused as
	 * from an empty slot, leaving the drive empty and the link in place.
	 */
	CHECK(tsg_changer_unload(c, 0, 0, &st) != 0);	/* all full still */
	snprintf(cmd, sizeof(cmd), "%s/slot2", lib);
	CHECK(unlink(cmd) == 0 && symlink("carts/NOPE", cmd) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 2, &x) && !x.full && !x.barcode[0]);
	rc = tsg_changer_load(c, 2, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY));
	CHECK(unlink(cmd) == 0 && symlink(dir, cmd) == 0);
	CHECK(elem(c, TSG_ELEM_SLOT, 2, &x) && !x.full);
	rc = tsg_changer_load(c, 2, 1, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY));
	CHECK(elem(c, TSG_ELEM_DRIVE, 1, &x) && !x.full);
	snprintf(uri, sizeof(uri), "%s/drive1/tape", lib);
	CHECK(access(uri, F_OK) < 0 && readlink(uri, attr, sizeof(attr)) < 0);
	/* Its place is not free either: an unload does not go there. */
	rc = tsg_changer_unload(c, 0, 2, &st);
	CHECK(refused(rc, &st, SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL));

	/* A library that went away is a transport error, not a refusal. */
	tsg_changer_free(c);
	snprintf(uri, sizeof(uri), "vtape:%s", lib);
	CHECK(tsg_changer_open(uri, &c) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	CHECK(tsg_changer_inventory(c, &e, &n, &st) < 0 && !e && !n);
	CHECK_EQ(st.cat, TSG_CAT_TRANSPORT);
	rc = tsg_changer_load(c, 1, 0, &st);
	CHECK(rc < 0 && st.cat == TSG_CAT_TRANSPORT);
	tsg_changer_free(c);
	T_DONE();
}
