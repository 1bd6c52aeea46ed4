/* abs-vtape: create and inspect virtual cartridges and libraries. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "sg/vtape.h"

static const char usage[] =
"usage: abs-vtape COMMAND ...\n"
"  new-library DIR --slots N --drives M --capacity SIZE\n"
"              [--early-warning SIZE] [--barcode-prefix P] [--portals N]\n"
"              [--serial S]\n"
"  new-cartridge DIR --barcode B --capacity SIZE [--early-warning SIZE]\n"
"  load DIR --slot N --drive K\n"
"  unload DIR --drive K\n"
"  list DIR\n"
"  check DIR [--repair]   exit 0 clean, 3 problems left, 4 all repaired\n"
"  show DIR (--slot N | --drive K)   or   show CARTDIR\n"
"  inject DIR (--slot N | --drive K) | CARTDIR\n"
"         [--medium-error-at BLOCK] [--corrupt-write-at BLOCK]\n"
"         [--write-protect] [--write-enable]\n"
"         [--tapealert N] [--clear]\n"
"  fault DIR [--move-fail N [--jam]] [--jam-slot N] [--unreadable N]\n"
"            [--not-ready N] [--refuse-dvcid] [--refuse-voltag] [--clear]\n"
"         the library's robot: the next N moves fail (HARDWARE ERROR 15/01,\n"
"         with --jam 53/00); every move from or to slot N jams; the label of\n"
"         slot N's cartridge cannot be read (wherever it goes); the next N\n"
"         commands are answered NOT READY 04/01 (becoming ready); READ\n"
"         ELEMENT STATUS asking drive identifiers (DVCID) or barcodes\n"
"         (VolTag) is refused 24/00, as by changers without them; --clear\n"
"         drops them all first. Without options: the robot's state and faults.\n"
"  door DIR               the operator opened and closed the door: the\n"
"                         changer's next command gets UNIT ATTENTION 28/00\n"
"  import DIR [--to-slots] BARCODE...\n"
"         the operator puts cartridges into free portals (import/export\n"
"         slots; --to-slots: free slots): a barcode exported before comes\n"
"         back, a new one is a blank cartridge of the library's size\n"
"  export DIR [--portal N]   the operator takes the cartridges out of the\n"
"         portals (all, or portal N); import brings them back\n"
"SIZE takes K/M/G suffixes. Drive K of library DIR is device vtape:DIR/driveK\n"
"(serial: the library's followed by DK); the library's robot is the SCSI\n"
"medium changer vtape:DIR (also smc:vtape:DIR). Import, export and door\n"
"refuse while the portals are locked (PREVENT MEDIUM REMOVAL) where they\n"
"touch the portals.\n";

enum { O_SLOTS = 256, O_DRIVES, O_CAP, O_EW, O_PREFIX, O_SLOT, O_DRIVE,
	O_MERR, O_WP, O_WE, O_TA, O_CLEAR, O_BARCODE, O_CORRUPT, O_REPAIR,
	O_PORTALS, O_SERIAL, O_MOVE_FAIL, O_JAM, O_JAM_SLOT, O_UNREADABLE,
	O_TO_SLOTS, O_PORTAL, O_NOT_READY, O_REFUSE_DVCID, O_REFUSE_VOLTAG };

static const struct option longopts[] = {
	{ "slots", required_argument, NULL, O_SLOTS },
	{ "drives", required_argument, NULL, O_DRIVES },
	{ "capacity", required_argument, NULL, O_CAP },
	{ "early-warning", required_argument, NULL, O_EW },
	{ "barcode-prefix", required_argument, NULL, O_PREFIX },
	{ "barcode", required_argument, NULL, O_BARCODE },
	{ "slot", required_argument, NULL, O_SLOT },
	{ "drive", required_argument, NULL, O_DRIVE },
	{ "medium-error-at", required_argument, NULL, O_MERR },
	{ "corrupt-write-at", required_argument, NULL, O_CORRUPT },
	{ "write-protect", no_argument, NULL, O_WP },
	{ "write-enable", no_argument, NULL, O_WE },
	{ "tapealert", required_argument, NULL, O_TA },
	{ "clear", no_argument, NULL, O_CLEAR },
	{ "repair", no_argument, NULL, O_REPAIR },
	{ "portals", required_argument, NULL, O_PORTALS },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "move-fail", required_argument, NULL, O_MOVE_FAIL },
	{ "jam", no_argument, NULL, O_JAM },
	{ "jam-slot", required_argument, NULL, O_JAM_SLOT },
	{ "unreadable", required_argument, NULL, O_UNREADABLE },
	{ "to-slots", no_argument, NULL, O_TO_SLOTS },
	{ "portal", required_argument, NULL, O_PORTAL },
	{ "not-ready", required_argument, NULL, O_NOT_READY },
	{ "refuse-dvcid", no_argument, NULL, O_REFUSE_DVCID },
	{ "refuse-voltag", no_argument, NULL, O_REFUSE_VOLTAG },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A number option, or die. */
