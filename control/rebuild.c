/*
 * abs-ctl rebuild: a media server scans the cartridge in its drive (or
 * every cartridge of its library) and sends what each holds; the catalog
 * recreates tapes, entities, dumps and parts from it (catalog/rebuild.c).
 * While it scans, the drive takes no job; the summary goes to the drive's
 * messages.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/crippled_int.h"

#define REBUILDS 16

/* A drive's scan under way (engine: the media server it was asked of). */
static struct rebuild {
	char drive[64];
	const struct client *engine;
	pid_t pid;		/* and its process: a connection's memory is reused */
	bool running;
	int tapes, added, known, refused;
	int skipped;		/* cartridges not scanned: damaged, unreadable */
	json_t *labels;		/* label on the cartridge -> sticker (crippled) */
	int unreadable;		/* tape files neither header nor trailer */
	char last_refusal[PROTO_ERRLEN];
} rebuilds[REBUILDS];

/* The drive's scan record (create: a free one if none), or NULL. */
static struct rebuild *
rebuild_of(const struct drive *d, bool create)
{
	struct rebuild *free_one = NULL;

	for (int i = 0; i < REBUILDS; i++) {
		if (strcmp(rebuilds[i].drive, d->name) == 0)
			return &rebuilds[i];
		if (!free_one && !rebuilds[i].running)
			free_one = &rebuilds[i];
	}
	return create ? free_one : NULL;
}

/* Whether the drive's media server is scanning (no job may start). */
bool
ctld_rebuild_busy(const struct drive *d)
{
	const struct rebuild *r = rebuild_of(d, false);

	/* A media server that went away and came back scans no more. */
	return r && r->running && d->engine && r->engine == d->engine &&
	    r->pid == d->engine->pid;
}

/* rebuild [--drive D] [--library 1]: start the scan. */
json_t *
h_rebuild(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	const char *name = arg_str(a, "drive");
	bool library = arg_num(a, "library", 0) != 0;
	struct drive *d = name ? ctld_drive(c, name, false) : NULL;
	struct rebuild *r;
	json_t *ev, *l;
	size_t i;
	(void)cl;

	if (!name)
		FAIL(PROTO_E_BAD_ARGS, "rebuild needs --drive DRIVE");
	if (!d || !d->engine)
		FAIL(PROTO_E_NO_DRIVE, "no media server serves drive %s", name);
	if (d->job || ctld_rebuild_busy(d) || strcmp(d->state, "idle") != 0)
		FAIL("busy", "drive %s is %s: rebuild when it is idle", name,
		    ctld_rebuild_busy(d) ? "scanning" : d->state);
	if (!(r = rebuild_of(d, true)))
		FAIL("busy", "%d scans run already", REBUILDS);
	json_decref(r->labels);
	memset(r, 0, sizeof(*r));
	r->labels = json_object();
	json_array_foreach(json_object_get(a, "label_map"), i, l) {
		char gen[64], phys[64], extra[2];
		if (!json_string_value(l) || sscanf(json_string_value(l),
		    "%63s %63s %1s", gen, phys, extra) != 2 || !cat_name_valid(phys))
			FAIL(PROTO_E_BAD_ARGS, "label map entry '%.80s' is not"
			    " 'GENERATED PHYSICAL'", json_string_value(l) ?
			    json_string_value(l) : "");
		json_object_set_new(r->labels, gen, json_string(phys));
	}
	snprintf(r->drive, sizeof(r->drive), "%s", d->name);
	r->engine = d->engine;
	r->pid = d->engine->pid;
	r->running = true;
	d->state = "scanning";
	ev = json_pack("{s:s,s:b}", "event", "scan", "library", library);
	ctld_send(d->engine, ev);	/* it keeps a copy */
	json_decref(ev);
	ctld_message(c, d, "info", "rebuild: scanning %s", library ?
	    "every cartridge of the library" : "the cartridge in the drive");
	return json_pack("{s:s,s:b,s:s}", "drive", d->name, "library", library,
	    "state", "scanning");
}

/* The running scan of the drive that sent an event, or NULL. */
static struct rebuild *
scanning(struct drive *d)
{
	return ctld_rebuild_busy(d) ? rebuild_of(d, false) : NULL;
}

/* The catalog's label of a cartridge: its sticker if the map names one. */
static const char *
sticker(const struct rebuild *r, const char *label)
{
	const char *s = r && label ? json_string_value(json_object_get(r->labels,
	    label)) : NULL;

	return s ? s : label;
}

/* A cartridge's label (done false), or the cartridge scanned (done). */
json_t *
ev_scan_tape(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct cat_rebuild_tape t = {
		.label = arg_str(p, "label"), .tape_id = arg_str(p, "tape_id"),
		.pool = arg_str(p, "pool"), .labelled_at = arg_str(p, "labelled_at"),
		.done = json_is_true(json_object_get(p, "done")),
		.full = json_is_true(json_object_get(p, "full")),
	};
	struct rebuild *r = scanning(d);
	char dberr[CAT_ERRLEN];
	int rc;

	if (!r)
		FAIL("not-waiting", "drive %s is not scanning", d->name);
	t.label = sticker(r, t.label);
	if ((rc = cat_rebuild_tape(c->db, &t, dberr)) < 0) {
		r->refused++;
		snprintf(r->last_refusal, sizeof(r->last_refusal), "%s", dberr);
		ctld_message(c, d, "error", "rebuild: cartridge %s: %s", t.label ?
		    t.label : "?", dberr);
		return cat_failed(code, err, rc, dberr);
	}
	if (t.done) {
		json_int_t other = json_integer_value(json_object_get(p, "other"));
		r->tapes++;
		r->unreadable += other > 0 ? (int)(other > 1000000 ? 1000000 : other) :
		    0;
		if (other > 0)
			ctld_message(c, d, "error", "rebuild: cartridge %s (%s) scanned%s;"
			    " %lld tape files on it are neither a part's header nor its"
			    " trailer (unreadable or damaged): parts there are lost",
			    t.label, t.tape_id, t.full ? ", full" : "", (long long)other);
		else
			ctld_message(c, d, "info", "rebuild: cartridge %s (%s) scanned%s",
			    t.label, t.tape_id, t.full ? ", full" : "");
	}
	return json_pack("{s:b}", "recorded", 1);
}

