/*
 * abs-ctld: the control process. One thread, one epoll loop over a Unix
 * socket; every client is non-blocking, its requests are lines of JSON
 * answered in order, and nothing a client sends (garbage, a line too long,
 * a flood, a vanished peer) can stop the loop or the others. Peers are
 * known by SO_PEERCRED; their roles come from the catalog's ACL.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/safefile.h"
#include "common/util.h"
#include "control/crippled_int.h"
#include "control/ctld.h"
#include "control/listen.h"

#define MAX_CLIENTS 512
/*
 * Client slots for everyone else than root, abs-ctld's own uid and media
 * servers (the engine role): at most UID_MAX_CLIENTS a uid, and the last
 * RESERVED_CLIENTS of MAX_CLIENTS are kept for those, so that an operator
 * and the media servers always get in. A request line left unfinished
 * for request_timeout seconds (--request-timeout) drops its client.
 */
#define UID_MAX_CLIENTS 32
#define RESERVED_CLIENTS 32
#define REQUEST_TIMEOUT 30
/* Exception commands at once, and how long one may run (seconds). */
#define EXC_MAX 8
#define EXC_TIMEOUT 60
#define STR_(x) #x
#define STR(x) STR_(x)
/*
 * Work per client per turn of the loop: a client that floods is served
 * this many lines (and reads), then the others get their turn.
 */
#define CLIENT_LINES_PER_TURN 64
#define CLIENT_READS_PER_TURN 16

static volatile sig_atomic_t stop;
static int loop_ep = -1;	/* the loop's epoll, for ctld_watch */
static char child_tag;		/* epoll's mark of a library child's pipe */
static unsigned request_timeout = REQUEST_TIMEOUT;
static struct client *clients;
static int nclients;

/* SIGTERM, SIGINT: leave the loop. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A message for a drive's ring, the catalog and the log. */
void
ctld_message(struct ctld *c, struct drive *d, const char *level,
    const char *fmt, ...)
{
	char text[1024], at[32], err[CAT_ERRLEN];
	time_t now = clock_now();	/* the date it is recorded with */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (d) {
		json_array_append_new(d->msgs, json_pack("{s:s,s:s,s:s}", "at", at,
		    "level", level, "text", text));
		while (json_array_size(d->msgs) > CTLD_MSGS)
			json_array_remove(d->msgs, 0);
	}
	if (c->crip)
		crip_message(c, d, level, text);
	else if (cat_message_add(c->db, d ? d->name : NULL, d ? d->job : 0, level,
	    text, err) < 0)
		log_err("%s", err);	/* "recording a message: ..." */
	log_at(strcmp(level, "error") == 0 ? LOG_LVL_ERR :
	    strcmp(level, "warning") == 0 ? LOG_LVL_WARN : LOG_LVL_INFO,
	    "%s%s%s", d ? d->name : "", d ? ": " : "", text);
}

/*
 * The exception command with one exception's text on stdin, in its own
 * process group, watched by a child of abs-ctld that kills the group
 * after exception_timeout seconds (said in the log). At most EXC_MAX run
 * at once; an exception past that is not sent (said, and counted).
 */
