/*
 * libFuzzer: an archive job's events as a media server reports them to
 * abs-ctld (control/archive.c) - archive-status and archive-entries, one
 * JSON object a line, through the event checks and handlers into an
 * in-memory catalog with one archive whose job runs on the drive.
 * Whatever the events say, abs-ctld answers each and the catalog keeps
 * its promises: every archived entry has a name, a path, a dump, bytes
 * and a tape file that are not negative and its parts as a JSON array;
 * the archive's state is one archive-list knows; archive-list and
 * archive-find answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"
#include "common/log.h"
#include "control/handlers_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAXEV 64

static struct ctld c;
static struct client engine, admin;
static struct drive *d;

/* One integer of the catalog. */
static int64_t
count(const char *sql)
{
	int64_t v = -1;
	char err[CAT_ERRLEN];

	ASSERT(db_int(c.db, err, "fuzz", &v, sql, "") >= 0);
	return v;
}

/* A new archive "fa" on drive fz, its job running there. */
static bool
start(void)
{
	char err[CAT_ERRLEN];
	const char *entity = "archive.fa";
	int64_t job = 0;

	if (!c.db && cat_open(":memory:", &c.db, err) < 0)
		return false;
	if (sqlite3_exec(c.db->db, "DELETE FROM archive_entries; DELETE FROM"
	    " archives; DELETE FROM jobs; DELETE FROM entities;", NULL, NULL,
	    NULL) != SQLITE_OK)
		return false;
	if (!d) {
		engine.fd = admin.fd = -1;
		engine.pid = 4242;
		engine.roles = ROLE_ANY;
		admin.roles = ROLE_ANY;
		if (!(d = ctld_drive(&c, "fz", true)))
			return false;
		d->engine = &engine;
	}
	if (cat_archive_add(c.db, "fa", "fz", "/q", "/done", entity, "default",
	    "{}", "uid:0", err) < 0 ||
	    cat_jobs_add(c.db, "archive", "fz", &entity, 1, 0, "{}", &job,
	    err) < 0 ||
	    sqlite3_exec(c.db->db, "UPDATE archives SET job_id = (SELECT max(id)"
	    " FROM jobs)", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	d->job = job;
	d->state = "writing";
	engine.outlen = 0;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	char *text, *line, *save = NULL, err[PROTO_ERRLEN];
	const char *code;
	json_t *r, *a;
	int n = 0;

	if (!quiet) {
		log_init("fuzz", LOG_LVL_ERR, false);
		quiet = true;
	}
	if (size > 65536 || !start())
		return 0;
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line && n < MAXEV;
	    line = strtok_r(NULL, "\n", &save), n++) {
		json_t *ev = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const struct ctld_event *row = ctld_event_find(json_string_value(
		    json_object_get(ev, "event")));
		code = NULL;
		if (row && strncmp(row->name, "archive-", 8) == 0 &&
		    ctld_event_check(row, ev, err) == 0) {
			r = row->fn(&c, d, ev, &code, err);
			ASSERT(r || code);
			json_decref(r);
		}
		json_decref(ev);
	}
	free(text);
	ASSERT(count("SELECT count(*) FROM archive_entries WHERE name = '' OR"
	    " path IS NULL OR dump_uid IS NULL OR bytes < 0 OR file < 0 OR"
	    " NOT json_valid(parts) OR json_type(parts) != 'array'") == 0);
	ASSERT(count("SELECT count(*) FROM archives WHERE state NOT IN"
	    " ('waiting','running','load-media','unloading','stopped',"
	    "'failed')") == 0);
	a = json_object();
	code = NULL;
	r = h_archive_list(&c, &admin, a, &code, err);
	ASSERT(r != NULL);
	json_decref(r);
	json_object_set_new(a, "key", json_string("/data/f1"));
	r = h_archive_find(&c, &admin, a, &code, err);
	ASSERT(r || code);
	json_decref(r);
	json_decref(a);
	engine.outlen = 0;
	return 0;
}
