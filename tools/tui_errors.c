/*
 * abs-ctl tui: errors per drive and per tape over the last weeks, a small
 * histogram per week (errors: per_drive and per_tape by day, summed into
 * weeks from Monday). Enter: the events of the selected drive or tape.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/tui.h"

#define WEEKS 8
#define CELL 6		/* columns of a week: a bar of CELL-1 */

/* One row of the histogram: a drive or a tape and its weeks. */
struct erow {
	bool tape;
	char name[64];
	long long week[WEEKS], total;
};

struct errors_view {
	time_t first;		/* the Monday the oldest week starts */
	struct erow *rows;
	size_t n;
};

static time_t
day_of(const char *s)
{
	struct tm tm = { 0 };

	if (!strptime(s, "%Y-%m-%d", &tm))
		return (time_t)-1;
	return timegm(&tm);
}

static void
add_days(struct errors_view *v, json_t *days, const char *key, bool tape)
{
	json_t *d;
	size_t i, k;

	json_array_foreach(days, i, d) {
		time_t t = day_of(jstr(d, "day"));
		long w;
		if (t == (time_t)-1 || t < v->first)
			continue;
		w = (long)((t - v->first) / (7 * 86400));
		if (w >= WEEKS)
			w = WEEKS - 1;
		for (k = 0; k < v->n; k++)
			if (v->rows[k].tape == tape &&
			    strcmp(v->rows[k].name, jstr(d, key)) == 0)
				break;
		if (k == v->n) {
			struct erow *nr = realloc(v->rows, (v->n + 1) * sizeof(*nr));
			if (!nr)
				return;
			v->rows = nr;
			memset(&nr[k], 0, sizeof(nr[k]));
			nr[k].tape = tape;
			snprintf(nr[k].name, sizeof(nr[k].name), "%s", jstr(d, key));
			v->n++;
		}
		v->rows[k].week[w] += jint(d, "errors");
		v->rows[k].total += jint(d, "errors");
	}
}

static int
errors_load(struct tui_screen *s)
{
	struct errors_view *v = s->priv;
	time_t now = time(NULL);
	struct tm tm;
	char since[16];
	json_t *r;

	if (!v && !(v = s->priv = calloc(1, sizeof(*v))))
		return -1;
	gmtime_r(&now, &tm);
	/* Midnight of this week's Monday, then WEEKS-1 weeks back. */
	v->first = now - now % 86400 - (time_t)((tm.tm_wday + 6) % 7) * 86400 -
	    (time_t)(WEEKS - 1) * 7 * 86400;
	gmtime_r(&v->first, &tm);
	strftime(since, sizeof(since), "%Y-%m-%d", &tm);
	if (!(r = tui_call("errors", json_pack("{s:s}", "since", since))))
		return -1;
	json_decref(s->data);
	s->data = r;
	free(v->rows);
	v->rows = NULL;
	v->n = 0;
	add_days(v, json_object_get(r, "per_drive"), "drive", false);
	add_days(v, json_object_get(r, "per_tape"), "label", true);
	return 0;
}

static void
errors_build(struct tui_screen *s, struct tui_lines *l)
{
	struct errors_view *v = s->priv;
	char head[WEEKS * CELL + 1] = "", cells[WEEKS * CELL + 1];
	long long max = 0;
	int item = 0;

	if (!v || !s->data) {
		tui_add(l, -1, TUI_DIM, "%s", "(no answer)");
		return;
	}
	for (int w = 0; w < WEEKS; w++) {
		time_t t = v->first + (time_t)w * 7 * 86400;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(head + w * CELL, CELL + 1, "%m-%d ", &tm);
	}
	for (size_t k = 0; k < v->n; k++)
		for (int w = 0; w < WEEKS; w++)
			if (v->rows[k].week[w] > max)
				max = v->rows[k].week[w];
	tui_add(l, -1, TUI_DIM, "%s", "errors per week from Monday, the oldest"
	    " left (# scaled to the largest)");
	tui_add(l, -1, TUI_HEAD, "%-16s %s %6s", "", head, "total");
	for (int tape = 0; tape < 2; tape++) {
		bool any = false;
		tui_add(l, -1, TUI_HEAD, "%s", tape ? "TAPES" : "DRIVES");
		for (size_t k = 0; k < v->n; k++) {
			struct erow *r = &v->rows[k];
			if (r->tape != tape || !tui_match(s->filter, r->name, NULL))
				continue;
			any = true;
			for (int w = 0; w < WEEKS; w++) {
				char *c = cells + w * CELL;
				int bar = r->week[w] && max ? (int)((r->week[w] *
				    (CELL - 1) + max - 1) / max) : 0;
				memset(c, ' ', CELL);
				if (!r->week[w])
					c[0] = '.';
				memset(c, '#', (size_t)bar);
			}
			cells[WEEKS * CELL] = '\0';
			tui_add(l, item++, r->total ? TUI_WARN : TUI_NORMAL,
			    "  %-14.14s %s %6lld", r->name, cells, r->total);
		}
		if (!any)
			tui_add(l, -1, TUI_DIM, "  (no errors in %d weeks)", WEEKS);
	}
}

/* The selected row (items are numbered in the order built). */
static struct erow *
row_at(struct tui_screen *s, int sel)
{
	struct errors_view *v = s->priv;
	int item = 0;

	for (int tape = 0; tape < 2 && v; tape++)
		for (size_t k = 0; k < v->n; k++) {
			if (v->rows[k].tape != tape || !tui_match(s->filter,
			    v->rows[k].name, NULL))
				continue;
			if (item++ == sel)
				return &v->rows[k];
		}
	return NULL;
}

static bool
errors_key(struct tui_screen *s, int ch, int sel)
{
	struct erow *r;
	json_t *e;
	size_t i;
	char *text = NULL, title[96];
	size_t len = 0;
	FILE *fp;
	int n = 0;

	if (!(ch == '\n' || ch == '\r' || ch == KEY_ENTER))
		return false;
	if (!(r = row_at(s, sel)) || !(fp = open_memstream(&text, &len)))
		return true;
	json_array_foreach(json_object_get(s->data, "events"), i, e) {
		if (strcmp(jstr(e, r->tape ? "label" : "drive"), r->name) != 0)
			continue;
		if (n++ < 15)
			fprintf(fp, "%s %-10s %s %.60s\n", jstr(e, "at"), jstr(e, "kind"),
			    r->tape ? jstr(e, "drive") : jstr(e, "label"),
			    jstr(e, "message"));
	}
	if (!n)
		fprintf(fp, "no events\n");
	else if (n > 15)
		fprintf(fp, "(%d more)\n", n - 15);
	fclose(fp);
	if (len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	for (char *p = text; p && *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			*p = '?';
	snprintf(title, sizeof(title), "errors of %s %s", r->tape ? "tape" :
	    "drive", r->name);
	tui_confirm(title, text ? text : "");
	free(text);
	return true;
}

static void
errors_done(struct tui_screen *s)
{
	struct errors_view *v = s->priv;

	if (v)
		free(v->rows);
}

const struct tui_ops tui_errors_ops = {
	.title = "errors per week",
	.help = "Up/Down    select a drive or a tape\n"
	    "Enter      its error events\n"
	    "/          only the drives and tapes whose name matches",
	.search = true,
	.load = errors_load,
	.build = errors_build,
	.key = errors_key,
	.done = errors_done,
};