static void
run_exception(struct ctld *c, struct drive *d, const char *label,
    const char *kind, const char *text)
{
	static pid_t running[EXC_MAX];
	static unsigned long dropped;
	int slot = -1, fds[2];
	pid_t pid, cmd;

	unsigned limit = c->exception_timeout ? c->exception_timeout :
	    EXC_TIMEOUT;

	for (int i = 0; i < EXC_MAX && slot < 0; i++)	/* SIGCHLD ignored: */
		if (!running[i] || kill(running[i], 0) < 0)	/* reaped */
			slot = i;
	if (slot < 0) {
		log_warn("exception command: %d still running; this exception "
		    "(%s) is not sent (%lu so far)", EXC_MAX, kind, ++dropped);
		return;
	}
	if ((pid = fork()) != 0) {
		running[slot] = pid > 0 ? pid : 0;
		return;
	}
	signal(SIGCHLD, SIG_DFL);	/* this watcher waits for its command */
	/* abs-ctld's descriptors are not the watcher's: with them it would
	   hold the catalog's and the socket's locks and the listening
	   socket past a killed abs-ctld, and one started again would be
	   refused while the command runs (up to its timeout). */
	closelog();	/* its socket too: opened again when needed */
	util_close_from(3);
	if (pipe(fds) < 0 || (cmd = fork()) < 0)
		_exit(1);
	if (cmd == 0) {
		setpgid(0, 0);
		close(fds[1]);
		dup2(fds[0], 0);
		execl("/bin/sh", "sh", "-c", c->exception_cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	dprintf(fds[1], "ABS exception (%s) on %s%s%s: %s\n", kind,
	    d ? d->name : "-", label ? " tape " : "", label ? label : "", text);
	close(fds[1]);
	for (unsigned i = 0; i < limit * 10; i++) {
		if (waitpid(cmd, NULL, WNOHANG) == cmd)
			_exit(0);
		usleep(100000);
	}
	kill(-cmd, SIGKILL);
	kill(cmd, SIGKILL);
	waitpid(cmd, NULL, 0);
	log_warn("exception command killed after %u s (exception %s)", limit,
	    kind);
	_exit(1);
}

/* An error event: catalog, log and the exception command. */
void
ctld_error_event(struct ctld *c, struct drive *d, const char *label,
    int64_t job, const char *kind, const char *fmt, ...)
{
	char text[1024], err[CAT_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->crip)
		crip_error(c, d, label, job, kind, text);
	else if (cat_error_add(c->db, d ? d->name : NULL, label, job, kind, text,
	    err) < 0)
		log_err("%s", err);	/* "recording an error event: ..." */
	ctld_message(c, d, "error", "%s%s%s", kind, ": ", text);
	if (c->exception_cmd && *c->exception_cmd)
		run_exception(c, d, label, kind, text);
}

/* Text for the exception command alone (ctld.h). */
void
ctld_exception(struct ctld *c, const char *kind, const char *text)
{
	if (c->exception_cmd && *c->exception_cmd)
		run_exception(c, NULL, NULL, kind, text);
}

/* A drive by name, made (offline) if create and it is new. */
struct drive *
ctld_drive(struct ctld *c, const char *name, bool create)
{
	struct drive *d;

	for (d = c->drives; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create || strlen(name) >= sizeof(d->name))
		return NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->state = "offline";
	d->msgs = json_array();
	d->skip = json_array();
	d->next = c->drives;
	c->drives = d;
	return d;
}

/* Add a grant's role to the mask. */
static int
role_bit(const struct cat_acl *g, void *arg)
{
	int b = proto_role_from_name(g->role ? g->role : "");

	if (b > 0)
		*(unsigned *)arg |= (unsigned)b;
	return 0;
}

/* A uid's roles from the ACL (see ctld.h). */
unsigned
ctld_roles(struct ctld *c, uid_t uid)
{
	char err[CAT_ERRLEN];
	unsigned roles = 0;

	if (uid == 0 || uid == geteuid())
		return ROLE_ALL;	/* root, and whoever runs the daemon */
	if (c->crip)
		return crip_roles(c, uid);	/* the cached ACL */
	if (cat_acl_roles(c->db, (int64_t)uid, role_bit, &roles, err) < 0) {
		log_err("reading uid %u's roles: %s", (unsigned)uid, err);
		return 0;	/* no roles while the ACL cannot be read */
	}
	if (roles & ROLE_ADMIN)
		roles = ROLE_ALL;
	return roles;
}

/* A row of the media-server table: counted by the query. */
static int
mserver_any(const struct cat_mserver *m, void *arg)
{
	(void)m;
	(void)arg;
	return 0;
}

/* An identity's roles (see ctld_client_roles). */
static unsigned
identity_roles(struct ctld *c, const char *identity)
{
	char err[CAT_ERRLEN];
	unsigned roles = 0;
	int n;

	if (c->crip)
		return crip_identity_roles(c, identity);
	if (cat_acl_ident_roles(c->db, identity, role_bit, &roles, err) < 0) {
		log_err("reading %s's roles: %s", identity, err);
		return 0;
	}
	if (roles & ROLE_ADMIN)
		roles |= ROLE_ANY;	/* not the engine role: see below */
	/* On the media-server table: the engine role, for its drives. */
	if ((n = cat_mserver_list(c->db, identity, mserver_any, NULL, err)) < 0)
		log_err("reading the media servers: %s", err);
	else if (n > 0)
		roles |= ROLE_ENGINE;
	return roles;
}

unsigned
ctld_client_roles(struct ctld *c, struct client *cl)
{
	return cl->net ? identity_roles(c, cl->identity) : ctld_roles(c, cl->uid);
}

const char *
ctld_who(const struct client *cl, char *buf, size_t len)
{
	if (cl->net)
		snprintf(buf, len, "%.200s (%s)", cl->identity, cl->from);
	else
		snprintf(buf, len, "uid %u", (unsigned)cl->uid);
	return buf;
}

/* Queue one line for a client; one with PROTO_MAX_REPLY unread is dropped. */
void
ctld_send(struct client *cl, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n;

	if (!s || cl->dead)
		goto out;
	n = strlen(s);
	if (cl->outlen + n + 1 > PROTO_MAX_REPLY) {
		cl->dead = true;	/* not reading its replies */
		goto out;
	}
	if (cl->outlen + n + 1 > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap * 2 : 4096;
		while (cap < cl->outlen + n + 1)
			cap *= 2;
		char *p = realloc(cl->out, cap);
		if (!p) {
			cl->dead = true;
			goto out;
		}
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, s, n);
	cl->out[cl->outlen + n] = '\n';
	cl->outlen += n + 1;
out:
	free(s);
}

/* A refusal: {"id", "ok": false, "error", "code"}. */
static void
reply_error(struct client *cl, json_int_t id, const char *code,
    const char *err)
{
	json_t *r = json_pack("{s:I,s:b,s:s,s:s}", "id", id, "ok", 0, "error",
	    err, "code", code);

	ctld_send(cl, r);
	json_decref(r);
}

/* Watch a library child's pipe in the loop (ctld.h). */
void
ctld_watch(int fd, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &child_tag };

	if (loop_ep < 0 || fd < 0)
		return;
	epoll_ctl(loop_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

/*
 * One request line: parsed, the caller's role checked against its row,
 * then its arguments and the version it carries, then its handler.
 */
static void
handle_line(struct ctld *c, struct client *cl, const char *line, size_t len)
{
	char err[PROTO_ERRLEN] = "", who[64];
	const struct proto_op *op = NULL;
	const char *code = PROTO_E_INTERNAL;
	json_t *req = NULL, *args = NULL, *res;
	json_int_t id = 0;

	if (len == 0)
		return;
	if (proto_parse_request(line, len, &req, &op, &args, &id, err) < 0) {
		reply_error(cl, id, op ? PROTO_E_BAD_ARGS : PROTO_E_BAD_REQUEST, err);
		goto out;
	}
	cl->roles = ctld_client_roles(c, cl);
	if (!(op->flags & PROTO_F_OPEN) && !(cl->roles & op->roles)) {
		char me[300];
		proto_roles_text(op->roles, who, sizeof(who));
		snprintf(err, sizeof(err), "%.140s may not %.30s (needs %.60s)",
		    cl->net ? cl->identity : ctld_who(cl, me, sizeof(me)),
		    op->name, who);
		if (cl->net)
			log_warn("%s: %s", ctld_who(cl, me, sizeof(me)), err);
		reply_error(cl, id, PROTO_E_DENIED, err);
		goto out;
	}
	if (proto_check_args(op, args, err) < 0) {
		reply_error(cl, id, PROTO_E_BAD_ARGS, err);
		goto out;
	}
	if (proto_check_request_version(op, args, err) < 0) {
		char me[300];
		log_warn("%s pid %d: %s", ctld_who(cl, me, sizeof(me)),
		    (int)cl->pid, err);
		reply_error(cl, id, PROTO_E_VERSION, err);
		goto out;
	}
	res = ctld_handle(c, cl, op, args, &code, err);
	if (!res && code && strcmp(code, CTLD_PENDING) == 0) {
		cl->waiting = true;	/* answered by ctld_reply */
		cl->wait_id = id;
	} else if (!res) {
		reply_error(cl, id, code, err[0] ? err : "failed");
	} else {
		json_t *r = json_pack("{s:I,s:b,s:o}", "id", id, "ok", 1,
		    "result", res);
		ctld_send(cl, r);
		json_decref(r);
	}
out:
	json_decref(req);
}

void
ctld_reply(struct client *cl, json_t *res, const char *code, const char *err)
{
	json_t *r;

	if (!res) {
		reply_error(cl, cl->wait_id, code ? code : PROTO_E_INTERNAL,
		    err && err[0] ? err : "failed");
	} else {
		r = json_pack("{s:I,s:b,s:o}", "id", cl->wait_id, "ok", 1,
		    "result", res);
		ctld_send(cl, r);
		json_decref(r);
	}
	cl->waiting = false;
	cl->more = true;	/* the requests it sent meanwhile */
}

/*
 * The client half-closed: a last request without its newline is still
 * answered, and the client is closed once its replies are sent.
 */
static void
client_eof(struct ctld *c, struct client *cl, const char *too_long)
{
	struct proto_lbuf *b = &cl->in;
	size_t n = b->len - b->start;

	cl->rdeof = true;
	if (n && !b->discard) {
		if (n > b->max)
			reply_error(cl, 0, PROTO_E_TOO_LONG, too_long);
		else
			handle_line(c, cl, b->buf + b->start, n);
	}
	b->start = b->len = b->scan = 0;
	b->discard = false;
}

/*
 * Answer the whole lines a client's buffer holds, up to *budget of them:
 * false if lines may be left for the next turn.
 */
static bool
client_lines(struct ctld *c, struct client *cl, int *budget,
    const char *too_long)
{
	const char *line;
	size_t len;

	while (*budget > 0 && !cl->dead) {
		if (cl->waiting)
			return false;	/* in order: after its answer */
		int got = proto_lbuf_next(&cl->in, &line, &len);
		if (got == PROTO_LINE_NONE)
			return true;
		cl->partial = 0;	/* a whole line: the client makes progress */
		if (got == PROTO_LINE)
			handle_line(c, cl, line, len);
		else
			reply_error(cl, 0, PROTO_E_TOO_LONG, too_long);
		(*budget)--;
	}
	return cl->dead;
}

/*
 * Read what a client sent; answer every whole line, refuse long ones. A
 * turn does at most CLIENT_LINES_PER_TURN lines and CLIENT_READS_PER_TURN
 * reads: what is left (cl->more) waits for the next turn, so a client
 * that floods cannot starve the others.
 */
static void
client_read(struct ctld *c, struct client *cl)
{
	int budget = CLIENT_LINES_PER_TURN;
	char too_long[64];

	snprintf(too_long, sizeof(too_long), "request longer than %d bytes",
	    PROTO_MAX_LINE);
	cl->more = false;
	/* Lines left from the last turn first. */
	if (!client_lines(c, cl, &budget, too_long)) {
		cl->more = true;
		return;
	}
	for (int reads = 0; !cl->rdeof && !cl->dead; reads++) {
		if (reads == CLIENT_READS_PER_TURN) {
			cl->more = true;
			return;
		}
		ssize_t n = proto_lbuf_read(&cl->in, cl->fd);
		if (n < 0 && n != -EAGAIN && n != -EINTR) {
			cl->dead = true;
			return;
		}
		if (n == -EAGAIN)
			return;
		if (!client_lines(c, cl, &budget, too_long)) {
			/* Its EOF (n == 0) is read again next turn. */
			cl->more = true;
			return;
		}
		if (n == 0 && cl->waiting) {
			cl->more = true;	/* its EOF once it is answered */
			return;
		}
		if (n == 0)
			client_eof(c, cl, too_long);
	}
}

/* Send what is queued for a client, as much as it takes now. */
static void
client_write(struct client *cl)
{
	while (cl->outlen) {
		ssize_t n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				cl->dead = true;
			return;
		}
		memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
		cl->outlen -= (size_t)n;
	}
}

/* Drop a client; a media server's drive goes offline, its job fails. */
static void
client_free(struct ctld *c, int ep, struct client *cl)
{
	char err[CAT_ERRLEN];
	struct client **pp;

	epoll_ctl(ep, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	ctld_offload_client_gone(cl);
	ctld_jobwait_client_gone(cl);
	ctld_library_client_gone(c, cl);
	if (cl->drive) {
		struct drive *d = cl->drive;
		d->engine = NULL;
		d->state = "offline";
		if (c->crip && d->job) {	/* no catalog to wait with */
			crip_job_lost(c, d, "media server disconnected");
			d->job = 0;
		}
		if (c->crip)
			d->reserved[0] = '\0';
		ctld_message(c, d, "warning", "media server disconnected");
		ctld_library_drive_free(c, d);
		/*
		 * Its job and the tape it holds wait for it to come back
		 * (it may be switching masters); without a job, a
		 * reservation goes back to the pool now.
		 */
		if (d->job) {
			ctld_orphan(c, d);
		} else {
			if (d->reserved[0] && cat_tape_release(c->db, d->reserved, 0,
			    err) < 0)
				log_err("releasing %s: %s", d->reserved, err);
			d->reserved[0] = '\0';
		}
	}
	for (pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	proto_lbuf_free(&cl->in);
	free(cl->out);
	free(cl);
	nclients--;
}

/*
 * One abs-ctld per catalog and per socket: PATH.lock held for the
 * daemon's life (as crippled mode's DIR/lock), a refusal naming the
 * holder. The fd, or -1 when no lock file can be made there (said).
 */
/*
 * Whether pid is a process on its way out: a zombie, or one the kernel
 * is tearing down (PF_EXITING: after kill -9, an abs-ctld with much
 * memory mapped, an ASan build's above all, takes seconds to go while it
 * still holds its locks and its listening socket).
 */
static bool
exiting(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags;
	ssize_t n;
	char state;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* After the command's name (which may hold blanks and parentheses):
	   state ppid pgrp session tty_nr tpgid flags. */
	if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %c %*d %*d %*d %*d %*d "
	    "%lu", &state, &flags) != 2)
		return false;
	return state == 'Z' || state == 'X' || (flags & 0x4);	/* PF_EXITING */
}

/* Wait (60 s at most) for an exiting pid to be gone: true if it is. */
static bool
wait_gone(pid_t pid, const char *what)
{
	if (pid <= 0 || !exiting(pid))
		return false;
	log_info("%s: the abs-ctld before (pid %d) is exiting: waiting for it",
	    what, (int)pid);
	for (int i = 0; i < 600 && exiting(pid); i++)
		usleep(100000);
	return !exiting(pid);
}

static int
lock_for(const char *path, const char *what)
{
	char lock[PATH_MAX], who[64];
	int fd, pid;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		die("%s: path too long", path);
	/* Its holder killed but not gone yet: the lock is free once it is. */
	while ((fd = sf_lock(lock, who, sizeof(who))) == -EBUSY &&
	    sscanf(who, "pid %d", &pid) == 1 && wait_gone(pid, lock))
		;
	if (fd == -EBUSY)
		die("%s %s is in use by another abs-ctld (%s holds %s): not "
		    "started", what, path, who, lock);
	if (fd < 0)
		log_warn("cannot lock %s (%s): a second abs-ctld on this %s "
		    "would not be refused", lock, sf_strerror(fd), what);
	return fd;
}

/*
 * Before the socket path is taken over: an abs-ctld that answers there
 * (one that took no lock) is refused, not cut off; only a stale socket
 * is removed, never a file of another kind.
 */
static void
check_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	struct stat sb;
	int fd, e;

	if (lstat(path, &sb) < 0 || strlen(path) >= sizeof(sa.sun_path))
		return;	/* absent; or listen_on says what is wrong */
	if (!S_ISSOCK(sb.st_mode))
		die("%s exists and is not a socket: not replaced", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		die("socket: %s", strerror(errno));
	e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	/* An abs-ctld killed and still exiting holds its socket open:
	   once it is gone the socket is stale. */
	if ((e == 0 || e == EAGAIN || e == EINPROGRESS) &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0 &&
	    wait_gone(cr.pid, path)) {
		close(fd);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 :
		    errno;
		crl = sizeof(cr);
	}
	if (e == 0 || e == EAGAIN || e == EINPROGRESS) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0 &&
		    cr.pid > 0 && kill(cr.pid, 0) == 0)
			die("socket %s is in use by a running abs-ctld (pid %d): "
			    "not started", path, (int)cr.pid);
		die("socket %s is in use by a running abs-ctld: not started",
		    path);
	}
	close(fd);
	if (e != ECONNREFUSED && e != ENOENT)
		die("socket %s: %s: cannot tell whether an abs-ctld listens "
		    "there; not replaced", path, strerror(e));
}

