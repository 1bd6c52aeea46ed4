/*
 * abs-engine changer --device CHANGER-URI [--json] COMMAND: a library's
 * robot by hand (see engine/changer_cmd.h). Elements are slot:N, drive:N,
 * portal:N (mtx numbering: slots and portals from 1, drives from 0) or
 * @ADDR, an element address; load and unload also take bare numbers.
 * Exit 0 done, 1 refused by the changer (the sense in words), 2 usage,
 * 3 the changer cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/priv.h"
#include "common/util.h"
#include "engine/changer_cmd.h"
#include "sg/tsg.h"

const char eng_changer_usage[] =
"usage: abs-engine changer --device CHANGER-URI [--json] COMMAND\n"
"  inventory          every element: robot, slots, portals, drives, with\n"
"                     barcode, where a drive's cartridge came from and the\n"
"                     drive's identifier (DVCID) when the changer gives them\n"
"  info               vendor, product, serial, element counts and first\n"
"                     addresses, whether barcodes and identifiers are offered\n"
"  scan               INITIALIZE ELEMENT STATUS: the robot checks every\n"
"                     element (minutes on a large library)\n"
"  move FROM TO       MOVE MEDIUM between two elements\n"
"  load SLOT DRIVE    a slot's cartridge into a drive\n"
"  unload DRIVE [SLOT]  a drive's cartridge back to SLOT, else to the slot\n"
"                     it came from, else to the first empty one\n"
"  prevent | allow    PREVENT or ALLOW MEDIUM REMOVAL through the portals\n"
"Elements: slot:N, drive:N, portal:N (slots and portals from 1, drives from\n"
"0, as mtx numbers them) or @ADDR (an element address); a bare number in\n"
"load and unload is a slot or drive number.\n"
"Changers: smc:sg:/dev/sgN, smc:iscsi://HOST[:PORT]/TARGET-IQN/LUN,\n"
"smc:vtape:LIBDIR, vtape:LIBDIR.\n"
"--json: one JSON object; a refused command has \"error\" and \"sense\"\n"
"(\"3B/0E\"). Exit 0 done, 1 refused, 2 usage, 3 changer unreachable.\n";

enum { C_DEVICE = 256, C_JSON };

static const struct option copts[] = {
	{ "device", required_argument, NULL, C_DEVICE },
	{ "json", no_argument, NULL, C_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct ccmd {
	const char *uri;
	bool json;
	struct tsg_changer *c;
};

static const char *
type_name(enum tsg_elem_type t)
{
	switch (t) {
	case TSG_ELEM_TRANSPORT: return "robot";
	case TSG_ELEM_SLOT: return "slot";
	case TSG_ELEM_PORTAL: return "portal";
	case TSG_ELEM_DRIVE: return "drive";
	}
	return "?";
}

/* A string for JSON, or null when empty. */
static json_t *
jstr_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Print j (taken) on stdout. */
static void
jprint(json_t *j)
{
	if (j)
		json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

/* A new object with "changer" set. */
static json_t *
jobj(const struct ccmd *cc)
{
	json_t *j = json_object();

	json_object_set_new(j, "changer", json_string(cc->uri));
	return j;
}

/* Say why rc/st failed; the exit status (1 refused, 3 unreachable). */
static int
report(struct ccmd *cc, const char *what, int rc, const struct tsg_status *st)
{
	char msg[320], sense[8] = "";
	bool refused = rc == TSG_CHECK;

	if (rc == TSG_CHECK) {
		tsg_status_str(st, msg, sizeof(msg));
		if (st->sense_len)
			snprintf(sense, sizeof(sense), "%02X/%02X", st->asc, st->ascq);
	} else if (st->cat == TSG_CAT_TRANSPORT) {
		tsg_status_str(st, msg, sizeof(msg));
	} else {
		snprintf(msg, sizeof(msg), "%s", strerror(rc < 0 ? -rc : EIO));
	}
	if (cc->json) {
		json_t *j = jobj(cc);
		char e[400];
		snprintf(e, sizeof(e), "%s: %s", what, msg);
		json_object_set_new(j, "error", json_string(e));
		json_object_set_new(j, "sense", jstr_or_null(sense));
		json_object_set_new(j, "attention",
		    json_boolean(cc->c && tsg_changer_attention(cc->c)));
		jprint(j);
	} else {
		fprintf(stderr, "abs-engine changer: %s: %s: %s\n", cc->uri, what,
		    msg);
	}
	return refused ? 1 : ENG_CHANGER_UNREACHABLE;
}

/* The changer could not be opened: why, or the errno's words. */
static void
report_open(const struct ccmd *cc, int rc, const char *why)
{
	char msg[TSG_WHY_LEN + 64];

	snprintf(msg, sizeof(msg), "cannot open the changer: %s",
	    why[0] ? why : strerror(-rc));
	if (cc->json) {
		json_t *j = jobj(cc);
		json_object_set_new(j, "error", json_string(msg));
		json_object_set_new(j, "sense", json_null());
		jprint(j);
	} else {
		fprintf(stderr, "abs-engine changer: %s: %s\n", cc->uri, msg);
	}
}

/* "except 30/03", "no barcode", "put in by an operator": the notes column. */
static void
notes_of(const struct tsg_element *e, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	if (e->tag_unreadable)
		k += (size_t)snprintf(buf + k, len - k, "%sbarcode unreadable",
		    k ? ", " : "");
	if (e->except && k < len)
		k += (size_t)snprintf(buf + k, len - k, "%sexception %02X/%02X",
		    k ? ", " : "", e->asc, e->ascq);
	if (e->impexp && k < len)
		snprintf(buf + k, len - k, "%sput in by an operator", k ? ", " : "");
}

static int
do_inventory(struct ccmd *cc)
{
	struct tsg_changer_info info;
	struct tsg_element *e;
	struct tsg_status st;
	size_t n;
	int rc;

	if ((rc = tsg_changer_inventory(cc->c, &e, &n, &st)) != 0)
		return report(cc, "inventory", rc, &st);
	tsg_changer_info(cc->c, &info, &st);	/* vtape: none, fields "" */
	bool attention = tsg_changer_attention(cc->c);
	if (cc->json) {
		json_t *j = jobj(cc), *arr = json_array();
		json_object_set_new(j, "vendor", jstr_or_null(info.vendor));
		json_object_set_new(j, "product", jstr_or_null(info.product));
		json_object_set_new(j, "serial", jstr_or_null(info.serial));
		json_object_set_new(j, "attention", json_boolean(attention));
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "type", json_string(type_name(e[i].type)));
			json_object_set_new(o, "num", json_integer(e[i].num));
			json_object_set_new(o, "addr", json_integer(e[i].addr));
			json_object_set_new(o, "full", json_boolean(e[i].full));
			json_object_set_new(o, "barcode", jstr_or_null(e[i].barcode));
			json_object_set_new(o, "tag_unreadable",
			    json_boolean(e[i].tag_unreadable));
			json_object_set_new(o, "source", e[i].full && e[i].source ?
			    json_integer(e[i].source) : json_null());
			json_object_set_new(o, "ident", jstr_or_null(e[i].ident));
			json_object_set_new(o, "except", json_boolean(e[i].except));
			json_object_set_new(o, "access", json_boolean(e[i].access));
			if (e[i].type == TSG_ELEM_PORTAL)
				json_object_set_new(o, "impexp", json_boolean(e[i].impexp));
			json_array_append_new(arr, o);
		}
		json_object_set_new(j, "elements", arr);
		jprint(j);
	} else {
		printf("changer %s", cc->uri);
		if (info.vendor[0] || info.product[0])
			printf(": %s %s%s%s", info.vendor, info.product,
			    info.serial[0] ? ", serial " : "", info.serial);
		printf("\n%-6s %4s %6s  %-5s  %-16s %-8s %s\n", "type", "num", "addr",
		    "state", "barcode", "from", "identifier / notes");
		for (size_t i = 0; i < n; i++) {
			char from[24] = "-", notes[160];
			if (e[i].full && e[i].source)
				snprintf(from, sizeof(from), "slot %u", e[i].source);
			notes_of(&e[i], notes, sizeof(notes));
			printf("%-6s %4u %6u  %-5s  %-16s %-8s %s%s%s\n",
			    type_name(e[i].type), e[i].num, e[i].addr,
			    e[i].full ? "full" : "empty",
			    e[i].barcode[0] ? e[i].barcode : "-", from, e[i].ident,
			    e[i].ident[0] && notes[0] ? "; " : "", notes);
		}
		if (attention)
			printf("(the changer reported a UNIT ATTENTION: its state may "
			    "have changed since the last inventory)\n");
	}
	free(e);
	return 0;
}

