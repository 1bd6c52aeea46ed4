/*
 * libFuzzer: a rebuild's scan as a media server reports it to abs-ctld -
 * scan-tape, scan-part, scan-skipped and scan-end events, one JSON object
 * a line, through the event checks and handlers into a new in-memory
 * catalog (catalog/rebuild.c). Whatever the events say, the catalog keeps
 * its promises: rebuilt dumps are incomplete, complete or expired; a
 * complete one has parts 1..N adding up to its bytes and a finished date;
 * no foreign key points nowhere. And when every cartridge's events are
 * accepted (each cartridge reported once, its parts on it), its
 * cartridges given in the reverse order rebuild the same dumps and tapes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"
#include "common/log.h"
#include "control/handlers_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAXEV 64

struct side {
	struct ctld c;
	struct client engine, admin;
	struct drive *d;
	const char *name;
};

static struct side sides[2] = { { .name = "fa" }, { .name = "fb" } };

/* A new catalog and a scan started on the side's drive; false if not. */
static bool
side_start(struct side *s)
{
	char err[PROTO_ERRLEN];
	const char *code = NULL;
	json_t *a, *r;

	/* One catalog a side, emptied for each input (opening is slow). */
	if (!s->c.db && cat_open(":memory:", &s->c.db, err) < 0)
		return false;
	if (sqlite3_exec(s->c.db->db, "DELETE FROM dump_parts; DELETE FROM"
	    " dumps; DELETE FROM jobs; DELETE FROM entities; DELETE FROM"
	    " messages; DELETE FROM entity_types WHERE name != 'default';"
	    " DELETE FROM tapes; DELETE FROM pools WHERE name != 'default';",
	    NULL, NULL, NULL) != SQLITE_OK)
		return false;
	if (!s->d) {
		s->engine.fd = s->admin.fd = -1;
		s->engine.pid = 4242;
		s->engine.roles = ROLE_ANY;
		s->admin.roles = ROLE_ANY;
		if (!(s->d = ctld_drive(&s->c, s->name, true)))
			return false;
		s->d->engine = &s->engine;
	}
	s->d->state = "idle";
	s->d->job = 0;
	a = json_pack("{s:s}", "drive", s->name);
	r = h_rebuild(&s->c, &s->admin, a, &code, err);
	json_decref(a);
	json_decref(r);
	s->engine.outlen = 0;
	return r != NULL;
}

/* One event to the side's abs-ctld: 1 taken, 0 refused. */
static int
side_event(struct side *s, json_t *ev)
{
	const struct ctld_event *row = ctld_event_find(json_string_value(
	    json_object_get(ev, "event")));
	char err[PROTO_ERRLEN];
	const char *code = NULL;
	json_t *r;

	if (!row || strncmp(row->name, "scan-", 5) != 0 ||
	    ctld_event_check(row, ev, err) < 0)
		return 0;
	r = row->fn(&s->c, s->d, ev, &code, err);
	/* A refused cartridge answers nothing, a refused part recorded false. */
	int ok = r && !json_is_false(json_object_get(r, "recorded"));
	json_decref(r);
	return ok;
}

/* One integer of the side's catalog. */
static int64_t
count(struct side *s, const char *sql)
{
	int64_t v = -1;
	char err[CAT_ERRLEN];

	ASSERT(db_int(s->c.db, err, "fuzz", &v, sql, "") >= 0);
	return v;
}

