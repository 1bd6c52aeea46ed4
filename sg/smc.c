/*
 * The changer API's SCSI backend: smc:TRANSPORT-URI, an SMC-3 medium
 * changer over any tsg transport (smc:sg:/dev/sgN, smc:iscsi://...,
 * smc:vtape:LIBDIR: the vtape library answers the same CDBs).
 *
 * At open: INQUIRY (peripheral type 08h, else refused naming the type),
 * the unit serial, TEST UNIT READY, MODE SENSE page 1Dh (element addresses
 * and counts) and 1Fh (capabilities), and one READ ELEMENT STATUS of a
 * single element to learn what the changer accepts. Element status is
 * read per type in bounded chunks; a refused call is asked again with a
 * smaller allocation, then without DVCID, then without volume tags, and
 * the step that worked is kept. A changer may answer fewer elements than
 * asked (tgt answers all from the first address, cut at the allocation
 * length, always 8 bytes short): the next chunk starts after the last
 * element decoded whole. Elements are numbered by address order within
 * their type (slots and portals from 1, drives and the robot from 0, as
 * mtx does). NOT READY 04/01 (becoming ready) is waited out up to a bound;
 * a UNIT ATTENTION is retried once by tsg_exec and remembered for
 * tsg_changer_attention() (but for the 29h a new session's first command
 * hears of its own login). Every command has its changer timeout
 * (SMC_TIMEOUT_*), never a tape opcode's. The device is open only while an
 * operation runs (dev_get): one user at a time, and whoever keeps the
 * changer API open (an engine, for a whole job) keeps no one from the robot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <scsi/sg_lib.h>

#include "sg/smc.h"
#include "sg/smc_parse.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"

/* Elements asked per READ ELEMENT STATUS: some changers take no more. */
#define RES_CHUNK 128
/* Room per descriptor: 12 fixed, two 36-byte tags, an identifier. */
#define RES_DESC_ROOM (12 + 2 * 36 + 4 + 64)
#define RES_SMALL_ALLOC 4096
/* Seconds to wait for a changer that is becoming ready (04/01). */
#define SMC_READY_WAIT_S 120
/* Seconds to wait for a changer another process has open. */
#define SMC_OPEN_WAIT_S 60

/* What READ ELEMENT STATUS asks, from the fullest down (see above). */
enum res_step { RES_FULL, RES_SMALL, RES_NO_DVCID, RES_NO_TAGS, RES_STEPS };