/* The listening socket, mode 0660; -1 with err (256 bytes) set. */
static int
listen_on(const char *path, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, 256, "socket path too long: %s", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		snprintf(err, 256, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The defaults live in /run/abs and /var/lib/abs: make them if missing,
 * owned by pw (abs-ctld's --user) if given. */
static void
make_parent(const char *path, const struct passwd *pw)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) == 0 && pw &&
		    chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			log_warn("%s: chown to %s: %s", dir, pw->pw_name,
			    strerror(errno));
	}
}

/*
 * abs-ctld's privileges, all in common/priv.c: the directories it needs
 * made (for user), then user's ids and no capability at all.
 */
static void
drop_privileges(const char *user, const char *dbpath, const char *sock)
{
	struct passwd *pw = user && geteuid() == 0 ? getpwnam(user) : NULL;
	char err[PRIV_ERRLEN];

	make_parent(dbpath, pw);
	make_parent(sock, pw);
	if (priv_ctld(user, err) < 0)
		die("%s", err);
	if (geteuid() == 0)
		log_warn("running as root (without capabilities); --user NAME "
		    "runs abs-ctld as its own user");
}

/* abs-ctld's usage, and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: abs-ctld [--socket PATH] [--db FILE] [--foreground]\n"
	    "                [--syslog] [--exception-cmd 'mail -s ABS ops']\n"
	    "                [--grace SECONDS] [--user NAME] [--journal DIR]\n"
	    "                [--crippled] [--label-prefix P] [--list-cmd 'ARGV...']\n"
	    "                [--new-catalog] [--request-timeout SECONDS]\n"
	    "                [--exception-timeout SECONDS]\n"
	    "                [--changer-cmd 'ARGV...']\n"
	    "                [--commit-every N] [--commit-secs S]\n"
	    "                [--listen HOST:PORT --cert FILE --key FILE --ca FILE\n"
	    "                 [--crl FILE] [--keytab FILE]]\n"
	    "defaults: --socket /run/abs/ctld.sock --db /var/lib/abs/catalog.db\n"
	    "          --journal DIR-OF-DB/crippled --label-prefix CR\n"
	    "          --grace %u: how long a job whose media server is gone (or\n"
	    "          was when abs-ctld started) waits for it to report the job\n"
	    "          --user NAME: run as NAME, with no capabilities (from root)\n"
	    "--crippled: run without the catalog from the journal directory;\n"
	    "  abs-ctld also goes there by itself when the catalog cannot be\n"
	    "  opened or written (read-only, full, locked, corrupt), or is\n"
	    "  missing while the journal directory holds a catalog's cache.\n"
	    "--new-catalog: make the missing catalog anew all the same.\n"
	    "--request-timeout: drop a client whose request line stays\n"
	    "  unfinished this long (default %d s); a uid other than root,\n"
	    "  abs-ctld's or a media server's holds at most %d connections.\n"
	    "--exception-timeout: kill an exception command running this long\n"
	    "  (default %d s); at most %d run at once, more are not sent.\n"
	    "--list-cmd: run (no shell) with SERVER [PARTITION] appended for\n"
	    "  dump-partition and dump-server; prints 'ENTITY [SOURCE]' lines.\n"
	    "--changer-cmd: what moves a library's cartridges (no shell;\n"
	    "  default 'abs-engine changer'), run with --device URI --json and\n"
	    "  inventory, move FROM TO, ...\n"
	    "--listen: also listen on TCP (HOST:PORT, '*:PORT' for every\n"
	    "  address; port 4747 if none), TLS 1.3 only, no plaintext; clients\n"
	    "  authenticate with a certificate of the site CA or Kerberos.\n"
	    "--cert, --key: abs-ctld's certificate (with its chain) and key.\n"
	    "--ca: the site CA that signs clients' certificates.\n"
	    "--crl: revoked certificates (PEM), read again when it changes.\n"
	    "--keytab: abs-ctld's keytab for Kerberos clients (abs/HOST).\n"
	    "--commit-every N, --commit-secs S: a drive's dump jobs share\n"
	    "  commit points (one synchronous filemark and read-back for\n"
	    "  several dumps): every N dumps (default 1000; 1: each dump its\n"
	    "  own), S seconds since the last (default 300; 0: none), the\n"
	    "  drive idle 2 s, a restore, an unload, the cartridge's end, the\n"
	    "  media server's stop. Each reads back what it covers. A drive's\n"
	    "  COMMIT_EVERY=, COMMIT_SECS= in its media server's --config\n"
	    "  override them. docs/NIGHTLY.md.\n",
	    CTLD_GRACE, REQUEST_TIMEOUT, UID_MAX_CLIENTS, EXC_TIMEOUT, EXC_MAX);
	exit(2);
}

/* Milliseconds of a clock that only goes forward. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Say why a connection is refused (code busy), then close it. */
static void
refuse_client(int fd, const char *why)
{
	char text[400];
	json_t *r;
	char *line;

	snprintf(text, sizeof(text), "abs-ctld refused the connection: %s", why);
	/* JSON-encoded: why may name an identity with quotes in it. */
	r = json_pack("{s:i,s:b,s:s,s:s}", "id", 0, "ok", 0, "error", text,
	    "code", "busy");
	line = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	if (line && (send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0
	    || send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0))
		log_warn("refusing a client: %s", strerror(errno));
	free(line);
	close(fd);
}

