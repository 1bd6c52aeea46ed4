/*
 * abs-ctl tui: drives and jobs, live (status and jobs, once a second).
 * Each drive: state, job, entity, bytes, rate, ETA and a progress bar, its
 * last messages; a drive waiting for a cartridge stands out and can be
 * answered (m: mounted, u: unavailable) by those whose roles allow it.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tui.h"

#define DRIVE_MSGS 3	/* messages shown under each drive */

static int
by_name(const void *a, const void *b)
{
	return strcmp(jstr(*(json_t *const *)a, "drive"),
	    jstr(*(json_t *const *)b, "drive"));
}

/* The drives by name: the selection stays on its drive. */
static void
sort_drives(json_t *st)
{
	json_t *drives = json_object_get(st, "drives");
	size_t n = json_array_size(drives);
	json_t **v = n ? calloc(n, sizeof(*v)) : NULL, *sorted;

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(drives, i);
	qsort(v, n, sizeof(*v), by_name);
	sorted = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	json_object_set_new(st, "drives", sorted);
	free(v);
}

static int
drives_load(struct tui_screen *s)
{
	json_t *st = tui_call("status", NULL), *jobs;

	if (!st)
		return -1;
	sort_drives(st);
	jobs = tui_call("jobs", json_pack("{s:i}", "count", 12));
	json_decref(s->data);
	s->data = json_pack("{s:o,s:o}", "status", st, "jobs",
	    jobs ? jobs : json_array());
	return 0;
}

