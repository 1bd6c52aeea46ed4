/*
 * abs-ctl tui: the core of the console. One connection to abs-ctld (the
 * same socket, the same request table as every abs-ctl command), a stack
 * of screens, the lines they build drawn with a selection, '/' search,
 * '?' help, 'q' back. The keyboard waits at most a fifth of a second, so
 * live screens reload between keys without blocking them.
 *
 * The terminal is given back on every way out: 'q', a signal (TERM, INT,
 * HUP: a flag, the loop ends), a daemon that went away (a message after
 * endwin, exit 3), and exit() itself (atexit).
 */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/proto.h"
#include "tools/tui.h"

enum { EX_OK, EX_FAIL, EX_USAGE, EX_NODAEMON, EX_DENIED };

#define KEY_WAIT_MS 200
#define MIN_LINES 8
#define MIN_COLS 40

static struct {
	struct proto_conn *conn;
	const char *sock;
	unsigned roles;
	long long uid;
	char identity[64];	/* over TLS: who abs-ctld says we proved to be */
	char roles_text[64];
	char msg[512];
	enum tui_attr msg_attr;
	int timeout_s;		/* how long abs-ctld may take to answer */
	bool gone;		/* the daemon went away: stop */
	char gone_why[PROTO_ERRLEN];
	bool curses;		/* initscr ran, endwin not yet */
	bool colour;
	bool searching;		/* typing into the top screen's filter */
	struct tui_screen *top;
	struct tui_lines lines;	/* the top screen's, as last drawn */
	int body_h;		/* rows of its list, as last drawn */
} T;

static volatile sig_atomic_t stop_sig;

static void
on_signal(int sig)
{
	stop_sig = sig;
}

/* Give the terminal back; safe to call twice. */
static void
restore_terminal(void)
{
	if (T.curses && !isendwin())
		endwin();
	T.curses = false;
}

/* ---- small helpers ---- */

const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

long long
jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

double
jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

const char *
tui_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	size_t u = 0;

	while (b >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		b /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

void
tui_bar(char *buf, int w, double done, double total)
{
	int in = w - 2, fill = 0;

	if (in < 1) {
		buf[0] = '\0';
		return;
	}
	if (total > 0)
		fill = (int)(done / total * in + 0.5);
	if (fill > in)
		fill = in;
	if (fill < 0)
		fill = 0;
	buf[0] = '[';
	memset(buf + 1, '#', (size_t)fill);
	memset(buf + 1 + fill, '-', (size_t)(in - fill));
	buf[w - 1] = ']';
	buf[w] = '\0';
}

bool
tui_match(const char *filter, ...)
{
	va_list ap;
	const char *s;
	bool hit = false;

	if (!filter || !*filter)
		return true;
	va_start(ap, filter);
	while (!hit && (s = va_arg(ap, const char *)))
		hit = strcasestr(s, filter) != NULL;
	va_end(ap);
	return hit;
}

/* A line's text: control characters (escape sequences in a name or a
   message) shown as '?', never sent to the terminal. */
static char *
clean_text(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		/* the C1 controls (U+0080-U+009F) a terminal may act on */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
	return s;
}

static void
lines_push(struct tui_line **v, size_t *n, size_t *cap, char *text, int item,
    enum tui_attr attr)
{
	if (!text)
		return;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct tui_line *nv = realloc(*v, nc * sizeof(*nv));
		if (!nv) {
			free(text);
			return;
		}
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct tui_line){ text, attr, item };
}

void
tui_add(struct tui_lines *l, int item, enum tui_attr attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lines_push(&l->v, &l->n, &l->cap, clean_text(fmt, ap), item, attr);
	va_end(ap);
	if (item >= l->nitems)
		l->nitems = item + 1;
}

void
tui_foot(struct tui_lines *l, enum tui_attr attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lines_push(&l->foot, &l->nfoot, &l->capfoot, clean_text(fmt, ap), -1,
	    attr);
	va_end(ap);
}