static uint64_t
num(const char *s, uint64_t max, const char *what)
{
	uint64_t v;

	if (util_parse_u64(s, max, &v) < 0)
		die("%s: %s is not a number from 0 to %llu", what, s,
		    (unsigned long long)max);
	return v;
}

/* A size option, or die. */
static uint64_t
size_arg(const char *s, const char *what)
{
	uint64_t v;

	if (util_parse_size(s, &v) < 0)
		die("%s: bad size %s (use e.g. 512M, 2G)", what, s);
	return v;
}

/*
 * Die unless slot (1..N) and drive (0..M-1) exist in library dir (-1: not
 * given); a cartridge directory given instead of a library passes.
 */
static void
in_library(const char *dir, long slot, long drive)
{
	int slots, drives, rc = vtape_library_info(dir, &slots, &drives);

	if (rc == -ENOTDIR && slot < 0 && drive < 0)
		return;	/* show/inject CARTDIR */
	if (rc == -ENOTDIR)
		die("%s is not a vtape library (no library.conf)", dir);
	if (rc < 0)
		die("%s: %s", dir, strerror(-rc));
	if (slot < 0 && drive < 0)
		die("%s is a library: say which cartridge, --slot N (1 to %d) or "
		    "--drive K (0 to %d)", dir, slots, drives - 1);
	if (slot == 0 || slot > slots)
		die("there is no slot %ld in %s: its slots are 1 to %d", slot, dir,
		    slots);
	if (drive >= drives)
		die("there is no drive %ld in %s: its drives are 0 to %d", drive,
		    dir, drives - 1);
}

/* One finding of a library check, for the operator. */
static void
report(void *arg, const char *problem, const char *done, bool repaired)
{
	fprintf(arg ? arg : stdout, "%s: %s%s%s\n", repaired ? "repaired" :
	    "problem", problem, done ? "; " : "", done ? done : "");
}

