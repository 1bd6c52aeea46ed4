/*
 * Cartridge changes: the drive's library (through the changer API, so any
 * changer backend serves), or the operator.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/tape.h"
#include "sg/smc.h"
#include "sg/tsg.h"

/* ---- the drive's library, and the sticker rule ---- */

/*
 * This process's library (one drive per process): what the command line
 * configured, and over it what abs-ctld's register reply said (ctl.set).
 */
struct plib {
	bool set;
	char changer[1024];	/* "" none */
	unsigned element;
	bool no_robot;
	char clean[32];		/* "" the default, CLN */
};
static struct plib conf, ctl;

/* The library in force. */
static const struct plib *
cur_lib(void)
{
	return ctl.set ? &ctl : &conf;
}

static int lib_fill(struct plib *p, const struct eng_library *lib, char *err);

int
eng_library_set(const struct eng_library *lib, char *err)
{
	return lib_fill(&conf, lib, err);
}

int
eng_library_control(const struct eng_library *lib, char *err)
{
	return lib_fill(&ctl, lib, err);
}

/* Check and copy lib into p (NULL: p forgotten). */
static int
lib_fill(struct plib *p, const struct eng_library *lib, char *err)
{
	const char *cp = lib ? lib->clean_prefix : NULL;

	if (lib && lib->changer && (strlen(lib->changer) >= sizeof(p->changer) ||
	    lib->element < 0)) {
		eng_err(err, "changer %.100s: URI too long or no drive element",
		    lib->changer);
		return -EINVAL;
	}
	if (cp && (!*cp || strlen(cp) >= sizeof(p->clean) ||
	    strpbrk(cp, " \t\n%=|"))) {
		eng_err(err, "cleaning prefix '%.40s': 1-31 characters, no spaces",
		    cp);
		return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	if (!lib)
		return 0;
	p->set = true;
	if (lib->changer)
		snprintf(p->changer, sizeof(p->changer), "%s", lib->changer);
	p->element = lib->changer ? (unsigned)lib->element : 0;
	p->no_robot = lib->no_robot;
	if (cp)
		snprintf(p->clean, sizeof(p->clean), "%s", cp);
	return 0;
}

bool
eng_library_no_robot(void)
{
	return cur_lib()->no_robot;
}

const char *
eng_clean_prefix(void)
{
	return cur_lib()->clean[0] ? cur_lib()->clean : "CLN";
}

int
eng_library_of(const char *uri, struct tsg_changer **out, unsigned *drive)
{
	int rc;

	*out = NULL;
	if (cur_lib()->no_robot)
		return -ENODEV;
	if (!cur_lib()->changer[0])
		return tsg_changer_of_drive(uri, out, drive);
	if ((rc = tsg_changer_open(cur_lib()->changer, out)) < 0)
		return rc;
	*drive = cur_lib()->element;
	return 0;
}

int
eng_library_drive_barcode(const char *uri, char *buf, size_t len)
{
	struct tsg_changer *c;
	struct tsg_element *e;
	struct tsg_status st;
	const struct tsg_element *d;
	unsigned drive;
	size_t n;
	int rc;

	buf[0] = '\0';
	if ((rc = eng_library_of(uri, &c, &drive)) < 0)
		return rc;
	rc = tsg_changer_inventory(c, &e, &n, &st);
	tsg_changer_free(c);
	if (rc != 0)
		return rc < 0 ? rc : -EIO;
	d = tsg_changer_element(e, n, TSG_ELEM_DRIVE, drive);
	if (d && d->full)
		snprintf(buf, len, "%s", d->barcode);
	free(e);
	return 0;
}

int
eng_library_load_slot(const char *uri, unsigned slot, char *err)
{
	struct tsg_changer *c;
	struct tsg_element *e = NULL;
	struct tsg_status st;
	const struct tsg_element *d, *s;
	unsigned drive;
	size_t n;
	char why[200];
	int rc;

	if ((rc = eng_library_of(uri, &c, &drive)) < 0) {
		eng_err(err, rc == -ENODEV ? "--slot: %s is in no library this "
		    "engine works (name its robot with --changer URI, or load "
		    "the cartridge by hand)" : "--slot: %s: its library: %s", uri,
		    strerror(-rc));
		return rc;
	}
	if ((rc = tsg_changer_inventory(c, &e, &n, &st)) != 0) {
		eng_err_st(err, tsg_changer_uri(c), &st);
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	d = tsg_changer_element(e, n, TSG_ELEM_DRIVE, drive);
	s = tsg_changer_element(e, n, TSG_ELEM_SLOT, slot);
	if (!d || !s) {
		eng_err(err, "--slot: %s has no %s %u", tsg_changer_uri(c),
		    d ? "slot" : "drive", d ? slot : drive);
		rc = -ERANGE;
		goto out;
	}
	if (d->full && d->source == slot) {
		log_info("slot %u's cartridge %s is already in drive %u", slot,
		    d->barcode[0] ? d->barcode : "(no barcode)", drive);
		goto out;
	}
	if (!s->full) {
		eng_err(err, "--slot: slot %u of %s is empty", slot,
		    tsg_changer_uri(c));
		rc = -ENOENT;
		goto out;
	}
	if (eng_barcode_cleaning(s->barcode, NULL)) {
		eng_err(err, "--slot: slot %u holds cleaning cartridge %s: never "
		    "labelled", slot, s->barcode);
		rc = -EMEDIUMTYPE;
		goto out;
	}
	if (d->full) {
		/* Another cartridge is in: rewound, unloaded, back to its slot. */
		struct tsg_dev *dev;
		if (tsg_open(uri, &dev) == 0) {
			tsg_load(dev, false, &st);
			tsg_free(dev);
		}
		if ((rc = tsg_changer_unload(c, drive, 0, &st)) != 0) {
			eng_err(err, "--slot: drive %u holds %s and could not be "
			    "unloaded: %s", drive, d->barcode[0] ? d->barcode :
			    "a cartridge", tsg_status_str(&st, why, sizeof(why)));
			rc = rc < 0 ? rc : -EIO;
			goto out;
		}
		log_warn("put %s back from drive %u", d->barcode[0] ?
		    d->barcode : "the cartridge", drive);
	}
	if ((rc = tsg_changer_load(c, slot, drive, &st)) != 0) {
		eng_err(err, "--slot: loading slot %u into drive %u: %s", slot,
		    drive, tsg_status_str(&st, why, sizeof(why)));
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	log_warn("loaded slot %u (%s) into drive %u", slot, s->barcode[0] ?
	    s->barcode : "no barcode", drive);
out:
	free(e);
	tsg_changer_free(c);
	return rc;
}

/* Whether a drive identifier and a serial name the same drive, as
   tsg_changer_drive_by_ident matches them (equal, or one ends the other). */
static bool
ident_match(const char *ident, const char *serial)
{
	size_t a = strlen(ident), b = strlen(serial);

	if (!a || !b)
		return false;
	return a >= b ? strcmp(ident + a - b, serial) == 0 :
	    strcmp(serial + b - a, ident) == 0;
}

int
eng_library_find_drive(const char *changer, const char *device, int *element,
    char *err)
{
	struct tsg_inquiry inq;
	struct tsg_changer *c = NULL;
	struct tsg_element *e = NULL;
	struct tsg_status st;
	struct tsg_dev *dev;
	char why[TSG_WHY_LEN], list[300] = "";
	size_t n = 0, off = 0;
	unsigned matches = 0, idents = 0;
	const struct tsg_element *d;
	int rc, orc;

	/* The device's own word: its unit serial ("" none, or unreachable). */
	memset(&inq, 0, sizeof(inq));
	why[0] = '\0';
	if ((orc = tsg_open_why(device, &dev, why)) == 0) {
		if (tsg_inquiry(dev, &inq, &st) != 0)
			inq.serial[0] = '\0';
		tsg_free(dev);
	} else if (*element < 0) {
		eng_err(err, "%s: cannot open it to read its serial number: %s",
		    device, why[0] ? why : strerror(-orc));
		return orc;
	}
	if (*element < 0 && !inq.serial[0]) {
		eng_err(err, "%s reports no unit serial number (INQUIRY page 80h): "
		    "say which drive of %s it is with --drive-element N", device,
		    changer);
		return -ENODEV;
	}
	if ((rc = tsg_changer_open(changer, &c)) < 0) {
		eng_err(err, "changer %s: %s", changer, strerror(-rc));
		return rc;
	}
	rc = tsg_changer_inventory(c, &e, &n, &st);
	tsg_changer_free(c);
	if (rc != 0) {
		eng_err_st(err, changer, &st);
		return rc < 0 ? rc : -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].type != TSG_ELEM_DRIVE)
			continue;
		idents += e[i].ident[0] != '\0';
		matches += ident_match(e[i].ident, inq.serial);
		if (off < sizeof(list)) {
			int k = snprintf(list + off, sizeof(list) - off, "%s%u=%s",
			    off ? ", " : "", e[i].num, e[i].ident[0] ? e[i].ident :
			    "(none)");
			off += k > 0 ? (size_t)k : 0;
		}
	}
	if (*element >= 0) {
		/*
		 * Given: the changer must have that drive, and where both
		 * say who the drive is, they must agree (a wrong N would move
		 * cartridges through another drive).
		 */
		d = tsg_changer_element(e, n, TSG_ELEM_DRIVE, (unsigned)*element);
		if (!d) {
			eng_err(err, "changer %s has no drive %d (drives are numbered "
			    "from 0)", changer, *element);
			free(e);
			return -ENODEV;
		}
		if (inq.serial[0] && d->ident[0] &&
		    !ident_match(d->ident, inq.serial)) {
			const struct tsg_element *o = tsg_changer_drive_by_ident(e, n,
			    inq.serial);
			char hint[64] = "";
			if (o)
				snprintf(hint, sizeof(hint), ": it is drive %u", o->num);
			eng_err(err, "--drive-element %d names drive %s of changer %s, "
			    "but %s is %s%s (drives: %s)", *element, d->ident, changer,
			    device, inq.serial, hint, list);
			free(e);
			return -ENODEV;
		}
		if (!inq.serial[0] || !d->ident[0])
			log_warn("%s taken as drive %d of %s on the command line's word: "
			    "%s", device, *element, changer, !d->ident[0] ?
			    "the changer reports no identifier for it" : orc < 0 ?
			    "the device could not be asked its serial" :
			    "the device reports no serial");
		free(e);
		return 0;
	}
	d = tsg_changer_drive_by_ident(e, n, inq.serial);
	if (d && matches == 1) {
		*element = (int)d->num;
		free(e);
		return 0;
	}
	if (!idents)
		eng_err(err, "changer %s reports no drive identifiers (DVCID): say "
		    "which drive %s is with --drive-element N", changer, device);
	else
		eng_err(err, "%s (serial %s) is %s of changer %s (drives: %s): "
		    "say which with --drive-element N", device, inq.serial,
		    matches ? "more than one drive" : "no drive", changer, list);
	free(e);
	return -ENODEV;
}

/* Whether s starts an LTO media suffix: L1..L9, LT..LZ (WORM), M8. */
static bool
lto_suffix(const char *s)
{
	return (s[0] == 'L' && ((s[1] >= '1' && s[1] <= '9') ||
	    (s[1] >= 'T' && s[1] <= 'Z'))) || (s[0] == 'M' && s[1] == '8');
}

/* The length of the label part of a barcode (less its media suffix). */
static size_t
barcode_label_len(const char *barcode)
{
	size_t n = strlen(barcode);

	return n > 2 && lto_suffix(barcode + n - 2) ? n - 2 : n;
}

bool
eng_barcode_label_ok(const char *barcode, const char *label)
{
	size_t n;

	if (!barcode || !*barcode)
		return true;
	if (!label)
		return false;
	if (strcmp(barcode, label) == 0)
		return true;
	n = barcode_label_len(barcode);
	return n < strlen(barcode) && strlen(label) == n &&
	    strncmp(barcode, label, n) == 0;
}

void
eng_barcode_label(const char *barcode, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)barcode_label_len(barcode), barcode);
}