/*
 * Whether a new client of uid gets a slot: 0, or -1 with why. Root,
 * abs-ctld's own uid and media servers (the engine role) may take every
 * slot; any other uid UID_MAX_CLIENTS, and none of the reserved ones.
 */
static int
slot_for(struct ctld *c, uid_t uid, const char *identity, char *why,
    size_t len)
{
	int mine = 0;

	for (struct client *cl = clients; cl; cl = cl->next)
		mine += identity ? cl->net && strcmp(cl->identity, identity) == 0 :
		    !cl->net && cl->uid == uid;
	if (mine < UID_MAX_CLIENTS && nclients < MAX_CLIENTS - RESERVED_CLIENTS)
		return 0;
	/* root, ours, engines; over TLS the authorized media servers */
	if ((identity ? identity_roles(c, identity) : ctld_roles(c, uid)) &
	    ROLE_ENGINE)
		return 0;
	if (mine >= UID_MAX_CLIENTS && identity)
		snprintf(why, len, "too many connections from %.150s (the limit "
		    "is %d an identity)", identity, UID_MAX_CLIENTS);
	else if (mine >= UID_MAX_CLIENTS)
		snprintf(why, len, "too many connections from uid %u (the limit "
		    "is %d a user)", (unsigned)uid, UID_MAX_CLIENTS);
	else
		snprintf(why, len, "too many clients (the last %d of %d are kept "
		    "for root and media servers)", RESERVED_CLIENTS, MAX_CLIENTS);
	return -1;
}

