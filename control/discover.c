/*
 * Discovery runs: each server's discovery commands run without a shell,
 * side by side, each within its own time (discover-add --timeout, 30 s
 * unless set, at most 300): abs-ctld has one thread, and waits for the
 * slowest, never for their sum. Each is bounded in bytes and lines too.
 * A listing is believed only whole: every line "NAME [PARTITION [SIZE]]"
 * parses, no name twice, and an empty listing of a discovery that had
 * entities is a failure (an outage of the listing never flags every
 * entity vanished). A command that fails changes nothing: its last
 * error is recorded and it is an exception.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "control/child_int.h"
#include "control/handlers_int.h"

#define DISC_TIMEOUT_MS 30000		/* a command's time if not set */
#define DISC_MAX_BYTES (8 << 20)	/* a command's output */
#define DISC_MAX_LINE 4096
#define DISC_MAX_ENTITIES 200000	/* lines of one listing */
#define DISC_MAX_COMMANDS 64		/* run at once */

/* A discovery command to run, copied out of the catalog's row. */
struct disc_run {
	int64_t id, had;	/* had: its active entities before */
	int64_t timeout_s;
	char server[256], cmd[CAT_CMD_MAX + 2];
};

struct disc_list {
	struct disc_run *runs;
	size_t n, cap;
};

/* Copy a discovery row to run it. */
static int
disc_row(const struct cat_discovery *d, void *arg)
{
	struct disc_list *l = arg;
	struct disc_run *r;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct disc_run *nr = realloc(l->runs, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->runs = nr;
		l->cap = cap;
	}
	r = &l->runs[l->n++];
	memset(r, 0, sizeof(*r));
	r->id = d->id;
	r->had = d->entities + d->vanished;
	r->timeout_s = d->timeout_s;
	snprintf(r->server, sizeof(r->server), "%s", d->server);
	snprintf(r->cmd, sizeof(r->cmd), "%s", d->cmd);
	return 0;
}

/* Parse a whole listing (see handlers_int.h). */
int
ctld_discover_parse(char *buf, size_t len, struct cat_listed **out,
    size_t *n, char *why, size_t wlen)
{
	struct cat_listed *l = NULL;
	size_t cap = 0, lineno = 0;
	char err[CAT_ERRLEN];

	*out = NULL;
	*n = 0;
	if (memchr(buf, '\0', len)) {
		snprintf(why, wlen, "wrote a NUL byte");
		return -EINVAL;
	}
	for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
		size_t ll;

		nl = memchr(line, '\n', (size_t)(buf + len - line));
		if (!nl)
			nl = buf + len;
		*nl = '\0';
		lineno++;
		ll = (size_t)(nl - line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		if (ll > DISC_MAX_LINE || *n >= DISC_MAX_ENTITIES) {
			snprintf(why, wlen, ll > DISC_MAX_LINE ? "line %zu is longer"
			    " than 4096 bytes" : "listed more than 200000 entities",
			    lineno);
			goto bad;
		}
		if (*n == cap) {
			struct cat_listed *nl2;
			cap = cap ? cap * 2 : 64;
			if (!(nl2 = realloc(l, cap * sizeof(*l)))) {
				snprintf(why, wlen, "out of memory");
				goto bad;
			}
			l = nl2;
		}
		if (cat_listed_parse(line, &l[*n], err) < 0) {
			snprintf(why, wlen, "line %zu is not NAME [PARTITION [SIZE]]"
			    " (%.80s): %.60s", lineno, err, line);
			goto bad;
		}
		(*n)++;
	}
	*out = l;
	return 0;
bad:
	free(l);
	*n = 0;
	return -EINVAL;
}

static int report_init(json_t *report);

/* What apply changed, into the report's arrays. */
struct apply_ctx {
	json_t *report;
	const char *server;
	int64_t id;
};

/* One change of a listing into the report. */
static int
changed(const struct cat_discovered *d, void *arg)
{
	struct apply_ctx *a = arg;
	bool gone = strcmp(d->what, "gone") == 0;	/* vanished before */
	json_t *arr = json_object_get(a->report, gone ? "vanished" : d->what);

	if (!arr)
		return 0;
	return j_append(arr, json_pack("{s:s,s:s,s:o,s:o,s:b,s:I}", "entity",
	    d->entity, "server", a->server, "partition", j_str(d->partition),
	    "since", j_str(d->since), "newly", strcmp(d->what, "vanished") == 0,
	    "discovery", (json_int_t)a->id));
}

/* A command that failed: recorded, reported, an exception. */
static void
disc_failed(struct ctld *c, struct disc_run *r, const char *why,
    json_t *report)
{
	char err[CAT_ERRLEN], cmd[128];

	snprintf(cmd, sizeof(cmd), "%.120s", r->cmd);
	if (cat_discovery_failed(c->db, r->id, why, err) < 0)
		log_err("%s", err);
	j_append(json_object_get(report, "failed"), json_pack("{s:I,s:s,s:s,"
	    "s:s}", "id", (json_int_t)r->id, "server", r->server, "cmd", r->cmd,
	    "error", why));
	ctld_error_event(c, NULL, NULL, 0, "discovery", "server %s: discovery"
	    " %lld (%s) %s; nothing changed", r->server, (long long)r->id, cmd,
	    why);
}

