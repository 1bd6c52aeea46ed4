/*
 * The nightly run's rules: what an entity type says about its dumps
 * (priority, deepest level, a new entity's guessed size, the commands
 * around a dump) and the recurring forbidden windows of types and
 * entities, with the parsers of what an operator types for them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/db_int.h"

#define TYPE_COLS "t.id, t.name, t.full_every_days, t.incr_every_days," \
	" t.priority, t.max_level, t.estimate_bytes, t.snapshot_cmd," \
	" t.dump_cmd, t.incr_cmd, t.release_cmd, (SELECT count(*) FROM" \
	" entities e WHERE e.type_id = t.id AND e.active = 1)"

/* A row of TYPE_COLS to the callback. */
static int
type_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_type t = {
		.id = db_i64(st, 0), .name = db_text(st, 1),
		.full_every_days = db_i64(st, 2), .incr_every_days = db_i64(st, 3),
		.priority = db_i64(st, 4), .max_level = db_i64(st, 5),
		.estimate_bytes = db_i64(st, 6), .snapshot_cmd = db_text(st, 7),
		.dump_cmd = db_text(st, 8), .incr_cmd = db_text(st, 9),
		.release_cmd = db_text(st, 10), .entities = db_i64(st, 11),
	};

	return ((cat_type_fn *)cb->fn)(&t, cb->arg);
}

/* Every entity type, by name. */
int
cat_types_list(struct cat_db *db, cat_type_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing entity types", type_row,
	    DB_CB(fn, arg), "SELECT " TYPE_COLS " FROM entity_types t ORDER BY"
	    " t.name", "");
}

/* One entity type by name. */
int
cat_type_get(struct cat_db *db, const char *name, cat_type_fn *fn, void *arg,
    char *err)
{
	int rc = db_query(db, err, "reading an entity type", type_row,
	    DB_CB(fn, arg), "SELECT " TYPE_COLS " FROM entity_types t WHERE"
	    " t.name = ?", "t", name);

	return rc == 0 ? db_fail(err, -ENOENT, "no entity type %s", name) : rc;
}

static const char *const placeholders[] = { "entity", "date", "since",
	"base", "snapshot", "level" };

/* Check the placeholders of one word: 0 or -EINVAL. */
static int
check_word(const char *w, size_t n, char *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *close;
		size_t k, len;

		if (w[i] == '}')
			return db_fail(err, -EINVAL, "a '}' without its '{' in"
			    " \"%.*s\"", (int)n, w);
		if (w[i] != '{')
			continue;
		close = memchr(w + i, '}', n - i);
		if (!close)
			return db_fail(err, -EINVAL, "an unclosed placeholder in"
			    " \"%.*s\"", (int)n, w);
		len = (size_t)(close - (w + i + 1));
		for (k = 0; k < sizeof(placeholders) / sizeof(*placeholders); k++)
			if (strlen(placeholders[k]) == len &&
			    memcmp(placeholders[k], w + i + 1, len) == 0)
				break;
		if (k == sizeof(placeholders) / sizeof(*placeholders))
			return db_fail(err, -EINVAL, "unknown placeholder {%.*s} (known:"
			    " {entity} {date} {since} {base} {snapshot} {level})",
			    (int)(len > 40 ? 40 : len), w + i + 1);
		i += len + 1;
	}
	return 0;
}