/* A new client joins the loop. */
static void
client_add(int ep, struct client *cl)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
	    .data.ptr = cl };

	proto_lbuf_init(&cl->in, PROTO_MAX_LINE);
	cl->next = clients;
	clients = cl;
	nclients++;
	epoll_ctl(ep, EPOLL_CTL_ADD, cl->fd, &ev);
}

/* Take every pending connection; its uid and pid from SO_PEERCRED. */
static void
accept_clients(struct ctld *c, int ep, int lfd)
{
	struct client *cl;
	char why[256];
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct ucred cr;
		socklen_t crl = sizeof(cr);
		if (nclients >= MAX_CLIENTS) {
			/* Say why before closing: the client reports it. */
			static const char busy[] = "{\"id\":0,\"ok\":false,\"error\":"
			    "\"abs-ctld refused the connection: too many clients (the"
			    " limit is " STR(MAX_CLIENTS) ")\",\"code\":\"busy\"}\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL |
			    MSG_DONTWAIT) < 0)
				log_warn("refusing a client: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0) {
			close(fd);
			continue;
		}
		if (slot_for(c, cr.uid, NULL, why, sizeof(why)) < 0) {
			refuse_client(fd, why);
			continue;
		}
		if (!(cl = calloc(1, sizeof(*cl)))) {
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->uid = cr.uid;
		cl->pid = cr.pid;
		snprintf(cl->identity, sizeof(cl->identity), "uid:%u",
		    (unsigned)cr.uid);
		client_add(ep, cl);
	}
}

