/*
 * A library drive as the engine sees it: the sticker rule (the barcode is
 * the label, less an LTO media suffix), cleaning cartridges, and the drive
 * of a changer named on the command line (--changer, --drive-element),
 * never guessed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/changer.h"
#include "engine/engine.h"
#include "sg/tsg.h"
#include "sg/vtape.h"
#include "t.h"

static void
test_sticker_rule(void)
{
	char out[64];

	/* The label is the barcode, or the barcode less its media suffix. */
	CHECK(eng_barcode_label_ok("A00001L6", "A00001"));
	CHECK(eng_barcode_label_ok("A00001L6", "A00001L6"));
	CHECK(eng_barcode_label_ok("A00001", "A00001"));
	CHECK(eng_barcode_label_ok("W00001LW", "W00001"));	/* LTO-6 WORM */
	CHECK(eng_barcode_label_ok("Z00001LZ", "Z00001"));
	CHECK(eng_barcode_label_ok("T00001LT", "T00001"));
	CHECK(eng_barcode_label_ok("M00001M8", "M00001"));	/* LTO-7 type M */
	CHECK(eng_barcode_label_ok("B00001L1", "B00001"));
	CHECK(eng_barcode_label_ok("B00001L9", "B00001"));
	/* Anything else is another cartridge's label. */
	CHECK(!eng_barcode_label_ok("A00001L6", "A00002"));
	CHECK(!eng_barcode_label_ok("A00001L6", "A0000"));
	CHECK(!eng_barcode_label_ok("A00001L6", "A00001L"));
	CHECK(!eng_barcode_label_ok("A00001L6", "A00001L7"));
	CHECK(!eng_barcode_label_ok("A00001", "A0000"));	/* "01" no suffix */
	CHECK(!eng_barcode_label_ok("A00001L0", "A00001"));	/* L0: none */
	CHECK(!eng_barcode_label_ok("A00001LS", "A00001"));	/* LS: none */
	CHECK(!eng_barcode_label_ok("A00001M7", "A00001"));
	CHECK(!eng_barcode_label_ok("A00001l6", "A00001"));	/* case counts */
	CHECK(!eng_barcode_label_ok("A00001L6", ""));
	CHECK(!eng_barcode_label_ok("A00001L6", NULL));
	CHECK(!eng_barcode_label_ok("A00001L6", "a00001"));
	/* A suffix alone is no barcode with a label in it. */
	CHECK(eng_barcode_label_ok("L6", "L6"));
	CHECK(!eng_barcode_label_ok("L6", ""));
	/* No barcode (no reader, no tag): no condition. */
	CHECK(eng_barcode_label_ok("", "ANY"));
	CHECK(eng_barcode_label_ok(NULL, "ANY"));

	/* A blank cartridge's label. */
	eng_barcode_label("A00001L6", out, sizeof(out));
	CHECK(strcmp(out, "A00001") == 0);
	eng_barcode_label("A00001", out, sizeof(out));
	CHECK(strcmp(out, "A00001") == 0);
	eng_barcode_label("L6", out, sizeof(out));
	CHECK(strcmp(out, "L6") == 0);
	eng_barcode_label("ABCDEFM8", out, sizeof(out));
	CHECK(strcmp(out, "ABCDEF") == 0);
	eng_barcode_label("ABCDEFGHL5", out, 4);	/* truncated, terminated */
	CHECK(strcmp(out, "ABC") == 0);
	/* What it makes always passes the rule. */
	const char *bcs[] = { "A00001L6", "X1LT", "M8", "CLN001L1", "Q", "QQ" };
	for (size_t i = 0; i < sizeof(bcs) / sizeof(bcs[0]); i++) {
		eng_barcode_label(bcs[i], out, sizeof(out));
		CHECK(eng_barcode_label_ok(bcs[i], out));
	}
}

static void
test_cleaning(void)
{
	char err[ENG_ERRLEN];
	struct eng_library l = { .clean_prefix = "CLX" };

	CHECK(strcmp(eng_clean_prefix(), "CLN") == 0);
	CHECK(eng_barcode_cleaning("CLN001L1", NULL));
	CHECK(!eng_barcode_cleaning("A00001L6", NULL));
	CHECK(!eng_barcode_cleaning("", NULL));
	CHECK(!eng_barcode_cleaning(NULL, NULL));
	CHECK(eng_barcode_cleaning("XY01", "XY"));
	CHECK(eng_library_set(&l, err) == 0);
	CHECK(strcmp(eng_clean_prefix(), "CLX") == 0);
	CHECK(eng_barcode_cleaning("CLX001", NULL));
	CHECK(!eng_barcode_cleaning("CLN001L1", NULL));
	/* abs-ctld's word over the command line's, and back. */
	l.clean_prefix = "CC";
	l.no_robot = true;
	CHECK(eng_library_control(&l, err) == 0);
	CHECK(strcmp(eng_clean_prefix(), "CC") == 0);
	CHECK(eng_library_no_robot());
	CHECK(eng_library_control(NULL, err) == 0);
	CHECK(strcmp(eng_clean_prefix(), "CLX") == 0);
	CHECK(!eng_library_no_robot());
	/* Bad prefixes are refused, the old one kept. */
	l.clean_prefix = "";
	CHECK(eng_library_set(&l, err) == -EINVAL);
	l.clean_prefix = "C N";
	CHECK(eng_library_set(&l, err) == -EINVAL);
	l.clean_prefix = "0123456789012345678901234567890123";
	CHECK(eng_library_set(&l, err) == -EINVAL);
	CHECK(strcmp(eng_clean_prefix(), "CLX") == 0);
	CHECK(eng_library_set(NULL, err) == 0);
	CHECK(strcmp(eng_clean_prefix(), "CLN") == 0);
}

