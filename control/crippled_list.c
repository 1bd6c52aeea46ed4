/*
 * Dumps of a whole partition or server, now: abs-ctld runs the listing
 * command configured for the server (--list-cmd ARGV; later the
 * scheduler's discovery command) without a shell, with SERVER and, for
 * one partition, PARTITION as its last arguments. Its output is one
 * entity a line, "NAME" or "NAME SOURCE"; it is bounded (time, bytes,
 * lines) and every line is checked. Both modes: in normal mode the
 * entities the catalog has are dumped; in crippled mode those the
 * catalog cache has, or that the listing gives a source for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "control/child_int.h"
#include "control/crippled_int.h"

#define LIST_TIMEOUT_MS 30000		/* the command's time */
#define LIST_MAX_BYTES (1 << 20)	/* its output */
#define LIST_MAX_LINE 4096
#define LIST_MAX_ENTITIES 10000

/* One line of the listing into out ({"name", "source"?}); 0 or -EINVAL. */
static int
list_line(char *line, json_t *out, json_t *seen)
{
	char *src;

	line += strspn(line, " \t");
	if (!*line || *line == '#')
		return 0;
	src = line + strcspn(line, " \t");
	if (*src) {
		*src++ = '\0';
		src += strspn(src, " \t");
		for (char *e = src + strlen(src); e > src && (e[-1] == ' ' ||
		    e[-1] == '\t' || e[-1] == '\r'); )
			*--e = '\0';
	}
	if (!cat_name_valid(line))
		return -EINVAL;
	if (*src && strncmp(src, "dir:", 4) && strncmp(src, "cmd:", 4) &&
	    strncmp(src, "file:", 5))
		return -EINVAL;
	for (char *p = src; *p; p++)
		if ((unsigned char)*p < 0x20)
			return -EINVAL;
	if (json_object_get(seen, line))
		return 0;	/* listed twice: dumped once */
	json_object_set_new(seen, line, json_true());
	return json_array_append_new(out, *src ? json_pack("{s:s,s:s}", "name",
	    line, "source", src) : json_pack("{s:s}", "name", line));
}

/* Check the whole output, line by line (see crippled_int.h). */
int
crip_list_parse(char *buf, size_t len, json_t *out, char *err)
{
	json_t *seen = json_object();
	size_t lineno = 0;
	char *line = buf, *nl;
	int rc = 0;

	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		snprintf(err, PROTO_ERRLEN, "the listing command wrote a NUL byte");
		rc = -EINVAL;
	}
	for (; rc == 0 && line < buf + len; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = buf + len;
		*nl = '\0';
		lineno++;
		if (nl - line > LIST_MAX_LINE || list_line(line, out, seen) < 0) {
			snprintf(err, PROTO_ERRLEN, "the listing command's line %zu is "
			    "not 'ENTITY [dir:|cmd:|file:SOURCE]': %.60s", lineno, line);
			rc = -EINVAL;
		} else if (json_array_size(out) > LIST_MAX_ENTITIES) {
			snprintf(err, PROTO_ERRLEN, "the listing command named more than "
			    "%d entities", LIST_MAX_ENTITIES);
			rc = -E2BIG;
		}
	}
	json_decref(seen);
	return rc;
}

