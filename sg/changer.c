/*
 * The medium-changer API: URI dispatch to a backend (smc: a SCSI medium
 * changer over any transport, sg/smc.c; vtape: the vtape library's own)
 * and what every backend shares: load and unload as moves, the home slot
 * of an unload, element lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scsi/sg_lib.h>

#include "common/crash.h"
#include "sg/smc.h"
#include "sg/tsg.h"
#include "sg/tsg_int.h"

static const struct tsg_changer_backend *backends[] = {
	&tsg_vtape_changer,
	&tsg_smc_changer,
};

/* The backend for uri's scheme; *path points after the colon. */
static const struct tsg_changer_backend *
backend_of(const char *uri, const char **path)
{
	const char *colon = strchr(uri, ':');

	if (!colon)
		return NULL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t n = strlen(backends[i]->scheme);
		if ((size_t)(colon - uri) == n &&
		    strncmp(uri, backends[i]->scheme, n) == 0) {
			*path = colon + 1;
			return backends[i];
		}
	}
	return NULL;
}

/* A changer of backend be at path, its URI scheme:path. */
static int
changer_new(const struct tsg_changer_backend *be, const char *path,
    struct tsg_changer **out, char *why)
{
	struct tsg_changer *c = calloc(1, sizeof(*c));
	size_t n;
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->be = be;
	n = strlen(be->scheme) + 1 + strlen(path) + 1;
	if (!(c->uri = malloc(n))) {
		free(c);
		return -ENOMEM;
	}
	strcpy(c->uri, be->scheme);
	strcat(c->uri, ":");
	strcat(c->uri, path);
	if ((rc = be->open(c, path)) < 0) {
		if (why)
			snprintf(why, TSG_WHY_LEN, "%s", c->why);
		free(c->uri);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
tsg_changer_open(const char *uri, struct tsg_changer **out)
{
	return tsg_changer_open_why(uri, out, NULL);
}

int
tsg_changer_open_why(const char *uri, struct tsg_changer **out, char *why)
{
	const struct tsg_changer_backend *be;
	const char *path;

	*out = NULL;
	if (why)
		why[0] = '\0';
	if (!strchr(uri, ':'))
		return -EINVAL;
	if (!(be = backend_of(uri, &path)))
		return -EPROTONOSUPPORT;
	return changer_new(be, path, out, why);
}

int
tsg_changer_of_drive(const char *drive_uri, struct tsg_changer **out,
    unsigned *drive)
{
	const struct tsg_changer_backend *be;
	const char *path;
	char *cpath = NULL;
	int rc;

	*out = NULL;
	if (!(be = backend_of(drive_uri, &path)) || !be->of_drive)
		return -ENODEV;
	if ((rc = be->of_drive(path, &cpath, drive)) < 0)
		return rc;
	rc = changer_new(be, cpath, out, NULL);
	free(cpath);
	return rc;
}

void
tsg_changer_free(struct tsg_changer *c)
{
	if (!c)
		return;
	c->be->close(c);
	free(c->uri);
	free(c);
}

const char *
tsg_changer_uri(const struct tsg_changer *c)
{
	return c->uri;
}

int
tsg_changer_inventory(struct tsg_changer *c, struct tsg_element **elems,
    size_t *n, struct tsg_status *st)
{
	*elems = NULL;
	*n = 0;
	memset(st, 0, sizeof(*st));
	return c->be->inventory(c, elems, n, st);
}

const struct tsg_element *
tsg_changer_element(const struct tsg_element *elems, size_t n,
    enum tsg_elem_type type, unsigned num)
{
	for (size_t i = 0; i < n; i++)
		if (elems[i].type == type && elems[i].num == num)
			return &elems[i];
	return NULL;
}

int
tsg_changer_move(struct tsg_changer *c, enum tsg_elem_type from_type,
    unsigned from, enum tsg_elem_type to_type, unsigned to,
    struct tsg_status *st)
{
	memset(st, 0, sizeof(*st));
	abs_crash_point("changer-move");
	return c->be->move(c, from_type, from, to_type, to, st);
}

int
tsg_changer_load(struct tsg_changer *c, unsigned slot, unsigned drive,
    struct tsg_status *st)
{
	return tsg_changer_move(c, TSG_ELEM_SLOT, slot, TSG_ELEM_DRIVE, drive, st);
}

/* The slot an unload goes to: home if empty, else the first empty; 0 none. */
static unsigned
home_slot(const struct tsg_element *e, size_t n, const struct tsg_element *dr)
{
	const struct tsg_element *home = dr->source ?
	    tsg_changer_element(e, n, TSG_ELEM_SLOT, dr->source) : NULL;

	if (home && !home->full)
		return home->num;
	for (size_t i = 0; i < n; i++)
		if (e[i].type == TSG_ELEM_SLOT && !e[i].full)
			return e[i].num;
	return 0;
}

int
tsg_changer_unload(struct tsg_changer *c, unsigned drive, unsigned slot,
    struct tsg_status *st)
{
	const struct tsg_element *dr;
	struct tsg_element *e;
	size_t n;
	int rc;

	if (slot)
		return tsg_changer_move(c, TSG_ELEM_DRIVE, drive, TSG_ELEM_SLOT,
		    slot, st);
	if ((rc = tsg_changer_inventory(c, &e, &n, st)) != 0)
		return rc;
	dr = tsg_changer_element(e, n, TSG_ELEM_DRIVE, drive);
	if (!dr) {
		unsigned drives = 0;
		for (size_t i = 0; i < n; i++)
			drives += e[i].type == TSG_ELEM_DRIVE;
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_INVALID_ELEMENT, SMC_ASCQ_INVALID_ELEMENT);
		if (drives)
			snprintf(st->note, sizeof(st->note), "no drive %u: drives "
			    "are 0 to %u", drive, drives - 1);
		else
			snprintf(st->note, sizeof(st->note), "the changer has no "
			    "drive");
	}
	else if (!dr->full)
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_SOURCE_EMPTY);
	else if (!(slot = home_slot(e, n, dr)))
		rc = tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST,
		    SMC_ASC_MEDIUM_MOVE, SMC_ASCQ_DEST_FULL);
	free(e);
	if (rc)
		return rc;
	return tsg_changer_move(c, TSG_ELEM_DRIVE, drive, TSG_ELEM_SLOT, slot,
	    st);
}