/*
 * Clients over TLS, authenticated by control/listen.c: the end of a
 * socketpair (its thread bridges the TLS channel) and an identity.
 */
static void
accept_network(struct ctld *c, int ep)
{
	char id[256], from[64], why[256];
	struct client *cl;
	int fd;

	while (ctld_listen_take(&fd, id, sizeof(id), from, sizeof(from)) == 1) {
		if (nclients >= MAX_CLIENTS) {
			snprintf(why, sizeof(why), "too many clients (the limit is %d)",
			    MAX_CLIENTS);
			log_warn("TLS client %s (%s) refused: %s", from, id, why);
			refuse_client(fd, why);
			continue;
		}
		if (slot_for(c, (uid_t)-1, id, why, sizeof(why)) < 0) {
			log_warn("TLS client %s (%s) refused: %s", from, id, why);
			refuse_client(fd, why);
			continue;
		}
		if (!(cl = calloc(1, sizeof(*cl)))) {
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->uid = (uid_t)-1;
		cl->net = true;
		snprintf(cl->identity, sizeof(cl->identity), "%s", id);
		snprintf(cl->from, sizeof(cl->from), "%s", from);
		client_add(ep, cl);
	}
}

/* Flush replies and events; drop the dead; wait for output where queued. */
static void
flush_clients(struct ctld *c, int ep)
{
	struct epoll_event ev;

	for (struct client *cl = clients, *next; cl; cl = next) {
		next = cl->next;
		if (!cl->dead)
			client_write(cl);
		if (cl->rdeof && !cl->outlen && !cl->waiting)
			cl->dead = true;	/* half-closed, and all answered */
		if (cl->dead) {
			client_free(c, ep, cl);
			continue;
		}
		/* Waiting for its answer: nothing more read from it. */
		ev = (struct epoll_event){ .events = (cl->rdeof || cl->waiting ?
		    0 : EPOLLIN | EPOLLRDHUP) | (cl->outlen ? EPOLLOUT : 0),
		    .data.ptr = cl };
		epoll_ctl(ep, EPOLL_CTL_MOD, cl->fd, &ev);
	}
}

/*
 * A client with bytes of a request and no whole line handled for
 * request_timeout seconds (a line begun, then nothing) is dropped: it
 * holds a slot for nothing. Every line handled starts the time anew.
 */
static void
expire_partial(int64_t now)
{
	for (struct client *cl = clients; cl; cl = cl->next) {
		bool open = cl->in.discard || cl->in.len > cl->in.start;
		/* Waiting for an answer, its next lines are not read yet. */
		if (!open || cl->dead || cl->waiting) {
			cl->partial = 0;
		} else if (!cl->partial) {
			cl->partial = now;
		} else if (now - cl->partial >= (int64_t)request_timeout * 1000) {
			char me[300];
			log_warn("%s pid %d: a request left unfinished for %u s: "
			    "dropped", ctld_who(cl, me, sizeof(me)), (int)cl->pid,
			    request_timeout);
			cl->dead = true;
		}
	}
}

/* The loop until SIGTERM or SIGINT. */
static void
serve(struct ctld *c, int lfd)
{
	struct epoll_event ev, evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC), wfd = ctld_offload_fd();
	static int work_tag;	/* the worker's eventfd in evs */
	static int net_tag;	/* the TLS listener's eventfd */
	int nfd = ctld_listen_fd();

	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &work_tag };
	if (wfd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &net_tag };
	if (nfd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev);
	loop_ep = ep;
	while (!stop) {
		bool more = false;
		for (struct client *cl = clients; cl; cl = cl->next)
			more |= cl->more && !cl->waiting;
		/* Clients with work left from the last turn: no waiting. */
		int n = epoll_wait(ep, evs, 64, more ? 0 : 1000);
		for (int i = 0; i < n; i++) {
			struct client *cl = evs[i].data.ptr;
			if ((void *)cl == (void *)&child_tag)
				continue;	/* a library's child: the tick reads it */
			if (!cl)
				accept_clients(c, ep, lfd);
			else if (evs[i].data.ptr == (void *)&work_tag)
				ctld_offload_done(c);
			else if (evs[i].data.ptr == (void *)&net_tag)
				accept_network(c, ep);
			else if (cl->waiting && evs[i].events & (EPOLLHUP |
			    EPOLLERR))
				cl->dead = true;	/* gone: nobody to answer */
			else if (cl->waiting)
				continue;
			else if (!cl->rdeof && evs[i].events & (EPOLLIN |
			    EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				client_read(c, cl);
				cl->turn = true;
			}
		}
		/* Those epoll did not name this turn but that have work left. */
		for (struct client *cl = clients; more && cl; cl = cl->next)
			if (cl->more && !cl->turn && !cl->rdeof && !cl->dead &&
			    !cl->waiting)
				client_read(c, cl);
		for (struct client *cl = clients; cl; cl = cl->next)
			cl->turn = false;
		expire_partial(mono_ms());
		flush_clients(c, ep);
		ctld_orphans_expire(c);
		night_tick(c);
		ctld_shadow_tick(c);
		ctld_archive_tick(c);
		if (!c->crip)
			ctld_library_tick(c);
		ctld_jobwait_tick(c);	/* jobs that ended this turn */
		flush_clients(c, ep);	/* what the robot's answers sent */
		if (c->cache_due && !c->crip) {	/* a job's result (handlers.c) */
			c->cache_due = false;
			crip_cache_write(c);
		}
	}
	log_info("stopping");
	while (clients)
		client_free(c, ep, clients);
	ctld_library_free(c);
	loop_ep = -1;
	close(ep);
}