static int
do_info(struct ccmd *cc)
{
	struct tsg_changer_info info;
	struct tsg_status st;
	int rc = tsg_changer_info(cc->c, &info, &st);

	/* A backend without its own (the vtape library): counted. */
	if (rc == TSG_CHECK && st.cat == TSG_CAT_ILLEGAL_REQUEST) {
		struct tsg_element *e;
		size_t n;
		if ((rc = tsg_changer_inventory(cc->c, &e, &n, &st)) != 0)
			return report(cc, "info", rc, &st);
		memset(&info, 0, sizeof(info));
		for (size_t i = 0; i < n; i++) {
			unsigned *cnt = e[i].type == TSG_ELEM_TRANSPORT ? &info.robots :
			    e[i].type == TSG_ELEM_SLOT ? &info.slots :
			    e[i].type == TSG_ELEM_PORTAL ? &info.portals : &info.drives;
			(*cnt)++;
			info.voltag = info.voltag || e[i].barcode[0];
		}
		free(e);
	} else if (rc) {
		return report(cc, "info", rc, &st);
	}
	if (cc->json) {
		json_t *j = jobj(cc);
		json_object_set_new(j, "vendor", jstr_or_null(info.vendor));
		json_object_set_new(j, "product", jstr_or_null(info.product));
		json_object_set_new(j, "revision", jstr_or_null(info.revision));
		json_object_set_new(j, "serial", jstr_or_null(info.serial));
		json_object_set_new(j, "robots", json_integer(info.robots));
		json_object_set_new(j, "slots", json_integer(info.slots));
		json_object_set_new(j, "portals", json_integer(info.portals));
		json_object_set_new(j, "drives", json_integer(info.drives));
		json_object_set_new(j, "first_robot", json_integer(info.first_robot));
		json_object_set_new(j, "first_slot", json_integer(info.first_slot));
		json_object_set_new(j, "first_portal",
		    json_integer(info.first_portal));
		json_object_set_new(j, "first_drive", json_integer(info.first_drive));
		json_object_set_new(j, "voltag", json_boolean(info.voltag));
		json_object_set_new(j, "dvcid", json_boolean(info.dvcid));
		jprint(j);
		return 0;
	}
	printf("changer   %s\n", cc->uri);
	printf("device    %s %s %s\n", info.vendor[0] ? info.vendor : "-",
	    info.product, info.revision);
	printf("serial    %s\n", info.serial[0] ? info.serial : "-");
	printf("robots    %u (first address %u)\n", info.robots, info.first_robot);
	printf("slots     %u (first address %u)\n", info.slots, info.first_slot);
	printf("portals   %u (first address %u)\n", info.portals, info.first_portal);
	printf("drives    %u (first address %u)\n", info.drives, info.first_drive);
	printf("barcodes  %s\n", info.voltag ? "yes" : "no");
	printf("drive ids %s\n", info.dvcid ? "yes (DVCID)" : "no");
	return 0;
}