static void
lines_clear(struct tui_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	for (size_t i = 0; i < l->nfoot; i++)
		free(l->foot[i].text);
	l->n = l->nfoot = 0;
	l->nitems = 0;
}

void
tui_msg(enum tui_attr attr, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = clean_text(fmt, ap);
	va_end(ap);
	snprintf(T.msg, sizeof(T.msg), "%s", s ? s : "");
	T.msg_attr = attr;
	free(s);
}

/* ---- the daemon ---- */

static long long now_ms(void);

/* The daemon is gone (or stalled): the loop stops, saying why. */
static void
gone(const char *why)
{
	T.gone = true;
	snprintf(T.gone_why, sizeof(T.gone_why), "%s", why);
}

/*
 * As proto_call, but the wait is cut in pieces of KEY_WAIT_MS so that a
 * signal stops the console at once even while abs-ctld is slow to answer.
 */
json_t *
tui_call(const char *op, json_t *args)
{
	char err[PROTO_ERRLEN];
	long long deadline = now_ms() + (long long)T.timeout_s * 1000;
	json_int_t id;
	json_t *m = NULL, *res;
	int rc;

	if (T.gone || stop_sig) {
		json_decref(args);
		return NULL;
	}
	if (!args)
		args = json_object();
	rc = proto_send(T.conn, op, args, &id, err);
	json_decref(args);
	if (rc < 0) {
		gone(err);
		return NULL;
	}
	for (;;) {
		json_t *rid;
		if (stop_sig)
			return NULL;
		if ((rc = proto_recv(T.conn, KEY_WAIT_MS, &m, err)) < 0) {
			gone(err);
			return NULL;
		}
		if (rc == 0) {
			if (T.timeout_s > 0 && now_ms() > deadline) {
				snprintf(err, sizeof(err), "abs-ctld did not answer %.40s"
				    " within %d s", op, T.timeout_s);
				gone(err);
				return NULL;
			}
			continue;
		}
		/* Ours, or a refusal of id 0 (the request could not be read). */
		rid = json_object_get(m, "id");
		if (json_is_integer(rid) && (json_integer_value(rid) == id ||
		    (json_integer_value(rid) == 0 && !proto_reply_ok(m))))
			break;
		json_decref(m);	/* an event pushed to us: not ours to act on */
	}
	if (!proto_reply_ok(m)) {
		const char *e = proto_reply_error(m);
		tui_msg(TUI_ALERT, "%s: %s", op, e ? e : "refused");
		json_decref(m);
		return NULL;
	}
	res = json_incref(json_object_get(m, "result"));
	json_decref(m);
	return res ? res : json_null();
}

bool
tui_may(const char *op)
{
	const struct proto_op *o = proto_find(op);

	if (!o)
		return false;
	return (T.roles & ROLE_ADMIN) || (o->roles & T.roles);
}

const char *
tui_roles(void)
{
	return T.roles_text;
}

bool
tui_denied(const char *op)
{
	const struct proto_op *o = proto_find(op);
	char need[128] = "?";

	if (tui_may(op))
		return false;
	if (o)
		proto_roles_text(o->roles, need, sizeof(need));
	tui_msg(TUI_ALERT, "not allowed: %s needs %s; your roles: %s", op, need,
	    T.roles_text[0] ? T.roles_text : "none");
	return true;
}

/* Who we are: uid and roles, from abs-ctld. */
static int
ask_roles(void)
{
	json_t *r = tui_call("whoami", NULL), *v;
	size_t i, n = 0;

	if (!r)
		return -1;
	T.uid = jint(r, "uid");
	snprintf(T.identity, sizeof(T.identity), "%s",
	    json_string_value(json_object_get(r, "identity")) ?
	    json_string_value(json_object_get(r, "identity")) : "");
	T.roles = 0;
	T.roles_text[0] = '\0';
	json_array_foreach(json_object_get(r, "roles"), i, v) {
		int b = proto_role_from_name(json_string_value(v));
		if (b > 0)
			T.roles |= (unsigned)b;
		n += (size_t)snprintf(T.roles_text + n, n < sizeof(T.roles_text) ?
		    sizeof(T.roles_text) - n : 0, "%s%s", n ? " " : "",
		    json_string_value(v));
		if (n >= sizeof(T.roles_text))
			n = sizeof(T.roles_text) - 1;
	}
	json_decref(r);
	return 0;
}