bool
eng_barcode_cleaning(const char *barcode, const char *prefix)
{
	if (!prefix)
		prefix = eng_clean_prefix();
	return barcode && *prefix && strncmp(barcode, prefix, strlen(prefix)) == 0;
}

/* A tape ruled out: full (early warning), bad, or refused in this job. */
struct skipped {
	char id[64];		/* tape ID (or barcode) */
	char label[64];		/* its label, "" unknown */
	bool full;
};

struct eng_changer {
	struct eng_changer_opts o;
	char pool[64];		/* o.pool points here */
	struct tsg_changer *lib;	/* the drive's library, or NULL */
	unsigned drive;		/* the drive's number in it */
	bool no_robot;		/* abs-ctld's robot moves: the mount hook only */
	char loaded[TSG_BARCODE_LEN];	/* barcode our robot loaded, "" none */
	struct skipped *skip;	/* grows: a long dump log has many */
	size_t nskip, capskip;
	char unload_err[300];	/* why the last unload failed, "" if it did not */
	char cur[64];		/* label of the cartridge we put in the drive */
	unsigned last_slot;	/* slot the last cartridge we loaded came from */
};

/* Tell the media callback, if any. */
static void
media(struct eng_changer *c, enum eng_media ev, const char *label,
    const char *where)
{
	if (ev == ENG_MEDIA_LOADED)
		snprintf(c->cur, sizeof(c->cur), "%s", label ? label : "");
	if (c->o.media)
		c->o.media(c->o.media_ctx, ev, label ? label : "",
		    where ? where : "");
}

void
eng_changer_loaded(struct eng_changer *c, const char *label, const char *where)
{
	if (strcmp(c->cur, label) != 0)	/* else said when it was loaded */
		media(c, ENG_MEDIA_LOADED, label, where);
}

/* Add a tape to the skip list; false (and the tape not added) without memory. */
static bool
skip_add(struct eng_changer *c, const char *tape_id, const char *label,
    bool full)
{
	for (size_t i = 0; i < c->nskip; i++)
		if (strcmp(c->skip[i].id, tape_id) == 0) {
			c->skip[i].full |= full;
			if (label && *label)
				snprintf(c->skip[i].label, sizeof(c->skip[0].label),
				    "%s", label);
			return true;
		}
	if (c->nskip == c->capskip) {
		size_t ncap = c->capskip ? c->capskip * 2 : 64;
		struct skipped *n = realloc(c->skip, ncap * sizeof(*n));
		if (!n)
			return false;
		c->skip = n;
		c->capskip = ncap;
	}
	snprintf(c->skip[c->nskip].id, sizeof(c->skip[0].id), "%s", tape_id);
	snprintf(c->skip[c->nskip].label, sizeof(c->skip[0].label), "%s",
	    label ? label : "");
	c->skip[c->nskip++].full = full;
	return true;
}

