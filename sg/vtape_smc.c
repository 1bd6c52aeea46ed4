/*
 * A vtape library's robot as a SCSI medium changer (SMC-3): vtape:LIBDIR
 * opened as a device answers the CDBs a real changer does, so the changer
 * API's SCSI backend (smc:vtape:LIBDIR, and vtape:LIBDIR as a changer)
 * drives a vtape library and a real one through the same code. Moves are
 * the library's journalled ones (sg/vtape_lib.c); the robot's state and
 * injected faults are in LIBDIR/changer.conf (see sg/vtape.h).
 *
 * Answered: INQUIRY (type 08h, VPD 00h and 80h), TEST UNIT READY, REQUEST
 * SENSE, MODE SENSE(6/10) pages 1Dh, 1Eh, 1Fh, 3Fh, READ ELEMENT STATUS,
 * MOVE MEDIUM, INITIALIZE ELEMENT STATUS (and WITH RANGE), PREVENT ALLOW
 * MEDIUM REMOVAL, POSITION TO ELEMENT; anything else ILLEGAL REQUEST 20/00.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scsi/sg_lib.h>

#include "sg/smc.h"
#include "sg/ssc.h"
#include "sg/tsg_int.h"
#include "sg/vtape.h"

#ifndef SPC_MODE_SENSE10_CMD
#define SPC_MODE_SENSE10_CMD 0x5a
#define SPC_MODE_SENSE10_CMDLEN 10
#endif
#define VPD_SUPPORTED 0x00
#define IDENT_LEN 32		/* a drive identifier's room in a descriptor */
#define ED_IMPEXP 0x02		/* descriptor byte 2: put in by an operator */
#define ED_EXENAB 0x10		/* a portal can export ... */
#define ED_INENAB 0x20		/* ... and import */
#define PVOLTAG 0x80		/* page header byte 1 */

struct vsmc {
	char *libdir;
	struct vtape_library lib;
};

