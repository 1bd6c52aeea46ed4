/*
 * Snapshot coordination (engine/snap.h): a snapshot command before the
 * dump, the dump reading the snapshot through the type's dump or incr
 * command as a cmd: source, a release command after. The order is the
 * point: nothing reaches tape unless the snapshot was made, and what was
 * made is released whatever became of the dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "engine/snap.h"
#include "engine/source.h"
#include "engine/tape.h"

/* At most this many lines of a command's output become messages. */
#define SNAP_MAX_LINES 40
#define SNAP_LINE_MAX 300
/* A command killed with SIGTERM gets this long before SIGKILL. */
#define SNAP_KILL_GRACE 5.0

/* Append n bytes to a growing string; false on ENOMEM. */
static bool
put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*len + n + 1) * 2;
		char *b = realloc(*buf, c);
		if (!b)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* The value of placeholder name (len bytes), or NULL if it is none. */
static const char *
value_of(const struct eng_snap_vars *v, const char *name, size_t len,
    char *num, size_t nlen)
{
	static const char *const names[] = { "entity", "date", "since", "base",
	    "snapshot", "level" };
	const char *vals[] = { v->entity, v->date, v->since, v->base,
	    v->snapshot, num };

	snprintf(num, nlen, "%d", v->level);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return vals[i] ? vals[i] : "";
	return NULL;
}

/* One word with its placeholders filled (malloc'd), or NULL on ENOMEM. */
static char *
fill_word(const char *w, const struct eng_snap_vars *v)
{
	char *buf = NULL, num[16];
	size_t len = 0, cap = 0;
	const char *p = w, *q, *val;

	if (!put(&buf, &len, &cap, "", 0))
		return NULL;
	while (*p) {
		if (*p == '{' && (q = strchr(p + 1, '}')) &&
		    (val = value_of(v, p + 1, (size_t)(q - p - 1), num,
		    sizeof(num)))) {
			if (!put(&buf, &len, &cap, val, strlen(val)))
				goto nomem;
			p = q + 1;
			continue;
		}
		if (!put(&buf, &len, &cap, p, 1))
			goto nomem;
		p++;
	}
	return buf;
nomem:
	free(buf);
	return NULL;
}