/*
 * An element from its spelling: TYPE:N, @ADDR, or a bare number of
 * bare_type (0: none allowed). 0, or -EINVAL (usage) with a message.
 */
static int
parse_elem(const char *s, enum tsg_elem_type bare_type,
    enum tsg_elem_type *type, unsigned *num, bool *by_addr)
{
	static const struct { const char *name; enum tsg_elem_type t; } names[] = {
		{ "slot:", TSG_ELEM_SLOT }, { "drive:", TSG_ELEM_DRIVE },
		{ "portal:", TSG_ELEM_PORTAL }, { "robot:", TSG_ELEM_TRANSPORT },
	};
	uint64_t v;

	*by_addr = false;
	if (s[0] == '@') {
		if (util_parse_u64(s + 1, 0xffff, &v) < 0)
			return -EINVAL;
		*by_addr = true;
		*num = (unsigned)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i].name);
		if (strncmp(s, names[i].name, k) == 0) {
			if (util_parse_u64(s + k, 0xffff, &v) < 0)
				return -EINVAL;
			*type = names[i].t;
			*num = (unsigned)v;
			return 0;
		}
	}
	if (bare_type && util_parse_u64(s, 0xffff, &v) == 0) {
		*type = bare_type;
		*num = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

/* st as a changer's CHECK CONDITION with key and ASC/ASCQ; TSG_CHECK. */
static int
check_status(struct tsg_status *st, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t sense[18] = { 0x70, 0, key, 0, 0, 0, 0, 10 };

	sense[12] = asc;
	sense[13] = ascq;
	tsg_decode_sense(sense, sizeof(sense), 0x02, st);
	return TSG_CHECK;
}

/* An @ADDR element's type and number, from an inventory: 0, or rc. */
static int
resolve_addr(struct ccmd *cc, unsigned addr, enum tsg_elem_type *type,
    unsigned *num, struct tsg_status *st)
{
	struct tsg_element *e;
	size_t n;
	int rc = tsg_changer_inventory(cc->c, &e, &n, st);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (e[i].addr == addr) {
			*type = e[i].type;
			*num = e[i].num;
			rc = 0;
		}
	free(e);
	if (rc) {	/* what a SCSI changer says of an address it lacks */
		rc = check_status(st, 0x05, 0x21, 0x01);
		snprintf(st->note, sizeof(st->note), "no element at address %u",
		    addr);
	}
	return rc;
}

/* Print what was done; 0. */
static int
done(struct ccmd *cc, const char *op, const char *what)
{
	bool attention = tsg_changer_attention(cc->c);

	if (cc->json) {
		json_t *j = jobj(cc);
		json_object_set_new(j, "op", json_string(op));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "done", json_string(what));
		json_object_set_new(j, "attention", json_boolean(attention));
		jprint(j);
	} else {
		printf("%s\n", what);
	}
	return 0;
}