/* ---- the screen stack ---- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
load(struct tui_screen *s)
{
	s->loaded_ms = now_ms();
	s->dirty = false;
	if (s->ops->load)
		s->ops->load(s);
}

void
tui_push(const struct tui_ops *ops, void *priv)
{
	struct tui_screen *s = calloc(1, sizeof(*s));

	if (!s) {
		free(priv);
		tui_msg(TUI_ALERT, "out of memory");
		return;
	}
	s->ops = ops;
	s->priv = priv;
	s->below = T.top;
	T.top = s;
	T.searching = false;
	load(s);
}

void
tui_pop(void)
{
	struct tui_screen *s = T.top;

	if (!s)
		return;
	T.top = s->below;
	T.searching = false;
	if (s->ops->done)
		s->ops->done(s);
	json_decref(s->data);
	free(s->priv);
	free(s);
	/* What it shows may have changed meanwhile. */
	if (T.top)
		T.top->dirty = true;
}

/* ---- drawing ---- */

static attr_t
look(enum tui_attr a)
{
	switch (a) {
	case TUI_HEAD:
		return A_BOLD | (T.colour ? COLOR_PAIR(4) : 0);
	case TUI_ALERT:
		return A_BOLD | (T.colour ? COLOR_PAIR(1) : A_UNDERLINE);
	case TUI_GOOD:
		return T.colour ? COLOR_PAIR(2) : 0;
	case TUI_WARN:
		return T.colour ? COLOR_PAIR(3) : A_BOLD;
	case TUI_DIM:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

static void
put(int y, const char *text, attr_t a)
{
	attrset(a);
	mvaddnstr(y, 0, text, COLS);
	attrset(A_NORMAL);
}

/* The first and last line of item i, or false. */
static bool
item_span(const struct tui_lines *l, int i, size_t *f, size_t *e)
{
	bool found = false;

	for (size_t k = 0; k < l->n; k++)
		if (l->v[k].item == i) {
			if (!found)
				*f = k;
			*e = k;
			found = true;
		}
	return found;
}

/* The hints of the bottom line. */
static void
draw_hints(void)
{
	char buf[256];
	struct tui_screen *s = T.top;

	if (T.searching)
		snprintf(buf, sizeof(buf), "/%s_   (Enter: keep, Esc: clear)",
		    s->filter);
	else
		snprintf(buf, sizeof(buf), "?:help  q:back  r:reload%s%s%s",
		    s->ops->search ? "  /:search" : "", s->filter[0] ?
		    "  filter: " : "", s->filter);
	put(LINES - 1, buf, A_REVERSE);
}

static void
draw(void)
{
	struct tui_screen *s = T.top;
	struct tui_lines *l = &T.lines;
	char title[256];
	int body, h;
	size_t f = 0, e = 0;

	lines_clear(l);
	erase();
	if (LINES < MIN_LINES || COLS < MIN_COLS) {
		mvaddnstr(0, 0, "the terminal is too small for the console"
		    " (40x8 at least): Q leaves", COLS);
		T.body_h = 1;
		return;
	}
	s->ops->build(s, l);
	snprintf(title, sizeof(title), " ABS console: %s", s->ops->title);
	attrset(A_REVERSE | A_BOLD);
	mvhline(0, 0, ' ', COLS);
	mvaddnstr(0, 0, title, COLS);
	{
		char who[160];
		int w = T.identity[0] ?
		    snprintf(who, sizeof(who), "%s: %s ", T.identity,
		    T.roles_text[0] ? T.roles_text : "no role") :
		    snprintf(who, sizeof(who), "uid %lld: %s ", T.uid,
		    T.roles_text[0] ? T.roles_text : "no role");
		if (w < COLS - (int)strlen(title) - 1)
			mvaddstr(0, COLS - w, who);
	}
	attrset(A_NORMAL);
	body = LINES - 3;
	h = body - (int)l->nfoot;
	if (h < 1)
		h = 1;
	T.body_h = h;
	if (l->nitems > 0) {
		if (s->sel >= l->nitems)
			s->sel = l->nitems - 1;
		if (s->sel < 0)
			s->sel = 0;
		if (item_span(l, s->sel, &f, &e)) {
			if ((int)e >= s->scroll + h)
				s->scroll = (int)e - h + 1;
			if ((int)f < s->scroll)
				s->scroll = (int)f;
		}
	} else {
		int max = (int)l->n - h;
		if (s->scroll > max)
			s->scroll = max;
	}
	if (s->scroll < 0)
		s->scroll = 0;
	for (int y = 0; y < h && (size_t)(s->scroll + y) < l->n; y++) {
		struct tui_line *ln = &l->v[s->scroll + y];
		attr_t a = look(ln->attr);
		if (l->nitems > 0 && ln->item == s->sel)
			a |= A_REVERSE;
		put(1 + y, ln->text, a);
	}
	for (size_t k = 0; k < l->nfoot && (int)k < body; k++)
		put(1 + body - (int)l->nfoot + (int)k, l->foot[k].text,
		    look(l->foot[k].attr));
	put(LINES - 2, T.msg, look(T.msg_attr));
	draw_hints();
}

/* ---- help, prompt, confirmation ---- */

static const char global_help[] =
    "Up/Down, PgUp/PgDn, Home/End   move\n"
    "Enter      open the selected line\n"
    "/          search (type; Enter keeps it, Esc clears it)\n"
    "r          reload now\n"
    "q, Esc     back (on the first screen: leave)\n"
    "Q          leave the console\n"
    "?          this help";

/* A box in the middle with the lines of text; waits for a key. */
static int
box_text(const char *title, const char *text, const char *foot)
{
	int n = 0, w = (int)strlen(title) + 4, ch;
	const char *p = text, *q;

	for (;;) {
		q = strchr(p, '\n');
		int lw = q ? (int)(q - p) : (int)strlen(p);
		if (lw + 4 > w)
			w = lw + 4;
		n++;
		if (!q)
			break;
		p = q + 1;
	}
	if ((int)strlen(foot) + 4 > w)
		w = (int)strlen(foot) + 4;
	for (;;) {
		int bw = w > COLS ? COLS : w, bh = n + 4 > LINES ? LINES : n + 4;
		WINDOW *win;

		draw();
		wnoutrefresh(stdscr);
		win = LINES < MIN_LINES || COLS < MIN_COLS ? NULL : newwin(bh, bw,
		    (LINES - bh) / 2, (COLS - bw) / 2);
		if (!win) {
			doupdate();
			return 27;
		}
		werase(win);
		box(win, 0, 0);
		wattron(win, A_BOLD);
		mvwaddnstr(win, 0, 2, title, bw - 4);
		wattroff(win, A_BOLD);
		p = text;
		for (int y = 0; y < bh - 4 && p; y++) {
			q = strchr(p, '\n');
			mvwaddnstr(win, 1 + y, 2, p, q ? (int)(q - p) < bw - 3 ?
			    (int)(q - p) : bw - 3 : bw - 3);
			p = q ? q + 1 : NULL;
		}
		mvwaddnstr(win, bh - 2, 2, foot, bw - 3);
		wnoutrefresh(win);
		doupdate();
		do {
			ch = getch();
		} while (ch == ERR && !stop_sig);
		delwin(win);
		if (stop_sig)
			return 27;
		if (ch != KEY_RESIZE)
			return ch;
	}
}

static void
show_help(void)
{
	char *text = NULL;
	const struct tui_ops *o = T.top->ops;

	if (asprintf(&text, "%s%s%s", o->help ? o->help : "", o->help ?
	    "\n\n" : "", global_help) < 0)
		return;
	box_text(o->title, text, "any key: close");
	free(text);
}

bool
tui_confirm(const char *title, const char *text)
{
	int ch = box_text(title, text, "y: yes    n, Esc: no");

	return ch == 'y' || ch == 'Y';
}

bool
tui_prompt(const char *label, char *out, size_t len)
{
	char buf[1024];
	size_t n;
	int ch;

	/* Edited apart: Esc leaves out as it was. */
	if (len > sizeof(buf))
		len = sizeof(buf);
	snprintf(buf, len, "%s", out);
	n = strlen(buf);

	curs_set(1);
	for (;;) {
		draw();
		attrset(A_BOLD);
		mvhline(LINES - 2, 0, ' ', COLS);
		mvaddnstr(LINES - 2, 0, label, COLS);
		addstr(": ");
		attrset(A_NORMAL);
		addnstr(buf, COLS - getcurx(stdscr) - 1 > 0 ?
		    COLS - getcurx(stdscr) - 1 : 0);
		put(LINES - 1, "Enter: accept   Esc: cancel   ^U: clear",
		    A_REVERSE);
		move(LINES - 2, getcurx(stdscr));
		{
			int x = (int)strlen(label) + 2 + (int)n;
			move(LINES - 2, x < COLS ? x : COLS - 1);
		}
		refresh();
		ch = getch();
		if (stop_sig || T.gone)
			break;
		if (ch == ERR || ch == KEY_RESIZE)
			continue;
		if (ch == 27) {
			curs_set(0);
			return false;
		}
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			curs_set(0);
			memcpy(out, buf, n + 1);
			return true;
		}
		if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			/* a whole UTF-8 character */
			while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0)
				n--;
			buf[n] = '\0';
		} else if (ch == 21) {	/* ^U */
			n = 0;
			buf[0] = '\0';
		} else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f &&
		    n + 1 < len) {
			buf[n++] = (char)ch;
			buf[n] = '\0';
		}
	}
	curs_set(0);
	return false;
}