/* The changes of one listing, into report once it is applied whole. */
static int
report_merge(json_t *report, json_t *stage)
{
	const char *key;
	json_t *arr;

	json_object_foreach(stage, key, arr) {
		json_t *to = json_object_get(report, key);

		if (to && json_array_extend(to, arr) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Check one finished command's listing and apply it. 0 or -1 (failed).
 * Apply tells each change as it goes, before it knows the whole listing
 * is good (a later line may still fail it and roll it all back): the
 * changes go to a stage of their own and into the report only after the
 * listing was applied, so a failed listing reports nothing but its
 * failure.
 */
static int
disc_finish(struct ctld *c, struct disc_run *r, struct ctl_child *ch,
    json_t *report)
{
	json_t *stage = NULL;
	struct apply_ctx ctx = { NULL, r->server, r->id };
	struct cat_listed *l = NULL;
	char why[400], f[300], err[CAT_ERRLEN];
	size_t n = 0;
	int rc;

	if (ctl_child_failed(ch, DISC_TIMEOUT_MS, f, sizeof(f)) < 0) {
		snprintf(why, sizeof(why), "%s", f);
		disc_failed(c, r, why, report);
		return -1;
	}
	if (ctld_discover_parse(ch->buf, ch->len, &l, &n, f, sizeof(f)) < 0) {
		snprintf(why, sizeof(why), "%s", f);
		disc_failed(c, r, why, report);
		return -1;
	}
	if (n == 0 && r->had > 0) {
		snprintf(why, sizeof(why), "listed no entity (it had %lld): taken"
		    " for an outage of the listing; discover-remove it if the"
		    " server is empty", (long long)r->had);
		disc_failed(c, r, why, report);
		free(l);
		return -1;
	}
	ctx.report = stage = json_object();
	if (!stage || report_init(stage) < 0) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		rc = cat_discovery_apply(c->db, r->id, l, n, changed, &ctx, err);
	}
	free(l);
	if (rc < 0) {
		json_decref(stage);
		snprintf(why, sizeof(why), "%s", err);
		disc_failed(c, r, why, report);
		return -1;
	}
	if (report_merge(report, stage) < 0)
		log_err("discovery %lld: out of memory for the report",
		    (long long)r->id);
	json_decref(stage);
	return 0;
}

/* Start the commands of runs[0..n) as ch[0..n). */
static void
disc_start(struct disc_run *runs, struct ctl_child *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char **argv = NULL;

		if (cat_cmd_split(runs[i].cmd, &argv) <= 0) {
			ch[i].out = ch[i].errfd = -1;
			ch[i].rc = -EINVAL;
			continue;
		}
		ctl_child_start(&ch[i], argv, DISC_MAX_BYTES);
		ch[i].limit_ms = (int)(runs[i].timeout_s > 0 ? runs[i].timeout_s *
		    1000 : DISC_TIMEOUT_MS);
		cat_cmd_free(argv);
	}
}

/* The report's arrays, empty. */
static int
report_init(json_t *report)
{
	static const char *const keys[] = { "new", "back", "moved", "vanished",
	    "removed", "failed" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (json_object_set_new(report, keys[i], json_array()) < 0)
			return -ENOMEM;
	return 0;
}

/* Run the discovery commands of a server (NULL: all) and apply them. */
int
ctld_discover(struct ctld *c, const char *server, json_t *report, char *err)
{
	struct disc_list l = { 0 };
	struct ctl_child *ch = NULL;
	char dberr[CAT_ERRLEN];
	int rc, failed = 0;

	if (c->crip) {
		snprintf(err, PROTO_ERRLEN, "discovery needs the catalog; abs-ctld"
		    " is in crippled mode (nothing changed)");
		return -ENOTSUP;
	}
	if (report_init(report) < 0) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	rc = cat_discoveries_list(c->db, server, disc_row, &l, dberr);
	if (rc == 0 && server) {
		rc = -ENOENT;
		snprintf(dberr, sizeof(dberr), "server %s has no discovery command"
		    " (discover-add %s --type T --cmd ARGV)", server, server);
	}
	if (rc < 0) {
		snprintf(err, PROTO_ERRLEN, "%s", dberr);
		free(l.runs);
		return rc;
	}
	if (l.n && !(ch = calloc(l.n < DISC_MAX_COMMANDS ? l.n :
	    DISC_MAX_COMMANDS, sizeof(*ch)))) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		free(l.runs);
		return -ENOMEM;
	}
	/* DISC_MAX_COMMANDS at once, side by side under one deadline */
	for (size_t from = 0; from < l.n; from += DISC_MAX_COMMANDS) {
		size_t k = l.n - from < DISC_MAX_COMMANDS ? l.n - from :
		    DISC_MAX_COMMANDS;
		memset(ch, 0, k * sizeof(*ch));
		disc_start(l.runs + from, ch, k);
		ctl_child_wait(ch, k, DISC_TIMEOUT_MS);
		for (size_t i = 0; i < k; i++) {
			if (disc_finish(c, &l.runs[from + i], &ch[i], report) < 0)
				failed++;
			ctl_child_free(&ch[i]);
		}
	}
	free(ch);
	json_object_set_new(report, "ran", json_integer((json_int_t)l.n));
	log_info("discovery%s%s: %zu commands, %d failed", server ? " of " : "",
	    server ? server : "", l.n, failed);
	free(l.runs);
	return failed;
}