/* Words of in (split on blanks) joined by one space into out. */
int
cat_cmd_check(const char *in, bool ph, char *out, size_t len, char *err)
{
	size_t o = 0;
	int rc;

	if (!in)
		return db_fail(err, -EINVAL, "no command");
	if (strlen(in) > CAT_CMD_MAX || len == 0)
		return db_fail(err, -EINVAL, "a command has at most %d bytes",
		    CAT_CMD_MAX);
	for (const char *p = in; *p; p++)
		if ((unsigned char)*p < ' ' && *p != '\t')
			return db_fail(err, -EINVAL, "a command has no control bytes"
			    " (words are split on blanks, no shell)");
		else if (*p == 0x7f)
			return db_fail(err, -EINVAL, "a command has no control bytes");
	for (const char *p = in; *p;) {
		size_t n;

		p += strspn(p, " \t");
		if (!*p)
			break;
		n = strcspn(p, " \t");
		if (ph && (rc = check_word(p, n, err)) < 0)
			return rc;
		if (o + n + 2 > len)
			return db_fail(err, -EINVAL, "a command has at most %d bytes",
			    CAT_CMD_MAX);
		if (o)
			out[o++] = ' ';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	if (o == 0)
		return db_fail(err, -EINVAL, "an empty command");
	return 0;
}

/* Free what cat_cmd_split made. */
void
cat_cmd_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* A stored command as a NULL-terminated argv: its word count. */
int
cat_cmd_split(const char *cmd, char ***out)
{
	size_t n = 0, i = 0;
	char **argv;

	*out = NULL;
	for (const char *p = cmd ? cmd : ""; *p;) {
		p += strspn(p, " \t");
		if (*p)
			n++;
		p += strcspn(p, " \t");
	}
	if (n == 0)
		return -EINVAL;
	if (!(argv = calloc(n + 1, sizeof(*argv))))
		return -ENOMEM;
	for (const char *p = cmd; *p && i < n;) {
		size_t w;

		p += strspn(p, " \t");
		w = strcspn(p, " \t");
		if (!(argv[i++] = strndup(p, w))) {
			cat_cmd_free(argv);
			return -ENOMEM;
		}
		p += w;
	}
	*out = argv;
	return (int)n;
}

/* Canonical form of a command to set (NULL: unchanged, "": cleared). */
static int
rule_cmd(const char *in, const char *what, char *out, size_t len,
    const char **val, char *err)
{
	char e[CAT_ERRLEN];
	int rc;

	*val = NULL;
	if (!in)
		return 0;
	if (strspn(in, " \t") == strlen(in)) {
		*val = "";
		return 0;
	}
	if ((rc = cat_cmd_check(in, true, out, len, e)) < 0)
		return db_fail(err, rc, "--%s: %s", what, e);
	*val = out;
	return 0;
}

/* Set a type's rules, in one statement. */
int
cat_type_set_rules(struct cat_db *db, const char *name,
    const struct cat_type_rules *r, char *err)
{
	char bufs[4][CAT_CMD_MAX + 2];
	const char *in[4] = { r->snapshot_cmd, r->dump_cmd, r->incr_cmd,
	    r->release_cmd }, *v[4];
	static const char *const what[4] = { "snapshot", "dump", "incr",
	    "release" };
	int rc;

	if (r->priority != -1 && (r->priority < 0 ||
	    r->priority > CAT_PRIORITY_MAX))
		return db_fail(err, -EINVAL, "--priority is 0..%d (higher first)",
		    CAT_PRIORITY_MAX);
	if (r->max_level != -1 && (r->max_level < 0 || r->max_level > 9))
		return db_fail(err, -EINVAL, "--max-level is 0..9");
	if (r->estimate_bytes != CAT_NULL && r->estimate_bytes < -1)
		return db_fail(err, -EINVAL, "--estimate is a size (0 or more)");
	for (int i = 0; i < 4; i++)
		if ((rc = rule_cmd(in[i], what[i], bufs[i], sizeof(bufs[i]), &v[i],
		    err)) < 0)
			return rc;
	rc = db_exec(db, err, "setting a type's rules", "UPDATE entity_types SET"
	    " priority = CASE WHEN ? < 0 THEN priority ELSE ? END,"
	    " max_level = CASE WHEN ? < 0 THEN max_level ELSE ? END,"
	    " estimate_bytes = CASE ? WHEN -2 THEN estimate_bytes WHEN -1 THEN"
	    "  NULL ELSE ? END,"
	    " snapshot_cmd = CASE WHEN ? IS NULL THEN snapshot_cmd ELSE"
	    "  nullif(?, '') END,"
	    " dump_cmd = CASE WHEN ? IS NULL THEN dump_cmd ELSE nullif(?, '') END,"
	    " incr_cmd = CASE WHEN ? IS NULL THEN incr_cmd ELSE nullif(?, '') END,"
	    " release_cmd = CASE WHEN ? IS NULL THEN release_cmd ELSE"
	    "  nullif(?, '') END WHERE name = ?", "iiiiii" "tttttttt" "t",
	    r->priority, r->priority, r->max_level, r->max_level,
	    r->estimate_bytes == CAT_NULL ? (int64_t)-2 : r->estimate_bytes,
	    r->estimate_bytes, v[0], v[0], v[1], v[1], v[2], v[2], v[3], v[3],
	    name);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no entity type %s", name);
	return rc < 0 ? rc : 0;
}

/* ---- forbidden windows ---- */

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	"Fri", "Sat" };
static const char *const day_long[7] = { "sunday", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday" };

/* The weekday (0: Sunday) named by s[0..n), or -1. */
static int
day_of(const char *s, size_t n)
{
	for (int d = 0; d < 7; d++)
		if ((n == 3 && strncasecmp(s, day_names[d], 3) == 0) ||
		    (n == strlen(day_long[d]) && strncasecmp(s, day_long[d], n) == 0))
			return d;
	return -1;
}

/* DAYS as a mask (bit 0 Sunday): 0 and *mask, or -EINVAL. */
static int
parse_days(const char *s, int64_t *mask, char *err)
{
	*mask = 0;
	if (!s || !*s)
		return db_fail(err, -EINVAL, "no days (Mon-Fri, Sat,Sun, daily)");
	if (strcasecmp(s, "daily") == 0 || strcasecmp(s, "all") == 0) {
		*mask = 0x7f;
		return 0;
	}
	if (strcasecmp(s, "weekdays") == 0) {
		*mask = 0x3e;
		return 0;
	}
	if (strcasecmp(s, "weekend") == 0 || strcasecmp(s, "weekends") == 0) {
		*mask = 0x41;
		return 0;
	}
	for (const char *p = s;;) {
		size_t n = strcspn(p, ",");
		const char *dash = memchr(p, '-', n);
		int a, b;

		if (dash) {
			a = day_of(p, (size_t)(dash - p));
			b = day_of(dash + 1, n - (size_t)(dash - p) - 1);
		} else {
			a = b = day_of(p, n);
		}
		if (a < 0 || b < 0)
			return db_fail(err, -EINVAL, "bad days \"%.60s\": day names"
			    " (Mon, Tuesday...) in ranges and lists, like Mon-Fri,"
			    " Sat,Sun, Mon,Wed-Fri, or daily", s);
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= 1 << d;
			if (d == b)
				break;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	return 0;
}

/* "HH:MM" or "H:MM" at s (n bytes): minutes, or -1. */
static int
parse_hhmm(const char *s, size_t n)
{
	char t[6];
	int h, m;

	if (n == 4) {
		t[0] = '0';
		memcpy(t + 1, s, 4);
		s = t;
		n = 5;
	}
	if (n != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* Parse an operator's days and hours into w. */
int
cat_window_parse(const char *days, const char *hours, struct cat_window *w,
    char *err)
{
	const char *dash;
	int a, b, rc;

	if ((rc = parse_days(days, &w->days, err)) < 0)
		return rc;
	dash = hours ? strchr(hours, '-') : NULL;
	a = dash ? parse_hhmm(hours, (size_t)(dash - hours)) : -1;
	b = dash ? parse_hhmm(dash + 1, strlen(dash + 1)) : -1;
	if (a < 0 || b < 0 || a == 1440)
		return db_fail(err, -EINVAL, "bad hours \"%.40s\": HH:MM-HH:MM, like"
		    " 07:00-19:00 or 22:00-06:00 (past midnight)", hours ? hours :
		    "");
	if (a == b || (a == 0 && b == 0))
		return db_fail(err, -EINVAL, "an empty window (%.40s): the whole"
		    " day is 00:00-24:00", hours);
	if (b == 0)
		b = 1440;
	w->start_min = a;
	w->end_min = b;
	return 0;
}

/* "Mon-Fri 07:00-19:00" into buf. */
void
cat_window_format(const struct cat_window *w, char *buf, size_t len)
{
	char days[64] = "";
	size_t o = 0;

	if ((w->days & 0x7f) == 0x7f) {
		snprintf(days, sizeof(days), "daily");
	} else {
		/* runs of days, Monday first (a week of an operator) */
		for (int i = 0; i < 7;) {
			int d = (i + 1) % 7, j = i;
			if (!(w->days & (1 << d))) {
				i++;
				continue;
			}
			while (j + 1 < 7 && (w->days & (1 << ((j + 2) % 7))))
				j++;
			o += (size_t)snprintf(days + o, sizeof(days) - o, "%s%s", o ?
			    "," : "", day_names[d]);
			if (j > i)
				o += (size_t)snprintf(days + o, sizeof(days) - o, "-%s",
				    day_names[(j + 1) % 7]);
			i = j + 1;
		}
	}
	snprintf(buf, len, "%s %02d:%02d-%02d:%02d", days,
	    (int)(w->start_min / 60), (int)(w->start_min % 60),
	    (int)(w->end_min / 60), (int)(w->end_min % 60));
}

/* Whether w forbids minute min of weekday wday. */
bool
cat_window_covers(const struct cat_window *w, int wday, int min)
{
	int prev = (wday + 6) % 7;

	if (w->end_min > w->start_min)
		return (w->days & (1 << wday)) && min >= w->start_min &&
		    min < w->end_min;
	/* wraps: the evening of its day, the morning of the next */
	return ((w->days & (1 << wday)) && min >= w->start_min) ||
	    ((w->days & (1 << prev)) && min < w->end_min);
}

/* Add a window of a type or an entity. */
int
cat_window_add(struct cat_db *db, const char *type, const char *entity,
    int64_t days, int64_t start, int64_t end, int64_t *id, char *err)
{
	int64_t owner;
	int rc;

	if ((type == NULL) == (entity == NULL))
		return db_fail(err, -EINVAL, "a window belongs to a type or to an"
		    " entity (exactly one)");
	if (days < 1 || days > 127 || start < 0 || start > 1439 || end < 1 ||
	    end > 1440 || start == end)
		return db_fail(err, -EINVAL, "a window's days or minutes are out of"
		    " range");
	rc = db_int(db, err, "looking a name up", &owner, type ? "SELECT id FROM"
	    " entity_types WHERE name = ?" : "SELECT id FROM entities WHERE name"
	    " = ?", "t", type ? type : entity);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no %s %s", type ? "entity type" :
		    "entity", type ? type : entity);
	if (rc < 0)
		return rc;
	rc = db_exec(db, err, "adding a window", type ? "INSERT INTO windows"
	    " (type_id, days, start_min, end_min) VALUES (?, ?, ?, ?)" :
	    "INSERT INTO windows (entity_id, days, start_min, end_min) VALUES"
	    " (?, ?, ?, ?)", "iiii", owner, days, start, end);
	if (rc < 0)
		return rc;
	if (id)
		*id = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* Remove a window by id. */
int
cat_window_remove(struct cat_db *db, int64_t id, char *err)
{
	int rc = db_exec(db, err, "removing a window", "DELETE FROM windows"
	    " WHERE id = ?", "i", id);

	if (rc == 0)
		return db_fail(err, -ENOENT, "no window %lld", (long long)id);
	return rc < 0 ? rc : 0;
}

/* A row of windows to the callback. */
static int
window_row(sqlite3_stmt *st, void *arg)
{
	struct db_cb *cb = arg;
	struct cat_window w = {
		.id = db_i64(st, 0), .type = db_text(st, 1),
		.entity = db_text(st, 2), .days = db_i64(st, 3),
		.start_min = db_i64(st, 4), .end_min = db_i64(st, 5),
	};

	return ((cat_window_fn *)cb->fn)(&w, cb->arg);
}

#define WINDOW_SELECT "SELECT w.id, t.name, e.name, w.days, w.start_min," \
	" w.end_min FROM windows w LEFT JOIN entity_types t ON t.id =" \
	" w.type_id LEFT JOIN entities e ON e.id = w.entity_id"

/* Windows of a type and/or an entity; NULL matches any. */
int
cat_windows_list(struct cat_db *db, const char *type, const char *entity,
    cat_window_fn *fn, void *arg, char *err)
{
	return db_query(db, err, "listing windows", window_row, DB_CB(fn, arg),
	    WINDOW_SELECT " WHERE (? IS NULL OR t.name = ?) AND (? IS NULL OR"
	    " e.name = ?) ORDER BY t.name IS NULL, t.name, e.name, w.id",
	    "tttt", type, type, entity, entity);
}

/* An entity's own windows, else its type's. */
int
cat_entity_windows(struct cat_db *db, const char *entity, cat_window_fn *fn,
    void *arg, char *err)
{
	int64_t id, own = 0;
	int rc;

	rc = db_int(db, err, "reading an entity", &id, "SELECT id FROM entities"
	    " WHERE name = ?", "t", entity);
	if (rc == 0)
		return db_fail(err, -ENOENT, "no entity %s", entity);
	if (rc < 0 || (rc = db_int(db, err, "counting windows", &own, "SELECT"
	    " count(*) FROM windows WHERE entity_id = ?", "i", id)) < 0)
		return rc;
	if (own > 0)
		return db_query(db, err, "listing windows", window_row,
		    DB_CB(fn, arg), WINDOW_SELECT " WHERE w.entity_id = ? ORDER BY"
		    " w.id", "i", id);
	return db_query(db, err, "listing windows", window_row, DB_CB(fn, arg),
	    WINDOW_SELECT " WHERE w.type_id = (SELECT type_id FROM entities WHERE"
	    " id = ?) ORDER BY w.id", "i", id);
}
