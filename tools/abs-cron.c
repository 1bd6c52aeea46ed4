/*
 * abs-cron: the cron front of the nightly run. One line per drive or one
 * for the site (`abs-cron --drives d0,d1`) asks abs-ctld to run tonight's
 * plan on the drives, waits for the run to end, logs to syslog and stderr,
 * and exits 0 when everything planned was dumped.
 *
 * Safe to start twice: a lock in the run directory (ABS_RUN_DIR, else
 * /run/abs) per set of drives, and abs-ctld's own refusal (busy) of a run
 * on a drive that is in one already; either way the second start does
 * nothing, says so and exits 0.
 *
 * Exit: 0 all planned dumps done (or a run was active already), 1 some
 * failed or were not started (stopped, --until), 2 usage, 3 abs-ctld
 * unreachable or refused the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>
#include <jansson.h>

#include "proto/proto.h"

enum { EX_ALL, EX_FAILED, EX_USAGE, EX_NODAEMON };

/* Say it to syslog and stderr. */
static void __attribute__((format(printf, 2, 3)))
say(int prio, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	syslog(prio, "%s", text);
	fprintf(stderr, "abs-cron: %s\n", text);
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: abs-cron --drives D[,D...] [--socket PATH]"
	    " [--tapes N] [--until TIME]\n"
	    "  runs tonight's plan on the drives (abs-ctl run) and waits for it;\n"
	    "  exit 0: all dumped (or a run is active already), 1: some failed\n"
	    "  or not started, 2: usage, 3: abs-ctld unreachable or refused\n");
}

/*
 * The lock of this set of drives in the run directory: an open fd, -1 if
 * another abs-cron holds it (said), -2 if it cannot be made (said).
 */
static int
take_lock(const char *drives)
{
	const char *dir = getenv("ABS_RUN_DIR") ? getenv("ABS_RUN_DIR") :
	    "/run/abs";
	char path[PATH_MAX], name[200], pid[32] = "";
	size_t i;
	ssize_t n;
	int fd;

	for (i = 0; drives[i] && i < sizeof(name) - 1; i++)
		name[i] = drives[i] == '/' ? '_' : drives[i];
	name[i] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/abs-cron.%s.lock", dir,
	    name) >= sizeof(path)) {
		say(LOG_ERR, "lock path too long in %s", dir);
		return -2;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		say(LOG_ERR, "cannot open the lock %s: %s", path, strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if ((n = pread(fd, pid, sizeof(pid) - 1, 0)) > 0)
			pid[n] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		say(LOG_NOTICE, "a run on %s is active already (abs-cron pid %s"
		    " holds %s); nothing done", drives, pid[0] ? pid : "?", path);
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", (long)getpid());
	return fd;
}

/* Connect and say hello: the connection, or NULL (said). */
static struct proto_conn *
connect_ctld(const char *sock)
{
	char err[PROTO_ERRLEN];
	struct proto_conn *pc;

	if (proto_connect(sock, 10000, &pc, err) < 0) {
		say(LOG_ERR, "%s", err);
		return NULL;
	}
	proto_conn_set_timeout(pc, 120000);
	if (proto_hello(pc, "abs-cron", NULL, NULL, err) < 0) {
		say(LOG_ERR, "%s", err);
		proto_conn_free(pc);
		return NULL;
	}
	return pc;
}

/* A request; its reply or NULL (the connection is lost: said). */
static json_t *
call(struct proto_conn **pc, const char *sock, const char *op, json_t *args)
{
	char err[PROTO_ERRLEN];
	json_t *rep = NULL;

	for (int tries = 0; tries < 30; tries++) {
		if (!*pc && !(*pc = connect_ctld(sock))) {
			sleep(2);
			continue;
		}
		if (proto_call(*pc, op, args, NULL, NULL, &rep, err) == 0)
			return rep;
		say(LOG_WARNING, "%s; connecting again", err);
		proto_conn_free(*pc);
		*pc = NULL;
	}
	return NULL;
}

/* Log each job of the run that ended since the last look. */
static void
log_jobs(json_t *jobs, json_t *seen)
{
	size_t i;
	json_t *j;

	json_array_foreach(jobs, i, j) {
		const char *st = json_string_value(json_object_get(j, "state"));
		char key[32];
		if (!st || !strcmp(st, "queued") || !strcmp(st, "running"))
			continue;
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(
		    json_object_get(j, "job")));
		if (json_object_get(seen, key))
			continue;
		json_object_set_new(seen, key, json_true());
		say(strcmp(st, "done") ? LOG_ERR : LOG_INFO, "%s level %lld on %s:"
		    " %s%s%s", json_string_value(json_object_get(j, "entity")),
		    (long long)json_integer_value(json_object_get(j, "level")),
		    json_string_value(json_object_get(j, "drive")), st,
		    strcmp(st, "done") ? ": " : "", strcmp(st, "done") ?
		    (json_string_value(json_object_get(j, "detail")) ?
		    json_string_value(json_object_get(j, "detail")) : "?") : "");
	}
}

