/*
 * Tape libraries in abs-ctld: the one arbiter and the one mover of their
 * cartridges. Each library has a robot worker: a queue of tasks (fetch a
 * cartridge for a drive's job, eject, import, clean a drive) carried out
 * one changer operation at a time by `abs-engine changer --device URI
 * --json ...` run as a child whose pipes abs-ctld's loop watches; the
 * loop never waits for the robot. Every move is journalled before it
 * starts and marked after; the inventory (at start, after a UNIT
 * ATTENTION, after a failed move, on request) is the truth, and marks
 * the moves a crash cut off.
 *
 * A task plans its next step from the catalog's copy of the inventory
 * each time, so that whatever happened meanwhile (another task's move, an
 * inventory) is taken into account. A cartridge in a drive whose job uses
 * it is never moved: the task waits for the job to end or to ask for
 * another cartridge.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "control/child_int.h"
#include "control/handlers_int.h"
#include "control/library_int.h"

#define OP_INVENTORY_S 900	/* a robot's inventory (a scan: minutes) */
#define OP_MOVE_S 600		/* one move */
#define UNLOAD_WAIT_S 120	/* a media server's unload answer */
#define CHANGER_OUT_MAX (16u << 20)	/* a changer's JSON answer */
#define MOVE_TRIES 2		/* a failed move is tried once more */

/* A deferred answer, shared by the tasks that make it up. */
struct pend {
	struct client *cl;	/* NULL: gone */
	json_t *result;		/* the answer in the making */
	int refs;
	char error[PROTO_ERRLEN];
	const char *code;
	struct pend *next;
};
static struct pend *pends;

enum tkind { T_MOUNT, T_EJECT, T_IMPORT, T_CLEAN };

struct task {
	enum tkind kind;
	struct drive *d;	/* mount, clean: the drive */
	int64_t job;		/* mount: the job it is for */
	char label[64];		/* mount: the tape wanted */
	json_t *labels;		/* eject: labels left */
	struct pend *pend;	/* eject, import, clean: the answer */
	int fails;		/* failed moves of its current step */
	bool unloaded_self;	/* the drive's media server unloaded it */
	bool unloaded_other;	/* ... the other drive's (the cartridge's) */
	struct drive *waiting;	/* unload asked of; NULL */
	/* mount, eject: the other drive its cartridge is taken out of; no
	   job starts there until the task is done (its media server would
	   load the cartridge the robot is taking) */
	struct drive *from;
	time_t wait_until;
	bool waited_said;	/* "waits for job N" said */
	int stage;		/* clean: 0 load, 1 wait for the drive, 2 home */
	char cln[64];		/* clean: the cleaning cartridge */
	bool dropped;		/* its drive's job ended under a move */
	bool rechecked;		/* a fresh inventory before refusing */
	struct task *next;
};

enum op { OP_NONE, OP_INVENTORY, OP_MOVE };

struct library {
	char name[64], changer[1024], prefix[17];
	char serial[72];	/* the changer's, from its last inventory */
	struct ctl_child ch;
	enum op op;		/* what the child does */
	time_t op_end;
	int64_t move_id;	/* the journal's row of the move */
	struct task *op_task;	/* whose move it is */
	char op_what[200];	/* the move, for people */
	bool inv_wanted;
	char inv_why[64];
	struct pend **waiters;	/* inventory requests waiting */
	size_t nwaiters;
	struct task *tasks;	/* in order; waiting ones let others pass */
	bool removed;		/* freed once its child is done */
	bool dirty;		/* something changed: step the tasks now */
	time_t last_sched;
	struct library *next;
};

/* One element as a step plans with it. */
struct elem {
	char type[8];
	int64_t num;
	bool full;
	char barcode[64];	/* "" none */
	int64_t source;
	bool cleaning, expended, marked, unreadable;
	char drive[64];		/* drive element: the attached drive */
	char label[64];		/* the catalog's tape it carries */
};
struct inv {
	struct elem *e;
	size_t n, cap;
};

enum step { STEP_CHILD, STEP_WAIT, STEP_DONE };

/* ---- answers ---- */

static struct pend *
pend_new(struct client *cl, json_t *result)
{
	struct pend *p = calloc(1, sizeof(*p));

	if (!p) {
		json_decref(result);
		return NULL;
	}
	p->cl = cl;
	p->result = result;
	p->refs = 1;
	p->next = pends;
	pends = p;
	return p;
}

/*
 * One holder is done with p: the last one sends the answer. Never in the
 * handler that made it (its client is not waiting yet): a handler whose
 * tasks hold nothing answers with pend_take.
 */
static void
pend_put(struct pend *p)
{
	struct pend **pp;

	if (!p || --p->refs > 0)
		return;
	if (p->cl && p->code)
		ctld_reply(p->cl, NULL, p->code, p->error);
	else if (p->cl)
		ctld_reply(p->cl, json_incref(p->result), NULL, NULL);
	json_decref(p->result);
	for (pp = &pends; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

/* The answer a handler gives itself when no task took p: p freed. */
static json_t *
pend_take(struct pend *p, const char **code, char *err)
{
	json_t *r = p->code ? NULL : json_incref(p->result);

	if (p->code) {
		*code = p->code;
		snprintf(err, PROTO_ERRLEN, "%s", p->error);
	}
	p->cl = NULL;
	pend_put(p);
	return r;
}

/* The handler's answer comes later (ctld.h: CTLD_PENDING). */
#define PENDING() do { *code = CTLD_PENDING; return NULL; } while (0)

void
ctld_library_client_gone(struct ctld *c, struct client *cl)
{
	(void)c;
	for (struct pend *p = pends; p; p = p->next)
		if (p->cl == cl)
			p->cl = NULL;
}

/* ---- the catalog's copy of an inventory ---- */

static int
inv_row(const struct cat_element *e, void *arg)
{
	struct inv *v = arg;
	struct elem *x;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct elem *ne = realloc(v->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		v->e = ne;
		v->cap = cap;
	}
	x = &v->e[v->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->type, sizeof(x->type), "%s", e->type);
	x->num = e->num;
	x->full = e->full;
	snprintf(x->barcode, sizeof(x->barcode), "%s", e->full && e->barcode ?
	    e->barcode : "");
	x->source = e->source;
	x->cleaning = e->cleaning;
	x->expended = e->expended;
	x->marked = e->mark != NULL;
	x->unreadable = e->tag_unreadable;
	snprintf(x->drive, sizeof(x->drive), "%s", e->drive ? e->drive : "");
	snprintf(x->label, sizeof(x->label), "%s", e->label ? e->label : "");
	return 0;
}

static int
inv_load(struct ctld *c, struct library *l, struct inv *v, char *err)
{
	v->n = 0;
	return cat_inventory_list(c->db, l->name, inv_row, v, err);
}

static struct elem *
inv_at(struct inv *v, const char *type, int64_t num)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->e[i].type, type) == 0 && v->e[i].num == num)
			return &v->e[i];
	return NULL;
}

/* The cartridge that carries label (its barcode exactly first). */
static struct elem *
inv_label(struct inv *v, const char *label)
{
	struct elem *best = NULL;

	for (size_t i = 0; i < v->n; i++) {
		if (!v->e[i].full || !v->e[i].barcode[0])
			continue;
		if (strcmp(v->e[i].barcode, label) == 0)
			return &v->e[i];
		if (!best && cat_barcode_label(v->e[i].barcode, label))
			best = &v->e[i];
	}
	return best;
}

/* Where a drive's cartridge goes: the slot it came from if empty, else
   the first empty slot. */
static struct elem *
inv_home(struct inv *v, const struct elem *from)
{
	struct elem *s = from->source != CAT_NULL ? inv_at(v, "slot",
	    from->source) : NULL;

	if (s && !s->full)
		return s;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->e[i].type, "slot") == 0 && !v->e[i].full)
			return &v->e[i];
	return NULL;
}

static struct elem *
inv_free(struct inv *v, const char *type)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->e[i].type, type) == 0 && !v->e[i].full)
			return &v->e[i];
	return NULL;
}

/* ---- libraries in memory ---- */