int
eng_changer_new(const struct eng_changer_opts *o, struct eng_changer **out)
{
	char err[ENG_ERRLEN];
	int rc = eng_changer_open(o, out, err);

	if (rc < 0)
		log_err("%s", err);
	return rc;
}

int
eng_changer_open(const struct eng_changer_opts *o, struct eng_changer **out,
    char *err)
{
	struct eng_changer *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c) {
		eng_err(err, "out of memory");
		return -ENOMEM;
	}
	c->o = *o;
	c->o.changer = NULL;
	snprintf(c->pool, sizeof(c->pool), "%s", o->pool ? o->pool : "default");
	c->o.pool = c->pool;
	/*
	 * A drive in a library: the changer is ours (else the operator's),
	 * unless abs-ctld's robot works it: then every mount is asked for.
	 */
	c->no_robot = o->no_robot || eng_library_no_robot();
	if (c->no_robot) {
		c->lib = NULL;
	} else if (o->changer) {
		int orc = o->drive_element < 0 ? -EINVAL :
		    tsg_changer_open(o->changer, &c->lib);
		if (orc < 0) {
			eng_err(err, "changer %s: %s", o->changer, o->drive_element < 0 ?
			    "which drive of it is this? (no drive element)" :
			    strerror(-orc));
			free(c);
			return orc;
		}
		c->drive = (unsigned)o->drive_element;
	} else if (eng_library_of(o->uri, &c->lib, &c->drive) < 0) {
		c->lib = NULL;
	}
	/*
	 * Cartridges the dump log says went bad, or filled to early warning,
	 * are never written again: the log is the record in direct mode.
	 */
	FILE *fp = o->log ? fopen(o->log, "r") : NULL;
	int rc = 0;
	if (fp) {
		struct cat_dl_rec r;
		char *line = NULL;
		size_t cap = 0;
		while (rc == 0 && getline(&line, &cap, fp) > 0)
			if (cat_dl_parse(line, &r) == 0 && r.tape_id[0] &&
			    (r.type == CAT_DL_BAD || r.type == CAT_DL_FULL) &&
			    !skip_add(c, r.tape_id, r.label,
			    r.type == CAT_DL_FULL))
				rc = -ENOMEM;
		free(line);
		fclose(fp);
	}
	if (rc < 0) {
		eng_err(err, "out of memory reading the dump log %s", o->log);
		eng_changer_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
eng_changer_free(struct eng_changer *c)
{
	if (!c)
		return;
	tsg_changer_free(c->lib);
	free(c->skip);
	free(c);
}

bool
eng_changer_is_library(const struct eng_changer *c)
{
	return c->lib != NULL;
}

void
eng_changer_skip(struct eng_changer *c, const char *tape_id)
{
	if (tape_id && *tape_id && !skip_add(c, tape_id, NULL, false))
		log_warn("out of memory: tape %s may be offered again", tape_id);
}

void
eng_changer_full(struct eng_changer *c, const char *tape_id, const char *label)
{
	if (tape_id && *tape_id && !skip_add(c, tape_id, label, true))
		log_warn("out of memory: tape %s may be offered again", tape_id);
}

bool
eng_changer_skipped(const struct eng_changer *c, const char *tape_id)
{
	for (size_t i = 0; i < c->nskip; i++)
		if (strcmp(c->skip[i].id, tape_id) == 0)
			return true;
	return false;
}

bool
eng_changer_is_full(const struct eng_changer *c, const char *tape_id)
{
	for (size_t i = 0; i < c->nskip; i++)
		if (strcmp(c->skip[i].id, tape_id) == 0)
			return c->skip[i].full;
	return false;
}

int
eng_write_label(struct tsg_dev *dev, const char *label, const char *pool,
    uint32_t block_size, struct fmt_label *l, char *err)
{
	return eng_write_label_id(dev, label, NULL, pool, block_size, l, err);
}

int
eng_write_label_id(struct tsg_dev *dev, const char *label, const char *tape_id,
    const char *pool, uint32_t block_size, struct fmt_label *l, char *err)
{
	struct tsg_status st;
	struct passwd *pw;
	char host[128] = "localhost";
	uint8_t *buf;
	int rc;

	memset(l, 0, sizeof(*l));
	/* ABS_FORMAT_VERSION=1: a cartridge engines before version 2 read
	   (its parts take full-size header and trailer blocks). */
	const char *fv = getenv("ABS_FORMAT_VERSION");
	l->version = fv && strcmp(fv, "1") == 0 ? 1 : FMT_VERSION;
	snprintf(l->label, sizeof(l->label), "%s", label);
	snprintf(l->pool, sizeof(l->pool), "%s", pool ? pool : "default");
	/* The catalog's ID; in direct mode a random 128-bit one. */
	if (tape_id && *tape_id)
		snprintf(l->tape_id, sizeof(l->tape_id), "%s", tape_id);
	else if ((rc = util_random_hex(l->tape_id, 16)) < 0) {
		eng_err(err, "no randomness for the tape ID");
		return rc;
	}
	l->block_size = block_size ? block_size : FMT_DEFAULT_BLOCK;
	util_fmt_time(clock_now(), l->labelled_at, sizeof(l->labelled_at));
	gethostname(host, sizeof(host) - 1);
	pw = getpwuid(geteuid());
	snprintf(l->labelled_by, sizeof(l->labelled_by), "%s@%s",
	    pw ? pw->pw_name : "uid", host);
	buf = calloc(1, FMT_LABEL_SIZE);
	if (!buf)
		return -ENOMEM;
	if ((rc = fmt_label_build(l, buf)) < 0) {
		eng_err(err, "label fields too long");
		free(buf);
		return rc;
	}
	rc = 0;
	if (tsg_rewind(dev, &st) || tsg_write(dev, buf, FMT_LABEL_SIZE, &st) ||
	    tsg_write_filemarks(dev, 1, false, &st)) {
		if (st.cat == TSG_CAT_DATA_PROTECT)
			eng_err(err, "cartridge is write-protected");
		else
			eng_err_st(err, "writing the label", &st);
		rc = -EIO;
	}
	free(buf);
	return rc;
}

/* Parse "PREFIX%0Nd SUFFIX" into its parts; -EINVAL otherwise. */
static int
pattern_parse(const char *pat, char *pre, size_t plen, int *width,
    const char **suf)
{
	const char *pc = strchr(pat, '%');
	const char *p;

	if (!pc || (size_t)(pc - pat) >= plen)
		return -EINVAL;
	memcpy(pre, pat, (size_t)(pc - pat));
	pre[pc - pat] = '\0';
	*width = 0;
	for (p = pc + 1; *p >= '0' && *p <= '9'; p++)
		*width = *width * 10 + (*p - '0');
	if (*p != 'd' || *width > 12 || strchr(p + 1, '%'))
		return -EINVAL;
	*suf = p + 1;
	return 0;
}

/*
 * Whether the tape read (l) is the one asked for: by tape ID when it is
 * given (unique; a tape labelled in crippled mode keeps its generated
 * label on tape after the operator gave the catalog its sticker's), else
 * by label.
 */
static bool
same_tape(const struct fmt_label *l, const char *label, const char *tape_id)
{
	if (tape_id && *tape_id)
		return strcmp(l->tape_id, tape_id) == 0;
	return strcmp(l->label, label) == 0;
}

/* Is label used in the dump log already? */
static bool
label_in_log(const char *log, const char *label)
{
	struct cat_dl_rec r;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *fp = log ? fopen(log, "r") : NULL;

	if (!fp)
		return false;
	while (!found && getline(&line, &cap, fp) > 0)
		found = cat_dl_parse(line, &r) == 0 && strcmp(r.label, label) == 0;
	free(line);
	fclose(fp);
	return found;
}

/* Is label among those handed out already (one a line in taken)? */
static bool
label_taken(FILE *taken, const char *label)
{
	char line[256];

	if (!taken)
		return false;
	rewind(taken);
	while (fgets(line, sizeof(line), taken)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, label) == 0)
			return true;
	}
	return false;
}