/* ---- the first screen: a menu ---- */

static const struct {
	const char *name;
	const struct tui_ops *ops;
	const char *what;
} menu[] = {
	{ "Drives and jobs", &tui_drives_ops,
	    "live: progress, mount requests, messages" },
	{ "Entities", &tui_entities_ops,
	    "search, chains, dumps by date, restore" },
	{ "Tapes", &tui_tapes_ops, "pool, state, usage, errors, where" },
	{ "Errors", &tui_errors_ops, "per drive and per tape, per week" },
	{ "Nightly report", &tui_report_ops, "what last night did" },
};
#define NMENU (sizeof(menu) / sizeof(menu[0]))

static void
menu_build(struct tui_screen *s, struct tui_lines *l)
{
	(void)s;
	tui_add(l, -1, TUI_NORMAL, "%s", "");
	for (size_t i = 0; i < NMENU; i++)
		tui_add(l, (int)i, TUI_NORMAL, "  %zu  %-18s %s", i + 1,
		    menu[i].name, menu[i].what);
	tui_add(l, -1, TUI_NORMAL, "%s", "");
	tui_add(l, -1, TUI_DIM, "  abs-ctld at %s", T.sock);
	if (!tui_may("mounted"))
		tui_add(l, -1, TUI_DIM, "  (your roles do not include the"
		    " operator's: mount answers, aborts and tape states are not"
		    " offered)");
}