static struct library *
lib_find(struct ctld *c, const char *name)
{
	for (struct library *l = c->libs; l; l = l->next)
		if (!l->removed && name && strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static int
lib_load_row(const struct cat_library *cl, void *arg)
{
	struct ctld *c = arg;
	struct library *l;

	if (lib_find(c, cl->name))
		return 0;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	snprintf(l->name, sizeof(l->name), "%s", cl->name);
	snprintf(l->changer, sizeof(l->changer), "%s", cl->changer);
	snprintf(l->prefix, sizeof(l->prefix), "%s", cl->clean_prefix);
	l->ch.out = l->ch.errfd = -1;
	l->next = c->libs;
	c->libs = l;
	return 0;
}

/* An inventory to be taken, for why. */
static void
want_inventory(struct library *l, const char *why)
{
	if (!l->inv_wanted)
		snprintf(l->inv_why, sizeof(l->inv_why), "%s", why);
	l->inv_wanted = true;
}

/* The drive's library (by name into lib) and its element: 0, or -1. */
struct drive_at {
	char lib[64];
	int64_t element;
};

static int
drive_at_row(const struct cat_lib_drive *d, void *arg)
{
	struct drive_at *a = arg;

	snprintf(a->lib, sizeof(a->lib), "%s", d->library);
	a->element = d->element;
	return 0;
}

static int
drive_at(struct ctld *c, const char *drive, struct drive_at *a)
{
	char err[CAT_ERRLEN];

	a->lib[0] = '\0';
	a->element = -1;
	if (c->crip || !c->db)
		return -1;
	return cat_drive_library(c->db, drive, drive_at_row, a, err) == 1 ? 0 :
	    -1;
}

static bool
has_task(struct library *l, enum tkind k, const struct drive *d)
{
	for (struct task *t = l->tasks; t; t = t->next)
		if (t->kind == k && t->d == d && !t->dropped)
			return true;
	return false;
}

/*
 * Whether drive x's job uses the cartridge in it: it runs a job and is
 * not waiting for another cartridge (its media server released the
 * device then); or a cleaning cycle holds it.
 */
static bool
drive_in_use(struct library *l, const struct drive *x, const struct task *t)
{
	if (!x)
		return false;
	if (x->robot_holds && !(t && t->kind == T_CLEAN && t->d == x))
		return true;
	if (!x->job)
		return false;
	return !has_task(l, T_MOUNT, x);
}

/* ---- the child ---- */

static const char *default_cmd[] = { "abs-engine", "changer", NULL };

/* abs-engine beside abs-ctld's own program if it is there, else PATH's. */
static void
default_engine(void)
{
	static char path[PATH_MAX];
	ssize_t n;
	char *slash;

	if (path[0])
		return;
	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 16)) <= 0) {
		snprintf(path, sizeof(path), "abs-engine");
	} else {
		path[n] = '\0';
		if ((slash = strrchr(path, '/')))
			snprintf(slash + 1, 16, "abs-engine");
		if (access(path, X_OK) < 0)
			snprintf(path, sizeof(path), "abs-engine");
	}
	default_cmd[0] = path;
}

/* Start a changer command: 0, or negative (said). */
static int
run_op(struct ctld *c, struct library *l, enum op op, const char *const *words,
    int limit_s)
{
	const char *argv[32];
	char *const *cmd = c->changer_cmd ? c->changer_cmd :
	    (char *const *)default_cmd;
	size_t n = 0;
	int rc;

	if (!c->changer_cmd)
		default_engine();
	for (size_t i = 0; cmd[i] && n < 20; i++)
		argv[n++] = cmd[i];
	argv[n++] = "--device";
	argv[n++] = l->changer;
	argv[n++] = "--json";
	for (size_t i = 0; words[i] && n < 31; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	ctl_child_free(&l->ch);
	ctl_child_bind();	/* it dies with abs-ctld (hostile14 K6) */
	rc = ctl_child_start(&l->ch, (char *const *)argv, CHANGER_OUT_MAX);
	signal(SIGCHLD, SIG_IGN);	/* abs-ctld's way: see child_int.h */
	if (rc < 0) {
		log_err("library %s: cannot run %s: %s", l->name, argv[0],
		    strerror(-rc));
		ctl_child_free(&l->ch);
		return rc;
	}
	ctld_watch(l->ch.out, true);
	ctld_watch(l->ch.errfd, true);
	l->op = op;
	l->op_end = time(NULL) + limit_s;
	return 0;
}

/* Why the child's operation failed, from what it said and how it ended. */
static void
op_failure(struct library *l, const struct lib_answer *a, const char *why,
    char *out, size_t len)
{
	char how[256];

	if (a->error[0]) {
		snprintf(out, len, "%s%s%s%s", a->error, a->sense[0] ? " (sense " :
		    "", a->sense, a->sense[0] ? ")" : "");
		return;
	}
	if (l->ch.rc || (l->ch.status_known && (!WIFEXITED(l->ch.status) ||
	    WEXITSTATUS(l->ch.status) != 0))) {
		ctl_child_failed(&l->ch, 0, how, sizeof(how));
		snprintf(out, len, "changer command %s", how);
		return;
	}
	snprintf(out, len, "changer command: %s%s%.120s", why, l->ch.ebuf[0] ?
	    ": " : "", l->ch.ebuf);
	out[strcspn(out, "\n")] = '\0';
}

/* ---- inventory ---- */

static int
elem_json_row(const struct cat_element *e, void *arg)
{
	return j_append(arg, json_pack("{s:s,s:I,s:I,s:b,s:o,s:b,s:o,s:o,s:o,"
	    "s:o,s:o,s:b,s:I,s:b,s:o,s:b,s:b,s:o}", "type", e->type, "num",
	    (json_int_t)e->num, "addr", (json_int_t)e->addr, "full", e->full,
	    "barcode", j_str(e->barcode), "tag_unreadable", e->tag_unreadable,
	    "label", j_str(e->label), "pool", j_str(e->pool), "state",
	    j_str(e->tape_state), "tape_id", j_str(e->tape_id), "drive",
	    j_str(e->drive), "cleaning", e->cleaning, "uses",
	    (json_int_t)e->clean_uses, "expended", e->expended, "mark",
	    j_str(e->mark), "except", e->except, "access", e->access,
	    "last_seen", j_str(e->last_seen)));
}

static int
lib_json_row(const struct cat_library *l, void *arg)
{
	json_t **out = arg;

	*out = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I}", "library", l->name, "changer", l->changer,
	    "clean_prefix", l->clean_prefix, "clean_uses",
	    (json_int_t)l->clean_uses, "last_inventory", j_str(l->last_inventory),
	    "inventory_error", j_str(l->inventory_error), "drives",
	    (json_int_t)l->drives, "slots", (json_int_t)l->slots, "slots_full",
	    (json_int_t)l->slots_full, "portals", (json_int_t)l->portals,
	    "portals_full", (json_int_t)l->portals_full, "drives_full",
	    (json_int_t)l->drives_full, "cleaning", (json_int_t)l->cleaning,
	    "expended", (json_int_t)l->expended);
	if (*out)
		json_object_update_new(*out, json_pack("{s:I,s:I}", "moves",
		    (json_int_t)l->moves_done, "moves_failed",
		    (json_int_t)l->moves_failed));
	return *out ? 0 : -ENOMEM;
}

/* The catalog's copy of a library's inventory as an answer. */
static json_t *
inventory_json(struct ctld *c, const char *name, const char **code,
    char *err)
{
	char dberr[CAT_ERRLEN];
	json_t *lib = NULL, *els = json_array();
	int rc;

	if ((rc = cat_library_get(c->db, name, lib_json_row, &lib, dberr)) < 0 ||
	    (rc = cat_inventory_list(c->db, name, elem_json_row, els,
	    dberr)) < 0) {
		json_decref(lib);
		json_decref(els);
		return cat_failed(code, err, rc, dberr);
	}
	json_object_set_new(lib, "elements", els);
	return lib;
}

/* Say what each move a crash cut off was, and where the cartridge is. */
static int
cut_row(const struct cat_move *m, void *arg)
{
	struct ctld *c = arg;

	char job[32] = "no job";

	if (m->job != CAT_NULL)
		snprintf(job, sizeof(job), "job %lld", (long long)m->job);
	ctld_message(c, m->drive ? ctld_drive(c, m->drive, false) : NULL,
	    "warning", "library %s: move %lld (%s %lld to %s %lld, cartridge %s,"
	    " %s, drive %s) was cut off; the inventory says where the cartridge"
	    " is", m->library, (long long)m->id, m->from_type,
	    (long long)m->from_num, m->to_type, (long long)m->to_num, m->barcode ?
	    m->barcode : "?", job, m->drive ? m->drive : "-");
	return 0;
}

static int
by_barcode(const void *x, const void *y)
{
	const struct cat_element_in *a = *(const struct cat_element_in *const *)x;
	const struct cat_element_in *b = *(const struct cat_element_in *const *)y;

	return strcmp(a->barcode, b->barcode);
}

/*
 * One barcode in several elements (two stickers alike, a misread): which
 * is the tape? Neither is offered (marked) until the operator clears it,
 * and an exception says where they are (hostile14 K10).
 */