/*
 * LOG.labels, locked: the labels --autolabel handed out. Engines sharing
 * a dump log see each other's choices there before the log has a part on
 * the new tape (two drives labelling blank cartridges at once took the
 * same label). NULL without a log.
 */
static FILE *
labels_locked(const char *log)
{
	char path[PATH_MAX];
	FILE *fp;
	int fd;

	if (!log || snprintf(path, sizeof(path), "%s.labels", log) >=
	    (int)sizeof(path))
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0)
		return NULL;
	if (flock(fd, LOCK_EX) < 0 || !(fp = fdopen(fd, "a+"))) {
		close(fd);
		return NULL;
	}
	return fp;
}

/*
 * The label for a blank tape: a library cartridge's is its barcode less
 * the media suffix (the sticker rule); else the pattern's next unused
 * number.
 */
static int
blank_label_as(struct eng_changer *c, const char *barcode, char *out,
    size_t len, bool peek, char *err)
{
	char pre[64];
	const char *suf;
	int width, rc = -ENOSPC;
	FILE *taken;

	if (barcode && *barcode) {
		if (eng_barcode_cleaning(barcode, NULL)) {
			eng_err(err, "%s is a cleaning cartridge: never labelled",
			    barcode);
			return -EMEDIUMTYPE;
		}
		eng_barcode_label(barcode, out, len);
		return 0;
	}
	if (!c->o.autolabel) {
		eng_err(err, "a blank tape needs a label: give --autolabel PATTERN");
		return -EINVAL;
	}
	if (pattern_parse(c->o.autolabel, pre, sizeof(pre), &width, &suf) < 0) {
		eng_err(err, "--autolabel takes one %%d or %%0Nd, e.g. A%%05d");
		return -EINVAL;
	}
	taken = peek ? NULL : labels_locked(c->o.log);
	for (long n = 1; n < 1000000000L; n++) {
		int k = snprintf(out, len, "%s%0*ld%s", pre, width, n, suf);
		if (k < 0 || (size_t)k >= len) {
			eng_err(err, "--autolabel %s makes labels longer than %zu "
			    "characters", c->o.autolabel, len - 1);
			rc = -ENAMETOOLONG;
			break;
		}
		if (!label_in_log(c->o.log, out) && !label_taken(taken, out)) {
			if (taken && (fprintf(taken, "%s\n", out) < 0 ||
			    fflush(taken) != 0))
				log_warn("%s.labels: %s", c->o.log, strerror(errno));
			rc = 0;
			break;
		}
	}
	if (taken)
		fclose(taken);	/* and the lock with it */
	return rc;
}

static int
blank_label(struct eng_changer *c, const char *barcode, char *out, size_t len,
    char *err)
{
	return blank_label_as(c, barcode, out, len, false, err);
}

/*
 * Whether the dump log or this job has the cartridge of this barcode full
 * or bad, by the label the sticker rule gives it (a guess: the tape ID
 * says for sure once it is loaded).
 */
static bool
barcode_known_out(const struct eng_changer *c, const char *barcode)
{
	if (!barcode || !*barcode)
		return false;
	for (size_t i = 0; i < c->nskip; i++)
		if (c->skip[i].label[0] &&
		    eng_barcode_label_ok(barcode, c->skip[i].label))
			return true;
	return false;
}

/*
 * The order a library's slots are tried in (indices into e, in idx): the
 * full slots after start (the slot of the cartridge leaving the drive),
 * then from the first round to it, so that filling cartridge after
 * cartridge never loads the full ones before it again; cartridges known
 * full or bad (barcode_known_out) last. Returns how many.
 */
static size_t
slot_order(const struct eng_changer *c, const struct tsg_element *e, size_t n,
    unsigned start, size_t *idx)
{
	size_t k = 0;

	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < n; i++) {
			if (e[i].type != TSG_ELEM_SLOT || !e[i].full)
				continue;
			bool out = barcode_known_out(c, e[i].barcode);
			if ((pass == 0 && (out || e[i].num <= start)) ||
			    (pass == 1 && (out || e[i].num > start)) ||
			    (pass == 2 && !out))
				continue;
			idx[k++] = i;
		}
	return k;
}

/* Whether the walk below loads slot e at all. */
static bool
slot_candidate(const struct eng_changer *c, const struct tsg_element *e)
{
	return !eng_changer_skipped(c, e->barcode) &&
	    !eng_barcode_cleaning(e->barcode, NULL) && !e->tag_unreadable;
}

/*
 * Name the cartridge the next load will bring (ENG_MEDIA_NEXT), before
 * anything moves: a library's first candidate by its barcode's label, or
 * the label --autolabel gives the next blank one.
 */
static void
announce_next(struct eng_changer *c, const struct tsg_element *e,
    const size_t *idx, size_t k)
{
	char label[64] = "", where[96] = "", err[ENG_ERRLEN];

	if (!c->o.media)
		return;
	if (e) {
		for (size_t j = 0; j < k; j++) {
			const struct tsg_element *s = &e[idx[j]];
			if (!slot_candidate(c, s) || barcode_known_out(c, s->barcode))
				continue;
			if (s->barcode[0])
				eng_barcode_label(s->barcode, label, sizeof(label));
			snprintf(where, sizeof(where), "slot %u%s%s", s->num,
			    s->barcode[0] ? ", barcode " : "", s->barcode);
			break;
		}
	} else if (c->o.autolabel &&
	    blank_label_as(c, NULL, label, sizeof(label), true, err) == 0) {
		snprintf(where, sizeof(where), "a blank cartridge labelled by "
		    "--autolabel");
	}
	media(c, ENG_MEDIA_NEXT, label, where);
}

/*
 * The sticker rule for a library cartridge of this barcode: a cleaning
 * cartridge is refused; one whose tape is labelled (tape_label) otherwise
 * than its barcode says, or a blank one that would be labelled want
 * (NULL: the barcode's), too. true if it may be used; else why and *kind
 * ("cleaning", "wrong-tape") set.
 */