struct smc {
	char *inner;		/* the device's URI */
	struct tsg_dev *d;	/* open during an operation only (dev_get) */
	bool fresh;		/* no command sent since it was opened */
	struct tsg_changer_info info;
	struct smc_addr_assign aa;
	struct smc_caps caps;
	bool have_caps;
	enum res_step step;
	bool attention;
	/* Each type's element addresses in number order, once read. */
	uint16_t *addrs[5];
	size_t naddrs[5];
};

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Sleep ms milliseconds. */
static void
nap(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * One changer command with its timeout: becoming ready waited out, a unit
 * attention (already retried by tsg_exec) remembered.
 */
static int
smc_cmd(struct smc *s, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, unsigned timeout_ms, struct tsg_status *st)
{
	time_t until = time(NULL) + SMC_READY_WAIT_S;
	bool first = s->fresh;
	int rc, ua = 0;

	s->fresh = false;
	for (;;) {
		s->d->timeout_ms = timeout_ms;
		rc = tsg_exec(s->d, cdb, cdblen, dir, buf, len, st);
		s->d->timeout_ms = 0;
		/*
		 * A new session's first command hears of its own login (29h:
		 * power on, reset, I_T nexus loss): not news of the library.
		 */
		if (s->d->attention) {
			if (!(first && s->d->ua_asc == 0x29))
				s->attention = true;
			s->d->attention = false;
		}
		if (rc == TSG_CHECK && st->cat == TSG_CAT_NOT_READY &&
		    st->asc == 0x04 && st->ascq == 0x01 && time(NULL) < until) {
			nap(1000);
			continue;
		}
		/* Several conditions queued (reset, then mode change): each once. */
		if (rc == TSG_CHECK && st->cat == TSG_CAT_UNIT_ATTENTION && ua++ < 2)
			continue;
		return rc;
	}
}

/*
 * The changer's device, opened if it is not: a process that has the
 * changer open (an engine for a whole job) holds the device only while an
 * operation runs, so that other engines and abs-ctld's robot get their
 * turn. Another user's operation is waited for up to SMC_OPEN_WAIT_S.
 * why (TSG_WHY_LEN, or NULL) and st say why it failed.
 */
static int
dev_get(struct smc *s, char *why, struct tsg_status *st)
{
	time_t until = time(NULL) + SMC_OPEN_WAIT_S;
	char w[TSG_WHY_LEN] = "";
	int rc;

	if (s->d)
		return 0;
	while ((rc = tsg_open_changer(s->inner, &s->d, w)) == -EBUSY &&
	    time(NULL) < until)
		nap(200);
	if (rc < 0) {
		if (!w[0])
			snprintf(w, sizeof(w), "%s: %s", s->inner, strerror(-rc));
		if (why)
			snprintf(why, TSG_WHY_LEN, "%s", w);
		tsg_transport_status(st, rc);
		snprintf(st->note, sizeof(st->note), "%.255s", w);
		return rc;
	}
	s->fresh = true;
	return 0;
}

/* The operation is over: the device goes back to whoever waits for it. */
static void
dev_put(struct smc *s)
{
	tsg_free(s->d);
	s->d = NULL;
}

/* The element type codes of the API and of SMC are the same numbers. */
static bool
type_ok(unsigned t)
{
	return t >= SMC_ELEM_TRANSPORT && t <= SMC_ELEM_DATA_TRANSFER;
}

/* The first number of a type: slots and portals 1, drives and robot 0. */
static unsigned
base_of(unsigned t)
{
	return t == SMC_ELEM_STORAGE || t == SMC_ELEM_IMPORT_EXPORT ? 1 : 0;
}

/*
 * One READ ELEMENT STATUS of type from addr, up to count elements, at the
 * current step; a refusal steps down (kept for later calls) and asks
 * again. Volume tags whenever the step allows them (tgt cuts the last 8
 * bytes of an answer: a 16-byte descriptor without tags would be lost, a
 * tagged one keeps its address and tag); identifiers only if want_dvcid.
 * The answer's bytes in buf, *got of them; *voltag, *dvcid: what was asked.
 */
static int
res_call(struct smc *s, unsigned type, unsigned addr, unsigned count,
    bool want_dvcid, uint8_t *buf, size_t cap, size_t *got, bool *voltag,
    bool *dvcid, struct tsg_status *st)
{
	for (;;) {
		size_t alloc = 16 + (size_t)count * RES_DESC_ROOM;
		uint8_t cdb[SMC_READ_ELEMENT_STATUS_CMDLEN] = {
		    SMC_READ_ELEMENT_STATUS_CMD };
		int rc;

		*voltag = s->step < RES_NO_TAGS;
		*dvcid = want_dvcid && s->step < RES_NO_DVCID;
		if (s->step >= RES_SMALL && alloc > RES_SMALL_ALLOC)
			alloc = RES_SMALL_ALLOC;
		if (alloc > cap)
			alloc = cap;
		cdb[1] = (uint8_t)((*voltag ? SMC_RES_VOLTAG : 0) | type);
		put16(cdb + 2, addr);
		put16(cdb + 4, count);
		cdb[6] = *dvcid ? SMC_RES_DVCID : 0;
		cdb[7] = (uint8_t)(alloc >> 16);
		cdb[8] = (uint8_t)(alloc >> 8);
		cdb[9] = (uint8_t)alloc;
		memset(buf, 0, alloc);
		rc = smc_cmd(s, cdb, sizeof(cdb), TSG_DIR_FROM_DEV, buf, alloc,
		    SMC_TIMEOUT_MS, st);
		if (rc == 0) {
			*got = st->xfer <= alloc ? st->xfer : alloc;
			return 0;
		}
		/* Refused: ask for less, if there is less to ask for. */
		if (rc != TSG_CHECK || (st->cat != TSG_CAT_ILLEGAL_REQUEST &&
		    st->cat != TSG_CAT_HARDWARE_ERROR) || s->step + 1 >= RES_STEPS)
			return rc;
		s->step++;
		/* Without identifiers asked, dropping them changes nothing. */
		if (!want_dvcid && s->step == RES_NO_DVCID)
			s->step = RES_NO_TAGS;
	}
}

/*
 * Every element of type, in address order: *out malloc'd, *n of them.
 * The changer's count from page 1Dh bounds the calls; a changer that has
 * fewer, or answers fewer, ends the reading early. want_dvcid: the drives'
 * identifiers too (an inventory), else addresses and state (a map).
 */
static int
read_type(struct smc *s, unsigned type, bool want_dvcid, struct smc_desc **out,
    size_t *n, struct tsg_status *st)
{
	size_t want = s->aa.count[type], have = 0, cap;
	unsigned next = s->aa.first[type];
	long retried = -1;	/* a cut last element asked again, at this address */
	struct smc_desc *all, *chunk;
	uint8_t *buf;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!want)
		return 0;
	cap = 16 + (size_t)RES_CHUNK * RES_DESC_ROOM;
	all = calloc(want, sizeof(*all));
	chunk = calloc(RES_CHUNK, sizeof(*chunk));
	buf = malloc(cap);
	if (!all || !chunk || !buf) {
		rc = tsg_transport_status(st, -ENOMEM);
		goto out;
	}
	for (size_t calls = 0; have < want && calls < want + 8; calls++) {
		unsigned ask = want - have < RES_CHUNK ? (unsigned)(want - have) :
		    RES_CHUNK;
		struct smc_res_info ri;
		size_t got = 0, k, taken = 0;
		bool voltag, dvcid, dropped = false;

		if ((rc = res_call(s, type, next, ask, want_dvcid, buf, cap, &got,
		    &voltag, &dvcid, st)) != 0)
			goto out;
		if (smc_parse_element_status(buf, got, dvcid, chunk, ask, &k,
		    &ri) < 0)
			break;	/* not even a header: nothing more to learn */
		for (size_t i = 0; i < k && have < want; i++) {
			struct smc_desc *e = &chunk[i];
			bool lacks = e->partial && ((voltag && !e->pvoltag) ||
			    e->ident_cut);
			if (e->type != type || e->addr < next)
				continue;
			/*
			 * A last element the answer cut: asked again from it,
			 * once; a changer that cuts it every time (tgt) is
			 * taken at its word for what was there.
			 */
			if (lacks && retried != (long)e->addr) {
				retried = e->addr;
				next = e->addr;
				dropped = true;
				break;
			}
			if (!voltag)
				e->pvoltag = false;
			all[have++] = *e;
			next = e->addr + 1u;
			taken++;
		}
		if (!taken && !dropped)
			break;	/* the changer has no more to say */
		if (next > 0xffff)
			break;
	}
	*out = all;
	*n = have;
	all = NULL;
out:
	free(all);
	free(chunk);
	free(buf);
	return rc;
}