static bool
menu_key(struct tui_screen *s, int ch, int sel)
{
	(void)s;
	if (ch >= '1' && ch < '1' + (int)NMENU)
		sel = ch - '1';
	else if (!(ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_RIGHT))
		return false;
	if (sel >= 0 && sel < (int)NMENU)
		tui_push(menu[sel].ops, NULL);
	return true;
}

static const struct tui_ops menu_ops = {
	.title = "menu",
	.help = "1-5, Enter  open a screen",
	.build = menu_build,
	.key = menu_key,
};

/* ---- the loop ---- */

/* Keys of '/' search; true if taken. */
static bool
search_key(int ch)
{
	struct tui_screen *s = T.top;
	size_t n = strlen(s->filter);

	if (ch == 27) {
		s->filter[0] = '\0';
		T.searching = false;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		T.searching = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (n > 0 && ((unsigned char)s->filter[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			s->filter[--n] = '\0';
		else
			T.searching = false;
	} else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f &&
	    n + 1 < sizeof(s->filter)) {
		s->filter[n] = (char)ch;
		s->filter[n + 1] = '\0';
	} else {
		return false;
	}
	s->sel = 0;
	s->scroll = 0;
	return true;
}

/* Movement keys over the items (or the lines when there are none). */
static bool
move_key(int ch)
{
	struct tui_screen *s = T.top;
	int step, n = T.lines.nitems, page = T.body_h > 2 ? T.body_h - 1 : 1;

	switch (ch) {
	case KEY_UP: case 'k': step = -1; break;
	case KEY_DOWN: case 'j': step = 1; break;
	case KEY_PPAGE: step = -page; break;
	case KEY_NPAGE: case ' ': step = page; break;
	case KEY_HOME: case 'g': step = -1000000; break;
	case KEY_END: case 'G': step = 1000000; break;
	default: return false;
	}
	if (n > 0) {
		if (step == 1000000 || step == -1000000)
			s->sel = step > 0 ? n - 1 : 0;
		else if (step > 1 || step < -1)
			s->sel += step / 2;	/* a page: half as many items */
		else
			s->sel += step;
		if (s->sel >= n)
			s->sel = n - 1;
		if (s->sel < 0)
			s->sel = 0;
	} else {
		s->scroll += step;
		if (s->scroll < 0)
			s->scroll = 0;
	}
	return true;
}

static int
loop(void)
{
	/* Drawn again only when something changed: a key, a load, a resize
	   (a screen of many thousand lines is not rebuilt five times a
	   second for nothing). */
	bool redraw = true;

	for (;;) {
		struct tui_screen *s = T.top;
		int ch;

		if (stop_sig)
			return 128 + stop_sig;
		if (T.gone)
			return EX_NODAEMON;
		if (!s)
			return EX_OK;
		if (s->dirty || (s->ops->live_ms > 0 &&
		    now_ms() - s->loaded_ms >= s->ops->live_ms)) {
			load(s);
			redraw = true;
		}
		if (T.gone || stop_sig || T.top != s)
			continue;
		if (redraw) {
			draw();
			refresh();
			redraw = false;
		}
		ch = getch();
		if (ch == ERR)
			continue;
		redraw = true;
		if (ch == KEY_RESIZE) {
			clearok(curscr, TRUE);
			continue;
		}
		if (T.searching && search_key(ch))
			continue;
		if (move_key(ch))
			continue;
		T.msg[0] = '\0';
		if (ch == '?') {
			show_help();
		} else if (ch == 'Q') {
			return EX_OK;
		} else if (ch == '/' && s->ops->search) {
			T.searching = true;
		} else if (ch == 'r' || ch == 12 /* ^L */) {
			clearok(curscr, TRUE);
			s->dirty = true;
		} else if (s->ops->key && s->ops->key(s, ch, T.lines.nitems > 0 ?
		    s->sel : -1)) {
			;
		} else if (ch == 'q' || ch == 27 || ch == KEY_LEFT) {
			if (s->filter[0] && ch == 27)
				s->filter[0] = '\0';
			else
				tui_pop();
		}
	}
}

/* A message from abs-ctld or the codec on stderr: control bytes (a
   broken or fake daemon's: C0, DEL, the C1 controls) and bytes that are
   not UTF-8 written as \xNN, never sent to the terminal as they are. */
static void
say(const char *fmt, const char *what)
{
	const unsigned char *s = (const unsigned char *)what;
	char buf[4 * PROTO_ERRLEN + 1];
	size_t n = 0, i = 0, m = strlen(what);

	while (i < m && n + 5 < sizeof(buf)) {
		unsigned char b = s[i];
		size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) ==
		    0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len && i + len <= m && b >= 0x20 && b != 0x7f &&
		    !(b == 0xc2 && i + 1 < m && s[i + 1] < 0xa0);
		for (size_t k = 1; ok && k < len; k++)
			ok = (s[i + k] & 0xc0) == 0x80;
		if (!ok) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", b);
			i++;
		} else {
			for (size_t k = 0; k < len && n + 1 < sizeof(buf); k++)
				buf[n++] = (char)s[i++];
		}
	}
	buf[n] = '\0';
	fprintf(stderr, fmt, buf);
}