static bool
sticker_ok(const char *barcode, const char *tape_label, const char *want,
    char *why, const char **kind)
{
	char derived[TSG_BARCODE_LEN];

	if (!barcode || !*barcode)
		return true;	/* no tag to hold it to */
	eng_barcode_label(barcode, derived, sizeof(derived));
	if (eng_barcode_cleaning(barcode, NULL)) {
		*kind = "cleaning";
		eng_err(why, "%s is a cleaning cartridge (barcode prefix %s): "
		    "never written, labelled or read", barcode,
		    eng_clean_prefix());
		return false;
	}
	if (tape_label && !eng_barcode_label_ok(barcode, tape_label)) {
		*kind = "wrong-tape";
		eng_err(why, "wrong-tape: the cartridge of barcode %s holds tape "
		    "%s; a cartridge's tape label is its barcode (%s): relabel it "
		    "or fix its sticker", barcode, tape_label, derived);
		return false;
	}
	if (!tape_label && want && !eng_barcode_label_ok(barcode, want)) {
		*kind = "wrong-tape";
		eng_err(why, "wrong-tape: the blank cartridge of barcode %s "
		    "cannot be labelled %s (its label is its barcode, %s)",
		    barcode, want, derived);
		return false;
	}
	return true;
}

/* A cartridge the sticker rule refused: said, and told the catalog. */
static void
rejected(struct eng_changer *c, const char *label, const char *tape_id,
    const char *kind, const char *barcode, const char *tape_label,
    const char *why)
{
	const struct eng_hooks *h = c->o.hooks;

	log_warn("cartridge refused: %s", why);
	if (h && h->rejected)
		h->rejected(h->ctx, label, tape_id, kind, barcode, tape_label ?
		    tape_label : "", why);
	else if (h)
		h->event(h->ctx, "mount-rejected", NULL, label, tape_id, why);
}

/*
 * The barcode of the cartridge in the drive: what our robot loaded, or
 * what abs-ctld's says it did ("" unknown: no condition).
 */
static void
drive_barcode(struct eng_changer *c, char *buf, size_t len)
{
	const struct eng_hooks *h = c->o.hooks;

	buf[0] = '\0';
	if (c->lib && !c->loaded[0]) {
		/* Not loaded by us (there at the start): the robot knows. */
		struct tsg_element *e;
		struct tsg_status st;
		size_t n;
		if (tsg_changer_inventory(c->lib, &e, &n, &st) == 0) {
			const struct tsg_element *d = tsg_changer_element(e, n,
			    TSG_ELEM_DRIVE, c->drive);
			if (d && d->full)
				snprintf(c->loaded, sizeof(c->loaded), "%s", d->barcode);
			free(e);
		}
	}
	if (c->lib)
		snprintf(buf, len, "%s", c->loaded);
	else if (h && h->barcode)
		h->barcode(h->ctx, buf, len);
}

/*
 * Decide whether the tape in *dev can take this job's writes; label it if
 * blank. 1 accepted, 0 not (reason in why), negative on device errors.
 */
static int
consider(struct eng_changer *c, struct tsg_dev *dev, const char *barcode,
    struct fmt_label *l, char *why)
{
	struct tsg_status st;
	struct tsg_pos pos;
	const char *kind;
	bool wp = false;
	int rc;

	if (!sticker_ok(barcode, NULL, NULL, why, &kind))
		return 0;	/* a cleaning cartridge: not even read */
	if (tsg_write_protected(dev, &wp, &st) == 0 && wp) {
		eng_err(why, "write-protected");
		return 0;
	}
	rc = eng_read_label(dev, l, why);
	if (rc == -ENODATA)
		return eng_changer_label_blank(c, dev, barcode, l, why) == 0;
	if (rc < 0)
		return 0;	/* foreign or damaged: never written by us */
	if (!sticker_ok(barcode, l->label, NULL, why, &kind))
		return 0;	/* never written */
	if (eng_changer_is_full(c, l->tape_id)) {
		eng_err(why, "%s is full (the dump log says it reached early "
		    "warning)", l->label);
		return 0;
	}
	if (eng_changer_skipped(c, l->tape_id)) {
		eng_err(why, "%s is out of use or was refused in this job",
		    l->label);
		return 0;
	}
	if (strcmp(l->pool, c->o.pool ? c->o.pool : "default") != 0) {
		eng_err(why, "%s belongs to pool %s", l->label, l->pool);
		return 0;
	}
	/* Appendable only with room left before early warning. */
	if (tsg_space(dev, TSG_SPACE_EOD, 0, &st) == 0 &&
	    tsg_read_position(dev, &pos, &st) == 0 && pos.eop) {
		eng_err(why, "%s is full (beyond early warning)", l->label);
		return 0;
	}
	return 1;
}

int
eng_changer_label_blank(struct eng_changer *c, struct tsg_dev *dev,
    const char *barcode, struct fmt_label *l, char *err)
{
	char label[64], bc[TSG_BARCODE_LEN];
	int rc;

	/* The cartridge in the drive: its barcode names it, if it has one. */
	if (!barcode || !*barcode) {
		drive_barcode(c, bc, sizeof(bc));
		barcode = bc;
	}
	if ((rc = blank_label(c, barcode, label, sizeof(label), err)) < 0)
		return rc;
	if ((rc = eng_write_label(dev, label, c->o.pool, c->o.block_size, l,
	    err)) < 0)
		return rc;
	log_warn("labelled blank cartridge %s as %s (pool %s)",
	    barcode && *barcode ? barcode : "in the drive", l->label, l->pool);
	return 0;
}

/* Unload and close the tape in *dev, if any. */
static void
release(struct eng_changer *c, struct tsg_dev **dev)
{
	struct tsg_status st;

	if (*dev) {
		media(c, ENG_MEDIA_UNLOADING, c->cur, NULL);
		c->cur[0] = '\0';
		if (c->o.hooks)
			c->o.hooks->progress(c->o.hooks->ctx, 0, 0, "unloading");
		tsg_load(*dev, false, &st);
		tsg_free(*dev);
		*dev = NULL;
	}
	/* Back to the slot it came from; an empty drive is no error here. */
	if (eng_changer_is_library(c)) {
		char s[200];
		int rc = tsg_changer_unload(c->lib, c->drive, 0, &st);
		c->unload_err[0] = '\0';
		c->loaded[0] = '\0';
		if (rc == 0 || (rc == TSG_CHECK && st.asc == SMC_ASC_MEDIUM_MOVE &&
		    st.ascq == SMC_ASCQ_SOURCE_EMPTY))
			return;
		snprintf(c->unload_err, sizeof(c->unload_err), "unloading drive %u "
		    "of %s failed: %s", c->drive, tsg_changer_uri(c->lib),
		    rc == TSG_CHECK && st.asc == SMC_ASC_MEDIUM_MOVE ?
		    "no empty slot to put its cartridge in" :
		    tsg_status_str(&st, s, sizeof(s)));
		log_warn("%s", c->unload_err);
	}
}

/* " (unloading ... failed: why)" when a failed unload explains a failure. */
static const char *
unload_note(const struct eng_changer *c, char *buf, size_t len)
{
	if (!c->unload_err[0])
		return "";
	snprintf(buf, len, " (%s)", c->unload_err);
	return buf;
}

/*
 * The FIFO an operator's `abs-engine mounted` writes to, named after the
 * drive's full path (a restore names its drive so; `mounted` may be given
 * a relative one).
 */
