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
#include "control/crippled_int.h"

#define LIST_TIMEOUT_MS 30000		/* the command's time */
#define LIST_MAX_BYTES (1 << 20)	/* its output */
#define LIST_MAX_LINE 4096
#define LIST_MAX_ENTITIES 10000

/* Exec the listing command with stdout and stderr on pipes (child). */
static void
list_child(char **argv, int out, int errfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0)
		dup2(null, 0);
	dup2(out, 1);
	dup2(errfd, 2);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Read the child's stdout (up to LIST_MAX_BYTES) and stderr (its first
 * line for the error) until both close or the time is up. 0, -ETIMEDOUT
 * or -EFBIG.
 */
static int
list_read(int out, int errfd, char *buf, size_t *len, char *ebuf,
    size_t elen)
{
	struct pollfd p[2] = { { out, POLLIN, 0 }, { errfd, POLLIN, 0 } };
	struct timespec t0, t;
	size_t el = 0;
	int open_fds = 2;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (open_fds) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = LIST_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++) {
			char tmp[4096], *dst = i ? tmp : buf + *len;
			size_t room = i ? sizeof(tmp) : LIST_MAX_BYTES - *len;
			ssize_t n;
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			if (room == 0)
				return -EFBIG;
			n = read(p[i].fd, dst, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			if (!i) {
				*len += (size_t)n;
			} else if (el + 1 < elen) {
				size_t k = (size_t)n < elen - el - 1 ? (size_t)n :
				    elen - el - 1;
				memcpy(ebuf + el, tmp, k);
				el += k;
				ebuf[el] = '\0';
			}
		}
	}
	return 0;
}

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
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, status = 0, rc, n = 0;
	char **argv, ebuf[256] = "", *buf = NULL;
	size_t len = 0;
	pid_t pid;

	*out = NULL;
	if (!c->list_cmd || !c->list_cmd[0]) {
		snprintf(err, PROTO_ERRLEN, "no listing command: start abs-ctld with "
		    "--list-cmd ARGV to dump partitions and servers");
		return -ENOENT;
	}
	while (c->list_cmd[n])
		n++;
	if (!(argv = calloc((size_t)n + 3, sizeof(*argv))) ||
	    !(buf = malloc(LIST_MAX_BYTES + 1)) ||
	    pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		snprintf(err, PROTO_ERRLEN, "listing: %s", strerror(errno));
		rc = -EIO;
		goto out;
	}
	memcpy(argv, c->list_cmd, (size_t)n * sizeof(*argv));
	argv[n] = (char *)server;
	argv[n + 1] = (char *)partition;
	signal(SIGCHLD, SIG_DFL);	/* to read its exit status */
	if ((pid = fork()) < 0) {
		snprintf(err, PROTO_ERRLEN, "listing: fork: %s", strerror(errno));
		rc = -EIO;
		goto restore;
	}
	if (pid == 0)
		list_child(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	rc = list_read(po[0], pe[0], buf, &len, ebuf, sizeof(ebuf));
	if (rc < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ebuf[strcspn(ebuf, "\n")] = '\0';
	if (rc == -ETIMEDOUT || rc == -EFBIG)
		snprintf(err, PROTO_ERRLEN, "the listing command %s %s",
		    rc == -EFBIG ? "wrote more than" : "ran longer than",
		    rc == -EFBIG ? "1 MiB" : "30 s");
	else if (rc < 0)
		snprintf(err, PROTO_ERRLEN, "listing: %s", strerror(-rc));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, PROTO_ERRLEN, "the listing command %s failed (%s %d)%s"
		    "%.120s", c->list_cmd[0], WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    ebuf[0] ? ": " : "", ebuf);
		rc = -EIO;
	} else {
		*out = json_array();
		if ((rc = crip_list_parse(buf, len, *out, err)) < 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
restore:
	signal(SIGCHLD, SIG_IGN);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;	/* exception commands that ended meanwhile */
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(argv);
	free(buf);
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
