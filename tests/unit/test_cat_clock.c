/*
 * The catalog's 'now' on a test's clock (common/clock.h): with ABS_CLOCK
 * naming a file, every default date (a tape added, a job created and
 * started, a dump finished) and julianday('now') in a query follow the
 * date in the file, and move when the file is written again; without
 * ABS_CLOCK a catalog opened in the same process has the real time.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cat_t.h"
#include "common/clock.h"

static char clock_path[160];

/* Write date into the clock file (its mtime is now). */
static void
set_clock(const char *date)
{
	FILE *fp = fopen(clock_path, "w");

	if (!fp || fprintf(fp, "%s\n", date) < 0 || fclose(fp) != 0) {
		perror(clock_path);
		exit(1);
	}
}

/* One text value of the catalog (first row, first column), or "". */
static const char *
value(struct cat_db *db, const char *sql)
{
	static char buf[8][128];
	static int k;
	sqlite3_stmt *st;
	char *b = buf[k++ % 8];

	b[0] = '\0';
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return b;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(b, 128, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return b;
}

/* Whether a date column starts with prefix (the clock moved on a few s). */
static int
starts(const char *v, const char *prefix)
{
	if (strncmp(v, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "'%s' is not '%s...'\n", v, prefix);
		return 0;
	}
	return 1;
}

int
main(void)
{
	char err[CAT_ERRLEN], year[8];
	const char *c[] = { "C1" };
	struct cat_db *db;
	time_t t;

	snprintf(clock_path, sizeof(clock_path), "/tmp/abs-clock-%d",
	    (int)getpid());
	set_clock("2030-01-02T03:04:05Z");
	setenv("ABS_CLOCK", clock_path, 1);
	CHECK(clock_injected());
	t = clock_now();
	CHECK(t >= 1893553445 && t < 1893553445 + 60);

	db = cat_t_open();
	cat_t_site(db);
	/* Rows' default dates. */
	CHECK(starts(value(db, "SELECT added FROM tapes WHERE label = 'A1'"),
	    "2030-01-02T03:0"));
	CHECK(starts(value(db, "SELECT created FROM jobs"), "2030-01-02T03:0"));
	CHECK(starts(value(db, "SELECT started FROM jobs"), "2030-01-02T03:0"));
	/* A dump finished without a date of its own: the clock's. */
	CHECK(starts(value(db, "SELECT finished FROM dumps WHERE dump_uid ="
	    " 'dump1'"), "2030-01-02T03:0"));
	CHECK(starts(value(db, "SELECT date(julianday('now'))"), "2030-01-02"));
	CHECK(starts(value(db, "SELECT strftime('%s','now') - 1893553445 < 60"),
	    "1"));

	/* A week later: the file written again, the next rows follow. */
	set_clock("2030-01-09T22:00:00Z");
	CHECK(cat_tapes_add(db, "default", c, 1, NULL, NULL, err) >= 0);
	CHECK(starts(value(db, "SELECT added FROM tapes WHERE label = 'C1'"),
	    "2030-01-09T22:0"));
	CHECK(starts(value(db, "SELECT julianday('now') - julianday(added) > 7.7"
	    " FROM tapes WHERE label = 'A1'"), "1"));
	cat_t_done(db);

	/* A catalog opened without ABS_CLOCK: SQLite's own time. */
	unsetenv("ABS_CLOCK");
	CHECK(!clock_injected());
	db = cat_t_open();
	snprintf(year, sizeof(year), "%s", value(db, "SELECT strftime('%Y',"
	    " 'now')"));
	t = time(NULL);
	CHECK_EQ(atoi(year), gmtime(&t)->tm_year + 1900);
	cat_t_done(db);
	unlink(clock_path);
	(void)cat_t_error_paths;	/* cat_t.h's, for the other tests */
	T_DONE();
}