int
tsg_changer_info(struct tsg_changer *c, struct tsg_changer_info *info,
    struct tsg_status *st)
{
	memset(info, 0, sizeof(*info));
	memset(st, 0, sizeof(*st));
	if (!c->be->info)
		return tsg_check_status(st, SPC_SK_ILLEGAL_REQUEST, 0x20, 0);
	return c->be->info(c, info, st);
}

int
tsg_changer_scan(struct tsg_changer *c, struct tsg_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!c->be->scan)
		return 0;	/* nothing to scan: the inventory is always true */
	return c->be->scan(c, st);
}

int
tsg_changer_prevent(struct tsg_changer *c, bool prevent, struct tsg_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!c->be->prevent)
		return 0;
	return c->be->prevent(c, prevent, st);
}

bool
tsg_changer_attention(struct tsg_changer *c)
{
	return c->be->attention && c->be->attention(c);
}

/* a ends with b (both non-empty). */
static bool
ends_with(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	return nb && na >= nb && strcmp(a + na - nb, b) == 0;
}

const struct tsg_element *
tsg_changer_drive_by_ident(const struct tsg_element *elems, size_t n,
    const char *ident)
{
	const struct tsg_element *found = NULL;

	if (!ident || !*ident)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (elems[i].type == TSG_ELEM_DRIVE && elems[i].ident[0] &&
		    (ends_with(elems[i].ident, ident) ||
		    ends_with(ident, elems[i].ident))) {
			if (found)
				return NULL;	/* two drives match: never guess */
			found = &elems[i];
		}
	return found;
}
