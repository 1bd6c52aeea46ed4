/*
 * abs-ctl tui: entities (entities; search as you type over name, type,
 * server, partition, pool and source; the selected one's last full and
 * incremental and its chains from entity) and tapes (tapes-where: pool,
 * state, usage, errors and where each is).
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tui.h"

/* ---- entities ---- */

struct entities_view {
	char name[256];		/* the entity detail holds */
	json_t *detail;
};

static int
entities_load(struct tui_screen *s)
{
	json_t *r = tui_call("entities", NULL), *last, *e, *x;
	size_t i, k;

	if (!r)
		return -1;
	/* Each one's last dumps and a broken chain, on its row. */
	last = tui_call("last-dumps", NULL);
	json_array_foreach(last, i, x)
		json_array_foreach(r, k, e)
			if (strcmp(jstr(e, "name"), jstr(x, "entity")) == 0) {
				json_object_set(e, "last", x);
				break;
			}
	json_decref(last);
	json_decref(s->data);
	s->data = r;
	if (s->priv)
		((struct entities_view *)s->priv)->name[0] = '\0';
	else
		s->priv = calloc(1, sizeof(struct entities_view));
	return 0;
}

static bool
entity_shown(struct tui_screen *s, json_t *e)
{
	return tui_match(s->filter, jstr(e, "name"), jstr(e, "type"),
	    jstr(e, "server"), jstr(e, "partition"), jstr(e, "pool"),
	    jstr(e, "source"), NULL);
}

/* The entity of item sel, as the filter shows them. */
static json_t *
entity_at(struct tui_screen *s, int sel)
{
	json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(s->data, i, e)
		if (entity_shown(s, e) && n++ == sel)
			return e;
	return NULL;
}

/* The selected entity's last dumps and chains, under the list. */
static void
entity_foot(struct tui_screen *s, struct tui_lines *l, json_t *e)
{
	struct entities_view *v = s->priv;
	json_t *d, *ch, *lf, *li;
	size_t i, n;
	char b[32];

	if (!v || !e)
		return;
	if (strcmp(v->name, jstr(e, "name")) != 0) {
		json_decref(v->detail);
		v->detail = tui_call("entity", json_pack("{s:s}", "name",
		    jstr(e, "name")));
		snprintf(v->name, sizeof(v->name), "%s", jstr(e, "name"));
	}
	if (!(d = v->detail))
		return;
	lf = json_object_get(d, "last_full");
	li = json_object_get(d, "last_incremental");
	tui_foot(l, TUI_HEAD, "%s  %s", jstr(d, "name"), jstr(d, "source"));
	tui_foot(l, TUI_NORMAL, "last full %s%s%s   last incremental %s",
	    json_is_object(lf) ? jstr(lf, "started") : "never",
	    json_is_object(lf) ? ", " : "", json_is_object(lf) ? tui_bytes(b,
	    sizeof(b), (double)jint(lf, "bytes")) : "", json_is_object(li) ?
	    jstr(li, "started") : "none");
	n = json_array_size(json_object_get(d, "chains"));
	if (!n)
		tui_foot(l, TUI_DIM, "%s", "no chain: never dumped");
	/* The two newest chains. */
	json_array_foreach(json_object_get(d, "chains"), i, ch) {
		if (i + 2 < n)
			continue;
		bool ok = json_is_true(json_object_get(ch, "restorable"));
		size_t nd = json_array_size(json_object_get(ch, "dumps"));
		tui_foot(l, ok ? TUI_GOOD : TUI_ALERT, "chain %.12s: %zu dump%s to"
		    " %s, %s%s", *jstr(ch, "full") ? jstr(ch, "full") :
		    "(no full)", nd, nd == 1 ? "" : "s", jstr(ch, "newest"), ok ?
		    "restorable" : "NOT RESTORABLE: ", ok ? "" : jstr(ch, "why"));
	}
	tui_foot(l, TUI_DIM, "%s", "Enter: its dumps by date, and restore");
}

static void
entities_build(struct tui_screen *s, struct tui_lines *l)
{
	json_t *e;
	size_t i;
	int n = 0;

	tui_add(l, -1, TUI_HEAD, "%-20s %-9s %-10s %-10s %-10s %-10s %s", "NAME",
	    "TYPE", "SERVER", "PARTITION", "LAST FULL", "LAST INCR", "CHAIN");
	json_array_foreach(s->data, i, e) {
		json_t *last = json_object_get(e, "last");
		const char *broken = jstr(last, "broken");
		if (!entity_shown(s, e))
			continue;
		tui_add(l, n++, *broken ? TUI_ALERT : jint(e, "active") ?
		    TUI_NORMAL : TUI_DIM,
		    "%-20.20s %-9.9s %-10.10s %-10.10s %-10.10s %-10.10s %s",
		    jstr(e, "name"), jstr(e, "type"), *jstr(e, "server") ?
		    jstr(e, "server") : "-", *jstr(e, "partition") ? jstr(e,
		    "partition") : "-", *jstr(last, "last_full") ? jstr(last,
		    "last_full") : "never", *jstr(last, "last_incremental") ?
		    jstr(last, "last_incremental") : "-", !jint(e, "active") ?
		    "removed" : *broken ? "BROKEN" : jint(last, "dumps") ? "ok" :
		    "-");
	}
	if (!n)
		tui_add(l, -1, TUI_DIM, "%s", s->filter[0] ? "no entity matches" :
		    "no entities (abs-ctl entity-add)");
	else
		entity_foot(s, l, entity_at(s, s->sel < n ? s->sel : n - 1));
}