static void
duplicates(struct ctld *c, struct library *l, const struct lib_answer *a)
{
	const struct cat_element_in **v = calloc(a->n ? a->n : 1, sizeof(*v));
	char err[CAT_ERRLEN], where[256];
	size_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < a->n; i++)
		if (a->elems[i].barcode)
			v[n++] = &a->elems[i];
	qsort(v, n, sizeof(*v), by_barcode);
	for (size_t i = 0; i + 1 < n; i++) {
		size_t k = i, len = 0;
		if (strcmp(v[i]->barcode, v[i + 1]->barcode) != 0)
			continue;
		where[0] = '\0';
		for (; k < n && strcmp(v[k]->barcode, v[i]->barcode) == 0; k++)
			len += (size_t)snprintf(where + len, len < sizeof(where) ?
			    sizeof(where) - len : 0, "%s%s %lld", k > i ? ", " : "",
			    v[k]->type, (long long)v[k]->num), len = len <
			    sizeof(where) ? len : sizeof(where) - 1;
		if (cat_barcode_mark(c->db, l->name, v[i]->barcode, "the same "
		    "barcode in several elements", err) < 0)
			ctld_message(c, NULL, "error", "library %s: %s", l->name, err);
		ctld_error_event(c, NULL, v[i]->barcode, 0, "duplicate-barcode",
		    "library %s: barcode %s is in %s: none of them is offered until "
		    "abs-ctl library-clear %s %s", l->name, v[i]->barcode, where,
		    l->name, v[i]->barcode);
		i = k - 1;
	}
	free(v);
}

static void
inventory_done(struct ctld *c, struct library *l, struct lib_answer *a,
    int prc, const char *why)
{
	char err[CAT_ERRLEN], fail[512] = "";
	const char *code = NULL;
	int64_t cut = 0;
	int rc = 0;

	/* One robot through two URIs (smc:sg: and smc:iscsi://, hostile14
	   K5): the same serial as another library's: refused, said. */
	for (struct library *o = c->libs; prc == 0 && a->ok && a->serial[0] &&
	    o; o = o->next)
		if (o != l && !o->removed && strcmp(o->serial, a->serial) == 0) {
			snprintf(a->error, sizeof(a->error), "its changer (serial "
			    "%.40s) is library %.40s's: one robot, one library (abs-ctl "
			    "library-remove %.40s)", a->serial, o->name, l->name);
			a->ok = false;
		}
	if (prc == 0 && a->ok) {
		snprintf(l->serial, sizeof(l->serial), "%s", a->serial);
		cat_moves_open(c->db, l->name, cut_row, c, err);
		if ((rc = cat_inventory_replace(c->db, l->name, a->elems, a->n, &cut,
		    err)) < 0) {
			snprintf(fail, sizeof(fail), "%s", err);
			code = PROTO_E_CATALOG;
		} else {
			duplicates(c, l, a);
			ctld_message(c, NULL, "info", "library %s: inventory (%s): %zu "
			    "elements%s%s", l->name, l->inv_why, a->n, cut ?
			    ", cut-off moves marked" : "", a->bad_tags ?
			    ", some barcodes unreadable" : "");
		}
	} else {
		op_failure(l, a, why, fail, sizeof(fail));
		code = "robot";
	}
	if (code) {
		cat_inventory_failed(c->db, l->name, fail, err);
		ctld_error_event(c, NULL, NULL, 0, "library", "library %s: inventory"
		    " failed: %s", l->name, fail);
	}
	for (size_t i = 0; i < l->nwaiters; i++) {
		struct pend *p = l->waiters[i];
		if (code) {
			p->code = code;
			snprintf(p->error, sizeof(p->error), "library %s: inventory "
			    "failed: %.150s", l->name, fail);
		} else {
			json_decref(p->result);
			p->result = inventory_json(c, l->name, &p->code, p->error);
		}
		pend_put(p);
	}
	free(l->waiters);
	l->waiters = NULL;
	l->nwaiters = 0;
}

/* ---- steps ---- */

/* Start a move of a task: journalled first. */
static enum step
start_move(struct ctld *c, struct library *l, struct task *t,
    const struct elem *from, const struct elem *to, const char *why)
{
	char err[CAT_ERRLEN], f[32], d[32];
	const char *words[4] = { "move", f, d, NULL };
	int64_t id = 0;

	snprintf(f, sizeof(f), "%s:%lld", from->type, (long long)from->num);
	snprintf(d, sizeof(d), "%s:%lld", to->type, (long long)to->num);
	if (cat_move_start(c->db, l->name, t->job, t->d ? t->d->name : NULL,
	    from->barcode[0] ? from->barcode : NULL, from->type, from->num,
	    to->type, to->num, why, &id, err) < 0) {
		ctld_message(c, t->d, "error", "library %s: journalling a move: %s",
		    l->name, err);
		return STEP_WAIT;	/* tried again next turn */
	}
	if (run_op(c, l, OP_MOVE, words, OP_MOVE_S) < 0) {
		cat_move_end(c->db, id, false, "the changer command could not run",
		    err);
		t->fails++;
		return STEP_WAIT;
	}
	l->move_id = id;
	l->op_task = t;
	snprintf(l->op_what, sizeof(l->op_what), "%s %s from %s to %s",
	    from->barcode[0] ? "cartridge" : "the cartridge", from->barcode[0] ?
	    from->barcode : "(no barcode)", f, d);
	ctld_message(c, t->d, "info", "library %s: moving %s (%s)", l->name,
	    l->op_what, why);
	return STEP_CHILD;
}

/* Ask drive x's media server to unload its drive (for task t). */
static enum step
ask_unload(struct ctld *c, struct task *t, struct drive *x)
{
	json_t *ev = json_pack("{s:s}", "event", "unload");

	ctld_send(x->engine, ev);
	json_decref(ev);
	t->waiting = x;
	if (x != t->d)
		t->from = x;
	t->wait_until = time(NULL) + UNLOAD_WAIT_S;
	ctld_message(c, x, "info", "asked its media server to unload the drive");
	return STEP_WAIT;
}

static struct drive *
drive_of(struct ctld *c, const struct elem *e)
{
	return e && e->drive[0] ? ctld_drive(c, e->drive, false) : NULL;
}