/* Remember type's addresses in number order (descs are in address order). */
static int
keep_addrs(struct smc *s, unsigned type, const struct smc_desc *d, size_t n)
{
	uint16_t *a = n ? malloc(n * sizeof(*a)) : NULL;

	if (n && !a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		a[i] = d[i].addr;
	free(s->addrs[type]);
	s->addrs[type] = a;
	s->naddrs[type] = n;
	return 0;
}

/* The address of element (type, num): 0 and *addr, else TSG_CHECK 21/01. */
static int
addr_of(struct smc *s, unsigned type, unsigned num, unsigned *addr,
    struct tsg_status *st)
{
	unsigned base = base_of(type);

	if (!type_ok(type))
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
	if (!s->addrs[type] && s->aa.count[type]) {
		struct smc_desc *d;
		size_t n;
		int rc = read_type(s, type, false, &d, &n, st);
		if (rc)
			return rc;
		rc = keep_addrs(s, type, d, n);
		free(d);
		if (rc < 0)
			return tsg_transport_status(st, rc);
	}
	if (num < base || num - base >= s->naddrs[type]) {
		static const char *names[] = { "", "robot", "slot", "portal",
		    "drive" };
		tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		/* Which numbers there are, in the API's numbering. */
		if (!s->naddrs[type])
			snprintf(st->note, sizeof(st->note), "the changer has no %s",
			    names[type]);
		else
			snprintf(st->note, sizeof(st->note), "no %s %u: %ss are "
			    "%u to %zu", names[type], num, names[type], base,
			    base + s->naddrs[type] - 1);
		return TSG_CHECK;
	}
	*addr = s->addrs[type][num - base];
	return 0;
}

/* The number of the element at addr if it is a slot, else 0. */
static unsigned
slot_num(const struct smc *s, unsigned addr)
{
	for (size_t i = 0; i < s->naddrs[SMC_ELEM_STORAGE]; i++)
		if (s->addrs[SMC_ELEM_STORAGE][i] == addr)
			return (unsigned)i + 1;
	return 0;
}

/* The API's element from a descriptor numbered num. */
static void
element_of(const struct smc *s, const struct smc_desc *d, unsigned num,
    struct tsg_element *e)
{
	memset(e, 0, sizeof(*e));
	e->type = (enum tsg_elem_type)d->type;
	e->num = num;
	e->addr = d->addr;
	e->full = d->flags & SMC_ED_FULL;
	if (e->full && d->pvoltag) {
		snprintf(e->barcode, sizeof(e->barcode), "%s", d->ptag);
		e->tag_unreadable = !d->ptag[0];
	}
	if (e->full && d->svalid)
		e->source = slot_num(s, d->source);
	e->except = d->flags & SMC_ED_EXCEPT;
	e->asc = d->asc;
	e->ascq = d->ascq;
	e->access = d->flags & SMC_ED_ACCESS;
	e->impexp = d->type == SMC_ELEM_IMPORT_EXPORT && (d->flags & 0x02);
	if (d->type == SMC_ELEM_DATA_TRANSFER && d->has_ident)
		snprintf(e->ident, sizeof(e->ident), "%s", d->ident);
}

int
smc_changer_inventory(struct tsg_changer *c, struct tsg_element **elems, size_t *n,
    struct tsg_status *st)
{
	static const unsigned order[] = { SMC_ELEM_TRANSPORT, SMC_ELEM_STORAGE,
	    SMC_ELEM_IMPORT_EXPORT, SMC_ELEM_DATA_TRANSFER };
	struct smc *s = c->priv;
	struct smc_desc *d[5] = { NULL };
	size_t nd[5] = { 0 }, total = 0, k = 0;
	struct tsg_element *e = NULL;
	int rc;

	if ((rc = dev_get(s, NULL, st)) < 0)
		return rc;
	for (size_t i = 0; i < 4; i++) {
		unsigned t = order[i];
		if ((rc = read_type(s, t, true, &d[t], &nd[t], st)) != 0)
			goto out;
		if ((rc = keep_addrs(s, t, d[t], nd[t])) < 0) {
			rc = tsg_transport_status(st, rc);
			goto out;
		}
		total += nd[t];
	}
	if (!(e = calloc(total ? total : 1, sizeof(*e)))) {
		rc = tsg_transport_status(st, -ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		unsigned t = order[i];
		for (size_t j = 0; j < nd[t]; j++)
			element_of(s, &d[t][j], base_of(t) + (unsigned)j, &e[k++]);
	}
	*elems = e;
	*n = k;
	e = NULL;
out:
	dev_put(s);
	free(e);
	for (unsigned t = 0; t < 5; t++)
		free(d[t]);
	return rc;
}

int
smc_changer_move(struct tsg_changer *c, enum tsg_elem_type from_type, unsigned from,
    enum tsg_elem_type to_type, unsigned to, struct tsg_status *st)
{
	struct smc *s = c->priv;
	uint8_t cdb[SMC_MOVE_MEDIUM_CMDLEN] = { SMC_MOVE_MEDIUM_CMD };
	unsigned src, dst;
	int rc;

	if ((rc = dev_get(s, NULL, st)) < 0)
		return rc;
	if ((rc = addr_of(s, from_type, from, &src, st)) == 0 &&
	    (rc = addr_of(s, to_type, to, &dst, st)) == 0) {
		/* The first robot moves it (0 would let the changer pick). */
		put16(cdb + 2, s->aa.count[SMC_ELEM_TRANSPORT] ?
		    s->aa.first[SMC_ELEM_TRANSPORT] : 0);
		put16(cdb + 4, src);
		put16(cdb + 6, dst);
		rc = smc_cmd(s, cdb, sizeof(cdb), TSG_DIR_NONE, NULL, 0,
		    SMC_TIMEOUT_MOVE_MS, st);
	}
	dev_put(s);
	return rc;
}

int
smc_changer_info(struct tsg_changer *c, struct tsg_changer_info *info,
    struct tsg_status *st)
{
	struct smc *s = c->priv;

	(void)st;
	*info = s->info;
	return 0;
}

int
smc_changer_scan(struct tsg_changer *c, struct tsg_status *st)
{
	struct smc *s = c->priv;
	uint8_t cdb[SMC_INIT_ELEMENT_STATUS_CMDLEN] = {
	    SMC_INIT_ELEMENT_STATUS_CMD };
	int rc;

	if ((rc = dev_get(s, NULL, st)) < 0)
		return rc;
	rc = smc_cmd(s, cdb, sizeof(cdb), TSG_DIR_NONE, NULL, 0,
	    SMC_TIMEOUT_INVENTORY_MS, st);
	dev_put(s);

	/* What the robot found may be laid out anew: read addresses again. */
	for (unsigned t = 0; t < 5; t++) {
		free(s->addrs[t]);
		s->addrs[t] = NULL;
		s->naddrs[t] = 0;
	}
	return rc;
}

int
smc_changer_prevent(struct tsg_changer *c, bool prevent, struct tsg_status *st)
{
	struct smc *s = c->priv;
	uint8_t cdb[SPC_PREVENT_ALLOW_CMDLEN] = { SPC_PREVENT_ALLOW_CMD, 0, 0, 0,
	    prevent ? 1 : 0, 0 };
	int rc;

	if ((rc = dev_get(s, NULL, st)) < 0)
		return rc;
	rc = smc_cmd(s, cdb, sizeof(cdb), TSG_DIR_NONE, NULL, 0,
	    SMC_TIMEOUT_MS, st);
	dev_put(s);
	return rc;
}

bool
smc_changer_attention(struct tsg_changer *c)
{
	struct smc *s = c->priv;
	bool a = s->attention;

	s->attention = false;
	return a;
}

/*
 * MODE SENSE of page code (DBD set): (6) first, (10) when the changer
 * has no (6). The page itself into out, *plen bytes.
 */
static int
mode_page(struct smc *s, uint8_t code, uint8_t *out, size_t cap, size_t *plen,
    struct tsg_status *st)
{
	uint8_t buf[1024];
	const uint8_t *pg;
	int rc;

	for (int ten = 0; ten <= 1; ten++) {
		uint8_t c6[SPC_MODE_SENSE6_CMDLEN] = { SPC_MODE_SENSE6_CMD, 0x08,
		    code, 0, 255, 0 };
		uint8_t c10[SPC_MODE_SENSE10_CMDLEN] = { SPC_MODE_SENSE10_CMD,
		    0x08, code, 0, 0, 0, 0, sizeof(buf) >> 8, sizeof(buf) & 0xff,
		    0 };
		size_t len = ten ? sizeof(buf) : 255;

		memset(buf, 0, sizeof(buf));
		rc = ten ? smc_cmd(s, c10, sizeof(c10), TSG_DIR_FROM_DEV, buf, len,
		    SMC_TIMEOUT_MS, st) : smc_cmd(s, c6, sizeof(c6),
		    TSG_DIR_FROM_DEV, buf, len, SMC_TIMEOUT_MS, st);
		if (rc == TSG_CHECK && !ten && st->cat == TSG_CAT_ILLEGAL_REQUEST &&
		    st->asc == 0x20)
			continue;	/* no MODE SENSE(6): try (10) */
		if (rc)
			return rc;
		len = st->xfer <= len ? st->xfer : len;
		if ((rc = smc_mode_page(buf, len, ten, code, &pg, plen)) < 0)
			return tsg_transport_status(st, rc == -ENOENT ? -ENOENT :
			    -EBADMSG);
		if (*plen > cap)
			*plen = cap;
		memcpy(out, pg, *plen);
		return 0;
	}
	return rc;
}

/* Fill s->info from INQUIRY and the mode pages; say why not in why. */
static int
smc_probe(struct smc *s, const char *uri, char *why)
{
	struct tsg_changer_info *in = &s->info;
	struct tsg_inquiry inq;
	struct tsg_status st;
	uint8_t pg[256];
	size_t plen;
	char msg[160];
	int rc;

	if ((rc = tsg_inquiry(s->d, &inq, &st)) != 0) {
		snprintf(why, TSG_WHY_LEN, "%s: INQUIRY: %s", uri,
		    tsg_status_str(&st, msg, sizeof(msg)));
		return rc < 0 ? rc : -EIO;
	}
	if (inq.peripheral_type != SPC_PDT_CHANGER) {
		snprintf(why, TSG_WHY_LEN, "%s is %s (peripheral type %02Xh, %s %s), "
		    "not a medium changer (08h)", uri,
		    inq.peripheral_type == SPC_PDT_TAPE ? "a tape drive" :
		    "no medium changer", inq.peripheral_type, inq.vendor,
		    inq.product);
		return -ENOTDIR;
	}
	memcpy(in->vendor, inq.vendor, sizeof(in->vendor));
	memcpy(in->product, inq.product, sizeof(in->product));
	memcpy(in->revision, inq.revision, sizeof(in->revision));
	memcpy(in->serial, inq.serial, sizeof(in->serial));
	/* Waits out becoming ready; another NOT READY shows in what follows. */
	uint8_t tur[SPC_TEST_UNIT_READY_CMDLEN] = { SPC_TEST_UNIT_READY_CMD };
	if ((rc = smc_cmd(s, tur, sizeof(tur), TSG_DIR_NONE, NULL, 0,
	    SMC_TIMEOUT_MS, &st)) < 0) {
		snprintf(why, TSG_WHY_LEN, "%s: TEST UNIT READY: %s", uri,
		    tsg_status_str(&st, msg, sizeof(msg)));
		return rc;
	}
	if ((rc = mode_page(s, SMC_MP_ELEMENT_ADDRESS, pg, sizeof(pg), &plen,
	    &st)) != 0 || (rc = smc_parse_page_1d(pg, plen, &s->aa)) < 0) {
		snprintf(why, TSG_WHY_LEN, "%s: no element address assignment "
		    "(MODE SENSE page 1Dh): %s", uri, rc == -EBADMSG ?
		    "the page is too short" : tsg_status_str(&st, msg, sizeof(msg)));
		return rc < 0 && rc != -EBADMSG ? rc : -EIO;
	}
	in->robots = s->aa.count[SMC_ELEM_TRANSPORT];
	in->slots = s->aa.count[SMC_ELEM_STORAGE];
	in->portals = s->aa.count[SMC_ELEM_IMPORT_EXPORT];
	in->drives = s->aa.count[SMC_ELEM_DATA_TRANSFER];
	in->first_robot = s->aa.first[SMC_ELEM_TRANSPORT];
	in->first_slot = s->aa.first[SMC_ELEM_STORAGE];
	in->first_portal = s->aa.first[SMC_ELEM_IMPORT_EXPORT];
	in->first_drive = s->aa.first[SMC_ELEM_DATA_TRANSFER];
	/* Capabilities are optional: without them every move is tried. */
	if (mode_page(s, SMC_MP_DEVICE_CAPS, pg, sizeof(pg), &plen, &st) == 0 &&
	    smc_parse_page_1f(pg, plen, &s->caps) == 0)
		s->have_caps = true;
	/* What READ ELEMENT STATUS takes: one element, drives first. */
	unsigned t = in->drives ? SMC_ELEM_DATA_TRANSFER : SMC_ELEM_STORAGE;
	if (s->aa.count[t]) {
		uint8_t buf[16 + RES_DESC_ROOM * 2];
		struct smc_desc d[2];
		struct smc_res_info ri;
		size_t got, n;
		bool voltag, dvcid;
		if ((rc = res_call(s, t, s->aa.first[t], 1, true, buf, sizeof(buf),
		    &got, &voltag, &dvcid, &st)) != 0) {
			snprintf(why, TSG_WHY_LEN, "%s: READ ELEMENT STATUS: %s", uri,
			    tsg_status_str(&st, msg, sizeof(msg)));
			return rc < 0 ? rc : -EIO;
		}
		if (smc_parse_element_status(buf, got, dvcid, d, 2, &n, &ri) == 0 &&
		    n) {
			in->voltag = d[0].pvoltag;
			in->dvcid = t == SMC_ELEM_DATA_TRANSFER && (d[0].has_ident ||
			    d[0].ident_cut);
		}
	}
	return 0;
}

static void
smc_free(struct smc *s)
{
	if (!s)
		return;
	tsg_free(s->d);
	for (unsigned t = 0; t < 5; t++)
		free(s->addrs[t]);
	free(s->inner);
	free(s);
}

/* path: the inner URI (smc:PATH, or vtape:LIBDIR by sg/vtape_lib.c). */
int
smc_changer_open(struct tsg_changer *c, const char *path)
{
	struct tsg_status st;
	struct smc *s;
	int rc;

	if (!*path || strncmp(path, "smc:", 4) == 0)
		return -EINVAL;
	if (!(s = calloc(1, sizeof(*s))) || !(s->inner = strdup(path))) {
		free(s);
		return -ENOMEM;
	}
	if ((rc = dev_get(s, c->why, &st)) < 0 ||
	    (rc = smc_probe(s, path, c->why)) < 0) {
		smc_free(s);
		return rc;
	}
	dev_put(s);
	c->priv = s;
	return 0;
}

void
smc_changer_close(struct tsg_changer *c)
{
	smc_free(c->priv);
	c->priv = NULL;
}

const struct tsg_changer_backend tsg_smc_changer = {
	.scheme = "smc",
	.open = smc_changer_open,
	.close = smc_changer_close,
	.inventory = smc_changer_inventory,
	.move = smc_changer_move,
	.info = smc_changer_info,
	.scan = smc_changer_scan,
	.prevent = smc_changer_prevent,
	.attention = smc_changer_attention,
};
