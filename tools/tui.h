/*
 * abs-ctl tui: the full-screen console (docs/TUI.md). It speaks to
 * abs-ctld through proto/ only, with the requests of proto/requests.def,
 * as abs-ctl does; abs-ctld enforces the roles, and the console offers
 * only what the caller's roles (whoami) allow.
 *
 * Every screen is a stack entry with its own small ops: load (ask the
 * daemon), build (turn what it has into lines), key (its own keys). The
 * core (tui.c) draws the lines, moves the selection, searches, shows help,
 * and restores the terminal on every way out.
 */
#ifndef ABS_TOOLS_TUI_H
#define ABS_TOOLS_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* abs-ctl dispatches `abs-ctl tui` here; its exit code. */
int tui_main(const char *sock_path, int timeout_s, int argc, char **argv);

/* What the lines of a screen are drawn with (colour when there is one). */
enum tui_attr {
	TUI_NORMAL, TUI_HEAD, TUI_ALERT, TUI_GOOD, TUI_WARN, TUI_DIM,
};

/* One line of a screen: its text, look and the item it belongs to. */
struct tui_line {
	char *text;
	enum tui_attr attr;
	int item;		/* -1: not selectable */
};

/* The lines a screen builds each time it is drawn. */
struct tui_lines {
	struct tui_line *v;
	size_t n, cap;
	int nitems;		/* items 0..nitems-1 may be selected */
	struct tui_line *foot;	/* pinned at the bottom of the body */
	size_t nfoot, capfoot;
};

struct tui_screen;

struct tui_ops {
	const char *title;
	const char *help;	/* the screen's own keys, one per line */
	int live_ms;		/* reloaded this often (0: on entry and 'r') */
	bool search;		/* '/' filters this screen */
	int (*load)(struct tui_screen *s);	/* 0, or -1 (message set) */
	void (*build)(struct tui_screen *s, struct tui_lines *l);
	/* true if it took the key; sel is the selected item (-1: none) */
	bool (*key)(struct tui_screen *s, int ch, int sel);
	void (*done)(struct tui_screen *s);
};

struct tui_screen {
	const struct tui_ops *ops;
	void *priv;
	json_t *data;		/* what load got (the screen's to free) */
	int sel, scroll;
	char filter[128];
	long long loaded_ms;	/* when load last ran */
	bool dirty;		/* load again at the next turn */
	struct tui_screen *below;
};

/* ---- the core (tui.c) ---- */

/* Send a request; its result (the caller's), or NULL with the message set
   (a refusal) or the daemon marked gone (the connection lost). */
json_t *tui_call(const char *op, json_t *args);
/* Whether the caller's roles allow a request (abs-ctld decides anyway). */
bool tui_may(const char *op);
/* The caller's roles as words ("operator retrieval"). */
const char *tui_roles(void);
/* A line for the message bar (printf). */
void tui_msg(enum tui_attr attr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Refuse an action the roles do not allow, saying which role it needs. */
bool tui_denied(const char *op);
/* Push a screen (ops, priv owned by it); it loads at once. */
void tui_push(const struct tui_ops *ops, void *priv);
/* Pop the top screen. */
void tui_pop(void);
/*
 * Ask for a line at the bottom; true with buf filled (it starts with
 * buf's contents), false if cancelled (Esc) or the program must stop.
 */
bool tui_prompt(const char *label, char *buf, size_t len);
/* A box with text (lines separated by \n); true if answered y. */
bool tui_confirm(const char *title, const char *text);

/* Lines (printf); text is cleaned of control characters. */
void tui_add(struct tui_lines *l, int item, enum tui_attr attr,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void tui_foot(struct tui_lines *l, enum tui_attr attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A progress bar of width w (with [ ]) for done of total, into buf. */
void tui_bar(char *buf, int w, double done, double total);
/* Sizes and rates for people: 1.5 GB, 12.3 MB/s. */
const char *tui_bytes(char *buf, size_t len, double bytes);
/* Whether the filter (case-insensitive substrings) matches any of the
   NULL-ended strings. */
bool tui_match(const char *filter, ...) __attribute__((sentinel));

/* Fields of a JSON object: a string ("" if none), an integer, a number. */
const char *jstr(json_t *o, const char *k);
long long jint(json_t *o, const char *k);
double jnum(json_t *o, const char *k);

/* ---- the screens ---- */
extern const struct tui_ops tui_drives_ops;	/* tui_drives.c */
extern const struct tui_ops tui_entities_ops;	/* tui_entities.c */
extern const struct tui_ops tui_tapes_ops;	/* tui_tapes.c */
extern const struct tui_ops tui_errors_ops;	/* tui_errors.c */
extern const struct tui_ops tui_report_ops;	/* tui_report.c */
/* An entity's dumps (priv: its name, strdup'd) and the restore form. */
extern const struct tui_ops tui_dumps_ops;	/* tui_restore.c */
extern const struct tui_ops tui_restore_ops;
/* Open the restore form of the dump of entity started at date. */
void tui_restore_open(const char *entity, const char *date, int level);

#endif