/* A mount that cannot be: the job hears retry-tape (unavailable). */
static enum step
mount_fail(struct ctld *c, struct task *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum step
mount_fail(struct ctld *c, struct task *t, const char *fmt, ...)
{
	struct drive *d = t->d;
	char why[512];
	va_list ap;
	json_t *ev;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (t->dropped || !d->job || d->job != t->job)
		return STEP_DONE;
	release_reservation(c, d);
	json_array_append_new(d->skip, json_string(t->label));
	ctld_error_event(c, d, t->label, d->job, "unavailable", "%s", why);
	d->want_label[0] = '\0';
	if (d->engine) {
		ev = json_pack("{s:s,s:s}", "event", "retry-tape", "why", why);
		ctld_send(d->engine, ev);
		json_decref(ev);
	}
	return STEP_DONE;
}

/*
 * A refusal decided from the catalog's copy is checked against a fresh
 * inventory first (a cartridge moved by hand): true if one was asked for.
 */
static bool
recheck(struct library *l, struct task *t)
{
	if (t->rechecked)
		return false;
	t->rechecked = true;
	want_inventory(l, "before refusing a job");
	return true;
}

static enum step
step_mount(struct ctld *c, struct library *l, struct task *t, struct inv *v)
{
	struct drive_at at;
	struct elem *dst, *w, *home;
	struct drive *x;
	json_t *ev;

	if (t->dropped || !t->d->job || t->d->job != t->job)
		return STEP_DONE;
	if ((drive_at(c, t->d->name, &at) < 0 || strcmp(at.lib, l->name) != 0 ||
	    !(dst = inv_at(v, "drive", at.element))) && recheck(l, t))
		return STEP_WAIT;
	if (drive_at(c, t->d->name, &at) < 0 || strcmp(at.lib, l->name) != 0 ||
	    !(dst = inv_at(v, "drive", at.element)))
		return mount_fail(c, t, "drive %s is not a drive of library %s "
		    "(library-drive) or the inventory lacks its element",
		    t->d->name, l->name);
	if (t->fails >= MOVE_TRIES)
		return mount_fail(c, t, "library %s could not fetch %s: the move "
		    "failed %d times", l->name, t->label, t->fails);
	w = inv_label(v, t->label);
	if ((!w || strcmp(w->type, "portal") == 0) && recheck(l, t))
		return STEP_WAIT;
	if (!w)
		return mount_fail(c, t, "cartridge %s is not in library %s",
		    t->label, l->name);
	if (w->marked)
		return mount_fail(c, t, "cartridge %s (barcode %s) is marked: its "
		    "label disagreed with its barcode (abs-ctl library-clear %s %s "
		    "once it is put right)", t->label, w->barcode, l->name,
		    w->barcode);
	if (w->cleaning)
		return mount_fail(c, t, "%s is a cleaning cartridge", w->barcode);
	if (strcmp(w->type, "portal") == 0)
		return mount_fail(c, t, "cartridge %s is in portal %lld (ejected):"
		    " abs-ctl import %s to take it back", t->label,
		    (long long)w->num, l->name);
	if (w == dst) {
		ev = json_pack("{s:s,s:s,s:s}", "event", "mounted", "barcode",
		    w->barcode, "label", t->label);
		if (t->d->engine)
			ctld_send(t->d->engine, ev);
		json_decref(ev);
		ctld_message(c, t->d, "info", "library %s: %s is in the drive",
		    l->name, w->barcode);
		return STEP_DONE;
	}
	if (strcmp(w->type, "drive") == 0) {
		x = drive_of(c, w);
		if (drive_in_use(l, x, t)) {
			if (!t->waited_said)
				ctld_message(c, t->d, "info", "library %s: %s is in drive "
				    "%s, whose job %lld uses it: waiting for it", l->name,
				    t->label, x->name, (long long)x->job);
			t->waited_said = true;
			return STEP_WAIT;
		}
		if (x && x->engine && !t->unloaded_other)
			return ask_unload(c, t, x);
	}
	if (dst->full) {
		if (!t->unloaded_self && t->d->engine)
			return ask_unload(c, t, t->d);
		if (!(home = inv_home(v, dst)) && recheck(l, t))
			return STEP_WAIT;
		if (!home)
			return mount_fail(c, t, "library %s has no empty slot for the "
			    "cartridge in drive %s", l->name, t->d->name);
		return start_move(c, l, t, dst, home, "home, before a load");
	}
	return start_move(c, l, t, w, dst, "load for a job");
}

/* The end of an eject or import's label: into the answer. */
static void
note(struct task *t, const char *key, json_t *o)
{
	json_t *a = json_object_get(t->pend->result, key);

	if (!a) {
		a = json_array();
		json_object_set_new(t->pend->result, key, a);
	}
	json_array_append_new(a, o);
}

static enum step
step_eject(struct ctld *c, struct library *l, struct task *t, struct inv *v)
{
	const char *label, *why;
	struct elem *w, *portal;
	struct drive *x;

	while (json_array_size(t->labels)) {
		label = json_string_value(json_array_get(t->labels, 0));
		w = inv_label(v, label);
		why = !w ? "not in the library" : t->fails >= MOVE_TRIES ?
		    "the move failed twice" : strcmp(w->type, "portal") == 0 ?
		    "in a portal already" : NULL;
		if (!why && strcmp(w->type, "drive") == 0 &&
		    drive_in_use(l, (x = drive_of(c, w)), t))
			why = "in a drive whose job uses it";
		if (why) {
			note(t, "not_ejected", json_pack("{s:s,s:s,s:s}", "label", label,
			    "library", l->name, "why", why));
			json_array_remove(t->labels, 0);
			t->fails = 0;
			t->unloaded_other = false;
			continue;
		}
		if (strcmp(w->type, "drive") == 0 && (x = drive_of(c, w)) &&
		    x->engine && !t->unloaded_other)
			return ask_unload(c, t, x);
		if (!(portal = inv_free(v, "portal"))) {
			size_t i;
			json_t *s;
			bool any = false;
			for (size_t k = 0; k < v->n; k++)
				any |= strcmp(v->e[k].type, "portal") == 0;
			json_array_foreach(t->labels, i, s)
				note(t, "not_ejected", json_pack("{s:O,s:s,s:s}", "label", s,
				    "library", l->name, "why", any ? "no free portal" :
				    "the library has no portal"));
			json_array_clear(t->labels);
			break;
		}
		return start_move(c, l, t, w, portal, "eject");
	}
	return STEP_DONE;
}

static enum step
step_import(struct ctld *c, struct library *l, struct task *t, struct inv *v)
{
	struct elem *slot;

	(void)c;
	for (size_t i = 0; i < v->n; i++) {
		struct elem *p = &v->e[i];
		if (strcmp(p->type, "portal") != 0 || !p->full)
			continue;
		if (t->fails >= MOVE_TRIES) {
			note(t, "not_imported", json_pack("{s:s,s:I,s:s}", "barcode",
			    p->barcode, "portal", (json_int_t)p->num, "why",
			    "the move failed twice"));
			return STEP_DONE;
		}
		if (!(slot = inv_free(v, "slot"))) {
			note(t, "not_imported", json_pack("{s:s,s:I,s:s}", "barcode",
			    p->barcode, "portal", (json_int_t)p->num, "why",
			    "no empty slot"));
			return STEP_DONE;
		}
		return start_move(c, l, t, p, slot, "import");
	}
	return STEP_DONE;
}

/* A cleaning cycle that cannot be: said, an exception. */
static enum step
clean_fail(struct ctld *c, struct library *l, struct task *t,
    const char *why)
{
	ctld_error_event(c, t->d, NULL, 0, "cleaning", "library %s: drive %s "
	    "not cleaned: %s", l->name, t->d->name, why);
	if (t->pend) {
		t->pend->code = "robot";
		snprintf(t->pend->error, sizeof(t->pend->error), "drive %s not "
		    "cleaned: %.150s", t->d->name, why);
	}
	t->d->clean_wanted = false;
	t->d->robot_holds = false;
	ctld_dispatch(c, t->d);
	return STEP_DONE;
}

/* Another drive's cleaning cycle of l that holds a cleaning cartridge
   (in its drive, or on its way there or home), or NULL. */
static struct task *
clean_other(struct library *l, const struct task *t)
{
	for (struct task *o = l->tasks; o; o = o->next)
		if (o != t && o->kind == T_CLEAN && o->cln[0])
			return o;
	return NULL;
}

static enum step
step_clean(struct ctld *c, struct library *l, struct task *t, struct inv *v)
{
	struct drive_at at;
	struct elem *dst, *home, *cln = NULL;
	char err[CAT_ERRLEN];
	int64_t uses = 0;
	bool expended = false;

	if (t->d->job && !t->d->robot_holds)
		return STEP_WAIT;	/* between jobs */
	if (drive_at(c, t->d->name, &at) < 0 || strcmp(at.lib, l->name) != 0 ||
	    !(dst = inv_at(v, "drive", at.element)))
		return clean_fail(c, l, t, "the drive is in no library's "
		    "inventory");
	t->d->robot_holds = true;
	if (t->fails >= MOVE_TRIES)
		return clean_fail(c, l, t, "a move failed twice");
	if (t->stage == 0) {
		if (dst->full && dst->cleaning && !dst->expended) {
			snprintf(t->cln, sizeof(t->cln), "%s", dst->barcode);
			t->stage = 1;	/* one is in the drive already */
			t->unloaded_self = false;
		} else if (dst->full) {
			if (!t->unloaded_self && t->d->engine)
				return ask_unload(c, t, t->d);
			if (!(home = inv_home(v, dst)))
				return clean_fail(c, l, t, "no empty slot for the drive's "
				    "cartridge");
			return start_move(c, l, t, dst, home, "home, before cleaning");
		} else {
			for (size_t i = 0; i < v->n && !cln; i++)
				if (strcmp(v->e[i].type, "slot") == 0 && v->e[i].full &&
				    v->e[i].cleaning && !v->e[i].expended &&
				    !v->e[i].marked)
					cln = &v->e[i];
			/* The other drive's cycle has it: it comes home after
			   (both drives asked at once: TapeAlert 20 on a
			   cartridge both held). */
			struct task *o = !cln ? clean_other(l, t) : NULL;
			if (o) {
				if (!t->waited_said)
					ctld_message(c, t->d, "info", "library %s: the "
					    "cleaning of drive %s waits for %s, which "
					    "drive %s's cleaning holds", l->name,
					    t->d->name, o->cln, o->d->name);
				t->waited_said = true;
				return STEP_WAIT;
			}
			if (!cln)
				return clean_fail(c, l, t, "no cleaning cartridge (barcode "
				    "prefix) that is not expended in the library");
			snprintf(t->cln, sizeof(t->cln), "%s", cln->barcode);
			snprintf(t->d->last_cln, sizeof(t->d->last_cln), "%s",
			    cln->barcode);
			return start_move(c, l, t, cln, dst, "cleaning");
		}
	}
	if (t->stage == 1) {
		/* The drive has it: its media server's unload says it is done. */
		if (!t->unloaded_self && t->d->engine)
			return ask_unload(c, t, t->d);
		t->stage = 2;
	}
	if (dst->full) {
		if (!(home = inv_home(v, dst)))
			return clean_fail(c, l, t, "no empty slot for the cleaning "
			    "cartridge");
		return start_move(c, l, t, dst, home, "cleaning cartridge home");
	}
	if (cat_cleaning_used(c->db, l->name, t->cln, false, &uses, &expended,
	    err) < 0)
		ctld_message(c, t->d, "error", "library %s: counting a cleaning: %s",
		    l->name, err);
	ctld_message(c, t->d, "info", "library %s: drive %s cleaned with %s "
	    "(use %lld)", l->name, t->d->name, t->cln, (long long)uses);
	if (expended)
		ctld_error_event(c, t->d, t->cln, 0, "cleaning-expended", "cleaning "
		    "cartridge %s of library %s is expended (%lld uses): replace it",
		    t->cln, l->name, (long long)uses);
	if (t->pend)
		json_object_update_new(t->pend->result, json_pack("{s:s,s:s,s:I,"
		    "s:b}", "drive", t->d->name, "cartridge", t->cln, "uses",
		    (json_int_t)uses, "expended", expended));
	t->d->clean_wanted = false;
	t->d->robot_holds = false;
	ctld_dispatch(c, t->d);
	return STEP_DONE;
}

static void
task_free(struct task *t)
{
	if (t->d && t->kind == T_CLEAN && t->d->robot_holds)
		t->d->robot_holds = false;
	json_decref(t->labels);
	pend_put(t->pend);
	free(t);
}

/* A task is over: freed, and the drive its cartridge was taken from (if
   another's) may take its next job. */
static void
task_end(struct ctld *c, struct task *t)
{
	struct drive *from = t->from;

	task_free(t);
	if (from)
		ctld_dispatch(c, from);
}

/* The next operation of an idle library. */
static void
schedule(struct ctld *c, struct library *l)
{
	static struct inv v;
	char err[CAT_ERRLEN];
	const char *inv[] = { "inventory", NULL };
	struct task **pp, *t;
	enum step r;

	if (l->op != OP_NONE || l->removed)
		return;
	/* Tasks wait for events; a second at most when nothing changed. */
	if (!l->dirty && !l->inv_wanted && time(NULL) == l->last_sched)
		return;
	l->dirty = false;
	l->last_sched = time(NULL);
	if (l->inv_wanted) {
		l->inv_wanted = false;
		if (run_op(c, l, OP_INVENTORY, inv, OP_INVENTORY_S) == 0)
			return;
		struct lib_answer none = { 0 };
		inventory_done(c, l, &none, -1, "could not run");
	}
	for (pp = &l->tasks; (t = *pp);) {
		if (t->waiting && time(NULL) < t->wait_until) {
			pp = &t->next;
			continue;
		}
		if (t->waiting) {
			ctld_message(c, t->waiting, "warning", "library %s: its media "
			    "server did not answer unload in %d s: the robot tries",
			    l->name, UNLOAD_WAIT_S);
			if (t->waiting == t->d)
				t->unloaded_self = true;
			else
				t->unloaded_other = true;
			t->waiting = NULL;
		}
		if (inv_load(c, l, &v, err) < 0) {
			ctld_message(c, NULL, "error", "library %s: reading the "
			    "inventory: %s", l->name, err);
			return;
		}
		switch (t->kind) {
		case T_MOUNT: r = step_mount(c, l, t, &v); break;
		case T_EJECT: r = step_eject(c, l, t, &v); break;
		case T_IMPORT: r = step_import(c, l, t, &v); break;
		default: r = step_clean(c, l, t, &v); break;
		}
		if (r == STEP_CHILD)
			return;
		if (r == STEP_DONE) {
			*pp = t->next;
			task_end(c, t);
			continue;
		}
		pp = &t->next;
	}
}

/* The child's operation ended: its answer. */
static void
op_done(struct ctld *c, struct library *l)
{
	struct lib_answer a;
	char why[256] = "", fail[512], err[CAT_ERRLEN];
	enum op op = l->op;
	struct task *t = l->op_task;
	int prc = lib_parse_answer(l->ch.buf, l->ch.len, op == OP_INVENTORY, &a,
	    why, sizeof(why));

	/* Killed, or exited with an error without saying one: failed. */
	if (prc == 0 && a.ok && (l->ch.rc || (l->ch.status_known &&
	    (!WIFEXITED(l->ch.status) || WEXITSTATUS(l->ch.status) != 0)))) {
		a.ok = false;
		snprintf(why, sizeof(why), "it did not end well");
	}
	l->op = OP_NONE;
	l->op_task = NULL;
	l->dirty = true;
	if (a.attention)
		want_inventory(l, "a UNIT ATTENTION (door, import, power)");
	if (op == OP_INVENTORY) {
		inventory_done(c, l, &a, prc, why);
	} else if (op == OP_MOVE) {
		bool ok = prc == 0 && a.ok;
		if (!ok)
			op_failure(l, &a, prc < 0 ? why : "refused", fail, sizeof(fail));
		if (cat_move_end(c->db, l->move_id, ok, ok ? NULL : fail, err) < 0)
			ctld_message(c, NULL, "error", "library %s: move %lld: %s",
			    l->name, (long long)l->move_id, err);
		if (ok) {
			ctld_message(c, t ? t->d : NULL, "info", "library %s: moved %s",
			    l->name, l->op_what);
			if (t) {
				t->fails = 0;
				t->unloaded_self = t->unloaded_other = false;
				if (t->kind == T_EJECT && json_array_size(t->labels)) {
					note(t, "ejected", json_pack("{s:O,s:s}", "label",
					    json_array_get(t->labels, 0), "library", l->name));
					json_array_remove(t->labels, 0);
				} else if (t->kind == T_IMPORT) {
					note(t, "imported", json_pack("{s:s}", "move",
					    l->op_what));
				} else if (t->kind == T_CLEAN && t->stage == 0 &&
				    t->cln[0] && strstr(l->op_what, t->cln)) {
					t->stage = 1;
				}
			}
		} else {
			ctld_error_event(c, t ? t->d : NULL, NULL, t ? t->job : 0,
			    "robot", "library %s: moving %s failed: %s", l->name,
			    l->op_what, fail);
			if (t)
				t->fails++;
			/* Where is it now? The inventory says, before a retry. */
			want_inventory(l, "after a failed move");
		}
	}
	lib_answer_free(&a);
	ctl_child_free(&l->ch);
	l->ch.pid = 0;
	if (t && t->dropped) {
		struct task **pp;
		for (pp = &l->tasks; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				task_end(c, t);
				break;
			}
	}
}

static void
lib_free(struct library *l)
{
	while (l->tasks) {
		struct task *t = l->tasks;
		l->tasks = t->next;
		task_free(t);
	}
	for (size_t i = 0; i < l->nwaiters; i++) {
		l->waiters[i]->code = "robot";
		snprintf(l->waiters[i]->error, PROTO_ERRLEN, "library %s is gone",
		    l->name);
		pend_put(l->waiters[i]);
	}
	free(l->waiters);
	ctl_child_free(&l->ch);
	free(l);
}

void
ctld_library_tick(struct ctld *c)
{
	struct library **pp, *l;

	for (pp = &c->libs; (l = *pp);) {
		if (l->op != OP_NONE) {
			if (ctl_child_poll(&l->ch) == 1) {
				if (time(NULL) < l->op_end) {
					pp = &l->next;
					continue;
				}
				ctl_child_stop(&l->ch, -ETIMEDOUT);
			}
			op_done(c, l);
		}
		if (l->removed) {
			*pp = l->next;
			lib_free(l);
			continue;
		}
		schedule(c, l);
		pp = &l->next;
	}
}

int
ctld_library_start(struct ctld *c)
{
	char err[CAT_ERRLEN];
	int rc = cat_libraries_list(c->db, lib_load_row, c, err);

	if (rc < 0) {
		log_err("reading the libraries: %s", err);
		return rc;
	}
	for (struct library *l = c->libs; l; l = l->next)
		want_inventory(l, "abs-ctld started");
	return 0;
}

void
ctld_library_free(struct ctld *c)
{
	while (c->libs) {
		struct library *l = c->libs;
		c->libs = l->next;
		if (l->op != OP_NONE)
			ctl_child_stop(&l->ch, -ECANCELED);
		lib_free(l);
	}
}

bool
ctld_library_holds(struct ctld *c, struct drive *d)
{
	if (d->robot_holds || d->clean_wanted)
		return true;
	/* Another drive's mount (or an eject) takes d's cartridge: a job
	   started on d now would use it under the robot (a restore on d1
	   read L00001 while it was moved to d0 for a dump). */
	for (struct library *l = c->libs; l; l = l->next)
		for (struct task *t = l->tasks; t; t = t->next)
			if (t->from == d)
				return true;
	return false;
}

void
ctld_library_drive_free(struct ctld *c, struct drive *d)
{
	for (struct library *l = c->libs; l; l = l->next) {
		struct task **pp, *t;
		for (pp = &l->tasks; (t = *pp);) {
			if (t->kind != T_MOUNT || t->d != d) {
				pp = &t->next;
				continue;
			}
			if (l->op_task == t) {	/* its move ends first */
				t->dropped = true;
				pp = &t->next;
				continue;
			}
			*pp = t->next;
			task_end(c, t);
		}
		l->dirty = true;
	}
}

static struct task *
task_add(struct library *l, enum tkind kind, struct drive *d)
{
	struct task *t = calloc(1, sizeof(*t)), **pp;

	if (!t)
		return NULL;
	t->kind = kind;
	t->d = d;
	for (pp = &l->tasks; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	l->dirty = true;
	return t;
}

/* ---- what events and handlers ask (handlers_int.h) ---- */

/*
 * A media server asks for a cartridge: if it is in the drive's library,
 * the robot fetches it (true); else the operator does (false).
 */
bool
ctld_library_mount(struct ctld *c, struct drive *d, const char *label)
{
	struct drive_at at;
	struct library *l;
	struct inv v = { 0 };
	char err[CAT_ERRLEN];
	struct task *t, **pp;
	bool in = false;

	if (!label || !*label || drive_at(c, d->name, &at) < 0 ||
	    !(l = lib_find(c, at.lib)))
		return false;
	if (inv_load(c, l, &v, err) >= 0)
		in = inv_label(&v, label) != NULL;
	free(v.e);
	if (!in)
		return false;
	/* One fetch per drive: a new request replaces the last. */
	for (pp = &l->tasks; (t = *pp);) {
		if (t->kind == T_MOUNT && t->d == d && l->op_task != t) {
			*pp = t->next;
			task_end(c, t);
			continue;
		}
		if (t->kind == T_MOUNT && t->d == d)
			t->dropped = true;
		pp = &t->next;
	}
	if (!(t = task_add(l, T_MOUNT, d)))
		return false;
	t->job = d->job;
	snprintf(t->label, sizeof(t->label), "%s", label);
	ctld_message(c, d, "info", "library %s: the robot fetches %s", l->name,
	    label);
	return true;
}

/*
 * For the next-tape choice of a library drive: 1 if label's cartridge
 * is in the drive's library and may be used (not in another drive whose
 * job uses it, not marked, not a cleaning cartridge, not in a portal),
 * 0 if it is in no library (the operator mounts it), -1 otherwise; 0 for
 * every tape when the drive is in no library.
 */
struct tape_where {
	const char *lib;	/* the drive's library */
	bool other;		/* in another library */
	bool here;		/* in the drive's */
	struct elem e;		/* where, in the drive's */
};

static int
tape_where_row(const struct cat_element *e, void *arg)
{
	struct tape_where *w = arg;

	if (strcmp(e->library, w->lib) != 0) {
		w->other = true;
		return 0;
	}
	if (w->here)
		return 0;
	w->here = true;
	snprintf(w->e.type, sizeof(w->e.type), "%s", e->type);
	w->e.num = e->num;
	w->e.cleaning = e->cleaning;
	w->e.marked = e->mark != NULL;
	snprintf(w->e.drive, sizeof(w->e.drive), "%s", e->drive ? e->drive :
	    "");
	return 0;
}

int
ctld_library_tape_ok(struct ctld *c, struct drive *d, const char *label)
{
	struct drive_at at;
	struct library *l;
	struct tape_where w = { 0 };
	char err[CAT_ERRLEN];
	int ok;

	if (drive_at(c, d->name, &at) < 0 || !(l = lib_find(c, at.lib)))
		return 0;
	/* a tape named like a cleaning cartridge is never one to write */
	if (strncmp(label, l->prefix, strlen(l->prefix)) == 0)
		return -1;
	w.lib = l->name;
	if (cat_inventory_find(c->db, label, tape_where_row, &w, err) < 0)
		return -1;
	if (!w.here)
		return w.other ? -1 : 0;
	ok = w.e.marked || w.e.cleaning || strcmp(w.e.type, "portal") == 0 ||
	    (strcmp(w.e.type, "drive") == 0 && strcmp(w.e.drive, d->name) != 0 &&
	    drive_in_use(l, drive_of(c, &w.e), NULL)) ? -1 : 1;
	/* nor one another drive's fetch is about */
	for (struct task *t = l->tasks; ok == 1 && t; t = t->next)
		if (t->kind == T_MOUNT && t->d != d && !t->dropped &&
		    strcmp(t->label, label) == 0)
			ok = -1;
	return ok;
}

/* The library object of an engine-register reply, or NULL. */
json_t *
ctld_library_of(struct ctld *c, struct drive *d)
{
	struct drive_at at;
	struct library *l;

	if (drive_at(c, d->name, &at) < 0 || !(l = lib_find(c, at.lib)))
		return NULL;
	return json_pack("{s:s,s:s,s:I,s:s}", "name", l->name, "changer",
	    l->changer, "element", (json_int_t)at.element, "clean_prefix",
	    l->prefix);
}

/* The media server's mount-rejected for a library cartridge. */
void
ctld_library_rejected(struct ctld *c, struct drive *d, json_t *data)
{
	const char *kind = ctld_field(data, "kind", "");
	const char *bc = arg_str(data, "barcode");
	const char *label = ctld_field(data, "label", d->want_label);
	struct drive_at at;
	char err[CAT_ERRLEN];
	json_t *ev;

	/*
	 * Whatever the reason, the robot would bring the same cartridge
	 * again: the job is told it is unavailable (a dump picks another),
	 * and only a wrong-tape's barcode is marked (hostile14 K7).
	 */
	if (drive_at(c, d->name, &at) < 0 || !lib_find(c, at.lib))
		return;
	/*
	 * A tape that contradicts the catalog (another label, blank where the
	 * catalog has it written, ...) is marked until the operator clears
	 * it; a cleaning cartridge needs no mark. The media server reports
	 * the job's unavailable itself.
	 */
	if (bc && strcmp(kind, "cleaning") != 0) {
		if (cat_barcode_mark(c->db, at.lib, bc, ctld_field(data, "why",
		    kind), err) < 0)
			cat_warn(c, d, err);
		ctld_error_event(c, d, label, d->job, strcmp(kind, "wrong-tape") ?
		    "refused-tape" : "wrong-tape", "library %s: the cartridge of "
		    "barcode %s was refused (%s): marked, never offered again until "
		    "abs-ctl library-clear %s %s", at.lib, bc, ctld_field(data, "why",
		    kind), at.lib, bc);
	}
	release_reservation(c, d);
	json_array_append_new(d->skip, json_string(label));
	d->want_label[0] = '\0';
	ev = json_pack("{s:s,s:s}", "event", "retry-tape", "why",
	    ctld_field(data, "why", kind));
	ctld_send(d->engine, ev);
	json_decref(ev);
}

/* ---- the night report ---- */

struct rep_lib {
	json_t *portals, *expended;
};

static int
rep_elem(const struct cat_element *e, void *arg)
{
	struct rep_lib *r = arg;

	if (strcmp(e->type, "portal") == 0 && e->full)
		return j_append(r->portals, json_pack("{s:s,s:I,s:o,s:o}", "library",
		    e->library, "portal", (json_int_t)e->num, "barcode",
		    j_str(e->barcode), "label", j_str(e->label)));
	if (e->cleaning && e->expended)
		return j_append(r->expended, json_pack("{s:s,s:o,s:I,s:s,s:I}",
		    "library", e->library, "barcode", j_str(e->barcode), "uses",
		    (json_int_t)e->clean_uses, "type", e->type, "num",
		    (json_int_t)e->num));
	return 0;
}

static int
rep_lib_row(const struct cat_library *l, void *arg)
{
	struct ctld *c = ((void **)arg)[0];
	char err[CAT_ERRLEN];
	int rc = cat_inventory_list(c->db, l->name, rep_elem, ((void **)arg)[1],
	    err);

	return rc < 0 ? rc : 0;
}

int
ctld_library_report(struct ctld *c, json_t *out, char *err)
{
	struct rep_lib r = { json_array(), json_array() };
	void *arg[2] = { c, &r };
	int rc = cat_libraries_list(c->db, rep_lib_row, arg, err);

	json_object_set_new(out, "in_portals", r.portals);
	json_object_set_new(out, "cleaning_expended", r.expended);
	return rc < 0 ? rc : 0;
}

/* ---- engine events ---- */

json_t *
ev_unloaded(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	bool ok = json_is_true(json_object_get(data, "ok"));

	(void)code; (void)err;
	if (!ok)
		ctld_message(c, d, "warning", "its media server could not unload "
		    "the drive: %s; the robot tries", ctld_field(data, "error", "?"));
	for (struct library *l = c->libs; l; l = l->next)
		for (struct task *t = l->tasks; t; t = t->next) {
			if (t->waiting != d)
				continue;
			l->dirty = true;
			if (t->d == d)
				t->unloaded_self = true;
			else
				t->unloaded_other = true;
			t->waiting = NULL;
		}
	return ctld_ok();
}

/* Whether a cleaning cycle of d has an operator waiting for it. */
static bool
clean_busy(struct ctld *c, struct drive *d)
{
	for (struct library *l = c->libs; l; l = l->next)
		for (struct task *t = l->tasks; t; t = t->next)
			if (t->kind == T_CLEAN && t->d == d && t->pend)
				return true;
	return false;
}

/* Queue a cleaning cycle for d (its library's): false if it has none. */
static bool
clean_queue(struct ctld *c, struct drive *d, struct pend *p)
{
	struct drive_at at;
	struct library *l;
	struct task *t;

	if (drive_at(c, d->name, &at) < 0 || !(l = lib_find(c, at.lib)))
		return false;
	for (t = l->tasks; t; t = t->next)
		if (t->kind == T_CLEAN && t->d == d)
			break;
	if (!t && !(t = task_add(l, T_CLEAN, d)))
		return false;
	if (p && !t->pend)
		t->pend = p;	/* (clean_busy said there is none) */
	d->clean_wanted = true;
	return true;
}

json_t *
ev_tapealert(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err)
{
	const char *f = arg_str(data, "flags"), *label = arg_str(data, "label");
	unsigned long long flags;
	struct drive_at at;
	char *end, dberr[CAT_ERRLEN];

	errno = 0;
	flags = strtoull(f, &end, 16);
	if (errno || end == f || *end || strncmp(f, "0x", 2) != 0)
		FAIL("bad-args", "tapealert event: flags is \"0x\" and hex digits, "
		    "not %.40s", f);
	if (!flags)
		return ctld_ok();
	ctld_message(c, d, "warning", "TapeAlert flags %s%s%s", f, label &&
	    *label ? " with " : "", label ? label : "");
	if (flags & (1ull << 21)) {	/* 22: cleaning cartridge expired */
		const char *cln = label && *label ? label : d->last_cln;
		if (drive_at(c, d->name, &at) == 0 && *cln) {
			if (cat_cleaning_expend(c->db, at.lib, cln, dberr) < 0)
				cat_warn(c, d, dberr);
			ctld_error_event(c, d, cln, 0, "cleaning-expended", "the drive "
			    "says cleaning cartridge %s is expended (TapeAlert 22): "
			    "replace it", cln);
		}
	}
	if (flags & ((1ull << 19) | (1ull << 20))) {	/* 20, 21: clean */
		d->clean_job = d->job;
		if (!clean_queue(c, d, NULL))
			ctld_error_event(c, d, NULL, 0, "cleaning", "drive %s asks to "
			    "be cleaned (TapeAlert %s) and is in no library: clean it "
			    "by hand", d->name, flags & (1ull << 19) ? "20" : "21");
		else
			ctld_message(c, d, "info", "a cleaning cycle before its next "
			    "job");
	}
	return ctld_ok();
}

json_t *
ev_device(struct ctld *c, struct drive *d, json_t *data, const char **code,
    char *err)
{
	const char *st = ctld_field(data, "state", "");

	if (strcmp(st, "gone") && strcmp(st, "back"))
		FAIL("bad-args", "device event: state is gone or back, not %.20s",
		    st);
	if (strcmp(st, "gone") == 0)
		ctld_error_event(c, d, NULL, d->job, "device-gone", "device node %s "
		    "is gone", ctld_field(data, "node", "?"));
	else
		ctld_message(c, d, "info", "device node %s is back",
		    ctld_field(data, "node", "?"));
	return ctld_ok();
}

/* ---- requests ---- */

/* Libraries need the catalog. */
#define NEED_CATALOG() do { if (c->crip) FAIL("crippled", "libraries need " \
	"the catalog (crippled mode)"); } while (0)