/* What the catalog promises whatever the events were. */
static void
invariants(struct side *s)
{
	ASSERT(count(s, "SELECT count(*) FROM dumps WHERE state NOT IN"
	    " ('incomplete', 'complete', 'expired')") == 0);
	ASSERT(count(s, "SELECT count(*) FROM dumps d WHERE state = 'complete'"
	    " AND (finished IS NULL OR bytes IS NULL OR (SELECT count(*) !="
	    " max(part) OR min(part) != 1 OR sum(bytes) != d.bytes FROM"
	    " dump_parts WHERE dump_id = d.id))") == 0);
	ASSERT(count(s, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
	ASSERT(count(s, "SELECT count(*) FROM dump_parts WHERE part < 1 OR"
	    " file < 1 OR offset < 0 OR bytes < 0 OR blocks < 0") == 0);
}

/* The dumps and tapes as one text, to compare two rebuilds. */
static char *
state_of(struct side *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	sqlite3_stmt *st;

	ASSERT(f != NULL);
	ASSERT(sqlite3_prepare_v2(s->c.db->db, "SELECT dump_uid || state ||"
	    " coalesce(finished, '-') || coalesce(bytes, '-') FROM dumps UNION"
	    " ALL SELECT '~' || tape_id || state || bytes || files ||"
	    " coalesce(last_written, '-') FROM tapes ORDER BY 1", -1, &st, NULL)
	    == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s\n", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	fclose(f);
	return out;
}

/* The events of the input, one object a line (at most MAXEV). */
static int
parse(const uint8_t *data, size_t size, json_t **ev)
{
	int n = 0;
	size_t i = 0;

	while (i < size && n < MAXEV) {
		size_t j = i;
		while (j < size && data[j] != '\n')
			j++;
		json_t *o = json_loadb((const char *)data + i, j - i, 0, NULL);
		if (json_is_object(o))
			ev[n++] = o;
		else
			json_decref(o);
		i = j + 1;
	}
	return n;
}

/*
 * The cartridges of the events in reverse order, if each is a clean
 * group (its label, its own parts, done) and no tape comes twice: the
 * order of the events into order[]; false if the input is not that.
 */
static bool
reversed(json_t **ev, int n, int *order)
{
	int start[MAXEV], len[MAXEV], g = 0, k = 0;

	for (int i = 0; i < n;) {
		const char *tid = json_string_value(json_object_get(ev[i], "tape_id"));
		if (strcmp(json_string_value(json_object_get(ev[i], "event")) ?
		    json_string_value(json_object_get(ev[i], "event")) : "",
		    "scan-tape") != 0 || !tid ||
		    json_is_true(json_object_get(ev[i], "done")))
			return false;
		for (int h = 0; h < g; h++)
			if (strcmp(tid, json_string_value(json_object_get(ev[start[h]],
			    "tape_id"))) == 0)
				return false;
		start[g] = i++;
		while (i < n && json_object_get(ev[i], "dump")) {
			const char *p = json_string_value(json_object_get(ev[i],
			    "tape_id"));
			if (!p || strcmp(p, tid) != 0)
				return false;
			i++;
		}
		if (i >= n || !json_is_true(json_object_get(ev[i], "done")) ||
		    !json_is_string(json_object_get(ev[i], "tape_id")) ||
		    strcmp(json_string_value(json_object_get(ev[i], "tape_id")),
		    tid) != 0)
			return false;
		i++;
		len[g] = i - start[g];
		g++;
	}
	for (int h = g - 1; h >= 0; h--)
		for (int e = 0; e < len[h]; e++)
			order[k++] = start[h] + e;
	return g > 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *ev[MAXEV];
	int order[MAXEV], n, taken[2] = { 0, 0 };
	bool rev;

	log_init("abs-ctld", LOG_LVL_QUIET, 0);
	n = parse(data, size, ev);
	rev = reversed(ev, n, order);
	for (int s = 0; s < (rev ? 2 : 1); s++) {
		if (!side_start(&sides[s]))
			goto out;
		for (int i = 0; i < n; i++)
			taken[s] += side_event(&sides[s], ev[s ? order[i] : i]);
		json_t *end = json_pack("{s:s}", "event", "scan-end");
		side_event(&sides[s], end);
		json_decref(end);
		invariants(&sides[s]);
	}
	if (rev && taken[0] == n && taken[1] == n) {
		char *a = state_of(&sides[0]), *b = state_of(&sides[1]);
		ASSERT(strcmp(a, b) == 0);
		free(a);
		free(b);
	}
out:
	for (int i = 0; i < n; i++)
		json_decref(ev[i]);
	return 0;
}