/* --json and --device as parsed so far, for a usage error's JSON. */
static bool usage_json;
static const char *usage_uri;

static int
usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	fprintf(stderr, "abs-engine changer: %s\n%s", msg, eng_changer_usage);
	if (usage_json) {
		json_t *j = json_object();
		json_object_set_new(j, "changer", jstr_or_null(usage_uri));
		json_object_set_new(j, "error", json_string(msg));
		json_object_set_new(j, "sense", json_null());
		jprint(j);
	}
	return ENG_CHANGER_USAGE;
}

/* "slot 3" from a type and number. */
static void
elem_words(enum tsg_elem_type t, unsigned num, char *buf, size_t len)
{
	snprintf(buf, len, "%s %u", type_name(t), num);
}

/* The elements of a move, load or unload as spelt. */
struct mv {
	enum tsg_elem_type ft, tt;
	unsigned from, to;
	bool fa, ta;		/* given as @ADDR */
};

/*
 * move, load, unload: the arguments after the command word, checked
 * before the changer is opened; 0, or the usage exit status (said).
 */
static int
parse_move(const char *op, int argc, char **argv, struct mv *m)
{
	memset(m, 0, sizeof(*m));
	if (strcmp(op, "move") == 0) {
		if (argc != 2)
			return usage_error("move takes FROM and TO%s", "");
		if (parse_elem(argv[0], 0, &m->ft, &m->from, &m->fa) < 0)
			return usage_error("not an element: %s", argv[0]);
		if (parse_elem(argv[1], 0, &m->tt, &m->to, &m->ta) < 0)
			return usage_error("not an element: %s", argv[1]);
	} else if (strcmp(op, "load") == 0) {
		if (argc != 2)
			return usage_error("load takes SLOT and DRIVE%s", "");
		if (parse_elem(argv[0], TSG_ELEM_SLOT, &m->ft, &m->from, &m->fa) < 0 ||
		    (!m->fa && m->ft != TSG_ELEM_SLOT))
			return usage_error("not a slot: %s", argv[0]);
		if (parse_elem(argv[1], TSG_ELEM_DRIVE, &m->tt, &m->to, &m->ta) < 0 ||
		    (!m->ta && m->tt != TSG_ELEM_DRIVE))
			return usage_error("not a drive: %s", argv[1]);
	} else {
		m->ft = TSG_ELEM_DRIVE;
		m->tt = TSG_ELEM_SLOT;
		if (argc < 1 || argc > 2)
			return usage_error("unload takes DRIVE [SLOT]%s", "");
		if (parse_elem(argv[0], TSG_ELEM_DRIVE, &m->ft, &m->from, &m->fa) < 0 ||
		    (!m->fa && m->ft != TSG_ELEM_DRIVE))
			return usage_error("not a drive: %s", argv[0]);
		if (argc == 2 && (parse_elem(argv[1], TSG_ELEM_SLOT, &m->tt, &m->to,
		    &m->ta) < 0 || (!m->ta && m->tt != TSG_ELEM_SLOT)))
			return usage_error("not a slot: %s", argv[1]);
	}
	return 0;
}

