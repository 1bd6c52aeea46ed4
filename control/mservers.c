/*
 * The authorized media servers over the network (issue 17): the table of
 * drive names (or shell patterns of them) and the identity that may
 * register each. A media server over TLS holds the engine role only if
 * its identity has a row (ctld_client_roles), registers a drive only if
 * a row of its identity matches the drive's name, and reports only for
 * the drive it registered (its connection's). On the Unix socket the
 * engine role stays the ACL's uid grants, as before.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "control/crippled_int.h"
#include "control/ctld.h"
#include "control/handlers_int.h"

struct may {
	const char *drive;
	bool yes;
};

static int
may_row(const struct cat_mserver *m, void *arg)
{
	struct may *w = arg;

	if (m->name && fnmatch(m->name, w->drive, 0) == 0)
		w->yes = true;
	return 0;
}

bool
ctld_server_may(struct ctld *c, const char *identity, const char *drive)
{
	struct may w = { .drive = drive };
	char err[CAT_ERRLEN];
	json_t *g;
	size_t i;

	if (c->crip) {	/* the table as the catalog's cache has it */
		json_array_foreach(json_object_get(c->crip->cache, "media_servers"),
		    i, g) {
			const char *n = json_string_value(json_object_get(g, "name"));
			const char *id = json_string_value(json_object_get(g,
			    "identity"));
			if (n && id && strcmp(id, identity) == 0 &&
			    fnmatch(n, drive, 0) == 0)
				return true;
		}
		return false;
	}
	if (cat_mserver_list(c->db, identity, may_row, &w, err) < 0) {
		log_err("reading the media servers: %s", err);
		return false;
	}
	return w.yes;
}

json_t *
h_server_allow(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN], who[300];
	int rc;

	if ((rc = cat_mserver_allow(c->db, arg_str(a, "name"), arg_str(a,
	    "identity"), ctld_who(cl, who, sizeof(who)), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	log_info("%s authorized %s to serve drive %s", who, arg_str(a,
	    "identity"), arg_str(a, "name"));
	return json_pack("{s:s,s:s}", "name", arg_str(a, "name"), "identity",
	    arg_str(a, "identity"));
}

json_t *
h_server_deny(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN], who[300];
	int rc, closed = 0;

	if ((rc = cat_mserver_deny(c->db, arg_str(a, "name"), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	/* A media server no longer authorized for its drive is let go: its
	   job waits for an authorized one (--grace), as after a crash. */
	for (struct drive *d = c->drives; d; d = d->next) {
		if (!d->engine || !d->engine->net || ctld_server_may(c,
		    d->engine->identity, d->name))
			continue;
		ctld_message(c, d, "warning", "media server %.200s is no longer "
		    "authorized for this drive: disconnected",
		    ctld_who(d->engine, who, sizeof(who)));
		d->engine->dead = true;
		closed++;
	}
	log_info("%s took back the authorization of %s", ctld_who(cl, who,
	    sizeof(who)), arg_str(a, "name"));
	return json_pack("{s:s,s:i}", "removed", arg_str(a, "name"),
	    "disconnected", closed);
}

static int
list_row(const struct cat_mserver *m, void *arr)
{
	return j_append(arr, json_pack("{s:s,s:s,s:s?,s:s?}", "name", m->name,
	    "identity", m->identity, "added", m->added, "by", m->added_by));
}

json_t *
h_servers_allowed(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r = json_array();
	(void)cl;
	(void)a;

	if (!r) {
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return NULL;
	}
	/* Whether each is connected now, and where from. */
	int rc = cat_mserver_list(c->db, NULL, list_row, r, dberr);
	if (rc < 0) {
		json_decref(r);
		return cat_failed(code, err, rc, dberr);
	}
	size_t i;
	json_t *row;
	json_array_foreach(r, i, row) {
		const char *n = json_string_value(json_object_get(row, "name"));
		const char *id = json_string_value(json_object_get(row, "identity"));
		json_t *on = json_array();
		for (struct drive *d = c->drives; d && n && id; d = d->next)
			if (d->engine && d->engine->net && fnmatch(n, d->name, 0) == 0 &&
			    strcmp(d->engine->identity, id) == 0)
				json_array_append_new(on, json_pack("{s:s,s:s}", "drive",
				    d->name, "from", d->engine->from));
		json_object_set_new(row, "connected", on);
	}
	return r;
}