/*
 * One robot, one spelling (hostile14 K5): smc:vtape:DIR is vtape:DIR, and
 * a path (vtape:, smc:sg:) is its real path when it exists.
 */
static void
canon_uri(const char *in, char *out, size_t len)
{
	static const char *const pre[] = { "vtape:", "smc:sg:" };
	char real[PATH_MAX];

	if (strncmp(in, "smc:vtape:", 10) == 0)
		in += 4;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(pre[i]);
		if (strncmp(in, pre[i], n) == 0 && realpath(in + n, real)) {
			snprintf(out, len, "%s%.1023s", pre[i], real);
			return;
		}
	}
	snprintf(out, len, "%.1023s", in);
}

json_t *
h_library_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN], uri[1100];
	int rc;
	(void)cl;

	NEED_CATALOG();
	canon_uri(arg_str(a, "changer"), uri, sizeof(uri));
	for (struct library *l = c->libs; l; l = l->next) {
		char other[1100];
		canon_uri(l->changer, other, sizeof(other));
		if (!l->removed && strcmp(other, uri) == 0)
			FAIL("exists", "changer %.150s is library %s's already", uri,
			    l->name);
	}
	if ((rc = cat_library_add(c->db, arg_str(a, "name"), uri, arg_str(a,
	    "clean_prefix"), arg_num(a, "clean_uses", 0), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if ((rc = cat_library_get(c->db, arg_str(a, "name"), lib_load_row, c,
	    dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	want_inventory(lib_find(c, arg_str(a, "name")), "library-add");
	ctld_message(c, NULL, "info", "library %s added on %s: an inventory "
	    "follows", arg_str(a, "name"), arg_str(a, "changer"));
	return json_pack("{s:s,s:s,s:b}", "library", arg_str(a, "name"),
	    "changer", uri, "inventory_queued", 1);
}

static int lib_drive_json_row(const struct cat_lib_drive *d, void *arg);

json_t *
h_library_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	struct library *l;
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	NEED_CATALOG();
	l = lib_find(c, arg_str(a, "name"));
	if (l && (l->op != OP_NONE || l->tasks))
		FAIL("busy", "library %s's robot is at work; try again when it is "
		    "idle", l->name);
	json_t *drives = json_array(), *dj;
	size_t i;
	if ((rc = cat_library_drives(c->db, arg_str(a, "name"), lib_drive_json_row,
	    drives, dberr)) < 0 ||
	    (rc = cat_library_remove(c->db, arg_str(a, "name"), dberr)) < 0) {
		json_decref(drives);
		return cat_failed(code, err, rc, dberr);
	}
	if (l)
		l->removed = true;
	/* Their media servers move cartridges themselves again (if they can). */
	json_array_foreach(drives, i, dj) {
		struct drive *d = ctld_drive(c, json_string_value(json_object_get(dj,
		    "drive")), false);
		json_t *ev = json_pack("{s:s,s:n}", "event", "library", "library");
		if (d && d->engine)
			ctld_send(d->engine, ev);
		json_decref(ev);
	}
	json_decref(drives);
	return json_pack("{s:s}", "removed", arg_str(a, "name"));
}

static int
lib_drive_json_row(const struct cat_lib_drive *d, void *arg)
{
	return j_append(arg, json_pack("{s:s,s:I,s:o,s:o}", "drive", d->drive,
	    "element", (json_int_t)d->element, "serial", j_str(d->serial),
	    "device", j_str(d->device)));
}

static int
libs_row(const struct cat_library *l, void *arg)
{
	json_t *o = NULL, *arr = ((json_t **)arg)[0];
	struct ctld *c = ((void **)arg)[1];
	char err[CAT_ERRLEN];
	struct library *ml = lib_find(c, l->name);
	int rc;

	if ((rc = lib_json_row(l, &o)) < 0)
		return rc;
	json_t *drives = json_array();
	if ((rc = cat_library_drives(c->db, l->name, lib_drive_json_row, drives,
	    err)) < 0) {
		json_decref(drives);
		json_decref(o);
		return rc;
	}
	json_object_set_new(o, "attached", drives);
	json_object_set_new(o, "robot", json_string(!ml ? "unknown" :
	    ml->op == OP_INVENTORY ? "inventory" : ml->op == OP_MOVE ? "moving" :
	    "idle"));
	json_object_set_new(o, "tasks", json_integer(0));
	for (struct task *t = ml ? ml->tasks : NULL; t; t = t->next)
		json_object_set_new(o, "tasks", json_integer(json_integer_value(
		    json_object_get(o, "tasks")) + 1));
	return j_append(arr, o);
}

json_t *
h_libraries(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *arr = json_array();
	void *arg[2] = { arr, c };
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl; (void)a;

	NEED_CATALOG();
	rc = cat_libraries_list(c->db, libs_row, arg, dberr);
	return j_list(arr, rc, dberr, code, err);
}

/* Drive elements whose identifier matches a serial. */
struct ident_match {
	const char *serial;
	int n;
	int64_t element;
	char list[256];
	int64_t want;		/* a drive element whose ident to keep */
	char ident[256];	/* its identifier ("" none) */
};

static int
ident_row(const struct cat_element *e, void *arg)
{
	struct ident_match *m = arg;
	size_t k;

	if (strcmp(e->type, "drive") == 0 && e->num == m->want && e->ident)
		snprintf(m->ident, sizeof(m->ident), "%s", e->ident);
	if (strcmp(e->type, "drive") != 0 || !e->ident || !m->serial ||
	    !lib_ident_match(e->ident, m->serial))
		return 0;
	m->n++;
	m->element = e->num;
	k = strlen(m->list);
	snprintf(m->list + k, sizeof(m->list) - k, "%s%lld", k ? ", " : "",
	    (long long)e->num);
	return 0;
}

json_t *
h_library_drive(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	const char *lib = arg_str(a, "library"), *drive = arg_str(a, "drive");
	int64_t element = arg_num(a, "element", -1);
	struct ident_match m = { 0 };
	char dberr[CAT_ERRLEN], serial[256] = "";
	struct drive *d;
	json_t *ev, *libj;
	int rc;
	(void)cl;

	NEED_CATALOG();
	if (!lib_find(c, lib))
		FAIL("not-found", "no library %s", lib);
	m.want = -1;
	if (json_object_get(a, "element")) {
		/* Its serial and the element's identifier, when both are
		   known, must agree (hostile14 K4). */
		if ((rc = cat_drive_serial(c->db, drive, serial, sizeof(serial),
		    dberr)) < 0 && rc != -ENOENT)
			return cat_failed(code, err, rc, dberr);
		m.serial = serial[0] ? serial : NULL;
		m.want = element;
		if ((rc = cat_inventory_list(c->db, lib, ident_row, &m, dberr)) < 0)
			return cat_failed(code, err, rc, dberr);
		if (serial[0] && m.ident[0] && !lib_ident_match(m.ident, serial))
			FAIL("bad-args", "drive element %lld of library %s is %.40s, "
			    "but drive %s's media server reported serial %.40s%s%.20s",
			    (long long)element, lib, m.ident, drive, serial, m.n ?
			    ": it is drive element " : " (no drive of the library has "
			    "it)", m.n ? m.list : "");
		serial[0] = '\0';
	} else {
		/* By the serial its media server reported: never guessed. */
		if ((rc = cat_drive_serial(c->db, drive, serial, sizeof(serial),
		    dberr)) < 0 && rc != -ENOENT)
			return cat_failed(code, err, rc, dberr);
		if (!serial[0])
			FAIL("bad-args", "drive %s has no serial its media server "
			    "reported: attach it with --element N", drive);
		m.serial = serial;
		if ((rc = cat_inventory_list(c->db, lib, ident_row, &m, dberr)) < 0)
			return cat_failed(code, err, rc, dberr);
		if (m.n == 0)
			FAIL("not-found", "no drive of library %s's inventory has the "
			    "identifier %.64s (drive %s's serial): attach it with "
			    "--element N, or take an inventory first", lib, serial,
			    drive);
		if (m.n > 1)
			FAIL("bad-args", "drives %.100s of library %s all match serial "
			    "%.64s: attach it with --element N", m.list, lib, serial);
		element = m.element;
	}
	if ((rc = cat_library_drive_set(c->db, lib, drive, element, dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	ctld_message(c, NULL, "info", "drive %s is drive %lld of library %s%s%s",
	    drive, (long long)element, lib, serial[0] ? ", by its serial " : "",
	    serial);
	/* A media server already registered learns it now. */
	if ((d = ctld_drive(c, drive, false)) && d->engine &&
	    (libj = ctld_library_of(c, d))) {
		ev = json_pack("{s:s,s:o}", "event", "library", "library", libj);
		ctld_send(d->engine, ev);
		json_decref(ev);
	}
	return json_pack("{s:s,s:s,s:I,s:s}", "library", lib, "drive", drive,
	    "element", (json_int_t)element, "by", serial[0] ? "serial" :
	    "element");
}

json_t *
h_inventory(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct library *l;
	struct pend *p, **w;
	(void)cl;

	NEED_CATALOG();
	if (!(l = lib_find(c, arg_str(a, "library"))))
		FAIL("not-found", "no library %s", arg_str(a, "library"));
	if (arg_num(a, "cached", 0))
		return inventory_json(c, l->name, code, err);
	if (!(w = realloc(l->waiters, (l->nwaiters + 1) * sizeof(*w))) ||
	    !(l->waiters = w, p = pend_new(cl, NULL)))
		FAIL("internal", "out of memory");
	l->waiters[l->nwaiters++] = p;
	want_inventory(l, "requested");
	PENDING();
}

struct eject_find {
	const char *label;
	char lib[64];
};

static int
eject_row(const struct cat_element *e, void *arg)
{
	struct eject_find *f = arg;

	if (!f->lib[0])
		snprintf(f->lib, sizeof(f->lib), "%s", e->library);
	return 1;
}

json_t *
h_eject(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	json_t *labels = json_object_get(a, "labels"), *s;
	struct pend *p;
	char dberr[CAT_ERRLEN];
	size_t i;
	int rc;

	NEED_CATALOG();
	if (!json_array_size(labels))
		FAIL("bad-args", "eject: name the cartridges' labels");
	if (!(p = pend_new(cl, json_pack("{s:[],s:[]}", "ejected",
	    "not_ejected"))))
		FAIL("internal", "out of memory");
	json_array_foreach(labels, i, s) {
		struct eject_find f = { json_string_value(s), "" };
		struct library *l;
		struct task *t;
		if ((rc = cat_inventory_find(c->db, f.label, eject_row, &f,
		    dberr)) < 0) {
			p->code = PROTO_E_CATALOG;
			snprintf(p->error, sizeof(p->error), "%s", dberr);
			break;
		}
		if (!f.lib[0] || !(l = lib_find(c, f.lib))) {
			note(&(struct task){ .pend = p }, "not_ejected", json_pack(
			    "{s:s,s:s}", "label", f.label, "why", "in no library"));
			continue;
		}
		/* one eject task per library and request */
		for (t = l->tasks; t; t = t->next)
			if (t->kind == T_EJECT && t->pend == p)
				break;
		if (!t) {
			if (!(t = task_add(l, T_EJECT, NULL)))
				break;
			t->labels = json_array();
			t->pend = p;
			p->refs++;
		}
		json_array_append_new(t->labels, json_string(f.label));
		want_inventory(l, "eject");	/* where they are now */
	}
	if (p->refs == 1)	/* no task holds it: answered now */
		return pend_take(p, code, err);
	p->refs--;	/* the tasks hold it */
	PENDING();
}

json_t *
h_import(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct library *l;
	struct task *t;
	struct pend *p;

	NEED_CATALOG();
	if (!(l = lib_find(c, arg_str(a, "library"))))
		FAIL("not-found", "no library %s", arg_str(a, "library"));
	if (!(p = pend_new(cl, json_pack("{s:s,s:[],s:[]}", "library", l->name,
	    "imported", "not_imported"))))
		FAIL("internal", "out of memory");
	if (!(t = task_add(l, T_IMPORT, NULL))) {
		p->cl = NULL;
		pend_put(p);
		FAIL("internal", "out of memory");
	}
	t->pend = p;
	/* the operator just filled the portals: what is in them? (K8) */
	want_inventory(l, "import");
	PENDING();
}

json_t *
h_clean(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	struct drive *d = ctld_drive(c, arg_str(a, "drive"), false);
	struct drive_at at;
	struct pend *p;

	NEED_CATALOG();
	if (!d && drive_at(c, arg_str(a, "drive"), &at) == 0)
		d = ctld_drive(c, arg_str(a, "drive"), true);
	if (!d || drive_at(c, d->name, &at) < 0 || !lib_find(c, at.lib))
		FAIL("not-found", "drive %s is in no library", arg_str(a, "drive"));
	if (clean_busy(c, d))
		FAIL("busy", "a cleaning cycle of %s is asked for already",
		    d->name);
	if (!(p = pend_new(cl, json_object())))
		FAIL("internal", "out of memory");
	if (!clean_queue(c, d, p)) {
		p->cl = NULL;
		pend_put(p);
		FAIL("not-found", "drive %s is in no library", d->name);
	}
	if (d->job)
		ctld_message(c, d, "info", "cleaning after job %lld", (long long)
		    d->job);
	PENDING();
}

json_t *
h_library_clear(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char dberr[CAT_ERRLEN];
	int rc;
	(void)cl;

	NEED_CATALOG();
	if ((rc = cat_barcode_clear(c->db, arg_str(a, "library"), arg_str(a,
	    "barcode"), dberr)) < 0)
		return cat_failed(code, err, rc, dberr);
	if (rc == 0)
		FAIL("not-found", "barcode %s of library %s is not marked",
		    arg_str(a, "barcode"), arg_str(a, "library"));
	ctld_message(c, NULL, "info", "library %s: barcode %s offered again",
	    arg_str(a, "library"), arg_str(a, "barcode"));
	return json_pack("{s:s,s:s}", "library", arg_str(a, "library"),
	    "cleared", arg_str(a, "barcode"));
}