/* move, load, unload of m (parse_move's). */
static int
do_move(struct ccmd *cc, const char *op, int argc, char **argv,
    const struct mv *m)
{
	enum tsg_elem_type ft = m->ft, tt = m->tt;
	unsigned from = m->from, to = m->to;
	bool fa = m->fa, ta = m->ta, unload = strcmp(op, "unload") == 0;
	struct tsg_status st;
	char a[48], b[48], what[128];
	int rc;

	if (fa && (rc = resolve_addr(cc, from, &ft, &from, &st)) != 0)
		return report(cc, op, rc, &st);
	if (ta && (rc = resolve_addr(cc, to, &tt, &to, &st)) != 0)
		return report(cc, op, rc, &st);
	if ((!unload && strcmp(op, "load") == 0 && (ft != TSG_ELEM_SLOT ||
	    tt != TSG_ELEM_DRIVE)) || (unload && (ft != TSG_ELEM_DRIVE ||
	    (argc == 2 && tt != TSG_ELEM_SLOT))))
		return usage_error("%s: an address of the wrong kind of element",
		    op);
	if (unload) {
		rc = tsg_changer_unload(cc->c, from, argc == 2 ? to : 0, &st);
		elem_words(ft, from, a, sizeof(a));
		snprintf(what, sizeof(what), "unloaded %s%s%s", a,
		    argc == 2 ? " to slot " : "", argc == 2 ? argv[1] : "");
		if (argc == 2) {
			elem_words(tt, to, b, sizeof(b));
			snprintf(what, sizeof(what), "unloaded %s to %s", a, b);
		}
	} else {
		rc = tsg_changer_move(cc->c, ft, from, tt, to, &st);
		elem_words(ft, from, a, sizeof(a));
		elem_words(tt, to, b, sizeof(b));
		snprintf(what, sizeof(what), "moved %s to %s", a, b);
	}
	if (rc)
		return report(cc, op, rc, &st);
	return done(cc, op, what);
}

int
eng_changer_cmd(int argc, char **argv)
{
	struct ccmd cc = { NULL, false, NULL };
	char why[TSG_WHY_LEN], err[PRIV_ERRLEN];
	struct tsg_status st;
	const char *op;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", copts, NULL)) != -1) {
		switch (c) {
		case C_DEVICE: cc.uri = optarg; break;
		case C_JSON: cc.json = true; break;
		case 'h':
			fputs(eng_changer_usage, stdout);
			return 0;
		default:
			fputs(eng_changer_usage, stderr);
			return ENG_CHANGER_USAGE;
		}
	}
	usage_json = cc.json;
	usage_uri = cc.uri;
	if (!cc.uri)
		return usage_error("needs --device CHANGER-URI%s", "");
	if (optind >= argc)
		return usage_error("needs a command%s", "");
	op = argv[optind++];
	argc -= optind;
	argv += optind;
	if (strcmp(op, "inventory") && strcmp(op, "info") && strcmp(op, "scan") &&
	    strcmp(op, "move") && strcmp(op, "load") && strcmp(op, "unload") &&
	    strcmp(op, "prevent") && strcmp(op, "allow"))
		return usage_error("unknown command %s", op);
	if ((strcmp(op, "inventory") == 0 || strcmp(op, "info") == 0 ||
	    strcmp(op, "scan") == 0 || strcmp(op, "prevent") == 0 ||
	    strcmp(op, "allow") == 0) && argc)
		return usage_error("%s takes no arguments", op);
	if (priv_engine(PRIV_TAPE, cc.uri, err) < 0) {
		fprintf(stderr, "abs-engine changer: %s\n", err);
		return 1;
	}
	struct mv mv;
	if ((strcmp(op, "move") == 0 || strcmp(op, "load") == 0 ||
	    strcmp(op, "unload") == 0) && (rc = parse_move(op, argc, argv, &mv)))
		return rc;
	if ((rc = tsg_changer_open_why(cc.uri, &cc.c, why)) < 0) {
		if (rc == -EINVAL || rc == -EPROTONOSUPPORT)
			return usage_error("not a changer URI: %s (smc:sg:/dev/sgN, "
			    "smc:iscsi://HOST/IQN/LUN, smc:vtape:DIR, vtape:DIR)",
			    cc.uri);
		report_open(&cc, rc, why);
		return ENG_CHANGER_UNREACHABLE;
	}
	if (strcmp(op, "inventory") == 0)
		rc = do_inventory(&cc);
	else if (strcmp(op, "info") == 0)
		rc = do_info(&cc);
	else if (strcmp(op, "scan") == 0) {
		rc = tsg_changer_scan(cc.c, &st);
		rc = rc ? report(&cc, op, rc, &st) :
		    done(&cc, op, "element status initialized");
	} else if (strcmp(op, "prevent") == 0 || strcmp(op, "allow") == 0) {
		bool prevent = strcmp(op, "prevent") == 0;
		rc = tsg_changer_prevent(cc.c, prevent, &st);
		rc = rc ? report(&cc, op, rc, &st) : done(&cc, op, prevent ?
		    "medium removal prevented" : "medium removal allowed");
	} else
		rc = do_move(&cc, op, argc, argv, &mv);
	tsg_changer_free(cc.c);
	return rc;
}