/* Follow run id until it ends: the exit code. */
static int
follow(struct proto_conn **pc, const char *sock, json_int_t id)
{
	json_t *seen = json_object(), *args, *rep, *res;
	int rc = EX_NODAEMON;

	for (;;) {
		args = json_pack("{s:I}", "id", id);
		rep = call(pc, sock, "runs", args);
		json_decref(args);
		if (!rep) {
			say(LOG_ERR, "lost abs-ctld while run %lld went on",
			    (long long)id);
			break;
		}
		res = json_object_get(rep, "result");
		const char *st = json_string_value(json_object_get(res, "state"));
		if (!proto_reply_ok(rep) || !st) {
			say(LOG_ERR, "runs --id %lld: %s", (long long)id,
			    proto_reply_error(rep) ? proto_reply_error(rep) : "no state");
			json_decref(rep);
			break;
		}
		log_jobs(json_object_get(res, "jobs"), seen);
		if (strcmp(st, "running") != 0) {
			const char *detail = json_string_value(json_object_get(res,
			    "detail"));
			say(strcmp(st, "done") ? LOG_ERR : LOG_INFO, "run %lld %s: %s",
			    (long long)id, st, detail ? detail : "");
			rc = strcmp(st, "done") == 0 ? EX_ALL : EX_FAILED;
			json_decref(rep);
			break;
		}
		json_decref(rep);
		sleep(1);
	}
	json_decref(seen);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *sock = getenv("ABS_CTL_SOCKET") ? getenv("ABS_CTL_SOCKET") :
	    "/run/abs/ctld.sock", *drives = NULL, *until = NULL;
	long tapes = 0;
	char *end, buf[1024];
	struct proto_conn *pc = NULL;
	json_t *args, *list, *rep;
	int lock, rc;

	signal(SIGPIPE, SIG_IGN);
	openlog("abs-cron", LOG_PID, LOG_DAEMON);
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return EX_ALL;
		} else if (!strcmp(argv[i], "--drives") && v) {
			drives = v;
		} else if (!strcmp(argv[i], "--socket") && v) {
			sock = v;
		} else if (!strcmp(argv[i], "--until") && v) {
			until = v;
		} else if (!strcmp(argv[i], "--tapes") && v &&
		    (tapes = strtol(v, &end, 10)) > 0 && !*end && tapes <= 100000) {
			;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
		i++;
	}
	if (!drives || !*drives || strlen(drives) >= sizeof(buf)) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((lock = take_lock(drives)) == -1)
		return EX_ALL;
	if (lock < 0)
		return EX_NODAEMON;
	list = json_array();
	snprintf(buf, sizeof(buf), "%s", drives);
	for (char *save = NULL, *w = strtok_r(buf, ", ", &save); w;
	    w = strtok_r(NULL, ", ", &save))
		json_array_append_new(list, json_string(w));
	args = json_pack("{s:o}", "drives", list);
	if (tapes)
		json_object_set_new(args, "tapes", json_integer(tapes));
	if (until)
		json_object_set_new(args, "until", json_string(until));
	rep = call(&pc, sock, "run", args);
	json_decref(args);
	if (!rep) {
		say(LOG_ERR, "cannot reach abs-ctld at %s", sock);
		return EX_NODAEMON;
	}
	if (!proto_reply_ok(rep)) {
		const char *code = proto_reply_code(rep);
		rc = code && !strcmp(code, PROTO_E_BUSY) ? EX_ALL : EX_NODAEMON;
		say(rc == EX_ALL ? LOG_NOTICE : LOG_ERR, "%s",
		    proto_reply_error(rep) ? proto_reply_error(rep) : "refused");
		json_decref(rep);
		proto_conn_free(pc);
		return rc;
	}
	json_t *res = json_object_get(rep, "result");
	json_int_t id = json_integer_value(json_object_get(res, "run"));
	if (json_is_null(json_object_get(res, "run"))) {
		say(LOG_NOTICE, "%s", json_string_value(json_object_get(res,
		    "note")));
		json_decref(rep);
		proto_conn_free(pc);
		return EX_ALL;
	}
	say(LOG_INFO, "run %lld on %s: %lld dumps planned for the night of %s",
	    (long long)id, drives, (long long)json_integer_value(
	    json_object_get(res, "planned")),
	    json_string_value(json_object_get(res, "night")));
	json_decref(rep);
	rc = follow(&pc, sock, id);
	proto_conn_free(pc);
	close(lock);
	return rc;
}