/* --list-cmd's words (split on blanks, no shell), NULL-terminated. */
static char **
split_argv(const char *s)
{
	char *copy = strdup(s), *save = NULL, *w;
	char **v = calloc(strlen(s) / 2 + 2, sizeof(*v));
	size_t n = 0;

	if (!copy || !v)
		die("out of memory");
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		v[n++] = w;
	if (!n)
		die("--list-cmd and --changer-cmd need a command");
	return v;
}

/*
 * A catalog that is missing while the journal directory holds a catalog's
 * cache is a catalog lost (a wrong --db, a deleted file), not a new one:
 * true, with why, unless --new-catalog says to make one (the old cache is
 * kept aside as catalog-cache.json.old).
 */
static bool
catalog_lost(struct ctld *c, const char *dbpath, bool new_catalog,
    char *why)
{
	char cache[PATH_MAX], old[PATH_MAX + 8];
	struct stat sb;

	if (lstat(dbpath, &sb) == 0 || errno != ENOENT ||
	    snprintf(cache, sizeof(cache), "%s/catalog-cache.json", c->journal) >=
	    (int)sizeof(cache) || lstat(cache, &sb) < 0)
		return false;
	if (new_catalog) {
		snprintf(old, sizeof(old), "%s.old", cache);
		if (rename(cache, old) < 0)
			die("--new-catalog: keeping %s aside: %s", cache,
			    strerror(errno));
		log_warn("--new-catalog: a new catalog %s; the old catalog's "
		    "cache is now %s", dbpath, old);
		return false;
	}
	snprintf(why, CAT_ERRLEN, "catalog %.80s is missing but the journal "
	    "directory holds a catalog's cache: restore it (or give the right "
	    "--db), or start with --new-catalog", dbpath);
	return true;
}

/*
 * The catalog, or crippled mode: with --crippled, or when the catalog
 * cannot be opened or does not take a write, or is lost (above).
 */
static void
open_catalog(struct ctld *c, const char *dbpath, bool crippled,
    bool new_catalog)
{
	char err[CAT_ERRLEN], why[CAT_ERRLEN], cerr[CAT_ERRLEN];

	if (!crippled && catalog_lost(c, dbpath, new_catalog, why)) {
		if (crip_start(c, c->journal, c->label_prefix, why, cerr) < 0)
			die("%s; and crippled mode cannot start: %s", why, cerr);
		return;
	}
	if (crippled) {
		if (crip_start(c, c->journal, c->label_prefix, "--crippled",
		    err) < 0)
			die("crippled mode: %s", err);
		return;
	}
	if (cat_open(dbpath, &c->db, err) == 0 && !crip_catalog_broken(c)) {
		crip_cache_write(c);
		return;
	}
	if (c->db)	/* opened, but no write is taken */
		snprintf(err, sizeof(err), "%.200s takes no write (read-only, "
		    "full or locked)", dbpath);
	snprintf(why, sizeof(why), "%s", err);
	cat_close(c->db);
	c->db = NULL;
	if (crip_start(c, c->journal, c->label_prefix, why, cerr) < 0)
		die("%s; and crippled mode cannot start: %s", why, cerr);
}