static void
usage(void)
{
	fprintf(stderr, "usage: abs-ctl [--socket PATH | --host H[:PORT]] tui\n"
	    "  the full-screen console (docs/TUI.md): drives and jobs, entities"
	    " and restores,\n  tapes, errors per week, the nightly report; ? shows"
	    " the keys of each screen\n");
}

int
tui_main(const char *sock_path, int timeout_s, int argc, char **argv)
{
	char err[PROTO_ERRLEN];
	struct sigaction sa;
	int rc;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0) {
			usage();
			return EX_OK;
		}
		usage();
		return EX_USAGE;
	}
	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "abs-ctl tui: needs a terminal (stdin and stdout);"
		    " for scripts: abs-ctl --json status, watch, batch\n");
		return EX_USAGE;
	}
	T.sock = sock_path;
	T.timeout_s = timeout_s;
	if ((rc = proto_connect(sock_path, 0, &T.conn, err)) < 0) {
		say("abs-ctl tui: %s\n", err);
		return rc == -EACCES || rc == -EPERM ? EX_DENIED : EX_NODAEMON;
	}
	proto_conn_set_timeout(T.conn, timeout_s * 1000);
	if ((rc = proto_hello(T.conn, "abs-ctl tui", NULL, NULL, err)) < 0) {
		say("abs-ctl tui: %s\n", err);
		proto_conn_free(T.conn);
		return rc == -EPROTO ? EX_FAIL : EX_NODAEMON;
	}
	if (ask_roles() < 0) {
		say("abs-ctl tui: %s\n", T.gone ? T.gone_why : T.msg);
		proto_conn_free(T.conn);
		return T.gone ? EX_NODAEMON : EX_DENIED;
	}

	/* Our handlers before initscr: curses then leaves them alone. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setlocale(LC_ALL, "");
	atexit(restore_terminal);
	if (!initscr()) {
		fprintf(stderr, "abs-ctl tui: cannot set up the terminal\n");
		proto_conn_free(T.conn);
		return EX_FAIL;
	}
	T.curses = true;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	timeout(KEY_WAIT_MS);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(1, COLOR_RED, -1);
		init_pair(2, COLOR_GREEN, -1);
		init_pair(3, COLOR_YELLOW, -1);
		init_pair(4, COLOR_CYAN, -1);
		T.colour = true;
	}
	tui_push(&menu_ops, NULL);
	rc = loop();
	restore_terminal();
	while (T.top)
		tui_pop();
	lines_clear(&T.lines);
	free(T.lines.v);
	free(T.lines.foot);
	proto_conn_free(T.conn);
	if (rc == EX_NODAEMON)
		say("abs-ctl tui: lost abs-ctld (%s); the console stopped\n",
		    T.gone_why);
	else if (rc > 128)
		fprintf(stderr, "abs-ctl tui: stopped by signal %d\n", rc - 128);
	return rc;
}
