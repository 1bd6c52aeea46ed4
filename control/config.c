/*
 * The nightly run's configuration requests: servers and subnets, entity
 * and type rules, forbidden windows, discovery commands (the runs
 * themselves are control/discover.c). Each decodes its arguments, asks
 * the catalog and encodes the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "control/handlers_int.h"

/* A server as server-add, server-set and servers show it. */
static json_t *
server_json(const struct cat_server *s)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
	    j_str(s->name), "subnet", j_str(s->subnet), "max_dumps",
	    j_int(s->max_dumps), "subnet_max_dumps", j_int(s->subnet_max_dumps),
	    "entities", j_int(s->entities), "vanished", j_int(s->vanished),
	    "discoveries", j_int(s->discoveries), "added", j_str(s->added));
}

/* One server into *out. */
static int
server_one(const struct cat_server *s, void *arg)
{
	json_t **out = arg;

	*out = server_json(s);
	return *out ? 1 : -ENOMEM;
}

/* A server to a list. */
static int
server_row(const struct cat_server *s, void *arr)
{
	return j_append(arr, server_json(s));
}

/* The server's row after a change, as the reply. */
static json_t *
server_reply(struct ctld *c, const char *name, const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r = NULL;
	int rc;

	if ((rc = cat_server_get(c->db, name, server_one, &r, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return r;
}

json_t *
h_server_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t max = arg_num(a, "max_dumps", -1);
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (json_object_get(a, "max_dumps") && max < 0)
		FAIL(PROTO_E_BAD_ARGS, "--max-dumps is 0 (no limit) or more");
	if ((rc = cat_server_add(c->db, arg_str(a, "name"), arg_str(a, "subnet"),
	    max, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return server_reply(c, arg_str(a, "name"), code, err);
}

json_t *
h_server_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	int64_t max = arg_num(a, "max_dumps", -1);
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (!arg_str(a, "subnet") && !json_object_get(a, "max_dumps"))
		FAIL(PROTO_E_BAD_ARGS, "nothing to change: --subnet S ('' for none)"
		    " or --max-dumps N");
	if (json_object_get(a, "max_dumps") && max < 0)
		FAIL(PROTO_E_BAD_ARGS, "--max-dumps is 0 (no limit) or more");
	if ((rc = cat_server_set(c->db, arg_str(a, "name"), arg_str(a, "subnet"),
	    max, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return server_reply(c, arg_str(a, "name"), code, err);
}

json_t *
h_subnet_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_subnet_set(c->db, arg_str(a, "name"), arg_num(a,
	    "max_dumps", -1), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:s,s:I}", "subnet", arg_str(a, "name"), "max_dumps",
	    (json_int_t)arg_num(a, "max_dumps", 0));
}

/* A subnet to a list. */
static int
subnet_row(const struct cat_subnet *s, void *arr)
{
	return j_append(arr, json_pack("{s:o,s:o,s:o,s:o}", "name",
	    j_str(s->name), "max_dumps", j_int(s->max_dumps), "servers",
	    j_int(s->servers), "entities", j_int(s->entities)));
}

json_t *
h_servers(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *srv = json_array(), *net = json_array();
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl; (void)a;

	if ((rc = cat_servers_list(c->db, server_row, srv, dberr)) < 0 ||
	    (rc = cat_subnets_list(c->db, subnet_row, net, dberr)) < 0) {
		json_decref(srv);
		json_decref(net);
		return cat_failed(code, err, rc, dberr);
	}
	return json_pack("{s:o,s:o}", "servers", srv, "subnets", net);
}

/* What the nightly run adds to an entity's description (entity, entities). */
int
j_entity_night(json_t *o, const struct cat_entity *e)
{
	json_t *add = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "server",
	    j_str(e->server), "partition", j_str(e->partition), "priority",
	    j_int(e->priority), "own_priority", j_int(e->own_priority),
	    "vanished", j_str(e->vanished), "discovered_by",
	    j_int(e->discovered_by));
	int rc = o && add && json_object_update(o, add) == 0 ? 0 : -ENOMEM;

	json_decref(add);
	return rc;
}

/* The entity's row after a change, as the reply. */
static int
entity_one(const struct cat_entity *e, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:o,s:o,s:o}", "entity", j_str(e->name), "type",
	    j_str(e->type), "pool", j_str(e->pool));
	return j_entity_night(*out, e) < 0 ? -ENOMEM : 1;
}

/* The entity as entity-add and entity-set answer. */
json_t *
j_entity_reply(struct ctld *c, const char *name, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *r = NULL;
	int rc;

	if ((rc = cat_entity_get(c->db, name, entity_one, &r, dberr)) < 0) {
		json_decref(r);
		return cat_failed(code, err, rc, dberr);
	}
	return r;
}

json_t *
h_entity_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *prio = json_object_get(a, "priority");
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (!arg_str(a, "server") && !arg_str(a, "partition") && !prio)
		FAIL(PROTO_E_BAD_ARGS, "nothing to change: --server S, --partition P"
		    " ('' for none) or --priority N (-1: the type's)");
	if (prio && arg_num(a, "priority", 0) < -1)
		FAIL(PROTO_E_BAD_ARGS, "--priority is 0..%d, or -1 for the type's",
		    CAT_PRIORITY_MAX);
	if ((rc = cat_entity_set(c->db, arg_str(a, "name"), arg_str(a, "server"),
	    arg_str(a, "partition"), prio ? arg_num(a, "priority", 0) : CAT_NULL,
	    dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return j_entity_reply(c, arg_str(a, "name"), code, err);
}

/* A stored command as its words, or null. */
static json_t *
cmd_json(const char *cmd)
{
	json_t *r;
	char **argv;

	if (!cmd || cat_cmd_split(cmd, &argv) <= 0)
		return json_null();
	r = json_array();
	for (char **p = argv; r && *p; p++)
		j_append(r, j_str(*p));
	cat_cmd_free(argv);
	return r ? r : json_null();
}

/* A window as windows, window-add and types show it. */
static json_t *
window_json(const struct cat_window *w)
{
	char text[80], *sp;

	cat_window_format(w, text, sizeof(text));
	sp = strrchr(text, ' ');
	if (sp)
		*sp++ = '\0';
	return json_pack("{s:I,s:o,s:o,s:s,s:s,s:b,s:I,s:I,s:I}", "id",
	    (json_int_t)w->id, "type", j_str(w->type), "entity",
	    j_str(w->entity), "days", text, "hours", sp ? sp : "",
	    "past_midnight", w->end_min <= w->start_min, "days_mask",
	    (json_int_t)w->days, "start_min", (json_int_t)w->start_min,
	    "end_min", (json_int_t)w->end_min);
}

/* A window to a list. */
static int
window_row(const struct cat_window *w, void *arr)
{
	return j_append(arr, window_json(w));
}

/* A window's text ("Mon-Fri 07:00-19:00") to a list. */
static int
window_text(const struct cat_window *w, void *arr)
{
	char text[80];

	cat_window_format(w, text, sizeof(text));
	return j_append(arr, json_string(text));
}

/* A type as types and type-set show it (windows filled after). */
static json_t *
type_json(const struct cat_type *t)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:[],s:o,s:o,s:o,s:o}",
	    "name", j_str(t->name), "full_every_days", j_int(t->full_every_days),
	    "incr_every_days", j_int(t->incr_every_days), "priority",
	    j_int(t->priority), "max_level", j_int(t->max_level),
	    "estimate_bytes", j_int(t->estimate_bytes), "entities",
	    j_int(t->entities), "windows", "snapshot", cmd_json(t->snapshot_cmd),
	    "dump", cmd_json(t->dump_cmd), "incr", cmd_json(t->incr_cmd),
	    "release", cmd_json(t->release_cmd));
}

/* A type to a list. */
static int
type_row(const struct cat_type *t, void *arr)
{
	return j_append(arr, type_json(t));
}

/* Each type's windows into its "windows". */
static int
types_windows(struct ctld *c, json_t *types, char *dberr)
{
	size_t i;
	json_t *t;
	int rc;

	json_array_foreach(types, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		if (name && (rc = cat_windows_list(c->db, name, NULL, window_text,
		    json_object_get(t, "windows"), dberr)) < 0)
			return rc;
	}
	return 0;
}

/* The first row of a list (NULL stays NULL). */
static json_t *
first_of(json_t *list)
{
	json_t *one;

	if (!list)
		return NULL;
	one = json_incref(json_array_get(list, 0));
	json_decref(list);
	return one ? one : json_object();
}

json_t *
h_types(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl; (void)a;

	if ((rc = cat_types_list(c->db, type_row, r, dberr)) >= 0)
		rc = types_windows(c, r, dberr);
	return j_list(r, rc, dberr, code, err);
}

/* --estimate: a size, or "" / "none" for none (-1); -EINVAL if bad. */
static int
estimate_arg(const char *s, int64_t *out)
{
	uint64_t v;

	*out = CAT_NULL;
	if (!s)
		return 0;
	if (!*s || strcmp(s, "none") == 0) {
		*out = -1;
		return 0;
	}
	if (util_parse_size(s, &v) < 0 || v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

json_t *
h_type_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	static const char *const keys[] = { "priority", "max_level", "estimate",
	    "snapshot", "dump", "incr", "release" };
	struct cat_type_rules r = { .priority = arg_num(a, "priority", -1),
	    .max_level = arg_num(a, "max_level", -1),
	    .snapshot_cmd = arg_str(a, "snapshot"), .dump_cmd = arg_str(a, "dump"),
	    .incr_cmd = arg_str(a, "incr"), .release_cmd = arg_str(a, "release") };
	char dberr[CAT_ERRLEN];
	bool any = false;
	json_t *t;
	int rc;
	(void)cl;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		any |= json_object_get(a, keys[i]) != NULL;
	if (!any)
		FAIL(PROTO_E_BAD_ARGS, "nothing to change: --priority, --max-level,"
		    " --estimate, --snapshot, --dump, --incr or --release");
	if ((json_object_get(a, "priority") && r.priority < 0) ||
	    (json_object_get(a, "max_level") && r.max_level < 0))
		FAIL(PROTO_E_BAD_ARGS, "--priority is 0..%d, --max-level 0..9",
		    CAT_PRIORITY_MAX);
	if (estimate_arg(arg_str(a, "estimate"), &r.estimate_bytes) < 0)
		FAIL(PROTO_E_BAD_ARGS, "--estimate is a size (512, 64K, 20G) or ''"
		    " for none");
	if ((rc = cat_type_set_rules(c->db, arg_str(a, "name"), &r, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	t = json_array();
	if ((rc = cat_type_get(c->db, arg_str(a, "name"), type_row, t,
	    dberr)) >= 0)
		rc = types_windows(c, t, dberr);
	return first_of(j_list(t, rc, dberr, code, err));
}

json_t *
h_window_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *type = arg_str(a, "type"), *ent = arg_str(a, "entity");
	struct cat_window w = { 0 };
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if (!type == !ent)
		FAIL(PROTO_E_BAD_ARGS, "a window is of a type or of an entity: give"
		    " exactly one of --type T and --entity E");
	if ((rc = cat_window_parse(arg_str(a, "days"), arg_str(a, "hours"), &w,
	    dberr)) < 0 ||
	    (rc = cat_window_add(c->db, type, ent, w.days, w.start_min, w.end_min,
	    &w.id, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	w.type = type;
	w.entity = ent;
	return window_json(&w);
}

json_t *
h_window_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_window_remove(c->db, arg_num(a, "id", 0), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:I,s:b}", "id", (json_int_t)arg_num(a, "id", 0),
	    "removed", 1);
}

/*
 * windows: every window, or a type's; --entity alone: the windows that
 * apply to it (its own, else its type's).
 */
json_t *
h_windows(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *type = arg_str(a, "type"), *ent = arg_str(a, "entity");
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl;

	if (ent && !type)
		return j_list(r, cat_entity_windows(c->db, ent, window_row, r, dberr),
		    dberr, code, err);
	return j_list(r, cat_windows_list(c->db, type, ent, window_row, r, dberr),
	    dberr, code, err);
}

/* A discovery command as discoveries shows it. */
static int
discovery_row(const struct cat_discovery *d, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:o,s:o}", "id", (json_int_t)d->id, "server", j_str(d->server),
	    "type", j_str(d->type), "pool", j_str(d->pool), "cmd", j_str(d->cmd),
	    "source_template", j_str(d->source_template ? d->source_template :
	    "dir:{name}"), "entities", j_int(d->entities), "vanished",
	    j_int(d->vanished), "last_run", j_str(d->last_run), "last_ok",
	    j_str(d->last_ok), "last_error", j_str(d->last_error), "timeout_s",
	    j_int(d->timeout_s)));
}

json_t *
h_discover_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int64_t id = 0;
	json_t *r;
	int rc;
	(void)cl;

	if (!arg_str(a, "type") || !arg_str(a, "cmd"))
		FAIL(PROTO_E_BAD_ARGS, "discover-add needs --type T and --cmd ARGV"
		    " (the command that lists the server's entities)");
	if (json_object_get(a, "timeout") && arg_num(a, "timeout", 0) <= 0)
		FAIL(PROTO_E_BAD_ARGS, "--timeout is 1..%d seconds",
		    CAT_DISCOVERY_MAX_S);
	if ((rc = cat_discovery_add(c->db, arg_str(a, "server"),
	    arg_str(a, "type"), arg_str(a, "pool"), arg_str(a, "cmd"),
	    arg_str(a, "source_template"), arg_num(a, "timeout", 0), &id,
	    dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	r = json_array();
	rc = cat_discoveries_list(c->db, arg_str(a, "server"), discovery_row, r,
	    dberr);
	if (!(r = j_list(r, rc, dberr, code, err)))
		return NULL;
	for (size_t i = 0; i < json_array_size(r); i++)
		if (json_integer_value(json_object_get(json_array_get(r, i), "id")) ==
		    id) {
			json_t *one = json_incref(json_array_get(r, i));
			json_decref(r);
			return one;
		}
	json_decref(r);
	return json_pack("{s:I}", "id", (json_int_t)id);
}

json_t *
h_discover_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	if ((rc = cat_discovery_remove(c->db, arg_num(a, "id", 0), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	return json_pack("{s:I,s:b}", "id", (json_int_t)arg_num(a, "id", 0),
	    "removed", 1);
}

json_t *
h_discoveries(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	json_t *r = json_array();
	char dberr[CAT_ERRLEN];
	(void)cl; (void)a;

	return j_list(r, cat_discoveries_list(c->db, NULL, discovery_row, r,
	    dberr), dberr, code, err);
}

json_t *
h_discover(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *report = json_object();
	char derr[PROTO_ERRLEN];
	int rc;
	(void)cl;

	if (!report)
		FAIL(PROTO_E_INTERNAL, "out of memory");
	if ((rc = ctld_discover(c, arg_str(a, "server"), report, derr)) < 0) {
		json_decref(report);
		*code = rc == -ENOENT ? PROTO_E_NOT_FOUND : rc == -ENOMEM ?
		    PROTO_E_INTERNAL : PROTO_E_CATALOG;
		snprintf(err, PROTO_ERRLEN, "%s", derr);
		return NULL;
	}
	return report;
}