static void
mount_fifo(const char *uri, char *buf, size_t len)
{
	const char *dir = getenv("ABS_RUN_DIR");
	char name[256], full[PATH_MAX + 64];
	size_t i;

	if (!dir)
		dir = access("/run/abs", W_OK) == 0 ? "/run/abs" : "/tmp";
	if (eng_uri_absolute(uri, full, sizeof(full)) == 0)
		uri = full;
	for (i = 0; uri[i] && i < sizeof(name) - 1; i++)
		name[i] = (uri[i] == '/' || uri[i] == ':') ? '_' : uri[i];
	name[i] = '\0';
	snprintf(buf, len, "%s/abs-engine-mount.%s", dir, name);
}

int
eng_mounted(const char *uri, char *err)
{
	char path[PATH_MAX];
	int fd;

	mount_fifo(uri, path, sizeof(path));
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		eng_err(err, "no engine is waiting for a cartridge in %s", uri);
		return -ENOENT;
	}
	if (write(fd, "m", 1) != 1) {
		close(fd);
		eng_err(err, "could not signal the engine: %s", strerror(errno));
		return -EIO;
	}
	close(fd);
	return 0;
}

/* Tell the operator what to mount and wait for Enter or `mounted`. */
static int
wait_operator(struct eng_changer *c, const char *what, char *err)
{
	char path[PATH_MAX], buf[64];
	struct pollfd pf[2];
	int fd, n = 0, rc;
	time_t deadline = time(NULL) + (c->o.mount_timeout ? c->o.mount_timeout :
	    3600);

	mount_fifo(c->o.uri, path, sizeof(path));
	unlink(path);
	if (mkfifo(path, 0660) < 0) {
		eng_err(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		unlink(path);
		eng_err(err, "%s: %s", path, strerror(-rc));
		return rc;
	}
	log_warn("MOUNT REQUEST: put %s in %s, then press "
	    "Enter or run: abs-engine mounted --device %s", what, c->o.uri,
	    c->o.uri);
	pf[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (isatty(0))
		pf[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
	rc = -ETIMEDOUT;
	for (;;) {
		time_t left = deadline - time(NULL);
		if (left <= 0)
			break;
		int r = poll(pf, (nfds_t)n, (int)(left > 60 ? 60000 : left * 1000));
		if (r < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (r > 0) {
			for (int i = 0; i < n; i++)
				if (pf[i].revents & POLLIN &&
				    read(pf[i].fd, buf, sizeof(buf)) < 0)
					(void)0;
			rc = 0;
			break;
		}
	}
	close(fd);
	unlink(path);
	if (rc == -ETIMEDOUT)
		eng_err(err, "nobody mounted %s in %s within %u s", what, c->o.uri,
		    c->o.mount_timeout ? c->o.mount_timeout : 3600);
	return rc;
}

/* Open the drive after a mount; NOT READY means nothing is in it yet. */
static int
open_drive(struct eng_changer *c, struct tsg_dev **dev, char *err)
{
	return eng_open(c->o.uri, dev, err);
}

/* A refused move as a negative errno, for callers that only branch on it. */
static int
move_errno(int rc, const struct tsg_status *st)
{
	if (rc <= 0)
		return rc;
	if (st->cat != TSG_CAT_ILLEGAL_REQUEST)
		return -EIO;
	if (st->asc == SMC_ASC_MEDIUM_MOVE)
		return st->ascq == SMC_ASCQ_SOURCE_EMPTY ? -ENOENT : -EEXIST;
	if (st->asc == SMC_ASC_INVALID_ELEMENT)
		return -ERANGE;
	return st->asc == SMC_ASC_REMOVAL_PREVENTED ? -EBUSY : -EIO;
}

/* The library's elements now; 0, or negative with err set. */
static int
inventory(struct eng_changer *c, struct tsg_element **e, size_t *n, char *err)
{
	struct tsg_status st;
	int rc = tsg_changer_inventory(c->lib, e, n, &st);

	if (rc == 0)
		return 0;
	eng_err_st(err, tsg_changer_uri(c->lib), &st);
	return rc < 0 ? rc : -EIO;
}

/* Load slot's cartridge (of that barcode) into our drive; 0 or -errno. */
static int
load_slot(struct eng_changer *c, unsigned slot, const char *barcode)
{
	struct tsg_status st;
	int rc = move_errno(tsg_changer_load(c->lib, slot, c->drive, &st), &st);

	if (rc == 0)
		snprintf(c->loaded, sizeof(c->loaded), "%s", barcode);
	return rc;
}

/*
 * Library: the cartridge whose barcode is label is in our drive already
 * (the last job's, left there): open the drive as it is, no trip to its
 * slot and back (a robot move, an unload and a load: seconds to minutes
 * on a real library). False if another cartridge or none is there, or the
 * drive does not open; the caller then unloads and loads as before.
 */
static bool
keep_loaded(struct eng_changer *c, const char *label, struct tsg_dev **dev)
{
	char why[ENG_ERRLEN];
	struct tsg_element *e;
	size_t n;
	bool same;

	if (*dev || !eng_changer_is_library(c) || inventory(c, &e, &n, why) < 0)
		return false;
	const struct tsg_element *d = tsg_changer_element(e, n, TSG_ELEM_DRIVE,
	    c->drive);
	same = d && d->full && d->barcode[0] &&
	    eng_barcode_label_ok(d->barcode, label) &&
	    !eng_barcode_cleaning(d->barcode, NULL);
	if (same)
		snprintf(c->loaded, sizeof(c->loaded), "%s", d->barcode);
	free(e);
	return same && open_drive(c, dev, why) == 0;
}

/* Library: load the cartridge whose barcode is label and open the drive. */
static int
load_barcode(struct eng_changer *c, const char *label, struct tsg_dev **dev,
    char *why)
{
	struct tsg_element *e;
	size_t n;
	int rc;

	if ((rc = inventory(c, &e, &n, why)) < 0)
		return rc;
	/* The sticker names the cartridge: label, or label + media suffix. */
	for (size_t i = 0; i < n; i++) {
		if (e[i].type != TSG_ELEM_SLOT || !e[i].full || !e[i].barcode[0] ||
		    !eng_barcode_label_ok(e[i].barcode, label) ||
		    eng_barcode_cleaning(e[i].barcode, NULL))
			continue;
		rc = load_slot(c, e[i].num, e[i].barcode);
		free(e);
		if (rc < 0)
			return rc;
		return open_drive(c, dev, why);
	}
	free(e);
	char note[ENG_ERRLEN];
	eng_err(why, "cartridge %s is not in library %s%s", label,
	    tsg_changer_uri(c->lib), unload_note(c, note, sizeof(note)));
	return -ENOENT;
}

/* Why the labelled tape l is not the one asked for (label, tape_id). */
static void
not_asked(char *why, const struct fmt_label *l, const char *label,
    const char *tape_id)
{
	if (strcmp(l->label, label) == 0)
		eng_err(why, "the cartridge is labelled %s, but its tape ID is %s, "
		    "not %s: a different cartridge carrying the same label "
		    "(relabelled, or a second sticker)", label, l->tape_id,
		    tape_id ? tape_id : "-");
	else
		eng_err(why, "wrong cartridge: %s (ID %s) is in the drive, %s was "
		    "asked for", l->label, l->tape_id, label);
}

/*
 * Media-server mode: the catalog names the tape, the operator (or the
 * library) puts it in, and it is written only if it is that tape, or blank
 * and known to the catalog as never written. Anything else is refused and
 * asked for again; a tape reported unavailable makes the catalog choose
 * another.
 */
static int
catalog_next_writable(struct eng_changer *c, struct tsg_dev **dev,
    struct fmt_label *l, char *err)
{
	const struct eng_hooks *h = c->o.hooks;
	char label[64], tape_id[64], why[ENG_ERRLEN];
	bool blank, recycle;
	int rc;

	for (int picks = 0; picks < 100; picks++) {
		if ((rc = h->next_tape(h->ctx, c->o.pool, label, sizeof(label),
		    tape_id, sizeof(tape_id), &blank, &recycle, err)) < 0)
			return rc;
		media(c, ENG_MEDIA_NEXT, label, "the catalog");
		for (int tries = 0; tries < 100; tries++) {
			/* In the drive already: read and checked as if loaded. */
			bool kept = tries == 0 && keep_loaded(c, label, dev);
			if (!kept)
				release(c, dev);
			if (!kept && eng_changer_is_library(c)) {
				if ((rc = load_barcode(c, label, dev, why)) < 0) {
					/* Not in the library: the catalog picks another. */
					log_warn("%s", why);
					h->event(h->ctx, "unavailable", NULL, label, tape_id, why);
					break;
				}
			} else if (!kept) {
				log_warn("MOUNT REQUEST: put %s in %s (abs-ctl mounted)",
				    label, c->o.uri);
				if ((rc = h->mount(h->ctx, label, err)) < 0)
					return rc;
				if (rc == 1)
					break;	/* unavailable: the catalog picks again */
				if (open_drive(c, dev, why) < 0) {
					h->event(h->ctx, "mount-rejected", NULL, label, tape_id,
					    why);
					if (c->no_robot) {
						/* The robot would bring the same: another. */
						h->event(h->ctx, "unavailable", NULL, label,
						    tape_id, why);
						break;
					}
					continue;
				}
			}
			bool wp = false;
			struct tsg_status st;
			char bc[TSG_BARCODE_LEN];
			const char *kind = NULL;
			/* The sticker rule: a cleaning cartridge is not even read. */
			drive_barcode(c, bc, sizeof(bc));
			bool ok = sticker_ok(bc, NULL, NULL, why, &kind);
			const char *tl = "";	/* the tape's label, for the report */
			rc = ok ? eng_read_label(*dev, l, why) : -EMEDIUMTYPE;
			if (ok && !sticker_ok(bc, rc == 0 ? l->label : NULL,
			    rc == -ENODATA ? label : NULL, why, &kind)) {
				ok = false;
				tl = rc == 0 ? l->label : "";
			}
			if (!ok) {
				rejected(c, label, tape_id, kind, bc, tl, why);
				if (eng_changer_is_library(c)) {
					release(c, dev);
					h->event(h->ctx, "unavailable", NULL, label, tape_id,
					    why);
					break;
				}
				/* abs-ctld's robot: it marks the cartridge and the
				   catalog picks again; an operator mounts another. */
				if (c->no_robot) {
					release(c, dev);
					break;
				}
				continue;
			}
			if (tsg_write_protected(*dev, &wp, &st) == 0 && wp) {
				eng_err(why, "the cartridge is write-protected");
			} else if (rc == 0 && same_tape(l, label, tape_id)) {
				if (recycle) {
					/* Same label and ID; everything after it goes. */
					if ((rc = eng_write_label_id(*dev, label, tape_id,
					    c->o.pool, c->o.block_size, l, err)) < 0)
						return rc;
					h->event(h->ctx, "tape-recycled", NULL, label, tape_id,
					    NULL);
				}
				h->event(h->ctx, "loaded", NULL, label, tape_id, NULL);
				media(c, ENG_MEDIA_LOADED, label, "the catalog");
				return 0;
			} else if (rc == 0) {
				not_asked(why, l, label, tape_id);
			} else if (rc == -ENODATA && blank) {
				if ((rc = eng_write_label_id(*dev, label, tape_id, c->o.pool,
				    c->o.block_size, l, why)) == 0) {
					h->event(h->ctx, "tape-labelled", NULL, label, tape_id,
					    NULL);
					h->event(h->ctx, "loaded", NULL, label, tape_id, NULL);
					media(c, ENG_MEDIA_LOADED, label, "the catalog");
					return 0;
				}
			} else if (rc == -ENODATA) {
				eng_err(why, "the cartridge is blank, but the catalog "
				    "has %s (ID %s) written: this is not %s, or it was "
				    "erased", label, tape_id, label);
			}
			log_warn("cartridge refused: %s", why);
			h->event(h->ctx, "mount-rejected", NULL, label, tape_id, why);
			/*
			 * A robot (ours, or abs-ctld's, which would load the same
			 * cartridge again: hostile14 K7) puts no other one in:
			 * the catalog chooses another, this one unavailable.
			 */
			if (eng_changer_is_library(c) || c->no_robot) {
				/* Nobody can put another one in: choose another. */
				release(c, dev);
				h->event(h->ctx, "unavailable", NULL, label, tape_id, why);
				break;
			}
		}
	}
	eng_err(err, "no acceptable cartridge was mounted");
	return -ENOSPC;
}

int
eng_changer_next_writable(struct eng_changer *c, struct tsg_dev **dev,
    struct fmt_label *l, char *err)
{
	char why[ENG_ERRLEN];
	int rc;

	if (*dev && !c->cur[0])
		snprintf(c->cur, sizeof(c->cur), "%s", l->label);
	if (c->o.hooks)
		return catalog_next_writable(c, dev, l, err);
	if (!eng_changer_is_library(c)) {
		char what[256];
		announce_next(c, NULL, NULL, 0);
		release(c, dev);
		snprintf(what, sizeof(what), "a writable cartridge (appendable, "
		    "pool %s, or blank%s)", c->o.pool ? c->o.pool : "default",
		    c->o.autolabel ? "" : " with --autolabel");
		for (int tries = 0; tries < 100; tries++) {
			media(c, ENG_MEDIA_LOADING, "", "the operator");
			if ((rc = wait_operator(c, what, err)) < 0)
				return rc;
			if (open_drive(c, dev, why) < 0) {
				log_warn("%s", why);
				continue;
			}
			rc = consider(c, *dev, NULL, l, why);
			if (rc == 1) {
				media(c, ENG_MEDIA_LOADED, l->label, "the operator");
				return 0;
			}
			log_warn("cartridge refused: %s", why);
			release(c, dev);
		}
		eng_err(err, "no acceptable cartridge was mounted");
		return -ENOSPC;
	}
	struct tsg_element *e;
	size_t n, k, *idx;
	if ((rc = inventory(c, &e, &n, err)) < 0)
		return rc;
	if (!(idx = calloc(n + 1, sizeof(*idx)))) {
		free(e);
		eng_err(err, "out of memory");
		return -ENOMEM;
	}
	/* From the slot of the cartridge in the drive (it goes back there). */
	const struct tsg_element *d = tsg_changer_element(e, n, TSG_ELEM_DRIVE,
	    c->drive);
	unsigned start = d && d->full && d->source ? d->source : c->last_slot;
	k = slot_order(c, e, n, start, idx);
	announce_next(c, e, idx, k);
	release(c, dev);
	/* Each cartridge goes back to its slot when refused: e stays true. */
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];
		const char *bc = e[i].barcode;
		char where[96], want[64] = "";
		if (eng_changer_skipped(c, bc))
			continue;
		/* Never loaded to be written: cleaning cartridges, and ones
		   whose barcode the robot could not read (the rule unchecked). */
		if (eng_barcode_cleaning(bc, NULL))
			continue;
		if (e[i].tag_unreadable) {
			log_warn("slot %u: the robot cannot read the cartridge's "
			    "barcode: not written", e[i].num);
			continue;
		}
		snprintf(where, sizeof(where), "slot %u", e[i].num);
		if (bc[0])
			eng_barcode_label(bc, want, sizeof(want));
		media(c, ENG_MEDIA_LOADING, want, where);
		if (load_slot(c, e[i].num, bc) < 0)
			continue;
		c->last_slot = e[i].num;
		if (open_drive(c, dev, why) == 0) {
			rc = consider(c, *dev, bc, l, why);
			if (rc == 1) {
				log_warn("changer loaded %s (label %s) "
				    "from slot %u into drive %u", bc, l->label, e[i].num,
				    c->drive);
				media(c, ENG_MEDIA_LOADED, l->label, where);
				free(idx);
				free(e);
				return 0;
			}
			log_warn("cartridge %s (slot %u) refused: %s", bc, e[i].num,
			    why);
		}
		eng_changer_skip(c, bc);
		release(c, dev);
	}
	free(idx);
	free(e);
	eng_err(err, "no writable cartridge left in library %s (pool %s)%s",
	    tsg_changer_uri(c->lib), c->o.pool ? c->o.pool : "default",
	    unload_note(c, why, sizeof(why)));
	return -ENOSPC;
}

int
eng_changer_load_next(struct eng_changer *c, int slot, struct tsg_dev **dev,
    struct fmt_label *l, char *err)
{
	struct tsg_element *e;
	size_t n;
	int rc;

	if (!eng_changer_is_library(c))
		return -ENOTSUP;
	if ((rc = inventory(c, &e, &n, err)) < 0)
		return rc;
	const struct tsg_element *se = slot >= 0 ? tsg_changer_element(e, n,
	    TSG_ELEM_SLOT, (unsigned)slot + 1) : NULL;
	char bc[TSG_BARCODE_LEN];
	snprintf(bc, sizeof(bc), "%s", se ? se->barcode : "");
	free(e);
	if (!se)
		return -ERANGE;
	if (eng_barcode_cleaning(bc, NULL)) {
		eng_err(err, "slot %d holds cleaning cartridge %s: not loaded",
		    slot + 1, bc);
		return -EMEDIUMTYPE;
	}
	release(c, dev);
	if ((rc = load_slot(c, (unsigned)slot + 1, bc)) < 0) {
		if (c->unload_err[0])
			eng_err(err, "%s", c->unload_err);
		return rc;
	}
	if ((rc = open_drive(c, dev, err)) < 0 ||
	    (rc = eng_read_label(*dev, l, err)) < 0)
		return rc;
	return 0;
}

int
eng_changer_mount(struct eng_changer *c, const char *label, const char *tape_id,
    struct tsg_dev **dev, struct fmt_label *l, char *err)
{
	char why[ENG_ERRLEN];
	struct tsg_element *e;
	size_t n;
	int rc;

	/* Already in the drive? (Open, or left in the library's drive.) */
	if ((*dev || keep_loaded(c, label, dev)) && eng_read_label(*dev, l,
	    why) == 0 && same_tape(l, label, tape_id))
		return 0;
	release(c, dev);
	if (!eng_changer_is_library(c)) {
		char what[256];
		snprintf(what, sizeof(what), "cartridge %s", label);
		for (int tries = 0; tries < 100; tries++) {
			if (c->o.hooks) {
				rc = c->o.hooks->mount(c->o.hooks->ctx, label, err);
				if (rc == 1) {
					eng_err(err, "cartridge %s is unavailable", label);
					return -ENOENT;
				}
			} else {
				rc = wait_operator(c, what, err);
			}
			if (rc < 0)
				return rc;
			char bc[TSG_BARCODE_LEN];
			const char *kind = NULL;
			drive_barcode(c, bc, sizeof(bc));
			if (!sticker_ok(bc, NULL, NULL, why, &kind)) {
				/* A cleaning cartridge: not read. abs-ctld's robot
				   loaded it: unavailable; an operator: asked again. */
				rejected(c, label, tape_id, kind, bc, "", why);
				if (c->no_robot) {
					eng_err(err, "cartridge %s is unavailable: %s", label,
					    why);
					return -ENOENT;
				}
				continue;
			}
			if (open_drive(c, dev, why) == 0 &&
			    eng_read_label(*dev, l, why) == 0) {
				if (same_tape(l, label, tape_id)) {
					/* Read all the same: the tape says who it is. */
					if (!sticker_ok(bc, l->label, NULL, why, &kind))
						log_warn("%s (read all the same: it is the "
						    "tape asked for)", why);
					if (c->o.hooks)
						c->o.hooks->event(c->o.hooks->ctx, "loaded",
						    NULL, label, tape_id, NULL);
					return 0;
				}
				not_asked(why, l, label, tape_id);
			}
			log_warn("cartridge refused: %s", why);
			if (c->o.hooks)
				c->o.hooks->event(c->o.hooks->ctx, "mount-rejected", NULL,
				    label, tape_id, why);
			release(c, dev);
			if (c->no_robot) {
				/* abs-ctld's robot would bring the same again (K7). */
				eng_err(err, "cartridge %s is unavailable: %s", label, why);
				return -ENOENT;
			}
		}
		eng_err(err, "cartridge %s was not mounted", label);
		return -ENOENT;
	}
	if ((rc = inventory(c, &e, &n, err)) < 0)
		return rc;
	/*
	 * The cartridge whose barcode names the label first, then every
	 * other one (never a cleaning cartridge): a tape found by its label
	 * under another sticker is read (the tape says who it is), and the
	 * sticker reported.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const char *bc = e[i].barcode;
			bool named = bc[0] && eng_barcode_label_ok(bc, label);
			if (e[i].type != TSG_ELEM_SLOT || !e[i].full ||
			    named != (pass == 0) || eng_barcode_cleaning(bc, NULL))
				continue;
			if (load_slot(c, e[i].num, bc) < 0)
				continue;
			if (open_drive(c, dev, why) == 0 &&
			    eng_read_label(*dev, l, why) == 0 &&
			    same_tape(l, label, tape_id)) {
				const char *kind;
				if (!sticker_ok(bc, l->label, NULL, why, &kind))
					log_warn("%s (slot %u; read all the same: it is "
					    "the tape asked for)", why, e[i].num);
				free(e);
				return 0;
			}
			release(c, dev);
		}
	}
	free(e);
	eng_err(err, "cartridge %s is not in library %s%s", label,
	    tsg_changer_uri(c->lib), unload_note(c, why, sizeof(why)));
	return -ENOENT;
}