int
eng_snap_fill(char *const *tmpl, const struct eng_snap_vars *v, char ***out)
{
	size_t n = 0;
	char **argv;

	while (tmpl[n])
		n++;
	*out = NULL;
	if (!(argv = calloc(n + 1, sizeof(*argv))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(argv[i] = fill_word(tmpl[i], v))) {
			eng_free_argv(argv);
			return -ENOMEM;
		}
	*out = argv;
	return 0;
}

char *
eng_snap_spec(char *const *argv)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
	    "rstuvwxyz0123456789@%+=:,./_-";
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool ok = put(&buf, &len, &cap, "cmd:", 4);

	for (size_t i = 0; ok && argv[i]; i++) {
		const char *w = argv[i];
		if (i)
			ok = put(&buf, &len, &cap, " ", 1);
		if (*w && strspn(w, safe) == strlen(w)) {
			ok = ok && put(&buf, &len, &cap, w, strlen(w));
			continue;
		}
		/* 'word', each ' in it as '\'' (eng_split_argv's rules). */
		ok = ok && put(&buf, &len, &cap, "'", 1);
		for (; ok && *w; w++)
			ok = *w == '\'' ? put(&buf, &len, &cap, "'\\''", 4) :
			    put(&buf, &len, &cap, w, 1);
		ok = ok && put(&buf, &len, &cap, "'", 1);
	}
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
eng_snap_name(const char *date, const char *id, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "abs-%s-%s", date && *date ? date : "now",
	    id && *id ? id : "0");
	for (n = 0; buf[n]; n++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", buf[n]))
			buf[n] = '-';
}

/* A command's output as it comes: the line being read, lines said, the
   last non-empty one (for the error). */
struct out {
	char acc[SNAP_LINE_MAX + 1];
	size_t alen;
	unsigned lines;
	char last[160];
};

/* Say one line of a command's output (printable ASCII only: it is JSON). */
static void
say_line(const struct eng_snap *sn, const char *what, char *line,
    struct out *o)
{
	char text[SNAP_LINE_MAX + 64];

	for (char *c = line; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c > '~')
			*c = '?';
	if (*line)
		snprintf(o->last, sizeof(o->last), "%s", line);
	if (++o->lines > SNAP_MAX_LINES)
		return;
	snprintf(text, sizeof(text), "%s: %.*s", what, SNAP_LINE_MAX, line);
	if (sn->say)
		sn->say(sn->ctx, "info", NULL, text);
	else
		log_info("%s", text);
}

/* Read what the command printed; whole lines are said, the rest kept. */
static void
take_output(int fd, const struct eng_snap *sn, const char *what,
    struct out *o)
{
	size_t cap = sizeof(o->acc);
	ssize_t n;

	while ((n = read(fd, o->acc + o->alen, cap - 1 - o->alen)) > 0) {
		char *nl;
		o->alen += (size_t)n;
		o->acc[o->alen] = '\0';
		while ((nl = strchr(o->acc, '\n'))) {
			*nl = '\0';
			say_line(sn, what, o->acc, o);
			o->alen -= (size_t)(nl + 1 - o->acc);
			memmove(o->acc, nl + 1, o->alen + 1);
		}
		if (o->alen == cap - 1) {	/* a line too long: in pieces */
			say_line(sn, what, o->acc, o);
			o->alen = 0;
		}
	}
}

/* The command's child: its output into the pipe, in a process group of
   its own (killed whole at its time limit), as a cmd: source runs. */
static void __attribute__((noreturn))
snap_child(char *const *argv, int out)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	util_close_from(3);
	if (priv_exec_child() < 0)
		_exit(126);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Kill the command's process group: TERM, then KILL after a grace. */
static void
snap_kill(pid_t pid, int *status)
{
	double end = eng_now() + SNAP_KILL_GRACE;

	kill(-pid, SIGTERM);
	while (waitpid(pid, status, WNOHANG) == 0) {
		if (eng_now() >= end) {
			kill(-pid, SIGKILL);
			waitpid(pid, status, 0);
			break;
		}
		usleep(50000);
	}
	kill(-pid, SIGKILL);	/* what it left behind in its group */
}

int
eng_snap_run(char *const *argv, const char *what, unsigned timeout,
    const struct eng_snap *sn, bool (*aborted)(void *), void *actx,
    char *err)
{
	struct out out = { .alen = 0 };
	double end = eng_now() + (timeout ? timeout : ENG_SNAP_TIMEOUT);
	int p[2], status = 0, rc = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		eng_err(err, "%s: pipe: %s", what, strerror(errno));
		return rc;
	}
	priv_cmd_prepare();	/* the tape nodes it is to hide */
	fflush(NULL);
	if ((pid = fork()) == 0)
		snap_child(argv, p[1]);
	close(p[1]);
	if (pid < 0) {
		rc = -errno;
		close(p[0]);
		eng_err(err, "%s: fork: %s", what, strerror(-rc));
		return rc;
	}
	setpgid(pid, pid);	/* as the child does: no race with a kill */
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		pid_t w;
		poll(&pf, 1, 200);
		take_output(p[0], sn, what, &out);
		if ((w = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (w < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (eng_now() >= end) {
			snap_kill(pid, &status);
			rc = -ETIMEDOUT;
			break;
		}
		if (aborted && aborted(actx)) {
			snap_kill(pid, &status);
			rc = -ECANCELED;
			break;
		}
	}
	take_output(p[0], sn, what, &out);
	if (out.alen)
		say_line(sn, what, out.acc, &out);
	close(p[0]);
	if (out.lines > SNAP_MAX_LINES) {
		char text[128];
		snprintf(text, sizeof(text), "%s: %u more lines not shown", what,
		    out.lines - SNAP_MAX_LINES);
		if (sn->say)
			sn->say(sn->ctx, "info", NULL, text);
	}
	if (rc == -ETIMEDOUT)
		eng_err(err, "%s did not finish in %u s (killed)", argv[0],
		    timeout ? timeout : ENG_SNAP_TIMEOUT);
	else if (rc == -ECANCELED)
		eng_err(err, "aborted by the operator while %s ran", argv[0]);
	else if (rc < 0)
		eng_err(err, "%s: %s", argv[0], strerror(-rc));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		eng_err(err, "%s exited with status %d%s%s", argv[0],
		    WEXITSTATUS(status), out.last[0] ? ": " : "", out.last);
		rc = -ECHILD;
	} else if (WIFSIGNALED(status)) {
		eng_err(err, "%s killed by signal %d%s%s", argv[0],
		    WTERMSIG(status), out.last[0] ? ": " : "", out.last);
		rc = -ECHILD;
	}
	return rc;
}

/* Say something about the commands (and make it an error event). */
static void
say(const struct eng_snap *sn, const char *level, const char *kind,
    const char *fmt, ...)
{
	char text[ENG_ERRLEN + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sn->say)
		sn->say(sn->ctx, level, kind, text);
	else if (strcmp(level, "info") == 0)
		log_info("%s", text);
	else
		log_warn("%s", text);
}

/* The hooks' abort check, for a command that runs before the dump. */
static bool
hooks_aborted(void *arg)
{
	const struct eng_hooks *h = arg;

	return h && h->aborted && h->aborted(h->ctx);
}

/* Run a filled command: 0 or negative with err ("what failed: ..."); an
   operator's abort stops it if abortable (a release runs to its end). */
static int
run_filled(char *const *tmpl, const char *what, struct eng_dump_opts *o,
    const struct eng_snap *sn, bool abortable, char *err)
{
	char **argv = NULL, why[ENG_ERRLEN];
	int rc;

	if ((rc = eng_snap_fill(tmpl, &sn->v, &argv)) < 0) {
		eng_err(err, "%s failed: out of memory", what);
		return rc;
	}
	rc = eng_snap_run(argv, what, sn->timeout, sn, abortable && o->hooks ?
	    hooks_aborted : NULL, (void *)o->hooks, why);
	eng_free_argv(argv);
	if (rc < 0)
		eng_err(err, "%s failed: %s", what, why);
	return rc;
}

/* The dump's source: the dump or incr command filled, as a cmd: spec
   (malloc'd in *spec), or the entity's own source (*spec NULL). */
static int
dump_source(struct eng_dump_opts *o, const struct eng_snap *sn, char **spec,
    char *err)
{
	char *const *tmpl = o->level > 0 && sn->incr ? sn->incr : sn->dump;
	char **argv = NULL;

	*spec = NULL;
	if (!tmpl)
		return 0;
	if (o->level > 0 && !sn->incr) {
		/* The dump command makes a full stream: call it one. */
		say(sn, "warning", NULL, "level %d asked for, but the type has no "
		    "incremental command: dumping %s in full (level 0)", o->level,
		    o->entity);
		o->level = 0;
		o->since = NULL;
	}
	if (eng_snap_fill(tmpl, &sn->v, &argv) < 0 ||
	    !(*spec = eng_snap_spec(argv))) {
		eng_free_argv(argv);
		eng_err(err, "out of memory");
		return -ENOMEM;
	}
	eng_free_argv(argv);
	o->source = *spec;
	return 0;
}

int
eng_snap_dump(struct eng_dump_opts *o, const struct eng_snap *sn,
    struct eng_dump_result *res, char *err)
{
	char *spec = NULL, rerr[ENG_ERRLEN];
	int rc;

	memset(res, 0, sizeof(*res));
	if (sn->snapshot) {
		say(sn, "info", NULL, "snapshot %s of %s", sn->v.snapshot,
		    o->entity);
		if ((rc = run_filled(sn->snapshot, "snapshot", o, sn, true, err)) < 0) {
			/* Never released: it may not exist, and a release of a
			   name that was not made may remove an older one. */
			say(sn, "error", "snapshot-failed", "%s; %s is not dumped%s",
			    err, o->entity, sn->release ? ", nor the release "
			    "command run" : "");
			return rc == -ECANCELED ? rc : -EIO;
		}
	}
	if ((rc = dump_source(o, sn, &spec, err)) == 0)
		rc = eng_dump(o, res, err);
	if (sn->release && run_filled(sn->release, "release", o, sn, false,
	    rerr) < 0)
		say(sn, "warning", "release-failed", "%s (the dump of %s %s)", rerr,
		    o->entity, rc == 0 ? "is on tape" : "failed before");
	free(spec);
	return rc;
}