/* The daemon: options, catalog, socket, the loop until SIGTERM. */
int
ctld_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 'l' },
		{ "exception-cmd", required_argument, NULL, 'x' },
		{ "grace", required_argument, NULL, 'g' },
		{ "commit-every", required_argument, NULL, 'M' },
		{ "commit-secs", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "journal", required_argument, NULL, 'j' },
		{ "crippled", no_argument, NULL, 'C' },
		{ "label-prefix", required_argument, NULL, 'p' },
		{ "list-cmd", required_argument, NULL, 'L' },
		{ "new-catalog", no_argument, NULL, 'N' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "exception-timeout", required_argument, NULL, 'E' },
		{ "changer-cmd", required_argument, NULL, 'K' },
		{ "listen", required_argument, NULL, 'T' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "crl", required_argument, NULL, 'r' },
		{ "keytab", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = "/run/abs/ctld.sock", *dbpath = "/var/lib/abs/catalog.db";
	const char *user = NULL;
	struct ctld_listen_opts lo_tls = { 0 };
	struct ctld c = { .grace = CTLD_GRACE, .exception_timeout = EXC_TIMEOUT,
	    .commit_every = 1000, .commit_secs = 300 };
	char *end;
	long v;
	char err[256] = "";	/* CAT_ERRLEN, and listen_on's */
	char journal[PATH_MAX];
	bool fg = false, use_syslog = false, crippled = false, new_catalog = false;
	int opt, lfd, db_lock, sock_lock;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'd': dbpath = optarg; break;
		case 'f': fg = true; break;
		case 'l': use_syslog = true; break;
		case 'x': c.exception_cmd = optarg; break;
		case 'g':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 86400)
				usage();
			c.grace = (unsigned)v;
			break;
		case 'M':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 1 || v > 1000000)
				usage();
			c.commit_every = (unsigned)v;
			break;
		case 'S':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 86400)
				usage();
			c.commit_secs = (unsigned)v;
			break;
		case 'u': user = optarg; break;
		case 'j': c.journal = optarg; break;
		case 'C': crippled = true; break;
		case 'p': c.label_prefix = optarg; break;
		case 'L': c.list_cmd = split_argv(optarg); break;
		case 'K': c.changer_cmd = split_argv(optarg); break;
		case 'N': new_catalog = true; break;
		case 'T': lo_tls.addr = optarg; break;
		case 'c': lo_tls.cert = optarg; break;
		case 'k': lo_tls.key = optarg; break;
		case 'a': lo_tls.ca = optarg; break;
		case 'r': lo_tls.crl = optarg; break;
		case 't': lo_tls.keytab = optarg; break;
		case 'E':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 1 || v > 86400)
				usage();
			c.exception_timeout = (unsigned)v;
			break;
		case 'R':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 1 || v > 86400)
				usage();
			request_timeout = (unsigned)v;
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (!lo_tls.addr && (lo_tls.cert || lo_tls.key || lo_tls.ca ||
	    lo_tls.crl || lo_tls.keytab))
		die("--cert, --key, --ca, --crl and --keytab go with --listen "
		    "HOST:PORT");
	log_init("abs-ctld", LOG_LVL_INFO, use_syslog);
	drop_privileges(user, dbpath, sock);
	if (!c.journal) {	/* next to the catalog */
		const char *slash = strrchr(dbpath, '/');
		snprintf(journal, sizeof(journal), "%.*scrippled",
		    slash ? (int)(slash - dbpath + 1) : 0, dbpath);
	} else {
		snprintf(journal, sizeof(journal), "%s", c.journal);
	}
	if (journal[0] != '/') {	/* daemon() goes to / */
		char cwd[PATH_MAX / 2], rel[PATH_MAX / 2];
		if (strlen(journal) >= sizeof(rel))
			die("--journal: path too long");
		snprintf(rel, sizeof(rel), "%.2000s", journal);
		if (!getcwd(cwd, sizeof(cwd)))
			die("getcwd: %s", strerror(errno));
		snprintf(journal, sizeof(journal), "%s/%s", cwd, rel);
	}
	c.journal = journal;
	if (!c.label_prefix)
		c.label_prefix = "CR";
	/* Before anything a first abs-ctld relies on is touched. */
	db_lock = lock_for(dbpath, "catalog");
	sock_lock = lock_for(sock, "socket");
	check_socket(sock);
	open_catalog(&c, dbpath, crippled, new_catalog);
	/* What a crash left, before any client can see it. */
	if (!c.crip && (cat_site(c.db, c.site, sizeof(c.site), err) < 0 ||
	    ctld_recover_start(&c) < 0) && crip_switch(&c, err[0] ? err :
	    "cannot reconcile the jobs a crash left") < 0)
		die("catalog %s: %s", dbpath, err[0] ? err : "cannot reconcile the "
		    "jobs a crash left");
	if ((lfd = listen_on(sock, err)) < 0)
		die("%s", err);
	/* Certificates read and the port bound while errors reach the
	   terminal; the threads start after daemon(), which keeps none. */
	if (lo_tls.addr && ctld_listen_open(&lo_tls, err) < 0) {
		unlink(sock);	/* ours (its lock is held): no stale socket */
		die("%s", err);
	}
	if (!fg && daemon(0, 0) < 0)
		die("daemon: %s", strerror(errno));
	if (lo_tls.addr && ctld_listen_run(err) < 0)
		die("%s", err);
	sf_lock_note(db_lock);	/* the pid that holds them now */
	sf_lock_note(sock_lock);
	if (c.crip)
		sf_lock_note(c.crip->lock_fd);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* exception commands reap themselves */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (c.crip)
		log_err("listening on %s in CRIPPLED MODE (journal %s, protocol "
		    "%d)", sock, c.journal, PROTO_VERSION);
	else
		log_info("listening on %s, catalog %s (schema %d, protocol %d)",
		    sock, dbpath, cat_schema_version(c.db), PROTO_VERSION);
	if (!c.crip)
		ctld_library_start(&c);	/* an inventory of each library */
	serve(&c, lfd);
	/* The TLS connections' threads out of OpenSSL before its atexit
	   cleanup, whatever their peers do; one still inside (cannot be
	   but for a bug) must not hold the exit up or see freed memory. */
	int tls_left = lo_tls.addr ? ctld_listen_stop() : 0;
	while (c.drives) {
		struct drive *d = c.drives;
		c.drives = d->next;
		json_decref(d->msgs);
		ctld_upload_free(d);
		json_decref(d->skip);
		free(d->written);
		free(d);
	}
	close(lfd);
	unlink(sock);	/* the lock files stay: unlinking them races */
	if (sock_lock >= 0)
		close(sock_lock);
	if (db_lock >= 0)
		close(db_lock);
	cat_close(c.db);
	if (tls_left)
		_exit(0);	/* the catalog is closed: nothing is lost */
	crip_free(c.crip);
	if (c.list_cmd) {
		free(c.list_cmd[0]);
		free(c.list_cmd);
	}
	if (c.changer_cmd) {
		free(c.changer_cmd[0]);
		free(c.changer_cmd);
	}
	return 0;
}