static bool
entities_key(struct tui_screen *s, int ch, int sel)
{
	json_t *e;

	if (!(ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_RIGHT))
		return false;
	if (sel >= 0 && (e = entity_at(s, sel)))
		tui_push(&tui_dumps_ops, strdup(jstr(e, "name")));
	return true;
}

static void
entities_done(struct tui_screen *s)
{
	struct entities_view *v = s->priv;

	if (v)
		json_decref(v->detail);
}

const struct tui_ops tui_entities_ops = {
	.title = "entities",
	.help = "/          search as you type (name, type, server, partition,"
	    " pool, source)\n"
	    "Up/Down    select; its last dumps and chains show below\n"
	    "Enter      its dumps by date, and restore",
	.search = true,
	.load = entities_load,
	.build = entities_build,
	.key = entities_key,
	.done = entities_done,
};

/* ---- tapes ---- */

static int
tapes_load(struct tui_screen *s)
{
	json_t *r = tui_call("tapes-where", NULL);

	if (!r)
		return -1;
	json_decref(s->data);
	s->data = r;
	return 0;
}

static bool
tape_shown(struct tui_screen *s, json_t *t)
{
	return tui_match(s->filter, jstr(t, "label"), jstr(t, "pool"),
	    jstr(t, "state"), jstr(t, "where"), NULL);
}

static json_t *
tape_at(struct tui_screen *s, int sel)
{
	json_t *t;
	size_t i;
	int n = 0;

	json_array_foreach(s->data, i, t)
		if (tape_shown(s, t) && n++ == sel)
			return t;
	return NULL;
}

static void
tapes_build(struct tui_screen *s, struct tui_lines *l)
{
	json_t *t;
	size_t i;
	int n = 0;
	char b[32];

	tui_add(l, -1, TUI_HEAD, "%-8s %-8s %-14s %9s %5s %3s %s", "LABEL", "POOL",
	    "STATE", "USED", "FILES", "ERR", "WHERE");
	json_array_foreach(s->data, i, t) {
		const char *st = jstr(t, "state");
		if (!tape_shown(s, t))
			continue;
		tui_add(l, n++, jint(t, "errors") || strcmp(st, "out-of-service")
		    == 0 || strcmp(st, "destroyed") == 0 ? TUI_ALERT : TUI_NORMAL,
		    "%-8s %-8.8s %-14.14s %9s %5lld %3lld %s", jstr(t, "label"),
		    jstr(t, "pool"), st, tui_bytes(b, sizeof(b),
		    (double)jint(t, "bytes")), jint(t, "files"), jint(t, "errors"),
		    jstr(t, "where"));
	}
	if (!n)
		tui_add(l, -1, TUI_DIM, "%s", s->filter[0] ? "no tape matches" :
		    "no tapes (abs-ctl tape-add)");
	else
		tui_foot(l, TUI_DIM, "Enter: what a tape holds%s", tui_may(
		    "tape-state") ? "   s: mark it (out-of-service, ...)" : "");
}

/* What a tape holds (tape), in a box. */
static void
tape_detail(const char *label)
{
	json_t *r = tui_call("tape", json_pack("{s:s}", "label", label)), *p;
	char *text = NULL, title[96], b[32];
	size_t len = 0, i, n;
	FILE *fp;

	if (!r || !(fp = open_memstream(&text, &len))) {
		json_decref(r);
		return;
	}
	fprintf(fp, "pool %s, %s, %s in %lld files, %lld errors\n"
	    "last written %s\n", jstr(r, "pool"), jstr(r, "state"),
	    tui_bytes(b, sizeof(b), (double)jint(r, "bytes")), jint(r, "files"),
	    jint(r, "errors"), *jstr(r, "last_written") ? jstr(r,
	    "last_written") : "never");
	n = json_array_size(json_object_get(r, "parts"));
	json_array_foreach(json_object_get(r, "parts"), i, p) {
		if (i == 12) {
			fprintf(fp, "(%zu more parts)\n", n - i);
			break;
		}
		fprintf(fp, "file %-4lld %-20.20s L%lld %s part %lld %s\n",
		    jint(p, "file"), jstr(p, "entity"), jint(p, "level"),
		    jstr(p, "started"), jint(p, "part"), jstr(p, "dump_state"));
	}
	fclose(fp);
	if (len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	for (char *q = text; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\n')
			*q = '?';
	snprintf(title, sizeof(title), "tape %s", label);
	tui_confirm(title, text);
	free(text);
	json_decref(r);
}

static bool
tapes_key(struct tui_screen *s, int ch, int sel)
{
	json_t *t = sel >= 0 ? tape_at(s, sel) : NULL, *r;
	char state[32] = "";

	if (!t)
		return false;
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		tape_detail(jstr(t, "label"));
		return true;
	}
	if (ch != 's')
		return false;
	if (tui_denied("tape-state"))
		return true;
	if (!tui_prompt("new state (out-of-service, no-new-writes, appendable,"
	    " destroyed)", state, sizeof(state)) || !state[0])
		return true;
	if ((r = tui_call("tape-state", json_pack("{s:s,s:s}", "label",
	    jstr(t, "label"), "state", state)))) {
		tui_msg(TUI_GOOD, "tape %s is now %s", jstr(t, "label"), state);
		json_decref(r);
	}
	s->dirty = true;
	return true;
}

const struct tui_ops tui_tapes_ops = {
	.title = "tapes",
	.help = "/          search (label, pool, state, where)\n"
	    "Enter      what the tape holds\n"
	    "s          mark it: out-of-service, no-new-writes, appendable,"
	    " destroyed (operator)",
	.search = true,
	.load = tapes_load,
	.build = tapes_build,
	.key = tapes_key,
};