/* A drive named by --changer and --drive-element; never guessed. */
static void
test_changer_drive(void)
{
	char dir[512], lib[600], uri[700], drive[800], link[700], err[ENG_ERRLEN];
	struct tsg_changer *c = NULL;
	struct eng_changer *ec = NULL;
	struct eng_changer_opts o = { 0 };
	unsigned d = 99;
	int el;

	snprintf(dir, sizeof(dir), "%s/abs-test-library-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(lib, sizeof(lib), "%s/lib", dir);
	CHECK(vtape_library_create(lib, 3, 2, 1 << 20, 0, "A") == 0);
	snprintf(uri, sizeof(uri), "vtape:%s", lib);
	/* A path to drive 1 the URI does not show as a library's. */
	snprintf(link, sizeof(link), "%s/tapedev", dir);
	snprintf(drive, sizeof(drive), "%s/drive1", lib);
	CHECK(symlink(drive, link) == 0);
	snprintf(drive, sizeof(drive), "vtape:%s", link);
	CHECK(eng_library_of(drive, &c, &d) == -ENODEV);

	/* A drive element the changer has, checked; one it has not, refused. */
	char real0[800], real1[800];
	snprintf(real0, sizeof(real0), "vtape:%s/drive0", lib);
	snprintf(real1, sizeof(real1), "vtape:%s/drive1", lib);
	el = 1;
	CHECK(eng_library_find_drive(uri, real1, &el, err) == 0 && el == 1);
	/* An element whose identifier is not the device's serial: refused
	   (hostile14 K1), naming the drive it is. */
	el = 1;
	CHECK(eng_library_find_drive(uri, real0, &el, err) == -ENODEV);
	CHECK(strstr(err, "it is drive 0") != NULL);
	el = 1;	/* the symlinked path's serial is no drive's */
	CHECK(eng_library_find_drive(uri, drive, &el, err) == -ENODEV);
	el = 2;
	CHECK(eng_library_find_drive(uri, drive, &el, err) == -ENODEV);
	CHECK(strstr(err, "no drive 2") != NULL);
	el = 0;
	CHECK(eng_library_find_drive("vtape:/nonexistent/lib", drive, &el,
	    err) < 0);

	/* By serial: the drive's page 80h against the changer's DVCIDs. */
	el = -1;
	CHECK(eng_library_find_drive(uri, real1, &el, err) == 0 && el == 1);
	el = -1;	/* another path to it: a serial no DVCID has */
	CHECK(eng_library_find_drive(uri, drive, &el, err) == -ENODEV &&
	    el == -1 && strstr(err, "--drive-element"));

	struct eng_library l = { .changer = uri, .element = 1 };
	CHECK(eng_library_set(&l, err) == 0);
	CHECK(eng_library_of(drive, &c, &d) == 0 && c && d == 1);
	tsg_changer_free(c);
	c = NULL;
	o.uri = drive;
	CHECK(eng_changer_open(&o, &ec, err) == 0 && ec &&
	    eng_changer_is_library(ec));
	eng_changer_free(ec);
	/* Under abs-ctld's robot: no changer of the engine's own. */
	struct eng_library ctl = { .no_robot = true };
	CHECK(eng_library_control(&ctl, err) == 0);
	CHECK(eng_library_of(drive, &c, &d) == -ENODEV && !c);
	CHECK(eng_changer_open(&o, &ec, err) == 0 && ec &&
	    !eng_changer_is_library(ec));
	eng_changer_free(ec);
	snprintf(uri, sizeof(uri), "vtape:%s/drive0", lib);
	o.uri = uri;	/* even a vtape library's own drive */
	CHECK(eng_changer_open(&o, &ec, err) == 0 && ec &&
	    !eng_changer_is_library(ec));
	eng_changer_free(ec);
	CHECK(eng_library_control(NULL, err) == 0);
	CHECK(eng_library_set(NULL, err) == 0);
	/* Options: a changer without an element is refused, said why. */
	o.uri = drive;
	snprintf(uri, sizeof(uri), "vtape:%s", lib);
	o.changer = uri;
	o.drive_element = -1;
	CHECK(eng_changer_open(&o, &ec, err) == -EINVAL && !ec);
	CHECK(strstr(err, "which drive") != NULL);
	o.drive_element = 0;
	CHECK(eng_changer_open(&o, &ec, err) == 0 && ec &&
	    eng_changer_is_library(ec));
	eng_changer_free(ec);

	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

int
main(void)
{
	test_sticker_rule();
	test_cleaning();
	test_changer_drive();
	T_DONE();
}
