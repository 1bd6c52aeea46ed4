/*
 * abs-ctl tui: an entity's dumps by date (entity's chains, newest first)
 * and the restore of one: under a new name, to a path, one path or the
 * whole tree, that dump alone or its chain. The confirmation says which
 * tapes abs-ctld will ask for, in order and where each is (restore-plan);
 * once queued, the drives screen shows the job to its end.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tui.h"

/* ---- the dumps of an entity ---- */

/* The dumps, newest first, as the lines number them. */
static json_t *
dumps_flat(json_t *entity)
{
	json_t *out = json_array(), *ch, *d;
	size_t i, k;

	json_array_foreach(json_object_get(entity, "chains"), i, ch)
		json_array_foreach(json_object_get(ch, "dumps"), k, d) {
			json_t *x = json_deep_copy(d);
			json_object_set_new(x, "chain_full", json_string(jstr(ch,
			    "full")));
			json_object_set_new(x, "chain_ok", json_boolean(json_is_true(
			    json_object_get(ch, "restorable"))));
			json_array_insert_new(out, 0, x);
		}
	return out;
}

static int
dumps_load(struct tui_screen *s)
{
	json_t *r = tui_call("entity", json_pack("{s:s}", "name",
	    (const char *)s->priv));

	if (!r)
		return -1;
	json_decref(s->data);
	s->data = json_pack("{s:o,s:o}", "entity", r, "dumps", dumps_flat(r));
	return 0;
}

static void
dumps_build(struct tui_screen *s, struct tui_lines *l)
{
	json_t *d;
	size_t i;
	const char *chain = NULL;

	tui_add(l, -1, TUI_HEAD, "dumps of %s, newest first", (const char *)s->priv);
	tui_add(l, -1, TUI_HEAD, "  %-21s %-5s %-10s %-28s %s", "DATE", "LEVEL",
	    "STATE", "DUMP", "RESTORABLE");
	json_array_foreach(json_object_get(s->data, "dumps"), i, d) {
		bool ok = json_is_true(json_object_get(d, "restorable"));
		if (!chain || strcmp(chain, jstr(d, "chain_full")) != 0) {
			chain = jstr(d, "chain_full");
			tui_add(l, -1, TUI_DIM, "chain of full %s", *chain ? chain :
			    "(none: its full is gone)");
		}
		tui_add(l, (int)i, ok ? TUI_NORMAL : TUI_ALERT,
		    "  %-21s %-5lld %-10.10s %-28.28s %s%s", jstr(d, "started"),
		    jint(d, "level"), jstr(d, "state"), jstr(d, "dump"), ok ? "yes" :
		    "NO: ", ok ? "" : jstr(d, "why"));
	}
	if (!json_array_size(json_object_get(s->data, "dumps")))
		tui_add(l, -1, TUI_DIM, "%s", "no dumps");
	else if (tui_may("restore"))
		tui_foot(l, TUI_DIM, "%s", "Enter: restore the tree as of this dump");
}

static bool
dumps_key(struct tui_screen *s, int ch, int sel)
{
	json_t *d;

	if (!(ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_RIGHT))
		return false;
	if (tui_denied("restore"))
		return true;
	if (sel < 0 || !(d = json_array_get(json_object_get(s->data, "dumps"),
	    (size_t)sel)))
		return true;
	if (!json_is_true(json_object_get(d, "restorable"))) {
		tui_msg(TUI_ALERT, "not restorable: %s", jstr(d, "why"));
		return true;
	}
	tui_restore_open((const char *)s->priv, jstr(d, "started"),
	    (int)jint(d, "level"));
	return true;
}

const struct tui_ops tui_dumps_ops = {
	.title = "dumps",
	.help = "Up/Down    select a dump\n"
	    "Enter      restore the tree as of it (operator, retrieval)",
	.load = dumps_load,
	.build = dumps_build,
	.key = dumps_key,
};

/* ---- the restore form ---- */

enum { F_AS, F_TO, F_PATH, F_DRIVE, F_ONLY, F_GO, NFIELDS };

struct restore_form {
	char entity[256], date[32];
	int level;
	char as[256], to[1024], path[1024], drive[64];
	bool only;
};

void
tui_restore_open(const char *entity, const char *date, int level)
{
	struct restore_form *f = calloc(1, sizeof(*f));

	if (!f)
		return;
	snprintf(f->entity, sizeof(f->entity), "%s", entity);
	snprintf(f->date, sizeof(f->date), "%s", date);
	f->level = level;
	tui_push(&tui_restore_ops, f);
}