/* Run the listing command and check what it says (see crippled_int.h). */
int
crip_list_entities(struct ctld *c, const char *server, const char *partition,
    json_t **out, char *err)
{
	struct ctl_child ch;
	char **argv, why[300];
	int rc, n = 0;

	*out = NULL;
	if (!c->list_cmd || !c->list_cmd[0]) {
		snprintf(err, PROTO_ERRLEN, "no listing command: start abs-ctld with "
		    "--list-cmd ARGV to dump partitions and servers");
		return -ENOENT;
	}
	while (c->list_cmd[n])
		n++;
	if (!(argv = calloc((size_t)n + 3, sizeof(*argv)))) {
		snprintf(err, PROTO_ERRLEN, "listing: %s", strerror(errno));
		return -EIO;
	}
	memcpy(argv, c->list_cmd, (size_t)n * sizeof(*argv));
	argv[n] = (char *)server;
	argv[n + 1] = (char *)partition;
	ctl_child_start(&ch, argv, LIST_MAX_BYTES);
	ctl_child_wait(&ch, 1, LIST_TIMEOUT_MS);
	rc = ch.rc;
	if (rc == -ETIMEDOUT || rc == -EFBIG)
		snprintf(err, PROTO_ERRLEN, "the listing command %s %s",
		    rc == -EFBIG ? "wrote more than" : "ran longer than",
		    rc == -EFBIG ? "1 MiB" : "30 s");
	else if (rc < 0)
		snprintf(err, PROTO_ERRLEN, "listing: %s", strerror(-rc));
	else if (ctl_child_failed(&ch, LIST_TIMEOUT_MS, why, sizeof(why)) < 0) {
		snprintf(err, PROTO_ERRLEN, "the listing command %s %.200s",
		    c->list_cmd[0], why);
		rc = -EIO;
	} else {
		*out = json_array();
		if ((rc = crip_list_parse(ch.buf, ch.len, *out, err)) < 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	ctl_child_free(&ch);
	free(argv);
	return rc;
}

/* 1 if an entity is active in the catalog. */
static int
active_row(const struct cat_entity *e, void *arg)
{
	*(int64_t *)arg = e->active;
	return 0;
}

/*
 * Normal mode: queue the listed entities the catalog has (active), one
 * job each; the others are named in "skipped".
 */
static json_t *
queue_listed(struct ctld *c, struct client *cl, struct drive *d,
    json_t *ents, int64_t level, json_t *skipped, const char **code,
    char *err)
{
	const char **names = calloc(json_array_size(ents) + 1, sizeof(*names));
	int64_t *jobs = calloc(json_array_size(ents) + 1, sizeof(*jobs));
	char dberr[CAT_ERRLEN], detail[32];
	json_t *e, *ids = NULL;
	size_t i, n = 0;
	int rc = -ENOMEM;

	if (!names || !jobs)
		goto out;
	json_array_foreach(ents, i, e) {
		const char *name = arg_str(e, "name");
		int64_t active = 0;
		rc = cat_entity_get(c->db, name, active_row, &active, dberr);
		if (rc < 0 && rc != -ENOENT)
			goto out;
		if (active)
			names[n++] = name;
		else
			json_array_append_new(skipped, json_string(name));
	}
	if (!n) {
		free(names);
		free(jobs);
		FAIL("not-found", "the listing named no active entity the catalog "
		    "has");
	}
	snprintf(detail, sizeof(detail), "level=%lld", (long long)level);
	if ((rc = cat_jobs_add(c->db, "dump", d->name, names, n,
	    (int64_t)cl->uid, detail, jobs, dberr)) < 0)
		goto out;
	ids = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_integer((json_int_t)jobs[i]));
	ctld_dispatch(c, d);
out:
	free(names);
	free(jobs);
	return ids ? ids : cat_failed(code, err, rc, rc == -ENOMEM ? "" : dberr);
}

/* Crippled mode: only what the cache knows or the listing gives. */
static json_t *
queue_listed_crippled(struct ctld *c, struct client *cl, struct drive *d,
    json_t *ents, int64_t level, json_t *skipped, const char **code,
    char *err)
{
	json_t *ok = json_array(), *e, *r;
	size_t i;

	json_array_foreach(ents, i, e) {
		json_t *k = crip_entity(c->crip, arg_str(e, "name"));
		if (arg_str(e, "source") || (k && json_integer_value(
		    json_object_get(k, "active"))))
			json_array_append(ok, e);
		else
			json_array_append(skipped, json_object_get(e, "name"));
	}
	if (!json_array_size(ok)) {
		json_decref(ok);
		FAIL("not-found", "the listing named no entity crippled mode knows "
		    "a source for");
	}
	r = crip_dump_entities(c, cl, d, ok, level, code, err);
	json_decref(ok);
	if (!r)
		return NULL;
	json_t *ids = json_incref(json_object_get(r, "jobs"));
	json_decref(r);
	return ids;
}

/* List, then queue: the reply names the jobs and what was skipped. */
static json_t *
dump_listed(struct ctld *c, struct client *cl, json_t *a, const char *server,
    const char *partition, const char **code, char *err)
{
	struct drive *d = ctld_drive(c, arg_str(a, "drive"), false);
	int64_t level = arg_num(a, "level", 0);
	json_t *ents = NULL, *skipped, *ids, *names;
	size_t i;
	json_t *e;

	if (!d || !d->engine)
		FAIL("no-drive", "drive %s has no media server connected",
		    arg_str(a, "drive"));
	if (level < 0 || level > 9)
		FAIL("bad-args", "level must be 0..9");
	if (!cat_name_valid(server) || (partition && !cat_name_valid(partition)))
		FAIL("bad-args", "bad server or partition name");
	if (crip_list_entities(c, server, partition, &ents, err) < 0) {
		*code = PROTO_E_NOT_FOUND;
		return NULL;
	}
	skipped = json_array();
	ids = c->crip ? queue_listed_crippled(c, cl, d, ents, level, skipped,
	    code, err) : queue_listed(c, cl, d, ents, level, skipped, code, err);
	if (!ids) {
		json_decref(ents);
		json_decref(skipped);
		return NULL;
	}
	names = json_array();
	json_array_foreach(ents, i, e)
		json_array_append(names, json_object_get(e, "name"));
	json_decref(ents);
	ctld_message(c, d, "info", "%s%s%s: %zu entities listed, %zu queued",
	    server, partition ? ":" : "", partition ? partition : "",
	    json_array_size(names), json_array_size(ids));
	return json_pack("{s:o,s:o,s:o}", "jobs", ids, "entities", names,
	    "skipped", skipped);
}

json_t *
h_dump_partition(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	char server[256];
	const char *sp = arg_str(a, "partition"), *colon = strchr(sp, ':');

	if (!colon || colon == sp || !colon[1] ||
	    (size_t)(colon - sp) >= sizeof(server))
		FAIL("bad-args", "give the partition as SERVER:PARTITION");
	memcpy(server, sp, (size_t)(colon - sp));
	server[colon - sp] = '\0';
	return dump_listed(c, cl, a, server, colon + 1, code, err);
}

json_t *
h_dump_server(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err)
{
	return dump_listed(c, cl, a, arg_str(a, "server"), NULL, code, err);
}