/* A part the scan found. */
json_t *
ev_scan_part(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct cat_rebuild_part part = {
		.label = arg_str(p, "label"), .tape_id = arg_str(p, "tape_id"),
		.dump_uid = arg_str(p, "dump"), .entity = arg_str(p, "entity"),
		.entity_type = arg_str(p, "entity_type"),
		.server = arg_str(p, "server"), .partition = arg_str(p, "partition"),
		.source_kind = arg_str(p, "source_kind"),
		.source = arg_str(p, "source"), .compress = arg_str(p, "compress"),
		.level = arg_num(p, "level", -1), .job = arg_num(p, "job", 0),
		.started = arg_str(p, "date"), .since = arg_str(p, "since"),
		.part = arg_num(p, "part", 0), .file = arg_num(p, "file", 0),
		.offset = arg_num(p, "offset", -1), .bytes = arg_num(p, "bytes", -1),
		.blocks = arg_num(p, "blocks", -1),
		.block_size = arg_num(p, "block_size", 0),
		.digest_alg = arg_str(p, "digest_alg"),
		.digest = arg_str(p, "digest"),
		.trailer = json_is_true(json_object_get(p, "trailer")),
		.written = arg_str(p, "written"),
		.last = json_is_true(json_object_get(p, "last")),
		.stream_bytes = arg_num(p, "stream_bytes", 0),
		.raw_bytes = arg_num(p, "raw_bytes", 0),
		.stream_digest = arg_str(p, "stream_digest"),
		.raw_digest = arg_str(p, "raw_digest"),
		.prev_tape_id = arg_str(p, "prev_tape_id"),
		.base_uid = arg_str(p, "base"),
		.index_raw = arg_num(p, "index_raw", 0),
		.index_stored = arg_num(p, "index_stored", 0),
		.index_bytes = arg_num(p, "index_bytes", 0),
	};
	struct rebuild *r = scanning(d);
	char dberr[CAT_ERRLEN];
	int rc;

	if (!r)
		FAIL("not-waiting", "drive %s is not scanning", d->name);
	/* A crippled-mode job was never the catalog's (merge keeps none). */
	if (part.job > CRIP_JOB_BASE)
		part.job = 0;
	part.label = sticker(r, part.label);
	if ((rc = cat_rebuild_part(c->db, &part, dberr)) < 0) {
		/* One part refused: the scan goes on, the operator is told. */
		r->refused++;
		snprintf(r->last_refusal, sizeof(r->last_refusal), "%s", dberr);
		ctld_message(c, d, "error", "rebuild: %s file %lld: %s",
		    part.label ? part.label : "?", (long long)part.file, dberr);
		return json_pack("{s:b,s:s}", "recorded", 0, "why", dberr);
	}
	if (rc == 1)
		r->added++;
	else
		r->known++;
	return json_pack("{s:b}", "recorded", 1);
}

/* A library slot whose cartridge could not be scanned (its label). */
json_t *
ev_scan_skipped(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct rebuild *r = scanning(d);

	if (!r)
		FAIL("not-waiting", "drive %s is not scanning", d->name);
	r->skipped++;
	snprintf(r->last_refusal, sizeof(r->last_refusal), "slot %lld: %s",
	    (long long)arg_num(p, "slot", 0), arg_str(p, "why"));
	ctld_message(c, d, "error", "rebuild: slot %lld not scanned: %s",
	    (long long)arg_num(p, "slot", 0), arg_str(p, "why"));
	return json_pack("{s:b}", "recorded", 1);
}

/* The scan is over: the summary, and the drive takes jobs again. */
json_t *
ev_scan_end(struct ctld *c, struct drive *d, json_t *p, const char **code,
    char *err)
{
	struct rebuild *r = scanning(d);
	struct cat_rebuild_counts n;
	char dberr[CAT_ERRLEN];
	const char *why = arg_str(p, "error");
	bool bad;

	if (!r)
		FAIL("not-waiting", "drive %s is not scanning", d->name);
	r->running = false;
	d->state = "idle";
	if (cat_rebuild_counts(c->db, &n, dberr) < 0) {
		cat_warn(c, d, dberr);
		memset(&n, 0, sizeof(n));
	}
	bad = why || r->refused || r->skipped || r->unreadable;
	ctld_message(c, d, bad ? "error" : "info", "rebuild done:"
	    " %d cartridges scanned, %d parts added, %d known already, %d"
	    " refused, %d cartridges not scanned, %d unreadable tape files%s%s;"
	    " the catalog has %lld complete dumps, %lld incomplete (parts on"
	    " cartridges not scanned yet), %lld tapes%s%s", r->tapes, r->added,
	    r->known, r->refused, r->skipped, r->unreadable, r->refused ||
	    r->skipped ? ", last: " : "", r->refused || r->skipped ?
	    r->last_refusal : "", (long long)n.complete, (long long)n.incomplete,
	    (long long)n.tapes, why ? "; stopped: " : "", why ? why : "");
	ctld_dispatch(c, d);
	return json_pack("{s:b}", "ok", 1);
}
