/*
 * The catalog's rules: a type's priority, deepest level, estimate and
 * commands (checked and stored word by word), and the forbidden windows
 * of types and entities (parsed from what an operator types, wrapping
 * past midnight, an entity's own replacing its type's); and their error
 * paths.
 */
#include "cat_t.h"

struct seen {
	int n;
	char text[1024];
	struct cat_type t;
	char snap[128];
};

/* Keep the last type and its snapshot command. */
static int
keep_type(const struct cat_type *t, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->text);

	s->n++;
	snprintf(s->text + l, sizeof(s->text) - l, "%s%s", l ? " " : "",
	    t->name);
	s->t = *t;
	snprintf(s->snap, sizeof(s->snap), "%s", t->snapshot_cmd ?
	    t->snapshot_cmd : "(null)");
	return 0;
}

/* Windows as "owner:Days HH:MM-HH:MM" in order. */
static int
keep_window(const struct cat_window *w, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->text);
	char f[64];

	s->n++;
	cat_window_format(w, f, sizeof(f));
	snprintf(s->text + l, sizeof(s->text) - l, "%s%s:%s", l ? "; " : "",
	    w->type ? w->type : w->entity, f);
	return 0;
}

static void
test_commands(void)
{
	char out[CAT_CMD_MAX + 2], err[CAT_ERRLEN], big[CAT_CMD_MAX + 10];
	char **argv;

	CHECK_EQ(cat_cmd_check("  zfs\tsnapshot  {entity}@abs-{date} ", true,
	    out, sizeof(out), err), 0);
	CHECK(strcmp(out, "zfs snapshot {entity}@abs-{date}") == 0);
	CHECK_EQ(cat_cmd_split(out, &argv), 3);
	CHECK(strcmp(argv[2], "{entity}@abs-{date}") == 0 && argv[3] == NULL);
	cat_cmd_free(argv);
	CHECK_EQ(cat_cmd_check("vos dump {x}", true, out, sizeof(out), err),
	    -EINVAL);
	CHECK(strstr(err, "unknown placeholder {x}") != NULL);
	CHECK_EQ(cat_cmd_check("vos dump {entity", true, out, sizeof(out), err),
	    -EINVAL);
	CHECK(strstr(err, "unclosed") != NULL);
	CHECK_EQ(cat_cmd_check("a }b", true, out, sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_cmd_check("a\nb", true, out, sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_cmd_check("   ", true, out, sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_cmd_check(NULL, true, out, sizeof(out), err), -EINVAL);
	/* Discovery commands have no placeholders: braces are characters. */
	CHECK_EQ(cat_cmd_check("find {x} -name", false, out, sizeof(out), err),
	    0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(cat_cmd_check(big, true, out, sizeof(out), err), -EINVAL);
	CHECK_EQ(cat_cmd_split("", &argv), -EINVAL);
	CHECK(argv == NULL);
	cat_cmd_free(NULL);
}

static void
test_types(struct cat_db *db)
{
	struct cat_type_rules r = { .priority = -1, .max_level = -1,
	    .estimate_bytes = CAT_NULL, .snapshot_cmd = "vos backup {entity}" };
	char err[CAT_ERRLEN];
	struct seen s = { 0 };

	CHECK_EQ(cat_types_list(db, keep_type, &s, err), 2);
	CHECK(strcmp(s.text, "default vol") == 0);
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_type_get(db, "vol", keep_type, &s, err), 1);
	CHECK(strcmp(s.snap, "vos backup {entity}") == 0);
	CHECK_EQ(s.t.priority, 0);
	CHECK_EQ(s.t.max_level, 1);
	CHECK_EQ(s.t.estimate_bytes, CAT_NULL);
	CHECK_EQ(s.t.entities, 1);
	/* Each bad value refused, saying which, and nothing changed. */
	r.max_level = 10;
	r.snapshot_cmd = "other";
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), -EINVAL);
	CHECK(strstr(err, "--max-level") != NULL);
	r.max_level = -1;
	r.priority = 1001;
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), -EINVAL);
	r.priority = -1;
	r.dump_cmd = "vos dump {volume}";
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), -EINVAL);
	CHECK(strstr(err, "--dump") && strstr(err, "{volume}"));
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_type_get(db, "vol", keep_type, &s, err), 1);
	CHECK(strcmp(s.snap, "vos backup {entity}") == 0);
	/* '' clears; an estimate; -1 clears the estimate. */
	r = (struct cat_type_rules){ .priority = 3, .max_level = 0,
	    .estimate_bytes = 5000, .snapshot_cmd = "" };
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_type_get(db, "vol", keep_type, &s, err), 1);
	CHECK(strcmp(s.snap, "(null)") == 0);
	CHECK(s.t.priority == 3 && s.t.max_level == 0 &&
	    s.t.estimate_bytes == 5000);
	r = (struct cat_type_rules){ .priority = -1, .max_level = -1,
	    .estimate_bytes = -1 };
	CHECK_EQ(cat_type_set_rules(db, "vol", &r, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_type_get(db, "vol", keep_type, &s, err), 1);
	CHECK_EQ(s.t.estimate_bytes, CAT_NULL);
	CHECK_EQ(s.t.priority, 3);
	CHECK_EQ(cat_type_set_rules(db, "nosuch", &r, err), -ENOENT);
	CHECK(strcmp(err, "no entity type nosuch") == 0);
	CHECK_EQ(cat_type_get(db, "nosuch", keep_type, &s, err), -ENOENT);
}