static void
form_build(struct tui_screen *s, struct tui_lines *l)
{
	struct restore_form *f = s->priv;

	tui_add(l, -1, TUI_HEAD, "Restore %s as of %s (a level %d dump)", f->entity,
	    f->date, f->level);
	tui_add(l, -1, TUI_NORMAL, "%s", "");
	tui_add(l, F_AS, TUI_NORMAL, "  under the name   %s", f->as[0] ? f->as :
	    "(its own)");
	tui_add(l, F_TO, TUI_NORMAL, "  to the path      %s", f->to[0] ? f->to :
	    "(the media server's restore directory)");
	tui_add(l, F_PATH, TUI_NORMAL, "  only the path    %s", f->path[0] ?
	    f->path : "(the whole tree)");
	tui_add(l, F_DRIVE, TUI_NORMAL, "  on the drive     %s", f->drive[0] ?
	    f->drive : "(an idle one)");
	tui_add(l, F_ONLY, TUI_NORMAL, "  what it reads    %s", f->only ?
	    "this dump alone" : "the chain: the full first, then each dump"
	    " since, to this one");
	tui_add(l, -1, TUI_NORMAL, "%s", "");
	tui_add(l, F_GO, TUI_HEAD, "%s", "  >> Restore... (the tapes it asks for"
	    " are shown first)");
	tui_foot(l, TUI_DIM, "%s", "Enter: change the field, or restore   q: back");
}

/* The restore's arguments; with_target: as, to, path, drive too. */
static json_t *
form_args(struct restore_form *f, bool with_target)
{
	json_t *a = json_pack("{s:s,s:s}", "entity", f->entity, "date", f->date);

	if (f->only)
		json_object_set_new(a, "level_only", json_integer(1));
	if (!with_target)
		return a;
	if (f->as[0])
		json_object_set_new(a, "as", json_string(f->as));
	if (f->to[0])
		json_object_set_new(a, "to", json_string(f->to));
	if (f->path[0])
		json_object_set_new(a, "path", json_pack("[s]", f->path));
	if (f->drive[0])
		json_object_set_new(a, "drive", json_string(f->drive));
	return a;
}

/* Ask restore-plan, say what will be read and asked for; then restore. */
static void
form_go(struct restore_form *f)
{
	json_t *plan = tui_call("restore-plan", form_args(f, false)), *d, *t, *r;
	char *text = NULL, b[32];
	size_t len = 0, i;
	FILE *fp;

	if (!plan)
		return;
	if (!(fp = open_memstream(&text, &len))) {
		json_decref(plan);
		return;
	}
	fprintf(fp, "%s as of %s%s%s\nto %s\n%s\n\nIt reads %zu dump%s:\n",
	    f->entity, f->date, f->as[0] ? " as " : "", f->as, f->to[0] ? f->to :
	    "the media server's restore directory", f->path[0] ? f->path :
	    "the whole tree", json_array_size(json_object_get(plan, "dumps")),
	    json_array_size(json_object_get(plan, "dumps")) == 1 ? "" : "s");
	json_array_foreach(json_object_get(plan, "dumps"), i, d)
		fprintf(fp, "  level %lld of %s, %s\n", jint(d, "level"),
		    jstr(d, "started"), tui_bytes(b, sizeof(b),
		    (double)jint(d, "bytes")));
	fprintf(fp, "\nTapes it asks for, in order:\n");
	json_array_foreach(json_object_get(plan, "tapes"), i, t)
		fprintf(fp, "  %-10s %s\n", jstr(t, "label"), jstr(t, "where"));
	fprintf(fp, "\nRestore?");
	fclose(fp);
	for (char *q = text; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\n')
			*q = '?';
	json_decref(plan);
	if (!tui_confirm("restore", text)) {
		free(text);
		tui_msg(TUI_NORMAL, "%s", "restore not started");
		return;
	}
	free(text);
	if (!(r = tui_call("restore", form_args(f, true))))
		return;
	tui_msg(TUI_GOOD, "restore job %lld of %s queued%s%s%s", jint(r, "job"),
	    f->entity, *jstr(r, "warning") ? " (" : "", jstr(r, "warning"),
	    *jstr(r, "warning") ? ")" : "");
	json_decref(r);
	/* Watch it: the drives and jobs screen in place of the form. */
	tui_pop();
	tui_push(&tui_drives_ops, NULL);
}

static bool
form_key(struct tui_screen *s, int ch, int sel)
{
	struct restore_form *f = s->priv;

	if (!(ch == '\n' || ch == '\r' || ch == KEY_ENTER))
		return false;
	switch (sel) {
	case F_AS:
		tui_prompt("restore under the name", f->as, sizeof(f->as));
		break;
	case F_TO:
		tui_prompt("to the path (absolute, on the media server's host)",
		    f->to, sizeof(f->to));
		break;
	case F_PATH:
		tui_prompt("only this path (empty: the whole tree)", f->path,
		    sizeof(f->path));
		break;
	case F_DRIVE:
		tui_prompt("on the drive (empty: an idle one)", f->drive,
		    sizeof(f->drive));
		break;
	case F_ONLY:
		f->only = !f->only;
		break;
	case F_GO:
		form_go(f);
		break;
	}
	return true;
}

const struct tui_ops tui_restore_ops = {
	.title = "restore",
	.help = "Up/Down    select a field\n"
	    "Enter      change it (type, Enter; Esc keeps it as it was);\n"
	    "           on 'what it reads': the chain or this dump alone;\n"
	    "           on Restore: what it reads and the tapes it asks for,\n"
	    "           then y to restore",
	.build = form_build,
	.key = form_key,
};