/* "1:02:03" or "2:03" */
static const char *
hms(char *buf, size_t len, double secs)
{
	long t = secs > 0 ? (long)(secs + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
	return buf;
}

/* The time of a catalog date: "2026-11-29T10:00:01Z" -> "10:00:01". */
static const char *
clock_of(const char *at)
{
	const char *t = strchr(at, 'T');

	return t ? t + 1 : at;
}

static json_t *
drive_at(struct tui_screen *s, int i)
{
	return json_array_get(json_object_get(json_object_get(s->data, "status"),
	    "drives"), (size_t)i);
}

static void
drives_build(struct tui_screen *s, struct tui_lines *l)
{
	json_t *st = json_object_get(s->data, "status");
	json_t *drives = json_object_get(st, "drives"), *d, *m, *j;
	size_t i, k;
	char b1[32], b2[32], eta[32], bar[64];

	if (!s->data) {
		tui_add(l, -1, TUI_DIM, "%s", "(no answer yet)");
		return;
	}
	if (json_object_get(st, "crippled"))
		tui_add(l, -1, TUI_ALERT, "CRIPPLED MODE since %s: %s", jstr(
		    json_object_get(st, "crippled"), "since"), jstr(json_object_get(st,
		    "crippled"), "why"));
	tui_add(l, -1, TUI_HEAD, "%-10s %-10s %5s %-18s %10s %10s %8s", "DRIVE",
	    "STATE", "JOB", "ENTITY", "BYTES", "RATE", "ETA");
	if (!json_array_size(drives))
		tui_add(l, -1, TUI_DIM, "%s", "no drives: no media server has"
		    " registered");
	json_array_foreach(drives, i, d) {
		json_t *etav = json_object_get(d, "eta_seconds");
		double bytes = (double)jint(d, "bytes"), rate = jnum(d, "rate_mbs");
		const char *wants = jstr(d, "wants");
		json_t *msgs = json_object_get(d, "messages");
		size_t n = json_array_size(msgs);
		char rates[40];

		snprintf(rates, sizeof(rates), "%s/s", tui_bytes(b2, sizeof(b2),
		    rate * 1e6));
		tui_add(l, (int)i, *wants ? TUI_ALERT : TUI_NORMAL,
		    "%-10s %-10s %5s %-18.18s %10s %10s %8s", jstr(d, "drive"),
		    jstr(d, "state"), jint(d, "job") ? (snprintf(eta, sizeof(eta),
		    "%lld", jint(d, "job")), eta) : "-", *jstr(d, "entity") ? jstr(d,
		    "entity") : "-", jint(d, "job") ? tui_bytes(b1, sizeof(b1),
		    bytes) : "-", jint(d, "job") && rate > 0 ? rates : "-",
		    json_is_number(etav) ? hms(bar, sizeof(bar),
		    json_number_value(etav)) : "-");
		if (jint(d, "job") && json_is_number(etav) && rate > 0) {
			/* What is left at the current rate: the whole is the
			   entity's estimate, as abs-ctld reckons the ETA. */
			double left = json_number_value(etav) * rate * 1e6;
			tui_bar(bar, 42, bytes, bytes + left);
			tui_add(l, (int)i, TUI_GOOD, "           %s %3.0f%%", bar,
			    bytes + left > 0 ? bytes * 100 / (bytes + left) : 0);
		}
		if (*wants)
			tui_add(l, (int)i, TUI_ALERT, "  *** MOUNT REQUEST: %s for"
			    " %s%s", wants, jstr(d, "drive"), tui_may("mounted") ?
			    "  (m: mounted, u: unavailable)" : "");
		json_array_foreach(msgs, k, m) {
			if (k + DRIVE_MSGS < n)
				continue;
			tui_add(l, (int)i, strcmp(jstr(m, "level"), "error") == 0 ?
			    TUI_ALERT : strcmp(jstr(m, "level"), "warning") == 0 ?
			    TUI_WARN : TUI_DIM, "           %s %-7s %s",
			    clock_of(jstr(m, "at")), jstr(m, "level"), jstr(m, "text"));
		}
	}
	if (json_array_size(json_object_get(st, "queued"))) {
		tui_add(l, -1, TUI_NORMAL, "%s", "");
		tui_add(l, -1, TUI_HEAD, "%s", "QUEUED");
		json_array_foreach(json_object_get(st, "queued"), i, j)
			tui_add(l, -1, TUI_NORMAL, "  job %-5lld %-8s %-20s on %s",
			    jint(j, "id"), jstr(j, "kind"), jstr(j, "entity"),
			    *jstr(j, "drive") ? jstr(j, "drive") : "any drive");
	}
	tui_add(l, -1, TUI_NORMAL, "%s", "");
	tui_add(l, -1, TUI_HEAD, "%5s %-8s %-9s %-18s %-8s %-20s", "JOB", "KIND",
	    "STATE", "ENTITY", "DRIVE", "FINISHED");
	json_array_foreach(json_object_get(s->data, "jobs"), i, j) {
		const char *state = jstr(j, "state");
		tui_add(l, -1, strcmp(state, "failed") == 0 ? TUI_ALERT :
		    strcmp(state, "done") == 0 ? TUI_GOOD : TUI_NORMAL,
		    "%5lld %-8s %-9s %-18.18s %-8s %-20s %s", jint(j, "id"),
		    jstr(j, "kind"), state, jstr(j, "entity"), jstr(j, "drive"),
		    *jstr(j, "finished") ? jstr(j, "finished") : "-",
		    strcmp(state, "failed") == 0 ? jstr(j, "detail") : "");
	}
}

/* The drive's messages, all that abs-ctld keeps. */
static void
drive_messages(json_t *d)
{
	json_t *m;
	size_t i;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	char title[80];

	if (!fp)
		return;
	json_array_foreach(json_object_get(d, "messages"), i, m)
		fprintf(fp, "%s %-7s %.120s\n", jstr(m, "at"), jstr(m, "level"),
		    jstr(m, "text"));
	if (!json_array_size(json_object_get(d, "messages")))
		fprintf(fp, "no messages\n");
	fclose(fp);
	if (len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	for (char *p = text; p && *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			*p = '?';
	snprintf(title, sizeof(title), "messages of %s", jstr(d, "drive"));
	tui_confirm(title, text ? text : "");
	free(text);
}

static bool
drives_key(struct tui_screen *s, int ch, int sel)
{
	json_t *d = sel >= 0 ? drive_at(s, sel) : NULL, *r;
	char q[200];

	if (!d)
		return false;
	switch (ch) {
	case 'm':
		if (tui_denied("mounted"))
			return true;
		if (!*jstr(d, "wants")) {
			tui_msg(TUI_WARN, "%s is not waiting for a cartridge",
			    jstr(d, "drive"));
			return true;
		}
		if ((r = tui_call("mounted", json_pack("{s:s}", "drive",
		    jstr(d, "drive"))))) {
			tui_msg(TUI_GOOD, "told abs-ctld: %s is in %s", jstr(r, "label"),
			    jstr(r, "drive"));
			json_decref(r);
		}
		s->dirty = true;
		return true;
	case 'u':
		if (tui_denied("unavailable"))
			return true;
		if (!*jstr(d, "wants")) {
			tui_msg(TUI_WARN, "%s is not waiting for a cartridge",
			    jstr(d, "drive"));
			return true;
		}
		snprintf(q, sizeof(q), "Cartridge %s cannot be found?\nabs-ctld"
		    " records it and asks for another one.", jstr(d, "wants"));
		if (!tui_confirm("unavailable", q))
			return true;
		if ((r = tui_call("unavailable", json_pack("{s:s}", "label",
		    jstr(d, "wants"))))) {
			tui_msg(TUI_GOOD, "told abs-ctld: %s is unavailable",
			    jstr(r, "label"));
			json_decref(r);
		}
		s->dirty = true;
		return true;
	case 'a':
		if (tui_denied("abort"))
			return true;
		if (!jint(d, "job")) {
			tui_msg(TUI_WARN, "%s has no job", jstr(d, "drive"));
			return true;
		}
		snprintf(q, sizeof(q), "Abort job %lld (%s of %s on %s)?\nIt stops"
		    " at the next block.", jint(d, "job"), jstr(d, "state"),
		    jstr(d, "entity"), jstr(d, "drive"));
		if (!tui_confirm("abort", q))
			return true;
		if ((r = tui_call("abort", json_pack("{s:I}", "job",
		    (json_int_t)jint(d, "job"))))) {
			tui_msg(TUI_WARN, "job %lld: %s", jint(r, "job"), jstr(r, "state"));
			json_decref(r);
		}
		s->dirty = true;
		return true;
	case '\n': case '\r': case KEY_ENTER:
		drive_messages(d);
		return true;
	}
	return false;
}

const struct tui_ops tui_drives_ops = {
	.title = "drives and jobs",
	.help = "live: reloaded every second\n"
	    "Up/Down    select a drive\n"
	    "Enter      all of its messages\n"
	    "m          mounted: the cartridge asked for is in the drive\n"
	    "u          unavailable: it cannot be found, ask for another\n"
	    "a          abort the drive's job\n"
	    "(m, u, a: the operator's role)",
	.live_ms = 1000,
	.load = drives_load,
	.build = drives_build,
	.key = drives_key,
};