int
main(int argc, char **argv)
{
	long slots = 0, drives = 1, slot = -1, drive = -1;
	uint64_t cap = 0, ew = UINT64_MAX;
	const char *prefix = "V", *barcode = NULL, *cmd, *dir;
	struct vtape_fault f = { .write_protect = -1, .medium_error_at = -1,
	    .corrupt_write_at = -1 };
	char *cart = NULL, why[1024] = "";
	int c, rc = 0, repair = 0, to_slots = 0;
	long portals = 0, portal = 0;
	const char *serial = NULL;
	struct vtape_changer_fault cf = { .move_fail = -1, .not_ready = -1 };
	bool any_fault = false;

	log_init("abs-vtape", LOG_LVL_WARN, 0);
	if (argc < 3) {
		bool help = argc == 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0);
		fputs(usage, help ? stdout : stderr);
		return help ? 0 : 2;
	}
	cmd = argv[1];
	dir = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_SLOTS: slots = (long)num(optarg, 9999, "--slots"); break;
		case O_DRIVES: drives = (long)num(optarg, 64, "--drives"); break;
		case O_CAP: cap = size_arg(optarg, "--capacity"); break;
		case O_EW: ew = size_arg(optarg, "--early-warning"); break;
		case O_PREFIX: prefix = optarg; break;
		case O_BARCODE: barcode = optarg; break;
		case O_SLOT: slot = (long)num(optarg, 9999, "--slot"); break;
		case O_DRIVE: drive = (long)num(optarg, 63, "--drive"); break;
		case O_MERR:
			f.medium_error_at = (int64_t)num(optarg, INT64_MAX,
			    "--medium-error-at");
			break;
		case O_CORRUPT:
			f.corrupt_write_at = (int64_t)num(optarg, INT64_MAX,
			    "--corrupt-write-at");
			break;
		case O_WP: f.write_protect = 1; break;
		case O_WE: f.write_protect = 0; break;
		case O_TA: f.tapealert = (int)num(optarg, 64, "--tapealert"); break;
		case O_CLEAR: f.clear = 1; break;
		case O_REPAIR: repair = 1; break;
		case O_PORTALS:
			portals = (long)num(optarg, VTAPE_MAX_PORTALS, "--portals");
			break;
		case O_SERIAL: serial = optarg; break;
		case O_MOVE_FAIL:
			cf.move_fail = (int)num(optarg, 1000000, "--move-fail");
			any_fault = true;
			break;
		case O_JAM: cf.jam = true; break;
		case O_REFUSE_DVCID: cf.refuse_dvcid = any_fault = true; break;
		case O_REFUSE_VOLTAG: cf.refuse_voltag = any_fault = true; break;
		case O_NOT_READY:
			cf.not_ready = (int)num(optarg, 1000000, "--not-ready");
			any_fault = true;
			break;
		case O_JAM_SLOT:
			cf.jam_slot = (unsigned)num(optarg, VTAPE_MAX_SLOTS, "--jam-slot");
			if (!cf.jam_slot)
				die("--jam-slot: slots are numbered from 1");
			any_fault = true;
			break;
		case O_UNREADABLE:
			cf.unreadable_slot = (unsigned)num(optarg, VTAPE_MAX_SLOTS,
			    "--unreadable");
			if (!cf.unreadable_slot)
				die("--unreadable: slots are numbered from 1");
			any_fault = true;
			break;
		case O_TO_SLOTS: to_slots = 1; break;
		case O_PORTAL:
			portal = (long)num(optarg, VTAPE_MAX_PORTALS, "--portal");
			if (!portal)
				die("--portal: portals are numbered from 1");
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc && strcmp(cmd, "import") != 0)
		die("unexpected argument %s", argv[optind]);
	if (cf.jam && cf.move_fail < 0)
		die("--jam goes with --move-fail N");
	/* Default early warning: 2% of capacity, at least 4 MiB. */
	if (ew == UINT64_MAX && cap) {
		ew = cap / 50;
		if (ew < (4u << 20))
			ew = cap / 4 < (4u << 20) ? cap / 4 : (4u << 20);
	}
	if (strcmp(cmd, "new-library") == 0) {
		if (!slots || !cap)
			die("new-library needs --slots N and --capacity SIZE");
		struct vtape_library lib = { .slots = (int)slots,
		    .drives = (int)drives, .portals = (int)portals, .capacity = cap,
		    .early_warning = ew };
		if (strlen(prefix) >= sizeof(lib.prefix))
			die("--barcode-prefix: at most %zu characters",
			    sizeof(lib.prefix) - 1);
		strcpy(lib.prefix, prefix);
		if (serial && strlen(serial) >= sizeof(lib.serial))
			die("--serial: at most %d characters", VTAPE_SERIAL_LEN);
		if (serial)
			strcpy(lib.serial, serial);
		rc = vtape_library_new(dir, &lib);
		if (rc == -EINVAL)
			die("new-library: bad values (slots 1 to %d, drives 1 to %d, "
			    "portals 0 to %d, a barcode prefix of at most 16 printable "
			    "characters without '/', a serial of 1 to %d letters, "
			    "digits, -, _ or ., early warning below capacity)",
			    VTAPE_MAX_SLOTS, VTAPE_MAX_DRIVES, VTAPE_MAX_PORTALS,
			    VTAPE_SERIAL_LEN);
		if (!rc)
			printf("library %s: %ld slots, %ld portals, %ld drives, "
			    "cartridges of %llu bytes (early warning %llu before the "
			    "end)\n", dir, slots, portals, drives,
			    (unsigned long long)cap, (unsigned long long)ew);
	} else if (strcmp(cmd, "new-cartridge") == 0) {
		if (!barcode || !cap)
			die("new-cartridge needs --barcode B and --capacity SIZE");
		rc = vtape_cart_create(dir, barcode, cap, ew);
	} else if (strcmp(cmd, "load") == 0) {
		if (slot < 0 || drive < 0)
			die("load needs --slot N and --drive K");
		in_library(dir, slot, drive);
		rc = vtape_load(dir, (int)slot, (int)drive, why, sizeof(why));
		if (rc == -ENOENT)
			die("slot %ld of %s is empty", slot, dir);
		if (rc == -EEXIST)
			die("drive %ld of %s already holds a cartridge", drive, dir);
	} else if (strcmp(cmd, "unload") == 0) {
		if (drive < 0)
			die("unload needs --drive K");
		in_library(dir, -1, drive);
		rc = vtape_unload(dir, (int)drive, why, sizeof(why));
		if (rc == -ENOENT)
			die("drive %ld of %s is empty", drive, dir);
	} else if (strcmp(cmd, "list") == 0) {
		struct vtape_check res;
		if ((rc = vtape_check(dir, VTAPE_REPAIR_NONE, report, stderr,
		    &res)) == 0 && res.found)
			fprintf(stderr, "abs-vtape list: %s: %d problem%s (abs-vtape "
			    "check %s --repair)\n", dir, res.found,
			    res.found == 1 ? "" : "s", dir);
		if (rc == 0)
			rc = vtape_list(dir, stdout);
	} else if (strcmp(cmd, "check") == 0) {
		struct vtape_check res;
		rc = vtape_check(dir, repair ? VTAPE_REPAIR_ALL : VTAPE_REPAIR_NONE,
		    report, NULL, &res);
		if (rc == 0) {
			printf("%s: %d problem%s found, %d repaired\n", dir, res.found,
			    res.found == 1 ? "" : "s", res.repaired);
			return !res.found ? 0 : res.repaired == res.found ? 4 : 3;
		}
	} else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "inject") == 0) {
		in_library(dir, slot, drive);
		if (slot >= 0)
			rc = vtape_slot_cart(dir, (int)slot, &cart);
		else if (drive >= 0)
			rc = vtape_drive_cart(dir, (int)drive, &cart);
		else
			cart = strdup(dir);
		if (rc == -ENOENT)
			die("%s %ld of %s is empty", slot >= 0 ? "slot" : "drive",
			    slot >= 0 ? slot : drive, dir);
		if (!rc && strcmp(cmd, "show") == 0)
			rc = vtape_show(cart, stdout);
		else if (!rc)
			rc = vtape_inject(cart, &f);
		free(cart);
	} else if (strcmp(cmd, "fault") == 0) {
		in_library(dir, 1, -1);
		if (any_fault || cf.clear || f.clear)
			cf.clear = cf.clear || f.clear;
		if (any_fault || cf.clear)
			rc = vtape_changer_fault(dir, &cf, why, sizeof(why));
		if (!rc)
			rc = vtape_changer_show(dir, stdout);
	} else if (strcmp(cmd, "door") == 0) {
		in_library(dir, 1, -1);
		if (!(rc = vtape_door(dir)))
			printf("%s: door opened and closed: the changer reports UNIT "
			    "ATTENTION next\n", dir);
	} else if (strcmp(cmd, "import") == 0) {
		in_library(dir, 1, -1);
		if (optind >= argc)
			die("import needs the barcodes of the cartridges put in");
		rc = vtape_import(dir, argv + optind, argc - optind, to_slots, why,
		    sizeof(why));
		if (!rc)
			printf("%s: %d cartridge%s put into %s\n", dir, argc - optind,
			    argc - optind == 1 ? "" : "s", to_slots ? "slots" :
			    "portals");
	} else if (strcmp(cmd, "export") == 0) {
		in_library(dir, 1, -1);
		rc = vtape_export(dir, (int)portal, stdout, why, sizeof(why));
	} else {
		fprintf(stderr, "abs-vtape: unknown command %s\n%s", cmd, usage);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "abs-vtape %s: %s: %s\n", cmd, dir, why[0] ? why :
		    rc == -EBUSY ? "drive busy" : rc == -ENOTDIR ?
		    "not a vtape library (no library.conf)" : rc == -EEXIST ?
		    "already exists" : strerror(-rc));
		return 1;
	}
	return 0;
}