/* Parse and format back: the canonical text, or "ERR". */
static const char *
parse(const char *days, const char *hours)
{
	static char buf[80];
	struct cat_window w = { 0 };
	char err[CAT_ERRLEN];

	if (cat_window_parse(days, hours, &w, err) < 0)
		return "ERR";
	cat_window_format(&w, buf, sizeof(buf));
	return buf;
}

static void
test_window_text(void)
{
	struct cat_window w = { 0 };
	char err[CAT_ERRLEN];

	CHECK(strcmp(parse("Mon-Fri", "07:00-19:00"), "Mon-Fri 07:00-19:00")
	    == 0);
	CHECK(strcmp(parse("sat,SUN", "0:00-24:00"), "Sat-Sun 00:00-24:00")
	    == 0);
	CHECK(strcmp(parse("Mon,Wed-Fri", "22:00-06:00"),
	    "Mon,Wed-Fri 22:00-06:00") == 0);
	CHECK(strcmp(parse("Fri-Mon", "12:00-13:00"), "Mon,Fri-Sun 12:00-13:00")
	    == 0);
	CHECK(strcmp(parse("Sunday", "12:00-00:00"), "Sun 12:00-24:00") == 0);
	CHECK(strcmp(parse("daily", "01:30-02:45"), "daily 01:30-02:45") == 0);
	CHECK(strcmp(parse("weekdays", "01:30-02:45"), "Mon-Fri 01:30-02:45")
	    == 0);
	/* Garbage refused. */
	CHECK(strcmp(parse("Mon-Fry", "07:00-19:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon,,Tue", "07:00-19:00"), "ERR") == 0);
	CHECK(strcmp(parse("", "07:00-19:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "07:00-07:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "25:00-07:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "07:60-08:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "07:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "24:00-01:00"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", "07:00-08:00x"), "ERR") == 0);
	CHECK(strcmp(parse("Mon", NULL), "ERR") == 0);
	CHECK_EQ(cat_window_parse("Mon", "7-8", &w, err), -EINVAL);
	CHECK(strstr(err, "HH:MM-HH:MM") != NULL);
	/* Covers: Fri 22:00-06:00 is Friday night and Saturday morning. */
	CHECK_EQ(cat_window_parse("Fri", "22:00-06:00", &w, err), 0);
	CHECK(cat_window_covers(&w, 5, 23 * 60));
	CHECK(cat_window_covers(&w, 6, 5 * 60));
	CHECK(!cat_window_covers(&w, 6, 23 * 60));
	CHECK(!cat_window_covers(&w, 5, 5 * 60));
	CHECK(!cat_window_covers(&w, 6, 6 * 60));
	CHECK_EQ(cat_window_parse("Sat", "22:00-06:00", &w, err), 0);
	CHECK(cat_window_covers(&w, 0, 0));	/* Sunday morning */
	CHECK_EQ(cat_window_parse("Mon-Fri", "07:00-19:00", &w, err), 0);
	CHECK(cat_window_covers(&w, 1, 7 * 60));
	CHECK(!cat_window_covers(&w, 1, 19 * 60));
	CHECK(!cat_window_covers(&w, 0, 12 * 60));
}

