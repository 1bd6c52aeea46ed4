/*
 * Read-only requests the console (abs-ctl tui, docs/TUI.md) asks and that
 * scripts may ask too: what a restore would read and the tapes it would
 * ask for, in order and where each is (restore-plan), every tape with its
 * errors and where it is (tapes-where), every entity's last dumps and
 * whether its current chain restores (last-dumps). They change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/handlers_int.h"

/* The entity's source kind ("dir", "cmd", "file") into arg. */
static int
kind_row(const struct cat_entity *e, void *arg)
{
	snprintf(arg, 8, "%.*s", (int)strcspn(e->source ? e->source : "", ":"),
	    e->source ? e->source : "");
	return 0;
}

/* The first element holding a cartridge: where it is, for people. */
static int
place_row(const struct cat_element *e, void *arg)
{
	json_t *o = arg;
	char where[160];

	if (json_object_get(o, "where"))
		return 0;
	if (strcmp(e->type, "drive") == 0)
		snprintf(where, sizeof(where), "drive %lld of %s%s%s%s",
		    (long long)e->num, e->library, e->drive ? " (" : "",
		    e->drive ? e->drive : "", e->drive ? ")" : "");
	else if (strcmp(e->type, "portal") == 0)
		snprintf(where, sizeof(where), "portal %lld of %s (to go offsite)",
		    (long long)e->num, e->library);
	else
		snprintf(where, sizeof(where), "%s %lld of %s", e->type,
		    (long long)e->num, e->library);
	return json_object_set_new(o, "where", json_string(where)) ||
	    json_object_set_new(o, "library", json_string(e->library)) ||
	    json_object_set_new(o, "element", json_string(e->type)) ||
	    json_object_set_new(o, "num", json_integer((json_int_t)e->num)) ?
	    -ENOMEM : 0;
}

/* Where the cartridge of a label is, into o (no library holds it: offsite
   or on a shelf); 0 or a catalog failure. */
static int
place_of(struct ctld *c, const char *label, json_t *o, char *dberr)
{
	int rc = cat_inventory_find(c->db, label, place_row, o, dberr);

	if (rc >= 0 && !json_object_get(o, "where")) {
		json_object_set_new(o, "where", json_string("offsite (in no"
		    " library)"));
		json_object_set_new(o, "element", json_string("offsite"));
	}
	return rc < 0 ? rc : 0;
}

json_t *
h_restore_plan(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *entity = arg_str(a, "entity"), *date;
	bool level_only = arg_num(a, "level_only", 0) != 0, indexed = true;
	char datebuf[32], dberr[CAT_ERRLEN], kind[8] = "";
	json_t *chain, *dumps, *tapes, *seen, *d, *p, *res;
	size_t i, k;
	int rc;
	(void)cl;

	if (ctld_date_arg(a, datebuf, sizeof(datebuf), &date, err) < 0) {
		*code = PROTO_E_BAD_ARGS;
		return NULL;
	}
	if ((rc = cat_entity_get(c->db, entity, kind_row, kind, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	/* As restore reads: a stream alone, a tree's chain full first. */
	if (strcmp(kind, "dir") != 0)
		level_only = true;
	if (!(chain = ctld_restore_chain(c, entity, date, level_only, code, err)))
		return NULL;
	json_array_foreach(chain, i, d)
		if (json_integer_value(json_object_get(d, "index_bytes")) <= 0)
			indexed = false;
	if (json_array_size(chain) > 1 && !indexed) {
		json_t *one = json_pack("[O]", json_array_get(chain,
		    json_array_size(chain) - 1));
		json_decref(chain);
		chain = one;
		level_only = true;
	}
	dumps = json_array();
	tapes = json_array();
	seen = json_object();
	rc = 0;
	json_array_foreach(chain, i, d) {
		json_array_append_new(dumps, json_pack("{s:O,s:O,s:O,s:O}", "dump",
		    json_object_get(d, "dump_uid"), "level", json_object_get(d,
		    "level"), "started", json_object_get(d, "started"), "bytes",
		    json_object_get(d, "bytes")));
		json_array_foreach(json_object_get(d, "parts"), k, p) {
			const char *label = json_string_value(json_object_get(p,
			    "label"));
			json_t *t;
			if (!label || json_object_get(seen, label) || rc < 0)
				continue;
			t = json_pack("{s:s,s:O}", "label", label, "tape_id",
			    json_object_get(p, "tape_id"));
			json_object_set_new(seen, label, json_true());
			if ((rc = place_of(c, label, t, dberr)) >= 0)
				json_array_append(tapes, t);
			json_decref(t);
		}
	}
	json_decref(seen);
	json_decref(chain);
	if (rc < 0) {
		json_decref(dumps);
		json_decref(tapes);
		return cat_failed(code, err, rc, dberr);
	}
	res = json_pack("{s:s,s:o,s:o,s:b}", "entity", entity, "dumps", dumps,
	    "tapes", tapes, "level_only", level_only);
	if (res && date)
		json_object_set_new(res, "date", json_string(date));
	return res ? res : cat_failed(code, err, -ENOMEM, "");
}

/* A tape for tapes-where (its errors and place added after). */
static int
where_row(const struct cat_tape *t, void *arr)
{
	return j_append(arr, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)t->id, "label", j_str(t->label), "tape_id",
	    j_str(t->tape_id), "pool", j_str(t->pool), "state", j_str(t->state),
	    "bytes", j_int(t->bytes), "files", j_int(t->files), "last_written",
	    j_str(t->last_written)));
}

json_t *
h_tapes_where(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *r = json_array(), *t;
	char dberr[CAT_ERRLEN];
	size_t i;
	int rc;
	(void)cl;

	rc = cat_tapes_list(c->db, arg_str(a, "pool"), where_row, r, dberr);
	/* The list first: the queries below do not run inside its rows. */
	json_array_foreach(r, i, t) {
		int64_t errors = 0;
		if (rc < 0)
			break;
		rc = cat_tape_errors(c->db, json_integer_value(json_object_get(t,
		    "id")), &errors, dberr);
		json_object_set_new(t, "errors", json_integer((json_int_t)errors));
		if (rc >= 0)
			rc = place_of(c, json_string_value(json_object_get(t,
			    "label")), t, dberr);
	}
	return j_list(r, rc, dberr, code, err);
}

/* An entity's last dumps for last-dumps. */
static int
last_row(const struct cat_last_dumps *e, void *obj)
{
	json_t *o = json_pack("{s:o,s:o,s:I}", "last_full", j_str(e->last_full),
	    "last_incremental", j_str(e->last_incr), "dumps",
	    (json_int_t)e->dumps);

	return o && json_object_set_new(obj, e->entity, o) == 0 ? 0 : -ENOMEM;
}

/* An entity whose current chain is broken: why, on its row. */
static int
broken_row(const struct cat_broken_chain *b, void *obj)
{
	json_t *o = json_object_get(obj, b->entity);

	return !o || json_object_set_new(o, "broken", json_string(b->why)) == 0 ?
	    0 : -ENOMEM;
}

json_t *
h_last_dumps(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *by = json_object(), *r = json_array(), *v;
	char dberr[CAT_ERRLEN];
	const char *k;
	int rc;
	(void)cl; (void)a;

	if ((rc = cat_entities_last_dumps(c->db, last_row, by, dberr)) >= 0)
		rc = cat_chains_broken(c->db, broken_row, by, dberr);
	json_object_foreach(by, k, v)
		if (rc >= 0 && json_object_set_new(v, "entity", json_string(k)) == 0)
			json_array_append(r, v);
	json_decref(by);
	return j_list(r, rc, dberr, code, err);
}
