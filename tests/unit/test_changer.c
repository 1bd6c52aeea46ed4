/*
 * The medium-changer API over a vtape library in a temp dir: inventory with
 * barcodes, moves, load and unload (home slot, first empty), the drive a
 * device URI names, and the refusals a SCSI changer gives: empty source,
 * full destination, unknown element, drive in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* Where the library's cartridge bc is: "slotN"/"driveK" list, space-separated. */
static void
places(const char *lib, const char *bc, char *out, size_t len)
{
	char path[600], target[600];
	size_t off = 0;

	out[0] = '\0';
	for (int s = 1; s <= 9; s++) {
		snprintf(path, sizeof(path), "%s/slot%d", lib, s);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strstr(target, bc)))
			off += (size_t)snprintf(out + off, len - off, "%sslot%d",
			    off ? " " : "", s);
	}
	for (int d = 0; d < 4; d++) {
		snprintf(path, sizeof(path), "%s/drive%d/tape", lib, d);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strstr(target, bc)))
			off += (size_t)snprintf(out + off, len - off, "%sdrive%d",
			    off ? " " : "", d);
	}
}

/* Run one move in a child that dies at step (0: none); its exit status. */
static int
crashing_move(const char *uri, enum tsg_elem_type ft, unsigned from,
    enum tsg_elem_type tt, unsigned to, int step)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct tsg_changer *c;
		struct tsg_status st;
		char n[16];
		snprintf(n, sizeof(n), "%d", step);
		setenv("ABS_VTAPE_CRASH_STEP", n, 1);
		if (tsg_changer_open(uri, &c) < 0)
			_exit(2);
		_exit(tsg_changer_move(c, ft, from, tt, to, &st) == 0 ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * kill -9 at every step of every kind of move: the check finds what was
 * left, repairs it (undone up to the commit, finished after), finds
 * nothing more, and the cartridge is in one place and moves again.
 */
static void
crash_every_step(const char *dir)
{
	static const struct {
		enum tsg_elem_type ft;
		unsigned from;
		enum tsg_elem_type tt;
		unsigned to;
		const char *src, *dst;
	} mv[] = {
		{ TSG_ELEM_SLOT, 1, TSG_ELEM_DRIVE, 0, "slot1", "drive0" },
		{ TSG_ELEM_DRIVE, 0, TSG_ELEM_SLOT, 1, "drive0", "slot1" },
		{ TSG_ELEM_DRIVE, 0, TSG_ELEM_DRIVE, 1, "drive0", "drive1" },
		{ TSG_ELEM_SLOT, 1, TSG_ELEM_SLOT, 3, "slot1", "slot3" },
	};
	char lib[400], uri[420], where[200], path[500];
	struct vtape_check res;
	struct tsg_status st;
	struct tsg_changer *c;

	for (size_t m = 0; m < sizeof(mv) / sizeof(mv[0]); m++) {
		for (int step = 1; step <= VTAPE_MOVE_STEPS + 1; step++) {
			snprintf(lib, sizeof(lib), "%s/crash%zu-%d", dir, m, step);
			snprintf(uri, sizeof(uri), "vtape:%s", lib);
			CHECK(vtape_library_create(lib, 3, 2, 8 * MB, MB, "C") == 0);
			snprintf(path, sizeof(path), "%s/slot3", lib);
			unlink(path);	/* slot 3 empty: a slot-to-slot move's place */
			/* Get the cartridge to the move's source first. */
			if (mv[m].ft == TSG_ELEM_DRIVE)
				CHECK(crashing_move(uri, TSG_ELEM_SLOT, 1, TSG_ELEM_DRIVE, 0,
				    0) == 0);
			int rc = crashing_move(uri, mv[m].ft, mv[m].from, mv[m].tt,
			    mv[m].to, step);
			/* A slot destination has no home file: steps 4, 5 pass by. */
			bool skipped = mv[m].tt == TSG_ELEM_SLOT &&
			    (step == 4 || step == 5);
			bool crashed = step <= VTAPE_MOVE_STEPS && !skipped;
			CHECK_EQ(rc, crashed ? 137 : 0);
			CHECK(vtape_check(lib, VTAPE_REPAIR_NONE, NULL, NULL, &res) == 0);
			if (crashed)
				CHECK(res.found >= 1 && res.repaired == 0);
			else
				CHECK_EQ(res.found, 0);
			CHECK(vtape_check(lib, VTAPE_REPAIR_CRASH, NULL, NULL, &res) == 0);
			CHECK_EQ(res.repaired, res.found);
			CHECK(vtape_check(lib, VTAPE_REPAIR_NONE, NULL, NULL, &res) == 0);
			CHECK_EQ(res.found, 0);
			/* Undone before the commit (step 6), finished from it on. */
			places(lib, "C00001", where, sizeof(where));
			const char *want = !crashed || step >= 6 ? mv[m].dst : mv[m].src;
			if (strcmp(where, want) != 0)
				fprintf(stderr, "move %zu step %d: C00001 in '%s', not %s\n",
				    m, step, where, want);
			CHECK(strcmp(where, want) == 0);
			/* The library works on: everything back to the slots. */
			CHECK(tsg_changer_open(uri, &c) == 0);
			for (unsigned d = 0; d < 2; d++)
				if (elem(c, TSG_ELEM_DRIVE, d, &(struct tsg_element){ 0 }))
					tsg_changer_unload(c, d, 0, &st);
			CHECK(tsg_changer_load(c, 2, 1, &st) == 0);
			CHECK(tsg_changer_unload(c, 1, 0, &st) == 0);
			tsg_changer_free(c);
			places(lib, "C00001", where, sizeof(where));
			CHECK(strncmp(where, "slot", 4) == 0 && !strchr(where, ' '));
		}
	}
}

/*
 * A cartridge in two places with no journal (a crash of a move made
 * before moves were journalled): it stays where its newest link is.
 */
static void
two_places(const char *dir)
{
	char lib[400], uri[420], a[500], where[200];
	struct vtape_check res;
	struct tsg_changer *c;
	struct tsg_element x;
	struct timespec t[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	for (int drive_newest = 0; drive_newest < 2; drive_newest++) {
		snprintf(lib, sizeof(lib), "%s/two%d", dir, drive_newest);
		snprintf(uri, sizeof(uri), "vtape:%s", lib);
		CHECK(vtape_library_create(lib, 2, 1, 8 * MB, MB, "T") == 0);
		snprintf(a, sizeof(a), "%s/drive0/tape", lib);
		CHECK(symlink("../carts/T00001", a) == 0);
		/* Age one link: the other is the newest. */
		if (!drive_newest)
			snprintf(a, sizeof(a), "%s/drive0/tape", lib);
		else
			snprintf(a, sizeof(a), "%s/slot1", lib);
		CHECK(utimensat(AT_FDCWD, a, t, AT_SYMLINK_NOFOLLOW) == 0);
		CHECK(vtape_check(lib, VTAPE_REPAIR_NONE, NULL, NULL, &res) == 0);
		CHECK_EQ(res.found, 1);
		/* Opening the library repairs it. */
		CHECK(tsg_changer_open(uri, &c) == 0);
		places(lib, "T00001", where, sizeof(where));
		CHECK(strcmp(where, drive_newest ? "drive0" : "slot1") == 0);
		if (drive_newest)
			CHECK(elem(c, TSG_ELEM_DRIVE, 0, &x) && x.full && x.source == 1);
		CHECK(vtape_check(lib, VTAPE_REPAIR_NONE, NULL, NULL, &res) == 0);
		CHECK_EQ(res.found, 0);
		tsg_changer_free(c);
	}
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

	/* A full repair removes links that name no cartridge; a crash's does not. */
	struct vtape_check res;
	CHECK(vtape_check(lib, VTAPE_REPAIR_CRASH, NULL, NULL, &res) == 0);
	CHECK(res.found == 1 && res.repaired == 0);
	CHECK(vtape_check(lib, VTAPE_REPAIR_ALL, NULL, NULL, &res) == 0);
	CHECK(res.found == 1 && res.repaired == 1);
	CHECK(tsg_changer_unload(c, 0, 2, &st) == 0);

	crash_every_step(dir);
	two_places(dir);

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