static void
test_windows(struct cat_db *db)
{
	struct cat_window w = { 0 };
	char err[CAT_ERRLEN];
	struct seen s = { 0 };
	int64_t id1 = 0, id2 = 0, id3 = 0;

	CHECK_EQ(cat_window_parse("Mon-Fri", "07:00-19:00", &w, err), 0);
	CHECK_EQ(cat_window_add(db, "vol", NULL, w.days, w.start_min, w.end_min,
	    &id1, err), 0);
	CHECK_EQ(cat_window_parse("Sat", "22:00-06:00", &w, err), 0);
	CHECK_EQ(cat_window_add(db, "vol", NULL, w.days, w.start_min, w.end_min,
	    &id2, err), 0);
	CHECK(id1 > 0 && id2 > id1);
	CHECK_EQ(cat_window_add(db, "vol", "e1", w.days, w.start_min, w.end_min,
	    NULL, err), -EINVAL);
	CHECK_EQ(cat_window_add(db, NULL, NULL, w.days, w.start_min, w.end_min,
	    NULL, err), -EINVAL);
	CHECK_EQ(cat_window_add(db, "nosuch", NULL, 1, 0, 60, NULL, err),
	    -ENOENT);
	CHECK(strcmp(err, "no entity type nosuch") == 0);
	CHECK_EQ(cat_window_add(db, NULL, "nosuch", 1, 0, 60, NULL, err),
	    -ENOENT);
	CHECK_EQ(cat_window_add(db, "vol", NULL, 0, 0, 60, NULL, err), -EINVAL);
	CHECK_EQ(cat_window_add(db, "vol", NULL, 1, 60, 60, NULL, err), -EINVAL);
	/* e1 (type vol) has its type's windows until it has its own. */
	CHECK_EQ(cat_entity_windows(db, "e1", keep_window, &s, err), 2);
	CHECK(strcmp(s.text, "vol:Mon-Fri 07:00-19:00; vol:Sat 22:00-06:00")
	    == 0);
	CHECK_EQ(cat_window_add(db, NULL, "e1", 0x7f, 0, 120, &id3, err), 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_windows(db, "e1", keep_window, &s, err), 1);
	CHECK(strcmp(s.text, "e1:daily 00:00-02:00") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_windows(db, "e2", keep_window, &s, err), 0);
	CHECK_EQ(cat_entity_windows(db, "nosuch", keep_window, &s, err),
	    -ENOENT);
	/* Lists: all (types first), by type, by entity. */
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_windows_list(db, NULL, NULL, keep_window, &s, err), 3);
	CHECK(strncmp(s.text, "vol:", 4) == 0 && strstr(s.text, "; e1:"));
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_windows_list(db, "vol", NULL, keep_window, &s, err), 2);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_windows_list(db, NULL, "e1", keep_window, &s, err), 1);
	CHECK_EQ(cat_window_remove(db, id3, err), 0);
	CHECK_EQ(cat_window_remove(db, id3, err), -ENOENT);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(cat_entity_windows(db, "e1", keep_window, &s, err), 2);
}

/* The ops for the error-path loop. */
static int
op_types(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_types_list(db, keep_type, &s, err);
}

static int
op_type_get(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_type_get(db, "vol", keep_type, &s, err);
}

static int
op_rules(struct cat_db *db, char *err)
{
	struct cat_type_rules r = { .priority = 1, .max_level = 2,
	    .estimate_bytes = CAT_NULL, .dump_cmd = "x {entity}" };

	return cat_type_set_rules(db, "vol", &r, err);
}

static int
op_window_add(struct cat_db *db, char *err)
{
	return cat_window_add(db, "vol", NULL, 1, 0, 60, NULL, err);
}

static int
op_window_remove(struct cat_db *db, char *err)
{
	return cat_window_remove(db, 1, err);
}

static int
op_windows(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_windows_list(db, NULL, NULL, keep_window, &s, err);
}

static int
op_entity_windows(struct cat_db *db, char *err)
{
	struct seen s = { 0 };

	return cat_entity_windows(db, "e1", keep_window, &s, err);
}

int
main(void)
{
	static const struct cat_t_op ops[] = {
		{ "cat_types_list", op_types, false },
		{ "cat_type_get", op_type_get, false },
		{ "cat_type_set_rules", op_rules, true },
		{ "cat_window_add", op_window_add, true },
		{ "cat_window_remove", op_window_remove, true },
		{ "cat_windows_list", op_windows, false },
		{ "cat_entity_windows", op_entity_windows, false },
	};
	struct cat_db *db = cat_t_open();

	cat_t_site(db);
	test_commands();
	test_types(db);
	test_window_text();
	test_windows(db);
	cat_t_done(db);
	cat_t_error_paths(ops, sizeof(ops) / sizeof(ops[0]));
	T_DONE();
}