struct result {
	int status;
	uint8_t *sense;
	int *sense_len;
	size_t *resid;
};

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put24(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

/* Fixed-format sense into sense[0..18). */
static void
fill_sense(uint8_t *s, uint8_t key, uint8_t asc, uint8_t ascq)
{
	memset(s, 0, 18);
	s[0] = 0x70;
	s[2] = key;
	s[7] = 10;
	s[12] = asc;
	s[13] = ascq;
}

/* CHECK CONDITION with that sense. */
static void
set_sense(struct result *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	fill_sense(r->sense, key, asc, ascq);
	*r->sense_len = 18;
	r->status = SAM_CHECK_CONDITION;
}

static void
illegal(struct result *r, uint8_t asc, uint8_t ascq)
{
	set_sense(r, SPC_SK_ILLEGAL_REQUEST, asc, ascq);
}

/* Return n bytes of out, cut to the allocation length and the buffer. */
static void
reply(struct result *r, uint8_t *buf, size_t len, size_t alloc,
    const uint8_t *out, size_t n)
{
	if (n > alloc)
		n = alloc;
	if (n > len)
		n = len;
	memcpy(buf, out, n);
	*r->resid = len - n;
}

/* The element at SMC address addr: 0 and (type, num), or -1 if none. */
static int
elem_at(const struct vtape_library *lib, unsigned addr,
    enum tsg_elem_type *type, unsigned *num)
{
	if (addr == VTAPE_ADDR_ROBOT) {
		*type = TSG_ELEM_TRANSPORT;
		*num = 0;
	} else if (addr >= VTAPE_ADDR_PORTAL &&
	    addr < VTAPE_ADDR_PORTAL + (unsigned)lib->portals) {
		*type = TSG_ELEM_PORTAL;
		*num = addr - VTAPE_ADDR_PORTAL + 1;
	} else if (addr >= VTAPE_ADDR_DRIVE &&
	    addr < VTAPE_ADDR_DRIVE + (unsigned)lib->drives) {
		*type = TSG_ELEM_DRIVE;
		*num = addr - VTAPE_ADDR_DRIVE;
	} else if (addr >= VTAPE_ADDR_SLOT &&
	    addr < VTAPE_ADDR_SLOT + (unsigned)lib->slots) {
		*type = TSG_ELEM_SLOT;
		*num = addr - VTAPE_ADDR_SLOT + 1;
	} else {
		return -1;
	}
	return 0;
}

/* INQUIRY: a medium changer; VPD 00h and 80h (the library's serial). */
static void
cmd_inquiry(struct vsmc *s, const uint8_t *cdb, uint8_t *buf, size_t len,
    struct result *r)
{
	size_t alloc = get16(cdb + 3), n;
	uint8_t out[96];
	char id[40];

	memset(out, 0, sizeof(out));
	out[0] = SPC_PDT_CHANGER;
	if (cdb[1] & SPC_INQUIRY_EVPD) {
		out[1] = cdb[2];
		if (cdb[2] == VPD_SUPPORTED) {
			out[3] = 2;
			out[4] = VPD_SUPPORTED;
			out[5] = SPC_VPD_UNIT_SERIAL;
			n = 6;
		} else if (cdb[2] == SPC_VPD_UNIT_SERIAL) {
			n = strlen(s->lib.serial);
			out[3] = (uint8_t)n;
			memcpy(out + 4, s->lib.serial, n);
			n += 4;
		} else {
			illegal(r, 0x24, 0);
			return;
		}
	} else if (cdb[2]) {
		illegal(r, 0x24, 0);	/* a page without EVPD */
		return;
	} else {
		out[2] = 0x06;		/* SPC-4 */
		out[3] = 0x02;
		out[4] = sizeof(out) - 5;
		snprintf(id, sizeof(id), "%-8.8s%-16.16s%-4.4s", VTAPE_LIB_VENDOR,
		    VTAPE_LIB_PRODUCT, "0001");
		memcpy(out + 8, id, 28);
		n = sizeof(out);
	}
	reply(r, buf, len, alloc, out, n);
}

/* REQUEST SENSE: a pending UNIT ATTENTION (taken), else NO SENSE. */
static int
cmd_request_sense(struct vsmc *s, const uint8_t *cdb, uint8_t *buf,
    size_t len, struct result *r)
{
	uint8_t out[18];
	int ua = vtape_robot_attention(s->libdir);

	if (ua < 0)
		return ua;
	fill_sense(out, ua ? SPC_SK_UNIT_ATTENTION : SPC_SK_NO_SENSE,
	    ua ? 0x28 : 0, 0);
	reply(r, buf, len, cdb[4], out, sizeof(out));
	return 0;
}

/* One mode page (1Dh, 1Eh, 1Fh) at out; its length. Changeable: zeros. */
static size_t
mode_page(const struct vtape_library *lib, int page, bool changeable,
    uint8_t *out)
{
	size_t n = page == SMC_MP_TRANSPORT_GEOM ? 4 : 20;
	uint8_t moves = (uint8_t)(0x02 | 0x08 | (lib->portals ? 0x04 : 0));

	memset(out, 0, n);
	out[0] = (uint8_t)page;
	out[1] = (uint8_t)(n - 2);
	if (changeable)
		return n;	/* nothing can be changed */
	if (page == SMC_MP_ELEMENT_ADDRESS) {
		put16(out + 2, VTAPE_ADDR_ROBOT);
		put16(out + 4, 1);
		put16(out + 6, VTAPE_ADDR_SLOT);
		put16(out + 8, (unsigned)lib->slots);
		put16(out + 10, lib->portals ? VTAPE_ADDR_PORTAL : 0);
		put16(out + 12, (unsigned)lib->portals);
		put16(out + 14, VTAPE_ADDR_DRIVE);
		put16(out + 16, (unsigned)lib->drives);
	} else if (page == SMC_MP_DEVICE_CAPS) {
		/* Stores in slots, portals, drives; moves between them all. */
		out[2] = moves;
		out[5] = out[6] = out[7] = moves;	/* from ST, IE, DT */
	}
	return n;
}

/* MODE SENSE(6) and (10): no block descriptors; pages 1Dh-1Fh, 3Fh. */
static void
cmd_mode_sense(struct vsmc *s, const uint8_t *cdb, bool ten, uint8_t *buf,
    size_t len, struct result *r)
{
	int pc = cdb[2] >> 6, page = cdb[2] & 0x3f, sub = cdb[3];
	size_t hdr = ten ? 8 : 4, n = hdr;
	size_t alloc = ten ? get16(cdb + 7) : cdb[4];
	uint8_t out[8 + 20 + 4 + 20];

	if (pc == 3) {
		illegal(r, 0x39, 0);	/* SAVING PARAMETERS NOT SUPPORTED */
		return;
	}
	if (sub && !(page == SPC_MP_ALL && sub == SPC_MP_ALL_SUB)) {
		illegal(r, 0x24, 0);
		return;
	}
	memset(out, 0, sizeof(out));
	if (page == SPC_MP_ALL) {
		n += mode_page(&s->lib, SMC_MP_ELEMENT_ADDRESS, pc == 1, out + n);
		n += mode_page(&s->lib, SMC_MP_TRANSPORT_GEOM, pc == 1, out + n);
		n += mode_page(&s->lib, SMC_MP_DEVICE_CAPS, pc == 1, out + n);
	} else if (page == SMC_MP_ELEMENT_ADDRESS ||
	    page == SMC_MP_TRANSPORT_GEOM || page == SMC_MP_DEVICE_CAPS) {
		n += mode_page(&s->lib, page, pc == 1, out + n);
	} else if (page != 0) {
		illegal(r, 0x24, 0);
		return;
	}
	if (ten)
		put16(out, (unsigned)(n - 2));
	else
		out[0] = (uint8_t)(n - 1);
	reply(r, buf, len, alloc, out, n);
}

static int
addr_cmp(const void *a, const void *b)
{
	const struct tsg_element *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Element descriptor of e at out (dlen bytes, zeroed). */
static void
descriptor(const struct tsg_element *e, const struct vtape_library *lib,
    bool voltag, bool dvcid, uint8_t *out)
{
	size_t off = 12;

	put16(out, e->addr);
	out[2] = (uint8_t)((e->full ? SMC_ED_FULL : 0) |
	    (e->except ? SMC_ED_EXCEPT : 0) | (e->access ? SMC_ED_ACCESS : 0));
	if (e->type == TSG_ELEM_PORTAL)
		out[2] |= (uint8_t)(ED_EXENAB | ED_INENAB |
		    (e->impexp ? ED_IMPEXP : 0));
	if (e->except) {
		out[4] = e->asc;
		out[5] = e->ascq;
	}
	if (e->full && e->source && e->source <= (unsigned)lib->slots) {
		out[9] = SMC_ED_SVALID;	/* the slot it came from */
		put16(out + 10, VTAPE_ADDR_SLOT + e->source - 1);
	}
	if (voltag) {
		/* Blanks where a label is unreadable; nothing when empty. */
		if (e->full) {
			memset(out + off, ' ', 32);
			memcpy(out + off, e->barcode, strlen(e->barcode));
		}
		off += SMC_VOLTAG_LEN;
	}
	if (dvcid) {
		size_t n = e->type == TSG_ELEM_DRIVE ? strlen(e->ident) : 0;
		if (n > IDENT_LEN)
			n = IDENT_LEN;
		out[off] = 0x02;	/* code set: ASCII */
		out[off + 1] = 0x00;	/* identifier type: vendor specific */
		out[off + 3] = (uint8_t)n;
		memcpy(out + off + 4, e->ident, n);
	}
}

/* The descriptor length of an element type's page. */
static size_t
desc_len(enum tsg_elem_type type, bool voltag, bool dvcid)
{
	return 12 + (voltag ? SMC_VOLTAG_LEN : 0) +
	    (dvcid ? 4 + (type == TSG_ELEM_DRIVE ? IDENT_LEN : 0) : 0);
}

/*
 * READ ELEMENT STATUS per SMC-3: the elements of the type asked (0: all)
 * from the starting address on, at most the number asked, in address
 * order, one page per type; cut to the allocation length with the full
 * counts in the headers.
 */
static int
cmd_read_element_status(struct vsmc *s, const uint8_t *cdb, uint8_t *buf,
    size_t len, struct result *r)
{
	bool voltag = cdb[1] & SMC_RES_VOLTAG, dvcid = cdb[6] & SMC_RES_DVCID;
	unsigned type = cdb[1] & 0x0f, start = get16(cdb + 2);
	unsigned count = get16(cdb + 4);
	size_t alloc = (size_t)cdb[7] << 16 | (size_t)cdb[8] << 8 | cdb[9];
	struct tsg_element *e = NULL;
	enum tsg_elem_type t0;
	size_t n, first = 0, sel = 0, total = 8, off, k;
	unsigned num;
	uint8_t *out;
	int rc;

	bool no_dvcid, no_voltag;

	if ((rc = vtape_robot_refuses(s->libdir, &no_dvcid, &no_voltag)) < 0)
		return rc;
	/* A changer without them (injected): INVALID FIELD IN CDB. */
	if (type > SMC_ELEM_DATA_TRANSFER || !count || (dvcid && no_dvcid) ||
	    (voltag && no_voltag)) {
		illegal(r, 0x24, 0);
		return 0;
	}
	if (start && elem_at(&s->lib, start, &t0, &num) < 0) {
		illegal(r, SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		return 0;
	}
	if ((rc = vtape_robot_elements(s->libdir, &e, &n)) < 0)
		return rc;
	qsort(e, n, sizeof(*e), addr_cmp);
	/* The elements reported: e[first..] of the type, up to count. */
	for (k = 0; k < n && sel < count; k++) {
		if ((type && e[k].type != (enum tsg_elem_type)type) ||
		    e[k].addr < start)
			continue;
		if (!sel)
			first = k;
		/* A page per run of one type; addresses are grouped by type. */
		if (!sel || e[k].type != e[first + sel - 1].type)
			total += 8;
		total += desc_len(e[k].type, voltag, dvcid);
		/* Keep them together for the writing pass. */
		if (first + sel != k)
			e[first + sel] = e[k];
		sel++;
	}
	if (!sel) {
		free(e);
		illegal(r, SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		return 0;
	}
	if (!(out = calloc(1, total))) {
		free(e);
		return -ENOMEM;
	}
	put16(out, e[first].addr);
	put16(out + 2, (unsigned)sel);
	put24(out + 5, total - 8);
	off = 8;
	for (k = first; k < first + sel;) {
		size_t dl = desc_len(e[k].type, voltag, dvcid), m = 0;
		uint8_t *ph = out + off;
		while (k + m < first + sel && e[k + m].type == e[k].type)
			m++;
		ph[0] = (uint8_t)e[k].type;
		ph[1] = voltag ? PVOLTAG : 0;
		put16(ph + 2, (unsigned)dl);
		put24(ph + 5, m * dl);
		off += 8;
		for (size_t i = 0; i < m; i++, off += dl)
			descriptor(&e[k + i], &s->lib, voltag, dvcid, out + off);
		k += m;
	}
	reply(r, buf, len, alloc, out, total);
	free(out);
	free(e);
	return 0;
}

/* MOVE MEDIUM through the library's journalled move. */
static int
cmd_move(struct vsmc *s, const uint8_t *cdb, struct result *r)
{
	unsigned robot = get16(cdb + 2), from, to;
	enum tsg_elem_type ft, tt;
	struct tsg_status st;
	int rc;

	if (cdb[10] & 0x01) {
		illegal(r, 0x24, 0);	/* INVERT: no two-sided media */
		return 0;
	}
	if ((robot && robot != VTAPE_ADDR_ROBOT) ||
	    elem_at(&s->lib, get16(cdb + 4), &ft, &from) < 0 ||
	    elem_at(&s->lib, get16(cdb + 6), &tt, &to) < 0) {
		illegal(r, SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		return 0;
	}
	rc = vtape_robot_move(s->libdir, ft, from, tt, to, &st);
	if (rc == TSG_CHECK)
		set_sense(r, st.key, st.asc, st.ascq);
	return rc < 0 ? rc : 0;
}

/* POSITION TO ELEMENT: the robot goes there; nothing to do here. */
static void
cmd_position(struct vsmc *s, const uint8_t *cdb, struct result *r)
{
	unsigned robot = get16(cdb + 2), num;
	enum tsg_elem_type t;

	if (cdb[8] & 0x01)
		illegal(r, 0x24, 0);
	else if ((robot && robot != VTAPE_ADDR_ROBOT) ||
	    elem_at(&s->lib, get16(cdb + 4), &t, &num) < 0 ||
	    t == TSG_ELEM_TRANSPORT)
		illegal(r, SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
}

/* INITIALIZE ELEMENT STATUS (WITH RANGE): the library check. */
static int
cmd_init_status(struct vsmc *s, const uint8_t *cdb, bool range,
    struct result *r)
{
	enum tsg_elem_type t;
	unsigned num;
	int rc;

	if (range && (cdb[1] & 0x01) &&
	    elem_at(&s->lib, get16(cdb + 2), &t, &num) < 0) {
		illegal(r, SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		return 0;
	}
	rc = vtape_robot_scan(s->libdir);
	return rc < 0 ? rc : 0;
}

/* The shortest CDB of each opcode answered; 0 for others. */
static int
cdb_len(uint8_t op)
{
	switch (op) {
	case SPC_INQUIRY_CMD: return SPC_INQUIRY_CMDLEN;
	case SPC_TEST_UNIT_READY_CMD: return SPC_TEST_UNIT_READY_CMDLEN;
	case SPC_REQUEST_SENSE_CMD: return SPC_REQUEST_SENSE_CMDLEN;
	case SPC_MODE_SENSE6_CMD: return SPC_MODE_SENSE6_CMDLEN;
	case SPC_MODE_SENSE10_CMD: return SPC_MODE_SENSE10_CMDLEN;
	case SPC_PREVENT_ALLOW_CMD: return SPC_PREVENT_ALLOW_CMDLEN;
	case SMC_READ_ELEMENT_STATUS_CMD: return SMC_READ_ELEMENT_STATUS_CMDLEN;
	case SMC_MOVE_MEDIUM_CMD: return SMC_MOVE_MEDIUM_CMDLEN;
	case SMC_INIT_ELEMENT_STATUS_CMD: return SMC_INIT_ELEMENT_STATUS_CMDLEN;
	case SMC_INIT_ELEMENT_STATUS_RANGE_CMD:
		return SMC_INIT_ELEMENT_STATUS_RANGE_CMDLEN;
	case SMC_POSITION_TO_ELEMENT_CMD: return SMC_POSITION_TO_ELEMENT_CMDLEN;
	default: return 0;
	}
}

static int
vsmc_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *vbuf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	static uint8_t no_data[1];
	struct vsmc *s = d->priv;
	struct result r = { SAM_GOOD, sense, sense_len, resid };
	uint8_t *buf = vbuf;
	int rc = 0, need;

	(void)dir;
	*resid = len;
	*sense_len = 0;
	if (cdblen < 6 || cdblen > 16 || (!buf && len))
		return -EINVAL;
	if (!buf)
		buf = no_data;
	need = cdb_len(cdb[0]);
	if (!need) {
		illegal(&r, 0x20, 0);	/* INVALID COMMAND OPERATION CODE */
		goto out;
	}
	if (cdblen < need) {
		illegal(&r, 0x24, 0);
		goto out;
	}
	if (cdb[0] == SPC_INQUIRY_CMD) {
		cmd_inquiry(s, cdb, buf, len, &r);
		goto out;
	}
	if (cdb[0] == SPC_REQUEST_SENSE_CMD) {
		rc = cmd_request_sense(s, cdb, buf, len, &r);
		goto out;
	}
	/* A door was opened: the next command hears of it, once. */
	if ((rc = vtape_robot_pending(s->libdir)) != VTAPE_PENDING_NONE) {
		if (rc == VTAPE_PENDING_ATTENTION)
			set_sense(&r, SPC_SK_UNIT_ATTENTION, 0x28, 0);
		else if (rc == VTAPE_PENDING_NOT_READY)
			set_sense(&r, SPC_SK_NOT_READY, 0x04, 0x01);
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	switch (cdb[0]) {
	case SPC_TEST_UNIT_READY_CMD:
		break;
	case SPC_MODE_SENSE6_CMD:
	case SPC_MODE_SENSE10_CMD:
		cmd_mode_sense(s, cdb, cdb[0] == SPC_MODE_SENSE10_CMD, buf, len, &r);
		break;
	case SMC_READ_ELEMENT_STATUS_CMD:
		rc = cmd_read_element_status(s, cdb, buf, len, &r);
		break;
	case SMC_MOVE_MEDIUM_CMD:
		rc = cmd_move(s, cdb, &r);
		break;
	case SMC_INIT_ELEMENT_STATUS_CMD:
	case SMC_INIT_ELEMENT_STATUS_RANGE_CMD:
		rc = cmd_init_status(s, cdb,
		    cdb[0] == SMC_INIT_ELEMENT_STATUS_RANGE_CMD, &r);
		break;
	case SPC_PREVENT_ALLOW_CMD:
		if ((cdb[4] & 0x03) > 1)
			illegal(&r, 0x24, 0);
		else
			rc = vtape_robot_prevent(s->libdir, cdb[4] & 0x01);
		break;
	case SMC_POSITION_TO_ELEMENT_CMD:
		cmd_position(s, cdb, &r);
		break;
	}
out:
	if (rc < 0)
		return rc;
	*scsi_status = r.status;
	return 0;
}

static int
vsmc_open(struct tsg_dev *d, const char *path)
{
	struct vsmc *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	if ((rc = vtape_library_read(path, &s->lib)) < 0 ||
	    !(s->libdir = strdup(path))) {
		free(s);
		return rc < 0 ? rc : -ENOMEM;
	}
	/* What a crash left half-done is repaired before the robot answers. */
	vtape_robot_scan(path);
	d->priv = s;
	return 0;
}

static void
vsmc_close(struct tsg_dev *d)
{
	struct vsmc *s = d->priv;

	if (!s)
		return;
	free(s->libdir);
	free(s);
}

const struct tsg_transport tsg_vtape_smc_transport = {
	.scheme = "vtape",
	.open = vsmc_open,
	.close = vsmc_close,
	.exec = vsmc_exec,
};
