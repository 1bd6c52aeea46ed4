/*
 * abs-ctl tui: the nightly report (report), as abs-ctld writes it for
 * people; [ and ] step to the night before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/tui.h"

struct report_view {
	char night[16];		/* "" : the last night abs-ctld knows */
};

static int
report_load(struct tui_screen *s)
{
	struct report_view *v = s->priv;
	json_t *args = json_object(), *r;

	if (!v && !(v = s->priv = calloc(1, sizeof(*v))))
		return -1;
	if (v->night[0])
		json_object_set_new(args, "night", json_string(v->night));
	if (!(r = tui_call("report", args)))
		return -1;
	json_decref(s->data);
	s->data = r;
	snprintf(v->night, sizeof(v->night), "%s", jstr(r, "night"));
	return 0;
}

static void
report_build(struct tui_screen *s, struct tui_lines *l)
{
	const char *text = jstr(s->data, "text"), *p = text, *q;

	if (!s->data) {
		tui_add(l, -1, TUI_DIM, "%s", "(no report)");
		return;
	}
	while (*p) {
		q = strchrnul(p, '\n');
		int n = (int)(q - p);
		enum tui_attr a = TUI_NORMAL;
		if (n && p[0] != ' ')
			a = TUI_HEAD;
		if (memmem(p, (size_t)n, "BELOW MINIMUM", 13) ||
		    memmem(p, (size_t)n, "NOT RESTORABLE", 14))
			a = TUI_ALERT;
		tui_add(l, -1, a, "%.*s", n, p);
		p = *q ? q + 1 : q;
	}
	tui_foot(l, TUI_DIM, "night %s   [: the night before   ]: the night"
	    " after", jstr(s->data, "night"));
}

/* The night d days from the one shown. */
static void
step_night(struct tui_screen *s, int d)
{
	struct report_view *v = s->priv;
	struct tm tm = { 0 };
	time_t t;

	if (!v || !strptime(v->night, "%Y-%m-%d", &tm))
		return;
	tm.tm_mday += d;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(v->night, sizeof(v->night), "%Y-%m-%d", &tm);
	s->scroll = 0;
	s->dirty = true;
}

static bool
report_key(struct tui_screen *s, int ch, int sel)
{
	(void)sel;
	if (ch == '[')
		step_night(s, -1);
	else if (ch == ']')
		step_night(s, 1);
	else
		return false;
	return true;
}

const struct tui_ops tui_report_ops = {
	.title = "nightly report",
	.help = "Up/Down    scroll\n"
	    "[          the night before\n"
	    "]          the night after",
	.load = report_load,
	.build = report_build,
	.key = report_key,
};
